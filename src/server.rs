//! Building and running the HTTP server: settings from flags, environment
//! and `sladesk.toml`; the application from them; the actix server from a
//! listener, so tests bind port 0 and learn the port.

use anyhow::Context;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::web;
use serde::Deserialize;

use crate::app::App;
use crate::domain::holidays::Holidays;
use crate::policies::PolicySet;
use crate::store::DatabaseUrl;

/// Settings after flags, `SLADESK_*` environment variables and the config
/// file have been merged, in that order of precedence.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: DatabaseUrl,
    /// A directory of SLA policies; `None`: the shipped ones.
    pub policies: Option<PathBuf>,
    pub holidays_file: Option<PathBuf>,
    pub pool_size: u32,
    pub workers: usize,
}

/// `sladesk.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub policies: Option<PathBuf>,
    pub holidays_file: Option<PathBuf>,
    pub pool_size: Option<u32>,
    pub workers: Option<usize>,
    /// Folder the local outbox writes `.eml` files to (default `outbox`).
    pub outbox_dir: Option<PathBuf>,
    /// Folder of the email templates (default: the shipped ones, built in).
    pub email_templates: Option<PathBuf>,
    /// The From of notifications (default `Service desk <desk@sladesk.invalid>`).
    pub mail_from: Option<String>,
    /// Send through SMTP instead of the folder: `smtp://host:25`, `smtps://user:pass@host:465`.
    pub smtp_url: Option<String>,
    /// PEM file of the CA that signed the SMTP server's certificate, for a
    /// private relay; the public roots are trusted otherwise.
    pub smtp_ca_file: Option<PathBuf>,
    /// Read mail from an IMAP folder (see `crate::imap`).
    pub imap: Option<crate::imap::ImapSettings>,
    /// Mail from senders who are no contact and at no organisation's
    /// domain: `quarantine` (default) or `reply` (refuse with a reply).
    pub unknown_senders: Option<UnknownSenders>,
    /// The most a message's attachments may weigh together, in MB (default
    /// 20); heavier mail is quarantined whole. At most 24 (a message itself
    /// may not exceed 25 MB).
    pub attachment_limit_mb: Option<u32>,
    /// The scheduler's jobs (see `crate::scheduler`).
    pub scheduler: Option<crate::scheduler::SchedulerSettings>,
    /// Whether mail's `From:` is believed: `off`, `header` (the default:
    /// the receiving MTA's `Authentication-Results`, from `authserv_id`)
    /// or `verify` (DKIM and DMARC checked here, see `crate::mail::verify`).
    pub sender_authentication: Option<crate::app::sender_auth::Mode>,
    /// The authserv-id the receiving MTA writes in `Authentication-Results`
    /// (often its host name). Without it, `header` has nothing to believe.
    pub authserv_id: Option<String>,
    /// For `verify`: the DNS resolver to ask (`host:port`); the system's
    /// (`/etc/resolv.conf`) if unset.
    pub dns_resolver: Option<String>,
    /// What one request may cost (see `crate::app::limits`).
    pub limits: Option<crate::app::limits::Limits>,
    /// Where people reach the pages, for the links in mail, e.g.
    /// `https://desk.example.com` (default `http://localhost:8080`).
    pub public_url: Option<String>,
    /// Working days after a month ends before the monthly job closes its
    /// reports (default 5; 0 to 20). Until then the month is provisional.
    pub report_close_after: Option<u32>,
    /// Reverse proxies (CIDRs, or single addresses) whose `X-Forwarded-For`
    /// and `Forwarded` headers are believed, for the client's address and
    /// for whether it came over HTTPS. Empty (the default): none.
    pub trusted_proxies: Option<Vec<String>>,
    /// A second address serving `GET /metrics` without a token, for a
    /// scraper on a private network. Unset: `/metrics` only on the main
    /// address, with a token of scope `metrics`.
    pub metrics_listen: Option<String>,
}

/// How the server faces the network (limits, proxies, the metrics
/// address), and when months close: settings every command applies.
#[derive(Debug, Clone)]
pub struct Exposure {
    pub limits: crate::app::limits::Limits,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics_listen: Option<String>,
    pub report_close_after: u32,
    pub public_url: Option<String>,
}

impl Exposure {
    /// How the server is reached, from the settings file; refused when a value
    /// cannot work.
    pub fn from_file(f: &FileSettings) -> anyhow::Result<Exposure> {
        let limits = f.limits.clone().unwrap_or_default();
        limits.check().map_err(anyhow::Error::msg)?;
        let trusted_proxies = f
            .trusted_proxies
            .iter()
            .flatten()
            .map(|s| {
                parse_net(s)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("trusted_proxies: '{s}'"))
            })
            .collect::<anyhow::Result<_>>()?;
        let report_close_after = f.report_close_after.unwrap_or(crate::app::reports::DEFAULT_CLOSE_AFTER);
        if report_close_after > 20 {
            anyhow::bail!("report_close_after: {report_close_after} is outside 0 to 20 working days");
        }
        Ok(Exposure {
            limits,
            trusted_proxies,
            metrics_listen: f.metrics_listen.clone(),
            report_close_after,
            public_url: match &f.public_url {
                Some(u) => {
                    let parsed = url::Url::parse(u).with_context(|| format!("public_url: '{u}'"))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        anyhow::bail!("public_url: '{u}': expected an http or https address");
                    }
                    Some(u.clone())
                }
                None => None,
            },
        })
    }

    /// Applies it to the application.
    pub fn apply_to(&self, app: &App) {
        app.set_limits(self.limits.clone());
        app.set_trusted_proxies(self.trusted_proxies.clone());
        app.set_report_close_after(self.report_close_after);
        if let Some(u) = &self.public_url {
            app.set_public_url(u);
        }
    }
}

/// A CIDR, or a single address standing for itself.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "expected an address or a CIDR such as 10.0.0.0/8".to_string())
}

/// What is done with mail from senders the desk does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownSenders {
    #[default]
    Quarantine,
    Reply,
}

/// Where and how notifications leave, and where mail comes in from.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub outbox_dir: PathBuf,
    /// A folder of email templates; `None`: the shipped ones.
    pub templates: Option<PathBuf>,
    pub from: String,
    pub smtp_url: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub imap: Option<crate::imap::ImapSettings>,
    pub unknown_senders: UnknownSenders,
    pub attachment_limit_mb: Option<u32>,
    pub sender_authentication: crate::app::sender_auth::Mode,
    pub authserv_id: Option<String>,
    pub dns_resolver: Option<String>,
}

impl MailSettings {
    /// The mail settings of the file, with their defaults.
    pub fn from_file(f: &FileSettings) -> MailSettings {
        MailSettings {
            outbox_dir: f.outbox_dir.clone().unwrap_or_else(|| PathBuf::from("outbox")),
            templates: f.email_templates.clone(),
            from: f
                .mail_from
                .clone()
                .unwrap_or_else(|| "Service desk <desk@sladesk.invalid>".to_string()),
            smtp_url: f.smtp_url.clone(),
            smtp_ca_file: f.smtp_ca_file.clone(),
            imap: f.imap.clone(),
            unknown_senders: f.unknown_senders.unwrap_or_default(),
            attachment_limit_mb: f.attachment_limit_mb,
            sender_authentication: f.sender_authentication.unwrap_or_default(),
            authserv_id: f.authserv_id.clone().filter(|s| !s.trim().is_empty()),
            dns_resolver: f.dns_resolver.clone(),
        }
    }

    /// Applies what intake needs to know to the application.
    pub fn apply_to(&self, app: &App) -> anyhow::Result<()> {
        app.set_reply_to_unknown_senders(self.unknown_senders == UnknownSenders::Reply);
        if let Some(mb) = self.attachment_limit_mb {
            app.set_attachment_limit(mb as usize * 1024 * 1024);
        }
        app.set_sender_authentication(self.sender_authentication, self.authserv_id.clone());
        if self.sender_authentication == crate::app::sender_auth::Mode::Verify {
            app.set_sender_verifier(crate::mail::verify::Verifier::new(self.dns_resolver.as_deref())?);
        }
        Ok(())
    }

    /// Settings that are wrong whatever the machine: refused at start.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(r) = &self.dns_resolver
            && r.parse::<std::net::SocketAddr>().is_err()
        {
            anyhow::bail!("dns_resolver: '{r}' is not an address and port such as 127.0.0.1:53");
        }
        match self.attachment_limit_mb {
            Some(mb) if !(1..=24).contains(&mb) => Err(anyhow::anyhow!(
                "attachment_limit_mb: {mb} is outside 1 to 24 (a message may not exceed 25 MB)"
            )),
            _ => Ok(()),
        }
    }

    /// What delivery needs, checked once: the transport (SMTP when a URL is
    /// set, else the folder), the loaded templates and the From address.
    pub fn prepare(&self) -> anyhow::Result<Delivery> {
        Ok(Delivery {
            outbound: crate::mail::Outbound::new(
                self.outbox_dir.clone(),
                self.smtp_url.as_deref(),
                self.smtp_ca_file.as_deref(),
            )?,
            templates: crate::mail::Templates::load_or_shipped(self.templates.as_deref())?,
            from: self
                .from
                .parse()
                .with_context(|| format!("mail_from '{}'", self.from))?,
        })
    }
}

/// A prepared way out for the outbox.
pub struct Delivery {
    pub outbound: crate::mail::Outbound,
    pub templates: crate::mail::Templates,
    pub from: lettre::message::Mailbox,
}

impl Delivery {
    /// Delivers up to `limit` due mails now.
    pub fn run(&self, app: &App, limit: i64) -> Result<crate::mail::DeliveryReport, crate::app::AppError> {
        crate::mail::deliver_outbox(
            app,
            &self.outbound,
            &self.templates,
            &self.from,
            crate::app::now(),
            limit,
        )
    }
}

/// The background work of a server: the outbox worker, and the IMAP
/// poller when `[imap]` is configured.
pub fn spawn_mail_workers(app: Arc<App>, mail: MailSettings) -> anyhow::Result<()> {
    mail.apply_to(&app)?;
    if let Some(imap) = mail.imap.clone() {
        crate::imap::spawn_imap_poller(app.clone(), imap)?;
    }
    spawn_outbox_worker(app, mail)
}

/// Delivers the outbox every two seconds on a thread of its own, for as
/// long as the process runs; failures are logged and retried.
pub fn spawn_outbox_worker(app: Arc<App>, mail: MailSettings) -> anyhow::Result<()> {
    let delivery = mail.prepare()?;
    std::thread::Builder::new()
        .name("outbox".into())
        .spawn(move || {
            loop {
                match delivery.run(&app, 100) {
                    Ok(r) if r.sent + r.failed + r.set_aside_in_doubt > 0 => {
                        tracing::info!(
                            sent = r.sent,
                            failed = r.failed,
                            in_doubt = r.set_aside_in_doubt,
                            "outbox"
                        )
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "outbox delivery"),
                }
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
        })
        .context("starting the outbox thread")?;
    Ok(())
}

impl FileSettings {
    /// Reads `path`; a missing default file is no error, a missing named one is.
    pub fn load(path: &Path, named: bool) -> anyhow::Result<FileSettings> {
        match std::fs::read_to_string(path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| format!(":{}", text[..s.start].matches('\n').count() + 1))
                    .unwrap_or_default();
                anyhow::anyhow!("{}{line}: {}", path.display(), e.message().trim())
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Ok(FileSettings::default()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("{}: cannot read", path.display()))),
        }
    }
}

/// Where the server listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The embedded database unless told otherwise.
pub const DEFAULT_DATABASE: &str = "sqlite://sladesk.db";

/// Loads policies and holidays, opens (and migrates) the database, and
/// builds the application.
pub fn build_app(s: &Settings) -> anyhow::Result<Arc<App>> {
    let policies = PolicySet::load(s.policies.as_deref())?;
    let mut holidays = Holidays::from_rules();
    if let Some(f) = &s.holidays_file {
        let text = std::fs::read_to_string(f).with_context(|| format!("{}: cannot read", f.display()))?;
        holidays
            .import_govuk_json(&text)
            .with_context(|| f.display().to_string())?;
    }
    let pool = s.database_url.pool(s.pool_size)?;
    let app = App::new(pool, policies, holidays)?;
    Ok(Arc::new(app))
}

/// The actix server on `listener`. Actix stops gracefully on SIGTERM and
/// SIGINT: it stops accepting, lets requests in flight finish (30 s at most),
/// then exits.
pub fn serve(app: Arc<App>, listener: TcpListener, workers: usize) -> std::io::Result<Server> {
    serve_with_metrics(
        app,
        listener,
        workers,
        web::Data::new(crate::api::metrics::Metrics::default()),
    )
}

/// `serve`, counting requests into `metrics` (shared with `serve_metrics`).
pub fn serve_with_metrics(
    app: Arc<App>,
    listener: TcpListener,
    workers: usize,
    metrics: web::Data<crate::api::metrics::Metrics>,
) -> std::io::Result<Server> {
    let web_state = web::Data::new(Arc::new(
        crate::web::WebState::new(&app).map_err(|e| std::io::Error::other(format!("{e:#}")))?,
    ));
    let gate = web::Data::new(crate::api::body::BodyGate::default());
    let data = web::Data::new(app);
    let server = actix_web::HttpServer::new(move || {
        let m = metrics.clone();
        actix_web::App::new()
            .wrap_fn(move |mut req, srv| {
                let started = std::time::Instant::now();
                let method = crate::api::metrics::method_label(req.method());
                // HEAD is answered wherever GET is: the request is routed as
                // a GET, and the HTTP codec, which saw the HEAD, sends the
                // headers (with the GET's length) and no body.
                if req.method() == actix_web::http::Method::HEAD {
                    req.head_mut().method = actix_web::http::Method::GET;
                }
                let https = crate::api::client::Client::of(req.request()).https;
                let m = m.clone();
                let fut = actix_web::dev::Service::call(srv, req);
                async move {
                    let mut res = fut.await?;
                    // A redirect (to sign in, say) is the page answering as
                    // it should: without this the logger records the
                    // WebError it came from at ERROR.
                    if res.status().is_redirection() && res.response().error().is_some() {
                        let (req, resp) = res.into_parts();
                        let status = resp.status();
                        let headers = resp.headers().clone();
                        let mut clean = actix_web::HttpResponse::with_body(status, resp.into_body());
                        *clean.headers_mut() = headers;
                        res = actix_web::dev::ServiceResponse::new(req, clean);
                    }
                    // Over HTTPS (as a trusted proxy says), browsers are told
                    // to use nothing else for this host for a year.
                    if https {
                        res.headers_mut().insert(
                            actix_web::http::header::STRICT_TRANSPORT_SECURITY,
                            actix_web::http::header::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
                        );
                    }
                    let route = res.request().match_pattern().unwrap_or_else(|| "(unmatched)".into());
                    m.observe(method, &route, res.status().as_u16(), started.elapsed());
                    Ok(res)
                }
            })
            .app_data(metrics.clone())
            .wrap(tracing_actix_web::TracingLogger::default())
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("X-Content-Type-Options", "nosniff"))
                    .add(("X-Frame-Options", "DENY")),
            )
            .app_data(data.clone())
            .app_data(gate.clone())
            .app_data(web_state.clone())
            .configure(crate::api::configure)
            .configure(crate::web::configure)
            .default_service(web::to(crate::web::not_found))
    })
    .workers(workers.max(1))
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The `metrics_listen` server: `GET /metrics` without a token, nothing else.
pub fn serve_metrics(
    app: Arc<App>,
    listener: TcpListener,
    metrics: web::Data<crate::api::metrics::Metrics>,
) -> std::io::Result<Server> {
    let data = web::Data::new(app);
    Ok(actix_web::HttpServer::new(move || {
        actix_web::App::new()
            .app_data(data.clone())
            .app_data(metrics.clone())
            .route("/metrics", web::get().to(crate::api::metrics::metrics_unauthenticated))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run())
}

/// Structured logs for the server: JSON lines, level from `RUST_LOG` (default info).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .json()
        .with_writer(std::io::stderr)
        .try_init();
}
