-- The five imports (import_travel, import_test_results,
-- import_vaccinations, import_contacts, import_risk_areas) and their bad
-- input: not an array, unknown people, malformed and impossible times and
-- values, and all or nothing: one bad record writes nothing (no evidence,
-- no day partition, no history), and the good records alone do change a
-- colour, so those checks could fail.
-- Needs: the people of 04_helpers.sql (p2, p6, p7 and p8 still green) and
-- the evidence 05_people.sql and 06_review.sql wrote (several counts below
-- are of whole tables).
-- Leaves: p6's sample p6-a, p8's stay of yesterday in a high-risk area.
SET search_path = public, healthcode;
SET timezone = 'UTC';
SELECT person_id(synthetic_identifier('460105', 1)) AS p1, person_id(synthetic_identifier('460106', 2)) AS p2,
       person_id(synthetic_identifier('460105', 6)) AS p6, person_id(synthetic_identifier('460105', 7)) AS p7,
       person_id(synthetic_identifier('460105', 8)) AS p8 \gset

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
-- an identifier that is no valid document: the record and field named, the identifier never shown
SELECT try($$SELECT import_vaccinations('[{"identifier": "460105195001010000", "dose": 1, "given_at": "2021-01-01"}]')$$) AS bad_identifier;
SELECT try($$SELECT import_vaccinations('[{"identifier": 460105195001010000, "dose": 1, "given_at": "2021-01-01"}]')$$) AS identifier_as_number;
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
