-- A citizen's own data for their own app (issue 14, point 2): the
-- itinerary card (cities, starred where a medium- or high-risk area was in
-- force during the stay; never the stays), the history of their colour and
-- their own evidence; every role allowed or refused as it should be, and
-- another region's person looking exactly like no one.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(18);

SELECT person_id AS p FROM declare('330106199001014326', '330106', '张三丰', '{}', 36.6) \gset
SELECT person_id AS p_bj FROM declare('110105199203035670', '110105', '李四') \gset
INSERT INTO risk_area (division, level, effective_from, effective_until, bulletin)
VALUES ('330108', 'high', now() - interval '5 days', NULL, 'my_data'),
       ('110105', 'medium', now() - interval '20 days', NULL, 'my_data'),
       -- ended before the stay in Shenzhen: no star
       ('440305', 'high', now() - interval '20 days', now() - interval '10 days', 'my_data');
SELECT import_travel(format('[{"person_id": %1$s, "place": "110101", "at": "%2$s"}, {"person_id": %1$s, "place": "440305", "at": "%3$s"},
                              {"person_id": %1$s, "place": "330108", "at": "%4$s"}, {"person_id": %1$s, "place": "330106", "at": "%5$s"},
                              {"person_id": %1$s, "place": "310104", "at": "%6$s"}]',
                            :p, now() - interval '6 days', now() - interval '4 days', now() - interval '2 days',
                            now() - interval '1 day', now() - interval '16 days')::json) AS n \gset
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "L", "sample_id": "MD-1"}]',
                                  :p, now() - interval '30 hours')::json) AS n \gset
SELECT import_vaccinations(format('[{"person_id": %s, "dose": 1, "given_at": "%s", "product": "CoronaVac"}]',
                                  :p, now() - interval '100 days')::json) AS n \gset
SELECT request_correction(:p, 'test_result', (SELECT id FROM test_result WHERE sample_id = 'MD-1'), 'not my sample') AS c \gset

SELECT is(ARRAY(SELECT city || ' ' || city_zh || ' ' || city_en || ' ' || starred || ' ' || coalesce(risk_level, '-')
                  FROM itinerary('330106199001014326')),
          ARRAY['110100 北京市 Beijing true medium', '440300 深圳市 Shenzhen false -', '330100 杭州市 Hangzhou true high'],
          'the cities of 14 days in the order first visited, starred with the level where a risk area was in force during the stay');
SELECT is(ARRAY(SELECT city FROM itinerary('330106199001014326', 3)), ARRAY['330100'], 'days narrows the window');
SELECT is(ARRAY(SELECT city FROM itinerary('330106199001014326', 30) WHERE city = '310100'), ARRAY['310100'],
          'and widens it (a stay 16 days ago)');
SELECT is(ARRAY(SELECT p.proargnames[2:] FROM pg_proc p WHERE p.oid = 'itinerary(text,integer)'::regprocedure),
          ARRAY[ARRAY['days', 'city', 'city_zh', 'city_en', 'starred', 'risk_level']],
          'the card has cities, names, star and level: no place, no time, no stay');
SELECT throws_ok($$SELECT * FROM itinerary('330106199001014326', 31)$$, '22003', 'days must be between 1 and 30, not 31',
                 'days beyond 30 are refused');
SELECT throws_ok($$SELECT * FROM itinerary('330106199001014326', NULL)$$, '22004', 'days must not be NULL', 'NULL days too');

SELECT is(ARRAY(SELECT coalesce(from_colour::text, '-') || '>' || to_colour FROM my_history('330106199001014326')),
          ARRAY['green>red', '->green'], 'my history: the colour changes, latest first');
SELECT is((SELECT reasons -> 0 ->> 'text_zh' FROM my_history('330106199001014326') LIMIT 1),
          to_char((now() - interval '2 days') AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') || ' 到访杭州市滨江区（高风险区）', 'with the reasons as a screen shows them');

SELECT is(ARRAY(SELECT kind FROM my_evidence('330106199001014326') ORDER BY kind),
          ARRAY['correction', 'declaration', 'test_result', 'vaccination'], 'my evidence: tests, doses, declarations, corrections');
SELECT is((SELECT detail ->> 'result' FROM my_evidence('330106199001014326') WHERE kind = 'test_result'), 'negative',
          'a test with its result');
SELECT is((SELECT (detail ->> 'id')::bigint FROM my_evidence('330106199001014326') WHERE kind = 'test_result'),
          (SELECT id FROM test_result WHERE sample_id = 'MD-1'), 'and its id, which request_correction takes');
SELECT is((SELECT detail ->> 'status' FROM my_evidence('330106199001014326') WHERE kind = 'correction'), 'pending',
          'a correction request with its state');
SELECT is((SELECT count(*) FROM my_evidence('110105199203035670') WHERE kind = 'test_result'), 0::bigint,
          'someone else''s evidence is not mine');

-- roles
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT * FROM itinerary('330106199001014326')$$) || ' ' ||
          pg_temp.state_as('regress_hc_app_zj', $$SELECT * FROM my_history('330106199001014326')$$) || ' ' ||
          pg_temp.state_as('regress_hc_app_zj', $$SELECT * FROM my_evidence('330106199001014326')$$), 'ok ok ok',
          'an app of Zhejiang reads its person''s card, history and evidence');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT * FROM itinerary('330106199001014326')$$), 'ok', 'an operator of Hangzhou too');
SELECT is(ARRAY[pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM itinerary('110105199203035670')$$)::text,
                pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM my_history('110105199203035670')$$)::text,
                pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM my_evidence('110105199203035670')$$)::text],
          ARRAY[pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM itinerary('110105199203039997')$$)::text,
                pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM my_history('110105199203039997')$$)::text,
                pg_temp.attempt('regress_hc_app_zj', $$SELECT * FROM my_evidence('110105199203039997')$$)::text],
          'another region''s person looks like no one, in each call');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', $$SELECT * FROM itinerary('330106199001014326')$$) || ' ' ||
          pg_temp.state_as('regress_hc_analyst_zj', $$SELECT * FROM my_evidence('330106199001014326')$$), '42501 42501',
          'an analyst may not');
SELECT is(pg_temp.state_as('regress_hc_verifier', $$SELECT * FROM my_history('330106199001014326')$$), '42501', 'nor a checkpoint');

SELECT * FROM finish();
ROLLBACK;
