//! Managers' and admins' pages: the dashboard, monthly reports, outages,
//! and administration (organisations, users, queues, API tokens, and the
//! loaded policies and holiday calendars, read-only).

mod admin;
mod disputes;
mod incident;
mod macros;
mod outages;
mod reports;

use admin::*;
use incident::*;
use macros::*;
use outages::*;
use reports::*;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, Viewer, WebError, form_status, page, page_with_status, redirect, run, run_form, when, when_opt};
use crate::app::AppError;
use crate::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest, UserPatch};
use crate::app::outages::{Affected, NewOutageRequest, OutagePatch};
use crate::domain::availability::Month;
use crate::domain::holidays::Region;
use crate::domain::ticket::Severity;
use crate::reports::render::{Format, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(dashboard))
        .route("/reports", web::get().to(reports))
        .route("/reports/download", web::get().to(download))
        .route("/reports/close", web::post().to(close))
        .route("/reports/recompute", web::post().to(recompute))
        .route("/disputes", web::get().to(disputes::list))
        .route("/disputes", web::post().to(disputes::raise))
        .route("/disputes/{id}", web::get().to(disputes::show))
        .route("/disputes/{id}/decide", web::post().to(disputes::decide))
        .route("/disputes/{id}/files/{file}", web::get().to(disputes::file))
        .route("/outages", web::get().to(outages))
        .route("/outages", web::post().to(add_outage))
        .route("/outages/{id}/end", web::post().to(end_outage))
        .route("/outages/{id}", web::get().to(incident_page))
        .route("/outages/{id}/updates", web::post().to(incident::post_update))
        .route("/outages/{id}/tickets", web::post().to(link))
        .route("/outages/{id}/tickets/resolve", web::post().to(resolve_linked))
        .route("/outages/{id}/tickets/{reference}/unlink", web::post().to(unlink))
        .route("/tickets/{reference}/incident", web::post().to(link_from_ticket))
        .route("/queue/link", web::post().to(link_from_queue))
        .route("/queue/bulk", web::post().to(bulk_from_queue))
        .route("/outages/{id}/confirm", web::post().to(incident::confirm))
        .route("/outages/{id}/end-proposed", web::post().to(end_as_proposed))
        .route("/macros", web::get().to(macros_page))
        .route("/macros", web::post().to(macros_post))
        .route("/admin", web::get().to(admin))
        .route("/admin/{what}", web::post().to(admin_post))
        .route("/admin/policies", web::get().to(policies));
}

fn require_manager(v: &Viewer) -> Result<(), WebError> {
    Ok(v.session.principal.require_manager()?)
}

async fn dashboard(v: Viewer, app: State, web_state: super::Web) -> Result<HttpResponse, WebError> {
    require_manager(&v)?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    // The scheduler's figures, kept in the store, are what every process
    // shows alike; while they are fresh no process counts on its own. When
    // the scheduler does not run (disabled, or behind), this process counts
    // and keeps its own copy, as one process alone always did.
    let now = crate::app::now();
    let shared = {
        let (app, who) = (app.clone(), who.clone());
        run(move || app.kept_month_to_date(&who, now)).await?
    }
    .filter(|(at, _)| (now - *at).num_seconds() < 2 * super::COMPLIANCE_SECONDS);
    let cached = match shared {
        Some(kept) => Some((kept, false)),
        None => web_state.compliance(now),
    };
    if let Some((_, true)) = cached
        && web_state.begin_refresh()
    {
        // Off the request: the page shows the last figures meanwhile.
        let (app, state, who) = (app.clone(), web_state.get_ref().clone(), who.clone());
        std::thread::spawn(move || {
            let now = crate::app::now();
            match app
                .monthly_report(&who, None, Month::containing(now), None, now)
                .and_then(|r| r.value())
            {
                Ok(r) => state.keep_compliance(now, r),
                Err(e) => tracing::warn!(error = %e, "dashboard compliance refresh"),
            }
            state.end_refresh();
        });
    }
    let kept = cached.map(|(k, _)| k);
    let kept_was_none = kept.is_none();
    let (desk, (report_at, report), (ongoing, open_disputes)) = run(move || {
        let now = crate::app::now();
        let desk = app.desk_now(&who, now)?;
        let report = match kept {
            Some(k) => k,
            None => (
                now,
                app.monthly_report(&who, None, Month::containing(now), None, now)?
                    .value()?,
            ),
        };
        let ongoing: Vec<_> = app
            .list_outages(&who, None, None, now)?
            .into_iter()
            .filter(|o| o.ongoing)
            .collect();
        let disputes = app.list_disputes(&who, true)?;
        Ok((desk, report, (ongoing, disputes)))
    })
    .await?;
    if kept_was_none {
        web_state.keep_compliance(report_at, report.clone());
    }
    let mut tiers: Vec<String> = desk.open.iter().map(|(t, _, _)| t.clone()).collect();
    tiers.dedup();
    let grid: Vec<Value> = tiers
        .iter()
        .map(|tier| {
            let counts: Vec<i64> = (1..=4)
                .map(|s| {
                    desk.open
                        .iter()
                        .find(|(t, sev, _)| t == tier && *sev == s)
                        .map(|(_, _, n)| *n)
                        .unwrap_or(0)
                })
                .collect();
            json!({"tier": tier, "counts": counts, "total": counts.iter().sum::<i64>()})
        })
        .collect();
    let sev_totals: Vec<i64> = (1..=4)
        .map(|s| {
            desk.open
                .iter()
                .filter(|(_, sev, _)| *sev == s)
                .map(|(_, _, n)| n)
                .sum()
        })
        .collect();
    let compliance: Vec<Value> = report["compliance"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let sev = c["severity"].as_i64().unwrap_or(0);
            json!({
                "severity": sev,
                "title": Severity::try_from(sev as u8).map(|s| s.title()).unwrap_or(""),
                "response": c["response"],
                "resolve": c["resolve"],
            })
        })
        .collect();
    let outages: Vec<Value> = ongoing.iter().map(|o| outage_json(o, tz)).collect();
    page(
        Some(&v.session),
        "Dashboard",
        "dashboard",
        json!({
            "grid": grid,
            "sev_totals": sev_totals,
            "open_total": desk.open_total,
            "at_risk": desk.at_risk,
            "breached": desk.breached,
            "month": report["month"],
            "compliance_at": when(report_at, tz),
            "compliance": compliance,
            "outages": outages,
            "disputes": open_disputes.iter().map(|d| disputes::dispute_json(d, tz)).collect::<Vec<_>>(),
        }),
    )
}
