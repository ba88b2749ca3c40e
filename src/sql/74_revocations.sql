-- ---------------------------------------------------------------------------
-- Revocation lists: one code, or every code of a person issued so far,
-- revoked before it expires (a lost phone, a wrong colour, fraud), not only
-- a whole key. Stored as hashes (hc_revocation_hash: never the code nor the
-- subject), each for as long as the codes it covers can live; verify()
-- consults them offline (reason revoked), each backend keeping the list in
-- memory until the table changes.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._revocation_hash(kind text, region text, data bytea) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_revocation_hash'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._revocation_hash(text, text, bytea) IS
  'Internal: the 16-byte hash a revocation is kept and looked up by: kind code (data: the payload) or subject (data: the subject), bound to the region.';
REVOKE ALL ON FUNCTION @extschema@._revocation_hash(text, text, bytea) FROM PUBLIC;

-- (The hash is the key: rows arrive from other nodes through the exchange,
-- 91_federation_keys.sql, and an id of this node's would collide with theirs.)
CREATE TABLE @extschema@.code_revocation (
  hash          bytea PRIMARY KEY
                CONSTRAINT hash_is_16_bytes CHECK (pg_catalog.length(hash) = 16),
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('code', 'subject')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  revoked_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at    timestamptz NOT NULL,
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  revoked_by    text NOT NULL DEFAULT CURRENT_USER
);
CREATE INDEX code_revocation_expires ON @extschema@.code_revocation (expires_at);
COMMENT ON TABLE @extschema@.code_revocation IS
  'Revoked codes and subjects, as hashes only: verify() says revoked for a revoked code, and for every code of a revoked subject issued up to revoked_at.';
COMMENT ON COLUMN @extschema@.code_revocation.hash IS '_revocation_hash(kind, region, the payload or the subject).';
COMMENT ON COLUMN @extschema@.code_revocation.kind IS 'code (one code) or subject (every code of a person issued up to revoked_at).';
COMMENT ON COLUMN @extschema@.code_revocation.region IS 'The region of the codes it covers.';
COMMENT ON COLUMN @extschema@.code_revocation.revoked_at IS 'When; a subject''s codes issued up to this instant (whole seconds) are revoked, later ones are not.';
COMMENT ON COLUMN @extschema@.code_revocation.expires_at IS 'When every code it covers has expired: it can be dropped then (drop_expired_revocations).';
COMMENT ON COLUMN @extschema@.code_revocation.reason IS 'Why (lost phone, wrong colour, fraud, ...).';
COMMENT ON COLUMN @extschema@.code_revocation.revoked_by IS 'The role that revoked.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_revocation', '');
-- every backend's copy of the list is stale once the table changes
CREATE TRIGGER code_revocation_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @extschema@.code_revocation
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._keys_changed();

-- One code, by the code itself (the holder shows it, or a lost one was
-- recorded): revoked until it would have expired anyway.
CREATE FUNCTION @extschema@.revoke_code(code @extschema@.healthcode, reason text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  at timestamptz;
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  -- codes of the regions the caller acts for, no others
  PERFORM @extschema@._require_caller_scope(@extschema@.region(code));
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, expires_at, reason)
  VALUES (@extschema@._revocation_hash('code', @extschema@.region(code), @extschema@.bytea(code)), 'code',
          @extschema@.region(code), @extschema@.expires_at(code), btrim(reason))
  ON CONFLICT (hash) DO UPDATE SET reason = r.reason
  RETURNING r.revoked_at INTO at;
  RETURN at;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) IS
  'Revokes one code of a region the caller acts for, until it expires: verify() says revoked from now on. Returns when it was revoked (the first time, when it was revoked already).';
REVOKE ALL ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_code(@extschema@.healthcode, text) TO healthcode_app, healthcode_operator;

-- Every code of a person issued so far (a lost phone: codes issued from the
-- next second on are valid again). Their codes may have been issued for up
-- to 366 days under some policy version: the revocation lasts as long.
CREATE FUNCTION @extschema@.revoke_codes_of(person_id bigint, reason text) RETURNS timestamptz
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  t timestamptz := statement_timestamp();
  at timestamptz;
BEGIN
  IF revoke_codes_of.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason', 1000);
  p := @extschema@._require_person_id(revoke_codes_of.person_id);
  INSERT INTO @extschema@.code_revocation AS r (hash, kind, region, revoked_at, expires_at, reason)
  VALUES (@extschema@._revocation_hash('subject', p.region, p.subject), 'subject', p.region, t,
          t + interval '366 days', btrim(reason))
  ON CONFLICT (hash) DO UPDATE
    SET revoked_at = greatest(r.revoked_at, EXCLUDED.revoked_at),
        expires_at = greatest(r.expires_at, EXCLUDED.expires_at),
        reason = EXCLUDED.reason, revoked_by = EXCLUDED.revoked_by
  RETURNING r.revoked_at INTO at;
  RETURN at;
END $$;
COMMENT ON FUNCTION @extschema@.revoke_codes_of(bigint, text) IS
  'Revokes every code of a person of the caller''s regions issued up to now (a lost phone, a wrong colour): verify() says revoked for them; codes issued from the next second on are valid. Returns the instant up to which they are revoked.';
REVOKE ALL ON FUNCTION @extschema@.revoke_codes_of(bigint, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_codes_of(bigint, text) TO healthcode_app, healthcode_operator;

-- Revocations whose codes have all expired cover nothing any more.
CREATE FUNCTION @extschema@.drop_expired_revocations() RETURNS bigint
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  WITH gone AS (
    DELETE FROM @extschema@.code_revocation r WHERE r.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now() RETURNING 1
  )
  SELECT pg_catalog.count(*) FROM gone;
END;
COMMENT ON FUNCTION @extschema@.drop_expired_revocations() IS
  'Deletes the revocations whose codes have all expired (daily, with drop_expired_travel_partitions); returns how many.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_revocations() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_revocations() TO healthcode_admin;
