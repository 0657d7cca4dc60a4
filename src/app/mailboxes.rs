//! Mailbox health: each poll's outcome, per mailbox, so that a mailbox
//! whose token expired or whose password changed does not go unnoticed for
//! days while mail piles up unread. Admins are told once when a mailbox
//! has failed for its notice window, and once when it works again.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::outbox::enqueue_to_admins;
use super::{App, AppError, Principal, naive, utc};
use crate::domain::local_time::for_person;
use crate::store::DbConnection;
use crate::store::schema::mailbox_health;

/// The longest error kept (a server can say a lot).
const ERROR_CHARS: usize = 500;

/// How a mailbox is doing, as metrics and the admin page show it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MailboxHealth {
    pub mailbox: String,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    /// When the failure going on now began; `None` when it works.
    pub failing_since: Option<DateTime<Utc>>,
    pub consecutive_failures: i32,
    pub last_error: Option<String>,
    /// Whether admins have been told of the failure going on now.
    pub notified: bool,
}

type Row = (
    String,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    Option<chrono::NaiveDateTime>,
    i32,
    Option<String>,
    Option<chrono::NaiveDateTime>,
);

fn of(r: Row) -> MailboxHealth {
    MailboxHealth {
        mailbox: r.0,
        last_success_at: r.1.map(utc),
        last_failure_at: r.2.map(utc),
        failing_since: r.3.map(utc),
        consecutive_failures: r.4,
        last_error: r.5,
        notified: r.6.is_some(),
    }
}

fn load(c: &mut DbConnection, name: Option<&str>) -> Result<Vec<MailboxHealth>, AppError> {
    let mut q = mailbox_health::table
        .select((
            mailbox_health::mailbox,
            mailbox_health::last_success_at,
            mailbox_health::last_failure_at,
            mailbox_health::failing_since,
            mailbox_health::consecutive_failures,
            mailbox_health::last_error,
            mailbox_health::notified_at,
        ))
        .order(mailbox_health::mailbox)
        .into_boxed();
    if let Some(n) = name {
        q = q.filter(mailbox_health::mailbox.eq(n));
    }
    Ok(q.load::<Row>(c)?.into_iter().map(of).collect())
}

/// Mails every enabled admin about a mailbox, in the caller's transaction.
fn tell_admins(c: &mut DbConnection, h: &MailboxHealth, recovered: bool, now: DateTime<Utc>) -> Result<(), AppError> {
    enqueue_to_admins(
        c,
        "mailbox_health",
        |zone| {
            serde_json::json!({
                "mailbox": h.mailbox,
                "recovered": recovered,
                "failing_since": h.failing_since.map(|t| for_person(t, zone)),
                "failures": h.consecutive_failures,
                "error": h.last_error,
                "desk_name": "The service desk",
            })
        },
        now,
    )
}

impl App {
    /// Records one poll of a mailbox: `error` is `None` when it worked.
    /// The notice of a failure goes once the mailbox has failed for
    /// `notice_after`; the notice of its recovery only after that one.
    pub fn mailbox_polled(
        &self,
        name: &str,
        error: Option<&str>,
        notice_after: Duration,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            c.lock_mailbox_health(name)?;
            let row = mailbox_health::table.find(name);
            let before = load(c, Some(name))?.into_iter().next();
            match error {
                None => {
                    diesel::update(row)
                        .set((
                            mailbox_health::last_success_at.eq(Some(naive(now))),
                            mailbox_health::failing_since.eq(None::<chrono::NaiveDateTime>),
                            mailbox_health::consecutive_failures.eq(0),
                            mailbox_health::notified_at.eq(None::<chrono::NaiveDateTime>),
                        ))
                        .execute(c)?;
                    if let Some(b) = before.filter(|b| b.notified) {
                        tell_admins(
                            c,
                            &MailboxHealth {
                                last_success_at: Some(now),
                                ..b
                            },
                            true,
                            now,
                        )?;
                    }
                }
                Some(e) => {
                    let e: String = e.chars().take(ERROR_CHARS).collect();
                    let since = before.as_ref().and_then(|b| b.failing_since).unwrap_or(now);
                    let failures = before.as_ref().map_or(0, |b| b.consecutive_failures) + 1;
                    let tell = before.as_ref().is_none_or(|b| !b.notified) && now - since >= notice_after;
                    diesel::update(row)
                        .set((
                            mailbox_health::last_failure_at.eq(Some(naive(now))),
                            mailbox_health::failing_since.eq(Some(naive(since))),
                            mailbox_health::consecutive_failures.eq(failures),
                            mailbox_health::last_error.eq(Some(&e)),
                        ))
                        .execute(c)?;
                    if tell {
                        diesel::update(row)
                            .set(mailbox_health::notified_at.eq(Some(naive(now))))
                            .execute(c)?;
                        let h = load(c, Some(name))?.into_iter().next().expect("written above");
                        tell_admins(c, &h, false, now)?;
                    }
                }
            }
            Ok(())
        })
    }

    /// Every mailbox's health (staff), for the admin page.
    pub fn mailbox_health(&self, who: &Principal) -> Result<Vec<MailboxHealth>, AppError> {
        who.staff_only()?;
        self.mailbox_health_all()
    }

    /// Every mailbox's health, for metrics (whose endpoint has its own token).
    pub fn mailbox_health_all(&self) -> Result<Vec<MailboxHealth>, AppError> {
        let mut conn = self.conn()?;
        load(&mut conn, None)
    }
}
