-- ---------------------------------------------------------------------------
-- Keyed identifiers. Pseudonyms: what a person's codes and rows carry
-- instead of their identifier. pseudonym() is this node's (keyed by the
-- server key), and national_pseudonym() the national scheme's (keyed by the
-- national key, the same on every node that holds it). And the ids of
-- row-secured tables, opaque (_next_id). All live in C
-- (src/hc_pseudonym_pg.c).
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


-- A row-secured table's ids: its sequence's numbers under a secret
-- permutation, so that no role can count the rows it cannot see from the
-- ids it can (96_rls.sql makes it the default of every such table's id).
-- Who inserts rows themselves may call it; it reads no sequence for them.
CREATE FUNCTION @extschema@._next_id(seq regclass) RETURNS bigint
  AS 'MODULE_PATHNAME', 'healthcode_next_id'
  LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION @extschema@._next_id(regclass) IS
  'Internal: the next id of a row-secured table: its sequence (one of this extension''s) advanced, the number under a permutation keyed by the server key, in [2^62, 2^63). Unique as the sequence is; says nothing of how many rows there are.';
REVOKE ALL ON FUNCTION @extschema@._next_id(regclass) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._next_id(regclass) TO healthcode_admin, healthcode_operator;
