-- ---------------------------------------------------------------------------
-- Checkpoints: a code checked where it is shown. Offline, its signature,
-- key and times (verify()); online, where this node knows the holder's
-- status now (a person registered here, or the digest their region
-- published through the hub), whether the code's colour is still theirs:
-- a code issued green before its holder turned red fails at once. Then the
-- arrival rules: what a region asks of visitors' codes.
-- ---------------------------------------------------------------------------

-- The holder's status at an instant, where this node knows it: a person
-- registered here (by the code's subject), else the digest their region
-- published. Only ever asked for a code that verifies: a forged or expired
-- one carrying someone's subject must not read their status.
CREATE FUNCTION @extschema@._holder_status(code @extschema@.healthcode, at timestamptz,
    OUT known boolean, OUT colour @extschema@.risk_colour, OUT vaccinated boolean)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s @extschema@.person_status;
  d @extschema@.status_digest;
  v @extschema@.status_instant;
BEGIN
  SELECT st.* INTO s
    FROM @extschema@.person p JOIN @extschema@.person_status st ON st.person_id = p.id
   WHERE p.subject = @extschema@.subject(code);
  IF FOUND THEN
    v := @extschema@._status_now(s, at);
  ELSE
    SELECT * INTO d FROM @extschema@.status_digest x
     WHERE x.region = @extschema@.region(code) AND x.subject = @extschema@.subject(code);
    IF NOT FOUND THEN
      known := false;
      RETURN;
    END IF;
    v := @extschema@._digest_at(d, at);
  END IF;
  known := true;
  colour := v.colour;
  vaccinated := v.vaccinated;
END $$;
COMMENT ON FUNCTION @extschema@._holder_status(@extschema@.healthcode, timestamptz) IS
  'Internal: the colour and mark of a code''s holder at an instant, from a person registered here or their region''s digest; known false when this node knows neither.';
REVOKE ALL ON FUNCTION @extschema@._holder_status(@extschema@.healthcode, timestamptz) FROM PUBLIC;

-- The holder's health facts up to an instant, where this node knows them:
-- their own evidence for a person registered here (the last negative test
-- and the doses), else the digest their region published (the last
-- negative test; a digest carries no doses). Arrival rules; only for a code
-- that verifies. source: evidence, digest, or NULL when unknown.
CREATE FUNCTION @extschema@._holder_health_facts(code @extschema@.healthcode, at timestamptz,
    OUT last_negative_at timestamptz, OUT doses integer, OUT source text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  f record;
BEGIN
  SELECT p.id INTO pid FROM @extschema@.person p WHERE p.subject = @extschema@.subject(code);
  IF FOUND THEN
    f := @extschema@._person_health_facts(pid, at);
    last_negative_at := f.last_negative_at;
    doses := f.doses;
    source := 'evidence';
    RETURN;
  END IF;
  SELECT d.last_negative_at INTO last_negative_at FROM @extschema@.status_digest d
   WHERE d.region = @extschema@.region(code) AND d.subject = @extschema@.subject(code);
  IF FOUND THEN
    source := 'digest';
    last_negative_at := CASE WHEN last_negative_at <= at THEN last_negative_at END;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._holder_health_facts(@extschema@.healthcode, timestamptz) IS
  'Internal: a code''s holder''s last negative test (sampled, up to at) and vaccine doses: from their evidence where they are registered here (source evidence), else their region''s digest (source digest, no doses); source NULL when this node knows neither.';
REVOKE ALL ON FUNCTION @extschema@._holder_health_facts(@extschema@.healthcode, timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@.checkpoint_verify(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true)
RETURNS TABLE (valid boolean, colour @extschema@.risk_colour, region text, issued_at timestamptz,
               expires_at timestamptz, key_id bytea, reason text, vaccinated boolean, paper boolean,
               last_negative_at timestamptz, doses integer,
               online_check text, current_colour @extschema@.risk_colour)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  h record;
  checked text := 'not_asked';
  verdict text;
  now_colour @extschema@.risk_colour;
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
  IF v.valid AND coalesce(online, true) THEN
    SELECT * INTO h FROM @extschema@._holder_status(code, t) x;
    IF NOT h.known THEN
      checked := 'unknown';
    ELSE
      now_colour := h.colour;
      checked := CASE WHEN h.colour = v.colour THEN 'ok' ELSE 'colour_changed' END;
    END IF;
  END IF;
  verdict := CASE WHEN checked = 'colour_changed' THEN checked ELSE v.reason END;
  PERFORM @extschema@._count_code_event('verified', checkpoint, v.region, v.colour, verdict,
                                        @extschema@._code_holder(@extschema@.subject(code), t));
  RETURN QUERY SELECT verdict = 'ok', v.colour, v.region, v.issued_at, v.expires_at,
                      v.key_id, verdict, v.vaccinated, v.paper, v.last_negative_at, v.doses,
                      checked, now_colour;
END $$;
COMMENT ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) IS
  'verify() (with its columns: a version 2 code''s last_negative_at and doses too) at a checkpoint of a region the caller is mapped to, counted (without the code''s subject) for the analyst views; online (the default) also compares the code''s colour with its holder''s status at that time where this node knows it. online_check: ok, colour_changed (then valid is false, reason colour_changed and current_colour the colour now), unknown (this node knows neither the person nor a digest), or not_asked (online false, or the code does not verify).';
REVOKE ALL ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;

-- Rules as data (as the EU DCC's business rules are): a region's own
-- rules are written here; national ones (region 000000: every checkpoint)
-- on the hub, which publishes them to every region (94_federation_arrival_rules.sql).
CREATE TABLE @extschema@.arrival_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  from_region   text NOT NULL CONSTRAINT from_region_is_division_code CHECK (@extschema@.division_code_valid(from_region)),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  -- (0.3.0: after description, where the update from 0.2.0 adds them)
  valid_from    timestamptz NOT NULL DEFAULT '-infinity'
                CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  valid_until   timestamptz CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  min_doses     integer CONSTRAINT min_doses_between_1_and_10 CHECK (min_doses BETWEEN 1 AND 10),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region, valid_from)
);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours, and optionally a number of vaccine doses; versioned by validity, like policy. The most specific rule in force for the checkpoint''s region and the code''s region decides (then the latest-starting version); with none, a valid green code is enough. National rules (region 000000) come from the hub on a federated region node.';
COMMENT ON COLUMN @extschema@.arrival_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.arrival_rule.region IS 'The visited region (covers the codes below it).';
COMMENT ON COLUMN @extschema@.arrival_rule.from_region IS 'The codes'' region it applies to (000000: all).';
COMMENT ON COLUMN @extschema@.arrival_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.arrival_rule.negative_test_hours IS 'How recent the negative test must be.';
COMMENT ON COLUMN @extschema@.arrival_rule.description IS 'The rule as a person reads it.';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_from IS 'When this version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_until IS 'When it stops; NULL: until a later version replaces it.';
COMMENT ON COLUMN @extschema@.arrival_rule.min_doses IS 'Vaccine doses the holder must have had (NULL: none asked).';
COMMENT ON SEQUENCE @extschema@.arrival_rule_id_seq IS 'Ids of arrival rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule_id_seq', '');

CREATE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true,
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT code_region text,
    OUT rule_id bigint, OUT rule text, OUT rule_region text, OUT rule_from_region text,
    OUT rule_version timestamptz, OUT last_negative_at timestamptz, OUT doses integer,
    OUT facts_from text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  h record;
  r @extschema@.arrival_rule;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(verify_arrival.at, now());
BEGIN
  SELECT * INTO v FROM @extschema@.checkpoint_verify(code, checkpoint, t, online);
  colour := v.colour;
  code_region := v.region;
  SELECT * INTO r FROM @extschema@.arrival_rule a
   WHERE @extschema@.division_covers(a.region, checkpoint)
     AND @extschema@.division_covers(a.from_region, v.region)
     AND a.valid_from <= t AND (a.valid_until IS NULL OR t < a.valid_until)
   ORDER BY @extschema@.division_rank(a.region) DESC, @extschema@.division_rank(a.from_region) DESC,
            a.valid_from DESC
   LIMIT 1;
  rule_id := r.id;
  rule := COALESCE(r.description, 'no arrival rule: a valid green code');
  rule_region := r.region;
  rule_from_region := r.from_region;
  rule_version := r.valid_from;
  IF NOT v.valid THEN
    admit := false;
    reason := v.reason;
    RETURN;
  ELSIF v.colour <> 'green' THEN
    admit := false;
    reason := 'not_green';
    RETURN;
  END IF;
  IF r.demand = 'green_and_negative_test' OR r.min_doses IS NOT NULL THEN
    -- what the code carries, signed (version 2), is enough offline; online,
    -- a later test or dose this node knows of counts too
    last_negative_at := v.last_negative_at;
    doses := v.doses;
    facts_from := CASE WHEN v.doses IS NOT NULL THEN 'code' END;
    IF coalesce(online, true) THEN
      h := @extschema@._holder_health_facts(code, t);
      IF h.source IS NOT NULL THEN
        last_negative_at := GREATEST(last_negative_at, h.last_negative_at);
        doses := GREATEST(doses, h.doses);
        facts_from := concat_ws('+', facts_from, h.source);
      END IF;
    END IF;
  END IF;
  admit := false;
  IF r.demand = 'green_and_negative_test'
     AND NOT coalesce(last_negative_at BETWEEN t - make_interval(hours => r.negative_test_hours) AND t, false) THEN
    reason := 'no_recent_negative_test';
  ELSIF r.min_doses IS NOT NULL AND coalesce(doses, 0) < r.min_doses THEN
    reason := 'not_enough_doses';
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) IS
  'Verifies a visitor''s code at a checkpoint of this region (checkpoint_verify, online by default) against its arrival rules, and names the rule that decided: rule_id (this node''s row), rule_region, rule_from_region and rule_version (its valid_from: the same on every node for a national rule). reason: a verify() reason, colour_changed, not_green, no_recent_negative_test, not_enough_doses or ok. The last negative test and doses come from the code itself (a version 2 code, signed: enough offline) and, online, from the holder''s evidence where registered here or their region''s digest, whichever is later or more (facts_from says which: code, evidence, digest, or code+evidence, code+digest).';
REVOKE ALL ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;
