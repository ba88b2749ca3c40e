-- healthcode install script, assembled by the Makefile from src/sql/*.sql.
\echo Use "CREATE EXTENSION healthcode" to load this file. \quit
-- ---------------------------------------------------------------------------
-- The healthcode type: a signed, versioned record. Input parses structure
-- only (prefix, base45, length, version, region, colour, times); verify()
-- judges the signature and the keys.
-- ---------------------------------------------------------------------------

-- Everyone may use the type, verify codes and read the trust list; what
-- needs more (keys, issuing, pseudonyms) is revoked from PUBLIC below.
GRANT USAGE ON SCHEMA @extschema@ TO PUBLIC;

CREATE TYPE @extschema@.risk_colour AS ENUM ('green', 'yellow', 'red');
COMMENT ON TYPE @extschema@.risk_colour IS
  'Infection-risk colour of a health code, ordered green < yellow < red.';

CREATE FUNCTION @extschema@.division_code_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_division_code_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.division_code_valid(text) IS
  'True for a six-digit GB/T 2260 administrative division code (000000 is the national issuer). Never raises an error.';

CREATE DOMAIN @extschema@.division_code AS text
  CHECK (@extschema@.division_code_valid(VALUE));
COMMENT ON DOMAIN @extschema@.division_code IS
  'Six-digit administrative division code: 330000 a province, 330100 a city in it, 330106 a district; 000000 national.';

CREATE TYPE @extschema@.healthcode;

CREATE FUNCTION @extschema@.healthcode_in(cstring) RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.healthcode_out(@extschema@.healthcode) RETURNS cstring
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.healthcode_recv(internal) RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.healthcode_send(@extschema@.healthcode) RETURNS bytea
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE @extschema@.healthcode (
  INPUT = @extschema@.healthcode_in,
  OUTPUT = @extschema@.healthcode_out,
  RECEIVE = @extschema@.healthcode_recv,
  SEND = @extschema@.healthcode_send,
  INTERNALLENGTH = VARIABLE,
  STORAGE = main          -- about 100 bytes: never worth compressing or moving out of line
);
COMMENT ON TYPE @extschema@.healthcode IS
  'A signed health code. Text form: "HCN:" + RFC 9285 base45 of the payload (QR alphanumeric set); binary form: the payload, starting with its format-version byte.';

COMMENT ON FUNCTION @extschema@.healthcode_in(cstring) IS 'Text input of healthcode (structure only, no signature check).';
COMMENT ON FUNCTION @extschema@.healthcode_out(@extschema@.healthcode) IS 'Text output of healthcode.';
COMMENT ON FUNCTION @extschema@.healthcode_recv(internal) IS 'Binary input of healthcode, validated as text input is.';
COMMENT ON FUNCTION @extschema@.healthcode_send(@extschema@.healthcode) IS 'Binary output of healthcode: the payload.';

-- casts to and from bytea (the payload bytes)
CREATE FUNCTION @extschema@.healthcode(bytea) RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME', 'healthcode_from_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.healthcode(bytea) IS
  'Cast from the payload bytes; validated exactly as text input (22P02 when malformed).';
CREATE FUNCTION @extschema@.bytea(@extschema@.healthcode) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_to_bytea' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.bytea(@extschema@.healthcode) IS 'Cast to the payload bytes.';
CREATE CAST (bytea AS @extschema@.healthcode) WITH FUNCTION @extschema@.healthcode(bytea);
CREATE CAST (@extschema@.healthcode AS bytea) WITH FUNCTION @extschema@.bytea(@extschema@.healthcode);

-- comparison: bytewise, so "equal" means "the same signed code"
CREATE FUNCTION @extschema@.healthcode_eq(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_ne(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_lt(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_le(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_gt(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_ge(@extschema@.healthcode, @extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_cmp(@extschema@.healthcode, @extschema@.healthcode) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_hash(@extschema@.healthcode) RETURNS integer
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION @extschema@.healthcode_hash_extended(@extschema@.healthcode, bigint) RETURNS bigint
  AS 'MODULE_PATHNAME' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.healthcode_eq(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for =.';
COMMENT ON FUNCTION @extschema@.healthcode_ne(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for <>.';
COMMENT ON FUNCTION @extschema@.healthcode_lt(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for < (bytewise order of payloads).';
COMMENT ON FUNCTION @extschema@.healthcode_le(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for <=.';
COMMENT ON FUNCTION @extschema@.healthcode_gt(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for >.';
COMMENT ON FUNCTION @extschema@.healthcode_ge(@extschema@.healthcode, @extschema@.healthcode) IS 'Support for >=.';
COMMENT ON FUNCTION @extschema@.healthcode_cmp(@extschema@.healthcode, @extschema@.healthcode) IS 'Btree support: -1, 0 or 1.';
COMMENT ON FUNCTION @extschema@.healthcode_hash(@extschema@.healthcode) IS 'Hash support (hash joins, hash indexes).';
COMMENT ON FUNCTION @extschema@.healthcode_hash_extended(@extschema@.healthcode, bigint) IS 'Seeded hash support (hash partitioning).';

CREATE OPERATOR @extschema@.= (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_eq, COMMUTATOR = OPERATOR(@extschema@.=),
  NEGATOR = OPERATOR(@extschema@.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
  HASHES, MERGES);
CREATE OPERATOR @extschema@.<> (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_ne, COMMUTATOR = OPERATOR(@extschema@.<>),
  NEGATOR = OPERATOR(@extschema@.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR @extschema@.< (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_lt, COMMUTATOR = OPERATOR(@extschema@.>),
  NEGATOR = OPERATOR(@extschema@.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR @extschema@.<= (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_le, COMMUTATOR = OPERATOR(@extschema@.>=),
  NEGATOR = OPERATOR(@extschema@.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR @extschema@.> (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_gt, COMMUTATOR = OPERATOR(@extschema@.<),
  NEGATOR = OPERATOR(@extschema@.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
CREATE OPERATOR @extschema@.>= (
  LEFTARG = @extschema@.healthcode, RIGHTARG = @extschema@.healthcode,
  FUNCTION = @extschema@.healthcode_ge, COMMUTATOR = OPERATOR(@extschema@.<=),
  NEGATOR = OPERATOR(@extschema@.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);

CREATE OPERATOR CLASS @extschema@.healthcode_ops
  DEFAULT FOR TYPE @extschema@.healthcode USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.healthcode_cmp(@extschema@.healthcode, @extschema@.healthcode);

CREATE OPERATOR CLASS @extschema@.healthcode_hash_ops
  DEFAULT FOR TYPE @extschema@.healthcode USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.healthcode_hash(@extschema@.healthcode),
    FUNCTION 2 @extschema@.healthcode_hash_extended(@extschema@.healthcode, bigint);

-- accessors, one per field
CREATE FUNCTION @extschema@.format_version(@extschema@.healthcode) RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_format_version' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.region(@extschema@.healthcode) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_region' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.subject(@extschema@.healthcode) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_subject' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.colour(@extschema@.healthcode) RETURNS @extschema@.risk_colour
  AS 'MODULE_PATHNAME', 'healthcode_colour' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.issued_at(@extschema@.healthcode) RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'healthcode_issued_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.expires_at(@extschema@.healthcode) RETURNS timestamptz
  AS 'MODULE_PATHNAME', 'healthcode_expires_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.key_id(@extschema@.healthcode) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_key_id' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.vaccinated(@extschema@.healthcode) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_vaccinated' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION @extschema@.signature(@extschema@.healthcode) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_signature' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.format_version(@extschema@.healthcode) IS 'Payload format version (1).';
COMMENT ON FUNCTION @extschema@.region(@extschema@.healthcode) IS 'Issuing region: six-digit division code.';
COMMENT ON FUNCTION @extschema@.subject(@extschema@.healthcode) IS 'Subject pseudonym: 16-byte keyed hash of the person''s identifier.';
COMMENT ON FUNCTION @extschema@.colour(@extschema@.healthcode) IS 'Colour carried by the code (not judged: see verify).';
COMMENT ON FUNCTION @extschema@.issued_at(@extschema@.healthcode) IS 'When the code was signed (whole seconds).';
COMMENT ON FUNCTION @extschema@.expires_at(@extschema@.healthcode) IS 'When the code stops being valid (whole seconds).';
COMMENT ON FUNCTION @extschema@.key_id(@extschema@.healthcode) IS 'Id of the signing key: first 8 bytes of SHA-256 of its public key.';
COMMENT ON FUNCTION @extschema@.vaccinated(@extschema@.healthcode) IS 'The "vaccinated" mark shown on the code.';
COMMENT ON FUNCTION @extschema@.signature(@extschema@.healthcode) IS 'The 64-byte Ed25519 signature over the rest of the payload.';
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

CREATE TABLE @extschema@.issuer_key_secret (
  key_id  bytea PRIMARY KEY REFERENCES @extschema@.trust_list (key_id) ON DELETE CASCADE,
  sealed  bytea NOT NULL CHECK (pg_catalog.length(sealed) = 104)
);
COMMENT ON TABLE @extschema@.issuer_key_secret IS
  'Issuer secret keys, each sealed (XChaCha20-Poly1305, bound to key id and region) under the server key. No role can read it; pg_dump keeps the sealed form only.';
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
  'Trigger: sends a relcache invalidation so every backend reloads the trust list and wipes unsealed secrets.';
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
      USING ERRCODE = '22023';
  END IF;
  IF NEW.valid_until > OLD.valid_until THEN
    RAISE EXCEPTION 'the validity of an issuer key cannot be extended'
      USING ERRCODE = '22023', HINT = 'Create a new key instead.';
  END IF;
  IF OLD.status = 'revoked' AND NEW.status <> 'revoked' THEN
    RAISE EXCEPTION 'a revoked issuer key cannot be reinstated' USING ERRCODE = '22023';
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._trust_list_guard() IS
  'Trigger: keeps an issuer key''s identity immutable and its revocation final.';
CREATE TRIGGER trust_list_guard BEFORE UPDATE ON @extschema@.trust_list
  FOR EACH ROW EXECUTE FUNCTION @extschema@._trust_list_guard();

CREATE FUNCTION @extschema@._new_issuer_key(region text,
    OUT key_id bytea, OUT public_key bytea, OUT sealed_secret bytea)
  AS 'MODULE_PATHNAME', 'healthcode_new_issuer_key'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._new_issuer_key(text) IS
  'Internal: generates an Ed25519 key pair and returns its id, public key and the secret sealed under the server key.';

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
      RAISE EXCEPTION 'issuer key % is already revoked', encode(key_id, 'hex') USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION 'no issuer key %', encode(key_id, 'hex') USING ERRCODE = '22023';
  END IF;
  -- the secret of a revoked key has no further use
  DELETE FROM @extschema@.issuer_key_secret s WHERE s.key_id = revoke_key.key_id;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_key(bytea, text) IS
  'Revokes an issuer key: every code it signed stops verifying (reason key_revoked) and its sealed secret is destroyed.';

REVOKE ALL ON FUNCTION @extschema@._new_issuer_key(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.create_key(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.rotate_key(text, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.revoke_key(bytea, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._keys_changed() FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@._trust_list_guard() FROM PUBLIC;
-- ---------------------------------------------------------------------------
-- Pseudonyms, issuing and verifying codes.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.pseudonym(identifier text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_pseudonym'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.pseudonym(text) IS
  'The 16-byte subject pseudonym of an identifier: keyed BLAKE2b under a key derived from the server key. The identifier itself is never stored in a code.';

CREATE FUNCTION @extschema@.issue(
    region text,
    subject bytea,
    colour @extschema@.risk_colour,
    valid_for interval DEFAULT interval '5 minutes',
    vaccinated boolean DEFAULT false)
RETURNS @extschema@.healthcode
  AS 'MODULE_PATHNAME', 'healthcode_issue'
  LANGUAGE C VOLATILE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.issue(text, bytea, @extschema@.risk_colour, interval, boolean) IS
  'Signs a code for a subject pseudonym with the active key of the region (or of the nearest region above it that has one: city, province, national). issued_at is the statement''s start time (whole seconds); expires_at is issued_at + valid_for, capped by the key''s valid_until.';

CREATE FUNCTION @extschema@.verify(
    code @extschema@.healthcode,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT valid boolean,
    OUT colour @extschema@.risk_colour,
    OUT region text,
    OUT issued_at timestamptz,
    OUT expires_at timestamptz,
    OUT key_id bytea,
    OUT reason text,
    OUT vaccinated boolean)
RETURNS record
  AS 'MODULE_PATHNAME', 'healthcode_verify'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.verify(@extschema@.healthcode, timestamptz) IS
  'Judges a code at a time against the trust list. reason is one of: ok, unknown_key, bad_signature, region_mismatch, key_revoked, key_not_valid_at_issue, key_expired, not_yet_valid, expired (checked in that order).';

-- The documented set of verify() reasons, for applications and tests.
CREATE TABLE @extschema@.verify_reason (
  reason      text PRIMARY KEY,
  check_order integer NOT NULL UNIQUE,
  description text NOT NULL
);
INSERT INTO @extschema@.verify_reason VALUES
  ('ok',                     9, 'The signature is good, the key is trusted and the code is within its validity.'),
  ('unknown_key',            1, 'No key with the code''s key id is on the trust list.'),
  ('bad_signature',          2, 'The signature does not match the payload under the listed key: the code was altered or forged.'),
  ('region_mismatch',        3, 'The key''s region does not cover the region the code claims.'),
  ('key_revoked',            4, 'The signing key has been revoked.'),
  ('key_not_valid_at_issue', 5, 'The code claims an issue time outside the key''s signing window.'),
  ('key_expired',            6, 'The signing key''s validity has ended.'),
  ('not_yet_valid',          7, 'issued_at lies in the future beyond healthcode.clock_skew.'),
  ('expired',                8, 'The code''s expires_at has passed.');
COMMENT ON TABLE @extschema@.verify_reason IS 'Every reason verify() can return, in the order it checks them.';
REVOKE ALL ON @extschema@.verify_reason FROM PUBLIC;
GRANT SELECT ON @extschema@.verify_reason TO PUBLIC;

REVOKE ALL ON FUNCTION @extschema@.pseudonym(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION @extschema@.issue(text, bytea, @extschema@.risk_colour, interval, boolean) FROM PUBLIC;
-- ---------------------------------------------------------------------------
-- QR images of a code. The text form is all in the QR alphanumeric set, so
-- the symbol uses alphanumeric mode. A 4-module quiet zone is included.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.qr_svg(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_qr_svg'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_svg(@extschema@.healthcode, text, integer) IS
  'The code as an SVG QR symbol; ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE FUNCTION @extschema@.qr_png(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', module_size integer DEFAULT 4)
RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_qr_png'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_png(@extschema@.healthcode, text, integer) IS
  'The code as a 1-bit greyscale PNG QR symbol; ec_level L, M (default), Q or H; module_size in pixels (1-64).';

CREATE FUNCTION @extschema@.qr_terminal(code @extschema@.healthcode,
    ec_level text DEFAULT 'M', invert boolean DEFAULT false)
RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_qr_terminal'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@.qr_terminal(@extschema@.healthcode, text, boolean) IS
  'The code as UTF-8 half blocks for a terminal (two module rows a line). Drawn for a dark terminal; invert for a light one.';
