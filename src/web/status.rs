//! `/status`: the service status page, server-rendered, readable without
//! script. Public (the platform's services and outages, no organisation
//! named); a signed-in customer sees their own organisation's services and
//! outages, staff everything. States are said in words with a symbol, not
//! by colour alone.

use super::*;
use crate::domain::outage_status::OutageStatus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(status_page));
}

/// A symbol for a state, beside its words.
fn symbol(status: &str) -> &'static str {
    match status {
        "operational" | "none" => "✓",
        "under_maintenance" | "maintenance" => "⚙",
        "degraded_performance" | "minor" => "◔",
        "partial_outage" | "major" => "◑",
        _ => "✕",
    }
}

fn status_title(s: &str) -> &'static str {
    s.parse::<OutageStatus>().map_or("", |s| s.title())
}

async fn status_page(v: Result<Viewer, WebError>, app: State) -> Result<HttpResponse, WebError> {
    // Signed out on a desk whose status page is for people signed in: to
    // the sign-in page, as every other page does.
    let v = match v {
        Ok(v) => Some(v),
        Err(e) if !app.status_page_public() => return Err(e),
        Err(_) => None,
    };
    let who = v.as_ref().map(|v| v.who());
    let tz = v.as_ref().map_or(chrono_tz::Europe::London, |v| v.tz());
    let a = app.get_ref().clone();
    let w = who.clone();
    let s = run(move || a.status_now(w.as_ref(), crate::app::now())).await?;
    let event = |e: &crate::app::outages::StatusEvent| {
        json!({
            "name": e.name, "status_title": status_title(&e.status),
            "start": when(e.start, tz), "end": when_opt(e.end, tz),
            "updates": e.updates.iter().rev().map(|u| json!({
                "at": when(u.at, tz), "status_title": status_title(&u.status), "body": u.body,
            })).collect::<Vec<_>>(),
        })
    };
    let mut groups: Vec<(String, Vec<Value>)> = Vec::new();
    for c in &s.components {
        let shown = json!({
            "name": c.name, "status": c.status.as_str(), "symbol": symbol(c.status.as_str()),
            "title": c.status.title(),
        });
        match groups.iter_mut().find(|(g, _)| *g == c.group) {
            Some((_, list)) => list.push(shown),
            None => groups.push((c.group.clone(), vec![shown])),
        }
    }
    let mine = who.as_ref().is_some_and(|p| p.role == Role::Customer);
    page(
        v.as_ref().map(|v| &v.session),
        "Service status",
        "status",
        json!({
            "indicator": s.indicator, "symbol": symbol(&s.indicator), "description": s.description,
            "as_of": when(s.as_of, tz), "time_zone": tz.name(), "mine": mine,
            "incidents": s.incidents.iter().map(event).collect::<Vec<_>>(),
            "maintenances": s.maintenances.iter().map(event).collect::<Vec<_>>(),
            "groups": groups.into_iter().map(|(name, services)| json!({"name": name, "services": services})).collect::<Vec<_>>(),
        }),
    )
}
