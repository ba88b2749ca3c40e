-- ---------------------------------------------------------------------------
-- Retention: every personal table has its rule, and one call applies them
-- all (apply_retention(); the daily job). Evidence counts for a colour for
-- a bounded time only, which the national policy versions alone set:
-- windowed evidence (stays, contacts, findings) for the national window
-- (_evidence_horizon), any evidence for evidence_kept_days (90 by default;
-- _evidence_kept_from), which the status engine applies too. So what
-- retention removes was already changing no colour, and no region's
-- operator can make every region's data be kept longer. retention_plan()
-- says table by table what is kept and what goes.
--
-- Travel is the big, time-ordered table: one partition a day (China
-- Standard Time), named travel_YYYYMMDD, dropped whole. The partitions are
-- made for every day from the first kept day to a week ahead, whatever the
-- data (create_travel_partitions()), so that which partitions exist tells
-- nothing about which days hold data of a region; an import leaves out
-- the stays older than the first kept day (they could change no colour).
-- ---------------------------------------------------------------------------

-- Windowed evidence older than this changes no colour from at on.
CREATE FUNCTION @extschema@._windowed_kept_from(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN GREATEST(@extschema@._evidence_horizon(_windowed_kept_from.at), @extschema@._evidence_kept_from(_windowed_kept_from.at));
COMMENT ON FUNCTION @extschema@._windowed_kept_from(timestamptz) IS
  'Internal: the later of the evidence horizon and the start of the evidence kept (_evidence_kept_from): windowed evidence older than this changes no colour from at on.';
REVOKE ALL ON FUNCTION @extschema@._windowed_kept_from(timestamptz) FROM PUBLIC;

-- The first day whose travel partition is kept: the day of the window's
-- start, less a margin (a day goes once all of it lies before that).
CREATE FUNCTION @extschema@._travel_first_day(margin interval DEFAULT interval '7 days') RETURNS date
LANGUAGE sql STABLE STRICT PARALLEL SAFE
RETURN ((@extschema@._windowed_kept_from(pg_catalog.now()) OPERATOR(pg_catalog.-) margin) AT TIME ZONE 'Asia/Shanghai')::date;
COMMENT ON FUNCTION @extschema@._travel_first_day(interval) IS
  'Internal: the first day (China Standard Time) whose travel partition is kept: the day of the travel window''s start less margin (default 7 days).';
REVOKE ALL ON FUNCTION @extschema@._travel_first_day(interval) FROM PUBLIC;

-- Whether a stay at an instant lies in a day whose partition is kept. One
-- of the last eight days always does (the window is a day at least:
-- lookback_days and evidence_kept_days are 1 or more; the margin a week),
-- and then no policy is asked: a scan asks for its stay, and the lookup is
-- a sixth of a scan's time. (Not STRICT: inlined where it is called.)
CREATE FUNCTION @extschema@._travel_kept(at timestamptz) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
RETURN _travel_kept.at OPERATOR(pg_catalog.>=) (pg_catalog.now() OPERATOR(pg_catalog.-) interval '8 days')
    OR _travel_kept.at OPERATOR(pg_catalog.>=) (@extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai');
COMMENT ON FUNCTION @extschema@._travel_kept(timestamptz) IS
  'Internal: whether a stay at this instant lies in a travel day kept (_travel_first_day), asking the policy only for one older than eight days.';
REVOKE ALL ON FUNCTION @extschema@._travel_kept(timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@.travel_retention() RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT pg_catalog.now() OPERATOR(pg_catalog.-) @extschema@._windowed_kept_from(pg_catalog.now());
END;
COMMENT ON FUNCTION @extschema@.travel_retention() IS
  'How long travel records matter to any colour, and are kept: the longest window the national policy versions in force now or later allow (their lookback_days and regional_lookback_limit_days), at most their evidence_kept_days.';
REVOKE ALL ON FUNCTION @extschema@.travel_retention() FROM PUBLIC;

CREATE FUNCTION @extschema@.drop_expired_travel_partitions(margin interval DEFAULT interval '7 days')
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cutoff date;
  part record;
BEGIN
  IF margin IS NULL OR margin < interval '0' OR margin > interval '10 years' THEN
    RAISE EXCEPTION 'margin must be an interval between 0 and 10 years' USING ERRCODE = '22023';
  END IF;
  cutoff := @extschema@._travel_first_day(margin);
  FOR part IN
    SELECT c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '@extschema@.travel'::regclass
       AND c.relname ~ '^travel_[0-9]{8}$'
       AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) IS
  'Drops the travel day partitions that lie wholly before the travel window''s start (travel_retention()), minus margin (default 7 days), and returns their names. The stays in them can no longer change any colour.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) TO healthcode_admin;

-- ---- the rules, table by table ------------------------------------------------------

-- The tables whose old rows go by their time, with the start of what is
-- kept for each: one list, read by retention_plan() and _retention_delete().
CREATE FUNCTION @extschema@._retention_rules(at timestamptz)
RETURNS TABLE (tbl text, time_column text, removes_before timestamptz, rule text)
LANGUAGE sql STABLE STRICT
-- (apply_retention, run as an admin, reads it: the national windows it
-- takes come from internal functions)
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  -- (the two cuts taken once, not once a table: each reads the national
  -- versions)
  SELECT r.tbl, r.time_column,
         CASE r.kept WHEN 'windowed' THEN c.windowed
                     -- (a check-in counts for the release of a trigger of
                     -- its calendar day, even a later one: whole days go)
                     WHEN 'kept_days' THEN (pg_catalog.date_trunc('day', c.kept_from AT TIME ZONE 'Asia/Shanghai')
                                            AT TIME ZONE 'Asia/Shanghai')
                     WHEN 'two_days' THEN _retention_rules.at - interval '2 days'
                     ELSE c.kept_from END,
         r.rule
    FROM (SELECT @extschema@._windowed_kept_from(_retention_rules.at) AS windowed,
                 @extschema@._evidence_kept_from(_retention_rules.at) AS kept_from) c
    CROSS JOIN (VALUES
      (1, 'audit_finding', 'found_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (2, 'contact', 'exposure_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (3, 'declaration', 'declared_at', 'kept',
       'evidence_kept_days (kept longer while an audit finding still kept refers to it)'),
      (4, 'test_result', 'sampled_at', 'kept', 'evidence_kept_days; whole month partitions, the rest row by row'),
      (5, 'checkin', 'at', 'kept_days', 'evidence_kept_days, whole calendar days; whole month partitions, the rest row by row'),
      (6, 'correction', 'requested_at', 'kept',
       'evidence_kept_days once decided (with the copy of the disputed row); a pending request stays until decided'),
      (7, 'code_event', 'at', 'kept', 'evidence_kept_days; whole day partitions, the rest row by row'),
      (8, 'consistency_finding', 'checked_at', 'kept', 'evidence_kept_days'),
      (9, 'exchange_reject', 'received_at', 'kept', 'evidence_kept_days'),
      (10, 'holder_check', 'at', 'two_days', 'two days (the limits on wrong identifiers count a day)'),
      (11, 'guardian_link', 'revoked_at', 'kept', 'evidence_kept_days once revoked; a standing link while it stands'),
      (12, 'proxy_action', 'at', 'kept', 'evidence_kept_days'),
      (13, 'medicine_sale', 'sold_at', 'windowed',
       'windowed evidence: the national window, at most evidence_kept_days'),
      (14, 'exposure_notice', 'until_at', 'windowed',
       'the national window: a contact filed from an older one would count no more'),
      -- (last: apply_retention trims the stored statuses just before it)
      (15, 'status_history', 'at', 'kept', 'evidence_kept_days; whole month partitions, the rest row by row')
    ) AS r(ord, tbl, time_column, kept, rule)
   ORDER BY r.ord;
END;
COMMENT ON FUNCTION @extschema@._retention_rules(timestamptz) IS
  'Internal: the tables whose rows retention removes by their time: table, time column, the start of what is kept at at, and the rule.';
REVOKE ALL ON FUNCTION @extschema@._retention_rules(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._retention_rules(timestamptz) TO healthcode_admin;

CREATE FUNCTION @extschema@.retention_plan()
RETURNS TABLE (tbl text, time_column text, removes_before timestamptz, rule text)
LANGUAGE sql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  SELECT 'travel', 'at',
         (@extschema@._travel_first_day()::timestamp AT TIME ZONE 'Asia/Shanghai'),
         'windowed evidence: the national window, at most evidence_kept_days; whole day partitions, a week after'
  UNION ALL
  SELECT r.tbl, r.time_column, r.removes_before, r.rule FROM @extschema@._retention_rules(pg_catalog.now()) r
  UNION ALL
  SELECT v.tbl, v.time_column, v.removes_before, v.rule
    FROM (VALUES
      ('person_status', 'inputs, reasons', @extschema@._evidence_kept_from(pg_catalog.now()),
       'the evidence no longer kept leaves its stored inputs; a status whose reasons may name it is recalculated'),
      ('vaccination', NULL, NULL::timestamptz,
       'kept while the person is registered (the dose count never expires); erase_person, purge_region'),
      ('manual_decision', NULL, NULL,
       'kept (the decision chain); an erasure makes tombstones'),
      ('person', NULL, NULL, 'kept while registered; erase_person, purge_region'),
      ('recalc_pending', NULL, NULL, 'transient: a person''s rows go when their batch is recalculated'),
      ('recalc_gone_stays', NULL, NULL, 'transient: a stay''s row goes once no change on the work list was made before it went'),
      ('adopted_person', NULL, NULL, 'transient: a person adopted from the hub leaves it when an identifier re-keys them; goes with the person'),
      ('test_result_sample', NULL, NULL,
       'goes with its test result: in the statement that deletes it (test_result''s triggers; _retention_delete), or before its month is dropped'),
      ('red_push', 'until', NULL, 'as long as the deciding region keeps its red (replicated); purge_region'),
      ('health_share', NULL, NULL, 'as long as the sharing region shares it (replicated); erase_person, purge_region'),
      ('status_digest', NULL, NULL, 'the person''s status now, while registered; erase_person, purge_region'),
      ('code_revocation', 'until', NULL, 'until every code it covers has expired: drop_expired_revocations()')
    ) AS v(tbl, time_column, removes_before, rule);
END;
COMMENT ON FUNCTION @extschema@.retention_plan() IS
  'What apply_retention() keeps and removes, table by table: the time column, the start of what is kept now (NULL: kept by another rule) and the rule.';
REVOKE ALL ON FUNCTION @extschema@.retention_plan() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.retention_plan() TO healthcode_admin;

-- One batch of one table's old rows (the evidence triggers recalculate
-- nobody for them: they change no colour; _retention_statuses trims the
-- stored inputs after).
CREATE FUNCTION @extschema@._retention_delete(tbl text, batch integer) RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
  leaf record;
  n integer;
  total integer := 0;
BEGIN
  SELECT * INTO r FROM @extschema@._retention_rules(now()) x WHERE x.tbl = _retention_delete.tbl;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no retention rule removes rows of %', quote_literal(@extschema@._shorten(tbl))
      USING ERRCODE = '22023';
  END IF;
  -- (a table partitioned by time: its partitions wholly gone are dropped
  -- (drop_expired_partitions); what is left to delete lies in the default
  -- partition and the partition the rule cuts into, deleted there, as a
  -- row's ctid names it in its own partition only)
  -- (a table not partitioned so has no such partitions: itself alone)
  FOR leaf IN
    SELECT CASE WHEN EXISTS (SELECT 1 FROM @extschema@._partitioned_by_time() d WHERE d.tbl = r.tbl)
                THEN r.tbl || '_default' ELSE r.tbl END AS name
    UNION ALL
    SELECT p.part FROM @extschema@._time_partitions_of(r.tbl) p
     WHERE p.from_day <= (r.removes_before AT TIME ZONE 'Asia/Shanghai')::date
  LOOP
    -- (a partition's rows deleted where they lie fire none of the table's
    -- triggers: a test result's sample goes with it, in the same statement)
    EXECUTE format(
      'WITH gone AS (DELETE FROM %1$I.%2$I WHERE ctid = ANY (ARRAY(SELECT x.ctid FROM %1$I.%2$I x WHERE x.%3$I < $1 %4$s LIMIT $2))
                     RETURNING %5$s)%6$s
       SELECT count(*) FROM gone',
      '@extschema@', leaf.name, r.time_column,
      CASE r.tbl WHEN 'declaration'
           THEN format('AND NOT EXISTS (SELECT FROM %I.audit_finding f WHERE f.declaration_id = x.id)', '@extschema@')
           WHEN 'correction' THEN 'AND x.status <> ''pending'''
           ELSE '' END,
      CASE r.tbl WHEN 'test_result' THEN 'lab, sample_id' ELSE '1' END,
      CASE r.tbl WHEN 'test_result'
           THEN format(', samples AS (DELETE FROM %I.test_result_sample k USING gone g WHERE k.lab = g.lab AND k.sample_id = g.sample_id)',
                       '@extschema@')
           ELSE '' END)
      INTO n
      USING r.removes_before, batch - total;
    total := total + n;
    EXIT WHEN total >= batch;
  END LOOP;
  RETURN total;
END $$;
COMMENT ON FUNCTION @extschema@._retention_delete(text, integer) IS
  'Internal: deletes at most batch rows of a table that its retention rule (_retention_rules) no longer keeps; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._retention_delete(text, integer) FROM PUBLIC;
-- (apply_retention runs as its caller, to commit a batch at a time)
GRANT EXECUTE ON FUNCTION @extschema@._retention_delete(text, integer) TO healthcode_admin;

-- The stored statuses after the evidence went, batch of them examined
-- from after on: a status whose stored inputs still hold evidence no longer
-- kept loses it there (its timeline, from now on, is the same without it:
-- the engine's own rule); one whose current segment has ended (its reasons
-- may name such evidence) is recalculated, and so is one without inputs.
-- Returns the last person examined; NULL once all were.
CREATE FUNCTION @extschema@._retention_statuses(after bigint, batch integer) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  horizon timestamptz := @extschema@._evidence_horizon(now());
  kept_from timestamptz := @extschema@._evidence_kept_from(now());
  last bigint;
  stale bigint[];
  trimmed bigint[];
BEGIN
  -- as every writer of status rows: the evidence lock shared (a risk-area
  -- or policy recalculation holding it exclusively rewrites rows without
  -- locking them first), then the rows, in id order
  PERFORM @extschema@._evidence_lock(false);
  SELECT max(s.person_id),
         array_agg(s.person_id ORDER BY s.person_id)
           FILTER (WHERE s.old AND (s.no_inputs OR s.valid_until <= now())),
         array_agg(s.person_id ORDER BY s.person_id)
           FILTER (WHERE s.old AND NOT s.no_inputs AND s.valid_until > now())
    INTO last, stale, trimmed
    FROM (SELECT x.person_id, x.valid_until, x.inputs IS NULL AS no_inputs,
                 x.inputs IS NULL OR @extschema@._inputs_hold_expired(x.inputs, horizon, kept_from) AS old
            FROM @extschema@.person_status x
           WHERE x.person_id > coalesce(after, -9223372036854775808)
           ORDER BY x.person_id LIMIT batch) s;
  PERFORM 1 FROM @extschema@.person_status x
   WHERE x.person_id = ANY (coalesce(trimmed, '{}') || coalesce(stale, '{}'))
   ORDER BY x.person_id FOR UPDATE;
  UPDATE @extschema@.person_status x SET inputs = @extschema@._inputs_kept(x.inputs, horizon, kept_from)
   WHERE x.person_id = ANY (trimmed) AND x.inputs IS NOT NULL;
  PERFORM @extschema@._recompute(stale, 'retention');
  RETURN last;
END $$;
COMMENT ON FUNCTION @extschema@._retention_statuses(bigint, integer) IS
  'Internal: of the next batch people after after, removes from the stored inputs the evidence no longer kept, and recalculates those whose current segment has ended (or who have no inputs); returns the last person examined, NULL when none was left.';
REVOKE ALL ON FUNCTION @extschema@._retention_statuses(bigint, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._retention_statuses(bigint, integer) TO healthcode_admin;

-- The daily job. A procedure, so that each batch commits on its own (short
-- transactions, bounded memory, imports never wait long); inside a
-- transaction block call it with commit_batches => false.
CREATE PROCEDURE @extschema@.apply_retention(INOUT removed jsonb DEFAULT NULL, batch integer DEFAULT 10000,
                                             commit_batches boolean DEFAULT true)
LANGUAGE plpgsql
AS $$
DECLARE
  t text;
  n integer;
  total bigint;
  after bigint;
BEGIN
  IF batch IS NULL OR batch < 1 OR batch > 1000000 THEN
    RAISE EXCEPTION 'batch must be between 1 and 1000000, not %', coalesce(batch::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  removed := pg_catalog.jsonb_build_object(
    'travel_partitions', (SELECT pg_catalog.count(*) FROM @extschema@.drop_expired_travel_partitions() d),
    'travel_partitions_made', @extschema@.create_travel_partitions());
  -- (travel's locks gone before code_event's are asked for)
  IF commit_batches THEN COMMIT; END IF;
  removed := removed OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(
    'partitions', (SELECT pg_catalog.count(*) FROM @extschema@.drop_expired_partitions() d),
    'partitions_made', @extschema@.create_partitions());
  IF commit_batches THEN COMMIT; END IF;
  FOR t IN SELECT r.tbl FROM @extschema@._retention_rules(pg_catalog.now()) r LOOP
    IF t OPERATOR(pg_catalog.=) 'status_history' THEN
      -- the stored statuses: after the evidence, before the history (a
      -- recalculation may append entries of changes time brought about)
      LOOP
        after := @extschema@._retention_statuses(after, batch);
        IF commit_batches THEN COMMIT; END IF;
        EXIT WHEN after IS NULL;
      END LOOP;
    END IF;
    total := 0;
    LOOP
      n := @extschema@._retention_delete(t, batch);
      total := total OPERATOR(pg_catalog.+) n;
      IF commit_batches THEN COMMIT; END IF;
      EXIT WHEN n OPERATOR(pg_catalog.<) batch;
    END LOOP;
    removed := removed OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object(t, total);
  END LOOP;
END $$;
COMMENT ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) IS
  'The daily retention job (CALL healthcode.apply_retention()): makes the travel partitions of the kept days and the other tables'' partitions by time (create_partitions), drops those of the days gone, deletes the rows every retention rule no longer keeps (retention_plan()), a batch per transaction, then takes the evidence no longer kept out of the stored statuses. Returns what it removed, per table. Nothing it removes could change a colour, so no deletion recalculates anyone.';
REVOKE ALL ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.apply_retention(jsonb, integer, boolean) TO healthcode_admin;
