-- Cross-region leakage: nothing of another region's people reaches a role
-- through the SECURITY DEFINER interface functions (a person of another
-- region must look exactly like an unknown person: same SQLSTATE, same
-- message), through error messages, through unique-constraint probes,
-- through the analyst views (scope, small-count suppression, EXPLAIN,
-- functions of the analyst's own in a WHERE clause), and the verifier and
-- the analyst read no table of personal data.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(113);

-- ---- data and roles ----------------------------------------------------------
SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT count(*) AS generated FROM generate_population(300, 2, 14) \gset
-- a Beijing person with evidence of every kind (a stay in the high-risk
-- district the synthetic bulletins name, left out of the declaration, so
-- the audit finds it), a Ningbo person (Zhejiang, not Hangzhou) and a
-- Hangzhou one
SELECT register_person('110105199001011232', '110105', '王小明') AS p_bj \gset
SELECT register_person('330203199001011236', '330203', '李小四') AS p_nb \gset
SELECT register_person('33010619900101123X', '330106', '张小三') AS p_hz \gset
SELECT import_travel(format('[{"person_id": %s, "place": "110105", "at": "%s", "source": "telecom"}]',
                            :p_bj, now() - interval '1 day')::json) AS n \gset
SELECT count(*) AS n FROM declare('110105199001011232', '110105', temperature => 36.8) \gset
SELECT count(*) AS n FROM declare('330203199001011236', '330203', temperature => 36.8) \gset
SELECT count(*) AS n FROM declare('33010619900101123X', '330106', temperature => 36.8) \gset
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "positive", "lab": "regress lab", "sample_id": "R-BJ-1"}]',
                                  :p_bj, now() - interval '3 hours')::json) AS n \gset
SELECT import_vaccinations(format('[{"person_id": %s, "dose": 1, "given_at": "%s"}, {"person_id": %s, "dose": 2, "given_at": "%s"}]',
                                  :p_bj, now() - interval '200 days', :p_bj, now() - interval '150 days')::json) AS n \gset
SELECT import_contacts(format('[{"person_id": %s, "kind": "secondary", "exposure_at": "%s", "source_case": "regress case 7"}]',
                              :p_bj, date_trunc('second', now() - interval '2 days'))::json) AS n \gset
SELECT count(*) AS n FROM check_in('110105199001011232', 36.5) \gset
SELECT count(*) AS findings FROM audit() \gset
SELECT t.id AS bj_result FROM test_result t WHERE t.person_id = :p_bj \gset
SELECT t.id AS bj_travel FROM travel t WHERE t.person_id = :p_bj AND t.source = 'telecom' \gset
SELECT f.id AS bj_finding FROM audit_finding f WHERE f.person_id = :p_bj LIMIT 1 \gset
SELECT request_correction(:p_bj, 'test_result', :bj_result, 'I was not tested that day') AS bj_correction \gset
SELECT d.declared_at AS bj_declared_at FROM declaration d WHERE d.person_id = :p_bj \gset
SELECT k.at AS bj_checkin_at FROM checkin k WHERE k.person_id = :p_bj \gset
SELECT c.exposure_at AS bj_exposure_at FROM contact c WHERE c.person_id = :p_bj \gset
-- ids and identifiers no one has
SELECT max(id) + 100000 AS nobody_id FROM person \gset
\set nobody_identifier '110105199001019998'
SELECT greatest((SELECT max(id) FROM test_result), (SELECT max(id) FROM travel), (SELECT max(id) FROM audit_finding),
                (SELECT max(id) FROM correction)) + 100000 AS nobody_row \gset

-- (the common roles come from lib/roles_common.psql) an analyst mapped to
-- no region, and a region for the verifier, which the common roles lack
CREATE ROLE regress_hc_analyst_none LOGIN IN ROLE healthcode_analyst;
DO $$
BEGIN
  PERFORM healthcode.grant_region('regress_hc_verifier', '330106');   -- its checkpoints' districts
  PERFORM healthcode.grant_region('regress_hc_verifier', '330109');
END $$;

-- Codes issued by the app and checked by the verifier (codes_per_day).
CREATE TEMP TABLE issued AS SELECT p.id, NULL::healthcode AS code FROM person p WHERE p.region LIKE '33%' ORDER BY p.id LIMIT 40;
GRANT SELECT, UPDATE ON issued TO PUBLIC;
SET LOCAL ROLE regress_hc_app_zj;
UPDATE issued SET code = healthcode.issue_for(id);
RESET ROLE;
SET LOCAL ROLE regress_hc_verifier;
SELECT count(*) AS checked FROM issued i, LATERAL healthcode.checkpoint_verify(i.code, '330106') v \gset
-- one person's code scanned six times at a checkpoint in 330109
SELECT count(*) AS checked_one FROM (SELECT code FROM issued ORDER BY id LIMIT 1) i, generate_series(1, 6) g,
       LATERAL healthcode.checkpoint_verify(i.code, '330109') v \gset
RESET ROLE;

-- A statement as a role, always rolled back (pg_temp.attempt, from
-- lib/roles_common.psql like pg_temp.rows_as): 'ok', or the SQLSTATE and
-- every text of the error (message, detail, hint), with the given strings
-- (ids the caller passed itself) replaced by <x>.
CREATE FUNCTION pg_temp.outcome(r name, q text, hide text[] DEFAULT '{}') RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a record;
  result text;
  h text;
BEGIN
  SELECT * INTO a FROM pg_temp.attempt(r, q);
  IF a.state = 'ok' THEN
    RETURN 'ok';
  END IF;
  result := concat_ws(' | ', a.state, a.message, nullif(a.detail, ''), nullif(a.hint, ''));
  FOR h IN SELECT x FROM unnest(hide) x ORDER BY length(x) DESC LOOP   -- the longest first
    result := replace(result, h, '<x>');
  END LOOP;
  RETURN result;
END $$;

-- ---- SECURITY DEFINER functions: another region's person = an unknown person ------------
-- each case: what the caller gets for the foreign person (or row), and what
-- it gets for one that does not exist; the ids it passed itself are masked
CREATE TEMP TABLE probe (n integer, who name, what text, foreign_q text, unknown_q text, hide text[]);
INSERT INTO probe VALUES
  (1, 'regress_hc_app_zj', 'health_info(identifier)',
   $$SELECT * FROM healthcode.health_info('110105199001011232')$$,
   format($$SELECT * FROM healthcode.health_info(%L)$$, :'nobody_identifier'), '{}'),
  (2, 'regress_hc_app_zj', 'person_id(identifier)',
   $$SELECT healthcode.person_id('110105199001011232') IS NULL OR 1/0 = 1$$,
   format($$SELECT healthcode.person_id(%L) IS NULL OR 1/0 = 1$$, :'nobody_identifier'), '{}'),
  (3, 'regress_hc_app_zj', 'status(person_id)',
   format('SELECT 1/count(*) FROM healthcode.status(%s)', :p_bj),
   format('SELECT 1/count(*) FROM healthcode.status(%s)', :nobody_id), '{}'),
  (4, 'regress_hc_app_zj', 'issue_for(person_id)',
   format('SELECT healthcode.issue_for(%s)', :p_bj),
   format('SELECT healthcode.issue_for(%s)', :nobody_id), ARRAY[:p_bj::text, :nobody_id::text]),
  (5, 'regress_hc_app_zj', 'request_correction(foreign person, its evidence)',
   format($$SELECT healthcode.request_correction(%s, 'test_result', %s, 'not me')$$, :p_bj, :bj_result),
   format($$SELECT healthcode.request_correction(%s, 'test_result', %s, 'not me')$$, :nobody_id, :nobody_row),
   ARRAY[:p_bj::text, :bj_result::text, :nobody_id::text, :nobody_row::text]),
  (6, 'regress_hc_app_zj', 'request_correction(own person, foreign evidence)',
   format($$SELECT healthcode.request_correction(%s, 'travel', %s, 'not me')$$, :p_hz, :bj_travel),
   format($$SELECT healthcode.request_correction(%s, 'travel', %s, 'not me')$$, :p_hz, :nobody_row),
   ARRAY[:bj_travel::text, :nobody_row::text]),
  (7, 'regress_hc_app_zj', 'check_in(identifier)',
   $$SELECT * FROM healthcode.check_in('110105199001011232', 36.6)$$,
   format($$SELECT * FROM healthcode.check_in(%L, 36.6)$$, :'nobody_identifier'), '{}'),
  (8, 'regress_hc_app_zj', 'declare_trip(identifier)',
   $$SELECT * FROM healthcode.declare_trip('110105199001011232', '330106', now() - interval '1 hour')$$,
   format($$SELECT * FROM healthcode.declare_trip(%L, '330106', now() - interval '1 hour')$$, :'nobody_identifier'), '{}'),
  (9, 'regress_hc_app_zj', 'import_travel by person_id',
   format($$SELECT healthcode.import_travel('[{"person_id": %s, "place": "330106", "at": "%s"}]')$$, :p_bj, now() - interval '1 hour'),
   format($$SELECT healthcode.import_travel('[{"person_id": %s, "place": "330106", "at": "%s"}]')$$, :nobody_id, now() - interval '1 hour'), '{}'),
  (10, 'regress_hc_app_zj', 'import_travel by identifier',
   format($$SELECT healthcode.import_travel('[{"identifier": "110105199001011232", "place": "330106", "at": "%s"}]')$$, now() - interval '1 hour'),
   format($$SELECT healthcode.import_travel('[{"identifier": %s, "place": "330106", "at": "%s"}]')$$, to_json(:'nobody_identifier'::text), now() - interval '1 hour'), '{}'),
  (11, 'regress_hc_app_zj', 'import_test_results',
   format($$SELECT healthcode.import_test_results('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "regress lab", "sample_id": "R-NEW"}]')$$, :p_bj, now() - interval '1 hour'),
   format($$SELECT healthcode.import_test_results('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "regress lab", "sample_id": "R-NEW"}]')$$, :nobody_id, now() - interval '1 hour'), '{}'),
  (12, 'regress_hc_app_zj', 'import_vaccinations',
   format($$SELECT healthcode.import_vaccinations('[{"person_id": %s, "dose": 3, "given_at": "%s"}]')$$, :p_bj, now() - interval '1 day'),
   format($$SELECT healthcode.import_vaccinations('[{"person_id": %s, "dose": 3, "given_at": "%s"}]')$$, :nobody_id, now() - interval '1 day'), '{}'),
  (13, 'regress_hc_app_zj', 'import_contacts',
   format($$SELECT healthcode.import_contacts('[{"person_id": %s, "kind": "close", "exposure_at": "%s", "source_case": "c"}]')$$, :p_bj, now() - interval '1 day'),
   format($$SELECT healthcode.import_contacts('[{"person_id": %s, "kind": "close", "exposure_at": "%s", "source_case": "c"}]')$$, :nobody_id, now() - interval '1 day'), '{}'),
  (16, 'regress_hc_op_hz', 'record_decision(person_id)',
   format($$SELECT healthcode.record_decision(%s, 'override', 'probe', 'regress order', 'red')$$, :p_bj),
   format($$SELECT healthcode.record_decision(%s, 'override', 'probe', 'regress order', 'red')$$, :nobody_id),
   ARRAY[:p_bj::text, :nobody_id::text]),
  (17, 'regress_hc_op_hz', 'record_decision(person_id) of Ningbo (same province)',
   format($$SELECT healthcode.record_decision(%s, 'medical_release', 'probe', 'regress order')$$, :p_nb),
   format($$SELECT healthcode.record_decision(%s, 'medical_release', 'probe', 'regress order')$$, :nobody_id),
   ARRAY[:p_nb::text, :nobody_id::text]),
  (18, 'regress_hc_op_hz', 'review_finding(finding_id)',
   format($$SELECT healthcode.review_finding(%s, 'dismiss', 'probe')$$, :bj_finding),
   format($$SELECT healthcode.review_finding(%s, 'dismiss', 'probe')$$, :nobody_row),
   ARRAY[:bj_finding::text, :nobody_row::text]),
  (19, 'regress_hc_op_hz', 'decide_correction(correction_id)',
   format($$SELECT * FROM healthcode.decide_correction(%s, true, 'probe')$$, :bj_correction),
   format($$SELECT * FROM healthcode.decide_correction(%s, true, 'probe')$$, :nobody_row),
   ARRAY[:bj_correction::text, :nobody_row::text]),
  (20, 'regress_hc_op_hz', 'audit(person_id)',
   format($$SELECT * FROM healthcode.audit(%s)$$, :p_bj),
   format($$SELECT * FROM healthcode.audit(%s)$$, :nobody_id), ARRAY[:p_bj::text, :nobody_id::text]),
  (21, 'regress_hc_op_hz', 'issue_for(person_id) of Ningbo (same province)',
   format('SELECT healthcode.issue_for(%s)', :p_nb),
   format('SELECT healthcode.issue_for(%s)', :nobody_id), ARRAY[:p_nb::text, :nobody_id::text]),
  (22, 'regress_hc_op_hz', 'health_info(identifier) of Ningbo (same province)',
   $$SELECT * FROM healthcode.health_info('330203199001011236')$$,
   format($$SELECT * FROM healthcode.health_info(%L)$$, :'nobody_identifier'), '{}');
CREATE TEMP TABLE probe_result AS
SELECT n, who, what, pg_temp.outcome(who, foreign_q, hide) AS foreign_outcome,
       pg_temp.outcome(who, unknown_q, hide) AS unknown_outcome
  FROM probe;
SELECT is(foreign_outcome, unknown_outcome,
          format('%s by %s: a person (or row) of another region is answered as an unknown one', what, who))
  FROM probe_result ORDER BY n;

-- error messages never carry another region's data: its people's region,
-- names, lab, sample ids, results, ids the caller did not pass
SELECT is(ARRAY(SELECT format('%s: %s', what, foreign_outcome) FROM probe_result
                 WHERE foreign_outcome ~ '110105|王|regress lab|R-BJ|positive|regress case'
                    OR (foreign_outcome ~ ('\m' || :p_bj || '\M') AND n NOT IN (4, 5, 16, 20))
                 ORDER BY n), '{}',
          'no error of those calls names the foreign person''s region, name, lab data or id');

-- The one documented exception (doc/roles.md): identity numbers are
-- nationally unique, so registering (or declaring as) an identifier that
-- another region holds must fail where an unknown one registers. The
-- refusal says that much and nothing more: not where, not who.
SELECT is(pg_temp.outcome('regress_hc_app_zj', $$SELECT healthcode.register_person('110105199001011232', '330106')$$),
          '23505 | this person is registered in another region, not 330106 | Moving a person to another region is an operator''s change of healthcode.person.region.',
          'register_person of an identifier registered in Beijing: 23505 naming only the caller''s own region');
SELECT is(pg_temp.outcome('regress_hc_app_zj', $$SELECT count(*) FROM healthcode.declare('110105199001011232', '330106')$$),
          '23505 | this person is registered in another region, not 330106 | Moving a person to another region is an operator''s change of healthcode.person.region.',
          'declare as an identifier registered in Beijing: the same refusal, naming only the caller''s own region');

-- writing into another region through the functions: 42501
SET LOCAL ROLE regress_hc_app_zj;
SELECT throws_ok($$SELECT * FROM healthcode.declare('110108199001015558', '110108')$$, '42501', NULL,
                 'the Zhejiang app cannot register a new person in Beijing (declare)');
SELECT throws_ok($$SELECT healthcode.register_person('110108199001015558', '110108')$$, '42501', NULL,
                 'the Zhejiang app cannot register a new person in Beijing (register_person)');
SELECT throws_ok(format($$SELECT healthcode.import_risk_areas('[{"division": "110108", "level": "high", "effective_from": "%s"}]')$$, now()),
                 '42501', NULL, 'the Zhejiang app cannot designate a Beijing risk area');
RESET ROLE;
SET LOCAL ROLE regress_hc_op_hz;
SELECT throws_ok($$SELECT * FROM healthcode.audit(region => '110000')$$, '42501', NULL,
                 'the 330100 operator cannot audit Beijing');
SELECT throws_ok($$SELECT * FROM healthcode.audit(region => '330200')$$, '42501', NULL,
                 'the 330100 operator cannot audit Ningbo');
RESET ROLE;
SELECT is((SELECT count(*) FROM person WHERE subject = pseudonym('110108199001015558')), 0::bigint,
          'nobody was registered in Beijing by those calls');

-- ---- unique-constraint probes --------------------------------------------------------
-- an operator writes a row for a person of its own region that repeats the
-- natural key of a foreign person's row: the error may say that the key
-- exists (a unique constraint is global), never whose row it is
SELECT pg_temp.outcome('regress_hc_op_hz',
         format($$INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
                  VALUES (%s, '330106', 'pcr', now() - interval '1 hour', 'negative', 'regress lab', 'R-BJ-1')$$, :p_hz))
       AS dup_result \gset
SELECT is(left(:'dup_result', 5), '23505', 'a lab result repeating a Beijing sample id: 23505');
-- (the text after the SQLSTATE: an id like 505 is in 23505)
SELECT unalike(substr(:'dup_result'::text, 6), '%' || v || '%', format('... whose message does not carry %s', label))
  FROM (VALUES (:p_bj::text, 'the foreign person''s id'), ('110105', 'the foreign region'),
               ('positive', 'the foreign result')) x(v, label);
SELECT is(pg_temp.outcome('regress_hc_app_zj',
            format($$SELECT healthcode.import_test_results('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "regress lab", "sample_id": "R-BJ-1"}]')$$,
                   :p_hz, now() - interval '1 hour')) ~ ('110105|positive|\m' || :p_bj || '\M'), false,
          'the app importing a Beijing sample id for its own person learns nothing of the Beijing row');
-- keys that hold a person: probing a foreign person's key must answer the
-- same whether or not that person has such a row (else it reveals their
-- doses, check-in days, contacts, declarations)
CREATE TEMP TABLE key_probe (n integer, what text, existing_q text, absent_q text);
INSERT INTO key_probe VALUES
  (1, 'vaccination (person_id, dose)',
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 2, now() - interval '1 day')$$, :p_bj),
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 9, now() - interval '1 day')$$, :p_bj)),
  (2, 'checkin (person_id, day)',
   format($$INSERT INTO healthcode.checkin (person_id, region, at) VALUES (%s, '330106', %L::timestamptz)$$, :p_bj, :'bj_checkin_at'),
   format($$INSERT INTO healthcode.checkin (person_id, region, at) VALUES (%s, '330106', %L::timestamptz - interval '9 days')$$, :p_bj, :'bj_checkin_at')),
  (3, 'contact (person_id, source_case, kind, exposure_at)',
   format($$INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, '330106', 'secondary', %L, 'regress case 7')$$, :p_bj, :'bj_exposure_at'),
   format($$INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, '330106', 'secondary', %L, 'regress case 8')$$, :p_bj, :'bj_exposure_at')),
  (4, 'declaration (person_id, declared_at)',
   format($$INSERT INTO healthcode.declaration (person_id, region, declared_at) VALUES (%s, '330106', %L)$$, :p_bj, :'bj_declared_at'),
   format($$INSERT INTO healthcode.declaration (person_id, region, declared_at) VALUES (%s, '330106', %L::timestamptz - interval '1 second')$$, :p_bj, :'bj_declared_at')),
  (5, 'vaccination, ON CONFLICT DO NOTHING RETURNING',
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 2, now() - interval '1 day') ON CONFLICT DO NOTHING RETURNING id$$, :p_bj),
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 9, now() - interval '1 day') ON CONFLICT DO NOTHING RETURNING id$$, :p_bj)),
  (6, 'vaccination, ON CONFLICT DO UPDATE RETURNING',
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 2, now() - interval '1 day') ON CONFLICT ON CONSTRAINT vaccination_natural_key DO UPDATE SET product = 'x' RETURNING *$$, :p_bj),
   format($$INSERT INTO healthcode.vaccination (person_id, region, dose, given_at) VALUES (%s, '330106', 9, now() - interval '1 day') ON CONFLICT ON CONSTRAINT vaccination_natural_key DO UPDATE SET product = 'x' RETURNING *$$, :p_bj));
-- (a table partitioned by time names the partition of the probe's own
-- time, which the prober chose: told apart from nothing)
SELECT is(regexp_replace(pg_temp.outcome('regress_hc_op_hz', existing_q), '_(default|[0-9]{6}|[0-9]{8})"', '"', 'g'),
          regexp_replace(pg_temp.outcome('regress_hc_op_hz', absent_q), '_(default|[0-9]{6}|[0-9]{8})"', '"', 'g'),
          format('unique-key probe on %s of a Beijing person: the same answer whether the row exists or not', what))
  FROM key_probe ORDER BY n;
SELECT is(ARRAY(SELECT format('%s: %s', what, o) FROM key_probe, LATERAL (VALUES (pg_temp.outcome('regress_hc_op_hz', existing_q)),
                                                                            (pg_temp.outcome('regress_hc_op_hz', absent_q))) v(o)
                 WHERE o ~ ('110105|\m' || :p_bj || '\M')), '{}',
          'no answer to those probes names the foreign person or its region');

-- ---- the analyst ------------------------------------------------------------------------
SELECT is(ARRAY(SELECT c.relname::text FROM pg_class c
                 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'p', 'v')
                   AND (c.relrowsecurity OR c.relname IN ('code_event', 'issuer_key_secret', '_dump_marker', 'current_status', 'status_changes'))
                   AND c.relname <> 'region_scope'
                   AND pg_temp.outcome('regress_hc_analyst_zj', format('SELECT 1 FROM healthcode.%I LIMIT 1', c.relname))
                       NOT LIKE '42501 | permission denied for %'
                 ORDER BY 1), '{}',
          'the analyst reads no table (or per-person view) of the extension: 42501 for each');
-- (the daily job's rollup of the days there is data of, and today so far, for trends)
SELECT count(rollup_day(d::date)) AS rolled
  FROM generate_series((now() AT TIME ZONE 'Asia/Shanghai')::date - 20, (now() AT TIME ZONE 'Asia/Shanghai')::date,
                       interval '1 day') d \gset
CREATE TEMP TABLE analyst_view AS
SELECT c.relname::text AS relname,
       ARRAY(SELECT a.attname::text FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attnum > 0 AND a.atttypid = 'bigint'::regtype
                -- (ids, not counts: exposure_by_area's designation and venue)
                AND a.attname NOT IN ('risk_area', 'venue')
              ORDER BY a.attnum) AS counts
  FROM pg_class c
 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind = 'v'
   AND has_table_privilege('healthcode_analyst', c.oid, 'SELECT');
SELECT is(ARRAY(SELECT relname FROM analyst_view ORDER BY 1),
          ARRAY['codes_per_day', 'decisions_by_operator', 'exposure_by_area', 'findings_per_day', 'status_summary', 'status_totals',
                'tests_per_day', 'transitions_per_day', 'trends'], 'the analyst views');
SELECT ok(cardinality(pg_temp.rows_as('regress_hc_analyst_zj', format('SELECT * FROM healthcode.%I', relname))) > 0,
          format('%s shows the Zhejiang analyst rows to check', relname))
  FROM analyst_view WHERE relname <> 'decisions_by_operator' ORDER BY relname;   -- (roles_decisions.sql has those)
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', format($$SELECT region FROM healthcode.%I WHERE region NOT LIKE '33%%'$$, relname)),
          '{}', format('%s: only regions within the analyst''s scope', relname))
  FROM analyst_view ORDER BY relname;
-- the one rule: every count shown is a multiple of the cell size, and a
-- cell (its first count) below it is left out, not shown as NULL
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            format('SELECT v FROM healthcode.%I, LATERAL unnest(ARRAY[%s]) v WHERE v IS NULL OR v %% current_setting(''healthcode.min_cell_size'')::bigint <> 0',
                   relname, (SELECT string_agg(quote_ident(c), ', ') FROM unnest(counts) c))),
          '{}', format('%s: every count is shown, a multiple of healthcode.min_cell_size', relname))
  FROM analyst_view ORDER BY relname;
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            format('SELECT %I FROM healthcode.%I WHERE %I < current_setting(''healthcode.min_cell_size'')::bigint',
                   counts[1], relname, counts[1])),
          '{}', format('%s: no cell below healthcode.min_cell_size is shown, not even as NULL', relname))
  FROM analyst_view ORDER BY relname;
SELECT is(pg_temp.rows_as('regress_hc_analyst_none', format('SELECT * FROM healthcode.%I', relname)), '{}',
          format('%s: an analyst mapped to no region sees nothing', relname))
  FROM analyst_view ORDER BY relname;
-- the truth, as the owner counts it, to know the suppression had work to do
CREATE TEMP TABLE truth AS
SELECT s.region, (x.v).colour::text AS colour, count(*) AS people, count(*) FILTER (WHERE (x.v).vaccinated) AS vaccinated
  FROM person_status s CROSS JOIN LATERAL (SELECT status_at(s, now()) AS v OFFSET 0) x
 WHERE s.region LIKE '33%'
 GROUP BY 1, 2;
SELECT ok(EXISTS (SELECT 1 FROM truth WHERE people BETWEEN 2 AND 4), 'some status cells of Zhejiang hold 2 to 4 people');
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', 'SELECT region, colour, people FROM healthcode.status_summary'),
          ARRAY(SELECT format('%s|%s|%s', region, colour, (people + 2) / 5 * 5) FROM truth WHERE people >= 5 ORDER BY 1),
          'status_summary shows the analyst exactly the cells of 5 or more people, their counts rounded to fives');
-- totals that add up: computed before any cell is left out, then rounded
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', $$SELECT colour, people FROM healthcode.status_totals WHERE level = 'province'$$),
          ARRAY(SELECT format('%s|%s', colour, (sum(people)::bigint + 2) / 5 * 5) FROM truth GROUP BY colour HAVING sum(people) >= 5 ORDER BY 1),
          'status_totals: Zhejiang''s total of each colour counts the cells left out at the district too, rounded once');
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', $$SELECT DISTINCT level FROM healthcode.status_totals$$),
          '{city,district,province}', 'the Zhejiang analyst sees Zhejiang''s totals, not the nation''s');
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', $$SELECT DISTINCT level FROM healthcode.trends WHERE region NOT LIKE '33%'$$),
          '{}', 'nor the nation''s trends');
CREATE TEMP TABLE exact_rollup AS
SELECT level, region, measure, dim1, dim2, people FROM daily_rollup
 WHERE day = (now() AT TIME ZONE 'Asia/Shanghai')::date AND measure = 'status' AND region LIKE '33%';
SELECT is((SELECT count(*) FROM exact_rollup p
            WHERE p.level = 'province'
              AND p.people <> (SELECT sum(d.people) FROM exact_rollup d
                                WHERE d.level = 'district' AND d.dim1 = p.dim1 AND d.dim2 = p.dim2)), 0::bigint,
          'in the rollup, each province cell is the sum of its districts'' (before anything is left out)');
SELECT ok(EXISTS (SELECT 1 FROM exact_rollup d WHERE d.level = 'district' AND d.people BETWEEN 1 AND 4),
          'and some of those district cells are small enough to be left out of trends');
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj', $$SELECT dim1, dim2, people FROM healthcode.trends
                                                      WHERE measure = 'status' AND level = 'province'
                                                        AND day = (now() AT TIME ZONE 'Asia/Shanghai')::date$$),
          ARRAY(SELECT format('%s|%s|%s', dim1, dim2, (people + 2) / 5 * 5) FROM exact_rollup
                 WHERE level = 'province' AND people >= 5 ORDER BY 1),
          'trends show the analyst the province''s exact cells, rounded, the small ones left out');
-- differencing across views: everyone's first colour (transitions from
-- nothing, summed over the days) less the people of the colours shown now
-- would be the people of the cells left out; rounded, it never is
CREATE TEMP TABLE first_colours AS
SELECT region, sum(people) AS first FROM unnest(pg_temp.rows_as('regress_hc_analyst_zj',
         'SELECT region, people FROM healthcode.transitions_per_day WHERE from_colour IS NULL')) r,
       LATERAL (SELECT split_part(r, '|', 1) AS region, split_part(r, '|', 2)::bigint AS people) x
 GROUP BY 1;
CREATE TEMP TABLE shown_now AS
SELECT region, sum(people) AS now FROM unnest(pg_temp.rows_as('regress_hc_analyst_zj',
         'SELECT region, people FROM healthcode.status_summary')) r,
       LATERAL (SELECT split_part(r, '|', 1) AS region, split_part(r, '|', 2)::bigint AS people) x
 GROUP BY 1;
SELECT ok(EXISTS (SELECT 1 FROM truth t JOIN first_colours f USING (region) JOIN shown_now n USING (region)
                   WHERE t.people BETWEEN 1 AND 4),
          'some region has a cell left out and first colours and colours now to subtract');
SELECT is(ARRAY(SELECT t.region || '/' || t.colour FROM truth t
                  JOIN first_colours f USING (region) JOIN shown_now n USING (region)
                 WHERE t.people BETWEEN 1 AND 4
                   AND f.first - n.now = (SELECT sum(u.people) FROM truth u WHERE u.region = t.region AND u.people < 5)
                 ORDER BY 1), '{}',
          'first colours less colours now never give the people of the cells left out (a multiple of five, not 1 to 4)');
-- the analyst cannot lower the cell size
SET LOCAL ROLE regress_hc_analyst_zj;
SELECT throws_ok('SET healthcode.min_cell_size = 1', '42501', NULL, 'SET healthcode.min_cell_size = 1 by the analyst: 42501');
SELECT throws_ok($$SELECT set_config('healthcode.min_cell_size', '1', true)$$, '42501', NULL,
                 'set_config(''healthcode.min_cell_size'', ''1'') by the analyst: 42501');
RESET ROLE;
-- a suppressed count must not be derivable from a row: people minus vaccinated
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            $$SELECT region, colour, people - vaccinated FROM healthcode.status_summary
               WHERE people - vaccinated BETWEEN 1 AND current_setting('healthcode.min_cell_size')::bigint - 1$$), '{}',
          'status_summary: no small count of unvaccinated people follows from people - vaccinated');
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            $$SELECT day, region, people_tested - people_positive FROM healthcode.tests_per_day
               WHERE people_tested - people_positive BETWEEN 1 AND current_setting('healthcode.min_cell_size')::bigint - 1$$), '{}',
          'tests_per_day: no small count of people without a positive test follows from tested - positive');
-- codes count their holders: one person's six scans are a cell of one
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            $$SELECT people, codes FROM healthcode.codes_per_day WHERE region = '330109' AND event = 'verified'$$),
          '{}', 'codes_per_day: one person''s code scanned six times is left out (one holder, not six codes)');
-- EXPLAIN ANALYZE of a suppressed cell does not show its count
SELECT region AS cell_region, colour AS cell_colour, people AS cell_people
  FROM truth WHERE people BETWEEN 2 AND 4 ORDER BY people DESC, region, colour LIMIT 1 \gset
-- (the plan's nodes come from pg_temp.explain_nodes, lib/roles_common.psql)
-- the row counts a plan shows: actual rows and rows removed by filters
CREATE FUNCTION pg_temp.explain_rows(r name, q text) RETURNS numeric[] LANGUAGE sql AS $$
  SELECT ARRAY(SELECT DISTINCT (n ->> k)::numeric
                 FROM pg_temp.explain_nodes(r, q) n,
                      unnest(ARRAY['Actual Rows', 'Rows Removed by Filter', 'Rows Removed by Join Filter']) k
                WHERE n ? k ORDER BY 1)
$$;
-- the tables a plan scans
CREATE FUNCTION pg_temp.explain_tables(r name, q text) RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY(SELECT DISTINCT n ->> 'Relation Name' FROM pg_temp.explain_nodes(r, q) n
                WHERE n ? 'Relation Name' ORDER BY 1)
$$;
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            format($$SELECT people FROM healthcode.status_summary WHERE region = %L AND colour = %L$$, :'cell_region', :'cell_colour')),
          '{}', format('the cell %s/%s (%s people) is left out of status_summary', :'cell_region', :'cell_colour', :cell_people));
SELECT cardinality(pg_temp.rows_as('regress_hc_analyst_zj', 'SELECT * FROM healthcode.status_summary')) AS view_rows \gset
SELECT is(ARRAY(SELECT v FROM unnest(pg_temp.explain_rows('regress_hc_analyst_zj',
                   format($$SELECT * FROM healthcode.status_summary WHERE region = %L AND colour = %L$$, :'cell_region', :'cell_colour'))) v
                 WHERE v > :view_rows), '{}',
          format('EXPLAIN ANALYZE of that cell by the analyst counts only the view''s own rows (%s), never the people behind them', :view_rows));
SELECT is(pg_temp.explain_tables('regress_hc_analyst_zj',
            format($$SELECT * FROM healthcode.status_summary WHERE region = %L AND colour = %L$$, :'cell_region', :'cell_colour')),
          '{}', 'and its plan shows no scan of a table');
-- a function of the analyst's own in the WHERE clause must not see the rows behind the aggregates
SET LOCAL ROLE regress_hc_analyst_zj;
CREATE FUNCTION pg_temp.peek(region text, colour text) RETURNS boolean LANGUAGE plpgsql IMMUTABLE COST 0.0001 AS $$
BEGIN
  PERFORM set_config('regress.peeked', (coalesce(nullif(current_setting('regress.peeked', true), ''), '0')::integer + 1)::text, true);
  RETURN true;
END $$;
SELECT set_config('regress.peeked', '0', true) AS reset_peek \gset
SELECT count(*) AS peek_rows FROM healthcode.status_summary
 WHERE pg_temp.peek(region, colour::text) AND region = :'cell_region' \gset
SELECT current_setting('regress.peeked')::integer AS peek_calls \gset
RESET ROLE;
SELECT ok(:peek_calls <= :peek_rows,
          format('a function of the analyst in WHERE is called once per view row (%s rows), not per person (%s calls)',
                 :peek_rows, :peek_calls));

-- ---- the verifier ---------------------------------------------------------------------
SELECT code AS a_code FROM issued ORDER BY id LIMIT 1 \gset
SET LOCAL ROLE regress_hc_verifier;
SELECT is((healthcode.verify(:'a_code')).reason, 'ok', 'the verifier verifies a code');
SELECT is((SELECT reason FROM healthcode.checkpoint_verify(:'a_code', '330106')), 'ok',
          'the verifier verifies at a checkpoint');
SELECT throws_ok('SELECT * FROM healthcode.person', '42501', NULL, 'the verifier cannot read people');
SELECT throws_ok(format('SELECT * FROM healthcode.status(%s)', :p_hz), '42501', NULL,
                 'the verifier cannot read a person''s status');
SELECT throws_ok($$SELECT * FROM healthcode.health_info('33010619900101123X')$$, '42501', NULL,
                 'the verifier cannot look a person up');
SELECT throws_ok('SELECT * FROM healthcode.code_event', '42501', NULL, 'the verifier cannot read the code events');
SELECT throws_ok(format($$SELECT * FROM healthcode.checkpoint_verify(%L, '110105')$$, :'a_code'), '42501', NULL,
                 'the verifier cannot count a verification at a checkpoint of a region it is not mapped to');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
