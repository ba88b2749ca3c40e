-- The consistency check on the workers (start_consistency_check): it goes
-- on the work list as kind check, changes nothing readers see, is worked
-- a batch at a time (stepped here by hand, as a worker would, inside this
-- transaction), and keeps exactly the people whose status is wrong in
-- consistency_finding.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(9);

SET LOCAL healthcode.recalc_workers = 0;
SELECT healthcode.create_key('330000') IS NOT NULL AS k1, healthcode.create_key('110000') IS NOT NULL AS k2 \gset
SELECT count(*) AS people FROM healthcode.generate_population(300, 14, 3, 0.2) \gset

SELECT start_consistency_check() AS clean_check \gset
SELECT is((SELECT kind || ' ' || (listed_at IS NULL) FROM recalc_work WHERE id = :clean_check), 'check true',
          'a check goes on the work list, not listed yet');
SELECT ok(NOT _work_pending(), 'a check is no pending change: readers read the stored statuses');
SELECT is(_recalc_step(100), (SELECT count(*)::integer FROM person), 'its first step lists everyone');
SELECT is(_recalc_step(100), 100, 'a step checks one batch');
SELECT is((SELECT people_left FROM recalc_progress WHERE work_id = :clean_check), (SELECT count(*) FROM person) - 100,
          'recalc_progress shows what is left of it');
DO $$ BEGIN WHILE healthcode._recalc_step(100) > 0 LOOP END LOOP; END $$;
SELECT is((SELECT count(*)::integer FROM consistency_finding WHERE check_id = :clean_check), 0,
          'a check of right statuses finds nothing');
SELECT ok(NOT EXISTS (SELECT 1 FROM recalc_work WHERE id = :clean_check), 'and leaves the work list when done');

-- three stored statuses made wrong behind the triggers' back
SET LOCAL healthcode.restore_mode = on;
CREATE TEMP TABLE spoiled AS
SELECT person_id FROM person_status WHERE colour = 'red' ORDER BY person_id LIMIT 3;
UPDATE person_status SET colour = 'green' WHERE person_id IN (SELECT person_id FROM spoiled);
SET LOCAL healthcode.restore_mode = off;
SELECT start_consistency_check() AS spoiled_check \gset
DO $$ BEGIN WHILE healthcode._recalc_step(70) > 0 LOOP END LOOP; END $$;
SELECT is(ARRAY(SELECT person_id FROM consistency_finding WHERE check_id = :spoiled_check ORDER BY 1),
          ARRAY(SELECT person_id FROM spoiled ORDER BY 1), 'a check finds exactly the people whose status is wrong');
SELECT is(ARRAY(SELECT (stored ->> 'colour') || '/' || (recomputed ->> 'colour') FROM consistency_finding
                 WHERE check_id = :spoiled_check ORDER BY person_id),
          ARRAY['green/red', 'green/red', 'green/red'], 'with what readers saw and what the evidence says');

SELECT * FROM finish();
ROLLBACK;
