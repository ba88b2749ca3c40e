#!/usr/bin/env bash
# The reference web app's stack on a running PostgreSQL cluster (healthcode
# preloaded, a server key set, listening on 127.0.0.1): its database
# (data.sql), TLS certificates for loopback, PgBouncer in transaction mode
# in front of the database (TLS both ways), and the app under uWSGI.
#
#   stack.sh up WORK HOST PORT SUPERUSER   start it all; WORK/stack.env says where
#   stack.sh down WORK                     stop the app and PgBouncer
#
# For a cluster of its own, a throwaway (tools/webapp.sh, the browser test,
# bench/webapp.sh): up drops and makes the database hcweb and the roles
# web_app, web_verifier and web_analyst, and turns the server's TLS on with
# a certificate kept in WORK (ALTER SYSTEM); down undoes none of it.
# HOST: how SUPERUSER reaches the server (a socket directory, or
# 127.0.0.1); as root, psql runs as the postgres user (peer
# authentication). PgBouncer reaches it on 127.0.0.1:PORT.
# WORK: a directory of the stack's own (made; as root, given to the
# postgres user, who runs PgBouncer and the app: PgBouncer refuses root),
# every file in it readable by its owner only. WORK/stack.env: URL, the
# logins' password (PASSWORD), the venue's code, the ports.
# Environment: WEB_WORKERS (the app's processes, default 2), WEB_POOL
# (PgBouncer's server connections, default 4), WEB_PORT (default a free one).
set -Eeuo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "stack.sh: $*" >&2; exit 1; }
port_free() { ! ss -Htan "sport = :$1" 2>/dev/null | grep -q .; }
free_port() {
	local p
	while :; do
		p=$((20000 + RANDOM % 10000))
		port_free "$p" && { echo "$p"; return; }
	done
}
secret() { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c "${1:-20}"; }
if [ "$(id -u)" -eq 0 ]; then as_owner() { runuser -u postgres -- "$@"; }; else as_owner() { "$@"; }; fi

down() {
	local work=$1 f
	# (as the user they run as: a pid file names no process of anyone else)
	for f in "$work/app.pid" "$work/bouncer/pgbouncer.pid"; do
		[ -f "$f" ] && as_owner kill "$(cat "$f")" 2>/dev/null || true
	done
	return 0
}

up() {
	local work=$1 host=$2 port=$3 superuser=$4
	command -v pgbouncer >/dev/null || die "needs pgbouncer (Debian: pgbouncer)"
	command -v uwsgi >/dev/null || die "needs uwsgi (Debian: uwsgi-core uwsgi-plugin-python3)"
	local hport bport
	hport=${WEB_PORT:-$(free_port)}
	port_free "$hport" || die "port $hport is taken"
	bport=$(free_port)
	# (everything written here is its owner's alone: passwords, keys)
	umask 077
	mkdir -p "$work/tls" "$work/bouncer"
	chmod 700 "$work"
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$work"
	# (whatever fails from here stops what started)
	trap 'down "$work"' ERR
	local password app_pw verifier_pw analyst_pw
	password=$(secret 12)
	app_pw=$(secret); verifier_pw=$(secret); analyst_pw=$(secret)
	local psql_su=(as_owner psql -XAtq -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U "$superuser")

	# ---- TLS on loopback: a CA of the stack's own and a certificate for 127.0.0.1
	as_owner sh -c "
		cd '$work/tls' &&
		openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=healthcode web stack CA' \
			-keyout ca.key -out ca.crt 2>/dev/null &&
		openssl req -newkey rsa:2048 -nodes -subj '/CN=127.0.0.1' -keyout server.key -out server.csr 2>/dev/null &&
		printf 'subjectAltName = IP:127.0.0.1, DNS:localhost\n' >san.ext &&
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
			-extfile san.ext -out server.crt 2>/dev/null &&
		chmod 644 ca.crt"

	# ---- the database, and TLS on the server (PgBouncer connects with it)
	PGOPTIONS="-c client_min_messages=warning" "${psql_su[@]}" -d postgres \
		-c "DROP DATABASE IF EXISTS hcweb" -c "CREATE DATABASE hcweb" >/dev/null
	"${psql_su[@]}" -d postgres >/dev/null <<-SQL
		ALTER SYSTEM SET ssl = on;
		ALTER SYSTEM SET ssl_cert_file = '$work/tls/server.crt';
		ALTER SYSTEM SET ssl_key_file = '$work/tls/server.key';
		SELECT pg_reload_conf();
	SQL
	PGOPTIONS="-c client_min_messages=warning" "${psql_su[@]}" -d postgres -c "DROP ROLE IF EXISTS web_app" \
		-c "DROP ROLE IF EXISTS web_verifier" -c "DROP ROLE IF EXISTS web_analyst" >/dev/null
	# (the logins' passwords from a file, never on a command line)
	printf '\\set app_password %s\n\\set verifier_password %s\n\\set analyst_password %s\n\\set out %s\n' \
		"$app_pw" "$verifier_pw" "$analyst_pw" "$work/data.json" >"$work/secrets.psql"
	[ "$(id -u)" -eq 0 ] && chown postgres "$work/secrets.psql"
	"${psql_su[@]}" -d hcweb -f "$work/secrets.psql" -f "$here/data.sql" >/dev/null
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

	# ---- the app, under uWSGI (HTTP/1.1 with keep-alive, parsed in C); its
	# settings and secrets in a file, never on a command line
	local dsn="host=127.0.0.1 port=$bport dbname=hcweb sslmode=verify-full sslrootcert=$work/tls/ca.crt"
	cat >"$work/app.ini" <<-INI
		[uwsgi]
		plugin = python3
		http11-socket = 127.0.0.1:$hport
		master = true
		processes = ${WEB_WORKERS:-2}
		chdir = $here
		module = app:app
		die-on-term = true
		need-app = true
		disable-logging = true
		umask = 077
		pidfile = $work/app.pid
		daemonize = $work/app.log
		env = HC_WEB_DSN_APP=$dsn user=web_app password=$app_pw
		env = HC_WEB_DSN_VERIFIER=$dsn user=web_verifier password=$verifier_pw
		env = HC_WEB_DSN_ANALYST=$dsn user=web_analyst password=$analyst_pw
		env = HC_WEB_USERS=$work/users.json
		env = HC_WEB_SECRET=$(secret 40)
	INI
	cat >"$work/stack.env" <<-ENV
		URL=http://127.0.0.1:$hport
		PASSWORD=$password
		VENUE_CODE='$venue_code'
		BOUNCER_PORT=$bport
		APP_DSN='$dsn user=web_app password=$app_pw'
	ENV
	[ "$(id -u)" -eq 0 ] && chown -R postgres "$work"
	as_owner pgbouncer -d "$work/bouncer/pgbouncer.ini" >/dev/null
	as_owner uwsgi --ini "$work/app.ini"
	local i
	for i in $(seq 1 50); do
		curl -fsS -o /dev/null "http://127.0.0.1:$hport/login" 2>/dev/null && break
		sleep 0.2
	done
	# (the app's own answer, not another server's on the port)
	curl -fsS "http://127.0.0.1:$hport/login" 2>/dev/null | grep -q 'name="csrf"' ||
		{ tail -20 "$work/app.log" >&2; down "$work"; die "the app did not start"; }
	trap - ERR
}

case "${1:-}" in
	up) [ $# -eq 5 ] || die "usage: stack.sh up WORK HOST PORT SUPERUSER"; up "$2" "$3" "$4" "$5" ;;
	down) [ $# -eq 2 ] || die "usage: stack.sh down WORK"; down "$2" ;;
	*) sed -n '2,22s/^# \{0,1\}//p' "$0"; exit 2 ;;
esac
