-- The status engine's SQL surface and its bad input: division helpers,
-- masking, policy lookup, every interface function's argument errors, bad
-- rows written straight into each evidence table, times in the future,
-- and that a statement with one bad row writes nothing at all (no
-- evidence, no status, no history). The regression cluster runs with
-- healthcode.server_key_file set (see tools/test.sh). Everything lives in
-- Hainan (460000), which no other test uses.
CREATE EXTENSION healthcode;
SET search_path = public, healthcode;
SET timezone = 'UTC';

-- try() with the things that change from run to run taken out of the
-- message: times (future-time errors echo the offending time) and the
-- names of day partitions of travel.
CREATE FUNCTION pg_temp.tryn(sql text) RETURNS text LANGUAGE sql AS $$
  SELECT regexp_replace(regexp_replace(public.try(sql),
           '[A-Z][a-z]{2} [A-Z][a-z]{2} [0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)? [0-9]{4} UTC', '<time>', 'g'),
           'travel_[0-9]{8}', 'travel_<day>', 'g')
$$;

-- The people of this file, registered first so their ids are 1, 2, 3, ...
SELECT register_person(synthetic_identifier('460105', 1), '460105', '王小明') AS p1 \gset
SELECT register_person(synthetic_identifier('460106', 2), '460106', 'Anna Maria') AS p2 \gset
SELECT register_person(synthetic_identifier('460105', 3), '460105') AS p3 \gset
SELECT register_person(synthetic_identifier('460105', 4), '460105') AS p4 \gset
SELECT register_person(synthetic_identifier('460105', 5), '460105') AS p5 \gset
SELECT register_person(synthetic_identifier('460105', 6), '460105') AS p6 \gset
SELECT register_person(synthetic_identifier('460105', 7), '460105') AS p7 \gset
SELECT register_person(synthetic_identifier('460105', 8), '460105') AS p8 \gset
SELECT synthetic_identifier('460105', 1) AS id1 \gset
SELECT id, region, display_name, length(subject) AS subject_len FROM person ORDER BY id;
SELECT person_id, colour, vaccinated, reasons, valid_until FROM current_status ORDER BY person_id;
SELECT person_id, from_colour, to_colour, cause FROM status_history ORDER BY id;

-- ---- helpers ---------------------------------------------------------------

-- division codes: the chain up to the nation, the last code covered, rank
SELECT c, division_chain(c), division_last(c), division_rank(c)
  FROM unnest(ARRAY['460105', '460100', '460000', '000000']) c;
SELECT division_covers('460000', '460105') AS province_covers_district,
       division_covers('460100', '460105') AS city_covers_district,
       division_covers('460105', '460105') AS covers_itself,
       division_covers('000000', '110101') AS nation_covers_all,
       division_covers('460100', '460205') AS other_city,
       division_covers('460105', '460100') AS district_not_city,
       division_covers('460000', '469999') AS last_of_province,
       division_covers('460000', '470000') AS next_province;
SELECT division_chain(NULL) IS NULL AS chain_strict, division_covers(NULL, '460105') IS NULL AS covers_strict;
SELECT codes, division_codes_valid(codes)
  FROM (VALUES ('{}'::text[]), ('{460105,110101}'), ('{460105,000000}'), ('{460105,NULL}'),
               ('{46010}'), ('{4601055}'), ('{46O105}'), ('{990000}'), ('{460005}')) v(codes);
SELECT division_codes_valid(NULL) IS NULL AS codes_valid_strict;

-- masked names: first and last character kept; one character kept as is;
-- blanks (also full-width ones) are no name
SELECT n, mask_name(n)
  FROM unnest(ARRAY['张小三', '欧阳小明', '张三', '张', '  李四  ', 'John', 'Jo', 'J',
                    'Anna Maria', '', '   ']) n;
SELECT mask_name(NULL) IS NULL AS mask_strict;
SELECT mask_name(E'\u3000') IS NULL AS ideographic_space_is_blank,
       mask_name(E'\u3000张三\u3000') AS padded_with_ideographic_spaces;

-- symptoms: a fixed vocabulary, no NULL element
SELECT s, symptoms_known(s)
  FROM (VALUES ('{}'::text[]), ('{fever,cough,loss_of_taste_or_smell}'), ('{Fever}'),
               ('{sneezing}'), ('{fever,NULL}')) v(s);
SELECT symptoms_known(NULL) IS NULL AS symptoms_strict;

-- synthetic identifiers: 18 characters, region, a real birth date, and the
-- GB 11643 check digit, computed here independently:
-- weight of position i = 2^(18-i) mod 11, check = (12 - sum mod 11) mod 11, 10 -> X
SELECT n, x AS identifier, length(x) = 18 AS len_18, left(x, 6) = '460105' AS region_prefix,
       to_char(to_date(substr(x, 7, 8), 'YYYYMMDD'), 'YYYYMMDD') = substr(x, 7, 8) AS real_date,
       right(x, 1) = (SELECT CASE c WHEN 10 THEN 'X' ELSE c::text END
                        FROM (SELECT (12 - sum(substr(x, i, 1)::int * ((2 ^ (18 - i))::bigint % 11)) % 11) % 11 AS c
                                FROM generate_series(1, 17) i) s) AS check_digit_ok
  FROM (SELECT n, synthetic_identifier('460105', n) AS x
          FROM unnest(ARRAY[0, 1, 2, 7, 999, 1000, 123456789, 19999999]::bigint[]) n) s;
SELECT count(DISTINCT synthetic_identifier('460105', n)) AS distinct_of_5000
  FROM generate_series(0, 4999) n;
SELECT synthetic_identifier(NULL, 1) IS NULL AS synthetic_strict;
-- bad arguments are refused, naming the argument
SELECT try($$SELECT synthetic_identifier('460105', -1)$$) ~ '^22023: .*\mn\M' AS negative_n_refused;
SELECT try($$SELECT synthetic_identifier('abc', 1)$$) ~ '^22023: .*region' AS malformed_region_refused;
SELECT try($$SELECT synthetic_identifier('4601055', 1)$$) ~ '^22023: .*region' AS long_region_refused;

-- policy_at: the national default until Hainan has a version of its own;
-- then the most specific region's version in force, then the latest start
SELECT region, valid_from, lookback_days, quarantine_days_red, fever_celsius FROM policy_at('460105');
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
  VALUES ('460000', '2020-01-01', 10, '海南测试规则', 'Hainan test rules');
INSERT INTO policy (region, valid_from, valid_until, lookback_days, description_zh, description_en)
  VALUES ('460100', '2021-01-01', '2021-07-01', 7, '海口测试规则', 'Haikou test rules');
SELECT r, coalesce(to_char(at, 'YYYY-MM-DD'), 'now') AS at, (policy_at(r, coalesce(at, now()))).region,
       (policy_at(r, coalesce(at, now()))).lookback_days
  FROM (VALUES ('460105', NULL), ('460100', NULL), ('460000', NULL), ('460105', '2021-03-01'::timestamptz),
               ('460105', '2019-12-31'), ('460105', '2021-07-01'), ('460205', '2021-03-01'),
               ('110101', NULL), ('000000', NULL)) v(r, at);
SELECT policy_at(NULL) IS NULL AS policy_at_strict;
SELECT try($$SELECT policy_at('46010')$$) ~ '^22023: .*region' AS policy_at_malformed_region_refused;
SELECT try($$SELECT policy_at('990000')$$) ~ '^22023: .*region' AS policy_at_unknown_region_refused;

-- ---- people: register_person ------------------------------------------------

SELECT count(*) AS people_before FROM person \gset
SELECT count(*) AS history_before FROM status_history \gset
SELECT try($$SELECT register_person('hc04 x', NULL)$$) AS null_region;
SELECT try($$SELECT register_person('hc04 x', '46010')$$) AS short_region;
SELECT try($$SELECT register_person('hc04 x', '4601055')$$) AS long_region;
SELECT try($$SELECT register_person('hc04 x', '46O105')$$) AS letter_in_region;
SELECT try($$SELECT register_person('hc04 x', '990000')$$) AS unknown_province;
SELECT try($$SELECT register_person('hc04 x', '460005')$$) AS county_without_city;
SELECT try($$SELECT register_person('hc04 x', '000000')$$) AS national_region;
SELECT try($$SELECT register_person(NULL, '460105')$$) AS null_identifier;
SELECT try($$SELECT register_person('', '460105')$$) AS empty_identifier;
SELECT try($$SELECT register_person('   ', '460105')$$) AS blank_identifier;
-- registered elsewhere: refused without echoing the identifier
SELECT try(format('SELECT register_person(%L, %L)', :'id1', '460106')) AS other_region;
-- registering again in the same region returns the same person
SELECT register_person(:'id1', '460105') = :p1 AS same_person;
SELECT count(*) - :people_before AS people_added, (SELECT count(*) FROM status_history) - :history_before AS history_added
  FROM person;
-- an identifier with surrounding blanks names the same person everywhere
SELECT register_person(' ' || :'id1' || ' ', '460105') = :p1 AS padded_registers_same;
SELECT person_id(' ' || :'id1' || ' ') IS NOT DISTINCT FROM :p1 AS padded_finds_same;

-- ---- declare -------------------------------------------------------------------

SELECT count(*) AS decl_before FROM declaration \gset
SELECT try(format('SELECT * FROM declare(%L, %L, symptoms => NULL)', :'id1', '460105')) AS null_symptoms;
SELECT try(format('SELECT * FROM declare(%L, %L, visited => NULL)', :'id1', '460105')) AS null_visited;
SELECT try(format('SELECT * FROM declare(%L, %L, contact_with_case => NULL)', :'id1', '460105')) AS null_contact;
SELECT try(format('SELECT * FROM declare(%L, %L, symptoms => %L)', :'id1', '460105', '{sneezing}')) AS unknown_symptom;
SELECT try(format('SELECT * FROM declare(%L, %L, symptoms => %L)', :'id1', '460105', '{fever,NULL}')) AS null_symptom;
SELECT try(format('SELECT * FROM declare(%L, %L, temperature => 80)', :'id1', '460105')) AS temperature_80;
SELECT try(format('SELECT * FROM declare(%L, %L, temperature => 20)', :'id1', '460105')) AS temperature_20;
SELECT try(format('SELECT * FROM declare(%L, %L, temperature => %L)', :'id1', '460105', 'NaN')) AS temperature_nan;
SELECT try(format('SELECT * FROM declare(%L, %L, temperature => 120)', :'id1', '460105'))
       ~ '^(22003|22023): .*temperature' AS temperature_120_names_field;
SELECT try(format('SELECT * FROM declare(%L, %L, visited => %L)', :'id1', '460105', '{460105,4601}')) AS malformed_visited;
SELECT try(format('SELECT * FROM declare(%L, %L, visited => %L)', :'id1', '460105', '{990000}')) AS unknown_visited;
SELECT try(format('SELECT * FROM declare(%L, %L, visited => %L)', :'id1', '460105', '{000000}')) AS national_visited;
SELECT try(format('SELECT * FROM declare(%L, %L, visited => %L)', :'id1', '460105', '{460105,NULL}')) AS null_visited_element;
SELECT try(format('SELECT * FROM declare(%L, %L)', :'id1', '4601')) AS malformed_region;
SELECT try(format('SELECT * FROM declare(%L, %L)', :'id1', '460106')) AS registered_elsewhere;
-- a new person whose first declaration is bad is not registered either
SELECT try(format('SELECT * FROM declare(%L, %L, symptoms => %L)', 'hc04 new person', '460105', '{sneezing}')) AS new_person_bad_symptom;
SELECT person_id('hc04 new person') IS NULL AS new_person_not_registered;
SELECT (SELECT count(*) FROM declaration) - :decl_before AS declarations_added,
       (SELECT count(*) FROM person) - :people_before AS people_added,
       (SELECT count(*) FROM status_history) - :history_before AS history_added;
-- a good declaration: symptoms make yellow at once
SELECT colour, vaccinated, reasons -> 0 ->> 'rule' AS rule
  FROM declare(synthetic_identifier('460105', 5), '460105', symptoms => '{cough}', temperature => 36.6);

-- ---- declare_trip, check_in, health_info -------------------------------------

SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', 'hc04 nobody', '460105')) AS unknown_person;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', NULL, '460105')) AS null_identifier;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', :'id1', NULL)) AS null_place;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', :'id1', '46010')) AS short_place;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', :'id1', '990000')) AS unknown_place;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', :'id1', '000000')) AS national_place;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, NULL)', :'id1', '460105')) AS null_time;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, %L)', :'id1', '460105', 'infinity')) AS infinite_time;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, %L)', :'id1', '460105', '-infinity')) AS minus_infinite_time;
SELECT try(format('SELECT * FROM declare_trip(%L, %L, %L)', :'id1', '460105', '2999-01-01 00:00:00+00')) AS future_trip;
-- the future trip's day partition was rolled back with it
SELECT to_regclass('healthcode.travel_29990101') IS NULL AS no_partition_left;
SELECT count(*) AS travel_rows FROM travel;

SELECT try(format('SELECT * FROM check_in(%L)', 'hc04 nobody')) AS unknown_person;
SELECT try(format('SELECT * FROM check_in(%L)', '')) AS empty_identifier;
SELECT try(format('SELECT * FROM check_in(%L, symptoms => NULL)', :'id1')) AS null_symptoms;
SELECT try(format('SELECT * FROM check_in(%L, symptoms => %L)', :'id1', '{sneezing}')) AS unknown_symptom;
SELECT try(format('SELECT * FROM check_in(%L, 80)', :'id1')) AS temperature_80;
SELECT try(format('SELECT * FROM check_in(%L, 33.9)', :'id1')) AS temperature_33_9;
SELECT try(format('SELECT * FROM check_in(%L, 200)', :'id1')) ~ '^(22003|22023): .*temperature' AS temperature_200_names_field;
SELECT count(*) AS checkins FROM checkin;

SELECT try(format('SELECT * FROM health_info(%L)', 'hc04 nobody')) AS unknown_person;
SELECT try(format('SELECT * FROM health_info(%L)', '')) AS empty_identifier;
SELECT try('SELECT * FROM health_info(NULL)') AS null_identifier;
SELECT person_id = :p1 AS is_p1, colour, vaccinated, reasons, valid_until FROM health_info(:'id1');

-- ---- issue_for -------------------------------------------------------------------

SELECT create_key('460000') IS NOT NULL AS hainan_key;
SELECT try($$SELECT issue_for(999999)$$) AS unknown_person;
SELECT try($$SELECT issue_for(NULL)$$) AS null_person;
SELECT try(format('SELECT issue_for(%s, NULL)', :p1)) AS null_validity;
SELECT try(format('SELECT issue_for(%s, %L)', :p1, '0 seconds')) AS zero_validity;
SELECT try(format('SELECT issue_for(%s, %L)', :p1, '-1 minute')) AS negative_validity;
-- a green person whose status never changes gets a code
SELECT try(format('SELECT issue_for(%s)', :p1)) AS green_person_gets_code;
-- a yellow one whose status holds until further notice too
SELECT try(format('SELECT issue_for(%s)', :p5)) AS yellow_person_gets_code;
-- an override with an end: the code carries its colour, for 5 minutes
SELECT record_decision(:p4, 'override', 'hc04 test', 'hc04 order 1', 'yellow', now(), now() + interval '1 day') > 0 AS decided;
SELECT colour(c), vaccinated(c), region(c), expires_at(c) - issued_at(c) AS lifetime, (verify(c)).reason
  FROM (SELECT issue_for(:p4) AS c) s;
-- never beyond the status's valid_until
SELECT expires_at(issue_for(:p4, '2 days')) <= (SELECT valid_until FROM status(:p4)) AS capped_by_status;

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

SELECT import_travel(format('[{"person_id": %s, "place": "460105", "at": "2020-01-01T10:00:00+08:00"}]', :p1)::json) AS imported;
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

-- ---- imports -----------------------------------------------------------------------

-- not an array: 22023
SELECT try($$SELECT import_travel(NULL)$$) AS travel_null;
SELECT try($$SELECT import_travel('{"person_id": 1}')$$) AS travel_object;
SELECT try($$SELECT import_test_results('"x"')$$) AS test_results_string;
SELECT try($$SELECT import_vaccinations('1')$$) AS vaccinations_number;
SELECT try($$SELECT import_contacts('null')$$) AS contacts_json_null;
SELECT try($$SELECT import_risk_areas('{}')$$) AS risk_areas_object;
SELECT try($$SELECT import_risk_areas(NULL)$$) AS risk_areas_null;
-- an empty array imports nothing
SELECT import_travel('[]') AS t, import_test_results('[]') AS r, import_vaccinations('[]') AS v,
       import_contacts('[]') AS c, import_risk_areas('[]') AS a;

-- people: unknown, not an object, malformed id; nothing of the import is written
SELECT count(*) AS travel_before FROM travel \gset
SELECT try(format('SELECT import_travel(%L)', format(
  '[{"person_id": %s, "place": "460105", "at": "2020-01-02T10:00:00+08:00"}, 5, {"identifier": "hc04 nobody"}, {"person_id": 999999}]',
  :p1))) AS unknown_people;
SELECT try($$SELECT import_vaccinations('[{"person_id": null, "dose": 1, "given_at": "2021-01-01"}]')$$) AS null_person_id;
SELECT try($$SELECT import_contacts('[{"kind": "close", "exposure_at": "2021-01-01", "source_case": "x"}]')$$) AS no_person;
SELECT try($$SELECT import_travel('[{"person_id": "abc", "place": "460105", "at": "2020-01-02T10:00:00+08:00"}]')$$) AS malformed_person_id;
SELECT count(*) - :travel_before AS travel_added, to_regclass('healthcode.travel_20200102') IS NULL AS no_partition_left
  FROM travel;

-- malformed and impossible times
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "yesterday noon"}]', :p1))) AS malformed_time;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2020-13-01T10:00:00+08:00"}]', :p1))) AS month_13;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "12:00 last tuesday", "result": "negative", "lab": "hc04 lab", "sample_id": "t0"}]', :p1))) AS malformed_time;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 1, "given_at": "2021-02-30"}]', :p1))) AS february_30;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "exposure_at": "soon", "source_case": "x"}]', :p1))) AS malformed_time;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "high", "effective_from": "01/02/03/04"}]')$$) AS malformed_time;
-- a stay without a time, or at infinity, is refused for what it is (not
-- as a row that fits no day partition)
SELECT e ~ '^(23502|23514|22023): ' AND e ~ '\mat\M' AND e !~ 'partition' AS travel_missing_time_names_at
  FROM try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105"}]', :p1))) e;
SELECT e ~ '^(23514|22023): ' AND e ~ '\mat\M|at_is_finite' AND e !~ 'partition' AS travel_infinite_time_names_at
  FROM try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "infinity"}]', :p1))) e;

-- travel: bad places and sources
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "4601", "at": "2020-01-02T10:00:00+08:00"}]', :p1))) AS malformed_place;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "990000", "at": "2020-01-02T10:00:00+08:00"}]', :p1))) AS unknown_place;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "000000", "at": "2020-01-02T10:00:00+08:00"}]', :p1))) AS national_place;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "at": "2020-01-02T10:00:00+08:00"}]', :p1))) AS missing_place;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2020-01-02T10:00:00+08:00", "source": "gps"}]', :p1))) AS unknown_source;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2999-01-01T08:00:00+08:00"}]', :p1))) AS future_stay;
-- one bad record among good ones: nothing written, no partition left
SELECT try(format('SELECT import_travel(%L)', format(
  '[{"person_id": %1$s, "place": "460105", "at": "2020-01-02T10:00:00+08:00"},
    {"person_id": %1$s, "place": "460106", "at": "2020-01-03T10:00:00+08:00"},
    {"person_id": %1$s, "place": "46O106", "at": "2020-01-04T10:00:00+08:00"}]', :p1))) AS one_bad_of_three;
SELECT count(*) - :travel_before AS travel_added,
       (SELECT count(*) FROM pg_class WHERE relname IN ('travel_20200102', 'travel_20200103', 'travel_20200104')) AS partitions_left
  FROM travel;

-- test results: unknown kinds and results, missing lab or sample, a sample
-- of someone else, one bad result among good ones
SELECT count(*) AS history_before FROM status_history \gset
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "blood", "sampled_at": "2021-01-01", "result": "negative", "lab": "hc04 lab", "sample_id": "t1"}]', :p2))) AS unknown_kind;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "2021-01-01", "result": "unclear", "lab": "hc04 lab", "sample_id": "t1"}]', :p2))) AS unknown_result;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "2021-01-01", "result": "negative", "lab": "", "sample_id": "t1"}]', :p2))) AS empty_lab;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "2021-01-01", "result": "negative", "lab": "hc04 lab"}]', :p2))) AS missing_sample;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "result": "negative", "lab": "hc04 lab", "sample_id": "t1"}]', :p2))) AS missing_time;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "-infinity", "result": "negative", "lab": "hc04 lab", "sample_id": "t1"}]', :p2))) AS infinite_time;
SELECT try(format('SELECT import_test_results(%L)', format('[{"person_id": %s, "kind": "pcr", "sampled_at": "2999-01-01T00:00:00Z", "result": "negative", "lab": "hc04 lab", "sample_id": "t1"}]', :p2))) AS future_sample;
SELECT try(format('SELECT import_test_results(%L)', format(
  '[{"person_id": %1$s, "kind": "pcr", "sampled_at": "%2$s", "result": "positive", "lab": "hc04 lab", "sample_id": "t1"},
    {"person_id": %1$s, "kind": "pcr", "sampled_at": "%2$s", "result": "positive?", "lab": "hc04 lab", "sample_id": "t2"}]',
  :p2, now() - interval '1 day'))) AS one_bad_of_two;
SELECT (SELECT count(*) FROM test_result) AS test_results,
       (SELECT count(*) FROM status_history) - :history_before AS history_added,
       (SELECT colour FROM status(:p2)) AS p2_colour;
-- the good record alone makes red (so the check above could have failed)
SELECT import_test_results(format(
  '[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "positive", "lab": "hc04 lab", "sample_id": "t1"}]',
  :p2, now() - interval '1 day')::json) AS imported;
SELECT (SELECT count(*) FROM status_history) - :history_before AS history_added,
       (SELECT colour FROM status(:p2)) AS p2_colour;
-- a record naming one person with another person's sample (lab + sample id)
-- is refused: it must not change the other person's result
SELECT import_test_results(format(
  '[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "hc04 lab", "sample_id": "p6-a"}]',
  :p6, now() - interval '1 day')::json) AS imported;
SELECT try(format('SELECT import_test_results(%L)', format(
  '[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "positive", "lab": "hc04 lab", "sample_id": "p6-a"}]',
  :p2, now() - interval '1 day'))) ~ '^22023: .*record 1' AS other_persons_sample_refused;
SELECT person_id = :p6 AS still_p6, result FROM test_result WHERE sample_id = 'p6-a';
SELECT colour FROM status(:p6);
-- the same sample twice in one import: refused naming the record, or taken in order
SELECT try(format('SELECT import_test_results(%L)', format(
  '[{"person_id": %1$s, "kind": "pcr", "sampled_at": "%2$s", "result": "negative", "lab": "hc04 lab", "sample_id": "p6-b"},
    {"person_id": %1$s, "kind": "antigen", "sampled_at": "%2$s", "result": "negative", "lab": "hc04 lab", "sample_id": "p6-b"}]',
  :p6, now() - interval '1 day'))) ~ '^(no error|22023: .*record 2)' AS same_sample_twice_handled;

-- vaccinations: doses 0, 11, not a number, a fraction, too big; missing fields
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 0, "given_at": "2021-01-01"}]', :p1))) AS dose_0;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 11, "given_at": "2021-01-01"}]', :p1))) AS dose_11;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": -1, "given_at": "2021-01-01"}]', :p1))) AS dose_minus_1;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": "two", "given_at": "2021-01-01"}]', :p1))) AS dose_text;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 1.5, "given_at": "2021-01-01"}]', :p1))) AS dose_fraction;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "given_at": "2021-01-01"}]', :p1))) AS missing_dose;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 1}]', :p1))) AS missing_time;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 1, "given_at": "infinity"}]', :p1))) AS infinite_time;
SELECT try(format('SELECT import_vaccinations(%L)', format('[{"person_id": %s, "dose": 1, "given_at": "2999-01-01"}]', :p1))) AS future_dose;
SELECT try(format('SELECT import_vaccinations(%L)', format(
  '[{"person_id": %1$s, "dose": 1, "given_at": "2021-01-01"}, {"person_id": %1$s, "dose": 2, "given_at": "2021-03-01"},
    {"person_id": %1$s, "dose": 0, "given_at": "2021-05-01"}]', :p1))) AS one_bad_of_three;
SELECT count(*) AS vaccinations FROM vaccination;

-- contacts: unknown kind, empty or missing case, missing time, future
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "casual", "exposure_at": "2021-01-01", "source_case": "x"}]', :p1))) AS unknown_kind;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "exposure_at": "2021-01-01", "source_case": "x"}]', :p1))) AS missing_kind;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "exposure_at": "2021-01-01", "source_case": ""}]', :p1))) AS empty_case;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "exposure_at": "2021-01-01"}]', :p1))) AS missing_case;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "source_case": "x"}]', :p1))) AS missing_time;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "exposure_at": "-infinity", "source_case": "x"}]', :p1))) AS infinite_time;
SELECT try(format('SELECT import_contacts(%L)', format('[{"person_id": %s, "kind": "close", "exposure_at": "2999-01-01", "source_case": "x"}]', :p1))) AS future_exposure;
SELECT count(*) AS history_before FROM status_history \gset
SELECT try(format('SELECT import_contacts(%L)', format(
  '[{"person_id": %1$s, "kind": "close", "exposure_at": "%2$s", "source_case": "hc04-case-2"},
    {"person_id": %1$s, "kind": "close", "exposure_at": "%2$s", "source_case": ""}]', :p7, now() - interval '1 day'))) AS one_bad_of_two;
SELECT (SELECT count(*) FROM contact WHERE person_id = :p7) AS contacts,
       (SELECT count(*) FROM status_history) - :history_before AS history_added,
       (SELECT colour FROM status(:p7)) AS p7_colour;
-- the good record alone makes red
SELECT import_contacts(format('[{"person_id": %s, "kind": "close", "exposure_at": "%s", "source_case": "hc04-case-2"}]',
                              :p7, now() - interval '1 day')::json) AS imported;
SELECT (SELECT count(*) FROM status_history) - :history_before AS history_added, (SELECT colour FROM status(:p7)) AS p7_colour;

-- risk areas: bad divisions, levels, times, ranges
SELECT try($$SELECT import_risk_areas('[{"division": "4601", "level": "high", "effective_from": "2021-01-01"}]')$$) AS malformed_division;
SELECT try($$SELECT import_risk_areas('[{"division": "990000", "level": "high", "effective_from": "2021-01-01"}]')$$) AS unknown_division;
SELECT try($$SELECT import_risk_areas('[{"division": "000000", "level": "high", "effective_from": "2021-01-01"}]')$$) AS national_division;
SELECT try($$SELECT import_risk_areas('[{"level": "high", "effective_from": "2021-01-01"}]')$$) AS missing_division;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "extreme", "effective_from": "2021-01-01"}]')$$) AS unknown_level;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "high"}]')$$) AS missing_start;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "high", "effective_from": "-infinity"}]')$$) AS infinite_start;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "high", "effective_from": "2021-01-02", "effective_until": "2021-01-01"}]')$$) AS ends_before_start;
SELECT try($$SELECT import_risk_areas('[{"division": "460105", "level": "high", "effective_from": "2021-01-02", "effective_until": "2021-01-02"}]')$$) AS ends_at_start;
SELECT try($$SELECT import_risk_areas('[5]')$$) AS not_an_object;
SELECT count(*) AS history_before FROM status_history \gset
-- p8 stayed in 460106 yesterday; a good high-risk bulletin for it with a bad one
SELECT import_travel(format('[{"person_id": %s, "place": "460106", "at": "%s"}]', :p8, now() - interval '1 day')::json) AS imported;
SELECT try(format('SELECT import_risk_areas(%L)', format(
  '[{"division": "460106", "level": "high", "effective_from": "%s"},
    {"division": "460107", "level": "severe", "effective_from": "%s"}]', now() - interval '2 days', now() - interval '2 days'))) AS one_bad_of_two;
SELECT (SELECT count(*) FROM risk_area) AS risk_areas, (SELECT count(*) FROM status_history) - :history_before AS history_added,
       (SELECT colour FROM status(:p8)) AS p8_colour;
-- the good bulletin alone makes p8 red
SELECT import_risk_areas(format('[{"division": "460106", "level": "high", "effective_from": "%s"}]', now() - interval '2 days')::json) AS imported;
SELECT (SELECT count(*) FROM status_history) - :history_before AS history_added, (SELECT colour FROM status(:p8)) AS p8_colour;
SELECT try(format('SELECT import_risk_areas(%L)', format(
  '[{"division": "460106", "level": "high", "effective_from": "%1$s"}, {"division": "460106", "level": "medium", "effective_from": "%1$s"}]',
  now() - interval '2 days'))) ~ '^(no error|22023: .*record 2)' AS same_bulletin_twice_handled;

-- ---- day partitions and the synthetic population ---------------------------------

SELECT try($$SELECT create_travel_partitions('2019-11-30', '2019-12-01')$$) AS before_the_era;
SELECT try(format('SELECT import_travel(%L)', format('[{"person_id": %s, "place": "460105", "at": "2019-11-30T10:00:00+08:00"}]', :p1))) AS stay_before_the_era;
SELECT try($$SELECT create_travel_partitions(NULL, '2020-01-01')$$) AS null_first;
SELECT try($$SELECT create_travel_partitions('2020-01-01', NULL)$$) AS null_last;
SELECT try($$SELECT create_travel_partitions('-infinity', '2020-01-01')$$) AS infinite_first;
SELECT try($$SELECT create_travel_partitions('2020-01-01', 'infinity')$$) AS infinite_last;
SELECT try($$SELECT create_travel_partitions('2020-01-01', '2031-01-01')$$) AS eleven_years;
SELECT create_travel_partitions('2020-02-03', '2020-02-01') AS backwards;
SELECT create_travel_partitions('2020-02-01', '2020-02-03') AS made, create_travel_partitions('2020-02-01', '2020-02-03') AS again;
SELECT try($$SELECT drop_expired_travel_partitions(NULL)$$) AS null_margin;
SELECT try($$SELECT drop_expired_travel_partitions('-1 day')$$) AS negative_margin;
SELECT try($$SELECT drop_expired_travel_partitions('1000000 years')$$) ~ '^22023: .*margin' AS huge_margin_names_margin;
-- the expired days are the old ones this file made
SELECT * FROM drop_expired_travel_partitions();
SELECT count(*) AS travel_rows FROM travel;

SELECT try($$SELECT * FROM generate_population(NULL)$$) AS null_people;
SELECT try($$SELECT * FROM generate_population(0)$$) AS no_people;
SELECT try($$SELECT * FROM generate_population(10000001)$$) AS too_many_people;
SELECT try($$SELECT * FROM generate_population(1, NULL)$$) AS null_stays;
SELECT try($$SELECT * FROM generate_population(1, -1)$$) AS negative_stays;
SELECT try($$SELECT * FROM generate_population(1, 1001)$$) AS too_many_stays;
SELECT try($$SELECT * FROM generate_population(1, 1, NULL)$$) AS null_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 0)$$) AS zero_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 367)$$) AS too_many_days;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, NULL)$$) AS null_seed;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, 1.5)$$) AS seed_too_big;
SELECT try($$SELECT * FROM generate_population(1, 1, 1, 'NaN')$$) AS nan_seed;

-- ---- direct INSERTs into the tables ----------------------------------------------

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

-- ---- how far in the future: healthcode.clock_skew ---------------------------------

SHOW healthcode.clock_skew;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '4 minutes', 'skew-1')) AS four_minutes_ahead;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '6 minutes', 'skew-2')) AS six_minutes_ahead;
SET healthcode.clock_skew = 0;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '1 second', 'skew-3')) AS one_second_ahead_no_skew;
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now(), %L)', :p5, '460105', 'secondary', 'skew-4')) AS now_no_skew;
SET healthcode.clock_skew = '1h';
SELECT try(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '50 minutes', 'skew-5')) AS fifty_minutes_ahead_1h;
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES (%s, %L, %L, now() + interval %L, %L)', :p5, '460105', 'secondary', '70 minutes', 'skew-6')) AS seventy_minutes_ahead_1h;
RESET healthcode.clock_skew;
-- the latest row of a statement counts: one future row of many spoils all
SELECT pg_temp.tryn(format('INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES
  (%1$s, %2$L, %3$L, now() - interval %4$L, %5$L), (%1$s, %2$L, %3$L, now() + interval %6$L, %5$L)',
  :p5, '460105', 'secondary', '1 day', 'skew-7', '1 day')) AS one_future_of_two;
SELECT source_case FROM contact WHERE person_id = :p5 ORDER BY source_case;

-- ---- policy: the national default is fixed; regional versions are checked ----------

SELECT try($$UPDATE policy SET lookback_days = 7 WHERE region = '000000'$$) AS update_national;
SELECT try($$UPDATE policy SET valid_from = '2020-01-01' WHERE region = '000000'$$) AS move_national;
SELECT try($$DELETE FROM policy WHERE region = '000000'$$) AS delete_national;
SELECT try($$TRUNCATE policy$$) AS truncate_policy;
SELECT try($$INSERT INTO policy (region, valid_from, description_zh, description_en) VALUES ('000000', '-infinity', 'x', 'y')$$) AS second_national_default;
-- deleting every version fails as a whole: the regional ones stay
SELECT try($$DELETE FROM policy$$) AS delete_all;
SELECT region, valid_from, lookback_days FROM policy ORDER BY id;
-- a regional version can change (and be changed back)
UPDATE policy SET lookback_days = 12 WHERE region = '460000';
SELECT (policy_at('460105')).lookback_days;
UPDATE policy SET lookback_days = 10 WHERE region = '460000';
-- bad parameters: each refused naming its constraint
SELECT try($$INSERT INTO policy (region, description_zh, description_en) VALUES ('4600', 'x', 'y')$$) AS malformed_region;
SELECT try($$INSERT INTO policy (region, description_zh, description_en) VALUES ('990000', 'x', 'y')$$) AS unknown_region;
SELECT try($$INSERT INTO policy (region, valid_from, description_zh, description_en) VALUES ('460100', 'infinity', 'x', 'y')$$) AS starts_at_infinity;
SELECT try($$INSERT INTO policy (region, valid_from, valid_until, description_zh, description_en) VALUES ('460100', '2022-01-01', 'infinity', 'x', 'y')$$) AS ends_at_infinity;
SELECT try($$INSERT INTO policy (region, valid_from, valid_until, description_zh, description_en) VALUES ('460100', '2022-01-01', '2021-01-01', 'x', 'y')$$) AS ends_before_start;
SELECT try($$INSERT INTO policy (region, lookback_days, description_zh, description_en) VALUES ('460100', 0, 'x', 'y')$$) AS lookback_0;
SELECT try($$INSERT INTO policy (region, lookback_days, description_zh, description_en) VALUES ('460100', 367, 'x', 'y')$$) AS lookback_367;
SELECT try($$INSERT INTO policy (region, quarantine_days_red, description_zh, description_en) VALUES ('460100', 0, 'x', 'y')$$) AS quarantine_red_0;
SELECT try($$INSERT INTO policy (region, quarantine_days_yellow, description_zh, description_en) VALUES ('460100', 400, 'x', 'y')$$) AS quarantine_yellow_400;
SELECT try($$INSERT INTO policy (region, red_release_negative_tests, description_zh, description_en) VALUES ('460100', -1, 'x', 'y')$$) AS negative_tests_minus_1;
SELECT try($$INSERT INTO policy (region, negative_test_valid_hours, description_zh, description_en) VALUES ('460100', 745, 'x', 'y')$$) AS test_valid_745_hours;
SELECT try($$INSERT INTO policy (region, fever_celsius, description_zh, description_en) VALUES ('460100', 34.9, 'x', 'y')$$) AS fever_34_9;
SELECT try($$INSERT INTO policy (region, fever_celsius, description_zh, description_en) VALUES ('460100', 100, 'x', 'y')$$)
       ~ '^(22023|23514): .*fever_celsius' AS fever_100_names_field;
SELECT try($$INSERT INTO policy (region, vaccinated_min_doses, description_zh, description_en) VALUES ('460100', 11, 'x', 'y')$$) AS min_doses_11;
SELECT try($$INSERT INTO policy (region, test_window, description_zh, description_en) VALUES ('460100', 'weeks', 'x', 'y')$$) AS unknown_test_window;
SELECT try($$INSERT INTO policy (region, symptoms_yellow, description_zh, description_en) VALUES ('460100', NULL, 'x', 'y')$$) AS null_flag;
SELECT try($$INSERT INTO policy (region, description_zh, description_en) VALUES ('460100', '', 'y')$$) AS empty_description_zh;
SELECT try($$INSERT INTO policy (region, description_zh) VALUES ('460100', 'x')$$) AS missing_description_en;
SELECT try($$INSERT INTO policy (region, valid_from, description_zh, description_en) VALUES ('460000', '2020-01-01', 'x', 'y')$$) AS same_start_twice;
SELECT try($$INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en) VALUES
  ('460100', '2023-01-01', 5, 'x', 'y'), ('460100', '2024-01-01', 0, 'x', 'y')$$) AS one_bad_of_two;
SELECT count(*) AS versions FROM policy;

-- ---- status reads at the ends of time ------------------------------------------------

SELECT left(try(format('SELECT * FROM status(%s, %L)', :p1, 'infinity')), 5) <> 'XX000' AS no_internal_error_at_infinity;

-- ---- the stored statuses agree with a full recalculation --------------------------------

SELECT count(*) AS inconsistent FROM check_consistency();

-- ---- permissions: 42501 --------------------------------------------------------------

CREATE ROLE hc04_status_user;
SET ROLE hc04_status_user;
SELECT try($$SELECT healthcode.register_person('hc04 x', '460105')$$) AS register_person;
SELECT try($$SELECT * FROM healthcode.declare('hc04 x', '460105')$$) AS declare;
SELECT try($$SELECT * FROM healthcode.check_in('hc04 x')$$) AS check_in;
SELECT try($$SELECT healthcode.issue_for(1)$$) AS issue_for;
SELECT try($$SELECT healthcode.import_test_results('[]')$$) AS import_test_results;
SELECT try($$SELECT healthcode.create_travel_partitions()$$) AS create_travel_partitions;
SELECT try($$SELECT * FROM healthcode.generate_population(1)$$) AS generate_population;
SELECT try($$INSERT INTO healthcode.declaration (person_id, region) VALUES (1, '460105')$$) AS insert_declaration;
SELECT try($$SELECT count(*) FROM healthcode.person$$) AS read_person;
SELECT try($$SELECT count(*) FROM healthcode.current_status$$) AS read_current_status;
SELECT try($$DELETE FROM healthcode.policy WHERE region = '460000'$$) AS delete_policy;
SELECT healthcode.mask_name('张小三') AS mask_name_is_public;
RESET ROLE;
DROP ROLE hc04_status_user;

-- ---- a session that has not loaded the module yet ------------------------------------
-- The status triggers read healthcode.* settings; they must work before
-- any of the extension's C functions has been called in the session.
\c -
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT try(format('INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (%s, %L, 3, %L)', :p1, '460105', '2021-06-01')) AS insert_in_fresh_session;
SELECT try(format('SELECT record_decision(%s, %L, %L, %L)', :p1, 'medical_release', 'hc04 fresh session', 'hc04 order 2')) ~ '^no error' AS decision_in_fresh_session;
