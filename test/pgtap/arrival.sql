-- Arrival rules on any node (issue 12, point 4, first part): a rule that
-- demands a recent negative test reads the holder's own evidence where they
-- are registered on this node (before, only the hub's digests: a single
-- node refused a person whose negative test was 40 hours old), and rules
-- are versioned by validity like policy, the verdict naming the version.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(7);

SELECT healthcode.create_key('330000') IS NOT NULL AS zj_key \gset
SELECT colour::text AS c FROM declare('330106196606066010', '330106') \gset
SELECT person_id('330106196606066010') AS tested \gset
SELECT colour::text AS c FROM declare('330106196606066029', '330106') \gset
SELECT person_id('330106196606066029') AS untested \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:tested, '330106', 'pcr', now() - interval '40 hours', 'negative', 'arrival lab', 'AR-1');
SELECT issue_for(:tested) AS tested_code \gset
SELECT issue_for(:untested) AS untested_code \gset

INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from)
VALUES ('330000', '330000', 'green_and_negative_test', 48, 'Zhejiang: green and a negative test within 48 h',
        now() - interval '1 day')
RETURNING id AS rule_48 \gset

SELECT is((SELECT admit || ' ' || reason || ' ' || rule_id FROM verify_arrival(:'tested_code', '330106')),
          'true ok ' || :rule_48, 'on a single node, a local negative test 40 hours old meets "within 48 h"');
SELECT is((SELECT admit || ' ' || reason FROM verify_arrival(:'untested_code', '330106')),
          'false no_recent_negative_test', 'and a person without one is refused');

-- a later version, in force from now on: within 24 h
INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from)
VALUES ('330000', '330000', 'green_and_negative_test', 24, 'Zhejiang: green and a negative test within 24 h', now())
RETURNING id AS rule_24 \gset
SELECT is((SELECT admit || ' ' || reason || ' ' || rule_id FROM verify_arrival(:'tested_code', '330106')),
          'false no_recent_negative_test ' || :rule_24, 'the version in force now decides, and is named');
SELECT is((SELECT rule_id FROM verify_arrival(:'tested_code', '330106', now() - interval '1 hour', online => false)),
          :rule_48::bigint, 'an hour ago the earlier version was in force');

-- a version that has ended no longer applies
UPDATE arrival_rule SET valid_until = now() + interval '1 microsecond' WHERE id = :rule_24;
SELECT is((SELECT rule_id FROM verify_arrival(:'tested_code', '330106', now() + interval '1 second')),
          :rule_48::bigint, 'once a version ends, the one before it is in force again');

-- the rules are data: bad versions are refused
SELECT throws_ok($$INSERT INTO arrival_rule (region, from_region, demand, description, valid_from, valid_until)
                   VALUES ('330000', '110000', 'green', 'x', now(), now() - interval '1 day')$$, '23514', NULL,
                 'a version that ends before it starts is refused');
SELECT throws_ok(format($$INSERT INTO arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from)
                          VALUES ('330000', '330000', 'green', NULL, 'x', %L)$$, now()), '23505', NULL,
                 'two versions of one rule cannot start at the same instant');

SELECT * FROM finish();
ROLLBACK;
