-- Partitions by time of the large tables besides travel (issue 17, point
-- 6): code_event by day; status_history, checkin and test_result by month.
-- A row of a day or month whose partition is not made yet goes to the
-- default partition and moves into its partition when that is made; the
-- partitions cover every day retention keeps, to a week ahead; whole days
-- or months retention no longer keeps are dropped, and the older rows left
-- (the default partition's, the partition it cuts into) are deleted row by
-- row without touching a kept row of another partition. A key a partitioned
-- table cannot hold is each partition's: a check-in a day, a lab's sample.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(46);

-- evidence kept 30 days from now on (so code events too)
INSERT INTO policy (region, valid_from, evidence_kept_days, description_zh, description_en)
VALUES ('000000', now() - interval '1000 days', 30, '保留30天', 'evidence kept 30 days');
SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today \gset
SELECT _first_day_kept('code_event') AS first_kept \gset
SELECT is(:'first_kept'::date, (SELECT (removes_before AT TIME ZONE 'Asia/Shanghai')::date FROM retention_plan()
                                  WHERE tbl = 'code_event'),
          'the first day kept is the day retention_plan() keeps code events from');

CREATE FUNCTION pg_temp.event(at timestamptz, outcome text) RETURNS void LANGUAGE sql AS $$
  INSERT INTO healthcode.code_event (at, event, region, code_region, colour, outcome, holder)
  VALUES (at, 'verified', '330106', '330106', 'green', outcome, '\x0102030405060708') $$;
-- no day partition yet: the rows of every day go to the default partition
-- (one before the first day kept, three kept: ten days ago, today, and the
-- day the rule cuts into, after its cut)
-- Behind another session's reader, the partitions wait for the next run:
-- the lock is waited for a second, not for as long as the reader reads
-- (while every code issued would queue behind it)
SELECT ((:'today'::date + 40)) AS far \gset
SELECT dblink_connect('reader', :'conn') AS x \gset
SELECT dblink_exec('reader', 'BEGIN') AS x \gset
SELECT x AS n FROM dblink('reader', 'SELECT count(*)::text FROM healthcode.code_event') AS t(x text) \gset
SELECT create_partitions(:'far', :'far') AS made_far \gset
SELECT ok(to_regclass('healthcode.code_event_' || to_char(:'far'::date, 'YYYYMMDD')) IS NULL
          AND to_regclass('healthcode.checkin_' || to_char(:'far'::date, 'YYYYMM')) IS NOT NULL,
          'a reader holding the table: none of its partitions made, after a second''s wait (the other tables'' made)');
SELECT dblink_exec('reader', 'COMMIT') AS x \gset
SELECT dblink_disconnect('reader') AS x \gset
SELECT is(create_partitions(:'far', :'far'), 1, 'the reader gone: the next run makes it');

-- (whatever day partitions this database has, gone for the test)
SELECT format('DROP TABLE healthcode.%I', c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'healthcode.code_event'::regclass AND c.relname <> 'code_event_default' \gexec
SELECT pg_temp.event(now() - interval '40 days', 'old');
SELECT pg_temp.event(now() - interval '10 days', 'ten days ago');
SELECT pg_temp.event(now(), 'today');
SELECT removes_before AS cut FROM retention_plan() WHERE tbl = 'code_event' \gset
SELECT pg_temp.event(:'cut'::timestamptz + interval '1 second', 'just kept');
SELECT is((SELECT count(*) FROM ONLY code_event_default WHERE outcome IN ('old', 'ten days ago', 'today', 'just kept')),
          4::bigint, 'no day partition yet: the rows of every day are in the default partition');

-- the partitions: every day kept, to a week ahead, the waiting rows moved
-- in (made in a session whose dates read otherwise: the bounds do not
-- depend on it)
SET LOCAL DateStyle = 'Postgres, MDY';
SET LOCAL TimeZone = 'Asia/Shanghai';   -- (printed CST, which reads back as US Central)
SELECT create_partitions() AS made \gset
-- (travel's too, made in this session: a lock on travel held keeps its
-- background worker out)
LOCK TABLE travel IN ACCESS SHARE MODE;
SELECT create_travel_partitions(:'today'::date + 30, :'today'::date + 30) AS travel_made \gset
RESET DateStyle;
RESET TimeZone;
SELECT is(pg_get_expr(c.relpartbound, c.oid),
          format('FOR VALUES FROM (%L) TO (%L)', (:'today'::date + 30)::timestamp AT TIME ZONE 'Asia/Shanghai',
                 (:'today'::date + 31)::timestamp AT TIME ZONE 'Asia/Shanghai'),
          'and a travel day partition made in such a session holds its day in China Standard Time')
  FROM pg_class c WHERE c.oid = ('healthcode.travel_' || to_char(:'today'::date + 30, 'YYYYMMDD'))::regclass;
SELECT is(pg_get_expr(c.relpartbound, c.oid),
          format('FOR VALUES FROM (%L) TO (%L)', :'today'::timestamp AT TIME ZONE 'Asia/Shanghai',
                 (:'today'::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai'),
          'a day''s partition holds that day in China Standard Time, whatever the DateStyle and TimeZone of the session that made it')
  FROM pg_class c WHERE c.oid = ('healthcode.code_event_' || to_char(:'today'::date, 'YYYYMMDD'))::regclass;
SELECT is((SELECT count(*) FROM generate_series(:'first_kept'::date, :'today'::date + 7, interval '1 day') g
            WHERE to_regclass('healthcode.code_event_' || to_char(g, 'YYYYMMDD')) IS NULL), 0::bigint,
          'create_partitions() makes a partition for every day kept, to a week ahead');
SELECT is(create_partitions(), 0, 'and nothing more when called again');
SELECT throws_ok($$SELECT healthcode.create_partitions('2019-01-01', '2019-01-02')$$, '22023',
                 'first_day 2019-01-01 lies before the health-code era (2019-12-01)', 'a day before the era is refused');
SELECT is(ARRAY(SELECT outcome || ' ' || tableoid::regclass::text FROM code_event
                 WHERE outcome IN ('old', 'ten days ago', 'today', 'just kept') ORDER BY at),
          ARRAY['old code_event_default',
                'just kept code_event_' || to_char((:'cut'::timestamptz + interval '1 second') AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'),
                'ten days ago code_event_' || to_char((now() - interval '10 days') AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'),
                'today code_event_' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')],
          'the rows that waited moved into their day''s partition; a day no longer kept has none and keeps its row waiting');
SELECT is(col_description(('healthcode.code_event_' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD'))::regclass, 1),
          col_description('healthcode.code_event'::regclass, 1), 'a partition''s columns say what the table''s say');
SELECT is((SELECT count(*) FROM pg_class c JOIN pg_inherits i ON i.inhrelid = c.oid
            WHERE i.inhparent = 'healthcode.code_event'::regclass AND c.relacl IS NOT NULL
              AND c.relname <> 'code_event_default'), 0::bigint,
          'no role but the owner has rights on a day partition (it is read through its table)');

-- an older day's partition (as made before the policy shortened the
-- window), and a row in it; a row the day the rule cuts into, before the cut
SELECT create_partitions(:'first_kept'::date - 5, :'first_kept'::date - 5) AS made_old \gset
SELECT pg_temp.event((:'first_kept'::date - 5)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '1 hour', 'older day');
SELECT pg_temp.event(:'cut'::timestamptz - interval '1 second', 'just gone');
SELECT is(:made_old, 1, 'a day before what is kept can still be made on purpose');
SELECT is(ARRAY(SELECT metric || ' ' || value FROM monitoring WHERE label = 'code_event' ORDER BY 1),
          '{"partition_days_ahead 7","partitions_past_retention 1"}',
          'monitoring: a week ahead made, and one day retention should drop');
-- (and of the months this database had made under the default 90 days:
-- those are the month section's, below)
SELECT is(ARRAY(SELECT x FROM drop_expired_partitions() x WHERE x ~ '^code_event_'),
          ARRAY['code_event_' || to_char(:'first_kept'::date - 5, 'YYYYMMDD')],
          'drop_expired_partitions() drops the days wholly before what retention keeps');
-- (the default partition and the day cut into both hold a row at the same
-- place, ctid (0,1)? Whatever they hold, only rows before the cut go)
CALL apply_retention(NULL, 10000, false);
SELECT is(ARRAY(SELECT outcome FROM code_event WHERE outcome IN ('old', 'older day', 'just gone', 'just kept', 'ten days ago', 'today')
                 ORDER BY at),
          '{"just kept","ten days ago",today}', 'retention deletes the older rows left, in the default partition and the day it cuts into, and no kept one');
SELECT is((SELECT count(*) FROM code_event WHERE at < :'cut'::timestamptz), 0::bigint, 'no code event older than what is kept is left');
SELECT is((SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'healthcode.code_event'::regclass AND c.relname <> 'code_event_default'
              AND CASE WHEN c.relname ~ '^code_event_[0-9]{8}$' THEN to_date(right(c.relname, 8), 'YYYYMMDD') END
                  < :'first_kept'::date), 0::bigint,
          'no day partition before the first day kept is left');
SELECT is((SELECT value FROM monitoring WHERE label = 'code_event' AND metric = 'partitions_past_retention'), 0::double precision,
          'monitoring: none left behind');


-- ---- the tables partitioned by month -------------------------------------------
-- (whatever month partitions this database has, gone for the test)
SELECT format('DROP TABLE healthcode.%I', c.relname) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent IN ('healthcode.status_history'::regclass, 'healthcode.checkin'::regclass, 'healthcode.test_result'::regclass)
   AND c.relname !~ '_default$' \gexec
SELECT _first_day_kept('checkin') AS ck_first \gset
SELECT register_person('33010619900101123X', '330106', '张小三') AS p \gset
SELECT register_person('330203199001011236', '330203', '李小四') AS q \gset
-- a check-in yesterday and one on the first day kept, a test today; a
-- sample one day, resent for the day before (another month, whatever today)
INSERT INTO checkin (person_id, region, at, temperature)
VALUES (:p, '330106', now() - interval '1 day', 36.5),
       (:p, '330106', (:'ck_first'::date)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '10 hours', 36.6);
SELECT date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS month_start \gset
SELECT import_test_results(json_build_array(
         json_build_object('person_id', :p, 'kind', 'pcr', 'sampled_at', now() - interval '1 hour', 'result', 'negative',
                           'lab', 'lab 1', 'sample_id', 'T1'),
         -- (this month's start at the latest: never in the future)
         json_build_object('person_id', :p, 'kind', 'pcr', 'sampled_at', greatest(:'month_start'::timestamptz, now() - interval '1 hour'),
                           'result', 'negative', 'lab', 'lab 1', 'sample_id', 'T2'))) AS imported \gset
SELECT is((SELECT count(*) FROM ONLY checkin_default WHERE person_id = :p), 2::bigint,
          'no month partition yet: check-ins wait in the default partition');
SELECT ok((SELECT count(*) FROM ONLY status_history_default WHERE person_id = :p) > 0
          AND (SELECT count(*) FROM ONLY test_result_default WHERE person_id = :p) = 2,
          'and so do the history and the test results');
SELECT create_partitions() AS made_months \gset
SELECT is((SELECT count(*) FROM unnest(ARRAY['status_history', 'checkin', 'test_result']) t
            CROSS JOIN generate_series(date_trunc('month', _first_day_kept(t)), :'today'::date + 7, interval '1 month') m
            WHERE to_regclass('healthcode.' || t || '_' || to_char(m, 'YYYYMM')) IS NULL), 0::bigint,
          'create_partitions() makes a partition for every month kept, to a week ahead, of each table partitioned by month');
SELECT is(pg_get_expr(c.relpartbound, c.oid),
          format('FOR VALUES FROM (%L) TO (%L)', :'month_start'::timestamptz,
                 (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai') + interval '1 month') AT TIME ZONE 'Asia/Shanghai'),
          'a month''s partition holds that month in China Standard Time')
  FROM pg_class c WHERE c.oid = ('healthcode.checkin_' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMM'))::regclass;
SELECT is(ARRAY(SELECT k.day || ' ' || k.tableoid::regclass::text FROM checkin k WHERE k.person_id = :p ORDER BY k.at),
          ARRAY[:'ck_first' || ' checkin_' || to_char(:'ck_first'::date, 'YYYYMM'),
                ((now() - interval '1 day') AT TIME ZONE 'Asia/Shanghai')::date || ' checkin_'
                  || to_char((now() - interval '1 day') AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')],
          'the check-ins that waited moved into their months, each with its day');
SELECT is((SELECT count(*) FROM ONLY status_history_default WHERE person_id = :p)
          + (SELECT count(*) FROM ONLY test_result_default WHERE person_id = :p), 0::bigint,
          'and the history and the test results of kept months too');
SELECT is((SELECT count(*) FROM pg_index x JOIN pg_class c ON c.oid = x.indrelid
            WHERE c.relname = 'checkin_' || to_char(now() AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')),
          (SELECT count(*) FROM _partition_indexes() WHERE tbl = 'checkin'),
          'a month partition has its table''s indexes');
-- a check-in a day: the month's key
SELECT throws_like(format($$INSERT INTO healthcode.checkin (person_id, region, at) VALUES (%s, '330106', %L)$$,
                          :p, now() - interval '1 day' + interval '1 second'),
                   '%checkin_' || to_char((now() - interval '1 day') AT TIME ZONE 'Asia/Shanghai', 'YYYYMM') || '_natural_key%',
                   'a second check-in the same day is refused by its month''s key');
SELECT identifier_check('33010619900101123X') IS NOT NULL AS x \gset
SELECT colour FROM check_in('33010619900101123X', 36.4) \gset
SELECT colour FROM check_in('33010619900101123X', 38.2, '{cough}') \gset
SELECT colour FROM check_in('33010619900101123X', 36.8) \gset
SELECT is(ARRAY(SELECT temperature || ' ' || symptoms::text FROM checkin
                 WHERE person_id = :p AND day = (now() AT TIME ZONE 'Asia/Shanghai')::date),
          '{"38.2 {cough}"}', 'check_in() three times a day: one row, the worst of them');
-- a lab's sample: resent for another time, in another month, it is
-- corrected, not recorded twice; someone else's is refused (the month
-- before made whatever today is: on the 31st, the first day kept is this
-- month's 1st)
SELECT create_partitions(:'month_start'::date - 1, :'month_start'::date - 1) AS made_month_before \gset
SELECT import_test_results(json_build_array(
         json_build_object('person_id', :p, 'kind', 'pcr', 'sampled_at', :'month_start'::timestamptz - interval '2 hours',
                           'result', 'positive', 'lab', 'lab 1', 'sample_id', 'T2'))) AS corrected \gset
SELECT is(ARRAY(SELECT result || ' ' || sampled_at || ' ' || tableoid::regclass::text FROM test_result
                 WHERE lab = 'lab 1' AND sample_id = 'T2'),
          ARRAY['positive ' || (:'month_start'::timestamptz - interval '2 hours') || ' test_result_'
                || to_char((:'month_start'::timestamptz - interval '2 hours') AT TIME ZONE 'Asia/Shanghai', 'YYYYMM')],
          'a sample resent for the month before is corrected and moves there: one row');
SELECT is(:corrected, 1, 'import_test_results() counts the correction');
SELECT throws_like(format($$SELECT healthcode.import_test_results(json_build_array(json_build_object(
                              'person_id', %s, 'kind', 'pcr', 'sampled_at', %L, 'result', 'negative',
                              'lab', 'lab 1', 'sample_id', 'T2')))$$, :q, now() - interval '3 days'),
                   '%recorded for another person%',
                   'the same sample for someone else is refused, whatever its month');
SELECT is((SELECT count(*) FROM test_result WHERE lab = 'lab 1' AND sample_id = 'T2'), 1::bigint, 'and not written');
SELECT throws_like(format($$INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
                           VALUES (%s, '330203', 'pcr', %L, 'negative', 'lab 1', 'T2')$$, :q,
                          greatest(:'month_start'::timestamptz, now() - interval '1 hour')),
                   '%test_result_sample_key%',
                   'a direct write of a sample held in another month is refused too (test_result_sample''s key)');
SELECT is((SELECT count(*) FROM test_result_sample k FULL JOIN test_result t USING (lab, sample_id, person_id)
           WHERE t.id IS NULL OR k.lab IS NULL)
          + (SELECT count(*) - count(DISTINCT (lab, sample_id)) FROM test_result), 0::bigint,
          'test_result_sample holds every sample of test_result, each once, and test_result none twice');
-- retention: an older month made on purpose, rows before and after the cut
SELECT create_partitions(:'ck_first'::date - 40, :'ck_first'::date - 40) AS made_old_month \gset
SELECT is(ARRAY(SELECT metric || ' ' || value FROM monitoring WHERE label = 'checkin' ORDER BY 1),
          ARRAY['partition_days_ahead ' || ((date_trunc('month', :'today'::date + 7) + interval '1 month')::date - 1 - :'today'::date),
                'partitions_past_retention 1'],
          'monitoring: the days ahead the months made cover, and one month retention should drop');
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:p, '330106', 'pcr', (:'ck_first'::date - 40)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '1 hour',
        'negative', 'lab 1', 'T9');
SELECT is((SELECT tableoid::regclass::text FROM test_result WHERE sample_id = 'T9') || ' '
          || (SELECT count(*) FROM test_result_sample WHERE sample_id = 'T9'),
          'test_result_' || to_char(:'ck_first'::date - 40, 'YYYYMM') || ' 1', 'a test in the month to drop, its sample held');
SELECT is(ARRAY(SELECT x FROM drop_expired_partitions() x WHERE x ~ '^(status_history|checkin|test_result)_' ORDER BY 1),
          ARRAY(SELECT t || '_' || to_char(:'ck_first'::date - 40, 'YYYYMM')
                  FROM unnest(ARRAY['checkin', 'status_history', 'test_result']) t ORDER BY 1),
          'drop_expired_partitions() drops the months wholly before what retention keeps');
SELECT is((SELECT count(*) FROM test_result_sample WHERE sample_id = 'T9'), 0::bigint,
          'the sample of a test in a dropped month goes with it');
INSERT INTO checkin (person_id, region, at, temperature)
VALUES (:p, '330106', (:'ck_first'::date)::timestamp AT TIME ZONE 'Asia/Shanghai' - interval '2 hours', 36.6);
SELECT is((SELECT count(*) FROM checkin WHERE person_id = :p), 4::bigint, 'a check-in the day before the first kept, to go');
-- a test and a history entry just before what is kept (the cut's month
-- made: they lie in a month partition, deleted there row by row)
SELECT removes_before AS tr_cut FROM retention_plan() WHERE tbl = 'test_result' \gset
SELECT removes_before AS sh_cut FROM retention_plan() WHERE tbl = 'status_history' \gset
SELECT create_partitions((:'tr_cut'::timestamptz - interval '1 hour')::date, (:'sh_cut'::timestamptz - interval '1 hour')::date) AS made_cut \gset
INSERT INTO test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
VALUES (:p, '330106', 'pcr', :'tr_cut'::timestamptz - interval '1 hour', 'negative', 'lab 1', 'T0');
INSERT INTO status_history (person_id, region, at, from_colour, to_colour, reasons, cause)
VALUES (:p, '330106', :'sh_cut'::timestamptz - interval '1 hour', 'green', 'green', '[]', 'retention test');
SELECT is((SELECT count(*) FROM test_result WHERE sample_id = 'T0' AND tableoid::regclass::text ~ '_[0-9]{6}$')
          + (SELECT count(*) FROM status_history WHERE cause = 'retention test' AND tableoid::regclass::text ~ '_[0-9]{6}$'),
          2::bigint, 'a test and a history entry to go, each in its month partition');
CALL apply_retention(NULL, 10000, false);
SELECT is((SELECT count(*) FROM checkin WHERE person_id = :p AND day < :'ck_first'::date), 0::bigint,
          'retention deletes the check-ins of days no longer kept');
SELECT is((SELECT count(*) FROM checkin WHERE person_id = :p), 3::bigint, 'and keeps the rest');
SELECT is((SELECT count(*) FROM status_history WHERE at < (SELECT removes_before FROM retention_plan() WHERE tbl = 'status_history'))
          + (SELECT count(*) FROM test_result WHERE sampled_at < (SELECT removes_before FROM retention_plan() WHERE tbl = 'test_result')),
          0::bigint,
          'no history or test result older than what is kept is left');
SELECT is((SELECT count(*) FROM test_result WHERE sample_id = 'T0') + (SELECT count(*) FROM status_history WHERE cause = 'retention test')
          + (SELECT count(*) FROM test_result_sample WHERE sample_id = 'T0'), 0::bigint,
          'the test and the history entry before the cut are gone, and the sample with the test');
SELECT is((SELECT count(*) FROM test_result_sample k FULL JOIN test_result t USING (lab, sample_id, person_id)
           WHERE t.id IS NULL OR k.lab IS NULL)
          + (SELECT count(*) - count(DISTINCT (lab, sample_id)) FROM test_result), 0::bigint,
          'after retention too, test_result_sample holds exactly the samples of test_result');
SELECT is((SELECT sum(value) FROM monitoring WHERE metric = 'partitions_past_retention'
            AND label IN ('status_history', 'checkin', 'test_result')), 0::double precision,
          'monitoring: no month left behind');

SELECT * FROM finish();
ROLLBACK;
