#!/usr/bin/env bash
# What a DBA watches, scraped the way they would: Prometheus'
# postgres_exporter (Debian's prometheus-postgres-exporter) on loopback,
# connected as a login in pg_monitor only, with tools/prometheus/healthcode.yaml:
#   - healthcode.monitoring's numbers appear as healthcode_value metrics,
#     equal to what the view says, and follow a change (an audit);
#   - the pg_monitor login reads the view and nothing personal;
#   - the exporter's own metrics say the query ran without error.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH, and the exporter installed.
set -u
. "$(dirname "$0")/tap.bash"

repo=$(cd "$(dirname "$0")/../.." && pwd)
own_cluster_dir monitoring
exporter_pid=
cleanup() {
	[ -n "$exporter_pid" ] && kill "$exporter_pid" 2>/dev/null
	drop_own_cluster
}
trap cleanup EXIT
own_cluster </dev/null
on() { local who=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$who" -d hc "$@"; }
psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres -c 'CREATE DATABASE hc' >/dev/null
on "$superuser" -c 'CREATE EXTENSION healthcode' -c 'CREATE ROLE monitor LOGIN IN ROLE pg_monitor' \
	-c 'SELECT count(*) FROM healthcode.generate_population(300, 5, 2, 0.05)' >/dev/null

is "$(on monitor -c "SELECT count(*) > 10 FROM healthcode.monitoring")" "t" "a pg_monitor login reads the monitoring view"
is "$(on monitor -v ON_ERROR_STOP=0 -c 'SELECT count(*) FROM healthcode.person' 2>&1 | grep -c 'permission denied')" "1" \
	"and nothing personal"

eport=$(free_port)
# (a clean environment: the exporter's driver refuses some of the PG* variables
# a test harness sets, PGSYSCONFDIR among them, and needs none)
env -i PATH="$PATH" DATA_SOURCE_NAME="host=127.0.0.1 port=$port user=monitor dbname=hc sslmode=disable" \
	prometheus-postgres-exporter --web.listen-address="127.0.0.1:$eport" \
	--extend.query-path="$repo/tools/prometheus/healthcode.yaml" >"$work/exporter.log" 2>&1 &
exporter_pid=$!
scrape() { python3 -c "import urllib.request,sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$eport/metrics', timeout=10).read().decode())" 2>/dev/null; }
for i in $(seq 1 40); do scrape >/dev/null && break; sleep 0.25; done
scrape >/dev/null || sed 's/^/# exporter: /' "$work/exporter.log" >&2
metric() { scrape | sed -n "s/^healthcode_value{label=\"\([^\"]*\)\",metric=\"$1\"[^}]*} \(.*\)$/\2/p" | head -1; }
pending=$(on monitor -c "SELECT value FROM healthcode.monitoring WHERE metric = 'declarations_pending_audit'")
[ "${pending:-0}" -gt 0 ] || diag "no declaration waits for the audit: the next test proves nothing"
is "$(metric declarations_pending_audit)" "$pending" \
	"the exporter on loopback serves healthcode_value{metric=\"declarations_pending_audit\"}, as the view says"
is "$(scrape | grep -c '^healthcode_value{')" "$(on monitor -c 'SELECT count(*) FROM healthcode.monitoring')" "every row of the view, one metric each"
on "$superuser" -c 'SELECT count(*) FROM healthcode.audit()' >/dev/null
is "$(metric declarations_pending_audit)" "0" "after the audit, the next scrape says no declaration waits"
like "$(scrape | grep '^pg_exporter_user_queries_load_error')" ' 0$' "the exporter loaded the query file without error"
is "$(scrape | grep -c '^pg_exporter_last_scrape_error 0')" "1" "and scraped without error"
done_testing
