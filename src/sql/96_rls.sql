-- ---------------------------------------------------------------------------
-- Row-level security (the scope functions are in 45_scope.sql).
-- ---------------------------------------------------------------------------

-- Row-level security on every table of personal data: a row is visible,
-- writable and insertable only within the querying role's scope.
DO $$
DECLARE
  t text;
  public_table @extschema@.evidence_table;
  scoped_here text;
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(pg_catalog.@>) (region COLLATE "C")';
BEGIN
  -- personal rows: the people, their evidence (evidence_table) and what
  -- follows from it
  FOR t IN SELECT e.name FROM @extschema@.evidence_table e WHERE NOT e.public_rows
           UNION ALL
           SELECT u.name FROM unnest(ARRAY['person', 'correction', 'person_status', 'status_history',
                                            'status_digest', 'code_revocation']) AS u(name)
  LOOP
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY scope_select ON @extschema@.%I FOR SELECT USING (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t, scoped, scoped);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped);
  END LOOP;
  -- risk areas and policy versions are public; writing them is scoped
  FOR public_table IN SELECT * FROM @extschema@.evidence_table e WHERE e.public_rows LOOP
    t := public_table.name;
    scoped_here := replace(scoped, 'region', public_table.scope_column);
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY everyone_reads ON @extschema@.%I FOR SELECT USING (true)', t);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped_here);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t,
                   scoped_here, scoped_here);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped_here);
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
