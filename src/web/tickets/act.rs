//! What is done on a ticket's page: replies and notes with files, the
//! moves (claim, assign, status, severity, queue, resolve with its note,
//! reopen, close, cancel), and a customer's request to reopen.

use super::*;

pub(super) async fn reply(
    v: Viewer,
    app: State,
    gate: web::Data<crate::api::body::BodyGate>,
    path: web::Path<String>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let (form, files) = crate::web::upload::read_multipart(&v, &app, &gate, &req, payload).await?;
    let reference = path.into_inner();
    let body = field(&form, "body").to_string();
    let internal = field(&form, "visibility") == "internal";
    if internal && !v.session.principal.role.is_staff() {
        return Err(WebError::not_found());
    }
    let mut changes = vec![if internal {
        Change::Note(body)
    } else {
        Change::Reply(body)
    }];
    let spent = field(&form, "time_spent").trim().to_string();
    // Public messages that arrived since the page was loaded hold the
    // reply back, to be read first; sent again, it goes as it is.
    if let Ok(seen) = field(&form, "seen").parse::<i32>()
        && field(&form, "send_anyway") != "1"
    {
        let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
        let newer = run(move || a.ticket_events_page(&who, &r, EventCursor::After(Some(seen)), 50)).await?;
        let tz = v.tz();
        let news: Vec<Value> = newer
            .items
            .iter()
            .filter(|e| e.visibility == "public" && e.body.is_some())
            .map(|e| {
                json!({
                    "who": e.actor_name.clone().or_else(|| e.actor.clone()).unwrap_or_else(|| e.actor_role.clone()),
                    "at": when(e.at, tz),
                    "body": e.body,
                })
            })
            .collect();
        if !news.is_empty() {
            let held = json!({
                "body": field(&form, "body"),
                "internal": internal,
                "time_spent": spent,
                "macro": field(&form, "macro").parse::<i64>().ok(),
                "count": news.len(),
                "events": news,
            });
            return held_page(&v, app, reference, held).await;
        }
    }
    // A canned reply's moves go with the text the agent sent.
    let macro_id = field(&form, "macro").parse::<i64>().ok();
    let a = app.get_ref().clone();
    let (who, r) = (v.who(), reference.clone());
    let outcome = run_form(move || {
        if let Some(id) = macro_id {
            let mut p = a.preview_macro(&who, id, &r)?;
            p.body.clear();
            changes.extend(crate::app::macros::macro_changes(&p, &who)?);
        }
        if !spent.is_empty() {
            changes.push(Change::LogTime(crate::app::tickets::parse_spent("time_spent", &spent)?));
        }
        a.change_ticket_with_files(&who, &r, &changes, &files, crate::app::now())
    })
    .await?;
    let done = if internal { "note" } else { "reply" };
    answer(&v, app, reference, outcome, done, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
pub(super) struct ActForm {
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
pub(super) const RESOLUTION_CODES: [(&str, &str); 5] = [
    ("fixed", "Fixed"),
    ("workaround", "Workaround given"),
    ("no_fault_found", "No fault found"),
    ("duplicate", "Duplicate of another ticket"),
    ("withdrawn", "Withdrawn by the customer"),
];

/// One move on a ticket: claim, assign, status, severity, queue, resolve,
/// reopen, close or cancel; the use case decides who may make it.
pub(super) async fn act(
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
    answer(&v, app, reference, outcome, &form.action, StatusCode::CONFLICT).await
}

#[derive(Deserialize)]
pub(super) struct ReopenForm {
    reason: String,
    csrf: String,
}

/// A customer asks for a resolved ticket to be reopened; staff decide.
pub(super) async fn reopen_request(
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
    answer(&v, app, reference, outcome, "reopen-request", StatusCode::CONFLICT).await
}

#[derive(Deserialize)]
pub(super) struct TimeForm {
    csrf: String,
    spent: String,
    note: Option<String>,
}

/// Logs time on the ticket from its page (staff).
pub(super) async fn log_time(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<TimeForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let f = form.into_inner();
    let entry = crate::app::tickets::LogTime {
        spent: f.spent,
        spent_on: None,
        note: f.note.filter(|n| !n.trim().is_empty()),
    };
    let a = app.get_ref().clone();
    let (who, r) = (v.who(), reference.clone());
    let outcome = run_form(move || a.log_time(&who, &r, entry, crate::app::now())).await?;
    answer(&v, app, reference, outcome, "time", StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
pub(super) struct LinkForm {
    csrf: String,
    kind: String,
    ticket: String,
}

/// Links this ticket to another from its page (staff).
pub(super) async fn add_link(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, WebError> {
    link_form(v, app, path.into_inner(), form.into_inner(), true).await
}

/// Removes a link from the ticket's page (staff).
pub(super) async fn remove_link(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<LinkForm>,
) -> Result<HttpResponse, WebError> {
    link_form(v, app, path.into_inner(), form.into_inner(), false).await
}

async fn link_form(v: Viewer, app: State, reference: String, f: LinkForm, add: bool) -> Result<HttpResponse, WebError> {
    v.check_csrf(&f.csrf)?;
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || {
        let kind: crate::app::tickets::LinkKind = f.kind.parse().map_err(|e: String| crate::app::invalid("kind", e))?;
        let now = crate::app::now();
        let other = f.ticket.trim().to_string();
        if add {
            let link = crate::app::tickets::NewLink { kind, ticket: other };
            a.link_ticket_to(&who, &r, link, now)
        } else {
            a.unlink_ticket_from(&who, &r, kind, &other, now)
        }
    })
    .await?;
    let done = if add { "linked#links" } else { "unlinked#links" };
    answer(&v, app, reference, outcome, done, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
pub(super) struct WatcherForm {
    csrf: String,
    email: String,
}

/// Adds a watcher from the ticket's page (staff, or the requester).
pub(super) async fn add_watcher(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<WatcherForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let add = crate::app::tickets::AddWatcher {
        email: form.email.clone(),
    };
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || a.add_watcher(&who, &r, add, crate::app::now())).await?;
    answer(
        &v,
        app,
        reference,
        outcome,
        "watcher-added#watchers",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

/// Removes a watcher from the ticket's page (staff, the requester, or the
/// watcher leaving).
pub(super) async fn remove_watcher(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<WatcherForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let (a, who, r, email) = (app.get_ref().clone(), v.who(), reference.clone(), form.email.clone());
    let leaving = email.eq_ignore_ascii_case(&v.session.principal.email);
    let outcome = run_form(move || a.remove_watcher(&who, &r, &email, crate::app::now())).await?;
    // Under own-and-watched sharing, a watcher who leaves can no longer see the ticket.
    if outcome.is_ok() && leaving && v.session.principal.role == crate::app::Role::Customer {
        return Ok(redirect("/tickets"));
    }
    answer(
        &v,
        app,
        reference,
        outcome,
        "watcher-removed#watchers",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct PresenceForm {
    csrf: String,
    replying: Option<String>,
}

/// The ticket page's heartbeat (staff): records the viewer and answers who
/// else is on the ticket, as JSON for the page's script.
pub(super) async fn presence(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<PresenceForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let replying = form.replying.as_deref() == Some("1");
    let (a, who, r) = (app.get_ref().clone(), v.who(), path.into_inner());
    let others = run(move || a.touch_presence(&who, &r, replying, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .json(others))
}

/// A ticket form's answer: on to the ticket with the notice `done` names
/// (and a fragment, if given), or the page again with the refusal.
pub(super) async fn answer<T>(
    v: &Viewer,
    app: State,
    reference: String,
    outcome: Result<T, Refusal>,
    done: &str,
    refused: StatusCode,
) -> Result<HttpResponse, WebError> {
    match outcome {
        Ok(_) => Ok(redirect(&format!("/tickets/{reference}?done={done}"))),
        Err(r) => ticket_page(v, app, reference, None, Some(r), refused).await,
    }
}
