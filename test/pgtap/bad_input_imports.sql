-- Bad input to the five imports, as a class: for every field of every
-- import, values of the wrong JSON type, out of range and outside the
-- field's vocabulary, each sent as record 2 after a good record 1. Each
-- case asserts the SQLSTATE, that the message names record 2 and the field,
-- that the message stays short whatever the value's size, and that nothing
-- was written (record 1 included). Then the whole-record and whole-batch
-- cases, the misfiling case that started this (an id of 1.5 rounded to
-- another person), and batches of 100,000 repeated keys, which must be
-- refused naming a repeating record (the duplicate check is linear; a
-- quadratic one would not finish within the suite's time).
BEGIN;
SET search_path = public, healthcode;
SELECT register_person(synthetic_identifier('330106', 700001), '330106') AS p1 \gset
SELECT register_person(synthetic_identifier('330106', 700002), '330106') AS p2 \gset

-- Two good records per import (their keys differ), as jsonb for editing.
CREATE TEMP TABLE good (import text, what text, tbl text, n integer, rec jsonb);
INSERT INTO good VALUES
  ('import_travel', 'travel', 'travel', 1, jsonb_build_object('person_id', :p1, 'place', '330106',
     'at', now() - interval '1 day', 'source', 'telecom', 'venue', 'shop')),
  ('import_travel', 'travel', 'travel', 2, jsonb_build_object('person_id', :p2, 'place', '330102',
     'at', now() - interval '2 days', 'source', 'transport', 'venue', 'bus')),
  ('import_test_results', 'test result', 'test_result', 1, jsonb_build_object('person_id', :p1, 'kind', 'pcr',
     'sampled_at', now() - interval '1 day', 'result', 'negative', 'lab', 'bad input lab', 'sample_id', 'B-1')),
  ('import_test_results', 'test result', 'test_result', 2, jsonb_build_object('person_id', :p2, 'kind', 'antigen',
     'sampled_at', now() - interval '1 day', 'result', 'negative', 'lab', 'bad input lab', 'sample_id', 'B-2')),
  ('import_vaccinations', 'vaccination', 'vaccination', 1, jsonb_build_object('person_id', :p1, 'dose', 1,
     'given_at', now() - interval '90 days', 'product', 'X')),
  ('import_vaccinations', 'vaccination', 'vaccination', 2, jsonb_build_object('person_id', :p2, 'dose', 1,
     'given_at', now() - interval '80 days', 'product', 'X')),
  ('import_contacts', 'contact', 'contact', 1, jsonb_build_object('person_id', :p1, 'kind', 'secondary',
     'exposure_at', now() - interval '1 day', 'source_case', 'bad input case 1')),
  ('import_contacts', 'contact', 'contact', 2, jsonb_build_object('person_id', :p2, 'kind', 'close',
     'exposure_at', now() - interval '1 day', 'source_case', 'bad input case 2')),
  ('import_risk_areas', 'risk area', 'risk_area', 1, jsonb_build_object('division', '330106', 'level', 'medium',
     'effective_from', now() - interval '1 day', 'effective_until', now() + interval '5 days', 'bulletin', 'b1')),
  ('import_risk_areas', 'risk area', 'risk_area', 2, jsonb_build_object('division', '330102', 'level', 'high',
     'effective_from', now() - interval '2 days', 'effective_until', now() + interval '5 days', 'bulletin', 'b2'));

-- The bad values: (import, field, value as JSON text or NULL for "absent",
-- SQLSTATE). Fields named by person swap "person_id" for "identifier".
CREATE TEMP TABLE bad (import text, field text, value text, state text);
INSERT INTO bad
SELECT i, f, v, s FROM (VALUES
  -- the person, in every import that has one
  ('person_id', '1.5', '22P02'), ('person_id', '"7"', '22P02'), ('person_id', 'true', '22P02'),
  ('person_id', '0', '22003'), ('person_id', '-3', '22003'), ('person_id', '99999999999999999999', '22003'),
  ('person_id', '1e3', '22P02'), ('person_id', '[1]', '22P02'),
  ('identifier', '12', '22P02'), ('identifier', '""', '22023'), ('identifier', '{}', '22P02'),
  ('identifier', format('"%s"', repeat('9', 100000)), '22023')) AS v(f, v, s),
  unnest(ARRAY['import_travel', 'import_test_results', 'import_vaccinations', 'import_contacts']) i
UNION ALL
SELECT * FROM (VALUES
  ('import_travel', 'place', NULL, '22023'), ('import_travel', 'place', '"4601"', '22023'),
  ('import_travel', 'place', '"000000"', '22023'), ('import_travel', 'place', '"990000"', '22023'),
  ('import_travel', 'place', '460105', '22P02'),
  ('import_travel', 'at', NULL, '22023'), ('import_travel', 'at', '"soon"', '22007'),
  ('import_travel', 'at', '"2020-13-01T10:00:00+08:00"', '22008'), ('import_travel', 'at', '"infinity"', '22023'),
  ('import_travel', 'at', '"2999-01-01T08:00:00+08:00"', '22023'), ('import_travel', 'at', '"2019-11-30T08:00:00+08:00"', '22023'),
  ('import_travel', 'at', '1650000000', '22P02'),
  ('import_travel', 'source', '"gps"', '22023'), ('import_travel', 'source', '["telecom"]', '22P02'),
  ('import_travel', 'venue', '{"name": "x"}', '22P02'), ('import_travel', 'venue', format('"%s"', repeat('v', 5000)), '22023'),
  ('import_test_results', 'kind', NULL, '22023'), ('import_test_results', 'kind', '"blood"', '22023'),
  ('import_test_results', 'sampled_at', NULL, '22023'), ('import_test_results', 'sampled_at', '"12:00 last tuesday"', '22007'),
  ('import_test_results', 'sampled_at', '"2999-01-01"', '22023'),
  ('import_test_results', 'result', NULL, '22023'), ('import_test_results', 'result', '"unclear"', '22023'),
  ('import_test_results', 'result', 'false', '22P02'),
  ('import_test_results', 'lab', NULL, '22023'), ('import_test_results', 'lab', '""', '22023'),
  ('import_test_results', 'sample_id', NULL, '22023'), ('import_test_results', 'sample_id', '""', '22023'),
  ('import_test_results', 'sample_id', '42', '22P02'),
  ('import_vaccinations', 'dose', NULL, '22023'), ('import_vaccinations', 'dose', '"two"', '22P02'),
  ('import_vaccinations', 'dose', '1.5', '22P02'), ('import_vaccinations', 'dose', '11', '22003'),
  ('import_vaccinations', 'dose', '0', '22003'),
  ('import_vaccinations', 'given_at', NULL, '22023'), ('import_vaccinations', 'given_at', '"2021-02-30"', '22008'),
  ('import_vaccinations', 'product', '7', '22P02'),
  ('import_contacts', 'kind', NULL, '22023'), ('import_contacts', 'kind', '"casual"', '22023'),
  ('import_contacts', 'exposure_at', NULL, '22023'), ('import_contacts', 'exposure_at', '"soon"', '22007'),
  ('import_contacts', 'exposure_at', '"2022-01-01T10:00:00 Mars/Olympus"', '22023'),
  ('import_contacts', 'source_case', NULL, '22023'), ('import_contacts', 'source_case', '""', '22023'),
  ('import_risk_areas', 'division', NULL, '22023'), ('import_risk_areas', 'division', '"33"', '22023'),
  ('import_risk_areas', 'division', '"000000"', '22023'),
  ('import_risk_areas', 'level', NULL, '22023'), ('import_risk_areas', 'level', '"severe"', '22023'),
  ('import_risk_areas', 'effective_from', NULL, '22023'), ('import_risk_areas', 'effective_from', '"0001-01-01T00:00:00+08:00"', '22023'),
  ('import_risk_areas', 'effective_from', '"294276-01-01"', '22023'), ('import_risk_areas', 'effective_from', '"-infinity"', '22023'),
  ('import_risk_areas', 'effective_until', '"2200-01-01T00:00:00+08:00"', '22023'),
  ('import_risk_areas', 'effective_until', '"01/02/03/04"', '22007'),
  ('import_risk_areas', 'bulletin', '[]', '22P02')) AS v(i, f, v, s);

-- one test a bad value, and the whole-record and batch tests below
SELECT plan((SELECT count(*) FROM bad)::integer + 18);

-- Runs an import of records 1 and 2 (2 with field set to value, or
-- without it) and reports 'SQLSTATE | names record 2 and field | short | rows written'.
CREATE FUNCTION pg_temp.outcome(b bad) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  g1 jsonb := (SELECT g.rec FROM good g WHERE g.import = b.import AND g.n = 1);
  g2 jsonb := (SELECT g.rec FROM good g WHERE g.import = b.import AND g.n = 2);
  what text := (SELECT g.what FROM good g WHERE g.import = b.import AND g.n = 1);
  tbl text := (SELECT g.tbl FROM good g WHERE g.import = b.import AND g.n = 1);
  records text;
  before bigint;
  after bigint;
  state text;
  msg text;
BEGIN
  IF b.field = 'identifier' THEN
    g2 := g2 - 'person_id';
  END IF;
  g2 := g2 - b.field;
  -- the bad value goes in as text, so that any JSON (a huge number too) arrives as written
  records := format('[%s, %s]', g1::text,
                    CASE WHEN b.value IS NULL THEN g2::text
                         ELSE rtrim(g2::text, '}') || CASE WHEN g2 = '{}' THEN '' ELSE ', ' END
                              || format('%s: %s}', to_json(b.field), b.value) END);
  EXECUTE format('SELECT count(*) FROM healthcode.%I', tbl) INTO before;
  BEGIN
    EXECUTE format('SELECT healthcode.%I(%L)', b.import, records);
    state := 'ok';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  END;
  EXECUTE format('SELECT count(*) FROM healthcode.%I', tbl) INTO after;
  RETURN concat_ws(' | ', state,
    CASE WHEN msg LIKE format('%s import: record 2, field "%s": %%', what, b.field) THEN 'names record and field'
         ELSE coalesce(msg, 'no message') END,
    CASE WHEN length(msg) <= 300 THEN 'short' ELSE 'long: ' || length(msg) END,
    (after - before) || ' written');
END $$;

SELECT is(pg_temp.outcome(b), b.state || ' | names record and field | short | 0 written',
          format('%s, field %s = %s: %s, naming record 2 and the field', b.import, b.field,
                 coalesce(left(b.value, 30), 'absent'), b.state))
  FROM bad b ORDER BY b.import, b.field, b.value;

-- ---- whole records and batches ---------------------------------------------------
CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s, "place": "330106", "at": "%s"}, 7]')$$,
                                  :p1, now() - interval '1 hour')),
          '22023: travel import: record 2 is not a JSON object', 'a record that is not an object is named');
SELECT is(pg_temp.error_of($$SELECT import_contacts('{"person_id": 1}')$$),
          '22023: contact import: records must be a JSON array', 'records that are not an array');
SELECT is(pg_temp.error_of($$SELECT import_vaccinations(NULL)$$),
          '22023: vaccination import: records must be a JSON array', 'NULL records');
SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s, "identifier": "330106199001014326", "place": "330106", "at": "%s"}]')$$,
                                  :p1, now() - interval '1 hour')),
          '22023: travel import: record 1 names its person twice, by "person_id" and by "identifier"',
          'a record naming its person twice is refused');
SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"place": "330106", "at": "%s"}]')$$, now() - interval '1 hour')),
          '22023: travel import: record 1 names no person', 'a record naming nobody is refused');
SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s, "place": "330106", "plcae": "330106", "at": "%s"}]')$$,
                                  :p1, now() - interval '1 hour')),
          '22023: travel import: record 1, field "plcae": not a field of this import', 'an unknown field is refused');
SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s, "place": "330106", "place": "330102", "at": "%s"}]')$$,
                                  :p1, now() - interval '1 hour')),
          '22023: travel import: record 1, field "place": given twice', 'a field given twice is refused');
SELECT is(pg_temp.error_of(format($$SELECT import_vaccinations('[{"person_id": %s, "dose": 1, "given_at": "%s"}]')$$,
                                  9223372036854775807, now() - interval '1 hour')),
          'P0002: vaccination import: record 1 names no person registered in the regions the caller acts for',
          'an unknown person id is refused (and the message does not say whether it exists elsewhere)');
SELECT is(pg_temp.error_of(format($$SELECT import_risk_areas('[{"division": "330106", "level": "high", "effective_from": "%s", "effective_until": "%s"}]')$$,
                                  now(), now() - interval '1 day')),
          '22023: risk area import: record 1, field "effective_until": not after effective_from',
          'a designation ending before it starts is refused');
SELECT ok(length(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s, "place": "%s", "at": "%s"}]')$$,
                                  :p1, repeat('3', 1000000), now()))) < 300,
          'a million-character value comes back shortened in the message');

-- The misfiling that started this: 1.5 must never become person 2.
SELECT register_person(synthetic_identifier('330106', 700003), '330106') AS m1 \gset
SELECT register_person(synthetic_identifier('330106', 700004), '330106') AS m2 \gset
SELECT is(pg_temp.error_of(format($$SELECT import_travel('[{"person_id": %s.5, "place": "330106", "at": "%s"}]')$$,
                                  :m1, now() - interval '1 hour')) ~ '^22P02: travel import: record 1, field "person_id": \d+\.5 is not an integer',
          true, 'an id with a fraction is refused, not rounded');
SELECT is((SELECT count(*) FROM travel WHERE person_id IN (:m1, :m2)), 0::bigint, 'and no stay is filed on anyone');

-- Good records still go in, named by id and by identifier, from json and from text.
SELECT is(import_travel(json_build_array(json_build_object('person_id', :m1, 'place', '330106', 'at', now() - interval '1 hour'),
                                         json_build_object('identifier', synthetic_identifier('330106', 700004), 'place', '330106', 'at', now() - interval '1 hour'))),
          2, 'good records by id and by identifier are imported');
SELECT is((SELECT array_agg(person_id ORDER BY person_id) FROM travel WHERE person_id IN (:m1, :m2)),
          (SELECT array_agg(m ORDER BY m) FROM unnest(ARRAY[:m1, :m2]::bigint[]) m),
          'each stay is filed on the person its record names');

-- 100,000 records repeating one key: refused, naming a repeating record
-- (a quadratic check would take hours here).
SELECT is(pg_temp.error_of(format('SELECT import_test_results(%L)', (
            SELECT json_agg(json_build_object('person_id', :p1, 'kind', 'pcr', 'sampled_at', now() - interval '1 hour',
                                              'result', 'negative', 'lab', 'repeat lab', 'sample_id', 'R'))
              FROM generate_series(1, 100000)))) ~ '^22023: test result import: record 2 repeats record 1 \(same lab and sample_id\)',
          true, '100,000 test results repeating one lab and sample id: refused naming the repeat');
SELECT is(pg_temp.error_of(format('SELECT import_risk_areas(%L)', (
            SELECT json_agg(json_build_object('division', '330106', 'level', 'high', 'effective_from', date_trunc('day', now())))
              FROM generate_series(1, 100000)))) ~ '^22023: risk area import: record 2 repeats record 1 \(same division and effective_from\)',
          true, '100,000 designations repeating one division and start: refused naming the repeat');
SELECT is((SELECT count(*) FROM test_result WHERE lab = 'repeat lab'), 0::bigint, 'nothing of the repeated batch was written');

-- Whatever bytes arrive: a good batch with 1 to 4 characters replaced by
-- JSON's own (quotes, brackets, digits, signs, escapes), 400 times. Each
-- import either takes it or refuses it with a data exception (class 22),
-- naming a record or saying the JSON is wrong; the backend never crashes
-- (a crash would end this session and fail the plan). Each attempt is
-- rolled back.
SELECT setseed(0.1);
CREATE FUNCTION pg_temp.mutated_outcome(batch text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  state text;
  msg text;
BEGIN
  BEGIN
    PERFORM healthcode.import_travel(batch::json);
    RAISE EXCEPTION 'undo' USING ERRCODE = 'HCOK0';
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  END;
  RETURN CASE WHEN state = 'HCOK0' THEN 'ok'
              WHEN (state LIKE '22%' OR state = 'P0002') AND (msg ~ '^travel import: record \d+' OR msg ~ 'JSON' OR msg ~ 'json') THEN 'refused'
              ELSE state || ': ' || msg END;
END $$;
SELECT is((SELECT array_agg(DISTINCT o) FILTER (WHERE o NOT IN ('ok', 'refused')) FROM (
             SELECT pg_temp.mutated_outcome(m) AS o
               FROM (SELECT (SELECT string_agg(CASE WHEN random() < 4.0 / length(b.t)
                                                    THEN substr('"{}[],:0123456789.-+eE\ntrue', 1 + (random() * 27)::int, 1)
                                                    ELSE c END, '' ORDER BY i)
                               FROM regexp_split_to_table(b.t, '') WITH ORDINALITY x(c, i) WHERE g > 0) AS m
                       FROM generate_series(1, 400) g,
                            (SELECT json_build_array(
                                      json_build_object('person_id', :p1, 'place', '330106', 'at', now() - interval '3 hours'),
                                      json_build_object('identifier', 'bad input two', 'place', '330102',
                                                        'at', now() - interval '2 hours', 'source', 'transport'))::text AS t) b) q
              WHERE m IS NOT NULL) r),
          NULL, '400 randomly mutated batches: each taken or refused with a data exception naming a record or the JSON');

SELECT * FROM finish();
ROLLBACK;
