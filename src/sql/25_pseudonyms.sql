-- ---------------------------------------------------------------------------
-- Pseudonyms: what a person's codes and rows carry instead of their
-- identifier. pseudonym() is this node's (keyed by the server key), and
-- national_pseudonym() the national scheme's (keyed by the national key,
-- the same on every node that holds it). Both live in C (src/hc_pseudonym_pg.c).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.pseudonym(identifier text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_pseudonym'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.pseudonym(text) IS
  'The 16-byte subject pseudonym of an identifier: keyed BLAKE2b under a key derived from the server key. The identifier itself is never stored in a code.';
REVOKE ALL ON FUNCTION @extschema@.pseudonym(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.national_pseudonym(identifier text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_national_pseudonym'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.national_pseudonym(text) IS
  'The 16-byte national pseudonym of an identifier: keyed BLAKE2b under the national key (healthcode.national_key_file), the same on every node, so that people can be matched across regions without their identifier.';
REVOKE ALL ON FUNCTION @extschema@.national_pseudonym(text) FROM PUBLIC;

CREATE FUNCTION @extschema@._national_key_configured() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_national_key_configured'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_key_configured() IS
  'Internal: whether healthcode.national_key_file is set.';
REVOKE ALL ON FUNCTION @extschema@._national_key_configured() FROM PUBLIC;

