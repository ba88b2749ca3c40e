-- Issuer keys, issue() and verify(): every reason, rotation, revocation,
-- the trust list's guards and bad arguments. The regression cluster runs
-- with healthcode.server_key_file set (see tools/test.sh).
SET search_path = public, healthcode;
SET timezone = 'UTC';

SELECT pseudonym('330106199001011234') AS subject \gset
SELECT length(:'subject'::bytea) AS pseudonym_len,
       pseudonym('330106199001011234') = :'subject'::bytea AS deterministic,
       pseudonym('330106199001011235') <> :'subject'::bytea AS distinct_ids;

-- no key yet
SELECT try($$SELECT issue('330106', pseudonym('a'), 'green')$$) AS no_key;

SELECT create_key('330000') AS k1 \gset
SELECT region, status, length(public_key) AS pk_len, key_id = public_key_id(public_key) AS id_ok,
       valid_until = valid_from + interval '1 year' AS one_year
  FROM trust_list;

-- a province key issues for its districts
SELECT issue('330106', :'subject', 'yellow', '10 minutes', true) AS code \gset
SELECT region(:'code'), colour(:'code'), vaccinated(:'code'),
       expires_at(:'code') - issued_at(:'code') AS lifetime,
       key_id(:'code') = :'k1'::bytea AS signed_by_k1
  FROM (SELECT 1) s;
SELECT valid, colour, region, reason, vaccinated, key_id = :'k1'::bytea AS key_ok
  FROM verify(:'code');

-- time: expired, not yet valid (beyond healthcode.clock_skew), skew tolerated
SELECT reason FROM verify(:'code', now() + interval '11 minutes');
SELECT reason FROM verify(:'code', now() - interval '1 hour');
SELECT reason FROM verify(:'code', now() - interval '4 minutes');
SET healthcode.clock_skew = '1min';
SELECT reason FROM verify(:'code', now() - interval '4 minutes');
RESET healthcode.clock_skew;
SELECT reason FROM verify(:'code', now() + interval '2 years');

-- a code lives no longer than its key
SELECT expires_at(issue('330106', :'subject', 'green', '5 years')) =
       (SELECT date_trunc('second', valid_until) FROM trust_list WHERE key_id = :'k1') AS capped_by_key;

-- tampering: one bit of the signature, one bit of the colour
SELECT reason FROM verify(set_byte(:'code'::healthcode::bytea, 60,
                                   get_byte(:'code'::healthcode::bytea, 60) # 1)::healthcode);
SELECT reason FROM verify(set_byte(:'code'::healthcode::bytea, 20, 2)::healthcode);

-- regions: no key for Beijing; a city falls back to its province's key
SELECT try($$SELECT issue('110101', pseudonym('a'), 'green')$$) AS no_key_for_beijing;
SELECT key_id(issue('330100', :'subject', 'green')) = :'k1'::bytea AS city_uses_province_key;
-- a national key covers every region
SELECT create_key('000000') AS knat \gset
SELECT (verify(issue('110101', :'subject', 'red'))).reason AS national_issuer;

-- rotation: the new key signs, codes of the old one still verify
SELECT rotate_key('330000') AS k2 \gset
SELECT key_id(issue('330106', :'subject', 'green')) = :'k2'::bytea AS new_key_signs;
SELECT reason FROM verify(:'code');
SELECT key_id = :'k1'::bytea AS is_k1, status, signing_until IS NOT NULL AS stopped_signing
  FROM trust_list WHERE region = '330000' ORDER BY created_at, status;
-- a code claiming an issue time after its key stopped signing
SELECT create_key('120000', now() - interval '2 hours') AS ktj \gset
SELECT issue('120101', :'subject', 'green') AS tjcode \gset
UPDATE trust_list SET status = 'retired', signing_until = now() - interval '1 hour' WHERE key_id = :'ktj';
SELECT reason FROM verify(:'tjcode');

-- revocation: its codes stop verifying, its secret is destroyed
SELECT revoke_key(:'k2', 'key file leaked');
SELECT status, revocation_reason FROM trust_list WHERE key_id = :'k2';
SELECT count(*) AS secrets_left_for_k2 FROM issuer_key_secret WHERE key_id = :'k2';
SELECT regexp_replace(try(format('SELECT revoke_key(%L, %L)', :'k2', 'again')),
                      '[0-9a-f]{16}', '<key id>') AS revoke_twice;
SELECT try(format('SELECT revoke_key(%L, %L)', '\x0000000000000000', 'x')) AS revoke_unknown;
SELECT try(format('SELECT revoke_key(%L, %L)', :'knat', ' ')) AS revoke_without_reason;
-- 330000 has no signing key now: its districts fall back to the national key
SELECT key_id(issue('330106', :'subject', 'green')) = :'knat'::bytea AS falls_back_to_national;

-- a key that the trust list files under another region vouches for nothing else
SELECT issue('330106', :'subject', 'green') AS natcode \gset
SELECT public_key AS natpk FROM trust_list WHERE key_id = :'knat' \gset
DELETE FROM trust_list WHERE key_id = :'knat' RETURNING region;
-- the national exchange still vouches for it: keys are never removed from it
SELECT reason FROM verify(:'natcode');
SELECT try(format('DELETE FROM key_exchange WHERE key_id = %L', :'knat')) AS exchange_keeps_keys;
SELECT count(*) AS still_exchanged FROM key_exchange WHERE key_id = :'knat';
-- only the owner, switching the guard off, can take it out
ALTER TABLE key_exchange DISABLE TRIGGER key_exchange_check;
DELETE FROM key_exchange WHERE key_id = :'knat';
ALTER TABLE key_exchange ENABLE ALWAYS TRIGGER key_exchange_check;
SELECT reason FROM verify(:'natcode');
INSERT INTO trust_list (key_id, region, public_key, valid_from, valid_until)
  VALUES (public_key_id(:'natpk'), '110000', :'natpk', now() - interval '1 day', now() + interval '1 day');
SELECT reason FROM verify(:'natcode');

-- the trust list guards a key's identity and keeps revocation final
SELECT try(format('UPDATE trust_list SET region = %L WHERE key_id = %L', '110000', :'k1')) AS move_key;
SELECT try(format('UPDATE trust_list SET valid_until = valid_until + interval %L WHERE key_id = %L', '1 day', :'k1')) AS extend_key;
SELECT try(format('UPDATE trust_list SET status = %L, revoked_at = NULL WHERE key_id = %L', 'active', :'k2')) AS reinstate;
SELECT try($$INSERT INTO trust_list (key_id, region, public_key, valid_from, valid_until)
             VALUES ('\x0000000000000000', '330000', ('\x' || repeat('00', 32))::bytea, now(), now() + interval '1 day')$$) AS wrong_key_id;
SELECT try($$INSERT INTO trust_list (key_id, region, public_key, valid_from, valid_until)
             SELECT public_key_id(pk), '990000', pk, now(), now() + interval '1 day'
               FROM (SELECT ('\x' || repeat('01', 32))::bytea pk) s$$) AS bad_region;

-- bad arguments: 22023
SELECT try($$SELECT issue('33010', pseudonym('a'), 'green')$$) AS short_region;
SELECT try($$SELECT issue('990000', pseudonym('a'), 'green')$$) AS unknown_province;
SELECT try($$SELECT issue('330106', '\x00', 'green')$$) AS short_subject;
SELECT try($$SELECT issue('330106', pseudonym('a'), 'green', '0 seconds')$$) AS zero_validity;
SELECT try($$SELECT issue('330106', pseudonym('a'), 'green', '-5 minutes')$$) AS negative_validity;
SELECT try($$SELECT issue('330106', pseudonym('a'), 'blue')$$) AS unknown_colour;
SELECT try($$SELECT pseudonym('')$$) AS empty_identifier;
SELECT try($$SELECT create_key('33')$$) AS create_bad_region;
SELECT try($$SELECT create_key('330000', now(), now() - interval '1 day')$$) AS create_backwards;
SELECT try($$SELECT public_key_id('\x00')$$) AS short_public_key;
SELECT issue(NULL, :'subject', 'green') IS NULL AS strict_issue;

-- every reason verify() returned above is in the documented set
SELECT array_agg(reason ORDER BY check_order) AS reasons FROM verify_reason;

-- without a server key nothing can be signed or unsealed
SET healthcode.server_key_file = '';
SELECT try($$SELECT create_key('110000')$$) AS create_without_server_key;
SELECT try($$SELECT pseudonym('x')$$) AS pseudonym_without_server_key;
RESET healthcode.server_key_file;
SET healthcode.server_key_file = 'no/such/file';
SELECT try($$SELECT create_key('110000')$$) AS missing_key_file;
RESET healthcode.server_key_file;
-- a non-superuser cannot point it elsewhere
CREATE ROLE hc_regress_user;
SET ROLE hc_regress_user;
SELECT try($$SET healthcode.server_key_file = '/tmp/x'$$) AS set_as_user;
-- nor read a secret, nor make keys
SELECT try($$SELECT * FROM healthcode.issuer_key_secret$$) AS read_secrets;
SELECT try($$SELECT healthcode.create_key('110000')$$) AS create_as_user;
SELECT count(*) > 0 AS trust_list_is_public FROM healthcode.trust_list;
RESET ROLE;
DROP ROLE hc_regress_user;

DROP EXTENSION healthcode;
-- DROP EXTENSION leaves no object behind (the schema itself stays, as
-- for every extension whose control file names a schema)
SELECT (SELECT count(*) FROM pg_class WHERE relnamespace = 'healthcode'::regnamespace)
     + (SELECT count(*) FROM pg_proc WHERE pronamespace = 'healthcode'::regnamespace)
     + (SELECT count(*) FROM pg_type WHERE typnamespace = 'healthcode'::regnamespace) AS leftover_objects;
