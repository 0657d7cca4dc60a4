//! Delivering the outbox: due rows claimed one by one (the claim and the
//! attempt counted in one transaction, the send confirmed in another), so no
//! row is sent twice whatever happens to the process; failures back off;
//! a claim that expired without a confirmed send is set aside in doubt for
//! a person. What is queued, and why, is in the module above.

use super::*;

/// How long a claim on a row lasts; a claim that expires without a
/// confirmed send means the sender stopped mid-send.
const CLAIM_SECONDS: i64 = 300;

/// The files a queued mail carries: those its context names, of its own
/// ticket only, read at delivery so the outbox row stays small.
fn files_for(
    c: &mut DbConnection,
    ticket: Option<i64>,
    context: &serde_json::Value,
) -> Result<Vec<crate::mail::MailAttachment>, AppError> {
    use crate::store::schema::attachments as a;
    let Some(ticket) = ticket else {
        return Ok(Vec::new());
    };
    let ids: Vec<i64> = context
        .get("attach")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default();
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let found: Vec<(i64, String, String, Vec<u8>)> = a::table
        .filter(a::ticket_id.eq(ticket))
        .filter(a::id.eq_any(&ids))
        .select((a::id, a::filename, a::content_type, a::data))
        .load(c)?;
    // In the order the reply gave them.
    Ok(ids
        .iter()
        .filter_map(|id| found.iter().find(|f| f.0 == *id))
        .map(|(_, name, ctype, data)| crate::mail::MailAttachment {
            name: name.clone(),
            content_type: ctype.clone(),
            data: data.clone(),
        })
        .collect())
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
            // The row's data, read once: for its files and for its template.
            let result = match serde_json::from_str::<serde_json::Value>(&row.context) {
                Err(e) => Err(crate::mail::MailError::Build(format!("outbox {}: {e}", row.id))),
                Ok(context) => {
                    let files = files_for(&mut conn, row.ticket_id, &context)?;
                    let outgoing = crate::mail::Outgoing {
                        kind: &row.kind,
                        to_address: &row.to_address,
                        message_id: &row.message_id,
                        in_reply_to: row.in_reply_to.as_deref(),
                        context: &context,
                    };
                    crate::mail::build(&outgoing, &files, templates, from).and_then(|m| outbound.send(&m))
                }
            };
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
