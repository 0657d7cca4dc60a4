//! Links between tickets: `/api/v1/tickets/{reference}/links` (read, make)
//! and `/links/{kind}/{other}` (remove). Anyone who may see the ticket
//! reads its links (a customer, those to tickets they may see); staff make
//! and remove them, and merge a duplicate into its target (`/merge`).

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::{LinkKind, LinkView, MergeRequest, NewLink, TicketView};

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/links", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The ticket's links, newest first, each as seen from this ticket", body = Vec<LinkView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_links(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let links = run(move || app.ticket_links(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(links))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/links", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = NewLink, security(("bearer" = [])),
    responses((status = 201, description = "Linked: the ticket's links now", body = Vec<LinkView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Either ticket is not there", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Linked so already, or a second parent or original", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn add_link(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<NewLink>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let links = run(move || app.link_ticket_to(&who, &path, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created().json(links))
}

#[utoipa::path(delete, path = "/api/v1/tickets/{reference}/links/{kind}/{other}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference"), ("kind" = LinkKind, Path, description = "The link as seen from this ticket"), ("other" = String, Path, description = "The other ticket's reference")), security(("bearer" = [])),
    responses((status = 200, description = "Removed: the ticket's links now", body = Vec<LinkView>), (status = 400, description = "Not a kind of link", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket or link", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn remove_link(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, String, String)>,
) -> Result<HttpResponse, Problem> {
    let (reference, kind, other) = path.into_inner();
    let kind: LinkKind = kind.parse().map_err(|e: String| crate::app::invalid("kind", e))?;
    let app = app.get_ref().clone();
    let links = run(move || app.unlink_ticket_from(&who, &reference, kind, &other, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(links))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/merge", tag = "tickets", params(("reference" = String, Path, description = "The duplicate's reference")), request_body = MergeRequest, security(("bearer" = [])),
    responses((status = 200, description = "Merged: the target as it is now (its clocks from the earlier receipt); the duplicate is cancelled, linked duplicate_of it", body = TicketView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, description = "Either ticket is not there", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Different organisations, not incidents, or the duplicate resolved or closed", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn merge(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<MergeRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.merge_ticket(&who, &path, &body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}
