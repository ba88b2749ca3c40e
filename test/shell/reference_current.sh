#!/usr/bin/env bash
# doc/reference.md never drifts from the code: it must be exactly what
# tools/reference.sh generates from the installed extension, here in a
# fresh database. When it is not, the diff shows what changed.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
root=$(cd "$(dirname "$0")/../.." && pwd)

"$root/tools/reference.sh" -d "$TEST_DB" > "$TEST_TMP/reference.md" 2> "$TEST_TMP/stderr"
rc=$?
ok "$rc" "tools/reference.sh generates the reference"
[ "$rc" -eq 0 ] || sed 's/^/# /' "$TEST_TMP/stderr" >&2
grep -q '^# healthcode SQL reference$' "$TEST_TMP/reference.md"
ok $? "the generated reference starts with its title"

"$root/tools/reference.sh" -d "$TEST_DB" 2>/dev/null | cmp -s - "$TEST_TMP/reference.md"
ok $? "the generated reference is the same on a second run"

diff -u --label doc/reference.md --label generated "$root/doc/reference.md" "$TEST_TMP/reference.md" \
	> "$TEST_TMP/diff" 2>&1
rc=$?
ok "$rc" "doc/reference.md is current"
if [ "$rc" -ne 0 ]; then
	hint="# doc/reference.md differs from the generated reference: run tools/reference.sh --write"
	lines=$(wc -l < "$TEST_TMP/diff")
	{
		echo "$hint"
		head -n 200 "$TEST_TMP/diff" | sed 's/^/# /'
		[ "$lines" -le 200 ] || echo "# ... $((lines - 200)) more lines of diff"
		echo "$hint"
	} >&2
fi

done_testing
