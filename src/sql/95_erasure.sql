-- ---------------------------------------------------------------------------
-- Erasure. A person may ask for everything about them to be removed (PIPL);
-- a region's personal data goes once the emergency is over. What goes: the
-- person and every row that names them (their evidence, statuses, history,
-- correction requests, audit findings, the status work list's and the
-- consistency check's rows), the code events of their codes (by the day's
-- holder pseudonym), and on a federated node the digest and pushed reds it
-- publishes for them. Their manual decisions become tombstones: the person,
-- validity, authority and reason go, the entry's place in the national chain
-- and the digest of its content stay, so the chain still verifies and
-- commits to what was removed (98_decisions.sql). Every code of theirs is
-- revoked (a hash of the subject, as revoke_codes_of does), so that a paper
-- code of someone erased stops verifying. What was removed is counted in
-- the report each call returns and in erasure, which names no one.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.erasure (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  erased_by     text NOT NULL,
  what          text NOT NULL CONSTRAINT what_is_known CHECK (what IN ('person', 'region', 'moved')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  people        bigint NOT NULL,
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  report        jsonb NOT NULL,
  tombstones    bigint[] NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE @extschema@.erasure IS
  'Every erasure (erase_person), purge (purge_region) and release of a hosted region to its own node (release_region): when, by whom, the region, how many people and how many rows of each table went, why. It names no person.';
COMMENT ON COLUMN @extschema@.erasure.at IS 'When.';
COMMENT ON COLUMN @extschema@.erasure.erased_by IS 'The role that called.';
COMMENT ON COLUMN @extschema@.erasure.what IS 'person (erase_person), region (purge_region) or moved (release_region: a hosted region''s people, moved to a node of its own).';
COMMENT ON COLUMN @extschema@.erasure.region IS 'The person''s home region, or the region purged.';
COMMENT ON COLUMN @extschema@.erasure.people IS 'People erased.';
COMMENT ON COLUMN @extschema@.erasure.reason IS 'Why (the request''s reference, the end of the emergency).';
COMMENT ON COLUMN @extschema@.erasure.report IS 'Rows removed (or made tombstones) by table.';
COMMENT ON COLUMN @extschema@.erasure.tombstones IS 'The decision chain positions it made tombstones (verify_decision_chain reports any other).';
REVOKE ALL ON @extschema@.erasure FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.erasure', '');

-- The erasure of some people, set-based; what went, table by table. The
-- status triggers stand aside (restore mode): the people go, nothing of
-- theirs is to be recalculated.
CREATE FUNCTION @extschema@._erase(persons bigint[], days date[] DEFAULT NULL, moved boolean DEFAULT false)
RETURNS TABLE (what text, rows bigint, positions bigint[])
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET healthcode.restore_mode = on
AS $$
DECLARE
  t timestamptz;
  tbl text;
  n bigint;
  w @extschema@.recalc_work;
  -- (the regions this node speaks for, read once: a purge erases a region)
  served @extschema@.division_multirange := @extschema@._served_here();
BEGIN
  -- Locked in the order every writer takes them (against their codes
  -- being issued, the person, the work list's rows, the status rows): no
  -- code is issued them meanwhile (_lock_for_erasure), so every code of
  -- theirs was issued before t; a recalculation of theirs under way (it holds the status
  -- rows, a worker its list rows too) ends first, and none starts until
  -- they are gone, so nothing it publishes outlives them.
  PERFORM @extschema@._lock_for_erasure(persons);
  PERFORM 1 FROM @extschema@.person p WHERE p.id = ANY (persons) ORDER BY p.id FOR UPDATE;
  -- (each change's rows of theirs, as an import takes them: by the key)
  n := 0;
  FOR w IN SELECT * FROM @extschema@.recalc_work x ORDER BY x.id LOOP
    n := n + coalesce(cardinality((@extschema@._take_listed(w, persons)).taken), 0);
  END LOOP;
  what := 'recalc_pending'; rows := n; RETURN NEXT;
  PERFORM 1 FROM @extschema@.person_status s WHERE s.person_id = ANY (persons) ORDER BY s.person_id FOR UPDATE;
  -- (after the status rows, which a removal of their stays holds from its
  -- recalculation to its commit; one still running may leave a row more,
  -- which goes with the work list's end: _forget_gone_stays)
  DELETE FROM @extschema@.recalc_gone_stays g WHERE g.person_id = ANY (persons);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'recalc_gone_stays'; rows := n; RETURN NEXT;
  t := clock_timestamp();
  IF EXISTS (SELECT 1 FROM @extschema@.manual_decision m
              WHERE m.person_id = ANY (persons) AND m.content_digest IS NULL) THEN
    RAISE EXCEPTION 'a manual decision about these people was recorded before 0.3.0: its hash covers its content, which cannot go without breaking the chain'
      USING ERRCODE = '55000',
            HINT = 'Erase such a person once the national auditor has recorded the chain''s head and agreed to restart it.';
  END IF;
  -- the rows that name them, counted before they go with the person
  FOR tbl IN SELECT e.name FROM @extschema@.evidence_table e WHERE NOT e.public_rows AND e.name <> 'manual_decision'
             UNION ALL
             SELECT u.name FROM unnest(ARRAY['correction', 'person_status', 'status_history',
                                             'consistency_finding', 'guardian_link', 'proxy_action']) u(name)
             ORDER BY 1
  LOOP
    -- (a guardian's links and actions name them too: they go with them)
    EXECUTE format('SELECT count(*) FROM @extschema@.%I x WHERE x.person_id = ANY ($1)%s', tbl,
                   CASE WHEN tbl IN ('guardian_link', 'proxy_action') THEN ' OR x.guardian_id = ANY ($1)' ELSE '' END)
       INTO n USING persons;
    what := tbl; rows := n; RETURN NEXT;
  END LOOP;
  DELETE FROM @extschema@.consistency_finding c WHERE c.person_id = ANY (persons);
  -- (moved to a node of their own, release_region: their codes stay valid,
  -- and what is published about them is that node's to publish now; their
  -- region's code events went with them and are deleted by the caller)
  IF NOT moved THEN
  -- their codes: revoked, and their events gone (by the holder pseudonym of
  -- each day there are events of)
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, revoked_at, expires_at, reason)
  SELECT @extschema@._revocation_hash('subject', p.region, p.subject), 'subject', p.region, t, t + interval '366 days',
         'erased'
    FROM @extschema@.person p WHERE p.id = ANY (persons)
  ON CONFLICT (hash) DO UPDATE
    SET revoked_at = greatest(r.revoked_at, EXCLUDED.revoked_at),
        expires_at = greatest(r.expires_at, EXCLUDED.expires_at), reason = EXCLUDED.reason;
  -- (the events still waiting in shared memory first: the codes issued
  -- them before this erasure began are all counted there by now)
  PERFORM @extschema@._flush_code_events();
  -- (the days there are events of: given by a purge, which asks once)
  days := COALESCE(days, ARRAY(SELECT DISTINCT (e.at AT TIME ZONE 'Asia/Shanghai')::date FROM @extschema@.code_event e));
  WITH holders AS (
    -- (midnight of the day in China Standard Time, whatever the session's
    -- time zone: the day _code_holder hashes)
    SELECT d.day, @extschema@._code_holder(p.subject, d.day::timestamp AT TIME ZONE 'Asia/Shanghai') AS holder
      FROM @extschema@.person p CROSS JOIN unnest(days) AS d(day) WHERE p.id = ANY (persons)
  ), gone AS (
    DELETE FROM @extschema@.code_event e USING holders h
     WHERE e.holder = h.holder AND (e.at AT TIME ZONE 'Asia/Shanghai')::date = h.day
    RETURNING 1
  )
  SELECT count(*) INTO n FROM gone;
  what := 'code_event'; rows := n; RETURN NEXT;
  -- what this node publishes for them to the hub
  DELETE FROM @extschema@.status_digest d USING @extschema@.person p
   WHERE p.id = ANY (persons) AND d.subject = p.subject;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'status_digest'; rows := n; RETURN NEXT;
  -- (of every region this node speaks for: a red decided before a move
  -- within them was pushed from the region before; another node's rows are
  -- that node's, which skips their deletion coming back (_own_row_back), so
  -- deleted here they would be gone everywhere but there)
  DELETE FROM @extschema@.red_push r USING @extschema@.person p
   WHERE p.id = ANY (persons) AND r.national_subject = p.national_subject
     AND served @> (r.from_region COLLATE "C");
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'red_push'; rows := n; RETURN NEXT;
  -- (likewise what the regions it speaks for shared about them)
  DELETE FROM @extschema@.health_share h USING @extschema@.person p
   WHERE p.id = ANY (persons) AND h.national_subject = p.national_subject
     AND served @> (h.region COLLATE "C");
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'health_share'; rows := n; RETURN NEXT;
  END IF;
  -- their decisions: tombstones in the chain
  WITH made AS (
    UPDATE @extschema@.manual_decision m
       SET person_id = NULL, valid_from = NULL, valid_until = NULL, authority = NULL, reason = NULL, erased_at = t
     WHERE m.person_id = ANY (persons)
    RETURNING m.chain_seq
  )
  SELECT count(*), COALESCE(array_agg(made.chain_seq ORDER BY made.chain_seq), '{}') INTO rows, positions FROM made;
  what := 'manual_decision (made tombstones)'; RETURN NEXT;
  positions := NULL;
  -- and the people, their rows with them (the foreign keys' cascades, the
  -- history by the person trigger)
  DELETE FROM @extschema@.person p WHERE p.id = ANY (persons);
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'person'; rows := n; RETURN NEXT;
END $$;
COMMENT ON FUNCTION @extschema@._erase(bigint[], date[], boolean) IS
  'Internal: erases the people given (every row naming them, their code events on the days given or all, digests and pushed reds; their decisions made tombstones; their codes revoked) and returns the rows removed by table, with the chain positions made tombstones. moved: people whose region moved to a node of its own (release_region): their codes, code events and what is published about them stay.';
REVOKE ALL ON FUNCTION @extschema@._erase(bigint[], date[], boolean) FROM PUBLIC;

-- Two reports (table -> rows) added up.
CREATE FUNCTION @extschema@._report_sum(a jsonb, b jsonb) RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT COALESCE(pg_catalog.jsonb_object_agg(x.key, x.rows), '{}')
          FROM (SELECT r.key, pg_catalog.sum(r.value::bigint) AS rows
                  FROM (SELECT * FROM pg_catalog.jsonb_each_text(COALESCE(a, '{}'))
                        UNION ALL SELECT * FROM pg_catalog.jsonb_each_text(COALESCE(b, '{}'))) r
                 GROUP BY r.key) x);
COMMENT ON FUNCTION @extschema@._report_sum(jsonb, jsonb) IS
  'Internal: two erasure reports (table -> rows) added up.';
REVOKE ALL ON FUNCTION @extschema@._report_sum(jsonb, jsonb) FROM PUBLIC;

-- What an erasure or purge did, kept in erasure and returned to its
-- caller: the rows removed by table.
CREATE FUNCTION @extschema@._record_erasure(erased text, region text, people bigint, reason text, report jsonb,
                                            tombstones bigint[])
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.erasure (erased_by, what, region, people, reason, report, tombstones)
  VALUES (@extschema@._caller()::regrole::text, erased, _record_erasure.region, people,
          btrim(_record_erasure.reason), report, tombstones);
  RETURN QUERY SELECT r.key, r.value::bigint FROM jsonb_each_text(report) r ORDER BY r.key;
END $$;
COMMENT ON FUNCTION @extschema@._record_erasure(text, text, bigint, text, jsonb, bigint[]) IS
  'Internal: records an erasure (erased: person) or purge (region) in erasure and returns its report, table by table.';
REVOKE ALL ON FUNCTION @extschema@._record_erasure(text, text, bigint, text, jsonb, bigint[]) FROM PUBLIC;

CREATE FUNCTION @extschema@.erase_person(person_id bigint, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  erased record;
  report jsonb := '{}';
  tombstones bigint[] := '{}';
BEGIN
  IF erase_person.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  p := @extschema@._require_person_id(erase_person.person_id);
  PERFORM @extschema@._evidence_lock(false);
  FOR erased IN SELECT * FROM @extschema@._erase(ARRAY[p.id]) LOOP
    report := @extschema@._report_sum(report, jsonb_build_object(erased.what, erased.rows));
    tombstones := tombstones || COALESCE(erased.positions, '{}');
  END LOOP;
  RETURN QUERY SELECT * FROM @extschema@._record_erasure('person', p.region, 1, reason, report, tombstones);
END $$;
COMMENT ON FUNCTION @extschema@.erase_person(bigint, text) IS
  'Erases a person of the caller''s regions on request: every row that names them, their code events, what this node publishes for them; their manual decisions stay in the chain as tombstones (the chain still verifies); their codes are revoked. Returns the rows removed by table; erasure keeps the count, naming no one.';
REVOKE ALL ON FUNCTION @extschema@.erase_person(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.erase_person(bigint, text) TO healthcode_operator;

-- Every person of a region (and below it) erased in batches of
-- healthcode.recalc_batch_size people (bounded memory), with the region's
-- own code events (its checkpoints' scans), recorded in erasure as kind:
-- region for a purge, moved for a hosted region released to a node of its
-- own (its identity checks went too; _erase says what stays).
CREATE FUNCTION @extschema@._erase_region(region text, kind text, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  moved boolean := kind = 'moved';
  batch integer := @extschema@._recalc_setting('batch_size');
  persons bigint[];
  days date[];
  people bigint := 0;
  n bigint;
  report jsonb := '{}';
  tombstones bigint[] := '{}';
  erased record;
BEGIN
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._flush_code_events();
  days := ARRAY(SELECT DISTINCT (e.at AT TIME ZONE 'Asia/Shanghai')::date FROM @extschema@.code_event e);
  LOOP
    persons := ARRAY(SELECT p.id FROM @extschema@.person p
                      WHERE p.region >= _erase_region.region
                        AND p.region <= @extschema@.division_last(_erase_region.region)
                      ORDER BY p.id LIMIT batch);
    EXIT WHEN cardinality(persons) = 0;
    people := people + cardinality(persons);
    FOR erased IN SELECT * FROM @extschema@._erase(persons, days, moved) LOOP
      report := @extschema@._report_sum(report, jsonb_build_object(erased.what, erased.rows));
      tombstones := tombstones || COALESCE(erased.positions, '{}');
    END LOOP;
  END LOOP;
  DELETE FROM @extschema@.code_event e
   WHERE e.region >= _erase_region.region AND e.region <= @extschema@.division_last(_erase_region.region);
  GET DIAGNOSTICS n = ROW_COUNT;
  report := @extschema@._report_sum(report, jsonb_build_object('code_event', n));
  IF moved THEN
    DELETE FROM @extschema@.holder_check h
     WHERE h.region >= _erase_region.region AND h.region <= @extschema@.division_last(_erase_region.region);
    GET DIAGNOSTICS n = ROW_COUNT;
    report := @extschema@._report_sum(report, jsonb_build_object('holder_check', n));
  END IF;
  RETURN QUERY SELECT * FROM @extschema@._record_erasure(kind, _erase_region.region, people, reason,
                                                         report, tombstones);
END $$;
COMMENT ON FUNCTION @extschema@._erase_region(text, text, text) IS
  'Internal: erases every person of a region (and below it) in batches, as erase_person does, and the region''s own code events (and, kind = moved, its identity checks); records it in erasure as kind (region or moved) and returns the rows removed by table.';
REVOKE ALL ON FUNCTION @extschema@._erase_region(text, text, text) FROM PUBLIC;

-- The end of the emergency: all personal data of a region.
CREATE FUNCTION @extschema@.purge_region(region text, reason text)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._require_region(purge_region.region);
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  RETURN QUERY SELECT * FROM @extschema@._erase_region(purge_region.region, 'region', reason);
END $$;
COMMENT ON FUNCTION @extschema@.purge_region(text, text) IS
  'The end-of-emergency purge: erases every person of a region (and below it) as erase_person does, in batches, and the region''s own code events; returns the rows removed by table, kept in erasure.';
REVOKE ALL ON FUNCTION @extschema@.purge_region(text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.purge_region(text, text) TO healthcode_admin;
