-- The incremental, trigger-driven status recalculation agrees with a full
-- one at every step of a long random history: a population plus extra
-- people, then several hundred random statements, one a step, of every
-- kind that can change a colour — imports, lab corrections, deletions,
-- writes straight into travel day partitions, contacts, check-ins,
-- declarations, doses, manual decisions, the audit and its review,
-- accepted corrections, risk-area bulletins (new, upgraded, downgraded,
-- deleted), policy versions (some effective in a few seconds, some with
-- extreme parameters), people moving region, multi-row statements and the
-- odd TRUNCATE. After each step check_consistency() must be empty, both now
-- and at a later instant (a stored timeline is exact for every later
-- time). The history the steps write must be a chain that ends in each
-- person's stored colour, and the steps must really have changed colours.
--
-- Every step is its own top-level statement (\gexec), so each runs at its
-- own statement_timestamp(): windows that end a few seconds after their
-- evidence, and policies and overrides that start a few seconds later,
-- pass during the run. The sequence of step kinds and values is fixed by
-- the seed; the times are relative to the clock. A failing step is printed
-- with its SQL and the rows check_consistency() returned, then everyone is
-- recomputed so that later steps are judged on their own.
--
--   HC_RANDOM_SEED=0.123 HC_RANDOM_STEPS=2000 pg_prove -d db test/pgtap/consistency_random.sql
\set steps 600
\set seed 0.3141
\getenv env_steps HC_RANDOM_STEPS
\if :{?env_steps}
\set steps :env_steps
\endif
\getenv env_seed HC_RANDOM_SEED
\if :{?env_seed}
\set seed :env_seed
\endif

BEGIN;
SET search_path = public, healthcode;
SELECT plan(21);
SELECT diag(format('consistency_random: seed %s, %s steps', :'seed', :'steps'));

-- ---- the population ----------------------------------------------------------
-- (the random regional versions below look back up to 366 days: a national
-- version lets them, and no step changes or deletes it)
INSERT INTO policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
  VALUES ('000000', '2000-01-01', 366, '全国：地方回溯不超过366天', 'National: regions look back at most 366 days');
SELECT count(*) > 0 AS made FROM generate_population(200, 10, 21, :seed) \gset
SELECT setseed(:seed);

-- extra people, named by identifier (declare(), check_in(), declare_trip()),
-- among them some whose home is a whole city or province
CREATE TEMP TABLE extra (identifier text PRIMARY KEY);
INSERT INTO extra
  SELECT synthetic_identifier('310104', 800000 + g) FROM generate_series(1, 24) g;
SELECT count(register_person(e.identifier,
                             (ARRAY['330106', '330102', '110105', '310104', '440305', '330100', '110000', '310100'])[1 + g % 8],
                             '测试' || g)) AS registered
  FROM (SELECT identifier, row_number() OVER (ORDER BY identifier) AS g FROM extra) e \gset

SELECT ok((SELECT count(*) FROM person) >= 224, 'a population of 200 and 24 extra people');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'no inconsistency before the steps');

-- a hot set that most steps come back to, so people collect long histories
CREATE TEMP TABLE hot AS
  SELECT id AS person_id FROM person ORDER BY random() LIMIT 36;

-- ---- helpers --------------------------------------------------------------------
CREATE FUNCTION pg_temp.ri(lo integer, hi integer) RETURNS integer LANGUAGE sql AS
  $$ SELECT lo + floor(random() * (hi - lo + 1))::integer $$;
CREATE FUNCTION pg_temp.pick(a text[]) RETURNS text LANGUAGE sql AS
  $$ SELECT a[1 + floor(random() * cardinality(a))::integer] $$;
CREATE FUNCTION pg_temp.lit(t timestamptz) RETURNS text LANGUAGE sql AS
  $$ SELECT quote_literal(t::text) || '::timestamptz' $$;
CREATE FUNCTION pg_temp.b(v boolean) RETURNS text LANGUAGE sql AS
  $$ SELECT CASE WHEN v THEN 'true' ELSE 'false' END $$;
-- the start of a China Standard Time day, days_ago days back
CREATE FUNCTION pg_temp.cst_midnight(days_ago integer) RETURNS timestamptz LANGUAGE sql AS
  $$ SELECT ((statement_timestamp() AT TIME ZONE 'Asia/Shanghai')::date - days_ago)::timestamp AT TIME ZONE 'Asia/Shanghai' $$;

-- (places and areas below the county too: streets and communities, so that
-- every level of the rule's joins is exercised)
CREATE FUNCTION pg_temp.places() RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY['330102', '330105', '330106', '330108', '330110', '330203', '110101', '110105', '110108',
               '310101', '310104', '310115', '440103', '440106', '440305', '330100', '110100', '440300',
               '330106001', '330106001001', '330106002001', '110105003001'] $$;
CREATE FUNCTION pg_temp.areas() RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY['330102', '330105', '330106', '330108', '330110', '330203', '110101', '110105', '110108',
               '310101', '310104', '310115', '440103', '440106', '440305',
               '330100', '110100', '310100', '440300', '330000', '110000',
               '330106001', '330106001001', '110105003'] $$;
CREATE FUNCTION pg_temp.homes() RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY['330102', '330105', '330106', '330108', '330110', '330203', '110101', '110105', '110108',
               '310101', '310104', '310115', '440103', '440106', '440305', '330100', '110000'] $$;
CREATE FUNCTION pg_temp.policy_regions() RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY['330106', '330102', '110105', '310104', '440305', '330100', '110100', '310100',
               '330000', '110000', '440000', '000000'] $$;

-- The lookbacks in force: a time that far back lies on a window's edge.
CREATE FUNCTION pg_temp.lookback() RETURNS integer LANGUAGE sql AS $$
  SELECT (ARRAY[14, 14, 7, 1] || ARRAY(SELECT lookback_days FROM healthcode.policy ORDER BY id))
         [1 + floor(random() * (4 + (SELECT count(*) FROM healthcode.policy)))::integer] $$;

-- A time for a piece of evidence: mostly the last weeks, often on the edge
-- of a window that closes within seconds, on a CST midnight, or a little
-- in the future (within healthcode.clock_skew).
CREATE FUNCTION pg_temp.rand_at() RETURNS timestamptz LANGUAGE plpgsql AS $$
DECLARE
  r double precision := random();
  t timestamptz := statement_timestamp();
BEGIN
  RETURN CASE
    WHEN r < 0.32 THEN t - random() * interval '20 days'
    WHEN r < 0.46 THEN t - random() * interval '8 hours'
    WHEN r < 0.64 THEN t - make_interval(days => pg_temp.lookback()) + random() * interval '12 seconds'
    WHEN r < 0.72 THEN pg_temp.cst_midnight(pg_temp.ri(0, 15)) + (pg_temp.ri(-2, 2) || ' microseconds')::interval
    WHEN r < 0.78 THEN t - make_interval(days => pg_temp.ri(1, 15)) + random() * interval '20 seconds'
    WHEN r < 0.82 THEN t + random() * interval '4 minutes'
    WHEN r < 0.90 THEN t - interval '20 days' - random() * interval '40 days'
    ELSE t - make_interval(days => pg_temp.ri(1, 16)) - random() * interval '2 hours' END;
END $$;

-- A random person: half the time from the hot set.
CREATE FUNCTION pg_temp.rand_person() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  id bigint;
BEGIN
  IF random() < 0.55 THEN
    SELECT count(*) INTO n FROM pg_temp.hot h JOIN healthcode.person p ON p.id = h.person_id;
    IF n > 0 THEN
      SELECT p.id INTO id FROM pg_temp.hot h JOIN healthcode.person p ON p.id = h.person_id
       ORDER BY p.id OFFSET floor(random() * n) LIMIT 1;
      RETURN id;
    END IF;
  END IF;
  SELECT count(*) INTO n FROM healthcode.person;
  SELECT p.id INTO id FROM healthcode.person p ORDER BY p.id OFFSET floor(random() * n) LIMIT 1;
  RETURN id;
END $$;

-- A random extra person who exists (identifier, region).
CREATE FUNCTION pg_temp.rand_extra(OUT identifier text, OUT region text) LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  SELECT count(*) INTO n FROM pg_temp.extra e JOIN healthcode.person p ON p.id = healthcode.person_id(e.identifier);
  SELECT e.identifier, p.region INTO identifier, region
    FROM pg_temp.extra e JOIN healthcode.person p ON p.id = healthcode.person_id(e.identifier)
   ORDER BY e.identifier OFFSET floor(random() * n) LIMIT 1;
END $$;

-- A random row id of an evidence table (cond filters), half the time one of
-- the hot set's rows; NULL when there is none.
CREATE FUNCTION pg_temp.pick_id(tbl text, cond text DEFAULT 'true') RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
  id bigint;
  c text := cond;
BEGIN
  IF random() < 0.5 AND tbl NOT IN ('risk_area', 'policy', 'person') THEN
    c := c || ' AND person_id IN (SELECT person_id FROM pg_temp.hot)';
  END IF;
  FOR i IN 1 .. 2 LOOP
    EXECUTE format('SELECT count(*) FROM healthcode.%I WHERE %s', tbl, c) INTO n;
    IF n > 0 THEN
      EXECUTE format('SELECT id FROM healthcode.%I WHERE %s ORDER BY id OFFSET %s LIMIT 1', tbl, c, floor(random() * n))
        INTO id;
      RETURN id;
    END IF;
    c := cond;
  END LOOP;
  RETURN NULL;
END $$;

-- The same, -1 when there is none (the statement then touches nothing).
CREATE FUNCTION pg_temp.some_id(tbl text, cond text DEFAULT 'true') RETURNS bigint LANGUAGE sql AS
  $$ SELECT coalesce(pg_temp.pick_id(tbl, cond), -1) $$;

-- The day partition a time falls in, made if missing (not a step: making a
-- partition changes no colour).
CREATE FUNCTION pg_temp.partition_of(at timestamptz) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  d date := (at AT TIME ZONE 'Asia/Shanghai')::date;
BEGIN
  PERFORM healthcode.create_travel_partitions(d, d);
  RETURN 'healthcode.travel_' || to_char(d, 'YYYYMMDD');
END $$;

CREATE FUNCTION pg_temp.rand_symptoms() RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN random() < 0.75 THEN '''{}''::text[]'
              ELSE quote_literal(ARRAY[pg_temp.pick(ARRAY['fever', 'cough', 'sore_throat', 'fatigue', 'headache'])]::text) || '::text[]' END $$;
CREATE FUNCTION pg_temp.rand_temperature(fever_chance double precision) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN random() < 0.15 THEN 'NULL::numeric'
              WHEN random() < fever_chance THEN round((37.3 + random() * 2.0)::numeric, 1)::text
              ELSE round((35.8 + random() * 1.3)::numeric, 1)::text END $$;

-- A policy version's parameters: defaults, the ends of each CHECK range, or
-- anything in between.
CREATE FUNCTION pg_temp.rand_param(lo integer, hi integer, dflt integer) RETURNS integer LANGUAGE sql AS $$
  SELECT CASE WHEN r < 0.35 THEN dflt WHEN r < 0.55 THEN lo WHEN r < 0.65 THEN hi
              ELSE pg_temp.ri(lo, least(hi, 3 * dflt + 3)) END
    FROM (SELECT random() AS r) x $$;
CREATE FUNCTION pg_temp.rand_policy_values() RETURNS text LANGUAGE sql AS $$
  SELECT format('%s, %s, %s, %s, %s, %s, %s, %s, %s, %L, %s',
                pg_temp.rand_param(1, 366, 14), pg_temp.rand_param(1, 366, 14), pg_temp.rand_param(1, 366, 7),
                pg_temp.rand_param(0, 10, 2), pg_temp.rand_param(1, 744, 48),
                CASE WHEN random() < 0.5 THEN '37.3' WHEN random() < 0.5 THEN '35.0' WHEN random() < 0.3 THEN '43.0'
                     ELSE round((36.0 + random() * 2)::numeric, 1)::text END,
                pg_temp.rand_param(0, 10, 2), pg_temp.b(random() < 0.8), pg_temp.b(random() < 0.3),
                CASE WHEN random() < 0.4 THEN 'calendar_days' ELSE 'hours' END, pg_temp.b(random() < 0.7)) $$;
CREATE FUNCTION pg_temp.policy_columns() RETURNS text LANGUAGE sql AS $$
  SELECT 'lookback_days, quarantine_days_red, quarantine_days_yellow, red_release_negative_tests, '
         'negative_test_valid_hours, fever_celsius, vaccinated_min_doses, symptoms_yellow, periodic_testing, '
         'test_window, two_negatives_release_yellow' $$;

-- ---- the steps ---------------------------------------------------------------------
-- Kinds and their weights (per mille-ish; normalised below).
CREATE TEMP TABLE step_kind (kind text PRIMARY KEY, weight integer NOT NULL);
INSERT INTO step_kind VALUES
  ('travel insert', 55), ('travel import', 30), ('travel partition insert', 30), ('travel update', 30),
  ('travel partition update', 12), ('travel delete', 22), ('travel partition delete', 10), ('declare trip', 12),
  ('test import', 55), ('test correction', 35), ('test update', 10), ('test delete', 22),
  ('contact import', 32), ('contact update', 10), ('contact delete', 14),
  ('checkin run', 40), ('check_in', 14), ('checkin update', 10), ('checkin delete', 10),
  ('declare', 25), ('declaration insert', 25), ('declaration update', 10), ('declaration delete', 8),
  ('vaccination import', 22), ('vaccination update', 5), ('vaccination delete', 10),
  ('override', 45), ('release', 22),
  ('audit', 20), ('review finding', 18),
  ('correction accepted', 20), ('correction request', 8), ('correction decide', 8),
  ('risk area insert', 30), ('risk area import', 12), ('risk area upgrade', 14), ('risk area downgrade', 20),
  ('risk area delete', 10),
  ('policy insert', 35), ('policy update', 20), ('policy delete', 12),
  ('person move', 20), ('person registered', 8), ('person insert', 8), ('person delete', 4),
  ('touch elapsed', 25), ('bulk', 20), ('merge', 15), ('cte move', 12), ('truncate', 3), ('drop partitions', 2);
CREATE TEMP TABLE step_kind_cum AS
  SELECT kind, sum(weight) OVER (ORDER BY kind) - weight AS lo, sum(weight) OVER (ORDER BY kind) AS hi,
         sum(weight) OVER () AS total
    FROM step_kind;

CREATE TEMP TABLE step_log (
  step integer PRIMARY KEY,
  kind text NOT NULL,
  sql text NOT NULL,
  ran_at timestamptz NOT NULL,   -- the step's statement_timestamp()
  sqlstate text,                 -- NULL: the statement ran
  message text,
  inconsistent integer,          -- check_consistency() rows right after the step
  bad_rows jsonb,                -- them
  inconsistent_later integer,    -- the same, read at a later instant
  later_at timestamptz,
  bad_rows_later jsonb,
  duration interval              -- the step and both checks
);
CREATE TEMP TABLE history_before AS SELECT id FROM status_history;

-- The SQL of one random step: (kind, statement).
CREATE FUNCTION pg_temp.make_step(step integer, OUT kind text, OUT sql text) LANGUAGE plpgsql AS $$
DECLARE
  t timestamptz := statement_timestamp();
  r double precision;
  pid bigint;
  rid bigint;
  at timestamptz;
  at2 timestamptz;
  n integer;
  vals text[];
  recs jsonb;
  ident text;
  home text;
  part text;
  x record;
  k integer;
  missing text;
BEGIN
  r := random() * (SELECT max(total) FROM pg_temp.step_kind_cum);
  SELECT c.kind INTO kind FROM pg_temp.step_kind_cum c WHERE r >= c.lo AND r < c.hi;
  IF step % 8 = 0 THEN
    -- every eighth step: a kind that has not run yet, if any, so that the
    -- rare kinds run too
    SELECT m.kind INTO missing
      FROM (SELECT c.kind FROM pg_temp.step_kind c
             WHERE c.weight > 0 AND c.kind NOT IN (SELECT l.kind FROM pg_temp.step_log l WHERE l.sqlstate IS NULL)
             ORDER BY c.kind) m
     ORDER BY random() LIMIT 1;
    kind := coalesce(missing, kind);
  END IF;

  CASE kind
  -- ---- travel ----
  WHEN 'travel insert' THEN
    -- 1-6 stays of 1-3 people, through the parent table
    vals := '{}';
    FOR i IN 1 .. pg_temp.ri(1, 3) LOOP
      pid := pg_temp.rand_person();
      FOR j IN 1 .. pg_temp.ri(1, 3) LOOP
        at := pg_temp.rand_at();
        part := pg_temp.partition_of(at);
        vals := vals || format('(%s, %L, %s, %L)', pid, pg_temp.pick(pg_temp.places()), pg_temp.lit(at),
                               pg_temp.pick(ARRAY['telecom', 'telecom', 'transport', 'venue_scan', 'declared']));
      END LOOP;
    END LOOP;
    sql := format('INSERT INTO healthcode.travel (person_id, region, place, at, source) '
                  'SELECT p.id, p.region, v.place, v.at, v.source FROM healthcode.person p '
                  'JOIN (VALUES %s) v(pid, place, at, source) ON p.id = v.pid ON CONFLICT DO NOTHING',
                  array_to_string(vals, ', '));
  WHEN 'travel import' THEN
    -- through import_travel (which makes the day partitions it needs): an
    -- itinerary of a few days around one time, sometimes weeks back
    -- (a batch makes every partition from its first day to its last)
    at := CASE WHEN random() < 0.15 THEN t - random() * interval '60 days' ELSE pg_temp.rand_at() END;
    recs := '[]';
    FOR i IN 1 .. pg_temp.ri(1, 5) LOOP
      recs := recs || jsonb_build_object('person_id', pg_temp.rand_person(), 'place', pg_temp.pick(pg_temp.places()),
                                         'at', least(at + (random() - 0.7) * interval '3 days', t + interval '4 minutes'),
                                         'source', pg_temp.pick(ARRAY['telecom', 'transport', 'venue_scan']));
    END LOOP;
    sql := format('SELECT healthcode.import_travel(%L::json)', recs);
  WHEN 'travel partition insert' THEN
    -- straight into a day partition
    at := pg_temp.rand_at();
    part := pg_temp.partition_of(at);
    vals := '{}';
    FOR i IN 1 .. pg_temp.ri(1, 4) LOOP
      at2 := greatest(date_trunc('day', at AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai',
                      least(at + (random() - 0.5) * interval '3 hours',
                            (date_trunc('day', at AT TIME ZONE 'Asia/Shanghai') + interval '1 day' - interval '1 microsecond')
                              AT TIME ZONE 'Asia/Shanghai',
                            t + interval '4 minutes'));
      vals := vals || format('(%s, %L, %s, %L)', pg_temp.rand_person(), pg_temp.pick(pg_temp.places()), pg_temp.lit(at2),
                             pg_temp.pick(ARRAY['telecom', 'transport', 'venue_scan']));
    END LOOP;
    sql := format('INSERT INTO %s (person_id, region, place, at, source) '
                  'SELECT p.id, p.region, v.place, v.at, v.source FROM healthcode.person p '
                  'JOIN (VALUES %s) v(pid, place, at, source) ON p.id = v.pid ON CONFLICT DO NOTHING',
                  part, array_to_string(vals, ', '));
  WHEN 'travel update' THEN
    rid := pg_temp.some_id('travel');
    r := random();
    IF r < 0.4 THEN
      sql := format('UPDATE healthcode.travel SET place = %L WHERE id = %s', pg_temp.pick(pg_temp.places()), rid);
    ELSIF r < 0.8 THEN
      -- a new time, often on another day: the row moves partition
      at := pg_temp.rand_at();
      part := pg_temp.partition_of(at);
      sql := format('UPDATE healthcode.travel SET at = %s WHERE id = %s', pg_temp.lit(at), rid);
    ELSE
      pid := pg_temp.rand_person();
      sql := format('UPDATE healthcode.travel t SET person_id = p.id, region = p.region FROM healthcode.person p '
                    'WHERE p.id = %s AND t.id = %s', pid, rid);
    END IF;
  WHEN 'travel partition update' THEN
    rid := pg_temp.pick_id('travel');
    SELECT tr.tableoid::regclass::text INTO part FROM healthcode.travel tr WHERE tr.id = rid;
    sql := format('UPDATE %s SET place = %L, source = %L WHERE id = %s', part, pg_temp.pick(pg_temp.places()),
                  pg_temp.pick(ARRAY['telecom', 'transport', 'venue_scan', 'declared']), rid);
  WHEN 'travel delete' THEN
    vals := ARRAY(SELECT pg_temp.some_id('travel')::text FROM generate_series(1, pg_temp.ri(1, 4)));
    sql := format('DELETE FROM healthcode.travel WHERE id IN (%s)', array_to_string(vals, ', '));
  WHEN 'travel partition delete' THEN
    rid := pg_temp.pick_id('travel');
    SELECT tr.tableoid::regclass::text, tr.person_id INTO part, pid FROM healthcode.travel tr WHERE tr.id = rid;
    sql := format('DELETE FROM %s WHERE person_id = %s', part, pid);
  WHEN 'declare trip' THEN
    SELECT * INTO ident, home FROM pg_temp.rand_extra();
    at := pg_temp.rand_at();
    sql := format('SELECT * FROM healthcode.declare_trip(%L, %L, %s)', ident, pg_temp.pick(pg_temp.places()), pg_temp.lit(at));

  -- ---- test results ----
  WHEN 'test import' THEN
    recs := '[]';
    FOR i IN 1 .. pg_temp.ri(1, 3) LOOP
      pid := pg_temp.rand_person();
      at := pg_temp.rand_at();
      IF random() < 0.35 THEN
        -- two negatives 24-72 h apart: the yellow release rule
        recs := recs
          || jsonb_build_object('person_id', pid, 'kind', 'pcr', 'sampled_at', at - interval '2 days' + random() * interval '1 day',
                                'result', 'negative', 'lab', 'lab ' || pg_temp.ri(1, 3), 'sample_id', format('R%s-%s-a', step, i))
          || jsonb_build_object('person_id', pid, 'kind', 'pcr', 'sampled_at', at,
                                'result', 'negative', 'lab', 'lab ' || pg_temp.ri(1, 3), 'sample_id', format('R%s-%s-b', step, i));
      ELSE
        recs := recs || jsonb_build_object('person_id', pid, 'kind', pg_temp.pick(ARRAY['pcr', 'antigen']), 'sampled_at', at,
                                           'result', CASE WHEN random() < 0.3 THEN 'positive' ELSE 'negative' END,
                                           'lab', 'lab ' || pg_temp.ri(1, 3), 'sample_id', format('R%s-%s', step, i));
      END IF;
    END LOOP;
    sql := format('SELECT healthcode.import_test_results(%L::json)', recs);
  WHEN 'test correction' THEN
    -- the lab sends a known sample again with another result or time
    rid := pg_temp.pick_id('test_result');
    SELECT * INTO x FROM healthcode.test_result tr WHERE tr.id = rid;
    IF NOT FOUND THEN
      sql := 'SELECT healthcode.import_test_results(''[]''::json)';
    ELSE
      recs := jsonb_build_array(jsonb_build_object(
        'person_id', x.person_id, 'kind', x.kind, 'lab', x.lab, 'sample_id', x.sample_id,
        'sampled_at', CASE WHEN random() < 0.3 THEN pg_temp.rand_at() ELSE x.sampled_at END,
        'result', CASE WHEN random() < 0.8 THEN CASE x.result WHEN 'positive' THEN 'negative' ELSE 'positive' END
                       ELSE x.result END));
      sql := format('SELECT healthcode.import_test_results(%L::json)', recs);
    END IF;
  WHEN 'test update' THEN
    sql := format('UPDATE healthcode.test_result SET sampled_at = %s, result = %L WHERE id = %s',
                  pg_temp.lit(pg_temp.rand_at()), pg_temp.pick(ARRAY['positive', 'negative', 'negative']),
                  pg_temp.some_id('test_result'));
  WHEN 'test delete' THEN
    vals := ARRAY(SELECT pg_temp.some_id('test_result')::text FROM generate_series(1, pg_temp.ri(1, 3)));
    sql := format('DELETE FROM healthcode.test_result WHERE id IN (%s)', array_to_string(vals, ', '));

  -- ---- contacts ----
  WHEN 'contact import' THEN
    recs := '[]';
    FOR i IN 1 .. pg_temp.ri(1, 4) LOOP
      recs := recs || jsonb_build_object('person_id', pg_temp.rand_person(), 'kind', pg_temp.pick(ARRAY['close', 'secondary']),
                                         'exposure_at', pg_temp.rand_at(), 'source_case', 'case-' || pg_temp.ri(1, 12));
    END LOOP;
    sql := format('SELECT healthcode.import_contacts(%L::json)', recs);
  WHEN 'contact update' THEN
    sql := format('UPDATE healthcode.contact SET exposure_at = %s, kind = %L WHERE id = %s',
                  pg_temp.lit(pg_temp.rand_at()), pg_temp.pick(ARRAY['close', 'secondary']), pg_temp.some_id('contact'));
  WHEN 'contact delete' THEN
    IF random() < 0.3 THEN
      sql := format('DELETE FROM healthcode.contact WHERE source_case = %L', 'case-' || pg_temp.ri(1, 12));
    ELSE
      sql := format('DELETE FROM healthcode.contact WHERE id = %s', pg_temp.some_id('contact'));
    END IF;

  -- ---- check-ins ----
  WHEN 'checkin run' THEN
    -- consecutive daily check-ins, mostly normal: the quarantine release rules
    pid := pg_temp.rand_person();
    k := pg_temp.ri(0, 20);
    vals := '{}';
    FOR d IN 0 .. least(k, pg_temp.ri(1, 16)) LOOP
      at := least(pg_temp.cst_midnight(k - d) + interval '7 hours' + random() * interval '12 hours', t - interval '1 second');
      vals := vals || format('(%s, %s, %s)', pg_temp.lit(at), pg_temp.rand_temperature(0.08),
                             CASE WHEN random() < 0.05 THEN '''{cough}''::text[]' ELSE '''{}''::text[]' END);
    END LOOP;
    -- (a day's check-in kept, or replaced: its key is its month
    -- partition's, which no ON CONFLICT can name; MERGE finds it)
    sql := CASE WHEN random() < 0.5
           THEN format('INSERT INTO healthcode.checkin AS k (person_id, region, at, temperature, symptoms) '
                       'SELECT p.id, p.region, v.at, v.temperature, v.symptoms FROM healthcode.person p '
                       'CROSS JOIN (VALUES %s) v(at, temperature, symptoms) WHERE p.id = %s '
                       'ON CONFLICT DO NOTHING', array_to_string(vals, ', '), pid)
           ELSE format('MERGE INTO healthcode.checkin k '
                       'USING (SELECT p.id, p.region, v.at, v.temperature, v.symptoms FROM healthcode.person p '
                       'CROSS JOIN (VALUES %s) v(at, temperature, symptoms) WHERE p.id = %s) n '
                       'ON k.person_id = n.id AND k.region = n.region AND k.day = (n.at AT TIME ZONE ''Asia/Shanghai'')::date '
                       'WHEN MATCHED THEN UPDATE SET temperature = n.temperature, symptoms = n.symptoms '
                       'WHEN NOT MATCHED THEN INSERT (person_id, region, at, temperature, symptoms) '
                       'VALUES (n.id, n.region, n.at, n.temperature, n.symptoms)', array_to_string(vals, ', '), pid) END;
  WHEN 'check_in' THEN
    SELECT * INTO ident, home FROM pg_temp.rand_extra();
    sql := format('SELECT * FROM healthcode.check_in(%L, %s, %s)', ident, pg_temp.rand_temperature(0.2),
                  pg_temp.rand_symptoms());
  WHEN 'checkin update' THEN
    sql := format('UPDATE healthcode.checkin SET temperature = %s, symptoms = %s WHERE id = %s',
                  pg_temp.rand_temperature(0.4), pg_temp.rand_symptoms(), pg_temp.some_id('checkin'));
  WHEN 'checkin delete' THEN
    vals := ARRAY(SELECT pg_temp.some_id('checkin')::text FROM generate_series(1, pg_temp.ri(1, 5)));
    sql := format('DELETE FROM healthcode.checkin WHERE id IN (%s)', array_to_string(vals, ', '));

  -- ---- declarations ----
  WHEN 'declare' THEN
    IF random() < 0.15 THEN
      -- a new person registers by declaring
      ident := healthcode.synthetic_identifier('440103', 850000 + step);
      home := pg_temp.pick(pg_temp.homes());
      INSERT INTO pg_temp.extra VALUES (ident);
    ELSE
      SELECT * INTO ident, home FROM pg_temp.rand_extra();
    END IF;
    sql := format('SELECT * FROM healthcode.declare(%L, %L, NULL, %s, %s, %L::text[], %s)', ident, home,
                  pg_temp.rand_symptoms(), pg_temp.rand_temperature(0.2),
                  ARRAY(SELECT pg_temp.pick(pg_temp.places()) FROM generate_series(1, pg_temp.ri(0, 2))),
                  pg_temp.b(random() < 0.15));
  WHEN 'declaration insert' THEN
    pid := pg_temp.rand_person();
    sql := format('INSERT INTO healthcode.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case) '
                  'SELECT p.id, p.region, %s, %s, %s, %L::text[], %s FROM healthcode.person p WHERE p.id = %s',
                  pg_temp.lit(pg_temp.rand_at()), pg_temp.rand_symptoms(), pg_temp.rand_temperature(0.2),
                  ARRAY(SELECT DISTINCT tr.place FROM healthcode.travel tr WHERE tr.person_id = pid AND random() < 0.7),
                  pg_temp.b(random() < 0.2), pid);
  WHEN 'declaration update' THEN
    sql := format('UPDATE healthcode.declaration SET symptoms = %s, temperature = %s, contact_with_case = %s%s WHERE id = %s',
                  pg_temp.rand_symptoms(), pg_temp.rand_temperature(0.3), pg_temp.b(random() < 0.3),
                  CASE WHEN random() < 0.3 THEN ', declared_at = ' || pg_temp.lit(pg_temp.rand_at()) ELSE '' END,
                  pg_temp.some_id('declaration'));
  WHEN 'declaration delete' THEN
    sql := format('DELETE FROM healthcode.declaration WHERE id = %s', pg_temp.some_id('declaration'));

  -- ---- vaccinations ----
  WHEN 'vaccination import' THEN
    recs := '[]';
    FOR i IN 1 .. pg_temp.ri(1, 3) LOOP
      recs := recs || jsonb_build_object('person_id', pg_temp.rand_person(), 'dose', pg_temp.ri(1, 4),
                                         'given_at', CASE WHEN random() < 0.5 THEN pg_temp.rand_at()
                                                          ELSE t - random() * interval '400 days' END,
                                         'product', 'CoronaVac');
    END LOOP;
    sql := format('SELECT healthcode.import_vaccinations(%L::json)', recs);
  WHEN 'vaccination update' THEN
    sql := format('UPDATE healthcode.vaccination SET given_at = %s WHERE id = %s',
                  pg_temp.lit(pg_temp.rand_at()), pg_temp.some_id('vaccination'));
  WHEN 'vaccination delete' THEN
    sql := format('DELETE FROM healthcode.vaccination WHERE id = %s', pg_temp.some_id('vaccination'));

  -- ---- manual decisions ----
  WHEN 'override' THEN
    pid := pg_temp.rand_person();
    at := CASE WHEN random() < 0.3 THEN t + random() * interval '15 seconds'
               WHEN random() < 0.5 THEN t - random() * interval '3 days'
               ELSE pg_temp.rand_at() END;
    sql := format('SELECT healthcode.record_decision(%s, %L, %L, %L, %L, %s, %s)', pid, 'override',
                  'random override', 'headquarters order ' || step, pg_temp.pick(ARRAY['green', 'yellow', 'red']),
                  pg_temp.lit(at),
                  CASE WHEN random() < 0.35 THEN 'NULL'
                       WHEN random() < 0.5 THEN pg_temp.lit(greatest(at, t) + random() * interval '20 seconds' + interval '1 microsecond')
                       ELSE pg_temp.lit(at + random() * interval '10 days' + interval '1 second') END);
  WHEN 'release' THEN
    pid := pg_temp.rand_person();
    sql := format('SELECT healthcode.record_decision(%s, %L, %L, %L, NULL, %s)', pid,
                  pg_temp.pick(ARRAY['medical_release', 'appeal_upheld']), 'random release', 'hospital ' || step,
                  pg_temp.lit(CASE WHEN random() < 0.25 THEN t + random() * interval '15 seconds' ELSE pg_temp.rand_at() END));

  -- ---- the audit ----
  WHEN 'audit' THEN
    r := random();
    sql := CASE WHEN r < 0.5 THEN format('SELECT count(*) FROM healthcode.audit(person_id => %s)', pg_temp.rand_person())
                WHEN r < 0.8 THEN format('SELECT count(*) FROM healthcode.audit(region => %L)',
                                         pg_temp.pick(ARRAY['330000', '330100', '110105', '310000', '440305']))
                ELSE 'SELECT count(*) FROM healthcode.audit()' END;
  WHEN 'review finding' THEN
    rid := pg_temp.pick_id('audit_finding', 'status = ''open''');
    IF rid IS NULL THEN
      sql := format('SELECT count(*) FROM healthcode.audit(person_id => %s)', pg_temp.rand_person());
    ELSE
      sql := format('SELECT healthcode.review_finding(%s, %L, %L)', rid, pg_temp.pick(ARRAY['dismiss', 'dismiss', 'confirm']),
                    'reviewed in step ' || step);
    END IF;

  -- ---- corrections ----
  WHEN 'correction accepted', 'correction request' THEN
    part := pg_temp.pick(ARRAY['travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration']);
    rid := pg_temp.pick_id(part);
    IF rid IS NULL THEN
      part := 'test_result';
      rid := pg_temp.pick_id(part);
    END IF;
    EXECUTE format('SELECT person_id FROM healthcode.%I WHERE id = $1', part) INTO pid USING rid;
    IF rid IS NULL THEN
      sql := NULL;
    ELSIF kind = 'correction accepted' THEN
      sql := format('SELECT * FROM healthcode.decide_correction(healthcode.request_correction(%s, %L, %s, %L), true, %L)',
                    pid, part, rid, 'this is not mine', 'accepted in step ' || step);
    ELSE
      sql := format('SELECT healthcode.request_correction(%s, %L, %s, %L)', pid, part, rid, 'this is not mine');
    END IF;
  WHEN 'correction decide' THEN
    rid := pg_temp.pick_id('correction', 'status = ''pending''');
    IF rid IS NULL THEN
      sql := 'SELECT count(*) FROM healthcode.audit()';
    ELSE
      sql := format('SELECT * FROM healthcode.decide_correction(%s, %s, %L)', rid, pg_temp.b(random() < 0.7), 'decided in step ' || step);
    END IF;

  -- ---- risk areas ----
  WHEN 'risk area insert', 'risk area import' THEN
    recs := '[]';
    FOR i IN 1 .. CASE WHEN kind = 'risk area import' THEN pg_temp.ri(1, 3) ELSE 1 END LOOP
      at := CASE WHEN random() < 0.15 THEN t + random() * interval '20 seconds'
                 WHEN random() < 0.2 THEN pg_temp.cst_midnight(pg_temp.ri(0, 15))
                 ELSE t - random() * interval '25 days' END;
      at2 := CASE WHEN random() < 0.65 THEN NULL
                  WHEN random() < 0.3 THEN greatest(at, t) + random() * interval '20 seconds' + interval '1 microsecond'
                  ELSE at + random() * interval '15 days' + interval '1 second' END;
      recs := recs || jsonb_build_object('division', pg_temp.pick(pg_temp.areas()),
                                         'level', pg_temp.pick(ARRAY['low', 'medium', 'medium', 'high', 'high']),
                                         'effective_from', at, 'effective_until', at2, 'bulletin', 'bulletin ' || step);
    END LOOP;
    IF kind = 'risk area import' AND random() < 0.5 THEN
      -- re-issue a known bulletin (same division and start): level or end changes
      rid := pg_temp.pick_id('risk_area');
      SELECT * INTO x FROM healthcode.risk_area a WHERE a.id = rid;
      IF FOUND THEN
        recs := recs || jsonb_build_object('division', x.division, 'effective_from', x.effective_from,
                                           'level', pg_temp.pick(ARRAY['low', 'medium', 'high']),
                                           'effective_until', CASE WHEN random() < 0.5 THEN NULL
                                                                   ELSE greatest(x.effective_from + interval '1 second',
                                                                                 t + (random() - 0.5) * interval '2 days') END,
                                           'bulletin', 're-issued in step ' || step);
      END IF;
    END IF;
    IF kind = 'risk area import' THEN
      sql := format('SELECT healthcode.import_risk_areas(%L::json)', recs);
    ELSE
      sql := format('INSERT INTO healthcode.risk_area (division, level, effective_from, effective_until, bulletin) '
                    'SELECT division, level, effective_from, effective_until, bulletin '
                    'FROM jsonb_populate_recordset(NULL::healthcode.risk_area, %L::jsonb)', recs);
    END IF;
  WHEN 'risk area upgrade' THEN
    sql := format('UPDATE healthcode.risk_area SET level = CASE level WHEN ''low'' THEN ''medium'' ELSE ''high'' END WHERE id = %s',
                  pg_temp.some_id('risk_area'));
  WHEN 'risk area downgrade' THEN
    rid := pg_temp.some_id('risk_area');
    r := random();
    IF r < 0.6 THEN
      -- the designation ends: in the past, now, or in a few seconds
      sql := format('UPDATE healthcode.risk_area SET effective_until = greatest(effective_from + interval ''1 second'', %s) WHERE id = %s',
                    pg_temp.lit(CASE WHEN random() < 0.4 THEN t + random() * interval '15 seconds'
                                     ELSE t - random() * interval '10 days' END), rid);
    ELSIF r < 0.85 THEN
      sql := format('UPDATE healthcode.risk_area SET level = CASE level WHEN ''high'' THEN ''medium'' ELSE ''low'' END WHERE id = %s', rid);
    ELSE
      sql := 'UPDATE healthcode.risk_area SET effective_until = NULL WHERE effective_until IS NOT NULL AND id IN ('
             || array_to_string(ARRAY(SELECT pg_temp.some_id('risk_area')::text FROM generate_series(1, 3)), ', ') || ')';
    END IF;
  WHEN 'risk area delete' THEN
    sql := format('DELETE FROM healthcode.risk_area WHERE id = %s', pg_temp.some_id('risk_area'));

  -- ---- policy versions ----
  WHEN 'policy insert' THEN
    at := CASE WHEN random() < 0.15 THEN '-infinity'
               WHEN random() < 0.35 THEN t + random() * interval '25 seconds'
               WHEN random() < 0.3 THEN t + random() * interval '10 days'
               WHEN random() < 0.3 THEN pg_temp.cst_midnight(pg_temp.ri(0, 10))
               ELSE t - random() * interval '30 days' END;
    at2 := CASE WHEN random() < 0.6 THEN NULL
                WHEN random() < 0.5 THEN greatest(at, t) + random() * interval '25 seconds' + interval '1 microsecond'
                ELSE greatest(at, t - interval '20 days') + random() * interval '20 days' + interval '1 second' END;
    sql := format('INSERT INTO healthcode.policy (region, valid_from, valid_until, %s, description_zh, description_en) '
                  'VALUES (%L, %s, %s, %s, %L, %L)',
                  pg_temp.policy_columns(), pg_temp.pick(pg_temp.policy_regions()), pg_temp.lit(at),
                  coalesce(pg_temp.lit(at2), 'NULL'), pg_temp.rand_policy_values(),
                  '随机测试规则 ' || step, 'random test version ' || step);
  WHEN 'policy update' THEN
    rid := pg_temp.pick_id('policy', 'NOT (region = ''000000'' AND valid_from IN (''-infinity'', ''2000-01-01''))');
    r := random();
    IF rid IS NULL THEN
      sql := 'UPDATE healthcode.policy SET description_en = description_en WHERE false';
    ELSIF r < 0.6 THEN
      sql := format('UPDATE healthcode.policy SET (%s) = (%s) WHERE id = %s', pg_temp.policy_columns(),
                    pg_temp.rand_policy_values(), rid);
    ELSIF r < 0.85 THEN
      sql := format('UPDATE healthcode.policy SET valid_until = %s WHERE id = %s',
                    CASE WHEN random() < 0.3 THEN 'NULL'
                         ELSE format('greatest(valid_from + interval ''1 second'', %s)',
                                     pg_temp.lit(t + (random() - 0.4) * interval '2 days')) END, rid);
    ELSE
      sql := format('UPDATE healthcode.policy SET region = %L WHERE id = %s', pg_temp.pick(pg_temp.policy_regions()), rid);
    END IF;
  WHEN 'policy delete' THEN
    sql := format('DELETE FROM healthcode.policy WHERE id = %s',
                  coalesce(pg_temp.pick_id('policy', 'NOT (region = ''000000'' AND valid_from IN (''-infinity'', ''2000-01-01''))'), -1));

  -- ---- people ----
  WHEN 'person move' THEN
    vals := '{}';
    FOR i IN 1 .. pg_temp.ri(1, 3) LOOP
      vals := vals || format('(%s, %L)', pg_temp.rand_person(), pg_temp.pick(pg_temp.homes()));
    END LOOP;
    sql := format('UPDATE healthcode.person p SET region = v.region FROM (SELECT DISTINCT ON (id) * FROM (VALUES %s) x(id, region) ORDER BY id, region) v '
                  'WHERE p.id = v.id', array_to_string(vals, ', '));
  WHEN 'person registered' THEN
    sql := format('UPDATE healthcode.person SET registered_at = %s WHERE id = %s',
                  pg_temp.lit(CASE WHEN random() < 0.5 THEN t - random() * interval '10 days' ELSE pg_temp.rand_at() END),
                  pg_temp.rand_person());
  WHEN 'person insert' THEN
    sql := format('INSERT INTO healthcode.person (region, subject, registered_at) '
                  'SELECT (%L::text[])[1 + g %% %s], healthcode.pseudonym(%L || g), %s - g * interval ''1 day'' '
                  'FROM generate_series(1, %s) g',
                  pg_temp.homes(), cardinality(pg_temp.homes()), 'consistency-random-bulk-' || step || '-',
                  pg_temp.lit(t - random() * interval '5 days'), pg_temp.ri(1, 4));
  WHEN 'person delete' THEN
    SELECT p.id INTO pid FROM healthcode.person p
     WHERE p.id NOT IN (SELECT person_id FROM pg_temp.hot)
       AND p.id NOT IN (SELECT healthcode.person_id(e.identifier) FROM pg_temp.extra e)
       AND NOT EXISTS (SELECT 1 FROM healthcode.manual_decision m WHERE m.person_id = p.id)  -- kept for the record
     ORDER BY p.id OFFSET floor(random() * 150) LIMIT 1;
    sql := format('DELETE FROM healthcode.person WHERE id = %s', coalesce(pid, -1));

  -- ---- a person whose stored timeline time has moved past: new evidence
  --      rewrites the row and the elapsed changes go into the history ----
  WHEN 'touch elapsed' THEN
    SELECT count(*) INTO n FROM healthcode.person_status s WHERE s.valid_until <= t;
    SELECT s.person_id INTO pid FROM healthcode.person_status s WHERE s.valid_until <= t
     ORDER BY s.person_id OFFSET floor(random() * n) LIMIT 1;
    pid := coalesce(pid, pg_temp.rand_person());
    r := random();
    IF r < 0.4 THEN
      sql := format('SELECT healthcode.record_decision(%s, ''override'', ''touch'', ''order %s'', %L, %s, %s)', pid, step,
                    pg_temp.pick(ARRAY['green', 'yellow', 'red']), pg_temp.lit(t - random() * interval '1 hour'),
                    pg_temp.lit(t + random() * interval '10 seconds' + interval '1 microsecond'));
    ELSIF r < 0.7 THEN
      sql := format('SELECT healthcode.import_contacts(%L::json)',
                    jsonb_build_array(jsonb_build_object('person_id', pid, 'kind', pg_temp.pick(ARRAY['close', 'secondary']),
                                                         'exposure_at', t - make_interval(days => pg_temp.lookback())
                                                                          + random() * interval '10 seconds',
                                                         'source_case', 'case-touch-' || step)));
    ELSE
      sql := format('INSERT INTO healthcode.declaration (person_id, region, declared_at, symptoms, temperature) '
                    'SELECT id, region, %s, ''{cough}'', 38.2 FROM healthcode.person WHERE id = %s',
                    pg_temp.lit(t - random() * interval '1 minute'), pid);
    END IF;

  -- ---- statements over many people at once ----
  WHEN 'bulk' THEN
    r := random();
    IF r < 0.3 THEN
      -- stays of 5-25 people in one place at about one time
      at := pg_temp.rand_at();
      part := pg_temp.partition_of(at);
      vals := ARRAY(SELECT DISTINCT pg_temp.rand_person()::text FROM generate_series(1, pg_temp.ri(5, 25)));
      sql := format('INSERT INTO healthcode.travel (person_id, region, place, at, source) '
                    'SELECT id, region, %L, %s, ''venue_scan'' FROM healthcode.person WHERE id IN (%s) ON CONFLICT DO NOTHING',
                    pg_temp.pick(pg_temp.places()), pg_temp.lit(at), array_to_string(vals, ', '));
    ELSIF r < 0.5 THEN
      recs := '[]';
      at := pg_temp.rand_at();
      FOR i IN 1 .. pg_temp.ri(5, 25) LOOP
        recs := recs || jsonb_build_object('person_id', pg_temp.rand_person(), 'kind', 'pcr',
                                           'sampled_at', at + random() * interval '3 hours' - interval '3 hours',
                                           'result', CASE WHEN random() < 0.1 THEN 'positive' ELSE 'negative' END,
                                           'lab', 'mass screening', 'sample_id', format('M%s-%s', step, i));
      END LOOP;
      sql := format('SELECT healthcode.import_test_results(%L::json)', recs);
    ELSIF r < 0.65 THEN
      vals := ARRAY(SELECT pg_temp.some_id('checkin')::text FROM generate_series(1, pg_temp.ri(3, 15)));
      sql := format('UPDATE healthcode.checkin SET temperature = %s WHERE id IN (%s)', pg_temp.rand_temperature(0.5),
                    array_to_string(vals, ', '));
    ELSIF r < 0.8 THEN
      vals := ARRAY(SELECT pg_temp.some_id('test_result')::text FROM generate_series(1, pg_temp.ri(3, 15)));
      sql := format('UPDATE healthcode.test_result SET result = CASE result WHEN ''positive'' THEN ''negative'' ELSE ''positive'' END '
                    'WHERE id IN (%s)', array_to_string(vals, ', '));
    ELSIF r < 0.9 THEN
      sql := format('DELETE FROM healthcode.travel WHERE place = %L AND at > %s', pg_temp.pick(pg_temp.places()),
                    pg_temp.lit(t - random() * interval '5 days'));
    ELSE
      vals := '{}';
      FOR i IN 1 .. pg_temp.ri(5, 20) LOOP
        vals := vals || format('(%s, %L)', pg_temp.rand_person(), pg_temp.pick(pg_temp.homes()));
      END LOOP;
      sql := format('UPDATE healthcode.person p SET region = v.region FROM (SELECT DISTINCT ON (id) * FROM (VALUES %s) x(id, region) ORDER BY id, region) v '
                    'WHERE p.id = v.id', array_to_string(vals, ', '));
    END IF;

  -- ---- MERGE: inserts, updates and deletes in one statement ----
  WHEN 'merge' THEN
    pid := pg_temp.rand_person();
    IF random() < 0.5 THEN
      -- a person's check-ins of the last days: new days added, known days
      -- changed, some withdrawn
      vals := '{}';
      k := pg_temp.ri(0, 12);
      FOR d IN 0 .. least(k, pg_temp.ri(2, 10)) LOOP
        vals := vals || format('(%s, %s, %L)',
                               pg_temp.lit(least(pg_temp.cst_midnight(k - d) + interval '8 hours' + random() * interval '10 hours',
                                                 t - interval '1 second')),
                               pg_temp.rand_temperature(0.15), pg_temp.pick(ARRAY['keep', 'keep', 'keep', 'drop']));
      END LOOP;
      sql := format('MERGE INTO healthcode.checkin k USING (SELECT p.id, p.region, v.* FROM healthcode.person p '
                    'CROSS JOIN (VALUES %s) v(at, temperature, action) WHERE p.id = %s) s '
                    'ON k.person_id = s.id AND k.day = (s.at AT TIME ZONE ''Asia/Shanghai'')::date '
                    'WHEN MATCHED AND s.action = ''drop'' THEN DELETE '
                    'WHEN MATCHED THEN UPDATE SET temperature = s.temperature '
                    'WHEN NOT MATCHED AND s.action = ''keep'' THEN INSERT (person_id, region, at, temperature) '
                    'VALUES (s.id, s.region, s.at, s.temperature)', array_to_string(vals, ', '), pid);
    ELSE
      -- a lab's batch: new samples, corrected ones, withdrawn ones
      vals := '{}';
      recs := '[]';             -- the known samples taken (a MERGE may touch a row once)
      FOR i IN 1 .. pg_temp.ri(1, 4) LOOP
        SELECT * INTO x FROM healthcode.test_result tr WHERE tr.id = pg_temp.some_id('test_result');
        IF FOUND AND random() < 0.6 AND NOT recs @> to_jsonb(x.id) THEN
          recs := recs || to_jsonb(x.id);
          vals := vals || format('(%s, %L, %L, %s, %L)', x.person_id, x.lab, x.sample_id, pg_temp.lit(x.sampled_at),
                                 pg_temp.pick(ARRAY['positive', 'negative', 'withdrawn']));
        ELSE
          vals := vals || format('(%s, %L, %L, %s, %L)', pg_temp.rand_person(), 'merge lab', format('G%s-%s', step, i),
                                 pg_temp.lit(pg_temp.rand_at()), pg_temp.pick(ARRAY['positive', 'negative', 'negative']));
        END IF;
      END LOOP;
      sql := format('MERGE INTO healthcode.test_result r USING (SELECT p.region, v.* FROM (VALUES %s) v(person_id, lab, sample_id, sampled_at, result) '
                    'JOIN healthcode.person p ON p.id = v.person_id) s '
                    'ON r.lab = s.lab AND r.sample_id = s.sample_id '
                    'WHEN MATCHED AND s.result = ''withdrawn'' THEN DELETE '
                    'WHEN MATCHED THEN UPDATE SET result = s.result '
                    'WHEN NOT MATCHED AND s.result <> ''withdrawn'' THEN INSERT (person_id, region, kind, sampled_at, result, lab, sample_id) '
                    'VALUES (s.person_id, s.region, ''pcr'', s.sampled_at, s.result, s.lab, s.sample_id)', array_to_string(vals, ', '));
    END IF;

  -- ---- a record moved to another person: a DELETE and an INSERT on the
  --      same table in one statement ----
  WHEN 'cte move' THEN
    part := pg_temp.pick(ARRAY['contact', 'test_result', 'travel']);
    rid := pg_temp.some_id(part);
    pid := pg_temp.rand_person();
    sql := format('WITH moved AS (DELETE FROM healthcode.%1$I WHERE id = %2$s RETURNING *) '
                  'INSERT INTO healthcode.%1$I (person_id, region, %3$s) SELECT p.id, p.region, %4$s '
                  'FROM moved m CROSS JOIN healthcode.person p WHERE p.id = %5$s%6$s',
                  part, rid,
                  CASE part WHEN 'contact' THEN 'kind, exposure_at, source_case'
                            WHEN 'test_result' THEN 'kind, sampled_at, result, lab, sample_id'
                            ELSE 'place, at, source, venue' END,
                  CASE part WHEN 'contact' THEN 'm.kind, m.exposure_at, m.source_case'
                            WHEN 'test_result' THEN 'm.kind, m.sampled_at, m.result, m.lab, m.sample_id || ''-moved'''
                            ELSE 'm.place, m.at, m.source, m.venue' END,
                  pid, CASE part WHEN 'travel' THEN ' ON CONFLICT DO NOTHING' ELSE '' END);

  WHEN 'truncate' THEN
    part := pg_temp.pick(ARRAY['test_result', 'contact', 'checkin', 'vaccination', 'audit_finding',
                               'risk_area', 'declaration', 'partition', 'partition']);
    IF part = 'partition' THEN
      rid := pg_temp.pick_id('travel');
      SELECT tr.tableoid::regclass::text INTO part FROM healthcode.travel tr WHERE tr.id = rid;
      sql := format('TRUNCATE %s', part);
    ELSIF part = 'declaration' THEN
      sql := 'TRUNCATE healthcode.declaration, healthcode.audit_finding';
    ELSE
      sql := format('TRUNCATE healthcode.%I', part);
    END IF;
  WHEN 'drop partitions' THEN
    sql := 'SELECT count(*) FROM healthcode.drop_expired_travel_partitions(interval ''0 days'')';
  END CASE;
  -- nothing to pick (an empty table): a statement that changes nothing
  sql := coalesce(sql, 'SELECT NULL');
END $$;

-- Runs one step and checks consistency now and at a random later instant;
-- after an inconsistency everyone is recomputed, so each step is judged on
-- its own.
CREATE FUNCTION pg_temp.run_step(step integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  step_kind text;
  step_sql text;
  state text;
  msg text;
  check_msg text;
  started timestamptz;
  bad jsonb;
  bad_later jsonb;
  later timestamptz := statement_timestamp()
                       + (ARRAY[interval '1 second', interval '30 seconds', interval '1 hour', interval '1 day',
                                interval '3 days', interval '15 days', interval '400 days'])[1 + floor(random() * 7)::integer];
BEGIN
  BEGIN
    SELECT m.kind, m.sql INTO step_kind, step_sql FROM pg_temp.make_step(step) m;
  EXCEPTION WHEN OTHERS THEN
    -- a fault of this test's generator: reported as a failed step
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT;
    step_kind := coalesce(step_kind, 'generator');
    step_sql := 'SELECT NULL -- the generator failed: ' || msg;
  END;
  started := clock_timestamp();
  BEGIN
    EXECUTE step_sql;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
  END;
  BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.person_id), '[]') INTO bad FROM healthcode.check_consistency() c;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS check_msg = MESSAGE_TEXT;
    bad := jsonb_build_array(jsonb_build_object('check_consistency() failed', check_msg));
  END;
  BEGIN
    SELECT coalesce(jsonb_agg(to_jsonb(c) ORDER BY c.person_id), '[]') INTO bad_later
      FROM healthcode.check_consistency(later) c;
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS check_msg = MESSAGE_TEXT;
    bad_later := jsonb_build_array(jsonb_build_object('check_consistency(later) failed', check_msg));
  END;
  INSERT INTO pg_temp.step_log
  VALUES (step, step_kind, step_sql, statement_timestamp(), coalesce(state, CASE WHEN step_kind = 'generator' THEN 'XX000' END),
          msg, jsonb_array_length(bad), bad,
          jsonb_array_length(bad_later), later, bad_later, clock_timestamp() - started);
  IF jsonb_array_length(bad) > 0 THEN
    PERFORM healthcode._recompute(ARRAY(SELECT p.id FROM healthcode.person p), 'consistency_random repair');
  END IF;
END $$;

\o /dev/null
SELECT format('SELECT pg_temp.run_step(%s)', g) FROM generate_series(1, :steps) g \gexec
\o

-- ---- what the steps did -----------------------------------------------------------
SELECT is((SELECT count(*) FROM step_log), :steps::bigint, 'every step ran');

-- (the failures themselves, should there be any: step, kind, error, statement;
-- the random data may break a constraint, or ask a lookback beyond the
-- national limit, which the policy guard refuses with 22003)
CREATE TEMP VIEW unexpected_failure AS
SELECT * FROM step_log
 WHERE sqlstate IS NOT NULL AND sqlstate NOT LIKE '23%'
   AND NOT (kind LIKE 'policy %' AND sqlstate = '22003' AND message LIKE '%beyond the national limit%');
SELECT is(ARRAY(SELECT format('step %s (%s): %s %s -- %s', step, kind, sqlstate, message, left(sql, 300))
                  FROM unexpected_failure ORDER BY step), '{}'::text[],
          'no step failed with an error other than an integrity violation of the random data');
SELECT diag(format('step %s (%s) failed: %s %s%s    %s', step, kind, sqlstate, message, E'\n', sql))
  FROM unexpected_failure ORDER BY step LIMIT 3;
SELECT ok((SELECT count(*) FILTER (WHERE sqlstate IS NULL) FROM step_log) >= 0.95 * :steps,
          'at least 95% of the steps changed data without an error');
SELECT is((SELECT count(DISTINCT kind) FROM step_log WHERE sqlstate IS NULL), (SELECT count(*) FROM step_kind),
          'every kind of step ran without an error at least once');

-- the main assertion
SELECT is((SELECT count(*) FROM step_log WHERE inconsistent > 0), 0::bigint,
          'check_consistency() is empty after every step');
SELECT diag(format(E'first inconsistent step %s of %s (%s), %s people differ; the statement:\n    %s\n'
                   'check_consistency() after it (%s):\n    %s', step, :steps, kind, inconsistent, sql,
                   CASE WHEN inconsistent > 3 THEN 'the first 3 rows' ELSE 'all rows' END,
                   (SELECT string_agg(r::text, E'\n    ') FROM jsonb_array_elements(bad_rows) WITH ORDINALITY x(r, o) WHERE o <= 3)))
  FROM step_log WHERE inconsistent > 0 ORDER BY step LIMIT 1;
SELECT diag(format('inconsistent steps of kind %s: %s, the first (step %s, %s people):%s    %s', kind, n, step, inconsistent, E'\n', sql))
  FROM (SELECT DISTINCT ON (kind) kind, step, inconsistent, sql, count(*) OVER (PARTITION BY kind) AS n
          FROM step_log WHERE inconsistent > 0 ORDER BY kind, step) k
 ORDER BY n DESC, kind;

SELECT is((SELECT count(*) FROM step_log WHERE inconsistent_later > 0 AND inconsistent = 0), 0::bigint,
          'after every step the stored timelines also agree with a recomputation at a later instant');
SELECT diag(format(E'first step %s (%s) whose timelines disagree at %s (%s after the step); the statement:\n    %s\n'
                   'the first row of check_consistency(later):\n    %s',
                   step, kind, later_at, later_at - ran_at, sql, bad_rows_later -> 0))
  FROM step_log WHERE inconsistent_later > 0 AND inconsistent = 0 ORDER BY step LIMIT 1;

-- not vacuous: the steps changed colours, in every direction, by data and by time
CREATE TEMP TABLE step_history AS
  SELECT * FROM status_history h
   WHERE NOT EXISTS (SELECT 1 FROM history_before b WHERE b.id = h.id) AND h.cause <> 'consistency_random repair';
SELECT diag(format('%s status_history entries by the steps, %s colour changes, %s by time; %s rejected steps; '
                   'steps took %s, the slowest %s (step %s, %s)',
                   (SELECT count(*) FROM step_history),
                   (SELECT count(*) FROM step_history WHERE from_colour IS NOT NULL AND from_colour <> to_colour),
                   (SELECT count(*) FROM step_history WHERE cause = 'time'),
                   (SELECT count(*) FROM step_log WHERE sqlstate IS NOT NULL),
                   (SELECT date_trunc('second', sum(duration)) FROM step_log), date_trunc('milliseconds', duration), step, kind))
  FROM step_log ORDER BY duration DESC LIMIT 1;
SELECT ok((SELECT count(*) FROM step_history WHERE from_colour <> to_colour) >= greatest(50, :steps / 10),
          'the steps changed many colours');
SELECT is((SELECT count(DISTINCT (from_colour, to_colour)) FROM step_history WHERE from_colour <> to_colour), 6::bigint,
          'every colour changed to every other colour');
SELECT ok((SELECT count(*) FROM step_history WHERE cause = 'time') > 0,
          'some changes were caused by time and written when the row was rewritten');

-- the history is a chain per person and ends in the stored colour
CREATE TEMP TABLE chain_breaks AS
SELECT * FROM (SELECT h.*, lag(to_colour) OVER (PARTITION BY person_id ORDER BY at, recorded_at) AS prev,
                      count(*) OVER (PARTITION BY person_id, at) AS same_at
                 FROM status_history h) h
 WHERE from_colour IS DISTINCT FROM prev;
SELECT is((SELECT count(*) FROM chain_breaks), 0::bigint,
          'every history entry starts from the colour the previous one ended in');
SELECT diag('chain break: ' || to_jsonb(c)::text) FROM chain_breaks c LIMIT 3;
SELECT is((SELECT count(*) FROM person_status s
            WHERE s.colour IS DISTINCT FROM (SELECT h.to_colour FROM status_history h WHERE h.person_id = s.person_id
                                              ORDER BY h.at DESC, h.recorded_at DESC LIMIT 1)), 0::bigint,
          'every person''s last history entry is their stored colour');

-- and after all of it, the timelines hold far ahead
SELECT is((SELECT count(*) FROM check_consistency(statement_timestamp() + interval '2 days') a
                             FULL JOIN check_consistency(statement_timestamp() + interval '30 days') b USING (person_id)), 0::bigint,
          'the final stored timelines agree with recomputations 2 and 30 days ahead');

-- ---- the risky-stay rule: every caller agrees with the hierarchy ----------------
-- The rule is written once (_stay_levels_sql); its callers hand it stays
-- found three ways. Each must give, on the history the steps left, exactly
-- the stays a brute-force reading of the rule gives: a medium- or high-risk
-- designation covering the place (division_covers: the hierarchy as code
-- ranges, not as the rule's equality joins, one a level) or naming the
-- stay's venue, in force at the stay. (test/pgtap/places.sql does the same
-- for places below the county and venues.)
SELECT healthcode._evidence_horizon(now()) AS horizon \gset
-- designations at each level of the hierarchy (a district, a city, a
-- province), each over places where people stayed since the horizon
INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
SELECT d.division, d.level, now() - interval '20 days', 'consistency_random: every level'
  FROM (SELECT min(t.place) AS district, left(max(t.place), 4) || '00' AS city, left(min(t.place), 2) || '0000' AS province
          FROM healthcode.travel t WHERE t.at >= :'horizon' AND right(t.place, 2) <> '00') p,
       LATERAL (VALUES (p.district, 'medium'), (p.city, 'high'), (p.province, 'medium')) d(division, level)
 WHERE d.division IS NOT NULL;
CREATE TEMP TABLE risky_reference AS
  SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high') AS high
    FROM healthcode.travel t
    JOIN healthcode.risk_area a
      ON a.level <> 'low'
     AND CASE WHEN a.venue IS NULL THEN healthcode.division_covers(a.division, t.place) ELSE a.venue::text = t.venue AND a.division = t.place END
     AND t.at >= a.effective_from AND (a.effective_until IS NULL OR t.at < a.effective_until)
   WHERE t.at >= :'horizon'
   GROUP BY t.person_id, t.id, t.at, t.place;
CREATE FUNCTION pg_temp.differs_from_reference(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM ((%1$s) EXCEPT ALL (TABLE risky_reference)
                                        UNION ALL ((TABLE risky_reference) EXCEPT ALL (%1$s))) d', q) INTO n;
  RETURN n;
END $$;
SELECT diag(format('risky stays: %s of %s stays since the horizon, %s high; covered through a community %s, a street %s, a district %s, a city %s, a province %s',
                   (SELECT count(*) FROM risky_reference),
                   (SELECT count(*) FROM healthcode.travel WHERE at >= :'horizon'),
                   (SELECT count(*) FILTER (WHERE high) FROM risky_reference),
                   count(*) FILTER (WHERE rank = 5), count(*) FILTER (WHERE rank = 4),
                   count(*) FILTER (WHERE rank = 3), count(*) FILTER (WHERE rank = 2), count(*) FILTER (WHERE rank = 1)))
  FROM (SELECT DISTINCT r.id, healthcode.division_rank(a.division) AS rank
          FROM risky_reference r JOIN healthcode.risk_area a
            ON a.level <> 'low' AND healthcode.division_covers(a.division, r.place)
           AND r.at >= a.effective_from AND (a.effective_until IS NULL OR r.at < a.effective_until)) c;
SELECT ok((SELECT count(DISTINCT healthcode.division_rank(a.division)) FILTER (WHERE healthcode.division_rank(a.division) IN (1, 2, 3))
             FROM risky_reference r JOIN healthcode.risk_area a
            ON a.level <> 'low' AND healthcode.division_covers(a.division, r.place)
           AND r.at >= a.effective_from AND (a.effective_until IS NULL OR r.at < a.effective_until)) = 3,
          'risky stays are covered through a district, a city and a province (the comparisons below see every level)');
SELECT is(pg_temp.differs_from_reference(format(
            $$SELECT s.* FROM (SELECT array_agg(id) AS ids FROM (SELECT id, row_number() OVER (ORDER BY id) / 150 AS part
                                                                   FROM healthcode.person) p GROUP BY part) c,
                              healthcode._risky_stays(c.ids, %L) s$$, :'horizon')), 0::bigint,
          'the rule from a few people''s stays (_risky_stays, 150 people a call) gives the reference''s risky stays');
SELECT is(pg_temp.differs_from_reference(format(
            $$SELECT * FROM healthcode._risky_stays(ARRAY(SELECT id FROM healthcode.person), %L)$$, :'horizon')), 0::bigint,
          'the rule from every stay of a range of ids (_risky_stays, everyone at once) gives the same');
SELECT is(pg_temp.differs_from_reference(format(
            $$SELECT * FROM healthcode._risky_stays_by(ARRAY(SELECT id FROM healthcode.person), %L, 'place')$$, :'horizon')), 0::bigint,
          'the rule from the designations'' places (_risky_stays_by, way place: many scattered people) gives the same');
SELECT is(pg_temp.differs_from_reference(format(
            $$SELECT * FROM healthcode._risky_stays_by(ARRAY(SELECT id FROM healthcode.person), %L, 'person')$$, :'horizon')), 0::bigint,
          'the rule from each person''s stays (_risky_stays_by, way person, everyone) gives the same');
SELECT is(pg_temp.differs_from_reference(format(
            $$SELECT s.person_id, u.id, u.at, u.place, u.high
                FROM unnest(healthcode._stays_in_changed_areas(ARRAY(SELECT a FROM healthcode.risk_area a), %L)) s,
                     unnest(s.ids, s.ats, s.places, s.highs) u(id, at, place, high)
               WHERE u.high IS NOT NULL$$, :'horizon')), 0::bigint,
          'the rule over the stays every designation covers (_stays_in_changed_areas) gives the same');
SELECT is(pg_temp.differs_from_reference(healthcode._stay_levels_sql(format(
            $$SELECT s.person_id, s.id, s.at, s.place, s.venue FROM healthcode.travel s WHERE s.at >= %L$$, :'horizon'))), 0::bigint,
          'the rule over a whole table of stays (as _travel_changed runs it over a statement''s rows) gives the same');

SELECT * FROM finish();
ROLLBACK;
