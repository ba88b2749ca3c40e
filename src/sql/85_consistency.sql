-- ---------------------------------------------------------------------------
-- Consistency: recompute every status from the raw evidence and compare it
-- with what the triggers stored. An empty result means the incremental,
-- trigger-driven recalculation agrees with a full one.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._consistency_of(persons bigint[], at timestamptz)
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH fresh AS (
    SELECT f.person_id, f.timeline AS v
      FROM @extschema@._fresh_status(_consistency_of.persons, _consistency_of.at) f
  ), policies AS MATERIALIZED (
    -- once a region, and the horizon once
    SELECT r.region, @extschema@._policy_versions(r.region) AS vec,
           @extschema@._evidence_horizon(_consistency_of.at) AS horizon
      FROM (SELECT DISTINCT s.region FROM @extschema@.person_status s
             WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_consistency_of.persons)) r
  ), stored AS MATERIALIZED (
    -- what readers see: while a change on the work list has yet to
    -- recalculate a person, their status computed fresh (_status_now), and
    -- their stored inputs may lag until it has
    SELECT s.person_id, x.v,
           -- the timeline a risk-area change would compute from the stored
           -- inputs (with no stay re-examined): it must be the same
           CASE WHEN s.inputs IS NOT NULL AND x.pending IS NULL THEN
             @extschema@._status_from_stored_inputs(s.inputs, '{}', '{}', '{}', '{}', v.vec, _consistency_of.at,
                                          v.horizon) END AS from_inputs
      FROM @extschema@.person_status s
      JOIN policies v ON v.region OPERATOR(pg_catalog.=) s.region
     -- (and a status row whose person is not in the batch belongs to another)
      CROSS JOIN LATERAL (SELECT CASE WHEN (SELECT @extschema@._work_pending())
                                      THEN @extschema@._status_now(s, _consistency_of.at)
                                      ELSE @extschema@.status_at(s, _consistency_of.at) END AS v,
                                 CASE WHEN (SELECT @extschema@._work_pending())
                                      THEN @extschema@._pending_since(s.person_id) END AS pending
                            OFFSET 0) x
     WHERE s.person_id OPERATOR(pg_catalog.=) ANY (_consistency_of.persons)
  ), compared AS (
    SELECT COALESCE(f.person_id, s.person_id) AS person_id,
           CASE WHEN s.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (s.v).colour, 'vaccinated', (s.v).vaccinated,
                                           'reasons', (s.v).reasons, 'valid_until', (s.v).valid_until,
                                           'next', (s.v).next) END AS stored,
           CASE WHEN f.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (f.v).colour, 'vaccinated', (f.v).vaccinated,
                                           'reasons', (f.v).reasons, 'valid_until', (f.v).valid_until,
                                           'next', (f.v).next) END AS recomputed,
           s.from_inputs
      FROM fresh f
      FULL JOIN stored s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
  ), judged AS (
    SELECT c.person_id, c.stored, c.recomputed,
           CASE WHEN c.from_inputs IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (c.from_inputs).colour,
                                           'vaccinated', (c.from_inputs).vaccinated,
                                           'reasons', (c.from_inputs).reasons,
                                           'valid_until', (c.from_inputs).valid_until,
                                           'next', (c.from_inputs).next) END AS from_inputs
      FROM compared c
  )
  SELECT j.person_id,
         j.stored OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('from_inputs', j.from_inputs),
         j.recomputed OPERATOR(pg_catalog.||)
           pg_catalog.jsonb_build_object('from_inputs', CASE WHEN j.from_inputs IS NOT NULL THEN j.recomputed END)
    FROM judged j
   WHERE j.stored IS DISTINCT FROM j.recomputed
      OR (j.from_inputs IS NOT NULL AND j.from_inputs IS DISTINCT FROM j.recomputed)
   ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@._consistency_of(bigint[], timestamptz) IS
  'Internal: check_consistency for the people given (one batch).';
REVOKE ALL ON FUNCTION @extschema@._consistency_of(bigint[], timestamptz) FROM PUBLIC;

-- Everyone, a batch at a time (healthcode.recalc_batch_size people, by
-- id): memory stays bounded however many people there are.
CREATE FUNCTION @extschema@.check_consistency(at timestamptz DEFAULT pg_catalog.statement_timestamp())
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  batch integer := @extschema@._recalc_setting('batch_size');
  last_id bigint := -1;
  persons bigint[];
BEGIN
  PERFORM @extschema@._require_finite(check_consistency.at, 'at');
  LOOP
    persons := ARRAY(SELECT p.id FROM @extschema@.person p WHERE p.id > last_id ORDER BY p.id LIMIT batch);
    EXIT WHEN cardinality(persons) = 0;
    last_id := persons[cardinality(persons)];
    RETURN QUERY SELECT * FROM @extschema@._consistency_of(persons, check_consistency.at);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.check_consistency(timestamptz) IS
  'Recomputes every person''s status from the raw evidence, a batch of healthcode.recalc_batch_size people at a time, and returns each person whose status as readers see it (read at the same instant) differs, with both versions; under "from_inputs", the status computed from the evidence stored with it (person_status.inputs, what a risk-area change recomputes from), which must be the same. Empty when the triggers kept everything right.';
REVOKE ALL ON FUNCTION @extschema@.check_consistency(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.check_consistency(timestamptz) TO healthcode_admin;
