#!/usr/bin/env bash
# bench/partitions.sh — what cutting test_result and checkin into month
# partitions costs the status engine, which reads a person's every test and
# check-in (issue 17, point 6; doc/operations.md): the same reads of the
# same rows, first with every row in its table's default partition (one
# partition: as one table), then after create_partitions() has moved them
# into their months (five or so, and the default), in the same run:
#   1. a batch of BENCH_BATCH people (20,000) computed fresh from their
#      evidence at once (_fresh_status), as a recalculation reads them;
#   2. BENCH_SINGLE people (2,000) computed one by one, as a trigger on a
#      one-row import does (each read planned anew).
# Both give the same timelines (their digest is compared). And, to choose
# the span of a partition:
#   3. the bare index lookup of the batch's test results (a join on
#      person_id) in copies of test_result's rows: one table, cut by month,
#      cut by day (the same rows and count in each).
# There is no goal in the issue; the ratios are what doc/operations.md
# reports.
#
#   PG_CONFIG=... bench/partitions.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEOPLE=200000 BENCH_BATCH=20000 BENCH_SINGLE=2000 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-200000}
export BENCH_BATCH=${BENCH_BATCH:-20000}
export BENCH_SINGLE=${BENCH_SINGLE:-2000}
export BENCH_REPS=${BENCH_REPS:-3}

# the two reads, each printing its milliseconds; and the timelines' digest
batch_q="SELECT count(*) FROM healthcode._fresh_status(ARRAY(SELECT id FROM bench.batch), now() - interval '90 days')"
single_q="DO \$\$ DECLARE i bigint; BEGIN
            FOR i IN SELECT id FROM bench.batch ORDER BY id LIMIT $BENCH_SINGLE LOOP
              PERFORM healthcode._fresh_status(ARRAY[i], now() - interval '90 days');
            END LOOP; END \$\$"
digest_q="SELECT md5(string_agg(f.person_id || ' ' || f.timeline::text, E'\n' ORDER BY f.person_id))
            FROM healthcode._fresh_status(ARRAY(SELECT id FROM bench.batch), date_trunc('hour', now()) - interval '90 days') f"

measure() {   # prints "best_batch best_single"
	local rep b s best_b="" best_s=""
	for rep in $(seq 1 "$BENCH_REPS"); do
		b=$(time_ms -c "$batch_q")
		s=$(time_ms -c "$single_q")
		log "   rep $rep: a batch of $BENCH_BATCH $b ms, $BENCH_SINGLE one by one $s ms" >&2
		best_b=$(min "$best_b" "$b")
		best_s=$(min "$best_s" "$s")
	done
	echo "$best_b $best_s"
}

inside() {
	local one months digest_one digest_months parts
	log "== setup: $BENCH_PEOPLE people, their tests and check-ins (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql -X -q -At -v ON_ERROR_STOP=1 -v people="$BENCH_PEOPLE" -v batch="$BENCH_BATCH" -f "$here/partitions.sql" >/dev/null
	log "   $(psql_q -c "SELECT count(*) FROM healthcode.test_result") test results, $(psql_q -c "SELECT count(*) FROM healthcode.checkin") check-ins, all in the default partitions"
	log "== in one partition (best of $BENCH_REPS, each in a fresh session)"
	one=$(measure)
	digest_one=$(psql_q -c "$digest_q")
	psql_q -c "SELECT healthcode.create_partitions()" -c "VACUUM ANALYZE" >/dev/null
	parts=$(psql_q -c "SELECT string_agg(t || ' ' || (SELECT count(*) FROM pg_inherits i WHERE i.inhparent = ('healthcode.' || t)::regclass), ', ')
	                     FROM unnest(ARRAY['test_result', 'checkin']) t")
	log "== in month partitions ($parts partitions, the default one included; best of $BENCH_REPS)"
	log "   rows left in the default partitions: $(psql_q -c "SELECT (SELECT count(*) FROM ONLY healthcode.test_result_default) + (SELECT count(*) FROM ONLY healthcode.checkin_default)")"
	months=$(measure)
	digest_months=$(psql_q -c "$digest_q")

	log "== 3. copies of test_result's rows: one table, by month, by day"
	psql_q <<-'SQL' >/dev/null
		CREATE TABLE bench.tr_one AS SELECT id, person_id, sampled_at FROM healthcode.test_result;
		CREATE TABLE bench.tr_month (LIKE bench.tr_one) PARTITION BY RANGE (sampled_at);
		CREATE TABLE bench.tr_day (LIKE bench.tr_one) PARTITION BY RANGE (sampled_at);
		SELECT format('CREATE TABLE bench.%I PARTITION OF bench.tr_%s FOR VALUES FROM (%L) TO (%L)',
		              'tr_' || u || '_' || to_char(g, 'YYYYMMDD'), u, g, g + ('1 ' || u)::interval)
		  FROM unnest(ARRAY['month', 'day']) u,
		       LATERAL generate_series(date_trunc(u, (SELECT min(sampled_at) FROM bench.tr_one)),
		                               (SELECT max(sampled_at) FROM bench.tr_one), ('1 ' || u)::interval) g \gexec
		INSERT INTO bench.tr_month SELECT * FROM bench.tr_one;
		INSERT INTO bench.tr_day SELECT * FROM bench.tr_one;
		CREATE INDEX ON bench.tr_one (person_id, sampled_at);
		CREATE INDEX ON bench.tr_month (person_id, sampled_at);
		CREATE INDEX ON bench.tr_day (person_id, sampled_at);
		VACUUM ANALYZE bench.tr_one, bench.tr_month, bench.tr_day;
	SQL
	local kind t n
	declare -A bare bare_n
	for kind in one month day; do
		for rep in $(seq 1 "$BENCH_REPS"); do
			t=$(time_ms -c "SELECT count(*) FROM unnest(ARRAY(SELECT id FROM bench.batch)) q(id) JOIN bench.tr_$kind r ON r.person_id = q.id")
			bare[$kind]=$(min "${bare[$kind]:-}" "$t")
		done
		bare_n[$kind]=$(psql_q -c "SELECT count(*) FROM unnest(ARRAY(SELECT id FROM bench.batch)) q(id) JOIN bench.tr_$kind r ON r.person_id = q.id")
		log "   $kind: best ${bare[$kind]} ms, ${bare_n[$kind]} rows, $(psql_q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'bench.tr_$kind'::regclass") partitions"
	done

	echo
	echo "healthcode partitions benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people; test_result and checkin in one partition, then in months ($parts); best of $BENCH_REPS"
	awk -v one="$one" -v months="$months" -v same="$([[ $digest_one == "$digest_months" ]] && echo 1 || echo 0)" \
		-v batch="$BENCH_BATCH" -v single="$BENCH_SINGLE" -v ob="${bare[one]}" -v mb="${bare[month]}" -v db="${bare[day]}" \
		-v dp="$(psql_q -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'bench.tr_day'::regclass")" \
		-v rows_same="$([[ ${bare_n[one]} == "${bare_n[month]}" && ${bare_n[one]} == "${bare_n[day]}" ]] && echo 1 || echo 0)" 'BEGIN {
		split(one, o, " "); split(months, m, " ")
		printf "%-52s %9s %9s %8s\n", "figure", "months", "one", "ratio"
		printf "%-52s %7.0fms %7.0fms %8.2f\n", "a batch of " batch " people computed fresh", m[1], o[1], m[1] / o[1]
		printf "%-52s %7.0fms %7.0fms %8.2f\n", single " people computed one by one", m[2], o[2], m[2] / o[2]
		printf "%-52s %s\n", "the same timelines", (same ? "yes" : "NO")
		printf "%-52s %7.0fms %7.0fms %8.2f\n", "3. the batch'\''s tests looked up: by month / one", mb, ob, mb / ob
		printf "%-52s %7.0fms %7.0fms %8.2f\n", "   by day (" dp " partitions) / one", db, ob, db / ob
		printf "%-52s %s\n", "   the same rows", (rows_same ? "yes" : "NO")
	}' | tee "$out/partitions_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_own_cluster "$here/partitions.sh" "shared_buffers=512MB"
