//! A service request: something a customer asks for from the catalogue (an
//! account, a firewall rule, a restore), not something broken.
//!
//! new → (awaiting approval) → in fulfilment → fulfilled → closed, with a
//! pause while the desk waits on the customer, and two other ends: refused
//! (by the approver) and cancelled. When the catalogue item needs an
//! approver at the customer's organisation, the request waits for one of
//! the named approvers before anyone may fulfil it. The fulfilment clock
//! runs from receipt on the organisation's calendar and pauses while
//! awaiting approval or the customer (`fulfilment`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Actor, Comment, Refused, Visibility, in_order, is_staff, said, who};
use crate::domain::calendar::{Calendar, CalendarError};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    New,
    AwaitingApproval,
    InFulfilment,
    AwaitingCustomer,
    Fulfilled,
    Closed,
    Refused,
    Cancelled,
}

impl RequestStatus {
    pub const ALL: [RequestStatus; 8] = [
        RequestStatus::New,
        RequestStatus::AwaitingApproval,
        RequestStatus::InFulfilment,
        RequestStatus::AwaitingCustomer,
        RequestStatus::Fulfilled,
        RequestStatus::Closed,
        RequestStatus::Refused,
        RequestStatus::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::New => "new",
            RequestStatus::AwaitingApproval => "awaiting_approval",
            RequestStatus::InFulfilment => "in_fulfilment",
            RequestStatus::AwaitingCustomer => "awaiting_customer",
            RequestStatus::Fulfilled => "fulfilled",
            RequestStatus::Closed => "closed",
            RequestStatus::Refused => "refused",
            RequestStatus::Cancelled => "cancelled",
        }
    }

    /// Closed, refused and cancelled take no more changes.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestStatus::Closed | RequestStatus::Refused | RequestStatus::Cancelled
        )
    }

    /// Whether the fulfilment clock is paused.
    pub fn pauses(self) -> bool {
        matches!(self, RequestStatus::AwaitingApproval | RequestStatus::AwaitingCustomer)
    }
}

/// What someone asks of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RequestAction {
    /// One of the named approvers agrees.
    Approve {
        comment: String,
    },
    /// One of the named approvers refuses: the request ends.
    Refuse {
        comment: String,
    },
    /// An agent begins the work.
    StartFulfilment,
    /// An agent needs something from the customer: the clock pauses.
    AskCustomer {
        body: String,
    },
    /// The customer writes: a request waiting on them resumes.
    CustomerReply {
        body: String,
    },
    /// An agent's public reply or internal note.
    Comment {
        visibility: Visibility,
        body: String,
    },
    /// Done, with what was done.
    Fulfil {
        note: String,
    },
    /// Not done after all (the customer or an agent says so): back to work.
    Reopen {
        reason: String,
    },
    Close,
    /// Withdrawn by the requester, or by an agent, before it is fulfilled.
    Cancel {
        reason: String,
    },
}

impl RequestAction {
    fn name(&self) -> &'static str {
        match self {
            RequestAction::Approve { .. } => "approve",
            RequestAction::Refuse { .. } => "refuse",
            RequestAction::StartFulfilment => "start fulfilment",
            RequestAction::AskCustomer { .. } => "ask the customer",
            RequestAction::CustomerReply { .. } => "reply as the customer",
            RequestAction::Comment { .. } => "comment",
            RequestAction::Fulfil { .. } => "fulfil",
            RequestAction::Reopen { .. } => "reopen",
            RequestAction::Close => "close",
            RequestAction::Cancel { .. } => "cancel",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RequestEventKind {
    Created {
        item: String,
        /// The catalogue item's version the request was made on.
        item_version: String,
        /// Who may approve (contacts, by id); empty: no approval needed.
        approvers: Vec<String>,
    },
    StatusChanged {
        from: RequestStatus,
        to: RequestStatus,
    },
    /// An approver's decision, with their words.
    Decided {
        approved: bool,
        comment: String,
    },
    Commented(Comment),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestEvent {
    pub at: DateTime<Utc>,
    pub by: Actor,
    #[serde(flatten)]
    pub kind: RequestEventKind,
}

/// A service request: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServiceRequest {
    pub item: String,
    pub item_version: String,
    pub requester: Actor,
    pub approvers: Vec<String>,
    pub received_at: DateTime<Utc>,
    pub status: RequestStatus,
    /// Who approved, when (the first approval is the one that counts).
    pub approved: Option<(Actor, DateTime<Utc>)>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub events: Vec<RequestEvent>,
}

/// Why a history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestReplayError {
    #[error("a request's history must start with its creation")]
    NotCreatedFirst,
}

impl ServiceRequest {
    /// A request for catalogue `item` (at `item_version`), received at `at`
    /// from `by`; awaiting approval at once when the item names approvers.
    pub fn raise(
        at: DateTime<Utc>,
        by: Actor,
        item: &str,
        item_version: &str,
        approvers: Vec<String>,
    ) -> Vec<RequestEvent> {
        let waits = !approvers.is_empty();
        let mut events = vec![RequestEvent {
            at,
            by: by.clone(),
            kind: RequestEventKind::Created {
                item: item.into(),
                item_version: item_version.into(),
                approvers,
            },
        }];
        if waits {
            events.push(RequestEvent {
                at,
                by: Actor::System,
                kind: RequestEventKind::StatusChanged {
                    from: RequestStatus::New,
                    to: RequestStatus::AwaitingApproval,
                },
            });
        }
        events
    }

    pub fn replay(events: &[RequestEvent]) -> Result<ServiceRequest, RequestReplayError> {
        let Some(RequestEvent {
            at,
            by,
            kind:
                RequestEventKind::Created {
                    item,
                    item_version,
                    approvers,
                },
        }) = events.first()
        else {
            return Err(RequestReplayError::NotCreatedFirst);
        };
        let mut r = ServiceRequest {
            item: item.clone(),
            item_version: item_version.clone(),
            requester: by.clone(),
            approvers: approvers.clone(),
            received_at: *at,
            status: RequestStatus::New,
            approved: None,
            fulfilled_at: None,
            events: vec![events[0].clone()],
        };
        for e in &events[1..] {
            r.evolve(e);
        }
        Ok(r)
    }

    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.events.last().map_or(self.received_at, |e| e.at)
    }

    /// Folds one event in. Events are facts: this never fails.
    pub fn evolve(&mut self, e: &RequestEvent) {
        match &e.kind {
            RequestEventKind::Created { .. } | RequestEventKind::Commented(_) => {}
            RequestEventKind::StatusChanged { to, .. } => {
                self.status = *to;
                match to {
                    RequestStatus::Fulfilled => self.fulfilled_at = Some(e.at),
                    RequestStatus::InFulfilment => self.fulfilled_at = None,
                    _ => {}
                }
            }
            RequestEventKind::Decided { approved, .. } => {
                if *approved && self.approved.is_none() {
                    self.approved = Some((e.by.clone(), e.at));
                }
            }
        }
        self.events.push(e.clone());
    }

    /// Whether `by` is one of the request's approvers.
    pub fn may_approve(&self, by: &Actor) -> bool {
        matches!(by, Actor::Customer(id) if self.approvers.iter().any(|a| a == id))
    }

    /// The events a command records, or why it is refused.
    pub fn decide(&self, at: DateTime<Utc>, by: &Actor, action: &RequestAction) -> Result<Vec<RequestEvent>, Refused> {
        use RequestAction as A;
        use RequestStatus as S;
        in_order(at, self.last_event_at())?;
        let status = self.status;
        if status.is_final() {
            return Err(Refused::Final {
                status: status.as_str(),
            });
        }
        let not_now = || Refused::NotNow {
            action: action.name(),
            status: status.as_str(),
        };
        let staff_only = || -> Result<(), Refused> {
            if is_staff(by) {
                Ok(())
            } else {
                Err(Refused::NotAllowed {
                    who: who(by),
                    action: action.name(),
                })
            }
        };
        let event = |kind| RequestEvent {
            at,
            by: by.clone(),
            kind,
        };
        let moved = |to| event(RequestEventKind::StatusChanged { from: status, to });
        Ok(match action {
            A::Approve { comment } | A::Refuse { comment } => {
                if !self.may_approve(by) {
                    return Err(Refused::NotAllowed {
                        who: who(by),
                        action: action.name(),
                    });
                }
                if status != S::AwaitingApproval {
                    return Err(not_now());
                }
                let approved = matches!(action, A::Approve { .. });
                if !approved {
                    said("a refusal's reason", comment)?;
                }
                let decided = event(RequestEventKind::Decided {
                    approved,
                    comment: comment.clone(),
                });
                vec![decided, moved(if approved { S::InFulfilment } else { S::Refused })]
            }
            A::StartFulfilment => {
                staff_only()?;
                if status != S::New {
                    return Err(not_now());
                }
                vec![moved(S::InFulfilment)]
            }
            A::AskCustomer { body } => {
                staff_only()?;
                said("the question", body)?;
                if status != S::InFulfilment && status != S::New {
                    return Err(not_now());
                }
                let asked = event(RequestEventKind::Commented(Comment {
                    visibility: Visibility::Public,
                    body: body.clone(),
                }));
                vec![asked, moved(S::AwaitingCustomer)]
            }
            A::CustomerReply { body } => {
                if !matches!(by, Actor::Customer(_)) {
                    return Err(Refused::NotAllowed {
                        who: who(by),
                        action: action.name(),
                    });
                }
                said("a reply", body)?;
                let reply = event(RequestEventKind::Commented(Comment {
                    visibility: Visibility::Public,
                    body: body.clone(),
                }));
                if status == S::AwaitingCustomer {
                    vec![reply, moved(S::InFulfilment)]
                } else {
                    vec![reply]
                }
            }
            A::Comment { visibility, body } => {
                staff_only()?;
                said("a comment", body)?;
                vec![event(RequestEventKind::Commented(Comment {
                    visibility: *visibility,
                    body: body.clone(),
                }))]
            }
            A::Fulfil { note } => {
                staff_only()?;
                said("what was done", note)?;
                if !matches!(status, S::InFulfilment | S::New | S::AwaitingCustomer) {
                    return Err(not_now());
                }
                let told = event(RequestEventKind::Commented(Comment {
                    visibility: Visibility::Public,
                    body: note.clone(),
                }));
                vec![told, moved(S::Fulfilled)]
            }
            A::Reopen { reason } => {
                said("the reason", reason)?;
                let theirs = matches!(by, Actor::Customer(_)) && *by == self.requester;
                if !theirs && !is_staff(by) {
                    return Err(Refused::NotAllowed {
                        who: who(by),
                        action: action.name(),
                    });
                }
                if status != S::Fulfilled {
                    return Err(not_now());
                }
                let why = event(RequestEventKind::Commented(Comment {
                    visibility: Visibility::Public,
                    body: reason.clone(),
                }));
                vec![why, moved(S::InFulfilment)]
            }
            A::Close => {
                staff_only()?;
                if status != S::Fulfilled {
                    return Err(not_now());
                }
                vec![moved(S::Closed)]
            }
            A::Cancel { reason } => {
                said("the reason", reason)?;
                let theirs = *by == self.requester;
                if !theirs && !is_staff(by) {
                    return Err(Refused::NotAllowed {
                        who: who(by),
                        action: action.name(),
                    });
                }
                if status == S::Fulfilled {
                    return Err(not_now());
                }
                let why = event(RequestEventKind::Commented(Comment {
                    visibility: Visibility::Public,
                    body: reason.clone(),
                }));
                vec![why, moved(S::Cancelled)]
            }
        })
    }

    /// The intervals the fulfilment clock is paused, in time order: while
    /// awaiting approval or the customer (up to `now` for one still open).
    pub fn pauses(&self, now: DateTime<Utc>) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        let mut out = Vec::new();
        let mut since: Option<DateTime<Utc>> = None;
        for e in &self.events {
            if let RequestEventKind::StatusChanged { from, to } = e.kind {
                if to.pauses() && !from.pauses() {
                    since = Some(e.at);
                } else if from.pauses()
                    && !to.pauses()
                    && let Some(s) = since.take()
                {
                    out.push((s, e.at));
                }
            }
        }
        if let Some(s) = since
            && now > s
        {
            out.push((s, now));
        }
        out
    }

    /// The fulfilment clock at `now`: business seconds counted on `cal`
    /// from receipt to fulfilment (or `now`), less the paused ones, against
    /// a target of `target_seconds`.
    pub fn fulfilment(
        &self,
        cal: &Calendar,
        target_seconds: i64,
        now: DateTime<Utc>,
    ) -> Result<Fulfilment, CalendarError> {
        let end = self.fulfilled_at.unwrap_or(now).max(self.received_at);
        let mut elapsed = cal.between_seconds(self.received_at.timestamp(), end.timestamp())?;
        for (a, b) in self.pauses(end) {
            let (a, b) = (a.max(self.received_at), b.min(end));
            if b > a {
                elapsed -= cal.between_seconds(a.timestamp(), b.timestamp())?;
            }
        }
        let elapsed = elapsed.max(0);
        let state = match (self.fulfilled_at, self.status) {
            (_, RequestStatus::Refused | RequestStatus::Cancelled) => FulfilmentState::Ended,
            (Some(_), _) if elapsed <= target_seconds => FulfilmentState::Met,
            (Some(_), _) => FulfilmentState::Missed,
            (None, s) if s.pauses() => FulfilmentState::Paused,
            (None, _) if elapsed > target_seconds => FulfilmentState::Breached,
            (None, _) => FulfilmentState::Running,
        };
        // Due: the business time left, added to now (paused: unknown).
        let due_at = match state {
            FulfilmentState::Running | FulfilmentState::Breached => {
                let left = target_seconds - elapsed;
                Some(DateTime::from_timestamp(cal.add_seconds(now.timestamp(), left.max(0))?, 0).unwrap_or(now))
            }
            _ => None,
        };
        Ok(Fulfilment {
            elapsed_seconds: elapsed,
            target_seconds,
            state,
            due_at,
        })
    }
}

/// Where a request's fulfilment clock stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FulfilmentState {
    Running,
    Paused,
    Breached,
    Met,
    Missed,
    /// Refused or cancelled: counts neither way.
    Ended,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fulfilment {
    pub elapsed_seconds: i64,
    pub target_seconds: i64,
    pub state: FulfilmentState,
    /// When it falls due if nothing pauses it (running or breached only).
    pub due_at: Option<DateTime<Utc>>,
}
