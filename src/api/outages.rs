//! Outages and upstream credits over HTTP.

use actix_web::{HttpResponse, web};

use super::problem::Problem;
use super::{Caller, State, run};
use crate::app::invalid;
use crate::app::outages::{
    LinkTicketsRequest, LinkedTicket, NewOutageRequest, NewUpstreamCreditRequest, OutagePatch, OutageView,
    PostUpdateRequest, ResolveLinkedRequest, UpstreamCreditView,
};
use crate::domain::availability::{Month, MonthSyntax};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct OutageQuery {
    /// Those overlapping this month, YYYY-MM (Europe/London).
    month: Option<String>,
    /// Those concerning this organisation (staff; customers always see their own).
    organisation: Option<String>,
}

pub(super) fn month(m: &Option<String>) -> Result<Option<Month>, Problem> {
    m.as_deref()
        .map(|m| {
            m.parse()
                .map_err(|e: MonthSyntax| Problem::from(invalid("month", e.to_string())))
        })
        .transpose()
}

/// Outages, newest first.
#[utoipa::path(get, path = "/api/v1/outages", tag = "availability", params(OutageQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<OutageView>), (status = 401, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn list_outages(
    app: State,
    Caller(who): Caller,
    q: web::Query<OutageQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = month(&q.month)?;
    let org = q.organisation.clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_outages(&who, m, org.as_deref(), crate::app::now())).await?))
}

/// Records an outage (managers and admins).
#[utoipa::path(post, path = "/api/v1/outages", tag = "availability", request_body = NewOutageRequest, security(("bearer" = [])),
    responses((status = 201, body = OutageView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_outage(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewOutageRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.create_outage(&who, b.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/api/v1/outages/{}", v.id)))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/outages/{id}", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), security(("bearer" = [])),
    responses((status = 200, body = OutageView), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get_outage(app: State, Caller(who): Caller, path: web::Path<i64>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.get_outage(&who, id, crate::app::now())).await?))
}

/// Posts a public update (staff): what customers are told, and the status
/// it leaves the outage in; a final status ends an outage without an end.
#[utoipa::path(post, path = "/api/v1/outages/{id}/updates", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), request_body = PostUpdateRequest, security(("bearer" = [])),
    responses((status = 201, body = OutageView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn post_update(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<PostUpdateRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Created()
        .json(run(move || app.post_outage_update(&who, id, b.into_inner(), crate::app::now())).await?))
}

/// Ends an ongoing outage or corrects one (managers and admins).
#[utoipa::path(patch, path = "/api/v1/outages/{id}", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), request_body = OutagePatch, security(("bearer" = [])),
    responses((status = 200, body = OutageView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn patch_outage(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<OutagePatch>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.patch_outage(&who, id, b.into_inner(), crate::app::now())).await?))
}

/// Deletes an outage recorded in error (managers and admins); audited, and
/// kept reports of the months it covered are marked for revision.
#[utoipa::path(delete, path = "/api/v1/outages/{id}", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn delete_outage(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.delete_outage(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct MonthQuery {
    /// YYYY-MM.
    month: Option<String>,
}

/// Credits received from the platform provider (managers and admins).
#[utoipa::path(get, path = "/api/v1/upstream-credits", tag = "availability", params(MonthQuery), security(("bearer" = [])),
    responses((status = 200, body = Vec<UpstreamCreditView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub(super) async fn list_upstream_credits(
    app: State,
    Caller(who): Caller,
    q: web::Query<MonthQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = month(&q.month)?;
    Ok(HttpResponse::Ok().json(run(move || app.list_upstream_credits(&who, m)).await?))
}

/// Records a credit received from the platform provider, to be passed on.
#[utoipa::path(post, path = "/api/v1/upstream-credits", tag = "availability", request_body = NewUpstreamCreditRequest, security(("bearer" = [])),
    responses((status = 201, body = UpstreamCreditView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_upstream_credit(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewUpstreamCreditRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created()
        .json(run(move || app.create_upstream_credit(&who, b.into_inner(), crate::app::now())).await?))
}

/// The tickets linked to an outage, from any organisation (staff).
#[utoipa::path(get, path = "/api/v1/outages/{id}/tickets", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), security(("bearer" = [])),
    responses((status = 200, body = Vec<LinkedTicket>), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn linked_tickets(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.linked_tickets(&who, id)).await?))
}

/// Links tickets to an outage (staff): each public update on the outage is
/// then also a public reply on every linked ticket still open.
#[utoipa::path(post, path = "/api/v1/outages/{id}/tickets", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), request_body = LinkTicketsRequest, security(("bearer" = [])),
    responses((status = 200, body = Vec<LinkedTicket>), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn link_tickets(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<LinkTicketsRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.link_tickets(&who, id, b.into_inner(), crate::app::now())).await?))
}

/// Unlinks a ticket from an outage (staff).
#[utoipa::path(delete, path = "/api/v1/outages/{id}/tickets/{reference}", tag = "availability", params(("id" = i64, Path, description = "The outage's id"), ("reference" = String, Path, description = "The ticket")), security(("bearer" = [])),
    responses((status = 204), (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn unlink_ticket(
    app: State,
    Caller(who): Caller,
    path: web::Path<(i64, String)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (id, reference) = path.into_inner();
    run(move || app.unlink_ticket(&who, id, &reference, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Resolves every linked ticket still open with one public note (staff).
#[utoipa::path(post, path = "/api/v1/outages/{id}/tickets/resolve", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), request_body = ResolveLinkedRequest, security(("bearer" = [])),
    responses((status = 200, description = "How many tickets were resolved", body = Object), (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn resolve_linked(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<ResolveLinkedRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let n = run(move || app.resolve_linked(&who, id, b.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(serde_json::json!({"resolved": n})))
}

/// Confirms a draft outage opened from a monitoring alert (staff): from now
/// customers see it, availability counts it, subscribers are told.
#[utoipa::path(post, path = "/api/v1/outages/{id}/confirm", tag = "availability", params(("id" = i64, Path, description = "The outage's id")), security(("bearer" = [])),
    responses((status = 200, body = OutageView), (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "Not a draft", body = Problem)))]
pub(super) async fn confirm_outage(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.confirm_outage(&who, id, crate::app::now())).await?))
}
