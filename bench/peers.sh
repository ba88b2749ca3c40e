#!/usr/bin/env bash
# bench/peers.sh — a foreign system's bulk publication at the hub (issue 16,
# point 5), against a baseline measured in the same run on the same rows:
#   peer_publish() of BENCH_PEER_RECORDS residents' shared health data, sent
#   by a login granted healthcode_peer in batches of BENCH_PEER_BATCH
#   records, each batch as an application sends it (bench/import_client: a
#   text bind parameter), into an empty health_share, against a plain COPY
#   of exactly the same rows, from a server file, into an unindexed table of
#   the same columns (goal: the publication's rate at least 0.5 of COPY's).
#   The run checks that both tables then hold the same rows.
#
#   PG_CONFIG=... bench/peers.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEER_RECORDS=1000000 BENCH_PEER_BATCH=100000 BENCH_REPS=2
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEER_RECORDS=${BENCH_PEER_RECORDS:-1000000}
export BENCH_PEER_BATCH=${BENCH_PEER_BATCH:-100000}
export BENCH_REPS=${BENCH_REPS:-2}
GOAL=0.5
client="$here/import_client"

# run [CLIENT OPTIONS] SQL: one statement in a fresh session; sets r_ms, r_state, r_msg
run() {
	local res
	res=$("$client" "$@") || true
	{ read -r r_ms _ _ _ _ _ r_state; read -r r_msg || r_msg=""; } <<<"$res"
	if [[ ${r_state:-} != 00000 ]]; then
		echo "peers.sh: import_client failed ($r_state): $r_msg" >&2
		exit 1
	fi
}

inside() {
	local batches n rep k copy_ms publish_ms best_copy="" best_publish="" same
	batches=$(((BENCH_PEER_RECORDS + BENCH_PEER_BATCH - 1) / BENCH_PEER_BATCH))
	log "== setup: the hub, a peer for Guangdong, $BENCH_PEER_RECORDS records in $batches batches"
	psql_q -c "CREATE EXTENSION healthcode" -c "SELECT healthcode.set_node('hub', '000000', 'hub')" \
		-c "CREATE ROLE bench_peer LOGIN IN ROLE healthcode_peer" \
		-c "SELECT healthcode.grant_region('bench_peer', '440000')" >/dev/null
	# the records: a fifth with a test, one in twenty yellow, one in a hundred red, doses 0-3
	psql_q <<-'SQL'
		CREATE TABLE public.src AS
		SELECT i, md5(i::text) AS hex,
		       (ARRAY['440103','440104','440105','440106','440111','440112','440113','440114','440115','440117'])[1 + i % 10] AS region,
		       CASE WHEN i % 100 = 0 THEN 'red' WHEN i % 20 = 0 THEN 'yellow' ELSE 'green' END AS colour,
		       CASE WHEN i % 20 = 0 THEN now() - (i % 48) * interval '1 hour' END AS since,
		       CASE WHEN i % 20 = 0 AND i % 100 <> 0 THEN now() + (1 + i % 7) * interval '1 day' END AS valid_until,
		       CASE WHEN i % 5 = 0 THEN 'pcr' END AS test_kind,
		       CASE WHEN i % 5 = 0 THEN now() - (i % 72) * interval '1 hour' END AS tested_at,
		       CASE WHEN i % 5 = 0 THEN CASE WHEN i % 100 = 0 THEN 'positive' ELSE 'negative' END END AS test_result,
		       i % 4 AS doses,
		       CASE WHEN i % 4 > 0 THEN now() - (30 + i % 300) * interval '1 day' END AS last_dose_at
		  FROM generate_series(1, current_setting('bench.records')::integer) i;
		CREATE TABLE public.plain (LIKE healthcode.health_share);
	SQL
	# (bench.records: the count, for the statement above)
	for ((k = 0; k < batches; k++)); do
		psql_q -c "COPY (SELECT json_agg(json_strip_nulls(json_build_object(
		             'national_subject', hex, 'region', region, 'colour', colour, 'since', since,
		             'valid_until', valid_until, 'test_kind', test_kind, 'tested_at', tested_at,
		             'test_result', test_result, 'doses', doses, 'last_dose_at', last_dose_at)) ORDER BY i)
		             FROM public.src WHERE i > $((k * BENCH_PEER_BATCH)) AND i <= $(((k + 1) * BENCH_PEER_BATCH))) TO STDOUT" \
			>"$out/peers_batch_$k.json"
	done
	# the same rows as peer_publish writes them (red without an end: until further notice)
	psql_q -c "COPY (SELECT decode(hex, 'hex'), region, colour, since,
	                        CASE WHEN colour IN ('red', 'yellow') THEN COALESCE(valid_until, 'infinity') ELSE valid_until END,
	                        test_kind, tested_at, test_result, doses, last_dose_at, now()
	                   FROM public.src ORDER BY i) TO '$out/peers_rows.copy'"
	log "   $(du -ch "$out"/peers_batch_*.json | tail -1 | cut -f1) of JSON, $(du -h "$out/peers_rows.copy" | cut -f1) as a COPY file"

	for rep in $(seq 1 "$BENCH_REPS"); do
		psql_q -c "TRUNCATE public.plain" -c "TRUNCATE healthcode.health_share" -c "CHECKPOINT" >/dev/null
		run "COPY public.plain FROM '$out/peers_rows.copy'"
		copy_ms=$r_ms
		publish_ms=0
		for ((k = 0; k < batches; k++)); do
			PGUSER=bench_peer run -f "$out/peers_batch_$k.json" 'SELECT accepted FROM healthcode.peer_publish($1)'
			n=$r_msg
			[[ $n == "$(psql_q -c "SELECT count(*) FROM json_array_elements(pg_read_file('$out/peers_batch_$k.json')::json)")" ]] ||
				{ echo "peers.sh: batch $k: $n accepted" >&2; exit 1; }
			publish_ms=$(awk -v a="$publish_ms" -v b="$r_ms" 'BEGIN { print a + b }')
		done
		log "   rep $rep: COPY $copy_ms ms, peer_publish $publish_ms ms ($batches batches)"
		best_copy=$(min "$best_copy" "$copy_ms")
		best_publish=$(min "$best_publish" "$publish_ms")
	done
	same=$(psql_q -c "SELECT count(*) FROM (SELECT national_subject, region, colour, since, valid_until, test_kind, tested_at,
	                                               test_result, doses, last_dose_at FROM healthcode.health_share
	                                        EXCEPT ALL
	                                        SELECT national_subject, region, colour, since, valid_until, test_kind, tested_at,
	                                               test_result, doses, last_dose_at FROM public.plain) d")
	log "   rows: $(psql_q -c 'SELECT count(*) FROM healthcode.health_share') shared, $(psql_q -c 'SELECT count(*) FROM public.plain') copied, $same differing"
	[[ $same == 0 ]] || { echo "peers.sh: the two tables differ" >&2; exit 1; }

	echo
	echo "healthcode peer publication benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEER_RECORDS records, batches of $BENCH_PEER_BATCH; best of $BENCH_REPS; wall clock of each statement"
	awk -v c="$best_copy" -v p="$best_publish" -v n="$BENCH_PEER_RECORDS" -v g="$GOAL" 'BEGIN {
		printf "%-58s %11s %11s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		r = c / p
		printf "%-58s %9.0f/s %9.0f/s %8.2f  >= %.1f  %s\n", "peer_publish / plain COPY, records a second", n / p * 1000, n / c * 1000, r, g, (r >= g ? "met" : "NOT MET")
	}' | tee "$out/peers_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
log "== compiling bench/import_client"
gcc -O2 -Wall -Wextra -I"$("${PG_CONFIG:-pg_config}" --includedir)" -o "$client" "$here/import_client.c" \
	-L"$("${PG_CONFIG:-pg_config}" --libdir)" -lpq
bench_own_cluster "$here/peers.sh" "max_wal_size=4GB" "bench.records=$BENCH_PEER_RECORDS"
