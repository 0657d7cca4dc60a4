//! Services over HTTP: the components the desk runs, and which of them each
//! organisation's contract covers.

use super::*;
use crate::app::services::{NewServiceRequest, ServiceView, SubscriptionsRequest};

#[utoipa::path(get, path = "/api/v1/services", tag = "services", security(("bearer" = [])),
    responses((status = 200, description = "Every service for staff; a customer's own organisation's", body = Vec<ServiceView>),
        (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_services(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_services(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/services", tag = "services", request_body = NewServiceRequest, security(("bearer" = [])),
    responses((status = 201, body = ServiceView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_service(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewServiceRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_service(&who, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/services/{slug}/organisations", tag = "services", params(("slug" = String, Path, description = "The service's slug")),
    security(("bearer" = [])), responses((status = 200, description = "The slugs of its subscribers", body = Vec<String>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn service_subscribers(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let slug = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.service_subscribers(&who, &slug)).await?))
}

#[utoipa::path(get, path = "/api/v1/organisations/{slug}/services", tag = "services", params(("slug" = String, Path, description = "The organisation's slug")),
    security(("bearer" = [])), responses((status = 200, description = "The services its contract covers", body = Vec<ServiceView>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn organisation_services(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let slug = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.organisation_services(&who, &slug)).await?))
}

#[utoipa::path(put, path = "/api/v1/organisations/{slug}/services", tag = "services", params(("slug" = String, Path, description = "The organisation's slug")),
    request_body = SubscriptionsRequest, security(("bearer" = [])),
    responses((status = 200, description = "The services its contract now covers", body = Vec<ServiceView>),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn set_organisation_services(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    b: web::Json<SubscriptionsRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let slug = path.into_inner();
    Ok(HttpResponse::Ok()
        .json(run(move || app.set_organisation_services(&who, &slug, b.into_inner(), crate::app::now())).await?))
}
