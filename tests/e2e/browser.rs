//! The pages in a real browser: Debian's headless Chromium, driven through
//! its ChromeDriver (WebDriver, fantoccini), against the real server on a
//! random port. Every page visited is checked with axe-core (no violation of
//! any impact) and photographed into `target/browser-screenshots/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::Datelike;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sladesk::app::Role;
use sladesk::app::sessions::totp_code;
use sladesk::app::tickets::NewTicketRequest;
use sladesk::domain::ticket::Severity;

use crate::helpers::{Db, TestApp, spawn_app, web_users};

pub(crate) const PASSWORD: &str = "browser-test-password";
pub(crate) const TOTP: &str = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";

/// Where the screenshots go; `.ci/run` names it after the tests.
pub fn screenshot_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/browser-screenshots"))
}

pub(crate) enum Factor<'a> {
    /// The secret of an authenticator, whose current code is given.
    Totp(&'a str),
    Recovery(&'a str),
}

pub(crate) struct Browser {
    pub(crate) client: Client,
    driver: Child,
    base: String,
    _profile: tempdir::Dir,
}

mod tempdir {
    /// A folder removed when dropped.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl Browser {
    pub(crate) async fn start(base: &str) -> Browser {
        let driver_path = "/usr/bin/chromedriver";
        assert!(
            std::path::Path::new(driver_path).exists() && std::path::Path::new("/usr/bin/chromium").exists(),
            "the browser tests need Debian's chromium and chromium-driver: run bash tests/setup.sh (as root it installs them)"
        );
        let port = crate::free_port();
        let driver = Command::new(driver_path)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = std::env::temp_dir().join(format!("sladesk-chromium-{port}"));
        std::fs::create_dir_all(&profile).unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--disable-quic", "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--window-size=1280,1000",
                    format!("--user-data-dir={}", profile.display()),
                ],
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Browser {
                        client,
                        driver,
                        base: base.to_string(),
                        _profile: tempdir::Dir(profile),
                    };
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chromedriver did not start a session: {last:?}");
    }

    pub(crate) async fn goto(&self, path: &str) {
        self.client.goto(&format!("{}{path}", self.base)).await.unwrap();
    }

    pub(crate) async fn path(&self) -> String {
        let u = self.client.current_url().await.unwrap();
        match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        }
    }

    pub(crate) async fn text(&self, css: &str) -> String {
        self.client.find(Locator::Css(css)).await.unwrap().text().await.unwrap()
    }

    pub(crate) async fn body(&self) -> String {
        self.text("body").await
    }

    pub(crate) async fn fill(&self, css: &str, value: &str) {
        let e = self.client.find(Locator::Css(css)).await.unwrap();
        e.clear().await.unwrap();
        e.send_keys(value).await.unwrap();
    }

    pub(crate) async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Clicks something that loads a new page (a submit button, a link) and
    /// waits until that page has loaded: WebDriver's click returns earlier.
    pub(crate) async fn submit(&self, css: &str) {
        self.client
            .execute("window.__sladeskOldPage = true;", vec![])
            .await
            .unwrap();
        self.click(css).await;
        for _ in 0..200 {
            let done = self
                .client
                .execute(
                    "return window.__sladeskOldPage === undefined && document.readyState === 'complete';",
                    vec![],
                )
                .await
                .unwrap_or(Value::Bool(false));
            if done == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("no new page after clicking {css}");
    }

    /// Sets an input's value as a user's picker would (date and time inputs
    /// take no typed text in Chromium).
    pub(crate) async fn set_value(&self, css: &str, value: &str) {
        self.client
            .execute(
                "document.querySelector(arguments[0]).value = arguments[1];",
                vec![json!(css), json!(value)],
            )
            .await
            .unwrap();
    }

    /// Signs in through the pages, giving the second factor when one is asked.
    pub(crate) async fn sign_in(&self, email: &str, second: Option<Factor<'_>>) {
        self.goto("/sign-in").await;
        self.fill("#email", email).await;
        self.fill("#password", PASSWORD).await;
        self.submit("form button[type=submit]").await;
        if let Some(factor) = second {
            assert_eq!(self.path().await, "/sign-in/code", "{email} is asked for a code");
            self.check_page("sign-in-code").await;
            let code = match factor {
                Factor::Totp(secret) => totp_code(secret, email, chrono::Utc::now()).unwrap(),
                Factor::Recovery(code) => code.to_string(),
            };
            self.fill("#code", &code).await;
            self.submit("main form button[type=submit]").await;
        }
        assert_ne!(
            self.path().await,
            "/sign-in",
            "{email} signed in: {}",
            self.body().await
        );
    }

    pub(crate) async fn sign_out(&self) {
        self.submit("form[action='/sign-out'] button").await;
        assert_eq!(self.path().await, "/sign-in");
    }

    /// axe-core on the page as it stands: no violation of any impact;
    /// then a screenshot named after the page.
    pub(crate) async fn check_page(&self, name: &str) {
        let axe = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/axe-core/axe.min.js"
        ))
        .expect("axe-core is installed by tests/setup.sh (npm ci --prefix tests/browser)");
        self.client.execute(&axe, vec![]).await.unwrap();
        let found = self
            .client
            .execute_async(
                r#"const done = arguments[arguments.length - 1];
                   axe.run(document, { runOnly: { type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"] } })
                     .then(r => done(r.violations.map(v => ({ id: v.id, impact: v.impact, help: v.help,
                                                             nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ")) }))))
                     .catch(e => done([{ id: "axe-error", impact: "critical", help: String(e), nodes: [] }]));"#,
                vec![],
            )
            .await
            .unwrap();
        let violations: Vec<&Value> = found.as_array().unwrap().iter().collect();
        assert!(
            violations.is_empty(),
            "{name} ({}): axe found violations: {}",
            self.path().await,
            serde_json::to_string_pretty(&violations).unwrap()
        );
        let png = self.client.screenshot().await.unwrap();
        std::fs::create_dir_all(screenshot_dir()).unwrap();
        std::fs::write(screenshot_dir().join(format!("{name}.png")), png).unwrap();
    }

    /// The window's outer size, as a phone or a laptop would have it.
    pub(crate) async fn resize(&self, width: u32, height: u32) {
        self.client.set_window_size(width, height).await.unwrap();
    }

    /// How far the page reaches past the window sideways, in CSS pixels
    /// (0: no horizontal scroll).
    pub(crate) async fn overflow_x(&self) -> i64 {
        self.client
            .execute(
                "return document.documentElement.scrollWidth - document.documentElement.clientWidth;",
                vec![],
            )
            .await
            .unwrap()
            .as_i64()
            .unwrap()
    }

    /// The most lines any element matching `css` spans (its height over its
    /// line height).
    pub(crate) async fn most_lines(&self, css: &str) -> f64 {
        self.client
            .execute(
                "let w = 0; for (const e of document.querySelectorAll(arguments[0])) { \
                   const lh = parseFloat(getComputedStyle(e).lineHeight); \
                   w = Math.max(w, e.getBoundingClientRect().height / lh); } return w;",
                vec![json!(css)],
            )
            .await
            .unwrap()
            .as_f64()
            .unwrap_or(f64::NAN)
    }

    pub(crate) async fn close(mut self) {
        let _ = self.client.clone().close().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    /// A failed test does not reach `close`: its ChromeDriver (and so its
    /// Chromium) must not outlive it.
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

/// People who sign in through the pages, with passwords; the manager and
/// admin as enrolled (the admin not, so the test enrols them in the page).
pub(crate) async fn people(t: &TestApp) {
    let users = [
        ("wendy@globex.example", Role::Customer, Some("globex")),
        ("carl@acme.example", Role::Customer, Some("acme")),
        ("walter@desk.example", Role::Agent, None),
        ("mona@desk.example", Role::Manager, None),
        ("adam@desk.example", Role::Admin, None),
    ];
    web_users(t, PASSWORD, &users, &[("mona@desk.example", TOTP)]).await;
}

/// A ticket raised on the web by one of the people, through the use case;
/// its reference.
async fn raise_by_web(t: &TestApp, email: &'static str, subject: &'static str, description: &'static str) -> String {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let who = app.principal_for(email).unwrap();
        app.create_ticket(
            &who,
            NewTicketRequest {
                subject: subject.into(),
                description: description.into(),
                severity: Some(Severity::S3),
                queue: None,
                organisation: None,
                requester: None,
                source: Some("web".into()),
            },
            sladesk::app::now(),
        )
        .unwrap()
        .reference
    })
    .await
    .unwrap()
}

/// "1 h 05 min 09 s left", "29 min 58 s left" → seconds (negative when overdue).
fn countdown_seconds(text: &str) -> i64 {
    let overdue = text.contains("overdue");
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut total = 0;
    for w in words.windows(2) {
        if let Ok(n) = w[0].parse::<i64>() {
            total += n * match w[1] {
                "d" => 86_400,
                "h" => 3600,
                "min" => 60,
                "s" => 1,
                _ => 0,
            };
        }
    }
    if overdue { -total } else { total }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_raises_a_ticket_an_agent_works_it_and_the_customer_reads_the_reply() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let b = Browser::start(&t.address).await;

    b.goto("/").await;
    assert_eq!(b.path().await, "/sign-in", "signed out, every page leads to sign-in");
    b.check_page("sign-in").await;

    // The status page is public: a service with an incident on it, its
    // update, and maintenance to come.
    let define = serde_json::json!({"slug": "objstore-lon2", "name": "Object storage – LON2", "group": "Storage"});
    t.post("/api/v1/services", &t.admin, define).await;
    let now = sladesk::app::now();
    let o = t
        .post(
            "/api/v1/outages",
            &t.manager,
            serde_json::json!({"kind": "platform_issue", "start": now - chrono::Duration::minutes(40),
                "services": [{"service": "objstore-lon2", "impact": "partial_outage"}], "description": "Quorum"}),
        )
        .await;
    t.post(
        &format!("/api/v1/outages/{}/updates", o.json["id"]),
        &t.agent,
        serde_json::json!({"status": "identified", "body": "A storage node failed; writes are slow."}),
    )
    .await;
    b.goto("/status").await;
    assert_eq!(b.path().await, "/status", "readable signed out");
    b.check_page("status").await;
    b.resize(390, 844).await;
    assert_eq!(b.overflow_x().await, 0, "the status page fits a phone");
    b.check_page("status-390").await;
    b.resize(1280, 1000).await;

    // The customer (Globex: Platinum, 24x7) raises a severity 2 ticket with a file.
    b.sign_in("wendy@globex.example", None).await;
    assert_eq!(b.path().await, "/tickets");
    b.check_page("customer-tickets").await;
    b.goto("/tickets/new").await;
    assert!(
        b.body().await.contains("degrades your core business processes"),
        "severity definitions shown"
    );
    b.check_page("customer-new-ticket").await;
    b.fill("#subject", "Checkout <b>slow</b> for EU shoppers").await;
    b.click("#severity-2").await;
    b.fill("#description", "Since 09:00 checkout takes 20 s. No workaround.")
        .await;
    let file = std::env::temp_dir().join(format!("sladesk-har-{}.txt", std::process::id()));
    std::fs::write(&file, "timings: 20.1 s, 19.8 s\n").unwrap();
    b.client
        .find(Locator::Css("#attachments"))
        .await
        .unwrap()
        .send_keys(file.to_str().unwrap())
        .await
        .unwrap();
    b.submit("main form button[type=submit]").await;
    let path = b.path().await;
    assert!(path.ends_with("?done=raised"), "raised: {path} {}", b.body().await);
    let reference = path
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_eq!(
        b.text("h1").await,
        format!("{reference} Checkout <b>slow</b> for EU shoppers"),
        "the subject is shown as text, escaped"
    );
    assert!(
        b.body()
            .await
            .contains(&format!("sladesk-har-{}.txt", std::process::id()))
    );
    b.check_page("customer-ticket").await;
    b.sign_out().await;

    // The agent sees it first in the queue, with the core's countdown.
    b.sign_in("walter@desk.example", None).await;
    assert_eq!(b.path().await, "/queue");
    let first = b
        .client
        .find(Locator::Css("#queue-list tbody tr"))
        .await
        .unwrap()
        .attr("data-ref")
        .await
        .unwrap();
    assert_eq!(
        first.as_deref(),
        Some(reference.as_str()),
        "the new ticket tops the queue"
    );
    let sla = t.get(&format!("/api/v1/tickets/{reference}/sla"), &t.agent).await.json;
    let expected = sla["response"]["remaining_seconds"].as_i64().unwrap();
    let shown = countdown_seconds(&b.text("#queue-list tbody tr .countdown").await);
    assert!(
        (expected - shown).abs() <= 5,
        "the queue's countdown ({shown} s) agrees with the core ({expected} s)"
    );
    assert!(
        expected > 25 * 60 && expected <= 30 * 60,
        "severity 2 on Platinum: 30 minutes to respond"
    );
    tokio::time::sleep(Duration::from_millis(2200)).await;
    let later = countdown_seconds(&b.text("#queue-list tbody tr .countdown").await);
    assert!(
        later < shown && shown - later <= 4,
        "the countdown moves in the page: {shown} then {later}"
    );
    b.check_page("agent-queue").await;
    b.goto("/dashboard").await;
    assert_eq!(b.text("h1").await, "Not allowed");
    b.check_page("forbidden").await;
    b.goto("/queue").await;

    // The ticket page: the SLA panel, then a reply, an internal note, and pending-customer.
    b.submit("#queue-list tbody tr a").await;
    assert!(b.text("#clock-response").await.contains("running"));
    assert!(b.text("#clock-resolve").await.contains("due"), "due instants shown");
    assert!(
        b.text(".sla").await.contains("GMT") || b.text(".sla").await.contains("BST"),
        "the zone is named"
    );
    b.check_page("agent-ticket").await;
    b.click("#vis-public").await;
    b.fill("#body", "We are on it: the EU cache tier is being scaled out.")
        .await;
    b.submit("#reply-form button[type=submit]").await;
    assert!(b.path().await.ends_with("?done=reply"), "{}", b.body().await);
    assert!(
        b.text("#clock-response").await.contains("met"),
        "the reply met the response target"
    );
    b.click("#vis-internal").await;
    b.fill("#body", "Internal: customer's CDN config looks wrong too.")
        .await;
    b.submit("#reply-form button[type=submit]").await;
    assert!(b.path().await.ends_with("?done=note"));
    b.submit("#pending-form button").await;
    assert!(b.path().await.ends_with("?done=status"));
    assert_eq!(b.text("#ticket-status").await, "pending customer");
    let resolve = b.text("#clock-resolve").await;
    assert!(
        resolve.contains("paused"),
        "pending-customer pauses resolution on Platinum: {resolve}"
    );
    let paused_at = b.text("#clock-resolve .countdown").await;
    assert!(paused_at.ends_with("(not counting now)"), "{paused_at}");
    tokio::time::sleep(Duration::from_millis(2200)).await;
    assert_eq!(
        b.text("#clock-resolve .countdown").await,
        paused_at,
        "a paused countdown stands still"
    );
    b.check_page("agent-ticket-pending").await;
    b.sign_out().await;

    // The customer reads the reply, and never the internal note.
    b.sign_in("wendy@globex.example", None).await;
    b.goto(&format!("/tickets/{reference}")).await;
    let page = b.body().await;
    assert!(page.contains("We are on it: the EU cache tier is being scaled out."));
    assert!(!page.contains("CDN config"), "customers never see internal notes");
    assert!(!page.contains("Escalation level"), "nor routing and escalation");
    b.check_page("customer-ticket-replied").await;
    b.goto("/reports").await;
    assert!(
        b.text("#report").await.contains("globex"),
        "a customer's report is their own organisation's"
    );
    b.check_page("customer-report").await;

    // Resolved, but not fixed for the customer: they reopen it from the page.
    let resolved = t
        .post(&format!("/api/v1/tickets/{reference}/resolve"), &t.agent, json!({}))
        .await;
    assert_eq!(resolved.status.as_u16(), 200, "{}", resolved.text);
    b.goto(&format!("/tickets/{reference}")).await;
    b.fill("#reason", "Still 20 s at checkout from Frankfurt.").await;
    b.submit("#reopen-form button[type=submit]").await;
    assert!(b.path().await.ends_with("?done=reopen-request"), "{}", b.body().await);
    assert_eq!(
        b.text("#ticket-status").await,
        "resolved",
        "customers ask; staff decide"
    );
    assert!(
        b.body()
            .await
            .contains("Asked to reopen: Still 20 s at checkout from Frankfurt.")
    );
    b.check_page("customer-reopen-requested").await;
    b.sign_out().await;

    // The agent reopens it from the ticket's page.
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/tickets/{reference}")).await;
    b.submit("#staff-reopen").await;
    assert!(b.path().await.ends_with("?done=reopen"), "{}", b.body().await);
    assert_eq!(b.text("#ticket-status").await, "open");
    b.close().await;
    let _ = std::fs::remove_file(file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_gets_the_not_found_page_for_another_organisations_ticket() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let acme_ref = raise_by_web(
        &t,
        "carl@acme.example",
        "Acme's private trouble",
        "Only Acme may read this.",
    )
    .await;
    let b = Browser::start(&t.address).await;
    b.sign_in("wendy@globex.example", None).await;
    b.goto(&format!("/tickets/{acme_ref}")).await;
    assert_eq!(b.text("h1").await, "Not found");
    assert!(!b.body().await.contains("Acme's private trouble"));
    b.check_page("not-found").await;
    // The same for its files and its moves.
    b.goto(&format!("/tickets/{acme_ref}/attachments/1")).await;
    assert_eq!(b.text("h1").await, "Not found");
    b.close().await;
}

/// The header's search box from the keyboard: `/` reaches it from any
/// page, Enter searches, and the results page passes axe; a customer finds
/// their own organisation's words and nothing of another's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_searches_from_the_header_and_finds_only_their_own() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let ours = raise_by_web(
        &t,
        "wendy@globex.example",
        "Replication lag",
        "The replica in LON2 lags the primary by minutes.",
    )
    .await;
    let theirs = raise_by_web(
        &t,
        "carl@acme.example",
        "Acme's lagging replica",
        "Only Acme may read about the zeppelin.",
    )
    .await;
    let b = Browser::start(&t.address).await;
    b.sign_in("wendy@globex.example", None).await;
    b.goto("/tickets").await;
    b.client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("/")
        .await
        .unwrap();
    let focused = b.client.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("search-q"), "/ reaches the search box");
    b.client
        .execute("window.__sladeskOldPage = true;", vec![])
        .await
        .unwrap();
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&format!("lagging replicas{}", fantoccini::key::Key::Enter))
        .await
        .unwrap();
    b.client.wait().for_element(Locator::Css("main h1")).await.unwrap();
    for _ in 0..100 {
        if b.path().await.starts_with("/search") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(b.path().await.starts_with("/search?q=lagging"), "{}", b.path().await);
    let page = b.body().await;
    assert!(page.contains(&ours), "{page}");
    assert!(!page.contains(&theirs) && !page.contains("Acme"), "{page}");
    let mut marked = Vec::new();
    for m in b.client.find_all(Locator::Css(".results mark")).await.unwrap() {
        marked.push(m.text().await.unwrap());
    }
    assert!(
        marked.iter().any(|m| m == "lags"),
        "the words matched are marked: {marked:?}"
    );
    b.check_page("search-results").await;
    // Another organisation's word finds nothing, and says so.
    b.goto("/search?q=zeppelin").await;
    assert!(b.body().await.contains("No tickets match."));
    b.check_page("search-nothing").await;
    b.goto("/search?q=%22unclosed").await;
    assert!(b.body().await.contains("not closed"));
    b.check_page("search-malformed").await;
    b.close().await;
}

/// Two agents on one ticket: each page names the other, and says
/// when they are writing; a reply written while the customer wrote again
/// is held back, shown with the new message, and sent when sent again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_agents_on_one_ticket_see_each_other_and_a_stale_reply_is_held() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    web_users(&t, PASSWORD, &[("wanda@desk.example", Role::Agent, None)], &[]).await;
    let reference = t.raise(&t.gina, "Two agents, one ticket", 2).await;
    let walter = Browser::start(&t.address).await;
    walter.sign_in("walter@desk.example", None).await;
    let wanda = Browser::start(&t.address).await;
    wanda.sign_in("wanda@desk.example", None).await;
    walter.goto(&format!("/tickets/{reference}")).await;
    wanda.goto(&format!("/tickets/{reference}")).await;
    wanda.fill("#body", "Looking at the logs").await;
    // Walter's page learns of Wanda within a heartbeat or two.
    let mut said = String::new();
    for _ in 0..60 {
        said = walter.text("#presence").await;
        if said.contains("writing a reply") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(said.contains("writing a reply"), "{said}");
    // The customer writes while Walter is writing: his reply is held.
    t.post(
        &format!("/api/v1/tickets/{reference}/replies"),
        &t.gina,
        serde_json::json!({"body": "Any news? It is getting worse."}),
    )
    .await;
    walter.fill("#body", "We are on it.").await;
    walter.submit("#reply-form button[type=submit]").await;
    let page = walter.body().await;
    assert!(
        page.contains("Not sent yet") && page.contains("It is getting worse."),
        "{page}"
    );
    walter.check_page("reply-held").await;
    walter.submit("#reply-form button[type=submit]").await;
    assert!(walter.path().await.ends_with("?done=reply"), "{}", walter.path().await);
    walter.close().await;
    wanda.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_signs_in_with_totp_and_opens_last_months_report_and_an_admin_enrols() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let b = Browser::start(&t.address).await;

    b.sign_in("mona@desk.example", Some(Factor::Totp(TOTP))).await;
    assert_eq!(b.path().await, "/dashboard");
    assert!(b.body().await.contains("Compliance so far this month"));
    b.check_page("manager-dashboard").await;

    b.goto("/reports").await;
    let last_month = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
        .with_day(1)
        .unwrap()
        .pred_opt()
        .unwrap()
        .format("%B %Y")
        .to_string();
    let report = b.text("#report").await;
    assert!(report.contains(&last_month), "last month's report by default: {report}");
    let charts = b.client.find_all(Locator::Css("#report svg")).await.unwrap();
    assert_eq!(charts.len(), 3, "the report's three charts are in the page");
    let csv = b
        .client
        .find(Locator::LinkText("summary CSV"))
        .await
        .unwrap()
        .attr("href")
        .await
        .unwrap()
        .unwrap();
    assert!(
        csv.starts_with("/reports/download?") && csv.ends_with("format=csv"),
        "{csv}"
    );
    b.check_page("manager-report").await;

    b.goto("/outages").await;
    b.set_value("#o-start", "2026-10-14T09:00").await;
    b.fill("#o-description", "Storage failover").await;
    b.click("input[name=scope][value=all]").await;
    b.submit("main form button[type=submit]").await;
    assert!(b.body().await.contains("Storage failover"));
    assert!(b.body().await.contains("ongoing"));
    b.check_page("manager-outages").await;
    b.goto("/account").await;
    b.check_page("account").await;
    b.sign_out().await;

    // An admin without TOTP must enrol before anything else.
    b.sign_in("adam@desk.example", None).await;
    assert_eq!(b.path().await, "/account/totp");
    b.goto("/admin").await;
    assert_eq!(b.path().await, "/account/totp", "nothing else until enrolled");
    b.check_page("enrol").await;
    let secret = b
        .client
        .find(Locator::Css("#totp-secret"))
        .await
        .unwrap()
        .attr("data-secret")
        .await
        .unwrap()
        .unwrap();
    let code = totp_code(&secret, "adam@desk.example", chrono::Utc::now()).unwrap();
    b.fill("#code", &code).await;
    b.submit("main form button[type=submit]").await;
    let codes = b.client.find_all(Locator::Css("#recovery-codes code")).await.unwrap();
    assert_eq!(codes.len(), 10, "ten recovery codes, shown once");
    let recovery = codes[0].text().await.unwrap();
    b.check_page("recovery-codes").await;
    b.goto("/admin").await;
    assert!(b.body().await.contains("globex"));
    b.check_page("admin").await;
    b.goto("/admin/policies").await;
    assert!(b.body().await.contains("platinum") && b.body().await.contains("Christmas Day"));
    b.check_page("admin-policies").await;
    b.sign_out().await;

    // A recovery code signs in once.
    b.sign_in("adam@desk.example", Some(Factor::Recovery(&recovery))).await;
    b.sign_out().await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_works_by_keyboard_and_reads_times_in_their_own_zone() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let reference = t.raise(&t.gina, "Keyboard-driven ticket", 3).await;
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;

    b.goto("/account").await;
    b.client
        .find(Locator::Css("#time_zone"))
        .await
        .unwrap()
        .select_by_value("America/New_York")
        .await
        .unwrap();
    b.submit("form[action='/account/time-zone'] button").await;
    assert!(b.body().await.contains("Times in America/New_York"));

    // The due instant shown, read in New York time, and the countdown agree
    // (Platinum runs 24x7, so business time left is wall time left).
    b.goto("/queue").await;
    let due = b.text("#queue-list tbody tr .due time").await;
    assert!(due.ends_with(" EST") || due.ends_with(" EDT"), "{due}");
    let iso = b
        .client
        .find(Locator::Css("#queue-list tbody tr .due time"))
        .await
        .unwrap()
        .attr("datetime")
        .await
        .unwrap()
        .unwrap();
    let due_at: chrono::DateTime<chrono::Utc> = iso.parse().unwrap();
    let local = due_at.with_timezone(&chrono_tz::America::New_York);
    assert!(
        due.contains(&local.format("%H:%M").to_string()),
        "{due} is {local} in New York"
    );
    let shown = countdown_seconds(&b.text("#queue-list tbody tr .countdown").await);
    let left = (due_at - chrono::Utc::now()).num_seconds();
    assert!((shown - left).abs() <= 5, "countdown {shown} s, due in {left} s");

    // j selects the first ticket, Enter opens it, c claims it.
    let body = b.client.find(Locator::Css("body")).await.unwrap();
    body.send_keys("j").await.unwrap();
    let focused = b.client.active_element().await.unwrap().text().await.unwrap();
    assert_eq!(focused, reference, "j moves to the first ticket");
    b.client
        .execute("window.__sladeskOldPage = true;", vec![])
        .await
        .unwrap();
    b.client
        .active_element()
        .await
        .unwrap()
        .send_keys(&fantoccini::key::Key::Enter.to_string())
        .await
        .unwrap();
    b.client
        .wait()
        .for_element(Locator::Css("#clock-response"))
        .await
        .unwrap();
    assert_eq!(b.path().await, format!("/tickets/{reference}"));
    b.client
        .execute("window.__sladeskOldPage = true;", vec![])
        .await
        .unwrap();
    b.client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys("c")
        .await
        .unwrap();
    for _ in 0..100 {
        if b.path().await.ends_with("?done=claim") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        b.text("#ticket-assignee").await,
        "walter",
        "c claimed it, and the page names the assignee"
    );
    b.check_page("agent-ticket-claimed").await;
    b.close().await;
}

/// The demo desk, built as `sladesk demo` builds it, served on a random port.
struct DemoServer {
    address: String,
    handle: actix_web::dev::ServerHandle,
    _dir: tempdir::Dir,
}

impl Drop for DemoServer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false))).join();
    }
}

async fn demo_server() -> DemoServer {
    let dir = std::env::temp_dir().join(format!("sladesk-demo-pages-{}", crate::free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = sladesk::config::Settings {
        listen: "127.0.0.1:0".into(),
        database_url: format!("sqlite://{}", dir.join("demo.db").display()).parse().unwrap(),
        policies: None,
        holidays_file: None,
        pool_size: 8,
        workers: 2,
    };
    let demo = tokio::task::spawn_blocking(move || sladesk::demo::create(&settings).unwrap())
        .await
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = sladesk::server::serve(demo.app, listener, 2).unwrap();
            tx.send(server.handle()).unwrap();
            server.await
        })
    });
    DemoServer {
        address,
        handle: rx.recv().unwrap(),
        _dir: tempdir::Dir(dir),
    }
}

/// Every main page of the demo desk, full of three months of tickets, with
/// the demo's own logins: axe finds no violation and each is photographed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_main_page_of_the_demo_desk_passes_axe_with_its_demo_logins() {
    let demo = demo_server().await;
    let b = Browser::start(&demo.address).await;
    let password = sladesk::demo::DEMO_PASSWORD;
    let sign_in = |email: &'static str, totp: bool| {
        let b = &b;
        async move {
            b.goto("/sign-in").await;
            b.fill("#email", email).await;
            b.fill("#password", password).await;
            b.submit("form button[type=submit]").await;
            if totp {
                let code = totp_code(sladesk::demo::DEMO_TOTP_SECRET, email, chrono::Utc::now()).unwrap();
                b.fill("#code", &code).await;
                b.submit("main form button[type=submit]").await;
            }
            assert!(!b.path().await.starts_with("/sign-in"), "{email}: {}", b.body().await);
        }
    };

    sign_in("nadia.patel@northwind.example", false).await;
    b.check_page("demo-customer-tickets").await;
    b.submit("table.list tbody tr a").await;
    b.check_page("demo-customer-ticket").await;
    b.goto("/reports").await;
    b.check_page("demo-customer-report").await;
    b.sign_out().await;

    sign_in("alice@sladesk.example", false).await;
    let rows = b.client.find_all(Locator::Css("#queue-list tbody tr")).await.unwrap();
    assert!(!rows.is_empty(), "the demo's queue has open work");
    b.check_page("demo-agent-queue").await;
    queue_reads_at_a_glance(&b).await;
    b.submit("#queue-list tbody tr a").await;
    b.check_page("demo-agent-ticket").await;
    ticket_page_reads_at_both_widths(&b).await;
    b.goto("/queue?breached=1&status=any").await;
    b.check_page("demo-agent-queue-breached").await;
    b.goto("/quarantine").await;
    b.check_page("demo-agent-quarantine").await;
    b.sign_out().await;

    sign_in("manager@sladesk.example", true).await;
    b.check_page("demo-manager-dashboard").await;
    b.goto("/reports?org=northwind").await;
    assert_eq!(b.client.find_all(Locator::Css("#report svg")).await.unwrap().len(), 3);
    b.check_page("demo-manager-report").await;
    b.resize(390, 844).await;
    b.goto("/reports?org=northwind").await;
    assert!(b.overflow_x().await <= 0, "the report fits a phone's width");
    b.check_page("demo-manager-report-390").await;
    b.resize(1280, 1000).await;
    b.goto("/outages").await;
    b.check_page("demo-manager-outages").await;
    b.goto("/outbox").await;
    b.check_page("demo-manager-outbox").await;
    b.sign_out().await;

    sign_in("admin@sladesk.example", true).await;
    b.goto("/admin").await;
    assert!(b.body().await.contains("northwind"));
    b.check_page("demo-admin").await;
    b.goto("/admin/policies").await;
    b.check_page("demo-admin-policies").await;
    b.close().await;
}

/// The queue at 1280 px and at 390 px, as the first week at the desk asked:
/// no sideways scroll; urgent rows say so in words and a symbol; a subject
/// takes at most two lines and a reference one; names, not addresses; a
/// pager with a total; at 390 px every ticket is a card.
async fn queue_reads_at_a_glance(b: &Browser) {
    b.resize(1280, 1000).await;
    b.goto("/queue").await;
    assert!(b.overflow_x().await <= 0, "no horizontal scroll at 1280 px");
    let pager = b.text("#queue-count").await;
    assert!(pager.contains(" of ") && pager.contains("tickets"), "a total: {pager}");
    let urgent = b.text("#queue-list tbody tr.urgent-breached .urgency").await;
    assert!(urgent.contains("⚠") && urgent.contains("Breached"), "{urgent}");
    let at_risk = b.text("#queue-list tbody tr.urgent-at-risk .urgency").await;
    assert!(at_risk.contains("At risk"), "{at_risk}");
    // Each subject at most two lines; each reference one.
    let worst = b.most_lines("#queue-list .subject").await;
    assert!(worst <= 2.05, "a subject spans {worst} lines");
    let refs = b.most_lines("#queue-list .ref-cell a").await;
    assert!(refs <= 1.05, "a reference breaks over {refs} lines");
    let body = b.text("#queue-list").await;
    assert!(!body.contains("@northwind.example"), "people by name, not address");
    assert!(
        body.contains("Northwind Councils Shared Service"),
        "organisations by name"
    );
    // Sorting by a column and paging back.
    b.goto("/queue?status=any&sort=severity").await;
    assert_eq!(
        b.client
            .find(Locator::Css("th[aria-sort=ascending]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim_end_matches(" ▲"),
        "Sev."
    );
    b.submit(".pager a[rel=next]").await;
    assert!(b.path().await.contains("page=2"), "{}", b.path().await);
    assert!(b.text("#queue-count").await.starts_with("51–100 of "));
    b.submit(".pager a[rel=prev]").await;
    assert!(b.text("#queue-count").await.starts_with("1–50 of "));
    b.check_page("demo-agent-queue-by-severity").await;

    b.resize(390, 844).await;
    b.goto("/queue").await;
    assert!(b.overflow_x().await <= 0, "no horizontal scroll at 390 px");
    let display = b
        .client
        .execute(
            "return getComputedStyle(document.querySelector('#queue-list tbody tr')).display;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(display, json!("block"), "at 390 px each ticket is a card");
    b.check_page("demo-agent-queue-390").await;
    b.resize(1280, 1000).await;
    b.goto("/queue").await;
}

/// A ticket's page at both widths: no sideways scroll, names, the
/// organisation's recent tickets, and the calendar explained on focus.
async fn ticket_page_reads_at_both_widths(b: &Browser) {
    assert!(b.overflow_x().await <= 0, "no horizontal scroll at 1280 px");
    assert!(!b.text("#ticket-organisation").await.contains('@'));
    let recent = b.text("section.recent").await;
    assert!(recent.contains("Recent tickets") && recent.contains("SD-"), "{recent}");
    // The ticket opened is the queue's first: its clocks run, so each has
    // the calendar's explanation, hidden until focused.
    let tip = b
        .client
        .execute(
            "const t = document.querySelector('.tip'); if (!t) return 'none'; \
             const text = t.querySelector('.tip-text'); const before = getComputedStyle(text).width; \
             t.focus(); return [before, getComputedStyle(text).width, text.textContent];",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(tip, json!("none"), "a running clock explains its calendar");
    assert_eq!(tip[0], json!("1px"), "hidden until asked: {tip}");
    assert_ne!(tip[1], json!("1px"), "the calendar's explanation shows on focus: {tip}");
    assert!(tip[2].as_str().unwrap_or("").starts_with("Counts "), "{tip}");
    let here = b.path().await;
    b.resize(390, 844).await;
    b.goto(&here).await;
    assert!(b.overflow_x().await <= 0, "no horizontal scroll at 390 px");
    b.check_page("demo-agent-ticket-390").await;
    b.resize(1280, 1000).await;
    b.goto(&here).await;
}
