//! Changes: raised by staff for an organisation, assessed, decided by the
//! CAB by its rule (all, any, or a quorum), scheduled in a window outside
//! the change freezes (an emergency may enter one, saying why), worked and
//! reviewed. Scheduling a change that names services records their
//! planned maintenance through the outages (`create_outage_in`): the
//! status page and its subscribers hear of it, and availability counts it
//! as planned only if it was announced the policy's notice ahead, as the
//! credit rules already say. The calendar and the CAB's agenda are here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::calendar::freezes_between;
use super::{Located, record};
use crate::app::outages::{NewOutageRequest, ServiceImpact};
use crate::app::tickets::{Change as Say, NewTicketRequest, wire_name};
use crate::app::{App, AppError, Principal, Role, invalid};
use crate::domain::itil::change::{CabRule, Change, ChangeAction, ChangeKind, Freeze, Outcome, Risk};
use crate::store::DbConnection;
use crate::store::models::{Organisation, User};
use crate::store::schema::{change_services, itil_records, organisations, services, tickets, users};

/// A change to raise (staff).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct NewChange {
    pub subject: String,
    /// What will be done, why, and how it is backed out.
    pub description: String,
    /// standard, normal or emergency
    #[schema(value_type = String)]
    pub kind: ChangeKind,
    /// The organisation it is for.
    pub organisation: String,
    /// The contact who asked for it; the member of staff raising it if absent.
    pub requester: Option<String>,
    /// The services it affects (slugs): its window is their maintenance.
    #[serde(default)]
    pub services: Vec<String>,
    pub queue: Option<String>,
}

/// One CAB member's vote.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct VoteView {
    pub email: String,
    pub name: String,
    /// None until they vote.
    pub approve: Option<bool>,
}

/// A change: the ticket's record beside its conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeView {
    pub reference: String,
    pub subject: String,
    pub organisation: String,
    /// standard, normal or emergency
    pub kind: String,
    /// draft, submitted, assessed, awaiting_cab, approved, rejected,
    /// scheduled, implementing, implemented, backed_out, failed, reviewed,
    /// closed or cancelled
    pub status: String,
    pub risk: Option<String>,
    /// all, any or quorum
    pub rule: Option<String>,
    /// Approvals needed, and so far.
    pub needed: usize,
    pub approvals: usize,
    pub cab: Vec<VoteView>,
    pub window_start: Option<DateTime<Utc>>,
    pub window_end: Option<DateTime<Utc>>,
    /// The freeze an emergency was let into, and why.
    pub in_freeze: Option<String>,
    pub services: Vec<String>,
    /// The planned-maintenance outage its window recorded.
    pub outage_id: Option<i64>,
    /// success, failure or backed_out, once reviewed
    pub outcome: Option<String>,
    /// What the caller may do now, as the core decides (in a change's own
    /// read; empty in lists): submit, assess, send_to_cab, approve, reject,
    /// schedule, start, complete, back_out, fail, review, close, cancel.
    pub moves: Vec<String>,
}

/// An action on a change through the API (staff).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ChangeCommand {
    Submit,
    Assess {
        /// low, medium or high
        #[schema(value_type = String)]
        risk: Risk,
        impact: String,
    },
    /// To the CAB: its members by mail address, and how their votes decide
    /// (`all`, `any`, or `quorum` with `of`).
    SendToCab {
        approvers: Vec<String>,
        rule: String,
        of: Option<u32>,
    },
    Approve {
        #[serde(default)]
        comment: String,
    },
    Reject {
        comment: String,
    },
    /// Books (or moves) the window; `reason` lets an emergency into a freeze.
    Schedule {
        start: DateTime<Utc>,
        end: DateTime<Utc>,
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
    /// The post-implementation review: success, failure or backed_out.
    Review {
        #[schema(value_type = String)]
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

impl App {
    /// Raises a draft change (staff) for an organisation.
    pub fn raise_change(&self, who: &Principal, req: NewChange, now: DateTime<Utc>) -> Result<ChangeView, AppError> {
        who.staff_or_forbidden("raising a change")?;
        let mut conn = self.conn()?;
        let reference = conn.write(|c| {
            // Asked for by a contact (the one rule for a ticket's parties),
            // or raised by the desk itself.
            let (org, requester): (Organisation, User) = match &req.requester {
                Some(email) => self.ticket_parties(c, who, Some(&req.organisation), Some(email))?,
                None => (
                    self.organisation_by_slug(c, &req.organisation)
                        .map_err(|_| invalid("organisation", format!("unknown organisation '{}'", req.organisation)))?,
                    self.user_by_email(c, &who.email)?,
                ),
            };
            let service_ids = crate::app::services::service_ids(c, "services", &req.services)?;
            let ticket = NewTicketRequest {
                subject: req.subject.clone(),
                description: req.description.clone(),
                severity: None,
                queue: req.queue.clone(),
                organisation: Some(org.slug.clone()),
                requester: Some(requester.email.clone()),
                source: Some("api".into()),
            };
            self.check_new_text(&ticket)?;
            let v = self.insert_ticket(c, who, org, requester, &ticket, "api", now)?;
            let events = Change::draft(now, crate::app::tickets::actor_of(who), req.kind)?;
            let (at, ch) = self.start_record::<Change>(c, who, &v.reference, &events, now)?;
            for s in service_ids {
                diesel::insert_into(change_services::table)
                    .values((change_services::ticket_id.eq(at.id), change_services::service_id.eq(s)))
                    .execute(c)?;
            }
            record::write_summary(c, at.id, &summary(&ch), now)?;
            Ok::<_, AppError>(at.reference)
        })?;
        self.change_record(who, &reference)
    }

    /// A change, as `who` may see it (its organisation's contacts see it too).
    pub fn change_record(&self, who: &Principal, reference: &str) -> Result<ChangeView, AppError> {
        let mut conn = self.conn()?;
        let at = self.find_visible(&mut conn, who, reference)?;
        let ch: Change = record::load(&mut conn, at.id, &at.reference)?;
        let mut v = change_view(&mut conn, &at, &ch)?;
        v.moves = super::moves(
            &ch,
            &crate::app::tickets::actor_of(who),
            change_candidates(ch.last_event_at()),
        );
        Ok(for_viewer(who, v))
    }

    /// Applies an action to a change (staff), through the core: scheduling
    /// records (or moves) its maintenance; cancelling takes it away.
    pub fn act_on_change(
        &self,
        who: &Principal,
        reference: &str,
        command: &ChangeCommand,
        now: DateTime<Utc>,
    ) -> Result<ChangeView, AppError> {
        who.staff_or_forbidden("working a change")?;
        let mut conn = self.conn()?;
        let reference = conn.write(|c| {
            let at = self.locate(c, who, reference)?;
            let action = self.change_action(c, command)?;
            let (ch, _) = self.act_on::<Change>(c, who, &at, &action, now)?;
            record::write_summary(c, at.id, &summary(&ch), now)?;
            match command {
                ChangeCommand::Schedule { .. } => self.book_maintenance(c, who, &at, &ch, now)?,
                ChangeCommand::Cancel { .. } => self.drop_maintenance(c, who, &at, now)?,
                _ => {}
            }
            // What the customer's contacts should read of it joins the
            // conversation; votes and assessments stay internal.
            let said = match command {
                ChangeCommand::Schedule { start, end, .. } => Some(Say::Reply(format!(
                    "Scheduled: from {} to {} (UTC).",
                    start.format("%H:%M on %-d %B %Y"),
                    end.format("%H:%M on %-d %B %Y")
                ))),
                ChangeCommand::Review { outcome, notes } => Some(Say::Reply(format!(
                    "Reviewed: {}.\n\n{}",
                    wire_name(outcome).replace('_', " "),
                    notes.trim()
                ))),
                ChangeCommand::Cancel { reason } => Some(Say::Reply(format!("Cancelled.\n\n{}", reason.trim()))),
                ChangeCommand::Approve { comment } | ChangeCommand::Reject { comment }
                    if !comment.trim().is_empty() =>
                {
                    Some(Say::Note(comment.trim().to_string()))
                }
                _ => None,
            };
            if let Some(say) = said {
                self.change_ticket_in(c, who, &at.reference, &[say], now)?;
            }
            crate::app::audit(
                c,
                who,
                "change.change",
                &format!("ticket:{}", at.reference),
                Some(ch.status.as_str()),
                now,
            )?;
            Ok::<_, AppError>(at.reference)
        })?;
        self.change_record(who, &reference)
    }

    /// The core's action for a command: CAB members by address to staff ids,
    /// the desk's freezes added to a scheduling.
    fn change_action(&self, c: &mut DbConnection, command: &ChangeCommand) -> Result<ChangeAction, AppError> {
        Ok(match command.clone() {
            ChangeCommand::Submit => ChangeAction::Submit,
            ChangeCommand::Assess { risk, impact } => ChangeAction::Assess { risk, impact },
            ChangeCommand::SendToCab { approvers, rule, of } => {
                let rule = match (rule.as_str(), of) {
                    ("all", _) => CabRule::All,
                    ("any", _) => CabRule::Any,
                    ("quorum", Some(of)) => CabRule::Quorum { of },
                    ("quorum", None) => return Err(invalid("of", "a quorum says how many of the members")),
                    (other, _) => return Err(invalid("rule", format!("'{other}': expected all, any or quorum"))),
                };
                let mut ids = Vec::new();
                for email in &approvers {
                    let u = self
                        .user_by_email(c, email)
                        .map_err(|_| invalid("approvers", format!("unknown member of staff '{email}'")))?;
                    if u.role == "customer" || u.disabled {
                        return Err(invalid(
                            "approvers",
                            format!("'{email}' is not an active member of staff"),
                        ));
                    }
                    ids.push(u.id.to_string());
                }
                ChangeAction::SendToCab { approvers: ids, rule }
            }
            ChangeCommand::Approve { comment } => ChangeAction::Approve { comment },
            ChangeCommand::Reject { comment } => ChangeAction::Reject { comment },
            ChangeCommand::Schedule { start, end, reason } => ChangeAction::Schedule {
                start,
                end,
                freezes: freezes_between(c, start, end)?
                    .into_iter()
                    .map(|f| Freeze {
                        name: f.name,
                        start: f.start,
                        end: f.end,
                    })
                    .collect(),
                reason,
            },
            ChangeCommand::Start => ChangeAction::Start,
            ChangeCommand::Complete => ChangeAction::Complete,
            ChangeCommand::BackOut { note } => ChangeAction::BackOut { note },
            ChangeCommand::Fail { note } => ChangeAction::Fail { note },
            ChangeCommand::Review { outcome, notes } => ChangeAction::Review { outcome, notes },
            ChangeCommand::Close => ChangeAction::Close,
            ChangeCommand::Cancel { reason } => ChangeAction::Cancel { reason },
            ChangeCommand::Note { body } => ChangeAction::Note { body },
        })
    }

    /// The window as its services' planned maintenance, announced now: a
    /// rescheduled change's earlier maintenance gives way to the new one.
    fn book_maintenance(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        at: &Located,
        ch: &Change,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let slugs: Vec<String> = change_services::table
            .inner_join(services::table)
            .filter(change_services::ticket_id.eq(at.id))
            .order(services::slug)
            .select(services::slug)
            .load(c)?;
        let Some((start, end)) = ch.window else {
            return Ok(());
        };
        if slugs.is_empty() {
            return Ok(());
        }
        self.drop_maintenance(c, who, at, now)?;
        let subject: String = tickets::table.find(at.id).select(tickets::subject).first(c)?;
        let kind = if ch.kind == ChangeKind::Emergency {
            "emergency_maintenance"
        } else {
            "planned_maintenance"
        };
        let outage = self.create_outage_in(
            c,
            who,
            &NewOutageRequest {
                kind: kind.into(),
                start,
                end: Some(end),
                notified_at: Some(now),
                organisations: None,
                services: slugs
                    .iter()
                    .map(|s| ServiceImpact {
                        service: s.clone(),
                        impact: Some("partial_outage".into()),
                    })
                    .collect(),
                description: format!("Change {}: {subject}", at.reference),
                public_description: Some(subject),
            },
            false,
            now,
        )?;
        diesel::update(itil_records::table.find(at.id))
            .set(itil_records::outage_id.eq(Some(outage.id)))
            .execute(c)?;
        Ok(())
    }

    fn drop_maintenance(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        at: &Located,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let outage: Option<i64> = itil_records::table
            .find(at.id)
            .select(itil_records::outage_id)
            .first(c)?;
        if let Some(id) = outage {
            diesel::update(itil_records::table.find(at.id))
                .set(itil_records::outage_id.eq(None::<i64>))
                .execute(c)?;
            self.delete_outage_in(c, who, id, now)?;
        }
        Ok(())
    }

    /// The changes waiting for the CAB, oldest first: the agenda (staff).
    pub fn cab_agenda(&self, who: &Principal) -> Result<Vec<ChangeView>, AppError> {
        who.staff_or_forbidden("the CAB's agenda")?;
        let mut conn = self.conn()?;
        let rows: Vec<(i64, String)> = tickets::table
            .inner_join(itil_records::table)
            .filter(itil_records::ticket_type.eq("change"))
            .filter(itil_records::status.eq("awaiting_cab"))
            .order(tickets::id)
            .select((tickets::id, tickets::reference))
            .limit(200)
            .load(&mut conn)?;
        rows.into_iter()
            .map(|(id, reference)| {
                let at = located(id, &reference);
                let ch: Change = record::load(&mut conn, id, &reference)?;
                change_view(&mut conn, &at, &ch)
            })
            .collect()
    }
}

/// A contact sees a change's window, services and outcome, not how the
/// desk weighed it: who sits on the CAB, their votes, the risk.
pub(super) fn for_viewer(who: &Principal, mut v: ChangeView) -> ChangeView {
    if who.role == Role::Customer {
        v.cab.clear();
        v.risk = None;
    }
    v
}

pub(super) fn located(id: i64, reference: &str) -> Located {
    Located {
        id,
        reference: reference.to_string(),
    }
}

fn summary(ch: &Change) -> record::Summary {
    record::Summary {
        status: ch.status.as_str().to_string(),
        change_kind: Some(wire_name(&ch.kind)),
        window: ch.window,
        ..record::Summary::default()
    }
}

pub(super) fn change_view(c: &mut DbConnection, at: &Located, ch: &Change) -> Result<ChangeView, AppError> {
    let (subject, organisation): (String, String) = tickets::table
        .inner_join(organisations::table)
        .filter(tickets::id.eq(at.id))
        .select((tickets::subject, organisations::slug))
        .first(c)?;
    let services: Vec<String> = change_services::table
        .inner_join(services::table)
        .filter(change_services::ticket_id.eq(at.id))
        .order(services::slug)
        .select(services::slug)
        .load(c)?;
    let outage_id: Option<i64> = itil_records::table
        .find(at.id)
        .select(itil_records::outage_id)
        .first(c)?;
    let ids: Vec<i64> = ch.approvers.iter().filter_map(|a| a.parse().ok()).collect();
    let people: BTreeMap<i64, (String, String)> = users::table
        .filter(users::id.eq_any(&ids))
        .select((users::id, users::email, users::name))
        .load::<(i64, String, String)>(c)?
        .into_iter()
        .map(|(id, e, n)| (id, (e, n)))
        .collect();
    let cab = ch
        .approvers
        .iter()
        .map(|a| {
            let (email, name) = a
                .parse::<i64>()
                .ok()
                .and_then(|id| people.get(&id).cloned())
                .unwrap_or_else(|| (a.clone(), a.clone()));
            VoteView {
                email,
                name,
                approve: ch.votes.get(a).copied(),
            }
        })
        .collect();
    let in_freeze = ch.events.iter().rev().find_map(|e| match &e.kind {
        crate::domain::itil::change::ChangeEventKind::Scheduled { in_freeze, .. } => {
            Some(in_freeze.as_ref().map(|(f, why)| format!("{f}: {why}")))
        }
        _ => None,
    });
    let (yes, _) = ch.tally();
    Ok(ChangeView {
        reference: at.reference.clone(),
        subject,
        organisation,
        kind: wire_name(&ch.kind),
        status: ch.status.as_str().to_string(),
        risk: ch.risk.map(|r| wire_name(&r)),
        rule: ch.rule.map(|r| match r {
            CabRule::All => "all".to_string(),
            CabRule::Any => "any".to_string(),
            CabRule::Quorum { of } => format!("quorum of {of}"),
        }),
        needed: ch.rule.map_or(0, |r| r.needed(ch.approvers.len())),
        approvals: yes,
        cab,
        window_start: ch.window.map(|w| w.0),
        window_end: ch.window.map(|w| w.1),
        in_freeze: in_freeze.flatten(),
        services,
        outage_id,
        outcome: ch.outcome.map(|o| wire_name(&o)),
        moves: Vec::new(),
    })
}

/// Every action a change's page may offer, with placeholders where one
/// needs values (the core's answer turns on who asks and the status).
fn change_candidates(now: DateTime<Utc>) -> Vec<(&'static str, ChangeAction)> {
    let t = || "text".to_string();
    let hour = chrono::Duration::hours(1);
    vec![
        ("submit", ChangeAction::Submit),
        (
            "assess",
            ChangeAction::Assess {
                risk: Risk::Low,
                impact: t(),
            },
        ),
        (
            "send_to_cab",
            ChangeAction::SendToCab {
                approvers: vec!["0".into()],
                rule: CabRule::Any,
            },
        ),
        ("approve", ChangeAction::Approve { comment: t() }),
        ("reject", ChangeAction::Reject { comment: t() }),
        (
            "schedule",
            ChangeAction::Schedule {
                start: now + hour,
                end: now + hour + hour,
                freezes: Vec::new(),
                reason: None,
            },
        ),
        ("start", ChangeAction::Start),
        ("complete", ChangeAction::Complete),
        ("back_out", ChangeAction::BackOut { note: t() }),
        ("fail", ChangeAction::Fail { note: t() }),
        (
            "review",
            ChangeAction::Review {
                outcome: Outcome::Success,
                notes: t(),
            },
        ),
        ("close", ChangeAction::Close),
        ("cancel", ChangeAction::Cancel { reason: t() }),
    ]
}
