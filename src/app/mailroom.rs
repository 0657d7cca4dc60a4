//! The mail staff look after by hand: notifications not yet delivered (the
//! outbox's failures, with their last error) and a retry now, for managers
//! and admins. Quarantined incoming mail is `intake::quarantine`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::{App, AppError, Principal, audit, naive, utc};
use crate::store::models::OutboxRow;
use crate::store::schema::{outbox, tickets};

/// A notification not yet delivered.
#[derive(Debug, Clone, Serialize)]
pub struct PendingMail {
    pub id: i64,
    pub kind: String,
    pub to: String,
    pub ticket: Option<String>,
    pub created_at: DateTime<Utc>,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed; `None` if none has failed yet.
    pub last_error: Option<String>,
    /// The relay may have taken it before the worker stopped: sending again
    /// could deliver it twice.
    pub in_doubt: bool,
}

impl App {
    /// Undelivered notifications, failed ones first, then oldest first;
    /// at most `limit` (1 to 500).
    pub fn pending_mail(&self, who: &Principal, limit: i64) -> Result<Vec<PendingMail>, AppError> {
        who.require_manager()?;
        if !(1..=500).contains(&limit) {
            return Err(super::invalid("limit", "expected 1 to 500"));
        }
        let mut conn = self.conn()?;
        let rows: Vec<(OutboxRow, Option<String>)> = outbox::table
            .left_join(tickets::table.on(outbox::ticket_id.eq(tickets::id.nullable())))
            .filter(outbox::sent_at.is_null())
            .order((outbox::last_error.is_null(), outbox::created_at, outbox::id))
            .limit(limit)
            .select((OutboxRow::as_select(), tickets::reference.nullable()))
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(r, reference)| PendingMail {
                id: r.id,
                kind: r.kind,
                to: r.to_address,
                ticket: reference,
                created_at: utc(r.created_at),
                attempts: r.attempts,
                next_attempt_at: utc(r.next_attempt_at),
                last_error: r.last_error,
                in_doubt: r.in_doubt,
            })
            .collect())
    }

    /// Makes an undelivered notification due now (the worker takes it on
    /// its next pass), audited. Sent mail is not sent again.
    pub fn retry_mail(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        who.require_manager()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let n = diesel::update(outbox::table.find(id).filter(outbox::sent_at.is_null()))
                .set((
                    outbox::next_attempt_at.eq(naive(now)),
                    outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(c)?;
            if n == 0 {
                return Err(AppError::NotFound(format!("undelivered mail {id}")));
            }
            audit(c, who, "outbox.retry", &format!("outbox:{id}"), None, now)
        })
    }
}
