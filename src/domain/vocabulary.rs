//! The words of the desk that every part of the core speaks: severity,
//! status, who acted, who may see it, which clock and which alert. Here
//! alone, so that the ticket's state machine and its clocks (which need
//! each other) and the layers above share them without importing each
//! other's machinery.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Severity 1 (critical) to 4 (minor), as the service listing defines them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(into = "u8")]
pub enum Severity {
    /// Critical: core business halted, no workaround.
    S1 = 1,
    /// Major: core business degraded, no reasonable workaround.
    S2 = 2,
    /// Intermediate: operational impact, a workaround exists.
    S3 = 3,
    /// Minor: little or no impact.
    S4 = 4,
}

impl Severity {
    /// Every severity, most severe first.
    pub const ALL: [Severity; 4] = [Severity::S1, Severity::S2, Severity::S3, Severity::S4];

    /// 1 to 4, as people and the API say it.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// 0 to 3: its place in per-severity tables (a policy's targets).
    pub fn index(self) -> usize {
        self as usize - 1
    }

    /// "Critical", "Major", "Intermediate" or "Minor".
    pub fn title(self) -> &'static str {
        match self {
            Severity::S1 => "Critical",
            Severity::S2 => "Major",
            Severity::S3 => "Intermediate",
            Severity::S4 => "Minor",
        }
    }

    /// The service definition's wording, shown to whoever chooses a severity.
    pub fn definition(self) -> &'static str {
        match self {
            Severity::S1 => "The problem halts your core business processes and no workaround is available.",
            Severity::S2 => "The problem degrades your core business processes and no reasonable workaround exists.",
            Severity::S3 => {
                "The problem affects your operational environment but not core business processes; a workaround is available."
            }
            Severity::S4 => {
                "A non-critical problem causes some disruption, with little or no impact on your operation."
            }
        }
    }
}

impl TryFrom<u8> for Severity {
    type Error = String;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        match n {
            1 => Ok(Severity::S1),
            2 => Ok(Severity::S2),
            3 => Ok(Severity::S3),
            4 => Ok(Severity::S4),
            _ => Err(format!("unknown severity {n}: expected 1, 2, 3 or 4")),
        }
    }
}

impl<'de> Deserialize<'de> for Severity {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Severity;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a severity 1, 2, 3 or 4")
            }
            fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<Severity, E> {
                u8::try_from(n)
                    .ok()
                    .and_then(|n| Severity::try_from(n).ok())
                    .ok_or_else(|| E::custom(format!("unknown severity {n}: expected 1, 2, 3 or 4")))
            }
            fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Severity, E> {
                match u64::try_from(n) {
                    Ok(n) => self.visit_u64(n),
                    Err(_) => Err(E::custom(format!("unknown severity {n}: expected 1, 2, 3 or 4"))),
                }
            }
        }
        d.deserialize_u64(V)
    }
}

impl From<Severity> for u8 {
    fn from(s: Severity) -> u8 {
        s.number()
    }
}

impl FromStr for Severity {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.trim()
            .parse::<u8>()
            .map_err(|_| format!("unknown severity '{s}': expected 1, 2, 3 or 4"))
            .and_then(Severity::try_from)
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// Where a ticket stands. The first four are active work (`ACTIVE`); the
/// last three stop both clocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Raised, not yet taken up.
    New,
    /// Being worked (assigned or in progress).
    Open,
    /// Waiting on the customer: pauses the clocks the policy names.
    PendingCustomer,
    /// Waiting on a supplier.
    PendingThirdParty,
    /// Fixed: reopenable within the policy's reopen window.
    Resolved,
    /// Done for good.
    Closed,
    /// Withdrawn or raised in error.
    Cancelled,
}

impl Status {
    /// Every status, in lifecycle order.
    pub const ALL: [Status; 7] = [
        Status::New,
        Status::Open,
        Status::PendingCustomer,
        Status::PendingThirdParty,
        Status::Resolved,
        Status::Closed,
        Status::Cancelled,
    ];

    /// The statuses of open work: every one but those that stop the clocks.
    /// Listed, so that a database asks for them by an index (`IN`) rather
    /// than reading every ticket to leave the done ones out (`NOT IN`).
    pub const ACTIVE: [Status; 4] = [
        Status::New,
        Status::Open,
        Status::PendingCustomer,
        Status::PendingThirdParty,
    ];

    /// The name stored and spoken by the API: `pending_customer`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Open => "open",
            Status::PendingCustomer => "pending_customer",
            Status::PendingThirdParty => "pending_third_party",
            Status::Resolved => "resolved",
            Status::Closed => "closed",
            Status::Cancelled => "cancelled",
        }
    }

    /// Resolved, closed and cancelled stop both clocks.
    pub fn stops_clocks(self) -> bool {
        matches!(self, Status::Resolved | Status::Closed | Status::Cancelled)
    }

    /// Statuses a policy may name as pausing a clock.
    pub fn can_pause(self) -> bool {
        matches!(self, Status::Open | Status::PendingCustomer | Status::PendingThirdParty)
    }

    /// Closed and cancelled tickets take no more replies or changes.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Closed | Status::Cancelled)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Status::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            format!(
                "unknown status '{s}': expected one of new, open, pending_customer, pending_third_party, resolved, closed, cancelled"
            )
        })
    }
}

/// Who did something.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "role", content = "id", rename_all = "snake_case")]
pub enum Actor {
    /// A member of staff, by id.
    Agent(String),
    /// A customer contact, by id.
    Customer(String),
    /// sladesk itself: automatic acknowledgements, the scheduler.
    System,
}

/// Who may read an event's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// The customer and staff.
    Public,
    /// Staff only: notes, routing, escalations.
    Internal,
}

/// The two clocks of a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClockKind {
    /// Until the first public reply by staff.
    Response,
    /// Until resolved, paused in the policy's pause statuses.
    Resolve,
}

/// How far a clock has run against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// A percentage of the target reached.
    AtRisk(u8),
    /// The whole target used: elapsed ≥ target.
    Breach,
}
