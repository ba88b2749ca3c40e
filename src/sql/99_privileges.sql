-- ---------------------------------------------------------------------------
-- Privileges. New functions are executable by PUBLIC unless revoked; every
-- function that writes, issues or needs the server key is revoked here and
-- granted explicitly (the roles come with the regions-and-roles work). The
-- tables grant nothing to PUBLIC.
-- ---------------------------------------------------------------------------
DO $$
DECLARE
  f regprocedure;
BEGIN
  FOR f IN
    SELECT p.oid::regprocedure
      FROM pg_catalog.pg_proc p
      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::regclass AND d.objid = p.oid
       AND d.refclassid = 'pg_catalog.pg_extension'::regclass AND d.deptype = 'e'
      JOIN pg_catalog.pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthcode'
     WHERE p.proname IN ('register_person', 'declare', 'declare_trip', 'health_info', 'check_in', 'issue_for',
                         'record_decision', 'request_correction', 'decide_correction', 'audit', 'review_finding',
                         'import_travel', 'import_test_results', 'import_vaccinations', 'import_contacts',
                         'import_risk_areas', 'generate_population', 'create_travel_partitions',
                         'drop_expired_travel_partitions', 'check_consistency', 'person_id',
                         '_recompute', '_require_person', '_import_records')
  LOOP
    EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
  END LOOP;
END $$;
