-- bench/import.sql — the data of bench/import.sh: BENCH_PEOPLE synthetic
-- people (healthcode.generate_population, no itineraries), and the batches
-- it imports, each written both as a JSON array (one record a line, for
-- the import functions) and as a COPY file of the same rows:
--   import_travel.json / .copy   :records stays in the last three days;
--                                 :risky_share of them in a medium- or
--                                 high-risk district (recalculated people)
--   import_tests.json / .copy    :tests lab results in the last three days
--   import_dup_tests_<p>_<n>.json  :dup_small and :dup_large test results
--   import_dup_areas_<p>_<n>.json  that repeat a key (lab, sample_id), resp.
--                                 bulletins that repeat (division,
--                                 effective_from): all one key (p = same), or
--                                 the second half repeating the first (half)
-- Files go to :'dir' (written by the server). Times are ISO 8601 with the
-- +08:00 offset, as the sources send them.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
CREATE SCHEMA bench;

SELECT * FROM healthcode.generate_population(:people, stays_per_person => 0, days => 14, seed => 0.31);
SELECT healthcode.create_travel_partitions(((now() - interval '4 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                           (now() AT TIME ZONE 'Asia/Shanghai')::date);

CREATE TABLE bench.people AS
SELECT row_number() OVER (ORDER BY id) AS k, id, region FROM healthcode.person;
CREATE UNIQUE INDEX ON bench.people (k);
ANALYZE bench.people;

CREATE FUNCTION bench.iso(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE
RETURN to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD"T"HH24:MI:SS') || '+08:00';

-- The districts of generate_population: 330106 and 110105 are high risk,
-- 310104 medium (440305's designation ended before the last three days).
SELECT setseed(0.23);
CREATE TABLE bench.travel_src AS
WITH d AS (
  SELECT ARRAY['330102', '330105', '330108', '330110', '330203', '110101', '110108',
               '310101', '310115', '440103', '440106', '440305'] AS low,
         ARRAY['330106', '110105', '310104'] AS risky
), s AS (
  SELECT g AS ord, 1 + floor(random() * :people)::bigint AS k, random() AS r1, random() AS r2,
         random() AS r3, random() AS r4
    FROM generate_series(1, :records) g
)
SELECT s.ord, p.id AS person_id, p.region,
       CASE WHEN s.r1 < :risky_share THEN d.risky[1 + floor(s.r2 * 3)::int]
            WHEN s.r3 < 0.7 AND p.region = ANY (d.low) THEN p.region
            ELSE d.low[1 + floor(s.r2 * 12)::int] END AS place,
       bench.iso(date_trunc('second', now() - interval '5 minutes' - s.r4 * interval '3 days')) AS at,
       'telecom' AS source
  FROM s JOIN bench.people p USING (k) CROSS JOIN d;
-- COPY must not meet a repeated stay (the import would skip it)
DELETE FROM bench.travel_src a USING bench.travel_src b
 WHERE a.ord > b.ord AND a.person_id = b.person_id AND a.at = b.at AND a.place = b.place;

CREATE TABLE bench.tests_src AS
SELECT g AS ord, p.id AS person_id, p.region,
       CASE WHEN random() < 0.8 THEN 'pcr' ELSE 'antigen' END AS kind,
       bench.iso(date_trunc('second', now() - interval '5 minutes' - random() * interval '3 days')) AS sampled_at,
       CASE WHEN random() < 0.002 THEN 'positive' ELSE 'negative' END AS result,
       'bench lab ' || (g % 20) AS lab, 'B' || g AS sample_id
  FROM (SELECT g, 1 + floor(random() * :people)::bigint AS k FROM generate_series(1, :tests) g) s
  JOIN bench.people p USING (k);

-- One JSON array, one record a line: "[" before the first, "," after each
-- but the last, "]" after it (nothing here needs COPY's text escapes).
CREATE FUNCTION bench.write_json(src text, dir text, name text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$COPY (SELECT CASE WHEN ord = 1 THEN '[' ELSE '' END || rec
                                 || CASE WHEN ord = count(*) OVER () THEN ']' ELSE ',' END
                            FROM (SELECT row_number() OVER (ORDER BY ord) AS ord, rec FROM (%s) r) n
                           ORDER BY ord) TO %L$q$, src, dir || '/' || name);
END $$;

SELECT bench.write_json($$SELECT ord, format('{"person_id": %s, "place": "%s", "at": "%s", "source": "%s"}',
                                            person_id, place, at, source) AS rec
                           FROM bench.travel_src$$, :'dir', 'import_travel.json');
SELECT format($$COPY (SELECT person_id, region, place, at, source FROM bench.travel_src ORDER BY ord) TO %L$$,
              :'dir' || '/import_travel.copy') \gexec
SELECT bench.write_json($$SELECT ord, format('{"person_id": %s, "kind": "%s", "sampled_at": "%s", "result": "%s", "lab": "%s", "sample_id": "%s"}',
                                            person_id, kind, sampled_at, result, lab, sample_id) AS rec
                           FROM bench.tests_src$$, :'dir', 'import_tests.json');
SELECT format($$COPY (SELECT person_id, region, kind, sampled_at, result, lab, sample_id FROM bench.tests_src ORDER BY ord) TO %L$$,
              :'dir' || '/import_tests.copy') \gexec

-- Batches with repeated keys: records 1..h distinct, h+1..n repeat them
-- in turn; the first repeat is record h+1, of record 1. Pattern "same":
-- h = 1, every record has the same key; "half": h = n - n/2, the second
-- half repeats the first (a batch sent twice over). Each repeat differs in
-- its other fields (a correction, a re-issued bulletin); a bulletin's
-- repeat writes the same instant in UTC.
CREATE FUNCTION bench.write_dups(pattern text, n bigint, people bigint, dir text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  h bigint := CASE pattern WHEN 'same' THEN 1 ELSE n - n / 2 END;
  recs text := format('SELECT g, g > %1$s AS rep, CASE WHEN g > %1$s THEN 1 + (g - %1$s - 1) %% %1$s ELSE g END AS i
                         FROM generate_series(1, %2$s) g', h, n);
BEGIN
  PERFORM bench.write_json(format($q$
    SELECT g AS ord, format('{"person_id": %%s, "kind": "pcr", "sampled_at": "%%s", "result": "%%s", "lab": "dup lab %%s", "sample_id": "D%%s"}',
                            p.id, bench.iso(now() - interval '1 hour' - i * interval '1 second'),
                            CASE WHEN rep THEN 'positive' ELSE 'negative' END, i %% 20, i) AS rec
      FROM (%s) s JOIN bench.people p ON p.k = 1 + s.i %% %s$q$, recs, people),
    dir, format('import_dup_tests_%s_%s.json', pattern, n));
  PERFORM bench.write_json(format($q$
    SELECT g AS ord, format('{"division": "%%s", "level": "%%s", "effective_from": "%%s", "bulletin": "bench bulletin %%s"}',
                            (ARRAY['330102', '330105', '330108', '110101', '310101', '440103'])[1 + i %% 6],
                            CASE WHEN rep THEN 'high' ELSE 'medium' END,
                            CASE WHEN rep THEN to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
                                 ELSE bench.iso(t) END, g) AS rec
      FROM (SELECT g, rep, i, date_trunc('minute', now()) - interval '1 day' - i * interval '1 minute' AS t
              FROM (%s) s0) s$q$, recs),
    dir, format('import_dup_areas_%s_%s.json', pattern, n));
END $$;
SELECT bench.write_dups(pattern, n, :people, :'dir')
  FROM (VALUES ('same'), ('half')) p(pattern), (VALUES (:dup_small), (:dup_large)) v(n);

-- The statuses and lab results before any import, restored by bench.reset().
CREATE TABLE bench.status_before AS SELECT * FROM healthcode.person_status;
CREATE TABLE bench.history_before AS SELECT * FROM healthcode.status_history;
CREATE TABLE bench.test_result_before AS SELECT * FROM healthcode.test_result;

-- restore the state before an import, without recalculating
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL healthcode.restore_mode = on;
  TRUNCATE healthcode.travel;
  TRUNCATE healthcode.test_result;
  INSERT INTO healthcode.test_result SELECT * FROM bench.test_result_before;
  TRUNCATE healthcode.person_status;
  INSERT INTO healthcode.person_status SELECT * FROM bench.status_before;
  DELETE FROM healthcode.status_history WHERE recorded_at > (SELECT coalesce(max(recorded_at), '-infinity') FROM bench.history_before);
END $$;

-- The same argument type as the import functions' (json or jsonb): a
-- function that does nothing with its batch, to show what passing the
-- batch alone costs the backend.
DO $$
BEGIN
  EXECUTE format('CREATE FUNCTION bench.carrier(records %s) RETURNS integer LANGUAGE plpgsql AS %L',
                 (SELECT format_type(p.proargtypes[0], NULL) FROM pg_proc p
                   WHERE p.oid = 'healthcode.import_travel'::regproc),
                 'BEGIN RETURN 0; END');
END $$;

-- the colours a batch leaves, compared between COPY and import (the
-- reasons without "ref", the record ids, which differ between the two)
CREATE TABLE bench.after_copy (person_id bigint PRIMARY KEY, colour healthcode.risk_colour, reasons jsonb);
CREATE FUNCTION bench.reasons(r jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE
RETURN (SELECT jsonb_agg(e - 'ref' ORDER BY o) FROM jsonb_array_elements(r) WITH ORDINALITY x(e, o));

VACUUM ANALYZE;
