//! The pages' security over plain HTTP, on both backends: cookie flags,
//! CSRF, headers, lockout, rate limiting, TOTP codes good once, sign-out,
//! and the same authorisation as the API.

use std::collections::HashMap;

use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use sladesk::app::sessions::totp_code;
use sladesk::app::{Principal, Role};

use crate::helpers::{Db, TestApp, spawn_app, web_users};

const PASSWORD: &str = "web-test-password";
const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// A browser without a browser: keeps cookies, follows no redirects.
struct Web {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
    /// The client address a trusted proxy would pass on, if any.
    forwarded_for: Option<String>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Web {
    fn new(t: &TestApp) -> Web {
        Web {
            base: t.address.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            forwarded_for: None,
        }
    }

    /// A browser at `addr`, behind the proxy the server trusts.
    fn at(t: &TestApp, addr: &str) -> Web {
        Web {
            forwarded_for: Some(addr.to_string()),
            ..Web::new(t)
        }
    }

    /// One request with the cookies kept so far; a body comes with its content type.
    async fn send(&mut self, method: Method, path: &str, body: Option<(String, String)>) -> Page {
        let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if !cookie.is_empty() {
            req = req.header(COOKIE, cookie.join("; "));
        }
        if let Some(a) = &self.forwarded_for {
            req = req.header("X-Forwarded-For", a.as_str());
        }
        if let Some((content_type, body)) = body {
            req = req.header("content-type", content_type).body(body);
        }
        let r = req.send().await.unwrap();
        for c in r.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, _) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            if c.contains("Max-Age=0") || v.is_empty() {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: r.status(),
            location: r.headers().get(LOCATION).map(|l| l.to_str().unwrap().to_string()),
            headers: r.headers().clone(),
            body: r.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let body = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form.iter())
            .finish();
        let form = ("application/x-www-form-urlencoded".to_string(), body);
        self.send(Method::POST, path, Some(form)).await
    }

    /// A multipart form, as the pages with file inputs send it: the CSRF
    /// token in the form action's query string too, as the pages put it.
    async fn post_multipart(&mut self, path: &str, fields: &[(&str, &str)], file: Option<(&str, &str)>) -> Page {
        let path = match fields.iter().find(|(k, _)| *k == "csrf") {
            Some((_, token)) => format!("{path}?csrf={token}"),
            None => path.to_string(),
        };
        let path = path.as_str();
        let boundary = "sladesk-test-boundary";
        let mut body = String::new();
        for (k, v) in fields {
            body += &format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n");
        }
        if let Some((name, content)) = file {
            body += &format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"{name}\"\r\n\
                 Content-Type: text/plain\r\n\r\n{content}\r\n"
            );
        }
        body += &format!("--{boundary}--\r\n");
        let form = (format!("multipart/form-data; boundary={boundary}"), body);
        self.send(Method::POST, path, Some(form)).await
    }

    /// The value of a hidden input on a page.
    fn hidden(page: &Page, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let at = page
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no {name} on the page"));
        page.body[at + marker.len()..].split('"').next().unwrap().to_string()
    }

    async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        let form = self.get("/sign-in").await;
        let pre = Self::hidden(&form, "pre");
        self.post("/sign-in", &[("email", email), ("password", password), ("pre", &pre)])
            .await
    }

    async fn csrf(&mut self, path: &str) -> String {
        let p = self.get(path).await;
        assert_eq!(p.status, StatusCode::OK, "{path}: {}", p.body);
        Self::hidden(&p, "csrf")
    }
}

async fn people(t: &TestApp) {
    let users = [
        ("wendy@globex.example", Role::Customer, Some("globex")),
        ("walter@desk.example", Role::Agent, None),
        ("mona@desk.example", Role::Manager, None),
    ];
    web_users(t, PASSWORD, &users, &[("mona@desk.example", TOTP)]).await;
}

async fn session_cookies_are_signed_http_only_and_strict_and_pages_carry_the_headers(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    let signed_in = w.sign_in("wendy@globex.example", PASSWORD).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER);
    let set = signed_in
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap().to_string())
        .find(|c| c.starts_with("sladesk_session="))
        .expect("a session cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(set.contains(flag), "{set} lacks {flag}");
    }
    assert!(!set.contains("Secure"), "not Secure over plain HTTP");
    // X-Forwarded-Proto is believed only from a proxy the server trusts:
    // from anyone else it changes nothing.
    let session_cookie = |r: &reqwest::Response| {
        r.headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|c| c.to_str().unwrap().to_string())
            .find(|c| c.starts_with("sladesk_session="))
            .expect("a session cookie")
    };
    let r = sign_in_saying_https(&t, &mut w).await;
    assert!(
        !session_cookie(&r).contains("Secure"),
        "a client's own word is not believed"
    );
    assert!(r.headers().get("strict-transport-security").is_none());
    // Behind a TLS-terminating proxy the server trusts, the cookie is
    // Secure and browsers are told to keep to HTTPS.
    t.app.set_trusted_proxies(vec!["127.0.0.1/32".parse().unwrap()]);
    let r = sign_in_saying_https(&t, &mut w).await;
    let secure = session_cookie(&r);
    assert!(secure.contains("Secure"), "{secure}");
    assert!(
        r.headers()
            .get("strict-transport-security")
            .is_some_and(|h| h.to_str().unwrap().starts_with("max-age=31536000")),
        "HSTS over HTTPS"
    );
    t.app.set_trusted_proxies(Vec::new());

    let page = w.get("/tickets").await;
    assert_eq!(page.status, StatusCode::OK);
    let h = |n: &str| {
        page.headers
            .get(n)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    assert!(h("content-security-policy").contains("script-src 'self'"));
    assert!(h("content-security-policy").contains("frame-ancestors 'none'"));
    assert!(!h("content-security-policy").contains("unsafe-inline"));
    assert_eq!(h("x-frame-options"), "DENY");
    assert_eq!(h("cache-control"), "no-store");
    assert!(!page.body.contains("<script>"), "no inline script");

    // A cookie whose signature is wrong is nobody's.
    let value = w.cookies["sladesk_session"].clone();
    let mut forged = value.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    w.cookies.insert("sladesk_session".into(), forged);
    let p = w.get("/tickets").await;
    assert_eq!(
        (p.status, p.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/sign-in"))
    );

    // Signing out ends the session for good: the old cookie no longer works.
    w.cookies.insert("sladesk_session".into(), value.clone());
    let csrf = w.csrf("/tickets").await;
    w.post("/sign-out", &[("csrf", &csrf)]).await;
    w.cookies.insert("sladesk_session".into(), value);
    let p = w.get("/tickets").await;
    assert_eq!(
        p.location.as_deref(),
        Some("/sign-in"),
        "the session was ended on the server"
    );

    // Sessions end after 12 hours whatever happens; the nightly purge removes them.
    let mut again = Web::new(&t);
    again.sign_in("wendy@globex.example", PASSWORD).await;
    assert_eq!(again.get("/tickets").await.status, StatusCode::OK);
    let app = t.app.clone();
    let purged = tokio::task::spawn_blocking(move || {
        app.purge_web_sessions(sladesk::app::now() + chrono::Duration::hours(12) + chrono::Duration::seconds(1))
    })
    .await
    .unwrap()
    .unwrap();
    assert!(purged >= 1, "{purged}");
    assert_eq!(again.get("/tickets").await.location.as_deref(), Some("/sign-in"));
}

async fn forms_without_the_csrf_token_change_nothing(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let reference = t.raise(&t.gina, "CSRF target", 3).await;
    let mut w = Web::new(&t);
    w.sign_in("walter@desk.example", PASSWORD).await;
    let page = w.get(&format!("/tickets/{reference}")).await;
    assert_eq!(page.status, StatusCode::OK);
    let forged = w
        .post(
            &format!("/tickets/{reference}/act"),
            &[("action", "status"), ("value", "pending_customer"), ("csrf", "forged")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let missing = w
        .post(&format!("/tickets/{reference}/act"), &[("action", "cancel")])
        .await;
    assert_eq!(
        missing.status,
        StatusCode::BAD_REQUEST,
        "a form without its token is refused"
    );
    let api = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(api.json["status"], "new", "nothing changed");

    // With the token it works, through the same use case as the API.
    let csrf = Web::hidden(&page, "csrf");
    let ok = w
        .post(
            &format!("/tickets/{reference}/act"),
            &[("action", "status"), ("value", "pending_customer"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    let api = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(api.json["status"], "pending_customer");

    // The sign-in form is protected too, though no session exists yet.
    let mut fresh = Web::new(&t);
    let p = fresh
        .post(
            "/sign-in",
            &[
                ("email", "walter@desk.example"),
                ("password", PASSWORD),
                ("pre", "guess"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

/// Signs Wendy in with `X-Forwarded-Proto: https`, as a TLS-terminating
/// proxy would pass the request on.
async fn sign_in_saying_https(t: &TestApp, w: &mut Web) -> reqwest::Response {
    let form = w.get("/sign-in").await;
    let pre = Web::hidden(&form, "pre");
    w.http
        .post(format!("{}/sign-in", t.address))
        .header("X-Forwarded-Proto", "https")
        .header(COOKIE, format!("sladesk_pre={}", w.cookies["sladesk_pre"]))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("email=wendy%40globex.example&password={PASSWORD}&pre={pre}"))
        .send()
        .await
        .unwrap()
}

/// The alert a sign-in page shows, without the address it echoes.
fn alert(p: &Page) -> String {
    let at = p
        .body
        .find("role=\"alert\"")
        .unwrap_or_else(|| panic!("no alert: {}", p.body));
    p.body[at..].split("</p>").next().unwrap().to_string()
}

async fn outbox_count(t: &TestApp, kind: &'static str, to: &'static str) -> i64 {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq(kind))
            .filter(outbox::to_address.eq(to))
            .count()
            .get_result(&mut *app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap()
}

async fn audit_count(t: &TestApp, action: &'static str) -> i64 {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq(action))
            .count()
            .get_result(&mut *app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap()
}

/// How long a refused sign-in takes to answer, the form already loaded.
async fn timed_refusal(w: &mut Web, email: &str) -> std::time::Duration {
    let form = w.get("/sign-in").await;
    let pre = Web::hidden(&form, "pre");
    let started = std::time::Instant::now();
    let p = w
        .post(
            "/sign-in",
            &[("email", email), ("password", "x-password-x"), ("pre", &pre)],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "{}", p.body);
    started.elapsed()
}

fn median(mut v: Vec<std::time::Duration>) -> std::time::Duration {
    v.sort();
    v[v.len() / 2]
}

async fn failed_sign_ins_slow_that_client_not_the_owner_and_every_refusal_looks_alike(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    t.app.set_trusted_proxies(vec!["127.0.0.1/32".parse().unwrap()]);
    let mut attacker = Web::at(&t, "203.0.113.9");
    let mut refusals = Vec::new();
    // Three free tries, then 1 s, 2 s, … each try while waiting counting
    // too: after nine, that client waits half a minute.
    for i in 0..9 {
        let p = attacker.sign_in("walter@desk.example", "not-the-password").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "attempt {i}");
        assert!(p.body.contains("wrong email or password"), "{}", p.body);
        refusals.push(alert(&p));
    }
    // Now throttled: even the right password from there is refused, and
    // the answer is the wrong password's own.
    let p = attacker.sign_in("walter@desk.example", PASSWORD).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    assert!(!attacker.cookies.contains_key("sladesk_session"));
    refusals.push(alert(&p));
    // An unknown account is answered the same way.
    let p = attacker.sign_in("nobody@desk.example", PASSWORD).await;
    refusals.push(alert(&p));
    assert!(refusals.windows(2).all(|w| w[0] == w[1]), "{refusals:?}");
    assert!(!refusals[0].contains("locked"), "{}", refusals[0]);

    // The owner, elsewhere, is not held up.
    let mut owner = Web::at(&t, "198.51.100.7");
    let p = owner.sign_in("walter@desk.example", PASSWORD).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    // And is told, once, by mail; the throttling is audited.
    assert_eq!(outbox_count(&t, "sign_in_throttled", "walter@desk.example").await, 1);
    assert_eq!(audit_count(&t, "sign_in.throttled").await, 1);
    // Nobody is told of attempts on an account that does not exist.
    for _ in 0..6 {
        attacker.sign_in("ghost@desk.example", "x").await;
    }
    assert_eq!(outbox_count(&t, "sign_in_throttled", "ghost@desk.example").await, 0);

    // The time of an answer tells nothing either: an unknown account, a
    // wrong password and a throttled attempt each cost one password check.
    // (Medians of seven, and a loose bound: the leak this guards against
    // was a factor of ten.)
    let mut slowed = Web::at(&t, "192.0.2.200");
    for _ in 0..10 {
        slowed.sign_in("mona@desk.example", "not-the-password").await;
    }
    let (mut unknown, mut wrong, mut throttled) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..7 {
        let mut fresh = Web::at(&t, &format!("192.0.2.{i}"));
        unknown.push(timed_refusal(&mut fresh, "nobody-else@desk.example").await);
        wrong.push(timed_refusal(&mut fresh, "mona@desk.example").await);
        throttled.push(timed_refusal(&mut slowed, "mona@desk.example").await);
    }
    let (u, w, th) = (median(unknown), median(wrong), median(throttled));
    let (lo, hi) = (
        [u, w, th].into_iter().min().unwrap(),
        [u, w, th].into_iter().max().unwrap(),
    );
    assert!(hi < lo * 3, "unknown {u:?}, wrong {w:?}, throttled {th:?}");
}

async fn an_address_is_limited_to_twenty_sign_in_attempts_in_ten_minutes(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    for i in 0..20 {
        let p = w.sign_in(&format!("nobody{i}@desk.example"), "x").await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let p = w.sign_in("wendy@globex.example", PASSWORD).await;
    assert_eq!(p.status, StatusCode::TOO_MANY_REQUESTS);
}

async fn a_totp_code_is_good_once_and_managers_cannot_skip_it(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    let p = w.sign_in("mona@desk.example", PASSWORD).await;
    assert_eq!(p.location.as_deref(), Some("/sign-in/code"));
    // Half-signed-in: no page but the code page.
    for path in ["/dashboard", "/queue", "/reports", "/tickets"] {
        let p = w.get(path).await;
        assert_eq!(p.location.as_deref(), Some("/sign-in/code"), "{path}");
    }
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let p = w.post("/sign-in/code", &[("code", wrong), ("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let p = w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/"));
    assert_eq!(w.get("/dashboard").await.status, StatusCode::OK);

    // The same code again, in a second browser, is refused.
    let mut other = Web::new(&t);
    other.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = other.csrf("/sign-in/code").await;
    let p = other.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "a code is good once");
    // Wrong codes count towards the same throttle as wrong passwords: from
    // this client, even the right password must now wait.
    for _ in 0..8 {
        let p = other.post("/sign-in/code", &[("code", wrong), ("csrf", &csrf)]).await;
        assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    }
    let p = Web::new(&t).sign_in("mona@desk.example", PASSWORD).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED, "nine failures: this client waits");
    assert!(p.body.contains("wrong email or password"), "{}", p.body);
}

async fn pages_authorise_exactly_as_the_api(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let globex = t.raise(&t.gina, "Globex's", 3).await;
    let acme = t.raise(&t.carol, "Acme's", 3).await;
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    assert_eq!(customer.get(&format!("/tickets/{globex}")).await.status, StatusCode::OK);
    let other = customer.get(&format!("/tickets/{acme}")).await;
    assert_eq!(other.status, StatusCode::NOT_FOUND);
    assert!(!other.body.contains("Acme's"));
    assert_eq!(customer.get("/queue").await.location.as_deref(), Some("/tickets"));
    assert_eq!(customer.get("/dashboard").await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.get("/admin").await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.get("/outages").await.status, StatusCode::FORBIDDEN);
    assert_eq!(customer.get("/quarantine").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        customer.get("/quarantine/1/original").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(customer.get("/outbox").await.status, StatusCode::FORBIDDEN);
    // A customer cannot write an internal note, even by forging the form.
    let csrf = customer.csrf(&format!("/tickets/{globex}")).await;
    let r = customer
        .post_multipart(
            &format!("/tickets/{globex}/reply"),
            &[("csrf", &csrf), ("visibility", "internal"), ("body", "sneaky")],
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let events = t.get(&format!("/api/v1/tickets/{globex}/events"), &t.agent).await;
    assert!(!events.text.contains("sneaky"));

    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    // Files never ride on an internal note: the customer sees every file.
    let csrf = agent.csrf(&format!("/tickets/{globex}")).await;
    let r = agent
        .post_multipart(
            &format!("/tickets/{globex}/reply"),
            &[("csrf", &csrf), ("visibility", "internal"), ("body", "see the dump")],
            Some(("dump.txt", "secret internals")),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("public replies only"), "{}", r.body);
    let files = t.get(&format!("/api/v1/tickets/{globex}/attachments"), &t.gina).await;
    assert_eq!(files.json.as_array().map(Vec::len), Some(0), "{}", files.text);

    assert_eq!(agent.get(&format!("/tickets/{acme}")).await.status, StatusCode::OK);
    assert_eq!(agent.get("/dashboard").await.status, StatusCode::FORBIDDEN);
    assert_eq!(agent.get("/admin").await.status, StatusCode::FORBIDDEN);
    assert_eq!(agent.get("/quarantine").await.status, StatusCode::OK);
    assert_eq!(agent.get("/outbox").await.status, StatusCode::FORBIDDEN);
    assert_eq!(agent.get("/no/such/page").await.status, StatusCode::NOT_FOUND);
}

async fn the_dashboard_counts_open_work_by_tier_and_severity(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    t.raise(&t.gina, "Platinum one", 3).await;
    t.raise(&t.gina, "Platinum two", 3).await;
    let done = t.raise(&t.carol, "Silver, resolved", 2).await;
    t.raise(&t.carol, "Silver, open", 2).await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{done}/resolve"),
            &t.agent,
            serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let mut w = Web::new(&t);
    w.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    let page = w.get("/dashboard").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"id="open-total">3<"#),
        "three open, the resolved one not counted"
    );
    let row = |tier: &str| {
        let at = page
            .body
            .find(&format!(">{tier}</a></th>"))
            .unwrap_or_else(|| panic!("no {tier} row"));
        page.body[at..].split("</tr>").next().unwrap().to_string()
    };
    assert!(
        row("platinum").contains(
            r#"<td class="n">0</td><td class="n">0</td><td class="n">2</td><td class="n">0</td><td class="n">2</td>"#
        ),
        "{}",
        row("platinum")
    );
    assert!(
        row("silver").contains(
            r#"<td class="n">0</td><td class="n">1</td><td class="n">0</td><td class="n">0</td><td class="n">1</td>"#
        ),
        "{}",
        row("silver")
    );
    assert!(page.body.contains(r#"id="breached">0<"#));
}

async fn a_customer_asks_to_reopen_and_the_assignee_is_told(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let reference = t.raise(&t.gina, "Slow checkout", 3).await;
    let path = format!("/api/v1/tickets/{reference}");
    t.patch(&path, &t.agent, serde_json::json!({"assignee": "bob@desk.example"}))
        .await;
    t.post(
        &format!("{path}/replies"),
        &t.agent,
        serde_json::json!({"body": "Fixed the cache."}),
    )
    .await;
    // Not resolved yet: nothing to reopen.
    let early = t
        .post(
            &format!("{path}/reopen-request"),
            &t.gina,
            serde_json::json!({"reason": "still slow"}),
        )
        .await;
    early.problem(409);
    let r = t
        .post(&format!("{path}/resolve"), &t.agent, serde_json::json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);

    // Staff reopen; they do not ask.
    t.post(
        &format!("{path}/reopen-request"),
        &t.agent,
        serde_json::json!({"reason": "x"}),
    )
    .await
    .problem(403);
    // Another organisation's customer cannot see it at all.
    t.post(
        &format!("{path}/reopen-request"),
        &t.carol,
        serde_json::json!({"reason": "x"}),
    )
    .await
    .problem(404);
    t.post(
        &format!("{path}/reopen-request"),
        &t.gina,
        serde_json::json!({"reason": "  "}),
    )
    .await
    .problem(422);

    let mut w = Web::new(&t);
    w.sign_in("wendy@globex.example", PASSWORD).await;
    let csrf = w.csrf(&format!("/tickets/{reference}")).await;
    let p = w
        .post(
            &format!("/tickets/{reference}/reopen-request"),
            &[("reason", "Still 20 s from Frankfurt"), ("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        p.location.as_deref(),
        Some(format!("/tickets/{reference}?done=reopen-request").as_str())
    );
    let v = t.get(&path, &t.agent).await;
    assert_eq!(v.json["status"], "resolved", "customers change no status");
    let events = t.get(&format!("{path}/events"), &t.gina).await;
    assert!(events.text.contains("Asked to reopen: Still 20 s from Frankfurt"));
    let app = t.app.clone();
    let told: Vec<(String, String)> = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        let mut c = app.conn().unwrap();
        outbox::table
            .filter(outbox::kind.eq("reopen_request"))
            .select((outbox::to_address, outbox::context))
            .load(&mut *c)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].0, "bob@desk.example", "the assignee decides");
    assert!(told[0].1.contains("Still 20 s from Frankfurt"));

    // The agent's reopen goes through as ever.
    let r = t.post(&format!("{path}/reopen"), &t.agent, serde_json::json!({})).await;
    assert_eq!(r.json["status"], "open", "{}", r.text);

    // After the policy's reopen window the request is refused, saying when it closed.
    t.post(&format!("{path}/resolve"), &t.agent, serde_json::json!({}))
        .await;
    let app = t.app.clone();
    let late = tokio::task::spawn_blocking(move || {
        let gina = app.principal_for("gina@globex.example").unwrap();
        app.ask_to_reopen(
            &gina,
            &reference,
            "late",
            sladesk::app::now() + chrono::Duration::days(60),
        )
    })
    .await
    .unwrap()
    .unwrap_err();
    assert!(late.to_string().contains("reopen window"), "{late}");
}

async fn an_admin_resets_a_locked_out_users_sign_in(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    for _ in 0..9 {
        w.sign_in("mona@desk.example", "wrong-password").await;
    }
    // Throttled from here: the right password is refused like a wrong one.
    let p = w.sign_in("mona@desk.example", PASSWORD).await;
    assert_eq!(p.status, StatusCode::UNAUTHORIZED);
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let op = Principal::operator();
        let now = sladesk::app::now();
        let manager = app.principal_for("manager@desk.example").unwrap();
        let refused = app.reset_sign_in(&manager, "mona@desk.example", Some("a-new-password-1"), true, now);
        assert!(
            matches!(refused, Err(sladesk::app::AppError::Forbidden(_))),
            "admins only"
        );
        let short = app.reset_sign_in(&op, "mona@desk.example", Some("short"), false, now);
        assert!(matches!(short, Err(sladesk::app::AppError::Invalid { .. })));
        app.reset_sign_in(&op, "mona@desk.example", Some("a-new-password-1"), true, now)
            .unwrap();
    })
    .await
    .unwrap();
    // The counters are gone: the new password works at once from the same
    // client, and with two-step cleared a manager must enrol again.
    let p = Web::new(&t).sign_in("mona@desk.example", "a-new-password-1").await;
    assert_eq!(p.location.as_deref(), Some("/account/totp"), "{}", p.body);
}

async fn the_queue_puts_breached_work_first_longest_overdue_first(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let app = t.app.clone();
    let (older, old) = tokio::task::spawn_blocking(move || {
        let gina = app.principal_for("gina@globex.example").unwrap();
        let now = sladesk::app::now();
        let raise = |subject: &str, hours: i64| {
            app.create_ticket(
                &gina,
                sladesk::app::tickets::NewTicketRequest {
                    subject: subject.into(),
                    description: "Platinum, severity 2: 30 minutes to respond".into(),
                    severity: Some(sladesk::domain::ticket::Severity::S2),
                    queue: None,
                    organisation: None,
                    requester: None,
                    source: Some("web".into()),
                },
                now - chrono::Duration::hours(hours),
            )
            .unwrap()
            .reference
        };
        let refs = (raise("Breached 2.5 h ago", 3), raise("Breached 1.5 h ago", 2));
        app.sla_tick(now).unwrap();
        refs
    })
    .await
    .unwrap();
    let fresh = t.raise(&t.gina, "Not breached yet", 2).await;
    let paused = t.raise(&t.gina, "Waiting on the customer", 3).await;
    t.patch(
        &format!("/api/v1/tickets/{paused}"),
        &t.agent,
        serde_json::json!({"status": "pending_customer"}),
    )
    .await;
    let page = t.get("/api/v1/tickets?status=active", &t.agent).await;
    let order: Vec<&str> = page.references();
    assert_eq!(
        order,
        [older.as_str(), old.as_str(), fresh.as_str(), paused.as_str()],
        "breached and running first, longest overdue first; then the next to breach; paused last"
    );
    let mut w = Web::new(&t);
    w.sign_in("walter@desk.example", PASSWORD).await;
    let queue = w.get("/queue").await.body;
    let first = queue.find("data-ref=\"").map(|i| &queue[i + 10..i + 19]);
    assert_eq!(first, Some(older.as_str()), "the page shows the API's order");
}

/// A raw request with the browser's cookies: the head (and what body is
/// given) written, then the status code the server answers within 10 s.
fn raw_form(addr: &str, cookies: &str, path: &str, extra_head: &str, body: &[u8]) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookies}\r\n\
         Content-Type: multipart/form-data; boundary=b\r\n{extra_head}\r\n"
    );
    s.write_all(head.as_bytes()).unwrap();
    let writer = {
        let mut s = s.try_clone().unwrap();
        let body = body.to_vec();
        std::thread::spawn(move || {
            for chunk in body.chunks(64 * 1024) {
                if s.write_all(chunk).is_err() {
                    break;
                }
            }
        })
    };
    let answer = crate::helpers::read_head(&mut s, std::time::Duration::from_secs(10));
    // Shut the socket for both handles: a writer blocked on a server that
    // has answered and stopped reading is woken, not left hanging.
    let _ = s.shutdown(std::net::Shutdown::Both);
    drop(s);
    let _ = writer.join();
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_checked_before_its_body_is_read_and_bounded_whole() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    t.app.set_attachment_limit(1024 * 1024);
    let mut w = Web::new(&t);
    w.sign_in("wendy@globex.example", PASSWORD).await;
    let csrf = w.csrf("/tickets/new").await;
    let cookies: String = w.cookies.iter().map(|(k, v)| format!("{k}={v}; ")).collect();
    let addr = t.address.trim_start_matches("http://").to_string();
    let send = |path: String, extra: String, body: Vec<u8>| {
        let (addr, cookies) = (addr.clone(), cookies.clone());
        tokio::task::spawn_blocking(move || raw_form(&addr, &cookies, &path, &extra, &body))
    };
    // Without the CSRF token in the action: refused before a byte is read,
    // though 300 MB are promised.
    let (code, text) = send(
        "/tickets/new".into(),
        "Content-Length: 300000000\r\n".into(),
        vec![b'x'; 64 * 1024],
    )
    .await
    .unwrap();
    assert_eq!(code, 403, "{text}");
    // With it, the promised length alone is too much.
    let (code, text) = send(
        format!("/tickets/new?csrf={csrf}"),
        "Content-Length: 300000000\r\n".into(),
        Vec::new(),
    )
    .await
    .unwrap();
    assert_eq!(code, 413, "{text}");
    // A part header that never ends, sent chunked with no length: cut off
    // at the cap on the whole body, headers included.
    let mut body = b"--b\r\nContent-Disposition: form-data; name=\"subject\"\r\nX-Pad: ".to_vec();
    body.resize(12 * 1024 * 1024, b'a');
    let mut chunked = Vec::new();
    for c in body.chunks(256 * 1024) {
        chunked.extend_from_slice(format!("{:x}\r\n", c.len()).as_bytes());
        chunked.extend_from_slice(c);
        chunked.extend_from_slice(b"\r\n");
    }
    let (code, text) = send(
        format!("/tickets/new?csrf={csrf}"),
        "Transfer-Encoding: chunked\r\n".into(),
        chunked,
    )
    .await
    .unwrap();
    assert_eq!(code, 413, "{text}");
    // Parts are counted.
    t.app.set_limits(sladesk::app::limits::Limits {
        max_form_parts: 10,
        ..Default::default()
    });
    let mut parts = String::new();
    for i in 0..12 {
        parts += &format!("--b\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n");
    }
    parts += "--b--\r\n";
    let (code, text) = send(
        format!("/tickets/new?csrf={csrf}"),
        format!("Content-Length: {}\r\n", parts.len()),
        parts.into_bytes(),
    )
    .await
    .unwrap();
    assert_eq!(code, 400, "{text}");
}

async fn replacing_an_authenticator_takes_the_password_and_a_current_code(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    w.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let now = chrono::Utc::now();
    let code = totp_code(TOTP, "mona@desk.example", now).unwrap();
    let p = w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    assert_eq!(p.location.as_deref(), Some("/"));
    // A session left open is not enough to take over the second factor.
    let page = w.get("/account/totp").await;
    assert!(page.body.contains("name=\"current_password\""), "the form asks for it");
    let csrf = Web::hidden(&page, "csrf");
    let marker = "data-secret=\"";
    let at = page.body.find(marker).unwrap() + marker.len();
    let new_secret = page.body[at..].split('"').next().unwrap().to_string();
    let new_code = totp_code(&new_secret, "mona@desk.example", chrono::Utc::now()).unwrap();
    let p = w.post("/account/totp", &[("code", &new_code), ("csrf", &csrf)]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    let old_next = totp_code(TOTP, "mona@desk.example", now + chrono::Duration::seconds(30)).unwrap();
    let wrong = if old_next == "000000" { "111111" } else { "000000" };
    for (password, current) in [("not-the-password", old_next.as_str()), (PASSWORD, wrong)] {
        let p = w
            .post(
                "/account/totp",
                &[
                    ("code", &new_code),
                    ("csrf", &csrf),
                    ("current_password", password),
                    ("current_code", current),
                ],
            )
            .await;
        assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", p.body);
    }
    // The password and a code from the authenticator in hand: replaced.
    let p = w
        .post(
            "/account/totp",
            &[
                ("code", &new_code),
                ("csrf", &csrf),
                ("current_password", PASSWORD),
                ("current_code", &old_next),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("recovery codes"), "{}", p.body);
}

async fn the_pages_ask_severity_only_where_it_may_be_declared_and_page_the_timeline(db: Db) {
    let t = spawn_app(db).await;
    crate::helpers::initech(&t).await;
    let users = [("ivy@initech.example", Role::Customer, Some("initech"))];
    web_users(&t, PASSWORD, &users, &[]).await;
    let mut w = Web::new(&t);
    w.sign_in("ivy@initech.example", PASSWORD).await;
    let form = w.get("/tickets/new").await;
    assert!(
        !form.body.contains("name=\"severity\""),
        "Initech may not declare severity"
    );
    assert!(form.body.contains("sets the severity"), "{}", form.body);
    let csrf = Web::hidden(&form, "csrf");
    let p = w
        .post_multipart(
            "/tickets/new",
            &[("subject", "Printer"), ("description", "Jammed."), ("csrf", &csrf)],
            None,
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let reference = p
        .location
        .unwrap()
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await.json["severity"],
        3
    );

    // A long conversation comes a page at a time, the latest first.
    t.app.set_limits(sladesk::app::limits::Limits {
        events_page: 5,
        ..Default::default()
    });
    for i in 0..8 {
        t.post(
            &format!("/api/v1/tickets/{reference}/replies"),
            &t.agent,
            serde_json::json!({"body": format!("reply number {i}")}),
        )
        .await;
    }
    let page = w.get(&format!("/tickets/{reference}")).await;
    assert!(page.body.contains("reply number 7"), "the latest is shown");
    assert!(!page.body.contains("Jammed."), "the first is a page back");
    let marker = format!("/tickets/{reference}?before=");
    let at = page.body.find(&marker).expect("a link to earlier messages");
    let earlier = page.body[at..].split('"').next().unwrap().to_string();
    let back = w.get(&earlier).await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains("reply number 2"), "{}", back.body);
    assert!(back.body.contains("?after="), "and a link to later ones");
}

/// Ada, an admin with two-step sign-in, signed in on `w` and on the admin
/// page; its form token.
async fn admin_on_the_admin_page(t: &TestApp, w: &mut Web) -> String {
    web_users(
        t,
        PASSWORD,
        &[("ada@desk.example", Role::Admin, None)],
        &[("ada@desk.example", TOTP)],
    )
    .await;
    w.sign_in("ada@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "ada@desk.example", chrono::Utc::now()).unwrap();
    w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    w.csrf("/admin").await
}

async fn an_admin_marks_a_queue_customers_may_choose(db: Db) {
    let t = spawn_app(db).await;
    let mut w = Web::new(&t);
    let csrf = admin_on_the_admin_page(&t, &mut w).await;
    let p = w
        .post(
            "/admin/queues",
            &[
                ("slug", "billing"),
                ("name", "Billing"),
                ("default_severity", "3"),
                ("customer_selectable", "yes"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert!(p.status.is_redirection() || p.status == StatusCode::OK, "{}", p.body);
    let queues = t.get("/api/v1/queues", &t.admin).await;
    let billing = queues
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["slug"] == "billing")
        .cloned();
    assert_eq!(billing.unwrap()["customer_selectable"], true, "{}", queues.text);
    // And Carol may now raise a ticket into it.
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            serde_json::json!({"subject": "Invoice", "description": "Wrong VAT.", "queue": "billing"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

async fn an_admin_defines_a_service_and_ticks_who_takes_it(db: Db) {
    let t = spawn_app(db).await;
    let mut w = Web::new(&t);
    let csrf = admin_on_the_admin_page(&t, &mut w).await;
    let p = w
        .post(
            "/admin/services",
            &[
                ("slug", "objstore-lon2"),
                ("name", "Object storage – LON2"),
                ("group", "Storage"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{}", p.body);
    assert!(p.body.contains("Service objstore-lon2 added."), "{}", p.body);
    assert!(
        p.body.contains("Services acme takes"),
        "a box per organisation: {}",
        p.body
    );
    let p = w
        .post(
            "/admin/subscriptions",
            &[
                ("organisation", "acme"),
                ("service:objstore-lon2", "1"),
                ("csrf", &csrf),
            ],
        )
        .await;
    assert!(p.body.contains("acme now takes 1 service(s)."), "{}", p.body);
    assert!(
        p.body
            .contains("id=\"cov-acme-objstore-lon2\" name=\"service:objstore-lon2\" value=\"1\" checked")
    );
    let acme = t.get("/api/v1/organisations/acme/services", &t.carol).await;
    assert_eq!(acme.json[0]["slug"], "objstore-lon2", "{}", acme.text);
    // Unticking every box leaves it none.
    w.post("/admin/subscriptions", &[("organisation", "acme"), ("csrf", &csrf)])
        .await;
    let acme = t.get("/api/v1/organisations/acme/services", &t.carol).await;
    assert_eq!(acme.json, serde_json::json!([]));
}

/// The status page is public and says states in words; signed in, a
/// customer sees their own services only.
async fn the_status_page_is_public_and_a_customer_sees_their_own(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    let quiet = w.get("/status").await;
    assert_eq!(quiet.status, StatusCode::OK, "{}", quiet.body);
    assert!(quiet.body.contains("All systems operational"), "{}", quiet.body);
    for (slug, name) in [
        ("objstore-lon2", "Object storage – LON2"),
        ("compute-lon1", "Compute – LON1"),
    ] {
        t.post(
            "/api/v1/services",
            &t.admin,
            serde_json::json!({"slug": slug, "name": name}),
        )
        .await;
    }
    t.call(
        Method::PUT,
        "/api/v1/organisations/globex/services",
        Some(&t.admin),
        Some(serde_json::json!({"services": ["compute-lon1"]})),
    )
    .await;
    t.post(
        "/api/v1/outages",
        &t.manager,
        serde_json::json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(5),
            "services": [{"service": "objstore-lon2", "impact": "major_outage"}], "description": "staff words"}),
    )
    .await;
    let p = w.get("/status").await;
    assert!(p.body.contains("Major system outage"), "{}", p.body);
    assert!(p.body.contains("Platform issue: Object storage – LON2"), "{}", p.body);
    assert!(p.body.contains("✕</span> Major outage"), "{}", p.body);
    assert!(!p.body.contains("staff words"));
    // The last 90 days: a bar a day for each service, and in words the
    // days with something to tell; no organisation's months for the public.
    assert!(p.body.contains("The last 90 days"), "{}", p.body);
    assert_eq!(
        p.body.matches("class=\"bar day-").count(),
        180,
        "90 bars for each of 2 services"
    );
    assert!(p.body.contains("Days with disruption or maintenance (1)"), "{}", p.body);
    assert!(p.body.contains("100.000 % uptime"), "compute had none: {}", p.body);
    assert!(!p.body.contains("Your availability"));
    // Wendy (globex) signed in: her service only, operational.
    w.sign_in("wendy@globex.example", PASSWORD).await;
    let mine = w.get("/status").await;
    assert!(
        mine.body.contains("Compute – LON1") && !mine.body.contains("Object storage"),
        "{}",
        mine.body
    );
    assert!(mine.body.contains("All systems operational"), "{}", mine.body);
    assert!(mine.body.contains("Your availability"), "{}", mine.body);
    assert!(mine.body.contains("(so far)</th><td>100.000 %"), "{}", mine.body);

    // Updates by e-mail: Wendy from her account page, at once.
    let account = w.get("/account").await;
    assert!(account.body.contains("Mail me the status updates"), "{}", account.body);
    let csrf = w.csrf("/account").await;
    let done = w.post("/account/status-updates", &[("csrf", &csrf)]).await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let account = w.get("/account?done=status-updates").await;
    assert!(
        account.body.contains("Choose services or stop them"),
        "{}",
        account.body
    );
    let manage = account
        .body
        .split("href=\"/status/subscriptions/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_string();
    let sub = w.get(&format!("/status/subscriptions/{manage}")).await;
    assert!(
        sub.body.contains("confirmed") && sub.body.contains("Compute – LON1"),
        "{}",
        sub.body
    );
    // Anyone, from the public page's form: a link to confirm first.
    let mut public = Web::new(&t);
    let p = public.get("/status").await;
    assert!(p.body.contains("Get the updates by e-mail"), "{}", p.body);
    let sent = public
        .post(
            "/status/subscribe",
            &[("email", "pat@example.org"), ("service:compute-lon1", "on")],
        )
        .await;
    assert_eq!(sent.status, StatusCode::OK, "{}", sent.body);
    assert!(sent.body.contains("a link to confirm is on its way"), "{}", sent.body);
    let bad = public.post("/status/subscribe", &[("email", "nope")]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
}

crate::both_backends!(
    the_ticket_page_explains_why_it_is_due_in_the_viewers_words,
    an_agent_links_tickets_to_an_outage_from_the_queue_and_the_ticket_and_resolves_them_together,
    the_status_page_is_public_and_a_customer_sees_their_own,
    an_admin_defines_a_service_and_ticks_who_takes_it,
    staff_work_the_quarantine_and_the_outbox_in_the_pages,
    a_ticket_page_offers_only_the_moves_the_core_allows,
    the_outage_form_keeps_what_was_sent_and_ending_one_is_confirmed,
    a_manager_closes_and_recomputes_a_month_on_the_reports_page,
    an_admin_marks_a_queue_customers_may_choose,
    the_pages_ask_severity_only_where_it_may_be_declared_and_page_the_timeline,
    replacing_an_authenticator_takes_the_password_and_a_current_code,
    the_queue_puts_breached_work_first_longest_overdue_first,
    an_admin_resets_a_locked_out_users_sign_in,
    a_customer_asks_to_reopen_and_the_assignee_is_told,
    the_dashboard_counts_open_work_by_tier_and_severity,
    session_cookies_are_signed_http_only_and_strict_and_pages_carry_the_headers,
    forms_without_the_csrf_token_change_nothing,
    failed_sign_ins_slow_that_client_not_the_owner_and_every_refusal_looks_alike,
    an_address_is_limited_to_twenty_sign_in_attempts_in_ten_minutes,
    a_totp_code_is_good_once_and_managers_cannot_skip_it,
    pages_authorise_exactly_as_the_api,
    the_search_box_finds_only_what_each_viewer_may_see,
    an_agent_books_time_with_a_reply_and_on_its_own_and_the_customer_sees_none,
    canned_replies_are_kept_changed_and_removed_on_their_page,
    tickets_are_linked_and_unlinked_from_their_pages,
    a_customer_requests_from_the_catalogue_and_a_colleague_approves_on_the_page,
    the_pages_refuse_an_address_outside_the_allow_list,
    an_admin_sets_an_allow_list_on_the_admin_page,
    a_reply_written_before_the_customer_wrote_again_is_held_to_be_read_first,
    a_canned_reply_is_put_in_the_reply_box_edited_and_sent_with_its_moves,
    the_queue_acts_on_the_chosen_tickets_and_says_how_each_fared,
);

/// The reports page: a provisional month says so and offers Close; once
/// closed it shows version 1, Recompute (with a reason) keeps version 2 when
/// figures moved, and both versions are listed and readable. The two CSV
/// downloads have distinct names. Also the small things: HEAD answers
/// wherever GET does, with the GET's headers and no body, and there is a
/// favicon.
async fn a_manager_closes_and_recomputes_a_month_on_the_reports_page(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    t.raise(&t.carol, "Before the month closed", 3).await;
    let mut w = Web::new(&t);
    w.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    let month = sladesk::domain::availability::Month::containing(chrono::Utc::now())
        .previous()
        .to_string();
    let page = w.get(&format!("/reports?org=acme&month={month}")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("<strong>Provisional.</strong>"), "{}", page.body);
    assert!(page.body.contains("action=\"/reports/close\""));
    let csrf = Web::hidden(&page, "csrf");
    let closed = w
        .post("/reports/close", &[("csrf", &csrf), ("month", &month), ("org", "acme")])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER, "{}", closed.body);
    let page = w.get(&format!("/reports?org=acme&month={month}")).await;
    assert!(page.body.contains("Closed: version 1"), "{}", page.body);
    assert!(!page.body.contains("Revised pending"));
    // An outage over last month: revised pending, then recomputed.
    let start = sladesk::domain::availability::Month::containing(chrono::Utc::now())
        .previous()
        .start()
        + chrono::Duration::days(3);
    let made = t
        .post(
            "/api/v1/outages",
            &t.manager,
            serde_json::json!({"kind": "platform_issue", "start": start, "end": start + chrono::Duration::hours(2),
                "organisations": ["acme"], "description": "recorded late"}),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    let page = w.get(&format!("/reports?org=acme&month={month}")).await;
    assert!(page.body.contains("Revised pending"), "{}", page.body);
    assert!(
        page.body.contains("recorded (platform issue)"),
        "staff see what changed"
    );
    let empty = w
        .post(
            "/reports/recompute",
            &[("csrf", &csrf), ("month", &month), ("org", "acme"), ("reason", " ")],
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY, "a reason is required");
    let done = w
        .post(
            "/reports/recompute",
            &[
                ("csrf", &csrf),
                ("month", &month),
                ("org", "acme"),
                ("reason", "late outage"),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = w.get(&format!("/reports?org=acme&month={month}")).await;
    assert!(page.body.contains("Closed: version 2"), "{}", page.body);
    assert!(page.body.contains("late outage") && page.body.contains("mona@desk.example"));
    let v1 = w.get(&format!("/reports?org=acme&month={month}&version=1")).await;
    assert!(
        v1.body.contains("an earlier version; the latest is version 2"),
        "{}",
        v1.body
    );

    let name = |p: &Page| {
        p.headers
            .get("content-disposition")
            .unwrap()
            .to_str()
            .unwrap()
            .to_string()
    };
    let summary = w
        .get(&format!("/reports/download?org=acme&month={month}&format=csv"))
        .await;
    let tickets = w
        .get(&format!("/reports/download?org=acme&month={month}&format=csv-tickets"))
        .await;
    assert!(
        name(&summary).ends_with(&format!("sladesk-acme-{month}.csv\"")),
        "{}",
        name(&summary)
    );
    assert!(
        name(&tickets).ends_with(&format!("sladesk-acme-{month}.tickets.csv\"")),
        "{}",
        name(&tickets)
    );
    assert!(
        summary.body.contains("availability,,downtime_minutes,120"),
        "{}",
        summary.body
    );
    assert!(tickets.body.starts_with("reference,organisation,"), "{}", tickets.body);
    assert!(tickets.body.contains("response_business_minutes"));

    // HEAD wherever GET: the same status and length, no body.
    let got = w.get("/tickets").await;
    let head = w.send(Method::HEAD, "/tickets", None).await;
    assert_eq!(head.status, got.status);
    assert!(head.body.is_empty());
    let http = reqwest::Client::new();
    let api = http
        .head(format!("{}/api/v1/tickets", t.address))
        .bearer_auth(&t.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::OK);
    let length = api
        .headers()
        .get("content-length")
        .and_then(|l| l.to_str().ok()?.parse::<u64>().ok());
    assert!(length.unwrap_or(0) > 0, "the GET's length: {:?}", api.headers());
    assert!(api.text().await.unwrap().is_empty());
    let icon = http.get(format!("{}/favicon.ico", t.address)).send().await.unwrap();
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()["content-type"], "image/svg+xml");
}

/// The outage form after a refusal comes back as it was sent (kind and the
/// organisations ticked, never every organisation); several organisations
/// can be named; and "End now" needs its box ticked.
async fn the_outage_form_keeps_what_was_sent_and_ending_one_is_confirmed(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut w = Web::new(&t);
    w.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    let csrf = w.csrf("/outages").await;
    let form = |start: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("kind", "emergency_maintenance".to_string()),
            ("start", start.to_string()),
            ("end", "2026-10-14T11:00".to_string()),
            ("scope", "some".to_string()),
            ("org", "acme".to_string()),
            ("org", "globex".to_string()),
            ("description", "Core switch".to_string()),
        ]
    };
    let pairs = |f: &Vec<(&'static str, String)>| f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>();
    let refused = {
        let f = pairs(&form("14 October"));
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        w.post("/outages", &f).await
    };
    assert_ne!(refused.status, StatusCode::SEE_OTHER, "a bad date is refused");
    let b = &refused.body;
    assert!(
        b.contains("<option value=\"emergency_maintenance\" selected>"),
        "the kind is kept"
    );
    assert!(
        b.contains("name=\"scope\" value=\"some\" required checked"),
        "the scope is kept"
    );
    assert!(
        b.contains("value=\"acme\" checked") && b.contains("value=\"globex\" checked"),
        "{b}"
    );
    assert!(
        !b.contains("name=\"scope\" value=\"all\" required checked"),
        "never every organisation"
    );
    assert!(b.contains("Core switch"));
    let done = {
        let f = pairs(&form("2026-10-14T10:00"));
        let f: Vec<(&str, &str)> = f.iter().map(|(k, v)| (*k, v.as_str())).collect();
        w.post("/outages", &f).await
    };
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let listed = t.get("/api/v1/outages?month=2026-10", &t.manager).await;
    let made = &listed.json[0];
    assert_eq!(
        made["organisations"],
        serde_json::json!(["acme", "globex"]),
        "{}",
        listed.text
    );

    // Planned maintenance told two days ahead: recorded, and the page says
    // whose availability it will count against.
    let soon = (chrono::Utc::now() + chrono::Duration::days(2))
        .with_timezone(&chrono_tz::Europe::London)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let told = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let warned = w
        .post(
            "/outages",
            &[
                ("csrf", &csrf),
                ("kind", "planned_maintenance"),
                ("start", &soon),
                ("notified", &told),
                ("scope", "all"),
                ("description", "Firmware"),
            ],
        )
        .await;
    assert_eq!(warned.status, StatusCode::OK, "{}", warned.body);
    assert!(
        warned.body.contains("Recorded, but:") && warned.body.contains("acme (silver: 5 days)"),
        "{}",
        warned.body
    );

    // Ending an ongoing one takes the box ticked.
    let ongoing = t
        .post(
            "/api/v1/outages",
            &t.manager,
            serde_json::json!({"kind": "platform_issue", "start": "2026-11-01T09:00:00Z", "organisations": "all", "description": "ongoing"}),
        )
        .await;
    let id = ongoing.json["id"].as_i64().unwrap();
    let unticked = w.post(&format!("/outages/{id}/end"), &[("csrf", &csrf)]).await;
    assert_ne!(unticked.status, StatusCode::SEE_OTHER);
    assert!(
        t.get(&format!("/api/v1/outages/{id}"), &t.manager).await.json["ongoing"]
            .as_bool()
            .unwrap()
    );
    let ticked = w
        .post(&format!("/outages/{id}/end"), &[("csrf", &csrf), ("confirm", "yes")])
        .await;
    assert_eq!(ticked.status, StatusCode::SEE_OTHER);
    assert!(
        !t.get(&format!("/api/v1/outages/{id}"), &t.manager).await.json["ongoing"]
            .as_bool()
            .unwrap()
    );
}

/// The ticket page asks the core what may happen and offers that alone: a
/// resolved ticket shows Reopen and Close, and neither a status menu nor
/// "Pending customer". Resolving takes a public note (which the resolved
/// mail carries) and an optional code; cancel and close take a ticked box.
async fn the_ticket_page_explains_why_it_is_due_in_the_viewers_words(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let app = t.app.clone();
    let wendy = tokio::task::spawn_blocking(move || {
        app.create_token(
            &Principal::operator(),
            "wendy@globex.example",
            "test",
            "full",
            None,
            sladesk::app::now(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let reference = t.raise(&wendy, "Backups failing", 2).await;
    let api = format!("/api/v1/tickets/{reference}");
    t.post(
        &format!("{api}/replies"),
        &t.agent,
        serde_json::json!({"body": "Which server?"}),
    )
    .await;
    let paused = t
        .patch(&api, &t.agent, serde_json::json!({"status": "pending_customer"}))
        .await;
    assert_eq!(paused.status, StatusCode::OK, "{}", paused.text);
    let path = format!("/tickets/{reference}");

    let mut staff = Web::new(&t);
    staff.sign_in("walter@desk.example", PASSWORD).await;
    let page = staff.get(&path).await;
    assert!(page.body.contains("Why is it due then?"), "{}", page.body);
    assert!(page.body.contains("Waiting on the customer since"), "{}", page.body);
    assert!(page.body.contains(".toml"), "staff see the policy's file");

    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let page = customer.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Why is it due then?"));
    assert!(page.body.contains("Waiting on you since"), "{}", page.body);
    assert!(!page.body.contains(".toml"), "not the desk's file paths");
    // The history to check it with, as the customer may see it.
    let history = customer.get(&format!("{path}/sla-history.jsonl")).await;
    assert_eq!(history.status, StatusCode::OK);
    let line: serde_json::Value = serde_json::from_str(history.body.trim()).unwrap();
    assert_eq!(line["id"], reference.as_str());
    assert!(!history.body.contains("Which server?"), "no message text");
    // Another organisation's ticket: not found, as every path says.
    let acme = t.raise(&t.carol, "Acme's own", 3).await;
    let none = customer.get(&format!("/tickets/{acme}/sla-history.jsonl")).await;
    assert_eq!(none.status, StatusCode::NOT_FOUND);
}

async fn a_ticket_page_offers_only_the_moves_the_core_allows(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let reference = t.raise(&t.gina, "Checkout slow", 3).await;
    let mut w = Web::new(&t);
    w.sign_in("walter@desk.example", PASSWORD).await;
    let path = format!("/tickets/{reference}");
    let page = w.get(&path).await;
    assert!(page.body.contains("id=\"resolve-form\"") && page.body.contains("id=\"pending-form\""));
    assert!(page.body.contains("id=\"cancel-form\"") && !page.body.contains("staff-reopen"));
    assert!(
        !page.body.contains("<option value=\"3\">3 ·"),
        "no severity it already has"
    );
    let csrf = Web::hidden(&page, "csrf");
    let act = format!("/tickets/{reference}/act");

    // The timeline names people: "→ walter" (his name), never his user id.
    let claimed = w.post(&act, &[("csrf", &csrf), ("action", "claim")]).await;
    assert_eq!(claimed.status, StatusCode::SEE_OTHER);
    let page = w.get(&path).await;
    assert!(page.body.contains("Assignee: nobody → walter"), "{}", page.body);
    let bare = w.post(&act, &[("csrf", &csrf), ("action", "resolve")]).await;
    assert_eq!(
        bare.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a resolution note is required"
    );
    let unconfirmed = w.post(&act, &[("csrf", &csrf), ("action", "cancel")]).await;
    assert_eq!(
        unconfirmed.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "cancel asks to confirm"
    );
    let api = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(api.json["status"], "open", "claimed, and nothing else changed");

    let done = w
        .post(
            &act,
            &[
                ("csrf", &csrf),
                ("action", "resolve"),
                ("code", "workaround"),
                ("note", "Cleared the CDN cache; pages load in 1 s again."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = w.get(&path).await;
    assert!(page.body.contains("staff-reopen") && page.body.contains("id=\"close-form\""));
    for gone in [
        "id=\"pending-form\"",
        "id=\"resolve-form\"",
        "id=\"cancel-form\"",
        "name=\"action\" value=\"status\"",
    ] {
        assert!(!page.body.contains(gone), "a resolved ticket offers {gone}");
    }
    // The note is public, and the resolved mail carries it.
    let app = t.app.clone();
    let mail: String = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq("resolved"))
            .select(outbox::context)
            .first(&mut *app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        mail.contains("Resolution: Workaround given.") && mail.contains("Cleared the CDN cache"),
        "{mail}"
    );
    let closed = w
        .post(&act, &[("csrf", &csrf), ("action", "close"), ("confirm", "yes")])
        .await;
    assert_eq!(closed.status, StatusCode::SEE_OTHER);
    let page = w.get(&path).await;
    assert!(!page.body.contains("id=\"close-form\"") && !page.body.contains("id=\"reply-form\""));
}

/// Quarantined mail is worked on a page: an agent reads why it is held,
/// downloads the original, accepts one into a ticket for the organisation
/// chosen (the sender becomes its contact) and rejects another. Managers
/// see undelivered notices with their last error, and retry one now.
async fn staff_work_the_quarantine_and_the_outbox_in_the_pages(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let mail = |id: &str, subject: &str| {
            format!(
                "From: Stan Ranger <stan@unknown.example>\r\nTo: support@desk.example\r\nSubject: {subject}\r\n\
                 Message-ID: <{id}@unknown.example>\r\n\r\nPlease help.\r\n"
            )
        };
        let now = sladesk::app::now();
        for (id, subject) in [("q1", "Printer on fire"), ("q2", "Cheap watches")] {
            let o = app.ingest(mail(id, subject).as_bytes(), "test", now).unwrap();
            assert!(
                matches!(o, sladesk::app::intake::IngestOutcome::Quarantined { .. }),
                "{o:?}"
            );
        }
    })
    .await
    .unwrap();
    let mut w = Web::new(&t);
    w.sign_in("walter@desk.example", PASSWORD).await;
    let page = w.get("/quarantine").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Printer on fire") && page.body.contains("Cheap watches"));
    assert!(page.body.contains("Why it is here:"), "{}", page.body);
    let ids: Vec<String> = page
        .body
        .match_indices("action=\"/quarantine/")
        .map(|(i, m)| page.body[i + m.len()..].split('/').next().unwrap().to_string())
        .collect();
    let (fire, spam) = (ids[0].clone(), ids[2].clone());
    let original = w.get(&format!("/quarantine/{fire}/original")).await;
    assert!(original.body.contains("Subject: Printer on fire"));
    let csrf = Web::hidden(&page, "csrf");
    let accepted = w
        .post(
            &format!("/quarantine/{fire}/accept"),
            &[("csrf", &csrf), ("organisation", "acme"), ("severity", "2")],
        )
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER, "{}", accepted.body);
    let to = accepted.location.unwrap();
    assert!(to.starts_with("/tickets/SD-"), "{to}");
    let reference = to
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(
        (ticket.json["organisation"].as_str(), ticket.json["severity"].as_i64()),
        (Some("acme"), Some(2))
    );
    assert_eq!(
        ticket.json["requester_name"], "Stan Ranger",
        "named as the mail names him"
    );
    let rejected = w.post(&format!("/quarantine/{spam}/reject"), &[("csrf", &csrf)]).await;
    assert_eq!(rejected.status, StatusCode::SEE_OTHER);
    let page = w.get("/quarantine").await;
    assert!(page.body.contains("Nothing is held."), "{}", page.body);

    // The outbox: a notice that failed, retried now by a manager.
    let app = t.app.clone();
    let failing = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        let mut c = app.conn().unwrap();
        let id: i64 = outbox::table
            .filter(outbox::sent_at.is_null())
            .select(outbox::id)
            .first(&mut *c)
            .unwrap();
        diesel::update(outbox::table.find(id))
            .set((
                outbox::attempts.eq(3),
                outbox::last_error.eq(Some("550 5.1.1 mailbox unavailable")),
                outbox::next_attempt_at.eq(chrono::NaiveDate::from_ymd_opt(2999, 1, 1)
                    .unwrap()
                    .and_hms_opt(0, 0, 0)
                    .unwrap()),
            ))
            .execute(&mut *c)
            .unwrap();
        id
    })
    .await
    .unwrap();
    let mut m = Web::new(&t);
    m.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = m.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    m.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    let page = m.get("/outbox").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("550 5.1.1 mailbox unavailable") && page.body.contains("1 failing"),
        "{}",
        page.body
    );
    let csrf = Web::hidden(&page, "csrf");
    let retried = m.post(&format!("/outbox/{failing}/retry"), &[("csrf", &csrf)]).await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    let app = t.app.clone();
    let due = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .find(failing)
            .select(outbox::next_attempt_at)
            .first::<chrono::NaiveDateTime>(&mut *app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert!(due.and_utc() <= chrono::Utc::now(), "due now, not in 2999");
    assert_eq!(audit_count(&t, "outbox.retry").await, 1);
}

/// A major incident worked in the pages: tickets linked in bulk from the
/// queue and one from its own page, an update posted on the outage's page
/// (a reply on each), and one note resolving them.
async fn an_agent_links_tickets_to_an_outage_from_the_queue_and_the_ticket_and_resolves_them_together(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let a = t.raise(&t.carol, "Uploads fail", 2).await;
    let b = t.raise(&t.gina, "Backups fail", 2).await;
    let c = t.raise(&t.gina, "Restores fail", 3).await;
    let o = t
        .post(
            "/api/v1/outages",
            &t.manager,
            serde_json::json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(10),
                "organisations": "all", "description": "Storage quorum"}),
        )
        .await;
    let id = o.json["id"].as_i64().unwrap().to_string();
    let mut w = Web::new(&t);
    w.sign_in("walter@desk.example", PASSWORD).await;
    let queue = w.get("/queue").await;
    assert!(queue.body.contains("Or link them to"), "{}", queue.body);
    assert!(
        queue.body.contains(&format!("value=\"{a}\" form=\"bulk-link\"")),
        "{}",
        queue.body
    );
    let csrf = w.csrf("/queue").await;
    let linked = w
        .post(
            "/queue/link",
            &[("csrf", &csrf), ("outage", &id), ("ticket", &a), ("ticket", &b)],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let page = w.get(&format!("/outages/{id}?done=linked")).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains(&a) && page.body.contains(&b) && !page.body.contains(&c),
        "{}",
        page.body
    );
    // From the ticket's own page.
    let tp = w.get(&format!("/tickets/{c}")).await;
    assert!(tp.body.contains("Link to the outage under way"), "{}", tp.body);
    let csrf = w.csrf(&format!("/tickets/{c}")).await;
    let one = w
        .post(&format!("/tickets/{c}/incident"), &[("csrf", &csrf), ("outage", &id)])
        .await;
    assert_eq!(one.status, StatusCode::SEE_OTHER, "{}", one.body);
    let tp = w.get(&format!("/tickets/{c}")).await;
    assert!(tp.body.contains(&format!("href=\"/outages/{id}\"")), "{}", tp.body);
    // An update on the outage's page: a public reply on each.
    let csrf = w.csrf(&format!("/outages/{id}")).await;
    let up = w
        .post(
            &format!("/outages/{id}/updates"),
            &[
                ("csrf", &csrf),
                ("status", "identified"),
                ("body", "A storage node failed."),
            ],
        )
        .await;
    assert_eq!(up.status, StatusCode::SEE_OTHER, "{}", up.body);
    let events = t.get(&format!("/api/v1/tickets/{b}/events"), &t.gina).await;
    assert!(events.text.contains("A storage node failed."), "{}", events.text);
    // Unlink C, then one note resolves A and B.
    let csrf = w.csrf(&format!("/outages/{id}")).await;
    w.post(&format!("/outages/{id}/tickets/{c}/unlink"), &[("csrf", &csrf)])
        .await;
    let csrf = w.csrf(&format!("/outages/{id}")).await;
    let r = w
        .post(
            &format!("/outages/{id}/tickets/resolve"),
            &[("csrf", &csrf), ("note", "Storage is healthy again.")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    for (reference, token, status) in [
        (&a, &t.carol, "resolved"),
        (&b, &t.gina, "resolved"),
        (&c, &t.gina, "open"),
    ] {
        assert_eq!(
            t.get(&format!("/api/v1/tickets/{reference}"), token).await.json["status"],
            status,
            "{reference}"
        );
    }
    // A customer cannot reach the outage's staff page.
    let mut wendy = Web::new(&t);
    wendy.sign_in("wendy@globex.example", PASSWORD).await;
    assert_ne!(wendy.get(&format!("/outages/{id}")).await.status, StatusCode::OK);
}

/// The header's search box and its page: a customer finds their own
/// organisation's public words, marked; never another's ticket or a note;
/// a malformed query is told on the page; a reference alone goes to it.
async fn the_search_box_finds_only_what_each_viewer_may_see(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let body = |subject: &str, description: &str| serde_json::json!({"subject": subject, "description": description, "severity": 3});
    let globex = t
        .post(
            "/api/v1/tickets",
            &t.gina,
            body("Backup <b>volume</b> fails", "The checksum failed on the nightly run."),
        )
        .await
        .json["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let acme = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            body("Acme widgets", "A quokka broke the checksum."),
        )
        .await
        .json["reference"]
        .as_str()
        .unwrap()
        .to_string();
    let n = t
        .post(
            &format!("/api/v1/tickets/{globex}/notes"),
            &t.agent,
            serde_json::json!({"body": "Internal: the wombat array again."}),
        )
        .await;
    assert_eq!(n.status.as_u16(), 200);

    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let home = customer.get("/tickets").await;
    assert!(home.body.contains("id=\"search-q\"") && home.body.contains("role=\"search\""));
    let found = customer.get("/search?q=checksums").await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert!(
        found.body.contains(&globex) && found.body.contains("<mark>checksum</mark>"),
        "{}",
        found.body
    );
    assert!(
        found.body.contains("Backup &lt;b&gt;volume&lt;/b&gt; fails"),
        "escaped: {}",
        found.body
    );
    assert!(
        !found.body.contains(&acme) && !found.body.contains("quokka"),
        "{}",
        found.body
    );
    for word in ["quokka", "wombat", "acme"] {
        let p = customer.get(&format!("/search?q={word}")).await;
        assert_eq!(p.status, StatusCode::OK);
        assert!(p.body.contains("No tickets match."), "{word}: {}", p.body);
        assert!(!p.body.contains(&acme) && !p.body.contains("array"), "{word}");
    }
    let bad = customer.get("/search?q=%22unclosed").await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        bad.body.contains("not closed") && bad.body.contains("aria-invalid=\"true\""),
        "{}",
        bad.body
    );
    let staff_only = customer.get("/search?q=backup%20assignee:me").await;
    assert_eq!(staff_only.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(staff_only.body.contains("staff only"), "{}", staff_only.body);
    let jump = customer.get(&format!("/search?q={globex}")).await;
    assert_eq!(jump.status, StatusCode::SEE_OTHER);
    assert_eq!(jump.location.as_deref(), Some(format!("/tickets/{globex}").as_str()));
    let not_theirs = customer.get(&format!("/search?q={acme}")).await;
    assert_eq!(not_theirs.status, StatusCode::OK);
    assert!(not_theirs.body.contains("No tickets match."));

    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let notes = agent.get("/search?q=wombat").await;
    assert!(
        notes.body.contains(&globex) && notes.body.contains("<mark>wombat</mark>"),
        "{}",
        notes.body
    );
    assert!(
        notes.body.contains("globex Ltd"),
        "staff see the organisation: {}",
        notes.body
    );
    let both = agent.get("/search?q=checksum").await;
    assert!(
        both.body.contains(&globex) && both.body.contains(&acme),
        "{}",
        both.body
    );
    assert!(both.body.contains("1–2 of 2 tickets"), "{}", both.body);
    // Kept as the agent's own view, it is in the queue's side bar with its
    // count, and goes.
    let csrf = agent.csrf("/search?q=checksum").await;
    let kept = agent
        .post(
            "/views",
            &[
                ("csrf", &csrf),
                ("name", "Checksums"),
                ("query", "checksum"),
                ("queue", ""),
            ],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let queue = agent.get("/queue").await;
    assert!(
        queue.body.contains("aria-label=\"Saved views\"")
            && queue
                .body
                .contains(">Checksums</a> <span class=\"count\" aria-label=\"2 tickets\">2</span>"),
        "{}",
        queue.body
    );
    // The customer's own list knows nothing of it.
    let theirs = t.get("/api/v1/views", &t.gina).await;
    assert!(!theirs.text.contains("Checksums"));
    let refused = agent
        .post("/views", &[("csrf", &csrf), ("name", "Bad"), ("query", "colour:red")])
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("unknown filter"), "{}", refused.body);
    let id = queue
        .body
        .split("action=\"/views/")
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let gone = agent.post(&format!("/views/{id}/delete"), &[("csrf", &csrf)]).await;
    assert_eq!(gone.status, StatusCode::SEE_OTHER);
    assert!(!agent.get("/queue").await.body.contains("Checksums"));
}

/// Time on a ticket's page: booked with a reply and on its own, the total
/// shown to staff; the customer's page says nothing of it.
async fn an_agent_books_time_with_a_reply_and_on_its_own_and_the_customer_sees_none(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let r = t.raise(&t.gina, "Globex's slow database", 3).await;
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let csrf = agent.csrf(&format!("/tickets/{r}")).await;
    let sent = agent
        .post_multipart(
            &format!("/tickets/{r}/reply"),
            &[
                ("csrf", &csrf),
                ("visibility", "public"),
                ("body", "Indexes rebuilt."),
                ("time_spent", "45m"),
            ],
            None,
        )
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let logged = agent
        .post(
            &format!("/tickets/{r}/time"),
            &[("csrf", &csrf), ("spent", "30m"), ("note", "Vendor call")],
        )
        .await;
    assert_eq!(logged.status, StatusCode::SEE_OTHER, "{}", logged.body);
    let page = agent.get(&format!("/tickets/{r}")).await;
    assert!(page.body.contains("Time spent: 1 h 15 min"), "{}", page.body);
    assert!(page.body.contains("Vendor call"));
    let bad = agent
        .post(&format!("/tickets/{r}/time"), &[("csrf", &csrf), ("spent", "forever")])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("expected time spent"), "{}", bad.body);
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let theirs = customer.get(&format!("/tickets/{r}")).await;
    assert!(theirs.body.contains("Indexes rebuilt."));
    assert!(
        !theirs.body.contains("Time spent")
            && !theirs.body.contains("Vendor call")
            && !theirs.body.contains("time_spent")
    );
    let csrf = customer.csrf(&format!("/tickets/{r}")).await;
    let forged = customer
        .post(&format!("/tickets/{r}/time"), &[("csrf", &csrf), ("spent", "5m")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
}

/// Linking from a ticket's page: the link reads in its own words on both
/// tickets; the customer sees it, without the form or the unlink button.
async fn tickets_are_linked_and_unlinked_from_their_pages(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let a = t.raise(&t.gina, "Globex's storage array", 2).await;
    let b = t.raise(&t.gina, "Globex's slow backups", 3).await;
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let csrf = agent.csrf(&format!("/tickets/{a}")).await;
    let linked = agent
        .post(
            &format!("/tickets/{a}/links"),
            &[("csrf", &csrf), ("kind", "causes"), ("ticket", &b)],
        )
        .await;
    assert_eq!(linked.status, StatusCode::SEE_OTHER, "{}", linked.body);
    let page = agent.get(&format!("/tickets/{b}")).await.body;
    assert!(
        page.contains(&format!("caused by <a href=\"/tickets/{a}\">{a}</a>")),
        "{page}"
    );
    let bad = agent
        .post(
            &format!("/tickets/{a}/links"),
            &[("csrf", &csrf), ("kind", "related"), ("ticket", &a)],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("cannot be linked to itself"), "{}", bad.body);
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let theirs = customer.get(&format!("/tickets/{a}")).await.body;
    assert!(
        theirs.contains(&format!("caused <a href=\"/tickets/{b}\">{b}</a>")),
        "{theirs}"
    );
    assert!(
        !theirs.contains("id=\"link-form\"") && !theirs.contains("Unlink"),
        "{theirs}"
    );
    let removed = agent
        .post(
            &format!("/tickets/{b}/links/remove"),
            &[("csrf", &csrf), ("kind", "caused_by"), ("ticket", &a)],
        )
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(
        agent
            .get(&format!("/tickets/{a}"))
            .await
            .body
            .contains("No linked tickets.")
    );
}

/// The canned replies page: an agent keeps one of their own (a field name
/// that does not exist is refused, saying which), changes and removes it;
/// a desk-wide one is a manager's; customers have no such page.
async fn canned_replies_are_kept_changed_and_removed_on_their_page(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let page = agent.get("/macros").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("{{requester.name}}"),
        "the fields are named literally"
    );
    let csrf = agent.csrf("/macros").await;
    let bad = agent
        .post(
            "/macros",
            &[
                ("csrf", &csrf),
                ("name", "Bad"),
                ("body", "Hi {{requester.nickname}}"),
                ("scope", "personal"),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", bad.body);
    assert!(bad.body.contains("nickname"), "{}", bad.body);
    let kept = agent
        .post(
            "/macros",
            &[
                ("csrf", &csrf),
                ("name", "Need logs"),
                (
                    "body",
                    "Hello {{requester.name}}, please send the logs for {{ticket.reference}}.",
                ),
                ("scope", "personal"),
                ("set_status", "pending_customer"),
            ],
        )
        .await;
    assert_eq!(kept.status, StatusCode::SEE_OTHER, "{}", kept.body);
    let listed = agent.get("/macros?done=kept").await.body;
    assert!(listed.contains("Canned reply kept.") && listed.contains("Need logs") && listed.contains("yours"));
    let id: i64 = t.get("/api/v1/macros", &t.agent).await.json.as_array().unwrap().len() as i64;
    assert_eq!(id, 0, "walter's own is not alice's");
    let id = listed
        .split("name=\"id\" value=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .unwrap()
        .to_string();
    let changed = agent
        .post(
            "/macros",
            &[
                ("csrf", &csrf),
                ("id", &id),
                ("name", "Need logs"),
                ("body", "Please send the logs."),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER, "{}", changed.body);
    assert!(agent.get("/macros").await.body.contains("Please send the logs."));
    let desk = agent
        .post(
            "/macros",
            &[
                ("csrf", &csrf),
                ("name", "Everyone"),
                ("body", "Hello"),
                ("scope", "desk"),
            ],
        )
        .await;
    assert_eq!(desk.status, StatusCode::FORBIDDEN, "{}", desk.body);
    let removed = agent
        .post("/macros", &[("csrf", &csrf), ("id", &id), ("remove", "1")])
        .await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER, "{}", removed.body);
    assert!(!agent.get("/macros").await.body.contains("Please send the logs."));
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    assert_eq!(customer.get("/macros").await.status, StatusCode::FORBIDDEN);
}

/// The ticket page holds back a reply when the customer wrote again since
/// the page was loaded: the new message is shown, the draft kept, and
/// sending again sends it once. Another agent on the page is named.
async fn a_reply_written_before_the_customer_wrote_again_is_held_to_be_read_first(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let r = t.raise(&t.gina, "Globex's certificates", 2).await;
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let page = agent.get(&format!("/tickets/{r}")).await;
    assert!(page.body.contains("No one else has this ticket open."), "{}", page.body);
    let csrf = Web::hidden(&page, "csrf");
    let seen = Web::hidden(&page, "seen");
    // Meanwhile the customer writes, and a colleague opens the ticket.
    t.post(
        &format!("/api/v1/tickets/{r}/replies"),
        &t.gina,
        serde_json::json!({"body": "It expired an hour ago."}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{r}/presence"),
        &t.agent,
        serde_json::json!({"replying": true}),
    )
    .await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("visibility", "public"),
        ("body", "Renewing it now."),
        ("seen", seen.as_str()),
    ];
    let held = agent
        .post_multipart(&format!("/tickets/{r}/reply"), &fields, None)
        .await;
    assert_eq!(held.status, StatusCode::CONFLICT, "{}", held.body);
    assert!(
        held.body.contains("Not sent yet") && held.body.contains("It expired an hour ago."),
        "{}",
        held.body
    );
    assert!(
        held.body.contains(">Renewing it now.</textarea>"),
        "the draft is kept: {}",
        held.body
    );
    assert!(
        held.body.contains("is writing a reply"),
        "the colleague is named: {}",
        held.body
    );
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    assert!(!events.text.contains("Renewing it now."));
    let again = [
        ("csrf", csrf.as_str()),
        ("visibility", "public"),
        ("body", "Renewing it now."),
        ("seen", seen.as_str()),
        ("send_anyway", "1"),
    ];
    let sent = agent.post_multipart(&format!("/tickets/{r}/reply"), &again, None).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    let sent_once = events
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"] == "Renewing it now.")
        .count();
    assert_eq!(sent_once, 1, "{}", events.text);
    // A reply with nothing new since the page is sent at once.
    let page = agent.get(&format!("/tickets/{r}")).await;
    let fresh = [
        ("csrf", csrf.as_str()),
        ("visibility", "internal"),
        ("body", "Renewed."),
        ("seen", &Web::hidden(&page, "seen")),
    ];
    let sent = agent.post_multipart(&format!("/tickets/{r}/reply"), &fresh, None).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
}

/// A canned reply from the ticket page: rendered into the reply box for
/// the agent to read and edit, and sent with its moves; customers are
/// offered none.
async fn a_canned_reply_is_put_in_the_reply_box_edited_and_sent_with_its_moves(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let r = t.raise(&t.gina, "Globex's VPN", 3).await;
    let m = t
        .post(
            "/api/v1/macros",
            &t.manager,
            serde_json::json!({"name": "Need logs", "body": "Hello {{requester.email}}, please send the logs for {{ticket.reference}}.", "set_status": "pending_customer", "set_assignee": "me"}),
        )
        .await;
    assert_eq!(m.status.as_u16(), 201, "{}", m.text);
    let id = m.json["id"].as_i64().unwrap();
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let page = agent.get(&format!("/tickets/{r}")).await;
    assert!(
        page.body.contains("data-key=\"m\"") && page.body.contains(">Need logs</option>"),
        "{}",
        page.body
    );
    let filled = agent.get(&format!("/tickets/{r}?macro={id}")).await;
    assert_eq!(filled.status, StatusCode::OK, "{}", filled.body);
    let text = format!("Hello gina@globex.example, please send the logs for {r}.");
    assert!(filled.body.contains(&format!(">{text}</textarea>")), "{}", filled.body);
    assert!(
        filled
            .body
            .contains("sets the status to pending customer, assigns it to you"),
        "{}",
        filled.body
    );
    let csrf = Web::hidden(&filled, "csrf");
    let seen = Web::hidden(&filled, "seen");
    let edited = format!("{text} Thank you!");
    let fields = [
        ("csrf", csrf.as_str()),
        ("visibility", "public"),
        ("body", edited.as_str()),
        ("seen", seen.as_str()),
        ("macro", &id.to_string()),
    ];
    let sent = agent
        .post_multipart(&format!("/tickets/{r}/reply"), &fields, None)
        .await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let ticket = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
    assert_eq!(ticket.json["status"], "pending_customer");
    assert_eq!(ticket.json["assignee"], "walter@desk.example");
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.gina).await;
    assert!(events.text.contains("Thank you!"), "the edited text is what was sent");
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let theirs = customer.get(&format!("/tickets/{r}")).await;
    assert!(!theirs.body.contains("Need logs") && !theirs.body.contains("macro-form"));
    assert_eq!(
        customer.get(&format!("/tickets/{r}?macro={id}")).await.status,
        StatusCode::FORBIDDEN
    );
}

/// The queue's bulk form: the ticked tickets assigned and replied to,
/// each on its own; a refusal is listed with its reason.
async fn the_queue_acts_on_the_chosen_tickets_and_says_how_each_fared(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let a = t.raise(&t.carol, "Acme's laptop", 3).await;
    let g = t.raise(&t.gina, "Globex's laptop", 3).await;
    let closed = t.raise(&t.gina, "Globex's old laptop", 3).await;
    for step in ["resolve", "close"] {
        t.post(
            &format!("/api/v1/tickets/{closed}/{step}"),
            &t.agent,
            serde_json::json!({"note": "done"}),
        )
        .await;
    }
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let queue = agent.get("/queue?status=any").await;
    assert!(
        queue.body.contains(&format!("value=\"{a}\" form=\"bulk-link\"")),
        "{}",
        queue.body
    );
    let csrf = Web::hidden(&queue, "csrf");
    let done = agent
        .post(
            "/queue/bulk",
            &[
                ("csrf", csrf.as_str()),
                ("ticket", a.as_str()),
                ("ticket", g.as_str()),
                ("ticket", closed.as_str()),
                ("assignee", "me"),
                ("status", ""),
                ("severity", ""),
                ("reply", "A new laptop is on its way."),
            ],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("2 ticket(s) changed, 1 refused"), "{}", done.body);
    assert!(
        done.body.contains(&format!("{closed}</a></td><td>refused: ")),
        "{}",
        done.body
    );
    for r in [&a, &g] {
        let v = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
        assert_eq!(v.json["assignee"], "walter@desk.example");
    }
    // The queue's form moves them to another queue too.
    assert!(queue.body.contains("id=\"bulk-queue\""), "{}", queue.body);
    let moved = agent
        .post(
            "/queue/bulk",
            &[("csrf", csrf.as_str()), ("ticket", a.as_str()), ("queue", "platform")],
        )
        .await;
    assert!(moved.body.contains("1 ticket(s) changed"), "{}", moved.body);
    let v = t.get(&format!("/api/v1/tickets/{a}"), &t.agent).await;
    assert_eq!(v.json["queue"], "platform", "{}", v.text);
    let nothing = agent
        .post("/queue/bulk", &[("csrf", csrf.as_str()), ("ticket", a.as_str())])
        .await;
    assert_eq!(nothing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let mut customer = Web::new(&t);
    customer.sign_in("wendy@globex.example", PASSWORD).await;
    let csrf = customer.csrf("/tickets").await;
    let forged = customer
        .post(
            "/queue/bulk",
            &[("csrf", csrf.as_str()), ("ticket", g.as_str()), ("close", "yes")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN, "{}", forged.body);
}

/// The catalogue in the portal: a form drawn from the item, a wrong field
/// named back, the named colleague finding the request waiting for them and
/// approving it on its page, and an agent fulfilling it.
async fn a_customer_requests_from_the_catalogue_and_a_colleague_approves_on_the_page(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    web_users(
        &t,
        PASSWORD,
        &[("wanda@globex.example", Role::Customer, Some("globex"))],
        &[],
    )
    .await;
    let mut wendy = Web::new(&t);
    wendy.sign_in("wendy@globex.example", PASSWORD).await;
    let list = wendy.get("/catalogue").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("Account for a new starter") && list.body.contains("Fulfilled within 4h"),
        "{}",
        list.body
    );
    let csrf = wendy.csrf("/catalogue/new-starter-account").await;
    let form = wendy.get("/catalogue/new-starter-account").await.body;
    assert!(
        form.contains("name=\"f.start\" type=\"date\"") && form.contains("id=\"approver\""),
        "{form}"
    );
    let fields = [
        ("csrf", csrf.as_str()),
        ("f.person", "nadia@globex.example"),
        ("f.full_name", "Nadia Patel"),
        ("f.start", "7 December"),
        ("f.access", "office"),
        ("approver", "wanda@globex.example"),
    ];
    let wrong = wendy.post("/catalogue/new-starter-account", &fields).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", wrong.body);
    assert!(
        wrong.body.contains("answers.start: expected a date YYYY-MM-DD"),
        "{}",
        wrong.body
    );
    assert!(wrong.body.contains("value=\"Nadia Patel\""), "what was typed is kept");
    let mut fields = fields;
    fields[3] = ("f.start", "2026-12-07");
    let sent = wendy.post("/catalogue/new-starter-account", &fields).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.body);
    let at = sent.location.unwrap();
    let reference = at
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let page = wendy.get(&at).await.body;
    assert!(
        page.contains("Request: Account for a new starter") && page.contains("awaiting approval"),
        "{page}"
    );
    assert!(
        !page.contains("id=\"approve\""),
        "the requester does not approve their own"
    );
    assert!(
        !page.contains("id=\"clock-response\""),
        "no incident clocks on a request"
    );
    let list = wendy.get("/tickets").await.body;
    assert!(
        list.contains("<strong>service request</strong>") && list.contains("its own clock"),
        "{list}"
    );

    let mut wanda = Web::new(&t);
    wanda.sign_in("wanda@globex.example", PASSWORD).await;
    let waiting = wanda.get("/catalogue").await.body;
    assert!(
        waiting.contains("Waiting for your approval") && waiting.contains(&reference),
        "{waiting}"
    );
    let csrf = wanda.csrf(&format!("/tickets/{reference}")).await;
    let approved = wanda
        .post(
            &format!("/tickets/{reference}/request"),
            &[("csrf", &csrf), ("action", "approve"), ("text", "Welcome, Nadia.")],
        )
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER, "{}", approved.body);
    let page = wanda.get(&format!("/tickets/{reference}")).await.body;
    assert!(
        page.contains("approved and in fulfilment") && page.contains("Welcome, Nadia."),
        "{page}"
    );

    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    let csrf = agent.csrf(&format!("/tickets/{reference}")).await;
    let page = agent.get(&format!("/tickets/{reference}")).await.body;
    assert!(
        page.contains("id=\"fulfil-form\"") && !page.contains("id=\"resolve-form\""),
        "{page}"
    );
    let done = agent
        .post(
            &format!("/tickets/{reference}/request"),
            &[("csrf", &csrf), ("action", "fulfil"), ("text", "Account made.")],
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    let page = wendy.get(&format!("/tickets/{reference}")).await.body;
    assert!(
        page.contains("id=\"request-status\">fulfilled") && page.contains("Account made."),
        "{page}"
    );
}

/// The pages keep the allow-lists as the API does: a signed-in agent whose
/// address falls outside the staff's list gets 403 with the reason.
async fn the_pages_refuse_an_address_outside_the_allow_list(db: Db) {
    let t = spawn_app(db).await;
    people(&t).await;
    let mut agent = Web::new(&t);
    agent.sign_in("walter@desk.example", PASSWORD).await;
    assert_eq!(agent.get("/queue").await.status, StatusCode::OK);
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let list = sladesk::app::admin::Networks {
            networks: vec!["127.0.0.2".into()],
        };
        app.set_networks(
            &sladesk::app::Principal::operator(),
            &sladesk::app::admin::NetworkScope::Staff,
            &list,
            sladesk::app::now(),
        )
        .unwrap();
    })
    .await
    .unwrap();
    let refused = agent.get("/queue").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    assert!(refused.body.contains("127.0.0.1"), "{}", refused.body);
}

/// An admin sets an organisation's allow-list on the admin page; the staff
/// list that would lock the admin out is refused there too.
async fn an_admin_sets_an_allow_list_on_the_admin_page(db: Db) {
    let t = spawn_app(db).await;
    let mut w = Web::new(&t);
    let csrf = admin_on_the_admin_page(&t, &mut w).await;
    let set = w
        .post(
            "/admin/networks",
            &[
                ("csrf", &csrf),
                ("scope", "acme"),
                ("networks", "10.0.0.0/8\n192.0.2.7"),
            ],
        )
        .await;
    assert!(
        set.status.is_redirection() || set.status == StatusCode::OK,
        "{}",
        set.body
    );
    let listed = t.get("/api/v1/organisations/acme/networks", &t.admin).await;
    assert_eq!(
        listed.json["networks"],
        serde_json::json!(["10.0.0.0/8", "192.0.2.7/32"])
    );
    let page = w.get("/admin").await.body;
    assert!(page.contains("10.0.0.0/8, 192.0.2.7/32"), "{page}");
    let locked = w
        .post(
            "/admin/networks",
            &[("csrf", &csrf), ("scope", "staff"), ("networks", "10.0.0.0/8")],
        )
        .await;
    assert_eq!(locked.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", locked.body);
    assert!(locked.body.contains("locked out"), "{}", locked.body);
}

/// Two processes behind one load balancer show a manager the same
/// month-to-date figures, counted once by the scheduler and kept in the
/// store (issue 20), not each process's own count at its own time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_process_shows_the_dashboard_figures_the_scheduler_kept() {
    let t = spawn_app(Db::Postgres).await;
    people(&t).await;
    t.raise(&t.gina, "Counted this month", 3).await;
    let kept_at = chrono::Utc::now();
    let app = t.app.clone();
    let counted = tokio::task::spawn_blocking(move || app.keep_month_to_date(kept_at).unwrap())
        .await
        .unwrap();
    assert_eq!(counted, 1, "the ticket raised is counted");
    let b = crate::helpers::second_process(&t).await;
    // A count made by either process from now would show a later time.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;

    let mut w = Web::new(&t);
    w.sign_in("mona@desk.example", PASSWORD).await;
    let csrf = w.csrf("/sign-in/code").await;
    let code = totp_code(TOTP, "mona@desk.example", chrono::Utc::now()).unwrap();
    w.post("/sign-in/code", &[("code", &code), ("csrf", &csrf)]).await;
    let want = format!(
        r#"datetime="{}""#,
        kept_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let on_a = w.get("/dashboard").await;
    assert_eq!(on_a.status, StatusCode::OK);
    assert!(on_a.body.contains(&want), "first process: not the kept figures");
    // The same browser, sent to the other process: no sticky session.
    w.base = b;
    let on_b = w.get("/dashboard").await;
    assert_eq!(on_b.status, StatusCode::OK);
    assert!(on_b.body.contains(&want), "second process: not the kept figures");
    let compliance = |body: &str| {
        let at = body.find("compliance-title").expect("the compliance section");
        body[at..].split("</section>").next().unwrap().to_string()
    };
    assert_eq!(compliance(&on_a.body), compliance(&on_b.body));
}
