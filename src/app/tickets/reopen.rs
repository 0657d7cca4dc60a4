//! A customer's request to reopen a resolved ticket.

use super::*;

impl App {
    /// A customer's request to reopen a resolved ticket. Customers change
    /// no status (DESIGN), so the request is recorded on the ticket as their
    /// reply and sent to whoever decides (the assignee, else the queue's
    /// lead, else its members) in one transaction. Refused once the policy's
    /// reopen window has passed, saying when it closed, as an agent's reopen
    /// would be.
    pub fn ask_to_reopen(
        &self,
        who: &Principal,
        reference: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        if who.role != Role::Customer {
            return Err(AppError::Forbidden("staff reopen a ticket themselves".into()));
        }
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("reason", "say what is still wrong"));
        }
        self.check_text_size("reason", reason)?;
        no_nul("reason", reason)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            // Each request mails staff: a customer may send only so many an
            // hour, counted in the store so every process agrees.
            let per_hour = self.limits().reopen_requests_per_hour;
            let sent: i64 = crate::store::schema::audit_log::table
                .filter(crate::store::schema::audit_log::actor_id.eq(who.user_id))
                .filter(crate::store::schema::audit_log::action.eq("ticket.reopen_request"))
                .filter(crate::store::schema::audit_log::at.gt(naive(now - chrono::Duration::hours(1))))
                .count()
                .get_result(c)?;
            if sent >= i64::from(per_hour) {
                return Err(AppError::RateLimited(
                    format!("at most {per_hour} requests to reopen an hour; the desk has your earlier ones"),
                    3600,
                ));
            }
            let l = self.load_ticket(c, who, reference)?;
            if l.ticket.status != Status::Resolved {
                return Err(AppError::Conflict(format!(
                    "only a resolved ticket can be reopened; this one is {}",
                    l.ticket.status.as_str().replace('_', " ")
                )));
            }
            let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
            let ctx = SlaContext {
                policy: &l.policy,
                calendars: &calendars,
            };
            // Whether an agent could reopen it now: the window is the core's to say.
            let probe = Command {
                at: now.max(l.ticket.last_event_at()),
                by: Actor::Agent("reopen window".into()),
                action: Action::Reopen,
            };
            l.ticket.apply(&probe, &ctx)?;
            let view = self.change_ticket_in(
                c,
                who,
                reference,
                &[Change::Reply(format!("Asked to reopen: {reason}"))],
                now,
            )?;
            let queue: (String, Option<String>) = queues::table
                .left_join(users::table.on(queues::lead_id.eq(users::id.nullable())))
                .filter(queues::id.eq(l.row.queue_id))
                .select((queues::slug, users::email.nullable()))
                .first(c)?;
            let mut to: Vec<String> = view.assignee.iter().chain(queue.1.iter()).take(1).cloned().collect();
            if to.is_empty() {
                to = crate::store::schema::queue_members::table
                    .inner_join(users::table.on(crate::store::schema::queue_members::user_id.eq(users::id)))
                    .filter(crate::store::schema::queue_members::queue_id.eq(l.row.queue_id))
                    .select(users::email)
                    .load(c)?;
            }
            let notices = crate::app::outbox::reopen_requests(
                &crate::app::outbox::AlertedTicket {
                    id: l.row.id,
                    reference: &view.reference,
                    subject: &view.subject,
                    severity: view.severity,
                    organisation_name: &view.organisation_name,
                    queue: &queue.0,
                    assignee: view.assignee_name.as_deref().or(view.assignee.as_deref()),
                    url: self.ticket_url(&view.reference),
                },
                &to,
                &who.email,
                reason,
            );
            crate::app::outbox::insert_staff_alerts(c, &notices, now)?;
            audit(
                c,
                who,
                "ticket.reopen_request",
                &format!("ticket:{}", view.reference),
                None,
                now,
            )?;
            Ok(view)
        })
        .and_then(|v| self.shown_to(who, v))
    }
}
