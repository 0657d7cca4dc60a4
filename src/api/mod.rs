//! The REST API under `/api/v1`: thin handlers that authenticate, parse,
//! call one use case on a blocking thread, and shape the answer. No SQL and
//! no business rules here.

pub mod metrics;
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
use crate::app::tickets::{Change, NewTicketRequest, TicketFilter, TicketView, parse_severity, parse_status};
use crate::app::{App, AppError, Principal, invalid};
use problem::Problem;

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
        let header = req
            .headers()
            .get(header::AUTHORIZATION)
            .map(|h| h.to_str().map(str::to_string));
        let remote = req.connection_info().realip_remote_addr().map(str::to_string);
        Box::pin(async move {
            let app = app.ok_or_else(|| Problem::bad_request("server misconfigured"))?;
            let token = match header {
                None => return Err(AppError::Unauthenticated("send Authorization: Bearer <token>".into()).into()),
                Some(Err(_)) => {
                    return Err(AppError::Unauthenticated("the Authorization header is not text".into()).into());
                }
                Some(Ok(h)) => match h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("bearer ")) {
                    Some(t) if !t.trim().is_empty() => t.trim().to_string(),
                    _ => return Err(AppError::Unauthenticated("expected Authorization: Bearer <token>".into()).into()),
                },
            };
            let now = crate::app::now();
            if let Some(p) = app.cached_principal(&token, remote.clone(), now) {
                return Ok(Caller(p));
            }
            let p = web::block(move || app.authenticate(&token, remote, now)).await??;
            Ok(Caller(p))
        })
    }
}

/// Runs a use case on the blocking pool.
async fn run<T, F>(f: F) -> Result<T, Problem>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(f).await??)
}

fn etag(v: &TicketView) -> String {
    format!("\"{}\"", v.version)
}

fn ticket_response(status: StatusCode, v: TicketView) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header((header::ETAG, etag(&v)));
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
            .route("/tickets/{reference}/{transition}", web::post().to(transition))
            .route("/organisations", web::get().to(list_organisations))
            .route("/organisations", web::post().to(create_organisation))
            .route("/users", web::get().to(list_users))
            .route("/users", web::post().to(create_user))
            .route("/queues", web::get().to(list_queues))
            .route("/queues", web::post().to(create_queue))
            .route("/tokens", web::post().to(create_token))
            .route("/sla/recompute", web::post().to(recompute))
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

async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

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
        Ok(Err(e)) => HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "not ready", "reason": e})),
        Err(_) => {
            HttpResponse::ServiceUnavailable().json(serde_json::json!({"status": "not ready", "reason": "overloaded"}))
        }
    }
}

async fn create_ticket(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewTicketRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.create_ticket(&who, body.into_inner(), crate::app::now())).await?;
    Ok(ticket_response(StatusCode::CREATED, v))
}

async fn list_tickets(app: State, Caller(who): Caller, q: web::Query<TicketFilter>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let page = run(move || app.list_tickets(&who, &q, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

async fn get_ticket(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.get_ticket(&who, &path)).await?;
    Ok(ticket_response(StatusCode::OK, v))
}

async fn ticket_events(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.ticket_events(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

async fn ticket_sla(app: State, Caller(who): Caller, path: web::Path<String>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.ticket_sla(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    body: String,
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
    let v = run(move || app.change_ticket(&who, &reference, &changes, expected, crate::app::now())).await?;
    Ok(ticket_response(StatusCode::OK, v))
}

async fn reply(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<Body>,
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

async fn note(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<Body>,
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

async fn list_organisations(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_organisations(&who)).await?))
}

async fn create_organisation(
    app: State,
    Caller(who): Caller,
    b: web::Json<NewOrganisationRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created()
        .json(run(move || app.create_organisation(&who, b.into_inner(), crate::app::now())).await?))
}

async fn list_users(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_users(&who)).await?))
}

async fn create_user(app: State, Caller(who): Caller, b: web::Json<NewUserRequest>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_user(&who, b.into_inner(), crate::app::now())).await?))
}

async fn list_queues(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Ok().json(run(move || app.list_queues(&who)).await?))
}

async fn create_queue(app: State, Caller(who): Caller, b: web::Json<NewQueueRequest>) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    Ok(HttpResponse::Created().json(run(move || app.create_queue(&who, b.into_inner(), crate::app::now())).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewTokenRequest {
    user: String,
    name: String,
    #[serde(default)]
    scope: Option<String>,
    expires_in_days: Option<i64>,
}

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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecomputeRequest {
    organisation: Option<String>,
    ticket: Option<String>,
    #[serde(default)]
    dry_run: bool,
}

/// Admin: recompute open tickets on the policy and holidays now in force.
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
