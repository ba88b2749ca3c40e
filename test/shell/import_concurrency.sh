#!/usr/bin/env bash
# Imports, audits and corrections stay correct while operators move, delete
# and re-register the same people (issue 10). Workers run side by side for
# a bounded time, each call in a session of its own, as the roles that make
# these calls in production:
#   importers   import_travel / _test_results / _vaccinations / _contacts,
#               batches of 5-50 records naming random people by "person_id"
#               or by "identifier" (an application); stays fall on the last
#               ten days, most of which have no day partition yet, so
#               importers also make partitions while the others run;
#   auditors    audit(person_id) and audit() (an operator);
#   movers      UPDATE person SET region = another district (an operator);
#   a deleter   deletes a person and registers them again with a
#               declaration (a national administrator);
#   a corrector request_correction + decide_correction (accept or reject)
#               on a random record, declarations included (an operator).
# No call may fail, except: a call naming a person a deleter has just
# removed (P0002, counted as "gone": that is the right answer, not a race);
# and 40001/40P01 whose message tells the client to retry, which the worker
# does (counted as "retried"). Each worker must do a minimum of work, so the
# test cannot pass by doing nothing, and at the end check_consistency() is
# empty. CONCURRENCY_SECONDS (default 15) sets how long the workers run at
# least (longer, up to ten times that, for a worker short of its minimum).
# Then one race on purpose: one lab's new sample imported at once for two
# people, sampled in two months (a sample's key is unique in its month's
# partition only): the second import waits for the first and writes nothing.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
app="regress_hc_conc_app_$$"
op="regress_hc_conc_op_$$"
admin="regress_hc_conc_admin_$$"
trap 'dropdb --if-exists "$TEST_DB"
      psql -XAtq -d postgres -c "DROP ROLE IF EXISTS $app" -c "DROP ROLE IF EXISTS $op" \
           -c "DROP ROLE IF EXISTS $admin" >/dev/null
      rm -rf "$TEST_TMP"' EXIT

seconds=${CONCURRENCY_SECONDS:-15}
max_calls=5000          # a worker's calls, whatever the time: the loops end
people=300
districts="'330102','330105','330106','330108'"   # of one province, Zhejiang

# ---- the population ------------------------------------------------------------
# People in four districts, each with a declaration that leaves out the
# stays in the high-risk one (the audit has findings to file) and some of
# every kind of evidence (the corrector has records to dispute).
sql >/dev/null <<EOF
SET search_path = healthcode;
CREATE ROLE $app LOGIN IN ROLE healthcode_app;
CREATE ROLE $op LOGIN IN ROLE healthcode_operator;
CREATE ROLE $admin LOGIN IN ROLE healthcode_admin;
SELECT grant_region('$app', '330000'), grant_region('$op', '330000');
INSERT INTO risk_area (division, level, effective_from, bulletin)
VALUES ('330106', 'high', now() - interval '12 days', 'concurrency test');
CREATE TEMP TABLE conc_people AS
  SELECT synthetic_identifier('330102', 900000 + g) AS identifier,
         (ARRAY[$districts])[1 + g % 4] AS district
    FROM generate_series(1, $people) g;
SELECT count(*) FROM conc_people c, declare(c.identifier, c.district, NULL, '{}', NULL, '{}', false);
-- (each batch as JSON text, as a client sends it)
SELECT jsonb_agg(jsonb_build_object('identifier', c.identifier, 'place', '330106', 'at', now() - interval '2 days'))
       AS travel,
       jsonb_agg(jsonb_build_object('identifier', c.identifier, 'kind', 'pcr', 'sampled_at', now() - interval '1 day',
                                    'result', 'negative', 'lab', 'setup lab', 'sample_id', c.identifier)) AS tests,
       jsonb_agg(jsonb_build_object('identifier', c.identifier, 'dose', 1, 'given_at', now() - interval '100 days'))
       AS doses,
       jsonb_agg(jsonb_build_object('identifier', c.identifier, 'kind', 'secondary', 'exposure_at', now() - interval '3 days',
                                    'source_case', 'setup case')) AS contacts
  FROM conc_people c \gset
SELECT import_travel(:'travel'), import_test_results(:'tests'), import_vaccinations(:'doses'),
       import_contacts(:'contacts');
\copy (SELECT identifier FROM conc_people ORDER BY identifier) TO '$TEST_TMP/identifiers'
EOF
setup=$?
ok $setup "$people people in four districts with declarations and evidence; roles $app, $op, $admin"
[ "$setup" -eq 0 ] || { echo "Bail out! no population to race on"; exit 1; }
mapfile -t identifiers <"$TEST_TMP/identifiers"
is "${#identifiers[@]}" "$people" "their identifiers are known to the workers"
before=$(sql -c "SELECT (SELECT count(*) FROM healthcode.audit_finding) || ' ' || (SELECT count(*) FROM healthcode.correction)")

# ---- calls and what became of them ----------------------------------------------------
some_identifier() { echo "${identifiers[RANDOM % people]}"; }
some_identifiers() { # some_identifiers N: an SQL array of N of them (repeats allowed)
	local i list=""
	for ((i = 0; i < $1; i++)); do list+="${list:+,}'$(some_identifier)'"; done
	echo "ARRAY[$list]"
}

# call LOG ROLE GONE_REGEX SQL: runs SQL (one or more statements, each its own
# transaction; psql's \gset included) in a new session as ROLE, and appends
# one line to LOG:
#   ok                         it ran;
#   gone SQLSTATE MESSAGE      P0002 matching GONE_REGEX: it named a person
#                              (or their record) that a deleter removed;
#   retried SQLSTATE MESSAGE   40001 or 40P01 whose message, detail or hint
#                              says to retry: then it is retried (up to 5 times);
#   error SQLSTATE MESSAGE     anything else: a failure of the test.
call() {
	local log=$1 role=$2 gone=$3 sql=$4 out state msg try
	for try in 1 2 3 4 5; do
		# (a call waiting longer than this is stuck: an error too)
		if out=$(PGOPTIONS="-c role=$role -c statement_timeout=60s" \
		         psql -XAtq -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -d "$TEST_DB" <<<"$sql" 2>&1 >/dev/null); then
			echo ok >>"$log"
			return 0
		fi
		state=$(printf '%s\n' "$out" | sed -n 's/^.*ERROR:  \([0-9A-Z]\{5\}\): .*$/\1/p' | head -1)
		msg=$(printf '%s\n' "$out" | sed -n 's/^.*ERROR:  [0-9A-Z]\{5\}: \(.*\)$/\1/p' | head -1)
		[ -n "$state" ] || { state=none; msg=$(printf '%s' "$out" | head -1); }
		if [[ $state = 40001 || $state = 40P01 ]] && printf '%s' "$out" | grep -Eiq '^(.*ERROR|DETAIL|HINT):.*retr(y|ied)'; then
			echo "retried $state $msg" >>"$log"
			continue
		fi
		if [ "$state" = P0002 ] && [ -n "$gone" ] && printf '%s' "$msg" | grep -Eq -- "$gone"; then
			echo "gone $state $msg" >>"$log"
		else
			echo "error $state $msg" >>"$log"
			printf '%s\n' "$out" | sed 's/^/    /' >>"$log.details"
		fi
		return 1
	done
	echo "error $state retried 5 times: $msg" >>"$log"
}

# the JSON object of one record of each import, x.i being the person's
# identifier and x.pid their id
record_sql() { # record_sql IMPORT MODE
	local who
	if [ "$2" = identifier ]; then who="'identifier', x.i"; else who="'person_id', x.pid"; fi
	case $1 in
	travel) echo "jsonb_build_object($who, 'place', (ARRAY[$districts,'330110'])[1 + floor(random() * 5)::int],
	                                 'at', now() - random() * interval '10 days')" ;;
	test_results) echo "jsonb_build_object($who, 'kind', 'pcr', 'sampled_at', now() - random() * interval '3 days',
	                                       'result', CASE WHEN random() < 0.05 THEN 'positive' ELSE 'negative' END,
	                                       'lab', 'concurrency lab', 'sample_id', gen_random_uuid()::text)" ;;
	vaccinations) echo "jsonb_build_object($who, 'dose', 1 + floor(random() * 3)::int,
	                                       'given_at', now() - random() * interval '200 days')" ;;
	contacts) echo "jsonb_build_object($who, 'kind', CASE WHEN random() < 0.3 THEN 'close' ELSE 'secondary' END,
	                                   'exposure_at', now() - random() * interval '10 days',
	                                   'source_case', 'case ' || floor(random() * 20))" ;;
	esac
}

minimum() { # minimum WORKER: successful calls it must make
	case $1 in importer*) echo 10 ;; auditor*) echo 10 ;; mover*) echo 20 ;; deleter*) echo 10 ;; corrector*) echo 10 ;; esac
}
# A worker goes on for the test's seconds and, past them, until it has made
# its minimum of successful calls (how fast the machine is is not what is
# tested), but never past a cap of ten times the seconds.
deadline=$((SECONDS + seconds))
cap=$((SECONDS + 10 * seconds))
running() { # running CALLS LOG
	[ "$1" -lt "$max_calls" ] && [ "$SECONDS" -lt "$cap" ] || return 1
	[ "$SECONDS" -lt "$deadline" ] || [ "$(grep -c '^ok' "$2")" -lt "$(minimum "$(basename "$2" .log)")" ]
}

importer() { # importer LOG
	local n=0 what mode
	while running $n "$1"; do
		what=$(printf '%s\n' travel test_results vaccinations contacts | shuf -n 1)
		mode=$( ((RANDOM % 2)) && echo identifier || echo person_id)
		# the batch as a client sends it: JSON text, its people's ids (by
		# id) looked up a moment before, leaving out anyone not registered
		# at that moment (a deleter's)
		call "$1" "$app" 'names no (registered person|person registered)' "
			SELECT jsonb_agg($(record_sql "$what" "$mode") ORDER BY x.o) AS batch
			  FROM (SELECT x.i, x.o, healthcode.person_id(x.i) AS pid
			          FROM unnest($(some_identifiers $((5 + RANDOM % 46)))) WITH ORDINALITY AS x(i, o)) x
			 WHERE x.pid IS NOT NULL OR '$mode' = 'identifier' \gset
			SELECT healthcode.import_$what(:'batch')"
		n=$((n + 1))
	done
}
auditor() { # auditor LOG: mostly one person (who may just have been deleted: -1), now and then everyone pending
	local n=0
	while running $n "$1"; do
		if ((RANDOM % 4)); then
			call "$1" "$op" '^no person -?[0-9]+ in the regions' \
				"SELECT count(*) FROM healthcode.audit(coalesce(healthcode.person_id('$(some_identifier)'), -1))"
		else
			call "$1" "$op" '' "SELECT count(*) FROM healthcode.audit()"
		fi
		n=$((n + 1))
	done
}
mover() { # mover LOG
	local n=0
	while running $n "$1"; do
		call "$1" "$op" '' \
			"UPDATE healthcode.person p
			    SET region = (SELECT d FROM unnest(ARRAY[$districts]) d WHERE d <> p.region ORDER BY random() LIMIT 1)
			  WHERE p.id = healthcode.person_id('$(some_identifier)')"
		n=$((n + 1))
	done
}
deleter() { # deleter LOG: the person is away for a moment, then back with a new id
	local n=0 who
	while running $n "$1"; do
		who=$(some_identifier)
		if call "$1" "$admin" '' "DELETE FROM healthcode.person WHERE id = healthcode.person_id('$who')"; then
			sleep 0.05
			call "$1" "$admin" '' \
				"SELECT count(*) FROM healthcode.declare('$who', (ARRAY[$districts])[1 + floor(random() * 4)::int],
				                                         NULL, '{}', NULL, '{}', false)"
		fi
		n=$((n + 1))
	done
}
corrector() { # corrector LOG: a person disputes a record (which a deleter may remove meanwhile); an operator decides
	local n=0 what
	while running $n "$1"; do
		what=$(printf '%s\n' travel test_result vaccination contact declaration | shuf -n 1)
		call "$1" "$op" '^(person -?[0-9]+ has no [a-z_]+ record [0-9]+|no correction request [0-9]+)$' "
			SELECT e.person_id AS pid, e.id AS eid FROM healthcode.$what e ORDER BY random() LIMIT 1 \gset
			SELECT healthcode.request_correction(:pid, '$what', :eid, 'I was not there') AS cid \gset
			SELECT count(*) FROM healthcode.decide_correction(:cid, random() < 0.5, 'checked with the source')"
		n=$((n + 1))
	done
}

# ---- the race -------------------------------------------------------------------
workers="importer1 importer2 importer3 auditor1 auditor2 mover1 mover2 deleter1 corrector1"
started=$SECONDS
pids=()
for w in $workers; do
	: >"$TEST_TMP/$w.log"
	"${w%[0-9]}" "$TEST_TMP/$w.log" &
	pids+=($!)
done
wait "${pids[@]}"
echo "# $((SECONDS - started)) s of ${workers// /, }"

# ---- what became of the calls -----------------------------------------------------
count() { grep -c "^$1" "$2"; } # count KIND LOG
for w in $workers; do
	log="$TEST_TMP/$w.log"
	n_ok=$(count ok "$log"); n_gone=$(count gone "$log"); n_retried=$(count retried "$log"); n_error=$(count error "$log")
	echo "# $w: $n_ok ok, $n_gone gone (the person was deleted), $n_retried retried, $n_error errors"
	# the distinct failures, with how often each came (numbers in messages aside)
	grep -v '^ok' "$log" | awk '{ k = $1 " " $2; $1 = $2 = ""; gsub(/[0-9]+/, "N"); print k $0 }' |
		sort | uniq -c | sort -rn | head -8 | sed 's/^/#   /'
	is "$n_error" 0 "$w: no call failed but for a deleted person or a retry the server asked for"
	[ "$n_error" -eq 0 ] || { grep '^error' "$log" | head -5; sed -n '1,40p' "$log.details"; } | sed 's/^/#! /' >&2
	ok $(((n_ok >= $(minimum "$w")) ? 0 : 1)) "$w: at least $(minimum "$w") calls succeeded ($n_ok)"
done
echo "# errors by SQLSTATE: $(cat "$TEST_TMP"/*.log | sed -n 's/^error \([0-9A-Z]*\) .*/\1/p' | sort | uniq -c | xargs)"

after=$(sql -c "SELECT (SELECT count(*) FROM healthcode.audit_finding) || ' ' || (SELECT count(*) FROM healthcode.correction)")
read -r findings_before corrections_before <<<"$before"
read -r findings_after corrections_after <<<"$after"
ok $(((findings_after > findings_before && corrections_after > corrections_before) ? 0 : 1)) \
	"the auditors filed findings ($findings_before -> $findings_after) and the corrector requests ($corrections_before -> $corrections_after)"
is "$(sql -c "SELECT count(*) FROM healthcode.person WHERE region <> ALL (ARRAY[$districts])")|$(sql -c "SELECT count(*) FROM healthcode.person")" \
	"0|$people" "everyone is still registered once, in one of the districts"
is "$(sql -c "SELECT count(*) FROM healthcode.check_consistency()")" "0" \
	"check_consistency() is empty: every stored status is what the evidence gives"

# ---- one sample, two people, two months, at once -----------------------------------
sample() { # sample PERSON_ID DAYS_AGO: the JSON of one new sample of race lab
	printf '[{"person_id": %s, "kind": "pcr", "sampled_at": "%s", "result": "positive", "lab": "race lab", "sample_id": "R1"}]' \
		"$1" "$(sql -c "SELECT now() - interval '$2 days'")"
}
read -r first second <<<"$(sql -c "SELECT string_agg(id::text, ' ') FROM (SELECT id FROM healthcode.person ORDER BY id LIMIT 2) x")"
sql -c "SELECT healthcode.create_partitions()" >/dev/null
mkfifo "$TEST_TMP/first_in"
psql -XAtq -d "$TEST_DB" <"$TEST_TMP/first_in" >"$TEST_TMP/first_out" 2>&1 &
first_pid=$!
exec 7>"$TEST_TMP/first_in"
echo "BEGIN; SELECT 'first ' || healthcode.import_test_results('$(sample "$first" 1)');" >&7
for _ in $(seq 1 100); do grep -q '^first' "$TEST_TMP/first_out" && break; sleep 0.1; done
PGAPPNAME=hc_race_second psql -XAtq -d "$TEST_DB" \
	-c "SELECT 'second ' || healthcode.import_test_results('$(sample "$second" 40)')" >"$TEST_TMP/second_out" 2>&1 &
second_pid=$!
waited=0
for _ in $(seq 1 100); do
	[ "$(sql -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'hc_race_second' AND wait_event_type = 'Lock'")" = 1 ] &&
		{ waited=1; break; }
	kill -0 "$second_pid" 2>/dev/null || break
	sleep 0.1
done
echo "COMMIT;" >&7
exec 7>&-
wait "$first_pid" "$second_pid"
is "$waited|$(cat "$TEST_TMP/first_out" "$TEST_TMP/second_out" | grep -v '^BEGIN\|^COMMIT' | paste -sd ' ' -)" "1|first 1 second 0" \
	"a new sample imported at once for two people in two months: the second import waits for the first, then writes nothing"
is "$(sql -c "SELECT count(*) || ' ' || bool_and(t.person_id = $first) FROM healthcode.test_result t
              WHERE t.lab = 'race lab' AND t.sample_id = 'R1'")" "1 true" \
	"and the sample is recorded once, for the first person"
done_testing
