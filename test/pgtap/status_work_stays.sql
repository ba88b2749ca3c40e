-- A risk-area change on the work list keeps each person's stays in the
-- areas with them when it lists them (recalc_pending.stay_*), so that a
-- batch re-examines them without reading travel again. A stay deleted
-- while listed must not come back with the batch: the person leaves the
-- list and is recalculated by the deletion's own trigger.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(11);

SET LOCAL healthcode.recalc_inline_limit = 0;
SET LOCAL healthcode.recalc_workers = 0;
SELECT healthcode.create_key('330000') IS NOT NULL AS k1, healthcode.create_key('110000') IS NOT NULL AS k2 \gset
SELECT count(*) AS people FROM healthcode.generate_population(400, 14, 3, 0.4) \gset
-- the busiest district becomes high risk
SELECT place AS area FROM travel GROUP BY place ORDER BY count(*) DESC, place LIMIT 1 \gset
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES (:'area', 'high', now() - interval '20 days', 'status_work_stays');
SELECT ok(_recalc_step(50) > 0, 'the change is listed');
SELECT is((SELECT count(*)::integer FROM recalc_pending WHERE stay_ids IS NULL OR cardinality(stay_ids) = 0
                                                           OR cardinality(stay_ids) <> cardinality(stay_places)), 0,
          'every listed person comes with their stays in the area');
SELECT is((SELECT count(*)::integer FROM recalc_pending r, unnest(r.stay_ids, r.stay_places) u(id, place)
            WHERE NOT EXISTS (SELECT 1 FROM travel t WHERE t.id = u.id AND t.person_id = r.person_id AND t.place = u.place)),
          0, 'and exactly their stays: each is a travel row of theirs there');

-- a pending person loses the one stay that made them red
SELECT r.person_id AS victim, r.stay_ids[1] AS stay
  FROM recalc_pending r
 WHERE cardinality(r.stay_ids) = 1
   AND NOT EXISTS (SELECT 1 FROM test_result t WHERE t.person_id = r.person_id AND t.result = 'positive')
   AND NOT EXISTS (SELECT 1 FROM contact c WHERE c.person_id = r.person_id)
 ORDER BY r.person_id LIMIT 1 \gset
SELECT is((SELECT colour::text FROM status(:victim)), 'red', 'a pending person reads red already (fresh)');
DELETE FROM travel WHERE id = :stay;
SELECT ok(NOT EXISTS (SELECT 1 FROM recalc_pending WHERE person_id = :victim),
          'deleting their listed stay takes them off the list');
SELECT ok(NOT EXISTS (SELECT 1 FROM person_status s, jsonb_array_elements(s.reasons) x
                       WHERE s.person_id = :victim AND (x ->> 'ref')::bigint = :stay),
          'and their stored status no longer cites the stay');
DO $$ BEGIN WHILE healthcode._recalc_step(60) > 0 LOOP END LOOP; END $$;
SELECT ok(NOT EXISTS (SELECT 1 FROM recalc_work), 'the work list empties');
SELECT is_empty('SELECT * FROM healthcode.check_consistency()',
                'and every status agrees with a full recalculation: the deleted stay did not come back');

-- an updated designation: the old and the new cover the same stays, each
-- listed once
UPDATE risk_area SET level = 'medium' WHERE bulletin = 'status_work_stays';
SELECT ok(_recalc_step(50) > 0, 'the update (the old and the new designation of the area) is listed');
SELECT is((SELECT count(*)::integer FROM recalc_pending r
            WHERE cardinality(r.stay_ids) <> (SELECT count(DISTINCT u.id) FROM unnest(r.stay_ids) u(id))),
          0, 'each stay listed once, though both designations cover it');
DO $$ BEGIN WHILE healthcode._recalc_step(60) > 0 LOOP END LOOP; END $$;
SELECT is_empty('SELECT * FROM healthcode.check_consistency()',
                'after it, every status agrees with a full recalculation');

SELECT * FROM finish();
ROLLBACK;
