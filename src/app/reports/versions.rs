//! A month's reports once closed: versions kept, never replaced, and the
//! changes recorded since the latest, which make it *revised pending*.
//!
//! - Closing a month (a manager, or the monthly job `report_close_after`
//!   working days after it ended) keeps version 1 of every scope that has
//!   none, each organisation's and the whole desk's, from one computation.
//! - A write that touches a kept month (an outage over it, an upstream
//!   credit for it, a ticket event dated in it) records a pending change
//!   against each scope it touches ([`mark_revised`]), in its own
//!   transaction, so the mark and the change land together.
//! - Recomputing keeps the next version of every scope whose figures
//!   moved, with who, when and why, and clears the month's pending changes.

use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;

use super::ReportJson;
use crate::app::replica::Reads;
use crate::app::{App, AppError, Principal, audit, invalid, naive, utc};
use crate::domain::availability::Month;
use crate::domain::holidays::Region;
use crate::store::DbConnection;
use crate::store::models::Organisation;
use crate::store::schema::{organisations, report_revisions_pending, report_versions};

/// A report with where it stands.
#[derive(Debug, Clone)]
pub struct ReportRead {
    pub report: ReportJson,
    pub standing: Standing,
    /// The month's disputes and their outcomes, as they stand now (not
    /// kept with a version: a decision does not wait for a recompute).
    pub disputes: Vec<super::disputes::DisputeLine>,
}

impl ReportRead {
    /// The report alone, as computed or kept.
    pub fn value(&self) -> Result<serde_json::Value, AppError> {
        let mut v = self.report.value()?;
        if !self.disputes.is_empty()
            && let Some(o) = v.as_object_mut()
        {
            o.insert(
                "disputes".into(),
                serde_json::to_value(&self.disputes).expect("serialises"),
            );
        }
        Ok(v)
    }

    /// The report with its standing beside the figures, as the API and
    /// the pages give it.
    pub fn document(&self) -> Result<serde_json::Value, AppError> {
        let mut v = self.value()?;
        if let Some(o) = v.as_object_mut() {
            o.insert(
                "standing".into(),
                serde_json::to_value(&self.standing).expect("serialises"),
            );
        }
        Ok(v)
    }
}

/// Where a report stands.
#[derive(Debug, Clone, Serialize)]
pub struct Standing {
    /// `provisional`: computed from what is recorded now, and may still
    /// change; `closed`: a kept version.
    pub state: &'static str,
    /// The version shown, once closed.
    pub version: Option<i32>,
    pub latest_version: Option<i32>,
    /// A provisional month: the day the monthly job closes it.
    pub closes_on: Option<NaiveDate>,
    /// Changes touching the month were recorded after the latest version:
    /// a recompute would keep a new one.
    pub revised_pending: bool,
    /// What changed (staff only).
    pub pending_changes: Vec<PendingChange>,
    pub versions: Vec<VersionInfo>,
}

impl Standing {
    /// A month whose report is still provisional: read afresh each time.
    pub fn provisional(closes_on: Option<NaiveDate>) -> Standing {
        Standing {
            state: "provisional",
            version: None,
            latest_version: None,
            closes_on,
            revised_pending: false,
            pending_changes: Vec::new(),
            versions: Vec::new(),
        }
    }

    /// A kept version; `staff` see who kept each version and why, and the
    /// changes pending (a customer sees only that there are some: a change
    /// may name another organisation).
    pub fn closed(shown: i32, versions: &[VersionInfo], pending: &[PendingChange], staff: bool) -> Standing {
        Standing {
            state: "closed",
            version: Some(shown),
            latest_version: versions.last().map(|v| v.version),
            closes_on: None,
            revised_pending: !pending.is_empty(),
            pending_changes: if staff { pending.to_vec() } else { Vec::new() },
            versions: versions
                .iter()
                .map(|v| VersionInfo {
                    version: v.version,
                    kept_at: v.kept_at,
                    kept_by: v.kept_by.clone().filter(|_| staff),
                    reason: v.reason.clone().filter(|_| staff),
                })
                .collect(),
        }
    }
}

/// One kept version of a month's report: when, by whom and why (staff only).
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    pub version: i32,
    pub kept_at: DateTime<Utc>,
    pub kept_by: Option<String>,
    pub reason: Option<String>,
}

/// A change made since the kept version, waiting for a recompute.
#[derive(Debug, Clone, Serialize)]
pub struct PendingChange {
    pub at: DateTime<Utc>,
    pub what: String,
}

/// A version kept by a close or a recompute.
#[derive(Debug, Clone, Serialize)]
pub struct Kept {
    /// An organisation's slug, or `*` for the whole desk.
    pub scope: String,
    pub month: Month,
    pub version: i32,
}

/// The versions kept of a scope's month, oldest first.
pub(super) fn list(c: &mut DbConnection, scope: &str, month: Month) -> Result<Vec<VersionInfo>, AppError> {
    let rows: Vec<(i32, chrono::NaiveDateTime, String, String)> = report_versions::table
        .filter(report_versions::scope.eq(scope))
        .filter(report_versions::month.eq(month.to_string()))
        .order(report_versions::version)
        .select((
            report_versions::version,
            report_versions::kept_at,
            report_versions::kept_by,
            report_versions::reason,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(version, at, by, reason)| VersionInfo {
            version,
            kept_at: utc(at),
            kept_by: Some(by),
            reason: Some(reason),
        })
        .collect())
}

pub(super) fn data(c: &mut DbConnection, scope: &str, month: Month, version: i32) -> Result<ReportJson, AppError> {
    Ok(ReportJson(
        report_versions::table
            .filter(report_versions::scope.eq(scope))
            .filter(report_versions::month.eq(month.to_string()))
            .filter(report_versions::version.eq(version))
            .select(report_versions::data)
            .first(c)?,
    ))
}

pub(super) fn pending(c: &mut DbConnection, scope: &str, month: Month) -> Result<Vec<PendingChange>, AppError> {
    let rows: Vec<(chrono::NaiveDateTime, String)> = report_revisions_pending::table
        .filter(report_revisions_pending::scope.eq(scope))
        .filter(report_revisions_pending::month.eq(month.to_string()))
        .order(report_revisions_pending::id)
        .select((report_revisions_pending::at, report_revisions_pending::what))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(at, what)| PendingChange { at: utc(at), what })
        .collect())
}

/// The scopes with a version of `month` kept: their names alone, without
/// reading the documents (an organisation's may be tens of megabytes).
fn kept_scopes(c: &mut DbConnection, month: Month) -> Result<Vec<String>, AppError> {
    Ok(report_versions::table
        .filter(report_versions::month.eq(month.to_string()))
        .select(report_versions::scope)
        .distinct()
        .load(c)?)
}

/// The latest version of each scope kept for the month, with its data, in
/// scope order.
pub(super) fn latest(c: &mut DbConnection, month: Month) -> Result<Vec<(String, i32, String)>, AppError> {
    let rows: Vec<(String, i32, String)> = report_versions::table
        .filter(report_versions::month.eq(month.to_string()))
        .order((report_versions::scope, report_versions::version))
        .select((report_versions::scope, report_versions::version, report_versions::data))
        .load(c)?;
    let mut out: Vec<(String, i32, String)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some(last) if last.0 == r.0 => *last = r,
            _ => out.push(r),
        }
    }
    Ok(out)
}

/// Who keeps a version, why, and when.
struct Stamp<'a> {
    by: &'a str,
    reason: &'a str,
    now: DateTime<Utc>,
}

fn keep(c: &mut DbConnection, scope: &str, month: Month, version: i32, data: &str, s: &Stamp) -> Result<(), AppError> {
    let Stamp { by, reason, now } = *s;
    diesel::insert_into(report_versions::table)
        .values((
            report_versions::scope.eq(scope),
            report_versions::month.eq(month.to_string()),
            report_versions::version.eq(version),
            report_versions::data.eq(data),
            report_versions::kept_at.eq(naive(now)),
            report_versions::kept_by.eq(by),
            report_versions::reason.eq(reason),
        ))
        .execute(c)?;
    Ok(())
}

/// Records that `what` touched the months overlapping `[from, to)` for the
/// organisations `orgs` (every organisation: `None`), against each kept
/// scope of those months it touches: theirs and the whole desk's. Nothing
/// happens for months with no version kept (they are provisional, and
/// read afresh anyway). Runs in the caller's transaction.
pub fn mark_revised(
    c: &mut DbConnection,
    orgs: Option<&[i64]>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    what: &str,
    now: DateTime<Utc>,
) -> Result<(), diesel::result::Error> {
    let (first, last) = (Month::containing(from), Month::containing(to.max(from)));
    let kept: Vec<(String, String)> = report_versions::table
        .filter(report_versions::month.ge(first.to_string()))
        .filter(report_versions::month.le(last.to_string()))
        .select((report_versions::scope, report_versions::month))
        .distinct()
        .load(c)?;
    if kept.is_empty() {
        return Ok(());
    }
    let slugs: Option<Vec<String>> = match orgs {
        Some(ids) => Some(
            organisations::table
                .filter(organisations::id.eq_any(ids))
                .select(organisations::slug)
                .load(c)?,
        ),
        None => None,
    };
    let touched = |scope: &str| scope == "*" || slugs.as_ref().is_none_or(|s| s.iter().any(|x| x == scope));
    let what = what.chars().take(300).collect::<String>();
    for (scope, month) in kept.iter().filter(|(s, _)| touched(s)) {
        diesel::insert_into(report_revisions_pending::table)
            .values((
                report_revisions_pending::scope.eq(scope),
                report_revisions_pending::month.eq(month),
                report_revisions_pending::at.eq(naive(now)),
                report_revisions_pending::what.eq(&what),
            ))
            .execute(c)?;
    }
    Ok(())
}

impl App {
    /// The day the monthly job closes `month`: after `report_close_after`
    /// working days (Monday to Friday, not England and Wales bank
    /// holidays) from its end.
    pub fn closes_on(&self, month: Month) -> Option<NaiveDate> {
        let last_day = month.next().first_day().pred_opt()?;
        let nth = self.kept_until(last_day, Region::EnglandAndWales, self.report_close_after());
        nth.succ_opt()
    }

    /// Closes a month that has ended: keeps version 1 of every scope's
    /// report that has none, all from one computation. Scopes already kept
    /// stay as they are (recompute to revise them).
    pub fn close_month(&self, who: &Principal, month: Month, now: DateTime<Utc>) -> Result<Vec<Kept>, AppError> {
        who.require_manager()?;
        self.close_month_as(&who.email, Some(who), month, "month closed", now)
    }

    pub(super) fn close_month_as(
        &self,
        by: &str,
        who: Option<&Principal>,
        month: Month,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Kept>, AppError> {
        if now < month.end() {
            return Err(AppError::Conflict(format!(
                "{month} has not ended: its report is provisional until it has"
            )));
        }
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let scopes = self.every_scope(c, month, now)?;
        c.write(|c| -> Result<Vec<Kept>, AppError> {
            let kept = kept_scopes(c, month)?;
            let mut out = Vec::new();
            for (scope, data) in scopes.iter().filter(|(s, _)| !kept.contains(s)) {
                keep(c, scope, month, 1, data, &Stamp { by, reason, now })?;
                out.push(Kept {
                    scope: scope.clone(),
                    month,
                    version: 1,
                });
            }
            if let Some(who) = who
                && !out.is_empty()
            {
                audit(c, who, "report.close", &format!("report:{month}"), None, now)?;
            }
            Ok(out)
        })
    }

    /// Recomputes a closed month: keeps the next version of every scope
    /// whose figures moved since its latest, saying who and why, and clears
    /// the month's pending changes. A provisional month has nothing to
    /// recompute (it is computed on every read).
    pub fn recompute_month(
        &self,
        who: &Principal,
        month: Month,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Kept>, AppError> {
        who.require_manager()?;
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(invalid("reason", "say why the month is recomputed"));
        }
        if reason.chars().count() > 500 {
            return Err(invalid("reason", "is longer than 500 characters"));
        }
        self.recompute_month_as(&who.email, Some(who), month, reason, now)
    }

    pub(super) fn recompute_month_as(
        &self,
        by: &str,
        who: Option<&Principal>,
        month: Month,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<Kept>, AppError> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        if kept_scopes(c, month)?.is_empty() {
            return Err(AppError::Conflict(format!(
                "{month} is provisional: it is computed afresh on every read; close it to keep a version"
            )));
        }
        let fresh = self.every_scope(c, month, now)?;
        c.write(|c| -> Result<Vec<Kept>, AppError> {
            let kept = latest(c, month)?;
            let mut out = Vec::new();
            for (scope, data) in &fresh {
                let version = match kept.iter().find(|k| &k.0 == scope) {
                    // The same figures: nothing new to keep.
                    Some((_, _, old)) if same_figures(old, data) => continue,
                    Some((_, v, _)) => v + 1,
                    None => 1,
                };
                keep(c, scope, month, version, data, &Stamp { by, reason, now })?;
                out.push(Kept {
                    scope: scope.clone(),
                    month,
                    version,
                });
            }
            diesel::delete(
                report_revisions_pending::table.filter(report_revisions_pending::month.eq(month.to_string())),
            )
            .execute(c)?;
            if let Some(who) = who {
                audit(
                    c,
                    who,
                    "report.recompute",
                    &format!("report:{month}"),
                    Some(reason),
                    now,
                )?;
            }
            Ok(out)
        })
    }

    /// Every organisation's report of `month` and the whole desk's (`*`),
    /// from one computation, as (scope, JSON text) to keep.
    fn every_scope(
        &self,
        c: &mut DbConnection,
        month: Month,
        now: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, AppError> {
        let orgs = all_organisations(c)?;
        let (reports, desk) = self.compute_month(c, &orgs, month, now, Reads::Primary)?;
        Ok(orgs
            .iter()
            .map(|o| o.slug.clone())
            .chain(["*".to_string()])
            .zip(reports.iter().chain([&desk]))
            .map(|(s, r)| (s, serde_json::to_string(r).expect("a report serialises")))
            .collect())
    }

    /// Keeps version 1 of `o`'s report for each month from `first` that has
    /// ended and has none: before its tickets are deleted at the end of its
    /// contract, when the reports are what remains.
    pub(crate) fn keep_organisation_months(
        &self,
        o: &Organisation,
        first: Month,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let mut m = first;
        while m.end() <= now {
            let mut conn = self.conn()?;
            if list(&mut conn, &o.slug, m)?.is_empty() {
                let report = self.compute_report(&mut conn, Some(o), m, now, Reads::Primary)?;
                let data = serde_json::to_string(&report).expect("a report serialises");
                conn.write(|c| {
                    let reason = "kept before the organisation's data was deleted at the end of its contract";
                    keep(
                        c,
                        &o.slug,
                        m,
                        1,
                        &data,
                        &Stamp {
                            by: "sladesk",
                            reason,
                            now,
                        },
                    )
                })?;
            }
            m = m.next();
        }
        Ok(())
    }

    /// Months with changes pending against a kept version, oldest first.
    pub(super) fn months_revised_pending(&self) -> Result<Vec<(Month, Vec<String>)>, AppError> {
        let mut conn = self.conn()?;
        let rows: Vec<(String, String)> = report_revisions_pending::table
            .order((report_revisions_pending::month, report_revisions_pending::id))
            .select((report_revisions_pending::month, report_revisions_pending::what))
            .load(&mut conn)?;
        let mut out: Vec<(Month, Vec<String>)> = Vec::new();
        for (m, what) in rows {
            let m: Month = m
                .parse()
                .map_err(|e: crate::domain::availability::MonthSyntax| AppError::internal(e.to_string()))?;
            match out.last_mut() {
                Some((last, w)) if *last == m => {
                    if !w.contains(&what) {
                        w.push(what)
                    }
                }
                _ => out.push((m, vec![what])),
            }
        }
        Ok(out)
    }

    /// Whether any scope of `month` is kept.
    pub(super) fn month_closed(&self, month: Month) -> Result<bool, AppError> {
        let mut conn = self.conn()?;
        Ok(!kept_scopes(&mut conn, month)?.is_empty())
    }
}

fn all_organisations(c: &mut DbConnection) -> Result<Vec<Organisation>, AppError> {
    Ok(organisations::table
        .order(organisations::slug)
        .select(Organisation::as_select())
        .load(c)?)
}

/// Two computations of a closed month agree in every figure. `as_of` is the
/// month's end in both, so the documents are compared whole.
fn same_figures(a: &str, b: &str) -> bool {
    let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).ok();
    parse(a) == parse(b)
}
