-- ---------------------------------------------------------------------------
-- Row-level security (the scope functions are in 45_scope.sql).
-- ---------------------------------------------------------------------------

-- Row-level security on every table of personal data: a row is visible,
-- writable and insertable only within the querying role's scope; and its
-- ids are opaque, so that the ids a role sees do not count the rows it
-- does not (99_privileges.sql keeps the sequences and the rows' physical
-- places, ctid, from the roles row-level security limits).
DO $$
DECLARE
  t text;
  public_table @extschema@.evidence_table;
  scoped_here text;
  -- (the extension's @>, 45_scope.sql: the planner's estimate of the rows kept)
  scoped text := '(SELECT @extschema@._rls_scope()) OPERATOR(@extschema@.@>) (region COLLATE "C")';
BEGIN
  -- personal rows: the people, their evidence (evidence_table) and what
  -- follows from it
  FOR t IN SELECT e.name FROM @extschema@.evidence_table e WHERE NOT e.public_rows
           UNION ALL
           SELECT u.name FROM unnest(ARRAY['person', 'correction', 'person_status', 'status_history',
                                            'status_digest', 'health_share', 'code_revocation', 'erasure',
                                            'guardian_link', 'proxy_action', 'venue']) AS u(name)
  LOOP
    -- (a row that names two people, a guardian's link, is the business of
    -- those who act for both)
    scoped_here := scoped || CASE WHEN t IN ('guardian_link', 'proxy_action')
                                  THEN ' AND ' || replace(scoped, 'region', 'guardian_region') ELSE '' END;
    EXECUTE format('ALTER TABLE @extschema@.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE @extschema@.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY scope_select ON @extschema@.%I FOR SELECT USING (%s)', t, scoped_here);
    EXECUTE format('CREATE POLICY scope_insert ON @extschema@.%I FOR INSERT WITH CHECK (%s)', t, scoped_here);
    EXECUTE format('CREATE POLICY scope_update ON @extschema@.%I FOR UPDATE USING (%s) WITH CHECK (%s)', t,
                   scoped_here, scoped_here);
    EXECUTE format('CREATE POLICY scope_delete ON @extschema@.%I FOR DELETE USING (%s)', t, scoped_here);
    -- ids no one can count the hidden rows by (25_pseudonyms.sql)
    IF EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a
                WHERE a.attrelid = format('@extschema@.%I', t)::regclass AND a.attname = 'id')
       AND pg_catalog.pg_get_serial_sequence(format('@extschema@.%I', t), 'id') IS NOT NULL THEN
      EXECUTE format('ALTER TABLE @extschema@.%I ALTER COLUMN id SET DEFAULT @extschema@._next_id(%L::regclass)', t,
                     pg_catalog.pg_get_serial_sequence(format('@extschema@.%I', t), 'id'));
    END IF;
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
