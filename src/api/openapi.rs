//! The OpenAPI 3.1 document, generated from the handlers' annotations and
//! served at `/api/v1/openapi.json`.

use super::*;

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
        healthz, readyz, metrics::metrics, openapi, create_ticket, list_tickets, search::search, views::list_views, views::create_view, views::view_tickets, views::delete_view, time::ticket_time, time::log_time, time::edit_time, time::delete_time, changes::raise_change, changes::get_change, changes::change_action, changes::cab_agenda, changes::calendar, changes::calendar_ics, changes::add_freeze, problems::open_problem, problems::get_problem, problems::problem_action, problems::known_errors, requests::list_catalogue, requests::get_catalogue_item, requests::create_request, requests::get_request, requests::request_action, links::list_links, links::add_link, links::remove_link, links::merge, watchers::list_watchers, watchers::add_watcher, watchers::remove_watcher, presence::present, presence::heartbeat, macros::list_macros, macros::create_macro, macros::update_macro, macros::delete_macro, macros::preview_macro, macros::apply_macro, bulk::bulk, get_ticket, patch_ticket, ticket_events, ticket_sla, ticket_sla_explain, ticket_sla_history,
        reply, note, transition, reopen_request, list_organisations, create_organisation, admin::update_organisation, networks::organisation_networks, networks::set_organisation_networks, networks::staff_networks, networks::set_staff_networks, webhooks::list_webhooks, webhooks::create_webhook, webhooks::delete_webhook, webhooks::enable_webhook, list_users, create_user, list_queues,
        create_queue, create_token, list_tokens, revoke_token, update_user, recompute, inbound_email,
        list_quarantine, inbound_raw, accept_inbound, reject_inbound, list_attachments, get_attachment, ticket_messages,
        outages::list_outages, outages::create_outage, outages::get_outage, outages::patch_outage, outages::post_update, outages::confirm_outage, alerts::alertmanager, outages::linked_tickets, outages::link_tickets, outages::unlink_ticket, outages::resolve_linked,
        outages::list_upstream_credits, outages::create_upstream_credit, outages::delete_outage,
        reports::monthly_report, reports::close_month, reports::recompute_month, disputes::raise, disputes::list, disputes::get, disputes::file, disputes::decide,
        services::list_services, services::create_service, services::service_subscribers,
        services::organisation_services, services::set_organisation_services,
        status::status, status::history, status::feed, status::maintenance_calendar,
        subscriptions::subscribe, subscriptions::get, subscriptions::confirm, subscriptions::unsubscribe, status::summary, status::incidents
    ),
    modifiers(&BearerAuth),
    tags((name = "tickets"), (name = "requests"), (name = "problems"), (name = "changes"), (name = "administration"), (name = "operations"), (name = "services"), (name = "status"))
)]
pub struct ApiDoc;

#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "operations", responses((status = 200, description = "This document")))]
pub(super) async fn openapi() -> HttpResponse {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let doc = DOC.get_or_init(|| ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".into()));
    HttpResponse::Ok().content_type("application/json").body(doc.as_str())
}
