#!/usr/bin/env bash
# The names a screen gives a place are cached by each backend
# (src/hc_division_names.c): a change of division_name committed by
# another session is seen by the next call of a session that had cached
# the old name, and a change rolled back is not.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db

# one long-lived session, fed line by line (it keeps its cache between them)
fifo="$TEST_TMP/session.in"
mkfifo "$fifo"
psql -XAtq -d "$TEST_DB" <"$fifo" >"$TEST_TMP/session.out" 2>&1 &
session=$!
exec 3>"$fifo"
ask() { # ask SQL: runs it in the long-lived session, prints its one-line answer
	local before
	before=$(wc -l <"$TEST_TMP/session.out")
	printf '%s\n' "$1" >&3
	for _ in $(seq 1 100); do
		[ "$(wc -l <"$TEST_TMP/session.out")" -gt "$before" ] && break
		sleep 0.05
	done
	tail -n 1 "$TEST_TMP/session.out"
}

is "$(ask "SELECT healthcode.division_label('330106', 'en');")" "Xihu, Hangzhou" "the session names the place (and caches it)"
sql -c "UPDATE healthcode.division_name SET name_en = 'West Lake' WHERE code = '330106'" >/dev/null
is "$(ask "SELECT healthcode.division_label('330106', 'en');")" "West Lake, Hangzhou" \
	"another session's committed change is seen at its next call"
sql -c "BEGIN" -c "UPDATE healthcode.division_name SET name_en = 'Nowhere' WHERE code = '330106'" -c "ROLLBACK" >/dev/null
is "$(ask "SELECT healthcode.division_label('330106', 'en');")" "West Lake, Hangzhou" "a change rolled back is not"
sql -c "INSERT INTO healthcode.division_name (code, name_zh, name_en) VALUES ('330106001', '北山街道', 'Beishan')" >/dev/null
is "$(ask "SELECT healthcode.division_label('330106001001');")" "杭州市西湖区北山街道" "a row added names the places below it at once"
exec 3>&-
wait "$session"
done_testing
