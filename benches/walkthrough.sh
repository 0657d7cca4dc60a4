#!/usr/bin/env bash
# The README's walkthrough with a real install: `cargo install --path .`
# (the release profile) into a temporary root, then, from an empty folder
# with no SLADESK_* settings, the demo, intake, a report, the scheduler's
# status, an outage and an export, each seeing the demo's data; and the
# size of the installed binary. tests/walkthrough.rs is the short variant
# CI runs (the debug binary, copied out of the repository).
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
root="$(mktemp -d)"
work="$(mktemp -d)"
trap 'kill "${demo_pid:-0}" 2>/dev/null || true; rm -rf "$root" "$work"' EXIT
for v in $(env | grep -o '^SLADESK_[A-Z_]*' || true); do unset "$v"; done

cargo install --quiet --path "$repo" --root "$root" --locked
bin="$root/bin/sladesk"
echo "installed: $(du -h "$bin" | cut -f1) $bin"

cd "$work"
"$bin" demo --listen 127.0.0.1:0 > demo.out 2> demo.err &
demo_pid=$!
for _ in $(seq 1 120); do grep -q 'try:' demo.out 2>/dev/null && break; sleep 1; done
head -1 demo.out
kill "$demo_pid"; wait "$demo_pid" 2>/dev/null || true
cat sladesk.toml

printf 'From: nadia.patel@northwind.example\r\nTo: support@sladesk.example\r\nSubject: [S1] Portal down\r\nMessage-ID: <walk-%s@northwind.example>\r\n\r\nAll users.\r\n' "$$" \
  | "$bin" ingest && echo "ingest: ok"
month="$(date -u -d "$(date -u +%Y-%m-01) -1 day" +%Y-%m)"
"$bin" report monthly --org northwind --month "$month" --format csv | head -8
"$bin" scheduler status
"$bin" outage add --kind platform_issue --start "$(date -u -d '-3 hours' +%FT%TZ)" \
  --end "$(date -u -d '-2 hours' +%FT%TZ)" --org northwind --description "LON1 storage"
"$bin" export --org northwind --out export
grep '"tickets"' export/manifest.json
echo "walkthrough: every step on sladesk-demo.db"
