//! Canned replies: `/api/v1/macros` (list, keep, change, remove) and, on a
//! ticket, `/api/v1/tickets/{reference}/macros/{id}` (preview, apply).

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::macros::{MacroPreview, MacroRequest, MacroView};
use crate::app::tickets::TicketView;

#[utoipa::path(get, path = "/api/v1/macros", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, description = "The desk's, every queue's and the caller's own macros", body = Vec<MacroView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_macros(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let list = run(move || app.list_macros(&who)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(list))
}

#[utoipa::path(post, path = "/api/v1/macros", tag = "tickets", request_body = MacroRequest, security(("bearer" = [])),
    responses((status = 201, description = "Kept (audited)", body = MacroView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not one who may keep it there", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A text that does not render, or a move that cannot be", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create_macro(
    app: State,
    Caller(who): Caller,
    body: web::Json<MacroRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = run(move || app.create_macro(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created().json(m))
}

#[utoipa::path(patch, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = i64, Path, description = "The macro's id")), request_body = MacroRequest, security(("bearer" = [])),
    responses((status = 200, description = "Changed (audited with the text before)", body = MacroView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn update_macro(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    body: web::Json<MacroRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let m = run(move || app.update_macro(&who, id, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(m))
}

#[utoipa::path(delete, path = "/api/v1/macros/{id}", tag = "tickets", params(("id" = i64, Path, description = "The macro's id")), security(("bearer" = [])),
    responses((status = 204, description = "Removed (audited)"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn delete_macro(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.delete_macro(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/macros/{id}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123"), ("id" = i64, Path, description = "The macro's id")), security(("bearer" = [])),
    responses((status = 200, description = "The macro rendered for this ticket, to read before sending", body = MacroPreview), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn preview_macro(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (reference, id) = path.into_inner();
    let p = run(move || app.preview_macro(&who, id, &reference)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(p))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/macros/{id}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123"), ("id" = i64, Path, description = "The macro's id")), security(("bearer" = [])),
    responses((status = 200, description = "Applied: its reply and moves in one change", body = TicketView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 409, description = "The ticket's state does not allow a move", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn apply_macro(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (reference, id) = path.into_inner();
    let v = run(move || app.apply_macro(&who, id, &reference, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}
