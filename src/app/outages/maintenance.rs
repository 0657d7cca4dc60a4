//! Maintenance told as it goes, by the scheduler: a reminder a day before
//! (for work announced earlier than that), "in progress" at its start and
//! "completed" at its end, unless staff moved it on first. Each notice is
//! claimed by setting its column on the outage where it is still null, in
//! the transaction that posts it, so one server of many sends it, once.

use super::*;
use crate::domain::outage_status::OutageStatus;

/// A notice is not sent for a start or end longer ago than this (an
/// outage recorded after the fact, or a desk that was down for days).
const STALE_HOURS: i64 = 24;

/// What one run of the maintenance notices did.
#[derive(Debug, Default, Clone, Serialize)]
pub struct MaintenanceNotices {
    pub reminders: usize,
    pub started: usize,
    pub completed: usize,
}

/// Sets `column` to now on outage `id` where it is still null: true for
/// the one transaction that did it.
macro_rules! claim {
    ($c:expr, $id:expr, $column:expr, $now:expr) => {
        diesel::update(outages::table.find($id).filter($column.is_null()))
            .set($column.eq(Some(naive($now))))
            .execute($c)?
            == 1
    };
}

impl App {
    /// Sends the maintenance notices that are due at `now`.
    pub fn maintenance_notices(&self, now: DateTime<Utc>) -> Result<MaintenanceNotices, AppError> {
        let kinds = [
            OutageKind::PlannedMaintenance.name(),
            OutageKind::EmergencyMaintenance.name(),
        ];
        let day = chrono::Duration::hours(24);
        let stale = now - chrono::Duration::hours(STALE_HOURS);
        let mut conn = self.conn()?;
        let mut done = MaintenanceNotices::default();
        let operator = Principal::operator();
        // A day to go, for work announced more than a day ahead.
        let due: Vec<(i64, chrono::NaiveDateTime, chrono::NaiveDateTime)> = outages::table
            .filter(outages::kind.eq_any(kinds))
            .filter(outages::reminder_sent_at.is_null())
            .filter(outages::starts_at.gt(naive(now)))
            .filter(outages::starts_at.le(naive(now + day)))
            .select((outages::id, outages::starts_at, outages::created_at))
            .load(&mut *conn)?;
        for (id, starts, created) in due {
            if utc(created) > utc(starts) - day {
                continue;
            }
            let sent = conn.write(|c| {
                if !claim!(c, id, outages::reminder_sent_at, now) {
                    return Ok(false);
                }
                let view = self.outage_view(c, id, now)?;
                if view
                    .status
                    .parse::<OutageStatus>()
                    .map_err(AppError::internal)?
                    .is_final()
                {
                    return Ok(false);
                }
                let body = view
                    .public_description
                    .clone()
                    .unwrap_or_else(|| status::kind_title(&view.kind).to_string());
                let notice = Notice {
                    outage: &view,
                    headline: "Reminder: it begins within 24 hours",
                    body: &body,
                };
                self.queue_status_notice(c, &notice, now)?;
                Ok::<_, AppError>(true)
            })?;
            done.reminders += usize::from(sent);
        }
        // Begun: in progress, unless staff said so (or more) already.
        let begun: Vec<i64> = outages::table
            .filter(outages::kind.eq_any(kinds))
            .filter(outages::start_noticed_at.is_null())
            .filter(outages::starts_at.le(naive(now)))
            .filter(outages::starts_at.gt(naive(stale)))
            .select(outages::id)
            .load(&mut *conn)?;
        for id in begun {
            let sent = conn.write(|c| {
                if !claim!(c, id, outages::start_noticed_at, now) {
                    return Ok(false);
                }
                let status: OutageStatus = self
                    .outage_view(c, id, now)?
                    .status
                    .parse()
                    .map_err(AppError::internal)?;
                if status != OutageStatus::Scheduled {
                    return Ok(false);
                }
                self.post_update_in(
                    c,
                    &operator,
                    id,
                    Some(OutageStatus::InProgress),
                    "The maintenance has begun.",
                    now,
                    now,
                )?;
                Ok::<_, AppError>(true)
            })?;
            done.started += usize::from(sent);
        }
        // Ended by its window: completed, unless staff said so already.
        let ended: Vec<i64> = outages::table
            .filter(outages::kind.eq_any(kinds))
            .filter(outages::end_noticed_at.is_null())
            .filter(outages::ends_at.le(naive(now)))
            .filter(outages::ends_at.gt(naive(stale)))
            .select(outages::id)
            .load(&mut *conn)?;
        for id in ended {
            let sent = conn.write(|c| {
                if !claim!(c, id, outages::end_noticed_at, now) {
                    return Ok(false);
                }
                let view = self.outage_view(c, id, now)?;
                let status: OutageStatus = view.status.parse().map_err(AppError::internal)?;
                if status.is_final() || view.updates.is_empty() {
                    // Over before anyone was told it began (a record made
                    // after the fact): nothing to tell.
                    return Ok(false);
                }
                let at = view.end.unwrap_or(now);
                self.post_update_in(
                    c,
                    &operator,
                    id,
                    Some(OutageStatus::Completed),
                    "The maintenance is complete.",
                    at.max(view.updates.last().map_or(at, |u| u.at)),
                    now,
                )?;
                Ok::<_, AppError>(true)
            })?;
            done.completed += usize::from(sent);
        }
        Ok(done)
    }
}
