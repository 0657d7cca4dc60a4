//! The monthly SLA and service-credit report: assembled from what the core
//! computed for each ticket as of the month's end, the month's availability
//! and its credits. Pure: the loading is in `app::reports`, the renderings
//! (HTML, CSV) in `reports::render`.
//!
//! Which month a ticket counts in (stated in every report as well):
//! - a clock counts once, in the month its outcome was decided: the month
//!   it stopped within target (met), or the month it breached, whichever
//!   came first;
//! - a ticket is "raised" in the month it was received, "resolved" in the
//!   month it was resolved, and "open" at a month's end if it was neither
//!   resolved, closed nor cancelled then;
//! - times to respond and resolve are business time on the ticket's own
//!   calendar, over the clocks counted in the month that had stopped;
//! - paused time is wall time spent in the policy's pause statuses within
//!   the month.
//!
//! Each ticket is replayed from its events up to the month's end, so later
//! events (a reopen next month) do not change a closed month.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use super::availability::{Availability, Month};
use super::clock::{ClockKind, ClockState, ClockView};
use super::credits::Credits;
use super::ticket::{Severity, Status};

/// The rules above, as the report states them.
pub const COUNTING_RULES: [&str; 5] = [
    "A response or resolve clock counts once, in the month its outcome was decided: the month it stopped within target (met) or the month it breached, whichever came first.",
    "A ticket is raised in the month it was received, resolved in the month it was resolved, and open at the month's end if it was not resolved, closed or cancelled by then.",
    "Times to respond and to resolve are business time on the ticket's own calendar, over the clocks counted in the month that had stopped by its end.",
    "Paused time is wall-clock time spent in the policy's pause statuses within the month.",
    "Availability is measured 24x7 over the Europe/London month; planned maintenance announced at least the policy's notice period ahead is excluded. Percentages are rounded down; money is in pence, each credit line rounded half up once.",
];

/// One ticket as it stood at the month's end.
#[derive(Debug, Clone)]
pub struct TicketMonth {
    pub reference: String,
    pub organisation: String,
    pub severity: Severity,
    pub status: Status,
    pub received_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub response: ClockView,
    pub resolve: ClockView,
    pub paused_seconds: i64,
    pub reopens: u32,
}

/// How many tickets of a severity were raised and resolved in the month, and
/// how many were open at its end.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Volume {
    pub severity: u8,
    pub raised: u32,
    pub resolved: u32,
    pub open_at_end: u32,
}

/// How one clock did over the tickets counted: met, breached, and the business
/// time taken.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Compliance {
    pub met: u32,
    pub breached: u32,
    /// Met as a share of those counted, rounded down to 0.1; null when none counted.
    pub percent_met: Option<String>,
    pub mean_business_seconds: Option<i64>,
    pub median_business_seconds: Option<i64>,
}

/// Both clocks' compliance for one severity.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SeverityCompliance {
    pub severity: u8,
    pub response: Compliance,
    pub resolve: Compliance,
}

/// One breach in the month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BreachLine {
    pub reference: String,
    pub organisation: String,
    pub severity: u8,
    pub clock: ClockKind,
    /// The instant the target fell due: the breach.
    pub breached_at: DateTime<Utc>,
    /// Business time past the target: at the stop, or at the month's end
    /// while it still ran.
    pub late_business_seconds: i64,
    pub stopped: bool,
}

/// One day of the month: raised, resolved, breaches.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Day {
    pub date: NaiveDate,
    pub raised: u32,
    pub resolved: u32,
    pub breaches: u32,
}

/// A ticket row for the CSV.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TicketLine {
    pub reference: String,
    pub organisation: String,
    pub severity: u8,
    pub status_at_end: Status,
    pub received_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub response_state: ClockState,
    pub response_business_seconds: i64,
    pub response_counted: bool,
    pub resolve_state: ClockState,
    pub resolve_business_seconds: i64,
    pub resolve_counted: bool,
    pub paused_seconds: i64,
    pub reopens: u32,
}

/// An organisation's line in the desk-wide report.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrganisationSummary {
    pub organisation: String,
    pub availability_percent: String,
    pub credits_pence: i64,
}

/// Why a ticket's clock breached when it did (`ticket::explain`), for the
/// report that counts the breach for a credit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct BreachEvidence {
    pub reference: String,
    pub policy: String,
    pub policy_version: String,
    pub severity: Severity,
    /// What the calendar counts, in words.
    pub calendar: String,
    /// One day of that calendar, in seconds (a business day, or 86 400).
    pub day_seconds: i64,
    pub severity_changes: Vec<super::ticket::explain::SeverityChange>,
    pub clock: super::ticket::explain::ClockExplanation,
}

/// A month's SLA report, for one organisation or the whole desk.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MonthlyReport {
    /// An organisation's slug, or null for the whole desk.
    pub organisation: Option<String>,
    pub organisation_name: String,
    pub policy: Option<String>,
    /// The targets measured against (an organisation's report).
    pub targets: Vec<TargetLine>,
    pub month: Month,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    /// The instant the figures are as of: the month's end once it is over.
    pub as_of: DateTime<Utc>,
    pub month_closed: bool,
    pub counting_rules: Vec<String>,
    pub volumes: Vec<Volume>,
    pub reopened: u32,
    pub paused_seconds: i64,
    pub compliance: Vec<SeverityCompliance>,
    pub breaches: Vec<BreachLine>,
    pub availability: Option<Availability>,
    pub credits: Option<Credits>,
    /// The whole desk's report: each organisation's availability and credits.
    pub organisations: Vec<OrganisationSummary>,
    pub daily: Vec<Day>,
    /// Empty in the whole desk's report: see each organisation's.
    pub tickets: Vec<TicketLine>,
    /// The month's outages that had tickets linked to them (major
    /// incidents), each with those tickets and their breaches. Left out
    /// when there are none, so reports without them read as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub major_incidents: Vec<MajorIncident>,
    /// Time staff booked on the days of the month, for billing on a rate
    /// card: per ticket in an organisation's report, per organisation in
    /// the desk's. Left out when none was booked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_spent: Option<TimeSpent>,
    /// Service requests fulfilled in the month, per catalogue item. Left
    /// out when there are none, so reports without them read as before.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_requests: Vec<RequestItemLine>,
    /// Changes whose window opened in the month. Left out when none did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub changes: Option<ChangeSection>,
    /// The explanation of every breach counted for a service credit, as of
    /// the report's instant: the evidence behind the credit lines (an
    /// appendix of the HTML report). Left out when no credit counts one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub breach_evidence: Vec<BreachEvidence>,
}

/// One catalogue item's requests fulfilled in the month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RequestItemLine {
    pub item: String,
    pub name: String,
    pub fulfilled: u32,
    /// Within target, and not (requests under no target count in neither).
    pub met: u32,
    pub missed: u32,
    /// Met as a share of those with a target, rounded down to 0.1.
    pub percent_met: Option<String>,
    pub mean_business_seconds: Option<i64>,
    pub median_business_seconds: Option<i64>,
}

/// The month's changes.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ChangeSection {
    pub total: u32,
    pub standard: u32,
    pub normal: u32,
    pub emergency: u32,
    /// Reviewed, and of those a success.
    pub reviewed: u32,
    pub succeeded: u32,
    /// Successes as a share of those reviewed, rounded down to 0.1.
    pub success_percent: Option<String>,
    /// Changes that incidents were linked to as their cause, by reference.
    pub followed_by_incidents: Vec<String>,
}

/// Time booked in a month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TimeSpent {
    pub total_minutes: i64,
    /// The desk's report: each organisation's total, by slug.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub organisations: Vec<OrganisationTime>,
    /// An organisation's report: each ticket's total, by reference.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tickets: Vec<TicketTimeLine>,
}

/// An organisation's time in a month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct OrganisationTime {
    pub organisation: String,
    pub minutes: i64,
}

/// A ticket's time in a month.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TicketTimeLine {
    pub reference: String,
    pub minutes: i64,
}

/// A month's time from its booked totals, (organisation, ticket reference,
/// minutes): per ticket when `per_ticket` (an organisation's report), else
/// per organisation (the desk's). None when nothing was booked.
pub fn time_spent(booked: &[(String, String, i64)], per_ticket: bool) -> Option<TimeSpent> {
    let total_minutes: i64 = booked.iter().map(|b| b.2).sum();
    if total_minutes == 0 {
        return None;
    }
    let mut tickets = Vec::new();
    let mut organisations: Vec<OrganisationTime> = Vec::new();
    let mut sorted = booked.to_vec();
    sorted.sort();
    for (organisation, reference, minutes) in sorted {
        if per_ticket {
            tickets.push(TicketTimeLine { reference, minutes });
        } else if let Some(o) = organisations.last_mut().filter(|o| o.organisation == organisation) {
            o.minutes += minutes;
        } else {
            organisations.push(OrganisationTime { organisation, minutes });
        }
    }
    Some(TimeSpent {
        total_minutes,
        organisations,
        tickets,
    })
}

/// An outage of the month and the tickets linked to it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct MajorIncident {
    pub outage: i64,
    pub tickets: Vec<LinkedLine>,
}

/// A ticket linked to an outage, and whether its clocks breached.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LinkedLine {
    pub reference: String,
    pub organisation: String,
    pub response_breached_at: Option<DateTime<Utc>>,
    pub resolve_breached_at: Option<DateTime<Utc>>,
}

/// The major incidents of a report from its links, (outage, ticket
/// reference), and the tickets it counted: a link to a ticket the report
/// does not count (another organisation's, or of another month) is left
/// out. Outages in order, tickets by reference.
pub fn major_incidents(links: &[(i64, String)], tickets: &[TicketMonth]) -> Vec<MajorIncident> {
    let mut out: Vec<MajorIncident> = Vec::new();
    let mut links = links.to_vec();
    links.sort();
    links.dedup();
    for (outage, reference) in links {
        let Some(t) = tickets.iter().find(|t| t.reference == reference) else {
            continue;
        };
        let line = LinkedLine {
            reference,
            organisation: t.organisation.clone(),
            response_breached_at: t.response.breached_at,
            resolve_breached_at: t.resolve.breached_at,
        };
        match out.last_mut() {
            Some(m) if m.outage == outage => m.tickets.push(line),
            _ => out.push(MajorIncident {
                outage,
                tickets: vec![line],
            }),
        }
    }
    out
}

/// When a clock's outcome was decided, if it was: its breach or its stop,
/// whichever came first.
fn decided(c: &ClockView) -> Option<DateTime<Utc>> {
    match (c.breached_at, c.stopped_at) {
        (Some(b), Some(s)) => Some(b.min(s)),
        (b, s) => b.or(s),
    }
    .filter(|_| c.state != ClockState::Cancelled)
}

fn in_month(t: Option<DateTime<Utc>>, month: Month) -> bool {
    t.is_some_and(|t| t >= month.start() && t < month.end())
}

pub(crate) fn percent_met(met: u32, breached: u32) -> Option<String> {
    let n = u64::from(met) + u64::from(breached);
    (n > 0).then(|| {
        let tenths = u64::from(met) * 1000 / n;
        format!("{}.{}", tenths / 10, tenths % 10)
    })
}

pub(crate) fn mean_median(mut v: Vec<i64>) -> (Option<i64>, Option<i64>) {
    if v.is_empty() {
        return (None, None);
    }
    v.sort_unstable();
    let n = v.len() as i64;
    let mean = v.iter().sum::<i64>() / n;
    // The lower middle for an even count: a value some ticket really had.
    let median = v[(v.len() - 1) / 2];
    (Some(mean), Some(median))
}

/// A target the report measured against, as the policy writes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct TargetLine {
    pub severity: u8,
    /// `1h`, `1bd`, `none`: a business day is the calendar's working day.
    pub response: String,
    pub resolve: String,
    /// `business` (the policy's hours, bank holidays closed) or `24x7`.
    pub calendar: String,
}

/// Whose report it is: an organisation, with its policy and targets, or the
/// whole desk.
pub struct Scope {
    pub organisation: Option<String>,
    pub name: String,
    pub policy: Option<String>,
    /// The policy's targets in effect at the month's end; empty for the
    /// whole desk (each organisation states its own).
    pub targets: Vec<TargetLine>,
    /// A row per ticket: in an organisation's report; the whole desk's
    /// leaves them to the organisations' (a million rows in one document
    /// would help nobody).
    pub ticket_rows: bool,
}

/// Assembles the report from tickets as they stood at `as_of`.
pub fn assemble(
    scope: Scope,
    month: Month,
    as_of: DateTime<Utc>,
    tickets: &[TicketMonth],
    availability: Option<Availability>,
    credits: Option<Credits>,
    organisations: Vec<OrganisationSummary>,
) -> MonthlyReport {
    let mut tickets: Vec<&TicketMonth> = tickets.iter().collect();
    tickets.sort_by(|a, b| a.reference.cmp(&b.reference));
    let london = chrono_tz::Europe::London;
    let day_of = |t: DateTime<Utc>| t.with_timezone(&london).date_naive();
    let mut daily: Vec<Day> = month
        .days()
        .map(|date| Day {
            date,
            raised: 0,
            resolved: 0,
            breaches: 0,
        })
        .collect();
    let first = month.first_day();
    let mut bump = |t: DateTime<Utc>, f: &mut dyn FnMut(&mut Day)| {
        let i = (day_of(t) - first).num_days();
        if let Some(d) = usize::try_from(i).ok().and_then(|i| daily.get_mut(i)) {
            f(d);
        }
    };
    let mut volumes: Vec<Volume> = Severity::ALL
        .iter()
        .map(|s| Volume {
            severity: u8::from(*s),
            raised: 0,
            resolved: 0,
            open_at_end: 0,
        })
        .collect();
    let mut times: Vec<[Vec<i64>; 2]> = vec![[Vec::new(), Vec::new()]; 4];
    let mut compliance: Vec<SeverityCompliance> = Severity::ALL
        .iter()
        .map(|s| SeverityCompliance {
            severity: u8::from(*s),
            response: Compliance::default(),
            resolve: Compliance::default(),
        })
        .collect();
    let mut breaches = Vec::new();
    let mut lines = Vec::new();
    let (mut reopened, mut paused) = (0, 0);
    for t in tickets {
        let si = usize::from(u8::from(t.severity)) - 1;
        if in_month(Some(t.received_at), month) {
            volumes[si].raised += 1;
            bump(t.received_at, &mut |d| d.raised += 1);
        }
        if in_month(t.resolved_at, month) && matches!(t.status, Status::Resolved | Status::Closed) {
            volumes[si].resolved += 1;
            bump(t.resolved_at.expect("in month"), &mut |d| d.resolved += 1);
        }
        if !matches!(t.status, Status::Resolved | Status::Closed | Status::Cancelled) {
            volumes[si].open_at_end += 1;
        }
        reopened += t.reopens;
        paused += t.paused_seconds;
        let mut counted = [false, false];
        for (ci, clock) in [&t.response, &t.resolve].into_iter().enumerate() {
            let Some(when) = decided(clock) else { continue };
            if !in_month(Some(when), month) {
                continue;
            }
            counted[ci] = true;
            let c = if ci == 0 {
                &mut compliance[si].response
            } else {
                &mut compliance[si].resolve
            };
            if let Some(b) = clock.breached_at {
                c.breached += 1;
                bump(b, &mut |d| d.breaches += 1);
                breaches.push(BreachLine {
                    reference: t.reference.clone(),
                    organisation: t.organisation.clone(),
                    severity: u8::from(t.severity),
                    clock: clock.kind,
                    breached_at: b,
                    late_business_seconds: clock.elapsed_seconds - clock.target_seconds.unwrap_or(0),
                    stopped: clock.stopped_at.is_some(),
                });
            } else {
                c.met += 1;
            }
            if clock.stopped_at.is_some() {
                times[si][ci].push(clock.elapsed_seconds);
            }
        }
        if !scope.ticket_rows {
            continue;
        }
        lines.push(TicketLine {
            reference: t.reference.clone(),
            organisation: t.organisation.clone(),
            severity: u8::from(t.severity),
            status_at_end: t.status,
            received_at: t.received_at,
            resolved_at: t.resolved_at,
            response_state: t.response.state,
            response_business_seconds: t.response.elapsed_seconds,
            response_counted: counted[0],
            resolve_state: t.resolve.state,
            resolve_business_seconds: t.resolve.elapsed_seconds,
            resolve_counted: counted[1],
            paused_seconds: t.paused_seconds,
            reopens: t.reopens,
        });
    }
    for (si, c) in compliance.iter_mut().enumerate() {
        for (ci, comp) in [&mut c.response, &mut c.resolve].into_iter().enumerate() {
            comp.percent_met = percent_met(comp.met, comp.breached);
            let (mean, median) = mean_median(std::mem::take(&mut times[si][ci]));
            comp.mean_business_seconds = mean;
            comp.median_business_seconds = median;
        }
    }
    breaches.sort_by(|a, b| (a.breached_at, &a.reference).cmp(&(b.breached_at, &b.reference)));
    MonthlyReport {
        organisation: scope.organisation,
        organisation_name: scope.name,
        policy: scope.policy,
        targets: scope.targets,
        month,
        period_start: month.start(),
        period_end: month.end(),
        as_of,
        month_closed: as_of >= month.end(),
        counting_rules: COUNTING_RULES.iter().map(|s| s.to_string()).collect(),
        volumes,
        reopened,
        paused_seconds: paused,
        compliance,
        breaches,
        availability,
        credits,
        organisations,
        daily,
        tickets: lines,
        major_incidents: Vec::new(),
        time_spent: None,
        service_requests: Vec::new(),
        changes: None,
        breach_evidence: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_is_totalled_per_ticket_or_per_organisation() {
        let booked = [
            ("globex".to_string(), "SD-000003".to_string(), 45),
            ("acme".to_string(), "SD-000002".to_string(), 30),
            ("acme".to_string(), "SD-000001".to_string(), 90),
        ];
        let t = time_spent(&booked, true).unwrap();
        assert_eq!(t.total_minutes, 165);
        let refs: Vec<(&str, i64)> = t.tickets.iter().map(|l| (l.reference.as_str(), l.minutes)).collect();
        assert_eq!(refs, [("SD-000001", 90), ("SD-000002", 30), ("SD-000003", 45)]);
        let d = time_spent(&booked, false).unwrap();
        let orgs: Vec<(&str, i64)> = d
            .organisations
            .iter()
            .map(|o| (o.organisation.as_str(), o.minutes))
            .collect();
        assert_eq!(orgs, [("acme", 120), ("globex", 45)]);
        assert!(d.tickets.is_empty());
        assert_eq!(time_spent(&[], true), None);
    }

    #[test]
    fn shares_and_middles_are_stated_exactly() {
        assert_eq!(percent_met(2, 1), Some("66.6".into()), "rounded down");
        assert_eq!(percent_met(1, 0), Some("100.0".into()));
        assert_eq!(percent_met(0, 0), None);
        assert_eq!(mean_median(vec![10, 40, 20, 30]), (Some(25), Some(20)));
        assert_eq!(mean_median(vec![]), (None, None));
    }
}
