//! Liveness and readiness, for load balancers and orchestrators.

use super::*;

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up")))]
pub(super) async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Database reachable and migrations current"), (status = 503, description = "Not ready, with the reason")))]
pub(super) async fn readyz(app: State) -> HttpResponse {
    let app = app.get_ref().clone();
    let checked = web::block(move || app.readiness()).await;
    match checked {
        Ok(Ok(true)) => HttpResponse::Ok().json(serde_json::json!({"status": "ready"})),
        Ok(Ok(false)) => HttpResponse::ServiceUnavailable()
            .json(serde_json::json!({"status": "not ready", "reason": "migrations pending: run sladesk migrate"})),
        Ok(Err(e)) => {
            // The database's own words (hosts, users, paths) are for the log, not the world.
            tracing::warn!(error = %e, "readiness check failed");
            HttpResponse::ServiceUnavailable()
                .json(serde_json::json!({"status": "not ready", "reason": "the database cannot be reached"}))
        }
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "not ready", "reason": "overloaded"}))
        }
    }
}
