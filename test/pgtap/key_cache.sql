-- issue() and verify() cache the trust list and unsealed signing keys per
-- backend. Changes must reach them: a revocation committed by another
-- backend, a key created in a transaction that rolls back, a key file
-- swapped. Not one transaction: another backend (dblink, over :conn from
-- lib/common.psql) must see commits.
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(10);

SELECT create_key('460000') AS k \gset
SELECT issue('460100', pseudonym('cache'), 'green') AS code \gset
SELECT is((verify(:'code')).reason, 'ok', 'the code verifies (trust list now cached here)');

SELECT x AS revoked FROM dblink(:'conn', format('SELECT healthcode.revoke_key(%L, %L)::text', :'k', 'cache test')) AS t(x text) \gset
SELECT is((verify(:'code')).reason, 'key_revoked',
          'a revocation committed by another backend reaches this backend''s cache');
SELECT throws_ok($$SELECT healthcode.issue('460100', healthcode.pseudonym('cache'), 'green')$$, '55000', NULL,
                 'the revoked key no longer signs here either');

-- a key created and rolled back leaves nothing usable behind
BEGIN;
SELECT create_key('500000') IS NOT NULL AS made_key \gset
SELECT lives_ok($$SELECT healthcode.issue('500101', healthcode.pseudonym('rb'), 'green')$$,
                'inside the transaction the new key signs');
ROLLBACK;
SELECT throws_ok($$SELECT healthcode.issue('500101', healthcode.pseudonym('rb'), 'green')$$, '55000', NULL,
                 'after ROLLBACK the key is gone from the cache');

-- another backend that verified before sees a key created here
SELECT create_key('510000') AS k2 \gset
SELECT issue('510100', pseudonym('cache2'), 'red') AS code2 \gset
SELECT is((SELECT r FROM dblink(:'conn', format('SELECT (healthcode.verify(%L)).reason', :'code2')) AS t(r text)),
          'ok', 'a key committed here verifies in another backend');

-- a revocation committed here reaches a backend that holds the list already
SELECT dblink_connect('cache_peer', :'conn') AS x \gset
SELECT is((SELECT r FROM dblink('cache_peer', format('SELECT (healthcode.verify(%L)).reason', :'code2')) AS t(r text)),
          'ok', 'a backend that verified the code (and holds the revocation list)');
SELECT revoke_code(:'code2', 'cache test') IS NOT NULL AS revoked_code \gset
SELECT is((SELECT r FROM dblink('cache_peer', format('SELECT (healthcode.verify(%L)).reason', :'code2')) AS t(r text)),
          'revoked', 'finds it revoked as soon as the revocation commits here');
DELETE FROM code_revocation WHERE region = '510100';
SELECT is((SELECT r FROM dblink('cache_peer', format('SELECT (healthcode.verify(%L)).reason', :'code2')) AS t(r text)),
          'ok', 'and valid again when the revocation is removed');
SELECT dblink_disconnect('cache_peer') AS x \gset

-- changing the key file drops unsealed secrets: issuing must unseal again
SET healthcode.server_key_file = '';
SELECT throws_ok($$SELECT healthcode.issue('510100', healthcode.pseudonym('cache2'), 'red')$$, '55000', NULL,
                 'without the server key the cached secret is not used');
RESET healthcode.server_key_file;

DELETE FROM trust_list WHERE region IN ('460000', '510000');
SELECT * FROM finish();
