//! Quarantined mail: staff list it, read the original, and accept it
//! (a ticket, and a contact if need be) or reject it (with a reply if asked).

use super::*;

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

/// A quarantined message's Message-ID, bytes and sender; a clear error if
/// it does not exist or was decided already.
pub(super) fn quarantined(c: &mut DbConnection, id: i64) -> Result<(String, Vec<u8>, Option<String>), AppError> {
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

pub(super) fn decide(
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

impl App {
    /// Quarantined messages, oldest first (the order to work them in).
    pub fn quarantine(&self, who: &Principal, limit: i64) -> Result<Vec<QuarantinedMessage>, AppError> {
        who.staff_only()?;
        if !(1..=500).contains(&limit) {
            return Err(crate::app::invalid("limit", "expected 1 to 500"));
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
                    received_at: crate::app::utc(at),
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
        who.staff_only()?;
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
        who.staff_only()?;
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
                            return Err(crate::app::invalid(
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
                        crate::app::invalid("organisation", format!("required: {from} is not a contact yet"))
                    })?;
                    let org = self.organisation_by_slug(c, slug)?;
                    self.add_contact(
                        c,
                        &from,
                        display_name(&m).as_deref(),
                        &org,
                        who,
                        "user.create_from_quarantine",
                        now,
                    )?
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
        who.staff_only()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (_, raw, from) = quarantined(c, id)?;
            let reason = "an agent reviewed it and did not accept it".to_string();
            if req.reply {
                let to =
                    from.ok_or_else(|| crate::app::invalid("reply", "the message has no sender address to reply to"))?;
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
                crate::app::outbox::enqueue_refusal(c, &to, &subject, &reason, real_id.as_deref(), now)?;
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
