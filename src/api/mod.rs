//! The REST API under `/api/v1`: thin handlers that authenticate, parse,
//! call one use case on a blocking thread, and shape the answer. No SQL and
//! no business rules here.

mod admin;
mod alerts;
mod auth;
mod bulk;
mod changes;
mod health;
mod inbound;
mod links;
mod macros;
mod networks;
mod openapi;
mod problems;
mod requests;
pub mod scim;
mod tickets;
use admin::*;
pub use auth::Caller;
pub(crate) use auth::bearer_token;
use health::*;
use inbound::*;
pub use openapi::ApiDoc;
use openapi::openapi;
pub use tickets::attachment_response;
use tickets::*;

pub mod body;
pub mod client;
mod disputes;
mod feeds;
pub mod metrics;
mod outages;
mod presence;
pub mod problem;
mod reports;
mod search;
mod services;
mod status;
mod subscriptions;
mod time;
mod views;
mod watchers;
mod webhooks;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest, OrganisationPatch};
use crate::app::admin::{OrganisationView, QueueView, TokenView, UserPatch, UserView};
use crate::app::tickets::{Change, NewTicketRequest, TicketFilter, TicketView, parse_severity, parse_status};
use crate::app::tickets::{EventView, RecomputeLine, SlaDetail, SlaExplanation, TicketPage};
use crate::app::{App, AppError, Principal, invalid};
use problem::Problem;
use utoipa::OpenApi;

/// Largest request body accepted (a ticket description is at most 100,000 characters).
pub const BODY_LIMIT: usize = 512 * 1024;

/// The application as every handler receives it.
pub type State = web::Data<Arc<App>>;

/// Runs a use case on the blocking pool.
pub(crate) async fn run<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(f).await??)
}

/// A one-row read: on the request's own thread where `App::reads_inline`
/// allows (a local SQLite file with a connection idle), else on the
/// blocking pool like every other use case.
pub(crate) async fn read<T, F>(app: &App, f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    if app.reads_inline() {
        return Ok(f()?);
    }
    run(f).await
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
    .route("/api/v2/summary.json", web::get().to(status::summary))
    .route("/api/v2/incidents.json", web::get().to(status::incidents))
    .service(
        web::scope("/api/v1")
            .route("/tickets", web::post().to(create_ticket))
            .route("/tickets", web::get().to(list_tickets))
            .route("/tickets/bulk", web::post().to(bulk::bulk))
            .route("/search", web::get().to(search::search))
            .route("/views", web::get().to(views::list_views))
            .route("/views", web::post().to(views::create_view))
            .route("/views/{id}", web::delete().to(views::delete_view))
            .route("/views/{id}/tickets", web::get().to(views::view_tickets))
            .route("/tickets/{reference}", web::get().to(get_ticket))
            .route("/tickets/{reference}", web::patch().to(patch_ticket))
            .route("/tickets/{reference}/events", web::get().to(ticket_events))
            .route("/tickets/{reference}/sla", web::get().to(ticket_sla))
            .route("/tickets/{reference}/sla/explain", web::get().to(ticket_sla_explain))
            .route("/tickets/{reference}/sla/history", web::get().to(ticket_sla_history))
            .route("/macros", web::get().to(macros::list_macros))
            .route("/macros", web::post().to(macros::create_macro))
            .route("/macros/{id}", web::patch().to(macros::update_macro))
            .route("/macros/{id}", web::delete().to(macros::delete_macro))
            .route("/tickets/{reference}/macros/{id}", web::get().to(macros::preview_macro))
            .route("/tickets/{reference}/macros/{id}", web::post().to(macros::apply_macro))
            .route("/tickets/{reference}/presence", web::get().to(presence::present))
            .route("/tickets/{reference}/presence", web::post().to(presence::heartbeat))
            .route("/tickets/{reference}/time", web::get().to(time::ticket_time))
            .route("/tickets/{reference}/time", web::post().to(time::log_time))
            .route("/changes", web::post().to(changes::raise_change))
            .route("/changes/calendar", web::get().to(changes::calendar))
            .route("/changes/calendar.ics", web::get().to(changes::calendar_ics))
            .route("/change-freezes", web::post().to(changes::add_freeze))
            .route("/cab", web::get().to(changes::cab_agenda))
            .route("/tickets/{reference}/change", web::get().to(changes::get_change))
            .route(
                "/tickets/{reference}/change/actions",
                web::post().to(changes::change_action),
            )
            .route("/problems", web::post().to(problems::open_problem))
            .route("/known-errors", web::get().to(problems::known_errors))
            .route("/tickets/{reference}/problem", web::get().to(problems::get_problem))
            .route(
                "/tickets/{reference}/problem/actions",
                web::post().to(problems::problem_action),
            )
            .route("/catalogue", web::get().to(requests::list_catalogue))
            .route("/catalogue/{slug}", web::get().to(requests::get_catalogue_item))
            .route("/requests", web::post().to(requests::create_request))
            .route("/tickets/{reference}/request", web::get().to(requests::get_request))
            .route(
                "/tickets/{reference}/request/actions",
                web::post().to(requests::request_action),
            )
            .route("/tickets/{reference}/links", web::get().to(links::list_links))
            .route("/tickets/{reference}/merge", web::post().to(links::merge))
            .route("/tickets/{reference}/links", web::post().to(links::add_link))
            .route(
                "/tickets/{reference}/links/{kind}/{other}",
                web::delete().to(links::remove_link),
            )
            .route("/tickets/{reference}/watchers", web::get().to(watchers::list_watchers))
            .route("/tickets/{reference}/watchers", web::post().to(watchers::add_watcher))
            .route(
                "/tickets/{reference}/watchers/{email}",
                web::delete().to(watchers::remove_watcher),
            )
            .route("/time/{id}", web::patch().to(time::edit_time))
            .route("/time/{id}", web::delete().to(time::delete_time))
            .route("/tickets/{reference}/replies", web::post().to(reply))
            .route("/tickets/{reference}/notes", web::post().to(note))
            .route("/tickets/{reference}/attachments", web::get().to(list_attachments))
            .route("/tickets/{reference}/attachments/{id}", web::get().to(get_attachment))
            .route("/tickets/{reference}/messages", web::get().to(ticket_messages))
            .route("/tickets/{reference}/reopen-request", web::post().to(reopen_request))
            .route("/tickets/{reference}/{transition}", web::post().to(transition))
            .route("/organisations", web::get().to(list_organisations))
            .route("/organisations", web::post().to(create_organisation))
            .route("/organisations/{slug}", web::patch().to(admin::update_organisation))
            .route(
                "/organisations/{slug}/networks",
                web::get().to(networks::organisation_networks),
            )
            .route(
                "/organisations/{slug}/networks",
                web::put().to(networks::set_organisation_networks),
            )
            .route("/staff-networks", web::get().to(networks::staff_networks))
            .route("/staff-networks", web::put().to(networks::set_staff_networks))
            .route("/webhooks", web::get().to(webhooks::list_webhooks))
            .route("/webhooks", web::post().to(webhooks::create_webhook))
            .route("/webhooks/{id}", web::delete().to(webhooks::delete_webhook))
            .route("/webhooks/{id}/enable", web::post().to(webhooks::enable_webhook))
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/queues", web::get().to(list_queues))
            .route("/queues", web::post().to(create_queue))
            .route("/status", web::get().to(status::status))
            .route("/status/history", web::get().to(status::history))
            .route("/status/feed.atom", web::get().to(status::feed))
            .route("/status/subscriptions", web::post().to(subscriptions::subscribe))
            .route("/status/subscriptions/{token}", web::get().to(subscriptions::get))
            .route(
                "/status/subscriptions/{token}",
                web::delete().to(subscriptions::unsubscribe),
            )
            .route(
                "/status/subscriptions/{token}/confirm",
                web::post().to(subscriptions::confirm),
            )
            .route("/status/maintenance.ics", web::get().to(status::maintenance_calendar))
            .route("/services", web::get().to(services::list_services))
            .route("/services", web::post().to(services::create_service))
            .route(
                "/services/{slug}/organisations",
                web::get().to(services::service_subscribers),
            )
            .route(
                "/organisations/{slug}/services",
                web::get().to(services::organisation_services),
            )
            .route(
                "/organisations/{slug}/services",
                web::put().to(services::set_organisation_services),
            )
            .route("/tokens", web::post().to(create_token))
            .route("/tokens", web::get().to(list_tokens))
            .route("/tokens/{id}", web::delete().to(revoke_token))
            .route("/users/{email}", web::patch().to(update_user))
            .route("/sla/recompute", web::post().to(recompute))
            .route("/outages", web::get().to(outages::list_outages))
            .route("/outages", web::post().to(outages::create_outage))
            .route("/outages/{id}", web::get().to(outages::get_outage))
            .route("/outages/{id}", web::patch().to(outages::patch_outage))
            .route("/outages/{id}/updates", web::post().to(outages::post_update))
            .route("/outages/{id}/confirm", web::post().to(outages::confirm_outage))
            .route("/alerts/alertmanager", web::post().to(alerts::alertmanager))
            .route("/outages/{id}/tickets", web::get().to(outages::linked_tickets))
            .route("/outages/{id}/tickets", web::post().to(outages::link_tickets))
            .route("/outages/{id}/tickets/resolve", web::post().to(outages::resolve_linked))
            .route(
                "/outages/{id}/tickets/{reference}",
                web::delete().to(outages::unlink_ticket),
            )
            .route("/upstream-credits", web::get().to(outages::list_upstream_credits))
            .route("/upstream-credits", web::post().to(outages::create_upstream_credit))
            .route("/outages/{id}", web::delete().to(outages::delete_outage))
            .route("/reports/monthly", web::get().to(reports::monthly_report))
            .route("/disputes", web::get().to(disputes::list))
            .route("/disputes", web::post().to(disputes::raise))
            .route("/disputes/{id}", web::get().to(disputes::get))
            .route("/disputes/{id}/files/{file}", web::get().to(disputes::file))
            .route("/disputes/{id}/decision", web::post().to(disputes::decide))
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
