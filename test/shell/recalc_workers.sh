#!/usr/bin/env bash
# The status work list with real background workers (issue 19), on a
# cluster of its own (a loopback port, its own server key file): a large
# risk-area or policy change commits at once and workers of backend_type
# 'healthcode recalculation' recalculate its people in batches.
#   (a) a designation made in autocommit mode is picked up by the workers;
#       CALL wait_for_recalc() returns once the list is empty, and then
#       check_consistency() is empty and each colour change is in the
#       history once, dated at the change's created_at;
#   (f) meanwhile, wait_for_recalc with a tiny timeout raises 57014;
#   (e) a one-row import (autocommit) during a long recalculation completes
#       while the workers are still at it (its wait is printed, not judged);
#   (b) kill -9 of the whole cluster mid-work: after the restart the list is
#       still there with the same people left, what was done stayed done,
#       readers are right during the pause (healthcode.recalc_workers = 0 for
#       that database keeps the launcher from resuming it); then, allowed
#       workers again, a crash of one backend (the server's crash recovery)
#       and the launcher resumes the list by itself, with no call, every
#       history entry of the change present exactly once (healthcode is
#       preloaded here, as in production);
#   (c) work listed for stays in a day partition that is then dropped
#       completes without error and ends consistent;
#   (d) with healthcode.recalc_workers = 0, wait_for_recalc() works the list
#       itself (no worker runs in that database);
#   (o) a worker's heap is advised into transparent huge pages;
#   (n) the stays of a risk-area change are read from travel's (place, at)
#       index alone (no heap fetch once vacuumed);
#   (g) a change recorded while the only worker running makes its last
#       look at the list (it looks five times, a second apart, then exits)
#       is still recalculated, with nobody calling wait_for_recalc();
#   (h) a status row another transaction rewrites while a batch (which
#       reads its people's rows without locking them) is recalculating it:
#       the batch does not overwrite it, nor write history for it, but
#       recalculates that person again, locked: each colour change once,
#       consistent;
#   (i) a stay deleted (and committed) while a listing that read it is
#       under way: the listing commits the stay, and the batch must still
#       leave it out;
#   (j) the same, the deleting transaction still open when the batch
#       runs: the batch waits for it at the person's status row, and must
#       then recalculate them without the stay;
#   (k) a change asking for two workers while one, idle, is counted as
#       running and then ends before the change commits (as one ending its
#       last look would): the worker that takes the change up starts the
#       second.
#   (l) changes recorded one after another, each before the workers of the
#       last have idled out: each starts a worker of its own, and the extra
#       ones leave, so no more than healthcode.recalc_workers stay;
#   (p) with healthcode.recalc_worker_idle raised, a worker stays past
#       the default's 5 s and takes up the next change itself;
#   (m) a standby (pg_basebackup) holding a change nobody worked on the
#       primary: no launcher while it recovers; promoted, its launcher
#       resumes the list and it empties, the primary's still holding it;
#   (q) with healthcode.recalc_standby on (the default; off for the other
#       parts, which count workers leaving), the oldest worker stays past
#       recalc_worker_idle and takes up the next change, a newer one
#       leaves; DROP DATABASE, ALTER DATABASE RENAME and CREATE DATABASE
#       ... TEMPLATE succeed while it waits there (they stop it first), but
#       not for a role that may not run them, whose attempt leaves it be;
#       TEMPLATE DEFAULT works as before; no standby in a template
#       database; a DROP DATABASE that fails, one of the workers it stopped
#       at work: the list still empties by itself; DROP EXTENSION: it
#       leaves, without an error.
# To make "mid-work" certain rather than a matter of speed, a session of
# the test holds the status row of one or two people of the change FOR
# UPDATE: the worker whose batch holds that person waits for it, mid-batch,
# while the other batches go on. Each part has a database of its own
# (copied from one template), as workers are counted per database.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH.
set -u
. "$(dirname "$0")/tap.bash"

own_cluster_dir recalc_workers
data="$work/data"
holder_pid=
holder_fd=

release() {   # ends the session holding rows, if any (its transaction rolls back)
	if [ -n "$holder_fd" ]; then exec {holder_fd}>&-; holder_fd=; fi
	if [ -n "$holder_pid" ]; then
		wait "$holder_pid" 2>/dev/null
		holder_pid=
	fi
}
cleanup() {
	release
	# ((m)'s standby, if a failure left it running)
	if [ -f "$work/standby/postmaster.pid" ]; then
		as_db "$PGBIN/pg_ctl" -D "$work/standby" -m immediate -w stop >/dev/null 2>&1
	fi
	drop_own_cluster
}
trap cleanup EXIT

own_cluster <<CONF
max_worker_processes = 16
shared_preload_libraries = 'healthcode'
healthcode.recalc_batch_size = 50
healthcode.recalc_standby = off
CONF
start() { start_cluster; }
on() { local db=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U "$superuser" -d "$db" "$@"; }
# waits (up to 30 s, or tries tenths of a second) until a query returns t
wait_for() {
	local db=$1 q=$2 tries=${3:-300} i
	for i in $(seq 1 "$tries"); do
		[ "$(on "$db" -c "$q" 2>/dev/null)" = t ] && return 0
		sleep 0.1
	done
	return 1
}
# A session of the test's in the background (until release); say MARK SQL...
# sends it statements and waits until they have run (the session then
# names itself hc_MARK).
session_open() {
	session_db=$1
	rm -f "$work/session.in"
	mkfifo "$work/session.in"
	psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d "$session_db" <"$work/session.in" >>"$work/session.out" 2>&1 &
	holder_pid=$!
	exec {holder_fd}>"$work/session.in"
}
say() {
	local mark=$1
	shift
	printf '%s\n' "$@" "SET application_name = 'hc_$mark';" >&"$holder_fd"
	wait_for "$session_db" "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'hc_$mark' AND state IN ('idle', 'idle in transaction'))"
}
# one that holds the status rows of the given people FOR UPDATE
hold() {
	session_open "$1"
	say held "BEGIN;" "SELECT count(*) FROM (SELECT 1 FROM healthcode.person_status WHERE person_id IN ($2) FOR UPDATE) x;"
}
workers_in() { echo "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = '$1'"; }
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# ---- the template: a population of 3000 -------------------------------------------------
# (readers_wrong(): the people on which current_status differs from a fresh
# recalculation at the same instant; history_check(cause, created_at,
# concerned): the colour changes of the change against the colours before
# it (table wl_before), as "duplicates|misdated|missing|extra")
on postgres -c 'CREATE DATABASE hc_base' >/dev/null
on hc_base >/dev/null <<'EOF'
CREATE EXTENSION healthcode;
SELECT healthcode.create_key('330000');
SELECT count(*) FROM healthcode.generate_population(3000, 2, 10, 0.5);
CREATE TABLE public.wl_before (person_id bigint PRIMARY KEY, colour text);
CREATE FUNCTION public.readers_wrong() RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*)
    FROM healthcode.current_status c
    FULL JOIN healthcode._fresh_status(ARRAY(SELECT p.id FROM healthcode.person p), now()) f USING (person_id)
   WHERE (c.colour, c.vaccinated, c.reasons, c.valid_until)
         IS DISTINCT FROM ((f.timeline).colour, (f.timeline).vaccinated, (f.timeline).reasons, (f.timeline).valid_until)
$$;
CREATE FUNCTION public.history_check(the_cause text, created timestamptz, concerned bigint[]) RETURNS text LANGUAGE sql AS $$
  WITH got AS (
    SELECT h.person_id, h.at FROM healthcode.status_history h WHERE h.cause = the_cause
  ), want AS (
    SELECT b.person_id FROM public.wl_before b JOIN healthcode.person_status s USING (person_id)
     WHERE b.person_id = ANY (concerned) AND s.colour::text <> b.colour
  )
  SELECT concat_ws('|',
    (SELECT count(*) FROM (SELECT g.person_id FROM got g GROUP BY g.person_id HAVING count(*) > 1) d),
    (SELECT count(*) FROM got g WHERE g.at <> created),
    (SELECT count(*) FROM want w WHERE w.person_id NOT IN (SELECT g.person_id FROM got g)),
    (SELECT count(*) FROM got g WHERE g.person_id NOT IN (SELECT w.person_id FROM want w)))
$$;
EOF
ok $? "a cluster of its own on port $port, and a population of 3000 people"
for d in hc_a hc_e hc_b hc_g hc_h hc_i hc_j hc_k hc_l hc_p; do on postgres -c "CREATE DATABASE $d TEMPLATE hc_base" >/dev/null; done

# ---- (a) a designation in autocommit mode, picked up by the workers -------------------------
# the people it concerns: those with a stay in 330105 within the window;
# the last of them is held, so that the last batch waits for the test
horizon="healthcode._evidence_horizon(now())"
concerned_a="SELECT DISTINCT person_id FROM healthcode.travel WHERE place = '330105' AND at >= $horizon"
n_a=$(on hc_a -c "SELECT count(*) FROM ($concerned_a) c")
last_a=$(on hc_a -c "SELECT max(person_id) FROM ($concerned_a) c")
on hc_a -c "INSERT INTO wl_before SELECT person_id, colour FROM healthcode.person_status" >/dev/null
hold hc_a "$last_a"
ok $? "a session holds the status row of the last of the $n_a people the designation concerns"
t0=$(date +%s%N)
on hc_a -c "SET healthcode.recalc_inline_limit = 0" -c "SET healthcode.change_cause = 'workers: bulletin a'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('330105', 'high', now() - interval '20 days', 'workers a')" >/dev/null
ok $? "the designation commits (in $(ms_since "$t0") ms), in autocommit mode"
wait_for hc_a "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_a' AND wait_event_type = 'Lock'
                AND (SELECT people_left BETWEEN 1 AND 50 FROM healthcode.recalc_progress)"
ok $? "a background worker of backend_type 'healthcode recalculation' works on it, and waits for the held person at the last batch"
like "$(on hc_a -c "$(workers_in hc_a)")" '^[12]$' "one or two workers run in the database (healthcode.recalc_workers = 2)"
progress=$(on hc_a -c "SELECT kind, listed_at IS NOT NULL, people, people_left BETWEEN 1 AND 50, workers > 0 FROM healthcode.recalc_progress")
is "$progress" "risk_area|t|$n_a|t|t" "recalc_progress: listed, $n_a people, only the held batch left, workers counted"
created_a=$(on hc_a -c "SELECT created_at FROM healthcode.recalc_work")
is "$(on hc_a -c 'SELECT readers_wrong()')" "0" "readers are right meanwhile"
# (o) the waiting worker's heap is advised into transparent huge pages (a
# fresh worker faults its batches' memory in 2 MB at a time): VmFlags "hg"
# on its [heap], whatever the kernel's mode; how much of its memory the
# kernel did give in huge pages depends on that mode, and is printed
thp=/sys/kernel/mm/transparent_hugepage/enabled
worker_a=$(on hc_a -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_a' AND wait_event_type = 'Lock' LIMIT 1")
if [ -r "$thp" ] && [ -r "/proc/$worker_a/smaps" ]; then
	heap_advised=$(awk '/ \[heap\]$/ { heap = 1; next } /^[0-9a-f]+-[0-9a-f]+ / { heap = 0 }
		heap && /^VmFlags:/ && / hg( |$)/ { print "hg"; exit }' "/proc/$worker_a/smaps")
	is "$heap_advised" hg "(o) the worker's heap is advised for transparent huge pages (the kernel's mode: $(cat "$thp"))"
	echo "# the worker's anonymous memory in huge pages: $(awk '/^AnonHugePages:/ { print $2, $3 }' "/proc/$worker_a/smaps_rollup")"
else
	ok 0 "# SKIP (o): no transparent huge pages in this kernel, or /proc/$worker_a/smaps not readable"
fi

# ---- (f) wait_for_recalc with a tiny timeout --------------------------------------------------
t0=$(date +%s%N)
f_out=$(on hc_a -v VERBOSITY=sqlstate -c "CALL healthcode.wait_for_recalc('300 ms')" 2>&1)
f_ms=$(ms_since "$t0")
like "$f_out" '57014' "wait_for_recalc('300 ms') while the work cannot end raises 57014"
echo "# it gave up after $f_ms ms"
is "$(on hc_a -c 'SELECT count(*) FROM healthcode.recalc_work')" "1" "and the work stays on the list"

release
t0=$(date +%s%N)
on hc_a -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "once the row is released, CALL wait_for_recalc() returns (in $(ms_since "$t0") ms)"
is "$(on hc_a -c 'SELECT (SELECT count(*) FROM healthcode.recalc_work) + (SELECT count(*) FROM healthcode.recalc_pending)')" "0" \
	"the work list is empty"
is "$(on hc_a -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_a -c "SELECT history_check('workers: bulletin a', '$created_a', ARRAY($concerned_a))")" "0|0|0|0" \
	"status_history: each colour change of the designation once, dated at its created_at"
is "$(on hc_a -c "SELECT count(*) > 10 FROM healthcode.status_history WHERE cause = 'workers: bulletin a'")" "t" \
	"(and there are more than ten of them)"

# ---- (e) a one-row import during a long recalculation --------------------------------------------
# a national policy version: everyone is recalculated, in 60 batches; the
# last person governed is held, so the recalculation cannot end before the
# test lets it
last_e=$(on hc_e -c "SELECT max(id) FROM healthcode.person")
pick_e=$(on hc_e -c "SELECT id FROM healthcode.person ORDER BY id OFFSET 1000 LIMIT 1")
hold hc_e "$last_e"
on hc_e -c "SET healthcode.recalc_inline_limit = 0" -c "SET healthcode.change_cause = 'workers: policy e'" \
	-c "INSERT INTO healthcode.policy (region, valid_from, lookback_days, description_zh, description_en) VALUES ('000000', now() - interval '1 hour', 7, '全国测试', 'national test')" >/dev/null
ok $? "a national policy version goes to the work list"
wait_for hc_e "SELECT listed_at IS NOT NULL FROM healthcode.recalc_progress"
ok $? "the workers list the 3000 people it governs"
e_out=$(on hc_e <<EOF
SET statement_timeout = '20s';
SELECT clock_timestamp() AS t0 \gset
INSERT INTO healthcode.test_result (person_id, region, kind, sampled_at, result, lab, sample_id)
SELECT id, region, 'pcr', now() - interval '2 hours', 'negative', 'workers lab', 'E-1' FROM healthcode.person WHERE id = $pick_e;
SELECT round(extract(epoch FROM clock_timestamp() - :'t0') * 1000), EXISTS (SELECT 1 FROM healthcode.recalc_work),
       ($(workers_in hc_e)) > 0;
EOF
)
ok $? "a one-row import into test_result for a person the version governs completes meanwhile"
e_ms=${e_out%%|*}
is "${e_out#*|}" "t|t" "it completed while the work was still on the list and workers were running"
echo "# the import waited $e_ms ms (batches of 50)"
wait_for hc_e "SELECT people_left BETWEEN 1 AND 50 FROM healthcode.recalc_progress"
ok $? "the workers went through every batch but the held one"
e_rate=$(on hc_e -c "SELECT per_second FROM healthcode.recalc_progress")
echo "# the workers recalculated $e_rate people a second (a batch of 50: about $(awk -v r="$e_rate" 'BEGIN { if (r > 0) printf "%d", 50000 / r; else print "?" }') ms)"
is "$(on hc_e -c "SELECT readers_wrong()")" "0" "readers are right, the imported person included"
release
on hc_e -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "wait_for_recalc() returns once the row is released"
is "$(on hc_e -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_e -c "SELECT count(*) FROM healthcode.test_result WHERE sample_id = 'E-1'")" "1" "the import is there"

# ---- (b) kill -9 mid-work ---------------------------------------------------------------------
# stays in Beijing (110000 covers 1101xx); two people held, at a third and
# at two thirds of the list: each worker waits at one of them, mid-batch,
# the batches between are done and those after them not begun
concerned_b="SELECT DISTINCT person_id FROM healthcode.travel WHERE place BETWEEN '110000' AND '119999' AND at >= $horizon"
n_b=$(on hc_b -c "SELECT count(*) FROM ($concerned_b) c")
# (held among those the change turns red: green now with no reason, so no
# decision or pushed colour stands over it. A batch writes only the rows
# that change, so it would pass a person the change leaves as they are
# without waiting for them.)
eligible_b="SELECT c.person_id FROM ($concerned_b) c JOIN healthcode.person_status s USING (person_id)
             WHERE s.colour = 'green' AND s.reasons = '[]'"
n_eligible_b=$(on hc_b -c "SELECT count(*) FROM ($eligible_b) e")
held_b=$(on hc_b -c "SELECT string_agg(person_id::text, ',') FROM (SELECT person_id, row_number() OVER (ORDER BY person_id) AS i FROM ($eligible_b) e) x WHERE i IN ($n_eligible_b / 3, 2 * $n_eligible_b / 3)")
on hc_b -c "INSERT INTO wl_before SELECT person_id, colour FROM healthcode.person_status" >/dev/null
hold hc_b "$held_b"
on hc_b -c "SET healthcode.recalc_inline_limit = 0" -c "SET healthcode.change_cause = 'workers: bulletin b'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('110000', 'high', now() - interval '20 days', 'workers b')" >/dev/null
wait_for hc_b "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_b' AND wait_event_type = 'Lock'"
both_waiting=$?
ok $both_waiting "both workers are mid-batch, each waiting at a held person ($n_b people concerned)"
if [ "$both_waiting" -ne 0 ]; then
	# (what the workers were doing, into the log)
	diag "$(on hc_b -c "SELECT datname, pid, state, wait_event_type, wait_event, left(query, 50) FROM pg_stat_activity
	                     WHERE backend_type = 'healthcode recalculation'")" \
		"progress: $(on hc_b -c "SELECT people, people_left, workers FROM healthcode.recalc_progress")"
fi
statuses="SELECT md5(string_agg(s::text, ',' ORDER BY s.person_id)) FROM healthcode.person_status s"
before_kill=$(on hc_b -c "SELECT work_id, people, people_left, (SELECT count(*) FROM healthcode.status_history WHERE cause = 'workers: bulletin b'), ($statuses) FROM healthcode.recalc_progress")
IFS='|' read -r work_b people_b left_b hist_b md5_b <<<"$before_kill"
ok $([ "$people_b" = "$n_b" ] && [ "$left_b" -gt 0 ] && [ "$left_b" -lt "$people_b" ] && [ "$hist_b" -gt 0 ]; echo $?) \
	"some but not all are done: $left_b of $people_b left, $hist_b colour changes written"
created_b=$(on hc_b -c "SELECT created_at FROM healthcode.recalc_work")
# (for the new server: the launcher resumes the list in no database whose
# setting allows no worker; the workers running now keep theirs)
on postgres -c "ALTER DATABASE hc_b SET healthcode.recalc_workers = 0" >/dev/null

pm=$(head -n 1 "$data/postmaster.pid")
victims="$pm $(ps -o pid= --ppid "$pm" | tr '\n' ' ')"
kill -9 $victims
for i in $(seq 1 100); do
	alive=0
	for v in $victims; do kill -0 "$v" 2>/dev/null && alive=1; done
	[ "$alive" -eq 0 ] && break
	sleep 0.1
done
ok "$alive" "kill -9 of the postmaster and all its processes"
release
start 2>>"$work/log.stderr"   # (pg_ctl: "another server might be running", the stale pid file)
ok $? "the cluster starts again (crash recovery)"
after=$(on hc_b -c "SELECT work_id, people, people_left, listed_at IS NOT NULL, (SELECT count(*) FROM healthcode.status_history WHERE cause = 'workers: bulletin b'), ($statuses) FROM healthcode.recalc_progress")
is "$after" "$work_b|$people_b|$left_b|t|$hist_b|$md5_b" \
	"the work list survived: the same change, $left_b people left; what was done stayed done ($hist_b colour changes, every status row as it was), the batches cut short left nothing"
# (the launcher done with every database: idle in its last wait)
wait_for postgres "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation launcher' AND wait_event = 'Extension')
                   AND NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation resume')"
is "$(on hc_b -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation launcher'")|$(on hc_b -c "$(workers_in hc_b)")" "1|0" \
	"the launcher runs, and has started no worker where the database allows none (a pause)"
is "$(on hc_b -c 'SELECT readers_wrong()')" "0" "readers are right during the pause"
is "$(on hc_b -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty during the pause"
# workers allowed again; then a backend dies (kill -9): the postmaster
# ends every other process, recovers, and starts the launcher again
on postgres -c "ALTER DATABASE hc_b RESET healthcode.recalc_workers" >/dev/null
on hc_b -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleeper=$!
wait_for postgres "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)')"
kill -9 "$(on postgres -c "SELECT pid FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(60)'")"
wait "$sleeper" 2>/dev/null
wait_for hc_b "SELECT NOT EXISTS (SELECT 1 FROM healthcode.recalc_work)" 300
ok $? "after a backend's crash the server recovers and the work resumes by itself and completes (nobody calls wait_for_recalc)"
is "$(on hc_b -c 'SELECT (SELECT count(*) FROM healthcode.recalc_work) + (SELECT count(*) FROM healthcode.recalc_pending)')" "0" \
	"the work list is empty"
is "$(on hc_b -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_b -c "SELECT history_check('workers: bulletin b', '$created_b', ARRAY($concerned_b))")" "0|0|0|0" \
	"every person's history entry for the change is there exactly once, dated at its created_at"

# ---- (c) a work list that outlives a dropped partition ----------------------------------------------
# 20 people with a stay in 440103 three days ago (day partition D1) and 10
# with one there four days ago (D2), red by a high-risk designation; it is
# downgraded through the work list, listed, and then D1 is dropped (as the
# superuser: drop_expired_travel_partitions only drops days outside every
# window). A new designation of 440106, whose only stays (10 more people)
# lie in D1 too, is not even listed when D1 goes.
on postgres -c 'CREATE DATABASE hc_c' >/dev/null
on hc_c >/dev/null <<'EOF'
CREATE EXTENSION healthcode;
SELECT healthcode.create_travel_partitions(((now() AT TIME ZONE 'Asia/Shanghai')::date - 6), (now() AT TIME ZONE 'Asia/Shanghai')::date);
CREATE TABLE cohort (person_id bigint, grp text);
INSERT INTO cohort
SELECT healthcode.register_person(healthcode.synthetic_identifier('330106', g), '330106'),
       CASE WHEN g <= 20 THEN 'p' WHEN g <= 30 THEN 'q' ELSE 'r' END
  FROM generate_series(1, 40) g;
INSERT INTO healthcode.travel (person_id, region, place, at, source)
SELECT c.person_id, '330106', CASE WHEN c.grp = 'r' THEN '440106' ELSE '440103' END,
       ((now() AT TIME ZONE 'Asia/Shanghai')::date - CASE WHEN c.grp = 'q' THEN 4 ELSE 3 END + time '12:00')
         AT TIME ZONE 'Asia/Shanghai', 'telecom'
  FROM cohort c;
INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin)
VALUES ('440103', 'high', now() - interval '20 days', 'partition test');
EOF
d1="travel_$(on hc_c -c "SELECT to_char((now() AT TIME ZONE 'Asia/Shanghai')::date - 3, 'YYYYMMDD')")"
is "$(on hc_c -c "SELECT string_agg(grp || ':' || colour, ' ' ORDER BY grp) FROM (SELECT DISTINCT c.grp, s.colour FROM cohort c JOIN healthcode.person_status s USING (person_id)) x")" \
	"p:red q:red r:green" "(c) 40 people: those with a stay in 440103 red"
on hc_c >/dev/null <<'EOF'
SET healthcode.recalc_inline_limit = 0;
SET healthcode.recalc_workers = 0;
SET healthcode.change_cause = 'workers: downgrade c';
UPDATE healthcode.risk_area SET level = 'medium' WHERE division = '440103';
SELECT healthcode._recalc_step();
SET healthcode.change_cause = 'workers: bulletin c';
INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440106', 'high', now() - interval '20 days', 'partition test 2');
EOF
is "$(on hc_c -c "SELECT string_agg(concat_ws(':', cause, people, people_left), ' ' ORDER BY work_id) FROM healthcode.recalc_progress")" \
	"workers: downgrade c:30:30 workers: bulletin c" "the downgrade is listed (30 people), the new designation not yet"
created_c=$(on hc_c -c "SELECT min(created_at) FROM healthcode.recalc_work")
on hc_c -c "DROP TABLE healthcode.$d1" >/dev/null
ok $? "day partition $d1, holding the stays of 30 of them, is dropped while the work is pending"
is "$(on hc_c -c "SELECT string_agg(grp || ':' || colour, ' ' ORDER BY grp) FROM (SELECT DISTINCT c.grp, s.colour FROM cohort c JOIN healthcode.current_status s USING (person_id)) x")" \
	"p:green q:yellow r:green" "readers meanwhile: no stay left (green), the stay in D2 now medium risk (yellow)"
is "$(on hc_c -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty meanwhile"
c_out=$(on hc_c -c "CALL healthcode.wait_for_recalc('30 s')" 2>&1)
is "$c_out" "" "CALL wait_for_recalc() completes the work without an error"
is "$(on hc_c -c 'SELECT count(*) FROM healthcode.recalc_work')" "0" "the work list is empty"
is "$(on hc_c -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_c -c "SELECT string_agg(grp || ':' || colour || ':' || since_ok, ' ' ORDER BY grp) FROM (SELECT DISTINCT c.grp, s.colour, s.since = '$created_c' AS since_ok FROM cohort c JOIN healthcode.person_status s USING (person_id)) x")" \
	"p:green:true q:yellow:true r:green:false" "stored: green and yellow since the downgrade's created_at; the others untouched"

# ---- (d) recalc_workers = 0: wait_for_recalc works the list itself -----------------------------------
on postgres -c 'CREATE DATABASE hc_d' >/dev/null
on hc_d -c 'CREATE EXTENSION healthcode' -c "SELECT count(*) FROM healthcode.generate_population(300, 2, 10, 0.7)" >/dev/null
d_out=$(on hc_d <<EOF
SET healthcode.recalc_inline_limit = 0;
SET healthcode.recalc_workers = 0;
INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('330100', 'high', now() - interval '20 days', 'workers d');
SELECT count(*) FROM healthcode.recalc_work;
SET default_transaction_isolation = 'repeatable read';
CALL healthcode.wait_for_recalc('30 s');
RESET default_transaction_isolation;
SELECT count(*) FROM healthcode.recalc_work;
$(workers_in hc_d);
SELECT count(*) FROM healthcode.check_consistency();
EOF
)
is "$(echo $d_out)" "1 0 0 0" \
	"(d) with recalc_workers = 0: one change pending, wait_for_recalc() (in a session whose default is REPEATABLE READ: each turn READ COMMITTED) empties the list, no worker ran (one would still idle), consistent"

# ---- (n) a risk-area change's stays come from the (place, at) index alone ------------------------
# (a district's stays lie one to a heap block among everyone else's: read
# from the heap, listing 10,000 people's cost 0.3 s of block reads at
# 1,000,000 people. Once autovacuum has been, the index holds all the
# query reads: no heap fetch; with seq and bitmap scans off, so that the
# few rows here do not make a scan of the table cheaper.)
on hc_d -c 'VACUUM (ANALYZE) healthcode.travel' >/dev/null
is "$(on hc_d <<'SQL'
SET enable_seqscan = off;
SET enable_bitmapscan = off;
CREATE FUNCTION pg_temp.stays_plan() RETURNS jsonb LANGUAGE plpgsql AS $f$
DECLARE
  plan jsonb;
BEGIN
  EXECUTE format('EXPLAIN (ANALYZE, FORMAT JSON) SELECT * FROM (%s) s', healthcode._work_stays_sql(''))
    INTO plan
    USING ARRAY(SELECT ROW(0, b.place, 'high', now() - interval '30 days', NULL, 'stays plan', NULL)::healthcode.risk_area
                  FROM (SELECT t.place FROM healthcode.travel t GROUP BY t.place ORDER BY count(*) DESC, t.place LIMIT 1) b),
          now() - interval '30 days';
  RETURN plan;
END $f$;
SELECT string_agg(DISTINCT (n ->> 'Node Type') || ', heap fetches ' || coalesce(n ->> 'Heap Fetches', 'all'), '; ')
       || CASE WHEN sum((n ->> 'Actual Rows')::bigint * (n ->> 'Actual Loops')::bigint) > 0 THEN '; stays read' END
  FROM jsonb_path_query(pg_temp.stays_plan(), 'strict $.** ? (exists (@."Relation Name"))') n
 WHERE n ->> 'Relation Name' LIKE 'travel%';
SQL
)" "Index Only Scan, heap fetches 0; stays read" \
	"the stays of a risk-area change are read from travel's (place, at) index alone, once vacuumed"

# ---- (g) a change recorded during a worker's last look at the list ------------------------------
# One worker a database here. Having found the list empty, a worker looks
# again every second, five times in all, then exits. The test makes it take
# its steps one at a time: it holds the evidence lock (which a worker's
# step takes, shared, once it has looked for changes to list), and lets go
# of it once a step at a time. During the fifth look, a second change is
# recorded and committed: the worker, counted as running, has already
# looked for new changes and will not look again.
k="hashtext('healthcode evidence')"
worker_g="SELECT pid FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_g'"
on hc_g -c "ALTER DATABASE hc_g SET healthcode.recalc_workers = 1" -c "ALTER DATABASE hc_g SET healthcode.recalc_inline_limit = 0" >/dev/null
session_open hc_g
say 0 "SELECT pg_advisory_lock($k);"
say 1 "SET healthcode.change_cause = 'workers: bulletin g1';" \
	"INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers g1');"
wait_for hc_g "SELECT EXISTS ($worker_g)"
w0=$(on hc_g -c "$worker_g")
# one step of it: once it waits for the lock (or is gone), let it have it once
step_g() {
	wait_for hc_g "SELECT coalesce((SELECT wait_event = 'advisory' FROM pg_stat_activity WHERE pid = $w0), true)" &&
		say "$1" "SELECT pg_advisory_unlock($k), pg_advisory_lock($k);"
}
n=1
until [ "$(on hc_g -c 'SELECT count(*) FROM healthcode.recalc_work')" = 0 ] || [ "$n" -gt 40 ]; do
	n=$((n + 1))
	step_g "$n" || break
done
ok $([ "$n" -le 40 ]; echo $?) "(g) a first change, done by the one worker $w0, a step at a time ($((n - 1)) steps)"
for m in 2 3 4; do step_g "$((n + m))"; done
wait_for hc_g "SELECT coalesce((SELECT wait_event = 'advisory' FROM pg_stat_activity WHERE pid = $w0), true)"
is "$(on hc_g -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $w0")" "1" \
	"it has looked at the empty list four times and is in its fifth look"
is "$(on hc_g -c "SELECT application_name || ' / ' || (application_name = healthcode._recalc_last_look_name())
                  FROM pg_stat_activity WHERE pid = $w0")" "healthcode recalculation: last look / true" \
	"its application_name says so, the mark _recalc_staff looks for (a newer worker does not count it as staying)"
say rec "SET healthcode.change_cause = 'workers: bulletin g2';" \
	"INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('110101', 'high', now() - interval '20 days', 'workers g2');"
ok $? "a second change is recorded meanwhile"
say free "SELECT pg_advisory_unlock($k);"
release
wait_for hc_g "SELECT NOT EXISTS (SELECT 1 FROM healthcode.recalc_work)" 100
ok $? "it is recalculated within seconds, without a call of wait_for_recalc()"
is "$(on hc_g -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"

# ---- (h) a status row rewritten under a batch ---------------------------------------------------
# A session rewrites the status row of the last green person a designation
# concerns (an UPDATE to the same values: a new row version, as retention
# or a move would write) and keeps it uncommitted; the batch that holds that
# person waits for it at its UPDATE; the session commits. The batch's UPDATE
# then finds the row moved: it must leave it, and its history, to a second,
# locked pass.
concerned_h="SELECT DISTINCT person_id FROM healthcode.travel WHERE place = '440305' AND at >= $horizon"
last_h=$(on hc_h -c "SELECT max(c.person_id) FROM ($concerned_h) c JOIN healthcode.person_status s USING (person_id) WHERE s.colour = 'green'")
on hc_h -c "INSERT INTO wl_before SELECT person_id, colour FROM healthcode.person_status" >/dev/null
session_open hc_h
say held "BEGIN;" "UPDATE healthcode.person_status SET computed_at = computed_at WHERE person_id = $last_h;"
on hc_h -c "SET healthcode.recalc_inline_limit = 0" -c "SET healthcode.change_cause = 'workers: bulletin h'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers h')" >/dev/null
wait_for hc_h "SELECT count(*) > 0 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_h' AND wait_event_type = 'Lock'"
ok $? "(h) a worker's batch waits at the UPDATE of the row a session rewrote (person $last_h)"
created_h=$(on hc_h -c "SELECT created_at FROM healthcode.recalc_work")
say commit "COMMIT;"
release
on hc_h -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "the session commits, and the work completes"
is "$(on hc_h -c "SELECT s.colour || ' ' || (SELECT count(*) FROM healthcode.status_history h WHERE h.person_id = $last_h AND h.cause = 'workers: bulletin h')
                   FROM healthcode.person_status s WHERE s.person_id = $last_h")" "red 1" \
	"the rewritten person is red, with one history entry of the designation"
is "$(on hc_h -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_h -c "SELECT history_check('workers: bulletin h', '$created_h', ARRAY($concerned_h))")" "0|0|0|0" \
	"status_history: each colour change of the designation once, dated at its created_at"

# ---- (i) a stay deleted under a listing that read it -------------------------------------------
# one_stay_designated DB MARK: in DB (no workers, every change on the list),
# the first person green with no reason gets one stay in 440111, which a
# designation of it (cause 'workers: bulletin MARK') then makes risky; sets
# victim and stay.
one_stay_designated() {
	local db=$1
	on "$db" -c "ALTER DATABASE $db SET healthcode.recalc_workers = 0" -c "ALTER DATABASE $db SET healthcode.recalc_inline_limit = 0" >/dev/null
	victim=$(on "$db" -c "SELECT min(person_id) FROM healthcode.person_status WHERE colour = 'green' AND jsonb_array_length(reasons) = 0")
	stay=$(on "$db" -c "INSERT INTO healthcode.travel (person_id, region, place, at, source)
	                    SELECT id, region, '440111', now() - interval '2 days', 'telecom' FROM healthcode.person WHERE id = $victim
	                    RETURNING id")
	on "$db" -c "SET healthcode.change_cause = 'workers: bulletin $2'" \
		-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440111', 'high', now() - interval '20 days', 'workers $2')" >/dev/null
}
# A person green with no reason gets one stay in 440111; a designation of it
# goes on the list (no workers in hc_i). A session lists it (one step) and
# keeps its transaction open; the stay is deleted and committed meanwhile,
# which the listing, in its own snapshot, does not see: it commits the
# stay listed. The batch must leave it out (recalc_gone_stays).
one_stay_designated hc_i i
victim_i=$victim stay_i=$stay
is "$(on hc_i -c "SELECT colour FROM healthcode.current_status WHERE person_id = $victim_i")" "red" \
	"(i) person $victim_i, with one stay ($stay_i) in a designated area, reads red while the change is pending"
session_open hc_i
say listing "BEGIN;" "SELECT healthcode._recalc_step();"
i_out=$(on hc_i -c "DELETE FROM healthcode.travel WHERE id = $stay_i" 2>&1)
is "$i_out" "" "the stay is deleted, and committed, while a session's listing of the change is under way"
say commit "COMMIT;"
release
is "$(on hc_i -c "SELECT count(*) FROM healthcode.recalc_pending WHERE person_id = $victim_i AND $stay_i = ANY (stay_ids)")" "1" \
	"the listing committed the deleted stay listed (it read travel before the deletion)"
is "$(on hc_i -c "SELECT colour FROM healthcode.current_status WHERE person_id = $victim_i")" "green" "readers meanwhile: green"
on hc_i -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "the work completes"
is "$(on hc_i -c "SELECT colour || ' ' || jsonb_array_length(reasons) FROM healthcode.person_status WHERE person_id = $victim_i")" "green 0" \
	"the batch left the deleted stay out: stored green, with no reason"
is "$(on hc_i -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
is "$(on hc_i -c 'SELECT count(*) FROM healthcode.recalc_gone_stays')" "0" "and the deleted stay is forgotten with the work"

# ---- (j) the same, the deletion still open while the batch runs --------------------------------
# A session lists the change and keeps its transaction open; a second one
# deletes the stay in a transaction it keeps open too (its trigger has
# recalculated the person: it holds their status row); the listing
# commits, with the stay. The batch (wait_for_recalc, no workers here)
# reads the list, and waits at the person's status row (the deletion
# rewrote it); the deletion commits; the batch must find the row moved and
# take the person again without the stay.
one_stay_designated hc_j j
victim_j=$victim stay_j=$stay
session_open hc_j
say listing "BEGIN;" "SELECT healthcode._recalc_step();"
rm -f "$work/deleter.in"
mkfifo "$work/deleter.in"
# (without the first session's pipe: that session ends when the test closes it)
psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d hc_j <"$work/deleter.in" >>"$work/deleter.out" 2>&1 {holder_fd}>&- &
deleter_pid=$!
exec {deleter_fd}>"$work/deleter.in"
printf '%s\n' "BEGIN;" "DELETE FROM healthcode.travel WHERE id = $stay_j;" "SET application_name = 'hc_j_deleted';" >&"$deleter_fd"
wait_for hc_j "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'hc_j_deleted' AND state = 'idle in transaction')"
ok $? "(j) person $victim_j's stay $stay_j is deleted in a transaction left open, during a listing"
say commit "COMMIT;"
release
is "$(on hc_j -c "SELECT count(*) FROM healthcode.recalc_pending WHERE person_id = $victim_j AND $stay_j = ANY (stay_ids)")" "1" \
	"the listing commits with the stay listed"
on hc_j -c "SET application_name = 'hc_j_batches'" -c "CALL healthcode.wait_for_recalc('60 s')" >"$work/batches.out" 2>&1 &
batches_pid=$!
wait_for hc_j "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'hc_j_batches' AND wait_event_type = 'Lock')"
ok $? "the batch waits for the deletion at the person's status row"
printf '%s\n' "COMMIT;" >&"$deleter_fd"
exec {deleter_fd}>&-
wait "$deleter_pid"
wait "$batches_pid"
is "$?:$(cat "$work/batches.out")" "0:" "the deletion commits, and the work completes"
is "$(on hc_j -c "SELECT colour || ' ' || jsonb_array_length(reasons) || ' ' || (SELECT count(*) FROM healthcode.status_history h WHERE h.person_id = $victim_j AND h.cause = 'workers: bulletin j')
                   FROM healthcode.person_status WHERE person_id = $victim_j")" "green 0 0" \
	"stored green, with no reason, and no colour change of the designation in their history: the batch did not store the stay back, not even for a moment"
is "$(on hc_j -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"

# ---- (k) as many workers as a change asked for -------------------------------------------------
# A first change with one worker, which then idles; a second, asking for two,
# counts it and starts one more (which waits for the recording transaction);
# the idle one is terminated before that transaction commits. Without the
# new worker starting another as it takes the change up, one would do it all.
on hc_k -c "ALTER DATABASE hc_k SET healthcode.recalc_inline_limit = 0" >/dev/null
on hc_k -c "SET healthcode.recalc_workers = 1" -c "SET healthcode.change_cause = 'workers: bulletin k1'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers k1')" >/dev/null
wait_for hc_k "SELECT NOT EXISTS (SELECT 1 FROM healthcode.recalc_work) AND ($(workers_in hc_k)) = 1"
ok $? "(k) a first change, done by one worker, which idles"
idle_k=$(on hc_k -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_k'")
session_open hc_k
say recorded "SET healthcode.recalc_workers = 2;" "SET healthcode.change_cause = 'workers: bulletin k2';" "BEGIN;" \
	"INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('110101', 'high', now() - interval '20 days', 'workers k2');"
wait_for hc_k "SELECT ($(workers_in hc_k)) = 2"
ok $? "a second change, asking for two, counts the idle one and starts one more"
on hc_k -c "SELECT pg_terminate_backend($idle_k)" >/dev/null
wait_for hc_k "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = $idle_k)"
ok $? "the idle worker $idle_k ends before the change commits"
say commit "COMMIT;"
release
wait_for hc_k "SELECT ($(workers_in hc_k)) = 2"
ok $? "the worker taking the change up starts a second"
wait_for hc_k "SELECT NOT EXISTS (SELECT 1 FROM healthcode.recalc_work)" 300
ok $? "the change is done"
is "$(on hc_k -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"

# ---- (l) changes one after another keep to the number of workers --------------------------------
# One worker a database here. Four changes (a designation, its removal, and
# again), each waited for and followed at once by the next: each starts a
# worker of its own (the one running may be ending its last look), while
# the one before looks once a second for five seconds before it exits.
# Without the newer ones leaving, they piled up, one more a change.
on hc_l -c "ALTER DATABASE hc_l SET healthcode.recalc_workers = 1" -c "ALTER DATABASE hc_l SET healthcode.recalc_inline_limit = 0" >/dev/null
most_l=0
for change in "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers l')" \
	"DELETE FROM healthcode.risk_area WHERE bulletin = 'workers l'" \
	"INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers l')" \
	"DELETE FROM healthcode.risk_area WHERE bulletin = 'workers l'"; do
	on hc_l -c "SET healthcode.change_cause = 'workers: bulletin l'" -c "$change" -c "CALL healthcode.wait_for_recalc()" >/dev/null || break
	n=$(on hc_l -c "$(workers_in hc_l)")
	[ "$n" -gt "$most_l" ] && most_l=$n
done
is "$(on hc_l -c 'SELECT count(*) FROM healthcode.recalc_work')" "0" "(l) four changes, each recorded once the last was done, all done"
ok $([ "$most_l" -le 2 ]; echo $?) "at most two workers were there after any of them, the one and a newer one about to leave (most: $most_l)"
wait_for hc_l "SELECT ($(workers_in hc_l)) <= 1" 30
ok $? "within three seconds of the last, one at most (the one that stays looks for five)"
is "$(on hc_l -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"

# ---- (p) a worker stays healthcode.recalc_worker_idle for the next change ----------------------
# With the setting at 12 s for this database, the worker of a first change
# is still there 6 s after it (by default a worker leaves 4-5 s after its
# work), and it takes up a second change: the change's own new worker finds
# it there and leaves, and the worker waiting at a held person of the
# second change is the same process.
on hc_p -c "ALTER DATABASE hc_p SET healthcode.recalc_workers = 1" -c "ALTER DATABASE hc_p SET healthcode.recalc_inline_limit = 0" \
	-c "ALTER DATABASE hc_p SET healthcode.recalc_worker_idle = '12s'" >/dev/null
on hc_p -c "SET healthcode.change_cause = 'workers: bulletin p1'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers p')" \
	-c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "(p) a first change is done, by one worker"
worker_p=$(on hc_p -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_p'")
sleep 6
is "$(on hc_p -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_p'")" "$worker_p" \
	"its worker ($worker_p) is still there 6 s later (healthcode.recalc_worker_idle = 12s)"
held_p=$(on hc_p -c "SELECT max(person_id) FROM healthcode.travel WHERE place = '440305' AND at >= $horizon")
hold hc_p "$held_p"
on hc_p -c "SET healthcode.change_cause = 'workers: bulletin p2'" -c "DELETE FROM healthcode.risk_area WHERE bulletin = 'workers p'" >/dev/null
wait_for hc_p "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_p' AND wait_event_type = 'Lock')"
is "$(on hc_p -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_p' AND wait_event_type = 'Lock'")" "$worker_p" \
	"a second change is taken up by that worker: it is the one waiting at the held person $held_p"
release
on hc_p -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
ok $? "the second change is done"
is "$(on hc_p -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
wait_for hc_p "SELECT ($(workers_in hc_p)) = 0" 300
ok $? "and the worker leaves once idle for the setting (within 30 s)"

# ---- (q) the standby: the oldest worker stays for the next change --------------------------------
# (recalc_worker_idle 1 s: without the standby a worker leaves a second or
# two after its work)
workers_of() { on "$1" -c "SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = '$1'"; }
standby_db() {   # standby_db DB: a database of its own, its standby settings, a first change done
	on postgres -c "CREATE DATABASE $1 TEMPLATE hc_base" >/dev/null &&
		on "$1" -c "ALTER DATABASE $1 SET healthcode.recalc_standby = on" -c "ALTER DATABASE $1 SET healthcode.recalc_workers = 1" \
			-c "ALTER DATABASE $1 SET healthcode.recalc_inline_limit = 0" -c "ALTER DATABASE $1 SET healthcode.recalc_worker_idle = '1s'" >/dev/null &&
		on "$1" -c "SET healthcode.change_cause = 'workers: bulletin q1'" \
			-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers q')" \
			-c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
}
standby_db hc_q
ok $? "(q) a first change is done, by one worker, where recalc_standby is on"
# (wait_for_recalc may have started a second before the first showed: the
# newer leaves)
wait_for hc_q "SELECT ($(workers_in hc_q)) = 1" 100
worker_q=$(workers_of hc_q)
sleep 4
is "$(workers_of hc_q)|$(on hc_q -c "SELECT application_name FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation'")" \
	"$worker_q|healthcode recalculation: standby" \
	"its worker ($worker_q) is still there 4 s later (recalc_worker_idle = 1s), marked as standing by"
held_q=$(on hc_q -c "SELECT max(person_id) FROM healthcode.travel WHERE place = '440305' AND at >= $horizon")
hold hc_q "$held_q"
# (the postmaster logs each worker it starts at DEBUG1)
on postgres -c "ALTER SYSTEM SET log_min_messages = debug1" -c "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
log_from=$(($(wc -l <"$work/log") + 1))
on hc_q -c "SET healthcode.change_cause = 'workers: bulletin q2'" -c "DELETE FROM healthcode.risk_area WHERE bulletin = 'workers q'" >/dev/null
wait_for hc_q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_q' AND wait_event_type = 'Lock')"
is "$(on hc_q -c "SELECT string_agg(pid::text, ',') FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_q' AND wait_event_type = 'Lock'")" "$worker_q" \
	"a second change is taken up by the standby: it is the one waiting at the held person $held_q"
dbid_q=$(on hc_q -c "SELECT oid FROM pg_database WHERE datname = 'hc_q'")
is "$(tail -n +"$log_from" "$work/log" | grep -c "starting background worker process \"healthcode recalculation in database $dbid_q\"")" "0" \
	"and the change started no worker of its own (the standby was marked as it committed)"
on postgres -c "ALTER SYSTEM RESET log_min_messages" -c "SELECT pg_reload_conf()" >/dev/null
release
on hc_q -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
is "$(on hc_q -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "the second change is done, and check_consistency() is empty"
# a change in two parts: the standby and a newer worker; the newer leaves
on hc_q -c "SET healthcode.recalc_workers = 2" -c "SET healthcode.change_cause = 'workers: bulletin q3'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'medium', now() - interval '20 days', 'workers q')" \
	-c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null
wait_for hc_q "SELECT ($(workers_in hc_q)) = 1" 100
is "$?|$(workers_of hc_q)" "0|$worker_q" "after a change for two workers, the newer leaves (within 10 s) and the standby stays"
is "$(on hc_q -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
# who may not rename or drop the database does not stop it
on postgres -c "CREATE ROLE hc_q_other LOGIN CREATEDB" >/dev/null
psql -XAtq -h 127.0.0.1 -p "$port" -U hc_q_other -d postgres -c "DROP DATABASE hc_q" >/dev/null 2>&1
is "$?|$(workers_of hc_q)" "1|$worker_q" "DROP DATABASE by a role that does not own it fails, and the standby is still there"
on postgres -c "ALTER DATABASE hc_q RENAME TO hc_q_renamed" >/dev/null 2>&1
ok $? "ALTER DATABASE ... RENAME TO succeeds while the standby waits in it"
on postgres -c "ALTER DATABASE hc_q_renamed RENAME TO hc_q" >/dev/null
standby_q=$(on hc_q -c "SET healthcode.change_cause = 'workers: bulletin q4'" \
	-c "DELETE FROM healthcode.risk_area WHERE bulletin = 'workers q'" -c "CALL healthcode.wait_for_recalc('30 s')" >/dev/null &&
	workers_of hc_q)
on postgres -c "CREATE DATABASE hc_q_copy TEMPLATE hc_q" >/dev/null 2>&1
ok $? "CREATE DATABASE ... TEMPLATE succeeds while a standby ($standby_q) waits in the template"
on postgres -c "DROP DATABASE hc_q_copy" >/dev/null
standby_db hc_q2
standby_q2=$(workers_of hc_q2)
on postgres -c "DROP DATABASE hc_q2" >/dev/null 2>&1
ok $? "DROP DATABASE succeeds while a standby ($standby_q2) waits in it"
on postgres -c "CREATE DATABASE hc_q_default TEMPLATE DEFAULT" -c "DROP DATABASE hc_q_default" >/dev/null 2>&1
ok $? "CREATE DATABASE ... TEMPLATE DEFAULT works as before (template1)"
# no standby in a template database (any role with CREATEDB may copy it)
standby_db hc_qt
on postgres -c "ALTER DATABASE hc_qt IS_TEMPLATE true" >/dev/null
wait_for hc_qt "SELECT ($(workers_in hc_qt)) = 0" 50
ok $? "a database marked as a template: its worker leaves (within 5 s) rather than stand by"
psql -XAtq -h 127.0.0.1 -p "$port" -U hc_q_other -d postgres -c "CREATE DATABASE hc_qt_copy TEMPLATE hc_qt" >/dev/null 2>&1
ok $? "and a role with CREATEDB that does not own it copies it"
on postgres -c "DROP DATABASE hc_qt_copy" -c "ALTER DATABASE hc_qt IS_TEMPLATE false" -c "DROP DATABASE hc_qt" >/dev/null
# a DROP DATABASE that fails (a session is still in the database): the
# workers it stopped, one of them at work, come back for what is left
held_q=$(on hc_q -c "SELECT max(person_id) FROM healthcode.travel WHERE place = '440305' AND at >= $horizon")
hold hc_q "$held_q"
on hc_q -c "SET healthcode.change_cause = 'workers: bulletin q5'" \
	-c "INSERT INTO healthcode.risk_area (division, level, effective_from, bulletin) VALUES ('440305', 'high', now() - interval '20 days', 'workers q')" >/dev/null
wait_for hc_q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_q' AND wait_event_type = 'Lock')"
waiting_q=$(on hc_q -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_q' AND wait_event_type = 'Lock'")
on postgres -c "DROP DATABASE hc_q" >/dev/null 2>&1
is "$?" "1" "DROP DATABASE fails while a session of the test holds a person of a change in it"
wait_for hc_q "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation' AND datname = 'hc_q'
                                 AND wait_event_type = 'Lock' AND pid <> $waiting_q)"
ok $? "the worker waiting at the held person ($waiting_q) was stopped by it, and a new one waits there"
release
wait_for hc_q "SELECT NOT EXISTS (SELECT 1 FROM healthcode.recalc_work)" 300
ok $? "the list empties by itself (within 30 s): the workers the drop stopped were started again"
is "$(on hc_q -c 'SELECT count(*) FROM healthcode.check_consistency()')" "0" "check_consistency() is empty"
# DROP EXTENSION: the standby leaves at its next look, without an error
standby_q=$(workers_of hc_q)
on hc_q -c "DROP EXTENSION healthcode CASCADE" >/dev/null 2>&1
wait_for hc_q "SELECT ($(workers_in hc_q)) = 0" 50
ok $? "DROP EXTENSION: the standby ($standby_q) leaves (within 5 s)"
is "$(grep -c "\[$standby_q\] \(ERROR\|FATAL\)" "$work/log")" "0" "and the server log has no error of it"

# ---- (m) a promoted standby resumes the list -------------------------------------------------------
# A change written straight into the list of a database where no worker
# runs (as a worker cut short leaves it; nothing starts one here), copied
# to a standby of this cluster, which is then promoted.
on postgres -c "CREATE DATABASE hc_m TEMPLATE hc_base" >/dev/null
on hc_m -c "INSERT INTO healthcode.recalc_work (kind, cause, created_at, horizon, parts)
            VALUES ('everyone', 'workers: standby m', clock_timestamp(), healthcode._evidence_horizon(now()), 1)" -c "CHECKPOINT" >/dev/null
standby="$work/standby"
as_db "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$port" -U "$superuser" -D "$standby" -R -X stream >/dev/null 2>&1
ok $? "(m) a standby copied from this cluster (pg_basebackup), the change on its list"
sport=$(free_port)
sed -i "s/^port = .*/port = $sport/" "$standby/postgresql.conf"
as_db "$PGBIN/pg_ctl" -D "$standby" -l "$work/standby.log" -w start >/dev/null
son() { local db=$1; shift; psql -XAtq -h 127.0.0.1 -p "$sport" -U "$superuser" -d "$db" "$@"; }
launcher="SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'healthcode recalculation launcher'"
sleep 1
is "$(son hc_m -c 'SELECT pg_is_in_recovery()')|$(son hc_m -c "$launcher")|$(son hc_m -c 'SELECT count(*) FROM healthcode.recalc_work')" "t|0|1" \
	"while it recovers no launcher runs there, and the list holds the change"
as_db "$PGBIN/pg_ctl" -D "$standby" -w promote >/dev/null
for i in $(seq 1 300); do
	[ "$(son hc_m -c 'SELECT count(*) FROM healthcode.recalc_work' 2>/dev/null)" = 0 ] && break
	sleep 0.1
done
is "$(son hc_m -c 'SELECT pg_is_in_recovery()')|$(son hc_m -c "$launcher")|$(son hc_m -c 'SELECT count(*) FROM healthcode.recalc_work')" "f|1|0" \
	"promoted, its launcher runs and has resumed the list, now empty"
is "$(on hc_m -c 'SELECT count(*) FROM healthcode.recalc_work')" "1" "the primary's list still holds the change (nobody worked it there)"
as_db "$PGBIN/pg_ctl" -D "$standby" -m immediate -w stop >/dev/null

done_testing
