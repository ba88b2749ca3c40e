#!/usr/bin/env bash
# Drafts the development version's update script from the last release.
# Installs the last released version as it was, the same updated with the
# update script as it stands, and the development version fresh; prints,
# for every function whose definition, comment or grants differ from the
# release (or that is new), its statements taken from src/sql/ (CREATE made
# CREATE OR REPLACE), then what else still differs between the updated and
# the fresh install (pg_dump), to write by hand.
# Paste what fits into src/sql/update/LAST--NEW.sql, read it, and run
# test/shell/upgrade_security.sh, which proves the result (doc/releasing.md).
#
#   tools/update-draft.sh          print the draft (needs a server: PGHOST etc.;
#                                  make install first)
#   tools/update-draft.sh --write  rewrite the function part of the update
#                                  script (between its two marker lines),
#                                  then print what else still differs
set -euo pipefail
cd "$(dirname "$0")/.."
last=$(ls releases/healthcode--*.sql | sed -n 's|^releases/healthcode--\([0-9.]*\)\.sql$|\1|p' | sort -V | tail -n 1)
db=hc_update_draft_$$
trap 'for d in release updated new; do dropdb --if-exists "${db}_$d"; done' EXIT
for d in release updated new; do createdb "${db}_$d"; done
psql -XAtq -v ON_ERROR_STOP=1 -d "${db}_release" -c "CREATE EXTENSION healthcode VERSION '$last'"
psql -XAtq -v ON_ERROR_STOP=1 -d "${db}_new" -c "CREATE EXTENSION healthcode"
fns() { psql -XAtq -d "$1" -F $'\t' -c "
  SET search_path = pg_catalog;
  SELECT p.oid::regprocedure, md5(CASE WHEN p.prokind = 'a' THEN '' ELSE pg_get_functiondef(p.oid) END ||
                               coalesce(obj_description(p.oid, 'pg_proc'), '') ||
                               coalesce(p.proacl::text, ''))
    FROM pg_proc p JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
    JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'healthcode'
   WHERE p.prokind IN ('f', 'p', 'a') ORDER BY 1"; }
changed=$(comm -13 <(fns "${db}_release" | sort) <(fns "${db}_new" | sort) | cut -f1 | sed -n 's/^healthcode\.\([a-z_0-9]*\)(.*/\1/p' | sort -u)
functions() {
	echo "-- functions new or changed since $last: $(echo ${changed:-none})"
	[ -z "$changed" ] || python3 tools/sql_statements.py $changed
}
update=src/sql/update/$last--$(sed -n 's/^   "version": "\(.*\)",$/\1/p' META.json).sql
marker='-- ---- functions changed since the release: written by tools/update-draft.sh --write'
end_marker='-- ---- end of what tools/update-draft.sh writes'
if [ "${1:-}" = --write ]; then
	# what stands before the marker and after the end marker is kept
	{ awk -v m="$marker" '$0 == m { exit } { print }' "$update"; echo "$marker"; functions; echo; echo "$end_marker"
	  awk -v m="$end_marker" 'found { print } $0 == m { found = 1 }' "$update"; } >"$update.new"
	mv "$update.new" "$update"
	echo "wrote $update; make install and run again to see what else differs"
else
	functions
fi
# (the update script as installed: after --write, make install first)
psql -XAtq -v ON_ERROR_STOP=1 -d "${db}_updated" -c "CREATE EXTENSION healthcode VERSION '$last'" -c "ALTER EXTENSION healthcode UPDATE" ||
	{ echo "the installed update script fails (above); fix it, make install and run again"; exit 1; }
echo "-- the rest of the schema difference (pg_dump), to write by hand:"
dump() { pg_dump --binary-upgrade --schema-only -d "$1" |
	grep -v 'binary_upgrade_set_next\|binary_upgrade_set_missing\|^-- set missing value\.\|binary_upgrade_create_empty_extension\|relfrozenxid\|WHERE oid = \|^\\restrict\|^\\unrestrict\|^-- Dumped' | cat -s; }
diff <(dump "${db}_updated") <(dump "${db}_new") | grep -v '^[<>] *$' | head -200 || true
