#!/usr/bin/env bash
# bench/webapp.sh — the reference web app (issue 18) against its baseline,
# measured in the same run:
#   the citizen's code screen served end to end — HTTP (wrk, keep-alive)
#   through the app (examples/webapp under uWSGI) and PgBouncer (transaction
#   mode, TLS) to the database and back, a logged-in citizen's /code page —
#   against the app's own SQL call (the same statement, the same citizen,
#   the same columns, sent as the app sends it: the simple protocol) made
#   directly from one client, pgbench, over the same number of connections
#   (BENCH_CONNS: HTTP connections and app processes on one side, database
#   connections on the other; TLS on both), each for BENCH_SECONDS (goal: at
#   least 0.5x its rate); every page must answer 200 (wrk with
#   webapp_status.lua). For reading: against the statement prepared, the
#   same call through PgBouncer with TLS (what the pooler costs), and the CPU
#   the app, PgBouncer and the app's server backends spend a page.
#
#   PG_CONFIG=... bench/webapp.sh     (from any directory; PG_CONFIG optional)
#
# Environment: BENCH_CONNS=4 BENCH_SECONDS=10 BENCH_REPS=3
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_CONNS=${BENCH_CONNS:-4}
export BENCH_SECONDS=${BENCH_SECONDS:-10}
export BENCH_REPS=${BENCH_REPS:-3}
GOAL=0.5

# CPU ticks of these processes and their children (the app's master and
# workers, PgBouncer, the server's backends of one login: this stack's
# alone, whatever else runs on the machine)
ticks_of() {
	local p tot=0 f
	for p in "$@" $(for q in "$@"; do pgrep -P "$q"; done); do
		read -r -a f <"/proc/$p/stat" 2>/dev/null || continue
		tot=$((tot + f[13] + f[14]))
	done
	echo "$tot"
}

# pgbench's rate of the app's statement, connections as the page has them
tps_of() {
	pgbench -n -c "$BENCH_CONNS" -j 2 -T "$BENCH_SECONDS" -U web_app -f "$out/webapp_screen.sql" "$@" hcweb 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) .*/\1/p'
}
# a / b, two decimals
ratio_of() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# CPU milliseconds a page: ticks before and after, over the pages served
ms_a_page() { awk -v a="$1" -v b="$2" -v n="$3" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) * 1000 / t / n }'; }

inside() {
	# (not local: the EXIT trap stops it after this function returns)
	stack="$BENCH_CLUSTER_DIR/stack"
	local best_web="" best_direct="" best_pooled="" cookie
	log "== setup: the web app's stack (PostgreSQL $(psql_q -c 'SHOW server_version'), $BENCH_CONNS connections)"
	mkdir -p "$stack"
	# (set first: a stack that fails half-way is stopped too)
	trap '"$root/examples/webapp/stack.sh" down "$stack"' EXIT
	WEB_WORKERS=$BENCH_CONNS WEB_POOL=$BENCH_CONNS "$root/examples/webapp/stack.sh" up "$stack" 127.0.0.1 "$PGPORT" postgres \
		>"$out/webapp_stack.log" 2>&1 || { cat "$out/webapp_stack.log" >&2; exit 1; }
	# shellcheck disable=SC1091
	. "$stack/stack.env"
	local token
	token=$(curl -fsS -c "$out/webapp_cookies" "$URL/login" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p')
	curl -fsS -b "$out/webapp_cookies" -c "$out/webapp_cookies" -o /dev/null --data-urlencode "csrf=$token" \
		-d "username=zhang&password=$PASSWORD" "$URL/login"
	cookie=$(awk '$6 == "session" { print $7 }' "$out/webapp_cookies")
	[ -n "$cookie" ] || { echo "no session cookie from the app's login" >&2; exit 1; }
	# the app's statement, as the app sends it (psycopg2: the simple
	# protocol, the parameter in the text)
	local sql
	sql=$(cd "$root/examples/webapp" && HC_WEB_USERS="$stack/users.json" /usr/bin/python3 -c \
		'import app; print(app.CODE_SCREEN.replace("%s", "'"'"'330106199203154415'"'"'") + ";")')
	printf '%s\n' "$sql" | tr '\n' ' ' >"$out/webapp_screen.sql"
	echo >>"$out/webapp_screen.sql"
	local app_pw
	app_pw=$(sed -n 's/^"web_app" "\(.*\)"$/\1/p' "$stack/bouncer/users.txt")
	# (the page answers 200 with the screen, the statement a row with its QR)
	curl -fsS -H "Cookie: session=$cookie" "$URL/code" | grep -q 'id="screen"' ||
		{ echo "the app's /code page does not show a screen" >&2; exit 1; }
	[ "$(psql -XAtq -h 127.0.0.1 -p "$PGPORT" -U web_app -d hcweb -f "$out/webapp_screen.sql" | grep -c '<svg')" -ge 1 ] ||
		{ echo "the statement returns no QR" >&2; exit 1; }
	local app_pid bouncer_pid
	app_pid=$(cat "$stack/app.pid"); bouncer_pid=$(cat "$stack/bouncer/pgbouncer.pid")

	# (a second of load first: PgBouncer opens its server connections as
	# pages ask, and the backends' CPU is read from those)
	wrk -t2 -c"$BENCH_CONNS" -d1s -H "Cookie: session=$cookie" "$URL/code" >/dev/null
	local rep web direct prepared pooled g0 g1 b0 b1 p0 p1 requests bad backends
	local app_ms="" bouncer_ms="" server_ms="" best_prepared=""
	for rep in $(seq 1 "$BENCH_REPS"); do
		backends=$(pgrep -P "$BENCH_POSTMASTER_PID" -f 'postgres: web_app' | tr '\n' ' ')
		g0=$(ticks_of "$app_pid"); b0=$(ticks_of "$bouncer_pid"); p0=$(ticks_of $backends)
		web=$(wrk -t2 -c"$BENCH_CONNS" -d"${BENCH_SECONDS}s" -s "$here/webapp_status.lua" -H "Cookie: session=$cookie" \
			"$URL/code" | tee "$out/webapp_wrk.txt" | sed -n 's/^Requests\/sec: *\([0-9.]*\).*/\1/p')
		g1=$(ticks_of "$app_pid"); b1=$(ticks_of "$bouncer_pid"); p1=$(ticks_of $backends)
		bad=$(sed -n 's/^not 200: \([0-9]*\)$/\1/p' "$out/webapp_wrk.txt")
		if [ "${bad:-x}" != 0 ]; then
			echo "the app answered other than 200 under load:" >&2; cat "$out/webapp_wrk.txt" >&2; exit 1
		fi
		requests=$(awk -v r="$web" -v s="$BENCH_SECONDS" 'BEGIN { print r * s }')
		direct=$(PGSSLMODE=require tps_of -M simple -h 127.0.0.1 -p "$PGPORT")
		prepared=$(PGSSLMODE=require tps_of -M prepared -h 127.0.0.1 -p "$PGPORT")
		pooled=$(PGPASSWORD=$app_pw PGSSLMODE=verify-full PGSSLROOTCERT="$stack/tls/ca.crt" \
			tps_of -M simple -h 127.0.0.1 -p "$BOUNCER_PORT")
		log "   rep $rep: the page through the app $web/s; the statement direct $direct/s (prepared $prepared/s), through PgBouncer with TLS $pooled/s"
		best_web=$(max "${best_web:-0}" "$web"); best_direct=$(max "${best_direct:-0}" "$direct")
		best_prepared=$(max "${best_prepared:-0}" "$prepared"); best_pooled=$(max "${best_pooled:-0}" "$pooled")
		app_ms=$(ms_a_page "$g0" "$g1" "$requests")
		bouncer_ms=$(ms_a_page "$b0" "$b1" "$requests")
		server_ms=$(ms_a_page "$p0" "$p1" "$requests")
	done

	local ratio verdict
	ratio=$(ratio_of "$best_web" "$best_direct")
	verdict=$(awk -v r="$ratio" -v g="$GOAL" 'BEGIN { print (r >= g ? "met" : "NOT met") }')
	log ""
	log "healthcode web app benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	log "$BENCH_CONNS connections on each side; best of $BENCH_REPS; $BENCH_SECONDS s each"
	printf '%-62s %10s %10s %6s  %s\n' figure ours baseline ratio goal
	printf '%-62s %8.0f/s %8.0f/s %6s  >= %s  %s\n' "the code screen page, HTTP via app + PgBouncer / code_screen direct" \
		"$best_web" "$best_direct" "$ratio" "$GOAL" "$verdict"
	printf '%-62s %8.0f/s %8.0f/s %6s  %s\n' "  the page / code_screen direct, prepared" "$best_web" "$best_prepared" \
		"$(ratio_of "$best_web" "$best_prepared")" "(for reading)"
	printf '%-62s %8.0f/s %8.0f/s %6s  %s\n' "  code_screen through PgBouncer with TLS / direct" "$best_pooled" "$best_direct" \
		"$(ratio_of "$best_pooled" "$best_direct")" "(for reading)"
	printf '  CPU a page (last run): the app %s ms, PgBouncer %s ms, the server %s ms  (for reading)\n' \
		"$app_ms" "$bouncer_ms" "$server_ms"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit
fi
for tool in wrk uwsgi pgbouncer curl; do
	command -v "$tool" >/dev/null || { echo "bench/webapp.sh needs $tool (tools/deps.sh installs it)" >&2; exit 1; }
done
bench_build
bench_own_cluster "$0" shared_preload_libraries=healthcode
