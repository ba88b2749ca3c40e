-- ---------------------------------------------------------------------------
-- Issuer keys. The trust list is the public half of every key: what any
-- other region needs to verify our codes. Secret keys are stored only
-- sealed under the server key (healthcode.server_key_file), in a table no
-- role but the extension owner can read; the C code unseals them in locked
-- memory. A dump therefore holds sealed blobs, useless without the key file.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.public_key_id(public_key bytea) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_public_key_id'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.public_key_id(bytea) IS
  'Key id of an Ed25519 public key: the first 8 bytes of its SHA-256 (as the EU DCC kid).';

CREATE TABLE @extschema@.trust_list (
  key_id          bytea PRIMARY KEY
                  CONSTRAINT key_id_is_hash_of_public_key
                  CHECK (key_id = @extschema@.public_key_id(public_key)),
  region          @extschema@.division_code NOT NULL,
  public_key      bytea NOT NULL UNIQUE
                  CONSTRAINT public_key_is_ed25519
                  CHECK (pg_catalog.length(public_key) = 32),
  valid_from      timestamptz NOT NULL,
  valid_until     timestamptz NOT NULL,
  signing_until   timestamptz,
  status          text NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'retired', 'revoked')),
  revoked_at      timestamptz,
  revocation_reason text,
  created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT validity_is_finite_and_ordered
  CHECK (pg_catalog.isfinite(valid_from) AND pg_catalog.isfinite(valid_until)
         AND valid_until > valid_from),
  CONSTRAINT signing_within_validity
  CHECK (signing_until IS NULL OR signing_until >= valid_from),
  CONSTRAINT revoked_has_time
  CHECK ((status = 'revoked') = (revoked_at IS NOT NULL)),
  CONSTRAINT revoked_has_reason
  CHECK (status <> 'revoked' OR pg_catalog.length(revocation_reason) > 0),
  CONSTRAINT retired_has_signing_end
  CHECK (status <> 'retired' OR signing_until IS NOT NULL)
);
CREATE INDEX ON @extschema@.trust_list (region, valid_from);
COMMENT ON TABLE @extschema@.trust_list IS
  'Every issuer public key: region, key id, validity, status. The public, shareable half of the key store.';
COMMENT ON COLUMN @extschema@.trust_list.key_id IS 'First 8 bytes of SHA-256 of public_key.';
COMMENT ON COLUMN @extschema@.trust_list.region IS 'The region the key issues for; it also covers the regions below it (000000: the national issuer covers all).';
COMMENT ON COLUMN @extschema@.trust_list.valid_from IS 'Codes issued before this are not vouched for by this key.';
COMMENT ON COLUMN @extschema@.trust_list.valid_until IS 'End of the key''s validity: no code it signed verifies after this.';
COMMENT ON COLUMN @extschema@.trust_list.signing_until IS 'Set when the key is rotated out: codes issued after this are rejected (key_not_valid_at_issue); older codes still verify until valid_until.';
COMMENT ON COLUMN @extschema@.trust_list.status IS 'active (may sign), retired (rotated out; its codes verify), revoked (its codes never verify).';
COMMENT ON COLUMN @extschema@.trust_list.public_key IS 'The 32-byte Ed25519 public key that verifies the key''s codes; unique.';
COMMENT ON COLUMN @extschema@.trust_list.revoked_at IS 'When the key was revoked; set exactly when status is revoked.';
COMMENT ON COLUMN @extschema@.trust_list.revocation_reason IS 'Why the key was revoked; required when status is revoked.';
COMMENT ON COLUMN @extschema@.trust_list.created_at IS 'When the key was created (start of the creating transaction).';

CREATE TABLE @extschema@.issuer_key_secret (
  key_id  bytea PRIMARY KEY REFERENCES @extschema@.trust_list (key_id) ON DELETE CASCADE,
  sealed  bytea NOT NULL CHECK (pg_catalog.length(sealed) = 104)
);
COMMENT ON TABLE @extschema@.issuer_key_secret IS
  'Issuer secret keys, each sealed (XChaCha20-Poly1305, bound to key id and region) under the server key. No role can read it; pg_dump keeps the sealed form only.';
COMMENT ON COLUMN @extschema@.issuer_key_secret.key_id IS 'The key in trust_list; its secret is deleted when the key is revoked or deleted.';
COMMENT ON COLUMN @extschema@.issuer_key_secret.sealed IS 'The 64-byte Ed25519 secret key sealed under the server key: nonce (24 bytes), ciphertext (64), tag (16).';
REVOKE ALL ON @extschema@.trust_list, @extschema@.issuer_key_secret FROM PUBLIC;
GRANT SELECT ON @extschema@.trust_list TO PUBLIC;

-- Both tables are configuration: pg_dump keeps their rows (the secret ones
-- sealed), so a restore onto a server with the same key file can issue.
SELECT pg_catalog.pg_extension_config_dump('@extschema@.trust_list', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.issuer_key_secret', '');

-- Any change to the key tables invalidates every backend's key cache.
CREATE FUNCTION @extschema@._keys_changed() RETURNS trigger
  AS 'MODULE_PATHNAME', 'healthcode_keys_changed' LANGUAGE C;
COMMENT ON FUNCTION @extschema@._keys_changed() IS
  'Trigger: sends a relcache invalidation of its table, so that every backend reloads the trust list (and wipes unsealed secrets), the revocation list or the division names it cached.';
REVOKE ALL ON FUNCTION @extschema@._keys_changed() FROM PUBLIC;
CREATE TRIGGER keys_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.trust_list
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();
CREATE TRIGGER keys_changed
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.issuer_key_secret
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();

-- A key's identity never changes: public key, id and region are fixed,
-- validity only shrinks, and revocation is final.
CREATE FUNCTION @extschema@._trust_list_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF NEW.key_id <> OLD.key_id OR NEW.public_key <> OLD.public_key
     OR NEW.region::text <> OLD.region::text OR NEW.valid_from <> OLD.valid_from THEN
    RAISE EXCEPTION 'the key id, public key, region and valid_from of an issuer key are immutable'
      USING ERRCODE = '55000';
  END IF;
  IF NEW.valid_until > OLD.valid_until THEN
    RAISE EXCEPTION 'the validity of an issuer key cannot be extended'
      USING ERRCODE = '55000', HINT = 'Create a new key instead.';
  END IF;
  IF OLD.status = 'revoked' AND NEW.status <> 'revoked' THEN
    RAISE EXCEPTION 'a revoked issuer key cannot be reinstated' USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._trust_list_guard() IS
  'Trigger: keeps an issuer key''s identity immutable and its revocation final.';
REVOKE ALL ON FUNCTION @extschema@._trust_list_guard() FROM PUBLIC;
CREATE TRIGGER trust_list_guard BEFORE UPDATE ON @extschema@.trust_list
  FOR EACH ROW EXECUTE FUNCTION @extschema@._trust_list_guard();

CREATE FUNCTION @extschema@._new_issuer_key(region text,
    OUT key_id bytea, OUT public_key bytea, OUT sealed_secret bytea)
  AS 'MODULE_PATHNAME', 'healthcode_new_issuer_key'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._new_issuer_key(text) IS
  'Internal: generates an Ed25519 key pair and returns its id, public key and the secret sealed under the server key.';
REVOKE ALL ON FUNCTION @extschema@._new_issuer_key(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.create_key(
    region text,
    valid_from timestamptz DEFAULT pg_catalog.now(),
    valid_until timestamptz DEFAULT pg_catalog.now() + interval '1 year')
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k record;
BEGIN
  IF region IS NULL OR NOT @extschema@.division_code_valid(region) THEN
    RAISE EXCEPTION 'invalid division code for region: "%"', region USING ERRCODE = '22023';
  END IF;
  IF valid_from IS NULL OR valid_until IS NULL OR NOT isfinite(valid_from)
     OR NOT isfinite(valid_until) OR valid_until <= valid_from THEN
    RAISE EXCEPTION 'an issuer key needs finite validity with valid_until after valid_from'
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO STRICT k FROM @extschema@._new_issuer_key(region);
  INSERT INTO @extschema@.trust_list (key_id, region, public_key, valid_from, valid_until)
    VALUES (k.key_id, region, k.public_key, valid_from, valid_until);
  INSERT INTO @extschema@.issuer_key_secret (key_id, sealed) VALUES (k.key_id, k.sealed_secret);
  RETURN k.key_id;
END $$;
COMMENT ON FUNCTION @extschema@.create_key(text, timestamptz, timestamptz) IS
  'Creates an issuer key for a region and returns its key id. Needs the server key file.';
REVOKE ALL ON FUNCTION @extschema@.create_key(text, timestamptz, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_key(text, timestamptz, timestamptz) TO healthcode_admin;

CREATE FUNCTION @extschema@.rotate_key(
    region text,
    valid_until timestamptz DEFAULT pg_catalog.now() + interval '1 year')
RETURNS bytea
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  new_id bytea;
BEGIN
  -- the new key exists before the old one stops signing: no gap
  new_id := @extschema@.create_key(region, now(), valid_until);
  UPDATE @extschema@.trust_list t
     SET status = 'retired', signing_until = now()
   WHERE t.region::text = rotate_key.region AND t.status = 'active' AND t.key_id <> new_id;
  RETURN new_id;
END $$;
COMMENT ON FUNCTION @extschema@.rotate_key(text, timestamptz) IS
  'Creates a new signing key for a region and retires the old ones: they sign nothing more, but codes they signed verify until their valid_until.';
REVOKE ALL ON FUNCTION @extschema@.rotate_key(text, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.rotate_key(text, timestamptz) TO healthcode_admin;

CREATE FUNCTION @extschema@.revoke_key(key_id bytea, reason text)
RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF reason IS NULL OR length(btrim(reason)) = 0 THEN
    RAISE EXCEPTION 'revoking an issuer key needs a reason' USING ERRCODE = '22023';
  END IF;
  UPDATE @extschema@.trust_list t
     SET status = 'revoked', revoked_at = now(), revocation_reason = reason,
         signing_until = coalesce(t.signing_until, now())
   WHERE t.key_id = revoke_key.key_id AND t.status <> 'revoked';
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM @extschema@.trust_list t WHERE t.key_id = revoke_key.key_id) THEN
      RAISE EXCEPTION 'issuer key % is already revoked', encode(key_id, 'hex') USING ERRCODE = '55000';
    END IF;
    RAISE EXCEPTION 'no issuer key %', encode(key_id, 'hex') USING ERRCODE = 'P0002';
  END IF;
  -- the secret of a revoked key has no further use
  DELETE FROM @extschema@.issuer_key_secret s WHERE s.key_id = revoke_key.key_id;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(bytea, text) IS
  'Revokes an issuer key: every code it signed stops verifying (reason key_revoked) and its sealed secret is destroyed.';
REVOKE ALL ON FUNCTION @extschema@.revoke_key(bytea, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_key(bytea, text) TO healthcode_admin;

