-- Manual decisions by role: who may record one (an operator, for the people
-- of its regions only; decided_by is always the calling role), that no one
-- -- the table owner included -- updates, deletes or truncates one (the
-- guard triggers: 42501), that the hash chain stays intact across
-- operators, regions and multi-row inserts, and that verify_decision_chain()
-- finds an edited entry (after the owner disables the guard), a deleted
-- middle entry, and, given a head recorded with decision_chain_head(), a
-- deleted last entry; what analysts see of decisions; and region_scope:
-- only healthcode_admin maps roles to regions, every other role sees only
-- its own mappings.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(63);

-- ---- data and roles ----------------------------------------------------------
SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT count(*) AS generated FROM generate_population(200, 1, 14) \gset
SELECT register_person('33010619900101123X', '330106', '张小三') AS p_hz \gset
SELECT register_person('330102199001011234', '330102', '赵小五') AS p_hz2 \gset
SELECT register_person('330203199001011236', '330203', '李小四') AS p_nb \gset
SELECT register_person('110105199001011232', '110105', '王小明') AS p_bj \gset
SELECT max(id) + 100000 AS nobody_id FROM person \gset

-- (the common roles, and pg_temp.rows_as and state_as, come from
-- lib/roles_common.psql) a second analyst, for the Beijing decisions
CREATE ROLE regress_hc_analyst_bj LOGIN IN ROLE healthcode_analyst;
DO $$
BEGIN
  PERFORM healthcode.grant_region('regress_hc_analyst_bj', '110000');
END $$;

-- ---- recording -----------------------------------------------------------------------
SELECT is_empty('SELECT * FROM healthcode.verify_decision_chain()', 'no decisions yet: the empty chain verifies');
SET LOCAL ROLE regress_hc_op_hz;
SELECT healthcode.record_decision(:p_hz, 'override', 'fever at the checkpoint', 'HZ order 1', 'red') AS d_hz \gset
SELECT lives_ok(format($$SELECT healthcode.record_decision(%s, 'medical_release', 'cleared by the hospital', 'HZ order 2')$$, :p_hz),
                'the 330100 operator records decisions about a person of its region');
SELECT throws_ok(format($$SELECT healthcode.record_decision(%s, 'override', 'probe', 'HZ order 3', 'red')$$, :p_nb),
                 'P0002', format('no person %s in the regions role regress_hc_op_hz acts for', :p_nb),
                 'it cannot record one about a Ningbo person (outside 3301xx): as for an unknown person');
SELECT throws_ok(format($$SELECT healthcode.record_decision(%s, 'override', 'probe', 'HZ order 3', 'red')$$, :p_bj),
                 'P0002', format('no person %s in the regions role regress_hc_op_hz acts for', :p_bj),
                 'nor about a Beijing person');
SELECT throws_ok(format($$INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, authority, reason)
                          VALUES (%s, '110105', 'override', 'red', 'HZ order 3', 'probe')$$, :p_bj),
                 '42501', NULL, 'nor by writing the table directly (42501)');
-- decided_by and decided_at are the trigger's, whatever the writer claims
INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, authority, reason, decided_by, decided_at)
VALUES (:p_hz2, '330102', 'override', 'yellow', 'HZ order 4', 'written straight into the table',
        'somebody_else', '2000-01-01');
RESET ROLE;
SET LOCAL ROLE regress_hc_op_zj;
SELECT healthcode.record_decision(:p_nb, 'override', 'contact of a case', 'ZJ order 1', 'yellow') AS d_nb \gset
-- several people at once: a multi-row insert extends the chain row by row
INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, authority, reason)
SELECT p.id, p.region, 'override', 'red', 'ZJ order 2', 'cluster in the district'
  FROM healthcode.person p WHERE p.region = '330106' AND p.id <> :p_hz ORDER BY p.id LIMIT 6;
RESET ROLE;
SET LOCAL ROLE regress_hc_op_bj;
SELECT healthcode.record_decision(:p_bj, 'appeal_upheld', 'appeal granted', 'BJ order 1') AS d_bj \gset
RESET ROLE;
SET LOCAL ROLE regress_hc_bypass;
SELECT throws_ok(format($$SELECT healthcode.record_decision(%s, 'medical_release', 'probe', 'order')$$, :p_hz), 'P0002', NULL,
                 'the BYPASSRLS role has no region scope, so the functions refuse it (BYPASSRLS only lifts row-level security)');
INSERT INTO healthcode.manual_decision (person_id, region, kind, authority, reason)
VALUES (:p_bj, '110105', 'medical_release', 'order 9', 'written by the BYPASSRLS role');
RESET ROLE;

SELECT is(ARRAY(SELECT DISTINCT decided_by FROM manual_decision ORDER BY 1),
          ARRAY['regress_hc_bypass', 'regress_hc_op_bj', 'regress_hc_op_hz', 'regress_hc_op_zj'],
          'decided_by is always the role that recorded the decision');
SELECT is((SELECT decided_by FROM manual_decision WHERE person_id = :p_hz2),
          'regress_hc_op_hz', 'a decided_by written into the table is replaced by the calling role');
SELECT ok((SELECT decided_at > now() - interval '1 hour' FROM manual_decision WHERE person_id = :p_hz2),
          'and so is decided_at');
SELECT is((SELECT decided_by FROM manual_decision WHERE id = :d_hz), 'regress_hc_op_hz',
          'record_decision (SECURITY DEFINER) records the caller, not the function''s owner');
SELECT is((SELECT count(*) FROM manual_decision), 12::bigint, 'twelve decisions were recorded');
SELECT is(ARRAY(SELECT chain_seq FROM manual_decision ORDER BY chain_seq), ARRAY(SELECT generate_series(1::bigint, 12)),
          'they hold chain positions 1 to 12');
SELECT is_empty('SELECT * FROM healthcode.verify_decision_chain()',
                'verify_decision_chain() is empty: the chain of several operators, regions and a multi-row insert is intact');

-- ---- nobody changes a decision -----------------------------------------------------------
SET LOCAL ROLE regress_hc_op_hz;
SELECT throws_ok(format($$UPDATE healthcode.manual_decision SET reason = 'edited' WHERE id = %s$$, :d_hz), '42501', NULL,
                 'an operator cannot update a decision');
SELECT throws_ok(format($$DELETE FROM healthcode.manual_decision WHERE id = %s$$, :d_hz), '42501', NULL,
                 'an operator cannot delete a decision');
SELECT throws_ok('TRUNCATE healthcode.manual_decision', '42501', NULL, 'an operator cannot truncate the decisions');
RESET ROLE;
SET LOCAL ROLE regress_hc_admin;
-- (healthcode_admin may only insert: the privilege stops it before the guard)
SELECT throws_ok(format($$UPDATE healthcode.manual_decision SET reason = 'edited' WHERE id = %s$$, :d_hz), '42501', NULL,
                 'healthcode_admin cannot update a decision');
SELECT throws_ok(format($$DELETE FROM healthcode.manual_decision WHERE id = %s$$, :d_hz), '42501', NULL,
                 'healthcode_admin cannot delete a decision');
SELECT throws_ok('TRUNCATE healthcode.manual_decision', '42501', NULL,
                 'healthcode_admin cannot truncate the decisions');
RESET ROLE;
SELECT throws_ok(format($$UPDATE healthcode.manual_decision SET reason = 'edited' WHERE id = %s$$, :d_hz), '55000',
                 'manual decisions are append-only', 'the table owner cannot update a decision (the guard)');
SELECT throws_ok(format($$UPDATE healthcode.manual_decision SET decided_by = 'someone' WHERE id = %s$$, :d_hz), '55000',
                 'manual decisions are append-only', 'nor rewrite who decided');
SELECT throws_ok(format($$DELETE FROM healthcode.manual_decision WHERE id = %s$$, :d_hz), '55000',
                 'manual decisions are append-only', 'the table owner cannot delete a decision (the guard)');
SELECT throws_ok('TRUNCATE healthcode.manual_decision', '55000', 'manual decisions are append-only',
                 'the table owner cannot truncate the decisions (the guard)');
SELECT throws_ok(format('DELETE FROM healthcode.person WHERE id = %s', :p_hz), '23503', NULL,
                 'a person with manual decisions cannot be deleted');
-- a person who moves region takes their decisions along; the chain holds
SET LOCAL ROLE regress_hc_op_zj;
SELECT lives_ok(format($$UPDATE healthcode.person SET region = '330203' WHERE id = %s$$, :p_hz),
                'the 330000 operator moves a person with decisions within Zhejiang');
RESET ROLE;
SELECT is(ARRAY(SELECT DISTINCT region FROM manual_decision WHERE person_id = :p_hz), ARRAY['330203'],
          'their decisions follow them to the new region');
SELECT is_empty('SELECT * FROM healthcode.verify_decision_chain()', 'and the chain still verifies (the region is not hashed)');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.manual_decision WHERE person_id = %s', :p_hz)), '{}',
          'the 330100 operator no longer sees the decisions of the person who left its region');

-- ---- tampering, found by verify_decision_chain() ----------------------------------------
-- Runs statements as the table owner, returns verify_decision_chain()'s
-- findings (seq|problem) and undoes everything.
CREATE FUNCTION pg_temp.chain_after(q text, head_seq bigint DEFAULT NULL, head_hash bytea DEFAULT NULL)
RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  result text[];
BEGIN
  BEGIN
    EXECUTE q;
    SELECT coalesce(array_agg(c.chain_seq || '|' || c.problem ORDER BY c.chain_seq, c.problem), '{}') INTO result
      FROM healthcode.verify_decision_chain(head_seq, head_hash) c;
    RAISE EXCEPTION 'undo' USING ERRCODE = 'HCOK0';
  EXCEPTION WHEN SQLSTATE 'HCOK0' THEN
    RETURN result;
  END;
END $$;
SELECT entries AS head_entries, head_seq, head_hash FROM decision_chain_head() \gset
SELECT is(:head_entries::bigint, 12::bigint, 'decision_chain_head(): 12 entries');
SELECT is(:head_seq::bigint, 12::bigint, 'decision_chain_head(): the head is entry 12');
SELECT is(pg_temp.chain_after('SELECT 1', :head_seq, :'head_hash'), '{}',
          'with the recorded head, the intact chain verifies');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                UPDATE healthcode.manual_decision SET reason = 'nothing happened' WHERE chain_seq = 5$$),
          ARRAY['5|entry changed: its hash does not match its content'],
          '(a) the owner disables the guard and changes a reason: that entry is found changed');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                UPDATE healthcode.manual_decision SET decided_by = 'regress_hc_op_bj' WHERE chain_seq = 3$$),
          ARRAY['3|entry changed: its hash does not match its content'],
          '(a) ... or who decided: found');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                UPDATE healthcode.manual_decision SET reason = 'nothing happened' WHERE chain_seq = 5;
                                UPDATE healthcode.manual_decision m
                                   SET content_digest = sha256(healthcode.decision_erasable(m)),
                                       entry_hash = sha256(m.prev_hash || healthcode.decision_kept(m)
                                                           || sha256(healthcode.decision_erasable(m)))
                                 WHERE chain_seq = 5$$),
          ARRAY['6|link broken: prev_hash is not the hash of the entry before'],
          '(a) ... and rehashing the changed entry breaks the link of the next one');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                DELETE FROM healthcode.manual_decision WHERE chain_seq = 7$$),
          ARRAY['8|entry missing before this one', '8|link broken: prev_hash is not the hash of the entry before'],
          '(b) a deleted middle entry is found where the chain resumes');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                DELETE FROM healthcode.manual_decision WHERE chain_seq = 12$$),
          '{}', '(c) a deleted last entry leaves a chain that is consistent in itself ...');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                DELETE FROM healthcode.manual_decision WHERE chain_seq = 12$$, :head_seq, :'head_hash'),
          ARRAY['12|entries missing at the end: the recorded head is gone'],
          '(c) ... but the head recorded earlier is missing');
SELECT is(pg_temp.chain_after($$ALTER TABLE healthcode.manual_decision DISABLE TRIGGER decision_guard;
                                DELETE FROM healthcode.manual_decision WHERE chain_seq >= 11$$, :head_seq, :'head_hash'),
          ARRAY['12|entries missing at the end: the recorded head is gone'],
          '(c) ... as when several entries are cut from the end');
SELECT is(pg_temp.chain_after('SELECT 1'), '{}', 'every tampering above was undone; the chain verifies');
SET LOCAL ROLE regress_hc_admin;
SELECT lives_ok($$SELECT * FROM healthcode.verify_decision_chain(); SELECT * FROM healthcode.decision_chain_head()$$,
                'healthcode_admin, the national supervisor, can verify the chain and read its head');
RESET ROLE;

-- ---- what analysts see of decisions ---------------------------------------------------------
SELECT is(pg_temp.rows_as('regress_hc_analyst_zj',
            $$SELECT region, decided_by, kind, colour, people, decisions FROM healthcode.decisions_by_operator$$),
          ARRAY['330106|regress_hc_op_zj|override|red|5|5'],
          'the Zhejiang analyst sees the decisions of its regions by operator: six people counted (shown as five), single decisions left out');
SELECT is(pg_temp.rows_as('regress_hc_analyst_bj',
            $$SELECT region, decided_by, kind, people FROM healthcode.decisions_by_operator$$),
          '{}', 'the Beijing analyst sees no cell: neither Zhejiang''s six nor its own single decisions');
SET LOCAL ROLE regress_hc_analyst_zj;
SELECT throws_ok('SELECT * FROM healthcode.manual_decision', '42501', NULL, 'the analyst cannot read the decisions themselves');
RESET ROLE;

-- ---- region_scope: only healthcode_admin maps roles ----------------------------------------
SELECT is(pg_temp.rows_as(r, 'SELECT role_name, region FROM healthcode.region_scope'), want,
          format('%s sees only its own region mappings', r))
  FROM (VALUES ('regress_hc_op_hz'::name, ARRAY['regress_hc_op_hz|330100']),
               ('regress_hc_op_zj', ARRAY['regress_hc_op_zj|330000']),
               ('regress_hc_app_zj', ARRAY['regress_hc_app_zj|330000']),
               ('regress_hc_analyst_zj', ARRAY['regress_hc_analyst_zj|330000']),
               ('regress_hc_verifier', '{}'::text[])) v(r, want);
SELECT is(pg_temp.rows_as('regress_hc_admin', 'SELECT count(*) FROM healthcode.region_scope'),
          ARRAY[(SELECT count(*) FROM region_scope)::text], 'healthcode_admin sees every mapping');
CREATE TEMP TABLE non_admin (r name);
INSERT INTO non_admin VALUES ('regress_hc_op_hz'), ('regress_hc_app_zj'), ('regress_hc_analyst_zj'), ('regress_hc_verifier');
GRANT SELECT ON non_admin TO PUBLIC;
SELECT is(ARRAY(SELECT format('%s: %s %s', r, what, s)
                  FROM non_admin,
                       LATERAL (VALUES ('INSERT', format($$INSERT INTO healthcode.region_scope (role_name, region) VALUES (%L, '000000')$$, r)),
                                       ('UPDATE', $$UPDATE healthcode.region_scope SET region = '000000'$$),
                                       ('DELETE', 'DELETE FROM healthcode.region_scope'),
                                       ('grant_region', format($$SELECT healthcode.grant_region(%L, '000000')$$, r)),
                                       ('revoke_region', format($$SELECT healthcode.revoke_region(%L, '330000')$$, r))) q(what, sql),
                       LATERAL (SELECT pg_temp.state_as(r, q.sql) AS s) x
                 WHERE s <> '42501' ORDER BY 1), '{}',
          'no operator, app, analyst or verifier can insert, update or delete a region mapping or call grant_region/revoke_region (42501)');
SELECT is((SELECT count(*) FROM region_scope WHERE region = '000000'), 0::bigint, 'nobody became national');
-- the admin maps, and the scope follows at once
SET LOCAL ROLE regress_hc_admin;
SELECT lives_ok($$SELECT healthcode.grant_region('regress_hc_op_hz', '110000')$$,
                'healthcode_admin maps the 330100 operator to Beijing as well');
RESET ROLE;
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT healthcode.my_region_scope()'), ARRAY['{[110000,119999999999],[330100,330199999999]}'],
          'its scope is now Beijing and Hangzhou');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.person WHERE id = %s', :p_bj)), ARRAY[:p_bj::text],
          'it sees the Beijing person');
SELECT is((SELECT granted_by FROM region_scope WHERE role_name = 'regress_hc_op_hz'::regrole AND region = '110000'),
          'regress_hc_admin', 'the mapping records who granted it');
SET LOCAL ROLE regress_hc_admin;
SELECT lives_ok($$SELECT healthcode.revoke_region('regress_hc_op_hz', '110000')$$, 'healthcode_admin revokes it');
RESET ROLE;
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.person WHERE id = %s', :p_bj)), '{}',
          'and the Beijing person is out of sight again');

-- a mapping to a group role applies to its members
CREATE ROLE regress_hc_grp_nb NOLOGIN;
GRANT regress_hc_grp_nb TO regress_hc_op_hz;
SET LOCAL ROLE regress_hc_admin;
SELECT lives_ok($$SELECT healthcode.grant_region('regress_hc_grp_nb', '330200')$$, 'healthcode_admin maps a group role to Ningbo');
RESET ROLE;
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT healthcode.my_region_scope()'), ARRAY['{[330100,330199999999],[330200,330299999999]}'],
          'a member of the group acts for Ningbo as well');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format('SELECT id FROM healthcode.person WHERE id = %s', :p_nb)), ARRAY[:p_nb::text],
          'and sees the Ningbo person');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', 'SELECT role_name, region FROM healthcode.region_scope'),
          ARRAY['regress_hc_grp_nb|330200', 'regress_hc_op_hz|330100'], 'it sees its own and its group''s mappings, no others');

-- two overrides from the same instant: the later recorded wins, whatever
-- the (opaque) ids of the two rows say, ten times over
SELECT register_person('330106199001019995', '330106', '孙小九') AS p_tie \gset
SELECT set_config('hc.p_tie', :'p_tie', false) IS NOT NULL AS x \gset
CREATE TEMP TABLE tie (n integer, later text, won text);
DO $$
DECLARE
  p bigint := current_setting('hc.p_tie')::bigint;
  c text[];
BEGIN
  FOR i IN 1 .. 10 LOOP
    c := CASE WHEN i % 2 = 0 THEN ARRAY['red', 'green'] ELSE ARRAY['green', 'red'] END;
    PERFORM healthcode.record_decision(p, 'override', 'tie ' || i, 'order T', c[1]::healthcode.risk_colour,
                                       valid_from => now() + i * interval '1 hour');
    PERFORM healthcode.record_decision(p, 'override', 'tie ' || i, 'order T', c[2]::healthcode.risk_colour,
                                       valid_from => now() + i * interval '1 hour');
    INSERT INTO tie VALUES (i, c[2], (SELECT colour::text FROM healthcode.status(p, now() + i * interval '1 hour' + interval '1 minute')));
  END LOOP;
END $$;
SELECT is((SELECT count(*) FROM tie WHERE later = won), 10::bigint,
          'of two overrides from the same instant the later recorded wins, every time');
SELECT is((SELECT r ->> 'rule' || ' ' || coalesce(r ->> 'place', 'no place')
             FROM healthcode.status(:p_tie, now() + interval '1 hour 1 minute') s, jsonb_array_elements(s.reasons) r),
          'override no place', 'an override''s reason names no place (its order of recording is no division)');

SELECT * FROM finish();
ROLLBACK;
