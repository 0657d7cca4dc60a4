//! The scheduler: jobs on cron expressions read in Europe/London (so "06:00
//! on the 1st" stays 06:00 through BST), run inside `sladesk serve` or once
//! by an operator. Each run takes the job's lease in the store first, so a
//! job never runs twice at once, in one process or across several; a
//! failed run is logged with its error and tried again at its next slot; a
//! slot missed while nothing ran is made up by one run, not one per slot.

use anyhow::Context;
use std::str::FromStr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use chrono_tz::Europe::London;
use serde::{Deserialize, Serialize};

use crate::app::App;
use crate::app::jobs::Lease;

/// `[scheduler]` in sladesk.toml: cron expressions with seconds
/// (`sec min hour day-of-month month day-of-week`), in Europe/London.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchedulerSettings {
    #[serde(default = "yes")]
    pub enabled: bool,
    #[serde(default = "every_minute")]
    pub sla_tick: String,
    #[serde(default = "daily_0600")]
    pub monthly_reports: String,
    #[serde(default = "nightly_0330")]
    pub audit_purge: String,
    #[serde(default = "nightly_0200")]
    pub contract_end: String,
    /// Maintenance reminders a day ahead, and "in progress" and
    /// "completed" at its window's start and end.
    #[serde(default = "every_minute")]
    pub maintenance_notices: String,
    /// The dashboard's month-to-date compliance, recounted once for every
    /// process on the database and kept in it.
    #[serde(default = "every_five_minutes")]
    pub dashboard_figures: String,
    /// How long the audit log is kept: 1 to 6 months (default 6).
    #[serde(default = "six")]
    pub audit_retention_months: u32,
    /// Threads that work the SLA tick's batches at once on PostgreSQL
    /// (1 to 16, default 2); SQLite always uses one.
    #[serde(default = "tick_workers")]
    pub tick_workers: usize,
}

fn tick_workers() -> usize {
    crate::app::sla_tick::DEFAULT_TICK_WORKERS
}

fn yes() -> bool {
    true
}
fn every_minute() -> String {
    "0 * * * * *".into()
}
fn every_five_minutes() -> String {
    "0 */5 * * * *".into()
}
/// Daily: the job closes a month once `report_close_after` working days
/// have passed, and keeps revisions; on a day with nothing due it only
/// reads a few rows.
fn daily_0600() -> String {
    "0 0 6 * * *".into()
}
fn nightly_0330() -> String {
    "0 30 3 * * *".into()
}
fn nightly_0200() -> String {
    "0 0 2 * * *".into()
}
fn six() -> u32 {
    6
}

impl Default for SchedulerSettings {
    fn default() -> Self {
        toml::from_str("").expect("defaults")
    }
}

/// The jobs there are.
pub const JOBS: [&str; 6] = [
    "sla_tick",
    "monthly_reports",
    "audit_purge",
    "contract_end",
    "maintenance_notices",
    "dashboard_figures",
];

struct Job {
    name: &'static str,
    expression: String,
    schedule: cron::Schedule,
    /// How long a run may hold the lease before another may start it;
    /// `None`: no lease, every process runs it (the SLA tick, whose work is
    /// shared by row locks, so a process killed mid-tick holds nothing up).
    lease_seconds: Option<i64>,
}

/// The scheduler: its jobs, their cron expressions and leases.
pub struct Scheduler {
    jobs: Vec<Job>,
    owner: String,
    retention_months: u32,
    tick_workers: usize,
    pub enabled: bool,
    /// This process's next slot of each job that takes no lease.
    local_next: std::sync::Mutex<std::collections::HashMap<&'static str, DateTime<Utc>>>,
}

/// What one run of one job did.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RunOutcome {
    pub job: String,
    /// ran, failed, busy or not_due
    pub outcome: String,
    pub detail: String,
}

/// A job's schedule and last run, for `sladesk scheduler status`.
#[derive(Debug, Clone, Serialize)]
pub struct JobStatus {
    pub job: String,
    pub schedule: String,
    pub running_on: Option<String>,
    pub last_started_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<String>,
    pub last_error: Option<String>,
    pub next_run_at: DateTime<Utc>,
    /// The next run in Europe/London words.
    pub next_run: String,
}

impl Scheduler {
    /// A scheduler from `[scheduler]`; expressions that are not cron, or never
    /// come, are refused.
    pub fn new(s: &SchedulerSettings) -> anyhow::Result<Scheduler> {
        if !(1..=6).contains(&s.audit_retention_months) {
            anyhow::bail!(
                "[scheduler] audit_retention_months: {} is outside 1 to 6",
                s.audit_retention_months
            );
        }
        if !(1..=16).contains(&s.tick_workers) {
            anyhow::bail!("[scheduler] tick_workers: {} is outside 1 to 16", s.tick_workers);
        }
        let job = |name: &'static str, expression: &str, lease_seconds: Option<i64>| -> anyhow::Result<Job> {
            let schedule = cron::Schedule::from_str(expression)
                .with_context(|| format!("[scheduler] {name}: '{expression}' is not a cron expression with seconds"))?;
            if schedule.upcoming(London).next().is_none() {
                anyhow::bail!("[scheduler] {name}: '{expression}' never comes");
            }
            Ok(Job {
                name,
                expression: expression.to_string(),
                schedule,
                lease_seconds,
            })
        };
        let mut rand = [0u8; 4];
        rand::fill(&mut rand);
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "host".into());
        Ok(Scheduler {
            jobs: vec![
                job("sla_tick", &s.sla_tick, None)?,
                job("monthly_reports", &s.monthly_reports, Some(3600))?,
                job("audit_purge", &s.audit_purge, Some(3600))?,
                job("contract_end", &s.contract_end, Some(3600))?,
                job("maintenance_notices", &s.maintenance_notices, Some(120))?,
                job("dashboard_figures", &s.dashboard_figures, Some(600))?,
            ],
            owner: format!(
                "{host}:{}:{}",
                std::process::id(),
                rand.iter().map(|b| format!("{b:02x}")).collect::<String>()
            ),
            retention_months: s.audit_retention_months,
            tick_workers: s.tick_workers,
            enabled: s.enabled,
            local_next: Default::default(),
        })
    }

    /// The first slot of `job` strictly after `now`, read in Europe/London.
    pub fn next_slot(&self, job: &str, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let j = self.jobs.iter().find(|j| j.name == job)?;
        next_after(&j.schedule, now)
    }

    /// Runs every job whose slot has come (all of them, or the one named,
    /// with `force`, whatever their slots).
    pub fn run_due(&self, app: &App, now: DateTime<Utc>, only: Option<&str>, force: bool) -> Vec<RunOutcome> {
        let mut out = Vec::new();
        for j in self.jobs.iter().filter(|j| only.is_none_or(|o| o == j.name)) {
            let next = next_after(&j.schedule, now).unwrap_or(now + chrono::Duration::days(366));
            let Some(lease_seconds) = j.lease_seconds else {
                out.push(self.run_unleased(app, j, now, next, force));
                continue;
            };
            let first = if force { now } else { next };
            let lease = match app.take_job_lease(j.name, &self.owner, now, lease_seconds, first, force) {
                Ok(l) => l,
                Err(e) => {
                    tracing::warn!(job = j.name, error = %e, "scheduler: lease");
                    out.push(outcome(j.name, "failed", e.to_string()));
                    continue;
                }
            };
            match lease {
                Lease::NotDue(at) => {
                    out.push(outcome(j.name, "not_due", at.to_rfc3339()));
                    continue;
                }
                Lease::Busy(by) => {
                    tracing::info!(job = j.name, holder = %by, "scheduler: still running elsewhere; not started again");
                    out.push(outcome(j.name, "busy", by));
                    continue;
                }
                Lease::Taken => {}
            }
            let started = std::time::Instant::now();
            let result = self.run_job(app, j.name, now);
            match &result {
                Ok(d) => {
                    tracing::info!(job = j.name, took_ms = started.elapsed().as_millis() as u64, detail = %d, "scheduler: ran")
                }
                Err(e) => tracing::error!(job = j.name, error = %e, "scheduler: failed; retried at its next slot"),
            }
            let finished = crate::app::now().max(now);
            let next = next_after(&j.schedule, finished).unwrap_or(finished + chrono::Duration::days(366));
            if let Err(e) = app.finish_job(j.name, &self.owner, finished, result.clone(), next) {
                tracing::warn!(job = j.name, error = %e, "scheduler: recording the run");
            }
            out.push(match result {
                Ok(d) => outcome(j.name, "ran", d),
                Err(e) => outcome(j.name, "failed", e),
            });
        }
        out
    }

    /// A job without a lease runs at this process's own slots.
    fn run_unleased(&self, app: &App, j: &Job, now: DateTime<Utc>, next: DateTime<Utc>, force: bool) -> RunOutcome {
        {
            let mut local = self.local_next.lock().unwrap_or_else(|e| e.into_inner());
            let slot = *local.entry(j.name).or_insert(now);
            if !force && slot > now {
                return outcome(j.name, "not_due", slot.to_rfc3339());
            }
            local.insert(j.name, next);
        }
        let result = self.run_job(app, j.name, now);
        if let Err(e) = &result {
            tracing::error!(job = j.name, error = %e, "scheduler: failed; retried at its next slot");
        }
        let finished = crate::app::now().max(now);
        if let Err(e) = app.record_job_run(j.name, &self.owner, now, finished, result.clone(), next) {
            tracing::warn!(job = j.name, error = %e, "scheduler: recording the run");
        }
        match result {
            Ok(d) => outcome(j.name, "ran", d),
            Err(e) => outcome(j.name, "failed", e),
        }
    }

    fn run_job(&self, app: &App, job: &str, now: DateTime<Utc>) -> Result<String, String> {
        match job {
            "sla_tick" => app
                .sla_tick_with(now, self.tick_workers)
                .map(|r| format!("{} tickets, {} alerts, {} failed", r.tickets, r.alerts, r.failed))
                .map_err(|e| e.to_string()),
            "audit_purge" => app
                .purge_audit_log(self.retention_months, now)
                .and_then(|n| Ok((n, app.purge_web_sessions(now)?)))
                .map(|(n, s)| {
                    format!(
                        "{n} audit rows older than {} months deleted; {s} ended web sessions deleted",
                        self.retention_months
                    )
                })
                .map_err(|e| e.to_string()),
            "contract_end" => app
                .end_contracts(now)
                .map(|ended| {
                    if ended.is_empty() {
                        return "no contract has ended".to_string();
                    }
                    ended
                        .iter()
                        .map(|e| match e.deleted_tickets {
                            Some(n) => format!("{}: data deleted ({n} tickets)", e.organisation),
                            None => format!("{}: contract ended, data kept until {}", e.organisation, e.kept_until),
                        })
                        .collect::<Vec<_>>()
                        .join("; ")
                })
                .map_err(|e| e.to_string()),
            "monthly_reports" => app
                .run_monthly_reports(now)
                .map(|r| {
                    let list = |k: &[crate::app::reports::versions::Kept]| {
                        let mut months: Vec<String> = k.iter().map(|k| k.month.to_string()).collect();
                        months.dedup();
                        if months.is_empty() {
                            "none".to_string()
                        } else {
                            months.join(", ")
                        }
                    };
                    format!(
                        "months closed: {}; months revised: {}; {} mails to managers queued",
                        list(&r.closed),
                        list(&r.revised),
                        r.mails
                    )
                })
                .map_err(|e| e.to_string()),
            "maintenance_notices" => app
                .maintenance_notices(now)
                .map(|n| {
                    format!(
                        "{} reminders, {} begun, {} completed",
                        n.reminders, n.started, n.completed
                    )
                })
                .map_err(|e| e.to_string()),
            "dashboard_figures" => app
                .keep_month_to_date(now)
                .map(|n| format!("month-to-date compliance kept ({n} tickets raised this month)"))
                .map_err(|e| e.to_string()),
            other => Err(format!("no job '{other}'")),
        }
    }

    /// Every job with its schedule, last run and next run.
    pub fn status(&self, app: &App, now: DateTime<Utc>) -> anyhow::Result<Vec<JobStatus>> {
        let records = app.job_records()?;
        Ok(self
            .jobs
            .iter()
            .map(|j| {
                let r = records.iter().find(|r| r.job == j.name);
                let next = r
                    .and_then(|r| r.next_run_at)
                    .or_else(|| next_after(&j.schedule, now))
                    .unwrap_or(now);
                JobStatus {
                    job: j.name.to_string(),
                    schedule: format!("{} (Europe/London)", j.expression),
                    running_on: r.and_then(|r| r.running_on.clone()),
                    last_started_at: r.and_then(|r| r.last_started_at),
                    last_finished_at: r.and_then(|r| r.last_finished_at),
                    last_outcome: r.and_then(|r| r.last_outcome.clone()),
                    last_error: r.and_then(|r| r.last_error.clone()),
                    next_run_at: next,
                    next_run: crate::domain::local_time::for_people(next, London),
                }
            })
            .collect())
    }
}

fn next_after(schedule: &cron::Schedule, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    schedule
        .after(&now.with_timezone(&London))
        .next()
        .map(|t| t.with_timezone(&Utc))
}

fn outcome(job: &str, outcome: &str, detail: String) -> RunOutcome {
    RunOutcome {
        job: job.to_string(),
        outcome: outcome.to_string(),
        detail,
    }
}

/// Runs the scheduler on a thread of its own, looking every second.
pub fn spawn_scheduler(app: Arc<App>, scheduler: Scheduler) -> anyhow::Result<()> {
    if !scheduler.enabled {
        tracing::info!("scheduler disabled in settings");
        return Ok(());
    }
    std::thread::Builder::new()
        .name("scheduler".into())
        .spawn(move || {
            loop {
                scheduler.run_due(&app, crate::app::now(), None, false);
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        })
        .context("starting the scheduler thread")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_read_in_london_time_across_bst() {
        let s = Scheduler::new(&SchedulerSettings::default()).unwrap();
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        // 06:00 every day: GMT in March, BST (UTC+1) in April.
        assert_eq!(
            s.next_slot("monthly_reports", at("2027-03-15T07:00:00Z")),
            Some(at("2027-03-16T06:00:00Z"))
        );
        assert_eq!(
            s.next_slot("monthly_reports", at("2027-04-15T07:00:00Z")),
            Some(at("2027-04-16T05:00:00Z"))
        );
        assert_eq!(
            s.next_slot("sla_tick", at("2027-03-28T00:59:30Z")),
            Some(at("2027-03-28T01:00:00Z")),
            "every minute, through the clocks going forward"
        );
    }

    #[test]
    fn bad_settings_name_the_job_and_the_expression() {
        let bad: SchedulerSettings = toml::from_str("sla_tick = \"every minute\"").unwrap();
        let e = format!("{:#}", Scheduler::new(&bad).err().unwrap());
        assert!(
            e.starts_with("[scheduler] sla_tick: 'every minute' is not a cron expression"),
            "{e}"
        );
        let bad: SchedulerSettings = toml::from_str("audit_retention_months = 12").unwrap();
        assert!(format!("{:#}", Scheduler::new(&bad).err().unwrap()).contains("outside 1 to 6"));
    }
}
