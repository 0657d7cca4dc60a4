//! The outbox: notifications written in the same transaction as the event
//! that caused them, and their delivery, claimed row by row so that no row
//! is sent twice, whatever happens to the process.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::tickets::TicketView;
use super::{App, AppError, naive};
use crate::mail::{Outbound, Templates, for_people};
use crate::store::DbConnection;
use crate::store::models::{NewOutbox, OutboxRow};
use crate::store::schema::outbox;

/// The domain of the Message-IDs sladesk writes; replies that quote them
/// thread onto their ticket.
pub const MAIL_DOMAIN: &str = "sladesk.invalid";

/// How long a claim on a row lasts; a claim that expires without a
/// confirmed send means the sender stopped mid-send.
const CLAIM_SECONDS: i64 = 300;

/// At most this many automatic replies to one address in an hour (RFC 3834
/// asks responders to limit them; a runaway sender cannot make us flood).
pub const AUTO_REPLIES_PER_HOUR: i64 = 5;

/// Queues the acknowledgement of a ticket raised by mail: the reference and
/// when we will respond and resolve, in Europe/London words. Returns false
/// when the address has had its share of automatic replies this hour.
pub(crate) fn enqueue_acknowledgement(
    c: &mut DbConnection,
    ticket_id: i64,
    view: &TicketView,
    to: &str,
    requester_name: &str,
    in_reply_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let recent: i64 = outbox::table
        .filter(outbox::kind.eq("acknowledgement"))
        .filter(outbox::to_address.eq(to))
        .filter(outbox::created_at.gt(naive(now - Duration::hours(1))))
        .count()
        .get_result(c)?;
    if recent >= AUTO_REPLIES_PER_HOUR {
        return Ok(false);
    }
    let tz = chrono_tz::Europe::London;
    let severity_title = crate::domain::ticket::Severity::try_from(view.severity as u8)
        .map(|s| s.title())
        .unwrap_or("");
    let context = serde_json::json!({
        "reference": view.reference,
        "subject": view.subject,
        "severity": view.severity,
        "severity_title": severity_title,
        "requester_name": requester_name,
        "response_due": view.response.due_at.map(|t| for_people(t, tz)).unwrap_or_else(|| "the next working day".into()),
        "resolve_due": view.resolve.due_at.map(|t| for_people(t, tz)),
        "desk_name": "The service desk",
    });
    let mut raw = [0u8; 6];
    rand::fill(&mut raw);
    let tag: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    let message_id = format!("{}.ack.{tag}@{MAIL_DOMAIN}", view.reference);
    diesel::insert_into(outbox::table)
        .values(NewOutbox {
            ticket_id: Some(ticket_id),
            kind: "acknowledgement",
            to_address: to,
            message_id: &message_id,
            in_reply_to,
            context: context.to_string(),
            created_at: naive(now),
            next_attempt_at: naive(now),
        })
        .execute(c)?;
    Ok(true)
}

/// Whether a Message-ID is one sladesk sent (mail that loops back).
pub(crate) fn is_ours(c: &mut DbConnection, message_id: &str) -> Result<bool, AppError> {
    let n: i64 = outbox::table
        .filter(outbox::message_id.eq(message_id))
        .count()
        .get_result(c)?;
    Ok(n > 0 || message_id.ends_with(&format!("@{MAIL_DOMAIN}")))
}

#[derive(Debug, Default, Clone, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    /// Claims that expired without a confirmed send: set aside, never resent.
    pub set_aside_in_doubt: usize,
}

impl App {
    /// Delivers up to `limit` due rows. Each row is claimed (and the attempt
    /// counted) in its own transaction before it is sent, and marked sent in
    /// another after the transport confirms, so a second deliverer skips it
    /// and a crash leaves it claimed, to be set aside as in doubt.
    pub fn deliver_outbox(
        &self,
        outbound: &Outbound,
        templates: &Templates,
        from: &lettre::message::Mailbox,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<DeliveryReport, AppError> {
        let mut report = DeliveryReport::default();
        let mut conn = self.conn()?;
        report.set_aside_in_doubt = conn.write(|c| {
            diesel::update(
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::claimed_until.lt(naive(now))),
            )
            .set((
                outbox::in_doubt.eq(true),
                outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                outbox::last_error.eq("in doubt: a sender stopped mid-send; check the mail log before resending"),
            ))
            .execute(c)
            .map_err(AppError::from)
        })?;
        let due: Vec<i64> = outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::in_doubt.eq(false))
            .filter(outbox::claimed_until.is_null())
            .filter(outbox::next_attempt_at.le(naive(now)))
            .order(outbox::id)
            .limit(limit)
            .select(outbox::id)
            .load(&mut conn)?;
        for id in due {
            let claimed = conn.write(|c| {
                diesel::update(
                    outbox::table
                        .find(id)
                        .filter(outbox::claimed_until.is_null())
                        .filter(outbox::sent_at.is_null()),
                )
                .set((
                    outbox::claimed_until.eq(naive(now + Duration::seconds(CLAIM_SECONDS))),
                    outbox::attempts.eq(outbox::attempts + 1),
                ))
                .execute(c)
                .map_err(AppError::from)
            })?;
            if claimed == 0 {
                continue;
            }
            let row: OutboxRow = outbox::table.find(id).select(OutboxRow::as_select()).first(&mut conn)?;
            let result = crate::mail::build(&row, templates, from).and_then(|m| outbound.send(&m));
            conn.write(|c| {
                match &result {
                    Ok(()) => diesel::update(outbox::table.find(id))
                        .set((
                            outbox::sent_at.eq(Some(naive(now))),
                            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                            outbox::last_error.eq(None::<String>),
                        ))
                        .execute(c),
                    Err(e) => {
                        // Back off: 1, 2, 4 … minutes, at most an hour.
                        let wait = Duration::minutes(1i64 << row.attempts.clamp(0, 6));
                        diesel::update(outbox::table.find(id))
                            .set((
                                outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                                outbox::next_attempt_at.eq(naive(now + wait.min(Duration::hours(1)))),
                                outbox::last_error.eq(Some(e.to_string())),
                            ))
                            .execute(c)
                    }
                }
                .map_err(AppError::from)
            })?;
            match result {
                Ok(()) => report.sent += 1,
                Err(e) => {
                    tracing::warn!(outbox = id, error = %e, "delivery failed; will retry");
                    report.failed += 1;
                }
            }
        }
        Ok(report)
    }
}
