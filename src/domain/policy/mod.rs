//! SLA policies (support tiers) as data: parsed from the TOML text of one
//! `sla-policies/*.toml` file, validated whole, and versioned by the hash of
//! their normalised content so that a ticket keeps the version it started
//! with. Reading files is the caller's business; this module gets text.
//!
//! Errors name the file, the line where the TOML gives one, the field and
//! what was expected.
//!
//! Here: the policy's types and what the clocks ask of it; `parse` turns
//! the text into it (the `Raw*` shapes of the file and their checks).

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
use super::credits::{AvailabilityBand, CreditSchedule, TicketBreachRate};
use super::duration::BusinessDuration;
use super::holidays::{Holidays, RULES_FIRST_YEAR, RULES_LAST_YEAR, Region};
use super::vocabulary::ClockKind;
use super::vocabulary::{Severity, Status};

/// Which calendar a severity's clocks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarChoice {
    /// The policy's own calendar (its hours, less the organisation's bank holidays).
    Business,
    /// Every hour of every day, holidays included.
    #[serde(rename = "24x7")]
    Always,
}

impl CalendarChoice {
    /// Its name as policy files and the API write it: `business` or `24x7`.
    pub fn as_str(self) -> &'static str {
        match self {
            CalendarChoice::Business => "business",
            CalendarChoice::Always => "24x7",
        }
    }
}

/// A severity's targets: response and resolve, and the calendar they count in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SeverityTargets {
    pub response: BusinessDuration,
    pub resolve: BusinessDuration,
    pub calendar: CalendarChoice,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub description: String,
    pub effective_from: NaiveDate,
    #[serde(skip)]
    pub version: String,
    pub time_zone: Tz,
    pub hours: WeeklyHours,
    pub bank_holidays: bool,
    /// Indexed by severity − 1.
    pub targets: [SeverityTargets; 4],
    pub response_pause: Vec<Status>,
    pub resolve_pause: Vec<Status>,
    /// Ascending percentages, each in 1..=100.
    pub at_risk: Vec<u8>,
    pub reopen_window: BusinessDuration,
    /// Who is told at which threshold. Left out of the version hash when it
    /// is the default for the thresholds, so adding the matrix changed no
    /// existing policy's version.
    #[serde(skip_serializing_if = "Escalation::is_default")]
    pub escalation: Escalation,
    /// The service-credit schedule, if the tier has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditSchedule>,
}

/// A threshold a clock crosses: a percentage of its target, or the breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    AtRisk(u8),
    Breach,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::AtRisk(p) => write!(f, "{p}%"),
            Threshold::Breach => write!(f, "breach"),
        }
    }
}

/// Whom an escalation notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// The assignee; the queue's members while nobody is assigned.
    Assignee,
    /// Every member of the ticket's queue.
    Queue,
    /// The queue's lead.
    QueueLead,
    /// The service desk's managers.
    Managers,
    /// The organisation's account contact.
    AccountContact,
}

impl Notify {
    const NAMES: [(&'static str, Notify); 5] = [
        ("assignee", Notify::Assignee),
        ("queue", Notify::Queue),
        ("queue_lead", Notify::QueueLead),
        ("managers", Notify::Managers),
        ("account_contact", Notify::AccountContact),
    ];
}

/// One line of the escalation matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationRule {
    pub at: Threshold,
    /// Only for these severities; every severity when empty.
    pub severities: Vec<Severity>,
    pub notify: Vec<Notify>,
}

/// Who is told as a clock nears and passes its target, at what share of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub rules: Vec<EscalationRule>,
    #[serde(skip)]
    custom: bool,
}

impl Escalation {
    fn is_default(&self) -> bool {
        !self.custom
    }

    /// The default matrix: the first at-risk threshold tells the assignee
    /// (or the queue), later ones the queue lead, a breach the managers, and
    /// a severity 1 breach the organisation's account contact as well.
    pub fn default_for(at_risk: &[u8]) -> Escalation {
        let mut rules: Vec<EscalationRule> = at_risk
            .iter()
            .enumerate()
            .map(|(i, p)| EscalationRule {
                at: Threshold::AtRisk(*p),
                severities: vec![],
                notify: vec![if i == 0 { Notify::Assignee } else { Notify::QueueLead }],
            })
            .collect();
        rules.push(EscalationRule {
            at: Threshold::Breach,
            severities: vec![],
            notify: vec![Notify::Managers],
        });
        rules.push(EscalationRule {
            at: Threshold::Breach,
            severities: vec![Severity::S1],
            notify: vec![Notify::AccountContact],
        });
        Escalation { rules, custom: false }
    }

    /// Everyone to tell when `at` is crossed on a ticket of `severity`.
    pub fn recipients(&self, at: Threshold, severity: Severity) -> Vec<Notify> {
        let mut out = Vec::new();
        for r in &self.rules {
            if r.at == at && (r.severities.is_empty() || r.severities.contains(&severity)) {
                for n in &r.notify {
                    if !out.contains(n) {
                        out.push(*n);
                    }
                }
            }
        }
        out
    }
}

impl Policy {
    /// The escalation level a threshold stands for: 1 for the first
    /// at-risk threshold, one more for each later one, and the highest for
    /// the breach; what a ticket shows as how far it has escalated.
    pub fn escalation_level(&self, at: Threshold) -> u8 {
        match at {
            Threshold::AtRisk(p) => self
                .at_risk
                .iter()
                .position(|x| *x == p)
                .map(|i| i as u8 + 1)
                .unwrap_or(1),
            Threshold::Breach => self.at_risk.len() as u8 + 1,
        }
    }
}

/// Why a policy file was refused: the file, and the field and what is wrong
/// with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

impl Policy {
    /// First 16 hex digits of the SHA-256 of the normalised (JSON) content:
    /// comments, layout and key order do not change it; any rule does.
    fn content_hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("policy serialises");
        let digest = Sha256::digest(&json);
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    /// The targets of a severity.
    pub fn targets(&self, severity: Severity) -> &SeverityTargets {
        &self.targets[severity.index()]
    }

    /// The base calendar's specification for an organisation in `region`.
    pub fn business_spec(&self, holidays: &Holidays, region: Region) -> CalendarSpec {
        CalendarSpec {
            time_zone: self.time_zone,
            hours: self.hours.clone(),
            closed_dates: if self.bank_holidays {
                holidays.dates(region, RULES_FIRST_YEAR - 1, RULES_LAST_YEAR + 1)
            } else {
                Default::default()
            },
        }
    }

    /// Compiles the calendars this policy's clocks run on for one region.
    pub fn calendars(&self, holidays: &Holidays, region: Region) -> PolicyCalendars {
        let (first, last) = span_dates();
        let always = CalendarSpec {
            time_zone: self.time_zone,
            hours: WeeklyHours::always(),
            closed_dates: Default::default(),
        };
        PolicyCalendars {
            business: Calendar::compile(&self.business_spec(holidays, region), first, last),
            always: Calendar::compile(&always, first, last),
        }
    }
}

/// The local dates every compiled calendar covers: the years the holiday
/// rules are written for.
pub fn span_dates() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(RULES_FIRST_YEAR, 1, 1).expect("valid"),
        NaiveDate::from_ymd_opt(RULES_LAST_YEAR, 12, 31).expect("valid"),
    )
}

/// The compiled calendars of one policy for one holiday region.
#[derive(Debug, Clone)]
pub struct PolicyCalendars {
    pub business: Calendar,
    pub always: Calendar,
}

impl PolicyCalendars {
    /// The calendar a choice names.
    pub fn get(&self, choice: CalendarChoice) -> &Calendar {
        match choice {
            CalendarChoice::Business => &self.business,
            CalendarChoice::Always => &self.always,
        }
    }
}

mod parse;
pub mod set;

#[cfg(test)]
mod tests;
