-- The status engine's SQL surface and its bad input, files 04 to 14 (one
-- topic each; they run in this order in one database, and each later file
-- starts from what the earlier ones left). This one creates the extension
-- again (03_qr.sql dropped it), registers the people the later files use
-- (p1 to p8, named so by pname(): each later file looks them up by identifier) and
-- tests the helpers: division codes, mask_name, symptoms_known,
-- synthetic_identifier and policy_at, which adds the two Hainan policy
-- versions every later file computes statuses with (11_policy.sql checks
-- the policy table itself). The regression cluster runs with
-- healthcode.server_key_file set (see tools/test.sh). Everything lives in
-- Hainan (460000), which no other test uses.
CREATE EXTENSION healthcode;
SET search_path = public, healthcode;
SET timezone = 'UTC';

-- The people of files 04 to 14, registered first so that pname() calls them p1, p2, p3, ...
SELECT register_person(synthetic_identifier('460105', 1), '460105', '王小明') AS p1 \gset
SELECT register_person(synthetic_identifier('460106', 2), '460106', 'Anna Maria') AS p2 \gset
SELECT register_person(synthetic_identifier('460105', 3), '460105') AS p3 \gset
SELECT register_person(synthetic_identifier('460105', 4), '460105') AS p4 \gset
SELECT register_person(synthetic_identifier('460105', 5), '460105') AS p5 \gset
SELECT register_person(synthetic_identifier('460105', 6), '460105') AS p6 \gset
SELECT register_person(synthetic_identifier('460105', 7), '460105') AS p7 \gset
SELECT register_person(synthetic_identifier('460105', 8), '460105') AS p8 \gset
SELECT synthetic_identifier('460105', 1) AS id1 \gset
SELECT pname(id) AS person, region, display_name, length(subject) AS subject_len FROM person ORDER BY registered_at, id;
SELECT pname(person_id) AS person, colour, vaccinated, reasons, valid_until FROM current_status ORDER BY 1;
SELECT pname(person_id) AS person, from_colour, to_colour, cause FROM status_history ORDER BY 1;

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
