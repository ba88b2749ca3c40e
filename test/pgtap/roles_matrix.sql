-- Roles x objects: the privilege matrix of every role against every table,
-- view, sequence and function of the extension, generated from the catalogs
-- (pg_depend members of the extension, plus travel's day partitions, which
-- are made at run time) and compared with an explicit expectation table, so
-- a privilege added or removed by accident, or a new object nobody thought
-- about, fails here. Each role is exercised twice: what the catalog says
-- (has_*_privilege) and what actually happens when it tries (SELECT / INSERT
-- / UPDATE per column, DELETE and TRUNCATE per table, a call of every
-- function), each attempt in a rolled-back subtransaction. Row-level
-- security is checked by counting the rows each role sees in every table
-- with RLS against the owner's count of the rows in that role's scope.
--
-- Roles: the table owner (the superuser that created the extension), a
-- login role for each of the five groups, a role in no group (what PUBLIC
-- gets), and a BYPASSRLS operator: that role sees every row of every table
-- by design (BYPASSRLS is a DBA's deliberate choice; the extension cannot
-- and does not try to scope it).
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(69);

-- ---- data and roles ----------------------------------------------------------
SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT count(*) AS generated FROM generate_population(300, 2, 14) \gset
SELECT create_partitions() >= 0 AS partitions \gset
SELECT register_person('33010619900101123X', '330106', '张小三') AS p_hz \gset
SELECT register_person('330203199001011236', '330203', '李小四') AS p_nb \gset
SELECT register_person('110105199001011232', '110105', '王小明') AS p_bj \gset

-- this file's own role, one in no group (what PUBLIC gets); the others
-- come from lib/roles_common.psql
CREATE ROLE regress_hc_nobody LOGIN;

-- The roles of the matrix and the groups whose expectations apply to each
-- (healthcode_admin is a member of the four other groups by design).
CREATE TEMP TABLE matrix_role (role name PRIMARY KEY, groups text[] NOT NULL, ord integer NOT NULL);
INSERT INTO matrix_role VALUES
  (current_user,            '{owner}', 1),
  ('regress_hc_admin',      '{admin,operator,app,analyst,verifier,public}', 2),
  ('regress_hc_op_zj',      '{operator,public}', 3),
  ('regress_hc_app_zj',     '{app,public}', 4),
  ('regress_hc_analyst_zj', '{analyst,public}', 5),
  ('regress_hc_verifier',   '{verifier,public}', 6),
  ('regress_hc_bypass',     '{operator,public}', 7),
  ('regress_hc_nobody',     '{public}', 8);

-- ---- the expectations ----------------------------------------------------------
-- Table-level privileges per group. A relation listed with '{}' is one no
-- group may touch (the owner only). 'travel_YYYYMMDD' stands for every day
-- partition of travel, 'code_event_YYYYMMDD' for code_event's,
-- 'status_history_YYYYMM' for every month partition of status_history, and
-- so on.
CREATE TEMP TABLE exp_rel (grp text NOT NULL, rel text NOT NULL, privs text[] NOT NULL);
-- PUBLIC: the trust lists (public keys), the arrival rules and the documented verify reasons
INSERT INTO exp_rel VALUES ('public', 'trust_list', '{SELECT}'), ('public', 'verify_reason', '{SELECT}'), ('public', 'evidence_table', '{SELECT}'),
                           ('public', 'key_exchange', '{SELECT}'), ('public', 'arrival_rule', '{SELECT}'), ('public', 'venue_entry_rule', '{SELECT}'),
                           ('public', 'division_name', '{SELECT}');
-- nobody but the owner: sealed secrets, the dump marker, the day partitions
INSERT INTO exp_rel VALUES ('public', 'issuer_key_secret', '{}'), ('public', '_dump_marker', '{}'),
                           ('public', 'travel_YYYYMMDD', '{}'), ('public', 'code_event_YYYYMMDD', '{}'),
                           ('public', 'code_event_default', '{}'), ('public', 'status_history_YYYYMM', '{}'),
                           ('public', 'status_history_default', '{}'), ('public', 'checkin_YYYYMM', '{}'),
                           ('public', 'checkin_default', '{}'), ('public', 'test_result_YYYYMM', '{}'),
                           ('public', 'test_result_default', '{}'), ('public', 'test_result_sample', '{}');
-- the status work list: written by the owner and its workers only (admins
-- read it, as every table, and watch it through recalc_progress)
INSERT INTO exp_rel VALUES ('public', 'recalc_work_id_seq', '{}'), ('public', 'holder_check_id_seq', '{}');
-- identity checks: no role reads them, the admins neither (one could read an
-- answer before its attempt commits)
INSERT INTO exp_rel VALUES ('public', 'holder_check', '{}');
-- healthcode_admin: national; reads every table and view of data, writes
-- people, evidence, bulletins, policy, region mappings and arrival rules.
-- No TRUNCATE (no recalculation would follow), REFERENCES or TRIGGER (a
-- trigger an admin attached would run as whoever writes the table, the
-- superuser-owned SECURITY DEFINER functions included); statuses and
-- history are computed, never written (doc/roles.md); the trust list is key
-- material its owner's functions change; what other nodes send arrives by
-- replication; decisions only grow
INSERT INTO exp_rel
SELECT 'admin', r, '{SELECT,INSERT,UPDATE,DELETE}'
  FROM unnest(ARRAY['person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin',
                    'risk_area', 'policy', 'region_scope', 'arrival_rule', 'division_name', 'venue_entry_rule',
                    'medicine_sale']) r;
INSERT INTO exp_rel VALUES ('admin', 'erasure', '{SELECT}');
INSERT INTO exp_rel VALUES ('admin', 'manual_decision', '{SELECT,INSERT}'), ('admin', 'exchange_reject', '{SELECT,DELETE}'),
                           ('admin', 'consistency_finding', '{SELECT,DELETE}');
-- a hosted region moving onto its node: the admin loads the hub's export
-- into the inbox, which adopt_region empties; the people it adopted
INSERT INTO exp_rel VALUES ('admin', 'region_move_inbox', '{SELECT,INSERT,DELETE}'), ('admin', 'adopted_person', '{SELECT}');
INSERT INTO exp_rel
SELECT 'admin', r, '{SELECT}'
  FROM unnest(ARRAY['audit_finding', 'correction', 'person_status', 'status_history', 'code_event', 'verify_reason', 'evidence_table',
                    'trust_list', 'after_recompute', 'code_revocation', 'key_exchange', 'node', 'peer', 'hosted_region', 'status_digest', 'health_share', 'policy_exchange', 'arrival_rule_exchange', 'red_push', 'exposure_notice', 'venue_closure',
                    'current_status', 'status_changes', 'status_summary', 'transitions_per_day',
                    'tests_per_day', 'codes_per_day', 'findings_per_day', 'decisions_by_operator', 'recalc_progress',
                    'trends', 'status_totals', 'daily_rollup', 'exposure_by_area', 'monitoring',
                    'recalc_work', 'recalc_pending', 'recalc_gone_stays', 'guardian_link', 'proxy_action', 'venue']) r;
INSERT INTO exp_rel VALUES ('admin', 'arrival_rule_id_seq', '{USAGE}'), ('admin', 'venue_entry_rule_id_seq', '{USAGE}');
-- owner only: ids nobody else draws
-- (the personal tables' ids come from _next_id, opaque: their sequences are
-- no one's, so that no role counts the rows it cannot see by them)
INSERT INTO exp_rel VALUES ('public', 'audit_finding_id_seq', '{}'), ('public', 'correction_id_seq', '{}'),
                           ('public', 'status_history_id_seq', '{}'), ('public', 'exchange_reject_id_seq', '{}'),
                           ('public', 'person_id_seq', '{}'), ('public', 'declaration_id_seq', '{}'),
                           ('public', 'travel_id_seq', '{}'), ('public', 'test_result_id_seq', '{}'),
                           ('public', 'vaccination_id_seq', '{}'), ('public', 'contact_id_seq', '{}'),
                           ('public', 'checkin_id_seq', '{}'), ('public', 'manual_decision_id_seq', '{}'),
                           ('public', 'guardian_link_id_seq', '{}'), ('public', 'proxy_action_id_seq', '{}'),
                           ('public', 'venue_id_seq', '{}'), ('public', 'medicine_sale_id_seq', '{}');
-- healthcode_operator: reads the people of its regions, writes evidence,
-- risk areas and policy, appends manual decisions; never writes statuses.
-- The row-secured tables it reads column by column (below): no system
-- column (ctid, xmin) would place or count the rows it cannot see
INSERT INTO exp_rel
SELECT 'operator', r, '{SELECT}'
  FROM unnest(ARRAY['current_status', 'status_changes']) r;
INSERT INTO exp_rel VALUES ('operator', 'manual_decision', '{INSERT}');
INSERT INTO exp_rel
SELECT 'operator', r, '{INSERT,UPDATE,DELETE}'
  FROM unnest(ARRAY['declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin', 'medicine_sale']) r;
INSERT INTO exp_rel
SELECT 'operator', r, '{SELECT,INSERT,UPDATE,DELETE}'
  FROM unnest(ARRAY['risk_area', 'policy']) r;
INSERT INTO exp_rel
SELECT 'operator', s, '{USAGE}'
  FROM unnest(ARRAY['risk_area_id_seq', 'policy_id_seq']) s;
-- healthcode_app and healthcode_verifier: functions only (and their own
-- scope rows, column by column)
-- healthcode_analyst: the aggregate views only (and its own scope rows)
INSERT INTO exp_rel
SELECT 'analyst', r, '{SELECT}'
  FROM unnest(ARRAY['status_summary', 'transitions_per_day', 'tests_per_day', 'codes_per_day',
                    'findings_per_day', 'decisions_by_operator', 'trends', 'status_totals', 'exposure_by_area']) r;

-- Column-level grants beyond the table-level ones.
CREATE TEMP TABLE exp_col (grp text NOT NULL, rel text NOT NULL, col text NOT NULL, priv text NOT NULL);
INSERT INTO exp_col VALUES ('operator', 'person', 'region', 'UPDATE'),
                           ('operator', 'person', 'display_name', 'UPDATE');
-- SELECT on every column of the row-secured tables an operator reads, but
-- the decision chain's (an entry's place in the national chain is the
-- national auditor's), and of region_scope for every scoped group
INSERT INTO exp_col
SELECT 'operator', t, a.attname, 'SELECT'
  FROM unnest(ARRAY['person', 'declaration', 'travel', 'test_result', 'vaccination', 'contact', 'checkin',
                    'manual_decision', 'audit_finding', 'correction', 'person_status', 'status_history',
                    'guardian_link', 'proxy_action', 'venue', 'medicine_sale']) t
  JOIN pg_attribute a ON a.attrelid = ('healthcode.' || t)::regclass AND a.attnum > 0 AND NOT a.attisdropped
 WHERE (t, a.attname) NOT IN (('manual_decision', 'chain_seq'), ('manual_decision', 'prev_hash'),
                              ('manual_decision', 'entry_hash'), ('manual_decision', 'content_digest'));
INSERT INTO exp_col
SELECT g, 'region_scope', a.attname, 'SELECT'
  FROM unnest(ARRAY['operator', 'app', 'analyst', 'verifier']) g
  JOIN pg_attribute a ON a.attrelid = 'healthcode.region_scope'::regclass AND a.attnum > 0 AND NOT a.attisdropped;

-- EXECUTE per group, by function name (overloads share a class). Every
-- function of the extension must be listed; 'owner' = nobody else.
CREATE TEMP TABLE exp_fn (grp text NOT NULL, fn text NOT NULL);
INSERT INTO exp_fn SELECT 'public', f FROM unnest(ARRAY[
  'division_code_valid', 'division_chain', 'division_last', 'division_covers', 'division_rank',
  'division_codes_valid', 'division_range', 'division_multirange', 'mask_name', 'symptoms_known', 'place_code_valid',
  'normalize_identifier', 'identifier_check', 'public_key_id', 'verify', '_caller', '_shorten',
  '_published_count', '_min_cell_size', 'qr_svg', 'qr_png', 'qr_terminal', 'format_version', 'region',
  'subject', 'colour', 'issued_at', 'expires_at', 'key_id', 'vaccinated', 'signature', 'healthcode', 'bytea',
  'healthcode_in', 'healthcode_out', 'healthcode_recv', 'healthcode_send', 'healthcode_eq', 'healthcode_ne',
  'healthcode_lt', 'healthcode_le', 'healthcode_gt', 'healthcode_ge', 'healthcode_cmp', 'healthcode_hash',
  'healthcode_hash_extended', 'division_label', 'mask_identifier', 'screen_reasons', 'reason_text_zh', '_code_or_null',
  '_verify_venue_code', 'venue_qr_svg', 'venue_qr_png', '_sale_venue_name', '_division_labels', '_division_names',
  -- (the sales table's check calls it, as whoever writes it)
  '_medicines',
  -- (the venue tables' checks call it, as whoever writes them)
  '_venue_kinds']) f;
-- every group: its own scope
INSERT INTO exp_fn SELECT g, f FROM unnest(ARRAY['operator', 'app', 'analyst', 'verifier']) g,
                                    unnest(ARRAY['my_region_scope', 'region_scope_of', '_role_is_superuser']) f;
INSERT INTO exp_fn SELECT 'app', f FROM unnest(ARRAY[
  'register_person', 'declare', 'declare_trip', 'health_info', 'check_in', 'issue_for', 'issue_paper_code', 'status', 'person_id',
  'revoke_code', 'revoke_codes_of',
  'request_correction', 'import_travel', 'import_test_results', 'import_vaccinations', 'import_contacts',
  'import_risk_areas', 'checkpoint_verify', 'subject_of', 'issue_for_subject', 'current_status_of',
  'verify_arrival', 'code_screen', 'itinerary', 'my_history', 'my_evidence', 'check_statuses', 'issue_batch',
  'link_guardian', 'revoke_guardian', 'code_screen_for', 'issue_for_dependant', 'declare_for', 'scan_venue', 'import_scans',
  'register_medicine_sale', 'import_medicine_sales',
  -- (an identity check: the procedure runs as its caller and calls its two steps)
  'checkpoint_verify_holder', '_holder_check_record', '_holder_check_answer', 'verify_venue_code']) f;
INSERT INTO exp_fn SELECT 'operator', fn FROM exp_fn WHERE grp = 'app' AND fn NOT IN (SELECT fn FROM exp_fn WHERE grp = 'operator');
INSERT INTO exp_fn SELECT 'operator', f FROM unnest(ARRAY[
  'create_venue', 'close_venue', 'exposures', 'trace_exposures', 'venue_code', 'record_decision', 'review_finding', 'decide_correction', 'audit', 'policy_at', '_policy_in_force', 'status_at', 'erase_person',
  '_status_later', '_elapsed_changes', '_rls_scope', '_scope_contains',
  -- (current_status computes a person the work list has yet to reach fresh)
  '_work_pending', '_read_status']) f;
INSERT INTO exp_fn SELECT 'verifier', f FROM unnest(ARRAY['checkpoint_verify', 'current_status_of', 'verify_arrival',
  'checkpoint_verify_holder', '_holder_check_record', '_holder_check_answer', 'verify_venue_code']) f;
-- the analyst views' rows come from these (suppressed, within the caller's scope)
INSERT INTO exp_fn SELECT 'analyst', f FROM unnest(ARRAY['_status_summary', '_transitions_per_day', '_tests_per_day',
  '_codes_per_day', '_findings_per_day', '_decisions_by_operator', '_trends', '_status_totals', '_exposure_by_area']) f;
-- national administration; and auditing the manual decisions' hash chain
-- (the national supervisor keeps the head and checks the chain)
-- healthcode_peer (no role of this file is one: test/pgtap/peers.sql)
INSERT INTO exp_fn SELECT 'peer', f FROM unnest(ARRAY['peer_publish', 'peer_push_reds', 'shared_health']) f;
INSERT INTO exp_fn SELECT 'admin', f FROM unnest(ARRAY[
  'check_consistency', 'generate_population', 'create_travel_partitions', 'drop_expired_travel_partitions',
  'create_partitions', 'drop_expired_partitions',
  'grant_region', 'revoke_region', 'host_region', 'policy_at', '_policy_in_force', 'create_key', 'rotate_key', 'revoke_key',
  'verify_decision_chain', 'decision_chain_head', 'decision_content', 'decision_kept', 'decision_erasable', 'set_node', 'create_publication',
  'drop_expired_revocations', 'wait_for_recalc', '_recalc_progress', '_recalc_wait_step',
  'start_consistency_check', 'purge_region', 'rollup_day', 'schedule_jobs', 'unschedule_jobs', '_daily_jobs',
  -- what a DBA watches (and pg_monitor, as whom postgres_exporter connects)
  '_monitoring',
  -- a hosted region moving onto a node of its own (hub: export, release; node: adoption)
  'region_export', 'release_region',
  -- retention: the daily job commits a batch at a time, so it runs as its
  -- caller and calls its steps itself
  'apply_retention', 'retention_plan', '_retention_rules', '_retention_delete', '_retention_statuses']) f;
-- who inserts personal rows themselves draws their opaque ids
INSERT INTO exp_fn SELECT g, '_next_id' FROM unnest(ARRAY['admin', 'operator']) g;
-- the owner only: raw signing and pseudonyms, and every internal function,
-- the status engine's aggregate and the rollup's among them
INSERT INTO exp_fn SELECT 'owner', f FROM unnest(ARRAY[
  'issue', 'pseudonym', 'national_pseudonym', 'synthetic_identifier', 'travel_retention', '_status_agg', '_status_step', '_id_list',
  '_partitioned_by_time', '_partition_indexes', '_index_partition', '_comment_partition', '_first_day_kept',
  '_time_partitions_of', '_time_partitions_missing', '_require_day_span',
  '_status_final', '_in_caller_scope', '_require_caller_scope', '_import_parse', '_import_subject', '_import_people', '_import_refuse',
  '_import_with_people', '_import_execute', '_create_travel_partitions_apart', '_keys_changed', '_trust_list_guard', '_new_issuer_key',
  '_policy_default_guard', '_policy_truncate_guard', '_policy_versions', '_grant_columns',
  '_national_lookback_days', '_national_kept_days', '_evidence_kept_from', '_policy_default',
  '_code_screen', '_issue_with_status', '_written_by_this_transaction', '_legacy_identifier', '_sign_venue_code', '_record_stay', '_scope_sel', '_require_venue', '_itinerary', '_statuses_of', '_batch_size', '_require_link', '_proxy_log', '_windowed_kept_from', '_travel_first_day', '_travel_kept', '_work_pending_by', '_inputs_hold_expired', '_inputs_kept', '_lookback_beyond_limit', '_policy_lookback_guard', '_erase', '_report_sum', '_record_erasure',
  '_evidence_horizon', '_risky_stays', '_risky_stays_by', '_evidence', '_fresh_status', '_decision_guard',
  '_decision_chain_append', '_recompute', '_restoring', '_clock_skew', '_cause', '_check_evidence_times',
  '_evidence_changed', '_test_result_samples', '_travel_changed', '_stays_in_changed_areas', '_stay_levels_sql', '_stays_judged_sql', '_designation_set', '_designations', '_stay_level', '_stays_levels', '_risk_area_changed', '_people_governed',
  '_policy_changed', '_person_changed', '_person_removed', '_person_lock', '_status_from_stored_inputs',
  '_dump_marker_loaded', '_audit_findings', '_require_person',
  '_require_region', '_require_place', '_buffered_code_events', '_count_code_event', '_code_events', '_pending_changes', '_erasure_stripe', '_flush_code_events', '_lock_against_erasure', '_lock_for_erasure', '_take_code_events', '_exposures', '_exposure_reach', '_exchange_loading', '_venue_id', '_medicine_sale_venue', '_exposure_notice_arrived', '_exposure_notice_check', '_venue_closure_check',
  '_exposure_notice_key', '_exposure_notice_problem', '_publish_exposures', '_place_code_problem', '_risk_area_venue_place', '_require_finite', '_require_identifier', '_require_text', '_require_text_array',
  '_require_symptoms', '_require_temperature', '_require_valid_for', '_require_code_lifetime', '_issue_for_person', '_holder_status', '_holder_health_facts', '_person_health_facts', '_require_person_id', '_digest_at', '_revocation_hash', '_revocation_check',
  '_evidence_lock', '_node_region', '_national_key_configured', '_by_replication', '_reject',
  '_key_row_problem', '_key_exchange_check', '_trust_list_to_exchange', '_digest_check', '_publish_status',
  '_red_push_check', '_red_push_changed', '_health_share_check', '_health_share_changed', '_health_share_problem',
  '_peer_scope', '_peer_region_problem', '_peer_refuse', '_peer_bulk', '_set_peer_bulk', '_node_served', '_served_here', '_row_sender_problem', '_own_row_back', '_doses_of', '_pseudonym_from_hex', '_shared_evidence_truncated', '_policy_to_exchange', '_policy_from_exchange', '_arrival_rule_to_exchange', '_arrival_rule_from_exchange', '_national_arrival_rule_guard', '_load_support',
  '_person_of', '_rekey_adopted', 'adopt_region', '_recompute_national', '_region_levels', '_scope_holds', '_history_at', '_status_groups_at', '_colours_of', '_colour_counts', '_colour_counts_at', '_transitions_in', '_rollup_rows', '_require_hosted', '_moved_tables', '_moved_filter', '_moved_computed', '_moved_counts', '_erase_region', '_decision_linked',
  -- subscriptions are a superuser's business (CREATE SUBSCRIPTION is)
  'subscription_sql', 'enable_subscription', '_sender_region', '_sender_problem', '_exchange_truncate_guard',
  '_code_holder', '_replication_subscription',
  -- the status work list
  '_work_stays_sql', '_forget_gone_stays', '_list_work', '_part_ids', '_work_concerns', '_pending_since', '_status_now', '_launch_recalc_workers',
  '_ensure_recalc_workers', '_recalc_changed', '_recalc_touched', '_recalc_step', '_recalc_setting', '_consistency_of',
  '_listed_rows', '_work_stays_of', '_stays_days', '_stays_kept', '_stays_judged', '_recalc_people', '_settle_pending', '_take_listed', '_take_batch', '_recalc_workers_running', '_recalc_workers_before_me', '_recalc_staff',
  '_recalc_last_look_name', '_resume_recalc']) f;

-- ---- the objects, from the catalogs ------------------------------------------
CREATE TEMP TABLE obj_rel AS
SELECT c.oid, c.relname::text AS relname, c.relkind,
       CASE WHEN c.relname ~ '^travel_[0-9]{8}$' AND c.relispartition THEN 'travel_YYYYMMDD'
            WHEN c.relname ~ '^code_event_[0-9]{8}$' AND c.relispartition THEN 'code_event_YYYYMMDD'
            WHEN c.relname ~ '^(status_history|checkin|test_result)_[0-9]{6}$' AND c.relispartition
            THEN left(c.relname::text, -6) || 'YYYYMM'
            ELSE c.relname::text END AS exp_name
  FROM pg_class c
 WHERE c.relnamespace = 'healthcode'::regnamespace
   AND (EXISTS (SELECT 1 FROM pg_depend d
                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e'
                   AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'healthcode'))
        OR c.oid IN (SELECT i.inhrelid FROM pg_inherits i
                      WHERE i.inhparent IN ('healthcode.travel'::regclass, 'healthcode.code_event'::regclass,
                                            'healthcode.status_history'::regclass, 'healthcode.checkin'::regclass,
                                            'healthcode.test_result'::regclass)))
   AND c.relkind IN ('r', 'p', 'v', 'm', 'f', 'S');
CREATE TEMP TABLE obj_fn AS
SELECT p.oid, p.proname::text AS proname, p.prokind,
       p.prorettype IN ('trigger'::regtype, 'internal'::regtype, 'cstring'::regtype)
       OR EXISTS (SELECT 1 FROM unnest(p.proargtypes) t WHERE t IN ('internal'::regtype, 'cstring'::regtype))
       AS not_callable
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthcode';

SELECT ok((SELECT count(DISTINCT exp_name) FROM obj_rel
            WHERE exp_name IN ('travel_YYYYMMDD', 'code_event_YYYYMMDD', 'status_history_YYYYMM', 'checkin_YYYYMM',
                               'test_result_YYYYMM')) = 5,
          'the data has day partitions of travel and code_event, and month partitions of status_history, checkin and test_result, to check');
SELECT is(ARRAY(SELECT DISTINCT exp_name FROM obj_rel EXCEPT SELECT rel FROM exp_rel ORDER BY 1), '{}',
          'every table, view and sequence of the extension (and travel''s partitions) has an expectation');
SELECT is(ARRAY(SELECT rel FROM exp_rel EXCEPT SELECT exp_name FROM obj_rel ORDER BY 1), '{}',
          'every relation the expectations name exists');
SELECT is(ARRAY(SELECT proname FROM obj_fn EXCEPT SELECT fn FROM exp_fn ORDER BY 1), '{}',
          'every function of the extension has an expectation');
SELECT is(ARRAY(SELECT fn FROM exp_fn EXCEPT SELECT proname FROM obj_fn ORDER BY 1), '{}',
          'every function the expectations name exists');

-- what each matrix role should have, flattened
CREATE TEMP TABLE want_rel AS
SELECT DISTINCT m.role, o.oid, o.relname, p.priv
  FROM matrix_role m CROSS JOIN obj_rel o
  JOIN exp_rel e ON e.rel = o.exp_name AND e.grp = ANY (m.groups)
  CROSS JOIN LATERAL unnest(e.privs) p(priv)
UNION
SELECT m.role, o.oid, o.relname, p.priv                    -- the owner: everything
  FROM matrix_role m CROSS JOIN obj_rel o
  CROSS JOIN LATERAL unnest(CASE WHEN o.relkind = 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
                                 ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
                            END) p(priv)
 WHERE 'owner' = ANY (m.groups);
CREATE TEMP TABLE want_col AS
SELECT DISTINCT m.role, o.oid, o.relname, e.col, e.priv
  FROM matrix_role m CROSS JOIN obj_rel o
  JOIN exp_col e ON e.rel = o.exp_name AND e.grp = ANY (m.groups)
 WHERE NOT EXISTS (SELECT 1 FROM want_rel w WHERE w.role = m.role AND w.oid = o.oid AND w.priv = e.priv);
CREATE TEMP TABLE want_fn AS
SELECT DISTINCT m.role, f.oid, f.proname
  FROM matrix_role m CROSS JOIN obj_fn f
 WHERE 'owner' = ANY (m.groups)
    OR EXISTS (SELECT 1 FROM exp_fn e WHERE e.fn = f.proname AND e.grp = ANY (m.groups));

-- what the catalog grants
CREATE TEMP TABLE have_rel AS
SELECT m.role, o.oid, o.relname, p.priv
  FROM matrix_role m CROSS JOIN obj_rel o
  CROSS JOIN LATERAL unnest(CASE WHEN o.relkind = 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
                                 ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'REFERENCES', 'TRIGGER']
                            END) p(priv)
 WHERE CASE WHEN o.relkind = 'S' THEN has_sequence_privilege(m.role, o.oid, p.priv)
            ELSE has_table_privilege(m.role, o.oid, p.priv) END;
CREATE TEMP TABLE have_col AS
SELECT m.role, o.oid, o.relname, a.attname::text AS col, p.priv
  FROM matrix_role m CROSS JOIN obj_rel o
  JOIN pg_attribute a ON a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped
  CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'REFERENCES']) p(priv)
 WHERE o.relkind <> 'S'
   AND has_column_privilege(m.role, o.oid, a.attnum, p.priv)
   AND NOT has_table_privilege(m.role, o.oid, p.priv);
CREATE TEMP TABLE have_fn AS
SELECT m.role, f.oid, f.proname
  FROM matrix_role m CROSS JOIN obj_fn f
 WHERE has_function_privilege(m.role, f.oid, 'EXECUTE');

-- differences: '+' granted but not expected, '-' expected but not granted
CREATE FUNCTION pg_temp.rel_diff(r name) RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY(
    SELECT d FROM (
      SELECT '+' || relname || ':' || priv AS d FROM (SELECT oid, relname, priv FROM have_rel WHERE role = r
                                                     EXCEPT SELECT oid, relname, priv FROM want_rel WHERE role = r) x
      UNION ALL
      SELECT '-' || relname || ':' || priv FROM (SELECT oid, relname, priv FROM want_rel WHERE role = r
                                                EXCEPT SELECT oid, relname, priv FROM have_rel WHERE role = r) y) z
    ORDER BY substr(d, 2), d)
$$;
CREATE FUNCTION pg_temp.col_diff(r name) RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY(
    SELECT d FROM (
      SELECT '+' || relname || '.' || col || ':' || priv AS d
        FROM (SELECT relname, col, priv FROM have_col WHERE role = r
              EXCEPT SELECT relname, col, priv FROM want_col WHERE role = r) x
      UNION ALL
      SELECT '-' || relname || '.' || col || ':' || priv
        FROM (SELECT relname, col, priv FROM want_col WHERE role = r
              EXCEPT SELECT relname, col, priv FROM have_col WHERE role = r) y) z
    ORDER BY substr(d, 2), d)
$$;
CREATE FUNCTION pg_temp.fn_diff(r name) RETURNS text[] LANGUAGE sql AS $$
  SELECT ARRAY(
    SELECT d FROM (
      SELECT '+' || oid::regprocedure::text AS d FROM (SELECT oid FROM have_fn WHERE role = r
                                                      EXCEPT SELECT oid FROM want_fn WHERE role = r) x
      UNION ALL
      SELECT '-' || oid::regprocedure::text FROM (SELECT oid FROM want_fn WHERE role = r
                                                 EXCEPT SELECT oid FROM have_fn WHERE role = r) y) z
    ORDER BY substr(d, 2), d)
$$;

SELECT is(pg_temp.rel_diff(role), '{}',
          format('catalog: %s has exactly the expected table, view and sequence privileges', role))
  FROM matrix_role ORDER BY ord;
SELECT is(pg_temp.col_diff(role), '{}',
          format('catalog: %s has exactly the expected column privileges', role))
  FROM matrix_role ORDER BY ord;
SELECT is(pg_temp.fn_diff(role), '{}',
          format('catalog: %s may execute exactly the expected functions', role))
  FROM matrix_role ORDER BY ord;

-- ---- in practice ---------------------------------------------------------------
-- Each attempt runs through pg_temp.attempt() (lib/roles_common.psql): as
-- the role, rolled back, giving 'ok' or the SQLSTATE, the message and the
-- row count.
-- 'denied' when the privilege on that very object is missing, 'broken' when
-- some other object's privilege is (an allowed action that cannot work),
-- 'allowed' otherwise (it ran, or failed for a reason other than rights).
CREATE FUNCTION pg_temp.verdict(state text, message text, objname text, objkind text) RETURNS text
LANGUAGE sql AS $$
  SELECT CASE
    WHEN state = '42501' AND message = format('permission denied for %s %s', objkind, objname) THEN 'denied'
    WHEN state = '42501' AND message LIKE 'permission denied for %' THEN 'broken: ' || message
    ELSE 'allowed' END
$$;

-- every column: SELECT, INSERT and UPDATE (zero rows; the rights are checked all the same)
CREATE TEMP TABLE probe_col AS
SELECT m.role, o.oid, o.relname, o.relkind, a.attname::text AS col, p.priv,
       pg_temp.verdict(t.state, t.message, o.relname, CASE o.relkind WHEN 'v' THEN 'view' ELSE 'table' END) AS verdict
  FROM matrix_role m CROSS JOIN obj_rel o
  JOIN pg_attribute a ON a.attrelid = o.oid AND a.attnum > 0 AND NOT a.attisdropped
  CROSS JOIN unnest(ARRAY['SELECT', 'INSERT', 'UPDATE']) p(priv)
  CROSS JOIN LATERAL pg_temp.attempt(m.role, CASE p.priv
         WHEN 'SELECT' THEN format('SELECT %I FROM healthcode.%I WHERE false', a.attname, o.relname)
         WHEN 'INSERT' THEN format('INSERT INTO healthcode.%I (%I) SELECT NULL WHERE false', o.relname, a.attname)
         ELSE format('UPDATE healthcode.%I SET %I = NULL WHERE false', o.relname, a.attname) END) t
 WHERE o.relkind IN ('r', 'p', 'v')
   AND (o.relkind <> 'v' OR p.priv = 'SELECT')          -- the views are not updatable
   AND (a.attgenerated = '' OR p.priv = 'SELECT');      -- nor are generated columns
SELECT is(ARRAY(SELECT format('%s.%s:%s %s', relname, col, priv, verdict) FROM probe_col x
                 WHERE x.role = m.role
                   AND verdict IS DISTINCT FROM CASE
                     WHEN EXISTS (SELECT 1 FROM want_rel w WHERE w.role = x.role AND w.oid = x.oid AND w.priv = x.priv)
                       OR EXISTS (SELECT 1 FROM want_col w WHERE w.role = x.role AND w.oid = x.oid
                                                             AND w.col = x.col AND w.priv = x.priv)
                     THEN 'allowed' ELSE 'denied' END
                 ORDER BY 1), '{}',
          format('in practice: %s can SELECT, INSERT and UPDATE exactly the expected columns (else 42501)', m.role))
  FROM matrix_role m ORDER BY ord;

-- every table: DELETE and TRUNCATE; every sequence: nextval
CREATE TEMP TABLE probe_rel AS
SELECT m.role, o.oid, o.relname, p.priv,
       pg_temp.verdict(t.state, t.message, o.relname, CASE WHEN o.relkind = 'S' THEN 'sequence' ELSE 'table' END) AS verdict
  FROM matrix_role m CROSS JOIN obj_rel o
  CROSS JOIN unnest(CASE WHEN o.relkind = 'S' THEN ARRAY['USAGE'] ELSE ARRAY['DELETE', 'TRUNCATE'] END) p(priv)
  CROSS JOIN LATERAL pg_temp.attempt(m.role, CASE p.priv
         WHEN 'DELETE' THEN format('DELETE FROM healthcode.%I WHERE false', o.relname)
         WHEN 'TRUNCATE' THEN format('TRUNCATE healthcode.%I', o.relname)
         ELSE format('SELECT nextval(%L)', 'healthcode.' || o.relname) END) t
 WHERE o.relkind IN ('r', 'p', 'S');
SELECT is(ARRAY(SELECT format('%s:%s %s', relname, priv, verdict) FROM probe_rel x
                 WHERE x.role = m.role
                   AND verdict IS DISTINCT FROM CASE
                     WHEN EXISTS (SELECT 1 FROM want_rel w WHERE w.role = x.role AND w.oid = x.oid AND w.priv = x.priv)
                     THEN 'allowed' ELSE 'denied' END
                 ORDER BY 1), '{}',
          format('in practice: %s can DELETE, TRUNCATE and draw from exactly the expected tables and sequences', m.role))
  FROM matrix_role m ORDER BY ord;

-- every function that can be called from SQL, with NULL arguments: a role
-- without EXECUTE gets 42501, a role with it gets anything else (a result,
-- or an error about the arguments), never 42501 on another object. (The
-- NULLs come from sub-selects: a strict function called with a NULL
-- constant is folded away by the planner before its EXECUTE is checked.)
CREATE TEMP TABLE probe_fn AS
SELECT m.role, f.oid, f.proname,
       pg_temp.verdict(t.state, t.message, f.proname,
                       CASE f.prokind WHEN 'a' THEN 'aggregate' WHEN 'p' THEN 'procedure' ELSE 'function' END) AS verdict
  FROM matrix_role m CROSS JOIN obj_fn f
  -- (a procedure is CALLed, with plain NULLs: CALL takes no sub-selects)
  CROSS JOIN LATERAL pg_temp.attempt(m.role, format(CASE f.prokind WHEN 'p' THEN 'CALL healthcode.%I(%s)'
                                                                   ELSE 'SELECT healthcode.%I(%s)' END, f.proname,
         (SELECT string_agg(format(CASE f.prokind WHEN 'p' THEN 'NULL::%s' ELSE '(SELECT NULL::%s)' END,
                                   format_type(a.t, NULL)), ', ' ORDER BY a.n)
            FROM unnest((SELECT p.proargtypes::oid[] FROM pg_proc p WHERE p.oid = f.oid)) WITH ORDINALITY a(t, n)))) t
 WHERE NOT f.not_callable;
SELECT is(ARRAY(SELECT format('%s %s', x.oid::regprocedure, verdict) FROM probe_fn x
                 WHERE x.role = m.role
                   AND verdict IS DISTINCT FROM CASE
                     WHEN EXISTS (SELECT 1 FROM want_fn w WHERE w.role = x.role AND w.oid = x.oid)
                     THEN 'allowed' ELSE 'denied' END
                 ORDER BY 1), '{}',
          format('in practice: %s can call exactly the expected functions, and each of them works (else 42501)', m.role))
  FROM matrix_role m ORDER BY ord;

-- ---- row-level security: zero rows outside the scope ------------------------------
-- The scope each role should have, written out (not computed by the
-- extension): division-code prefixes; '' is the whole country.
CREATE TEMP TABLE exp_scope (role name PRIMARY KEY, prefixes text[] NOT NULL, ord integer NOT NULL);
INSERT INTO exp_scope VALUES
  (current_user, '{""}', 1), ('regress_hc_admin', '{""}', 2), ('regress_hc_op_zj', '{33}', 3),
  ('regress_hc_op_hz', '{3301}', 4), ('regress_hc_op_bj', '{11}', 5),
  ('regress_hc_bypass', '{""}', 6);   -- BYPASSRLS: sees all, by design
-- every table with row-level security and every view reading one: what the
-- owner counts in the role's scope (region_scope: the role's own mappings;
-- risk areas and policy: public reading) against what the role sees
CREATE TEMP TABLE rls_rel AS
SELECT o.relname, o.relkind,
       CASE WHEN o.relname = 'region_scope' THEN 'own'
            WHEN EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = o.oid AND p.polcmd IN ('r', '*')
                                                     AND pg_get_expr(p.polqual, p.polrelid) = 'true') THEN 'all'
            ELSE 'scoped' END AS kind
  FROM obj_rel o
  JOIN pg_class c ON c.oid = o.oid
 WHERE (c.relkind IN ('r', 'p') AND c.relrowsecurity)
    OR (c.relkind = 'v' AND 'security_invoker=true' = ANY (c.reloptions));
-- every table holding a region or a person (by its columns), but those
-- named, has row-level security, enabled and forced
SELECT is(ARRAY(SELECT o.relname FROM obj_rel o JOIN pg_class c ON c.oid = o.oid
                 WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition
                   -- public keys and rules, this node's identity; and what only the
                   -- national admin reads: code counts, pseudonyms pushed without a
                   -- region, refused exchange rows; the status work list and the
                   -- consistency findings and the identity checks, which no role but
                   -- the owner and the admins reads; test_result's samples, the
                   -- owner's alone
                   AND o.relname NOT IN ('code_event', 'trust_list', 'key_exchange', 'arrival_rule', 'arrival_rule_exchange', 'node', 'peer', 'hosted_region',
                                         'venue_entry_rule',
                                         'red_push', 'exposure_notice', 'venue_closure', 'exchange_reject', 'recalc_work', 'recalc_pending',
                                         'recalc_gone_stays',
                                         'consistency_finding', 'holder_check', 'adopted_person', 'daily_rollup', 'test_result_sample')
                   AND EXISTS (SELECT 1 FROM pg_attribute a
                                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                                  AND a.attname IN ('region', 'division', 'person_id', 'subject', 'national_subject',
                                                    'from_region', 'role_name'))
                   AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                 ORDER BY 1), '{}',
          'every table of personal or regional data has row-level security, enabled and forced');
SELECT is(ARRAY(SELECT relname FROM rls_rel WHERE kind = 'scoped' AND relname NOT IN (
                  SELECT a.attrelid::regclass::text FROM pg_attribute a
                   WHERE a.attname = 'region' AND a.attrelid IN (SELECT oid FROM obj_rel))
                ORDER BY 1)::text[],
          '{}', 'every region-scoped relation carries a region column');
CREATE TEMP TABLE rls_count AS
SELECT s.role, r.relname,
       (pg_temp.attempt(s.role, format('SELECT 1 FROM healthcode.%I', r.relname))).nrows AS seen,
       CASE WHEN s.prefixes = '{""}' OR r.kind = 'all' THEN
              (pg_temp.attempt(current_user, format('SELECT 1 FROM healthcode.%I', r.relname))).nrows
            WHEN r.kind = 'own' THEN
              (SELECT count(*) FROM region_scope x WHERE x.role_name = s.role::regrole)
            ELSE (pg_temp.attempt(current_user, format(
                   'SELECT 1 FROM healthcode.%I t WHERE t.region LIKE ANY (%L)', r.relname,
                   (SELECT array_agg(x || '%') FROM unnest(s.prefixes) x)))).nrows END AS expected
  FROM exp_scope s CROSS JOIN rls_rel r
 -- (a table the role may not read at all is the privilege matrix's business;
 -- the row-secured ones are read column by column)
 WHERE has_any_column_privilege(s.role, ('healthcode.' || quote_ident(r.relname))::regclass, 'SELECT');
SELECT ok((SELECT min(expected) FROM rls_count WHERE relname IN ('person', 'declaration', 'test_result', 'travel')
                                                 AND role IN ('regress_hc_op_hz', 'regress_hc_op_bj')) > 0,
          'each operator has people and evidence of its own to see');
SELECT is(ARRAY(SELECT format('%s: sees %s rows, %s in scope', relname, seen, expected)
                  FROM rls_count c WHERE c.role = s.role AND seen IS DISTINCT FROM expected ORDER BY 1), '{}',
          format('row-level security: %s sees exactly the rows of its scope (%s) in every table and view with RLS%s',
                 s.role, CASE WHEN s.prefixes = '{""}' THEN 'national'
                      ELSE (SELECT string_agg(rpad(x, 6, 'x'), ',') FROM unnest(s.prefixes) x) END,
                 CASE s.role WHEN 'regress_hc_bypass' THEN ' (BYPASSRLS: all rows, by design)' ELSE '' END))
  FROM exp_scope s ORDER BY ord;

-- ---- named cases (also in the matrix above; spelled out for the reader) --------------
-- an admin's trigger would run as the superuser whose SECURITY DEFINER
-- functions write the table (generate_population, declare, ...)
SET LOCAL ROLE regress_hc_admin;
CREATE FUNCTION pg_temp.admin_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'this trigger runs as %', current_user;
  RETURN NULL;
END $$;
SELECT throws_ok($$CREATE TRIGGER regress_hc_admin_trigger AFTER INSERT ON healthcode.person
                   FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.admin_trigger()$$, '42501', NULL,
                 'healthcode_admin cannot attach a trigger to a table of the extension (it would run as the superuser)');
SELECT throws_ok($$INSERT INTO healthcode.trust_list (key_id, region, public_key, valid_from, valid_until)
                   SELECT healthcode.public_key_id(k), '000000', k, now(), now() + interval '1 year'
                     FROM (SELECT decode(repeat('5a', 32), 'hex') AS k) x$$, '42501', NULL,
                 'healthcode_admin cannot plant a public key of its own in the trust list');
SELECT throws_ok($$UPDATE healthcode.person_status SET colour = 'green', next = '[]', valid_until = 'infinity'
                    WHERE colour = 'red'$$, '42501', NULL,
                 'healthcode_admin cannot turn people green by writing their status (statuses are computed; decisions are the record)');
SELECT throws_ok($$DELETE FROM healthcode.status_history$$, '42501', NULL,
                 'healthcode_admin cannot erase the status history');
RESET ROLE;
DROP TRIGGER IF EXISTS regress_hc_admin_trigger ON healthcode.person;
SET LOCAL ROLE regress_hc_nobody;
SELECT throws_ok($$SELECT healthcode._status_agg(NULL::text, NULL::timestamptz, NULL::timestamptz, NULL::integer,
                                                 NULL::text, NULL::bigint, NULL::healthcode.engine_policy[], NULL::timestamptz)$$,
                 '42501', NULL, 'PUBLIC cannot run the status engine''s internal aggregate');
RESET ROLE;
SET LOCAL ROLE regress_hc_app_zj;
SELECT throws_ok('SELECT * FROM healthcode.person', '42501', NULL, 'the app reads no table: person');
RESET ROLE;
SET LOCAL ROLE regress_hc_analyst_zj;
SELECT throws_ok('SELECT * FROM healthcode.current_status', '42501', NULL, 'the analyst reads no per-person view');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
