//! One outage as staff work it: its public updates and a form to post
//! one, the tickets linked to it (a major incident) with forms to link
//! more, unlink one, and resolve them all with one note. Agents use it as
//! well as managers: linking and updating are staff work.

use super::*;
use crate::app::outages::{LinkTicketsRequest, PostUpdateRequest, ResolveLinkedRequest};
use crate::domain::outage_status::{OutageStatus, Track};

fn require_staff(v: &Viewer) -> Result<(), WebError> {
    Ok(v.session.principal.staff_only()?)
}

/// A staff action from a page: the form's token checked, the use case run
/// as the viewer, then to `back`.
async fn act<T, F>(v: &Viewer, app: &State, csrf: &str, back: String, f: F) -> Result<HttpResponse, WebError>
where
    F: FnOnce(&crate::app::App, &crate::app::Principal, DateTime<Utc>) -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    v.check_csrf(csrf)?;
    let (a, who) = (app.get_ref().clone(), v.who());
    run(move || f(&a, &who, crate::app::now())).await?;
    Ok(redirect(&back))
}

/// The references a form names: `ticket` once per box ticked, and
/// `tickets` as pasted (separated by spaces, commas or lines).
fn tickets_in(form: &[(String, String)]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (k, v) in form {
        match k.as_str() {
            "ticket" => out.push(v.clone()),
            "tickets" => out.extend(
                v.split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            ),
            _ => {}
        }
    }
    out
}

/// A form's first value of `key`.
fn field(form: &[(String, String)], key: &str) -> Option<String> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
}

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

pub(super) async fn incident_page(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    q: web::Query<Done>,
) -> Result<HttpResponse, WebError> {
    require_staff(&v)?;
    let id = path.into_inner();
    let a = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (o, linked) = run(move || {
        let now = crate::app::now();
        Ok((a.get_outage(&who, id, now)?, a.linked_tickets(&who, id)?))
    })
    .await?;
    let kind: crate::domain::availability::OutageKind = o.kind.parse().map_err(WebError::internal)?;
    let current: OutageStatus = o
        .status
        .parse()
        .map_err(|e: crate::domain::outage_status::UnknownStatus| WebError::internal(e.to_string()))?;
    let statuses: Vec<Value> = Track::of(kind)
        .statuses()
        .iter()
        .map(|s| json!({"value": s.as_str(), "title": s.title(), "selected": *s == current}))
        .collect();
    let open = linked
        .iter()
        .filter(|t| {
            t.status
                .parse::<crate::domain::ticket::Status>()
                .is_ok_and(|s| !s.stops_clocks())
        })
        .count();
    let tickets: Vec<Value> = linked
        .iter()
        .map(|t| {
            json!({"reference": t.reference, "organisation": t.organisation, "subject": t.subject,
                   "status": t.status.replace('_', " "),
                   "breached": t.response_breached_at.is_some() || t.resolve_breached_at.is_some()})
        })
        .collect();
    let notice = match q.done.as_deref() {
        Some("update") => Some(
            "Update posted: on the status page, mailed to subscribers, and replied on the linked tickets still open.",
        ),
        Some("linked") => Some("Linked."),
        Some("unlinked") => Some("Unlinked: later updates leave that ticket alone."),
        Some("resolved") => Some("The linked tickets still open are resolved with your note."),
        Some("confirmed") => Some("Confirmed: customers see it, availability counts it, subscribers are told."),
        Some("ended") => Some("Resolved and ended when the alert recovered."),
        _ => None,
    };
    page(
        Some(&v.session),
        &format!("Outage {id}"),
        "incident",
        json!({
            "id": id, "kind": o.kind.replace('_', " "), "status": current.title(), "final": current.is_final(),
            "start": when(o.start, tz), "end": when_opt(o.end, tz), "description": o.description,
            "public_description": o.public_description,
            "services": o.services.iter().map(|s| s.name.clone()).collect::<Vec<_>>().join(", "),
            "updates": o.updates.iter().rev().map(|u| json!({
                "at": when(u.at, tz), "status": u.status.parse::<OutageStatus>().map(|s| s.title()).unwrap_or(""), "body": u.body,
            })).collect::<Vec<_>>(),
            "statuses": statuses, "tickets": tickets, "open": open, "notice": notice,
            "draft": o.draft, "proposed_end": o.end.is_none().then(|| o.proposed_end.map(|p| when(p, tz))).flatten(),
        }),
    )
}

#[derive(Deserialize)]
pub(super) struct UpdateForm {
    status: String,
    body: String,
    csrf: String,
}

pub(super) async fn post_update(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<UpdateForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let form = form.into_inner();
    let req = PostUpdateRequest {
        status: Some(form.status).filter(|s| !s.is_empty()),
        body: form.body,
        at: None,
    };
    let back = format!("/outages/{id}?done=update");
    act(&v, &app, &form.csrf, back, move |a, who, now| {
        a.post_outage_update(who, id, req, now)
    })
    .await
}

/// The link form: references separated by spaces, commas or lines (pasted
/// from anywhere), or `ticket` once per box ticked on the queue; `back`
/// says which page to return to.
pub(super) async fn link(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let tickets = tickets_in(&form);
    let back = match field(&form, "back") {
        Some(b) if b.starts_with("/tickets/") || b.starts_with("/queue") => b,
        _ => format!("/outages/{id}?done=linked"),
    };
    let csrf = field(&form, "csrf").unwrap_or_default();
    act(&v, &app, &csrf, back, move |a, who, now| {
        a.link_tickets(who, id, LinkTicketsRequest { tickets }, now)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct CsrfForm {
    csrf: String,
}

pub(super) async fn unlink(
    v: Viewer,
    app: State,
    path: web::Path<(i64, String)>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let (id, reference) = path.into_inner();
    let back = format!("/outages/{id}?done=unlinked");
    act(&v, &app, &form.csrf, back, move |a, who, now| {
        a.unlink_ticket(who, id, &reference, now)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct ResolveForm {
    note: String,
    csrf: String,
}

pub(super) async fn resolve_linked(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<ResolveForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let ResolveForm { note, csrf } = form.into_inner();
    let back = format!("/outages/{id}?done=resolved");
    act(&v, &app, &csrf, back, move |a, who, now| {
        a.resolve_linked(who, id, ResolveLinkedRequest { note }, now)
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct FromTicketForm {
    outage: i64,
    csrf: String,
}

/// From a ticket's page: links it to the outage chosen, then back to it.
pub(super) async fn link_from_ticket(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<FromTicketForm>,
) -> Result<HttpResponse, WebError> {
    let reference = path.into_inner();
    let (id, r) = (form.outage, reference.clone());
    act(
        &v,
        &app,
        &form.csrf,
        format!("/tickets/{reference}"),
        move |a, who, now| a.link_tickets(who, id, LinkTicketsRequest { tickets: vec![r] }, now),
    )
    .await
}

/// From the queue: the ticked tickets linked to the outage chosen.
pub(super) async fn link_from_queue(
    v: Viewer,
    app: State,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let csrf = field(&form, "csrf").unwrap_or_default();
    v.check_csrf(&csrf)?;
    let id: i64 = field(&form, "outage")
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| WebError::from(crate::app::invalid("outage", "choose an outage")))?;
    let tickets = tickets_in(&form);
    // (The token is checked first, before the form is read for an outage.)
    act(
        &v,
        &app,
        &csrf,
        format!("/outages/{id}?done=linked"),
        move |a, who, now| a.link_tickets(who, id, LinkTicketsRequest { tickets }, now),
    )
    .await
}

pub(super) async fn confirm(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    let back = format!("/outages/{id}?done=confirmed");
    act(&v, &app, &form.csrf, back, move |a, who, now| {
        a.confirm_outage(who, id, now)
    })
    .await
}

/// Ends an outage where its alert recovered: a "resolved" update dated
/// then, which ends it and tells customers, subscribers and linked tickets.
pub(super) async fn end_as_proposed(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    let id = path.into_inner();
    act(
        &v,
        &app,
        &form.csrf,
        format!("/outages/{id}?done=ended"),
        move |a, who, now| {
            let o = a.get_outage(who, id, now)?;
            let req = PostUpdateRequest {
                status: Some("resolved".into()),
                body: "The service has recovered.".into(),
                at: o.proposed_end.map(|p| p.max(o.updates.last().map_or(p, |u| u.at))),
            };
            a.post_outage_update(who, id, req, now)
        },
    )
    .await
}

/// The queue's bulk action on the ticked tickets: each changed on its own;
/// the page reports how each fared.
pub(super) async fn bulk_from_queue(
    v: Viewer,
    app: State,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let csrf = field(&form, "csrf").unwrap_or_default();
    v.check_csrf(&csrf)?;
    let given = |k: &str| field(&form, k).filter(|v| !v.trim().is_empty());
    let req = crate::app::tickets::BulkRequest {
        tickets: tickets_in(&form),
        reply: given("reply"),
        assignee: given("assignee"),
        queue: given("queue"),
        severity: given("severity").and_then(|s| s.parse().ok()),
        status: given("status"),
        close: field(&form, "close").as_deref() == Some("yes"),
    };
    let a = app.get_ref().clone();
    let who = v.who();
    let report = match run_form(move || a.bulk_change(&who, &req, crate::app::now())).await? {
        Ok(r) => r,
        Err(refusal) => {
            return Err(WebError::Page {
                status: actix_web::http::StatusCode::UNPROCESSABLE_ENTITY,
                title: "Nothing was changed".into(),
                detail: refusal.to_string(),
            });
        }
    };
    super::page(
        Some(&v.session),
        "Bulk action",
        "bulk",
        serde_json::json!({
            "changed": report.changed,
            "refused": report.refused,
            "tickets": report.tickets,
        }),
    )
}
