//! Availability: the share of a month the platform was up for an
//! organisation, measured 24x7 as the service listing guarantees it.
//!
//! Months are Europe/London calendar months: they begin at local midnight
//! on the 1st, so October (the clocks go back) is 745 hours long and March
//! (they go forward) 743. Outages that overlap are merged before they are
//! counted, an outage spanning a month's end is split at the boundary, and
//! an outage still open counts up to the instant the caller says it is now
//! (or the month's end, whichever is first).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::London;
use serde::{Deserialize, Serialize};

/// A calendar month as Europe/London reckons it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i32,
    month: u32,
}

impl Month {
    /// The month, if `month` is 1 to 12.
    pub fn new(year: i32, month: u32) -> Option<Month> {
        ((1..=12).contains(&month) && (1990..=2100).contains(&year)).then_some(Month { year, month })
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month of the year, 1 to 12.
    pub fn month(&self) -> u32 {
        self.month
    }

    /// The month holding `t` in Europe/London.
    pub fn containing(t: DateTime<Utc>) -> Month {
        let local = t.with_timezone(&London);
        Month {
            year: local.year(),
            month: local.month(),
        }
    }

    /// Its first day.
    pub fn first_day(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, self.month, 1).expect("validated month")
    }

    /// The month after.
    pub fn next(&self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The month before.
    pub fn previous(&self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    /// Local midnight on the 1st, as an instant.
    pub fn start(&self) -> DateTime<Utc> {
        day_start(self.first_day())
    }

    /// The instant the next month starts (the end is exclusive).
    pub fn end(&self) -> DateTime<Utc> {
        self.next().start()
    }

    /// Real seconds in the month: 745 hours for October, 743 for March.
    pub fn seconds(&self) -> i64 {
        (self.end() - self.start()).num_seconds()
    }

    /// Days of the month, 1st first.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> {
        let first = self.first_day();
        let next = self.next().first_day();
        first.iter_days().take_while(move |d| *d < next)
    }
}

/// Local midnight at the start of `day` in Europe/London, as an instant.
/// Midnight always exists there (the clocks change at 01:00 UTC).
pub fn day_start(day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).expect("midnight");
    London
        .from_local_datetime(&midnight)
        .earliest()
        .expect("midnight exists in Europe/London")
        .with_timezone(&Utc)
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// Text that is not a month in the form YYYY-MM.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a month: expected YYYY-MM, for example 2026-10")]
pub struct MonthSyntax(pub String);

impl FromStr for Month {
    type Err = MonthSyntax;
    fn from_str(s: &str) -> Result<Month, MonthSyntax> {
        let bad = || MonthSyntax(s.to_string());
        let (y, m) = s.split_once('-').ok_or_else(bad)?;
        if y.len() != 4 || m.len() != 2 {
            return Err(bad());
        }
        let year = y.parse().map_err(|_| bad())?;
        let month = m.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }
}

impl Serialize for Month {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Month {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Month, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// What kind of unavailability, as the service's status page names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageKind {
    PlannedMaintenance,
    EmergencyMaintenance,
    PlatformIssue,
}

impl OutageKind {
    /// Every kind, in the order reports list them.
    pub const ALL: [OutageKind; 3] = [
        OutageKind::PlannedMaintenance,
        OutageKind::EmergencyMaintenance,
        OutageKind::PlatformIssue,
    ];

    /// The kind's name as stored and shown.
    pub fn name(&self) -> &'static str {
        match self {
            OutageKind::PlannedMaintenance => "planned_maintenance",
            OutageKind::EmergencyMaintenance => "emergency_maintenance",
            OutageKind::PlatformIssue => "platform_issue",
        }
    }
}

impl FromStr for OutageKind {
    type Err = String;
    fn from_str(s: &str) -> Result<OutageKind, String> {
        OutageKind::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| {
            format!("unknown outage kind '{s}': expected planned_maintenance, emergency_maintenance or platform_issue")
        })
    }
}

/// A period the platform was unavailable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    pub id: i64,
    pub kind: OutageKind,
    pub start: DateTime<Utc>,
    /// None while it is still going on.
    pub end: Option<DateTime<Utc>>,
    /// When customers were told of it.
    pub notified_at: Option<DateTime<Utc>>,
}

impl Outage {
    /// Whether it counts against availability. Only planned maintenance
    /// announced at least `notice` before it began is left out; emergency
    /// maintenance, platform issues and maintenance announced late count.
    pub fn counts(&self, notice: Duration) -> bool {
        match (self.kind, self.notified_at) {
            (OutageKind::PlannedMaintenance, Some(told)) => told > self.start - notice,
            _ => true,
        }
    }
}

/// One outage as it bears on one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OutageInMonth {
    pub id: i64,
    pub kind: OutageKind,
    /// Its start and end cut to the month (and to `as_of` while open).
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Length within the month, before merging with others.
    pub seconds: i64,
    pub counted: bool,
    /// Still open at `as_of`.
    pub ongoing: bool,
}

/// A month's availability.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Availability {
    pub month: Month,
    pub seconds_in_month: i64,
    /// Counted outages merged, so time covered by two counts once.
    pub downtime_seconds: i64,
    pub outages: Vec<OutageInMonth>,
}

/// Thousandths of a percent of `seconds` that were not `downtime`, rounded
/// down: 99,871 is 99.871 %. Rounded down so that a figure shown as meeting
/// a band does meet it. A window of no time is wholly up.
pub fn millipercent(seconds: i64, downtime: i64) -> i64 {
    if seconds <= 0 {
        return 100_000;
    }
    (seconds - downtime) * 100_000 / seconds
}

/// "99.871" (three decimals, rounded down) for thousandths of a percent.
pub fn percent_text(millipercent: i64) -> String {
    format!("{}.{:03}", millipercent / 1000, millipercent % 1000)
}

impl Availability {
    /// Thousandths of a percent, rounded down: 99,871 is 99.871 %.
    pub fn millipercent(&self) -> i64 {
        millipercent(self.seconds_in_month, self.downtime_seconds)
    }

    /// "99.871" (three decimals, rounded down).
    pub fn percent_text(&self) -> String {
        percent_text(self.millipercent())
    }

    /// Exactly (no rounding): whether availability is below `millipercent`.
    pub fn is_below(&self, millipercent: i64) -> bool {
        i128::from(self.seconds_in_month - self.downtime_seconds) * 100_000
            < i128::from(millipercent) * i128::from(self.seconds_in_month)
    }
}

/// The outages as they bear on the window `[from, to)`: each one's share
/// (cut to the window, and to `as_of` while open), and the counted ones'
/// time merged, so time covered by two counts once. A month's availability
/// and a status page's day are both this, so they cannot disagree.
pub fn downtime_in(
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    outages: &[Outage],
    notice: Duration,
    as_of: DateTime<Utc>,
) -> (i64, Vec<OutageInMonth>) {
    let mut shares = Vec::new();
    let mut counted: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::new();
    for o in outages {
        let until = o.end.unwrap_or(as_of).min(as_of);
        let (f, t) = (o.start.max(from), until.min(to));
        if t <= f {
            continue;
        }
        let counts = o.counts(notice);
        if counts {
            counted.push((f, t));
        }
        shares.push(OutageInMonth {
            id: o.id,
            kind: o.kind,
            from: f,
            to: t,
            seconds: (t - f).num_seconds(),
            counted: counts,
            ongoing: o.end.is_none_or(|e| e > as_of),
        });
    }
    shares.sort_by_key(|s| (s.from, s.id));
    counted.sort();
    let mut downtime = 0;
    let mut current: Option<(DateTime<Utc>, DateTime<Utc>)> = None;
    for (f, t) in counted {
        current = match current {
            Some((cf, ct)) if f <= ct => Some((cf, ct.max(t))),
            Some((cf, ct)) => {
                downtime += (ct - cf).num_seconds();
                Some((f, t))
            }
            None => Some((f, t)),
        };
    }
    if let Some((cf, ct)) = current {
        downtime += (ct - cf).num_seconds();
    }
    (downtime, shares)
}

/// Availability for `month` from the outages that concern the organisation.
/// `notice` is how far ahead planned maintenance must be announced to be
/// left out; `as_of` is now (an open outage counts up to it).
pub fn availability(month: Month, outages: &[Outage], notice: Duration, as_of: DateTime<Utc>) -> Availability {
    let (downtime, shares) = downtime_in(month.start(), month.end(), outages, notice, as_of);
    Availability {
        month,
        seconds_in_month: month.seconds(),
        downtime_seconds: downtime,
        outages: shares,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn m(s: &str) -> Month {
        s.parse().unwrap()
    }

    #[test]
    fn london_months_have_their_true_length() {
        assert_eq!(m("2026-10").seconds(), 745 * 3600, "the clocks go back");
        assert_eq!(m("2026-03").seconds(), 743 * 3600, "the clocks go forward");
        assert_eq!(m("2026-11").seconds(), 720 * 3600);
        assert_eq!(m("2028-02").seconds(), 29 * 24 * 3600);
        assert_eq!(m("2026-10").start(), at("2026-09-30T23:00:00Z"), "midnight BST");
        assert_eq!(m("2026-10").end(), at("2026-11-01T00:00:00Z"), "midnight GMT");
        assert_eq!(Month::containing(at("2026-09-30T23:30:00Z")), m("2026-10"));
        assert_eq!(m("2026-12").next(), m("2027-01"));
        assert_eq!(m("2027-01").previous(), m("2026-12"));
        assert_eq!(m("2026-02").days().count(), 28);
    }

    #[test]
    fn months_are_read_strictly() {
        for bad in ["2026-13", "2026-1", "26-10", "2026/10", "", "2026-00", "october"] {
            let e = bad.parse::<Month>().unwrap_err();
            assert!(e.to_string().contains("expected YYYY-MM"), "{bad}: {e}");
        }
    }

    fn outage(id: i64, kind: OutageKind, start: &str, end: Option<&str>, told: Option<&str>) -> Outage {
        Outage {
            id,
            kind,
            start: at(start),
            end: end.map(at),
            notified_at: told.map(at),
        }
    }

    #[test]
    fn overlaps_merge_and_month_ends_split() {
        use OutageKind::*;
        let week = Duration::days(5);
        let outages = [
            // Spans the end of October: only its October part counts here.
            outage(
                1,
                PlatformIssue,
                "2026-10-31T23:00:00Z",
                Some("2026-11-01T01:00:00Z"),
                None,
            ),
            // Two that overlap: 10:00–11:00 and 10:30–12:00 are 2 h, not 2 h 30.
            outage(
                2,
                EmergencyMaintenance,
                "2026-10-05T10:00:00Z",
                Some("2026-10-05T11:00:00Z"),
                None,
            ),
            outage(
                3,
                PlatformIssue,
                "2026-10-05T10:30:00Z",
                Some("2026-10-05T12:00:00Z"),
                None,
            ),
            // Planned and told a week ahead: left out, even where it
            // overlaps the platform issue above.
            outage(
                4,
                PlannedMaintenance,
                "2026-10-05T11:30:00Z",
                Some("2026-10-05T14:00:00Z"),
                Some("2026-09-28T09:00:00Z"),
            ),
            // Planned but told the day before: counts.
            outage(
                5,
                PlannedMaintenance,
                "2026-10-20T02:00:00Z",
                Some("2026-10-20T02:30:00Z"),
                Some("2026-10-19T09:00:00Z"),
            ),
        ];
        let a = availability(m("2026-10"), &outages, week, at("2026-12-01T00:00:00Z"));
        assert_eq!(a.seconds_in_month, 745 * 3600);
        assert_eq!(a.downtime_seconds, 3600 + 2 * 3600 + 1800);
        // (2,682,000 − 12,600) / 2,682,000 = 99.5302…%
        assert_eq!(a.millipercent(), 99_530);
        assert_eq!(a.percent_text(), "99.530");
        assert!(a.is_below(99_900) && a.is_below(99_531) && !a.is_below(99_530));
        let counted: Vec<(i64, bool, i64)> = a.outages.iter().map(|o| (o.id, o.counted, o.seconds)).collect();
        assert_eq!(
            counted,
            [
                (2, true, 3600),
                (3, true, 5400),
                (4, false, 9000),
                (5, true, 1800),
                (1, true, 3600)
            ]
        );
        let november = availability(m("2026-11"), &outages, week, at("2026-12-01T00:00:00Z"));
        assert_eq!(november.downtime_seconds, 3600, "the rest of outage 1");
    }

    #[test]
    fn an_open_outage_counts_up_to_now_or_the_month_end() {
        let o = [outage(7, OutageKind::PlatformIssue, "2026-03-31T22:00:00Z", None, None)];
        let now = at("2026-03-31T22:30:00Z");
        let a = availability(m("2026-03"), &o, Duration::days(5), now);
        assert_eq!(a.downtime_seconds, 1800);
        assert!(a.outages[0].ongoing);
        // March ends at 23:00 UTC (midnight BST): an hour counts in March
        // and the rest in April.
        let later = at("2026-04-01T03:00:00Z");
        assert_eq!(
            availability(m("2026-03"), &o, Duration::days(5), later).downtime_seconds,
            3600
        );
        assert_eq!(
            availability(m("2026-04"), &o, Duration::days(5), later).downtime_seconds,
            4 * 3600
        );
    }

    #[test]
    fn a_month_without_outages_is_wholly_available() {
        let a = availability(m("2026-02"), &[], Duration::days(5), at("2026-03-01T00:00:00Z"));
        assert_eq!(a.percent_text(), "100.000");
        assert!(!a.is_below(100_000));
    }
}
