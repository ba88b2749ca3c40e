# bench/lib.sh — sourced by the benchmarks (run.sh, status.sh, rls.sh,
# import.sh) after they set here, root and out: their shared helpers, and
# the outer half of each run — build and install the extension, then run
# the script again, with --inside, in a throwaway cluster that has a server
# key file.

log() { printf '%s\n' "$*"; }
psql_q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# Runs SQL in a fresh session and prints the milliseconds of its last
# timed statement, as psql's \timing measures it.
time_ms() {
	psql -X -q -v ON_ERROR_STOP=1 -c '\timing on' "$@" |
		sed -n 's/^Time: \([0-9.]*\) ms.*/\1/p' | tail -n 1
}

min() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b < a ? b : a) }'; }
max() { awk -v a="$1" -v b="$2" 'BEGIN { print (b > a ? b : a) }'; }

bench_build() {
	mkdir -p "$out"
	chmod 777 "$out"     # the server writes some of its files there
	log "== building and installing the extension (log: bench/out/build.log)"
	if ! { make -C "$root" -s && make -C "$root" -s install; } >"$out/build.log" 2>&1; then
		cat "$out/build.log" >&2
		exit 1
	fi
}

# pg_virtualenv -t does not see other temporary clusters and would start at
# port 5432 like every concurrent run: pick a free port of our own.
pick_port() {
	local p _
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 20000))
		if ! ss -Htln "sport = :$p" 2>/dev/null | grep -q . &&
			[[ ! -e /var/run/postgresql/.s.PGSQL.$p.lock && ! -e /tmp/.s.PGSQL.$p.lock ]]; then
			echo "$p"
			return
		fi
	done
	echo 5432
}

# bench_in_cluster SCRIPT [-o SETTING ...]: SCRIPT --inside in a throwaway
# cluster (jit off, the given settings) whose server key file is made here
# and removed at exit.
bench_in_cluster() {
	local script=$1
	shift
	bench_keydir=$(mktemp -d)
	trap 'rm -rf "$bench_keydir"' EXIT
	chmod 711 "$bench_keydir"
	head -c 32 /dev/urandom >"$bench_keydir/server.key"
	chmod 600 "$bench_keydir/server.key"
	if [[ $(id -u) == 0 ]]; then
		chown postgres "$bench_keydir/server.key"
	fi
	export PGPORT=${BENCH_PGPORT:-$(pick_port)}
	pg_virtualenv -t -o "healthcode.server_key_file=$bench_keydir/server.key" -o "jit=off" "$@" "$script" --inside
}
