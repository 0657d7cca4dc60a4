#!/usr/bin/env bash
# Chaos under load (issue 20): does sladesk lose or double anything when its
# processes are killed and its database restarts under load?
#
# postgres (default): three `sladesk serve` processes, each with its
# scheduler (the SLA tick every second) and mail workers, on one PostgreSQL,
# behind HAProxy configured by deploy/haproxy.cfg. For SECONDS (default 60)
# benches/chaos_driver.py creates tickets, replies, reads and posts mail to
# the HTTP intake through HAProxy. Severity 1 mail from an organisation on
# one-minute targets (fixtures/policies/rapid.toml) makes the tick warn and
# breach during the run. Every 5 s one random process is killed with
# SIGKILL and started again. Once, a third of the way in, PostgreSQL is
# stopped for about 3 s and started again. Three quarters in, `sladesk
# backup` runs beside the load.
#
# sqlite: one process on SQLite, killed and restarted every 5 s, the driver
# talking to it directly.
#
# It then checks, in the database:
#   - every write acknowledged with a 2xx exists exactly once, and no write
#     (acknowledged or not) exists twice;
#   - the backup, restored into an empty database, holds every write
#     acknowledged before it began;
#   - every SLA warning and breach is recorded once, and every notification
#     is queued once;
#   - no 5xx but 503 with Retry-After (and 502 from HAProxy when a process
#     it was talking to is killed; counted, and a 502 is never a lost write);
#   - while PostgreSQL is down, /readyz answers 503 on every process; once it
#     is back, every process answers /readyz 200 within 5 s, nobody acting.
# and exits 1 if any check fails.
#
# Usage: benches/chaos.sh [postgres|sqlite] [SECONDS]
#   CHAOS_WORKERS (default 16) driver threads; .ci/run runs a short variant.
# Needs haproxy and python3 (tests/setup.sh installs them) and, for
# postgres, a local PostgreSQL cluster this script may stop and start.
set -euo pipefail
cd "$(dirname "$0")/.."
export PGOPTIONS="-c client_min_messages=warning"
backend=${1:-postgres}
seconds=${2:-60}
workers=${CHAOS_WORKERS:-16}
base=${CHAOS_PORT:-18180}
work=$(mktemp -d)
# CI passes the debug binary its tests built (SLADESK_BIN), so as not to
# build a release binary too.
bin=${SLADESK_BIN:-target/release/sladesk}
pgurl="postgres://postgres@127.0.0.1:5432/sladesk_chaos"
declare -A pids=()
lb=""
cluster() { ls /etc/postgresql | head -1; }
now() { date +%s.%N; }
cleanup() {
  [ -n "${killer:-}" ] && kill "$killer" 2>/dev/null || true
  [ -n "${backup:-}" ] && kill "$backup" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -f "sladesk-chaos-$base" 2>/dev/null || true
  # Gone before their files are removed (a mail worker may be writing).
  for _ in $(seq 1 20); do pgrep -f "sladesk-chaos-$base" >/dev/null || break; sleep 0.1; done
  pkill -9 -f "sladesk-chaos-$base" 2>/dev/null || true
  [ -n "$lb" ] && kill "$lb" 2>/dev/null || true
  # Never leave the machine's PostgreSQL stopped.
  if [ "$backend" = postgres ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(cluster)" main start >/dev/null 2>&1 || true
    [ -z "${KEEP:-}" ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_chaos WITH (FORCE)" postgres >/dev/null 2>&1 || true
  fi
  if [ -n "${KEEP:-}" ]; then echo "kept $work"; else rm -rf "$work" 2>/dev/null || true; fi
}
trap cleanup EXIT
fail=0
check() { # description, ok(0/1)
  if [ "$2" = 0 ]; then echo "  ok    $1"; else echo "  FAIL  $1"; fail=1; fi
}

[ -n "${SLADESK_BIN:-}" ] || cargo build --release --quiet
case "$backend" in
  postgres)
    command -v haproxy >/dev/null || { echo "haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }
    psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_chaos WITH (FORCE)" postgres >/dev/null
    psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE sladesk_chaos" postgres >/dev/null
    url=$pgurl; procs=3 ;;
  sqlite) url="sqlite://$work/chaos.db"; procs=1 ;;
  *) echo "usage: $0 [postgres|sqlite] [SECONDS]" >&2; exit 2 ;;
esac

# The shipped policies and the one-minute one, the demo desk beside them,
# and the tick every second.
mkdir -p "$work/policies" "$work/fixtures/demo" "$work/outbox"
cp sla-policies/*.toml fixtures/policies/rapid.toml "$work/policies/"
cp fixtures/demo/desk.toml "$work/fixtures/demo/"
printf '[scheduler]\nsla_tick = "* * * * * *"\n' >"$work/sladesk.toml"
export SLADESK_DATABASE_URL=$url SLADESK_OUTBOX_DIR="$work/outbox" RUST_LOG=warn
common=(--policies "$work/policies" --config "$work/sladesk.toml")

"$bin" demo --listen "127.0.0.1:$base" "${common[@]}" >"$work/banner" 2>"$work/demo.log" &
demo=$!
for _ in $(seq 1 240); do grep -q "try:" "$work/banner" 2>/dev/null && break; sleep 0.5; done
agent=$(awk '$2 == "alice@sladesk.example" {print $3}' "$work/banner")
customer=$(awk '$3 == "nadia.patel@northwind.example" {print $4}' "$work/banner")
[ -n "$agent" ] && [ -n "$customer" ] || { echo "the demo did not start:"; cat "$work/banner" "$work/demo.log"; exit 1; }
kill "$demo"; wait "$demo" 2>/dev/null || true
RUST_LOG=off "$bin" org add --slug rapidco --name "Rapid Co" --tier rapid --region england-and-wales \
  --email-domain rapid.example --may-declare-severity --account-contact account.manager@sladesk.example "${common[@]}" >/dev/null
# Severity 1 mail on one-minute targets before the load begins, so that
# even a short run sees the tick warn (at 45 s) while it runs.
for i in 1 2 3; do
  printf 'From: <ola@rapid.example>\r\nTo: support@sladesk.example\r\nSubject: [S1] Chaos setup %s\r\nMessage-ID: <setup-%s-%s@chaos.example>\r\n\r\nDown.\r\n' \
    "$i" "$base" "$i" | RUST_LOG=off "$bin" ingest "${common[@]}" >/dev/null
done
intake=$(RUST_LOG=off "$bin" token create --user admin@sladesk.example --name chaos --scope intake "${common[@]}")

start_proc() { # n
  local port=$((base + $1))
  # The marker in argv lets cleanup find a process this shell lost track of.
  bash -c "exec -a sladesk-chaos-$base-$1 $bin serve --listen 127.0.0.1:$port ${common[*]}" >>"$work/serve$1.log" 2>&1 &
  pids[$1]=$!
  disown "$!"
}
ready() { curl -fs -o /dev/null -m 1 "http://127.0.0.1:$(($base + $1))/readyz"; }
for n in $(seq 1 "$procs"); do start_proc "$n"; done
for n in $(seq 1 "$procs"); do
  for _ in $(seq 1 100); do ready "$n" && break; sleep 0.1; done
  ready "$n" || { echo "process $n did not start:"; cat "$work/serve$n.log"; exit 1; }
done

if [ "$backend" = postgres ]; then
  mkdir -p "$work/errors"
  cp deploy/errors/*.http "$work/errors/"
  sed -e "s|127.0.0.1:8080|127.0.0.1:$base|" -e "s|127.0.0.1:8081|127.0.0.1:$((base + 1))|" \
      -e "s|127.0.0.1:8082|127.0.0.1:$((base + 2))|" -e "s|127.0.0.1:8083|127.0.0.1:$((base + 3))|" \
      -e "s|/etc/haproxy/errors/|$work/errors/|" -e "s|^    log stdout.*|    log stdout format raw local0 err|" \
      deploy/haproxy.cfg >"$work/haproxy.cfg"
  haproxy -f "$work/haproxy.cfg" >"$work/haproxy.log" 2>&1 &
  lb=$!
  target="http://127.0.0.1:$base"
  sleep 1.5
else
  target="http://127.0.0.1:$((base + 1))"
fi
echo "backend: $backend; $procs process(es); $workers driver threads; ${seconds}s of load; target $target"

# Faults: a SIGKILL every 5 s; on PostgreSQL, one outage a third of the way in.
started=$(date +%s)
elapsed() { echo $(( $(date +%s) - started )); }
(
  kills=0; pg_done=0
  while [ "$(elapsed)" -lt "$((seconds - 2))" ]; do
    sleep 5
    if [ "$backend" = postgres ] && [ "$pg_done" = 0 ] && [ "$(elapsed)" -ge $((seconds / 3)) ]; then
      pg_done=1
      pg_ctlcluster --skip-systemctl-redirect "$(cluster)" main stop -m fast
      down_at=$(now)
      sleep 1
      # Every process must say it is not ready while the database is away.
      for n in $(seq 1 "$procs"); do ( ready "$n" && touch "$work/ready_while_down.$n" ) & done
      wait
      sleep 0.5
      pg_ctlcluster --skip-systemctl-redirect "$(cluster)" main start
      up_at=$(now)
      worst=0
      for n in $(seq 1 "$procs"); do
        until ready "$n"; do sleep 0.1; done
        worst=$(awk -v a="$(now)" -v b="$up_at" -v w="$worst" 'BEGIN { t = a - b; print (t > w ? t : w) }')
      done
      ls "$work"/ready_while_down.* >/dev/null 2>&1 && echo "readyz_while_down_ok=0" >>"$work/faults" || echo "readyz_while_down_ok=1" >>"$work/faults"
      echo "pg_outage_s=$(awk -v a="$up_at" -v b="$down_at" 'BEGIN { printf "%.1f", a - b }')" >>"$work/faults"
      echo "ready_after_pg_s=$worst" >>"$work/faults"
      continue
    fi
    n=$(( (RANDOM % procs) + 1 ))
    kill -9 "$(pgrep -f "^sladesk-chaos-$base-$n " | head -1)" 2>/dev/null || true
    kills=$((kills + 1)); echo "kills=$kills" >>"$work/faults"
    sleep 0.2
    bash -c "exec -a sladesk-chaos-$base-$n $bin serve --listen 127.0.0.1:$((base + n)) ${common[*]}" >>"$work/serve$n.log" 2>&1 &
    disown "$!"
  done
) 2>>"$work/faults.log" &
killer=$!
# Three quarters in, a backup while the load runs (`sladesk backup`; tried
# again if it meets the outage): restored after the run, it must hold every
# write acknowledged before it began.
(
  sleep $((seconds * 3 / 4))
  for _ in $(seq 1 20); do
    now >"$work/backup.started"
    RUST_LOG=warn "$bin" backup --out "$work/chaos.backup" "${common[@]}" >"$work/backup.log" 2>&1 && exit 0
    rm -f "$work/chaos.backup"; sleep 1
  done
) &
backup=$!

began=$(date -u +"%Y-%m-%d %H:%M:%S")
CHAOS_CUSTOMER=$customer CHAOS_AGENT=$agent CHAOS_INTAKE=$intake CHAOS_RUN=$base CHAOS_RAPID_SENDER=ola@rapid.example \
  python3 benches/chaos_driver.py "$target" "$seconds" "$workers" "$work/acks.jsonl" >"$work/counts.json"
wait "$killer" || true
killer=""
wait "$backup" || { echo "no backup could be taken:"; cat "$work/backup.log"; }
# Let the processes that are up finish the tick and the outbox.
for n in $(seq 1 "$procs"); do for _ in $(seq 1 50); do ready "$n" && break; sleep 0.1; done; done
sleep 3

echo "== load"
python3 -c "
import json; c = json.load(open('$work/counts.json'))
for k in sorted(c): print(f'  {k:<28} {c[k]}')"
kills=$(grep -c '^kills=' "$work/faults" 2>/dev/null || true)
echo "  processes killed             ${kills:-0}"

# Rows as tab-separated lines: query DATABASE SQL, where DATABASE is a
# PostgreSQL database's name or a SQLite file.
query() {
  if [ "$backend" = postgres ]; then
    psql -At -F $'\t' -h 127.0.0.1 -U postgres "$1" -c "$2"
  else
    python3 -c "
import sqlite3, sys
for row in sqlite3.connect(sys.argv[1]).execute(sys.argv[2]): print('\t'.join('' if v is None else str(v) for v in row))" "$1" "$2"
  fi
}
# Everything the database holds of this run, as lines the checker reads.
[ "$backend" = postgres ] && db=sladesk_chaos || db="$work/chaos.db"
q() { query "$db" "$1"; }
q "SELECT subject, reference FROM tickets WHERE subject LIKE 'Chaos chaos-%' OR subject LIKE '[S1] Chaos mail%' OR subject LIKE 'Chaos mail%'" >"$work/db_tickets"
q "SELECT body FROM ticket_events WHERE kind = 'commented' AND body LIKE 'Reply chaos-%'" >"$work/db_replies"
q "SELECT message_id FROM inbound_messages WHERE message_id LIKE '%@chaos.example%'" >"$work/db_mail"
q "SELECT ticket_id, data FROM ticket_events WHERE kind = 'alert_recorded'" >"$work/db_alerts"
q "SELECT COUNT(*) FROM ticket_events WHERE kind = 'alert_recorded' AND at >= '$began'" >"$work/db_alerts_in_run"
q "SELECT ticket_id, kind, to_address, context FROM outbox WHERE created_at >= '$began'" >"$work/db_outbox"

# The backup taken under load, restored into an empty database.
if [ "$backend" = postgres ]; then
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_chaos_restored WITH (FORCE)" postgres >/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "CREATE DATABASE sladesk_chaos_restored" postgres >/dev/null
  restored="postgres://postgres@127.0.0.1:5432/sladesk_chaos_restored"
else
  restored="sqlite://$work/restored.db"
fi
if RUST_LOG=warn SLADESK_DATABASE_URL=$restored "$bin" restore "$work/chaos.backup" "${common[@]}" >"$work/restore.log" 2>&1; then
  [ "$backend" = postgres ] && rdb=sladesk_chaos_restored || rdb="$work/restored.db"
  rq() { query "$rdb" "$1"; }
  rq "SELECT subject FROM tickets WHERE subject LIKE 'Chaos chaos-%'" >"$work/restored_tickets"
  rq "SELECT body FROM ticket_events WHERE kind = 'commented' AND body LIKE 'Reply chaos-%'" >"$work/restored_replies"
  rq "SELECT message_id FROM inbound_messages WHERE message_id LIKE '%@chaos.example%'" >"$work/restored_mail"
  [ "$backend" = postgres ] && psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS sladesk_chaos_restored WITH (FORCE)" postgres >/dev/null
else
  echo "  the restore failed:"; cat "$work/backup.log" "$work/restore.log"
  : >"$work/restored_tickets"; : >"$work/restored_replies"; : >"$work/restored_mail"
fi

echo "== checks"
python3 - "$work" <<'PY' || fail=1
import collections, json, sys
w = sys.argv[1]
acks = [json.loads(l) for l in open(f"{w}/acks.jsonl")]
lines = lambda f: [l.rstrip("\n") for l in open(f"{w}/{f}") if l.strip()]
subjects = collections.Counter(l.split("\t")[0] for l in lines("db_tickets"))
replies = collections.Counter(lines("db_replies"))
mails = collections.Counter(m.strip("<>") for m in lines("db_mail"))
alerts = collections.Counter(lines("db_alerts"))
outbox = collections.Counter(lines("db_outbox"))
lost = doubled = 0
acked = collections.Counter(a["kind"] for a in acks)
for a in acks:
    if a["kind"] == "create":
        n = subjects[f"Chaos {a['mark']}"]
    elif a["kind"] == "reply":
        n = replies[f"Reply {a['mark']}"]
    else:
        n = mails[a["message_id"]]
    lost += n == 0
doubled += sum(1 for c in subjects.values() if c > 1)
doubled += sum(1 for c in replies.values() if c > 1)
doubled += sum(1 for c in mails.values() if c > 1)
alert_twice = sum(1 for c in alerts.values() if c > 1)
in_run = int(open(f"{w}/db_alerts_in_run").read().strip() or 0)
outbox_twice = sum(1 for c in outbox.values() if c > 1)
counts = json.load(open(f"{w}/counts.json"))
bad5xx = counts.get("5xx other than 502 and 503", 0)
no_retry = counts.get("503 without Retry-After", 0)
bad_gateway = sum(v for k, v in counts.items() if k.endswith(":502"))
print(f"  acknowledged writes          {sum(acked.values())} ({dict(acked)})")
print(f"  502 from HAProxy             {bad_gateway} (a process killed while answering: not acknowledged, and counted above if it was written)")
print(f"  SLA warnings and breaches    {len(alerts)} recorded ({in_run} during the run), {alert_twice} twice")
print(f"  notifications queued         {len(outbox)}, {outbox_twice} twice")
print(f"  lost acknowledged writes     {lost}")
print(f"  doubled writes               {doubled}")
# The backup: every write acknowledged before it began is in its restore.
began = float(open(f"{w}/backup.started").read())
r_subjects = set(lines("restored_tickets"))
r_replies = set(lines("restored_replies"))
r_mails = set(m.strip("<>") for m in lines("restored_mail"))
before = [a for a in acks if a["at"] < began]
missing = sum(1 for a in before if not (
    f"Chaos {a['mark']}" in r_subjects if a["kind"] == "create"
    else f"Reply {a['mark']}" in r_replies if a["kind"] == "reply"
    else a["message_id"] in r_mails))
print(f"  backup under load            {len(before)} writes acknowledged before it began, {missing} missing from its restore")
checks = [("0 acknowledged writes lost", lost == 0),
          ("the backup taken under load holds every write acknowledged before it", missing == 0 and len(before) > 0),
          ("0 writes doubled", doubled == 0),
          ("alerts fired during the run, each once", in_run > 0 and alert_twice == 0),
          ("each notification queued once", outbox_twice == 0),
          ("no 5xx from sladesk but 503", bad5xx == 0), ("every 503 had Retry-After", no_retry == 0)]
for name, good in checks:
    print(("  ok    " if good else "  FAIL  ") + name)
ok = all(good for _, good in checks)
sys.exit(0 if ok else 1)
PY
if [ "$backend" = postgres ]; then
  . "$work/faults"
  echo "  PostgreSQL down for ${pg_outage_s}s; every process ready ${ready_after_pg_s}s after it came back"
  check "/readyz said 503 on every process while PostgreSQL was down" $(( readyz_while_down_ok == 1 ? 0 : 1 ))
  check "every process ready within 5 s of PostgreSQL's return" "$(awk -v t="$ready_after_pg_s" 'BEGIN { print (t <= 5 ? 0 : 1) }')"
fi
for n in $(seq 1 "$procs"); do
  if grep -q "panicked" "$work/serve$n.log"; then check "process $n never panicked" 1; grep -m3 panicked "$work/serve$n.log"; fi
done
[ "$fail" = 0 ] && echo "chaos: passed" || echo "chaos: FAILED (KEEP=1 keeps the run's files)"
exit "$fail"
