-- How long a code may live is policy (issue 12, point 1): a region's
-- max_code_lifetime, inherited down the hierarchy and versioned like every
-- other number (minutes by default), caps what issue_for gives; paper codes
-- for people without phones exist only where policy sets
-- paper_code_lifetime, live at most that long, and carry their own mark in
-- the payload (flags bit 1), which verify() and checkpoint_verify() report.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(21);

SELECT healthcode.create_key('330000') IS NOT NULL AS zj_key \gset
SELECT healthcode.create_key('110000') IS NOT NULL AS bj_key \gset
SELECT colour::text AS c FROM declare('330106198808088815', '330106') \gset
SELECT person_id('330106198808088815') AS p_zj \gset
SELECT colour::text AS c FROM declare('110105198808088885', '110105') \gset
SELECT person_id('110105198808088885') AS p_bj \gset

-- ---- the national default ------------------------------------------------------
SELECT is((SELECT max_code_lifetime FROM policy_at('330106')), interval '5 minutes',
          'the national default caps a code at 5 minutes');
SELECT is((SELECT paper_code_lifetime FROM policy_at('330106')), NULL::interval,
          'and allows no paper codes');
SELECT is(expires_at(c) - issued_at(c), interval '5 minutes', 'issue_for gives 5 minutes by default')
  FROM (SELECT issue_for(:p_zj) AS c) x;
SELECT throws_ok(format($$SELECT issue_for(%s, '6 minutes')$$, :p_zj), '22003',
                 'valid_for must be at most 00:05:00 in region 330106, not ''00:06:00''',
                 'a longer code is refused, naming the cap, the region and the value');
SELECT throws_ok(format($$SELECT issue_for(%s, '30 days')$$, :p_zj), '22003', NULL,
                 'a 30-day code is refused (it was accepted before the cap)');
SELECT throws_ok(format($$SELECT issue_paper_code(%s, '1 day')$$, :p_zj), '55000',
                 'region 330106 issues no paper codes', 'a paper code is refused where policy sets none');

-- ---- a province's version, inherited by its districts --------------------------
INSERT INTO policy (region, valid_from, max_code_lifetime, paper_code_lifetime, description_zh, description_en)
VALUES ('330000', now() - interval '1 day', interval '1 hour', interval '30 days',
        '浙江：健康码最长1小时，纸质码最长30天', 'Zhejiang: codes up to 1 hour, paper codes up to 30 days');
SELECT is(expires_at(c) - issued_at(c), interval '1 hour', 'a district takes its province''s longer cap')
  FROM (SELECT issue_for(:p_zj, '1 hour') AS c) x;
SELECT throws_ok(format($$SELECT issue_for(%s, '61 minutes')$$, :p_zj), '22003',
                 'valid_for must be at most 01:00:00 in region 330106, not ''01:01:00''',
                 'and is refused beyond it');
SELECT throws_ok(format($$SELECT issue_for(%s, '6 minutes')$$, :p_bj), '22003', NULL,
                 'another province keeps the national cap');

-- a later version of the district, not yet in force, changes nothing now
INSERT INTO policy (region, valid_from, max_code_lifetime, description_zh, description_en)
VALUES ('330106', now() + interval '1 day', interval '1 day', '西湖区：明天起1天', 'Xihu: 1 day from tomorrow');
SELECT throws_ok(format($$SELECT issue_for(%s, '2 hours')$$, :p_zj), '22003', NULL,
                 'a version that takes effect tomorrow does not lift today''s cap');

-- ---- paper codes --------------------------------------------------------------
SELECT issue_paper_code(:p_zj, '30 days') AS paper \gset
SELECT issue_for(:p_zj, '1 hour') AS phone \gset
SELECT is(expires_at(:'paper') - issued_at(:'paper'), interval '30 days', 'a paper code lives its 30 days');
SELECT is((SELECT v.reason || ' ' || v.paper FROM verify(:'paper') v), 'ok true',
          'verify() says a paper code is valid and paper');
SELECT is((SELECT v.reason || ' ' || v.paper FROM verify(:'phone') v), 'ok false',
          'and a code from issue_for is not');
SELECT is(get_byte(bytea(:'paper'::healthcode), 21) & 2, 2, 'the paper mark is bit 1 of the signed flags byte');
SELECT is(get_byte(bytea(:'phone'::healthcode), 21) & 2, 0, 'which a phone code leaves clear');
SELECT is((SELECT paper FROM checkpoint_verify(:'paper', '330106')), true, 'checkpoint_verify shows the mark too');
SELECT throws_ok(format($$SELECT issue_paper_code(%s, '31 days')$$, :p_zj), '22003',
                 'valid_for must be at most 30 days in region 330106, not ''31 days''',
                 'a paper code beyond the paper cap is refused');
SELECT throws_ok(format($$SELECT issue_paper_code(%s, '1 day')$$, :p_bj), '55000', NULL,
                 'and where the policy sets no paper cap, none is issued');
-- the mark is signed: setting it on a phone code breaks the signature
SELECT is((verify(healthcode(overlay(bytea(:'phone'::healthcode) PLACING
                                     set_byte('\x00'::bytea, 0, get_byte(bytea(:'phone'::healthcode), 21) | 2)
                                     FROM 22 FOR 1)))).reason,
          'bad_signature', 'a phone code made to look like paper fails its signature');

-- ---- the caps are data: bad values are refused -----------------------------------
SELECT throws_ok($$INSERT INTO policy (region, valid_from, max_code_lifetime, description_zh, description_en)
                   VALUES ('330102', now(), interval '367 days', 'x', 'x')$$, '23514', NULL,
                 'a cap beyond 366 days is refused');
SELECT throws_ok($$INSERT INTO policy (region, valid_from, paper_code_lifetime, description_zh, description_en)
                   VALUES ('330102', now(), interval '0 seconds', 'x', 'x')$$, '23514', NULL,
                 'a paper cap below one second is refused');

SELECT * FROM finish();
ROLLBACK;
