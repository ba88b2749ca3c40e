#!/usr/bin/env bash
# The national scheme end to end: a hub and two regional nodes, each its own
# PostgreSQL cluster on a loopback port (wal_level = logical), joined with
# the SQL the extension provides (set_node, create_publication,
# subscription_sql). Zhejiang (330000) has an issuer; Beijing (110000) has
# none. Checks the three modes of mutual recognition, reds pushed between
# provinces, arrival rules (national ones written on the hub and published
# to the regions; codes carrying their holder's last negative test, admitted
# offline), key rotation and revocation reaching the other region, a
# regional node restarted mid-stream catching up, and malformed trust-list
# rows being logged and skipped without stalling replication, and exposure
# tracing across provinces (a notice through the hub files another node's
# visitors of a case's venue as contacts), and a province that runs another
# health-code system sharing its residents' health data through the hub's
# peer API (mode 1 without a node), and a region hosted by the hub (mode 3
# without a node): a Guangdong resident passes through all four. The hosted
# region then moves onto a node of its own (Inner Mongolia's, running from
# the start): export, adoption, release, a switch of issuer, re-keying.
# Run as root or as a user who may run initdb; it needs pg_config (and the
# healthcode it installed) first in PATH. Each node gets its own
# healthcode.server_key_file and the one national key
# (healthcode.national_key_file), written here.
set -u
. "$(dirname "$0")/tap.bash"

own_cluster_dir federation
nodes="hub zhejiang beijing neimenggu"
declare -A port

stop_all() {
	for n in $nodes; do
		[ -f "$work/$n/postmaster.pid" ] && as_db "$PGBIN/pg_ctl" -D "$work/$n" -m immediate -w stop >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap stop_all EXIT

# the national key: the same on every node; each node its own server key
head -c 32 /dev/urandom >"$work/national.key.src"
for n in $nodes; do
	port[$n]=$(free_port)
	as_db "$PGBIN/initdb" -D "$work/$n" -A trust -U "$superuser" --no-instructions >/dev/null
	as_db sh -c "umask 077; head -c 32 /dev/urandom > '$work/$n.server.key'; cat '$work/national.key.src' > '$work/$n.national.key'"
	cat >>"$work/$n/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = ${port[$n]}
unix_socket_directories = '$work'
wal_level = logical
max_replication_slots = 10
max_wal_senders = 10
max_logical_replication_workers = 8
healthcode.server_key_file = '$work/$n.server.key'
healthcode.national_key_file = '$work/$n.national.key'
CONF
	as_db "$PGBIN/pg_ctl" -D "$work/$n" -l "$work/$n.log" -w start >/dev/null
	psql -XAtq -h 127.0.0.1 -p "${port[$n]}" -U "$superuser" -d postgres -c 'CREATE DATABASE hc' >/dev/null
done
on() { local n=$1; shift; psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[$n]}" -U "$superuser" -d hc "$@"; }
# subscriptions connect as a replication role, as the README tells a DBA to make
conninfo() { echo "host=127.0.0.1 port=${port[$1]} dbname=hc user=replicator"; }
# waits (up to 60 s) until a query on a node returns t
wait_for() {
	local n=$1 q=$2 i
	for i in $(seq 1 240); do
		[ "$(on "$n" -c "$q" 2>/dev/null)" = t ] && return 0
		sleep 0.5
	done
	return 1
}
ok 0 "four clusters on loopback ports ${port[hub]}, ${port[zhejiang]}, ${port[beijing]}, ${port[neimenggu]} (wal_level = logical)"

# ---- joining: the SQL a DBA runs (README "Joining a region to the hub") -------------
on hub -c 'CREATE EXTENSION healthcode' \
	-c "SELECT healthcode.set_node('hub', '000000', 'hub')" \
	-c "SELECT healthcode.create_key('000000')" -c 'SELECT healthcode.create_publication()' >/dev/null
on zhejiang -c 'CREATE EXTENSION healthcode' \
	-c "SELECT healthcode.set_node('region', '330000', 'zhejiang')" \
	-c "SELECT healthcode.create_key('330000')" -c 'SELECT healthcode.create_publication()' >/dev/null
on beijing -c 'CREATE EXTENSION healthcode' \
	-c "SELECT healthcode.set_node('region', '110000', 'beijing')" -c 'SELECT healthcode.create_publication()' >/dev/null
# (Inner Mongolia's node, to which the hub later moves the region it hosts: it
# receives from the hub from the start; the hub receives from it once it serves)
on neimenggu -c 'CREATE EXTENSION healthcode' \
	-c "SELECT healthcode.set_node('region', '150000', 'neimenggu')" \
	-c "SELECT healthcode.create_key('150000')" -c 'SELECT healthcode.create_publication()' >/dev/null
for n in $nodes; do
	on "$n" -c 'CREATE ROLE replicator LOGIN REPLICATION BYPASSRLS' \
		-c 'GRANT SELECT ON healthcode.key_exchange, healthcode.status_digest, healthcode.red_push, healthcode.policy_exchange, healthcode.code_revocation, healthcode.arrival_rule_exchange, healthcode.exposure_notice, healthcode.venue_closure, healthcode.health_share TO replicator' >/dev/null
done
declare -A division=([zhejiang]=330000 [beijing]=110000)
for r in zhejiang beijing; do
	on hub <<<"SELECT healthcode.subscription_sql('$r', '${division[$r]}', '$(conninfo "$r")') \gexec" >/dev/null 2>&1
	on "$r" <<<"SELECT healthcode.subscription_sql('hub', '000000', '$(conninfo hub)', digests => true) \gexec" >/dev/null 2>&1
done
ok $? "the hub subscribes to both regions and each region to the hub"
on neimenggu <<<"SELECT healthcode.subscription_sql('hub', '000000', '$(conninfo hub)', digests => true) \gexec" >/dev/null 2>&1
wait_for beijing "SELECT count(*) = 2 FROM healthcode.key_exchange"
ok $? "Beijing's trust list holds the national key and Zhejiang's, through the hub"
is "$(on beijing -c 'SELECT count(*) FROM healthcode.issuer_key_secret')" "0" "no secret key crossed a node"

# ---- mode 1: Beijing verifies a Zhejiang code offline --------------------------------
on zhejiang -c "SELECT healthcode.declare('330106199001010114', '330106', '张一')" >/dev/null
code=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199001010114'), '5 minutes')")
is "$(on beijing -c "SELECT (healthcode.verify('$code')).reason")" "ok" \
	"mode 1: a Zhejiang code verifies in Beijing against Zhejiang's key from the replicated trust list"
is "$(on beijing -c "SELECT count(*) FROM healthcode.person")" "0" "no personal data reached Beijing for that"

# ---- mode 2: the hub as intermediary ----------------------------------------------------
wait_for hub "SELECT count(*) > 0 FROM healthcode.status_digest WHERE region = '330106'"
ok $? "Zhejiang's code-status digests reach the hub"
is "$(on hub -c "SELECT reason || ' ' || code_is_current FROM healthcode.current_status_of('$code')")" "ok true" \
	"mode 2: the hub confirms the code's colour is the current one"
is "$(on hub -c "SELECT count(*) FROM healthcode.status_digest d WHERE d::text LIKE '%330106199001010114%'")" "0" \
	"the digest holds no identifier"
on zhejiang -c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199001010114\", \"kind\": \"pcr\", \"sampled_at\": \"$(date -u -d '-3 hours' '+%F %T')+00\", \"result\": \"positive\", \"lab\": \"L\", \"sample_id\": \"Z1\"}]')" >/dev/null
wait_for hub "SELECT colour = 'red' FROM healthcode.status_digest d WHERE d.subject = healthcode.subject('$code')"
is "$(on hub -c "SELECT reason || ' ' || colour FROM healthcode.current_status_of('$code')")" "colour_changed red" \
	"mode 2: after a positive test in Zhejiang the hub says the green code is no longer current"
# the online check at checkpoints (issue 12): where the holder's status is known
is "$(on zhejiang -c "SELECT valid || ' ' || reason || ' ' || current_colour FROM healthcode.checkpoint_verify('$code', '330106')")" \
	"false colour_changed red" "online check on the issuing node: the green code fails at once"
is "$(on hub -c "SELECT valid || ' ' || online_check || ' ' || current_colour FROM healthcode.checkpoint_verify('$code', '000000')")" \
	"false colour_changed red" "online check on the hub, from the digest: the same"
wait_for beijing "SELECT colour = 'red' FROM healthcode.status_digest d WHERE d.subject = healthcode.subject('$code')"
is "$(on beijing -c "SELECT valid || ' ' || reason || ' ' || current_colour FROM healthcode.checkpoint_verify('$code', '110105')")" \
	"false colour_changed red" "and in Beijing, which holds the digests the hub passes on"

# ---- mode 3: a region without an issuer gets codes from the national issuer ------------
on beijing -c "SELECT healthcode.declare('110105199202020020', '110105', '李二')" >/dev/null
subject=$(on beijing -c "SELECT encode(healthcode.subject_of('110105199202020020'), 'hex')")
wait_for hub "SELECT count(*) = 1 FROM healthcode.status_digest WHERE subject = '\\x$subject'"
bcode=$(on hub -c "SELECT healthcode.issue_for_subject('110105', '\\x$subject', '5 minutes')")
is "$(on hub -c "SELECT healthcode.region('$bcode') || ' ' || healthcode.colour('$bcode') || ' ' || (healthcode.key_id('$bcode') = (SELECT key_id FROM healthcode.trust_list WHERE region = '000000'))")" \
	"110105 green true" "mode 3: the hub issues a Beijing resident's code with the national key, from Beijing's digest"
is "$(on zhejiang -c "SELECT (healthcode.verify('$bcode')).reason")" "ok" "and Zhejiang verifies it"

# ---- reds pushed by another province -----------------------------------------------------
on zhejiang -c "SELECT healthcode.declare('330102199303030035', '330102', '王三')" \
	-c "SELECT healthcode.import_contacts('[{\"identifier\": \"330102199303030035\", \"kind\": \"close\", \"exposure_at\": \"$(date -u -d '-1 day' '+%F %T')+00\", \"source_case\": \"case-7\"}]')" >/dev/null
wait_for beijing "SELECT count(*) = 2 FROM healthcode.red_push"
ok $? "Zhejiang's reds reach Beijing through the hub (national pseudonyms only)"
is "$(on beijing -c "SELECT colour || ' ' || (reasons -> 0 ->> 'rule') FROM healthcode.declare('330102199303030035', '110105', '王三')")" \
	"red pushed_red" "the close contact is red in Beijing as soon as they declare there"
on beijing -c "SELECT healthcode.declare('330106199001010114', '110101', '张一')" >/dev/null
on zhejiang -c "SELECT healthcode.declare('330106199404040043', '330106', '赵四')" >/dev/null
on beijing -c "SELECT healthcode.declare('330106199404040043', '110101', '赵四')" >/dev/null
on zhejiang -c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199404040043\", \"kind\": \"antigen\", \"sampled_at\": \"$(date -u -d '-1 hour' '+%F %T')+00\", \"result\": \"positive\", \"lab\": \"L\", \"sample_id\": \"Z2\"}]')" >/dev/null
wait_for beijing "SELECT colour = 'red' FROM healthcode.health_info('330106199404040043')"
ok $? "a person already registered in Beijing turns red when Zhejiang's red arrives"
on zhejiang -c "SELECT healthcode.record_decision(healthcode.person_id('330106199404040043'), 'medical_release', 'false positive confirmed', 'HQ 12')" >/dev/null
wait_for beijing "SELECT colour = 'green' FROM healthcode.health_info('330106199404040043')"
ok $? "and green again when Zhejiang releases them"

# ---- arrival rules in Beijing ----------------------------------------------------------------
on beijing -c "INSERT INTO healthcode.arrival_rule (region, from_region, demand, negative_test_hours, description) VALUES ('110000', '330000', 'green_and_negative_test', 48, 'visitors from Zhejiang: green and a negative test within 48 h')" >/dev/null
on zhejiang -c "SELECT healthcode.declare('330106199505050056', '330106')" -c "SELECT healthcode.declare('330106199606060069', '330106')" \
	-c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199505050056\", \"kind\": \"pcr\", \"sampled_at\": \"$(date -u -d '-10 hours' '+%F %T')+00\", \"result\": \"negative\", \"lab\": \"L\", \"sample_id\": \"Z3\"}]')" >/dev/null
tested=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199505050056'), '5 minutes')")
untested=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199606060069'), '5 minutes')")
wait_for beijing "SELECT count(*) = 1 FROM healthcode.status_digest WHERE last_negative_at IS NOT NULL AND region = '330106'"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || rule FROM healthcode.verify_arrival('$tested', '110105')")" \
	"true ok visitors from Zhejiang: green and a negative test within 48 h" "a green visitor with a recent negative test is admitted, and the rule is named"
is "$(on beijing -c "SELECT admit || ' ' || reason FROM healthcode.verify_arrival('$untested', '110105')")" \
	"false no_recent_negative_test" "a green visitor without one is not"
is "$(on beijing -c "SELECT admit || ' ' || reason FROM healthcode.verify_arrival('$bcode', '110105')")" "true ok" \
	"a local code falls under no visitor rule"

# ---- national arrival rules: written on the hub, published to every region ----------------------
hub_from=$(on hub -c "INSERT INTO healthcode.arrival_rule (region, from_region, demand, negative_test_hours, description, valid_from) VALUES ('000000', '000000', 'green_and_negative_test', 72, 'national: green and a negative test within 72 h', now() - interval '1 hour') RETURNING valid_from")
is "$(on hub -c "SELECT from_region || ' ' || (rule ->> 'negative_test_hours') FROM healthcode.arrival_rule_exchange WHERE valid_from = '$hub_from'")" \
	"000000 72" "the hub publishes its national rule in arrival_rule_exchange"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.arrival_rule WHERE region = '000000' AND from_region = '000000' AND valid_from = '$hub_from' AND negative_test_hours = 72"
ok $? "the national rule reaches Beijing, with the hub's valid_from"
wait_for zhejiang "SELECT count(*) = 1 FROM healthcode.arrival_rule WHERE region = '000000' AND from_region = '000000' AND valid_from = '$hub_from' AND negative_test_hours = 72"
ok $? "and Zhejiang"
# a Beijing resident's code (national key, from the digest): Beijing has no rule of its own for it
bcode2=$(on hub -c "SELECT healthcode.issue_for_subject('110105', '\\x$subject', '5 minutes')")
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || rule_region || ' ' || rule_from_region || ' ' || (rule_version = '$hub_from') FROM healthcode.verify_arrival('$bcode2', '110105')")" \
	"false no_recent_negative_test 000000 000000 true" \
	"a code with no more specific rule in Beijing falls under the national rule, named by its version (the hub's valid_from)"
# Beijing ends its own rule for Zhejiang's codes: the national one applies to them
on beijing -c "UPDATE healthcode.arrival_rule SET valid_until = now() WHERE region = '110000' AND from_region = '330000'" >/dev/null
# (Zhejiang hears nothing from the hub while it declares and imports: the hub's copies of the two
# digests this writes come back to it only after both are written, older after newer, checked below)
hub_sub=$(on zhejiang -c "SELECT subname FROM pg_subscription")
on zhejiang -c "ALTER SUBSCRIPTION $hub_sub DISABLE" >/dev/null
on zhejiang -c "SELECT healthcode.declare('330106199808080084', '330106')" \
	-c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199808080084\", \"kind\": \"pcr\", \"sampled_at\": \"$(date -u -d '-50 hours' '+%F %T')+00\", \"result\": \"negative\", \"lab\": \"L\", \"sample_id\": \"Z8\"}]')" >/dev/null
on zhejiang -c "ALTER SUBSCRIPTION $hub_sub ENABLE" >/dev/null
fcode=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199808080084'), '5 minutes', health_facts => true)")
fcode1=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199808080084'), '5 minutes')")
sampled=$(on zhejiang -c "SELECT max(sampled_at) FROM healthcode.test_result WHERE person_id = healthcode.person_id('330106199808080084')")
is "$(on beijing -c "SELECT healthcode.format_version('$fcode') || ' ' || (v.last_negative_at = date_trunc('second', '$sampled'::timestamptz)) || ' ' || v.doses FROM healthcode.verify('$fcode') v")" \
	"2 true 0" "a Zhejiang code issued with health_facts carries the holder's negative test, read in Beijing"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || facts_from || ' ' || rule_region || ' ' || (rule_version = '$hub_from') FROM healthcode.verify_arrival('$fcode', '110105', online => false)")" \
	"true ok code 000000 true" "offline in Beijing, the national rule (72 h) admits it on the test the code carries (50 hours old)"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || coalesce(facts_from, 'none') FROM healthcode.verify_arrival('$fcode1', '110105', online => false)")" \
	"false no_recent_negative_test none" "while a version 1 code of the same person, offline, shows no test"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.status_digest WHERE subject = healthcode.subject('$fcode') AND last_negative_at IS NOT NULL"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || facts_from FROM healthcode.verify_arrival('$fcode1', '110105')")" \
	"true ok digest" "online, Beijing reads the test from Zhejiang's digest"
# (the declaration and the test published two digests of that person: both come back to Zhejiang
# through the hub, the older after the newer, and Zhejiang must not take its own older one back
# and send it round again; once settled, no node writes a digest any more)
digest_writes="SELECT n_tup_ins + n_tup_upd + n_tup_del FROM pg_stat_user_tables WHERE relid = 'healthcode.status_digest'::regclass"
wait_for zhejiang "SELECT count(*) = 1 FROM pg_stat_subscription s JOIN pg_subscription USING (subname) WHERE s.pid IS NOT NULL AND s.latest_end_lsn IS NOT NULL AND subenabled"
sleep 1
settled="$(on hub -c "$digest_writes") $(on zhejiang -c "$digest_writes") $(on beijing -c "$digest_writes")"
sleep 3
is "$(on hub -c "$digest_writes") $(on zhejiang -c "$digest_writes") $(on beijing -c "$digest_writes")" "$settled" \
	"no digest goes round between Zhejiang and the hub: their writes stop once the two have arrived"
is "$(on zhejiang -c "SELECT last_negative_at IS NOT NULL FROM healthcode.status_digest WHERE subject = healthcode.subject('$fcode')")" \
	"t" "and Zhejiang's own digest is its newer one, with the test"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || facts_from FROM healthcode.verify_arrival('$fcode', '110105')")" \
	"true ok code+digest" "and for the version 2 code, the code and the digest"
# a region node does not write national rules
out=$(on beijing -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "INSERT INTO healthcode.arrival_rule (region, from_region, demand, description) VALUES ('000000', '110000', 'green', 'national, written in Beijing')" 2>&1)
like "$out" "ERROR: +42501: national arrival rules come from the hub" "Beijing refuses to write a national rule of its own (42501)"
out=$(on beijing -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -c "UPDATE healthcode.arrival_rule SET negative_test_hours = 240 WHERE region = '000000'" 2>&1)
like "$out" "ERROR: +42501: national arrival rules come from the hub" "or to change the one the hub sent"
# the hub changes its rule, then retires it
on hub -c "UPDATE healthcode.arrival_rule SET negative_test_hours = 24, description = 'national: green and a negative test within 24 h' WHERE region = '000000' AND valid_from = '$hub_from'" >/dev/null
wait_for beijing "SELECT count(*) = 1 FROM healthcode.arrival_rule WHERE region = '000000' AND valid_from = '$hub_from' AND negative_test_hours = 24"
ok $? "a change of the national rule on the hub reaches Beijing"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || rule FROM healthcode.verify_arrival('$fcode', '110105', online => false)")" \
	"false no_recent_negative_test national: green and a negative test within 24 h" "and decides there: the code's 50-hour-old test no longer meets it"
on hub -c "DELETE FROM healthcode.arrival_rule WHERE region = '000000' AND valid_from = '$hub_from'" >/dev/null
wait_for beijing "SELECT count(*) = 0 FROM healthcode.arrival_rule WHERE region = '000000'"
ok $? "the hub deletes the national rule: gone in Beijing"
wait_for zhejiang "SELECT count(*) = 0 FROM healthcode.arrival_rule WHERE region = '000000'"
ok $? "and in Zhejiang"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || coalesce(rule_id::text, 'none') FROM healthcode.verify_arrival('$fcode', '110105', online => false)")" \
	"true ok none" "without it, Beijing asks a valid green code only"
is "$(on beijing -c "SELECT count(*) FROM healthcode.exchange_reject WHERE tbl = 'arrival_rule_exchange'")$(on zhejiang -c "SELECT count(*) FROM healthcode.exchange_reject WHERE tbl = 'arrival_rule_exchange'")" \
	"00" "no national rule row was rejected on the way"

# ---- rotation and revocation reach the other region -----------------------------------------
old_key=$(on zhejiang -c "SELECT encode(key_id, 'hex') FROM healthcode.trust_list WHERE status = 'active'")
on zhejiang -c "SELECT healthcode.rotate_key('330000')" >/dev/null
new_code=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199606060069'), '5 minutes')")
wait_for beijing "SELECT (healthcode.verify('$new_code')).reason = 'ok'"
ok $? "a code signed after Zhejiang rotates its key verifies in Beijing"
is "$(on beijing -c "SELECT (healthcode.verify('$untested')).reason")" "ok" "codes of the retired key still verify"
on zhejiang -c "SELECT healthcode.revoke_key('\\x$old_key', 'compromised')" >/dev/null
wait_for beijing "SELECT (healthcode.verify('$untested')).reason = 'key_revoked'"
ok $? "once Zhejiang revokes the old key, its codes fail in Beijing with key_revoked"

# ---- revocation lists travel: a region's revocations reach the others (issue 12) ------------------
on zhejiang -c "SELECT healthcode.declare('330106199707070071', '330106')" >/dev/null
rcode=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199707070071'), '5 minutes')")
wait_for beijing "SELECT (healthcode.verify('$rcode')).reason = 'ok'"
ok $? "a Zhejiang code verifies in Beijing"
on zhejiang -c "SELECT healthcode.revoke_codes_of(healthcode.person_id('330106199707070071'), 'lost phone')" >/dev/null
wait_for beijing "SELECT (healthcode.verify('$rcode')).reason = 'revoked'"
ok $? "Zhejiang revokes the person's codes (lost phone): Beijing refuses the code, offline, once the hash arrives"
is "$(on hub -c "SELECT kind || ' ' || region || ' ' || length(hash) FROM healthcode.code_revocation")" "subject 330106 16" \
	"the hub passes on a hash, never a subject"
# (a national code the hub signed for a Beijing resident, revoked at the hub: Beijing, which speaks
# for its region, still takes the hub's revocation of it)
bcode3=$(on hub -c "SELECT healthcode.issue_for_subject('110105', '\\x$subject', '5 minutes')")
on hub -c "SELECT healthcode.revoke_code('$bcode3', 'withdrawn')" >/dev/null
wait_for beijing "SELECT (healthcode.verify('$bcode3')).reason = 'revoked'"
ok $? "a national code the hub revokes is refused in Beijing, whose resident it names"

# ---- exposure tracing across provinces (issue 15) ---------------------------------------------------
# A Zhejiang market's code, scanned by a Beijing resident on Beijing's node (the visitor's evidence on
# the visitor's node) and by a Zhejiang resident who then tests positive: Zhejiang traces the case, and
# the notice (the venue, its county and a span of time; nothing of the case) reaches Beijing through
# the hub, which files its resident as a contact of the case.
venue=$(on zhejiang -c "SELECT healthcode.create_venue('330106001001', '文三街社区菜场', 'public_venue')")
vcode=$(on zhejiang -c "SELECT healthcode.venue_code($venue)")
wait_for beijing "SELECT valid FROM healthcode.verify_venue_code('$vcode', now(), false)"
ok $? "a Zhejiang venue's code verifies in Beijing, offline, by the trust list"
on beijing -c "SELECT healthcode.declare('110105199105050017', '110105', '京访客')" >/dev/null
is "$(on beijing -c "SELECT admit || ' ' || recorded || ' ' || coalesce(venue_name, '-') FROM healthcode.scan_venue('110105199105050017', '$vcode')")" \
	"true true -" "a Beijing resident scans it on Beijing's node: the stay is recorded there (the venue's name is not known there)"
is "$(on beijing -c "SELECT place || ' ' || source FROM healthcode.travel WHERE venue = '$venue'")" "330106 venue_scan" \
	"in the venue's county, as its code says"
on zhejiang -c "SELECT healthcode.declare('330106199808080017', '330106', '病例')" \
	-c "SELECT healthcode.scan_venue('330106199808080017', '$vcode')" \
	-c "SELECT healthcode.import_test_results('[{\"identifier\": \"330106199808080017\", \"kind\": \"pcr\", \"result\": \"positive\", \"sampled_at\": \"$(date -u '+%F %T')+00\", \"lab\": \"fed\", \"sample_id\": \"FED-CASE-1\"}]')" >/dev/null
case_id=$(on zhejiang -c "SELECT id FROM healthcode.test_result WHERE lab = 'fed' AND sample_id = 'FED-CASE-1'")
is "$(on zhejiang -c "SELECT count(*) FROM healthcode.trace_exposures($case_id, now() - interval '1 day', now() + interval '1 hour')")" "0" \
	"Zhejiang traces the case: none of its own people was there"
is "$(on zhejiang -c "SELECT count(*) || ' ' || min(venue_region) || ' ' || min(kind) FROM healthcode.exposure_notice")" "1 330106 secondary" \
	"it writes one notice: the venue, its county and the kind of contact"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.contact WHERE source_case LIKE 'exposure trace %' AND source_case NOT LIKE '%$case_id%'"
ok $? "the notice reaches Beijing through the hub, and Beijing files its resident as a contact of the case"
is "$(on beijing -c "SELECT colour || ' ' || (reasons -> 0 ->> 'rule') FROM healthcode.status(healthcode.person_id('110105199105050017'))")" \
	"yellow secondary_contact" "who is yellow there, a secondary contact"
is "$(on hub -c "SELECT count(*) || ' ' || (min(venue) = $venue) || ' ' || (min(until_at) - min(from_at)) FROM healthcode.exposure_notice")" \
	"1 true 01:00:00" "the hub relays it: the venue and an hour around the case's scan (the policy's 30 minutes either side)"
is "$(on hub -c "SELECT count(*) FROM healthcode.exposure_notice n WHERE n::text LIKE '%330106199808080017%' OR n::text LIKE '%病例%'")" "0" \
	"nothing in it names the case"
is "$(on beijing -c "SELECT count(*) FROM healthcode.exchange_reject WHERE tbl = 'exposure_notice'")" "0" "no notice was rejected on the way"
# the market closes: its code is refused online in Beijing too, and a scan there records nothing
on zhejiang -c "SELECT healthcode.close_venue($venue, '停业')" >/dev/null
wait_for beijing "SELECT reason = 'venue_closed' FROM healthcode.verify_venue_code('$vcode')"
ok $? "Zhejiang closes the market: Beijing refuses its code online (venue_closed), once the closure arrives through the hub"
is "$(on beijing -c "SELECT admit || ' ' || reason || ' ' || recorded FROM healthcode.scan_venue('110105199105050017', '$vcode')")" \
	"false venue_closed false" "a scan of it in Beijing records nothing"
is "$(on beijing -c "SELECT valid || ' ' || reason FROM healthcode.verify_venue_code('$vcode', online => false)")" "true ok" \
	"offline, the code alone still verifies (a closure is news from the venue's node)"

# ---- a regional node restarted mid-stream catches up -------------------------------------------
as_db "$PGBIN/pg_ctl" -D "$work/beijing" -m fast -w stop >/dev/null
on zhejiang -c "SELECT healthcode.rotate_key('330000')" \
	-c "SELECT healthcode.declare('330106199707070071', '330106')" \
	-c "SELECT healthcode.import_contacts('[{\"identifier\": \"330106199707070071\", \"kind\": \"close\", \"exposure_at\": \"$(date -u -d '-2 hours' '+%F %T')+00\", \"source_case\": \"case-9\"}]')" >/dev/null
late_code=$(on zhejiang -c "SELECT healthcode.issue_for(healthcode.person_id('330106199606060069'), '5 minutes')")
as_db "$PGBIN/pg_ctl" -D "$work/beijing" -l "$work/beijing.log" -w start >/dev/null
wait_for beijing "SELECT (healthcode.verify('$late_code')).reason = 'ok' AND (SELECT count(*) FROM healthcode.red_push) = 4"
ok $? "Beijing, stopped while Zhejiang rotated its key and pushed a red, catches up after its restart"

# ---- malformed trust-list rows are logged and skipped; the rest flows ----------------------------
on hub -c 'ALTER TABLE healthcode.key_exchange DISABLE TRIGGER key_exchange_check' \
	-c "INSERT INTO healthcode.key_exchange (key_id, region, public_key, valid_from, valid_until, status) VALUES ('\\x0102030405060708', '330000', '\\x00', now(), now() + interval '1 year', 'active')" \
	-c "INSERT INTO healthcode.key_exchange (key_id, region, public_key, valid_from, valid_until, status) VALUES ('\\x1112131415161718', '330000', decode(repeat('ab', 32), 'hex'), now(), now() + interval '1 year', 'active')" \
	-c 'ALTER TABLE healthcode.key_exchange ENABLE ALWAYS TRIGGER key_exchange_check' \
	-c "SELECT healthcode.rotate_key('000000')" >/dev/null
# (the hub's own trust-list loader warns of the two rows it skips)
national_code=$(on hub -c "SELECT healthcode.issue('110105', healthcode.pseudonym('after bad rows'), 'green')" 2>/dev/null)
wait_for beijing "SELECT (healthcode.verify('$national_code')).reason = 'ok'"
ok $? "a key published after two malformed rows still arrives: replication did not stall"
is "$(on beijing -c "SELECT string_agg(problem, '; ' ORDER BY id) FROM healthcode.exchange_reject WHERE by_replication")" \
	"public_key is not a 32-byte Ed25519 key; key_id is not the hash of public_key" \
	"both malformed rows are logged with what is wrong with them"
is "$(on beijing -c "SELECT count(*) FROM healthcode.key_exchange WHERE key_id IN ('\\x0102030405060708', '\\x1112131415161718')")" "0" \
	"and neither is trusted"
is "$(on zhejiang -c "SELECT count(*) FROM healthcode.exchange_reject WHERE by_replication")" "2" "Zhejiang logged them too"
is "$(on beijing -c "SELECT count(*) FROM pg_stat_subscription WHERE subname LIKE 'healthcode_%' AND pid IS NOT NULL")" "1" \
	"Beijing's subscription is still running"
# ---- mode 1 with a region that runs another health-code system (issue 16) -------------------------
# Guangdong (440000) runs a system of its own, no node: it talks to the hub over libpq as a login granted
# healthcode_peer, with the peer API only, and computes its residents' national pseudonyms itself from the
# national key, as doc/peers.md tells an integrator (here in Python). A Guangdong resident visits Zhejiang
# and Beijing: what Guangdong shares is evidence there, under their own policies.
on hub -c "CREATE ROLE gd_system LOGIN IN ROLE healthcode_peer" -c "SELECT healthcode.grant_region('gd_system', '440000')" >/dev/null
peer() { psql -XAtq -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "${port[hub]}" -U gd_system -d hc "$@"; }
national_pseudonym() { # national_pseudonym IDENTIFIER: as a foreign system computes it (doc/peers.md)
	python3 - "$work/national.key.src" "$1" <<'PY'
import hashlib, struct, sys
master = open(sys.argv[1], 'rb').read()
# libsodium's crypto_kdf_derive_from_key(32, 2, "hcnation", master)
sub = hashlib.blake2b(b'', digest_size=32, key=master, salt=struct.pack('<Q', 2) + bytes(8),
                      person=b'hcnation' + bytes(8)).digest()
print(hashlib.blake2b(sys.argv[2].encode(), digest_size=16, key=sub).hexdigest())
PY
}
gd=$(national_pseudonym 440106199001010013)
is "$gd" "$(on hub -c "SELECT encode(healthcode.national_pseudonym('440106199001010013'), 'hex')")" \
	"the foreign system computes a resident's national pseudonym as every node does"
is "$(peer -c "SELECT accepted || '/' || refused FROM healthcode.peer_publish('[{\"national_subject\": \"$gd\", \"region\": \"440106\", \"colour\": \"yellow\", \"since\": \"$(date -u -d '-1 hour' '+%F %T')+00\", \"valid_until\": \"$(date -u -d '+2 days' '+%F %T')+00\", \"doses\": 2, \"last_dose_at\": \"$(date -u -d '-200 days' '+%F %T')+00\"}]')")" \
	"1/0" "Guangdong publishes a resident's shared health data at the hub: a yellow flag and two doses"
wait_for zhejiang "SELECT count(*) = 1 FROM healthcode.health_share WHERE national_subject = '\\x$gd'"
ok $? "it reaches Zhejiang with the digests"
is "$(on zhejiang -c "SELECT colour || ' ' || (reasons -> 0 ->> 'rule') FROM healthcode.declare('440106199001010013', '330106', '粤客')")" \
	"yellow pushed_yellow" "the resident declares in Zhejiang: yellow there, as Guangdong says, in Zhejiang's own code"
peer -c "SELECT healthcode.peer_publish('[{\"national_subject\": \"$gd\", \"region\": \"440106\", \"test_kind\": \"pcr\", \"tested_at\": \"$(date -u -d '-2 hours' '+%F %T')+00\", \"test_result\": \"positive\", \"doses\": 2, \"last_dose_at\": \"$(date -u -d '-200 days' '+%F %T')+00\"}]')" >/dev/null
wait_for zhejiang "SELECT colour = 'red' FROM healthcode.status(healthcode.person_id('440106199001010013'))"
ok $? "Guangdong shares a positive test: red in Zhejiang at once (its test as evidence under Zhejiang's policy)"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.health_share WHERE national_subject = '\\x$gd' AND test_result = 'positive'"
is "$(on beijing -c "SELECT colour FROM healthcode.declare('440106199001010013', '110105', '粤客')")" "red" \
	"and red in Beijing, where the resident declares next"
gd2=$(national_pseudonym 440305198505050027)
is "$(peer -c "SELECT accepted || '/' || refused FROM healthcode.peer_push_reds('[{\"national_subject\": \"$gd2\", \"region\": \"440305\", \"since\": \"$(date -u -d '-1 hour' '+%F %T')+00\"}]')")" \
	"1/0" "Guangdong pushes a red for another resident"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.red_push WHERE national_subject = '\\x$gd2' AND from_region = '440305'"
is "$(on beijing -c "SELECT colour || ' ' || (reasons -> 0 ->> 'rule') FROM healthcode.declare('440305198505050027', '110105', '粤二')")" \
	"red pushed_red" "that resident is red in Beijing as any pushed red makes them"
# Guangdong asks about visitors from Zhejiang: one who tested positive there (red), one negative
zj=$(national_pseudonym 330106199001010114)
zj2=$(national_pseudonym 330106199505050056)
wait_for hub "SELECT count(*) = 1 FROM healthcode.health_share WHERE national_subject = '\\x$zj2'"
is "$(peer -c "SELECT string_agg(region || ' ' || source || ' ' || coalesce(test_result, '-'), ', ' ORDER BY national_subject = '\\x$zj', region, source) FROM healthcode.shared_health(ARRAY['\\x$zj'::bytea, '\\x$zj2'::bytea])")" \
	"330106 shared negative, 330106 pushed_red -" \
	"Guangdong reads Zhejiang visitors' shared data at the hub: one's negative test, the other's red (Zhejiang's decision, not the raw test)"
is "$(peer -c "SELECT accepted || '/' || refused FROM healthcode.peer_publish('[{\"national_subject\": \"$zj\", \"region\": \"330106\", \"colour\": \"green\"}]')")" \
	"0/1" "Guangdong may not speak for a Zhejiang resident"
is "$(on hub -c "SELECT row_data ->> 'peer' || ': ' || problem FROM healthcode.exchange_reject WHERE tbl = 'health_share' AND NOT by_replication")" \
	"gd_system: role gd_system speaks for {[440000,449999999999]} only, not for 330106" "the hub logs the refusal, naming the peer"
is "$(peer -v ON_ERROR_STOP=0 -c 'SELECT count(*) FROM healthcode.health_share' 2>&1 | grep -c 'permission denied')" "1" \
	"a peer reads no table: the API only"
is "$(on zhejiang -c "SELECT count(*) FROM healthcode.health_share h WHERE h::text LIKE '%440106199001010013%'")" "0" \
	"what is shared holds no identifier"

# ---- a region hosted by the hub (mode 3 without a node, issue 16) ------------------------------------
# Inner Mongolia (150000) has no node and no system: the hub hosts it. Its residents declare at the hub,
# their codes are signed with the national key, and the hub speaks for them to the other nodes.
on hub -c "SELECT healthcode.host_region('150000', '内蒙古')" >/dev/null
is "$(on hub -c "SELECT colour FROM healthcode.declare('440106199001010013', '150102', '粤客')")" "red" \
	"the Guangdong resident declares at the hub in the hosted region: red there too, from what Guangdong shares"
on hub -c "SELECT healthcode.declare('150102199001010019', '150102', '巴特尔')" \
	-c "SELECT healthcode.import_test_results('[{\"identifier\": \"150102199001010019\", \"kind\": \"pcr\", \"sampled_at\": \"$(date -u -d '-5 hours' '+%F %T')+00\", \"result\": \"positive\", \"lab\": \"H\", \"sample_id\": \"NM1\"}]')" >/dev/null
hcode=$(on hub -c "SELECT healthcode.issue_for(healthcode.person_id('150102199001010019'), '5 minutes')")
is "$(on beijing -c "SELECT (healthcode.verify('$hcode')).reason || ' ' || healthcode.region('$hcode') || ' ' || healthcode.colour('$hcode')")" \
	"ok 150102 red" "a hosted resident's code, signed at the hub with the national key, verifies in Beijing"
wait_for zhejiang "SELECT count(*) = 1 FROM healthcode.red_push WHERE from_region = '150102'"
ok $? "the hub pushes the hosted resident's red, as a region node pushes its own"
is "$(on zhejiang -c "SELECT colour || ' ' || (reasons -> 0 ->> 'rule') FROM healthcode.declare('150102199001010019', '330106', '巴特尔')")" \
	"red pushed_red" "red in Zhejiang when they declare there"
is "$(on hub -c "SELECT count(*) FROM healthcode.red_push WHERE from_region = '150102' AND national_subject = healthcode.national_pseudonym('440106199001010013')")" \
	"0" "the Guangdong resident's red at the hub rests on what Guangdong shared: the hub does not push it on"

# ---- the hosted region moves onto a node of its own (issue 16) ------------------------------------------
# Inner Mongolia gets its node: export at the hub, adoption there, release here (doc/federation.md,
# "Moving a hosted region onto its own node"), then the hub receives from it as from any region node.
out=$(on hub -v ON_ERROR_STOP=0 <<<"SELECT healthcode.subscription_sql('neimenggu', '150000', '$(conninfo neimenggu)') \gexec" 2>&1)
like "$out" "the hub hosts region 150000" "while the hub hosts a region, it takes no node's word for it"
on hub -c "SELECT healthcode.record_decision(healthcode.person_id('440106199001010013'), 'override', 'shared test retracted', 'NM CDC', 'yellow', now(), now() + interval '3 days')" >/dev/null
region_life="SELECT string_agg(p.id || ' ' || p.display_name || ' ' || s.colour
                   || ' ' || (SELECT count(*) FROM healthcode.status_history h WHERE h.person_id = p.id)
                   || ' ' || (SELECT count(*) FROM healthcode.test_result t WHERE t.person_id = p.id)
                   || ' ' || (SELECT count(*) FROM healthcode.manual_decision m WHERE m.person_id = p.id), ', ' ORDER BY p.id)
               FROM healthcode.person p JOIN healthcode.person_status s ON s.person_id = p.id WHERE p.region LIKE '15%'"
before=$(on hub -c "$region_life")
resident=$(on hub -c "SELECT healthcode.person_id('150102199001010019')")
hcode=$(on hub -c "SELECT healthcode.issue_for(healthcode.person_id('150102199001010019'), '5 minutes')")
on hub -c "\copy (SELECT * FROM healthcode.region_export('150000')) TO '$work/150000.copy'"
receipt=$(on neimenggu -c "\copy healthcode.region_move_inbox FROM '$work/150000.copy'" -c "SELECT healthcode.adopt_region('150000')")
like "$receipt" '"person": 2' "the node adopts the region's two people and returns a receipt"
is "$(on neimenggu -c "$region_life")" "$before" "on the node: the same people, ids, colours, history, tests and decisions"
is "$(on neimenggu -c "SELECT healthcode.person_id('150102199001010019')")" "$resident" \
	"an identifier finds an adopted resident on the node, through the national pseudonym"
is "$(on neimenggu -c "SELECT person_id || ' ' || outcome || ' ' || colour FROM healthcode.check_statuses(ARRAY['150102199001010019'])")" \
	"$resident ok red" "and so does a batch status check"
is "$(on neimenggu -c "SELECT decided_by || ' ' || colour FROM healthcode.manual_decision")" "$(on hub -c "SELECT decided_by || ' ' || colour FROM healthcode.manual_decision WHERE region LIKE '15%'")" \
	"the decision keeps who made it"
is "$(on neimenggu -c 'SELECT count(*) FROM healthcode.verify_decision_chain()') $(on neimenggu -c 'SELECT count(*) FROM healthcode.check_consistency()')" \
	"0 0" "the decision joins the node's chain, which verifies; the adopted statuses agree with a recomputation there"
out=$(on hub -v ON_ERROR_STOP=0 -c "SELECT healthcode.release_region('150000', '{\"person\": 1}')" 2>&1)
like "$out" "the node adopted other rows of region 150000 than the hub holds now" "the hub releases nothing against a receipt that does not match"
on hub -c "SELECT * FROM healthcode.release_region('150000', '$receipt')" >/dev/null
on hub <<<"SELECT healthcode.subscription_sql('neimenggu', '150000', '$(conninfo neimenggu)') \gexec" >/dev/null 2>&1
is "$(on hub -c "SELECT count(*) FROM healthcode.person WHERE region LIKE '15%'") $(on hub -c 'SELECT count(*) FROM healthcode.hosted_region') $(on hub -c "SELECT what || ' ' || people || ' ' || cardinality(tombstones) FROM healthcode.erasure") $(on hub -c 'SELECT count(*) FROM healthcode.verify_decision_chain()')" \
	"0 0 moved 2 1 0" "the hub keeps none of the region's people (the decision a tombstone in its chain, which verifies), and hosts it no more"
is "$(on zhejiang -c "SELECT count(*) FROM healthcode.red_push WHERE from_region = '150102'") $(on zhejiang -c "SELECT colour FROM healthcode.health_info('150102199001010019')")" \
	"1 red" "the resident's red stays pushed to Zhejiang through the move"
wait_for beijing "SELECT count(*) = 1 FROM healthcode.key_exchange WHERE region = '150000'"
ncode=$(on neimenggu -c "SELECT healthcode.issue_for(healthcode.person_id('150102199001010019'), '5 minutes')")
is "$(on beijing -c "SELECT (healthcode.verify('$ncode')).reason || ' ' || healthcode.colour('$ncode') || ' ' || (healthcode.key_id('$ncode') = (SELECT key_id FROM healthcode.key_exchange WHERE region = '150000'))")" \
	"ok red true" "the switch of issuer: the node signs with its own key, which Beijing trusts through the hub"
is "$(on neimenggu -c "SELECT (healthcode.verify('$hcode')).reason")" "ok" "a code the hub signed before the move still verifies, offline"
# the node's first write that brings the identifier re-keys the resident to the node's own pseudonym
old_subject=$(on neimenggu -c "SELECT encode(healthcode.subject('$hcode'), 'hex')")
on neimenggu -c "SELECT healthcode.import_vaccinations('[{\"identifier\": \"150102199001010019\", \"dose\": 1, \"given_at\": \"$(date -u -d '-30 days' '+%F %T')+00\", \"product\": \"CoronaVac\"}]')" >/dev/null
is "$(on neimenggu -c "SELECT (p.subject = healthcode.subject_of('150102199001010019')) || ' ' || (SELECT count(*) FROM healthcode.adopted_person a WHERE a.person_id = p.id) FROM healthcode.person p WHERE p.id = healthcode.person_id('150102199001010019')")" \
	"true 0" "an import by identifier re-keys the adopted resident to the node's pseudonym"
new_subject=$(on neimenggu -c "SELECT encode(healthcode.subject_of('150102199001010019'), 'hex')")
wait_for hub "SELECT count(*) = 1 FROM healthcode.status_digest WHERE subject = '\\x$new_subject' AND colour = 'red'"
ok $? "the hub receives the resident's digest under the new pseudonym from the node"
wait_for beijing "SELECT count(*) = 0 FROM healthcode.status_digest WHERE subject = '\\x$old_subject'"
ok $? "and the one under the hub's pseudonym goes, at the hub and in Beijing"
# the node now decides: a medical release there ends the red in Zhejiang
on neimenggu -c "SELECT healthcode.record_decision(healthcode.person_id('150102199001010019'), 'medical_release', 'recovered', 'NM CDC')" >/dev/null
wait_for zhejiang "SELECT count(*) = 0 FROM healthcode.red_push WHERE from_region = '150102'"
ok $? "the node's medical release withdraws the pushed red, through the hub"
is "$(on zhejiang -c "SELECT colour FROM healthcode.health_info('150102199001010019')")" "green" "green in Zhejiang again"

# ---- a region speaks for its own regions only ------------------------------------------------
# (a rogue or broken Zhejiang node: it drops its publication's row filters and
# writes past its own checks; the hub must not take its word for other regions)
forged_pk=$(on beijing -c "SELECT encode(decode(repeat('cd', 32), 'hex'), 'hex')")
on zhejiang -c 'ALTER PUBLICATION healthcode_region_zhejiang SET TABLE healthcode.key_exchange, healthcode.status_digest, healthcode.red_push, healthcode.code_revocation' \
	-c 'ALTER TABLE healthcode.key_exchange DISABLE TRIGGER key_exchange_check' \
	-c "INSERT INTO healthcode.key_exchange (key_id, region, public_key, valid_from, valid_until, status) SELECT healthcode.public_key_id(k), '110000', k, now(), now() + interval '1 year', 'active' FROM (SELECT '\\x$forged_pk'::bytea k) x" \
	-c "UPDATE healthcode.key_exchange SET status = 'revoked', revoked_at = now(), revocation_reason = 'rogue' WHERE region = '000000'" \
	-c 'ALTER TABLE healthcode.key_exchange ENABLE ALWAYS TRIGGER key_exchange_check' \
	-c 'ALTER TABLE healthcode.status_digest DISABLE TRIGGER digest_check' \
	-c "INSERT INTO healthcode.status_digest (region, subject, colour, vaccinated, valid_until, next) SELECT '110105', subject, 'red', false, 'infinity', '[]' FROM healthcode.status_digest WHERE region = '330106' LIMIT 1" \
	-c 'ALTER TABLE healthcode.status_digest ENABLE ALWAYS TRIGGER digest_check' \
	-c 'ALTER TABLE healthcode.code_revocation DISABLE TRIGGER revocation_check' \
	-c "INSERT INTO healthcode.code_revocation (hash, kind, region, expires_at, reason) VALUES (decode(repeat('ab', 16), 'hex'), 'subject', '110105', now() + interval '1 day', 'rogue')" \
	-c 'ALTER TABLE healthcode.code_revocation ENABLE ALWAYS TRIGGER revocation_check' >/dev/null
wait_for hub "SELECT count(*) >= 4 FROM healthcode.exchange_reject WHERE by_replication AND problem LIKE '%not the sending node''s (330000)'"
ok $? "the hub refuses Zhejiang's rows about Beijing's key, the national key, a Beijing digest and a Beijing revocation, and logs why"
is "$(on hub -c "SELECT count(*) FROM healthcode.key_exchange WHERE region = '110000'") $(on hub -c "SELECT count(*) FROM healthcode.key_exchange WHERE region = '000000' AND status = 'revoked'")" \
	"0 0" "no key for Beijing was planted, no national key revoked"
is "$(on hub -c "SELECT count(*) FROM healthcode.code_revocation WHERE hash = decode(repeat('ab', 16), 'hex')")" "0" "nor the forged revocation of Beijing's codes"
is "$(on hub -c "SELECT (healthcode.verify('$national_code')).reason")" "ok" "national codes still verify at the hub"
# a national rule from a region: the rogue Zhejiang publishes arrival_rule_exchange and a
# hub DBA refreshes the subscription (the first row comes by the table sync, the second streamed)
on zhejiang -c 'ALTER PUBLICATION healthcode_region_zhejiang ADD TABLE healthcode.arrival_rule_exchange' \
	-c "INSERT INTO healthcode.arrival_rule_exchange (from_region, valid_from, rule) VALUES ('000000', now() - interval '1 day', '{\"demand\": \"green\", \"description\": \"forged by a region (synced)\"}')" >/dev/null
on hub -c 'ALTER SUBSCRIPTION healthcode_hub_from_zhejiang REFRESH PUBLICATION' >/dev/null
wait_for hub "SELECT count(*) = 1 FROM healthcode.exchange_reject WHERE by_replication AND tbl = 'arrival_rule_exchange'"
on zhejiang -c "INSERT INTO healthcode.arrival_rule_exchange (from_region, valid_from, rule) VALUES ('330000', now() - interval '1 day', '{\"demand\": \"green\", \"description\": \"forged by a region (streamed)\"}')" >/dev/null
wait_for hub "SELECT count(*) = 2 FROM healthcode.exchange_reject WHERE by_replication AND tbl = 'arrival_rule_exchange'"
ok $? "the hub logs and skips national rule rows that come from a region, synced or streamed"
is "$(on hub -c "SELECT DISTINCT problem FROM healthcode.exchange_reject WHERE tbl = 'arrival_rule_exchange'") $(on hub -c 'SELECT count(*) FROM healthcode.arrival_rule_exchange') $(on hub -c "SELECT count(*) FROM healthcode.arrival_rule WHERE region = '000000'")" \
	"national arrival rules come from the hub only 0 0" "saying why; neither is kept, published or applied"
reds_at_hub=$(on hub -c 'SELECT count(*) FROM healthcode.red_push')
on zhejiang -c 'TRUNCATE healthcode.red_push' >/dev/null
on zhejiang -c "SELECT healthcode.rotate_key('330000')" >/dev/null
newest=$(on zhejiang -c "SELECT encode(key_id, 'hex') FROM healthcode.trust_list WHERE region = '330000' AND status = 'active'")
wait_for hub "SELECT count(*) = 1 FROM healthcode.key_exchange WHERE key_id = '\\x$newest'"
ok $? "rows sent after the TRUNCATE still arrive"
is "$(on hub -c 'SELECT count(*) FROM healthcode.red_push')" "$reds_at_hub" "a TRUNCATE on a region is not published: the hub keeps the pushed reds"

# a publication that would bring more than the exchange: the subscription stays off
on zhejiang -c 'CREATE PUBLICATION healthcode_region_rogue FOR TABLE healthcode.key_exchange, healthcode.region_scope' >/dev/null
out=$(on hub -v ON_ERROR_STOP=0 <<<"SELECT healthcode.subscription_sql('rogue', '330000', '$(conninfo zhejiang)') \\gexec" 2>&1)
like "$out" "would bring tables outside the national exchange: healthcode.region_scope" \
	"a subscription whose publication lists another table is refused"
is "$(on hub -c "SELECT subenabled FROM pg_subscription WHERE subname = 'healthcode_hub_from_rogue'")" "f" "and stays disabled"
on hub -c 'DROP SUBSCRIPTION healthcode_hub_from_rogue' >/dev/null 2>&1

# mode 2 without a genuine code: nothing about the person
bad_code=$(on zhejiang -c "SELECT healthcode.issue('330106', healthcode.subject('$code'), 'green', '1 second')")
sleep 2
is "$(on hub -c "SELECT known || ' ' || coalesce(colour::text, '-') || ' ' || reason FROM healthcode.current_status_of('$bad_code')")" \
	"false - expired" "the hub tells nothing of a person's status for a code that does not verify"

is "$(for n in $nodes; do on "$n" -c 'SELECT count(*) FROM healthcode.check_consistency()'; done | tr -d '\n')" \
	"0000" "every node's statuses agree with a recomputation from its own evidence"
for n in $nodes; do
	on "$n" -c 'SELECT * FROM healthcode.check_consistency()' | sed "s/^/#! $n: /" >&2
done
done_testing
