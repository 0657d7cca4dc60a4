//! ITIL beyond the incident: the lifecycles of service requests, problems
//! and changes, each a pure state machine built like the incident's
//! (`domain::ticket`): `decide` checks a timestamped command against the
//! state and returns the events it records, or why it is refused, changing
//! nothing; `evolve` folds an event in and never fails; a record is the fold
//! of its events, so `replay` always gives the same record. Nothing here
//! reads the clock or does I/O. Their properties are tested in
//! `tests/itil_props.rs`.
//!
//! What the three share is here: the four ticket types, a refusal's
//! reasons, the check that commands come in time order, and a comment.

pub mod catalogue;
pub mod change;
pub mod problem;
pub mod report;
pub mod request;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::domain::vocabulary::{Actor, Visibility};

/// What kind of ticket: the incident is today's ticket (`domain::ticket`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketType {
    #[default]
    Incident,
    ServiceRequest,
    Problem,
    Change,
}

impl TicketType {
    pub const ALL: [TicketType; 4] = [
        TicketType::Incident,
        TicketType::ServiceRequest,
        TicketType::Problem,
        TicketType::Change,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TicketType::Incident => "incident",
            TicketType::ServiceRequest => "service_request",
            TicketType::Problem => "problem",
            TicketType::Change => "change",
        }
    }

    /// How people say it: "service request".
    pub fn title(self) -> &'static str {
        match self {
            TicketType::Incident => "incident",
            TicketType::ServiceRequest => "service request",
            TicketType::Problem => "problem",
            TicketType::Change => "change",
        }
    }
}

impl fmt::Display for TicketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TicketType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TicketType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| format!("unknown ticket type '{s}': expected incident, service_request, problem or change"))
    }
}

/// Why a command was refused. The record is as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the command at {at} is earlier than the last event at {last}")]
    OutOfOrder { at: DateTime<Utc>, last: DateTime<Utc> },
    #[error("it is {status}: it takes no more changes")]
    Final { status: &'static str },
    #[error("cannot {action} while it is {status}")]
    NotNow { action: &'static str, status: &'static str },
    #[error("{who} cannot {action}")]
    NotAllowed { who: String, action: &'static str },
    #[error("{0}")]
    Invalid(String),
}

/// Commands must not go back in time: the clocks are computed from the
/// events in their order.
pub(crate) fn in_order(at: DateTime<Utc>, last: DateTime<Utc>) -> Result<(), Refused> {
    if at < last {
        return Err(Refused::OutOfOrder { at, last });
    }
    Ok(())
}

/// Text a command carries (a comment, a root cause): it must say something.
pub(crate) fn said(field: &str, text: &str) -> Result<(), Refused> {
    if text.trim().is_empty() {
        return Err(Refused::Invalid(format!("{field} must say something")));
    }
    Ok(())
}

/// Who an actor is, for a refusal.
pub(crate) fn who(by: &Actor) -> String {
    match by {
        Actor::Agent(a) => format!("agent {a}"),
        Actor::Customer(c) => format!("customer {c}"),
        Actor::System => "sladesk".into(),
    }
}

pub(crate) fn is_staff(by: &Actor) -> bool {
    matches!(by, Actor::Agent(_) | Actor::System)
}

/// A comment on any of the three, as the incident's timeline has them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    pub visibility: Visibility,
    pub body: String,
}
