-- Any single-bit change anywhere in a code makes it invalid: every bit of
-- the binary payload, and every character of the text form.
BEGIN;
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(6);

SELECT create_key('330000') IS NOT NULL AS made_key \gset
CREATE TEMP TABLE subject_code AS
  SELECT issue('330106', pseudonym('bitflip-subject'), 'green', '1 hour', true) AS code;

SELECT is((SELECT (verify(code)).reason FROM subject_code), 'ok', 'the untouched code verifies');

-- (pg_temp.reason_of_bytes and reason_of_text, from lib/common.psql: the
-- reason for a changed code, or '22P02' when input validation refuses it)
CREATE TEMP TABLE flips AS
  SELECT bit, pg_temp.reason_of_bytes(set_bit(b, bit, 1 - get_bit(b, bit))) AS outcome
    FROM (SELECT code::bytea AS b FROM subject_code) s,
         generate_series(0, 8 * 102 - 1) bit;

SELECT is((SELECT count(*) FROM flips), 816::bigint, 'all 816 bits of the payload were flipped');
SELECT is((SELECT count(*) FROM flips WHERE outcome = 'ok'), 0::bigint,
          'no single-bit change of the payload verifies');
SELECT ok((SELECT bool_and(outcome IN (SELECT reason FROM verify_reason) OR outcome = '22P02') FROM flips),
          'every flipped code is rejected by input or gets a documented reason');

-- text form: replace each character by another of the base45 alphabet
CREATE TEMP TABLE text_changes AS
  SELECT pos, pg_temp.reason_of_text(overlay(t placing
           substr('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:',
                  (strpos('0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:', substr(t, pos, 1)) % 45) + 1, 1)
           from pos for 1)) AS outcome
    FROM (SELECT code::text AS t FROM subject_code) s,
         generate_series(1, (SELECT length(code::text) FROM subject_code)) pos;
SELECT is((SELECT count(*) FROM text_changes), (SELECT length(code::text)::bigint FROM subject_code),
          'every character of the text form was changed');
SELECT is((SELECT count(*) FROM text_changes WHERE outcome = 'ok'), 0::bigint,
          'no single-character change of the text form verifies');

SELECT * FROM finish();
ROLLBACK;
