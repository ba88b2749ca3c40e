-- Least privilege for the foundation: who may make keys, issue, read
-- secrets; hardened SECURITY DEFINER functions; every object documented.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(20);

CREATE ROLE hc_tap_nobody;

SELECT ok(NOT has_function_privilege('hc_tap_nobody', f, 'EXECUTE'), 'PUBLIC cannot execute ' || f)
  FROM unnest(ARRAY[
    'healthcode.create_key(text, timestamptz, timestamptz)',
    'healthcode.rotate_key(text, timestamptz)',
    'healthcode.revoke_key(bytea, text)',
    'healthcode._new_issuer_key(text)',
    'healthcode.issue(text, bytea, healthcode.risk_colour, interval, boolean, boolean, timestamp with time zone, integer)',
    'healthcode.pseudonym(text)']) f;
SELECT ok(has_function_privilege('hc_tap_nobody', 'healthcode.verify(healthcode.healthcode, timestamptz)', 'EXECUTE'),
          'anyone may verify a code');
SELECT ok(NOT has_table_privilege('hc_tap_nobody', 'healthcode.issuer_key_secret', p),
          'PUBLIC has no ' || p || ' on issuer_key_secret')
  FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p;
SELECT ok(has_table_privilege('hc_tap_nobody', 'healthcode.trust_list', 'SELECT'),
          'the trust list (public keys) is readable by anyone');
SELECT ok(NOT has_table_privilege('hc_tap_nobody', 'healthcode.trust_list', 'INSERT, UPDATE, DELETE, TRUNCATE'),
          'nobody but its owner changes the trust list');

SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
   WHERE p.pronamespace = 'healthcode'::regnamespace AND p.prosecdef
     AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
  'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
-- Which functions run as the extension's owner is declared where each is
-- defined (SECURITY DEFINER); this is the reviewed list of them, so that a
-- function renamed, overloaded or added gains or loses it only here too.
SELECT is(ARRAY(SELECT s.f FROM (SELECT replace(p.oid::regprocedure::text, 'healthcode.', '') AS f FROM pg_proc p
                                   WHERE p.pronamespace = 'healthcode'::regnamespace AND p.prosecdef) s
                 ORDER BY s.f COLLATE "C"),
          ARRAY[
    '_arrival_rule_from_exchange()', '_arrival_rule_to_exchange()', '_codes_per_day()', '_decision_chain_append()', '_decisions_by_operator()', '_dump_marker_loaded()',
    '_evidence_changed()', '_exposure_by_area()', '_exposure_notice_arrived()', '_exposure_notice_check()', '_findings_per_day()', '_health_share_changed()', '_health_share_check()', '_holder_check_answer(bigint)', '_holder_check_record(text,text,text)', '_monitoring()', '_national_arrival_rule_guard()', '_person_changed()', '_person_lock()',
    '_person_removed()', '_policy_changed()', '_policy_from_exchange()', '_policy_lookback_guard()', '_policy_to_exchange()',
    '_read_status(person_status,timestamp with time zone)', '_recalc_progress()', '_recalc_wait_step()', '_red_push_changed()', '_red_push_check()', '_resume_recalc()', '_retention_delete(text,integer)', '_retention_rules(timestamp with time zone)', '_retention_statuses(bigint,integer)', '_risk_area_changed()', '_sale_venue_name(bigint)', '_shared_evidence_truncated()', '_status_summary()', '_status_totals()', '_test_result_samples()',
    '_tests_per_day()', '_transitions_per_day()', '_travel_changed()', '_trends()', '_trust_list_to_exchange()', '_venue_closure_check()', '_work_pending()',
    'audit(bigint,text)', 'check_consistency(timestamp with time zone)', 'check_in(text,numeric,text[])', 'check_statuses(bigint[])', 'check_statuses(text[])',
    'checkpoint_verify(healthcode,text,timestamp with time zone,boolean)', 'close_venue(bigint,text)', 'code_screen(bigint,text,interval)', 'code_screen(text,text,interval)',
    'code_screen_for(text,text,text,interval)', 'create_key(text,timestamp with time zone,timestamp with time zone)', 'create_partitions(date,date)', 'create_publication()',
    'create_travel_partitions(date,date)', 'create_venue(text,text,text,text)', 'current_status_of(healthcode,timestamp with time zone)',
    'decide_correction(bigint,boolean,text)', 'declare(text,text,text,text[],numeric,text[],boolean)',
    'declare_for(text,text,text[],numeric,text[],boolean)', 'declare_trip(text,text,timestamp with time zone)', 'drop_expired_partitions()', 'drop_expired_revocations()', 'drop_expired_travel_partitions(interval)',
    'erase_person(bigint,text)', 'exposures(bigint,timestamp with time zone,timestamp with time zone,text)',
    'generate_population(integer,integer,integer,double precision)', 'grant_region(regrole,text)',
    'health_info(text)', 'host_region(text,text)', 'import_contacts(json)', 'import_medicine_sales(json)', 'import_risk_areas(json)', 'import_scans(json)', 'import_test_results(json)',
    'import_travel(json)', 'import_vaccinations(json)', 'issue_batch(bigint[],interval)', 'issue_for(bigint,interval,boolean)',
    'issue_for_dependant(text,text,interval)', 'issue_for_subject(text,bytea,interval)', 'issue_paper_code(bigint,interval,boolean)', 'itinerary(text,integer)', 'link_guardian(text,text,text,text)', 'my_evidence(text)', 'my_history(text)', 'peer_publish(json)', 'peer_push_reds(json)', 'person_id(text)',
    'purge_region(text,text)',
    'record_decision(bigint,text,text,text,risk_colour,timestamp with time zone,timestamp with time zone)',
    'region_export(text)', 'register_medicine_sale(text,bigint,text,timestamp with time zone)', 'register_person(text,text,text)', 'release_region(text,jsonb)', 'request_correction(bigint,text,bigint,text)', 'retention_plan()',
    'review_finding(bigint,text,text)', 'revoke_code(healthcode,text)', 'revoke_codes_of(bigint,text)',
    'revoke_guardian(text,text,text)', 'revoke_key(bytea,text)', 'revoke_region(regrole,text)', 'rollup_day(date)',
    'rotate_key(text,timestamp with time zone)', 'scan_venue(bigint,text,timestamp with time zone)', 'scan_venue(text,text,timestamp with time zone)',
    'set_node(text,text,text)', 'shared_health(bytea[])', 'start_consistency_check()',
    'status(bigint,timestamp with time zone)', 'subject_of(text)',
    'trace_exposures(bigint,timestamp with time zone,timestamp with time zone,text,text,text)',
    'venue_code(bigint)', 'verify_arrival(healthcode,text,timestamp with time zone,boolean)',
    'verify_venue_code(text,timestamp with time zone,boolean)']::text[],
          'exactly the reviewed functions run as the extension''s owner (SECURITY DEFINER)');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
   WHERE p.pronamespace = 'healthcode'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL$$,
  'every function has a COMMENT');
SELECT is_empty($$
  SELECT c.relname FROM pg_class c
   WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'v', 'p')
     AND obj_description(c.oid, 'pg_class') IS NULL$$,
  'every table has a COMMENT');

-- as that role, in practice
SELECT create_key('340000') IS NOT NULL AS made_key \gset
SELECT issue('340100', pseudonym('priv'), 'green') AS code \gset
SET ROLE hc_tap_nobody;
SELECT throws_ok('SELECT sealed FROM healthcode.issuer_key_secret', '42501', NULL,
                 'a plain role cannot read sealed secrets');
SELECT throws_ok($$SELECT healthcode.issue('340100', '\x00000000000000000000000000000000', 'red')$$, '42501', NULL,
                 'a plain role cannot issue codes');
SELECT is((healthcode.verify(:'code')).reason, 'ok', 'a plain role verifies a code');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
