#!/usr/bin/env bash
# Throughput of `sladesk sla replay`: N ticket histories (default 1,000,000)
# of six steps each (receipt, a notice, an agent's reply, a wait on the
# customer, their reply, a resolution; some with a severity change), over
# the four policies and three regions, generated deterministically; one run
# on one core, reported as histories per second. Usage: benches/replay.sh [N]
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
policies = ["platinum", "gold", "silver", "bronze"]
regions = ["england-and-wales", "scotland", "northern-ireland"]
base = datetime(2024, 1, 1, tzinfo=timezone.utc)
fmt = lambda t: t.strftime("%Y-%m-%dT%H:%M:%SZ")
out = sys.stdout
for i in range(int(sys.argv[1])):
    t = base + timedelta(seconds=rnd.randrange(2 * 365 * 86400))
    steps = ['{"type":"received","at":"%s","severity":%d}' % (fmt(t), rnd.randrange(1, 5))]
    for kind in ["notice", "agent_reply", "pending_customer", "customer_reply", "resolve"]:
        t += timedelta(seconds=rnd.randrange(60, 3 * 86400))
        if kind == "customer_reply" and rnd.random() < 0.3:
            steps.append('{"type":"severity","to":%d,"at":"%s"}' % (rnd.randrange(1, 5), fmt(t)))
        else:
            steps.append('{"type":"%s","at":"%s"}' % (kind, fmt(t)))
    out.write('{"id":%d,"policy":"%s","region":"%s","events":[%s]}\n'
              % (i, rnd.choice(policies), rnd.choice(regions), ",".join(steps)))
PY
start=$(date +%s.%N)
taskset -c 0 target/release/sladesk sla replay <"$input" >"$output" || true
end=$(date +%s.%N)
lines=$(wc -l <"$output")
errors=$(grep -c '"error"' "$output" || true)
grep -m3 '"error"' "$output" || true
python3 -c "
s = $end - $start
print(f'histories: $lines  errors: $errors  seconds: {s:.3f}  histories/s: {$lines / s:,.0f}')"
