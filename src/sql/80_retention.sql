-- ---------------------------------------------------------------------------
-- Retention. Travel (itineraries, transport, venue scans) is the big,
-- time-ordered table: one partition a day (China Standard Time), named
-- travel_YYYYMMDD. Deleting old movement data is the privacy guarantee,
-- and dropping a whole day's partition keeps it cheap. A daily job runs
--   SELECT healthcode.create_travel_partitions();        -- the days ahead
--   SELECT healthcode.drop_expired_travel_partitions();  -- the days gone
-- The import functions create the partitions they need themselves, through a
-- background worker (_create_travel_partitions_apart).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@.travel_retention() RETURNS interval
LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT pg_catalog.now() OPERATOR(pg_catalog.-) @extschema@._evidence_horizon(pg_catalog.now());
END;
COMMENT ON FUNCTION @extschema@.travel_retention() IS
  'How long travel records matter to any colour, and are kept: the longest window the national policy versions in force now or later allow (their lookback_days and regional_lookback_limit_days).';
REVOKE ALL ON FUNCTION @extschema@.travel_retention() FROM PUBLIC;

CREATE FUNCTION @extschema@.drop_expired_travel_partitions(margin interval DEFAULT interval '7 days')
RETURNS SETOF text
LANGUAGE plpgsql VOLATILE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  cutoff date;
  part record;
BEGIN
  IF margin IS NULL OR margin < interval '0' OR margin > interval '10 years' THEN
    RAISE EXCEPTION 'margin must be an interval between 0 and 10 years' USING ERRCODE = '22023';
  END IF;
  -- a day goes once all of it lies before the horizon minus the margin
  cutoff := ((@extschema@._evidence_horizon(now()) - margin) AT TIME ZONE 'Asia/Shanghai')::date;
  FOR part IN
    SELECT c.relname
      FROM pg_inherits i
      JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = '@extschema@.travel'::regclass
       AND c.relname ~ '^travel_[0-9]{8}$'
       AND to_date(substr(c.relname, 8), 'YYYYMMDD') < cutoff
     ORDER BY c.relname
  LOOP
    EXECUTE format('DROP TABLE %I.%I', '@extschema@', part.relname);
    RETURN NEXT part.relname;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) IS
  'Drops the travel day partitions that lie wholly before the longest window any policy needs, minus margin (default 7 days), and returns their names. The stays in them can no longer change any colour.';
REVOKE ALL ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.drop_expired_travel_partitions(interval) TO healthcode_admin;
