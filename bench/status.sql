-- bench/status.sql — the population of bench/status.sh: BENCH_PEOPLE
-- synthetic people (healthcode.generate_population, no itineraries), and
-- an itinerary of BENCH_STAYS stays for them in bench.travel_src, written
-- out for COPY. A tenth of the people (bench.upgrade_people) have stays in
-- 330108, which is a low-risk area until the benchmark upgrades it.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
CREATE SCHEMA bench;

SELECT * FROM healthcode.generate_population(:people, stays_per_person => 0, days => 14, seed => 0.31);
INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
VALUES ('330108', 'low', now() - interval '30 days', 'benchmark: the area to upgrade');

SELECT setseed(0.17);
CREATE TABLE bench.upgrade_people AS
SELECT id AS person_id FROM healthcode.person WHERE random() < 0.10;
CREATE UNIQUE INDEX ON bench.upgrade_people (person_id);

-- Each stay: mostly at home, else in one of the districts (never 330108
-- for people outside the chosen tenth); the chosen tenth each spend their
-- first stay in 330108.
CREATE TABLE bench.travel_src AS
WITH districts AS (
  SELECT ARRAY['330102', '330105', '330106', '330110', '330203', '110101', '110105', '110108',
               '310101', '310104', '310115', '440103', '440106', '440305'] AS d
), per_person AS (
  SELECT p.id, p.region, u.person_id IS NOT NULL AS upgrade
    FROM healthcode.person p LEFT JOIN bench.upgrade_people u ON u.person_id = p.id
)
SELECT pp.id AS person_id, pp.region,
       CASE WHEN pp.upgrade AND k = 1 THEN '330108'
            WHEN random() < 0.7 AND pp.region <> '330108' THEN pp.region
            ELSE (SELECT d[1 + floor(random() * 14)::int] FROM districts) END AS place,
       date_trunc('second', now() - interval '1 hour' - random() * interval '13 days') AS at,
       'telecom' AS source
  FROM per_person pp
  CROSS JOIN generate_series(1, :stays_per_person) k;
-- the person of a stay never repeats (person, at, place, source)
DELETE FROM bench.travel_src a USING bench.travel_src b
 WHERE a.ctid < b.ctid AND a.person_id = b.person_id AND a.at = b.at AND a.place = b.place;

SELECT healthcode.create_travel_partitions(((now() - interval '15 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                           (now() AT TIME ZONE 'Asia/Shanghai')::date);

-- the statuses before any itinerary, restored before each COPY with triggers
CREATE TABLE bench.status_before AS SELECT * FROM healthcode.person_status;
CREATE TABLE bench.history_before AS SELECT * FROM healthcode.status_history;

-- restore the state before an itinerary import, without recalculating
CREATE FUNCTION bench.reset() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  SET LOCAL healthcode.restore_mode = on;
  TRUNCATE healthcode.travel;
  TRUNCATE healthcode.person_status;
  INSERT INTO healthcode.person_status SELECT * FROM bench.status_before;
  DELETE FROM healthcode.status_history WHERE recorded_at > (SELECT coalesce(max(recorded_at), '-infinity') FROM bench.history_before);
END $$;

ANALYZE;
