-- ---------------------------------------------------------------------------
-- A person's code, issued for the code screen (issue_for()), and codes
-- checked at checkpoints (checkpoint_verify()); both are counted, without
-- the subject, in code_event for the analysts' views.
-- ---------------------------------------------------------------------------

-- Codes are short-lived; and a code never outlives its issuer key or the
-- status it shows either.
CREATE FUNCTION @extschema@._require_valid_for(valid_for interval) RETURNS interval
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF valid_for IS NULL THEN
    RAISE EXCEPTION 'valid_for must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF valid_for < interval '1 second' THEN
    RAISE EXCEPTION 'valid_for must be at least one second, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003';
  END IF;
  IF valid_for > interval '366 days' THEN
    RAISE EXCEPTION 'valid_for must be at most 366 days, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003',
            DETAIL = 'A code is valid for minutes; it never outlives its issuer key or the status it shows either.';
  END IF;
  RETURN valid_for;
END $$;
COMMENT ON FUNCTION @extschema@._require_valid_for(interval) IS
  'Internal: a code''s validity if it lies between one second and 366 days, else 22004 (NULL) or 22003.';
REVOKE ALL ON FUNCTION @extschema@._require_valid_for(interval) FROM PUBLIC;

-- Codes issued and verified: counted, never tied to a person.
CREATE TABLE @extschema@.code_event (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  event         text NOT NULL CONSTRAINT event_is_known CHECK (event IN ('issued', 'verified')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  code_region   text NOT NULL CONSTRAINT code_region_is_division_code CHECK (@extschema@.division_code_valid(code_region)),
  colour        @extschema@.risk_colour NOT NULL,
  outcome       text NOT NULL,
  holder        bytea NOT NULL
);
CREATE INDEX code_event_at ON @extschema@.code_event USING brin (at);
COMMENT ON TABLE @extschema@.code_event IS
  'One row per code issued by issue_for() or verified by checkpoint_verify(): when, where (the issuing region, or the checkpoint''s), the code''s region and colour, and the outcome (ok or the verify reason). No subject, no person: counts for the analyst views.';
COMMENT ON COLUMN @extschema@.code_event.at IS 'When.';
COMMENT ON COLUMN @extschema@.code_event.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.code_event.region IS 'Where: the person''s region when issued, the checkpoint''s when verified.';
COMMENT ON COLUMN @extschema@.code_event.code_region IS 'The region the code claims.';
COMMENT ON COLUMN @extschema@.code_event.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.code_event.outcome IS 'issued: ok; verified: the reason verify() gave.';
COMMENT ON COLUMN @extschema@.code_event.holder IS 'A pseudonym of the code''s holder for that day (_code_holder): the views count people, not codes, without the subject.';

-- One person fetching five codes must count once: a cell counts holders.
-- The day in the hash keeps a holder from being followed across days.
CREATE FUNCTION @extschema@._code_holder(subject bytea, at timestamptz) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.substr(pg_catalog.sha256(subject OPERATOR(pg_catalog.||)
         pg_catalog.convert_to(((at AT TIME ZONE 'Asia/Shanghai')::date)::text, 'UTF8')), 1, 8);
COMMENT ON FUNCTION @extschema@._code_holder(bytea, timestamptz) IS
  'Internal: the first 8 bytes of SHA-256(subject || the day in China Standard Time): one pseudonym a holder a day.';
REVOKE ALL ON FUNCTION @extschema@._code_holder(bytea, timestamptz) FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_event', '');

CREATE FUNCTION @extschema@.issue_for(person_id bigint, valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  s @extschema@.status_report;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  IF issue_for.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = issue_for.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', issue_for.person_id, @extschema@._caller()::regrole
      USING ERRCODE = 'P0002';
  END IF;
  SELECT * INTO s FROM @extschema@.status(p.id, t);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'person % has no status yet', p.id USING ERRCODE = '55000';
  END IF;
  -- codes carry whole seconds from the statement's start: never let one
  -- outlive the status it shows
  span := CASE WHEN isfinite(s.valid_until)
               THEN LEAST(valid_for, date_trunc('second', s.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'person %''s status changes within a second', p.id USING ERRCODE = '40001',
      HINT = 'Retry the call: the code would carry a colour that no longer holds when it is shown.';
  END IF;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('issued', p.region, p.region, s.colour, 'ok', @extschema@._code_holder(p.subject, t));
  RETURN @extschema@.issue(p.region, p.subject, s.colour, span, s.vaccinated);
END $$;
COMMENT ON FUNCTION @extschema@.issue_for(bigint, interval) IS
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes; from one second to 366 days) but never after the status''s valid_until.';
REVOKE ALL ON FUNCTION @extschema@.issue_for(bigint, interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.issue_for(bigint, interval) TO healthcode_app, healthcode_operator;

CREATE FUNCTION @extschema@.checkpoint_verify(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (valid boolean, colour @extschema@.risk_colour, region text, issued_at timestamptz,
               expires_at timestamptz, key_id bytea, reason text, vaccinated boolean)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  -- (NULL: now)
  t timestamptz := coalesce(checkpoint_verify.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_region(checkpoint, 'checkpoint', allow_national => true);
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint counts for the regions its role is mapped to, no others'
  PERFORM @extschema@._require_caller_scope(checkpoint);
  SELECT * INTO v FROM @extschema@.verify(code, t) x;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('verified', checkpoint, v.region, v.colour, v.reason,
          @extschema@._code_holder(@extschema@.subject(code), t));
  RETURN QUERY SELECT v.valid, v.colour, v.region, v.issued_at, v.expires_at, v.key_id, v.reason, v.vaccinated;
END $$;
COMMENT ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz) IS
  'verify() at a checkpoint of a region the caller is mapped to, counted (without the code''s subject) for the analyst views.';
REVOKE ALL ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz) TO healthcode_app, healthcode_operator, healthcode_verifier;
