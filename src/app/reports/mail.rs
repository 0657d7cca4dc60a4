//! The scheduler's monthly job: closes each month once
//! `report_close_after` working days have passed since it ended, keeps a
//! new version of every month with changes pending, and mails each version
//! kept to the managers through the outbox.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::versions::Kept;
use crate::app::{App, AppError, naive};
use crate::domain::availability::Month;
use crate::store::schema::{organisations, report_versions};

/// Who the job keeps versions as.
const JOB: &str = "sladesk (monthly job)";

/// What one run of the job did.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyRun {
    pub closed: Vec<Kept>,
    pub revised: Vec<Kept>,
    pub mails: usize,
}

impl App {
    /// The monthly job (safe to run any day, and again):
    /// - last month, once due to close, has every scope not yet kept closed;
    /// - each kept month with changes pending is recomputed;
    /// - each scope's latest version of those months, and of last month,
    ///   is mailed to every manager, an active organisation's and the
    ///   whole desk's. Each mail's Message-ID names the report, its version
    ///   and the recipient, so a run again (after a crash, or by an
    ///   operator) queues nothing twice.
    pub fn run_monthly_reports(&self, now: DateTime<Utc>) -> Result<MonthlyRun, AppError> {
        let today = now.with_timezone(&chrono_tz::Europe::London).date_naive();
        let last = Month::containing(now).previous();
        let mut run = MonthlyRun {
            closed: Vec::new(),
            revised: Vec::new(),
            mails: 0,
        };
        let days = self.report_close_after();
        // Last month only: older months a manager closes on purpose (a new
        // desk's history is not closed and mailed behind its back).
        let due = self.closes_on(last).is_some_and(|d| d <= today);
        if due && self.scopes_unkept(last)? {
            let reason = format!("closed {days} working days after the month ended");
            run.closed.extend(self.close_month_as(JOB, None, last, &reason, now)?);
        }
        for (m, changes) in self.months_revised_pending()? {
            let reason = format!("changes recorded since the last version: {}", changes.join("; "));
            let reason: String = reason.chars().take(500).collect();
            run.revised.extend(self.recompute_month_as(JOB, None, m, &reason, now)?);
        }
        let mut months: Vec<Month> = run.closed.iter().chain(&run.revised).map(|k| k.month).collect();
        if self.month_closed(last)? {
            months.push(last);
        }
        months.sort();
        months.dedup();
        for m in months {
            run.mails += self.mail_month(m, now)?;
        }
        Ok(run)
    }

    /// Whether some organisation (or the desk) has no version of `m` kept.
    fn scopes_unkept(&self, m: Month) -> Result<bool, AppError> {
        let mut conn = self.conn()?;
        let kept: i64 = report_versions::table
            .filter(report_versions::month.eq(m.to_string()))
            .filter(report_versions::version.eq(1))
            .count()
            .get_result(&mut conn)?;
        let orgs: i64 = organisations::table.count().get_result(&mut conn)?;
        Ok(kept < orgs + 1)
    }

    /// Queues each scope's latest version of `month` to every manager,
    /// unless queued already. Returns the mails queued.
    fn mail_month(&self, month: Month, now: DateTime<Utc>) -> Result<usize, AppError> {
        use sha2::Digest;

        use crate::app::outbox::MAIL_DOMAIN;
        use crate::store::models::NewOutbox;
        use crate::store::schema::{outbox, users};

        let mut conn = self.conn()?;
        let managers: Vec<String> = users::table
            .filter(users::role.eq("manager"))
            .filter(users::disabled.eq(false))
            .order(users::email)
            .select(users::email)
            .load(&mut conn)?;
        let active: Vec<String> = organisations::table
            .filter(organisations::status.eq("active"))
            .select(organisations::slug)
            .load(&mut conn)?;
        // Each scope's latest version: organisations in slug order, the desk last.
        let mut latest = super::versions::latest(&mut conn, month)?;
        latest.sort_by_key(|(s, _, _)| (s == "*", s.clone()));
        drop(conn);
        let mut queued = 0;
        for (scope, version, data) in latest {
            if scope != "*" && !active.contains(&scope) {
                continue;
            }
            let mut report: serde_json::Value = serde_json::from_str(&data)
                .map_err(|e| AppError::internal(format!("a kept report cannot be read: {e}")))?;
            // The page needs no ticket rows; its breach lines link to the desk.
            report["tickets"] = serde_json::json!([]);
            report["links"] = serde_json::json!({"desk": self.page_url("")});
            let scope = (scope != "*").then_some(scope.as_str());
            let page = crate::reports::render::html(&report).map_err(AppError::Conflict)?;
            let totals = |k: &str| {
                report["volumes"]
                    .as_array()
                    .map_or(0, |v| v.iter().map(|s| s[k].as_i64().unwrap_or(0)).sum::<i64>())
            };
            let context = serde_json::json!({
                "organisation_name": report["organisation_name"],
                "month_name": month.first_day().format("%B %Y").to_string(),
                "raised": totals("raised"),
                "resolved": totals("resolved"),
                "open_at_end": totals("open_at_end"),
                "breaches": report["breaches"].as_array().map_or(0, Vec::len),
                "availability": report["availability"]["seconds_in_month"].as_i64().map_or("not measured for the whole desk".to_string(), |_| {
                    let a = &report["availability"];
                    let (s, d) = (a["seconds_in_month"].as_i64().unwrap_or(1), a["downtime_seconds"].as_i64().unwrap_or(0));
                    let m = (s - d) * 100_000 / s.max(1);
                    format!("{}.{:03}%", m / 1000, m % 1000)
                }),
                "credits": report["credits"]["total_pence"].as_i64().map_or_else(
                    || {
                        let sum: i64 = report["organisations"].as_array().map_or(0, |o| {
                            o.iter().map(|o| o["credits_pence"].as_i64().unwrap_or(0)).sum()
                        });
                        crate::reports::render::pounds(sum)
                    },
                    crate::reports::render::pounds,
                ),
                "query": match scope {
                    Some(s) => format!("org={s}&month={month}"),
                    None => format!("month={month}"),
                },
                "report_html": page,
                "desk_name": "The service desk",
                "version": version,
                "revised": version > 1,
            })
            .to_string();
            let label = scope.unwrap_or("desk");
            let rows: Vec<(String, String)> = managers
                .iter()
                .map(|to| {
                    let who: String = sha2::Sha256::digest(to.as_bytes())
                        .iter()
                        .take(6)
                        .map(|b| format!("{b:02x}"))
                        .collect();
                    (
                        to.clone(),
                        format!("report.{label}.{month}.v{version}.{who}@{MAIL_DOMAIN}"),
                    )
                })
                .collect();
            let mut conn = self.conn()?;
            queued += conn.write(|c| -> Result<usize, AppError> {
                let ids: Vec<&str> = rows.iter().map(|r| r.1.as_str()).collect();
                let sent: Vec<String> = outbox::table
                    .filter(outbox::message_id.eq_any(&ids))
                    .select(outbox::message_id)
                    .load(c)?;
                let new: Vec<NewOutbox> = rows
                    .iter()
                    .filter(|r| !sent.contains(&r.1))
                    .map(|(to, id)| NewOutbox {
                        ticket_id: None,
                        kind: "monthly_report",
                        to_address: to,
                        message_id: id,
                        in_reply_to: None,
                        context: context.clone(),
                        created_at: naive(now),
                        next_attempt_at: naive(now),
                    })
                    .collect();
                crate::app::outbox::insert_outbox_rows(c, &new)?;
                Ok(new.len())
            })?;
        }
        Ok(queued)
    }
}
