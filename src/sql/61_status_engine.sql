-- ---------------------------------------------------------------------------
-- The status engine in SQL: its aggregate over one person's events, the
-- evidence gathered as those events, and fresh timelines from them (the
-- engine itself is C: src/hc_core_status.c).
-- ---------------------------------------------------------------------------

-- ---- the engine's aggregate --------------------------------------------------

CREATE TYPE @extschema@.status_timeline AS (
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  valid_until   timestamptz,
  next          jsonb,
  inputs        bytea
);
COMMENT ON TYPE @extschema@.status_timeline IS
  'A computed status timeline: the segment current at its start (colour, vaccinated, reasons, valid_until), the later segments (next), and the evidence it was computed from (inputs).';
COMMENT ON COLUMN @extschema@.status_timeline.colour IS 'Colour of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.vaccinated IS 'The "vaccinated" mark of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.reasons IS 'Reasons of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.valid_until IS 'End of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.next IS 'The later segments: [{from, until, colour, vaccinated, reasons}].';
COMMENT ON COLUMN @extschema@.status_timeline.inputs IS 'The evidence, packed: see person_status.inputs.';

CREATE FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint,
                                         @extschema@.engine_policy[], timestamptz)
RETURNS internal
  AS 'MODULE_PATHNAME', 'healthcode_status_step' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) IS
  'Internal: transition function of _status_agg (collects one piece of evidence).';
REVOKE ALL ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) FROM PUBLIC;
CREATE FUNCTION @extschema@._status_final(internal) RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_final' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_final(internal) IS
  'Internal: final function of _status_agg (runs the status engine).';
REVOKE ALL ON FUNCTION @extschema@._status_final(internal) FROM PUBLIC;
CREATE AGGREGATE @extschema@._status_agg(kind text, at timestamptz, until timestamptz, value integer,
                                         place text, ref bigint, policy @extschema@.engine_policy[], start timestamptz) (
  SFUNC = @extschema@._status_step,
  STYPE = internal,
  FINALFUNC = @extschema@._status_final
);
COMMENT ON AGGREGATE @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) IS
  'Internal: one person''s evidence rows (kind, at, until, value, place, ref) under their region''s policy versions -> their status timeline from start on.';
REVOKE ALL ON FUNCTION @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, @extschema@.engine_policy[], timestamptz) FROM PUBLIC;

-- ---- the risky-stay rule, written once; one person's evidence as events ------

-- A stay is risky when a medium- or high-risk designation covering it was
-- in force at the time of the stay; the highest level wins. A designation
-- covers a stay when it names the stay's place or a division above it (its
-- township, county, city or province: division_chain; never the nation),
-- or names the venue the stay was at (a venue designation, whose division
-- is the venue's place, covers that venue's stays only: the same id at the
-- same place). The rule is written once, in C (hc_core_status_areas.c,
-- unit-tested in test/unit/test_status.c): _stay_level judges a stay by
-- the designations packed once a statement (_designations()), and
-- _stays_levels a person's listed stays at once, with no table read and
-- no join a stay. test/pgtap/consistency_random.sql checks every caller
-- against division_chain, and test/pgtap/places.sql each level.
CREATE FUNCTION @extschema@._designation_set(divisions text[], venues text[], highs boolean[],
                                             froms timestamptz[], untils timestamptz[])
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_designation_set' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._designation_set(text[], text[], boolean[], timestamptz[], timestamptz[]) IS
  'Internal: designations (division, venue id as text or NULL, high or medium, from, until or NULL; one element of each array apiece) packed for _stay_level and _stays_levels; NULL arrays: none.';
REVOKE ALL ON FUNCTION @extschema@._designation_set(text[], text[], boolean[], timestamptz[], timestamptz[]) FROM PUBLIC;

-- (a SQL body, read once a statement where it stands in a subquery)
CREATE FUNCTION @extschema@._designations() RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@._designation_set(pg_catalog.array_agg(d.division), pg_catalog.array_agg(d.venue::text),
                                      pg_catalog.array_agg(d.level OPERATOR(pg_catalog.=) 'high'),
                                      pg_catalog.array_agg(d.effective_from), pg_catalog.array_agg(d.effective_until))
    FROM @extschema@.risk_area d
   WHERE d.level OPERATOR(pg_catalog.<>) 'low';
END;
COMMENT ON FUNCTION @extschema@._designations() IS
  'Internal: every medium- and high-risk designation, packed for _stay_level and _stays_levels.';
REVOKE ALL ON FUNCTION @extschema@._designations() FROM PUBLIC;

CREATE FUNCTION @extschema@._stay_level(designations bytea, place text, venue text, at timestamptz)
RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_stay_level' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stay_level(bytea, text, text, timestamptz) IS
  'Internal: the risky-stay rule: a stay''s level by the designations (_designations()): true high, false medium, NULL not risky.';
REVOKE ALL ON FUNCTION @extschema@._stay_level(bytea, text, text, timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@._stays_levels(designations bytea, places text[], venues text[], ats timestamptz[])
RETURNS boolean[]
  AS 'MODULE_PATHNAME', 'healthcode_stays_levels' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._stays_levels(bytea, text[], text[], timestamptz[]) IS
  'Internal: _stay_level of stays given side by side (venues NULL: none at a venue), each one''s level.';
REVOKE ALL ON FUNCTION @extschema@._stays_levels(bytea, text[], text[], timestamptz[]) FROM PUBLIC;

-- The rule over a query of stays (columns person_id, id, at, place,
-- venue): the risky ones with high (true: a high-risk designation covers
-- it, false: medium), one row a stay given; with every_stay, every stay,
-- high NULL where none covers it. (OFFSET 0: judged once a stay, not once
-- in the filter and again in the result.)
CREATE FUNCTION @extschema@._stay_levels_sql(stays text, every_stay boolean DEFAULT false) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.format($q$
    SELECT j.person_id, j.id, j.at, j.place, j.high
      FROM (SELECT s.person_id, s.id, s.at, s.place,
                   @extschema@._stay_level((SELECT @extschema@._designations()), s.place, s.venue, s.at) AS high
              FROM (%s) s
            OFFSET 0) j%s$q$,
  stays,
  CASE WHEN every_stay THEN '' ELSE ' WHERE j.high IS NOT NULL' END);
COMMENT ON FUNCTION @extschema@._stay_levels_sql(text, boolean) IS
  'Internal: the risky-stay rule (_stay_level) as SQL over a query of stays (person_id, id, at, place, venue): each risky stay with high, or with every_stay each stay (high NULL when no medium- or high-risk designation in force at its time covers its place).';
REVOKE ALL ON FUNCTION @extschema@._stay_levels_sql(text, boolean) FROM PUBLIC;

-- The same over every stay, as one value: a reexamined_stays a person (in
-- id order) with each stay's level, what a re-examination of stays hands
-- to _recompute (changed_stays).
CREATE FUNCTION @extschema@._stays_judged_sql(stays text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pg_catalog.format($q$
    SELECT ARRAY(
      SELECT ROW(r.person_id, array_agg(r.id), array_agg(r.at), array_agg(r.place),
                 array_agg(r.high), NULL)::@extschema@.reexamined_stays
        FROM (%s) r
       GROUP BY r.person_id
       ORDER BY r.person_id)$q$,
  @extschema@._stay_levels_sql(stays, every_stay => true));
COMMENT ON FUNCTION @extschema@._stays_judged_sql(text) IS
  'Internal: the query (one reexamined_stays[] value, a person each, in id order) of the stays of a query of stays (person_id, id, at, place, venue), each with its level by _stay_levels_sql.';
REVOKE ALL ON FUNCTION @extschema@._stays_judged_sql(text) FROM PUBLIC;

-- A person's stays, judged by the rule above. Which stays to judge: for a
-- few people, theirs since horizon (each day partition's index on
-- person_id); for many people close together in id order (the slices of a
-- large recalculation: everyone of a region, a batch of the work list),
-- every stay of the ids between the first and the last (one range of that
-- index a day partition, each stay read once over all the slices); for
-- many scattered people, only those in a place some designation's range
-- covers while it was in force (the index on place and time), far fewer
-- than all their stays when an area is upgraded.
CREATE FUNCTION @extschema@._risky_stays_by(persons bigint[], horizon timestamptz, way text)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := coalesce(cardinality(persons), 0);
  lo bigint;
  hi bigint;
BEGIN
  SELECT min(q), max(q) INTO lo, hi FROM unnest(persons) q;
  way := coalesce(way, CASE WHEN n <= 200 THEN 'person' WHEN hi - lo < 20::bigint * n THEN 'range' ELSE 'place' END);
  IF way NOT IN ('person', 'range', 'place') THEN
    RAISE EXCEPTION 'way must be person, range or place, not %', quote_literal(way) USING ERRCODE = '22023';
  END IF;
  RETURN QUERY EXECUTE @extschema@._stay_levels_sql(CASE way
    WHEN 'person' THEN $s$
      SELECT t.person_id, t.id, t.at, t.place, t.venue
        FROM unnest($1) AS q(id)
        JOIN @extschema@.travel t ON t.person_id = q.id AND t.at >= $2$s$
    WHEN 'range' THEN $s$
      SELECT t.person_id, t.id, t.at, t.place, t.venue
        FROM @extschema@.travel t
       WHERE t.person_id >= $3 AND t.person_id <= $4 AND t.at >= $2
         AND t.person_id IN (SELECT unnest($1))$s$
    ELSE $s$
      SELECT DISTINCT t.person_id, t.id, t.at, t.place, t.venue
        FROM @extschema@.risk_area a
        JOIN @extschema@.travel t
          ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
         AND t.at >= GREATEST(a.effective_from, $2)
         AND (a.effective_until IS NULL OR t.at < a.effective_until)
       WHERE a.level <> 'low'
         AND t.person_id IN (SELECT unnest($1))$s$ END)
    USING persons, horizon, lo, hi;
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays_by(bigint[], timestamptz, text) IS
  'Internal: _risky_stays, reading the stays the way given (person: each person''s by the person index; range: every stay of the ids between the first and the last; place: those in the designations'' places), or, with way NULL, the way that suits the people.';
REVOKE ALL ON FUNCTION @extschema@._risky_stays_by(bigint[], timestamptz, text) FROM PUBLIC;

CREATE FUNCTION @extschema@._risky_stays(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN QUERY SELECT * FROM @extschema@._risky_stays_by(persons, horizon, NULL);
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) IS
  'Internal: the people''s stays since horizon in places covered by a medium- or high-risk designation in force at the time (high when any covering one was high).';
REVOKE ALL ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@._evidence(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, kind text, at timestamptz, until timestamptz, value integer,
               place text, ref bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.id, 'registered', p.registered_at, NULL::timestamptz, NULL::integer, NULL::text, p.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT s.person_id, CASE WHEN s.high THEN 'stay_high' ELSE 'stay_medium' END, s.at, NULL, NULL, s.place, s.id
    FROM @extschema@._risky_stays(persons, horizon) s
  UNION ALL
  SELECT r.person_id, CASE r.result WHEN 'positive' THEN 'positive_test' ELSE 'negative_test' END,
         r.sampled_at, NULL, NULL, NULL, r.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.test_result r ON r.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT c.person_id, CASE c.kind WHEN 'close' THEN 'close_contact' ELSE 'secondary_contact' END,
         c.exposure_at, NULL, NULL, NULL, c.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.contact c ON c.person_id OPERATOR(pg_catalog.=) q.id
   WHERE c.exposure_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT d.person_id, e.kind, d.declared_at, NULL, e.value, NULL, d.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.declaration d ON d.person_id OPERATOR(pg_catalog.=) q.id
    CROSS JOIN LATERAL (VALUES
      ('symptoms', NULL::integer, pg_catalog.cardinality(d.symptoms) OPERATOR(pg_catalog.>) 0),
      ('temperature', (d.temperature OPERATOR(pg_catalog.*) 10)::integer, d.temperature IS NOT NULL),
      ('declared_contact', NULL::integer, d.contact_with_case AND d.declared_at OPERATOR(pg_catalog.>=) horizon)
    ) AS e(kind, value, present)
   WHERE e.present
  UNION ALL
  SELECT k.person_id,
         CASE WHEN pg_catalog.cardinality(k.symptoms) OPERATOR(pg_catalog.>) 0 THEN 'checkin_symptoms' ELSE 'checkin' END,
         k.at, NULL, (k.temperature OPERATOR(pg_catalog.*) 10)::integer, NULL, k.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.checkin k ON k.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT v.person_id, 'vaccination', v.given_at, NULL, v.dose, NULL, v.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.vaccination v ON v.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  -- (the medicine as hc_medicine numbers it, its place in _medicines();
  -- the pharmacy's place)
  SELECT m.person_id, 'medicine_purchase', m.sold_at, NULL,
         pg_catalog.array_position(@extschema@._medicines(), m.medicine), m.place, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.medicine_sale m ON m.person_id OPERATOR(pg_catalog.=) q.id
   WHERE m.sold_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT f.person_id, 'finding', f.found_at, NULL, NULL, NULL, f.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.audit_finding f ON f.person_id OPERATOR(pg_catalog.=) q.id
   WHERE f.status OPERATOR(pg_catalog.<>) 'dismissed'
     AND f.found_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT p.id, 'pushed_red', r.since, r.until, NULL, r.from_region, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.red_push r ON r.national_subject OPERATOR(pg_catalog.=) p.national_subject
   WHERE r.from_region OPERATOR(pg_catalog.<>) p.region
     AND r.until OPERATOR(pg_catalog.>) r.since
  UNION ALL
  -- (mode 1: what another region shares about the person, read under this
  -- region's own policy: its red or yellow flag over the span it gives,
  -- its latest test, its doses, all given at the last dose's time)
  SELECT p.id, e.kind, e.at, e.until, NULL, e.place, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.health_share h ON h.national_subject OPERATOR(pg_catalog.=) p.national_subject
    CROSS JOIN LATERAL (VALUES
      (CASE h.colour WHEN 'red' THEN 'pushed_red' WHEN 'yellow' THEN 'pushed_yellow' END, h.since, h.valid_until,
       h.region, h.colour IN ('red', 'yellow') AND h.valid_until OPERATOR(pg_catalog.>) h.since),
      (CASE h.test_result WHEN 'positive' THEN 'positive_test' ELSE 'negative_test' END, h.tested_at, NULL,
       NULL, h.tested_at IS NOT NULL)
    ) AS e(kind, at, until, place, present)
   WHERE h.region OPERATOR(pg_catalog.<>) p.region AND e.present
  UNION ALL
  SELECT p.id, 'vaccination', h.last_dose_at, NULL, d.dose, NULL, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.health_share h ON h.national_subject OPERATOR(pg_catalog.=) p.national_subject
    CROSS JOIN LATERAL pg_catalog.generate_series(1, LEAST(h.doses, 10)) AS d(dose)
   WHERE h.region OPERATOR(pg_catalog.<>) p.region AND h.last_dose_at IS NOT NULL
  UNION ALL
  -- (an override's place: its order of recording among the person's
  -- decisions, for two starting at once: their own count, which the
  -- packed inputs may show, not the national chain's position; an erased
  -- person's tombstones are no one's evidence)
  SELECT m.person_id, CASE m.kind WHEN 'override' THEN 'override' ELSE 'release' END,
         m.valid_from, m.valid_until,
         CASE m.colour WHEN 'green' THEN 0 WHEN 'yellow' THEN 1 WHEN 'red' THEN 2 END,
         CASE m.kind WHEN 'override'
              THEN (pg_catalog.row_number() OVER (PARTITION BY m.person_id ORDER BY m.chain_seq))::text END, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.manual_decision m ON m.person_id OPERATOR(pg_catalog.=) q.id
   WHERE m.erased_at IS NULL;
END;
COMMENT ON FUNCTION @extschema@._evidence(bigint[], timestamptz) IS
  'Internal: every piece of evidence the status rules read for the people, as engine events (kind, at, until, value, place, ref). Windowed evidence (stays, contacts, a declared contact, findings: hc_event_windowed() in C) older than horizon is left out: it cannot change a colour any more.';
REVOKE ALL ON FUNCTION @extschema@._evidence(bigint[], timestamptz) FROM PUBLIC;

-- A fresh timeline for each person, from `start` on.
CREATE FUNCTION @extschema@._fresh_status(persons bigint[], start timestamptz)
RETURNS TABLE (person_id bigint, region text, timeline @extschema@.status_timeline)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  WITH who AS MATERIALIZED (
    SELECT p.id, p.region
      FROM (SELECT DISTINCT q.id FROM pg_catalog.unnest(persons) AS q(id)) d
      JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) d.id
  ), policies AS MATERIALIZED (
    SELECT r.region, @extschema@._policy_versions(r.region) AS vec
      FROM (SELECT DISTINCT who.region FROM who) r
  )
  SELECT who.id, who.region,
         @extschema@._status_agg(e.kind, e.at, e.until, e.value, e.place, e.ref, v.vec, start)
    FROM who
    JOIN policies v ON v.region OPERATOR(pg_catalog.=) who.region
    -- in id order: each evidence table's index is then probed in order
    LEFT JOIN @extschema@._evidence(ARRAY(SELECT who.id FROM who ORDER BY who.id),
                                    @extschema@._evidence_horizon(start)) e
      ON e.person_id OPERATOR(pg_catalog.=) who.id
   GROUP BY who.id, who.region;
END;
COMMENT ON FUNCTION @extschema@._fresh_status(bigint[], timestamptz) IS
  'Internal: the status timeline of each person computed from the raw evidence and policy, from start on.';
REVOKE ALL ON FUNCTION @extschema@._fresh_status(bigint[], timestamptz) FROM PUBLIC;

-- One person's stays a risk-area change re-examined, each with the level
-- the designations in force at its time give it now: high true (high
-- risk), false (medium), NULL (no risk any more). Arrays side by side.
CREATE TYPE @extschema@.reexamined_stays AS (
  person_id     bigint,
  ids           bigint[],
  ats           timestamptz[],
  places        text[],
  highs         boolean[],
  venues        text[]
);
COMMENT ON TYPE @extschema@.reexamined_stays IS
  'Internal: one person''s stays a risk-area change re-examined, and their levels now (arrays side by side).';
COMMENT ON COLUMN @extschema@.reexamined_stays.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ids IS 'The travel records.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ats IS 'When each stay was.';
COMMENT ON COLUMN @extschema@.reexamined_stays.places IS 'Where.';
COMMENT ON COLUMN @extschema@.reexamined_stays.highs IS 'Each one''s level now: true high risk, false medium, NULL none; the array NULL while not judged yet (_recompute judges them).';
COMMENT ON COLUMN @extschema@.reexamined_stays.venues IS 'The venue each was at (travel.venue), for a stay listed but not judged yet; NULL once judged.';

-- A person's timeline after a risk-area change, from their stored inputs:
-- only stays' levels change with a risk area, so their inputs less the
-- re-examined stays, plus those still risky, are their whole evidence, and
-- no evidence table is read.
CREATE FUNCTION @extschema@._status_from_stored_inputs(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
                                             stay_place text[], stay_high boolean[],
                                             policy @extschema@.engine_policy[], start timestamptz, horizon timestamptz)
RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_from_stored_inputs' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_from_stored_inputs(bytea, bigint[], timestamptz[], text[], boolean[], @extschema@.engine_policy[], timestamptz, timestamptz) IS
  'Internal: one person''s status timeline from start on after a risk-area change: their stored inputs less the windowed events before horizon and the re-examined stays (stay_ids), plus those stays still risky (stay_high true high, false medium, NULL none).';
REVOKE ALL ON FUNCTION @extschema@._status_from_stored_inputs(bytea, bigint[], timestamptz[], text[], boolean[], @extschema@.engine_policy[], timestamptz, timestamptz) FROM PUBLIC;

-- Retention (80_retention.sql) looks for the stored inputs that still hold
-- evidence the tables no longer keep, and recalculates their people.
CREATE FUNCTION @extschema@._inputs_hold_expired(inputs bytea, horizon timestamptz, kept_from timestamptz)
RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_inputs_hold_expired' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._inputs_hold_expired(bytea, timestamptz, timestamptz) IS
  'Internal: whether packed status inputs hold evidence too old to change a colour: windowed before horizon, or of a kind that expires before kept_from.';
REVOKE ALL ON FUNCTION @extschema@._inputs_hold_expired(bytea, timestamptz, timestamptz) FROM PUBLIC;
CREATE FUNCTION @extschema@._inputs_kept(inputs bytea, horizon timestamptz, kept_from timestamptz)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_inputs_kept' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._inputs_kept(bytea, timestamptz, timestamptz) IS
  'Internal: packed status inputs less the evidence too old to change a colour (windowed before horizon, expiring before kept_from).';
REVOKE ALL ON FUNCTION @extschema@._inputs_kept(bytea, timestamptz, timestamptz) FROM PUBLIC;
