//! Mail over HTTP: intake from the MTA (token checked before the body is
//! read) and the quarantine staff decide on.

use super::*;

/// Mail intake over HTTP: the raw message as `message/rfc822`, with a token
/// of scope `intake`.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "mail", request_body(content = String, content_type = "message/rfc822"),
    security(("bearer" = [])),
    responses((status = 200, description = "Committed: what became of the message", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "The message can never be accepted", body = Problem), (status = 503, body = Problem)))]
pub(super) async fn inbound_email(
    app: State,
    gate: web::Data<body::BodyGate>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    // Who is sending, and whether it may, before a byte of the body is
    // read: a stranger's 25 MB must cost nothing but the refusal.
    let token = bearer_token(&req)?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !ct.trim().to_ascii_lowercase().starts_with("message/rfc822") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the raw message as message/rfc822",
        ));
    }
    let checked = app.get_ref().clone();
    let t = token.clone();
    run(move || checked.authenticate_intake(&t, crate::app::now())).await?;
    let limits = app.limits();
    let limit = crate::app::intake::MAX_MESSAGE_BYTES;
    body::check_declared_length(&req, limit)?;
    let _permit = body::BodyGate::enter(&gate, limits.large_bodies_in_flight)?;
    let within = std::time::Duration::from_secs(limits.body_seconds);
    let raw = body::read_all(payload, limit, within).await?;
    let app = app.get_ref().clone();
    let outcome = web::block(move || -> Result<_, Problem> {
        let now = crate::app::now();
        match app.ingest(&raw, "http", now) {
            Ok(o) => Ok(o),
            Err(crate::app::intake::IngestFailure::Unacceptable(e)) => Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unacceptable-message",
                "The message can never be accepted",
                e.to_string(),
            )),
            Err(crate::app::intake::IngestFailure::Failed(e)) => Err(e.into()),
        }
    })
    .await??;
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
pub(super) struct QuarantineQuery {
    /// At most this many, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// Quarantined mail, oldest first: staff decide to accept or reject it.
#[utoipa::path(get, path = "/api/v1/inbound/quarantine", tag = "mail", params(QuarantineQuery), security(("bearer" = [])),
    responses((status = 200, description = "Messages awaiting a decision", body = Vec<crate::app::intake::QuarantinedMessage>),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, description = "Not for customers", body = Problem)))]
pub(super) async fn list_quarantine(
    app: State,
    Caller(who): Caller,
    q: web::Query<QuarantineQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let limit = q.limit.unwrap_or(100);
    Ok(HttpResponse::Ok().json(run(move || app.quarantine(&who, limit)).await?))
}

/// The original of a message intake recorded, as it arrived.
#[utoipa::path(get, path = "/api/v1/inbound/messages/{id}", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    security(("bearer" = [])), responses((status = 200, description = "The raw message", content_type = "message/rfc822", body = String),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn inbound_raw(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let raw = run(move || app.inbound_raw(&who, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"inbound-{id}.eml\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(raw))
}

/// Accepts a quarantined message: a new ticket for its sender, who becomes a
/// contact of `organisation` if they are not one yet.
#[utoipa::path(post, path = "/api/v1/inbound/messages/{id}/accept", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    request_body = crate::app::intake::AcceptRequest, security(("bearer" = [])),
    responses((status = 200, description = "The ticket made", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "Decided already, or cannot be made a ticket", body = Problem),
        (status = 422, body = Problem)))]
pub(super) async fn accept_inbound(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<crate::app::intake::AcceptRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let req = b.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.accept_quarantined(&who, id, &req, crate::app::now())).await?))
}

/// Rejects a quarantined message, with a reply to the sender if asked.
#[utoipa::path(post, path = "/api/v1/inbound/messages/{id}/reject", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    request_body = crate::app::intake::RejectRequest, security(("bearer" = [])),
    responses((status = 200, description = "Rejected", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "Decided already", body = Problem),
        (status = 422, body = Problem)))]
pub(super) async fn reject_inbound(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<crate::app::intake::RejectRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let req = b.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.reject_quarantined(&who, id, &req, crate::app::now())).await?))
}
