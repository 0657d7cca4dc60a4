//! The REST API under `/api/v1`: thin handlers that authenticate, parse,
//! call one use case on a blocking thread, and shape the answer. No SQL and
//! no business rules here.

mod admin;
mod inbound;
mod tickets;
use admin::*;
use inbound::*;
pub use tickets::attachment_response;
use tickets::*;

pub mod body;
pub mod client;
pub mod metrics;
mod outages;
pub mod problem;
mod reports;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest};
use crate::app::admin::{OrganisationView, QueueView, TokenView, UserPatch, UserView};
use crate::app::tickets::{Change, NewTicketRequest, TicketFilter, TicketView, parse_severity, parse_status};
use crate::app::tickets::{EventView, RecomputeLine, SlaDetail, TicketPage};
use crate::app::{App, AppError, Principal, invalid};
use problem::Problem;
use utoipa::OpenApi;

/// Largest request body accepted (a ticket description is at most 100,000 characters).
pub const BODY_LIMIT: usize = 512 * 1024;

/// The application as every handler receives it.
pub type State = web::Data<Arc<App>>;

/// The authenticated caller.
pub struct Caller(pub Principal);

impl FromRequest for Caller {
    type Error = Problem;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, Problem>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let app = req.app_data::<State>().cloned();
        let token = bearer_token(req);
        // X-Forwarded-For only from a trusted proxy: a client can write any header it likes.
        let remote = client::Client::of(req).addr_text();
        Box::pin(async move {
            let app = app.ok_or_else(|| Problem::bad_request("server misconfigured"))?;
            let token = token?;
            let now = crate::app::now();
            if let Some(p) = app.cached_principal(&token, remote.clone(), now) {
                return Ok(Caller(p));
            }
            let p = web::block(move || app.authenticate(&token, remote, now)).await??;
            Ok(Caller(p))
        })
    }
}

/// The bearer token of a request, or why there is none.
pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, Problem> {
    let unauthenticated = |why: &str| Problem::from(AppError::Unauthenticated(why.into()));
    let header = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("send Authorization: Bearer <token>"))?;
    let h = header
        .to_str()
        .map_err(|_| unauthenticated("the Authorization header is not text"))?;
    match h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
        Some(t) if !t.trim().is_empty() => Ok(t.trim().to_string()),
        _ => Err(unauthenticated("expected Authorization: Bearer <token>")),
    }
}

/// Runs a use case on the blocking pool.
pub(crate) async fn run<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(f).await??)
}

/// Configures the routes on an actix `App`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::JsonConfig::default()
            .limit(BODY_LIMIT)
            .content_type_required(true)
            .error_handler(|err, _req| json_problem(err).into()),
    )
    .app_data(web::PathConfig::default().error_handler(|err, _| Problem::not_found(err.to_string()).into()))
    .app_data(
        web::QueryConfig::default().error_handler(|err, _| Problem::bad_request(format!("query string: {err}")).into()),
    )
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz))
    .route("/metrics", web::get().to(metrics::metrics))
    .route("/api/v1/openapi.json", web::get().to(openapi))
    .service(
        web::scope("/api/v1")
            .route("/tickets", web::post().to(create_ticket))
            .route("/tickets", web::get().to(list_tickets))
            .route("/tickets/{reference}", web::get().to(get_ticket))
            .route("/tickets/{reference}", web::patch().to(patch_ticket))
            .route("/tickets/{reference}/events", web::get().to(ticket_events))
            .route("/tickets/{reference}/sla", web::get().to(ticket_sla))
            .route("/tickets/{reference}/replies", web::post().to(reply))
            .route("/tickets/{reference}/notes", web::post().to(note))
            .route("/tickets/{reference}/attachments", web::get().to(list_attachments))
            .route("/tickets/{reference}/attachments/{id}", web::get().to(get_attachment))
            .route("/tickets/{reference}/messages", web::get().to(ticket_messages))
            .route("/tickets/{reference}/reopen-request", web::post().to(reopen_request))
            .route("/tickets/{reference}/{transition}", web::post().to(transition))
            .route("/organisations", web::get().to(list_organisations))
            .route("/organisations", web::post().to(create_organisation))
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/queues", web::get().to(list_queues))
            .route("/queues", web::post().to(create_queue))
            .route("/tokens", web::post().to(create_token))
            .route("/tokens", web::get().to(list_tokens))
            .route("/tokens/{id}", web::delete().to(revoke_token))
            .route("/users/{email}", web::patch().to(update_user))
            .route("/sla/recompute", web::post().to(recompute))
            .route("/outages", web::get().to(outages::list_outages))
            .route("/outages", web::post().to(outages::create_outage))
            .route("/outages/{id}", web::get().to(outages::get_outage))
            .route("/outages/{id}", web::patch().to(outages::patch_outage))
            .route("/upstream-credits", web::get().to(outages::list_upstream_credits))
            .route("/upstream-credits", web::post().to(outages::create_upstream_credit))
            .route("/outages/{id}", web::delete().to(outages::delete_outage))
            .route("/reports/monthly", web::get().to(reports::monthly_report))
            .route("/reports/monthly/close", web::post().to(reports::close_month))
            .route("/reports/monthly/recompute", web::post().to(reports::recompute_month))
            .service(web::resource("/inbound/quarantine").route(web::get().to(list_quarantine)))
            .service(web::resource("/inbound/messages/{id}").route(web::get().to(inbound_raw)))
            .service(web::resource("/inbound/messages/{id}/accept").route(web::post().to(accept_inbound)))
            .service(web::resource("/inbound/messages/{id}/reject").route(web::post().to(reject_inbound)))
            .service(web::resource("/inbound/email").route(web::post().to(inbound_email)))
            .default_service(web::to(|| async {
                Err::<HttpResponse, _>(Problem::not_found("no such endpoint under /api/v1"))
            })),
    );
}

fn json_problem(err: actix_web::error::JsonPayloadError) -> Problem {
    use actix_web::error::JsonPayloadError as E;
    match err {
        E::ContentType => Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the body as application/json",
        ),
        E::Overflow { limit } | E::OverflowKnownLength { limit, .. } => Problem::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            "Request body too large",
            format!("the body is over the {limit}-byte limit"),
        ),
        E::Deserialize(e) => Problem::bad_request(format!("body: {e}")),
        other => Problem::bad_request(format!("body: {other}")),
    }
}

#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "The process is up")))]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(get, path = "/readyz", tag = "operations", responses((status = 200, description = "Database reachable and migrations current"), (status = 503, description = "Not ready, with the reason")))]
async fn readyz(app: State) -> HttpResponse {
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

async fn change(
    app: State,
    who: Principal,
    req: &HttpRequest,
    reference: String,
    changes: Vec<Change>,
) -> Result<HttpResponse, Problem> {
    let expected = if_match(req)?;
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.change_ticket(&who, &reference, &changes, expected, crate::app::now())).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The OpenAPI document, generated from the handlers and types above.
#[derive(OpenApi)]
#[openapi(
    info(title = "sladesk", description = "ITIL service desk and SLA tracking. Instants are RFC 3339 UTC; errors are application/problem+json."),
    paths(
        healthz, readyz, metrics::metrics, openapi, create_ticket, list_tickets, get_ticket, patch_ticket, ticket_events, ticket_sla,
        reply, note, transition, reopen_request, list_organisations, create_organisation, list_users, create_user, list_queues,
        create_queue, create_token, list_tokens, revoke_token, update_user, recompute, inbound_email,
        list_quarantine, inbound_raw, accept_inbound, reject_inbound, list_attachments, get_attachment, ticket_messages,
        outages::list_outages, outages::create_outage, outages::get_outage, outages::patch_outage,
        outages::list_upstream_credits, outages::create_upstream_credit, outages::delete_outage,
        reports::monthly_report, reports::close_month, reports::recompute_month
    ),
    modifiers(&BearerAuth),
    tags((name = "tickets"), (name = "administration"), (name = "operations"))
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "This document")))]
async fn openapi() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok().content_type("application/json").body(doc.as_str())
}
