#!/usr/bin/env bash
# EXPLAIN by a role that row-level security limits, as the first statement
# of a fresh session: the module (and its EXPLAIN guard) is not loaded yet
# when the statement starts, and must be by the time its executor does
# (planning _rls_scope() loads it). The in-session cases are in
# test/pgtap/roles_scope.sql.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
op="regress_hc_explain_op_$$"
admin="regress_hc_explain_admin_$$"
sql -c "SELECT count(*) FROM healthcode.generate_population(100, 1, 7)" \
	-c "CREATE ROLE $op IN ROLE healthcode_operator" -c "CREATE ROLE $admin IN ROLE healthcode_admin" \
	-c "SELECT healthcode.grant_region('$op', '330100')" >/dev/null
trap 'dropdb --if-exists "$TEST_DB"; psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $op" -c "DROP ROLE IF EXISTS $admin" >/dev/null; rm -rf "$TEST_TMP"' EXIT
fresh() { # fresh ROLE SQL: one statement in a new session as ROLE, errors included
	PGOPTIONS="-c role=$1" psql -XAtq -d "$TEST_DB" -c "$2" 2>&1
}

out=$(fresh "$op" "EXPLAIN ANALYZE SELECT * FROM healthcode.person WHERE region = '110105'")
like "$out" "may not EXPLAIN a query reading person" "a fresh session's first EXPLAIN ANALYZE by an operator is refused"
out=$(fresh "$op" "EXPLAIN (COSTS OFF) SELECT count(*) FROM healthcode.test_result")
like "$out" "may not EXPLAIN a query reading test_result" "so is its first plain EXPLAIN"
out=$(fresh "$op" "SELECT count(*) > 0 FROM healthcode.person")
is "$out" "t" "the query itself runs"
out=$(fresh "$admin" "EXPLAIN (COSTS OFF) SELECT count(*) FROM healthcode.person")
like "$out" "Seq Scan on person" "a national admin's first EXPLAIN runs"
done_testing
