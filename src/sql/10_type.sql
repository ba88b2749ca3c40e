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

CREATE FUNCTION @extschema@.place_code_valid(text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_place_code_valid'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@.place_code_valid(text) IS
  'True for a place code: a division other than the nation (330106), a township or street below it (330106001: nine digits) or a village or community (330106001001: twelve). Never raises an error.';

CREATE FUNCTION @extschema@._place_code_problem(text) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_place_code_problem'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._place_code_problem(text) IS
  'Internal: what is wrong with a text as a place code, NULL for a valid one.';
REVOKE ALL ON FUNCTION @extschema@._place_code_problem(text) FROM PUBLIC;

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
COMMENT ON CAST (bytea AS @extschema@.healthcode) IS
  'The payload bytes as a code, validated exactly as text input (22P02 when malformed).';
COMMENT ON CAST (@extschema@.healthcode AS bytea) IS
  'A code''s payload bytes: its binary form, starting with the format-version byte.';

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
COMMENT ON OPERATOR @extschema@.= (@extschema@.healthcode, @extschema@.healthcode) IS
  'Equal: the same signed code, byte for byte.';
COMMENT ON OPERATOR @extschema@.<> (@extschema@.healthcode, @extschema@.healthcode) IS
  'Not equal: the payloads differ in some byte.';
COMMENT ON OPERATOR @extschema@.< (@extschema@.healthcode, @extschema@.healthcode) IS
  'Less than, in the bytewise order of payloads: stable, for indexes and sorting, with no other meaning.';
COMMENT ON OPERATOR @extschema@.<= (@extschema@.healthcode, @extschema@.healthcode) IS
  'Less than or equal, in the bytewise order of payloads.';
COMMENT ON OPERATOR @extschema@.> (@extschema@.healthcode, @extschema@.healthcode) IS
  'Greater than, in the bytewise order of payloads.';
COMMENT ON OPERATOR @extschema@.>= (@extschema@.healthcode, @extschema@.healthcode) IS
  'Greater than or equal, in the bytewise order of payloads.';

CREATE OPERATOR CLASS @extschema@.healthcode_ops
  DEFAULT FOR TYPE @extschema@.healthcode USING btree AS
    OPERATOR 1 @extschema@.<,
    OPERATOR 2 @extschema@.<=,
    OPERATOR 3 @extschema@.=,
    OPERATOR 4 @extschema@.>=,
    OPERATOR 5 @extschema@.>,
    FUNCTION 1 @extschema@.healthcode_cmp(@extschema@.healthcode, @extschema@.healthcode);
COMMENT ON OPERATOR CLASS @extschema@.healthcode_ops USING btree IS
  'Default btree operator class of healthcode (bytewise order of payloads): indexes, unique constraints, ORDER BY, merge joins.';
COMMENT ON OPERATOR FAMILY @extschema@.healthcode_ops USING btree IS
  'Btree operator family of healthcode, holding the operator class healthcode_ops.';

CREATE OPERATOR CLASS @extschema@.healthcode_hash_ops
  DEFAULT FOR TYPE @extschema@.healthcode USING hash AS
    OPERATOR 1 @extschema@.=,
    FUNCTION 1 @extschema@.healthcode_hash(@extschema@.healthcode),
    FUNCTION 2 @extschema@.healthcode_hash_extended(@extschema@.healthcode, bigint);
COMMENT ON OPERATOR CLASS @extschema@.healthcode_hash_ops USING hash IS
  'Default hash operator class of healthcode: hash indexes, hash joins, hash aggregation, hash partitioning.';
COMMENT ON OPERATOR FAMILY @extschema@.healthcode_hash_ops USING hash IS
  'Hash operator family of healthcode, holding the operator class healthcode_hash_ops.';

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
COMMENT ON FUNCTION @extschema@.format_version(@extschema@.healthcode) IS 'Payload format version: 1, or 2 for a code that also carries the last negative test and the dose count (doc/payload.md).';
COMMENT ON FUNCTION @extschema@.region(@extschema@.healthcode) IS 'Issuing region: six-digit division code.';
COMMENT ON FUNCTION @extschema@.subject(@extschema@.healthcode) IS 'Subject pseudonym: 16-byte keyed hash of the person''s identifier.';
COMMENT ON FUNCTION @extschema@.colour(@extschema@.healthcode) IS 'Colour carried by the code (not judged: see verify).';
COMMENT ON FUNCTION @extschema@.issued_at(@extschema@.healthcode) IS 'When the code was signed (whole seconds).';
COMMENT ON FUNCTION @extschema@.expires_at(@extschema@.healthcode) IS 'When the code stops being valid (whole seconds).';
COMMENT ON FUNCTION @extschema@.key_id(@extschema@.healthcode) IS 'Id of the signing key: first 8 bytes of SHA-256 of its public key.';
COMMENT ON FUNCTION @extschema@.vaccinated(@extschema@.healthcode) IS 'The "vaccinated" mark shown on the code.';
COMMENT ON FUNCTION @extschema@.signature(@extschema@.healthcode) IS 'The 64-byte Ed25519 signature over the rest of the payload.';
