//! A change: the formal request to alter a service, approved by the change
//! advisory board before it is done.
//!
//! draft → submitted → assessed → awaiting CAB → approved (or rejected) →
//! scheduled → implementing → implemented → reviewed → closed; cancelled
//! any time before implementing, backed out or failed while implementing,
//! and reviewed after either. A standard change is pre-approved (from a
//! template): submitting it approves it. The CAB's named approvers decide
//! by a rule (all of them, a quorum of N, or any one); each vote is
//! recorded with who, when and a comment. A change has no SLA clock but a
//! window; a window inside a change freeze is refused unless the change is
//! an emergency and says why.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, Comment, Refused, Visibility, in_order, is_staff, said, who};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// Pre-approved, from a template.
    Standard,
    Normal,
    /// Cannot wait for the next CAB; may be scheduled in a freeze, with a reason.
    Emergency,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    Low,
    Medium,
    High,
}

/// How the CAB's votes decide.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum CabRule {
    All,
    Quorum { of: u32 },
    Any,
}

impl CabRule {
    /// Approvals needed out of `approvers`.
    pub fn needed(self, approvers: usize) -> usize {
        match self {
            CabRule::All => approvers,
            CabRule::Quorum { of } => (of as usize).min(approvers),
            CabRule::Any => 1.min(approvers),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeStatus {
    Draft,
    Submitted,
    Assessed,
    AwaitingCab,
    Approved,
    Rejected,
    Scheduled,
    Implementing,
    Implemented,
    BackedOut,
    Failed,
    Reviewed,
    Closed,
    Cancelled,
}

impl ChangeStatus {
    pub const ALL: [ChangeStatus; 14] = [
        ChangeStatus::Draft,
        ChangeStatus::Submitted,
        ChangeStatus::Assessed,
        ChangeStatus::AwaitingCab,
        ChangeStatus::Approved,
        ChangeStatus::Rejected,
        ChangeStatus::Scheduled,
        ChangeStatus::Implementing,
        ChangeStatus::Implemented,
        ChangeStatus::BackedOut,
        ChangeStatus::Failed,
        ChangeStatus::Reviewed,
        ChangeStatus::Closed,
        ChangeStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Draft => "draft",
            ChangeStatus::Submitted => "submitted",
            ChangeStatus::Assessed => "assessed",
            ChangeStatus::AwaitingCab => "awaiting_cab",
            ChangeStatus::Approved => "approved",
            ChangeStatus::Rejected => "rejected",
            ChangeStatus::Scheduled => "scheduled",
            ChangeStatus::Implementing => "implementing",
            ChangeStatus::Implemented => "implemented",
            ChangeStatus::BackedOut => "backed_out",
            ChangeStatus::Failed => "failed",
            ChangeStatus::Reviewed => "reviewed",
            ChangeStatus::Closed => "closed",
            ChangeStatus::Cancelled => "cancelled",
        }
    }

    /// Closed, rejected and cancelled take no more changes.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangeStatus::Closed | ChangeStatus::Rejected | ChangeStatus::Cancelled
        )
    }
}

/// The outcome a post-implementation review records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Success,
    Failure,
    BackedOut,
}

/// A period in which no change may be scheduled (but an emergency, with a reason).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Freeze {
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeAction {
    Submit,
    Assess {
        risk: Risk,
        impact: String,
    },
    /// To the CAB: who decides, and by which rule.
    SendToCab {
        approvers: Vec<String>,
        rule: CabRule,
    },
    Approve {
        comment: String,
    },
    Reject {
        comment: String,
    },
    /// Books (or moves) the window. `freezes` are the desk's change
    /// freezes; `reason` is what lets an emergency into one.
    Schedule {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        freezes: Vec<Freeze>,
        reason: Option<String>,
    },
    Start,
    Complete,
    BackOut {
        note: String,
    },
    Fail {
        note: String,
    },
    Review {
        outcome: Outcome,
        notes: String,
    },
    Close,
    Cancel {
        reason: String,
    },
    Note {
        body: String,
    },
}

impl ChangeAction {
    fn name(&self) -> &'static str {
        match self {
            ChangeAction::Submit => "submit",
            ChangeAction::Assess { .. } => "assess",
            ChangeAction::SendToCab { .. } => "send to the CAB",
            ChangeAction::Approve { .. } => "approve",
            ChangeAction::Reject { .. } => "reject",
            ChangeAction::Schedule { .. } => "schedule",
            ChangeAction::Start => "start",
            ChangeAction::Complete => "complete",
            ChangeAction::BackOut { .. } => "back out",
            ChangeAction::Fail { .. } => "record a failure",
            ChangeAction::Review { .. } => "review",
            ChangeAction::Close => "close",
            ChangeAction::Cancel { .. } => "cancel",
            ChangeAction::Note { .. } => "add a note",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChangeEventKind {
    Created {
        kind: ChangeKind,
    },
    StatusChanged {
        from: ChangeStatus,
        to: ChangeStatus,
    },
    Assessed {
        risk: Risk,
        impact: String,
    },
    CabConvened {
        approvers: Vec<String>,
        rule: CabRule,
    },
    Voted {
        approve: bool,
        comment: String,
    },
    Scheduled {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        /// The freeze an emergency was let into, and why.
        #[serde(default)]
        in_freeze: Option<(String, String)>,
    },
    Reviewed {
        outcome: Outcome,
        notes: String,
    },
    Commented(Comment),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeEvent {
    pub at: DateTime<Utc>,
    pub by: Actor,
    #[serde(flatten)]
    pub kind: ChangeEventKind,
}

/// A change: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    pub kind: ChangeKind,
    pub opened_at: DateTime<Utc>,
    pub status: ChangeStatus,
    pub risk: Option<Risk>,
    pub approvers: Vec<String>,
    pub rule: Option<CabRule>,
    /// Each approver's latest vote: true to approve.
    pub votes: BTreeMap<String, bool>,
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub outcome: Option<Outcome>,
    pub events: Vec<ChangeEvent>,
}

/// Why a history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a change's history must start with its creation")]
pub struct ChangeReplayError;

impl Change {
    /// A draft change of `kind`, by a member of staff.
    pub fn draft(at: DateTime<Utc>, by: Actor, kind: ChangeKind) -> Result<Vec<ChangeEvent>, Refused> {
        if !is_staff(&by) {
            return Err(Refused::NotAllowed {
                who: who(&by),
                action: "raise a change",
            });
        }
        Ok(vec![ChangeEvent {
            at,
            by,
            kind: ChangeEventKind::Created { kind },
        }])
    }

    pub fn replay(events: &[ChangeEvent]) -> Result<Change, ChangeReplayError> {
        let Some(ChangeEvent {
            at,
            kind: ChangeEventKind::Created { kind },
            ..
        }) = events.first()
        else {
            return Err(ChangeReplayError);
        };
        let mut c = Change {
            kind: *kind,
            opened_at: *at,
            status: ChangeStatus::Draft,
            risk: None,
            approvers: Vec::new(),
            rule: None,
            votes: BTreeMap::new(),
            window: None,
            outcome: None,
            events: vec![events[0].clone()],
        };
        for e in &events[1..] {
            c.evolve(e);
        }
        Ok(c)
    }

    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.events.last().map_or(self.opened_at, |e| e.at)
    }

    /// Folds one event in; never fails.
    pub fn evolve(&mut self, e: &ChangeEvent) {
        match &e.kind {
            ChangeEventKind::Created { .. } | ChangeEventKind::Commented(_) => {}
            ChangeEventKind::StatusChanged { to, .. } => self.status = *to,
            ChangeEventKind::Assessed { risk, .. } => self.risk = Some(*risk),
            ChangeEventKind::CabConvened { approvers, rule } => {
                self.approvers = approvers.clone();
                self.rule = Some(*rule);
                self.votes.clear();
            }
            ChangeEventKind::Voted { approve, .. } => {
                if let Actor::Agent(id) = &e.by {
                    self.votes.insert(id.clone(), *approve);
                }
            }
            ChangeEventKind::Scheduled { start, end, .. } => self.window = Some((*start, *end)),
            ChangeEventKind::Reviewed { outcome, .. } => self.outcome = Some(*outcome),
        }
        self.events.push(e.clone());
    }

    /// Approvals so far, and approvals still possible (votes not yet cast).
    pub fn tally(&self) -> (usize, usize) {
        tally(&self.approvers, &self.votes)
    }

    /// The events a command records, or why it is refused.
    pub fn decide(&self, at: DateTime<Utc>, by: &Actor, action: &ChangeAction) -> Result<Vec<ChangeEvent>, Refused> {
        use ChangeAction as A;
        use ChangeStatus as S;
        in_order(at, self.last_event_at())?;
        let status = self.status;
        if status.is_final() {
            return Err(Refused::Final {
                status: status.as_str(),
            });
        }
        if !is_staff(by) {
            return Err(Refused::NotAllowed {
                who: who(by),
                action: action.name(),
            });
        }
        let not_now = || Refused::NotNow {
            action: action.name(),
            status: status.as_str(),
        };
        let event = |kind| ChangeEvent {
            at,
            by: by.clone(),
            kind,
        };
        let moved = |from, to| event(ChangeEventKind::StatusChanged { from, to });
        let note = |body: &str| {
            event(ChangeEventKind::Commented(Comment {
                visibility: Visibility::Internal,
                body: body.to_string(),
            }))
        };
        Ok(match action {
            A::Submit => {
                if status != S::Draft {
                    return Err(not_now());
                }
                let mut out = vec![moved(S::Draft, S::Submitted)];
                if self.kind == ChangeKind::Standard {
                    // Pre-approved: its template was approved once for all.
                    out.push(moved(S::Submitted, S::Approved));
                }
                out
            }
            A::Assess { risk, impact } => {
                said("the impact", impact)?;
                if !matches!(status, S::Submitted | S::Assessed) {
                    return Err(not_now());
                }
                let mut out = vec![event(ChangeEventKind::Assessed {
                    risk: *risk,
                    impact: impact.clone(),
                })];
                if status == S::Submitted {
                    out.push(moved(S::Submitted, S::Assessed));
                }
                out
            }
            A::SendToCab { approvers, rule } => {
                if status != S::Assessed {
                    return Err(not_now());
                }
                let mut named = approvers.clone();
                named.sort();
                named.dedup();
                if named.is_empty() || named.iter().any(|a| a.trim().is_empty()) {
                    return Err(Refused::Invalid("the CAB needs at least one named approver".into()));
                }
                if let CabRule::Quorum { of } = rule
                    && (*of == 0 || *of as usize > named.len())
                {
                    return Err(Refused::Invalid(format!(
                        "a quorum of {of} cannot be reached by {} approver(s)",
                        named.len()
                    )));
                }
                vec![
                    event(ChangeEventKind::CabConvened {
                        approvers: named,
                        rule: *rule,
                    }),
                    moved(S::Assessed, S::AwaitingCab),
                ]
            }
            A::Approve { comment } | A::Reject { comment } => {
                let approve = matches!(action, A::Approve { .. });
                let voter = match by {
                    Actor::Agent(id) if self.approvers.contains(id) => id,
                    _ => {
                        return Err(Refused::NotAllowed {
                            who: who(by),
                            action: action.name(),
                        });
                    }
                };
                if status != S::AwaitingCab {
                    return Err(not_now());
                }
                if !approve {
                    said("a rejection's reason", comment)?;
                }
                if self.votes.get(voter) == Some(&approve) {
                    return Err(Refused::Invalid("that vote is recorded already".into()));
                }
                let vote = event(ChangeEventKind::Voted {
                    approve,
                    comment: comment.clone(),
                });
                let mut votes = self.votes.clone();
                votes.insert(voter.clone(), approve);
                let (yes, open) = tally(&self.approvers, &votes);
                let needed = self.rule.map_or(1, |r| r.needed(self.approvers.len()));
                let mut out = vec![vote];
                if yes >= needed {
                    out.push(moved(S::AwaitingCab, S::Approved));
                } else if yes + open < needed {
                    out.push(moved(S::AwaitingCab, S::Rejected));
                }
                out
            }
            A::Schedule {
                start,
                end,
                freezes,
                reason,
            } => {
                if !matches!(status, S::Approved | S::Scheduled) {
                    return Err(not_now());
                }
                if end <= start {
                    return Err(Refused::Invalid("a window ends after it starts".into()));
                }
                let frozen = freezes.iter().find(|f| *start < f.end && f.start < *end);
                let in_freeze = match (frozen, self.kind, reason.as_deref().map(str::trim)) {
                    (None, _, _) => None,
                    (Some(f), ChangeKind::Emergency, Some(r)) if !r.is_empty() => Some((f.name.clone(), r.to_string())),
                    (Some(f), ChangeKind::Emergency, _) => {
                        return Err(Refused::Invalid(format!(
                            "the window falls in the {} freeze: an emergency change says why to be scheduled in it",
                            f.name
                        )));
                    }
                    (Some(f), _, _) => {
                        return Err(Refused::Invalid(format!(
                            "the window falls in the {} freeze: only emergency changes may be scheduled in it",
                            f.name
                        )));
                    }
                };
                let mut out = vec![event(ChangeEventKind::Scheduled {
                    start: *start,
                    end: *end,
                    in_freeze,
                })];
                if status == S::Approved {
                    out.push(moved(S::Approved, S::Scheduled));
                }
                out
            }
            A::Start => {
                if status != S::Scheduled {
                    return Err(not_now());
                }
                vec![moved(S::Scheduled, S::Implementing)]
            }
            A::Complete => {
                if status != S::Implementing {
                    return Err(not_now());
                }
                vec![moved(S::Implementing, S::Implemented)]
            }
            A::BackOut { note: n } | A::Fail { note: n } => {
                said("what happened", n)?;
                let backing_out = matches!(action, A::BackOut { .. });
                let allowed = status == S::Implementing || (backing_out && status == S::Implemented);
                if !allowed {
                    return Err(not_now());
                }
                vec![
                    note(n),
                    moved(status, if backing_out { S::BackedOut } else { S::Failed }),
                ]
            }
            A::Review { outcome, notes } => {
                said("the review", notes)?;
                if !matches!(status, S::Implemented | S::BackedOut | S::Failed) {
                    return Err(not_now());
                }
                vec![
                    event(ChangeEventKind::Reviewed {
                        outcome: *outcome,
                        notes: notes.clone(),
                    }),
                    moved(status, S::Reviewed),
                ]
            }
            A::Close => {
                if status != S::Reviewed {
                    return Err(not_now());
                }
                vec![moved(S::Reviewed, S::Closed)]
            }
            A::Cancel { reason } => {
                said("the reason", reason)?;
                let before_work = matches!(
                    status,
                    S::Draft | S::Submitted | S::Assessed | S::AwaitingCab | S::Approved | S::Scheduled
                );
                if !before_work {
                    return Err(not_now());
                }
                vec![note(reason), moved(status, S::Cancelled)]
            }
            A::Note { body } => {
                said("a note", body)?;
                vec![note(body)]
            }
        })
    }
}

/// Approvals among `votes`, and approvers who have not voted.
fn tally(approvers: &[String], votes: &BTreeMap<String, bool>) -> (usize, usize) {
    let yes = votes.values().filter(|v| **v).count();
    let open = approvers.iter().filter(|a| !votes.contains_key(*a)).count();
    (yes, open)
}
