//! The notifications service over the API: anyone who may read the status
//! page subscribes an address (answered alike whether it was known, so the
//! answer tells nothing of who is subscribed); the token in the mail's links
//! reads, confirms, rechooses and ends a subscription.

use super::*;
use serde_json::json;

use crate::app::outages::{SubscribeRequest, SubscriptionView};
use crate::domain::names::email_key;

/// Subscribes an address to the status page's updates, by e-mail. A
/// signed-in user's own address is subscribed at once (200); any other is
/// sent a link to confirm (202), and nothing is mailed until it is followed.
#[utoipa::path(post, path = "/api/v1/status/subscriptions", tag = "status", request_body = SubscribeRequest,
    responses((status = 200, description = "Subscribed (your own address)", body = Object),
        (status = 202, description = "A link to confirm is on its way, if the address takes mail", body = Object),
        (status = 401, description = "A token was sent and is not good, or the status page is for people signed in", body = Problem),
        (status = 422, description = "Not an e-mail address, or an unknown service", body = Problem)))]
pub(super) async fn subscribe(
    app: State,
    req: HttpRequest,
    body: web::Json<SubscribeRequest>,
) -> Result<HttpResponse, Problem> {
    let who = super::status::viewer(&req).await?;
    let app = app.get_ref().clone();
    let body = body.into_inner();
    let own = who
        .as_ref()
        .is_some_and(|p| email_key(&p.email) == email_key(&body.email));
    run(move || app.subscribe_to_status(who.as_ref(), body, crate::app::now())).await?;
    Ok(if own {
        HttpResponse::Ok().json(json!({"detail": "Subscribed: the updates will be mailed to you."}))
    } else {
        HttpResponse::Accepted().json(json!({
            "detail": "If the address takes mail, a message with a link to confirm is on its way; nothing more is sent until it is followed."
        }))
    })
}

/// A subscription, by the token in its mails' links.
#[utoipa::path(get, path = "/api/v1/status/subscriptions/{token}", tag = "status",
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem)))]
pub(super) async fn get(app: State, token: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.status_subscription(&token)).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct ConfirmRequest {
    /// The services' slugs (empty: every service); absent, the choice stays.
    #[serde(default)]
    services: Option<Vec<String>>,
}

/// Confirms a subscription (the double opt-in) and, if given, replaces
/// its choice of services.
#[utoipa::path(post, path = "/api/v1/status/subscriptions/{token}/confirm", tag = "status", request_body = ConfirmRequest,
    responses((status = 200, body = SubscriptionView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn confirm(
    app: State,
    token: web::Path<String>,
    body: Option<web::Json<ConfirmRequest>>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let services = body.and_then(|b| b.into_inner().services);
    let v = run(move || app.confirm_status_subscription(&token, services, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}

/// Ends a subscription and forgets the address.
#[utoipa::path(delete, path = "/api/v1/status/subscriptions/{token}", tag = "status",
    responses((status = 204, description = "Unsubscribed"), (status = 404, body = Problem)))]
pub(super) async fn unsubscribe(app: State, token: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let gone = run(move || app.unsubscribe_from_status(&token)).await?;
    if !gone {
        return Err(Problem::from(AppError::NotFound("this subscription".into())));
    }
    Ok(HttpResponse::NoContent().finish())
}
