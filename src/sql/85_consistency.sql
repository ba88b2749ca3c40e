-- ---------------------------------------------------------------------------
-- Consistency: recompute every status from the raw evidence and compare it
-- with what the triggers stored. An empty result means the incremental,
-- trigger-driven recalculation agrees with a full one.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_consistency(at timestamptz DEFAULT pg_catalog.statement_timestamp())
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH fresh AS (
    SELECT f.person_id, pg_catalog.to_jsonb(f.timeline) AS j
      FROM @extschema@._fresh_status(ARRAY(SELECT p.id FROM @extschema@.person p), check_consistency.at) f
  ), stored AS (
    SELECT s.person_id,
           pg_catalog.jsonb_build_object('colour', (x.v).colour, 'vaccinated', (x.v).vaccinated,
                                         'reasons', (x.v).reasons, 'valid_until', (x.v).valid_until,
                                         'next', (x.v).next) AS j
      FROM @extschema@.person_status s
      CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, check_consistency.at) AS v OFFSET 0) x
  )
  SELECT COALESCE(f.person_id, s.person_id), s.j, f.j
    FROM fresh f
    FULL JOIN stored s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
   WHERE s.j IS DISTINCT FROM f.j
   ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@.check_consistency(timestamptz) IS
  'Recomputes every person''s status from the raw evidence and returns each person whose stored status (read at the same instant) differs, with both versions. Empty when the triggers kept everything right.';
