-- Revocation lists (issue 12, point 3, on one node): one code, or every
-- code of a person issued so far, revoked before it expires; kept as hashes
-- only; verify() consults them offline, in every backend, from the moment
-- the revocation commits; codes issued from the next second on are valid;
-- expired revocations can be dropped; a role revokes only its regions'.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(15);
\ir lib/roles_common.psql

SELECT healthcode.create_key('330000') IS NOT NULL AS zj_key \gset
SELECT colour::text AS c FROM declare('33010619650505001X', '330106') \gset
SELECT person_id('33010619650505001X') AS p \gset
SELECT colour::text AS c FROM declare('330106196505050028', '330106') \gset
SELECT person_id('330106196505050028') AS q \gset
SELECT issue_for(:p) AS code_a \gset
SELECT pg_sleep(1.1) AS slept \gset
SELECT issue_for(:p) AS code_b \gset
SELECT issue_for(:q) AS code_q \gset

-- ---- one code ------------------------------------------------------------------
SELECT ok(revoke_code(:'code_a', 'shown on a stolen phone') = now(), 'revoke_code revokes one code, now');
SELECT is((verify(:'code_a')).reason, 'revoked', 'verify() says revoked for it, offline');
SELECT is((verify(:'code_b')).reason, 'ok', 'while the person''s other code stays valid');
SELECT is((SELECT count(*) FROM (SELECT revoke_code(:'code_a', 'again')) x, code_revocation WHERE kind = 'code'), 1::bigint,
          'revoking it again changes nothing');
SELECT is((SELECT count(*) FROM code_revocation
            WHERE position(bytea(:'code_a'::healthcode) IN hash) > 0 OR length(hash) <> 16), 0::bigint,
          'the list holds a 16-byte hash, never the code');
SELECT is((SELECT expires_at FROM code_revocation WHERE kind = 'code'), expires_at(:'code_a'),
          'and keeps it only as long as the code could live');

-- ---- every code of a person ---------------------------------------------------------
-- (across backends: key_cache.sql)
SELECT pg_sleep(1.1) AS slept \gset
SELECT is(revoke_codes_of(:q, 'lost phone'), statement_timestamp(), 'revoke_codes_of revokes every code of a person issued up to now');
SELECT is((verify(:'code_q')).reason, 'revoked', 'every code issued so far is revoked');
SELECT pg_sleep(1.1) AS slept \gset
SELECT issue_for(:q) AS code_q2 \gset
SELECT is((verify(:'code_q2')).reason, 'ok', 'a code issued after the revocation is valid (the new phone)');
SELECT is((checkpoint_verify(:'code_q', '330106')).reason, 'revoked', 'checkpoint_verify refuses the revoked one');

-- ---- expiry ---------------------------------------------------------------------
UPDATE code_revocation SET expires_at = now() - interval '1 second' WHERE kind = 'code';
SELECT is(drop_expired_revocations(), 1::bigint, 'drop_expired_revocations drops what covers only expired codes');

-- ---- scope -----------------------------------------------------------------------
SET LOCAL ROLE regress_hc_op_bj;
SELECT throws_ok(format($$SELECT healthcode.revoke_code(%L, 'not yours')$$, :'code_b'), '42501', NULL,
                 'an operator of another region cannot revoke this region''s code');
SELECT throws_ok(format($$SELECT healthcode.revoke_codes_of(%s, 'not yours')$$, :p), 'P0002', NULL,
                 'nor its people''s codes (as for an unknown person)');
SELECT throws_ok('SELECT count(*) FROM healthcode.code_revocation', '42501', NULL,
                 'operators do not read the list itself (verify() does, as the owner)');
RESET ROLE;
SELECT throws_ok(format($$SELECT healthcode.revoke_code(%L, '  ')$$, :'code_b'), '22023', NULL,
                 'a revocation needs a reason');

SELECT * FROM finish();
ROLLBACK;
