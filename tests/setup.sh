#!/usr/bin/env bash
# Makes sure what the test suite talks to is there: PostgreSQL on
# 127.0.0.1:5432 (started if this machine has a cluster that is down) and
# Python's aiosmtpd as a real SMTP server (installed from PyPI if missing),
# Debian's Dovecot as a real IMAP server and openssl for its test
# certificates (installed if missing; each test starts its own instance on a
# free loopback port, so no system service is started here); Debian's
# Chromium and ChromeDriver and the npm package axe-core for the browser
# tests; Debian's Prometheus Alertmanager for the monitoring alerts test;
# the npm packages oidc-provider and standardwebhooks (tests/peers); Debian's
# HAProxy for benches/chaos.sh; Debian's PgBouncer, and replication from
# loopback, for the replica and pooling tests.
# The toolchain builds SQLite and the PostgreSQL client library itself.
set -euo pipefail
cd "$(dirname "$0")/.."

pg_url=${SLADESK_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start || true
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null && break
    sleep 1
  done
fi
if ! pg_isready -h 127.0.0.1 -p 5432 2>/dev/null; then
  echo "PostgreSQL is not reachable at 127.0.0.1:5432; the API tests need it ($pg_url)." >&2
  exit 1
fi

# The replica test (tests/api/replica.rs) makes a streaming replica of this
# cluster with pg_basebackup: let loopback replication connections in, as
# this cluster already trusts loopback for every other connection.
hba=$(psql "$pg_url" -Atc 'SHOW hba_file' 2>/dev/null || true)
if [ -n "$hba" ] && [ -w "$hba" ] && ! grep -Eq '^host[[:space:]]+replication[[:space:]]+all[[:space:]]+127\.0\.0\.1/32' "$hba"; then
  echo "host replication all 127.0.0.1/32 trust" >>"$hba"
  psql "$pg_url" -qAtc 'SELECT pg_reload_conf()' >/dev/null
fi

if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore aiosmtpd
fi
# The SCIM compliance checker the provisioning test runs against a live server.
if ! python3 -c "import scim2_tester, httpx2" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore 'scim2-tester==0.5.2' httpx2
fi
# The SLA replay tests check histories against docs/sla-replay.schema.json
# with a real JSON Schema validator.
if ! python3 -c "import jsonschema" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore jsonschema
fi
missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
# The browser tests drive Debian's Chromium through its ChromeDriver.
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/bin/chromedriver ] || missing+=(chromium-driver)
# The in-process sender verification tests ask a real DNS server.
[ -x /usr/sbin/dnsmasq ] || missing+=(dnsmasq-base)
# The monitoring alerts test sends through the real Prometheus Alertmanager.
[ -x /usr/bin/prometheus-alertmanager ] || missing+=(prometheus-alertmanager)
# benches/chaos.sh (whose short variant .ci/run runs) puts HAProxy in front
# of several processes, with deploy/haproxy.cfg.
command -v haproxy >/dev/null 2>&1 || missing+=(haproxy)
# The pooling test (tests/api/replica.rs) serves through Debian's PgBouncer
# in transaction mode, as docs/scaling.md recommends.
[ -x /usr/sbin/pgbouncer ] || missing+=(pgbouncer)
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends "${missing[@]}" fonts-dejavu-core >/dev/null
fi
# axe-core, which the browser tests inject into every page, at the version
# tests/browser/package-lock.json pins.
if [ ! -f tests/browser/node_modules/axe-core/axe.min.js ]; then
  npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
fi
# The protocol peers the tests run (tests/peers/package-lock.json): the
# certified OpenID provider `oidc-provider` and the Standard Webhooks
# verifier `standardwebhooks`.
if [ ! -d tests/peers/node_modules/oidc-provider ] || [ ! -d tests/peers/node_modules/standardwebhooks ]; then
  npm ci --prefix tests/peers --no-audit --no-fund --loglevel=error
fi
# The packaged service is not wanted: tests run their own Dovecot.
if command -v service >/dev/null 2>&1; then service dovecot stop >/dev/null 2>&1 || true; fi
/usr/sbin/dovecot --version | sed 's/^/dovecot /'
/usr/bin/chromium --version
/usr/bin/chromedriver --version
/usr/sbin/dnsmasq --version | head -n 1
/usr/bin/prometheus-alertmanager --version 2>&1 | head -n 1

python3 -c "import aiosmtpd; print('aiosmtpd', aiosmtpd.__version__, '- PostgreSQL ready')"
