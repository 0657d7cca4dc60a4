//! Notices about a ticket to people other than its requester: warnings and
//! breaches to staff (as the escalation matrix says) and to the account
//! contact, and a customer's request to reopen to the staff who decide. Each
//! is one message per person, written with the tick or change that caused it.

use super::*;

/// A warning or breach notice to one member of staff, ready for the outbox.
pub(crate) struct StaffAlert {
    ticket_id: i64,
    kind: &'static str,
    to: String,
    message_id: String,
    context: String,
}

/// What a staff notice says about its ticket.
pub(crate) struct AlertedTicket<'a> {
    pub id: i64,
    pub reference: &'a str,
    pub subject: &'a str,
    pub severity: i32,
    /// The organisation's name, as people know it.
    pub organisation_name: &'a str,
    pub queue: &'a str,
    /// The assignee's name, as people know them.
    pub assignee: Option<&'a str>,
    /// The ticket's page.
    pub url: String,
}

/// One notice per member of staff about a ticket: what every staff notice
/// says of the ticket, and what this kind adds.
fn staff_notices(
    ticket: &AlertedTicket,
    to: &[String],
    kind: &'static str,
    more: serde_json::Map<String, serde_json::Value>,
) -> Vec<StaffAlert> {
    let mut context = serde_json::json!({
        "reference": ticket.reference,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "severity_title": severity_title(ticket.severity),
        "organisation": ticket.organisation_name,
        "queue": ticket.queue,
        "ticket_url": ticket.url,
        "assignee": ticket.assignee.unwrap_or("nobody"),
        "desk_name": "The service desk",
    });
    if let Some(c) = context.as_object_mut() {
        c.extend(more);
    }
    let context = context.to_string();
    to.iter()
        .map(|addr| StaffAlert {
            ticket_id: ticket.id,
            kind,
            to: addr.clone(),
            message_id: new_message_id(ticket.reference, kind),
            context: context.clone(),
        })
        .collect()
}

/// What a warning or breach notice says of its clock.
pub(crate) struct AlertFacts<'a> {
    /// `response` or `resolve`.
    pub clock: &'a str,
    pub breach: bool,
    /// When the target falls (or fell) due: the real due instant, never
    /// the instant a warning threshold was reached.
    pub due: DateTime<Utc>,
    /// Business time left to the target (a warning), or past it (a breach).
    pub business_left: String,
    /// "75% of the 1 h response target", "the 1 h response target".
    pub threshold: String,
    /// When the threshold was reached.
    pub reached_at: DateTime<Utc>,
    pub escalation: &'a str,
}

/// The notices of one warning or breach to members of staff (the matrix
/// decides who): the ticket, which clock, the threshold reached, when the
/// target falls or fell due in Europe/London words, and the business time
/// left; one message each.
pub(crate) fn staff_alerts(ticket: &AlertedTicket, to: &[String], f: &AlertFacts) -> Vec<StaffAlert> {
    let kind = if f.breach { "sla_breach" } else { "sla_warning" };
    let london = chrono_tz::Europe::London;
    let more = serde_json::json!({
        "clock": f.clock,
        "due": for_people(f.due, london),
        "due_short": f.due.with_timezone(&london).format("%H:%M %a %-d %b").to_string(),
        "left": f.business_left,
        "threshold": f.threshold,
        "reached": for_people(f.reached_at, london),
        "escalation": f.escalation,
    });
    staff_notices(ticket, to, kind, more.as_object().cloned().unwrap_or_default())
}

/// The account contact's notice of a breach (or a warning the matrix sends
/// them): what it is about, when it fell due, and what happens next, in
/// words for a customer: no queue, assignee or escalation level.
pub(crate) fn customer_alerts(ticket: &AlertedTicket, to: &[String], f: &AlertFacts) -> Vec<StaffAlert> {
    let london = chrono_tz::Europe::London;
    let context = serde_json::json!({
        "reference": ticket.reference,
        "subject": ticket.subject,
        "severity": ticket.severity,
        "severity_title": severity_title(ticket.severity),
        "organisation": ticket.organisation_name,
        "breach": f.breach,
        "clock": f.clock,
        "clock_words": if f.clock == "response" { "first response" } else { "resolution" },
        "due": for_people(f.due, london),
        "threshold": f.threshold,
        "left": f.business_left,
        "ticket_url": ticket.url,
        "desk_name": "The service desk",
    })
    .to_string();
    to.iter()
        .map(|addr| StaffAlert {
            ticket_id: ticket.id,
            kind: "sla_customer_notice",
            to: addr.clone(),
            message_id: new_message_id(ticket.reference, "sla_customer_notice"),
            context: context.clone(),
        })
        .collect()
}

/// A customer's request to reopen a resolved ticket, to the staff who
/// decide on it; one message each.
pub(crate) fn reopen_requests(ticket: &AlertedTicket, to: &[String], requester: &str, reason: &str) -> Vec<StaffAlert> {
    let more = serde_json::json!({"requester": requester, "reason": reason});
    staff_notices(
        ticket,
        to,
        "reopen_request",
        more.as_object().cloned().unwrap_or_default(),
    )
}

/// Writes staff notices, of one ticket or many, in the caller's transaction.
pub(crate) fn insert_staff_alerts(
    c: &mut DbConnection,
    alerts: &[StaffAlert],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let rows: Vec<NewOutbox> = alerts
        .iter()
        .map(|a| NewOutbox {
            ticket_id: Some(a.ticket_id),
            kind: a.kind,
            to_address: &a.to,
            message_id: &a.message_id,
            in_reply_to: None,
            context: a.context.clone(),
            created_at: naive(now),
            next_attempt_at: naive(now),
        })
        .collect();
    insert_outbox_rows(c, &rows)
}
