-- healthcode 0.1.0 -> 0.2.0 update script: released, frozen (never edited again; see doc/releasing.md).
\echo Use "ALTER EXTENSION healthcode UPDATE TO '0.2.0'" to load this file. \quit
-- ---------------------------------------------------------------------------
-- Install and update only into a schema no one else controls. The script
-- runs with search_path = @extschema@, pg_temp: an object another role had
-- planted in @extschema@ (a function or operator shadowing one the script
-- means) would run with the installing superuser's rights. So the schema
-- must belong to the role running the script, and hold nothing that is not
-- part of the extension.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
  owner_name name;
  stray text;
BEGIN
  SELECT r.rolname INTO owner_name
    FROM pg_catalog.pg_namespace n JOIN pg_catalog.pg_roles r ON r.oid = n.nspowner
   WHERE n.nspname = '@extschema@';
  IF owner_name IS DISTINCT FROM CURRENT_USER THEN
    RAISE EXCEPTION 'schema @extschema@ belongs to %, not to %, who installs healthcode', owner_name, CURRENT_USER
      USING ERRCODE = '42501',
            HINT = 'Another role could have planted objects in it. Drop the schema (or give it to the installing role after checking it) and try again.';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.pg_describe_object(o.classid, o.objid, 0), ', ')
    INTO stray
    FROM (SELECT 'pg_catalog.pg_proc'::regclass AS classid, p.oid AS objid FROM pg_catalog.pg_proc p
           WHERE p.pronamespace = '@extschema@'::regnamespace
          UNION ALL
          SELECT 'pg_catalog.pg_operator'::regclass, o.oid FROM pg_catalog.pg_operator o
           WHERE o.oprnamespace = '@extschema@'::regnamespace
          UNION ALL
          SELECT 'pg_catalog.pg_class'::regclass, c.oid FROM pg_catalog.pg_class c
           WHERE c.relnamespace = '@extschema@'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f', 'S')
          UNION ALL
          SELECT 'pg_catalog.pg_type'::regclass, t.oid FROM pg_catalog.pg_type t
           WHERE t.typnamespace = '@extschema@'::regnamespace AND t.typrelid = 0 AND t.typelem = 0) o
   WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                      WHERE d.classid = o.classid AND d.objid = o.objid AND d.deptype IN ('e', 'i', 'a')
                        AND (d.deptype = 'e' OR d.refclassid <> 'pg_catalog.pg_namespace'::regclass))
     -- travel's day partitions and their row types are made at run time
     AND NOT (o.classid = 'pg_catalog.pg_class'::regclass
              AND EXISTS (SELECT 1 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = o.objid));
  IF stray IS NOT NULL THEN
    RAISE EXCEPTION 'schema @extschema@ holds objects that are not part of healthcode: %', stray
      USING ERRCODE = '42501',
            HINT = 'Objects planted in the extension''s schema could shadow those its script uses. Remove them first.';
  END IF;
END $$;
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
-- ---------------------------------------------------------------------------
-- Arguments. Every function an application or operator calls checks its
-- arguments before it writes anything, and a bad one gets an error whose
-- message names the argument, with the SQLSTATE of its class:
--   22004  a NULL where a value is needed
--   22023  an invalid value (a division code, a word outside a vocabulary,
--          a text or an array too long)
--   22003  a number or an interval out of range
--   22008  a time that is not finite
-- A value is echoed only shortened (_shorten), and an identifier never.
-- ---------------------------------------------------------------------------

-- (in C, hc_shorten: the same rule as the imports' messages)
CREATE FUNCTION @extschema@._shorten(value text, max integer DEFAULT 40) RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_shorten'
  LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._shorten(text, integer) IS
  'Internal: a value as an error message echoes it: cut to max bytes (default 40) at a character boundary, with ... appended when cut, control characters as ?; NULL as the word NULL.';

CREATE FUNCTION @extschema@._require_finite(value timestamptz, argname text) RETURNS timestamptz
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  IF NOT isfinite(value) THEN
    RAISE EXCEPTION '% must be a finite time, not %', argname, value USING ERRCODE = '22008';
  END IF;
  RETURN value;
END $$;
COMMENT ON FUNCTION @extschema@._require_finite(timestamptz, text) IS
  'Internal: the time if it is finite, else 22004 (NULL) or 22008 (infinity), naming the argument.';

-- Reasons, claims, authorities: free text a person writes, never empty and
-- of a length a person writes.
CREATE FUNCTION @extschema@._require_text(value text, argname text, max integer DEFAULT 1000) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  IF length(btrim(value)) = 0 THEN
    RAISE EXCEPTION '% must not be empty', argname USING ERRCODE = '22023';
  END IF;
  IF length(value) > max THEN
    RAISE EXCEPTION '% is too long (% characters; at most %)', argname, length(value), max USING ERRCODE = '22023';
  END IF;
  RETURN value;
END $$;
COMMENT ON FUNCTION @extschema@._require_text(text, text, integer) IS
  'Internal: the text if it is neither NULL (22004) nor blank nor longer than max characters (22023), naming the argument.';

CREATE FUNCTION @extschema@._require_text_array(value text[], argname text, max integer) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF value IS NULL THEN
    RAISE EXCEPTION '% must not be NULL (an empty array: none)', argname USING ERRCODE = '22004';
  END IF;
  IF array_ndims(value) > 1 THEN
    RAISE EXCEPTION '% must be a one-dimensional array', argname USING ERRCODE = '22023';
  END IF;
  IF cardinality(value) > max THEN
    RAISE EXCEPTION '% has % elements; at most %', argname, cardinality(value), max USING ERRCODE = '22023';
  END IF;
  IF array_position(value, NULL) IS NOT NULL THEN
    RAISE EXCEPTION '% must not contain NULL', argname USING ERRCODE = '22004';
  END IF;
  RETURN value;
END $$;
COMMENT ON FUNCTION @extschema@._require_text_array(text[], text, integer) IS
  'Internal: the array if it is not NULL, has one dimension, at most max elements and no NULL element; else 22004 or 22023 naming the argument.';
-- ---------------------------------------------------------------------------
-- Division codes (GB/T 2260): a code covers itself and the codes below it
-- (330000 every 33xxxx, 330100 every 3301xx, 000000 the whole country).
-- Region scopes, policy inheritance and risk areas all rest on this.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.division_chain(code text) RETURNS text[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN @extschema@.division_code_valid(code) THEN
         ARRAY[code, pg_catalog.left(code, 4) OPERATOR(pg_catalog.||) '00',
               pg_catalog.left(code, 2) OPERATOR(pg_catalog.||) '0000', '000000'] END;
COMMENT ON FUNCTION @extschema@.division_chain(text) IS
  'The division codes covering a code, nearest first: itself, its city, its province, the nation (000000). Duplicates when the code is a city or province; NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_last(code text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN NOT @extschema@.division_code_valid(code) THEN NULL
  WHEN code OPERATOR(pg_catalog.=) '000000' THEN '999999'
  WHEN pg_catalog.right(code, 4) OPERATOR(pg_catalog.=) '0000' THEN pg_catalog.left(code, 2) OPERATOR(pg_catalog.||) '9999'
  WHEN pg_catalog.right(code, 2) OPERATOR(pg_catalog.=) '00' THEN pg_catalog.left(code, 4) OPERATOR(pg_catalog.||) '99'
  ELSE code END;
COMMENT ON FUNCTION @extschema@.division_last(text) IS
  'The last code a division covers: the codes it covers are exactly those between the code itself and this (330000 -> 339999, 330100 -> 330199, 330106 -> 330106); NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_covers(area text, code text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN @extschema@.division_code_valid(code) THEN
         code OPERATOR(pg_catalog.>=) area AND code OPERATOR(pg_catalog.<=) @extschema@.division_last(area) END;
COMMENT ON FUNCTION @extschema@.division_covers(text, text) IS
  'True when division area covers division code (itself or a division below it); NULL when either is invalid.';

CREATE FUNCTION @extschema@.division_rank(code text) RETURNS integer
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE
  WHEN NOT @extschema@.division_code_valid(code) THEN NULL
  WHEN code OPERATOR(pg_catalog.=) '000000' THEN 0
  WHEN pg_catalog.right(code, 4) OPERATOR(pg_catalog.=) '0000' THEN 1
  WHEN pg_catalog.right(code, 2) OPERATOR(pg_catalog.=) '00' THEN 2
  ELSE 3 END;
COMMENT ON FUNCTION @extschema@.division_rank(text) IS
  'How specific a division code is: 0 national, 1 province, 2 city, 3 county; NULL for an invalid code.';

CREATE FUNCTION @extschema@.division_codes_valid(codes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.bool_and(c IS NOT NULL AND @extschema@.division_code_valid(c)
                                                 AND c OPERATOR(pg_catalog.<>) '000000'), true)
    FROM pg_catalog.unnest(codes) AS c;
END;
COMMENT ON FUNCTION @extschema@.division_codes_valid(text[]) IS
  'True when every element is a valid, non-national division code (an empty array is valid).';

-- A division code as a function's argument (the rules of arguments: 41_arguments.sql).
CREATE FUNCTION @extschema@._require_region(region text, argname text DEFAULT 'region',
                                            allow_national boolean DEFAULT false) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF region IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  IF NOT @extschema@.division_code_valid(region) THEN
    RAISE EXCEPTION 'invalid division code for %: %', argname, quote_literal(@extschema@._shorten(region))
      USING ERRCODE = '22023',
            HINT = 'A division code has six digits: 330000 a province, 330100 a city, 330106 a district.';
  END IF;
  IF region = '000000' AND NOT allow_national THEN
    RAISE EXCEPTION 'invalid division code for %: %', argname, quote_literal(region)
      USING ERRCODE = '22023', DETAIL = '000000 is the whole country, not a region.';
  END IF;
  RETURN region;
END $$;
COMMENT ON FUNCTION @extschema@._require_region(text, text, boolean) IS
  'Internal: the code if it is a valid division code (000000, the whole country, only with allow_national), else 22004 or 22023 naming the argument.';
-- ---------------------------------------------------------------------------
-- Regions and roles. Five group roles (NOLOGIN, made here if missing; a
-- DBA grants them to login roles):
--   healthcode_admin     national: everything, every region
--   healthcode_operator  reads and manages the people of its regions
--   healthcode_app       a backend: declare, import, issue, verify, read
--                        one person's status, through functions only
--   healthcode_analyst   aggregate views only, small counts suppressed
--   healthcode_verifier  verify codes only
-- A login role's regions come from healthcode.region_scope (never from a
-- setting a session can change): a row maps a role to a division code and
-- covers every code below it (330000: all of 33xxxx). Row-level security
-- keys every table of personal data on the row's region.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['healthcode_admin', 'healthcode_operator', 'healthcode_app',
                           'healthcode_analyst', 'healthcode_verifier'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END $$;

CREATE TYPE @extschema@.division_range AS RANGE (
  SUBTYPE = text,
  COLLATION = "C",
  MULTIRANGE_TYPE_NAME = @extschema@.division_multirange
);
COMMENT ON TYPE @extschema@.division_range IS
  'A run of division codes, e.g. [330000,339999]: what a division covers.';
COMMENT ON TYPE @extschema@.division_multirange IS
  'A set of runs of division codes: a role''s region scope.';

CREATE TABLE @extschema@.region_scope (
  role_name     regrole NOT NULL,
  region        text NOT NULL
                CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  granted_by    name NOT NULL DEFAULT CURRENT_USER,
  granted_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT region_scope_pkey PRIMARY KEY (role_name, region)
);
COMMENT ON TABLE @extschema@.region_scope IS
  'Which regions a role acts for: a row maps a role (a login role, or a group whose members inherit it) to a division code and everything below it. Managed by healthcode_admin; see grant_region() and revoke_region().';
COMMENT ON COLUMN @extschema@.region_scope.role_name IS 'The role (dumped by name).';
COMMENT ON COLUMN @extschema@.region_scope.region IS 'A division code; 000000 is the whole country.';
COMMENT ON COLUMN @extschema@.region_scope.granted_by IS 'Who mapped it.';
COMMENT ON COLUMN @extschema@.region_scope.granted_at IS 'When.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.region_scope', '');

CREATE FUNCTION @extschema@._caller() RETURNS oid
  AS 'MODULE_PATHNAME', 'healthcode_caller'
  LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._caller() IS
  'Internal: the role a statement runs for (the session''s role as SET ROLE left it), even inside a SECURITY DEFINER function.';

-- A role's scope: the regions mapped to it or to any role it is a member
-- of; the whole country for superusers and members of healthcode_admin.
CREATE FUNCTION @extschema@.region_scope_of(role oid) RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT CASE
    WHEN (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) region_scope_of.role)
      OR pg_catalog.pg_has_role(region_scope_of.role, 'healthcode_admin', 'MEMBER')
    THEN @extschema@.division_multirange(@extschema@.division_range('000000', '999999', '[]'))
    ELSE COALESCE(
      (SELECT pg_catalog.range_agg(@extschema@.division_range(s.region, @extschema@.division_last(s.region), '[]'))
         FROM @extschema@.region_scope s
        WHERE pg_catalog.pg_has_role(region_scope_of.role, s.role_name::oid, 'MEMBER')),
      '{}'::@extschema@.division_multirange)
  END;
END;
COMMENT ON FUNCTION @extschema@.region_scope_of(oid) IS
  'The division codes a role acts for: those mapped to it or to a role it is a member of in region_scope; all of them for superusers and healthcode_admin.';

CREATE FUNCTION @extschema@.my_region_scope() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@.region_scope_of(@extschema@._caller());
END;
COMMENT ON FUNCTION @extschema@.my_region_scope() IS
  'The division codes the calling role acts for (see region_scope_of).';

-- The scope row-level security applies: that of the role a query runs as.
-- (its planner support function does nothing but load this module while
-- a row-secured query is planned, so that the module's EXPLAIN guard is in
-- place before the query's executor starts: see src/hc_explain_guard.c)
CREATE FUNCTION @extschema@._load_support(internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'hc_load_support'
  LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@._load_support(internal) IS
  'Internal: planner support function of _rls_scope(); loads the module (its EXPLAIN guard) and supports nothing else.';
CREATE FUNCTION @extschema@._rls_scope() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE PARALLEL SAFE
SUPPORT @extschema@._load_support
BEGIN ATOMIC
  SELECT @extschema@.region_scope_of(CURRENT_USER::regrole::oid);
END;
COMMENT ON FUNCTION @extschema@._rls_scope() IS
  'Internal: the scope of current_user, which row-level security policies compare regions with (evaluated once a statement).';

-- Inside the extension's SECURITY DEFINER functions: the caller's scope.
CREATE FUNCTION @extschema@._in_caller_scope(region text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@.my_region_scope() OPERATOR(pg_catalog.@>) (region COLLATE "C");
END;
COMMENT ON FUNCTION @extschema@._in_caller_scope(text) IS
  'Internal: true when the calling role''s scope covers the region.';

CREATE FUNCTION @extschema@._require_caller_scope(region text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF region IS NULL OR NOT @extschema@._in_caller_scope(region) THEN
    RAISE EXCEPTION 'region % is outside the regions role % acts for', region, @extschema@._caller()::regrole
      USING ERRCODE = '42501',
            HINT = 'A DBA maps roles to regions: SELECT healthcode.grant_region(''role'', ''330000'');';
  END IF;
  RETURN region;
END $$;
COMMENT ON FUNCTION @extschema@._require_caller_scope(text) IS
  'Internal: 42501 unless the calling role acts for the region.';

CREATE FUNCTION @extschema@.grant_region(role regrole, region text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF region IS NULL OR NOT @extschema@.division_code_valid(region) THEN
    RAISE EXCEPTION 'invalid division code for region: %', coalesce(quote_literal(region), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  -- (granted_by: the admin who called, not this function's owner)
  INSERT INTO @extschema@.region_scope (role_name, region, granted_by)
  VALUES (role, region, pg_catalog.pg_get_userbyid(@extschema@._caller()))
  ON CONFLICT ON CONSTRAINT region_scope_pkey DO NOTHING;
END $$;
COMMENT ON FUNCTION @extschema@.grant_region(regrole, text) IS
  'Maps a role to a region (and everything below it). For healthcode_admin and superusers.';

CREATE FUNCTION @extschema@.revoke_region(role regrole, region text) RETURNS void
LANGUAGE sql VOLATILE
BEGIN ATOMIC
  DELETE FROM @extschema@.region_scope s
   WHERE s.role_name OPERATOR(pg_catalog.=) revoke_region.role
     AND s.region OPERATOR(pg_catalog.=) revoke_region.region;
END;
COMMENT ON FUNCTION @extschema@.revoke_region(regrole, text) IS
  'Removes a role''s mapping to a region.';


COMMENT ON FUNCTION @extschema@.division_range(text, text) IS 'Range constructor: the codes from the first to the second.';
COMMENT ON FUNCTION @extschema@.division_range(text, text, text) IS 'Range constructor with bounds (use ''[]'' for a division''s codes).';
COMMENT ON FUNCTION @extschema@.division_multirange() IS 'Multirange constructor: no codes.';
COMMENT ON FUNCTION @extschema@.division_multirange(@extschema@.division_range) IS 'Multirange constructor: one run of codes.';
COMMENT ON FUNCTION @extschema@.division_multirange(@extschema@.division_range[]) IS 'Multirange constructor: several runs of codes.';
COMMENT ON CAST (@extschema@.division_range AS @extschema@.division_multirange) IS 'A run of codes as a set of runs.';
-- ---------------------------------------------------------------------------
-- People and evidence. Every row carries its region (the person's home
-- division code), which row-level security keys on. Evidence rows refer to
-- their person by (person_id, region), so a row can never claim another
-- region than its person's, and a person moving region carries their
-- evidence along (ON UPDATE CASCADE).
--
-- Natural keys make imports idempotent: re-running an import with
-- INSERT ... ON CONFLICT DO NOTHING (what the import_* functions do)
-- changes nothing, fires no recalculation and writes no history. A key that
-- holds a person holds their region too (always the person's, by the
-- foreign key): a unique index is checked before the foreign key, so
-- without it an operator could probe another region's person's rows (their
-- doses, check-in days) by inserting rows under its own region.
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

CREATE FUNCTION @extschema@.symptoms_known(symptoms text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN symptoms OPERATOR(pg_catalog.<@) ARRAY['fever', 'cough', 'sore_throat', 'fatigue', 'shortness_of_breath',
                                               'loss_of_taste_or_smell', 'diarrhoea', 'muscle_pain', 'headache']
       AND pg_catalog.array_position(symptoms, NULL) IS NULL;
COMMENT ON FUNCTION @extschema@.symptoms_known(text[]) IS
  'True when every symptom is in the vocabulary: fever, cough, sore_throat, fatigue, shortness_of_breath, loss_of_taste_or_smell, diarrhoea, muscle_pain, headache.';

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

-- The columns every evidence table shares: id, person, region.
-- (Written out per table: CREATE TABLE ... (LIKE) would not carry the FK.)

CREATE TABLE @extschema@.declaration (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  declared_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT declared_at_is_finite CHECK (pg_catalog.isfinite(declared_at)),
  symptoms      text[] NOT NULL DEFAULT '{}'
                CONSTRAINT symptoms_are_known
                CHECK (@extschema@.symptoms_known(symptoms)),
  temperature   numeric
                CONSTRAINT temperature_is_plausible CHECK (temperature BETWEEN 34.0 AND 43.0)
                CONSTRAINT temperature_in_tenths CHECK (temperature = pg_catalog.round(temperature, 1)),
  visited       text[] NOT NULL DEFAULT '{}'
                CONSTRAINT visited_are_division_codes
                CHECK (@extschema@.division_codes_valid(visited)),
  contact_with_case boolean NOT NULL DEFAULT false,
  audited_at    timestamptz,
  CONSTRAINT declaration_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT declaration_natural_key UNIQUE (person_id, region, declared_at),
  CONSTRAINT declaration_id_person_key UNIQUE (id, person_id)
);
CREATE INDEX declaration_pending ON @extschema@.declaration (declared_at) WHERE audited_at IS NULL;
COMMENT ON TABLE @extschema@.declaration IS
  'Health-information declarations (GB/T 38963 interface 1): symptoms, temperature, places visited in the lookback window, contact with a case.';
COMMENT ON COLUMN @extschema@.declaration.id IS 'Declaration id.';
COMMENT ON COLUMN @extschema@.declaration.person_id IS 'The declaring person.';
COMMENT ON COLUMN @extschema@.declaration.region IS 'The person''s home region (kept equal to person.region by the foreign key).';
COMMENT ON COLUMN @extschema@.declaration.declared_at IS 'When the declaration was made.';
COMMENT ON COLUMN @extschema@.declaration.symptoms IS 'Declared symptoms, from a fixed vocabulary; any makes yellow when the policy says so.';
COMMENT ON COLUMN @extschema@.declaration.temperature IS 'Declared temperature in degrees Celsius, 34.0-43.0, in tenths (as thermometers show it).';
COMMENT ON COLUMN @extschema@.declaration.visited IS 'Division codes the person says they visited within the lookback window; the audit compares them with imported itineraries.';
COMMENT ON COLUMN @extschema@.declaration.contact_with_case IS 'The person declares contact with a confirmed or suspected case (yellow until traced).';
COMMENT ON COLUMN @extschema@.declaration.audited_at IS 'When the background audit cross-checked this declaration; NULL while pending.';

CREATE SEQUENCE @extschema@.travel_id_seq;
COMMENT ON SEQUENCE @extschema@.travel_id_seq IS 'Ids of travel records.';
CREATE TABLE @extschema@.travel (
  id            bigint NOT NULL DEFAULT pg_catalog.nextval('@extschema@.travel_id_seq'),
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  place         text NOT NULL
                CONSTRAINT place_is_division_code
                CHECK (@extschema@.division_code_valid(place) AND place <> '000000'),
  at            timestamptz NOT NULL
                CONSTRAINT at_is_finite CHECK (pg_catalog.isfinite(at)),
  source        text NOT NULL
                CONSTRAINT source_is_known
                CHECK (source IN ('telecom', 'transport', 'venue_scan', 'declared')),
  venue         text,
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT travel_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
) PARTITION BY RANGE (at);
ALTER SEQUENCE @extschema@.travel_id_seq OWNED BY @extschema@.travel.id;
-- The indexes, the natural key (person_id, region, at, place, source) among them,
-- are made on each day partition by create_travel_partitions(), not on the
-- parent: the parent belongs to the extension, so pg_dump would not dump
-- its indexes, and a restore would build every partition's twice. The key
-- includes the partition key, so unique per partition is unique overall;
-- INSERT ... ON CONFLICT DO NOTHING (no target) checks it.
COMMENT ON TABLE @extschema@.travel IS
  'Where people were and when: telecom itinerary, transport, venue scans and declared trips. Partitioned by day (China Standard Time); see create_travel_partitions() and drop_expired_travel_partitions().';
COMMENT ON COLUMN @extschema@.travel.id IS 'Record id (unique by its sequence; the partitioned table''s keys must include at).';
COMMENT ON COLUMN @extschema@.travel.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.travel.region IS 'The person''s home region (not the place).';
COMMENT ON COLUMN @extschema@.travel.place IS 'Division code of the place stayed in.';
COMMENT ON COLUMN @extschema@.travel.at IS 'When the person was there.';
COMMENT ON COLUMN @extschema@.travel.source IS 'telecom (itinerary), transport, venue_scan or declared (trip declaration).';
COMMENT ON COLUMN @extschema@.travel.venue IS 'The venue''s id, for venue scans.';
COMMENT ON COLUMN @extschema@.travel.recorded_at IS 'When the record was imported.';

CREATE TABLE @extschema@.test_result (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('pcr', 'antigen')),
  sampled_at    timestamptz NOT NULL CONSTRAINT sampled_at_is_finite CHECK (pg_catalog.isfinite(sampled_at)),
  result        text NOT NULL CONSTRAINT result_is_known CHECK (result IN ('positive', 'negative')),
  lab           text NOT NULL CONSTRAINT lab_is_named CHECK (pg_catalog.length(lab) > 0),
  sample_id     text NOT NULL CONSTRAINT sample_id_is_named CHECK (pg_catalog.length(sample_id) > 0),
  reported_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT test_result_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT test_result_natural_key UNIQUE (lab, sample_id)
);
CREATE INDEX test_result_person ON @extschema@.test_result (person_id, sampled_at);
COMMENT ON TABLE @extschema@.test_result IS
  'Lab results (PCR, antigen). A lab correcting a result updates its row (natural key lab + sample_id); status follows.';
COMMENT ON COLUMN @extschema@.test_result.id IS 'Result id.';
COMMENT ON COLUMN @extschema@.test_result.person_id IS 'The person tested.';
COMMENT ON COLUMN @extschema@.test_result.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.test_result.kind IS 'pcr or antigen.';
COMMENT ON COLUMN @extschema@.test_result.sampled_at IS 'When the sample was taken: test windows count from here.';
COMMENT ON COLUMN @extschema@.test_result.result IS 'positive or negative.';
COMMENT ON COLUMN @extschema@.test_result.lab IS 'The reporting lab.';
COMMENT ON COLUMN @extschema@.test_result.sample_id IS 'The lab''s sample id; with lab, the natural key.';
COMMENT ON COLUMN @extschema@.test_result.reported_at IS 'When the result was imported.';

CREATE TABLE @extschema@.vaccination (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  dose          integer NOT NULL CONSTRAINT dose_is_between_1_and_10 CHECK (dose BETWEEN 1 AND 10),
  given_at      timestamptz NOT NULL CONSTRAINT given_at_is_finite CHECK (pg_catalog.isfinite(given_at)),
  product       text,
  CONSTRAINT vaccination_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT vaccination_natural_key UNIQUE (person_id, region, dose)
);
COMMENT ON TABLE @extschema@.vaccination IS
  'Vaccination doses. Shown on a code as the "vaccinated" mark (policy vaccinated_min_doses), never as a colour.';
COMMENT ON COLUMN @extschema@.vaccination.id IS 'Dose record id.';
COMMENT ON COLUMN @extschema@.vaccination.person_id IS 'The person vaccinated.';
COMMENT ON COLUMN @extschema@.vaccination.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.vaccination.dose IS 'Dose number, 1-10.';
COMMENT ON COLUMN @extschema@.vaccination.given_at IS 'When the dose was given.';
COMMENT ON COLUMN @extschema@.vaccination.product IS 'The vaccine.';

CREATE TABLE @extschema@.contact (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL CONSTRAINT kind_is_known CHECK (kind IN ('close', 'secondary')),
  exposure_at   timestamptz NOT NULL CONSTRAINT exposure_at_is_finite CHECK (pg_catalog.isfinite(exposure_at)),
  source_case   text NOT NULL CONSTRAINT source_case_is_named CHECK (pg_catalog.length(source_case) > 0),
  CONSTRAINT contact_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT contact_natural_key UNIQUE (person_id, region, source_case, kind, exposure_at)
);
CREATE INDEX contact_person ON @extschema@.contact (person_id, exposure_at);
COMMENT ON TABLE @extschema@.contact IS
  'Contact-tracing lists: close contacts (red) and secondary contacts (yellow) of a case, with the exposure time.';
COMMENT ON COLUMN @extschema@.contact.id IS 'Contact record id.';
COMMENT ON COLUMN @extschema@.contact.person_id IS 'The contact.';
COMMENT ON COLUMN @extschema@.contact.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.contact.kind IS 'close or secondary.';
COMMENT ON COLUMN @extschema@.contact.exposure_at IS 'When the exposure happened: the window counts from here.';
COMMENT ON COLUMN @extschema@.contact.source_case IS 'The tracing team''s reference of the case (never an identifier).';

CREATE TABLE @extschema@.checkin (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT at_is_finite CHECK (pg_catalog.isfinite(at)),
  day           date NOT NULL GENERATED ALWAYS AS ((at AT TIME ZONE 'Asia/Shanghai')::date) STORED,
  temperature   numeric CONSTRAINT temperature_is_plausible CHECK (temperature BETWEEN 34.0 AND 43.0)
                CONSTRAINT temperature_in_tenths CHECK (temperature = pg_catalog.round(temperature, 1)),
  symptoms      text[] NOT NULL DEFAULT '{}'
                CONSTRAINT symptoms_are_known
                CHECK (@extschema@.symptoms_known(symptoms)),
  CONSTRAINT checkin_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT checkin_natural_key UNIQUE (person_id, region, day)
);
COMMENT ON TABLE @extschema@.checkin IS
  'Daily health check-ins of people in quarantine: consecutive normal days release red (14 by default) and yellow (7).';
COMMENT ON COLUMN @extschema@.checkin.id IS 'Check-in id.';
COMMENT ON COLUMN @extschema@.checkin.person_id IS 'The person checking in.';
COMMENT ON COLUMN @extschema@.checkin.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.checkin.at IS 'When the check-in was made.';
COMMENT ON COLUMN @extschema@.checkin.day IS 'The calendar day (China Standard Time) it counts for: one check-in a day.';
COMMENT ON COLUMN @extschema@.checkin.temperature IS 'Measured temperature in tenths of a degree; at or above the policy''s fever threshold the day is abnormal.';
COMMENT ON COLUMN @extschema@.checkin.symptoms IS 'Symptoms reported; any makes the day abnormal.';

CREATE TABLE @extschema@.risk_area (
  id            bigserial PRIMARY KEY,
  division      text NOT NULL
                CONSTRAINT division_is_division_code
                CHECK (@extschema@.division_code_valid(division) AND division <> '000000'),
  level         text NOT NULL CONSTRAINT level_is_known CHECK (level IN ('low', 'medium', 'high')),
  effective_from timestamptz NOT NULL
                CONSTRAINT effective_from_is_finite CHECK (pg_catalog.isfinite(effective_from)),
  effective_until timestamptz,
  bulletin      text,
  CONSTRAINT effective_until_after_from CHECK (effective_until > effective_from),
  CONSTRAINT risk_area_natural_key UNIQUE (division, effective_from)
);
CREATE INDEX risk_area_division ON @extschema@.risk_area (division);
COMMENT ON TABLE @extschema@.risk_area IS
  'Risk-area bulletins: a division (and every division below it) is low, medium or high risk over [effective_from, effective_until). A stay counts by the level in force when it happened; overlapping bulletins take the highest level.';
COMMENT ON COLUMN @extschema@.risk_area.id IS 'Bulletin row id.';
COMMENT ON COLUMN @extschema@.risk_area.division IS 'The division code the bulletin names; it covers the codes below it.';
COMMENT ON COLUMN @extschema@.risk_area.level IS 'low, medium (stays give yellow) or high (stays give red).';
COMMENT ON COLUMN @extschema@.risk_area.effective_from IS 'Start of the designation (may lie before the bulletin''s publication).';
COMMENT ON COLUMN @extschema@.risk_area.effective_until IS 'End of the designation; NULL while it lasts. Downgrading an area sets this.';
COMMENT ON COLUMN @extschema@.risk_area.bulletin IS 'The bulletin''s reference or text.';

CREATE TABLE @extschema@.manual_decision (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  kind          text NOT NULL
                CONSTRAINT kind_is_known CHECK (kind IN ('override', 'medical_release', 'appeal_upheld')),
  colour        @extschema@.risk_colour,
  valid_from    timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT valid_from_is_finite CHECK (pg_catalog.isfinite(valid_from)),
  valid_until   timestamptz,
  decided_by    text NOT NULL DEFAULT CURRENT_USER,
  authority     text NOT NULL CONSTRAINT authority_is_named CHECK (pg_catalog.length(pg_catalog.btrim(authority)) > 0),
  reason        text NOT NULL CONSTRAINT reason_is_given CHECK (pg_catalog.length(pg_catalog.btrim(reason)) > 0),
  decided_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT manual_decision_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT colour_only_for_override CHECK ((kind = 'override') = (colour IS NOT NULL)),
  CONSTRAINT valid_until_only_for_override CHECK (kind = 'override' OR valid_until IS NULL),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from)
);
CREATE INDEX manual_decision_person ON @extschema@.manual_decision (person_id);
COMMENT ON TABLE @extschema@.manual_decision IS
  'Manual decisions are evidence too, never a silent edit: override (a colour over [valid_from, valid_until)), medical_release and appeal_upheld (end every trigger that started before valid_from). Who, under which authority, why.';
COMMENT ON COLUMN @extschema@.manual_decision.id IS 'Decision id.';
COMMENT ON COLUMN @extschema@.manual_decision.person_id IS 'The person decided about.';
COMMENT ON COLUMN @extschema@.manual_decision.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.manual_decision.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.manual_decision.colour IS 'The colour an override sets; NULL for releases.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_from IS 'When the decision takes effect.';
COMMENT ON COLUMN @extschema@.manual_decision.valid_until IS 'When an override ends; NULL: until further notice.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_by IS 'The database role that recorded it.';
COMMENT ON COLUMN @extschema@.manual_decision.authority IS 'The authority under which it was taken (e.g. the epidemic prevention headquarters'' order number).';
COMMENT ON COLUMN @extschema@.manual_decision.reason IS 'Why: required, never empty.';
COMMENT ON COLUMN @extschema@.manual_decision.decided_at IS 'When it was recorded.';

CREATE TABLE @extschema@.audit_finding (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  declaration_id bigint NOT NULL,
  kind          text NOT NULL
                CONSTRAINT kind_is_known
                CHECK (kind IN ('undeclared_risk_stay', 'undeclared_contact', 'undeclared_fever')),
  detail        jsonb NOT NULL,
  found_at      timestamptz NOT NULL DEFAULT pg_catalog.now()
                CONSTRAINT found_at_is_finite CHECK (pg_catalog.isfinite(found_at)),
  status        text NOT NULL DEFAULT 'open'
                CONSTRAINT status_is_known CHECK (status IN ('open', 'confirmed', 'dismissed')),
  reviewed_by   text,
  reviewed_at   timestamptz,
  review_reason text,
  CONSTRAINT audit_finding_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT audit_finding_declaration_fk FOREIGN KEY (declaration_id, person_id)
    REFERENCES @extschema@.declaration (id, person_id) ON DELETE CASCADE,
  CONSTRAINT audit_finding_natural_key UNIQUE (declaration_id, kind),
  CONSTRAINT review_is_complete
    CHECK ((status = 'open') = (reviewed_at IS NULL)
           AND (status = 'open' OR (reviewed_by IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(review_reason)) > 0)))
);
CREATE INDEX audit_finding_person ON @extschema@.audit_finding (person_id);
COMMENT ON TABLE @extschema@.audit_finding IS
  'What the background audit found: a declaration contradicted by imported data. Open and confirmed findings make yellow for the lookback window; a dismissed one counts for nothing.';
COMMENT ON COLUMN @extschema@.audit_finding.id IS 'Finding id.';
COMMENT ON COLUMN @extschema@.audit_finding.person_id IS 'The declaring person.';
COMMENT ON COLUMN @extschema@.audit_finding.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.audit_finding.declaration_id IS 'The declaration found inconsistent.';
COMMENT ON COLUMN @extschema@.audit_finding.kind IS 'undeclared_risk_stay (itinerary shows a risk-area stay the declaration left out), undeclared_contact (the tracing list names the person), undeclared_fever (a check-in shows fever the declaration denied).';
COMMENT ON COLUMN @extschema@.audit_finding.detail IS 'The evidence behind the finding (record ids, places, times).';
COMMENT ON COLUMN @extschema@.audit_finding.found_at IS 'When the audit found it.';
COMMENT ON COLUMN @extschema@.audit_finding.status IS 'open, confirmed or dismissed (by an operator, with a reason).';
COMMENT ON COLUMN @extschema@.audit_finding.reviewed_by IS 'The operator role that reviewed it.';
COMMENT ON COLUMN @extschema@.audit_finding.reviewed_at IS 'When it was reviewed.';
COMMENT ON COLUMN @extschema@.audit_finding.review_reason IS 'Why it was confirmed or dismissed.';

CREATE TABLE @extschema@.correction (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  evidence      text NOT NULL
                CONSTRAINT evidence_is_known
                CHECK (evidence IN ('travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration')),
  evidence_id   bigint NOT NULL,
  claim         text NOT NULL CONSTRAINT claim_is_given CHECK (pg_catalog.length(pg_catalog.btrim(claim)) > 0),
  requested_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  status        text NOT NULL DEFAULT 'pending'
                CONSTRAINT status_is_known CHECK (status IN ('pending', 'accepted', 'rejected')),
  decided_by    text,
  decided_at    timestamptz,
  decision_reason text,
  evidence_snapshot jsonb,
  CONSTRAINT correction_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE,
  CONSTRAINT decision_is_complete
    CHECK ((status = 'pending') = (decided_at IS NULL)
           AND (status = 'pending' OR (decided_by IS NOT NULL AND pg_catalog.length(pg_catalog.btrim(decision_reason)) > 0)))
);
CREATE INDEX correction_pending ON @extschema@.correction (requested_at) WHERE status = 'pending';
COMMENT ON TABLE @extschema@.correction IS
  'Error correction (GB/T 38963): a person disputes one piece of evidence; an operator accepts (the evidence is removed, a copy kept here, the status follows) or rejects it, with a reason.';
COMMENT ON COLUMN @extschema@.correction.id IS 'Correction request id.';
COMMENT ON COLUMN @extschema@.correction.person_id IS 'The person asking.';
COMMENT ON COLUMN @extschema@.correction.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.correction.evidence IS 'The evidence table disputed.';
COMMENT ON COLUMN @extschema@.correction.evidence_id IS 'The id of the disputed row.';
COMMENT ON COLUMN @extschema@.correction.claim IS 'What the person says is wrong.';
COMMENT ON COLUMN @extschema@.correction.requested_at IS 'When it was asked.';
COMMENT ON COLUMN @extschema@.correction.status IS 'pending, accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.decided_by IS 'The operator role that decided.';
COMMENT ON COLUMN @extschema@.correction.decided_at IS 'When it was decided.';
COMMENT ON COLUMN @extschema@.correction.decision_reason IS 'Why it was accepted or rejected.';
COMMENT ON COLUMN @extschema@.correction.evidence_snapshot IS 'The removed evidence row, as it was, when accepted.';

CREATE INDEX person_region ON @extschema@.person (region);
CREATE INDEX person_national_subject ON @extschema@.person (national_subject) WHERE national_subject IS NOT NULL;

-- Reds decided in a region, pushed to every other one through the hub
-- (92_federation.sql): a node's own rows are those of its people, the
-- others arrive by logical replication. A person registered here with the
-- same national pseudonym is red for as long as the pushing region says.
CREATE TABLE @extschema@.red_push (
  national_subject bytea NOT NULL,
  from_region   text NOT NULL,
  since         timestamptz NOT NULL,
  until         timestamptz NOT NULL,
  rules         text[] NOT NULL DEFAULT '{}',
  pushed_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT red_push_pkey PRIMARY KEY (national_subject, from_region)
);
COMMENT ON TABLE @extschema@.red_push IS
  'Red statuses pushed between regions ("red codes pushed by other provinces"): the national pseudonym (never an identifier), the deciding region, since and until when, the rule names. No constraint can fail on a replicated row: checks are in a trigger that logs and skips a bad one.';
COMMENT ON COLUMN @extschema@.red_push.national_subject IS 'The person''s national pseudonym.';
COMMENT ON COLUMN @extschema@.red_push.from_region IS 'The home region of the person in the deciding region''s node.';
COMMENT ON COLUMN @extschema@.red_push.since IS 'Red since.';
COMMENT ON COLUMN @extschema@.red_push.until IS 'Red until (the deciding region''s timeline; infinity while it lasts).';
COMMENT ON COLUMN @extschema@.red_push.rules IS 'Why, as rule names only (no places, no times).';
COMMENT ON COLUMN @extschema@.red_push.pushed_at IS 'When the deciding node last wrote it.';
-- ---------------------------------------------------------------------------
-- Region policy as data. A version holds every number the status rules
-- read, for a region and a validity [valid_from, valid_until). At any
-- instant a person is governed by the most specific region on their chain
-- (county, city, province, nation) that has a version in force, and of
-- that region's versions by the one starting latest. Versions are data
-- with effective dates, so a policy effective tomorrow changes colours
-- tomorrow: the status engine cuts every timeline at version boundaries.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.policy (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL
                CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  valid_from    timestamptz NOT NULL DEFAULT '-infinity'
                CONSTRAINT valid_from_not_plus_infinity CHECK (valid_from < 'infinity'),
  valid_until   timestamptz
                CONSTRAINT valid_until_is_finite CHECK (pg_catalog.isfinite(valid_until)),
  lookback_days integer NOT NULL DEFAULT 14
                CONSTRAINT lookback_days_between_1_and_366 CHECK (lookback_days BETWEEN 1 AND 366),
  quarantine_days_red integer NOT NULL DEFAULT 14
                CONSTRAINT quarantine_days_red_between_1_and_366 CHECK (quarantine_days_red BETWEEN 1 AND 366),
  quarantine_days_yellow integer NOT NULL DEFAULT 7
                CONSTRAINT quarantine_days_yellow_between_1_and_366 CHECK (quarantine_days_yellow BETWEEN 1 AND 366),
  red_release_negative_tests integer NOT NULL DEFAULT 2
                CONSTRAINT red_release_negative_tests_between_0_and_10 CHECK (red_release_negative_tests BETWEEN 0 AND 10),
  negative_test_valid_hours integer NOT NULL DEFAULT 48
                CONSTRAINT negative_test_valid_hours_between_1_and_744 CHECK (negative_test_valid_hours BETWEEN 1 AND 744),
  fever_celsius numeric NOT NULL DEFAULT 37.3
                CONSTRAINT fever_celsius_between_35_and_43 CHECK (fever_celsius BETWEEN 35.0 AND 43.0)
                CONSTRAINT fever_celsius_in_tenths CHECK (fever_celsius = pg_catalog.round(fever_celsius, 1)),
  vaccinated_min_doses integer NOT NULL DEFAULT 2
                CONSTRAINT vaccinated_min_doses_between_0_and_10 CHECK (vaccinated_min_doses BETWEEN 0 AND 10),
  symptoms_yellow boolean NOT NULL DEFAULT true,
  periodic_testing boolean NOT NULL DEFAULT false,
  test_window   text NOT NULL DEFAULT 'hours'
                CONSTRAINT test_window_is_known CHECK (test_window IN ('hours', 'calendar_days')),
  two_negatives_release_yellow boolean NOT NULL DEFAULT true,
  description_zh text NOT NULL CONSTRAINT description_zh_is_given CHECK (pg_catalog.length(description_zh) > 0),
  description_en text NOT NULL CONSTRAINT description_en_is_given CHECK (pg_catalog.length(description_en) > 0),
  created_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT valid_until_after_from CHECK (valid_until > valid_from),
  CONSTRAINT policy_natural_key UNIQUE (region, valid_from)
);
COMMENT ON TABLE @extschema@.policy IS
  'Versioned status-rule parameters per region, inherited down the division hierarchy (county <- city <- province <- national 000000). Changing a version recalculates the people it governs.';
COMMENT ON COLUMN @extschema@.policy.id IS 'Version id.';
COMMENT ON COLUMN @extschema@.policy.region IS 'The division the version is for; it governs the divisions below it that have no version of their own in force.';
COMMENT ON COLUMN @extschema@.policy.valid_from IS 'When the version takes effect (-infinity: always).';
COMMENT ON COLUMN @extschema@.policy.valid_until IS 'When it stops; NULL: until a later version of the region replaces it.';
COMMENT ON COLUMN @extschema@.policy.lookback_days IS 'How long a stay in a risk area, a contact or an audit finding counts (days).';
COMMENT ON COLUMN @extschema@.policy.quarantine_days_red IS 'Consecutive normal daily check-ins that release red.';
COMMENT ON COLUMN @extschema@.policy.quarantine_days_yellow IS 'Consecutive normal daily check-ins that release yellow.';
COMMENT ON COLUMN @extschema@.policy.red_release_negative_tests IS 'Negative tests (24 h apart, after the trigger) also needed to release red; 0: none.';
COMMENT ON COLUMN @extschema@.policy.negative_test_valid_hours IS 'How long a negative test counts (periodic testing, arrival rules).';
COMMENT ON COLUMN @extschema@.policy.fever_celsius IS 'A temperature at or above this is fever.';
COMMENT ON COLUMN @extschema@.policy.vaccinated_min_doses IS 'Doses needed for the "vaccinated" mark; 0: everyone.';
COMMENT ON COLUMN @extschema@.policy.symptoms_yellow IS 'Whether symptoms, fever or an abnormal check-in make yellow.';
COMMENT ON COLUMN @extschema@.policy.periodic_testing IS 'Whether a negative test is required at all times: yellow once the last one stops counting.';
COMMENT ON COLUMN @extschema@.policy.test_window IS 'hours (a 48 h test counts 48 hours from sampling) or calendar_days (through the end of the second day after).';
COMMENT ON COLUMN @extschema@.policy.two_negatives_release_yellow IS 'Whether two negative tests within 3 days, at least 24 h apart, release yellow at once.';
COMMENT ON COLUMN @extschema@.policy.description_zh IS 'What the version says, in Chinese.';
COMMENT ON COLUMN @extschema@.policy.description_en IS 'What the version says, in English.';
COMMENT ON COLUMN @extschema@.policy.created_at IS 'When the version was recorded.';

-- The national default (DESIGN.md "Status rules"). It is part of the
-- extension, not of the data: the dump filter leaves it out, and a guard
-- keeps it unchanged. Change national rules by adding a later version.
INSERT INTO @extschema@.policy (region, valid_from, description_zh, description_en) VALUES
  ('000000', '-infinity',
   '全国默认规则：14天内到过高风险区、密切接触者或核酸阳性为红码；到过中风险区、次密接、有发热或症状、申报与核查不符为黄码；红码连续14天健康打卡正常且2次核酸阴性后转绿，黄码连续7天打卡正常或3天内2次间隔24小时以上核酸阴性后转绿。',
   'National default: red for a stay in a high-risk area within 14 days, a close contact or a positive test; yellow for a medium-risk stay, a secondary contact, fever or symptoms, or a declaration the audit contradicts; red is released after 14 consecutive normal daily check-ins and 2 negative tests, yellow after 7 normal check-ins or two negative tests within 3 days at least 24 h apart.');

CREATE FUNCTION @extschema@._policy_default_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  IF OLD.region = '000000' AND OLD.valid_from = '-infinity' THEN
    RAISE EXCEPTION 'the national default policy version is part of the extension and cannot be changed'
      USING ERRCODE = '22023',
            HINT = 'Add a later national version: INSERT INTO healthcode.policy (region, valid_from, ...) VALUES (''000000'', ...).';
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_default_guard() IS
  'Trigger: keeps the built-in national default version unchanged.';
CREATE TRIGGER policy_default_guard BEFORE UPDATE OR DELETE ON @extschema@.policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_default_guard();
CREATE FUNCTION @extschema@._policy_truncate_guard() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
BEGIN
  RAISE EXCEPTION 'the policy table holds the national default version and cannot be truncated'
    USING ERRCODE = '22023', HINT = 'Delete the regional versions instead.';
END $$;
COMMENT ON FUNCTION @extschema@._policy_truncate_guard() IS
  'Trigger: TRUNCATE would remove the built-in national default version.';
CREATE TRIGGER policy_truncate_guard BEFORE TRUNCATE ON @extschema@.policy
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._policy_truncate_guard();

CREATE FUNCTION @extschema@._timestamptz_us(timestamptz) RETURNS bigint
  AS 'MODULE_PATHNAME', 'healthcode_timestamptz_us'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION @extschema@._timestamptz_us(timestamptz) IS
  'Internal: a timestamptz as microseconds since 2000-01-01 (infinities as the bigint extremes), the status engine''s time scale.';

-- Every version on a region's chain, flattened for the status engine
-- (layout in src/hc_status_pg.c).
CREATE FUNCTION @extschema@._policy_vector(region text) RETURNS bigint[]
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT COALESCE(pg_catalog.array_agg(ARRAY[
           @extschema@.division_rank(p.region)::bigint,
           @extschema@._timestamptz_us(p.valid_from),
           @extschema@._timestamptz_us(COALESCE(p.valid_until, 'infinity')),
           p.lookback_days, p.quarantine_days_red, p.quarantine_days_yellow,
           p.red_release_negative_tests, p.negative_test_valid_hours,
           (p.fever_celsius OPERATOR(pg_catalog.*) 10)::bigint, p.vaccinated_min_doses,
           p.symptoms_yellow::integer, p.periodic_testing::integer,
           (p.test_window OPERATOR(pg_catalog.=) 'calendar_days')::integer,
           p.two_negatives_release_yellow::integer] ORDER BY p.id), '{}')
    FROM @extschema@.policy p
   WHERE p.region OPERATOR(pg_catalog.=) ANY (@extschema@.division_chain(_policy_vector.region));
END;
COMMENT ON FUNCTION @extschema@._policy_vector(text) IS
  'Internal: every policy version on a region''s chain as the bigint[] the status engine reads.';

-- The policy in force for a region at an instant, for people to read.
CREATE FUNCTION @extschema@.policy_at(region text, at timestamptz DEFAULT pg_catalog.now())
RETURNS @extschema@.policy
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.policy;
BEGIN
  IF NOT @extschema@.division_code_valid(policy_at.region) THEN
    RAISE EXCEPTION 'invalid division code for region: %', quote_literal(@extschema@._shorten(policy_at.region))
      USING ERRCODE = '22023';
  END IF;
  IF NOT isfinite(policy_at.at) THEN
    RAISE EXCEPTION 'at must be a finite time, not %', policy_at.at USING ERRCODE = '22008';
  END IF;
  SELECT * INTO p
    FROM @extschema@.policy v
   WHERE v.region = ANY (@extschema@.division_chain(policy_at.region))
     AND v.valid_from <= policy_at.at
     AND (v.valid_until IS NULL OR policy_at.at < v.valid_until)
   ORDER BY @extschema@.division_rank(v.region) DESC, v.valid_from DESC, v.id DESC
   LIMIT 1;
  RETURN p;
END $$;
COMMENT ON FUNCTION @extschema@.policy_at(text, timestamptz) IS
  'The policy version that governs a region at a finite instant: the most specific region on its chain with a version in force, then the latest-starting version.';

-- The longest lookback of any version in force now or later: windowed
-- evidence older than this cannot change any colour from now on.
CREATE FUNCTION @extschema@._evidence_horizon(at timestamptz) RETURNS timestamptz
LANGUAGE sql STABLE STRICT PARALLEL SAFE
BEGIN ATOMIC
  SELECT _evidence_horizon.at OPERATOR(pg_catalog.-)
         pg_catalog.make_interval(days => COALESCE(pg_catalog.max(p.lookback_days), 14))
    FROM @extschema@.policy p
   WHERE p.valid_until IS NULL OR p.valid_until OPERATOR(pg_catalog.>) _evidence_horizon.at;
END;
COMMENT ON FUNCTION @extschema@._evidence_horizon(timestamptz) IS
  'Internal: at minus the longest lookback of any policy version in force at or after at. Windowed evidence older than this cannot change a colour from at on.';
-- ---------------------------------------------------------------------------
-- Status: each person's colour, mark and reasons, kept current by
-- statement-level triggers on every evidence table.
--
-- Design ("right at any read time without a background job"): the status
-- engine (src/hc_core_status.c) computes a person's whole future as a
-- timeline: the current segment (colour, vaccinated, reasons, valid_until)
-- and the later segments (next), e.g. "yellow until the medium-risk stay
-- leaves the 14-day window, then green". Evidence does not change by
-- itself, so that timeline stays exact until new evidence arrives, and a
-- read at any time takes the segment containing its instant
-- (healthcode.status(), healthcode.current_status). Triggers recompute
-- the timeline of exactly the people a statement's evidence touches.
--
-- Inputs: each row also keeps the evidence its timeline came from, packed
-- (inputs), so that a risk-area change, which can only change stays,
-- recomputes people from it and their re-examined stays without reading
-- every evidence table again (doc/status.md, "Risk-area changes").
--
-- History: a change caused by data is appended when it happens; a change
-- caused by time (a window ending) is appended when the person's row is
-- next rewritten, and until then shown by the status_changes view, which
-- always holds both.
-- ---------------------------------------------------------------------------

CREATE TABLE @extschema@.person_status (
  person_id     bigint PRIMARY KEY,
  region        text NOT NULL,
  colour        @extschema@.risk_colour NOT NULL,
  vaccinated    boolean NOT NULL,
  reasons       jsonb NOT NULL,
  since         timestamptz NOT NULL,
  valid_until   timestamptz NOT NULL,
  next          jsonb NOT NULL DEFAULT '[]',
  computed_at   timestamptz NOT NULL,
  inputs        bytea,
  CONSTRAINT person_status_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE CASCADE
);
CREATE INDEX person_status_region ON @extschema@.person_status (region, colour);
COMMENT ON TABLE @extschema@.person_status IS
  'Each person''s stored status timeline as of computed_at: the segment then current and the later ones. Read it through healthcode.status() or current_status, which pick the segment of the read time.';
COMMENT ON COLUMN @extschema@.person_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.person_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.person_status.colour IS 'Colour of the segment current at computed_at.';
COMMENT ON COLUMN @extschema@.person_status.vaccinated IS 'The "vaccinated" mark of that segment.';
COMMENT ON COLUMN @extschema@.person_status.reasons IS 'Why that segment has its colour: [{rule, colour, at, place, ref, text}], e.g. text "stayed in 330106 (high risk) on 2022-04-02".';
COMMENT ON COLUMN @extschema@.person_status.since IS 'When the person''s colour last changed.';
COMMENT ON COLUMN @extschema@.person_status.valid_until IS 'When that segment ends without new evidence (colour, mark or reasons change); infinity if never.';
COMMENT ON COLUMN @extschema@.person_status.next IS 'The later segments: [{from, until, colour, vaccinated, reasons}].';
COMMENT ON COLUMN @extschema@.person_status.computed_at IS 'When the timeline was computed.';
COMMENT ON COLUMN @extschema@.person_status.inputs IS 'The evidence the timeline was computed from, packed (the engine''s events): a risk-area change recomputes people from it and their re-examined stays, without reading every evidence table again. NULL: recompute from the evidence tables.';

CREATE TABLE @extschema@.status_history (
  id            bigserial PRIMARY KEY,
  person_id     bigint NOT NULL,
  region        text NOT NULL,
  at            timestamptz NOT NULL,
  from_colour   @extschema@.risk_colour,
  to_colour     @extschema@.risk_colour NOT NULL,
  reasons       jsonb NOT NULL,
  cause         text NOT NULL
);
-- No foreign key to person: only _recompute() writes history, for people
-- it has just read, and a per-row key check would cost a recalculation of
-- ten thousand people more than its whole status update. What the key's
-- cascades did, the person triggers do set-based (_person_changed(),
-- _person_removed()): a person's move renames their history's region, a
-- person's deletion deletes their history.

CREATE INDEX status_history_person ON @extschema@.status_history (person_id, at);
CREATE INDEX status_history_at ON @extschema@.status_history (at);
COMMENT ON TABLE @extschema@.status_history IS
  'Every colour change, appended: from, to, the reasons of the new colour, when, and the cause (the evidence table and operation, a correction, or "time" when a window ended). See status_changes for the complete history at read time.';
COMMENT ON COLUMN @extschema@.status_history.id IS 'History entry id (order of writing).';
COMMENT ON COLUMN @extschema@.status_history.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_history.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_history.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_history.from_colour IS 'The colour before; NULL for a person''s first status.';
COMMENT ON COLUMN @extschema@.status_history.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_history.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_history.cause IS 'What changed: e.g. "risk_area update", "test_result insert", "time", or healthcode.change_cause.';

-- ---- the engine's aggregate --------------------------------------------------

CREATE TYPE @extschema@.status_timeline AS (
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  valid_until   timestamptz,
  next          jsonb,
  inputs        bytea
);
COMMENT ON TYPE @extschema@.status_timeline IS
  'A computed status timeline: the segment current at its start (colour, vaccinated, reasons, valid_until), the later segments (next), and the evidence it was computed from (inputs).';
COMMENT ON COLUMN @extschema@.status_timeline.colour IS 'Colour of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.vaccinated IS 'The "vaccinated" mark of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.reasons IS 'Reasons of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.valid_until IS 'End of the first segment.';
COMMENT ON COLUMN @extschema@.status_timeline.next IS 'The later segments: [{from, until, colour, vaccinated, reasons}].';
COMMENT ON COLUMN @extschema@.status_timeline.inputs IS 'The evidence, packed: see person_status.inputs.';

CREATE FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint,
                                         bigint[], timestamptz)
RETURNS internal
  AS 'MODULE_PATHNAME', 'healthcode_status_step' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_step(internal, text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz) IS
  'Internal: transition function of _status_agg (collects one piece of evidence).';
CREATE FUNCTION @extschema@._status_final(internal) RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_final' LANGUAGE C PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_final(internal) IS
  'Internal: final function of _status_agg (runs the status engine).';
CREATE AGGREGATE @extschema@._status_agg(kind text, at timestamptz, until timestamptz, value integer,
                                         place text, ref bigint, policy bigint[], start timestamptz) (
  SFUNC = @extschema@._status_step,
  STYPE = internal,
  FINALFUNC = @extschema@._status_final
);
COMMENT ON AGGREGATE @extschema@._status_agg(text, timestamptz, timestamptz, integer, text, bigint, bigint[], timestamptz) IS
  'Internal: one person''s evidence rows (kind, at, until, value, place, ref) under a policy vector -> their status timeline from start on.';

-- ---- one person's evidence, as the engine's events ---------------------------

-- Stays count only where a medium- or high-risk designation covering the
-- place was in force at the time of the stay; the highest level wins.
-- Two ways to find them: from the people (each day partition's index on
-- person_id; cheap for a few people) or from the designations (the index
-- on place; cheap for many people, as when an area is upgraded).
CREATE FUNCTION @extschema@._risky_stays(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, id bigint, at timestamptz, place text, high boolean)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
  IF cardinality(persons) > 200 THEN
    RETURN QUERY
    SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high')
      FROM @extschema@.risk_area a
      JOIN @extschema@.travel t
        ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
       AND t.at >= GREATEST(a.effective_from, horizon)
       AND (a.effective_until IS NULL OR t.at < a.effective_until)
     WHERE a.level <> 'low'
       AND t.person_id IN (SELECT unnest(persons))
     GROUP BY t.person_id, t.id, t.at, t.place;
  ELSE
    RETURN QUERY
    SELECT t.person_id, t.id, t.at, t.place, bool_or(a.level = 'high')
      FROM unnest(persons) AS q(id)
      JOIN @extschema@.travel t ON t.person_id = q.id AND t.at >= horizon
      JOIN @extschema@.risk_area a
        ON a.division = ANY (@extschema@.division_chain(t.place))
       AND a.level <> 'low'
       AND t.at >= a.effective_from
       AND (a.effective_until IS NULL OR t.at < a.effective_until)
     GROUP BY t.person_id, t.id, t.at, t.place;
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._risky_stays(bigint[], timestamptz) IS
  'Internal: the people''s stays since horizon in places covered by a medium- or high-risk designation in force at the time (high when any covering one was high).';

CREATE FUNCTION @extschema@._evidence(persons bigint[], horizon timestamptz)
RETURNS TABLE (person_id bigint, kind text, at timestamptz, until timestamptz, value integer,
               place text, ref bigint)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT p.id, 'registered', p.registered_at, NULL::timestamptz, NULL::integer, NULL::text, p.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT s.person_id, CASE WHEN s.high THEN 'stay_high' ELSE 'stay_medium' END, s.at, NULL, NULL, s.place, s.id
    FROM @extschema@._risky_stays(persons, horizon) s
  UNION ALL
  SELECT r.person_id, CASE r.result WHEN 'positive' THEN 'positive_test' ELSE 'negative_test' END,
         r.sampled_at, NULL, NULL, NULL, r.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.test_result r ON r.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT c.person_id, CASE c.kind WHEN 'close' THEN 'close_contact' ELSE 'secondary_contact' END,
         c.exposure_at, NULL, NULL, NULL, c.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.contact c ON c.person_id OPERATOR(pg_catalog.=) q.id
   WHERE c.exposure_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT d.person_id, e.kind, d.declared_at, NULL, e.value, NULL, d.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.declaration d ON d.person_id OPERATOR(pg_catalog.=) q.id
    CROSS JOIN LATERAL (VALUES
      ('symptoms', NULL::integer, pg_catalog.cardinality(d.symptoms) OPERATOR(pg_catalog.>) 0),
      ('temperature', (d.temperature OPERATOR(pg_catalog.*) 10)::integer, d.temperature IS NOT NULL),
      ('declared_contact', NULL::integer, d.contact_with_case AND d.declared_at OPERATOR(pg_catalog.>=) horizon)
    ) AS e(kind, value, present)
   WHERE e.present
  UNION ALL
  SELECT k.person_id,
         CASE WHEN pg_catalog.cardinality(k.symptoms) OPERATOR(pg_catalog.>) 0 THEN 'checkin_symptoms' ELSE 'checkin' END,
         k.at, NULL, (k.temperature OPERATOR(pg_catalog.*) 10)::integer, NULL, k.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.checkin k ON k.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT v.person_id, 'vaccination', v.given_at, NULL, v.dose, NULL, v.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.vaccination v ON v.person_id OPERATOR(pg_catalog.=) q.id
  UNION ALL
  SELECT f.person_id, 'finding', f.found_at, NULL, NULL, NULL, f.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.audit_finding f ON f.person_id OPERATOR(pg_catalog.=) q.id
   WHERE f.status OPERATOR(pg_catalog.<>) 'dismissed'
     AND f.found_at OPERATOR(pg_catalog.>=) horizon
  UNION ALL
  SELECT p.id, 'pushed_red', r.since, r.until, NULL, r.from_region, NULL
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) q.id
    JOIN @extschema@.red_push r ON r.national_subject OPERATOR(pg_catalog.=) p.national_subject
   WHERE r.from_region OPERATOR(pg_catalog.<>) p.region
     AND r.until OPERATOR(pg_catalog.>) r.since
  UNION ALL
  SELECT m.person_id, CASE m.kind WHEN 'override' THEN 'override' ELSE 'release' END,
         m.valid_from, m.valid_until,
         CASE m.colour WHEN 'green' THEN 0 WHEN 'yellow' THEN 1 WHEN 'red' THEN 2 END, NULL, m.id
    FROM pg_catalog.unnest(persons) AS q(id)
    JOIN @extschema@.manual_decision m ON m.person_id OPERATOR(pg_catalog.=) q.id;
END;
COMMENT ON FUNCTION @extschema@._evidence(bigint[], timestamptz) IS
  'Internal: every piece of evidence the status rules read for the people, as engine events (kind, at, until, value, place, ref). Windowed evidence (stays, contacts, a declared contact, findings: hc_event_windowed() in C) older than horizon is left out: it cannot change a colour any more.';

-- A fresh timeline for each person, from `start` on.
CREATE FUNCTION @extschema@._fresh_status(persons bigint[], start timestamptz)
RETURNS TABLE (person_id bigint, region text, timeline @extschema@.status_timeline)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  WITH who AS MATERIALIZED (
    SELECT p.id, p.region
      FROM (SELECT DISTINCT q.id FROM pg_catalog.unnest(persons) AS q(id)) d
      JOIN @extschema@.person p ON p.id OPERATOR(pg_catalog.=) d.id
  ), policies AS MATERIALIZED (
    SELECT r.region, @extschema@._policy_vector(r.region) AS vec
      FROM (SELECT DISTINCT who.region FROM who) r
  )
  SELECT who.id, who.region,
         @extschema@._status_agg(e.kind, e.at, e.until, e.value, e.place, e.ref, v.vec, start)
    FROM who
    JOIN policies v ON v.region OPERATOR(pg_catalog.=) who.region
    -- in id order: each evidence table's index is then probed in order
    LEFT JOIN @extschema@._evidence(ARRAY(SELECT who.id FROM who ORDER BY who.id),
                                    @extschema@._evidence_horizon(start)) e
      ON e.person_id OPERATOR(pg_catalog.=) who.id
   GROUP BY who.id, who.region;
END;
COMMENT ON FUNCTION @extschema@._fresh_status(bigint[], timestamptz) IS
  'Internal: the status timeline of each person computed from the raw evidence and policy, from start on.';

-- One person's stays a risk-area change re-examined, each with the level
-- the designations in force at its time give it now: high true (high
-- risk), false (medium), NULL (no risk any more). Arrays side by side.
CREATE TYPE @extschema@.reexamined_stays AS (
  person_id     bigint,
  ids           bigint[],
  ats           timestamptz[],
  places        text[],
  highs         boolean[]
);
COMMENT ON TYPE @extschema@.reexamined_stays IS
  'Internal: one person''s stays a risk-area change re-examined, and their levels now (arrays side by side).';
COMMENT ON COLUMN @extschema@.reexamined_stays.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ids IS 'The travel records.';
COMMENT ON COLUMN @extschema@.reexamined_stays.ats IS 'When each stay was.';
COMMENT ON COLUMN @extschema@.reexamined_stays.places IS 'Where.';
COMMENT ON COLUMN @extschema@.reexamined_stays.highs IS 'Each one''s level now: true high risk, false medium, NULL none.';

-- A person's timeline after a risk-area change, from their stored inputs:
-- only stays' levels change with a risk area, so their inputs less the
-- re-examined stays, plus those still risky, are their whole evidence, and
-- no evidence table is read.
CREATE FUNCTION @extschema@._status_restayed(inputs bytea, stay_ids bigint[], stay_at timestamptz[],
                                             stay_place text[], stay_high boolean[], policy bigint[],
                                             start timestamptz, horizon timestamptz)
RETURNS @extschema@.status_timeline
  AS 'MODULE_PATHNAME', 'healthcode_status_restayed' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._status_restayed(bytea, bigint[], timestamptz[], text[], boolean[], bigint[], timestamptz, timestamptz) IS
  'Internal: one person''s status timeline from start on after a risk-area change: their stored inputs less the windowed events before horizon and the re-examined stays (stay_ids), plus those stays still risky (stay_high true high, false medium, NULL none).';

-- ---- reading a stored timeline at an instant -----------------------------------

CREATE TYPE @extschema@.status_instant AS (
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  since         timestamptz,
  valid_until   timestamptz,
  next          jsonb
);
COMMENT ON TYPE @extschema@.status_instant IS
  'A status at an instant: colour, mark, reasons, since, valid_until and the later segments.';
COMMENT ON COLUMN @extschema@.status_instant.colour IS 'The colour at the instant.';
COMMENT ON COLUMN @extschema@.status_instant.vaccinated IS 'The "vaccinated" mark at the instant.';
COMMENT ON COLUMN @extschema@.status_instant.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.status_instant.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.status_instant.valid_until IS 'Until when the status holds without new evidence.';
COMMENT ON COLUMN @extschema@.status_instant.next IS 'The segments after it.';

-- The slow path: the instant lies past the stored current segment.
CREATE FUNCTION @extschema@._status_later(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.status_instant;
  seg jsonb;
  prev @extschema@.risk_colour;
  i integer;
BEGIN
  IF s IS NULL THEN
    RAISE EXCEPTION 's (a stored status) must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF at IS NULL THEN
    RAISE EXCEPTION 'at must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF jsonb_typeof(s.next) IS DISTINCT FROM 'array' THEN
    RAISE EXCEPTION 's.next must be a JSON array of segments, not %', coalesce(jsonb_typeof(s.next), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  r := ROW(s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next);
  IF at < s.valid_until OR s.valid_until = 'infinity' THEN
    RETURN r;
  END IF;
  FOR i IN 0 .. jsonb_array_length(s.next) - 1 LOOP
    seg := s.next -> i;
    prev := r.colour;
    r.colour := (seg ->> 'colour')::@extschema@.risk_colour;
    r.vaccinated := (seg ->> 'vaccinated')::boolean;
    r.reasons := seg -> 'reasons';
    r.valid_until := (seg ->> 'until')::timestamptz;
    IF r.colour <> prev THEN
      r.since := (seg ->> 'from')::timestamptz;
    END IF;
    IF at < r.valid_until OR r.valid_until = 'infinity' THEN
      r.next := (SELECT coalesce(jsonb_agg(x.e ORDER BY x.o), '[]'::jsonb)
                   FROM jsonb_array_elements(s.next) WITH ORDINALITY AS x(e, o)
                  WHERE x.o > i + 1);
      RETURN r;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'status timeline of person % does not reach %', s.person_id, at
    USING ERRCODE = 'XX000';
END $$;
COMMENT ON FUNCTION @extschema@._status_later(@extschema@.person_status, timestamptz) IS
  'Internal: a stored timeline read at an instant past its current segment.';

CREATE FUNCTION @extschema@.status_at(s @extschema@.person_status, at timestamptz)
RETURNS @extschema@.status_instant
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN at IS NOT NULL
                 AND (at OPERATOR(pg_catalog.<) s.valid_until OR s.valid_until OPERATOR(pg_catalog.=) 'infinity')
            THEN ROW(s.colour, s.vaccinated, s.reasons, s.since, s.valid_until, s.next)::@extschema@.status_instant
            ELSE @extschema@._status_later(s, at) END;
COMMENT ON FUNCTION @extschema@.status_at(@extschema@.person_status, timestamptz) IS
  'A stored status timeline read at an instant (not before computed_at): the segment containing it, since when the colour holds, and the later segments.';

-- The colour changes of a stored timeline that time has reached by upto:
-- the boundaries of its later segments where the colour differs.
CREATE FUNCTION @extschema@._elapsed_changes(colour @extschema@.risk_colour, next jsonb, upto timestamptz)
RETURNS TABLE (at timestamptz, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, reasons jsonb)
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT g.at, g.prev, g.colour, g.reasons
    FROM (SELECT (x.seg OPERATOR(pg_catalog.->>) 'from')::timestamptz AS at,
                 (x.seg OPERATOR(pg_catalog.->>) 'colour')::@extschema@.risk_colour AS colour,
                 x.seg OPERATOR(pg_catalog.->) 'reasons' AS reasons,
                 COALESCE((pg_catalog.lag(x.seg) OVER (ORDER BY x.o) OPERATOR(pg_catalog.->>) 'colour')::@extschema@.risk_colour,
                          _elapsed_changes.colour) AS prev
            FROM pg_catalog.jsonb_array_elements(_elapsed_changes.next) WITH ORDINALITY AS x(seg, o)) g
   WHERE g.at OPERATOR(pg_catalog.<=) _elapsed_changes.upto AND g.colour OPERATOR(pg_catalog.<>) g.prev;
END;
COMMENT ON FUNCTION @extschema@._elapsed_changes(@extschema@.risk_colour, jsonb, timestamptz) IS
  'Internal: the colour changes a stored timeline (its first colour and later segments) has reached by upto: when, from, to, the new reasons.';

-- ---- recalculation ---------------------------------------------------------------

CREATE FUNCTION @extschema@._recompute(persons bigint[], cause text, exclusive boolean DEFAULT false,
                                       restayed @extschema@.reexamined_stays[] DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_custom_plan
-- each person's evidence is aggregated in memory: room for big batches
SET work_mem = '64MB'
AS $$
DECLARE
  t timestamptz := statement_timestamp();
  horizon timestamptz := @extschema@._evidence_horizon(t);
  n integer;
BEGIN
  IF coalesce(cardinality(persons), 0) = 0 THEN
    RETURN 0;
  END IF;
  -- each person once, in id order (the order of every index probed below;
  -- the people of re-examined stays come so)
  IF restayed IS NULL THEN
    persons := ARRAY(SELECT DISTINCT q.id FROM unnest(persons) AS q(id) WHERE q.id IS NOT NULL ORDER BY q.id);
  END IF;
  -- Recalculations of the same person queue up here; the next statement
  -- takes a new snapshot, so (in READ COMMITTED) the later one sees the
  -- earlier one's evidence and no concurrent change is lost. A caller
  -- holding the evidence lock exclusively (exclusive) has no concurrent
  -- recalculation to queue behind: every other one holds it shared.
  IF NOT exclusive THEN
    PERFORM 1 FROM @extschema@.person_status s
      WHERE s.person_id IN (SELECT unnest(persons)) ORDER BY s.person_id FOR UPDATE OF s;
  END IF;

  -- (restayed is a constant of the custom plan: the branches of the other
  -- case are planned away)
  WITH cur AS MATERIALIZED (
    -- the stored rows: read at t, and where they lie (updated below by
    -- that: no other recalculation can move them, see the lock above);
    -- after a risk-area change, with each person's re-examined stays
    SELECT s.ctid AS row_id, s.person_id, s.region, s.colour AS stored_colour, s.next AS stored_next,
           s.valid_until AS stored_valid_until, s.inputs AS stored_inputs, @extschema@.status_at(s, t) AS v,
           NULL::@extschema@.reexamined_stays AS x
      FROM @extschema@.person_status s
     WHERE s.person_id = ANY (persons) AND restayed IS NULL
    UNION ALL
    SELECT s.ctid, s.person_id, s.region, s.colour, s.next, s.valid_until, s.inputs,
           @extschema@.status_at(s, t), x
      FROM @extschema@.person_status s
      JOIN unnest(restayed) AS x ON x.person_id = s.person_id
     WHERE restayed IS NOT NULL AND s.person_id = ANY (persons)
  ), policies AS MATERIALIZED (
    -- (once a region, not once a person)
    SELECT r.region, @extschema@._policy_vector(r.region) AS vec
      FROM (SELECT DISTINCT c.region FROM cur c WHERE c.stored_inputs IS NOT NULL) r
  ), fresh AS (
    -- each person's new timeline beside their stored row (if any); from
    -- the evidence tables: everyone ...
    SELECT f.person_id, f.region, f.timeline, c
      FROM @extschema@._fresh_status(persons, t) f
      LEFT JOIN cur c ON c.person_id = f.person_id
     WHERE restayed IS NULL
    UNION ALL
    -- ... or, after a risk-area change, those without stored inputs ...
    SELECT f.person_id, f.region, f.timeline, c
      FROM @extschema@._fresh_status(
             ARRAY(SELECT q.id FROM unnest(persons) AS q(id)
                    WHERE NOT EXISTS (SELECT 1 FROM cur c
                                       WHERE c.person_id = q.id AND c.stored_inputs IS NOT NULL)), t) f
      LEFT JOIN cur c ON c.person_id = f.person_id
     WHERE restayed IS NOT NULL
    UNION ALL
    -- ... and the others from their inputs and re-examined stays (a call
    -- a row, in a subquery kept apart: (f(...)).* would call f once a column)
    SELECT r.person_id, r.region, r.timeline, r.c
      FROM (SELECT c.person_id, c.region, c,
                   @extschema@._status_restayed(c.stored_inputs, (c.x).ids, (c.x).ats, (c.x).places,
                                                (c.x).highs, v.vec, t, horizon) AS timeline
              FROM cur c
              JOIN policies v ON v.region = c.region
             WHERE c.stored_inputs IS NOT NULL
            OFFSET 0) r
     WHERE restayed IS NOT NULL
  ), changed AS MATERIALIZED (
    SELECT f.person_id, f.region, (f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons,
           (f.timeline).valid_until, (f.timeline).next, (f.timeline).inputs,
           (f.c).row_id, (f.c).person_id IS NULL AS is_new, ((f.c).v).colour AS old_colour,
           ((f.c).v).since AS old_since, (f.c).stored_colour, (f.c).stored_next, (f.c).stored_valid_until
      FROM fresh f
     WHERE (f.c).person_id IS NULL
        OR (f.timeline).colour <> ((f.c).v).colour OR (f.timeline).vaccinated <> ((f.c).v).vaccinated
        OR (f.timeline).valid_until <> ((f.c).v).valid_until OR (f.timeline).reasons <> ((f.c).v).reasons
        OR (f.timeline).next <> ((f.c).v).next OR (f.timeline).inputs IS DISTINCT FROM (f.c).stored_inputs
  ), elapsed AS (
    -- the stored timeline's colour changes that time has reached
    INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
    SELECT ch.person_id, ch.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time'
      FROM changed ch
      CROSS JOIN LATERAL @extschema@._elapsed_changes(ch.stored_colour, ch.stored_next, t) g
     WHERE NOT ch.is_new AND ch.stored_valid_until <= t   -- (else no later segment has begun)
  ), changes AS (
    INSERT INTO @extschema@.status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
    SELECT ch.person_id, ch.region, t, ch.old_colour, ch.colour, ch.reasons, cause
      FROM changed ch
     WHERE ch.is_new OR ch.colour <> ch.old_colour
  ), inserted AS (
    INSERT INTO @extschema@.person_status
           (person_id, region, colour, vaccinated, reasons, since, valid_until, next, computed_at, inputs)
    SELECT ch.person_id, ch.region, ch.colour, ch.vaccinated, ch.reasons, t, ch.valid_until, ch.next, t, ch.inputs
      FROM changed ch
     WHERE ch.is_new
    RETURNING 1
  ), updated AS (
    UPDATE @extschema@.person_status s
       SET region = ch.region, colour = ch.colour, vaccinated = ch.vaccinated, reasons = ch.reasons,
           since = CASE WHEN ch.colour <> ch.old_colour THEN t ELSE ch.old_since END,
           valid_until = ch.valid_until, next = ch.next, computed_at = t, inputs = ch.inputs
      FROM changed ch
     WHERE s.ctid = ch.row_id AND s.person_id = ch.person_id AND NOT ch.is_new
       -- (the rows by their addresses: no scan of the table)
       AND s.ctid = ANY (ARRAY(SELECT ch.row_id FROM changed ch WHERE NOT ch.is_new))
    RETURNING 1
  )
  SELECT (SELECT count(*) FROM inserted) + (SELECT count(*) FROM updated) INTO n;
  -- a region node of the national scheme publishes what changed
  IF EXISTS (SELECT 1 FROM @extschema@.node) THEN
    PERFORM @extschema@._publish_status(persons);
  END IF;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@._recompute(bigint[], text, boolean, @extschema@.reexamined_stays[]) IS
  'Internal: recalculates the people''s status timelines from their evidence in one set-based statement; writes only rows that change (timeline or inputs), appends history for colour changes (and for changes time has reached in the old timeline). exclusive: the caller holds the evidence lock exclusively, so the rows need no lock first. restayed: the stays a risk-area change re-examined; people with stored inputs are then recomputed from those. Returns how many status rows changed.';

-- ---- triggers --------------------------------------------------------------------

-- Inside a restore (healthcode.restore_mode) or a logical-replication apply
-- (session_replication_role = replica: triggers do not fire at all) the
-- statuses arrive with the data and must not be derived twice.
CREATE FUNCTION @extschema@._restoring() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_restore_mode'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._restoring() IS
  'Internal: true while healthcode.restore_mode is on (a dump is being loaded). In C: reading it loads the module, which refuses a value an ordinary user set before.';

CREATE FUNCTION @extschema@._clock_skew() RETURNS interval
  AS 'MODULE_PATHNAME', 'healthcode_clock_skew'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._clock_skew() IS
  'Internal: healthcode.clock_skew as an interval (read in C, like _restoring()).';

CREATE FUNCTION @extschema@._cause(tbl text, op text) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
RETURN COALESCE(NULLIF(pg_catalog.current_setting('healthcode.change_cause', true), ''),
                           tbl OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) pg_catalog.lower(op));
COMMENT ON FUNCTION @extschema@._cause(text, text) IS
  'Internal: the cause written to status_history: healthcode.change_cause, else "<table> <operation>".';

-- Evidence times lie in the health-code era (from 2019-12-01) and not in
-- the future beyond healthcode.clock_skew. (The trigger computes the
-- earliest and latest times itself: transition tables are visible only
-- inside the trigger function.)
CREATE FUNCTION @extschema@._check_evidence_times(tbl text, col text, earliest timestamptz, latest timestamptz)
RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tolerance interval := @extschema@._clock_skew();
BEGIN
  IF latest > statement_timestamp() + tolerance THEN
    RAISE EXCEPTION '%.% lies in the future: %', tbl, col, latest
      USING ERRCODE = '22023',
            DETAIL = format('Evidence times may be at most healthcode.clock_skew (%s) ahead of the server''s clock.', tolerance),
            HINT = 'Check the source''s clock and time zone.';
  END IF;
  IF earliest < timestamptz '2019-12-01 00:00+08' THEN
    RAISE EXCEPTION '%.% lies before the health-code era: %', tbl, col, earliest
      USING ERRCODE = '22023',
            DETAIL = 'Evidence times start on 2019-12-01 (China Standard Time).';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._check_evidence_times(text, text, timestamptz, timestamptz) IS
  'Internal: raises 22023, naming the table and column, when a statement''s new rows have a time before 2019-12-01 or beyond now + healthcode.clock_skew.';

-- Concurrent writers. A trigger decides whom to recalculate from what its
-- snapshot shows, and cannot see another transaction's uncommitted rows: a
-- stay being imported while its area is designated high risk in another
-- transaction would be missed by both. So the statements whose meaning
-- depends on everyone's evidence (risk areas, policy) take this lock
-- exclusively, and every other evidence trigger takes it shared before it
-- looks: one side waits for the other to commit, and (READ COMMITTED) then
-- sees its rows.
CREATE FUNCTION @extschema@._evidence_lock(exclusive boolean) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF exclusive THEN
    PERFORM pg_advisory_xact_lock(hashtext('@extschema@ evidence'));
  ELSE
    PERFORM pg_advisory_xact_lock_shared(hashtext('@extschema@ evidence'));
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_lock(boolean) IS
  'Internal: the transaction-level lock that orders evidence triggers (shared) against risk-area and policy triggers (exclusive), so neither misses the other''s rows.';

-- The statement trigger of every evidence table with a person_id.
-- TG_ARGV[0]: the time column checked against the future; TG_ARGV[1]: a
-- column whose changes alone never matter (e.g. declaration.audited_at).
CREATE FUNCTION @extschema@._evidence_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  ignored text := coalesce(TG_ARGV[1], '');
  earliest timestamptz;
  latest timestamptz;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    EXECUTE format('SELECT min(%1$I), max(%1$I) FROM new_rows', TG_ARGV[0]) INTO earliest, latest;
    PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, TG_ARGV[0], earliest, latest);
  END IF;
  IF TG_OP = 'INSERT' THEN
    persons := ARRAY(SELECT DISTINCT n.person_id FROM new_rows n);
  ELSIF TG_OP = 'UPDATE' THEN
    persons := ARRAY(
      SELECT n.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored
      UNION
      SELECT o.person_id FROM new_rows n JOIN old_rows o USING (id)
       WHERE to_jsonb(n) - ignored <> to_jsonb(o) - ignored);
  ELSIF TG_OP = 'DELETE' THEN
    persons := ARRAY(SELECT DISTINCT o.person_id FROM old_rows o);
  ELSE -- TRUNCATE
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._evidence_changed() IS
  'Internal: AFTER STATEMENT trigger of evidence tables: checks new times are not in the future and recalculates exactly the people whose rows the statement touched.';

-- Travel: only stays in medium- or high-risk areas can change a colour, so
-- a bulk import of ordinary itineraries recalculates only the people with
-- a risky stay in it. The stays are matched to the designations covering
-- them by three hash joins (the place itself, its city, its province):
-- cheap for a million-row COPY, where a join per row would not be.
CREATE FUNCTION @extschema@._travel_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  persons bigint[];
  horizon timestamptz;
  src text;
  query text := $q$
    WITH stays AS MATERIALIZED (
      SELECT s.person_id, s.place, s.at FROM %s s WHERE s.at >= $1
    ), areas AS MATERIALIZED (
      SELECT a.division, a.effective_from, a.effective_until
        FROM @extschema@.risk_area a WHERE a.level <> 'low'
    )
    SELECT ARRAY(
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = s.place
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until)
      UNION
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = left(s.place, 4) || '00'
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until)
      UNION
      SELECT s.person_id FROM stays s JOIN areas a ON a.division = left(s.place, 2) || '0000'
       WHERE s.at >= a.effective_from AND (a.effective_until IS NULL OR s.at < a.effective_until))
  $q$;
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  horizon := @extschema@._evidence_horizon(statement_timestamp());
  IF TG_OP = 'TRUNCATE' THEN
    persons := ARRAY(SELECT p.id FROM @extschema@.person p);
  ELSE
    IF TG_OP <> 'DELETE' THEN
      PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'at', min(n.at), max(n.at)) FROM new_rows n;
    END IF;
    src := CASE TG_OP
      WHEN 'INSERT' THEN 'new_rows'
      WHEN 'DELETE' THEN 'old_rows'
      ELSE '(SELECT n.person_id, n.place, n.at FROM new_rows n UNION ALL SELECT o.person_id, o.place, o.at FROM old_rows o)'
    END;
    EXECUTE format(query, src) INTO persons USING horizon;
  END IF;
  PERFORM @extschema@._recompute(persons, @extschema@._cause(TG_TABLE_NAME, TG_OP));
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._travel_changed() IS
  'Internal: AFTER STATEMENT trigger of travel and its day partitions: recalculates the people whose new or removed stays fall in a medium- or high-risk area within the window.';

-- Risk areas: the stays, within the window, in a place the old or new
-- designation covers while it was in force; only their levels can change,
-- so they are re-examined against every designation and their people
-- recomputed from their stored inputs (_status_restayed).
CREATE FUNCTION @extschema@._stays_reexamined(areas @extschema@.risk_area[], horizon timestamptz)
RETURNS @extschema@.reexamined_stays[]
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- PL/pgSQL, not SQL: PostgreSQL 15 keeps a SQL function's plan for a whole
  -- transaction, and would miss (or fail on) day partitions made or dropped
  -- since; a PL/pgSQL plan is rebuilt when they change.
  RETURN ARRAY(
    WITH stays AS MATERIALIZED (
      -- from the (place, at) index alone, which includes person and record
      SELECT DISTINCT t.person_id, t.id, t.at, t.place
        FROM unnest(areas) a
        JOIN @extschema@.travel t
          ON t.place >= a.division AND t.place <= @extschema@.division_last(a.division)
         AND t.at >= GREATEST(a.effective_from, horizon)
         AND (a.effective_until IS NULL OR t.at < a.effective_until)
    ), designations AS MATERIALIZED (
      SELECT r.division, r.level = 'high' AS high, r.effective_from, r.effective_until
        FROM @extschema@.risk_area r WHERE r.level <> 'low'
    ), covering AS (
      -- the designations of the place itself, its city and its province:
      -- three hash joins (a designation never names the nation)
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = s.place
      UNION ALL
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = left(s.place, 4) || '00'
      UNION ALL
      SELECT s.id, s.at, d.high, d.effective_from, d.effective_until
        FROM stays s JOIN designations d ON d.division = left(s.place, 2) || '0000'
    ), levels AS (
      SELECT c.id, bool_or(c.high) AS high
        FROM covering c
       WHERE c.at >= c.effective_from AND (c.effective_until IS NULL OR c.at < c.effective_until)
       GROUP BY c.id
    )
    SELECT ROW(s.person_id, array_agg(s.id), array_agg(s.at), array_agg(s.place),
               array_agg(l.high))::@extschema@.reexamined_stays
      FROM stays s LEFT JOIN levels l ON l.id = s.id
     GROUP BY s.person_id
     ORDER BY s.person_id);
END $$;
COMMENT ON FUNCTION @extschema@._stays_reexamined(@extschema@.risk_area[], timestamptz) IS
  'Internal: the stays since horizon in a place one of the designations covers while it was in force, each person''s with the level every designation in force at its time gives each now.';

CREATE FUNCTION @extschema@._risk_area_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  areas @extschema@.risk_area[];
  stays @extschema@.reexamined_stays[];
  cause text := @extschema@._cause(TG_TABLE_NAME, TG_OP);
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM @extschema@._recompute(ARRAY(SELECT p.id FROM @extschema@.person p), cause, exclusive => true);
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    areas := ARRAY(SELECT n FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    areas := ARRAY(SELECT o FROM old_rows o);
  ELSE
    areas := ARRAY(SELECT n FROM new_rows n UNION ALL SELECT o FROM old_rows o);
  END IF;
  stays := @extschema@._stays_reexamined(areas, @extschema@._evidence_horizon(statement_timestamp()));
  PERFORM @extschema@._recompute(ARRAY(SELECT s.person_id FROM unnest(stays) s), cause,
                                 exclusive => true, restayed => stays);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._risk_area_changed() IS
  'Internal: AFTER STATEMENT trigger of risk_area: re-examines the stays the old or new designation covers and recalculates their people.';

-- Policies: everyone in the regions the old or new versions govern.
CREATE FUNCTION @extschema@._people_governed(regions text[]) RETURNS bigint[]
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT ARRAY(
    SELECT DISTINCT p.id
      FROM pg_catalog.unnest(regions) r(code)
      JOIN @extschema@.person p
        ON p.region OPERATOR(pg_catalog.>=) r.code
       AND p.region OPERATOR(pg_catalog.<=) @extschema@.division_last(r.code));
END;
COMMENT ON FUNCTION @extschema@._people_governed(text[]) IS
  'Internal: everyone whose home region lies within one of the regions.';

CREATE FUNCTION @extschema@._policy_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  regions text[];
BEGIN
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(true);
  IF TG_OP = 'INSERT' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n);
  ELSIF TG_OP = 'DELETE' THEN
    regions := ARRAY(SELECT o.region FROM old_rows o);
  ELSIF TG_OP = 'UPDATE' THEN
    regions := ARRAY(SELECT n.region FROM new_rows n UNION SELECT o.region FROM old_rows o);
  ELSE
    regions := ARRAY['000000'];
  END IF;
  PERFORM @extschema@._recompute(@extschema@._people_governed(regions), @extschema@._cause(TG_TABLE_NAME, TG_OP),
                                 exclusive => true);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_changed() IS
  'Internal: AFTER STATEMENT trigger of policy: recalculates everyone in the regions the changed versions govern.';

-- People: a new person gets a first status; a move to another region (or a
-- corrected registration time) changes the governing policy, and their
-- history moves with them.
CREATE FUNCTION @extschema@._person_changed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    -- history follows a person by id (it has no foreign key to cascade)
    IF EXISTS (SELECT 1 FROM old_rows o WHERE NOT EXISTS (SELECT 1 FROM new_rows n WHERE n.id = o.id)) THEN
      RAISE EXCEPTION 'person.id cannot change' USING ERRCODE = '22023',
        DETAIL = 'A person''s id is how their evidence, status and history find them; register a new person instead.';
    END IF;
    UPDATE @extschema@.status_history h SET region = n.region
      FROM new_rows n JOIN old_rows o USING (id)
     WHERE h.person_id = n.id AND n.region <> o.region;
  END IF;
  IF @extschema@._restoring() THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._check_evidence_times(TG_TABLE_NAME, 'registered_at', min(n.registered_at), max(n.registered_at))
     FROM new_rows n;
  IF TG_OP = 'INSERT' THEN
    PERFORM @extschema@._recompute(ARRAY(SELECT n.id FROM new_rows n), @extschema@._cause(TG_TABLE_NAME, TG_OP));
  ELSE
    PERFORM @extschema@._recompute(
      ARRAY(SELECT n.id FROM new_rows n JOIN old_rows o USING (id)
             WHERE n.region <> o.region OR n.registered_at <> o.registered_at),
      @extschema@._cause(TG_TABLE_NAME, TG_OP));
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_changed() IS
  'Internal: AFTER STATEMENT trigger of person: a first status for new people; for people whose region or registration time changed, their history''s region and a recalculation. Refuses a change of id.';

-- A deleted person's history goes with them (their evidence and status go
-- by their foreign keys' cascades). Also during a restore: this is
-- bookkeeping, not a recalculation.
CREATE FUNCTION @extschema@._person_removed() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    TRUNCATE @extschema@.status_history;
  ELSE
    DELETE FROM @extschema@.status_history h USING old_rows o WHERE h.person_id = o.id;
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_removed() IS
  'Internal: AFTER STATEMENT trigger of person: deletes the history of deleted people (all of it when person is truncated).';

-- A person's update or deletion rewrites their status row through the
-- foreign key's cascade before any AFTER trigger runs. Were the evidence
-- lock taken only then, the statement could hold a status row that a
-- risk-area or policy recalculation (holding the lock exclusively) waits
-- to update, and wait for that lock itself: a deadlock. So it is taken
-- first, before the statement touches a row.
CREATE FUNCTION @extschema@._person_lock() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM @extschema@._evidence_lock(false);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._person_lock() IS
  'Internal: BEFORE STATEMENT trigger of person (update, delete): takes the evidence lock shared before the foreign keys'' cascades touch any status row.';

CREATE TRIGGER person_locked BEFORE UPDATE OR DELETE ON @extschema@.person
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_lock();
CREATE TRIGGER person_inserted AFTER INSERT ON @extschema@.person
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_changed();
CREATE TRIGGER person_updated AFTER UPDATE ON @extschema@.person
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_changed();
CREATE TRIGGER person_deleted AFTER DELETE ON @extschema@.person
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_removed();
CREATE TRIGGER person_truncated AFTER TRUNCATE ON @extschema@.person
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._person_removed();

-- Three statement triggers (transition tables allow one event each) and a
-- TRUNCATE trigger on every evidence table.
DO $$
DECLARE
  e record;
BEGIN
  FOR e IN SELECT * FROM (VALUES
      ('declaration', '_evidence_changed', 'declared_at', 'audited_at'),
      ('test_result', '_evidence_changed', 'sampled_at', ''),
      ('vaccination', '_evidence_changed', 'given_at', ''),
      ('contact', '_evidence_changed', 'exposure_at', ''),
      ('checkin', '_evidence_changed', 'at', ''),
      ('manual_decision', '_evidence_changed', 'decided_at', ''),
      ('audit_finding', '_evidence_changed', 'found_at', ''),
      ('travel', '_travel_changed', 'at', ''),
      ('risk_area', '_risk_area_changed', 'effective_from', ''),
      ('policy', '_policy_changed', 'valid_from', '')) AS v(tbl, fn, timecol, ignored)
  LOOP
    EXECUTE format('CREATE TRIGGER %I AFTER INSERT ON @extschema@.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_inserted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER UPDATE ON @extschema@.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_updated', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER DELETE ON @extschema@.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_deleted', e.tbl, e.fn, e.timecol, e.ignored);
    EXECUTE format('CREATE TRIGGER %I AFTER TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@.%I(%L, %L)',
                   e.tbl || '_truncated', e.tbl, e.fn, e.timecol, e.ignored);
  END LOOP;
END $$;

-- ---- reading status -----------------------------------------------------------------

CREATE TYPE @extschema@.status_report AS (
  person_id     bigint,
  region        text,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  reasons       jsonb,
  since         timestamptz,
  valid_until   timestamptz
);
COMMENT ON TYPE @extschema@.status_report IS
  'A person''s effective status: colour, vaccinated mark, reasons, since when the colour holds, until when it holds without new evidence.';
COMMENT ON COLUMN @extschema@.status_report.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_report.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_report.colour IS 'The colour.';
COMMENT ON COLUMN @extschema@.status_report.vaccinated IS 'The "vaccinated" mark.';
COMMENT ON COLUMN @extschema@.status_report.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.status_report.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.status_report.valid_until IS 'Until when this status holds without new evidence.';


-- (PL/pgSQL: a SECURITY DEFINER SQL function is never inlined, and would
-- plan its query at every call; PL/pgSQL keeps the plan for the session)
CREATE FUNCTION @extschema@.status(person_id bigint, at timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF status.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(status.at, 'at');
  RETURN QUERY
  SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since, (x.v).valid_until
    FROM @extschema@.person_status s
    CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, status.at) AS v OFFSET 0) x
   WHERE s.person_id = status.person_id
     AND @extschema@._in_caller_scope(s.region);
END $$;
COMMENT ON FUNCTION @extschema@.status(bigint, timestamptz) IS
  'A person''s effective status at a finite time (default now, not before the last recalculation): colour, vaccinated mark, reasons, since when the colour holds, and until when the status holds without new evidence. No row for a person outside the caller''s regions.';

CREATE VIEW @extschema@.current_status WITH (security_invoker = true) AS
SELECT s.person_id, s.region, (x.v).colour, (x.v).vaccinated, (x.v).reasons, (x.v).since,
       (x.v).valid_until
  FROM @extschema@.person_status s
  CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, pg_catalog.now()) AS v OFFSET 0) x;
COMMENT ON VIEW @extschema@.current_status IS
  'Every person''s effective status now: the segment of their stored timeline that contains the current time.';
COMMENT ON COLUMN @extschema@.current_status.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.current_status.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.current_status.colour IS 'The colour now.';
COMMENT ON COLUMN @extschema@.current_status.vaccinated IS 'The "vaccinated" mark now.';
COMMENT ON COLUMN @extschema@.current_status.reasons IS 'Why, as [{rule, colour, at, place, ref, text}].';
COMMENT ON COLUMN @extschema@.current_status.since IS 'Since when the colour holds.';
COMMENT ON COLUMN @extschema@.current_status.valid_until IS 'Until when this status holds without new evidence.';

CREATE VIEW @extschema@.status_changes WITH (security_invoker = true) AS
SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour, h.reasons, h.cause
  FROM @extschema@.status_history h
UNION ALL
SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour, g.reasons, 'time'
  FROM @extschema@.person_status s
  CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g;
COMMENT ON VIEW @extschema@.status_changes IS
  'The complete history of colour changes at read time: status_history plus the changes time has already brought about in the stored timelines (cause "time") that are not yet written down.';
COMMENT ON COLUMN @extschema@.status_changes.person_id IS 'The person.';
COMMENT ON COLUMN @extschema@.status_changes.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_changes.at IS 'When the colour changed.';
COMMENT ON COLUMN @extschema@.status_changes.from_colour IS 'The colour before (NULL: first status).';
COMMENT ON COLUMN @extschema@.status_changes.to_colour IS 'The colour after.';
COMMENT ON COLUMN @extschema@.status_changes.reasons IS 'The reasons of the new colour.';
COMMENT ON COLUMN @extschema@.status_changes.cause IS 'What brought the change about.';
-- ---------------------------------------------------------------------------
-- The background audit: cross-checks declarations against imported
-- evidence and records findings, which feed the status (yellow for the
-- lookback window) until an operator dismisses them.
--   undeclared_risk_stay  the declaration's places leave out a stay, within
--                         the lookback window before it, that an itinerary,
--                         transport or venue record shows in a medium- or
--                         high-risk area;
--   undeclared_contact    it denies contact, but the tracing list names the
--                         person with an exposure in that window;
--   undeclared_fever      it declares no symptoms and no fever, but a
--                         check-in within a day of it measured fever.
-- Findings are keyed by (declaration, kind): auditing again finds nothing new.
-- ---------------------------------------------------------------------------

-- The findings a set of declarations give, without writing anything.
CREATE FUNCTION @extschema@._audit_findings(declarations bigint[])
RETURNS TABLE (declaration_id bigint, person_id bigint, region text, kind text, detail jsonb)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  -- PL/pgSQL, not SQL: it reads travel, whose day partitions come and go
  -- (a SQL function's plan would outlive them within a transaction)
  RETURN QUERY
  WITH d AS (
    SELECT d.*, pol.lookback_days, pol.fever_celsius
      FROM @extschema@.declaration d
     CROSS JOIN LATERAL @extschema@.policy_at(d.region, d.declared_at) pol
     WHERE d.id OPERATOR(pg_catalog.=) ANY (declarations)
  )
  SELECT d.id, d.person_id, d.region, 'undeclared_risk_stay',
         pg_catalog.jsonb_build_object('stays', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'travel_id', s.id, 'place', s.place, 'at', s.at, 'source', s.source,
           'level', CASE WHEN s.high THEN 'high' ELSE 'medium' END) ORDER BY s.at))
    FROM d
    JOIN LATERAL (
      SELECT t.id, t.place, t.at, t.source, pg_catalog.bool_or(a.level OPERATOR(pg_catalog.=) 'high') AS high
        FROM @extschema@.travel t
       CROSS JOIN LATERAL pg_catalog.unnest(@extschema@.division_chain(t.place)) AS c(code)
        JOIN @extschema@.risk_area a
          ON a.division OPERATOR(pg_catalog.=) c.code AND a.level OPERATOR(pg_catalog.<>) 'low'
         AND t.at OPERATOR(pg_catalog.>=) a.effective_from
         AND (a.effective_until IS NULL OR t.at OPERATOR(pg_catalog.<) a.effective_until)
       WHERE t.person_id OPERATOR(pg_catalog.=) d.person_id
         AND t.source OPERATOR(pg_catalog.<>) 'declared'
         AND t.at OPERATOR(pg_catalog.<=) d.declared_at
         AND t.at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => d.lookback_days))
         AND NOT EXISTS (SELECT 1 FROM pg_catalog.unnest(d.visited) v(code)
                          WHERE @extschema@.division_covers(v.code, t.place))
       GROUP BY t.id, t.place, t.at, t.source) s ON true
   GROUP BY d.id, d.person_id, d.region
  UNION ALL
  SELECT d.id, d.person_id, d.region, 'undeclared_contact',
         pg_catalog.jsonb_build_object('contacts', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'contact_id', c.id, 'kind', c.kind, 'exposure_at', c.exposure_at) ORDER BY c.exposure_at))
    FROM d
    JOIN @extschema@.contact c
      ON c.person_id OPERATOR(pg_catalog.=) d.person_id
     AND c.exposure_at OPERATOR(pg_catalog.<=) d.declared_at
     AND c.exposure_at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) pg_catalog.make_interval(days => d.lookback_days))
   WHERE NOT d.contact_with_case
   GROUP BY d.id, d.person_id, d.region
  UNION ALL
  SELECT d.id, d.person_id, d.region, 'undeclared_fever',
         pg_catalog.jsonb_build_object('checkins', pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
           'checkin_id', k.id, 'at', k.at, 'temperature', k.temperature) ORDER BY k.at))
    FROM d
    JOIN @extschema@.checkin k
      ON k.person_id OPERATOR(pg_catalog.=) d.person_id
     AND k.at OPERATOR(pg_catalog.>=) (d.declared_at OPERATOR(pg_catalog.-) interval '1 day')
     AND k.at OPERATOR(pg_catalog.<=) (d.declared_at OPERATOR(pg_catalog.+) interval '1 day')
     AND k.temperature OPERATOR(pg_catalog.>=) d.fever_celsius
   WHERE pg_catalog.cardinality(d.symptoms) OPERATOR(pg_catalog.=) 0
     AND (d.temperature IS NULL OR d.temperature OPERATOR(pg_catalog.<) d.fever_celsius)
   GROUP BY d.id, d.person_id, d.region;
END $$;
COMMENT ON FUNCTION @extschema@._audit_findings(bigint[]) IS
  'Internal: what the audit finds for the declarations (nothing is written).';

CREATE FUNCTION @extschema@.audit(person_id bigint DEFAULT NULL, region text DEFAULT NULL)
RETURNS SETOF @extschema@.audit_finding
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  targets bigint[];
  people bigint[];
  homes text[];
BEGIN
  IF audit.person_id IS NOT NULL AND audit.region IS NOT NULL THEN
    RAISE EXCEPTION 'give person_id or region, not both' USING ERRCODE = '22023',
      DETAIL = 'An audit covers one person, one region, or (with neither) every pending declaration.';
  END IF;
  IF audit.region IS NOT NULL THEN
    PERFORM @extschema@._require_region(audit.region);
    PERFORM @extschema@._require_caller_scope(audit.region);
  END IF;
  IF audit.person_id IS NOT NULL AND NOT EXISTS (
       SELECT 1 FROM @extschema@.person p WHERE p.id = audit.person_id AND @extschema@._in_caller_scope(p.region)) THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', audit.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  -- a person or a region: every declaration within the longest window
  -- (evidence may have arrived since); nobody named: the pending ones
  targets := ARRAY(
    SELECT d.id FROM @extschema@.declaration d
     WHERE CASE
       WHEN audit.person_id IS NOT NULL THEN
         d.person_id = audit.person_id AND d.declared_at >= @extschema@._evidence_horizon(now())
       WHEN audit.region IS NOT NULL THEN
         @extschema@.division_covers(audit.region, d.region) AND d.declared_at >= @extschema@._evidence_horizon(now())
       ELSE d.audited_at IS NULL END
       AND @extschema@._in_caller_scope(d.region));
  -- The people the findings are filed on, locked against a move or a
  -- deletion (both change the key (id, region) that FOR KEY SHARE guards)
  -- until this transaction ends. Without it, a finding filed with the region
  -- this statement's snapshot showed fails its foreign key (23503) when a
  -- move commits meanwhile; and a move half done (holding the person,
  -- cascading into their declarations) would deadlock with the update of
  -- those declarations below. A locking read returns the newest version
  -- (READ COMMITTED): a move that committed first gives its new region, one
  -- that comes later waits. In person-id order, as every other locker.
  SELECT coalesce(array_agg(p.id ORDER BY p.id), '{}'), coalesce(array_agg(p.region ORDER BY p.id), '{}')
    INTO people, homes
    FROM (SELECT p.id, p.region FROM @extschema@.person p
           WHERE p.id IN (SELECT d.person_id FROM @extschema@.declaration d WHERE d.id = ANY (targets))
           ORDER BY p.id FOR KEY SHARE OF p) p;
  RETURN QUERY
  WITH found AS (
    -- (this statement's snapshot is newer than the locks: it sees the
    -- declarations as moves and deletions that went first left them;
    -- concurrent audits insert in one order, so neither waits for the other
    -- on one finding while holding another the other waits for)
    INSERT INTO @extschema@.audit_finding AS f (person_id, region, declaration_id, kind, detail)
    SELECT a.person_id, h.region, a.declaration_id, a.kind, a.detail
      FROM @extschema@._audit_findings(targets) a
      JOIN unnest(people, homes) AS h(person_id, region) ON h.person_id = a.person_id
     ORDER BY a.declaration_id, a.kind
    ON CONFLICT ON CONSTRAINT audit_finding_natural_key DO NOTHING
    RETURNING f.*
  ), audited AS (
    UPDATE @extschema@.declaration d SET audited_at = now()
     WHERE d.id = ANY (targets)
  )
  SELECT * FROM found ORDER BY found.id;
END $$;
COMMENT ON FUNCTION @extschema@.audit(bigint, text) IS
  'The background audit: for one person or one region (every declaration within the window) or, with no argument, every pending declaration; records the findings (which make yellow) and returns the new ones.';

CREATE FUNCTION @extschema@.review_finding(finding_id bigint, decision text, reason text)
RETURNS @extschema@.audit_finding
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f @extschema@.audit_finding;
BEGIN
  IF finding_id IS NULL THEN
    RAISE EXCEPTION 'finding_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF decision IS NULL THEN
    RAISE EXCEPTION 'decision must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF decision NOT IN ('confirm', 'dismiss') THEN
    RAISE EXCEPTION 'decision must be confirm or dismiss, not %', quote_literal(@extschema@._shorten(decision))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  UPDATE @extschema@.audit_finding a
     SET status = CASE decision WHEN 'confirm' THEN 'confirmed' ELSE 'dismissed' END,
         reviewed_by = @extschema@._caller()::regrole::text, reviewed_at = now(), review_reason = reason
   WHERE a.id = finding_id AND a.status = 'open' AND @extschema@._in_caller_scope(a.region)
  RETURNING a.* INTO f;
  IF NOT FOUND THEN
    IF EXISTS (SELECT 1 FROM @extschema@.audit_finding a
                WHERE a.id = finding_id AND @extschema@._in_caller_scope(a.region)) THEN
      RAISE EXCEPTION 'audit finding % has been reviewed already', finding_id USING ERRCODE = '22023';
    END IF;
    RAISE EXCEPTION 'no audit finding %', finding_id USING ERRCODE = '22023';
  END IF;
  RETURN f;
END $$;
COMMENT ON FUNCTION @extschema@.review_finding(bigint, text, text) IS
  'An operator''s review of an open audit finding: confirm (it keeps counting) or dismiss (it stops counting; the status follows), always with a reason.';
-- ---------------------------------------------------------------------------
-- The national interface set (GB/T 38963-2020), one SQL function each:
--   health-information declaration ... declare()
--   trip declaration ................. declare_trip()
--   health-information query ......... health_info(), status()
--   code request / generation ........ issue_for()
--   code verification ................ verify()
--   error correction ................. request_correction(), decide_correction()
-- and the daily check-in and manual decisions that feed the status.
-- People are named by their identifier (ID number), which is turned into
-- the pseudonym at once and never stored.
-- ---------------------------------------------------------------------------

-- ID numbers are written with stray blanks and a lower-case check letter x:
-- one form is hashed, whichever way it was typed.
CREATE FUNCTION @extschema@.normalize_identifier(identifier text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.upper(pg_catalog.regexp_replace(identifier, '[[:space:]\u3000]+', '', 'g'));
COMMENT ON FUNCTION @extschema@.normalize_identifier(text) IS
  'An identifier as it is hashed: every blank (the ideographic space among them) removed, letters in upper case.';

-- ---- arguments (see 41_arguments.sql) ------------------------------------------
-- The bounds of what the functions below accept, checked before anything
-- is written.

-- An identifier is never echoed: it is personal data.
CREATE FUNCTION @extschema@._require_identifier(identifier text, argname text DEFAULT 'identifier')
RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF identifier IS NULL THEN
    RAISE EXCEPTION '% must not be NULL', argname USING ERRCODE = '22004';
  END IF;
  -- (an ID number has 18 characters; blanks typed with it count too)
  IF length(identifier) > 64 THEN
    RAISE EXCEPTION '% is too long (% characters; at most 64)', argname, length(identifier)
      USING ERRCODE = '22023';
  END IF;
  IF length(@extschema@.normalize_identifier(identifier)) = 0 THEN
    RAISE EXCEPTION '% must not be empty', argname USING ERRCODE = '22023';
  END IF;
  RETURN @extschema@.normalize_identifier(identifier);
END $$;
COMMENT ON FUNCTION @extschema@._require_identifier(text, text) IS
  'Internal: the identifier normalized (normalize_identifier), else 22004 (NULL) or 22023 (empty, or longer than 64 characters), naming the argument and never echoing the value.';

CREATE FUNCTION @extschema@._require_symptoms(symptoms text[]) RETURNS text[]
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  unknown text;
BEGIN
  PERFORM @extschema@._require_text_array(symptoms, 'symptoms', 100);
  SELECT s INTO unknown FROM unnest(symptoms) s WHERE NOT @extschema@.symptoms_known(ARRAY[s]) LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'unknown symptom in symptoms: %', quote_literal(@extschema@._shorten(unknown))
      USING ERRCODE = '22023',
            HINT = 'Symptoms come from a fixed vocabulary: see COMMENT ON FUNCTION healthcode.symptoms_known.';
  END IF;
  RETURN symptoms;
END $$;
COMMENT ON FUNCTION @extschema@._require_symptoms(text[]) IS
  'Internal: the symptoms if they are an array of at most 100 known symptoms (symptoms_known), else 22004 or 22023.';

CREATE FUNCTION @extschema@._require_temperature(temperature numeric) RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- (NULL: not measured)
  IF temperature = 'NaN' OR temperature < 34.0 OR temperature > 43.0 THEN
    RAISE EXCEPTION 'temperature must lie between 34.0 and 43.0 degrees Celsius, not %',
      @extschema@._shorten(temperature::text) USING ERRCODE = '22003';
  END IF;
  IF temperature <> round(temperature, 1) THEN
    RAISE EXCEPTION 'temperature must be given in tenths of a degree, not %', @extschema@._shorten(temperature::text)
      USING ERRCODE = '22023';
  END IF;
  RETURN temperature;
END $$;
COMMENT ON FUNCTION @extschema@._require_temperature(numeric) IS
  'Internal: a temperature as declarations and check-ins store it (NULL, or 34.0-43.0 degrees Celsius in tenths), else 22003 or 22023.';

-- Codes are short-lived; and a code never outlives its issuer key or the
-- status it shows either.
CREATE FUNCTION @extschema@._require_valid_for(valid_for interval) RETURNS interval
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF valid_for IS NULL THEN
    RAISE EXCEPTION 'valid_for must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF valid_for < interval '1 second' THEN
    RAISE EXCEPTION 'valid_for must be at least one second, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003';
  END IF;
  IF valid_for > interval '366 days' THEN
    RAISE EXCEPTION 'valid_for must be at most 366 days, not %', quote_literal(@extschema@._shorten(valid_for::text))
      USING ERRCODE = '22003',
            DETAIL = 'A code is valid for minutes; it never outlives its issuer key or the status it shows either.';
  END IF;
  RETURN valid_for;
END $$;
COMMENT ON FUNCTION @extschema@._require_valid_for(interval) IS
  'Internal: a code''s validity if it lies between one second and 366 days, else 22004 (NULL) or 22003.';

CREATE FUNCTION @extschema@.person_id(identifier text) RETURNS bigint
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
BEGIN ATOMIC
  SELECT p.id FROM @extschema@.person p
   WHERE p.subject OPERATOR(pg_catalog.=)
         @extschema@.pseudonym(@extschema@._require_identifier(person_id.identifier))
     AND @extschema@._in_caller_scope(p.region);
END;
COMMENT ON FUNCTION @extschema@.person_id(text) IS
  'The internal id of the person with this identifier (through its pseudonym), or NULL when there is none in the caller''s regions. An empty identifier, or one longer than 64 characters, is an error (22023).';

CREATE FUNCTION @extschema@._require_person(identifier text) RETURNS bigint
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint := @extschema@.person_id(@extschema@._require_identifier(identifier));
BEGIN
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person with this identifier is registered in the regions the caller acts for' USING ERRCODE = '22023',
      HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@._require_person(text) IS
  'Internal: the id of a person registered in the caller''s regions, or 22023 (without echoing the identifier, and the same whether the person is unknown or in another region).';

CREATE FUNCTION @extschema@.register_person(identifier text, region text, display_name text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
  home text;
  national bytea;
BEGIN
  PERFORM @extschema@._require_region(register_person.region);
  PERFORM @extschema@._require_caller_scope(register_person.region);
  PERFORM @extschema@._require_identifier(identifier);
  -- (a name is stored masked, but not a name of any length)
  IF length(register_person.display_name) > 100 THEN
    RAISE EXCEPTION 'display_name is too long (% characters; at most 100)', length(register_person.display_name)
      USING ERRCODE = '22023';
  END IF;
  -- with the national key, the pseudonym every node computes alike too
  IF @extschema@._national_key_configured() THEN
    national := @extschema@.national_pseudonym(@extschema@.normalize_identifier(identifier));
  END IF;
  INSERT INTO @extschema@.person AS p (region, subject, display_name, national_subject)
  VALUES (register_person.region, @extschema@.pseudonym(@extschema@.normalize_identifier(identifier)),
          @extschema@.mask_name(register_person.display_name), national)
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING
  RETURNING p.id INTO pid;
  IF pid IS NULL THEN
    SELECT p.id, p.region INTO pid, home FROM @extschema@.person p
     WHERE p.subject = @extschema@.pseudonym(@extschema@.normalize_identifier(identifier));
    -- registered before the national key was set: now it is known
    UPDATE @extschema@.person p SET national_subject = national
     WHERE p.id = pid AND p.national_subject IS NULL AND national IS NOT NULL;
    IF home <> register_person.region THEN
      -- which region is not the caller's business
      RAISE EXCEPTION 'this person is registered in another region, not %', register_person.region
        USING ERRCODE = '22023',
              HINT = 'Moving a person to another region is an operator''s change of healthcode.person.region.';
    END IF;
  END IF;
  RETURN pid;
END $$;
COMMENT ON FUNCTION @extschema@.register_person(text, text, text) IS
  'Registers a person (identifier kept only as its pseudonym, name masked) in a region, or returns the id of the one already registered there.';

CREATE FUNCTION @extschema@.declare(
    identifier text,
    region text,
    display_name text DEFAULT NULL,
    symptoms text[] DEFAULT '{}',
    temperature numeric DEFAULT NULL,
    visited text[] DEFAULT '{}',
    contact_with_case boolean DEFAULT false)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint;
BEGIN
  PERFORM @extschema@._require_symptoms(declare.symptoms);
  PERFORM @extschema@._require_temperature(declare.temperature);
  PERFORM @extschema@._require_text_array(declare.visited, 'visited', 1000);
  PERFORM @extschema@._require_region(v, 'visited') FROM unnest(declare.visited) v;
  IF declare.contact_with_case IS NULL THEN
    RAISE EXCEPTION 'contact_with_case must not be NULL' USING ERRCODE = '22004';
  END IF;
  pid := @extschema@.register_person(identifier, declare.region, declare.display_name);
  -- under the person's region as it is when written (locked: a move waits)
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT p.id, p.region, statement_timestamp(), declare.symptoms, declare.temperature,
         declare.visited, declare.contact_with_case
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare(text, text, text, text[], numeric, text[], boolean) IS
  'Health-information declaration: registers the person if new, records what they declare (symptoms, temperature, places visited in the window, contact with a case) and returns their resulting status. The audit cross-checks it later.';

CREATE FUNCTION @extschema@.declare_trip(identifier text, place text, at timestamptz)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_region(declare_trip.place, 'place');
  PERFORM @extschema@._require_finite(declare_trip.at, 'at');
  -- (the travel trigger's own check, before a partition is made for the day)
  PERFORM @extschema@._check_evidence_times('travel', 'at', declare_trip.at, declare_trip.at);
  PERFORM @extschema@.create_travel_partitions(
    (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date, (declare_trip.at AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source)
  SELECT p.id, p.region, declare_trip.place, declare_trip.at, 'declared'
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT DO NOTHING;
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.declare_trip(text, text, timestamptz) IS
  'Trip declaration: records a stay the person declares (source declared; it counts like any other stay) and returns their status.';

CREATE FUNCTION @extschema@.health_info(identifier text)
RETURNS SETOF @extschema@.status_report
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT s.* FROM @extschema@.status(@extschema@._require_person(health_info.identifier)) s;
END;
COMMENT ON FUNCTION @extschema@.health_info(text) IS
  'Health-information query: the status of the person with this identifier now.';

CREATE FUNCTION @extschema@.check_in(identifier text, temperature numeric DEFAULT NULL,
                                     symptoms text[] DEFAULT '{}')
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pid bigint := @extschema@._require_person(identifier);
BEGIN
  PERFORM @extschema@._require_temperature(check_in.temperature);
  PERFORM @extschema@._require_symptoms(check_in.symptoms);
  -- one check-in a day; a second one that day can only make it worse
  INSERT INTO @extschema@.checkin AS k (person_id, region, at, temperature, symptoms)
  SELECT p.id, p.region, statement_timestamp(), check_in.temperature, check_in.symptoms
    FROM (SELECT x.id, x.region FROM @extschema@.person x WHERE x.id = pid FOR KEY SHARE) p
  ON CONFLICT ON CONSTRAINT checkin_natural_key DO UPDATE
     SET temperature = GREATEST(k.temperature, EXCLUDED.temperature),
         symptoms = ARRAY(SELECT DISTINCT x FROM unnest(k.symptoms || EXCLUDED.symptoms) x ORDER BY x)
   WHERE EXCLUDED.temperature > k.temperature
      OR (k.temperature IS NULL AND EXCLUDED.temperature IS NOT NULL)
      OR NOT (EXCLUDED.symptoms <@ k.symptoms);
  RETURN QUERY SELECT * FROM @extschema@.status(pid);
END $$;
COMMENT ON FUNCTION @extschema@.check_in(text, numeric, text[]) IS
  'Daily health check-in of a person in quarantine: temperature and symptoms for today (China Standard Time); returns the status.';

CREATE FUNCTION @extschema@.issue_for(person_id bigint, valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  p @extschema@.person;
  s @extschema@.status_report;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  IF issue_for.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  SELECT * INTO p FROM @extschema@.person x
   WHERE x.id = issue_for.person_id AND @extschema@._in_caller_scope(x.region);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', issue_for.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  SELECT * INTO s FROM @extschema@.status(p.id, t);
  IF NOT FOUND THEN
    RAISE EXCEPTION 'person % has no status yet', p.id USING ERRCODE = '55000';
  END IF;
  -- codes carry whole seconds from the statement's start: never let one
  -- outlive the status it shows
  span := CASE WHEN isfinite(s.valid_until)
               THEN LEAST(valid_for, date_trunc('second', s.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'person %''s status changes within a second; ask again', p.id USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('issued', p.region, p.region, s.colour, 'ok', @extschema@._code_holder(p.subject, t));
  RETURN @extschema@.issue(p.region, p.subject, s.colour, span, s.vaccinated);
END $$;
COMMENT ON FUNCTION @extschema@.issue_for(bigint, interval) IS
  'Code request and generation: signs a code with the person''s current colour and vaccinated mark, expiring after valid_for (default 5 minutes; from one second to 366 days) but never after the status''s valid_until.';

CREATE FUNCTION @extschema@.record_decision(
    person_id bigint,
    kind text,
    reason text,
    authority text,
    colour @extschema@.risk_colour DEFAULT NULL,
    valid_from timestamptz DEFAULT pg_catalog.now(),
    valid_until timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id bigint;
BEGIN
  IF record_decision.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind IS NULL THEN
    RAISE EXCEPTION 'kind must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF kind NOT IN ('override', 'medical_release', 'appeal_upheld') THEN
    RAISE EXCEPTION 'kind must be override, medical_release or appeal_upheld, not %', quote_literal(@extschema@._shorten(kind))
      USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  PERFORM @extschema@._require_text(authority, 'authority');
  IF (kind = 'override') <> (colour IS NOT NULL) THEN
    RAISE EXCEPTION 'an override needs a colour; a release takes none' USING ERRCODE = '22023';
  END IF;
  PERFORM @extschema@._require_finite(valid_from, 'valid_from');
  IF valid_until IS NOT NULL AND kind <> 'override' THEN
    RAISE EXCEPTION 'valid_until is for an override; a release takes none' USING ERRCODE = '22023';
  END IF;
  IF valid_until <= valid_from THEN
    RAISE EXCEPTION 'valid_until must lie after valid_from' USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.manual_decision AS m
         (person_id, region, kind, colour, valid_from, valid_until, authority, reason)
  SELECT p.id, p.region, record_decision.kind, record_decision.colour, record_decision.valid_from,
         record_decision.valid_until, record_decision.authority, record_decision.reason
    FROM (SELECT x.* FROM @extschema@.person x WHERE x.id = record_decision.person_id FOR KEY SHARE) p
   WHERE @extschema@._in_caller_scope(p.region)
  RETURNING m.id INTO id;
  IF id IS NULL THEN
    RAISE EXCEPTION 'no person % in the regions role % acts for', record_decision.person_id, @extschema@._caller()::regrole
      USING ERRCODE = '22023';
  END IF;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz) IS
  'Records a manual decision (override with a colour and validity, medical_release, appeal_upheld): who, why, under which authority. It is evidence: the status follows.';

CREATE FUNCTION @extschema@.request_correction(person_id bigint, evidence text, evidence_id bigint, claim text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  owner bigint;
  home text;
  id bigint;
BEGIN
  IF request_correction.person_id IS NULL THEN
    RAISE EXCEPTION 'person_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence IS NULL THEN
    RAISE EXCEPTION 'evidence must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF evidence NOT IN ('travel', 'test_result', 'contact', 'vaccination', 'checkin', 'declaration') THEN
    RAISE EXCEPTION 'evidence must be one of travel, test_result, contact, vaccination, checkin, declaration, not %',
      quote_literal(@extschema@._shorten(evidence)) USING ERRCODE = '22023';
  END IF;
  IF evidence_id IS NULL THEN
    RAISE EXCEPTION 'evidence_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(claim, 'claim');
  -- the person, locked against a move or a deletion until the request is
  -- in: filed with the region a snapshot showed, it would fail its foreign
  -- key (23503) when a move commits meanwhile. The locking read gives the
  -- newest region (READ COMMITTED); a move that comes later waits.
  SELECT p.region INTO home FROM @extschema@.person p
   WHERE p.id = request_correction.person_id AND @extschema@._in_caller_scope(p.region) FOR KEY SHARE;
  EXECUTE format('SELECT e.person_id FROM @extschema@.%I e WHERE e.id = $1 AND @extschema@._in_caller_scope(e.region)', evidence)
    INTO owner USING evidence_id;
  IF owner IS DISTINCT FROM request_correction.person_id OR home IS NULL THEN
    RAISE EXCEPTION 'person % has no % record %', request_correction.person_id, evidence, evidence_id
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.correction AS c (person_id, region, evidence, evidence_id, claim)
  VALUES (request_correction.person_id, home, request_correction.evidence, request_correction.evidence_id,
          request_correction.claim)
  RETURNING c.id INTO id;
  RETURN id;
END $$;
COMMENT ON FUNCTION @extschema@.request_correction(bigint, text, bigint, text) IS
  'Error correction, the person''s side: disputes one evidence record with a claim; returns the request id.';

CREATE FUNCTION @extschema@.decide_correction(correction_id bigint, accept boolean, reason text)
RETURNS SETOF @extschema@.status_report
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c @extschema@.correction;
  snapshot jsonb;
BEGIN
  IF correction_id IS NULL THEN
    RAISE EXCEPTION 'correction_id must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF accept IS NULL THEN
    RAISE EXCEPTION 'accept must not be NULL (true or false)' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_text(reason, 'reason');
  -- The person first, then the request: a move holds the person and
  -- cascades into the disputed record and the request; locking the request
  -- first and then deleting the record would deadlock with it. (A request
  -- never changes its person: the one read without a lock is the one.)
  PERFORM 1 FROM @extschema@.person p
   WHERE p.id = (SELECT x.person_id FROM @extschema@.correction x
                  WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region))
   FOR KEY SHARE;
  SELECT * INTO c FROM @extschema@.correction x
   WHERE x.id = correction_id AND @extschema@._in_caller_scope(x.region) FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no correction request %', correction_id USING ERRCODE = '22023';
  END IF;
  IF c.status <> 'pending' THEN
    RAISE EXCEPTION 'correction request % is % already', correction_id, c.status USING ERRCODE = '22023';
  END IF;
  IF accept THEN
    -- the status history names the correction as the cause
    PERFORM set_config('healthcode.change_cause',
                       format('correction %s accepted: %s', c.id, reason), true);
    EXECUTE format('DELETE FROM @extschema@.%I e WHERE e.id = $1 AND e.person_id = $2 RETURNING to_jsonb(e)',
                   c.evidence)
      INTO snapshot USING c.evidence_id, c.person_id;
    PERFORM set_config('healthcode.change_cause', '', true);
  END IF;
  UPDATE @extschema@.correction x
     SET status = CASE WHEN accept THEN 'accepted' ELSE 'rejected' END,
         decided_by = @extschema@._caller()::regrole::text, decided_at = now(), decision_reason = reason,
         evidence_snapshot = snapshot
   WHERE x.id = c.id;
  RETURN QUERY SELECT * FROM @extschema@.status(c.person_id);
END $$;
COMMENT ON FUNCTION @extschema@.decide_correction(bigint, boolean, text) IS
  'Error correction, the operator''s side: accept (the disputed record is removed, kept as a snapshot on the request, and the status follows with the correction as the cause) or reject, with a reason; returns the person''s status.';
-- ---------------------------------------------------------------------------
-- Imports: telecom itineraries, lab results, doses, contact-tracing lists
-- and risk-area bulletins, each a JSON array of records.
-- ---------------------------------------------------------------------------

-- Each takes a JSON array of records (json, not jsonb: see
-- src/hc_import_pg.c) and returns how many rows were new or changed. A
-- record names its person by exactly one of "person_id" (an integer) and
-- "identifier" (their ID number). Every field of every record is checked
-- for its exact type and range before anything is written, and the first
-- bad record aborts the whole import with an error naming the record's
-- position (from 1), the field and the value shortened:
--   22P02  a value of the wrong JSON type or form (an id that is 1.5 or "7")
--   22007  a time that does not parse; 22008 one out of any range
--   22003  a number beyond its field's range (dose 11, an id of 2^64)
--   22023  any other bad value: a missing field, an unknown field, a word
--          outside its field's list, an invalid division code, a time
--          outside the evidence window, a person nobody registered in the
--          caller's regions, a record repeating another's key
--   42501  a risk area outside the regions the caller acts for
--   40001  a person moved out of the caller's regions or deleted by a
--          concurrent transaction between the check and the write: retry
-- Nothing is written unless every record is right, and re-running an
-- import changes nothing. The records are read as a stream (bounded
-- memory); doc/imports.md gives the recommended batch size.

CREATE FUNCTION @extschema@._import_parse(records json, what text, fields text[], rules text[])
RETURNS SETOF record
  AS 'MODULE_PATHNAME', 'healthcode_import_parse'
  LANGUAGE C STABLE;
COMMENT ON FUNCTION @extschema@._import_parse(json, text, text[], text[]) IS
  'Internal: an import''s records as typed rows (ord, then the fields, as the column definition list says), each field checked against its rule (id, int:LO..HI, text, identifier, division, a|b|c, evidence_time, time; ! required); raises naming the first bad record and field.';

-- Runs query with records as $1, returning its first row as text; for the
-- imports' own statements, which pass a batch of many megabytes: PL/pgSQL's
-- EXECUTE ... USING, and any plan that folds the parameter into a constant,
-- would copy it (so the callers assign its result: PERFORM plans a query).
CREATE FUNCTION @extschema@._import_execute(query text, records json) RETURNS text[]
  AS 'MODULE_PATHNAME', 'healthcode_import_execute'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._import_execute(text, json) IS
  'Internal: runs an import''s statement with the records as $1 (not copied) and returns its first row''s columns as text.';

-- The pseudonym a record's identifier is registered under (NULL for none).
CREATE FUNCTION @extschema@._import_subject(identifier text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
RETURN @extschema@.pseudonym(@extschema@.normalize_identifier(identifier));
COMMENT ON FUNCTION @extschema@._import_subject(text) IS
  'Internal: the pseudonym of an import record''s identifier.';

-- The people of an import, locked. FOR KEY SHARE is the lightest lock a
-- move (an update of region, part of the key (id, region) the evidence
-- refers to) and a deletion wait for; read committed, a person moved
-- before the lock is read as moved, so each row gets the region its
-- person has when the row is written. In id order: two imports never
-- wait for each other, and a move waits for them.
-- (The caller's scope is computed once, not per row: _in_caller_scope()
-- for each of a million records costs seconds.)
CREATE FUNCTION @extschema@._import_people(ids bigint[]) RETURNS TABLE (id bigint, region text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  scope @extschema@.division_multirange := @extschema@.my_region_scope();
BEGIN
  RETURN QUERY
  SELECT p.id, p.region FROM @extschema@.person p
   WHERE p.id = ANY (ids) AND scope @> (p.region COLLATE "C")
   ORDER BY p.id
     FOR KEY SHARE;
END $$;
COMMENT ON FUNCTION @extschema@._import_people(bigint[]) IS
  'Internal: the people an import names that are registered in the caller''s regions, locked FOR KEY SHARE (in id order) so that no move or deletion races the import.';

-- Raises for an import whose check found a record naming nobody, or one
-- that repeats another's key (again, first, and which key; with no first,
-- key says what is wrong with record again).
CREATE FUNCTION @extschema@._import_refuse(what text, unknown bigint, unknown_before_lock boolean,
                                            again bigint, first bigint, key text) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF unknown IS NOT NULL AND unknown_before_lock THEN
    RAISE EXCEPTION '% import: record % names no person registered in the regions the caller acts for', what, unknown
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'A person is registered by their first declaration (healthcode.declare) or by healthcode.register_person.';
  ELSIF unknown IS NOT NULL THEN
    RAISE EXCEPTION '% import: record %: its person was moved or deleted by a concurrent transaction; retry the import', what, unknown
      USING ERRCODE = '40001', DETAIL = 'Nothing was imported.';
  END IF;
  IF again IS NOT NULL AND first IS NULL THEN
    RAISE EXCEPTION '% import: record %: %', what, again, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  ELSIF again IS NOT NULL THEN
    RAISE EXCEPTION '% import: record % repeats record % (same %)', what, again, first, key
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.',
            HINT = 'Each record of one import must have its own key; send a correction in a later import.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._import_refuse(text, bigint, boolean, bigint, bigint, text) IS
  'Internal: 22023 naming an import record whose person is unknown or that repeats an earlier record''s key; 40001 (retry) for a person moved or deleted while the import ran.';

-- Every import with people runs the same two statements: the first reads
-- the records (every field checked) and resolves their people; the second
-- locks those people and writes, unless a record names nobody. Only the
-- table, its columns and what a conflict does differ, so those are the
-- arguments: cols are the record's columns as the column definition list
-- writes them, insert the INSERT ... SELECT ... FROM recs r JOIN people p
-- USING... that writes them (with r.pid and p.region), checks an optional
-- query of (again, first, key) naming a repeated key in recs, prepare an
-- optional statement (on the records as $1) run once every record has been
-- found right and before any person is locked.
CREATE FUNCTION @extschema@._import_with_people(records json, what text, fields text[], rules text[],
                                                 cols text, insert text, checks text DEFAULT NULL,
                                                 prepare text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parse text := format(
    $q$SELECT r.*, COALESCE(r.person_id, s.id) AS pid
         FROM @extschema@._import_parse($1, %L, %L, %L) AS r(ord bigint, person_id bigint, identifier text, %s)
         LEFT JOIN @extschema@.person s ON s.subject = @extschema@._import_subject(r.identifier)$q$,
    what, fields, rules, cols);
  found text[];
BEGIN
  -- 1. read and check: nothing written, nothing locked. (Each person
  -- once: a batch names far fewer people than it has records. The scope
  -- once too: _in_caller_scope() for each of a million records costs
  -- seconds.)
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            unknown AS MATERIALIZED (
              SELECT i.pid FROM (SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL) i
               WHERE NOT EXISTS (SELECT FROM @extschema@.person p
                                  WHERE p.id = i.pid AND %L::@extschema@.division_multirange @> (p.region COLLATE "C")))
       SELECT (SELECT min(r.ord) FROM recs r WHERE r.pid IS NULL OR r.pid IN (SELECT u.pid FROM unknown u)),
              c.* FROM (%s) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope(), coalesce(checks, 'SELECT NULL::bigint, NULL::bigint, NULL::text')),
    records);
  PERFORM @extschema@._import_refuse(what, found[1]::bigint, true, found[2]::bigint, found[3]::bigint, found[4]);
  IF prepare IS NOT NULL THEN
    -- (an assignment, not PERFORM: PERFORM plans a query, which copies the
    -- records into a constant of its plan)
    found := @extschema@._import_execute(prepare, records);
  END IF;
  -- 2. lock the people and write; a person gone in between stops it all
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s),
            people AS MATERIALIZED (
              SELECT * FROM @extschema@._import_people(ARRAY(SELECT DISTINCT r.pid FROM recs r WHERE r.pid IS NOT NULL))),
            gone AS MATERIALIZED (
              SELECT min(r.ord) AS ord FROM recs r WHERE NOT EXISTS (SELECT FROM people p WHERE p.id = r.pid)),
            written AS (%s RETURNING 1)
       SELECT (SELECT count(*) FROM written), (SELECT g.ord FROM gone g)$q$,
    parse, replace(insert, '$ok', '(SELECT g.ord IS NULL FROM gone g)')),
    records);
  PERFORM @extschema@._import_refuse(what, found[2]::bigint, false, NULL, NULL, NULL);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@._import_with_people(json, text, text[], text[], text, text, text, text) IS
  'Internal: the two statements of every import of personal evidence: read and check every record and its person (optionally a repeated key), then lock the people (FOR KEY SHARE) and write.';

CREATE FUNCTION @extschema@.import_travel(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'travel',
    '{person_id,identifier,place,at,source,venue}',
    '{id,identifier,division!,evidence_time!,telecom|transport|venue_scan|declared,text}',
    'place text, at timestamptz, source text, venue text',
    $q$INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
       SELECT r.pid, p.region, r.place, r.at, COALESCE(r.source, 'telecom'), r.venue
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT DO NOTHING$q$,
    -- the day partitions the stays go into, once the batch is known right;
    -- only the days that hold a stay (a batch with one stay a year old
    -- must not make the 365 empty days in between)
    prepare => $q$
      SELECT count(@extschema@.create_travel_partitions(d.day, d.day))
        FROM (SELECT DISTINCT (r.at AT TIME ZONE 'Asia/Shanghai')::date AS day
                FROM @extschema@._import_parse($1, 'travel', '{person_id,identifier,place,at,source,venue}',
                       '{id,identifier,division!,evidence_time!,telecom|transport|venue_scan|declared,text}')
                     AS r(ord bigint, person_id bigint, identifier text, place text, at timestamptz,
                          source text, venue text)) d$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_travel(json) IS
  'Imports stays: [{"person_id" or "identifier", "place" (a division code), "at" (a time), "source" (telecom, transport, venue_scan, declared; default telecom), "venue"}]. Creates the day partitions it needs; duplicates are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_test_results(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- a lab re-sending a sample with another result corrects it; a sample
  -- already recorded for someone else is a mistake, never a correction
  RETURN @extschema@._import_with_people(records, 'test result',
    '{person_id,identifier,kind,sampled_at,result,lab,sample_id}',
    '{id,identifier,pcr|antigen!,evidence_time!,positive|negative!,text!,text!}',
    'kind text, sampled_at timestamptz, result text, lab text, sample_id text',
    $q$INSERT INTO @extschema@.test_result AS t (person_id, region, kind, sampled_at, result, lab, sample_id)
       SELECT r.pid, p.region, r.kind, r.sampled_at, r.result, r.lab, r.sample_id
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT ON CONSTRAINT test_result_natural_key DO UPDATE
          SET result = EXCLUDED.result, kind = EXCLUDED.kind, sampled_at = EXCLUDED.sampled_at,
              reported_at = EXCLUDED.reported_at
        WHERE t.person_id = EXCLUDED.person_id
          AND (t.result, t.kind, t.sampled_at) IS DISTINCT FROM (EXCLUDED.result, EXCLUDED.kind, EXCLUDED.sampled_at)$q$,
    $q$SELECT * FROM (
         -- (the first record that repeats an earlier one's key: linear, by hashing)
         SELECT r.ord, f.first, 'lab and sample_id'
           FROM recs r
           JOIN (SELECT x.lab, x.sample_id, min(x.ord) AS first FROM recs x GROUP BY x.lab, x.sample_id) f
             ON f.lab = r.lab AND f.sample_id = r.sample_id AND r.ord > f.first
         UNION ALL
         -- (a record repeating no other: its sample is someone else's)
         SELECT r.ord, NULL, 'its lab and sample_id are recorded for another person'
           FROM recs r JOIN @extschema@.test_result t ON t.lab = r.lab AND t.sample_id = r.sample_id
          WHERE t.person_id <> r.pid) x ORDER BY 1 LIMIT 1$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_test_results(json) IS
  'Imports lab results: [{"person_id" or "identifier", "kind" (pcr, antigen), "sampled_at", "result" (positive, negative), "lab", "sample_id"}]. A known sample of the same person with another result is a correction and replaces it; returns how many rows were new or corrected.';

CREATE FUNCTION @extschema@.import_vaccinations(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'vaccination',
    '{person_id,identifier,dose,given_at,product}',
    '{id,identifier,int:1..10!,evidence_time!,text}',
    'dose integer, given_at timestamptz, product text',
    $q$INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
       SELECT r.pid, p.region, r.dose, r.given_at, r.product
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_vaccinations(json) IS
  'Imports doses: [{"person_id" or "identifier", "dose" (1 to 10), "given_at", "product"}]; known doses are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_contacts(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN @extschema@._import_with_people(records, 'contact',
    '{person_id,identifier,kind,exposure_at,source_case}',
    '{id,identifier,close|secondary!,evidence_time!,text!}',
    'kind text, exposure_at timestamptz, source_case text',
    $q$INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
       SELECT r.pid, p.region, r.kind, r.exposure_at, r.source_case
         FROM recs r JOIN people p ON p.id = r.pid
        WHERE $ok
       ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING$q$);
END $$;
COMMENT ON FUNCTION @extschema@.import_contacts(json) IS
  'Imports contact-tracing lists: [{"person_id" or "identifier", "kind" (close, secondary), "exposure_at", "source_case"}]; known contacts are skipped; returns how many were new.';

CREATE FUNCTION @extschema@.import_risk_areas(records json) RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  parse text := $q$
    SELECT * FROM @extschema@._import_parse($1, 'risk area',
                    '{division,level,effective_from,effective_until,bulletin}',
                    '{division!,low|medium|high!,time!,time,text}')
                  AS r(ord bigint, division text, level text, effective_from timestamptz,
                       effective_until timestamptz, bulletin text)$q$;
  found text[];
BEGIN
  found := @extschema@._import_execute(format(
    $q$WITH recs AS MATERIALIZED (%s)
       SELECT (SELECT min(r.ord) FROM recs r
                WHERE NOT %L::@extschema@.division_multirange @> (r.division COLLATE "C")),
              (SELECT min(r.ord) FROM recs r WHERE r.effective_until <= r.effective_from),
              c.* FROM (SELECT r.ord, f.first, 'division and effective_from'
                          FROM recs r
                          JOIN (SELECT x.division, x.effective_from, min(x.ord) AS first
                                  FROM recs x GROUP BY x.division, x.effective_from) f
                            ON f.division = r.division AND f.effective_from = r.effective_from AND r.ord > f.first
                         ORDER BY r.ord LIMIT 1) c RIGHT JOIN (SELECT) one ON true$q$,
    parse, @extschema@.my_region_scope()), records);
  IF found[1] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "division": outside the regions role % acts for', found[1],
                    @extschema@._caller()::regrole
      USING ERRCODE = '42501', DETAIL = 'Nothing was imported.',
            HINT = 'A DBA maps roles to regions: SELECT healthcode.grant_region(''role'', ''330000'');';
  END IF;
  IF found[2] IS NOT NULL THEN
    RAISE EXCEPTION 'risk area import: record %, field "effective_until": not after effective_from', found[2]
      USING ERRCODE = '22023', DETAIL = 'Nothing was imported.';
  END IF;
  PERFORM @extschema@._import_refuse('risk area', NULL, true, found[3]::bigint, found[4]::bigint, found[5]);
  -- a bulletin re-issued for the same division and start updates level and end
  found := @extschema@._import_execute(format(
    $q$WITH written AS (
         INSERT INTO @extschema@.risk_area AS a (division, level, effective_from, effective_until, bulletin)
         SELECT r.division, r.level, r.effective_from, r.effective_until, r.bulletin FROM (%s) r ORDER BY r.ord
         ON CONFLICT ON CONSTRAINT risk_area_natural_key DO UPDATE
            SET level = EXCLUDED.level, effective_until = EXCLUDED.effective_until, bulletin = EXCLUDED.bulletin
          WHERE (a.level, a.effective_until, a.bulletin)
                IS DISTINCT FROM (EXCLUDED.level, EXCLUDED.effective_until, EXCLUDED.bulletin)
         RETURNING 1)
       SELECT count(*) FROM written$q$, parse), records);
  RETURN found[1]::integer;
END $$;
COMMENT ON FUNCTION @extschema@.import_risk_areas(json) IS
  'Imports risk-area bulletins: [{"division", "level" (low, medium, high), "effective_from", "effective_until", "bulletin"}]. A bulletin for a known division and start updates its level and end (an upgrade or a downgrade); returns how many rows were new or changed.';
-- ---------------------------------------------------------------------------
-- Retention. Travel (itineraries, transport, venue scans) is the big,
-- time-ordered table: one partition a day (China Standard Time), named
-- travel_YYYYMMDD. Deleting old movement data is the privacy guarantee,
-- and dropping a whole day's partition keeps it cheap. A daily job runs
--   SELECT healthcode.create_travel_partitions();        -- the days ahead
--   SELECT healthcode.drop_expired_travel_partitions();  -- the days gone
-- The import functions create the partitions they need themselves, through a
-- background worker (_create_travel_partitions_apart).
-- ---------------------------------------------------------------------------

-- Days made by a background worker in a transaction of its own, so that
-- the locks a new partition takes are not held until an import commits
-- (src/hc_partition_worker.c); false when no worker could be used.
CREATE FUNCTION @extschema@._create_travel_partitions_apart(first_day date, last_day date) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_create_travel_partitions_apart'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._create_travel_partitions_apart(date, date) IS
  'Internal: runs create_travel_partitions(first_day, last_day) in a background worker''s own transaction and waits for it; false when none could be used (in a worker, with a lock on travel or person already held, or no free worker slot).';

CREATE FUNCTION @extschema@.create_travel_partitions(
    first_day date DEFAULT ((pg_catalog.now() AT TIME ZONE 'Asia/Shanghai')::date - 1),
    last_day date DEFAULT ((pg_catalog.now() AT TIME ZONE 'Asia/Shanghai')::date + 7))
RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d date;
  name text;
  made integer := 0;
  missing integer;
  schema_name text := '@extschema@';
BEGIN
  IF first_day IS NULL OR last_day IS NULL OR NOT isfinite(first_day) OR NOT isfinite(last_day) THEN
    RAISE EXCEPTION 'create_travel_partitions needs two finite days' USING ERRCODE = '22023';
  END IF;
  IF first_day < date '2019-12-01' THEN
    RAISE EXCEPTION 'create_travel_partitions: % lies before the health-code era (2019-12-01)', first_day
      USING ERRCODE = '22023';
  END IF;
  IF last_day - first_day > 3660 THEN
    RAISE EXCEPTION 'create_travel_partitions: % days asked for; at most ten years at a time', last_day - first_day + 1
      USING ERRCODE = '22023';
  END IF;
  -- missing days: first by a worker, in a transaction of its own; what it
  -- could not make (or when it cannot be used) is made below, here
  missing := (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
               WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  IF missing > 0 AND @extschema@._create_travel_partitions_apart(first_day, last_day) THEN
    made := missing - (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
                        WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  END IF;
  FOR d IN SELECT g::date FROM generate_series(first_day, last_day, interval '1 day') g LOOP
    name := 'travel_' || to_char(d, 'YYYYMMDD');
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    -- Made here (no worker): a new partition locks travel (ACCESS
    -- EXCLUSIVE) and, for its foreign key, person (SHARE ROW EXCLUSIVE)
    -- until the transaction ends. Taken in the other order that deadlocks
    -- with a move, whose cascade writes travel while it holds person. So
    -- person first, then travel: whoever holds either finishes first. The
    -- lock on travel also serialises concurrent creators and, being a
    -- relation lock, makes this session see a partition another one has
    -- just committed (an advisory lock would not: 42P07).
    LOCK TABLE @extschema@.person IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE @extschema@.travel IN ACCESS EXCLUSIVE MODE;
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.travel FOR VALUES FROM (%L) TO (%L)',
                   schema_name, name, schema_name,
                   d::timestamp AT TIME ZONE 'Asia/Shanghai', (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai');
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I UNIQUE (person_id, region, at, place, source)',
                   schema_name, name, name || '_natural_key');
    -- who stayed in an area, and when: read from the index alone (with the
    -- person and the record), as a risk-area change asks it of many people
    EXECUTE format('CREATE INDEX %I ON %I.%I (place, at) INCLUDE (person_id, id)',
                   name || '_place_at', schema_name, name);
    EXECUTE format('CREATE INDEX %I ON %I.%I (id)', name || '_id', schema_name, name);
    -- statement triggers fire for the table a statement names: a write
    -- straight into a partition must recalculate as one through travel does
    EXECUTE format('CREATE TRIGGER travel_inserted AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_updated AFTER UPDATE ON %I.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_deleted AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_truncated AFTER TRUNCATE ON %I.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, name,
                   format('Travel records of %s (China Standard Time); dropped by drop_expired_travel_partitions().', d));
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_travel_partitions(date, date) IS
  'Creates the missing day partitions travel_YYYYMMDD for the days first_day..last_day (default: yesterday to a week ahead); returns how many it made.';

CREATE FUNCTION @extschema@.travel_retention() RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT pg_catalog.now() OPERATOR(pg_catalog.-) @extschema@._evidence_horizon(pg_catalog.now());
END;
COMMENT ON FUNCTION @extschema@.travel_retention() IS
  'How long travel records matter to any colour: the longest lookback of any policy version in force now or later.';

CREATE FUNCTION @extschema@.drop_expired_travel_partitions(margin interval DEFAULT interval '7 days')
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cutoff date;
  part record;
BEGIN
  IF margin IS NULL OR margin < interval '0' OR margin > interval '10 years' THEN
    RAISE EXCEPTION 'margin must be an interval between 0 and 10 years' USING ERRCODE = '22023';
  END IF;
  -- a day goes once all of it lies before the horizon minus the margin
  cutoff := ((@extschema@._evidence_horizon(now()) - margin) AT TIME ZONE 'Asia/Shanghai')::date;
  FOR part IN
    SELECT c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '@extschema@.travel'::regclass
       AND c.relname ~ '^travel_[0-9]{8}$'
       AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) IS
  'Drops the travel day partitions that lie wholly before the longest window any policy needs, minus margin (default 7 days), and returns their names. The stays in them can no longer change any colour.';
-- ---------------------------------------------------------------------------
-- Consistency: recompute every status from the raw evidence and compare it
-- with what the triggers stored. An empty result means the incremental,
-- trigger-driven recalculation agrees with a full one.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.check_consistency(at timestamptz DEFAULT pg_catalog.statement_timestamp())
RETURNS TABLE (person_id bigint, stored jsonb, recomputed jsonb)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH fresh AS (
    SELECT f.person_id, f.timeline AS v
      FROM @extschema@._fresh_status(ARRAY(SELECT p.id FROM @extschema@.person p), check_consistency.at) f
  ), policies AS MATERIALIZED (
    -- once a region, and the horizon once
    SELECT r.region, @extschema@._policy_vector(r.region) AS vec,
           @extschema@._evidence_horizon(check_consistency.at) AS horizon
      FROM (SELECT DISTINCT s.region FROM @extschema@.person_status s) r
  ), stored AS MATERIALIZED (
    SELECT s.person_id, x.v,
           -- the timeline a risk-area change would compute from the stored
           -- inputs (with no stay re-examined): it must be the same
           CASE WHEN s.inputs IS NOT NULL THEN
             @extschema@._status_restayed(s.inputs, '{}', '{}', '{}', '{}', v.vec, check_consistency.at,
                                          v.horizon) END AS from_inputs
      FROM @extschema@.person_status s
      JOIN policies v ON v.region OPERATOR(pg_catalog.=) s.region
      CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, check_consistency.at) AS v OFFSET 0) x
  ), compared AS (
    SELECT COALESCE(f.person_id, s.person_id) AS person_id,
           CASE WHEN s.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (s.v).colour, 'vaccinated', (s.v).vaccinated,
                                           'reasons', (s.v).reasons, 'valid_until', (s.v).valid_until,
                                           'next', (s.v).next) END AS stored,
           CASE WHEN f.person_id IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (f.v).colour, 'vaccinated', (f.v).vaccinated,
                                           'reasons', (f.v).reasons, 'valid_until', (f.v).valid_until,
                                           'next', (f.v).next) END AS recomputed,
           s.from_inputs
      FROM fresh f
      FULL JOIN stored s ON s.person_id OPERATOR(pg_catalog.=) f.person_id
  ), judged AS (
    SELECT c.person_id, c.stored, c.recomputed,
           CASE WHEN c.from_inputs IS NOT NULL THEN
             pg_catalog.jsonb_build_object('colour', (c.from_inputs).colour,
                                           'vaccinated', (c.from_inputs).vaccinated,
                                           'reasons', (c.from_inputs).reasons,
                                           'valid_until', (c.from_inputs).valid_until,
                                           'next', (c.from_inputs).next) END AS from_inputs
      FROM compared c
  )
  SELECT j.person_id,
         j.stored OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('from_inputs', j.from_inputs),
         j.recomputed OPERATOR(pg_catalog.||)
           pg_catalog.jsonb_build_object('from_inputs', CASE WHEN j.from_inputs IS NOT NULL THEN j.recomputed END)
    FROM judged j
   WHERE j.stored IS DISTINCT FROM j.recomputed
      OR (j.from_inputs IS NOT NULL AND j.from_inputs IS DISTINCT FROM j.recomputed)
   ORDER BY 1;
END;
COMMENT ON FUNCTION @extschema@.check_consistency(timestamptz) IS
  'Recomputes every person''s status from the raw evidence and returns each person whose stored status (read at the same instant) differs, with both versions; under "from_inputs", the status computed from the evidence stored with it (person_status.inputs, what a risk-area change recomputes from), which must be the same. Empty when the triggers kept everything right.';
-- ---------------------------------------------------------------------------
-- A synthetic population for demos, tests and benchmarks: people in
-- fifteen districts of five provinces, with itineraries through current
-- and past risk areas, lab results, doses, contact-tracing lists,
-- declarations (some contradicted by the itineraries) and check-ins.
-- Deterministic for a given seed. Identifiers are made-up GB 11643 ID
-- numbers (valid check digit) and never stored: only their pseudonyms.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.synthetic_identifier(region text, n bigint) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  first17 text;
  weights integer[] := ARRAY[7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
BEGIN
  PERFORM @extschema@._require_region(region);
  IF n < 0 THEN
    RAISE EXCEPTION 'n must not be negative, not %', n USING ERRCODE = '22023';
  END IF;
  -- region, a birth date in the 20,000 days from 1950 on, a three-digit sequence number
  first17 := region || to_char(date '1950-01-01' + (n / 1000 % 20000)::integer, 'YYYYMMDD')
             || lpad((n % 1000)::text, 3, '0');
  RETURN first17 || substr('10X98765432',
    (SELECT sum(substr(first17, i, 1)::integer * weights[i]) FROM generate_series(1, 17) i)::integer % 11 + 1, 1);
END $$;
COMMENT ON FUNCTION @extschema@.synthetic_identifier(text, bigint) IS
  'The n-th made-up 18-digit ID number (GB 11643 layout and check digit) of a region, for synthetic people. Unique for n below 20,000,000.';

CREATE FUNCTION @extschema@.generate_population(
    people integer,
    stays_per_person integer DEFAULT 10,
    days integer DEFAULT 21,
    seed double precision DEFAULT 0.42)
RETURNS TABLE (what text, rows bigint)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  districts text[] := ARRAY['330102', '330105', '330106', '330108', '330110', '330203',
                            '110101', '110105', '110108', '310101', '310104', '310115',
                            '440103', '440106', '440305'];
  base bigint;
  t timestamptz := statement_timestamp();
  n bigint;
BEGIN
  IF people IS NULL OR people < 1 OR people > 10000000 THEN
    RAISE EXCEPTION 'people must be between 1 and 10,000,000' USING ERRCODE = '22023';
  END IF;
  IF stays_per_person IS NULL OR stays_per_person < 0 OR stays_per_person > 1000
     OR days IS NULL OR days < 1 OR days > 366 THEN
    RAISE EXCEPTION 'stays_per_person must be 0-1000 and days 1-366' USING ERRCODE = '22023';
  END IF;
  IF seed IS NULL OR seed < -1 OR seed > 1 THEN
    RAISE EXCEPTION 'seed must be between -1 and 1' USING ERRCODE = '22023';
  END IF;
  PERFORM setseed(seed);
  PERFORM set_config('healthcode.change_cause', 'synthetic population', true);
  SELECT COALESCE(max(p.id), 0) INTO base FROM @extschema@.person p;

  -- risk areas: two current high-risk districts, a current medium-risk
  -- one, and a medium-risk designation that has ended
  INSERT INTO @extschema@.risk_area (division, level, effective_from, effective_until, bulletin) VALUES
    ('330106', 'high', date_trunc('day', t) - interval '6 days', NULL, 'synthetic bulletin 1'),
    ('110105', 'high', date_trunc('day', t) - interval '3 days', NULL, 'synthetic bulletin 2'),
    ('310104', 'medium', date_trunc('day', t) - interval '10 days', NULL, 'synthetic bulletin 3'),
    ('440305', 'medium', date_trunc('day', t) - interval '20 days', date_trunc('day', t) - interval '8 days', 'synthetic bulletin 4')
  ON CONFLICT ON CONSTRAINT risk_area_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'risk areas'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_person ON COMMIT DROP AS
  SELECT base + g AS k, districts[1 + floor(random() * array_length(districts, 1))::integer] AS region,
         (ARRAY['王','李','张','刘','陈','杨','黄','赵','吴','周','徐','孙','马','朱','胡','郭','何','林','罗','高'])[1 + floor(random() * 20)::integer]
         || (ARRAY['伟','芳','娜','敏','静','丽','强','磊','军','洋','勇','艳','杰','娟','涛','明','超','秀','霞','平'])[1 + floor(random() * 20)::integer]
         || CASE WHEN random() < 0.6
                 THEN (ARRAY['华','英','玉','兰','文','斌','辉','建','国','春'])[1 + floor(random() * 10)::integer]
                 ELSE '' END AS name,
         t - random() * interval '365 days' - interval '30 days' AS registered_at
    FROM generate_series(1, people) g;

  INSERT INTO @extschema@.person (region, subject, display_name, registered_at)
  SELECT s.region, @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k)),
         @extschema@.mask_name(s.name), s.registered_at
    FROM synthetic_person s ORDER BY s.k
  ON CONFLICT ON CONSTRAINT person_subject_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'people'; rows := n; RETURN NEXT;

  CREATE TEMP TABLE synthetic_who ON COMMIT DROP AS
  SELECT p.id, p.region, random() AS r1, random() AS r2, random() AS r3
    FROM synthetic_person s
    JOIN @extschema@.person p ON p.subject = @extschema@.pseudonym(@extschema@.synthetic_identifier(s.region, s.k));

  -- itineraries: mostly at home, sometimes elsewhere
  PERFORM @extschema@.create_travel_partitions(((t - make_interval(days => days)) AT TIME ZONE 'Asia/Shanghai')::date,
                                               (t AT TIME ZONE 'Asia/Shanghai')::date);
  INSERT INTO @extschema@.travel (person_id, region, place, at, source, venue)
  SELECT w.id, w.region,
         CASE WHEN random() < 0.7 THEN w.region
              ELSE districts[1 + floor(random() * array_length(districts, 1))::integer] END,
         date_trunc('second', t - interval '1 minute' - random() * make_interval(days => days)),
         (ARRAY['telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom', 'telecom',
                'transport', 'venue_scan'])[1 + floor(random() * 10)::integer],
         NULL
    FROM synthetic_who w
    CROSS JOIN generate_series(1, stays_per_person)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'travel records'; rows := n; RETURN NEXT;

  -- lab results: 40% tested lately, a few positive
  INSERT INTO @extschema@.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  SELECT w.id, w.region, CASE WHEN random() < 0.8 THEN 'pcr' ELSE 'antigen' END,
         date_trunc('second', t - interval '1 hour' - (k * 30 + random() * 20) * interval '1 hour'),
         CASE WHEN w.r1 < 0.003 AND k = 1 THEN 'positive' ELSE 'negative' END,
         'synthetic lab ' || (w.id % 7), 'S' || w.id || '-' || k
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) k
   WHERE w.r1 < 0.4 AND k <= 1 + floor(w.r2 * 3)
  ON CONFLICT ON CONSTRAINT test_result_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'test results'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.vaccination (person_id, region, dose, given_at, product)
  SELECT w.id, w.region, d, t - interval '400 days' + d * interval '60 days' + random() * interval '20 days',
         (ARRAY['CoronaVac', 'BBIBP-CorV', 'Ad5-nCoV'])[1 + (w.id % 3)::integer]
    FROM synthetic_who w
    CROSS JOIN generate_series(1, 3) d
   WHERE (d = 1 AND w.r3 < 0.9) OR (d = 2 AND w.r3 < 0.85) OR (d = 3 AND w.r3 < 0.5)
  ON CONFLICT ON CONSTRAINT vaccination_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'vaccinations'; rows := n; RETURN NEXT;

  INSERT INTO @extschema@.contact (person_id, region, kind, exposure_at, source_case)
  SELECT w.id, w.region, CASE WHEN w.r2 < 0.33 THEN 'close' ELSE 'secondary' END,
         date_trunc('second', t - interval '1 hour' - random() * interval '10 days'),
         'case-' || (w.id % 97)
    FROM synthetic_who w
   WHERE w.r1 BETWEEN 0.5 AND 0.515
  ON CONFLICT ON CONSTRAINT contact_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'contacts'; rows := n; RETURN NEXT;

  -- declarations: 60% declared in the last five days; most list the
  -- districts they were in, some leave one out
  INSERT INTO @extschema@.declaration (person_id, region, declared_at, symptoms, temperature, visited, contact_with_case)
  SELECT w.id, w.region, date_trunc('second', t - interval '1 minute' - random() * interval '5 days'),
         CASE WHEN w.r3 < 0.02 THEN ARRAY['cough'] ELSE '{}' END,
         round((36.2 + random() * 0.8)::numeric, 1),
         ARRAY(SELECT DISTINCT tr.place FROM @extschema@.travel tr
                WHERE tr.person_id = w.id AND tr.place <> w.region
                  AND (w.r2 > 0.1 OR tr.place = w.region)
                ORDER BY tr.place),
         false
    FROM synthetic_who w
   WHERE w.r2 < 0.6
  ON CONFLICT ON CONSTRAINT declaration_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'declarations'; rows := n; RETURN NEXT;

  -- daily check-ins of the contacts, most days
  INSERT INTO @extschema@.checkin (person_id, region, at, temperature)
  SELECT c.person_id, c.region, date_trunc('second', d + interval '9 hours' + random() * interval '2 hours'),
         round((36.3 + random() * 0.6)::numeric, 1)
    FROM @extschema@.contact c
    JOIN synthetic_who w ON w.id = c.person_id
    CROSS JOIN LATERAL generate_series(date_trunc('day', c.exposure_at), t - interval '12 hours', interval '1 day') d
   WHERE random() < 0.9
  ON CONFLICT ON CONSTRAINT checkin_natural_key DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  what := 'check-ins'; rows := n; RETURN NEXT;

  DROP TABLE synthetic_who;
  DROP TABLE synthetic_person;
  PERFORM set_config('healthcode.change_cause', '', true);
END $$;
COMMENT ON FUNCTION @extschema@.generate_population(integer, integer, integer, double precision) IS
  'Adds a synthetic population: people in fifteen districts, stays_per_person stays each over the last days days through current and past risk areas, lab results, doses, contacts, declarations and check-ins. Deterministic for a seed (-1..1). Needs the server key (pseudonyms). Returns rows added per table.';
-- ---------------------------------------------------------------------------
-- Cross-region mutual recognition. Every region runs its own node with
-- this extension; a national hub runs another. They exchange, by
-- PostgreSQL's logical replication (publications and subscriptions):
--   up   (each region -> hub): its issuers' public keys and revocations,
--        its people's code-status digests (pseudonym, colour, until: never
--        a name or an identifier), and the reds it decided;
--   down (hub -> every region): every issuer's public key (the trust list),
--        every region's reds, and the national policy versions.
-- Secret keys and personal data never cross a node boundary.
--
-- A subscriber stalls on the first change it cannot apply, so the tables
-- that receive (key_exchange, red_push, policy_exchange, status_digest)
-- have no constraint a remote row could break: a trigger that also fires
-- for the replication apply worker checks each row, logs a bad one in
-- exchange_reject and skips it, and the rest goes on. Loops stop by
-- themselves: a row that arrives back unchanged is skipped, so nothing is
-- written and nothing is sent again.
-- ---------------------------------------------------------------------------

-- ---- the node ------------------------------------------------------------------

CREATE TABLE @extschema@.node (
  singleton     boolean PRIMARY KEY DEFAULT true CONSTRAINT one_row CHECK (singleton),
  role          text NOT NULL CONSTRAINT role_is_known CHECK (role IN ('hub', 'region')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  name          text NOT NULL CONSTRAINT name_is_simple CHECK (name ~ '^[a-z][a-z0-9_]{0,40}$'),
  CONSTRAINT hub_is_national CHECK ((role = 'hub') = (region = '000000'))
);
COMMENT ON TABLE @extschema@.node IS
  'What this node is in the national scheme: the hub (000000) or a region (the division code it serves), and its name. One row; set with set_node().';
COMMENT ON COLUMN @extschema@.node.singleton IS 'Always true: one row.';
COMMENT ON COLUMN @extschema@.node.role IS 'hub or region.';
COMMENT ON COLUMN @extschema@.node.region IS 'The division code the node serves (000000 for the hub).';
COMMENT ON COLUMN @extschema@.node.name IS 'A short name, used in publication and subscription names.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.node', '');

CREATE FUNCTION @extschema@.set_node(role text, region text, name text) RETURNS @extschema@.node
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
BEGIN
  IF role IS NULL OR role NOT IN ('hub', 'region') THEN
    RAISE EXCEPTION 'role must be hub or region' USING ERRCODE = '22023';
  END IF;
  IF region IS NULL OR NOT @extschema@.division_code_valid(region) OR (role = 'hub') <> (region = '000000') THEN
    RAISE EXCEPTION 'a hub serves 000000, a region a division code of its own, not %', coalesce(quote_literal(region), 'NULL')
      USING ERRCODE = '22023';
  END IF;
  IF name IS NULL OR name !~ '^[a-z][a-z0-9_]{0,40}$' THEN
    RAISE EXCEPTION 'a node''s name is a lower-case letter followed by up to 40 letters, digits or _'
      USING ERRCODE = '22023';
  END IF;
  INSERT INTO @extschema@.node AS x (role, region, name) VALUES (set_node.role, set_node.region, set_node.name)
  ON CONFLICT (singleton) DO UPDATE SET role = EXCLUDED.role, region = EXCLUDED.region, name = EXCLUDED.name
  RETURNING x.* INTO n;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.set_node(text, text, text) IS
  'Declares what this node is: set_node(''hub'', ''000000'', ''hub'') or set_node(''region'', ''330000'', ''zhejiang'').';

CREATE FUNCTION @extschema@._node_region() RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT n.region FROM @extschema@.node n;
END;
COMMENT ON FUNCTION @extschema@._node_region() IS
  'Internal: the division code this node serves, NULL while no node is set.';

-- ---- national pseudonyms ----------------------------------------------------------

CREATE FUNCTION @extschema@.national_pseudonym(identifier text) RETURNS bytea
  AS 'MODULE_PATHNAME', 'healthcode_national_pseudonym'
  LANGUAGE C STABLE STRICT PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@.national_pseudonym(text) IS
  'The 16-byte national pseudonym of an identifier: keyed BLAKE2b under the national key (healthcode.national_key_file), the same on every node, so that people can be matched across regions without their identifier.';

CREATE FUNCTION @extschema@._national_key_configured() RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_national_key_configured'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._national_key_configured() IS
  'Internal: whether healthcode.national_key_file is set.';

-- ---- what crosses: rejected rows are logged here ----------------------------------

CREATE TABLE @extschema@.exchange_reject (
  id            bigserial PRIMARY KEY,
  received_at   timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  tbl           text NOT NULL,
  problem       text NOT NULL,
  row_data      jsonb NOT NULL,
  by_replication boolean NOT NULL
);
COMMENT ON TABLE @extschema@.exchange_reject IS
  'Rows another node sent (or a local writer tried) that failed the checks of an exchange table: logged here and skipped, so replication goes on with the rest.';
COMMENT ON COLUMN @extschema@.exchange_reject.id IS 'Entry id.';
COMMENT ON COLUMN @extschema@.exchange_reject.received_at IS 'When it was refused.';
COMMENT ON COLUMN @extschema@.exchange_reject.tbl IS 'The exchange table it was meant for.';
COMMENT ON COLUMN @extschema@.exchange_reject.problem IS 'What is wrong with it.';
COMMENT ON COLUMN @extschema@.exchange_reject.row_data IS 'The row as received.';
COMMENT ON COLUMN @extschema@.exchange_reject.by_replication IS 'Whether the logical replication apply worker brought it.';

COMMENT ON SEQUENCE @extschema@.exchange_reject_id_seq IS 'Ids of refused exchange rows.';
CREATE FUNCTION @extschema@._replication_subscription() RETURNS text
  AS 'MODULE_PATHNAME', 'healthcode_replication_subscription'
  LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION @extschema@._replication_subscription() IS
  'Internal: in a logical replication apply or table-sync worker, the subscription it applies; NULL elsewhere.';

CREATE FUNCTION @extschema@._by_replication() RETURNS boolean
LANGUAGE sql STABLE PARALLEL RESTRICTED
RETURN @extschema@._replication_subscription() IS NOT NULL;
COMMENT ON FUNCTION @extschema@._by_replication() IS
  'Internal: true inside a logical replication apply or table-sync worker.';

CREATE FUNCTION @extschema@._reject(tbl text, problem text, row_data jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  INSERT INTO @extschema@.exchange_reject (tbl, problem, row_data, by_replication)
  VALUES (tbl, problem, row_data, @extschema@._by_replication());
  RAISE WARNING 'healthcode: skipped a row of %: %', tbl, problem;
END $$;
COMMENT ON FUNCTION @extschema@._reject(text, text, jsonb) IS
  'Internal: logs a refused exchange row (and warns in the server log).';

-- Who sent a replicated row. A region node controls its own publication
-- (its row filters included), so what arrives from it is checked here
-- against the region it serves: a region may speak for its own divisions
-- only; the hub (000000) for all. peer maps each subscription that
-- subscription_sql() made to the publishing node's region.
CREATE TABLE @extschema@.peer (
  subscription  name PRIMARY KEY,
  publisher     text NOT NULL,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region))
);
COMMENT ON TABLE @extschema@.peer IS
  'The nodes this node subscribes to: subscription name, the publishing node''s name and the division code it serves (000000: the hub). Rows that arrive through a subscription may only concern that region. Filled by subscription_sql().';
COMMENT ON COLUMN @extschema@.peer.subscription IS 'The subscription''s name.';
COMMENT ON COLUMN @extschema@.peer.publisher IS 'The publishing node''s name.';
COMMENT ON COLUMN @extschema@.peer.region IS 'The division code the publishing node serves.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.peer', '');

CREATE FUNCTION @extschema@._sender_region() RETURNS text
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT p.region FROM @extschema@.peer p
   WHERE p.subscription OPERATOR(pg_catalog.=) @extschema@._replication_subscription();
END;
COMMENT ON FUNCTION @extschema@._sender_region() IS
  'Internal: in a replication apply worker, the region of the node whose subscription it applies (from peer); NULL otherwise.';

CREATE FUNCTION @extschema@._sender_problem(region text) RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  sender text;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN NULL;                 -- written here, by this node
  END IF;
  sender := @extschema@._sender_region();
  IF sender IS NULL THEN
    RETURN 'it came through a subscription subscription_sql() did not make';
  END IF;
  IF region IS NULL OR NOT coalesce(@extschema@.division_covers(sender, region), false) THEN
    RETURN format('region %s is not the sending node''s (%s)', coalesce(region, 'NULL'), sender);
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._sender_problem(text) IS
  'Internal: why a replicated row about a region may not come from the node that sent it, or NULL (also for rows written locally).';

-- The exchange only grows by rows: a TRUNCATE from another node would wipe
-- every region's keys and revocations at once. Refused (which stops that
-- one subscription until a DBA looks); this node's owner may still.
CREATE FUNCTION @extschema@._exchange_truncate_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._by_replication() THEN
    RAISE EXCEPTION 'a TRUNCATE of % replicated from another node is refused', TG_TABLE_NAME
      USING ERRCODE = '42501',
            HINT = 'The national exchange only grows by rows; find out why the publishing node truncated, then skip the change (ALTER SUBSCRIPTION ... SKIP).';
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._exchange_truncate_guard() IS
  'Trigger (also in the apply worker): refuses a TRUNCATE of an exchange table that arrives by replication.';

-- ---- issuer public keys --------------------------------------------------------

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
CREATE TRIGGER trust_list_to_exchange AFTER INSERT OR UPDATE ON @extschema@.trust_list
  FOR EACH ROW EXECUTE FUNCTION @extschema@._trust_list_to_exchange();
-- keys made before this version (an update from 0.1.0)
INSERT INTO @extschema@.key_exchange
       (key_id, region, public_key, valid_from, valid_until, signing_until, status, revoked_at, revocation_reason, from_node)
SELECT t.key_id, t.region, t.public_key, t.valid_from, t.valid_until, t.signing_until, t.status, t.revoked_at,
       t.revocation_reason, 'local'
  FROM @extschema@.trust_list t;

-- ---- status digests (mode 2) and national issuing (mode 3) ------------------------

CREATE TABLE @extschema@.status_digest (
  region        text NOT NULL,
  subject       bytea NOT NULL,
  colour        @extschema@.risk_colour,
  vaccinated    boolean,
  valid_until   timestamptz,
  next          jsonb,
  last_negative_at timestamptz,
  updated_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  CONSTRAINT status_digest_pkey PRIMARY KEY (region, subject)
);
COMMENT ON TABLE @extschema@.status_digest IS
  'Code-status digests a region publishes to the hub: the code subject (pseudonym), colour, mark, the timeline until it changes, the last negative test. Never a name, an identifier or a reason. A region node fills it for its people when it publishes; the hub holds every region''s.';
COMMENT ON COLUMN @extschema@.status_digest.region IS 'The person''s home region.';
COMMENT ON COLUMN @extschema@.status_digest.subject IS 'The pseudonym the person''s codes carry.';
COMMENT ON COLUMN @extschema@.status_digest.colour IS 'Colour of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.vaccinated IS 'The vaccinated mark.';
COMMENT ON COLUMN @extschema@.status_digest.valid_until IS 'End of the current segment.';
COMMENT ON COLUMN @extschema@.status_digest.next IS 'Later segments (colour and mark only).';
COMMENT ON COLUMN @extschema@.status_digest.last_negative_at IS 'When the last negative test was sampled (for arrival rules).';
COMMENT ON COLUMN @extschema@.status_digest.updated_at IS 'When the region last wrote it.';

CREATE FUNCTION @extschema@._digest_check() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  old_row @extschema@.status_digest;
  problem text;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    problem := @extschema@._sender_problem(OLD.region);
    IF problem IS NOT NULL THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(OLD));
      RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN
      RETURN OLD;
    END IF;
  END IF;
  problem := @extschema@._sender_problem(NEW.region);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF NEW.region IS NULL OR NOT @extschema@.division_code_valid(NEW.region)
     OR NEW.subject IS NULL OR length(NEW.subject) <> 16 OR NEW.colour IS NULL OR NEW.valid_until IS NULL
     OR NEW.next IS NULL OR jsonb_typeof(NEW.next) <> 'array' THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'a digest needs a region, a 16-byte subject, a colour, valid_until and next', to_jsonb(NEW));
    RETURN NULL;
  END IF;
  IF TG_OP = 'INSERT' THEN
    SELECT * INTO old_row FROM @extschema@.status_digest d WHERE d.region = NEW.region AND d.subject = NEW.subject;
    IF FOUND THEN
      IF (to_jsonb(NEW) - 'updated_at') <> (to_jsonb(old_row) - 'updated_at') THEN
        UPDATE @extschema@.status_digest d
           SET colour = NEW.colour, vaccinated = NEW.vaccinated, valid_until = NEW.valid_until, next = NEW.next,
               last_negative_at = NEW.last_negative_at, updated_at = NEW.updated_at
         WHERE d.region = NEW.region AND d.subject = NEW.subject;
      END IF;
      RETURN NULL;
    END IF;
  ELSIF (to_jsonb(NEW) - 'updated_at') = (to_jsonb(OLD) - 'updated_at') THEN
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._digest_check() IS
  'Trigger (also on replicated rows): skips malformed digests and digests of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
CREATE TRIGGER digest_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.status_digest
  FOR EACH ROW EXECUTE FUNCTION @extschema@._digest_check();
ALTER TABLE @extschema@.status_digest ENABLE ALWAYS TRIGGER digest_check;

-- A region node's digests and pushed reds for the people just recalculated
-- (called by _recompute when a node is set).
CREATE FUNCTION @extschema@._publish_status(persons bigint[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t timestamptz := statement_timestamp();
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'region') THEN
    RETURN;
  END IF;
  INSERT INTO @extschema@.status_digest (region, subject, colour, vaccinated, valid_until, next, last_negative_at, updated_at)
  SELECT p.region, p.subject, (x.v).colour, (x.v).vaccinated, (x.v).valid_until,
         (SELECT COALESCE(jsonb_agg(jsonb_build_object('from', g.e -> 'from', 'until', g.e -> 'until',
                                                       'colour', g.e -> 'colour', 'vaccinated', g.e -> 'vaccinated')
                                    ORDER BY g.o), '[]')
            FROM jsonb_array_elements((x.v).next) WITH ORDINALITY g(e, o)),
         (SELECT max(r.sampled_at) FROM @extschema@.test_result r
           WHERE r.person_id = p.id AND r.result = 'negative'),
         t
    FROM unnest(persons) q(id)
    JOIN @extschema@.person p ON p.id = q.id
    JOIN @extschema@.person_status s ON s.person_id = p.id
    CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x;
  -- reds decided here (not those pushed from elsewhere), while they last:
  -- what should be pushed now; rows that should not any more go
  WITH due AS (
    SELECT p.national_subject, p.region AS from_region, (x.v).since,
           COALESCE((SELECT min((g.e ->> 'from')::timestamptz)
                       FROM jsonb_array_elements((x.v).next) g(e) WHERE g.e ->> 'colour' <> 'red'),
                    'infinity') AS until,
           ARRAY(SELECT DISTINCT r ->> 'rule' FROM jsonb_array_elements((x.v).reasons) r ORDER BY 1) AS rules
      FROM unnest(persons) q(id)
      JOIN @extschema@.person p ON p.id = q.id
      JOIN @extschema@.person_status s ON s.person_id = p.id
      CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, t) AS v OFFSET 0) x
     WHERE p.national_subject IS NOT NULL AND (x.v).colour = 'red'
       AND EXISTS (SELECT 1 FROM jsonb_array_elements((x.v).reasons) r WHERE r ->> 'rule' <> 'pushed_red')
  ), gone AS (
    DELETE FROM @extschema@.red_push r
     USING unnest(persons) q(id) JOIN @extschema@.person p ON p.id = q.id
     WHERE r.national_subject = p.national_subject AND r.from_region = p.region
       AND NOT EXISTS (SELECT 1 FROM due d WHERE d.national_subject = r.national_subject
                                             AND d.from_region = r.from_region)
  )
  INSERT INTO @extschema@.red_push (national_subject, from_region, since, until, rules, pushed_at)
  SELECT d.national_subject, d.from_region, d.since, d.until, d.rules, t FROM due d;
END $$;
COMMENT ON FUNCTION @extschema@._publish_status(bigint[]) IS
  'Internal: on a region node, writes the people''s status digests and the reds decided here (to be published to the hub).';

-- ---- reds pushed from other regions ----------------------------------------------

CREATE FUNCTION @extschema@._red_push_check() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r @extschema@.red_push;
  problem text;
BEGIN
  IF @extschema@._restoring()
     OR (current_setting('session_replication_role') = 'replica' AND NOT @extschema@._by_replication()) THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- a dump being loaded: as it is
  END IF;
  -- a node speaks for the reds of its own regions only
  problem := COALESCE(CASE WHEN TG_OP <> 'INSERT' THEN @extschema@._sender_problem(OLD.from_region) END,
                      CASE WHEN TG_OP <> 'DELETE' THEN @extschema@._sender_problem(NEW.from_region) END);
  IF problem IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, problem, CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    IF NEW.national_subject IS NULL OR length(NEW.national_subject) <> 16
       OR NEW.from_region IS NULL OR NOT @extschema@.division_code_valid(NEW.from_region)
       OR NEW.since IS NULL OR NOT isfinite(NEW.since) OR NEW.until IS NULL OR NEW.until <= NEW.since THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, 'a pushed red needs a 16-byte national subject, a region and since < until', to_jsonb(NEW));
      RETURN NULL;
    END IF;
    IF TG_OP = 'INSERT' THEN
      SELECT * INTO r FROM @extschema@.red_push x
       WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
      IF FOUND THEN
        IF (to_jsonb(NEW) - 'pushed_at') <> (to_jsonb(r) - 'pushed_at') THEN
          UPDATE @extschema@.red_push x SET since = NEW.since, until = NEW.until, rules = NEW.rules, pushed_at = NEW.pushed_at
           WHERE x.national_subject = NEW.national_subject AND x.from_region = NEW.from_region;
        END IF;
        RETURN NULL;
      END IF;
    ELSIF (to_jsonb(NEW) - 'pushed_at') = (to_jsonb(OLD) - 'pushed_at') THEN
      RETURN NULL;
    END IF;
  END IF;
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_check() IS
  'Trigger (also on replicated rows): skips malformed pushed reds and reds of regions the sending node does not serve (logged), turns a known one into an update, skips what changes nothing.';
CREATE TRIGGER red_push_check BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_check();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_check;

-- People here whom a pushed red from elsewhere concerns are recalculated.
CREATE FUNCTION @extschema@._red_push_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._restoring()
     OR (current_setting('session_replication_role') = 'replica' AND NOT @extschema@._by_replication()) THEN
    RETURN NULL;
  END IF;
  PERFORM @extschema@._evidence_lock(false);
  PERFORM @extschema@._recompute(ARRAY(
      SELECT p.id FROM @extschema@.person p
       WHERE p.national_subject IN (SELECT NEW.national_subject WHERE TG_OP <> 'DELETE'
                                    UNION SELECT OLD.national_subject WHERE TG_OP <> 'INSERT')
         AND p.region <> CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END),
    'red pushed from ' || CASE TG_OP WHEN 'DELETE' THEN OLD.from_region ELSE NEW.from_region END);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._red_push_changed() IS
  'Trigger (also on replicated rows): recalculates the people here with the pushed red''s national pseudonym.';
CREATE TRIGGER red_push_changed AFTER INSERT OR UPDATE OR DELETE ON @extschema@.red_push
  FOR EACH ROW EXECUTE FUNCTION @extschema@._red_push_changed();
ALTER TABLE @extschema@.red_push ENABLE ALWAYS TRIGGER red_push_changed;

-- ---- national policy versions, from the hub ------------------------------------------

CREATE TABLE @extschema@.policy_exchange (
  valid_from    timestamptz PRIMARY KEY,
  version       jsonb
);
COMMENT ON TABLE @extschema@.policy_exchange IS
  'The hub''s national policy versions (region 000000), as it publishes them: each arriving row becomes a national version in policy here, and the people governed are recalculated.';
COMMENT ON COLUMN @extschema@.policy_exchange.valid_from IS 'The version''s start.';
COMMENT ON COLUMN @extschema@.policy_exchange.version IS 'The policy row, as JSON.';

CREATE FUNCTION @extschema@._policy_to_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.node n WHERE n.role = 'hub') THEN
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' AND OLD.region = '000000' AND OLD.valid_from > '-infinity' THEN
    DELETE FROM @extschema@.policy_exchange x WHERE x.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' AND NEW.region = '000000' AND NEW.valid_from > '-infinity' THEN
    INSERT INTO @extschema@.policy_exchange (valid_from, version)
    VALUES (NEW.valid_from, to_jsonb(NEW) - 'id' - 'created_at');
  END IF;
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._policy_to_exchange() IS
  'Trigger on the hub: its national policy versions (but the built-in default) go into policy_exchange, to be published.';
CREATE TRIGGER policy_to_exchange AFTER INSERT OR UPDATE OR DELETE ON @extschema@.policy
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_to_exchange();

CREATE FUNCTION @extschema@._policy_from_exchange() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v @extschema@.policy;
BEGIN
  IF NOT @extschema@._by_replication() THEN
    RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;   -- only what the hub sends is applied
  END IF;
  IF @extschema@._sender_problem('000000') IS NOT NULL THEN
    PERFORM @extschema@._reject(TG_TABLE_NAME, 'national policy comes from the hub only',
                                CASE TG_OP WHEN 'DELETE' THEN to_jsonb(OLD) ELSE to_jsonb(NEW) END);
    RETURN NULL;
  END IF;
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM @extschema@.policy p WHERE p.region = '000000' AND p.valid_from = OLD.valid_from;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    BEGIN
      v := jsonb_populate_record(NULL::@extschema@.policy, NEW.version);
      INSERT INTO @extschema@.policy (region, valid_from, valid_until, lookback_days, quarantine_days_red,
             quarantine_days_yellow, red_release_negative_tests, negative_test_valid_hours, fever_celsius,
             vaccinated_min_doses, symptoms_yellow, periodic_testing, test_window, two_negatives_release_yellow,
             description_zh, description_en)
      VALUES ('000000', NEW.valid_from, v.valid_until, v.lookback_days, v.quarantine_days_red,
             v.quarantine_days_yellow, v.red_release_negative_tests, v.negative_test_valid_hours, v.fever_celsius,
             v.vaccinated_min_doses, v.symptoms_yellow, v.periodic_testing, v.test_window,
             v.two_negatives_release_yellow, v.description_zh, v.description_en);
    EXCEPTION WHEN data_exception OR integrity_constraint_violation THEN
      PERFORM @extschema@._reject(TG_TABLE_NAME, SQLERRM, to_jsonb(NEW));
      RETURN NULL;
    END;
  END IF;
  -- the policy table's own trigger does not fire in the apply worker
  PERFORM @extschema@._evidence_lock(true);
  PERFORM @extschema@._recompute(@extschema@._people_governed(ARRAY['000000']), 'national policy from the hub',
                                 exclusive => true);
  RETURN CASE TG_OP WHEN 'DELETE' THEN OLD ELSE NEW END;
END $$;
COMMENT ON FUNCTION @extschema@._policy_from_exchange() IS
  'Trigger on a region (replicated rows only): turns the hub''s national policy versions into versions here and recalculates everyone; a malformed one is logged and skipped.';
CREATE TRIGGER policy_from_exchange BEFORE INSERT OR UPDATE OR DELETE ON @extschema@.policy_exchange
  FOR EACH ROW EXECUTE FUNCTION @extschema@._policy_from_exchange();
ALTER TABLE @extschema@.policy_exchange ENABLE ALWAYS TRIGGER policy_from_exchange;

-- ---- mode 2: a checkpoint asks the hub ------------------------------------------------

CREATE FUNCTION @extschema@.current_status_of(code @extschema@.healthcode,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT known boolean, OUT colour @extschema@.risk_colour, OUT vaccinated boolean,
    OUT valid_until timestamptz, OUT code_is_current boolean, OUT reason text)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  ver record;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(current_status_of.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint asks about now; other times are the national admin's
  IF abs(extract(epoch FROM t - now())) > extract(epoch FROM @extschema@._clock_skew())
     AND NOT @extschema@._in_caller_scope('000000') THEN
    RAISE EXCEPTION 'at must be now, not %', t USING ERRCODE = '42501',
      DETAIL = 'Other times are answered for national roles only; now is taken within healthcode.clock_skew.';
  END IF;
  SELECT * INTO ver FROM @extschema@.verify(code, t);
  known := false;
  -- the digest only for a genuine, current code: a forged or expired one
  -- carrying someone's subject must not read their status
  IF ver.valid THEN
    SELECT * INTO d FROM @extschema@.status_digest x
     WHERE x.region = @extschema@.region(code) AND x.subject = @extschema@.subject(code);
    known := FOUND;
  END IF;
  IF known THEN
    v := @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                   d.next, d.updated_at, NULL)::@extschema@.person_status, t);
    colour := v.colour;
    vaccinated := v.vaccinated;
    valid_until := v.valid_until;
  END IF;
  code_is_current := ver.valid AND known AND colour = ver.colour;
  reason := CASE WHEN NOT ver.valid THEN ver.reason
                 WHEN NOT known THEN 'unknown_subject'
                 WHEN colour <> ver.colour THEN 'colour_changed'
                 ELSE 'ok' END;
END $$;
COMMENT ON FUNCTION @extschema@.current_status_of(@extschema@.healthcode, timestamptz) IS
  'The hub as intermediary: verifies a code and says whether its colour is still the current one, from the region''s published digest (only for a code that verifies; at: now, other times for national roles only). reason: a verify() reason, unknown_subject, colour_changed or ok.';

CREATE FUNCTION @extschema@.issue_for_subject(region text, subject bytea,
    valid_for interval DEFAULT interval '5 minutes')
RETURNS @extschema@.healthcode
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d @extschema@.status_digest;
  v @extschema@.status_instant;
  t timestamptz := statement_timestamp();
  span interval;
BEGIN
  PERFORM @extschema@._require_region(issue_for_subject.region);
  IF issue_for_subject.subject IS NULL THEN
    RAISE EXCEPTION 'subject must not be NULL' USING ERRCODE = '22004';
  END IF;
  IF length(issue_for_subject.subject) <> 16 THEN
    RAISE EXCEPTION 'subject must be a 16-byte pseudonym, not % bytes', length(issue_for_subject.subject)
      USING ERRCODE = '22023', HINT = 'The region''s node gives it: healthcode.subject_of(identifier).';
  END IF;
  PERFORM @extschema@._require_valid_for(valid_for);
  PERFORM @extschema@._require_caller_scope(issue_for_subject.region);
  SELECT * INTO d FROM @extschema@.status_digest x
   WHERE x.region = issue_for_subject.region AND x.subject = issue_for_subject.subject;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'region % has published no status for this subject', issue_for_subject.region
      USING ERRCODE = '22023', HINT = 'The region node publishes digests once it is joined to the hub.';
  END IF;
  v := @extschema@.status_at(ROW(0, d.region, d.colour, d.vaccinated, '[]', d.updated_at, d.valid_until,
                                 d.next, d.updated_at, NULL)::@extschema@.person_status, t);
  span := CASE WHEN isfinite(v.valid_until)
               THEN LEAST(valid_for, date_trunc('second', v.valid_until) - date_trunc('second', t))
               ELSE valid_for END;
  IF span < interval '1 second' THEN
    RAISE EXCEPTION 'the status changes within a second; ask again' USING ERRCODE = '55000';
  END IF;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('issued', issue_for_subject.region, issue_for_subject.region, v.colour, 'ok',
          @extschema@._code_holder(issue_for_subject.subject, t));
  RETURN @extschema@.issue(issue_for_subject.region, issue_for_subject.subject, v.colour, span, v.vaccinated);
END $$;
COMMENT ON FUNCTION @extschema@.issue_for_subject(text, bytea, interval) IS
  'Mode 3, on the hub: a code for a person of a region without an issuer of its own, signed by the nearest issuer the hub holds (the national one), with the colour the region''s digest gives now; never outliving it.';

CREATE FUNCTION @extschema@.subject_of(identifier text) RETURNS bytea
LANGUAGE sql STABLE STRICT PARALLEL RESTRICTED
BEGIN ATOMIC
  SELECT p.subject FROM @extschema@.person p
   WHERE p.id OPERATOR(pg_catalog.=) @extschema@.person_id(subject_of.identifier);
END;
COMMENT ON FUNCTION @extschema@.subject_of(text) IS
  'The pseudonym a registered person''s codes carry (what issue_for_subject at the hub takes), within the caller''s regions.';

-- ---- arrival rules -------------------------------------------------------------------

CREATE TABLE @extschema@.arrival_rule (
  id            bigserial PRIMARY KEY,
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  from_region   text NOT NULL CONSTRAINT from_region_is_division_code CHECK (@extschema@.division_code_valid(from_region)),
  demand        text NOT NULL CONSTRAINT demand_is_known CHECK (demand IN ('green', 'green_and_negative_test')),
  negative_test_hours integer CONSTRAINT negative_test_hours_between_1_and_336 CHECK (negative_test_hours BETWEEN 1 AND 336),
  description   text NOT NULL CONSTRAINT description_is_given CHECK (pg_catalog.length(description) > 0),
  CONSTRAINT hours_only_with_test CHECK ((demand = 'green_and_negative_test') = (negative_test_hours IS NOT NULL)),
  CONSTRAINT arrival_rule_natural_key UNIQUE (region, from_region)
);
COMMENT ON TABLE @extschema@.arrival_rule IS
  'What a region demands of visitors'' codes, by the region the code comes from: green, or green and a negative test within N hours. The most specific rule for the checkpoint''s region and the code''s region decides; with none, a valid green code is enough.';
COMMENT ON COLUMN @extschema@.arrival_rule.id IS 'Rule id.';
COMMENT ON COLUMN @extschema@.arrival_rule.region IS 'The visited region (covers the codes below it).';
COMMENT ON COLUMN @extschema@.arrival_rule.from_region IS 'The codes'' region it applies to (000000: all).';
COMMENT ON COLUMN @extschema@.arrival_rule.demand IS 'green, or green_and_negative_test.';
COMMENT ON COLUMN @extschema@.arrival_rule.negative_test_hours IS 'How recent the negative test must be.';
COMMENT ON COLUMN @extschema@.arrival_rule.description IS 'The rule as a person reads it.';
COMMENT ON SEQUENCE @extschema@.arrival_rule_id_seq IS 'Ids of arrival rules.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.arrival_rule_id_seq', '');

CREATE FUNCTION @extschema@.verify_arrival(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now(),
    OUT admit boolean, OUT reason text, OUT colour @extschema@.risk_colour, OUT code_region text,
    OUT rule_id bigint, OUT rule text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  r @extschema@.arrival_rule;
  last_negative timestamptz;
  -- (NULL: now, as checkpoint_verify takes it)
  t timestamptz := coalesce(verify_arrival.at, now());
BEGIN
  SELECT * INTO v FROM @extschema@.checkpoint_verify(code, checkpoint, t);
  colour := v.colour;
  code_region := v.region;
  SELECT * INTO r FROM @extschema@.arrival_rule a
   WHERE @extschema@.division_covers(a.region, checkpoint)
     AND @extschema@.division_covers(a.from_region, v.region)
   ORDER BY @extschema@.division_rank(a.region) DESC, @extschema@.division_rank(a.from_region) DESC
   LIMIT 1;
  rule_id := r.id;
  rule := COALESCE(r.description, 'no arrival rule: a valid green code');
  IF NOT v.valid THEN
    admit := false;
    reason := v.reason;
  ELSIF v.colour <> 'green' THEN
    admit := false;
    reason := 'not_green';
  ELSIF r.demand = 'green_and_negative_test' THEN
    SELECT d.last_negative_at INTO last_negative FROM @extschema@.status_digest d
     WHERE d.region = v.region AND d.subject = @extschema@.subject(code);
    admit := last_negative IS NOT NULL
             AND last_negative >= t - make_interval(hours => r.negative_test_hours)
             AND last_negative <= t;
    reason := CASE WHEN admit THEN 'ok' ELSE 'no_recent_negative_test' END;
  ELSE
    admit := true;
    reason := 'ok';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz) IS
  'Verifies a visitor''s code at a checkpoint of this region against its arrival rules, and says which rule decided. reason: a verify() reason, not_green, no_recent_negative_test (from the digests this node holds) or ok.';

-- ---- publications and subscriptions ------------------------------------------------------

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['key_exchange', 'status_digest', 'red_push', 'policy_exchange'] LOOP
    EXECUTE format('CREATE TRIGGER exchange_truncate_guard BEFORE TRUNCATE ON @extschema@.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._exchange_truncate_guard()', t);
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ALWAYS TRIGGER exchange_truncate_guard', t);
  END LOOP;
END $$;


CREATE FUNCTION @extschema@.create_publication() RETURNS text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
  lo text;
  hi text;
BEGIN
  SELECT * INTO n FROM @extschema@.node;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this node is neither hub nor region yet' USING ERRCODE = '55000',
      HINT = 'SELECT healthcode.set_node(''region'', ''330000'', ''zhejiang'');';
  END IF;
  IF n.role = 'hub' THEN
    -- (never TRUNCATE: the exchange only grows by rows)
    EXECUTE 'CREATE PUBLICATION healthcode_hub FOR TABLE @extschema@.key_exchange, @extschema@.red_push, @extschema@.policy_exchange'
            ' WITH (publish = ''insert, update, delete'')';
    EXECUTE 'CREATE PUBLICATION healthcode_hub_digests FOR TABLE @extschema@.status_digest'
            ' WITH (publish = ''insert, update, delete'')';
    RETURN 'healthcode_hub';
  END IF;
  lo := n.region;
  hi := @extschema@.division_last(n.region);
  EXECUTE format('CREATE PUBLICATION %I FOR TABLE @extschema@.key_exchange WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.status_digest WHERE (region >= %L AND region <= %L),'
                 ' @extschema@.red_push WHERE (from_region >= %L AND from_region <= %L)'
                 ' WITH (publish = ''insert, update, delete'')',
                 'healthcode_region_' || n.name, lo, hi, lo, hi, lo, hi);
  RETURN 'healthcode_region_' || n.name;
END $$;
COMMENT ON FUNCTION @extschema@.create_publication() IS
  'Creates this node''s publication: on the hub healthcode_hub (every key, every pushed red, national policy) and healthcode_hub_digests; on a region healthcode_region_<name> (its own keys, digests and reds, by row filter). Returns its name.';

CREATE FUNCTION @extschema@.subscription_sql(publisher_name text, publisher_region text, conninfo text,
    digests boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n @extschema@.node;
  sub text;
BEGIN
  SELECT * INTO n FROM @extschema@.node;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this node is neither hub nor region yet' USING ERRCODE = '55000';
  END IF;
  IF publisher_name IS NULL OR publisher_name !~ '^[a-z][a-z0-9_]{0,40}$' OR conninfo IS NULL THEN
    RAISE EXCEPTION 'subscription_sql(publisher_name, publisher_region, conninfo) needs the publishing node''s name and a connection string'
      USING ERRCODE = '22023';
  END IF;
  IF publisher_region IS NULL OR NOT @extschema@.division_code_valid(publisher_region)
     OR (n.role = 'region') <> (publisher_region = '000000') THEN
    RAISE EXCEPTION 'invalid publisher_region %: a region subscribes to the hub (000000), the hub to a region',
      coalesce(quote_literal(publisher_region), 'NULL') USING ERRCODE = '22023';
  END IF;
  sub := 'healthcode_' || n.name || '_from_' || publisher_name;
  IF length(sub) > 63 THEN
    RAISE EXCEPTION 'subscription name % is longer than 63 bytes', sub USING ERRCODE = '22023',
      HINT = 'Use shorter node names.';
  END IF;
  -- what arrives through it may only concern the publisher's region
  INSERT INTO @extschema@.peer AS p (subscription, publisher, region) VALUES (sub, publisher_name, publisher_region)
  ON CONFLICT (subscription) DO UPDATE SET publisher = EXCLUDED.publisher, region = EXCLUDED.region;
  -- made disabled: enable_subscription() first checks which tables it brings
  RETURN NEXT format('CREATE SUBSCRIPTION %I CONNECTION %L PUBLICATION %s WITH (enabled = false)',
                     sub, conninfo,
                     CASE WHEN n.role = 'region'
                          THEN 'healthcode_hub' || CASE WHEN digests THEN ', healthcode_hub_digests' ELSE '' END
                          ELSE quote_ident('healthcode_region_' || publisher_name) END);
  RETURN NEXT format('SELECT @extschema@.enable_subscription(%L)', sub);
END $$;
COMMENT ON FUNCTION @extschema@.subscription_sql(text, text, text, boolean) IS
  'The statements this node runs to receive from another (a region from the hub, 000000, with every region''s digests if asked; the hub from a region, giving its division code): CREATE SUBSCRIPTION, made disabled, then enable_subscription(). Records the publisher''s region in peer. Run them with psql''s \gexec: CREATE SUBSCRIPTION cannot run inside a function.';

CREATE FUNCTION @extschema@.enable_subscription(subscription name) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  extra text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM @extschema@.peer p WHERE p.subscription = enable_subscription.subscription)
     OR NOT EXISTS (SELECT 1 FROM pg_subscription s WHERE s.subname = enable_subscription.subscription) THEN
    RAISE EXCEPTION 'no subscription % made by subscription_sql()', subscription USING ERRCODE = '22023';
  END IF;
  -- the publishing node chose the tables: only the exchange tables may come
  SELECT string_agg(r.srrelid::regclass::text, ', ' ORDER BY r.srrelid::regclass::text) INTO extra
    FROM pg_subscription_rel r JOIN pg_subscription s ON s.oid = r.srsubid
   WHERE s.subname = enable_subscription.subscription
     AND r.srrelid NOT IN ('@extschema@.key_exchange'::regclass, '@extschema@.status_digest'::regclass,
                           '@extschema@.red_push'::regclass, '@extschema@.policy_exchange'::regclass);
  IF extra IS NOT NULL THEN
    RAISE EXCEPTION 'subscription % would bring tables outside the national exchange: %', subscription, extra
      USING ERRCODE = '42501',
            HINT = 'The publishing node''s publication lists them; it stays disabled. DROP SUBSCRIPTION it, and find out why.';
  END IF;
  EXECUTE format('ALTER SUBSCRIPTION %I ENABLE', subscription);
END $$;
COMMENT ON FUNCTION @extschema@.enable_subscription(name) IS
  'Enables a subscription subscription_sql() made, once it is sure the publication brings only the exchange tables (key_exchange, status_digest, red_push, policy_exchange).';
-- ---------------------------------------------------------------------------
-- pg_dump and restore. Every table of data is configuration in the
-- extension's sense (pg_extension_config_dump), so pg_dump keeps its rows
-- and its sequence's position; the built-in national policy version is
-- left out (CREATE EXTENSION makes it). Travel's day partitions are
-- ordinary tables and are dumped as such.
--
-- A dump holds statuses and history alongside the evidence they were
-- computed from, so loading it must not recalculate: the triggers would
-- append history for every row again. The dump therefore carries a marker
-- row that pg_dump writes before any other table of the schema (its name
-- sorts first); loading it turns healthcode.restore_mode on for that
-- session, and the status triggers stand aside. A parallel pg_restore
-- (-j) loads tables in other sessions: run it with
-- PGOPTIONS='-c session_replication_role=replica' (see the README).
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  tbl text;
BEGIN
  FOREACH tbl IN ARRAY ARRAY['person', 'declaration', 'test_result', 'vaccination', 'contact', 'checkin',
                             'risk_area', 'manual_decision', 'audit_finding', 'correction', 'person_status',
                             'status_history']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', tbl)::regclass, '');
  END LOOP;
  FOREACH tbl IN ARRAY ARRAY['person', 'declaration', 'test_result', 'vaccination', 'contact', 'checkin',
                             'risk_area', 'manual_decision', 'audit_finding', 'correction', 'status_history',
                             'policy', 'travel']
  LOOP
    PERFORM pg_catalog.pg_extension_config_dump(format('@extschema@.%I', tbl || '_id_seq')::regclass, '');
    EXECUTE format('COMMENT ON SEQUENCE @extschema@.%I IS %L', tbl || '_id_seq', format('Ids of %s rows.', tbl));
  END LOOP;
END $$;
-- the national scheme's exchange tables (92_federation.sql): what was
-- received stays available offline after a restore
SELECT pg_catalog.pg_extension_config_dump('@extschema@.key_exchange', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.red_push', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.status_digest', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_reject', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.exchange_reject_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('@extschema@.policy',
  $$WHERE NOT (region OPERATOR(pg_catalog.=) '000000' AND valid_from OPERATOR(pg_catalog.=) '-infinity')$$);

CREATE TABLE @extschema@._dump_marker (note text NOT NULL);
COMMENT ON TABLE @extschema@._dump_marker IS
  'Internal: one row, dumped with the data. Loading a dump inserts it a second time, which switches healthcode.restore_mode on for the restoring session.';
COMMENT ON COLUMN @extschema@._dump_marker.note IS 'What the row is for.';
INSERT INTO @extschema@._dump_marker VALUES
  ('healthcode dump marker: loading this row suspends status recalculation for the session');
SELECT pg_catalog.pg_extension_config_dump('@extschema@._dump_marker', '');
REVOKE ALL ON @extschema@._dump_marker FROM PUBLIC;

CREATE FUNCTION @extschema@._dump_marker_loaded() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- session-wide: the rest of the dump is loaded by this session
  PERFORM set_config('healthcode.restore_mode', 'on', false);
  DELETE FROM @extschema@._dump_marker m
   WHERE m.ctid <> (SELECT min(x.ctid) FROM @extschema@._dump_marker x);
  RETURN NULL;
END $$;
COMMENT ON FUNCTION @extschema@._dump_marker_loaded() IS
  'Internal: trigger that turns healthcode.restore_mode on when a dump''s marker row is loaded.';
REVOKE ALL ON FUNCTION @extschema@._dump_marker_loaded() FROM PUBLIC;
CREATE TRIGGER dump_marker_loaded AFTER INSERT ON @extschema@._dump_marker
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._dump_marker_loaded();
-- (also in a restore with session_replication_role = replica, which fires
-- no ordinary trigger: else each such restore would leave one more row)
ALTER TABLE @extschema@._dump_marker ENABLE ALWAYS TRIGGER dump_marker_loaded;
-- ---------------------------------------------------------------------------
-- Row-level security (the scope functions are in 45_scope.sql).
-- ---------------------------------------------------------------------------

-- Row-level security on every table of personal data: a row is visible,
-- writable and insertable only within the querying role's scope.
DO $$
DECLARE
  t text;
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C")';
BEGIN
  FOREACH t IN ARRAY ARRAY['person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact',
                           'checkin', 'manual_decision', 'audit_finding', 'correction', 'person_status',
                           'status_history', 'status_digest'] LOOP
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY scope_select ON @extschema@.%I FOR SELECT USING (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t, scoped, scoped);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped);
  END LOOP;
  -- risk areas and policy versions are public; writing them is scoped
  FOREACH t IN ARRAY ARRAY['risk_area', 'policy'] LOOP
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY everyone_reads ON @extschema@.%I FOR SELECT USING (true)', t);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t,
                   replace(scoped, 'region', CASE t WHEN 'risk_area' THEN 'division' ELSE 'region' END));
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t,
                   replace(scoped, 'region', CASE t WHEN 'risk_area' THEN 'division' ELSE 'region' END),
                   replace(scoped, 'region', CASE t WHEN 'risk_area' THEN 'division' ELSE 'region' END));
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t,
                   replace(scoped, 'region', CASE t WHEN 'risk_area' THEN 'division' ELSE 'region' END));
  END LOOP;
  -- who maps whom is the admins' business; a role sees its own rows
  ALTER TABLE @extschema@.region_scope ENABLE ROW LEVEL SECURITY;
  ALTER TABLE @extschema@.region_scope FORCE ROW LEVEL SECURITY;
  CREATE POLICY own_rows ON @extschema@.region_scope FOR SELECT
    USING (pg_catalog.pg_has_role(CURRENT_USER, role_name::oid, 'MEMBER'));
  CREATE POLICY admins ON @extschema@.region_scope FOR ALL
    USING (pg_catalog.pg_has_role(CURRENT_USER, 'healthcode_admin', 'MEMBER'))
    WITH CHECK (pg_catalog.pg_has_role(CURRENT_USER, 'healthcode_admin', 'MEMBER'));
END $$;
-- ---------------------------------------------------------------------------
-- What analysts see: aggregates only, each limited to the analyst's region
-- scope, and every cell counting fewer than healthcode.min_cell_size people
-- (default 5; superuser-only) shown as NULL, so no one can be singled out.
-- The views run with their owner's rights (analysts have no table access)
-- and filter by the scope of the role querying them.
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._min_cell_size() RETURNS integer
  AS 'MODULE_PATHNAME', 'healthcode_min_cell_size'
  LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._min_cell_size() IS
  'Internal: healthcode.min_cell_size, read through the module.';

CREATE FUNCTION @extschema@.suppress_small(people bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN people OPERATOR(pg_catalog.<) @extschema@._min_cell_size() THEN NULL ELSE people END;
COMMENT ON FUNCTION @extschema@.suppress_small(bigint) IS
  'A count of people, or NULL when it is below healthcode.min_cell_size (small-count suppression).';

-- Codes issued and verified: counted, never tied to a person.
CREATE TABLE @extschema@.code_event (
  at            timestamptz NOT NULL DEFAULT pg_catalog.now(),
  event         text NOT NULL CONSTRAINT event_is_known CHECK (event IN ('issued', 'verified')),
  region        text NOT NULL CONSTRAINT region_is_division_code CHECK (@extschema@.division_code_valid(region)),
  code_region   text NOT NULL CONSTRAINT code_region_is_division_code CHECK (@extschema@.division_code_valid(code_region)),
  colour        @extschema@.risk_colour NOT NULL,
  outcome       text NOT NULL,
  holder        bytea NOT NULL
);
CREATE INDEX code_event_at ON @extschema@.code_event USING brin (at);
COMMENT ON TABLE @extschema@.code_event IS
  'One row per code issued by issue_for() or verified by checkpoint_verify(): when, where (the issuing region, or the checkpoint''s), the code''s region and colour, and the outcome (ok or the verify reason). No subject, no person: counts for the analyst views.';
COMMENT ON COLUMN @extschema@.code_event.at IS 'When.';
COMMENT ON COLUMN @extschema@.code_event.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.code_event.region IS 'Where: the person''s region when issued, the checkpoint''s when verified.';
COMMENT ON COLUMN @extschema@.code_event.code_region IS 'The region the code claims.';
COMMENT ON COLUMN @extschema@.code_event.colour IS 'The colour the code carries.';
COMMENT ON COLUMN @extschema@.code_event.outcome IS 'issued: ok; verified: the reason verify() gave.';
COMMENT ON COLUMN @extschema@.code_event.holder IS 'A pseudonym of the code''s holder for that day (_code_holder): the views count people, not codes, without the subject.';

-- One person fetching five codes must count once: a cell counts holders.
-- The day in the hash keeps a holder from being followed across days.
CREATE FUNCTION @extschema@._code_holder(subject bytea, at timestamptz) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN pg_catalog.substr(pg_catalog.sha256(subject OPERATOR(pg_catalog.||)
         pg_catalog.convert_to(((at AT TIME ZONE 'Asia/Shanghai')::date)::text, 'UTF8')), 1, 8);
COMMENT ON FUNCTION @extschema@._code_holder(bytea, timestamptz) IS
  'Internal: the first 8 bytes of SHA-256(subject || the day in China Standard Time): one pseudonym a holder a day.';
SELECT pg_catalog.pg_extension_config_dump('@extschema@.code_event', '');

CREATE FUNCTION @extschema@.checkpoint_verify(code @extschema@.healthcode, checkpoint text,
    at timestamptz DEFAULT pg_catalog.now())
RETURNS TABLE (valid boolean, colour @extschema@.risk_colour, region text, issued_at timestamptz,
               expires_at timestamptz, key_id bytea, reason text, vaccinated boolean)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v record;
  -- (NULL: now)
  t timestamptz := coalesce(checkpoint_verify.at, now());
BEGIN
  IF code IS NULL THEN
    RAISE EXCEPTION 'code must not be NULL' USING ERRCODE = '22004';
  END IF;
  PERFORM @extschema@._require_region(checkpoint, 'checkpoint', allow_national => true);
  PERFORM @extschema@._require_finite(t, 'at');
  -- a checkpoint counts for the regions its role is mapped to, no others'
  PERFORM @extschema@._require_caller_scope(checkpoint);
  SELECT * INTO v FROM @extschema@.verify(code, t) x;
  INSERT INTO @extschema@.code_event (event, region, code_region, colour, outcome, holder)
  VALUES ('verified', checkpoint, v.region, v.colour, v.reason,
          @extschema@._code_holder(@extschema@.subject(code), t));
  RETURN QUERY SELECT v.valid, v.colour, v.region, v.issued_at, v.expires_at, v.key_id, v.reason, v.vaccinated;
END $$;
COMMENT ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz) IS
  'verify() at a checkpoint of a region the caller is mapped to, counted (without the code''s subject) for the analyst views.';

-- Each view is a security_barrier view over a SECURITY DEFINER function
-- that returns the finished, suppressed rows: an analyst's WHERE clause,
-- EXPLAIN ANALYZE or function of their own only ever sees those rows, never
-- the per-person rows behind an aggregate (over the tables directly, a
-- plan would show a suppressed cell's count on a scan node, and a WHERE
-- function would be pushed down and called once a person). A count is also
-- suppressed when its complement in the same row is small (people minus
-- vaccinated, tested minus positive), so no small cell follows by
-- subtraction. The functions read the tables (not current_status, which
-- checks its own caller's rights) within the scope of the role querying.

-- A sub-count shown only when it and its complement are both large enough.
CREATE FUNCTION @extschema@.suppress_small_part(part bigint, whole bigint) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE
RETURN CASE WHEN part OPERATOR(pg_catalog.<) @extschema@._min_cell_size()
              OR whole OPERATOR(pg_catalog.-) part OPERATOR(pg_catalog.<) @extschema@._min_cell_size()
            THEN NULL ELSE part END;
COMMENT ON FUNCTION @extschema@.suppress_small_part(bigint, bigint) IS
  'A count of people within a larger one (vaccinated among people), or NULL when it or the rest (whole - part) is below healthcode.min_cell_size: no small count follows by subtraction.';

CREATE FUNCTION @extschema@._status_summary()
RETURNS TABLE (region text, colour @extschema@.risk_colour, people bigint, vaccinated bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT g.region, g.colour, @extschema@.suppress_small(g.people), @extschema@.suppress_small_part(g.vaccinated, g.people)
    FROM (SELECT s.region, (x.v).colour AS colour, pg_catalog.count(*) AS people,
                 pg_catalog.count(*) FILTER (WHERE (x.v).vaccinated) AS vaccinated
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL (SELECT @extschema@.status_at(s, pg_catalog.now()) AS v OFFSET 0) x
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (s.region COLLATE "C")
           GROUP BY s.region, (x.v).colour) g;
END;
COMMENT ON FUNCTION @extschema@._status_summary() IS 'Internal: the rows of status_summary.';
CREATE VIEW @extschema@.status_summary WITH (security_barrier) AS
SELECT f.region, f.colour, f.people, f.vaccinated FROM @extschema@._status_summary() f;
COMMENT ON VIEW @extschema@.status_summary IS
  'People by region and colour now, within the viewer''s scope; counts below healthcode.min_cell_size are NULL (vaccinated also when the unvaccinated are that few).';
COMMENT ON COLUMN @extschema@.status_summary.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.status_summary.colour IS 'Colour now.';
COMMENT ON COLUMN @extschema@.status_summary.people IS 'People (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.status_summary.vaccinated IS 'Of them, with the vaccinated mark (NULL when it or the unvaccinated are below the cell size).';

CREATE FUNCTION @extschema@._transitions_per_day()
RETURNS TABLE (day date, region text, from_colour @extschema@.risk_colour, to_colour @extschema@.risk_colour, people bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT (c.at AT TIME ZONE 'Asia/Shanghai')::date, c.region, c.from_colour, c.to_colour,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT c.person_id))
    FROM (SELECT h.person_id, h.region, h.at, h.from_colour, h.to_colour FROM @extschema@.status_history h
          UNION ALL
          SELECT s.person_id, s.region, g.at, g.from_colour, g.to_colour
            FROM @extschema@.person_status s
            CROSS JOIN LATERAL @extschema@._elapsed_changes(s.colour, s.next, pg_catalog.now()) g) c
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (c.region COLLATE "C")
   GROUP BY 1, 2, 3, 4;
END;
COMMENT ON FUNCTION @extschema@._transitions_per_day() IS 'Internal: the rows of transitions_per_day.';
CREATE VIEW @extschema@.transitions_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.from_colour, f.to_colour, f.people FROM @extschema@._transitions_per_day() f;
COMMENT ON VIEW @extschema@.transitions_per_day IS
  'Colour changes per day (China Standard Time) and region, from -> to, counting people; small cells NULL.';
COMMENT ON COLUMN @extschema@.transitions_per_day.day IS 'Calendar day.';
COMMENT ON COLUMN @extschema@.transitions_per_day.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.transitions_per_day.from_colour IS 'Colour before (NULL: first status).';
COMMENT ON COLUMN @extschema@.transitions_per_day.to_colour IS 'Colour after.';
COMMENT ON COLUMN @extschema@.transitions_per_day.people IS 'People who changed so that day.';

CREATE FUNCTION @extschema@._tests_per_day()
RETURNS TABLE (day date, region text, people_tested bigint, people_positive bigint, positivity numeric)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT g.day, g.region, @extschema@.suppress_small(g.tested),
         @extschema@.suppress_small_part(g.positive, g.tested),
         -- with the people counts, a ratio could give the hidden count back
         CASE WHEN @extschema@.suppress_small(g.tested) IS NOT NULL
               AND @extschema@.suppress_small_part(g.positive, g.tested) IS NOT NULL
              THEN pg_catalog.round(g.positive_tests::numeric OPERATOR(pg_catalog./) g.tests, 4) END
    FROM (SELECT (t.sampled_at AT TIME ZONE 'Asia/Shanghai')::date AS day, t.region,
                 pg_catalog.count(DISTINCT t.person_id) AS tested,
                 pg_catalog.count(DISTINCT t.person_id) FILTER (WHERE t.result = 'positive') AS positive,
                 pg_catalog.count(*) AS tests,
                 pg_catalog.count(*) FILTER (WHERE t.result = 'positive') AS positive_tests
            FROM @extschema@.test_result t
           WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (t.region COLLATE "C")
           GROUP BY 1, 2) g;
END;
COMMENT ON FUNCTION @extschema@._tests_per_day() IS 'Internal: the rows of tests_per_day.';
CREATE VIEW @extschema@.tests_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.people_tested, f.people_positive, f.positivity FROM @extschema@._tests_per_day() f;
COMMENT ON VIEW @extschema@.tests_per_day IS
  'Tests per sampling day and region: people tested, people positive, positivity (positive tests / tests); small cells NULL (people positive also when those without a positive test are few; positivity whenever people positive is NULL).';
COMMENT ON COLUMN @extschema@.tests_per_day.day IS 'Sampling day.';
COMMENT ON COLUMN @extschema@.tests_per_day.region IS 'Home region of the people tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_tested IS 'People tested.';
COMMENT ON COLUMN @extschema@.tests_per_day.people_positive IS 'People with a positive result.';
COMMENT ON COLUMN @extschema@.tests_per_day.positivity IS 'Positive tests / tests.';

CREATE FUNCTION @extschema@._codes_per_day()
RETURNS TABLE (day date, region text, event text, colour @extschema@.risk_colour, outcome text, people bigint,
               codes bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT (e.at AT TIME ZONE 'Asia/Shanghai')::date, e.region, e.event, e.colour, e.outcome,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT e.holder)),
         CASE WHEN pg_catalog.count(DISTINCT e.holder) OPERATOR(pg_catalog.>=) @extschema@._min_cell_size()
              THEN pg_catalog.count(*) END
    FROM @extschema@.code_event e
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (e.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5;
END;
COMMENT ON FUNCTION @extschema@._codes_per_day() IS 'Internal: the rows of codes_per_day.';
CREATE VIEW @extschema@.codes_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.event, f.colour, f.outcome, f.people, f.codes FROM @extschema@._codes_per_day() f;
COMMENT ON VIEW @extschema@.codes_per_day IS
  'Codes issued (by the people''s region) and verified (by the checkpoint''s region) per day, colour and outcome: the people who held them and the codes; both NULL when fewer people than the cell size (one person''s five codes count once).';
COMMENT ON COLUMN @extschema@.codes_per_day.day IS 'Calendar day.';
COMMENT ON COLUMN @extschema@.codes_per_day.region IS 'Issuing people''s region, or the checkpoint''s.';
COMMENT ON COLUMN @extschema@.codes_per_day.event IS 'issued or verified.';
COMMENT ON COLUMN @extschema@.codes_per_day.colour IS 'Colour on the codes.';
COMMENT ON COLUMN @extschema@.codes_per_day.outcome IS 'ok, or the reason verify() refused.';
COMMENT ON COLUMN @extschema@.codes_per_day.people IS 'Distinct holders (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.codes_per_day.codes IS 'Codes (NULL when the holders are below the cell size).';

CREATE FUNCTION @extschema@._findings_per_day()
RETURNS TABLE (day date, region text, kind text, status text, people bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT (f.found_at AT TIME ZONE 'Asia/Shanghai')::date, f.region, f.kind, f.status,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT f.person_id))
    FROM @extschema@.audit_finding f
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (f.region COLLATE "C")
   GROUP BY 1, 2, 3, 4;
END;
COMMENT ON FUNCTION @extschema@._findings_per_day() IS 'Internal: the rows of findings_per_day.';
CREATE VIEW @extschema@.findings_per_day WITH (security_barrier) AS
SELECT f.day, f.region, f.kind, f.status, f.people FROM @extschema@._findings_per_day() f;
COMMENT ON VIEW @extschema@.findings_per_day IS
  'Audit findings by day, region, kind and review status, counting people; small cells NULL.';
COMMENT ON COLUMN @extschema@.findings_per_day.day IS 'Day found.';
COMMENT ON COLUMN @extschema@.findings_per_day.region IS 'Home region.';
COMMENT ON COLUMN @extschema@.findings_per_day.kind IS 'The kind of inconsistency.';
COMMENT ON COLUMN @extschema@.findings_per_day.status IS 'open, confirmed or dismissed.';
COMMENT ON COLUMN @extschema@.findings_per_day.people IS 'People with such a finding.';

CREATE FUNCTION @extschema@._decisions_by_operator()
RETURNS TABLE (day date, region text, decided_by text, kind text, colour @extschema@.risk_colour,
               people bigint, decisions bigint)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT (m.decided_at AT TIME ZONE 'Asia/Shanghai')::date, m.region, m.decided_by, m.kind, m.colour,
         @extschema@.suppress_small(pg_catalog.count(DISTINCT m.person_id)),
         CASE WHEN pg_catalog.count(DISTINCT m.person_id) OPERATOR(pg_catalog.>=) @extschema@._min_cell_size()
              THEN pg_catalog.count(*) END
    FROM @extschema@.manual_decision m
   WHERE (SELECT @extschema@.my_region_scope()) OPERATOR(pg_catalog.@>) (m.region COLLATE "C")
   GROUP BY 1, 2, 3, 4, 5;
END;
COMMENT ON FUNCTION @extschema@._decisions_by_operator() IS 'Internal: the rows of decisions_by_operator.';
CREATE VIEW @extschema@.decisions_by_operator WITH (security_barrier) AS
SELECT f.day, f.region, f.decided_by, f.kind, f.colour, f.people, f.decisions FROM @extschema@._decisions_by_operator() f;
COMMENT ON VIEW @extschema@.decisions_by_operator IS
  'Manual decisions per day, region, operator, kind and colour: a run of manual red codes by one operator stands out. Both counts are NULL when fewer people than the cell size are concerned.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.day IS 'Day recorded.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.region IS 'Home region of the people decided about.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decided_by IS 'The operator role.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.kind IS 'override, medical_release or appeal_upheld.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.colour IS 'The colour an override set.';
COMMENT ON COLUMN @extschema@.decisions_by_operator.people IS 'Distinct people (NULL when below the cell size).';
COMMENT ON COLUMN @extschema@.decisions_by_operator.decisions IS 'Entries (NULL when the people are below the cell size).';
-- ---------------------------------------------------------------------------
-- Manual decisions are append-only and hash-chained. Each entry commits to
-- the one before it (entry_hash = SHA-256 of the previous hash and the
-- entry's content), so any later edit, deletion or insertion in the middle
-- -- by anyone, the table owner with triggers disabled included -- breaks the
-- chain where verify_decision_chain() finds it; an auditor who keeps the
-- head (decision_chain_head()) also detects entries removed from the end.
-- The guard triggers stop ordinary edits outright. A person with manual
-- decisions cannot be deleted (the record is the point); moving them to
-- another region is allowed (the region is not part of the hashed content).
-- ---------------------------------------------------------------------------

ALTER TABLE @extschema@.manual_decision
  ADD COLUMN chain_seq bigint,
  ADD COLUMN prev_hash bytea,
  ADD COLUMN entry_hash bytea,
  ADD CONSTRAINT manual_decision_chain_seq_key UNIQUE (chain_seq),
  DROP CONSTRAINT manual_decision_person_fk,
  ADD CONSTRAINT manual_decision_person_fk FOREIGN KEY (person_id, region)
    REFERENCES @extschema@.person (id, region) ON UPDATE CASCADE ON DELETE RESTRICT;
ALTER TABLE @extschema@.manual_decision ALTER COLUMN chain_seq SET NOT NULL,
  ALTER COLUMN prev_hash SET NOT NULL, ALTER COLUMN entry_hash SET NOT NULL;
COMMENT ON COLUMN @extschema@.manual_decision.chain_seq IS 'Position in the hash chain (1, 2, ...).';
COMMENT ON COLUMN @extschema@.manual_decision.prev_hash IS 'entry_hash of the entry before (32 zero bytes for the first).';
COMMENT ON COLUMN @extschema@.manual_decision.entry_hash IS 'SHA-256 of prev_hash and the entry''s content (decision_content()).';

-- The hashed content: everything that makes the decision, not the region
-- (which follows the person) nor the chain columns.
CREATE FUNCTION @extschema@.decision_content(m @extschema@.manual_decision) RETURNS bytea
LANGUAGE sql STABLE PARALLEL SAFE
RETURN pg_catalog.convert_to(pg_catalog.jsonb_build_array(
         m.chain_seq, m.id, m.person_id, m.kind, m.colour::text,
         pg_catalog.to_char(m.valid_from AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         pg_catalog.to_char(m.valid_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'),
         m.decided_by, m.authority, m.reason,
         pg_catalog.to_char(m.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US'))::text, 'UTF8');
COMMENT ON FUNCTION @extschema@.decision_content(@extschema@.manual_decision) IS
  'The bytes a manual decision''s hash covers: a JSON array of sequence, id, person, kind, colour, validity, who, authority, reason and when (times in UTC, NULLs explicit).';

CREATE FUNCTION @extschema@._decision_chain_append() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  last @extschema@.manual_decision;
BEGIN
  -- a dump being restored brings its entries as they were: re-stamping them
  -- would falsify who decided, when, and the chain an auditor recorded
  IF @extschema@._restoring() THEN
    RETURN NEW;
  END IF;
  -- one writer at a time extends the chain
  PERFORM pg_advisory_xact_lock(hashtext('@extschema@.manual_decision chain'));
  SELECT * INTO last FROM @extschema@.manual_decision m ORDER BY m.chain_seq DESC LIMIT 1;
  NEW.chain_seq := coalesce(last.chain_seq, 0) + 1;
  NEW.prev_hash := coalesce(last.entry_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
  -- who decided is the caller, whatever function recorded it
  NEW.decided_by := @extschema@._caller()::regrole::text;
  NEW.decided_at := statement_timestamp();
  NEW.entry_hash := sha256(NEW.prev_hash || @extschema@.decision_content(NEW));
  RETURN NEW;
END $$;
COMMENT ON FUNCTION @extschema@._decision_chain_append() IS
  'Trigger: links a new manual decision into the hash chain, and records who (the calling role) and when; rows a dump restores keep theirs.';
CREATE TRIGGER decision_chain_append BEFORE INSERT ON @extschema@.manual_decision
  FOR EACH ROW EXECUTE FUNCTION @extschema@._decision_chain_append();

CREATE FUNCTION @extschema@._decision_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'UPDATE'
     AND (to_jsonb(NEW) - 'region') = (to_jsonb(OLD) - 'region') THEN
    RETURN NEW;                 -- the person moved region: allowed
  END IF;
  RAISE EXCEPTION 'manual decisions are append-only'
    USING ERRCODE = '42501',
          HINT = 'Record a new decision instead: an override with another colour, or a release.';
END $$;
COMMENT ON FUNCTION @extschema@._decision_guard() IS
  'Trigger: manual decisions cannot be changed or deleted (only their region follows the person).';
CREATE TRIGGER decision_guard BEFORE UPDATE OR DELETE ON @extschema@.manual_decision
  FOR EACH ROW EXECUTE FUNCTION @extschema@._decision_guard();
CREATE TRIGGER decision_guard_truncate BEFORE TRUNCATE ON @extschema@.manual_decision
  FOR EACH STATEMENT EXECUTE FUNCTION @extschema@._decision_guard();

CREATE FUNCTION @extschema@.decision_chain_head(OUT entries bigint, OUT head_seq bigint, OUT head_hash bytea)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT pg_catalog.count(*), pg_catalog.max(m.chain_seq),
         (SELECT x.entry_hash FROM @extschema@.manual_decision x ORDER BY x.chain_seq DESC LIMIT 1)
    FROM @extschema@.manual_decision m;
END;
COMMENT ON FUNCTION @extschema@.decision_chain_head() IS
  'The chain''s length and last hash: an auditor keeps them, and later passes them to verify_decision_chain() to detect entries removed from the end.';

CREATE FUNCTION @extschema@.verify_decision_chain(expected_seq bigint DEFAULT NULL, expected_hash bytea DEFAULT NULL)
RETURNS TABLE (chain_seq bigint, decision_id bigint, problem text)
LANGUAGE sql STABLE
BEGIN ATOMIC
  WITH c AS (
    SELECT m.chain_seq, m.id, m.prev_hash, m.entry_hash,
           pg_catalog.sha256(m.prev_hash OPERATOR(pg_catalog.||) @extschema@.decision_content(m)) AS recomputed,
           pg_catalog.lag(m.entry_hash) OVER (ORDER BY m.chain_seq) AS before_hash,
           pg_catalog.lag(m.chain_seq) OVER (ORDER BY m.chain_seq) AS before_seq
      FROM @extschema@.manual_decision m
  )
  SELECT c.chain_seq, c.id, 'entry changed: its hash does not match its content'
    FROM c WHERE c.recomputed OPERATOR(pg_catalog.<>) c.entry_hash
  UNION ALL
  SELECT c.chain_seq, c.id, 'entry missing before this one'
    FROM c WHERE c.chain_seq OPERATOR(pg_catalog.<>) (COALESCE(c.before_seq, 0) OPERATOR(pg_catalog.+) 1)
  UNION ALL
  SELECT c.chain_seq, c.id, 'link broken: prev_hash is not the hash of the entry before'
    FROM c WHERE c.prev_hash OPERATOR(pg_catalog.<>)
                 COALESCE(c.before_hash, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea)
  UNION ALL
  SELECT verify_decision_chain.expected_seq, NULL::bigint, 'entries missing at the end: the recorded head is gone'
   WHERE verify_decision_chain.expected_seq IS NOT NULL
     AND NOT EXISTS (SELECT 1 FROM @extschema@.manual_decision m
                      WHERE m.chain_seq OPERATOR(pg_catalog.=) verify_decision_chain.expected_seq
                        AND (verify_decision_chain.expected_hash IS NULL
                             OR m.entry_hash OPERATOR(pg_catalog.=) verify_decision_chain.expected_hash))
   ORDER BY 1, 3;
END;
COMMENT ON FUNCTION @extschema@.verify_decision_chain(bigint, bytea) IS
  'Checks the manual decisions'' hash chain and returns every problem (an entry changed, missing, or out of its place); empty when intact. Given a head recorded earlier (decision_chain_head()), also detects entries removed from the end.';
-- ---------------------------------------------------------------------------
-- Privileges: who may do what (the roles are made in 45_scope.sql).
--
-- Every function of the extension is revoked from PUBLIC, except the pure
-- helpers that read no table (division codes, names, the type's own
-- functions, verify). Then each role gets exactly its functions and
-- tables. The runtime roles own nothing.
--
-- SECURITY DEFINER: the functions an application calls run as the
-- extension's owner (the application has no table access) and check the
-- caller's region scope themselves (_caller(), _in_caller_scope()); the
-- status triggers run as the owner too, so a recalculation always sees a
-- person's whole evidence and may write their status, whoever's statement
-- fired it. Each has SET search_path = pg_catalog, pg_temp.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  f regprocedure;
  definer text[] := ARRAY[
    -- called by applications and operators; each checks the caller's scope
    'register_person', 'declare', 'declare_trip', 'health_info', 'check_in', 'issue_for', 'status',
    'person_id', 'record_decision', 'request_correction', 'decide_correction', 'audit', 'review_finding',
    'import_travel', 'import_test_results', 'import_vaccinations', 'import_contacts', 'import_risk_areas',
    'checkpoint_verify', 'current_status_of', 'issue_for_subject', 'subject_of', 'verify_arrival',
    -- the analyst views' rows (suppressed, within the caller's scope)
    '_status_summary', '_transitions_per_day', '_tests_per_day', '_codes_per_day', '_findings_per_day',
    '_decisions_by_operator',
    -- the status triggers
    '_evidence_changed', '_travel_changed', '_risk_area_changed', '_policy_changed', '_person_changed',
    '_person_removed', '_person_lock',
    -- national administration
    'check_consistency', 'generate_population', 'create_travel_partitions', 'drop_expired_travel_partitions',
    'grant_region', 'revoke_region', 'set_node', 'create_publication'];
  public_helpers text[] := ARRAY[
    'division_code_valid', 'division_chain', 'division_last', 'division_covers', 'division_rank',
    'division_codes_valid', 'division_range', 'division_multirange', 'mask_name', 'symptoms_known', 'normalize_identifier', 'public_key_id',
    'verify', '_caller', 'suppress_small', 'suppress_small_part', '_min_cell_size', '_shorten',
    'qr_svg', 'qr_png', 'qr_terminal', 'format_version', 'region', 'subject', 'colour', 'issued_at',
    'expires_at', 'key_id', 'vaccinated', 'signature', 'healthcode', 'bytea'];
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
       AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
      JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthcode'
     WHERE p.prokind IN ('f', 'a')
  LOOP
    IF (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = f) = ANY (definer) THEN
      EXECUTE format('ALTER FUNCTION %s SECURITY DEFINER SET search_path = pg_catalog, pg_temp', f);
    END IF;
    -- the type's I/O, operators and support functions stay usable by all
    CONTINUE WHEN (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = f) LIKE 'healthcode\_%';
    CONTINUE WHEN (SELECT p.proname FROM pg_catalog.pg_proc p WHERE p.oid = f) = ANY (public_helpers);
    EXECUTE format('REVOKE ALL ON ROUTINE %s FROM PUBLIC', f);
  END LOOP;
END $$;

-- National administration: reads everything in every region (RLS gives
-- healthcode_admin the whole country) and writes what people and bulletins
-- are made of; has every other role's rights. Never TRUNCATE (no trigger
-- would recalculate), REFERENCES or TRIGGER (a trigger an admin attached
-- would run as whoever writes the table, this extension's SECURITY DEFINER
-- functions included); never writes statuses, history, the trust list or
-- what arrives from other nodes: those are computed, signed or received.
GRANT healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier TO healthcode_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO healthcode_admin;
REVOKE ALL ON @extschema@.issuer_key_secret, @extschema@._dump_marker FROM healthcode_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.person, @extschema@.declaration, @extschema@.travel,
  @extschema@.test_result, @extschema@.vaccination, @extschema@.contact, @extschema@.checkin,
  @extschema@.risk_area, @extschema@.policy, @extschema@.region_scope, @extschema@.arrival_rule
TO healthcode_admin;
GRANT INSERT ON @extschema@.manual_decision TO healthcode_admin;
-- (a refused exchange row, once dealt with, may be cleared)
GRANT DELETE ON @extschema@.exchange_reject TO healthcode_admin;
GRANT USAGE ON SEQUENCE @extschema@.person_id_seq, @extschema@.arrival_rule_id_seq TO healthcode_admin;
GRANT EXECUTE ON FUNCTION
  @extschema@.check_consistency(timestamptz),
  @extschema@.generate_population(integer, integer, integer, double precision),
  @extschema@.create_travel_partitions(date, date),
  @extschema@.drop_expired_travel_partitions(interval),
  @extschema@.grant_region(regrole, text),
  @extschema@.revoke_region(regrole, text),
  @extschema@.policy_at(text, timestamptz),
  @extschema@.create_key(text, timestamptz, timestamptz),
  @extschema@.rotate_key(text, timestamptz),
  @extschema@.revoke_key(bytea, text),
  @extschema@.set_node(text, text, text),
  @extschema@.create_publication(),
  -- auditing the manual decisions' hash chain
  @extschema@.verify_decision_chain(bigint, bytea),
  @extschema@.decision_chain_head(),
  @extschema@.decision_content(@extschema@.manual_decision)
TO healthcode_admin;
-- the national trust list is public, like the local one
GRANT SELECT ON @extschema@.key_exchange, @extschema@.arrival_rule TO PUBLIC;

-- Operators: the people of their regions (row-level security), through
-- the tables and the functions; statuses and history are computed, so
-- they read them but never write them; manual decisions only grow.
GRANT SELECT ON @extschema@.person, @extschema@.declaration, @extschema@.travel, @extschema@.test_result,
  @extschema@.vaccination, @extschema@.contact, @extschema@.checkin, @extschema@.manual_decision,
  @extschema@.audit_finding, @extschema@.correction, @extschema@.person_status, @extschema@.status_history,
  @extschema@.current_status, @extschema@.status_changes, @extschema@.risk_area, @extschema@.policy
TO healthcode_operator;
GRANT INSERT, UPDATE, DELETE ON @extschema@.declaration, @extschema@.travel, @extschema@.test_result,
  @extschema@.vaccination, @extschema@.contact, @extschema@.checkin, @extschema@.risk_area, @extschema@.policy
TO healthcode_operator;
GRANT UPDATE (region, display_name) ON @extschema@.person TO healthcode_operator;
GRANT INSERT ON @extschema@.manual_decision TO healthcode_operator;
GRANT USAGE ON SEQUENCE @extschema@.declaration_id_seq, @extschema@.travel_id_seq, @extschema@.test_result_id_seq,
  @extschema@.vaccination_id_seq, @extschema@.contact_id_seq, @extschema@.checkin_id_seq,
  @extschema@.risk_area_id_seq, @extschema@.policy_id_seq, @extschema@.manual_decision_id_seq
TO healthcode_operator;
GRANT EXECUTE ON FUNCTION
  @extschema@.record_decision(bigint, text, text, text, @extschema@.risk_colour, timestamptz, timestamptz),
  @extschema@.review_finding(bigint, text, text),
  @extschema@.decide_correction(bigint, boolean, text),
  @extschema@.audit(bigint, text),
  @extschema@.policy_at(text, timestamptz),
  @extschema@.status_at(@extschema@.person_status, timestamptz),
  @extschema@._status_later(@extschema@.person_status, timestamptz),
  @extschema@._elapsed_changes(@extschema@.risk_colour, jsonb, timestamptz),
  @extschema@._rls_scope()
TO healthcode_operator;

-- Applications: functions only.
GRANT EXECUTE ON FUNCTION
  @extschema@.register_person(text, text, text),
  @extschema@.declare(text, text, text, text[], numeric, text[], boolean),
  @extschema@.declare_trip(text, text, timestamptz),
  @extschema@.health_info(text),
  @extschema@.check_in(text, numeric, text[]),
  @extschema@.issue_for(bigint, interval),
  @extschema@.status(bigint, timestamptz),
  @extschema@.person_id(text),
  @extschema@.request_correction(bigint, text, bigint, text),
  @extschema@.import_travel(json),
  @extschema@.import_test_results(json),
  @extschema@.import_vaccinations(json),
  @extschema@.import_contacts(json),
  @extschema@.import_risk_areas(json),
  @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz),
  @extschema@.subject_of(text),
  @extschema@.issue_for_subject(text, bytea, interval),
  @extschema@.current_status_of(@extschema@.healthcode, timestamptz),
  @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz)
TO healthcode_app, healthcode_operator;

-- Every role reads its own region mappings (row-level security shows a
-- role the rows of the roles it belongs to): its scope is computed from them.
GRANT SELECT ON @extschema@.region_scope
TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;
GRANT EXECUTE ON FUNCTION @extschema@.my_region_scope(), @extschema@.region_scope_of(oid)
TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- Analysts: the aggregate views, nothing else.
GRANT SELECT ON @extschema@.status_summary, @extschema@.transitions_per_day, @extschema@.tests_per_day,
  @extschema@.codes_per_day, @extschema@.findings_per_day, @extschema@.decisions_by_operator
TO healthcode_analyst;
-- (a function a view calls is checked against the querying role)
GRANT EXECUTE ON FUNCTION @extschema@._status_summary(), @extschema@._transitions_per_day(),
  @extschema@._tests_per_day(), @extschema@._codes_per_day(), @extschema@._findings_per_day(),
  @extschema@._decisions_by_operator()
TO healthcode_analyst;

-- Verifiers: checking codes at a checkpoint.
GRANT EXECUTE ON FUNCTION @extschema@.checkpoint_verify(@extschema@.healthcode, text, timestamptz),
  @extschema@.current_status_of(@extschema@.healthcode, timestamptz),
  @extschema@.verify_arrival(@extschema@.healthcode, text, timestamptz)
TO healthcode_verifier;
