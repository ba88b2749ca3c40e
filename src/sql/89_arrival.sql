-- ---------------------------------------------------------------------------
-- Arrival rules: what a region asks of visitors' codes at its checkpoints.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.arrival_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  from_region   text NOT NULL CONSTRAINT from_region_is_division_code CHECK (@extschema@.division_code_valid(from_region)),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region)
);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours. The most specific rule for the checkpoint''s region and the code''s region decides; with none, a valid green code is enough.';
COMMENT ON COLUMN @extschema@.arrival_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.arrival_rule.region IS 'The visited region (covers the codes below it).';
COMMENT ON COLUMN @extschema@.arrival_rule.from_region IS 'The codes'' region it applies to (000000: all).';
COMMENT ON COLUMN @extschema@.arrival_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.arrival_rule.negative_test_hours IS 'How recent the negative test must be.';
COMMENT ON COLUMN @extschema@.arrival_rule.description IS 'The rule as a person reads it.';
COMMENT ON SEQUENCE @extschema@.arrival_rule_id_seq IS 'Ids of arrival rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule_id_seq', '');

CREATE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(),
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
  SELECT * INTO v FROM @extschema@.checkpoint_verify(code, checkpoint, t);
  colour := v.colour;
  code_region := v.region;
  SELECT * INTO r FROM @extschema@.arrival_rule a
   WHERE @extschema@.division_covers(a.region, checkpoint)
     AND @extschema@.division_covers(a.from_region, v.region)
   ORDER BY @extschema@.division_rank(a.region) DESC, @extschema@.division_rank(a.from_region) DESC
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
    SELECT d.last_negative_at INTO last_negative FROM @extschema@.status_digest d
     WHERE d.region = v.region AND d.subject = @extschema@.subject(code);
    admit := last_negative IS NOT NULL
             AND last_negative >= t - make_interval(hours => r.negative_test_hours)
             AND last_negative <= t;
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz) IS
  'Verifies a visitor''s code at a checkpoint of this region against its arrival rules, and says which rule decided. reason: a verify() reason, not_green, no_recent_negative_test (from the digests this node holds) or ok.';
REVOKE ALL ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz) TO healthcode_app, healthcode_operator, healthcode_verifier;
