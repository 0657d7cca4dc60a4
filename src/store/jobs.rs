//! The scheduler's job rows: a lease per job, locked while it is taken, and
//! what each job's last run did. `app::jobs` decides whether a lease may be
//! taken; here is how the row is read, locked and written.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::schema::job_runs;

/// A job's lease as stored: who holds it, until when, and its next slot.
pub type LeaseRow = (Option<String>, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// A job's row as the job list shows it: name, lease holder and end, last
/// start and finish, outcome, error, next slot.
pub type JobRow = (
    String,
    Option<String>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<NaiveDateTime>,
    Option<String>,
    Option<String>,
    Option<NaiveDateTime>,
);

/// Reads a job's lease with its row locked for the rest of the caller's
/// transaction (FOR UPDATE on PostgreSQL; SQLite's single writer already
/// holds it), creating the row, due at `first_slot`, for a job seen for the
/// first time. Reading then taking is safe within that transaction.
pub fn lock_lease(c: &mut DbConnection, job: &str, first_slot: NaiveDateTime) -> QueryResult<LeaseRow> {
    let exists: i64 = job_runs::table.filter(job_runs::job.eq(job)).count().get_result(c)?;
    if exists == 0 {
        diesel::insert_into(job_runs::table)
            .values((job_runs::job.eq(job), job_runs::next_run_at.eq(Some(first_slot))))
            .execute(c)?;
    }
    if let DbConnection::Postgres(pg) = c {
        job_runs::table
            .find(job)
            .select(job_runs::job)
            .for_update()
            .first::<String>(pg)?;
    }
    job_runs::table
        .find(job)
        .select((job_runs::lease_owner, job_runs::lease_until, job_runs::next_run_at))
        .first(c)
}

/// Gives the lease to `owner` until `until`, the run starting at `started`.
pub fn take_lease(
    c: &mut DbConnection,
    job: &str,
    owner: &str,
    until: NaiveDateTime,
    started: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(job_runs::table.find(job))
        .set((
            job_runs::lease_owner.eq(Some(owner)),
            job_runs::lease_until.eq(Some(until)),
            job_runs::last_started_at.eq(Some(started)),
        ))
        .execute(c)
}

/// Ends `owner`'s run: the lease released, the outcome and next slot kept.
/// A lease `owner` no longer holds is left alone.
pub fn release_lease(
    c: &mut DbConnection,
    job: &str,
    owner: &str,
    finished: NaiveDateTime,
    outcome: &str,
    error: Option<&str>,
    next: NaiveDateTime,
) -> QueryResult<usize> {
    diesel::update(job_runs::table.find(job).filter(job_runs::lease_owner.eq(owner)))
        .set((
            job_runs::lease_owner.eq(None::<String>),
            job_runs::lease_until.eq(None::<NaiveDateTime>),
            job_runs::last_finished_at.eq(Some(finished)),
            job_runs::last_outcome.eq(Some(outcome)),
            job_runs::last_error.eq(error),
            job_runs::next_run_at.eq(Some(next)),
        ))
        .execute(c)
}

/// Records a run of a job that takes no lease, creating its row if need be.
pub fn record_run(
    c: &mut DbConnection,
    job: &str,
    started: NaiveDateTime,
    finished: NaiveDateTime,
    outcome: &str,
    error: Option<&str>,
    next: NaiveDateTime,
) -> QueryResult<()> {
    let values = (
        job_runs::last_started_at.eq(Some(started)),
        job_runs::last_finished_at.eq(Some(finished)),
        job_runs::last_outcome.eq(Some(outcome)),
        job_runs::last_error.eq(error),
        job_runs::next_run_at.eq(Some(next)),
    );
    let n = diesel::update(job_runs::table.find(job)).set(values).execute(c)?;
    if n == 0 {
        diesel::insert_into(job_runs::table)
            .values((job_runs::job.eq(job), values))
            .execute(c)?;
    }
    Ok(())
}

/// Every job row, by name.
pub fn all(c: &mut DbConnection) -> QueryResult<Vec<JobRow>> {
    job_runs::table
        .order(job_runs::job)
        .select((
            job_runs::job,
            job_runs::lease_owner,
            job_runs::lease_until,
            job_runs::last_started_at,
            job_runs::last_finished_at,
            job_runs::last_outcome,
            job_runs::last_error,
            job_runs::next_run_at,
        ))
        .load(c)
}
