//! Server-rendered pages for customers, agents, managers and admins.
//!
//! Thin like the API: each handler finds the signed-in viewer, calls the
//! same use case the API calls (so a page can show nothing the API would
//! refuse), and renders a handlebars template from `templates/web/`.
//! Every page is sent with a script-free-inline CSP, no framing and
//! `no-store`; every form carries the session's CSRF token.

mod auth;
mod mailroom;
mod manage;
mod sso;
mod status;
mod tickets;
pub mod upload;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

use actix_web::cookie::{Cookie, Key, SameSite};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use handlebars::Handlebars;
use serde_json::{Value, json};

use crate::app::sessions::{Stage, WebSession};
use crate::app::{App, AppError, Role};

/// The web session's cookie.
pub const SESSION_COOKIE: &str = "sladesk_session";
/// Signed-out forms (sign-in) are protected by a token in this cookie and
/// the form alike, since there is no session to hold one.
const PRE_COOKIE: &str = "sladesk_pre";

/// The pages' Content-Security-Policy: our own scripts and styles only.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Origins a form may lead to besides our own: the identity providers a
/// sign-in or sign-out form redirects to (browsers hold a form's redirects
/// to its page's `form-action`). Only ever grows, by the providers this
/// process has sent someone to.
static FORM_ORIGINS: std::sync::RwLock<String> = std::sync::RwLock::new(String::new());

/// Lets forms lead to `url`'s origin from now on.
pub(crate) fn allow_form_origin(url: &str) {
    let Ok(u) = url::Url::parse(url) else { return };
    let origin = u.origin().ascii_serialization();
    if origin == "null" || FORM_ORIGINS.read().expect("lock").split(' ').any(|o| o == origin) {
        return;
    }
    let mut w = FORM_ORIGINS.write().expect("lock");
    w.push(' ');
    w.push_str(&origin);
}

/// `CSP` with the providers' origins in `form-action`.
fn csp() -> String {
    let extra = FORM_ORIGINS.read().expect("lock");
    CSP.replace("form-action 'self'", &format!("form-action 'self'{extra}"))
}

/// What the pages share: the cookie key and the dashboard's figures.
pub struct WebState {
    key: Key,
    /// The desk's month-to-date report for the dashboard and when it was
    /// computed: it replays every ticket of the month, so managers share one
    /// computation, refreshed in the background once `COMPLIANCE_SECONDS`
    /// old (the page meanwhile shows the last one, with its time).
    compliance: Mutex<Option<(DateTime<Utc>, Value)>>,
    /// A refresh of `compliance` is running in the background.
    refreshing: std::sync::atomic::AtomicBool,
}

/// How long the dashboard's month-to-date compliance is reused.
pub const COMPLIANCE_SECONDS: i64 = 300;

impl WebState {
    /// Reads (or makes) the cookie key from the store, so every server on
    /// one database accepts the others' cookies.
    pub fn new(app: &App) -> anyhow::Result<WebState> {
        use anyhow::Context;
        let bytes = app.web_cookie_key(crate::app::now())?;
        let key = Key::try_from(bytes.as_slice()).context("web cookie key")?;
        Ok(WebState {
            key,
            compliance: Mutex::new(None),
            refreshing: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The desk's month-to-date report as last computed, if it is this
    /// month's, and whether it is older than `COMPLIANCE_SECONDS`.
    fn compliance(&self, now: DateTime<Utc>) -> Option<((DateTime<Utc>, Value), bool)> {
        let c = self.compliance.lock().expect("lock");
        c.as_ref()
            .filter(|(_, r)| {
                r["month"].as_str() == Some(&crate::domain::availability::Month::containing(now).to_string())
            })
            .map(|(at, r)| ((*at, r.clone()), (now - *at).num_seconds() >= COMPLIANCE_SECONDS))
    }

    fn keep_compliance(&self, at: DateTime<Utc>, report: Value) {
        *self.compliance.lock().expect("lock") = Some((at, report));
    }

    /// True for the one caller that should refresh the report now.
    fn begin_refresh(&self) -> bool {
        !self.refreshing.swap(true, std::sync::atomic::Ordering::AcqRel)
    }

    fn end_refresh(&self) {
        self.refreshing.store(false, std::sync::atomic::Ordering::Release);
    }
}

type Web = web::Data<Arc<WebState>>;
type State = web::Data<Arc<App>>;

/// The templates, compiled into the binary so a deployment cannot run
/// with pages from another version.
static TEMPLATES: std::sync::LazyLock<Handlebars<'static>> = std::sync::LazyLock::new(|| {
    let mut h = Handlebars::new();
    h.set_strict_mode(false);
    macro_rules! page {
        ($($name:literal),* $(,)?) => {
            $(h.register_template_string($name, include_str!(concat!("../../templates/web/", $name, ".hbs")))
                .expect(concat!("templates/web/", $name, ".hbs"));)*
        };
    }
    page!(
        "layout",
        "error",
        "sign_in",
        "code",
        "enrol",
        "recovery_codes",
        "account",
        "tickets",
        "new_ticket",
        "ticket",
        "queue",
        "dashboard",
        "reports",
        "outages",
        "admin",
        "policies",
        "quarantine",
        "outbox",
        "status",
        "subscription",
        "incident",
        "search",
        "bulk",
        "macros",
        "catalogue",
        "request_form",
        "known_errors",
        "cab",
        "change_calendar",
        "disputes",
        "dispute",
    );
    h.register_partial("countdown", include_str!("../../templates/web/countdown.hbs"))
        .expect("templates/web/countdown.hbs");
    h.register_partial("pager", include_str!("../../templates/web/pager.hbs"))
        .expect("templates/web/pager.hbs");
    h
});

const APP_CSS: &str = include_str!("../../templates/web/assets/app.css");
const APP_JS: &str = include_str!("../../templates/web/assets/app.js");
const FAVICON: &str = include_str!("../../templates/web/assets/favicon.svg");

/// An instant as a viewer reads it: in their zone, with the zone's
/// abbreviation, and the exact instant for machines.
pub fn when(t: DateTime<Utc>, tz: Tz) -> Value {
    let local = t.with_timezone(&tz);
    json!({
        "text": local.format("%a %-d %b %Y %H:%M %Z").to_string(),
        "iso": t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    })
}

/// An optional instant for a template, in `tz`.
pub fn when_opt(t: Option<DateTime<Utc>>, tz: Tz) -> Value {
    t.map(|t| when(t, tz)).unwrap_or(Value::Null)
}

/// A page: the body template inside the layout, with the viewer's
/// navigation and CSRF token.
pub fn page(viewer: Option<&WebSession>, title: &str, template: &str, data: Value) -> Result<HttpResponse, WebError> {
    page_with_status(StatusCode::OK, viewer, title, template, data)
}

/// A form page: 200, or 422 when it comes back with the reason it was refused.
pub fn form_status<T>(error: &Option<T>) -> StatusCode {
    if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

/// A page answered with another status: a form sent back, a refused code.
pub fn page_with_status(
    status: StatusCode,
    viewer: Option<&WebSession>,
    title: &str,
    template: &str,
    mut data: Value,
) -> Result<HttpResponse, WebError> {
    if let (Some(v), Some(obj)) = (viewer, data.as_object_mut()) {
        obj.insert("csrf".into(), json!(v.csrf_token));
        obj.insert("viewer".into(), viewer_json(v));
    }
    let body = TEMPLATES
        .render(template, &data)
        .map_err(|e| WebError::internal(format!("template {template}: {e}")))?;
    let layout = json!({
        "title": title,
        "body": body,
        "viewer": viewer.map(viewer_json),
        "csrf": viewer.map(|v| v.csrf_token.clone()),
    });
    let html = TEMPLATES
        .render("layout", &layout)
        .map_err(|e| WebError::internal(format!("template layout: {e}")))?;
    Ok(html_response(status, html))
}

fn viewer_json(v: &WebSession) -> Value {
    let role = v.principal.role;
    json!({
        "name": v.name,
        "email": v.principal.email,
        "role": role.as_str(),
        "time_zone": v.time_zone.name(),
        "customer": role == Role::Customer,
        "staff": role.is_staff(),
        "manager": matches!(role, Role::Manager | Role::Admin),
        "admin": role == Role::Admin,
        "full": v.stage == Stage::Full,
    })
}

fn html_response(status: StatusCode, html: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(ContentType::html())
        .insert_header((header::CONTENT_SECURITY_POLICY, csp()))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "same-origin"))
        .body(html)
}

/// 303 See Other to `to`.
pub fn redirect(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// Why a page could not be shown: rendered as a page, never as a panic.
#[derive(Debug)]
pub enum WebError {
    /// Not signed in (or no longer): go and sign in.
    SignIn,
    Redirect(String),
    Page {
        status: StatusCode,
        title: String,
        detail: String,
    },
}

impl WebError {
    fn internal(detail: String) -> WebError {
        tracing::error!(%detail, "page failed");
        WebError::Page {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            title: "Something went wrong".into(),
            detail: "the page could not be shown; the error has been logged".into(),
        }
    }

    /// The page for anything the visitor may not see, or that is not there.
    pub fn not_found() -> WebError {
        WebError::Page {
            status: StatusCode::NOT_FOUND,
            title: "Not found".into(),
            detail: "There is no such page, or it is not yours to see.".into(),
        }
    }

    fn bad_request(detail: impl Into<String>) -> WebError {
        WebError::Page {
            status: StatusCode::BAD_REQUEST,
            title: "That request could not be read".into(),
            detail: detail.into(),
        }
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebError::SignIn => write!(f, "sign in"),
            WebError::Redirect(to) => write!(f, "see {to}"),
            WebError::Page { title, detail, .. } => write!(f, "{title}: {detail}"),
        }
    }
}

impl From<AppError> for WebError {
    fn from(e: AppError) -> WebError {
        let page = |status, title: &str, detail: String| WebError::Page {
            status,
            title: title.into(),
            detail,
        };
        match e {
            AppError::NotFound(_) => WebError::not_found(),
            AppError::Unauthenticated(_) => WebError::SignIn,
            AppError::Forbidden(m) => page(StatusCode::FORBIDDEN, "Not allowed", m),
            AppError::Invalid { field, message } => page(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Please check",
                format!("{field}: {message}"),
            ),
            AppError::NotForCaller { field, message } => page(
                StatusCode::BAD_REQUEST,
                "Not available to you",
                format!("{field}: {message}"),
            ),
            AppError::Conflict(m) => page(StatusCode::CONFLICT, "That cannot be done now", m),
            AppError::RateLimited(m, _) => page(StatusCode::TOO_MANY_REQUESTS, "Too many requests", m),
            AppError::Command(c) => page(StatusCode::CONFLICT, "That cannot be done now", c.to_string()),
            AppError::Store(s) => {
                tracing::error!(error = ?s, "storage failure");
                page(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Unavailable",
                    "the database could not complete the request (it may be restarting): try again in a moment".into(),
                )
            }
            AppError::Internal(cause) => WebError::internal(cause.clone()),
        }
    }
}

impl From<actix_web::error::BlockingError> for WebError {
    fn from(_: actix_web::error::BlockingError) -> WebError {
        WebError::Page {
            status: StatusCode::SERVICE_UNAVAILABLE,
            title: "Busy".into(),
            detail: "the server is too busy: try again in a moment".into(),
        }
    }
}

impl ResponseError for WebError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebError::SignIn | WebError::Redirect(_) => StatusCode::SEE_OTHER,
            WebError::Page { status, .. } => *status,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            WebError::SignIn => redirect("/sign-in"),
            WebError::Redirect(to) => redirect(to),
            WebError::Page { status, title, detail } => {
                let body = TEMPLATES
                    .render("error", &json!({"title": title, "detail": detail}))
                    .unwrap_or_else(|_| "error".into());
                let html = TEMPLATES
                    .render("layout", &json!({"title": title, "body": body}))
                    .unwrap_or(body);
                let mut r = html_response(*status, html);
                if *status == StatusCode::SERVICE_UNAVAILABLE {
                    r.headers_mut().insert(
                        actix_web::http::header::RETRY_AFTER,
                        actix_web::http::header::HeaderValue::from_static("2"),
                    );
                }
                r
            }
        }
    }
}

/// Runs a use case on the blocking pool.
pub async fn run<T, F>(f: F) -> Result<T, WebError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    Ok(web::block(f).await??)
}

/// A use case's refusal that goes back to its form, to be shown beside what
/// the user typed: which field (if one) and why.
#[derive(Debug)]
pub struct Refusal {
    pub field: String,
    pub message: String,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{}: {}", self.field.replace('_', " "), self.message)
        }
    }
}

/// Runs a use case behind a form: bad input, a move the ticket's state does
/// not allow, and conflicts come back as a `Refusal` for the form; anything
/// else is an error page.
pub async fn run_form<T, F>(f: F) -> Result<Result<T, Refusal>, WebError>
where
    F: FnOnce() -> Result<T, AppError> + Send + 'static,
    T: Send + 'static,
{
    let refusal = |field: String, message: String| Ok(Err(Refusal { field, message }));
    match web::block(f).await? {
        Ok(v) => Ok(Ok(v)),
        Err(AppError::Invalid { field, message }) => refusal(field, message),
        Err(AppError::Command(c)) => refusal(String::new(), c.to_string()),
        Err(AppError::Conflict(m)) => refusal(String::new(), m),
        Err(e) => Err(e.into()),
    }
}

fn session_token(req: &HttpRequest, key: &Key) -> Option<String> {
    let c = req.cookie(SESSION_COOKIE)?;
    let mut jar = actix_web::cookie::CookieJar::new();
    jar.add_original(c);
    jar.signed(key).get(SESSION_COOKIE).map(|c| c.value().to_string())
}

/// A session cookie: signed, HttpOnly, SameSite=Strict, Secure over HTTPS.
fn session_cookie(req: &HttpRequest, key: &Key, token: &str) -> Cookie<'static> {
    let mut jar = actix_web::cookie::CookieJar::new();
    let mut c = Cookie::new(SESSION_COOKIE, token.to_string());
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/");
    c.set_secure(crate::api::client::Client::of(req).https);
    jar.signed_mut(key).add(c);
    jar.get(SESSION_COOKIE).cloned().expect("just added")
}

fn removal_cookie(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::new(name, "");
    c.set_path("/");
    c.make_removal();
    c
}

/// The signed-in viewer of a page, at any stage of sign-in.
pub struct AnySession {
    pub session: WebSession,
    pub token: String,
}

impl FromRequest for AnySession {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<AnySession, WebError>>>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let app = req.app_data::<State>().cloned();
        let web_state = req.app_data::<Web>().cloned();
        let remote = crate::api::client::Client::of(req).addr_text();
        let token = web_state.as_ref().and_then(|w| session_token(req, &w.key));
        Box::pin(async move {
            let (Some(app), Some(token)) = (app, token) else {
                return Err(WebError::SignIn);
            };
            let t = token.clone();
            let session = run(move || app.web_session(&t, remote, crate::app::now())).await?;
            session
                .map(|session| AnySession { session, token })
                .ok_or(WebError::SignIn)
        })
    }
}

/// The fully signed-in viewer; a session still owing its second factor
/// (or its enrolment) is sent to finish that first.
pub struct Viewer {
    pub session: WebSession,
    pub token: String,
}

impl Viewer {
    /// Who is signed in.
    pub fn who(&self) -> crate::app::Principal {
        self.session.principal.clone()
    }

    /// The signed-in person's time zone.
    pub fn tz(&self) -> Tz {
        self.session.time_zone
    }

    /// Every form posts the session's token: a forged cross-site form cannot know it.
    pub fn check_csrf(&self, sent: &str) -> Result<(), WebError> {
        if constant_eq(sent.as_bytes(), self.session.csrf_token.as_bytes()) {
            Ok(())
        } else {
            Err(WebError::Page {
                status: StatusCode::FORBIDDEN,
                title: "The form has expired".into(),
                detail: "Go back, reload the page and send it again.".into(),
            })
        }
    }
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for Viewer {
    type Error = WebError;
    type Future = Pin<Box<dyn Future<Output = Result<Viewer, WebError>>>>;

    fn from_request(req: &HttpRequest, p: &mut actix_web::dev::Payload) -> Self::Future {
        let any = AnySession::from_request(req, p);
        Box::pin(async move {
            let AnySession { session, token } = any.await?;
            match session.stage {
                Stage::Full => Ok(Viewer { session, token }),
                Stage::Code => Err(WebError::Redirect("/sign-in/code".into())),
                Stage::Enrol => Err(WebError::Redirect("/account/totp".into())),
            }
        })
    }
}

/// Configures the pages on an actix `App`. Query strings are read with the
/// API's `QueryConfig` (app data is per type, and the pages' queries are all
/// optional text, so they never fail on content); forms are the pages' own.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.app_data(
        web::FormConfig::default()
            .limit(crate::api::BODY_LIMIT)
            .error_handler(|e, _| WebError::bad_request(e.to_string()).into()),
    )
    .route("/", web::get().to(home))
    .route("/assets/{name}", web::get().to(asset))
    // Browsers ask for /favicon.ico whatever the page says.
    .route("/favicon.ico", web::get().to(|| async { asset_named("favicon.svg") }))
    .configure(auth::configure)
    .configure(sso::configure)
    .configure(tickets::configure)
    .configure(mailroom::configure)
    .configure(manage::configure)
    .configure(status::configure);
}

/// The page a viewer starts from.
async fn home(v: Result<Viewer, WebError>) -> Result<HttpResponse, WebError> {
    let v = v?;
    Ok(redirect(match v.session.principal.role {
        Role::Customer => "/tickets",
        Role::Agent => "/queue",
        Role::Manager | Role::Admin => "/dashboard",
    }))
}

async fn asset(path: web::Path<String>) -> Result<HttpResponse, WebError> {
    asset_named(path.as_str())
}

fn asset_named(name: &str) -> Result<HttpResponse, WebError> {
    let (body, ctype) = match name {
        "app.css" => (APP_CSS, "text/css; charset=utf-8"),
        "app.js" => (APP_JS, "text/javascript; charset=utf-8"),
        "favicon.svg" => (FAVICON, "image/svg+xml"),
        _ => return Err(WebError::not_found()),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .body(body))
}

/// The not-found page for any path nothing else answers.
pub async fn not_found() -> Result<HttpResponse, WebError> {
    Err(WebError::not_found())
}
