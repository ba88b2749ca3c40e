#!/usr/bin/env bash
# bench/api.sh — the API for apps (issue 14), each figure against a
# baseline measured in the same run:
#   1. the code screen: SELECT ... FROM healthcode.code_screen(id) with its
#      SVG QR, under pgbench with 2 clients (prepared statements, as app
#      drivers send them) for BENCH_SECONDS, against the
#      floor of the same work without PostgreSQL — a libsodium signature, a
#      libqrencode symbol and its SVG by the extension's own C core
#      (bench/raw_rates screen), two processes at once (goal: at least 0.5x);
#      for reading, the same screens without waiting for the commit's WAL
#      flush, and the floor's work as one SQL call (what PostgreSQL alone adds);
#   2. the statuses of BENCH_BATCH people: one check_statuses call with
#      their ids against BENCH_BATCH single status(id) calls from one
#      client over one connection, each returning the same rows (goal: the
#      batch at least 5x faster).
#
#   PG_CONFIG=... bench/api.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEOPLE=20000 BENCH_BATCH=10000 BENCH_SECONDS=15 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-20000}
export BENCH_BATCH=${BENCH_BATCH:-10000}
export BENCH_SECONDS=${BENCH_SECONDS:-15}
export BENCH_REPS=${BENCH_REPS:-3}
GOAL_SCREEN=0.5
GOAL_BATCH=5

now_ms() { date +%s%3N; }

inside() {
	local best_tps="" best_async="" best_sql="" best_raw="" best_single="" best_batch=""
	log "== setup: $BENCH_PEOPLE people (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -c "CREATE EXTENSION healthcode" -c "SELECT healthcode.create_key('000000')" >/dev/null
	psql_q -c "SELECT count(*) FROM healthcode.generate_population($BENCH_PEOPLE, 5, 14)" >/dev/null
	psql_q -c "CREATE TABLE ids AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM healthcode.person" \
		-c "CREATE UNIQUE INDEX ON ids (n)" -c "VACUUM ANALYZE" >/dev/null
	# the single calls and the batch, as a client would send them
	psql_q -c "SELECT format('SELECT * FROM healthcode.status(%s);', id) FROM ids WHERE n <= $BENCH_BATCH ORDER BY n" >"$out/api_single.sql"
	psql_q -c "SELECT format('SELECT * FROM healthcode.check_statuses(%L::bigint[]);', array_agg(id ORDER BY n)) FROM ids WHERE n <= $BENCH_BATCH" >"$out/api_batch.sql"
	# (octet_length: the SVG's size, not a count of its characters, which
	# would be the client's work; the same sign + QR + SVG in one SQL call,
	# to show what PostgreSQL alone adds)
	printf '\\set n random(1, %d)\nSELECT octet_length(qr_svg) FROM healthcode.code_screen((SELECT id FROM ids WHERE n = :n));\n' \
		"$BENCH_PEOPLE" >"$out/api_screen.pgbench"
	printf '\\set n random(1, %d)\nSELECT octet_length(healthcode.qr_svg(healthcode.issue(%s, healthcode.pseudonym(:n::text), %s)));\n' \
		"$BENCH_PEOPLE" "'330106'" "'green'" >"$out/api_floor_sql.pgbench"
	# the same rows both ways
	local rows_single rows_batch
	rows_single=$(psql -X -q -At -f "$out/api_single.sql" | md5sum | cut -c1-12)
	rows_batch=$(psql -X -q -At -c "SELECT colour, vaccinated, since, valid_until FROM healthcode.check_statuses(ARRAY(SELECT id FROM ids WHERE n <= $BENCH_BATCH ORDER BY n)) ORDER BY ord" | md5sum | cut -c1-12)
	log "   $BENCH_BATCH statuses: single calls $(psql -X -q -At -f "$out/api_single.sql" | wc -l) rows, the batch $(psql -X -q -At -f "$out/api_batch.sql" | wc -l) rows"

	for rep in $(seq 1 "$BENCH_REPS"); do
		local tps tps_async tps_sql raw1 raw2 raw t0 single batch
		# (prepared statements, as an app's driver sends them)
		tps=$(pgbench -n -M prepared -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/api_screen.pgbench" 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
		tps_async=$(PGOPTIONS="-c synchronous_commit=off" pgbench -n -M prepared -c 2 -j 2 -T "$BENCH_SECONDS" \
			-f "$out/api_screen.pgbench" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
		tps_sql=$(pgbench -n -M prepared -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/api_floor_sql.pgbench" 2>/dev/null |
			sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
		"$here/raw_rates" screen 20000 >"$out/raw_screen1" &
		"$here/raw_rates" screen 20000 >"$out/raw_screen2"
		wait
		raw1=$(awk '{ print $2 }' "$out/raw_screen1")
		raw2=$(awk '{ print $2 }' "$out/raw_screen2")
		raw=$(awk -v a="$raw1" -v b="$raw2" 'BEGIN { print a + b }')
		t0=$(now_ms); psql -X -q -f "$out/api_single.sql" >/dev/null; single=$(($(now_ms) - t0))
		t0=$(now_ms); psql -X -q -f "$out/api_batch.sql" >/dev/null; batch=$(($(now_ms) - t0))
		log "   rep $rep: code_screen $tps/s ($tps_async/s without waiting for the commit's flush), the floor in one SQL call $tps_sql/s, raw floor $raw/s; $BENCH_BATCH single calls $single ms, one batch $batch ms"
		best_tps=$(max "${best_tps:-0}" "$tps")
		best_async=$(max "${best_async:-0}" "$tps_async")
		best_sql=$(max "${best_sql:-0}" "$tps_sql")
		best_raw=$(max "${best_raw:-0}" "$raw")
		best_single=$(min "$best_single" "$single")
		best_batch=$(min "$best_batch" "$batch")
	done
	psql_q -c "SELECT count(*) FROM healthcode.code_event WHERE event = 'issued'" | sed 's/^/   codes issued (in code_event): /'

	echo
	echo "healthcode API benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people; best of $BENCH_REPS; pgbench ${BENCH_SECONDS} s at 2 clients; wall clock of psql -f for the calls"
	awk -v tps="$best_tps" -v async="$best_async" -v sql="$best_sql" -v raw="$best_raw" -v s="$best_single" -v b="$best_batch" -v n="$BENCH_BATCH" \
		-v gs="$GOAL_SCREEN" -v gb="$GOAL_BATCH" 'BEGIN {
		printf "%-58s %11s %11s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		r = tps / raw
		printf "%-58s %9.0f/s %9.0f/s %8.2f  >= %.1f  %s\n", "code_screen(id) with SVG, 2 clients / raw sign+QR+SVG x2", tps, raw, r, gs, (r >= gs ? "met" : "NOT MET")
		printf "%-58s %9.0f/s %9.0f/s %8.2f  (for reading)\n", "  the same, synchronous_commit off / raw", async, raw, async / raw
		printf "%-58s %9.0f/s %9.0f/s %8.2f  (for reading)\n", "  qr_svg(issue(...)) in one SQL call / raw", sql, raw, sql / raw
		r = s / b
		printf "%-58s %9.0fms %9.0fms %8.2f  >= %.0f  %s\n", "statuses of " n ": single calls / one check_statuses", s, b, r, gb, (r >= gb ? "met" : "NOT MET")
	}' | tee "$out/api_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
log "== compiling bench/raw_rates"
gcc -O2 -Wall -Wextra -I"$root/src" -o "$here/raw_rates" "$here/raw_rates.c" "$root/src/hc_core_qr.c" "$root/src/hc_core_buf.c" \
	-lsodium -lqrencode -lpng
# (healthcode preloaded, as the README advises for production: codes
# are counted in shared memory, not a row at each one)
bench_own_cluster "$here/api.sh" "shared_buffers=256MB" "shared_preload_libraries=healthcode"
