-- The daily rollup and the trends read from it (issue 17): exact counts at
-- the district, summed to the city, province and nation before anything is
-- left out; written anew for a day; the admins' alone, analysts reading it
-- through trends only. (Suppression and scope for analysts, across all
-- their views: roles_leakage.sql.)
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(21);

SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today \gset
-- a small population: three districts of Zhejiang (two cities), one of Beijing
SELECT count(*) AS generated FROM generate_population(400, 6, 2, 0.0) \gset
SELECT count(*) AS people FROM person \gset
-- tests sampled today: six people of 330106, each tested twice (one of them
-- positive once), two of 330102, one of 110105
WITH p AS (SELECT id, region, row_number() OVER (PARTITION BY region ORDER BY id) AS n FROM person)
SELECT count(*) AS tests FROM p, LATERAL (
  SELECT import_test_results(json_build_array(
           json_build_object('person_id', p.id, 'kind', 'antigen', 'sampled_at', now() - interval '2 minutes',
                             'result', CASE WHEN p.n = 1 AND p.region = '330106' THEN 'positive' ELSE 'negative' END,
                             'lab', 'L', 'sample_id', 'T' || p.id || 'a'),
           json_build_object('person_id', p.id, 'kind', 'pcr', 'sampled_at', now() - interval '1 minute',
                             'result', 'negative', 'lab', 'L', 'sample_id', 'T' || p.id || 'b')))) x
 WHERE (p.region = '330106' AND p.n <= 6) OR (p.region = '330102' AND p.n <= 2) OR (p.region = '110105' AND p.n <= 1) \gset
-- an instant before the decisions below: their people's colour then is in
-- the history only
SELECT clock_timestamp() AS mid \gset
-- decisions by two operators
SET LOCAL ROLE regress_hc_op_zj;
SELECT count(record_decision(id, 'override', 'isolation', 'CDC', 'yellow', now(), now() + interval '1 day')) AS d
  FROM (SELECT id FROM person WHERE region = '330106' ORDER BY id LIMIT 3) p \gset
RESET ROLE;
SET LOCAL ROLE regress_hc_op_hz;
SELECT count(record_decision(id, 'override', 'isolation', 'CDC', 'yellow', now(), now() + interval '1 day')) AS d
  FROM (SELECT id FROM person WHERE region = '330102' ORDER BY id LIMIT 2) p \gset
RESET ROLE;

-- four people of 330102 whose stored yellow segment ended earlier today,
-- green since (a change time made that no recalculation wrote yet)
SELECT (:'today'::timestamp AT TIME ZONE 'Asia/Shanghai') AS t0 \gset
CREATE TEMP TABLE ended AS SELECT id FROM person WHERE region = '330102' ORDER BY id DESC LIMIT 4;
UPDATE person_status s
   SET colour = 'yellow', reasons = '[{"rule": "isolation", "colour": "yellow"}]',
       since = :'t0'::timestamptz + (now() - :'t0') / 4, valid_until = :'t0'::timestamptz + (now() - :'t0') / 2,
       next = jsonb_build_array(jsonb_build_object('from', :'t0'::timestamptz + (now() - :'t0') / 2, 'until', 'infinity',
                                                   'colour', 'green', 'vaccinated', false, 'reasons', '[]'::jsonb))
 WHERE s.person_id IN (SELECT id FROM ended);
-- everyone's colour at an instant and its first rule, person by person:
-- the history's last entry by then for whom changed since, else the timeline
-- (instant, not at: a column's name wins over a parameter's in a SQL function)
CREATE FUNCTION pg_temp.counts_by_person(instant timestamptz) RETURNS SETOF text LANGUAGE sql AS $$
  SELECT x.region || ' ' || x.colour || ' ' || x.rule || ' ' || count(*)
    FROM (SELECT s.region,
                 CASE WHEN s.since > instant
                      THEN (SELECT h.to_colour FROM healthcode.status_history h
                             WHERE h.person_id = s.person_id AND h.at <= instant ORDER BY h.at DESC LIMIT 1)
                      ELSE (healthcode.status_at(s, instant)).colour END AS colour,
                 COALESCE(CASE WHEN s.since > instant
                               THEN (SELECT h.reasons -> 0 ->> 'rule' FROM healthcode.status_history h
                                      WHERE h.person_id = s.person_id AND h.at <= instant ORDER BY h.at DESC LIMIT 1)
                               ELSE (healthcode.status_at(s, instant)).reasons -> 0 ->> 'rule' END, '') AS rule
            FROM healthcode.person_status s) x
   WHERE x.colour IS NOT NULL GROUP BY x.region, x.colour, x.rule ORDER BY 1 $$;
SELECT ok(NOT _work_pending_by(statement_timestamp()), 'no work pending: the counts below come from the one pass');
SELECT is(ARRAY(SELECT region || ' ' || colour || ' ' || rule || ' ' || people FROM _colour_counts_at(:'mid') ORDER BY 1),
          ARRAY(SELECT pg_temp.counts_by_person(:'mid')),
          'the colours at an instant before the decisions: as read person by person (the decided from the history)');
SELECT is(ARRAY(SELECT region || ' ' || colour || ' ' || rule || ' ' || people FROM _colour_counts_at(statement_timestamp()) ORDER BY 1),
          ARRAY(SELECT pg_temp.counts_by_person(statement_timestamp())),
          'and now: as read person by person (the ended segments from their timelines)');
-- (a decision that leaves the colour as it was changes no since)
SELECT is((SELECT count(*) FROM (SELECT unnest(others) FROM _status_groups_at(:'mid')
                                 EXCEPT SELECT person_id FROM manual_decision EXCEPT SELECT id FROM ended) x)
          + (SELECT count(*) FROM (SELECT id FROM ended EXCEPT SELECT unnest(others) FROM _status_groups_at(:'mid')) y),
          0::bigint,
          'the pass leaves to be read one by one only people changed since the instant (decided) or whose segment ended by then');
SELECT is(ARRAY(SELECT unnest(others) AS id FROM _status_groups_at(statement_timestamp()) ORDER BY 1),
          ARRAY(SELECT id FROM ended ORDER BY 1), 'now, only those whose segment ended');

SELECT rollup_day(:'today') AS rows \gset
SELECT ok(:rows > 0, 'rollup_day writes today''s counts so far');
CREATE TEMP TABLE first_pass AS SELECT day, measure, level, region, dim1, dim2, dim3, people, events FROM daily_rollup;
SELECT is(rollup_day(:'today'), :rows::bigint, 'written again');
SELECT is((SELECT count(*) FROM (SELECT day, measure, level, region, dim1, dim2, dim3, people, events FROM daily_rollup
                                 EXCEPT SELECT * FROM first_pass) x), 0::bigint, 'the same rows, not twice');

-- the counts are the truth at the district, and sums above it
SELECT is((SELECT people || ' ' || events FROM daily_rollup
            WHERE day = :'today' AND measure = 'test' AND level = 'district' AND region = '330106' AND dim1 = ''),
          '6 12', 'tests at the district: the people tested and the tests, exactly');
SELECT is((SELECT people || ' ' || events FROM daily_rollup
            WHERE day = :'today' AND measure = 'test' AND level = 'district' AND region = '330106' AND dim1 = 'positive'),
          '1 1', 'and the positive among them');
SELECT is((SELECT people FROM daily_rollup
            WHERE day = :'today' AND measure = 'test' AND level = 'province' AND region = '330000' AND dim1 = ''),
          8::bigint, 'the province''s people tested: its districts'' summed (6 + 2)');
SELECT is((SELECT people FROM daily_rollup
            WHERE day = :'today' AND measure = 'test' AND level = 'nation' AND dim1 = ''), 9::bigint, 'the nation''s: 9');
SELECT is((SELECT sum(people) FROM daily_rollup WHERE day = :'today' AND measure = 'status' AND level = 'nation'),
          :people::numeric, 'the status at the day''s end counts everyone once, by colour and rule');
SELECT is((SELECT count(*) FROM (
             SELECT r.region, r.dim1, r.dim2, r.people FROM daily_rollup r
              WHERE r.day = :'today' AND r.measure = 'status' AND r.level = 'province'
             EXCEPT
             SELECT left(d.region, 2) || '0000', d.dim1, d.dim2, sum(d.people) FROM daily_rollup d
              WHERE d.day = :'today' AND d.measure = 'status' AND d.level = 'district' GROUP BY 1, 2, 3) x), 0::bigint,
          'every province''s status cell is its districts'' summed');
SELECT is(ARRAY(SELECT dim3 || ' ' || people FROM daily_rollup
                 WHERE day = :'today' AND measure = 'decision' AND level = 'province' AND region = '330000' ORDER BY 1),
          '{"regress_hc_op_hz 2","regress_hc_op_zj 3"}', 'decisions per operator');
SELECT is((SELECT sum(people) FROM daily_rollup
            WHERE day = :'today' AND measure = 'transition' AND level = 'nation' AND dim1 = ''), :people::numeric,
          'transitions today: everyone''s first colour');
SELECT is(ARRAY(SELECT region || ' ' || dim1 || ' ' || dim2 || ' ' || people || ' ' || events FROM daily_rollup
                 WHERE day = :'today' AND measure = 'transition' AND level = 'district' ORDER BY 1),
          ARRAY(SELECT t.region || ' ' || COALESCE(t.from_colour::text, '') || ' ' || t.to_colour || ' '
                       || count(DISTINCT t.person_id) || ' ' || count(*)
                  FROM (SELECT h.person_id, h.region, h.from_colour, h.to_colour FROM status_history h
                         WHERE h.at >= :'t0' AND h.at < :'t0'::timestamptz + interval '1 day'
                        UNION ALL
                        SELECT s.person_id, s.region, g.from_colour, g.to_colour
                          FROM person_status s, _elapsed_changes(s.colour, s.next, statement_timestamp()) g
                         WHERE g.at >= :'t0' AND g.at < :'t0'::timestamptz + interval '1 day') t
                 GROUP BY t.region, t.from_colour, t.to_colour ORDER BY 1),
          'transitions by district: the history''s and those time made (4 people of 330102 yellow to green), as counted over everyone');

-- exposure by risk area: the people with a stay in each designation while in force, by home region and colour now
SELECT id AS area, division FROM risk_area WHERE level = 'high' AND venue IS NULL ORDER BY id LIMIT 1 \gset
SELECT is(ARRAY(SELECT region || ' ' || colour || ' ' || people FROM exposure_by_area WHERE risk_area = :area ORDER BY 1),
          ARRAY(SELECT g.region || ' ' || g.colour || ' ' || (g.n + 2) / 5 * 5
                  FROM (SELECT p.region, (status_at(s, now())).colour, count(DISTINCT p.id) AS n
                          FROM risk_area a
                          JOIN travel t ON t.place >= a.division AND t.place <= division_last(a.division)
                                       AND t.at >= greatest(a.effective_from, _evidence_horizon(now()))
                                       AND (a.effective_until IS NULL OR t.at < a.effective_until)
                          JOIN person p ON p.id = t.person_id JOIN person_status s ON s.person_id = p.id
                         WHERE a.id = :area GROUP BY 1, 2) g
                 WHERE g.n >= 5 ORDER BY 1),
          'exposure_by_area: per designation, the people with a stay there while in force, by home region and colour now, rounded');

-- who reads it
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', 'SELECT count(*) FROM healthcode.daily_rollup'), '42501',
          'analysts read the rollup only through trends');
SELECT is(pg_temp.state_as('regress_hc_analyst_zj', format('SELECT healthcode.rollup_day(%L)', :'today')), '42501',
          'and do not write it');
SELECT is(pg_temp.error_of($$SELECT healthcode.rollup_day(((now() AT TIME ZONE 'Asia/Shanghai')::date + 1))$$),
          format('22023: day must be a day of the health-code era up to today, not %s', :'today'::date + 1),
          'tomorrow is not rolled up');

SELECT * FROM finish();
ROLLBACK;
