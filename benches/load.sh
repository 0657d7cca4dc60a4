#!/usr/bin/env bash
# Load test of `sladesk serve` on loopback with wrk: ticket creation and
# ticket reads, 64 connections for 30 s each (DURATION overrides), on SQLite
# (default) or PostgreSQL. The server is started by `sladesk demo` on a fresh
# database (200 demo tickets), so the data is the README's demo desk.
# Reports requests/s and latency percentiles from wrk, and the server's RSS
# idle and at its peak under load.
#
# WEBHOOKS=N subscribes N webhook endpoints (every ticket event, to a local
# receiver answering 204) before the load, to measure what queuing and
# sending deliveries costs the write path.
#
# SEED=N serves a desk with N tickets of history instead (benches/seed.rs:
# 1,000,000 tickets and 6,000,000 events for the issue 20 targets), and
# reads one of its old tickets.
#
# PERF=FILE samples the server with perf during the agents' queue load and
# writes where its time went to FILE.
#
# SLADESK_BIN=PATH serves with that binary instead of this checkout's release.
#
# Usage: benches/load.sh [sqlite|postgres]    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
backend=${1:-sqlite}
duration=${DURATION:-30s}
port=${PORT:-18090}
work=$(mktemp -d)
cleanup() {
  [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
  [ -n "${sampler:-}" ] && kill "$sampler" 2>/dev/null
  [ -n "${receiver:-}" ] && kill "$receiver" 2>/dev/null
  if [ "$backend" = postgres ]; then psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_load WITH (FORCE)" postgres >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
bin=${SLADESK_BIN:-target/release/sladesk}
[ -n "${SLADESK_BIN:-}" ] || cargo build --release --quiet
case "$backend" in
  sqlite) url="sqlite://$work/load.db" ;;
  postgres)
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_load WITH (FORCE)" postgres >/dev/null
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE sladesk_load" postgres >/dev/null
    url="postgres://postgres@127.0.0.1:5432/sladesk_load" ;;
  *) echo "usage: $0 [sqlite|postgres]" >&2; exit 2 ;;
esac

if [ -n "${SEED:-}" ]; then
  # Years of history (benches/seed.rs), then the server on it.
  echo "seeding $SEED tickets ..."
  SLADESK_SEED_URL=$url SLADESK_BENCH_TICKETS=$SEED cargo bench --quiet --bench seed >"$work/seeded"
  RUST_LOG=warn "$bin" serve --listen "127.0.0.1:$port" --database-url "$url" >"$work/banner" 2>"$work/log" &
  server=$!
  for _ in $(seq 1 120); do curl -fs -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.5; done
  agent=$(awk '$1 == "agent" {print $2}' "$work/seeded")
  customer=$(awk '$1 == "customer" {print $2}' "$work/seeded")
  admin=$(awk '$1 == "admin" {print $2}' "$work/seeded")
  read_ref=$(awk '$1 == "history" {print $2}' "$work/seeded")
else
  RUST_LOG=warn "$bin" demo --listen "127.0.0.1:$port" --database-url "$url" >"$work/banner" 2>"$work/log" &
  server=$!
  for _ in $(seq 1 120); do grep -q "try:" "$work/banner" 2>/dev/null && break; sleep 0.5; done
  agent=$(awk '$2 == "alice@sladesk.example" {print $3}' "$work/banner")
  customer=$(awk '$3 == "nadia.patel@northwind.example" {print $4}' "$work/banner")
  admin=$(awk '$1 == "admin" {print $3}' "$work/banner")
  read_ref=SD-000100
fi
[ -n "$agent" ] && [ -n "$customer" ] || { echo "the server did not start:"; cat "$work/banner" "$work/log"; exit 1; }
sleep 1
hooks=${WEBHOOKS:-0}
if [ "$hooks" -gt 0 ]; then
  hport=$((port + 1))
  python3 -c "
import http.server
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get('content-length', 0)))
        self.send_response(204); self.end_headers()
    def log_message(self, *a): pass
http.server.ThreadingHTTPServer(('127.0.0.1', $hport), H).serve_forever()" &
  receiver=$!
  sleep 0.5
  for i in $(seq 1 "$hooks"); do
    curl -fsS -o /dev/null -X POST "http://127.0.0.1:$port/api/v1/webhooks" -H "Authorization: Bearer $admin" \
      -H 'Content-Type: application/json' \
      -d "{\"name\":\"load $i\",\"url\":\"http://127.0.0.1:$hport/hook/$i\",\"allow_private\":true,\"events\":[\"ticket.created\",\"ticket.changed\",\"ticket.resolved\"]}"
  done
  echo "webhooks: $hooks endpoints subscribed to every ticket event"
fi
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
# RSS counts the pages of the database file SQLite reads through its memory
# map (mmap_size), which the kernel may drop at any time; the anonymous part
# is what the process itself holds.
anon() { awk '/RssAnon/ {print $2}' "/proc/$server/status"; }
echo "backend: $backend; idle RSS: $(( $(rss) / 1024 )) MiB, of which anonymous $(( $(anon) / 1024 )) MiB"

peak="$work/peak"; echo 0 >"$peak"
( max=0; while kill -0 "$server" 2>/dev/null; do r=$(rss || echo 0); if [ "${r:-0}" -gt "$max" ]; then max=$r; echo "$max" >"$peak.tmp" && mv "$peak.tmp" "$peak"; fi; sleep 0.2; done ) &
sampler=$!

cat >"$work/create.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $customer"
wrk.body = '{"subject":"Load test ticket","description":"Raised by benches/load.sh","severity":3}'
LUA
echo "== reads: GET /api/v1/tickets/$read_ref, 64 connections, $duration"
wrk -t2 -c64 -d"$duration" --latency -H "Authorization: Bearer $agent" "http://127.0.0.1:$port/api/v1/tickets/$read_ref" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
echo "== the agents' queue: GET /api/v1/tickets?limit=50, 64 connections, $duration"
if [ -n "${PERF:-}" ]; then
  # Where the server's time goes during this load (perf's sampling, call
  # graphs): the report lands in $PERF. Build with line tables for names:
  # CARGO_PROFILE_RELEASE_DEBUG=1 CARGO_PROFILE_RELEASE_STRIP=false.
  secs=${duration%s}
  perf record -q -F 499 -g -p "$server" -o "$work/perf.data" -- sleep "$((secs - 2))" 2>/dev/null &
  perfpid=$!
fi
wrk -t2 -c64 -d"$duration" --latency -H "Authorization: Bearer $agent" "http://127.0.0.1:$port/api/v1/tickets?limit=50" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
if [ -n "${PERF:-}" ]; then
  wait "$perfpid" || true
  perf report -i "$work/perf.data" -g none --no-children --sort dso,symbol --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -80 >"$PERF" || true
  perf report -i "$work/perf.data" -g none --no-children --sort dso --stdio 2>/dev/null | grep -v '^#' | grep -v '^$' | head -20 >>"$PERF" || true
  echo "profile of the list load: $PERF"
fi
echo "== creations: POST /api/v1/tickets, 64 connections, $duration"
wrk -t2 -c64 -d"$duration" --latency -s "$work/create.lua" "http://127.0.0.1:$port/api/v1/tickets" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
# What a creation answers right after the load (a non-2xx above is named here).
curl -s -o "$work/last" -w "a creation after the load: %{http_code}\n" -X POST -H "Authorization: Bearer $customer" \
  -H 'Content-Type: application/json' -d '{"subject":"After the load","description":"x","severity":3}' "http://127.0.0.1:$port/api/v1/tickets"
grep -q '"status":2' "$work/last" || head -c 300 "$work/last"; echo
echo "peak RSS under load: $(( $(cat "$peak") / 1024 )) MiB"
