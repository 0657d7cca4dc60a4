//! Disputes of a closed month's report over HTTP: a customer raises one
//! (with files as base64, bounded like any attachment), managers list and
//! decide them, and either side reads one and its files.

use actix_web::{HttpResponse, http::StatusCode, web};
use base64::Engine;

use super::problem::Problem;
use super::{Caller, State, run};
use crate::app::invalid;
use crate::app::reports::disputes::{DisputeUpload as Upload, DisputeView, MAX_FILES, NewDispute};
use crate::domain::dispute::{Decide, Subject};

/// A file sent with a dispute.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct FileBody {
    filename: String,
    content_type: Option<String>,
    /// The bytes, base64 (standard alphabet, padded).
    data_base64: String,
}

/// A dispute as a customer sends it.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct DisputeBody {
    /// `YYYY-MM`: a closed month.
    month: String,
    /// `{"kind":"breach","reference":"SD-000123","clock":"resolve"}` or
    /// `{"kind":"credit_line","description":"…"}` (as the report writes it).
    #[schema(value_type = Object)]
    subject: Subject,
    reason: String,
    #[serde(default)]
    files: Vec<FileBody>,
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct DisputeQuery {
    /// `open` for the ones awaiting a decision; all by default.
    status: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/disputes", tag = "availability", request_body = DisputeBody, security(("bearer" = [])),
    responses((status = 201, description = "Raised", body = DisputeView), (status = 401, body = Problem), (status = 403, description = "Not a customer, or not the account contact where only they may", body = Problem), (status = 409, description = "The month is not closed", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn raise(
    app: State,
    Caller(who): Caller,
    body: web::Json<DisputeBody>,
) -> Result<HttpResponse, Problem> {
    let body = body.into_inner();
    if body.files.len() > MAX_FILES {
        return Err(invalid("files", format!("at most {MAX_FILES}")).into());
    }
    let files = body
        .files
        .into_iter()
        .enumerate()
        .map(|(i, f)| {
            let data = base64::engine::general_purpose::STANDARD
                .decode(f.data_base64.as_bytes())
                .map_err(|e| invalid(&format!("files[{i}].data_base64"), e.to_string()))?;
            Ok(Upload {
                filename: f.filename,
                content_type: f.content_type.unwrap_or_else(|| "application/octet-stream".into()),
                data,
            })
        })
        .collect::<Result<Vec<_>, crate::app::AppError>>()?;
    let app = app.get_ref().clone();
    let req = NewDispute {
        month: body.month,
        subject: body.subject,
        reason: body.reason,
    };
    let v = run(move || app.raise_dispute(&who, req, &files, crate::app::now())).await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header(("Location", format!("/api/v1/disputes/{}", v.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/disputes", tag = "availability", params(DisputeQuery), security(("bearer" = [])),
    responses((status = 200, description = "Newest first: every organisation's for managers, a customer's own organisation's", body = [DisputeView]), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn list(
    app: State,
    Caller(who): Caller,
    q: web::Query<DisputeQuery>,
) -> Result<HttpResponse, Problem> {
    let open_only = match q.status.as_deref() {
        None | Some("all") => false,
        Some("open") => true,
        Some(other) => return Err(invalid("status", format!("'{other}': expected open or all")).into()),
    };
    let app = app.get_ref().clone();
    let v = run(move || app.list_disputes(&who, open_only)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(v))
}

#[utoipa::path(get, path = "/api/v1/disputes/{id}", tag = "availability", params(("id" = i64, Path, description = "The dispute's number")), security(("bearer" = [])),
    responses((status = 200, body = DisputeView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get(app: State, Caller(who): Caller, id: web::Path<i64>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.get_dispute(&who, *id)).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(v))
}

#[utoipa::path(get, path = "/api/v1/disputes/{id}/files/{file}", tag = "availability", params(("id" = i64, Path), ("file" = i64, Path)), security(("bearer" = [])),
    responses((status = 200, description = "The file, served inert unless a known safe type"), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn file(
    app: State,
    Caller(who): Caller,
    path: web::Path<(i64, i64)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (id, file) = path.into_inner();
    let (name, ctype, data) = run(move || app.dispute_file(&who, id, file)).await?;
    Ok(super::tickets::attachment_response(name, ctype, data))
}

#[utoipa::path(post, path = "/api/v1/disputes/{id}/decision", tag = "availability", params(("id" = i64, Path)), request_body = Object, security(("bearer" = [])),
    responses((status = 200, description = "Decided: upheld (`{\"outcome\":\"uphold\",\"adjustment_pence\":2500,\"reply\":\"…\"}`, a new report version kept) or rejected (`{\"outcome\":\"reject\",\"reply\":\"…\"}`); the customer is mailed", body = DisputeView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "Already decided", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn decide(
    app: State,
    Caller(who): Caller,
    id: web::Path<i64>,
    body: web::Json<Decide>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.decide_dispute(&who, *id, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(v))
}
