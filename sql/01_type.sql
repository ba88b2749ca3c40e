-- The healthcode type: text and binary forms, casts, accessors, operators
-- and every kind of malformed input. Nothing here needs a key: input parses
-- structure only.
CREATE EXTENSION healthcode;
SET search_path = public, healthcode;

-- A fixed payload: version 1, region 330106, subject 00..0f, yellow,
-- vaccinated, issued 2022-04-02 08:00:00 UTC for 5 minutes, key id
-- 0011223344556677, an all-zero signature.
\set payload '\\x0105097a000102030405060708090a0b0c0d0e0f010162480280624803ac001122334455667700000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'
\set code 'HCN: 50-81100KB0*M0DY0W016C1PN1:Y1W505JCAE05JC+K0H00PE4XS8-.C000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000'

-- text round trip is exact
SELECT :'code'::healthcode::text = :'code' AS text_round_trip;
-- bytea casts both ways
SELECT (:'payload'::bytea)::healthcode::text = :'code' AS from_bytea,
       (:'code'::healthcode)::bytea = :'payload'::bytea AS to_bytea;

-- accessors
SET timezone = 'UTC';
SELECT format_version(c), region(c), subject(c), colour(c), vaccinated(c),
       issued_at(c), expires_at(c), key_id(c), length(signature(c)) AS sig_len
  FROM (SELECT :'code'::healthcode AS c) s;

-- operators and opclasses: a code can be a key, joined and indexed
CREATE TABLE codes (c healthcode PRIMARY KEY, n int);
INSERT INTO codes
  SELECT set_byte(:'payload'::bytea, 4, i)::healthcode, i FROM generate_series(0, 199) i;
SELECT count(*) AS n, count(DISTINCT c) AS distinct_codes FROM codes;
SELECT try($$INSERT INTO codes VALUES ('$$ || :'code' || $$', 0)$$) AS duplicate_key;
CREATE INDEX codes_hash ON codes USING hash (c);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT n FROM codes WHERE c = :'code'::healthcode;
RESET enable_seqscan;
RESET enable_bitmapscan;
SELECT a.n FROM codes a JOIN codes b ON a.c = b.c WHERE a.n < 3 ORDER BY a.n;
SELECT healthcode_hash(a) = healthcode_hash(b) AS equal_hash_equally,
       healthcode_hash_extended(a, 7) = healthcode_hash_extended(b, 7) AS equal_hash_extended
  FROM (SELECT :'code'::healthcode a, (:'payload'::bytea)::healthcode b) s;
SELECT a < b AS lt, a <= b AS le, a = b AS eq, a <> b AS ne, a >= b AS ge, a > b AS gt,
       healthcode_cmp(a, b) AS cmp
  FROM (SELECT set_byte(:'payload'::bytea, 4, 1)::healthcode a,
               set_byte(:'payload'::bytea, 4, 2)::healthcode b) s;

-- malformed text: each names what is wrong, SQLSTATE 22P02
SELECT try($$SELECT 'HC1:6BFOXN'::healthcode$$) AS bad_prefix;
SELECT try($$SELECT ''::healthcode$$) AS empty;
SELECT try($$SELECT 'HCN:'::healthcode$$) AS prefix_only;
SELECT try($$SELECT 'HCN:bb8'::healthcode$$) AS lowercase;
SELECT try($$SELECT 'HCN:BB8A'::healthcode$$) AS length_3n_plus_1;
SELECT try($$SELECT 'HCN:GGW'::healthcode$$) AS group_overflow;
SELECT try($$SELECT 'HCN:BB8'::healthcode$$) AS unknown_version_41;
SELECT try(format('SELECT %L::healthcode', left(:'code', 4 + 75))) AS too_short;
SELECT try($$SELECT '$$ || :'code' || $$000'::healthcode$$) AS too_long;
SELECT try(format('SELECT %L::healthcode', overlay(:'code' placing 'é' from 10 for 2))) AS non_ascii;
-- wrong version, region, colour, flags, times (built from the payload)
SELECT try(format('SELECT %L::bytea::healthcode', set_byte(:'payload'::bytea, 0, 3))) AS version_3;
SELECT try(format('SELECT %L::bytea::healthcode', set_byte(:'payload'::bytea, 0, 2))) AS version_2_of_version_1_length;
SELECT try(format('SELECT %L::bytea::healthcode', overlay(:'payload'::bytea placing '\x0f1b32'::bytea from 2))) AS region_990002;
SELECT try(format('SELECT %L::bytea::healthcode', overlay(:'payload'::bytea placing '\x050916'::bytea from 2))) AS region_county_without_city;
SELECT try(format('SELECT %L::bytea::healthcode', set_byte(:'payload'::bytea, 20, 3))) AS colour_3;
SELECT try(format('SELECT %L::bytea::healthcode', set_byte(:'payload'::bytea, 21, 7))) AS reserved_flag;
SELECT try(format('SELECT %L::bytea::healthcode', overlay(:'payload'::bytea placing '\x62480280'::bytea from 27))) AS expires_equals_issued;
SELECT try(format('SELECT %L::bytea::healthcode', overlay(:'payload'::bytea placing '\x00000001'::bytea from 23))) AS issued_1970;
SELECT try($$SELECT '\x01'::bytea::healthcode$$) AS one_byte;
SELECT try($$SELECT ''::bytea::healthcode$$) AS no_bytes;
-- the same defects in text form are 22P02 as well
SELECT try(format('SELECT %L::healthcode',
       (set_byte(:'payload'::bytea, 20, 3))::text)) AS hex_is_not_the_text_form;
-- NULL in, NULL out
SELECT NULL::healthcode IS NULL AS null_ok, region(NULL) IS NULL AS strict_accessor;

-- a long input is echoed cut short
SELECT try($$SELECT '$$ || repeat('X', 500) || $$'::healthcode$$) AS long_input;

DROP TABLE codes;
