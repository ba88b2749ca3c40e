-- ---------------------------------------------------------------------------
-- Exposure tracing (时空伴随, issue 15): given a case (a positive test) and
-- a window, everyone who was at the same venue as the case (a venue scan)
-- or in the same community (a stay at a twelve-digit place), within the
-- policy's exposure_minutes of the case's own stay there, found from the
-- travel day partitions' indexes alone: (venue, place, at) for venues, (place,
-- at) for communities. trace_exposures files them as contacts of the case
-- in one call (the contact import's path: the triggers recalculate them).
-- Operators only, for a case of their regions. The people found may live
-- in other regions of this node: they are filed all the same, as a
-- designation of a risk area counts for whoever stayed there, but the
-- caller is shown, and counts, only the people of its own regions.
-- ---------------------------------------------------------------------------

-- A stay's venue as a venue id: travel.venue is text (an import may name a
-- venue system's own reference), so only a number a venue id can be is one.
CREATE FUNCTION @extschema@._venue_id(venue text) RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN venue ~ '^[1-9][0-9]{0,18}$'
                 AND (pg_catalog.length(venue) < 19 OR venue COLLATE "C" <= '9223372036854775807')
            THEN venue::bigint END;
COMMENT ON FUNCTION @extschema@._venue_id(text) IS
  'Internal: a travel row''s venue as a venue id, NULL when it is no number a venue id can be.';
REVOKE ALL ON FUNCTION @extschema@._venue_id(text) FROM PUBLIC;

-- How close in time to a case's stay another's counts: the policy's
-- exposure_minutes in the case's region when it was sampled.
CREATE FUNCTION @extschema@._exposure_reach(c @extschema@.test_result) RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.make_interval(mins => (@extschema@.policy_at(c.region, c.sampled_at)).exposure_minutes);
COMMENT ON FUNCTION @extschema@._exposure_reach(@extschema@.test_result) IS
  'Internal: how close in time to a case''s stay another person''s stay counts as an exposure (the policy''s exposure_minutes).';
REVOKE ALL ON FUNCTION @extschema@._exposure_reach(@extschema@.test_result) FROM PUBLIC;

-- Every exposure of a case on this node, whatever the caller's regions.
CREATE FUNCTION @extschema@._exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                       at_level text)
RETURNS TABLE (person_id bigint, region text, exposure_at timestamptz, venue_id bigint, place text,
               case_at timestamptz)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
-- (one plan for the session: a custom plan, made again at every call for
-- its values, costs more to make than to run, over a month of day
-- partitions; the generic plan prunes them as it runs)
SET plan_cache_mode = force_generic_plan
-- (the rows found are sorted by person in memory: a station's hour is
-- tens of thousands)
SET work_mem = '64MB'
AS $$
DECLARE
  c @extschema@.test_result;
  reach interval;
BEGIN
  IF case_result IS NULL OR window_from IS NULL OR window_until IS NULL OR at_level IS NULL THEN
    RAISE EXCEPTION '% must not be NULL',
      CASE WHEN case_result IS NULL THEN 'case_result' WHEN window_from IS NULL THEN 'window_from'
           WHEN window_until IS NULL THEN 'window_until' ELSE 'at_level' END
      USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(window_from, 'window_from');
  PERFORM @extschema@._require_finite(window_until, 'window_until');
  IF window_until <= window_from OR window_until - window_from > interval '31 days' THEN
    RAISE EXCEPTION 'the window must end after it starts and last at most 31 days, not % to %', window_from, window_until
      USING ERRCODE = '22023';
  END IF;
  IF at_level NOT IN ('venue', 'community') THEN
    RAISE EXCEPTION 'at_level must be venue or community, not %', quote_literal(@extschema@._shorten(at_level))
      USING ERRCODE = '22023';
  END IF;
  -- (a case of the caller's regions only: another region's looks like none)
  SELECT * INTO c FROM @extschema@.test_result r
   WHERE r.id = case_result AND @extschema@._in_caller_scope(r.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no test result % in the regions role % acts for', case_result, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  IF c.result <> 'positive' THEN
    RAISE EXCEPTION 'test result % is negative: it makes no case', case_result USING ERRCODE = '22023';
  END IF;
  reach := @extschema@._exposure_reach(c);
  -- Per stay of the case in the window (its person's rows of each day
  -- partition), the stays around it at its venue (the partial index on
  -- (venue, place, at) of venue scans) or in its community (the index on (place,
  -- at)); each person once, at their first such stay. Static queries: their
  -- plans are kept for the session, and the partitions the time range of
  -- each stay cannot reach are pruned as they run.
  IF at_level = 'venue' THEN
    RETURN QUERY
      SELECT DISTINCT ON (o.person_id) o.person_id, o.region, o.at, v.id, o.place, s.at
        FROM @extschema@.travel s
        -- (the venue's id once a stay of the case, not once a row found)
        CROSS JOIN LATERAL (SELECT @extschema@._venue_id(s.venue) AS id OFFSET 0) v
        JOIN @extschema@.travel o
          ON o.venue = s.venue AND o.place = s.place AND o.source = 'venue_scan'
         AND o.at >= s.at - reach AND o.at <= s.at + reach
       WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
         AND s.source = 'venue_scan' AND s.venue IS NOT NULL AND o.person_id <> c.person_id
       ORDER BY o.person_id, o.at, s.at;
  ELSE
    RETURN QUERY
      SELECT DISTINCT ON (o.person_id) o.person_id, o.region, o.at, NULL::bigint, o.place, s.at
        FROM @extschema@.travel s
        JOIN @extschema@.travel o ON o.place = s.place AND o.at >= s.at - reach AND o.at <= s.at + reach
       WHERE s.person_id = c.person_id AND s.at >= window_from AND s.at < window_until
         AND length(s.place) = 12 AND o.person_id <> c.person_id
       ORDER BY o.person_id, o.at, s.at;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._exposures(bigint, timestamptz, timestamptz, text) IS
  'Internal: every person on this node at the same venue (at_level venue: venue scans) or in the same community (community: stays at a twelve-digit place) as the case of a positive test of the caller''s regions, within the policy''s exposure_minutes of one of the case''s stays in the window; each once, at their first such stay.';
REVOKE ALL ON FUNCTION @extschema@._exposures(bigint, timestamptz, timestamptz, text) FROM PUBLIC;

CREATE FUNCTION @extschema@.exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                      at_level text DEFAULT 'venue')
RETURNS TABLE (person_id bigint, exposure_at timestamptz, venue_id bigint, place text, case_at timestamptz)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  RETURN QUERY
    SELECT e.person_id, e.exposure_at, e.venue_id, e.place, e.case_at
      FROM @extschema@._exposures(case_result, window_from, window_until, at_level) e
     WHERE scope @> (e.region COLLATE "C");
END $$;
COMMENT ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) IS
  'The people of the caller''s regions exposed to a case (a positive test of the caller''s regions, by its id) in a window of at most 31 days: at the same venue (at_level venue, the default) or in the same community (community) within the policy''s exposure_minutes of the case''s stay there; each once, at the first such stay, with the venue and place and the case''s time; in the order of the people''s ids. Changes nothing (trace_exposures files them). P0002 for a test result the caller''s regions do not hold, 22023 for a negative one or a bad window.';
REVOKE ALL ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.exposures(bigint, timestamptz, timestamptz, text) TO healthcode_operator;

CREATE FUNCTION @extschema@.trace_exposures(case_result bigint, window_from timestamptz, window_until timestamptz,
                                            at_level text DEFAULT 'venue', kind text DEFAULT 'secondary',
                                            source_case text DEFAULT NULL)
RETURNS TABLE (person_id bigint, exposure_at timestamptz, venue_id bigint, place text, recorded boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
  reference text;
BEGIN
  IF case_result IS NULL THEN
    RAISE EXCEPTION 'case_result must not be NULL' USING ERRCODE = '22004';
  END IF;
  -- (by default a reference that names no row: the test result's id is its
  -- region's, and the contacts filed, here and on other nodes, may be other
  -- regions'; a keyed digest of it, the same at every trace of the case)
  reference := COALESCE(trace_exposures.source_case,
                        'exposure trace ' || left(encode(@extschema@.pseudonym('exposure trace ' || case_result), 'hex'), 16));
  IF kind IS NULL OR kind NOT IN ('close', 'secondary') THEN
    RAISE EXCEPTION 'kind must be close or secondary, not %', coalesce(quote_literal(@extschema@._shorten(kind)), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reference, 'source_case', 200);
  -- the people locked as an import locks them (a move waits; in id order)
  RETURN QUERY
    WITH found AS MATERIALIZED (
      SELECT e.* FROM @extschema@._exposures(case_result, window_from, window_until, at_level) e
    ), locked AS MATERIALIZED (
      SELECT p.id, p.region FROM @extschema@.person p
       WHERE p.id IN (SELECT f.person_id FROM found f)
       ORDER BY p.id FOR KEY SHARE
    ), written AS (
      INSERT INTO @extschema@.contact AS x (person_id, region, kind, exposure_at, source_case)
      SELECT f.person_id, l.region, trace_exposures.kind, f.exposure_at, reference
        FROM found f JOIN locked l ON l.id = f.person_id
      ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING
      RETURNING x.person_id
    )
    SELECT f.person_id, f.exposure_at, f.venue_id, f.place, w.person_id IS NOT NULL
      FROM found f JOIN locked l ON l.id = f.person_id
      LEFT JOIN written w ON w.person_id = f.person_id
     WHERE scope @> (l.region COLLATE "C");
  -- people of other nodes who were there: the notices, through the hub
  -- (94_federation_exposures.sql; nothing on a node outside a federation)
  PERFORM @extschema@._publish_exposures(case_result, window_from, window_until, at_level, kind, reference);
END $$;
COMMENT ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) IS
  'Files everyone exposures() finds as contacts (kind secondary, the default, or close) of the case, in one call, with source_case (default "exposure trace <16 hex digits>", a keyed digest of the test result''s id, the same at every trace of it, naming no row) as the case''s reference: the status triggers recalculate them. People of other regions of this node are filed too, as a risk area counts for whoever stayed there, and are neither shown nor counted to the caller; on a region node, a notice of each of the case''s stays goes to every other node through the hub (exposure_notice), which files its own people who were there. Returns the caller''s regions'' people, recorded false for one already filed for this case, kind and time. Operators of the case''s region only.';
REVOKE ALL ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.trace_exposures(bigint, timestamptz, timestamptz, text, text, text) TO healthcode_operator;
