-- Region scope and row-level security, as the operators of three regions,
-- the table owner and a BYPASSRLS role see them: who acts for which
-- divisions (hierarchical by prefix: 330000 covers 33xxxx, 330100 covers
-- 3301xx), that each operator sees exactly the rows of its scope, that no
-- write reaches a row of another region (INSERT with a foreign region
-- raises 42501 from WITH CHECK, an UPDATE moving a row out of scope raises
-- 42501, UPDATE and DELETE of foreign rows affect nothing, RETURNING returns
-- nothing foreign), COPY in both directions, and that EXPLAIN of the
-- row-secured tables is refused to roles that row-level security limits.
--
-- The BYPASSRLS role (an operator with BYPASSRLS) sees and writes every row:
-- that is by design (BYPASSRLS is the DBA's explicit choice; its scope for
-- the SECURITY DEFINER functions stays empty), and is asserted here so a
-- change of that behaviour is noticed.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(85);

-- ---- data and roles ----------------------------------------------------------
SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT count(*) AS generated FROM generate_population(300, 2, 14) \gset
-- scripted people: Hangzhou (3301xx), Ningbo (330203: Zhejiang, not
-- Hangzhou) and Beijing, each with a declaration and a lab result
SELECT person_id AS p_hz FROM declare('33010619900101123X', '330106', '张小三', temperature => 36.6) \gset
SELECT person_id AS p_nb FROM declare('330203199001011236', '330203', '李小四', temperature => 36.7) \gset
SELECT person_id AS p_bj FROM declare('110105199001011232', '110105', '王小明', temperature => 36.8) \gset
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "regress lab", "sample_id": "R-HZ"},
                                    {"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "regress lab", "sample_id": "R-NB"},
                                    {"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "positive", "lab": "regress lab", "sample_id": "R-BJ"}]',
                           :p_hz, now() - interval '2 hours', :p_nb, now() - interval '2 hours',
                           :p_bj, now() - interval '2 hours')::json) AS imported \gset
-- a second Beijing person, green, who stayed in Hangzhou's 330105 yesterday
SELECT person_id AS p_bj2 FROM declare('110108199001012226', '110108', '周小六', temperature => 36.5) \gset
SELECT import_travel(format('[{"person_id": %s, "place": "330105", "at": "%s"}]', :p_bj2, now() - interval '1 day')::json)
       AS imported \gset

-- (the common roles come from lib/roles_common.psql)
-- for COPY ... FROM PROGRAM (a source psql cannot feed inside a function):
-- the same rights and scope as regress_hc_op_hz / regress_hc_bypass, plus
-- the right to run a server program
CREATE ROLE regress_hc_op_hz_copy LOGIN IN ROLE healthcode_operator, pg_execute_server_program;
CREATE ROLE regress_hc_bypass_copy LOGIN BYPASSRLS IN ROLE healthcode_operator, pg_execute_server_program;
DO $$
BEGIN
  PERFORM healthcode.grant_region('regress_hc_op_hz_copy', '330100');
END $$;

-- pg_temp.rows_as(r, q) (lib/roles_common.psql) gives the rows a statement
-- returns as a role, as sorted text. count_as gives the number of rows a
-- statement affects as a role, rolled back. Unlike attempt(), it lets the
-- error through, so an unexpected failure stops the test.
CREATE FUNCTION pg_temp.count_as(r name, q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  a record;
BEGIN
  SELECT * INTO a FROM pg_temp.attempt(r, q);
  IF a.state <> 'ok' THEN
    RAISE EXCEPTION USING ERRCODE = a.state, MESSAGE = a.message;
  END IF;
  RETURN a.nrows;
END $$;
-- the owner's view of the same, in the same form (no role switch, nothing to undo)
CREATE FUNCTION pg_temp.owner_rows(q text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  result text[];
BEGIN
  EXECUTE format('WITH t AS (%s) %s', q, pg_temp.rows_text()) INTO result;
  RETURN result;
END $$;

-- ---- each role's scope -------------------------------------------------------------
SELECT is((pg_temp.rows_as(r, 'SELECT healthcode.my_region_scope()'))[1], want,
          format('my_region_scope() of %s is %s', r, want))
  FROM (VALUES (current_user::name, '{[000000,999999999999]}'), ('regress_hc_admin', '{[000000,999999999999]}'),
               ('regress_hc_op_zj', '{[330000,339999999999]}'), ('regress_hc_op_hz', '{[330100,330199999999]}'),
               ('regress_hc_op_bj', '{[110000,119999999999]}'), ('regress_hc_app_zj', '{[330000,339999999999]}'),
               ('regress_hc_analyst_zj', '{[330000,339999999999]}'), ('regress_hc_verifier', '{}'),
               ('regress_hc_bypass', '{}')) v(r, want);

-- ---- reading: exactly the rows of the scope --------------------------------------------
SELECT ok(array_length(pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '3301%'$$), 1) > 10
          AND array_length(pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '33%' AND region NOT LIKE '3301%'$$), 1) > 5
          AND array_length(pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '11%'$$), 1) > 10,
          'the data has people in Hangzhou, elsewhere in Zhejiang and in Beijing');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT id FROM healthcode.person'),
          pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '3301%'$$),
          'the 330100 operator sees exactly the 3301xx people');
SELECT is(pg_temp.rows_as('regress_hc_op_zj', 'SELECT id FROM healthcode.person'),
          pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '33%'$$),
          'the 330000 operator sees exactly the 33xxxx people, Hangzhou and Ningbo alike');
SELECT is(pg_temp.rows_as('regress_hc_op_bj', $$SELECT id FROM healthcode.person WHERE region LIKE '33%'$$), '{}',
          'the Beijing operator sees none of the Zhejiang people');
SELECT is(pg_temp.rows_as('regress_hc_op_bj', 'SELECT id FROM healthcode.person'),
          pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '11%'$$),
          'the Beijing operator sees exactly the 11xxxx people');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.person WHERE id IN (%s, %s, %s)', :p_hz, :p_nb, :p_bj)),
          ARRAY[:p_hz::text], 'the 330100 operator sees the Hangzhou person, not the Ningbo or Beijing one');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT id FROM healthcode.declaration'),
          pg_temp.owner_rows($$SELECT id FROM declaration WHERE region LIKE '3301%'$$),
          'the 330100 operator sees exactly the 3301xx declarations');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT person_id FROM healthcode.current_status'),
          pg_temp.owner_rows($$SELECT person_id FROM person_status WHERE region LIKE '3301%'$$),
          'current_status (security_invoker) shows the 330100 operator exactly its people');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT DISTINCT person_id FROM healthcode.status_changes'),
          pg_temp.owner_rows($$SELECT DISTINCT person_id FROM status_history WHERE region LIKE '3301%'$$),
          'status_changes shows the 330100 operator the history of its people only');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.person WHERE id = %s FOR UPDATE', :p_bj)), '{}',
          'SELECT ... FOR UPDATE of a foreign row finds nothing');
SELECT is(pg_temp.rows_as(current_user, 'SELECT region FROM healthcode.person WHERE region NOT LIKE ''33%'''),
          pg_temp.owner_rows($$SELECT region FROM person WHERE region NOT LIKE '33%'$$),
          'the table owner sees the people of every region');
SELECT ok((SELECT count(DISTINCT left(region, 2)) FROM person) >= 4, '... of at least four provinces');
SELECT is(pg_temp.rows_as('regress_hc_bypass', 'SELECT id FROM healthcode.person'),
          pg_temp.owner_rows('SELECT id FROM person'),
          'the BYPASSRLS role sees every person of every region (by design: BYPASSRLS)');
SELECT is(pg_temp.rows_as('regress_hc_bypass', 'SELECT id FROM healthcode.test_result'),
          pg_temp.owner_rows('SELECT id FROM test_result'),
          'the BYPASSRLS role sees every lab result of every region (by design: BYPASSRLS)');
SELECT is(pg_temp.rows_as('regress_hc_admin', 'SELECT id FROM healthcode.person'),
          pg_temp.owner_rows('SELECT id FROM person'), 'healthcode_admin sees every person (national)');

-- ---- writing into a foreign region: 42501 from WITH CHECK ----------------------------------
SET LOCAL ROLE regress_hc_op_hz;
SELECT lives_ok(format($$INSERT INTO healthcode.declaration (person_id, region, temperature) VALUES (%s, '330106', 36.5)$$, :p_hz),
                'the 330100 operator records a declaration for a person of its region');
SELECT throws_ok(format($$INSERT INTO healthcode.declaration (person_id, region) VALUES (%s, '110105')$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing declaration by the 330100 operator: 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.declaration (person_id, region) VALUES (%s, '330203')$$, :p_nb),
                 '42501', NULL, 'INSERT of a Ningbo declaration by the 330100 operator: 42501 (the scope is hierarchical)');
SELECT throws_ok(format($$INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
                          VALUES (%s, '110105', 'pcr', now() - interval '1 hour', 'positive', 'regress lab', 'R-X1')$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing lab result: 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at)
                          VALUES (%s, '110105', 7, now() - interval '1 day')$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing dose: 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case)
                          VALUES (%s, '110105', 'close', now() - interval '1 day', 'regress case')$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing contact: 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.checkin (person_id, region, at, temperature)
                          VALUES (%s, '110105', now() - interval '1 hour', 36.5)$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing check-in: 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.travel (person_id, region, place, at, source)
                          VALUES (%s, '110105', '330106', now() - interval '1 hour', 'telecom')$$, :p_bj),
                 '42501', NULL, 'INSERT of a Beijing itinerary (even one through Hangzhou): 42501');
SELECT throws_ok(format($$INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, authority, reason)
                          VALUES (%s, '110105', 'override', 'red', 'regress order', 'regress')$$, :p_bj),
                 '42501', NULL, 'INSERT of a manual decision about a Beijing person: 42501');
SELECT throws_ok($$INSERT INTO healthcode.risk_area (division, level, effective_from) VALUES ('110105', 'high', now())$$,
                 '42501', NULL, 'INSERT of a Beijing risk area: 42501');
SELECT throws_ok($$INSERT INTO healthcode.risk_area (division, level, effective_from) VALUES ('330000', 'high', now())$$,
                 '42501', NULL, 'INSERT of a province-wide risk area by a city operator: 42501');
SELECT throws_ok($$INSERT INTO healthcode.policy (region, valid_from, description_zh, description_en)
                   VALUES ('110000', now() + interval '1 day', '回归', 'regress')$$,
                 '42501', NULL, 'INSERT of a Beijing policy version: 42501');
-- moving a row out of the scope
SELECT throws_ok(format($$UPDATE healthcode.person SET region = '110105' WHERE id = %s$$, :p_hz),
                 '42501', NULL, 'moving a Hangzhou person to Beijing: 42501 (WITH CHECK)');
SELECT throws_ok(format($$UPDATE healthcode.person SET region = '330203' WHERE id = %s$$, :p_hz),
                 '42501', NULL, 'moving a Hangzhou person to Ningbo, outside 3301xx: 42501');
SELECT throws_ok($$UPDATE healthcode.risk_area SET division = '110105' WHERE division = '330106'$$,
                 '42501', NULL, 'moving a Hangzhou risk area to Beijing: 42501');
RESET ROLE;
-- A risk area an operator designates in its own district recolours everyone
-- who stayed there, people of other regions too, and writes their status
-- history: the cause recorded in those foreign rows is the designation, not
-- text the operator chose (healthcode.change_cause is for the extension's
-- own functions).
CREATE FUNCTION pg_temp.causes_after_designation(r name) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  before timestamptz := (SELECT coalesce(max(h.recorded_at), '-infinity') FROM healthcode.status_history h);
  result text[];
BEGIN
  BEGIN
    EXECUTE format('SET LOCAL ROLE %I', r);
    BEGIN
      PERFORM set_config('healthcode.change_cause', 'correction 1 accepted: written by an operator', true);
    EXCEPTION WHEN insufficient_privilege THEN
      NULL;
    END;
    INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
    VALUES ('330105', 'high', now() - interval '3 days', 'regress bulletin');
    RESET ROLE;
    IF NOT EXISTS (SELECT 1 FROM healthcode.status_history h
                    WHERE h.recorded_at > before AND h.region = '110108' AND h.to_colour = 'red') THEN
      result := '{the Beijing visitor was not recoloured}';
    ELSE
      result := ARRAY(SELECT DISTINCT h.cause FROM healthcode.status_history h
                       WHERE h.recorded_at > before AND h.region NOT LIKE '3301%' ORDER BY 1);
    END IF;
    RAISE EXCEPTION 'undo' USING ERRCODE = 'HCOK0';
  EXCEPTION WHEN SQLSTATE 'HCOK0' THEN
    RETURN result;
  END;
END $$;
SELECT is(pg_temp.causes_after_designation('regress_hc_op_hz'), ARRAY['risk_area insert'],
          'a 330105 designation by the 330100 operator recolours visitors from other regions with the cause "risk_area insert", not the operator''s text');
SELECT is(pg_temp.count_as('regress_hc_op_zj', format($$UPDATE healthcode.person SET region = '330203' WHERE id = %s$$, :p_hz)),
          1::bigint, 'the 330000 operator may move a person within Zhejiang');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format($$UPDATE healthcode.person SET display_name = display_name
                                                       WHERE id IN (%s, %s, %s) RETURNING id$$, :p_hz, :p_nb, :p_bj)),
          ARRAY[:p_hz::text], 'UPDATE ... RETURNING by the 330100 operator returns its own person only');

-- ---- UPDATE and DELETE of foreign rows: nothing; RETURNING: nothing foreign ------------------
-- every table the operators may change (from the catalog), as the 330100
-- operator: changing or deleting every row reaches exactly the 3301xx rows
CREATE TEMP TABLE writable AS
SELECT c.relname::text AS relname, CASE c.relname WHEN 'risk_area' THEN 'division' ELSE 'region' END AS scope_col,
       (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           AND a.attname NOT IN ('id', 'region', 'division', 'person_id') AND a.attgenerated = ''
         ORDER BY a.attnum LIMIT 1) AS some_col
  FROM pg_class c
 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
   AND c.relrowsecurity AND has_table_privilege('healthcode_operator', c.oid, 'UPDATE, DELETE');
SELECT is(ARRAY(SELECT relname FROM writable ORDER BY 1),
          ARRAY['checkin', 'contact', 'declaration', 'medicine_sale', 'policy', 'risk_area', 'test_result', 'travel', 'vaccination'],
          'the tables operators may update and delete');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('UPDATE healthcode.%I SET %I = %I RETURNING %I', relname, some_col, some_col, scope_col)),
          pg_temp.owner_rows(format($$SELECT %I FROM %I WHERE %I LIKE '3301%%'$$, scope_col, relname, scope_col)),
          format('UPDATE healthcode.%s ... RETURNING: exactly the 3301xx rows', relname))
  FROM writable ORDER BY relname;
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('DELETE FROM healthcode.%I RETURNING %I', relname, scope_col)),
          pg_temp.owner_rows(format($$SELECT %I FROM %I WHERE %I LIKE '3301%%'$$, scope_col, relname, scope_col)),
          format('DELETE FROM healthcode.%s ... RETURNING: exactly the 3301xx rows', relname))
  FROM writable ORDER BY relname;
SELECT is(pg_temp.count_as('regress_hc_op_hz', $$DELETE FROM healthcode.risk_area WHERE division = '110105'$$), 0::bigint,
          'a Beijing risk area, readable by all, cannot be deleted by the 330100 operator (0 rows)');
SELECT is(pg_temp.count_as('regress_hc_op_hz', $$UPDATE healthcode.policy SET lookback_days = 1$$), 0::bigint,
          'no policy version outside 3301xx (the national default among them) can be changed by the 330100 operator');
SELECT is(pg_temp.count_as('regress_hc_op_hz', format($$UPDATE healthcode.test_result SET result = 'negative' WHERE person_id = %s$$, :p_bj)),
          0::bigint, 'UPDATE of a Beijing lab result by the 330100 operator: 0 rows');
SELECT is((SELECT result FROM test_result WHERE person_id = :p_bj), 'positive', '... and it is unchanged');

-- ---- COPY -----------------------------------------------------------------------------------
\set copyfile `mktemp`
SET LOCAL ROLE regress_hc_op_hz;
COPY healthcode.person (id, region) TO STDOUT \g :copyfile
RESET ROLE;
\set copied `cat :'copyfile'`
SELECT is(ARRAY(SELECT split_part(l, E'\t', 1) FROM regexp_split_to_table(:'copied', E'\n') l WHERE l <> '' ORDER BY 1),
          pg_temp.owner_rows($$SELECT id FROM person WHERE region LIKE '3301%'$$),
          'COPY healthcode.person TO STDOUT by the 330100 operator: exactly the 3301xx people');
SET LOCAL ROLE regress_hc_op_hz;
COPY (SELECT id FROM healthcode.test_result) TO STDOUT \g :copyfile
RESET ROLE;
\set copied `cat :'copyfile'`
SELECT is(ARRAY(SELECT l FROM regexp_split_to_table(:'copied', E'\n') l WHERE l <> '' ORDER BY 1),
          pg_temp.owner_rows($$SELECT id FROM test_result WHERE region LIKE '3301%'$$),
          'COPY (SELECT ... FROM test_result) TO STDOUT by the 330100 operator: exactly the 3301xx results');
SET LOCAL ROLE regress_hc_bypass;
COPY healthcode.person (id) TO STDOUT \g :copyfile
RESET ROLE;
\set copied `cat :'copyfile'; rm -f :'copyfile'`
SELECT is(ARRAY(SELECT l FROM regexp_split_to_table(:'copied', E'\n') l WHERE l <> '' ORDER BY 1),
          pg_temp.owner_rows('SELECT id FROM person'),
          'COPY healthcode.person TO STDOUT by the BYPASSRLS role: every person (by design)');
-- COPY FROM with a row of a foreign region fails and writes nothing
-- (pg_temp.state_as: 'ok' or the SQLSTATE, rolled back)
SELECT ok(pg_temp.state_as('regress_hc_op_hz_copy',
            format($$COPY healthcode.declaration (person_id, region, temperature) FROM PROGRAM 'echo %s,110105,36.6' (FORMAT csv)$$, :p_bj))
          IN ('42501', '0A000'),
          'COPY healthcode.declaration FROM a source holding a Beijing row, by a 330100 operator: refused');
SELECT ok(pg_temp.state_as('regress_hc_op_hz_copy',
            format($$COPY healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
                     FROM PROGRAM 'echo %s,110105,pcr,%s,negative,regress lab,R-COPY' (FORMAT csv)$$,
                   :p_bj, to_char(now() - interval '1 hour', 'YYYY-MM-DD"T"HH24:MI:SSOF')))
          IN ('42501', '0A000'),
          'COPY healthcode.test_result FROM a source holding a Beijing row, by a 330100 operator: refused');
SELECT is(pg_temp.state_as('regress_hc_op_hz_copy',
            format($$COPY healthcode.person (region, subject) FROM PROGRAM 'echo 110105,\\x00112233445566778899aabbccddeeff' (FORMAT csv)$$)),
          '42501', 'COPY healthcode.person FROM by an operator: 42501 (no INSERT on person)');
SELECT is(pg_temp.state_as('regress_hc_bypass_copy',
            format($$COPY healthcode.declaration (person_id, region, temperature) FROM PROGRAM 'echo %s,110105,36.6' (FORMAT csv)$$, :p_bj)),
          'ok', 'COPY FROM with a Beijing row by the BYPASSRLS role works (by design: BYPASSRLS)');
SELECT is((SELECT count(*) FROM declaration WHERE person_id = :p_bj), 1::bigint,
          'the Beijing person still has the one declaration they made');

-- ---- EXPLAIN: refused to roles that row-level security limits -----------------------------
-- A plan would count other regions' rows (Rows Removed by Filter; an index
-- scan on region = '110105' before the policy filters) and estimate them
-- from statistics over every region, so such a role may not EXPLAIN a query
-- on the extension's row-secured tables (src/hc_explain_guard.c); a fresh
-- session's first statement is in test/shell/explain_guard.sh.
SET LOCAL ROLE regress_hc_op_hz;
SELECT throws_ok($$EXPLAIN ANALYZE SELECT * FROM healthcode.person WHERE region = '110105'$$, '42501',
                 'role regress_hc_op_hz may not EXPLAIN a query reading person',
                 'EXPLAIN ANALYZE of the Beijing people by the 330100 operator: 42501');
SELECT throws_ok($$EXPLAIN (COSTS OFF) SELECT count(*) FROM healthcode.test_result WHERE result = 'positive'$$, '42501', NULL,
                 'plain EXPLAIN (its estimates come from every region''s rows): 42501');
PREPARE regress_hc_probe AS SELECT * FROM healthcode.travel WHERE region = '110105';
SELECT throws_ok('EXPLAIN ANALYZE EXECUTE regress_hc_probe', '42501', NULL,
                 'EXPLAIN ANALYZE EXECUTE of a prepared statement: 42501');
DEALLOCATE regress_hc_probe;
SELECT throws_ok('EXPLAIN ANALYZE CREATE TEMP TABLE regress_hc_copy AS SELECT * FROM healthcode.declaration', '42501', NULL,
                 'EXPLAIN ANALYZE CREATE TABLE AS: 42501');
SELECT throws_ok('EXPLAIN SELECT * FROM healthcode.current_status', '42501', NULL,
                 'EXPLAIN of a view reading the tables as the operator: 42501');
SELECT lives_ok('SELECT count(*) FROM healthcode.person', 'the query itself runs');
RESET ROLE;
SET LOCAL ROLE regress_hc_admin;
SELECT lives_ok('EXPLAIN ANALYZE SELECT * FROM healthcode.person', 'a national admin (nothing is hidden from it) may EXPLAIN ANALYZE');
RESET ROLE;
SET LOCAL ROLE regress_hc_bypass;
SELECT lives_ok('EXPLAIN ANALYZE SELECT * FROM healthcode.person', 'so may the BYPASSRLS role (by design: it sees all)');
RESET ROLE;

-- ---- the operator the policies use (45_scope.sql, src/hc_scope_sel.c) -----------------
SELECT is((SELECT count(*) FROM pg_policy pol JOIN pg_class c ON c.oid = pol.polrelid
            WHERE c.relnamespace = 'healthcode'::regnamespace AND pol.polname LIKE 'scope\_%'
              AND NOT EXISTS (SELECT 1 FROM pg_depend d
                               WHERE d.classid = 'pg_policy'::regclass AND d.objid = pol.oid
                                 AND d.refclassid = 'pg_operator'::regclass
                                 AND d.refobjid = 'healthcode.@>(healthcode.division_multirange, text)'::regoperator)),
          0::bigint, 'every scope policy tests the scope with the extension''s @>');
SELECT is((SELECT count(*) FROM (VALUES ('{[330000,339999999999]}'), ('{[110105,110105999999],[330100,330199999999]}'), ('{}'),
                                        ('{[000000,999999999999]}')) s(scope)
                          CROSS JOIN (VALUES ('330106'), ('330106001001'), ('330203'), ('110105'), ('110101'), ('000000')) r(region)
            WHERE (s.scope::division_multirange OPERATOR(healthcode.@>) r.region)
                  IS DISTINCT FROM (s.scope::division_multirange OPERATOR(pg_catalog.@>) (r.region COLLATE "C"))),
          0::bigint, 'and it answers as pg_catalog''s for every scope and region tried');
ANALYZE person_status;
-- (the planner's estimate against the rows: a scope given, and the querying
-- role's, here the superuser's whole country; pg_catalog's @> guesses half
-- a percent of the table for either)
CREATE FUNCTION pg_temp.estimated_rows(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE plan json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO plan;
  RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::numeric;
END $$;
SELECT ok(pg_temp.estimated_rows($$SELECT * FROM healthcode.person_status s
                                    WHERE '{[330000,339999999999]}'::healthcode.division_multirange OPERATOR(healthcode.@>) (s.region COLLATE "C")$$)
          BETWEEN 0.7 * (SELECT count(*) FROM person_status WHERE region LIKE '33%')
              AND 1.3 * (SELECT count(*) FROM person_status WHERE region LIKE '33%'),
          'the planner estimates the rows a scope keeps from the column''s statistics');
SELECT ok(pg_temp.estimated_rows($$SELECT * FROM healthcode.person_status s
                                    WHERE (SELECT healthcode._rls_scope()) OPERATOR(healthcode.@>) (s.region COLLATE "C")$$)
          >= 0.7 * (SELECT count(*) FROM person_status),
          'and, for a scope computed as the query runs, from the querying role''s (the superuser''s: every row)');

SELECT * FROM finish();
ROLLBACK;
