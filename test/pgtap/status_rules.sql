-- The status engine's rules, end to end through SQL: each rule of
-- src/hc_status.h (DESIGN.md "Status rules") gives its colour and its
-- reasons, releases end it, the colour is right at any read time without
-- new data, and policy is data (regional versions, effective dates,
-- recalculation when a version changes).
--
-- Times are relative to now(), which is fixed in this transaction; the
-- triggers compute at statement_timestamp(), a little later.
BEGIN;
SET search_path = public, healthcode;
\ir lib/common.psql
SELECT plan(135);

-- ---- the change time brings about (needs commits: another backend) -----------
-- A yellow that ends four seconds after it is computed: once the four seconds
-- have passed, status_changes shows the change (cause 'time') although
-- nothing was written, and the next recalculation that rewrites the row
-- appends it to status_history. now() of this transaction cannot move, so
-- the scenario runs through dblink (:conn, from lib/common.psql) in autocommit
-- and cleans up after itself.
SELECT dblink_connect('status_time', :'conn') AS x \gset
SELECT dblink_exec('status_time',
  $$DELETE FROM healthcode.person WHERE subject = healthcode.pseudonym('status_rules:time-probe')$$) AS x \gset
SELECT x::bigint AS probe FROM dblink('status_time', $$
  INSERT INTO healthcode.person (region, subject, registered_at)
  VALUES ('110108', healthcode.pseudonym('status_rules:time-probe'), now() - interval '30 days')
  RETURNING id::text$$) AS t(x text) \gset
SELECT dblink_exec('status_time', format($$
  INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case)
  VALUES (%s, '110108', 'secondary', now() - interval '14 days' + interval '4 seconds', 'time-probe case')$$, :probe)) AS x \gset
SELECT is((SELECT x FROM dblink('status_time', format(
            $$SELECT colour::text FROM healthcode.status(%s)$$, :probe)) AS t(x text)),
          'yellow', 'time: a secondary contact 14 days minus 4 s ago is yellow');
SELECT pg_sleep(5) AS x \gset
SELECT is((SELECT x FROM dblink('status_time', format(
            $$SELECT colour::text FROM healthcode.status(%s)$$, :probe)) AS t(x text)),
          'green', 'time: 5 s later the same stored timeline reads green (no recalculation ran)');
SELECT is((SELECT x FROM dblink('status_time', format($$
            SELECT string_agg(concat_ws(' ', from_colour, to_colour, cause, reasons::text), '; ')
              FROM healthcode.status_changes WHERE person_id = %s AND cause = 'time'$$, :probe)) AS t(x text)),
          'yellow green time []',
          'time: status_changes shows the yellow -> green change with cause time before anything is written');
SELECT is((SELECT x FROM dblink('status_time', format(
            $$SELECT count(*)::text FROM healthcode.status_history WHERE person_id = %s AND cause = 'time'$$,
            :probe)) AS t(x text)),
          '0', 'time: the change is not in status_history yet');
-- two doses change the mark, so the row is rewritten
SELECT dblink_exec('status_time', format($$
  INSERT INTO healthcode.vaccination (person_id, region, dose, given_at)
  VALUES (%1$s, '110108', 1, now() - interval '40 days'), (%1$s, '110108', 2, now() - interval '20 days')$$, :probe)) AS x \gset
SELECT is((SELECT x FROM dblink('status_time', format($$
            SELECT string_agg(concat_ws(' ', h.from_colour, h.to_colour, h.cause,
                                        (h.at = c.exposure_at + interval '14 days')::text), '; ')
              FROM healthcode.status_history h JOIN healthcode.contact c USING (person_id)
             WHERE h.person_id = %s AND h.cause = 'time'$$, :probe)) AS t(x text)),
          'yellow green time true',
          'time: once a recalculation rewrites the row, the change is in status_history at the instant it happened');
SELECT is((SELECT x FROM dblink('status_time', format(
            $$SELECT count(*)::text FROM healthcode.status_changes WHERE person_id = %s AND cause = 'time'$$,
            :probe)) AS t(x text)),
          '1', 'time: status_changes then shows it once, not twice');
-- a new contact: the elapsed change and the new one, in order
SELECT dblink_exec('status_time', format($$
  INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case)
  VALUES (%s, '110108', 'secondary', now() - interval '1 hour', 'time-probe case 2')$$, :probe)) AS x \gset
SELECT is((SELECT x FROM dblink('status_time', format($$
            SELECT string_agg(concat_ws(' ', coalesce(from_colour::text, '-'), to_colour, cause), '; ' ORDER BY at)
              FROM healthcode.status_changes WHERE person_id = %s$$, :probe)) AS t(x text)),
          '- green person insert; green yellow contact insert; yellow green time; green yellow contact insert',
          'time: the complete history in order: registered, contact, window ended, new contact');
SELECT is((SELECT x FROM dblink('status_time', format(
            $$SELECT count(*)::text FROM healthcode.check_consistency() WHERE person_id = %s$$, :probe)) AS t(x text)),
          '0', 'time: check_consistency() agrees for the probe');
SELECT dblink_exec('status_time',
  $$DELETE FROM healthcode.person WHERE subject = healthcode.pseudonym('status_rules:time-probe')$$) AS x \gset
SELECT dblink_disconnect('status_time') AS x \gset

-- ---- helpers ------------------------------------------------------------------
-- (and pg_temp.colour and pg_temp.rules, from lib/common.psql)
CREATE FUNCTION pg_temp.person(tag text, region text DEFAULT '110105',
                               registered interval DEFAULT interval '60 days')
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO healthcode.person (region, subject, registered_at)
  VALUES (region, healthcode.pseudonym('status_rules:' || tag), now() - registered)
  RETURNING id $$;
CREATE FUNCTION pg_temp.stay(pid bigint, place text, at timestamptz) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO healthcode.travel (person_id, region, place, at, source)
  SELECT p.id, p.region, place, at, 'telecom' FROM healthcode.person p WHERE p.id = pid
  RETURNING id $$;
CREATE FUNCTION pg_temp.test(pid bigint, result text, sampled timestamptz, sample text) RETURNS bigint
LANGUAGE sql AS $$
  INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
  SELECT p.id, p.region, 'pcr', sampled, result, 'status_rules lab', sample
    FROM healthcode.person p WHERE p.id = pid
  RETURNING id $$;
-- normal check-ins (36.5) on the days of now() - k days, k from first_ago down to last_ago
CREATE FUNCTION pg_temp.checkins(pid bigint, first_ago integer, last_ago integer) RETURNS bigint
LANGUAGE sql AS $$
  WITH k AS (
    INSERT INTO healthcode.checkin (person_id, region, at, temperature)
    SELECT p.id, p.region, now() - make_interval(days => k), 36.5
      FROM healthcode.person p, generate_series(last_ago, first_ago) k WHERE p.id = pid
    RETURNING 1)
  SELECT count(*) FROM k $$;
CREATE FUNCTION pg_temp.texts(pid bigint) RETURNS text
LANGUAGE sql AS $$
  SELECT coalesce(string_agg(r ->> 'text', ' | ' ORDER BY r ->> 'text'), '')
    FROM healthcode.status(pid) s, jsonb_array_elements(s.reasons) r $$;
CREATE FUNCTION pg_temp.cst_date(t timestamptz) RETURNS text
LANGUAGE sql AS $$ SELECT to_char(t AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD') $$;

SELECT create_travel_partitions(((now() - interval '40 days') AT TIME ZONE 'Asia/Shanghai')::date,
                                ((now() + interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date) >= 0 AS made \gset

-- Designations used below (each division only here).
INSERT INTO risk_area (division, level, effective_from, effective_until, bulletin) VALUES
  ('330106', 'high',   now() - interval '30 days', NULL, 'status_rules: high'),
  ('330108', 'medium', now() - interval '30 days', NULL, 'status_rules: medium'),
  ('330200', 'high',   now() - interval '30 days', NULL, 'status_rules: a whole city'),
  ('330110', 'high',   now() - interval '2 days',  NULL, 'status_rules: only since 2 days'),
  ('330105', 'medium', now() - interval '30 days', now() - interval '20 days', 'status_rules: ended'),
  ('330102', 'low',    now() - interval '30 days', NULL, 'status_rules: low');

-- ---- stays --------------------------------------------------------------------
SELECT pg_temp.person('high') AS p_high \gset
SELECT pg_temp.stay(:p_high, '330106', now() - interval '3 days') AS t_high \gset
SELECT is(pg_temp.colour(:p_high), 'red', 'a stay in a high-risk area 3 days ago is red');
SELECT is((SELECT reasons FROM status(:p_high)),
          jsonb_build_array(jsonb_build_object(
            'rule', 'stay_high_risk', 'colour', 'red', 'place', '330106', 'ref', :t_high,
            'at', (SELECT r ->> 'at' FROM status(:p_high) s, jsonb_array_elements(s.reasons) r),
            'text', 'stayed in 330106 (high risk) on ' || pg_temp.cst_date(now() - interval '3 days'))),
          'the reason names the rule, colour, place, the travel row and says "stayed in 330106 (high risk) on <date>"');
SELECT is((SELECT (r ->> 'at')::timestamptz FROM status(:p_high) s, jsonb_array_elements(s.reasons) r),
          now() - interval '3 days', 'the reason''s at is the time of the stay');
SELECT is((SELECT valid_until FROM status(:p_high)), now() + interval '11 days',
          'the red holds until the stay leaves the 14-day window');

SELECT pg_temp.person('medium') AS p_medium \gset
SELECT pg_temp.stay(:p_medium, '330108', now() - interval '10 days') AS t_medium \gset
SELECT is(pg_temp.colour(:p_medium), 'yellow', 'a stay in a medium-risk area 10 days ago is yellow');
SELECT is(pg_temp.texts(:p_medium), 'stayed in 330108 (medium risk) on ' || pg_temp.cst_date(now() - interval '10 days'),
          'its reason says "stayed in 330108 (medium risk) on <date>"');
SELECT is(pg_temp.rules(:p_medium), 'stay_medium_risk', 'its rule is stay_medium_risk');

SELECT pg_temp.person('old') AS p_old \gset
SELECT pg_temp.stay(:p_old, '330106', now() - interval '15 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_old), 'green', 'a high-risk stay 15 days ago (older than the 14-day lookback) counts for nothing');
SELECT is((SELECT reasons FROM status(:p_old)), '[]'::jsonb, 'green has no reasons');

SELECT pg_temp.person('city') AS p_city \gset
SELECT pg_temp.stay(:p_city, '330203', now() - interval '2 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_city), 'red', 'a stay in district 330203 is red when its city 330200 is designated high risk');
SELECT is((SELECT r ->> 'place' FROM status(:p_city) s, jsonb_array_elements(s.reasons) r), '330203',
          'the reason names the district stayed in');

SELECT pg_temp.person('before') AS p_before \gset
SELECT pg_temp.stay(:p_before, '330110', now() - interval '5 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_before), 'green', 'a stay before the area''s designation took effect counts for nothing');
SELECT pg_temp.person('ended') AS p_ended \gset
SELECT pg_temp.stay(:p_ended, '330105', now() - interval '10 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_ended), 'green', 'a stay after the designation ended counts for nothing');
SELECT pg_temp.person('low') AS p_low \gset
SELECT pg_temp.stay(:p_low, '330102', now() - interval '1 day') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_low), 'green', 'a stay in a low-risk area counts for nothing');

-- one reason per rule and place (the latest), only the top colour's reasons
SELECT pg_temp.person('many') AS p_many \gset
SELECT pg_temp.stay(:p_many, '330106', now() - interval '6 days') IS NOT NULL AS ok \gset
SELECT pg_temp.stay(:p_many, '330106', now() - interval '2 days') AS t_many_latest \gset
SELECT pg_temp.stay(:p_many, '330203', now() - interval '4 days') IS NOT NULL AS ok \gset
SELECT pg_temp.stay(:p_many, '330108', now() - interval '1 day') IS NOT NULL AS ok \gset
SELECT is((SELECT string_agg(concat_ws(' ', r ->> 'rule', r ->> 'place', r ->> 'ref'), ', ' ORDER BY r ->> 'place')
             FROM status(:p_many) s, jsonb_array_elements(s.reasons) r),
          'stay_high_risk 330106 ' || :t_many_latest || ', stay_high_risk 330203 ' ||
            (SELECT id FROM travel WHERE person_id = :p_many AND place = '330203'),
          'one reason per rule and place, the latest stay of each; the yellow stay is not a reason of red');
SELECT is(pg_temp.colour(:p_many, now() + interval '13 days'), 'green',
          'read 13 days later: every stay has left the window');
SELECT is(pg_temp.rules(:p_many, now() + interval '11 days'), 'stay_high_risk',
          'read 11 days later: only the 330106 stay of 2 days ago is left');
SELECT is((SELECT since FROM status(:p_many, now() + interval '11 days')), (SELECT since FROM status(:p_many)),
          'read 11 days later: still red since the same instant (only the reasons changed)');
SELECT is_empty('SELECT * FROM check_consistency()', 'stays: check_consistency() finds nothing');

-- ---- reading at any time without new data ------------------------------------
SELECT is(pg_temp.colour(:p_medium, now() + interval '3 days'), 'yellow',
          'the medium-risk stay still reads yellow 3 days later');
SELECT is((SELECT valid_until FROM status(:p_medium)), now() + interval '4 days',
          'valid_until is when the stay leaves the window: 14 days after it');
SELECT is(pg_temp.colour(:p_medium, now() + interval '15 days'), 'green',
          'status(id, now() + 15 days) shows the medium-risk yellow turned green');
SELECT is((SELECT since FROM status(:p_medium, now() + interval '15 days')), now() + interval '4 days',
          'and green since the window ended');
SELECT is((SELECT valid_until FROM status(:p_medium, now() + interval '15 days')), 'infinity'::timestamptz,
          'green with no evidence left holds for ever');
SELECT is((SELECT to_jsonb(c) - 'person_id' - 'region' FROM current_status c WHERE person_id = :p_medium),
          (SELECT to_jsonb(s) - 'person_id' - 'region' FROM status(:p_medium) s),
          'current_status agrees with status()');
SELECT is((SELECT count(*) FROM current_status c JOIN status(c.person_id) s USING (person_id)
            WHERE c.person_id IN (:p_high, :p_medium, :p_old, :p_city, :p_many)
              AND (c.colour, c.reasons, c.valid_until) = (s.colour, s.reasons, s.valid_until)),
          5::bigint, 'current_status agrees with status() for every person');

-- ---- contacts -------------------------------------------------------------------
SELECT pg_temp.person('close') AS p_close \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_close, '110105', 'close', now() - interval '3 days', 'case A');
SELECT is(pg_temp.colour(:p_close), 'red', 'a close contact is red');
SELECT is(pg_temp.texts(:p_close), 'close contact of a case on ' || pg_temp.cst_date(now() - interval '3 days'),
          'with the reason "close contact of a case on <date>"');
SELECT pg_temp.person('secondary') AS p_secondary \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_secondary, '110105', 'secondary', now() - interval '3 days', 'case A');
SELECT is(pg_temp.colour(:p_secondary), 'yellow', 'a secondary contact is yellow');
SELECT is(pg_temp.rules(:p_secondary), 'secondary_contact', 'its rule is secondary_contact');
INSERT INTO contact (person_id, region, kind, exposure_at, source_case) VALUES
  (:p_secondary, '110105', 'secondary', now() - interval '5 days', 'case B'),
  (:p_secondary, '110105', 'secondary', now() - interval '1 day', 'case C');
SELECT is((SELECT string_agg(r ->> 'ref', ',') FROM status(:p_secondary) s, jsonb_array_elements(s.reasons) r),
          (SELECT id::text FROM contact WHERE person_id = :p_secondary AND source_case = 'case C'),
          'three secondary contacts give one reason (one per rule and place): the latest');
SELECT is((SELECT valid_until FROM status(:p_secondary)), now() + interval '13 days',
          'and the yellow lasts until the latest leaves the window');
SELECT pg_temp.person('old contact') AS p_old_contact \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_old_contact, '110105', 'close', now() - interval '15 days', 'case A');
SELECT is(pg_temp.colour(:p_old_contact), 'green', 'a close contact older than the lookback counts for nothing');

-- ---- tests ------------------------------------------------------------------------
SELECT pg_temp.person('positive') AS p_pos \gset
SELECT pg_temp.test(:p_pos, 'positive', now() - interval '30 days', 'pos-1') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_pos), 'red', 'a positive test 30 days ago is still red: it lasts until released');
SELECT is(pg_temp.texts(:p_pos), 'positive test sampled on ' || pg_temp.cst_date(now() - interval '30 days'),
          'with the reason "positive test sampled on <date>"');
SELECT is((SELECT valid_until FROM status(:p_pos)),
          (SELECT sampled_at + interval '90 days' FROM test_result WHERE sample_id = 'pos-1'),
          'an unreleased positive test is red until the national retention (evidence_kept_days, 90) ends it');

-- red released: 14 consecutive normal check-ins and 2 negatives 24 h apart
SELECT pg_temp.person('red released') AS p_rel \gset
SELECT pg_temp.test(:p_rel, 'positive', now() - interval '20 days', 'rel-pos') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:p_rel, 20, 8) AS n \gset
SELECT pg_temp.test(:p_rel, 'negative', now() - interval '10 days', 'rel-neg-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_rel, 'negative', now() - interval '9 days', 'rel-neg-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_rel), 'red', '13 normal check-ins and 2 negatives do not release red');
SELECT pg_temp.checkins(:p_rel, 7, 7) AS n \gset
SELECT is(pg_temp.colour(:p_rel), 'green', 'the 14th consecutive check-in (with 2 negatives 24 h apart) releases red');

SELECT pg_temp.person('red no tests') AS p_rel2 \gset
SELECT pg_temp.test(:p_rel2, 'positive', now() - interval '20 days', 'rel2-pos') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:p_rel2, 20, 1) AS n \gset
SELECT is(pg_temp.colour(:p_rel2), 'red', '20 normal check-ins without the negative tests do not release red');
SELECT pg_temp.test(:p_rel2, 'negative', now() - interval '5 days', 'rel2-neg-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_rel2, 'negative', now() - interval '5 days' + interval '23 hours', 'rel2-neg-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_rel2), 'red', 'two negatives 23 h apart do not count as two');
SELECT pg_temp.test(:p_rel2, 'negative', now() - interval '3 days', 'rel2-neg-3') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_rel2), 'green', 'a third negative 24 h or more after the first one releases red');

SELECT pg_temp.person('red abnormal day') AS p_rel3 \gset
SELECT pg_temp.test(:p_rel3, 'positive', now() - interval '20 days', 'rel3-pos') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:p_rel3, 20, 16) AS n \gset
INSERT INTO checkin (person_id, region, at, temperature) VALUES (:p_rel3, '110105', now() - interval '15 days', 38.2);
SELECT pg_temp.checkins(:p_rel3, 14, 2) AS n \gset
SELECT pg_temp.test(:p_rel3, 'negative', now() - interval '4 days', 'rel3-neg-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_rel3, 'negative', now() - interval '3 days', 'rel3-neg-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_rel3), 'red', 'an abnormal check-in breaks the run: 13 normal days after it are not 14');
SELECT pg_temp.checkins(:p_rel3, 1, 1) AS n \gset
SELECT is(pg_temp.colour(:p_rel3), 'green', '14 consecutive normal days after the abnormal one release red');
SELECT is_empty('SELECT * FROM check_consistency()', 'contacts and tests: check_consistency() finds nothing');

-- ---- symptoms, fever, check-ins --------------------------------------------------
SELECT pg_temp.person('symptoms') AS p_sym \gset
INSERT INTO declaration (person_id, region, declared_at, symptoms)
  VALUES (:p_sym, '110105', now() - interval '20 days', '{cough}');
SELECT is(pg_temp.colour(:p_sym), 'yellow', 'declared symptoms 20 days ago are still yellow: until released');
SELECT is(pg_temp.texts(:p_sym), 'declared symptoms on ' || pg_temp.cst_date(now() - interval '20 days'),
          'with the reason "declared symptoms on <date>"');
SELECT pg_temp.test(:p_sym, 'negative', now() - interval '3 days', 'sym-neg-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_sym, 'negative', now() - interval '2 days', 'sym-neg-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_sym), 'green', 'two negatives 24 h apart release the symptoms yellow');

SELECT pg_temp.person('fever') AS p_fever \gset
INSERT INTO declaration (person_id, region, declared_at, temperature)
  VALUES (:p_fever, '110105', now() - interval '1 day', 37.5);
SELECT is(pg_temp.colour(:p_fever), 'yellow', 'a declared temperature of 37.5 is yellow');
SELECT is(pg_temp.texts(:p_fever), 'temperature 37.5 °C on ' || pg_temp.cst_date(now() - interval '1 day'),
          'with the reason "temperature 37.5 °C on <date>"');
SELECT pg_temp.person('fever edge') AS p_fever2 \gset
INSERT INTO declaration (person_id, region, declared_at, temperature)
  VALUES (:p_fever2, '110105', now() - interval '1 day', 37.3);
SELECT is(pg_temp.rules(:p_fever2), 'fever', '37.3 (the threshold itself) is fever');
SELECT pg_temp.person('no fever') AS p_nofever \gset
INSERT INTO declaration (person_id, region, declared_at, temperature)
  VALUES (:p_nofever, '110105', now() - interval '1 day', 37.2);
SELECT is(pg_temp.colour(:p_nofever), 'green', '37.2 is not fever');
-- temperatures are kept in tenths, as thermometers show them: a value between two
-- tenths is refused rather than rounded one way or the other
SELECT pg_temp.person('fever between') AS p_fever3 \gset
SELECT throws_ok(format('INSERT INTO declaration (person_id, region, declared_at, temperature) VALUES (%s, %L, now() - interval %L, 37.29)',
                        :p_fever3, '110105', '1 day'),
                 '23514', NULL, 'a declared temperature between two tenths (37.29) is refused');
SELECT throws_ok(format('INSERT INTO checkin (person_id, region, at, temperature) VALUES (%s, %L, now() - interval %L, 37.26)',
                        :p_fever3, '110105', '2 days'),
                 '23514', NULL, 'a check-in temperature between two tenths (37.26) is refused');

SELECT pg_temp.person('hot checkin') AS p_hot \gset
INSERT INTO checkin (person_id, region, at, temperature) VALUES (:p_hot, '110105', now() - interval '1 day', 38.0);
SELECT is(pg_temp.colour(:p_hot) || ' ' || pg_temp.rules(:p_hot), 'yellow abnormal_checkin',
          'a check-in measuring 38.0 is yellow (abnormal_checkin)');
SELECT is(pg_temp.texts(:p_hot), 'health check-in with 38.0 °C on ' || pg_temp.cst_date(now() - interval '1 day'),
          'with the reason "health check-in with 38.0 °C on <date>"');
SELECT pg_temp.person('coughing checkin') AS p_cough \gset
INSERT INTO checkin (person_id, region, at, temperature, symptoms)
  VALUES (:p_cough, '110105', now() - interval '1 day', 36.6, '{cough}');
SELECT is(pg_temp.colour(:p_cough) || ' ' || pg_temp.rules(:p_cough), 'yellow abnormal_checkin',
          'a check-in reporting symptoms is yellow (abnormal_checkin)');
SELECT pg_temp.person('declared contact') AS p_dc \gset
INSERT INTO declaration (person_id, region, declared_at, contact_with_case)
  VALUES (:p_dc, '110105', now() - interval '2 days', true);
SELECT is(pg_temp.colour(:p_dc) || ' ' || pg_temp.rules(:p_dc), 'yellow declared_contact',
          'a declared contact with a case is yellow (declared_contact)');

-- ---- audit findings ------------------------------------------------------------------
SELECT pg_temp.person('finding') AS p_find \gset
INSERT INTO declaration (person_id, region, declared_at) VALUES (:p_find, '110105', now() - interval '2 days');
INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, found_at)
  SELECT :p_find, '110105', d.id, 'undeclared_contact', '{}', now() - interval '1 day'
    FROM declaration d WHERE d.person_id = :p_find;
SELECT is(pg_temp.colour(:p_find) || ' ' || pg_temp.rules(:p_find), 'yellow audit_finding',
          'an open audit finding is yellow (audit_finding)');
SELECT pg_temp.person('dismissed') AS p_dis \gset
INSERT INTO declaration (person_id, region, declared_at) VALUES (:p_dis, '110105', now() - interval '2 days');
INSERT INTO audit_finding (person_id, region, declaration_id, kind, detail, found_at, status,
                           reviewed_by, reviewed_at, review_reason)
  SELECT :p_dis, '110105', d.id, 'undeclared_contact', '{}', now() - interval '1 day', 'dismissed',
         current_user, now() - interval '1 hour', 'the tracing list named the wrong person'
    FROM declaration d WHERE d.person_id = :p_dis;
SELECT is(pg_temp.colour(:p_dis), 'green', 'a dismissed audit finding counts for nothing');

-- ---- releasing yellow ------------------------------------------------------------------
SELECT pg_temp.person('yellow 7') AS p_y7 \gset
SELECT pg_temp.stay(:p_y7, '330108', now() - interval '10 days') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:p_y7, 10, 5) AS n \gset
SELECT is(pg_temp.colour(:p_y7), 'yellow', '6 consecutive normal check-ins do not release a medium-risk yellow');
SELECT pg_temp.checkins(:p_y7, 4, 4) AS n \gset
SELECT is(pg_temp.colour(:p_y7), 'green', 'the 7th consecutive normal check-in releases it');

SELECT pg_temp.person('checkins before') AS p_yb \gset
SELECT pg_temp.stay(:p_yb, '330108', now() - interval '6 days') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:p_yb, 12, 2) AS n \gset
SELECT is(pg_temp.colour(:p_yb), 'yellow',
          'check-ins before the trigger''s day do not count: 11 in a row, 5 of them on or after it');
SELECT pg_temp.checkins(:p_yb, 1, 0) AS n \gset
SELECT is(pg_temp.colour(:p_yb) || ' ' || pg_temp.colour(:p_yb, now() + interval '1 day'), 'yellow green',
          'the 6th and 7th on or after it (today) release it at the start of tomorrow');
SELECT is((SELECT valid_until FROM status(:p_yb)),
          (((now() AT TIME ZONE 'Asia/Shanghai')::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'),
          'released at the start of the next China Standard Time day');
SELECT pg_temp.person('two negatives') AS p_2n \gset
SELECT pg_temp.stay(:p_2n, '330108', now() - interval '6 days') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2n, 'negative', now() - interval '9 days', '2n-before-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2n, 'negative', now() - interval '8 days', '2n-before-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_2n), 'yellow', 'negatives taken before the stay do not release it');
SELECT pg_temp.test(:p_2n, 'negative', now() - interval '5 days', '2n-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2n, 'negative', now() - interval '5 days' + interval '12 hours', '2n-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_2n), 'yellow', 'two negatives 12 h apart do not release yellow');
SELECT pg_temp.test(:p_2n, 'negative', now() - interval '4 days', '2n-3') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_2n), 'green', 'two negatives 24 h apart after the stay release yellow');
SELECT is((SELECT since FROM status(:p_2n)) >= now(), true, 'released green since the recalculation');
SELECT pg_temp.person('two negatives far') AS p_2f \gset
SELECT pg_temp.stay(:p_2f, '330108', now() - interval '8 days') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2f, 'negative', now() - interval '7 days', '2f-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2f, 'negative', now() - interval '7 days' + interval '80 hours', '2f-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_2f), 'yellow', 'two negatives 80 h apart (more than 72 h) do not release yellow');
SELECT pg_temp.person('two negatives red') AS p_2r \gset
SELECT pg_temp.stay(:p_2r, '330106', now() - interval '6 days') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2r, 'negative', now() - interval '5 days', '2r-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:p_2r, 'negative', now() - interval '4 days', '2r-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_2r), 'red', 'two negatives alone do not release a high-risk red');
SELECT is_empty('SELECT * FROM check_consistency()', 'symptoms, findings, releases: check_consistency() finds nothing');

-- ---- manual decisions -------------------------------------------------------------------
SELECT pg_temp.person('override up') AS p_up \gset
SELECT record_decision(:p_up, 'override', 'ordered by the headquarters', 'HQ order 17', 'red',
                       now() - interval '1 hour', now() + interval '1 day') AS d_up \gset
SELECT is(pg_temp.colour(:p_up) || ' ' || pg_temp.rules(:p_up), 'red override',
          'a manual override raises green to red (rule override)');
SELECT is(pg_temp.texts(:p_up) LIKE 'manual decision: red from ' || pg_temp.cst_date(now() - interval '1 hour') || ' until %',
          true, 'with the reason "manual decision: red from <date> until <end>"');
SELECT is((SELECT r ->> 'ref' FROM status(:p_up) s, jsonb_array_elements(s.reasons) r), :d_up::text,
          'the reason refers to the decision');
SELECT is(pg_temp.colour(:p_up, now() + interval '2 days'), 'green', 'after the override ends the person is green again');

SELECT pg_temp.person('override down') AS p_down \gset
SELECT pg_temp.stay(:p_down, '330106', now() - interval '3 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_down), 'red', 'override down: red from a high-risk stay first');
SELECT record_decision(:p_down, 'override', 'telecom record was a cell-tower error', 'HQ order 18', 'green',
                       now() - interval '1 hour', now() + interval '2 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_down) || ' ' || pg_temp.rules(:p_down), 'green override',
          'a manual override lowers red to green, with the override as reason');
SELECT is(pg_temp.colour(:p_down, now() + interval '3 days'), 'red',
          'when the override ends, the stay still in its window makes red again');
SELECT record_decision(:p_down, 'override', 'second look', 'HQ order 19', 'yellow',
                       now() - interval '30 minutes', now() + interval '1 day') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_down), 'yellow', 'of overlapping overrides the one starting later wins');
SELECT is(pg_temp.colour(:p_down, now() + interval '36 hours'), 'green',
          'when the later override ends, the earlier one still in force applies again');

SELECT pg_temp.person('override later') AS p_sched \gset
SELECT record_decision(:p_sched, 'override', 'quarantine ordered from tomorrow', 'HQ order 20', 'red',
                       now() + interval '1 day') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_sched) || ' ' || pg_temp.colour(:p_sched, now() + interval '2 days'), 'green red',
          'an override starting tomorrow: green today, red from tomorrow');
SELECT is(pg_temp.texts(:p_sched), '', 'no reason today');
SELECT is((SELECT r ->> 'text' FROM status(:p_sched, now() + interval '400 days') s, jsonb_array_elements(s.reasons) r),
          'manual decision: red from ' || pg_temp.cst_date(now() + interval '1 day') || ' until further notice',
          'an override without end: "until further notice"');
SELECT pg_temp.person('medical release') AS p_med \gset
SELECT pg_temp.test(:p_med, 'positive', now() - interval '3 days', 'med-pos') IS NOT NULL AS ok \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_med, '110105', 'secondary', now() - interval '4 days', 'case M');
SELECT record_decision(:p_med, 'medical_release', 'recovered, two negative PCRs in hospital', 'hospital 3',
                       valid_from => now() - interval '2 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_med), 'green', 'a medical release ends every trigger that started before it');
SELECT pg_temp.test(:p_med, 'positive', now() - interval '1 day', 'med-pos-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_med), 'red', 'a positive test after the release is red again');
SELECT pg_temp.person('appeal') AS p_appeal \gset
INSERT INTO contact (person_id, region, kind, exposure_at, source_case)
  VALUES (:p_appeal, '110105', 'close', now() - interval '2 days', 'case P');
SELECT record_decision(:p_appeal, 'appeal_upheld', 'was abroad at the time of exposure', 'appeals office 2')
  IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:p_appeal), 'green', 'an upheld appeal ends the triggers before it, like a medical release');

-- ---- vaccinated mark ---------------------------------------------------------------------
SELECT pg_temp.person('one dose') AS p_v1 \gset
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (:p_v1, '110105', 1, now() - interval '60 days');
SELECT is((SELECT vaccinated FROM status(:p_v1)), false, 'one dose: no vaccinated mark (2 needed by default)');
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (:p_v1, '110105', 2, now() - interval '30 days');
SELECT is((SELECT colour::text || ' ' || vaccinated FROM status(:p_v1)), 'green true',
          'two doses: the vaccinated mark, and the colour stays green');
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (:p_high, '110105', 1, now() - interval '60 days'),
                                                                    (:p_high, '110105', 2, now() - interval '30 days');
SELECT is((SELECT colour::text || ' ' || vaccinated FROM status(:p_high)), 'red true',
          'vaccination is a mark, not a colour: a red person stays red');
SELECT is_empty('SELECT * FROM check_consistency()', 'manual decisions, vaccination: check_consistency() finds nothing');

-- ---- policy as data ---------------------------------------------------------------------------
-- everyone stays in a medium-risk area 10 days ago; the regions differ
INSERT INTO risk_area (division, level, effective_from, bulletin)
  VALUES ('420106', 'medium', now() - interval '30 days', 'status_rules: policy stays');
SELECT pg_temp.person('pol beijing', '110101') AS pol_bj \gset
SELECT pg_temp.person('pol ningbo', '330203') AS pol_nb \gset
SELECT pg_temp.person('pol xihu', '330106') AS pol_xh \gset
SELECT pg_temp.person('pol binjiang', '330108') AS pol_bjg \gset
SELECT count(pg_temp.stay(p, '420106', now() - interval '10 days')) AS n
  FROM unnest(ARRAY[:pol_bj, :pol_nb, :pol_xh, :pol_bjg]::bigint[]) p \gset
SELECT is((SELECT string_agg(pg_temp.colour(p), ' ' ORDER BY o)
             FROM unnest(ARRAY[:pol_bj, :pol_nb, :pol_xh, :pol_bjg]::bigint[]) WITH ORDINALITY u(p, o)),
          'yellow yellow yellow yellow', 'policy: under the national default all four are yellow');
-- a recalculation rewrites a stored status only when it differs from the
-- fresh one: mark the open-ended ones with a later segment no read consults
-- but any recalculation would overwrite
-- (regions below may look back up to 30 days: the nation allows it)
INSERT INTO policy (region, valid_from, regional_lookback_limit_days, description_zh, description_en)
  VALUES ('000000', '2000-01-01', 30, '全国：地方回溯不超过30天', 'National: regions look back at most 30 days');
CREATE TEMP TABLE before_policy AS SELECT person_id, computed_at FROM person_status;
UPDATE person_status SET next = '[{"marker": true}]' WHERE valid_until = 'infinity' AND next = '[]';
INSERT INTO policy (region, lookback_days, description_zh, description_en)
  VALUES ('330000', 7, '浙江：7天', 'Zhejiang: 7 days');
SELECT is((SELECT string_agg(pg_temp.colour(p), ' ' ORDER BY o)
             FROM unnest(ARRAY[:pol_bj, :pol_nb, :pol_xh, :pol_bjg]::bigint[]) WITH ORDINALITY u(p, o)),
          'yellow green green green',
          'policy: a provincial version (lookback 7) governs its districts only; Beijing keeps the national 14');
SELECT is((SELECT cause || ' ' || from_colour || ' ' || to_colour FROM status_history
            WHERE person_id = :pol_nb ORDER BY at DESC, recorded_at DESC LIMIT 1),
          'policy insert yellow green', 'policy: the change is in the history with cause "policy insert"');
SELECT is((SELECT count(*) FROM person_status s JOIN before_policy b USING (person_id)
            WHERE s.computed_at <> b.computed_at AND s.region NOT LIKE '33%'),
          0::bigint, 'policy: nobody outside the province was recalculated');
UPDATE person_status SET next = '[]' WHERE next = '[{"marker": true}]';
INSERT INTO policy (region, lookback_days, description_zh, description_en)
  VALUES ('330100', 12, '杭州：12天', 'Hangzhou: 12 days');
SELECT is((SELECT string_agg(pg_temp.colour(p), ' ' ORDER BY o)
             FROM unnest(ARRAY[:pol_bj, :pol_nb, :pol_xh, :pol_bjg]::bigint[]) WITH ORDINALITY u(p, o)),
          'yellow green yellow yellow',
          'policy: a city version (12) overrides the province (7) in the city''s districts only');
INSERT INTO policy (region, lookback_days, description_zh, description_en)
  VALUES ('330108', 9, '滨江：9天', 'Binjiang: 9 days');
SELECT is((SELECT string_agg(pg_temp.colour(p), ' ' ORDER BY o)
             FROM unnest(ARRAY[:pol_bj, :pol_nb, :pol_xh, :pol_bjg]::bigint[]) WITH ORDINALITY u(p, o)),
          'yellow green yellow green',
          'policy: a county version (9) overrides its city (12): county <- city <- province <- nation');
UPDATE policy SET lookback_days = 20 WHERE region = '330000';
SELECT is(pg_temp.colour(:pol_nb), 'yellow', 'policy: changing the provincial version recalculates its people');
SELECT is((SELECT cause || ' ' || from_colour || ' ' || to_colour FROM status_history
            WHERE person_id = :pol_nb ORDER BY at DESC, recorded_at DESC LIMIT 1),
          'policy update green yellow', 'policy: with cause "policy update"');
DELETE FROM policy WHERE region = '330108';
SELECT is(pg_temp.colour(:pol_bjg), 'yellow', 'policy: deleting the county version hands the county back to its city');

-- effective tomorrow: changes tomorrow's colour, not today's
SELECT pg_temp.person('pol guangzhou', '440106') AS pol_gz \gset
SELECT pg_temp.stay(:pol_gz, '420106', now() - interval '7 days') IS NOT NULL AS ok \gset
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
  VALUES ('440000', now() + interval '1 day', 5, '广东：明天起5天', 'Guangdong: 5 days from tomorrow');
SELECT is(pg_temp.colour(:pol_gz), 'yellow', 'policy effective tomorrow: today still yellow (14 days)');
SELECT is(pg_temp.colour(:pol_gz, now() + interval '1 day'), 'green',
          'policy effective tomorrow: status(id, tomorrow) is green (5 days)');
SELECT is((SELECT valid_until FROM status(:pol_gz)), now() + interval '1 day',
          'policy effective tomorrow: today''s yellow ends when the version takes effect');
SELECT is(pg_temp.colour(:pol_bj, now() + interval '1 day'), 'yellow', 'policy effective tomorrow: Beijing unaffected');

-- a longer lookback effective tomorrow: evidence older than today's window counts again
SELECT pg_temp.person('pol shenzhen', '440305') AS pol_sz \gset
SELECT pg_temp.stay(:pol_sz, '420106', now() - interval '20 days') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:pol_sz), 'green', 'a stay 20 days ago: green under the 14-day default');
INSERT INTO policy (region, valid_from, lookback_days, description_zh, description_en)
  VALUES ('440300', now() + interval '1 day', 30, '深圳：明天起30天', 'Shenzhen: 30 days from tomorrow');
SELECT is(pg_temp.colour(:pol_sz) || ' ' || pg_temp.colour(:pol_sz, now() + interval '1 day'), 'green yellow',
          'a 30-day version effective tomorrow: green today, yellow tomorrow');
SELECT is(pg_temp.colour(:pol_sz, now() + interval '11 days'), 'green', 'until the stay is 30 days old');
-- versions of one region: the later start wins; a version's end hands back to the one before
INSERT INTO policy (region, valid_from, valid_until, lookback_days, description_zh, description_en)
  VALUES ('440300', now() - interval '1 day', now() + interval '12 hours', 25, '深圳：临时25天', 'Shenzhen: 25 days for now');
SELECT is(pg_temp.colour(:pol_sz), 'yellow', 'a version of the same region starting later wins: 25 days, yellow today');
SELECT is(pg_temp.colour(:pol_sz, now() + interval '18 hours') || ' ' || pg_temp.colour(:pol_sz, now() + interval '1 day'),
          'green yellow',
          'when it ends (in 12 hours) the national 14 days govern again, then tomorrow''s 30-day version');
-- symptoms_yellow = false
INSERT INTO policy (region, symptoms_yellow, description_zh, description_en)
  VALUES ('320000', false, '江苏：症状不赋黄码', 'Jiangsu: symptoms do not make yellow');
SELECT pg_temp.person('pol nanjing', '320102') AS pol_nj \gset
INSERT INTO declaration (person_id, region, declared_at, symptoms, temperature)
  VALUES (:pol_nj, '320102', now() - interval '1 day', '{cough,fever}', 38.5);
INSERT INTO checkin (person_id, region, at, temperature) VALUES (:pol_nj, '320102', now() - interval '2 hours', 38.6);
SELECT is(pg_temp.colour(:pol_nj), 'green',
          'policy: symptoms_yellow = false turns off symptoms, fever and abnormal check-ins');
UPDATE person SET region = '110101' WHERE id = :pol_nj;
SELECT is(pg_temp.colour(:pol_nj) || ' ' || pg_temp.rules(:pol_nj), 'yellow abnormal_checkin,fever,symptoms',
          'policy: moved to a region under the default, the same evidence is yellow');

-- vaccinated_min_doses
INSERT INTO policy (region, vaccinated_min_doses, description_zh, description_en)
  VALUES ('310000', 3, '上海：3针', 'Shanghai: 3 doses');
SELECT pg_temp.person('pol shanghai', '310101') AS pol_sh \gset
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES
  (:pol_sh, '310101', 1, now() - interval '90 days'), (:pol_sh, '310101', 2, now() - interval '60 days');
SELECT is((SELECT vaccinated FROM status(:pol_sh)), false, 'policy: 2 doses are not enough where 3 are required');
INSERT INTO vaccination (person_id, region, dose, given_at) VALUES (:pol_sh, '310101', 3, now() - interval '10 days');
SELECT is((SELECT vaccinated FROM status(:pol_sh)), true, 'policy: the 3rd dose gives the mark');

-- two_negatives_release_yellow = false
INSERT INTO policy (region, two_negatives_release_yellow, description_zh, description_en)
  VALUES ('500000', false, '重庆：核酸不解除黄码', 'Chongqing: negatives do not release yellow');
SELECT pg_temp.person('pol chongqing', '500101') AS pol_cq \gset
SELECT pg_temp.stay(:pol_cq, '330108', now() - interval '6 days') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:pol_cq, 'negative', now() - interval '5 days', 'cq-1') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:pol_cq, 'negative', now() - interval '4 days', 'cq-2') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:pol_cq), 'yellow', 'policy: two_negatives_release_yellow = false keeps the yellow');

-- quarantine_days_red / red_release_negative_tests
INSERT INTO policy (region, quarantine_days_red, red_release_negative_tests, description_zh, description_en)
  VALUES ('510000', 7, 0, '四川：7天', 'Sichuan: 7 days, no tests');
SELECT pg_temp.person('pol chengdu', '510104') AS pol_cd \gset
SELECT pg_temp.test(:pol_cd, 'positive', now() - interval '10 days', 'cd-pos') IS NOT NULL AS ok \gset
SELECT pg_temp.checkins(:pol_cd, 10, 4) AS n \gset
SELECT is(pg_temp.colour(:pol_cd), 'green', 'policy: quarantine_days_red 7 and no tests release red after 7 check-ins');

-- periodic testing: yellow once the last negative (or the grace period
-- after registration) stops counting (48 h by default)
INSERT INTO policy (region, periodic_testing, description_zh, description_en)
  VALUES ('120000', true, '天津：常态化核酸', 'Tianjin: periodic testing');
SELECT pg_temp.person('periodic none', '120101', interval '5 days') AS per_a \gset
SELECT pg_temp.person('periodic tested', '120101', interval '5 days') AS per_b \gset
SELECT pg_temp.person('periodic new', '120101', interval '1 hour') AS per_c \gset
SELECT pg_temp.test(:per_b, 'negative', now() - interval '1 day', 'per-b') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:per_a) || ' ' || pg_temp.rules(:per_a), 'yellow test_overdue',
          'periodic testing: no test since registration 5 days ago is yellow (test_overdue)');
SELECT is(pg_temp.texts(:per_a), 'periodic test required: no negative test since registration on ' ||
                                 pg_temp.cst_date(now() - interval '5 days'),
          'periodic testing: the reason says since when');
SELECT is(pg_temp.colour(:per_b), 'green', 'periodic testing: a negative 1 day ago counts (48 h)');
SELECT is((SELECT valid_until FROM status(:per_b)), now() + interval '1 day',
          'periodic testing: until 48 h after sampling');
SELECT is(pg_temp.colour(:per_b, now() + interval '2 days') || ' ' || pg_temp.rules(:per_b, now() + interval '2 days'),
          'yellow test_overdue', 'periodic testing: 2 days later the test is overdue');
SELECT is(pg_temp.colour(:per_c), 'green', 'periodic testing: newly registered people have a grace period');
SELECT is(pg_temp.colour(:per_c, now() + interval '3 days'), 'yellow', 'periodic testing: which ends');
SELECT is(pg_temp.colour(:pol_bj, now() + interval '30 days'), 'green', 'periodic testing: only where the policy says so');
SELECT record_decision(:per_a, 'medical_release', 'cleared by the clinic', 'clinic 5') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:per_a) || ' ' || pg_temp.rules(:per_a), 'yellow test_overdue',
          'periodic testing: a manual release does not end the test requirement');

-- calendar days: a test counts through the end of the day 48 h later,
-- two negatives release yellow when on different days at most two apart
INSERT INTO policy (region, periodic_testing, test_window, description_zh, description_en)
  VALUES ('140000', true, 'calendar_days', '山西：按自然日', 'Shanxi: calendar days');
INSERT INTO policy (region, test_window, description_zh, description_en)
  VALUES ('130000', 'calendar_days', '河北：按自然日', 'Hebei: calendar days');
-- 23:00 yesterday, China Standard Time
SELECT (date_trunc('day', now() AT TIME ZONE 'Asia/Shanghai') - interval '1 hour') AT TIME ZONE 'Asia/Shanghai' AS late \gset
SELECT pg_temp.person('periodic hours', '120101', interval '5 days') AS per_h \gset
SELECT pg_temp.person('periodic calendar', '140105', interval '5 days') AS per_cal \gset
SELECT pg_temp.test(:per_h, 'negative', :'late', 'per-h') IS NOT NULL AS ok \gset
SELECT pg_temp.test(:per_cal, 'negative', :'late', 'per-cal') IS NOT NULL AS ok \gset
SELECT is(pg_temp.colour(:per_h, :'late'::timestamptz + interval '48 hours 30 minutes') || ' ' ||
          pg_temp.colour(:per_cal, :'late'::timestamptz + interval '48 hours 30 minutes'), 'yellow green',
          'a test at 23:00 counts 48 hours in hours mode, through the end of the day in calendar mode');
SELECT is((SELECT valid_until FROM status(:per_cal)), :'late'::timestamptz + interval '49 hours',
          'calendar mode: until the start of the third day after sampling');
SELECT pg_temp.person('calendar negatives', '130102') AS cal_2n \gset
SELECT pg_temp.person('hours negatives', '110105') AS hrs_2n \gset
SELECT count(pg_temp.stay(p, '330108', :'late'::timestamptz - interval '3 days')) AS n
  FROM unnest(ARRAY[:cal_2n, :hrs_2n]::bigint[]) p \gset
SELECT count(pg_temp.test(p, 'negative', :'late'::timestamptz - interval '24 hours', 'n1-' || p)) AS n
  FROM unnest(ARRAY[:cal_2n, :hrs_2n]::bigint[]) p \gset
SELECT count(pg_temp.test(p, 'negative', :'late'::timestamptz - interval '22 hours', 'n2-' || p)) AS n
  FROM unnest(ARRAY[:cal_2n, :hrs_2n]::bigint[]) p \gset
SELECT is(pg_temp.colour(:cal_2n) || ' ' || pg_temp.colour(:hrs_2n), 'green yellow',
          'two negatives at 23:00 and 01:00: on different days (calendar mode) they release yellow, 2 h apart (hours) not');
SELECT is_empty('SELECT * FROM check_consistency()', 'policy: check_consistency() finds nothing');

SELECT * FROM finish();
ROLLBACK;
