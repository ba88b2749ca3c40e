-- Rows written straight into each table (person, declaration, travel and
-- its day partitions, test_result, vaccination, contact, checkin,
-- risk_area, manual_decision, audit_finding, correction), past the
-- functions: each bad row is refused by the table's own constraints and
-- triggers, one bad row of many writes nothing, no failed statement writes
-- a status change, and an UPDATE cannot do what an INSERT may not.
-- Needs: the people of 04_helpers.sql; p3's one declaration and contact
-- (06_review.sql) and p6's sample p6-a (07_imports.sql); the counts are of
-- whole tables as 04 to 08 left them.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT synthetic_identifier('460105', 1) AS id1, person_id(synthetic_identifier('460105', 1)) AS p1,
       person_id(synthetic_identifier('460106', 2)) AS p2, person_id(synthetic_identifier('460105', 3)) AS p3 \gset

SELECT count(*) AS history_before FROM status_history \gset
-- person
SELECT try($$INSERT INTO person (region, subject) VALUES ('46010', '\x000102030405060708090a0b0c0d0e0f')$$) AS malformed_region;
SELECT try($$INSERT INTO person (region, subject) VALUES ('990000', '\x000102030405060708090a0b0c0d0e0f')$$) AS unknown_region;
SELECT try($$INSERT INTO person (region, subject) VALUES ('000000', '\x000102030405060708090a0b0c0d0e0f')$$) AS national_region;
SELECT try($$INSERT INTO person (region, subject) VALUES (NULL, '\x000102030405060708090a0b0c0d0e0f')$$) AS null_region;
SELECT try($$INSERT INTO person (region, subject) VALUES ('460105', '\x0001')$$) AS short_subject;
SELECT try($$INSERT INTO person (region, subject) VALUES ('460105', NULL)$$) AS null_subject;
SELECT try($$INSERT INTO person (region, subject, display_name) VALUES ('460105', '\x000102030405060708090a0b0c0d0e0f', '张小三')$$) AS unmasked_name;
SELECT try($$INSERT INTO person (region, subject, registered_at) VALUES ('460105', '\x000102030405060708090a0b0c0d0e0f', 'infinity')$$) AS infinite_registration;
SELECT try($$INSERT INTO person (region, subject, registered_at) VALUES ('460105', '\x000102030405060708090a0b0c0d0e0f', '2999-01-01 00:00:00+00')$$) AS future_registration;
SELECT regexp_replace(try(format('INSERT INTO person (region, subject) VALUES (%L, %L)', '460105', pseudonym(:'id1'))),
                      '\\x[0-9a-f]{32}', '<subject>') AS duplicate_subject;
SELECT try($$INSERT INTO person (region, subject) VALUES
  ('460105', '\x000102030405060708090a0b0c0d0e0f'), ('460105', '\x000102030405060708090a0b0c0d0e10'),
  ('46010', '\x000102030405060708090a0b0c0d0e11')$$) AS one_bad_of_three;
SELECT count(*) AS people FROM person;

-- declaration
SELECT try(format('INSERT INTO declaration (person_id, region) VALUES (%s, %L)', :p1, '460106')) AS other_region;
SELECT try(format('INSERT INTO declaration (person_id, region) VALUES (%s, %L)', 999999, '460105')) AS unknown_person;
SELECT try(format('INSERT INTO declaration (person_id, region) VALUES (NULL, %L)', '460105')) AS null_person;
SELECT try(format('INSERT INTO declaration (person_id, region, declared_at) VALUES (%s, %L, %L)', :p1, '460105', 'infinity')) AS infinite_time;
SELECT try(format('INSERT INTO declaration (person_id, region, declared_at) VALUES (%s, %L, NULL)', :p1, '460105')) AS null_time;
SELECT try(format('INSERT INTO declaration (person_id, region, declared_at) VALUES (%s, %L, %L)', :p1, '460105', '2999-01-01 00:00:00+00')) AS future_time;
SELECT try(format('INSERT INTO declaration (person_id, region, symptoms) VALUES (%s, %L, NULL)', :p1, '460105')) AS null_symptoms;
SELECT try(format('INSERT INTO declaration (person_id, region, symptoms) VALUES (%s, %L, %L)', :p1, '460105', '{cough,sneezing}')) AS unknown_symptom;
SELECT try(format('INSERT INTO declaration (person_id, region, temperature) VALUES (%s, %L, 80)', :p1, '460105')) AS temperature_80;
SELECT try(format('INSERT INTO declaration (person_id, region, temperature) VALUES (%s, %L, -36.6)', :p1, '460105')) AS temperature_negative;
SELECT try(format('INSERT INTO declaration (person_id, region, visited) VALUES (%s, %L, %L)', :p1, '460105', '{4601}')) AS malformed_visited;
SELECT try(format('INSERT INTO declaration (person_id, region, contact_with_case) VALUES (%s, %L, NULL)', :p1, '460105')) AS null_contact;
SELECT try(format('INSERT INTO declaration (person_id, region, declared_at, symptoms) VALUES
  (%1$s, %2$L, now() - interval %3$L, %4$L), (%1$s, %2$L, now() - interval %5$L, %6$L)',
  :p1, '460105', '1 hour', '{fever}', '2 hours', '{fever,sneezing}')) AS one_bad_of_two;
SELECT count(*) AS declarations FROM declaration WHERE person_id = :p1;

-- travel (partitioned by day: a day without a partition takes no row)
SELECT create_travel_partitions('2020-03-01', '2020-03-01') AS made;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460106', '460105', '2020-03-01 02:00:00+00', 'telecom')) AS other_region;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '46010', '2020-03-01 02:00:00+00', 'telecom')) AS malformed_place;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460005', '2020-03-01 02:00:00+00', 'telecom')) AS unknown_place;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '000000', '2020-03-01 02:00:00+00', 'telecom')) AS national_place;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', '2020-03-01 02:00:00+00', 'gps')) AS unknown_source;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, NULL)', :p1, '460105', '460105', '2020-03-01 02:00:00+00')) AS null_source;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', '1999-03-01 02:00:00+00', 'telecom')) AS day_without_partition;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', 'infinity', 'telecom')) AS infinite_time;
SELECT try(format('INSERT INTO travel_20200301 (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', '2020-03-02 02:00:00+00', 'telecom')) AS wrong_partition;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES
  (%1$s, %2$L, %2$L, %3$L, %4$L), (%1$s, %2$L, %5$L, %3$L, %4$L)', :p1, '460105', '2020-03-01 03:00:00+00', 'telecom', '460199x')) AS one_bad_of_two;
SELECT count(*) AS travel_rows FROM travel_20200301;
-- a future stay written straight into its day's partition
SELECT create_travel_partitions('2999-01-01', '2999-01-01') AS made;
SELECT try(format('INSERT INTO travel_29990101 (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', '2999-01-01 00:00:00+00', 'telecom')) AS future_stay_in_partition;
SELECT try(format('INSERT INTO travel (person_id, region, place, at, source) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', '460105', '2999-01-01 00:00:00+00', 'telecom')) AS future_stay;
SELECT count(*) AS future_rows FROM travel_29990101;
DROP TABLE travel_29990101;
DROP TABLE travel_20200301;

-- test_result
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460106', 'pcr', '2021-01-01', 'negative', 'hc04 lab', 'd1')) AS other_region;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460105', 'PCR', '2021-01-01', 'negative', 'hc04 lab', 'd1')) AS unknown_kind;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460105', 'pcr', '2021-01-01', 'inconclusive', 'hc04 lab', 'd1')) AS unknown_result;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460105', 'pcr', 'infinity', 'negative', 'hc04 lab', 'd1')) AS infinite_time;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460105', 'pcr', '2999-01-01 00:00:00+00', 'negative', 'hc04 lab', 'd1')) AS future_time;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, NULL, %L)', :p1, '460105', 'pcr', '2021-01-01', 'negative', 'd1')) AS null_lab;
SELECT try(format('INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id) VALUES (%s, %L, %L, %L, %L, %L, %L)', :p1, '460105', 'pcr', '2021-01-01', 'negative', 'hc04 lab', '')) AS empty_sample;

-- vaccination
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 0, %L)', :p1, '460105', '2021-01-01')) AS dose_0;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 11, %L)', :p1, '460105', '2021-01-01')) AS dose_11;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, NULL, %L)', :p1, '460105', '2021-01-01')) AS null_dose;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 1, %L)', :p1, '460105', '-infinity')) AS infinite_time;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 1, %L)', :p1, '460105', '2999-01-01 00:00:00+00')) AS future_time;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 1, %L)', :p1, '110101', '2021-01-01')) AS other_region;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%1$s, %2$L, 1, %3$L), (%1$s, %2$L, 2, %4$L), (%1$s, %2$L, 0, %3$L)',
                  :p1, '460105', '2021-01-01', '2021-03-01')) AS one_bad_of_three;
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%1$s, %2$L, 1, %3$L), (%1$s, %2$L, 1, %4$L)',
                  :p1, '460105', '2021-01-01', '2021-03-01')) AS same_dose_twice;
SELECT count(*) AS vaccinations FROM vaccination;

-- contact
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'tertiary', '2021-01-01', 'x')) AS unknown_kind;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'close', 'infinity', 'x')) AS infinite_time;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'close', '2999-01-01 00:00:00+00', 'x')) AS future_time;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, %L, NULL)', :p1, '460105', 'close', '2021-01-01')) AS null_case;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, %L, %L)', :p1, '460199', 'close', '2021-01-01', 'x')) AS other_region;

-- checkin
SELECT try(format('INSERT INTO checkin (person_id, region, at, temperature) VALUES (%s, %L, %L, 80)', :p1, '460105', '2021-01-01')) AS temperature_80;
SELECT try(format('INSERT INTO checkin (person_id, region, at, temperature) VALUES (%s, %L, %L, 33.9)', :p1, '460105', '2021-01-01')) AS temperature_33_9;
SELECT try(format('INSERT INTO checkin (person_id, region, at, temperature) VALUES (%s, %L, %L, 180)', :p1, '460105', '2021-01-01'))
       ~ '^(22023|23514): .*temperature' AS temperature_180_names_field;
SELECT try(format('INSERT INTO checkin (person_id, region, at, symptoms) VALUES (%s, %L, %L, %L)', :p1, '460105', '2021-01-01', '{fever,chills}')) AS unknown_symptom;
SELECT try(format('INSERT INTO checkin (person_id, region, at) VALUES (%s, %L, %L)', :p1, '460105', 'infinity')) AS infinite_time;
SELECT try(format('INSERT INTO checkin (person_id, region, at) VALUES (%s, %L, NULL)', :p1, '460105')) AS null_time;
SELECT try(format('INSERT INTO checkin (person_id, region, at) VALUES (%s, %L, %L)', :p1, '460105', '2999-01-01 00:00:00+00')) AS future_time;
SELECT try(format('INSERT INTO checkin (person_id, region, at, day) VALUES (%s, %L, %L, %L)', :p1, '460105', '2021-01-01', '2021-01-05')) AS day_given;
SELECT try(format('INSERT INTO checkin (person_id, region, at) VALUES (%1$s, %2$L, %3$L), (%1$s, %2$L, %4$L)', :p1, '460105', '2021-01-01 01:00:00+00', '2021-01-01 10:00:00+00')) AS two_on_one_day;

-- risk_area
SELECT try($$INSERT INTO risk_area (division, level, effective_from) VALUES ('46010', 'high', '2021-01-01')$$) AS malformed_division;
SELECT try($$INSERT INTO risk_area (division, level, effective_from) VALUES ('460105', 'HIGH', '2021-01-01')$$) AS unknown_level;
SELECT try($$INSERT INTO risk_area (division, level, effective_from) VALUES ('460105', NULL, '2021-01-01')$$) AS null_level;
SELECT try($$INSERT INTO risk_area (division, level, effective_from) VALUES ('460105', 'high', 'infinity')$$) AS infinite_start;
SELECT try($$INSERT INTO risk_area (division, level, effective_from, effective_until) VALUES ('460105', 'high', '2021-01-02', '2021-01-01')$$) AS ends_before_start;

-- manual_decision
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, colour, authority, reason) VALUES (%s, %L, %L, NULL, %L, %L)', :p1, '460105', 'override', 'a', 'r')) AS override_without_colour;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, colour, authority, reason) VALUES (%s, %L, %L, %L, %L, %L)', :p1, '460105', 'medical_release', 'green', 'a', 'r')) AS release_with_colour;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, authority, reason) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'pardon', 'a', 'r')) AS unknown_kind;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, authority, reason) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'medical_release', ' ', 'r')) AS blank_authority;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, authority, reason) VALUES (%s, %L, %L, %L, %L)', :p1, '460105', 'medical_release', 'a', '')) AS empty_reason;
-- decided_at and decided_by are the system's: a decision claiming 2999 is recorded now, by its caller
WITH m AS (INSERT INTO manual_decision (person_id, region, kind, authority, reason, decided_at, decided_by)
           VALUES (:p1, '460105', 'medical_release', 'a', 'r', '2999-01-01 00:00:00+00', 'someone else')
           RETURNING decided_at, decided_by)
SELECT decided_at = statement_timestamp() AS stamped_now, decided_by = current_user AS by_caller FROM m;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, authority, reason, valid_from) VALUES (%s, %L, %L, %L, %L, %L)', :p1, '460105', 'medical_release', 'a', 'r', '-infinity')) AS infinite_valid_from;
SELECT try(format('INSERT INTO manual_decision (person_id, region, kind, authority, reason) VALUES (%s, %L, %L, %L, %L)', :p1, '460106', 'medical_release', 'a', 'r')) AS other_region;

-- audit_finding: its declaration must exist and be the person's own
SELECT id AS p3_declaration FROM declaration WHERE person_id = :p3 \gset
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail) VALUES (%s, %L, 999999, %L, %L)', :p3, '460105', 'undeclared_fever', '{}')) AS unknown_declaration;
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail) VALUES (%s, %L, %s, %L, %L)', :p3, '460105', :p3_declaration, 'lied', '{}')) AS unknown_kind;
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail) VALUES (%s, %L, %s, %L, NULL)', :p3, '460105', :p3_declaration, 'undeclared_fever')) AS null_detail;
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, status) VALUES (%s, %L, %s, %L, %L, %L)', :p3, '460105', :p3_declaration, 'undeclared_fever', '{}', 'dismissed')) AS dismissed_without_review;
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, found_at) VALUES (%s, %L, %s, %L, %L, %L)', :p3, '460105', :p3_declaration, 'undeclared_fever', '{}', '2999-01-01 00:00:00+00')) AS future_finding;
SELECT try(format('INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail) VALUES (%s, %L, %s, %L, %L)', :p2, '460106', :p3_declaration, 'undeclared_fever', '{}')) ~ '^23[0-9]{3}: ' AS someone_elses_declaration_refused;

-- correction
SELECT try(format('INSERT INTO correction (person_id, region, evidence, evidence_id, claim) VALUES (%s, %L, %L, 1, %L)', :p1, '460105', 'person', 'c')) AS unknown_evidence;
SELECT try(format('INSERT INTO correction (person_id, region, evidence, evidence_id, claim) VALUES (%s, %L, %L, 1, %L)', :p1, '460105', 'travel', ' ')) AS blank_claim;
SELECT try(format('INSERT INTO correction (person_id, region, evidence, evidence_id, claim, status) VALUES (%s, %L, %L, 1, %L, %L)', :p1, '460105', 'travel', 'c', 'accepted')) AS accepted_without_decision;
SELECT try(format('INSERT INTO correction (person_id, region, evidence, evidence_id, claim, status) VALUES (%s, %L, %L, 1, %L, %L)', :p1, '460105', 'travel', 'c', 'withdrawn')) AS unknown_status;

-- none of the failed statements above wrote a status change
SELECT (SELECT count(*) FROM status_history) - :history_before AS history_added;

-- an UPDATE that moves evidence into the future is refused too
SELECT try(format('UPDATE contact SET exposure_at = %L WHERE person_id = %s', '2999-01-01 00:00:00+00', :p3)) AS update_into_future;
SELECT try($$UPDATE test_result SET result = 'unknown' WHERE sample_id = 'p6-a'$$) AS update_to_unknown_result;
