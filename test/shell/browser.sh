#!/usr/bin/env bash
# The reference web app (examples/webapp) end to end in a real browser:
# a cluster of the test's own, the app's stack on it (its database, TLS on
# loopback, PgBouncer in transaction mode, the app under uWSGI), and
# test/browser/pages.py driving Debian's headless Chromium through every
# page: the code screen whose screenshot's QR zbarimg reads and the
# checkpoint page verifies, an expired and a forged code refused, a red
# visitor denied at a venue's door, a guardian's dependant, another
# region's person never shown, the analyst's table and chart. Screenshots
# of the pages: test/browser/out/.
set -u
. "$(dirname "$0")/tap.bash"
root=$(cd "$(dirname "$0")/../.." && pwd)

for tool in chromium chromedriver zbarimg pgbouncer uwsgi; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is not installed (tools/deps.sh installs it)"; exit 0; }
done

own_cluster_dir browser
stack="$work/stack"
cleanup() {
	"$root/examples/webapp/stack.sh" down "$stack"
	drop_own_cluster
}
trap cleanup EXIT
own_cluster <<CONF
shared_preload_libraries = 'healthcode'
CONF
mkdir -p "$stack"
"$root/examples/webapp/stack.sh" up "$stack" 127.0.0.1 "$port" "$superuser" >"$work/stack.out" 2>&1
ok $? "the app's stack starts: database, TLS, PgBouncer, uWSGI" || { sed 's/^/#! /' "$work/stack.out" >&2; done_testing; exit 1; }
# shellcheck disable=SC1091
. "$stack/stack.env"

# The app's logins are no superusers, and reach the database through PgBouncer only with TLS
logins=$(psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d hcweb -c \
	"SELECT string_agg(rolname || ':' || (rolsuper OR rolbypassrls OR rolcreaterole OR rolcreatedb)::text, ' ' ORDER BY rolname)
	   FROM pg_roles WHERE rolname LIKE 'web\_%'")
is "$logins" "web_analyst:false web_app:false web_verifier:false" \
	"the app's three database logins are neither superusers nor bypass row-level security nor create roles"
# (a call through PgBouncer first: it opens server connections when asked)
through=$(psql -XAtq "$APP_DSN" -c "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()" 2>&1)
is "$through" "web_app|t" "the app's login reaches the database through PgBouncer, and PgBouncer's connection uses TLS"
plain=$(psql -XAtq "${APP_DSN/sslmode=verify-full/sslmode=disable}" -c 'SELECT 1' 2>&1)
like "$plain" "SSL|ssl|TLS|tls" "PgBouncer refuses the app's login without TLS"
like "$(grep -c 'pool_mode = transaction' "$stack/bouncer/pgbouncer.ini")" '^1$' "PgBouncer is set to pool by transaction"

# A form posted without the session's token is refused; a login sends on
# only to the app's own pages
jar="$work/cookies"
# form_token PAGE: the form's token on an app page, the session kept in the jar
form_token() { curl -s -b "$jar" -c "$jar" "$URL$1" | sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p'; }
no_token=$(curl -s -o /dev/null -w '%{http_code}' -d "username=zhang&password=$PASSWORD" "$URL/login")
is "$no_token" 400 "a login posted without the form's token is refused"
token=$(form_token /login)
where=$(curl -s -b "$jar" -o /dev/null -w '%{redirect_url}' --data-urlencode "csrf=$token" \
	-d "username=zhang&password=$PASSWORD" "$URL/login?next=/%5Cevil.example")
is "$where" "$URL/code" "a login's next= that is no page of the app's is not followed"
# (bytes no scanner reads: a NUL in the text, a file that is no image)
token=$(form_token /login)
curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "csrf=$token" -d "username=check&password=$PASSWORD" "$URL/login"
token=$(form_token /checkpoint)
odd="$(curl -s -b "$jar" -o /dev/null -w '%{http_code}' -d "csrf=$token&code=HCN:ab%00cd" "$URL/checkpoint")"
odd="$odd $(curl -s -b "$jar" -o /dev/null -w '%{http_code}' -F "csrf=$token" -F "photo=@$root/README.md" "$URL/checkpoint")"
is "$odd" "422 422" "the checkpoint answers a NUL in a scanned text and a photo that is no image as no code, not an error"
# (the app checks a session cookie's signature once a process, then knows
# its bytes: a cookie one character off is still no login)
cookie=$(awk '$6 == "session" { print $7 }' "$jar")
# (the signature's first character: its last one carries padding bits a
# decoder may ignore)
signature=${cookie##*.}
first=${signature:0:1}
bent="${cookie%.*}.$([ "$first" = A ] && echo B || echo A)${signature:1}"
seen="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: session=$cookie" "$URL/checkpoint")"
seen="$seen $(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -H "Cookie: session=$bent" "$URL/checkpoint")"
seen="$seen $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: session=$cookie" "$URL/checkpoint")"
is "$seen" "200 302 $URL/login?next=%2Fcheckpoint 200" "a session cookie with its signature altered is no login, while the true one, already checked, still is"
# (and known by the header only when the header is that cookie alone)
seen="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: other=1; session=$cookie" "$URL/checkpoint")"
seen="$seen $(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: other=1; session=$bent" "$URL/checkpoint")"
is "$seen" "200 302" "beside another cookie, the true session cookie is a login and the altered one is not"

# A code that expired a moment ago, issued to the green citizen
expired=$(psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d hcweb -c \
	"SELECT healthcode.issue_for(healthcode.person_id('330106199203154415'), interval '1 second')::text")
# A forgery: a real code (the red citizen's) with one bit of its signature flipped
forged=$(psql -XAtq -h 127.0.0.1 -p "$port" -U "$superuser" -d hcweb -c \
	"SELECT healthcode.healthcode(set_byte(b, length(b) - 1, get_byte(b, length(b) - 1) # 1))::text
	   FROM (SELECT healthcode.issue_for(healthcode.person_id('330106199506202349'))::bytea AS b) c")
sleep 2

out="$root/test/browser/out"
rm -rf "$out"
# (every check of pages.py must run: one an exception skipped fails here)
expected_checks=25
ran=
while IFS= read -r line; do
	case "$line" in
		PASS\ *) ok 0 "${line#PASS }" ;;
		FAIL\ *) name=${line#FAIL }; ok 1 "${name%%$'\t'*}"; diag "${name#*$'\t'}" ;;
		CHECKS\ *) ran=${line#CHECKS } ;;
		*) diag "$line" ;;
	esac
done < <(/usr/bin/python3 "$root/test/browser/pages.py" "$URL" "$PASSWORD" "$VENUE_CODE" "$expired" "$forged" "$out" 2>&1)
is "$ran" "$expected_checks" "every check of the pages ran ($expected_checks)"
shots=$(find "$out" -name '*.png' 2>/dev/null | wc -l)
ok $([ "$shots" -ge 10 ]; echo $?) "screenshots of the pages written to test/browser/out ($shots)"
done_testing
