//! The customer portal and the agent workspace: ticket lists and the
//! queue (`lists`), raising a ticket (`new`), a ticket's page (`page`) and
//! what can be done on it (`act`). Here: the routes, and how a ticket and
//! its clocks are put into a page.

mod act;
mod catalogue;
mod changes;
mod explain;
mod lists;
mod new;
mod page;
mod record;
mod search;

use act::*;
use catalogue::*;
use changes::*;
use lists::*;
use new::*;
use page::*;
use record::*;
use search::*;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Refusal, State, Viewer, WebError, page, page_with_status, redirect, run, run_form, when, when_opt};
use crate::app::tickets::{
    Change, ClockSummary, Countdown, EventCursor, NewTicketRequest, TicketFilter, TicketView, Urgency,
};
use crate::app::{AppError, Role};
use crate::domain::clock::ClockState;
use crate::domain::duration::business_text;
use crate::domain::ticket::{Severity, Status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets", web::get().to(list))
        .route("/tickets/new", web::get().to(new_page))
        .route("/tickets/new", web::post().to(create))
        .route("/catalogue", web::get().to(catalogue_page))
        .route("/catalogue/{slug}", web::get().to(item_page))
        .route("/catalogue/{slug}", web::post().to(request_item))
        .route("/tickets/{reference}", web::get().to(show))
        .route("/tickets/{reference}/reply", web::post().to(reply))
        .route("/tickets/{reference}/act", web::post().to(act))
        .route("/tickets/{reference}/request", web::post().to(request_action))
        .route("/tickets/{reference}/problem", web::post().to(problem_action))
        .route("/tickets/{reference}/change", web::post().to(change_action))
        .route("/tickets/{reference}/merge", web::post().to(merge_action))
        .route("/tickets/{reference}/from-incident", web::post().to(incident_problem))
        .route("/known-errors", web::get().to(known_errors_page))
        .route("/cab", web::get().to(cab_page))
        .route("/changes/calendar", web::get().to(calendar_page))
        .route("/tickets/{reference}/time", web::post().to(log_time))
        .route("/tickets/{reference}/links", web::post().to(add_link))
        .route("/tickets/{reference}/links/remove", web::post().to(remove_link))
        .route("/tickets/{reference}/watchers", web::post().to(add_watcher))
        .route("/tickets/{reference}/watchers/remove", web::post().to(remove_watcher))
        .route("/tickets/{reference}/presence", web::post().to(presence))
        .route("/tickets/{reference}/reopen-request", web::post().to(reopen_request))
        .route("/tickets/{reference}/attachments/{id}", web::get().to(attachment))
        .route(
            "/tickets/{reference}/sla-history.jsonl",
            web::get().to(explain::history),
        )
        .route("/queue", web::get().to(queue))
        .route("/search", web::get().to(search_page))
        .route("/views", web::post().to(save_view))
        .route("/views/{id}/delete", web::post().to(delete_view));
}

fn status_text(s: &str) -> String {
    s.replace('_', " ")
}

/// A clock's state in words and a symbol: never by colour alone.
fn state_words(s: ClockState) -> (&'static str, &'static str) {
    match s {
        ClockState::Running => ("running", "▶"),
        ClockState::Paused => ("paused", "‖"),
        ClockState::Met => ("met", "✓"),
        ClockState::BreachedRunning => ("breached", "⚠"),
        ClockState::BreachedPaused => ("breached, paused", "⚠"),
        ClockState::BreachedMet => ("met late", "⚠"),
        ClockState::Cancelled => ("stopped", "–"),
    }
}

fn state_class(s: ClockState) -> &'static str {
    match s {
        ClockState::Running | ClockState::Paused => "ok",
        ClockState::Met | ClockState::Cancelled => "done",
        _ => "breached",
    }
}

/// A clock as a page shows it: its state, due instant, and a countdown the
/// page's script moves on from the server's figure.
fn clock_json(c: &ClockSummary, cd: Option<&Countdown>, tz: Tz) -> Value {
    let (words, symbol) = state_words(c.state);
    let countdown = cd.and_then(|cd| {
        let remaining = cd.remaining_seconds?;
        if matches!(
            c.state,
            ClockState::Met | ClockState::BreachedMet | ClockState::Cancelled
        ) {
            return None;
        }
        let runs: Vec<String> = cd.runs.iter().map(|(a, b)| format!("{a}-{b}")).collect();
        let left = business_text(remaining, cd.day_seconds);
        let mut text = if remaining >= 0 {
            format!("{left} left")
        } else {
            format!("overdue by {left}")
        };
        // The page's script writes the same words.
        if cd.runs.is_empty() {
            text.push_str(" (not counting now)");
        }
        Some(json!({
            "remaining": remaining,
            "computed": cd.computed_at.timestamp(),
            "runs": runs.join(","),
            "text": text,
            "paused": cd.runs.is_empty(),
            "day": cd.day_seconds,
            "counts": cd.counts,
        }))
    });
    json!({
        "state": words,
        "symbol": symbol,
        "class": state_class(c.state),
        "due": when_opt(c.due_at, tz),
        "breached_at": when_opt(c.breached_at, tz),
        "countdown": countdown,
    })
}

/// How urgent a ticket is, in a word and a symbol (never by colour alone).
fn urgency(t: &TicketView, now: chrono::DateTime<chrono::Utc>) -> Value {
    match t.urgency(now) {
        Some(Urgency::Breached) => json!({"class": "breached", "word": "Breached", "symbol": "⚠"}),
        Some(Urgency::AtRisk) => json!({"class": "at-risk", "word": "At risk", "symbol": "◔"}),
        None => Value::Null,
    }
}

fn ticket_json(t: &TicketView, cds: Option<&[Countdown; 2]>, tz: Tz, now: chrono::DateTime<chrono::Utc>) -> Value {
    let sev = Severity::try_from(t.severity as u8).ok();
    json!({
        "urgency": urgency(t, now),
        "organisation_name": t.organisation_name,
        "requester_name": t.requester_name,
        "assignee_name": t.assignee_name,
        "reference": t.reference,
        "subject": t.subject,
        // A request, problem or change says so in lists; its clocks are its own.
        "type_text": (t.ticket_type != "incident").then(|| t.ticket_type.replace('_', " ")),
        "incident": t.ticket_type == "incident",
        "status": t.status,
        "status_text": status_text(&t.status),
        "severity": t.severity,
        "severity_title": sev.map(|s| s.title()),
        "organisation": t.organisation,
        "requester": t.requester,
        "queue": t.queue,
        "assignee": t.assignee,
        "policy": t.policy,
        "received": when(t.received_at, tz),
        "updated": when(t.updated_at, tz),
        "resolved": when_opt(t.resolved_at, tz),
        "reopen_count": t.reopen_count,
        "escalation_level": t.escalation_level,
        "at_risk_at": when_opt(t.at_risk_at, tz),
        "response": clock_json(&t.response, cds.map(|c| &c[0]), tz),
        "resolve": clock_json(&t.resolve, cds.map(|c| &c[1]), tz),
        "done": matches!(t.status.as_str(), "resolved" | "closed" | "cancelled"),
        "resolved_state": t.status == "resolved",
        "closed_state": t.status == "closed",
    })
}

/// Tickets with their countdowns, each computed by the core for its own
/// policy, calendar and holidays.
fn with_countdowns(
    app: &crate::app::App,
    who: &crate::app::Principal,
    items: &[TicketView],
    tz: Tz,
) -> Result<Vec<Value>, AppError> {
    let now = crate::app::now();
    items
        .iter()
        .map(|t| {
            let (_, cds) = app.ticket_sla_with_countdowns(who, &t.reference, now)?;
            Ok(ticket_json(t, Some(&cds), tz, now))
        })
        .collect()
}

fn status_options(selected: Option<&str>, with_active: bool) -> Vec<Value> {
    let mut out = Vec::new();
    if with_active {
        out.push(json!({"value": "active", "label": "active (not resolved, closed or cancelled)", "selected": selected == Some("active")}));
    }
    for s in Status::ALL {
        out.push(
            json!({"value": s.as_str(), "label": status_text(s.as_str()), "selected": selected == Some(s.as_str())}),
        );
    }
    out
}

fn severity_options(selected: Option<i32>) -> Vec<Value> {
    Severity::ALL
        .iter()
        .map(|s| {
            json!({
                "value": s.number(),
                "title": s.title(),
                "definition": s.definition(),
                "selected": selected == Some(s.number() as i32),
            })
        })
        .collect()
}
