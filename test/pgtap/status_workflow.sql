-- The national interfaces on top of the status engine (GB/T 38963):
-- declare, declare_trip, check_in, health_info, issue_for (with verify),
-- the background audit and its review, error correction.
BEGIN;
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(83);

SELECT create_key('330000') IS NOT NULL AS made_key \gset
SELECT create_key('110000') IS NOT NULL AS made_key \gset
SELECT create_travel_partitions(((now() - interval '20 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                ((now() + interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date) >= 0 AS made \gset
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES
  ('330106', 'high',   now() - interval '30 days', 'status_workflow: high'),
  ('330108', 'medium', now() - interval '30 days', 'status_workflow: medium');

-- (pg_temp.colour and pg_temp.rules come from lib/common.psql)
CREATE FUNCTION pg_temp.last_cause(pid bigint) RETURNS text
LANGUAGE sql AS $$
  SELECT h.cause FROM healthcode.status_history h WHERE h.person_id = pid ORDER BY h.at DESC, h.recorded_at DESC LIMIT 1 $$;
-- the verify() verdict of a code at the statement's time, as text
CREATE FUNCTION pg_temp.verdict(code healthcode.healthcode) RETURNS text
LANGUAGE sql AS $$
  SELECT concat_ws(' ', v.reason, v.colour, v.vaccinated::text, v.region)
    FROM healthcode.verify(code, statement_timestamp()) v $$;

-- ---- declare ------------------------------------------------------------------------
SELECT is((SELECT colour::text || ' ' || region || ' ' || reasons::text
             FROM declare('33010619900101123X', '330106', '张小三')),
          'green 330106 []', 'declare registers a new person and returns their status: green');
SELECT person_id('33010619900101123X') AS p_decl \gset
SELECT is((SELECT display_name FROM person WHERE id = :p_decl), '张*三', 'declare keeps only the masked name');
SELECT is((SELECT count(*) FROM person WHERE subject = pseudonym('33010619900101123X')), 1::bigint,
          'declare registers the person under their pseudonym');
SELECT is((SELECT colour::text || ' ' || array_to_string(ARRAY(SELECT r ->> 'rule' FROM jsonb_array_elements(reasons) r), ',')
             FROM declare('33010619900101123X', '330106', symptoms => '{cough}')),
          'yellow symptoms', 'a second declaration with symptoms returns the new status: yellow');
SELECT is((SELECT count(*) FROM person WHERE subject = pseudonym('33010619900101123X')), 1::bigint,
          'declaring again registers nobody new');
SELECT is((SELECT count(*) FROM declaration WHERE person_id = :p_decl), 2::bigint, 'both declarations are recorded');
SELECT throws_ok($$SELECT * FROM healthcode.declare('33010619900101123X', '110101')$$, '23505', NULL,
                 'declaring in another region is refused');
SELECT is((SELECT count(*) FROM declaration WHERE person_id = :p_decl), 2::bigint, 'and records nothing');
SELECT is((SELECT colour::text FROM declare('110101199202024325', '110101', temperature => 38.1)),
          'yellow', 'a declared fever (38.1) makes the returned status yellow');
SELECT is((SELECT colour::text FROM declare('110101199303035672', '110101', contact_with_case => true)),
          'yellow', 'a declared contact with a case makes the returned status yellow');

-- ---- health_info -------------------------------------------------------------------
SELECT is((SELECT to_jsonb(h) FROM health_info('33010619900101123X') h),
          (SELECT to_jsonb(s) FROM status(:p_decl) s), 'health_info returns the person''s status');
SELECT throws_ok($$SELECT * FROM healthcode.health_info('330106199909090003')$$, 'P0002', NULL,
                 'health_info of an unregistered identifier is refused');

-- ---- declare_trip ---------------------------------------------------------------------
SELECT colour::text AS c FROM declare('330108199404041110', '330108') \gset
SELECT person_id('330108199404041110') AS p_trip \gset
SELECT is((SELECT colour::text || ' ' || (reasons -> 0 ->> 'rule') || ' ' || (reasons -> 0 ->> 'place')
             FROM declare_trip('330108199404041110', '330106', now() - interval '2 days')),
          'red stay_high_risk 330106', 'declare_trip to a high-risk area counts like any stay: red');
SELECT is((SELECT source FROM travel WHERE person_id = :p_trip), 'declared', 'the trip is recorded with source declared');
SELECT is((SELECT count(*) FROM declare_trip('330108199404041110', '330106', now() - interval '2 days')), 1::bigint,
          'declaring the same trip again still returns the status');
SELECT is((SELECT count(*) FROM travel WHERE person_id = :p_trip), 1::bigint, 'and records it once');
SELECT throws_ok($$SELECT * FROM healthcode.declare_trip('330108199404041110', '330106', now() + interval '1 day')$$,
                 '22023', NULL, 'a trip in the future is refused');
SELECT throws_ok($$SELECT * FROM healthcode.declare_trip('330106198808080004', '330106', now())$$,
                 'P0002', NULL, 'a trip of an unregistered person is refused');

-- ---- check_in -------------------------------------------------------------------------
SELECT colour::text AS c FROM declare('330102199505052224', '330102') \gset
SELECT person_id('330102199505052224') AS p_chk \gset
SELECT is((SELECT colour::text FROM check_in('330102199505052224', 36.6)), 'green',
          'check_in with a normal temperature returns green');
SELECT is((SELECT colour::text || ' ' || (reasons -> 0 ->> 'rule') FROM check_in('330102199505052224', 38.3)),
          'yellow abnormal_checkin', 'a second check-in the same day with fever makes the day abnormal: yellow');
SELECT is((SELECT count(*) || ' ' || max(temperature) FROM checkin WHERE person_id = :p_chk), '1 38.3',
          'one check-in a day, with the worst temperature');
SELECT is((SELECT colour::text FROM check_in('330102199505052224', 36.4)), 'yellow',
          'a later normal check-in the same day cannot make it better');
SELECT is((SELECT max(temperature) FROM checkin WHERE person_id = :p_chk), 38.3, 'the day keeps 38.3');
SELECT is((SELECT symptoms FROM checkin WHERE person_id = :p_chk), '{}'::text[], 'no symptoms so far');
SELECT is((SELECT colour::text FROM check_in('330102199505052224', symptoms => '{cough}')), 'yellow',
          'check_in reporting symptoms');
SELECT is((SELECT symptoms FROM checkin WHERE person_id = :p_chk), '{cough}'::text[], 'adds them to the day');
SELECT is_empty('SELECT * FROM check_consistency()', 'declare, declare_trip, check_in: check_consistency() finds nothing');

-- ---- issue_for ------------------------------------------------------------------------
-- green with nothing that could end it
SELECT colour::text AS c FROM declare('330106198808088882', '330106') \gset
SELECT person_id('330106198808088882') AS p_green \gset
SELECT is((SELECT valid_until FROM status(:p_green)), 'infinity'::timestamptz, 'a plain green holds without end');
CREATE TEMP TABLE green_code (code healthcode.healthcode);
SELECT lives_ok(format('INSERT INTO green_code SELECT healthcode.issue_for(%s)', :p_green),
                'issue_for gives a code for a green person whose status never ends');
SELECT is((SELECT pg_temp.verdict(code) FROM green_code), 'ok green false 330106',
          'the green code verifies ok: colour green, no vaccinated mark, the person''s region');
SELECT is((SELECT subject(code) FROM green_code), (SELECT subject FROM person WHERE id = :p_green),
          'the code carries the person''s pseudonym');
SELECT is((SELECT expires_at(code) - issued_at(code) FROM green_code), interval '5 minutes',
          'it expires after the default 5 minutes');

-- red and vaccinated, for 11 more days
SELECT colour::text AS c FROM declare('330106197707077776', '330106') \gset
SELECT person_id('330106197707077776') AS p_red \gset
SELECT count(*) AS n FROM declare_trip('330106197707077776', '330106', now() - interval '3 days') \gset
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES
  (:p_red, '330106', 1, now() - interval '90 days'), (:p_red, '330106', 2, now() - interval '60 days');
SELECT issue_for(:p_red, interval '4 minutes') AS red_code \gset
SELECT is(pg_temp.verdict(:'red_code'), 'ok red true 330106',
          'issue_for: the code verifies ok with the current colour (red) and the vaccinated mark');
SELECT is(expires_at(:'red_code') - issued_at(:'red_code'), interval '4 minutes', 'issue_for: valid_for is honoured');

-- a yellow that ends in 3 minutes: the code must not outlive it
SELECT colour::text AS c FROM declare('110101196606066667', '110101') \gset
SELECT person_id('110101196606066667') AS p_short \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_short, '110101', 'secondary', now() - interval '14 days' + interval '3 minutes', 'case S');
SELECT is((SELECT colour::text || ' ' || valid_until FROM status(:p_short)),
          'yellow ' || (now() + interval '3 minutes'), 'a yellow ending in 3 minutes');
SELECT issue_for(:p_short, interval '5 minutes') AS short_code \gset
SELECT is(pg_temp.verdict(:'short_code'), 'ok yellow false 110101', 'issue_for: the yellow code verifies ok');
SELECT cmp_ok(expires_at(:'short_code'), '<=', (SELECT valid_until FROM status(:p_short)),
              'issue_for: expires_at is never after the status''s valid_until (valid_for 5 minutes)');
SELECT cmp_ok(expires_at(:'short_code'), '>', statement_timestamp(), 'issue_for: but the code is valid now');
SELECT is((verify(:'short_code', now() + interval '4 minutes')).reason, 'expired',
          'issue_for: the yellow code has expired by the time the yellow would have turned green');
SELECT throws_ok('SELECT healthcode.issue_for(-1)', 'P0002', NULL, 'issue_for of no person is refused');

-- ---- audit -------------------------------------------------------------------------------
-- A: a medium-risk stay 13 days ago, declared nowhere
SELECT register_person('330106191111110013', '330106') AS p_aud \gset
INSERT INTO travel (person_id, region, place, at, source)
  VALUES (:p_aud, '330106', '330108', now() - interval '13 days', 'telecom');
SELECT colour::text AS c FROM declare('330106191111110013', '330106', visited => '{110101}') \gset
-- B: the tracing list names them, they deny contact
SELECT register_person('330106191111110021', '330106') AS p_audc \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_audc, '330106', 'secondary', now() - interval '2 days', 'case AU');
SELECT colour::text AS c FROM declare('330106191111110021', '330106', contact_with_case => false) \gset
-- C: a feverish check-in 12 hours ago, a declaration denying fever
SELECT register_person('33010619111111003X', '330106') AS p_audf \gset
INSERT INTO checkin (person_id, region, at, temperature) VALUES (:p_audf, '330106', now() - interval '12 hours', 38.5);
SELECT colour::text AS c FROM declare('33010619111111003X', '330106', temperature => 36.5) \gset
-- D: declares the stay (through its city): nothing to find
SELECT register_person('330106191111110048', '330106') AS p_audok \gset
INSERT INTO travel (person_id, region, place, at, source)
  VALUES (:p_audok, '330106', '330108', now() - interval '5 days', 'telecom');
SELECT colour::text AS c FROM declare('330106191111110048', '330106', visited => '{330100}') \gset
-- E: the stay left out is a trip they declared themselves: nothing to find either
SELECT register_person('330106191111110005', '330106') AS p_audtrip \gset
SELECT count(*) AS n FROM declare_trip('330106191111110005', '330108', now() - interval '5 days') \gset
SELECT colour::text AS c FROM declare('330106191111110005', '330106') \gset

SELECT is(register_person('330106191111110005', '330106'), :p_audtrip::bigint,
          'register_person of a registered person returns their id');
SELECT is(pg_temp.colour(:p_aud, now() + interval '2 days'), 'green',
          'audit: before the audit, A''s medium-risk stay leaves the window in a day');
CREATE TEMP TABLE found1 AS SELECT * FROM audit();
SELECT is((SELECT string_agg(kind, ',' ORDER BY kind) FROM found1
            WHERE person_id IN (:p_aud, :p_audc, :p_audf, :p_audok, :p_audtrip)),
          'undeclared_contact,undeclared_fever,undeclared_risk_stay',
          'audit() finds the undeclared risk stay, the undeclared contact and the undeclared fever, nothing else');
SELECT is((SELECT person_id FROM found1 WHERE kind = 'undeclared_risk_stay'
            AND person_id IN (:p_aud, :p_audc, :p_audf, :p_audok, :p_audtrip)), :p_aud::bigint,
          'audit: the undeclared stay is A''s');
SELECT is((SELECT detail -> 'stays' -> 0 ->> 'place' FROM found1 WHERE person_id = :p_aud), '330108',
          'audit: the finding''s detail names the stay');
SELECT is((SELECT declaration_id FROM found1 WHERE person_id = :p_aud),
          (SELECT max(id) FROM declaration WHERE person_id = :p_aud),
          'audit: the finding names the declaration that left the stay out');
SELECT is((SELECT count(*) FROM declaration WHERE audited_at IS NULL
            AND person_id IN (:p_aud, :p_audc, :p_audf, :p_audok, :p_audtrip)), 0::bigint,
          'audit: every pending declaration is marked audited');
SELECT is(pg_temp.colour(:p_aud, now() + interval '2 days') || ' ' || pg_temp.rules(:p_aud, now() + interval '2 days'),
          'yellow audit_finding', 'audit: the finding keeps A yellow after the stay has left the window');
SELECT is(pg_temp.colour(:p_aud, now() + interval '15 days'), 'green',
          'audit: for the lookback window from the finding');
SELECT count(*) AS n_findings FROM audit_finding \gset
SELECT is_empty(format('SELECT * FROM healthcode.audit(%s)', :p_aud), 'audit(person) again finds nothing new');
SELECT is_empty($$SELECT * FROM healthcode.audit(region => '330100')$$, 'audit(region) again finds nothing new');
SELECT is((SELECT count(*) FROM audit_finding), :n_findings::bigint, 'audit is idempotent: no new findings');

SELECT id AS f_stay FROM audit_finding WHERE person_id = :p_aud \gset
SELECT id AS f_contact FROM audit_finding WHERE person_id = :p_audc \gset
SELECT is((SELECT status FROM review_finding(:f_stay, 'confirm', 'telecom data checked')), 'confirmed',
          'review_finding confirm');
SELECT is(pg_temp.colour(:p_aud, now() + interval '2 days'), 'yellow', 'a confirmed finding keeps counting');
SELECT throws_ok(format($$SELECT healthcode.review_finding(%s, 'dismiss', 'again')$$, :f_stay), '55000', NULL,
                 'a reviewed finding cannot be reviewed again');
SELECT is((SELECT status FROM review_finding(:f_contact, 'dismiss', 'tracing list had the wrong person')), 'dismissed',
          'review_finding dismiss');
DELETE FROM contact WHERE person_id = :p_audc;
SELECT is(pg_temp.colour(:p_audc), 'green', 'a dismissed finding counts for nothing');
SELECT id AS f_fever FROM audit_finding WHERE person_id = :p_audf \gset
DELETE FROM checkin WHERE person_id = :p_audf;
SELECT is(pg_temp.colour(:p_audf) || ' ' || pg_temp.rules(:p_audf), 'yellow audit_finding',
          'an open finding is yellow on its own');
SELECT is((SELECT reviewed_by FROM review_finding(:f_fever, 'dismiss', 'thermometer fault')), current_user::text,
          'review_finding records who reviewed');
SELECT is(pg_temp.colour(:p_audf), 'green', 'dismissing it makes green');
SELECT is(pg_temp.last_cause(:p_audf), 'audit_finding update', 'with history cause "audit_finding update"');
SELECT throws_ok(format($$SELECT healthcode.review_finding(%s, 'confirm', ' ')$$, :f_stay), '22023', NULL,
                 'a review needs a reason');
SELECT is_empty('SELECT * FROM check_consistency()', 'audit: check_consistency() finds nothing');

-- a declaration removed by a correction takes its findings with it
SELECT (SELECT id FROM declaration WHERE person_id = :p_aud ORDER BY id DESC LIMIT 1) AS d_aud \gset
SELECT request_correction(:p_aud, 'declaration', :d_aud, 'I declared the wrong form') AS c_decl \gset
SELECT is((SELECT colour::text FROM decide_correction(:c_decl, true, 'declaration withdrawn')), 'yellow',
          'correcting a declaration: A is still yellow today (the stay)');
SELECT is((SELECT count(*) FROM audit_finding WHERE declaration_id = :d_aud), 0::bigint,
          'correcting a declaration removes its findings');
SELECT is(pg_temp.colour(:p_aud, now() + interval '2 days'), 'green',
          'and the status follows: green once the stay leaves the window');

-- ---- error correction ------------------------------------------------------------------------
SELECT colour::text AS c FROM declare('330106192202220001', '330106') \gset
SELECT person_id('330106192202220001') AS p_cor \gset
INSERT INTO travel (person_id, region, place, at, source)
  VALUES (:p_cor, '330106', '330106', now() - interval '4 days', 'telecom');
SELECT id AS t_cor FROM travel WHERE person_id = :p_cor \gset
SELECT is(pg_temp.colour(:p_cor), 'red', 'correction: red from a telecom stay');
SELECT request_correction(:p_cor, 'travel', :t_cor, 'I was at home; the cell tower covers the river') AS c_acc \gset
SELECT is((SELECT status FROM correction WHERE id = :c_acc), 'pending', 'request_correction records a pending request');
SELECT is(pg_temp.colour(:p_cor), 'red', 'a pending request changes nothing');
SELECT is((SELECT colour::text FROM decide_correction(:c_acc, true, 'cell tower error confirmed')), 'green',
          'decide_correction accept returns the new status: green');
SELECT is((SELECT count(*) FROM travel WHERE id = :t_cor), 0::bigint, 'accepting removes the evidence');
SELECT is((SELECT (evidence_snapshot ->> 'id')::bigint || ' ' || (evidence_snapshot ->> 'place')
             FROM correction WHERE id = :c_acc), :t_cor || ' 330106', 'and keeps a snapshot of it on the request');
SELECT is((SELECT status || ' ' || decided_by || ' ' || decision_reason FROM correction WHERE id = :c_acc),
          'accepted ' || current_user || ' cell tower error confirmed', 'the request is accepted, by whom and why');
SELECT is(pg_temp.last_cause(:p_cor), 'correction ' || :c_acc || ' accepted: cell tower error confirmed',
          'the history names the correction as the cause');
SELECT is((SELECT from_colour::text || ' ' || to_colour FROM status_history WHERE person_id = :p_cor ORDER BY at DESC, recorded_at DESC LIMIT 1),
          'red green', 'the history row: red -> green');
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_cor, '330106', 'secondary', now() - interval '1 day', 'case C');
SELECT is(pg_temp.last_cause(:p_cor), 'contact insert', 'later changes have their own cause again');
SELECT throws_ok(format($$SELECT * FROM healthcode.decide_correction(%s, false, 'changed my mind')$$, :c_acc),
                 '55000', NULL, 'a decided request cannot be decided again');

SELECT colour::text AS c FROM declare('33010619220222001X', '330106') \gset
SELECT person_id('33010619220222001X') AS p_rej \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  VALUES (:p_rej, '330106', 'pcr', now() - interval '2 days', 'positive', 'status_workflow lab', 'W-1');
SELECT id AS r_rej FROM test_result WHERE person_id = :p_rej \gset
SELECT request_correction(:p_rej, 'test_result', :r_rej, 'the lab mixed up samples') AS c_rej \gset
SELECT count(*) AS h_rej FROM status_history WHERE person_id = :p_rej \gset
SELECT is((SELECT colour::text FROM decide_correction(:c_rej, false, 'lab re-tested the sample: positive')), 'red',
          'decide_correction reject: the status stays red');
SELECT is((SELECT count(*) FROM test_result WHERE id = :r_rej), 1::bigint, 'rejecting keeps the evidence');
SELECT is((SELECT status || ' ' || (evidence_snapshot IS NULL) FROM correction WHERE id = :c_rej), 'rejected true',
          'the request is rejected, without a snapshot');
SELECT is((SELECT count(*) FROM status_history WHERE person_id = :p_rej), :h_rej::bigint, 'rejecting writes no history');
SELECT throws_ok(format($$SELECT healthcode.request_correction(%s, 'test_result', %s, 'not mine')$$, :p_cor, :r_rej),
                 'P0002', NULL, 'nobody can dispute another person''s evidence');
SELECT is_empty('SELECT * FROM check_consistency()', 'corrections: check_consistency() finds nothing');

SELECT * FROM finish();
ROLLBACK;
