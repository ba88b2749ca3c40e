#!/usr/bin/env bash
# bench/rls.sh — what row-level security costs an operator, like for like:
# the region x colour summary of one province's people among BENCH_PEOPLE
# (1,000,000), run by an operator of that province (row-level security
# selects its rows) against the same summary run by the table owner
# (superuser: row-level security bypassed) selecting the same rows with an
# explicit WHERE, in the same run; the two results must be equal (goal: at
# most 1.2x).
#
#   bench/rls.sh           (from any directory; ~10 minutes on 2 cores, most
#                           of it generating the population)
#
# Environment: BENCH_PEOPLE=1000000 BENCH_REPS=5 BENCH_PGPORT
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-1000000}
export BENCH_REPS=${BENCH_REPS:-5}
GOAL=1.2
QUERY="SELECT region, colour, count(*) FROM healthcode.current_status GROUP BY region, colour"
# (the same rows as the operator's scope selects: Zhejiang's, 330000 and below)
OWNER_QUERY="SELECT region, colour, count(*) FROM healthcode.current_status
              WHERE region COLLATE \"C\" BETWEEN '330000' AND '339999999999' GROUP BY region, colour"

inside() {
	local best_op="" best_owner="" op owner
	log "== setup: $BENCH_PEOPLE people (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -c 'CREATE EXTENSION healthcode' \
		-c "SELECT what || ': ' || rows FROM healthcode.generate_population($BENCH_PEOPLE, stays_per_person => 2, days => 14)" |
		sed 's/^/   /'
	psql_q -c 'VACUUM ANALYZE' \
		-c 'CREATE ROLE bench_op_zj LOGIN IN ROLE healthcode_operator' \
		-c "SELECT healthcode.grant_region('bench_op_zj', '330000')"
	log "   the operator sees $(psql_q -c 'SET ROLE bench_op_zj' -c 'SELECT count(*) FROM healthcode.person') people of $(psql_q -c 'SELECT count(*) FROM healthcode.person')"
	# (operators may not EXPLAIN the row-secured tables: auto_explain, set up
	# by the superuser, shows the plan the operator's query runs with)
	psql_q -c "LOAD 'auto_explain'" -c 'SET auto_explain.log_min_duration = 0' \
		-c 'SET auto_explain.log_level = notice' -c 'SET ROLE bench_op_zj' -c "$QUERY" \
		>/dev/null 2>"$out/rls_explain_operator.txt"
	psql_q -c "EXPLAIN (COSTS off) $OWNER_QUERY" >"$out/rls_explain_owner.txt"
	# like for like: the same rows, the same result
	if [[ "$(psql_q -c "$OWNER_QUERY ORDER BY 1, 2")" != "$(psql_q -c 'SET ROLE bench_op_zj' -c "$QUERY ORDER BY 1, 2")" ]]; then
		echo "the operator's summary and the owner's differ: not like for like" >&2
		exit 1
	fi
	log "   both summarise $(psql_q -c "SELECT count(*) FROM ($OWNER_QUERY) x") cells of the same $(psql_q -c 'SET ROLE bench_op_zj' -c 'SELECT count(*) FROM healthcode.person') people"
	log "== the summary, operator of 330000 vs table owner with the same WHERE (best of $BENCH_REPS, each in a fresh session)"
	for rep in $(seq 1 "$BENCH_REPS"); do
		owner=$(time_ms -c "$OWNER_QUERY")
		op=$(time_ms -c 'SET ROLE bench_op_zj' -c "$QUERY")
		log "   rep $rep: owner $owner ms, operator $op ms"
		best_owner=$(min "$best_owner" "$owner")
		best_op=$(min "$best_op" "$op")
	done
	echo
	echo "healthcode row-level security benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "operator: $QUERY"
	echo "owner:    $(tr -s ' \n' ' ' <<<"$OWNER_QUERY")"
	awk -v op="$best_op" -v owner="$best_owner" -v goal="$GOAL" -v n="$BENCH_PEOPLE" 'BEGIN {
		r = op / owner
		printf "%-60s %8.0fms %8.0fms %8.2f  <= %.1f  %s\n", "one province of " n " people: operator / owner (same rows)", op, owner, r, goal, (r <= goal ? "met" : "NOT MET")
	}' | tee "$out/rls_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_own_cluster "$here/rls.sh" "max_wal_size=4GB" "shared_buffers=512MB"
