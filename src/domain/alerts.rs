//! Monitoring alerts into incidents: Prometheus Alertmanager's webhook
//! payload (version 4), the desk's rules that map an alert's labels to
//! services, and what each notification means for the one incident ticket
//! an alert fingerprint owns. Pure: the app records what this decides.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::service::Impact;

/// The webhook's body, as Alertmanager sends it (`version` "4").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Payload {
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    /// firing or resolved: the group's state.
    pub status: String,
    #[serde(default)]
    pub receiver: String,
    pub alerts: Vec<Alert>,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    /// Alerts left out of this notification (`max_alerts`).
    #[serde(default)]
    pub truncated_alerts: u64,
}

/// One alert of a notification.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    /// firing or resolved.
    pub status: String,
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// "0001-01-01T00:00:00Z" while firing.
    pub ends_at: DateTime<Utc>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    pub fingerprint: String,
}

impl Alert {
    /// Whether it fires (anything but `resolved`).
    pub fn firing(&self) -> bool {
        self.status != "resolved"
    }

    /// Its name (the `alertname` label).
    pub fn name(&self) -> &str {
        self.labels.get("alertname").map_or("alert", String::as_str)
    }

    /// What it says: the `summary` annotation, else `description`, else its name.
    pub fn summary(&self) -> &str {
        self.annotations
            .get("summary")
            .or_else(|| self.annotations.get("description"))
            .map_or_else(|| self.name(), String::as_str)
    }

    /// What an incident ticket says of it: its summary, since when, its
    /// labels and annotations, and where it came from.
    pub fn description(&self) -> String {
        let mut s = format!("{}\n\nFiring since {}.\n\nLabels:\n", self.summary(), self.starts_at);
        for (k, v) in &self.labels {
            s.push_str(&format!("  {k} = {v}\n"));
        }
        if !self.annotations.is_empty() {
            s.push_str("\nAnnotations:\n");
            for (k, v) in &self.annotations {
                s.push_str(&format!("  {k} = {v}\n"));
            }
        }
        if !self.generator_url.is_empty() {
            s.push_str(&format!("\nSource: {}\n", self.generator_url));
        }
        s.push_str(&format!("Fingerprint: {}\n", self.fingerprint));
        s
    }

    /// When it ended, if it did (Alertmanager sends year 1 while firing).
    pub fn ended(&self) -> Option<DateTime<Utc>> {
        (!self.firing() && self.ends_at > self.starts_at).then_some(self.ends_at)
    }
}

/// A rule: alerts whose labels include all of `labels` affect `services`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Label values an alert must carry, all of them: `{service = "objstore-lon2"}`.
    pub labels: BTreeMap<String, String>,
    /// The services' slugs.
    pub services: Vec<String>,
    /// How hard (default major_outage).
    #[serde(default = "major")]
    pub impact: Impact,
    /// Open the outage at once; otherwise a draft for staff to confirm.
    #[serde(default)]
    pub auto_open: bool,
    /// End the outage when the alert resolves; otherwise propose the end.
    #[serde(default)]
    pub auto_resolve: bool,
}

fn major() -> Impact {
    Impact::MajorOutage
}

/// The first rule whose labels the alert carries.
pub fn rule_for<'a>(rules: &'a [Rule], labels: &BTreeMap<String, String>) -> Option<&'a Rule> {
    rules
        .iter()
        .find(|r| r.labels.iter().all(|(k, v)| labels.get(k) == Some(v)))
}

/// What the desk knows of a fingerprint already.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub firing: bool,
    pub starts_at: DateTime<Utc>,
}

/// What one alert in a notification means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// A fingerprint never seen firing: a new ticket (and outage, by rule).
    Open,
    /// Firing again after it had resolved: a new episode on the same ticket.
    FiringAgain,
    /// The same episode, notified again: noted on the ticket.
    Repeat,
    /// It recovered: noted, and the outage's end proposed or made.
    Recovered,
    /// A resolution already recorded, or one for an alert never seen
    /// firing: nothing to do.
    Nothing,
}

/// The step for `alert` given what is `known` of its fingerprint.
pub fn step(known: Option<Known>, alert: &Alert) -> Step {
    match (known, alert.firing()) {
        (None, true) => Step::Open,
        (None, false) => Step::Nothing,
        (Some(k), true) if !k.firing || alert.starts_at > k.starts_at => Step::FiringAgain,
        (Some(_), true) => Step::Repeat,
        (Some(k), false) if k.firing => Step::Recovered,
        (Some(_), false) => Step::Nothing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notification as Alertmanager 0.25 sends it.
    const FIRING: &str = r#"{"receiver":"sladesk","status":"firing","alerts":[{"status":"firing",
      "labels":{"alertname":"ObjectStoreErrors","service":"objstore-lon2","severity":"critical"},
      "annotations":{"summary":"5xx above 5% on LON2 object storage"},
      "startsAt":"2026-11-30T09:00:00.123Z","endsAt":"0001-01-01T00:00:00Z",
      "generatorURL":"http://prometheus:9090/graph","fingerprint":"9a1d2f0e3c4b5a69"}],
      "groupLabels":{"alertname":"ObjectStoreErrors"},"commonLabels":{},"commonAnnotations":{},
      "externalURL":"http://alertmanager:9093","version":"4","groupKey":"{}:{alertname=\"ObjectStoreErrors\"}",
      "truncatedAlerts":0}"#;

    fn payload() -> Payload {
        serde_json::from_str(FIRING).unwrap()
    }

    #[test]
    fn a_notification_reads_and_a_fingerprint_moves_through_its_steps() {
        let p = payload();
        let a = &p.alerts[0];
        assert!(a.firing());
        assert_eq!(a.name(), "ObjectStoreErrors");
        assert_eq!(a.summary(), "5xx above 5% on LON2 object storage");
        assert_eq!(a.ended(), None);
        assert_eq!(step(None, a), Step::Open);
        let known = Known {
            firing: true,
            starts_at: a.starts_at,
        };
        assert_eq!(step(Some(known), a), Step::Repeat);
        let mut resolved = a.clone();
        resolved.status = "resolved".into();
        resolved.ends_at = "2026-11-30T09:40:00Z".parse().unwrap();
        assert_eq!(resolved.ended(), Some(resolved.ends_at));
        assert_eq!(step(Some(known), &resolved), Step::Recovered);
        let recovered = Known { firing: false, ..known };
        assert_eq!(step(Some(recovered), &resolved), Step::Nothing, "told twice");
        assert_eq!(step(None, &resolved), Step::Nothing, "never seen firing");
        assert_eq!(step(Some(recovered), a), Step::FiringAgain);
    }

    #[test]
    fn the_first_rule_whose_labels_an_alert_carries_applies() {
        let rules: Vec<Rule> = toml::from_str::<BTreeMap<String, Vec<Rule>>>(
            r#"
            [[rules]]
            labels = { service = "objstore-lon2", severity = "critical" }
            services = ["objstore-lon2"]
            auto_open = true
            [[rules]]
            labels = { service = "objstore-lon2" }
            services = ["objstore-lon2"]
            impact = "degraded"
            "#,
        )
        .unwrap()
        .remove("rules")
        .unwrap();
        let p = payload();
        let r = rule_for(&rules, &p.alerts[0].labels).unwrap();
        assert!(r.auto_open);
        assert_eq!(r.impact, Impact::MajorOutage);
        let mut warn = p.alerts[0].labels.clone();
        warn.insert("severity".into(), "warning".into());
        assert_eq!(rule_for(&rules, &warn).unwrap().impact, Impact::Degraded);
        warn.remove("service");
        assert!(rule_for(&rules, &warn).is_none());
    }
}
