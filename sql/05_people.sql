-- What a person does, and its bad input: register_person, declare,
-- declare_trip, check_in, health_info and issue_for (a signed code from
-- the stored status), and that a statement with a bad argument writes
-- nothing (no person, no evidence, no history).
-- Needs: the extension and the people p1 to p8 of 04_helpers.sql (the
-- counts of people, declarations and history are taken here first).
-- Leaves: p5 yellow (symptoms), p4 under a yellow override, Hainan's key.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT synthetic_identifier('460105', 1) AS id1, person_id(synthetic_identifier('460105', 1)) AS p1,
       person_id(synthetic_identifier('460105', 4)) AS p4, person_id(synthetic_identifier('460105', 5)) AS p5 \gset

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
-- an identifier must be a valid document: the message says what is wrong, never the identifier
SELECT try($$SELECT register_person('bad id', '460105')$$) AS not_a_document;
SELECT try(format('SELECT register_person(%L, %L)',
                  left(:'id1', 17) || CASE right(:'id1', 1) WHEN '0' THEN '1' ELSE '0' END, '460105')) AS wrong_check_character;
SELECT try($$SELECT register_person('460105199002300011', '460105')$$) AS no_such_birth_date;
SELECT try($$SELECT register_person('790105199001010011', '460105')$$) AS no_such_province;
SELECT try($$SELECT register_person('CN:E12345678', '460105')$$) AS passport_country_of_two_letters;
SELECT * FROM identifier_check(' ' || lower(left(:'id1', 6)) || ' ' || substr(:'id1', 7));
SELECT * FROM identifier_check('h1234567801');
SELECT * FROM identifier_check('CHN:EA1234567');
SELECT valid, document, problem FROM identifier_check('CHN:EI1234567');
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
SELECT try(format('SELECT * FROM declare(%L, %L, symptoms => %L)', synthetic_identifier('460105', 9001), '460105', '{sneezing}')) AS new_person_bad_symptom;
SELECT person_id(synthetic_identifier('460105', 9001)) IS NULL AS new_person_not_registered;
SELECT (SELECT count(*) FROM declaration) - :decl_before AS declarations_added,
       (SELECT count(*) FROM person) - :people_before AS people_added,
       (SELECT count(*) FROM status_history) - :history_before AS history_added;
-- a good declaration: symptoms make yellow at once
SELECT colour, vaccinated, reasons -> 0 ->> 'rule' AS rule
  FROM declare(synthetic_identifier('460105', 5), '460105', symptoms => '{cough}', temperature => 36.6);

-- ---- declare_trip, check_in, health_info -------------------------------------

SELECT try(format('SELECT * FROM declare_trip(%L, %L, now())', synthetic_identifier('460105', 9002), '460105')) AS unknown_person;
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

SELECT try(format('SELECT * FROM check_in(%L)', synthetic_identifier('460105', 9002))) AS unknown_person;
SELECT try(format('SELECT * FROM check_in(%L)', '')) AS empty_identifier;
SELECT try(format('SELECT * FROM check_in(%L, symptoms => NULL)', :'id1')) AS null_symptoms;
SELECT try(format('SELECT * FROM check_in(%L, symptoms => %L)', :'id1', '{sneezing}')) AS unknown_symptom;
SELECT try(format('SELECT * FROM check_in(%L, 80)', :'id1')) AS temperature_80;
SELECT try(format('SELECT * FROM check_in(%L, 33.9)', :'id1')) AS temperature_33_9;
SELECT try(format('SELECT * FROM check_in(%L, 200)', :'id1')) ~ '^(22003|22023): .*temperature' AS temperature_200_names_field;
SELECT count(*) AS checkins FROM checkin;

SELECT try(format('SELECT * FROM health_info(%L)', synthetic_identifier('460105', 9002))) AS unknown_person;
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
SELECT expires_at(issue_for(:p4, '5 minutes')) <= (SELECT valid_until FROM status(:p4)) AS capped_by_status;
