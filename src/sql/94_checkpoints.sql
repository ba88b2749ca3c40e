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
    v := @extschema@.status_at(s, at);
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

-- The holder's last negative test up to an instant, where this node knows
-- it: from their own evidence for a person registered here, else from the
-- digest their region published (arrival rules; only for a code that
-- verifies).
CREATE FUNCTION @extschema@._holder_last_negative(code @extschema@.healthcode, at timestamptz)
RETURNS timestamptz
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  last timestamptz;
BEGIN
  SELECT p.id INTO pid FROM @extschema@.person p WHERE p.subject = @extschema@.subject(code);
  IF FOUND THEN
    SELECT max(t.sampled_at) INTO last FROM @extschema@.test_result t
     WHERE t.person_id = pid AND t.result = 'negative' AND t.sampled_at <= at;
    RETURN last;
  END IF;
  SELECT d.last_negative_at INTO last FROM @extschema@.status_digest d
   WHERE d.region = @extschema@.region(code) AND d.subject = @extschema@.subject(code);
  RETURN CASE WHEN last <= at THEN last END;
END $$;
COMMENT ON FUNCTION @extschema@._holder_last_negative(@extschema@.healthcode, timestamptz) IS
  'Internal: when a code''s holder last tested negative (sampled, up to at): from their evidence where they are registered here, else from their region''s digest; NULL when unknown.';
REVOKE ALL ON FUNCTION @extschema@._holder_last_negative(@extschema@.healthcode, timestamptz) FROM PUBLIC;

CREATE FUNCTION @extschema@.checkpoint_verify(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true)
RETURNS TABLE (valid boolean, colour @extschema@.risk_colour, region text, issued_at timestamptz,
               expires_at timestamptz, key_id bytea, reason text, vaccinated boolean, paper boolean,
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
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('verified', checkpoint, v.region, v.colour, verdict, @extschema@._code_holder(@extschema@.subject(code), t));
  RETURN QUERY SELECT verdict = 'ok', v.colour, v.region, v.issued_at, v.expires_at,
                      v.key_id, verdict, v.vaccinated, v.paper, checked, now_colour;
END $$;
COMMENT ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) IS
  'verify() at a checkpoint of a region the caller is mapped to, counted (without the code''s subject) for the analyst views; online (the default) also compares the code''s colour with its holder''s status at that time where this node knows it. online_check: ok, colour_changed (then valid is false, reason colour_changed and current_colour the colour now), unknown (this node knows neither the person nor a digest), or not_asked (online false, or the code does not verify).';
REVOKE ALL ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;

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
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region, valid_from)
);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours; versioned by validity, like policy. The most specific rule in force for the checkpoint''s region and the code''s region decides (then the latest-starting version); with none, a valid green code is enough.';
COMMENT ON COLUMN @extschema@.arrival_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.arrival_rule.region IS 'The visited region (covers the codes below it).';
COMMENT ON COLUMN @extschema@.arrival_rule.from_region IS 'The codes'' region it applies to (000000: all).';
COMMENT ON COLUMN @extschema@.arrival_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.arrival_rule.negative_test_hours IS 'How recent the negative test must be.';
COMMENT ON COLUMN @extschema@.arrival_rule.description IS 'The rule as a person reads it.';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_from IS 'When this version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.arrival_rule.valid_until IS 'When it stops; NULL: until a later version replaces it.';
COMMENT ON SEQUENCE @extschema@.arrival_rule_id_seq IS 'Ids of arrival rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule_id_seq', '');

CREATE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(), online boolean DEFAULT true,
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT code_region text,
    OUT rule_id bigint, OUT rule text)
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  r @extschema@.arrival_rule;
  last_negative timestamptz;
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
  IF NOT v.valid THEN
    admit := false;
    reason := v.reason;
  ELSIF v.colour <> 'green' THEN
    admit := false;
    reason := 'not_green';
  ELSIF r.demand = 'green_and_negative_test' THEN
    last_negative := @extschema@._holder_last_negative(code, t);
    admit := last_negative IS NOT NULL
             AND last_negative >= t - make_interval(hours => r.negative_test_hours)
             AND last_negative <= t;
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) IS
  'Verifies a visitor''s code at a checkpoint of this region (checkpoint_verify, online by default) against its arrival rules, and says which rule decided. reason: a verify() reason, colour_changed, not_green, no_recent_negative_test (from the holder''s evidence where registered here, else their region''s digest) or ok; rule_id names the rule version in force that decided.';
REVOKE ALL ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz, boolean) TO healthcode_app, healthcode_operator, healthcode_verifier;
