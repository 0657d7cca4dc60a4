//! The outbox: notifications written in the same transaction as the event
//! that caused them. Here, what a requester is told and how a row is
//! queued; `alerts`, notices to staff and account contacts; `delivery`,
//! sending them, claimed row by row so that no row is sent twice, whatever
//! happens to the process.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::tickets::TicketView;
use super::{App, AppError, naive};
use crate::mail::{Outbound, Templates, for_people, for_person};
use crate::store::DbConnection;
use crate::store::models::{NewOutbox, OutboxRow};
use crate::store::schema::outbox;

mod alerts;
mod delivery;
pub(crate) use alerts::*;
pub use delivery::DeliveryReport;

/// The domain of the Message-IDs sladesk writes; replies that quote them
/// thread onto their ticket.
pub const MAIL_DOMAIN: &str = "sladesk.invalid";

/// At most this many automatic replies to one address in an hour (RFC 3834
/// asks responders to limit them; a runaway sender cannot make us flood).
pub const AUTO_REPLIES_PER_HOUR: i64 = 5;

/// Mail sent to answer mail (acknowledgements, refusals) is limited per
/// address and hour, so a runaway or forged sender cannot make us flood.
fn auto_reply_limit_reached(c: &mut DbConnection, to: &str, now: DateTime<Utc>) -> Result<bool, AppError> {
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

/// Queues the acknowledgement of a ticket raised by mail: the reference and
/// when we will respond and resolve, in words, in the requester's own time
/// zone (Europe/London unless they set another). Returns false when the
/// address has had its share of automatic replies this hour.
pub(crate) fn enqueue_acknowledgement(
    c: &mut DbConnection,
    ticket_id: i64,
    view: &TicketView,
    requester: &crate::store::models::User,
    in_reply_to: Option<&str>,
    ticket_url: &str,
    now: DateTime<Utc>,
) -> Result<bool, AppError> {
    let to = requester.email.as_str();
    let requester_name = requester.name.as_str();
    let greeting = greeting(requester);
    if auto_reply_limit_reached(c, to, now)? {
        return Ok(false);
    }
    let zone = requester.time_zone.as_str();
    let severity_title = severity_title(view.severity);
    let context = serde_json::json!({
        "reference": view.reference,
        "subject": view.subject,
        "severity": view.severity,
        "severity_title": severity_title,
        "requester_name": requester_name,
        "greeting": greeting,
        "ticket_url": ticket_url,
        "response_due": view.response.due_at.map(|t| for_person(t, zone)).unwrap_or_else(|| "the next working day".into()),
        "resolve_due": view.resolve.due_at.map(|t| for_person(t, zone)),
        "desk_name": "The service desk",
    });
    let message_id = new_message_id(&view.reference, "ack");
    queue_mail(
        c,
        Queued {
            ticket_id: Some(ticket_id),
            kind: "acknowledgement",
            to,
            message_id: &message_id,
            in_reply_to,
            context: &context,
        },
        now,
    )?;
    Ok(true)
}

/// One notification for the outbox.
struct Queued<'a> {
    ticket_id: Option<i64>,
    kind: &'a str,
    to: &'a str,
    message_id: &'a str,
    in_reply_to: Option<&'a str>,
    context: &'a serde_json::Value,
}

/// Writes a notification to the outbox, due now; the caller's transaction
/// is the event's.
fn queue_mail(c: &mut DbConnection, q: Queued, now: DateTime<Utc>) -> Result<(), AppError> {
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

fn new_message_id(reference: &str, kind: &str) -> String {
    let mut raw = [0u8; 6];
    rand::fill(&mut raw);
    let tag: String = raw.iter().map(|b| format!("{b:02x}")).collect();
    format!("{reference}.{kind}.{tag}@{MAIL_DOMAIN}")
}

/// The message a notification on a ticket answers, for threading: the
/// customer's latest mail on it, else the latest mail we sent about it.
fn thread_parent(c: &mut DbConnection, ticket_id: i64) -> Result<Option<String>, AppError> {
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

/// What a change to a ticket means for its requester, if anything.
pub(crate) struct ChangeNotice<'a> {
    pub ticket_id: i64,
    pub view: &'a TicketView,
    pub requester: &'a crate::store::models::User,
    /// Who made the change, as the customer should read it.
    pub by_name: &'a str,
    pub by_customer: bool,
    pub events: &'a [crate::domain::ticket::Event],
    /// Until when a resolved ticket can be reopened.
    pub reopen_until: Option<DateTime<Utc>>,
    pub reopen_window: String,
    /// The ticket's page.
    pub ticket_url: String,
    /// Files that came with the change (an agent's reply with attachments).
    pub files: &'a [MailFile],
    /// How many bytes of them ride inside the mail; the rest go as links.
    pub mail_attachment_bytes: u64,
}

/// A file stored with a change, as its mail names it.
pub(crate) struct MailFile {
    pub id: i64,
    pub name: String,
    pub size: i64,
}

/// Which files go inside the mail, in the order given, while their sizes
/// add up to at most `budget` bytes; the others (each too large for what
/// is left) go as links to the ticket's page, where every file is kept.
fn split_files(files: &[MailFile], budget: u64) -> (Vec<&MailFile>, Vec<&MailFile>) {
    let mut left = budget;
    let (mut inside, mut linked) = (Vec::new(), Vec::new());
    for f in files {
        let size = f.size.max(0) as u64;
        if size <= left {
            left -= size;
            inside.push(f);
        } else {
            linked.push(f);
        }
    }
    (inside, linked)
}

/// "12 KB", "3.4 MB": a file's size as a mail says it.
fn size_text(bytes: i64) -> String {
    let b = bytes.max(0) as f64;
    if b < 1024.0 {
        format!("{bytes} bytes")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    }
}

/// Queues at most one mail to the requester for one change (an agent's
/// reply with a status change is one message, not two): agent reply,
/// pending on the customer, resolved (with how to reopen), reopened,
/// closed. Customers are not told of their own changes, internal notes
/// and routing tell the customer nothing, and only active customer
/// contacts are written to.
pub(crate) fn enqueue_change_notice(
    c: &mut DbConnection,
    n: &ChangeNotice,
    now: DateTime<Utc>,
) -> Result<Option<&'static str>, AppError> {
    use crate::domain::ticket::{EventKind, Status, Visibility};
    if n.by_customer || n.requester.role != "customer" || n.requester.disabled {
        return Ok(None);
    }
    let reply = n.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::Commented {
            visibility: Visibility::Public,
            body,
        } => Some(body.clone()),
        _ => None,
    });
    let status = n.events.iter().rev().find_map(|e| match &e.kind {
        EventKind::StatusChanged { from, to } => Some((*from, *to)),
        _ => None,
    });
    let kind = match (status, &reply) {
        (Some((_, Status::PendingCustomer)), _) => "pending_customer",
        (Some((_, Status::Resolved)), _) => "resolved",
        (Some((Status::Resolved, Status::Open)), _) => "reopened",
        (Some((_, Status::Closed)), _) => "closed",
        (_, Some(_)) => "agent_reply",
        _ => return Ok(None),
    };
    let zone = n.requester.time_zone.as_str();
    let v = n.view;
    let (inside, linked) = split_files(n.files, n.mail_attachment_bytes);
    let context = serde_json::json!({
        "reference": v.reference,
        "subject": v.subject,
        "severity": v.severity,
        "severity_title": severity_title(v.severity),
        "status": v.status,
        "requester_name": n.requester.name,
        "greeting": greeting(n.requester),
        "ticket_url": n.ticket_url,
        "agent_name": n.by_name,
        "body": reply,
        "response_due": v.response.due_at.map(|t| for_person(t, zone)),
        "resolve_due": v.resolve.due_at.map(|t| for_person(t, zone)),
        "reopen_until": n.reopen_until.map(|t| for_person(t, zone)),
        "reopen_window": n.reopen_window,
        "desk_name": "The service desk",
        // Files inside the mail are fetched at delivery by id (of this
        // ticket only); the others are linked.
        "attach": inside.iter().map(|f| f.id).collect::<Vec<_>>(),
        "attached": inside.iter().map(|f| serde_json::json!({"name": f.name, "size": size_text(f.size)})).collect::<Vec<_>>(),
        "linked": linked
            .iter()
            .map(|f| serde_json::json!({"name": f.name, "size": size_text(f.size), "url": format!("{}/attachments/{}", n.ticket_url, f.id)}))
            .collect::<Vec<_>>(),
    });
    let in_reply_to = thread_parent(c, n.ticket_id)?;
    queue_mail(
        c,
        Queued {
            ticket_id: Some(n.ticket_id),
            kind,
            to: &n.requester.email,
            message_id: &new_message_id(&v.reference, kind),
            in_reply_to: in_reply_to.as_deref(),
            context: &context,
        },
        now,
    )?;
    Ok(Some(kind))
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

fn severity_title(severity: i32) -> &'static str {
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
        "until": crate::mail::for_person(until, time_zone),
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

/// Inserts outbox rows, many in one statement. PostgreSQL takes them as one
/// array per column (one statement whatever the number, parsed and planned
/// once); SQLite as multi-row VALUES, a thousand rows at a time.
pub(crate) fn insert_outbox_rows(c: &mut DbConnection, rows: &[NewOutbox]) -> Result<(), AppError> {
    if rows.is_empty() {
        return Ok(());
    }
    match c {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
            diesel::sql_query(
                "INSERT INTO outbox (ticket_id, kind, to_address, message_id, in_reply_to, context, \
                 created_at, next_attempt_at) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::text[], $5::text[], $6::text[], $7::timestamp[], $8::timestamp[])",
            )
            .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.to_address).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.message_id).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.in_reply_to).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.context.as_str()).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
            .execute(pg)?;
        }
        // 1,000 rows of 8 values stays inside SQLite's limit on binds.
        DbConnection::Sqlite(sq) => {
            for chunk in rows.chunks(1000) {
                diesel::insert_into(outbox::table).values(chunk).execute(sq)?;
            }
        }
    }
    Ok(())
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
