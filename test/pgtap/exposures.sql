-- Exposure tracing (issue 15, point 4): a case's venue scans and
-- community stays find whoever was there within the policy's
-- exposure_minutes; trace_exposures files them as contacts of the case in
-- one call and the triggers turn them; operators of the case's region only;
-- people of other regions of the node are filed but never shown or counted
-- to the caller.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(31);

SELECT create_key('330000') IS NOT NULL AS k \gset
SELECT create_venue('330106001001', '社区超市', 'supermarket') AS v_shop \gset
SELECT create_venue('330106002001', '西溪菜场', 'public_venue') AS v_market \gset
SELECT venue_code(:v_shop) AS shop \gset
SELECT venue_code(:v_market) AS market \gset
-- k the case; a at the shop 10 minutes after; b 45 minutes after (beyond
-- the default 30); c at the market at the same time; d in the shop's
-- community (telecom) 5 minutes after; e of Ningbo at the shop 5 minutes
-- before (a region the Hangzhou operator does not act for)
SELECT person_id AS pk FROM declare('330106199001014326', '330106', '病例') \gset
SELECT person_id AS pa FROM declare('330106199001015433', '330106', '甲') \gset
SELECT person_id AS pb FROM declare('330106199001016655', '330106', '乙') \gset
SELECT person_id AS pc FROM declare('330106199001017121', '330106', '丙') \gset
SELECT person_id AS pd FROM declare('330106199001018183', '330106', '丁') \gset
SELECT person_id AS pe FROM declare('330203199001010014', '330203', '戊') \gset
SELECT date_trunc('minute', now()) - interval '3 hours' AS t0 \gset
SELECT import_scans(json_build_array(
         json_build_object('person_id', :pk, 'venue', :v_shop, 'at', :'t0'::timestamptz),
         json_build_object('person_id', :pa, 'venue', :v_shop, 'at', :'t0'::timestamptz + interval '10 minutes'),
         json_build_object('person_id', :pb, 'venue', :v_shop, 'at', :'t0'::timestamptz + interval '45 minutes'),
         json_build_object('person_id', :pc, 'venue', :v_market, 'at', :'t0'::timestamptz),
         json_build_object('person_id', :pe, 'venue', :v_shop, 'at', :'t0'::timestamptz - interval '5 minutes'))) AS n \gset
SELECT import_travel(json_build_array(
         json_build_object('person_id', :pd, 'place', '330106001001', 'at', :'t0'::timestamptz + interval '5 minutes'),
         json_build_object('person_id', :pk, 'place', '330106001001', 'at', :'t0'::timestamptz + interval '1 minute'))) AS n \gset
SELECT import_test_results(json_build_array(json_build_object('person_id', :pk, 'kind', 'pcr', 'result', 'positive',
         'sampled_at', now() - interval '1 hour', 'lab', 'L', 'sample_id', 'EXP-1'))) AS n \gset
SELECT id AS case_id FROM test_result WHERE person_id = :pk \gset
SELECT import_test_results(json_build_array(json_build_object('person_id', :pa, 'kind', 'pcr', 'result', 'negative',
         'sampled_at', now() - interval '1 hour', 'lab', 'L', 'sample_id', 'EXP-2'))) AS n \gset
SELECT id AS negative_id FROM test_result WHERE person_id = :pa \gset
CREATE TEMP VIEW who AS
  SELECT x.who, x.id FROM (VALUES ('a', :pa), ('b', :pb), ('c', :pc), ('d', :pd), ('e', :pe), ('k', :pk)) x(who, id);

-- ---- who was there ---------------------------------------------------------------------
SELECT is((SELECT string_agg(w.who, ' ' ORDER BY w.who)
             FROM exposures(:case_id, now() - interval '2 days', now()) e JOIN who w ON w.id = e.person_id),
          'a e', 'at the venue: the scans within 30 minutes of the case''s, before or after; not 45 minutes later, not another venue, not the case');
SELECT is((SELECT (e.venue_id = :v_shop) AND e.exposure_at = :'t0'::timestamptz + interval '10 minutes'
                  AND e.case_at = :'t0'::timestamptz AND e.place = '330106001001'
             FROM exposures(:case_id, now() - interval '2 days', now()) e WHERE e.person_id = :pa), true,
          'each with the venue, the place, their time and the case''s');
SELECT is((SELECT string_agg(w.who, ' ' ORDER BY w.who)
             FROM exposures(:case_id, now() - interval '2 days', now(), 'community') e JOIN who w ON w.id = e.person_id),
          'a d e', 'in the community: every stay at the case''s community within 30 minutes (scans at its venues among them)');
SELECT is((SELECT count(*) FROM exposures(:case_id, now() - interval '2 days', :'t0'::timestamptz - interval '1 minute')), 0::bigint,
          'a window before the case''s stays finds no one');
INSERT INTO policy (region, exposure_minutes, description_zh, description_en)
VALUES ('330106', 60, '西湖区：场所暴露60分钟', 'Xihu: exposure within 60 minutes');
SELECT is((SELECT string_agg(w.who, ' ' ORDER BY w.who)
             FROM exposures(:case_id, now() - interval '2 days', now()) e JOIN who w ON w.id = e.person_id),
          'a b e', 'the case''s region''s policy says how close in time: 60 minutes finds the scan 45 minutes later');

-- ---- arguments ------------------------------------------------------------------------------
SELECT is(pg_temp.error_of(format('SELECT * FROM exposures(%s, now() - interval ''2 days'', now())', :negative_id)),
          format('22023: test result %s is negative: it makes no case', :negative_id), 'a negative test makes no case');
SELECT is(pg_temp.error_of('SELECT * FROM exposures(42, now() - interval ''2 days'', now())') ~ '^P0002: no test result 42 in the regions',
          true, 'an unknown test result: P0002');
SELECT is(pg_temp.error_of(format('SELECT * FROM exposures(%s, now() - interval ''40 days'', now())', :case_id)) ~ '^22023: the window must end after it starts and last at most 31 days',
          true, 'a window of more than 31 days is refused');
SELECT is(pg_temp.error_of(format('SELECT * FROM exposures(%s, now(), now() - interval ''1 day'')', :case_id)) ~ '^22023: the window must end after it starts',
          true, 'a window ending before it starts is refused');
SELECT is(pg_temp.error_of(format('SELECT * FROM exposures(%s, NULL, now())', :case_id)), '22004: window_from must not be NULL',
          'a NULL window is refused');
SELECT is(pg_temp.error_of(format('SELECT * FROM exposures(%s, now() - interval ''1 day'', now(), ''city'')', :case_id)),
          '22023: at_level must be venue or community, not ''city''', 'an unknown level is refused');
SELECT is(pg_temp.error_of(format('SELECT * FROM trace_exposures(%s, now() - interval ''1 day'', now(), kind => ''casual'')', :case_id)),
          '22023: kind must be close or secondary, not ''casual''', 'an unknown contact kind is refused');

-- ---- scopes ----------------------------------------------------------------------------------
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT count(*) FILTER (WHERE e.person_id = %s) AS ningbo, count(*) AS seen FROM healthcode.exposures(%s, now() - interval ''2 days'', now()) e',
                                                     :pe, :case_id)),
          ARRAY['0|2'], 'a Hangzhou operator sees its own region''s two exposed, not the Ningbo visitor');
SELECT is((pg_temp.attempt('regress_hc_op_bj', format('SELECT * FROM healthcode.exposures(%s, now() - interval ''2 days'', now())', :case_id))).state,
          'P0002', 'a Beijing operator does not find the Hangzhou case at all');
SELECT is((pg_temp.attempt('regress_hc_app_zj', format('SELECT * FROM healthcode.exposures(%s, now() - interval ''2 days'', now())', :case_id))).state,
          '42501', 'an app may not trace');

-- ---- filing them -----------------------------------------------------------------------------
SELECT is((SELECT string_agg(colour::text, ' ' ORDER BY w.who) FROM who w, status(w.id) s WHERE w.who <> 'k'),
          'green green green green green', 'everyone green before the trace');
SET LOCAL ROLE regress_hc_op_hz;
CREATE TEMP TABLE traced AS
  SELECT * FROM healthcode.trace_exposures(:case_id, now() - interval '2 days', now());
RESET ROLE;
SELECT is((SELECT string_agg(w.who || ':' || t.recorded, ' ' ORDER BY w.who) FROM traced t JOIN who w ON w.id = t.person_id),
          'a:true b:true', 'the Hangzhou operator''s trace shows its own people filed, not the Ningbo visitor');
SELECT is((SELECT string_agg(w.who || ':' || c.kind, ' ' ORDER BY w.who) || ' ' || count(DISTINCT c.source_case)
                    || ' ' || bool_and(c.source_case ~ '^exposure trace [0-9a-f]{16}$')
                    || ' ' || bool_or(c.source_case LIKE '%' || :case_id || '%')
             FROM contact c JOIN who w ON w.id = c.person_id),
          'a:secondary b:secondary e:secondary 1 true false',
          'contacts are filed for all three, the Ningbo visitor too, with one reference of the case as their source, which names no row');
SELECT is((SELECT string_agg(w.who || ':' || s.colour, ' ' ORDER BY w.who) FROM who w, status(w.id) s WHERE w.who <> 'k'),
          'a:yellow b:yellow c:green d:green e:yellow', 'the triggers turned the secondary contacts yellow');
SELECT is((SELECT string_agg(recorded::text, ' ') FROM trace_exposures(:case_id, now() - interval '2 days', now())),
          'false false false', 'tracing again files nothing twice');
SELECT is((SELECT count(*) FROM trace_exposures(:case_id, now() - interval '2 days', now(), 'community', 'close', 'case 2026-001')
            WHERE recorded), 4::bigint, 'at the community level, as close contacts under the team''s reference: four more rows');
SELECT is((SELECT s.colour::text FROM status(:pd) s), 'red', 'the close contact in the community is red');
SELECT is((pg_temp.attempt('regress_hc_op_bj', format('SELECT * FROM healthcode.trace_exposures(%s, now() - interval ''2 days'', now())', :case_id))).state,
          'P0002', 'a Beijing operator cannot trace the Hangzhou case');
SELECT is((pg_temp.attempt('regress_hc_analyst_zj', format('SELECT * FROM healthcode.trace_exposures(%s, now() - interval ''2 days'', now())', :case_id))).state,
          '42501', 'nor an analyst');

-- a venue system's own reference of a venue, no number a venue id can be, breaks no trace
SELECT import_travel(json_build_array(json_build_object('person_id', :pk, 'place', '330106001001', 'source', 'venue_scan',
         'venue', '99999999999999999999', 'at', :'t0'::timestamptz + interval '3 minutes'))) AS n \gset
SELECT lives_ok(format('SELECT * FROM trace_exposures(%s, now() - interval ''2 days'', now())', :case_id),
                'a case''s stay naming its venue by a reference that is no venue id: traced all the same');

-- ---- notices from other nodes (94_federation_exposures.sql) ----------------------------------
-- A notice names a venue by its id and county: a venue of another node may have an id a venue here
-- has. c scanned that other node's venue (a stay in its county, as a scan of a venue this node does
-- not know is recorded); the case's shop here has the same id: its visitors are not the notice's.
INSERT INTO travel (person_id, region, place, at, source, venue)
VALUES (:pc, '330106', '330203', :'t0'::timestamptz + interval '2 hours', 'venue_scan', :'v_shop');
SELECT count(*) AS contacts_before FROM contact \gset
INSERT INTO exposure_notice
SELECT _exposure_notice_key(n), (n).from_region, (n).venue, (n).venue_region, (n).place, (n).from_at, (n).until_at,
       (n).kind, (n).source_case, (n).published_at
  FROM (SELECT ROW(NULL, '330203', :v_shop, '330203', NULL, :'t0'::timestamptz + interval '90 minutes',
                   :'t0'::timestamptz + interval '150 minutes', 'secondary', 'Ningbo case 7', now())::exposure_notice AS n) x;
SELECT is((SELECT string_agg(w.who || ':' || c.source_case, ' ') FROM contact c JOIN who w ON w.id = c.person_id
            WHERE c.source_case = 'Ningbo case 7'),
          'c:Ningbo case 7', 'a notice of another node''s venue files who scanned that venue in its span, and no one of the venue here with the same id');
SELECT is((SELECT count(*) FROM contact) - :contacts_before, 1::bigint, 'one contact');
SELECT is((SELECT colour::text FROM status(:pc)), 'yellow', 'who is recalculated: yellow');
SET LOCAL client_min_messages = error;
INSERT INTO exposure_notice (notice, from_region, venue, venue_region, place, from_at, until_at, kind, source_case, published_at)
VALUES ('not the digest', '330203', :v_shop, '330203', NULL, now() - interval '1 hour', now(), 'secondary', 'x', now()),
       (md5('y'), '330203', NULL, NULL, '330203', now() - interval '1 hour', now(), 'secondary', 'y', now());
RESET client_min_messages;
SELECT is((SELECT count(*) FROM exposure_notice WHERE source_case IN ('x', 'y')), 0::bigint, 'malformed notices are not kept');
SELECT is((SELECT string_agg(problem, '; ' ORDER BY id) FROM exchange_reject WHERE tbl = 'exposure_notice'),
          'a notice''s key is the digest of its content; a community notice names a twelve-digit place, and no venue',
          'they are logged with what is wrong');

-- retention: a notice whose span ended before the national window goes, a recent one stays
INSERT INTO exposure_notice
SELECT _exposure_notice_key(n), (n).from_region, (n).venue, (n).venue_region, (n).place, (n).from_at, (n).until_at,
       (n).kind, (n).source_case, (n).published_at
  FROM (SELECT ROW(NULL, '330203', 77, '330203', NULL, now() - interval '60 days 1 hour', now() - interval '60 days',
                   'secondary', 'Ningbo case 1', now())::exposure_notice AS n) x;
SELECT _retention_delete('exposure_notice', 100) AS notices_removed \gset
SELECT is(:notices_removed || ' ' || (SELECT string_agg(source_case, ', ' ORDER BY source_case) FROM exposure_notice),
          '1 Ningbo case 7', 'retention removes a notice older than the national window, and keeps a recent one');

SELECT * FROM finish();
ROLLBACK;
