-- Health facts on the code (format version 2) and what arrival rules make
-- of them, on a single node: issue_for/issue_paper_code(health_facts =>
-- true) sign the holder's last negative test and dose count into the code,
-- so a checkpoint can apply "a negative test within 48 h" or "3 doses"
-- offline; online, a later test or dose this node knows of counts too. A
-- version 1 code carries nothing, and offline nothing else is read. Rules
-- name the version that decided; national rules (region 000000) are the
-- hub's, and a region node refuses to write its own.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(49);

SELECT healthcode.create_key('330000') IS NOT NULL AS zj_key \gset
-- paper codes in Zhejiang (the national policy issues none)
INSERT INTO policy (region, valid_from, max_code_lifetime, paper_code_lifetime, description_zh, description_en)
VALUES ('330000', now() - interval '1 day', interval '1 hour', interval '30 days',
        '浙江：健康码最长1小时，纸质码最长30天', 'Zhejiang: codes up to 1 hour, paper codes up to 30 days');

-- a: a negative test 30 hours old, two doses
SELECT colour::text AS c FROM declare('330106198801010011', '330106') \gset
SELECT person_id('330106198801010011') AS a \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:a, '330106', 'pcr', now() - interval '30 hours 0.25 seconds', 'negative', 'facts lab', 'AF-A1')
RETURNING sampled_at AS a_sampled \gset
INSERT INTO vaccination (person_id, region, dose, given_at, product)
VALUES (:a, '330106', 1, now() - interval '90 days', 'x'), (:a, '330106', 2, now() - interval '60 days', 'x');
-- b: a negative test 60 hours old, no doses
SELECT colour::text AS c FROM declare('33010619880101002X', '330106') \gset
SELECT person_id('33010619880101002X') AS b \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:b, '330106', 'antigen', now() - interval '60 hours', 'negative', 'facts lab', 'AF-B1')
RETURNING sampled_at AS b_sampled \gset
-- c: never tested, three doses
SELECT colour::text AS c FROM declare('330106198801010038', '330106') \gset
SELECT person_id('330106198801010038') AS c \gset
INSERT INTO vaccination (person_id, region, dose, given_at, product)
VALUES (:c, '330106', 1, now() - interval '200 days', 'x'), (:c, '330106', 2, now() - interval '150 days', 'x'),
       (:c, '330106', 3, now() - interval '20 days', 'x');

SELECT issue_for(:a, health_facts => true) AS a2 \gset
SELECT issue_for(:a) AS a1 \gset
SELECT issue_paper_code(:a, '10 days', true) AS a_paper2 \gset
SELECT issue_paper_code(:a, '10 days') AS a_paper1 \gset
SELECT issue_for(:b, interval '5 minutes', true) AS b2 \gset
SELECT issue_for(:c, health_facts => true) AS c2 \gset
SELECT issue_for(:c) AS c1 \gset

-- ---- what a code carries -------------------------------------------------------------
SELECT is(format_version(:'a2'), 2, 'issue_for with health_facts gives a version 2 code');
SELECT is((SELECT v.last_negative_at FROM verify(:'a2') v), date_trunc('second', :'a_sampled'::timestamptz),
          'verify() shows the last negative test''s sampling time, to the second');
SELECT is((SELECT v.valid || ' ' || v.reason || ' ' || v.doses || ' ' || v.colour FROM verify(:'a2') v), 'true ok 2 green',
          'and the number of doses on record, on a valid code');
SELECT is((SELECT format_version(:'a1') || ' ' || coalesce(v.last_negative_at::text, 'none') || ' '
                  || coalesce(v.doses::text, 'none') || ' ' || v.reason FROM verify(:'a1') v),
          '1 none none ok', 'a default issue_for gives a version 1 code: no facts');
SELECT is((SELECT (x.last_negative_at = date_trunc('second', :'a_sampled'::timestamptz)) || ' ' || x.doses || ' ' || x.online_check
             FROM checkpoint_verify(:'a2', '330106', online => false) x), 'true 2 not_asked',
          'checkpoint_verify shows the facts too, offline');
SELECT is((SELECT format_version(:'a_paper2') || ' ' || v.paper || ' ' || v.doses || ' '
                  || (v.last_negative_at = date_trunc('second', :'a_sampled'::timestamptz)) || ' '
                  || (v.expires_at - v.issued_at)
             FROM verify(:'a_paper2') v), '2 true 2 true 10 days',
          'issue_paper_code with health_facts: a version 2 paper code carrying the facts');
SELECT is((SELECT format_version(:'a_paper1') || ' ' || v.paper || ' ' || coalesce(v.doses::text, 'none')
             FROM verify(:'a_paper1') v), '1 true none', 'and without: a version 1 paper code');
SELECT is((SELECT coalesce(v.last_negative_at::text, 'none') || ' ' || v.doses FROM verify(:'c2') v), 'none 3',
          'a person never tested: no last negative test, the doses still carried');
SELECT is((SELECT v.last_negative_at FROM verify(:'b2') v), date_trunc('second', :'b_sampled'::timestamptz),
          'issue_for(id, valid_for, true) carries an older test as it is');

-- ---- "a negative test within 48 h", offline and online ---------------------------------
INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from)
VALUES ('330000', '330000', 'green_and_negative_test', 48, 'Zhejiang: green and a negative test within 48 h',
        now() - interval '1 day')
RETURNING id AS rule_48, valid_from AS rule_48_from \gset

SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from || ' ' || doses FROM verify_arrival(:'a2', '330106', online => false)),
          'true ok code 2', 'offline, a version 2 code carrying a 30-hour-old negative test meets "within 48 h"');
SELECT is((SELECT last_negative_at FROM verify_arrival(:'a2', '330106', online => false)),
          date_trunc('second', :'a_sampled'::timestamptz), 'and the verdict shows the test it read from the code');
SELECT is((SELECT admit || ' ' || reason || ' ' || coalesce(facts_from, 'none') || ' ' || coalesce(last_negative_at::text, 'none')
             FROM verify_arrival(:'a1', '330106', online => false)),
          'false no_recent_negative_test none none',
          'offline, a version 1 code of the same person is refused: nothing else is read');
SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from FROM verify_arrival(:'a1', '330106')),
          'true ok evidence', 'online, the same version 1 code is admitted from the holder''s evidence here');
SELECT is((SELECT last_negative_at FROM verify_arrival(:'a1', '330106')), :'a_sampled'::timestamptz,
          'reading the evidence''s own sampling time');
SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from FROM verify_arrival(:'a2', '330106')),
          'true ok code+evidence', 'online, a version 2 code: the code and the evidence');

SELECT is((SELECT rule_id FROM verify_arrival(:'a2', '330106', online => false)), :rule_48::bigint,
          'verify_arrival names the rule (this node''s id)');
SELECT is((SELECT rule_region || ' ' || rule_from_region || ' ' || rule FROM verify_arrival(:'a2', '330106', online => false)),
          '330000 330000 Zhejiang: green and a negative test within 48 h', 'its regions and its text');
SELECT is((SELECT rule_version FROM verify_arrival(:'a2', '330106', online => false)), :'rule_48_from'::timestamptz,
          'and its version (valid_from)');
SELECT is((SELECT admit || ' ' || reason || ' ' || coalesce(rule_id::text, 'none') || ' ' || coalesce(rule_region, 'none') || ' ' || rule
             FROM verify_arrival(:'a2', '110105', online => false)),
          'true ok none none no arrival rule: a valid green code', 'where no rule applies, none is named');

-- a version 2 code whose carried test is too old
SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from FROM verify_arrival(:'b2', '330106', online => false)),
          'false no_recent_negative_test code', 'offline, a version 2 code carrying a 60-hour-old test is refused');
SELECT is((SELECT last_negative_at FROM verify_arrival(:'b2', '330106', online => false)),
          date_trunc('second', :'b_sampled'::timestamptz), 'naming the test it carries');
SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from FROM verify_arrival(:'b2', '330106')),
          'false no_recent_negative_test code+evidence', 'online too, while the evidence knows no later test');

-- a test recorded after the code was issued: seen online only
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:b, '330106', 'pcr', now() - interval '2 hours', 'negative', 'facts lab', 'AF-B2')
RETURNING sampled_at AS b_later \gset
SELECT is((SELECT admit || ' ' || reason || ' ' || facts_from FROM verify_arrival(:'b2', '330106')),
          'true ok code+evidence', 'online, a negative test recorded after the code was issued admits it');
SELECT is((SELECT last_negative_at FROM verify_arrival(:'b2', '330106')), :'b_later'::timestamptz,
          'and the later test is the one shown');
SELECT is((SELECT admit || ' ' || reason || ' ' || last_negative_at FROM verify_arrival(:'b2', '330106', online => false)),
          'false no_recent_negative_test ' || date_trunc('second', :'b_sampled'::timestamptz),
          'offline, the code still says what it was signed with');

-- ---- min_doses -----------------------------------------------------------------------------
INSERT INTO arrival_rule (region, from_region, demand, description, min_doses, valid_from)
VALUES ('330200', '330000', 'green', 'Ningbo: green and 3 doses', 3, now() - interval '1 day')
RETURNING id AS rule_doses \gset
SELECT is((SELECT admit || ' ' || reason || ' ' || doses || ' ' || facts_from || ' ' || rule_id
             FROM verify_arrival(:'a2', '330203', online => false)),
          'false not_enough_doses 2 code ' || :rule_doses, 'a code carrying 2 doses is refused where 3 are asked');
SELECT is((SELECT admit || ' ' || reason || ' ' || doses || ' ' || facts_from FROM verify_arrival(:'c2', '330203', online => false)),
          'true ok 3 code', 'and one carrying 3 is admitted, offline');
SELECT is((SELECT admit || ' ' || reason || ' ' || coalesce(doses::text, 'none') FROM verify_arrival(:'c1', '330203', online => false)),
          'false not_enough_doses none', 'a version 1 code offline has no doses to show');
SELECT is((SELECT admit || ' ' || reason || ' ' || doses || ' ' || facts_from FROM verify_arrival(:'c1', '330203')),
          'true ok 3 evidence', 'online, the holder''s doses on record count');
INSERT INTO vaccination (person_id, region, dose, given_at, product) VALUES (:a, '330106', 3, now() - interval '1 hour', 'x');
SELECT is((SELECT admit || ' ' || reason || ' ' || doses || ' ' || facts_from FROM verify_arrival(:'a2', '330203')),
          'true ok 3 code+evidence', 'online, a dose given after the code was issued counts (the larger count wins)');
SELECT is((SELECT admit || ' ' || reason || ' ' || doses FROM verify_arrival(:'a2', '330203', online => false)),
          'false not_enough_doses 2', 'offline, the code''s own count stands');
-- both asked: the test first, then the doses
INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, min_doses)
VALUES ('330300', '330000', 'green_and_negative_test', 48, 'Wenzhou: a negative test within 48 h and 3 doses', 3);
SELECT is((SELECT reason FROM verify_arrival(:'c2', '330302', online => false)), 'no_recent_negative_test',
          'a rule asking both: 3 doses without a test are refused for the test');
SELECT is((SELECT reason FROM verify_arrival(:'a2', '330302', online => false)), 'not_enough_doses',
          'and a recent test with 2 doses for the doses');
SELECT throws_ok($$INSERT INTO arrival_rule (region, from_region, demand, description, min_doses)
                   VALUES ('330000', '110000', 'green', 'x', 11)$$, '23514', NULL, 'min_doses above 10 is refused');

-- ---- issue(), the signing primitive, for the owner: the facts' bounds ---------------------------
SELECT throws_ok($$SELECT healthcode.issue('330106', healthcode.pseudonym('facts'), 'green', '5 minutes', false, false, NULL, 256)$$,
                 '22003', 'doses must lie between 0 and 255, not 256', 'doses above 255 are refused');
SELECT throws_ok($$SELECT healthcode.issue('330106', healthcode.pseudonym('facts'), 'green', '5 minutes', false, false, NULL, -1)$$,
                 '22003', NULL, 'negative doses are refused');
SELECT throws_ok($$SELECT healthcode.issue('330106', healthcode.pseudonym('facts'), 'green', '5 minutes', false, false, now() - interval '1 hour', NULL)$$,
                 '22023', 'a code carries a last negative test only with a dose count',
                 'a last negative test without a dose count is refused');
SELECT throws_ok($$SELECT healthcode.issue('330106', healthcode.pseudonym('facts'), 'green', '5 minutes', false, false, '1970-01-01 00:00:00.5+00', 2)$$,
                 '22008', 'last_negative_at must not lie before 2020-01-01',
                 'a test time the payload would read as "none known" (or any before 2020) is refused');
SELECT is((SELECT format_version(x.c) || ' ' || v.doses || ' ' || coalesce(v.last_negative_at::text, 'none')
             FROM (SELECT healthcode.issue('330106', healthcode.pseudonym('facts'), 'green', '5 minutes',
                                           false, false, NULL, 255) AS c) x, verify(x.c) v),
          '2 255 none', 'doses 255 and no test: a version 2 code');

-- ---- national rules (region 000000) -----------------------------------------------------------
-- a single node (no set_node): anyone's to write
SELECT lives_ok($$INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from)
                  VALUES ('000000', '000000', 'green_and_negative_test', 72, 'national: a negative test within 72 h',
                          now() - interval '1 hour')$$,
                'on a single node a national rule can be written');
SELECT is((SELECT admit || ' ' || reason || ' ' || rule_region || ' ' || rule_from_region || ' ' || facts_from
             FROM verify_arrival(:'b2', '110105', online => false)),
          'true ok 000000 000000 code',
          'it applies at a checkpoint with no rule of its own: 72 h, so a carried 60-hour-old test passes');
SELECT is((SELECT admit || ' ' || reason || ' ' || rule_region FROM verify_arrival(:'c2', '110105', online => false)),
          'false no_recent_negative_test 000000', 'and a code carrying no test is refused');
SELECT is((SELECT count(*)::integer FROM arrival_rule_exchange), 0, 'and, on no hub, is not published');
-- a hub publishes its national rules
SELECT healthcode.set_node('hub', '000000', 'hub') IS NOT NULL AS hub \gset
SELECT is((SELECT string_agg(from_region || ' ' || (rule ->> 'negative_test_hours'), ', ') FROM arrival_rule_exchange),
          '000000 72', 'the national rule written before this node became the hub is published by set_node');
INSERT INTO arrival_rule (region, from_region, demand, description, min_doses, valid_from)
VALUES ('000000', '110000', 'green', 'national, codes of Beijing: 2 doses', 2, now() - interval '2 hours');
SELECT is((SELECT from_region || ' ' || (rule ->> 'min_doses') || ' ' || (rule ? 'id') FROM arrival_rule_exchange
            WHERE from_region = '110000'),
          '110000 2 false', 'on the hub a national rule goes into arrival_rule_exchange (without its local id)');
-- a region node: the hub's to write
SELECT healthcode.set_node('region', '330000', 'zhejiang') IS NOT NULL AS region_node \gset
SELECT throws_ok($$INSERT INTO arrival_rule (region, from_region, demand, description)
                   VALUES ('000000', '330000', 'green', 'a national rule written in a region')$$,
                 '42501', 'national arrival rules come from the hub', 'a region node refuses to write a national rule');
SELECT throws_ok($$UPDATE arrival_rule SET negative_test_hours = 24 WHERE region = '000000'$$, '42501', NULL,
                 'or to change one');
SELECT throws_ok($$DELETE FROM arrival_rule WHERE region = '000000'$$, '42501', NULL, 'or to delete one');
SELECT lives_ok($$INSERT INTO arrival_rule (region, from_region, demand, description)
                  VALUES ('330000', '110000', 'green', 'Zhejiang: visitors from Beijing, green')$$,
                'while its own regions'' rules are its to write');

SELECT * FROM finish();
ROLLBACK;
