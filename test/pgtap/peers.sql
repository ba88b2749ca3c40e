-- Mode 1 with a region that runs another health-code system (issue 16,
-- points 1 and 2): the peer API at the hub (peer_publish, peer_push_reds,
-- shared_health) for a login granted healthcode_peer and mapped to its
-- regions: its own regions only, none a healthcode node serves, every
-- record checked, refused ones logged and nothing partial; and the shared
-- data as evidence here for a person registered with the same national
-- pseudonym, under this region's own policy.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(34);

CREATE ROLE regress_hc_peer_gd LOGIN IN ROLE healthcode_peer;
CREATE ROLE regress_hc_peer_none LOGIN IN ROLE healthcode_peer;
SELECT grant_region('regress_hc_peer_gd', '440000') IS NOT NULL AS g \gset

-- three national pseudonyms of Guangdong residents, as its system computes them
SELECT '0123456789abcdef0123456789abcdef' AS gd1, 'fedcba9876543210fedcba9876543210' AS gd2,
       '00112233445566778899aabbccddeeff' AS gd3 \gset
SELECT format('[{"national_subject": "%s", "region": "440106", "colour": "green",
                 "test_kind": "pcr", "tested_at": "%s", "test_result": "negative", "doses": 3, "last_dose_at": "%s"},
                {"national_subject": "%s", "region": "440305", "colour": "yellow", "since": "%s", "valid_until": "%s"}]',
              :'gd1', now() - interval '20 hours', now() - interval '100 days',
              :'gd2', now() - interval '1 day', now() + interval '2 days') AS batch \gset

-- ---- who may call it, where -----------------------------------------------------------
SELECT is(pg_temp.state_as('regress_hc_peer_gd', format($$SELECT * FROM healthcode.peer_publish(%L)$$, :'batch')),
          '55000', 'the peer API is the hub''s: elsewhere 55000');
SELECT set_node('hub', '000000', 'hub') IS NULL AS n \gset
SELECT is(pg_temp.state_as('regress_hc_peer_none', format($$SELECT * FROM healthcode.peer_publish(%L)$$, :'batch')),
          '42501', 'a peer mapped to no region may not speak (42501)');
SELECT is(pg_temp.state_as('regress_hc_app_zj', format($$SELECT * FROM healthcode.peer_publish(%L)$$, :'batch')),
          '42501', 'an app is no peer (42501)');
SELECT is(pg_temp.state_as('regress_hc_admin', $$SELECT * FROM healthcode.shared_health(ARRAY['\x00'::bytea])$$),
          '42501', 'nor is the national admin');

-- ---- publishing --------------------------------------------------------------------
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_publish(:'batch') \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused, '2/0', 'a good batch: both records accepted');
SELECT is((SELECT string_agg(region || ' ' || coalesce(colour::text, '-') || ' ' || coalesce(test_result, '-') || ' '
                             || coalesce(doses::text, '-') || ' ' || coalesce((valid_until = 'infinity')::text, '-'), ', ' ORDER BY region)
             FROM health_share),
          '440106 green negative 3 -, 440305 yellow - - false', 'and written as shared');

SELECT count(*) AS rejects_before FROM exchange_reject \gset
SELECT format('[{"national_subject": "%s", "region": "440106", "colour": "red", "since": "%s"},
                {"national_subject": "%s", "region": "330106", "doses": 1, "last_dose_at": "%s"},
                {"national_subject": "not hex", "region": "440106"},
                {"national_subject": "%s", "region": "440106", "colour": "yellow"}]',
              :'gd3', now() - interval '1 hour', :'gd3', now() - interval '9 days', :'gd1') AS mixed \gset
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_publish(:'mixed') \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused, '0/3', 'a batch with refused records: three refused, nothing accepted');
SELECT is((SELECT count(*) FROM health_share WHERE national_subject = decode(:'gd3', 'hex')), 0::bigint,
          'nothing of it is written, not even the good record');
SELECT is((SELECT colour::text FROM health_share WHERE national_subject = decode(:'gd1', 'hex')), 'green',
          'and what was shared before stands');
SELECT is(ARRAY(SELECT problem FROM exchange_reject ORDER BY id OFFSET :rejects_before),
          ARRAY['role regress_hc_peer_gd speaks for {[440000,449999999999]} only, not for 330106',
                'national_subject must be 32 hex digits, not ''not hex''',
                'a red or yellow flag needs a finite since before its valid_until'],
          'each refused record is logged with its problem: another region, a bad pseudonym, a flag without its start');
SELECT is((SELECT string_agg(DISTINCT tbl || ' ' || (row_data ->> 'peer') || ' ' || by_replication::text, ',')
             FROM (SELECT * FROM exchange_reject ORDER BY id OFFSET :rejects_before) r),
          'health_share regress_hc_peer_gd false', 'logged for health_share, naming the peer, not by replication');
SELECT is((SELECT string_agg(row_data ->> 'record', ',' ORDER BY id) FROM (SELECT * FROM exchange_reject ORDER BY id OFFSET :rejects_before) r),
          '2,3,4', 'and the record''s position in the batch');

SELECT is(pg_temp.state_as('regress_hc_peer_gd', $$SELECT * FROM healthcode.peer_publish('[{"national_subject": "0123456789abcdef0123456789abcdef", "region": "440106", "doses": "three"}]')$$),
          '22P02', 'a malformed batch raises as an import does (22P02)');
SELECT ok((pg_temp.attempt('regress_hc_peer_gd', $$SELECT * FROM healthcode.peer_publish('[{"national_subject": "0123456789abcdef0123456789abcdef", "region": "440106", "doses": "three"}]')$$)).message
            ~ 'record 1.*field "doses"', 'naming the record and the field');

-- (the batch is written set-based, the table's row triggers aside meanwhile:
-- after a batch that failed, they are back for every other writer)
SELECT is((SELECT count(*) FROM health_share WHERE region = '000000'), 0::bigint, 'no row of the nation');
INSERT INTO health_share (national_subject, region) VALUES (decode(:'gd3', 'hex'), '000000');
SELECT is((SELECT count(*) FROM health_share WHERE region = '000000') || ' ' || (SELECT problem FROM exchange_reject ORDER BY id DESC LIMIT 1),
          '0 a shared row needs its person''s home region, a division code below the nation',
          'after a failed batch, the row check is back: a bad row written directly is skipped and logged');
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_publish(format('[{"national_subject": "%s", "region": "440106", "doses": 1, "last_dose_at": "%s"},
                                                    {"national_subject": "%s", "region": "440106", "doses": 2, "last_dose_at": "%s"}]',
                                                   :'gd3', now() - interval '9 days', :'gd3', now() - interval '8 days')::json) \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused || ' ' || (SELECT problem FROM exchange_reject ORDER BY id DESC LIMIT 1),
          '0/2 a record repeating another''s national_subject and region', 'a batch naming one person twice is refused');

-- a region a healthcode node serves is that node's to speak for
INSERT INTO peer (subscription, publisher, region) VALUES ('regress_sub_gz', 'guangzhou', '440100');
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_publish(format('[{"national_subject": "%s", "region": "440106"}]', :'gd1')::json) \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused, '0/1', 'a region a healthcode node serves is refused');
SELECT is((SELECT problem FROM exchange_reject ORDER BY id DESC LIMIT 1),
          'region 440106 is served by a healthcode node, which speaks for it', 'saying why');
DELETE FROM peer WHERE subscription = 'regress_sub_gz';

-- ---- reds --------------------------------------------------------------------------
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_push_reds(format('[{"national_subject": "%s", "region": "440106", "since": "%s"}]',
                                                    :'gd3', now() - interval '2 hours')::json) \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused, '1/0', 'a pushed red: accepted');
SELECT is((SELECT from_region || ' ' || (until = 'infinity')::text || ' ' || rules::text FROM red_push
            WHERE national_subject = decode(:'gd3', 'hex')),
          '440106 true {shared}', 'travelling as every region''s reds do, until further notice');
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted, refused FROM peer_push_reds(format('[{"national_subject": "%s", "region": "110105", "since": "%s"}]',
                                                    :'gd3', now() - interval '2 hours')::json) \gset
RESET ROLE;
SELECT is(:accepted || '/' || :refused, '0/1', 'a red for another region''s resident is refused');

-- ---- a visitor's shared data --------------------------------------------------------
SET LOCAL ROLE regress_hc_peer_gd;
CREATE TEMP TABLE seen AS SELECT * FROM shared_health(ARRAY[decode(:'gd1', 'hex'), decode(:'gd3', 'hex'), decode(:'gd2', 'hex')]);
RESET ROLE;
SELECT is(ARRAY(SELECT region || ' ' || source || ' ' || colour::text FROM seen ORDER BY national_subject, region, source),
          ARRAY['440106 pushed_red red', '440106 shared green', '440305 shared yellow'],
          'shared_health: per region the shared row and the reds that hold');
SELECT is(pg_temp.state_as('regress_hc_peer_gd', $$SELECT * FROM healthcode.shared_health(ARRAY(SELECT '\x00'::bytea FROM generate_series(1, 1001)))$$),
          '22023', 'at most 1,000 pseudonyms a call');

-- ---- evidence here, under this region's policy ---------------------------------------
SELECT create_key('310000') IS NOT NULL AS k \gset
SELECT register_person('310104199001011233', '310104', '王五') AS visitor \gset
SELECT register_person('310104199202022342', '310104', '赵六') AS visitor2 \gset
SELECT is(pg_temp.colour(:visitor), 'green', 'a visitor registered here: green');
UPDATE person SET national_subject = decode(:'gd2', 'hex') WHERE id = :visitor;
SELECT is(pg_temp.colour(:visitor) || ' ' || pg_temp.rules(:visitor), 'yellow pushed_yellow',
          'with their national pseudonym known, the yellow Guangdong shares is theirs here');
SELECT is((SELECT valid_until FROM status(:visitor)),
          (SELECT valid_until FROM health_share WHERE national_subject = decode(:'gd2', 'hex')),
          'until the end Guangdong gives');
SELECT is((SELECT r ->> 'text_zh' FROM code_screen(:visitor) s, jsonb_array_elements(s.reasons) r),
          left((SELECT since FROM health_share WHERE national_subject = decode(:'gd2', 'hex')) AT TIME ZONE 'Asia/Shanghai' || '', 10)
            || ' 其他地区共享的黄码', 'the screen says so in Chinese');
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted FROM peer_publish(format('[{"national_subject": "%s", "region": "440305", "test_kind": "antigen", "tested_at": "%s", "test_result": "positive"}]',
                                         :'gd2', now() - interval '3 hours')::json) \gset
RESET ROLE;
SELECT is(pg_temp.colour(:visitor) || ' ' || pg_temp.rules(:visitor), 'red positive_test',
          'a positive test Guangdong shares is red here, at once (the flag withdrawn, the test shared)');
UPDATE person SET national_subject = decode(:'gd1', 'hex') WHERE id = :visitor2;
SELECT is((SELECT colour::text || ' ' || vaccinated::text FROM status(:visitor2)), 'green true',
          'a negative test and three doses shared: green, and vaccinated under this region''s policy');
SELECT is((SELECT doses FROM code_screen(:visitor2)), 0,
          'the screen''s dose count stays this region''s own records (none)');
SET LOCAL ROLE regress_hc_peer_gd;
SELECT accepted FROM peer_publish(format('[{"national_subject": "%s", "region": "440106", "doses": 0}]', :'gd1')::json) \gset
RESET ROLE;
SELECT is((SELECT vaccinated::text FROM status(:visitor2)), 'false', 'shared again without doses: the mark goes');

-- emptied by hand, the pushed reds go from everyone's evidence at once
SELECT register_person('310104199202022342', '310104', '赵六') IS NOT NULL AS again \gset
UPDATE person SET national_subject = decode(:'gd3', 'hex') WHERE id = :visitor2;
SELECT is(pg_temp.colour(:visitor2) || ' ' || pg_temp.rules(:visitor2), 'red pushed_red', 'Guangdong''s pushed red is theirs here');
TRUNCATE red_push;
SELECT is(pg_temp.colour(:visitor2), 'green', 'red_push emptied by hand: they are recalculated, green');

SELECT * FROM finish();
ROLLBACK;
