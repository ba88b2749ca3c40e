#!/usr/bin/env bash
# The reference web app's stack on a running PostgreSQL cluster (healthcode
# preloaded, a server key set): its database (data.sql), TLS certificates
# for loopback, PgBouncer in transaction mode in front of the database
# (TLS both ways), and the app under uWSGI behind it.
#
#   stack.sh up WORK HOST PORT SUPERUSER   start it all; WORK/stack.env says where
#   stack.sh down WORK                     stop the app and PgBouncer
#
# WORK: a directory of the stack's own (made; as root, given to the
# postgres user, who runs PgBouncer and the app: PgBouncer refuses root).
# WORK/stack.env: URL, the logins' password (PASSWORD), the venue's code,
# the ports. Environment: WEB_WORKERS (the app's processes, default 2),
# WEB_POOL (PgBouncer's server connections, default 4), WEB_PORT (default
# a free one).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "stack.sh: $*" >&2; exit 1; }
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))
		ss -Htan "sport = :$p" 2>/dev/null | grep -q . || { echo "$p"; return; }
	done
}
if [ "$(id -u)" -eq 0 ]; then as_owner() { runuser -u postgres -- "$@"; }; else as_owner() { "$@"; }; fi

down() {
	local work=$1 f
	for f in "$work/app.pid" "$work/bouncer/pgbouncer.pid"; do
		[ -f "$f" ] && kill "$(cat "$f")" 2>/dev/null || true
	done
	return 0
}

up() {
	local work=$1 host=$2 port=$3 superuser=$4
	command -v pgbouncer >/dev/null || die "needs pgbouncer (Debian: pgbouncer)"
	command -v uwsgi >/dev/null || die "needs uwsgi (Debian: uwsgi-core uwsgi-plugin-python3)"
	mkdir -p "$work/tls" "$work/bouncer"
	local password app_pw verifier_pw analyst_pw
	password=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 12)
	app_pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	verifier_pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	analyst_pw=$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
	local psql_su=(psql -XAtq -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$superuser")

	# ---- TLS on loopback: a CA of the stack's own and a certificate for 127.0.0.1
	(
		cd "$work/tls"
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=healthcode web stack CA" \
			-keyout ca.key -out ca.crt 2>/dev/null
		openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout server.key -out server.csr 2>/dev/null
		printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >san.ext
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
			-extfile san.ext -out server.crt 2>/dev/null
		chmod 600 server.key ca.key
	)
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$work"

	# ---- the database, and TLS on the server (PgBouncer connects with it)
	PGOPTIONS="-c client_min_messages=warning" "${psql_su[@]}" -d postgres -c "DROP DATABASE IF EXISTS hcweb" -c "CREATE DATABASE hcweb" >/dev/null
	"${psql_su[@]}" -d postgres >/dev/null <<-SQL
		ALTER SYSTEM SET ssl = on;
		ALTER SYSTEM SET ssl_cert_file = '$work/tls/server.crt';
		ALTER SYSTEM SET ssl_key_file = '$work/tls/server.key';
		SELECT pg_reload_conf();
	SQL
	"${psql_su[@]}" -d postgres -c "DROP ROLE IF EXISTS web_app" -c "DROP ROLE IF EXISTS web_verifier" \
		-c "DROP ROLE IF EXISTS web_analyst" >/dev/null 2>&1 || true
	"${psql_su[@]}" -d hcweb -v app_password="$app_pw" -v verifier_password="$verifier_pw" \
		-v analyst_password="$analyst_pw" -v out="$work/data.json" -f "$here/data.sql" >/dev/null
	local venue_code
	venue_code=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["venue_code"])' "$work/data.json")

	# ---- the app's own logins (users.json): password hashes, what each is
	/usr/bin/python3 - "$work/users.json" "$password" "$venue_code" <<-'PY'
		import json, sys
		from werkzeug.security import generate_password_hash
		path, password, venue_code = sys.argv[1:4]
		h = generate_password_hash(password)
		users = {
		    "zhang": {"kind": "citizen", "identifier": "330106199203154415"},
		    "li": {"kind": "citizen", "identifier": "330106199506202349"},
		    "zhao": {"kind": "citizen", "identifier": "330106198001011235", "dependants": ["330106194001015676"]},
		    "wang": {"kind": "citizen", "identifier": "110101199001011237"},
		    "gate": {"kind": "doorkeeper", "venue_code": venue_code, "venue_name": "湖滨银泰"},
		    "check": {"kind": "checkpoint", "checkpoint": "330102", "checkpoint_name": "杭州东站"},
		    "analyst": {"kind": "analyst", "region": "330000"},
		}
		for u in users.values():
		    u["password"] = h
		json.dump(users, open(path, "w"), ensure_ascii=False, indent=1)
	PY

	# ---- PgBouncer: transaction pooling, TLS from the app and to the server
	local bport hport
	bport=$(free_port)
	hport=${WEB_PORT:-$(free_port)}
	printf '"web_app" "%s"\n"web_verifier" "%s"\n"web_analyst" "%s"\n' "$app_pw" "$verifier_pw" "$analyst_pw" \
		>"$work/bouncer/users.txt"
	cat >"$work/bouncer/pgbouncer.ini" <<-INI
		[databases]
		hcweb = host=127.0.0.1 port=$port dbname=hcweb
		[pgbouncer]
		listen_addr = 127.0.0.1
		listen_port = $bport
		unix_socket_dir =
		auth_type = scram-sha-256
		auth_file = $work/bouncer/users.txt
		pool_mode = transaction
		default_pool_size = ${WEB_POOL:-4}
		max_client_conn = 200
		client_tls_sslmode = require
		client_tls_cert_file = $work/tls/server.crt
		client_tls_key_file = $work/tls/server.key
		server_tls_sslmode = verify-full
		server_tls_ca_file = $work/tls/ca.crt
		pidfile = $work/bouncer/pgbouncer.pid
		logfile = $work/bouncer/pgbouncer.log
	INI
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$work"
	chmod 600 "$work/bouncer/users.txt" "$work/users.json"
	as_owner pgbouncer -d "$work/bouncer/pgbouncer.ini" >/dev/null

	# ---- the app, under uWSGI (HTTP/1.1 with keep-alive, parsed in C)
	local dsn="host=127.0.0.1 port=$bport dbname=hcweb sslmode=verify-full sslrootcert=$work/tls/ca.crt"
	as_owner env HC_WEB_DSN_APP="$dsn user=web_app password=$app_pw" \
		HC_WEB_DSN_VERIFIER="$dsn user=web_verifier password=$verifier_pw" \
		HC_WEB_DSN_ANALYST="$dsn user=web_analyst password=$analyst_pw" \
		HC_WEB_USERS="$work/users.json" HC_WEB_SECRET="$(head -c 32 /dev/urandom | base64)" \
		uwsgi --plugin python3 --http11-socket "127.0.0.1:$hport" --master --processes "${WEB_WORKERS:-2}" \
		--chdir "$here" --module app:app --die-on-term --need-app --disable-logging \
		--pidfile "$work/app.pid" --daemonize "$work/app.log"
	local i
	for i in $(seq 1 50); do
		curl -fsS -o /dev/null "http://127.0.0.1:$hport/login" 2>/dev/null && break
		sleep 0.2
	done
	curl -fsS -o /dev/null "http://127.0.0.1:$hport/login" || { tail -20 "$work/app.log" >&2; die "the app did not start"; }
	cat >"$work/stack.env" <<-ENV
		URL=http://127.0.0.1:$hport
		PASSWORD=$password
		VENUE_CODE='$venue_code'
		BOUNCER_PORT=$bport
		APP_DSN='$dsn user=web_app password=$app_pw'
	ENV
}

case "${1:-}" in
	up) [ $# -eq 5 ] || die "usage: stack.sh up WORK HOST PORT SUPERUSER"; up "$2" "$3" "$4" "$5" ;;
	down) [ $# -eq 2 ] || die "usage: stack.sh down WORK"; down "$2" ;;
	*) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
