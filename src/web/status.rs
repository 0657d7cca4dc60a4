//! `/status`: the service status page, server-rendered, readable without
//! script. Public (the platform's services and outages, no organisation
//! named); a signed-in customer sees their own organisation's services and
//! outages, staff everything. States are said in words with a symbol, not
//! by colour alone.

use super::*;
use std::str::FromStr;

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

/// "2 h 05 min", "40 min", "under a minute".
fn downtime_text(secs: i64) -> String {
    let (h, m) = (secs / 3600, secs % 3600 / 60);
    match (h, m) {
        (0, 0) => "under a minute".into(),
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m:02} min"),
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
    let now = crate::app::now();
    let s = run(move || a.status_now(w.as_ref(), now)).await?;
    let a = app.get_ref().clone();
    let w = who.clone();
    let h = run(move || a.status_history(w.as_ref(), crate::app::outages::MAX_HISTORY_DAYS, now)).await?;
    let event = |e: &crate::app::outages::StatusEvent| {
        json!({
            "id": e.id, "name": e.name, "status_title": status_title(&e.status),
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
    // Each service's bars (for the eye: each says its day and state in a
    // title), and the days with something to tell (for everyone: text).
    let history: Vec<Value> = h
        .services
        .iter()
        .map(|sh| {
            let bars: Vec<Value> = sh
                .days
                .iter()
                .map(|d| {
                    let words = match d.downtime_seconds {
                        0 => d.worst.title().to_string(),
                        secs => format!("{}, {} down", d.worst.title(), downtime_text(secs)),
                    };
                    json!({"status": d.worst.as_str(), "title": format!("{}: {words}", d.date.format("%-d %b %Y"))})
                })
                .collect();
            let notable: Vec<Value> = sh
                .days
                .iter()
                .rev()
                .filter(|d| d.worst != crate::domain::status::ComponentStatus::Operational)
                .map(|d| {
                    json!({
                        "date": d.date.format("%a %-d %b %Y").to_string(), "iso": d.date.to_string(),
                        "title": d.worst.title(), "symbol": symbol(d.worst.as_str()),
                        "down": (d.downtime_seconds > 0).then(|| downtime_text(d.downtime_seconds)),
                    })
                })
                .collect();
            json!({"name": sh.name, "uptime": sh.uptime_percent, "bars": bars, "notable_count": notable.len(), "notable": notable})
        })
        .collect();
    let availability: Vec<Value> = h
        .availability
        .iter()
        .map(|m| {
            let month = crate::domain::availability::Month::from_str(&m.month)
                .map(|mo| mo.first_day().format("%B %Y").to_string())
                .unwrap_or_else(|_| m.month.clone());
            json!({"month": month, "percent": m.percent, "complete": m.complete,
                   "down": downtime_text(m.downtime_seconds)})
        })
        .collect();
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
            "history": history, "days": h.days, "availability": availability,
            "groups": groups.into_iter().map(|(name, services)| json!({"name": name, "services": services})).collect::<Vec<_>>(),
        }),
    )
}
