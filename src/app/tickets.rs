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
    pub requester: String,
    /// Staff only: customers are not shown routing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    /// Staff only.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
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
}

/// How far ahead a page is given the calendar: past the due instant, so an
/// overdue count keeps going, but bounded.
const COUNTDOWN_DAYS: i64 = 14;
const COUNTDOWN_INTERVALS: usize = 64;

impl Countdown {
    fn of(c: &ClockView, calendar: &crate::domain::calendar::Calendar, now: DateTime<Utc>) -> Countdown {
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
    pub breached: Option<bool>,
    pub at_risk: Option<bool>,
    /// Text the subject contains.
    pub q: Option<String>,
    /// `next_check_at` (default: most urgent first: breached and still running,
    /// longest overdue first, then by the next warning or breach) or
    /// `created` (newest first).
    pub sort: Option<String>,
    pub limit: Option<i64>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
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
            ("sort", self.sort.as_deref() == Some("next_check_at")),
        ]
        .into_iter()
        .find(|(_, given)| *given)
        .map(|(field, _)| field)
    }
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketPage {
    pub items: Vec<TicketView>,
    pub next: Option<String>,
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
    Ok(())
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

fn parse_reference(reference: &str) -> Result<String, AppError> {
    let r = reference.trim().to_ascii_uppercase();
    let ok = r.len() >= 9 && r.starts_with("SD-") && r[3..].chars().all(|c| c.is_ascii_digit());
    if ok {
        Ok(r)
    } else {
        Err(AppError::NotFound(format!("ticket '{reference}'")))
    }
}

/// The public ticket use cases: each answers with the view the caller may see.
impl App {
    /// Raises a ticket. For customers: in their own organisation, as requester.
    pub fn create_ticket(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let v = self.create_ticket_as_stored(who, req, &[], now)?;
        self.shown_to(who, v)
    }

    /// Raises a ticket with files, as the web form sends them, in one transaction.
    pub fn create_ticket_with_files(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.check_uploads(files)?;
        let v = self.create_ticket_as_stored(who, req, files, now)?;
        self.shown_to(who, v)
    }

    /// Applies changes and adds files in one transaction (a reply with attachments).
    pub fn change_ticket_with_files(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.check_uploads(files)?;
        // A ticket's files are all shown to its customer: none may ride on an internal note.
        if !files.is_empty() && changes.iter().any(|c| matches!(c, Change::Note(_))) {
            return Err(invalid(
                "attachments",
                "files go with public replies only: the customer sees every file of a ticket",
            ));
        }
        let v = self.change_ticket_as_stored(who, reference, changes, files, None, now)?;
        self.shown_to(who, v)
    }

    /// A description, reply, note or reason within `limits.max_text_chars`.
    fn check_text_size(&self, field: &str, text: &str) -> Result<(), AppError> {
        let most = self.limits().max_text_chars;
        // Bytes bound characters from above: only a long text is counted.
        if text.len() > most && text.chars().count() > most {
            return Err(invalid(field, format!("at most {most} characters")));
        }
        Ok(())
    }

    fn check_uploads(&self, files: &[Upload]) -> Result<(), AppError> {
        let most = self.limits().max_attachments;
        if files.len() > most {
            return Err(invalid("attachments", format!("at most {most} files at once")));
        }
        let total: usize = files.iter().map(|f| f.data.len()).sum();
        if total > self.attachment_limit() {
            return Err(invalid(
                "attachments",
                format!("at most {} MB together", self.attachment_limit() / (1024 * 1024)),
            ));
        }
        for f in files {
            if f.filename.trim().is_empty() || f.filename.chars().count() > 255 {
                return Err(invalid(
                    "attachments",
                    "each file needs a name of at most 255 characters",
                ));
            }
            no_nul("attachments", &f.filename)?;
        }
        Ok(())
    }

    /// A customer's request to reopen a resolved ticket. Customers change
    /// no status (DESIGN), so the request is recorded on the ticket as their
    /// reply and sent to whoever decides (the assignee, else the queue's
    /// lead, else its members) in one transaction. Refused once the policy's
    /// reopen window has passed, saying when it closed, as an agent's reopen
    /// would be.
    pub fn ask_to_reopen(
        &self,
        who: &Principal,
        reference: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if who.role != Role::Customer {
            return Err(AppError::Forbidden("staff reopen a ticket themselves".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("reason", "say what is still wrong"));
        }
        self.check_text_size("reason", reason)?;
        no_nul("reason", reason)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            // Each request mails staff: a customer may send only so many an
            // hour, counted in the store so every process agrees.
            let per_hour = self.limits().reopen_requests_per_hour;
            let sent: i64 = crate::store::schema::audit_log::table
                .filter(crate::store::schema::audit_log::actor_id.eq(who.user_id))
                .filter(crate::store::schema::audit_log::action.eq("ticket.reopen_request"))
                .filter(crate::store::schema::audit_log::at.gt(naive(now - chrono::Duration::hours(1))))
                .count()
                .get_result(c)?;
            if sent >= i64::from(per_hour) {
                return Err(AppError::RateLimited(
                    format!("at most {per_hour} requests to reopen an hour; the desk has your earlier ones"),
                    3600,
                ));
            }
            let l = self.load_ticket(c, who, reference)?;
            if l.ticket.status != Status::Resolved {
                return Err(AppError::Conflict(format!(
                    "only a resolved ticket can be reopened; this one is {}",
                    l.ticket.status.as_str().replace('_', " ")
                )));
            }
            let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
            let ctx = SlaContext {
                policy: &l.policy,
                calendars: &calendars,
            };
            // Whether an agent could reopen it now: the window is the core's to say.
            let probe = Command {
                at: now.max(l.ticket.last_event_at()),
                by: Actor::Agent("reopen window".into()),
                action: Action::Reopen,
            };
            l.ticket.apply(&probe, &ctx)?;
            let view = self.change_ticket_in(
                c,
                who,
                reference,
                &[Change::Reply(format!("Asked to reopen: {reason}"))],
                now,
            )?;
            let queue: (String, Option<String>) = queues::table
                .left_join(users::table.on(queues::lead_id.eq(users::id.nullable())))
                .filter(queues::id.eq(l.row.queue_id))
                .select((queues::slug, users::email.nullable()))
                .first(c)?;
            let mut to: Vec<String> = view.assignee.iter().chain(queue.1.iter()).take(1).cloned().collect();
            if to.is_empty() {
                to = crate::store::schema::queue_members::table
                    .inner_join(users::table.on(crate::store::schema::queue_members::user_id.eq(users::id)))
                    .filter(crate::store::schema::queue_members::queue_id.eq(l.row.queue_id))
                    .select(users::email)
                    .load(c)?;
            }
            let notices = super::outbox::reopen_requests(
                &super::outbox::AlertedTicket {
                    id: l.row.id,
                    reference: &view.reference,
                    subject: &view.subject,
                    severity: view.severity,
                    organisation: &view.organisation,
                    queue: &queue.0,
                    assignee: view.assignee.as_deref(),
                },
                &to,
                &who.email,
                reason,
            );
            super::outbox::insert_staff_alerts(c, &notices, now)?;
            audit(
                c,
                who,
                "ticket.reopen_request",
                &format!("ticket:{}", view.reference),
                None,
                now,
            )?;
            Ok(view)
        })
        .and_then(|v| self.shown_to(who, v))
    }

    pub fn get_ticket(&self, who: &Principal, reference: &str) -> Result<TicketView, AppError> {
        let v = self.get_ticket_as_stored(who, reference)?;
        self.shown_to(who, v)
    }

    /// Applies changes to a ticket, in order, in one transaction.
    pub fn change_ticket(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let v = self.change_ticket_as_stored(who, reference, changes, &[], if_match, now)?;
        self.shown_to(who, v)
    }

    /// Lists the tickets the caller may see, filtered, most urgent first by
    /// default, with keyset pagination.
    pub fn list_tickets(&self, who: &Principal, f: &TicketFilter, now: DateTime<Utc>) -> Result<TicketPage, AppError> {
        let page = self.list_tickets_as_stored(who, f, now)?;
        Ok(TicketPage {
            items: self.all_shown_to(who, page.items)?,
            next: page.next,
        })
    }

    fn shown_to(&self, who: &Principal, v: TicketView) -> Result<TicketView, AppError> {
        Ok(self.all_shown_to(who, vec![v])?.pop().expect("one in, one out"))
    }

    /// Views as `who` may see them. A customer's `version` and `updated_at`
    /// count public events only: an internal note, a reassignment or the
    /// scheduler's warning must not show as a change (nor move the ETag).
    fn all_shown_to(&self, who: &Principal, views: Vec<TicketView>) -> Result<Vec<TicketView>, AppError> {
        let mut views: Vec<TicketView> = views.into_iter().map(|v| v.seen_by(who)).collect();
        if who.role != Role::Customer || views.is_empty() {
            return Ok(views);
        }
        let refs: Vec<&str> = views.iter().map(|v| v.reference.as_str()).collect();
        let mut conn = self.conn()?;
        let marks: Vec<(String, i64, Option<NaiveDateTime>)> = tickets::table
            .inner_join(ticket_events::table)
            .filter(tickets::reference.eq_any(&refs))
            .filter(ticket_events::visibility.eq("public"))
            .group_by(tickets::reference)
            .select((
                tickets::reference,
                diesel::dsl::count(ticket_events::seq),
                diesel::dsl::max(ticket_events::at),
            ))
            .load(&mut conn)?;
        let marks: HashMap<String, (i64, Option<NaiveDateTime>)> =
            marks.into_iter().map(|(r, n, at)| (r, (n, at))).collect();
        for v in &mut views {
            let (n, at) = marks.get(&v.reference).cloned().unwrap_or((0, None));
            v.version = n;
            v.updated_at = at.map(utc).unwrap_or(v.created_at);
        }
        Ok(views)
    }
}

impl App {
    /// The row id of a ticket `who` may see; not found otherwise, by the
    /// same rule as reading the ticket.
    pub(crate) fn visible_ticket_id(
        &self,
        conn: &mut DbConnection,
        who: &Principal,
        reference: &str,
    ) -> Result<i64, AppError> {
        let reference = parse_reference(reference)?;
        let not_found = || AppError::NotFound(format!("ticket {reference}"));
        let (id, org): (i64, i64) = tickets::table
            .filter(tickets::reference.eq(&reference))
            .select((tickets::id, tickets::organisation_id))
            .first(conn)
            .optional()?
            .ok_or_else(not_found)?;
        if who.role == Role::Customer && who.organisation_id != Some(org) {
            return Err(not_found());
        }
        Ok(id)
    }

    fn load_ticket(&self, conn: &mut DbConnection, who: &Principal, reference: &str) -> Result<Loaded, AppError> {
        let reference = parse_reference(reference)?;
        let not_found = || AppError::NotFound(format!("ticket {reference}"));
        let (row, region): (TicketRow, String) = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::reference.eq(&reference))
            .select((TicketRow::as_select(), organisations::region))
            .first(conn)
            .optional()?
            .ok_or_else(not_found)?;
        if who.role == Role::Customer && who.organisation_id != Some(row.organisation_id) {
            return Err(not_found());
        }
        let rows: Vec<String> = ticket_events::table
            .filter(ticket_events::ticket_id.eq(row.id))
            .order(ticket_events::seq)
            .select(ticket_events::data)
            .load(conn)?;
        let events: Vec<Event> = rows
            .iter()
            .map(|d| serde_json::from_str(d))
            .collect::<Result<_, _>>()
            .map_err(|e| AppError::Conflict(format!("ticket {reference} has an unreadable event: {e}")))?;
        let ticket = Ticket::replay(&events).map_err(|e| AppError::Conflict(format!("ticket {reference}: {e}")))?;
        let policy = self.policy_version(conn, &ticket.policy, &ticket.policy_version)?;
        let region = Region::from_str(&region).map_err(|e| AppError::Conflict(e.to_string()))?;
        Ok(Loaded {
            row,
            ticket,
            policy,
            region,
        })
    }

    /// A ticket's view in one query: its row and the names it refers to.
    fn view_of(&self, conn: &mut DbConnection, row: &TicketRow) -> Result<TicketView, AppError> {
        let (org, requester, queue, assignee): (String, String, String, Option<String>) = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::id.eq(row.id))
            .select((
                organisations::slug,
                users::email,
                queues::slug,
                assignees.field(users::email).nullable(),
            ))
            .first(conn)?;
        Ok(row_view(row, org, requester, queue, assignee))
    }

    /// Raises a ticket. For customers: in their own organisation, as requester.
    fn create_ticket_as_stored(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if req.subject.trim().is_empty() {
            return Err(invalid("subject", "must not be empty"));
        }
        if req.subject.chars().count() > MAX_SUBJECT {
            return Err(invalid("subject", format!("at most {MAX_SUBJECT} characters")));
        }
        if req.description.trim().is_empty() {
            return Err(invalid("description", "must not be empty"));
        }
        self.check_text_size("description", &req.description)?;
        no_nul("subject", &req.subject)?;
        no_nul("description", &req.description)?;
        let source = req.source.clone().unwrap_or_else(|| "api".into());
        if !matches!(source.as_str(), "email" | "web" | "api" | "phone") {
            return Err(invalid("source", "expected email, web, api or phone"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (req, asked) = self.customer_choices(c, who, req.clone())?;
            let v = self.create_ticket_in(c, who, &req, &source, now)?;
            self.store_uploads(c, &v.reference, files, now)?;
            if let Some(asked) = asked.filter(|a| i32::from(a.number()) != v.severity) {
                // As for mail: agents decide, and are told what was asked.
                let note = format!(
                    "The customer asked for severity {}, but {} may not declare severity, so the queue's default \
                     applies. Change it if the request warrants it.",
                    asked.number(),
                    v.organisation
                );
                return self.change_ticket_in(
                    c,
                    &super::Principal::operator(),
                    &v.reference,
                    &[Change::Note(note)],
                    now,
                );
            }
            Ok(v)
        })
    }

    /// Whether a customer's organisation may declare a ticket's severity
    /// (staff always set it): the page asks for one only then.
    pub fn may_declare_severity(&self, who: &Principal) -> Result<bool, AppError> {
        if who.role != Role::Customer {
            return Ok(true);
        }
        let mut conn = self.conn()?;
        Ok(organisations::table
            .find(who.organisation_id.unwrap_or(-1))
            .select(organisations::may_declare_severity)
            .first(&mut conn)
            .optional()?
            .unwrap_or(false))
    }

    /// What a customer may choose when raising a ticket: a queue only among
    /// those marked customer-selectable (an unknown slug gets the same
    /// answer, so slugs cannot be enumerated), and a severity only where
    /// their organisation may declare one; otherwise the severity they
    /// asked for is set aside (returned) and the queue's default applies.
    fn customer_choices(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        mut req: NewTicketRequest,
    ) -> Result<(NewTicketRequest, Option<Severity>), AppError> {
        if who.role != Role::Customer {
            return Ok((req, None));
        }
        if let Some(slug) = &req.queue {
            let selectable: i64 = queues::table
                .filter(queues::slug.eq(slug))
                .filter(queues::customer_selectable.eq(true))
                .count()
                .get_result(c)?;
            if selectable == 0 {
                return Err(invalid("queue", "not a queue you can choose; leave it out"));
            }
        }
        let may_declare: bool = organisations::table
            .find(who.organisation_id.unwrap_or(-1))
            .select(organisations::may_declare_severity)
            .first(c)
            .optional()?
            .unwrap_or(false);
        let asked = if may_declare { None } else { req.severity.take() };
        Ok((req, asked))
    }

    fn store_uploads(
        &self,
        c: &mut DbConnection,
        reference: &str,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if files.is_empty() {
            return Ok(());
        }
        let id: i64 = tickets::table
            .filter(tickets::reference.eq(reference))
            .select(tickets::id)
            .first(c)?;
        let files: Vec<(String, String, &[u8])> = files
            .iter()
            .map(|f| (f.filename.clone(), f.content_type.clone(), f.data.as_slice()))
            .collect();
        super::intake::store_attachments(c, id, None, &files, now)
    }

    /// Raises a validated ticket inside the caller's write transaction, so
    /// mail intake can record the message in the same transaction.
    pub(crate) fn create_ticket_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        req: &NewTicketRequest,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let (org, requester) = match who.role {
            Role::Customer => {
                if req.organisation.is_some() || req.requester.is_some() {
                    return Err(AppError::Forbidden(
                        "customers raise tickets for themselves: leave out organisation and requester".into(),
                    ));
                }
                let org: Organisation = organisations::table
                    .find(who.organisation_id.unwrap_or(-1))
                    .select(Organisation::as_select())
                    .first(c)?;
                (org, self.user_by_email(c, &who.email)?)
            }
            _ => {
                let slug = req
                    .organisation
                    .as_deref()
                    .ok_or_else(|| invalid("organisation", "required when staff raise a ticket"))?;
                let org = self
                    .organisation_by_slug(c, slug)
                    .map_err(|_| invalid("organisation", format!("unknown organisation '{slug}'")))?;
                let email = req
                    .requester
                    .as_deref()
                    .ok_or_else(|| invalid("requester", "required when staff raise a ticket"))?;
                let requester = self
                    .user_by_email(c, email)
                    .map_err(|_| invalid("requester", format!("unknown contact '{email}'")))?;
                if requester.organisation_id != Some(org.id) {
                    return Err(invalid("requester", format!("'{email}' is not a contact of {slug}")));
                }
                (org, requester)
            }
        };
        if org.status == "terminated" {
            return Err(AppError::Forbidden(format!("organisation {} is terminated", org.slug)));
        }
        let queue: Queue = match &req.queue {
            Some(slug) => queues::table
                .filter(queues::slug.eq(slug))
                .select(Queue::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| invalid("queue", format!("unknown queue '{slug}'")))?,
            None => queues::table
                .order(queues::id)
                .select(Queue::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| AppError::Conflict("no queue exists yet: an admin must create one".into()))?,
        };
        let severity = match req.severity {
            Some(s) => s,
            None => Severity::try_from(queue.default_severity as u8).map_err(AppError::Conflict)?,
        };
        let policy = self
            .policies
            .effective(&org.tier, now)
            .map_err(|e| AppError::Conflict(format!("organisation {}: {e}", org.slug)))?;
        let region: Region = org
            .region
            .parse()
            .map_err(|e: crate::domain::holidays::UnknownRegion| AppError::Conflict(e.to_string()))?;
        let calendars = self.calendars(c, policy, region, &self.holiday_set)?;
        let ctx = SlaContext {
            policy,
            calendars: &calendars,
        };
        let ticket = Ticket::create_in(now, actor_of(who), severity, policy, Some(queue.slug.clone()));
        let report = Command {
            at: now,
            by: Actor::Customer(requester.id.to_string()),
            action: Action::CustomerReply {
                body: req.description.clone(),
            },
        };
        let (ticket, more) = ticket.apply(&report, &ctx)?;
        let view = sla(&ticket, &ctx, now).map_err(|e| AppError::Conflict(e.to_string()))?;

        let mut raw = [0u8; 12];
        rand::fill(&mut raw);
        let placeholder = format!("new-{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        diesel::insert_into(tickets::table)
            .values(NewTicket {
                reference: &placeholder,
                organisation_id: org.id,
                requester_id: requester.id,
                queue_id: queue.id,
                severity: severity.number() as i32,
                status: ticket.status.as_str(),
                subject: req.subject.trim(),
                source,
                received_at: naive(now),
                created_at: naive(now),
                updated_at: naive(now),
                policy: &policy.name,
                policy_version: &policy.version,
                holiday_set: &self.holiday_set,
                row_version: 0,
                reopen_count: 0,
                response_state: "running",
                response_elapsed_seconds: 0,
                resolve_state: "running",
                resolve_elapsed_seconds: 0,
                sla_computed_at: naive(now),
            })
            .execute(c)?;
        let id: i64 = tickets::table
            .filter(tickets::reference.eq(&placeholder))
            .select(tickets::id)
            .first(c)?;
        let reference = format!("SD-{id:06}");
        let state = state_row(&ticket, &view, queue.id, None, 1, &self.holiday_set, now);
        diesel::update(tickets::table.find(id))
            .set((tickets::reference.eq(&reference), state))
            .execute(c)?;
        let mut events = vec![ticket.events[0].clone()];
        events.extend(more);
        insert_events(c, id, 1, &events)?;
        audit(c, who, "ticket.create", &format!("ticket:{reference}"), None, now)?;
        // Everything the view shows is in hand: no need to read it back.
        let row = TicketRow {
            id,
            reference,
            organisation_id: org.id,
            requester_id: requester.id,
            queue_id: queue.id,
            assignee_id: None,
            severity: severity.number() as i32,
            status: ticket.status.as_str().to_string(),
            subject: req.subject.trim().to_string(),
            source: source.to_string(),
            received_at: naive(now),
            created_at: naive(now),
            updated_at: naive(now),
            policy: policy.name.clone(),
            policy_version: policy.version.clone(),
            holiday_set: self.holiday_set.clone(),
            row_version: 1,
            first_response_at: None,
            resolved_at: None,
            reopen_count: 0,
            response_state: state_name(view.response.state),
            response_elapsed_seconds: view.response.elapsed_seconds,
            response_due_at: view.response.due.map(naive),
            response_breached_at: view.response.breached_at.map(naive),
            resolve_state: state_name(view.resolve.state),
            resolve_elapsed_seconds: view.resolve.elapsed_seconds,
            resolve_due_at: view.resolve.due.map(naive),
            resolve_breached_at: view.resolve.breached_at.map(naive),
            at_risk_at: at_risk_at(&view).map(naive),
            next_check_at: view.next_check_at.map(naive),
            sla_computed_at: naive(now),
            escalation_level: 0,
            queue_order_at: queue_order(&view).map(naive),
        };
        Ok(row_view(
            &row,
            org.slug.clone(),
            requester.email.clone(),
            queue.slug.clone(),
            None,
        ))
    }

    fn get_ticket_as_stored(&self, who: &Principal, reference: &str) -> Result<TicketView, AppError> {
        let mut conn = self.conn()?;
        let reference = parse_reference(reference)?;
        let found: Option<(TicketRow, String, String, String, Option<String>)> = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::reference.eq(&reference))
            .select((
                TicketRow::as_select(),
                organisations::slug,
                users::email,
                queues::slug,
                assignees.field(users::email).nullable(),
            ))
            .first(&mut conn)
            .optional()?;
        match found {
            Some((row, org, requester, queue, assignee))
                if who.role != Role::Customer || who.organisation_id == Some(row.organisation_id) =>
            {
                Ok(row_view(&row, org, requester, queue, assignee))
            }
            _ => Err(AppError::NotFound(format!("ticket {reference}"))),
        }
    }

    /// The timeline; customers see public events only.
    /// A ticket's whole timeline, for the export (which writes every event).
    pub fn ticket_events(&self, who: &Principal, reference: &str) -> Result<Vec<EventView>, AppError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.ticket_events_page(who, reference, EventCursor::After(after), 1000)?;
            all.extend(page.items);
            match page.next_after {
                Some(n) => after = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// One page of a ticket's timeline, oldest first: at most `limit` events
    /// (capped at 1000) where the cursor says, with cursors to the pages on
    /// either side. Customers see public events only, and the cursors count
    /// only those.
    pub fn ticket_events_page(
        &self,
        who: &Principal,
        reference: &str,
        cursor: EventCursor,
        limit: usize,
    ) -> Result<EventPage, AppError> {
        let limit = limit.clamp(1, 1000);
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        let mut q = ticket_events::table
            .left_join(users::table.on(ticket_events::actor_id.eq(users::id.nullable())))
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .limit(limit as i64 + 1)
            .into_boxed();
        q = match cursor {
            EventCursor::After(a) => q
                .filter(ticket_events::seq.gt(a.unwrap_or(-1)))
                .order(ticket_events::seq),
            EventCursor::Before(b) => q
                .filter(ticket_events::seq.lt(b.unwrap_or(i32::MAX)))
                .order(ticket_events::seq.desc()),
        };
        if who.role == Role::Customer {
            q = q.filter(ticket_events::visibility.eq("public"));
        }
        let mut rows: Vec<(EventRow, Option<String>)> = q
            .select((EventRow::as_select(), users::email.nullable()))
            .load(&mut conn)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let backwards = matches!(cursor, EventCursor::Before(_));
        if backwards {
            rows.reverse();
        }
        let (first, last) = (rows.first().map(|r| r.0.seq), rows.last().map(|r| r.0.seq));
        let (next_after, previous_before) = match cursor {
            EventCursor::After(a) => (last.filter(|_| more), a.and(first)),
            EventCursor::Before(b) => (b.and(last), first.filter(|_| more)),
        };
        let items = rows
            .into_iter()
            .map(|(e, email)| {
                EventView {
                    seq: e.seq,
                    at: utc(e.at),
                    actor: email,
                    actor_role: e.actor_role,
                    kind: e.kind,
                    visibility: e.visibility,
                    body: e.body,
                    data: serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null),
                }
                .seen_by(who)
            })
            .collect();
        Ok(EventPage {
            items,
            next_after,
            previous_before,
        })
    }

    /// The SLA as the core computes it now.
    pub fn ticket_sla(&self, who: &Principal, reference: &str, now: DateTime<Utc>) -> Result<SlaDetail, AppError> {
        self.ticket_sla_with_countdowns(who, reference, now).map(|(d, _)| d)
    }

    /// The SLA as the core computes it now, with what a page needs to count
    /// each running clock down: the calendar's open intervals from now on.
    pub fn ticket_sla_with_countdowns(
        &self,
        who: &Principal,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(SlaDetail, [Countdown; 2]), AppError> {
        let mut conn = self.conn()?;
        let l = self.load_ticket(&mut conn, who, reference)?;
        let calendars = self.calendars(&mut conn, &l.policy, l.region, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        let now = now.max(l.ticket.last_event_at());
        let v = sla(&l.ticket, &ctx, now).map_err(|e| AppError::Conflict(e.to_string()))?;
        let targets = l.policy.targets(l.ticket.severity);
        let calendar = calendars.get(targets.calendar);
        let countdowns = [
            Countdown::of(&v.response, calendar, now),
            Countdown::of(&v.resolve, calendar, now),
        ];
        let customer = who.role == Role::Customer;
        let detail = |mut c: ClockView| {
            // The escalation thresholds are the desk's own timing: a
            // customer sees targets and due instants, not when staff are warned.
            if customer {
                c.at_risk.clear();
            }
            ClockDetail {
                remaining_seconds: c.target_seconds.map(|t| (t - c.elapsed_seconds).max(0)),
                clock: c,
            }
        };
        let detail = SlaDetail {
            reference: l.row.reference.clone(),
            computed_at: now,
            policy: l.policy.name.clone(),
            policy_version: l.policy.version.clone(),
            calendar: match targets.calendar {
                crate::domain::policy::CalendarChoice::Business => "business".into(),
                crate::domain::policy::CalendarChoice::Always => "24x7".into(),
            },
            time_zone: l.policy.time_zone.name().to_string(),
            region: l.region.as_str().to_string(),
            severity: l.ticket.severity.number() as i32,
            next_check_at: v.next_check_at.filter(|_| !customer),
            response: detail(v.response),
            resolve: detail(v.resolve),
        };
        Ok((detail, countdowns))
    }

    /// Applies changes to a ticket, in order, in one transaction.
    fn change_ticket_as_stored(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        files: &[Upload],
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if changes.is_empty() {
            return Err(invalid("(body)", "nothing to change"));
        }
        for ch in changes {
            if let Change::Reply(b) | Change::Note(b) = ch {
                if b.trim().is_empty() {
                    return Err(invalid("body", "must not be empty"));
                }
                self.check_text_size("body", b)?;
                no_nul("body", b)?;
            }
        }
        let mut conn = self.conn()?;
        for _ in 0..RETRIES {
            let attempt = conn.write(|c| {
                let v = self.try_change(c, who, reference, changes, if_match, now)?;
                self.store_uploads(c, &v.reference, files, now)?;
                Ok::<_, Attempt>(v)
            });
            match attempt {
                Ok(v) => return Ok(v),
                Err(Attempt::Retry) if if_match.is_none() => continue,
                Err(Attempt::Retry) => {
                    return Err(AppError::Conflict("the ticket changed meanwhile: read it again".into()));
                }
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(AppError::Conflict("the ticket is too busy: try again".into()))
    }

    /// Applies changes inside the caller's write transaction (the ticket row
    /// is locked there, so no retry is needed).
    pub(crate) fn change_ticket_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        match self.try_change(c, who, reference, changes, None, now) {
            Ok(v) => Ok(v),
            Err(Attempt::Retry) => Err(AppError::Conflict("the ticket changed meanwhile: try again".into())),
            Err(Attempt::Failed(e)) => Err(e),
        }
    }

    fn try_change(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<TicketView, Attempt> {
        c.lock_ticket(&parse_reference(reference)?)?;
        let l = self.load_ticket(c, who, reference)?;
        if let Some(v) = if_match
            && v != l.row.row_version
        {
            return Err(AppError::Conflict(format!(
                "the ticket is at version {}, not {v}: read it again",
                l.row.row_version
            ))
            .into());
        }
        let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        // Commands are ordered per ticket: a request that started a moment
        // before the last committed change is applied just after it.
        let at = now.max(l.ticket.last_event_at());
        let actor = actor_of(who);
        let mut ticket = l.ticket.clone();
        let mut events = Vec::new();
        let mut assignee_id = l.row.assignee_id;
        let mut queue_id = l.row.queue_id;
        for ch in changes {
            let action = match ch {
                Change::Reply(body) => match who.role {
                    Role::Customer => Action::CustomerReply { body: body.clone() },
                    _ => Action::AgentReply { body: body.clone() },
                },
                Change::Note(body) => Action::InternalNote { body: body.clone() },
                Change::Status(s) => Action::SetStatus { to: *s },
                Change::Severity(s) => Action::SetSeverity { to: *s },
                Change::Assign(None) => {
                    assignee_id = None;
                    Action::Assign { to: None }
                }
                Change::Assign(Some(email)) => {
                    if who.role == Role::Customer {
                        return Err(AppError::Forbidden("a customer cannot assign a ticket".into()).into());
                    }
                    let u = self
                        .user_by_email(c, email)
                        .map_err(|_| invalid("assignee", format!("unknown user '{email}'")))?;
                    if u.role == "customer" || u.disabled {
                        return Err(invalid("assignee", format!("'{email}' is not an active member of staff")).into());
                    }
                    assignee_id = Some(u.id);
                    Action::Assign {
                        to: Some(u.id.to_string()),
                    }
                }
                Change::Queue(slug) => {
                    if who.role == Role::Customer {
                        return Err(AppError::Forbidden("a customer cannot move a ticket".into()).into());
                    }
                    let q: Queue = queues::table
                        .filter(queues::slug.eq(slug))
                        .select(Queue::as_select())
                        .first(c)
                        .optional()
                        .map_err(AppError::from)?
                        .ok_or_else(|| invalid("queue", format!("unknown queue '{slug}'")))?;
                    queue_id = q.id;
                    Action::MoveQueue { to: q.slug }
                }
                Change::Resolve => Action::Resolve,
                Change::Reopen => Action::Reopen,
                Change::Close => Action::Close,
                Change::Cancel => Action::Cancel,
            };
            let (next, evs) = ticket
                .apply(
                    &Command {
                        at,
                        by: actor.clone(),
                        action,
                    },
                    &ctx,
                )
                .map_err(AppError::from)?;
            ticket = next;
            events.extend(evs);
        }
        let view = sla(&ticket, &ctx, at).map_err(|e| AppError::Conflict(e.to_string()))?;
        insert_events(c, l.row.id, l.ticket.events.len() + 1, &events)?;
        let updated = diesel::update(
            tickets::table
                .find(l.row.id)
                .filter(tickets::row_version.eq(l.row.row_version)),
        )
        .set(state_row(
            &ticket,
            &view,
            queue_id,
            assignee_id,
            l.row.row_version + 1,
            &l.row.holiday_set,
            at,
        ))
        .execute(c)?;
        if updated == 0 {
            return Err(Attempt::Retry);
        }
        let summary: Vec<&str> = events.iter().map(|e| event_kind_name(&e.kind)).collect();
        audit(
            c,
            who,
            "ticket.change",
            &format!("ticket:{}", l.row.reference),
            Some(&summary.join(",")),
            now,
        )?;
        let row: TicketRow = tickets::table
            .find(l.row.id)
            .select(TicketRow::as_select())
            .first(c)
            .map_err(AppError::from)?;
        let out = self.view_of(c, &row)?;
        // Alerts (and so escalation) come only from the scheduler's tick;
        // other changes keep the level, and may take a ticket off the top.
        super::sla_tick::raise_in_queue(c, &row, row.escalation_level)?;
        // The requester hears of it in the same transaction as the change.
        // Only a reply or a status change tells the requester anything; the
        // scheduler's ticks (alerts only) skip the lookups.
        let tells_requester = events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::StatusChanged { .. }
                    | EventKind::Commented {
                        visibility: crate::domain::ticket::Visibility::Public,
                        ..
                    }
            )
        });
        if !tells_requester {
            return Ok(out);
        }
        let requester: User = users::table
            .find(row.requester_id)
            .select(User::as_select())
            .first(c)
            .map_err(AppError::from)?;
        let by_name = if who.user_id > 0 {
            self.user_by_email(c, &who.email)
                .map(|u| u.name)
                .unwrap_or_else(|_| "The service desk".into())
        } else {
            "The service desk".into()
        };
        let reopen_until = match (ticket.resolved_at, ticket.status) {
            (Some(at), crate::domain::ticket::Status::Resolved) => l
                .policy
                .reopen_window
                .to_seconds(ctx.business().standard_day_seconds())
                .and_then(|w| ctx.business().add_seconds(at.timestamp(), w).ok())
                .and_then(|t| DateTime::from_timestamp(t, 0)),
            _ => None,
        };
        super::outbox::enqueue_change_notice(
            c,
            &super::outbox::ChangeNotice {
                ticket_id: row.id,
                view: &out,
                requester: &requester,
                by_name: &by_name,
                by_customer: who.role == Role::Customer,
                events: &events,
                reopen_until,
                reopen_window: l.policy.reopen_window.to_string(),
            },
            now,
        )?;
        Ok(out)
    }

    /// Lists the tickets the caller may see, filtered, most urgent first by
    /// default, with keyset pagination.
    fn list_tickets_as_stored(
        &self,
        who: &Principal,
        f: &TicketFilter,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, AppError> {
        let limit = f.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "expected 1 to 200"));
        }
        let customer = who.role == Role::Customer;
        // Routing, assignment and escalation timing are the desk's own: as
        // filters they would answer questions about them, and the queue
        // order (whose cursor carries the next warning's instant) too.
        if customer && let Some(field) = f.staff_only_given() {
            return Err(AppError::NotForCaller {
                field: field.into(),
                message: "a filter for staff only".into(),
            });
        }
        let by_created = match f.sort.as_deref() {
            None => customer,
            Some("next_check_at") => false,
            Some("created") => true,
            Some(other) => {
                return Err(invalid(
                    "sort",
                    format!("unknown sort '{other}': expected next_check_at or created"),
                ));
            }
        };
        let mut conn = self.conn()?;
        let c = &mut conn;
        let mut q = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .into_boxed();
        if who.role == Role::Customer {
            q = q.filter(tickets::organisation_id.eq(who.organisation_id.unwrap_or(-1)));
        }
        if let Some(s) = &f.status {
            if s == "active" {
                let done = [Status::Resolved, Status::Closed, Status::Cancelled].map(|s| s.as_str());
                q = q.filter(tickets::status.ne_all(done));
            } else {
                let st: Status = s.parse().map_err(|e: String| invalid("status", e))?;
                q = q.filter(tickets::status.eq(st.as_str()));
            }
        }
        if let Some(t) = &f.tier {
            q = q.filter(organisations::tier.eq(t.clone()));
        }
        if let Some(s) = f.severity {
            if !(1..=4).contains(&s) {
                return Err(invalid("severity", "expected 1, 2, 3 or 4"));
            }
            q = q.filter(tickets::severity.eq(s));
        }
        if let Some(slug) = &f.queue {
            q = q.filter(queues::slug.eq(slug.clone()));
        }
        if let Some(slug) = &f.organisation {
            q = q.filter(organisations::slug.eq(slug.clone()));
        }
        if let Some(a) = &f.assignee {
            q = match a.as_str() {
                "none" => q.filter(tickets::assignee_id.is_null()),
                "me" => q.filter(tickets::assignee_id.eq(who.user_id)),
                email => {
                    let id = self.user_by_email(c, email).map(|u| u.id).unwrap_or(-1);
                    q.filter(tickets::assignee_id.eq(id))
                }
            };
        }
        if let Some(b) = f.breached {
            let breached = tickets::response_breached_at
                .is_not_null()
                .or(tickets::resolve_breached_at.is_not_null());
            q = if b {
                q.filter(breached)
            } else {
                q.filter(diesel::dsl::not(breached))
            };
        }
        if let Some(b) = f.at_risk {
            let not_breached = tickets::response_breached_at
                .is_null()
                .and(tickets::resolve_breached_at.is_null());
            let risky = tickets::at_risk_at.le(naive(now)).and(not_breached);
            q = if b {
                q.filter(risky)
            } else {
                q.filter(diesel::dsl::not(risky.assume_not_null()).or(tickets::at_risk_at.is_null()))
            };
        }
        if let Some(text) = &f.q {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(lower(tickets::subject).like(format!("%{escaped}%")).escape('\\'));
        }
        // Keyset pagination: the cursor is the last row's sort key and id.
        let cursor = match &f.after {
            None => None,
            Some(s) => Some(Cursor::parse(s).ok_or_else(|| invalid("after", "not a cursor this API gave out"))?),
        };
        if by_created {
            if let Some(Cursor { at: Some(at), id }) = cursor {
                q = q.filter(
                    tickets::created_at
                        .lt(at)
                        .or(tickets::created_at.eq(at).and(tickets::id.lt(id))),
                );
            }
            q = q.order((tickets::created_at.desc(), tickets::id.desc()));
        } else {
            match cursor {
                Some(Cursor { at: Some(at), id }) => {
                    q = q.filter(
                        tickets::queue_order_at
                            .gt(at)
                            .or(tickets::queue_order_at.eq(at).and(tickets::id.gt(id)))
                            .or(tickets::queue_order_at.is_null()),
                    )
                }
                Some(Cursor { at: None, id }) => {
                    q = q.filter(tickets::queue_order_at.is_null().and(tickets::id.gt(id)))
                }
                None => {}
            }
            // Queue order: the nearest warning or breach first, an unassigned
            // severity 1 ticket that has begun to escalate above all; NULLs
            // (nothing to watch) last, on both backends.
            q = q.order((
                tickets::queue_order_at.is_null(),
                tickets::queue_order_at.asc(),
                tickets::id.asc(),
            ));
        }
        let rows: Vec<(TicketRow, String, String, String, Option<String>)> = q
            .limit(limit + 1)
            .select((
                TicketRow::as_select(),
                organisations::slug,
                users::email,
                queues::slug,
                assignees.field(users::email).nullable(),
            ))
            .load(c)?;
        let more = rows.len() as i64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        let next = if more {
            rows.last().map(|(r, ..)| {
                Cursor {
                    at: if by_created {
                        Some(r.created_at)
                    } else {
                        r.queue_order_at
                    },
                    id: r.id,
                }
                .encode()
            })
        } else {
            None
        };
        let items = rows
            .iter()
            .map(|(r, org, requester, queue, assignee)| {
                row_view(r, org.clone(), requester.clone(), queue.clone(), assignee.clone())
            })
            .collect();
        Ok(TicketPage { items, next })
    }
}

fn row_view(
    row: &TicketRow,
    organisation: String,
    requester: String,
    queue: String,
    assignee: Option<String>,
) -> TicketView {
    let clock = |state: &str, elapsed, due: Option<NaiveDateTime>, breached: Option<NaiveDateTime>| ClockSummary {
        state: parse_state(state),
        elapsed_seconds: Some(elapsed),
        due_at: due.map(utc),
        breached_at: breached.map(utc),
    };
    TicketView {
        reference: row.reference.clone(),
        subject: row.subject.clone(),
        status: row.status.clone(),
        severity: row.severity,
        source: row.source.clone(),
        organisation,
        requester,
        queue: Some(queue),
        assignee,
        received_at: utc(row.received_at),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        first_response_at: row.first_response_at.map(utc),
        resolved_at: row.resolved_at.map(utc),
        reopen_count: row.reopen_count,
        version: row.row_version,
        policy: row.policy.clone(),
        response: clock(
            &row.response_state,
            row.response_elapsed_seconds,
            row.response_due_at,
            row.response_breached_at,
        ),
        resolve: clock(
            &row.resolve_state,
            row.resolve_elapsed_seconds,
            row.resolve_due_at,
            row.resolve_breached_at,
        ),
        at_risk_at: row.at_risk_at.map(utc),
        next_check_at: row.next_check_at.map(utc),
        escalation_level: Some(row.escalation_level),
    }
}

/// An opaque page cursor: `<unix seconds or ->.<id>`.
struct Cursor {
    at: Option<NaiveDateTime>,
    id: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        match self.at {
            Some(t) => format!("{}.{}", t.and_utc().timestamp(), self.id),
            None => format!("-.{}", self.id),
        }
    }

    fn parse(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        let id = b.parse().ok()?;
        let at = match a {
            "-" => None,
            n => Some(DateTime::from_timestamp(n.parse().ok()?, 0)?.naive_utc()),
        };
        Some(Cursor { at, id })
    }
}

/// What a recompute did (or would do) to one ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecomputeLine {
    pub reference: String,
    pub old_policy: String,
    pub new_policy: String,
    pub old_response_due: Option<DateTime<Utc>>,
    pub new_response_due: Option<DateTime<Utc>>,
    pub old_resolve_due: Option<DateTime<Utc>>,
    pub new_resolve_due: Option<DateTime<Utc>>,
    pub old_breached: bool,
    pub new_breached: bool,
    /// Fingerprints of the holiday data before and after.
    pub old_holidays: String,
    pub new_holidays: String,
    pub changed: bool,
    pub applied: bool,
}

impl App {
    /// Recomputes the clocks of tickets not yet closed or cancelled on the
    /// policy version now in force for their receipt day and the current
    /// holiday data; `dry_run` only reports. Each changed ticket gets a
    /// timeline event and an audit row, in its own transaction.
    pub fn recompute(
        &self,
        who: &Principal,
        organisation: Option<&str>,
        reference: Option<&str>,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecomputeLine>, AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        let mut q = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::status.ne_all(["closed", "cancelled"]))
            .into_boxed();
        if let Some(slug) = organisation {
            self.organisation_by_slug(&mut conn, slug)?;
            q = q.filter(organisations::slug.eq(slug.to_string()));
        }
        if let Some(r) = reference {
            q = q.filter(tickets::reference.eq(parse_reference(r)?));
        }
        let refs: Vec<String> = q.order(tickets::id).select(tickets::reference).load(&mut conn)?;
        if let Some(r) = reference
            && refs.is_empty()
        {
            return Err(AppError::NotFound(format!("open ticket {r}")));
        }
        let mut out = Vec::with_capacity(refs.len());
        for r in refs {
            let line = conn.write(|c| -> Result<RecomputeLine, AppError> {
                c.lock_ticket(&r)?;
                let l = self.load_ticket(c, who, &r)?;
                let tier: String = organisations::table
                    .find(l.row.organisation_id)
                    .select(organisations::tier)
                    .first(c)?;
                let policy = self
                    .policies
                    .effective(&tier, l.ticket.received_at)
                    .map_err(|e| AppError::Conflict(format!("{r}: {e}")))?
                    .clone();
                let calendars = self.calendars(c, &policy, l.region, &self.holiday_set)?;
                let ctx = SlaContext {
                    policy: &policy,
                    calendars: &calendars,
                };
                let at = now.max(l.ticket.last_event_at());
                let cmd = Command {
                    at,
                    by: actor_of(who),
                    action: Action::Recompute,
                };
                let (ticket, events) = l.ticket.apply(&cmd, &ctx)?;
                let view = sla(&ticket, &ctx, at).map_err(|e| AppError::Conflict(e.to_string()))?;
                let old_breached = l.row.response_breached_at.is_some() || l.row.resolve_breached_at.is_some();
                let new_breached = view.response.breached_at.is_some() || view.resolve.breached_at.is_some();
                let mut line = RecomputeLine {
                    reference: r.clone(),
                    old_policy: format!("{}@{}", l.row.policy, l.row.policy_version),
                    new_policy: format!("{}@{}", policy.name, policy.version),
                    old_response_due: l.row.response_due_at.map(utc),
                    new_response_due: view.response.due,
                    old_resolve_due: l.row.resolve_due_at.map(utc),
                    new_resolve_due: view.resolve.due,
                    old_breached,
                    new_breached,
                    old_holidays: l.row.holiday_set.clone(),
                    new_holidays: self.holiday_set.clone(),
                    changed: false,
                    applied: false,
                };
                line.changed = line.old_policy != line.new_policy
                    || line.old_holidays != line.new_holidays
                    || line.old_response_due != line.new_response_due
                    || line.old_resolve_due != line.new_resolve_due
                    || old_breached != new_breached;
                if line.changed && !dry_run {
                    insert_events(c, l.row.id, l.ticket.events.len() + 1, &events)?;
                    let mut state = state_row(
                        &ticket,
                        &view,
                        l.row.queue_id,
                        l.row.assignee_id,
                        l.row.row_version + 1,
                        &self.holiday_set,
                        at,
                    );
                    state.policy_version = policy.version.clone();
                    diesel::update(tickets::table.find(l.row.id))
                        .set((state, tickets::policy.eq(&policy.name)))
                        .execute(c)?;
                    let detail = format!(
                        "{} -> {}; holidays {} -> {}",
                        line.old_policy, line.new_policy, line.old_holidays, line.new_holidays
                    );
                    audit(c, who, "ticket.recompute", &format!("ticket:{r}"), Some(&detail), now)?;
                    line.applied = true;
                }
                Ok(line)
            })?;
            out.push(line);
        }
        Ok(out)
    }
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
