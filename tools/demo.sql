-- The healthcode demo, run by tools/demo.sh in a throwaway cluster.
\set ON_ERROR_STOP 1
\set QUIET 1
\pset footer off
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS healthcode;
SET search_path = healthcode, public;

\echo
\echo '== 1. Issuer keys: Zhejiang (330000), Beijing (110000) and the national issuer (000000)'
SELECT create_key('330000') IS NOT NULL AS zhejiang,
       create_key('110000') IS NOT NULL AS beijing,
       create_key('000000') IS NOT NULL AS national;
SELECT region, encode(key_id, 'hex') AS key_id, status,
       to_char(valid_from, 'YYYY-MM-DD') AS valid_from, to_char(valid_until, 'YYYY-MM-DD') AS valid_until
  FROM trust_list ORDER BY region;

\echo
\echo '== 2. A small synthetic population (2,000 people in six districts) and a code for each'
CREATE TABLE public.demo_person AS
  SELECT i AS id,
         (ARRAY['330106', '330102', '330203', '110101', '110105', '441303'])[1 + i % 6] AS region,
         -- a made-up 18-character identifier; only its keyed pseudonym leaves this table
         lpad(((i * 7919) % 1000000)::text, 6, '0') || '1990' || lpad((i % 10000)::text, 8, '0') AS identifier,
         CASE WHEN i % 20 = 0 THEN 'red' WHEN i % 7 = 0 THEN 'yellow' ELSE 'green' END::risk_colour AS colour,
         i % 10 < 7 AS vaccinated
    FROM generate_series(1, 2000) i;
CREATE TABLE public.demo_code AS
  SELECT id, issue(region, pseudonym(identifier), colour, '5 minutes', vaccinated) AS code
    FROM public.demo_person;
SELECT p.region, count(*) AS people,
       count(*) FILTER (WHERE colour(c.code) = 'green') AS green,
       count(*) FILTER (WHERE colour(c.code) = 'yellow') AS yellow,
       count(*) FILTER (WHERE colour(c.code) = 'red') AS red,
       count(*) FILTER (WHERE vaccinated(c.code)) AS vaccinated
  FROM public.demo_person p JOIN public.demo_code c USING (id)
 GROUP BY p.region ORDER BY p.region;

\echo
\echo '== 3. Verify every code at a checkpoint, now and in ten minutes (codes live five)'
SELECT v.reason, count(*) FILTER (WHERE at_now) AS now, count(*) FILTER (WHERE NOT at_now) AS in_10_minutes
  FROM public.demo_code c,
       LATERAL (VALUES (true, now()), (false, now() + interval '10 minutes')) t(at_now, at),
       LATERAL verify(c.code, t.at) v
 GROUP BY v.reason ORDER BY v.reason;

\echo
\echo '== 4. Person 1''s code: its text (base45, QR alphanumeric mode) and what verify() says'
SELECT code::text AS code_text, length(code::text) AS chars FROM public.demo_code WHERE id = 1;
SELECT valid, colour, region, reason, vaccinated, encode(key_id, 'hex') AS key_id,
       to_char(expires_at - issued_at, 'MI "min"') AS lifetime
  FROM public.demo_code, verify(code) WHERE id = 1;
\echo
\echo 'As a terminal QR code (scan it with a phone):'
\pset format unaligned
\pset tuples_only on
SELECT qr_terminal(code) FROM public.demo_code WHERE id = 1;
\pset format aligned
\pset tuples_only off

\echo
\echo '== 5. Tampering, rotation and revocation'
\echo 'Person 1''s code with one bit of its colour changed:'
SELECT reason FROM public.demo_code, verify(set_byte(code::bytea, 20, 2)::healthcode) WHERE id = 1;
\echo 'Zhejiang rotates its key: new codes use the new key, old codes still verify until the old key expires:'
SELECT encode(rotate_key('330000'), 'hex') AS new_zhejiang_key;
SELECT encode(key_id(c), 'hex') AS new_code_key, (verify(c)).reason AS new_code,
       (SELECT (verify(code)).reason FROM public.demo_code WHERE id = 1) AS old_code
  FROM (SELECT issue('330106', pseudonym('demo'), 'green') AS c) s;
\echo 'Beijing revokes its key: every code it signed stops verifying:'
SELECT revoke_key(key_id, 'demo: key compromised') FROM trust_list WHERE region = '110000';
SELECT v.reason, count(*) AS beijing_codes
  FROM public.demo_person p JOIN public.demo_code c USING (id), verify(c.code) v
 WHERE p.region LIKE '11%' GROUP BY v.reason;
