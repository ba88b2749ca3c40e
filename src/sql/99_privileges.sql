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

-- Grants a role SELECT on a table's columns one by one (all but those
-- left out), which keeps the system columns (ctid, xmin, ...) from it:
-- table-wide SELECT would include them.
CREATE FUNCTION @extschema@._grant_columns(tbl text, grantee text, left_out text[]) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format('GRANT SELECT (%s) ON @extschema@.%I TO %I',
                 (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                    FROM pg_attribute a
                   WHERE a.attrelid = format('@extschema@.%I', tbl)::regclass AND a.attnum > 0
                     AND NOT a.attisdropped AND a.attname <> ALL (left_out)),
                 tbl, grantee);
END $$;
COMMENT ON FUNCTION @extschema@._grant_columns(text, text, text[]) IS
  'Internal: grants a role SELECT on every column of a table of this extension but those left out, and so on no system column.';
REVOKE ALL ON FUNCTION @extschema@._grant_columns(text, text, text[]) FROM PUBLIC;


-- National administration: reads everything in every region (RLS gives
-- healthcode_admin the whole country) and writes what people and bulletins
-- are made of; has every other role's rights (05_roles.sql). Never TRUNCATE (no trigger
-- would recalculate), REFERENCES or TRIGGER (a trigger an admin attached
-- would run as whoever writes the table, this extension's SECURITY DEFINER
-- functions included); never writes statuses, history, the trust list or
-- what arrives from other nodes: those are computed, signed or received.
GRANT SELECT ON ALL TABLES IN SCHEMA @extschema@ TO healthcode_admin;
-- (a partition is read through its table, as travel's day partitions are)
REVOKE SELECT ON @extschema@.code_event_default, @extschema@.status_history_default, @extschema@.checkin_default,
  @extschema@.test_result_default FROM healthcode_admin;
-- (the samples of test_result once, kept by its triggers: the owner's)
REVOKE SELECT ON @extschema@.test_result_sample FROM healthcode_admin;
REVOKE ALL ON @extschema@.issuer_key_secret, @extschema@._dump_marker, @extschema@.holder_check FROM healthcode_admin;
GRANT INSERT, UPDATE, DELETE ON @extschema@.person, @extschema@.declaration, @extschema@.travel,
  @extschema@.test_result, @extschema@.vaccination, @extschema@.contact, @extschema@.checkin,
  @extschema@.risk_area, @extschema@.policy, @extschema@.region_scope, @extschema@.arrival_rule,
  @extschema@.venue_entry_rule, @extschema@.medicine_sale
TO healthcode_admin;
GRANT INSERT ON @extschema@.manual_decision TO healthcode_admin;
-- (a refused exchange row, once dealt with, may be cleared)
GRANT DELETE ON @extschema@.exchange_reject TO healthcode_admin;
GRANT USAGE ON SEQUENCE @extschema@.arrival_rule_id_seq, @extschema@.venue_entry_rule_id_seq TO healthcode_admin;
-- the national trust list is public, like the local one; and the rules a
-- checkpoint or a door applies
GRANT SELECT ON @extschema@.key_exchange, @extschema@.arrival_rule, @extschema@.venue_entry_rule TO PUBLIC;

-- Operators: the people of their regions (row-level security), through
-- the tables and the functions; statuses and history are computed, so
-- they read them but never write them; manual decisions only grow.
GRANT SELECT ON @extschema@.current_status, @extschema@.status_changes, @extschema@.risk_area, @extschema@.policy
TO healthcode_operator;
-- The row-secured tables column by column (_grant_columns): every column,
-- but no system column (a row's physical place, ctid, would show where the
-- rows it cannot see lie between those it can; xmin, how many transactions
-- wrote in between), and not the decision chain's: an entry's position and
-- its predecessor's hash belong to the national chain, which the national
-- administration verifies (98_decisions.sql); its content digest would give
-- its position back (the content holds it, and the rest is known).
SELECT @extschema@._grant_columns(t, 'healthcode_operator',
         CASE t WHEN 'manual_decision' THEN ARRAY['chain_seq', 'prev_hash', 'entry_hash', 'content_digest'] ELSE '{}' END)
  FROM unnest(ARRAY['person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin',
                    'manual_decision', 'audit_finding', 'correction', 'person_status', 'status_history',
                    'guardian_link', 'proxy_action', 'venue', 'medicine_sale']) AS t;
GRANT INSERT, UPDATE, DELETE ON @extschema@.declaration, @extschema@.travel, @extschema@.test_result,
  @extschema@.vaccination, @extschema@.contact, @extschema@.checkin, @extschema@.risk_area, @extschema@.policy,
  @extschema@.medicine_sale
TO healthcode_operator;
GRANT UPDATE (region, display_name) ON @extschema@.person TO healthcode_operator;
GRANT INSERT ON @extschema@.manual_decision TO healthcode_operator;
-- (the personal tables' sequences are no one's: their ids come from
-- _next_id; revoked explicitly, as an update from 0.2.0, which granted
-- them, leaves them)
GRANT USAGE ON SEQUENCE @extschema@.risk_area_id_seq, @extschema@.policy_id_seq TO healthcode_operator;
REVOKE ALL ON SEQUENCE @extschema@.person_id_seq, @extschema@.declaration_id_seq, @extschema@.travel_id_seq,
  @extschema@.test_result_id_seq, @extschema@.vaccination_id_seq, @extschema@.contact_id_seq,
  @extschema@.checkin_id_seq, @extschema@.manual_decision_id_seq, @extschema@.medicine_sale_id_seq
FROM PUBLIC;

-- Applications and verifiers: no table, only the functions granted to them
-- where those are defined.

-- Every role reads its own region mappings (row-level security shows a
-- role the rows of the roles it belongs to): its scope is computed from them.
-- (column by column, as above: the mappings of other roles are not counted
-- by their places either)
SELECT @extschema@._grant_columns('region_scope', r, '{}')
  FROM unnest(ARRAY['healthcode_operator', 'healthcode_app', 'healthcode_analyst', 'healthcode_verifier']) AS r;

-- Analysts: the aggregate views, nothing else.
GRANT SELECT ON @extschema@.status_summary, @extschema@.transitions_per_day, @extschema@.tests_per_day,
  @extschema@.codes_per_day, @extschema@.findings_per_day, @extschema@.decisions_by_operator,
  @extschema@.trends, @extschema@.status_totals, @extschema@.exposure_by_area
TO healthcode_analyst;
