-- Batch calls (issue 14, point 5): check_statuses by identifiers or person
-- ids and issue_batch return one outcome per item, in order; a bad or
-- unknown item never stops the batch; another region's person is unknown
-- like no one; codes count in code_event; each role allowed or refused.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(19);

SELECT create_key('330000') IS NOT NULL AS k \gset
SELECT person_id AS p FROM declare('330106199001014326', '330106', '张三丰', '{}', 36.6) \gset
SELECT person_id AS p2 FROM declare('330106199001015433', '330106', '王五', '{cough}') \gset
SELECT person_id AS p_bj FROM declare('110105199203035670', '110105', '李四') \gset

SELECT is(ARRAY(SELECT ord || ' ' || outcome || ' ' || coalesce(colour::text, '-')
                  FROM check_statuses(ARRAY['330106199001014326', NULL, '', '110105199203039997', '330106199001015433', repeat('x', 65),
                                             'nobody', '330106199001014325', ' 330106 199001015433 '])),
          ARRAY['1 ok green', '2 invalid -', '3 invalid -', '4 unknown -', '5 ok yellow', '6 invalid -',
                '7 invalid -', '8 invalid -', '9 ok yellow'],
          'check_statuses by identifier: an outcome for each item, in order (no document, a wrong check character: invalid; typed with blanks: found); bad and unknown items do not stop it');
SELECT is((SELECT (colour, vaccinated, since, valid_until)::text FROM check_statuses(ARRAY['330106199001015433'])),
          (SELECT (colour, vaccinated, since, valid_until)::text FROM status(:p2)), 'each status as status() says');
SELECT is(ARRAY(SELECT ord || ' ' || outcome || ' ' || coalesce(person_id = :p, false) FROM check_statuses(ARRAY[:p, NULL, 4611686018427387905]::bigint[])),
          ARRAY['1 ok true', '2 invalid false', '3 unknown false'], 'check_statuses by person id likewise');
SELECT is((SELECT count(*) FROM check_statuses(ARRAY[]::text[])), 0::bigint, 'an empty list: no rows');
SELECT throws_ok($$SELECT * FROM check_statuses(NULL::text[])$$, '22004', 'identifiers must not be NULL', 'a NULL list is refused');
SELECT throws_ok($$SELECT * FROM check_statuses(array_fill(1::bigint, ARRAY[100001]))$$, '22023',
                 'a batch has at most 100000 items, not 100001', 'more than 100,000 items are refused');
SELECT throws_ok($$SELECT * FROM issue_batch(array_fill(1::bigint, ARRAY[1001]))$$, '22023',
                 'a batch has at most 1000 items, not 1001', 'more than 1,000 codes a call are refused');
SELECT count(*) AS events_before FROM _code_events() \gset
CREATE TEMP TABLE issued AS SELECT * FROM issue_batch(ARRAY[:p, NULL, 4611686018427387905, :p2]::bigint[]);
SELECT is(ARRAY(SELECT ord || ' ' || outcome FROM issued ORDER BY ord), ARRAY['1 ok', '2 invalid', '3 unknown', '4 ok'],
          'issue_batch: an outcome for each item, in order');
SELECT is(ARRAY(SELECT (verify(code)).reason || ' ' || colour(code) FROM issued WHERE outcome = 'ok' ORDER BY ord),
          ARRAY['ok green', 'ok yellow'], 'the codes verify, each with its person''s colour');
SELECT is((SELECT count(*) FROM _code_events()) - :events_before, 2::bigint, 'each code issued counts in code_event, the others do not');
SELECT is(ARRAY(SELECT outcome FROM issue_batch(ARRAY[:p], interval '2 days')), ARRAY['lifetime_beyond_policy'],
          'a lifetime beyond the person''s region''s policy is that item''s outcome');
SELECT throws_ok(format($$SELECT * FROM issue_batch(ARRAY[%s], interval '-1 minute')$$, :p), '22003', NULL,
                 'a bad valid_for is the whole batch''s error');
SELECT is(ARRAY(SELECT outcome FROM issue_batch(ARRAY[:p_bj])), ARRAY['not_issuable'],
          'no issuer key for the person''s region: not_issuable, the batch goes on');

-- roles: the caller's regions only
SELECT is(pg_temp.rows_as('regress_hc_app_zj', $$SELECT ord, outcome FROM check_statuses(ARRAY['330106199001014326', '110105199203035670'])$$),
          ARRAY['1|ok', '2|unknown'], 'an app of Zhejiang: a person of Beijing is unknown, like no one');
SELECT is(pg_temp.rows_as('regress_hc_app_zj', format($$SELECT ord, outcome FROM check_statuses(ARRAY[%s, %s]::bigint[])$$, :p, :p_bj)),
          ARRAY['1|ok', '2|unknown'], 'by person id too');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', format($$SELECT ord, outcome FROM issue_batch(ARRAY[%s, %s])$$, :p, :p_bj)),
          ARRAY['1|ok', '2|unknown'], 'an operator of Hangzhou issues for its person only');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', $$SELECT * FROM check_statuses(ARRAY['330106199001014326'])$$), '42501',
          'an analyst may not check statuses');
SELECT is(pg_temp.state_as('regress_hc_verifier', format($$SELECT * FROM issue_batch(ARRAY[%s])$$, :p)), '42501',
          'a checkpoint may not issue');

-- (last: it takes a status row away)
DELETE FROM person_status WHERE person_id = :p2;
SELECT is((SELECT outcome FROM check_statuses(ARRAY[:p2]::bigint[])), 'no_status', 'a person without a status yet: no_status');

SELECT * FROM finish();
ROLLBACK;
