//! Sending webhook deliveries: each claimed outbox row of kind `webhook`
//! posted to its endpoint, signed per Standard Webhooks, and confirmed,
//! retried or (after three days of failure) given up by the app.
//!
//! The endpoint's host is resolved at every send and each address checked
//! (loopback, link-local, private and the like are refused unless an admin
//! allowed them); the connection then goes to the address checked, not to
//! whatever a second lookup would answer, and redirects are not followed,
//! so neither a DNS answer that changes nor a redirect reaches the desk's
//! own network.

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde_json::{Value, json};

use crate::app::webhooks::{ClaimedWebhook, Format, is_public};
use crate::app::{App, AppError};

/// What one round of sending did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WebhookReport {
    pub sent: usize,
    pub failed: usize,
    /// Endpoints disabled after failing for three days.
    pub disabled: usize,
}

/// `webhook-signature`: `v1,` and the base64 HMAC-SHA256, keyed with the
/// secret's bytes (after `whsec_`), of `id.timestamp.body`.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Result<String, String> {
    let key = STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| format!("the signing secret is not base64: {e}"))?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

/// One line on what happened, for chat.
fn headline(event: &Value) -> (String, String) {
    let d = &event["data"];
    let kind = event["type"]
        .as_str()
        .unwrap_or_default()
        .trim_start_matches("uk.sladesk.");
    let what = match kind {
        "ticket.created" => "New ticket",
        "ticket.changed" => "Ticket changed",
        "ticket.at_risk" => "At risk of breaching",
        "ticket.breached" => "SLA breached",
        "ticket.resolved" => "Resolved",
        "outage.updated" => "Outage",
        other => other,
    };
    let title = match kind {
        "outage.updated" => {
            let services: Vec<&str> = d["services"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|s| s["name"].as_str())
                .collect();
            let what = if d["kind"].as_str().is_some_and(|k| k.contains("maintenance")) {
                "Maintenance"
            } else {
                "Major incident"
            };
            format!(
                "{what}: {} ({})",
                if services.is_empty() {
                    "services".to_string()
                } else {
                    services.join(", ")
                },
                d["status"].as_str().unwrap_or("open")
            )
        }
        _ => format!(
            "{what}: {} (S{}) {}",
            d["reference"].as_str().unwrap_or_default(),
            d["severity"],
            d["subject"].as_str().unwrap_or_default()
        ),
    };
    let mut detail = Vec::new();
    if let Some(o) = d["organisation"]["name"].as_str() {
        detail.push(format!("Organisation: {o}"));
    }
    if let Some(c) = d["clock"].as_str() {
        detail.push(format!("Clock: {c}, due {}", d["due_at"].as_str().unwrap_or("?")));
    }
    if let Some(s) = d["status"].as_str().filter(|_| kind != "outage.updated") {
        detail.push(format!("Status: {s}"));
    }
    if let Some(u) = d["updates"].as_array().and_then(|u| u.last()) {
        detail.push(u["body"].as_str().unwrap_or_default().chars().take(300).collect());
    }
    (title, detail.join(" · "))
}

/// The body an endpoint of this format takes.
pub fn body(format: Format, event: &Value) -> Value {
    let link = event["data"]["url"].as_str().map(String::from);
    match format {
        Format::Cloudevents => event.clone(),
        Format::Slack => {
            let (title, detail) = headline(event);
            let text = match &link {
                Some(l) => format!("*<{l}|{title}>*\n{detail}"),
                None => format!("*{title}*\n{detail}"),
            };
            json!({
                "text": title,
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
        Format::Teams => {
            let (title, detail) = headline(event);
            let mut card = json!({
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": [
                    {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Medium", "wrap": true},
                    {"type": "TextBlock", "text": detail, "wrap": true, "isSubtle": true},
                ],
            });
            if let Some(l) = link {
                card["actions"] = json!([{"type": "Action.OpenUrl", "title": "Open in sladesk", "url": l}]);
            }
            // A Teams Workflows webhook ("When a Teams webhook request is
            // received") takes a message with the card as an attachment.
            json!({
                "type": "message",
                "attachments": [{
                    "contentType": "application/vnd.microsoft.card.adaptive",
                    "contentUrl": null,
                    "content": card,
                }],
            })
        }
    }
}

/// The addresses to connect to, each checked.
fn addresses(url: &url::Url, allow_private: bool) -> Result<Vec<SocketAddr>, String> {
    let host = url
        .host_str()
        .ok_or("no host")?
        .trim_start_matches('[')
        .trim_end_matches(']');
    let port = url.port_or_known_default().ok_or("no port")?;
    let found: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("{host}: {e}"))?
        .collect();
    if found.is_empty() {
        return Err(format!("{host} has no address"));
    }
    if !allow_private && let Some(bad) = found.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "refused: {host} is at {}, a loopback, link-local or private address (an admin may allow it)",
            bad.ip()
        ));
    }
    Ok(found)
}

/// Posts one delivery; `Ok` is a 2xx answer. The signature's timestamp is
/// the moment of sending, read from the clock (a receiver refuses one far
/// from its own), whatever instant the round was scheduled for.
pub fn send(w: &ClaimedWebhook) -> Result<(), String> {
    let now = crate::app::now();
    let url = url::Url::parse(&w.url).map_err(|e| e.to_string())?;
    let found = addresses(&url, w.allow_private)?;
    let host = url.host_str().ok_or("no host")?.to_string();
    let body = serde_json::to_vec(&body(w.format, &w.event)).map_err(|e| e.to_string())?;
    let timestamp = now.timestamp();
    let signature = sign(&w.secret, &w.message_id, timestamp, &body)?;
    // A client for this delivery, its name pinned to the addresses checked.
    let client = reqwest::blocking::Client::builder()
        .tls_backend_preconfigured(super::http::tls())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(super::http::TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .resolve_to_addrs(&host, &found)
        .user_agent(concat!("sladesk/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| e.to_string())?;
    let content_type = match w.format {
        Format::Cloudevents => "application/cloudevents+json",
        _ => "application/json",
    };
    let answer = client
        .post(url)
        .header("content-type", content_type)
        .header("webhook-id", &w.message_id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .map_err(|e| {
            let mut s = e.to_string();
            let mut src = std::error::Error::source(&e);
            while let Some(x) = src {
                s.push_str(&format!(": {x}"));
                src = x.source();
            }
            s
        })?;
    let status = answer.status();
    if status.is_success() {
        Ok(())
    } else if status.is_redirection() {
        Err(format!("HTTP {status}: redirects are not followed"))
    } else {
        Err(format!("HTTP {status}"))
    }
}

/// Sends up to `limit` due deliveries now.
pub fn deliver_webhooks(app: &App, now: DateTime<Utc>, limit: i64) -> Result<WebhookReport, AppError> {
    let mut report = WebhookReport::default();
    for id in app.due_webhooks(now, limit)? {
        let Some(claimed) = app.claim_webhook(id, now)? else {
            continue;
        };
        match send(&claimed) {
            Ok(()) => {
                app.webhook_sent(&claimed, now)?;
                report.sent += 1;
            }
            Err(e) => {
                tracing::warn!(webhook = claimed.endpoint_id, delivery = id, error = %e, "webhook delivery failed; will retry");
                if app.webhook_failed(&claimed, &e, now)? {
                    report.disabled += 1;
                }
                report.failed += 1;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_standard_webhooks_own_example() {
        // The specification's test vector.
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap(),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn a_name_resolving_to_a_private_address_is_refused_at_send_time() {
        // Named, so the address check at subscription could not see it.
        let url = url::Url::parse("https://localhost:9/hook").unwrap();
        let e = addresses(&url, false).unwrap_err();
        assert!(e.contains("refused") && e.contains("127.0.0.1"), "{e}");
        assert!(addresses(&url, true).is_ok(), "allowed by an admin");
    }

    #[test]
    fn chat_bodies_carry_the_headline_and_the_link() {
        let event = json!({"type": "uk.sladesk.ticket.breached", "data": {
            "reference": "SD-000007", "severity": 1, "subject": "Core switch down", "status": "in_progress",
            "organisation": {"name": "Acme"}, "clock": "resolve", "due_at": "2026-11-30T12:00:00Z",
            "url": "https://desk.example/tickets/SD-000007"}});
        let slack = body(Format::Slack, &event);
        assert_eq!(slack["text"], "SLA breached: SD-000007 (S1) Core switch down");
        assert!(
            slack["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("<https://desk.example/tickets/SD-000007|")
        );
        let teams = body(Format::Teams, &event);
        let card = &teams["attachments"][0]["content"];
        assert_eq!(
            teams["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][0]["text"], "SLA breached: SD-000007 (S1) Core switch down");
        assert_eq!(card["actions"][0]["url"], "https://desk.example/tickets/SD-000007");
    }
}
