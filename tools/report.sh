#!/usr/bin/env bash
# Charts of the analysts' views, drawn by gnuplot (Debian's gnuplot-nox):
#   colours_by_day   people by colour at each day's end (trends, status)
#   red_by_rule      the red by the rule that made them, per day
#   tests_by_day     people tested and positive, per day (trends, test)
#   province_colours people by colour now, province by province (status_totals)
# each as PNG and SVG, and the province x colour table as text. It reads
# the views as the role it connects as, so an analyst gets their own
# regions, rounded and suppressed as the views show them; the days are
# those the daily job rolled up (rollup_day).
#
#   tools/report.sh [-o DIR] [-r REGION] [-d DAYS] [-- PSQL-ARGS...]
#     -o DIR     where to write (default report-out)
#     -r REGION  the series of one region (a division code at any level;
#                default the nation, 000000)
#     -d DAYS    how many days back (default 30)
#   e.g. tools/report.sh -r 330000 -- -h /var/run/postgresql -d hc -U analyst
set -euo pipefail

out=report-out
region=000000
days=30
while getopts "o:r:d:h" opt; do
	case "$opt" in
		o) out=$OPTARG ;;
		r) region=$OPTARG ;;
		d) days=$OPTARG ;;
		*) sed -n '2,16s/^# \{0,1\}//p' "$0"; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
command -v gnuplot >/dev/null || { echo "report.sh needs gnuplot (Debian: apt-get install gnuplot-nox)" >&2; exit 1; }
[[ "$region" =~ ^[0-9]{6}$ ]] || { echo "region must be a six-digit division code, not $region" >&2; exit 2; }
[[ "$days" =~ ^[0-9]{1,4}$ ]] || { echo "days must be a number of days, not $days" >&2; exit 2; }
mkdir -p "$out"
q() { psql -X -q -A -t -F $'\t' -v ON_ERROR_STOP=1 -v region="$region" -v days="$days" "$@"; }
since="(now() AT TIME ZONE 'Asia/Shanghai')::date - :days"

# ---- the data, one tab-separated file a chart (a header line first) ------------------
{
	printf 'day\tgreen\tyellow\tred\n'
	q "$@" <<SQL
SELECT day, COALESCE(sum(people) FILTER (WHERE dim1 = 'green'), 0), COALESCE(sum(people) FILTER (WHERE dim1 = 'yellow'), 0),
       COALESCE(sum(people) FILTER (WHERE dim1 = 'red'), 0)
  FROM healthcode.trends WHERE measure = 'status' AND region = :'region' AND day >= $since
 GROUP BY day ORDER BY day;
SQL
} >"$out/colours_by_day.tsv"
rules=$(q "$@" <<SQL
SELECT string_agg(DISTINCT dim2, ' ' ORDER BY dim2) FROM healthcode.trends
 WHERE measure = 'status' AND dim1 = 'red' AND region = :'region' AND day >= $since AND dim2 <> '';
SQL
)
{
	printf 'day'; for r in $rules; do printf '\t%s' "$r"; done; printf '\n'
	q "$@" <<SQL
SELECT d.day, string_agg(COALESCE(t.people, 0)::text, E'\t' ORDER BY r.rule)
  FROM (SELECT DISTINCT day FROM healthcode.trends WHERE measure = 'status' AND region = :'region' AND day >= $since) d
 CROSS JOIN unnest(string_to_array(NULLIF('$rules', ''), ' ')) r(rule)
  LEFT JOIN healthcode.trends t ON t.day = d.day AND t.measure = 'status' AND t.region = :'region' AND t.dim1 = 'red' AND t.dim2 = r.rule
 GROUP BY d.day ORDER BY d.day;
SQL
} >"$out/red_by_rule.tsv"
{
	printf 'day\ttested\tpositive\n'
	q "$@" <<SQL
SELECT day, COALESCE(sum(people) FILTER (WHERE dim1 = ''), 0), COALESCE(sum(people) FILTER (WHERE dim1 = 'positive'), 0)
  FROM healthcode.trends WHERE measure = 'test' AND region = :'region' AND day >= $since
 GROUP BY day ORDER BY day;
SQL
} >"$out/tests_by_day.tsv"
{
	printf 'province\tgreen\tyellow\tred\n'
	q "$@" <<SQL
SELECT region, COALESCE(sum(people) FILTER (WHERE colour = 'green'), 0), COALESCE(sum(people) FILTER (WHERE colour = 'yellow'), 0),
       COALESCE(sum(people) FILTER (WHERE colour = 'red'), 0)
  FROM healthcode.status_totals WHERE level = 'province' GROUP BY region ORDER BY region;
SQL
} >"$out/province_colours.tsv"
column -t -s $'\t' "$out/province_colours.tsv" >"$out/province_colours.txt"

# ---- the charts ---------------------------------------------------------------------------
draw() { # draw NAME TITLE YLABEL PLOT-COMMANDS
	local name=$1 title=$2 ylabel=$3 plot=$4 term
	for term in "pngcairo size 900,500 font ',10'" "svg size 900,500 font ',10'"; do
		local ext=${term%% *}; ext=${ext%cairo}
		# (a single day draws as a single point: gnuplot's warning about it is noise)
		gnuplot 2> >(grep -v 'empty x range' >&2) <<GP
set terminal $term
set output '$out/$name.$ext'
set datafile separator '\t'
set key outside right top autotitle columnhead
set title "$title"
set ylabel "$ylabel"
set yrange [0:*]
set grid ytics
$plot
GP
	done
}
dated="set xdata time; set timefmt '%Y-%m-%d'; set format x '%m-%d'; set xtics rotate by -45"
empty() { [ "$(wc -l <"$1")" -le 1 ]; }
if empty "$out/colours_by_day.tsv"; then echo "no rolled-up days for $region in the last $days days (rollup_day)" >&2; fi
empty "$out/colours_by_day.tsv" ||
	draw colours_by_day "People by colour at each day's end, $region" people \
		"$dated; plot '$out/colours_by_day.tsv' using 1:2 with linespoints lc rgb '#2e8b57', '' using 1:3 with linespoints lc rgb '#d4a017', '' using 1:4 with linespoints lc rgb '#c0392b'"
empty "$out/red_by_rule.tsv" || [ -z "$rules" ] ||
	draw red_by_rule "Red at each day's end, by the rule that made them, $region" people \
		"$dated; plot for [c=2:$(( $(wc -w <<<"$rules") + 1 ))] '$out/red_by_rule.tsv' using 1:c with linespoints"
empty "$out/tests_by_day.tsv" ||
	draw tests_by_day "People tested and positive, by sampling day, $region" people \
		"$dated; plot '$out/tests_by_day.tsv' using 1:2 with linespoints, '' using 1:3 with linespoints lc rgb '#c0392b'"
empty "$out/province_colours.tsv" ||
	draw province_colours "People by colour now, by province" people \
		"set style data histograms; set style histogram rowstacked; set style fill solid 0.8 border -1; set boxwidth 0.6; set xtics rotate by -45; plot '$out/province_colours.tsv' using 2:xtic(1) lc rgb '#2e8b57', '' using 3 lc rgb '#d4a017', '' using 4 lc rgb '#c0392b'"
ls "$out"
