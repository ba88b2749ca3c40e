#!/usr/bin/env bash
# Backend apps behind PgBouncer (Debian's pgbouncer) in transaction mode, as
# they run in production: every call below goes through a real PgBouncer on
# loopback, with two server connections shared by all clients, and answers
# as it does on a direct connection:
#   - scope: an app login sees its own region's people only, whatever
#     connection the pool hands it, and the same error for another region's;
#   - session settings: a client that leaves a session setting behind on a
#     pooled connection (search_path) changes nothing for the next client's
#     calls, which pin their own;
#   - cached keys: after a key rotation on another connection, codes issued
#     through every pooled connection carry the new key;
#   - the identity check at a checkpoint, a procedure that commits between
#     its two steps, works through the pool;
#   - many clients at once: every code screen gives a code that verifies.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH, and pgbouncer.
set -u
. "$(dirname "$0")/tap.bash"

own_cluster_dir pgbouncer
bouncer_pid=
cleanup() {
	# (PgBouncer itself, by its pid file: killing the runuser that started
	# it as root left it running, one a run)
	[ -f "$work/bouncer/pgbouncer.pid" ] && as_db kill "$(cat "$work/bouncer/pgbouncer.pid")" 2>/dev/null
	[ -n "$bouncer_pid" ] && kill "$bouncer_pid" 2>/dev/null
	drop_own_cluster
}
trap cleanup EXIT
own_cluster <<CONF
shared_preload_libraries = 'healthcode'
CONF
direct() { local who=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$who" -d hc "$@"; }
psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d postgres -c 'CREATE DATABASE hc' >/dev/null
direct "$superuser" >/dev/null <<'SQL'
CREATE EXTENSION healthcode;
SELECT healthcode.create_key('330000');
SELECT healthcode.create_key('110000');
CREATE ROLE app_zj LOGIN IN ROLE healthcode_app;
CREATE ROLE app_bj LOGIN IN ROLE healthcode_app;
CREATE ROLE checkpoint_zj LOGIN IN ROLE healthcode_verifier;
SELECT healthcode.grant_region('app_zj', '330000');
SELECT healthcode.grant_region('app_bj', '110000');
SELECT healthcode.grant_region('checkpoint_zj', '330000');
SQL

# ---- PgBouncer, transaction pooling, two server connections for everyone -----------------------------
bport=$(free_port)
mkdir -p "$work/bouncer"
printf '"app_zj" ""\n"app_bj" ""\n"checkpoint_zj" ""\n"%s" ""\n' "$superuser" >"$work/bouncer/users.txt"
cat >"$work/bouncer/pgbouncer.ini" <<INI
[databases]
hc = host=127.0.0.1 port=$port dbname=hc
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $bport
unix_socket_dir =
auth_type = trust
auth_file = $work/bouncer/users.txt
pool_mode = transaction
default_pool_size = 2
max_client_conn = 100
logfile = $work/bouncer/pgbouncer.log
pidfile = $work/bouncer/pgbouncer.pid
INI
chmod -R a+rwX "$work/bouncer"
as_db pgbouncer "$work/bouncer/pgbouncer.ini" >/dev/null 2>&1 &
bouncer_pid=$!
pooled() { local who=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$bport" -U "$who" -d hc "$@"; }
for i in $(seq 1 40); do pooled app_zj -c 'SELECT 1' >/dev/null 2>&1 && break; sleep 0.25; done
is "$(pooled app_zj -c 'SHOW transaction_isolation')" "read committed" "a PgBouncer in transaction mode on loopback answers"

# ---- scope ------------------------------------------------------------------------------------------
zj=$(pooled app_zj -c "SELECT person_id FROM healthcode.declare('330106199001010114', '330106', '张一')")
bj=$(pooled app_bj -c "SELECT person_id FROM healthcode.declare('110105199202020020', '110105', '李二')")
is "$(pooled app_zj -c "SELECT colour FROM healthcode.status($zj)")" "green" "an app declares and reads its own resident through the pool"
pooled_err=$(pooled app_zj -v ON_ERROR_STOP=0 -c "SELECT healthcode.code_screen($bj, 'none')" 2>&1)
direct_err=$(direct app_zj -v ON_ERROR_STOP=0 -c "SELECT healthcode.code_screen($bj, 'none')" 2>&1)
like "$pooled_err" "ERROR: .*no person" "another region's person: refused through the pool"
is "$pooled_err" "$direct_err" "with the same error as on a direct connection"
is "$(pooled app_zj -c "SELECT outcome FROM healthcode.check_statuses(ARRAY[$bj]::bigint[])") $(pooled app_bj -c "SELECT outcome FROM healthcode.check_statuses(ARRAY[$bj]::bigint[])")" \
	"unknown ok" "the scope is the login's, whichever server connection served it"

# ---- session settings left behind on a pooled connection --------------------------------------------------
# (two server connections only: the next clients get one of the two that carry these)
for i in 1 2 3 4; do
	pooled app_zj -c "SET search_path TO pg_temp, public" -c "SET statement_timeout = '1min'" >/dev/null
done
is "$(pooled app_zj -c "SELECT (healthcode.code_screen('330106199001010114', 'none')).colour")" "green" \
	"a client's code screen after others left search_path set on the pooled connections: unaffected (every function pins its own)"
pooled app_zj -c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199001010114\", \"kind\": \"pcr\", \"sampled_at\": \"$(date -u -d '-1 hour' '+%F %T')+00\", \"result\": \"positive\", \"lab\": \"L\", \"sample_id\": \"PB1\"}]')" >/dev/null

# ---- cached keys ------------------------------------------------------------------------------------
for i in 1 2 3 4; do pooled app_zj -c "SELECT healthcode.code_screen($zj, 'none')" >/dev/null; done
new_key=$(direct "$superuser" -c "SELECT encode(healthcode.rotate_key('330000'), 'hex')")
keys=$(for i in 1 2 3 4 5 6; do pooled app_zj -c "SELECT encode(healthcode.key_id((healthcode.code_screen($zj, 'none')).code), 'hex')"; done | sort -u)
is "$keys" "$new_key" "after a rotation on another connection, codes from every pooled connection carry the new key"

# ---- the identity check at a checkpoint, a procedure committing between its steps ------------------------
code=$(pooled app_zj -c "SELECT (healthcode.code_screen($zj, 'none')).code")
is "$(pooled checkpoint_zj -c "CALL healthcode.checkpoint_verify_holder('$code', '330106199001010114', '330106', NULL, NULL, NULL, NULL)" | cut -d'|' -f1,3)" \
	"matches|red" "the identity check answers through the pool: the code is this document's, red"
is "$(pooled checkpoint_zj -c "CALL healthcode.checkpoint_verify_holder('$code', '110105199202020020', '330106', NULL, NULL, NULL, NULL)" | cut -d'|' -f1)" \
	"differs" "and another document's is not"

# ---- many clients at once ---------------------------------------------------------------------------------
clients=()
for c in 1 2 3 4 5 6 7 8; do
	(for i in 1 2 3 4 5; do pooled app_zj -c "SELECT (healthcode.code_screen('330106199001010114', 'none')).code"; done >"$work/codes.$c") &
	clients+=($!)
done
wait "${clients[@]}"
is "$(cat "$work"/codes.* | wc -l)" "40" "eight clients, five code screens each, through two server connections"
bad=0
while read -r c; do
	[ "$(pooled checkpoint_zj -c "SELECT (healthcode.verify('$c')).reason")" = ok ] || bad=$((bad + 1))
done < <(cat "$work"/codes.*)
is "$bad" "0" "every code verifies at a checkpoint, through the pool"
is "$(grep -c 'ERROR\|FATAL' "$work/bouncer/pgbouncer.log")" "0" "PgBouncer logged no error"
done_testing
