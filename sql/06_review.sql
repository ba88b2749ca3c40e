-- The reviews people and officials make, and their bad input: manual
-- decisions (record_decision), correction requests (request_correction,
-- decide_correction) and the audit of declarations against the evidence
-- (audit, review_finding).
-- Needs: the people of 04_helpers.sql as 05_people.sql left them (p1's
-- whole history is counted; no correction or audit finding exists yet).
-- Leaves: p1's stay of two days ago, p3's contact and declaration, and a
-- dismissed finding, which later files use.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 1)) AS p1, person_id(synthetic_identifier('460106', 2)) AS p2,
       person_id(synthetic_identifier('460105', 3)) AS p3 \gset

-- ---- manual decisions: record_decision ------------------------------------------

SELECT count(*) AS decisions_before FROM manual_decision \gset
SELECT try(format('SELECT record_decision(%s, NULL, %L, %L)', :p1, 'r', 'a')) AS null_kind;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L)', :p1, 'pardon', 'r', 'a')) AS unknown_kind;
SELECT try(format('SELECT record_decision(%s, %L, NULL, %L, %L)', :p1, 'override', 'a', 'red')) AS null_reason;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L)', :p1, 'override', '  ', 'a', 'red')) AS blank_reason;
SELECT try(format('SELECT record_decision(%s, %L, %L, NULL, %L)', :p1, 'override', 'r', 'red')) AS null_authority;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L)', :p1, 'override', 'r', '', 'red')) AS empty_authority;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L)', :p1, 'override', 'r', 'a')) AS override_without_colour;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L)', :p1, 'medical_release', 'r', 'a', 'green')) AS release_with_colour;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L)', :p1, 'override', 'r', 'a', 'blue')) AS unknown_colour;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L)', 999999, 'medical_release', 'r', 'a')) AS unknown_person;
SELECT try(format('SELECT record_decision(NULL, %L, %L, %L)', 'medical_release', 'r', 'a')) AS null_person;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L, NULL)', :p1, 'override', 'r', 'a', 'red')) AS null_valid_from;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L, %L)', :p1, 'override', 'r', 'a', 'red', 'infinity')) AS infinite_valid_from;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L, %L)', :p1, 'override', 'r', 'a', 'red', '-infinity')) AS minus_infinite_valid_from;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L, now(), now() - interval %L)', :p1, 'override', 'r', 'a', 'red', '1 hour')) AS ends_before_start;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, %L, now(), now())', :p1, 'override', 'r', 'a', 'red')) AS ends_at_start;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L, NULL, now(), now() + interval %L)', :p1, 'appeal_upheld', 'r', 'a', '1 day')) AS release_with_end;
SELECT (SELECT count(*) FROM manual_decision) - :decisions_before AS decisions_added,
       (SELECT count(*) FROM status_history WHERE person_id = :p1) AS p1_history;

-- ---- corrections: request_correction, decide_correction -------------------------

-- (a stay of two days ago: one older than the first day kept would be left out)
SELECT import_travel(format('[{"person_id": %s, "place": "460105", "at": "%s"}]', :p1, now() - interval '2 days')::json) AS imported;
SELECT id AS travel1 FROM travel WHERE person_id = :p1 \gset
SELECT try(format('SELECT request_correction(%s, NULL, %s, %L)', :p1, :travel1, 'c')) AS null_evidence;
SELECT try(format('SELECT request_correction(%s, %L, %s, %L)', :p1, 'person', :travel1, 'c')) AS unknown_evidence;
SELECT try(format('SELECT request_correction(%s, %L, %s, %L)', :p1, 'status_history', :travel1, 'c')) AS status_history_evidence;
SELECT try(format('SELECT request_correction(%s, %L, %s, NULL)', :p1, 'travel', :travel1)) AS null_claim;
SELECT try(format('SELECT request_correction(%s, %L, %s, %L)', :p1, 'travel', :travel1, ' ')) AS blank_claim;
SELECT try(format('SELECT request_correction(%s, %L, %s, %L)', :p1, 'travel', 999999, 'c')) AS unknown_record;
SELECT try(format('SELECT request_correction(%s, %L, NULL, %L)', :p1, 'travel', 'c')) AS null_record;
SELECT replace(try(format('SELECT request_correction(%s, %L, %s, %L)', :p2, 'travel', :travel1, 'c')),
               'record ' || :travel1, 'record <travel1>') AS someone_elses_record;
SELECT replace(try(format('SELECT request_correction(%s, %L, %s, %L)', :p1, 'declaration', :travel1, 'c')),
               'record ' || :travel1, 'record <travel1>') AS wrong_table;
SELECT replace(try(format('SELECT request_correction(NULL, %L, %s, %L)', 'travel', :travel1, 'c')),
               'record ' || :travel1, 'record <travel1>') AS null_person;
SELECT try(format('SELECT request_correction(NULL, %L, NULL, %L)', 'travel', 'c')) ~ '^22004: ' AS null_person_and_record_refused;
SELECT count(*) AS corrections FROM correction;

SELECT request_correction(:p1, 'travel', :travel1, 'I was not there') AS cid \gset
SELECT try($$SELECT * FROM decide_correction(999999, true, 'r')$$) AS unknown_request;
SELECT try($$SELECT * FROM decide_correction(NULL, true, 'r')$$) AS null_request;
SELECT try(format('SELECT * FROM decide_correction(%s, NULL, %L)', :cid, 'r')) AS null_accept;
SELECT try(format('SELECT * FROM decide_correction(%s, true, NULL)', :cid)) AS null_reason;
SELECT try(format('SELECT * FROM decide_correction(%s, false, %L)', :cid, '   ')) AS blank_reason;
SELECT colour FROM decide_correction(:cid, false, 'the itinerary is confirmed');
SELECT replace(try(format('SELECT * FROM decide_correction(%s, true, %L)', :cid, 'again')), 'request ' || :cid, 'request <id>') AS decided_twice;
SELECT status, decided_by IS NOT NULL AS has_decider, evidence_snapshot IS NULL AS no_snapshot,
       (SELECT count(*) FROM travel WHERE id = :travel1) AS record_kept
  FROM correction WHERE id = :cid;

-- ---- audit, review_finding -----------------------------------------------------

SELECT try(format('SELECT * FROM audit(%s, %L)', :p1, '460105')) AS person_and_region;
SELECT try($$SELECT * FROM audit(NULL, '4601')$$) AS malformed_region;
SELECT try($$SELECT * FROM audit(NULL, '990000')$$) AS unknown_region;
SELECT try($$SELECT * FROM audit(999999)$$) AS unknown_person;
-- a declaration that denies the contact the tracing list shows
SELECT import_contacts(format('[{"person_id": %s, "kind": "secondary", "exposure_at": "%s", "source_case": "hc04-case-1"}]',
                              :p3, now() - interval '2 days')::json) AS imported;
SELECT colour FROM declare(synthetic_identifier('460105', 3), '460105');
SELECT kind, status FROM audit(:p3);
SELECT count(*) AS again FROM audit(:p3);
SELECT id AS fid FROM audit_finding WHERE person_id = :p3 \gset
SELECT try(format('SELECT review_finding(%s, NULL, %L)', :fid, 'r')) AS null_decision;
SELECT try(format('SELECT review_finding(%s, %L, %L)', :fid, 'approve', 'r')) AS unknown_decision;
SELECT try(format('SELECT review_finding(%s, %L, NULL)', :fid, 'confirm')) AS null_reason;
SELECT try(format('SELECT review_finding(%s, %L, %L)', :fid, 'confirm', ' ')) AS blank_reason;
SELECT try($$SELECT review_finding(999999, 'confirm', 'r')$$) AS unknown_finding;
SELECT try($$SELECT review_finding(NULL, 'confirm', 'r')$$) AS null_finding;
SELECT status, review_reason FROM review_finding(:fid, 'dismiss', 'the contact was traced after the declaration');
SELECT replace(try(format('SELECT review_finding(%s, %L, %L)', :fid, 'confirm', 'r')), 'finding ' || :fid, 'finding <id>') AS reviewed_twice;
