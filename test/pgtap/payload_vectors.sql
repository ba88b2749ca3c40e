-- The test vectors of doc/payload.md, through SQL: their issuer's public key
-- on the trust list, the three code texts (two of format version 1, one of
-- version 2) verify as the document says (test/unit/test_vectors.c checks the
-- same bytes in the C core, and that the document holds them).
BEGIN;
SET search_path = public, healthcode;
SELECT plan(23);

INSERT INTO trust_list (key_id, region, public_key, valid_from, valid_until)
VALUES (public_key_id('\x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8'), '330000',
        '\x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8',
        '2023-01-01 00:00+00', '2024-12-31 00:00+00');

SELECT is(encode(public_key_id('\x03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8'), 'hex'),
          '56475aa75463474c', 'the key id of the vectors'' public key');
SELECT is((SELECT v.reason || ' ' || v.colour || ' ' || v.region || ' ' || v.vaccinated || ' ' || v.paper || ' '
                  || v.issued_at || ' ' || v.expires_at
             FROM verify('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C',
                         '2023-11-14 22:14:00+00') v),
          'ok yellow 330106 true false ' || '2023-11-14 22:13:20+00'::timestamptz || ' ' || '2023-11-14 22:18:20+00'::timestamptz,
          'the phone code verifies with the fields the document gives');
SELECT is(encode(bytea('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C'::healthcode), 'hex'),
          '0105097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf01016553f1006553f22c56475aa75463474c074ccc023d762d49912ab7f09ff89e95f4a63b54dd49b2f8d5f4802006df211ebdacba208a40988d9213bd894caf72d11a731ec37bd679aaafba01a5708a660f',
          'its text is the document''s payload in base45');
SELECT is((SELECT v.reason || ' ' || v.colour || ' ' || v.vaccinated || ' ' || v.paper
             FROM verify('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3M200J C1LUE$C -F$+AWKB3UAR09WUTWS1FRKPCK++8L1LQJMW$9F+6JXLX5RQMH/.2VI45SLSJ2WITINIV5T277*/B/XK-15EJ4:NQV/T5NOOVN5UN:+S J1D24',
                         '2023-12-01 00:00+00') v),
          'ok green false true', 'the paper code verifies, marked as paper');
SELECT is((verify('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C',
                  '2023-11-14 22:18:20+00')).reason, 'expired', 'and the phone code expires when the document says');

-- version 1 codes carry no health facts
SELECT ok((SELECT v.last_negative_at IS NULL AND v.doses IS NULL
             FROM verify('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C',
                         '2023-11-14 22:14:00+00') v),
          'the version 1 phone code has no last_negative_at and no doses');
SELECT ok((SELECT v.last_negative_at IS NULL AND v.doses IS NULL
             FROM verify('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3M200J C1LUE$C -F$+AWKB3UAR09WUTWS1FRKPCK++8L1LQJMW$9F+6JXLX5RQMH/.2VI45SLSJ2WITINIV5T277*/B/XK-15EJ4:NQV/T5NOOVN5UN:+S J1D24',
                         '2023-12-01 00:00+00') v),
          'the version 1 paper code has no last_negative_at and no doses');
SELECT is(format_version('HCN: 50-81 DKAPKT K33LMEL-PLF$LY3MW50J C1LUJ CVRU$+AWKB3UAR09N-0QZPTY7SW5$FIIBN2AK72KZ-UNM7*/R6SM72R+8G4*0I841:N%NNMLH%CJ0LIB/NBV98NELF30+3MTF6HFV9MG90AAER+C'), 1, 'the phone code is format version 1');

-- the version 2 phone code: a negative test sampled 2023-11-13 08:30:00 UTC, 3 doses
CREATE TEMP TABLE v2 AS
  SELECT 'HCN:MB0-81 DKAPKT K33LMEL-PLF$LY3M100J C1LUJ CVRU$+AWKB3UAR09H C/5SPI00:C$4OU EJ*BHEO6-PHOT.ZVF+G%3P/N9VPKC3SDQO*38RZBCGU1OJ/N8-QPO:7L1HP%C0$Q%392YMP0PJ1G85LS*52RK40'::text AS t,
         '\x0205097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf00016553f1006553f22c56475aa75463474c6551de88034366a8beb175305df1c05fccfce9aefb8885a7c66e4b67a2b8de0fc2773ff65d45f02a9a84437eca7c3f3386bb65b3d42b47deb402c5da7ed0a7062e84a2f504'::bytea AS b;

SELECT is((SELECT v.reason || ' ' || v.colour || ' ' || v.region || ' ' || v.vaccinated || ' ' || v.paper || ' '
                  || v.issued_at || ' ' || v.expires_at
             FROM v2, verify(v2.t::healthcode, '2023-11-14 22:14:00+00') v),
          'ok green 330106 true false ' || '2023-11-14 22:13:20+00'::timestamptz || ' ' || '2023-11-14 22:18:20+00'::timestamptz,
          'the version 2 phone code verifies with the fields the document gives');
SELECT ok((SELECT v.valid FROM v2, verify(v2.t::healthcode, '2023-11-14 22:14:00+00') v),
          'the version 2 phone code is valid');
SELECT is((SELECT v.last_negative_at FROM v2, verify(v2.t::healthcode, '2023-11-14 22:14:00+00') v),
          '2023-11-13 08:30:00+00'::timestamptz, 'its last_negative_at is the document''s 1699864200');
SELECT is((SELECT v.doses FROM v2, verify(v2.t::healthcode, '2023-11-14 22:14:00+00') v),
          3, 'its doses are 3');
SELECT is((SELECT v.key_id FROM v2, verify(v2.t::healthcode, '2023-11-14 22:14:00+00') v),
          '\x56475aa75463474c'::bytea, 'its key id is the vectors''');
SELECT is((SELECT format_version(t::healthcode) FROM v2), 2, 'it is format version 2');
SELECT is((SELECT encode(bytea(t::healthcode), 'hex') FROM v2),
          '0205097aa0a1a2a3a4a5a6a7a8a9aaabacadaeaf00016553f1006553f22c56475aa75463474c6551de88034366a8beb175305df1c05fccfce9aefb8885a7c66e4b67a2b8de0fc2773ff65d45f02a9a84437eca7c3f3386bb65b3d42b47deb402c5da7ed0a7062e84a2f504',
          'its text is the document''s version 2 payload in base45');
SELECT is((SELECT octet_length(bytea(t::healthcode)) || ' ' || length(t) || ' ' || length(t::healthcode::text) FROM v2),
          '107 165 165', '107 bytes, 165 characters of text, and it prints back as 165');
SELECT is((SELECT healthcode(b)::text FROM v2), (SELECT t FROM v2),
          'the document''s payload cast from bytea prints as the document''s text');
SELECT is((SELECT (verify(t::healthcode, '2023-11-14 22:18:20+00')).reason FROM v2), 'expired',
          'and the version 2 phone code expires when the document says');

-- no downgrade: version byte 1 and cut to 102 bytes it is well-formed version 1, but its signature fails
SELECT is((SELECT v.reason || ' ' || format_version(c)
             FROM v2, LATERAL (SELECT healthcode(set_byte(substring(v2.b FROM 1 FOR 102), 0, 1)) AS c) d,
                  verify(d.c, '2023-11-14 22:14:00+00') v),
          'bad_signature 1', 'the version 2 code rewritten as version 1 (102 bytes) fails its signature');
SELECT throws_ok($$SELECT healthcode(set_byte(b, 0, 1)) FROM v2$$, '22P02', NULL,
                 'version byte 1 on the 107 bytes of a version 2 code is malformed');
SELECT throws_ok($$SELECT healthcode(substring(b FROM 1 FOR 102)) FROM v2$$, '22P02', NULL,
                 'the version 2 code cut to 102 bytes is malformed');
SELECT is((SELECT (verify(healthcode(set_byte(b, 42, 4)), '2023-11-14 22:14:00+00')).reason FROM v2), 'bad_signature',
          'the version 2 code with 4 doses instead of 3 fails its signature');
-- (byte 41, the last of last_negative_at, 0x88 -> 0x89: a second later)
SELECT is((SELECT (verify(healthcode(set_byte(b, 41, 137)), '2023-11-14 22:14:00+00')).reason FROM v2), 'bad_signature',
          'the version 2 code with a last negative test a second later fails its signature');

SELECT * FROM finish();
ROLLBACK;
