-- Comments 0.2.0 gave the objects 0.1.0 made (the same statements as in 10_type.sql,
-- 20_keys.sql and 30_issue_verify.sql).
COMMENT ON CAST (bytea AS @extschema@.healthcode) IS
  'The payload bytes as a code, validated exactly as text input (22P02 when malformed).';
COMMENT ON CAST (@extschema@.healthcode AS bytea) IS
  'A code''s payload bytes: its binary form, starting with the format-version byte.';
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
COMMENT ON OPERATOR CLASS @extschema@.healthcode_ops USING btree IS
  'Default btree operator class of healthcode (bytewise order of payloads): indexes, unique constraints, ORDER BY, merge joins.';
COMMENT ON OPERATOR FAMILY @extschema@.healthcode_ops USING btree IS
  'Btree operator family of healthcode, holding the operator class healthcode_ops.';
COMMENT ON OPERATOR CLASS @extschema@.healthcode_hash_ops USING hash IS
  'Default hash operator class of healthcode: hash indexes, hash joins, hash aggregation, hash partitioning.';
COMMENT ON OPERATOR FAMILY @extschema@.healthcode_hash_ops USING hash IS
  'Hash operator family of healthcode, holding the operator class healthcode_hash_ops.';
COMMENT ON COLUMN @extschema@.trust_list.public_key IS 'The 32-byte Ed25519 public key that verifies the key''s codes; unique.';
COMMENT ON COLUMN @extschema@.trust_list.revoked_at IS 'When the key was revoked; set exactly when status is revoked.';
COMMENT ON COLUMN @extschema@.trust_list.revocation_reason IS 'Why the key was revoked; required when status is revoked.';
COMMENT ON COLUMN @extschema@.trust_list.created_at IS 'When the key was created (start of the creating transaction).';
COMMENT ON COLUMN @extschema@.issuer_key_secret.key_id IS 'The key in trust_list; its secret is deleted when the key is revoked or deleted.';
COMMENT ON COLUMN @extschema@.issuer_key_secret.sealed IS 'The 64-byte Ed25519 secret key sealed under the server key: nonce (24 bytes), ciphertext (64), tag (16).';
COMMENT ON COLUMN @extschema@.verify_reason.reason IS 'A value of verify()''s reason column.';
COMMENT ON COLUMN @extschema@.verify_reason.check_order IS 'Position in the order verify() checks; ok, when every check passes, comes last.';
COMMENT ON COLUMN @extschema@.verify_reason.description IS 'What the reason means.';
