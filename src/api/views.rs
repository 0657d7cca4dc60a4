//! `/api/v1/views`: saved views, each with its count, and the tickets one
//! holds.

use actix_web::{HttpResponse, http::header, web};
use serde::Deserialize;

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::SearchResults;
use crate::app::views::{NewView, ViewInfo};

#[utoipa::path(get, path = "/api/v1/views", tag = "tickets", security(("bearer" = [])),
    responses((status = 200, description = "The caller's own views and (staff) those shared with queues, each with how many tickets it holds now", body = Vec<ViewInfo>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_views(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let views = run(move || app.list_views(&who, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(views))
}

#[utoipa::path(post, path = "/api/v1/views", tag = "tickets", request_body = NewView, security(("bearer" = [])),
    responses((status = 201, description = "Kept", body = ViewInfo), (status = 400, description = "A filter for staff only", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not one who may share with that queue", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A name, query, order or queue that cannot be kept", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create_view(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewView>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let view = run(move || app.create_view(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/views/{}", view.id)))
        .json(view))
}

/// A page of a view's tickets.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ViewPage {
    /// 1 to 100; 20 by default.
    limit: Option<i64>,
    offset: Option<i64>,
}

#[utoipa::path(get, path = "/api/v1/views/{id}/tickets", tag = "tickets", params(("id" = i64, Path, description = "The view's id"), ViewPage), security(("bearer" = [])),
    responses((status = 200, description = "The view's tickets, as its search answers them", body = SearchResults), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn view_tickets(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    q: web::Query<ViewPage>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let found = run(move || app.view_tickets(&who, id, q.limit, q.offset, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(found))
}

#[utoipa::path(delete, path = "/api/v1/views/{id}", tag = "tickets", params(("id" = i64, Path, description = "The view's id")), security(("bearer" = [])),
    responses((status = 204, description = "Deleted"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not its maker, the queue's lead or a manager", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn delete_view(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.delete_view(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}
