-- ---------------------------------------------------------------------------
-- Travel partitions: one a day (China Standard Time), named travel_YYYYMMDD.
-- A daily job makes the days ahead (create_travel_partitions()); the
-- import functions make the days they need themselves, through a
-- background worker (_create_travel_partitions_apart), and retention
-- (80_retention.sql) drops the days gone.
-- ---------------------------------------------------------------------------

-- Days made by a background worker in a transaction of its own, so that
-- the locks a new partition takes are not held until an import commits
-- (src/hc_partition_worker.c); false when no worker could be used.
CREATE FUNCTION @extschema@._create_travel_partitions_apart(first_day date, last_day date) RETURNS boolean
  AS 'MODULE_PATHNAME', 'healthcode_create_travel_partitions_apart'
  LANGUAGE C VOLATILE;
COMMENT ON FUNCTION @extschema@._create_travel_partitions_apart(date, date) IS
  'Internal: runs create_travel_partitions(first_day, last_day) in a background worker''s own transaction and waits for it; false when none could be used (in a worker, with a lock on travel or person already held, or no free worker slot).';
REVOKE ALL ON FUNCTION @extschema@._create_travel_partitions_apart(date, date) FROM PUBLIC;

-- The days a call to make day partitions may ask for (this file's and
-- 80_retention_days.sql's), or 22023.
CREATE FUNCTION @extschema@._require_day_span(first_day date, last_day date) RETURNS void
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF NOT isfinite(first_day) OR NOT isfinite(last_day) THEN
    RAISE EXCEPTION 'first_day and last_day must be finite days' USING ERRCODE = '22023';
  END IF;
  IF first_day < date '2019-12-01' THEN
    RAISE EXCEPTION 'first_day % lies before the health-code era (2019-12-01)', first_day
      USING ERRCODE = '22023';
  END IF;
  IF last_day - first_day > 3660 THEN
    RAISE EXCEPTION '% days asked for; at most ten years at a time', last_day - first_day + 1
      USING ERRCODE = '22023';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._require_day_span(date, date) IS
  'Internal: 22023 unless first_day..last_day are finite days of the health-code era (from 2019-12-01), at most ten years.';
REVOKE ALL ON FUNCTION @extschema@._require_day_span(date, date) FROM PUBLIC;

CREATE FUNCTION @extschema@.create_travel_partitions(first_day date DEFAULT NULL, last_day date DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
-- (the partition bounds are written as text: in a form that reads back as
-- the same instant whatever the caller's DateStyle and TimeZone)
SET DateStyle = 'ISO, YMD'
SET TimeZone = 'UTC'
AS $$
DECLARE
  d date;
  name text;
  made integer := 0;
  missing integer;
  schema_name text := '@extschema@';
BEGIN
  -- (by default every day kept, whatever the data: 80_retention.sql)
  first_day := coalesce(first_day, @extschema@._travel_first_day());
  last_day := coalesce(last_day, (now() AT TIME ZONE 'Asia/Shanghai')::date + 7);
  PERFORM @extschema@._require_day_span(first_day, last_day);
  -- missing days: first by a worker, in a transaction of its own; what it
  -- could not make (or when it cannot be used) is made below, here
  missing := (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
               WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  IF missing > 0 AND @extschema@._create_travel_partitions_apart(first_day, last_day) THEN
    made := missing - (SELECT count(*) FROM generate_series(first_day, last_day, interval '1 day') g
                        WHERE to_regclass(format('%I.%I', schema_name, 'travel_' || to_char(g, 'YYYYMMDD'))) IS NULL);
  END IF;
  FOR d IN SELECT g::date FROM generate_series(first_day, last_day, interval '1 day') g LOOP
    name := 'travel_' || to_char(d, 'YYYYMMDD');
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    -- Made here (no worker): a new partition locks travel (ACCESS
    -- EXCLUSIVE) and, for its foreign key, person (SHARE ROW EXCLUSIVE)
    -- until the transaction ends. Taken in the other order that deadlocks
    -- with a move, whose cascade writes travel while it holds person. So
    -- person first, then travel: whoever holds either finishes first. The
    -- lock on travel also serialises concurrent creators and, being a
    -- relation lock, makes this session see a partition another one has
    -- just committed (an advisory lock would not: 42P07).
    LOCK TABLE @extschema@.person IN SHARE ROW EXCLUSIVE MODE;
    LOCK TABLE @extschema@.travel IN ACCESS EXCLUSIVE MODE;
    CONTINUE WHEN to_regclass(format('%I.%I', schema_name, name)) IS NOT NULL;
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %I.travel FOR VALUES FROM (%L) TO (%L)',
                   schema_name, name, schema_name,
                   d::timestamp AT TIME ZONE 'Asia/Shanghai', (d + 1)::timestamp AT TIME ZONE 'Asia/Shanghai');
    EXECUTE format('ALTER TABLE %I.%I ADD CONSTRAINT %I UNIQUE (person_id, region, at, place, source)',
                   schema_name, name, name || '_natural_key');
    -- who stayed in an area, and when: read from the index alone (with the
    -- person, the record and the venue, all a risk-area change lists and
    -- asks of a stay: _work_stays_sql), as such a change asks it of many
    -- people. A district's stays lie one to a heap block among everyone
    -- else's: read from the heap, listing 10,000 people's took 0.3 s of
    -- block reads at 1,000,000 people, from this index 25 ms
    EXECUTE format('CREATE INDEX %I ON %I.%I (place, at) INCLUDE (person_id, id, venue)',
                   name || '_place_at', schema_name, name);
    EXECUTE format('CREATE INDEX %I ON %I.%I (id)', name || '_id', schema_name, name);
    -- who scanned a venue around a time (exposure tracing, 84_exposures.sql:
    -- a venue is its id at its place), from the index alone
    EXECUTE format('CREATE INDEX %I ON %I.%I (venue, place, at) INCLUDE (person_id, region) WHERE source = %L',
                   name || '_venue_at', schema_name, name, 'venue_scan');
    -- once a person, venue and minute (scan_venue, import_scans): a rule the
    -- table keeps, so that a scan needs no look before it writes (ON
    -- CONFLICT DO NOTHING); a stay naming no venue is never a duplicate
    EXECUTE format('CREATE UNIQUE INDEX %I ON %I.%I (person_id, venue, place, date_trunc(%L, at AT TIME ZONE %L)) WHERE source = %L',
                   name || '_scan_minute', schema_name, name, 'minute', 'UTC', 'venue_scan');
    -- statement triggers fire for the table a statement names: a write
    -- straight into a partition must recalculate as one through travel does
    EXECUTE format('CREATE TRIGGER travel_inserted AFTER INSERT ON %I.%I REFERENCING NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_updated AFTER UPDATE ON %I.%I
                    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_deleted AFTER DELETE ON %I.%I REFERENCING OLD TABLE AS old_rows
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('CREATE TRIGGER travel_truncated AFTER TRUNCATE ON %I.%I
                    FOR EACH STATEMENT EXECUTE FUNCTION %I._travel_changed()', schema_name, name, schema_name);
    EXECUTE format('COMMENT ON TABLE %I.%I IS %L', schema_name, name,
                   format('Travel records of %s (China Standard Time); dropped by drop_expired_travel_partitions().', d));
    made := made + 1;
  END LOOP;
  RETURN made;
END $$;
COMMENT ON FUNCTION @extschema@.create_travel_partitions(date, date) IS
  'Creates the missing day partitions travel_YYYYMMDD for the days first_day..last_day (default: from the first day kept, see retention_plan(), to a week ahead: every day, whatever the data, so that which partitions exist tells nothing); returns how many it made.';
REVOKE ALL ON FUNCTION @extschema@.create_travel_partitions(date, date) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.create_travel_partitions(date, date) TO healthcode_admin;
