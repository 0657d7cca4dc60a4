//! Changing a ticket: replies, notes, assignment, queue, severity and
//! status, applied in order through the core in one transaction, retried
//! on a concurrent writer.

use super::*;

/// What one change to a ticket asks: the changes in order, the files that
/// come with them, and the version the caller read (for `If-Match`).
pub(super) struct Edit<'a> {
    changes: &'a [Change],
    files: &'a [Upload],
    if_match: Option<i64>,
}

impl App {
    /// Applies changes and adds files in one transaction (a reply with attachments).
    pub fn change_ticket_with_files(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        files: &[Upload],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        self.check_uploads(files)?;
        // A ticket's files are all shown to its customer: none may ride on an internal note.
        if !files.is_empty() && changes.iter().any(|c| matches!(c, Change::Note(_))) {
            return Err(invalid(
                "attachments",
                "files go with public replies only: the customer sees every file of a ticket",
            ));
        }
        let v = self.change_ticket_as_stored(who, reference, changes, files, None, now)?;
        self.shown_to(who, v)
    }

    /// Applies changes to a ticket, in order, in one transaction.
    pub fn change_ticket(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let v = self.change_ticket_as_stored(who, reference, changes, &[], if_match, now)?;
        self.shown_to(who, v)
    }

    /// Applies changes to a ticket, in order, in one transaction.
    pub(super) fn change_ticket_as_stored(
        &self,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        files: &[Upload],
        if_match: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if changes.is_empty() {
            return Err(invalid("(body)", "nothing to change"));
        }
        for ch in changes {
            if let Change::Reply(b) | Change::Note(b) = ch {
                if b.trim().is_empty() {
                    return Err(invalid("body", "must not be empty"));
                }
                self.check_text_size("body", b)?;
                no_nul("body", b)?;
            }
        }
        let mut conn = self.conn()?;
        for _ in 0..RETRIES {
            let attempt = conn.write(|c| {
                let v = self.try_change(
                    c,
                    who,
                    reference,
                    Edit {
                        changes,
                        files,
                        if_match,
                    },
                    now,
                )?;
                Ok::<_, Attempt>(v)
            });
            match attempt {
                Ok(v) => return Ok(v),
                Err(Attempt::Retry) if if_match.is_none() => continue,
                Err(Attempt::Retry) => {
                    return Err(AppError::Conflict("the ticket changed meanwhile: read it again".into()));
                }
                Err(Attempt::Failed(e)) => return Err(e),
            }
        }
        Err(AppError::Conflict("the ticket is too busy: try again".into()))
    }

    /// Applies changes inside the caller's write transaction (the ticket row
    /// is locked there, so no retry is needed).
    pub(crate) fn change_ticket_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        changes: &[Change],
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let edit = Edit {
            changes,
            files: &[],
            if_match: None,
        };
        match self.try_change(c, who, reference, edit, now) {
            Ok(v) => Ok(v),
            Err(Attempt::Retry) => Err(AppError::Conflict("the ticket changed meanwhile: try again".into())),
            Err(Attempt::Failed(e)) => Err(e),
        }
    }

    pub(super) fn try_change(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        edit: Edit,
        now: DateTime<Utc>,
    ) -> Result<TicketView, Attempt> {
        let Edit {
            changes,
            files,
            if_match,
        } = edit;
        c.lock_ticket(&parse_reference(reference)?)?;
        let l = self.load_ticket(c, who, reference)?;
        if let Some(v) = if_match
            && v != l.row.row_version
        {
            return Err(AppError::Conflict(format!(
                "the ticket is at version {}, not {v}: read it again",
                l.row.row_version
            ))
            .into());
        }
        let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        // Commands are ordered per ticket: a request that started a moment
        // before the last committed change is applied just after it.
        let at = now.max(l.ticket.last_event_at());
        let actor = actor_of(who);
        let kind: crate::domain::itil::TicketType = l.row.ticket_type.parse().map_err(AppError::internal)?;
        let incident = kind == crate::domain::itil::TicketType::Incident;
        if !incident
            && let Some(ch) = changes.iter().find(|ch| {
                matches!(
                    ch,
                    Change::Status(_) | Change::Resolve | Change::Reopen | Change::Close | Change::Cancel
                )
            })
        {
            // A request, problem or change moves through its own lifecycle.
            return Err(AppError::Conflict(format!(
                "{} is a {}: its status moves by the {}'s own actions, not '{}'",
                l.row.reference,
                kind.title(),
                kind.title(),
                ch.name()
            ))
            .into());
        }
        let mut ticket = l.ticket.clone();
        let mut events = Vec::new();
        let mut assignee_id = l.row.assignee_id;
        let mut queue_id = l.row.queue_id;
        for ch in changes {
            let action = match ch {
                Change::LogTime(_) => {
                    who.staff_or_forbidden("time spent")?;
                    continue;
                }
                Change::Reply(body) => match who.role {
                    Role::Customer => Action::CustomerReply { body: body.clone() },
                    _ => Action::AgentReply { body: body.clone() },
                },
                Change::Note(body) => Action::InternalNote { body: body.clone() },
                Change::Status(s) => Action::SetStatus { to: *s },
                Change::Severity(s) => Action::SetSeverity { to: *s },
                Change::Assign(None) => {
                    assignee_id = None;
                    Action::Assign { to: None }
                }
                Change::Assign(Some(email)) => {
                    if who.role == Role::Customer {
                        return Err(AppError::Forbidden("a customer cannot assign a ticket".into()).into());
                    }
                    let u = self
                        .user_by_email(c, email)
                        .map_err(|_| invalid("assignee", format!("unknown user '{email}'")))?;
                    if u.role == "customer" || u.disabled {
                        return Err(invalid("assignee", format!("'{email}' is not an active member of staff")).into());
                    }
                    assignee_id = Some(u.id);
                    Action::Assign {
                        to: Some(u.id.to_string()),
                    }
                }
                Change::Queue(slug) => {
                    if who.role == Role::Customer {
                        return Err(AppError::Forbidden("a customer cannot move a ticket".into()).into());
                    }
                    let q: Queue = crate::store::find::queue_by_slug(c, slug)
                        .map_err(AppError::from)?
                        .ok_or_else(|| invalid("queue", format!("unknown queue '{slug}'")))?;
                    queue_id = q.id;
                    Action::MoveQueue { to: q.slug }
                }
                Change::Resolve => Action::Resolve,
                Change::Reopen => Action::Reopen,
                Change::Close => Action::Close,
                Change::Cancel => Action::Cancel,
                Change::Absorb {
                    from,
                    received_at,
                    messages,
                } => Action::Absorb {
                    from: from.clone(),
                    received_at: *received_at,
                    messages: messages.clone(),
                },
            };
            let (next, evs) = ticket
                .apply(
                    &Command {
                        at,
                        by: actor.clone(),
                        action,
                    },
                    &ctx,
                )
                .map_err(AppError::from)?;
            ticket = next;
            events.extend(evs);
        }
        let view = sla(&ticket, &ctx, at).map_err(|e| AppError::internal(e.to_string()))?;
        insert_events(c, l.row.id, l.ticket.events.len() + 1, &events)?;
        let updated = diesel::update(
            tickets::table
                .find(l.row.id)
                .filter(tickets::row_version.eq(l.row.row_version)),
        )
        .set(state_row(
            &ticket,
            &view,
            queue_id,
            assignee_id,
            l.row.row_version + 1,
            &l.row.holiday_set,
            at,
        ))
        .execute(c)?;
        if updated == 0 {
            return Err(Attempt::Retry);
        }
        if !incident {
            if kind == crate::domain::itil::TicketType::ServiceRequest && who.role == Role::Customer {
                for ch in changes {
                    if let Change::Reply(body) = ch
                        && let Some(r) =
                            super::record::customer_answered(c, l.row.id, &l.row.reference, &actor, body, at)?
                    {
                        let summary = self.request_summary(c, l.row.id, &r, at)?;
                        super::record::write_summary(c, l.row.id, &summary, at)?;
                    }
                }
            }
            super::record::keep_record_state(c, l.row.id, at)?;
        }
        // Time spent, booked with the reply or note it came with.
        let last_seq = (!events.is_empty()).then(|| (l.ticket.events.len() + events.len()) as i32);
        for ch in changes {
            if let Change::LogTime(minutes) = ch {
                let entry = super::time::NewEntry {
                    ticket_id: l.row.id,
                    minutes: *minutes,
                    spent_on: super::time::london_today(now),
                    note: None,
                    event_seq: last_seq,
                };
                super::time::insert_entry(c, who, entry, now)?;
            }
        }
        // The files, stored with the change (the ticket is locked), and
        // named in the mail that tells the requester of it.
        let ids = self.store_uploads(c, &l.row.reference, files, now)?;
        let mail_files: Vec<super::notices::MailFile> = ids
            .iter()
            .zip(files)
            .map(|(id, f)| super::notices::MailFile {
                id: *id,
                name: f.filename.clone(),
                size: f.data.len() as i64,
            })
            .collect();
        let summary: Vec<&str> = events.iter().map(|e| event_kind_name(&e.kind)).collect();
        audit(
            c,
            who,
            "ticket.change",
            &format!("ticket:{}", l.row.reference),
            Some(&summary.join(",")),
            now,
        )?;
        let row: TicketRow = tickets::table
            .find(l.row.id)
            .select(TicketRow::as_select())
            .first(c)
            .map_err(AppError::from)?;
        let out = self.view_of(c, &row)?;
        // Alerts (and so escalation) come only from the scheduler's tick;
        // other changes keep the level, and may take a ticket off the top.
        super::raise_in_queue(c, &row, row.escalation_level)?;
        // A problem is the desk's own record: nobody outside hears of it.
        if kind == crate::domain::itil::TicketType::Problem {
            return Ok(out);
        }
        // The requester hears of it in the same transaction as the change.
        // Only a reply or a status change tells the requester anything; the
        // scheduler's ticks (alerts only) skip the lookups.
        let tells_requester = events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::StatusChanged { .. }
                    | EventKind::Commented {
                        visibility: crate::domain::ticket::Visibility::Public,
                        ..
                    }
            )
        });
        if !tells_requester {
            return Ok(out);
        }
        let requester: User = users::table
            .find(row.requester_id)
            .select(User::as_select())
            .first(c)
            .map_err(AppError::from)?;
        let by_name = if who.user_id > 0 {
            self.user_by_email(c, &who.email)
                .map(|u| u.name)
                .unwrap_or_else(|_| "The service desk".into())
        } else {
            "The service desk".into()
        };
        let reopen_until = match (ticket.resolved_at, ticket.status) {
            (Some(at), crate::domain::ticket::Status::Resolved) => l
                .policy
                .reopen_window
                .to_seconds(ctx.business().standard_day_seconds())
                .and_then(|w| ctx.business().add_seconds(at.timestamp(), w).ok())
                .and_then(|t| DateTime::from_timestamp(t, 0)),
            _ => None,
        };
        // The requester, then each watcher, hears of it in a mail of their own.
        let watchers = super::watchers::to_tell(c, row.id, row.organisation_id)?;
        for to in std::iter::once(&requester).chain(watchers.iter().filter(|w| w.id != requester.id)) {
            super::notices::enqueue_change_notice(
                c,
                &super::notices::ChangeNotice {
                    ticket_id: row.id,
                    view: &out,
                    to,
                    watching_for: (to.id != requester.id).then_some(requester.name.as_str()),
                    by_name: &by_name,
                    by_customer: who.role == Role::Customer,
                    events: &events,
                    reopen_until,
                    reopen_window: l.policy.reopen_window.to_string(),
                    ticket_url: self.ticket_url(&out.reference),
                    files: &mail_files,
                    mail_attachment_bytes: self.limits().mail_attachment_bytes,
                },
                now,
            )?;
        }
        Ok(out)
    }
}
