# Minimal TAP helpers for the shell tests (run by `prove`), and the
# database each test makes for itself in the running test cluster.
_tap_n=0
_tap_failed=0
ok() { # ok CONDITION_EXIT_STATUS NAME
	_tap_n=$((_tap_n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $_tap_n - $2"; else echo "not ok $_tap_n - $2"; _tap_failed=$((_tap_failed + 1)); fi
}
is() { # is GOT EXPECTED NAME
	if [ "$1" = "$2" ]; then ok 0 "$3"; else ok 1 "$3"; diag "  got:      $1" "  expected: $2"; fi
}
like() { # like GOT REGEX NAME
	if printf '%s' "$1" | grep -Eq -- "$2"; then ok 0 "$3"; else ok 1 "$3"; diag "  got: $1" "  not matching: $2"; fi
}
# diagnostics on stderr: prove shows them without -v, so a CI log says why
# ("#!": tools/test.sh repeats these lines under its failures)
diag() { printf '#! %s\n' "$@" >&2; }
done_testing() { echo "1..$_tap_n"; [ "$_tap_failed" -eq 0 ]; }

# The OS user the server runs as: key files must belong to it.
server_os_user() { stat -c %U "$(psql -XAtq -d postgres -c 'SHOW data_directory')"; }

# A fresh database with the extension; dropped when the test exits.
make_test_db() {
	TEST_DB="hc_$(basename "$0" .sh)_$$"
	createdb "$TEST_DB"
	psql -XAtq -d "$TEST_DB" -c 'CREATE EXTENSION healthcode' >/dev/null
	trap 'dropdb --if-exists "$TEST_DB"; rm -rf "$TEST_TMP"' EXIT
	TEST_TMP=$(mktemp -d)
	chmod 755 "$TEST_TMP"
}
sql() { psql -XAtq -v ON_ERROR_STOP=1 -d "$TEST_DB" "$@"; }

# A free TCP port on this machine, for a cluster of a test's own: one no
# listener holds now (a start can still lose it to another test's cluster:
# recalc_workers.sh and code_events.sh try once more on another port).
free_port() {
	local p lo
	# (below the kernel's range of ephemeral ports, 32768 and up by default:
	# there the local end of any outgoing connection, the nodes' own
	# replication connections among them, can take the port between this
	# check and the server's start; and no socket of any state on it)
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "${lo:-0}" -gt 12000 ] 2>/dev/null || lo=32768
	while :; do
		p=$((10000 + RANDOM % (lo - 10000)))
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}

# own_cluster_dir NAME: for a test that runs clusters of its own (initdb and
# pg_ctl of pg_config's install): PGBIN, a work directory under /tmp that the
# server's OS user may write (work), as_db (runs a command as that user) and
# superuser (that user's database role).
own_cluster_dir() {
	PGBIN=$(pg_config --bindir)
	work=$(mktemp -d "/tmp/hc_$1.XXXXXX")
	chmod 755 "$work"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres "$work"
		as_db() { runuser -u postgres -- "$@"; }
		superuser=postgres
	else
		as_db() { "$@"; }
		superuser=$(id -un)
	fi
}

# own_cluster: after own_cluster_dir, a cluster of the test's own in
# $work/data (data) on a free loopback port (port), with a server key of its
# own, its socket in $work and the further settings given on stdin, started.
# (A first start that fails says why from the server log and is tried once
# more on another port: another test's cluster may take the port between
# the check and the start; once in CI the log went with the work directory.)
# start_cluster, stop_cluster (fast) and drop_own_cluster (immediate, and
# the work directory: the tests' EXIT trap) work on it.
own_cluster() {
	data="$work/data"
	port=$(free_port)
	as_db "$PGBIN/initdb" -D "$data" -A trust -U "$superuser" --no-instructions >/dev/null
	as_db sh -c "umask 077; head -c 32 /dev/urandom > '$work/server.key'"
	{
		printf "listen_addresses = '127.0.0.1'\nport = %s\nunix_socket_directories = '%s'\n" "$port" "$work"
		printf "healthcode.server_key_file = '%s'\n" "$work/server.key"
		cat
	} >>"$data/postgresql.conf"
	if ! start_cluster; then
		tail -n 5 "$work/log" | sed 's/^/# server log: /' >&2
		port=$(free_port)
		sed -i "s/^port = .*/port = $port/" "$data/postgresql.conf"
		start_cluster
	fi
}
start_cluster() { as_db "$PGBIN/pg_ctl" -D "$data" -l "$work/log" -w start >/dev/null; }
stop_cluster() { as_db "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null; }
drop_own_cluster() {
	[ -n "${data:-}" ] && [ -f "$data/postmaster.pid" ] && as_db "$PGBIN/pg_ctl" -D "$data" -m immediate -w stop >/dev/null 2>&1
	rm -rf "$work"
}

