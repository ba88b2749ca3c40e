#!/usr/bin/env bash
# Installs the Debian (bookworm) packages healthcode needs to build, test
# and run its demo. Does nothing when they are all present already.
set -euo pipefail

PACKAGES=(
	make gcc perl                       # build
	postgresql-15 postgresql-server-dev-15 postgresql-common   # server, PGXS, pg_virtualenv
	libsodium-dev libqrencode-dev libpng-dev                   # the codec's libraries
	postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl # pgTAP and pg_prove
	zbar-tools librsvg2-bin                                    # real QR decoding in tests
	clang libclang-rt-14-dev                                   # libFuzzer and sanitizers
	iproute2                                                   # ss: free ports for the multi-node test
	python3-minimal                                            # the multi-node test's foreign system (national pseudonyms)
	postgresql-15-cron                                         # the daily jobs on pg_cron (schedule_jobs; the demo, test/shell/jobs.sh)
	gnuplot-nox                                                # tools/report.sh: the analysts' charts (the demo, test/shell/jobs.sh)
	prometheus-postgres-exporter                               # monitoring scraped as a DBA would (test/shell/monitoring.sh)
	pgbouncer                                                  # apps behind a pooler in transaction mode (test/shell/pgbouncer.sh)
	python3-flask python3-psycopg2 uwsgi-core uwsgi-plugin-python3 # the reference web app (examples/webapp, tools/webapp.sh)
	fonts-wqy-zenhei openssl curl                              # its pages' Chinese, its TLS certificates, its start check
	chromium chromium-driver python3-selenium                  # its pages in a real browser (test/shell/browser.sh)
	wrk                                                        # HTTP load for bench/webapp.sh
)

missing=()
for p in "${PACKAGES[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "healthcode needs these Debian packages: ${missing[*]}" >&2
	echo "run as root, or: sudo apt-get install ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}" >/dev/null
