-- ---------------------------------------------------------------------------
-- Federation: issuer public keys and code revocations, up from each region
-- and down from the hub.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.key_exchange (
  key_id        bytea PRIMARY KEY,
  region        text,
  public_key    bytea,
  valid_from    timestamptz,
  valid_until   timestamptz,
  signing_until timestamptz,
  status        text,
  revoked_at    timestamptz,
  revocation_reason text,
  from_node     text
);
ALTER TABLE @extschema@.key_exchange REPLICA IDENTITY FULL;
COMMENT ON TABLE @extschema@.key_exchange IS
  'The national trust list as exchanged between nodes: this node''s issuer keys (copied from trust_list) and every other node''s (received). verify() trusts these as well as trust_list, the stricter of the two where both know a key. Checked row by row on arrival; never deleted.';
COMMENT ON COLUMN @extschema@.key_exchange.key_id IS 'First 8 bytes of SHA-256 of public_key.';
COMMENT ON COLUMN @extschema@.key_exchange.region IS 'The region the key issues for.';
COMMENT ON COLUMN @extschema@.key_exchange.public_key IS 'The Ed25519 public key.';
COMMENT ON COLUMN @extschema@.key_exchange.valid_from IS 'Start of the key''s validity.';
COMMENT ON COLUMN @extschema@.key_exchange.valid_until IS 'End of the key''s validity.';
COMMENT ON COLUMN @extschema@.key_exchange.signing_until IS 'When it stopped signing (rotated out), if it did.';
COMMENT ON COLUMN @extschema@.key_exchange.status IS 'active, retired or revoked.';
COMMENT ON COLUMN @extschema@.key_exchange.revoked_at IS 'When it was revoked.';
COMMENT ON COLUMN @extschema@.key_exchange.revocation_reason IS 'Why.';
COMMENT ON COLUMN @extschema@.key_exchange.from_node IS 'The node that made the key.';

-- What is wrong with a key row, or NULL.
CREATE FUNCTION @extschema@._key_row_problem(k @extschema@.key_exchange) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE
  WHEN k.public_key IS NULL OR pg_catalog.length(k.public_key) OPERATOR(pg_catalog.<>) 32
    THEN 'public_key is not a 32-byte Ed25519 key'
  WHEN k.key_id IS DISTINCT FROM @extschema@.public_key_id(k.public_key)
    THEN 'key_id is not the hash of public_key'
  WHEN k.region IS NULL OR NOT @extschema@.division_code_valid(k.region)
    THEN 'region is not a division code'
  WHEN k.valid_from IS NULL OR k.valid_until IS NULL OR NOT pg_catalog.isfinite(k.valid_from)
       OR NOT pg_catalog.isfinite(k.valid_until) OR k.valid_until OPERATOR(pg_catalog.<=) k.valid_from
    THEN 'validity is missing, infinite or inverted'
  WHEN k.status IS NULL OR k.status NOT IN ('active', 'retired', 'revoked')
    THEN 'status is not active, retired or revoked'
  WHEN (k.status OPERATOR(pg_catalog.=) 'revoked') IS DISTINCT FROM (k.revoked_at IS NOT NULL)
    THEN 'revoked_at does not match status'
  END;
COMMENT ON FUNCTION @extschema@._key_row_problem(@extschema@.key_exchange) IS
  'Internal: why a key row cannot be trusted, or NULL when it is well-formed.';
REVOKE ALL ON FUNCTION @extschema@._key_row_problem(@extschema@.key_exchange) FROM PUBLIC;

CREATE FUNCTION @extschema@._key_exchange_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  problem text;
  old_row @extschema@.key_exchange;
BEGIN
  IF TG_OP = 'DELETE' THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'keys are never removed from the trust list', to_jsonb(OLD));
    RETURN NULL;
  END IF;
  problem := COALESCE(@extschema@._key_row_problem(NEW), @extschema@._sender_problem(NEW.region));
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.key_exchange x WHERE x.key_id = NEW.key_id;
    IF NOT FOUND THEN
      RETURN NEW;
    END IF;
  ELSE
    old_row := OLD;
  END IF;
  -- a key's identity never changes; its news only ever get stricter
  IF NEW.public_key <> old_row.public_key OR NEW.region <> old_row.region OR NEW.valid_from <> old_row.valid_from THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'a key''s public key, region and start cannot change', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  NEW.valid_until := LEAST(NEW.valid_until, old_row.valid_until);
  NEW.signing_until := LEAST(NEW.signing_until, old_row.signing_until);
  IF old_row.status = 'revoked' THEN
    NEW.status := 'revoked';
    NEW.revoked_at := old_row.revoked_at;
    NEW.revocation_reason := old_row.revocation_reason;
  ELSIF old_row.status = 'retired' AND NEW.status = 'active' THEN
    NEW.status := 'retired';
  END IF;
  NEW.from_node := COALESCE(old_row.from_node, NEW.from_node);
  IF to_jsonb(NEW) = to_jsonb(old_row) THEN
    RETURN NULL;                -- nothing new: write nothing, send nothing on
  END IF;
  IF TG_OP = 'INSERT' THEN
    UPDATE @extschema@.key_exchange x
       SET valid_until = NEW.valid_until, signing_until = NEW.signing_until, status = NEW.status,
           revoked_at = NEW.revoked_at, revocation_reason = NEW.revocation_reason
     WHERE x.key_id = NEW.key_id;
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._key_exchange_check() IS
  'Trigger (also on replicated rows): refuses malformed keys and deletions (logged, skipped), turns a known key into an update that can only make it stricter, and skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._key_exchange_check() FROM PUBLIC;
CREATE TRIGGER key_exchange_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.key_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._key_exchange_check();
ALTER TABLE @extschema@.key_exchange ENABLE ALWAYS TRIGGER key_exchange_check;
-- every backend reloads its trust list when keys arrive (row trigger: the
-- apply worker fires no statement trigger)
CREATE TRIGGER key_exchange_changed AFTER INSERT OR UPDATE ON @extschema@.key_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._keys_changed();
ALTER TABLE @extschema@.key_exchange ENABLE ALWAYS TRIGGER key_exchange_changed;

-- This node's own keys go into the exchange as they are made, rotated and revoked.
CREATE FUNCTION @extschema@._trust_list_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.key_exchange
         (key_id, region, public_key, valid_from, valid_until, signing_until, status, revoked_at,
          revocation_reason, from_node)
  VALUES (NEW.key_id, NEW.region, NEW.public_key, NEW.valid_from, NEW.valid_until, NEW.signing_until,
          NEW.status, NEW.revoked_at, NEW.revocation_reason,
          COALESCE((SELECT n.name FROM @extschema@.node n), 'local'));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._trust_list_to_exchange() IS
  'Trigger: copies this node''s issuer keys (public halves) into key_exchange, to be published.';
REVOKE ALL ON FUNCTION @extschema@._trust_list_to_exchange() FROM PUBLIC;
CREATE TRIGGER trust_list_to_exchange AFTER INSERT OR UPDATE ON @extschema@.trust_list
  FOR EACH ROW EXECUTE FUNCTION @extschema@._trust_list_to_exchange();
-- keys made before this version (an update from 0.1.0)
INSERT INTO @extschema@.key_exchange
       (key_id, region, public_key, valid_from, valid_until, signing_until, status, revoked_at, revocation_reason, from_node)
SELECT t.key_id, t.region, t.public_key, t.valid_from, t.valid_until, t.signing_until, t.status, t.revoked_at,
       t.revocation_reason, 'local'
  FROM @extschema@.trust_list t;

-- ---- code revocations ----------------------------------------------------------------
-- code_revocation (74_revocations.sql) is exchanged as it is: each region
-- publishes its own rows, the hub every region's. A row from another node
-- is checked here first, since one that broke a constraint would stall
-- the subscription: a node speaks for its own regions only, a malformed
-- row is logged and skipped, a known hash becomes an update (the later
-- revoked_at and expiry win), and what changes nothing is skipped, which
-- ends loops.
-- (publications filter it by region: an update or delete must carry the
-- region, so the whole old row is the replica identity)
ALTER TABLE @extschema@.code_revocation REPLICA IDENTITY FULL;

CREATE FUNCTION @extschema@._revocation_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.code_revocation;
  problem text;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
  END IF;
  problem := @extschema@._sender_problem(CASE TG_OP WHEN 'INSERT' THEN NEW.region ELSE OLD.region END);
  IF problem IS NULL AND TG_OP = 'UPDATE' THEN
    problem := @extschema@._sender_problem(NEW.region);
  END IF;
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    RETURN OLD;
  END IF;
  IF NEW.hash IS NULL OR length(NEW.hash) <> 16 OR NEW.kind IS NULL OR NEW.kind NOT IN ('code', 'subject')
     OR NOT coalesce(@extschema@.division_code_valid(NEW.region), false)
     OR NEW.revoked_at IS NULL OR NEW.expires_at IS NULL OR NEW.revoked_by IS NULL
     OR length(btrim(coalesce(NEW.reason, ''))) = 0 THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME,
      'a revocation needs a 16-byte hash, a kind (code or subject), a region, times, a reason and who', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.code_revocation r WHERE r.hash = NEW.hash;
    IF FOUND THEN
      IF NEW.revoked_at > old_row.revoked_at OR NEW.expires_at > old_row.expires_at THEN
        UPDATE @extschema@.code_revocation r
           SET revoked_at = greatest(r.revoked_at, NEW.revoked_at), expires_at = greatest(r.expires_at, NEW.expires_at),
               reason = NEW.reason, revoked_by = NEW.revoked_by
         WHERE r.hash = NEW.hash;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF to_jsonb(NEW) = to_jsonb(OLD) THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._revocation_check() IS
  'Trigger (also on replicated rows): skips revocations of regions the sending node does not serve and malformed ones (logged), turns a known hash into an update, skips what changes nothing.';
REVOKE ALL ON FUNCTION @extschema@._revocation_check() FROM PUBLIC;
CREATE TRIGGER revocation_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.code_revocation
  FOR EACH ROW EXECUTE FUNCTION @extschema@._revocation_check();
ALTER TABLE @extschema@.code_revocation ENABLE ALWAYS TRIGGER revocation_check;
-- (the statement trigger that tells every backend fires for the apply
-- worker's changes too)
ALTER TABLE @extschema@.code_revocation ENABLE ALWAYS TRIGGER code_revocation_changed;
