//! Time spent on tickets: `/api/v1/tickets/{reference}/time` (read and
//! log) and `/api/v1/time/{id}` (correct, remove). Staff only.

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::{EditTime, LogTime, TicketTime, TimeEntryView};

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/time", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The ticket's time spent: total and entries", body = TicketTime), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn ticket_time(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let t = run(move || app.ticket_time(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(t))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/time", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = LogTime, security(("bearer" = [])),
    responses((status = 201, description = "Logged", body = TimeEntryView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn log_time(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<LogTime>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let e = run(move || app.log_time(&who, &path, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created().json(e))
}

#[utoipa::path(patch, path = "/api/v1/time/{id}", tag = "tickets", params(("id" = i64, Path, description = "The entry's id")), request_body = EditTime, security(("bearer" = [])),
    responses((status = 200, description = "Corrected (audited with the values before)", body = TimeEntryView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Neither its author nor a manager", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn edit_time(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    body: web::Json<EditTime>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let e = run(move || app.edit_time(&who, id, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(e))
}

#[utoipa::path(delete, path = "/api/v1/time/{id}", tag = "tickets", params(("id" = i64, Path, description = "The entry's id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed (audited with its values)"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Neither its author nor a manager", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn delete_time(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.delete_time(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}
