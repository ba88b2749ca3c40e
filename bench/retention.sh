#!/usr/bin/env bash
# bench/retention.sh — the daily retention job's two parts, each against a
# baseline measured in the same run on an identical copy of the database:
#   1. the old rows (test results, check-ins, declarations) deleted the
#      job's way (_retention_delete: its rules, batches of 10,000, the
#      evidence triggers, which recalculate nobody for them) against bare
#      DELETEs of exactly the same rows with the triggers disabled;
#   2. the stored statuses (_retention_statuses: find those holding
#      evidence no longer kept, trim it in place) against a bare UPDATE
#      writing the same bytes, computed beforehand.
# Goals: at most 2x each (what the job adds to the bare work it must do).
# Also the whole CALL apply_retention(), a batch a transaction.
#
#   PG_CONFIG=... bench/retention.sh    (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEOPLE=50000 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-50000}
export BENCH_REPS=${BENCH_REPS:-3}
GOAL_ROWS=2.0
GOAL_STATUSES=2.0

# the cuts the job's rules take, for the baselines
CUTS="CREATE TEMP TABLE cut AS SELECT healthcode._evidence_kept_from(now()) AS k, healthcode._evidence_horizon(now()) AS h,
        date_trunc('day', healthcode._evidence_kept_from(now()) AT TIME ZONE 'Asia/Shanghai') AT TIME ZONE 'Asia/Shanghai' AS kd"

# bare DELETEs of the rows the job removes, the tables' triggers disabled
bare_deletes() {
	time_ms -d bench_bare -c "$CUTS" \
		-c "ALTER TABLE healthcode.test_result DISABLE TRIGGER USER" \
		-c "ALTER TABLE healthcode.checkin DISABLE TRIGGER USER" \
		-c "ALTER TABLE healthcode.declaration DISABLE TRIGGER USER" \
		-c '\timing on' \
		-c "DO \$\$ DECLARE c cut; BEGIN SELECT * INTO c FROM cut;
		      DELETE FROM healthcode.declaration d WHERE declared_at < c.k
		         AND NOT EXISTS (SELECT FROM healthcode.audit_finding f WHERE f.declaration_id = d.id);
		      DELETE FROM healthcode.test_result WHERE sampled_at < c.k;
		      DELETE FROM healthcode.checkin WHERE at < c.kd;
		    END \$\$"
}

inside() {
	local best_del="" best_bare_del="" best_st="" best_bare_st="" best_job="" rows=""
	log "== setup: $BENCH_PEOPLE people, 150 days of tests, check-ins and declarations (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -c "CREATE DATABASE bench_src"
	psql_q -d bench_src -v people="$BENCH_PEOPLE" -f "$here/retention.sql" >/dev/null
	rows=$(psql_q -d bench_src -c "$CUTS" -c "
	  SELECT (SELECT count(*) FROM healthcode.test_result, cut WHERE sampled_at < k) || ' of ' ||
	         (SELECT count(*) FROM healthcode.test_result) || ' test results, ' ||
	         (SELECT count(*) FROM healthcode.checkin, cut WHERE at < kd) || ' of ' ||
	         (SELECT count(*) FROM healthcode.checkin) || ' check-ins, ' ||
	         (SELECT count(*) FROM healthcode.declaration, cut WHERE declared_at < k) || ' of ' ||
	         (SELECT count(*) FROM healthcode.declaration) || ' declarations; ' ||
	         (SELECT count(*) FROM healthcode.person_status s, cut WHERE healthcode._inputs_hold_expired(s.inputs, h, k)) ||
	         ' stored statuses to trim, ' ||
	         (SELECT count(*) FROM healthcode.person_status s WHERE s.valid_until <= now()) || ' to recalculate'")
	log "   no longer kept: $rows"
	for rep in $(seq 1 "$BENCH_REPS"); do
		local del bare_del st bare_st job
		psql_q -c "DROP DATABASE IF EXISTS bench_job" -c "DROP DATABASE IF EXISTS bench_bare" -c "DROP DATABASE IF EXISTS bench_whole" \
			-c "CREATE DATABASE bench_job TEMPLATE bench_src" -c "CREATE DATABASE bench_bare TEMPLATE bench_src" \
			-c "CREATE DATABASE bench_whole TEMPLATE bench_src" -c "CHECKPOINT"
		# 1. the rows: the job's deletes (its rules, its triggers: which
		# recalculate nobody) against bare DELETEs of the same rows (which
		# goes first alternates)
		if ((rep % 2 == 0)); then
			bare_del=$(bare_deletes)
		fi
		del=$(time_ms -d bench_job -c "DO \$\$ DECLARE t text; BEGIN
		        FOREACH t IN ARRAY ARRAY['declaration', 'test_result', 'checkin'] LOOP
		          WHILE healthcode._retention_delete(t, 10000) = 10000 LOOP END LOOP;
		        END LOOP; END \$\$")
		if ((rep % 2 == 1)); then
			bare_del=$(bare_deletes)
		fi
		# 2. the stored statuses: the job's step (find, trim in place)
		# against a bare UPDATE writing the same bytes, computed before
		st=$(time_ms -d bench_job -c "DO \$\$ DECLARE a bigint; BEGIN
		        LOOP a := healthcode._retention_statuses(a, 10000); EXIT WHEN a IS NULL; END LOOP; END \$\$")
		bare_st=$(time_ms -d bench_bare -c "$CUTS" \
			-c "CREATE TEMP TABLE trimmed AS SELECT s.person_id, healthcode._inputs_kept(s.inputs, c.h, c.k) AS inputs
			      FROM healthcode.person_status s, cut c WHERE healthcode._inputs_hold_expired(s.inputs, c.h, c.k)" \
			-c "ANALYZE trimmed" -c '\timing on' \
			-c "UPDATE healthcode.person_status s SET inputs = t.inputs FROM trimmed t WHERE s.person_id = t.person_id")
		# the whole job, as the daily call runs it (a batch a transaction)
		job=$(time_ms -d bench_whole -c "CALL healthcode.apply_retention()")
		log "   rep $rep: rows: job $del ms, bare $bare_del ms; statuses: job $st ms, bare $bare_st ms; whole CALL $job ms"
		best_del=$(min "$best_del" "$del")
		best_bare_del=$(min "$best_bare_del" "$bare_del")
		best_st=$(min "$best_st" "$st")
		best_bare_st=$(min "$best_bare_st" "$bare_st")
		best_job=$(min "$best_job" "$job")
	done
	# the same rows gone, nothing else; every colour as before
	psql_q -d bench_whole -c "SELECT count(*) FROM healthcode.check_consistency()" | sed 's/^/   check_consistency() rows after the job (must be 0): /'
	local left_job left_bare counts="SELECT (SELECT count(*) FROM healthcode.test_result) || ' ' || (SELECT count(*) FROM healthcode.checkin) || ' ' || (SELECT count(*) FROM healthcode.declaration)"
	left_job=$(psql_q -d bench_whole -c "$counts")
	left_bare=$(psql_q -d bench_bare -c "$counts")
	log "   test results, check-ins, declarations left: job $left_job, baseline $left_bare (must be equal)"
	psql_q -d bench_whole -c "SELECT count(*) FROM healthcode.person_status WHERE healthcode._inputs_hold_expired(inputs, healthcode._evidence_horizon(now()), healthcode._evidence_kept_from(now()))" |
		sed 's/^/   stored statuses still holding evidence no longer kept (must be 0): /'
	psql_q -d bench_job -c "SELECT count(*) FROM healthcode.status_history WHERE cause LIKE '% delete'" |
		sed 's/^/   history entries the deletes wrote (must be 0): /'

	echo
	echo "healthcode retention benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people; $rows; best of $BENCH_REPS; times from psql \\timing"
	awk -v del="$best_del" -v bdel="$best_bare_del" -v st="$best_st" -v bst="$best_bare_st" -v job="$best_job" \
		-v gd="$GOAL_ROWS" -v gs="$GOAL_STATUSES" 'BEGIN {
		printf "%-56s %10s %10s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		r = del / bdel
		printf "%-56s %8.0fms %8.0fms %8.2f  <= %.1f  %s\n", "old rows: the job'"'"'s deletes / bare DELETEs, same rows", del, bdel, r, gd, (r <= gd ? "met" : "NOT MET")
		r = st / bst
		printf "%-56s %8.0fms %8.0fms %8.2f  <= %.1f  %s\n", "stored statuses: find and trim / bare UPDATE, same bytes", st, bst, r, gs, (r <= gs ? "met" : "NOT MET")
		printf "%-56s %8.0fms\n", "the whole CALL apply_retention() (a batch a commit)", job
	}' | tee "$out/retention_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_own_cluster "$here/retention.sh" "shared_buffers=512MB" "max_wal_size=4GB"
