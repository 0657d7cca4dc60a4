//! What a manager's dashboard shows of the desk right now.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::{App, AppError, Principal, naive};
use crate::domain::ticket::Status;
use crate::store::schema::{organisations, tickets};

/// Open tickets by tier and severity, and how many are at risk or breached.
#[derive(Debug, Clone, Serialize)]
pub struct DeskNow {
    /// (tier, severity, open tickets)
    pub open: Vec<(String, i32, i64)>,
    pub open_total: i64,
    pub at_risk: i64,
    pub breached: i64,
}

impl App {
    /// The desk as it stands at `now`, for the staff dashboard.
    pub fn desk_now(&self, who: &Principal, now: DateTime<Utc>) -> Result<DeskNow, AppError> {
        who.require_manager()?;
        // Open work by an index: the active statuses, not "all but done".
        let active = Status::ACTIVE.map(|s| s.as_str());
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let open: Vec<(String, i32, i64)> = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::status.eq_any(active))
            .group_by((organisations::tier, tickets::severity))
            .select((organisations::tier, tickets::severity, diesel::dsl::count_star()))
            .order((organisations::tier, tickets::severity))
            .load(c)?;
        let not_breached = tickets::response_breached_at
            .is_null()
            .and(tickets::resolve_breached_at.is_null());
        let at_risk: i64 = tickets::table
            .filter(tickets::status.eq_any(active))
            .filter(tickets::at_risk_at.le(naive(now)))
            .filter(not_breached)
            .count()
            .get_result(c)?;
        let breached: i64 = tickets::table
            .filter(tickets::status.eq_any(active))
            .filter(diesel::dsl::not(not_breached))
            .count()
            .get_result(c)?;
        Ok(DeskNow {
            open_total: open.iter().map(|(_, _, n)| n).sum(),
            open,
            at_risk,
            breached,
        })
    }
}
