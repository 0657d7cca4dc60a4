//! The lifecycle beside a ticket that is not an incident. A service
//! request, a problem or a change is a ticket row like an incident (one
//! reference series, queue, watchers, links, search, the conversation in
//! `ticket_events`); its type's own lifecycle (`domain::itil`) is a second
//! event stream in `itil_events`, replayed by the type, with what lists and
//! calendars need of it in `itil_records`. Both are written in the ticket's
//! transaction, with the ticket row locked.
//!
//! The incident's response and resolve clocks do not run for the other
//! types: their SLA columns say `cancelled` with nothing due, the row's
//! status is the type's status, and its place in the queue is the record's
//! due time (a request's fulfilment, a problem's target, a change's window).

use serde::de::DeserializeOwned;

use super::*;
use crate::domain::itil::change::{Change as ChangeRecord, ChangeAction, ChangeEvent};
use crate::domain::itil::problem::{Problem, ProblemAction, ProblemEvent};
use crate::domain::itil::request::{RequestAction, RequestEvent, RequestStatus, ServiceRequest};
use crate::domain::itil::{Refused, TicketType};
use crate::store::schema::{itil_events, itil_records};

/// One of the three lifecycles, as the store keeps it.
pub(crate) trait Lifecycle: Sized + Clone {
    type Event: Serialize + DeserializeOwned + Clone;
    type Action;
    const TYPE: TicketType;
    fn replay(events: &[Self::Event]) -> Option<Self>;
    fn decide(&self, at: DateTime<Utc>, by: &Actor, action: &Self::Action) -> Result<Vec<Self::Event>, Refused>;
    fn evolve(&mut self, e: &Self::Event);
    fn last_at(&self) -> DateTime<Utc>;
    fn event_at(e: &Self::Event) -> DateTime<Utc>;
    fn count(&self) -> usize;
}

/// The three lifecycles share their shape: a record type, its event and
/// action types, and the core's functions of the same names.
macro_rules! lifecycle {
    ($record:ident, $event:ident, $action:ident, $type:expr) => {
        impl Lifecycle for $record {
            type Event = $event;
            type Action = $action;
            const TYPE: TicketType = $type;
            fn replay(events: &[$event]) -> Option<Self> {
                $record::replay(events).ok()
            }
            fn decide(&self, at: DateTime<Utc>, by: &Actor, a: &$action) -> Result<Vec<$event>, Refused> {
                $record::decide(self, at, by, a)
            }
            fn event_at(e: &$event) -> DateTime<Utc> {
                e.at
            }
            fn evolve(&mut self, e: &$event) {
                $record::evolve(self, e)
            }
            fn last_at(&self) -> DateTime<Utc> {
                self.last_event_at()
            }
            fn count(&self) -> usize {
                self.events.len()
            }
        }
    };
}

lifecycle!(ServiceRequest, RequestEvent, RequestAction, TicketType::ServiceRequest);
lifecycle!(Problem, ProblemEvent, ProblemAction, TicketType::Problem);
lifecycle!(ChangeRecord, ChangeEvent, ChangeAction, TicketType::Change);

/// A ticket's type, as its row says.
pub(crate) fn type_of(c: &mut DbConnection, ticket_id: i64) -> Result<TicketType, AppError> {
    let t: String = tickets::table.find(ticket_id).select(tickets::ticket_type).first(c)?;
    t.parse().map_err(AppError::internal)
}

/// The refusal of a command meant for another type: a 409 naming both.
pub(crate) fn wrong_type(reference: &str, is: TicketType, wanted: TicketType) -> AppError {
    AppError::Conflict(format!(
        "{reference} is {} {}, not {} {}",
        a(is),
        is.title(),
        a(wanted),
        wanted.title()
    ))
}

fn a(t: TicketType) -> &'static str {
    if t == TicketType::Incident { "an" } else { "a" }
}

/// The record of ticket `ticket_id`, replayed from its events.
pub(crate) fn load<L: Lifecycle>(c: &mut DbConnection, ticket_id: i64, reference: &str) -> Result<L, AppError> {
    let is = type_of(c, ticket_id)?;
    if is != L::TYPE {
        return Err(wrong_type(reference, is, L::TYPE));
    }
    let rows = crate::store::find::record_events(c, ticket_id)?;
    let events: Vec<L::Event> = rows
        .iter()
        .map(|d| serde_json::from_str(d))
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::internal(format!("{reference} has an unreadable {} event: {e}", L::TYPE)))?;
    L::replay(&events).ok_or_else(|| {
        AppError::internal(format!(
            "{reference}: its {} history does not start with its creation",
            L::TYPE
        ))
    })
}

/// Stores new events after the record's, and folds them in.
pub(crate) fn append<L: Lifecycle>(
    c: &mut DbConnection,
    ticket_id: i64,
    record: &mut L,
    events: &[L::Event],
) -> Result<(), AppError> {
    insert_rows(c, ticket_id, record.count() + 1, events, L::event_at)?;
    for e in events {
        record.evolve(e);
    }
    Ok(())
}

/// Stores a new record's first events (its creation first).
pub(crate) fn start<L: Lifecycle>(c: &mut DbConnection, ticket_id: i64, events: &[L::Event]) -> Result<L, AppError> {
    let record = L::replay(events).ok_or_else(|| AppError::internal("a record starts with its creation"))?;
    insert_rows(c, ticket_id, 1, events, L::event_at)?;
    Ok(record)
}

fn insert_rows<E: Serialize>(
    c: &mut DbConnection,
    ticket_id: i64,
    first: usize,
    events: &[E],
    at_of: impl Fn(&E) -> DateTime<Utc>,
) -> Result<(), AppError> {
    let rows = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Ok((
                itil_events::ticket_id.eq(ticket_id),
                itil_events::seq.eq((first + i) as i32),
                itil_events::at.eq(naive(at_of(e))),
                itil_events::data.eq(serde_json::to_string(e).map_err(|e| AppError::internal(e.to_string()))?),
            ))
        })
        .collect::<Result<Vec<_>, AppError>>()?;
    // One at a time: SQLite's backend takes no batch with these columns.
    for row in rows {
        diesel::insert_into(itil_events::table).values(row).execute(c)?;
    }
    Ok(())
}

/// What lists, the known-error list and the calendar need of a record's
/// state, written with each of its events.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    pub status: String,
    /// A request's fulfilment due, or a problem's target.
    pub due_at: Option<DateTime<Utc>>,
    pub known_error: bool,
    pub change_kind: Option<String>,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// The SLA columns of a ticket whose incident clocks do not run; its place
/// in the queue is `order_at`.
pub(crate) fn no_incident_clock(order_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> SlaColumns {
    let off = state_name(ClockState::Cancelled);
    SlaColumns {
        response_state: off.clone(),
        response_elapsed_seconds: 0,
        response_due_at: None,
        response_breached_at: None,
        resolve_state: off,
        resolve_elapsed_seconds: 0,
        resolve_due_at: None,
        resolve_breached_at: None,
        at_risk_at: None,
        next_check_at: None,
        sla_computed_at: naive(now),
        queue_order_at: super::stored_order(order_at),
    }
}

/// Writes a record's summary, and its status and queue place to the ticket
/// row (a new row version: the ticket's ETag moves with its record).
pub(crate) fn write_summary(
    c: &mut DbConnection,
    ticket_id: i64,
    s: &Summary,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(itil_records::table.find(ticket_id))
        .set((
            itil_records::status.eq(&s.status),
            itil_records::due_at.eq(s.due_at.map(naive)),
            itil_records::known_error.eq(s.known_error),
            itil_records::change_kind.eq(&s.change_kind),
            itil_records::window_start.eq(s.window.map(|w| naive(w.0))),
            itil_records::window_end.eq(s.window.map(|w| naive(w.1))),
            itil_records::updated_at.eq(naive(now)),
        ))
        .execute(c)?;
    let order_at = s.due_at.or(s.window.map(|w| w.0));
    diesel::update(tickets::table.find(ticket_id))
        .set((
            tickets::status.eq(&s.status),
            tickets::updated_at.eq(naive(now)),
            tickets::row_version.eq(tickets::row_version + 1),
            no_incident_clock(order_at, now),
        ))
        .execute(c)?;
    Ok(())
}

/// After a conversation change to a ticket that is not an incident (a reply,
/// a note, an assignment): its row keeps its record's status and queue
/// place, not what the incident's core would make of them.
pub(super) fn keep_record_state(c: &mut DbConnection, ticket_id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
    let (status, due, window): (String, Option<NaiveDateTime>, Option<NaiveDateTime>) = itil_records::table
        .find(ticket_id)
        .select((itil_records::status, itil_records::due_at, itil_records::window_start))
        .first(c)?;
    diesel::update(tickets::table.find(ticket_id))
        .set((
            tickets::status.eq(status),
            no_incident_clock(due.or(window).map(utc), now),
        ))
        .execute(c)?;
    Ok(())
}

/// A customer's reply to a request waiting on them is the request's answer:
/// it goes back to fulfilment (and its clock runs again).
pub(super) fn customer_answered(
    c: &mut DbConnection,
    ticket_id: i64,
    reference: &str,
    by: &Actor,
    body: &str,
    at: DateTime<Utc>,
) -> Result<Option<ServiceRequest>, AppError> {
    let mut r: ServiceRequest = load(c, ticket_id, reference)?;
    if r.status != RequestStatus::AwaitingCustomer {
        return Ok(None);
    }
    let at = at.max(r.last_at());
    let events = r
        .decide(at, by, &RequestAction::CustomerReply { body: body.to_string() })
        .map_err(|e| AppError::Conflict(e.to_string()))?;
    append(c, ticket_id, &mut r, &events)?;
    Ok(Some(r))
}

impl App {
    /// A request's fulfilment clock at `now`, on its organisation's tier
    /// calendar against its item's target for the tier (at the version it was
    /// raised under); `None` where the item sets no target for the tier.
    pub(crate) fn fulfilment_of(
        &self,
        c: &mut DbConnection,
        ticket_id: i64,
        r: &ServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::domain::itil::request::Fulfilment>, AppError> {
        let (tier, region, policy, version, holiday_set): (String, String, String, String, String) = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::id.eq(ticket_id))
            .select((
                organisations::tier,
                organisations::region,
                tickets::policy,
                tickets::policy_version,
                tickets::holiday_set,
            ))
            .first(c)?;
        let catalogue = self.catalogue();
        let Some(target) = catalogue
            .version(&r.item, &r.item_version)
            .and_then(|i| i.targets.get(&tier).copied())
        else {
            return Ok(None);
        };
        let policy = self.policy_version(c, &policy, &version)?;
        let region = Region::from_str(&region).map_err(|e| AppError::internal(e.to_string()))?;
        let calendars = self.calendars(c, &policy, region, &holiday_set)?;
        let cal = calendars.get(crate::domain::policy::CalendarChoice::Business);
        let Some(seconds) = target.to_seconds(cal.standard_day_seconds()) else {
            return Ok(None);
        };
        r.fulfilment(cal, seconds, now)
            .map(Some)
            .map_err(|e| AppError::internal(e.to_string()))
    }

    /// A request's summary: its status, and when its fulfilment falls due.
    pub(crate) fn request_summary(
        &self,
        c: &mut DbConnection,
        ticket_id: i64,
        r: &ServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<Summary, AppError> {
        let f = self.fulfilment_of(c, ticket_id, r, now)?;
        Ok(Summary {
            status: r.status.as_str().to_string(),
            due_at: f.and_then(|f| f.due_at),
            ..Summary::default()
        })
    }
}
