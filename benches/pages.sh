#!/usr/bin/env bash
# Load test of the pages on loopback with wrk: an agent's queue (every active
# ticket with both countdowns, each computed by the core for its own policy
# and calendar), a ticket page, and a manager's dashboard. The server is
# `sladesk demo` on a fresh SQLite database (the README's demo desk); the
# users sign in through the pages like a browser (the manager with the demo's
# TOTP key), and wrk sends their session cookies.
#
# Usage: benches/pages.sh    (needs wrk: apt-get install wrk; DURATION, PORT)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-20s}
port=${PORT:-18091}
work=$(mktemp -d)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
base="http://127.0.0.1:$port"
RUST_LOG=warn target/release/sladesk demo --listen "127.0.0.1:$port" --database-url "sqlite://$work/pages.db" >"$work/banner" 2>"$work/log" &
server=$!
for _ in $(seq 1 120); do grep -q "try:" "$work/banner" 2>/dev/null && break; sleep 0.5; done
grep -q "try:" "$work/banner" || { echo "the demo did not start:"; cat "$work/banner" "$work/log"; exit 1; }

# Signs in through the pages; prints the session cookie.
sign_in() {
  local jar="$work/jar-$1" pre csrf
  pre=$(curl -s -c "$jar" "$base/sign-in" | grep -o 'name="pre" value="[^"]*"' | cut -d'"' -f4)
  curl -s -b "$jar" -c "$jar" -o /dev/null --data-urlencode "email=$1" -d "password=demo-password&pre=$pre" "$base/sign-in"
  if [ -n "${2:-}" ]; then
    csrf=$(curl -s -b "$jar" "$base/sign-in/code" | grep -o 'name="csrf" value="[^"]*"' | head -1 | cut -d'"' -f4)
    curl -s -b "$jar" -c "$jar" -o /dev/null -d "code=$(target/release/sladesk totp-code "$2")&csrf=$csrf" "$base/sign-in/code"
  fi
  awk '$6 == "sladesk_session" {print "sladesk_session=" $7}' "$jar"
}
# The demo leaves few tickets open: raise 60 more so the queue page shows a
# full page of 50 (100 countdowns), on all four tiers.
for i in $(seq 1 60); do
  who=$(awk '$1 == "customer" {print $4}' "$work/banner" | sed -n "$(( i % 4 + 1 ))p")
  curl -s -o /dev/null -H "Authorization: Bearer $who" -H "Content-Type: application/json" \
    -d "{\"subject\":\"Page load ticket $i\",\"description\":\"Raised by benches/pages.sh\",\"severity\":$(( i % 4 + 1 ))}" "$base/api/v1/tickets"
done
agent=$(sign_in alice@sladesk.example)
key=$(grep -o 'add the key [A-Z2-7]*' "$work/banner" | awk '{print $4}')
manager=$(sign_in manager@sladesk.example "$key")
[ -n "$agent" ] && [ -n "$manager" ] || { echo "could not sign in"; exit 1; }
rows=$(curl -s -H "Cookie: $agent" "$base/queue" | grep -c 'class="row-link"')
echo "queue page: $rows tickets, $((rows * 2)) countdowns"

run() {
  echo "== $1: GET $2, 16 connections, $duration"
  wrk -t2 -c16 -d"$duration" --latency -H "Cookie: $3" "$base$2" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
}
run "agent queue" /queue "$agent"
run "ticket page" /tickets/SD-000100 "$agent"
run "manager dashboard" /dashboard "$manager"
