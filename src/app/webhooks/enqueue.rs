//! Which subscriptions an event reaches, and its CloudEvent, written as
//! outbox rows in the transaction of the event itself: a ticket's events
//! as they are inserted (`tickets::insert_event_rows`, the one way every
//! event is written), an outage as it is made or changed.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::{KIND, WebhookView};
use crate::app::outbox::insert_outbox_rows;
use crate::app::{AppError, naive, utc};
use crate::domain::local_time::for_person;
use crate::store::DbConnection;
use crate::store::models::{NewEvent, NewOutbox};
use crate::store::schema::{organisations, queues, tickets, webhook_endpoints};

/// The enabled subscriptions, as the filters need them.
struct Endpoint {
    id: i64,
    events: Vec<String>,
    organisation_id: Option<i64>,
    queue_id: Option<i64>,
    severities: Option<Vec<u8>>,
}

/// An enabled subscription's id, events, organisation, queue and severities.
type EndpointRow = (i64, String, Option<i64>, Option<i64>, Option<String>);

fn endpoints(c: &mut DbConnection) -> Result<Vec<Endpoint>, diesel::result::Error> {
    let rows: Vec<EndpointRow> = webhook_endpoints::table
        .filter(webhook_endpoints::enabled.eq(true))
        .select((
            webhook_endpoints::id,
            webhook_endpoints::event_types,
            webhook_endpoints::organisation_id,
            webhook_endpoints::queue_id,
            webhook_endpoints::severities,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, events, organisation_id, queue_id, severities)| Endpoint {
            id,
            events: events.split(',').map(String::from).collect(),
            organisation_id,
            queue_id,
            severities: super::severities_of(&severities),
        })
        .collect())
}

/// A message id of the Standard Webhooks kind, unique per delivery.
fn message_id() -> String {
    let mut raw = [0u8; 12];
    rand::fill(&mut raw);
    format!("msg_{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>())
}

/// The webhook event an event row is, if any.
fn event_type(kind: &str, data: &Value) -> Option<&'static str> {
    match kind {
        "created" => Some("ticket.created"),
        "status_changed" if data["to"] == "resolved" => Some("ticket.resolved"),
        "alert_recorded" if data["level"] == "breach" => Some("ticket.breached"),
        "alert_recorded" => Some("ticket.at_risk"),
        "status_changed" | "commented" | "assignee_changed" | "queue_changed" | "severity_changed" | "merged"
        | "copied" => Some("ticket.changed"),
        _ => None,
    }
}

fn insert(c: &mut DbConnection, to: &[(i64, Value)], at: NaiveDateTime) -> Result<(), diesel::result::Error> {
    let ids: Vec<String> = to.iter().map(|_| message_id()).collect();
    let addresses: Vec<String> = to.iter().map(|(id, _)| format!("webhook:{id}")).collect();
    let rows: Vec<NewOutbox> = to
        .iter()
        .enumerate()
        .map(|(i, (_, event))| NewOutbox {
            // Not the ticket's: a ticket's outbox rows thread its mail.
            ticket_id: None,
            kind: KIND,
            to_address: &addresses[i],
            message_id: &ids[i],
            in_reply_to: None,
            context: event.to_string(),
            created_at: at,
            next_attempt_at: at,
        })
        .collect();
    insert_outbox_rows(c, &rows).map_err(|e| match e {
        AppError::Store(crate::store::StoreError::Query(q)) => q,
        other => diesel::result::Error::QueryBuilderError(other.to_string().into()),
    })
}

/// Queues a delivery for every subscription the new events of these rows
/// reach: per ticket, one of each event type (a reply and a status change
/// written together are one `ticket.changed`; a new ticket's own events are
/// only its `ticket.created`).
pub(crate) fn enqueue_for_events(c: &mut DbConnection, rows: &[NewEvent]) -> Result<(), diesel::result::Error> {
    let subscribed = endpoints(c)?;
    if subscribed.is_empty() || rows.is_empty() {
        return Ok(());
    }
    let mut per_ticket: BTreeMap<i64, (BTreeMap<&'static str, Value>, NaiveDateTime)> = BTreeMap::new();
    for r in rows {
        let data: Value = serde_json::from_str(&r.data).unwrap_or_default();
        let Some(t) = event_type(r.kind, &data) else { continue };
        let entry = per_ticket.entry(r.ticket_id).or_insert_with(|| (BTreeMap::new(), r.at));
        entry.1 = entry.1.max(r.at);
        entry.0.insert(t, data);
    }
    let ids: Vec<i64> = per_ticket.keys().copied().collect();
    type Row = (
        i64,
        String,
        String,
        String,
        i32,
        String,
        i64,
        String,
        String,
        i64,
        String,
        (Option<NaiveDateTime>, Option<NaiveDateTime>),
    );
    let facts: Vec<Row> = tickets::table
        .inner_join(organisations::table)
        .inner_join(queues::table)
        .filter(tickets::id.eq_any(&ids))
        .select((
            tickets::id,
            tickets::reference,
            tickets::ticket_type,
            tickets::subject,
            tickets::severity,
            tickets::status,
            tickets::organisation_id,
            organisations::slug,
            organisations::name,
            tickets::queue_id,
            queues::slug,
            (tickets::response_due_at, tickets::resolve_due_at),
        ))
        .load(c)?;
    let mut out: Vec<(i64, Value)> = Vec::new();
    let mut latest = None::<NaiveDateTime>;
    for (id, reference, ticket_type, subject, severity, status, org_id, org_slug, org_name, queue_id, queue, dues) in
        facts
    {
        let Some((types, at)) = per_ticket.get(&id) else {
            continue;
        };
        latest = latest.max(Some(*at));
        // What these very events say wins over the row, which a change
        // writes after its events.
        let mut status = status;
        let mut severity = severity;
        for data in types.values() {
            if data["type"] == "status_changed"
                && let Some(s) = data["to"].as_str()
            {
                status = s.to_string();
            }
            if data["type"] == "severity_changed"
                && let Some(s) = data["to"].as_i64()
            {
                severity = s as i32;
            }
        }
        let kinds: BTreeSet<&'static str> = if types.contains_key("ticket.created") {
            ["ticket.created"].into()
        } else {
            types.keys().copied().collect()
        };
        for kind in kinds {
            let mut data = json!({
                "reference": reference,
                "type": ticket_type,
                "subject": subject,
                "status": status,
                "severity": severity,
                "organisation": {"slug": org_slug, "name": org_name},
                "queue": queue,
                "url": format!("/tickets/{reference}"),
                "response_due_at": dues.0.map(utc),
                "resolve_due_at": dues.1.map(utc),
            });
            if matches!(kind, "ticket.at_risk" | "ticket.breached") {
                let a = &types[kind];
                data["clock"] = a["clock"].clone();
                data["due_at"] = a["due_at"].clone();
                if let Some(p) = a["level"]["at_risk"].as_u64() {
                    data["percent"] = json!(p);
                }
            }
            let event = json!({
                "specversion": "1.0",
                "id": format!("{reference}.{}.{}", kind.trim_start_matches("ticket."), at.and_utc().timestamp_micros()),
                "source": "/",
                "type": format!("uk.sladesk.{kind}"),
                "subject": reference,
                "time": utc(*at),
                "datacontenttype": "application/json",
                "data": data,
            });
            for e in &subscribed {
                let wants = e.events.iter().any(|x| x == kind)
                    && e.organisation_id.is_none_or(|o| o == org_id)
                    && e.queue_id.is_none_or(|q| q == queue_id)
                    && e.severities.as_ref().is_none_or(|s| s.contains(&(severity as u8)));
                if wants {
                    out.push((e.id, event.clone()));
                }
            }
        }
    }
    match latest {
        Some(at) if !out.is_empty() => insert(c, &out, at),
        _ => Ok(()),
    }
}

/// Queues `outage.updated` for the subscriptions an outage reaches (those
/// of any organisation it affects, `None` being all, and those of none;
/// queue and severity narrow tickets only).
pub(crate) fn enqueue_outage(
    c: &mut DbConnection,
    outage: &Value,
    organisations_affected: Option<&[i64]>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let subscribed = endpoints(c)?;
    let id = outage["id"].as_i64().unwrap_or_default();
    let event = json!({
        "specversion": "1.0",
        "id": format!("outage-{id}.{}", now.timestamp_micros()),
        "source": "/",
        "type": "uk.sladesk.outage.updated",
        "subject": format!("outage-{id}"),
        "time": now,
        "datacontenttype": "application/json",
        "data": outage,
    });
    let to: Vec<(i64, Value)> = subscribed
        .iter()
        .filter(|e| e.events.iter().any(|x| x == "outage.updated"))
        .filter(|e| {
            e.organisation_id
                .is_none_or(|o| organisations_affected.is_none_or(|a| a.contains(&o)))
        })
        .map(|e| (e.id, event.clone()))
        .collect();
    if to.is_empty() {
        return Ok(());
    }
    insert(c, &to, naive(now)).map_err(AppError::from)
}

/// Tells every enabled admin that an endpoint was disabled.
pub(super) fn tell_admins_disabled(c: &mut DbConnection, w: &WebhookView, now: DateTime<Utc>) -> Result<(), AppError> {
    crate::app::outbox::enqueue_to_admins(
        c,
        "webhook_disabled",
        |zone| {
            json!({
                "name": w.name,
                "url": w.url,
                "failing_since": w.failing_since.map(|t| for_person(t, zone)),
                "error": w.last_error,
                "days": super::DISABLE_AFTER_DAYS,
                "desk_name": "The service desk",
            })
        },
        now,
    )
}
