-- bench/partitions.sql — the population of bench/partitions.sh: :people
-- people of Guangdong registered 400 days ago, a test every two weeks or
-- so over the last 85 days (six each), and a fortnight of daily check-ins
-- for three in ten of them, at some time in those 85 days. Loaded with
-- healthcode.restore_mode on (nothing recalculated: the engine's read of
-- the evidence is what is measured), with no partition made: every row in
-- its table's default partition, as in one table. bench.batch: :batch of
-- the people, the same for every measurement.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
CREATE SCHEMA bench;

BEGIN;
SET LOCAL healthcode.restore_mode = on;
INSERT INTO healthcode.person (region, subject, display_name, registered_at)
SELECT d.region, healthcode.pseudonym(healthcode.synthetic_identifier(d.region, g)), '某*',
       now() - interval '400 days'
  FROM generate_series(1, :people) g
  CROSS JOIN LATERAL (SELECT (ARRAY['440103', '440104', '440105', '440106', '440111',
                                    '440303', '440304', '440305', '440306', '440307'])[1 + g % 10] AS region) d;
SELECT setseed(0.41);
INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
SELECT p.id, p.region, 'pcr', now() - (k * 14 + random() * 10) * interval '1 day',
       CASE WHEN random() < 0.002 THEN 'positive' ELSE 'negative' END, 'lab ' || (p.id % 13), p.id || '-' || k
  FROM healthcode.person p CROSS JOIN generate_series(0, 5) k;
INSERT INTO healthcode.checkin (person_id, region, at, temperature)
SELECT p.id, p.region, s.start + d * interval '1 day', round((36.2 + random() * 0.7)::numeric, 1)
  FROM (SELECT x.*, now() - interval '85 days' + random() * interval '70 days' AS start
          FROM healthcode.person x WHERE random() < 0.3) p
  CROSS JOIN LATERAL (SELECT p.start) s
  CROSS JOIN generate_series(0, 13) d;
COMMIT;
CREATE TABLE bench.batch AS SELECT id FROM healthcode.person ORDER BY random() LIMIT :batch;
VACUUM ANALYZE;
