//! Response and resolve clocks, computed from a ticket's events.
//!
//! A clock is the list of wall-clock segments during which it ran, derived
//! from the status history; its elapsed business time is the sum of those
//! segments measured on the calendar of the ticket's *current* severity, and
//! every instant it reports (due, breach, at-risk thresholds) is where that
//! running total crosses the target. That is what makes a severity change
//! retroactive from the original start while keeping the time already run,
//! and what makes a replay of the same events give the same answer.
//!
//! Semantics (docs/architecture.md, "Clocks and time"): the response clock stops at the first public
//! agent reply (automatic notices do not count; a resolution counts as the
//! response if none came before); the resolve clock pauses in the policy's
//! pause statuses, stops at resolved and resumes on reopen. Breach means
//! elapsed ≥ target, so the due instant itself is already late.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::decide::{EventKind, SlaContext, Ticket};
use crate::domain::calendar::{Calendar, CalendarError};
use crate::domain::vocabulary::{Actor, Severity, Status, Visibility};
pub use crate::domain::vocabulary::{AlertLevel, ClockKind};

/// One warning or breach of one clock against one severity's target: each
/// is recorded at most once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AlertKey {
    pub clock: ClockKind,
    pub level: AlertLevel,
    pub severity: Severity,
}

/// An alert not yet recorded, and when it falls due.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PendingAlert {
    pub key: AlertKey,
    pub due_at: DateTime<Utc>,
}

/// Where a clock stands: running, paused or stopped, and whether it breached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockState {
    Running,
    Paused,
    Met,
    BreachedRunning,
    BreachedPaused,
    BreachedMet,
    /// The ticket was cancelled before the clock stopped.
    Cancelled,
}

impl ClockState {
    /// Whether the target was missed, whatever the clock does now.
    pub fn is_breached(self) -> bool {
        matches!(
            self,
            ClockState::BreachedRunning | ClockState::BreachedPaused | ClockState::BreachedMet
        )
    }
}

/// An at-risk threshold: a share of the target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Threshold {
    pub percent: u8,
    /// When it was or will be reached; `None` while paused short of it, or never reached.
    pub at: Option<DateTime<Utc>>,
}

/// One clock as the core computes it at an instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ClockView {
    pub kind: ClockKind,
    pub state: ClockState,
    pub elapsed_seconds: i64,
    pub target_seconds: Option<i64>,
    /// When the target will be (or was) reached while running; `None` while paused, stopped, or without target.
    pub due: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
    pub stopped_at: Option<DateTime<Utc>>,
    pub at_risk: Vec<Threshold>,
}

/// Both clocks of a ticket at an instant, and when to look again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlaView {
    pub response: ClockView,
    pub resolve: ClockView,
    /// The earliest instant at which a warning or breach not yet recorded
    /// falls due (in the past if one is overdue for recording).
    pub next_check_at: Option<DateTime<Utc>>,
    #[serde(skip)]
    pub pending_alerts: Vec<PendingAlert>,
}

/// Why the clocks cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error(transparent)]
    Calendar(#[from] CalendarError),
    #[error("the ticket runs on policy {ticket} but {given} was given")]
    PolicyMismatch { ticket: String, given: String },
}

/// Running segments `[start, end)` in UTC seconds; the last may be open.
pub(super) type Segments = Vec<(i64, Option<i64>)>;

pub(super) fn segments(ticket: &Ticket, ctx: &SlaContext) -> (Segments, Segments) {
    let p = ctx.policy;
    let runs_response =
        |status: Status, responded: bool| !responded && !status.stops_clocks() && !p.response_pause.contains(&status);
    let runs_resolve = |status: Status| !status.stops_clocks() && !p.resolve_pause.contains(&status);

    let mut response: Segments = Vec::new();
    let mut resolve: Segments = Vec::new();
    let mut status = Status::New;
    let mut responded = false;
    let toggle = |segs: &mut Segments, before: bool, after: bool, at: i64| {
        if !before && after {
            segs.push((at, None));
        } else if before
            && !after
            && let Some(last) = segs.last_mut()
        {
            last.1 = Some(at);
        }
    };
    for e in &ticket.events {
        // The clocks start at the receipt: the created event's instant, or a
        // merged duplicate's earlier one.
        let at = match e.kind {
            EventKind::Created { .. } => ticket.received_at.timestamp(),
            _ => e.at.timestamp(),
        };
        let (resp_before, res_before) = match e.kind {
            EventKind::Created { .. } => (false, false),
            _ => (runs_response(status, responded), runs_resolve(status)),
        };
        match &e.kind {
            EventKind::Commented {
                visibility: Visibility::Public,
                ..
            } if matches!(e.by, Actor::Agent(_)) => responded = true,
            EventKind::StatusChanged { to, .. } => {
                status = *to;
                if *to == Status::Resolved {
                    responded = true;
                }
            }
            _ => {}
        }
        toggle(&mut response, resp_before, runs_response(status, responded), at);
        toggle(&mut resolve, res_before, runs_resolve(status), at);
    }
    (response, resolve)
}

struct Measure<'a> {
    cal: &'a Calendar,
    segs: &'a Segments,
    now: i64,
}

impl Measure<'_> {
    fn elapsed(&self) -> Result<i64, CalendarError> {
        let mut total = 0;
        for &(s, e) in self.segs {
            let end = e.unwrap_or(self.now).min(self.now);
            total += self.cal.between_seconds(s.min(end), end)?;
        }
        Ok(total)
    }

    /// The instant at which the running total reaches `x` seconds, if it has
    /// or will without a further resume.
    fn crossing(&self, x: i64) -> Result<Option<i64>, CalendarError> {
        let mut cum = 0;
        for &(s, e) in self.segs {
            match e {
                Some(e) => {
                    let len = self.cal.between_seconds(s, e)?;
                    if cum + len >= x {
                        return Ok(Some(self.cal.add_seconds(s, x - cum)?));
                    }
                    cum += len;
                }
                None => return Ok(Some(self.cal.add_seconds(s, x - cum)?)),
            }
        }
        Ok(None)
    }
}

fn ts(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(s, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// One clock's run: what `view` measures.
struct ClockRun<'a> {
    kind: ClockKind,
    segs: &'a Segments,
    stopped_at: Option<DateTime<Utc>>,
    target: Option<i64>,
}

fn view(
    run: ClockRun,
    cal: &Calendar,
    at_risk_percents: &[u8],
    cancelled: bool,
    now: i64,
) -> Result<ClockView, CalendarError> {
    let ClockRun {
        kind,
        segs,
        stopped_at,
        target,
    } = run;
    let m = Measure { cal, segs, now };
    let elapsed = m.elapsed()?;
    let running = matches!(segs.last(), Some((_, None)));
    let mut breached_at = None;
    let mut due = None;
    let mut at_risk = Vec::new();
    if let Some(t) = target {
        let crossing = m.crossing(t)?;
        if elapsed >= t {
            breached_at = crossing.map(ts);
        }
        if running {
            due = crossing.map(ts);
        }
        for &p in at_risk_percents {
            let x = (t * p as i64 + 99) / 100;
            at_risk.push(Threshold {
                percent: p,
                at: m.crossing(x)?.map(ts),
            });
        }
    }
    let breached = breached_at.is_some();
    let state = match (running, stopped_at.is_some(), cancelled, breached) {
        (true, _, _, false) => ClockState::Running,
        (true, _, _, true) => ClockState::BreachedRunning,
        (false, true, _, false) => ClockState::Met,
        (false, true, _, true) => ClockState::BreachedMet,
        (false, false, true, _) => ClockState::Cancelled,
        (false, false, false, false) => ClockState::Paused,
        (false, false, false, true) => ClockState::BreachedPaused,
    };
    Ok(ClockView {
        kind,
        state,
        elapsed_seconds: elapsed,
        target_seconds: target,
        due,
        breached_at,
        stopped_at,
        at_risk,
    })
}

/// Both clocks of a ticket as at `now`, and its next check.
///
/// A Bronze severity 2 ticket (respond within 4 business hours, 09:00 to
/// 17:00 Monday to Friday, Europe/London) raised late on a Friday:
///
/// ```
/// use chrono::{DateTime, Utc};
/// use sladesk::domain::clock::{ClockState, sla};
/// use sladesk::domain::holidays::{Holidays, Region};
/// use sladesk::domain::policy::Policy;
/// use sladesk::domain::ticket::{Action, Actor, Command, Severity, SlaContext, Ticket};
///
/// let file = concat!(env!("CARGO_MANIFEST_DIR"), "/sla-policies/bronze.toml");
/// let policy = Policy::from_toml(file, &std::fs::read_to_string(file).unwrap()).unwrap();
/// let calendars = policy.calendars(&Holidays::from_rules(), Region::EnglandAndWales);
/// let ctx = SlaContext { policy: &policy, calendars: &calendars };
/// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
///
/// let customer = Actor::Customer("carol@example.org".into());
/// let ticket = Ticket::create(t("2026-11-27T16:00:00Z"), customer, Severity::S2, &policy);
///
/// // One business hour on Friday, three on Monday: due Monday 12:00 GMT.
/// let view = sla(&ticket, &ctx, t("2026-11-27T16:30:00Z")).unwrap();
/// assert_eq!(view.response.state, ClockState::Running);
/// assert_eq!(view.response.due, Some(t("2026-11-30T12:00:00Z")));
/// // The weekend is not counted: by Monday 09:00 one hour has gone.
/// let monday = sla(&ticket, &ctx, t("2026-11-30T09:00:00Z")).unwrap();
/// assert_eq!(monday.response.elapsed_seconds, 3600);
///
/// // An agent's public reply on Monday at 10:00 stops the response clock, met.
/// let reply = Command {
///     at: t("2026-11-30T10:00:00Z"),
///     by: Actor::Agent("alice".into()),
///     action: Action::AgentReply { body: "Looking now.".into() },
/// };
/// let (ticket, _events) = ticket.apply(&reply, &ctx).unwrap();
/// let view = sla(&ticket, &ctx, t("2026-11-30T15:00:00Z")).unwrap();
/// assert_eq!(view.response.state, ClockState::Met);
/// assert_eq!(view.response.elapsed_seconds, 2 * 3600);
/// assert_eq!(view.resolve.state, ClockState::Running);
/// ```
pub fn sla(ticket: &Ticket, ctx: &SlaContext, now: DateTime<Utc>) -> Result<SlaView, SlaError> {
    if ctx.policy.version != ticket.policy_version || ctx.policy.name != ticket.policy {
        return Err(SlaError::PolicyMismatch {
            ticket: format!("{}@{}", ticket.policy, ticket.policy_version),
            given: format!("{}@{}", ctx.policy.name, ctx.policy.version),
        });
    }
    let severity = ticket.severity;
    let targets = ctx.policy.targets(severity);
    let cal = ctx.calendar(severity);
    let day = cal.standard_day_seconds();
    let now_s = now.timestamp();
    let (resp_segs, res_segs) = segments(ticket, ctx);
    let cancelled = ticket.status == Status::Cancelled;

    let at_risk = &ctx.policy.at_risk;
    let response = view(
        ClockRun {
            kind: ClockKind::Response,
            segs: &resp_segs,
            stopped_at: ticket.first_response_at,
            target: targets.response.to_seconds(day),
        },
        cal,
        at_risk,
        cancelled,
        now_s,
    )?;
    let resolve_stopped = matches!(ticket.status, Status::Resolved | Status::Closed)
        .then_some(ticket.resolved_at)
        .flatten();
    let resolve = view(
        ClockRun {
            kind: ClockKind::Resolve,
            segs: &res_segs,
            stopped_at: resolve_stopped,
            target: targets.resolve.to_seconds(day),
        },
        cal,
        at_risk,
        cancelled,
        now_s,
    )?;

    let mut pending = Vec::new();
    for c in [&response, &resolve] {
        let stopped = matches!(
            c.state,
            ClockState::Met | ClockState::BreachedMet | ClockState::Cancelled
        );
        if !stopped {
            for th in &c.at_risk {
                if let Some(at) = th.at {
                    pending.push(PendingAlert {
                        key: AlertKey {
                            clock: c.kind,
                            level: AlertLevel::AtRisk(th.percent),
                            severity,
                        },
                        due_at: at,
                    });
                }
            }
        }
        if c.state != ClockState::Cancelled
            && let Some(at) = c.breached_at.or(c.due)
        {
            pending.push(PendingAlert {
                key: AlertKey {
                    clock: c.kind,
                    level: AlertLevel::Breach,
                    severity,
                },
                due_at: at,
            });
        }
    }
    pending.retain(|a| !ticket.alerts.contains(&a.key));
    pending.sort_by_key(|a| (a.due_at, a.key));
    Ok(SlaView {
        next_check_at: pending.first().map(|a| a.due_at),
        response,
        resolve,
        pending_alerts: pending,
    })
}
