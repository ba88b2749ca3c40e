-- ---------------------------------------------------------------------------
-- What a DBA watches (issue 17), in one view of numbers: work waiting
-- (audits, findings, corrections, the status work list), the day
-- partitions ahead and behind retention, the exchange's refused rows and
-- each subscription's lag, statuses whose timeline ran out, the code
-- events waiting in shared memory, the daily jobs. Counts only, no
-- person: readable by the admins and by PostgreSQL's pg_monitor role, as
-- whom Prometheus' postgres_exporter connects
-- (tools/prometheus/healthcode.yaml; doc/operations.md).
-- ---------------------------------------------------------------------------

CREATE FUNCTION @extschema@._monitoring()
RETURNS TABLE (metric text, label text, value double precision, description text)
LANGUAGE plpgsql STABLE
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  today date := (statement_timestamp() AT TIME ZONE 'Asia/Shanghai')::date;
  failed bigint;
BEGIN
  RETURN QUERY
  SELECT x.metric, ''::text, x.value::double precision, x.description FROM (VALUES
    ('declarations_pending_audit', (SELECT count(*) FROM @extschema@.declaration d WHERE d.audited_at IS NULL)::numeric,
     'Declarations the audit has not cross-checked yet.'),
    ('findings_open', (SELECT count(*) FROM @extschema@.audit_finding f WHERE f.status = 'open'),
     'Audit findings waiting for an operator''s review.'),
    ('corrections_pending', (SELECT count(*) FROM @extschema@.correction c WHERE c.decided_at IS NULL),
     'Correction requests waiting for a decision.'),
    ('recalc_changes_pending', (SELECT count(*) FROM @extschema@.recalc_work),
     'Changes on the status work list (recalc_progress).'),
    ('recalc_people_left', (SELECT coalesce(sum(p.people_left), 0) FROM @extschema@._recalc_progress() p),
     'People the work list has yet to recalculate.'),
    ('recalc_oldest_change_seconds',
     (SELECT coalesce(extract(epoch FROM statement_timestamp() - min(w.created_at)), 0) FROM @extschema@.recalc_work w),
     'Age of the oldest change on the work list.'),
    ('recalc_workers', @extschema@._recalc_workers_running(), 'Work list workers running in this database.'),
    ('travel_partition_days_ahead',
     (SELECT coalesce(max(to_date(substr(c.relname, 8), 'YYYYMMDD')) - today, -1)
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = '@extschema@.travel'::regclass),
     'Days ahead of today (China Standard Time) with their travel partition made (the daily job makes a week).'),
    ('travel_partitions_past_retention',
     (SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = '@extschema@.travel'::regclass
         AND to_date(substr(c.relname, 8), 'YYYYMMDD') < @extschema@._travel_first_day()),
     'Travel partitions of days retention should have dropped (apply_retention).'),
    ('statuses_timeline_ended',
     (SELECT count(*) FROM @extschema@.person_status s
       WHERE CASE WHEN jsonb_array_length(s.next) = 0 THEN s.valid_until
                  ELSE (s.next -> -1 ->> 'until')::timestamptz END < statement_timestamp()),
     'Statuses whose timeline ends before now without a recalculation having written a new one (should be 0).'),
    ('exchange_rejects_last_day',
     (SELECT count(*) FROM @extschema@.exchange_reject r WHERE r.received_at > statement_timestamp() - interval '1 day'),
     'Rows from other nodes or peers refused in the last 24 hours (exchange_reject).'),
    ('code_events_waiting', (SELECT count(*) FROM @extschema@._buffered_code_events()),
     'Code events counted in shared memory and not written to code_event yet.'),
    ('rollup_days_behind',
     (SELECT coalesce(today - 1 - max(r.day), -1) FROM @extschema@.daily_rollup r),
     'Days since yesterday without a rollup (0: yesterday rolled up; -1: never).')
  ) AS x(metric, value, description);
  -- each subscription of the national exchange: how long since its publisher's last report
  RETURN QUERY
  SELECT 'replication_lag_seconds', s.subname::text,
         coalesce(extract(epoch FROM statement_timestamp() - max(s.latest_end_time)), -1)::double precision,
         'Seconds since the subscription last heard from its publisher (-1: never).'
    FROM pg_stat_subscription s JOIN @extschema@.peer p ON p.subscription = s.subname
   GROUP BY s.subname;
  -- the other tables partitioned by time (80_retention_partitions.sql),
  -- each its row (a table's partitions and its first day kept read once,
  -- for both)
  RETURN QUERY
  SELECT m.metric, g.tbl, m.value::double precision, m.description
    FROM (SELECT t.tbl, coalesce(max(p.to_day) - 1 - today, -1) AS ahead,
                 count(p.part) FILTER (WHERE p.to_day <= t.first) AS past
            FROM (SELECT x.tbl, @extschema@._first_day_kept(x.tbl) AS first FROM @extschema@._partitioned_by_time() x) t
            LEFT JOIN LATERAL @extschema@._time_partitions_of(t.tbl) p ON true
           GROUP BY t.tbl, t.first) g
   CROSS JOIN LATERAL (VALUES
     ('partition_days_ahead', g.ahead,
      'Days ahead of today (China Standard Time) with their partition of the table (label) made (the daily job makes a week).'),
     ('partitions_past_retention', g.past,
      'Partitions of the table (label) wholly of days retention should have dropped (apply_retention).')) AS m(metric, value, description);
  -- the daily jobs' failures on pg_cron, where it runs in this database
  IF to_regnamespace('cron') IS NOT NULL THEN
    EXECUTE $q$SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid)
                WHERE j.jobname LIKE 'healthcode%' AND d.status = 'failed'
                  AND d.start_time > statement_timestamp() - interval '1 day'$q$ INTO failed;
    RETURN QUERY SELECT 'jobs_failed_last_day', '', failed::double precision,
                        'Daily jobs (schedule_jobs) pg_cron ran and saw fail in the last 24 hours.';
  END IF;
END $$;
COMMENT ON FUNCTION @extschema@._monitoring() IS 'Internal: the rows of monitoring.';
REVOKE ALL ON FUNCTION @extschema@._monitoring() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@._monitoring() TO healthcode_admin, pg_monitor;
CREATE VIEW @extschema@.monitoring AS
SELECT f.metric, f.label, f.value, f.description FROM @extschema@._monitoring() f;
COMMENT ON VIEW @extschema@.monitoring IS
  'What a DBA watches, as numbers: audits, findings and corrections waiting; the status work list; travel''s and the other tables'' partitions ahead and behind retention (label: the table); statuses whose timeline ran out; refused exchange rows and each subscription''s lag (label: the subscription); code events waiting in shared memory; rollup and daily jobs. Counts only: the admins and pg_monitor (postgres_exporter, tools/prometheus/healthcode.yaml) read it.';
COMMENT ON COLUMN @extschema@.monitoring.metric IS 'What is measured.';
COMMENT ON COLUMN @extschema@.monitoring.label IS 'The subscription, for replication_lag_seconds; the table, for partition_days_ahead and partitions_past_retention; else empty.';
COMMENT ON COLUMN @extschema@.monitoring.value IS 'Its value now.';
COMMENT ON COLUMN @extschema@.monitoring.description IS 'What it means.';
REVOKE ALL ON @extschema@.monitoring FROM PUBLIC;
GRANT SELECT ON @extschema@.monitoring TO healthcode_admin, pg_monitor;
