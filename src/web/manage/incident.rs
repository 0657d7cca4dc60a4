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
    v.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    let form = form.into_inner();
    let req = PostUpdateRequest {
        status: Some(form.status).filter(|s| !s.is_empty()),
        body: form.body,
        at: None,
    };
    run(move || a.post_outage_update(&who, id, req, crate::app::now())).await?;
    Ok(redirect(&format!("/outages/{id}?done=update")))
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
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    v.check_csrf(&field("csrf").unwrap_or_default())?;
    let id = path.into_inner();
    let mut tickets: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "ticket")
        .map(|(_, r)| r.clone())
        .collect();
    if let Some(text) = field("tickets") {
        tickets.extend(
            text.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
    }
    let back = match field("back").as_deref() {
        Some(b) if b.starts_with("/tickets/") || b.starts_with("/queue") => b.to_string(),
        _ => format!("/outages/{id}?done=linked"),
    };
    let a = app.get_ref().clone();
    let who = v.who();
    run(move || a.link_tickets(&who, id, LinkTicketsRequest { tickets }, crate::app::now())).await?;
    Ok(redirect(&back))
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
    v.check_csrf(&form.csrf)?;
    let (id, reference) = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    run(move || a.unlink_ticket(&who, id, &reference, crate::app::now())).await?;
    Ok(redirect(&format!("/outages/{id}?done=unlinked")))
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
    v.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    let note = form.into_inner().note;
    run(move || a.resolve_linked(&who, id, ResolveLinkedRequest { note }, crate::app::now())).await?;
    Ok(redirect(&format!("/outages/{id}?done=resolved")))
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
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    let (id, r) = (form.outage, reference.clone());
    run(move || a.link_tickets(&who, id, LinkTicketsRequest { tickets: vec![r] }, crate::app::now())).await?;
    Ok(redirect(&format!("/tickets/{reference}")))
}

/// From the queue: the ticked tickets linked to the outage chosen.
pub(super) async fn link_from_queue(
    v: Viewer,
    app: State,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let field = |k: &str| form.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    v.check_csrf(&field("csrf").unwrap_or_default())?;
    let id: i64 = field("outage")
        .and_then(|o| o.parse().ok())
        .ok_or_else(|| WebError::from(crate::app::invalid("outage", "choose an outage")))?;
    let tickets: Vec<String> = form
        .iter()
        .filter(|(k, _)| k == "ticket")
        .map(|(_, r)| r.clone())
        .collect();
    let a = app.get_ref().clone();
    let who = v.who();
    run(move || a.link_tickets(&who, id, LinkTicketsRequest { tickets }, crate::app::now())).await?;
    Ok(redirect(&format!("/outages/{id}?done=linked")))
}

pub(super) async fn confirm(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    run(move || a.confirm_outage(&who, id, crate::app::now())).await?;
    Ok(redirect(&format!("/outages/{id}?done=confirmed")))
}

/// Ends an outage where its alert recovered: a "resolved" update dated
/// then, which ends it and tells customers, subscribers and linked tickets.
pub(super) async fn end_as_proposed(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let id = path.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    run(move || {
        let now = crate::app::now();
        let o = a.get_outage(&who, id, now)?;
        let req = PostUpdateRequest {
            status: Some("resolved".into()),
            body: "The service has recovered.".into(),
            at: o.proposed_end.map(|p| p.max(o.updates.last().map_or(p, |u| u.at))),
        };
        a.post_outage_update(&who, id, req, now)
    })
    .await?;
    Ok(redirect(&format!("/outages/{id}?done=ended")))
}
