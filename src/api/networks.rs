//! IP allow-lists: `/api/v1/organisations/{slug}/networks` (where the
//! organisation's contacts may use the pages and the API from) and
//! `/api/v1/staff-networks` (the staff's). Managers read them, admins set
//! them; an empty list allows any address.

use actix_web::{HttpResponse, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::admin::{NetworkScope, Networks};

#[utoipa::path(get, path = "/api/v1/organisations/{slug}/networks", tag = "administration", params(("slug" = String, Path, description = "The organisation")), security(("bearer" = [])),
    responses((status = 200, description = "The networks its contacts may use sladesk from (none: any)", body = Networks), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not a manager or admin, or not from an allowed network", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn organisation_networks(
    app: State,
    Caller(who): Caller,
    slug: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let scope = NetworkScope::Organisation(slug.into_inner());
    Ok(HttpResponse::Ok().json(run(move || app.networks(&who, &scope)).await?))
}

#[utoipa::path(put, path = "/api/v1/organisations/{slug}/networks", tag = "administration", params(("slug" = String, Path, description = "The organisation")), request_body = Networks, security(("bearer" = [])),
    responses((status = 200, description = "Set (audited)", body = Networks), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not a network", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn set_organisation_networks(
    app: State,
    Caller(who): Caller,
    slug: web::Path<String>,
    body: web::Json<Networks>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let scope = NetworkScope::Organisation(slug.into_inner());
    Ok(HttpResponse::Ok().json(run(move || app.set_networks(&who, &scope, &body, crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/staff-networks", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "The networks staff may use sladesk from (none: any)", body = Networks), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not a manager or admin", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn staff_networks(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.networks(&who, &NetworkScope::Staff)).await?))
}

#[utoipa::path(put, path = "/api/v1/staff-networks", tag = "administration", request_body = Networks, security(("bearer" = [])),
    responses((status = 200, description = "Set (audited)", body = Networks), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"), (status = 422, description = "Not a network, or a list that leaves out the caller's own address", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn set_staff_networks(
    app: State,
    Caller(who): Caller,
    body: web::Json<Networks>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok()
        .json(run(move || app.set_networks(&who, &NetworkScope::Staff, &body, crate::app::now())).await?))
}
