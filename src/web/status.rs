//! `/status`: the service status page, server-rendered, readable without
//! script. Public (the platform's services and outages, no organisation
//! named); a signed-in customer sees their own organisation's services and
//! outages, staff everything. States are said in words with a symbol, not
//! by colour alone.

use super::*;
use std::str::FromStr;

use crate::domain::outage_status::OutageStatus;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/status", web::get().to(status_page))
        .route("/status/subscribe", web::post().to(subscribe))
        .route("/status/subscriptions/{token}", web::get().to(subscription_page))
        .route("/status/subscriptions/{token}", web::post().to(confirm))
        .route("/status/subscriptions/{token}/unsubscribe", web::post().to(unsubscribe))
        .route("/account/status-updates", web::post().to(subscribe_myself));
}

/// The viewer, if signed in; signed out is the public while the page is.
async fn optional_viewer(v: Result<Viewer, WebError>, app: &State) -> Result<Option<Viewer>, WebError> {
    match v {
        Ok(v) => Ok(Some(v)),
        Err(e) if !app.status_page_public() => Err(e),
        Err(_) => Ok(None),
    }
}

/// The ticked `service:<slug>` boxes of a form.
fn ticked(f: &std::collections::HashMap<String, String>) -> Vec<String> {
    let mut out: Vec<String> = f
        .keys()
        .filter_map(|k| k.strip_prefix("service:"))
        .map(str::to_string)
        .collect();
    out.sort();
    out
}

/// The services one may choose, each ticked if `chosen` has it.
async fn service_choices(
    app: &State,
    who: Option<crate::app::Principal>,
    chosen: Vec<String>,
) -> Result<Vec<Value>, WebError> {
    let a = app.get_ref().clone();
    let s = run(move || a.status_now(who.as_ref(), crate::app::now())).await?;
    Ok(s.components
        .iter()
        .map(|c| json!({"slug": c.slug, "name": c.name, "group": c.group, "ticked": chosen.contains(&c.slug)}))
        .collect())
}

/// The subscription page saying what became of a request.
fn told(v: Option<&Viewer>, status: StatusCode, message: &str) -> Result<HttpResponse, WebError> {
    page_with_status(
        status,
        v.map(|v| &v.session),
        "Status updates by e-mail",
        "subscription",
        json!({"message": message, "done": true}),
    )
}

/// The public form: an address, and every service or chosen ones.
async fn subscribe(
    v: Result<Viewer, WebError>,
    app: State,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let v = optional_viewer(v, &app).await?;
    let who = v.as_ref().map(|v| v.who());
    let services = ticked(&form);
    let email = form.get("email").cloned().unwrap_or_default();
    let a = app.get_ref().clone();
    let req = crate::app::outages::SubscribeRequest {
        email: email.clone(),
        services: Some(services),
    };
    let outcome = run_form(move || a.subscribe_to_status(who.as_ref(), req, crate::app::now())).await?;
    let (status, message) = match outcome {
        Ok(true) => (
            StatusCode::OK,
            "Subscribed: the updates will be mailed to you.".to_string(),
        ),
        Ok(false) => (
            StatusCode::OK,
            format!(
                "If {email} takes mail, a message with a link to confirm is on its way. Nothing more is sent until it is followed."
            ),
        ),
        Err(r) => (StatusCode::UNPROCESSABLE_ENTITY, format!("Not subscribed: {r}.")),
    };
    told(v.as_ref(), status, &message)
}

/// A subscription, by the token in its mails: confirm it, choose services,
/// or leave.
async fn subscription_page(
    v: Result<Viewer, WebError>,
    app: State,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let v = v.ok();
    let a = app.get_ref().clone();
    let t = token.clone();
    let sub = match web::block(move || a.status_subscription(&t)).await? {
        Ok(s) => s,
        Err(crate::app::AppError::NotFound(_)) => {
            return told(
                v.as_ref(),
                StatusCode::NOT_FOUND,
                "There is no such subscription: it may have been cancelled.",
            );
        }
        Err(e) => return Err(e.into()),
    };
    let choices = service_choices(&app, None, sub.services.clone()).await?;
    page(
        v.as_ref().map(|v| &v.session),
        "Status updates by e-mail",
        "subscription",
        json!({"token": token.into_inner(), "email": sub.email, "confirmed": sub.confirmed,
               "all_services": sub.all_services, "services": choices}),
    )
}

async fn confirm(
    v: Result<Viewer, WebError>,
    app: State,
    token: web::Path<String>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    let v = v.ok();
    let services = ticked(&form);
    let a = app.get_ref().clone();
    let outcome = run_form(move || a.confirm_status_subscription(&token, Some(services), crate::app::now())).await?;
    let message = match outcome {
        Ok(s) if s.all_services => format!("Confirmed: updates on every service will be mailed to {}.", s.email),
        Ok(s) => format!(
            "Confirmed: updates on {} service(s) will be mailed to {}.",
            s.services.len(),
            s.email
        ),
        Err(r) => format!("Not changed: {r}."),
    };
    told(v.as_ref(), StatusCode::OK, &message)
}

/// Unsubscribes: the page's button, and RFC 8058's one-click POST from a
/// mail client (no cookie, no form token: the token in the path is the
/// capability, and the answer is the same whether it was known).
async fn unsubscribe(
    v: Result<Viewer, WebError>,
    app: State,
    token: web::Path<String>,
) -> Result<HttpResponse, WebError> {
    let v = v.ok();
    let a = app.get_ref().clone();
    run(move || a.unsubscribe_from_status(&token)).await?;
    told(
        v.as_ref(),
        StatusCode::OK,
        "Unsubscribed: no more status updates will be mailed to this address, and it is forgotten.",
    )
}

#[derive(serde::Deserialize)]
struct CsrfForm {
    csrf: String,
}

/// A signed-in contact subscribes their own address from their account
/// page: confirmed at once, every service they may see.
async fn subscribe_myself(v: Viewer, app: State, form: web::Form<CsrfForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let who = v.who();
    let a = app.get_ref().clone();
    let req = crate::app::outages::SubscribeRequest {
        email: who.email.clone(),
        services: None,
    };
    run(move || a.subscribe_to_status(Some(&who), req, crate::app::now())).await?;
    Ok(redirect("/account?done=status-updates"))
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
    let v = optional_viewer(v, &app).await?;
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
            "choices": s.components.iter().map(|c| json!({"slug": c.slug, "name": c.name})).collect::<Vec<_>>(),
            "history": history, "days": h.days, "availability": availability,
            "groups": groups.into_iter().map(|(name, services)| json!({"name": name, "services": services})).collect::<Vec<_>>(),
        }),
    )
}
