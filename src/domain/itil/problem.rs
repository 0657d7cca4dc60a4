//! A problem: the cause behind one or more incidents.
//!
//! new → under investigation → known error → resolved → closed. A problem
//! records its root cause and workaround; it becomes a known error when a
//! root cause or a workaround is recorded and declared (the known-error
//! list is what agents search). It links the incidents it explains, may
//! carry a target date (no SLA clock), and is worked by staff only.
//! Resolving it (and publishing a workaround) is what the use cases offer
//! to carry to the linked incidents.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, Comment, Refused, Visibility, in_order, is_staff, said, who};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemStatus {
    New,
    UnderInvestigation,
    KnownError,
    Resolved,
    Closed,
}

impl ProblemStatus {
    pub const ALL: [ProblemStatus; 5] = [
        ProblemStatus::New,
        ProblemStatus::UnderInvestigation,
        ProblemStatus::KnownError,
        ProblemStatus::Resolved,
        ProblemStatus::Closed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ProblemStatus::New => "new",
            ProblemStatus::UnderInvestigation => "under_investigation",
            ProblemStatus::KnownError => "known_error",
            ProblemStatus::Resolved => "resolved",
            ProblemStatus::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ProblemAction {
    Investigate,
    RecordRootCause {
        text: String,
    },
    RecordWorkaround {
        text: String,
    },
    /// Declares the known error: it needs a root cause or a workaround.
    DeclareKnownError,
    LinkIncident {
        reference: String,
    },
    UnlinkIncident {
        reference: String,
    },
    /// A date to have it resolved by, or none.
    SetTarget {
        at: Option<DateTime<Utc>>,
    },
    Note {
        body: String,
    },
    Resolve {
        note: String,
    },
    Reopen {
        reason: String,
    },
    Close,
}

impl ProblemAction {
    fn name(&self) -> &'static str {
        match self {
            ProblemAction::Investigate => "investigate",
            ProblemAction::RecordRootCause { .. } => "record a root cause",
            ProblemAction::RecordWorkaround { .. } => "record a workaround",
            ProblemAction::DeclareKnownError => "declare a known error",
            ProblemAction::LinkIncident { .. } => "link an incident",
            ProblemAction::UnlinkIncident { .. } => "unlink an incident",
            ProblemAction::SetTarget { .. } => "set a target",
            ProblemAction::Note { .. } => "add a note",
            ProblemAction::Resolve { .. } => "resolve",
            ProblemAction::Reopen { .. } => "reopen",
            ProblemAction::Close => "close",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ProblemEventKind {
    Created {
        /// The incidents it was raised from.
        incidents: Vec<String>,
    },
    StatusChanged {
        from: ProblemStatus,
        to: ProblemStatus,
    },
    RootCauseRecorded {
        text: String,
    },
    WorkaroundRecorded {
        text: String,
    },
    IncidentLinked {
        reference: String,
    },
    IncidentUnlinked {
        reference: String,
    },
    TargetSet {
        at: Option<DateTime<Utc>>,
    },
    Commented(Comment),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemEvent {
    pub at: DateTime<Utc>,
    pub by: Actor,
    #[serde(flatten)]
    pub kind: ProblemEventKind,
}

/// A problem: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub opened_at: DateTime<Utc>,
    pub status: ProblemStatus,
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    /// Declared a known error (it stays one once resolved: the record is kept).
    pub known_error: bool,
    pub incidents: BTreeSet<String>,
    pub target: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub events: Vec<ProblemEvent>,
}

/// Why a history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a problem's history must start with its creation")]
pub struct ProblemReplayError;

impl Problem {
    /// A problem opened at `at` by a member of staff, from these incidents
    /// (none: on its own).
    pub fn open(at: DateTime<Utc>, by: Actor, incidents: Vec<String>) -> Result<Vec<ProblemEvent>, Refused> {
        if !is_staff(&by) {
            return Err(Refused::NotAllowed {
                who: who(&by),
                action: "open a problem",
            });
        }
        let mut seen = BTreeSet::new();
        let incidents: Vec<String> = incidents.into_iter().filter(|r| seen.insert(r.clone())).collect();
        Ok(vec![ProblemEvent {
            at,
            by,
            kind: ProblemEventKind::Created { incidents },
        }])
    }

    pub fn replay(events: &[ProblemEvent]) -> Result<Problem, ProblemReplayError> {
        let Some(ProblemEvent {
            at,
            kind: ProblemEventKind::Created { incidents },
            ..
        }) = events.first()
        else {
            return Err(ProblemReplayError);
        };
        let mut p = Problem {
            opened_at: *at,
            status: ProblemStatus::New,
            root_cause: None,
            workaround: None,
            known_error: false,
            incidents: incidents.iter().cloned().collect(),
            target: None,
            resolved_at: None,
            events: vec![events[0].clone()],
        };
        for e in &events[1..] {
            p.evolve(e);
        }
        Ok(p)
    }

    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.events.last().map_or(self.opened_at, |e| e.at)
    }

    /// Folds one event in; never fails.
    pub fn evolve(&mut self, e: &ProblemEvent) {
        match &e.kind {
            ProblemEventKind::Created { .. } | ProblemEventKind::Commented(_) => {}
            ProblemEventKind::StatusChanged { to, .. } => {
                self.status = *to;
                match to {
                    ProblemStatus::KnownError => self.known_error = true,
                    ProblemStatus::Resolved => self.resolved_at = Some(e.at),
                    ProblemStatus::UnderInvestigation => self.resolved_at = None,
                    _ => {}
                }
            }
            ProblemEventKind::RootCauseRecorded { text } => self.root_cause = Some(text.clone()),
            ProblemEventKind::WorkaroundRecorded { text } => self.workaround = Some(text.clone()),
            ProblemEventKind::IncidentLinked { reference } => {
                self.incidents.insert(reference.clone());
            }
            ProblemEventKind::IncidentUnlinked { reference } => {
                self.incidents.remove(reference);
            }
            ProblemEventKind::TargetSet { at } => self.target = *at,
        }
        self.events.push(e.clone());
    }

    /// The events a command records, or why it is refused.
    pub fn decide(&self, at: DateTime<Utc>, by: &Actor, action: &ProblemAction) -> Result<Vec<ProblemEvent>, Refused> {
        use ProblemAction as A;
        use ProblemStatus as S;
        in_order(at, self.last_event_at())?;
        if !is_staff(by) {
            return Err(Refused::NotAllowed {
                who: who(by),
                action: action.name(),
            });
        }
        let status = self.status;
        if status == S::Closed {
            return Err(Refused::Final {
                status: status.as_str(),
            });
        }
        let not_now = || Refused::NotNow {
            action: action.name(),
            status: status.as_str(),
        };
        let event = |kind| ProblemEvent {
            at,
            by: by.clone(),
            kind,
        };
        let moved = |to| event(ProblemEventKind::StatusChanged { from: status, to });
        let open = matches!(status, S::New | S::UnderInvestigation | S::KnownError);
        Ok(match action {
            A::Investigate => {
                if status != S::New {
                    return Err(not_now());
                }
                vec![moved(S::UnderInvestigation)]
            }
            A::RecordRootCause { text } | A::RecordWorkaround { text } => {
                said("the text", text)?;
                if !open {
                    return Err(not_now());
                }
                let kind = match action {
                    A::RecordRootCause { .. } => ProblemEventKind::RootCauseRecorded { text: text.clone() },
                    _ => ProblemEventKind::WorkaroundRecorded { text: text.clone() },
                };
                let mut out = Vec::new();
                if status == S::New {
                    out.push(moved(S::UnderInvestigation));
                }
                out.push(event(kind));
                out
            }
            A::DeclareKnownError => {
                if status == S::KnownError || !open {
                    return Err(not_now());
                }
                if self.root_cause.is_none() && self.workaround.is_none() {
                    return Err(Refused::Invalid(
                        "a known error needs a root cause or a workaround recorded first".into(),
                    ));
                }
                vec![moved(S::KnownError)]
            }
            A::LinkIncident { reference } => {
                said("the reference", reference)?;
                if self.incidents.contains(reference) {
                    return Err(Refused::Invalid(format!("{reference} is linked already")));
                }
                vec![event(ProblemEventKind::IncidentLinked {
                    reference: reference.clone(),
                })]
            }
            A::UnlinkIncident { reference } => {
                if !self.incidents.contains(reference) {
                    return Err(Refused::Invalid(format!("{reference} is not linked")));
                }
                vec![event(ProblemEventKind::IncidentUnlinked {
                    reference: reference.clone(),
                })]
            }
            A::SetTarget { at: target } => {
                if !open {
                    return Err(not_now());
                }
                if target.is_some_and(|t| t < self.opened_at) {
                    return Err(Refused::Invalid(
                        "a target cannot be before the problem was opened".into(),
                    ));
                }
                if *target == self.target {
                    return Err(Refused::Invalid("the target is that already".into()));
                }
                vec![event(ProblemEventKind::TargetSet { at: *target })]
            }
            A::Note { body } => {
                said("a note", body)?;
                vec![event(ProblemEventKind::Commented(Comment {
                    visibility: Visibility::Internal,
                    body: body.clone(),
                }))]
            }
            A::Resolve { note } => {
                said("how it was resolved", note)?;
                if !open {
                    return Err(not_now());
                }
                let how = event(ProblemEventKind::Commented(Comment {
                    visibility: Visibility::Internal,
                    body: note.clone(),
                }));
                vec![how, moved(S::Resolved)]
            }
            A::Reopen { reason } => {
                said("the reason", reason)?;
                if status != S::Resolved {
                    return Err(not_now());
                }
                let why = event(ProblemEventKind::Commented(Comment {
                    visibility: Visibility::Internal,
                    body: reason.clone(),
                }));
                vec![why, moved(S::UnderInvestigation)]
            }
            A::Close => {
                if status != S::Resolved {
                    return Err(not_now());
                }
                vec![moved(S::Closed)]
            }
        })
    }
}
