//! Problems and known errors (staff only): `/api/v1/problems` (open one,
//! from incidents or on its own), `/api/v1/tickets/{reference}/problem`
//! (the record) with its `actions` (root cause, workaround offered to the
//! incidents, known error, resolve with its incidents, ...), and
//! `/api/v1/known-errors` (the list, searched with the desk's search).

use actix_web::{HttpResponse, http::header, web};
use serde::Deserialize;

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::itil::{KnownErrorView, NewProblem, ProblemCommand, ProblemOutcome, ProblemView};

#[utoipa::path(post, path = "/api/v1/problems", tag = "problems", request_body = NewProblem, security(("bearer" = [])),
    responses((status = 201, description = "Opened; its incidents linked `caused_by` it", body = ProblemView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"), (status = 422, description = "An incident that is not one, or no organisation for a problem on its own", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn open_problem(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewProblem>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.open_problem(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tickets/{}/problem", v.reference)))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/problem", tag = "problems", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The problem", body = ProblemView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The ticket is not a problem", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn get_problem(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.problem(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/problem/actions", tag = "problems", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ProblemCommand, security(("bearer" = [])),
    responses((status = 200, description = "Done: the problem now, and which linked incidents were replied to or resolved", body = ProblemOutcome), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Not now, or not a problem", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn problem_action(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<ProblemCommand>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.act_on_problem(&who, &path, &body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct KnownErrorQuery {
    /// Words to search for (the desk's search language).
    q: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/known-errors", tag = "problems", params(KnownErrorQuery), security(("bearer" = [])),
    responses((status = 200, description = "The known errors, newest first", body = Vec<KnownErrorView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A malformed query", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn known_errors(
    app: State,
    Caller(who): Caller,
    q: web::Query<KnownErrorQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.known_errors(&who, q.q.as_deref(), crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}
