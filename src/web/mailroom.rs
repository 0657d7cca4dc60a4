//! The staff's mail pages: quarantined incoming mail (accept into a
//! ticket, or reject, optionally telling the sender), and notifications not
//! yet delivered (managers: the last error, and a retry now).

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, Viewer, WebError, page_with_status, redirect, run, run_form, when};
use crate::app::intake::IngestOutcome;
use crate::app::intake::{AcceptRequest, RejectRequest};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/quarantine", web::get().to(quarantine))
        .route("/quarantine/{id}/original", web::get().to(original))
        .route("/quarantine/{id}/accept", web::post().to(accept))
        .route("/quarantine/{id}/reject", web::post().to(reject))
        .route("/outbox", web::get().to(outbox))
        .route("/outbox/{id}/retry", web::post().to(retry));
}

fn staff(v: &Viewer) -> Result<(), WebError> {
    if v.session.principal.role.is_staff() {
        Ok(())
    } else {
        Err(WebError::from(crate::app::AppError::Forbidden(
            "quarantined mail is for staff".into(),
        )))
    }
}

async fn quarantine_page(v: &Viewer, app: State, error: Option<String>) -> Result<HttpResponse, WebError> {
    staff(v)?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (held, orgs, queues) = run(move || {
        Ok((
            app.quarantine(&who, 200)?,
            app.list_organisations(&who)?,
            app.list_queues(&who)?,
        ))
    })
    .await?;
    let rows: Vec<Value> = held
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "received": when(m.received_at, tz),
                "from": m.from,
                "subject": m.subject,
                "reason": m.reason,
                "size": m.size,
                "via": m.via,
            })
        })
        .collect();
    let orgs: Vec<Value> = orgs.iter().map(|o| json!({"slug": o.slug, "name": o.name})).collect();
    let queues: Vec<Value> = queues.iter().map(|q| json!({"slug": q.slug, "name": q.name})).collect();
    page_with_status(
        if error.is_some() {
            StatusCode::UNPROCESSABLE_ENTITY
        } else {
            StatusCode::OK
        },
        Some(&v.session),
        "Quarantine",
        "quarantine",
        json!({"held": rows, "orgs": orgs, "queues": queues, "error": error}),
    )
}

async fn quarantine(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    quarantine_page(&v, app, None).await
}

/// The message as it arrived, to read before deciding.
async fn original(v: Viewer, app: State, path: web::Path<i64>) -> Result<HttpResponse, WebError> {
    staff(&v)?;
    let (app, who, id) = (app.get_ref().clone(), v.who(), path.into_inner());
    let raw = run(move || app.inbound_raw(&who, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header((
            actix_web::http::header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"quarantined-{id}.eml\""),
        ))
        .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
        .body(raw))
}

#[derive(Deserialize)]
struct AcceptForm {
    csrf: String,
    organisation: Option<String>,
    queue: Option<String>,
    severity: Option<String>,
}

async fn accept(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<AcceptForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    staff(&v)?;
    let blank = |s: &Option<String>| s.clone().filter(|s| !s.trim().is_empty());
    let severity = match blank(&form.severity) {
        Some(s) => Some(crate::app::tickets::parse_severity(s.parse().unwrap_or(0))?),
        None => None,
    };
    let req = AcceptRequest {
        organisation: blank(&form.organisation),
        queue: blank(&form.queue),
        severity,
    };
    let (a, who, id) = (app.get_ref().clone(), v.who(), path.into_inner());
    match run_form(move || a.accept_quarantined(&who, id, &req, crate::app::now())).await? {
        Ok(IngestOutcome::Created { reference } | IngestOutcome::Replied { reference }) => {
            Ok(redirect(&format!("/tickets/{reference}?done=accepted")))
        }
        Ok(_) => Ok(redirect("/quarantine")),
        Err(e) => quarantine_page(&v, app, Some(e.to_string())).await,
    }
}

#[derive(Deserialize)]
struct RejectForm {
    csrf: String,
    reply: Option<String>,
}

async fn reject(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<RejectForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    staff(&v)?;
    let req = RejectRequest {
        reply: form.reply.as_deref() == Some("yes"),
    };
    let (a, who, id) = (app.get_ref().clone(), v.who(), path.into_inner());
    match run_form(move || a.reject_quarantined(&who, id, &req, crate::app::now())).await? {
        Ok(_) => Ok(redirect("/quarantine")),
        Err(e) => quarantine_page(&v, app, Some(e.to_string())).await,
    }
}

async fn outbox(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    v.session.principal.require_manager()?;
    let (app, who, tz) = (app.get_ref().clone(), v.who(), v.tz());
    let pending = run(move || app.pending_mail(&who, 500)).await?;
    let rows: Vec<Value> = pending
        .iter()
        .map(|m| {
            json!({
                "id": m.id,
                "kind": m.kind.replace('_', " "),
                "to": m.to,
                "ticket": m.ticket,
                "created": when(m.created_at, tz),
                "attempts": m.attempts,
                "next": when(m.next_attempt_at, tz),
                "error": m.last_error,
                "in_doubt": m.in_doubt,
            })
        })
        .collect();
    let failed = pending.iter().filter(|m| m.last_error.is_some()).count();
    page_with_status(
        StatusCode::OK,
        Some(&v.session),
        "Outbox",
        "outbox",
        json!({"pending": rows, "failed": failed}),
    )
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn retry(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let (app, who, id) = (app.get_ref().clone(), v.who(), path.into_inner());
    run(move || app.retry_mail(&who, id, crate::app::now())).await?;
    Ok(redirect("/outbox"))
}
