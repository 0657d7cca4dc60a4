//! Building and running the HTTP server: the application from its settings
//! (`config`), the mail workers, and the actix server from a listener, so
//! tests bind port 0 and learn the port.

use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::web;

use crate::app::App;
use crate::config::{MailSettings, Settings};
use crate::domain::holidays::Holidays;

/// A prepared way out for the outbox.
pub struct Delivery {
    pub outbound: crate::mail::Outbound,
    pub templates: crate::mail::Templates,
    pub from: lettre::message::Mailbox,
}

impl Delivery {
    /// What delivery needs, checked once: the transport (SMTP when a URL is
    /// set, else the folder), the loaded templates and the From address.
    pub fn prepare(mail: &MailSettings) -> anyhow::Result<Delivery> {
        Ok(Delivery {
            outbound: crate::mail::Outbound::with_oauth(
                mail.outbox_dir.clone(),
                mail.smtp_url.as_deref(),
                mail.smtp_ca_file.as_deref(),
                mail.smtp_oauth.as_ref(),
            )?,
            templates: crate::mail::Templates::load_or_shipped(mail.templates.as_deref())?,
            from: mail
                .from
                .parse()
                .with_context(|| format!("mail_from '{}'", mail.from))?,
        })
    }

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

/// The background work of a server: the outbox worker, and an IMAP
/// poller for each mailbox configured (`[imap]`, `[[mailboxes]]`).
pub fn spawn_mail_workers(app: Arc<App>, mail: MailSettings) -> anyhow::Result<()> {
    mail.apply_to(&app)?;
    if !mail.mailboxes.is_empty() {
        // The pollers run as long as the process: their stop is not kept.
        let _ = crate::mail::imap::spawn_imap_pollers(app.clone(), mail.mailboxes.clone())?;
    }
    spawn_outbox_worker(app, mail)
}

/// Delivers the outbox every two seconds on a thread of its own, for as
/// long as the process runs; failures are logged and retried.
pub fn spawn_outbox_worker(app: Arc<App>, mail: MailSettings) -> anyhow::Result<()> {
    let delivery = Delivery::prepare(&mail)?;
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
                match crate::net::webhooks::deliver_webhooks(&app, crate::app::now(), 100) {
                    Ok(r) if r.sent + r.failed > 0 => {
                        tracing::info!(sent = r.sent, failed = r.failed, disabled = r.disabled, "webhooks")
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "webhook delivery"),
                }
                std::thread::sleep(std::time::Duration::from_secs(2));
            }
        })
        .context("starting the outbox thread")?;
    Ok(())
}

/// Keeps the search index up with the store on a thread of its own: a
/// batch of changed tickets at a time, straight on while there are more,
/// then a look every quarter of a second. Each commit pays FTS5's or GIN's
/// cost once for the batch, not once per reply; searches in the meantime
/// read changed tickets from the store.
pub fn spawn_search_indexer(app: Arc<App>) -> anyhow::Result<()> {
    const BATCH: i64 = 500;
    std::thread::Builder::new()
        .name("search-indexer".into())
        .spawn(move || {
            loop {
                match app.index_search_queue(BATCH) {
                    Ok(n) if n as i64 >= BATCH => continue,
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "search indexer"),
                }
                std::thread::sleep(std::time::Duration::from_millis(250));
            }
        })
        .context("starting the search indexer thread")?;
    Ok(())
}

/// Starts the thread that hears the other processes' changes (PostgreSQL
/// only: see `store::notify`) and drops this process's copies of them.
pub fn spawn_cache_listener(app: Arc<App>, url: &crate::store::DatabaseUrl) -> anyhow::Result<()> {
    let Some(mut listener) = crate::store::notify::Listener::new(url) else {
        return Ok(());
    };
    std::thread::Builder::new()
        .name("cache-listener".into())
        .spawn(move || {
            let mut down = false;
            loop {
                match listener.next(std::time::Duration::from_secs(1)) {
                    Ok(heard) => {
                        down = false;
                        app.heard(heard)
                    }
                    Err(e) => {
                        if !down {
                            tracing::warn!(error = %e, "cache listener lost the database; retrying every second");
                        }
                        down = true;
                        std::thread::sleep(std::time::Duration::from_secs(1));
                    }
                }
            }
        })
        .context("starting the cache listener thread")?;
    Ok(())
}

/// Loads policies and holidays, opens (and migrates) the database, and
/// builds the application.
pub fn build_app(s: &Settings) -> anyhow::Result<Arc<App>> {
    crate::net::http::install_crypto();
    let policies = crate::config::policies::load(s.policies.as_deref())?;
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
            .configure(crate::api::scim::configure)
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
