-- Privacy across the region boundary, as a hostile operator probes it: the
-- classes of leak issue 13 found, each tried again and now refused.
--   1. retention: a regional policy version never makes every region's
--      evidence be kept longer (the national versions alone set how long);
--   2. identifiers: no id, sequence or system column lets a scoped role
--      count or place the rows it cannot see;
--   4. the decision chain: an operator sees no chain position or hash of
--      the national chain, whose entries are other regions' decisions too.

BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(31);

SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT person_id AS p_hz FROM declare('33010619900101123X', '330106', '张小三', temperature => 36.6) \gset
SELECT person_id AS p_bj FROM declare('110105199001011232', '110105', '王小明', temperature => 36.8) \gset

-- ---- 1. a city operator does not set national retention ---------------------------
SELECT is(travel_retention(), interval '14 days', 'retention under the national default: 14 days');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, lookback_days, description_zh, description_en)
                                                VALUES ('330100', 366, '杭州：366天', 'Hangzhou: 366 days')$$),
          '22003', 'a city operator''s version looking back 366 days is refused (22003)');
SELECT alike((pg_temp.attempt('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, lookback_days, description_zh, description_en)
                                                   VALUES ('330100', 366, '杭州：366天', 'Hangzhou: 366 days')$$)).message,
            'lookback_days 366 of the policy version of region 330100 % is beyond the national limit of 14 days',
            'the message names the value, the region and the national limit');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$UPDATE healthcode.policy SET lookback_days = 30 WHERE region = '330100'$$),
          'ok', 'an UPDATE that matches no version of its own does nothing');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, lookback_days, description_zh, description_en)
                                                VALUES ('330100', 10, '杭州：10天', 'Hangzhou: 10 days')$$),
          'ok', 'a version within the national limit (10 days) is written');
INSERT INTO policy (region, lookback_days, description_zh, description_en)
  VALUES ('330100', 10, '杭州：10天', 'Hangzhou: 10 days');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$UPDATE healthcode.policy SET lookback_days = 60 WHERE region = '330100'$$),
          '22003', 'and cannot be stretched past the limit afterwards');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
                                                VALUES ('330100', now(), 366, '杭州', 'Hangzhou')$$),
          '23514', 'a regional version cannot carry a regional limit (23514)');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
                                                VALUES ('000000', now(), 366, '全国', 'National')$$),
          '42501', 'nor write a national version that would raise the limit (42501)');
SELECT is(travel_retention(), interval '14 days', 'retention is still 14 days for everyone');
-- the national administration raises the limit: regions may reach further,
-- and then everyone's evidence is kept that long
SELECT is(pg_temp.state_as('regress_hc_admin', $$INSERT INTO healthcode.policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
                                                 VALUES ('000000', '2000-01-01', 30, '全国：地方回溯不超过30天', 'National: regions look back at most 30 days')$$),
          'ok', 'the admin may raise how far regions look back');
INSERT INTO policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
  VALUES ('000000', '2000-01-01', 30, '全国：地方回溯不超过30天', 'National: regions look back at most 30 days');
SELECT is(travel_retention(), interval '30 days', 'then retention follows the national limit: 30 days');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$UPDATE healthcode.policy SET lookback_days = 30 WHERE region = '330100'$$),
          'ok', 'and a region may use it (30 days)');
UPDATE policy SET lookback_days = 30 WHERE region = '330100';
SELECT is(pg_temp.state_as('regress_hc_admin', $$DELETE FROM healthcode.policy WHERE region = '000000' AND valid_from = '2000-01-01'$$),
          '22003', 'the limit cannot be taken back while a region uses it');
SELECT is(pg_temp.state_as('regress_hc_admin', $$UPDATE healthcode.policy SET valid_until = now() + interval '1 day'
                                                  WHERE region = '000000' AND valid_from = '2000-01-01'$$),
          '22003', 'nor ended before the regional version that uses it ends');

SELECT is(pg_temp.state_as('regress_hc_admin', $$INSERT INTO healthcode.policy (region, valid_from, description_zh, description_en)
                                                 VALUES ('000000', now() + interval '1 day', '全国：明天起', 'National: from tomorrow')$$),
          '22003', 'nor superseded by a later national version with a lower limit');
-- the national version in force, not the largest ever written, sets retention
DELETE FROM policy WHERE region = '330100';
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
  VALUES ('000000', now() - interval '1 day', 7, '全国：7天', 'National: 7 days');
SELECT is(travel_retention(), interval '7 days',
          'a later national version with 7 days supersedes the earlier ones: retention is 7 days, below the default''s 14');
-- a regional version written before the limit existed (restored here as
-- 0.2.0 left it) stops no region's own writes; the admin lowering a limit
-- hears of it
SET LOCAL healthcode.restore_mode = on;
INSERT INTO policy (region, lookback_days, description_zh, description_en) VALUES ('110100', 60, '北京：60天', 'Beijing: 60 days');
SET LOCAL healthcode.restore_mode = off;
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.policy (region, lookback_days, description_zh, description_en)
                                                VALUES ('330100', 5, '杭州：5天', 'Hangzhou: 5 days')$$),
          'ok', 'another region''s version beyond the limit does not stop an operator''s own');
SELECT is(pg_temp.state_as('regress_hc_admin', $$INSERT INTO healthcode.policy (region, valid_from, description_zh, description_en)
                                                 VALUES ('000000', now() + interval '2 days', '全国', 'National')$$),
          '22003', 'but a national change is refused while a regional version is beyond the limit, naming it');
DELETE FROM policy WHERE region = '110100';

-- ---- 2. identifiers count no hidden row ----------------------------------------------
-- the class: every row-secured table of personal rows, from the catalog
CREATE TEMP TABLE personal AS
SELECT c.oid, c.relname::text AS relname
  FROM pg_class c
 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'p') AND c.relrowsecurity
   AND NOT c.relispartition
   AND NOT EXISTS (SELECT 1 FROM evidence_table e WHERE e.name = c.relname AND e.public_rows);
SELECT ok((SELECT count(*) FROM personal) >= 12, 'there are row-secured tables of personal rows to check');
SELECT is(ARRAY(SELECT p.relname FROM personal p
                  JOIN pg_attribute a ON a.attrelid = p.oid AND a.attname = 'id'
                  LEFT JOIN pg_attrdef d ON d.adrelid = p.oid AND d.adnum = a.attnum
                 WHERE coalesce(pg_get_expr(d.adbin, d.adrelid), '') !~ format('^(healthcode\.)?_next_id\(''(healthcode\.)?%s_id_seq''::regclass\)$', p.relname)
                 ORDER BY 1), '{}',
          'every one with an id draws it opaque (_next_id)');
SELECT is(ARRAY(SELECT r.role || ' ' || s.relname
                  FROM (VALUES ('regress_hc_op_hz'), ('regress_hc_app_zj'), ('regress_hc_analyst_zj'), ('regress_hc_verifier')) r(role)
                  CROSS JOIN pg_class s
                 WHERE s.relkind = 'S' AND s.relnamespace = 'healthcode'::regnamespace
                   AND s.relname IN (SELECT relname || '_id_seq' FROM personal)
                   AND has_sequence_privilege(r.role, s.oid, 'USAGE, SELECT, UPDATE')
                 ORDER BY 1), '{}',
          'no scoped role may draw from or read their sequences');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT nextval('healthcode.travel_id_seq')$$), '42501',
          'an operator''s nextval of travel''s sequence: 42501');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT last_value FROM healthcode.status_history_id_seq$$), '42501',
          'nor may it read how far status_history''s sequence went');
SELECT is(ARRAY(SELECT p.relname || '.' || c.col
                  FROM personal p CROSS JOIN unnest(ARRAY['ctid', 'xmin', 'xmax']) c(col)
                 WHERE has_any_column_privilege('regress_hc_op_hz', p.oid, 'SELECT')
                   AND pg_temp.state_as('regress_hc_op_hz', format('SELECT %s FROM healthcode.%I LIMIT 0', c.col, p.relname)) <> '42501'
                 ORDER BY 1), '{}',
          'no system column (ctid: where the hidden rows lie between; xmin: how many wrote in between) of any of them');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$UPDATE healthcode.travel SET source = source WHERE ctid = '(0,1)'$$), '42501',
          'nor may an operator find rows by their place');
-- an operator's own rows: ids that neither ascend nor lie close together
SELECT set_config('hc.p_hz', :'p_hz', false) IS NOT NULL AS x, set_config('hc.p_bj', :'p_bj', false) IS NOT NULL AS y \gset
SELECT count(*) >= 0 AS made FROM create_travel_partitions(current_date - 1, current_date + 1) \gset
CREATE TEMP TABLE own_ids (n integer, id bigint);
GRANT INSERT ON own_ids TO regress_hc_op_hz;
DO $$
BEGIN
  FOR i IN 1 .. 20 LOOP
    SET LOCAL ROLE regress_hc_op_hz;
    WITH x AS (INSERT INTO healthcode.travel (person_id, region, place, at, source)
               VALUES (current_setting('hc.p_hz')::bigint, '330106', '330106', now() - i * interval '1 minute', 'venue_scan')
               RETURNING id)
    INSERT INTO own_ids SELECT i, x.id FROM x;
    RESET ROLE;
    -- another region's rows in between, which the operator cannot see
    INSERT INTO healthcode.travel (person_id, region, place, at, source)
    SELECT current_setting('hc.p_bj')::bigint, '110105', '110105', now() - (100 * i + g) * interval '1 second', 'telecom'
      FROM generate_series(1, i) g;
  END LOOP;
END $$;
SELECT ok((SELECT bool_and(id >= 4611686018427387904) FROM own_ids), 'the ids lie in [2^62, 2^63)');
SELECT ok((SELECT count(*) FROM (SELECT id > lag(id) OVER (ORDER BY n) AS up FROM own_ids) x WHERE up) BETWEEN 2 AND 17,
          'twenty rows in a row: their ids go up and down, not in the order written');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT healthcode._next_id('pg_catalog.pg_class'::regclass)$$), '22023',
          '_next_id draws from this extension''s sequences only');

-- ---- 4. the decision chain belongs to the national auditor ------------------------------
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT healthcode.record_decision(%s, 'override', 'regress', 'order 1', 'red')$$, :p_hz)),
          'ok', 'an operator records a decision');
SELECT is(ARRAY(SELECT c || ' ' || pg_temp.state_as('regress_hc_op_hz', format('SELECT %s FROM healthcode.manual_decision', c))
                  FROM unnest(ARRAY['chain_seq', 'prev_hash', 'entry_hash', 'content_digest']) c ORDER BY 1),
          ARRAY['chain_seq 42501', 'content_digest 42501', 'entry_hash 42501', 'prev_hash 42501'],
          'but sees no chain position or hash of any entry (the content digest would give the position back)');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, authority, reason)
                                                       VALUES (%s, '330106', 'override', 'red', 'order 2', 'regress')
                                                       RETURNING chain_seq, prev_hash$$, :p_hz)),
          '42501', 'nor gets them back from its own INSERT (RETURNING chain_seq, prev_hash: 42501)');

SELECT * FROM finish();
ROLLBACK;
