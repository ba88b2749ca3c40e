-- ---------------------------------------------------------------------------
-- Status: each person's colour, mark and reasons, kept current by
-- statement-level triggers on every evidence table.
--
-- Design ("right at any read time without a background job"): the status
-- engine (src/hc_core_status.c) computes a person's whole future as a
-- timeline: the current segment (colour, vaccinated, reasons, valid_until)
-- and the later segments (next), e.g. "yellow until the medium-risk stay
-- leaves the 14-day window, then green". Evidence does not change by
-- itself, so that timeline stays exact until new evidence arrives, and a
-- read at any time takes the segment containing its instant
-- (healthcode.status(), healthcode.current_status). Triggers recompute
-- the timeline of exactly the people a statement's evidence touches.
--
-- Inputs: each row also keeps the evidence its timeline came from, packed
-- (inputs), so that a risk-area change, which can only change stays,
-- recomputes people from it and their re-examined stays without reading
-- every evidence table again (doc/status.md, "Risk-area changes").
--
-- History: a change caused by data is appended when it happens; a change
-- caused by time (a window ending) is appended when the person's row is
-- next rewritten, and until then shown by the status_changes view, which
-- always holds both.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.person_status (
  person_id     bigint PRIMARY KEY,
  region        text NOT NULL,
  colour        @extschema@.risk_colour NOT NULL,
  vaccinated    boolean NOT NULL,
  reasons       jsonb NOT NULL,
  since         timestamptz NOT NULL,
  valid_until   timestamptz NOT NULL,
  next          jsonb NOT NULL DEFAULT '[]',
  computed_at   timestamptz NOT NULL,
  inputs        bytea,
  CONSTRAINT person_status_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX person_status_region ON @extschema@.person_status (region, colour);
COMMENT ON TABLE @extschema@.person_status IS
  'Each person''s stored status timeline as of computed_at: the segment then current and the later ones. Read it through healthcode.status() or current_status, which pick the segment of the read time.';
COMMENT ON COLUMN @extschema@.person_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.person_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.person_status.colour IS 'Colour of the segment current at computed_at.';
COMMENT ON COLUMN @extschema@.person_status.vaccinated IS 'The "vaccinated" mark of that segment.';
COMMENT ON COLUMN @extschema@.person_status.reasons IS 'Why that segment has its colour: [{rule, colour, at, place, ref, text}], e.g. text "stayed in 330106 (high risk) on 2022-04-02".';
COMMENT ON COLUMN @extschema@.person_status.since IS 'When the person''s colour last changed.';
COMMENT ON COLUMN @extschema@.person_status.valid_until IS 'When that segment ends without new evidence (colour, mark or reasons change); infinity if never.';
COMMENT ON COLUMN @extschema@.person_status.next IS 'The later segments: [{from, until, colour, vaccinated, reasons}].';
COMMENT ON COLUMN @extschema@.person_status.computed_at IS 'When the timeline was computed.';
COMMENT ON COLUMN @extschema@.person_status.inputs IS 'The evidence the timeline was computed from, packed (the engine''s events): a risk-area change recomputes people from it and their re-examined stays, without reading every evidence table again. NULL: recompute from the evidence tables.';

CREATE TABLE @extschema@.status_history (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL,
  from_colour   @extschema@.risk_colour,
  to_colour     @extschema@.risk_colour NOT NULL,
  reasons       jsonb NOT NULL,
  cause         text NOT NULL
);
-- No foreign key to person: only _recompute() writes history, for people
-- it has just read, and a per-row key check would cost a recalculation of
-- ten thousand people more than its whole status update. What the key's
-- cascades did, the person triggers do set-based (_person_changed(),
-- _person_removed()): a person's move renames their history's region, a
-- person's deletion deletes their history.

CREATE INDEX status_history_person ON @extschema@.status_history (person_id, at);
CREATE INDEX status_history_at ON @extschema@.status_history (at);
COMMENT ON TABLE @extschema@.status_history IS
  'Every colour change, appended: from, to, the reasons of the new colour, when, and the cause (the evidence table and operation, a correction, or "time" when a window ended). See status_changes for the complete history at read time.';
COMMENT ON COLUMN @extschema@.status_history.id IS 'History entry id (order of writing).';
COMMENT ON COLUMN @extschema@.status_history.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_history.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_history.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_history.from_colour IS 'The colour before; NULL for a person''s first status.';
COMMENT ON COLUMN @extschema@.status_history.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_history.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_history.cause IS 'What changed: e.g. "risk_area update", "test_result insert", "time", or healthcode.change_cause.';

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
                                         bigint[], timestamptz)
RETURNS internal
  AS 'MODULE_PATHNAME', 'healthcode_status_step' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz) IS
  'Internal: transition function of _status_agg (collects one piece of evidence).';
CREATE FUNCTION @extschema@._status_final(internal) RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_final' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_final(internal) IS
  'Internal: final function of _status_agg (runs the status engine).';
CREATE AGGREGATE @extschema@._status_agg(kind text, at timestamptz, until timestamptz, value integer,
                                         place text, ref bigint, policy bigint[], start timestamptz) (
  SFUNC = @extschema@._status_step,
  STYPE = internal,
  FINALFUNC = @extschema@._status_final
);
COMMENT ON AGGREGATE @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz) IS
  'Internal: one person''s evidence rows (kind, at, until, value, place, ref) under a policy vector -> their status timeline from start on.';

-- ---- one person's evidence, as the engine's events ---------------------------

-- Stays count only where a medium- or high-risk designation covering the
-- place was in force at the time of the stay; the highest level wins.
-- Two ways to find them: from the people (each day partition's index on
-- person_id; cheap for a few people) or from the designations (the index
-- on place; cheap for many people, as when an area is upgraded).
CREATE FUNCTION @extschema@._risky_stays(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  IF cardinality(persons) > 200 THEN
    RETURN QUERY
    SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high')
      FROM @extschema@.risk_area a
      JOIN @extschema@.travel t
        ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
       AND t.at >= GREATEST(a.effective_from, horizon)
       AND (a.effective_until IS NULL OR t.at < a.effective_until)
     WHERE a.level <> 'low'
       AND t.person_id IN (SELECT unnest(persons))
     GROUP BY t.person_id, t.id, t.at, t.place;
  ELSE
    RETURN QUERY
    SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high')
      FROM unnest(persons) AS q(id)
      JOIN @extschema@.travel t ON t.person_id = q.id AND t.at >= horizon
      JOIN @extschema@.risk_area a
        ON a.division = ANY (@extschema@.division_chain(t.place))
       AND a.level <> 'low'
       AND t.at >= a.effective_from
       AND (a.effective_until IS NULL OR t.at < a.effective_until)
     GROUP BY t.person_id, t.id, t.at, t.place;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) IS
  'Internal: the people''s stays since horizon in places covered by a medium- or high-risk designation in force at the time (high when any covering one was high).';

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
  SELECT m.person_id, CASE m.kind WHEN 'override' THEN 'override' ELSE 'release' END,
         m.valid_from, m.valid_until,
         CASE m.colour WHEN 'green' THEN 0 WHEN 'yellow' THEN 1 WHEN 'red' THEN 2 END, NULL, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.manual_decision m ON m.person_id OPERATOR(pg_catalog.=) q.id;
END;
COMMENT ON FUNCTION @extschema@._evidence(bigint[], timestamptz) IS
  'Internal: every piece of evidence the status rules read for the people, as engine events (kind, at, until, value, place, ref). Windowed evidence (stays, contacts, a declared contact, findings: hc_event_windowed() in C) older than horizon is left out: it cannot change a colour any more.';

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
    SELECT r.region, @extschema@._policy_vector(r.region) AS vec
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

-- One person's stays a risk-area change re-examined, each with the level
-- the designations in force at its time give it now: high true (high
-- risk), false (medium), NULL (no risk any more). Arrays side by side.
CREATE TYPE @extschema@.reexamined_stays AS (
  person_id     bigint,
  ids           bigint[],
  ats           timestamptz[],
  places        text[],
  highs         boolean[]
);
COMMENT ON TYPE @extschema@.reexamined_stays IS
  'Internal: one person''s stays a risk-area change re-examined, and their levels now (arrays side by side).';
COMMENT ON COLUMN @extschema@.reexamined_stays.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ids IS 'The travel records.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ats IS 'When each stay was.';
COMMENT ON COLUMN @extschema@.reexamined_stays.places IS 'Where.';
COMMENT ON COLUMN @extschema@.reexamined_stays.highs IS 'Each one''s level now: true high risk, false medium, NULL none.';

-- A person's timeline after a risk-area change, from their stored inputs:
-- only stays' levels change with a risk area, so their inputs less the
-- re-examined stays, plus those still risky, are their whole evidence, and
-- no evidence table is read.
CREATE FUNCTION @extschema@._status_restayed(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
                                             stay_place text[], stay_high boolean[], policy bigint[],
                                             start timestamptz, horizon timestamptz)
RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_restayed' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_restayed(bytea, bigint[], timestamptz[], text[], boolean[], bigint[], timestamptz, timestamptz) IS
  'Internal: one person''s status timeline from start on after a risk-area change: their stored inputs less the windowed events before horizon and the re-examined stays (stay_ids), plus those stays still risky (stay_high true high, false medium, NULL none).';

-- ---- reading a stored timeline at an instant -----------------------------------

CREATE TYPE @extschema@.status_instant AS (
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  since         timestamptz,
  valid_until   timestamptz,
  next          jsonb
);
COMMENT ON TYPE @extschema@.status_instant IS
  'A status at an instant: colour, mark, reasons, since, valid_until and the later segments.';
COMMENT ON COLUMN @extschema@.status_instant.colour IS 'The colour at the instant.';
COMMENT ON COLUMN @extschema@.status_instant.vaccinated IS 'The "vaccinated" mark at the instant.';
COMMENT ON COLUMN @extschema@.status_instant.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.status_instant.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.status_instant.valid_until IS 'Until when the status holds without new evidence.';
COMMENT ON COLUMN @extschema@.status_instant.next IS 'The segments after it.';

-- The slow path: the instant lies past the stored current segment.
CREATE FUNCTION @extschema@._status_later(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.status_instant;
  seg jsonb;
  prev @extschema@.risk_colour;
  i integer;
BEGIN
  IF s IS NULL THEN
    RAISE EXCEPTION 's (a stored status) must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF at IS NULL THEN
    RAISE EXCEPTION 'at must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF jsonb_typeof(s.next) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 's.next must be a JSON array of segments, not %', coalesce(jsonb_typeof(s.next), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  r := ROW(s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next);
  IF at < s.valid_until OR s.valid_until = 'infinity' THEN
    RETURN r;
  END IF;
  FOR i IN 0 .. jsonb_array_length(s.next) - 1 LOOP
    seg := s.next -> i;
    prev := r.colour;
    r.colour := (seg ->> 'colour')::@extschema@.risk_colour;
    r.vaccinated := (seg ->> 'vaccinated')::boolean;
    r.reasons := seg -> 'reasons';
    r.valid_until := (seg ->> 'until')::timestamptz;
    IF r.colour <> prev THEN
      r.since := (seg ->> 'from')::timestamptz;
    END IF;
    IF at < r.valid_until OR r.valid_until = 'infinity' THEN
      r.next := (SELECT coalesce(jsonb_agg(x.e ORDER BY x.o), '[]'::jsonb)
                   FROM jsonb_array_elements(s.next) WITH ORDINALITY AS x(e, o)
                  WHERE x.o > i + 1);
      RETURN r;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'status timeline of person % does not reach %', s.person_id, at
    USING ERRCODE = 'XX000';
END $$;
COMMENT ON FUNCTION @extschema@._status_later(@extschema@.person_status, timestamptz) IS
  'Internal: a stored timeline read at an instant past its current segment.';

CREATE FUNCTION @extschema@.status_at(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN at IS NOT NULL
                 AND (at OPERATOR(pg_catalog.<) s.valid_until OR s.valid_until OPERATOR(pg_catalog.=) 'infinity')
            THEN ROW(s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next)::@extschema@.status_instant
            ELSE @extschema@._status_later(s, at) END;
COMMENT ON FUNCTION @extschema@.status_at(@extschema@.person_status, timestamptz) IS
  'A stored status timeline read at an instant (not before computed_at): the segment containing it, since when the colour holds, and the later segments.';

-- The colour changes of a stored timeline that time has reached by upto:
-- the boundaries of its later segments where the colour differs.
CREATE FUNCTION @extschema@._elapsed_changes(colour @extschema@.risk_colour, next jsonb, upto timestamptz)
RETURNS TABLE (at timestamptz, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, reasons jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT g.at, g.prev, g.colour, g.reasons
    FROM (SELECT (x.seg OPERATOR(pg_catalog.->>) 'from')::timestamptz AS at,
                 (x.seg OPERATOR(pg_catalog.->>) 'colour')::@extschema@.risk_colour AS colour,
                 x.seg OPERATOR(pg_catalog.->) 'reasons' AS reasons,
                 COALESCE((pg_catalog.lag(x.seg) OVER (ORDER BY x.o) OPERATOR(pg_catalog.->>) 'colour')::@extschema@.risk_colour,
                          _elapsed_changes.colour) AS prev
            FROM pg_catalog.jsonb_array_elements(_elapsed_changes.next) WITH ORDINALITY AS x(seg, o)) g
   WHERE g.at OPERATOR(pg_catalog.<=) _elapsed_changes.upto AND g.colour OPERATOR(pg_catalog.<>) g.prev;
END;
COMMENT ON FUNCTION @extschema@._elapsed_changes(@extschema@.risk_colour, jsonb, timestamptz) IS
  'Internal: the colour changes a stored timeline (its first colour and later segments) has reached by upto: when, from, to, the new reasons.';

-- ---- recalculation ---------------------------------------------------------------

CREATE FUNCTION @extschema@._recompute(persons bigint[], cause text, exclusive boolean DEFAULT false,
                                       restayed @extschema@.reexamined_stays[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- each person's evidence is aggregated in memory: room for big batches
SET work_mem = '64MB'
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  horizon timestamptz := @extschema@._evidence_horizon(t);
  n integer;
BEGIN
  IF coalesce(cardinality(persons), 0) = 0 THEN
    RETURN 0;
  END IF;
  -- each person once, in id order (the order of every index probed below;
  -- the people of re-examined stays come so)
  IF restayed IS NULL THEN
    persons := ARRAY(SELECT DISTINCT q.id FROM unnest(persons) AS q(id) WHERE q.id IS NOT NULL ORDER BY q.id);
  END IF;
  -- Recalculations of the same person queue up here; the next statement
  -- takes a new snapshot, so (in READ COMMITTED) the later one sees the
  -- earlier one's evidence and no concurrent change is lost. A caller
  -- holding the evidence lock exclusively (exclusive) has no concurrent
  -- recalculation to queue behind: every other one holds it shared.
  IF NOT exclusive THEN
    PERFORM 1 FROM @extschema@.person_status s
      WHERE s.person_id IN (SELECT unnest(persons)) ORDER BY s.person_id FOR UPDATE OF s;
  END IF;

  -- (restayed is a constant of the custom plan: the branches of the other
  -- case are planned away)
  WITH cur AS MATERIALIZED (
    -- the stored rows: read at t, and where they lie (updated below by
    -- that: no other recalculation can move them, see the lock above);
    -- after a risk-area change, with each person's re-examined stays
    SELECT s.ctid AS row_id, s.person_id, s.region, s.colour AS stored_colour, s.next AS stored_next,
           s.valid_until AS stored_valid_until, s.inputs AS stored_inputs, @extschema@.status_at(s, t) AS v,
           NULL::@extschema@.reexamined_stays AS x
      FROM @extschema@.person_status s
     WHERE s.person_id = ANY (persons) AND restayed IS NULL
    UNION ALL
    SELECT s.ctid, s.person_id, s.region, s.colour, s.next, s.valid_until, s.inputs,
           @extschema@.status_at(s, t), x
      FROM @extschema@.person_status s
      JOIN unnest(restayed) AS x ON x.person_id = s.person_id
     WHERE restayed IS NOT NULL AND s.person_id = ANY (persons)
  ), policies AS MATERIALIZED (
    -- (once a region, not once a person)
    SELECT r.region, @extschema@._policy_vector(r.region) AS vec
      FROM (SELECT DISTINCT c.region FROM cur c WHERE c.stored_inputs IS NOT NULL) r
  ), fresh AS (
    -- each person's new timeline beside their stored row (if any); from
    -- the evidence tables: everyone ...
    SELECT f.person_id, f.region, f.timeline, c
      FROM @extschema@._fresh_status(persons, t) f
      LEFT JOIN cur c ON c.person_id = f.person_id
     WHERE restayed IS NULL
    UNION ALL
    -- ... or, after a risk-area change, those without stored inputs ...
    SELECT f.person_id, f.region, f.timeline, c
      FROM @extschema@._fresh_status(
             ARRAY(SELECT q.id FROM unnest(persons) AS q(id)
                    WHERE NOT EXISTS (SELECT 1 FROM cur c
                                       WHERE c.person_id = q.id AND c.stored_inputs IS NOT NULL)), t) f
      LEFT JOIN cur c ON c.person_id = f.person_id
     WHERE restayed IS NOT NULL
    UNION ALL
    -- ... and the others from their inputs and re-examined stays (a call
    -- a row, in a subquery kept apart: (f(...)).* would call f once a column)
    SELECT r.person_id, r.region, r.timeline, r.c
      FROM (SELECT c.person_id, c.region, c,
                   @extschema@._status_restayed(c.stored_inputs, (c.x).ids, (c.x).ats, (c.x).places,
                                                (c.x).highs, v.vec, t, horizon) AS timeline
              FROM cur c
              JOIN policies v ON v.region = c.region
             WHERE c.stored_inputs IS NOT NULL
            OFFSET 0) r
     WHERE restayed IS NOT NULL
  ), changed AS MATERIALIZED (
    SELECT f.person_id, f.region, (f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons,
           (f.timeline).valid_until, (f.timeline).next, (f.timeline).inputs,
           (f.c).row_id, (f.c).person_id IS NULL AS is_new, ((f.c).v).colour AS old_colour,
           ((f.c).v).since AS old_since, (f.c).stored_colour, (f.c).stored_next, (f.c).stored_valid_until
      FROM fresh f
     WHERE (f.c).person_id IS NULL
        OR (f.timeline).colour <> ((f.c).v).colour OR (f.timeline).vaccinated <> ((f.c).v).vaccinated
        OR (f.timeline).valid_until <> ((f.c).v).valid_until OR (f.timeline).reasons <> ((f.c).v).reasons
        OR (f.timeline).next <> ((f.c).v).next OR (f.timeline).inputs IS DISTINCT FROM (f.c).stored_inputs
  ), elapsed AS (
    -- the stored timeline's colour changes that time has reached
    INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
    SELECT ch.person_id, ch.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time'
      FROM changed ch
      CROSS JOIN LATERAL @extschema@._elapsed_changes(ch.stored_colour, ch.stored_next, t) g
     WHERE NOT ch.is_new AND ch.stored_valid_until <= t   -- (else no later segment has begun)
  ), changes AS (
    INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
    SELECT ch.person_id, ch.region, t, ch.old_colour, ch.colour, ch.reasons, cause
      FROM changed ch
     WHERE ch.is_new OR ch.colour <> ch.old_colour
  ), inserted AS (
    INSERT INTO @extschema@.person_status
           (person_id, region, colour, vaccinated, reasons, since, valid_until, next, computed_at, inputs)
    SELECT ch.person_id, ch.region, ch.colour, ch.vaccinated, ch.reasons, t, ch.valid_until, ch.next, t, ch.inputs
      FROM changed ch
     WHERE ch.is_new
    RETURNING 1
  ), updated AS (
    UPDATE @extschema@.person_status s
       SET region = ch.region, colour = ch.colour, vaccinated = ch.vaccinated, reasons = ch.reasons,
           since = CASE WHEN ch.colour <> ch.old_colour THEN t ELSE ch.old_since END,
           valid_until = ch.valid_until, next = ch.next, computed_at = t, inputs = ch.inputs
      FROM changed ch
     WHERE s.ctid = ch.row_id AND s.person_id = ch.person_id AND NOT ch.is_new
       -- (the rows by their addresses: no scan of the table)
       AND s.ctid = ANY (ARRAY(SELECT ch.row_id FROM changed ch WHERE NOT ch.is_new))
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) INTO n;
  -- a region node of the national scheme publishes what changed
  IF EXISTS (SELECT 1 FROM @extschema@.node) THEN
    PERFORM @extschema@._publish_status(persons);
  END IF;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[]) IS
  'Internal: recalculates the people''s status timelines from their evidence in one set-based statement; writes only rows that change (timeline or inputs), appends history for colour changes (and for changes time has reached in the old timeline). exclusive: the caller holds the evidence lock exclusively, so the rows need no lock first. restayed: the stays a risk-area change re-examined; people with stored inputs are then recomputed from those. Returns how many status rows changed.';

-- ---- triggers --------------------------------------------------------------------

-- Inside a restore (healthcode.restore_mode) or a logical-replication apply
-- (session_replication_role = replica: triggers do not fire at all) the
-- statuses arrive with the data and must not be derived twice.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_restore_mode'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._restoring() IS
  'Internal: true while healthcode.restore_mode is on (a dump is being loaded). In C: reading it loads the module, which refuses a value an ordinary user set before.';

CREATE FUNCTION @extschema@._clock_skew() RETURNS interval
  AS 'MODULE_PATHNAME', 'healthcode_clock_skew'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._clock_skew() IS
  'Internal: healthcode.clock_skew as an interval (read in C, like _restoring()).';

CREATE FUNCTION @extschema@._cause(tbl text, op text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(NULLIF(pg_catalog.current_setting('healthcode.change_cause', true), ''),
                           tbl OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) pg_catalog.lower(op));
COMMENT ON FUNCTION @extschema@._cause(text, text) IS
  'Internal: the cause written to status_history: healthcode.change_cause, else "<table> <operation>".';

-- Evidence times lie in the health-code era (from 2019-12-01) and not in
-- the future beyond healthcode.clock_skew. (The trigger computes the
-- earliest and latest times itself: transition tables are visible only
-- inside the trigger function.)
CREATE FUNCTION @extschema@._check_evidence_times(tbl text, col text, earliest timestamptz, latest timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tolerance interval := @extschema@._clock_skew();
BEGIN
  IF latest > statement_timestamp() + tolerance THEN
    RAISE EXCEPTION '%.% lies in the future: %', tbl, col, latest
      USING ERRCODE = '22023',
            DETAIL = format('Evidence times may be at most healthcode.clock_skew (%s) ahead of the server''s clock.', tolerance),
            HINT = 'Check the source''s clock and time zone.';
  END IF;
  IF earliest < timestamptz '2019-12-01 00:00+08' THEN
    RAISE EXCEPTION '%.% lies before the health-code era: %', tbl, col, earliest
      USING ERRCODE = '22023',
            DETAIL = 'Evidence times start on 2019-12-01 (China Standard Time).';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) IS
  'Internal: raises 22023, naming the table and column, when a statement''s new rows have a time before 2019-12-01 or beyond now + healthcode.clock_skew.';

-- Concurrent writers. A trigger decides whom to recalculate from what its
-- snapshot shows, and cannot see another transaction's uncommitted rows: a
-- stay being imported while its area is designated high risk in another
-- transaction would be missed by both. So the statements whose meaning
-- depends on everyone's evidence (risk areas, policy) take this lock
-- exclusively, and every other evidence trigger takes it shared before it
-- looks: one side waits for the other to commit, and (READ COMMITTED) then
-- sees its rows.
CREATE FUNCTION @extschema@._evidence_lock(exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF exclusive THEN
    PERFORM pg_advisory_xact_lock(hashtext('@extschema@ evidence'));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(hashtext('@extschema@ evidence'));
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_lock(boolean) IS
  'Internal: the transaction-level lock that orders evidence triggers (shared) against risk-area and policy triggers (exclusive), so neither misses the other''s rows.';

-- The statement trigger of every evidence table with a person_id.
-- TG_ARGV[0]: the time column checked against the future; TG_ARGV[1]: a
-- column whose changes alone never matter (e.g. declaration.audited_at).
CREATE FUNCTION @extschema@._evidence_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  ignored text := coalesce(TG_ARGV[1], '');
  earliest timestamptz;
  latest timestamptz;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('SELECT min(%1$I), max(%1$I) FROM new_rows', TG_ARGV[0]) INTO earliest, latest;
    PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, TG_ARGV[0], earliest, latest);
  END IF;
  IF TG_OP = 'INSERT' THEN
    persons := ARRAY(SELECT DISTINCT n.person_id FROM new_rows n);
  ELSIF TG_OP = 'UPDATE' THEN
    persons := ARRAY(
      SELECT n.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored
      UNION
      SELECT o.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored);
  ELSIF TG_OP = 'DELETE' THEN
    persons := ARRAY(SELECT DISTINCT o.person_id FROM old_rows o);
  ELSE -- TRUNCATE
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_changed() IS
  'Internal: AFTER STATEMENT trigger of evidence tables: checks new times are not in the future and recalculates exactly the people whose rows the statement touched.';

-- Travel: only stays in medium- or high-risk areas can change a colour, so
-- a bulk import of ordinary itineraries recalculates only the people with
-- a risky stay in it. The stays are matched to the designations covering
-- them by three hash joins (the place itself, its city, its province):
-- cheap for a million-row COPY, where a join per row would not be.
CREATE FUNCTION @extschema@._travel_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  horizon timestamptz;
  src text;
  query text := $q$
    WITH stays AS MATERIALIZED (
      SELECT s.person_id, s.place, s.at FROM %s s WHERE s.at >= $1
    ), areas AS MATERIALIZED (
      SELECT a.division, a.effective_from, a.effective_until
        FROM @extschema@.risk_area a WHERE a.level <> 'low'
    )
    SELECT ARRAY(
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = s.place
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until)
      UNION
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = left(s.place, 4) || '00'
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until)
      UNION
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = left(s.place, 2) || '0000'
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until))
  $q$;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  horizon := @extschema@._evidence_horizon(statement_timestamp());
  IF TG_OP = 'TRUNCATE' THEN
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  ELSE
    IF TG_OP <> 'DELETE' THEN
      PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'at', min(n.at), max(n.at)) FROM new_rows n;
    END IF;
    src := CASE TG_OP
      WHEN 'INSERT' THEN 'new_rows'
      WHEN 'DELETE' THEN 'old_rows'
      ELSE '(SELECT n.person_id, n.place, n.at FROM new_rows n UNION ALL SELECT o.person_id, o.place, o.at FROM old_rows o)'
    END;
    EXECUTE format(query, src) INTO persons USING horizon;
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._travel_changed() IS
  'Internal: AFTER STATEMENT trigger of travel and its day partitions: recalculates the people whose new or removed stays fall in a medium- or high-risk area within the window.';

-- Risk areas: the stays, within the window, in a place the old or new
-- designation covers while it was in force; only their levels can change,
-- so they are re-examined against every designation and their people
-- recomputed from their stored inputs (_status_restayed).
CREATE FUNCTION @extschema@._stays_reexamined(areas @extschema@.risk_area[], horizon timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- PL/pgSQL, not SQL: PostgreSQL 15 keeps a SQL function's plan for a whole
  -- transaction, and would miss (or fail on) day partitions made or dropped
  -- since; a PL/pgSQL plan is rebuilt when they change.
  RETURN ARRAY(
    WITH stays AS MATERIALIZED (
      -- from the (place, at) index alone, which includes person and record
      SELECT DISTINCT t.person_id, t.id, t.at, t.place
        FROM unnest(areas) a
        JOIN @extschema@.travel t
          ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
         AND t.at >= GREATEST(a.effective_from, horizon)
         AND (a.effective_until IS NULL OR t.at < a.effective_until)
    ), designations AS MATERIALIZED (
      SELECT r.division, r.level = 'high' AS high, r.effective_from, r.effective_until
        FROM @extschema@.risk_area r WHERE r.level <> 'low'
    ), covering AS (
      -- the designations of the place itself, its city and its province:
      -- three hash joins (a designation never names the nation)
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = s.place
      UNION ALL
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = left(s.place, 4) || '00'
      UNION ALL
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = left(s.place, 2) || '0000'
    ), levels AS (
      SELECT c.id, bool_or(c.high) AS high
        FROM covering c
       WHERE c.at >= c.effective_from AND (c.effective_until IS NULL OR c.at < c.effective_until)
       GROUP BY c.id
    )
    SELECT ROW(s.person_id, array_agg(s.id), array_agg(s.at), array_agg(s.place),
               array_agg(l.high))::@extschema@.reexamined_stays
      FROM stays s LEFT JOIN levels l ON l.id = s.id
     GROUP BY s.person_id
     ORDER BY s.person_id);
END $$;
COMMENT ON FUNCTION @extschema@._stays_reexamined(@extschema@.risk_area[], timestamptz) IS
  'Internal: the stays since horizon in a place one of the designations covers while it was in force, each person''s with the level every designation in force at its time gives each now.';

CREATE FUNCTION @extschema@._risk_area_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  areas @extschema@.risk_area[];
  stays @extschema@.reexamined_stays[];
  cause text := @extschema@._cause(TG_TABLE_NAME, TG_OP);
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM @extschema@._recompute(ARRAY(SELECT p.id FROM @extschema@.person p), cause, exclusive => true);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    areas := ARRAY(SELECT n FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    areas := ARRAY(SELECT o FROM old_rows o);
  ELSE
    areas := ARRAY(SELECT n FROM new_rows n UNION ALL SELECT o FROM old_rows o);
  END IF;
  stays := @extschema@._stays_reexamined(areas, @extschema@._evidence_horizon(statement_timestamp()));
  PERFORM @extschema@._recompute(ARRAY(SELECT s.person_id FROM unnest(stays) s), cause,
                                 exclusive => true, restayed => stays);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_changed() IS
  'Internal: AFTER STATEMENT trigger of risk_area: re-examines the stays the old or new designation covers and recalculates their people.';

-- Policies: everyone in the regions the old or new versions govern.
CREATE FUNCTION @extschema@._people_governed(regions text[]) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT ARRAY(
    SELECT DISTINCT p.id
      FROM pg_catalog.unnest(regions) r(code)
      JOIN @extschema@.person p
        ON p.region OPERATOR(pg_catalog.>=) r.code
       AND p.region OPERATOR(pg_catalog.<=) @extschema@.division_last(r.code));
END;
COMMENT ON FUNCTION @extschema@._people_governed(text[]) IS
  'Internal: everyone whose home region lies within one of the regions.';

CREATE FUNCTION @extschema@._policy_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  regions text[];
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'INSERT' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    regions := ARRAY(SELECT o.region FROM old_rows o);
  ELSIF TG_OP = 'UPDATE' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n UNION SELECT o.region FROM old_rows o);
  ELSE
    regions := ARRAY['000000'];
  END IF;
  PERFORM @extschema@._recompute(@extschema@._people_governed(regions), @extschema@._cause(TG_TABLE_NAME, TG_OP),
                                 exclusive => true);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_changed() IS
  'Internal: AFTER STATEMENT trigger of policy: recalculates everyone in the regions the changed versions govern.';

-- People: a new person gets a first status; a move to another region (or a
-- corrected registration time) changes the governing policy, and their
-- history moves with them.
CREATE FUNCTION @extschema@._person_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- history follows a person by id (it has no foreign key to cascade)
    IF EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)) THEN
      RAISE EXCEPTION 'person.id cannot change' USING ERRCODE = '22023',
        DETAIL = 'A person''s id is how their evidence, status and history find them; register a new person instead.';
    END IF;
    UPDATE @extschema@.status_history h SET region = n.region
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE h.person_id = n.id AND n.region <> o.region;
  END IF;
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'registered_at', min(n.registered_at), max(n.registered_at))
     FROM new_rows n;
  IF TG_OP = 'INSERT' THEN
    PERFORM @extschema@._recompute(ARRAY(SELECT n.id FROM new_rows n), @extschema@._cause(TG_TABLE_NAME, TG_OP));
  ELSE
    PERFORM @extschema@._recompute(
      ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.region <> o.region OR n.registered_at <> o.registered_at),
      @extschema@._cause(TG_TABLE_NAME, TG_OP));
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_changed() IS
  'Internal: AFTER STATEMENT trigger of person: a first status for new people; for people whose region or registration time changed, their history''s region and a recalculation. Refuses a change of id.';

-- A deleted person's history goes with them (their evidence and status go
-- by their foreign keys' cascades). Also during a restore: this is
-- bookkeeping, not a recalculation.
CREATE FUNCTION @extschema@._person_removed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE @extschema@.status_history;
  ELSE
    DELETE FROM @extschema@.status_history h USING old_rows o WHERE h.person_id = o.id;
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_removed() IS
  'Internal: AFTER STATEMENT trigger of person: deletes the history of deleted people (all of it when person is truncated).';

-- A person's update or deletion rewrites their status row through the
-- foreign key's cascade before any AFTER trigger runs. Were the evidence
-- lock taken only then, the statement could hold a status row that a
-- risk-area or policy recalculation (holding the lock exclusively) waits
-- to update, and wait for that lock itself: a deadlock. So it is taken
-- first, before the statement touches a row.
CREATE FUNCTION @extschema@._person_lock() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._evidence_lock(false);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_lock() IS
  'Internal: BEFORE STATEMENT trigger of person (update, delete): takes the evidence lock shared before the foreign keys'' cascades touch any status row.';

CREATE TRIGGER person_locked BEFORE UPDATE OR DELETE ON @extschema@.person
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_lock();
CREATE TRIGGER person_inserted AFTER INSERT ON @extschema@.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_changed();
CREATE TRIGGER person_updated AFTER UPDATE ON @extschema@.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_changed();
CREATE TRIGGER person_deleted AFTER DELETE ON @extschema@.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_removed();
CREATE TRIGGER person_truncated AFTER TRUNCATE ON @extschema@.person
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_removed();

-- Three statement triggers (transition tables allow one event each) and a
-- TRUNCATE trigger on every evidence table.
DO $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT * FROM (VALUES
      ('declaration', '_evidence_changed', 'declared_at', 'audited_at'),
      ('test_result', '_evidence_changed', 'sampled_at', ''),
      ('vaccination', '_evidence_changed', 'given_at', ''),
      ('contact', '_evidence_changed', 'exposure_at', ''),
      ('checkin', '_evidence_changed', 'at', ''),
      ('manual_decision', '_evidence_changed', 'decided_at', ''),
      ('audit_finding', '_evidence_changed', 'found_at', ''),
      ('travel', '_travel_changed', 'at', ''),
      ('risk_area', '_risk_area_changed', 'effective_from', ''),
      ('policy', '_policy_changed', 'valid_from', '')) AS v(tbl, fn, timecol, ignored)
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON @extschema@.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_inserted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON @extschema@.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_updated', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON @extschema@.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_deleted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_truncated', e.tbl, e.fn, e.timecol, e.ignored);
  END LOOP;
END $$;

-- ---- reading status -----------------------------------------------------------------

CREATE TYPE @extschema@.status_report AS (
  person_id     bigint,
  region        text,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  since         timestamptz,
  valid_until   timestamptz
);
COMMENT ON TYPE @extschema@.status_report IS
  'A person''s effective status: colour, vaccinated mark, reasons, since when the colour holds, until when it holds without new evidence.';
COMMENT ON COLUMN @extschema@.status_report.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_report.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_report.colour IS 'The colour.';
COMMENT ON COLUMN @extschema@.status_report.vaccinated IS 'The "vaccinated" mark.';
COMMENT ON COLUMN @extschema@.status_report.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.status_report.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.status_report.valid_until IS 'Until when this status holds without new evidence.';


-- (PL/pgSQL: a SECURITY DEFINER SQL function is never inlined, and would
-- plan its query at every call; PL/pgSQL keeps the plan for the session)
CREATE FUNCTION @extschema@.status(person_id bigint, at timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql STABLE PARALLEL SAFE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF status.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(status.at, 'at');
  RETURN QUERY
  SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since, (x.v).valid_until
    FROM @extschema@.person_status s
    CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, status.at) AS v OFFSET 0) x
   WHERE s.person_id = status.person_id
     AND @extschema@._in_caller_scope(s.region);
END $$;
COMMENT ON FUNCTION @extschema@.status(bigint, timestamptz) IS
  'A person''s effective status at a finite time (default now, not before the last recalculation): colour, vaccinated mark, reasons, since when the colour holds, and until when the status holds without new evidence. No row for a person outside the caller''s regions.';

CREATE VIEW @extschema@.current_status WITH (security_invoker = true) AS
SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since,
       (x.v).valid_until
  FROM @extschema@.person_status s
  CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, pg_catalog.now()) AS v OFFSET 0) x;
COMMENT ON VIEW @extschema@.current_status IS
  'Every person''s effective status now: the segment of their stored timeline that contains the current time.';
COMMENT ON COLUMN @extschema@.current_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.current_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.current_status.colour IS 'The colour now.';
COMMENT ON COLUMN @extschema@.current_status.vaccinated IS 'The "vaccinated" mark now.';
COMMENT ON COLUMN @extschema@.current_status.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.current_status.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.current_status.valid_until IS 'Until when this status holds without new evidence.';

CREATE VIEW @extschema@.status_changes WITH (security_invoker = true) AS
SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour, h.reasons, h.cause
  FROM @extschema@.status_history h
UNION ALL
SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time'
  FROM @extschema@.person_status s
  CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g;
COMMENT ON VIEW @extschema@.status_changes IS
  'The complete history of colour changes at read time: status_history plus the changes time has already brought about in the stored timelines (cause "time") that are not yet written down.';
COMMENT ON COLUMN @extschema@.status_changes.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_changes.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_changes.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_changes.from_colour IS 'The colour before (NULL: first status).';
COMMENT ON COLUMN @extschema@.status_changes.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_changes.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_changes.cause IS 'What brought the change about.';
