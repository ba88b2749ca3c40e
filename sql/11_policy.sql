-- The policy table: the national default is fixed, regional versions can
-- change, and every bad parameter is refused naming its constraint; one
-- bad version of many writes nothing. (policy_at is tested in
-- 04_helpers.sql.)
-- Needs: the national default and the two Hainan versions 04_helpers.sql
-- added (460000 from 2020, lookback 10; 460100 for the first half of 2021).
SET search_path = public, healthcode;
SET timezone = 'UTC';

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
