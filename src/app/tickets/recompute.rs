//! Recomputing tickets' clocks after a policy or holiday change.

use super::*;

/// What a recompute did (or would do) to one ticket.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RecomputeLine {
    pub reference: String,
    pub old_policy: String,
    pub new_policy: String,
    pub old_response_due: Option<DateTime<Utc>>,
    pub new_response_due: Option<DateTime<Utc>>,
    pub old_resolve_due: Option<DateTime<Utc>>,
    pub new_resolve_due: Option<DateTime<Utc>>,
    pub old_breached: bool,
    pub new_breached: bool,
    /// Fingerprints of the holiday data before and after.
    pub old_holidays: String,
    pub new_holidays: String,
    pub changed: bool,
    pub applied: bool,
}

impl App {
    /// Recomputes the clocks of tickets not yet closed or cancelled on the
    /// policy version now in force for their receipt day and the current
    /// holiday data; `dry_run` only reports. Each changed ticket gets a
    /// timeline event and an audit row, in its own transaction.
    pub fn recompute(
        &self,
        who: &Principal,
        organisation: Option<&str>,
        reference: Option<&str>,
        dry_run: bool,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecomputeLine>, AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        // The incident's clocks are the incident's: requests, problems and
        // changes keep theirs in their records.
        let mut q = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::ticket_type.eq("incident"))
            .filter(tickets::status.ne_all(["closed", "cancelled"]))
            .into_boxed();
        if let Some(slug) = organisation {
            self.organisation_by_slug(&mut conn, slug)?;
            q = q.filter(organisations::slug.eq(slug.to_string()));
        }
        if let Some(r) = reference {
            q = q.filter(tickets::reference.eq(parse_reference(r)?));
        }
        let refs: Vec<String> = q.order(tickets::id).select(tickets::reference).load(&mut conn)?;
        if let Some(r) = reference
            && refs.is_empty()
        {
            return Err(AppError::NotFound(format!("open ticket {r}")));
        }
        let mut out = Vec::with_capacity(refs.len());
        let progress = self.progress();
        let steps = crate::app::progress::Steps::begin(&*progress, "tickets recomputed", refs.len() as u64);
        for r in refs {
            steps.advance();
            let line = conn.write(|c| -> Result<RecomputeLine, AppError> {
                c.lock_ticket(&r)?;
                let l = self.load_ticket(c, who, &r)?;
                let tier: String = organisations::table
                    .find(l.row.organisation_id)
                    .select(organisations::tier)
                    .first(c)?;
                let policy = self
                    .policies
                    .effective(&tier, l.ticket.received_at)
                    .map_err(|e| AppError::Conflict(format!("{r}: {e}")))?
                    .clone();
                let calendars = self.calendars(c, &policy, l.region, &self.holiday_set)?;
                let ctx = SlaContext {
                    policy: &policy,
                    calendars: &calendars,
                };
                let at = now.max(l.ticket.last_event_at());
                let cmd = Command {
                    at,
                    by: actor_of(who),
                    action: Action::Recompute,
                };
                let (ticket, events) = l.ticket.apply(&cmd, &ctx)?;
                let view = sla(&ticket, &ctx, at).map_err(|e| AppError::internal(e.to_string()))?;
                let old_breached = l.row.sla.response_breached_at.is_some() || l.row.sla.resolve_breached_at.is_some();
                let new_breached = view.response.breached_at.is_some() || view.resolve.breached_at.is_some();
                let mut line = RecomputeLine {
                    reference: r.clone(),
                    old_policy: format!("{}@{}", l.row.policy, l.row.policy_version),
                    new_policy: format!("{}@{}", policy.name, policy.version),
                    old_response_due: l.row.sla.response_due_at.map(utc),
                    new_response_due: view.response.due,
                    old_resolve_due: l.row.sla.resolve_due_at.map(utc),
                    new_resolve_due: view.resolve.due,
                    old_breached,
                    new_breached,
                    old_holidays: l.row.holiday_set.clone(),
                    new_holidays: self.holiday_set.clone(),
                    changed: false,
                    applied: false,
                };
                line.changed = line.old_policy != line.new_policy
                    || line.old_holidays != line.new_holidays
                    || line.old_response_due != line.new_response_due
                    || line.old_resolve_due != line.new_resolve_due
                    || old_breached != new_breached;
                if line.changed && !dry_run {
                    insert_events(c, l.row.id, l.ticket.events.len() + 1, &events)?;
                    let mut state = state_row(
                        &ticket,
                        &view,
                        l.row.queue_id,
                        l.row.assignee_id,
                        l.row.row_version + 1,
                        &self.holiday_set,
                        at,
                    );
                    state.policy_version = policy.version.clone();
                    diesel::update(tickets::table.find(l.row.id))
                        .set((state, tickets::policy.eq(&policy.name)))
                        .execute(c)?;
                    let detail = format!(
                        "{} -> {}; holidays {} -> {}",
                        line.old_policy, line.new_policy, line.old_holidays, line.new_holidays
                    );
                    audit(c, who, "ticket.recompute", &format!("ticket:{r}"), Some(&detail), now)?;
                    line.applied = true;
                }
                Ok(line)
            })?;
            out.push(line);
        }
        Ok(out)
    }
}
