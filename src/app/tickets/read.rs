//! Reading one ticket: its view as the caller may see it, its timeline a
//! page at a time, and its clocks as the core computes them now.

use super::*;

/// The names a ticket's row refers to, as one query selects them:
/// organisation slug and name, requester email and name, queue slug,
/// assignee email and name.
pub(super) type Names = (String, String, String, String, String, Option<String>, Option<String>);

pub(super) fn row_view(row: &TicketRow, names: Names) -> TicketView {
    let (organisation, organisation_name, requester, requester_name, queue, assignee, assignee_name) = names;
    let clock = |state: &str, elapsed, due: Option<NaiveDateTime>, breached: Option<NaiveDateTime>| ClockSummary {
        state: parse_state(state),
        elapsed_seconds: Some(elapsed),
        due_at: due.map(utc),
        breached_at: breached.map(utc),
    };
    TicketView {
        reference: row.reference.clone(),
        ticket_type: row.ticket_type.clone(),
        subject: row.subject.clone(),
        status: row.status.clone(),
        severity: row.severity,
        source: row.source.clone(),
        organisation,
        organisation_name,
        requester,
        requester_name,
        queue: Some(queue),
        assignee,
        assignee_name,
        received_at: utc(row.received_at),
        created_at: utc(row.created_at),
        updated_at: utc(row.updated_at),
        first_response_at: row.first_response_at.map(utc),
        resolved_at: row.resolved_at.map(utc),
        reopen_count: row.reopen_count,
        version: row.row_version,
        policy: row.policy.clone(),
        response: clock(
            &row.sla.response_state,
            row.sla.response_elapsed_seconds,
            row.sla.response_due_at,
            row.sla.response_breached_at,
        ),
        resolve: clock(
            &row.sla.resolve_state,
            row.sla.resolve_elapsed_seconds,
            row.sla.resolve_due_at,
            row.sla.resolve_breached_at,
        ),
        at_risk_at: row.sla.at_risk_at.map(utc),
        next_check_at: row.sla.next_check_at.map(utc),
        escalation_level: Some(row.escalation_level),
    }
}

impl App {
    /// What `who` may do to the ticket now, as the core decides
    /// (`domain::moves`): the pages offer these moves and no others.
    pub fn ticket_moves(
        &self,
        who: &Principal,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<crate::domain::moves::Moves, AppError> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let l = self.load_ticket(c, who, reference)?;
        let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        Ok(l.ticket.moves(&actor_of(who), now, &ctx))
    }

    /// A ticket as the caller may see it: customers only their organisation's,
    /// with public text only.
    pub fn get_ticket(&self, who: &Principal, reference: &str) -> Result<TicketView, AppError> {
        let v = self.get_ticket_as_stored(who, reference)?;
        self.shown_to(who, v)
    }

    pub(super) fn shown_to(&self, who: &Principal, v: TicketView) -> Result<TicketView, AppError> {
        Ok(self.all_shown_to(who, vec![v])?.pop().expect("one in, one out"))
    }

    /// Views as `who` may see them. A customer's `version` and `updated_at`
    /// count public events only: an internal note, a reassignment or the
    /// scheduler's warning must not show as a change (nor move the ETag).
    pub(super) fn all_shown_to(&self, who: &Principal, views: Vec<TicketView>) -> Result<Vec<TicketView>, AppError> {
        let mut views: Vec<TicketView> = views.into_iter().map(|v| v.seen_by(who)).collect();
        if who.role != Role::Customer || views.is_empty() {
            return Ok(views);
        }
        let refs: Vec<&str> = views.iter().map(|v| v.reference.as_str()).collect();
        let mut conn = self.conn()?;
        let marks: Vec<(String, i64, Option<NaiveDateTime>)> = tickets::table
            .inner_join(ticket_events::table)
            .filter(tickets::reference.eq_any(&refs))
            .filter(ticket_events::visibility.eq("public"))
            .group_by(tickets::reference)
            .select((
                tickets::reference,
                diesel::dsl::count(ticket_events::seq),
                diesel::dsl::max(ticket_events::at),
            ))
            .load(&mut conn)?;
        let marks: HashMap<String, (i64, Option<NaiveDateTime>)> =
            marks.into_iter().map(|(r, n, at)| (r, (n, at))).collect();
        for v in &mut views {
            let (n, at) = marks.get(&v.reference).cloned().unwrap_or((0, None));
            v.version = n;
            v.updated_at = at.map(utc).unwrap_or(v.created_at);
        }
        Ok(views)
    }

    /// The row id of a ticket `who` may see; not found otherwise, by the
    /// same rule as reading the ticket.
    pub(crate) fn visible_ticket_id(
        &self,
        conn: &mut DbConnection,
        who: &Principal,
        reference: &str,
    ) -> Result<i64, AppError> {
        let reference = parse_reference(reference)?;
        let not_found = || AppError::NotFound(format!("ticket {reference}"));
        let (id, org, requester): (i64, i64, i64) = tickets::table
            .filter(tickets::reference.eq(&reference))
            .select((tickets::id, tickets::organisation_id, tickets::requester_id))
            .first(conn)
            .optional()?
            .ok_or_else(not_found)?;
        if !self.reach(conn, who)?.allows(conn, id, org, requester)? {
            return Err(not_found());
        }
        Ok(id)
    }

    pub(super) fn load_ticket(
        &self,
        conn: &mut DbConnection,
        who: &Principal,
        reference: &str,
    ) -> Result<Loaded, AppError> {
        let reference = parse_reference(reference)?;
        let not_found = || AppError::NotFound(format!("ticket {reference}"));
        let (row, region): (TicketRow, String) = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::reference.eq(&reference))
            .select((TicketRow::as_select(), organisations::region))
            .first(conn)
            .optional()?
            .ok_or_else(not_found)?;
        if !self
            .reach(conn, who)?
            .allows(conn, row.id, row.organisation_id, row.requester_id)?
        {
            return Err(not_found());
        }
        let rows: Vec<String> = ticket_events::table
            .filter(ticket_events::ticket_id.eq(row.id))
            .order(ticket_events::seq)
            .select(ticket_events::data)
            .load(conn)?;
        let events: Vec<Event> = rows
            .iter()
            .map(|d| serde_json::from_str(d))
            .collect::<Result<_, _>>()
            .map_err(|e| AppError::internal(format!("ticket {reference} has an unreadable event: {e}")))?;
        let ticket = Ticket::replay(&events).map_err(|e| AppError::internal(format!("ticket {reference}: {e}")))?;
        let policy = self.policy_version(conn, &ticket.policy, &ticket.policy_version)?;
        let region = Region::from_str(&region).map_err(|e| AppError::internal(e.to_string()))?;
        Ok(Loaded {
            row,
            ticket,
            policy,
            region,
        })
    }

    /// A ticket's view in one query: its row and the names it refers to.
    pub(super) fn view_of(&self, conn: &mut DbConnection, row: &TicketRow) -> Result<TicketView, AppError> {
        let names: Names = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::id.eq(row.id))
            .select(super::names!())
            .first(conn)?;
        Ok(row_view(row, names))
    }

    pub(super) fn get_ticket_as_stored(&self, who: &Principal, reference: &str) -> Result<TicketView, AppError> {
        let mut conn = self.conn()?;
        let reference = parse_reference(reference)?;
        let found: Option<(TicketRow, Names)> = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::reference.eq(&reference))
            .select((TicketRow::as_select(), super::names!()))
            .first(&mut conn)
            .optional()?;
        let reach = self.reach(&mut conn, who)?;
        match found {
            Some((row, names)) if reach.allows(&mut conn, row.id, row.organisation_id, row.requester_id)? => {
                Ok(row_view(&row, names))
            }
            _ => Err(AppError::NotFound(format!("ticket {reference}"))),
        }
    }

    /// The timeline; customers see public events only.
    /// A ticket's whole timeline, for the export (which writes every event).
    pub fn ticket_events(&self, who: &Principal, reference: &str) -> Result<Vec<EventView>, AppError> {
        let mut all = Vec::new();
        let mut after = None;
        loop {
            let page = self.ticket_events_page(who, reference, EventCursor::After(after), 1000)?;
            all.extend(page.items);
            match page.next_after {
                Some(n) => after = Some(n),
                None => return Ok(all),
            }
        }
    }

    /// One page of a ticket's timeline, oldest first: at most `limit` events
    /// (capped at 1000) where the cursor says, with cursors to the pages on
    /// either side. Customers see public events only, and the cursors count
    /// only those.
    pub fn ticket_events_page(
        &self,
        who: &Principal,
        reference: &str,
        cursor: EventCursor,
        limit: usize,
    ) -> Result<EventPage, AppError> {
        let limit = limit.clamp(1, 1000);
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        let mut q = ticket_events::table
            .left_join(users::table.on(ticket_events::actor_id.eq(users::id.nullable())))
            .filter(ticket_events::ticket_id.eq(ticket_id))
            .limit(limit as i64 + 1)
            .into_boxed();
        q = match cursor {
            EventCursor::After(a) => q
                .filter(ticket_events::seq.gt(a.unwrap_or(-1)))
                .order(ticket_events::seq),
            EventCursor::Before(b) => q
                .filter(ticket_events::seq.lt(b.unwrap_or(i32::MAX)))
                .order(ticket_events::seq.desc()),
        };
        if who.role == Role::Customer {
            q = q.filter(ticket_events::visibility.eq("public"));
        }
        let mut rows: Vec<(EventRow, Option<String>, Option<String>)> = q
            .select((EventRow::as_select(), users::email.nullable(), users::name.nullable()))
            .load(&mut conn)?;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let backwards = matches!(cursor, EventCursor::Before(_));
        if backwards {
            rows.reverse();
        }
        let (first, last) = (rows.first().map(|r| r.0.seq), rows.last().map(|r| r.0.seq));
        let (next_after, previous_before) = match cursor {
            EventCursor::After(a) => (last.filter(|_| more), a.and(first)),
            EventCursor::Before(b) => (b.and(last), first.filter(|_| more)),
        };
        // People named in assignee changes, by name ("→ Alice Agent", not "→ 3").
        let mut ids: Vec<i64> = rows
            .iter()
            .filter(|(e, ..)| e.kind == "assignee_changed")
            .filter_map(|(e, ..)| serde_json::from_str::<serde_json::Value>(&e.data).ok())
            .flat_map(|d| [d["from"].clone(), d["to"].clone()])
            .filter_map(|v| v.as_str().and_then(|s| s.parse().ok()))
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let names: HashMap<String, String> = if ids.is_empty() {
            HashMap::new()
        } else {
            users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::name))
                .load::<(i64, String)>(&mut conn)?
                .into_iter()
                .map(|(id, name)| (id.to_string(), name))
                .collect()
        };
        let items = rows
            .into_iter()
            .map(|(e, email, name)| {
                let mut data: serde_json::Value = serde_json::from_str(&e.data).unwrap_or(serde_json::Value::Null);
                if e.kind == "assignee_changed" {
                    for end in ["from", "to"] {
                        let named = data[end].as_str().and_then(|id| names.get(id)).cloned();
                        if let (Some(n), Some(o)) = (named, data.as_object_mut()) {
                            o.insert(format!("{end}_name"), serde_json::Value::String(n));
                        }
                    }
                }
                EventView {
                    seq: e.seq,
                    at: utc(e.at),
                    actor: email,
                    actor_name: name,
                    actor_role: e.actor_role,
                    kind: e.kind,
                    visibility: e.visibility,
                    body: e.body,
                    data,
                }
                .seen_by(who)
            })
            .collect();
        Ok(EventPage {
            items,
            next_after,
            previous_before,
        })
    }

    /// The SLA as the core computes it now.
    pub fn ticket_sla(&self, who: &Principal, reference: &str, now: DateTime<Utc>) -> Result<SlaDetail, AppError> {
        self.ticket_sla_with_countdowns(who, reference, now).map(|(d, _)| d)
    }

    /// The SLA as the core computes it now, with what a page needs to count
    /// each running clock down: the calendar's open intervals from now on.
    pub fn ticket_sla_with_countdowns(
        &self,
        who: &Principal,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<(SlaDetail, [Countdown; 2]), AppError> {
        let mut conn = self.conn()?;
        let l = self.load_ticket(&mut conn, who, reference)?;
        let calendars = self.calendars(&mut conn, &l.policy, l.region, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        let now = now.max(l.ticket.last_event_at());
        let v = sla(&l.ticket, &ctx, now).map_err(|e| AppError::internal(e.to_string()))?;
        let targets = l.policy.targets(l.ticket.severity);
        let calendar = calendars.get(targets.calendar);
        let counts = match targets.calendar {
            crate::domain::policy::CalendarChoice::Always => "every hour of every day (24x7)".to_string(),
            crate::domain::policy::CalendarChoice::Business => format!(
                "business hours only: {} {}{}; a business day is {}",
                l.policy.hours.summary(),
                l.policy.time_zone.name(),
                if l.policy.bank_holidays {
                    format!(", not on bank holidays ({})", l.region.as_str())
                } else {
                    String::new()
                },
                crate::domain::duration::business_text(calendar.standard_day_seconds(), i64::MAX)
            ),
        };
        let countdowns = [
            Countdown::of(&v.response, calendar, &counts, now),
            Countdown::of(&v.resolve, calendar, &counts, now),
        ];
        let customer = who.role == Role::Customer;
        let detail = |mut c: ClockView| {
            // The escalation thresholds are the desk's own timing: a
            // customer sees targets and due instants, not when staff are warned.
            if customer {
                c.at_risk.clear();
            }
            ClockDetail {
                remaining_seconds: c.target_seconds.map(|t| (t - c.elapsed_seconds).max(0)),
                clock: c,
            }
        };
        let detail = SlaDetail {
            reference: l.row.reference.clone(),
            computed_at: now,
            policy: l.policy.name.clone(),
            policy_version: l.policy.version.clone(),
            calendar: targets.calendar.as_str().into(),
            time_zone: l.policy.time_zone.name().to_string(),
            region: l.region.as_str().to_string(),
            severity: l.ticket.severity.number() as i32,
            next_check_at: v.next_check_at.filter(|_| !customer),
            response: detail(v.response),
            resolve: detail(v.resolve),
        };
        Ok((detail, countdowns))
    }
}
