//! The outbox: notifications written in the same transaction as the event
//! that caused them. Here, how a row is queued and what a refused sender
//! is told (what a requester hears of their ticket is
//! `app::tickets::notices`); `alerts`, notices to staff and account
//! contacts; `delivery`, rows claimed one by one for `mail::delivery` to
//! send, so that no row is sent twice, whatever happens to the process.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::{App, AppError, naive};
use crate::domain::local_time::{for_people, for_person};
use crate::store::DbConnection;
use crate::store::models::NewOutbox;
use crate::store::schema::outbox;

mod alerts;
mod delivery;
pub(crate) use alerts::*;
pub use delivery::{Claimed, OutgoingFile, OutgoingMail};

/// The domain of the Message-IDs sladesk writes; replies that quote them
/// thread onto their ticket.
pub const MAIL_DOMAIN: &str = "sladesk.invalid";

/// At most this many automatic replies to one address in an hour (RFC 3834
/// asks responders to limit them; a runaway sender cannot make us flood).
pub const AUTO_REPLIES_PER_HOUR: i64 = 5;

/// Mail sent to answer mail (acknowledgements, refusals) is limited per
/// address and hour, so a runaway or forged sender cannot make us flood.
pub(in crate::app) fn auto_reply_limit_reached(
    c: &mut DbConnection,
    to: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let recent: i64 = outbox::table
        .filter(outbox::kind.eq_any(["acknowledgement", "rejected"]))
        .filter(outbox::to_address.eq(to))
        .filter(outbox::created_at.gt(naive(now - Duration::hours(1))))
        .count()
        .get_result(c)?;
    Ok(recent >= AUTO_REPLIES_PER_HOUR)
}

/// Queues the answer to mail we will not take (no ticket): why, and what
/// the sender can do. Returns false when the address has had its share
/// of automatic replies this hour.
pub(crate) fn enqueue_refusal(
    c: &mut DbConnection,
    to: &str,
    subject: &str,
    reason: &str,
    in_reply_to: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    if auto_reply_limit_reached(c, to, now)? {
        return Ok(false);
    }
    let context = serde_json::json!({
        "subject": if subject.is_empty() { "(no subject)" } else { subject },
        "reason": reason,
        "desk_name": "The service desk",
    });
    queue_mail(
        c,
        Queued {
            ticket_id: None,
            kind: "rejected",
            to,
            message_id: &new_message_id("refusal", "rejected"),
            in_reply_to,
            context: &context,
        },
        now,
    )?;
    Ok(true)
}

/// One notification for the outbox.
pub(in crate::app) struct Queued<'a> {
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    pub to: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub context: &'a serde_json::Value,
}

/// Writes a notification to the outbox, due now; the caller's transaction
/// is the event's.
pub(in crate::app) fn queue_mail(c: &mut DbConnection, q: Queued, now: DateTime<Utc>) -> Result<(), AppError> {
    diesel::insert_into(outbox::table)
        .values(NewOutbox {
            ticket_id: q.ticket_id,
            kind: q.kind,
            to_address: q.to,
            message_id: q.message_id,
            in_reply_to: q.in_reply_to,
            context: q.context.to_string(),
            created_at: naive(now),
            next_attempt_at: naive(now),
        })
        .execute(c)?;
    Ok(())
}

pub(crate) fn new_message_id(reference: &str, kind: &str) -> String {
    let mut raw = [0u8; 6];
    rand::fill(&mut raw);
    let tag: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{reference}.{kind}.{tag}@{MAIL_DOMAIN}")
}

/// The message a notification on a ticket answers, for threading: the
/// customer's latest mail on it, else the latest mail we sent about it.
pub(in crate::app) fn thread_parent(c: &mut DbConnection, ticket_id: i64) -> Result<Option<String>, AppError> {
    use crate::store::schema::inbound_messages as im;
    let theirs: Option<String> = im::table
        .filter(im::ticket_id.eq(ticket_id))
        .filter(im::outcome.eq_any(["created", "replied"]))
        .order((im::received_at.desc(), im::id.desc()))
        .select(im::message_id)
        .first(c)
        .optional()?;
    if theirs.is_some() {
        return Ok(theirs);
    }
    Ok(outbox::table
        .filter(outbox::ticket_id.eq(ticket_id))
        .order(outbox::id.desc())
        .select(outbox::message_id)
        .first(c)
        .optional()?)
}

/// How a mail greets a person: by name when we know it ("Hello Nadia
/// Patel,"), else plainly ("Hello,"): a contact made from a mail address
/// carries its local part as a name, which greets nobody ("Hello
/// nadia.patel,").
pub(crate) fn greeting(u: &crate::store::models::User) -> String {
    let name = u.name.trim();
    let local = u.email.split('@').next().unwrap_or_default();
    if name.is_empty() || name.eq_ignore_ascii_case(local) || name.contains('@') {
        "Hello,".to_string()
    } else {
        format!("Hello {name},")
    }
}

pub(in crate::app) fn severity_title(severity: i32) -> &'static str {
    u8::try_from(severity)
        .ok()
        .and_then(|s| crate::domain::ticket::Severity::try_from(s).ok())
        .map(|s| s.title())
        .unwrap_or("")
}

/// Tells a user that sign-in to their account is being slowed down after
/// failed attempts, in the caller's transaction: the owner learns of an
/// attack (or of their own mistyping) without the sign-in page saying so.
pub(crate) fn enqueue_throttle_notice(
    c: &mut DbConnection,
    to: &str,
    time_zone: &str,
    until: DateTime<Utc>,
    client: &str,
    everywhere: bool,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    let context = serde_json::json!({
        "everywhere": everywhere,
        "email": to,
        "until": for_person(until, time_zone),
        "client": client,
        "desk_name": "The service desk",
    })
    .to_string();
    insert_outbox_rows(
        c,
        &[NewOutbox {
            ticket_id: None,
            kind: "sign_in_throttled",
            to_address: to,
            message_id: &new_message_id("account", "sign_in_throttled"),
            in_reply_to: None,
            context,
            created_at: naive(now),
            next_attempt_at: naive(now),
        }],
    )
}

/// Mails every enabled admin a notice of `kind` (mailbox health, a
/// webhook turned off: the desk's own plumbing), each with the context
/// `context` makes for their time zone, in the caller's transaction.
pub(crate) fn enqueue_to_admins(
    c: &mut DbConnection,
    kind: &str,
    context: impl Fn(&str) -> serde_json::Value,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    use crate::store::schema::users;
    let admins: Vec<(String, String)> = users::table
        .filter(users::role.eq("admin"))
        .filter(users::disabled.eq(false))
        .order(users::email)
        .select((users::email, users::time_zone))
        .load(c)?;
    let ids: Vec<String> = admins.iter().map(|_| new_message_id("desk", kind)).collect();
    let rows: Vec<NewOutbox> = admins
        .iter()
        .zip(&ids)
        .map(|((to, zone), id)| NewOutbox {
            ticket_id: None,
            kind,
            to_address: to,
            message_id: id,
            in_reply_to: None,
            context: context(zone).to_string(),
            created_at: naive(now),
            next_attempt_at: naive(now),
        })
        .collect();
    insert_outbox_rows(c, &rows)
}

/// Inserts outbox rows, many in one statement (`store::outbox`), in the
/// caller's transaction.
pub(crate) fn insert_outbox_rows(c: &mut DbConnection, rows: &[NewOutbox]) -> Result<(), AppError> {
    Ok(crate::store::outbox::insert_rows(c, rows)?)
}

/// Whether a Message-ID is one sladesk sent (mail that loops back).
pub(crate) fn is_ours(c: &mut DbConnection, message_id: &str) -> Result<bool, AppError> {
    let n: i64 = outbox::table
        .filter(outbox::message_id.eq(message_id))
        .count()
        .get_result(c)?;
    Ok(n > 0 || message_id.ends_with(&format!("@{MAIL_DOMAIN}")))
}

impl App {
    /// Marks every unsent row written before `before` as sent when it was
    /// written. For generated history (the demo's three months of tickets),
    /// whose notifications belong to the past and must not go out today.
    pub fn settle_outbox_history(&self, before: DateTime<Utc>) -> Result<usize, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            Ok(diesel::update(
                outbox::table
                    .filter(outbox::sent_at.is_null())
                    .filter(outbox::created_at.lt(naive(before))),
            )
            .set(outbox::sent_at.eq(outbox::created_at.nullable()))
            .execute(c)?)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::greeting;

    fn user(email: &str, name: &str) -> crate::store::models::User {
        crate::store::models::User {
            id: 1,
            email: email.into(),
            email_key: email.into(),
            name: name.into(),
            role: "customer".into(),
            organisation_id: None,
            password_hash: None,
            totp_secret: None,
            disabled: false,
            time_zone: "Europe/London".into(),
            created_at: chrono::NaiveDateTime::default(),
        }
    }

    #[test]
    fn mail_greets_people_by_name_and_never_by_their_address() {
        assert_eq!(
            greeting(&user("nadia.patel@northwind.example", "Nadia Patel")),
            "Hello Nadia Patel,"
        );
        assert_eq!(
            greeting(&user("nadia.patel@northwind.example", "nadia.patel")),
            "Hello,"
        );
        assert_eq!(greeting(&user("x@y.example", "")), "Hello,");
        assert_eq!(greeting(&user("x@y.example", "x@y.example")), "Hello,");
    }
}
