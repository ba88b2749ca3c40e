-- Bad input to every function an application or an operator may call (the
-- import_* functions have a file of their own): each bad argument gets an
-- error with the SQLSTATE of its class (22004 NULL, 22023 invalid value,
-- 22003 number or interval out of range, 22008 time not finite) whose
-- message names the argument and echoes a value only shortened (an
-- identifier never); and nothing is written, not even a sequence number.
-- Each call runs as the role that would make it, within its regions.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql

-- ---- what the calls refer to (made as the owner) ---------------------------------
SELECT create_key('330000') IS NOT NULL AS made_key \gset
SELECT person_id AS p FROM declare('33010619900101123X', '330106', '张三') \gset
SELECT max(id) AS decl FROM declaration WHERE person_id = :p \gset
SELECT request_correction(:p, 'declaration', :decl, 'I declared no such thing') AS cid \gset
SELECT issue_for(:p) AS code \gset

-- ---- the cases: who calls what, the SQLSTATE, and what the message must say ---------
-- (fn, arg): the function and the argument the case is about; want: the
-- SQLSTATE (a regular expression); says: a regular expression the message
-- must match, naming the argument.
CREATE TEMP TABLE bad_call (n serial, fn text, arg text, role name, call text, want text, says text);
\set app regress_hc_app_zj
\set op regress_hc_op_zj
\set m 'repeat(''x'', 1000000)'
\set mcode 'repeat(''1'', 1000000)'
INSERT INTO bad_call (fn, arg, role, call, want, says) VALUES
  -- register_person(identifier, region, display_name)
  ('register_person', 'identifier', :'app', $$SELECT healthcode.register_person(NULL, '330106')$$,
   '22004', '^identifier must not be NULL$'),
  ('register_person', 'identifier', :'app', $$SELECT healthcode.register_person(' 　 ', '330106')$$,
   '22023', '^identifier must not be empty$'),
  ('register_person', 'identifier', :'app', format($$SELECT healthcode.register_person(%s, '330106')$$, :'m'),
   '22023', '^identifier is too long \(1000000 characters; at most 64\)$'),
  ('register_person', 'region', :'app', $$SELECT healthcode.register_person('330106199001010018', NULL)$$,
   '22004', '^region must not be NULL$'),
  ('register_person', 'region', :'app', $$SELECT healthcode.register_person('330106199001010018', '99')$$,
   '22023', $$^invalid division code for region: '99'$$),
  ('register_person', 'region', :'app', $$SELECT healthcode.register_person('330106199001010018', 'abcdef')$$,
   '22023', $$^invalid division code for region: 'abcdef'$$),
  ('register_person', 'region', :'app', $$SELECT healthcode.register_person('330106199001010018', '000000')$$,
   '22023', $$^invalid division code for region: '000000'$$),
  ('register_person', 'region', :'app', format($$SELECT healthcode.register_person('330106199001010018', %s)$$, :'mcode'),
   '22023', $$^invalid division code for region: '1{40}\.\.\.'$$),
  ('register_person', 'display_name', :'app',
   format($$SELECT healthcode.register_person('330106199001010018', '330106', %s)$$, :'m'),
   '22023', '^display_name is too long \(1000000 characters; at most 100\)$'),
  -- declare(identifier, region, display_name, symptoms, temperature, visited, contact_with_case)
  ('declare', 'identifier', :'app', $$SELECT * FROM healthcode.declare(NULL, '330106')$$,
   '22004', '^identifier must not be NULL$'),
  ('declare', 'region', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '3301')$$,
   '22023', $$^invalid division code for region: '3301'$$),
  ('declare', 'display_name', :'app', format($$SELECT * FROM healthcode.declare('330106199001010026', '330106', %s)$$, :'m'),
   '22023', '^display_name is too long'),
  ('declare', 'symptoms', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => NULL)$$,
   '22004', '^symptoms must not be NULL'),
  ('declare', 'symptoms', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => '{cough,NULL}')$$,
   '22004', '^symptoms must not contain NULL$'),
  ('declare', 'symptoms', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => '{sneezing}')$$,
   '22023', $$^unknown symptom in symptoms: 'sneezing'$$),
  ('declare', 'symptoms', :'app',
   format($$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => ARRAY[%s])$$, :'m'),
   '22023', $$^unknown symptom in symptoms: 'x{40}\.\.\.'$$),
  ('declare', 'symptoms', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => '{{fever},{cough}}')$$,
   '22023', '^symptoms must be a one-dimensional array$'),
  ('declare', 'symptoms', :'app',
   $$SELECT * FROM healthcode.declare('330106199001010026', '330106', symptoms => array_fill('fever'::text, ARRAY[1000000]))$$,
   '22023', '^symptoms has 1000000 elements; at most 100$'),
  ('declare', 'temperature', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', temperature => 99)$$,
   '22003', '^temperature must lie between 34.0 and 43.0 degrees Celsius, not 99$'),
  ('declare', 'temperature', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', temperature => 'NaN')$$,
   '22003', '^temperature must lie between .*, not NaN$'),
  ('declare', 'temperature', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', temperature => 1e300)$$,
   '22003', '^temperature must lie between .*, not 10{39}\.\.\.$'),
  ('declare', 'temperature', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', temperature => 36.66)$$,
   '22023', '^temperature must be given in tenths of a degree, not 36.66$'),
  ('declare', 'visited', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', visited => NULL)$$,
   '22004', '^visited must not be NULL'),
  ('declare', 'visited', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', visited => '{330102,NULL}')$$,
   '22004', '^visited must not contain NULL$'),
  ('declare', 'visited', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', visited => '{330102,99}')$$,
   '22023', $$^invalid place code for visited: '99'$$),
  ('declare', 'visited', :'app', $$SELECT * FROM healthcode.declare('330106199001010026', '330106', visited => '{000000}')$$,
   '22023', $$^invalid place code for visited: '000000'$$),
  ('declare', 'visited', :'app',
   $$SELECT * FROM healthcode.declare('330106199001010026', '330106', visited => array_fill('330102'::text, ARRAY[1000000]))$$,
   '22023', '^visited has 1000000 elements; at most 1000$'),
  ('declare', 'contact_with_case', :'app',
   $$SELECT * FROM healthcode.declare('330106199001010026', '330106', contact_with_case => NULL)$$,
   '22004', '^contact_with_case must not be NULL$'),
  -- declare_trip(identifier, place, at)
  ('declare_trip', 'identifier', :'app', $$SELECT * FROM healthcode.declare_trip(NULL, '330102', now())$$,
   '22004', '^identifier must not be NULL$'),
  ('declare_trip', 'identifier', :'app', $$SELECT * FROM healthcode.declare_trip('330106199001019995', '330102', now())$$,
   'P0002', '^no person with this identifier is registered'),
  ('declare_trip', 'place', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', NULL, now())$$,
   '22004', '^place must not be NULL$'),
  ('declare_trip', 'place', :'app', format($$SELECT * FROM healthcode.declare_trip('33010619900101123X', %s, now())$$, :'m'),
   '22023', $$^invalid place code for place: 'x{40}\.\.\.'$$),
  ('declare_trip', 'at', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', '330102', NULL)$$,
   '22004', '^at must not be NULL$'),
  ('declare_trip', 'at', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', '330102', 'infinity')$$,
   '22008', '^at must be a finite time, not infinity$'),
  ('declare_trip', 'at', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', '330102', '-infinity')$$,
   '22008', '^at must be a finite time, not -infinity$'),
  ('declare_trip', 'at', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', '330102', '1900-01-01')$$,
   '22023', '^travel\.at lies before the health-code era'),
  ('declare_trip', 'at', :'app', $$SELECT * FROM healthcode.declare_trip('33010619900101123X', '330102', '294276-01-01')$$,
   '22023', '^travel\.at lies in the future'),
  -- health_info(identifier)
  ('health_info', 'identifier', :'app', $$SELECT * FROM healthcode.health_info(NULL)$$,
   '22004', '^identifier must not be NULL$'),
  ('health_info', 'identifier', :'app', format($$SELECT * FROM healthcode.health_info(%s)$$, :'m'),
   '22023', '^identifier is too long'),
  -- check_in(identifier, temperature, symptoms)
  ('check_in', 'identifier', :'app', $$SELECT * FROM healthcode.check_in('')$$,
   '22023', '^identifier must not be empty$'),
  ('check_in', 'temperature', :'app', $$SELECT * FROM healthcode.check_in('33010619900101123X', 33.9)$$,
   '22003', '^temperature must lie between 34.0 and 43.0 degrees Celsius, not 33.9$'),
  ('check_in', 'temperature', :'app', $$SELECT * FROM healthcode.check_in('33010619900101123X', 37.25)$$,
   '22023', '^temperature must be given in tenths'),
  ('check_in', 'symptoms', :'app', $$SELECT * FROM healthcode.check_in('33010619900101123X', 36.6, NULL)$$,
   '22004', '^symptoms must not be NULL'),
  ('check_in', 'symptoms', :'app', $$SELECT * FROM healthcode.check_in('33010619900101123X', 36.6, '{bogus}')$$,
   '22023', $$^unknown symptom in symptoms: 'bogus'$$),
  -- issue_for(person_id, valid_for)
  ('issue_for', 'person_id', :'app', $$SELECT healthcode.issue_for(NULL)$$,
   '22004', '^person_id must not be NULL$'),
  ('issue_for', 'person_id', :'app', $$SELECT healthcode.issue_for(-1)$$,
   'P0002', '^no person -1 in the regions'),
  ('issue_for', 'valid_for', :'app', format($$SELECT healthcode.issue_for(%s, NULL)$$, :p),
   '22004', '^valid_for must not be NULL$'),
  ('issue_for', 'valid_for', :'app', format($$SELECT healthcode.issue_for(%s, '0.5 seconds')$$, :p),
   '22003', '^valid_for must be at least one second, not '),
  ('issue_for', 'valid_for', :'app', format($$SELECT healthcode.issue_for(%s, '-5 minutes')$$, :p),
   '22003', '^valid_for must be at least one second, not '),
  ('issue_for', 'valid_for', :'app', format($$SELECT healthcode.issue_for(%s, '178000000 years')$$, :p),
   '22003', $$^valid_for must be at most 366 days, not '.*178000000 years'$$),
  -- status(person_id, at)
  ('status', 'person_id', :'app', $$SELECT * FROM healthcode.status(NULL)$$,
   '22004', '^person_id must not be NULL$'),
  ('status', 'at', :'app', format($$SELECT * FROM healthcode.status(%s, NULL)$$, :p),
   '22004', '^at must not be NULL$'),
  ('status', 'at', :'app', format($$SELECT * FROM healthcode.status(%s, '-infinity')$$, :p),
   '22008', '^at must be a finite time, not -infinity$'),
  ('status', 'at', :'app', format($$SELECT * FROM healthcode.status(%s, 'infinity')$$, :p),
   '22008', '^at must be a finite time, not infinity$'),
  -- person_id(identifier) (NULL: NULL, as for no such person)
  ('person_id', 'identifier', :'app', $$SELECT healthcode.person_id('')$$,
   '22023', '^identifier must not be empty$'),
  ('person_id', 'identifier', :'app', format($$SELECT healthcode.person_id(%s)$$, :'m'),
   '22023', '^identifier is too long'),
  -- request_correction(person_id, evidence, evidence_id, claim)
  ('request_correction', 'person_id', :'app', format($$SELECT healthcode.request_correction(NULL, 'declaration', %s, 'c')$$, :decl),
   '22004', '^person_id must not be NULL$'),
  ('request_correction', 'person_id', :'app', format($$SELECT healthcode.request_correction(-1, 'declaration', %s, 'c')$$, :decl),
   'P0002', '^person -1 has no declaration record'),
  ('request_correction', 'evidence', :'app', format($$SELECT healthcode.request_correction(%s, NULL, %s, 'c')$$, :p, :decl),
   '22004', '^evidence must not be NULL$'),
  ('request_correction', 'evidence', :'app', format($$SELECT healthcode.request_correction(%s, 'status_history', %s, 'c')$$, :p, :decl),
   '22023', $$^evidence must be one of .*, not 'status_history'$$),
  ('request_correction', 'evidence', :'app', format($$SELECT healthcode.request_correction(%s, %s, %s, 'c')$$, :p, :'m', :decl),
   '22023', $$^evidence must be one of .*, not 'x{40}\.\.\.'$$),
  ('request_correction', 'evidence_id', :'app', format($$SELECT healthcode.request_correction(%s, 'declaration', NULL, 'c')$$, :p),
   '22004', '^evidence_id must not be NULL$'),
  ('request_correction', 'evidence_id', :'app', format($$SELECT healthcode.request_correction(%s, 'declaration', -1, 'c')$$, :p),
   'P0002', '^person [0-9]+ has no declaration record -1$'),
  ('request_correction', 'claim', :'app', format($$SELECT healthcode.request_correction(%s, 'declaration', %s, NULL)$$, :p, :decl),
   '22004', '^claim must not be NULL$'),
  ('request_correction', 'claim', :'app', format($$SELECT healthcode.request_correction(%s, 'declaration', %s, '   ')$$, :p, :decl),
   '22023', '^claim must not be empty$'),
  ('request_correction', 'claim', :'app', format($$SELECT healthcode.request_correction(%s, 'declaration', %s, %s)$$, :p, :decl, :'m'),
   '22023', '^claim is too long \(1000000 characters; at most 1000\)$'),
  -- checkpoint_verify(code, checkpoint, at) (at NULL: now)
  ('checkpoint_verify', 'code', :'app', $$SELECT * FROM healthcode.checkpoint_verify(NULL, '330106')$$,
   '22004', '^code must not be NULL$'),
  ('checkpoint_verify', 'code', :'app', $$SELECT * FROM healthcode.checkpoint_verify('HCN:XYZ', '330106')$$,
   '22P02', '^invalid input syntax for type healthcode'),
  ('checkpoint_verify', 'checkpoint', :'app', format($$SELECT * FROM healthcode.checkpoint_verify(%L, NULL)$$, :'code'),
   '22004', '^checkpoint must not be NULL$'),
  ('checkpoint_verify', 'checkpoint', :'app', format($$SELECT * FROM healthcode.checkpoint_verify(%L, %s)$$, :'code', :'m'),
   '22023', $$^invalid division code for checkpoint: 'x{40}\.\.\.'$$),
  ('checkpoint_verify', 'at', :'app', format($$SELECT * FROM healthcode.checkpoint_verify(%L, '330106', 'infinity')$$, :'code'),
   '22008', '^at must be a finite time, not infinity$'),
  -- subject_of(identifier) (NULL: NULL, as for no such person)
  ('subject_of', 'identifier', :'app', $$SELECT healthcode.subject_of('  ')$$,
   '22023', '^identifier must not be empty$'),
  ('subject_of', 'identifier', :'app', format($$SELECT healthcode.subject_of(%s)$$, :'m'),
   '22023', '^identifier is too long'),
  -- issue_for_subject(region, subject, valid_for)
  ('issue_for_subject', 'region', :'app', $$SELECT healthcode.issue_for_subject(NULL, '\x00', '5 minutes')$$,
   '22004', '^region must not be NULL$'),
  ('issue_for_subject', 'region', :'app', $$SELECT healthcode.issue_for_subject('000000', '\x00', '5 minutes')$$,
   '22023', $$^invalid division code for region: '000000'$$),
  ('issue_for_subject', 'subject', :'app', $$SELECT healthcode.issue_for_subject('330106', NULL, '5 minutes')$$,
   '22004', '^subject must not be NULL$'),
  ('issue_for_subject', 'subject', :'app', $$SELECT healthcode.issue_for_subject('330106', '\x00', '5 minutes')$$,
   '22023', '^subject must be a 16-byte pseudonym, not 1 bytes$'),
  ('issue_for_subject', 'subject', :'app',
   format($$SELECT healthcode.issue_for_subject('330106', convert_to(%s, 'UTF8'), '5 minutes')$$, :'m'),
   '22023', '^subject must be a 16-byte pseudonym, not 1000000 bytes$'),
  ('issue_for_subject', 'valid_for', :'app', $$SELECT healthcode.issue_for_subject('330106', '\x00000000000000000000000000000000', NULL)$$,
   '22004', '^valid_for must not be NULL$'),
  ('issue_for_subject', 'valid_for', :'app',
   $$SELECT healthcode.issue_for_subject('330106', '\x00000000000000000000000000000000', '0.5 seconds')$$,
   '22003', '^valid_for must be at least one second'),
  ('issue_for_subject', 'valid_for', :'app',
   $$SELECT healthcode.issue_for_subject('330106', '\x00000000000000000000000000000000', '178000000 years')$$,
   '22003', '^valid_for must be at most 366 days'),
  -- current_status_of(code, at) (at NULL: now)
  ('current_status_of', 'code', :'app', $$SELECT * FROM healthcode.current_status_of(NULL)$$,
   '22004', '^code must not be NULL$'),
  ('current_status_of', 'at', :'app', format($$SELECT * FROM healthcode.current_status_of(%L, '-infinity')$$, :'code'),
   '22008', '^at must be a finite time, not -infinity$'),
  ('current_status_of', 'at', :'app', format($$SELECT * FROM healthcode.current_status_of(%L, now() - interval '1 day')$$, :'code'),
   '42501', '^at must be now, not '),
  -- verify_arrival(code, checkpoint, at) (at NULL: now)
  ('verify_arrival', 'code', :'app', $$SELECT * FROM healthcode.verify_arrival(NULL, '330106')$$,
   '22004', '^code must not be NULL$'),
  ('verify_arrival', 'checkpoint', :'app', format($$SELECT * FROM healthcode.verify_arrival(%L, '99')$$, :'code'),
   '22023', $$^invalid division code for checkpoint: '99'$$),
  ('verify_arrival', 'checkpoint', :'app', format($$SELECT * FROM healthcode.verify_arrival(%L, %s)$$, :'code', :'mcode'),
   '22023', $$^invalid division code for checkpoint: '1{40}\.\.\.'$$),
  ('verify_arrival', 'at', :'app', format($$SELECT * FROM healthcode.verify_arrival(%L, '330106', 'infinity')$$, :'code'),
   '22008', '^at must be a finite time, not infinity$'),

  -- ---- operators only ----
  -- record_decision(person_id, kind, reason, authority, colour, valid_from, valid_until)
  ('record_decision', 'person_id', :'op', $$SELECT healthcode.record_decision(NULL, 'medical_release', 'r', 'a')$$,
   '22004', '^person_id must not be NULL$'),
  ('record_decision', 'person_id', :'op', $$SELECT healthcode.record_decision(-1, 'medical_release', 'r', 'a')$$,
   'P0002', '^no person -1 in the regions'),
  ('record_decision', 'kind', :'op', format($$SELECT healthcode.record_decision(%s, NULL, 'r', 'a')$$, :p),
   '22004', '^kind must not be NULL$'),
  ('record_decision', 'kind', :'op', format($$SELECT healthcode.record_decision(%s, %s, 'r', 'a')$$, :p, :'m'),
   '22023', $$^kind must be override, medical_release or appeal_upheld, not 'x{40}\.\.\.'$$),
  ('record_decision', 'reason', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', NULL, 'a')$$, :p),
   '22004', '^reason must not be NULL$'),
  ('record_decision', 'reason', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', ' ', 'a')$$, :p),
   '22023', '^reason must not be empty$'),
  ('record_decision', 'reason', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', %s, 'a')$$, :p, :'m'),
   '22023', '^reason is too long \(1000000 characters; at most 1000\)$'),
  ('record_decision', 'authority', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', 'r', NULL)$$, :p),
   '22004', '^authority must not be NULL$'),
  ('record_decision', 'authority', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', 'r', %s)$$, :p, :'m'),
   '22023', '^authority is too long'),
  ('record_decision', 'colour', :'op', format($$SELECT healthcode.record_decision(%s, 'override', 'r', 'a')$$, :p),
   '22023', '^an override needs a colour; a release takes none$'),
  ('record_decision', 'colour', :'op', format($$SELECT healthcode.record_decision(%s, 'medical_release', 'r', 'a', 'red')$$, :p),
   '22023', '^an override needs a colour; a release takes none$'),
  -- (an enum value is read before the function runs: PostgreSQL's own error, naming the type)
  ('record_decision', 'colour', :'op', format($$SELECT healthcode.record_decision(%s, 'override', 'r', 'a', 'purple')$$, :p),
   '22P02', 'risk_colour: "purple"'),
  ('record_decision', 'valid_from', :'op', format($$SELECT healthcode.record_decision(%s, 'override', 'r', 'a', 'red', NULL)$$, :p),
   '22004', '^valid_from must not be NULL$'),
  ('record_decision', 'valid_from', :'op', format($$SELECT healthcode.record_decision(%s, 'override', 'r', 'a', 'red', 'infinity')$$, :p),
   '22008', '^valid_from must be a finite time, not infinity$'),
  ('record_decision', 'valid_until', :'op',
   format($$SELECT healthcode.record_decision(%s, 'override', 'r', 'a', 'red', now(), '-infinity')$$, :p),
   '22023', '^valid_until must lie after valid_from$'),
  ('record_decision', 'valid_until', :'op',
   format($$SELECT healthcode.record_decision(%s, 'medical_release', 'r', 'a', NULL, now(), now() + interval '1 day')$$, :p),
   '22023', '^valid_until is for an override; a release takes none$'),
  -- decide_correction(correction_id, accept, reason)
  ('decide_correction', 'correction_id', :'op', $$SELECT * FROM healthcode.decide_correction(NULL, true, 'r')$$,
   '22004', '^correction_id must not be NULL$'),
  ('decide_correction', 'correction_id', :'op', $$SELECT * FROM healthcode.decide_correction(-1, true, 'r')$$,
   'P0002', '^no correction request -1$'),
  ('decide_correction', 'accept', :'op', format($$SELECT * FROM healthcode.decide_correction(%s, NULL, 'r')$$, :cid),
   '22004', '^accept must not be NULL'),
  ('decide_correction', 'reason', :'op', format($$SELECT * FROM healthcode.decide_correction(%s, true, NULL)$$, :cid),
   '22004', '^reason must not be NULL$'),
  ('decide_correction', 'reason', :'op', format($$SELECT * FROM healthcode.decide_correction(%s, true, '')$$, :cid),
   '22023', '^reason must not be empty$'),
  ('decide_correction', 'reason', :'op', format($$SELECT * FROM healthcode.decide_correction(%s, true, %s)$$, :cid, :'m'),
   '22023', '^reason is too long'),
  -- policy_at(region, at) (NULL: NULL)
  ('policy_at', 'region', :'op', $$SELECT * FROM healthcode.policy_at('99')$$,
   '22023', $$^invalid division code for region: '99'$$),
  ('policy_at', 'region', :'op', format($$SELECT * FROM healthcode.policy_at(%s)$$, :'mcode'),
   '22023', $$^invalid division code for region: '1{40}\.\.\.'$$),
  ('policy_at', 'at', :'op', $$SELECT * FROM healthcode.policy_at('330106', 'infinity')$$,
   '22008', '^at must be a finite time, not infinity$'),
  -- status_at(s, at) and _status_later(s, at), which the views call
  ('status_at', 's', :'op', $$SELECT healthcode.status_at(NULL, now())$$,
   '22004', '^s \(a stored status\) must not be NULL$'),
  ('status_at', 's', :'op',
   $$SELECT healthcode.status_at(ROW(0, '330106', 'red', false, '[]', now() - interval '2 days', now() - interval '1 day',
                                     '{}', now() - interval '2 days', NULL)::healthcode.person_status, now())$$,
   '22023', '^s\.next must be a JSON array of segments, not object$'),
  ('status_at', 'at', :'op', format($$SELECT healthcode.status_at(s, NULL) FROM healthcode.person_status s WHERE s.person_id = %s$$, :p),
   '22004', '^at must not be NULL$'),
  ('_status_later', 's', :'op', $$SELECT healthcode._status_later(NULL, now())$$,
   '22004', '^s \(a stored status\) must not be NULL$'),
  ('_status_later', 'at', :'op', format($$SELECT healthcode._status_later(s, NULL) FROM healthcode.person_status s WHERE s.person_id = %s$$, :p),
   '22004', '^at must not be NULL$'),
  -- _elapsed_changes(colour, next, upto): an SQL function the status_changes
  -- view inlines; a bad argument gets PostgreSQL's own error (upto has no
  -- bad value: NULL or infinity ask for no change or every one)
  ('_elapsed_changes', 'colour', :'op', $$SELECT * FROM healthcode._elapsed_changes('purple', '[]', now())$$,
   '22P02', 'risk_colour: "purple"'),
  ('_elapsed_changes', 'next', :'op', $$SELECT * FROM healthcode._elapsed_changes('red', '{}', now())$$,
   '22023', '^cannot extract elements from an object$'),
  -- qr_svg / qr_png / qr_terminal(code, ec_level, ...): public, the app's too
  ('qr_svg', 'ec_level', :'app', format($$SELECT healthcode.qr_svg(%L, %s)$$, :'code', :'m'),
   '22023', '^invalid QR error-correction level: "x{40}\.\.\."$'),
  ('qr_png', 'ec_level', :'app', format($$SELECT healthcode.qr_png(%L, 'X')$$, :'code'),
   '22023', '^invalid QR error-correction level: "X"$'),
  -- audit(person_id, region), review_finding(finding_id, decision, reason)
  ('audit', 'person_id', :'op', $$SELECT * FROM healthcode.audit(person_id => -1)$$,
   'P0002', '^no person -1 in the regions role '),
  ('audit', 'region', :'op', $$SELECT * FROM healthcode.audit(region => '99')$$,
   '22023', '^invalid division code for region: ''99''$'),
  ('audit', 'region', :'op', format($$SELECT * FROM healthcode.audit(region => %s)$$, :'mcode'),
   '22023', '^invalid division code for region: ''1{40}\.\.\.''$'),
  ('audit', 'person_id', :'op', format($$SELECT * FROM healthcode.audit(person_id => %s, region => '330106')$$, :p),
   '22023', '^give person_id or region, not both$'),
  ('review_finding', 'finding_id', :'op', $$SELECT healthcode.review_finding(NULL, 'confirm', 'r')$$,
   '22004', '^finding_id must not be NULL$'),
  ('review_finding', 'finding_id', :'op', $$SELECT healthcode.review_finding(-1, 'confirm', 'r')$$,
   'P0002', '^no audit finding -1$'),
  ('review_finding', 'decision', :'op', $$SELECT healthcode.review_finding(-1, NULL, 'r')$$,
   '22004', '^decision must not be NULL$'),
  ('review_finding', 'decision', :'op', $$SELECT healthcode.review_finding(-1, 'approve', 'r')$$,
   '22023', '^decision must be confirm or dismiss, not ''approve''$'),
  ('review_finding', 'decision', :'op', format($$SELECT healthcode.review_finding(-1, %s, 'r')$$, :'m'),
   '22023', '^decision must be confirm or dismiss, not ''x{40}\.\.\.''$'),
  ('review_finding', 'reason', :'op', $$SELECT healthcode.review_finding(-1, 'confirm', NULL)$$,
   '22004', '^reason must not be NULL$'),
  ('review_finding', 'reason', :'op', $$SELECT healthcode.review_finding(-1, 'confirm', ' ')$$,
   '22023', '^reason must not be empty$'),
  ('review_finding', 'reason', :'op', format($$SELECT healthcode.review_finding(-1, 'confirm', %s)$$, :'m'),
   '22023', '^reason is too long \(1000000 characters; at most 1000\)$');

SELECT plan((SELECT count(*)::integer FROM bad_call) + 4);

-- ---- what is written, and every sequence: before --------------------------------------
CREATE FUNCTION pg_temp.written() RETURNS text LANGUAGE sql AS $$
  SELECT format('person %s, declaration %s, travel %s, checkin %s, correction %s, manual_decision %s, '
                'code_event %s, audit_finding %s, status_history %s; sequences %s',
                (SELECT count(*) FROM healthcode.person), (SELECT count(*) FROM healthcode.declaration),
                (SELECT count(*) FROM healthcode.travel), (SELECT count(*) FROM healthcode.checkin),
                (SELECT count(*) FROM healthcode.correction), (SELECT count(*) FROM healthcode.manual_decision),
                (SELECT count(*) FROM healthcode.code_event), (SELECT count(*) FROM healthcode.audit_finding),
                (SELECT count(*) FROM healthcode.status_history),
                (SELECT string_agg(sequencename || '=' || coalesce(last_value::text, '-'), ' ' ORDER BY sequencename)
                   FROM pg_sequences WHERE schemaname = 'healthcode'))
$$;
SELECT pg_temp.written() AS written_before \gset
SELECT count(*) AS partitions_before FROM pg_inherits WHERE inhparent = 'healthcode.travel'::regclass \gset

-- ---- the calls ------------------------------------------------------------------------
CREATE TEMP TABLE outcome AS
SELECT c.n, c.fn, c.arg, c.want, c.says, a.state, a.message
  FROM bad_call c CROSS JOIN LATERAL pg_temp.attempt(c.role, c.call) a;

SELECT matches(o.state || ': ' || coalesce(o.message, ''),
               '^' || CASE WHEN o.want LIKE '^%' THEN substr(o.want, 2) || '[0-9A-Z]*' ELSE o.want END
                   || ': ' || CASE WHEN o.says LIKE '^%' THEN substr(o.says, 2) ELSE '.*' || o.says END,
               format('%s(%s): %s', o.fn, o.arg, left(regexp_replace(c.call, '\s+', ' ', 'g'), 300)))
  FROM outcome o JOIN bad_call c USING (n) ORDER BY n;

SELECT is(ARRAY(SELECT format('%s(%s): %s characters', fn, arg, length(message)) FROM outcome
                 WHERE length(message) > 200 ORDER BY n), '{}',
          'no message is longer than 200 characters (values are echoed shortened)');
SELECT is(ARRAY(SELECT format('%s(%s)', fn, arg) FROM outcome
                 WHERE position('19900101' IN message) > 0 ORDER BY n), '{}',
          'no message echoes an identifier');

-- ---- nothing was written ------------------------------------------------------------------
SELECT is(pg_temp.written(), :'written_before',
          'no bad call wrote a row or drew a sequence number (arguments are checked before anything is written)');
SELECT is((SELECT count(*) FROM pg_inherits WHERE inhparent = 'healthcode.travel'::regclass), :partitions_before::bigint,
          'no bad trip made a travel partition');

SELECT * FROM finish();
ROLLBACK;
