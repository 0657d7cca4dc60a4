//! The REST API under `/api/v1`: thin handlers that authenticate, parse,
//! call one use case on a blocking thread, and shape the answer. No SQL and
//! no business rules here.

pub mod body;
pub mod client;
pub mod metrics;
mod outages;
pub mod problem;

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

/// Staff: the ticket's version, which `If-Match` takes back. A customer:
/// a digest of exactly what they are shown, so it moves when and only when
/// their view does (an internal note must not move it).
fn etag(v: &TicketView, customer: bool) -> String {
    if customer {
        use sha2::Digest;
        let text = serde_json::to_vec(v).unwrap_or_default();
        let digest: String = sha2::Sha256::digest(&text)
            .iter()
            .take(10)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("W/\"c{digest}\"")
    } else {
        format!("\"{}\"", v.version)
    }
}

fn ticket_response(status: StatusCode, v: TicketView, customer: bool) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header((header::ETAG, etag(&v, customer)));
    if status == StatusCode::CREATED {
        r.insert_header((header::LOCATION, format!("/api/v1/tickets/{}", v.reference)));
    }
    r.insert_header((header::CACHE_CONTROL, "no-store")).json(v)
}

/// `If-Match: "N"` → N. Anything else is a bad request, not silently ignored.
fn if_match(req: &HttpRequest) -> Result<Option<i64>, Problem> {
    match req.headers().get(header::IF_MATCH) {
        None => Ok(None),
        Some(h) => h
            .to_str()
            .ok()
            .and_then(|s| s.trim().trim_start_matches("W/").trim_matches('"').parse().ok())
            .map(Some)
            .ok_or_else(|| Problem::bad_request("If-Match: expected the ETag of the ticket, such as \"3\"")),
    }
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
            .route("/reports/monthly", web::get().to(outages::monthly_report))
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
    let checked = web::block(move || -> Result<bool, String> {
        let mut c = app.pool.get().map_err(|e| e.to_string())?;
        crate::store::migrations_current(&mut c).map_err(|e| e.to_string())
    })
    .await;
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

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = NewTicketRequest, security(("bearer" = [])),
    responses((status = 201, description = "Raised; Location and ETag set", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
async fn create_ticket(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewTicketRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.create_ticket(&who, body.into_inner(), crate::app::now())).await?;
    Ok(ticket_response(StatusCode::CREATED, v, customer))
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(TicketFilter), security(("bearer" = [])),
    responses((status = 200, description = "One page, most urgent first by default", body = TicketPage), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem)))]
async fn list_tickets(app: State, Caller(who): Caller, q: web::Query<TicketFilter>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let page = run(move || app.list_tickets(&who, &q, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The ticket; ETag is its version", body = TicketView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
async fn get_ticket(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.get_ticket(&who, &path)).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}

/// Paging through a ticket's timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events after this sequence number (from the `Link` header's next page).
    after: Option<i32>,
    /// Events before this sequence number (from the `Link` header's prev page).
    before: Option<i32>,
    /// At most this many, 1 to `limits.events_page` (the default).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/events", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123"), EventsQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of the timeline, oldest first; customers see public events only. A `Link: <…>; rel=\"next\"` header points at the next page", body = Vec<EventView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
async fn ticket_events(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse, Problem> {
    let most = app.limits().events_page;
    let limit = match q.limit {
        None => most,
        Some(n) if (1..=most).contains(&n) => n,
        Some(_) => return Err(crate::app::invalid("limit", format!("expected 1 to {most}")).into()),
    };
    let cursor = match (q.after, q.before) {
        (Some(_), Some(_)) => return Err(Problem::bad_request("give after or before, not both")),
        (a, None) => crate::app::tickets::EventCursor::After(a),
        (None, b) => crate::app::tickets::EventCursor::Before(b),
    };
    let reference = path.into_inner();
    let app = app.get_ref().clone();
    let r = reference.clone();
    let page = run(move || app.ticket_events_page(&who, &r, cursor, limit)).await?;
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    let base = format!("/api/v1/tickets/{reference}/events");
    let links: Vec<String> = [
        page.next_after
            .map(|n| format!("<{base}?after={n}&limit={limit}>; rel=\"next\"")),
        page.previous_before
            .map(|p| format!("<{base}?before={p}&limit={limit}>; rel=\"prev\"")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !links.is_empty() {
        answer.insert_header((header::LINK, links.join(", ")));
    }
    Ok(answer.json(page.items))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/sla", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "Both clocks as the core computes them now", body = SlaDetail), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
async fn ticket_sla(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.ticket_sla(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

/// A reply or note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    body: String,
}

/// Fields `PATCH` accepts; each is optional, and they apply in the order
/// assignee, queue, severity, status in one transaction.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TicketPatch {
    /// A staff member's email, or null to unassign.
    assignee: Option<String>,
    /// A queue's slug.
    queue: Option<String>,
    #[schema(minimum = 1, maximum = 4)]
    severity: Option<u8>,
    /// open, pending_customer or pending_third_party (use the transitions for the rest).
    status: Option<String>,
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

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/replies", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReplyBody, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
async fn reply(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<ReplyBody>,
) -> Result<HttpResponse, Problem> {
    change(
        app,
        who,
        &req,
        path.into_inner(),
        vec![Change::Reply(b.into_inner().body)],
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/notes", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReplyBody, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
async fn note(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<ReplyBody>,
) -> Result<HttpResponse, Problem> {
    change(
        app,
        who,
        &req,
        path.into_inner(),
        vec![Change::Note(b.into_inner().body)],
    )
    .await
}

/// Why a customer asks for a resolved ticket to be reopened.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequestBody {
    reason: String,
}

/// A customer asks for a resolved ticket to be reopened: recorded as their
/// reply and sent to the assignee (else the queue's lead); staff decide.
#[utoipa::path(post, path = "/api/v1/tickets/{reference}/reopen-request", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReopenRequestBody, security(("bearer" = [])),
    responses((status = 200, description = "The ticket, still resolved, with the request on its timeline", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Staff reopen tickets themselves", body = Problem), (status = 404, body = Problem), (status = 409, description = "Not resolved, or its reopen window has passed", body = Problem), (status = 422, body = Problem)))]
async fn reopen_request(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    b: web::Json<ReopenRequestBody>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reason = b.into_inner().reason;
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.ask_to_reopen(&who, &path, &reason, crate::app::now())).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/{transition}", tag = "tickets",
    params(("reference" = String, Path, description = "Ticket reference"), ("transition" = String, Path, description = "resolve, reopen, close or cancel")),
    security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
async fn transition(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (reference, t) = path.into_inner();
    let ch = match t.as_str() {
        "resolve" => Change::Resolve,
        "reopen" => Change::Reopen,
        "close" => Change::Close,
        "cancel" => Change::Cancel,
        _ => {
            return Err(Problem::not_found(format!(
                "no such endpoint: /tickets/{{reference}}/{t}"
            )));
        }
    };
    change(app, who, &req, reference, vec![ch]).await
}

/// `PATCH` with any of `assignee` (email or null), `queue`, `severity` and
/// `status`, applied in that order in one transaction.
#[utoipa::path(patch, path = "/api/v1/tickets/{reference}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = TicketPatch, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
async fn patch_ticket(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, Problem> {
    let mut changes = Vec::new();
    // serde_json's map iterates in key order: assignee, queue, severity, status.
    for (k, v) in body.into_inner() {
        let ch = match (k.as_str(), v) {
            ("status", Value::String(s)) => Change::Status(parse_status(&s)?),
            ("severity", Value::Number(n)) => Change::Severity(parse_severity(n.as_i64().unwrap_or(0))?),
            ("assignee", Value::Null) => Change::Assign(None),
            ("assignee", Value::String(e)) => Change::Assign(Some(e)),
            ("queue", Value::String(q)) => Change::Queue(q),
            ("status" | "queue", _) => return Err(invalid(&k, "expected a string").into()),
            ("severity", _) => return Err(invalid(&k, "expected 1, 2, 3 or 4").into()),
            ("assignee", _) => return Err(invalid(&k, "expected an email or null").into()),
            _ => {
                return Err(Problem::bad_request(format!(
                    "body: unknown field `{k}`, expected one of `status`, `severity`, `assignee`, `queue`"
                )));
            }
        };
        changes.push(ch);
    }
    change(app, who, &req, path.into_inner(), changes).await
}

#[utoipa::path(get, path = "/api/v1/organisations", tag = "administration", security(("bearer" = [])), responses((status = 200, description = "Customers see their own only", body = Vec<OrganisationView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
async fn list_organisations(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_organisations(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/organisations", tag = "administration", request_body = NewOrganisationRequest, security(("bearer" = [])), responses((status = 201, body = OrganisationView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_organisation(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewOrganisationRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created()
        .json(run(move || app.create_organisation(&who, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/users", tag = "administration", security(("bearer" = [])), responses((status = 200, body = Vec<UserView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
async fn list_users(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_users(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/users", tag = "administration", request_body = NewUserRequest, security(("bearer" = [])), responses((status = 201, body = UserView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_user(app: State, Caller(who): Caller, b: web::Json<NewUserRequest>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_user(&who, b.into_inner(), crate::app::now())).await?))
}

#[utoipa::path(get, path = "/api/v1/queues", tag = "administration", security(("bearer" = [])), responses((status = 200, body = Vec<QueueView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem)))]
async fn list_queues(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_queues(&who)).await?))
}

#[utoipa::path(post, path = "/api/v1/queues", tag = "administration", request_body = NewQueueRequest, security(("bearer" = [])), responses((status = 201, body = QueueView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn create_queue(app: State, Caller(who): Caller, b: web::Json<NewQueueRequest>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_queue(&who, b.into_inner(), crate::app::now())).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewTokenRequest {
    user: String,
    name: String,
    #[serde(default)]
    scope: Option<String>,
    expires_in_days: Option<i64>,
}

#[utoipa::path(post, path = "/api/v1/tokens", tag = "administration", request_body = NewTokenRequest, security(("bearer" = [])), responses((status = 201, description = "The token, shown this once", body = Object), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn create_token(app: State, Caller(who): Caller, b: web::Json<NewTokenRequest>) -> Result<HttpResponse, Problem> {
    let b = b.into_inner();
    let days = match b.expires_in_days {
        None => None,
        Some(d) if (1..=3650).contains(&d) => Some(chrono::Duration::days(d)),
        Some(_) => return Err(invalid("expires_in_days", "expected 1 to 3650").into()),
    };
    let app = app.get_ref().clone();
    let user = b.user.clone();
    let token = run(move || {
        app.create_token(
            &who,
            &b.user,
            &b.name,
            b.scope.as_deref().unwrap_or("full"),
            days,
            crate::app::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Created()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(serde_json::json!({"user": user, "token": token})))
}

#[utoipa::path(get, path = "/api/v1/tokens", tag = "administration", security(("bearer" = [])),
    responses((status = 200, description = "Every token, never the secret", body = Vec<TokenView>), (status = 401, body = Problem), (status = 403, body = Problem)))]
async fn list_tokens(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_tokens(&who)).await?))
}

#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "administration", params(("id" = i64, Path, description = "The token's id")),
    security(("bearer" = [])), responses((status = 204, description = "Revoked"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn revoke_token(app: State, Caller(who): Caller, path: web::Path<i64>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    run(move || app.revoke_token(&who, id, crate::app::now())).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(patch, path = "/api/v1/users/{email}", tag = "administration", params(("email" = String, Path, description = "The user's email")),
    request_body = UserPatch, security(("bearer" = [])),
    responses((status = 200, body = UserView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_user(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    b: web::Json<UserPatch>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let email = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.update_user(&who, &email, b.into_inner(), crate::app::now())).await?))
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecomputeRequest {
    organisation: Option<String>,
    ticket: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Admin: recompute open tickets on the policy and holidays now in force.
#[utoipa::path(post, path = "/api/v1/sla/recompute", tag = "administration", request_body = RecomputeRequest, security(("bearer" = [])), responses((status = 200, description = "Per ticket: old and new policy, due instants and breach state", body = Vec<RecomputeLine>), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem)))]
async fn recompute(app: State, Caller(who): Caller, b: web::Json<RecomputeRequest>) -> Result<HttpResponse, Problem> {
    let b = b.into_inner();
    let app = app.get_ref().clone();
    let lines = run(move || {
        app.recompute(
            &who,
            b.organisation.as_deref(),
            b.ticket.as_deref(),
            b.dry_run,
            crate::app::now(),
        )
    })
    .await?;
    Ok(HttpResponse::Ok().json(lines))
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
        outages::list_upstream_credits, outages::create_upstream_credit, outages::monthly_report
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

/// Mail intake over HTTP: the raw message as `message/rfc822`, with a token
/// of scope `intake`.
#[utoipa::path(post, path = "/api/v1/inbound/email", tag = "mail", request_body(content = String, content_type = "message/rfc822"),
    security(("bearer" = [])),
    responses((status = 200, description = "Committed: what became of the message", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem),
        (status = 422, description = "The message can never be accepted", body = Problem), (status = 503, body = Problem)))]
async fn inbound_email(
    app: State,
    gate: web::Data<body::BodyGate>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, Problem> {
    // Who is sending, and whether it may, before a byte of the body is
    // read: a stranger's 25 MB must cost nothing but the refusal.
    let token = bearer_token(&req)?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("");
    if !ct.trim().to_ascii_lowercase().starts_with("message/rfc822") {
        return Err(Problem::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Unsupported media type",
            "send the raw message as message/rfc822",
        ));
    }
    let checked = app.get_ref().clone();
    let t = token.clone();
    run(move || checked.authenticate_intake(&t, crate::app::now())).await?;
    let limits = app.limits();
    let limit = crate::app::intake::MAX_MESSAGE_BYTES;
    body::check_declared_length(&req, limit)?;
    let _permit = body::BodyGate::enter(&gate, limits.large_bodies_in_flight)?;
    let within = std::time::Duration::from_secs(limits.body_seconds);
    let raw = body::read_all(payload, limit, within).await?;
    let app = app.get_ref().clone();
    let outcome = web::block(move || -> Result<_, Problem> {
        let now = crate::app::now();
        match app.ingest(&raw, "http", now) {
            Ok(o) => Ok(o),
            Err(crate::app::intake::IngestFailure::Unacceptable(e)) => Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unacceptable-message",
                "The message can never be accepted",
                e.to_string(),
            )),
            Err(crate::app::intake::IngestFailure::Failed(e)) => Err(e.into()),
        }
    })
    .await??;
    Ok(HttpResponse::Ok().json(outcome))
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
struct QuarantineQuery {
    /// At most this many, 1 to 500 (default 100).
    limit: Option<i64>,
}

/// Quarantined mail, oldest first: staff decide to accept or reject it.
#[utoipa::path(get, path = "/api/v1/inbound/quarantine", tag = "mail", params(QuarantineQuery), security(("bearer" = [])),
    responses((status = 200, description = "Messages awaiting a decision", body = Vec<crate::app::intake::QuarantinedMessage>),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 404, description = "Not for customers", body = Problem)))]
async fn list_quarantine(
    app: State,
    Caller(who): Caller,
    q: web::Query<QuarantineQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let limit = q.limit.unwrap_or(100);
    Ok(HttpResponse::Ok().json(run(move || app.quarantine(&who, limit)).await?))
}

/// The original of a message intake recorded, as it arrived.
#[utoipa::path(get, path = "/api/v1/inbound/messages/{id}", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    security(("bearer" = [])), responses((status = 200, description = "The raw message", content_type = "message/rfc822", body = String),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn inbound_raw(app: State, Caller(who): Caller, path: web::Path<i64>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let raw = run(move || app.inbound_raw(&who, id)).await?;
    Ok(HttpResponse::Ok()
        .content_type("message/rfc822")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"inbound-{id}.eml\""),
        ))
        .insert_header(("Cache-Control", "no-store"))
        .body(raw))
}

/// Accepts a quarantined message: a new ticket for its sender, who becomes a
/// contact of `organisation` if they are not one yet.
#[utoipa::path(post, path = "/api/v1/inbound/messages/{id}/accept", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    request_body = crate::app::intake::AcceptRequest, security(("bearer" = [])),
    responses((status = 200, description = "The ticket made", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "Decided already, or cannot be made a ticket", body = Problem),
        (status = 422, body = Problem)))]
async fn accept_inbound(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<crate::app::intake::AcceptRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let req = b.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.accept_quarantined(&who, id, &req, crate::app::now())).await?))
}

/// Rejects a quarantined message, with a reply to the sender if asked.
#[utoipa::path(post, path = "/api/v1/inbound/messages/{id}/reject", tag = "mail", params(("id" = i64, Path, description = "The inbound message's id")),
    request_body = crate::app::intake::RejectRequest, security(("bearer" = [])),
    responses((status = 200, description = "Rejected", body = crate::app::intake::IngestOutcome),
        (status = 401, body = Problem), (status = 404, body = Problem), (status = 409, description = "Decided already", body = Problem),
        (status = 422, body = Problem)))]
async fn reject_inbound(
    app: State,
    Caller(who): Caller,
    path: web::Path<i64>,
    b: web::Json<crate::app::intake::RejectRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let id = path.into_inner();
    let req = b.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.reject_quarantined(&who, id, &req, crate::app::now())).await?))
}

/// The files that came with a ticket's mail.
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/attachments", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference")),
    security(("bearer" = [])), responses((status = 200, description = "Name, type, size and SHA-256 of each", body = Vec<crate::app::intake::AttachmentView>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn list_attachments(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reference = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.ticket_attachments(&who, &reference)).await?))
}

/// One file, as a download. Only plain, inert types keep their type; any
/// other (HTML, SVG, scripts) is served as bytes, so a file from a mail can
/// never run in the desk's origin.
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/attachments/{id}", tag = "tickets",
    params(("reference" = String, Path, description = "Ticket reference"), ("id" = i64, Path, description = "The attachment's id")),
    security(("bearer" = [])), responses((status = 200, description = "The file", content_type = "application/octet-stream", body = String),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn get_attachment(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (reference, id) = path.into_inner();
    let (name, ctype, data) = run(move || app.ticket_attachment(&who, &reference, id)).await?;
    Ok(attachment_response(name, ctype, data))
}

/// A ticket's file as a download: inert types are served as themselves,
/// anything else as bytes, so nothing a customer sends runs in a browser.
pub fn attachment_response(name: String, ctype: String, data: Vec<u8>) -> HttpResponse {
    const INERT: [&str; 6] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "text/plain",
        "text/csv",
    ];
    let served = if INERT.contains(&ctype.as_str()) {
        ctype
    } else {
        "application/octet-stream".to_string()
    };
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: actix_web::http::header::DispositionType::Attachment,
        parameters: vec![actix_web::http::header::DispositionParam::Filename(
            name.chars().filter(|c| !c.is_control()).collect(),
        )],
    };
    HttpResponse::Ok()
        .content_type(served)
        .insert_header(disposition)
        .insert_header(("Cache-Control", "private, no-store"))
        .body(data)
}

/// The mail recorded on a ticket, each with a link to its original (staff).
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/messages", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference")),
    security(("bearer" = [])), responses((status = 200, description = "Messages, oldest first", body = Vec<crate::app::intake::TicketMessage>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
async fn ticket_messages(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reference = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.ticket_messages(&who, &reference)).await?))
}
