#!/usr/bin/env bash
# Generates doc/reference.md, the reference of every SQL object of the
# extension, from the catalogs of a database where it is installed (by
# tools/reference.sql).
#
#   tools/reference.sh [psql connection args]   print the reference
#   tools/reference.sh --write [psql args]      write it to doc/reference.md
#
# With connection arguments, or PGHOST/PGPORT set, the database must have
# the extension and the role must be a superuser. With neither, it runs in
# a throwaway cluster (pg_virtualenv -t, healthcode preloaded) where it
# creates the extension: it must be installed (make install). The test
# suite's cluster preloads healthcode too (tools/test.sh).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=$root/doc/reference.md

if [ "${1:-}" = --inside-cluster ]; then
	# Runs under pg_virtualenv: a fresh cluster, PGHOST etc. set.
	shift
	db=hc_reference
	createdb "$db"
	psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c 'CREATE EXTENSION healthcode' >/dev/null
	psql -X -d "$db" -f "$root/tools/reference.sql" > "$1"
	exit
fi

write=false
if [ "${1:-}" = --write ]; then write=true; shift; fi
case "${1:-}" in
	--help) sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0 ;;
esac

tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
if [ $# -eq 0 ] && [ -z "${PGHOST:-}" ] && [ -z "${PGPORT:-}" ]; then
	# pg_virtualenv talks on stdout; the reference comes back in a file
	# the cluster's user (postgres, when run as root) never needs to touch.
	chmod 644 "$tmp"
	# (healthcode preloaded, as production runs it and the test suite's
	# cluster does: the settings that exist only then are listed too)
	pg_virtualenv -t -o shared_preload_libraries=healthcode "$0" --inside-cluster "$tmp" >&2
else
	psql -X "$@" -f "$root/tools/reference.sql" > "$tmp"
fi

if $write; then
	cp "$tmp" "$out"
	echo "wrote ${out#"$root"/}" >&2
else
	cat "$tmp"
fi
