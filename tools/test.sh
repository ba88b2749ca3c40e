#!/usr/bin/env bash
# The whole healthcode test suite: installs what it needs, builds (warnings
# are errors), installs, then runs the C unit tests, a short fuzz run of
# every parser, and — in a throwaway PostgreSQL cluster — pg_regress,
# pgTAP (pg_prove) and the shell tests (prove).
#
#   tools/test.sh                 everything
#   FUZZ_SECONDS=60 tools/test.sh a longer fuzz run (default 20 s a target)
set -uo pipefail
cd "$(dirname "$0")/.."

if [ "${1:-}" = --inside-cluster ]; then
	# Runs inside pg_virtualenv: PGHOST, PGPORT, PGUSER are set.
	rc=0
	echo "== pg_regress (make installcheck)"
	if ! make -s installcheck; then
		[ -f regression.diffs ] && cat regression.diffs
		rc=1
	fi
	echo "== pgTAP (pg_prove)"
	createdb hc_tap &&
		psql -XqAt -d hc_tap -c 'CREATE EXTENSION pgtap; CREATE EXTENSION dblink; CREATE EXTENSION healthcode;' &&
		# (with the day and month partitions made, as the daily job makes them
		# in a database in use: the tests run against partitions, not only
		# against the default ones)
		psql -XqAt -d hc_tap -c 'SELECT healthcode.create_partitions()' >/dev/null &&
		pg_prove -d hc_tap test/pgtap/*.sql || rc=1
	echo "== shell tests (prove)"
	prove test/shell/*.sh || rc=1
	exit $rc
fi

tools/deps.sh || exit 1
log=$(mktemp)
trap 'rm -f "$log"; rm -rf "$keydir"' EXIT
failed_stages=()
stage() { # stage NAME COMMAND...: runs it, output to screen and log
	local name=$1; shift
	echo; echo "=== $name"
	"$@" 2>&1 | tee -a "$log"
	[ "${PIPESTATUS[0]}" -eq 0 ] || failed_stages+=("$name")
}

stage build bash -c 'make -s clean && make -s COPT=-Werror && make -s install'
stage "C unit tests" make -s unittest
stage "fuzz (${FUZZ_SECONDS:-20} s a target)" make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-20}"
stage "unseal tool" make -s test/unit/unseal_tool

# The cluster's server key: readable only by the user the server runs as.
keydir=$(mktemp -d)
chmod 755 "$keydir"
head -c 32 /dev/urandom > "$keydir/server.key"
chmod 600 "$keydir/server.key"
[ "$(id -u)" -eq 0 ] && chown postgres "$keydir/server.key"
# (healthcode preloaded, as production runs it: codes counted in shared
# memory; test/shell/code_events.sh runs a cluster without it too)
stage "server tests" pg_virtualenv -t -o "healthcode.server_key_file=$keydir/server.key" \
	-o "shared_preload_libraries=healthcode" "$0" --inside-cluster

# One closing line for all: individual test counts from each runner.
passed=0; failed=0
add() { passed=$((passed + $1)); failed=$((failed + $2)); }
while read -r p f; do add "$p" "$f"; done < <(sed -n 's/^unit: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$log")
while read -r n; do add "$n" 0; done < <(sed -n 's/^ *All \([0-9]*\) tests passed\..*/\1/p' "$log")
while read -r f n; do add $((n - f)) "$f"; done < <(sed -n 's/^ *\([0-9]*\) of \([0-9]*\) tests failed\..*/\1 \2/p' "$log")
# prove / pg_prove: "Files=F, Tests=N," and failures from "Failed a/b subtests"
while read -r n; do add "$n" 0; done < <(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\),.*/\1/p' "$log")
while read -r f; do add $((-f)) "$f"; done < <(sed -n 's/^Failed \([0-9]*\)\/[0-9]* subtests.*/\1/p' "$log")

echo
if [ ${#failed_stages[@]} -gt 0 ]; then
	# Named again here, because the runner's own report scrolls away under
	# the server log that pg_virtualenv prints when a test fails.
	echo "failures:"
	# (with the diagnostics of failed tests: the shell tests' "#! " lines
	# on stderr, pgTAP's "#   Failed test" and what it got)
	grep -E '^(not ok|test/[^ ]+ +\(Wstat|  Failed tests?:|Dubious|.* \.\.\. +FAILED|not ok )|^ +(not ok|[a-z0-9_]+ +\.\.\. FAILED)|^unit: .*[1-9][0-9]* failed|^#!|^# +(Failed test|have:|want:|got:|expected:)' "$log" | sed 's/^/  /' | head -80
	echo "FAILED stages: ${failed_stages[*]}"
	[ "$failed" -gt 0 ] || failed=${#failed_stages[@]}
fi
echo "tests: $passed passed, $failed failed"
[ ${#failed_stages[@]} -eq 0 ]
