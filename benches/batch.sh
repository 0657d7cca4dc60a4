#!/usr/bin/env bash
# Throughput of `sladesk calendar batch`: N JSON lines (default 1,000,000),
# a mix of `add` and `between` questions over the shipped calendars and the
# three regions, generated deterministically; one run on one core, reported
# as lines per second. Usage: benches/batch.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000000}
input=$(mktemp); output=$(mktemp)
trap 'rm -f "$input" "$output"' EXIT
cargo build --release --quiet
python3 - "$n" >"$input" <<'PY'
import random, sys
from datetime import datetime, timedelta, timezone
rnd = random.Random(42)
cals = ["silver", "bronze", "gold", "platinum", "24x7"]
regions = ["england-and-wales", "scotland", "northern-ireland"]
base = datetime(2024, 1, 1, tzinfo=timezone.utc)
out = sys.stdout
for i in range(int(sys.argv[1])):
    t = base + timedelta(seconds=rnd.randrange(3 * 365 * 86400))
    c, r = rnd.choice(cals), rnd.choice(regions)
    if i % 2 == 0:
        out.write('{"id":%d,"calendar":"%s","region":"%s","start":"%s","minutes":%d}\n'
                  % (i, c, r, t.strftime("%Y-%m-%dT%H:%M:%SZ"), rnd.randrange(1, 20000)))
    else:
        u = t + timedelta(seconds=rnd.randrange(30 * 86400))
        out.write('{"id":%d,"calendar":"%s","region":"%s","from":"%s","to":"%s"}\n'
                  % (i, c, r, t.strftime("%Y-%m-%dT%H:%M:%SZ"), u.strftime("%Y-%m-%dT%H:%M:%S+01:00")))
PY
start=$(date +%s.%N)
taskset -c 0 target/release/sladesk calendar batch <"$input" >"$output"
end=$(date +%s.%N)
lines=$(wc -l <"$output")
errors=$(grep -c '"error"' "$output" || true)
python3 -c "
s = $end - $start
print(f'lines: $lines  errors: $errors  seconds: {s:.3f}  lines/s: {$lines / s:,.0f}')"
