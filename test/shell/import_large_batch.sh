#!/usr/bin/env bash
# A large import batch is read as a stream (issue 10): 200,000 stays for
# 20,000 people are imported whole, and the backend's peak memory while it
# runs exceeds that of a statement that only receives the same batch by
# less than IMPORT_MEMORY_MARGIN_MB (150; measured here: 55-80 MB at
# 200,000 to 1,000,000 stays, the batch itself 19 to 93 MB). The imports
# before issue 10 took jsonb, whose input builds the whole batch as a tree,
# and copied it: about 315 MB more than receiving it as json at this size. The same batch with its last record bad is refused
# naming that record, and leaves nothing behind: no stay, no partition.
# Figures against COPY are the benchmark's (bench/import.sh); this test
# measures no time.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
records=${IMPORT_RECORDS:-200000}
margin_mb=${IMPORT_MEMORY_MARGIN_MB:-150}

# ---- the people and the batch, made by the server --------------------------------
sql -v records="$records" >/dev/null <<'EOF'
INSERT INTO healthcode.person (region, subject)
SELECT CASE WHEN i % 2 = 0 THEN '330106' ELSE '330102' END, healthcode.pseudonym('large batch ' || i)
  FROM generate_series(1, 20000) i;
-- (71 hours, prime: no two records share person, time and place)
CREATE TABLE batch AS
SELECT '[' || string_agg(json_build_object('person_id', p.id, 'place', CASE WHEN g % 3 = 0 THEN '330105' ELSE '330106' END,
                                           'at', now() - (g % 71) * interval '1 hour' - interval '5 minutes',
                                           'source', 'telecom')::text, ',' ORDER BY g) || ']' AS good
  FROM generate_series(1, :records) g
  JOIN (SELECT id, row_number() OVER (ORDER BY id) AS n FROM healthcode.person) p ON p.n = 1 + g % 20000;
EOF
ok $? "a batch of $records stays for 20,000 people"
sql -c "SELECT good FROM batch" >"$TEST_TMP/good.json" &&
	sql -c "SELECT rtrim(good, ']') || ', {\"person_id\": 1.5, \"place\": \"330106\", \"at\": \"2022-01-01T00:00:00+08:00\"}]' FROM batch" >"$TEST_TMP/bad.json"
ok $? "the batch written out, and a copy whose last record is bad"

# Runs SQL (BATCH in it replaced by the file read with pg_read_file) in a
# session of its own and prints "<peak private kB> <result>": the backend's
# Private_Clean + Private_Dirty, sampled every 20 ms while it runs.
peak_of() { # peak_of FILE SQL
	local file=$1 query=$2 out="$TEST_TMP/out.$$" pid peak=0 v
	local read="pg_read_file('$file')"
	psql -XAtq -d "$TEST_DB" -c "SELECT pg_backend_pid()" -c "SELECT pg_sleep(0.3)" \
		-c "${query//BATCH/$read}" >"$out" 2>&1 &
	local job=$!
	sleep 0.1
	pid=$(head -n 1 "$out")
	while kill -0 "$job" 2>/dev/null; do
		v=$(awk '/^Private_(Clean|Dirty)/ { s += $2 } END { print s + 0 }' "/proc/$pid/smaps_rollup" 2>/dev/null)
		[ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
		sleep 0.02
	done
	wait "$job"
	echo "$peak $(sed -n '3,$p' "$out" | tr '\n' ' ')"
}

chmod 644 "$TEST_TMP"/*.json
imported=$(peak_of "$TEST_TMP/good.json" "SELECT healthcode.import_travel(BATCH::json)")
received=$(peak_of "$TEST_TMP/good.json" "SELECT json_array_length(BATCH::json)")
is "$(echo "$imported" | cut -d' ' -f2)" "$records" "all $records stays imported"
is "$(echo "$received" | cut -d' ' -f2)" "$records" "the batch received whole by the reference statement"
is "$(sql -c 'SELECT count(*) FROM healthcode.check_consistency()')" 0 "check_consistency() is empty after the import"
if [ -r "/proc/$$/smaps_rollup" ] && [ "$(id -u)" -eq 0 ]; then
	extra_kb=$(( $(echo "$imported" | cut -d' ' -f1) - $(echo "$received" | cut -d' ' -f1) ))
	ok $(( extra_kb < margin_mb * 1024 ? 0 : 1 )) \
		"the import's peak memory exceeds receiving the batch by $((extra_kb / 1024)) MB (bound: $margin_mb MB)"
else
	echo "ok $((_tap_n + 1)) # SKIP reading another user's memory needs root"
	_tap_n=$((_tap_n + 1))
fi

# ---- the bad last record --------------------------------------------------------
sql -c "TRUNCATE healthcode.travel" >/dev/null 2>&1
parts_before=$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'healthcode.travel'::regclass")
refused=$(peak_of "$TEST_TMP/bad.json" "SELECT healthcode.import_travel(BATCH::json)")
like "$refused" "travel import: record $((records + 1)), field \"person_id\": 1.5 is not an integer" \
	"a bad last record is refused, naming record $((records + 1)) and the field"
is "$(sql -c 'SELECT count(*) FROM healthcode.travel')" 0 "nothing of the refused batch was written"
is "$(sql -c "SELECT count(*) FROM pg_inherits WHERE inhparent = 'healthcode.travel'::regclass")" "$parts_before" \
	"and no day partition was made for it"

done_testing
