#!/usr/bin/env bash
# bench/import.sh — the JSON import functions (issue 10), each against a
# baseline measured in the same run on the same data:
#   1. import_travel() of BENCH_IMPORT_RECORDS stays, triggers on, against
#      COPY of exactly the same rows into healthcode.travel, triggers on
#      (goal: import rate at least 0.5 of the COPY rate), and the backend's
#      peak private memory during the import (goal: under 500 MB);
#   2. the same batch with its last record invalid: the time until the
#      error, against the good batch's import (a good implementation rejects
#      far faster than it imports); and import_test_results() of
#      BENCH_IMPORT_TESTS lab results, time and peak memory, against COPY of
#      the same rows into healthcode.test_result;
#   3. the duplicate checks: import_test_results() and import_risk_areas()
#      of batches that repeat keys (all records one key; the second half
#      repeating the first), at BENCH_DUP_SMALL and BENCH_DUP_LARGE records:
#      each must fail with SQLSTATE 22023; the cost per record at the large
#      size over that at the small one (goal: at most 2, i.e. linear).
#
#   bench/import.sh        (from any directory; about 4 minutes on 2 cores)
#
# The batch is sent as an application sends it: by bench/import_client, as
# a bind parameter ($1) of unspecified type in text format (what drivers
# send for a query parameter), so the server types it as the function's
# argument, json or jsonb alike. A psql literal (:'var') would cost the
# backend extra copies in the parser (query string, scanner buffer, parse
# tree), and pg_read_file() an extra text and cstring copy: neither is what
# an application's batch costs. bench/import_client also samples
# /proc/<backend pid>/smaps_rollup every 50 ms while the statement runs.
#
# Environment: BENCH_IMPORT_RECORDS=1000000 BENCH_IMPORT_TESTS=1000000
#              BENCH_PEOPLE=100000 BENCH_RISKY_SHARE=0.02 BENCH_REPS=2
#              BENCH_DUP_SMALL=10000 BENCH_DUP_LARGE=100000
#              BENCH_DUP_TIMEOUT=120 (seconds, each duplicate-check statement)
#              BENCH_BAD_KINDS="fraction place unknown" BENCH_PARTS="1 2 3"
#              BENCH_PGPORT
# Against the imports before issue 10 (3be83b6: quadratic duplicate checks,
# a jsonb argument) use small sizes, e.g.
#   BENCH_IMPORT_RECORDS=200000 BENCH_IMPORT_TESTS=200000 \
#   BENCH_DUP_SMALL=400 BENCH_DUP_LARGE=4000 bench/import.sh
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_IMPORT_RECORDS=${BENCH_IMPORT_RECORDS:-1000000}
export BENCH_IMPORT_TESTS=${BENCH_IMPORT_TESTS:-1000000}
export BENCH_PEOPLE=${BENCH_PEOPLE:-100000}
export BENCH_RISKY_SHARE=${BENCH_RISKY_SHARE:-0.02}
export BENCH_REPS=${BENCH_REPS:-2}
export BENCH_DUP_SMALL=${BENCH_DUP_SMALL:-10000}
export BENCH_DUP_LARGE=${BENCH_DUP_LARGE:-100000}
export BENCH_DUP_TIMEOUT=${BENCH_DUP_TIMEOUT:-120}
export BENCH_BAD_KINDS=${BENCH_BAD_KINDS:-fraction place unknown}
export BENCH_PARTS=${BENCH_PARTS:-1 2 3}

GOAL_RATE=0.5
GOAL_MEM_MB=500
GOAL_DUP=2.0

client="$here/import_client"

# run [CLIENT OPTIONS] SQL: one statement in a fresh session; sets
# r_ms r_priv r_anon r_priv0 r_anon0 r_samples r_state r_msg (kB)
run() {
	local res
	res=$("$client" "$@") || true
	{ read -r r_ms r_priv r_anon r_priv0 r_anon0 r_samples r_state; read -r r_msg || r_msg=""; } <<<"$res"
	if [[ -z ${r_state:-} ]]; then
		echo "import.sh: import_client failed: $*" >&2
		exit 1
	fi
}
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }
# the state before any import; vacuumed and analyzed, so that autovacuum
# has nothing to do during the next measurement
reset() {
	psql_q -c "SELECT bench.reset()" \
		-c "VACUUM ANALYZE healthcode.travel, healthcode.test_result, healthcode.person_status, healthcode.status_history" \
		-c "CHECKPOINT" >/dev/null
}

# the good batch with its last record replaced
bad_batch() {
	local kind=$1 good=$2 bad=$3 last
	last=$(tail -n 1 "$good")   # the last record, then "]"
	case $kind in
	fraction) last=$(sed 's/"person_id": [0-9]*/"person_id": 1.5/' <<<"$last") ;;
	place) last=$(sed 's/"place": "[0-9]*"/"place": "33010X"/' <<<"$last") ;;
	unknown) last=$(sed 's/"person_id": [0-9]*/"person_id": 999999999/' <<<"$last") ;;
	*)
		echo "import.sh: unknown bad record kind $kind (fraction, place, unknown)" >&2
		exit 1
		;;
	esac
	{ head -n -1 "$good"; printf '%s\n' "$last"; } >"$bad"
}

# a figure's line of the summary: name, ours, baseline, ratio, goal, verdict
fig() {
	awk -v a="$1" -v b="$2" -v c="$3" -v d="$4" -v e="$5" -v f="$6" \
		'BEGIN { s = sprintf("%-58s %10s %10s %8s  %-8s %s", a, b, c, d, e, f); sub(/ +$/, "", s); print s }'
}
part() { [[ " $BENCH_PARTS " == *" $1 "* ]]; }

inside() {
	local travel="$out/import_travel.json" tests="$out/import_tests.json" summary="$out/import_summary.txt"
	local n_travel n_tests rep kind fn pat n lines=""

	log "== setup: $BENCH_PEOPLE people; $BENCH_IMPORT_RECORDS stays, $BENCH_IMPORT_TESTS lab results," \
		"batches with repeats of $BENCH_DUP_SMALL and $BENCH_DUP_LARGE (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -v people="$BENCH_PEOPLE" -v records="$BENCH_IMPORT_RECORDS" -v tests="$BENCH_IMPORT_TESTS" \
		-v risky_share="$BENCH_RISKY_SHARE" -v dup_small="$BENCH_DUP_SMALL" -v dup_large="$BENCH_DUP_LARGE" \
		-v dir="$out" -f "$here/import.sql" >/dev/null
	n_travel=$(psql_q -c "SELECT count(*) FROM bench.travel_src")
	n_tests=$(psql_q -c "SELECT count(*) FROM bench.tests_src")
	log "   $n_travel stays in $(du -h "$travel" | cut -f1) of JSON ($(psql_q -c "SELECT round(100.0 * count(*) FILTER (WHERE place IN ('330106', '110105', '310104')) / count(*), 1) FROM bench.travel_src")% in a medium- or high-risk district);" \
		"$n_tests lab results in $(du -h "$tests" | cut -f1); the functions take $(psql_q -c "SELECT format_type(proargtypes[0], NULL) FROM pg_proc WHERE oid = 'healthcode.import_travel'::regproc")"

	local best_copy="" best_imp="" copy_priv=0 copy_anon=0 imp_priv=0 imp_anon=0
	if part 1; then
		log "== 1. $n_travel stays: COPY into healthcode.travel vs import_travel(), triggers on (best of $BENCH_REPS; memory: the highest peak)"
		for rep in $(seq 1 "$BENCH_REPS"); do
			reset
			run "COPY healthcode.travel (person_id, region, place, at, source) FROM '$out/import_travel.copy'"
			[[ $r_state == 00000 ]] || { echo "import.sh: COPY failed: $r_state $r_msg" >&2; exit 1; }
			log "   rep $rep: COPY $r_ms ms (${r_msg}), peak private $(mb "$r_priv") MB, anonymous $(mb "$r_anon") MB"
			best_copy=$(min "$best_copy" "$r_ms"); copy_priv=$(max "$copy_priv" "$r_priv"); copy_anon=$(max "$copy_anon" "$r_anon")
			if [[ $rep == 1 ]]; then
				psql_q -c "INSERT INTO bench.after_copy SELECT person_id, colour, bench.reasons(reasons) FROM healthcode.person_status"
			fi
			reset
			run -s "$out/import_travel_mem.txt" -f "$travel" "SELECT healthcode.import_travel(\$1)"
			[[ $r_state == 00000 ]] || { echo "import.sh: import_travel failed: $r_state $r_msg" >&2; exit 1; }
			log "   rep $rep: import_travel $r_ms ms (returned $r_msg), peak private $(mb "$r_priv") MB, anonymous $(mb "$r_anon") MB" \
				"(before: $(mb "$r_priv0") MB, $(mb "$r_anon0") MB; $r_samples samples)"
			best_imp=$(min "$best_imp" "$r_ms"); imp_priv=$(max "$imp_priv" "$r_priv"); imp_anon=$(max "$imp_anon" "$r_anon")
		done
		log "   $(psql_q -c "SELECT count(*) FROM healthcode.travel") stays imported;" \
			"$(psql_q -c "SELECT count(DISTINCT person_id) FROM healthcode.status_history WHERE recorded_at > (SELECT coalesce(max(recorded_at), '-infinity') FROM bench.history_before)") people's colour changed;" \
			"status rows that differ from the COPY's (must be 0): $(psql_q -c "SELECT count(*) FROM bench.after_copy a FULL JOIN healthcode.person_status s USING (person_id)
			                                                               WHERE (a.colour, a.reasons) IS DISTINCT FROM (s.colour, bench.reasons(s.reasons))")"
		run -f "$travel" "SELECT bench.carrier(\$1)"
		local carrier_priv=$r_priv carrier_anon=$r_anon
		log "   the same batch passed to a function that ignores it: peak private $(mb "$r_priv") MB, anonymous $(mb "$r_anon") MB ($r_ms ms)"
		lines+=$(fig "import_travel rate / COPY rate ($n_travel stays)" "$(printf '%.0fms' "$best_imp")" "$(printf '%.0fms' "$best_copy")" \
			"$(awk -v a="$best_copy" -v b="$best_imp" 'BEGIN { printf "%.2f", a / b }')" ">= $GOAL_RATE" \
			"$(awk -v a="$best_copy" -v b="$best_imp" -v g="$GOAL_RATE" 'BEGIN { print (a / b >= g ? "met" : "NOT MET") }')")$'\n'
		lines+=$(fig "import_travel peak private memory (COPY's: baseline)" "$(mb "$imp_priv")MB" "$(mb "$copy_priv")MB" "" "< $GOAL_MEM_MB MB" \
			"$(awk -v a="$imp_priv" -v g="$GOAL_MEM_MB" 'BEGIN { print (a / 1024 < g ? "met" : "NOT MET") }')")$'\n'
		lines+=$(fig "  anonymous memory of the same" "$(mb "$imp_anon")MB" "$(mb "$copy_anon")MB" "" "" "")$'\n'
		lines+=$(fig "  the batch passed to a no-op function: private, anon." "$(mb "$carrier_priv")MB" "$(mb "$carrier_anon")MB" "" "" "")$'\n'
	fi

	if part 2; then
		log "== 2. the same stays with the last record invalid: time until the error"
		for kind in $BENCH_BAD_KINDS; do
			bad_batch "$kind" "$travel" "$out/import_travel_bad_$kind.json"
			reset
			run -f "$out/import_travel_bad_$kind.json" "SELECT healthcode.import_travel(\$1)"
			log "   $kind ($(tail -n 1 "$out/import_travel_bad_$kind.json" | cut -c1-60)): $r_ms ms, SQLSTATE $r_state: $r_msg; peak private $(mb "$r_priv") MB"
			lines+=$(fig "bad last record ($kind): until $([[ $r_state == 00000 ]] && echo "NO ERROR" || echo "error $r_state") / import" \
				"$(printf '%.0fms' "$r_ms")" "$([[ -n $best_imp ]] && printf '%.0fms' "$best_imp")" \
				"$([[ -n $best_imp ]] && awk -v a="$r_ms" -v b="$best_imp" 'BEGIN { printf "%.2f", a / b }')" "-" \
				"$([[ $r_state == 00000 ]] && echo "NOT REJECTED")")$'\n'
		done
		local best_tcopy="" best_timp="" tcopy_priv=0 tcopy_anon=0 timp_priv=0 timp_anon=0
		log "== 2b. $n_tests lab results: COPY into healthcode.test_result vs import_test_results(), triggers on (best of $BENCH_REPS)"
		for rep in $(seq 1 "$BENCH_REPS"); do
			reset
			run "COPY healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id) FROM '$out/import_tests.copy'"
			[[ $r_state == 00000 ]] || { echo "import.sh: COPY failed: $r_state $r_msg" >&2; exit 1; }
			log "   rep $rep: COPY $r_ms ms (${r_msg}), peak private $(mb "$r_priv") MB, anonymous $(mb "$r_anon") MB"
			best_tcopy=$(min "$best_tcopy" "$r_ms"); tcopy_priv=$(max "$tcopy_priv" "$r_priv"); tcopy_anon=$(max "$tcopy_anon" "$r_anon")
			reset
			run -s "$out/import_tests_mem.txt" -f "$tests" "SELECT healthcode.import_test_results(\$1)"
			[[ $r_state == 00000 ]] || { echo "import.sh: import_test_results failed: $r_state $r_msg" >&2; exit 1; }
			log "   rep $rep: import_test_results $r_ms ms (returned $r_msg), peak private $(mb "$r_priv") MB, anonymous $(mb "$r_anon") MB"
			best_timp=$(min "$best_timp" "$r_ms"); timp_priv=$(max "$timp_priv" "$r_priv"); timp_anon=$(max "$timp_anon" "$r_anon")
		done
		lines+=$(fig "import_test_results rate / COPY rate ($n_tests results)" "$(printf '%.0fms' "$best_timp")" "$(printf '%.0fms' "$best_tcopy")" \
			"$(awk -v a="$best_tcopy" -v b="$best_timp" 'BEGIN { printf "%.2f", a / b }')" "-" "")$'\n'
		lines+=$(fig "import_test_results peak private memory (COPY's: baseline)" "$(mb "$timp_priv")MB" "$(mb "$tcopy_priv")MB" "" "-" "")$'\n'
		lines+=$(fig "  anonymous memory of the same" "$(mb "$timp_anon")MB" "$(mb "$tcopy_anon")MB" "" "" "")$'\n'
	fi

	if part 3; then
		log "== 3. batches that repeat keys (must fail with 22023; statement_timeout ${BENCH_DUP_TIMEOUT}s)"
		reset
		for fn in test_results risk_areas; do
			for pat in same half; do
				local ms_s="" ms_l="" st_s="" st_l="" f
				for n in "$BENCH_DUP_SMALL" "$BENCH_DUP_LARGE"; do
					f="$out/import_dup_tests_${pat}_$n.json"
					[[ $fn == risk_areas ]] && f="$out/import_dup_areas_${pat}_$n.json"
					PGOPTIONS="-c statement_timeout=${BENCH_DUP_TIMEOUT}s" run -e 22023 -f "$f" "SELECT healthcode.import_$fn(\$1)"
					log "   import_$fn, $n records, $pat: $r_ms ms, SQLSTATE $r_state: $r_msg"
					if [[ $n == "$BENCH_DUP_SMALL" ]]; then ms_s=$r_ms st_s=$r_state; else ms_l=$r_ms st_l=$r_state; fi
				done
				lines+=$(awk -v fn="$fn" -v pat="$pat" -v ns="$BENCH_DUP_SMALL" -v nl="$BENCH_DUP_LARGE" \
					-v ts="$ms_s" -v tl="$ms_l" -v ss="$st_s" -v sl="$st_l" -v g="$GOAL_DUP" 'BEGIN {
					r = (tl / nl) / (ts / ns)
					k = log(tl / ts) / log(nl / ns)
					ok = (ss == "22023" && sl == "22023")
					note = ok ? (r <= g ? "met" : "NOT MET") : "NOT MET: SQLSTATE " ss ", " sl (ss == "57014" || sl == "57014" ? " (57014: timed out; the ratio is a lower bound)" : "")
					printf "%-58s %8.0fms %8.0fms %8.2f  %-8s %s (time ~ n^%.2f)\n", "repeats (" pat "): " fn " per record, " nl " / " ns, tl, ts, r, "<= " g, note, k
				}')$'\n'
			done
		done
	fi
	reset

	echo
	{
		echo "healthcode import benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
		echo "$BENCH_PEOPLE people; $n_travel stays, $n_tests lab results; best of $BENCH_REPS, memory the highest peak;" \
			"wall time from send to result; memory: the backend's Private_Clean + Private_Dirty"
		fig "figure" "ours" "baseline" "ratio" "goal" ""
		printf '%s' "$lines"
	} | tee "$summary"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
log "== compiling bench/import_client"
gcc -O2 -Wall -Wextra -I"$(pg_config --includedir)" -o "$client" "$here/import_client.c" -L"$(pg_config --libdir)" -lpq
bench_in_cluster "$here/import.sh" -o "max_wal_size=4GB"
