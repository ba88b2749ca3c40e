-- ---------------------------------------------------------------------------
-- Regions and roles (the roles themselves are made in 05_roles.sql).
-- A login role's regions come from healthcode.region_scope (never from a
-- setting a session can change): a row maps a role to a division code and
-- covers every code below it (330000: all of 33xxxx). Row-level security
-- keys every table of personal data on the row's region.
-- ---------------------------------------------------------------------------

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

CREATE FUNCTION @extschema@._role_is_superuser(role oid) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_role_is_superuser'
  LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._role_is_superuser(oid) IS
  'Internal: whether the role is a superuser (pg_roles.rolsuper, from the role cache); false for an unknown role.';
REVOKE ALL ON FUNCTION @extschema@._role_is_superuser(oid) FROM PUBLIC;
-- (region_scope_of runs as its callers)
GRANT EXECUTE ON FUNCTION @extschema@._role_is_superuser(oid) TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- A role's scope: the regions mapped to it or to any role it is a member
-- of; the whole country for superusers and members of healthcode_admin.
-- (PL/pgSQL, not a SQL body: every call of the API asks it, often more
-- than once, and a SQL function with a query is planned again at each
-- call from PL/pgSQL, where this one's plans are kept for the session)
CREATE FUNCTION @extschema@.region_scope_of(role oid) RETURNS @extschema@.division_multirange
LANGUAGE plpgsql STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF @extschema@._role_is_superuser(region_scope_of.role)
     OR pg_has_role(region_scope_of.role, 'healthcode_admin', 'MEMBER') THEN
    RETURN @extschema@.division_multirange(@extschema@.division_range('000000', '999999999999', '[]'));
  END IF;
  RETURN COALESCE((SELECT range_agg(@extschema@.division_range(s.region, @extschema@.division_last(s.region), '[]'))
                     FROM @extschema@.region_scope s
                    WHERE pg_has_role(region_scope_of.role, s.role_name::oid, 'MEMBER')),
                  '{}'::@extschema@.division_multirange);
END $$;
COMMENT ON FUNCTION @extschema@.region_scope_of(oid) IS
  'The division codes a role acts for: those mapped to it or to a role it is a member of in region_scope; all of them for superusers and healthcode_admin.';
REVOKE ALL ON FUNCTION @extschema@.region_scope_of(oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.region_scope_of(oid) TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

CREATE FUNCTION @extschema@.my_region_scope() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@.region_scope_of(@extschema@._caller());
END;
COMMENT ON FUNCTION @extschema@.my_region_scope() IS
  'The division codes the calling role acts for (see region_scope_of).';
REVOKE ALL ON FUNCTION @extschema@.my_region_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.my_region_scope() TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- The scope row-level security applies: that of the role a query runs as.
-- (its planner support function does nothing but load this module while
-- a row-secured query is planned, so that the module's EXPLAIN guard is in
-- place before the query's executor starts: see src/hc_explain_guard.c)
CREATE FUNCTION @extschema@._load_support(internal) RETURNS internal
  AS 'MODULE_PATHNAME', 'hc_load_support'
  LANGUAGE C STRICT;
COMMENT ON FUNCTION @extschema@._load_support(internal) IS
  'Internal: planner support function of _rls_scope(); loads the module (its EXPLAIN guard) and supports nothing else.';
REVOKE ALL ON FUNCTION @extschema@._load_support(internal) FROM PUBLIC;
CREATE FUNCTION @extschema@._rls_scope() RETURNS @extschema@.division_multirange
LANGUAGE sql STABLE PARALLEL SAFE
SUPPORT @extschema@._load_support
BEGIN ATOMIC
  SELECT @extschema@.region_scope_of(CURRENT_USER::regrole::oid);
END;
COMMENT ON FUNCTION @extschema@._rls_scope() IS
  'Internal: the scope of current_user, which row-level security policies compare regions with (evaluated once a statement).';
REVOKE ALL ON FUNCTION @extschema@._rls_scope() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._rls_scope() TO healthcode_operator;

-- The operator row-level security keys personal rows on: scope @> region,
-- as pg_catalog's, with an estimate of the rows it keeps made from the
-- querying role's scope and the column's statistics (src/hc_scope_sel.c):
-- pg_catalog's guesses half a percent of the table for a scope computed at
-- run time, and the planner then sorts a province's rows where it should
-- hash them.
CREATE FUNCTION @extschema@._scope_contains(scope @extschema@.division_multirange, region text) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_scope_contains'
  LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) IS
  'Internal: whether the scope holds the region (the @> of row-level security).';
REVOKE ALL ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._scope_contains(@extschema@.division_multirange, text) TO healthcode_operator;
CREATE FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) RETURNS double precision
  AS 'MODULE_PATHNAME', 'healthcode_scope_sel'
  LANGUAGE C STABLE STRICT;
COMMENT ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) IS
  'Internal: the planner''s estimate of the share of rows a scope @> region keeps: the querying role''s scope (or the constant given), its runs of codes read against the column''s statistics.';
REVOKE ALL ON FUNCTION @extschema@._scope_sel(internal, oid, internal, integer) FROM PUBLIC;
CREATE OPERATOR @extschema@.@> (
  LEFTARG = @extschema@.division_multirange,
  RIGHTARG = text,
  FUNCTION = @extschema@._scope_contains,
  RESTRICT = @extschema@._scope_sel
);
COMMENT ON OPERATOR @extschema@.@> (@extschema@.division_multirange, text) IS
  'The scope holds the region: row-level security''s test, with the planner''s estimate from the querying role''s scope.';

-- Inside the extension's SECURITY DEFINER functions: the caller's scope.
CREATE FUNCTION @extschema@._in_caller_scope(region text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT @extschema@.my_region_scope() OPERATOR(pg_catalog.@>) (region COLLATE "C");
END;
COMMENT ON FUNCTION @extschema@._in_caller_scope(text) IS
  'Internal: true when the calling role''s scope covers the region.';
REVOKE ALL ON FUNCTION @extschema@._in_caller_scope(text) FROM PUBLIC;

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
REVOKE ALL ON FUNCTION @extschema@._require_caller_scope(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.grant_region(role regrole, region text) RETURNS void
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
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
REVOKE ALL ON FUNCTION @extschema@.grant_region(regrole, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.grant_region(regrole, text) TO healthcode_admin;

CREATE FUNCTION @extschema@.revoke_region(role regrole, region text) RETURNS void
LANGUAGE sql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
  DELETE FROM @extschema@.region_scope s
   WHERE s.role_name OPERATOR(pg_catalog.=) revoke_region.role
     AND s.region OPERATOR(pg_catalog.=) revoke_region.region;
END;
COMMENT ON FUNCTION @extschema@.revoke_region(regrole, text) IS
  'Removes a role''s mapping to a region.';
REVOKE ALL ON FUNCTION @extschema@.revoke_region(regrole, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.revoke_region(regrole, text) TO healthcode_admin;

COMMENT ON FUNCTION @extschema@.division_range(text, text) IS 'Range constructor: the codes from the first to the second.';
COMMENT ON FUNCTION @extschema@.division_range(text, text, text) IS 'Range constructor with bounds (use ''[]'' for a division''s codes).';
COMMENT ON FUNCTION @extschema@.division_multirange() IS 'Multirange constructor: no codes.';
COMMENT ON FUNCTION @extschema@.division_multirange(@extschema@.division_range) IS 'Multirange constructor: one run of codes.';
COMMENT ON FUNCTION @extschema@.division_multirange(@extschema@.division_range[]) IS 'Multirange constructor: several runs of codes.';
COMMENT ON CAST (@extschema@.division_range AS @extschema@.division_multirange) IS 'A run of codes as a set of runs.';
