-- ---------------------------------------------------------------------------
-- Manual decisions are append-only and hash-chained. Each entry commits to
-- the one before it: entry_hash = SHA-256 of the previous hash, the part of
-- the entry an erasure keeps (decision_kept: position, id, kind, colour, who,
-- when) and the digest of the part it removes (content_digest, of
-- decision_erasable: person, validity, authority, reason). Any later edit,
-- deletion or insertion in the middle -- by anyone, the table owner with
-- triggers disabled included -- breaks the chain where
-- verify_decision_chain() finds it; an auditor who keeps the head
-- (decision_chain_head()) also detects entries removed from the end. The
-- guard triggers stop ordinary edits outright. A person with manual
-- decisions cannot be deleted (the record is the point); moving them to
-- another region is allowed (the region is not part of the hashed content).
-- Erasing them (95_erasure.sql) turns their entries into tombstones: the
-- erasable part goes, its digest and the kept part stay, so the chain still
-- verifies and commits to what was removed; every tombstone is listed in
-- the erasure that made it, and one that is not is reported. (Entries
-- recorded under 0.2.0 hash their whole content, decision_content: they
-- verify as before, and cannot be made tombstones.)
-- ---------------------------------------------------------------------------

-- The whole content: everything that makes the decision, not the region
-- (which follows the person) nor the chain columns. (The hash of an entry
-- of 0.2.0 covers it; later ones cover the two parts below.)
CREATE FUNCTION @extschema@.decision_content(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.chain_seq, m.id, m.person_id, m.kind, m.colour::text,
         pg_catalog.to_char(m.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         pg_catalog.to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         m.decided_by, m.authority, m.reason,
         pg_catalog.to_char(m.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) IS
  'A manual decision''s whole content, which the hash of an entry recorded under 0.2.0 covers: a JSON array of sequence, id, person, kind, colour, validity, who, authority, reason and when (times in UTC, NULLs explicit).';
REVOKE ALL ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) TO healthcode_admin;

-- What an erasure keeps of an entry, and what it removes.
CREATE FUNCTION @extschema@.decision_kept(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.chain_seq, m.id, m.kind, m.colour::text, m.decided_by,
         pg_catalog.to_char(m.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) IS
  'The part of a manual decision an erasure keeps, as its hash covers it: a JSON array of sequence, id, kind, colour, who and when (time in UTC).';
REVOKE ALL ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_kept(@extschema@.manual_decision) TO healthcode_admin;
CREATE FUNCTION @extschema@.decision_erasable(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.person_id,
         pg_catalog.to_char(m.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         pg_catalog.to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         m.authority, m.reason)::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) IS
  'The part of a manual decision an erasure removes, whose SHA-256 (content_digest) its hash covers: a JSON array of person, validity, authority and reason (times in UTC, NULLs explicit).';
REVOKE ALL ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_erasable(@extschema@.manual_decision) TO healthcode_admin;

-- An entry linked after the one before it (NULLs: the chain's first): its
-- position, the previous hash, the digest of its erasable part and its own
-- hash. The one rule of the chain, for the trigger below and for the
-- decisions a node adopts with a region (adopt_region).
CREATE FUNCTION @extschema@._decision_linked(m @extschema@.manual_decision, last_seq bigint, last_hash bytea)
RETURNS @extschema@.manual_decision
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  m.chain_seq := coalesce(last_seq, 0) + 1;
  m.prev_hash := coalesce(last_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  -- (a tombstone only ever comes of an erasure, never of an insert)
  m.erased_at := NULL;
  m.content_digest := sha256(@extschema@.decision_erasable(m));
  m.entry_hash := sha256(m.prev_hash || @extschema@.decision_kept(m) || m.content_digest);
  RETURN m;
END $$;
COMMENT ON FUNCTION @extschema@._decision_linked(@extschema@.manual_decision, bigint, bytea) IS
  'Internal: the decision linked into the chain after the entry at last_seq with hash last_hash (NULLs: first): chain_seq, prev_hash, content_digest and entry_hash set.';
REVOKE ALL ON FUNCTION @extschema@._decision_linked(@extschema@.manual_decision, bigint, bytea) FROM PUBLIC;

CREATE FUNCTION @extschema@._decision_chain_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  last @extschema@.manual_decision;
BEGIN
  -- a dump being restored brings its entries as they were: re-stamping them
  -- would falsify who decided, when, and the chain an auditor recorded
  IF @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- one writer at a time extends the chain
  PERFORM pg_advisory_xact_lock(hashtext('@extschema@.manual_decision chain'));
  SELECT * INTO last FROM @extschema@.manual_decision m ORDER BY m.chain_seq DESC LIMIT 1;
  -- who decided is the caller, whatever function recorded it
  NEW.decided_by := @extschema@._caller()::regrole::text;
  NEW.decided_at := statement_timestamp();
  RETURN @extschema@._decision_linked(NEW, last.chain_seq, last.entry_hash);
END $$;
COMMENT ON FUNCTION @extschema@._decision_chain_append() IS
  'Trigger: links a new manual decision into the hash chain, and records who (the calling role) and when; rows a dump restores keep theirs.';
REVOKE ALL ON FUNCTION @extschema@._decision_chain_append() FROM PUBLIC;
CREATE TRIGGER decision_chain_append BEFORE INSERT ON @extschema@.manual_decision
  FOR EACH ROW EXECUTE FUNCTION @extschema@._decision_chain_append();

CREATE FUNCTION @extschema@._decision_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND (to_jsonb(NEW) - 'region') = (to_jsonb(OLD) - 'region') THEN
    RETURN NEW;                 -- the person moved region: allowed
  END IF;
  -- the person erased: their entry becomes a tombstone (the table's check
  -- whole_or_erased says what goes), nothing else changes
  IF TG_OP = 'UPDATE' AND OLD.erased_at IS NULL AND NEW.erased_at IS NOT NULL AND OLD.content_digest IS NOT NULL
     AND (to_jsonb(NEW) - ARRAY['person_id', 'valid_from', 'valid_until', 'authority', 'reason', 'erased_at'])
       = (to_jsonb(OLD) - ARRAY['person_id', 'valid_from', 'valid_until', 'authority', 'reason', 'erased_at']) THEN
    RETURN NEW;
  END IF;
  RAISE EXCEPTION 'manual decisions are append-only'
    USING ERRCODE = '55000',
          HINT = 'Record a new decision instead: an override with another colour, or a release.';
END $$;
COMMENT ON FUNCTION @extschema@._decision_guard() IS
  'Trigger: manual decisions cannot be changed or deleted (only their region follows the person, and an erased person''s entry becomes a tombstone).';
REVOKE ALL ON FUNCTION @extschema@._decision_guard() FROM PUBLIC;
CREATE TRIGGER decision_guard BEFORE UPDATE OR DELETE ON @extschema@.manual_decision
  FOR EACH ROW EXECUTE FUNCTION @extschema@._decision_guard();
CREATE TRIGGER decision_guard_truncate BEFORE TRUNCATE ON @extschema@.manual_decision
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._decision_guard();

CREATE FUNCTION @extschema@.decision_chain_head(OUT entries bigint, OUT head_seq bigint, OUT head_hash bytea)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT pg_catalog.count(*), pg_catalog.max(m.chain_seq),
         (SELECT x.entry_hash FROM @extschema@.manual_decision x ORDER BY x.chain_seq DESC LIMIT 1)
    FROM @extschema@.manual_decision m;
END;
COMMENT ON FUNCTION @extschema@.decision_chain_head() IS
  'The chain''s length and last hash: an auditor keeps them, and later passes them to verify_decision_chain() to detect entries removed from the end.';
REVOKE ALL ON FUNCTION @extschema@.decision_chain_head() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decision_chain_head() TO healthcode_admin;

CREATE FUNCTION @extschema@.verify_decision_chain(expected_seq bigint DEFAULT NULL, expected_hash bytea DEFAULT NULL)
RETURNS TABLE (chain_seq bigint, decision_id bigint, problem text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH listed AS (
    -- (the positions erasures made tombstones, once: a lookup, not a scan of
    -- every erasure's list for every tombstone)
    SELECT DISTINCT t.seq FROM @extschema@.erasure e CROSS JOIN LATERAL pg_catalog.unnest(e.tombstones) AS t(seq)
  ), c AS (
    SELECT m.chain_seq, m.id, m.prev_hash, m.entry_hash,
           -- (over the kept part and the erasable part's digest; entries of
           -- 0.2.0: over the whole content)
           CASE WHEN m.content_digest IS NULL
                THEN pg_catalog.sha256(m.prev_hash OPERATOR(pg_catalog.||) @extschema@.decision_content(m))
                ELSE pg_catalog.sha256(m.prev_hash OPERATOR(pg_catalog.||) @extschema@.decision_kept(m)
                                       OPERATOR(pg_catalog.||) m.content_digest) END AS recomputed,
           m.erased_at IS NULL AND m.content_digest IS NOT NULL
             AND m.content_digest OPERATOR(pg_catalog.<>) pg_catalog.sha256(@extschema@.decision_erasable(m)) AS content_changed,
           m.erased_at IS NOT NULL
             AND (m.content_digest IS NULL OR m.person_id IS NOT NULL OR m.valid_from IS NOT NULL
                  OR m.valid_until IS NOT NULL OR m.authority IS NOT NULL OR m.reason IS NOT NULL) AS tombstone_holds,
           m.erased_at IS NOT NULL AND l.seq IS NULL AS tombstone_unrecorded,
           pg_catalog.lag(m.entry_hash) OVER (ORDER BY m.chain_seq) AS before_hash,
           pg_catalog.lag(m.chain_seq) OVER (ORDER BY m.chain_seq) AS before_seq
      FROM @extschema@.manual_decision m
      LEFT JOIN listed l ON l.seq OPERATOR(pg_catalog.=) m.chain_seq
  )
  SELECT c.chain_seq, c.id, 'entry changed: its hash does not match its content'
    FROM c WHERE c.recomputed OPERATOR(pg_catalog.<>) c.entry_hash OR c.content_changed
  UNION ALL
  SELECT c.chain_seq, c.id, 'tombstone holds what an erasure removes'
    FROM c WHERE c.tombstone_holds
  UNION ALL
  SELECT c.chain_seq, c.id, 'entry made a tombstone with no erasure on record'
    FROM c WHERE c.tombstone_unrecorded
  UNION ALL
  SELECT c.chain_seq, c.id, 'entry missing before this one'
    FROM c WHERE c.chain_seq OPERATOR(pg_catalog.<>) (COALESCE(c.before_seq, 0) OPERATOR(pg_catalog.+) 1)
  UNION ALL
  SELECT c.chain_seq, c.id, 'link broken: prev_hash is not the hash of the entry before'
    FROM c WHERE c.prev_hash OPERATOR(pg_catalog.<>)
                 COALESCE(c.before_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
  UNION ALL
  SELECT verify_decision_chain.expected_seq, NULL::bigint, 'entries missing at the end: the recorded head is gone'
   WHERE verify_decision_chain.expected_seq IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM @extschema@.manual_decision m
                      WHERE m.chain_seq OPERATOR(pg_catalog.=) verify_decision_chain.expected_seq
                        AND (verify_decision_chain.expected_hash IS NULL
                             OR m.entry_hash OPERATOR(pg_catalog.=) verify_decision_chain.expected_hash))
   ORDER BY 1, 3;
END;
COMMENT ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) IS
  'Checks the manual decisions'' hash chain and returns every problem (an entry changed, missing, or out of its place); empty when intact, erased people''s tombstones included. Given a head recorded earlier (decision_chain_head()), also detects entries removed from the end.';
REVOKE ALL ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) TO healthcode_admin;

CREATE FUNCTION @extschema@.record_decision(
    person_id bigint,
    kind text,
    reason text,
    authority text,
    colour @extschema@.risk_colour DEFAULT NULL,
    valid_from timestamptz DEFAULT pg_catalog.now(),
    valid_until timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  IF record_decision.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind IS NULL THEN
    RAISE EXCEPTION 'kind must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind NOT IN ('override', 'medical_release', 'appeal_upheld') THEN
    RAISE EXCEPTION 'kind must be override, medical_release or appeal_upheld, not %', quote_literal(@extschema@._shorten(kind))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  PERFORM @extschema@._require_text(authority, 'authority');
  IF (kind = 'override') <> (colour IS NOT NULL) THEN
    RAISE EXCEPTION 'an override needs a colour; a release takes none' USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(valid_from, 'valid_from');
  IF valid_until IS NOT NULL AND kind <> 'override' THEN
    RAISE EXCEPTION 'valid_until is for an override; a release takes none' USING ERRCODE = '22023';
  END IF;
  IF valid_until <= valid_from THEN
    RAISE EXCEPTION 'valid_until must lie after valid_from' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.manual_decision AS m
         (person_id, region, kind, colour, valid_from, valid_until, authority, reason)
  SELECT p.id, p.region, record_decision.kind, record_decision.colour, record_decision.valid_from,
         record_decision.valid_until, record_decision.authority, record_decision.reason
    FROM (SELECT x.* FROM @extschema@.person x WHERE x.id = record_decision.person_id FOR KEY SHARE) p
   WHERE @extschema@._in_caller_scope(p.region)
  RETURNING m.id INTO id;
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', record_decision.person_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) IS
  'Records a manual decision (override with a colour and validity, medical_release, appeal_upheld): who, why, under which authority. It is evidence: the status follows.';
REVOKE ALL ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) TO healthcode_operator;
