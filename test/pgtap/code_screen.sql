-- The citizen's code screen in one call (issue 14, point 1): code_screen by
-- identifier and by person id returns the status with its reasons in
-- Chinese and English and the places' names, the masked name and ID
-- number, the latest test, the doses and a fresh code that verifies, with
-- its QR; every role is allowed or refused as it should be, and another
-- region's person looks exactly like no one.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(34);

SELECT create_key('330000') IS NOT NULL AND create_key('110000') IS NOT NULL AS k \gset
SELECT person_id AS p FROM declare('330106199001014326', '330106', '张三丰', '{}', 36.6) \gset
SELECT person_id AS p_bj FROM declare('110105199203035670', '110105', '李四') \gset
INSERT INTO risk_area (division, level, effective_from, bulletin) VALUES ('330108', 'high', now() - interval '5 days', 'code_screen');
SELECT import_travel(format('[{"person_id": %s, "place": "330108", "at": "%s"}]', :p, now() - interval '2 days')::json) AS n \gset
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "L", "sample_id": "CS-1"},
                                    {"person_id": %s, "kind": "antigen", "sampled_at": "%s", "result": "negative", "lab": "L", "sample_id": "CS-2"}]',
                                   :p, now() - interval '30 hours 10 minutes', :p, now() - interval '80 hours')::json) AS n \gset
SELECT import_vaccinations(format('[{"person_id": %s, "dose": 1, "given_at": "%s", "product": "CoronaVac"},
                                    {"person_id": %s, "dose": 2, "given_at": "%s", "product": "BBIBP-CorV"}]',
                                   :p, now() - interval '200 days', :p, now() - interval '170 days')::json) AS n \gset
SELECT count(*) AS events_before FROM _code_events() \gset

CREATE TEMP TABLE screen AS SELECT * FROM code_screen('330106199001014326');
GRANT SELECT ON screen TO PUBLIC;
SELECT is((SELECT colour::text || ' ' || vaccinated FROM screen), 'red true', 'colour and vaccinated mark as status() says');
SELECT is((SELECT (colour, vaccinated, since, valid_until)::text FROM screen),
          (SELECT (colour, vaccinated, since, valid_until)::text FROM status(:p)), 'since and valid_until as status() says');
SELECT is((SELECT display_name || ' ' || masked_identifier FROM screen), '张*丰 33**************26',
          'the masked name, and the ID number masked but for its first and last two characters');
SELECT is((SELECT reasons -> 0 ->> 'text_zh' FROM screen), to_char((now() - interval '2 days') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ' 到访杭州市滨江区（高风险区）',
          'the reason in Chinese, with the place''s name');
SELECT is((SELECT reasons -> 0 ->> 'text_en' FROM screen), 'stayed in Binjiang, Hangzhou (high risk) on ' || to_char((now() - interval '2 days') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'),
          'the reason in English, with the place''s name');
SELECT is((SELECT reasons -> 0 ->> 'place' || ' ' || (reasons -> 0 ->> 'place_zh') || ' ' || (reasons -> 0 ->> 'place_en') FROM screen),
          '330108 杭州市滨江区 Binjiang, Hangzhou', 'the place''s code and its names in both languages');
SELECT is((SELECT latest_test_kind || ' ' || latest_test_result || ' ' || latest_test_hours FROM screen), 'pcr negative 30',
          'the latest test: kind, result, whole hours since it was sampled');
SELECT is((SELECT latest_test_sampled_at FROM screen), (SELECT sampled_at FROM test_result WHERE sample_id = 'CS-1'),
          'and when it was sampled');
SELECT is((SELECT doses || ' ' || last_dose_product FROM screen), '2 BBIBP-CorV', 'doses, and the last dose''s vaccine');
SELECT is((SELECT last_dose_at FROM screen), (SELECT given_at FROM vaccination WHERE person_id = :p AND dose = 2),
          'and when it was given');
SELECT is((SELECT (v.valid, v.colour::text, subject(screen.code) = (SELECT subject FROM person WHERE id = :p))::text
             FROM screen, verify(screen.code) v), '(t,red,t)', 'the code verifies, carries the colour and belongs to the person');
SELECT is((SELECT expires_at(code) - issued_at(code) FROM screen), interval '5 minutes', 'the code lives five minutes by default');
SELECT ok((SELECT qr_svg LIKE '<?xml%<svg%' AND qr_png IS NULL FROM screen), 'an SVG QR by default, no PNG');
SELECT is((SELECT count(*) FROM _code_events()) - :events_before, 1::bigint, 'the code counts in code_event, once');
SELECT ok((SELECT substr(qr_png, 1, 8) = '\x89504e470d0a1a0a'::bytea AND qr_svg IS NULL FROM code_screen(:p, 'png')),
          'by person id, a PNG QR when asked');
SELECT ok((SELECT masked_identifier IS NULL AND qr_svg IS NULL AND qr_png IS NULL AND code IS NOT NULL FROM code_screen(:p, 'none')),
          'by person id no ID number (never stored); no QR when asked none');
SELECT throws_ok($$SELECT code_screen('330106199001014326', 'gif')$$, '22023', 'qr must be svg, png or none, not ''gif''',
                 'an unknown QR format is refused, naming it');
SELECT throws_ok(format($$SELECT code_screen(%s, 'svg', interval '2 days')$$, :p), '22003', NULL,
                 'a code living longer than the policy allows is refused, as issue_for refuses it');
SELECT is((SELECT jsonb_array_length(reasons) FROM code_screen(:p_bj, 'none')), 0, 'green: no reasons (an empty array)');
SELECT is((SELECT latest_test_kind IS NULL AND doses = 0 AND last_dose_at IS NULL FROM code_screen(:p_bj, 'none')), true,
          'no test, no dose: NULL test, zero doses');

-- roles
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT code_screen('330106199001014326')$$), 'ok',
          'an app of Zhejiang shows its person''s screen');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT code_screen(%s)$$, :p)), 'ok',
          'an operator of Hangzhou too, by person id');
SELECT is(pg_temp.attempt('regress_hc_app_zj', $$SELECT code_screen('110105199203035670')$$)::text,
          pg_temp.attempt('regress_hc_app_zj', $$SELECT code_screen('110105199203039997')$$)::text,
          'another region''s person looks like no one (same error as an unknown identifier)');
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT code_screen('110105199203035670')$$), 'P0002',
          'that is P0002');
SELECT is(replace(pg_temp.attempt('regress_hc_op_hz', format($$SELECT code_screen(%s)$$, :p_bj))::text, :'p_bj', '<id>'),
          replace(pg_temp.attempt('regress_hc_op_hz', $$SELECT code_screen(4611686018427387905)$$)::text, '4611686018427387905', '<id>'),
          'by id too: another region''s person and no person give the same error');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', $$SELECT code_screen('330106199001014326')$$), '42501',
          'an analyst may not (42501)');
SELECT is(pg_temp.state_as('regress_hc_verifier', $$SELECT code_screen('330106199001014326')$$), '42501',
          'nor a checkpoint');

-- errors an app can act on: a scanned string that is not a code
SELECT is((SELECT (valid, reason, colour IS NULL AND region IS NULL)::text FROM verify('not a code at all')), '(f,malformed,t)',
          'verify() of a string that is not a code: reason malformed, nothing else');
SELECT is((SELECT reason FROM verify((SELECT code::text FROM screen))), 'ok', 'verify() of a code''s text: as verify() of the code');
SELECT throws_ok($$SELECT 'not a code at all'::healthcode$$, '22P02', NULL, 'the cast still raises 22P02');
SELECT is((SELECT check_order FROM verify_reason WHERE reason = 'malformed'), 0, 'malformed is a documented reason, checked first');

-- the holder pseudonym a code event counts by (C): SHA-256 of the subject
-- and the day in China Standard Time, whatever the session's time zone
SET LOCAL TimeZone = 'America/Los_Angeles';
SELECT is((SELECT count(*) FROM (VALUES (timestamptz '2026-12-04 15:59:59.999+00'), (timestamptz '2026-12-04 16:00:00+00'),
                                        (timestamptz '2026-12-31 23:59:59+08'), (timestamptz '2000-02-29 12:00:00+08')) v(at)
            WHERE _code_holder('\x0011223344556677'::bytea, v.at)
                  IS DISTINCT FROM substr(sha256('\x0011223344556677'::bytea
                                                 || convert_to(to_char(v.at AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD'), 'UTF8')), 1, 8)),
          0::bigint, '_code_holder: the first 8 bytes of SHA-256(subject || the CST day), at either side of CST midnight');
SELECT isnt(_code_holder('\x00'::bytea, '2026-12-04 15:59:59+00'), _code_holder('\x00'::bytea, '2026-12-04 16:00:00+00'),
            'a new CST day, a new pseudonym');
SELECT is(_code_holder('\x00'::bytea, 'infinity'), NULL, 'no day, no pseudonym');
RESET TimeZone;

SELECT * FROM finish();
ROLLBACK;
