//! Mail intake: one RFC 5322 message in, a ticket or a reply out (or a
//! recorded reason why not), whichever way it arrived (pipe, HTTP, IMAP).
//!
//! The message is parsed with mail-parser; sender, recipients and threading
//! are resolved against the store; the ticket change and the record of the
//! message (keyed by Message-ID and sender, with the original bytes) are
//! written in one transaction, so a redelivery finds the record and changes
//! nothing. The clock starts at our receipt (`now`), never at the Date header.
//!
//! Why this file is long: it is one pipeline, `ingest_in`, read top to
//! bottom as the decision it is (duplicate, ours, automatic, sender
//! authentication, contact, limits, threading, new ticket). Beside it:
//! what the message says (`message`, mail-parser), who the sender is
//! (`contacts`), quarantine decisions, mailbox positions and the
//! pure text rules.

mod contacts;
mod mailbox;
mod message;
mod quarantine;
mod rules;

pub use mailbox::MailboxPosition;
pub(crate) use mailbox::save_position;
use message::*;
pub use quarantine::{AcceptRequest, QuarantinedMessage, RejectRequest};
pub use rules::{declared_severity, strip_reply};
use rules::{reference_in_message_ids, subject_reference};

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use mail_parser::{Message, MessageParser, MimeHeaders};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::tickets::{Change, NewTicketRequest, TicketView, store_attachments};
use super::{App, AppError, Principal, audit, naive};
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
        // A unique key taken by a concurrent writer: this message arriving
        // twice at once, or two first messages from one new sender both
        // making its contact. Which one is known only by trying again: the
        // second kind finds the contact and goes on. Answering "duplicate"
        // without trying lost the second kind (benches/chaos.sh found it).
        // A key still taken after the tries is the message's own (some are
        // kept under a key of their bytes, which the first look does not
        // ask for): a duplicate.
        let mut tries = 0;
        loop {
            let outcome = conn.write(|c| -> Result<IngestOutcome, AppError> {
                let outcome = self.ingest_in(c, parsed.as_ref(), verdict.as_ref(), raw, via, now)?;
                if let Some(p) = position {
                    save_position(c, p, now)?;
                }
                Ok(outcome)
            });
            match outcome {
                Err(AppError::Store(crate::store::StoreError::Query(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )))) if tries < 3 => tries += 1,
                Err(AppError::Store(crate::store::StoreError::Query(diesel::result::Error::DatabaseError(
                    diesel::result::DatabaseErrorKind::UniqueViolation,
                    _,
                )))) => {
                    return Ok(IngestOutcome::Duplicate {
                        first_outcome: "concurrent".into(),
                    });
                }
                Ok(o) => return Ok(o),
                Err(e) => return Err(e.into()),
            }
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
        let display_name = display_name(m);
        let contact = match self.contact_for(c, &from_addr, display_name.as_deref(), now)? {
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
        let who = Principal::contact(&contact);
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
            // Mail to a duplicate merged away goes on in the ticket it went into.
            let reference = crate::app::tickets::merged_into(c, &reference)?.unwrap_or(reference);
            let found: Option<(i64, i64, i64, String)> = tickets::table
                .filter(tickets::reference.eq(&reference))
                .select((
                    tickets::id,
                    tickets::organisation_id,
                    tickets::requester_id,
                    tickets::status,
                ))
                .first(c)
                .optional()?;
            match found {
                Some((_, org, _, _)) if Some(org) != contact.organisation_id => {
                    return keep(
                        c,
                        IngestOutcome::Quarantined {
                            reason: format!("{from_addr} is not a contact of the organisation of {reference}"),
                        },
                        None,
                    );
                }
                // Under own-and-watched sharing, a colleague who neither
                // raised nor watches the ticket may not add to it by mail.
                Some((id, org, requester, _)) if !self.reach(c, &who)?.allows(c, id, org, requester)? => {
                    return keep(
                        c,
                        IngestOutcome::Quarantined {
                            reason: format!("{from_addr} neither raised nor watches {reference}"),
                        },
                        None,
                    );
                }
                Some((id, _, _, status)) if status != "closed" && status != "cancelled" => {
                    let replied = self.reply_in(c, &who, &reference, strip_reply(&text_of(m)), now)?;
                    store_attachments(c, id, Some(&message_id), &files, now)?;
                    self.cc_watchers(c, m, id, &from_addr, now)?;
                    return keep(c, IngestOutcome::Replied { reference: replied }, Some(id));
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
        self.cc_watchers(c, m, id, &from_addr, now)?;
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
        let who = Principal::contact(contact);
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
        let id = crate::store::find::ticket_id(c, &view.reference)?.ok_or(diesel::result::Error::NotFound)?;
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
        if !super::tickets::enqueue_acknowledgement(
            c,
            id,
            &view,
            contact,
            real_id.as_deref(),
            &self.ticket_url(&view.reference),
            now,
        )? {
            tracing::info!(to = %contact.email, "acknowledgement withheld: automatic-reply limit for this address");
        }
        Ok((view, id))
    }

    fn reply_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        // An approver's reply to a request awaiting them, saying "approve" or
        // "refuse" on its first line, is their decision.
        if who.role == super::Role::Customer
            && let Some(decision) = crate::app::itil::decision_in_mail(&body)
            && self.decide_by_mail(c, who, reference, &decision, now)?
        {
            return Ok(reference.to_string());
        }
        Ok(self
            .change_ticket_in(c, who, reference, &[Change::Reply(body)], now)?
            .reference)
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

/// How intake failed: the message can never be accepted, or try again later.
#[derive(Debug, thiserror::Error)]
pub enum IngestFailure {
    #[error(transparent)]
    Unacceptable(#[from] Unacceptable),
    #[error(transparent)]
    Failed(#[from] AppError),
}
