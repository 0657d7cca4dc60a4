//! `/api/v1/tickets/{reference}/presence`: who else of the staff is on a
//! ticket, and a heartbeat saying the caller is (and whether writing).

use actix_web::{HttpResponse, http::header, web};
use serde::Deserialize;

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::Present;

/// A heartbeat.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    /// Writing a reply or note now.
    #[serde(default)]
    replying: bool,
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/presence", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "Who else of the staff sent a heartbeat in the last 30 seconds", body = Vec<Present>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn present(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let others = run(move || app.present_on(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(others))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/presence", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = Heartbeat, security(("bearer" = [])),
    responses((status = 200, description = "Recorded; who else is on the ticket", body = Vec<Present>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn heartbeat(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<Heartbeat>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let replying = body.replying;
    let others = run(move || app.touch_presence(&who, &path, replying, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(others))
}
