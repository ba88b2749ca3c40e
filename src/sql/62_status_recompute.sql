-- ---------------------------------------------------------------------------
-- Recalculation: one set-based statement that rewrites the stored
-- timelines of the people given and appends their history.
-- ---------------------------------------------------------------------------

-- What later topics do after every recalculation, with the people it
-- recalculated: federation registers its publishing step here
-- (92_federation_status.sql), so that the status engine need not know it.
-- Only the extension's script writes this table.
CREATE TABLE @extschema@.after_recompute (
  step regprocedure PRIMARY KEY
);
COMMENT ON TABLE @extschema@.after_recompute IS
  'Internal: the functions (taking the bigint[] of people) that every recalculation calls after writing their statuses, registered by the topics that need them.';
COMMENT ON COLUMN @extschema@.after_recompute.step IS 'A function of one bigint[] argument, called with the people recalculated.';
REVOKE ALL ON @extschema@.after_recompute FROM PUBLIC;

CREATE FUNCTION @extschema@._recompute(persons bigint[], cause text, exclusive boolean DEFAULT false,
                                       changed_stays @extschema@.reexamined_stays[] DEFAULT NULL,
                                       changed_at timestamptz DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- each person's evidence is aggregated in memory: room for big batches
SET work_mem = '64MB'
-- a stored row is updated where it was read (cur.row_id) but found by its
-- key, with the address as a filter: a TID scan below a nested loop asks
-- the kernel for the table's size at every rescan (an lseek a person: 3.3
-- against 1.7 us a row for the key's probe, 5 % of a batch's time in
-- `perf`). Functions called from here that want TID scans say so.
SET enable_tidscan = off
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  -- when this call writes its history entries, once the rows are locked:
  -- one instant for all of them (a stamp a row would time the rows written
  -- before it, other regions' among them); later calls are later
  written timestamptz;
  -- when a colour change counts from: the change on the work list a worker
  -- recalculates for, as readers saw it meanwhile (66_status_work.sql)
  changed timestamptz := coalesce(changed_at, t);
  horizon timestamptz;
  -- the designations, packed, for re-examined stays not judged yet
  designations bytea;
  batch integer;
  -- a risk-area change's people with stored inputs, recomputed from those
  -- without locking their rows first (see below)
  lockless boolean := changed_stays IS NOT NULL AND NOT exclusive;
  everyone bigint[];
  rest bigint[];
  again boolean := false;
  n integer := 0;
  written_now integer;
  i integer;
  step regprocedure;
BEGIN
  -- (nobody: nothing to look up, the common case of a write of evidence
  -- that can change no colour)
  IF coalesce(cardinality(persons), 0) = 0 THEN
    RETURN 0;
  END IF;
  horizon := @extschema@._evidence_horizon(t);
  batch := @extschema@._recalc_setting('batch_size');
  -- each person once, in id order (the order of every index probed below;
  -- the people of re-examined stays come so, one a stays row)
  IF changed_stays IS NULL THEN
    persons := ARRAY(SELECT DISTINCT q.id FROM unnest(persons) AS q(id) WHERE q.id IS NOT NULL ORDER BY q.id);
  ELSE
    persons := ARRAY(SELECT (unnest(changed_stays)).person_id);
  END IF;
  -- Memory is bounded by the batch, not by how many people there are: a
  -- larger set goes through in slices (no plan holds all of them at once).
  IF cardinality(persons) > batch THEN
    n := 0;
    FOR i IN 0 .. (cardinality(persons) - 1) / batch LOOP
      n := n + @extschema@._recompute(persons[i * batch + 1 : (i + 1) * batch], cause, exclusive,
                                      changed_stays[i * batch + 1 : (i + 1) * batch], changed_at);
    END LOOP;
    RETURN n;
  END IF;
  -- People a change on the work list has yet to recalculate get that
  -- change first, dated at its time and under its cause, as its worker
  -- would (66_status_work.sql): this recalculation then records only what
  -- the caller's own change brings.
  IF changed_at IS NULL AND @extschema@._work_pending() THEN
    PERFORM @extschema@._settle_pending(persons);
  END IF;
  everyone := persons;
  IF changed_stays IS NOT NULL THEN
    designations := @extschema@._designations();
  END IF;
  -- Two passes at most. A risk-area change's people with stored inputs
  -- first, without locking their rows: their timelines come from those
  -- rows alone, each row is updated where it was read (by its address),
  -- and history is written for the rows updated only. A row another
  -- transaction changed meanwhile is not updated (in READ COMMITTED the
  -- UPDATE finds it at another address, or gone) and goes to the second
  -- pass with the others: no stored row or no inputs (read from the
  -- evidence tables, which needs the lock's fresh snapshot). (Who else
  -- recalculates a person on the work list takes them off it first, so
  -- waits for this batch: _settle_pending.) A lock per row cost as much as
  -- the judging of the stays.
  LOOP
    -- Recalculations of the same person queue up here; the next statement
    -- takes a new snapshot, so (in READ COMMITTED) the later one sees the
    -- earlier one's evidence and no concurrent change is lost. A caller
    -- holding the evidence lock exclusively (exclusive) has no concurrent
    -- recalculation to queue behind: every other one holds it shared.
    IF NOT exclusive AND NOT lockless THEN
      PERFORM 1 FROM @extschema@.person_status s
        WHERE s.person_id = ANY (persons) ORDER BY s.person_id FOR UPDATE OF s;
    END IF;
    IF again THEN
      -- (the second pass reads rows written since this call began: a stored
      -- timeline is read from its computed_at on, never before)
      t := clock_timestamp();
      horizon := @extschema@._evidence_horizon(t);
      -- (and, for a work-list batch, the listed stays less those removed
      -- since it read them, by a transaction these locks may have waited
      -- for; whose stored inputs that removal's recalculation rewrote
      -- without them)
      IF changed_at IS NOT NULL THEN
        changed_stays := @extschema@._stays_kept(changed_stays, changed_at, keep_empty => true);
      END IF;
    END IF;
    written := clock_timestamp();

    -- (changed_stays is a constant of the custom plan: the branches of the other
    -- case are planned away)
    WITH cur AS MATERIALIZED (
      -- the stored rows: read at t, and where they lie (updated below by
      -- that: locked, no other recalculation can move them; lockless, a
      -- row moved meanwhile is left to the second pass, see above); after
      -- a risk-area change, with each person's re-examined stays (the
      -- status read at t and the stays taken apart here, once: later steps
      -- read plain columns, not rows built again for each person and taken
      -- apart field by field)
      SELECT q.row_id, q.person_id, q.region, q.stored_colour, q.stored_next, q.stored_valid_until,
             q.stored_inputs, (q.v).colour AS old_colour, (q.v).vaccinated AS old_vaccinated,
             (q.v).reasons AS old_reasons, (q.v).since AS old_since, (q.v).valid_until AS old_valid_until,
             (q.v).next AS old_next, q.stay_ids, q.stay_ats, q.stay_places, q.stay_highs, q.stay_venues
        FROM (SELECT s.ctid AS row_id, s.person_id, s.region, s.colour AS stored_colour, s.next AS stored_next,
                     s.valid_until AS stored_valid_until, s.inputs AS stored_inputs, @extschema@.status_at(s, t) AS v,
                     NULL::bigint[] AS stay_ids, NULL::timestamptz[] AS stay_ats, NULL::text[] AS stay_places,
                     NULL::boolean[] AS stay_highs, NULL::text[] AS stay_venues
                FROM @extschema@.person_status s
               WHERE s.person_id = ANY (persons) AND changed_stays IS NULL
              UNION ALL
              SELECT s.ctid, s.person_id, s.region, s.colour, s.next, s.valid_until, s.inputs,
                     @extschema@.status_at(s, t), x.ids, x.ats, x.places, x.highs, x.venues
                FROM @extschema@.person_status s
                JOIN unnest(changed_stays) AS x ON x.person_id = s.person_id
               WHERE changed_stays IS NOT NULL AND s.person_id = ANY (persons) AND (s.inputs IS NOT NULL OR NOT lockless)
                 -- (a work-list batch, lockless: not who lost a stay since
                 -- the change, as read with their row: the list may still
                 -- have it; they go to the second pass; one look at the
                 -- gone_at index first, nearly always nothing)
                 AND NOT (lockless AND changed_at IS NOT NULL
                          AND (SELECT EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g WHERE g.gone_at >= changed_at))
                          AND EXISTS (SELECT 1 FROM @extschema@.recalc_gone_stays g
                                       WHERE g.person_id = s.person_id AND g.gone_at >= changed_at))
              OFFSET 0) q
    ), policies AS MATERIALIZED (
      -- (once a region, not once a person)
      SELECT r.region, @extschema@._policy_versions(r.region) AS vec
        FROM (SELECT DISTINCT c.region FROM cur c WHERE c.stored_inputs IS NOT NULL) r
    ), fresh AS (
      -- each person's new timeline beside their stored row (if any); from
      -- the evidence tables: everyone ...
      SELECT f.person_id, f.region, f.timeline, c.row_id, c.person_id IS NULL AS is_new, c.old_colour,
             c.old_vaccinated, c.old_reasons, c.old_since, c.old_valid_until, c.old_next, c.stored_colour,
             c.stored_next, c.stored_valid_until, c.stored_inputs
        FROM @extschema@._fresh_status(persons, t) f
        LEFT JOIN cur c ON c.person_id = f.person_id
       WHERE changed_stays IS NULL
      UNION ALL
      -- ... or, after a risk-area change, those without stored inputs ...
      SELECT f.person_id, f.region, f.timeline, c.row_id, c.person_id IS NULL, c.old_colour,
             c.old_vaccinated, c.old_reasons, c.old_since, c.old_valid_until, c.old_next, c.stored_colour,
             c.stored_next, c.stored_valid_until, c.stored_inputs
        FROM @extschema@._fresh_status(
               ARRAY(SELECT q.id FROM unnest(persons) AS q(id)
                      WHERE NOT EXISTS (SELECT 1 FROM cur c
                                         WHERE c.person_id = q.id AND c.stored_inputs IS NOT NULL)), t) f
        LEFT JOIN cur c ON c.person_id = f.person_id
       WHERE changed_stays IS NOT NULL AND NOT lockless
      UNION ALL
      -- ... and the others from their inputs and re-examined stays, judged
      -- here when they come unjudged (highs NULL: a batch of the work list)
      -- (a call a row, in a subquery kept apart: (f(...)).* would call f once
      -- a column)
      SELECT r.person_id, r.region, r.timeline, r.row_id, false, r.old_colour, r.old_vaccinated, r.old_reasons,
             r.old_since, r.old_valid_until, r.old_next, r.stored_colour, r.stored_next, r.stored_valid_until,
             r.stored_inputs
        FROM (SELECT c.person_id, c.region, c.row_id, c.old_colour, c.old_vaccinated, c.old_reasons, c.old_since,
                     c.old_valid_until, c.old_next, c.stored_colour, c.stored_next, c.stored_valid_until,
                     c.stored_inputs,
                     @extschema@._status_from_stored_inputs(c.stored_inputs, c.stay_ids, c.stay_ats, c.stay_places,
                       coalesce(c.stay_highs, @extschema@._stays_levels(designations, c.stay_places, c.stay_venues, c.stay_ats)),
                       v.vec, t, horizon) AS timeline
                FROM cur c
                JOIN policies v ON v.region = c.region
               WHERE c.stored_inputs IS NOT NULL
              OFFSET 0) r
       WHERE changed_stays IS NOT NULL
    ), changed AS MATERIALIZED (
      SELECT n.person_id, n.region, n.colour, n.vaccinated, n.reasons, n.valid_until, n.next, n.inputs,
             n.row_id, n.is_new, n.old_colour, n.old_since, n.stored_colour, n.stored_next, n.stored_valid_until
        FROM (SELECT f.person_id, f.region, (f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons,
                     (f.timeline).valid_until, (f.timeline).next, (f.timeline).inputs, f.row_id, f.is_new,
                     f.old_colour, f.old_vaccinated, f.old_reasons, f.old_since, f.old_valid_until, f.old_next,
                     f.stored_colour, f.stored_next, f.stored_valid_until, f.stored_inputs
                FROM fresh f
              OFFSET 0) n
       WHERE n.is_new
          OR n.colour <> n.old_colour OR n.vaccinated <> n.old_vaccinated
          OR n.valid_until <> n.old_valid_until OR n.reasons <> n.old_reasons
          OR n.next <> n.old_next OR n.inputs IS DISTINCT FROM n.stored_inputs
       -- (in id order: the UPDATE below reads it in this order, hashing the
       -- rows it fetches by address, and so locks them in the order every
       -- other writer of status rows locks them; waits then never go round
       -- in a circle, even in the lockless pass)
       ORDER BY n.person_id
    ), inserted AS (
      INSERT INTO @extschema@.person_status
             (person_id, region, colour, vaccinated, reasons, since, valid_until, next, computed_at, inputs)
      SELECT ch.person_id, ch.region, ch.colour, ch.vaccinated, ch.reasons, t, ch.valid_until, ch.next, t, ch.inputs
        FROM changed ch
       WHERE ch.is_new
      RETURNING person_id, region, colour, reasons
    ), updated AS (
      UPDATE @extschema@.person_status s
         SET region = ch.region, colour = ch.colour, vaccinated = ch.vaccinated, reasons = ch.reasons,
             since = CASE WHEN ch.colour <> ch.old_colour THEN changed ELSE ch.old_since END,
             valid_until = ch.valid_until, next = ch.next, computed_at = t, inputs = ch.inputs
        FROM changed ch
       -- (each row by its key, a probe a person, and only where it was
       -- read: a row moved meanwhile is not updated, see above. No
       -- "s.ctid = ANY (ARRAY(...))" beside it: on the probe's side that
       -- array is a filter, searched from its start for each row, which
       -- cost a batch of 5,000 a quarter of its time)
       WHERE s.ctid = ch.row_id AND s.person_id = ch.person_id AND NOT ch.is_new
      -- (with what history needs of the row written: history is written
      -- from these rows alone. Matched against `changed` instead, a CTE
      -- against a CTE estimated at one row each, it was a nested loop, each
      -- history row searching the rows written from their start: at 1,000
      -- people a third of the batch's time, growing with the square)
      RETURNING s.person_id, ch.region, ch.colour, ch.old_colour, ch.reasons, ch.stored_colour, ch.stored_next,
                ch.stored_valid_until
    ), elapsed AS (
      -- the stored timeline's colour changes that time has reached
      INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at)
      SELECT u.person_id, u.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time', written
        FROM updated u
        CROSS JOIN LATERAL @extschema@._elapsed_changes(u.stored_colour, u.stored_next, t) g
       WHERE u.stored_valid_until <= t   -- (else no later segment has begun)
    ), changes AS (
      INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause, recorded_at)
      SELECT h.person_id, h.region, h.at, h.old_colour, h.colour, h.reasons, cause, written
        FROM (SELECT i.person_id, i.region, t AS at, NULL::@extschema@.risk_colour AS old_colour, i.colour, i.reasons
                FROM inserted i
              UNION ALL
              SELECT u.person_id, u.region, changed, u.old_colour, u.colour, u.reasons
                FROM updated u
               WHERE u.colour <> u.old_colour
               ORDER BY 1) h
    )
    SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated),
           -- (lockless: those left for the second pass, in id order; looked
           -- for only when the counts say some are)
           CASE WHEN lockless AND ((SELECT count(*) FROM cur) < cardinality(persons)
                                   OR (SELECT count(*) FROM updated) < (SELECT count(*) FROM changed)) THEN ARRAY(
             SELECT q.id FROM unnest(persons) AS q(id) WHERE NOT EXISTS (SELECT 1 FROM cur c WHERE c.person_id = q.id)
             UNION
             SELECT ch.person_id FROM changed ch WHERE ch.person_id NOT IN (SELECT u.person_id FROM updated u)
             ORDER BY 1) END
      INTO written_now, rest;
    n := n + written_now;
    EXIT WHEN NOT lockless OR coalesce(cardinality(rest), 0) = 0;
    lockless := false;
    again := true;
    persons := rest;
    changed_stays := ARRAY(SELECT x FROM unnest(changed_stays) x WHERE x.person_id = ANY (rest) ORDER BY x.person_id);
  END LOOP;
  -- the steps later topics registered (federation publishes what changed)
  FOR step IN SELECT a.step FROM @extschema@.after_recompute a ORDER BY a.step::text LOOP
    EXECUTE format('SELECT %s($1)', step::regproc) USING everyone;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[], timestamptz) IS
  'Internal: recalculates the people''s status timelines from their evidence, set-based, in slices of healthcode.recalc_batch_size people; writes only rows that change (timeline or inputs), appends history for colour changes (and for changes time has reached in the old timeline). exclusive: the caller holds the evidence lock exclusively, so the rows need no lock first. changed_stays: the stays a risk-area change re-examined (one row a person, in id order; levels NULL: judged here); people with stored inputs are then recomputed from those, without a row lock first (a row another transaction rewrites meanwhile is recalculated again, locked). changed_at: when a colour change counts from (default: now). Returns how many status rows changed.';
REVOKE ALL ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[], timestamptz) FROM PUBLIC;
