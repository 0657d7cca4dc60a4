//! Monitoring alerts over HTTP: Prometheus Alertmanager's webhook, with a
//! token of scope `alerts` (checked before the body is read), which opens
//! this one door and no other.

use super::*;
use crate::app::alerts::AlertsReceived;

/// A notification of up to `MAX_ALERTS` alerts with long annotations.
const ALERTS_LIMIT: usize = 4 * 1024 * 1024;

/// Alertmanager's webhook (payload version 4): each firing alert opens or
/// adds to the one incident ticket its fingerprint owns, and by rule an
/// outage; a resolved one records the recovery. A 5xx answer makes
/// Alertmanager retry; telling it twice changes nothing more.
#[utoipa::path(post, path = "/api/v1/alerts/alertmanager", tag = "operations", request_body = Object, security(("bearer" = [])),
    responses((status = 200, description = "What the notification did", body = AlertsReceived),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, description = "Not a token of scope alerts", body = Problem),
        (status = 409, description = "Alerts are not set up here", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn alertmanager(app: State, req: HttpRequest, payload: web::Payload) -> Result<HttpResponse, Problem> {
    // The token before a byte of the body: a stranger's megabytes cost
    // nothing but the refusal.
    let token = bearer_token(&req)?;
    let checked = app.get_ref().clone();
    run(move || checked.authenticate_scoped(&token, "alerts", crate::app::now())).await?;
    body::check_declared_length(&req, ALERTS_LIMIT)?;
    let within = std::time::Duration::from_secs(app.limits().body_seconds);
    let raw = body::read_all(payload, ALERTS_LIMIT, within).await?;
    let body: crate::domain::alerts::Payload = serde_json::from_slice(&raw)
        .map_err(|e| Problem::bad_request(format!("not an Alertmanager notification: {e}")))?;
    let app = app.get_ref().clone();
    let out = run(move || app.receive_alertmanager(body, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(out))
}
