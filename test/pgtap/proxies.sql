-- Proxies (issue 14, point 3): a guardian acts for a linked dependant
-- (declare_for, code_screen_for, issue_for_dependant) with the dependant's
-- consent recorded; every such call is logged as made by the guardian; the
-- policy caps dependants per guardian; a revoked link allows nothing; no
-- link, another region's person or an unknown one look the same.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(29);

SELECT create_key('330000') IS NOT NULL AS k \gset
SELECT person_id AS g FROM declare('330106198001011235', '330106', '赵大') \gset
SELECT person_id AS d FROM register_person('330106194001015676', '330106', '赵老') AS person_id \gset
SELECT person_id AS d2 FROM register_person('330106201501019019', '330106', '赵小') AS person_id \gset
SELECT person_id AS bj FROM declare('110105199203035670', '110105', '李四') \gset

SELECT throws_ok($$SELECT code_screen_for('330106198001011235', '330106194001015676')$$, 'P0002', NULL,
                 'no link: the guardian cannot act for the dependant');
SELECT ok(link_guardian('330106198001011235', '330106194001015676', 'child', 'consent form HZ-2022-001') IS NOT NULL,
          'a guardian is linked to a dependant with a consent record');
SELECT is((SELECT consent || ' ' || relation || ' ' || linked_by FROM guardian_link WHERE person_id = :d),
          'consent form HZ-2022-001 child ' || current_user, 'the link keeps the consent, the relation and who linked them');
SELECT throws_ok($$SELECT link_guardian('330106198001011235', '330106194001015676', 'child', 'again')$$, '23505',
                 'these people are linked already', 'one standing link a pair');
SELECT throws_ok($$SELECT link_guardian('330106198001011235', '330106198001011235', 'other', 'me')$$, '22023',
                 'a person cannot be their own guardian', 'nobody is their own guardian');
SELECT throws_ok($$SELECT link_guardian('330106198001011235', '330106194001015676', 'neighbour', 'x')$$, '22023', NULL,
                 'an unknown relation is refused');
SELECT throws_ok($$SELECT link_guardian('330106198001011235', '330106194001015676', 'child', '  ')$$, '22023', NULL,
                 'consent must be given');

-- acting for the dependant
SELECT is((SELECT (colour, masked_identifier, display_name)::text FROM code_screen_for('330106198001011235', '330106194001015676', 'none')),
          '(green,33**************76,赵*)', 'code_screen_for: the dependant''s screen');
SELECT is((SELECT subject(c) = (SELECT subject FROM person WHERE id = :d)
             FROM issue_for_dependant('330106198001011235', '330106194001015676') c), true,
          'issue_for_dependant: a code of the dependant''s');
SELECT is((SELECT colour::text FROM declare_for('330106198001011235', '330106194001015676', '{cough}')), 'yellow',
          'declare_for: the dependant''s declaration, and their status');
SELECT is((SELECT count(*) FROM declaration WHERE person_id = :d), 1::bigint, 'the declaration is the dependant''s');
SELECT is(ARRAY(SELECT action || ' ' || (guardian_id = :g) || ' ' || made_by FROM proxy_action WHERE person_id = :d ORDER BY action),
          ARRAY['code_screen true ' || current_user, 'declare true ' || current_user, 'issue_for true ' || current_user],
          'every call is logged as made by the guardian');

-- the policy's cap
INSERT INTO policy (region, valid_from, max_dependants, description_zh, description_en)
VALUES ('330100', now() - interval '1 day', 1, '每人最多代领一人', 'one dependant a guardian');
SELECT throws_ok($$SELECT link_guardian('330106198001011235', '330106201501019019', 'parent', 'form 2')$$, '55000', NULL,
                 'beyond the max_dependants of the guardian''s region''s policy: refused');

-- revocation
SELECT ok(revoke_guardian('330106198001011235', '330106194001015676', 'consent withdrawn') IS NOT NULL, 'a link is revoked');
SELECT is((SELECT (revoked_at IS NOT NULL, revoke_reason)::text FROM guardian_link WHERE person_id = :d), '(t,"consent withdrawn")',
          'and kept, with when and why');
SELECT throws_ok($$SELECT code_screen_for('330106198001011235', '330106194001015676')$$, 'P0002', NULL,
                 'a revoked link allows nothing');
SELECT throws_ok($$SELECT revoke_guardian('330106198001011235', '330106194001015676', 'again')$$, 'P0002', NULL,
                 'nor a second revocation');
SELECT ok(link_guardian('330106198001011235', '330106201501019019', 'parent', 'form 2') IS NOT NULL,
          'with the revoked one gone from the count, another dependant can be linked');

-- roles and regions
SELECT is(pg_temp.state_as('regress_hc_app_zj', $$SELECT code_screen_for('330106198001011235', '330106201501019019', 'none')$$), 'ok',
          'an app of Zhejiang acts for its guardian');
SELECT is(replace(pg_temp.attempt('regress_hc_app_zj', $$SELECT link_guardian('330106198001011235', '110105199203035670', 'other', 'x')$$)::text, '110105199203035670', ''),
          replace(pg_temp.attempt('regress_hc_app_zj', $$SELECT link_guardian('330106198001011235', '110105199203039997', 'other', 'x')$$)::text, '110105199203039997', ''),
          'a dependant of another region is linked as little as an unknown one');
SELECT is(pg_temp.attempt('regress_hc_app_zj', $$SELECT code_screen_for('330106198001011235', '110105199203035670')$$)::text,
          pg_temp.attempt('regress_hc_app_zj', $$SELECT code_screen_for('330106198001011235', '330106194001015676')$$)::text,
          'acting for another region''s person looks like acting without a link');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', $$SELECT link_guardian('330106198001011235', '330106194001015676', 'child', 'x')$$), '42501',
          'an analyst may not link');
SELECT is(pg_temp.state_as('regress_hc_verifier', $$SELECT issue_for_dependant('330106198001011235', '330106201501019019')$$), '42501',
          'nor may a checkpoint act for anyone');
-- a link across two cities of Zhejiang: a guardian in Ningbo, a dependant in Hangzhou
SELECT person_id AS nb FROM declare('330203197001012344', '330203', '钱七') \gset
SELECT ok(link_guardian('330203197001012344', '330106194001015676', 'child', 'form NB-1') IS NOT NULL,
          'a province-wide role links a guardian of one city to a dependant of another');
SELECT is(pg_temp.rows_as('regress_hc_op_hz', $$SELECT count(*) FROM healthcode.guardian_link WHERE guardian_region = '330203'$$),
          ARRAY['0'], 'an operator of Hangzhou does not see that link: it names a person of Ningbo');
SELECT is(pg_temp.rows_as('regress_hc_op_zj', $$SELECT count(*) FROM healthcode.guardian_link WHERE guardian_region = '330203'$$),
          ARRAY['1'], 'an operator of all Zhejiang does');
SELECT is(pg_temp.attempt('regress_hc_op_hz', $$SELECT code_screen_for('330203197001012344', '330106194001015676')$$)::text,
          pg_temp.attempt('regress_hc_op_hz', $$SELECT code_screen_for('330106198001011235', '330106194001015676')$$)::text,
          'nor can it act under it: the same as no link');
SELECT is(pg_temp.rows_as('regress_hc_op_bj', $$SELECT count(*) FROM healthcode.guardian_link$$), ARRAY['0'],
          'an operator of Beijing sees no link of Zhejiang''s people');
SELECT throws_ok($$SELECT code_screen_for(NULL, '330106194001015676')$$, '22004', 'guardian_identifier must not be NULL',
                 'a NULL identifier is bad input, not a missing link');

SELECT * FROM finish();
ROLLBACK;
