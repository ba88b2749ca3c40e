-- The test vectors of doc/payload.md, through SQL: their issuer's public key
-- on the trust list, the two code texts verify as the document says
-- (test/unit/test_vectors.c checks the same bytes in the C core, and that
-- the document holds them).
BEGIN;
SET search_path = public, healthcode;
SELECT plan(5);

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

SELECT * FROM finish();
ROLLBACK;
