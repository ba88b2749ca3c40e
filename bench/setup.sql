-- bench/setup.sql — fixtures and server-side timing functions for run.sh.
-- psql variables: n_codes (codes for issue/verify), n_qr (codes for qr_svg).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;

CREATE EXTENSION healthcode;
-- A district key: issue('330106', ...) signs with it directly.
SELECT healthcode.create_key('330106') IS NOT NULL AS key_created;

CREATE SCHEMA bench;

-- Pseudonyms are precomputed, so the issue figure measures issue() alone.
CREATE TABLE bench.subjects (id integer PRIMARY KEY, subj bytea NOT NULL);
INSERT INTO bench.subjects
  SELECT i, healthcode.pseudonym('330106' || lpad(i::text, 12, '0'))
  FROM generate_series(1, :n_codes) AS i;

-- Stored codes for verify (valid for a day, so every one verifies "ok")
-- and the first n_qr of them for qr_svg.
CREATE TABLE bench.codes (id integer PRIMARY KEY, code healthcode.healthcode NOT NULL);
INSERT INTO bench.codes
  SELECT id, healthcode.issue('330106', subj,
                              (ARRAY['green', 'yellow', 'red'])[1 + id % 3]::healthcode.risk_colour,
                              interval '1 day', id % 2 = 0)
  FROM bench.subjects;
CREATE TABLE bench.qr_codes AS SELECT id, code FROM bench.codes WHERE id <= :n_qr;

-- Small copies for checking how often each query calls the function.
CREATE TABLE bench.subjects_sample AS SELECT * FROM bench.subjects WHERE id <= 1000;
CREATE TABLE bench.codes_sample AS SELECT * FROM bench.codes WHERE id <= 1000;

VACUUM (FREEZE, ANALYZE) bench.subjects, bench.codes, bench.qr_codes,
  bench.subjects_sample, bench.codes_sample;

-- The measured statements, one per figure, over table tbl. Each calls the
-- function under test exactly once per row (checked by bench.calls_per_row
-- and shown by EXPLAIN VERBOSE).
CREATE FUNCTION bench.query(kind text, tbl regclass) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE kind
    WHEN 'verify' THEN format(
      'SELECT count(*) FILTER (WHERE (healthcode.verify(code)).valid), count(*) FROM %s', tbl)
    WHEN 'issue' THEN format(
      'SELECT count(healthcode.issue(''330106'', subj, ''green'')), count(*) FROM %s', tbl)
    WHEN 'qr_svg' THEN format(
      'SELECT count(*) FILTER (WHERE octet_length(healthcode.qr_svg(code)) > 1000), count(*) FROM %s', tbl)
  END
$$;

-- Runs one measured statement and returns the server-side elapsed time.
-- Every row must count (every code valid, issued, rendered), or it fails.
CREATE FUNCTION bench.run(kind text, tbl regclass,
                          OUT seconds double precision, OUT n bigint)
LANGUAGE plpgsql AS $$
DECLARE
  q text := bench.query(kind, tbl);
  t0 timestamptz;
  total bigint;
BEGIN
  IF q IS NULL THEN
    RAISE EXCEPTION 'unknown benchmark %', kind;
  END IF;
  t0 := clock_timestamp();
  EXECUTE q INTO n, total;
  seconds := extract(epoch FROM clock_timestamp() - t0)::double precision;
  IF n <> total OR total = 0 THEN
    RAISE EXCEPTION 'benchmark %: only % of % rows succeeded', kind, n, total;
  END IF;
END $$;

CREATE FUNCTION bench.explain(kind text, tbl regclass) RETURNS SETOF text
LANGUAGE plpgsql AS $$
DECLARE
  line text;
BEGIN
  FOR line IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || bench.query(kind, tbl) LOOP
    RETURN NEXT line;
  END LOOP;
END $$;

-- Calls of the function under test per row of tbl, counted by the
-- statistics collector (track_functions = all, this transaction only).
CREATE FUNCTION bench.calls_per_row(kind text, tbl regclass) RETURNS double precision
LANGUAGE plpgsql AS $$
DECLARE
  fn regprocedure := CASE kind
    WHEN 'verify' THEN 'healthcode.verify(healthcode.healthcode, timestamptz)'
    WHEN 'issue' THEN 'healthcode.issue(text, bytea, healthcode.risk_colour, interval, boolean, boolean)'
    WHEN 'qr_svg' THEN 'healthcode.qr_svg(healthcode.healthcode, text, integer)'
  END;
  before bigint;
  after bigint;
  r record;
BEGIN
  PERFORM set_config('track_functions', 'all', true);
  SELECT coalesce(sum(calls), 0) INTO before FROM pg_stat_xact_user_functions WHERE funcid = fn;
  r := bench.run(kind, tbl);
  SELECT coalesce(sum(calls), 0) INTO after FROM pg_stat_xact_user_functions WHERE funcid = fn;
  RETURN (after - before)::double precision / r.n;
END $$;

-- Runs kind over the sample: loads the trust list, unseals the signing key
-- and fills the caches, so a fresh session's measurement does not pay for
-- them.
CREATE FUNCTION bench.warm(kind text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM bench.run(kind, CASE kind WHEN 'issue' THEN 'bench.subjects_sample'
                                    ELSE 'bench.codes_sample' END::regclass);
END $$;
