#!/usr/bin/env bash
# The daily jobs on pg_cron (Debian's postgresql-15-cron), on a cluster of
# its own with pg_cron preloaded for the healthcode database:
#   - without the pg_cron extension, schedule_jobs() schedules nothing and
#     gives the system crontab's lines instead;
#   - with it, one call puts the five jobs on pg_cron, under the calling
#     healthcode_admin login (never a superuser), in this database; a second
#     call changes them (another hour) and adds none;
#   - each job's command runs as that login;
#   - pg_cron itself runs one (the rollup, scheduled for the next minute)
#     and records its success;
#   - unschedule_jobs() takes them off;
#   - tools/report.sh draws an analyst's charts of what the rollup wrote.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH, and pg_cron installed for it.
set -u
. "$(dirname "$0")/tap.bash"

own_cluster_dir jobs
trap drop_own_cluster EXIT
own_cluster <<CONF
shared_preload_libraries = 'healthcode,pg_cron'
cron.database_name = 'hc'
cron.host = '$work'
CONF
on() { local who=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$who" -d hc "$@"; }
psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres -c 'CREATE DATABASE hc' >/dev/null
on "$superuser" -c 'CREATE EXTENSION healthcode' -c 'CREATE ROLE dba LOGIN IN ROLE healthcode_admin' >/dev/null

# ---- without pg_cron -----------------------------------------------------------------------
lines=$(on dba -c 'SELECT cron_line FROM healthcode.schedule_jobs() ORDER BY schedule')
is "$(on dba -c 'SELECT count(*) FROM healthcode.schedule_jobs() WHERE NOT scheduled')" "5" \
	"without pg_cron: five jobs, none scheduled"
like "$lines" "0 18 \* \* \* psql -X -q -d hc -c 'SELECT healthcode.create_travel_partitions\(\) \+ healthcode.create_partitions\(\)'" \
	"and the system crontab's line for each (partitions ahead at 18:00 UTC, 02:00 in China)"
like "$lines" "30 18 \* \* \* psql -X -q -d hc -c 'CALL healthcode.apply_retention\(\)'" "retention at 18:30"

# ---- with pg_cron ----------------------------------------------------------------------------
on "$superuser" -c 'CREATE EXTENSION pg_cron' -c 'GRANT USAGE ON SCHEMA cron TO dba' >/dev/null
is "$(on dba -c 'SELECT count(*) FROM healthcode.schedule_jobs() WHERE scheduled')" "5" "one call schedules the five jobs"
is "$(on "$superuser" -c "SELECT string_agg(jobname || ' ' || schedule || ' ' || username || ' ' || database, ', ' ORDER BY jobname) FROM cron.job")" \
	"healthcode_audit 10 18 * * * dba hc, healthcode_partitions 0 18 * * * dba hc, healthcode_retention 30 18 * * * dba hc, healthcode_revocations 50 18 * * * dba hc, healthcode_rollup 20 18 * * * dba hc" \
	"listed in cron.job by name, as the admin login that scheduled them, in this database"
on dba -c 'SELECT count(*) FROM healthcode.schedule_jobs(17)' >/dev/null
is "$(on "$superuser" -c "SELECT count(*) || ' ' || string_agg(DISTINCT split_part(schedule, ' ', 2), ',') FROM cron.job")" "5 17" \
	"a second call moves them to another hour and adds none"
is "$(on "$superuser" -c "SELECT count(*) FROM cron.job WHERE username IN (SELECT rolname FROM pg_roles WHERE rolsuper)")" "0" \
	"no job runs as a superuser"
is "$(on "$superuser" -v ON_ERROR_STOP=0 -c 'SET ROLE healthcode_operator' -c 'SELECT healthcode.schedule_jobs()' 2>&1 | grep -c 'permission denied')" "1" \
	"an operator may not schedule them"

# ---- the commands run, as the login -----------------------------------------------------------------
on "$superuser" -c "SELECT count(*) FROM healthcode.generate_population(200, 5, 2, 0.05)" >/dev/null
failed=0
while IFS= read -r cmd; do
	on dba -c "$cmd" >/dev/null 2>"$work/err" || { failed=$((failed + 1)); sed 's/^/# /' "$work/err" >&2; }
done < <(on "$superuser" -c 'SELECT command FROM healthcode._daily_jobs()')
is "$failed" "0" "each job's command runs as the admin login"

# ---- pg_cron runs one ---------------------------------------------------------------------------------
on dba -c "SELECT cron.schedule('healthcode_rollup_now', '* * * * *', 'SELECT healthcode.rollup_day((now() AT TIME ZONE ''Asia/Shanghai'')::date)')" >/dev/null
on "$superuser" -c 'TRUNCATE healthcode.daily_rollup' >/dev/null
ran=no
for i in $(seq 1 150); do
	if [ "$(on "$superuser" -c "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = 'healthcode_rollup_now' AND d.status = 'succeeded'")" != 0 ]; then
		ran=yes
		break
	fi
	sleep 0.5
done
is "$ran" "yes" "pg_cron runs a job (the rollup, at the next minute) and records its success"
is "$(on "$superuser" -c "SELECT count(*) > 0 FROM healthcode.daily_rollup WHERE measure = 'status'")" "t" "which wrote the day's counts"
on "$superuser" -c "SELECT status || ': ' || coalesce(return_message, '') FROM cron.job_run_details ORDER BY runid DESC LIMIT 3" | sed 's/^/# cron: /' >&2
on dba -c "SELECT cron.unschedule('healthcode_rollup_now')" >/dev/null

is "$(on dba -c 'SELECT healthcode.unschedule_jobs()') $(on "$superuser" -c 'SELECT count(*) FROM cron.job')" "5 0" \
	"unschedule_jobs() takes the five off"

# ---- the charts of what the rollup wrote (tools/report.sh, gnuplot), as an analyst ------------------------
on "$superuser" -c 'CREATE ROLE analyst LOGIN IN ROLE healthcode_analyst' -c "SELECT healthcode.grant_region('analyst', '330000')" >/dev/null
"$(dirname "$0")/../../tools/report.sh" -o "$work/report" -r 330000 -- -h 127.0.0.1 -p "$port" -U analyst -d hc >/dev/null 2>"$work/err"
is "$?" "0" "tools/report.sh draws the analyst's charts" || sed 's/^/# /' "$work/err" >&2
is "$(cd "$work/report" && for f in colours_by_day province_colours; do head -c 8 "$f.png" | od -An -tx1 | tr -d ' \n'; grep -c "<svg" "$f.svg"; done)" \
	"$(printf '89504e470d0a1a0a1\n%.0s' 1 2)" "as PNG and SVG images"
is "$(cut -f1 "$work/report/province_colours.tsv" | tail -n +2 | tr '\n' ' ')" "330000 " \
	"of the analyst's own province only"
done_testing
