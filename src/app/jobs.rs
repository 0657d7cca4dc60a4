//! The scheduler's record of its jobs: a lease per job, so one run happens
//! at a time across every process sharing the database (an overrunning job
//! is not started again, and a process that died mid-run holds the lease
//! only until it expires), and what each job's last run did.
//! The work itself is in the jobs' own use cases (`sla_tick`, the purge).

use chrono::{DateTime, Months, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::{App, AppError, Principal, audit, naive, utc};
use crate::store::jobs;
use crate::store::schema::audit_log;

/// A job as the store knows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct JobRecord {
    pub job: String,
    pub running_on: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub next_run_at: Option<DateTime<Utc>>,
}

/// Whether a job may start now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// Yours, for the lease's length.
    Taken,
    /// Not due yet: its next slot.
    NotDue(DateTime<Utc>),
    /// Another run holds it (overrun, or another process).
    Busy(String),
}

impl App {
    /// Takes `job`'s lease if its slot has come (`force`: whatever the slot)
    /// and nobody holds it. A job seen for the first time is due at
    /// `first_slot`.
    pub fn take_job_lease(
        &self,
        job: &str,
        owner: &str,
        now: DateTime<Utc>,
        lease_seconds: i64,
        first_slot: DateTime<Utc>,
        force: bool,
    ) -> Result<Lease, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (holder, until, next) = jobs::lock_lease(c, job, naive(first_slot))?;
            if let (Some(h), Some(u)) = (&holder, until)
                && utc(u) > now
            {
                return Ok(Lease::Busy(h.clone()));
            }
            if !force && let Some(n) = next.map(utc).filter(|n| *n > now) {
                return Ok(Lease::NotDue(n));
            }
            let until = naive(now + chrono::Duration::seconds(lease_seconds));
            jobs::take_lease(c, job, owner, until, naive(now))?;
            Ok(Lease::Taken)
        })
    }

    /// Records the end of a run and the job's next slot, releasing the lease.
    pub fn finish_job(
        &self,
        job: &str,
        owner: &str,
        now: DateTime<Utc>,
        outcome: Result<String, String>,
        next: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (text, error) = match &outcome {
                Ok(t) => (format!("ok: {t}"), None),
                Err(e) => ("failed".to_string(), Some(e.as_str())),
            };
            jobs::release_lease(c, job, owner, naive(now), &text, error, naive(next))?;
            Ok(())
        })
    }

    /// Records a run of a job that takes no lease (the SLA tick, which every
    /// process runs and which shares its work by row locks).
    pub fn record_job_run(
        &self,
        job: &str,
        owner: &str,
        started: DateTime<Utc>,
        finished: DateTime<Utc>,
        outcome: Result<String, String>,
        next: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let (text, error) = match &outcome {
            Ok(t) => (format!("ok: {t} (on {owner})"), None),
            Err(e) => (format!("failed (on {owner})"), Some(e.clone())),
        };
        let mut conn = self.conn()?;
        conn.write(|c| {
            jobs::record_run(
                c,
                job,
                naive(started),
                naive(finished),
                &text,
                error.as_deref(),
                naive(next),
            )?;
            Ok(())
        })
    }

    /// Every job the store has seen.
    pub fn job_records(&self) -> Result<Vec<JobRecord>, AppError> {
        let mut conn = self.conn()?;
        let rows = jobs::all(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(
                |(job, owner, until, started, finished, outcome, error, next)| JobRecord {
                    job,
                    running_on: owner,
                    lease_until: until.map(utc),
                    last_started_at: started.map(utc),
                    last_finished_at: finished.map(utc),
                    last_outcome: outcome,
                    last_error: error,
                    next_run_at: next.map(utc),
                },
            )
            .collect())
    }

    /// Deletes audit rows older than `months` months (1 to 6, as the
    /// service listing offers), and records that it did.
    pub fn purge_audit_log(&self, months: u32, now: DateTime<Utc>) -> Result<usize, AppError> {
        if !(1..=6).contains(&months) {
            return Err(super::invalid("audit_retention_months", "expected 1 to 6"));
        }
        let cutoff = now
            .checked_sub_months(Months::new(months))
            .ok_or_else(|| super::invalid("audit_retention_months", "out of range"))?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let n = diesel::delete(audit_log::table.filter(audit_log::at.lt(naive(cutoff)))).execute(c)?;
            audit(
                c,
                &Principal::operator(),
                "audit.purge",
                "audit_log",
                Some(&format!("{n} rows before {cutoff} ({months} months)")),
                now,
            )?;
            Ok(n)
        })
    }
}
