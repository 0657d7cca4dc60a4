//! Sign-in, the second factor, TOTP enrolment, sign-out and the account page.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::{
    AnySession, PRE_COOKIE, State, Viewer, Web, WebError, form_status, page, page_with_status, redirect,
    removal_cookie, run, run_form, session_cookie,
};
use crate::app::AppError;
use crate::app::sessions::{MIN_PASSWORD, Stage};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in_page))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-in/code", web::get().to(code_page))
        .route("/sign-in/code", web::post().to(code))
        .route("/sign-out", web::post().to(sign_out))
        .route("/account", web::get().to(account))
        .route("/account/password", web::post().to(change_password))
        .route("/account/time-zone", web::post().to(time_zone))
        .route("/account/totp", web::get().to(enrol_page))
        .route("/account/totp", web::post().to(enrol));
}

fn pre_token(req: &HttpRequest) -> Option<String> {
    req.cookie(PRE_COOKIE).map(|c| c.value().to_string())
}

fn new_pre_cookie(req: &HttpRequest) -> Cookie<'static> {
    let mut raw = [0u8; 24];
    rand::fill(&mut raw);
    let mut c = Cookie::new(PRE_COOKIE, raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_path("/sign-in");
    c.set_secure(crate::api::client::Client::of(req).https);
    c
}

fn sign_in_form(
    req: &HttpRequest,
    app: &crate::app::App,
    status: StatusCode,
    email: &str,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let cookie = match req.cookie(PRE_COOKIE) {
        Some(c) => c.into_owned(),
        None => new_pre_cookie(req),
    };
    let sso = app.sso();
    for p in sso.staff.iter().chain(&sso.organisations) {
        super::allow_form_origin(&p.issuer);
    }
    let mut r = page_with_status(
        status,
        None,
        "Sign in",
        "sign_in",
        json!({
            "pre": cookie.value(), "email": email, "error": error,
            "sso_staff": sso.staff.as_ref().map(|p| p.label.clone()),
            "sso_by_email": !sso.organisations.is_empty() || sso.staff.as_ref().is_some_and(|p| !p.domains.is_empty()),
        }),
    )?;
    r.add_cookie(&cookie)
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    Ok(r)
}

async fn sign_in_page(req: HttpRequest, app: State) -> Result<HttpResponse, WebError> {
    sign_in_form(&req, &app, StatusCode::OK, "", None)
}

/// The sign-in form again, after a form that had expired (403).
pub(super) fn sign_in_again(
    req: &HttpRequest,
    app: &crate::app::App,
    email: &str,
    why: &str,
) -> Result<HttpResponse, WebError> {
    sign_in_form(req, app, StatusCode::FORBIDDEN, email, Some(why.to_string()))
}

/// The sign-in form with why a sign-in was refused.
pub(super) fn sign_in_refused(
    req: &HttpRequest,
    app: &crate::app::App,
    status: StatusCode,
    why: &str,
) -> Result<HttpResponse, WebError> {
    sign_in_form(req, app, status, "", Some(why.to_string()))
}

#[derive(Deserialize)]
struct SignInForm {
    email: String,
    password: String,
    pre: String,
}

async fn sign_in(
    req: HttpRequest,
    app: State,
    web_state: Web,
    form: web::Form<SignInForm>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    if pre_token(&req).is_none_or(|t| !super::constant_eq(t.as_bytes(), form.pre.as_bytes())) {
        return sign_in_form(
            &req,
            &app,
            StatusCode::FORBIDDEN,
            &form.email,
            Some("The sign-in form had expired; please try again.".into()),
        );
    }
    let remote = crate::api::client::Client::of(&req).addr_text();
    let now = crate::app::now();
    let a = app.get_ref().clone();
    let email = form.email.clone();
    let outcome = run(move || match a.sign_in(&form.email, &form.password, remote, now) {
        Ok(ok) => Ok(Ok(ok)),
        Err(AppError::Unauthenticated(m) | AppError::Forbidden(m)) => Ok(Err((StatusCode::UNAUTHORIZED, m))),
        Err(AppError::RateLimited(m, _)) => Ok(Err((StatusCode::TOO_MANY_REQUESTS, m))),
        Err(e) => Err(e),
    })
    .await?;
    match outcome {
        Ok((token, stage)) => {
            let mut r = redirect(match stage {
                Stage::Code => "/sign-in/code",
                Stage::Enrol => "/account/totp",
                Stage::Full => "/",
            });
            r.add_cookie(&session_cookie(&req, &web_state.key, &token))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            r.add_removal_cookie(&removal_cookie(PRE_COOKIE))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            Ok(r)
        }
        Err((status, message)) => sign_in_form(&req, &app, status, &email, Some(message)),
    }
}

async fn code_page(s: AnySession) -> Result<HttpResponse, WebError> {
    if s.session.stage != Stage::Code {
        return Ok(redirect("/"));
    }
    page(Some(&s.session), "Enter your code", "code", json!({}))
}

#[derive(Deserialize)]
struct CodeForm {
    code: String,
    csrf: String,
}

async fn code(
    req: HttpRequest,
    s: AnySession,
    app: State,
    web_state: Web,
    form: web::Form<CodeForm>,
) -> Result<HttpResponse, WebError> {
    if s.session.stage != Stage::Code {
        return Ok(redirect("/"));
    }
    check(&s, &form.csrf)?;
    let app = app.get_ref().clone();
    let token = s.token.clone();
    let code = form.code.clone();
    let remote = crate::api::client::Client::of(&req).addr_text();
    let outcome = run(
        move || match app.verify_code(&token, &code, remote, crate::app::now()) {
            Ok(t) => Ok(Ok(t)),
            Err(AppError::Unauthenticated(m) | AppError::Forbidden(m)) => Ok(Err(m)),
            Err(e) => Err(e),
        },
    )
    .await?;
    match outcome {
        Ok(new_token) => {
            let mut r = redirect("/");
            r.add_cookie(&session_cookie(&req, &web_state.key, &new_token))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            Ok(r)
        }
        Err(message) => page_with_status(
            StatusCode::UNAUTHORIZED,
            Some(&s.session),
            "Enter your code",
            "code",
            json!({"error": message}),
        ),
    }
}

fn check(s: &AnySession, sent: &str) -> Result<(), WebError> {
    Viewer {
        session: s.session.clone(),
        token: s.token.clone(),
    }
    .check_csrf(sent)
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn sign_out(s: AnySession, app: State, form: web::Form<CsrfOnly>) -> Result<HttpResponse, WebError> {
    check(&s, &form.csrf)?;
    let token = s.token.clone();
    let a = app.get_ref().clone();
    let elsewhere = run(move || {
        Ok(match a.sign_out(&token, crate::app::now())? {
            // Signed in at a provider: sign out there too, when it offers it.
            Some((key, id_token)) => a.sso().by_key(&key).and_then(|p| {
                let after = a.page_url("/sign-in");
                crate::net::oidc::end_session_url(p, &id_token, &after)
            }),
            None => None,
        })
    })
    .await?;
    if let Some(url) = &elsewhere {
        super::allow_form_origin(url);
    }
    let mut r = redirect(elsewhere.as_deref().unwrap_or("/sign-in"));
    r.add_removal_cookie(&removal_cookie(super::SESSION_COOKIE))
        .map_err(|e| WebError::bad_request(e.to_string()))?;
    Ok(r)
}

fn qr_svg(url: &str) -> Result<String, WebError> {
    let code = qrcode::QrCode::new(url.as_bytes()).map_err(|e| WebError::bad_request(e.to_string()))?;
    Ok(code
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(220, 220)
        .quiet_zone(true)
        .build())
}

async fn enrol_page(s: AnySession, app: State) -> Result<HttpResponse, WebError> {
    if s.session.stage == Stage::Code {
        return Ok(redirect("/sign-in/code"));
    }
    enrol_form(&s, app, None).await
}

async fn enrol_form(s: &AnySession, app: State, error: Option<String>) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let token = s.token.clone();
    let e = run(move || app.begin_enrolment(&token, crate::app::now())).await?;
    // Spaced in fours, as authenticator apps show secrets typed by hand.
    let spaced: Vec<String> = e
        .secret
        .as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect();
    page_with_status(
        form_status(&error),
        Some(&s.session),
        "Set up two-step sign-in",
        "enrol",
        json!({
            "qr": qr_svg(&e.url)?,
            "secret": spaced.join(" "),
            "secret_raw": e.secret,
            "required": s.session.stage == Stage::Enrol,
            "again": s.session.totp_enrolled,
            "error": error,
        }),
    )
}

#[derive(Deserialize)]
struct EnrolForm {
    code: String,
    csrf: String,
    /// Replacing an enrolled authenticator: the password and a current code.
    current_password: Option<String>,
    current_code: Option<String>,
}

async fn enrol(
    req: HttpRequest,
    s: AnySession,
    app: State,
    web_state: Web,
    form: web::Form<EnrolForm>,
) -> Result<HttpResponse, WebError> {
    if s.session.stage == Stage::Code {
        return Ok(redirect("/sign-in/code"));
    }
    check(&s, &form.csrf)?;
    let a = app.get_ref().clone();
    let token = s.token.clone();
    let code = form.code.clone();
    let reauth = match (&form.current_password, &form.current_code) {
        (Some(p), Some(c)) => Some(crate::app::sessions::Reauth {
            password: p.clone(),
            current_code: c.clone(),
        }),
        _ => None,
    };
    let remote = crate::api::client::Client::of(&req).addr_text();
    let outcome =
        run_form(move || a.finish_enrolment(&token, &code, reauth.as_ref(), remote, crate::app::now())).await?;
    match outcome {
        Ok((new_token, codes)) => {
            let a = app.get_ref().clone();
            let t = new_token.clone();
            let session = run(move || a.web_session(&t, None, crate::app::now()))
                .await?
                .ok_or(WebError::SignIn)?;
            let mut r = page(
                Some(&session),
                "Your recovery codes",
                "recovery_codes",
                json!({"codes": codes}),
            )?;
            r.add_cookie(&session_cookie(&req, &web_state.key, &new_token))
                .map_err(|e| WebError::bad_request(e.to_string()))?;
            Ok(r)
        }
        Err(r) => enrol_form(&s, app, Some(r.message)).await,
    }
}

/// Zones offered on the account page; any IANA name is accepted.
const ZONES: &[&str] = &[
    "Europe/London",
    "Europe/Dublin",
    "Europe/Paris",
    "Europe/Berlin",
    "UTC",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Kolkata",
    "Asia/Singapore",
    "Australia/Sydney",
];

async fn account_page(
    app: &State,
    v: &Viewer,
    notice: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let current = v.tz().name().to_string();
    let mut zones: Vec<serde_json::Value> = ZONES
        .iter()
        .map(|z| json!({"name": z, "selected": *z == current}))
        .collect();
    if !ZONES.contains(&current.as_str()) {
        zones.push(json!({"name": current, "selected": true}));
    }
    let a = app.get_ref().clone();
    let who = v.who();
    let sub = run(move || a.my_status_subscription(&who)).await?;
    page_with_status(
        status,
        Some(&v.session),
        "Your account",
        "account",
        json!({
            "status_subscription": sub.as_ref().map(|s| &s.1),
            "status_manage": sub.as_ref().map(|s| format!("/status/subscriptions/{}", s.0)),
            "zones": zones,
            "enrolled": v.session.totp_enrolled,
            "min_password": MIN_PASSWORD,
            "notice": notice,
            "error": error,
        }),
    )
}

#[derive(Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn account(v: Viewer, app: State, q: web::Query<Notice>) -> Result<HttpResponse, WebError> {
    let notice = match q.done.as_deref() {
        Some("password") => Some("Your password is changed; your other sessions have been signed out."),
        Some("time-zone") => Some("Times are now shown in your new time zone."),
        Some("status-updates") => Some("The status page's updates will be mailed to you."),
        _ => None,
    };
    account_page(&app, &v, notice, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current_password: String,
    new_password: String,
    confirm_password: String,
    csrf: String,
}

async fn change_password(v: Viewer, app: State, form: web::Form<PasswordForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let form = form.into_inner();
    if form.new_password != form.confirm_password {
        return account_page(
            &app,
            &v,
            None,
            Some("The new password and its confirmation differ.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let a = app.get_ref().clone();
    let (who, token) = (v.who(), v.token.clone());
    let outcome = run_form(move || {
        a.change_password(
            &who,
            &token,
            &form.current_password,
            &form.new_password,
            crate::app::now(),
        )
    })
    .await?;
    match outcome {
        Ok(()) => Ok(redirect("/account?done=password")),
        Err(r) => account_page(&app, &v, None, Some(r.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

#[derive(Deserialize)]
struct ZoneForm {
    time_zone: String,
    csrf: String,
}

async fn time_zone(v: Viewer, app: State, form: web::Form<ZoneForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let a = app.get_ref().clone();
    let who = v.who();
    let zone = form.time_zone.clone();
    let outcome = run_form(move || a.set_time_zone(&who, &zone, crate::app::now())).await?;
    match outcome {
        Ok(()) => Ok(redirect("/account?done=time-zone")),
        Err(r) => account_page(&app, &v, None, Some(r.message), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}
