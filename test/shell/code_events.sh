#!/usr/bin/env bash
# Counting codes without writing a row at each one (src/hc_code_events.c),
# on a cluster of its own with healthcode in shared_preload_libraries and a
# small buffer (64 slots, written out at 10 waiting events):
#   - a code issued waits in shared memory: no row yet, but _code_events()
#     and the analysts' codes_per_day count it at once;
#   - the call that finds enough waiting writes them all, once;
#   - a flush whose transaction, or subtransaction, rolls back leaves its
#     events waiting: none lost, none written twice;
#   - a full buffer: the call inserts its row at once;
#   - the flush interval: an event waiting longer is written by the next call;
#   - each database counts its own;
#   - an erasure removes the person's waiting events with their rows, and
#     a code cannot be issued to someone while their erasure runs (the
#     advisory lock on the person's stripe);
#   - a restart keeps what was written;
#   - without the preload, every code inserts its row at once.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH.
set -u
. "$(dirname "$0")/tap.bash"

own_cluster_dir code_events
trap drop_own_cluster EXIT
own_cluster <<CONF
shared_preload_libraries = 'healthcode'
healthcode.code_event_buffer = 64
healthcode.code_event_flush_rows = 10
healthcode.code_event_flush_interval = '1h'
CONF
start() { start_cluster; }
stop() { stop_cluster; }
on() { local db=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d "$db" "$@"; }
reload_with() { # reload_with SETTING VALUE
	on postgres -c "ALTER SYSTEM SET $1 = '$2'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
}

for db in hc_a hc_b; do
	on postgres -c "CREATE DATABASE $db" >/dev/null
	on "$db" >/dev/null <<'EOF'
CREATE EXTENSION healthcode;
SELECT healthcode.create_key('000000');
SELECT count(*) FROM healthcode.generate_population(120, 1, 3);
-- the people in id order, numbered from 1
CREATE TABLE public.p AS SELECT row_number() OVER (ORDER BY id) AS n, id FROM healthcode.person;
-- issue(from, to): one code each for the people numbered from..to, one statement
CREATE FUNCTION public.issue(a integer, b integer) RETURNS bigint LANGUAGE sql AS
  $$ SELECT count(healthcode.issue_for(p.id)) FROM public.p WHERE p.n BETWEEN a AND b $$;
CREATE FUNCTION public.counts() RETURNS text LANGUAGE sql AS
  $$ SELECT (SELECT count(*) FROM healthcode.code_event) || ' written, '
            || (SELECT count(*) FROM healthcode._buffered_code_events()) || ' waiting' $$;
EOF
done
is "$(on hc_a -c "SHOW healthcode.code_event_buffer")" 64 "preloaded: the buffer has the slots asked for"

on hc_a -c "SELECT issue(1, 5)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "0 written, 5 waiting" "five codes issued: no row written, five events waiting"
is "$(on hc_a -c "SELECT count(*) FROM healthcode._code_events() WHERE event = 'issued'")" 5 \
	"_code_events() counts them at once"
is "$(on hc_a -c "SET healthcode.min_cell_size = 1" -c "SELECT sum(codes) FROM healthcode.codes_per_day WHERE event = 'issued'")" 5 \
	"and so do the analysts' codes_per_day"

on hc_a -c "SELECT issue(6, 10)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "10 written, 0 waiting" "the tenth waiting event: its call writes all ten, once"

# a flush rolled back: the events wait again
on hc_a -c "SELECT issue(11, 19)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "10 written, 9 waiting" "nine more wait"
on hc_a >/dev/null <<'EOF'
BEGIN;
SELECT issue(20, 20);
ROLLBACK;
EOF
is "$(on hc_a -c "SELECT counts()")" "10 written, 10 waiting" \
	"a flush whose transaction rolls back writes nothing and leaves all ten waiting, its own call's too"
on hc_a >/dev/null <<'EOF'
BEGIN;
SAVEPOINT s;
SELECT healthcode._flush_code_events();
ROLLBACK TO SAVEPOINT s;
SELECT issue(21, 21);
COMMIT;
EOF
is "$(on hc_a -c "SELECT counts()")" "21 written, 0 waiting" \
	"a flush rolled back to a savepoint leaves them waiting; the next one in that transaction writes them, once"
is "$(on hc_a -c "SELECT count(*) FROM (SELECT at, holder FROM healthcode.code_event GROUP BY 1, 2 HAVING count(*) > 1) d")" 0 \
	"no event is written twice"

# a read-only transaction counts, and leaves the writing to a call that can
on hc_a -c "SELECT issue(22, 29)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "21 written, 8 waiting" "eight more wait"
on hc_a -c "BEGIN READ ONLY" -c "SELECT issue(22, 23)" -c "COMMIT" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "21 written, 10 waiting" \
	"in a read-only transaction the tenth waiting event does not write them: the call succeeds, they wait"
on hc_a -c "SELECT issue(24, 24)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "32 written, 0 waiting" "the next call that can write writes all eleven"

# a full buffer: the call inserts its row
reload_with healthcode.code_event_flush_rows 1000
on hc_a -c "SELECT issue(1, 70)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "38 written, 64 waiting" \
	"with the 64 slots full, each further code is inserted at once"
is "$(on hc_a -c "SELECT count(*) FROM healthcode._code_events()")" 102 "and every one of the 102 is counted once"

# the interval: an event waiting longer is written by the next call
on hc_a -c "SELECT healthcode._flush_code_events()" >/dev/null
reload_with healthcode.code_event_flush_interval 1s
on hc_a -c "SELECT issue(1, 1)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "102 written, 1 waiting" "one code: waiting"
sleep 1.2
on hc_a -c "SELECT issue(2, 2)" >/dev/null
is "$(on hc_a -c "SELECT counts()")" "104 written, 0 waiting" \
	"the next code after the interval writes both"
reload_with healthcode.code_event_flush_interval 1h

# each database its own
on hc_b -c "SELECT issue(1, 3)" >/dev/null
is "$(on hc_b -c "SELECT counts()")" "0 written, 3 waiting" "another database's codes wait as its own"
is "$(on hc_a -c "SELECT counts()")" "104 written, 0 waiting" "and this one sees none of them"

# an erasure: the person's waiting events go with their rows
on hc_a -c "SELECT issue(30, 33)" -c "SELECT issue(30, 30)" >/dev/null
subject=$(on hc_a -c "SELECT subject FROM healthcode.person WHERE id = (SELECT id FROM p WHERE n = 30)")
is "$(on hc_a -c "SELECT count(*) FROM healthcode._code_events() WHERE holder = healthcode._code_holder('$subject', at)")" 3 \
	"before: three events of the person (two waiting)"
total=$(on hc_a -c "SELECT count(*) FROM healthcode._code_events()")
on hc_a -c "SELECT count(*) FROM healthcode.erase_person((SELECT id FROM p WHERE n = 30), 'test')" >/dev/null
is "$(on hc_a -c "SELECT count(*) FROM healthcode._code_events() WHERE holder = healthcode._code_holder('$subject', at)")" 0 \
	"after their erasure: none, written or waiting"
is "$(on hc_a -c "SELECT count(*) FROM healthcode._code_events()")" $((total - 3)) "and everyone else's are still counted"

# a code is not issued to someone while their erasure runs
on hc_a >/dev/null <<'EOF' &
BEGIN;
SELECT healthcode._lock_for_erasure(ARRAY(SELECT id FROM p WHERE n = 31));
SELECT pg_sleep(3);
COMMIT;
EOF
locker=$!
sleep 0.8
got=$(on hc_a -c "SET lock_timeout = '300ms'" -c "SELECT healthcode.issue_for((SELECT id FROM p WHERE n = 31)) IS NOT NULL" 2>&1)
like "$got" "lock timeout" "while an erasure holds the person, a code for them waits (here until lock_timeout)"
is "$(on hc_a -c "SELECT healthcode.issue_for((SELECT id FROM p WHERE healthcode._erasure_stripe(id)
                                                  <> healthcode._erasure_stripe((SELECT id FROM p WHERE n = 31))
                                               ORDER BY n LIMIT 1)) IS NOT NULL")" t \
	"someone of another stripe gets theirs meanwhile"
wait "$locker"

# a restart keeps what was written
written=$(on hc_a -c "SELECT count(*) FROM healthcode.code_event")
stop
start
is "$(on hc_a -c "SELECT count(*) FROM healthcode.code_event")" "$written" "a restart keeps every row written"

# without the preload: a row at each code
sed -i "s/^shared_preload_libraries = .*/shared_preload_libraries = ''/" "$data/postgresql.conf"
stop
start
# (the settings still in postgresql.conf go once the library is loaded)
is "$(on hc_a -c "SELECT healthcode._code_holder('\\x00', now()) IS NOT NULL" \
	-c "SELECT current_setting('healthcode.code_event_buffer', true) IS NULL" 2>/dev/null | tr '\n' ' ')" "t t " \
	"not preloaded: no buffer, no setting"
on hc_a -c "SELECT issue(40, 42)" >/dev/null
is "$(on hc_a -c "SELECT count(*) FROM healthcode.code_event")" $((written + 3)) \
	"not preloaded: each code inserts its row at once"
is "$(on hc_a -c "SELECT count(*) FROM healthcode._buffered_code_events()")" 0 "and nothing waits"

done_testing
