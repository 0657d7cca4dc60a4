//! What operators' probes ask of the store: whether it is ready (reachable,
//! migrations current) and the desk's counts for the metrics scrape. Counts
//! only, never customer data; no principal, since the adapters decide who
//! may ask (a token of scope `metrics`, or a private address).

use diesel::prelude::*;

use super::{App, AppError};
use crate::domain::ticket::Status;
use crate::store::schema::tickets;

/// `(policy, severity, count)` rows.
pub type Counts = Vec<(String, i32, i64)>;

/// The desk's state for `/metrics`.
#[derive(Debug, Clone)]
pub struct DeskMetrics {
    /// Active tickets by tier (policy) and severity.
    pub open: Counts,
    /// Active tickets with a breached clock, by tier and severity.
    pub open_breached: Counts,
    /// Tickets whose response clock ever breached.
    pub response_breaches: i64,
    /// Tickets whose resolve clock ever breached.
    pub resolve_breaches: i64,
}

impl App {
    /// Whether the database answers and its migrations are current.
    pub fn readiness(&self) -> Result<bool, AppError> {
        let mut c = self.conn()?;
        crate::store::migrations_current(&mut c).map_err(AppError::Store)
    }

    /// The desk's figures for `/metrics`, read without writing.
    pub fn desk_metrics(&self) -> Result<DeskMetrics, AppError> {
        let mut c = self.conn()?;
        let active = Status::ACTIVE.map(|s| s.as_str());
        let open: Counts = tickets::table
            .filter(tickets::status.eq_any(active))
            .group_by((tickets::policy, tickets::severity))
            .select((tickets::policy, tickets::severity, diesel::dsl::count_star()))
            .load(&mut c)?;
        let open_breached: Counts = tickets::table
            .filter(tickets::status.eq_any(active))
            .filter(
                tickets::response_breached_at
                    .is_not_null()
                    .or(tickets::resolve_breached_at.is_not_null()),
            )
            .group_by((tickets::policy, tickets::severity))
            .select((tickets::policy, tickets::severity, diesel::dsl::count_star()))
            .load(&mut c)?;
        let response_breaches: i64 = tickets::table
            .filter(tickets::response_breached_at.is_not_null())
            .count()
            .get_result(&mut c)?;
        let resolve_breaches: i64 = tickets::table
            .filter(tickets::resolve_breached_at.is_not_null())
            .count()
            .get_result(&mut c)?;
        Ok(DeskMetrics {
            open,
            open_breached,
            response_breaches,
            resolve_breaches,
        })
    }
}
