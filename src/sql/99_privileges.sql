-- ---------------------------------------------------------------------------
-- Privileges on tables, views and sequences: who may read and write what
-- (the roles are made in 05_roles.sql). Functions are granted where each
-- is defined: every function of the extension is revoked from PUBLIC
-- there, except the pure helpers that read no table (division codes,
-- names, the type's own functions, verify), and granted to exactly the
-- roles that call it. The declared lists beside the tests fail when a
-- function's security (test/pgtap/privileges.sql) or grants
-- (test/pgtap/roles_matrix.sql) differ from them.
--
-- SECURITY DEFINER is declared where each such function is defined, with
-- SET search_path = pg_catalog, pg_temp: the functions an application
-- calls run as the extension's owner (the application has no table access)
-- and check the caller's region scope themselves (_caller(),
-- _in_caller_scope()); the status triggers run as the owner too, so a
-- recalculation always sees a person's whole evidence and may write their
-- status, whoever's statement fired it.
-- ----------------------------------------------------------------------------


-- National administration: reads everything in every region (RLS gives
-- healthcode_admin the whole country) and writes what people and bulletins
-- are made of; has every other role's rights (05_roles.sql). Never TRUNCATE (no trigger
-- would recalculate), REFERENCES or TRIGGER (a trigger an admin attached
-- would run as whoever writes the table, this extension's SECURITY DEFINER
-- functions included); never writes statuses, history, the trust list or
-- what arrives from other nodes: those are computed, signed or received.
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

-- Applications and verifiers: no table, only the functions granted to them
-- where those are defined.

-- Every role reads its own region mappings (row-level security shows a
-- role the rows of the roles it belongs to): its scope is computed from them.
GRANT SELECT ON @extschema@.region_scope
TO healthcode_operator, healthcode_app, healthcode_analyst, healthcode_verifier;

-- Analysts: the aggregate views, nothing else.
GRANT SELECT ON @extschema@.status_summary, @extschema@.transitions_per_day, @extschema@.tests_per_day,
  @extschema@.codes_per_day, @extschema@.findings_per_day, @extschema@.decisions_by_operator
TO healthcode_analyst;
