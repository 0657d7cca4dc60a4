//! The ticket lifecycle as a pure state machine over timestamped commands.
//!
//! `Ticket::decide` checks a command against the current state and returns
//! the events it produces (or why it is refused); `Ticket::evolve` folds an
//! event into the state. A ticket is the fold of its events, so replaying
//! the same history always gives the same ticket. Clocks are computed from
//! the events in `clock.rs` beside this file; nothing here reads the system
//! clock. Severity, status and the other shared words are in
//! `domain::vocabulary`; the actions and events are here, with the two
//! functions over them, `decide` (one match over status × action) and
//! `evolve`, read together to answer "can this happen, and what does it
//! record?". Its properties are tested in `tests/lifecycle_props.rs`.
//! Why this file is long: the actions, the events, `decide` and `evolve`
//! are one story, and split apart each would be read with the others open.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::clock::{self, AlertKey, SlaError};
use crate::domain::policy::{CalendarChoice, Policy, PolicyCalendars};
pub use crate::domain::vocabulary::{Actor, AlertLevel, ClockKind, Severity, Status, Visibility};

/// What someone asks of a ticket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Action {
    /// A public reply by an agent: the first one stops the response clock.
    AgentReply {
        body: String,
    },
    /// An internal note: never seen by the customer, stops nothing.
    InternalNote {
        body: String,
    },
    /// A reply from the customer: resumes a ticket waiting on them.
    CustomerReply {
        body: String,
    },
    /// A public message sladesk sends by itself (an acknowledgement): not a response.
    Notice {
        body: String,
    },
    Assign {
        to: Option<String>,
    },
    /// Moves the ticket to another queue: routing only, no clock changes.
    MoveQueue {
        to: String,
    },
    SetStatus {
        to: Status,
    },
    SetSeverity {
        to: Severity,
    },
    Resolve,
    Reopen,
    Close,
    Cancel,
    /// The scheduler's look: records warnings and breaches that have fallen due.
    Tick,
    /// Moves the ticket onto the policy version given in the context (an
    /// operator's deliberate recompute after a policy or holiday change).
    /// The clocks are then computed from the original start on that version.
    Recompute,
    /// Takes in a duplicate (an agent's merge): its receipt, when earlier,
    /// becomes this ticket's, so its customer loses no time; its public
    /// messages are copied in with their authors and first times.
    Absorb {
        from: String,
        received_at: DateTime<Utc>,
        messages: Vec<CopiedMessage>,
    },
}

/// A public message of a merged duplicate, as first written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopiedMessage {
    pub by: Actor,
    pub at: DateTime<Utc>,
    pub body: String,
}

/// What someone asks of a ticket, when and as whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    pub at: DateTime<Utc>,
    pub by: Actor,
    #[serde(flatten)]
    pub action: Action,
}

/// What happened to a ticket, when and by whom: the history the clocks are
/// computed from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub by: Actor,
    #[serde(flatten)]
    pub kind: EventKind,
}

/// The kinds of event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    Created {
        severity: Severity,
        policy: String,
        policy_version: String,
        #[serde(default)]
        queue: Option<String>,
    },
    QueueChanged {
        from: Option<String>,
        to: String,
    },
    Commented {
        visibility: Visibility,
        body: String,
    },
    AssigneeChanged {
        from: Option<String>,
        to: Option<String>,
    },
    StatusChanged {
        from: Status,
        to: Status,
    },
    SeverityChanged {
        from: Severity,
        to: Severity,
    },
    /// The ticket's clocks now run on another policy version (or were
    /// recomputed on the same one after a holiday change).
    PolicyChanged {
        from_policy: String,
        from_version: String,
        policy: String,
        version: String,
    },
    /// A duplicate was merged in; the receipt counted from is the earlier
    /// of the two.
    Merged {
        from: String,
        received_at: DateTime<Utc>,
    },
    /// A public message copied from a merged duplicate (by its author; first
    /// written at `original_at`). Not a response: it stops no clock.
    Copied {
        from: String,
        original_at: DateTime<Utc>,
        body: String,
    },
    /// A warning or breach, recorded once, with the instant it truly fell due.
    AlertRecorded {
        clock: ClockKind,
        level: AlertLevel,
        severity: Severity,
        due_at: DateTime<Utc>,
    },
}

/// Why a command was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    #[error("the ticket is {0}: it takes no more {1}")]
    Final(Status, &'static str),
    #[error("cannot {action} a ticket that is {status}")]
    InvalidTransition { action: &'static str, status: Status },
    #[error("{0} cannot {1}")]
    NotAllowed(&'static str, &'static str),
    #[error("the command at {at} is earlier than the ticket's last event at {last}")]
    OutOfOrder { at: DateTime<Utc>, last: DateTime<Utc> },
    #[error("the reopen window ({window}) closed at {closed_at}")]
    ReopenWindowPassed { window: String, closed_at: DateTime<Utc> },
    #[error("nothing to change: the ticket is already {0}")]
    Unchanged(String),
    #[error("use {0} instead")]
    UseInstead(&'static str),
    #[error("the ticket runs on policy {ticket} but {given} was given")]
    PolicyMismatch { ticket: String, given: String },
    #[error(transparent)]
    Sla(#[from] SlaError),
}

/// The policy version and compiled calendars a ticket's clocks run on.
#[derive(Clone, Copy)]
pub struct SlaContext<'a> {
    pub policy: &'a Policy,
    pub calendars: &'a PolicyCalendars,
}

impl SlaContext<'_> {
    /// The calendar a severity's clocks count in.
    pub fn calendar(&self, severity: Severity) -> &crate::domain::calendar::Calendar {
        self.calendars.get(self.policy.targets(severity).calendar)
    }

    /// The policy's business-hours calendar.
    pub fn business(&self) -> &crate::domain::calendar::Calendar {
        self.calendars.get(CalendarChoice::Business)
    }
}

/// Why a stored history cannot be replayed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("a ticket's history must start with its creation")]
    NotCreatedFirst,
    #[error("a ticket's history has a second creation at event {0}")]
    CreatedTwice(usize),
}

/// A ticket: the fold of its events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub policy: String,
    pub policy_version: String,
    pub received_at: DateTime<Utc>,
    pub severity: Severity,
    pub status: Status,
    pub assignee: Option<String>,
    pub queue: Option<String>,
    /// The first public reply by an agent, or the resolution if none came before it.
    pub first_response_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub reopen_count: u32,
    pub alerts: BTreeSet<AlertKey>,
    pub events: Vec<Event>,
}

impl Ticket {
    /// A new ticket received at `at` (for email: when our intake received it).
    pub fn create(at: DateTime<Utc>, by: Actor, severity: Severity, policy: &Policy) -> Ticket {
        Ticket::create_in(at, by, severity, policy, None)
    }

    /// A new ticket received at `at` into `queue`.
    pub fn create_in(
        at: DateTime<Utc>,
        by: Actor,
        severity: Severity,
        policy: &Policy,
        queue: Option<String>,
    ) -> Ticket {
        let event = Event {
            at,
            by,
            kind: EventKind::Created {
                severity,
                policy: policy.name.clone(),
                policy_version: policy.version.clone(),
                queue,
            },
        };
        Ticket::from_created(&event).expect("a created event")
    }

    fn from_created(event: &Event) -> Option<Ticket> {
        let EventKind::Created {
            severity,
            policy,
            policy_version,
            queue,
        } = &event.kind
        else {
            return None;
        };
        Some(Ticket {
            policy: policy.clone(),
            policy_version: policy_version.clone(),
            received_at: event.at,
            severity: *severity,
            status: Status::New,
            assignee: None,
            queue: queue.clone(),
            first_response_at: None,
            resolved_at: None,
            reopen_count: 0,
            alerts: BTreeSet::new(),
            events: vec![event.clone()],
        })
    }

    /// Rebuilds a ticket from its whole history.
    pub fn replay(events: &[Event]) -> Result<Ticket, ReplayError> {
        let first = events.first().ok_or(ReplayError::NotCreatedFirst)?;
        let mut t = Ticket::from_created(first).ok_or(ReplayError::NotCreatedFirst)?;
        for (i, e) in events.iter().enumerate().skip(1) {
            if matches!(e.kind, EventKind::Created { .. }) {
                return Err(ReplayError::CreatedTwice(i));
            }
            t.evolve(e);
        }
        Ok(t)
    }

    /// The instant of the latest event (its receipt when it has none).
    pub fn last_event_at(&self) -> DateTime<Utc> {
        self.events.last().map(|e| e.at).unwrap_or(self.received_at)
    }

    /// Folds one event into the state. Events are facts: this never fails.
    pub fn evolve(&mut self, event: &Event) {
        match &event.kind {
            EventKind::Created { .. } => {}
            EventKind::Commented { visibility, .. } => {
                if *visibility == Visibility::Public
                    && matches!(event.by, Actor::Agent(_))
                    && self.first_response_at.is_none()
                {
                    self.first_response_at = Some(event.at);
                }
            }
            EventKind::AssigneeChanged { to, .. } => self.assignee = to.clone(),
            EventKind::QueueChanged { to, .. } => self.queue = Some(to.clone()),
            EventKind::StatusChanged { from, to } => {
                self.status = *to;
                if *to == Status::Resolved {
                    self.resolved_at = Some(event.at);
                    self.first_response_at.get_or_insert(event.at);
                }
                if *from == Status::Resolved && *to == Status::Open {
                    self.reopen_count += 1;
                }
            }
            EventKind::SeverityChanged { to, .. } => self.severity = *to,
            EventKind::Merged { received_at, .. } => self.received_at = self.received_at.min(*received_at),
            EventKind::Copied { .. } => {}
            EventKind::PolicyChanged { policy, version, .. } => {
                self.policy = policy.clone();
                self.policy_version = version.clone();
            }
            EventKind::AlertRecorded {
                clock, level, severity, ..
            } => {
                self.alerts.insert(AlertKey {
                    clock: *clock,
                    level: *level,
                    severity: *severity,
                });
            }
        }
        self.events.push(event.clone());
    }

    /// The events a command produces, or why it is refused.
    pub fn decide(&self, cmd: &Command, ctx: &SlaContext) -> Result<Vec<Event>, CommandError> {
        use Action::*;
        let recompute = matches!(cmd.action, Action::Recompute);
        if !recompute && (ctx.policy.version != self.policy_version || ctx.policy.name != self.policy) {
            return Err(CommandError::PolicyMismatch {
                ticket: format!("{}@{}", self.policy, self.policy_version),
                given: format!("{}@{}", ctx.policy.name, ctx.policy.version),
            });
        }
        let last = self.last_event_at();
        if cmd.at < last {
            return Err(CommandError::OutOfOrder { at: cmd.at, last });
        }
        let ev = |kind| Event {
            at: cmd.at,
            by: cmd.by.clone(),
            kind,
        };
        let status_to = |to| ev(EventKind::StatusChanged { from: self.status, to });
        let is_agent = matches!(cmd.by, Actor::Agent(_));
        let agents_only = |what: &'static str| -> Result<(), CommandError> {
            match cmd.by {
                Actor::Agent(_) => Ok(()),
                Actor::Customer(_) => Err(CommandError::NotAllowed("a customer", what)),
                Actor::System => Err(CommandError::NotAllowed("the system", what)),
            }
        };
        let not_final = |what: &'static str| -> Result<(), CommandError> {
            if self.status.is_final() {
                Err(CommandError::Final(self.status, what))
            } else {
                Ok(())
            }
        };

        let mut out = Vec::new();
        match &cmd.action {
            AgentReply { body } => {
                agents_only("post an agent reply")?;
                not_final("replies")?;
                out.push(ev(EventKind::Commented {
                    visibility: Visibility::Public,
                    body: body.clone(),
                }));
                if self.status == Status::New {
                    out.push(status_to(Status::Open));
                }
            }
            InternalNote { body } => {
                // sladesk writes notes too (what intake or the scheduler saw).
                if matches!(cmd.by, Actor::Customer(_)) {
                    return Err(CommandError::NotAllowed("a customer", "write an internal note"));
                }
                out.push(ev(EventKind::Commented {
                    visibility: Visibility::Internal,
                    body: body.clone(),
                }));
            }
            CustomerReply { body } => {
                if is_agent {
                    return Err(CommandError::UseInstead("agent_reply for an agent's reply"));
                }
                if cmd.by == Actor::System {
                    return Err(CommandError::UseInstead("notice for sladesk's own messages"));
                }
                not_final("replies")?;
                out.push(ev(EventKind::Commented {
                    visibility: Visibility::Public,
                    body: body.clone(),
                }));
                if self.status == Status::PendingCustomer {
                    out.push(status_to(Status::Open));
                }
            }
            Notice { body } => {
                if cmd.by != Actor::System {
                    return Err(CommandError::UseInstead("agent_reply or customer_reply"));
                }
                not_final("notices")?;
                out.push(ev(EventKind::Commented {
                    visibility: Visibility::Public,
                    body: body.clone(),
                }));
            }
            Assign { to } => {
                agents_only("assign a ticket")?;
                not_final("changes")?;
                if *to == self.assignee {
                    return Err(CommandError::Unchanged(match to {
                        Some(a) => format!("assigned to {a}"),
                        None => "unassigned".into(),
                    }));
                }
                out.push(ev(EventKind::AssigneeChanged {
                    from: self.assignee.clone(),
                    to: to.clone(),
                }));
                if self.status == Status::New && to.is_some() {
                    out.push(status_to(Status::Open));
                }
            }
            MoveQueue { to } => {
                agents_only("move a ticket to another queue")?;
                not_final("changes")?;
                if self.queue.as_ref() == Some(to) {
                    return Err(CommandError::Unchanged(format!("in queue {to}")));
                }
                out.push(ev(EventKind::QueueChanged {
                    from: self.queue.clone(),
                    to: to.clone(),
                }));
            }
            SetStatus { to } => {
                agents_only("change a ticket's status")?;
                not_final("changes")?;
                match to {
                    Status::New => {
                        return Err(CommandError::InvalidTransition {
                            action: "move back to new",
                            status: self.status,
                        });
                    }
                    Status::Resolved => return Err(CommandError::UseInstead("resolve")),
                    Status::Closed => return Err(CommandError::UseInstead("close")),
                    Status::Cancelled => return Err(CommandError::UseInstead("cancel")),
                    _ => {}
                }
                if self.status == Status::Resolved {
                    return Err(CommandError::UseInstead("reopen"));
                }
                if *to == self.status {
                    return Err(CommandError::Unchanged(to.to_string()));
                }
                out.push(status_to(*to));
            }
            SetSeverity { to } => {
                agents_only("change a ticket's severity")?;
                not_final("changes")?;
                if *to == self.severity {
                    return Err(CommandError::Unchanged(format!("severity {to}")));
                }
                out.push(ev(EventKind::SeverityChanged {
                    from: self.severity,
                    to: *to,
                }));
            }
            Resolve => {
                agents_only("resolve a ticket")?;
                if self.status.stops_clocks() {
                    return Err(CommandError::InvalidTransition {
                        action: "resolve",
                        status: self.status,
                    });
                }
                out.push(status_to(Status::Resolved));
            }
            Reopen => {
                // Customers ask (DESIGN: they change no status); an agent decides.
                agents_only("reopen a ticket")?;
                if self.status != Status::Resolved {
                    return Err(CommandError::InvalidTransition {
                        action: "reopen",
                        status: self.status,
                    });
                }
                if let (Some(resolved_at), Some(window)) = (
                    self.resolved_at,
                    ctx.policy
                        .reopen_window
                        .to_seconds(ctx.business().standard_day_seconds()),
                ) {
                    let closes = ctx
                        .business()
                        .add_seconds(resolved_at.timestamp(), window)
                        .map_err(SlaError::from)?;
                    if cmd.at.timestamp() > closes {
                        return Err(CommandError::ReopenWindowPassed {
                            window: ctx.policy.reopen_window.to_string(),
                            closed_at: DateTime::from_timestamp(closes, 0).unwrap_or(cmd.at),
                        });
                    }
                }
                out.push(status_to(Status::Open));
            }
            Close => {
                if cmd.by != Actor::System {
                    agents_only("close a ticket")?;
                }
                if self.status != Status::Resolved {
                    return Err(CommandError::InvalidTransition {
                        action: "close",
                        status: self.status,
                    });
                }
                out.push(status_to(Status::Closed));
            }
            Cancel => {
                agents_only("cancel a ticket")?;
                if self.status.stops_clocks() {
                    return Err(CommandError::InvalidTransition {
                        action: "cancel",
                        status: self.status,
                    });
                }
                out.push(status_to(Status::Cancelled));
            }
            Recompute => {
                if matches!(cmd.by, Actor::Customer(_)) {
                    return Err(CommandError::NotAllowed("a customer", "recompute a ticket's SLA"));
                }
                if self.status.is_final() {
                    return Err(CommandError::Final(self.status, "recomputes"));
                }
                out.push(ev(EventKind::PolicyChanged {
                    from_policy: self.policy.clone(),
                    from_version: self.policy_version.clone(),
                    policy: ctx.policy.name.clone(),
                    version: ctx.policy.version.clone(),
                }));
            }
            Tick => {
                if cmd.by != Actor::System {
                    return Err(CommandError::NotAllowed("only the scheduler", "tick a ticket"));
                }
                let sla = clock::sla(self, ctx, cmd.at)?;
                for alert in sla.pending_alerts {
                    if alert.due_at <= cmd.at {
                        out.push(ev(EventKind::AlertRecorded {
                            clock: alert.key.clock,
                            level: alert.key.level,
                            severity: alert.key.severity,
                            due_at: alert.due_at,
                        }));
                    }
                }
            }
            Absorb {
                from,
                received_at,
                messages,
            } => {
                agents_only("merge a ticket into another")?;
                not_final("merges")?;
                out.push(ev(EventKind::Merged {
                    from: from.clone(),
                    received_at: *received_at,
                }));
                for m in messages {
                    out.push(Event {
                        at: cmd.at,
                        by: m.by.clone(),
                        kind: EventKind::Copied {
                            from: from.clone(),
                            original_at: m.at,
                            body: m.body.clone(),
                        },
                    });
                }
            }
        }
        Ok(out)
    }

    /// Applies a command: the events it produced and the new state.
    pub fn apply(&self, cmd: &Command, ctx: &SlaContext) -> Result<(Ticket, Vec<Event>), CommandError> {
        let events = self.decide(cmd, ctx)?;
        let mut next = self.clone();
        for e in &events {
            next.evolve(e);
        }
        Ok((next, events))
    }

    /// Whether a given clock alert has been recorded already.
    pub fn has_alert(&self, clock: ClockKind, level: AlertLevel, severity: Severity) -> bool {
        self.alerts.contains(&AlertKey { clock, level, severity })
    }
}
