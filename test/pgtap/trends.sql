-- The daily rollup and the trends read from it (issue 17): exact counts at
-- the district, summed to the city, province and nation before anything is
-- left out; written anew for a day; the admins' alone, analysts reading it
-- through trends only. (Suppression and scope for analysts, across all
-- their views: roles_leakage.sql.)
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(15);

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
-- decisions by two operators
SET LOCAL ROLE regress_hc_op_zj;
SELECT count(record_decision(id, 'override', 'isolation', 'CDC', 'yellow', now(), now() + interval '1 day')) AS d
  FROM (SELECT id FROM person WHERE region = '330106' ORDER BY id LIMIT 3) p \gset
RESET ROLE;
SET LOCAL ROLE regress_hc_op_hz;
SELECT count(record_decision(id, 'override', 'isolation', 'CDC', 'yellow', now(), now() + interval '1 day')) AS d
  FROM (SELECT id FROM person WHERE region = '330102' ORDER BY id LIMIT 2) p \gset
RESET ROLE;

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
