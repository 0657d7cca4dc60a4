//! Webhooks: subscriptions to the desk's events (tickets created, changed,
//! at risk, breached, resolved; outages updated), narrowed by organisation,
//! queue and severity, each posted as a CloudEvents 1.0 document (or as a
//! Microsoft Teams or Slack message) and signed per Standard Webhooks.
//!
//! A delivery is an outbox row (`kind = 'webhook'`), written in the
//! transaction of the event it tells of, so it is claimed, retried with
//! back-off and set aside in doubt exactly as mail is: at least once, its
//! `webhook-id` the same on every try for the receiver to de-duplicate. The
//! sending (address checks, signing, the request) is `net::webhooks`'s.
//! An endpoint failing for three days is disabled and admins are told.

mod delivery;
mod enqueue;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

use super::{App, AppError, Principal, audit, invalid, naive, utc};
use crate::store::schema::{organisations, queues, webhook_endpoints};

pub(crate) use enqueue::{enqueue_for_events, enqueue_outage};

/// The events one may subscribe to.
pub const EVENT_TYPES: [&str; 6] = [
    "ticket.created",
    "ticket.changed",
    "ticket.at_risk",
    "ticket.breached",
    "ticket.resolved",
    "outage.updated",
];

/// The outbox kind of a delivery.
pub const KIND: &str = "webhook";

/// An endpoint failing this long is disabled.
pub const DISABLE_AFTER_DAYS: i64 = 3;

/// What a body looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// A CloudEvents 1.0 document (structured mode), signed.
    Cloudevents,
    /// A Microsoft Teams Workflows webhook: an Adaptive Card.
    Teams,
    /// A Slack incoming webhook.
    Slack,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Cloudevents => "cloudevents",
            Format::Teams => "teams",
            Format::Slack => "slack",
        }
    }

    fn parse(s: &str) -> Format {
        match s {
            "teams" => Format::Teams,
            "slack" => Format::Slack,
            _ => Format::Cloudevents,
        }
    }
}

/// Whether an address is one a webhook may reach without an admin's
/// leave: not loopback, link-local (cloud metadata lives there), private,
/// shared (CGNAT), unspecified, multicast or documentation space.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00
                || (first & 0xffc0) == 0xfe80
                || first == 0x2001 && v6.segments()[1] == 0x0db8)
        }
    }
}

/// A new subscription, as the API takes it.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewWebhook {
    pub name: String,
    /// `https://…` (or `http://` to a private address an admin allows).
    pub url: String,
    /// `cloudevents` (the default), `teams` or `slack`.
    pub format: Option<Format>,
    /// Which of `EVENT_TYPES`.
    pub events: Vec<String>,
    /// Only this organisation's tickets (and its outages).
    pub organisation: Option<String>,
    /// Only this queue's tickets.
    pub queue: Option<String>,
    /// Only tickets of these severities.
    pub severities: Option<Vec<u8>>,
    /// Lets the endpoint be on loopback, link-local or private addresses
    /// (an internal chat relay, say). Off by default: a request forger's
    /// way to the desk's own network.
    #[serde(default)]
    pub allow_private: bool,
}

/// A subscription as shown: never its secret, except once at creation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WebhookView {
    pub id: i64,
    pub name: String,
    pub url: String,
    pub format: Format,
    pub events: Vec<String>,
    pub organisation: Option<String>,
    pub queue: Option<String>,
    pub severities: Option<Vec<u8>>,
    pub allow_private: bool,
    pub enabled: bool,
    pub failing_since: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_failure_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`), shown once, when made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// One delivery claimed for sending, with what the sender needs.
#[derive(Debug, Clone)]
pub struct ClaimedWebhook {
    pub id: i64,
    pub attempts: i32,
    pub endpoint_id: i64,
    pub url: String,
    pub format: Format,
    pub secret: String,
    pub allow_private: bool,
    /// The delivery's id (`webhook-id`), the same on every try.
    pub message_id: String,
    /// The CloudEvent.
    pub event: serde_json::Value,
}

type EndpointRow = (
    i64,
    String,
    String,
    String,
    String,
    Option<i64>,
    Option<i64>,
    Option<String>,
    bool,
    bool,
    (
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<chrono::NaiveDateTime>,
        Option<String>,
        Option<chrono::NaiveDateTime>,
        chrono::NaiveDateTime,
    ),
);

fn severities_of(s: &Option<String>) -> Option<Vec<u8>> {
    s.as_ref()
        .map(|s| s.split(',').filter_map(|x| x.trim().parse().ok()).collect())
}

fn view(c: &mut crate::store::DbConnection, r: EndpointRow) -> Result<WebhookView, AppError> {
    let organisation = match r.5 {
        Some(id) => Some(
            organisations::table
                .find(id)
                .select(organisations::slug)
                .first::<String>(c)?,
        ),
        None => None,
    };
    let queue = match r.6 {
        Some(id) => Some(queues::table.find(id).select(queues::slug).first::<String>(c)?),
        None => None,
    };
    Ok(WebhookView {
        id: r.0,
        name: r.1,
        url: r.2,
        format: Format::parse(&r.3),
        events: r.4.split(',').map(String::from).collect(),
        organisation,
        queue,
        severities: severities_of(&r.7),
        allow_private: r.8,
        enabled: r.9,
        failing_since: r.10.0.map(utc),
        last_success_at: r.10.1.map(utc),
        last_failure_at: r.10.2.map(utc),
        last_error: r.10.3,
        disabled_at: r.10.4.map(utc),
        created_at: utc(r.10.5),
        secret: None,
    })
}

fn load(c: &mut crate::store::DbConnection, id: Option<i64>) -> Result<Vec<WebhookView>, AppError> {
    let mut q = webhook_endpoints::table
        .order(webhook_endpoints::id)
        .select((
            webhook_endpoints::id,
            webhook_endpoints::name,
            webhook_endpoints::url,
            webhook_endpoints::format,
            webhook_endpoints::event_types,
            webhook_endpoints::organisation_id,
            webhook_endpoints::queue_id,
            webhook_endpoints::severities,
            webhook_endpoints::allow_private,
            webhook_endpoints::enabled,
            (
                webhook_endpoints::failing_since,
                webhook_endpoints::last_success_at,
                webhook_endpoints::last_failure_at,
                webhook_endpoints::last_error,
                webhook_endpoints::disabled_at,
                webhook_endpoints::created_at,
            ),
        ))
        .into_boxed();
    if let Some(id) = id {
        q = q.filter(webhook_endpoints::id.eq(id));
    }
    let rows: Vec<EndpointRow> = q.load(c)?;
    rows.into_iter().map(|r| view(c, r)).collect()
}

/// A URL a webhook may be given: http(s), a host, no credentials in it,
/// and (without `allow_private`) https to a name or a public address.
fn check_url(url: &str, allow_private: bool) -> Result<(), AppError> {
    let u = url::Url::parse(url).map_err(|e| invalid("url", format!("not an address: {e}")))?;
    match u.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => {
            return Err(invalid(
                "url",
                "must be https (http only to a private address an admin allows)",
            ));
        }
        other => return Err(invalid("url", format!("'{other}' is not http or https"))),
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(invalid(
            "url",
            "no credentials in the address: the signature authenticates the desk",
        ));
    }
    let host = u.host().ok_or_else(|| invalid("url", "no host"))?;
    let literal = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(d) if d.eq_ignore_ascii_case("localhost") || d.ends_with(".localhost") => {
            Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST))
        }
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal.filter(|ip| !is_public(*ip))
        && !allow_private
    {
        return Err(invalid(
            "url",
            format!("{ip} is a loopback, link-local or private address; an admin may allow it with allow_private"),
        ));
    }
    Ok(())
}

fn new_secret() -> String {
    let mut raw = [0u8; 24];
    rand::fill(&mut raw);
    format!(
        "whsec_{}",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, raw)
    )
}

impl App {
    /// Subscribes an endpoint (admins); its secret is in the answer, once.
    pub fn create_webhook(
        &self,
        who: &Principal,
        req: NewWebhook,
        now: DateTime<Utc>,
    ) -> Result<WebhookView, AppError> {
        who.require_admin()?;
        if req.name.trim().is_empty() || req.name.chars().count() > 200 {
            return Err(invalid("name", "between 1 and 200 characters"));
        }
        check_url(&req.url, req.allow_private)?;
        if req.events.is_empty() {
            return Err(invalid(
                "events",
                format!("name at least one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        if let Some(e) = req.events.iter().find(|e| !EVENT_TYPES.contains(&e.as_str())) {
            return Err(invalid(
                "events",
                format!("'{e}' is not one of {}", EVENT_TYPES.join(", ")),
            ));
        }
        if let Some(s) = req.severities.iter().flatten().find(|s| !(1..=4).contains(*s)) {
            return Err(invalid("severities", format!("{s} is outside 1 to 4")));
        }
        let secret = new_secret();
        let mut conn = self.conn()?;
        let mut v = conn.write(|c| {
            let organisation_id = match &req.organisation {
                Some(slug) => Some(
                    self.organisation_by_slug(c, slug)
                        .map_err(|_| invalid("organisation", format!("unknown organisation '{slug}'")))?
                        .id,
                ),
                None => None,
            };
            let queue_id = match &req.queue {
                Some(slug) => Some(
                    queues::table
                        .filter(queues::slug.eq(slug))
                        .select(queues::id)
                        .first::<i64>(c)
                        .optional()?
                        .ok_or_else(|| invalid("queue", format!("unknown queue '{slug}'")))?,
                ),
                None => None,
            };
            let mut events = req.events.clone();
            events.sort();
            events.dedup();
            let id: i64 = diesel::insert_into(webhook_endpoints::table)
                .values((
                    webhook_endpoints::name.eq(req.name.trim()),
                    webhook_endpoints::url.eq(&req.url),
                    webhook_endpoints::format.eq(req.format.unwrap_or(Format::Cloudevents).as_str()),
                    webhook_endpoints::secret.eq(&secret),
                    webhook_endpoints::event_types.eq(events.join(",")),
                    webhook_endpoints::organisation_id.eq(organisation_id),
                    webhook_endpoints::queue_id.eq(queue_id),
                    webhook_endpoints::severities.eq(req
                        .severities
                        .as_ref()
                        .map(|s| s.iter().map(u8::to_string).collect::<Vec<_>>().join(","))),
                    webhook_endpoints::allow_private.eq(req.allow_private),
                    webhook_endpoints::enabled.eq(true),
                    webhook_endpoints::created_by.eq(who.actor_id()),
                    webhook_endpoints::created_at.eq(naive(now)),
                ))
                .returning(webhook_endpoints::id)
                .get_result(c)?;
            audit(
                c,
                who,
                "webhook.create",
                &format!("webhook:{id}"),
                Some(&format!(
                    "{} {} [{}]",
                    req.url,
                    req.format.unwrap_or(Format::Cloudevents).as_str(),
                    events.join(",")
                )),
                now,
            )?;
            load(c, Some(id))?
                .pop()
                .ok_or_else(|| AppError::internal("the new webhook is not there"))
        })?;
        v.secret = Some(secret);
        Ok(v)
    }

    /// Every subscription, with how its deliveries are going (admins).
    pub fn list_webhooks(&self, who: &Principal) -> Result<Vec<WebhookView>, AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        load(&mut conn, None)
    }

    /// Ends a subscription; its undelivered messages are set aside.
    pub fn delete_webhook(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        who.require_admin()?;
        self.conn()?.write(|c| {
            let gone = load(c, Some(id))?
                .pop()
                .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))?;
            delivery::set_aside(c, id, "the webhook was deleted")?;
            diesel::delete(webhook_endpoints::table.find(id)).execute(c)?;
            audit(c, who, "webhook.delete", &format!("webhook:{id}"), Some(&gone.url), now)
        })
    }

    /// Turns a disabled subscription on again; what was set aside while it
    /// was off is not sent.
    pub fn enable_webhook(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<WebhookView, AppError> {
        who.require_admin()?;
        self.conn()?.write(|c| {
            let n = diesel::update(webhook_endpoints::table.find(id))
                .set((
                    webhook_endpoints::enabled.eq(true),
                    webhook_endpoints::disabled_at.eq(None::<chrono::NaiveDateTime>),
                    webhook_endpoints::failing_since.eq(None::<chrono::NaiveDateTime>),
                ))
                .execute(c)?;
            if n == 0 {
                return Err(AppError::NotFound(format!("webhook {id}")));
            }
            audit(c, who, "webhook.enable", &format!("webhook:{id}"), None, now)?;
            load(c, Some(id))?
                .pop()
                .ok_or_else(|| AppError::NotFound(format!("webhook {id}")))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_to_private_places_need_an_admins_leave() {
        assert!(check_url("https://hooks.example.com/x", false).is_ok());
        assert!(check_url("http://hooks.example.com/x", false).is_err(), "plain http");
        assert!(check_url("https://127.0.0.1/x", false).is_err());
        assert!(check_url("https://[::1]/x", false).is_err());
        assert!(check_url("https://localhost:8080/x", false).is_err());
        assert!(check_url("https://169.254.169.254/latest/meta-data", false).is_err());
        assert!(check_url("http://127.0.0.1:9000/x", true).is_ok());
        assert!(check_url("https://user:pw@hooks.example.com/", false).is_err());
        assert!(check_url("ftp://hooks.example.com/", true).is_err());
    }
}
