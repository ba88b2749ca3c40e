-- The backend never crashes, whatever bytes arrive: thousands of random
-- and mutated inputs either parse or fail with 22P02; whatever parses gets
-- a documented verify() reason. A crash would end this session and fail
-- the plan.
BEGIN;
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(4);
SELECT setseed(0.42);

SELECT create_key('350000') IS NOT NULL AS made_key \gset
SELECT issue('350102', pseudonym('robust'), 'yellow')::bytea AS payload \gset

-- (pg_temp.reason_of_bytes and reason_of_text come from lib/common.psql)
CREATE FUNCTION pg_temp.random_bytes(n int) RETURNS bytea LANGUAGE sql AS $$
  SELECT coalesce(string_agg(set_byte('\x00'::bytea, 0, (random() * 255)::int), ''), '')
    FROM generate_series(1, n)
$$;

-- random bytes of every length around the real one
CREATE TEMP TABLE random_outcomes AS
  SELECT pg_temp.reason_of_bytes(pg_temp.random_bytes((random() * 130)::int)) AS outcome
    FROM generate_series(1, 2000);
-- the real payload with 1-8 random bytes overwritten
CREATE TEMP TABLE mutated_outcomes AS
  SELECT pg_temp.reason_of_bytes(m) AS outcome
    FROM (SELECT (SELECT string_agg(CASE WHEN random() < 0.05 THEN set_byte('\x00'::bytea, 0, (random() * 255)::int)
                                         ELSE substring(:'payload'::bytea from i for 1) END, '' ORDER BY i)
                    FROM generate_series(1, 102) i WHERE g > 0) AS m
            FROM generate_series(1, 2000) g) s
   WHERE m <> :'payload'::bytea;
-- random text in and out of the base45 alphabet, with and without prefix
CREATE TEMP TABLE text_outcomes AS
  SELECT pg_temp.reason_of_text(CASE WHEN g % 2 = 0 THEN 'HCN:' ELSE '' END ||
           (SELECT string_agg(substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:abcé€' || chr(1) || chr(127),
                                     1 + (random() * 51)::int, 1), '')
              FROM generate_series(1, (random() * 170)::int) WHERE g > 0)) AS outcome
    FROM generate_series(1, 2000) g;

SELECT ok((SELECT bool_and(outcome = '22P02' OR outcome IN (SELECT reason FROM verify_reason)) FROM random_outcomes),
          'random bytes: 22P02 or a documented reason');
SELECT ok((SELECT bool_and(outcome = '22P02' OR outcome IN (SELECT reason FROM verify_reason)) FROM mutated_outcomes),
          'mutated payloads: 22P02 or a documented reason');
SELECT is((SELECT count(*) FROM mutated_outcomes WHERE outcome = 'ok'), 0::bigint,
          'no mutated payload verifies');
SELECT ok((SELECT bool_and(outcome = '22P02' OR outcome IN (SELECT reason FROM verify_reason)) FROM text_outcomes),
          'random text: 22P02 or a documented reason');

SELECT * FROM finish();
ROLLBACK;
