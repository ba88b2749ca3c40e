-- The healthcode demo, run by tools/demo.sh in a throwaway cluster.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
SET search_path = healthcode, public;

\echo
\echo '== 1. Issuer keys: Zhejiang (330000), Beijing (110000) and the national issuer (000000)'
SELECT create_key('330000') IS NOT NULL AS zhejiang,
       create_key('110000') IS NOT NULL AS beijing,
       create_key('000000') IS NOT NULL AS national;
SELECT region, encode(key_id, 'hex') AS key_id, status,
       to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_until, 'YYYY-MM-DD') AS valid_until
  FROM trust_list ORDER BY region;

\echo
\echo '== 2. A synthetic population: 2,000 people in fifteen districts, three weeks of itineraries,'
\echo '      lab results, doses, contact lists, declarations and check-ins; four risk-area bulletins'
SELECT what, rows FROM generate_population(2000);
SELECT division, level, to_char(effective_from, 'MM-DD') AS since,
       COALESCE(to_char(effective_until, 'MM-DD'), '') AS until
  FROM risk_area ORDER BY division;

\echo
\echo '== 3. Every colour was computed by the triggers as the data arrived. Status by province:'
SELECT left(region, 2) || '0000' AS province, count(*) AS people,
       count(*) FILTER (WHERE colour = 'green') AS green,
       count(*) FILTER (WHERE colour = 'yellow') AS yellow,
       count(*) FILTER (WHERE colour = 'red') AS red,
       count(*) FILTER (WHERE vaccinated) AS vaccinated
  FROM current_status GROUP BY 1 ORDER BY 1;
\echo 'Why people are not green (the commonest reasons):'
SELECT colour, r ->> 'rule' AS rule, count(*) AS people
  FROM current_status, jsonb_array_elements(reasons) r
 WHERE colour <> 'green' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 8;

\echo
\echo '== 4. A citizen declares online (health-information declaration) and is told their colour'
SELECT colour, vaccinated, jsonb_array_length(reasons) AS reasons
  FROM declare('330106199203154415', '330106', '张小明', visited => '{}', temperature => 36.6);
\echo 'The telecom itinerary shows they were in 110105, a high-risk district, two days ago:'
SELECT import_travel(json_build_array(jsonb_build_object(
         'identifier', '330106199203154415', 'place', '110105', 'at', now() - interval '2 days'))) AS imported;
SELECT colour, reasons -> 0 ->> 'text' AS reason, to_char(valid_until, 'YYYY-MM-DD HH24:MI') AS valid_until
  FROM health_info('330106199203154415');
\echo 'The background audit cross-checks every pending declaration against the imported data:'
SELECT kind, count(*) AS findings FROM audit() GROUP BY kind ORDER BY kind;
\echo 'It found that this declaration left the stay out:'
SELECT kind, detail -> 'stays' -> 0 ->> 'place' AS place, status
  FROM audit_finding WHERE person_id = person_id('330106199203154415');
\echo 'Without any new data the colour changes by itself, right at any read time: red while the stay'
\echo 'is within the 14-day window, then yellow while the audit finding counts, then green.'
SELECT to_char(at, 'MM-DD') AS day, s.colour, s.reasons -> 0 ->> 'rule' AS first_reason
  FROM generate_series(now(), now() + interval '16 days', interval '2 days') at,
       LATERAL status(person_id('330106199203154415'), at) s;

\echo
\echo '== 5. 330108 is designated high risk: everyone who stayed there turns red at once'
SELECT count(*) AS red_before FROM current_status WHERE colour = 'red';
SELECT import_risk_areas(json_build_array(jsonb_build_object(
         'division', '330108', 'level', 'high', 'effective_from', now() - interval '10 days',
         'bulletin', 'demo bulletin 5'))) AS bulletins;
SELECT count(*) AS red_after FROM current_status WHERE colour = 'red';
SELECT cause, from_colour, to_colour, count(*) AS changes
  FROM status_history WHERE cause = 'risk_area insert' GROUP BY 1, 2, 3 ORDER BY 4 DESC;
\echo 'A full recomputation from the raw evidence agrees with what the triggers keep (0 differences):'
SELECT count(*) AS differences FROM check_consistency();

\echo
\echo '== 6. Codes for everyone (signed with their region''s key; green, yellow or red as now)'
CREATE TABLE public.demo_code AS
  SELECT row_number() OVER (ORDER BY p.id) AS id, p.id AS person_id, issue_for(p.id) AS code
    FROM person p;
SELECT colour(code) AS colour, count(*) AS codes, count(*) FILTER (WHERE vaccinated(code)) AS vaccinated
  FROM public.demo_code GROUP BY 1 ORDER BY 1;
\echo 'A checkpoint verifies them all, now and in ten minutes (codes live five):'
SELECT v.reason, count(*) FILTER (WHERE at_now) AS now, count(*) FILTER (WHERE NOT at_now) AS in_10_minutes
  FROM public.demo_code c,
       LATERAL (VALUES (true, now()), (false, now() + interval '10 minutes')) t(at_now, at),
       LATERAL verify(c.code, t.at) v
 GROUP BY v.reason ORDER BY v.reason;

\echo
\echo '== 7. Person 1''s code: its text (base45, QR alphanumeric mode) and what verify() says'
SELECT code::text AS code_text, length(code::text) AS chars FROM public.demo_code WHERE id = 1;
SELECT valid, colour, region, reason, vaccinated, encode(key_id, 'hex') AS key_id,
       to_char(expires_at - issued_at, 'MI "min"') AS lifetime
  FROM public.demo_code, verify(code) WHERE id = 1;
\echo
\echo 'As a terminal QR code (scan it with a phone):'
\pset format unaligned
\pset tuples_only on
SELECT qr_terminal(code) FROM public.demo_code WHERE id = 1;
\pset format aligned
\pset tuples_only off
\echo
\echo 'For travel, a code can also carry, signed, the last negative test and the dose count (format 2).'
\echo 'Beijing asks visitors from Zhejiang for a negative test within 72 h: a checkpoint with no'
\echo 'connection to anyone (online => false) reads it from the code; a plain code says nothing:'
INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description)
VALUES ('110000', '330000', 'green_and_negative_test', 72, 'Beijing: visitors from Zhejiang, green and a negative test within 72 h');
SELECT t.kind, format_version(t.code) AS format, a.last_negative_at, a.doses, a.admit, a.reason, a.facts_from
  FROM (SELECT p.id FROM person p, LATERAL status(p.id) s
         WHERE p.region LIKE '33%' AND s.colour = 'green'
           AND EXISTS (SELECT 1 FROM test_result r WHERE r.person_id = p.id AND r.result = 'negative'
                          AND r.sampled_at BETWEEN now() - interval '72 hours' AND now())
         ORDER BY p.id LIMIT 1) traveller,
       LATERAL (VALUES ('with health facts', issue_for(traveller.id, health_facts => true)),
                       ('plain', issue_for(traveller.id))) t(kind, code),
       LATERAL verify_arrival(t.code, '110105', online => false) a;

\echo
\echo '== 7b. The citizen''s code screen in one call (code_screen): what the app shows the first person not green'
\x on
SELECT colour, vaccinated, display_name, since, valid_until, latest_test_kind, latest_test_result,
       latest_test_hours, doses, last_dose_product, reasons -> 0 ->> 'text_zh' AS reason_zh,
       reasons -> 0 ->> 'text_en' AS reason_en, left(s.code::text, 24) || '...' AS code,
       length(qr_svg) AS qr_svg_bytes
  FROM public.demo_code d, LATERAL code_screen(d.person_id) s
 WHERE d.id = (SELECT min(x.id) FROM public.demo_code x WHERE colour(x.code) <> 'green');
\x off

\echo
\echo '== 7c. The itinerary card (行程卡): the cities of 14 days, starred where a risk area was in force'
SELECT person_id AS demo_guardian FROM declare('330106198001011235', '330106', '赵大') \gset
SELECT import_travel(json_build_array(
         json_build_object('identifier', '330106198001011235', 'place', '110105', 'at', now() - interval '5 days'),
         json_build_object('identifier', '330106198001011235', 'place', '440106', 'at', now() - interval '3 days'),
         json_build_object('identifier', '330106198001011235', 'place', '330108', 'at', now() - interval '1 day'))) AS stays;
SELECT * FROM itinerary('330106198001011235');
\echo 'A proxy (亲友代领): the son fetches his father''s code, with the father''s consent on record'
SELECT register_person('330106194001015676', '330106', '赵老') IS NOT NULL AS registered,
       link_guardian('330106198001011235', '330106194001015676', 'child', 'consent form HZ-2022-001') IS NOT NULL AS linked;
SELECT colour, display_name, masked_identifier, left(code::text, 24) || '...' AS code
  FROM code_screen_for('330106198001011235', '330106194001015676', 'none');
SELECT action, guardian_id = :demo_guardian AS made_by_the_guardian, made_by FROM proxy_action;
\echo 'At a checkpoint the son shows his code and his ID card (实名核验): the code is his, not his father''s;'
\echo 'an ID number with a wrong check character is refused before any comparison'
SELECT issue_for(:demo_guardian)::text AS son_code \gset
CALL checkpoint_verify_holder(:'son_code', '330106198001011235', '330106');
CALL checkpoint_verify_holder(:'son_code', '330106194001015676', '330106');
SELECT * FROM identifier_check('330106198001011234');

\echo
\echo '== 7d. A venue code (场所码): a supermarket prints its code once; a visitor''s app scans it'
-- (in a Hangzhou district no risk area covers now, so that a scan there changes no colour)
SELECT d AS demo_district FROM unnest(ARRAY['330102', '330105', '330110', '330106']) d
 WHERE NOT EXISTS (SELECT 1 FROM risk_area r WHERE division_covers(r.division, d) AND r.level <> 'low'
                      AND r.effective_from <= now() AND (r.effective_until IS NULL OR r.effective_until > now()))
 LIMIT 1 \gset
SELECT create_venue(:'demo_district', '西湖银泰', 'supermarket', '延安路 98 号') AS demo_venue \gset
SELECT create_venue(:'demo_district', '浙大一院', 'hospital') AS demo_hospital \gset
INSERT INTO venue_entry_rule (region, kind, demand, negative_test_hours, description)
VALUES ('330000', 'hospital', 'green_and_negative_test', 48, '凭绿码及48小时核酸阴性证明进入 / green code and a negative test within 48 h');
SELECT venue_code(:demo_venue) AS demo_venue_code \gset
SELECT left(:'demo_venue_code', 24) || '...' AS venue_code, valid, name, kind, reason
  FROM verify_venue_code(:'demo_venue_code');
SELECT person_id AS demo_visitor FROM current_status WHERE colour = 'green' ORDER BY person_id LIMIT 1 \gset
\echo 'What the door keeper sees (the stay is recorded as any stay; the hospital asks for a recent test):'
SELECT admit, reason, colour, venue_name, rule FROM scan_venue(:demo_visitor, :'demo_venue_code');
SELECT admit, reason, colour, venue_name, rule FROM scan_venue(:demo_visitor, venue_code(:demo_hospital));

\echo
\echo '== 7e. Places below the county, and exposure tracing (时空伴随): a market in a community of the'
\echo '      district (a 12-digit place); four people scan it; one of them tests positive; one call files'
\echo '      the others, who were there within the policy''s 30 minutes, as secondary contacts'
SELECT :'demo_district' || '001001' AS demo_community \gset
SELECT create_venue(:'demo_community', '文三街社区菜场', 'public_venue') AS demo_market \gset
SELECT venue_code(:demo_market) AS demo_market_code \gset
CREATE TEMP TABLE demo_market_visitors AS
  SELECT person_id FROM current_status WHERE colour = 'green' AND person_id <> :demo_visitor ORDER BY person_id LIMIT 4;
SELECT count(*) FILTER (WHERE s.recorded) AS scans_recorded, string_agg(DISTINCT s.colour::text, ', ') AS colours
  FROM demo_market_visitors v CROSS JOIN LATERAL scan_venue(v.person_id, :'demo_market_code') s;
SELECT place AS their_stays_place, count(*) AS stays FROM travel WHERE venue = :'demo_market'::text GROUP BY place;
SELECT min(person_id) AS demo_case FROM demo_market_visitors \gset
SELECT import_test_results(json_build_array(json_build_object('person_id', :demo_case, 'kind', 'pcr', 'result', 'positive',
         'sampled_at', now() - interval '1 minute', 'lab', 'demo lab', 'sample_id', 'DEMO-CASE-1'))) AS case_filed \gset
SELECT id AS demo_case_test FROM test_result WHERE lab = 'demo lab' AND sample_id = 'DEMO-CASE-1' \gset
\echo 'Who was at the market around the case''s scan (exposures: read from the day partitions'' indexes):'
SELECT count(*) AS exposed, bool_and(venue_id = :demo_market) AS all_at_the_market FROM exposures(:demo_case_test, now() - interval '1 day', now() + interval '1 hour');
\echo 'Filed as secondary contacts of the case in one call; the triggers turned them:'
CREATE TEMP TABLE demo_traced AS
  SELECT * FROM trace_exposures(:demo_case_test, now() - interval '1 day', now() + interval '1 hour');
SELECT count(*) FILTER (WHERE t.recorded) AS contacts_filed, string_agg(DISTINCT s.colour::text, ', ') AS their_colour_now,
       min(r ->> 'rule') AS why
  FROM demo_traced t CROSS JOIN LATERAL status(t.person_id) s CROSS JOIN LATERAL jsonb_array_elements(s.reasons) r;

\echo
\echo '== 7f. Pharmacy registration (药品登记): the district''s policy turns buyers of fever medicine yellow'
\echo '      until a negative test; a pharmacy registers a sale of antipyretics'
SELECT create_venue(:'demo_community', '文三街大药房', 'pharmacy') AS demo_pharmacy \gset
INSERT INTO policy (region, medicine_purchase_yellow, description_zh, description_en)
VALUES (:'demo_district', true, '购买退烧药等需核酸检测', 'buyers of fever medicine need a negative test');
SELECT person_id AS demo_buyer FROM current_status
 WHERE colour = 'green' AND region = :'demo_district' AND person_id NOT IN (SELECT person_id FROM demo_market_visitors)
 ORDER BY person_id DESC LIMIT 1 \gset
SELECT import_medicine_sales(json_build_array(json_build_object('person_id', :demo_buyer, 'venue', :demo_pharmacy,
         'medicine', 'antipyretic', 'at', now() - interval '10 minutes'))) AS sales_registered;
SELECT c.colour, r ->> 'text_zh' AS reason_zh, r ->> 'text_en' AS reason_en
  FROM code_screen(:demo_buyer, 'none') c, jsonb_array_elements(c.reasons) r;

\echo
\echo '== 8. Tampering, rotation and revocation'
\echo 'Person 1''s code with its colour byte changed:'
SELECT colour(code) AS signed_colour, colour(forged) AS forged_colour, (verify(forged)).reason
  FROM public.demo_code, LATERAL (SELECT set_byte(code::bytea, 20, (get_byte(code::bytea, 20) + 1) % 3)::healthcode AS forged) f
 WHERE id = 1;
\echo 'Zhejiang rotates its key: new codes use the new key, old codes still verify until the old key expires:'
SELECT encode(rotate_key('330000'), 'hex') AS new_zhejiang_key;
SELECT encode(key_id(c), 'hex') AS new_code_key, (verify(c)).reason AS new_code,
       (SELECT (verify(code)).reason FROM public.demo_code WHERE id = 1) AS old_code
  FROM (SELECT issue('330106', pseudonym('demo'), 'green') AS c) s;
\echo 'Beijing revokes its key: every code it signed stops verifying:'
SELECT revoke_key(key_id, 'demo: key compromised') FROM trust_list WHERE region = '110000';
SELECT v.reason, count(*) AS beijing_codes
  FROM public.demo_code c JOIN person p ON p.id = c.person_id, verify(c.code) v
 WHERE p.region LIKE '11%' GROUP BY v.reason;

\echo
\echo '== 9. The daily job: retention. Every table that names a person has its rule, set by the nation;'
\echo 'the status engine applies the same rule, so nothing the job removes changes a colour:'
SELECT tbl, time_column, removes_before::date AS removes_before, rule
  FROM retention_plan() WHERE removes_before IS NOT NULL;
CALL apply_retention();

\echo
\echo '== 10. The analysts'' view: today''s counts rolled up (the daily job does yesterday''s), totals that'
\echo '      add up from the district to the nation, small cells left out only after they were counted'
SELECT sum(rollup_day(d::date)) AS rollup_rows
  FROM generate_series((now() AT TIME ZONE 'Asia/Shanghai')::date - 1, (now() AT TIME ZONE 'Asia/Shanghai')::date, interval '1 day') d;
SELECT level, region, colour, people FROM status_totals WHERE level IN ('province', 'nation') ORDER BY level DESC, region, colour;
\echo 'Why the red are red, today, by province (trends):'
SELECT region, dim2 AS rule, people FROM trends
 WHERE measure = 'status' AND level = 'province' AND dim1 = 'red' AND day = (now() AT TIME ZONE 'Asia/Shanghai')::date
 ORDER BY region, people DESC;

\echo
\echo '== 11. The daily jobs on pg_cron, scheduled by an admin login (they run with its rights):'
CREATE EXTENSION pg_cron;
CREATE ROLE demo_dba LOGIN IN ROLE healthcode_admin;
GRANT USAGE ON SCHEMA cron TO demo_dba;
SET ROLE demo_dba;
SELECT job, schedule, command, scheduled FROM schedule_jobs();
RESET ROLE;
SELECT jobname, schedule, username, database FROM cron.job ORDER BY schedule;

