-- ---------------------------------------------------------------------------
-- Triggers: every change to evidence, risk areas, policy or people
-- recalculates exactly the people it can concern (statement-level, with
-- transition tables).
-- ---------------------------------------------------------------------------

-- (Inside a restore, _restoring() in 08_session.sql, or a logical-replication
-- apply, session_replication_role = replica, where triggers do not fire at
-- all, the statuses arrive with the data and must not be derived twice.)

CREATE FUNCTION @extschema@._clock_skew() RETURNS interval
  AS 'MODULE_PATHNAME', 'healthcode_clock_skew'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._clock_skew() IS
  'Internal: healthcode.clock_skew as an interval (read in C, like _restoring()).';
REVOKE ALL ON FUNCTION @extschema@._clock_skew() FROM PUBLIC;

CREATE FUNCTION @extschema@._cause(tbl text, op text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(NULLIF(pg_catalog.current_setting('healthcode.change_cause', true), ''),
                           tbl OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) pg_catalog.lower(op));
COMMENT ON FUNCTION @extschema@._cause(text, text) IS
  'Internal: the cause written to status_history: healthcode.change_cause, else "<table> <operation>".';
REVOKE ALL ON FUNCTION @extschema@._cause(text, text) FROM PUBLIC;

-- Evidence times lie in the health-code era (from 2019-12-01) and not in
-- the future beyond healthcode.clock_skew. (The trigger computes the
-- earliest and latest times itself: transition tables are visible only
-- inside the trigger function.)
CREATE FUNCTION @extschema@._check_evidence_times(tbl text, col text, earliest timestamptz, latest timestamptz)
RETURNS void
  AS 'MODULE_PATHNAME', 'healthcode_check_evidence_times'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) IS
  'Internal: raises 22023, naming the table and column, when a statement''s new rows have a time before 2019-12-01 or beyond now + healthcode.clock_skew.';
REVOKE ALL ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) FROM PUBLIC;

-- Concurrent writers. A trigger decides whom to recalculate from what its
-- snapshot shows, and cannot see another transaction's uncommitted rows: a
-- stay being imported while its area is designated high risk in another
-- transaction would be missed by both. So the statements whose meaning
-- depends on everyone's evidence (risk areas, policy) take this lock
-- exclusively, and every other evidence trigger takes it shared before it
-- looks: one side waits for the other to commit, and (READ COMMITTED) then
-- sees its rows.
CREATE FUNCTION @extschema@._evidence_lock(exclusive boolean) RETURNS void
  AS 'MODULE_PATHNAME', 'healthcode_evidence_lock'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._evidence_lock(boolean) IS
  'Internal: the transaction-level lock that orders evidence triggers (shared) against risk-area and policy triggers (exclusive), so neither misses the other''s rows.';
REVOKE ALL ON FUNCTION @extschema@._evidence_lock(boolean) FROM PUBLIC;

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
    -- (evidence older than its retention rule keeps (80_retention.sql)
    -- changes no colour from now on, by the status engine's own rule:
    -- removing it recalculates nobody; apply_retention trims the stored
    -- inputs that still hold it)
    EXECUTE format('SELECT ARRAY(SELECT DISTINCT o.person_id FROM old_rows o WHERE $1 IS NULL OR o.%I >= $1)',
                   TG_ARGV[0])
       INTO persons
      USING (SELECT r.removes_before FROM @extschema@._retention_rules(statement_timestamp()) r
              WHERE r.tbl = TG_TABLE_NAME);
  ELSE -- TRUNCATE
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_changed() IS
  'Internal: AFTER STATEMENT trigger of evidence tables: checks new times are not in the future and recalculates exactly the people whose rows the statement touched.';
REVOKE ALL ON FUNCTION @extschema@._evidence_changed() FROM PUBLIC;

-- Travel: only stays in medium- or high-risk areas can change a colour, so
-- a bulk import of ordinary itineraries recalculates only the people with
-- a risky stay in it (_stay_levels_sql: hash joins, cheap for a
-- million-row COPY, where a join per row would not be).
CREATE FUNCTION @extschema@._travel_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  horizon timestamptz;
  src text;
  earliest timestamptz;
  latest timestamptz;
  written bigint;
  w @extschema@.recalc_work;
  gone_src text;
  gone_persons bigint[];
  gone_all bigint[] := '{}';
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  IF TG_OP = 'TRUNCATE' THEN
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
    -- the day's stays listed for re-examination (below) are gone: all of
    -- them are visible here, as a TRUNCATE waits for any listing that read
    -- the partition, and a listing after it finds the day empty
    IF EXISTS (SELECT 1 FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area') THEN
      WITH kept AS (
        INSERT INTO @extschema@.recalc_gone_stays AS g (stay_id, stay_at, person_id, gone_at)
        SELECT d.id, d.at, d.person_id, clock_timestamp()
          FROM (SELECT DISTINCT u.id, u.at, r.person_id
                  FROM @extschema@.recalc_pending r CROSS JOIN LATERAL unnest(r.stay_ids, r.stay_ats) AS u(id, at)
                 WHERE r.stay_ids IS NOT NULL
                   AND to_char(u.at AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD') = substr(TG_TABLE_NAME, length('travel_') + 1)) d
        ON CONFLICT ON CONSTRAINT recalc_gone_stays_pkey DO UPDATE SET gone_at = excluded.gone_at
        RETURNING g.person_id
      )
      SELECT ARRAY(SELECT DISTINCT k.person_id FROM kept k) INTO gone_all;
    END IF;
  ELSE
    IF TG_OP <> 'DELETE' THEN
      SELECT min(n.at), max(n.at), count(*) INTO earliest, latest, written FROM new_rows n;
      PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'at', earliest, latest);
    END IF;
    -- (the few rows of an app's call, a scan or a declared trip: when no
    -- medium- or high-risk designation in force at their times names their
    -- places, a division above them or their venue, none is risky, and a
    -- look by the designations' ranges of codes (_work_stays_sql's) costs a
    -- tenth of planning the rule's query for them; the horizon, a policy
    -- lookup, is asked only past this look)
    -- (nested: a DELETE's trigger has no new_rows to parse)
    IF TG_OP = 'INSERT' AND written <= 16 THEN
      IF NOT EXISTS (SELECT FROM new_rows n JOIN @extschema@.risk_area d
                       ON d.level <> 'low'
                      AND (n.place >= d.division AND n.place <= @extschema@.division_last(d.division)
                           OR d.venue::text = n.venue)
                      AND n.at >= d.effective_from AND (d.effective_until IS NULL OR n.at < d.effective_until)) THEN
        RETURN NULL;
      END IF;
    END IF;
    horizon := @extschema@._evidence_horizon(statement_timestamp());
    src := CASE TG_OP
      WHEN 'INSERT' THEN 'new_rows'
      WHEN 'DELETE' THEN 'old_rows'
      ELSE '(SELECT n.person_id, n.id, n.at, n.place, n.venue FROM new_rows n
             UNION ALL SELECT o.person_id, o.id, o.at, o.place, o.venue FROM old_rows o)'
    END;
    EXECUTE format('SELECT ARRAY(SELECT DISTINCT r.person_id FROM (%s) r)',
                   @extschema@._stay_levels_sql(format('SELECT s.person_id, s.id, s.at, s.place, s.venue FROM %s s WHERE s.at >= $1', src)))
      INTO persons USING horizon;
    -- A stay removed (deleted, or the old version of one updated where it
    -- was, when or whose, not only its region) while a risk-area change on
    -- the work list (66_status_work.sql) may have it listed for
    -- re-examination must not come back with the change's batch: it goes
    -- into recalc_gone_stays, which every read of listed stays leaves out
    -- (a row here cannot simply be taken off the list: a listing under way
    -- reads travel in its own snapshot, and lists the stay after this
    -- trigger has looked); and a batch that read the person's status row
    -- before this commits finds it rewritten (below). Its person is
    -- recalculated here, from all their evidence, whatever level the
    -- change gives the stay (their stored status may still count it at the
    -- old one); for a listed change, the change's part comes first
    -- (_settle_pending).
    IF TG_OP <> 'INSERT' THEN
      gone_src := CASE TG_OP WHEN 'DELETE' THEN 'old_rows'
        ELSE '(SELECT o.* FROM old_rows o
                WHERE NOT EXISTS (SELECT 1 FROM new_rows n
                                   WHERE n.id = o.id AND n.person_id = o.person_id AND n.at = o.at
                                     AND n.place = o.place AND n.venue IS NOT DISTINCT FROM o.venue))' END;
      FOR w IN SELECT * FROM @extschema@.recalc_work x WHERE x.kind = 'risk_area' ORDER BY x.id LOOP
        EXECUTE format('WITH s AS (%s),
                             kept AS (INSERT INTO @extschema@.recalc_gone_stays AS g (stay_id, stay_at, person_id, gone_at)
                                      SELECT d.id, d.at, d.person_id, clock_timestamp()
                                        FROM (SELECT DISTINCT s.id, s.at, s.person_id FROM s) d
                                      ON CONFLICT ON CONSTRAINT recalc_gone_stays_pkey DO UPDATE SET gone_at = excluded.gone_at)
                        SELECT ARRAY(SELECT DISTINCT s.person_id FROM s)',
                       @extschema@._work_stays_sql('', gone_src))
          INTO gone_persons USING w.areas, w.horizon;
        persons := persons || gone_persons;
        gone_all := gone_all || gone_persons;
      END LOOP;
    END IF;
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  -- Their status rows rewritten as they are: a batch that read one before
  -- this commits, with the stays then listed, finds it moved and takes
  -- that person again, locked, with the stays left (_recompute); after, it
  -- sees them gone. (No lock to take first: the recalculation above holds
  -- every one of them, so the order of this update's locks cannot matter.)
  IF cardinality(gone_all) > 0 THEN
    UPDATE @extschema@.person_status s SET computed_at = s.computed_at WHERE s.person_id = ANY (gone_all);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._travel_changed() IS
  'Internal: AFTER STATEMENT trigger of travel and its day partitions: recalculates the people whose new or removed stays fall in a medium- or high-risk area within the window.';
REVOKE ALL ON FUNCTION @extschema@._travel_changed() FROM PUBLIC;

-- Risk areas: the stays, within the window, in a place the old or new
-- designation covers while it was in force (_work_stays_sql); only their
-- levels can change, so they are re-examined against every designation and
-- their people recomputed from their stored inputs
-- (_status_from_stored_inputs).
CREATE FUNCTION @extschema@._stays_in_changed_areas(areas @extschema@.risk_area[], horizon timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result @extschema@.reexamined_stays[];
BEGIN
  EXECUTE @extschema@._stays_judged_sql(
            format('SELECT DISTINCT s.person_id, s.id, s.at, s.place, s.venue FROM (%s) s', @extschema@._work_stays_sql('')))
    INTO result USING areas, horizon;
  RETURN result;
END $$;
COMMENT ON FUNCTION @extschema@._stays_in_changed_areas(@extschema@.risk_area[], timestamptz) IS
  'Internal: the stays since horizon in a place one of the designations covers while it was in force, each person''s with the level every designation in force at its time gives each now.';
REVOKE ALL ON FUNCTION @extschema@._stays_in_changed_areas(@extschema@.risk_area[], timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@._risk_area_changed() RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  areas @extschema@.risk_area[];
  cause text := @extschema@._cause(TG_TABLE_NAME, TG_OP);
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM @extschema@._recalc_changed('everyone', NULL, NULL, cause);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    areas := ARRAY(SELECT n FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    areas := ARRAY(SELECT o FROM old_rows o);
  ELSE
    areas := ARRAY(SELECT n FROM new_rows n UNION ALL SELECT o FROM old_rows o);
  END IF;
  -- here, or on the work list when it concerns many (66_status_work.sql)
  PERFORM @extschema@._recalc_changed('risk_area', areas, NULL, cause);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_changed() IS
  'Internal: AFTER STATEMENT trigger of risk_area: re-examines the stays the old or new designation covers and recalculates their people (here, or through the work list when they are many).';
REVOKE ALL ON FUNCTION @extschema@._risk_area_changed() FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@._people_governed(text[]) FROM PUBLIC;

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
  PERFORM @extschema@._recalc_changed('policy', NULL, regions, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_changed() IS
  'Internal: AFTER STATEMENT trigger of policy: recalculates everyone in the regions the changed versions govern (here, or through the work list when they are many).';
REVOKE ALL ON FUNCTION @extschema@._policy_changed() FROM PUBLIC;

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
      RAISE EXCEPTION 'person.id cannot change' USING ERRCODE = '55000',
        DETAIL = 'A person''s id is how their evidence, status and history find them; register a new person instead.';
    END IF;
    UPDATE @extschema@.status_history h SET region = n.region
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE h.person_id = n.id AND n.region <> o.region;
    -- re-keyed (a person adopted from the hub, _rekey_adopted): the digest
    -- published under the old pseudonym goes; the recalculation below
    -- publishes it under the new one
    DELETE FROM @extschema@.status_digest d USING new_rows n JOIN old_rows o USING (id)
     WHERE n.subject <> o.subject AND d.region = o.region AND d.subject = o.subject;
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
             WHERE n.region <> o.region OR n.registered_at <> o.registered_at OR n.subject <> o.subject
                -- (a national pseudonym known at last brings the reds and
                -- health data other regions pushed and shared for it)
                OR n.national_subject IS DISTINCT FROM o.national_subject),
      @extschema@._cause(TG_TABLE_NAME, TG_OP));
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_changed() IS
  'Internal: AFTER STATEMENT trigger of person: a first status for new people; for people whose region or registration time changed, their history''s region and a recalculation; for people re-keyed, their digest under the old pseudonym deleted and a recalculation; a recalculation too for those whose national pseudonym changed (other regions'' reds and shared data). Refuses a change of id.';
REVOKE ALL ON FUNCTION @extschema@._person_changed() FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@._person_removed() FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@._person_lock() FROM PUBLIC;

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
-- TRUNCATE trigger on every evidence table (evidence_table, 51_evidence.sql).
DO $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT t.name AS tbl, t.recalculated_by AS fn, t.time_column AS timecol, t.ignored_column AS ignored
             FROM @extschema@.evidence_table t ORDER BY t.name
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
