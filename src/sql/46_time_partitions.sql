-- ---------------------------------------------------------------------------
-- The tables partitioned by time besides travel (code_event by day;
-- status_history, checkin and test_result by month), and what each of
-- their partitions has: declared here, before the tables, which make their
-- default partitions with them. Making and dropping the partitions, and why
-- months: 80_retention_partitions.sql.
-- ---------------------------------------------------------------------------

-- The tables partitioned so: the column they are cut by, the span of a
-- partition, and how a partition's name (<table>_<first day>) writes its
-- first day.
CREATE FUNCTION @extschema@._partitioned_by_time()
RETURNS TABLE (tbl text, time_column text, unit text, name_format text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.tbl, v.time_column, v.unit, CASE v.unit WHEN 'day' THEN 'YYYYMMDD' ELSE 'YYYYMM' END
    FROM (VALUES ('code_event', 'at', 'day'),
                 ('status_history', 'at', 'month'),
                 ('checkin', 'at', 'month'),
                 ('test_result', 'sampled_at', 'month')) AS v(tbl, time_column, unit);
END;
COMMENT ON FUNCTION @extschema@._partitioned_by_time() IS
  'Internal: the tables partitioned by time besides travel (create_partitions): the time column, the span of a partition (day or month), and the to_char format its name writes its first day in.';
REVOKE ALL ON FUNCTION @extschema@._partitioned_by_time() FROM PUBLIC;

-- Their indexes, each partition's own (<partition>_<suffix>): an index of
-- the partitioned table itself would be made twice in a restore, once as
-- pg_dump attaches a partition made by create_partitions and once as it
-- writes that partition's index. A unique key is unique in its partition
-- only, as a partitioned table's may not leave its partition column out:
-- a check-in a day is (its day lies in its month's partition, so this is
-- the key overall). A lab's sample would be unique only in its month: its
-- key, and where to find it, are test_result_sample's (51_evidence.sql). (A
-- key of each month would also answer, in its error, whether another
-- region's sample lies in that month.)
-- Times, which rows arrive in about the order of, are BRIN ranges: a
-- recalculation writes one instant (its change's) for everyone it changes,
-- and a btree of that many equal keys cost more to fill than the history
-- rows themselves. status_history has no index on its id: nothing looks
-- an entry up by it, its ids are distinct by construction (_next_id: a
-- secret permutation of its sequence; across a change of the id key, as
-- unlikely to meet as two random 63-bit numbers), and a unique index of
-- keys that random cost a recalculation 2 us an entry, twice the row's own
-- insert.
CREATE FUNCTION @extschema@._partition_indexes()
RETURNS TABLE (tbl text, suffix text, is_unique boolean, definition text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT v.tbl, v.suffix, v.is_unique, v.definition
    FROM (VALUES ('code_event', 'at', false, 'USING brin (at)'),
                 ('status_history', 'person', false, '(person_id, at)'),
                 ('status_history', 'at', false, 'USING brin (at)'),
                 ('checkin', 'id', true, '(id)'),
                 ('checkin', 'natural_key', true, '(person_id, region, day)'),
                 ('checkin', 'at', false, 'USING brin (at)'),
                 ('test_result', 'id', true, '(id)'),
                 ('test_result', 'person', false, '(person_id, sampled_at)'),
                 ('test_result', 'sampled_at', false, 'USING brin (sampled_at)')) AS v(tbl, suffix, is_unique, definition);
END;
COMMENT ON FUNCTION @extschema@._partition_indexes() IS
  'Internal: the indexes every partition of a table partitioned by time has (_index_partition): name suffix, unique or not, and definition.';
REVOKE ALL ON FUNCTION @extschema@._partition_indexes() FROM PUBLIC;

-- Gives a partition the indexes of its table's partitions.
CREATE FUNCTION @extschema@._index_partition(tbl text, part text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  i record;
BEGIN
  FOR i IN SELECT * FROM @extschema@._partition_indexes() x WHERE x.tbl = _index_partition.tbl LOOP
    EXECUTE format('CREATE %s INDEX %I ON %I.%I %s', CASE WHEN i.is_unique THEN 'UNIQUE' ELSE '' END,
                   part || '_' || i.suffix, '@extschema@', part, i.definition);
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@._index_partition(text, text) IS
  'Internal: makes a partition of a table partitioned by time the indexes its partitions have (_partition_indexes).';
REVOKE ALL ON FUNCTION @extschema@._index_partition(text, text) FROM PUBLIC;

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
