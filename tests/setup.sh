#!/usr/bin/env bash
# Makes sure what the test suite talks to is there: PostgreSQL on
# 127.0.0.1:5432 (started if this machine has a cluster that is down) and
# Python's aiosmtpd as a real SMTP server (installed from PyPI if missing),
# Debian's Dovecot as a real IMAP server and openssl for its test
# certificates (installed if missing; each test starts its own instance on a
# free loopback port, so no system service is started here).
# The toolchain builds SQLite and the PostgreSQL client library itself.
set -euo pipefail

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

if ! python3 -c "import aiosmtpd" 2>/dev/null; then
  python3 -m pip install --quiet --disable-pip-version-check --root-user-action=ignore aiosmtpd
fi
if [ ! -x /usr/sbin/dovecot ] || ! command -v openssl >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || true
  apt-get install -y -qq --no-install-recommends dovecot-imapd openssl >/dev/null
fi
# The packaged service is not wanted: tests run their own Dovecot.
if command -v service >/dev/null 2>&1; then service dovecot stop >/dev/null 2>&1 || true; fi
/usr/sbin/dovecot --version | sed 's/^/dovecot /'

python3 -c "import aiosmtpd; print('aiosmtpd', aiosmtpd.__version__, '- PostgreSQL ready')"
