-- ---------------------------------------------------------------------------
-- Partitions by time of the large tables besides travel (whose own are in
-- 64_travel_partitions.sql): code_event by day; status_history, checkin and
-- test_result by month. One partition a day or a month (China Standard
-- Time), named <table>_YYYYMMDD or <table>_YYYYMM, made for every day or
-- month from the first one retention keeps to a week ahead, whatever the
-- data (create_partitions(): the daily job and apply_retention), and
-- dropped whole once retention keeps nothing of it
-- (drop_expired_partitions()). Unlike travel, these tables are written
-- from anywhere (a code is counted in whatever transaction issues or
-- checks it; a recalculation writes history wherever it runs), so a row of
-- a day whose partition is not made yet goes to the table's default
-- partition (<table>_default) rather than fail, and moves into its
-- partition when that is made.
--
-- Why months for three of them: they are read person by person over all
-- the time they are kept (the status engine reads a person's every test and
-- check-in; a person's history is read whole), and PostgreSQL looks a
-- person up in every partition, having no index across them. Measured
-- (bench/partitions.sh, doc/operations.md): a batch of 20,000 people's test
-- results looked up in 81 day partitions took 38 times as long as in one
-- table, in 4 month partitions 2.7 times; the status engine reading them,
-- with check-ins, in months about 1.3 times. code_event is read by day only.
-- ---------------------------------------------------------------------------

-- (the tables partitioned so, their indexes and the partitions' comments:
-- 46_time_partitions.sql)
SELECT @extschema@._comment_partition(format('@extschema@.%I', x.tbl || '_default')::regclass)
  FROM @extschema@._partitioned_by_time() x;

-- A table's partitions and the days they hold, from_day until before
-- to_day (the default partition aside).
CREATE FUNCTION @extschema@._time_partitions_of(tbl text) RETURNS TABLE (part text, from_day date, to_day date)
LANGUAGE sql STABLE
BEGIN ATOMIC
  -- (the CASE: no other relation's name is read as a date, in whatever
  -- order the plan takes the conditions)
  SELECT c.relname::text, f.from_day, (f.from_day OPERATOR(pg_catalog.+) ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval)::date
    FROM @extschema@._partitioned_by_time() u
    JOIN pg_catalog.pg_inherits i
      ON i.inhparent OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', '@extschema@', u.tbl)::regclass
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
    CROSS JOIN LATERAL (SELECT pg_catalog.format('^%s_[0-9]{%s}$', u.tbl, pg_catalog.length(u.name_format)) AS pattern) n
    CROSS JOIN LATERAL (SELECT CASE WHEN c.relname OPERATOR(pg_catalog.~) n.pattern
                                    THEN pg_catalog.to_date(pg_catalog.right(c.relname, pg_catalog.length(u.name_format)),
                                                            u.name_format) END AS from_day) f
   WHERE u.tbl OPERATOR(pg_catalog.=) _time_partitions_of.tbl
     AND c.relname OPERATOR(pg_catalog.~) n.pattern;
END;
COMMENT ON FUNCTION @extschema@._time_partitions_of(text) IS
  'Internal: the partitions of a table partitioned by time (name, the first day it holds, the day after its last), its default partition aside.';
REVOKE ALL ON FUNCTION @extschema@._time_partitions_of(text) FROM PUBLIC;

-- The first day a table's retention keeps (its rule in _retention_rules).
CREATE FUNCTION @extschema@._first_day_kept(tbl text) RETURNS date
LANGUAGE sql STABLE
RETURN (SELECT (r.removes_before AT TIME ZONE 'Asia/Shanghai')::date
          FROM @extschema@._retention_rules(pg_catalog.now()) r WHERE r.tbl OPERATOR(pg_catalog.=) _first_day_kept.tbl);
COMMENT ON FUNCTION @extschema@._first_day_kept(text) IS
  'Internal: the first day (China Standard Time) of which a table''s retention rule keeps rows.';
REVOKE ALL ON FUNCTION @extschema@._first_day_kept(text) FROM PUBLIC;

-- The partitions a table lacks from first_day to last_day: the name, the
-- first day each holds and the day after its last (a month's from its 1st:
-- every month first_day..last_day touches).
CREATE FUNCTION @extschema@._time_partitions_missing(tbl text, first_day date, last_day date)
RETURNS TABLE (part text, from_day date, to_day date)
LANGUAGE sql STABLE
BEGIN ATOMIC
  SELECT n.part, g.from_day, g.to_day
    FROM @extschema@._partitioned_by_time() u
    CROSS JOIN LATERAL (SELECT s::date AS from_day, (s OPERATOR(pg_catalog.+) ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval)::date AS to_day
                          FROM pg_catalog.generate_series(pg_catalog.date_trunc(u.unit, first_day::timestamp),
                                                          last_day::timestamp, ('1 ' OPERATOR(pg_catalog.||) u.unit)::interval) s) g
    CROSS JOIN LATERAL (SELECT u.tbl OPERATOR(pg_catalog.||) '_' OPERATOR(pg_catalog.||)
                               pg_catalog.to_char(g.from_day, u.name_format) AS part) n
   WHERE u.tbl OPERATOR(pg_catalog.=) _time_partitions_missing.tbl
     AND pg_catalog.to_regclass(pg_catalog.format('%I.%I', '@extschema@', n.part)) IS NULL
   ORDER BY g.from_day;
END;
COMMENT ON FUNCTION @extschema@._time_partitions_missing(text, date, date) IS
  'Internal: the partitions of a table partitioned by time that first_day..last_day needs and it lacks (name, the first day each holds, the day after its last).';
REVOKE ALL ON FUNCTION @extschema@._time_partitions_missing(text, date, date) FROM PUBLIC;

CREATE FUNCTION @extschema@.create_partitions(first_day date DEFAULT NULL, last_day date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the partition bounds are written as text: in a form that reads back as
-- the same instant whatever the caller's DateStyle and TimeZone)
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
-- (the table's lock waited for a second at most: below)
SET lock_timeout = '1s'
AS $$
DECLARE
  t record;
  p record;
  columns text;
  moves text;
  starts date[];
  first_made date;
  after_made date;
  made integer := 0;
  schema_name text := '@extschema@';
BEGIN
  last_day := coalesce(last_day, (now() AT TIME ZONE 'Asia/Shanghai')::date + 7);
  FOR t IN SELECT x.*, coalesce(first_day, @extschema@._first_day_kept(x.tbl)) AS first
             FROM @extschema@._partitioned_by_time() x LOOP
    PERFORM @extschema@._require_day_span(t.first, last_day);
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day));
    -- (the lock serialises creators, and makes this session see partitions
    -- another has just committed. Every code issued or checked may write
    -- the table, and would queue behind a lock still waited for: if a long
    -- reader (a pg_dump) holds it a second, the partitions wait for the
    -- next run, their rows in the default partition meanwhile)
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', schema_name, t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    -- (the rows of the partitions to make go into each partition itself,
    -- in one statement: a row moved is no new evidence, and the table's
    -- triggers would recalculate its person)
    columns := (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a
                 WHERE a.attrelid = format('%I.%I', schema_name, t.tbl)::regclass AND a.attnum > 0
                   AND NOT a.attisdropped AND a.attgenerated = '');
    SELECT string_agg(format(', %I AS (INSERT INTO %I.%I (%s) SELECT %s FROM moved WHERE %I >= %L AND %I < %L)',
                             'into_' || m.part, schema_name, m.part, columns, columns,
                             t.time_column, m.from_day::timestamp AT TIME ZONE 'Asia/Shanghai',
                             t.time_column, m.to_day::timestamp AT TIME ZONE 'Asia/Shanghai'), '' ORDER BY m.from_day),
           min(m.from_day), max(m.to_day), array_agg(m.from_day)
      INTO moves, first_made, after_made, starts
      FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day) m;
    CONTINUE WHEN moves IS NULL;
    -- The default partition stands apart while the partitions are made:
    -- beside it, attaching one would scan all its rows, once a partition
    -- made (an update's backlog, or days the job missed). Its rows of those
    -- days then go to them, and it is attached again: one scan.
    EXECUTE format('ALTER TABLE %1$I.%2$I DETACH PARTITION %1$I.%3$I', schema_name, t.tbl, t.tbl || '_default');
    FOR p IN SELECT * FROM @extschema@._time_partitions_missing(t.tbl, t.first, last_day) LOOP
      EXECUTE format('CREATE TABLE %1$I.%2$I PARTITION OF %1$I.%3$I FOR VALUES FROM (%4$L) TO (%5$L)',
                     schema_name, p.part, t.tbl, p.from_day::timestamp AT TIME ZONE 'Asia/Shanghai',
                     p.to_day::timestamp AT TIME ZONE 'Asia/Shanghai');
      PERFORM @extschema@._index_partition(t.tbl, p.part);
      EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, p.part,
                     format('%s of %s (China Standard Time); dropped by drop_expired_partitions().', t.tbl,
                            CASE t.unit WHEN 'day' THEN p.from_day::text ELSE to_char(p.from_day, 'YYYY-MM') END));
      PERFORM @extschema@._comment_partition(format('%I.%I', schema_name, p.part)::regclass);
      made := made + 1;
    END LOOP;
    -- (the rows of the partitions made, and only theirs: each goes into one.
    -- The span bounds the scan; the days name the partitions)
    EXECUTE format('WITH moved AS (DELETE FROM %1$I.%2$I WHERE %3$I >= $1 AND %3$I < $2
                                      AND pg_catalog.date_trunc(%4$L, %3$I AT TIME ZONE %5$L)::date = ANY ($3)
                                    RETURNING %6$s)%7$s SELECT',
                   schema_name, t.tbl || '_default', t.time_column, t.unit, 'Asia/Shanghai', columns, moves)
      USING first_made::timestamp AT TIME ZONE 'Asia/Shanghai', after_made::timestamp AT TIME ZONE 'Asia/Shanghai', starts;
    EXECUTE format('ALTER TABLE %1$I.%2$I ATTACH PARTITION %1$I.%3$I DEFAULT', schema_name, t.tbl, t.tbl || '_default');
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_partitions(date, date) IS
  'Creates the missing partitions of the tables partitioned by time besides travel (code_event by day, <table>_YYYYMMDD; status_history, checkin and test_result by month, <table>_YYYYMM) for first_day..last_day (default: from the first day each one''s retention keeps, see retention_plan(), to a week ahead), moving into each the rows that waited in the table''s default partition; returns how many it made.';
REVOKE ALL ON FUNCTION @extschema@.create_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_partitions(date, date) TO healthcode_admin;

CREATE FUNCTION @extschema@.drop_expired_partitions() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (dropping a partition locks its table: waited for a second at most, as
-- in create_partitions)
SET lock_timeout = '1s'
AS $$
DECLARE
  t record;
  part record;
BEGIN
  -- (the first day kept: once a table, not once a partition)
  FOR t IN SELECT x.tbl, @extschema@._first_day_kept(x.tbl) AS first FROM @extschema@._partitioned_by_time() x LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM @extschema@._time_partitions_of(t.tbl) p WHERE p.to_day <= t.first);
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', '@extschema@', t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the expired partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    FOR part IN
      SELECT p.part FROM @extschema@._time_partitions_of(t.tbl) p WHERE p.to_day <= t.first ORDER BY p.from_day
    LOOP
      -- (a partition dropped fires none of the table's triggers: its test
      -- results' samples go first)
      IF t.tbl = 'test_result' THEN
        EXECUTE format('DELETE FROM %1$I.test_result_sample k USING %1$I.%2$I p
                         WHERE k.lab = p.lab AND k.sample_id = p.sample_id', '@extschema@', part.part);
      END IF;
      EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.part);
      RETURN NEXT part.part;
    END LOOP;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_partitions() IS
  'Drops the partitions of the tables partitioned by time besides travel (code_event, status_history, checkin, test_result) that lie wholly before what their retention rule keeps (retention_plan()), and returns their names; retention deletes the older rows of the partition it cuts into, and of the default partition, row by row.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_partitions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_partitions() TO healthcode_admin;
