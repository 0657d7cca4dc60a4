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

use super::tickets::{Change, TicketView};
use super::{App, AppError, Principal, naive};
use crate::domain::clock::{AlertLevel, ClockKind};
use crate::domain::policy::{Notify, Policy, Threshold};
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

impl App {
    /// Looks at every ticket due by `now`.
    pub fn sla_tick(&self, now: DateTime<Utc>) -> Result<TickReport, AppError> {
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
                let mut last = after;
                for (id, at, reference) in &due {
                    last = Some((*at, *id));
                    report.tickets += 1;
                    match savepoint(c, |c| {
                        self.change_ticket_counted(c, &Principal::operator(), reference, &[Change::Tick], now)
                    }) {
                        Ok((_, recorded)) => report.alerts += recorded,
                        Err(e) => {
                            report.failed += 1;
                            tracing::warn!(ticket = %reference, error = %e, "sla tick");
                        }
                    }
                }
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

/// The next tickets due, after `after` in (next_check_at, id) order;
/// locked and skipped by other processes on PostgreSQL.
fn claim(
    c: &mut DbConnection,
    now: DateTime<Utc>,
    after: Option<(chrono::NaiveDateTime, i64)>,
    limit: i64,
) -> Result<Vec<(i64, chrono::NaiveDateTime, String)>, AppError> {
    // Before any instant the core works with (1990 onwards), and within
    // what both backends store.
    let start = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid");
    let (at, id) = after.unwrap_or((start, 0));
    let q = tickets::table
        .filter(tickets::next_check_at.le(naive(now)))
        .filter(
            tickets::next_check_at
                .gt(at)
                .or(tickets::next_check_at.eq(at).and(tickets::id.gt(id))),
        )
        .order((tickets::next_check_at, tickets::id))
        .limit(limit)
        .select((
            tickets::id,
            tickets::next_check_at.assume_not_null(),
            tickets::reference,
        ));
    Ok(match c {
        DbConnection::Postgres(pg) => q.for_update().skip_locked().load(pg)?,
        DbConnection::Sqlite(sq) => q.load(sq)?,
    })
}

/// Runs `f` in a savepoint: a ticket that fails is rolled back alone, and
/// the rest of its batch commits.
fn savepoint<T>(c: &mut DbConnection, f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>) -> Result<T, AppError> {
    use diesel::connection::SimpleConnection;
    c.batch_execute("SAVEPOINT tick")?;
    match f(c) {
        Ok(v) => {
            c.batch_execute("RELEASE SAVEPOINT tick")?;
            Ok(v)
        }
        Err(e) => {
            c.batch_execute("ROLLBACK TO SAVEPOINT tick; RELEASE SAVEPOINT tick")?;
            Err(e)
        }
    }
}

/// For each warning or breach among `events`: raises the ticket's
/// escalation level and queues a notice to everyone the policy's matrix
/// names. Runs in the transaction that records the events.
pub(crate) fn escalate(
    c: &mut DbConnection,
    row: &TicketRow,
    view: &TicketView,
    policy: &Policy,
    events: &[Event],
    now: DateTime<Utc>,
) -> Result<i32, AppError> {
    let mut level = row.escalation_level;
    for e in events {
        let EventKind::AlertRecorded {
            clock,
            level: alert,
            severity,
            due_at,
        } = &e.kind
        else {
            continue;
        };
        let at = match alert {
            AlertLevel::AtRisk(p) => Threshold::AtRisk(*p),
            AlertLevel::Breach => Threshold::Breach,
        };
        level = level.max(i32::from(policy.escalation_level(at)));
        let notify = policy.escalation.recipients(at, *severity);
        let mut to: Vec<String> = Vec::new();
        for n in &notify {
            to.extend(addresses(c, row, *n)?);
        }
        to.sort();
        to.dedup();
        let clock = match clock {
            ClockKind::Response => "response",
            ClockKind::Resolve => "resolve",
        };
        let names: Vec<&str> = notify.iter().map(|n| notify_name(*n)).collect();
        let escalation = format!("level {} ({at}), to {}", policy.escalation_level(at), names.join(", "));
        if to.is_empty() && !notify.is_empty() {
            tracing::warn!(ticket = %row.reference, %at, clock, "escalation: nobody to tell");
        }
        super::outbox::enqueue_staff_alerts(
            c,
            row.id,
            view,
            &to,
            clock,
            at == Threshold::Breach,
            *due_at,
            &escalation,
            now,
        )?;
    }
    if level != row.escalation_level {
        diesel::update(tickets::table.find(row.id))
            .set(tickets::escalation_level.eq(level))
            .execute(c)?;
    }
    Ok(level)
}

/// An unassigned severity 1 ticket that has started to escalate goes to the
/// top of its queue (ordered by when it came in), until someone takes it.
/// `row` is as written by the change; `level` its escalation level now.
pub(crate) fn raise_in_queue(c: &mut DbConnection, row: &TicketRow, level: i32) -> Result<(), AppError> {
    let raised = row.severity == 1 && row.assignee_id.is_none() && level > 0 && row.next_check_at.is_some();
    if raised {
        diesel::update(tickets::table.find(row.id))
            .set(tickets::queue_order_at.eq(Some(row.received_at)))
            .execute(c)?;
    }
    Ok(())
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

/// The addresses behind one kind of recipient, active people only.
fn addresses(c: &mut DbConnection, row: &TicketRow, n: Notify) -> Result<Vec<String>, AppError> {
    let active = |c: &mut DbConnection, id: i64| -> Result<Option<String>, AppError> {
        Ok(users::table
            .find(id)
            .filter(users::disabled.eq(false))
            .select(users::email)
            .first(c)
            .optional()?)
    };
    let members = |c: &mut DbConnection| -> Result<Vec<String>, AppError> {
        Ok(queue_members::table
            .inner_join(users::table.on(users::id.eq(queue_members::user_id)))
            .filter(queue_members::queue_id.eq(row.queue_id))
            .filter(users::disabled.eq(false))
            .select(users::email)
            .load(c)?)
    };
    Ok(match n {
        Notify::Assignee => match row.assignee_id {
            Some(id) => match active(c, id)? {
                Some(a) => vec![a],
                None => members(c)?,
            },
            None => members(c)?,
        },
        Notify::Queue => members(c)?,
        Notify::QueueLead => {
            let lead: Option<i64> = queues::table.find(row.queue_id).select(queues::lead_id).first(c)?;
            match lead {
                Some(id) => active(c, id)?.into_iter().collect(),
                None => vec![],
            }
        }
        Notify::Managers => users::table
            .filter(users::role.eq("manager"))
            .filter(users::disabled.eq(false))
            .select(users::email)
            .load(c)?,
        Notify::AccountContact => organisations::table
            .find(row.organisation_id)
            .select(organisations::account_contact)
            .first::<Option<String>>(c)?
            .into_iter()
            .collect(),
    })
}
