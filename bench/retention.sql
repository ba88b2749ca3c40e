-- bench/retention.sql — data for bench/retention.sh: a synthetic population
-- (recent stays), and for every person evidence spread over the last 150
-- days: tests for everyone every few days, check-ins of a fifth of them,
-- declarations; with the default national evidence_kept_days (90) about
-- two fifths of it is no longer kept. psql variables: people.
\set ON_ERROR_STOP 1
CREATE EXTENSION healthcode;
SELECT healthcode.create_key('330000') IS NOT NULL AS key;
SELECT count(*) AS people FROM healthcode.generate_population(:people, 5, 14);
CREATE SCHEMA bench;
-- (straight into the tables, triggers off: the statuses are computed once, after)
ALTER TABLE healthcode.test_result DISABLE TRIGGER USER;
ALTER TABLE healthcode.checkin DISABLE TRIGGER USER;
ALTER TABLE healthcode.declaration DISABLE TRIGGER USER;
INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
SELECT p.id, p.region, 'pcr', now() - (k * 10 + (p.id % 10)) * interval '1 day' - interval '3 hours', 'negative',
       'bench lab', p.id::text || '-' || k
  FROM healthcode.person p CROSS JOIN generate_series(0, 14) k
ON CONFLICT DO NOTHING;
INSERT INTO healthcode.checkin (person_id, region, at, temperature)
SELECT p.id, p.region, now() - d * interval '1 day' - interval '2 hours', 36.5
  FROM healthcode.person p CROSS JOIN generate_series(0, 149, 3) d
 WHERE p.id % 5 = 0
ON CONFLICT DO NOTHING;
INSERT INTO healthcode.declaration (person_id, region, declared_at, symptoms)
SELECT p.id, p.region, now() - d * interval '1 day' - interval '1 hour', '{}'
  FROM healthcode.person p CROSS JOIN generate_series(1, 149, 30) d
ON CONFLICT DO NOTHING;
ALTER TABLE healthcode.test_result ENABLE TRIGGER USER;
ALTER TABLE healthcode.checkin ENABLE TRIGGER USER;
ALTER TABLE healthcode.declaration ENABLE TRIGGER USER;
-- everyone's status from all of it, as the triggers would have left it
SELECT healthcode._recompute(ARRAY(SELECT id FROM healthcode.person ORDER BY id), 'bench') >= 0 AS computed;
VACUUM ANALYZE;
