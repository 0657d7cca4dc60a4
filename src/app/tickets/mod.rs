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

pub(in crate::app) mod access;
mod bulk;
mod change;
mod create;
mod explain;
mod files;
mod links;
mod merge;
mod notices;
mod presence;
mod query;
mod read;
mod recompute;
pub(crate) mod record;
mod reopen;
mod search;
mod time;
mod views;
mod watchers;
pub use access::TicketSharing;
pub use bulk::{BulkOutcome, BulkReport, BulkRequest, MAX_BULK};
pub(crate) use explain::holiday_set;
pub use explain::{CalendarNote, PolicyNote, SlaExplanation};
pub(in crate::app) use files::store_attachments;
pub use files::{AttachmentView, TicketMessage};
pub use links::{LinkKind, LinkView, MAX_LINKS, NewLink};
pub use merge::MergeRequest;
pub(crate) use merge::merged_into;
pub(in crate::app) use notices::enqueue_acknowledgement;
pub use presence::Present;
pub use query::MAX_OFFSET;
use read::row_view;
pub use recompute::RecomputeLine;
pub use search::{SearchHit, SearchRequest, SearchResults, SnippetPart, WINDOW as SEARCH_WINDOW};
pub use time::{EditTime, LogTime, TicketTime, TimeEntryView, parse_spent};
pub use views::*;
pub use watchers::{AddWatcher, MAX_WATCHERS, WatcherView};
pub(in crate::app) use watchers::{takes_mail_from, watch_as_approver};

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

pub(crate) fn actor_of(who: &Principal) -> Actor {
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
        EventKind::Merged { .. } => "merged",
        EventKind::Copied { .. } => "copied",
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
    wire_name(&s)
}

/// A unit variant's name as the API writes it (`breached_running`,
/// `emergency`): its serde name, one rule for every enum shown.
pub(crate) fn wire_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_state(s: &str) -> ClockState {
    serde_json::from_value(serde_json::Value::String(s.to_string())).unwrap_or(ClockState::Running)
}

/// An unassigned severity 1 ticket that has started to escalate goes to the
/// top of its queue (ordered by when it came in), until someone takes it.
/// `row` is as written by the change; `level` its escalation level now.
pub(crate) fn raise_in_queue(c: &mut DbConnection, row: &TicketRow, level: i32) -> Result<(), AppError> {
    let raised = row.severity == 1 && row.assignee_id.is_none() && level > 0 && row.sla.next_check_at.is_some();
    if raised {
        diesel::update(tickets::table.find(row.id))
            .set(tickets::queue_order_at.eq(Some(raised_order(row.received_at))))
            .execute(c)?;
    }
    Ok(())
}

/// The queue position of a raised ticket: its arrival moved a thousand
/// years back, so it sorts above every breach however long overdue (a
/// breach's position is its real instant) and raised tickets keep their
/// order of arrival among themselves. The column orders the queue and
/// nothing shows it.
/// The queue place of a ticket with nothing to watch: after every instant,
/// rather than NULL, so that every urgency order is a walk of the index
/// `(queue_order_at, id)` and not a sort of every ticket (migration 000036).
pub(crate) fn never() -> chrono::NaiveDateTime {
    chrono::NaiveDate::from_ymd_opt(9999, 12, 31)
        .expect("a date")
        .and_hms_opt(0, 0, 0)
        .expect("a time")
}

/// A queue place as stored: `never()` for none.
pub(crate) fn stored_order(at: Option<DateTime<Utc>>) -> Option<chrono::NaiveDateTime> {
    Some(at.map(naive).unwrap_or_else(never))
}

pub(crate) fn raised_order(received_at: chrono::NaiveDateTime) -> chrono::NaiveDateTime {
    received_at - chrono::Duration::days(365_250)
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
        policy_version: ticket.policy_version.clone(),
        holiday_set: holiday_set.to_string(),
        sla: sla_columns(view, now),
    }
}

/// The SLA columns of a view computed at `now`. An escalating unassigned
/// severity 1 ticket is raised to the top of its queue afterwards (see
/// `raise_in_queue`).
pub(super) fn sla_columns(view: &SlaView, now: DateTime<Utc>) -> SlaColumns {
    SlaColumns {
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
        queue_order_at: stored_order(queue_order(view)),
        sla_computed_at: naive(now),
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
                    EventKind::Commented { body, .. } | EventKind::Copied { body, .. } => Some(body.as_str()),
                    _ => None,
                },
                data: serde_json::to_string(e).expect("events serialise"),
            }
        })
        .collect()
}

/// Inserts event rows, many in one statement (`store::tickets`), and marks
/// any kept monthly report they fall in as revised.
pub(super) fn insert_event_rows(conn: &mut DbConnection, rows: &[NewEvent]) -> Result<(), diesel::result::Error> {
    crate::store::tickets::insert_events(conn, rows)?;
    // Every event is written here, so every webhook it reaches is queued
    // here, in the same transaction.
    super::webhooks::enqueue_for_events(conn, rows)?;
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
pub(crate) fn parse_reference(reference: &str) -> Result<String, AppError> {
    crate::domain::names::TicketRef::parse(reference)
        .map(|r| r.as_str().to_string())
        .map_err(|_| AppError::NotFound(format!("ticket '{reference}'")))
}

/// Parses a change's status or severity from API text.
pub fn parse_status(s: &str) -> Result<Status, AppError> {
    s.parse().map_err(|e: String| invalid("status", e))
}

/// A severity from a number, 1 to 4; anything else is a refused field.
pub fn parse_severity(n: i64) -> Result<Severity, AppError> {
    u8::try_from(n)
        .ok()
        .and_then(|n| Severity::try_from(n).ok())
        .ok_or_else(|| invalid("severity", format!("unknown severity {n}: expected 1, 2, 3 or 4")))
}
