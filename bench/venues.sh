#!/usr/bin/env bash
# bench/venues.sh — venues (issue 15), each figure against a baseline
# measured in the same run:
#   1. scan_venue(person_id, venue code): verifies the venue's code, records
#      the stay through the travel triggers and answers the door keeper,
#      under pgbench with 2 clients (prepared statements) for BENCH_SECONDS,
#      against verify() of a personal code, the same way (goal: at least
#      0.5x its rate); a scan commits as it does by default (asynchronously:
#      healthcode.asynchronous_scans), and the rate with the setting off,
#      each commit waiting for the disk, is printed for reading;
#   2. exposure tracing of one case at one venue over a day holding
#      BENCH_SCANS scans (a station's day): exposures(case, window) against
#      the bare indexed SELECT of the same rows (the venue's scans within
#      the policy's 30 minutes of the case's, once a person: the same
#      result), each as one client's prepared statement under pgbench
#      (goal: at most 2x its time); and the tracing query's plan, which
#      must read travel by its indexes only.
#
#   PG_CONFIG=... bench/venues.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEOPLE=20000 BENCH_SCANS=1000000 BENCH_SECONDS=10 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-20000}
export BENCH_SCANS=${BENCH_SCANS:-1000000}
export BENCH_SECONDS=${BENCH_SECONDS:-10}
export BENCH_REPS=${BENCH_REPS:-3}
GOAL_SCAN=0.5
GOAL_TRACE=2

tps_of() { pgbench -n -M prepared "$@" 2>/dev/null | sed -n 's/^tps = \([0-9.]*\) .*/\1/p'; }

inside() {
	local best_scan="" best_verify="" best_trace="" best_bare="" best_insert="" best_sync=""
	log "== setup: $BENCH_PEOPLE people, $BENCH_SCANS scans at one venue in a day (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -c "CREATE EXTENSION healthcode" -c "SELECT healthcode.create_key('000000')" >/dev/null
	psql_q -c "SELECT count(*) FROM healthcode.generate_population($BENCH_PEOPLE, 2, 14)" >/dev/null
	psql_q <<-SQL >/dev/null
		CREATE TABLE ids AS SELECT row_number() OVER (ORDER BY id) AS n, id, region FROM healthcode.person;
		CREATE UNIQUE INDEX ON ids (n);
		-- the venues scanned under pgbench: 100, each with its code
		CREATE TABLE venues AS
		  SELECT g AS n, healthcode.create_venue('330108001001', 'bench venue ' || g, 'supermarket') AS id
		    FROM generate_series(1, 100) g;
		ALTER TABLE venues ADD COLUMN code text;
		UPDATE venues SET code = healthcode.venue_code(id);
		-- personal codes for verify(): one a person
		CREATE TABLE codes AS
		  SELECT n, healthcode.issue_for(id)::text AS code FROM ids;
		CREATE UNIQUE INDEX ON codes (n);
		CREATE UNIQUE INDEX ON venues (n);
		-- the station: BENCH_SCANS scans yesterday (China Standard Time),
		-- spread over the day, people picked at random (but the case); the
		-- case scanned once, at noon
		SELECT healthcode.create_venue('330108001001', 'bench station', 'transport') AS station \gset
		SELECT healthcode.create_travel_partitions();
		INSERT INTO healthcode.travel (person_id, region, place, at, source, venue)
		SELECT i.id, i.region, '330108001001',
		       (current_date - 1)::timestamp AT TIME ZONE 'Asia/Shanghai' + (g * (86400.0 / $BENCH_SCANS)) * interval '1 second',
		       'venue_scan', :'station'
		  FROM generate_series(1, $BENCH_SCANS) g
		  JOIN ids i ON i.n = 2 + (hashint4(g) & 2147483647) % ($BENCH_PEOPLE - 1)
		-- (once a person and minute, as the venue's index keeps scans)
		ON CONFLICT DO NOTHING;
		CREATE TABLE trace_case AS
		  SELECT i.id AS person_id, :'station'::text AS venue,
		         (current_date - 1)::timestamp AT TIME ZONE 'Asia/Shanghai' + interval '12 hours 0.3 seconds' AS at
		    FROM ids i WHERE i.n = 1;
		INSERT INTO healthcode.travel (person_id, region, place, at, source, venue)
		SELECT c.person_id, i.region, '330108001001', c.at, 'venue_scan', c.venue
		  FROM trace_case c JOIN ids i ON i.id = c.person_id;
		SELECT healthcode.import_test_results(json_build_array(json_build_object(
		         'person_id', person_id, 'kind', 'pcr', 'result', 'positive', 'sampled_at', now() - interval '1 hour',
		         'lab', 'bench', 'sample_id', 'TRACE-1'))) FROM trace_case;
		ALTER TABLE trace_case ADD COLUMN test_id bigint;
		UPDATE trace_case c SET test_id = r.id FROM healthcode.test_result r WHERE r.person_id = c.person_id AND r.sample_id = 'TRACE-1';
		VACUUM ANALYZE;
	SQL
	# the tracing call, and the bare indexed SELECT of the same rows
	psql_q -At -c "SELECT format('SELECT count(*) FROM healthcode.exposures(%s, %L, %L);', test_id,
	                             at - interval '1 hour', at + interval '1 hour') FROM trace_case" >"$out/venues_trace.pgbench"
	psql_q -At -c "SELECT format(\$q\$SELECT count(*) FROM (SELECT DISTINCT ON (o.person_id) o.person_id, o.region, o.at, o.place
	                                   FROM healthcode.travel o
	                                  WHERE o.venue = %L AND o.place = %L AND o.source = 'venue_scan' AND o.person_id <> %s
	                                    AND o.at >= %L AND o.at <= %L
	                                  ORDER BY o.person_id, o.at) x;\$q\$, venue, '330108001001', person_id,
	                             at - interval '30 minutes', at + interval '30 minutes') FROM trace_case" >"$out/venues_bare.pgbench"
	local traced bare same
	traced=$(psql_q -c "SELECT md5(string_agg(e.person_id || ' ' || e.exposure_at || ' ' || e.place, ',' ORDER BY e.person_id))
	                      FROM trace_case c, healthcode.exposures(c.test_id, c.at - interval '1 hour', c.at + interval '1 hour') e")
	bare=$(psql_q -c "SELECT md5(string_agg(x.person_id || ' ' || x.at || ' ' || x.place, ',' ORDER BY x.person_id))
	                    FROM trace_case c, LATERAL (SELECT DISTINCT ON (o.person_id) o.person_id, o.at, o.place
	                                                  FROM healthcode.travel o
	                                                 WHERE o.venue = c.venue AND o.place = '330108001001' AND o.source = 'venue_scan'
	                                                   AND o.person_id <> c.person_id
	                                                   AND o.at >= c.at - interval '30 minutes' AND o.at <= c.at + interval '30 minutes'
	                                                 ORDER BY o.person_id, o.at) x")
	same=$([[ $traced == "$bare" ]] && echo "the same rows" || echo "DIFFERENT rows")
	log "   tracing and the bare SELECT give $same ($(psql_q -c "SELECT count(*) FROM trace_case c, healthcode.exposures(c.test_id, c.at - interval '1 hour', c.at + interval '1 hour')") people)"
	# the tracing query's plan, as _exposures runs it (auto_explain, nested
	# statements, to the client): every read of travel by an index
	psql -X -q -At -v ON_ERROR_STOP=1 >/dev/null 2>"$out/venues_plan.txt" <<-SQL
		LOAD 'auto_explain';
		SET auto_explain.log_min_duration = 0;
		SET auto_explain.log_nested_statements = on;
		SET auto_explain.log_analyze = on;
		SET auto_explain.log_level = notice;
		SELECT count(*) FROM trace_case c, healthcode.exposures(c.test_id, c.at - interval '1 hour', c.at + interval '1 hour');
	SQL
	local scans_of_travel
	# (a day partition the stays' times exclude is pruned as the query runs:
	# never executed, whatever its empty table's plan)
	scans_of_travel=$(grep -E 'Seq Scan on travel' "$out/venues_plan.txt" | grep -vc 'never executed' || true)
	log "   the tracing query's plan (bench/out/venues_plan.txt): $(grep -E '(Index Only Scan|Index Scan|Seq Scan|Bitmap Heap Scan) (using|on) travel' "$out/venues_plan.txt" | grep -v 'never executed' | grep -oE '(Index Only Scan|Index Scan|Seq Scan|Bitmap Heap Scan) (using|on) [a-z0-9_]+' | sed -E 's/travel_[0-9]{8}/travel_DAY/' | sort | uniq -c | tr -s ' ' | paste -sd ';' -), as run"
	# scans: each a random person at one of the venues, now
	printf '\\set n random(1, %d)\n\\set v random(1, 100)\nSELECT admit FROM healthcode.scan_venue((SELECT id FROM ids WHERE n = :n), (SELECT code FROM venues WHERE n = :v));\n' \
		"$BENCH_PEOPLE" >"$out/venues_scan.pgbench"
	printf '\\set n random(1, %d)\nSELECT valid FROM healthcode.verify((SELECT code FROM codes WHERE n = :n));\n' \
		"$BENCH_PEOPLE" >"$out/venues_verify.pgbench"
	# (for reading: the stay alone, the row a scan writes, through the same triggers and committed
	# as a scan commits (asynchronously): the floor of any scan that records its stay as evidence;
	# a venue of its own each time, so that no row is a repeat of the minute the index skips)
	printf '\\set n random(1, %d)\nINSERT INTO healthcode.travel (person_id, region, place, at, source, venue) SELECT id, region, %s, clock_timestamp(), %s, random()::text FROM ids WHERE n = :n ON CONFLICT DO NOTHING;\n' \
		"$BENCH_PEOPLE" "'330108001001'" "'venue_scan'" >"$out/venues_insert.pgbench"

	for rep in $(seq 1 "$BENCH_REPS"); do
		local scan scan_sync verify trace bare_tps insert
		scan=$(tps_of -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/venues_scan.pgbench")
		# (for reading: the same scans, each commit waiting for its WAL to reach the disk)
		scan_sync=$(PGOPTIONS='-c healthcode.asynchronous_scans=off' tps_of -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/venues_scan.pgbench")
		# (codes live five minutes: fresh ones, so that verify() judges valid codes)
		psql_q -c "UPDATE codes c SET code = healthcode.issue_for(i.id)::text FROM ids i WHERE i.n = c.n" >/dev/null
		verify=$(tps_of -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/venues_verify.pgbench")
		insert=$(PGOPTIONS='-c synchronous_commit=off' tps_of -c 2 -j 2 -T "$BENCH_SECONDS" -f "$out/venues_insert.pgbench")
		trace=$(tps_of -c 1 -T "$BENCH_SECONDS" -f "$out/venues_trace.pgbench")
		bare_tps=$(tps_of -c 1 -T "$BENCH_SECONDS" -f "$out/venues_bare.pgbench")
		log "   rep $rep: scan_venue $scan/s ($scan_sync/s committed synchronously), verify $verify/s, the stay's INSERT alone $insert/s; tracing $trace/s, the bare SELECT $bare_tps/s"
		best_scan=$(max "${best_scan:-0}" "$scan")
		best_sync=$(max "${best_sync:-0}" "$scan_sync")
		best_verify=$(max "${best_verify:-0}" "$verify")
		best_insert=$(max "${best_insert:-0}" "$insert")
		best_trace=$(max "${best_trace:-0}" "$trace")
		best_bare=$(max "${best_bare:-0}" "$bare_tps")
	done
	psql_q -c "SELECT count(*) FROM healthcode.travel WHERE source = 'venue_scan' AND at > now() - interval '1 hour'" |
		sed 's/^/   stays recorded by the scans: /'

	echo
	echo "healthcode venues benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people, $BENCH_SCANS scans at the traced venue in a day; best of $BENCH_REPS; pgbench ${BENCH_SECONDS} s, prepared"
	awk -v s="$best_scan" -v sy="$best_sync" -v v="$best_verify" -v i="$best_insert" -v t="$best_trace" -v b="$best_bare" -v gs="$GOAL_SCAN" -v gt="$GOAL_TRACE" \
		-v same="$same" -v seq="$scans_of_travel" 'BEGIN {
		printf "%-58s %11s %11s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		r = s / v
		printf "%-58s %9.0f/s %9.0f/s %8.2f  >= %.1f  %s\n", "scan_venue, 2 clients / verify() of a personal code", s, v, r, gs, (r >= gs ? "met" : "NOT MET")
		printf "%-58s %9.0f/s %9.0f/s %8.2f  (for reading)\n", "  scan_venue, asynchronous_scans off / verify()", sy, v, sy / v
		printf "%-58s %9.0f/s %9.0f/s %8.2f  (for reading)\n", "  the stay INSERT alone, with its triggers / verify()", i, v, i / v
		printf "%-58s %9.0f/s %9.0f/s %8.2f  (for reading)\n", "  scan_venue / the stay INSERT alone", s, i, s / i
		r = (1000 / t) / (1000 / b)
		printf "%-58s %9.2fms %9.2fms %8.2f  <= %.0f  %s\n", "tracing one case at the venue / bare indexed SELECT", 1000 / t, 1000 / b, r, gt, (r <= gt && same == "the same rows" ? "met" : "NOT MET")
		printf "%-58s %11s\n", "  reads of travel other than by an index in its plan", seq
	}' | tee "$out/venues_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_own_cluster "$here/venues.sh" "shared_buffers=512MB"
