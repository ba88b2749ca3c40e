-- ---------------------------------------------------------------------------
-- A citizen's own data, for their own app (doc/api.md): the itinerary card
-- (行程卡: the cities of the last days, starred where a medium- or high-risk
-- area was in force during the stay, never the raw stays), the history of
-- their colour, and their own evidence. Each by identifier, within the
-- caller's regions, one call each.
-- ---------------------------------------------------------------------------

-- The cities of a person's stays in the window, each once, in the order
-- first visited, with the highest level of a designation in force during
-- some stay there on the city, one of its districts or its province.
CREATE FUNCTION @extschema@._itinerary(person_id bigint, days integer)
RETURNS TABLE (city text, city_zh text, city_en text, starred boolean, risk_level text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH stays AS (
    SELECT pg_catalog.left(t.place, 4) OPERATOR(pg_catalog.||) '00' AS city, t.at
      FROM @extschema@.travel t
     WHERE t.person_id OPERATOR(pg_catalog.=) _itinerary.person_id
       AND t.at OPERATOR(pg_catalog.>=) (pg_catalog.statement_timestamp()
                OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => _itinerary.days))
       AND t.at OPERATOR(pg_catalog.<=) pg_catalog.statement_timestamp()
  ), cities AS (
    SELECT s.city, pg_catalog.min(s.at) AS first_at,
           pg_catalog.max((SELECT pg_catalog.max(CASE r.level WHEN 'high' THEN 2 WHEN 'medium' THEN 1 END)
                             FROM @extschema@.risk_area r
                            WHERE r.level OPERATOR(pg_catalog.<>) 'low'
                              AND (pg_catalog.left(r.division, 4) OPERATOR(pg_catalog.=) pg_catalog.left(s.city, 4)
                                   OR r.division OPERATOR(pg_catalog.=) (pg_catalog.left(s.city, 2) OPERATOR(pg_catalog.||) '0000'))
                              AND r.effective_from OPERATOR(pg_catalog.<=) s.at
                              AND (r.effective_until IS NULL OR s.at OPERATOR(pg_catalog.<) r.effective_until))) AS risk
      FROM stays s GROUP BY s.city
  )
  SELECT c.city, @extschema@.division_label(c.city, 'zh'), @extschema@.division_label(c.city, 'en'),
         c.risk IS NOT NULL, CASE c.risk WHEN 2 THEN 'high' WHEN 1 THEN 'medium' END
    FROM cities c ORDER BY c.first_at, c.city;
END;
COMMENT ON FUNCTION @extschema@._itinerary(bigint, integer) IS
  'Internal: the itinerary card of a person the caller may act for (itinerary).';
REVOKE ALL ON FUNCTION @extschema@._itinerary(bigint, integer) FROM PUBLIC;

CREATE FUNCTION @extschema@.itinerary(identifier text, days integer DEFAULT 14)
RETURNS TABLE (city text, city_zh text, city_en text, starred boolean, risk_level text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  IF days IS NULL THEN
    RAISE EXCEPTION 'days must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF days NOT BETWEEN 1 AND 30 THEN
    RAISE EXCEPTION 'days must be between 1 and 30, not %', days USING ERRCODE = '22003';
  END IF;
  RETURN QUERY SELECT * FROM @extschema@._itinerary(pid, days);
END $$;
COMMENT ON FUNCTION @extschema@.itinerary(text, integer) IS
  'The itinerary card (行程卡): the cities the person stayed in over the last days (1-30, default 14), in the order first visited, with their names; starred, with the level, where a medium- or high-risk area (on the city, a district of it or its province) was in force during a stay there. Never the stays themselves.';
REVOKE ALL ON FUNCTION @extschema@.itinerary(text, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.itinerary(text, integer) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.my_history(identifier text)
RETURNS TABLE (at timestamptz, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, reasons jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  RETURN QUERY
  SELECT c.at, c.from_colour, c.to_colour, @extschema@.screen_reasons(c.reasons)
    FROM @extschema@.status_changes c
   WHERE c.person_id = pid
   ORDER BY c.at DESC;
END $$;
COMMENT ON FUNCTION @extschema@.my_history(text) IS
  'The person''s own colour changes, latest first, each with its reasons as a screen shows them (screen_reasons), as far back as history is kept (retention_plan).';
REVOKE ALL ON FUNCTION @extschema@.my_history(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.my_history(text) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.my_evidence(identifier text)
RETURNS TABLE (kind text, at timestamptz, detail jsonb)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  RETURN QUERY
  SELECT e.kind, e.at, e.detail FROM (
    SELECT 'test_result' AS kind, r.sampled_at AS at,
           jsonb_build_object('id', r.id, 'kind', r.kind, 'result', r.result, 'lab', r.lab, 'reported_at', r.reported_at) AS detail
      FROM @extschema@.test_result r WHERE r.person_id = pid
    UNION ALL
    SELECT 'vaccination', v.given_at, jsonb_build_object('id', v.id, 'dose', v.dose, 'product', v.product)
      FROM @extschema@.vaccination v WHERE v.person_id = pid
    UNION ALL
    SELECT 'declaration', d.declared_at,
           jsonb_build_object('id', d.id, 'symptoms', d.symptoms, 'temperature', d.temperature, 'visited', d.visited,
                              'contact_with_case', d.contact_with_case)
      FROM @extschema@.declaration d WHERE d.person_id = pid
    UNION ALL
    SELECT 'correction', c.requested_at,
           jsonb_build_object('id', c.id, 'evidence', c.evidence, 'evidence_id', c.evidence_id, 'claim', c.claim,
                              'status', c.status, 'decided_at', c.decided_at, 'decision_reason', c.decision_reason)
      FROM @extschema@.correction c WHERE c.person_id = pid) e
  ORDER BY e.at DESC, e.kind;
END $$;
COMMENT ON FUNCTION @extschema@.my_evidence(text) IS
  'The person''s own evidence, latest first: test results, doses, declarations and correction requests (kind, time, detail with the row''s id, which request_correction takes), as far back as each is kept (retention_plan).';
REVOKE ALL ON FUNCTION @extschema@.my_evidence(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.my_evidence(text) TO healthcode_app, healthcode_operator;
