//! Serving: binding the listener (and the metrics address) and running
//! the server until SIGTERM or SIGINT.

use super::*;

pub(super) fn bind(s: &Settings) -> Result<std::net::TcpListener, Failure> {
    std::net::TcpListener::bind(&s.listen).map_err(|e| Failure(format!("--listen {}: {e}", s.listen), 1))
}

pub(super) fn serve_until_stopped(
    app: std::sync::Arc<crate::app::App>,
    s: &Settings,
    exposure: &crate::config::Exposure,
) -> Result<ExitCode, Failure> {
    let listener = bind(s)?;
    run_server(app, listener, s.workers, exposure)
}

pub(super) fn run_server(
    app: std::sync::Arc<crate::app::App>,
    listener: std::net::TcpListener,
    workers: usize,
    exposure: &crate::config::Exposure,
) -> Result<ExitCode, Failure> {
    let addr = listener.local_addr()?;
    let metrics_listener = match &exposure.metrics_listen {
        Some(a) => Some(std::net::TcpListener::bind(a).map_err(|e| Failure(format!("metrics_listen {a}: {e}"), 1))?),
        None => None,
    };
    actix_web::rt::System::new().block_on(async move {
        let metrics = actix_web::web::Data::new(crate::api::metrics::Metrics::default());
        if let Some(l) = metrics_listener {
            let at = l.local_addr()?;
            actix_web::rt::spawn(crate::server::serve_metrics(app.clone(), l, metrics.clone())?);
            eprintln!("sladesk: metrics on http://{at}/metrics");
        }
        let server = actix_web::rt::spawn(crate::server::serve_with_metrics(app, listener, workers, metrics)?);
        // The server sets its SIGTERM/SIGINT handlers when first polled: let
        // it run once before saying it listens, so whoever waits for this
        // line may stop it.
        actix_web::rt::task::yield_now().await;
        tracing::info!(%addr, "sladesk listening");
        eprintln!("sladesk: listening on http://{addr}");
        server.await.map_err(std::io::Error::other)?
    })?;
    eprintln!("sladesk: stopped");
    Ok(ExitCode::SUCCESS)
}
