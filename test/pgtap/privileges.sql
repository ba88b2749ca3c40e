-- Least privilege for the foundation: who may make keys, issue, read
-- secrets; hardened SECURITY DEFINER functions; every object documented.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(19);

CREATE ROLE hc_tap_nobody;

SELECT ok(NOT has_function_privilege('hc_tap_nobody', f, 'EXECUTE'), 'PUBLIC cannot execute ' || f)
  FROM unnest(ARRAY[
    'healthcode.create_key(text, timestamptz, timestamptz)',
    'healthcode.rotate_key(text, timestamptz)',
    'healthcode.revoke_key(bytea, text)',
    'healthcode._new_issuer_key(text)',
    'healthcode.issue(text, bytea, healthcode.risk_colour, interval, boolean)',
    'healthcode.pseudonym(text)']) f;
SELECT ok(has_function_privilege('hc_tap_nobody', 'healthcode.verify(healthcode.healthcode, timestamptz)', 'EXECUTE'),
          'anyone may verify a code');
SELECT ok(NOT has_table_privilege('hc_tap_nobody', 'healthcode.issuer_key_secret', p),
          'PUBLIC has no ' || p || ' on issuer_key_secret')
  FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE']) p;
SELECT ok(has_table_privilege('hc_tap_nobody', 'healthcode.trust_list', 'SELECT'),
          'the trust list (public keys) is readable by anyone');
SELECT ok(NOT has_table_privilege('hc_tap_nobody', 'healthcode.trust_list', 'INSERT, UPDATE, DELETE, TRUNCATE'),
          'nobody but its owner changes the trust list');

SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
   WHERE p.pronamespace = 'healthcode'::regnamespace AND p.prosecdef
     AND NOT coalesce('search_path=pg_catalog, pg_temp' = ANY (p.proconfig), false)$$,
  'every SECURITY DEFINER function pins search_path = pg_catalog, pg_temp');
SELECT is_empty($$
  SELECT p.oid::regprocedure FROM pg_proc p
   WHERE p.pronamespace = 'healthcode'::regnamespace AND obj_description(p.oid, 'pg_proc') IS NULL$$,
  'every function has a COMMENT');
SELECT is_empty($$
  SELECT c.relname FROM pg_class c
   WHERE c.relnamespace = 'healthcode'::regnamespace AND c.relkind IN ('r', 'v', 'p')
     AND obj_description(c.oid, 'pg_class') IS NULL$$,
  'every table has a COMMENT');

-- as that role, in practice
SELECT create_key('340000') IS NOT NULL AS made_key \gset
SELECT issue('340100', pseudonym('priv'), 'green') AS code \gset
SET ROLE hc_tap_nobody;
SELECT throws_ok('SELECT sealed FROM healthcode.issuer_key_secret', '42501', NULL,
                 'a plain role cannot read sealed secrets');
SELECT throws_ok($$SELECT healthcode.issue('340100', '\x00000000000000000000000000000000', 'red')$$, '42501', NULL,
                 'a plain role cannot issue codes');
SELECT is((healthcode.verify(:'code')).reason, 'ok', 'a plain role verifies a code');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
