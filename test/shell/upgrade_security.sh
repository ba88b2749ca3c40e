#!/usr/bin/env bash
# Every released version (releases/), installed and updated step by step to
# the version in development, gives exactly what a fresh install gives and
# keeps the data; the released scripts are unchanged; and neither installing nor updating nor using the extension can be
# hijacked by objects another role planted on the search path:
#   - a schema named like the extension's, made beforehand by another role,
#     is refused (its owner could have planted anything in it);
#   - a stray object in the extension's schema stops an update;
#   - functions and operators shadowing the built-ins the extension uses,
#     put first on the search path of the installing, updating and calling
#     sessions, are never called (each raises if it is).
set -u
. "$(dirname "$0")/tap.bash"
TEST_TMP=$(mktemp -d)
chmod 755 "$TEST_TMP"
base="hc_upg_$$"
hostile="regress_hc_hostile_$$"
cleanup() {
	for d in fresh guard stray planted old_sql from_0_1_0 from_0_2_0 from_0_3_0; do dropdb --if-exists "${base}_$d" 2>/dev/null; done
	psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $hostile" 2>/dev/null
	rm -rf "$TEST_TMP"
}
trap cleanup EXIT
q() { local db=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -d "${base}_$db" "$@"; }
# A schema dump that a fresh install and an update must share: pg_dump's
# binary-upgrade mode lists the extension's members, minus the lines that
# carry OIDs and transaction ids, and the stored value of a column an
# update added with a default to a table with rows (storage, not schema).
schema_dump() {
	pg_dump --binary-upgrade --schema-only -d "${base}_$1" |
		grep -v 'binary_upgrade_set_next\|binary_upgrade_set_missing\|^-- set missing value\.\|binary_upgrade_create_empty_extension\|relfrozenxid\|WHERE oid = \|^\\restrict\|^\\unrestrict\|^-- Dumped' | cat -s
}

# ---- 1. every released version, updated step by step: == fresh install ---------
# The released scripts are frozen: their checksums are the ones recorded
# when each was released (releases/SHA256SUMS; doc/releasing.md).
root=$(cd "$(dirname "$0")/../.." && pwd)
(cd "$root/releases" && sha256sum --quiet -c SHA256SUMS) >"$TEST_TMP/sums" 2>&1
ok $? "every released script is unchanged since its release (releases/SHA256SUMS)"
[ -s "$TEST_TMP/sums" ] && sed 's/^/# /' "$TEST_TMP/sums"
createdb "${base}_fresh"
q fresh -c 'CREATE EXTENSION healthcode'
schema_dump fresh >"$TEST_TMP/fresh.sql"
default=$(q fresh -c "SELECT extversion FROM pg_extension WHERE extname = 'healthcode'")
is "$default" "$(sed -n 's/^   "version": "\(.*\)",$/\1/p' "$root/META.json")" "a fresh install is the version META.json names"
released=$(ls "$root"/releases/healthcode--*.sql | sed -n 's|.*/healthcode--\([0-9.]*\)\.sql$|\1|p' | sort -V)
for v in $released; do
	db="from_${v//./_}"
	createdb "${base}_$db"
	q "$db" -c "CREATE EXTENSION healthcode VERSION '$v'"
	q "$db" -c "SELECT healthcode.create_key('330000')" >/dev/null
	code=$(q "$db" -c "SELECT healthcode.issue('330106', healthcode.pseudonym('upgrade'), 'yellow', '1 hour')")
	# The library is this one already, the SQL still $v's: what a database
	# has between the package's installation and ALTER EXTENSION UPDATE.
	# Where $v has the status engine, it must keep working.
	# (in a database of its own: the rows would show in the schema dump's
	# sequence values)
	if [ "$(q "$db" -c "SELECT count(*) FROM pg_proc WHERE proname = 'declare'")" -gt 0 ]; then
		createdb "${base}_old_sql"
		q old_sql -c "CREATE EXTENSION healthcode VERSION '$v'"
		q old_sql -c "SELECT healthcode.declare('330106199001010018', '330106')" >/dev/null
		q old_sql -c "INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case)
		              SELECT healthcode.person_id('330106199001010018'), '330106', 'secondary', now() - interval '1 day', 'upgrade'" >/dev/null
		is "$(q old_sql -c "SELECT colour FROM healthcode.health_info('330106199001010018')")" "yellow" \
			"under $v's SQL this library recalculates (a secondary contact: yellow) before the update"
		dropdb "${base}_old_sql"
	fi
	# one version at a time, as a DBA who skipped none would
	path=$(q "$db" -c "SELECT string_agg(v, ' ' ORDER BY n) FROM unnest(string_to_array(
	         (SELECT path FROM pg_extension_update_paths('healthcode') WHERE source = '$v' AND target = '$default'),
	         '--')) WITH ORDINALITY u(v, n) WHERE n > 1")
	# Venue scans a person made twice in a minute, which a version before
	# the scans' unique index kept: the update keeps the earliest (in a
	# database of its own, as above).
	if [ -n "$path" ] && [ "$(q "$db" -c "SELECT count(*) FROM pg_attribute WHERE attrelid = 'healthcode.travel'::regclass
	                                        AND attname = 'venue'")" = 1 ] \
	   && [ "$(q "$db" -c "SELECT count(*) FROM pg_indexes WHERE indexname LIKE '%scan_minute'")" = 0 ]; then
		createdb "${base}_old_sql"
		q old_sql -c "CREATE EXTENSION healthcode VERSION '$v'"
		q old_sql -c "SELECT healthcode.declare('330106199001010018', '330106')" \
		          -c "SELECT healthcode.create_travel_partitions()" >/dev/null
		q old_sql -c "INSERT INTO healthcode.travel (person_id, region, place, at, source, venue)
		              SELECT healthcode.person_id('330106199001010018'), '330106', '330106',
		                     date_trunc('minute', now()) - interval '1 hour' + s * interval '10 seconds' + k * interval '1 second',
		                     'venue_scan', 'gate ' || k
		                FROM generate_series(0, 2) s, generate_series(1, 2) k" >/dev/null
		for step in $path; do
			q old_sql -c "ALTER EXTENSION healthcode UPDATE TO '$step'" 2>>"$TEST_TMP/update.err" || break
		done
		is "$(q old_sql -c "SELECT string_agg(venue || ' ' || extract(second FROM at)::int, ', ' ORDER BY venue)
		                      FROM healthcode.travel WHERE source = 'venue_scan'")" "gate 1 1, gate 2 2" \
			"$v updated: of the venue scans $v kept thrice in a minute at each of two venues, the earliest of each stays"
		dropdb "${base}_old_sql"
	fi
	# The tables partitioned by month in 0.3.0 (status_history, checkin,
	# test_result), made anew by the update: their rows kept, in the default
	# partitions, until create_partitions() moves them into their months
	# (in a database of its own, as above).
	if [ -n "$path" ] && [ "$(q "$db" -c "SELECT count(*) FROM pg_class WHERE oid = 'healthcode.checkin'::regclass
	                                        AND relkind = 'r'")" = 1 ]; then
		createdb "${base}_old_sql"
		q old_sql -c "CREATE EXTENSION healthcode VERSION '$v'"
		q old_sql -c "SELECT healthcode.declare('330106199001010018', '330106')" \
		          -c "SELECT healthcode.import_test_results(json_build_array(json_build_object(
		                'identifier', '330106199001010018', 'kind', 'pcr', 'sampled_at', now() - interval '2 days',
		                'result', 'positive', 'lab', 'lab 1', 'sample_id', 'U1')))" \
		          -c "SELECT healthcode.check_in('330106199001010018', 36.6)" >/dev/null
		rows="SELECT (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM healthcode.test_result x) || ' '
		          || (SELECT md5(string_agg(x::text, ',' ORDER BY x.id)) FROM healthcode.checkin x) || ' '
		          || (SELECT md5(string_agg(x.id || x.at::text || x.to_colour::text, ',' ORDER BY x.id)) FROM healthcode.status_history x)
		          || ' ' || (SELECT colour FROM healthcode.health_info('330106199001010018'))"
		before=$(q old_sql -c "$rows")
		for step in $path; do
			q old_sql -c "ALTER EXTENSION healthcode UPDATE TO '$step'" 2>>"$TEST_TMP/update.err" || break
		done
		is "${before##* }|$(q old_sql -c "$rows")" "red|$before" \
			"$v updated: its test results, check-ins and history kept, row for row, and the person's colour (red)"
		q old_sql -c "SELECT healthcode.create_partitions()" >/dev/null
		is "$(q old_sql -c "SELECT (SELECT count(*) FROM ONLY healthcode.test_result_default) + (SELECT count(*) FROM ONLY healthcode.checkin_default)
		                           + (SELECT count(*) FROM ONLY healthcode.status_history_default)")|$(q old_sql -c "$rows")" "0|$before" \
			"$v updated: create_partitions() then moves them into their months, unchanged"
		q old_sql -c "SELECT healthcode.import_test_results(json_build_array(json_build_object(
		                'identifier', '330106199001010018', 'kind', 'pcr', 'sampled_at', now() - interval '1 hour',
		                'result', 'negative', 'lab', 'lab 1', 'sample_id', 'U2')))" >/dev/null
		is "$(q old_sql -c "SELECT string_agg(t.sample_id || ':' || (k.lab IS NOT NULL), ' ' ORDER BY t.sample_id)
		                      || ' ' || (SELECT count(*) FROM healthcode.test_result_sample)
		                      FROM healthcode.test_result t LEFT JOIN healthcode.test_result_sample k USING (lab, sample_id, person_id)")" \
			"U1:true U2:true 2" \
			"$v updated: test_result_sample holds the sample of 0.2.0's result, and of one imported after the update, and no other"
		dropdb "${base}_old_sql"
	fi
	# Travel's day partitions made by $v (no members of the extension, so not
	# in the schema dump) end with the indexes a partition made after the
	# update has (0.3.0 widened the (place, at) index).
	if [ -n "$path" ] && [ "$(q "$db" -c "SELECT count(*) FROM pg_proc WHERE proname = 'create_travel_partitions'")" -gt 0 ]; then
		createdb "${base}_old_sql"
		q old_sql -c "CREATE EXTENSION healthcode VERSION '$v'" -c "SELECT healthcode.create_travel_partitions()" >/dev/null
		for step in $path; do
			q old_sql -c "ALTER EXTENSION healthcode UPDATE TO '$step'" 2>>"$TEST_TMP/update.err" || break
		done
		q old_sql -c "SELECT healthcode.create_travel_partitions(current_date + 30, current_date + 30)" >/dev/null
		# (each partition's index definitions, its name written P)
		is "$(q old_sql -c "SELECT count(*) || ' partitions, ' || count(DISTINCT x.defs) || ' set of indexes'
		                      FROM (SELECT string_agg(replace(pg_get_indexdef(i.indexrelid), c.relname, 'P'), '; '
		                                              ORDER BY replace(pg_get_indexdef(i.indexrelid), c.relname, 'P')) AS defs
		                              FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid JOIN pg_index i ON i.indrelid = c.oid
		                             WHERE h.inhparent = 'healthcode.travel'::regclass GROUP BY c.relname) x")" \
		   "$(q old_sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'healthcode.travel'::regclass") partitions, 1 set of indexes" \
			"$v updated: its travel partitions have the indexes of one made after the update"
		like "$(q old_sql -c "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
		                        WHERE c.relname = 'travel_' || to_char(current_date, 'YYYYMMDD') || '_place_at'")" \
		     "INCLUDE \\(person_id, id, venue\\)" "$v updated: a partition it made reads a stay's venue from the (place, at) index"
		dropdb "${base}_old_sql"
	fi
	for step in $path; do
		q "$db" -c "ALTER EXTENSION healthcode UPDATE TO '$step'" 2>>"$TEST_TMP/update.err" || break
	done
	is "$(q "$db" -c "SELECT extversion FROM pg_extension WHERE extname = 'healthcode'")" "$default" \
		"$v updates step by step (${path:-none needed}) to $default"
	schema_dump "$db" >"$TEST_TMP/updated_$v.sql"
	diff -u "$TEST_TMP/fresh.sql" "$TEST_TMP/updated_$v.sql" >"$TEST_TMP/schema_$v.diff"
	ok $? "$v updated: the schema is exactly a fresh install's (pg_dump --binary-upgrade --schema-only)"
	[ -s "$TEST_TMP/schema_$v.diff" ] && head -40 "$TEST_TMP/schema_$v.diff" | sed 's/^/# /'
	is "$(q "$db" -c "SELECT (healthcode.verify('$code')).reason")" "ok" "a code issued under $v verifies after the update"
	q "$db" -c "SELECT healthcode.declare('33010619900101123X', '330106')" >/dev/null
	is "$(q "$db" -c "SELECT colour FROM healthcode.health_info('33010619900101123X')")" "green" \
		"the status engine works in the database updated from $v"
	dropdb "${base}_$db"
done

# ---- 2. a schema made beforehand by another role is refused -------------------
psql -XAtq -d postgres -c "CREATE ROLE $hostile LOGIN" >/dev/null
createdb "${base}_guard"
q guard -c "GRANT CREATE ON DATABASE ${base}_guard TO $hostile"
q guard -c "SET ROLE $hostile" -c 'CREATE SCHEMA healthcode' \
	-c "CREATE FUNCTION healthcode.lower(text) RETURNS text LANGUAGE sql AS \$\$ SELECT 'hijacked' \$\$"
err=$(q guard -c 'CREATE EXTENSION healthcode' 2>&1)
like "$err" "schema healthcode belongs to $hostile" "CREATE EXTENSION refuses a schema another role made"
is "$(q guard -c "SELECT count(*) FROM pg_extension WHERE extname = 'healthcode'")" "0" "and installs nothing"

# ---- 3. a stray object in the extension's schema stops an update ---------------
createdb "${base}_stray"
q stray -c "CREATE EXTENSION healthcode VERSION '0.1.0'"
q stray -c "CREATE FUNCTION healthcode.btrim(text) RETURNS text LANGUAGE sql AS \$\$ SELECT 'hijacked' \$\$"
err=$(q stray -c 'ALTER EXTENSION healthcode UPDATE' 2>&1)
like "$err" "holds objects that are not part of healthcode: function healthcode.btrim\(text\)" \
	"ALTER EXTENSION UPDATE refuses while a stray function sits in the schema"
is "$(q stray -c "SELECT extversion FROM pg_extension WHERE extname = 'healthcode'")" "0.1.0" "and leaves 0.1.0 in place"

# ---- 4. shadowing built-ins on the search path never run ------------------------
createdb "${base}_planted"
q planted -c "GRANT CREATE ON SCHEMA public TO $hostile"
# Each hostile object raises when called: any use of it fails the statement.
q planted -v hostile="$hostile" <<'SQL' >/dev/null
SET ROLE :"hostile";
CREATE FUNCTION public.hostile() RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'hostile object called as %', current_user; END $$;
CREATE FUNCTION public.lower(text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE FUNCTION public.upper(text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE FUNCTION public.btrim(text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE FUNCTION public.length(text) RETURNS integer LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN 1 END $$;
CREATE FUNCTION public.left(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE FUNCTION public.right(text, integer) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE FUNCTION public.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN pg_catalog.now() END $$;
CREATE FUNCTION public.statement_timestamp() RETURNS timestamptz LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN pg_catalog.now() END $$;
CREATE FUNCTION public.cardinality(anyarray) RETURNS integer LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN 1 END $$;
CREATE FUNCTION public.jsonb_typeof(jsonb) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN 'x' END $$;
CREATE FUNCTION public.hostile_eq(text, text) RETURNS boolean LANGUAGE sql AS $$ SELECT public.hostile() $$;
CREATE OPERATOR public.= (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hostile_eq);
CREATE FUNCTION public.hostile_concat(text, text) RETURNS text LANGUAGE sql AS $$ SELECT CASE WHEN public.hostile() THEN $1 END $$;
CREATE OPERATOR public.|| (LEFTARG = text, RIGHTARG = text, FUNCTION = public.hostile_concat);
CREATE FUNCTION public.hostile_lt(timestamptz, timestamptz) RETURNS boolean LANGUAGE sql AS $$ SELECT public.hostile() $$;
CREATE OPERATOR public.< (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = public.hostile_lt);
SQL
ok $? "the hostile role plants functions and operators shadowing built-ins in public"
like "$(q planted -c 'SET search_path = public, pg_catalog' -c "SELECT 'a'::text = 'a'::text" 2>&1)" "hostile object called" \
	"with public first on the search path, the plants do shadow the built-ins"
# Everyone below works with the hostile objects first on their search path.
export PGOPTIONS="-c search_path=public,pg_catalog"
q planted -c "CREATE EXTENSION healthcode VERSION '0.1.0'" 2>"$TEST_TMP/e1"
ok $? "CREATE EXTENSION (0.1.0) runs no planted object"
[ -s "$TEST_TMP/e1" ] && sed 's/^/# /' "$TEST_TMP/e1"
q planted -c 'ALTER EXTENSION healthcode UPDATE' 2>"$TEST_TMP/e2"
ok $? "ALTER EXTENSION UPDATE runs no planted object"
[ -s "$TEST_TMP/e2" ] && sed 's/^/# /' "$TEST_TMP/e2"
q planted -c "SELECT healthcode.create_key('000000')" -c "SELECT count(*) FROM healthcode.generate_population(60)" \
	>/dev/null 2>"$TEST_TMP/e3"
ok $? "generating a population (every evidence table and its triggers) runs no planted object"
[ -s "$TEST_TMP/e3" ] && sed 's/^/# /' "$TEST_TMP/e3"
# (the statements name pg_catalog themselves where they call built-ins: the
# planted objects would catch the caller's own expressions otherwise)
q planted -e <<SQL >"$TEST_TMP/o4" 2>"$TEST_TMP/e4"
CREATE ROLE ${hostile}_app IN ROLE healthcode_app;
CREATE ROLE ${hostile}_op IN ROLE healthcode_operator;
SELECT healthcode.grant_region('${hostile}_app', '330000'), healthcode.grant_region('${hostile}_op', '330000');
SET ROLE ${hostile}_app;
SELECT * FROM healthcode.declare(' 33010619900101123X ', '330106', '张三', '{cough}', 37.9, '{330102}', true);
SELECT healthcode.import_travel('[{"identifier": "33010619900101123X", "place": "330106", "at": "$(date -u -d '-1 day' '+%Y-%m-%d %H:%M:%S')+00"}]');
SELECT healthcode.import_test_results('[{"identifier": "33010619900101123X", "kind": "pcr", "sampled_at": "$(date -u -d '-2 hours' '+%Y-%m-%d %H:%M:%S')+00", "result": "negative", "lab": "L", "sample_id": "S1"}]');
SELECT * FROM healthcode.health_info('33010619900101123X');
SELECT healthcode.issue_for(healthcode.person_id('33010619900101123X'));
SELECT * FROM healthcode.status(healthcode.person_id('33010619900101123X'), pg_catalog.now() + interval '20 days');
RESET ROLE;
SET ROLE ${hostile}_op;
SELECT count(*) FROM healthcode.current_status WHERE colour <> 'green';
SELECT count(*) FROM healthcode.status_changes;
SELECT * FROM healthcode.audit();
INSERT INTO healthcode.contact (person_id, region, kind, exposure_at, source_case)
SELECT id, region, 'close', pg_catalog.now() - interval '1 day', 'hostile-case' FROM healthcode.person WHERE region LIKE '33%' LIMIT 3;
SELECT healthcode.record_decision(healthcode.person_id('33010619900101123X'), 'override', 'test', 'order 1', 'green');
RESET ROLE;
SELECT count(*) FROM healthcode.check_consistency();
SELECT count(*) FROM healthcode.verify_decision_chain();
DROP OWNED BY ${hostile}_app, ${hostile}_op;
DROP ROLE ${hostile}_app, ${hostile}_op;
SQL
ok $? "applications and operators use every interface, view and trigger without running a planted object"
[ -s "$TEST_TMP/e4" ] && { tail -5 "$TEST_TMP/o4"; cat "$TEST_TMP/e4"; } | sed "s/^/# /" | head -30
unset PGOPTIONS
q planted -c "DROP OWNED BY $hostile" >/dev/null
q guard -c "DROP OWNED BY $hostile" >/dev/null 2>&1
done_testing
