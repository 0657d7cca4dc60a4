//! Mail intake: one RFC 5322 message in, a ticket or a reply out (or a
//! recorded reason why not), whichever way it arrived (pipe, HTTP, IMAP).
//!
//! The message is parsed with mail-parser; sender, recipients and threading
//! are resolved against the store; the ticket change and the record of the
//! message (keyed by Message-ID, with the original bytes) are written in one
//! transaction, so a redelivery finds the record and changes nothing.
//! The clock starts at our receipt (`now`), never at the Date header.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mail_parser::{Message, MessageParser, MimeHeaders};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::tickets::{Change, NewTicketRequest, TicketView};
use super::{App, AppError, Principal, Role, audit, naive};
use crate::domain::ticket::Severity;
use crate::store::DbConnection;
use crate::store::models::{NewInbound, NewUser, Organisation, Queue, User};
use crate::store::schema::{inbound_messages, organisations, queues, tickets, users};

/// Messages larger than this are refused (the MTA then bounces them).
pub const MAX_MESSAGE_BYTES: usize = 25 * 1024 * 1024;

/// Attachments of one message together may not exceed this by default
/// (`attachment_limit_mb` in sladesk.toml); a message over it is
/// quarantined (kept whole) for an agent to decide.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;

/// The attachments of a message: file name, content type and bytes.
fn attachments_of<'m>(m: &'m Message) -> Vec<(String, String, &'m [u8])> {
    m.attachments()
        .map(|a| {
            let name = a
                .attachment_name()
                .map(|n| n.replace(['/', '\\', '\0'], "_"))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "attachment".into());
            let ctype = a
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            (name, ctype, a.contents())
        })
        .collect()
}

pub(super) fn store_attachments(
    c: &mut DbConnection,
    ticket_id: i64,
    message_id: Option<&str>,
    files: &[(String, String, &[u8])],
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    for (name, ctype, data) in files {
        diesel::insert_into(crate::store::schema::attachments::table)
            .values(crate::store::models::NewAttachment {
                ticket_id,
                inbound_message_id: message_id,
                filename: name,
                content_type: ctype,
                size: data.len() as i64,
                sha256: Sha256::digest(data).iter().map(|b| format!("{b:02x}")).collect(),
                data,
                created_at: naive(now),
            })
            .execute(c)?;
    }
    Ok(())
}

/// What became of one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum IngestOutcome {
    /// A new ticket.
    Created { reference: String },
    /// A customer reply on an existing ticket.
    Replied { reference: String },
    /// This Message-ID was taken in before; nothing changed.
    Duplicate { first_outcome: String },
    /// Automatic mail (auto-replies, bounces, lists): recorded, no ticket, no reply.
    Ignored { reason: String },
    /// Kept for an agent to accept or reject.
    Quarantined { reason: String },
    /// Refused with a reply to the sender (unknown senders, when so configured).
    Rejected { reason: String },
}

impl IngestOutcome {
    /// The outcome as recorded: created, replied, duplicate, ignored, quarantined or rejected.
    pub fn name(&self) -> &'static str {
        match self {
            IngestOutcome::Created { .. } => "created",
            IngestOutcome::Replied { .. } => "replied",
            IngestOutcome::Duplicate { .. } => "duplicate",
            IngestOutcome::Ignored { .. } => "ignored",
            IngestOutcome::Quarantined { .. } => "quarantined",
            IngestOutcome::Rejected { .. } => "rejected",
        }
    }
}

/// Why a message can never be accepted (exit 65 for a pipe, 422 over HTTP).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unacceptable(pub String);

fn addr_list(m: &Message, which: &str) -> Vec<String> {
    let list = match which {
        "to" => m.to(),
        "cc" => m.cc(),
        _ => m.from(),
    };
    list.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .map(|x| x.trim().to_lowercase())
            .collect()
    })
    .unwrap_or_default()
}

/// A ticket reference in a subject tag `[SD-000123]`.
fn subject_reference(subject: &str) -> Option<String> {
    let upper = subject.to_ascii_uppercase();
    let start = upper.find("[SD-")?;
    let rest = &upper[start + 1..];
    let end = rest.find(']')?;
    let r = &rest[..end];
    (r.len() >= 9 && r[3..].chars().all(|c| c.is_ascii_digit())).then(|| r.to_string())
}

/// A ticket reference in a Message-ID sladesk sent (`<SD-000123.…@…>`).
fn reference_in_message_ids(ids: &[String]) -> Option<String> {
    ids.iter().find_map(|id| {
        let id = id.trim_matches(['<', '>']).to_ascii_uppercase();
        let r = id.split('.').next()?;
        (r.len() >= 9 && r.starts_with("SD-") && r[3..].chars().all(|c| c.is_ascii_digit())).then(|| r.to_string())
    })
}

/// RFC 3834 and common practice: mail that must never open a ticket or get a reply.
fn automatic(m: &Message, from: Option<&str>) -> Option<String> {
    if let Some(v) = m.header_raw("Auto-Submitted") {
        let v = v.trim().to_ascii_lowercase();
        if !v.is_empty() && !v.starts_with("no") {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = m.header_raw("Precedence") {
        let v = v.trim().to_ascii_lowercase();
        if matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {v}"));
        }
    }
    if m.header_raw("List-Id").is_some() {
        return Some("mailing-list mail (List-Id)".into());
    }
    // Only bulk senders offer an unsubscribe link; a person's mail never does.
    if m.header_raw("List-Unsubscribe").is_some() {
        return Some("bulk mail (List-Unsubscribe)".into());
    }
    if m.header_raw("X-Autoreply").is_some() || m.header_raw("X-Autorespond").is_some() {
        return Some("auto-reply header".into());
    }
    if let Some(f) = from {
        let local = f.split('@').next().unwrap_or_default();
        if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
            return Some(format!("from {f}"));
        }
    }
    let ct = m.root_part().content_type();
    if let Some(ct) = ct
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        return Some("delivery or read report (multipart/report)".into());
    }
    None
}

/// The new text of a reply: quoted history and the signature cut where the
/// cut is unambiguous (a quote header, an Outlook original-message line,
/// lines starting `>`, the `-- ` signature separator). The full original
/// stays in the inbound record.
pub fn strip_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        let attribution = |start: &str, end: &str| {
            t.starts_with(start) && (t.ends_with(end) || (next.ends_with(end) && next.len() < 80))
        };
        let starts_history = attribution("On ", "wrote:")
            || attribution("Le ", "a écrit :")
            || (t.starts_with("Am ") && (t.ends_with(':') || next.ends_with(':')) && t.contains("schrieb"))
            || t.starts_with("-----Original Message-----")
            || t == "--"
            || t.starts_with("________________________________")
            // Outlook's header block of the message replied to.
            || (t.starts_with("From:") && (next.starts_with("Sent:") || next.starts_with("Date:")));
        if starts_history {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        out.push(*line);
    }
    let s = out.join("\n").trim().to_string();
    if s.is_empty() { text.trim().to_string() } else { s }
}

/// Why a sender gets no ticket: not known at all (which may be answered
/// with a reply when so configured), or known but not allowed.
enum Refusal {
    Unknown(String),
    Other(String),
}

/// Choices for a ticket made from mail; the defaults are what intake does.
#[derive(Default)]
struct MailTicket<'a> {
    follow_up_of: Option<&'a str>,
    queue: Option<&'a str>,
    severity: Option<Severity>,
}

/// The readable text of a message: its text part, or its HTML turned into
/// text by the parser; never empty.
fn text_of(m: &Message) -> String {
    let body = m
        .body_text(0)
        .map(|b| b.to_string())
        .unwrap_or_default()
        .replace('\0', "");
    if body.trim().is_empty() {
        "(no text)".to_string()
    } else {
        body
    }
}

/// A severity a customer declares in a subject: `[S1]` to `[S4]`.
pub fn declared_severity(subject: &str) -> Option<Severity> {
    let upper = subject.to_ascii_uppercase();
    (1..=4u8).find_map(|n| {
        upper
            .contains(&format!("[S{n}]"))
            .then(|| Severity::try_from(n).ok())
            .flatten()
    })
}

fn synthetic_message_id(raw: &[u8]) -> String {
    let h: String = Sha256::digest(raw)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{h}@no-message-id.sladesk.invalid")
}

impl App {
    /// Takes one message in. `via` names the path (`pipe`, `http`, `imap`).
    /// Store failures are `AppError::Store` (transient: try again later).
    pub fn ingest(&self, raw: &[u8], via: &str, now: DateTime<Utc>) -> Result<IngestOutcome, IngestFailure> {
        self.ingest_at(raw, via, now, None)
    }

    /// As [`App::ingest`], and records `position` (where a mailbox reader
    /// stands) in the same transaction, so the message and the reader's
    /// progress are committed together or not at all.
    pub fn ingest_at(
        &self,
        raw: &[u8],
        via: &str,
        now: DateTime<Utc>,
        position: Option<&MailboxPosition>,
    ) -> Result<IngestOutcome, IngestFailure> {
        if raw.len() > MAX_MESSAGE_BYTES {
            return Err(IngestFailure::Unacceptable(Unacceptable(format!(
                "the message is {} bytes, over the {MAX_MESSAGE_BYTES}-byte limit",
                raw.len()
            ))));
        }
        if raw.iter().all(u8::is_ascii_whitespace) {
            return Err(IngestFailure::Unacceptable(Unacceptable("the message is empty".into())));
        }
        let parsed = MessageParser::default().parse(raw);
        // Before the write lock: `verify` may wait on DNS.
        let verdict = parsed.as_ref().map(|m| self.sender_verdict(m));
        let mut conn = self.conn()?;
        let outcome = conn.write(|c| -> Result<IngestOutcome, AppError> {
            let outcome = self.ingest_in(c, parsed.as_ref(), verdict.as_ref(), raw, via, now)?;
            if let Some(p) = position {
                save_position(c, p, now)?;
            }
            Ok(outcome)
        });
        match outcome {
            Ok(o) => Ok(o),
            // The same message arriving twice at once: the other one won.
            Err(AppError::Store(crate::store::StoreError::Query(diesel::result::Error::DatabaseError(
                diesel::result::DatabaseErrorKind::UniqueViolation,
                _,
            )))) => Ok(IngestOutcome::Duplicate {
                first_outcome: "concurrent".into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    fn ingest_in(
        &self,
        c: &mut DbConnection,
        parsed: Option<&Message>,
        verdict: Option<&super::sender_auth::Verdict>,
        raw: &[u8],
        via: &str,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, AppError> {
        let Some(m) = parsed else {
            let id = synthetic_message_id(raw);
            return record(
                c,
                &id,
                via,
                now,
                None,
                None,
                IngestOutcome::Quarantined {
                    reason: "not a parseable message".into(),
                },
                None,
                raw,
                None,
            );
        };
        let message_id = m
            .message_id()
            .map(|s| s.trim().trim_matches(['<', '>']).to_string())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| synthetic_message_id(raw));
        let from = addr_list(m, "from").into_iter().next();
        if let Some(first) = inbound_messages::table
            .filter(inbound_messages::dedup_key.eq(dedup_key(&message_id, from.as_deref())))
            .select(inbound_messages::outcome)
            .first::<String>(c)
            .optional()?
        {
            return Ok(IngestOutcome::Duplicate { first_outcome: first });
        }
        let subject = m.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        let keep = |c: &mut DbConnection, outcome: IngestOutcome, ticket: Option<i64>| {
            record(
                c,
                &message_id,
                via,
                now,
                from.as_deref(),
                subject.as_deref(),
                outcome,
                ticket,
                raw,
                None,
            )
        };
        if super::outbox::is_ours(c, &message_id)? {
            return keep(
                c,
                IngestOutcome::Ignored {
                    reason: "our own outgoing mail".into(),
                },
                None,
            );
        }
        if let Some(reason) = automatic(m, from.as_deref()) {
            return keep(c, IngestOutcome::Ignored { reason }, None);
        }
        let Some(from_addr) = from.clone() else {
            return keep(
                c,
                IngestOutcome::Quarantined {
                    reason: "no sender address".into(),
                },
                None,
            );
        };
        // Is the sender who From: says? A forged message is kept for staff
        // under a key of its own bytes, so it cannot make the real sender's
        // mail with the same Message-ID count as a duplicate.
        if let Some(reason) = verdict.and_then(|v| v.quarantine_reason()) {
            let digest: String = Sha256::digest(raw)
                .iter()
                .take(16)
                .map(|b| format!("{b:02x}"))
                .collect();
            return record(
                c,
                &message_id,
                via,
                now,
                from.as_deref(),
                subject.as_deref(),
                IngestOutcome::Quarantined { reason },
                None,
                raw,
                Some(&format!(
                    "{} unauthenticated {digest}",
                    dedup_key(&message_id, from.as_deref())
                )),
            );
        }
        // Sender → contact → organisation.
        let contact = match self.contact_for(c, &from_addr, now)? {
            Ok(u) => u,
            Err(Refusal::Unknown(reason)) if self.replies_to_unknown_senders() => {
                let subject_text = subject.clone().unwrap_or_default();
                let real_id = m.message_id().map(|s| s.trim_matches(['<', '>']).to_string());
                let sent =
                    super::outbox::enqueue_refusal(c, &from_addr, &subject_text, &reason, real_id.as_deref(), now)?;
                if !sent {
                    tracing::info!(to = %from_addr, "refusal withheld: automatic-reply limit for this address");
                }
                return keep(c, IngestOutcome::Rejected { reason }, None);
            }
            Err(Refusal::Unknown(reason) | Refusal::Other(reason)) => {
                return keep(c, IngestOutcome::Quarantined { reason }, None);
            }
        };
        let who = Principal {
            user_id: contact.id,
            email: contact.email.clone(),
            role: Role::Customer,
            organisation_id: contact.organisation_id,
            remote_addr: None,
        };
        let files = attachments_of(m);
        let most = self.limits().max_attachments;
        if files.len() > most {
            return keep(
                c,
                IngestOutcome::Quarantined {
                    reason: format!("{} attachments, over the limit of {most}", files.len()),
                },
                None,
            );
        }
        let total: usize = files.iter().map(|f| f.2.len()).sum();
        let limit = self.attachment_limit();
        if total > limit {
            return keep(
                c,
                IngestOutcome::Quarantined {
                    reason: format!("attachments total {total} bytes, over the {limit}-byte limit"),
                },
                None,
            );
        }

        // Threading: a subject tag, or a reply to a message we sent.
        let mut ids: Vec<String> = Vec::new();
        for h in [m.in_reply_to(), m.references()] {
            if let Some(list) = h.as_text_list() {
                ids.extend(list.iter().map(|s| s.to_string()));
            } else if let Some(t) = h.as_text() {
                ids.push(t.to_string());
            }
        }
        let threaded = subject
            .as_deref()
            .and_then(subject_reference)
            .or_else(|| reference_in_message_ids(&ids));
        let mut follow_up_of = None;
        if let Some(reference) = threaded {
            let found: Option<(i64, i64, String)> = tickets::table
                .filter(tickets::reference.eq(&reference))
                .select((tickets::id, tickets::organisation_id, tickets::status))
                .first(c)
                .optional()?;
            match found {
                Some((_, org, _)) if Some(org) != contact.organisation_id => {
                    return keep(
                        c,
                        IngestOutcome::Quarantined {
                            reason: format!("{from_addr} is not a contact of the organisation of {reference}"),
                        },
                        None,
                    );
                }
                Some((id, _, status)) if status != "closed" && status != "cancelled" => {
                    let view = self.reply_in(c, &who, &reference, strip_reply(&text_of(m)), now)?;
                    store_attachments(c, id, Some(&message_id), &files, now)?;
                    return keep(
                        c,
                        IngestOutcome::Replied {
                            reference: view.reference,
                        },
                        Some(id),
                    );
                }
                Some(_) => follow_up_of = Some(reference),
                None => {}
            }
        }

        let (view, id) = self.ticket_from_mail(
            c,
            m,
            &contact,
            &message_id,
            &files,
            MailTicket {
                follow_up_of: follow_up_of.as_deref(),
                ..MailTicket::default()
            },
            now,
        )?;
        keep(
            c,
            IngestOutcome::Created {
                reference: view.reference,
            },
            Some(id),
        )
    }

    /// A new ticket from a message, for `contact`: in the queue the message
    /// was addressed to (or `opts.queue`), with the severity the sender
    /// declared if their organisation may, its attachments, and the
    /// acknowledgement queued. Returns the ticket and its row id.
    #[allow(clippy::too_many_arguments)]
    fn ticket_from_mail(
        &self,
        c: &mut DbConnection,
        m: &Message,
        contact: &User,
        message_id: &str,
        files: &[(String, String, &[u8])],
        opts: MailTicket,
        now: DateTime<Utc>,
    ) -> Result<(TicketView, i64), AppError> {
        let who = Principal {
            user_id: contact.id,
            email: contact.email.clone(),
            role: Role::Customer,
            organisation_id: contact.organisation_id,
            remote_addr: None,
        };
        let recipients: Vec<String> = addr_list(m, "to").into_iter().chain(addr_list(m, "cc")).collect();
        let queue = match opts.queue {
            Some(slug) => Some(slug.to_string()),
            None => queues::table
                .filter(queues::inbound_address.is_not_null())
                .select(Queue::as_select())
                .load(c)?
                .into_iter()
                .find(|q| {
                    q.inbound_address
                        .as_deref()
                        .is_some_and(|a| recipients.iter().any(|r| r.eq_ignore_ascii_case(a)))
                })
                .map(|q| q.slug),
        };
        let subject = m.subject().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        // A forward's history is its substance: keep it whole.
        let forwarded = subject.as_deref().is_some_and(|s| {
            let l = s.to_ascii_lowercase();
            ["fw:", "fwd:", "wg:", "tr:"].iter().any(|p| l.starts_with(p))
        });
        let text = text_of(m);
        let mut description = if forwarded {
            text.trim().to_string()
        } else {
            strip_reply(&text)
        };
        if let Some(old) = opts.follow_up_of {
            description = format!("Follow-up to {old}, which is closed.\n\n{description}");
        }
        let declared = subject.as_deref().and_then(declared_severity);
        let (org_slug, may_declare): (String, bool) = organisations::table
            .find(contact.organisation_id.unwrap_or_default())
            .select((organisations::slug, organisations::may_declare_severity))
            .first(c)?;
        let severity = opts.severity.or(if may_declare { declared } else { None });
        let req = NewTicketRequest {
            subject: subject
                .unwrap_or_else(|| "(no subject)".into())
                .chars()
                .take(300)
                .collect(),
            description: description.chars().take(100_000).collect(),
            severity,
            queue,
            organisation: None,
            requester: None,
            source: Some("email".into()),
        };
        let view: TicketView = self.create_ticket_in(c, &who, &req, "email", now)?;
        let id: i64 = tickets::table
            .filter(tickets::reference.eq(&view.reference))
            .select(tickets::id)
            .first(c)?;
        store_attachments(c, id, Some(message_id), files, now)?;
        if let (Some(d), None) = (declared, opts.severity) {
            // Agents confirm a declared severity (or change it): say so where they look.
            let note = if may_declare {
                format!(
                    "The customer declared severity {} ([S{}] in the subject). Confirm it, or change it and tell them why.",
                    d.number(),
                    d.number()
                )
            } else {
                format!(
                    "The customer asked for severity {} ([S{}] in the subject), but {org_slug} may not declare severity by mail, \
                     so the queue's default applies. Change it if the request warrants it.",
                    d.number(),
                    d.number()
                )
            };
            self.change_ticket_in(c, &Principal::operator(), &view.reference, &[Change::Note(note)], now)?;
        }
        let real_id = m.message_id().map(|s| s.trim_matches(['<', '>']).to_string());
        if !super::outbox::enqueue_acknowledgement(c, id, &view, contact, real_id.as_deref(), now)? {
            tracing::info!(to = %contact.email, "acknowledgement withheld: automatic-reply limit for this address");
        }
        Ok((view, id))
    }

    /// The contact a sender address belongs to, creating one for a known
    /// organisation's mail domain; `Err(reason)` to quarantine.
    fn contact_for(
        &self,
        c: &mut DbConnection,
        address: &str,
        now: DateTime<Utc>,
    ) -> Result<Result<User, Refusal>, AppError> {
        if let Ok(u) = self.user_by_email(c, address) {
            if u.role != "customer" {
                return Ok(Err(Refusal::Other(format!(
                    "{address} is staff, not a customer contact"
                ))));
            }
            if u.disabled {
                return Ok(Err(Refusal::Other(format!("{address} is a disabled contact"))));
            }
            return Ok(Ok(u));
        }
        let Some((_, domain)) = address.rsplit_once('@') else {
            return Ok(Err(Refusal::Other(format!("'{address}' is not an address"))));
        };
        let orgs: Vec<Organisation> = organisations::table.select(Organisation::as_select()).load(c)?;
        let Some(org) = orgs
            .into_iter()
            .find(|o| o.status != "terminated" && o.email_domains.split(',').any(|d| d.eq_ignore_ascii_case(domain)))
        else {
            return Ok(Err(Refusal::Unknown(format!(
                "{address} is not a contact and {domain} is no organisation's mail domain"
            ))));
        };
        let who = Principal::operator();
        Ok(Ok(self.add_contact(
            c,
            address,
            &org,
            &who,
            "user.create_from_mail",
            now,
        )?))
    }

    /// A new customer contact of `org` for a mail address, audited as `action`.
    fn add_contact(
        &self,
        c: &mut DbConnection,
        address: &str,
        org: &Organisation,
        who: &Principal,
        action: &str,
        now: DateTime<Utc>,
    ) -> Result<User, AppError> {
        let key = super::admin::email_key(address);
        diesel::insert_into(users::table)
            .values(NewUser {
                email: address,
                email_key: &key,
                name: address.split('@').next().unwrap_or(address),
                role: "customer",
                organisation_id: Some(org.id),
                password_hash: None,
                disabled: false,
                time_zone: "Europe/London",
                created_at: naive(now),
            })
            .execute(c)?;
        audit(c, who, action, &format!("user:{address}"), Some(&org.slug), now)?;
        self.user_by_email(c, address)
    }

    fn reply_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.change_ticket_in(c, who, reference, &[Change::Reply(body)], now)
    }
}

impl App {
    /// What `sender_authentication` says of a message's sender.
    fn sender_verdict(&self, m: &Message) -> super::sender_auth::Verdict {
        use super::sender_auth::{Mode, Verdict, from_headers};
        match self.sender_authentication() {
            (Mode::Off, _) | (Mode::Header, None) => Verdict::Unknown,
            (Mode::Header, Some(id)) => from_headers(
                m.headers_raw()
                    .filter(|(name, _)| name.eq_ignore_ascii_case("Authentication-Results"))
                    .map(|(_, value)| value),
                &id,
            ),
            (Mode::Verify, _) => self
                .sender_verifier()
                .map_or(Verdict::Unknown, |v| v.verdict(m.raw_message())),
        }
    }
}

/// What makes two deliveries the same message: its Message-ID from the
/// same sender. Keyed by the Message-ID alone, anyone could pick the ID a
/// contact's mail will carry and have that mail dropped as a duplicate.
pub(crate) fn dedup_key(message_id: &str, from: Option<&str>) -> String {
    format!("{message_id} {}", from.unwrap_or("").to_ascii_lowercase())
}

#[allow(clippy::too_many_arguments)]
fn record(
    c: &mut DbConnection,
    message_id: &str,
    via: &str,
    now: DateTime<Utc>,
    from: Option<&str>,
    subject: Option<&str>,
    outcome: IngestOutcome,
    ticket_id: Option<i64>,
    raw: &[u8],
    dedup_override: Option<&str>,
) -> Result<IngestOutcome, AppError> {
    let reason = match &outcome {
        IngestOutcome::Ignored { reason }
        | IngestOutcome::Quarantined { reason }
        | IngestOutcome::Rejected { reason } => Some(reason.as_str()),
        _ => None,
    };
    diesel::insert_into(inbound_messages::table)
        .values(NewInbound {
            message_id,
            dedup_key: &dedup_override.map_or_else(|| dedup_key(message_id, from), str::to_string),
            via,
            received_at: naive(now),
            from_address: from,
            subject: subject.map(|s| s.chars().take(300).collect::<String>()).as_deref(),
            outcome: outcome.name(),
            reason,
            ticket_id,
            raw,
        })
        .execute(c)?;
    Ok(outcome)
}

/// A message kept for an agent's decision.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct QuarantinedMessage {
    pub id: i64,
    pub message_id: String,
    pub via: String,
    pub received_at: DateTime<Utc>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub reason: Option<String>,
    pub size: i64,
}

/// An agent's acceptance of a quarantined message: the organisation the
/// sender belongs to (required when the sender is not a contact yet; they
/// become one), and optionally the queue and severity of the new ticket.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    pub organisation: Option<String>,
    pub queue: Option<String>,
    #[schema(value_type = Option<u8>, minimum = 1, maximum = 4)]
    pub severity: Option<Severity>,
}

/// An agent's rejection: optionally with a reply telling the sender why.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RejectRequest {
    #[serde(default)]
    pub reply: bool,
}

fn staff_only(who: &Principal) -> Result<(), AppError> {
    if who.role.is_staff() {
        Ok(())
    } else {
        Err(AppError::NotFound("no such resource".into()))
    }
}

impl App {
    /// Quarantined messages, oldest first (the order to work them in).
    pub fn quarantine(&self, who: &Principal, limit: i64) -> Result<Vec<QuarantinedMessage>, AppError> {
        staff_only(who)?;
        if !(1..=500).contains(&limit) {
            return Err(super::invalid("limit", "expected 1 to 500"));
        }
        let mut conn = self.conn()?;
        type Row = (
            i64,
            String,
            String,
            chrono::NaiveDateTime,
            Option<String>,
            Option<String>,
            Option<String>,
            i64,
        );
        let rows: Vec<Row> = inbound_messages::table
            .filter(inbound_messages::outcome.eq("quarantined"))
            .order((inbound_messages::received_at.asc(), inbound_messages::id.asc()))
            .limit(limit)
            .select((
                inbound_messages::id,
                inbound_messages::message_id,
                inbound_messages::via,
                inbound_messages::received_at,
                inbound_messages::from_address,
                inbound_messages::subject,
                inbound_messages::reason,
                diesel::dsl::sql::<diesel::sql_types::BigInt>("CAST(LENGTH(raw) AS BIGINT)"),
            ))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(id, message_id, via, at, from, subject, reason, size)| QuarantinedMessage {
                    id,
                    message_id,
                    via,
                    received_at: super::utc(at),
                    from,
                    subject,
                    reason,
                    size,
                },
            )
            .collect())
    }

    /// The original bytes of a message intake recorded (staff only).
    pub fn inbound_raw(&self, who: &Principal, id: i64) -> Result<Vec<u8>, AppError> {
        staff_only(who)?;
        let mut conn = self.conn()?;
        inbound_messages::table
            .find(id)
            .select(inbound_messages::raw)
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("no inbound message {id}")))
    }

    /// Makes a ticket of a quarantined message. The sender becomes a
    /// contact of `req.organisation` if they are not one yet. The new ticket
    /// never threads onto an existing one: an agent accepting mail that
    /// quoted another organisation's reference decides it is new.
    pub fn accept_quarantined(
        &self,
        who: &Principal,
        id: i64,
        req: &AcceptRequest,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, AppError> {
        staff_only(who)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (message_id, raw, from) = quarantined(c, id)?;
            let m = MessageParser::default().parse(&raw).ok_or_else(|| {
                AppError::Conflict(
                    "the message cannot be parsed: download the original and raise a ticket by hand".into(),
                )
            })?;
            let from = from.ok_or_else(|| {
                AppError::Conflict("the message has no sender address: raise a ticket by hand".into())
            })?;
            let contact = match self.user_by_email(c, &from) {
                Ok(u) if u.role == "customer" && !u.disabled => {
                    if let Some(slug) = &req.organisation {
                        let org = self.organisation_by_slug(c, slug)?;
                        if u.organisation_id != Some(org.id) {
                            return Err(super::invalid(
                                "organisation",
                                format!("{from} is a contact of another organisation"),
                            ));
                        }
                    }
                    u
                }
                Ok(_) => {
                    return Err(AppError::Conflict(format!(
                        "{from} is staff or a disabled contact: reject the message, or enable the contact first"
                    )));
                }
                Err(_) => {
                    let slug = req.organisation.as_deref().ok_or_else(|| {
                        super::invalid("organisation", format!("required: {from} is not a contact yet"))
                    })?;
                    let org = self.organisation_by_slug(c, slug)?;
                    self.add_contact(c, &from, &org, who, "user.create_from_quarantine", now)?
                }
            };
            let files = attachments_of(&m);
            let most = self.limits().max_attachments;
            if files.len() > most {
                return Err(AppError::Conflict(format!(
                    "the message has {} attachments, over the limit of {most}: reject it",
                    files.len()
                )));
            }
            let (view, ticket_id) = self.ticket_from_mail(
                c,
                &m,
                &contact,
                &message_id,
                &files,
                MailTicket {
                    follow_up_of: None,
                    queue: req.queue.as_deref(),
                    severity: req.severity,
                },
                now,
            )?;
            decide(c, who, id, "created", Some(ticket_id), now)?;
            audit(
                c,
                who,
                "inbound.accept",
                &format!("inbound:{id}"),
                Some(&view.reference),
                now,
            )?;
            Ok(IngestOutcome::Created {
                reference: view.reference,
            })
        })
    }

    /// Rejects a quarantined message, optionally telling the sender why
    /// (within the automatic-reply limit; never to automatic mail, which is
    /// not quarantined in the first place).
    pub fn reject_quarantined(
        &self,
        who: &Principal,
        id: i64,
        req: &RejectRequest,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, AppError> {
        staff_only(who)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (_, raw, from) = quarantined(c, id)?;
            let reason = "an agent reviewed it and did not accept it".to_string();
            if req.reply {
                let to =
                    from.ok_or_else(|| super::invalid("reply", "the message has no sender address to reply to"))?;
                let m = MessageParser::default().parse(&raw);
                let subject = m
                    .as_ref()
                    .and_then(|m| m.subject())
                    .map(|s| s.replace(['\r', '\n'], " "))
                    .unwrap_or_default();
                let real_id = m
                    .as_ref()
                    .and_then(|m| m.message_id())
                    .map(|s| s.trim_matches(['<', '>']).to_string());
                super::outbox::enqueue_refusal(c, &to, &subject, &reason, real_id.as_deref(), now)?;
            }
            decide(c, who, id, "rejected", None, now)?;
            audit(
                c,
                who,
                "inbound.reject",
                &format!("inbound:{id}"),
                Some(if req.reply { "with reply" } else { "silently" }),
                now,
            )?;
            Ok(IngestOutcome::Rejected { reason })
        })
    }
}

/// A file that came with a message on a ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AttachmentView {
    pub id: i64,
    pub filename: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
}

/// A message recorded on a ticket, with where to fetch its original.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketMessage {
    pub id: i64,
    pub message_id: String,
    pub via: String,
    pub received_at: DateTime<Utc>,
    pub from: Option<String>,
    pub subject: Option<String>,
    pub outcome: String,
    /// The original as it arrived (message/rfc822).
    pub original: String,
}

impl App {
    /// The files that came with a ticket's mail, for anyone who may see the ticket.
    pub fn ticket_attachments(&self, who: &Principal, reference: &str) -> Result<Vec<AttachmentView>, AppError> {
        use crate::store::schema::attachments as a;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        let rows: Vec<(i64, String, String, i64, String, chrono::NaiveDateTime)> = a::table
            .filter(a::ticket_id.eq(ticket_id))
            .order(a::id.asc())
            .select((a::id, a::filename, a::content_type, a::size, a::sha256, a::created_at))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, filename, content_type, size, sha256, at)| AttachmentView {
                id,
                filename,
                content_type,
                size,
                sha256,
                created_at: super::utc(at),
            })
            .collect())
    }

    /// One file of a ticket: its name, type and bytes.
    pub fn ticket_attachment(
        &self,
        who: &Principal,
        reference: &str,
        id: i64,
    ) -> Result<(String, String, Vec<u8>), AppError> {
        use crate::store::schema::attachments as a;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        a::table
            .filter(a::ticket_id.eq(ticket_id))
            .filter(a::id.eq(id))
            .select((a::filename, a::content_type, a::data))
            .first(&mut *conn)
            .optional()?
            .ok_or_else(|| AppError::NotFound(format!("no attachment {id} on {reference}")))
    }

    /// The mail recorded on a ticket (staff only: originals show routing).
    pub fn ticket_messages(&self, who: &Principal, reference: &str) -> Result<Vec<TicketMessage>, AppError> {
        staff_only(who)?;
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        type Row = (
            i64,
            String,
            String,
            chrono::NaiveDateTime,
            Option<String>,
            Option<String>,
            String,
        );
        let rows: Vec<Row> = inbound_messages::table
            .filter(inbound_messages::ticket_id.eq(ticket_id))
            .order((inbound_messages::received_at.asc(), inbound_messages::id.asc()))
            .select((
                inbound_messages::id,
                inbound_messages::message_id,
                inbound_messages::via,
                inbound_messages::received_at,
                inbound_messages::from_address,
                inbound_messages::subject,
                inbound_messages::outcome,
            ))
            .load(&mut *conn)?;
        Ok(rows
            .into_iter()
            .map(|(id, message_id, via, at, from, subject, outcome)| TicketMessage {
                id,
                message_id,
                via,
                received_at: super::utc(at),
                from,
                subject,
                outcome,
                original: format!("/api/v1/inbound/messages/{id}"),
            })
            .collect())
    }
}

/// A quarantined message's Message-ID, bytes and sender; a clear error if
/// it does not exist or was decided already.
fn quarantined(c: &mut DbConnection, id: i64) -> Result<(String, Vec<u8>, Option<String>), AppError> {
    let row: Option<(String, String, Vec<u8>, Option<String>)> = inbound_messages::table
        .find(id)
        .select((
            inbound_messages::message_id,
            inbound_messages::outcome,
            inbound_messages::raw,
            inbound_messages::from_address,
        ))
        .first(c)
        .optional()?;
    match row {
        None => Err(AppError::NotFound(format!("no inbound message {id}"))),
        Some((_, outcome, ..)) if outcome != "quarantined" => Err(AppError::Conflict(format!(
            "inbound message {id} is {outcome}, not quarantined: decided already"
        ))),
        Some((message_id, _, raw, from)) => Ok((message_id, raw, from)),
    }
}

fn decide(
    c: &mut DbConnection,
    who: &Principal,
    id: i64,
    outcome: &str,
    ticket_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::update(inbound_messages::table.find(id))
        .set((
            inbound_messages::outcome.eq(outcome),
            inbound_messages::ticket_id.eq(ticket_id),
            inbound_messages::decided_by.eq((who.user_id > 0).then_some(who.user_id)),
            inbound_messages::decided_at.eq(Some(naive(now))),
        ))
        .execute(c)?;
    Ok(())
}

/// Where a mailbox reader stands: the folder (`source`), its UIDVALIDITY
/// and the highest UID taken in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailboxPosition {
    pub source: String,
    pub uid_validity: i64,
    pub last_uid: i64,
}

pub(crate) fn save_position(c: &mut DbConnection, p: &MailboxPosition, now: DateTime<Utc>) -> Result<(), AppError> {
    use crate::store::schema::mailbox_positions as mp;
    let n = diesel::update(mp::table.filter(mp::source.eq(&p.source)))
        .set((
            mp::uid_validity.eq(p.uid_validity),
            mp::last_uid.eq(p.last_uid),
            mp::updated_at.eq(naive(now)),
        ))
        .execute(c)?;
    if n == 0 {
        diesel::insert_into(mp::table)
            .values((
                mp::source.eq(&p.source),
                mp::uid_validity.eq(p.uid_validity),
                mp::last_uid.eq(p.last_uid),
                mp::updated_at.eq(naive(now)),
            ))
            .execute(c)?;
    }
    Ok(())
}

impl App {
    /// Where the reader of `source` stands, if it has read anything.
    pub fn mailbox_position(&self, source: &str) -> Result<Option<MailboxPosition>, AppError> {
        use crate::store::schema::mailbox_positions as mp;
        let mut conn = self.conn()?;
        let row: Option<(i64, i64)> = mp::table
            .filter(mp::source.eq(source))
            .select((mp::uid_validity, mp::last_uid))
            .first(&mut *conn)
            .optional()?;
        Ok(row.map(|(uid_validity, last_uid)| MailboxPosition {
            source: source.to_string(),
            uid_validity,
            last_uid,
        }))
    }

    /// Records where the reader of a mailbox stands, outside any message
    /// (for a message that can never be accepted, which stays in the folder).
    pub fn set_mailbox_position(&self, p: &MailboxPosition) -> Result<(), AppError> {
        let now = super::now();
        let mut conn = self.conn()?;
        conn.write(|c| save_position(c, p, now))
    }
}

/// How intake failed: the message can never be accepted, or try again later.
#[derive(Debug, thiserror::Error)]
pub enum IngestFailure {
    #[error(transparent)]
    Unacceptable(#[from] Unacceptable),
    #[error(transparent)]
    Failed(#[from] AppError),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_in_subjects_and_message_ids() {
        assert_eq!(subject_reference("Re: [SD-000123] VPN down"), Some("SD-000123".into()));
        assert_eq!(subject_reference("RE: [sd-000123]"), Some("SD-000123".into()));
        assert_eq!(subject_reference("[SD-12] short"), None);
        assert_eq!(subject_reference("no tag"), None);
        assert_eq!(
            reference_in_message_ids(&["<SD-000042.3.abc@desk.example>".into()]),
            Some("SD-000042".into())
        );
        assert_eq!(reference_in_message_ids(&["<CAF=abc@mail.gmail.com>".into()]), None);
    }

    #[test]
    fn strips_quoted_history_and_signatures() {
        let gmail = "Thanks, that fixed it.\n\nOn Mon, 30 Nov 2026 at 09:00, Desk <support@x> wrote:\n> old text\n";
        assert_eq!(strip_reply(gmail), "Thanks, that fixed it.");
        let outlook = "Still broken.\r\n\r\n-----Original Message-----\r\nFrom: Desk\r\n";
        assert_eq!(strip_reply(outlook), "Still broken.");
        assert_eq!(strip_reply("Hello\n-- \nCarol\nAcme"), "Hello");
        assert_eq!(
            strip_reply("> only a quote"),
            "> only a quote",
            "never strip everything"
        );
    }
}
