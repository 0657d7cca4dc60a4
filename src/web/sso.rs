//! Single sign-on's pages: the button that sends the browser to its
//! provider (`POST /sign-in/sso`, from the sign-in form, by provider or by
//! the e-mail address's domain), and the page the provider sends it back
//! to (`GET /sign-in/sso/callback`). The protocol is `net::oidc`'s; who may
//! sign in as whom, `app::sso`'s.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use super::{PRE_COOKIE, State, Web, WebError, removal_cookie, run, session_cookie};
use crate::app::AppError;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in/sso", web::post().to(start))
        .route("/sign-in/sso/callback", web::get().to(callback));
}

/// Where providers send the browser back: one address for them all (the
/// pending sign-in says which provider it was).
pub fn callback_url(app: &crate::app::App) -> String {
    app.page_url("/sign-in/sso/callback")
}

#[derive(Deserialize)]
struct StartForm {
    pre: String,
    /// `staff`, or empty to choose by `email`.
    #[serde(default)]
    provider: String,
    #[serde(default)]
    email: String,
}

async fn start(req: HttpRequest, app: State, form: web::Form<StartForm>) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    if req
        .cookie(PRE_COOKIE)
        .is_none_or(|t| !super::constant_eq(t.value().as_bytes(), form.pre.as_bytes()))
    {
        return super::auth::sign_in_again(
            &req,
            &app,
            &form.email,
            "The sign-in form had expired; please try again.",
        );
    }
    let remote = crate::api::client::Client::of(&req).addr_text();
    let a = app.get_ref().clone();
    let email = form.email.trim().to_string();
    let outcome = run(move || {
        let sso = a.sso();
        let provider = if form.provider.is_empty() {
            sso.for_email(&email).cloned()
        } else {
            sso.by_key(&form.provider).cloned()
        };
        let Some(p) = provider else {
            return Ok(Err(if email.is_empty() {
                "enter your e-mail address to find your organisation's sign-in".to_string()
            } else {
                format!("{email} does not sign in with single sign-on here; use your password")
            }));
        };
        let hint = (!email.is_empty()).then_some(email.as_str());
        let (url, begun) = crate::net::oidc::begin(&p, &callback_url(&a), hint)?;
        a.sso_begin(&p.key, &begun, hint, remote, crate::app::now())?;
        super::allow_form_origin(&url);
        Ok(Ok(url))
    })
    .await;
    match outcome {
        Ok(Ok(url)) => Ok(super::redirect(&url)),
        Ok(Err(why)) => super::auth::sign_in_again(&req, &app, &form.email, &why),
        Err(WebError::Page { detail, .. }) => super::auth::sign_in_again(&req, &app, &form.email, &detail),
        Err(e) => Err(e),
    }
}

#[derive(Deserialize)]
struct Answer {
    state: Option<String>,
    code: Option<String>,
    iss: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

async fn callback(
    req: HttpRequest,
    app: State,
    web_state: Web,
    q: web::Query<Answer>,
) -> Result<HttpResponse, WebError> {
    let q = q.into_inner();
    let remote = crate::api::client::Client::of(&req).addr_text();
    let a = app.get_ref().clone();
    let outcome = web::block(move || -> Result<String, AppError> {
        let now = crate::app::now();
        let state = q
            .state
            .as_deref()
            .ok_or_else(|| AppError::Unauthenticated("the answer has no state; start again".into()))?;
        // Taken first, whatever the answer: a state is good once.
        let pending = a.sso_take(state, now)?;
        if let Some(e) = &q.error {
            let said = q.error_description.as_deref().unwrap_or(e);
            return Err(AppError::Forbidden(format!("the provider did not sign you in: {said}")));
        }
        let code = q
            .code
            .as_deref()
            .ok_or_else(|| AppError::Unauthenticated("the answer has no code; start again".into()))?;
        let identity = crate::net::oidc::finish(&pending, &callback_url(&a), code, q.iss.as_deref())?;
        a.sso_sign_in(&pending.provider, &identity, remote, now)
    })
    .await?;
    match outcome {
        Ok(token) => {
            // A page rather than a redirect: the session cookie is
            // SameSite=Strict, and a browser does not send it on a redirect
            // chain that began at the provider; a navigation from this page
            // is the desk's own.
            let mut r = HttpResponse::Ok()
                .content_type("text/html; charset=utf-8")
                .insert_header(("Cache-Control", "no-store"))
                .insert_header(("Content-Security-Policy", super::CSP))
                .insert_header(("Referrer-Policy", "no-referrer"))
                .body(concat!(
                    "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
                    "<meta http-equiv=\"refresh\" content=\"0;url=/\"><title>Signed in</title></head>",
                    "<body><main><p>Signed in. <a href=\"/\">Continue to the service desk</a>.</p></main></body></html>"
                ));
            r.add_cookie(&session_cookie(&req, &web_state.key, &token))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            r.add_removal_cookie(&removal_cookie(PRE_COOKIE))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            Ok(r)
        }
        Err(AppError::Unauthenticated(m) | AppError::Forbidden(m) | AppError::Conflict(m)) => {
            super::auth::sign_in_refused(&req, &app, StatusCode::FORBIDDEN, &m)
        }
        Err(AppError::RateLimited(m, _)) => super::auth::sign_in_refused(&req, &app, StatusCode::TOO_MANY_REQUESTS, &m),
        Err(e) => Err(e.into()),
    }
}
