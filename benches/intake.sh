#!/usr/bin/env bash
# Mail intake throughput on SQLite: parse, thread, store, acknowledgement
# queued, through POST /api/v1/inbound/email (message/rfc822) with wrk, each
# request a new message (its own Message-ID) from a demo contact, so every
# one creates a ticket. 16 connections for 20 s (DURATION overrides).
#
# Usage: benches/intake.sh    (needs wrk: apt-get install wrk)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${DURATION:-20s}
port=${PORT:-18091}
work=$(mktemp -d)
cleanup() { [ -n "${server:-}" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }
cargo build --release --quiet
url="sqlite://$work/intake.db"
SLADESK_OUTBOX_DIR="$work/outbox" RUST_LOG=warn target/release/sladesk demo --listen "127.0.0.1:$port" --database-url "$url" >"$work/banner" 2>"$work/log" &
server=$!
for _ in $(seq 1 120); do grep -q "try:" "$work/banner" 2>/dev/null && break; sleep 0.5; done
token=$(RUST_LOG=off target/release/sladesk token create --database-url "$url" --user admin@sladesk.example --name bench --scope intake)
cat >"$work/mail.lua" <<LUA
-- Each wrk thread numbers its own messages; the thread id keeps them apart.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
local n = 0
request = function()
  n = n + 1
  local body = "From: Nadia Patel <nadia.patel@northwind.example>\r\n" ..
    "To: support@sladesk.example\r\n" ..
    "Subject: Load test message " .. n .. "\r\n" ..
    "Message-ID: <bench-" .. tid .. "-" .. n .. "@northwind.example>\r\n" ..
    "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" ..
    "The portal is slow for everyone in the Cardiff office.\r\n\r\nOn Mon, someone wrote:\r\n> quoted history\r\n"
  return wrk.format("POST", "/api/v1/inbound/email", {["Content-Type"] = "message/rfc822", ["Authorization"] = "Bearer $token"}, body)
end
LUA
echo "== intake: POST /api/v1/inbound/email, 16 connections, $duration"
wrk -t2 -c16 -d"$duration" --latency -s "$work/mail.lua" "http://127.0.0.1:$port" | grep -E "Requests/sec|Latency|50%|90%|99%|Non-2xx|Socket errors"
counts=$(sqlite3 "$work/intake.db" "select outcome || ': ' || count(*) from inbound_messages group by outcome" 2>/dev/null || echo "?")
echo "outcomes recorded: $counts"
