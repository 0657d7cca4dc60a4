//! Approval of service requests at the customer's organisation: who is
//! named to approve an item (nobody, the account contact, or a colleague
//! the requester names), the approval mail, a decision read from the first
//! line of the approver's reply, and the requests waiting on a contact.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::requests::answer_views;
use super::{Located, RequestCommand, record};
use crate::app::outbox::{Queued, greeting, new_message_id, queue_mail};
use crate::app::{App, AppError, Principal, invalid};
use crate::domain::itil::catalogue::{Answer, Approval, Item};
use crate::domain::itil::request::{RequestStatus, ServiceRequest};
use crate::store::DbConnection;
use crate::store::models::{Organisation, User};
use crate::store::schema::{itil_records, users};

impl App {
    /// Asks one approver by mail; a reply to it is their decision.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn ask_approval(
        &self,
        c: &mut DbConnection,
        at: &Located,
        item: &Item,
        answers: &BTreeMap<String, Answer>,
        requester: &User,
        approver: &User,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let context = serde_json::json!({
            "reference": at.reference,
            "greeting": greeting(approver),
            "requester_name": requester.name,
            "item_name": item.name,
            "answers": answer_views(item, answers),
            "ticket_url": self.ticket_url(&at.reference),
            "desk_name": "The service desk",
        });
        let message_id = new_message_id(&at.reference, "approval");
        queue_mail(
            c,
            Queued {
                ticket_id: Some(at.id),
                kind: "approval_request",
                to: &approver.email,
                message_id: &message_id,
                in_reply_to: None,
                context: &context,
            },
            now,
        )
    }

    /// A decision by mail from `who` on `reference`, inside intake's
    /// transaction: true when it was one (the ticket is a request awaiting
    /// approval and `who` is named to approve it), false to treat the mail
    /// as a reply like any other.
    pub(crate) fn decide_by_mail(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        decision: &RequestCommand,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let at = self.locate(c, who, reference)?;
        if record::type_of(c, at.id)? != crate::domain::itil::TicketType::ServiceRequest {
            return Ok(false);
        }
        let r: ServiceRequest = record::load(c, at.id, &at.reference)?;
        if r.status != RequestStatus::AwaitingApproval || !r.may_approve(&crate::app::tickets::actor_of(who)) {
            return Ok(false);
        }
        self.act_on_request_in(c, who, &at, decision, now)?;
        Ok(true)
    }

    /// The requests a contact is named to approve and that wait on them.
    pub fn awaiting_my_approval(&self, who: &Principal) -> Result<Vec<(String, String)>, AppError> {
        use crate::store::schema::{ticket_watchers, tickets};
        let mut conn = self.conn()?;
        let rows: Vec<(i64, String, String)> = tickets::table
            .inner_join(itil_records::table)
            .inner_join(ticket_watchers::table)
            .filter(ticket_watchers::user_id.eq(who.user_id))
            .filter(itil_records::status.eq("awaiting_approval"))
            .order(tickets::id)
            .select((tickets::id, tickets::reference, tickets::subject))
            .limit(100)
            .load(&mut conn)?;
        let me = crate::app::tickets::actor_of(who);
        let mut out = Vec::new();
        for (id, reference, subject) in rows {
            let r: ServiceRequest = record::load(&mut conn, id, &reference)?;
            if r.may_approve(&me) {
                out.push((reference, subject));
            }
        }
        Ok(out)
    }
}

/// Who approves a request for `item` at `org`: nobody, the account contact,
/// or the colleague the requester named; each an active contact there.
pub(super) fn approvers_for(
    c: &mut DbConnection,
    item: &Item,
    org: &Organisation,
    requester: &User,
    named: Option<&str>,
) -> Result<Vec<User>, AppError> {
    let contact = |c: &mut DbConnection, email: &str, field: &str| -> Result<User, AppError> {
        let key = email.trim().to_ascii_lowercase();
        let u: Option<User> = users::table
            .filter(users::email_key.eq(&key))
            .select(User::as_select())
            .first(c)
            .optional()?;
        match u {
            Some(u) if u.organisation_id == Some(org.id) && u.role == "customer" && !u.disabled => Ok(u),
            _ => Err(invalid(
                field,
                format!("'{email}' is not an active contact of {}", org.name),
            )),
        }
    };
    match item.approval {
        Approval::None => {
            if named.is_some_and(|n| !n.trim().is_empty()) {
                return Err(invalid("approver", "this item needs no approval: leave it out"));
            }
            Ok(Vec::new())
        }
        Approval::AccountContact => {
            let email = org
                .account_contact
                .clone()
                .filter(|e| !e.trim().is_empty())
                .ok_or_else(|| {
                    AppError::Conflict(format!(
                        "{} has no account contact to approve '{}': ask the service desk to name one",
                        org.name, item.name
                    ))
                })?;
            let u = contact(c, &email, "approver")?;
            Ok(vec![u])
        }
        Approval::AnotherContact => {
            let email = named
                .filter(|n| !n.trim().is_empty())
                .ok_or_else(|| invalid("approver", "name a colleague to approve it"))?;
            let u = contact(c, email, "approver")?;
            if u.id == requester.id {
                return Err(invalid("approver", "someone other than the requester must approve it"));
            }
            Ok(vec![u])
        }
    }
}

/// A decision read from the first line of an approver's mail reply:
/// "approve" (or "approved", "yes") or "refuse" ("refused", "reject",
/// "no"); the rest of the mail is the comment.
pub fn decision_in_mail(body: &str) -> Option<RequestCommand> {
    let mut lines = body.lines().skip_while(|l| l.trim().is_empty());
    let first = lines.next()?.trim().trim_end_matches(['.', '!']).to_ascii_lowercase();
    let rest: Vec<&str> = lines
        .take_while(|l| !l.starts_with('>') && !l.starts_with("On "))
        .collect();
    let comment = rest.join("\n").trim().to_string();
    match first.as_str() {
        "approve" | "approved" | "yes" | "i approve" => Some(RequestCommand::Approve { comment }),
        "refuse" | "refused" | "reject" | "rejected" | "no" | "i refuse" => Some(RequestCommand::Refuse {
            comment: if comment.is_empty() {
                "Refused by mail.".into()
            } else {
                comment
            },
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_is_read_from_the_first_line() {
        assert!(matches!(
            decision_in_mail("Approve\n\nFine by me.\n\nOn Monday someone wrote:\n> old"),
            Some(RequestCommand::Approve { comment }) if comment == "Fine by me."
        ));
        assert!(matches!(
            decision_in_mail("\nrefused.\nNot in budget"),
            Some(RequestCommand::Refuse { comment }) if comment == "Not in budget"
        ));
        assert!(matches!(
            decision_in_mail("No"),
            Some(RequestCommand::Refuse { comment }) if comment == "Refused by mail."
        ));
        assert!(decision_in_mail("Can you tell me more?\napprove").is_none());
    }
}
