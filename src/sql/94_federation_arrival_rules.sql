-- ---------------------------------------------------------------------------
-- Federation: national arrival rules, down from the hub. A national rule
-- (arrival_rule.region 000000) is the hub's to write; the hub publishes its
-- versions in arrival_rule_exchange, keyed by what names a rule version on
-- every node (the codes' region it applies to and its valid_from: row ids
-- are each node's own), and a region node turns each arriving row into a
-- national rule of its own. A region node's own rules stay local.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.arrival_rule_exchange (
  from_region   text NOT NULL,
  valid_from    timestamptz NOT NULL,
  rule          jsonb,
  CONSTRAINT arrival_rule_exchange_pkey PRIMARY KEY (from_region, valid_from)
);
COMMENT ON TABLE @extschema@.arrival_rule_exchange IS
  'The hub''s national arrival rule versions (arrival_rule.region 000000), as it publishes them: each arriving row becomes a national rule version in arrival_rule on a region node.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.from_region IS 'The codes'' region the rule applies to.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.valid_from IS 'The version''s start.';
COMMENT ON COLUMN @extschema@.arrival_rule_exchange.rule IS 'The rule row, as JSON (without this node''s id).';

CREATE FUNCTION @extschema@._arrival_rule_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.region = '000000' THEN
    DELETE FROM @extschema@.arrival_rule_exchange x
     WHERE x.from_region = OLD.from_region AND x.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.region = '000000' THEN
    INSERT INTO @extschema@.arrival_rule_exchange (from_region, valid_from, rule)
    VALUES (NEW.from_region, NEW.valid_from, to_jsonb(NEW) - 'id');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._arrival_rule_to_exchange() IS
  'Trigger on the hub: its national arrival rule versions go into arrival_rule_exchange, to be published.';
REVOKE ALL ON FUNCTION @extschema@._arrival_rule_to_exchange() FROM PUBLIC;
CREATE TRIGGER arrival_rule_to_exchange AFTER INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule
  FOR EACH ROW EXECUTE FUNCTION @extschema@._arrival_rule_to_exchange();

-- On a region node a national rule is the hub's: written here, it would
-- differ from every other region's and be overwritten by the next version
-- the hub sends. (The apply worker's writes, below, fire no such trigger.)
CREATE FUNCTION @extschema@._national_arrival_rule_guard() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'region')
     AND ((TG_OP <> 'INSERT' AND OLD.region = '000000') OR (TG_OP <> 'DELETE' AND NEW.region = '000000')) THEN
    RAISE EXCEPTION 'national arrival rules come from the hub' USING ERRCODE = '42501',
      DETAIL = 'This node is a region node; the hub writes rules for region 000000 and publishes them to every region.',
      HINT = 'Write a rule for one of this node''s regions instead.';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._national_arrival_rule_guard() IS
  'Trigger on a region node: refuses local writes of national arrival rules (region 000000), which come from the hub.';
REVOKE ALL ON FUNCTION @extschema@._national_arrival_rule_guard() FROM PUBLIC;
CREATE TRIGGER national_arrival_rule_guard BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule
  FOR EACH ROW EXECUTE FUNCTION @extschema@._national_arrival_rule_guard();

CREATE FUNCTION @extschema@._arrival_rule_from_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.arrival_rule;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- only what the hub sends is applied
  END IF;
  IF @extschema@._sender_problem('000000') IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'national arrival rules come from the hub only',
                                CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM @extschema@.arrival_rule a
     WHERE a.region = '000000' AND a.from_region = OLD.from_region AND a.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    BEGIN
      r := jsonb_populate_record(NULL::@extschema@.arrival_rule, NEW.rule);
      INSERT INTO @extschema@.arrival_rule (region, from_region, demand, negative_test_hours, description,
                                            valid_from, valid_until, min_doses)
      VALUES ('000000', NEW.from_region, r.demand, r.negative_test_hours, r.description,
              NEW.valid_from, r.valid_until, r.min_doses)
      ON CONFLICT ON CONSTRAINT arrival_rule_natural_key DO UPDATE
        SET demand = EXCLUDED.demand, negative_test_hours = EXCLUDED.negative_test_hours,
            description = EXCLUDED.description, valid_until = EXCLUDED.valid_until,
            min_doses = EXCLUDED.min_doses;
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._arrival_rule_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national arrival rule versions into national rules here; a malformed one, or one not from the hub, is logged and skipped.';
REVOKE ALL ON FUNCTION @extschema@._arrival_rule_from_exchange() FROM PUBLIC;
CREATE TRIGGER arrival_rule_from_exchange BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.arrival_rule_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._arrival_rule_from_exchange();
ALTER TABLE @extschema@.arrival_rule_exchange ENABLE ALWAYS TRIGGER arrival_rule_from_exchange;
