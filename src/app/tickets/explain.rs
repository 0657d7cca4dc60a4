//! A ticket's SLA evidence: why each clock is due when it is
//! (`domain::ticket::explain`, with the policy version and calendar it ran
//! on named), and its history as a `sladesk sla replay` line, so anyone can
//! recompute the clocks offline. Customers get both minus what is the desk's
//! own: internal notes, routing, the warnings staff are sent (their
//! thresholds and instants), and the server's file paths. Nothing they lose
//! moves a clock, so their history replays to the same due instants.

use super::*;
use crate::domain::report::BreachEvidence;
use crate::domain::ticket::explain::{Explanation, explain};

/// The policy version a ticket's clocks ran on.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PolicyNote {
    pub name: String,
    pub version: String,
    pub effective_from: chrono::NaiveDate,
    /// Staff only: the file it was loaded from, or where it is kept.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// The calendar a ticket's clocks count in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CalendarNote {
    /// `business` or `24x7`.
    pub kind: String,
    pub time_zone: String,
    /// The weekly hours, as people read them.
    pub hours: String,
    /// One business day, in seconds (what "1bd" in a target means).
    pub day_seconds: i64,
    /// Whether bank holidays are closed, and whose.
    pub bank_holidays: bool,
    pub region: String,
    /// The holiday data's fingerprint, as recorded on the ticket.
    pub holiday_set: String,
    /// `rules` (sladesk's own holiday rules), or `imported` (a GOV.UK
    /// bank-holidays file, over the rules).
    pub holiday_source: String,
}

impl CalendarNote {
    /// What the clocks count, as people read it: "business hours, Mon–Fri
    /// 08:00–17:30 Europe/London; a business day is 9 h 30 min; not on bank
    /// holidays in Scotland (sladesk's holiday rules)".
    pub fn words(&self) -> String {
        if self.kind == "24x7" {
            return format!("every hour of every day ({})", self.time_zone);
        }
        let region = match self.region.as_str() {
            "england-and-wales" => "England and Wales",
            "scotland" => "Scotland",
            "northern-ireland" => "Northern Ireland",
            other => other,
        };
        format!(
            "business hours, {} {}; a business day is {}{}",
            self.hours,
            self.time_zone,
            crate::domain::duration::business_text(self.day_seconds, i64::MAX),
            if self.bank_holidays {
                format!(
                    "; not on bank holidays in {region} ({})",
                    if self.holiday_source == "rules" {
                        "sladesk's holiday rules"
                    } else {
                        "an imported GOV.UK holiday list"
                    }
                )
            } else {
                String::new()
            }
        )
    }
}

/// Why a ticket's clocks are due when they are.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SlaExplanation {
    pub reference: String,
    pub policy_note: PolicyNote,
    pub calendar: CalendarNote,
    #[serde(flatten)]
    #[schema(value_type = Object)]
    pub explanation: Explanation,
}

/// Stored event kinds a customer's copy of a history keeps: the ones that
/// move a clock, and their public messages.
const CUSTOMER_KINDS: &[&str] = &[
    "created",
    "status_changed",
    "severity_changed",
    "merged",
    "policy_changed",
    "copied",
];

impl App {
    /// Both clocks of a ticket explained as of `now` (or its last event, if later).
    pub fn explain_ticket_sla(
        &self,
        who: &Principal,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<SlaExplanation, AppError> {
        let mut conn = self.conn()?;
        self.explain_in(&mut conn, who, reference, None, now)
    }

    /// The explanation as of `as_of`: the history before it, as the month's
    /// report replays it (`until` set), or all of it.
    fn explain_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        until: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<SlaExplanation, AppError> {
        let mut l = self.load_ticket(c, who, reference)?;
        if l.row.ticket_type != crate::domain::itil::TicketType::Incident.as_str() {
            return Err(AppError::Conflict(format!(
                "{} is a {}: the incident clocks do not run for it",
                l.row.reference, l.row.ticket_type
            )));
        }
        let as_of = match until {
            Some(cut) => {
                let before: Vec<Event> = l.ticket.events.iter().filter(|e| e.at < cut).cloned().collect();
                l.ticket = Ticket::replay(&before)
                    .map_err(|e| AppError::internal(format!("ticket {}: {e}", l.row.reference)))?;
                l.policy = self.policy_version(c, &l.ticket.policy, &l.ticket.policy_version)?;
                cut
            }
            None => now.max(l.ticket.last_event_at()),
        };
        let calendars = self.calendars(c, &l.policy, l.region, &l.row.holiday_set)?;
        let holidays = self.holidays_of(c, &l.row.holiday_set)?;
        let ctx = SlaContext {
            policy: &l.policy,
            calendars: &calendars,
        };
        // Nothing in it is the desk's own timing (no warning thresholds):
        // customers get the same explanation, less the policy's file.
        let explanation = explain(&l.ticket, &ctx, &holidays, l.region, as_of)
            .map_err(|e| AppError::internal(format!("ticket {}: {e}", l.row.reference)))?;
        let staff = who.role != Role::Customer;
        let choice = l.policy.targets(l.ticket.severity).calendar;
        let calendar = calendars.get(choice);
        Ok(SlaExplanation {
            reference: l.row.reference.clone(),
            policy_note: PolicyNote {
                name: l.policy.name.clone(),
                version: l.policy.version.clone(),
                effective_from: l.policy.effective_from,
                source: staff.then(|| self.policy_source(&l.policy)),
            },
            calendar: CalendarNote {
                kind: choice.as_str().into(),
                time_zone: l.policy.time_zone.name().to_string(),
                hours: match choice {
                    crate::domain::policy::CalendarChoice::Business => l.policy.hours.summary(),
                    crate::domain::policy::CalendarChoice::Always => "every hour of every day".into(),
                },
                day_seconds: calendar.standard_day_seconds(),
                bank_holidays: l.policy.bank_holidays && choice == crate::domain::policy::CalendarChoice::Business,
                region: l.region.as_str().to_string(),
                holiday_set: l.row.holiday_set.clone(),
                holiday_source: if l.row.holiday_set == rules_fingerprint() {
                    "rules".into()
                } else {
                    "imported".into()
                },
            },
            explanation,
        })
    }

    /// The evidence of a ticket's breaches in `month`, as its report
    /// replays it to `as_of`: for the credit lines that count them.
    pub(crate) fn breach_evidence(
        &self,
        c: &mut DbConnection,
        reference: &str,
        month: crate::domain::availability::Month,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<BreachEvidence>, AppError> {
        Ok(self
            .clock_evidence(c, reference, as_of)?
            .into_iter()
            .filter(|k| {
                k.clock
                    .breached_at
                    .is_some_and(|b| b >= month.start() && b < month.end())
            })
            .collect())
    }

    /// Both clocks of a ticket explained as its history before `as_of` gives
    /// them: the evidence kept with a dispute's decision.
    pub(crate) fn clock_evidence(
        &self,
        c: &mut DbConnection,
        reference: &str,
        as_of: DateTime<Utc>,
    ) -> Result<Vec<BreachEvidence>, AppError> {
        let e = self.explain_in(c, &Principal::operator(), reference, Some(as_of), as_of)?;
        let calendar = e.calendar.words();
        let day_seconds = e.calendar.day_seconds;
        let x = e.explanation;
        Ok(x.clocks
            .into_iter()
            .map(|clock| BreachEvidence {
                reference: e.reference.clone(),
                policy: x.policy.clone(),
                policy_version: x.policy_version.clone(),
                severity: x.severity,
                calendar: calendar.clone(),
                day_seconds,
                severity_changes: x.severity_changes.clone(),
                clock,
            })
            .collect())
    }

    /// A ticket's history as one `sladesk sla replay` line
    /// (docs/sla-replay.md): its stored events without their text, with
    /// the region, and the instant its clocks were last stored as `as_of`.
    pub fn ticket_sla_history(&self, who: &Principal, reference: &str) -> Result<serde_json::Value, AppError> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        let l = self.load_ticket(c, who, reference)?;
        let customer = who.role == Role::Customer;
        let mut events = Vec::with_capacity(l.ticket.events.len());
        for e in &l.ticket.events {
            let mut v = serde_json::to_value(e).map_err(|e| AppError::internal(e.to_string()))?;
            let kind = v["type"].as_str().unwrap_or_default().to_string();
            let public_comment = kind == "commented" && v["visibility"] == "public";
            if customer && !(CUSTOMER_KINDS.contains(&kind.as_str()) || public_comment) {
                continue;
            }
            if let Some(o) = v.as_object_mut() {
                // The words are not evidence of time; who wrote them is.
                o.remove("body");
                if customer {
                    // Staff ids are the desk's own.
                    if o.get("by").and_then(|b| b.get("role")).and_then(|r| r.as_str()) == Some("agent") {
                        o.insert("by".into(), serde_json::json!({"role": "agent", "id": ""}));
                    }
                }
            }
            events.push(v);
        }
        let mut line = serde_json::json!({
            "id": l.row.reference,
            "region": l.region.as_str(),
            "as_of": l.row.sla.sla_computed_at.and_utc().max(l.ticket.last_event_at())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "events": events,
        });
        // A version no longer among the loaded files travels with its text.
        if self.policies.version(&l.policy.name, &l.policy.version).is_none()
            && let Some(o) = line.as_object_mut()
        {
            o.insert(
                "policy_file".into(),
                self.stored_policy_text(c, &l.policy.version)?.into(),
            );
        }
        Ok(line)
    }

    /// Where a policy version comes from: its file, or the store.
    fn policy_source(&self, policy: &crate::domain::policy::Policy) -> String {
        self.policies
            .iter()
            .find(|(p, _)| p.version == policy.version)
            .map(|(_, f)| f.display().to_string())
            .unwrap_or_else(|| format!("kept in the database as version {}", policy.version))
    }

    fn stored_policy_text(&self, c: &mut DbConnection, version: &str) -> Result<String, AppError> {
        use crate::store::schema::policy_versions;
        Ok(policy_versions::table
            .find(version)
            .select(policy_versions::source)
            .first(c)?)
    }
}

/// The fingerprint of sladesk's own holiday rules.
fn rules_fingerprint() -> &'static str {
    static F: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    F.get_or_init(|| holiday_set(&crate::domain::holidays::Holidays::from_rules()).1)
}

/// A holiday set as the store keeps it: its GOV.UK form over the years the
/// rules cover, and that text's fingerprint (recorded on every ticket).
pub(crate) fn holiday_set(h: &crate::domain::holidays::Holidays) -> (String, String) {
    use sha2::Digest;
    let source = h.to_govuk_json(
        crate::domain::holidays::RULES_FIRST_YEAR - 1,
        crate::domain::holidays::RULES_LAST_YEAR + 1,
    );
    let fingerprint = sha2::Sha256::digest(source.as_bytes())
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect();
    (source, fingerprint)
}
