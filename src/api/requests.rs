//! The service catalogue and its requests: `/api/v1/catalogue` (what may be
//! requested, with the caller's tier's target), `/api/v1/requests` (raise
//! one from a filled-in form), and `/api/v1/tickets/{reference}/request`
//! (the record: answers, approvers, fulfilment clock) with its `actions`
//! (approve, refuse, fulfil, ...). Replies and notes on a request are the
//! ticket's, through `/tickets/{reference}`.

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::itil::{CatalogueItemView, NewServiceRequest, RequestCommand, RequestView};

#[utoipa::path(get, path = "/api/v1/catalogue", tag = "requests", security(("bearer" = [])),
    responses((status = 200, description = "The items that may be requested, by name, newest versions", body = Vec<CatalogueItemView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_catalogue(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let items = run(move || app.catalogue_items(&who)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(items))
}

#[utoipa::path(get, path = "/api/v1/catalogue/{slug}", tag = "requests", params(("slug" = String, Path, description = "The item's slug")), security(("bearer" = [])),
    responses((status = 200, description = "The item, its form and target", body = CatalogueItemView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such item", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn get_catalogue_item(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let item = run(move || app.catalogue_item(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(item))
}

#[utoipa::path(post, path = "/api/v1/requests", tag = "requests", request_body = NewServiceRequest, security(("bearer" = [])),
    responses((status = 201, description = "Raised: the request, awaiting approval or in the queue", body = RequestView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer naming an organisation or requester", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Nobody at the organisation can approve it", body = Problem, content_type = "application/problem+json"), (status = 422, description = "An unknown item, or a field of the form that is wrong (named in `field`)", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create_request(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewServiceRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.request_item(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tickets/{}/request", v.reference)))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/request", tag = "requests", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The service request", body = RequestView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The ticket is not a service request", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn get_request(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.service_request(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/request/actions", tag = "requests", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = RequestCommand, security(("bearer" = [])),
    responses((status = 200, description = "Done: the request now", body = RequestView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not the caller's to do (approving without being named, fulfilling as a customer)", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Not now (its status), or not a service request", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn request_action(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<RequestCommand>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.act_on_request(&who, &path, &body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}
