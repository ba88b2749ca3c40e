-- ---------------------------------------------------------------------------
-- Whether a code belongs to the ID document shown with it (实名核验 at a
-- checkpoint), without giving checkpoints a way to find out whose a code
-- is. A checkpoint holds a code and could try identifiers against it until
-- one matches (a district and a birth year leave some 365,000 numbers), so:
--  * a code is compared only while it verifies now (a code lives minutes,
--    and its holder must have shown it), never at a time the caller picks;
--  * the wrong identifiers tried against one holder's codes in a day, and
--    by one checking role in an hour, are limited by the national policy
--    (holder_check_misses_per_day, holder_check_misses_per_hour: no region
--    loosens them); beyond, the answer is "locked", compared no more;
--  * attempts are counted one at a time (advisory locks on the role and
--    the holder, held until the attempt commits) at READ COMMITTED, so
--    that each count sees every attempt committed before it: a snapshot
--    taken before the lock (REPEATABLE READ) would not, and is refused;
--  * every attempt is committed before its answer is read: the procedure
--    records the attempt, commits, and then reads the answer, which is
--    never given to the transaction that recorded its attempt. Neither a
--    rollback nor an error raised later in the same statement can take
--    back an attempt whose answer was seen (a check inside a transaction
--    could, hence a procedure);
--  * pseudonyms are compared inside the extension; no role can compute
--    one (pseudonym() is the owner's).
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.holder_check (
  -- (opaque ids, as personal tables have: an attempt's id must not count
  -- the checks of the whole node)
  id          bigserial PRIMARY KEY,
  at          timestamptz NOT NULL DEFAULT pg_catalog.now(),
  region      text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  checked_by  text NOT NULL,
  holder      bytea,
  outcome     text NOT NULL
              CONSTRAINT outcome_is_known CHECK (outcome IN ('matches', 'differs', 'unknown', 'not_asked', 'locked')),
  valid       boolean NOT NULL,
  colour      @extschema@.risk_colour,
  reason      text NOT NULL,
  answered_at timestamptz
);
CREATE INDEX holder_check_holder ON @extschema@.holder_check (holder, at);
CREATE INDEX holder_check_checked_by ON @extschema@.holder_check (checked_by, at);
COMMENT ON TABLE @extschema@.holder_check IS
  'One row per identity check at a checkpoint (checkpoint_verify_holder): who checked where and when, a pseudonym of the code''s holder for that day (never the subject, never the identifier presented), the outcome and what the code''s verification said. The limits on wrong identifiers count these rows; retention keeps two days. No role reads it (the admins neither: one could read an answer before its attempt commits): the extension''s own bookkeeping.';
COMMENT ON COLUMN @extschema@.holder_check.id IS 'The attempt''s id (the procedure reads its answer by it).';
COMMENT ON COLUMN @extschema@.holder_check.at IS 'When.';
COMMENT ON COLUMN @extschema@.holder_check.region IS 'The checkpoint''s region.';
COMMENT ON COLUMN @extschema@.holder_check.checked_by IS 'The role that checked.';
COMMENT ON COLUMN @extschema@.holder_check.holder IS 'The code''s holder for that day (_code_holder); NULL for a string that is no code.';
COMMENT ON COLUMN @extschema@.holder_check.outcome IS 'matches, differs, unknown (this node does not know the code''s holder), not_asked (the code does not verify now) or locked (too many wrong identifiers).';
COMMENT ON COLUMN @extschema@.holder_check.valid IS 'What checkpoint_verify said of the code: valid.';
COMMENT ON COLUMN @extschema@.holder_check.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.holder_check.reason IS 'checkpoint_verify''s reason (malformed for a string that is no code).';
COMMENT ON COLUMN @extschema@.holder_check.answered_at IS 'When the answer was read.';
COMMENT ON SEQUENCE @extschema@.holder_check_id_seq IS 'Ids of identity checks.';
REVOKE ALL ON @extschema@.holder_check FROM PUBLIC;
ALTER TABLE @extschema@.holder_check
  ALTER COLUMN id SET DEFAULT @extschema@._next_id('@extschema@.holder_check_id_seq'::regclass);

-- The row's writer, asked of its xmin: an answer is never given to the
-- transaction (or a subtransaction of it) that recorded the attempt.
CREATE FUNCTION @extschema@._written_by_this_transaction(xmin xid) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_written_by_this_transaction'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._written_by_this_transaction(xid) IS
  'Internal: whether a row with this xmin was written by the current transaction or one of its subtransactions.';
REVOKE ALL ON FUNCTION @extschema@._written_by_this_transaction(xid) FROM PUBLIC;

-- The attempt: verified, compared (within the limits), recorded.
CREATE FUNCTION @extschema@._holder_check_record(code text, identifier text, checkpoint text) RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := now();
  c @extschema@.healthcode;
  norm text;
  caller text := @extschema@._caller()::regrole::text;
  verified boolean := false;
  carried @extschema@.risk_colour;
  why text := 'malformed';
  pol @extschema@.policy;
  subj bytea;
  h bytea;
  result text := 'not_asked';
  attempt bigint;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  norm := @extschema@._require_identifier(identifier);
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'an identity check runs at READ COMMITTED only, not %', current_setting('transaction_isolation')
      USING ERRCODE = '25000',
            DETAIL = 'It counts the attempts committed before it; an older snapshot would not see them.';
  END IF;
  PERFORM @extschema@._require_region(checkpoint, 'checkpoint', allow_national => true);
  PERFORM @extschema@._require_caller_scope(checkpoint);
  c := @extschema@._code_or_null(code);
  IF c IS NOT NULL THEN
    -- (verified as any checkpoint verifies it, online, now; counted)
    SELECT x.valid, x.colour, x.reason INTO verified, carried, why
      FROM @extschema@.checkpoint_verify(c, checkpoint, t, true) x;
    subj := @extschema@.subject(c);
    h := @extschema@._code_holder(subj, t);
  END IF;
  -- (a code whose holder turned another colour is still theirs)
  IF why IN ('ok', 'colour_changed') THEN
    IF NOT EXISTS (SELECT 1 FROM @extschema@.person p WHERE p.subject = subj) THEN
      result := 'unknown';
    ELSE
      -- one attempt at a time for a caller and for a holder, each counting
      -- the others' committed ones (caller first, then holder: no deadlock)
      -- (anyone can take the same advisory lock: waiting is bounded)
      PERFORM set_config('lock_timeout', '5s', true);
      PERFORM pg_advisory_xact_lock(hashtextextended('healthcode.holder_check caller ' || caller, 0));
      PERFORM pg_advisory_xact_lock(hashtextextended('healthcode.holder_check holder ' || encode(h, 'hex'), 0));
      pol := @extschema@.policy_at('000000', t);
      IF (SELECT count(*) FROM @extschema@.holder_check x WHERE x.holder = h AND x.outcome = 'differs')
           >= COALESCE(pol.holder_check_misses_per_day, 3)
         OR (SELECT count(*) FROM @extschema@.holder_check x
              WHERE x.checked_by = caller AND x.outcome = 'differs' AND x.at > t - interval '1 hour')
           >= COALESCE(pol.holder_check_misses_per_hour, 20) THEN
        result := 'locked';
      ELSE
        -- (the code's subject is the person's the identifier names: one
        -- adopted from the hub carries the hub's pseudonym until re-keyed)
        result := CASE WHEN EXISTS (SELECT 1 FROM @extschema@.person p
                                     WHERE p.subject = subj AND p.id = @extschema@._person_of(norm))
                       THEN 'matches' ELSE 'differs' END;
      END IF;
    END IF;
  END IF;
  INSERT INTO @extschema@.holder_check (at, region, checked_by, holder, outcome, valid, colour, reason)
  VALUES (t, checkpoint, caller, h, result, verified, carried, why)
  RETURNING id INTO attempt;
  RETURN attempt;
END $$;
COMMENT ON FUNCTION @extschema@._holder_check_record(text, text, text) IS
  'Internal (checkpoint_verify_holder''s first step): verifies the code at the checkpoint now, compares its holder with the identifier within the policy''s limits, records the attempt and returns its id. The answer is read by _holder_check_answer once this has committed.';
REVOKE ALL ON FUNCTION @extschema@._holder_check_record(text, text, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._holder_check_record(text, text, text) TO healthcode_app, healthcode_operator, healthcode_verifier;

CREATE FUNCTION @extschema@._holder_check_answer(attempt bigint,
    OUT holder text, OUT valid boolean, OUT colour @extschema@.risk_colour, OUT reason text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r record;
BEGIN
  SELECT x.xmin AS writer, x.* INTO r FROM @extschema@.holder_check x
   WHERE x.id = attempt AND x.checked_by = @extschema@._caller()::regrole::text
     AND x.answered_at IS NULL AND x.at > now() - interval '1 minute'
     FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no unanswered identity check % of the caller''s in the last minute', attempt
      USING ERRCODE = 'P0002';
  END IF;
  IF @extschema@._written_by_this_transaction(r.writer) THEN
    RAISE EXCEPTION 'an identity check is answered only once its attempt is committed'
      USING ERRCODE = '25001',
            HINT = 'CALL healthcode.checkpoint_verify_holder(...) outside a transaction block (autocommit).';
  END IF;
  UPDATE @extschema@.holder_check x SET answered_at = now() WHERE x.id = attempt;
  holder := r.outcome;
  valid := r.valid;
  colour := r.colour;
  reason := r.reason;
END $$;
COMMENT ON FUNCTION @extschema@._holder_check_answer(bigint) IS
  'Internal (checkpoint_verify_holder''s second step): the answer to the caller''s attempt, once, within a minute, and never in the transaction that recorded it (25001).';
REVOKE ALL ON FUNCTION @extschema@._holder_check_answer(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._holder_check_answer(bigint) TO healthcode_app, healthcode_operator, healthcode_verifier;

-- (SECURITY INVOKER and without SET: a procedure that commits may be
-- neither; it runs nothing with the caller's rights but the two
-- functions above, schema-qualified)
CREATE PROCEDURE @extschema@.checkpoint_verify_holder(code text, identifier text, checkpoint text,
    INOUT holder text DEFAULT NULL, INOUT valid boolean DEFAULT NULL,
    INOUT colour @extschema@.risk_colour DEFAULT NULL, INOUT reason text DEFAULT NULL)
LANGUAGE plpgsql
AS $$
DECLARE
  attempt bigint := @extschema@._holder_check_record(code, identifier, checkpoint);
BEGIN
  COMMIT;
  SELECT a.holder, a.valid, a.colour, a.reason INTO holder, valid, colour, reason
    FROM @extschema@._holder_check_answer(attempt) a;
END $$;
COMMENT ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text) IS
  'A checkpoint''s one call for a code and the ID document shown with it: verifies the code (checkpoint_verify, online, now; valid, colour, reason) and says whether it belongs to that identifier. holder: matches, differs, unknown (this node does not know the code''s holder: a code of another node), not_asked (the code does not verify now) or locked (the national policy limits wrong identifiers: holder_check_misses_per_day against one holder, holder_check_misses_per_hour by one role). Commits the attempt before it answers, so it must be CALLed outside a transaction block (else 2D000), at READ COMMITTED (else 25000). The identifier must be a valid document (22023).';
REVOKE ALL ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text) FROM PUBLIC;
GRANT EXECUTE ON PROCEDURE @extschema@.checkpoint_verify_holder(text, text, text, text, boolean, @extschema@.risk_colour, text)
  TO healthcode_app, healthcode_operator, healthcode_verifier;
