-- Erasure of a person on request (erase_person) and the end-of-emergency
-- purge of a region (purge_region): nothing that names the people is left
-- in any table, their code events and codes go, their manual decisions stay
-- in the national chain as tombstones, and the chain still verifies against
-- the head an auditor recorded before; everyone else is untouched.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
SELECT plan(42);

SELECT create_key('000000') IS NOT NULL AS made_key \gset
SELECT count(*) > 0 AS made FROM generate_population(120, 3, 14) \gset
-- the person who asks to be erased, with evidence of every kind
SELECT person_id AS p_x FROM declare('330106199001014326', '330106', '赵小五', '{cough}', 37.9) \gset
SELECT subject AS x_subject FROM person WHERE id = :p_x \gset
SELECT import_travel(format('[{"person_id": %s, "place": "330106", "at": "%s"}, {"person_id": %s, "place": "110105", "at": "%s"}]',
                            :p_x, now() - interval '2 days', :p_x, now() - interval '1 day')::json) AS n \gset
SELECT import_test_results(format('[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "negative", "lab": "erasure lab", "sample_id": "E-1"}]',
                                  :p_x, now() - interval '3 hours')::json) AS n \gset
SELECT import_vaccinations(format('[{"person_id": %s, "dose": 1, "given_at": "%s", "product": "erasure vaccine"}]',
                                  :p_x, now() - interval '100 days')::json) AS n \gset
SELECT check_in('330106199001014326', 36.6) IS NOT NULL AS checked \gset
SELECT request_correction(:p_x, 'travel', (SELECT id FROM travel WHERE person_id = :p_x AND place = '110105'), 'I was not there')
       AS correction \gset
SET LOCAL ROLE regress_hc_op_hz;
SELECT record_decision(:p_x, 'override', 'erasure test', 'order E-1', 'red') AS d1 \gset
SELECT record_decision(:p_x, 'medical_release', 'erasure test', 'order E-2') AS d2 \gset
RESET ROLE;
-- someone else's decision before and after, so the tombstones sit inside the chain
SELECT person_id AS p_y FROM declare('330106199001015433', '330106', '钱小六') \gset
SELECT record_decision(:p_y, 'override', 'other person', 'order E-3', 'yellow') AS d3 \gset
SELECT issue_for(:p_x, interval '5 minutes')::text AS x_code \gset
SELECT colour AS x_checked FROM checkpoint_verify(:'x_code'::healthcode, '330106') \gset
SELECT issue_for(:p_y, interval '5 minutes')::text AS y_code \gset
SELECT colour AS y_checked FROM checkpoint_verify(:'y_code'::healthcode, '330106') \gset
SELECT count(*) AS events_before FROM _code_events() \gset
SELECT count(*) AS x_events FROM _code_events() WHERE holder = _code_holder(:'x_subject'::bytea, at) \gset
SELECT ok(:x_events >= 2, 'the person''s code was issued and scanned: code events to remove');
SELECT head_seq, encode(head_hash, 'hex') AS head_hash, entries AS entries_before FROM decision_chain_head() \gset
SELECT content_digest AS d1_digest, entry_hash AS d1_hash FROM manual_decision WHERE id = :d1 \gset

-- every table that names a person, from the catalog, and the person's rows in each
CREATE TEMP TABLE naming AS
SELECT c.relname::text AS relname
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'person_id' AND NOT a.attisdropped
 WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
-- (the tables that name any of the people given, with their rows; and person)
CREATE FUNCTION pg_temp.rows_of(pids bigint[]) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
  t text;
  n bigint;
  result text[] := '{}';
BEGIN
  FOR t IN SELECT relname FROM naming ORDER BY 1 LOOP
    EXECUTE format('SELECT count(*) FROM healthcode.%I WHERE person_id = ANY ($1)', t) INTO n USING pids;
    IF n > 0 THEN result := result || (t || ' ' || n); END IF;
  END LOOP;
  SELECT count(*) INTO n FROM healthcode.person WHERE id = ANY (pids);
  RETURN result || CASE WHEN n > 0 THEN ARRAY['person ' || n] ELSE '{}' END;
END $$;
SELECT ok(cardinality(pg_temp.rows_of(ARRAY[:p_x]::bigint[])) >= 9, 'before: the person is named in people, evidence, statuses and history');
SELECT count(*) AS travel_before FROM travel \gset
SELECT count(*) AS travel_x FROM travel WHERE person_id = :p_x \gset
SELECT md5(string_agg(s::text, ',' ORDER BY s.person_id)) AS others_status FROM person_status s WHERE s.person_id <> :p_x \gset

-- ---- who may erase ------------------------------------------------------------------
SELECT is(pg_temp.state_as('regress_hc_op_bj', format($$SELECT * FROM healthcode.erase_person(%s, 'request 1')$$, :p_x)),
          'P0002', 'an operator of another region cannot erase the person (as if unknown: P0002)');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', format($$SELECT * FROM healthcode.erase_person(%s, 'request 1')$$, :p_x)),
          '42501', 'an analyst cannot erase anyone');
SELECT is(pg_temp.state_as('regress_hc_op_hz', format($$SELECT * FROM healthcode.erase_person(%s, ' ')$$, :p_x)),
          '22023', 'an erasure needs a reason');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$SELECT * FROM healthcode.purge_region('330100', 'end')$$),
          '42501', 'an operator cannot purge a region: the national administration does');

-- ---- erasing ------------------------------------------------------------------------
-- (in a session far from China Standard Time: the days of code events are CST's)
SET LOCAL TimeZone = 'America/New_York';
SET LOCAL ROLE regress_hc_op_hz;
CREATE TEMP TABLE report AS SELECT * FROM erase_person(:p_x, 'PIPL request 2026-001');
RESET ROLE;
RESET TimeZone;
SELECT is(pg_temp.rows_of(ARRAY[:p_x]::bigint[]), '{}', 'afterwards no table names the person');
SELECT is((SELECT count(*) FROM person WHERE subject = :'x_subject'::bytea), 0::bigint, 'nor holds their pseudonym');
SELECT is((SELECT count(*) FROM _code_events() WHERE holder = _code_holder(:'x_subject'::bytea, at)), 0::bigint,
          'their code events are gone');
SELECT is((SELECT count(*) FROM _code_events()), (:events_before - :x_events)::bigint, 'and no one else''s (the other person''s stay)');
SELECT is((SELECT reason FROM verify(:'x_code'::healthcode)), 'revoked', 'their codes are revoked (a paper code stops too)');
SELECT is((SELECT count(*) FROM travel), (:travel_before - :travel_x)::bigint, 'no one else''s stays went');
SELECT is((SELECT md5(string_agg(s::text, ',' ORDER BY s.person_id)) FROM person_status s), :'others_status',
          'no one else''s status changed');
SELECT is((SELECT rows FROM report WHERE what = 'travel'), :travel_x::bigint, 'the report counts the stays removed');
SELECT is((SELECT rows FROM report WHERE what = 'manual_decision (made tombstones)'), 2::bigint,
          'and the decisions made tombstones');
SELECT is((SELECT rows FROM report WHERE what = 'person'), 1::bigint, 'and the person');
SELECT is((SELECT what || ' ' || people || ' ' || region || ' ' || erased_by FROM erasure),
          'person 1 330106 regress_hc_op_hz', 'erasure keeps who erased how many people of which region');
SELECT ok((SELECT report::text FROM erasure) !~ :'p_x'::text AND (SELECT reason FROM erasure) = 'PIPL request 2026-001',
          'and the reason, naming no one');
SELECT is((SELECT tombstones FROM erasure),
          ARRAY(SELECT chain_seq FROM manual_decision WHERE id IN (:d1, :d2) ORDER BY 1),
          'and the chain positions it made tombstones, exactly');

-- ---- the chain ------------------------------------------------------------------------
SELECT is((SELECT count(*) FROM manual_decision WHERE id IN (:d1, :d2) AND person_id IS NULL AND reason IS NULL
             AND authority IS NULL AND valid_from IS NULL AND erased_at IS NOT NULL), 2::bigint,
          'the decisions are tombstones: no person, validity, authority or reason');
SELECT is((SELECT content_digest = :'d1_digest'::bytea AND entry_hash = :'d1_hash'::bytea FROM manual_decision WHERE id = :d1),
          true, 'a tombstone keeps its content digest and its hash: it commits to what was removed');
SELECT is((SELECT entries FROM decision_chain_head()), :entries_before::bigint, 'the chain has as many entries');
SELECT is_empty(format($$SELECT * FROM verify_decision_chain(%s, decode(%L, 'hex'))$$, :head_seq, :'head_hash'),
                'the chain verifies, against the head recorded before the erasure');
-- a tombstone altered (its digest) is found like any altered entry
ALTER TABLE manual_decision DISABLE TRIGGER decision_guard;
UPDATE manual_decision SET content_digest = sha256('forged') WHERE id = :d1;
ALTER TABLE manual_decision ENABLE TRIGGER decision_guard;
SELECT is((SELECT array_agg(decision_id || ': ' || problem) FROM verify_decision_chain()),
          ARRAY[:d1 || ': entry changed: its hash does not match its content'],
          'a forged tombstone breaks the chain where it lies');
ALTER TABLE manual_decision DISABLE TRIGGER decision_guard;
UPDATE manual_decision SET content_digest = :'d1_digest'::bytea WHERE id = :d1;
ALTER TABLE manual_decision ENABLE TRIGGER decision_guard;
ALTER TABLE manual_decision DISABLE TRIGGER decision_guard;
UPDATE manual_decision SET colour = 'green' WHERE id = :d1;
ALTER TABLE manual_decision ENABLE TRIGGER decision_guard;
SELECT is((SELECT array_agg(decision_id || ': ' || problem) FROM verify_decision_chain()),
          ARRAY[:d1 || ': entry changed: its hash does not match its content'],
          'what a tombstone keeps (its colour) is covered by its hash too');
ALTER TABLE manual_decision DISABLE TRIGGER decision_guard;
UPDATE manual_decision SET colour = 'red' WHERE id = :d1;
-- a living decision made a tombstone by hand, with no erasure: found
UPDATE manual_decision SET person_id = NULL, valid_from = NULL, valid_until = NULL, authority = NULL, reason = NULL,
       erased_at = now() WHERE id = :d3;
ALTER TABLE manual_decision ENABLE TRIGGER decision_guard;
SELECT is((SELECT array_agg(decision_id || ': ' || problem) FROM verify_decision_chain()),
          ARRAY[:d3 || ': entry made a tombstone with no erasure on record'],
          'a decision made a tombstone by hand, with no erasure on record, is found');
SELECT chain_seq AS d3_seq FROM manual_decision WHERE id = :d3 \gset
INSERT INTO erasure (erased_by, what, region, people, reason, report, tombstones)
  VALUES ('forger', 'person', '330106', 1, 'forged', '{}', ARRAY[:d3_seq]::bigint[]);
SELECT is_empty('SELECT * FROM verify_decision_chain()',
                '(with an erasure on record, which the auditor checks against the requests received, it verifies)');
SELECT throws_ok(format($$UPDATE healthcode.manual_decision SET reason = 'back', erased_at = NULL WHERE id = %s$$, :d1),
                 '55000', NULL, 'a tombstone cannot be brought back to life');
SELECT is(pg_temp.state_as('regress_hc_op_hz', $$INSERT INTO healthcode.manual_decision (person_id, region, kind, colour, valid_from,
                                                   authority, reason, erased_at)
                                                VALUES (NULL, '330106', 'override', 'red', NULL, NULL, NULL, now())$$),
          '23514', 'an operator cannot insert a tombstone: an inserted decision is never erased (whole_or_erased, 23514)');

-- a decision recorded under 0.2.0 (its hash over the content itself) verifies
-- beside the new ones, and keeps its person from being erased
SET LOCAL healthcode.restore_mode = on;
INSERT INTO manual_decision (id, person_id, region, kind, colour, valid_from, decided_by, authority, reason, decided_at,
                             chain_seq, prev_hash, entry_hash)
SELECT 42, :p_y, '330106', 'override', 'red', now(), 'someone', 'order 0.2', 'old', now(), h.head_seq + 1, h.head_hash,
       sha256(h.head_hash || decision_content(ROW(42, :p_y, '330106', 'override', 'red', now(), NULL, 'someone', 'order 0.2',
                                                  'old', now(), h.head_seq + 1, h.head_hash, '\x00'::bytea, NULL, NULL)::manual_decision))
  FROM decision_chain_head() h;
SET LOCAL healthcode.restore_mode = off;
SELECT is_empty('SELECT * FROM verify_decision_chain()', 'an entry of 0.2.0 verifies beside the new ones');
SELECT throws_ok(format($$SELECT * FROM healthcode.erase_person(%s, 'request 3')$$, :p_y), '55000', NULL,
                 'a person with a decision of 0.2.0 is not erased (its content cannot go without breaking the chain)');
SELECT is((SELECT count(*) FROM person WHERE id = :p_y), 1::bigint, 'and nothing of theirs went');
SET LOCAL healthcode.restore_mode = on;
ALTER TABLE manual_decision DISABLE TRIGGER decision_guard;
DELETE FROM manual_decision WHERE id = 42;
ALTER TABLE manual_decision ENABLE TRIGGER decision_guard;
SET LOCAL healthcode.restore_mode = off;

-- ---- the end of the emergency in Hangzhou ----------------------------------------------
SELECT count(*) AS hz_people FROM person WHERE region LIKE '3301%' \gset
SELECT array_agg(id) AS hz FROM person WHERE region LIKE '3301%' \gset
SELECT ok(cardinality(pg_temp.rows_of(:'hz'::bigint[])) >= 5, 'before: Hangzhou''s people are named in many tables');
SELECT count(*) AS other_people FROM person WHERE region NOT LIKE '3301%' \gset
SELECT count(*) AS other_travel FROM travel WHERE region NOT LIKE '3301%' \gset
SELECT ok(:hz_people > 10, 'Hangzhou has people to purge');
SET LOCAL healthcode.recalc_batch_size = 7;     -- (several batches)
SET LOCAL ROLE regress_hc_admin;
CREATE TEMP TABLE purged AS SELECT * FROM purge_region('330100', 'end of the emergency in Hangzhou');
RESET ROLE;
SELECT is(pg_temp.rows_of(:'hz'::bigint[]), '{}', 'afterwards no row of any table names a person of Hangzhou');
SELECT is((SELECT count(*) FROM person WHERE region LIKE '3301%'), 0::bigint, 'no person of Hangzhou is left');
SELECT is((SELECT count(*) FROM person WHERE region NOT LIKE '3301%'), :other_people::bigint, 'everyone else is');
SELECT is((SELECT count(*) FROM travel WHERE region NOT LIKE '3301%'), :other_travel::bigint, 'with their stays');
SELECT is((SELECT rows FROM purged WHERE what = 'person'), :hz_people::bigint, 'the report counts the people purged');
SELECT is((SELECT people FROM erasure WHERE what = 'region'), :hz_people::bigint, 'and so does erasure');
SELECT is_empty('SELECT * FROM verify_decision_chain()', 'the chain still verifies');
SELECT is_empty('SELECT * FROM check_consistency()', 'and every status left is what its evidence gives');

SELECT * FROM finish();
ROLLBACK;
