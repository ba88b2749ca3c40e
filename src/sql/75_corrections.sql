-- ---------------------------------------------------------------------------
-- Error correction (GB/T 38963-2020): a person asks for a record to be
-- corrected, an operator of their region accepts or rejects it.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.correction (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  evidence      text NOT NULL
                CONSTRAINT evidence_is_known REFERENCES @extschema@.evidence_table (name),
  evidence_id   bigint NOT NULL,
  claim         text NOT NULL CONSTRAINT claim_is_given CHECK (pg_catalog.length(pg_catalog.btrim(claim)) > 0),
  requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  status        text NOT NULL DEFAULT 'pending'
                CONSTRAINT status_is_known CHECK (status IN ('pending', 'accepted', 'rejected')),
  decided_by    text,
  decided_at    timestamptz,
  decision_reason text,
  evidence_snapshot jsonb,
  CONSTRAINT correction_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT decision_is_complete
    CHECK ((status = 'pending') = (decided_at IS NULL)
           AND (status = 'pending' OR (decided_by IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(decision_reason)) > 0)))
);
CREATE INDEX correction_pending ON @extschema@.correction (requested_at) WHERE status = 'pending';
CREATE INDEX correction_requested_at ON @extschema@.correction USING brin (requested_at);
COMMENT ON TABLE @extschema@.correction IS
  'Error correction (GB/T 38963): a person disputes one piece of evidence; an operator accepts (the evidence is removed, a copy kept here, the status follows) or rejects it, with a reason.';
COMMENT ON COLUMN @extschema@.correction.id IS 'Correction request id.';
COMMENT ON COLUMN @extschema@.correction.person_id IS 'The person asking.';
COMMENT ON COLUMN @extschema@.correction.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.correction.evidence IS 'The evidence table disputed.';
COMMENT ON COLUMN @extschema@.correction.evidence_id IS 'The id of the disputed row.';
COMMENT ON COLUMN @extschema@.correction.claim IS 'What the person says is wrong.';
COMMENT ON COLUMN @extschema@.correction.requested_at IS 'When it was asked.';
COMMENT ON COLUMN @extschema@.correction.status IS 'pending, accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.decided_by IS 'The operator role that decided.';
COMMENT ON COLUMN @extschema@.correction.decided_at IS 'When it was decided.';
COMMENT ON COLUMN @extschema@.correction.decision_reason IS 'Why it was accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.evidence_snapshot IS 'The removed evidence row, as it was, when accepted.';

CREATE FUNCTION @extschema@.request_correction(person_id bigint, evidence text, evidence_id bigint, claim text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner bigint;
  home text;
  id bigint;
BEGIN
  IF request_correction.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence IS NULL THEN
    RAISE EXCEPTION 'evidence must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM @extschema@.evidence_table e WHERE e.name = evidence AND e.correctable) THEN
    RAISE EXCEPTION 'evidence must be one of %, not %',
      (SELECT string_agg(e.name, ', ' ORDER BY e.name) FROM @extschema@.evidence_table e WHERE e.correctable),
      quote_literal(@extschema@._shorten(evidence)) USING ERRCODE = '22023';
  END IF;
  IF evidence_id IS NULL THEN
    RAISE EXCEPTION 'evidence_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(claim, 'claim');
  -- the person, locked against a move or a deletion until the request is
  -- in: filed with the region a snapshot showed, it would fail its foreign
  -- key (23503) when a move commits meanwhile. The locking read gives the
  -- newest region (READ COMMITTED); a move that comes later waits.
  SELECT p.region INTO home FROM @extschema@.person p
   WHERE p.id = request_correction.person_id AND @extschema@._in_caller_scope(p.region) FOR KEY SHARE;
  EXECUTE format('SELECT e.person_id FROM @extschema@.%I e WHERE e.id = $1 AND @extschema@._in_caller_scope(e.region)', evidence)
    INTO owner USING evidence_id;
  IF owner IS DISTINCT FROM request_correction.person_id OR home IS NULL THEN
    RAISE EXCEPTION 'person % has no % record %', request_correction.person_id, evidence, evidence_id
      USING ERRCODE = 'P0002';
  END IF;
  INSERT INTO @extschema@.correction AS c (person_id, region, evidence, evidence_id, claim)
  VALUES (request_correction.person_id, home, request_correction.evidence, request_correction.evidence_id,
          request_correction.claim)
  RETURNING c.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) IS
  'Error correction, the person''s side: disputes one evidence record with a claim; returns the request id.';
REVOKE ALL ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.decide_correction(correction_id bigint, accept boolean, reason text)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.correction;
  snapshot jsonb;
BEGIN
  IF correction_id IS NULL THEN
    RAISE EXCEPTION 'correction_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF accept IS NULL THEN
    RAISE EXCEPTION 'accept must not be NULL (true or false)' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  -- The person first, then the request: a move holds the person and
  -- cascades into the disputed record and the request; locking the request
  -- first and then deleting the record would deadlock with it. (A request
  -- never changes its person: the one read without a lock is the one.)
  PERFORM 1 FROM @extschema@.person p
   WHERE p.id = (SELECT x.person_id FROM @extschema@.correction x
                  WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region))
   FOR KEY SHARE;
  SELECT * INTO c FROM @extschema@.correction x
   WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no correction request %', correction_id USING ERRCODE = 'P0002';
  END IF;
  IF c.status <> 'pending' THEN
    RAISE EXCEPTION 'correction request % is % already', correction_id, c.status USING ERRCODE = '55000';
  END IF;
  IF accept THEN
    -- the status history names the correction as the cause
    PERFORM set_config('healthcode.change_cause',
                       format('correction %s accepted: %s', c.id, reason), true);
    EXECUTE format('DELETE FROM @extschema@.%I e WHERE e.id = $1 AND e.person_id = $2 RETURNING to_jsonb(e)',
                   c.evidence)
      INTO snapshot USING c.evidence_id, c.person_id;
    PERFORM set_config('healthcode.change_cause', '', true);
  END IF;
  UPDATE @extschema@.correction x
     SET status = CASE WHEN accept THEN 'accepted' ELSE 'rejected' END,
         decided_by = @extschema@._caller()::regrole::text, decided_at = now(), decision_reason = reason,
         evidence_snapshot = snapshot
   WHERE x.id = c.id;
  RETURN QUERY SELECT * FROM @extschema@.status(c.person_id);
END $$;
COMMENT ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) IS
  'Error correction, the operator''s side: accept (the disputed record is removed, kept as a snapshot on the request, and the status follows with the correction as the cause) or reject, with a reason; returns the person''s status.';
REVOKE ALL ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) TO healthcode_operator;
