//! Ticket use cases: raise, read, list, timeline, and every change, each
//! change applied by the domain core and written with its events and the
//! recomputed SLA state in one transaction.
//!
//! Concurrency: a change reads the ticket and its events, applies the core,
//! inserts the new events at the next sequence numbers and updates the row
//! only if its `row_version` is unchanged. A concurrent writer makes one of
//! the two fail (unique `(ticket_id, seq)` or a stale version); that one is
//! retried from a fresh read, so no event is lost. A caller that sent
//! `If-Match` gets a conflict instead of a retry.

mod change;
mod create;
mod query;
mod read;
mod recompute;
mod reopen;
pub use query::MAX_OFFSET;
use read::row_view;
pub use recompute::RecomputeLine;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::domain::clock::{ClockState, ClockView, SlaView, sla};
use crate::domain::holidays::Region;
use crate::domain::policy::Policy;
use crate::domain::ticket::{
    Action, Actor, Command, Event, EventKind, Severity, SlaContext, Status, Ticket, Visibility,
};
use crate::store::DbConnection;
use crate::store::models::*;
use crate::store::schema::{organisations, queues, ticket_events, tickets, users};

diesel::define_sql_function!(fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text);
diesel::alias!(users as assignees: Assignees);

/// The names a ticket view shows, selected beside its row (see `read::Names`).
macro_rules! names {
    () => {
        (
            organisations::slug,
            organisations::name,
            users::email,
            users::name,
            queues::slug,
            assignees.field(users::email).nullable(),
            assignees.field(users::name).nullable(),
        )
    };
}
pub(super) use names;

const MAX_SUBJECT: usize = 300;
const RETRIES: usize = 30;

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
    Status(Status),
    Severity(Severity),
    /// Assignee email, or none to unassign.
    Assign(Option<String>),
    Queue(String),
    Resolve,
    Reopen,
    Close,
    Cancel,
}

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

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketView {
    pub reference: String,
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

impl TicketView {
    /// The view as `who` may see it: customers see their ticket, its
    /// conversation's state and its due instants, not routing or escalation
    /// timing (the same rule as the timeline's internal events).
    fn seen_by(mut self, who: &Principal) -> TicketView {
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
    fn seen_by(mut self, who: &Principal) -> EventView {
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
    fn of(c: &ClockView, calendar: &crate::domain::calendar::Calendar, counts: &str, now: DateTime<Utc>) -> Countdown {
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
    fn staff_only_given(&self) -> Option<&'static str> {
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

#[derive(Debug)]
enum Attempt {
    Retry,
    Failed(AppError),
}

impl From<AppError> for Attempt {
    fn from(e: AppError) -> Self {
        Attempt::Failed(e)
    }
}

impl From<diesel::result::Error> for Attempt {
    fn from(e: diesel::result::Error) -> Self {
        match e {
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                Attempt::Retry
            }
            diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::SerializationFailure, _) => {
                Attempt::Retry
            }
            other => Attempt::Failed(other.into()),
        }
    }
}

fn actor_of(who: &Principal) -> Actor {
    if who.user_id <= 0 {
        // The operator at a terminal acts as sladesk itself.
        return Actor::System;
    }
    match who.role {
        Role::Customer => Actor::Customer(who.user_id.to_string()),
        _ => Actor::Agent(who.user_id.to_string()),
    }
}

fn actor_parts(a: &Actor) -> (&'static str, Option<i64>) {
    match a {
        Actor::Agent(id) => ("agent", id.parse().ok()),
        Actor::Customer(id) => ("customer", id.parse().ok()),
        Actor::System => ("system", None),
    }
}

fn event_kind_name(k: &EventKind) -> &'static str {
    match k {
        EventKind::Created { .. } => "created",
        EventKind::Commented { .. } => "commented",
        EventKind::AssigneeChanged { .. } => "assignee_changed",
        EventKind::QueueChanged { .. } => "queue_changed",
        EventKind::StatusChanged { .. } => "status_changed",
        EventKind::SeverityChanged { .. } => "severity_changed",
        EventKind::AlertRecorded { .. } => "alert_recorded",
        EventKind::PolicyChanged { .. } => "policy_changed",
    }
}

/// What a customer may see: their side of the conversation and the ticket's
/// status and severity; never internal notes, routing or escalations.
fn event_visibility(k: &EventKind) -> &'static str {
    match k {
        EventKind::Commented {
            visibility: Visibility::Internal,
            ..
        }
        | EventKind::AssigneeChanged { .. }
        | EventKind::QueueChanged { .. }
        | EventKind::AlertRecorded { .. }
        | EventKind::PolicyChanged { .. } => "internal",
        _ => "public",
    }
}

fn state_name(s: ClockState) -> String {
    serde_json::to_value(s)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_state(s: &str) -> ClockState {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(ClockState::Running)
}

/// Where a ticket stands in its queue, earliest first: the instant a clock
/// that still runs breached (in the past, so breached work comes first,
/// longest overdue first); else its next warning or breach; nothing once no
/// clock runs (paused or stopped: last). An escalating unassigned severity 1
/// ticket is raised above all of these afterwards (`raise_in_queue`).
pub(super) fn queue_order(view: &SlaView) -> Option<DateTime<Utc>> {
    [&view.response, &view.resolve]
        .into_iter()
        .filter(|c| c.state == ClockState::BreachedRunning)
        .filter_map(|c| c.breached_at)
        .min()
        .or(view.next_check_at)
}

/// The earliest instant a running clock reaches its first at-risk threshold.
fn at_risk_at(view: &SlaView) -> Option<DateTime<Utc>> {
    [&view.response, &view.resolve]
        .into_iter()
        .filter(|c| {
            !matches!(
                c.state,
                ClockState::Met | ClockState::BreachedMet | ClockState::Cancelled
            )
        })
        .filter_map(|c| c.at_risk.first().and_then(|t| t.at))
        .min()
}

pub(super) fn state_row(
    ticket: &Ticket,
    view: &SlaView,
    queue_id: i64,
    assignee_id: Option<i64>,
    row_version: i64,
    holiday_set: &str,
    now: DateTime<Utc>,
) -> TicketState {
    TicketState {
        assignee_id,
        severity: ticket.severity.number() as i32,
        status: ticket.status.as_str().to_string(),
        queue_id,
        updated_at: naive(now),
        row_version,
        first_response_at: ticket.first_response_at.map(naive),
        resolved_at: ticket.resolved_at.map(naive),
        reopen_count: ticket.reopen_count as i32,
        response_state: state_name(view.response.state),
        response_elapsed_seconds: view.response.elapsed_seconds,
        response_due_at: view.response.due.map(naive),
        response_breached_at: view.response.breached_at.map(naive),
        resolve_state: state_name(view.resolve.state),
        resolve_elapsed_seconds: view.resolve.elapsed_seconds,
        resolve_due_at: view.resolve.due.map(naive),
        resolve_breached_at: view.resolve.breached_at.map(naive),
        at_risk_at: at_risk_at(view).map(naive),
        next_check_at: view.next_check_at.map(naive),
        // Raised to the top afterwards if it qualifies (see `raise_in_queue`).
        queue_order_at: queue_order(view).map(naive),
        sla_computed_at: naive(now),
        policy_version: ticket.policy_version.clone(),
        holiday_set: holiday_set.to_string(),
    }
}

fn insert_events(
    conn: &mut DbConnection,
    ticket_id: i64,
    first_seq: usize,
    events: &[Event],
) -> Result<(), diesel::result::Error> {
    insert_event_rows(conn, &event_rows(ticket_id, first_seq, events))
}

/// The rows of a ticket's new events, numbered from `first_seq`.
pub(super) fn event_rows(ticket_id: i64, first_seq: usize, events: &[Event]) -> Vec<NewEvent<'_>> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let (role, id) = actor_parts(&e.by);
            NewEvent {
                ticket_id,
                seq: (first_seq + i) as i32,
                at: naive(e.at),
                actor_role: role,
                actor_id: id,
                kind: event_kind_name(&e.kind),
                visibility: event_visibility(&e.kind),
                body: match &e.kind {
                    EventKind::Commented { body, .. } => Some(body.as_str()),
                    _ => None,
                },
                data: serde_json::to_string(e).expect("events serialise"),
            }
        })
        .collect()
}

/// Inserts event rows, many in one statement: on PostgreSQL one array per
/// column, on SQLite multi-row VALUES a thousand rows at a time.
pub(super) fn insert_event_rows(conn: &mut DbConnection, rows: &[NewEvent]) -> Result<(), diesel::result::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
            diesel::sql_query(
                "INSERT INTO ticket_events (ticket_id, seq, at, actor_role, actor_id, kind, visibility, body, data) \
                 SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamp[], $4::text[], $5::bigint[], \
                 $6::text[], $7::text[], $8::text[], $9::text[])",
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.at).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.actor_role).collect::<Vec<_>>())
            .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|r| r.actor_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.visibility).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.body).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.data.as_str()).collect::<Vec<_>>())
            .execute(pg)?;
        }
        // 1,000 rows of 9 values stays inside SQLite's limit on binds.
        DbConnection::Sqlite(sq) => {
            for chunk in rows.chunks(1000) {
                diesel::insert_into(ticket_events::table).values(chunk).execute(sq)?;
            }
        }
    }
    mark_kept_months(conn, rows)
}

/// Events dated in a month whose report is kept (mail that arrived late,
/// history imported) are changes that month's report has not seen: mark
/// it revised pending. The usual event, dated now, is in a month that has
/// not ended, and costs nothing here.
fn mark_kept_months(conn: &mut DbConnection, rows: &[NewEvent]) -> Result<(), diesel::result::Error> {
    use crate::domain::availability::Month;
    use crate::store::schema::report_versions;
    let (Some(first), Some(last)) = (rows.iter().map(|r| r.at).min(), rows.iter().map(|r| r.at).max()) else {
        return Ok(());
    };
    // Only a month that has ended can be kept: events dated in the current
    // month (nearly all of them) need no look at the store.
    let now = crate::app::now();
    if Month::containing(utc(first)) >= Month::containing(now) {
        return Ok(());
    }
    let kept: Option<i64> = report_versions::table
        .filter(report_versions::month.ge(Month::containing(utc(first)).to_string()))
        .select(report_versions::id)
        .first(conn)
        .optional()?;
    if kept.is_none() {
        return Ok(());
    }
    let mut ids: Vec<i64> = rows.iter().map(|r| r.ticket_id).collect();
    ids.sort_unstable();
    ids.dedup();
    let touched: Vec<(i64, String)> = tickets::table
        .filter(tickets::id.eq_any(&ids))
        .select((tickets::organisation_id, tickets::reference))
        .load(conn)?;
    let orgs: Vec<i64> = touched.iter().map(|t| t.0).collect();
    let refs: Vec<&str> = touched.iter().map(|t| t.1.as_str()).take(5).collect();
    let what = format!(
        "events of {} dated {} recorded",
        refs.join(", "),
        first.format("%Y-%m-%d")
    );
    let now = crate::app::now();
    crate::app::reports::versions::mark_revised(conn, Some(&orgs), utc(first), utc(last), &what, now)
}

/// A loaded ticket: its row, its domain state, and what the core needs.
struct Loaded {
    row: TicketRow,
    ticket: Ticket,
    policy: Arc<Policy>,
    region: Region,
}

/// PostgreSQL text cannot hold NUL, so neither backend accepts it.
pub(super) fn no_nul(field: &str, s: &str) -> Result<(), AppError> {
    if s.contains('\0') {
        return Err(invalid(field, "must not contain NUL characters"));
    }
    Ok(())
}

/// A reference that cannot be one names no ticket: the same answer as an
/// unknown one.
fn parse_reference(reference: &str) -> Result<String, AppError> {
    crate::domain::names::TicketRef::parse(reference)
        .map(|r| r.as_str().to_string())
        .map_err(|_| AppError::NotFound(format!("ticket '{reference}'")))
}

/// Parses a change's status or severity from API text.
pub fn parse_status(s: &str) -> Result<Status, AppError> {
    s.parse().map_err(|e: String| invalid("status", e))
}

pub fn parse_severity(n: i64) -> Result<Severity, AppError> {
    u8::try_from(n)
        .ok()
        .and_then(|n| Severity::try_from(n).ok())
        .ok_or_else(|| invalid("severity", format!("unknown severity {n}: expected 1, 2, 3 or 4")))
}
