#!/usr/bin/env bash
# bench/trends.sh — the analysts' daily series (issue 17), each figure
# against a baseline measured in the same run:
#   1. a year of daily trends for one province of BENCH_PEOPLE people
#      (1,000,000): the status series (people by colour and rule at each
#      day's end, the province's total) that an analyst of the province
#      reads from the trends view, against the same series computed from
#      status_history (bench.series_sql: each change counted from its day to
#      the next change's, running sums; the cheapest way without a rollup),
#      rounded and left out by the same rule; both must give the same rows,
#      and the trends query's plan, as it runs (auto_explain, nested
#      statements), must read daily_rollup and no evidence or history table
#      (goal: at least 50x faster);
#   2. the nightly rollup of a day, rollup_day(yesterday), against the bare
#      counts of the same day's rows: count(*) GROUP BY region and colour
#      of the statuses, and of the day's history by region and colours
#      (goal: at most 2x).
#
#   PG_CONFIG=... bench/trends.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_PEOPLE=1000000 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_PEOPLE=${BENCH_PEOPLE:-1000000}
export BENCH_REPS=${BENCH_REPS:-3}
GOAL_YEAR=50
GOAL_ROLLUP=2

inside() {
	local from to yesterday trends_q baseline_q rep t b best_t="" best_b="" r bare1 bare2 best_r="" best_bare=""
	log "== setup: $BENCH_PEOPLE people of Guangdong and a year of their colours (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql -X -q -At -v ON_ERROR_STOP=1 -v people="$BENCH_PEOPLE" -f "$here/trends.sql" >/dev/null
	# the year: the 365 days up to yesterday (China Standard Time)
	yesterday=$(psql_q -c "SELECT (now() AT TIME ZONE 'Asia/Shanghai')::date - 1")
	from=$(psql_q -c "SELECT '$yesterday'::date - 364")
	to=$yesterday
	# a year of the status measure in daily_rollup, as rollup_day writes it
	psql_q <<-SQL >/dev/null
		SELECT format(\$q\$CREATE TABLE bench.district_series AS %s\$q\$, bench.series_sql('$from', '$to', '440000')) \gexec
		INSERT INTO healthcode.daily_rollup (day, measure, level, region, dim1, dim2, dim3, people, events)
		SELECT s.day, 'status', l.level, l.region, s.colour, s.rule, '', sum(s.people), sum(s.people)
		  FROM bench.district_series s CROSS JOIN LATERAL healthcode._region_levels(s.region) l
		 GROUP BY s.day, l.level, l.region, s.colour, s.rule;
		CREATE ROLE bench_analyst LOGIN IN ROLE healthcode_analyst;
		SELECT healthcode.grant_region('bench_analyst', '440000');
		VACUUM ANALYZE;
	SQL
	log "   $(psql_q -c "SELECT count(*) FROM healthcode.status_history") history entries, $(psql_q -c "SELECT count(*) FROM healthcode.daily_rollup") rollup rows ($from to $to)"
	# rollup_day writes the same status rows as the year above, on sample
	# days (within evidence_kept_days: the history is kept that long)
	local day differ=0
	for day in "$yesterday" "$(psql_q -c "SELECT '$yesterday'::date - 30")" "$(psql_q -c "SELECT '$yesterday'::date - 77")"; do
		n=$(psql_q <<-SQL
			CREATE TEMP TABLE filled AS SELECT * FROM healthcode.daily_rollup WHERE day = '$day' AND measure = 'status';
			SELECT healthcode.rollup_day('$day') IS NOT NULL AS rolled \gset
			SELECT count(*) FROM (
			  (SELECT level, region, dim1, dim2, people FROM filled
			   EXCEPT SELECT level, region, dim1, dim2, people FROM healthcode.daily_rollup WHERE day = '$day' AND measure = 'status')
			  UNION ALL
			  (SELECT level, region, dim1, dim2, people FROM healthcode.daily_rollup WHERE day = '$day' AND measure = 'status'
			   EXCEPT SELECT level, region, dim1, dim2, people FROM filled)) x;
		SQL
		)
		differ=$((differ + n))
	done
	log "   rollup_day on $yesterday and 30 and 77 days before writes the status rows of the year above: $([[ $differ == 0 ]] && echo "the same rows" || echo "$differ rows DIFFER")"

	trends_q="SELECT day, dim1, dim2, people FROM healthcode.trends
	           WHERE measure = 'status' AND level = 'province' AND region = '440000' AND day BETWEEN '$from' AND '$to'"
	baseline_q="SELECT s.day, s.colour, s.rule, healthcode._published_count(sum(s.people)::bigint) AS people
	              FROM ($(psql_q -c "SELECT bench.series_sql('$from', '$to', '440000')")) s
	             GROUP BY s.day, s.colour, s.rule HAVING healthcode._published_count(sum(s.people)::bigint) IS NOT NULL"
	local same
	same=$([[ "$(psql_q -c "SET ROLE bench_analyst" -c "$trends_q ORDER BY 1, 2, 3")" == "$(psql_q -c "$baseline_q ORDER BY 1, 2, 3")" ]] &&
		echo "the same rows" || echo "DIFFERENT rows")
	log "   the year from the trends view (as the analyst) and from the history give $same ($(psql_q -c "SELECT count(*) FROM ($baseline_q) x") rows)"
	# the trends query's plan as it runs: the tables it reads
	psql -X -q -At -v ON_ERROR_STOP=1 >/dev/null 2>"$out/trends_plan.txt" <<-SQL
		LOAD 'auto_explain';
		SET auto_explain.log_min_duration = 0;
		SET auto_explain.log_nested_statements = on;
		SET auto_explain.log_level = notice;
		SET ROLE bench_analyst;
		$trends_q;
	SQL
	local tables others
	tables=$(grep -oE ' on [a-z_]+' "$out/trends_plan.txt" | sed 's/ on //' | sort -u | paste -sd ' ' -)
	# (the evidence, the people, their statuses and their history: none may be read)
	others=$(tr ' ' '\n' <<<"$tables" |
		grep -cE '^(person|person_status|status_history|travel.*|test_result|vaccination|contact|declaration|checkin|medicine_sale|code_event.*|audit_finding|manual_decision|correction)$' || true)
	log "   the tables the trends query reads as it runs (bench/out/trends_plan.txt): $tables"

	log "== a year of trends, best of $BENCH_REPS, each in a fresh session"
	for rep in $(seq 1 "$BENCH_REPS"); do
		t=$(time_ms -c 'SET ROLE bench_analyst' -c "$trends_q")
		b=$(time_ms -c "$baseline_q")
		log "   rep $rep: trends $t ms, from the history $b ms"
		best_t=$(min "$best_t" "$t")
		best_b=$(min "$best_b" "$b")
	done
	log "== the nightly rollup of $yesterday, best of $BENCH_REPS, each in a fresh session"
	for rep in $(seq 1 "$BENCH_REPS"); do
		r=$(time_ms -c "SELECT healthcode.rollup_day('$yesterday')")
		bare1=$(time_ms -c "SELECT region, colour, count(*) FROM healthcode.person_status GROUP BY 1, 2")
		bare2=$(time_ms -c "SELECT region, from_colour, to_colour, count(*) FROM healthcode.status_history
		                     WHERE at >= '$yesterday'::timestamp AT TIME ZONE 'Asia/Shanghai'
		                       AND at < ('$yesterday'::date + 1)::timestamp AT TIME ZONE 'Asia/Shanghai' GROUP BY 1, 2, 3")
		log "   rep $rep: rollup_day $r ms, the bare counts $bare1 + $bare2 ms"
		best_r=$(min "$best_r" "$r")
		best_bare=$(min "$best_bare" "$(awk -v a="$bare1" -v b="$bare2" 'BEGIN { print a + b }')")
	done

	echo
	echo "healthcode trends benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "$BENCH_PEOPLE people of one province, a year of colours; best of $BENCH_REPS"
	awk -v t="$best_t" -v b="$best_b" -v r="$best_r" -v bare="$best_bare" -v gy="$GOAL_YEAR" -v gr="$GOAL_ROLLUP" \
		-v same="$same" -v others="$others" -v differ="$differ" 'BEGIN {
		printf "%-58s %9s %9s %8s  %s\n", "figure", "ours", "baseline", "ratio", "goal"
		x = b / t
		printf "%-58s %7.1fms %7.0fms %8.1f  >= %d  %s\n", "a year of a province'\''s trends: from the history / trends", t, b, x, gy,
		       (x >= gy && same == "the same rows" && others == 0 && differ == 0 ? "met" : "NOT MET")
		printf "%-58s %11s\n", "  evidence, people, status or history tables in its plan", others
		x = r / bare
		printf "%-58s %7.0fms %7.0fms %8.2f  <= %d  %s\n", "the nightly rollup of a day / the bare counts", r, bare, x, gr, (x <= gr ? "met" : "NOT MET")
	}' | tee "$out/trends_summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
bench_own_cluster "$here/trends.sh" "max_wal_size=4GB" "shared_buffers=512MB"
