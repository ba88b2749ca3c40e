-- ---------------------------------------------------------------------------
-- The daily jobs (issue 17): make the day partitions ahead, audit the
-- pending declarations, roll up yesterday for the trends, apply retention,
-- drop the revocations whose codes have all expired. One list of them
-- (_daily_jobs); schedule_jobs() puts them on pg_cron (Debian's
-- postgresql-15-cron) where it is installed in this database, under the
-- calling role (a healthcode_admin login: the jobs run with its rights,
-- not a superuser's), and otherwise returns the lines for the system's
-- cron. doc/operations.md.
-- ---------------------------------------------------------------------------

-- (in the order they run: the partitions before anything writes a stay,
-- the audit's findings and yesterday's rollup before retention deletes)
CREATE FUNCTION @extschema@._daily_jobs() RETURNS TABLE (job text, minute integer, command text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
  SELECT j.job, j.minute, j.command
    FROM (VALUES (1, 'healthcode_partitions', 0, 'SELECT @extschema@.create_travel_partitions() + @extschema@.create_partitions()'),
                 (2, 'healthcode_audit', 10, 'SELECT count(*) FROM @extschema@.audit()'),
                 (3, 'healthcode_rollup', 20, 'SELECT @extschema@.rollup_day()'),
                 (4, 'healthcode_retention', 30, 'CALL @extschema@.apply_retention()'),
                 (5, 'healthcode_revocations', 50, 'SELECT @extschema@.drop_expired_revocations()')) j(n, job, minute, command)
   ORDER BY j.n;
END;
COMMENT ON FUNCTION @extschema@._daily_jobs() IS
  'Internal: the daily jobs, in the order they run: name, minute after the hour, SQL command.';
REVOKE ALL ON FUNCTION @extschema@._daily_jobs() FROM PUBLIC;
-- (schedule_jobs runs as its caller, so that the jobs run with the caller's rights)
GRANT EXECUTE ON FUNCTION @extschema@._daily_jobs() TO healthcode_admin;

CREATE FUNCTION @extschema@.schedule_jobs(at_hour integer DEFAULT 18)
RETURNS TABLE (job text, schedule text, command text, scheduled boolean, cron_line text)
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j record;
  with_cron boolean := to_regnamespace('cron') IS NOT NULL;
BEGIN
  IF at_hour IS NULL OR at_hour NOT BETWEEN 0 AND 23 THEN
    RAISE EXCEPTION 'at_hour must be an hour from 0 to 23, not %', coalesce(at_hour::text, 'NULL')
      USING ERRCODE = '22023';
  END IF;
  FOR j IN SELECT * FROM @extschema@._daily_jobs() d LOOP
    job := j.job;
    schedule := format('%s %s * * *', j.minute, at_hour);
    command := j.command;
    cron_line := format('%s psql -X -q -d %s -c %s', schedule, quote_ident(current_database()),
                        quote_literal(j.command));
    IF with_cron THEN
      -- (by name: a second call changes the job instead of adding one; run by
      -- pg_cron in this database as the calling role)
      EXECUTE 'SELECT cron.schedule($1, $2, $3)' USING j.job, schedule, j.command;
    END IF;
    scheduled := with_cron;
    RETURN NEXT;
  END LOOP;
END $$;
COMMENT ON FUNCTION @extschema@.schedule_jobs(integer) IS
  'Puts the daily jobs (partitions ahead, audit, rollup, retention, expired revocations) on pg_cron when it is installed in this database (cron.database_name), each by name at its minute of the hour at_hour of pg_cron''s clock (UTC unless configured: 18 is 02:00 in China), run as the calling role; calling it again changes them, never adds. Returns each job, its schedule and command, whether it was scheduled, and the line for the system''s crontab where pg_cron is not installed. doc/operations.md.';
REVOKE ALL ON FUNCTION @extschema@.schedule_jobs(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.schedule_jobs(integer) TO healthcode_admin;

CREATE FUNCTION @extschema@.unschedule_jobs() RETURNS integer
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer := 0;
  j record;
BEGIN
  IF to_regnamespace('cron') IS NULL THEN
    RETURN 0;
  END IF;
  FOR j IN EXECUTE 'SELECT x.jobname FROM cron.job x WHERE x.jobname = ANY ($1) AND x.username = current_user'
             USING ARRAY(SELECT d.job FROM @extschema@._daily_jobs() d) LOOP
    EXECUTE 'SELECT cron.unschedule($1::name)' USING j.jobname;
    n := n + 1;
  END LOOP;
  RETURN n;
END $$;
COMMENT ON FUNCTION @extschema@.unschedule_jobs() IS
  'Takes the daily jobs the calling role scheduled (schedule_jobs) off pg_cron; returns how many.';
REVOKE ALL ON FUNCTION @extschema@.unschedule_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.unschedule_jobs() TO healthcode_admin;
