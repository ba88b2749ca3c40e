#!/usr/bin/env bash
# The server key file: what is refused (missing, group/world-readable,
# foreign owner, symlink, malformed, the wrong key) and what works (raw
# bytes, hex with a newline), each with a clear message.
set -u
. "$(dirname "$0")/tap.bash"
make_test_db
owner=$(server_os_user)

keyfile() { # keyfile NAME MODE CONTENT_COMMAND -> path
	local f="$TEST_TMP/$1"
	eval "$3" > "$f"
	chown "$owner" "$f" 2>/dev/null
	chmod "$2" "$f"
	echo "$f"
}
try_key() { # try_key FILE SQL -> psql's output, errors included
	sql -c "SET healthcode.server_key_file = '$1'" -c "$2" 2>&1
}

good=$(keyfile good.key 600 'head -c 32 /dev/urandom')
hex=$(keyfile hex.key 400 'head -c 32 /dev/urandom | od -An -tx1 | tr -d " \n"; echo')
other=$(keyfile other.key 600 'head -c 32 /dev/urandom')

out=$(try_key "$good" "SELECT healthcode.create_key('330000') IS NOT NULL")
is "$out" "t" "a 32-byte key file, mode 0600, owned by the server user, works"
out=$(try_key "$good" "SELECT (healthcode.verify(healthcode.issue('330106', healthcode.pseudonym('k'), 'green'))).reason")
is "$out" "ok" "codes issued under it verify"
out=$(try_key "$hex" "SELECT length(healthcode.pseudonym('k'))")
is "$out" "16" "a 64-hex-digit key file with a newline, mode 0400, works"

out=$(try_key "$other" "SELECT healthcode.issue('330106', healthcode.pseudonym('k'), 'green')")
like "$out" "does not open with the configured server key" "a different server key cannot unseal the issuer key"

chmod 640 "$good"
out=$(try_key "$good" "SELECT healthcode.create_key('110000')")
like "$out" "unsafe ownership or permissions" "a group-readable key file is refused"
like "$out" "mode 0640" "the message gives the file's mode"
chmod 604 "$good"
out=$(try_key "$good" "SELECT healthcode.create_key('110000')")
like "$out" "unsafe ownership or permissions" "a world-readable key file is refused"
chmod 600 "$good"

if [ "$(id -u)" -eq 0 ] && [ "$owner" != root ]; then
	foreign=$(keyfile foreign.key 600 'head -c 32 /dev/urandom')
	# readable by the server only through "other" bits: refused for both
	chown root "$foreign"
	chmod 644 "$foreign"
	out=$(try_key "$foreign" "SELECT healthcode.create_key('110000')")
	like "$out" "it is uid 0, mode 0644" "a key file owned by another user is refused, naming its owner"
else
	ok 0 "# SKIP a foreign owner needs root to set up"
fi

ln -s "$good" "$TEST_TMP/link.key"
out=$(try_key "$TEST_TMP/link.key" "SELECT healthcode.create_key('110000')")
like "$out" "could not open healthcode server key file" "a symbolic link is not followed"

short=$(keyfile short.key 600 'head -c 10 /dev/urandom')
out=$(try_key "$short" "SELECT healthcode.create_key('110000')")
like "$out" "is malformed" "a 10-byte key file is refused as malformed"
like "$out" "expected 32 raw bytes or 64 hex digits" "the detail says what a key file holds"
badhex=$(keyfile badhex.key 600 'printf "%064d" 0 | sed "s/0/g/5"')
out=$(try_key "$badhex" "SELECT healthcode.create_key('110000')")
like "$out" "is not a hex digit" "a non-hex digit is refused"

out=$(try_key "$TEST_TMP/none.key" "SELECT healthcode.create_key('110000')")
like "$out" "could not open healthcode server key file .*No such file" "a missing key file is named in the error"
out=$(try_key "" "SELECT healthcode.create_key('110000')")
like "$out" "HINT: +Create a 32-byte key file" "with no key file configured, the hint says how to make one"

is "$(sql -c "SELECT count(*) FROM healthcode.trust_list WHERE region = '110000'")" "0" "no failed attempt left a key behind"

done_testing
