#!/usr/bin/env bash
# pg_dump holds no usable secret: the issuer key appears only sealed, and
# the secret (recovered here with the server key file, as only the server
# can) is nowhere in the dump. A restore keeps the trust list exactly once,
# old codes verify, and the restored node can issue with the same key file.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
root=$(cd "$(dirname "$0")/../.." && pwd)
unseal="$root/test/unit/unseal_tool"
keyfile=$(psql -XAtq -d "$TEST_DB" -c 'SHOW healthcode.server_key_file')

sql -c "SELECT healthcode.create_key('330000')" >/dev/null
code=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('dump'), 'yellow', '1 hour')")
revoked_code=$(sql -c "SELECT healthcode.issue('330106', healthcode.pseudonym('dump, revoked'), 'green', '1 hour')")
sql -c "SELECT healthcode.revoke_code('$revoked_code', 'dump test')" >/dev/null
read -r key_id region sealed < <(sql -F ' ' -c "SELECT encode(t.key_id, 'hex'), t.region, encode(s.sealed, 'hex')
                                               FROM healthcode.trust_list t JOIN healthcode.issuer_key_secret s USING (key_id)")

pg_dump -d "$TEST_DB" -f "$TEST_TMP/plain.sql"
pg_dump -Fc -d "$TEST_DB" -f "$TEST_TMP/custom.dump"
grep -q "$sealed" "$TEST_TMP/plain.sql"; ok $? "the dump holds the sealed secret (so a restore can issue)"

secret=$("$unseal" "$keyfile" "$key_id" "$region" "$sealed")
ok $? "the sealed secret opens with the server key file"
is "${#secret}" "128" "it is a 64-byte Ed25519 secret key"
seed=${secret:0:64}
! grep -qi "$seed" "$TEST_TMP/plain.sql"; ok $? "the secret seed is nowhere in the dump"
head -c 32 /dev/urandom > "$TEST_TMP/wrong.key"
"$unseal" "$TEST_TMP/wrong.key" "$key_id" "$region" "$sealed" >/dev/null 2>&1
is "$?" "1" "without the right server key the sealed blob is useless"

restored="${TEST_DB}_restored"
createdb "$restored"
trap 'dropdb --if-exists "$TEST_DB"; dropdb --if-exists "$restored"; rm -rf "$TEST_TMP"' EXIT
pg_restore -d "$restored" "$TEST_TMP/custom.dump" 2>&1 | grep -v '^$'
is "$(psql -XAtq -d "$restored" -c 'SELECT count(*) FROM healthcode.trust_list')" "1" "the restored trust list has the key once"
is "$(psql -XAtq -d "$restored" -c 'SELECT count(*) FROM healthcode.issuer_key_secret')" "1" "the restored secret table has it once"
is "$(psql -XAtq -d "$restored" -c "SELECT count(*) FROM healthcode.verify_reason")" \
	"$(psql -XAtq -d "$TEST_DB" -c "SELECT count(*) FROM healthcode.verify_reason")" "install-time rows are not doubled by the restore"
is "$(psql -XAtq -d "$restored" -c "SELECT (healthcode.verify('$code')).reason")" "ok" "a code issued before the dump verifies after the restore"
is "$(psql -XAtq -d "$restored" -c "SELECT (healthcode.verify('$revoked_code')).reason")" "revoked" \
	"a code revoked before the dump is still revoked after the restore"
is "$(psql -XAtq -d "$restored" -c "SELECT (healthcode.verify(healthcode.issue('330106', healthcode.pseudonym('dump'), 'green'))).reason")" \
	"ok" "the restored node issues with the same key file"

done_testing
