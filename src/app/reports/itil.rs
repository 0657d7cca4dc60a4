//! What the monthly report needs of service requests and changes: each
//! request fulfilled in the month with its fulfilment clock (replayed from
//! its events, on its tier's calendar against its item's target), and each
//! change whose window opened in the month with its outcome and the
//! incidents linked `caused_by` it. Read only; computed into sections by
//! `domain::itil::report`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::{App, AppError, naive};
use crate::domain::availability::Month;
use crate::domain::itil::change::{Change, ChangeEvent};
use crate::domain::itil::report::{ChangeFact, Fulfilled};
use crate::domain::itil::request::{FulfilmentState, RequestEvent, ServiceRequest};
use crate::store::DbConnection;
use crate::store::schema::{itil_records, ticket_links, tickets};

/// A record's events, in order.
fn events_of<E: serde::de::DeserializeOwned>(
    c: &mut DbConnection,
    id: i64,
    reference: &str,
) -> Result<Vec<E>, AppError> {
    crate::store::find::record_events(c, id)?
        .iter()
        .map(|d| serde_json::from_str(d))
        .collect::<Result<_, _>>()
        .map_err(|e| AppError::internal(format!("{reference}: an unreadable record event: {e}")))
}

impl App {
    /// The organisation's requests fulfilled in `month` (as of `as_of`).
    pub(super) fn fulfilled_in(
        &self,
        c: &mut DbConnection,
        organisation: i64,
        month: Month,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<Fulfilled>, AppError> {
        let rows: Vec<(i64, String)> = tickets::table
            .inner_join(itil_records::table)
            .filter(tickets::organisation_id.eq(organisation))
            .filter(itil_records::ticket_type.eq("service_request"))
            .filter(itil_records::status.eq_any(["fulfilled", "closed"]))
            .filter(tickets::received_at.lt(naive(month.end())))
            .order(tickets::id)
            .select((tickets::id, tickets::reference))
            .load(c)?;
        let catalogue = self.catalogue();
        let mut out = Vec::new();
        for (id, reference) in rows {
            let events: Vec<RequestEvent> = events_of(c, id, &reference)?;
            let r = ServiceRequest::replay(&events).map_err(|e| AppError::internal(format!("{reference}: {e}")))?;
            let Some(done) = r
                .fulfilled_at
                .filter(|t| *t >= month.start() && *t < month.end() && *t <= as_of)
            else {
                continue;
            };
            let f = self.fulfilment_of(c, id, &r, done)?;
            out.push(Fulfilled {
                item: r.item.clone(),
                item_name: catalogue
                    .version(&r.item, &r.item_version)
                    .map_or_else(|| r.item.clone(), |i| i.name.clone()),
                met: f.as_ref().and_then(|f| match f.state {
                    FulfilmentState::Met => Some(true),
                    FulfilmentState::Missed => Some(false),
                    _ => None,
                }),
                elapsed_seconds: f.map_or(0, |f| f.elapsed_seconds),
            });
        }
        Ok(out)
    }

    /// The organisation's changes whose window opened in `month`.
    pub(super) fn changes_in(
        &self,
        c: &mut DbConnection,
        organisation: i64,
        month: Month,
    ) -> Result<Vec<ChangeFact>, AppError> {
        let rows: Vec<(i64, String)> = tickets::table
            .inner_join(itil_records::table)
            .filter(tickets::organisation_id.eq(organisation))
            .filter(itil_records::ticket_type.eq("change"))
            .filter(itil_records::status.ne_all(["cancelled", "rejected"]))
            .filter(itil_records::window_start.ge(naive(month.start())))
            .filter(itil_records::window_start.lt(naive(month.end())))
            .order(tickets::id)
            .select((tickets::id, tickets::reference))
            .load(c)?;
        let mut out = Vec::new();
        for (id, reference) in rows {
            let events: Vec<ChangeEvent> = events_of(c, id, &reference)?;
            let ch = Change::replay(&events).map_err(|e| AppError::internal(format!("{reference}: {e}")))?;
            let incidents: i64 = ticket_links::table
                .filter(ticket_links::to_ticket_id.eq(id))
                .filter(ticket_links::kind.eq("caused_by"))
                .count()
                .get_result(c)?;
            out.push(ChangeFact {
                reference,
                kind: ch.kind,
                outcome: ch.outcome,
                incidents: incidents as u32,
            });
        }
        Ok(out)
    }
}
