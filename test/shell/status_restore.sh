#!/usr/bin/env bash
# A dump restores the statuses exactly as they were, and nothing is derived
# twice: a population with statuses and a history that holds changes caused
# by data and by time is dumped (custom and plain format) and restored three
# ways — pg_restore, psql -f of the plain dump, and a parallel pg_restore
# with session_replication_role = replica (95_dump.sql). Each restored
# database has the same person_status, the same status_history (no entry
# appended by triggers firing during the load), the same evidence, policy
# versions, manual decisions (who, when, the hash chain an auditor checks)
# and travel day partitions (each row once), check_consistency() empty, the
# national default policy and the dump marker once, and it goes on working:
# a new session is not in restore mode, new rows continue the sequences and
# their statuses are recalculated.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
restored_a="${TEST_DB}_a"
restored_b="${TEST_DB}_b"
restored_c="${TEST_DB}_c"
trap 'for d in "$TEST_DB" "$restored_a" "$restored_b" "$restored_c"; do dropdb --if-exists "$d"; done; rm -rf "$TEST_TMP"' EXIT

q() { local db=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -d "$db" -c "$*"; }

# ---- the original: a population, then scripted changes --------------------------
sql -c "SELECT count(*) FROM healthcode.generate_population(300)" >/dev/null
ok $? "a population of 300"

# changes caused by data: a positive test, a close contact, an override, a
# medical release, a downgraded risk area, a regional policy (and one that
# takes effect tomorrow), an audit with a dismissed finding, an accepted
# correction, a move to another region, stays straight into a day partition
# and an older stay in a partition of its own
sql >/dev/null <<'EOF'
SET search_path = healthcode;
CREATE TEMP TABLE pick AS
  SELECT p.id, p.region, row_number() OVER (ORDER BY p.id) AS n
    FROM person p JOIN person_status s ON s.person_id = p.id
   WHERE s.colour = 'green' AND s.next = '[]' ORDER BY p.id LIMIT 12;
SELECT import_test_results(json_build_array(jsonb_build_object(
  'person_id', (SELECT id FROM pick WHERE n = 1), 'kind', 'pcr', 'sampled_at', now() - interval '5 hours',
  'result', 'positive', 'lab', 'restore lab', 'sample_id', 'RS-1')));
SELECT import_contacts(json_build_array(jsonb_build_object(
  'person_id', (SELECT id FROM pick WHERE n = 2), 'kind', 'close', 'exposure_at', now() - interval '2 days',
  'source_case', 'restore-case')));
SELECT record_decision((SELECT id FROM pick WHERE n = 3), 'override', 'data error', 'order R-1', 'yellow',
                       now() - interval '1 hour', now() + interval '3 days');
SELECT record_decision(s.person_id, 'medical_release', 'recovered', 'hospital R-2')
  FROM person_status s WHERE s.colour = 'red' ORDER BY s.person_id LIMIT 1;
UPDATE risk_area SET effective_until = now() - interval '1 day' WHERE division = '110105' AND effective_until IS NULL;
INSERT INTO policy (region, valid_from, lookback_days, quarantine_days_yellow, test_window, description_zh, description_en)
  VALUES ('330000', now() - interval '2 days', 7, 5, 'calendar_days', '浙江省规则', 'Zhejiang rules'),
         ('310000', now() + interval '1 day', 10, 3, 'hours', '上海市明日规则', 'Shanghai rules from tomorrow');
SELECT count(*) FROM audit();
SELECT review_finding(min(id), 'dismiss', 'itinerary was wrong') FROM audit_finding;
SELECT * FROM decide_correction(
  request_correction((SELECT person_id FROM contact ORDER BY id LIMIT 1), 'contact',
                     (SELECT id FROM contact ORDER BY id LIMIT 1), 'I was not there'),
  true, 'tracing error');
UPDATE person SET region = '110108' WHERE id = (SELECT id FROM pick WHERE n = 4);
SELECT import_travel(json_build_array(jsonb_build_object(
  'person_id', (SELECT id FROM pick WHERE n = 5), 'place', '330106', 'at', now() - interval '40 days')));
EOF
ok $? "scripted changes by data"
partition=$(sql -c "SELECT 'healthcode.travel_' || to_char((now() - interval '1 hour') AT TIME ZONE 'Asia/Shanghai', 'YYYYMMDD')")
sql -c "INSERT INTO $partition (person_id, region, place, at, source)
        SELECT id, region, '330106', now() - interval '1 hour', 'venue_scan'
          FROM healthcode.person ORDER BY id DESC LIMIT 3" >/dev/null
ok $? "stays written straight into the day partition $partition"
# code events: in their day partitions, and one in the default partition
# (a day whose partition is not made: a month ahead)
sql -c "INSERT INTO healthcode.code_event (at, event, region, code_region, colour, outcome, holder)
        SELECT t, 'verified', '330106', '330106', 'green', 'ok', '\\x01'
          FROM unnest(ARRAY[now() - interval '3 days', now(), now() + interval '30 days']) t" >/dev/null &&
	sql -c "SELECT healthcode.create_partitions()" >/dev/null
is "$(sql -c "SELECT count(*) FROM ONLY healthcode.code_event_default")|$(sql -c "SELECT count(DISTINCT tableoid) FROM healthcode.code_event")" \
	"1|3" "code events in two day partitions and the default one"

# changes caused by time: overrides that end in two seconds; once they
# have ended, new evidence for one of them rewrites the row and writes the
# elapsed change down (cause "time"); the other's stays pending
sql -c "SELECT healthcode.record_decision(id, 'override', 'short', 'order R-3', 'red', now(), now() + interval '2 seconds')
          FROM healthcode.person WHERE id IN (SELECT person_id FROM healthcode.person_status WHERE colour = 'green'
                                               ORDER BY person_id DESC LIMIT 2)" >/dev/null
sleep 3
sql -c "INSERT INTO healthcode.declaration (person_id, region, symptoms)
        SELECT id, region, '{cough}' FROM healthcode.person
         WHERE id = (SELECT person_id FROM healthcode.manual_decision WHERE authority = 'order R-3' ORDER BY person_id LIMIT 1)" >/dev/null
is "$(sql -c "SELECT count(*) > 0 FROM healthcode.status_history WHERE cause = 'time'")|$(sql -c "SELECT count(DISTINCT cause) >= 8 FROM healthcode.status_history WHERE cause <> 'time'")" \
	"t|t" "the history holds changes caused by time and by data of many kinds"
is "$(sql -c "SELECT count(*) FROM healthcode.check_consistency()")" "0" "the original is consistent"

# ---- what must survive -----------------------------------------------------------
# One line per property; equal lines mean equal databases.
fingerprint() { # fingerprint DB -> lines "name value"
	q "$1" "
	WITH t(name, rows) AS (
	  SELECT 'person_status', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.person_id), '')) || ' ' || count(*) FROM healthcode.person_status x)
	  UNION ALL SELECT 'status_history_count', (SELECT count(*)::text FROM healthcode.status_history)
	  UNION ALL SELECT 'status_history', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) FROM healthcode.status_history x)
	  UNION ALL SELECT 'travel_partitions', (SELECT md5(string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), E'\n' ORDER BY c.relname)) || ' ' || count(*)
	                                           FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'healthcode.travel'::regclass)
	  UNION ALL SELECT 'partition_objects', (SELECT md5(string_agg(o, E'\n' ORDER BY o)) || ' ' || count(*) FROM (
	                SELECT c.relname || ' trigger ' || tg.tgname || ' ' || tg.tgenabled::text AS o
	                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_trigger tg ON tg.tgrelid = c.oid
	                 WHERE i.inhparent::regclass::text IN ('healthcode.travel', 'healthcode.code_event', 'healthcode.status_history',
	                                                       'healthcode.checkin', 'healthcode.test_result') AND NOT tg.tgisinternal
	                UNION ALL
	                SELECT c.relname || ' index ' || pg_get_indexdef(x.indexrelid)
	                  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_index x ON x.indrelid = c.oid
	                 WHERE i.inhparent::regclass::text IN ('healthcode.travel', 'healthcode.code_event', 'healthcode.status_history',
	                                                       'healthcode.checkin', 'healthcode.test_result')) s)
	  UNION ALL SELECT 'month_per_partition', (SELECT string_agg(p || ':' || n, ',' ORDER BY p) FROM (
	                SELECT x.tableoid::regclass::text AS p, count(*) AS n FROM healthcode.status_history x GROUP BY 1
	                UNION ALL SELECT x.tableoid::regclass::text, count(*) FROM healthcode.checkin x GROUP BY 1
	                UNION ALL SELECT x.tableoid::regclass::text, count(*) FROM healthcode.test_result x GROUP BY 1) s)
	  UNION ALL SELECT 'travel', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || ' ' || count(*) FROM healthcode.travel x)
	  UNION ALL SELECT 'travel_per_partition', (SELECT string_agg(p || ':' || n, ',' ORDER BY p) FROM (
	                SELECT x.tableoid::regclass::text AS p, count(*) AS n FROM healthcode.travel x GROUP BY 1) s)
	  UNION ALL SELECT 'code_event_per_partition', (SELECT string_agg(p || ':' || n || ':' || h, ',' ORDER BY p) FROM (
	                SELECT x.tableoid::regclass::text AS p, count(*) AS n, md5(string_agg(x::text, ',' ORDER BY x::text)) AS h
	                  FROM healthcode.code_event x GROUP BY 1) s)
	  UNION ALL SELECT 'code_event_partitions', (SELECT md5(string_agg(c.relname || ' ' || pg_get_expr(c.relpartbound, c.oid), ',' ORDER BY c.relname)) || ' ' || count(*)
	                                               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
	                                              WHERE i.inhparent = 'healthcode.code_event'::regclass)
	  UNION ALL SELECT 'evidence', (SELECT string_agg(tbl || ' ' || h, ', ' ORDER BY tbl) FROM (VALUES
	    ('person', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.person x)),
	    ('declaration', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.declaration x)),
	    ('test_result', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.test_result x)),
	    ('vaccination', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.vaccination x)),
	    ('contact', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.contact x)),
	    ('checkin', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.checkin x)),
	    ('risk_area', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.risk_area x)),
	    ('audit_finding', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.audit_finding x)),
	    ('correction', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.correction x)),
	    -- the built-in national default is made by CREATE EXTENSION, not restored
	    ('policy', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || '/' || count(*) FROM healthcode.policy x
	                 WHERE NOT (x.region = '000000' AND x.valid_from = '-infinity')))) v(tbl, h))
	  UNION ALL SELECT 'manual_decision', (SELECT md5(coalesce(string_agg(x::text, E'\n' ORDER BY x.id), '')) || ' ' || count(*) FROM healthcode.manual_decision x)
	)
	SELECT name || ' ' || rows FROM t"
}
line() { printf '%s\n' "$1" | sed -n "s/^$2 //p"; } # line FINGERPRINT NAME
same() { # same GOT EXPECTED NAME: like is, but two empty values (a failed query) are no match
	if [ -z "$2" ]; then ok 1 "$3"; echo "#   nothing to compare with"; else is "$1" "$2" "$3"; fi
}

orig=$(fingerprint "$TEST_DB")
is "$(printf '%s\n' "$orig" | grep -c ' .')" "12" "the original's fingerprint has all its parts"
# (personal ids are opaque: the sequences behind them must continue)
seq_person=$(sql -c "SELECT last_value FROM healthcode.person_id_seq")
seq_travel=$(sql -c "SELECT last_value FROM healthcode.travel_id_seq")
seq_history=$(sql -c "SELECT last_value FROM healthcode.status_history_id_seq")
max_policy=$(sql -c "SELECT max(id) FROM healthcode.policy")
read -r head_seq head_hash < <(sql -F ' ' -c "SELECT head_seq, encode(head_hash, 'hex') FROM healthcode.decision_chain_head()")

pg_dump -Fc -d "$TEST_DB" -f "$TEST_TMP/custom.dump"
ok $? "pg_dump in custom format"
pg_dump -d "$TEST_DB" -f "$TEST_TMP/plain.sql"
ok $? "pg_dump in plain format"

# ---- three ways to restore -----------------------------------------------------
createdb "$restored_a"
pg_restore -d "$restored_a" "$TEST_TMP/custom.dump" >"$TEST_TMP/a.log" 2>&1
rc_a=$?
createdb "$restored_b"
psql -X -q -d "$restored_b" -f "$TEST_TMP/plain.sql" >"$TEST_TMP/b.log" 2>&1
rc_b=$?
createdb "$restored_c"
PGOPTIONS='-c session_replication_role=replica' pg_restore -j 2 -d "$restored_c" "$TEST_TMP/custom.dump" >"$TEST_TMP/c.log" 2>&1
rc_c=$?

check_restored() { # check_restored DB LABEL RESTORE_STATUS LOG
	local db=$1 label=$2 rc=$3 log=$4 got who
	# (a new person for each restored copy: _a, _b, _c)
	who=$(q "$db" "SELECT healthcode.synthetic_identifier('330106', 910000 + ascii('${db##*_}'))")
	errors=$(grep -Ei '(^|: )(error|fatal)' "$log" | head -5)
	is "$rc|$errors" "0|" "$label: the restore reported no error"
	[ -z "$errors" ] || sed 's/^/#   /' "$log" | head -20

	got=$(fingerprint "$db")
	same "$(line "$got" person_status)" "$(line "$orig" person_status)" "$label: person_status identical"
	same "$(line "$got" status_history_count)" "$(line "$orig" status_history_count)" \
		"$label: status_history has as many rows (nothing appended while loading)"
	same "$(line "$got" status_history)" "$(line "$orig" status_history)" "$label: status_history identical"
	is "$(q "$db" "SELECT count(*) FROM healthcode.check_consistency()")" "0" "$label: check_consistency() is empty"
	same "$(line "$got" travel_partitions)" "$(line "$orig" travel_partitions)" "$label: the same travel day partitions"
	same "$(line "$got" partition_objects)" "$(line "$orig" partition_objects)" \
		"$label: each day or month partition has its keys, indexes and status triggers once"
	same "$(line "$got" travel)|$(line "$got" travel_per_partition)" "$(line "$orig" travel)|$(line "$orig" travel_per_partition)" \
		"$label: every travel row restored once, in its partition"
	same "$(line "$got" code_event_partitions)|$(line "$got" code_event_per_partition)" \
		"$(line "$orig" code_event_partitions)|$(line "$orig" code_event_per_partition)" \
		"$label: code_event's day partitions and default partition, every row restored once, in its partition"
	same "$(line "$got" month_per_partition)" "$(line "$orig" month_per_partition)" \
		"$label: the history, check-ins and test results each in the same month partition (or default one)"
	same "$(line "$got" evidence)" "$(line "$orig" evidence)" "$label: people, evidence and policy versions identical"
	same "$(line "$got" manual_decision)" "$(line "$orig" manual_decision)" \
		"$label: manual decisions identical (who decided, when, their hash chain)"
	is "$(q "$db" "SELECT count(*) FROM healthcode.verify_decision_chain($head_seq, decode('$head_hash', 'hex'))")" "0" \
		"$label: the decision chain verifies against the head an auditor recorded before the dump"
	is "$(q "$db" "SELECT count(*) FROM healthcode.policy WHERE region = '000000' AND valid_from = '-infinity'")" "1" \
		"$label: the national default policy version exists once"
	is "$(q "$db" "SELECT count(*) FROM healthcode._dump_marker")" "1" "$label: the dump marker is one row"
	# (the first call loads the module, which defines the setting)
	is "$(psql -XAtq -d "$db" -c "SELECT healthcode.division_code_valid('330106')" -c "SHOW healthcode.restore_mode" | tail -1)" \
		"off" "$label: a new session is not in restore mode"

	# it goes on working: new rows continue the sequences, statuses follow
	got=$(q "$db" "SELECT colour FROM healthcode.declare('$who', '330106', NULL, '{cough}')")
	is "$got|$(q "$db" "SELECT (SELECT last_value FROM healthcode.person_id_seq) > $seq_person
	                        AND healthcode.person_id('$who') IS NOT NULL")|$(q "$db" "
	    SELECT string_agg(coalesce(h.from_colour::text, '-') || '>' || h.to_colour, ' ' ORDER BY h.at, h.recorded_at) || ' '
	           || ((SELECT last_value FROM healthcode.status_history_id_seq) > $seq_history)
	      FROM healthcode.status_history h WHERE h.person_id = healthcode.person_id('$who')")" \
		"yellow|t|->green green>yellow true" "$label: declare() registers a new person, recalculates and writes history"
	# a stay written straight into a restored day partition: its own
	# triggers (restored from the dump) recalculate
	part=$(q "$db" "SELECT 'healthcode.travel_' || to_char(x.d, 'YYYYMMDD')
	                  FROM (SELECT ((now() - interval '10 minutes') AT TIME ZONE 'Asia/Shanghai')::date AS d) x,
	                       healthcode.create_travel_partitions(x.d, x.d)")
	got=$(q "$db" "INSERT INTO $part (person_id, region, place, at, source)
	               SELECT id, region, '330106', now() - interval '10 minutes', 'venue_scan' FROM healthcode.person
	                WHERE id = healthcode.person_id('$who') RETURNING (SELECT last_value FROM healthcode.travel_id_seq) > $seq_travel")
	is "$got|$(q "$db" "SELECT colour FROM healthcode.status(healthcode.person_id('$who'))")" \
		"t|red" "$label: a stay in a high-risk area, written into $part, gets a new travel id and makes red"
	got=$(q "$db" "INSERT INTO healthcode.policy (region, valid_from, lookback_days, description_zh, description_en)
	               VALUES ('440000', now() - interval '1 hour', 3, '广东省规则', 'Guangdong rules') RETURNING id > $max_policy")
	is "$got|$(q "$db" "SELECT count(*) FROM healthcode.check_consistency()")" "t|0" \
		"$label: a new policy version continues its sequence and everything stays consistent"
}

check_restored "$restored_a" "pg_restore" "$rc_a" "$TEST_TMP/a.log"
check_restored "$restored_b" "psql -f plain" "$rc_b" "$TEST_TMP/b.log"
check_restored "$restored_c" "pg_restore -j 2 replica" "$rc_c" "$TEST_TMP/c.log"

done_testing
