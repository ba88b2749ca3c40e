#!/usr/bin/env bash
# healthcode demo: installs the Debian packages it needs, builds and
# installs the extension, starts a throwaway PostgreSQL 15 cluster with a
# server key (and pg_cron), creates issuer keys, issues and verifies codes
# for a small synthetic population, writes a QR PNG to a file, schedules the
# daily jobs on pg_cron and draws the analysts' charts (demo-out/).
#
#   tools/demo.sh          run the demo, then remove its cluster
#   tools/demo.sh --keep   leave the cluster running to explore with psql
#   tools/demo.sh --stop   stop and remove a kept demo cluster
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

PGBIN=/usr/lib/postgresql/15/bin
PORT=${HEALTHCODE_DEMO_PORT:-54329}
if [ "$(id -u)" -eq 0 ]; then
	run_as=(runuser -u postgres --)
	DEMO_DIR=/var/tmp/healthcode-demo
else
	run_as=()
	DEMO_DIR=${TMPDIR:-/tmp}/healthcode-demo-$(id -un)
fi
DATA=$DEMO_DIR/data
DB=healthcode_demo

stop_cluster() {
	if [ -f "$DATA/postmaster.pid" ]; then
		"${run_as[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$DEMO_DIR"
}

case "${1:-}" in
	--stop) stop_cluster; echo "demo cluster removed"; exit 0 ;;
	--keep) keep=1 ;;
	"") keep=0 ;;
	*) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac

tools/deps.sh
echo "== building and installing the extension"
make -s >/dev/null
make -s install >/dev/null

stop_cluster   # a demo left over from an earlier run
mkdir -p "$DEMO_DIR"
[ "$(id -u)" -eq 0 ] && chown postgres "$DEMO_DIR"
echo "== starting a throwaway PostgreSQL 15 cluster in $DATA (port $PORT)"
"${run_as[@]}" "$PGBIN/initdb" -D "$DATA" -A trust -U postgres --no-instructions >/dev/null
# The server key seals every issuer secret key; only the server's user reads it.
"${run_as[@]}" sh -c "umask 077; head -c 32 /dev/urandom > '$DEMO_DIR/server.key'"
cat >> "$DATA/postgresql.conf" <<CONF
listen_addresses = ''
port = $PORT
unix_socket_directories = '$DEMO_DIR'
healthcode.server_key_file = '$DEMO_DIR/server.key'
shared_preload_libraries = 'healthcode,pg_cron'
cron.database_name = '$DB'
cron.host = '$DEMO_DIR'
CONF
"${run_as[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$DEMO_DIR/server.log" -w start >/dev/null
[ "$keep" -eq 1 ] || trap stop_cluster EXIT

psql_demo() { psql -X -h "$DEMO_DIR" -p "$PORT" -U postgres "$@"; }
psql_demo -q -d postgres -c "CREATE DATABASE $DB"
psql_demo -d "$DB" -f tools/demo.sql

mkdir -p "$repo/demo-out"
psql_demo -d "$DB" -XAtq -c "SELECT encode(healthcode.qr_png(code, 'M', 8), 'base64') FROM public.demo_code WHERE id = 1" |
	base64 -d > "$repo/demo-out/healthcode.png"
psql_demo -d "$DB" -XAtq -c "SELECT healthcode.qr_svg(code, 'M', 8) FROM public.demo_code WHERE id = 1" \
	> "$repo/demo-out/healthcode.svg"
echo
echo "QR image of person 1's code written to $repo/demo-out/healthcode.png (and .svg)."
if command -v zbarimg >/dev/null; then
	echo "zbarimg reads it back as: $(zbarimg --raw -q -Sdisable -Sqrcode.enable "$repo/demo-out/healthcode.png" 2>/dev/null)"
fi
echo
echo "== charts of the analysts' trends and totals (tools/report.sh, gnuplot):"
tools/report.sh -o "$repo/demo-out" -- -h "$DEMO_DIR" -p "$PORT" -U postgres -d "$DB" | grep -E '\.(png|txt)$' | sed "s|^|    $repo/demo-out/|"
echo "People by colour now, by province (status_totals):"
sed 's/^/    /' "$repo/demo-out/province_colours.txt"
echo
if [ "$keep" -eq 1 ]; then
	echo "The demo cluster keeps running. Explore it with:"
	echo "    psql -h $DEMO_DIR -p $PORT -U postgres $DB"
	echo "e.g.  SELECT * FROM healthcode.verify((SELECT code FROM demo_code WHERE id = 2));"
	echo "Stop and remove it with: tools/demo.sh --stop"
else
	echo "The demo cluster is removed now. To keep it running and explore it with psql:"
	echo "    tools/demo.sh --keep"
fi
