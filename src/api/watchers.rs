//! A ticket's watchers: `/api/v1/tickets/{reference}/watchers` (read, add)
//! and `/watchers/{email}` (remove). Anyone who may see the ticket reads
//! them; staff and the requester add; staff, the requester and the watcher
//! remove.

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::{AddWatcher, WatcherView};

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/watchers", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "Who watches the ticket, first added first", body = Vec<WatcherView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_watchers(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let w = run(move || app.ticket_watchers(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(w))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/watchers", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = AddWatcher, security(("bearer" = [])),
    responses((status = 200, description = "Added (or watching already): the watchers now", body = Vec<WatcherView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer other than the requester", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not a contact of the ticket's organisation, or the list is full", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn add_watcher(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<AddWatcher>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let w = run(move || app.add_watcher(&who, &path, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(w))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{reference}/watchers/{email}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123"), ("email" = String, Path, description = "The watcher's address")), security(("bearer" = [])),
    responses((status = 200, description = "Removed: the watchers now", body = Vec<WatcherView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff, the requester or the watcher", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket or watcher", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn remove_watcher(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (reference, email) = path.into_inner();
    let w = run(move || app.remove_watcher(&who, &reference, &email, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(w))
}
