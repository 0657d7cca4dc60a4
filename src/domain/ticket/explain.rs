//! "Why is it due then?": a clock's figures taken apart. For each clock,
//! the business time counted (each open interval of its calendar while the
//! clock ran, with a running total), every stretch skipped and why (outside
//! hours, not a working day, the named bank holiday, paused in a status,
//! stopped until a reopen), the severity changes that apply from the
//! receipt, and where the running total reaches the target. While a clock
//! runs, the intervals still to count up to its due instant are listed as
//! projected, so a due instant after a holiday shows the holiday.
//!
//! The figures are the clock's own (`clock::sla`); the intervals are the
//! calendar's own, so their total is the elapsed time and the crossing is
//! the due or breach instant. `tests/sla_explain.rs` holds both to that
//! over generated histories, and a golden explanation for Christmas.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use chrono_tz::Tz;
use serde::Serialize;

use super::clock::{ClockState, ClockView, Segments, SlaError, segments, sla};
use super::decide::{EventKind, SlaContext, Ticket};
use crate::domain::calendar::{Calendar, WeeklyHours};
use crate::domain::holidays::{Holidays, Region};
use crate::domain::policy::CalendarChoice;
use crate::domain::vocabulary::{ClockKind, Severity, Status};

/// At most this many intervals are listed per clock (counted and projected
/// together), so an explanation of a ticket open for years stays bounded;
/// the totals are still of every interval.
pub const MAX_INTERVALS: usize = 400;

/// Both clocks of a ticket, explained as of an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Explanation {
    pub as_of: DateTime<Utc>,
    pub policy: String,
    pub policy_version: String,
    pub severity: Severity,
    pub received_at: DateTime<Utc>,
    /// Each applies from the receipt: the clocks are measured on the
    /// current severity's targets and calendar over the whole history.
    pub severity_changes: Vec<SeverityChange>,
    pub clocks: Vec<ClockExplanation>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SeverityChange {
    pub at: DateTime<Utc>,
    pub from: Severity,
    pub to: Severity,
}

/// One clock taken apart.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockExplanation {
    pub kind: ClockKind,
    /// The calendar this severity's clocks count in.
    pub calendar: CalendarChoice,
    pub state: ClockState,
    pub target_seconds: Option<i64>,
    pub elapsed_seconds: i64,
    /// Target less elapsed, while short of it and the clock can still run.
    pub remaining_seconds: Option<i64>,
    pub due: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    /// The business time counted, in order, then (while running) the time
    /// still to count up to the due instant.
    pub counted: Vec<Counted>,
    /// Intervals past `MAX_INTERVALS`, not listed.
    pub intervals_not_listed: usize,
    pub gaps: Vec<Gap>,
    /// While the clock is paused: since when, in which status (open-ended,
    /// so not among the gaps).
    pub paused: Option<Pause>,
    /// Where the running total reaches the target: the due or breach instant.
    pub crossing: Option<Crossing>,
}

/// An open interval of the calendar while the clock ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Counted {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub business_seconds: i64,
    /// The clock's total at `to`.
    pub running_total: i64,
    /// After `as_of`: what the clock will count if nothing changes.
    pub projected: bool,
}

/// A stretch the clock did not count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[serde(flatten)]
    pub why: Why,
    pub projected: bool,
}

/// A pause still going on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pause {
    pub since: DateTime<Utc>,
    pub status: Status,
}

/// Why a stretch was not counted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(tag = "why", rename_all = "snake_case")]
pub enum Why {
    /// A working day, before opening or after closing.
    OutsideHours,
    /// A day the policy's hours have none (a weekend).
    NotAWorkingDay,
    BankHoliday {
        name: String,
    },
    /// The ticket was in a status the policy pauses this clock in.
    Paused {
        status: Status,
    },
    /// The clock had stopped (resolved) and ran again on a reopen.
    Stopped {
        status: Status,
    },
}

impl Why {
    /// In words, for staff or (`to_customer`) for the customer, whose
    /// wait is "waiting on you".
    pub fn words(&self, to_customer: bool) -> String {
        match self {
            Why::OutsideHours => "outside business hours".into(),
            Why::NotAWorkingDay => "not a working day".into(),
            Why::BankHoliday { name } => format!("bank holiday: {name}"),
            Why::Paused { status } => waiting(*status, to_customer),
            Why::Stopped { status } => format!("{} until reopened", status.as_str().replace('_', " ")),
        }
    }
}

/// A pause in words: on whom the ticket waits.
pub fn waiting(status: Status, to_customer: bool) -> String {
    match (status, to_customer) {
        (Status::PendingCustomer, true) => "waiting on you".into(),
        (Status::PendingCustomer, false) => "waiting on the customer".into(),
        (Status::PendingThirdParty, _) => "waiting on a supplier".into(),
        (other, _) => format!("paused while {}", other.as_str().replace('_', " ")),
    }
}

/// The arithmetic of the due (or breach) instant: the target is reached
/// `target_seconds − counted_before` seconds into the interval from
/// `interval_from`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Crossing {
    pub target_seconds: i64,
    pub counted_before: i64,
    pub interval_from: DateTime<Utc>,
    pub into_interval_seconds: i64,
    pub at: DateTime<Utc>,
}

fn ts(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// Explains both clocks of `ticket` as at `as_of`. `holidays` and `region`
/// name the bank holidays the business calendar skips (as `ctx`'s calendars
/// were compiled from them).
pub fn explain(
    ticket: &Ticket,
    ctx: &SlaContext,
    holidays: &Holidays,
    region: Region,
    as_of: DateTime<Utc>,
) -> Result<Explanation, SlaError> {
    let view = sla(ticket, ctx, as_of)?;
    let (response, resolve) = segments(ticket, ctx);
    let choice = ctx.policy.targets(ticket.severity).calendar;
    let cal = ctx.calendar(ticket.severity);
    let names = Closed {
        tz: ctx.policy.time_zone,
        hours: &ctx.policy.hours,
        holidays: if ctx.policy.bank_holidays && choice == CalendarChoice::Business {
            holiday_names(holidays, region, ticket.received_at, as_of)
        } else {
            BTreeMap::new()
        },
        choice,
    };
    let statuses = status_timeline(ticket);
    let clocks = [(&view.response, &response), (&view.resolve, &resolve)]
        .into_iter()
        .map(|(v, segs)| clock(v, segs, cal, &names, &statuses, choice, as_of))
        .collect::<Result<Vec<_>, _>>()?;
    let severity_changes = ticket
        .events
        .iter()
        .filter_map(|e| match e.kind {
            EventKind::SeverityChanged { from, to } => Some(SeverityChange { at: e.at, from, to }),
            _ => None,
        })
        .collect();
    Ok(Explanation {
        as_of,
        policy: ticket.policy.clone(),
        policy_version: ticket.policy_version.clone(),
        severity: ticket.severity,
        received_at: ticket.received_at,
        severity_changes,
        clocks,
    })
}

/// The bank holidays by local date over the years a history (and a due
/// instant up to a year on) can touch.
fn holiday_names(
    holidays: &Holidays,
    region: Region,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> BTreeMap<NaiveDate, String> {
    holidays
        .list(region, from.year() - 1, to.year() + 2)
        .into_iter()
        .map(|h| (h.date, h.title))
        .collect()
}

/// (instant, status from then on), in event order.
fn status_timeline(ticket: &Ticket) -> Vec<(i64, Status)> {
    let mut out = vec![(ticket.received_at.timestamp(), Status::New)];
    for e in &ticket.events {
        if let EventKind::StatusChanged { to, .. } = e.kind {
            out.push((e.at.timestamp(), to));
        }
    }
    out
}

fn status_at(timeline: &[(i64, Status)], t: i64) -> Status {
    let i = timeline.partition_point(|&(at, _)| at <= t);
    timeline[i.saturating_sub(1)].1
}

/// What a calendar's closed time is called.
struct Closed<'a> {
    tz: Tz,
    hours: &'a WeeklyHours,
    holidays: BTreeMap<NaiveDate, String>,
    choice: CalendarChoice,
}

impl Closed<'_> {
    /// `[from, to)` of closed calendar time, split into local days and
    /// named, neighbours with the same name merged.
    fn name(&self, from: i64, to: i64, projected: bool, out: &mut Vec<Gap>) {
        let mut at = from;
        while at < to {
            let local = ts(at).with_timezone(&self.tz).date_naive();
            let next_day = local.succ_opt().unwrap_or(local);
            let midnight =
                crate::domain::local_time::compatible(self.tz, next_day.and_time(NaiveTime::MIN)).timestamp();
            let end = midnight.min(to).max(at + 1);
            let why = if self.choice == CalendarChoice::Always {
                Why::OutsideHours
            } else if let Some(name) = self.holidays.get(&local) {
                Why::BankHoliday { name: name.clone() }
            } else if self
                .hours
                .day(local.weekday().num_days_from_monday() as usize)
                .is_empty()
            {
                Why::NotAWorkingDay
            } else {
                Why::OutsideHours
            };
            match out.last_mut() {
                Some(last) if last.why == why && last.to == ts(at) && last.projected == projected => {
                    last.to = ts(end);
                }
                _ => out.push(Gap {
                    from: ts(at),
                    to: ts(end),
                    why,
                    projected,
                }),
            }
            at = end;
        }
    }
}

/// Lists the open intervals of `[from, to)`, naming the closed time between
/// them; returns the business seconds of the whole stretch.
#[allow(clippy::too_many_arguments)]
fn walk(
    cal: &Calendar,
    names: &Closed,
    from: i64,
    to: i64,
    projected: bool,
    total: &mut i64,
    counted: &mut Vec<Counted>,
    not_listed: &mut usize,
    gaps: &mut Vec<Gap>,
) -> Result<(), SlaError> {
    if to <= from {
        return Ok(());
    }
    let room = MAX_INTERVALS.saturating_sub(counted.len());
    let intervals = if room == 0 {
        Vec::new()
    } else {
        cal.open_intervals(ts(from), ts(to), room)?
    };
    let mut cursor = from;
    for &(a, b) in &intervals {
        let (a, b) = (a.timestamp(), b.timestamp());
        if a > cursor {
            names.name(cursor, a, projected, gaps);
        }
        *total += b - a;
        counted.push(Counted {
            from: ts(a),
            to: ts(b),
            business_seconds: b - a,
            running_total: *total,
            projected,
        });
        cursor = b;
    }
    let rest = cal.between_seconds(cursor, to)?;
    if rest == 0 {
        names.name(cursor, to, projected, gaps);
    } else {
        // Past the cap: the rest is counted, not listed.
        *total += rest;
        *not_listed += cal.open_intervals(ts(cursor), ts(to), usize::MAX)?.len();
    }
    Ok(())
}

fn clock(
    v: &ClockView,
    segs: &Segments,
    cal: &Calendar,
    names: &Closed,
    statuses: &[(i64, Status)],
    choice: CalendarChoice,
    as_of: DateTime<Utc>,
) -> Result<ClockExplanation, SlaError> {
    let now = as_of.timestamp();
    let mut counted = Vec::new();
    let mut gaps = Vec::new();
    let mut not_listed = 0;
    let mut total = 0;
    let mut previous_end: Option<i64> = None;
    for &(s, e) in segs {
        if let Some(pe) = previous_end
            && s > pe
        {
            let status = status_at(statuses, pe);
            let why = if status.stops_clocks() {
                Why::Stopped { status }
            } else {
                Why::Paused { status }
            };
            gaps.push(Gap {
                from: ts(pe),
                to: ts(s),
                why,
                projected: false,
            });
        }
        let end = e.unwrap_or(now).min(now);
        walk(
            cal,
            names,
            s.min(end),
            end,
            false,
            &mut total,
            &mut counted,
            &mut not_listed,
            &mut gaps,
        )?;
        previous_end = e;
    }
    // A clock paused now: since its last stop, in the status then.
    let paused = match (v.state, previous_end) {
        (ClockState::Paused | ClockState::BreachedPaused, Some(pe)) => Some(Pause {
            since: ts(pe),
            status: status_at(statuses, pe),
        }),
        _ => None,
    };
    // Running short of the target: what is still to count, up to the due instant.
    if let (Some(due), true) = (v.due, v.due.is_some_and(|d| d > as_of)) {
        walk(
            cal,
            names,
            now,
            due.timestamp(),
            true,
            &mut total,
            &mut counted,
            &mut not_listed,
            &mut gaps,
        )?;
    }
    let crossing = v.target_seconds.and_then(|target| {
        let at = v.breached_at.or(v.due)?;
        let i = counted.iter().position(|c| c.from < at && at <= c.to)?;
        let c = &counted[i];
        let counted_before = c.running_total - c.business_seconds;
        Some(Crossing {
            target_seconds: target,
            counted_before,
            interval_from: c.from,
            into_interval_seconds: target - counted_before,
            at,
        })
    });
    Ok(ClockExplanation {
        kind: v.kind,
        calendar: choice,
        state: v.state,
        target_seconds: v.target_seconds,
        elapsed_seconds: v.elapsed_seconds,
        // Only a clock that can still run has time to go.
        remaining_seconds: v
            .target_seconds
            .map(|t| t - v.elapsed_seconds)
            .filter(|r| *r > 0 && matches!(v.state, ClockState::Running | ClockState::Paused)),
        due: v.due,
        breached_at: v.breached_at,
        stopped_at: v.stopped_at,
        counted,
        intervals_not_listed: not_listed,
        gaps,
        paused,
        crossing,
    })
}
