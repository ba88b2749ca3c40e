-- bench/scale.sql — the population of bench/scale.sh: :people synthetic
-- people (healthcode.generate_population, no itineraries, loaded with
-- healthcode.restore_mode on and their statuses then computed once by
-- _recompute: one pass instead of one a table), and an itinerary of
-- :stays_per_person stays each in bench.travel_src, which scale.sh writes
-- out for COPY.
--
-- Every person's first stay is in a district of Nanjing (city 320100) that
-- no bulletin names yet: the people are ranked by id into size classes
-- (bench.size_class: the first 1,000, the next 9,000, ... up to :people,
-- from :sizes), class i staying in 3201<i>. Designating the districts of
-- classes 1..i high risk concerns exactly the first size_i people;
-- designating the city concerns everyone. The other stays are mostly at
-- home, else in one of fourteen districts (two of them high and one medium
-- risk: a COPY with triggers has people to recalculate), in slots that
-- never overlap, so (person, at) never repeats.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
CREATE SCHEMA bench;

BEGIN;
SET LOCAL healthcode.restore_mode = on;
SELECT * FROM healthcode.generate_population(:people, stays_per_person => 0, days => 14, seed => 0.31);
COMMIT;
\timing on
SELECT healthcode._recompute(ARRAY(SELECT id FROM healthcode.person ORDER BY id), 'synthetic population') AS statuses_computed;
\timing off

CREATE TABLE bench.size_class AS
SELECT c.class, c.size, lag(c.size, 1, 0) OVER (ORDER BY c.class) AS after_rank,
       '3201' || lpad(c.class::text, 2, '0') AS place
  FROM unnest(:'sizes'::int[]) WITH ORDINALITY AS c(size, class);

CREATE TABLE bench.person_class AS
SELECT r.id AS person_id, r.region, c.class, c.place
  FROM (SELECT p.id, p.region, row_number() OVER (ORDER BY p.id) AS rank FROM healthcode.person p) r
  JOIN bench.size_class c ON r.rank > c.after_rank AND r.rank <= c.size;
CREATE UNIQUE INDEX ON bench.person_class (person_id);
CREATE INDEX ON bench.person_class (class);

SELECT setseed(0.17);
CREATE TABLE bench.travel_src AS
WITH districts AS (
  SELECT ARRAY['330102', '330105', '330106', '330110', '330203', '110101', '110105', '110108',
               '310101', '310104', '310115', '440103', '440106', '440305'] AS d
)
SELECT pc.person_id, pc.region, k,
       CASE WHEN k = 1 THEN pc.place
            WHEN random() < 0.7 THEN pc.region
            ELSE (SELECT d[1 + floor(random() * 14)::int] FROM districts) END AS place,
       date_trunc('second', now() - interval '1 hour'
                            - ((k - 1) + random() * 0.9) * (interval '13 days' / :stays_per_person)) AS at,
       'telecom' AS source
  FROM bench.person_class pc
  CROSS JOIN generate_series(1, :stays_per_person) k;

SELECT healthcode.create_travel_partitions(((now() - interval '15 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                           (now() AT TIME ZONE 'Asia/Shanghai')::date);

-- the statuses before any itinerary, restored before each COPY
CREATE TABLE bench.status_before AS SELECT * FROM healthcode.person_status;
-- (history entries by when they were written: their ids are opaque)
CREATE TABLE bench.marks (name text PRIMARY KEY, history_at timestamptz);
INSERT INTO bench.marks VALUES ('before_travel', (SELECT coalesce(max(recorded_at), '-infinity') FROM healthcode.status_history));

-- restore the state before an itinerary import, without recalculating
CREATE FUNCTION bench.reset_travel() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL healthcode.restore_mode = on;
  TRUNCATE healthcode.travel;
  TRUNCATE healthcode.person_status;
  INSERT INTO healthcode.person_status SELECT * FROM bench.status_before ORDER BY person_id;
  DELETE FROM healthcode.status_history
   WHERE recorded_at > (SELECT m.history_at FROM bench.marks m WHERE m.name = 'before_travel');
END $$;

-- after the itinerary: remember the statuses (bench.status_base) ...
CREATE FUNCTION bench.mark_base() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE IF EXISTS bench.status_base;
  CREATE TABLE bench.status_base AS SELECT * FROM healthcode.person_status ORDER BY person_id;
  INSERT INTO bench.marks VALUES ('base', (SELECT coalesce(max(recorded_at), '-infinity') FROM healthcode.status_history))
  ON CONFLICT (name) DO UPDATE SET history_at = excluded.history_at;
END $$;

-- ... and go back to them: no designation of ours, no imported result,
-- the statuses and history as they were (scale.sh vacuums afterwards)
CREATE FUNCTION bench.reset_status() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL healthcode.restore_mode = on;
  DELETE FROM healthcode.risk_area WHERE bulletin = 'bench scale';
  DELETE FROM healthcode.recalc_work;
  DELETE FROM healthcode.recalc_pending;
  DELETE FROM healthcode.test_result WHERE lab = 'bench import';
  TRUNCATE healthcode.person_status;
  INSERT INTO healthcode.person_status SELECT * FROM bench.status_base ORDER BY person_id;
  DELETE FROM healthcode.status_history
   WHERE recorded_at > (SELECT m.history_at FROM bench.marks m WHERE m.name = 'base');
END $$;

-- Waits (a look every 1/100 of the time so far, 1 ms to `poll` seconds
-- apart) until the status work list is
-- empty: when, and what it saw of the change on the way (created, listed,
-- how many people). A procedure that commits after each look, so that it
-- holds no snapshot meanwhile: a statement running all along would hold
-- back the xmin horizon, and the workers' scans of recalc_pending would
-- step over every row deleted since (not yet dead to everyone).
CREATE PROCEDURE bench.wait_empty(poll double precision, timeout interval,
                                  INOUT done_at timestamptz DEFAULT NULL, INOUT created_at timestamptz DEFAULT NULL,
                                  INOUT listed_at timestamptz DEFAULT NULL, INOUT people bigint DEFAULT NULL)
LANGUAGE plpgsql AS $$
DECLARE
  w record;
  started timestamptz := clock_timestamp();
  deadline timestamptz := started + timeout;
BEGIN
  LOOP
    SELECT x.created_at, x.listed_at, x.people INTO w FROM healthcode.recalc_work x ORDER BY x.id LIMIT 1;
    IF NOT FOUND THEN
      done_at := clock_timestamp();
      -- (no NULLs: psql's \gset would leave their variables unset; a list
      -- done between two looks: its listing unseen, people 0)
      created_at := coalesce(created_at, done_at);
      listed_at := coalesce(listed_at, created_at);
      people := coalesce(people, 0);
      RETURN;
    END IF;
    created_at := coalesce(wait_empty.created_at, w.created_at);
    IF w.listed_at IS NOT NULL THEN
      listed_at := w.listed_at;
      people := w.people;
    END IF;
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'the work list is not empty after %', timeout;
    END IF;
    COMMIT;
    -- (at 1,000 people the whole run is tens of ms: looks a fixed 20 ms
    -- apart added up to a quarter to it)
    PERFORM pg_sleep(least(poll, greatest(0.001, extract(epoch FROM clock_timestamp() - started) / 100)));
  END LOOP;
END $$;

-- the batches of a run: each batch's transaction stamps its rows'
-- computed_at with its start (statement_timestamp of the worker's step)
CREATE FUNCTION bench.batches(t0 timestamptz)
RETURNS TABLE (started timestamptz, people bigint)
LANGUAGE sql STABLE AS $$
  SELECT s.computed_at, count(*) FROM healthcode.person_status s
   WHERE s.computed_at >= $1 GROUP BY s.computed_at
  HAVING count(*) > 1   -- (not a one-row import's own recalculation)
   ORDER BY s.computed_at
$$;

ANALYZE;
