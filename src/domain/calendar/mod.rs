//! Business calendars: a time zone, weekly working intervals in local wall
//! time and a set of closed dates, answering "is it open", "when does it
//! next open", "when has this much business time elapsed" and "how much
//! business time lies between these two instants".
//!
//! A calendar is compiled once into a sorted table of its open intervals in
//! UTC seconds with a running total of business seconds, over a fixed span of
//! years. Every question is then a table look-up (a day index, then a short
//! scan or a binary search): no walking minute by minute, and the same
//! answer on the days British Summer Time starts and ends as on any other.
//! Touching intervals are merged, so a 24x7 calendar is one gapless interval
//! and midnight is not a closing time.
//!
//! Laws (tested with proptest in `tests/calendar_laws.rs`), for instants
//! inside the calendar's span and durations `d ≥ 0`:
//! - `between(t, add(t, d)) == d`;
//! - `add` is monotonic in `t` and in `d`;
//! - `add(t, d1 + d2) == add(add(t, d1), d2)` for `d2 > 0`;
//! - `between(a, c) == between(a, b) + between(b, c)` for `a ≤ b ≤ c`.
//!
//! Local times that a DST change skips or repeats are resolved as RFC 5545
//! does: a skipped time is read with the offset in force before the gap, a
//! repeated time means its first occurrence.
//!
//! Instants are whole seconds; sub-second parts are dropped.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

const DAY: i64 = 86_400;

/// A working interval within one local day, in seconds after local midnight;
/// `end` may be 86 400 (24:00).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct DayInterval {
    start: u32,
    end: u32,
}

/// Why a day's working hours were refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HoursError {
    #[error("expected HH:MM-HH:MM, found '{0}'")]
    Syntax(String),
    #[error("'{0}' ends before it starts")]
    Reversed(String),
    #[error("'{0}' overlaps '{1}'")]
    Overlap(String, String),
}

fn parse_hhmm(s: &str) -> Option<u32> {
    let (h, m) = s.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 3600 + m * 60)
}

impl DayInterval {
    /// Working hours from `start_secs` to `end_secs` after midnight; empty or
    /// reversed intervals are refused.
    pub fn new(start_secs: u32, end_secs: u32) -> Result<Self, HoursError> {
        let show = format!("{}-{}", fmt_hhmm(start_secs), fmt_hhmm(end_secs));
        if end_secs > DAY as u32 {
            return Err(HoursError::Syntax(show));
        }
        if end_secs <= start_secs {
            return Err(HoursError::Reversed(show));
        }
        Ok(Self {
            start: start_secs,
            end: end_secs,
        })
    }

    /// Parses `08:00-17:30`; `24:00` is allowed as an end.
    pub fn parse(s: &str) -> Result<Self, HoursError> {
        let (a, b) = s.split_once('-').ok_or_else(|| HoursError::Syntax(s.to_string()))?;
        let start = parse_hhmm(a).ok_or_else(|| HoursError::Syntax(s.to_string()))?;
        let end = parse_hhmm(b).ok_or_else(|| HoursError::Syntax(s.to_string()))?;
        if start == DAY as u32 {
            return Err(HoursError::Syntax(s.to_string()));
        }
        Self::new(start, end)
    }

    /// How many seconds the interval lasts.
    pub fn seconds(&self) -> u32 {
        self.end - self.start
    }
}

fn fmt_hhmm(secs: u32) -> String {
    format!("{:02}:{:02}", secs / 3600, secs % 3600 / 60)
}

impl fmt::Display for DayInterval {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", fmt_hhmm(self.start), fmt_hhmm(self.end))
    }
}

/// Working intervals for each weekday, Monday first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct WeeklyHours {
    days: [Vec<DayInterval>; 7],
}

impl WeeklyHours {
    /// Every day 00:00–24:00.
    pub fn always() -> Self {
        let all = vec![DayInterval {
            start: 0,
            end: DAY as u32,
        }];
        Self {
            days: std::array::from_fn(|_| all.clone()),
        }
    }

    /// The same intervals Monday to Friday, closed at weekends.
    pub fn weekdays(intervals: &[DayInterval]) -> Result<Self, HoursError> {
        let mut w = Self::default();
        for d in 0..5 {
            w.set_day(d, intervals.to_vec())?;
        }
        Ok(w)
    }

    /// Sets one weekday's intervals (0 = Monday); they must not overlap.
    pub fn set_day(&mut self, weekday: usize, mut intervals: Vec<DayInterval>) -> Result<(), HoursError> {
        intervals.sort();
        for pair in intervals.windows(2) {
            if pair[1].start < pair[0].end {
                return Err(HoursError::Overlap(pair[0].to_string(), pair[1].to_string()));
            }
        }
        self.days[weekday] = intervals;
        Ok(())
    }

    /// The working intervals of a weekday (0 is Monday), in order.
    pub fn day(&self, weekday: usize) -> &[DayInterval] {
        &self.days[weekday]
    }

    /// The week as people read it: runs of weekdays with the same hours,
    /// "Mon–Fri 09:00–17:00", or "every day, all day" for 24x7.
    pub fn summary(&self) -> String {
        const NAMES: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
        if *self == Self::always() {
            return "every day, all day".into();
        }
        let hours = |d: &[DayInterval]| {
            d.iter()
                .map(|i| i.to_string().replace('-', "–"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        let mut i = 0;
        while i < 7 {
            let mut j = i;
            while j + 1 < 7 && self.days[j + 1] == self.days[i] {
                j += 1;
            }
            if !self.days[i].is_empty() {
                let days = if i == j {
                    NAMES[i].to_string()
                } else {
                    format!("{}–{}", NAMES[i], NAMES[j])
                };
                parts.push(format!("{days} {}", hours(&self.days[i])));
            }
            i = j + 1;
        }
        if parts.is_empty() {
            "never open".into()
        } else {
            parts.join("; ")
        }
    }

    /// Length of the standard working day: the longest day of the week.
    /// This is what one business day (`1bd`) means on this calendar.
    pub fn standard_day_seconds(&self) -> u32 {
        self.days
            .iter()
            .map(|d| d.iter().map(DayInterval::seconds).sum::<u32>())
            .max()
            .unwrap_or(0)
    }

    /// Whether no day has working hours.
    pub fn is_empty(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }
}

/// What a calendar is made of, before compilation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarSpec {
    pub time_zone: Tz,
    pub hours: WeeklyHours,
    pub closed_dates: BTreeSet<NaiveDate>,
}

/// Why a calendar cannot answer: an instant outside the years it covers, or a
/// spec it cannot build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    #[error("{0:?} is outside the calendar's span ({1:?} to {2:?})")]
    OutOfRange(DateTime<Utc>, DateTime<Utc>, DateTime<Utc>),
    #[error("the result falls after the calendar's span ends ({0:?})")]
    BeyondSpan(DateTime<Utc>),
    #[error("negative duration")]
    NegativeDuration,
    #[error("the calendar has no business time left after {0}")]
    NeverOpens(DateTime<Utc>),
}

/// `[start, end)` of business time.
pub type Span = (DateTime<Utc>, DateTime<Utc>);

/// A compiled business calendar.
#[derive(Clone)]
pub struct Calendar {
    time_zone: Tz,
    span_start: i64,
    span_end: i64,
    /// Open intervals `[starts[i], ends[i])` in UTC seconds, sorted, disjoint and not touching.
    starts: Vec<i64>,
    ends: Vec<i64>,
    /// Business seconds before `starts[i]`; `cum_ends[i]` = that plus the interval's length.
    cum_starts: Vec<i64>,
    cum_ends: Vec<i64>,
    /// For UTC day `k` after `span_start` (floored to a UTC day): the first interval ending after that day starts.
    day_first: Vec<u32>,
    day_base: i64,
    standard_day: i64,
}

impl fmt::Debug for Calendar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Calendar")
            .field("time_zone", &self.time_zone)
            .field("span_start", &self.span_start)
            .field("span_end", &self.span_end)
            .field("intervals", &self.starts.len())
            .finish()
    }
}

fn to_ts(t: DateTime<Utc>) -> i64 {
    t.timestamp()
}

fn from_ts(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Local wall time to a UTC second, RFC 5545 style (see the module comment).
fn local_to_utc(tz: Tz, local: NaiveDateTime) -> i64 {
    crate::domain::local_time::compatible(tz, local).timestamp()
}

impl Calendar {
    /// Compiles a calendar for the local dates `first..=last`.
    pub fn compile(spec: &CalendarSpec, first: NaiveDate, last: NaiveDate) -> Calendar {
        let tz = spec.time_zone;
        let midnight = |d: NaiveDate| local_to_utc(tz, d.and_time(NaiveTime::MIN));
        let span_start = midnight(first);
        let span_end = midnight(last.succ_opt().unwrap_or(last));

        let mut starts: Vec<i64> = Vec::new();
        let mut ends: Vec<i64> = Vec::new();
        let mut date = first;
        while date <= last {
            if !spec.closed_dates.contains(&date) {
                let wd = date.weekday().num_days_from_monday() as usize;
                for iv in spec.hours.day(wd) {
                    let at = |secs: u32| {
                        let local = date.and_time(NaiveTime::MIN) + Duration::seconds(secs as i64);
                        local_to_utc(tz, local)
                    };
                    let (s, e) = (at(iv.start), at(iv.end));
                    if e <= s {
                        continue;
                    }
                    match ends.last_mut() {
                        Some(last_end) if *last_end >= s => *last_end = (*last_end).max(e),
                        _ => {
                            starts.push(s);
                            ends.push(e);
                        }
                    }
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }

        let mut cum_starts = Vec::with_capacity(starts.len());
        let mut cum_ends = Vec::with_capacity(starts.len());
        let mut total = 0i64;
        for (s, e) in starts.iter().zip(&ends) {
            cum_starts.push(total);
            total += e - s;
            cum_ends.push(total);
        }

        let day_base = span_start.div_euclid(DAY) * DAY;
        let days = ((span_end - day_base) / DAY + 2) as usize;
        let mut day_first = Vec::with_capacity(days);
        let mut idx = 0usize;
        for k in 0..days {
            let day_start = day_base + k as i64 * DAY;
            while idx < ends.len() && ends[idx] <= day_start {
                idx += 1;
            }
            day_first.push(idx as u32);
        }

        Calendar {
            time_zone: tz,
            span_start,
            span_end,
            starts,
            ends,
            cum_starts,
            cum_ends,
            day_first,
            day_base,
            standard_day: spec.hours.standard_day_seconds() as i64,
        }
    }

    /// The zone its working hours are read in.
    pub fn time_zone(&self) -> Tz {
        self.time_zone
    }

    /// Seconds in one business day (`1bd`) of this calendar.
    pub fn standard_day_seconds(&self) -> i64 {
        self.standard_day
    }

    /// The span of instants this calendar answers for: `[start, end)`.
    pub fn span(&self) -> (DateTime<Utc>, DateTime<Utc>) {
        (from_ts(self.span_start), from_ts(self.span_end))
    }

    fn check(&self, t: i64) -> Result<(), CalendarError> {
        if t < self.span_start || t > self.span_end {
            return Err(CalendarError::OutOfRange(
                from_ts(t),
                from_ts(self.span_start),
                from_ts(self.span_end),
            ));
        }
        Ok(())
    }

    /// Index of the first interval ending after `t` (may be `len`).
    #[inline]
    fn locate(&self, t: i64) -> usize {
        let k = ((t - self.day_base) / DAY) as usize;
        let mut i = self.day_first[k] as usize;
        while i < self.ends.len() && self.ends[i] <= t {
            i += 1;
        }
        i
    }

    /// Business seconds in the calendar before `t`.
    #[inline]
    fn cum_at(&self, t: i64) -> i64 {
        let i = self.locate(t);
        if i == self.starts.len() {
            return self.cum_ends.last().copied().unwrap_or(0);
        }
        self.cum_starts[i] + (t - self.starts[i]).max(0)
    }

    /// Whether `t` is inside an open interval (open at its start, closed at its end).
    pub fn is_open(&self, t: DateTime<Utc>) -> Result<bool, CalendarError> {
        let t = to_ts(t);
        self.check(t)?;
        let i = self.locate(t);
        Ok(i < self.starts.len() && self.starts[i] <= t)
    }

    fn next_open_ts(&self, t: i64) -> Option<i64> {
        let i = self.locate(t);
        (i < self.starts.len()).then(|| self.starts[i].max(t))
    }

    /// `t` itself if open, else the next opening; `None` if the calendar never opens again in its span.
    pub fn next_open(&self, t: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, CalendarError> {
        let ts = to_ts(t);
        self.check(ts)?;
        Ok(self.next_open_ts(ts).map(from_ts))
    }

    /// The instant at which `d` of business time has elapsed counting from `t`.
    /// If `t` is closed, counting starts at the next opening; a result that
    /// lands exactly on a closing time stays there.
    ///
    /// ```
    /// use chrono::{DateTime, Duration, NaiveDate, Utc};
    /// use sladesk::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
    ///
    /// let spec = CalendarSpec {
    ///     time_zone: chrono_tz::Europe::London,
    ///     hours: WeeklyHours::weekdays(&[DayInterval::parse("08:00-17:30").unwrap()]).unwrap(),
    ///     closed_dates: Default::default(),
    /// };
    /// let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    /// let cal = Calendar::compile(&spec, d("2026-01-01"), d("2026-12-31"));
    /// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    ///
    /// // Friday 16:30 GMT + 1h: the hour ends exactly at closing time, and stays there.
    /// assert_eq!(cal.add(t("2026-11-27T16:30:00Z"), Duration::hours(1)).unwrap(), t("2026-11-27T17:30:00Z"));
    /// // One more minute goes on to Monday 08:01.
    /// assert_eq!(cal.add(t("2026-11-27T16:30:00Z"), Duration::minutes(61)).unwrap(), t("2026-11-30T08:01:00Z"));
    /// // Monday 30 March 2026 is in BST: 08:00 local is 07:00 UTC.
    /// assert_eq!(cal.add(t("2026-03-27T17:30:00Z"), Duration::minutes(30)).unwrap(), t("2026-03-30T07:30:00Z"));
    /// ```
    pub fn add(&self, t: DateTime<Utc>, d: Duration) -> Result<DateTime<Utc>, CalendarError> {
        self.add_seconds(to_ts(t), d.num_seconds()).map(from_ts)
    }

    /// `add` on whole seconds: the form the clock and batch code use.
    pub fn add_seconds(&self, t: i64, d: i64) -> Result<i64, CalendarError> {
        self.check(t)?;
        if d < 0 {
            return Err(CalendarError::NegativeDuration);
        }
        let i = self.locate(t);
        if i == self.starts.len() {
            return Err(CalendarError::NeverOpens(from_ts(t)));
        }
        let s = self.starts[i].max(t);
        if d == 0 {
            return Ok(s);
        }
        let target = self.cum_starts[i] + (s - self.starts[i]) + d;
        // The first interval whose running total reaches the target. Most
        // targets are near, so gallop from `i` before the binary search.
        let n = self.cum_ends.len();
        let mut lo = i;
        let mut step = 1usize;
        let mut hi = i;
        while hi < n && self.cum_ends[hi] < target {
            lo = hi;
            hi = (hi + step).min(n);
            step *= 2;
        }
        let j = lo + self.cum_ends[lo..hi].partition_point(|&c| c < target);
        if j == n {
            return Err(CalendarError::BeyondSpan(from_ts(self.span_end)));
        }
        Ok(self.starts[j] + (target - self.cum_starts[j]))
    }

    /// The open intervals within `[from, until)`, clipped to it, at most
    /// `limit` of them: enough for a page to count business time down
    /// second by second without asking again.
    pub fn open_intervals(
        &self,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Result<Vec<Span>, CalendarError> {
        let (a, b) = (to_ts(from), to_ts(until));
        self.check(a)?;
        self.check(b)?;
        let mut out = Vec::new();
        let mut i = self.locate(a);
        while i < self.starts.len() && self.starts[i] < b && out.len() < limit {
            out.push((from_ts(self.starts[i].max(a)), from_ts(self.ends[i].min(b))));
            i += 1;
        }
        Ok(out)
    }

    /// Business time in `[a, b)`; zero when `b ≤ a`.
    ///
    /// ```
    /// use chrono::{DateTime, Duration, NaiveDate, Utc};
    /// use sladesk::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
    /// use sladesk::domain::holidays::{Holidays, Region};
    ///
    /// let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    /// let spec = CalendarSpec {
    ///     time_zone: chrono_tz::Europe::London,
    ///     hours: WeeklyHours::weekdays(&[DayInterval::parse("09:00-17:00").unwrap()]).unwrap(),
    ///     // England and Wales' bank holidays are closed.
    ///     closed_dates: Holidays::from_rules().dates(Region::EnglandAndWales, 2026, 2026),
    /// };
    /// let cal = Calendar::compile(&spec, d("2026-01-01"), d("2026-12-31"));
    /// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
    ///
    /// // Thursday 24 December 16:00 to Tuesday 29 December 10:00: Christmas
    /// // Day and Boxing Day (a Saturday, so the holiday is Monday 28th) are
    /// // closed, as is the weekend. One hour on Thursday, none on Friday
    /// // (Christmas Day), one on Tuesday.
    /// let span = cal.between(t("2026-12-24T16:00:00Z"), t("2026-12-29T10:00:00Z")).unwrap();
    /// assert_eq!(span, Duration::hours(2));
    /// assert!(!cal.is_open(t("2026-12-28T12:00:00Z")).unwrap());
    /// assert_eq!(cal.next_open(t("2026-12-24T17:00:00Z")).unwrap(), Some(t("2026-12-29T09:00:00Z")));
    /// ```
    pub fn between(&self, a: DateTime<Utc>, b: DateTime<Utc>) -> Result<Duration, CalendarError> {
        self.between_seconds(to_ts(a), to_ts(b)).map(Duration::seconds)
    }

    /// As [`Calendar::between`], on Unix seconds: the business seconds from `a`
    /// to `b`, zero if `b` is not after `a`.
    pub fn between_seconds(&self, a: i64, b: i64) -> Result<i64, CalendarError> {
        self.check(a)?;
        self.check(b)?;
        if b <= a {
            return Ok(0);
        }
        Ok(self.cum_at(b) - self.cum_at(a))
    }
}

#[cfg(test)]
mod tests;
