//! A customer's dispute of a closed month's report: of a breach (a ticket's
//! clock the report counts as breached, or one they say breached and the
//! report counts as met) or of a credit line. A pure state machine: raised
//! open, then decided once, by a manager: upheld with a credit adjustment
//! (which the month's next report version carries as a line of its own), or
//! rejected with a reply. A decision is final; a customer who disagrees
//! raises another dispute, so every step stays on the record.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::vocabulary::ClockKind;

/// What is disputed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Subject {
    /// One clock of one ticket, as the month's report counts it.
    Breach { reference: String, clock: ClockKind },
    /// A line of the month's service credits, by its description.
    CreditLine { description: String },
}

impl Subject {
    /// The subject in words: "the resolve clock of SD-000123".
    pub fn words(&self) -> String {
        match self {
            Subject::Breach { reference, clock } => format!(
                "the {} clock of {reference}",
                match clock {
                    ClockKind::Response => "response",
                    ClockKind::Resolve => "resolve",
                }
            ),
            Subject::CreditLine { description } => format!("the credit line \"{description}\""),
        }
    }
}

/// Where a dispute stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Open,
    Upheld,
    Rejected,
}

impl Status {
    /// A status by the name `as_str` gives it.
    pub fn from_name(name: &str) -> Option<Status> {
        [Status::Open, Status::Upheld, Status::Rejected]
            .into_iter()
            .find(|s| s.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Upheld => "upheld",
            Status::Rejected => "rejected",
        }
    }
}

/// A manager's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Decide {
    /// The customer is right: the month's credits change by
    /// `adjustment_pence` (positive: more credit), shown as a line of its own.
    Uphold { adjustment_pence: i64, reply: String },
    /// The report stands, and the reply says why.
    Reject { reply: String },
}

/// A decision as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Decision {
    pub status: Status,
    pub adjustment_pence: i64,
    pub reply: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Why a dispute cannot be raised or decided.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DisputeError {
    #[error("the dispute was already {0}: a decision is final (raise a new dispute to contest it)")]
    Decided(&'static str),
    #[error("{0}")]
    Invalid(String),
}

/// The longest reason or reply, in characters.
pub const MAX_TEXT: usize = 4000;
/// The largest adjustment one decision makes, in pence (£100,000).
pub const MAX_ADJUSTMENT_PENCE: i64 = 10_000_000;

fn text(field: &str, s: &str) -> Result<String, DisputeError> {
    let t = s.trim();
    if t.is_empty() {
        return Err(DisputeError::Invalid(format!("{field}: say why")));
    }
    if t.chars().count() > MAX_TEXT {
        return Err(DisputeError::Invalid(format!(
            "{field}: longer than {MAX_TEXT} characters"
        )));
    }
    Ok(t.to_string())
}

/// A new dispute's reason, checked.
pub fn reason(s: &str) -> Result<String, DisputeError> {
    text("reason", s)
}

/// Decides an open dispute (`status`), or says why not.
pub fn decide(status: Status, d: &Decide, by: &str, at: DateTime<Utc>) -> Result<Decision, DisputeError> {
    if status != Status::Open {
        return Err(DisputeError::Decided(status.as_str()));
    }
    match d {
        Decide::Uphold {
            adjustment_pence,
            reply,
        } => {
            if *adjustment_pence == 0 {
                return Err(DisputeError::Invalid(
                    "adjustment: an upheld dispute changes the credits; give the amount in pence (negative to reduce)"
                        .into(),
                ));
            }
            if adjustment_pence.abs() > MAX_ADJUSTMENT_PENCE {
                return Err(DisputeError::Invalid(format!(
                    "adjustment: more than {} pence in one decision",
                    MAX_ADJUSTMENT_PENCE
                )));
            }
            Ok(Decision {
                status: Status::Upheld,
                adjustment_pence: *adjustment_pence,
                reply: text("reply", reply)?,
                by: by.to_string(),
                at,
            })
        }
        Decide::Reject { reply } => Ok(Decision {
            status: Status::Rejected,
            adjustment_pence: 0,
            reply: text("reply", reply)?,
            by: by.to_string(),
            at,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t() -> DateTime<Utc> {
        "2026-12-03T10:00:00Z".parse().unwrap()
    }

    #[test]
    fn an_open_dispute_is_upheld_with_an_amount_or_rejected_with_a_reply() {
        let up = decide(
            Status::Open,
            &Decide::Uphold {
                adjustment_pence: 2500,
                reply: " The reply came after the target. ".into(),
            },
            "mona@desk.example",
            t(),
        )
        .unwrap();
        assert_eq!((up.status, up.adjustment_pence), (Status::Upheld, 2500));
        assert_eq!(up.reply, "The reply came after the target.");
        let zero = decide(
            Status::Open,
            &Decide::Uphold {
                adjustment_pence: 0,
                reply: "yes".into(),
            },
            "m",
            t(),
        );
        assert!(matches!(zero, Err(DisputeError::Invalid(m)) if m.starts_with("adjustment")));
        let silent = decide(Status::Open, &Decide::Reject { reply: "  ".into() }, "m", t());
        assert!(matches!(silent, Err(DisputeError::Invalid(m)) if m.starts_with("reply")));
    }

    proptest! {
        /// Whatever is asked, a decided dispute stays as it was decided, and
        /// an accepted decision is upheld with a nonzero bounded amount or
        /// rejected with none, always with a reply.
        #[test]
        fn a_decision_is_final_and_well_formed(
            first in prop_oneof![Just(Status::Open), Just(Status::Upheld), Just(Status::Rejected)],
            uphold in any::<bool>(),
            amount in -20_000_000i64..20_000_000,
            reply in "[ a-z]{0,20}",
        ) {
            let d = if uphold {
                Decide::Uphold { adjustment_pence: amount, reply: reply.clone() }
            } else {
                Decide::Reject { reply: reply.clone() }
            };
            match decide(first, &d, "m", t()) {
                Ok(dec) => {
                    prop_assert_eq!(first, Status::Open);
                    prop_assert!(!dec.reply.is_empty());
                    match dec.status {
                        Status::Upheld => prop_assert!(dec.adjustment_pence != 0 && dec.adjustment_pence.abs() <= MAX_ADJUSTMENT_PENCE),
                        Status::Rejected => prop_assert_eq!(dec.adjustment_pence, 0),
                        Status::Open => prop_assert!(false, "a decision never leaves it open"),
                    }
                }
                Err(DisputeError::Decided(_)) => prop_assert!(first != Status::Open),
                Err(DisputeError::Invalid(_)) => prop_assert!(first == Status::Open),
            }
        }
    }
}
