//! The SLA tick: every ticket whose `next_check_at` has come is looked at
//! by the core, which records each warning and breach that has fallen due,
//! once, at the instant it truly fell due (so a breach that happened while
//! no server ran carries its own time, not the time we noticed); the
//! escalation matrix of the ticket's policy says whom to tell, and those
//! notifications are queued in the same transaction as the events.
//!
//! Work is found through the index on `next_check_at`, never by scanning
//! open tickets. On PostgreSQL each batch is claimed with `FOR UPDATE SKIP
//! LOCKED`, so any number of processes tick at once without waiting for or
//! doubling each other; on SQLite the single writer serialises them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::tickets::raised_order;
use super::{App, AppError, naive};
use crate::domain::clock::{AlertLevel, ClockKind};
use crate::domain::policy::{Notify, Threshold};
use crate::domain::ticket::{Event, EventKind};
use crate::store::DbConnection;
use crate::store::models::TicketRow;
use crate::store::schema::{organisations, queue_members, queues, tickets, users};

/// What one tick did.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct TickReport {
    /// Tickets looked at.
    pub tickets: usize,
    /// Warnings and breaches recorded.
    pub alerts: usize,
    /// Tickets that could not be ticked (logged; retried on the next tick).
    pub failed: usize,
}

/// Tickets per transaction.
pub const TICK_BATCH: i64 = 500;

/// Batches worked at once on PostgreSQL, unless configured otherwise.
pub const DEFAULT_TICK_WORKERS: usize = 2;

impl App {
    /// Looks at every ticket due by `now`, with the default number of workers.
    pub fn sla_tick(&self, now: DateTime<Utc>) -> Result<TickReport, AppError> {
        self.sla_tick_with(now, DEFAULT_TICK_WORKERS)
    }

    /// Looks at every ticket due by `now`. On PostgreSQL `workers` threads
    /// each claim and work batches, on connections of their own: while one
    /// waits for the database to write its batch, another computes the
    /// next, and SKIP LOCKED keeps their batches apart exactly as it keeps
    /// several processes apart. On SQLite one: it has one writer.
    pub fn sla_tick_with(&self, now: DateTime<Utc>, workers: usize) -> Result<TickReport, AppError> {
        let backend = self.conn()?.backend();
        let workers = match backend {
            crate::store::Backend::Sqlite => 1,
            crate::store::Backend::Postgres => workers.max(1),
        };
        if workers == 1 {
            return self.tick_worker(now);
        }
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers).map(|_| s.spawn(|| self.tick_worker(now))).collect();
            let mut report = TickReport::default();
            let mut error = None;
            for h in handles {
                match h.join() {
                    Ok(Ok(r)) => {
                        report.tickets += r.tickets;
                        report.alerts += r.alerts;
                        report.failed += r.failed;
                    }
                    Ok(Err(e)) => error = error.or(Some(e)),
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            }
            error.map_or(Ok(report), Err)
        })
    }

    /// One worker's share of a tick: batches until none is left to claim.
    fn tick_worker(&self, now: DateTime<Utc>) -> Result<TickReport, AppError> {
        let mut report = TickReport::default();
        // Tickets are taken in (next_check_at, id) order from a cursor, so
        // one that stays due (it failed, or its clock needs it again at
        // once) is not taken twice in one tick, and the index on
        // next_check_at answers the query whatever the number of tickets.
        let mut after: Option<(chrono::NaiveDateTime, i64)> = None;
        loop {
            let mut conn = self.conn()?;
            let (last, more) = conn.write(|c| -> Result<(Option<(chrono::NaiveDateTime, i64)>, bool), AppError> {
                let due = claim(c, now, after, TICK_BATCH)?;
                let last = due.last().map(|(id, at, _)| (*at, *id)).or(after);
                let (alerts, failed) = self.tick_batch(c, &due, now)?;
                report.tickets += due.len();
                report.alerts += alerts;
                report.failed += failed;
                Ok((last, due.len() as i64 == TICK_BATCH))
            })?;
            after = last;
            if !more {
                break;
            }
        }
        Ok(report)
    }
}

impl App {
    /// Ticks one claimed batch with a handful of statements, whatever its
    /// size: rows, events and recipients are read for the whole batch, the
    /// core is applied to each ticket in memory, and the events, the new
    /// state and the notices are written together. Each ticket goes through
    /// the same core command (`Tick`) and the same escalation rules as any
    /// change; a ticket the core refuses is left as it was and counted as
    /// failed. Returns (alerts recorded, tickets failed).
    fn tick_batch(
        &self,
        c: &mut DbConnection,
        due: &[(i64, chrono::NaiveDateTime, String)],
        now: DateTime<Utc>,
    ) -> Result<(usize, usize), AppError> {
        use std::collections::HashMap;
        use std::str::FromStr;

        use crate::domain::clock::sla;
        use crate::domain::holidays::Region;
        use crate::domain::ticket::{Action, Actor, Command, SlaContext, Ticket};
        use crate::store::schema::ticket_events;

        if due.is_empty() {
            return Ok((0, 0));
        }
        let ids: Vec<i64> = due.iter().map(|d| d.0).collect();
        type Row = (TicketRow, String, String, Option<String>, String, Option<i64>);
        // The organisation's name: what every notice calls it.
        let rows: Vec<Row> = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .filter(tickets::id.eq_any(&ids))
            .select((
                TicketRow::as_select(),
                organisations::region,
                organisations::name,
                organisations::account_contact,
                queues::slug,
                queues::lead_id,
            ))
            .load(c)?;
        let mut events: HashMap<i64, Vec<Event>> = HashMap::new();
        let mut unreadable = std::collections::HashSet::new();
        for (ticket_id, data) in ticket_events::table
            .filter(ticket_events::ticket_id.eq_any(&ids))
            .order((ticket_events::ticket_id, ticket_events::seq))
            .select((ticket_events::ticket_id, ticket_events::data))
            .load::<(i64, String)>(c)?
        {
            match serde_json::from_str(&data) {
                Ok(e) => events.entry(ticket_id).or_default().push(e),
                // Left out: its replay below fails and the ticket is counted as failed.
                Err(e) => {
                    tracing::warn!(ticket_id, error = %e, "sla tick: unreadable event");
                    unreadable.insert(ticket_id);
                }
            }
        }
        // Everyone the matrix may name, read once for the batch.
        let queue_ids: Vec<i64> = rows.iter().map(|r| r.0.queue_id).collect();
        let mut members: HashMap<i64, Vec<String>> = HashMap::new();
        for (q, email) in queue_members::table
            .inner_join(users::table.on(users::id.eq(queue_members::user_id)))
            .filter(queue_members::queue_id.eq_any(&queue_ids))
            .filter(users::disabled.eq(false))
            .order((queue_members::queue_id, users::email))
            .select((queue_members::queue_id, users::email))
            .load::<(i64, String)>(c)?
        {
            members.entry(q).or_default().push(email);
        }
        let people: Vec<i64> = rows.iter().flat_map(|r| [r.0.assignee_id, r.5]).flatten().collect();
        let named: HashMap<i64, (String, String)> = users::table
            .filter(users::id.eq_any(&people))
            .filter(users::disabled.eq(false))
            .select((users::id, users::email, users::name))
            .load::<(i64, String, String)>(c)?
            .into_iter()
            .map(|(id, email, name)| (id, (email, name)))
            .collect();
        let active: HashMap<i64, String> = named.iter().map(|(id, (e, _))| (*id, e.clone())).collect();
        let managers: Vec<String> = users::table
            .filter(users::role.eq("manager"))
            .filter(users::disabled.eq(false))
            .order(users::email)
            .select(users::email)
            .load(c)?;

        let mut new_events: Vec<(i64, usize, Vec<Event>)> = Vec::new();
        let mut states: Vec<(i64, i64, crate::store::models::TicketState, i32)> = Vec::new();
        let mut notices: Vec<super::outbox::StaffAlert> = Vec::new();
        let mut failed = 0;
        let mut alerts = 0;
        for (row, region, org_name, account_contact, queue_slug, lead) in &rows {
            let outcome = (|| -> Result<(), String> {
                if unreadable.contains(&row.id) {
                    return Err("an event cannot be read".into());
                }
                let old = Ticket::replay(events.get(&row.id).map(Vec::as_slice).unwrap_or_default())
                    .map_err(|e| e.to_string())?;
                let policy = self
                    .policy_version(c, &old.policy, &old.policy_version)
                    .map_err(|e| e.to_string())?;
                let region = Region::from_str(region).map_err(|e| e.to_string())?;
                let calendars = self
                    .calendars(c, &policy, region, &row.holiday_set)
                    .map_err(|e| e.to_string())?;
                let ctx = SlaContext {
                    policy: &policy,
                    calendars: &calendars,
                };
                let at = now.max(old.last_event_at());
                let (next, recorded) = old
                    .apply(
                        &Command {
                            at,
                            by: Actor::System,
                            action: Action::Tick,
                        },
                        &ctx,
                    )
                    .map_err(|e| e.to_string())?;
                let view = sla(&next, &ctx, at).map_err(|e| e.to_string())?;
                let mut state = super::tickets::state_row(
                    &next,
                    &view,
                    row.queue_id,
                    row.assignee_id,
                    row.row_version + 1,
                    &row.holiday_set,
                    at,
                );
                let mut level = row.escalation_level;
                for e in &recorded {
                    let EventKind::AlertRecorded {
                        clock,
                        level: alert,
                        severity,
                        due_at,
                    } = &e.kind
                    else {
                        continue;
                    };
                    let threshold = match alert {
                        AlertLevel::AtRisk(p) => Threshold::AtRisk(*p),
                        AlertLevel::Breach => Threshold::Breach,
                    };
                    level = level.max(i32::from(policy.escalation_level(threshold)));
                    let notify = policy.escalation.recipients(threshold, *severity);
                    // Staff get the staff notice; the account contact (a
                    // customer) a notice written for customers.
                    let mut staff: Vec<String> = Vec::new();
                    let mut customers: Vec<String> = Vec::new();
                    for n in &notify {
                        let queue = || members.get(&row.queue_id).cloned().unwrap_or_default();
                        match n {
                            Notify::Assignee => staff.extend(match row.assignee_id.and_then(|a| active.get(&a)) {
                                Some(a) => vec![a.clone()],
                                None => queue(),
                            }),
                            Notify::Queue => staff.extend(queue()),
                            Notify::QueueLead => staff.extend(lead.and_then(|l| active.get(&l)).cloned()),
                            Notify::Managers => staff.extend(managers.iter().cloned()),
                            Notify::AccountContact => customers.extend(account_contact.iter().cloned()),
                        }
                    }
                    staff.sort();
                    staff.dedup();
                    customers.retain(|c| !staff.contains(c));
                    customers.dedup();
                    if staff.is_empty() && customers.is_empty() && !notify.is_empty() {
                        tracing::warn!(ticket = %row.reference, %threshold, "escalation: nobody to tell");
                    }
                    let names: Vec<&str> = notify.iter().map(|n| notify_name(*n)).collect();
                    let ticket = super::outbox::AlertedTicket {
                        id: row.id,
                        reference: &row.reference,
                        subject: &row.subject,
                        severity: row.severity,
                        organisation_name: org_name,
                        queue: queue_slug,
                        assignee: row.assignee_id.and_then(|a| named.get(&a)).map(|(_, n)| n.as_str()),
                        url: self.ticket_url(&row.reference),
                    };
                    // The clock as it stands: its real due instant and the
                    // business time left (or past), in its calendar's days.
                    let cv = match clock {
                        ClockKind::Response => &view.response,
                        ClockKind::Resolve => &view.resolve,
                    };
                    let targets = policy.targets(*severity);
                    let day = ctx.calendars.get(targets.calendar).standard_day_seconds();
                    let target = cv.target_seconds.unwrap_or(0);
                    let clock_name = match clock {
                        ClockKind::Response => "response",
                        ClockKind::Resolve => "resolve",
                    };
                    let target_text = crate::domain::duration::business_text(target, day);
                    let facts = super::outbox::AlertFacts {
                        clock: clock_name,
                        breach: threshold == Threshold::Breach,
                        due: match alert {
                            AlertLevel::Breach => *due_at,
                            AlertLevel::AtRisk(_) => cv.due.unwrap_or(*due_at),
                        },
                        business_left: crate::domain::duration::business_text(target - cv.elapsed_seconds, day),
                        threshold: match alert {
                            AlertLevel::AtRisk(p) => format!("{p}% of the {target_text} {clock_name} target"),
                            AlertLevel::Breach => format!("the {target_text} {clock_name} target"),
                        },
                        reached_at: *due_at,
                        escalation: &format!(
                            "level {} ({threshold}), to {}",
                            policy.escalation_level(threshold),
                            names.join(", ")
                        ),
                    };
                    notices.extend(super::outbox::staff_alerts(&ticket, &staff, &facts));
                    notices.extend(super::outbox::customer_alerts(&ticket, &customers, &facts));
                }
                if row.severity == 1 && row.assignee_id.is_none() && level > 0 && state.sla.next_check_at.is_some() {
                    state.sla.queue_order_at = Some(raised_order(row.received_at));
                }
                alerts += recorded.len();
                new_events.push((row.id, old.events.len() + 1, recorded));
                states.push((row.id, row.row_version, state, level));
                Ok(())
            })();
            if let Err(e) = outcome {
                failed += 1;
                tracing::warn!(ticket = %row.reference, error = %e, "sla tick");
            }
        }

        let rows: Vec<_> = new_events
            .iter()
            .flat_map(|(ticket_id, first_seq, recorded)| super::tickets::event_rows(*ticket_id, *first_seq, recorded))
            .collect();
        super::tickets::insert_event_rows(c, &rows)?;
        write_states(c, states)?;
        super::outbox::insert_staff_alerts(c, &notices, now)?;
        Ok((alerts, failed))
    }
}

/// Writes the batch's new ticket state (`store::tickets`). The claim holds
/// the rows (SKIP LOCKED, or SQLite's one writer): their version cannot
/// have moved, and the check says so if it did.
fn write_states(
    c: &mut DbConnection,
    states: Vec<(i64, i64, crate::store::models::TicketState, i32)>,
) -> Result<(), AppError> {
    let expected = states.len();
    let written = crate::store::tickets::write_tick_states(c, &states)?;
    if written != expected {
        return Err(AppError::Conflict(format!(
            "{} of {expected} tickets changed during the tick",
            expected - written
        )));
    }
    Ok(())
}

/// The next tickets due, after `after` in (next_check_at, id) order;
/// locked and skipped by other processes on PostgreSQL.
fn claim(
    c: &mut DbConnection,
    now: DateTime<Utc>,
    after: Option<(chrono::NaiveDateTime, i64)>,
    limit: i64,
) -> Result<Vec<(i64, chrono::NaiveDateTime, String)>, AppError> {
    Ok(crate::store::tickets::claim_due(c, naive(now), after, limit)?)
}

fn notify_name(n: Notify) -> &'static str {
    match n {
        Notify::Assignee => "assignee",
        Notify::Queue => "queue",
        Notify::QueueLead => "queue lead",
        Notify::Managers => "managers",
        Notify::AccountContact => "account contact",
    }
}
