//! The customer portal and the agent workspace: ticket lists, the queue,
//! raising a ticket, a ticket's page and what can be done on it.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono_tz::Tz;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    Refusal, State, Viewer, WebError, duration_text, page, page_with_status, redirect, run, run_form, when, when_opt,
};
use crate::app::tickets::{Change, ClockSummary, Countdown, EventCursor, NewTicketRequest, TicketFilter, TicketView};
use crate::app::{AppError, Role};
use crate::domain::clock::ClockState;
use crate::domain::ticket::{Severity, Status};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/tickets", web::get().to(list))
        .route("/tickets/new", web::get().to(new_page))
        .route("/tickets/new", web::post().to(create))
        .route("/tickets/{reference}", web::get().to(show))
        .route("/tickets/{reference}/reply", web::post().to(reply))
        .route("/tickets/{reference}/act", web::post().to(act))
        .route("/tickets/{reference}/reopen-request", web::post().to(reopen_request))
        .route("/tickets/{reference}/attachments/{id}", web::get().to(attachment))
        .route("/queue", web::get().to(queue));
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
        let mut text = if remaining >= 0 {
            format!("{} left", duration_text(remaining))
        } else {
            format!("overdue by {}", duration_text(remaining))
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

fn ticket_json(t: &TicketView, cds: Option<&[Countdown; 2]>, tz: Tz) -> Value {
    let sev = Severity::try_from(t.severity as u8).ok();
    json!({
        "reference": t.reference,
        "subject": t.subject,
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
            Ok(ticket_json(t, Some(&cds), tz))
        })
        .collect()
}

#[derive(Deserialize, Default)]
struct ListQuery {
    status: Option<String>,
    after: Option<String>,
}

/// A customer's tickets: their organisation's, newest first. Staff are sent to the queue.
async fn list(v: Viewer, app: State, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    if v.session.principal.role.is_staff() {
        return Ok(redirect("/queue"));
    }
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let q = q.into_inner();
    let status = q.status.clone().filter(|s| !s.is_empty());
    let filter = TicketFilter {
        status: status.clone(),
        sort: Some("created".into()),
        after: q.after.clone(),
        limit: Some(50),
        ..Default::default()
    };
    let (rows, next) = run(move || {
        let page = app.list_tickets(&who, &filter, crate::app::now())?;
        Ok((with_countdowns(&app, &who, &page.items, tz)?, page.next))
    })
    .await?;
    let next = next.map(|n| {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &status {
            u.append_pair("status", s);
        }
        u.append_pair("after", &n);
        format!("/tickets?{}", u.finish())
    });
    page(
        Some(&v.session),
        "Your tickets",
        "tickets",
        json!({
            "tickets": rows,
            "next": next,
            "statuses": status_options(status.as_deref(), true),
            "status": status,
        }),
    )
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

/// The form to raise a ticket. A severity is asked for only where the
/// organisation may declare one; elsewhere the desk sets it.
async fn new_ticket_page(
    v: &Viewer,
    app: &State,
    form: Value,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    let may_declare = run(move || a.may_declare_severity(&who)).await?;
    let severity = form
        .get("severity")
        .and_then(|s| s.as_str())
        .and_then(|s| s.parse().ok());
    page_with_status(
        status,
        Some(&v.session),
        "Raise a ticket",
        "new_ticket",
        json!({
            "severities": severity_options(severity.or(Some(3))),
            "may_declare": may_declare,
            "form": form,
            "error": error,
            "limit_mb": 0,
        }),
    )
}

async fn new_page(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    if v.session.principal.role != Role::Customer {
        return Err(WebError::Page {
            status: StatusCode::FORBIDDEN,
            title: "Customers raise tickets here".into(),
            detail: "Staff raise tickets for a customer through the API or by mail.".into(),
        });
    }
    new_ticket_page(&v, &app, json!({}), None, StatusCode::OK).await
}

fn field<'a>(form: &'a Value, name: &str) -> &'a str {
    form.get(name).and_then(|v| v.as_str()).unwrap_or("")
}

async fn create(
    v: Viewer,
    app: State,
    gate: web::Data<crate::api::body::BodyGate>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let (form, files) = super::upload::read_multipart(&v, &app, &gate, &req, payload).await?;
    let chosen = field(&form, "severity")
        .parse::<u8>()
        .ok()
        .and_then(|n| Severity::try_from(n).ok());
    let (a, who) = (app.get_ref().clone(), v.who());
    let may_declare = run(move || a.may_declare_severity(&who)).await?;
    if may_declare && chosen.is_none() {
        return new_ticket_page(
            &v,
            &app,
            form,
            Some("Choose a severity.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let severity = chosen;
    let req = NewTicketRequest {
        subject: field(&form, "subject").to_string(),
        description: field(&form, "description").to_string(),
        severity,
        queue: None,
        organisation: None,
        requester: None,
        source: Some("web".into()),
    };
    let a = app.get_ref().clone();
    let who = v.who();
    let outcome = run_form(move || a.create_ticket_with_files(&who, req, &files, crate::app::now())).await?;
    match outcome {
        Ok(t) => Ok(redirect(&format!("/tickets/{}?done=raised", t.reference))),
        Err(r) => new_ticket_page(&v, &app, form, Some(r.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[derive(Deserialize)]
struct Done {
    done: Option<String>,
    /// Paging through the timeline: the latest page unless one is given.
    after: Option<i32>,
    before: Option<i32>,
}

fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "raised" => "Your ticket is raised. We will reply by email and here.",
        "reply" => "Reply sent.",
        "note" => "Internal note added.",
        "claim" => "The ticket is yours.",
        "assign" => "Assignee changed.",
        "status" => "Status changed.",
        "severity" => "Severity changed; the targets are recomputed.",
        "queue" => "Queue changed.",
        "resolve" => "Resolved.",
        "reopen" => "Reopened.",
        "reopen-request" => "Your request to reopen is sent: the desk will reply here and by email.",
        "close" => "Closed.",
        "cancel" => "Cancelled.",
        _ => return None,
    })
}

async fn show(v: Viewer, app: State, path: web::Path<String>, q: web::Query<Done>) -> Result<HttpResponse, WebError> {
    let cursor = match (q.after, q.before) {
        (Some(a), _) => EventCursor::After(Some(a)),
        (None, b) => EventCursor::Before(b),
    };
    ticket_page_at(
        &v,
        app,
        path.into_inner(),
        notice(q.done.as_deref()),
        None,
        StatusCode::OK,
        cursor,
    )
    .await
}

async fn ticket_page(
    v: &Viewer,
    app: State,
    reference: String,
    notice: Option<&str>,
    error: Option<Refusal>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    ticket_page_at(v, app, reference, notice, error, status, EventCursor::Before(None)).await
}

/// A ticket's page showing one page of its timeline (`limits.events_page`
/// events), with links to the earlier and later ones.
async fn ticket_page_at(
    v: &Viewer,
    app: State,
    reference: String,
    notice: Option<&str>,
    error: Option<Refusal>,
    status: StatusCode,
    cursor: EventCursor,
) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let staff = who.role.is_staff();
    let data = run(move || {
        let now = crate::app::now();
        let t = app.get_ticket(&who, &reference)?;
        let (sla, cds) = app.ticket_sla_with_countdowns(&who, &reference, now)?;
        let events = app.ticket_events_page(&who, &reference, cursor, app.limits().events_page)?;
        let files = app.ticket_attachments(&who, &reference)?;
        let queues = if staff { app.list_queues(&who)? } else { Vec::new() };
        let moves = app.ticket_moves(&who, &reference, now)?;
        Ok((t, sla, cds, events, files, queues, moves))
    })
    .await?;
    let (t, sla, cds, events, files, queues, moves) = data;
    // Whom a ticket can be given to: the queues' leads and members.
    let mut staff_emails: Vec<String> = queues
        .iter()
        .flat_map(|q| q.lead.iter().chain(q.members.iter()).cloned())
        .collect();
    staff_emails.sort();
    staff_emails.dedup();
    let timeline: Vec<Value> = events
        .items
        .iter()
        .map(|e| {
            json!({
                "at": when(e.at, tz),
                "actor": e.actor_name.clone().or_else(|| e.actor.clone()).unwrap_or_else(|| e.actor_role.clone()),
                "kind": status_text(&e.kind),
                "internal": e.visibility != "public",
                "body": e.body,
                "summary": event_summary(&e.data),
            })
        })
        .collect();
    let files: Vec<Value> = files
        .iter()
        .map(|f| json!({"id": f.id, "name": f.filename, "size": f.size, "type": f.content_type}))
        .collect();
    let agents: Vec<Value> = staff_emails
        .iter()
        .map(|e| json!({"email": e, "selected": t.assignee.as_deref() == Some(e.as_str())}))
        .collect();
    let queue_opts: Vec<Value> = queues
        .iter()
        .map(|q| json!({"slug": q.slug, "name": q.name, "selected": t.queue.as_deref() == Some(q.slug.as_str())}))
        .collect();
    // Only what the core would accept now: a resolved ticket offers no
    // status menu (it is reopened, or closed), and no menu offers the
    // status or severity it already has.
    let settable: Vec<Value> = moves
        .statuses
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_text(s.as_str())}))
        .collect();
    let severities: Vec<Value> = severity_options(None)
        .into_iter()
        .filter(|o| {
            moves
                .severities
                .iter()
                .any(|s| o["value"].as_i64() == Some(i64::from(u8::from(*s))))
        })
        .collect();
    let pending_customer = moves.statuses.contains(&Status::PendingCustomer);
    let mine = t.assignee.as_deref() == Some(v.session.principal.email.as_str());
    let error_text = error.map(|r| r.to_string());
    page_with_status(
        status,
        Some(&v.session),
        &format!("{} {}", t.reference, t.subject),
        "ticket",
        json!({
            "t": ticket_json(&t, Some(&cds), tz),
            "sla": {
                "policy": sla.policy,
                "calendar": sla.calendar,
                "time_zone": sla.time_zone,
                "region": sla.region,
            },
            "timeline": timeline,
            "earlier": events.previous_before,
            "later": events.next_after,
            "files": files,
            "agents": agents,
            "queues": queue_opts,
            "statuses": settable,
            "severities": severities,
            "moves": moves,
            "codes": RESOLUTION_CODES.iter().map(|(c, l)| json!({"value": c, "label": l})).collect::<Vec<_>>(),
            "pending_customer": pending_customer,
            "mine": mine,
            "notice": notice,
            "error": error_text,
        }),
    )
}

/// A line for events that carry no text of their own.
fn event_summary(data: &Value) -> Option<String> {
    let kind = data.get("type").and_then(|k| k.as_str()).unwrap_or("");
    let s = |k: &str| data.get(k).and_then(|v| v.as_str()).map(status_text);
    let n = |k: &str| data.get(k).map(|v| v.to_string());
    Some(match kind {
        "status_changed" => format!("Status: {} → {}", s("from")?, s("to")?),
        "severity_changed" => format!("Severity: {} → {}", n("from")?, n("to")?),
        "assignee_changed" => format!(
            "Assignee: {} → {}",
            s("from_name").or_else(|| s("from")).unwrap_or_else(|| "nobody".into()),
            s("to_name").or_else(|| s("to")).unwrap_or_else(|| "nobody".into())
        ),
        "queue_changed" => format!("Queue: → {}", s("to")?),
        "created" => format!("Raised at severity {}", n("severity")?),
        "alert_recorded" => format!("SLA {} on the {} clock", s("level")?, s("clock")?),
        _ => return None,
    })
}

async fn reply(
    v: Viewer,
    app: State,
    gate: web::Data<crate::api::body::BodyGate>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let (form, files) = super::upload::read_multipart(&v, &app, &gate, &req, payload).await?;
    let reference = path.into_inner();
    let body = field(&form, "body").to_string();
    let internal = field(&form, "visibility") == "internal";
    if internal && !v.session.principal.role.is_staff() {
        return Err(WebError::not_found());
    }
    let change = if internal {
        Change::Note(body)
    } else {
        Change::Reply(body)
    };
    let a = app.get_ref().clone();
    let (who, r) = (v.who(), reference.clone());
    let outcome = run_form(move || a.change_ticket_with_files(&who, &r, &[change], &files, crate::app::now())).await?;
    match outcome {
        Ok(_) => Ok(redirect(&format!(
            "/tickets/{reference}?done={}",
            if internal { "note" } else { "reply" }
        ))),
        Err(r) => ticket_page(&v, app, reference, None, Some(r), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[derive(Deserialize)]
struct ActForm {
    action: String,
    value: Option<String>,
    /// Resolving: the resolution note (public: it goes in the resolved mail).
    note: Option<String>,
    /// Resolving: an optional resolution code.
    code: Option<String>,
    /// Cancel and close: the box that confirms it.
    confirm: Option<String>,
    csrf: String,
}

/// Resolution codes a resolving agent may pick; the code leads the note.
const RESOLUTION_CODES: [(&str, &str); 5] = [
    ("fixed", "Fixed"),
    ("workaround", "Workaround given"),
    ("no_fault_found", "No fault found"),
    ("duplicate", "Duplicate of another ticket"),
    ("withdrawn", "Withdrawn by the customer"),
];

/// One move on a ticket: claim, assign, status, severity, queue, resolve,
/// reopen, close or cancel; the use case decides who may make it.
async fn act(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<ActForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let value = form.value.clone().unwrap_or_default();
    let confirmed = form.confirm.as_deref() == Some("yes");
    let mut changes = Vec::new();
    let change = match form.action.as_str() {
        "resolve" => {
            let note = form.note.as_deref().unwrap_or("").trim();
            if note.is_empty() {
                return Err(WebError::from(crate::app::invalid(
                    "note",
                    "say how it was resolved: the note goes to the customer",
                )));
            }
            let code = form.code.as_deref().unwrap_or("");
            let text = match RESOLUTION_CODES.iter().find(|(c, _)| *c == code) {
                Some((_, label)) => format!("Resolution: {label}.\n\n{note}"),
                None => note.to_string(),
            };
            changes.push(Change::Reply(text));
            Change::Resolve
        }
        "close" | "cancel" if !confirmed => {
            return Err(WebError::from(crate::app::invalid(
                "confirm",
                format!("tick the box to confirm: to {} a ticket is final", form.action),
            )));
        }
        "claim" => Change::Assign(Some(v.session.principal.email.clone())),
        "assign" if value.is_empty() => Change::Assign(None),
        "assign" => Change::Assign(Some(value)),
        "status" => Change::Status(crate::app::tickets::parse_status(&value)?),
        "severity" => Change::Severity(crate::app::tickets::parse_severity(value.parse().unwrap_or(0))?),
        "queue" => Change::Queue(value),
        "reopen" => Change::Reopen,
        "close" => Change::Close,
        "cancel" => Change::Cancel,
        other => return Err(WebError::bad_request(format!("unknown action '{other}'"))),
    };
    let a = app.get_ref().clone();
    let (who, r) = (v.who(), reference.clone());
    changes.push(change);
    let outcome = run_form(move || a.change_ticket(&who, &r, &changes, None, crate::app::now())).await?;
    match outcome {
        Ok(_) => Ok(redirect(&format!("/tickets/{reference}?done={}", form.action))),
        Err(e) => ticket_page(&v, app, reference, None, Some(e), StatusCode::CONFLICT).await,
    }
}

#[derive(Deserialize)]
struct ReopenForm {
    reason: String,
    csrf: String,
}

/// A customer asks for a resolved ticket to be reopened; staff decide.
async fn reopen_request(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<ReopenForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let a = app.get_ref().clone();
    let (who, r, reason) = (v.who(), reference.clone(), form.reason.clone());
    let outcome = run_form(move || a.ask_to_reopen(&who, &r, &reason, crate::app::now())).await?;
    match outcome {
        Ok(_) => Ok(redirect(&format!("/tickets/{reference}?done=reopen-request"))),
        Err(e) => ticket_page(&v, app, reference, None, Some(e), StatusCode::CONFLICT).await,
    }
}

async fn attachment(v: Viewer, app: State, path: web::Path<(String, i64)>) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let who = v.who();
    let (reference, id) = path.into_inner();
    let (name, ctype, data) = run(move || app.ticket_attachment(&who, &reference, id)).await?;
    Ok(crate::api::attachment_response(name, ctype, data))
}

#[derive(Deserialize, Default)]
struct QueueQuery {
    queue: Option<String>,
    severity: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    at_risk: Option<String>,
    breached: Option<String>,
    after: Option<String>,
}

fn some(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// The agent workspace: open work, most urgent first (the order the API
/// gives), with every filter an agent needs.
async fn queue(v: Viewer, app: State, q: web::Query<QueueQuery>) -> Result<HttpResponse, WebError> {
    if !v.session.principal.role.is_staff() {
        return Ok(redirect("/tickets"));
    }
    let q = q.into_inner();
    let status = some(&q.status).or(Some("active".into())).filter(|s| s != "any");
    let filter = TicketFilter {
        status: status.clone(),
        severity: some(&q.severity).and_then(|s| s.parse().ok()),
        queue: some(&q.queue),
        tier: some(&q.tier),
        assignee: some(&q.assignee),
        at_risk: q.at_risk.as_deref().map(|_| true),
        breached: q.breached.as_deref().map(|_| true),
        after: some(&q.after),
        limit: Some(50),
        ..Default::default()
    };
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (rows, next, queues, tiers) = run(move || {
        let page = app.list_tickets(&who, &filter, crate::app::now())?;
        let rows = with_countdowns(&app, &who, &page.items, tz)?;
        let queues = app.list_queues(&who)?;
        let tiers: Vec<String> = app.policies.names().into_iter().map(str::to_string).collect();
        Ok((rows, page.next, queues, tiers))
    })
    .await?;
    let sel = |o: &Option<String>, v: &str| o.as_deref() == Some(v);
    let queue_opts: Vec<Value> = queues
        .iter()
        .map(|x| json!({"value": x.slug, "label": x.name, "selected": sel(&q.queue, &x.slug)}))
        .collect();
    let tier_opts: Vec<Value> = tiers
        .iter()
        .map(|t| json!({"value": t, "label": t, "selected": sel(&q.tier, t)}))
        .collect();
    let mut statuses = status_options(status.as_deref(), true);
    statuses.push(json!({"value": "any", "label": "any", "selected": q.status.as_deref() == Some("any")}));
    let next_link = next.map(|n| {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("queue", &q.queue),
            ("severity", &q.severity),
            ("tier", &q.tier),
            ("status", &q.status),
            ("assignee", &q.assignee),
            ("at_risk", &q.at_risk),
            ("breached", &q.breached),
        ] {
            if let Some(v) = some(v) {
                u.append_pair(k, &v);
            }
        }
        u.append_pair("after", &n);
        format!("/queue?{}", u.finish())
    });
    page(
        Some(&v.session),
        "Queue",
        "queue",
        json!({
            "tickets": rows,
            "next": next_link,
            "queues": queue_opts,
            "tiers": tier_opts,
            "statuses": statuses,
            "severities": severity_options(some(&q.severity).and_then(|s| s.parse().ok())),
            "mine": sel(&q.assignee, "me"),
            "unassigned": sel(&q.assignee, "none"),
            "at_risk": q.at_risk.is_some(),
            "breached": q.breached.is_some(),
        }),
    )
}
