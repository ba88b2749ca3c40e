# bench/lib.sh — sourced by the benchmarks (run.sh, status.sh, rls.sh,
# import.sh) after they set here, root and out: their shared helpers, and
# the outer half of each run — build and install the extension, then run
# the script again, with --inside, in a throwaway cluster that has a server
# key file.
#
# PG_CONFIG (optional): the pg_config of the PostgreSQL to build against and
# install into, e.g. a relocated copy's; unset, make finds pg_config in PATH
# as before. bench_own_cluster runs a cluster from that install's binaries
# (pg_virtualenv knows only the system's).

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
	local pgc=()
	if [[ -n ${PG_CONFIG:-} ]]; then
		pgc=("PG_CONFIG=$PG_CONFIG")
	fi
	if ! { make -C "$root" -s "${pgc[@]}" && make -C "$root" -s "${pgc[@]}" install; } >"$out/build.log" 2>&1; then
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

# bench_own_cluster SCRIPT [SETTING=VALUE ...]: SCRIPT --inside against a
# throwaway cluster made with initdb and pg_ctl of $PG_CONFIG's install (or
# of the pg_config in PATH), for a PostgreSQL that pg_virtualenv does not
# know (a relocated copy). The cluster listens on a free port of the
# loopback interface and a socket in a new directory under BENCH_DATADIR
# (default /tmp), has a server key file, jit off and the given
# settings, and is stopped and removed at exit (BENCH_KEEP_CLUSTER=1 keeps
# it). SCRIPT gets PGHOST, PGPORT, PGUSER, PGDATABASE, PATH (that install's
# binaries first), BENCH_CLUSTER_DIR and BENCH_POSTMASTER_PID.
bench_own_cluster() {
	local script=$1 bindir dir setting rc=0
	shift
	bindir=$("${PG_CONFIG:-pg_config}" --bindir)
	mkdir -p "${BENCH_DATADIR:-/tmp}"
	dir=$(mktemp -d "${BENCH_DATADIR:-/tmp}/hc_bench.XXXXXX")
	chmod 755 "$dir"
	local as_db=()
	if [[ $(id -u) == 0 ]]; then
		chown postgres "$dir"
		as_db=(runuser -u postgres --)
	fi
	# (the trap names the directory itself: it outlives this function)
	trap "bench_stop_cluster '$bindir' '$dir'" EXIT
	"${as_db[@]}" "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-instructions >"$dir/initdb.log" 2>&1 ||
		{ cat "$dir/initdb.log" >&2; return 1; }
	"${as_db[@]}" sh -c "umask 077; head -c 32 /dev/urandom > '$dir/server.key'"
	export PGPORT=${BENCH_PGPORT:-$(pick_port)} PGHOST=$dir PGUSER=postgres PGDATABASE=postgres
	{
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $PGPORT"
		echo "unix_socket_directories = '$dir'"
		echo "healthcode.server_key_file = '$dir/server.key'"
		echo "jit = off"
		for setting in "$@"; do
			echo "${setting%%=*} = '${setting#*=}'"
		done
	} >>"$dir/data/postgresql.conf"
	for setting in "$@"; do
		if [[ $setting == huge_pages=on ]]; then
			bench_huge_pages "$bindir" "$dir" "${as_db[@]}"
		fi
	done
	"${as_db[@]}" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w start >/dev/null ||
		{ cat "$dir/server.log" >&2; return 1; }
	export BENCH_CLUSTER_DIR=$dir BENCH_POSTMASTER_PID
	BENCH_POSTMASTER_PID=$(head -n 1 "$dir/data/postmaster.pid")
	PATH="$bindir:$PATH" "$script" --inside || rc=$?
	return "$rc"
}

# With huge_pages=on among bench_own_cluster's settings: the server's shared
# memory in pages of 2 MB, which the kernel must hold in reserve
# (vm.nr_hugepages; PostgreSQL's docs, "Linux Huge Pages"). The pages the
# cluster needs (postgres -C shared_memory_size_in_huge_pages) beyond those
# free are reserved for the run where we may (as root), and the count is
# put back when the cluster stops (bench_stop_cluster). Where the kernel
# cannot give them (memory too fragmented, or not root) the cluster runs
# with huge_pages = off and says so. BENCH_HUGE_PAGES_SAID: what was done,
# for the log.
bench_huge_pages() {
	local bindir=$1 dir=$2 need free total
	shift 2
	need=$("$@" "$bindir/postgres" -D "$dir/data" -C shared_memory_size_in_huge_pages)
	free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	total=$(cat /proc/sys/vm/nr_hugepages)
	if ((free < need)) && [[ $(id -u) == 0 ]]; then
		BENCH_HUGE_PAGES_BEFORE=$total
		echo $((total + need - free)) >/proc/sys/vm/nr_hugepages
		free=$(awk '/^HugePages_Free:/ { print $2 }' /proc/meminfo)
	fi
	if ((free >= need)); then
		BENCH_HUGE_PAGES_SAID="in $need huge pages of 2 MB"
	else
		echo "huge_pages = off" >>"$dir/data/postgresql.conf"
		# (what was reserved in vain, given back at once: the run needs the memory)
		bench_give_back_huge_pages
		BENCH_HUGE_PAGES_SAID="NOT in huge pages (the kernel had $free of the $need pages of 2 MB it needs)"
	fi
	export BENCH_HUGE_PAGES_SAID
}

# The count of huge pages as it was before bench_huge_pages reserved more
# (nothing where it reserved none).
bench_give_back_huge_pages() {
	if [[ -n ${BENCH_HUGE_PAGES_BEFORE:-} ]]; then
		echo "$BENCH_HUGE_PAGES_BEFORE" >/proc/sys/vm/nr_hugepages
		BENCH_HUGE_PAGES_BEFORE=
	fi
}

bench_stop_cluster() {
	local bindir=$1 dir=$2
	if [[ -f $dir/data/postmaster.pid ]]; then
		if [[ $(id -u) == 0 ]]; then
			runuser -u postgres -- "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
		else
			"$bindir/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1
		fi
	fi
	# (the huge pages reserved for the run, given back once the server that
	# used them is stopped)
	bench_give_back_huge_pages
	if [[ ${BENCH_KEEP_CLUSTER:-0} == 1 ]]; then
		local asks=""
		[[ ${BENCH_HUGE_PAGES_SAID:-} == in* ]] && asks="; it asks for huge pages: reserve them (vm.nr_hugepages) before starting it"
		log "   (cluster kept in $dir$asks)"
	else
		rm -rf "$dir"
	fi
}
