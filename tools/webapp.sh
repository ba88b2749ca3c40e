#!/usr/bin/env bash
# The reference web app (examples/webapp) on a throwaway cluster: installs
# the Debian packages it needs, builds and installs the extension, starts a
# PostgreSQL 15 cluster on loopback with the app's data (a small synthetic
# population, the people the pages are tried with, a venue), PgBouncer in
# transaction mode with TLS, and the app under uWSGI; prints the URL and
# the logins, and serves until Ctrl-C (then removes it all).
#
#   tools/webapp.sh          start, serve until Ctrl-C
#   tools/webapp.sh --stop   stop and remove one left running (e.g. killed)
# Environment: WEB_PORT (the app's port, default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

PGBIN=/usr/lib/postgresql/15/bin
PORT=${HEALTHCODE_WEBAPP_PG_PORT:-54339}
if [ "$(id -u)" -eq 0 ]; then
	run_as=(runuser -u postgres --)
	SUPER=postgres
	DIR=/var/tmp/healthcode-webapp
else
	run_as=()
	SUPER=$(id -un)
	DIR=${TMPDIR:-/tmp}/healthcode-webapp-$(id -un)
fi
DATA=$DIR/data

sleeper=
stop_all() {
	[ -n "$sleeper" ] && kill "$sleeper" 2>/dev/null
	[ -d "$DIR/stack" ] && examples/webapp/stack.sh down "$DIR/stack"
	if [ -f "$DATA/postmaster.pid" ]; then
		"${run_as[@]}" "$PGBIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null || true
	fi
	rm -rf "$DIR"
}

case "${1:-}" in
	--stop) stop_all; echo "web app and its cluster removed"; exit 0 ;;
	"") ;;
	*) sed -n '2,12s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac

tools/deps.sh
echo "== building and installing the extension"
make -s >/dev/null
make -s install >/dev/null

stop_all   # one left over from an earlier run
mkdir -p "$DIR/stack"
[ "$(id -u)" -eq 0 ] && chown -R postgres "$DIR"
echo "== starting a throwaway PostgreSQL 15 cluster in $DATA (127.0.0.1:$PORT)"
# (peer for the socket, the superuser's way in; passwords on loopback:
# PgBouncer's logins, never trust)
"${run_as[@]}" "$PGBIN/initdb" -D "$DATA" --auth-local=peer --auth-host=scram-sha-256 -U "$SUPER" \
	--no-instructions >/dev/null
"${run_as[@]}" sh -c "umask 077; head -c 32 /dev/urandom > '$DIR/server.key'"
cat >>"$DATA/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$DIR'
healthcode.server_key_file = '$DIR/server.key'
shared_preload_libraries = 'healthcode'
CONF
"${run_as[@]}" "$PGBIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w start >/dev/null
trap stop_all EXIT
# (Ctrl-C, or a kill: exit, and the EXIT trap removes it all)
trap 'exit 130' INT
trap 'exit 143' TERM

echo "== the app's database, TLS, PgBouncer and the app (examples/webapp/stack.sh)"
WEB_PORT=${WEB_PORT:-8080} examples/webapp/stack.sh up "$DIR/stack" "$DIR" "$PORT" "$SUPER"
# shellcheck disable=SC1091
. "$DIR/stack/stack.env"
cat <<INFO

The reference web app runs at $URL
Logins (password $PASSWORD for each):
  zhang     a citizen, green: the code screen, the itinerary card
  li        a citizen, red
  zhao      a guardian: his mother's code screen too (she has no phone)
  wang      a Beijing resident: the Zhejiang app shows him nothing
  gate      the door keeper of a supermarket: its venue code, visitors' scans
  check     a checkpoint: paste a scanned code, or upload a photo of a screen
  analyst   Zhejiang's analyst: trends and people by colour by region
The app: $repo/examples/webapp (its README says how it is built).
Press Ctrl-C to stop; the cluster and the stack are removed then.
INFO
while :; do
	sleep 3600 &
	sleeper=$!
	wait "$sleeper"
done
