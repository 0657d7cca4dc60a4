//! The status page's past: each service's last days as bars with its
//! uptime over them, and for a signed-in customer their organisation's
//! availability month by month. Both are counted by the availability code
//! the monthly reports use (`domain::availability::downtime_in`), and a
//! customer's months by the very call their report makes
//! (`organisation_availability`), so the page and the report cannot differ.

use super::*;
use crate::domain::availability::percent_text;
use crate::domain::status::{ComponentStatus, PastOutage, history};
use crate::store::models::Organisation;

/// The most days of history anyone may ask for.
pub const MAX_HISTORY_DAYS: u32 = 90;

/// One day of a service's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HistoryDay {
    /// The Europe/London day, YYYY-MM-DD.
    #[schema(value_type = String)]
    pub date: chrono::NaiveDate,
    /// The worst that day: operational, under_maintenance,
    /// degraded_performance, partial_outage or major_outage.
    #[schema(value_type = String)]
    pub worst: ComponentStatus,
    /// The day's seconds so far (23 or 25 hours when the clocks change).
    pub seconds: i64,
    /// Counted downtime, overlaps merged.
    pub downtime_seconds: i64,
    /// The outages that touched the day, by id.
    pub outages: Vec<i64>,
}

/// A service's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ServiceHistory {
    pub slug: String,
    pub name: String,
    pub group: String,
    /// Uptime over the days shown, "99.982" (rounded down, as reports do).
    pub uptime_percent: String,
    /// The same in thousandths of a percent.
    pub uptime_millipercent: i64,
    pub downtime_seconds: i64,
    /// Oldest first.
    pub days: Vec<HistoryDay>,
}

/// An organisation's availability in one month, as its report shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MonthAvailability {
    /// YYYY-MM.
    pub month: String,
    /// "99.871" (rounded down), the report's figure.
    pub percent: String,
    pub millipercent: i64,
    pub downtime_seconds: i64,
    pub seconds_in_month: i64,
    /// False for the month under way (counted up to now).
    pub complete: bool,
}

/// The status page's history.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StatusHistory {
    /// How many days each service's bars cover, ending today.
    pub days: u32,
    /// How far ahead planned maintenance must be announced to be left out
    /// of the services' uptime: the longest notice any tier asks for.
    pub maintenance_notice_days: i64,
    pub services: Vec<ServiceHistory>,
    /// A signed-in customer's organisation: this month so far and the three
    /// before it, newest first. Empty for anyone else.
    pub availability: Vec<MonthAvailability>,
}

impl App {
    /// Each service's last `days` days (at most 90) and uptime, and a
    /// customer's own availability by month, for `viewer` (`None`: the
    /// public). A customer sees only their organisation's services.
    pub fn status_history(
        &self,
        viewer: Option<&Principal>,
        days: u32,
        now: DateTime<Utc>,
    ) -> Result<StatusHistory, AppError> {
        if !(1..=MAX_HISTORY_DAYS).contains(&days) {
            return Err(invalid("days", format!("must be 1 to {MAX_HISTORY_DAYS}")));
        }
        let customer = self.status_reader(viewer)?;
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let shown = self.shown_services(c, customer)?;
        let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
        let from = crate::domain::availability::day_start(today - chrono::Duration::days(i64::from(days) - 1));
        let month = Month::containing(now);
        // The strictest notice any tier asks for, so a service's uptime is
        // never better than an organisation's report would say.
        let notice = self
            .policies
            .names()
            .into_iter()
            .map(|tier| self.maintenance_notice(tier, month))
            .max()
            .unwrap_or_else(|| chrono::Duration::days(5));
        // The outages on any shown service that touch the window: one query.
        let ids: Vec<i64> = shown.iter().map(|s| s.id).collect();
        let rows: Vec<(i64, String, OutageRow)> = outage_services::table
            .inner_join(outages::table)
            .filter(outage_services::service_id.eq_any(&ids))
            .filter(outages::starts_at.lt(naive(now)))
            .filter(outages::ends_at.is_null().or(outages::ends_at.gt(naive(from))))
            .filter(outages::draft.eq(false))
            .order(outages::id)
            .select((
                outage_services::service_id,
                outage_services::impact,
                OutageRow::as_select(),
            ))
            .load(c)?;
        let mut on: Vec<(i64, PastOutage)> = Vec::with_capacity(rows.len());
        for (service, impact, row) in rows {
            let impact: Impact = impact.parse().map_err(AppError::internal)?;
            on.push((
                service,
                PastOutage {
                    outage: core_outage(row)?,
                    impact,
                },
            ));
        }
        let services = shown
            .into_iter()
            .map(|s| {
                let mine: Vec<PastOutage> = on
                    .iter()
                    .filter(|(id, _)| *id == s.id)
                    .map(|(_, p)| p.clone())
                    .collect();
                let h = history(today, days, &mine, notice, now);
                ServiceHistory {
                    slug: s.slug,
                    name: s.name,
                    group: s.group_name,
                    uptime_percent: percent_text(h.millipercent),
                    uptime_millipercent: h.millipercent,
                    downtime_seconds: h.downtime_seconds,
                    days: h
                        .days
                        .into_iter()
                        .map(|d| HistoryDay {
                            date: d.day,
                            worst: d.worst,
                            seconds: d.seconds,
                            downtime_seconds: d.downtime_seconds,
                            outages: d.outages,
                        })
                        .collect(),
                }
            })
            .collect();
        let availability = match customer {
            Some(p) => {
                let o: Organisation = organisations::table
                    .filter(organisations::id.nullable().eq(p.organisation_id))
                    .select(Organisation::as_select())
                    .first(c)?;
                let mut out = Vec::new();
                let mut m = month;
                for _ in 0..4 {
                    let a = self.organisation_availability(c, &o, m, now.min(m.end()))?;
                    out.push(MonthAvailability {
                        month: m.to_string(),
                        percent: a.percent_text(),
                        millipercent: a.millipercent(),
                        downtime_seconds: a.downtime_seconds,
                        seconds_in_month: a.seconds_in_month,
                        complete: m.end() <= now,
                    });
                    m = m.previous();
                }
                out
            }
            None => Vec::new(),
        };
        Ok(StatusHistory {
            days,
            maintenance_notice_days: notice.num_days(),
            services,
            availability,
        })
    }
}
