//! A real sladesk server on a random port, on SQLite or on the machine's
//! PostgreSQL, seeded with a small desk, and an HTTP client for it.

use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::Connection;
use diesel::connection::SimpleConnection;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sladesk::app::admin::{NewOrganisationRequest, NewUserRequest};
use sladesk::app::{App, Principal, Role};
use sladesk::config::Settings;
use sladesk::server::{build_app, serve};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    pub app: Arc<App>,
    pub client: reqwest::Client,
    pub admin: String,
    pub manager: String,
    pub agent: String,
    pub agent2: String,
    /// A contact of `acme` (Silver, Scotland).
    pub carol: String,
    /// Another contact of `acme`.
    pub colin: String,
    /// A contact of `globex` (Platinum, England and Wales).
    pub gina: String,
    handle: actix_web::dev::ServerHandle,
    _cleanup: Cleanup,
}

pub enum Cleanup {
    Dir(PathBuf),
    Database { admin_url: String, name: String },
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// The desk every test starts from.
pub const TEST_DESK: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/test/desk.toml");

/// The mail templates in the repository and the desk's From address, as
/// delivery in the tests uses them.
pub fn shipped_mail() -> (sladesk::mail::Templates, lettre::message::Mailbox) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email");
    let templates = sladesk::mail::Templates::load(std::path::Path::new(dir)).unwrap();
    (templates, "Service desk <desk@sladesk.invalid>".parse().unwrap())
}

fn unique() -> String {
    format!("{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::SeqCst))
}

pub fn postgres_url() -> String {
    std::env::var("SLADESK_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

pub fn fresh_postgres_database() -> (String, Cleanup) {
    let admin_url = postgres_url();
    let mut conn = diesel::PgConnection::establish(&admin_url).unwrap_or_else(|e| {
        panic!(
            "PostgreSQL is needed for this test and is not reachable at {admin_url} ({e}).\n\
             Start it with: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
             or point SLADESK_TEST_POSTGRES_URL at a server where the user may create databases."
        )
    });
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b.to_string())
        .unwrap_or(admin_url.clone());
    let template = postgres_template(&base, &mut conn);
    let name = format!("sladesk_test_{}", unique());
    // A template may be copied by one session at a time: copies queue here.
    static COPYING: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = COPYING.lock().unwrap_or_else(|p| p.into_inner());
    let mut tries = 0;
    while let Err(e) = conn.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
        // Another test binary copying the same template at this moment.
        tries += 1;
        assert!(tries < 100, "create the test database from {template}: {e}");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (format!("{base}/{name}"), Cleanup::Database { admin_url, name })
}

/// The migrated database every PostgreSQL test copies (`CREATE DATABASE …
/// TEMPLATE`, as crates.io's harness does): migrated once per set of
/// migrations rather than once per test. Named after the migrations' text,
/// so a changed migration makes a new template (and the old ones go).
fn postgres_template(base: &str, conn: &mut diesel::PgConnection) -> String {
    use diesel::RunQueryDsl;
    use std::hash::{Hash, Hasher};
    static TEMPLATE: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/postgresql"));
            let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
                .unwrap()
                .flat_map(|d| {
                    let d = d.unwrap().path();
                    [d.join("up.sql"), d.join("down.sql")]
                })
                .collect();
            files.sort();
            let mut h = std::collections::hash_map::DefaultHasher::new();
            for f in &files {
                f.file_name().hash(&mut h);
                std::fs::read(f).unwrap().hash(&mut h);
            }
            let name = format!("sladesk_template_{:016x}", h.finish());
            #[derive(diesel::QueryableByName)]
            struct Db {
                #[diesel(sql_type = diesel::sql_types::Text)]
                datname: String,
            }
            // Test binaries may start at once: one makes the template.
            conn.batch_execute("SELECT pg_advisory_lock(7270015)").unwrap();
            let existing: Vec<Db> =
                diesel::sql_query("SELECT datname FROM pg_database WHERE datname LIKE 'sladesk_template_%'")
                    .load(conn)
                    .unwrap();
            if !existing.iter().any(|d| d.datname == name) {
                for old in &existing {
                    let _ = conn.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", old.datname));
                }
                let building = format!("{name}_{}", std::process::id());
                conn.batch_execute(&format!("CREATE DATABASE {building}")).unwrap();
                let url: sladesk::store::DatabaseUrl = format!("{base}/{building}").parse().unwrap();
                url.migrate().expect("migrate the template database");
                conn.batch_execute(&format!("ALTER DATABASE {building} RENAME TO {name}"))
                    .unwrap();
            }
            conn.batch_execute("SELECT pg_advisory_unlock(7270015)").unwrap();
            name
        })
        .clone()
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        match self {
            Cleanup::Dir(d) => {
                let _ = std::fs::remove_dir_all(d);
            }
            Cleanup::Database { admin_url, name } => {
                if let Ok(mut c) = diesel::PgConnection::establish(admin_url) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            }
        }
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        // Stop the server first so it lets go of the database.
        let handle = self.handle.clone();
        let _ = std::thread::spawn(move || actix_web::rt::System::new().block_on(handle.stop(false))).join();
        // `cleanup` drops after this, removing the database.
    }
}

pub async fn spawn_app(db: Db) -> TestApp {
    let (url, cleanup) = match db {
        Db::Sqlite => {
            let dir = std::env::temp_dir().join(format!("sladesk-api-{}", unique()));
            std::fs::create_dir_all(&dir).unwrap();
            (format!("sqlite://{}", dir.join("test.db").display()), Cleanup::Dir(dir))
        }
        Db::Postgres => fresh_postgres_database(),
    };
    let database_url = url.clone();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: url.parse().unwrap(),
        policies: None,
        holidays_file: None,
        pool_size: 8,
        workers: 2,
    };
    let app = tokio::task::spawn_blocking(move || build_app(&settings).unwrap())
        .await
        .unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    let server_app = app.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = serve(server_app, listener, 2).unwrap();
            tx.send(server.handle()).unwrap();
            server.await
        })
    });
    let handle = rx.recv().unwrap();

    let seeded = app.clone();
    let tokens = tokio::task::spawn_blocking(move || seed(&seeded)).await.unwrap();
    TestApp {
        address,
        database_url,
        app,
        client: reqwest::Client::new(),
        admin: tokens[0].clone(),
        manager: tokens[1].clone(),
        agent: tokens[2].clone(),
        agent2: tokens[3].clone(),
        carol: tokens[4].clone(),
        colin: tokens[5].clone(),
        gina: tokens[6].clone(),
        handle,
        _cleanup: cleanup,
    }
}

/// A second process on `t`'s database, as a second `sladesk serve` behind
/// a load balancer would be: its own app (pool, caches), its own server
/// and, as `serve` starts it, its own listener for the others' changes.
/// Returns its address; it stops when the test's runtime ends.
pub async fn second_process(t: &TestApp) -> String {
    process_on(&t.database_url, |_| {}).await
}

/// A process on `database_url` (`t`'s database, maybe through a pooler),
/// with `configure` applied to its app before it serves, as `serve` applies
/// sladesk.toml.
pub async fn process_on(database_url: &str, configure: impl FnOnce(&App) + Send + 'static) -> String {
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: database_url.parse().unwrap(),
        policies: None,
        holidays_file: None,
        pool_size: 4,
        workers: 1,
    };
    let url = settings.database_url.clone();
    let app = tokio::task::spawn_blocking(move || {
        let app = build_app(&settings).unwrap();
        configure(&app);
        app
    })
    .await
    .unwrap();
    sladesk::server::spawn_cache_listener(app.clone(), &url).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move { serve(app, listener, 1).unwrap().await })
    });
    address
}

/// The shared test desk (`fixtures/test/desk.toml`), planted; a token for
/// each person, staff first, in the file's order.
fn seed(app: &App) -> Vec<String> {
    let op = Principal::operator();
    let now = sladesk::app::now();
    let desk = sladesk::seed::Desk::load(std::path::Path::new(TEST_DESK)).unwrap();
    desk.plant(app, now, None).unwrap();
    desk.people()
        .iter()
        .map(|email| app.create_token(&op, email, "test", "full", None, now).unwrap())
        .collect()
}

/// An organisation that may not declare severity (Bronze, Northern Ireland), with
/// one contact, `ian@initech.example`; returns the contact's token.
pub async fn initech(t: &TestApp) -> String {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let op = Principal::operator();
        let now = sladesk::app::now();
        app.create_organisation(
            &op,
            NewOrganisationRequest {
                slug: "initech".into(),
                name: "Initech Ltd".into(),
                tier: "bronze".into(),
                region: "northern-ireland".into(),
                email_domains: vec!["initech.example".into()],
                monthly_charge_pence: 100_000,
                contract_start: None,
                contract_end: None,
                may_declare_severity: false,
                ticket_sharing: Default::default(),
                account_contact: None,
            },
            now,
        )
        .unwrap();
        app.create_user(
            &op,
            NewUserRequest {
                email: "ian@initech.example".into(),
                name: None,
                role: Role::Customer,
                organisation: Some("initech".into()),
                password: None,
            },
            now,
        )
        .unwrap();
        app.create_token(&op, "ian@initech.example", "test", "full", None, now)
            .unwrap()
    })
    .await
    .unwrap()
}

/// Reads a response's status line and headers off a raw connection,
/// waiting at most `wait` for each read: the status code (0 for none) and
/// the text read.
pub fn read_head(s: &mut std::net::TcpStream, wait: std::time::Duration) -> (u16, String) {
    use std::io::Read;
    s.set_read_timeout(Some(wait)).unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = s.read(&mut buf) {
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        if got.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let text = String::from_utf8_lossy(&got).to_string();
    let code = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    (code, text)
}

/// A response read whole: status, content type and JSON body.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub content_type: String,
    pub etag: Option<String>,
    pub text: String,
    pub json: Value,
}

impl Answer {
    async fn read(r: Response) -> Answer {
        let status = r.status();
        let header = |n: &str| r.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
        let content_type = header("content-type").unwrap_or_default();
        let etag = header("etag");
        let text = r.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::Null);
        Answer {
            status,
            content_type,
            etag,
            text,
            json,
        }
    }

    /// The references of a ticket page's items, in order.
    pub fn references(&self) -> Vec<&str> {
        self.json["items"]
            .as_array()
            .expect("a page of tickets")
            .iter()
            .map(|i| i["reference"].as_str().expect("each item has a reference"))
            .collect()
    }

    /// Asserts a problem+json answer with this status; returns its detail.
    #[track_caller]
    pub fn problem(&self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.content_type, "application/problem+json", "{}", self.text);
        assert_eq!(self.json["status"], status, "{}", self.text);
        self.json["detail"].as_str().unwrap_or_default().to_string()
    }
}

impl TestApp {
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut rb = self.client.request(method, format!("{}{path}", self.address));
        if let Some(t) = token {
            rb = rb.bearer_auth(t);
        }
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        Answer::read(rb.send().await.unwrap()).await
    }

    pub async fn raw(&self, method: Method, path: &str, token: &str, content_type: &str, body: Vec<u8>) -> Answer {
        let r = self
            .client
            .request(method, format!("{}{path}", self.address))
            .bearer_auth(token)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        Answer::read(r).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body)).await
    }

    /// A token of scope `metrics`, for the scraper.
    pub async fn metrics_token(&self) -> String {
        self.scoped_token("metrics").await
    }

    /// A token of scope `intake`, for the MTA.
    pub async fn intake_token(&self) -> String {
        self.scoped_token("intake").await
    }

    /// (kind, to, its template's data) of every outbox row, oldest first.
    pub fn outbox(&self) -> Vec<(String, String, Value)> {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .order(outbox::id.asc())
            .select((outbox::kind, outbox::to_address, outbox::context))
            .load::<(String, String, String)>(&mut self.app.conn().unwrap())
            .unwrap()
            .into_iter()
            .map(|(k, to, ctx)| (k, to, serde_json::from_str(&ctx).unwrap()))
            .collect()
    }

    /// A token of scope `alerts`, for Alertmanager.
    pub async fn alerts_token(&self) -> String {
        self.scoped_token("alerts").await
    }

    async fn scoped_token(&self, scope: &'static str) -> String {
        let app = self.app.clone();
        tokio::task::spawn_blocking(move || {
            app.create_token(
                &Principal::operator(),
                "admin@desk.example",
                scope,
                scope,
                None,
                sladesk::app::now(),
            )
            .unwrap()
        })
        .await
        .unwrap()
    }

    /// A customer raises a ticket; returns its reference.
    pub async fn raise(&self, token: &str, subject: &str, severity: u8) -> String {
        let a = self
            .post(
                "/api/v1/tickets",
                token,
                json!({"subject": subject, "description": "It stopped working this morning.", "severity": severity}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
        a.json["reference"].as_str().unwrap().to_string()
    }
}

/// Runs one async test body against both backends, as two test functions.
#[macro_export]
macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Db::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::helpers::Db::Postgres).await }
            )*
        }
    };
}

/// People who sign in through the pages: each made with `password` (named
/// after the part of the address before the @); `totp` names who is
/// enrolled, with which key.
pub async fn web_users(t: &TestApp, password: &str, users: &[(&str, Role, Option<&str>)], totp: &[(&str, &str)]) {
    let app = t.app.clone();
    let password = password.to_string();
    let users: Vec<(String, Role, Option<String>)> = users
        .iter()
        .map(|(e, r, o)| (e.to_string(), *r, o.map(str::to_string)))
        .collect();
    let totp: Vec<(String, String)> = totp.iter().map(|(e, k)| (e.to_string(), k.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        let op = Principal::operator();
        let now = sladesk::app::now();
        for (email, role, organisation) in users {
            let name = email.split('@').next().map(str::to_string);
            app.create_user(
                &op,
                NewUserRequest {
                    email,
                    name,
                    role,
                    organisation,
                    password: Some(password.clone()),
                },
                now,
            )
            .unwrap();
        }
        for (email, key) in totp {
            app.enrol_totp_for(&op, &email, &key, now).unwrap();
        }
    })
    .await
    .unwrap();
}

/// October 2026 for acme (Silver, £2,500 a month, 1% per severity 1
/// resolve breach): `customer`'s payroll ticket, SD-000001, raised at
/// severity 1 and resolved two days late; then the month is closed.
pub async fn a_closed_october(t: &TestApp, customer: &'static str) {
    use sladesk::app::tickets::{Change, NewTicketRequest};
    use sladesk::domain::ticket::Severity;
    let at = |s: &str| s.parse::<chrono::DateTime<chrono::Utc>>().unwrap();
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let raiser = app.principal_for(customer).unwrap();
        let alice = app.principal_for("alice@desk.example").unwrap();
        let manager = app.principal_for("manager@desk.example").unwrap();
        let r = app
            .create_ticket(
                &raiser,
                NewTicketRequest {
                    subject: "Payroll down".into(),
                    description: "Nobody can run payroll.".into(),
                    severity: Some(Severity::S1),
                    queue: Some("service-desk".into()),
                    organisation: None,
                    requester: None,
                    source: None,
                },
                at("2026-10-14T08:00:00Z"),
            )
            .unwrap()
            .reference;
        let change = |c: Change, when: &str| app.change_ticket(&alice, &r, &[c], None, at(when)).unwrap();
        change(Change::Reply("On it.".into()), "2026-10-14T08:20:00Z");
        change(Change::Resolve, "2026-10-16T09:00:00Z");
        app.close_month(&manager, "2026-10".parse().unwrap(), at("2026-12-01T00:00:00Z"))
            .unwrap();
    })
    .await
    .unwrap();
}
