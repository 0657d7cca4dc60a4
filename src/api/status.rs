//! The status page's data for machines: sladesk's own shape at
//! `/api/v1/status`, and the widely read Statuspage shape at
//! `/api/v2/summary.json`, so status aggregators and dashboards that read
//! those read this desk. Public; a bearer token, if sent, must be good, and
//! a customer's shows their own organisation's services and outages.

use super::*;
use crate::app::outages::{MAX_HISTORY_DAYS, StatusEvent, StatusHistory, StatusNow};

/// The caller, if a token was sent: absent is the public, a bad one 401.
pub(super) async fn viewer(req: &HttpRequest) -> Result<Option<Principal>, Problem> {
    if req.headers().get(header::AUTHORIZATION).is_none() {
        return Ok(None);
    }
    let Caller(p) = Caller::extract(req).await?;
    Ok(Some(p))
}

async fn now_for(app: State, req: &HttpRequest) -> Result<StatusNow, Problem> {
    let who = viewer(req).await?;
    let app = app.get_ref().clone();
    run(move || app.status_now(who.as_ref(), crate::app::now())).await
}

#[utoipa::path(get, path = "/api/v1/status", tag = "status",
    responses((status = 200, description = "Each service's state, the incidents under way and the maintenance to come", body = StatusNow),
        (status = 401, description = "A token was sent and is not good", body = Problem)))]
pub(super) async fn status(app: State, req: HttpRequest) -> Result<HttpResponse, Problem> {
    Ok(HttpResponse::Ok().json(now_for(app, &req).await?))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    /// Days of history, ending today: 1 to 90 (default 90).
    days: Option<u32>,
}

/// Each service's last days, one bar a day with its worst state and
/// downtime, and its uptime over them; for a signed-in customer, their own
/// services only and their organisation's availability for this month and
/// the three before, the very figures of their monthly report.
#[utoipa::path(get, path = "/api/v1/status/history", tag = "status", params(HistoryQuery),
    responses((status = 200, description = "The services' daily history and uptime", body = StatusHistory),
        (status = 401, description = "A token was sent and is not good, or the status page is for people signed in", body = Problem),
        (status = 422, description = "days is not 1 to 90", body = Problem)))]
pub(super) async fn history(
    app: State,
    req: HttpRequest,
    q: web::Query<HistoryQuery>,
) -> Result<HttpResponse, Problem> {
    let who = viewer(&req).await?;
    let days = q.days.unwrap_or(MAX_HISTORY_DAYS);
    let app = app.get_ref().clone();
    let h = run(move || app.status_history(who.as_ref(), days, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(h))
}

const PAGE_ID: &str = "sladesk";

fn event_json(e: &StatusEvent, url: &str, maintenance: bool) -> Value {
    let updates: Vec<Value> = e
        .updates
        .iter()
        .enumerate()
        .rev()
        .map(|(i, u)| {
            serde_json::json!({
                "id": format!("{}-{}", e.id, i + 1), "status": u.status, "body": u.body,
                "incident_id": e.id.to_string(), "created_at": u.at, "updated_at": u.at, "display_at": u.at,
                "affected_components": null,
            })
        })
        .collect();
    let updated = e.updates.last().map_or(e.start, |u| u.at);
    let mut v = serde_json::json!({
        "id": e.id.to_string(), "name": e.name, "status": e.status, "impact": e.impact,
        "created_at": e.start, "updated_at": updated, "started_at": e.start,
        "monitoring_at": e.updates.iter().find(|u| u.status == "monitoring").map(|u| u.at),
        "resolved_at": e.updates.iter().rev().find(|u| u.status == "resolved" || u.status == "completed").map(|u| u.at),
        "shortlink": url, "page_id": PAGE_ID,
        "incident_updates": updates,
        "components": e.services.iter().map(|s| serde_json::json!({"id": s.slug, "name": s.name})).collect::<Vec<_>>(),
    });
    if maintenance {
        v["scheduled_for"] = serde_json::json!(e.start);
        v["scheduled_until"] = serde_json::json!(e.end);
    }
    v
}

#[utoipa::path(get, path = "/api/v2/summary.json", tag = "status",
    responses((status = 200, description = "The status page in the Statuspage summary shape: page, status, components, incidents, scheduled_maintenances"),
        (status = 401, description = "A token was sent and is not good", body = Problem)))]
pub(super) async fn summary(app: State, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let url = app.page_url("/status");
    let s = now_for(app, &req).await?;
    // Groups are components of their own, their services pointing at them.
    let mut groups: Vec<&str> = Vec::new();
    for c in &s.components {
        if !groups.contains(&c.group.as_str()) {
            groups.push(&c.group);
        }
    }
    let group_id = |g: &str| format!("group-{}", groups.iter().position(|x| *x == g).unwrap_or(0) + 1);
    let mut components: Vec<Value> = s
        .components
        .iter()
        .map(|c| {
            serde_json::json!({
                "id": c.slug, "name": c.name, "status": c.status, "description": c.description,
                "position": c.position, "group_id": group_id(&c.group), "group": false, "page_id": PAGE_ID,
                "showcase": true, "only_show_if_degraded": false, "start_date": null,
                "created_at": s.as_of, "updated_at": s.as_of,
            })
        })
        .collect();
    for (i, g) in groups.iter().enumerate() {
        let members: Vec<&str> = s
            .components
            .iter()
            .filter(|c| c.group == *g)
            .map(|c| c.slug.as_str())
            .collect();
        // A group reads as its worst member.
        let worst = s
            .components
            .iter()
            .filter(|c| c.group == *g)
            .map(|c| c.status)
            .max()
            .map_or("operational", |st| st.as_str());
        components.push(serde_json::json!({
            "id": format!("group-{}", i + 1), "name": g, "status": worst, "description": null,
            "position": i + 1, "group_id": null, "group": true, "components": members, "page_id": PAGE_ID,
            "showcase": false, "only_show_if_degraded": false, "start_date": null,
            "created_at": s.as_of, "updated_at": s.as_of,
        }));
    }
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "page": {"id": PAGE_ID, "name": "Service status", "url": url, "time_zone": "Europe/London", "updated_at": s.as_of},
        "status": {"indicator": s.indicator, "description": s.description},
        "components": components,
        "incidents": s.incidents.iter().map(|e| event_json(e, &url, false)).collect::<Vec<_>>(),
        "scheduled_maintenances": s.maintenances.iter().map(|e| event_json(e, &url, true)).collect::<Vec<_>>(),
    })))
}

#[utoipa::path(get, path = "/api/v2/incidents.json", tag = "status",
    responses((status = 200, description = "The 50 latest incidents, whatever their status, in the Statuspage shape: page, incidents"),
        (status = 401, description = "A token was sent and is not good, or the status page is for people signed in", body = Problem)))]
pub(super) async fn incidents(app: State, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let url = app.page_url("/status");
    let who = viewer(&req).await?;
    let a = app.get_ref().clone();
    let now = crate::app::now();
    let list = run(move || a.recent_incidents(who.as_ref(), 50, now)).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({
        "page": {"id": PAGE_ID, "name": "Service status", "url": url, "time_zone": "Europe/London", "updated_at": now},
        "incidents": list.iter().map(|e| event_json(e, &url, false)).collect::<Vec<_>>(),
    })))
}

/// Every public update on the services, newest first, as an Atom feed.
#[utoipa::path(get, path = "/api/v1/status/feed.atom", tag = "status",
    responses((status = 200, description = "An Atom feed (RFC 4287) of the public updates", content_type = "application/atom+xml"),
        (status = 401, description = "A token was sent and is not good, or the status page is for people signed in", body = Problem)))]
pub(super) async fn feed(app: State, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let who = viewer(&req).await?;
    let (page, self_url) = (app.page_url("/status"), app.page_url("/api/v1/status/feed.atom"));
    let app = app.get_ref().clone();
    let now = crate::app::now();
    let events =
        run(move || app.recent_events(who.as_ref(), &super::feeds::EVERY_KIND, super::feeds::LOOK_BACK, now)).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/atom+xml; charset=utf-8")
        .body(super::feeds::atom(&events, &page, &self_url, now)))
}

/// Maintenance, planned and emergency, as an iCalendar feed.
#[utoipa::path(get, path = "/api/v1/status/maintenance.ics", tag = "status",
    responses((status = 200, description = "An iCalendar feed (RFC 5545) of maintenance windows", content_type = "text/calendar"),
        (status = 401, description = "A token was sent and is not good, or the status page is for people signed in", body = Problem)))]
pub(super) async fn maintenance_calendar(app: State, req: HttpRequest) -> Result<HttpResponse, Problem> {
    let who = viewer(&req).await?;
    let page = app.page_url("/status");
    let app = app.get_ref().clone();
    let now = crate::app::now();
    let events =
        run(move || app.recent_events(who.as_ref(), &super::feeds::MAINTENANCE, super::feeds::LOOK_BACK, now)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"maintenance.ics\""))
        .body(super::feeds::calendar(&events, &page)))
}
