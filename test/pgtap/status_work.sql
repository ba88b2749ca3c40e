-- The status work list (66_status_work.sql), stepped by hand: with
-- healthcode.recalc_inline_limit = 0 and recalc_workers = 0 a risk-area
-- designation or a policy version only records itself in recalc_work and
-- leaves person_status as it was; this file then plays the workers' part,
-- calling _recalc_step(k) with small random k, and checks at random moments
-- (a fixed seed) that what readers see — current_status for everyone,
-- status() for a sample, the "since" of the colour, check_consistency() —
-- is what a full fresh recalculation gives. Once the list is empty, the
-- stored statuses must be those the same change gives when recalculated in
-- its own statement (done first on a copy rolled back to a savepoint), and
-- status_history must hold each colour change once, dated at the change's
-- created_at. Also: three changes pending at once, people concerned by two
-- of them, imports and deletions for pending people, recalc_progress, the
-- limits of _recalc_step, the four settings (the inline limit on both
-- sides of its boundary; only a superuser sets them), and what an operator
-- reads (fresh for a pending person of its region; a made-up row for
-- another region's person read as given).
-- (workers that an earlier file in this database started may still be
-- there, with nothing left to do: finishing, or a standby, which stays;
-- recalc_progress counts them. Stopped, and waited for, at most 30 s)
DO $$
BEGIN
  PERFORM pg_terminate_backend(a.pid) FROM pg_stat_activity a
   WHERE a.backend_type = 'healthcode recalculation' AND a.datname = current_database();
  FOR i IN 1..300 LOOP
    PERFORM pg_stat_clear_snapshot();
    EXIT WHEN healthcode._recalc_workers_running() = 0;
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(119);

-- ---- data -----------------------------------------------------------------------------
SELECT create_key('330000') IS NOT NULL AS made_key \gset
SELECT count(*) AS generated FROM generate_population(400, 4, 10, 0.25) \gset
SELECT setseed(0.1919);

-- scripted people: a green Beijing resident and a green Hangzhou resident,
-- each with a stay in 330102 (designated high risk below)
SELECT p.id AS p_bj FROM person p JOIN person_status s ON s.person_id = p.id
 WHERE p.region LIKE '11%' AND s.colour = 'green' AND s.next = '[]'
   AND NOT EXISTS (SELECT 1 FROM travel t WHERE t.person_id = p.id AND t.place = '330102')
 ORDER BY p.id LIMIT 1 \gset
SELECT p.id AS p_hz FROM person p JOIN person_status s ON s.person_id = p.id
 WHERE p.region BETWEEN '330100' AND '330199' AND s.colour = 'green' AND s.next = '[]'
   AND NOT EXISTS (SELECT 1 FROM travel t WHERE t.person_id = p.id AND t.place = '330102')
 ORDER BY p.id LIMIT 1 \gset
INSERT INTO travel (person_id, region, place, at, source)
SELECT p.id, p.region, '330102', now() - interval '2 days', 'telecom' FROM person p WHERE p.id IN (:p_bj, :p_hz);

-- What readers see now (current_status) against a full fresh recalculation
-- at the same instant: the number of people on which they differ.
-- The analysts' counts now (status_summary by home region, status_totals at
-- every level, rounded and left out alike) against the same recalculation's:
-- the cells on which they differ count too.
CREATE FUNCTION pg_temp.readers_wrong() RETURNS bigint LANGUAGE sql AS $$
  WITH fresh AS MATERIALIZED (
    SELECT f.person_id, p.region, f.timeline
      FROM healthcode._fresh_status(ARRAY(SELECT p.id FROM healthcode.person p), now()) f
      JOIN healthcode.person p ON p.id = f.person_id
  ), summary AS (
    SELECT x.region, (x.timeline).colour, healthcode._published_count(count(*)) AS people
      FROM fresh x GROUP BY 1, 2
  ), totals AS (
    SELECT l.level, l.region, (x.timeline).colour, healthcode._published_count(count(*)) AS people
      FROM fresh x CROSS JOIN LATERAL healthcode._region_levels(x.region) l GROUP BY 1, 2, 3
  )
  SELECT (SELECT count(*)
            FROM healthcode.current_status c
            FULL JOIN fresh f USING (person_id)
           WHERE (c.colour, c.vaccinated, c.reasons, c.valid_until)
                 IS DISTINCT FROM ((f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons, (f.timeline).valid_until))
       + (SELECT count(*)
            FROM (SELECT * FROM summary WHERE people IS NOT NULL) e
            FULL JOIN healthcode.status_summary v USING (region, colour)
           WHERE e.people IS DISTINCT FROM v.people)
       + (SELECT count(*)
            FROM (SELECT * FROM totals WHERE people IS NOT NULL) e
            FULL JOIN healthcode.status_totals v USING (level, region, colour)
           WHERE e.people IS DISTINCT FROM v.people)
$$;
-- status() for each person of the sample, against the same
CREATE TEMP TABLE sample (person_id bigint PRIMARY KEY);
CREATE FUNCTION pg_temp.status_wrong() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*)
    FROM pg_temp.sample x
    LEFT JOIN LATERAL healthcode.status(x.person_id) st ON true
    LEFT JOIN healthcode._fresh_status(ARRAY(SELECT y.person_id FROM pg_temp.sample y), now()) f
           ON f.person_id = x.person_id
   WHERE st.person_id IS NULL
      OR (st.colour, st.vaccinated, st.reasons, st.valid_until)
         IS DISTINCT FROM ((f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons, (f.timeline).valid_until)
$$;
-- the people whose colour a change gives another "since": it must be the
-- change's created_at, whether read fresh (pending) or stored (done)
CREATE TEMP TABLE since_expected (person_id bigint PRIMARY KEY, since timestamptz);
CREATE FUNCTION pg_temp.since_wrong() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*)
    FROM pg_temp.since_expected e
    LEFT JOIN LATERAL healthcode.status(e.person_id, clock_timestamp()) st ON true
   WHERE st.since IS DISTINCT FROM e.since
$$;

-- One worker's step, as its own top-level statement (\gexec below): a
-- random batch of 1-12 people, and at random moments (before or after it)
-- the readers compared with a fresh recalculation.
CREATE TEMP TABLE step_log (
  n             serial PRIMARY KEY,
  phase         text,
  k             integer,
  got           integer,
  left_before   bigint,
  left_after    bigint,
  unlisted      bigint,
  checked       boolean,
  readers_wrong bigint,
  status_wrong  bigint,
  since_wrong   bigint,
  inconsistent  bigint
);
CREATE FUNCTION pg_temp.step(phase text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  k integer := 1 + floor(random() * 12)::integer;
  look_before boolean := random() < 0.15;
  look_after boolean := random() < 0.25;
  -- (the full comparison, the slowest, at half the moments)
  full_check boolean := random() < 0.5;
  left_before bigint := (SELECT count(*) FROM healthcode.recalc_pending);
  got integer;
BEGIN
  IF look_before AND EXISTS (SELECT 1 FROM healthcode.recalc_work) THEN
    INSERT INTO pg_temp.step_log (phase, k, left_before, unlisted, checked, readers_wrong, status_wrong, since_wrong, inconsistent)
    VALUES (phase, NULL, left_before, (SELECT count(*) FROM healthcode.recalc_work w WHERE w.listed_at IS NULL), true,
            pg_temp.readers_wrong(), pg_temp.status_wrong(), pg_temp.since_wrong(),
            CASE WHEN full_check THEN (SELECT count(*) FROM healthcode.check_consistency()) ELSE 0 END);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM healthcode.recalc_work) THEN
    RETURN;      -- (the list is empty: the steps left over do nothing)
  END IF;
  got := healthcode._recalc_step(k);
  INSERT INTO pg_temp.step_log (phase, k, got, left_before, left_after, unlisted, checked, readers_wrong, status_wrong,
                                since_wrong, inconsistent)
  SELECT phase, k, got, left_before, (SELECT count(*) FROM healthcode.recalc_pending),
         (SELECT count(*) FROM healthcode.recalc_work w WHERE w.listed_at IS NULL), look_after,
         CASE WHEN look_after THEN pg_temp.readers_wrong() END,
         CASE WHEN look_after THEN pg_temp.status_wrong() END,
         CASE WHEN look_after THEN pg_temp.since_wrong() END,
         CASE WHEN look_after AND full_check THEN (SELECT count(*) FROM healthcode.check_consistency())
              WHEN look_after THEN 0 END;
END $$;

-- The stored statuses as a change recalculated in its own statement leaves
-- them (recorded on a copy rolled back to a savepoint), against those the
-- work list leaves: the people on which they differ, except the excluded.
CREATE FUNCTION pg_temp.differs_from_inline(inline jsonb, excluded bigint[]) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*)
    FROM healthcode.person_status s
    FULL JOIN jsonb_populate_recordset(NULL::healthcode.person_status, inline) i USING (person_id)
   WHERE person_id <> ALL (excluded)
     AND (s.colour, s.vaccinated, s.reasons, s.valid_until, s.next, s.inputs)
         IS DISTINCT FROM (i.colour, i.vaccinated, i.reasons, i.valid_until, i.next, i.inputs)
$$;
-- The history a change wrote against the colour changes the same change
-- recalculated in its statement wrote: each person's once, same from and
-- to, dated at created_at. The number of discrepancies.
CREATE FUNCTION pg_temp.history_wrong(inline jsonb, the_cause text, created timestamptz, excluded bigint[])
RETURNS bigint LANGUAGE sql AS $$
  WITH got AS (
    SELECT h.person_id, h.from_colour::text AS from_colour, h.to_colour::text AS to_colour, h.at
      FROM healthcode.status_history h
     WHERE h.cause = the_cause AND h.person_id <> ALL (excluded)
  ), want AS (
    SELECT (e ->> 'person_id')::bigint AS person_id, e ->> 'from' AS from_colour, e ->> 'to' AS to_colour
      FROM jsonb_array_elements(inline) e
     WHERE (e ->> 'person_id')::bigint <> ALL (excluded)
  )
  SELECT (SELECT count(*) FROM got g WHERE g.at IS DISTINCT FROM created)
       + (SELECT count(*) FROM (SELECT g.person_id FROM got g GROUP BY g.person_id HAVING count(*) > 1) d)
       + (SELECT count(*) FROM got g FULL JOIN want w USING (person_id)
           WHERE (g.from_colour, g.to_colour) IS DISTINCT FROM (w.from_colour, w.to_colour))
$$;

CREATE TEMP TABLE before AS SELECT * FROM person_status;
-- the people that evidence written below touches while the change is
-- pending: their status is recalculated by their own statement, so they are
-- left out of the comparison with the inline copy
CREATE TEMP TABLE touched (person_id bigint PRIMARY KEY);

SET LOCAL healthcode.recalc_workers = 0;

-- ---- a risk-area designation, recalculated in its statement (the copy) -----------------
SAVEPOINT inline_copy;
SET LOCAL healthcode.recalc_inline_limit = 1000000;
SET LOCAL healthcode.change_cause = 'work list test: bulletin';
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330102', 'high', now() - interval '20 days', 'work list test 1');
SELECT (SELECT count(*) FROM recalc_work) AS inline_work_rows,
       (SELECT jsonb_agg(to_jsonb(s)) FROM person_status s) AS inline_status,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('person_id', h.person_id, 'from', h.from_colour, 'to', h.to_colour)), '[]')
          FROM status_history h WHERE h.cause = 'work list test: bulletin') AS inline_history \gset
ROLLBACK TO SAVEPOINT inline_copy;
SELECT is(:inline_work_rows::bigint, 0::bigint,
          'inline_limit above the stays a designation touches: recalculated in its statement, no recalc_work row');

-- ---- the same designation through the work list -----------------------------------------
SET LOCAL healthcode.recalc_inline_limit = 0;
SET LOCAL healthcode.change_cause = 'work list test: bulletin';
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330102', 'high', now() - interval '20 days', 'work list test 1');
SET LOCAL healthcode.change_cause = '';
SELECT id AS w1, created_at AS w1_at FROM recalc_work \gset

CREATE TEMP TABLE concerned AS
  SELECT DISTINCT t.person_id FROM travel t
   WHERE t.place = '330102' AND t.at >= _evidence_horizon(statement_timestamp());
INSERT INTO since_expected
  SELECT (e ->> 'person_id')::bigint, :'w1_at'::timestamptz
    FROM jsonb_array_elements(:'inline_history'::jsonb) e
   WHERE e ->> 'from' IS DISTINCT FROM e ->> 'to';
INSERT INTO sample
  SELECT person_id FROM (SELECT person_id FROM concerned ORDER BY random() LIMIT 15) a
  UNION SELECT person_id FROM (SELECT p.id AS person_id FROM person p ORDER BY random() LIMIT 15) b;

SELECT results_eq(
  'SELECT kind, cause, listed_at IS NULL, people IS NULL, (areas[1]).division FROM recalc_work',
  $$VALUES ('risk_area', 'work list test: bulletin', true, true, '330102')$$,
  'with inline_limit 0, the designation records one recalc_work row, not listed yet');
SELECT is((SELECT count(*) FROM recalc_pending), 0::bigint, 'no one is listed before a step');
SELECT is((SELECT count(*) FROM person_status s FULL JOIN before b USING (person_id)
            WHERE to_jsonb(s) IS DISTINCT FROM to_jsonb(b)), 0::bigint,
          'the designation''s statement left person_status as it was');
SELECT cmp_ok((SELECT count(*) FROM concerned), '>=', 40::bigint, 'the designation concerns dozens of people');
SELECT cmp_ok((SELECT count(*) FROM since_expected), '>=', 10::bigint,
              'and changes the colour of at least ten of them (the copy recalculated inline says)');
SELECT is(pg_temp.readers_wrong(), 0::bigint,
          'current_status already gives everyone the colour a fresh recalculation gives');
SELECT is((SELECT count(*) FROM current_status c JOIN since_expected e USING (person_id) JOIN before b USING (person_id)
            WHERE c.colour = b.colour), 0::bigint,
          'for each person whose colour the change changes, current_status differs from the stored one');
SELECT is(pg_temp.status_wrong(), 0::bigint, 'status() of a sample gives the fresh status');
SELECT is(pg_temp.since_wrong(), 0::bigint,
          'status() dates each colour change at the change''s created_at (recalc_work.created_at)');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() finds nothing wrong');
SELECT results_eq(
  'SELECT work_id, kind, listed_at, people, people_left, workers FROM recalc_progress',
  format('VALUES (%s::bigint, %L::text, NULL::timestamptz, NULL::bigint, NULL::bigint, 0)', :w1, 'risk_area'),
  'recalc_progress shows the change, not listed yet, and no worker');

-- ---- what an operator reads meanwhile ------------------------------------------------------
SELECT is(pg_temp.rows_as('regress_hc_op_hz',
            format('SELECT colour FROM healthcode.current_status WHERE person_id = %s', :p_hz)),
          ARRAY['red'],
          'an operator of 330100 reads in current_status the fresh colour of a pending person of its region');
SELECT is((SELECT colour::text FROM person_status WHERE person_id = :p_hz), 'green', '(whose stored colour is green)');
-- a made-up row: yellow, made-up reasons; the person is from Beijing, red when computed fresh
SELECT is(pg_temp.rows_as('regress_hc_op_hz',
            format($q$SELECT (x).colour, (x).reasons ->> 0, (x).since = '2022-01-02 00:00+00'
                       FROM (SELECT healthcode._read_status(ROW(%s, '110105', 'yellow', false, '["made up"]',
                                      '2022-01-02 00:00+00', 'infinity', '[]', now(), NULL)::healthcode.person_status,
                                      now()) AS x) y$q$, :p_bj)),
          ARRAY['yellow|made up|true'],
          '_read_status by that operator: a made-up row of a person of another region is read as given');
SELECT is(pg_temp.rows_as('regress_hc_op_hz',
            format($q$SELECT (x).colour, (x).reasons ->> 0
                       FROM (SELECT healthcode._read_status(ROW(%s, '330102', 'yellow', false, '["made up"]',
                                      '2022-01-02 00:00+00', 'infinity', '[]', now(), NULL)::healthcode.person_status,
                                      now()) AS x) y$q$, :p_bj)),
          ARRAY['yellow|made up'],
          '... and so is one that gives that person a region of the operator''s (not their own)');
SELECT is((SELECT (_read_status(ROW(:p_bj, (SELECT region FROM person WHERE id = :p_bj), 'yellow', false, '["made up"]',
                                    '2022-01-02 00:00+00', 'infinity', '[]', now(), NULL)::person_status, now())).colour::text),
          'red', '(the superuser, whose scope covers Beijing, gets that person computed fresh: red)');

-- ---- evidence for people of a change not listed yet ---------------------------------------
-- a green person with no stay in 330102 stays there now: their own statement
-- recalculates them (the area is already high risk)
SELECT p.id AS p_new FROM person p JOIN person_status s ON s.person_id = p.id
 WHERE s.colour = 'green' AND p.id NOT IN (SELECT person_id FROM concerned) AND p.id NOT IN (SELECT person_id FROM sample)
 ORDER BY p.id LIMIT 1 \gset
INSERT INTO touched VALUES (:p_new);
INSERT INTO travel (person_id, region, place, at, source)
SELECT p.id, p.region, '330102', now() - interval '1 day', 'venue_scan' FROM person p WHERE p.id = :p_new;
SELECT is((SELECT colour::text FROM person_status WHERE person_id = :p_new), 'red',
          'a stay imported in the designated area while the change is pending recalculates its person at once');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'readers are right after it');

-- ---- the first step lists the people -------------------------------------------------------
SELECT is(_recalc_step(3), (SELECT count(*)::integer FROM concerned) + 1,
          'the first step lists everyone the change concerns (the new stay''s person too), and returns how many');
SELECT is((SELECT count(*) FROM recalc_pending WHERE work_id = :w1), (SELECT count(*) FROM concerned) + 1,
          'recalc_pending holds them');
SELECT ok((SELECT listed_at IS NOT NULL AND people = people_left AND people = (SELECT count(*) FROM concerned) + 1
             FROM recalc_progress WHERE work_id = :w1),
          'recalc_progress: listed_at set after the first step, people = people_left = the people listed');
SELECT is((SELECT count(*) FROM person_status s FULL JOIN before b USING (person_id)
            WHERE to_jsonb(s) IS DISTINCT FROM to_jsonb(b) AND person_id <> :p_new), 0::bigint,
          'listing recalculated no one');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'readers are right once the people are listed');

-- ---- evidence for listed people while they wait ---------------------------------------------
-- a negative test (nothing to change), a positive test, the deletion of
-- someone's stays in the area, a person deleted
SELECT e.person_id AS p_neg FROM since_expected e WHERE e.person_id NOT IN (SELECT person_id FROM sample)
 ORDER BY e.person_id LIMIT 1 \gset
SELECT e.person_id AS p_pos FROM since_expected e WHERE e.person_id NOT IN (SELECT person_id FROM sample)
 ORDER BY e.person_id OFFSET 1 LIMIT 1 \gset
SELECT e.person_id AS p_unstay FROM since_expected e WHERE e.person_id NOT IN (SELECT person_id FROM sample)
 ORDER BY e.person_id OFFSET 2 LIMIT 1 \gset
SELECT c.person_id AS p_gone FROM concerned c
 WHERE c.person_id NOT IN (SELECT person_id FROM sample) AND c.person_id NOT IN (:p_neg, :p_pos, :p_unstay, :p_bj, :p_hz)
 ORDER BY c.person_id DESC LIMIT 1 \gset
INSERT INTO touched VALUES (:p_neg), (:p_pos), (:p_unstay), (:p_gone);
SELECT is((SELECT count(*) FROM recalc_pending WHERE person_id IN (:p_neg, :p_pos, :p_unstay, :p_gone)), 4::bigint,
          '(four people on the list, not recalculated yet)');
SELECT since FROM status(:p_neg, clock_timestamp()) \gset neg_before_
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
SELECT p.id, p.region, 'pcr', now() - interval '3 hours', 'negative', 'work list lab', 'WL-NEG' FROM person p WHERE p.id = :p_neg;
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
SELECT p.id, p.region, 'pcr', now() - interval '3 hours', 'positive', 'work list lab', 'WL-POS' FROM person p WHERE p.id = :p_pos;
DELETE FROM travel WHERE person_id = :p_unstay AND place = '330102';
DELETE FROM person WHERE id = :p_gone;
DELETE FROM since_expected WHERE person_id IN (:p_neg, :p_pos, :p_unstay, :p_gone);
SELECT is(pg_temp.readers_wrong(), 0::bigint,
          'readers are right after imports and deletions for pending people');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() is empty');
-- The import's own recalculation settles the change first (_settle_pending):
-- the designation's colour change keeps its cause and time.
SELECT is((SELECT since FROM status(:p_neg, clock_timestamp())), :'neg_before_since'::timestamptz,
          'a negative test leaves the "since" a reader saw for a pending person (the change''s created_at)');
SELECT is((SELECT count(*) FROM status_history WHERE person_id = :p_neg AND cause = 'test_result insert'), 0::bigint,
          'and records no colour change under its own cause');

-- ---- the steps, with readers checked at random moments ---------------------------------------
\o /dev/null
SELECT format('SELECT pg_temp.step(%L)', 'bulletin') FROM generate_series(1, 30) \gexec
\o
SELECT is((SELECT count(*) FROM recalc_work), 0::bigint, 'the steps emptied the work list');
SELECT is((SELECT count(*) FROM recalc_pending), 0::bigint, 'and recalc_pending');
SELECT cmp_ok((SELECT count(*) FROM step_log WHERE phase = 'bulletin' AND checked AND left_before > 0), '>=', 4::bigint,
              'readers were checked at four moments or more while people were pending');
SELECT is((SELECT sum(readers_wrong) FROM step_log WHERE phase = 'bulletin' AND checked), 0::numeric,
          'current_status was right at every moment checked');
SELECT is((SELECT sum(status_wrong) FROM step_log WHERE phase = 'bulletin' AND checked), 0::numeric,
          'status() of the sample was right at every moment checked');
SELECT is((SELECT sum(since_wrong) FROM step_log WHERE phase = 'bulletin' AND checked), 0::numeric,
          'the "since" of each changed colour was created_at at every moment checked');
SELECT is((SELECT sum(inconsistent) FROM step_log WHERE phase = 'bulletin' AND checked), 0::numeric,
          'check_consistency() was empty at every moment checked');
SELECT is((SELECT count(*) FROM step_log WHERE phase = 'bulletin' AND got IS NOT NULL
              AND got > 0 AND (got > k OR left_before - left_after <> got)), 0::bigint,
          'each batch took at most k people off the list and returned how many');
SELECT is((SELECT count(*) FROM step_log WHERE phase = 'bulletin' AND got IS NOT NULL AND got = 0), 0::bigint,
          'no step found the list held by others (there are none)');
SELECT is((SELECT got FROM step_log WHERE phase = 'bulletin' AND got IS NOT NULL ORDER BY n DESC LIMIT 1), -1,
          'the last step found the list empty: -1');
SELECT is(pg_temp.differs_from_inline(:'inline_status'::jsonb, ARRAY(SELECT person_id FROM touched)), 0::bigint,
          'person_status is what the designation gives when recalculated in its own statement');
SELECT is(pg_temp.history_wrong(:'inline_history'::jsonb, 'work list test: bulletin', :'w1_at',
                                ARRAY(SELECT person_id FROM touched)), 0::bigint,
          'status_history: each colour change of the designation once, as inline, dated at its created_at');
SELECT is((SELECT count(*) FROM person_status s JOIN since_expected e USING (person_id) WHERE s.since <> e.since), 0::bigint,
          'person_status.since of those people is the change''s created_at');
SELECT is((SELECT colour::text FROM person_status WHERE person_id = :p_unstay),
          (SELECT (timeline).colour::text FROM _fresh_status(ARRAY[:p_unstay::bigint], now())),
          'the person whose stays in the area were deleted meanwhile is recalculated from their evidence');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() is empty at the end');
SELECT is(_recalc_step(5), -1, '_recalc_step returns -1 on an empty list');

-- ---- a policy version through the work list -------------------------------------------------
TRUNCATE since_expected;
DELETE FROM sample WHERE person_id NOT IN (SELECT id FROM person);
TRUNCATE before;
INSERT INTO before SELECT * FROM person_status;
SAVEPOINT inline_copy;
SET LOCAL healthcode.recalc_inline_limit = 1000000;
SET LOCAL healthcode.change_cause = 'work list test: policy';
INSERT INTO policy (region, valid_from, lookback_days, quarantine_days_yellow, description_zh, description_en)
VALUES ('330100', now() - interval '1 day', 3, 5, '杭州市测试规则', 'Hangzhou test rules');
SELECT (SELECT count(*) FROM recalc_work) AS inline_work_rows,
       (SELECT jsonb_agg(to_jsonb(s)) FROM person_status s) AS inline_status,
       (SELECT coalesce(jsonb_agg(jsonb_build_object('person_id', h.person_id, 'from', h.from_colour, 'to', h.to_colour)), '[]')
          FROM status_history h WHERE h.cause = 'work list test: policy') AS inline_history \gset
ROLLBACK TO SAVEPOINT inline_copy;
SELECT is(:inline_work_rows::bigint, 0::bigint, '(the policy version recalculated inline on a copy)');

SET LOCAL healthcode.change_cause = 'work list test: policy';
INSERT INTO policy (region, valid_from, lookback_days, quarantine_days_yellow, description_zh, description_en)
VALUES ('330100', now() - interval '1 day', 3, 5, '杭州市测试规则', 'Hangzhou test rules');
SET LOCAL healthcode.change_cause = '';
SELECT id AS w2, created_at AS w2_at FROM recalc_work \gset
INSERT INTO since_expected
  SELECT (e ->> 'person_id')::bigint, :'w2_at'::timestamptz
    FROM jsonb_array_elements(:'inline_history'::jsonb) e
   WHERE e ->> 'from' IS DISTINCT FROM e ->> 'to';
SELECT results_eq('SELECT kind, regions, areas IS NULL, listed_at IS NULL FROM recalc_work',
                  $$VALUES ('policy', '{330100}'::text[], true, true)$$,
                  'a policy version records a policy row with the regions it governs');
SELECT is((SELECT count(*) FROM person_status s FULL JOIN before b USING (person_id)
            WHERE to_jsonb(s) IS DISTINCT FROM to_jsonb(b)), 0::bigint, 'and leaves person_status as it was');
SELECT cmp_ok((SELECT count(*) FROM since_expected), '>=', 5::bigint,
              'the version changes the colour of several people (the inline copy says)');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'current_status gives everyone the fresh status at once');
SELECT is(pg_temp.since_wrong(), 0::bigint, 'with each changed colour dated at the version''s created_at');
SELECT is(_recalc_step(1), (SELECT count(*)::integer FROM person WHERE region BETWEEN '330100' AND '330199'),
          'the first step lists everyone whose region the version governs');
\o /dev/null
SELECT format('SELECT pg_temp.step(%L)', 'policy') FROM generate_series(1, 40) \gexec
\o
SELECT is((SELECT count(*) FROM recalc_work), 0::bigint, 'the steps emptied the work list');
SELECT cmp_ok((SELECT count(*) FROM step_log WHERE phase = 'policy' AND checked AND left_before > 0), '>=', 4::bigint,
              'readers were checked at four moments or more while people were pending');
SELECT is((SELECT sum(readers_wrong) + sum(status_wrong) + sum(since_wrong) + sum(inconsistent)
             FROM step_log WHERE phase = 'policy' AND checked), 0::numeric,
          'current_status, status(), since and check_consistency() were right at every moment checked');
SELECT is(pg_temp.differs_from_inline(:'inline_status'::jsonb, '{}'), 0::bigint,
          'person_status is what the version gives when recalculated in its own statement');
SELECT is(pg_temp.history_wrong(:'inline_history'::jsonb, 'work list test: policy', :'w2_at', '{}'), 0::bigint,
          'status_history: each colour change of the version once, as inline, dated at its created_at');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() is empty');

-- ---- changes pending at once, people concerned by two --------------------------------------------
-- 440106 medium, then 110108 high, then 440103 medium; x stayed in 440106
-- and 110108, y in 440106 only, z in 110108 and 440103
TRUNCATE since_expected;
CREATE TEMP TABLE quiet AS
  SELECT p.id FROM person p JOIN person_status s ON s.person_id = p.id
   WHERE p.region LIKE '31%' AND s.colour = 'green' AND s.next = '[]'
     AND NOT EXISTS (SELECT 1 FROM travel t WHERE t.person_id = p.id AND t.place IN ('440106', '110108', '440103'));
SELECT min(id) AS px, max(id) AS py, (SELECT id FROM quiet ORDER BY id OFFSET 1 LIMIT 1) AS pz FROM quiet \gset
INSERT INTO travel (person_id, region, place, at, source)
SELECT p.id, p.region, v.place, now() - v.ago, 'transport'
  FROM person p, (VALUES ('440106', interval '2 days'), ('110108', interval '3 days'), ('440103', interval '1 day')) v(place, ago)
 WHERE (p.id = :px AND v.place <> '440103') OR (p.id = :py AND v.place = '440106') OR (p.id = :pz AND v.place <> '440106');
SET LOCAL healthcode.change_cause = 'work list test: three, a';
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('440106', 'medium', now() - interval '20 days', 'work list test 3a');
SET LOCAL healthcode.change_cause = 'work list test: three, b';
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('110108', 'high', now() - interval '20 days', 'work list test 3b');
SET LOCAL healthcode.change_cause = 'work list test: three, c';
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('440103', 'medium', now() - interval '20 days', 'work list test 3c');
SET LOCAL healthcode.change_cause = '';
SELECT (array_agg(id ORDER BY id))[1] AS wa, (array_agg(created_at ORDER BY id))[1] AS wa_at,
       (array_agg(id ORDER BY id))[2] AS wb, (array_agg(created_at ORDER BY id))[2] AS wb_at,
       (array_agg(id ORDER BY id))[3] AS wc
  FROM recalc_work \gset
SELECT is((SELECT count(*) FROM recalc_work), 3::bigint, 'three designations: three rows on the work list');
SELECT is(ARRAY(SELECT colour::text FROM current_status WHERE person_id IN (:px, :py, :pz) ORDER BY person_id = :pz, person_id = :py),
          ARRAY['red', 'yellow', 'red'], 'readers: x (440106, 110108) red, y (440106) yellow, z (110108, 440103) red');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'current_status is right for everyone');
SELECT since AS x_pending_since FROM status(:px, clock_timestamp()) \gset
INSERT INTO since_expected VALUES (:pz, :'wb_at');
SELECT is(pg_temp.since_wrong(), 0::bigint, 'z''s red is dated at the change that gives it, not at the later one');
SELECT _recalc_step(4) AS listed_a \gset
SELECT is((SELECT array_agg(listed_at IS NOT NULL ORDER BY id) FROM recalc_work), ARRAY[true, false, false],
          'the first step lists the oldest change only');
SELECT _recalc_step(4) AS listed_b \gset
SELECT _recalc_step(4) AS listed_c \gset
SELECT is((SELECT array_agg(people ORDER BY id) FROM recalc_work), ARRAY[:listed_a, :listed_b, :listed_c]::bigint[],
          'the next two list the others, in order (each step returned how many it listed)');
SELECT is(ARRAY(SELECT work_id FROM recalc_pending WHERE person_id IN (:px, :pz) ORDER BY person_id = :pz, work_id),
          ARRAY[:wa, :wb, :wb, :wc]::bigint[], 'x and z are pending in two changes each');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'readers are right with all three listed');
SELECT ok((SELECT bool_and(people_left = people AND people > 0) AND count(*) = 3 FROM recalc_progress),
          'recalc_progress shows the three, nothing done yet');
\o /dev/null
SELECT format('SELECT pg_temp.step(%L)', 'three') FROM generate_series(1, 40) \gexec
\o
SELECT is((SELECT count(*) FROM recalc_work), 0::bigint, 'the three changes are done');
SELECT is((SELECT sum(readers_wrong) + sum(status_wrong) + sum(since_wrong) + sum(inconsistent)
             FROM step_log WHERE phase = 'three' AND checked),
          0::numeric, 'readers (and z''s since) were right at every moment checked');
SELECT is((SELECT count(*) FROM step_log WHERE phase = 'three' AND got > 0 AND left_after > left_before), 0::bigint,
          'people_left only went down');
SELECT results_eq(
  format('SELECT at, from_colour::text, to_colour::text, cause FROM status_history WHERE person_id = %s AND recorded_at > (SELECT max(recorded_at) FROM status_history WHERE person_id = %s AND cause NOT LIKE %L) ORDER BY at, recorded_at',
         :px, :px, 'work list test: three%'),
  format('VALUES (%L::timestamptz, %L, %L, %L), (%L::timestamptz, %L, %L, %L)',
         :'wa_at', 'green', 'yellow', 'work list test: three, a', :'wb_at', 'yellow', 'red', 'work list test: three, b'),
  'x''s history: yellow at the first change''s created_at, red at the second''s, each once');
SELECT is((SELECT string_agg(cause || ' ' || to_colour, ', ') FROM status_history WHERE person_id = :pz AND cause LIKE 'work list test: three%'),
          'work list test: three, b red', 'z''s history: red at the second change, once; nothing for the third');
SELECT is((SELECT count(*) FROM status_history WHERE person_id = :py AND cause LIKE 'work list test: three%'), 1::bigint,
          'y''s history: the one change once');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() is empty');
-- While all were pending, readers followed the changes in order: x's red
-- came with the second, not the oldest concerning x (which made x yellow).
SELECT is(:'x_pending_since'::timestamptz, (SELECT since FROM person_status WHERE person_id = :px),
          'the "since" readers saw for x while both changes were pending is the one stored once they are done');

-- ---- recalc_progress as the work goes ------------------------------------------------------------
SET LOCAL healthcode.change_cause = 'work list test: progress';
UPDATE risk_area SET level = 'medium' WHERE division = '330102' AND bulletin = 'work list test 1';
SET LOCAL healthcode.change_cause = '';
SELECT results_eq('SELECT kind, cause, people, people_left, per_second, expected_end, workers FROM recalc_progress',
                  $$VALUES ('risk_area', 'work list test: progress', NULL::bigint, NULL::bigint, NULL::numeric,
                            NULL::timestamptz, 0)$$,
                  'recalc_progress of a downgrade before the first step');
SELECT _recalc_step(2) AS listed \gset
SELECT people AS p_people, people_left AS p_left0 FROM recalc_progress \gset
SELECT _recalc_step(4) AS b1 \gset
SELECT people_left AS p_left1 FROM recalc_progress \gset
SELECT _recalc_step(4) AS b2 \gset
SELECT people_left AS p_left2, per_second, expected_end > clock_timestamp() AS ends_later FROM recalc_progress \gset
SELECT is(:p_people::bigint, :listed::bigint, 'people: how many the first step listed');
SELECT is(ARRAY[:p_left0, :p_left1, :p_left2]::bigint[], ARRAY[:p_people, :p_people - 4, :p_people - 8]::bigint[],
          'people_left goes down by each batch');
SELECT ok(:per_second::numeric > 0 AND :'ends_later'::boolean, 'per_second is positive and expected_end lies ahead');
SELECT is(pg_temp.readers_wrong(), 0::bigint, 'readers are right halfway through a downgrade');
\o /dev/null
SELECT format('SELECT pg_temp.step(%L)', 'downgrade') FROM generate_series(1, 40) \gexec
\o
SELECT is((SELECT count(*) FROM recalc_progress), 0::bigint, 'recalc_progress is empty once the list is');
SELECT is((SELECT sum(readers_wrong) + sum(status_wrong) + sum(inconsistent) FROM step_log WHERE phase = 'downgrade' AND checked),
          0::numeric, 'readers were right at every moment checked during the downgrade');
SELECT is((SELECT count(*) FROM check_consistency()), 0::bigint, 'check_consistency() is empty');

-- ---- _recalc_step's limits -------------------------------------------------------------------------
SELECT throws_ok('SELECT healthcode._recalc_step(0)', '22023', NULL, '_recalc_step(0) is refused (22023)');
SELECT throws_ok('SELECT healthcode._recalc_step(-3)', '22023', NULL, 'so is a negative batch');
SELECT is(pg_temp.state_as('regress_hc_admin', 'SELECT healthcode._recalc_step(1)'), '42501',
          'an administrator cannot call _recalc_step (owner only)');
SELECT is(pg_temp.state_as('regress_hc_admin', 'SELECT * FROM healthcode.recalc_progress'), 'ok',
          'an administrator reads recalc_progress');
SELECT is(pg_temp.state_as('regress_hc_op_hz', 'SELECT * FROM healthcode.recalc_progress'), '42501',
          'an operator does not');

-- ---- the settings ------------------------------------------------------------------------------------
SELECT results_eq(
  $$SELECT name, boot_val, context FROM pg_settings WHERE name LIKE 'healthcode.recalc%' ORDER BY name$$,
  $$VALUES ('healthcode.recalc_batch_size', '5000', 'superuser'), ('healthcode.recalc_inline_limit', '20000', 'superuser'),
           ('healthcode.recalc_standby', 'on', 'superuser'),
           ('healthcode.recalc_worker_idle', '5000', 'superuser'), ('healthcode.recalc_workers', '2', 'superuser')$$,
  'the five settings, their defaults, settable by superusers only');
-- (a new backend, whose first statement this is: PL/pgSQL's settings exist
-- only once it is loaded; tools/test.sh's cluster preloads healthcode)
SELECT CASE WHEN current_setting('shared_preload_libraries') ~ '(^|[ ,])healthcode($|[ ,])'
            THEN is((SELECT n FROM dblink(format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                                 split_part(current_setting('unix_socket_directories'), ',', 1)),
                                          $$SELECT count(*) FROM pg_settings WHERE name = 'plpgsql.variable_conflict'$$)
                                   AS t(n bigint)), 1::bigint,
                    'preloaded, healthcode loads PL/pgSQL for every process: a new backend has it before its first PL/pgSQL call')
            ELSE skip('healthcode is not in shared_preload_libraries here') END;
SELECT is(pg_temp.state_as(r, format('SET healthcode.%s = 7', s)), '42501',
          format('%s cannot SET healthcode.%s', r, s))
  FROM (VALUES ('recalc_workers'), ('recalc_batch_size'), ('recalc_inline_limit'), ('recalc_worker_idle'), ('recalc_standby')) v(s),
       (VALUES ('regress_hc_admin'::name)) w(r);
SELECT is(pg_temp.state_as('regress_hc_op_hz', 'SET healthcode.recalc_inline_limit = 0'), '42501',
          'nor can an operator');
-- the inline limit on both sides of a designation's touched stays
SELECT count(*) AS touched FROM travel t
 WHERE t.place = '330108' AND t.at >= _evidence_horizon(statement_timestamp()) \gset
TRUNCATE before;
INSERT INTO before SELECT * FROM person_status;
SAVEPOINT limits;
SELECT set_config('healthcode.recalc_inline_limit', :'touched', true) IS NOT NULL AS set_ok \gset
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330108', 'high', now() - interval '20 days', 'limit');
SELECT (SELECT count(*) FROM recalc_work) AS at_limit_rows,
       (SELECT count(*) FROM person_status s JOIN before b USING (person_id) WHERE s.colour <> b.colour) AS at_limit_changed,
       (SELECT count(*) FROM check_consistency()) AS at_limit_inconsistent \gset
ROLLBACK TO SAVEPOINT limits;
SELECT set_config('healthcode.recalc_inline_limit', (:touched - 1)::text, true) IS NOT NULL AS set_ok \gset
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330108', 'high', now() - interval '20 days', 'limit');
SELECT (SELECT count(*) FROM recalc_work) AS below_limit_rows \gset
ROLLBACK TO SAVEPOINT limits;
SELECT cmp_ok(:touched::bigint, '>', 10::bigint, '(a designation of 330108 touches more than ten stays)');
SELECT ok(:at_limit_rows = 0 AND :at_limit_changed > 0 AND :at_limit_inconsistent = 0,
          'inline_limit equal to the stays touched: recalculated in the statement (no recalc_work row, colours stored)');
SELECT is(:below_limit_rows::bigint, 1::bigint, 'one less: the change goes to the work list');
-- a policy version: the people it governs
SELECT count(*) AS governed FROM person WHERE region BETWEEN '310100' AND '310199' \gset
SELECT set_config('healthcode.recalc_inline_limit', :'governed', true) IS NOT NULL AS set_ok \gset
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
VALUES ('310100', now() - interval '1 hour', 5, '上海测试', 'Shanghai test');
SELECT (SELECT count(*) FROM recalc_work) AS at_limit_rows \gset
ROLLBACK TO SAVEPOINT limits;
SELECT set_config('healthcode.recalc_inline_limit', (:governed - 1)::text, true) IS NOT NULL AS set_ok \gset
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
VALUES ('310100', now() - interval '1 hour', 5, '上海测试', 'Shanghai test');
SELECT (SELECT count(*) FROM recalc_work) AS below_limit_rows \gset
ROLLBACK TO SAVEPOINT limits;
SELECT ok(:governed > 0 AND :at_limit_rows = 0 AND :below_limit_rows = 1,
          'a policy version: inline up to the people it governs, the work list above');
-- The largest value the setting accepts (INT_MAX, "always inline").
SELECT lives_ok($$SET LOCAL healthcode.recalc_inline_limit = 2147483647;
                  INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
                  VALUES ('330108', 'high', now() - interval '20 days', 'limit max')$$,
                'inline_limit at its maximum: a designation is recalculated in its statement');
ROLLBACK TO SAVEPOINT limits;
SELECT is((SELECT count(*) FROM recalc_work), 0::bigint, '(nothing left on the list)');

-- ---- a listing in parts ----------------------------------------------------------------------
-- recorded with healthcode.recalc_workers = 3, a change is listed in three
-- parts (part k: the people whose id is in the k-th of three equal ranges
-- of [2^62, 2^63), the first from the smallest bigint, the last to the
-- largest), a step each; it is listed, and its batches begin, only with the
-- last part, and the session that listed a part begins its batches there.
-- (Recorded here with 3 parts by hand: the setting would start three
-- workers.)
SELECT set_config('healthcode.recalc_inline_limit', '0', true) IS NOT NULL AS set_ok \gset
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330108', 'high', now() - interval '20 days', 'parts');
UPDATE recalc_work SET parts = 3 RETURNING id AS w_parts \gset
CREATE TEMP TABLE concerned_parts AS
  SELECT DISTINCT t.person_id FROM travel t WHERE t.place LIKE '330108%' AND t.at >= _evidence_horizon(statement_timestamp());
SELECT _recalc_step(5) AS parts_step1 \gset
SELECT (SELECT listed_at IS NULL AND parts_done = '{0}' FROM recalc_work WHERE id = :w_parts)
       AND (SELECT people IS NULL AND people_left IS NULL FROM recalc_progress WHERE work_id = :w_parts)
       AS part0_not_listed,
       ARRAY(SELECT person_id FROM recalc_pending WHERE work_id = :w_parts ORDER BY 1) AS part0_people,
       ARRAY(SELECT person_id FROM concerned_parts
              WHERE person_id <= 4611686018427387903 + 4611686018427387904 / 3 ORDER BY 1) AS part0_expected,
       pg_temp.readers_wrong() AS part0_wrong \gset
SELECT _recalc_step(5) AS parts_step2 \gset
SELECT _recalc_step(5) AS parts_step3 \gset
SELECT ARRAY(SELECT person_id FROM concerned_parts WHERE person_id >= 4611686018427387904 + 2 * (4611686018427387904 / 3)
              ORDER BY 1 LIMIT 5) AS part2_first5,
       ARRAY(SELECT person_id FROM recalc_pending WHERE work_id = :w_parts ORDER BY 1) AS parts_before_batch \gset
SELECT (SELECT listed_at IS NOT NULL AND parts_done = '{0,1,2}' FROM recalc_work WHERE id = :w_parts)
       AND (SELECT people = (SELECT count(*) FROM concerned_parts) FROM recalc_progress WHERE work_id = :w_parts) AS parts_listed,
       NOT EXISTS (SELECT person_id FROM recalc_pending WHERE work_id = :w_parts
                   EXCEPT SELECT person_id FROM concerned_parts)
       AND NOT EXISTS (SELECT person_id FROM concerned_parts
                       EXCEPT SELECT person_id FROM recalc_pending WHERE work_id = :w_parts) AS parts_all,
       _recalc_step(5) AS parts_batch \gset
SELECT pg_temp.readers_wrong() AS parts_wrong, (SELECT count(*) FROM concerned_parts) AS parts_people,
       ARRAY(SELECT p FROM unnest(:'parts_before_batch'::bigint[]) p
             EXCEPT SELECT person_id FROM recalc_pending WHERE work_id = :w_parts ORDER BY 1) AS parts_batch_people,
       (SELECT count(*) FROM concerned_parts WHERE person_id <= 4611686018427387903 + 4611686018427387904 / 3)
         AS part0_count,
       (SELECT count(*) FROM concerned_parts WHERE person_id >= 4611686018427387904 + 2 * (4611686018427387904 / 3))
         AS part2_count \gset
ROLLBACK TO SAVEPOINT limits;
SELECT ok(:'part0_not_listed'::boolean, 'parts: after the first step the change is not listed yet');
SELECT is(:'part0_people'::bigint[], :'part0_expected'::bigint[],
          'parts: the first step lists part 0, everyone it concerns with an id up to 2^62 + 2^62 / 3 - 1, and no one else');
SELECT is(_part_ids(0, 3)::text, '(-9223372036854775808,6148914691236517204)',
          'parts: part 0 of 3 runs from the smallest bigint to 2^62 + 2^62 / 3 - 1');
SELECT is(_part_ids(1, 3)::text, '(6148914691236517205,7686143364045646505)',
          'parts: part 1 of 3 follows it, as long');
SELECT is(_part_ids(2, 3)::text, '(7686143364045646506,9223372036854775807)',
          'parts: part 2 of 3 runs to the largest bigint');
SELECT is(_part_ids(0, 1)::text, '(-9223372036854775808,9223372036854775807)',
          'parts: one part holds every id');
SELECT is(:part0_wrong::bigint, 0::bigint, 'readers are right with a part listed');
SELECT ok(:'parts_listed'::boolean, 'parts: listed with the third step, its people counted once each');
SELECT ok(:'parts_all'::boolean, 'parts: together they list everyone it concerns');
SELECT is(:'parts_batch_people'::bigint[], :'part2_first5'::bigint[],
          'parts: the next step in the session that listed part 2 recalculates the first five of part 2');
SELECT is(:parts_batch, cardinality(:'part2_first5'::bigint[]), '(and says how many)');
SELECT ok(:part0_count > 0 AND :part2_count > 0, '(parts 0 and 2 both concern someone)');
SELECT is(:parts_wrong::bigint, 0::bigint, 'readers are right meanwhile');
SELECT cmp_ok(:parts_people::bigint, '>', 10::bigint, '(the change concerns more than ten people)');

-- ---- people of any id ------------------------------------------------------------------------------
-- Ids the sequences and _next_id make are positive, but a person may be
-- given any: the smallest bigint, a negative one and the largest, each with
-- a stay in a designated area, are taken off the list and recalculated like
-- everyone else (batches begin at the smallest bigint; after the largest,
-- at the start again).
SAVEPOINT ids;
SELECT set_config('healthcode.recalc_inline_limit', '0', true) IS NOT NULL AS set_ok \gset
INSERT INTO person (id, region, subject)
SELECT x.id, '330106', decode(md5('any id ' || x.id), 'hex') FROM unnest(ARRAY[-9223372036854775808, -5, 9223372036854775807]) x(id);
INSERT INTO travel (person_id, region, place, at, source)
SELECT x.id, '330106', '330109', now() - interval '2 days', 'telecom'
  FROM unnest(ARRAY[-9223372036854775808, -5, 9223372036854775807]) x(id);
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330109', 'high', now() - interval '20 days', 'any id');
CREATE FUNCTION pg_temp.step_any_id() RETURNS integer LANGUAGE sql AS $$ SELECT healthcode._recalc_step(5) $$;
SELECT min(pg_temp.step_any_id()) AS ids_last_step FROM generate_series(1, 60) \gset
SELECT (SELECT count(*) FROM recalc_work) AS ids_left,
       (SELECT string_agg(colour::text, ' ' ORDER BY person_id) FROM person_status
         WHERE person_id IN (-9223372036854775808, -5, 9223372036854775807)) AS ids_colours,
       (SELECT count(*) FROM check_consistency()) AS ids_inconsistent \gset
ROLLBACK TO SAVEPOINT ids;
SELECT is(:ids_left::bigint, 0::bigint,
          'a change concerning people with ids -9223372036854775808, -5 and 9223372036854775807 leaves the list');
SELECT is(:'ids_colours'::text, 'red red red', 'and those three are recalculated red');
SELECT is(:ids_inconsistent::bigint, 0::bigint, 'check_consistency() is empty');

SELECT * FROM finish();
ROLLBACK;
