-- ---------------------------------------------------------------------------
-- People. Every person carries their region (the home division code),
-- which row-level security keys on, and is known by pseudonyms only:
-- their identifier (ID number) is never stored.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.mask_name(name text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  -- blanks of every kind (the ideographic space U+3000 among them) around the name go
  SELECT CASE
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 0 THEN NULL
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 1 THEN n
    WHEN pg_catalog.length(n) OPERATOR(pg_catalog.=) 2 THEN pg_catalog.left(n, 1) OPERATOR(pg_catalog.||) '*'
    ELSE pg_catalog.left(n, 1)
         OPERATOR(pg_catalog.||) pg_catalog.repeat('*', pg_catalog.length(n) OPERATOR(pg_catalog.-) 2)
         OPERATOR(pg_catalog.||) pg_catalog.right(n, 1) END
    FROM (SELECT pg_catalog.regexp_replace(name, '^[[:space:]　]+|[[:space:]　]+$', '', 'g') AS n) t;
END;
COMMENT ON FUNCTION @extschema@.mask_name(text) IS
  'A display name with all but its first and last characters masked (张小三 -> 张*三, 张三 -> 张*); the only form of a name the database stores.';

CREATE TABLE @extschema@.person (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL
                CONSTRAINT region_is_division_code
                CHECK (@extschema@.division_code_valid(region) AND region <> '000000'),
  subject       bytea NOT NULL
                CONSTRAINT subject_is_pseudonym CHECK (pg_catalog.length(subject) = 16),
  display_name  text
                CONSTRAINT display_name_is_masked
                CHECK (display_name IS NULL OR pg_catalog.strpos(display_name, '*') > 0
                       OR pg_catalog.length(display_name) = 1),
  registered_at timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT registered_at_is_finite CHECK (pg_catalog.isfinite(registered_at)),
  national_subject bytea
                CONSTRAINT national_subject_is_pseudonym CHECK (pg_catalog.length(national_subject) = 16),
  CONSTRAINT person_subject_key UNIQUE (subject),
  CONSTRAINT person_id_region_key UNIQUE (id, region)
);
COMMENT ON TABLE @extschema@.person IS
  'A person known to the system: internal id, home region, subject pseudonym (keyed hash of the identifier, never the identifier) and masked display name.';
COMMENT ON COLUMN @extschema@.person.id IS 'Internal id; never shown on a code.';
COMMENT ON COLUMN @extschema@.person.region IS 'Home division code: whose policy governs the person and which region''s operators see them.';
COMMENT ON COLUMN @extschema@.person.subject IS 'healthcode.pseudonym(identifier): the 16-byte keyed hash that codes carry.';
COMMENT ON COLUMN @extschema@.person.display_name IS 'The name as healthcode.mask_name() leaves it; the full name is never stored.';
COMMENT ON COLUMN @extschema@.person.registered_at IS 'When the person was registered (the start of a periodic-testing grace period).';
COMMENT ON COLUMN @extschema@.person.national_subject IS 'national_pseudonym(identifier): the same on every node that holds the national key, so a red decided in another region can reach the person here; NULL when registered without it.';

CREATE INDEX person_region ON @extschema@.person (region);
CREATE INDEX person_national_subject ON @extschema@.person (national_subject) WHERE national_subject IS NOT NULL;

-- People a node took over from the hub with their region (adopt_region,
-- 94_federation_moves.sql). Their subject is still the pseudonym the hub
-- computed, under the hub's server key, which this node does not hold: an
-- identifier finds them by its national pseudonym instead (_person_of),
-- and the first write that brings their identifier re-keys them to this
-- node's pseudonym (_rekey_adopted), which takes them off this list.
CREATE TABLE @extschema@.adopted_person (
  person_id     bigint PRIMARY KEY REFERENCES @extschema@.person (id) ON DELETE CASCADE
);
COMMENT ON TABLE @extschema@.adopted_person IS
  'Internal: people adopted from the hub (adopt_region) whose subject is still the hub''s pseudonym; found by national pseudonym until an identifier re-keys them.';
COMMENT ON COLUMN @extschema@.adopted_person.person_id IS 'The person.';
REVOKE ALL ON @extschema@.adopted_person FROM PUBLIC;

-- The person an identifier (normalized) names, whatever the region: by
-- this node's pseudonym, or, for a person adopted from the hub and not yet
-- re-keyed, by the national pseudonym. (A SQL body: inlined. The second
-- look only when the first finds nobody, and only with the national key.)
CREATE FUNCTION @extschema@._person_of(norm text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN COALESCE((SELECT p.id FROM @extschema@.person p WHERE p.subject OPERATOR(pg_catalog.=) @extschema@.pseudonym(norm)),
                (SELECT p.id FROM @extschema@.adopted_person a JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) a.person_id
                  WHERE @extschema@._national_key_configured()
                    AND p.national_subject OPERATOR(pg_catalog.=) @extschema@.national_pseudonym(norm)));
COMMENT ON FUNCTION @extschema@._person_of(text) IS
  'Internal: the id of the person a normalized identifier names (its pseudonym here; for one adopted from the hub and not re-keyed yet, its national pseudonym), in any region; NULL for none.';
REVOKE ALL ON FUNCTION @extschema@._person_of(text) FROM PUBLIC;

-- Adopted people whose identifier a write brings: re-keyed to this node's
-- pseudonym (their evidence follows them by id) and off the list. Returns
-- how many. (Nothing to do, the common case, costs one look at an empty
-- table.)
CREATE FUNCTION @extschema@._rekey_adopted(norms text[]) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.adopted_person) OR NOT @extschema@._national_key_configured() THEN
    RETURN 0;
  END IF;
  WITH found AS MATERIALIZED (
    SELECT p.id, @extschema@.pseudonym(x.norm) AS subject
      FROM (SELECT DISTINCT u.norm FROM unnest(norms) u(norm) WHERE u.norm IS NOT NULL) x
      JOIN @extschema@.person p ON p.national_subject = @extschema@.national_pseudonym(x.norm)
      JOIN @extschema@.adopted_person a ON a.person_id = p.id
     -- (registered here meanwhile under this node's pseudonym: left as is)
     WHERE NOT EXISTS (SELECT 1 FROM @extschema@.person o WHERE o.subject = @extschema@.pseudonym(x.norm))
  ), off AS (
    DELETE FROM @extschema@.adopted_person a USING found f WHERE a.person_id = f.id
  )
  UPDATE @extschema@.person p SET subject = f.subject FROM found f WHERE p.id = f.id;
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._rekey_adopted(text[]) IS
  'Internal: re-keys the adopted people these normalized identifiers name to this node''s pseudonym (their digest follows, person trigger) and takes them off adopted_person; returns how many.';
REVOKE ALL ON FUNCTION @extschema@._rekey_adopted(text[]) FROM PUBLIC;

-- A code issued to a person and the person's erasure exclude each other:
-- the erasure waits for codes being issued to end, and none is issued
-- while it runs, so every code of theirs was issued before the erasure
-- revokes them (95_erasure.sql). Advisory locks, not a row lock on the
-- person: a row lock is written to WAL, and a code screen writes nothing
-- else. 1024 stripes of ids: an erasure of many people takes at most 1024
-- locks; a code waits for an erasure of someone else 1 time in 1024.
-- (SQL bodies without SET: inlined into their callers)
CREATE FUNCTION @extschema@._erasure_stripe(person_id bigint) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
-- (the lock's first key, 1751344498, is 'hcer' in ASCII)
RETURN (_erasure_stripe.person_id OPERATOR(pg_catalog.%) 1024)::integer;
COMMENT ON FUNCTION @extschema@._erasure_stripe(bigint) IS
  'Internal: the stripe of the advisory lock (first key 1751344498) that guards a person''s codes against their erasure.';
REVOKE ALL ON FUNCTION @extschema@._erasure_stripe(bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@._lock_against_erasure(person_id bigint) RETURNS void
LANGUAGE sql VOLATILE
RETURN pg_catalog.pg_advisory_xact_lock_shared(1751344498, @extschema@._erasure_stripe(_lock_against_erasure.person_id));
COMMENT ON FUNCTION @extschema@._lock_against_erasure(bigint) IS
  'Internal: taken before a code is issued to a person, until the transaction ends: no erasure of theirs runs meanwhile.';
REVOKE ALL ON FUNCTION @extschema@._lock_against_erasure(bigint) FROM PUBLIC;

CREATE FUNCTION @extschema@._lock_for_erasure(persons bigint[]) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  -- (in stripe order, as every erasure takes them)
  SELECT pg_catalog.pg_advisory_xact_lock(1751344498, s.stripe)
    FROM (SELECT DISTINCT @extschema@._erasure_stripe(x.id) AS stripe
            FROM pg_catalog.unnest(_lock_for_erasure.persons) AS x(id) ORDER BY 1) s;
END;
COMMENT ON FUNCTION @extschema@._lock_for_erasure(bigint[]) IS
  'Internal: taken by an erasure before it touches the people, until the transaction ends: it waits for the codes being issued to them, and none is issued meanwhile.';
REVOKE ALL ON FUNCTION @extschema@._lock_for_erasure(bigint[]) FROM PUBLIC;

-- A person of the regions the caller acts for, by id, or P0002: one of
-- another region and one who does not exist give the same error, so a
-- scoped role learns nothing about other regions' people. (By identifier:
-- _require_person, 70_registration.sql.)
CREATE FUNCTION @extschema@._require_person_id(person_id bigint) RETURNS @extschema@.person
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
BEGIN
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = _require_person_id.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', _require_person_id.person_id,
      @extschema@._caller()::regrole USING ERRCODE = 'P0002';
  END IF;
  RETURN p;
END $$;
COMMENT ON FUNCTION @extschema@._require_person_id(bigint) IS
  'Internal: the person with this id if the caller acts for their region, else P0002 (the same for a person of another region as for none).';
REVOKE ALL ON FUNCTION @extschema@._require_person_id(bigint) FROM PUBLIC;
