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
)
-- Rows are rewritten often (every recalculation that changes a timeline):
-- room on each page, and no index on what changes (the colour), let most
-- of those updates be HOT, written in place without touching an index.
WITH (fillfactor = 80);
CREATE INDEX person_status_region ON @extschema@.person_status (region);
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
  id            bigserial,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL,
  from_colour   @extschema@.risk_colour,
  to_colour     @extschema@.risk_colour NOT NULL,
  reasons       jsonb NOT NULL,
  cause         text NOT NULL,
  -- (0.3.0: the order of writing, which the ids, opaque since, no longer
  -- tell; entries one statement writes for a person share its time at, and
  -- a recalculation stamps all it writes with one instant)
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
) PARTITION BY RANGE (at);
-- (by month, its indexes each partition's: 46_time_partitions.sql)
CREATE TABLE @extschema@.status_history_default PARTITION OF @extschema@.status_history DEFAULT;
SELECT @extschema@._index_partition('status_history', 'status_history_default');
-- No foreign key to person: only _recompute() writes history, for people
-- it has just read, and a per-row key check would cost a recalculation of
-- ten thousand people more than its whole status update. What the key's
-- cascades did, the person triggers do set-based (_person_changed(),
-- _person_removed()): a person's move renames their history's region, a
-- person's deletion deletes their history.

COMMENT ON TABLE @extschema@.status_history IS
  'Every colour change, appended: from, to, the reasons of the new colour, when, and the cause (the evidence table and operation, a correction, or "time" when a window ended). See status_changes for the complete history at read time. Partitioned by month (China Standard Time): create_partitions(), drop_expired_partitions().';
COMMENT ON TABLE @extschema@.status_history_default IS
  'The history of months whose partition of status_history is not made yet; create_partitions() moves it into it.';
COMMENT ON COLUMN @extschema@.status_history.id IS 'History entry id (opaque: it tells neither order nor number).';
COMMENT ON COLUMN @extschema@.status_history.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_history.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_history.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_history.from_colour IS 'The colour before; NULL for a person''s first status.';
COMMENT ON COLUMN @extschema@.status_history.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_history.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_history.cause IS 'What changed: e.g. "risk_area update", "test_result insert", "time", or healthcode.change_cause.';
COMMENT ON COLUMN @extschema@.status_history.recorded_at IS 'When the recalculation that wrote the entry began writing (one instant for all it wrote): a person''s entries in order are ordered by at, then recorded_at.';

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
REVOKE ALL ON FUNCTION @extschema@._status_later(@extschema@.person_status, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._status_later(@extschema@.person_status, timestamptz) TO healthcode_operator;

CREATE FUNCTION @extschema@.status_at(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN at IS NOT NULL
                 AND (at OPERATOR(pg_catalog.<) s.valid_until OR s.valid_until OPERATOR(pg_catalog.=) 'infinity')
            THEN ROW(s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next)::@extschema@.status_instant
            ELSE @extschema@._status_later(s, at) END;
COMMENT ON FUNCTION @extschema@.status_at(@extschema@.person_status, timestamptz) IS
  'A stored status timeline read at an instant (not before computed_at): the segment containing it, since when the colour holds, and the later segments.';
REVOKE ALL ON FUNCTION @extschema@.status_at(@extschema@.person_status, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.status_at(@extschema@.person_status, timestamptz) TO healthcode_operator;

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
REVOKE ALL ON FUNCTION @extschema@._elapsed_changes(@extschema@.risk_colour, jsonb, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._elapsed_changes(@extschema@.risk_colour, jsonb, timestamptz) TO healthcode_operator;

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
    -- (fresh while a change on the work list has yet to recalculate them)
    CROSS JOIN LATERAL (SELECT @extschema@._status_now(s, status.at) AS v OFFSET 0) x
   WHERE s.person_id = status.person_id
     AND @extschema@._in_caller_scope(s.region);
END $$;
COMMENT ON FUNCTION @extschema@.status(bigint, timestamptz) IS
  'A person''s effective status at a finite time (default now, not before the last recalculation): colour, vaccinated mark, reasons, since when the colour holds, and until when the status holds without new evidence. No row for a person outside the caller''s regions.';
REVOKE ALL ON FUNCTION @extschema@.status(bigint, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.status(bigint, timestamptz) TO healthcode_app, healthcode_operator;

-- (current_status, which reads pending work too, is in 66_status_work.sql)

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
