//! Delivering: due deliveries claimed one at a time (the attempt counted),
//! confirmed or backed off, and an endpoint failing for three days
//! disabled with what it has waiting set aside, as `outbox::delivery` does
//! for mail. The request itself is `net::webhooks`'s.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::{ClaimedWebhook, DISABLE_AFTER_DAYS, Format, KIND, enqueue, load};
use crate::app::{App, AppError, Principal, audit, naive, utc};
use crate::store::schema::{outbox, webhook_endpoints};

impl App {
    /// Deliveries due by `now`, oldest first.
    pub fn due_webhooks(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, AppError> {
        let mut conn = self.conn()?;
        Ok(crate::store::outbox::due_of_kind(&mut conn, naive(now), limit, KIND)?)
    }

    /// Claims a delivery (the attempt counted), with its endpoint.
    pub fn claim_webhook(&self, id: i64, now: DateTime<Utc>) -> Result<Option<ClaimedWebhook>, AppError> {
        let mut conn = self.conn()?;
        let until = naive(now + Duration::seconds(300));
        if !conn.write(|c| crate::store::outbox::claim(c, id, until).map_err(AppError::from))? {
            return Ok(None);
        }
        let row = crate::store::outbox::row(&mut conn, id)?;
        let endpoint_id: i64 = row
            .to_address
            .strip_prefix("webhook:")
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| AppError::internal(format!("outbox {id}: '{}' is not a webhook", row.to_address)))?;
        let endpoint: Option<(String, String, String, bool)> = webhook_endpoints::table
            .find(endpoint_id)
            .select((
                webhook_endpoints::url,
                webhook_endpoints::format,
                webhook_endpoints::secret,
                webhook_endpoints::allow_private,
            ))
            .first(&mut conn)
            .optional()?;
        let Some((url, format, secret, allow_private)) = endpoint else {
            conn.write(|c| set_aside_row(c, id, "the webhook was deleted"))?;
            return Ok(None);
        };
        let mut event: serde_json::Value =
            serde_json::from_str(&row.context).map_err(|e| AppError::internal(format!("outbox {id}: {e}")))?;
        // Stored as paths; made whole with where the pages are now.
        for pointer in ["/source", "/data/url"] {
            if let Some(at) = event.pointer_mut(pointer)
                && let Some(path) = at.as_str().filter(|p| p.starts_with('/')).map(String::from)
            {
                *at = serde_json::json!(self.page_url(&path));
            }
        }
        Ok(Some(ClaimedWebhook {
            id,
            attempts: row.attempts,
            endpoint_id,
            url,
            format: Format::parse(&format),
            secret,
            allow_private,
            message_id: row.message_id,
            event,
        }))
    }

    /// The endpoint answered 2xx.
    pub fn webhook_sent(&self, w: &ClaimedWebhook, now: DateTime<Utc>) -> Result<(), AppError> {
        self.conn()?.write(|c| {
            crate::store::outbox::mark_sent(c, w.id, naive(now))?;
            diesel::update(webhook_endpoints::table.find(w.endpoint_id))
                .set((
                    webhook_endpoints::failing_since.eq(None::<chrono::NaiveDateTime>),
                    webhook_endpoints::last_success_at.eq(Some(naive(now))),
                ))
                .execute(c)?;
            Ok(())
        })
    }

    /// A try failed: retried after 1, 2, 4 … minutes (at most an hour). An
    /// endpoint failing for `DISABLE_AFTER_DAYS` is disabled, what it has
    /// waiting set aside, and admins are told once.
    pub fn webhook_failed(&self, w: &ClaimedWebhook, error: &str, now: DateTime<Utc>) -> Result<bool, AppError> {
        let wait = Duration::minutes(1i64 << w.attempts.clamp(0, 6)).min(Duration::hours(1));
        let error: String = error.chars().take(500).collect();
        self.conn()?.write(|c| {
            crate::store::outbox::mark_failed(c, w.id, naive(now + wait), &error)?;
            let since: Option<chrono::NaiveDateTime> = webhook_endpoints::table
                .find(w.endpoint_id)
                .select(webhook_endpoints::failing_since)
                .first(c)?;
            let since = since.map(utc).unwrap_or(now);
            let disable = now - since >= Duration::days(DISABLE_AFTER_DAYS);
            diesel::update(webhook_endpoints::table.find(w.endpoint_id))
                .set((
                    webhook_endpoints::failing_since.eq(Some(naive(since))),
                    webhook_endpoints::last_failure_at.eq(Some(naive(now))),
                    webhook_endpoints::last_error.eq(Some(&error)),
                ))
                .execute(c)?;
            if disable {
                diesel::update(
                    webhook_endpoints::table
                        .find(w.endpoint_id)
                        .filter(webhook_endpoints::enabled.eq(true)),
                )
                .set((
                    webhook_endpoints::enabled.eq(false),
                    webhook_endpoints::disabled_at.eq(Some(naive(now))),
                ))
                .execute(c)?;
                set_aside(
                    c,
                    w.endpoint_id,
                    "the webhook was disabled after failing for three days",
                )?;
                let v = load(c, Some(w.endpoint_id))?
                    .pop()
                    .ok_or_else(|| AppError::internal("webhook gone"))?;
                enqueue::tell_admins_disabled(c, &v, now)?;
                audit(
                    c,
                    &Principal::operator(),
                    "webhook.disabled",
                    &format!("webhook:{}", w.endpoint_id),
                    Some(&error),
                    now,
                )?;
            }
            Ok(disable)
        })
    }
}

/// Sets aside (in doubt, not to be sent) what an endpoint has waiting.
pub(super) fn set_aside(c: &mut crate::store::DbConnection, endpoint: i64, why: &str) -> Result<(), AppError> {
    diesel::update(
        outbox::table
            .filter(outbox::kind.eq(KIND))
            .filter(outbox::to_address.eq(format!("webhook:{endpoint}")))
            .filter(outbox::sent_at.is_null()),
    )
    .set((
        outbox::in_doubt.eq(true),
        outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
        outbox::last_error.eq(Some(why)),
    ))
    .execute(c)?;
    Ok(())
}

fn set_aside_row(c: &mut crate::store::DbConnection, id: i64, why: &str) -> Result<(), AppError> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::in_doubt.eq(true),
            outbox::claimed_until.eq(None::<chrono::NaiveDateTime>),
            outbox::last_error.eq(Some(why)),
        ))
        .execute(c)?;
    Ok(())
}
