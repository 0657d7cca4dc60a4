//! What the ticket use cases take and give: the requests and changes a
//! caller sends, the views of a ticket, its timeline and its clocks as the
//! caller may see them, and the filters and pages of a list. Types and
//! their small conversions only; the use cases are in the sibling files.

use super::*;

/// What a customer or agent gives to raise a ticket.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTicketRequest {
    pub subject: String,
    pub description: String,
    /// 1 (critical) to 4 (minor); the queue's default if absent.
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    pub severity: Option<Severity>,
    /// Queue slug; the first queue if absent.
    pub queue: Option<String>,
    /// Staff only: the organisation's slug (customers raise for their own).
    pub organisation: Option<String>,
    /// Staff only: the requesting contact's email.
    pub requester: Option<String>,
    /// email, web, api or phone; `api` if absent.
    pub source: Option<String>,
}

/// A file sent from a page with a new ticket or a reply.
#[derive(Debug, Clone)]
pub struct Upload {
    pub filename: String,
    pub content_type: String,
    pub data: Vec<u8>,
}

/// A change asked of a ticket, as the API and CLI name it.
#[derive(Debug, Clone)]
pub enum Change {
    Reply(String),
    Note(String),
    /// Minutes spent (staff), booked today with the reply or note before
    /// it, in the same transaction.
    LogTime(i32),
    Status(Status),
    Severity(Severity),
    /// Assignee email, or none to unassign.
    Assign(Option<String>),
    Queue(String),
    Resolve,
    Reopen,
    Close,
    Cancel,
    /// A merge takes a duplicate in (`merge_ticket`; no API or page names it).
    Absorb {
        from: String,
        received_at: DateTime<Utc>,
        messages: Vec<crate::domain::ticket::CopiedMessage>,
    },
}

impl Change {
    /// How a refusal names it.
    pub fn name(&self) -> &'static str {
        match self {
            Change::Reply(_) => "reply",
            Change::Note(_) => "note",
            Change::LogTime(_) => "log time",
            Change::Status(_) => "status",
            Change::Severity(_) => "severity",
            Change::Assign(_) => "assign",
            Change::Queue(_) => "queue",
            Change::Resolve => "resolve",
            Change::Reopen => "reopen",
            Change::Close => "close",
            Change::Cancel => "cancel",
            Change::Absorb { .. } => "merge",
        }
    }
}

/// One clock as a list shows it: its state and when it is due.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClockSummary {
    /// running, paused, met, breached_running, breached_paused, breached_met or cancelled
    #[schema(value_type = String)]
    pub state: ClockState,
    /// Staff only: business seconds counted when the ticket was last
    /// recomputed. It moves whenever staff touch the ticket, so a customer
    /// is not shown it (their `/sla` gives the live figure).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elapsed_seconds: Option<i64>,
    pub due_at: Option<DateTime<Utc>>,
    pub breached_at: Option<DateTime<Utc>>,
}

/// A ticket as the API and pages show it, with both clocks.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub reference: String,
    /// `incident`, `service_request`, `problem` or `change`.
    #[serde(rename = "type")]
    pub ticket_type: String,
    pub subject: String,
    pub status: String,
    pub severity: i32,
    pub source: String,
    pub organisation: String,
    /// The organisation's name, as people know it.
    pub organisation_name: String,
    pub requester: String,
    pub requester_name: String,
    /// Staff only: customers are not shown routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// Staff only: the assignee's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee_name: Option<String>,
    pub received_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub reopen_count: i32,
    pub version: i64,
    pub policy: String,
    pub response: ClockSummary,
    pub resolve: ClockSummary,
    /// Staff only: when the ticket becomes at risk.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_risk_at: Option<DateTime<Utc>>,
    /// Staff only: when the scheduler next looks at the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<DateTime<Utc>>,
    /// Staff only: how far it has escalated (0 none; one level per at-risk
    /// threshold crossed; the highest once breached).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation_level: Option<i32>,
}

/// How urgent open work is now, as the queue's `breached` and `at_risk`
/// filters mean it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// A clock breached and still running or paused.
    Breached,
    /// Past its first warning threshold, not breached.
    AtRisk,
}

impl TicketView {
    /// Breached while still open, or past a warning threshold; `None` for
    /// done tickets and work within its targets. (A customer's view carries
    /// no at-risk instant, so for them only a breach shows.)
    pub fn urgency(&self, now: DateTime<Utc>) -> Option<Urgency> {
        let open = !matches!(self.status.as_str(), "resolved" | "closed" | "cancelled");
        let breached = [self.response.state, self.resolve.state]
            .iter()
            .any(|s| matches!(s, ClockState::BreachedRunning | ClockState::BreachedPaused));
        if !open {
            None
        } else if breached {
            Some(Urgency::Breached)
        } else if self.at_risk_at.is_some_and(|a| a <= now) {
            Some(Urgency::AtRisk)
        } else {
            None
        }
    }

    /// The view as `who` may see it: customers see their ticket, its
    /// conversation's state and its due instants, not routing or escalation
    /// timing (the same rule as the timeline's internal events).
    pub(super) fn seen_by(mut self, who: &Principal) -> TicketView {
        if who.role == Role::Customer {
            self.queue = None;
            self.assignee = None;
            self.assignee_name = None;
            self.at_risk_at = None;
            self.escalation_level = None;
            self.next_check_at = None;
            self.response.elapsed_seconds = None;
            self.resolve.elapsed_seconds = None;
        }
        self
    }
}

/// One event of a ticket's history, as the caller may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EventView {
    pub seq: i32,
    pub at: DateTime<Utc>,
    pub actor: Option<String>,
    /// The actor's name, as people know them.
    pub actor_name: Option<String>,
    pub actor_role: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub visibility: String,
    pub body: Option<String>,
    /// The domain event as recorded.
    #[schema(value_type = Object)]
    pub data: serde_json::Value,
}

impl EventView {
    /// What a customer may see of a public event: no routing (the queue a
    /// ticket was raised into) and no staff identities (an agent's user id
    /// in the recorded actor, their address as the actor), only that the
    /// service desk did it.
    pub(super) fn seen_by(mut self, who: &Principal) -> EventView {
        if who.role != Role::Customer {
            return self;
        }
        if self.actor_role != "customer" {
            self.actor = Some("Service desk".into());
            self.actor_name = Some("Service desk".into());
        }
        if let Some(d) = self.data.as_object_mut() {
            d.remove("queue");
            if d.get("by").is_some_and(|b| b.get("agent").is_some()) {
                d.insert("by".into(), serde_json::json!("service_desk"));
            }
        }
        self
    }
}

/// Where a page of a timeline starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCursor {
    /// The events after this sequence number; from the first if none.
    After(Option<i32>),
    /// The events before this sequence number; the latest if none.
    Before(Option<i32>),
}

/// One page of a ticket's timeline.
#[derive(Debug, Clone, Serialize)]
pub struct EventPage {
    pub items: Vec<EventView>,
    /// The cursor of the later page (`after`); none on the last.
    pub next_after: Option<i32>,
    /// The cursor of the earlier page (`before`); none on the first.
    pub previous_before: Option<i32>,
}

/// One clock in full: counted time, target, due and breach instants, at-risk
/// thresholds.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ClockDetail {
    /// kind, state, elapsed_seconds, target_seconds, due, breached_at, stopped_at and at_risk thresholds.
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub clock: ClockView,
    pub remaining_seconds: Option<i64>,
}

/// A ticket's SLA as the core computes it now, with the policy and calendar in force.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaDetail {
    pub reference: String,
    pub computed_at: DateTime<Utc>,
    pub policy: String,
    pub policy_version: String,
    pub calendar: String,
    pub time_zone: String,
    pub region: String,
    pub severity: i32,
    pub response: ClockDetail,
    pub resolve: ClockDetail,
    /// Staff only: when the scheduler next looks at the ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_check_at: Option<DateTime<Utc>>,
}

/// A clock as a page counts it down: business seconds left at `computed_at`
/// (negative once overdue), and the calendar's open intervals after it in
/// which the clock runs. Between them the count stands still, so the page
/// never disagrees with the due instant the core computed.
#[derive(Debug, Clone, Serialize)]
pub struct Countdown {
    pub state: ClockState,
    pub remaining_seconds: Option<i64>,
    pub computed_at: DateTime<Utc>,
    /// `[start, end)` pairs in epoch seconds; empty when the clock does not run.
    pub runs: Vec<(i64, i64)>,
    /// One day of this clock's calendar in seconds: a business day on a
    /// business calendar, 86 400 on 24x7. Countdowns count days in it.
    pub day_seconds: i64,
    /// When the clock counts, in words: "business hours, Mon–Fri
    /// 09:00–17:00 Europe/London, not on bank holidays (england-and-wales)".
    pub counts: String,
}

/// How far ahead a page is given the calendar: past the due instant, so an
/// overdue count keeps going, but bounded.
const COUNTDOWN_DAYS: i64 = 14;
const COUNTDOWN_INTERVALS: usize = 64;

impl Countdown {
    pub(super) fn of(
        c: &ClockView,
        calendar: &crate::domain::calendar::Calendar,
        counts: &str,
        now: DateTime<Utc>,
    ) -> Countdown {
        let remaining = c.target_seconds.map(|t| t - c.elapsed_seconds);
        let running = matches!(c.state, ClockState::Running | ClockState::BreachedRunning);
        let runs = if running {
            let (_, span_end) = calendar.span();
            let until = (now + chrono::Duration::days(COUNTDOWN_DAYS)).min(span_end);
            calendar
                .open_intervals(now, until, COUNTDOWN_INTERVALS)
                .unwrap_or_default()
                .into_iter()
                .map(|(a, b)| (a.timestamp(), b.timestamp()))
                .collect()
        } else {
            Vec::new()
        };
        Countdown {
            state: c.state,
            remaining_seconds: remaining,
            computed_at: now,
            runs,
            day_seconds: calendar.standard_day_seconds(),
            counts: counts.to_string(),
        }
    }
}

/// Filters for listing tickets.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TicketFilter {
    /// A status, or `active` for every status but resolved, closed and cancelled.
    pub status: Option<String>,
    /// The organisation's support tier (its policy's name), such as `gold`.
    pub tier: Option<String>,
    pub severity: Option<i32>,
    pub queue: Option<String>,
    /// An agent's email, `me`, or `none`.
    pub assignee: Option<String>,
    pub organisation: Option<String>,
    /// The requester's email.
    pub requester: Option<String>,
    pub breached: Option<bool>,
    pub at_risk: Option<bool>,
    /// Text the subject contains.
    pub q: Option<String>,
    /// `incident`, `service_request`, `problem` or `change`.
    #[serde(rename = "type")]
    pub ticket_type: Option<String>,
    /// `next_check_at` (default: most urgent first: breached and still running,
    /// longest overdue first, then by the next warning or breach), `created`
    /// (newest first), `created_asc` (oldest first), `severity` (severity 1
    /// first, then most urgent) or `updated` (staff only: latest activity
    /// first). `after` pages the first two; every sort pages by `offset`.
    pub sort: Option<String>,
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// How many tickets to skip, at most 10,000 (narrow the filters beyond);
    /// not with `after`.
    pub offset: Option<i64>,
}

impl TicketFilter {
    /// The first filter given that only staff may use: routing, assignment
    /// and escalation timing, and the queue order (whose cursor carries the
    /// next warning's instant).
    pub(super) fn staff_only_given(&self) -> Option<&'static str> {
        [
            ("queue", self.queue.is_some()),
            ("assignee", self.assignee.is_some()),
            ("at_risk", self.at_risk.is_some()),
            (
                "sort",
                matches!(self.sort.as_deref(), Some("next_check_at" | "updated")),
            ),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        .map(|(field, _)| field)
    }
}

/// A page of tickets and how to ask for the next.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketView>,
    /// The cursor of the next page (the keyset sorts, when paging by cursor).
    pub next: Option<String>,
    /// Whether more tickets follow this page, whichever way it was paged.
    pub more: bool,
}

/// How many tickets a filter matches, counted up to a cap so that a count
/// costs no more than a deep page would.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TicketCount {
    pub total: i64,
    /// True when there are more than `total` (the cap).
    pub more: bool,
}
