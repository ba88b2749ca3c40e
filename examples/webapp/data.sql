-- The reference web app's data, run by a superuser in an empty database
-- with healthcode preloaded and a server key (examples/webapp/stack.sh):
-- issuer keys, a small synthetic population with trends to chart, the
-- people the pages are tried with, a venue, and the three logins the app
-- connects as (never a superuser), each mapped to Zhejiang (330000).
-- psql variables: app_password, verifier_password, analyst_password.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
SET search_path = healthcode, public;

SELECT create_key('330000') IS NOT NULL AS zhejiang_key, create_key('110000') IS NOT NULL AS beijing_key;
-- (people in both provinces: the analyst's trends have something to show)
SELECT sum(rows) AS generated FROM generate_population(600);

-- The people the pages are tried with:
--   张小明, green: a negative test this morning, two doses;
--   李红, red: a positive test an hour ago;
--   赵大 and 赵老: 赵老 has no phone, 赵大 is her guardian;
--   王北京, registered in Beijing: the Zhejiang app must never show him.
SELECT person_id AS web_green FROM declare('330106199203154415', '330106', '张小明', visited => '{}', temperature => 36.6) \gset
SELECT person_id AS web_red FROM declare('330106199506202349', '330106', '李红', visited => '{}', temperature => 37.9) \gset
SELECT person_id AS web_guardian FROM declare('330106198001011235', '330106', '赵大', visited => '{}', temperature => 36.5) \gset
SELECT register_person('330106194001015676', '330106', '赵老') AS web_dependant \gset
SELECT link_guardian('330106198001011235', '330106194001015676', 'child', 'consent form HZ-2022-001') IS NOT NULL AS linked;
SELECT register_person('110101199001011237', '110101', '王北京') IS NOT NULL AS beijing_registered;
SELECT import_test_results(json_build_array(
         json_build_object('person_id', :web_green, 'kind', 'pcr', 'result', 'negative',
                           'sampled_at', now() - interval '5 hours', 'lab', 'web demo lab', 'sample_id', 'WEB-1'),
         json_build_object('person_id', :web_red, 'kind', 'pcr', 'result', 'positive',
                           'sampled_at', now() - interval '1 hour', 'lab', 'web demo lab', 'sample_id', 'WEB-2'))) AS tests;
SELECT import_vaccinations(json_build_array(
         json_build_object('person_id', :web_green, 'dose', 1, 'given_at', now() - interval '200 days', 'product', 'CoronaVac'),
         json_build_object('person_id', :web_green, 'dose', 2, 'given_at', now() - interval '170 days', 'product', 'CoronaVac'))) AS doses;
-- (an itinerary for the card: Shanghai, then Hangzhou's 上城区, none of
-- them where generate_population designated a risk area)
SELECT import_travel(json_build_array(
         json_build_object('person_id', :web_green, 'place', '310101', 'at', now() - interval '6 days'),
         json_build_object('person_id', :web_green, 'place', '330102', 'at', now() - interval '3 days'))) AS stays;

-- A supermarket in a community of 上城区, whose door keeper's page shows
-- its printed code
SELECT create_venue('330102001001', '湖滨银泰', 'supermarket', '延安路 258 号') AS web_venue \gset

-- The analysts' days (the daily job rolls up yesterday; here the last week)
SELECT sum(rollup_day(d::date)) > 0 AS rolled_up
  FROM generate_series((now() AT TIME ZONE 'Asia/Shanghai')::date - 7, (now() AT TIME ZONE 'Asia/Shanghai')::date, interval '1 day') d;

-- The logins the app connects as: one a role, each scoped to Zhejiang
CREATE ROLE web_app LOGIN PASSWORD :'app_password' IN ROLE healthcode_app;
CREATE ROLE web_verifier LOGIN PASSWORD :'verifier_password' IN ROLE healthcode_verifier;
CREATE ROLE web_analyst LOGIN PASSWORD :'analyst_password' IN ROLE healthcode_analyst;
SELECT grant_region('web_app', '330000'), grant_region('web_verifier', '330000'), grant_region('web_analyst', '330000');

-- What the app's own configuration holds (stack.sh writes it to its
-- users file): the venue's printed code for its door keeper's page
SELECT venue_code(:web_venue) AS web_venue_code \gset
\o :out
SELECT json_build_object('venue_id', :web_venue, 'venue_code', :'web_venue_code')::text;
\o
