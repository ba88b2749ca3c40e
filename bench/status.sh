#!/usr/bin/env bash
# bench/status.sh — the status engine's costs, each against a baseline
# measured in the same run on the same data:
#   1. COPY of BENCH_STAYS travel records for BENCH_PEOPLE people with the
#      status triggers on, against the same COPY with them disabled
#      (goal: at most 2.0x);
#   2. upgrading one area to high risk where a tenth of the people stayed:
#      the UPDATE with its recalculation, against a bare UPDATE of the same
#      status rows (goal: at most 3x);
#   3. reading one person's effective status by id: median and p99 latency
#      from pgbench with a custom script at 2 clients (goal: p99 < 1 ms).
#
#   bench/status.sh        (from any directory)
#
# Environment: BENCH_PEOPLE=100000 BENCH_STAYS_PER_PERSON=10 BENCH_REPS=3
#              BENCH_PGBENCH_SECONDS=15 BENCH_PGPORT (default: a free port)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-100000}
export BENCH_STAYS_PER_PERSON=${BENCH_STAYS_PER_PERSON:-10}
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_PGBENCH_SECONDS=${BENCH_PGBENCH_SECONDS:-15}

GOAL_COPY=2.0
GOAL_UPGRADE=3.0
GOAL_P99_MS=1.0

inside() {
	local copyfile="$out/travel.copy" best_on="" best_off="" best_upgrade="" best_bare=""
	local cols="person_id, region, place, at, source"

	log "== setup: $BENCH_PEOPLE people, $BENCH_STAYS_PER_PERSON stays each (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -v people="$BENCH_PEOPLE" -v stays_per_person="$BENCH_STAYS_PER_PERSON" -f "$here/status.sql" >/dev/null
	psql_q -c "\\copy (SELECT $cols FROM bench.travel_src ORDER BY at) TO '$copyfile'"
	chmod 644 "$copyfile"
	log "   $(wc -l <"$copyfile") travel records in $(du -h "$copyfile" | cut -f1) to COPY;" \
		"$(psql_q -c 'SELECT count(*) FROM bench.upgrade_people') people stayed in the area to upgrade"

	log "== 1. COPY into healthcode.travel: triggers off vs on (best of $BENCH_REPS)"
	for rep in $(seq 1 "$BENCH_REPS"); do
		local off on
		psql_q -c "SELECT bench.reset()" -c "CHECKPOINT" >/dev/null
		off=$(psql -X -q -v ON_ERROR_STOP=1 -c "ALTER TABLE healthcode.travel DISABLE TRIGGER USER" \
			-c '\timing on' -c "COPY healthcode.travel ($cols) FROM '$copyfile'" -c '\timing off' \
			-c "ALTER TABLE healthcode.travel ENABLE TRIGGER USER" 2>/dev/null |
			sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1)
		psql_q -c "SELECT bench.reset()" -c "CHECKPOINT" >/dev/null
		on=$(time_ms -c "COPY healthcode.travel ($cols) FROM '$copyfile'")
		log "   rep $rep: triggers off $off ms, on $on ms"
		best_off=$(min "$best_off" "$off")
		best_on=$(min "$best_on" "$on")
	done
	psql_q -c "SELECT count(*) AS recalculated FROM healthcode.status_history WHERE cause = 'travel insert'" |
		sed 's/^/   people whose colour the last COPY changed: /'
	psql_q -c "SELECT count(*) FROM healthcode.check_consistency()" | sed 's/^/   check_consistency() rows after it (must be 0): /'

	log "== 2. upgrading 330108 to high risk vs a bare UPDATE of the same status rows (best of $BENCH_REPS)"
	# An area is upgraded on itineraries imported earlier, which autovacuum
	# has processed by then (its insert threshold): vacuum the COPY's rows
	# now rather than time the upgrade on pages nobody has vacuumed yet.
	psql_q -c "VACUUM (ANALYZE) healthcode.travel" \
		-c "CREATE TABLE bench.affected_status AS SELECT s.* FROM healthcode.person_status s
	             JOIN bench.upgrade_people u USING (person_id)" -c "ANALYZE bench.affected_status" >/dev/null
	# (this figure is the recalculation in the designating statement, as
	# before the work list: a change of this size would go on the work list
	# for the workers, whose rate bench/scale.sh measures; inline here, so no
	# worker runs beside the bare UPDATE)
	local inline="-c healthcode.recalc_inline_limit=100000000"
	for rep in $(seq 1 "$BENCH_REPS"); do
		local up bare
		psql_q -c "CHECKPOINT" >/dev/null
		up=$(PGOPTIONS="$inline" time_ms -c "UPDATE healthcode.risk_area SET level = 'high' WHERE division = '330108'")
		PGOPTIONS="$inline" psql_q -c "UPDATE healthcode.risk_area SET level = 'low' WHERE division = '330108'" -c "CHECKPOINT" >/dev/null
		bare=$(time_ms -c "UPDATE healthcode.person_status s
		                      SET colour = 'red', reasons = '[{\"rule\": \"stay_high_risk\"}]', since = now(),
		                          valid_until = now() + interval '14 days', next = '[{\"colour\": \"green\"}]',
		                          computed_at = now()
		                     FROM bench.affected_status a WHERE s.person_id = a.person_id")
		psql_q -c "UPDATE healthcode.person_status s SET colour = a.colour, reasons = a.reasons, since = a.since,
		             valid_until = a.valid_until, next = a.next, computed_at = a.computed_at
		             FROM bench.affected_status a WHERE s.person_id = a.person_id" >/dev/null
		log "   rep $rep: upgrade with recalculation $up ms, bare UPDATE of $(psql_q -c 'SELECT count(*) FROM bench.affected_status') status rows $bare ms"
		best_upgrade=$(min "$best_upgrade" "$up")
		best_bare=$(min "$best_bare" "$bare")
	done
	PGOPTIONS="$inline" psql_q -c "UPDATE healthcode.risk_area SET level = 'high' WHERE division = '330108'" >/dev/null
	psql_q -c "SELECT count(*) FROM healthcode.current_status s JOIN bench.upgrade_people u USING (person_id) WHERE s.colour = 'red'" |
		sed 's/^/   people red after the upgrade: /'
	psql_q -c "SELECT count(*) FROM healthcode.check_consistency()" | sed 's/^/   check_consistency() rows after it (must be 0): /'

	log "== 3. pgbench: SELECT * FROM healthcode.status(:id), 2 clients, ${BENCH_PGBENCH_SECONDS} s"
	local script="$out/status_read.pgbench" lat="$out/pgbench_log"
	printf '\\set id random(1, %d)\nSELECT * FROM healthcode.status(:id);\n' "$BENCH_PEOPLE" >"$script"
	rm -rf "$lat" && mkdir -p "$lat" && chmod 777 "$lat"
	(cd "$lat" && pgbench -n -c 2 -j 2 -T "$BENCH_PGBENCH_SECONDS" -f "$script" -l --log-prefix=lat >"$out/pgbench.txt" 2>&1)
	grep -E '^(tps|latency average|number of transactions actually processed)' "$out/pgbench.txt" | sed 's/^/   /'
	local p50 p99 n
	read -r n p50 p99 < <(cat "$lat"/lat* | awk '{ print $3 }' | sort -n |
		awk '{ v[NR] = $1 } END { printf "%d %.3f %.3f\n", NR, v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000 }')

	echo
	echo "healthcode status benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people, $(wc -l <"$copyfile") travel records; best of $BENCH_REPS; times from psql \\timing"
	awk -v on="$best_on" -v off="$best_off" -v up="$best_upgrade" -v bare="$best_bare" \
		-v p50="$p50" -v p99="$p99" -v n="$n" \
		-v gc="$GOAL_COPY" -v gu="$GOAL_UPGRADE" -v gp="$GOAL_P99_MS" 'BEGIN {
		printf "%-52s %10s %10s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		r = on / off
		printf "%-52s %8.0fms %8.0fms %8.2f  <= %.1f  %s\n", "COPY travel, triggers on / off", on, off, r, gc, (r <= gc ? "met" : "NOT MET")
		r = up / bare
		printf "%-52s %8.0fms %8.0fms %8.2f  <= %.1f  %s\n", "area upgrade recalculation / bare UPDATE", up, bare, r, gu, (r <= gu ? "met" : "NOT MET")
		printf "%-52s %8.3fms p50 %6.3fms p99 (%d reads)  p99 < %.1f ms  %s\n", "status(id) read latency, pgbench 2 clients", p50, p99, n, gp, (p99 < gp ? "met" : "NOT MET")
	}' | tee "$out/status_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_in_cluster "$here/status.sh" -o "max_wal_size=4GB" -o "shared_buffers=512MB"
