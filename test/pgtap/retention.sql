-- Retention (issue 13, point 5): every table that names a person has a
-- rule (retention_plan), apply_retention() removes exactly what no rule
-- keeps any more, and since the status engine applies the same national
-- evidence_kept_days, nothing it removes changes a colour; the stored
-- statuses keep no evidence the tables no longer hold; which travel
-- partitions exist tells a scoped role nothing about other regions' data.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(33);

-- The nation keeps evidence 30 days (a version in force from long ago on:
-- the built-in default, 90, is superseded and counts no more).
INSERT INTO policy (region, valid_from, evidence_kept_days, description_zh, description_en)
VALUES ('000000', now() - interval '1000 days', 30, '保留30天', 'evidence kept 30 days');
SELECT is(_national_kept_days(now()), 30, 'the national versions in force from now on keep evidence 30 days');
SELECT throws_ok($$INSERT INTO healthcode.policy (region, valid_from, evidence_kept_days, description_zh, description_en)
                   VALUES ('330100', now(), 366, '杭州', 'Hangzhou keeps a year')$$,
                 '23514', NULL, 'a regional version cannot set how long evidence is kept (national only)');

CREATE FUNCTION pg_temp.person(name text) RETURNS bigint LANGUAGE sql AS $$
  SELECT person_id FROM healthcode.declare(healthcode.synthetic_identifier('330106', abs(hashtext(name))), '330106', name)
$$;
CREATE FUNCTION pg_temp.import(what text, rows jsonb) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE n integer;
BEGIN
  EXECUTE format('SELECT healthcode.import_%s($1::json)', what) INTO n USING rows;
  RETURN n;
END $$;
-- everyone's status as readers see it
CREATE FUNCTION pg_temp.statuses() RETURNS TABLE (person_id bigint, colour text, valid_until timestamptz, reasons jsonb)
LANGUAGE sql AS $$
  SELECT p.id, s.colour::text, s.valid_until, s.reasons FROM healthcode.person p CROSS JOIN LATERAL healthcode.status(p.id) s
$$;

-- an old positive test (40 days: kept no more), a recent one (10 days)
SELECT pg_temp.person('old positive') AS p_old \gset
SELECT pg_temp.person('new positive') AS p_new \gset
SELECT pg_temp.import('test_results', jsonb_build_array(
  jsonb_build_object('person_id', :p_old, 'kind', 'pcr', 'sampled_at', now() - interval '40 days', 'result', 'positive',
                     'lab', 'retention lab', 'sample_id', 'R-old'),
  jsonb_build_object('person_id', :p_new, 'kind', 'pcr', 'sampled_at', now() - interval '10 days', 'result', 'positive',
                     'lab', 'retention lab', 'sample_id', 'R-new'))) AS n \gset
SELECT is((SELECT colour::text FROM status(:p_old)), 'green',
          'a positive test older than evidence_kept_days counts no more: green (the engine applies the national rule)');
SELECT is((SELECT colour::text || ' ' || valid_until FROM status(:p_new)),
          'red ' || (SELECT sampled_at + interval '30 days' FROM test_result WHERE sample_id = 'R-new'),
          'a positive test 10 days old: red, at most until 30 days after it was sampled');
-- check-ins, contacts, declarations, findings, corrections, code events, history: old and recent
INSERT INTO checkin (person_id, region, at, temperature)
SELECT :p_new, '330106', now() - d * interval '1 day', 36.5 FROM unnest(ARRAY[40, 35, 5, 4]) d;
-- one at the very start of the calendar day the cut falls in: older than
-- the cut, but it may release a trigger of its day made after the cut
SELECT pg_temp.person('first kept day') AS p_day \gset
INSERT INTO checkin (person_id, region, at, temperature)
VALUES (:p_day, '330106', date_trunc('day', (now() - interval '30 days') AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai', 36.5),
       (:p_day, '330106', date_trunc('day', (now() - interval '31 days') AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai', 36.5);
SELECT pg_temp.import('contacts', jsonb_build_array(
  jsonb_build_object('person_id', :p_old, 'kind', 'secondary', 'exposure_at', now() - interval '20 days', 'source_case', 'case R1'),
  jsonb_build_object('person_id', :p_old, 'kind', 'secondary', 'exposure_at', now() - interval '5 days', 'source_case', 'case R2'))) AS n \gset
INSERT INTO declaration (person_id, region, declared_at, symptoms)
VALUES (:p_new, '330106', now() - interval '40 days', '{cough}'),
       (:p_new, '330106', now() - interval '45 days', '{}'),
       (:p_new, '330106', now() - interval '2 days', '{}');
-- a finding of 5 days ago on the 45-day-old declaration: the finding is kept, and so is its declaration
INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, found_at)
SELECT :p_new, '330106', d.id, 'undeclared_fever', '{}', now() - interval '5 days'
  FROM declaration d WHERE d.person_id = :p_new AND d.declared_at < now() - interval '44 days';
INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, found_at)
SELECT :p_new, '330106', d.id, 'undeclared_contact', '{}', now() - interval '20 days'
  FROM declaration d WHERE d.person_id = :p_new AND d.declared_at < now() - interval '44 days';
INSERT INTO correction (person_id, region, evidence, evidence_id, claim, requested_at, status, decided_by, decided_at, decision_reason)
SELECT :p_new, '330106', 'declaration', d.id, 'old claim', now() - interval '40 days', 'rejected', 'op', now() - interval '39 days', 'no'
  FROM declaration d WHERE d.person_id = :p_new AND d.declared_at > now() - interval '3 days' ORDER BY d.declared_at LIMIT 1;
INSERT INTO correction (person_id, region, evidence, evidence_id, claim, requested_at)
SELECT :p_new, '330106', 'declaration', d.id, 'old pending claim', now() - interval '40 days'
  FROM declaration d WHERE d.person_id = :p_new AND d.declared_at > now() - interval '3 days' ORDER BY d.declared_at LIMIT 1;
INSERT INTO correction (person_id, region, evidence, evidence_id, claim, requested_at)
SELECT :p_new, '330106', 'declaration', d.id, 'new claim', now() - interval '1 day'
  FROM declaration d WHERE d.person_id = :p_new AND d.declared_at > now() - interval '3 days' ORDER BY d.declared_at LIMIT 1;
INSERT INTO code_event (at, event, region, code_region, colour, outcome, holder)
VALUES (now() - interval '40 days', 'issued', '330106', '330106', 'green', 'ok', '\x0102030405060708'),
       (now() - interval '1 day', 'issued', '330106', '330106', 'green', 'ok', '\x0102030405060709');
INSERT INTO status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
VALUES (:p_old, '330106', now() - interval '40 days', 'green', 'red',
        '[{"rule": "positive_test", "at": "2026-01-01", "place": null}]', 'test_result insert');

-- what a scoped operator sees of travel's partitions, after the daily job
-- made the days kept, before and after imports of other regions' stays
-- (one older than the days kept)
SELECT create_travel_partitions() >= 0 AS made \gset
CREATE TEMP TABLE parts_before AS
SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'healthcode.travel'::regclass;
GRANT SELECT ON parts_before TO PUBLIC;
SELECT person_id AS p_bj FROM declare(synthetic_identifier('110105', 77), '110105', 'Beijing visitor') \gset
SELECT is(pg_temp.import('travel', jsonb_build_array(
            jsonb_build_object('person_id', :p_bj, 'place', '110105', 'at', now() - interval '3 days'),
            jsonb_build_object('person_id', :p_bj, 'place', '110105', 'at', now() - interval '60 days'))), 1,
          'an import keeps the stay of 3 days ago and leaves out the one older than the first day kept');
SELECT is((SELECT count(*) FROM travel WHERE person_id = :p_bj AND at < now() - interval '50 days'), 0::bigint,
          'the stay older than the days kept was not written');
SET LOCAL ROLE regress_hc_op_hz;
SELECT is(ARRAY(SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                 WHERE i.inhparent = 'healthcode.travel'::regclass ORDER BY 1),
          ARRAY(SELECT relname FROM parts_before ORDER BY 1),
          'the partitions a scoped operator reads in the catalogs are the same before and after another region imported: which days exist tells nothing');
RESET ROLE;
SELECT is((SELECT count(*) FROM generate_series(_travel_first_day(), (now() AT TIME ZONE 'Asia/Shanghai')::date + 7, interval '1 day') g
            WHERE to_regclass('healthcode.travel_' || to_char(g, 'YYYYMMDD')) IS NULL), 0::bigint,
          'every day kept has its partition, from the first day kept to a week ahead');
SELECT is((SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'healthcode.travel'::regclass
              AND to_date(substr(c.relname, 8), 'YYYYMMDD') < _travel_first_day()), 0::bigint,
          'no partition of a day before the first day kept (an old stay makes none)');

-- ---- the rules -----------------------------------------------------------------------------
SELECT is(ARRAY(SELECT c.relname::text
                  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'person_id' AND NOT a.attisdropped
                 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                EXCEPT SELECT tbl FROM retention_plan() ORDER BY 1), '{}'::text[],
          'every table that names a person has its retention rule in retention_plan()');
SELECT ok((SELECT removes_before FROM retention_plan() WHERE tbl = 'test_result') BETWEEN now() - interval '30 days 1 minute'
                                                                                     AND now() - interval '30 days',
          'retention_plan: test results are kept 30 days, as the nation says');
SELECT ok((SELECT removes_before FROM retention_plan() WHERE tbl = 'contact') BETWEEN now() - interval '14 days 1 minute'
                                                                                 AND now() - interval '14 days',
          'retention_plan: contacts (windowed) for the national window, 14 days');

-- ---- applying them -------------------------------------------------------------------------
SELECT ok((SELECT bool_or(_inputs_hold_expired(inputs, _evidence_horizon(now()), _evidence_kept_from(now())))
             FROM person_status WHERE person_id = :p_old),
          'before: the stored status of the old positive still holds the test among its inputs');
CREATE TEMP TABLE before AS SELECT * FROM pg_temp.statuses();
CREATE TEMP TABLE computed_before AS SELECT person_id, computed_at FROM person_status;
SELECT throws_ok($$SET LOCAL ROLE regress_hc_op_hz; CALL healthcode.apply_retention(NULL, 10000, false)$$, '42501', NULL,
                 'an operator cannot apply retention');
RESET ROLE;
SET LOCAL ROLE regress_hc_admin;
CALL apply_retention(NULL, 2, false) \gset
RESET ROLE;
-- (rows deleted, or, where the month partitions had been made under the
-- longer default, dropped with their month: counted as partitions)
SELECT is(((:'removed'::jsonb ->> 'test_result')::int >= 1 AND (:'removed'::jsonb ->> 'checkin')::int >= 2)
          OR (:'removed'::jsonb ->> 'partitions')::int >= 2, true,
          'apply_retention (as an admin, two rows a batch) reports what it removed, per table');
SELECT is(ARRAY(SELECT sample_id FROM test_result WHERE lab = 'retention lab' ORDER BY 1), ARRAY['R-new'],
          'test results: the one older than 30 days is gone, the recent one kept');
SELECT is(ARRAY(SELECT (now() - at) > interval '30 days' FROM checkin WHERE person_id = :p_new ORDER BY at), ARRAY[false, false],
          'check-ins: those of 40 and 35 days ago are gone, those of 5 and 4 days ago kept');
SELECT is(ARRAY(SELECT source_case FROM contact WHERE person_id = :p_old ORDER BY 1), ARRAY['case R2'],
          'contacts: the one beyond the 14-day window is gone');
SELECT is(ARRAY(SELECT kind FROM audit_finding WHERE person_id = :p_new ORDER BY 1), ARRAY['undeclared_fever'],
          'audit findings: the one of 20 days ago (beyond the window) is gone, the one of 5 days ago kept');
SELECT is(ARRAY(SELECT (now() - declared_at) > interval '44 days' FROM declaration WHERE person_id = :p_new ORDER BY declared_at),
          ARRAY[true, false, false],
          'declarations: the 40-day-old one is gone; the 45-day-old one stays while its finding is kept (and the recent two)');
SELECT is(ARRAY(SELECT claim FROM correction WHERE person_id = :p_new ORDER BY 1), ARRAY['new claim', 'old pending claim'],
          'corrections: the request decided 40 days ago is gone; one still pending stays until it is decided');
SELECT is(ARRAY(SELECT at::text FROM checkin WHERE person_id = :p_day),
          ARRAY[(date_trunc('day', (now() - interval '30 days') AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai')::text],
          'check-ins go whole days: the one at the start of the day the cut falls in stays, the day before''s goes');
SELECT is((SELECT count(*) FROM code_event WHERE at < now() - interval '30 days'), 0::bigint,
          'code events: none older than 30 days');
SELECT is((SELECT count(*) FROM code_event WHERE holder = '\x0102030405060709'), 1::bigint, 'code events: the recent one kept');
SELECT is((SELECT count(*) FROM status_history WHERE at < now() - interval '30 days'), 0::bigint,
          'history: no entry older than 30 days (with its places and dates)');
SELECT is((SELECT count(*) FROM person_status
            WHERE inputs IS NULL OR _inputs_hold_expired(inputs, _evidence_horizon(now()), _evidence_kept_from(now()))),
          0::bigint, 'stored statuses: none holds evidence no longer kept, nor lacks its inputs');
SELECT is((SELECT count(*) FROM person_status s
            WHERE EXISTS (SELECT FROM jsonb_array_elements(s.reasons) r
                           WHERE (r ->> 'at')::timestamptz < _evidence_kept_from(now()))), 0::bigint,
          'stored statuses: no reason names evidence older than what is kept');
SELECT is((SELECT count(*) FROM person_status s JOIN computed_before b USING (person_id)
            WHERE s.computed_at <> b.computed_at AND s.valid_until > now()), 0::bigint,
          'no status whose current segment lasts was recalculated: deleting evidence no longer kept recalculates nobody, the inputs are trimmed in place');
SELECT is_empty($$SELECT * FROM pg_temp.statuses() EXCEPT SELECT * FROM before$$,
                'nothing retention removed changed anyone''s colour, validity or reasons');
SELECT is_empty('SELECT * FROM check_consistency()', 'check_consistency() finds nothing after retention');
-- a second run has nothing left to do
CALL apply_retention(NULL, 10000, false) \gset
SELECT is((SELECT sum(value::int) FROM jsonb_each_text(:'removed'::jsonb) WHERE key NOT LIKE 'travel_partitions%')::bigint, 0::bigint,
          'a second run removes nothing');

-- ---- a region's operator cannot widen it ---------------------------------------------------
SELECT throws_ok($$SET LOCAL ROLE regress_hc_op_hz;
                   INSERT INTO healthcode.policy (region, valid_from, evidence_kept_days, description_zh, description_en)
                   VALUES ('330100', now(), 3660, '杭州', 'Hangzhou keeps ten years')$$,
                 '23514', NULL, 'a city operator cannot make evidence be kept longer (the column is national only)');
RESET ROLE;
SELECT is(_national_kept_days(now()), 30, 'and the nation''s 30 days stand');

SELECT * FROM finish();
ROLLBACK;
