//! What may be done to a ticket now, by whom: each candidate command put to
//! the same rules that decide it (`Ticket::decide`), so the pages offer
//! exactly the moves that would then be accepted, and nothing that would
//! fail.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::ticket::{Action, Actor, Command, Severity, SlaContext, Status, Ticket};

/// The moves open to one actor on one ticket at one instant.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Moves {
    /// A public reply (an agent's, or the customer's).
    pub reply: bool,
    /// An internal note.
    pub note: bool,
    /// Assign or unassign.
    pub assign: bool,
    /// Move to another queue.
    pub move_queue: bool,
    /// The statuses it may be set to directly (not its own).
    pub statuses: Vec<Status>,
    /// The severities it may be changed to (not its own).
    pub severities: Vec<Severity>,
    pub resolve: bool,
    pub reopen: bool,
    pub close: bool,
    pub cancel: bool,
}

/// The statuses a person may set directly; the others have their own
/// commands (resolve, reopen, close, cancel) or are the system's (new).
const SETTABLE: [Status; 3] = [Status::Open, Status::PendingCustomer, Status::PendingThirdParty];

impl Ticket {
    /// The moves `by` may make at `at` (at the earliest, just after the
    /// ticket's last event, as a change would be applied).
    pub fn moves(&self, by: &Actor, at: DateTime<Utc>, ctx: &SlaContext) -> Moves {
        let at = at.max(self.last_event_at());
        let ok = |action: Action| {
            self.decide(
                &Command {
                    at,
                    by: by.clone(),
                    action,
                },
                ctx,
            )
            .is_ok()
        };
        let body = || "(a text)".to_string();
        let reply = match by {
            Actor::Customer(_) => ok(Action::CustomerReply { body: body() }),
            _ => ok(Action::AgentReply { body: body() }),
        };
        // Assigning to someone it is not assigned to: a name no one has.
        let other = Some(format!("{}\u{0}", self.assignee.clone().unwrap_or_default()));
        let other_queue = format!("{}\u{0}", self.queue.clone().unwrap_or_default());
        Moves {
            reply,
            note: ok(Action::InternalNote { body: body() }),
            assign: ok(Action::Assign { to: other }),
            move_queue: ok(Action::MoveQueue { to: other_queue }),
            statuses: SETTABLE
                .into_iter()
                .filter(|s| ok(Action::SetStatus { to: *s }))
                .collect(),
            severities: [Severity::S1, Severity::S2, Severity::S3, Severity::S4]
                .into_iter()
                .filter(|s| ok(Action::SetSeverity { to: *s }))
                .collect(),
            resolve: ok(Action::Resolve),
            reopen: ok(Action::Reopen),
            close: ok(Action::Close),
            cancel: ok(Action::Cancel),
        }
    }
}
