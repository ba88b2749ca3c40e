-- A risk-area change on the work list keeps each person's stays in the
-- areas with them when it lists them (recalc_pending.stay_*), so that a
-- batch re-examines them without reading travel again. A stay deleted
-- while listed must not come back with the batch: the person leaves the
-- list and is recalculated by the deletion's own trigger.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(15);

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

-- a pending person is erased: their row leaves the list
SELECT r.person_id AS erased FROM recalc_pending r ORDER BY r.person_id LIMIT 1 OFFSET 1 \gset
SELECT is((SELECT rows FROM erase_person(:erased, 'status_work_stays: erased while pending') WHERE what = 'recalc_pending'),
          1::bigint, 'erasing a pending person takes their one row off the list');
SELECT ok(NOT EXISTS (SELECT 1 FROM recalc_pending WHERE person_id = :erased), 'and nothing of theirs is left on it');

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

-- A batch asks which of its stays' days lost their day partition; the
-- days are found in C (_stays_days), and must be the days travel is cut
-- by: the day in Asia/Shanghai, which kept summer time until 1991.
SELECT is(_stays_days(ARRAY[
            ROW(1, '{1,2}', ARRAY['1988-06-01 23:30+08', '2026-12-05 15:59:59.999999+00']::timestamptz[],
                '{330106,330106}', NULL, NULL)::reexamined_stays,
            ROW(2, '{3,4}', ARRAY['2026-12-05 16:00+00', '2026-12-05 15:59:59.999999+00']::timestamptz[],
                '{330106,330106}', NULL, NULL)::reexamined_stays,
            ROW(3, '{}', '{}', '{}', NULL, NULL)::reexamined_stays]),
          '{1988-06-02,2026-12-05,2026-12-06}'::date[],
          '_stays_days: each day once, in order; 23:30 in summer 1988 is the next day (+09:00), midnight is at 16:00 UTC');
SELECT is(_stays_days(ARRAY(SELECT ROW(k, ARRAY[k], ARRAY[x.at], ARRAY['330106'], NULL, NULL)::reexamined_stays
                               FROM (SELECT k, timestamptz '1985-01-01 00:00+00'
                                               + (hashint4(k)::bigint + 2147483648) * interval '1 second' / 3.5 AS at
                                       FROM generate_series(1, 2000) k) x)),
          ARRAY(SELECT DISTINCT (x.at AT TIME ZONE 'Asia/Shanghai')::date
                  FROM (SELECT timestamptz '1985-01-01 00:00+00'
                               + (hashint4(k)::bigint + 2147483648) * interval '1 second' / 3.5 AS at
                          FROM generate_series(1, 2000) k) x
                 ORDER BY 1),
          '_stays_days: 2,000 instants from 1985 to 2023 fall on the days AT TIME ZONE Asia/Shanghai gives');

SELECT * FROM finish();
ROLLBACK;
