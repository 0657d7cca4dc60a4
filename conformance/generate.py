#!/usr/bin/env python3
"""Writes the conformance vectors of conformance/v1/ from the rules, with an
implementation of its own: UK bank holidays from the statutes and
proclamations, business calendars from the policy files in sla-policies/,
and the response and resolve clocks from the semantics in
docs/sla-replay.md. It shares no code with sladesk, so a vector is a
second opinion, not a copy of sladesk's output.

The holiday rules are checked against the official GOV.UK feed
(fixtures/holidays/govuk-bank-holidays.json) for every year the feed
covers before anything is written; the years it covers are taken from the
feed itself. Usage: python3 conformance/generate.py   (deterministic:
running it again writes the same files)
"""

import datetime as dt
import json
import os
import pathlib
import random
import re
import sys
import tomllib
import zoneinfo

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = pathlib.Path(os.environ.get("CONFORMANCE_OUT", ROOT / "conformance" / "v1"))
REGIONS = ["england-and-wales", "scotland", "northern-ireland"]
UTC = dt.timezone.utc
SUB = " (substitute day)"

# ---------------------------------------------------------------- holidays


def easter(y):
    # Gauss's algorithm as given by Butcher (1876).
    a, b, c = y % 19, y // 100, y % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * l) // 451
    return dt.date(y, (h + l - 7 * m + 114) // 31, (h + l - 7 * m + 114) % 31 + 1)


def nth_monday(y, month, last=False):
    days = [dt.date(y, month, d) for d in range(1, 32) if _valid(y, month, d)]
    mondays = [d for d in days if d.weekday() == 0]
    return mondays[-1] if last else mondays[0]


def _valid(y, m, d):
    try:
        dt.date(y, m, d)
        return True
    except ValueError:
        return False


def weekend(d):
    return d.weekday() >= 5


def next_weekday_after(d, taken):
    d += dt.timedelta(days=1)
    while weekend(d) or d in taken:
        d += dt.timedelta(days=1)
    return d


def fixed(out, d, title):
    """A fixed-date holiday; on a weekend, the next weekday not already a holiday."""
    if weekend(d):
        out[next_weekday_after(d, out)] = title + SUB
    else:
        out[d] = title


def pair(out, d1, t1, d2, t2):
    """Two days in a row (Christmas and Boxing Day): a day on a weekday keeps
    its date; each on a weekend takes the next free weekday, the first first."""
    for d, t in ((d1, t1), (d2, t2)):
        if not weekend(d):
            out[d] = t
    for d, t in ((d1, t1), (d2, t2)):
        if weekend(d):
            out[next_weekday_after(d, out)] = t + SUB


def holidays(region, y):
    out = {}
    if region == "scotland":
        pair(out, dt.date(y, 1, 1), "New Year’s Day", dt.date(y, 1, 2), "2nd January")
    else:
        fixed(out, dt.date(y, 1, 1), "New Year’s Day")
    if region == "northern-ireland":
        fixed(out, dt.date(y, 3, 17), "St Patrick’s Day")
    e = easter(y)
    out[e - dt.timedelta(days=2)] = "Good Friday"
    if region != "scotland":
        out[e + dt.timedelta(days=1)] = "Easter Monday"
    if y in (1995, 2020):
        out[dt.date(y, 5, 8)] = "Early May bank holiday (VE day)"
    else:
        out[nth_monday(y, 5)] = "Early May bank holiday"
    one_offs = {
        2011: [(dt.date(2011, 4, 29), "Royal wedding")],
        2023: [(dt.date(2023, 5, 8), "Bank holiday for the coronation of King Charles III")],
        2022: [(dt.date(2022, 9, 19), "Bank Holiday for the State Funeral of Queen Elizabeth II")],
        1999: [(dt.date(1999, 12, 31), "Millennium celebrations")],
    }
    spring = {
        2002: [(dt.date(2002, 6, 3), "Queen’s Golden Jubilee"), (dt.date(2002, 6, 4), "Spring bank holiday" + SUB)],
        2012: [(dt.date(2012, 6, 4), "Spring bank holiday" + SUB), (dt.date(2012, 6, 5), "Queen’s Diamond Jubilee")],
        2022: [(dt.date(2022, 6, 2), "Spring bank holiday"), (dt.date(2022, 6, 3), "Platinum Jubilee bank holiday")],
    }
    for d, t in spring.get(y, [(nth_monday(y, 5, last=True), "Spring bank holiday")]):
        out[d] = t
    if region == "northern-ireland":
        fixed(out, dt.date(y, 7, 12), "Battle of the Boyne (Orangemen’s Day)")
    out[nth_monday(y, 8, last=(region != "scotland"))] = "Summer bank holiday"
    if region == "scotland" and y >= 2007:
        fixed(out, dt.date(y, 11, 30), "St Andrew’s Day")
    pair(out, dt.date(y, 12, 25), "Christmas Day", dt.date(y, 12, 26), "Boxing Day")
    for d, t in one_offs.get(y, []):
        out[d] = t
    return dict(sorted(out.items()))


def check_against_govuk():
    """Every year the official feed covers fully: the same days. Returns the
    feed's own lists, by region and year."""
    feed = json.loads((ROOT / "fixtures/holidays/govuk-bank-holidays.json").read_text())
    covered = {}
    for region in REGIONS:
        events = feed[region]["events"]
        years = sorted({int(e["date"][:4]) for e in events})
        official = {}
        for e in events:
            official.setdefault(int(e["date"][:4]), {})[dt.date.fromisoformat(e["date"])] = e["title"]
        # The first year of the feed may start after 1 January: whole years only.
        full = [y for y in years if min(official[y]) <= dt.date(y, 1, 4)]
        for y in full:
            mine = holidays(region, y)
            if sorted(mine) != sorted(official[y]):
                sys.exit(f"{region} {y}: the rules give {sorted(mine)}, GOV.UK {sorted(official[y])}")
            # Titles are informative only: GOV.UK titles the same kind of
            # day differently in different years (2 January 2012 is "New
            # Year's Day", 2 January 2017 "New Year's Day (substitute day)").
        covered[region] = {y: official[y] for y in full}
    return covered


# ---------------------------------------------------------------- calendars

POLICIES = {}
for f in sorted((ROOT / "sla-policies").glob("*.toml")):
    POLICIES[f.stem] = tomllib.loads(f.read_text())


class Calendar:
    """A policy's base calendar (or 24x7) for a region: open intervals in UTC."""

    def __init__(self, policy, region, always=False):
        cal = POLICIES[policy]["calendar"] if policy else {}
        self.tz = zoneinfo.ZoneInfo(cal.get("time_zone", "Europe/London"))
        self.always = always or cal.get("always_open", False)
        self.region = region
        self.holidays = cal.get("bank_holidays", False) and not self.always
        hours = cal.get("hours", {})
        keys = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        self.week = [[] for _ in range(7)]
        for key, spans in hours.items():
            days = range(5) if key == "weekdays" else [keys.index(key)]
            for d in days:
                self.week[d] = [self._span(s) for s in spans]
        self._closed = {}
        self._cache = {}

    @staticmethod
    def _span(s):
        a, b = s.split("-")
        mins = lambda hm: int(hm[:2]) * 60 + int(hm[3:])
        return mins(a) * 60, mins(b) * 60

    def standard_day(self):
        return 86400 if self.always else max(sum(e - s for s, e in day) for day in self.week)

    def closed(self, d):
        if not self.holidays:
            return False
        if d.year not in self._closed:
            self._closed[d.year] = set(holidays(self.region, d.year))
        return d in self._closed[d.year]

    def local(self, d, secs):
        # A wall time on a day: skipped times take the offset before the gap,
        # repeated times their first occurrence (fold=0), as RFC 5545 reads them.
        t = dt.datetime.combine(d, dt.time()) + dt.timedelta(seconds=secs)
        return int(t.replace(tzinfo=self.tz, fold=0).timestamp())

    def day(self, d):
        if d not in self._cache:
            if self.always:
                self._cache[d] = [(self.local(d, 0), self.local(d + dt.timedelta(days=1), 0))]
            elif self.closed(d):
                self._cache[d] = []
            else:
                self._cache[d] = [(self.local(d, s), self.local(d, e)) for s, e in self.week[d.weekday()]]
        return self._cache[d]

    def intervals_from(self, t):
        d = dt.datetime.fromtimestamp(t, self.tz).date() - dt.timedelta(days=1)
        while True:
            for s, e in self.day(d):
                if e > t:
                    yield s, e
            d += dt.timedelta(days=1)

    def add(self, t, secs):
        for s, e in self.intervals_from(t):
            s = max(s, t)
            if secs == 0:
                return s
            if secs <= e - s:
                return s + secs
            secs -= e - s

    def between(self, a, b):
        total = 0
        if b <= a:
            return 0
        for s, e in self.intervals_from(a):
            if s >= b:
                return total
            total += max(0, min(e, b) - max(s, a))


def iso(t):
    return dt.datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ts(s):
    return int(dt.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp())


# ------------------------------------------------------------------ clocks


def seconds(target, day):
    if target == "none":
        return None
    total = 0
    for n, unit in re.findall(r"(\d+)(bd|h|m)", target):
        total += int(n) * {"bd": day, "h": 3600, "m": 60}[unit]
    return total


def clocks(policy, region, severity0, steps, as_of):
    """Both clocks of a history of short steps [(kind, at, arg)], as of `as_of`."""
    p = POLICIES[policy]
    stops = {"resolved", "closed", "cancelled"}
    status, responded, severity = "new", False, severity0
    first_response = resolved_at = None
    received = steps[0][1]
    segs = {"response": [], "resolve": []}

    def runs(clock):
        if status in stops:
            return False
        if clock == "response":
            return not responded and status not in p["pause"]["response"]
        return status not in p["pause"]["resolve"]

    def toggle(before, at):
        for c in ("response", "resolve"):
            after = runs(c)
            if not before[c] and after:
                segs[c].append([at, None])
            elif before[c] and not after:
                segs[c][-1][1] = at

    counted = 0
    for i, (kind, at, arg) in enumerate(steps):
        if at > as_of:
            break
        before = {"response": False, "resolve": False} if i == 0 else {c: runs(c) for c in segs}
        if kind == "agent_reply":
            if not responded:
                responded, first_response = True, at
        elif kind == "customer_reply" and status == "pending_customer":
            status = "open"
        elif kind == "severity":
            severity = arg
        elif kind in ("status", "pending_customer", "pending_third_party", "resolve", "reopen", "close", "cancel"):
            status = {"status": arg, "resolve": "resolved", "reopen": "open", "close": "closed", "cancel": "cancelled"}.get(
                kind, kind
            )
            if status == "resolved":
                resolved_at = at
                if not responded:
                    responded, first_response = True, at
        toggle(before, at)
        counted += 1
    targets = p["severity"][str(severity)]
    cal = Calendar(policy, region, always=targets.get("calendar") == "24x7")
    day = cal.standard_day()
    out = {"status": status, "severity": severity, "events_counted": counted}
    for c in ("response", "resolve"):
        s = segs[c]
        elapsed = sum(cal.between(a, min(b if b is not None else as_of, as_of)) for a, b in s)
        running = bool(s) and s[-1][1] is None
        target = seconds(targets[c], day)

        def crossing(x):
            cum = 0
            for a, b in s:
                if b is not None:
                    n = cal.between(a, b)
                    if cum + n >= x:
                        return cal.add(a, x - cum)
                    cum += n
                else:
                    return cal.add(a, x - cum)
            return None

        breached_at = due = None
        at_risk = []
        if target is not None:
            cross = crossing(target)
            if elapsed >= target:
                breached_at = cross
            if running:
                due = cross
            for pc in p["at_risk"]:
                x = crossing((target * pc + 99) // 100)
                at_risk.append({"percent": pc, "at": iso(x) if x is not None else None})
        if c == "response":
            stopped = first_response
        else:
            stopped = resolved_at if status in ("resolved", "closed") else None
        breached = breached_at is not None
        if running:
            state = "breached_running" if breached else "running"
        elif stopped is not None:
            state = "breached_met" if breached else "met"
        elif status == "cancelled":
            state = "cancelled"
        else:
            state = "breached_paused" if breached else "paused"
        out[c] = {
            "state": state,
            "elapsed_seconds": elapsed,
            "target_seconds": target,
            "due": iso(due) if due is not None else None,
            "breached_at": iso(breached_at) if breached_at is not None else None,
            "stopped_at": iso(stopped) if stopped is not None else None,
            "at_risk": at_risk,
        }
    return out


# ----------------------------------------------------------------- vectors


def holiday_vectors(covered):
    out = []
    for region in REGIONS:
        for y in range(1990, 2041):
            if y in covered[region]:
                days, source = covered[region][y], "govuk"
                reason = f"{region} {y} as GOV.UK's official feed lists it"
            else:
                days, source = holidays(region, y), "rules"
                reason = f"{region} {y} from the statutory rules and proclamations"
            out.append({
                "id": f"holidays/{region}/{y}",
                "reason": reason,
                "source": source,
                "region": region,
                "year": y,
                "expect": [{"date": d.isoformat(), "title": t} for d, t in sorted(days.items())],
            })
    return out


def last_sunday(y, month):
    d = dt.date(y, month, 31)
    while d.weekday() != 6:
        d -= dt.timedelta(days=1)
    return d


def calendar_vectors(rnd):
    """`calendar batch` questions at the instants where calendars go wrong:
    the BST changes, opening and closing times, holiday eves, weekends."""
    out = []
    london = zoneinfo.ZoneInfo("Europe/London")

    def local(d, h, m=0):
        return int(dt.datetime(d.year, d.month, d.day, h, m, tzinfo=london, fold=0).timestamp())

    moments = []
    for y in range(2024, 2031):
        for month, what in ((3, "BST starts"), (10, "BST ends")):
            sun = last_sunday(y, month)
            fri = sun - dt.timedelta(days=2)
            mon = sun + dt.timedelta(days=1)
            moments += [
                (local(fri, 16, 0), f"Friday 16:00 before {what} ({sun})"),
                (local(fri, 17, 29), f"a minute before Silver closes, the Friday before {what} ({sun})"),
                (local(sun, 0, 30), f"the night {what} ({sun}), before the change"),
                (local(sun, 3, 0), f"the night {what} ({sun}), after the change"),
                (local(mon, 8, 0), f"Silver opening on the Monday after {what} ({sun})"),
                (local(mon, 9, 0), f"Bronze opening on the Monday after {what} ({sun})"),
            ]
        for d, what in (
            (dt.date(y, 12, 24), "Christmas Eve"),
            (dt.date(y, 12, 31), "New Year's Eve"),
            (easter(y) - dt.timedelta(days=3), "the Thursday before Good Friday"),
        ):
            moments += [
                (local(d, 17, 0), f"{what} {y} at 17:00 (Bronze's close)"),
                (local(d, 17, 30), f"{what} {y} at 17:30 (Silver's close)"),
                (local(d, 12, 0), f"{what} {y} at noon"),
            ]
    calendars = ["silver", "bronze", "gold", "platinum", "24x7"]
    minutes = [1, 30, 59, 60, 61, 240, 479, 480, 481, 570, 571, 1440, 2400, 5700]
    for t, what in moments:
        for cal in calendars:
            for region in REGIONS:
                c = Calendar(None if cal == "24x7" else cal, region, always=(cal == "24x7"))
                m = rnd.choice(minutes)
                due = c.add(t, m * 60)
                boundary = " (lands on a closing time, which it keeps)" if any(
                    due == e for s, e in c.day(dt.datetime.fromtimestamp(due, c.tz).date())) else ""
                out.append({
                    "id": f"calendar/add/{len(out)}",
                    "reason": f"{m} business minutes on {cal} in {region} from {what}{boundary}",
                    "input": {"calendar": cal, "region": region, "start": iso(t), "minutes": m},
                    "expect": {"due": iso(due)},
                })
                span = rnd.choice([3600, 86400, 3 * 86400, 7 * 86400, 30 * 86400])
                u = t + span
                out.append({
                    "id": f"calendar/between/{len(out)}",
                    "reason": f"business minutes on {cal} in {region} from {what} for {span // 3600} hours of wall time",
                    "input": {"calendar": cal, "region": region, "from": iso(t), "to": iso(u)},
                    "expect": {"business_minutes": c.between(t, u) // 60},
                })
    return out


# Each step kind with its weight: a cancel ends a history, so it is rare.
STEP_KINDS = {"agent_reply": 6, "customer_reply": 4, "internal_note": 2, "pending_customer": 4,
              "pending_third_party": 2, "status_open": 3, "severity": 2, "resolve": 4, "reopen": 2,
              "close": 2, "cancel": 1}


def history_vectors(rnd):
    """Whole histories: random walks of the lifecycle from a receipt at an
    instant that matters, each with the clocks the semantics give."""
    out = []
    london = zoneinfo.ZoneInfo("Europe/London")
    starts = []
    for y in range(2025, 2030):
        for d in (dt.date(y, 12, 24), last_sunday(y, 3) - dt.timedelta(days=2), last_sunday(y, 10) - dt.timedelta(days=2),
                  easter(y) - dt.timedelta(days=3), dt.date(y, 8, 1), dt.date(y, 11, 27)):
            for h in (7, 8, 12, 16, 17, 22):
                starts.append((int(dt.datetime(d.year, d.month, d.day, h, 15, tzinfo=london).timestamp()),
                               f"received {d} at {h}:15 local"))
    for n in range(1500):
        policy = rnd.choice(sorted(POLICIES))
        region = rnd.choice(REGIONS)
        severity = rnd.randint(1, 4)
        t, where = rnd.choice(starts)
        status, final = "new", False
        steps = [("received", t, severity)]
        for _ in range(rnd.randint(0, 7)):
            t += rnd.choice([60, 900, 3600, 4 * 3600, 86400, 3 * 86400])
            kind = rnd.choices(list(STEP_KINDS), weights=list(STEP_KINDS.values()))[0]
            # Only steps that change something, as a desk would record them.
            if final and kind != "reopen":
                continue
            if kind == "reopen" and status != "resolved":
                continue
            if kind in ("pending_customer", "pending_third_party") and status == kind:
                continue
            if kind == "status_open" and status in ("open",):
                continue
            if kind == "close" and status != "resolved":
                continue
            if kind == "resolve" and status == "resolved":
                continue
            if kind == "severity":
                new = rnd.randint(1, 4)
                steps.append(("severity", t, new))
                continue
            if kind == "status_open":
                steps.append(("status", t, "open"))
                status = "open"
                continue
            steps.append((kind, t, None))
            if kind == "customer_reply" and status == "pending_customer":
                status = "open"
            elif kind in ("pending_customer", "pending_third_party"):
                status = kind
            elif kind == "resolve":
                status = "resolved"
            elif kind == "reopen":
                status = "open"
            elif kind in ("close", "cancel"):
                status = {"close": "closed", "cancel": "cancelled"}[kind]
                final = True
        as_of = t + rnd.choice([0, 3600, 86400, 5 * 86400])
        events = []
        for kind, at, arg in steps:
            e = {"type": kind, "at": iso(at)}
            if kind == "received":
                e["severity"] = arg
            elif kind == "severity":
                e["to"] = arg
            elif kind == "status":
                e["to"] = arg
            events.append(e)
        expect = clocks(policy, region, severity, steps, as_of)
        expect.pop("events_counted")
        kinds = ", ".join(k for k, _, _ in steps[1:]) or "nothing more"
        out.append({
            "id": f"history/{n}",
            "reason": f"{policy}, {region}, severity {severity}, {where}; then {kinds}",
            "input": {"policy": policy, "region": region, "as_of": iso(as_of), "events": events},
            "expect": expect,
        })
    return out


# Histories worked by hand (conformance/README.md shows the working): the
# generator stops if its own clocks disagree with these figures.
HAND = [
    ("history/hand/christmas-scotland-silver",
     "Silver, Scotland, severity 2 received Friday 24 December 2027 17:00: the weekend and both "
     "Christmas substitute days skipped, a pause for the customer, New Year's substitutes ahead",
     "silver", "scotland", 2,
     [("received", "2027-12-24T17:00:00Z", 2), ("agent_reply", "2027-12-29T09:00:00Z", None),
      ("pending_customer", "2027-12-29T10:00:00Z", None), ("customer_reply", "2027-12-30T14:00:00Z", None)],
     "2027-12-31T12:00:00Z",
     {"response": {"state": "breached_met", "elapsed_seconds": 5400, "breached_at": "2027-12-29T08:30:00Z"},
      "resolve": {"state": "running", "elapsed_seconds": 36000, "due": "2028-01-06T11:30:00Z"}}),
    ("history/hand/bronze-friday-afternoon",
     "Bronze, England and Wales, severity 2 received Friday 16:00 GMT: one business hour on Friday, "
     "three on Monday; replied Monday 10:00, met",
     "bronze", "england-and-wales", 2,
     [("received", "2026-11-27T16:00:00Z", 2), ("agent_reply", "2026-11-30T10:00:00Z", None)],
     "2026-11-30T15:00:00Z",
     {"response": {"state": "met", "elapsed_seconds": 7200, "stopped_at": "2026-11-30T10:00:00Z"},
      "resolve": {"state": "running", "elapsed_seconds": 3600 + 6 * 3600}}),
    ("history/hand/severity-raised-from-the-start",
     "Silver, England and Wales: severity 3 raised to 1 two business hours in; the 1-hour response "
     "target applies from the original start, so it breached at the first hour",
     "silver", "england-and-wales", 3,
     [("received", "2026-12-01T09:00:00Z", 3), ("severity", "2026-12-01T11:00:00Z", 1)],
     "2026-12-01T11:00:00Z",
     {"severity": 1,
      "response": {"state": "breached_running", "elapsed_seconds": 7200, "breached_at": "2026-12-01T10:00:00Z"}}),
    ("history/hand/closing-time",
     "Silver, England and Wales, severity 3 received Thursday 15:30 GMT: the 2-hour response target "
     "is reached exactly at 17:30, the close, and stays there",
     "silver", "england-and-wales", 3,
     [("received", "2026-12-03T15:30:00Z", 3)],
     "2026-12-03T15:30:00Z",
     {"response": {"state": "running", "due": "2026-12-03T17:30:00Z"}}),
]


def hand_vectors():
    out = []
    for vid, reason, policy, region, severity, steps, as_of, want in HAND:
        parsed = [(k, ts(at), arg) for k, at, arg in steps]
        got = clocks(policy, region, severity, parsed, ts(as_of))
        got.pop("events_counted")
        for key, value in want.items():
            if isinstance(value, dict):
                for k, v in value.items():
                    if got[key][k] != v:
                        sys.exit(f"{vid}: {key}.{k} worked by hand is {v}, the generator gives {got[key][k]}")
            elif got[key] != value:
                sys.exit(f"{vid}: {key} worked by hand is {value}, the generator gives {got[key]}")
        events = []
        for k, at, arg in steps:
            e = {"type": k, "at": at}
            if k == "received":
                e["severity"] = arg
            elif k == "severity":
                e["to"] = arg
            events.append(e)
        out.append({"id": vid, "reason": reason, "checked": "by hand",
                    "input": {"policy": policy, "region": region, "as_of": as_of, "events": events},
                    "expect": got})
    return out


def main():
    covered = check_against_govuk()
    rnd = random.Random(20261201)
    OUT.mkdir(parents=True, exist_ok=True)
    files = {
        "holidays.jsonl": holiday_vectors(covered),
        "calendar.jsonl": calendar_vectors(rnd),
        "histories.jsonl": hand_vectors() + history_vectors(rnd),
    }
    for name, vectors in files.items():
        with open(OUT / name, "w", encoding="utf-8") as f:
            for v in vectors:
                f.write(json.dumps(v, ensure_ascii=False, sort_keys=False) + "\n")
        print(f"{name}: {len(vectors)} vectors")


if __name__ == "__main__":
    main()
