//! The send loop (zero2prod's delivery worker is the model): due rows are
//! claimed one by one through the app, built from their templates, handed
//! to the transport, and marked sent or failed. The claim comes before the
//! send and the mark after it, each in its own transaction, so a crash
//! mid-send leaves the row claimed and, once the claim expires, set aside
//! in doubt rather than sent twice.

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use serde::Serialize;

use super::{Outbound, Templates, build};
use crate::app::{App, AppError};

/// What one run of the loop did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct DeliveryReport {
    pub sent: usize,
    pub failed: usize,
    /// Claims that expired without a confirmed send: set aside, never resent.
    pub set_aside_in_doubt: usize,
}

/// Delivers up to `limit` due rows as of `now`. A second deliverer running
/// at the same time skips every row this one claimed.
pub fn deliver_outbox(
    app: &App,
    outbound: &Outbound,
    templates: &Templates,
    from: &Mailbox,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<DeliveryReport, AppError> {
    let mut report = DeliveryReport {
        set_aside_in_doubt: app.set_aside_in_doubt(now)?,
        ..DeliveryReport::default()
    };
    for id in app.due_mail(now, limit)? {
        let Some(claimed) = app.claim_mail(id, now)? else {
            continue;
        };
        let result = match &claimed.mail {
            Err(e) => Err(super::MailError::Build(e.clone())),
            Ok(mail) => build(mail, templates, from).and_then(|m| outbound.send(&m)),
        };
        match result {
            Ok(()) => {
                app.mail_sent(id, now)?;
                report.sent += 1;
            }
            Err(e) => {
                app.mail_failed(&claimed, now, &e.to_string())?;
                tracing::warn!(outbox = id, error = %e, "delivery failed; will retry");
                report.failed += 1;
            }
        }
    }
    Ok(report)
}
