#!/usr/bin/env bash
# Identity checks at checkpoints (issue 14, point 4): CALL
# healthcode.checkpoint_verify_holder(code, identifier, checkpoint) says
# whether a code belongs to the ID document shown with it, for a code that
# verifies now, and gives a checkpoint no way to find out whose a code is:
# wrong identifiers are limited per holder a day and per checking role an
# hour (then "locked", the right one included), and an attempt is committed
# before its answer is read, so that neither a transaction block nor a
# rollback takes back an attempt whose answer was seen. Runs outside a
# transaction (the procedure commits), hence a shell test.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
verifier="hc_hv_$$"
verifier2="hc_hv2_$$"
analyst="hc_ha_$$"
trap 'dropdb --if-exists "$TEST_DB"; for r in "$verifier" "$verifier2" "$analyst"; do psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $r" >/dev/null; done; rm -rf "$TEST_TMP"' EXIT

a_id=330106199001014326 # registered, green
b_id=330106199001015433 # registered, another person
sql >/dev/null <<SQL
SET search_path = healthcode;
SELECT create_key('330000');
SELECT declare('$a_id', '330106', '张三', '{}', 36.6);
SELECT declare('$b_id', '330106', '王五', '{}', 36.6);
SELECT declare(synthetic_identifier('330102', n), '330102') FROM generate_series(1, 3) n;
CREATE ROLE $verifier LOGIN IN ROLE healthcode_verifier;
CREATE ROLE $verifier2 LOGIN IN ROLE healthcode_verifier;
CREATE ROLE $analyst LOGIN IN ROLE healthcode_analyst;
SELECT grant_region('$verifier', '330100'), grant_region('$verifier2', '330100'), grant_region('$analyst', '330100');
SQL
ok $? "keys, five people, verifiers and an analyst of Hangzhou"

code_of() { sql -c "SELECT healthcode.issue_for(healthcode.person_id('$1'))::text"; }
as_role() { # as_role ROLE psql-arguments...: the SQLSTATE alone on an error
	local role=$1
	shift
	PGOPTIONS="-c role=$role" psql -XAtq -v VERBOSITY=sqlstate -F ' ' -d "$TEST_DB" "$@" 2>&1 | sed 's/^ERROR:  //'
}
# check ROLE CODE IDENTIFIER CHECKPOINT: "holder valid colour reason", or the SQLSTATE
check() { as_role "$1" -c "CALL healthcode.checkpoint_verify_holder('$2', '$3', '$4')"; }

code_a=$(code_of "$a_id")
is "$(check "$verifier" "$code_a" "$a_id" 330106)" "matches t green ok" "the holder's own ID number: matches"
is "$(check "$verifier" "$code_a" " ${a_id:0:6} ${a_id:6} " 330106)" "matches t green ok" "typed with blanks: matches"
is "$(check "$verifier" "$code_a" "$b_id" 330106)" "differs t green ok" "another person's ID number: differs"
is "$(check "$verifier" "$code_a" "330106199001014325" 330106)" "22023" "a wrong check character: 22023, not a guess"
is "$(check "$verifier" "HCN:not a code" "$a_id" 330106)" "not_asked f  malformed" "a string that is no code: not asked"
is "$(check "$verifier" "$code_a" "$a_id" 110105)" "42501" "a checkpoint outside the role's regions: 42501"
is "$(check "$analyst" "$code_a" "$a_id" 330106)" "42501" "an analyst may not check"
# a snapshot older than the attempts it must count: refused
is "$(PGOPTIONS="-c role=$verifier -c default_transaction_isolation=serializable" psql -XAtq -v VERBOSITY=sqlstate -d "$TEST_DB" \
	-c "CALL healthcode.checkpoint_verify_holder('$code_a', '$b_id', '330106')" 2>&1 | sed 's/^ERROR:  //')" "25000" \
	"at an isolation level other than READ COMMITTED: refused (25000)"
# the limits are the nation's: no region loosens them
is "$(sql -v VERBOSITY=sqlstate -c "INSERT INTO healthcode.policy (region, valid_from, holder_check_misses_per_day, description_zh, description_en)
                                   VALUES ('330100', now(), 100, 'x', 'x')" 2>&1 | sed 's/^ERROR:  //')" "23514" \
	"a regional policy version cannot set the limits (23514)"

stranger=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('no one here'), 'green')::text")
is "$(check "$verifier" "$stranger" "$a_id" 330106)" "unknown t green ok" \
	"a code whose holder this node does not know: unknown (it cannot tell)"
short=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('$a_id'), 'green', '1 second')::text")
sleep 2
is "$(check "$verifier" "$short" "$a_id" 330106)" "not_asked f green expired" "an expired code is not compared"

# inside a transaction block the procedure cannot commit: refused, and the
# attempt it began is rolled back with nothing answered
got=$(as_role "$verifier" <<SQL
BEGIN;
CALL healthcode.checkpoint_verify_holder('$code_a', '$b_id', '330106');
ROLLBACK;
SQL
)
like "$got" "2D000" "inside a transaction block: refused (2D000), no answer"
# the two steps by hand in one transaction: the answer is refused
got=$(as_role "$verifier" <<SQL
BEGIN;
SELECT healthcode._holder_check_answer(healthcode._holder_check_record('$code_a', '$b_id', '330106'));
ROLLBACK;
SQL
)
like "$got" "25001" "the answer to an attempt of the same transaction is refused (25001)"
got=$(as_role "$verifier" <<SQL
BEGIN;
SAVEPOINT s;
SELECT healthcode._holder_check_record('$code_a', '$b_id', '330106') AS attempt \gset
RELEASE s;
SELECT healthcode._holder_check_answer(:attempt);
ROLLBACK;
SQL
)
like "$got" "25001" "and to one of its subtransactions"
# an error raised in the statement that reads the answer takes nothing back
attempt=$(as_role "$verifier" -c "SELECT healthcode._holder_check_record('$code_a', '$b_id', '330106')")
as_role "$verifier" -c "SELECT CASE WHEN (healthcode._holder_check_answer($attempt)).holder = 'differs' THEN 1/0 END" >/dev/null
is "$(sql -c "SELECT count(*) FROM healthcode.holder_check WHERE outcome = 'differs'")" "2" \
	"committed attempts stay counted whatever happened to the statement that read them"

# a third wrong identifier today against this holder, then the holder is
# locked: the right one is not compared either, for any role
is "$(check "$verifier" "$code_a" "110105199203039997" 330106)" "differs t green ok" "an ID number nobody has: differs too"
is "$(check "$verifier" "$code_a" "$a_id" 330106)" "locked t green ok" \
	"after three wrong identifiers against a holder in a day: locked, even for the right one"
is "$(check "$verifier2" "$(code_of "$a_id")" "$a_id" 330106)" "locked t green ok" "for another role and a fresh code too"
is "$(check "$verifier" "$(code_of "$b_id")" "$b_id" 330106)" "matches t green ok" "another holder is checked as before"

# a national version allowing a role two wrong identifiers an hour
sql -c "INSERT INTO healthcode.policy (region, valid_from, holder_check_misses_per_hour, description_zh, description_en)
        VALUES ('000000', now(), 2, '测试', 'test')" >/dev/null
for n in 1 2; do
	c=$(sql -c "SELECT healthcode.issue_for(healthcode.person_id(healthcode.synthetic_identifier('330102', $n)))::text")
	is "$(check "$verifier2" "$c" "$b_id" 330102)" "differs t green ok" "330102: wrong identifier $n of 2 for this role"
done
c=$(sql -c "SELECT healthcode.issue_for(healthcode.person_id(healthcode.synthetic_identifier('330102', 3)))::text")
is "$(check "$verifier2" "$c" "$(sql -c "SELECT healthcode.synthetic_identifier('330102', 3)")" 330102)" "locked t green ok" \
	"then the role is locked out, whoever it checks"
is "$(check "$verifier" "$(code_of "$b_id")" "$b_id" 330106)" "locked t green ok" \
	"and so is the role with three wrong identifiers this hour (at checkpoints of another district)"

# what is kept: no identifier, no subject; no role reads it
is "$(sql -c "SELECT count(*) FROM healthcode.holder_check h JOIN healthcode.person p ON h.holder = p.subject")" "0" \
	"holder_check keeps no subject"
is "$(sql -c "SELECT count(*) FROM healthcode.holder_check WHERE answered_at IS NULL")" "1" \
	"every attempt committed was answered but the one whose reading failed (its answer's mark rolled back, the attempt kept)"
is "$(as_role "$verifier" -c "SELECT count(*) FROM healthcode.holder_check")" "42501" "no role reads the attempts"
done_testing
