//! `GET /metrics` in the Prometheus text format: request counts and
//! latencies by route pattern (never by raw path, which would carry ticket
//! references), and the desk's state from the store: open tickets by tier
//! and severity, and breaches. It shows counts only, no customer data.
//!
//! Every label comes from a closed set, so no request can add a series:
//! the method is one of the standard ones or `other`, the route is a
//! matched pattern or `(unmatched)`, and the status is a number below 600.
//! The scrape needs a token of scope `metrics`, unless it arrives on the
//! separate `metrics_listen` address (see `crate::server`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Duration;

use actix_web::{HttpResponse, web};

use super::State;

const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Series {
    count: u64,
    sum: f64,
    buckets: [u64; BUCKETS.len()],
}

/// Request metrics, shared by every worker.
#[derive(Default)]
pub struct Metrics {
    series: Mutex<BTreeMap<(String, String, u16), Series>>,
}

/// The label for a request's method: a client may send any token as its
/// method, so anything but the standard ones is `other`.
pub fn method_label(m: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method as M;
    match *m {
        M::GET => "GET",
        M::HEAD => "HEAD",
        M::POST => "POST",
        M::PUT => "PUT",
        M::PATCH => "PATCH",
        M::DELETE => "DELETE",
        M::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

impl Metrics {
    /// Counts one request. `route` must be a matched route pattern (or
    /// `(unmatched)`), never a raw path.
    pub fn observe(&self, method: &'static str, route: &str, status: u16, took: Duration) {
        let secs = took.as_secs_f64();
        let status = if status < 600 { status } else { 0 };
        let mut map = self.series.lock().expect("metrics lock");
        let s = map.entry((method.to_string(), route.to_string(), status)).or_default();
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    fn render(&self, out: &mut String) {
        let map = self.series.lock().expect("metrics lock");
        out.push_str("# HELP sladesk_http_requests_total HTTP requests by method, route and status.\n");
        out.push_str("# TYPE sladesk_http_requests_total counter\n");
        for ((m, r, st), s) in map.iter() {
            let _ = writeln!(
                out,
                "sladesk_http_requests_total{{method=\"{m}\",route=\"{r}\",status=\"{st}\"}} {}",
                s.count
            );
        }
        out.push_str("# HELP sladesk_http_request_duration_seconds Request latency by method and route.\n");
        out.push_str("# TYPE sladesk_http_request_duration_seconds histogram\n");
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((m, r, _), s) in map.iter() {
            let agg = by_route.entry((m, r)).or_default();
            agg.count += s.count;
            agg.sum += s.sum;
            for i in 0..BUCKETS.len() {
                agg.buckets[i] += s.buckets[i];
            }
        }
        for ((m, r), s) in by_route {
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "sladesk_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                out,
                "sladesk_http_request_duration_seconds_bucket{{method=\"{m}\",route=\"{r}\",le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                out,
                "sladesk_http_request_duration_seconds_sum{{method=\"{m}\",route=\"{r}\"}} {}",
                s.sum
            );
            let _ = writeln!(
                out,
                "sladesk_http_request_duration_seconds_count{{method=\"{m}\",route=\"{r}\"}} {}",
                s.count
            );
        }
    }
}

/// `GET /metrics`: the desk's figures in the Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "operations", security(("bearer" = [])), responses((status = 200, description = "Prometheus text format"), (status = 401, description = "No token of scope metrics", body = super::problem::Problem, content_type = "application/problem+json")))]
pub async fn metrics(
    app: State,
    m: web::Data<Metrics>,
    req: actix_web::HttpRequest,
) -> Result<HttpResponse, super::problem::Problem> {
    let token = super::bearer_token(&req)?;
    let checked = app.get_ref().clone();
    super::run(move || checked.authenticate_scoped(&token, "metrics", crate::app::now())).await?;
    Ok(scrape(app, m).await)
}

/// `GET /metrics` on the `metrics_listen` address: no token, since that
/// address is meant to be reachable only by the scraper.
pub async fn metrics_unauthenticated(app: State, m: web::Data<Metrics>) -> HttpResponse {
    scrape(app, m).await
}

/// Each mailbox's poller: whether its last poll worked, when one last
/// did, and how many have failed in a row (alert on the first going 0 or
/// the last growing).
fn mailbox_metrics(out: &mut String, boxes: &[crate::app::mailboxes::MailboxHealth]) {
    let label = |s: &str| s.replace('\\', "\\\\").replace('"', "\\\"");
    out.push_str(
        "# HELP sladesk_mailbox_up Whether the mailbox's last poll worked.\n# TYPE sladesk_mailbox_up gauge\n",
    );
    for b in boxes {
        let _ = writeln!(
            out,
            "sladesk_mailbox_up{{mailbox=\"{}\"}} {}",
            label(&b.mailbox),
            u8::from(b.failing_since.is_none())
        );
    }
    out.push_str("# HELP sladesk_mailbox_last_success_timestamp_seconds When the mailbox was last read.\n# TYPE sladesk_mailbox_last_success_timestamp_seconds gauge\n");
    for b in boxes {
        let t = b.last_success_at.map_or(0, |t| t.timestamp());
        let _ = writeln!(
            out,
            "sladesk_mailbox_last_success_timestamp_seconds{{mailbox=\"{}\"}} {t}",
            label(&b.mailbox)
        );
    }
    out.push_str("# HELP sladesk_mailbox_consecutive_failures Polls of the mailbox that failed in a row.\n# TYPE sladesk_mailbox_consecutive_failures gauge\n");
    for b in boxes {
        let _ = writeln!(
            out,
            "sladesk_mailbox_consecutive_failures{{mailbox=\"{}\"}} {}",
            label(&b.mailbox),
            b.consecutive_failures
        );
    }
}

async fn scrape(app: State, m: web::Data<Metrics>) -> HttpResponse {
    let app_for_mail = app.get_ref().clone();
    let app = app.get_ref().clone();
    let desk = web::block(move || app.desk_metrics()).await;
    let mut out = String::new();
    match desk {
        Ok(Ok(crate::app::operations::DeskMetrics {
            open,
            open_breached: breached,
            response_breaches: resp,
            resolve_breaches: res,
        })) => {
            out.push_str("# HELP sladesk_open_tickets Tickets not yet resolved, by tier and severity.\n");
            out.push_str("# TYPE sladesk_open_tickets gauge\n");
            for (tier, sev, n) in &open {
                let _ = writeln!(out, "sladesk_open_tickets{{tier=\"{tier}\",severity=\"{sev}\"}} {n}");
            }
            out.push_str(
                "# HELP sladesk_open_tickets_breached Open tickets with a breached clock, by tier and severity.\n",
            );
            out.push_str("# TYPE sladesk_open_tickets_breached gauge\n");
            for (tier, sev, n) in &breached {
                let _ = writeln!(
                    out,
                    "sladesk_open_tickets_breached{{tier=\"{tier}\",severity=\"{sev}\"}} {n}"
                );
            }
            out.push_str("# HELP sladesk_tickets_breached Tickets whose clock ever breached, by clock.\n");
            out.push_str("# TYPE sladesk_tickets_breached gauge\n");
            let _ = writeln!(out, "sladesk_tickets_breached{{clock=\"response\"}} {resp}");
            let _ = writeln!(out, "sladesk_tickets_breached{{clock=\"resolve\"}} {res}");
            out.push_str("# HELP sladesk_up Whether the store answered.\n# TYPE sladesk_up gauge\nsladesk_up 1\n");
        }
        _ => out.push_str("# HELP sladesk_up Whether the store answered.\n# TYPE sladesk_up gauge\nsladesk_up 0\n"),
    }
    let app = app_for_mail.clone();
    if let Ok(Ok(boxes)) = web::block(move || app.mailbox_health_all()).await
        && !boxes.is_empty()
    {
        mailbox_metrics(&mut out, &boxes);
    }
    m.render(&mut out);
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(out)
}
