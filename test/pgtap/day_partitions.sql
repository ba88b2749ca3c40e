-- Day partitions of the large tables besides travel (issue 17, point 6):
-- code_event. A row of a day whose partition is not made yet goes to the
-- default partition and moves into the day's partition when it is made;
-- the partitions cover every day retention keeps, to a week ahead; whole
-- days retention no longer keeps are dropped, and the older rows left (the
-- default partition's, the day it cuts into) are deleted row by row
-- without touching a kept row of another partition.
BEGIN;
SET search_path = public, healthcode;
\ir lib/roles_common.psql
\ir lib/common.psql
SELECT plan(19);

-- evidence kept 30 days from now on (so code events too)
INSERT INTO policy (region, valid_from, evidence_kept_days, description_zh, description_en)
VALUES ('000000', now() - interval '1000 days', 30, '保留30天', 'evidence kept 30 days');
SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date AS today \gset
SELECT _day_first_kept('code_event') AS first_kept \gset
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
SELECT is(create_day_partitions(:'far', :'far'), 0, 'a reader holding the table: no partition made, after a second''s wait');
SELECT dblink_exec('reader', 'COMMIT') AS x \gset
SELECT dblink_disconnect('reader') AS x \gset
SELECT is(create_day_partitions(:'far', :'far'), 1, 'the reader gone: the next run makes it');

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
SELECT create_day_partitions() AS made \gset
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
          'create_day_partitions() makes a partition for every day kept, to a week ahead');
SELECT is(create_day_partitions(), 0, 'and nothing more when called again');
SELECT throws_ok($$SELECT healthcode.create_day_partitions('2019-01-01', '2019-01-02')$$, '22023',
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
SELECT create_day_partitions(:'first_kept'::date - 5, :'first_kept'::date - 5) AS made_old \gset
SELECT pg_temp.event((:'first_kept'::date - 5)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '1 hour', 'older day');
SELECT pg_temp.event(:'cut'::timestamptz - interval '1 second', 'just gone');
SELECT is(:made_old, 1, 'a day before what is kept can still be made on purpose');
SELECT is(ARRAY(SELECT metric || ' ' || value FROM monitoring WHERE label = 'code_event' ORDER BY 1),
          '{"day_partition_days_ahead 7","day_partitions_past_retention 1"}',
          'monitoring: a week ahead made, and one day retention should drop');
SELECT is(ARRAY(SELECT * FROM drop_expired_day_partitions()),
          ARRAY['code_event_' || to_char(:'first_kept'::date - 5, 'YYYYMMDD')],
          'drop_expired_day_partitions() drops the days wholly before what retention keeps');
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
SELECT is((SELECT value FROM monitoring WHERE label = 'code_event' AND metric = 'day_partitions_past_retention'), 0::double precision,
          'monitoring: none left behind');

SELECT * FROM finish();
ROLLBACK;
