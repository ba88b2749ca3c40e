#!/usr/bin/env bash
# bench/run.sh — healthcode throughput as a fraction of the raw libraries.
#
#   bench/run.sh            (from any directory; see bench/README.md)
#
# Builds and installs the extension, compiles bench/raw_rates.c, creates a
# throwaway cluster with pg_virtualenv and a server key file, then measures
# in turn, BENCH_REPS times (best repetition kept):
#   raw sign + verify (libsodium)  | issue()  | verify()   (BENCH_CODES rows)
#   raw QRcode_encodeString        | qr_svg()                (BENCH_QR rows)
#   raw verify                     | verify() with BENCH_REVOCATIONS entries on
#                                    the revocation list     (BENCH_CODES rows)
# and prints each rate and the ratio ours / raw next to its goal.
#
# Environment (defaults are the figures the goals refer to):
#   BENCH_CODES=100000  BENCH_QR=20000  BENCH_REPS=3  BENCH_REVOCATIONS=1000000
#   BENCH_PGPORT (default: a random free port for the throwaway cluster)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
out="$here/out"
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

export BENCH_CODES=${BENCH_CODES:-100000}
export BENCH_QR=${BENCH_QR:-20000}
export BENCH_REPS=${BENCH_REPS:-3}
export BENCH_REVOCATIONS=${BENCH_REVOCATIONS:-1000000}

# goals: ours / raw
GOAL_VERIFY=0.8
GOAL_ISSUE=0.7
GOAL_QR=0.5
GOAL_VERIFY_REVOKED=0.8

# One SQL measurement in a fresh backend: warm the caches on the sample
# table, then time kind over tbl server-side. Prints the rate (rows/s).
sql_rate() {
	local kind=$1 tbl=$2 res secs n
	res=$(psql_q -F ' ' -c "SELECT bench.warm('$kind')" \
		-c "SELECT seconds, n FROM bench.run('$kind', '$tbl')" | tail -n 1)
	read -r secs n <<<"$res"
	awk -v n="$n" -v s="$secs" 'BEGIN { printf "%.1f\n", n / s }'
}

# raw_rates output line "name rate ops secs" -> rate
raw_field() { awk -v k="$1" '$1 == k { print $2 }'; }

inside() {
	local raw="$here/raw_rates" texts="$out/qr_texts.txt"
	local best_sign=0 best_verify=0 best_issue=0 best_sqlverify=0 best_qr=0 best_svg=0
	local best_verify2=0 best_sqlverify_rl=0

	log "== setup: $BENCH_CODES pseudonyms and codes, $BENCH_QR for QR (PostgreSQL $(psql_q -c 'SHOW server_version'))"
	psql_q -v n_codes="$BENCH_CODES" -v n_qr="$BENCH_QR" -f "$here/setup.sql" >/dev/null
	psql_q -c "SELECT code FROM bench.qr_codes ORDER BY id" >"$texts"
	log "   code text length: $(awk '{ print length($0) }' "$texts" | sort -u | paste -sd,) characters"

	log "== one call per row? (EXPLAIN VERBOSE; calls counted with track_functions = all)"
	{
		for kind in verify issue qr_svg; do
			tbl=bench.codes; [[ $kind == issue ]] && tbl=bench.subjects
			[[ $kind == qr_svg ]] && tbl=bench.qr_codes
			echo "-- $kind over $tbl"
			psql_q -c "SELECT * FROM bench.explain('$kind', '$tbl')"
		done
	} >"$out/explain.txt"
	sed 's/^/   /' "$out/explain.txt"
	for kind in verify issue qr_svg; do
		tbl=bench.codes_sample; [[ $kind == issue ]] && tbl=bench.subjects_sample
		calls=$(psql_q -c "SELECT bench.calls_per_row('$kind', '$tbl')")
		log "   $kind: $calls calls per row"
		if [[ $calls != 1 ]]; then
			echo "run.sh: $kind is not called exactly once per row" >&2
			exit 1
		fi
	done

	log "== measuring: best of $BENCH_REPS, raw and ours back to back (rates in operations/s)"
	for rep in $(seq 1 "$BENCH_REPS"); do
		local rawsv sign verify issue sqlverify qr svg
		rawsv=$("$raw" sign-verify "$BENCH_CODES")
		sign=$(raw_field sign <<<"$rawsv")
		verify=$(raw_field verify <<<"$rawsv")
		issue=$(sql_rate issue bench.subjects)
		sqlverify=$(sql_rate verify bench.codes)
		qr=$("$raw" qr "$texts" | raw_field qr)
		svg=$(sql_rate qr_svg bench.qr_codes)
		log "   rep $rep: raw sign $sign  issue $issue | raw verify $verify  verify $sqlverify | raw qr $qr  qr_svg $svg"
		best_sign=$(max "$best_sign" "$sign")
		best_verify=$(max "$best_verify" "$verify")
		best_issue=$(max "$best_issue" "$issue")
		best_sqlverify=$(max "$best_sqlverify" "$sqlverify")
		best_qr=$(max "$best_qr" "$qr")
		best_svg=$(max "$best_svg" "$svg")
	done

	# the same verify() over the same codes with a revocation list of
	# BENCH_REVOCATIONS entries (none of them these codes: the same rows
	# verify, every lookup misses, as most do), against the same raw verify
	log "== verify with $BENCH_REVOCATIONS revocations on the list"
	psql_q -c "INSERT INTO healthcode.code_revocation (hash, kind, region, expires_at, reason)
	           SELECT substr(sha256(int8send(g)), 1, 16), CASE WHEN g % 2 = 0 THEN 'code' ELSE 'subject' END,
	                  '330106', now() + interval '1 day', 'bench'
	             FROM generate_series(1, $BENCH_REVOCATIONS) g" >/dev/null
	for rep in $(seq 1 "$BENCH_REPS"); do
		local rawv sqlv
		rawv=$("$raw" sign-verify "$BENCH_CODES" | raw_field verify)
		sqlv=$(sql_rate verify bench.codes)
		log "   rep $rep: raw verify $rawv  verify with the list $sqlv"
		best_verify2=$(max "$best_verify2" "$rawv")
		best_sqlverify_rl=$(max "$best_sqlverify_rl" "$sqlv")
	done

	echo
	echo "healthcode benchmark — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) CPUs, $(uname -m)"
	echo "best of $BENCH_REPS; one backend; SQL timed server-side; rates in operations per second"
	awk -v OFS='' '
		function row(name, ours, base, basename, goal,   r) {
			r = ours / base
			printf "%-28s %12.1f %12.1f  %-28s %6.3f  >= %-4s  %s\n",
				name, ours, base, basename, r, goal, (r >= goal ? "met" : "NOT MET")
		}
		BEGIN {
			printf "%-28s %12s %12s  %-28s %6s  %-7s %s\n",
				"figure", "ours/s", "raw/s", "raw baseline", "ratio", "goal", ""
			row("verify (" ENVIRON["BENCH_CODES"] " stored codes)", '"$best_sqlverify"', '"$best_verify"',
				"crypto_sign_verify_detached", '"$GOAL_VERIFY"')
			row("issue (" ENVIRON["BENCH_CODES"] " codes)", '"$best_issue"', '"$best_sign"',
				"crypto_sign_detached", '"$GOAL_ISSUE"')
			row("qr_svg (" ENVIRON["BENCH_QR"] " stored codes)", '"$best_svg"', '"$best_qr"',
				"QRcode_encodeString", '"$GOAL_QR"')
			row("verify, " ENVIRON["BENCH_REVOCATIONS"] " revocations", '"$best_sqlverify_rl"', '"$best_verify2"',
				"crypto_sign_verify_detached", '"$GOAL_VERIFY_REVOKED"')
		}' | tee "$out/summary.txt"
}

if [[ ${1:-} == --inside ]]; then
	inside
	exit 0
fi

bench_build
log "== compiling bench/raw_rates"
gcc -O2 -Wall -Wextra -I"$root/src" -o "$here/raw_rates" "$here/raw_rates.c" "$root/src/hc_core_qr.c" "$root/src/hc_core_buf.c" -lsodium -lqrencode -lpng
bench_in_cluster "$here/run.sh"
