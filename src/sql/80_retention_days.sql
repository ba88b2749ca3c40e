-- ---------------------------------------------------------------------------
-- Day partitions of the large tables besides travel (whose own are in
-- 64_travel_partitions.sql): code_event. One partition a day (China
-- Standard Time), named <table>_YYYYMMDD, made for every day from the
-- first one retention keeps to a week ahead, whatever the data
-- (create_day_partitions(): the daily job and apply_retention), and
-- dropped whole once retention keeps nothing of it
-- (drop_expired_day_partitions()). Unlike travel, these tables are written
-- from anywhere (a code is counted in whatever transaction issues or
-- checks it), so a row of a day whose partition is not made yet goes to
-- the table's default partition (<table>_default) rather than fail, and
-- moves into the day's partition when it is made.
-- ---------------------------------------------------------------------------

-- The tables partitioned so, and the column they are cut by.
CREATE FUNCTION @extschema@._day_partitioned() RETURNS TABLE (tbl text, time_column text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.tbl, v.time_column FROM (VALUES ('code_event', 'at')) AS v(tbl, time_column);
END;
COMMENT ON FUNCTION @extschema@._day_partitioned() IS
  'Internal: the tables partitioned by day besides travel (create_day_partitions), with their time column.';
REVOKE ALL ON FUNCTION @extschema@._day_partitioned() FROM PUBLIC;

-- A partition's columns say what its table's say (for whoever reads \d+).
CREATE FUNCTION @extschema@._comment_partition(part regclass) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c record;
BEGIN
  FOR c IN SELECT a.attname, pg_catalog.col_description(i.inhparent, a.attnum) AS note
             FROM pg_catalog.pg_inherits i
             JOIN pg_catalog.pg_attribute a ON a.attrelid = i.inhparent AND a.attnum > 0 AND NOT a.attisdropped
            WHERE i.inhrelid = part LOOP
    EXECUTE format('COMMENT ON COLUMN %s.%I IS %L', part, c.attname, c.note);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._comment_partition(regclass) IS
  'Internal: gives a partition''s columns the comments of its table''s.';
REVOKE ALL ON FUNCTION @extschema@._comment_partition(regclass) FROM PUBLIC;
SELECT @extschema@._comment_partition('@extschema@.code_event_default');

-- A table's day partitions and their days (the default partition aside).
CREATE FUNCTION @extschema@._day_partitions_of(tbl text) RETURNS TABLE (part text, day date)
LANGUAGE sql STABLE
BEGIN ATOMIC
  -- (the CASE: no other relation's name is read as a day, in whatever
  -- order the plan takes the conditions)
  SELECT c.relname::text,
         CASE WHEN c.relname OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) _day_partitions_of.tbl OPERATOR(pg_catalog.||) '_[0-9]{8}$')
              THEN pg_catalog.to_date(pg_catalog.right(c.relname, 8), 'YYYYMMDD') END
    FROM pg_catalog.pg_inherits i
    JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) i.inhrelid
   WHERE i.inhparent OPERATOR(pg_catalog.=) pg_catalog.format('%I.%I', '@extschema@', _day_partitions_of.tbl)::regclass
     AND c.relname OPERATOR(pg_catalog.~) ('^' OPERATOR(pg_catalog.||) _day_partitions_of.tbl OPERATOR(pg_catalog.||) '_[0-9]{8}$');
END;
COMMENT ON FUNCTION @extschema@._day_partitions_of(text) IS
  'Internal: the day partitions of a table partitioned by day (name, day), its default partition aside.';
REVOKE ALL ON FUNCTION @extschema@._day_partitions_of(text) FROM PUBLIC;

-- The first day a table's retention keeps (its rule in _retention_rules).
CREATE FUNCTION @extschema@._day_first_kept(tbl text) RETURNS date
LANGUAGE sql STABLE
RETURN (SELECT (r.removes_before AT TIME ZONE 'Asia/Shanghai')::date
          FROM @extschema@._retention_rules(pg_catalog.now()) r WHERE r.tbl OPERATOR(pg_catalog.=) _day_first_kept.tbl);
COMMENT ON FUNCTION @extschema@._day_first_kept(text) IS
  'Internal: the first day (China Standard Time) of which a table''s retention rule keeps rows.';
REVOKE ALL ON FUNCTION @extschema@._day_first_kept(text) FROM PUBLIC;

CREATE FUNCTION @extschema@.create_day_partitions(first_day date DEFAULT NULL, last_day date DEFAULT NULL)
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
  d date;
  days date[];
  name text;
  made integer := 0;
  schema_name text := '@extschema@';
BEGIN
  last_day := coalesce(last_day, (now() AT TIME ZONE 'Asia/Shanghai')::date + 7);
  FOR t IN SELECT x.*, coalesce(first_day, @extschema@._day_first_kept(x.tbl)) AS first
             FROM @extschema@._day_partitioned() x LOOP
    PERFORM @extschema@._require_day_span(t.first, last_day);
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM generate_series(t.first, last_day, interval '1 day') g
                               WHERE to_regclass(format('%I.%I', schema_name, t.tbl || '_' || to_char(g, 'YYYYMMDD'))) IS NULL);
    -- (the lock serialises creators, and makes this session see partitions
    -- another has just committed. Every code issued or checked may write
    -- the table, and would queue behind a lock still waited for: if a long
    -- reader (a pg_dump) holds it a second, the days wait for the next run,
    -- their rows in the default partition meanwhile)
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', schema_name, t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    days := ARRAY(SELECT g::date FROM generate_series(t.first, last_day, interval '1 day') g
                   WHERE to_regclass(format('%I.%I', schema_name, t.tbl || '_' || to_char(g, 'YYYYMMDD'))) IS NULL);
    CONTINUE WHEN cardinality(days) = 0;
    -- The default partition stands apart while the days are made: beside
    -- it, attaching a day would scan all its rows, once a day made (an
    -- update's backlog, or days the job missed). Its rows of those days
    -- then go to them, and it is attached again: one scan.
    EXECUTE format('ALTER TABLE %1$I.%2$I DETACH PARTITION %1$I.%3$I', schema_name, t.tbl, t.tbl || '_default');
    FOREACH d IN ARRAY days LOOP
      name := t.tbl || '_' || to_char(d, 'YYYYMMDD');
      EXECUTE format('CREATE TABLE %1$I.%2$I PARTITION OF %1$I.%3$I FOR VALUES FROM (%4$L) TO (%5$L)',
                     schema_name, name, t.tbl, d::timestamp AT TIME ZONE 'Asia/Shanghai',
                     (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai');
      EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, name,
                     format('%s of %s (China Standard Time); dropped by drop_expired_day_partitions().', t.tbl, d));
      PERFORM @extschema@._comment_partition(format('%I.%I', schema_name, name)::regclass);
      made := made + 1;
    END LOOP;
    EXECUTE format('WITH moved AS (DELETE FROM %1$I.%2$I x
                                    WHERE (x.%3$I AT TIME ZONE %4$L)::date = ANY ($1) RETURNING x.*)
                    INSERT INTO %1$I.%5$I SELECT * FROM moved',
                   schema_name, t.tbl || '_default', t.time_column, 'Asia/Shanghai', t.tbl) USING days;
    EXECUTE format('ALTER TABLE %1$I.%2$I ATTACH PARTITION %1$I.%3$I DEFAULT', schema_name, t.tbl, t.tbl || '_default');
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_day_partitions(date, date) IS
  'Creates the missing day partitions <table>_YYYYMMDD of the tables partitioned by day besides travel (code_event) for first_day..last_day (default: from the first day each one''s retention keeps, see retention_plan(), to a week ahead), moving into each the rows of its day that waited in the table''s default partition; returns how many it made.';
REVOKE ALL ON FUNCTION @extschema@.create_day_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_day_partitions(date, date) TO healthcode_admin;

CREATE FUNCTION @extschema@.drop_expired_day_partitions() RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (dropping a partition locks its table: waited for a second at most, as
-- in create_day_partitions)
SET lock_timeout = '1s'
AS $$
DECLARE
  t record;
  part record;
BEGIN
  -- (the first day kept: once a table, not once a partition)
  FOR t IN SELECT x.tbl, @extschema@._day_first_kept(x.tbl) AS first FROM @extschema@._day_partitioned() x LOOP
    CONTINUE WHEN NOT EXISTS (SELECT 1 FROM @extschema@._day_partitions_of(t.tbl) p WHERE p.day < t.first);
    BEGIN
      EXECUTE format('LOCK TABLE %I.%I IN ACCESS EXCLUSIVE MODE', '@extschema@', t.tbl);
    EXCEPTION WHEN lock_not_available THEN
      RAISE WARNING 'the expired partitions of % wait for the next run: a lock on % did not come in a second', t.tbl, t.tbl;
      CONTINUE;
    END;
    FOR part IN
      SELECT p.part FROM @extschema@._day_partitions_of(t.tbl) p WHERE p.day < t.first ORDER BY p.day
    LOOP
      EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.part);
      RETURN NEXT part.part;
    END LOOP;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_day_partitions() IS
  'Drops the day partitions of the tables partitioned by day besides travel (code_event) that lie wholly before what their retention rule keeps (retention_plan()), and returns their names; retention deletes the older rows of the day it cuts into, and of the default partition, row by row.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_day_partitions() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_day_partitions() TO healthcode_admin;
