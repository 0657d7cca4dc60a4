//! `GET /api/v1/search`: the search box's query language over the tickets
//! the caller may see.

use actix_web::{HttpResponse, http::header, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::{SearchRequest, SearchResults};

#[utoipa::path(get, path = "/api/v1/search", tag = "tickets", params(SearchRequest), security(("bearer" = [])),
    responses((status = 200, description = "Tickets found, best first, each with a highlighted passage; or, for a reference alone the caller may see, `jump`", body = SearchResults), (status = 400, description = "A filter for staff only", body = Problem, content_type = "application/problem+json"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A malformed query: what and where", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn search(
    app: State,
    Caller(who): Caller,
    q: web::Query<SearchRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let found = run(move || app.search_tickets(&who, &q, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(found))
}
