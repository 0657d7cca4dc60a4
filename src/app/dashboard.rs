//! What a manager's dashboard shows of the desk right now.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::{App, AppError, Principal, naive, utc};
use crate::domain::availability::Month;
use crate::domain::ticket::Status;
use crate::store::schema::{kept_figures, organisations, tickets};

/// The kept figures' name for the desk's month-to-date report.
const MONTH_TO_DATE: &str = "desk-month-to-date";

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
        let mut conn = self.read_conn()?;
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

    /// Recounts the desk's month-to-date report and keeps it for every
    /// process's dashboard (the scheduler's `dashboard_figures` job, under its
    /// lease: one computation for all processes). Returns the tickets raised
    /// this month so far.
    pub fn keep_month_to_date(&self, now: DateTime<Utc>) -> Result<i64, AppError> {
        let report = self
            .monthly_report(&Principal::operator(), None, Month::containing(now), None, now)?
            .value()?;
        let raised: i64 = report["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v["raised"].as_i64())
            .sum();
        // What the dashboard shows, not every ticket line of the month.
        let shown = serde_json::json!({"month": report["month"], "compliance": report["compliance"]});
        let body = shown.to_string();
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::delete(kept_figures::table.filter(kept_figures::name.eq(MONTH_TO_DATE))).execute(c)?;
            diesel::insert_into(kept_figures::table)
                .values((
                    kept_figures::name.eq(MONTH_TO_DATE),
                    kept_figures::computed_at.eq(naive(now)),
                    kept_figures::body.eq(&body),
                ))
                .execute(c)?;
            Ok::<_, AppError>(())
        })?;
        Ok(raised)
    }

    /// The desk's month-to-date report as the scheduler last kept it, and
    /// when, if it is this month's.
    pub fn kept_month_to_date(
        &self,
        who: &Principal,
        now: DateTime<Utc>,
    ) -> Result<Option<(DateTime<Utc>, serde_json::Value)>, AppError> {
        who.require_manager()?;
        let mut conn = self.read_conn()?;
        let row: Option<(chrono::NaiveDateTime, String)> = kept_figures::table
            .filter(kept_figures::name.eq(MONTH_TO_DATE))
            .select((kept_figures::computed_at, kept_figures::body))
            .first(&mut *conn)
            .optional()?;
        let Some((at, body)) = row else { return Ok(None) };
        let report: serde_json::Value =
            serde_json::from_str(&body).map_err(|e| AppError::internal(format!("kept_figures: {e}")))?;
        let this_month = report["month"].as_str() == Some(&Month::containing(now).to_string());
        Ok(this_month.then(|| (utc(at), report)))
    }
}
