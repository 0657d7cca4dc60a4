//! Webhook subscriptions: `/api/v1/webhooks` (list, subscribe), and
//! `/api/v1/webhooks/{id}` (end) and `/api/v1/webhooks/{id}/enable` (on
//! again after it was disabled). Admins only: a subscription sends the
//! desk's events out of it.

use actix_web::{HttpResponse, web};

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::webhooks::{NewWebhook, WebhookView};

#[utoipa::path(get, path = "/api/v1/webhooks", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "Every subscription and how its deliveries go", body = Vec<WebhookView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn list_webhooks(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_webhooks(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/webhooks", tag = "administration", request_body = NewWebhook, security(("bearer" = [])),
    responses((status = 201, description = "Subscribed (audited); the answer holds the signing secret, once", body = WebhookView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A bad address (a private one without allow_private), event, organisation, queue or severity", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn create_webhook(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewWebhook>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let req = body.into_inner();
    Ok(HttpResponse::Created().json(run(move || app.create_webhook(&who, req, crate::app::now())).await?))
}

#[utoipa::path(delete, path = "/api/v1/webhooks/{id}", tag = "administration", params(("id" = i64, Path, description = "The subscription")), security(("bearer" = [])),
    responses((status = 204, description = "Ended (audited); what it had waiting is set aside"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn delete_webhook(
    app: State,
    Caller(who): Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = id.into_inner();
    run(move || app.delete_webhook(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(post, path = "/api/v1/webhooks/{id}/enable", tag = "administration", params(("id" = i64, Path, description = "The subscription")), security(("bearer" = [])),
    responses((status = 200, description = "On again (audited)", body = WebhookView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not an admin", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn enable_webhook(
    app: State,
    Caller(who): Caller,
    id: web::Path<i64>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = id.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.enable_webhook(&who, id, crate::app::now())).await?))
}
