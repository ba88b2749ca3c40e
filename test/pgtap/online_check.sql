-- The online check (issue 12, point 2): a checkpoint on a node that knows
-- the holder's status now compares it with the code's colour. A code
-- issued green before its holder turned red fails at once at
-- checkpoint_verify and verify_arrival, while verify() alone, offline,
-- still finds its signature and times good.
BEGIN;
SET search_path = public, healthcode;
SELECT plan(15);

SELECT healthcode.create_key('330000') IS NOT NULL AS zj_key \gset
SELECT colour::text AS c FROM declare('330106197007077003', '330106') \gset
SELECT person_id('330106197007077003') AS p \gset
SELECT issue_for(:p) AS green_code \gset

SELECT is((SELECT valid || ' ' || reason || ' ' || online_check || ' ' || current_colour
             FROM checkpoint_verify(:'green_code', '330106')), 'true ok ok green',
          'a green code of a green person: valid, and the online check agrees');

-- the holder turns red: a positive test
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:p, '330106', 'pcr', now() - interval '1 hour', 'positive', 'online_check lab', 'OC-1');
SELECT is((SELECT colour::text FROM status(:p)), 'red', 'the holder is red now');

SELECT is((SELECT valid || ' ' || reason || ' ' || online_check || ' ' || current_colour
             FROM checkpoint_verify(:'green_code', '330106')), 'false colour_changed colour_changed red',
          'the green code issued before fails the online check at once, naming the colour now');
SELECT is((SELECT v.valid || ' ' || v.reason FROM verify(:'green_code') v), 'true ok',
          'while offline verify() still finds it well signed and unexpired');
SELECT is((SELECT valid || ' ' || reason || ' ' || online_check FROM checkpoint_verify(:'green_code', '330106', online => false)),
          'true ok not_asked', 'a checkpoint may ask offline only (online => false)');
SELECT is((SELECT admit || ' ' || reason FROM verify_arrival(:'green_code', '330106')), 'false colour_changed',
          'verify_arrival refuses it too');
SELECT is((SELECT admit || ' ' || reason FROM verify_arrival(:'green_code', '330106', online => false)), 'true ok',
          'and, asked offline only, admits it');
SELECT ok(EXISTS (SELECT 1 FROM _code_events() WHERE event = 'verified' AND outcome = 'colour_changed'),
          'the analysts'' counts see the refusals as colour_changed');

-- a fresh code shows red, and agrees with the status
SELECT issue_for(:p) AS red_code \gset
SELECT is((SELECT valid || ' ' || reason || ' ' || online_check || ' ' || colour
             FROM checkpoint_verify(:'red_code', '330106')), 'true ok ok red',
          'a code issued now carries red and agrees online (valid: the code is honest; red: the door stays shut)');

-- the person's time moves on: the status at a later instant is what the
-- check compares with (a stored timeline is right at any time)
SELECT is((SELECT current_colour FROM checkpoint_verify(:'red_code', '330106', now() + interval '1 minute')), 'red',
          'the online check reads the status at the checkpoint''s time');

-- a code of a subject this node does not know: unknown, judged offline
SELECT healthcode.issue('330106', healthcode.pseudonym('online_check: nobody here'), 'green') AS stranger \gset
SELECT is((SELECT valid || ' ' || reason || ' ' || online_check || ' ' || coalesce(current_colour::text, 'none')
             FROM checkpoint_verify(:'stranger', '330106')), 'true ok unknown none',
          'a holder this node does not know: online unknown, the offline verdict stands');

-- a code that does not verify never reads anyone's status
SELECT healthcode.issue('330106', (SELECT subject FROM person WHERE id = :p), 'green', interval '1 second') AS short \gset
SELECT is((SELECT valid || ' ' || reason || ' ' || online_check || ' ' || coalesce(current_colour::text, 'none')
             FROM checkpoint_verify(:'short', '330106', now() + interval '1 hour')), 'false expired not_asked none',
          'an expired code with the person''s subject is refused offline and reads nothing of them');
SELECT is((SELECT reason || ' ' || online_check
             -- (a signature byte flipped: overwriting it with a constant would leave
             -- the code intact once in 256 times)
             FROM checkpoint_verify(healthcode(set_byte(bytea(:'green_code'::healthcode), 49,
                                                        get_byte(bytea(:'green_code'::healthcode), 49) # 255)),
                                    '330106')), 'bad_signature not_asked',
          'nor does a forged one');

-- the positive test was someone else's (an accepted correction removes
-- it): the red code issued meanwhile is out of date as well
DELETE FROM test_result WHERE person_id = :p;
SELECT is((SELECT colour::text FROM status(:p)), 'green', 'the holder is green again');
SELECT is((SELECT valid || ' ' || reason || ' ' || current_colour FROM checkpoint_verify(:'red_code', '330106')),
          'false colour_changed green', 'and the red code issued before is out of date as well');

SELECT * FROM finish();
ROLLBACK;
