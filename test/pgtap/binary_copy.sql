-- Binary send/recv: COPY ... (FORMAT binary) out and back gives the same
-- codes; malformed binary input is refused with 22P03 and writes nothing.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(6);

SELECT create_key('320000') IS NOT NULL AS made_key \gset
CREATE TABLE bin_src (id int PRIMARY KEY, code healthcode NOT NULL);
INSERT INTO bin_src
  SELECT i, issue('320102', pseudonym('binary-' || i), (ARRAY['green','yellow','red'])[1 + i % 3]::risk_colour,
                  '30 minutes', i % 2 = 0)
    FROM generate_series(1, 50) i;
CREATE TABLE bin_dst (LIKE bin_src);

SELECT '/tmp/healthcode_tap_' || pg_backend_pid() || '.copy' AS copyfile \gset
SELECT lives_ok(format('COPY bin_src TO %L (FORMAT binary)', :'copyfile'), 'COPY TO binary');
SELECT lives_ok(format('COPY bin_dst FROM %L (FORMAT binary)', :'copyfile'), 'COPY FROM binary');
SELECT set_eq('SELECT id, code::text FROM bin_dst', 'SELECT id, code::text FROM bin_src',
              'binary round trip gives back every code exactly');

-- A hand-made binary COPY file with one row of one field.
CREATE FUNCTION pg_temp.copy_file(payload bytea, path text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  lo oid := lo_from_bytea(0, '\x5047434f50590aff0d0a00'::bytea    -- signature
                            || '\x0000000000000000'::bytea          -- flags, extension length
                            || '\x0001'::bytea || int4send(length(payload)) || payload
                            || '\xffff'::bytea);                    -- trailer
BEGIN
  PERFORM lo_export(lo, path);
  PERFORM lo_unlink(lo);
END $$;
CREATE TABLE bin_one (code healthcode);

SELECT pg_temp.copy_file((SELECT code::bytea FROM bin_src WHERE id = 1), :'copyfile');
SELECT lives_ok(format('COPY bin_one FROM %L (FORMAT binary)', :'copyfile'),
                'a hand-made binary file with a valid payload loads');
SELECT pg_temp.copy_file(set_byte((SELECT code::bytea FROM bin_src WHERE id = 1), 0, 2), :'copyfile');
SELECT throws_ok(format('COPY bin_one FROM %L (FORMAT binary)', :'copyfile'), '22P03',
                 'invalid binary representation for type healthcode',
                 'an unknown format-version byte is refused with 22P03');
SELECT pg_temp.copy_file('\x01'::bytea, :'copyfile');
SELECT throws_ok(format('COPY bin_one FROM %L (FORMAT binary)', :'copyfile'), '22P03',
                 'invalid binary representation for type healthcode',
                 'a truncated payload is refused with 22P03');

SELECT * FROM finish();
ROLLBACK;
