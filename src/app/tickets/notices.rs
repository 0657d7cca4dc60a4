//! What a requester is told of their ticket: the acknowledgement of a
//! ticket raised by mail, and at most one mail for each change that
//! concerns them. Queued through the outbox in the change's transaction.

use chrono::{DateTime, Utc};

use super::TicketView;
use crate::app::AppError;
use crate::app::outbox::{
    Queued, auto_reply_limit_reached, greeting, new_message_id, queue_mail, severity_title, thread_parent,
};
use crate::domain::local_time::for_person;
use crate::store::DbConnection;

/// Queues the acknowledgement of a ticket raised by mail: the reference and
/// when we will respond and resolve, in words, in the requester's own time
/// zone (Europe/London unless they set another). Returns false when the
/// address has had its share of automatic replies this hour.
pub(in crate::app) fn enqueue_acknowledgement(
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

/// What a change to a ticket means for one of the people told of it (its
/// requester, or a watcher), if anything.
pub(in crate::app) struct ChangeNotice<'a> {
    pub ticket_id: i64,
    pub view: &'a TicketView,
    /// Who this mail goes to.
    pub to: &'a crate::store::models::User,
    /// The requester's name when `to` is a watcher (the mail says why it came).
    pub watching_for: Option<&'a str>,
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
pub(in crate::app) struct MailFile {
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

/// Queues at most one mail to one person for one change (an agent's
/// reply with a status change is one message, not two): agent reply,
/// pending on the customer, resolved (with how to reopen), reopened,
/// closed. Customers are not told of their own changes, internal notes
/// and routing tell the customer nothing, and only active customer
/// contacts are written to.
pub(in crate::app) fn enqueue_change_notice(
    c: &mut DbConnection,
    n: &ChangeNotice,
    now: DateTime<Utc>,
) -> Result<Option<&'static str>, AppError> {
    use crate::domain::ticket::{EventKind, Status, Visibility};
    if n.by_customer || n.to.role != "customer" || n.to.disabled {
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
    let zone = n.to.time_zone.as_str();
    let v = n.view;
    let (inside, linked) = split_files(n.files, n.mail_attachment_bytes);
    let context = serde_json::json!({
        "reference": v.reference,
        "subject": v.subject,
        "severity": v.severity,
        "severity_title": severity_title(v.severity),
        "status": v.status,
        "requester_name": n.to.name,
        "greeting": greeting(n.to),
        "ticket_url": n.ticket_url,
        "agent_name": n.by_name,
        "body": reply,
        "response_due": v.response.due_at.map(|t| for_person(t, zone)),
        "resolve_due": v.resolve.due_at.map(|t| for_person(t, zone)),
        "reopen_until": n.reopen_until.map(|t| for_person(t, zone)),
        "reopen_window": n.reopen_window,
        "desk_name": "The service desk",
        "watching": n.watching_for.is_some(),
        "raised_by": n.watching_for,
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
            to: &n.to.email,
            message_id: &new_message_id(&v.reference, kind),
            in_reply_to: in_reply_to.as_deref(),
            context: &context,
        },
        now,
    )?;
    Ok(Some(kind))
}
