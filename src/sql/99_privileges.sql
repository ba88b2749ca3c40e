-- ---------------------------------------------------------------------------
-- Privileges: who may do what (the roles are made in 45_scope.sql).
--
-- Every function of the extension is revoked from PUBLIC, except the pure
-- helpers that read no table (division codes, names, the type's own
-- functions, verify). Then each role gets exactly its functions and
-- tables. The runtime roles own nothing.
--
-- SECURITY DEFINER is declared where each such function is defined, with
-- SET search_path = pg_catalog, pg_temp: the functions an application
-- calls run as the extension's owner (the application has no table access)
-- and check the caller's region scope themselves (_caller(),
-- _in_caller_scope()); the status triggers run as the owner too, so a
-- recalculation always sees a person's whole evidence and may write their
-- status, whoever's statement fired it. test/pgtap/privileges.sql holds the
-- list of them and fails when a function gains or loses it.
-- ---------------------------------------------------------------------------

DO $$
DECLARE
  f regprocedure;
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
