//! Monitoring alerts into incidents: each alert of an Alertmanager
//! notification opens, or adds to, the one internal incident ticket its
//! fingerprint owns, and by the desk's rules an outage on the services its
//! labels name (a draft for staff to confirm, unless the rule opens it).
//! A resolved alert records the recovery and proposes, or makes, the
//! outage's end. Each alert is one transaction; the fingerprint is unique
//! in the store, so a notification told twice, or to two servers at once,
//! never makes a second ticket, and a recovery is recorded once.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::outages::{NewOutageRequest, ServiceImpact};
use super::tickets::{Change, NewTicketRequest};
use super::{App, AppError, Principal, invalid, naive, utc};
use crate::domain::alerts::{Alert, Known, Payload, Rule, Step, rule_for, step};
use crate::domain::ticket::Severity;
use crate::store::DbConnection;
use crate::store::schema::{alerts, tickets};

/// The most alerts one notification may carry.
pub const MAX_ALERTS: usize = 1000;

/// `[alerts]` in sladesk.toml: whom the incident tickets are raised for,
/// and the rules from labels to services.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertSettings {
    /// The desk's own organisation, the tickets' organisation.
    pub organisation: String,
    /// A contact of it, the tickets' requester (a monitoring mailbox).
    pub requester: String,
    /// The queue the tickets go to (the first queue if unset).
    #[serde(default)]
    pub queue: Option<String>,
    /// Their severity, 1 to 4 (default 2).
    #[serde(default = "two")]
    pub severity: u8,
    /// The first rule whose labels an alert carries applies.
    #[serde(default)]
    pub rules: Vec<Rule>,
}

fn two() -> u8 {
    2
}

/// What one notification did.
#[derive(Debug, Default, Clone, Serialize, utoipa::ToSchema)]
pub struct AlertsReceived {
    /// New tickets (and outages, by rule).
    pub opened: Vec<String>,
    /// Tickets an alert repeated on, or fired again on.
    pub added_to: Vec<String>,
    /// Tickets whose alert recovered.
    pub recovered: Vec<String>,
    /// Alerts with nothing new to record.
    pub unchanged: usize,
}

type AlertRow = (i64, bool, chrono::NaiveDateTime, i64, Option<i64>);

/// A lost race for a fingerprint (another server recorded it first).
const RACE: &str = "an alert fingerprint recorded meanwhile";

impl App {
    /// Sets `[alerts]`: how monitoring alerts become tickets and outages.
    pub fn set_alert_settings(&self, settings: Option<AlertSettings>) {
        *self.alert_settings.write().expect("lock") = settings.map(std::sync::Arc::new);
    }

    /// `[alerts]`, if set.
    pub fn alert_settings(&self) -> Option<std::sync::Arc<AlertSettings>> {
        self.alert_settings.read().expect("lock").clone()
    }

    /// Records an Alertmanager notification (version 4).
    pub fn receive_alertmanager(&self, payload: Payload, now: DateTime<Utc>) -> Result<AlertsReceived, AppError> {
        if payload.version != "4" {
            return Err(invalid(
                "version",
                format!("'{}': only version 4 is read", payload.version),
            ));
        }
        if payload.alerts.len() > MAX_ALERTS {
            return Err(invalid("alerts", format!("at most {MAX_ALERTS} in one notification")));
        }
        let settings = self
            .alert_settings()
            .ok_or_else(|| AppError::Conflict("alerts are not set up: add [alerts] to sladesk.toml".into()))?;
        let mut out = AlertsReceived::default();
        let mut conn = self.conn()?;
        for alert in &payload.alerts {
            if alert.fingerprint.is_empty() || alert.fingerprint.len() > 128 {
                return Err(invalid(
                    "alerts",
                    "each alert needs a fingerprint of at most 128 characters",
                ));
            }
            // One retry: a race for a new fingerprint is lost to a server
            // that recorded it, and the second attempt adds to its ticket.
            let mut attempt = 0;
            let done = loop {
                attempt += 1;
                match conn.write(|c| self.receive_one(c, &settings, alert, now)) {
                    Err(AppError::Conflict(m)) if m == RACE && attempt < 3 => continue,
                    other => break other?,
                }
            };
            match done {
                (Step::Open, r) => out.opened.push(r),
                (Step::FiringAgain | Step::Repeat, r) => out.added_to.push(r),
                (Step::Recovered, r) => out.recovered.push(r),
                (Step::Nothing, _) => out.unchanged += 1,
            }
        }
        Ok(out)
    }

    fn receive_one(
        &self,
        c: &mut DbConnection,
        settings: &AlertSettings,
        alert: &Alert,
        now: DateTime<Utc>,
    ) -> Result<(Step, String), AppError> {
        let operator = Principal::operator();
        let row: Option<AlertRow> = alerts::table
            .filter(alerts::fingerprint.eq(&alert.fingerprint))
            .select((
                alerts::id,
                alerts::firing,
                alerts::starts_at,
                alerts::ticket_id,
                alerts::outage_id,
            ))
            .first(c)
            .optional()?;
        let known = row.map(|r| Known {
            firing: r.1,
            starts_at: utc(r.2),
        });
        let s = step(known, alert);
        let rule = rule_for(&settings.rules, &alert.labels);
        let reference = match row {
            Some(r) => tickets::table.find(r.3).select(tickets::reference).first::<String>(c)?,
            None => String::new(),
        };
        let note = |app: &App, c: &mut DbConnection, reference: &str, text: String| {
            app.change_ticket_in(c, &operator, reference, &[Change::Note(text)], now)
                .map(|_| ())
        };
        match s {
            Step::Open => {
                let severity = Severity::try_from(settings.severity).map_err(AppError::Conflict)?;
                let req = NewTicketRequest {
                    subject: format!("[alert] {}: {}", alert.name(), alert.summary())
                        .chars()
                        .take(200)
                        .collect(),
                    description: alert.description(),
                    severity: Some(severity),
                    queue: settings.queue.clone(),
                    organisation: Some(settings.organisation.clone()),
                    requester: Some(settings.requester.clone()),
                    source: Some("api".into()),
                };
                let t = self.create_ticket_in(c, &operator, &req, "api", now)?;
                let ticket_id: i64 = tickets::table
                    .filter(tickets::reference.eq(&t.reference))
                    .select(tickets::id)
                    .first(c)?;
                // A rule naming a service the desk does not have still
                // gets the ticket (and says why no outage): refusing would
                // have Alertmanager retry for ever.
                let outage = match rule.map(|r| self.outage_for(c, &operator, alert, r, now)) {
                    Some(Ok(id)) => Some(id),
                    Some(Err(AppError::Invalid { message, .. })) => {
                        let text = format!("No outage opened: the alert rule does not fit ({message}).");
                        self.change_ticket_in(c, &operator, &t.reference, &[Change::Note(text)], now)?;
                        None
                    }
                    Some(Err(e)) => return Err(e),
                    None => None,
                };
                diesel::insert_into(alerts::table)
                    .values((
                        alerts::fingerprint.eq(&alert.fingerprint),
                        alerts::name.eq(alert.name()),
                        alerts::labels.eq(serde_json::to_string(&alert.labels).expect("labels serialise")),
                        alerts::firing.eq(true),
                        alerts::starts_at.eq(naive(alert.starts_at)),
                        alerts::ticket_id.eq(ticket_id),
                        alerts::outage_id.eq(outage),
                        alerts::notifications.eq(1),
                        alerts::first_seen_at.eq(naive(now)),
                        alerts::last_seen_at.eq(naive(now)),
                    ))
                    .execute(c)
                    .map_err(|e| match e {
                        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _) => {
                            AppError::Conflict(RACE.into())
                        }
                        e => e.into(),
                    })?;
                Ok((s, t.reference))
            }
            Step::FiringAgain => {
                let r = row.expect("known");
                note(
                    self,
                    c,
                    &reference,
                    format!(
                        "The alert fires again, since {}.\n\n{}",
                        alert.starts_at,
                        alert.description()
                    ),
                )?;
                // A new outage if the last one is over (or there was none).
                let over = match r.4 {
                    Some(o) => self.outage_over(c, o)?,
                    None => true,
                };
                let outage = match rule {
                    Some(rule) if over => Some(self.outage_for(c, &operator, alert, rule, now)?),
                    _ => r.4,
                };
                diesel::update(alerts::table.find(r.0))
                    .set((
                        alerts::firing.eq(true),
                        alerts::starts_at.eq(naive(alert.starts_at)),
                        alerts::ends_at.eq(None::<chrono::NaiveDateTime>),
                        alerts::outage_id.eq(outage),
                        alerts::notifications.eq(alerts::notifications + 1),
                        alerts::last_seen_at.eq(naive(now)),
                    ))
                    .execute(c)?;
                Ok((s, reference))
            }
            Step::Repeat => {
                let r = row.expect("known");
                note(
                    self,
                    c,
                    &reference,
                    format!(
                        "Alertmanager notified the alert again (firing since {}).",
                        alert.starts_at
                    ),
                )?;
                diesel::update(alerts::table.find(r.0))
                    .set((
                        alerts::notifications.eq(alerts::notifications + 1),
                        alerts::last_seen_at.eq(naive(now)),
                    ))
                    .execute(c)?;
                Ok((s, reference))
            }
            Step::Recovered => {
                let r = row.expect("known");
                let ended = alert.ended().unwrap_or(now);
                diesel::update(alerts::table.find(r.0))
                    .set((
                        alerts::firing.eq(false),
                        alerts::ends_at.eq(Some(naive(ended))),
                        alerts::notifications.eq(alerts::notifications + 1),
                        alerts::last_seen_at.eq(naive(now)),
                    ))
                    .execute(c)?;
                let mut text = format!("The alert recovered at {ended}.");
                if let Some(o) = r.4 {
                    let auto = rule.is_some_and(|r| r.auto_resolve);
                    text.push_str(&self.end_outage_for(c, &operator, o, ended, auto, now)?);
                }
                note(self, c, &reference, text)?;
                Ok((s, reference))
            }
            Step::Nothing => {
                if let Some(r) = row {
                    diesel::update(alerts::table.find(r.0))
                        .set((
                            alerts::notifications.eq(alerts::notifications + 1),
                            alerts::last_seen_at.eq(naive(now)),
                        ))
                        .execute(c)?;
                }
                Ok((s, reference))
            }
        }
    }

    /// The outage a rule opens for a firing alert: a draft unless the rule
    /// says `auto_open`.
    fn outage_for(
        &self,
        c: &mut DbConnection,
        operator: &Principal,
        alert: &Alert,
        rule: &Rule,
        now: DateTime<Utc>,
    ) -> Result<i64, AppError> {
        let req = NewOutageRequest {
            kind: "platform_issue".into(),
            start: alert.starts_at.min(now),
            end: None,
            notified_at: None,
            organisations: None,
            services: rule
                .services
                .iter()
                .map(|s| ServiceImpact {
                    service: s.clone(),
                    impact: Some(rule.impact.as_str().to_string()),
                })
                .collect(),
            description: format!(
                "From the alert {} ({}): {}",
                alert.name(),
                alert.fingerprint,
                alert.summary()
            ),
            public_description: None,
        };
        Ok(self.create_outage_in(c, operator, &req, !rule.auto_open, now)?.id)
    }

    fn outage_over(&self, c: &mut DbConnection, id: i64) -> Result<bool, AppError> {
        use crate::store::schema::outages;
        let end: Option<chrono::NaiveDateTime> = outages::table.find(id).select(outages::ends_at).first(c)?;
        Ok(end.is_some())
    }

    /// A recovered alert's outage: ended at `ended` when the rule says so
    /// (a confirmed outage, with a public update), otherwise its end
    /// proposed for staff. Says which, for the ticket's note.
    fn end_outage_for(
        &self,
        c: &mut DbConnection,
        operator: &Principal,
        id: i64,
        ended: DateTime<Utc>,
        auto: bool,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        use crate::store::schema::outages;
        let (draft, end): (bool, Option<chrono::NaiveDateTime>) = outages::table
            .find(id)
            .select((outages::draft, outages::ends_at))
            .first(c)?;
        if end.is_some() {
            return Ok(format!(" Outage {id} had already ended."));
        }
        if auto && !draft {
            let last = self.outage_updates_end(c, id)?;
            self.post_update_in(
                c,
                operator,
                id,
                Some(crate::domain::outage_status::OutageStatus::Resolved),
                "The service has recovered.",
                last.map_or(ended, |l| l.max(ended)),
                now,
            )?;
            return Ok(format!(" Outage {id} is resolved and ended at that instant."));
        }
        diesel::update(outages::table.find(id))
            .set(outages::proposed_end_at.eq(Some(naive(ended))))
            .execute(c)?;
        Ok(format!(
            " Outage {id}'s end is proposed at that instant, for staff to confirm."
        ))
    }
}
