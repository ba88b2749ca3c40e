-- Identity documents (issue 14, point 4): every kind registers with a good
-- number and is refused with a bad one (22023, saying what is wrong and
-- never the number); each is normalized, so one person typed two ways is
-- one person; a batch says invalid for a bad one.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(30);

CREATE FUNCTION pg_temp.error_of(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE q;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- good numbers of every kind register, each as its document says
SELECT is(ARRAY(SELECT c.document || ' ' || (register_person(x.id, '330106') IS NOT NULL)
                  FROM unnest(ARRAY['11010519491231002X', '810000199001011230', '931840199001011233',
                                    'H12345678', '12345678', 'CHN:E12345678', 'USA:123456789', '330106900101123'])
                       WITH ORDINALITY x(id, n), identifier_check(x.id) c ORDER BY x.n),
          ARRAY['resident_id true', 'residence_permit true', 'permanent_residence_id true',
                'hk_macao_travel_permit true', 'taiwan_travel_permit true', 'passport true', 'passport true',
                'resident_id true'],
          'a number of every kind registers: resident ID, residence permit, permanent residence ID, both travel permits, passports, a first-generation ID');
SELECT is((SELECT count(*) FROM identifier_check('810000199001011230') WHERE valid), 1::bigint,
          'the residence permit''s check character is GB 11643''s too');

-- one person, however typed
SELECT is(register_person('330106900101123', '330106'), register_person('33010619900101123x', '330106'),
          'a first-generation number and its 18-character form are one person');
SELECT is(register_person(E'\uFF11\uFF11\uFF10\uFF11\uFF10\uFF15 19491231002x', '330106'), register_person('11010519491231002X', '330106'),
          'full-width digits, a blank and a lower-case x: the same person');
SELECT is(register_person('h1234567801', '330106'), register_person('H12345678', '330106'),
          'an older Hong Kong permit with its issue count: the same person');
SELECT is(register_person('1234567802(D)', '330106'), register_person('12345678', '330106'),
          'an older Taiwan permit with its issue count and office letter: the same person');
SELECT is(register_person('D:C01X00T47', '330106'), register_person('DEU:C01X00T47', '330106'),
          'a German passport as its machine-readable zone writes the country: the same person');
SELECT isnt(register_person('USA:123456789', '330106'), register_person('GBR:123456789', '330106'),
            'the same number in two countries'' passports: two people');
SELECT is(person_id(' 11010519491231002x '), person_id('11010519491231002X'), 'person_id finds them typed either way');

-- a person registered before 0.3.0 under full-width digits (hashed as typed, less blanks, upper case)
INSERT INTO person (region, subject) VALUES ('330106', pseudonym(E'\uFF13\uFF13\uFF10\uFF11\uFF10\uFF16' || '199001014318'))
RETURNING id AS legacy \gset
SELECT is(person_id(E'\uFF13\uFF13\uFF10\uFF11\uFF10\uFF16' || '199001014318'), :legacy,
          'registered before 0.3.0 under full-width digits: found by the same typing');
SELECT is(register_person(E'\uFF13\uFF13\uFF10\uFF11\uFF10\uFF16 ' || '199001014318', '330106'), :legacy,
          'registering again re-keys them to the normalized form, no second person');
SELECT is(person_id('330106199001014318'), :legacy, 'and then they are found however typed');

-- bad numbers: 22023, what is wrong, never the number
SELECT is(pg_temp.error_of($$SELECT register_person('11010519491231002', '330106')$$),
          '22023: identifier is no identity document number: an ID number (18 characters, or 15 digits), a Hong Kong or Macao permit (H or M and 8 digits), a Taiwan permit (8 digits) or a passport (COUNTRY:NUMBER)',
          'bad id: 17 digits are no document');
SELECT is(pg_temp.error_of($$SELECT register_person('110105194912310021', '330106')$$),
          '22023: identifier has a wrong check character (the 18th, GB 11643)', 'a resident ID with a wrong check character');
SELECT is(pg_temp.error_of($$SELECT register_person('810000199001011237', '330106')$$),
          '22023: identifier has a wrong check character (the 18th, GB 11643)', 'a residence permit with a wrong check character');
SELECT is(pg_temp.error_of($$SELECT register_person('931840199001011230', '330106')$$),
          '22023: identifier has a wrong check character (the 18th, GB 11643)', 'a permanent residence ID with a wrong check character');
SELECT is(pg_temp.error_of($$SELECT register_person('110105194902300025', '330106')$$),
          '22023: identifier has a birth date that is no date of the calendar', 'a resident ID born on 30 February');
SELECT is(pg_temp.error_of(format('SELECT register_person(%L, %L)',
            (SELECT left(x, 17) || substr('10X98765432', (SELECT sum(substr(x, i, 1)::int * (ARRAY[7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2])[i])
                                                            FROM generate_series(1, 17) i)::int % 11 + 1, 1)
               FROM (SELECT '110105' || to_char((now() AT TIME ZONE 'Asia/Shanghai') + interval '2 days', 'YYYYMMDD') || '0010' AS x) y),
            '330106')),
          '22023: identifier has a birth date in the future', 'a resident ID born the day after tomorrow (its check character right)');
SELECT is(pg_temp.error_of($$SELECT register_person('790105199001010018', '330106')$$),
          '22023: identifier has a region (its first two digits) that issues no ID number', 'a resident ID of no province');
SELECT is(pg_temp.error_of($$SELECT register_person('810100199001011233', '330106')$$),
          '22023: identifier is a residence permit number whose region is not 810000, 820000 or 830000', 'a residence permit with a county');
SELECT is(pg_temp.error_of($$SELECT register_person('K12345678', '330106')$$) ~ '^22023: identifier is no identity document number',
          true, 'a permit that starts with K');
SELECT is(pg_temp.error_of($$SELECT register_person('CHN:123456789', '330106')$$),
          '22023: identifier is a Chinese passport whose number is not a letter, a letter or a digit, and 7 digits (E12345678, EA1234567, K12345678, MA1234567)',
          'a Chinese passport of digits only');
SELECT is(pg_temp.error_of($$SELECT register_person('ZZ:123456789', '330106')$$),
          '22023: identifier is a passport (COUNTRY:NUMBER) whose country is not three letters (ICAO 9303, e.g. CHN)',
          'a passport of a two-letter country');
SELECT is(pg_temp.error_of($$SELECT declare('110105194912310021', '330106')$$),
          '22023: identifier has a wrong check character (the 18th, GB 11643)', 'declare() refuses it too, registering nobody');
SELECT is(pg_temp.error_of($$SELECT * FROM health_info('110105194912310021')$$),
          '22023: identifier has a wrong check character (the 18th, GB 11643)', 'and a lookup says so, not "unknown"');
SELECT is(pg_temp.error_of($$SELECT link_guardian('110105194912310021', '11010519491231002X', 'child', 'form 1')$$),
          '22023: guardian_identifier has a wrong check character (the 18th, GB 11643)', 'a message names the argument');

-- the non-raising check, and batches
SELECT is((SELECT (valid, document, normalized, problem) FROM identifier_check(NULL))::text,
          '(f,,,"identifier is NULL")', 'identifier_check(NULL): not valid, no error');
SELECT is((SELECT problem FROM identifier_check('110105194912310021')),
          'identifier has a wrong check character (the 18th, GB 11643)', 'identifier_check says what is wrong');
SELECT is(ARRAY(SELECT outcome FROM check_statuses(ARRAY['110105194912310021', '11010519491231002x'])),
          ARRAY['invalid', 'ok'], 'a batch: a wrong check character is invalid, the same number typed right is found');
SELECT is(pg_temp.error_of($$SELECT import_travel('[{"identifier": "110105194912310021", "place": "330106", "at": "2026-12-01T10:00:00+08:00"}]')$$),
          '22023: travel import: record 1, field "identifier": the identifier has a wrong check character (the 18th, GB 11643)',
          'an import names the record and field, not the number');

SELECT * FROM finish();
ROLLBACK;
