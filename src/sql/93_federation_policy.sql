-- ---------------------------------------------------------------------------
-- Federation: national policy versions, down from the hub.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.policy_exchange (
  valid_from    timestamptz PRIMARY KEY,
  version       jsonb
);
COMMENT ON TABLE @extschema@.policy_exchange IS
  'The hub''s national policy versions (region 000000), as it publishes them: each arriving row becomes a national version in policy here, and the people governed are recalculated.';
COMMENT ON COLUMN @extschema@.policy_exchange.valid_from IS 'The version''s start.';
COMMENT ON COLUMN @extschema@.policy_exchange.version IS 'The policy row, as JSON.';

CREATE FUNCTION @extschema@._policy_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.region = '000000' AND OLD.valid_from > '-infinity' THEN
    DELETE FROM @extschema@.policy_exchange x WHERE x.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.region = '000000' AND NEW.valid_from > '-infinity' THEN
    INSERT INTO @extschema@.policy_exchange (valid_from, version)
    VALUES (NEW.valid_from, to_jsonb(NEW) - 'id' - 'created_at');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_to_exchange() IS
  'Trigger on the hub: its national policy versions (but the built-in default) go into policy_exchange, to be published.';
REVOKE ALL ON FUNCTION @extschema@._policy_to_exchange() FROM PUBLIC;
CREATE TRIGGER policy_to_exchange AFTER INSERT OR UPDATE OR DELETE ON @extschema@.policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_to_exchange();

CREATE FUNCTION @extschema@._policy_from_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.policy;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- only what the hub sends is applied
  END IF;
  IF @extschema@._sender_problem('000000') IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'national policy comes from the hub only',
                                CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM @extschema@.policy p WHERE p.region = '000000' AND p.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    BEGIN
      v := jsonb_populate_record(NULL::@extschema@.policy, NEW.version);
      INSERT INTO @extschema@.policy (region, valid_from, valid_until, lookback_days, quarantine_days_red,
             quarantine_days_yellow, red_release_negative_tests, negative_test_valid_hours, fever_celsius,
             vaccinated_min_doses, symptoms_yellow, periodic_testing, test_window, two_negatives_release_yellow,
             description_zh, description_en, max_code_lifetime, paper_code_lifetime,
             regional_lookback_limit_days, evidence_kept_days, max_dependants,
             holder_check_misses_per_day, holder_check_misses_per_hour, exposure_minutes, medicine_purchase_yellow)
      VALUES ('000000', NEW.valid_from, v.valid_until, v.lookback_days, v.quarantine_days_red,
             v.quarantine_days_yellow, v.red_release_negative_tests, v.negative_test_valid_hours, v.fever_celsius,
             v.vaccinated_min_doses, v.symptoms_yellow, v.periodic_testing, v.test_window,
             v.two_negatives_release_yellow, v.description_zh, v.description_en,
             -- (a hub of 0.2.0 sends neither: the defaults)
             COALESCE(v.max_code_lifetime, interval '5 minutes'), v.paper_code_lifetime,
             v.regional_lookback_limit_days, v.evidence_kept_days, COALESCE(v.max_dependants, 5),
             v.holder_check_misses_per_day, v.holder_check_misses_per_hour, COALESCE(v.exposure_minutes, 30),
             COALESCE(v.medicine_purchase_yellow, false));
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  -- the policy table's own trigger does not fire in the apply worker
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._recalc_changed('policy', NULL, ARRAY['000000'], 'national policy from the hub');
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national policy versions into versions here and recalculates everyone; a malformed one is logged and skipped.';
REVOKE ALL ON FUNCTION @extschema@._policy_from_exchange() FROM PUBLIC;
CREATE TRIGGER policy_from_exchange BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policy_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_from_exchange();
ALTER TABLE @extschema@.policy_exchange ENABLE ALWAYS TRIGGER policy_from_exchange;
