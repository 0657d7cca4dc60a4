//! Raising a ticket: by a customer (their choices of severity and queue
//! checked), by staff on a customer's behalf, or by mail intake inside its
//! own transaction; with files, in the same transaction.

use super::*;

impl App {
    /// Raises a ticket. For customers: in their own organisation, as requester.
    pub fn create_ticket(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let v = self.create_ticket_as_stored(who, req, &[], now)?;
        self.shown_to(who, v)
    }

    /// Raises a ticket with files, as the web form sends them, in one transaction.
    pub fn create_ticket_with_files(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.check_uploads(files)?;
        let v = self.create_ticket_as_stored(who, req, files, now)?;
        self.shown_to(who, v)
    }

    /// A new ticket's subject and description: said, and within bounds.
    pub(crate) fn check_new_text(&self, req: &NewTicketRequest) -> Result<(), AppError> {
        if req.subject.trim().is_empty() {
            return Err(invalid("subject", "must not be empty"));
        }
        if req.subject.chars().count() > MAX_SUBJECT {
            return Err(invalid("subject", format!("at most {MAX_SUBJECT} characters")));
        }
        if req.description.trim().is_empty() {
            return Err(invalid("description", "must not be empty"));
        }
        self.check_text_size("description", &req.description)?;
        no_nul("subject", &req.subject)?;
        no_nul("description", &req.description)
    }

    /// A description, reply, note or reason within `limits.max_text_chars`.
    pub(crate) fn check_text_size(&self, field: &str, text: &str) -> Result<(), AppError> {
        let most = self.limits().max_text_chars;
        // Bytes bound characters from above: only a long text is counted.
        if text.len() > most && text.chars().count() > most {
            return Err(invalid(field, format!("at most {most} characters")));
        }
        Ok(())
    }

    pub(super) fn check_uploads(&self, files: &[Upload]) -> Result<(), AppError> {
        let most = self.limits().max_attachments;
        if files.len() > most {
            return Err(invalid("attachments", format!("at most {most} files at once")));
        }
        let total: usize = files.iter().map(|f| f.data.len()).sum();
        if total > self.attachment_limit() {
            return Err(invalid(
                "attachments",
                format!("at most {} MB together", self.attachment_limit() / (1024 * 1024)),
            ));
        }
        for f in files {
            if f.filename.trim().is_empty() || f.filename.chars().count() > 255 {
                return Err(invalid(
                    "attachments",
                    "each file needs a name of at most 255 characters",
                ));
            }
            no_nul("attachments", &f.filename)?;
        }
        Ok(())
    }

    /// Raises a ticket. For customers: in their own organisation, as requester.
    pub(super) fn create_ticket_as_stored(
        &self,
        who: &Principal,
        req: NewTicketRequest,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.check_new_text(&req)?;
        let source = req.source.clone().unwrap_or_else(|| "api".into());
        if !matches!(source.as_str(), "email" | "web" | "api" | "phone") {
            return Err(invalid("source", "expected email, web, api or phone"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (req, asked) = self.customer_choices(c, who, req.clone())?;
            let v = self.create_ticket_in(c, who, &req, &source, now)?;
            self.store_uploads(c, &v.reference, files, now)?;
            self.acknowledge(c, &v, now)?;
            if let Some(asked) = asked.filter(|a| i32::from(a.number()) != v.severity) {
                // As for mail: agents decide, and are told what was asked.
                let note = format!(
                    "The customer asked for severity {}, but {} may not declare severity, so the queue's default \
                     applies. Change it if the request warrants it.",
                    asked.number(),
                    v.organisation
                );
                return self.change_ticket_in(
                    c,
                    &crate::app::Principal::operator(),
                    &v.reference,
                    &[Change::Note(note)],
                    now,
                );
            }
            Ok(v)
        })
    }

    /// A ticket raised on the web or through the API is acknowledged to its
    /// requester as one raised by mail is (the same template), in the
    /// ticket's transaction: the reference, and when we respond and resolve.
    fn acknowledge(&self, c: &mut DbConnection, v: &TicketView, now: DateTime<Utc>) -> Result<(), AppError> {
        let (id, requester): (i64, crate::store::models::User) = tickets::table
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .filter(tickets::reference.eq(&v.reference))
            .select((tickets::id, crate::store::models::User::as_select()))
            .first(c)?;
        if requester.role == "customer" && !requester.disabled {
            let url = self.ticket_url(&v.reference);
            super::notices::enqueue_acknowledgement(c, id, v, &requester, None, &url, now)?;
        }
        Ok(())
    }

    /// Whether a customer's organisation may declare a ticket's severity
    /// (staff always set it): the page asks for one only then.
    pub fn may_declare_severity(&self, who: &Principal) -> Result<bool, AppError> {
        if who.role != Role::Customer {
            return Ok(true);
        }
        let mut conn = self.conn()?;
        Ok(organisations::table
            .find(who.organisation_id.unwrap_or(-1))
            .select(organisations::may_declare_severity)
            .first(&mut conn)
            .optional()?
            .unwrap_or(false))
    }

    /// What a customer may choose when raising a ticket: a queue only among
    /// those marked customer-selectable (an unknown slug gets the same
    /// answer, so slugs cannot be enumerated), and a severity only where
    /// their organisation may declare one; otherwise the severity they
    /// asked for is set aside (returned) and the queue's default applies.
    pub(super) fn customer_choices(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        mut req: NewTicketRequest,
    ) -> Result<(NewTicketRequest, Option<Severity>), AppError> {
        if who.role != Role::Customer {
            return Ok((req, None));
        }
        if let Some(slug) = &req.queue {
            let selectable: i64 = queues::table
                .filter(queues::slug.eq(slug))
                .filter(queues::customer_selectable.eq(true))
                .count()
                .get_result(c)?;
            if selectable == 0 {
                return Err(invalid("queue", "not a queue you can choose; leave it out"));
            }
        }
        let may_declare: bool = organisations::table
            .find(who.organisation_id.unwrap_or(-1))
            .select(organisations::may_declare_severity)
            .first(c)
            .optional()?
            .unwrap_or(false);
        let asked = if may_declare { None } else { req.severity.take() };
        Ok((req, asked))
    }

    pub(super) fn store_uploads(
        &self,
        c: &mut DbConnection,
        reference: &str,
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, AppError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }
        let id = crate::store::find::ticket_id(c, reference)?.ok_or(diesel::result::Error::NotFound)?;
        let files: Vec<(String, String, &[u8])> = files
            .iter()
            .map(|f| (f.filename.clone(), f.content_type.clone(), f.data.as_slice()))
            .collect();
        super::store_attachments(c, id, None, &files, now)
    }

    /// Raises a validated ticket inside the caller's write transaction, so
    /// mail intake can record the message in the same transaction.
    pub(crate) fn create_ticket_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        req: &NewTicketRequest,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let (org, requester) = self.ticket_parties(c, who, req.organisation.as_deref(), req.requester.as_deref())?;
        self.insert_ticket(c, who, org, requester, req, source, now)
    }

    /// The organisation and requester of a new ticket (of any type): the
    /// customer's own, or for staff the ones named, the requester a contact
    /// of that organisation.
    pub(crate) fn ticket_parties(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        organisation: Option<&str>,
        requester: Option<&str>,
    ) -> Result<(Organisation, User), AppError> {
        if who.role == Role::Customer {
            if organisation.is_some() || requester.is_some() {
                return Err(AppError::Forbidden(
                    "customers raise tickets for themselves: leave out organisation and requester".into(),
                ));
            }
            let org: Organisation = organisations::table
                .find(who.organisation_id.unwrap_or(-1))
                .select(Organisation::as_select())
                .first(c)?;
            return Ok((org, self.user_by_email(c, &who.email)?));
        }
        let slug = organisation.ok_or_else(|| invalid("organisation", "required when staff raise a ticket"))?;
        let org = self
            .organisation_by_slug(c, slug)
            .map_err(|_| invalid("organisation", format!("unknown organisation '{slug}'")))?;
        let email = requester.ok_or_else(|| invalid("requester", "required when staff raise a ticket"))?;
        let requester = self
            .user_by_email(c, email)
            .map_err(|_| invalid("requester", format!("unknown contact '{email}'")))?;
        if requester.organisation_id != Some(org.id) {
            return Err(invalid("requester", format!("'{email}' is not a contact of {slug}")));
        }
        Ok((org, requester))
    }

    /// A ticket for `org` raised by `requester` (a contact, or for a problem
    /// the member of staff who opened it), inside the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn insert_ticket(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        org: Organisation,
        requester: User,
        req: &NewTicketRequest,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if org.status == "terminated" {
            return Err(AppError::Forbidden(format!("organisation {} is terminated", org.slug)));
        }
        let queue: Queue = match &req.queue {
            Some(slug) => crate::store::find::queue_by_slug(c, slug)?
                .ok_or_else(|| invalid("queue", format!("unknown queue '{slug}'")))?,
            None => queues::table
                .order(queues::id)
                .select(Queue::as_select())
                .first(c)
                .optional()?
                .ok_or_else(|| AppError::Conflict("no queue exists yet: an admin must create one".into()))?,
        };
        let severity = match req.severity {
            Some(s) => s,
            None => Severity::try_from(queue.default_severity as u8).map_err(AppError::Conflict)?,
        };
        let policy = self
            .policies
            .effective(&org.tier, now)
            .map_err(|e| AppError::Conflict(format!("organisation {}: {e}", org.slug)))?;
        let region: Region = org
            .region
            .parse()
            .map_err(|e: crate::domain::holidays::UnknownRegion| AppError::internal(e.to_string()))?;
        let calendars = self.calendars(c, policy, region, &self.holiday_set)?;
        let ctx = SlaContext {
            policy,
            calendars: &calendars,
        };
        let ticket = Ticket::create_in(now, actor_of(who), severity, policy, Some(queue.slug.clone()));
        // A contact's description is their first message; a member of
        // staff's (a problem's) is an internal note.
        let report = if requester.role == "customer" {
            Command {
                at: now,
                by: Actor::Customer(requester.id.to_string()),
                action: Action::CustomerReply {
                    body: req.description.clone(),
                },
            }
        } else {
            Command {
                at: now,
                by: Actor::Agent(requester.id.to_string()),
                action: Action::InternalNote {
                    body: req.description.clone(),
                },
            }
        };
        let (ticket, more) = ticket.apply(&report, &ctx)?;
        let view = sla(&ticket, &ctx, now).map_err(|e| AppError::internal(e.to_string()))?;

        let mut raw = [0u8; 12];
        rand::fill(&mut raw);
        let placeholder = format!("new-{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        // The reference is the row's id, known once the row exists: a unique
        // placeholder first, then the reference with the SLA state.
        let id: i64 = diesel::insert_into(tickets::table)
            .values(NewTicket {
                reference: &placeholder,
                organisation_id: org.id,
                requester_id: requester.id,
                queue_id: queue.id,
                severity: severity.number() as i32,
                status: ticket.status.as_str(),
                subject: req.subject.trim(),
                source,
                received_at: naive(now),
                created_at: naive(now),
                updated_at: naive(now),
                policy: &policy.name,
                policy_version: &policy.version,
                holiday_set: &self.holiday_set,
                row_version: 0,
                reopen_count: 0,
                sla: sla_columns(&view, now),
            })
            .returning(tickets::id)
            .get_result(c)?;
        let reference = format!("SD-{id:06}");
        let state = state_row(&ticket, &view, queue.id, None, 1, &self.holiday_set, now);
        diesel::update(tickets::table.find(id))
            .set((tickets::reference.eq(&reference), &state))
            .execute(c)?;
        let mut events = vec![ticket.events[0].clone()];
        events.extend(more);
        insert_events(c, id, 1, &events)?;
        audit(c, who, "ticket.create", &format!("ticket:{reference}"), None, now)?;
        // Everything the view shows is in hand: no need to read it back.
        let row = TicketRow {
            id,
            reference,
            ticket_type: crate::domain::itil::TicketType::Incident.as_str().to_string(),
            organisation_id: org.id,
            requester_id: requester.id,
            queue_id: queue.id,
            assignee_id: None,
            severity: severity.number() as i32,
            status: ticket.status.as_str().to_string(),
            subject: req.subject.trim().to_string(),
            source: source.to_string(),
            received_at: naive(now),
            created_at: naive(now),
            updated_at: naive(now),
            policy: policy.name.clone(),
            policy_version: policy.version.clone(),
            holiday_set: self.holiday_set.clone(),
            row_version: 1,
            first_response_at: None,
            resolved_at: None,
            reopen_count: 0,
            escalation_level: 0,
            sla: state.sla,
        };
        Ok(row_view(
            &row,
            (
                org.slug.clone(),
                org.name.clone(),
                requester.email.clone(),
                requester.name.clone(),
                queue.slug.clone(),
                None,
                None,
            ),
        ))
    }
}
