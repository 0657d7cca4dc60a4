//! `POST /api/v1/tickets/bulk`: one set of changes to many tickets, each
//! ticket on its own, with a report of how each fared.

use actix_web::{HttpResponse, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::tickets::{BulkReport, BulkRequest};

#[utoipa::path(post, path = "/api/v1/tickets/bulk", tag = "tickets", request_body = BulkRequest, security(("bearer" = [])),
    responses((status = 200, description = "Each ticket changed on its own: those the core refused are listed with the reason, and the others went through", body = BulkReport), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "A customer", body = Problem, content_type = "application/problem+json"), (status = 422, description = "No change asked, or not 1 to 500 references", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn bulk(
    app: State,
    Caller(who): Caller,
    body: web::Json<BulkRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let report = run(move || app.bulk_change(&who, &body, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(report))
}
