//! Service requests from the catalogue: what a customer may ask for, the
//! request raised from a filled-in form (checked field by field against the
//! item), its approval at the customer's organisation by page, API or mail
//! reply, and its fulfilment on the tier's calendar.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::approval::approvers_for;
use super::{Located, record};
use crate::app::outbox::{Queued, greeting, new_message_id, queue_mail};
use crate::app::tickets::{Change, NewTicketRequest, watch_as_approver};
use crate::app::{App, AppError, Principal, Role, invalid};
use crate::domain::itil::catalogue::{Answer, Approval, Field, Item};
use crate::domain::itil::request::{RequestAction, RequestEvent, RequestStatus, ServiceRequest};
use crate::domain::local_time::for_person;
use crate::domain::vocabulary::Actor;
use crate::store::DbConnection;
use crate::store::models::User;
use crate::store::schema::{itil_records, organisations, users};

/// A catalogue item as customers and the API see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CatalogueItemView {
    pub slug: String,
    pub version: String,
    pub name: String,
    pub description: String,
    /// The form: each field's key, label, whether it is required, and its
    /// type (`text` with `max_length`, `choice` with `choices`, `number`
    /// with `min` and `max`, `date`, `user`: a colleague's mail address).
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<Field>,
    /// none, account_contact or another_contact (the requester names them
    /// in `approver`).
    #[schema(value_type = String)]
    pub approval: Approval,
    /// The fulfilment target for the caller's tier ("4h", "2bd"); staff see
    /// every tier's in `targets`.
    pub target: Option<String>,
    pub targets: BTreeMap<String, String>,
}

/// A request for a catalogue item.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewServiceRequest {
    /// The item's slug.
    pub item: String,
    /// The form's values by field key, as text.
    #[serde(default)]
    pub answers: BTreeMap<String, String>,
    /// For an item approved by another contact: their mail address.
    pub approver: Option<String>,
    /// Staff only: the organisation's slug and the requesting contact.
    pub organisation: Option<String>,
    pub requester: Option<String>,
    /// email, web, api or phone; `api` if absent.
    pub source: Option<String>,
}

/// One answer on a request, with its field's label.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AnswerView {
    pub key: String,
    pub label: String,
    pub value: String,
}

/// A person named on a record.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonView {
    pub email: String,
    pub name: String,
}

/// Where a request's fulfilment clock stands.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FulfilmentView {
    /// running, paused, breached, met, missed or ended (refused or cancelled)
    pub state: String,
    pub target_seconds: i64,
    pub elapsed_seconds: i64,
    pub due_at: Option<DateTime<Utc>>,
}

/// A service request: the ticket's record beside its conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RequestView {
    pub reference: String,
    pub item: String,
    pub item_name: String,
    pub item_version: String,
    /// new, awaiting_approval, in_fulfilment, awaiting_customer, fulfilled,
    /// closed, refused or cancelled
    pub status: String,
    pub received_at: DateTime<Utc>,
    pub answers: Vec<AnswerView>,
    pub approvers: Vec<PersonView>,
    pub approved_by: Option<PersonView>,
    pub approved_at: Option<DateTime<Utc>>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// None when the item sets no target for the organisation's tier.
    pub fulfilment: Option<FulfilmentView>,
    /// Whether the caller may approve or refuse it now.
    pub may_decide: bool,
    /// What the caller may do now: approve, refuse, start_fulfilment,
    /// ask_customer, fulfil, reopen, close, cancel (as the core decides).
    pub moves: Vec<String>,
}

/// An action on a request through the API: what the core's command takes.
/// Replies and notes go to the ticket's conversation (`PATCH /tickets/{ref}`).
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum RequestCommand {
    /// An approver agrees (the comment may be empty).
    Approve {
        #[serde(default)]
        comment: String,
    },
    /// An approver refuses, saying why: the request ends.
    Refuse {
        comment: String,
    },
    /// Staff begin the work (an item without approval).
    StartFulfilment,
    /// Staff need something from the customer: the clock pauses.
    AskCustomer {
        body: String,
    },
    /// Staff say it is done, and what was done.
    Fulfil {
        note: String,
    },
    /// The requester or staff: not done after all.
    Reopen {
        reason: String,
    },
    Close,
    /// The requester or staff withdraw it.
    Cancel {
        reason: String,
    },
}

impl RequestCommand {
    fn action(&self) -> RequestAction {
        match self.clone() {
            RequestCommand::Approve { comment } => RequestAction::Approve { comment },
            RequestCommand::Refuse { comment } => RequestAction::Refuse { comment },
            RequestCommand::StartFulfilment => RequestAction::StartFulfilment,
            RequestCommand::AskCustomer { body } => RequestAction::AskCustomer { body },
            RequestCommand::Fulfil { note } => RequestAction::Fulfil { note },
            RequestCommand::Reopen { reason } => RequestAction::Reopen { reason },
            RequestCommand::Close => RequestAction::Close,
            RequestCommand::Cancel { reason } => RequestAction::Cancel { reason },
        }
    }
}

/// How a request's status reads in a sentence.
pub fn request_status_title(status: &str) -> &'static str {
    match status {
        "new" => "received",
        "awaiting_approval" => "awaiting approval",
        "in_fulfilment" => "approved and in fulfilment",
        "awaiting_customer" => "waiting for you",
        "fulfilled" => "fulfilled",
        "closed" => "closed",
        "refused" => "refused",
        "cancelled" => "cancelled",
        _ => "changed",
    }
}

fn answer_text(a: &Answer) -> String {
    match a {
        Answer::Text(t) => t.clone(),
        Answer::Number(n) => n.to_string(),
    }
}

impl App {
    /// The catalogue as `who` sees it: the newest version of each item, with
    /// the target for their organisation's tier.
    pub fn catalogue_items(&self, who: &Principal) -> Result<Vec<CatalogueItemView>, AppError> {
        let tier = self.tier_of(who)?;
        Ok(self
            .catalogue()
            .current()
            .into_iter()
            .map(|i| item_view(i, who, tier.as_deref()))
            .collect())
    }

    /// One item of the catalogue (its newest version).
    pub fn catalogue_item(&self, who: &Principal, slug: &str) -> Result<CatalogueItemView, AppError> {
        let tier = self.tier_of(who)?;
        let catalogue = self.catalogue();
        let item = catalogue
            .item(slug)
            .ok_or_else(|| AppError::NotFound(format!("catalogue item {slug}")))?;
        Ok(item_view(item, who, tier.as_deref()))
    }

    fn tier_of(&self, who: &Principal) -> Result<Option<String>, AppError> {
        let Some(org) = who.organisation_id else {
            return Ok(None);
        };
        let mut conn = self.conn()?;
        Ok(organisations::table
            .find(org)
            .select(organisations::tier)
            .first(&mut conn)
            .optional()?)
    }

    /// Raises a request for a catalogue item: the form checked against the
    /// item (every wrong field named), the approvers found at the
    /// requester's organisation and told by mail, all in one transaction.
    pub fn request_item(
        &self,
        who: &Principal,
        req: NewServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<RequestView, AppError> {
        let catalogue = self.catalogue();
        let item = catalogue
            .item(req.item.trim())
            .ok_or_else(|| invalid("item", format!("'{}' is not in the catalogue", req.item)))?
            .clone();
        let answers = item.answers(&req.answers).map_err(|wrong| {
            let (field, message) = wrong[0].clone();
            let rest: Vec<String> = wrong.iter().skip(1).map(|(f, m)| format!("{f}: {m}")).collect();
            let message = if rest.is_empty() {
                message
            } else {
                format!("{message} (and {})", rest.join("; "))
            };
            invalid(&format!("answers.{field}"), message)
        })?;
        let description = describe(&item, &answers);
        self.check_text_size("answers", &description)?;
        let mut conn = self.conn()?;
        let reference = conn.write(|c| {
            let ticket = NewTicketRequest {
                subject: item.name.clone(),
                description: description.clone(),
                severity: None,
                queue: None,
                organisation: req.organisation.clone(),
                requester: req.requester.clone(),
                source: req.source.clone().or(Some("api".into())),
            };
            // The approvers are found first: a request nobody can approve is not raised.
            let (org, requester) =
                self.ticket_parties(c, who, req.organisation.as_deref(), req.requester.as_deref())?;
            let approvers = approvers_for(c, &item, &org, &requester, req.approver.as_deref())?;
            let ids: Vec<String> = approvers.iter().map(|u| u.id.to_string()).collect();
            let by = match who.role {
                Role::Customer => Actor::Customer(requester.id.to_string()),
                _ => crate::app::tickets::actor_of(who),
            };
            let events = ServiceRequest::raise(now, by, &item.slug, &item.version, ids);
            let (at, r): (Located, ServiceRequest) =
                self.raise_record(c, who, (org.clone(), requester.clone()), &ticket, &events, now)?;
            let answers_json = serde_json::to_string(&answers).map_err(|e| AppError::internal(e.to_string()))?;
            diesel::update(itil_records::table.find(at.id))
                .set((
                    itil_records::item.eq(&item.slug),
                    itil_records::item_version.eq(&item.version),
                    itil_records::answers.eq(answers_json),
                ))
                .execute(c)?;
            let summary = self.request_summary(c, at.id, &r, now)?;
            record::write_summary(c, at.id, &summary, now)?;
            for a in &approvers {
                watch_as_approver(c, at.id, &at.reference, a, now)?;
                self.ask_approval(c, &at, &item, &answers, &requester, a, now)?;
            }
            self.acknowledge_request(c, &at, &item, &requester, &r, now)?;
            Ok::<_, AppError>(at.reference)
        })?;
        self.service_request(who, &reference, now)
    }

    /// Tells the requester their request is in, and what happens next.
    fn acknowledge_request(
        &self,
        c: &mut DbConnection,
        at: &Located,
        item: &Item,
        requester: &User,
        r: &ServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if requester.role != "customer" || requester.disabled {
            return Ok(());
        }
        self.tell_requester(c, at, &item.name, requester, r, None, "", now)
    }

    /// A `request_update` mail to the requester: the status now, who made
    /// it so, their comment, and when fulfilment is due.
    #[allow(clippy::too_many_arguments)]
    fn tell_requester(
        &self,
        c: &mut DbConnection,
        at: &Located,
        item_name: &str,
        requester: &User,
        r: &ServiceRequest,
        by_name: Option<&str>,
        comment: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let due = self
            .fulfilment_of(c, at.id, r, now)?
            .and_then(|f| f.due_at)
            .map(|t| for_person(t, &requester.time_zone));
        let context = serde_json::json!({
            "reference": at.reference,
            "greeting": greeting(requester),
            "item_name": item_name,
            "status_title": request_status_title(r.status.as_str()),
            "by_name": by_name,
            "comment": comment,
            "due": due,
            "ticket_url": self.ticket_url(&at.reference),
            "watching": false,
            "raised_by": requester.name,
            "desk_name": "The service desk",
        });
        let message_id = new_message_id(&at.reference, "request");
        let parent = crate::app::outbox::thread_parent(c, at.id)?;
        queue_mail(
            c,
            Queued {
                ticket_id: Some(at.id),
                kind: "request_update",
                to: &requester.email,
                message_id: &message_id,
                in_reply_to: parent.as_deref(),
                context: &context,
            },
            now,
        )
    }

    /// A service request as `who` may see it.
    pub fn service_request(
        &self,
        who: &Principal,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<RequestView, AppError> {
        let mut conn = self.conn()?;
        let c = &mut conn;
        let at = self.find_visible(c, who, reference)?;
        let r: ServiceRequest = record::load(c, at.id, &at.reference)?;
        self.request_view(c, who, &at, &r, now)
    }

    fn request_view(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        at: &Located,
        r: &ServiceRequest,
        now: DateTime<Utc>,
    ) -> Result<RequestView, AppError> {
        let answers_json: Option<String> = itil_records::table.find(at.id).select(itil_records::answers).first(c)?;
        let answers: BTreeMap<String, Answer> = answers_json
            .as_deref()
            .map(serde_json::from_str)
            .transpose()
            .map_err(|e| AppError::internal(format!("{}: unreadable answers: {e}", at.reference)))?
            .unwrap_or_default();
        let catalogue = self.catalogue();
        let item = catalogue.version(&r.item, &r.item_version);
        let answers = match item {
            Some(i) => answer_views(i, &answers),
            None => answers
                .iter()
                .map(|(k, v)| AnswerView {
                    key: k.clone(),
                    label: k.clone(),
                    value: answer_text(v),
                })
                .collect(),
        };
        let people = |ids: Vec<i64>, c: &mut DbConnection| -> Result<Vec<PersonView>, AppError> {
            let found: Vec<(i64, String, String)> = users::table
                .filter(users::id.eq_any(&ids))
                .select((users::id, users::email, users::name))
                .load(c)?;
            Ok(ids
                .iter()
                .filter_map(|id| found.iter().find(|f| f.0 == *id))
                .map(|(_, email, name)| PersonView {
                    email: email.clone(),
                    name: name.clone(),
                })
                .collect())
        };
        let approver_ids: Vec<i64> = r.approvers.iter().filter_map(|a| a.parse().ok()).collect();
        let approvers = people(approver_ids, c)?;
        let approved_by = match &r.approved {
            Some((Actor::Customer(id) | Actor::Agent(id), _)) => {
                people(id.parse().ok().into_iter().collect(), c)?.into_iter().next()
            }
            _ => None,
        };
        let fulfilment = self.fulfilment_of(c, at.id, r, now)?.map(|f| FulfilmentView {
            state: crate::app::tickets::wire_name(&f.state),
            target_seconds: f.target_seconds,
            elapsed_seconds: f.elapsed_seconds,
            due_at: f.due_at,
        });
        let me = crate::app::tickets::actor_of(who);
        Ok(RequestView {
            reference: at.reference.clone(),
            item: r.item.clone(),
            item_name: item.map(|i| i.name.clone()).unwrap_or_else(|| r.item.clone()),
            item_version: r.item_version.clone(),
            status: r.status.as_str().to_string(),
            received_at: r.received_at,
            answers,
            approvers,
            approved_by,
            approved_at: r.approved.as_ref().map(|(_, t)| *t),
            fulfilled_at: r.fulfilled_at,
            fulfilment,
            may_decide: r.status == RequestStatus::AwaitingApproval && r.may_approve(&me),
            moves: super::moves(r, &me, request_candidates()),
        })
    }

    /// Applies an action to a service request: approval, fulfilment and the
    /// rest, each through the core; what it says joins the conversation,
    /// and the requester hears of a decision.
    pub fn act_on_request(
        &self,
        who: &Principal,
        reference: &str,
        command: &RequestCommand,
        now: DateTime<Utc>,
    ) -> Result<RequestView, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let at = self.locate(c, who, reference)?;
            self.act_on_request_in(c, who, &at, command, now)?;
            let r: ServiceRequest = record::load(c, at.id, &at.reference)?;
            self.request_view(c, who, &at, &r, now)
        })
    }

    /// `act_on_request` inside the caller's transaction (mail intake's).
    pub(crate) fn act_on_request_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        at: &Located,
        command: &RequestCommand,
        now: DateTime<Utc>,
    ) -> Result<ServiceRequest, AppError> {
        let (r, _): (ServiceRequest, Vec<RequestEvent>) = self.act_on(c, who, at, &command.action(), now)?;
        let summary = self.request_summary(c, at.id, &r, now)?;
        record::write_summary(c, at.id, &summary, now)?;
        // What the action says joins the conversation, so the timeline and
        // the mails read as one story.
        let said = match command {
            RequestCommand::Approve { comment } => Some(format!("Approved.{}", paragraph(comment))),
            RequestCommand::Refuse { comment } => Some(format!("Refused.{}", paragraph(comment))),
            RequestCommand::AskCustomer { body } => Some(body.clone()),
            RequestCommand::Fulfil { note } => Some(format!("Fulfilled.{}", paragraph(note))),
            RequestCommand::Reopen { reason } => Some(format!("Reopened.{}", paragraph(reason))),
            RequestCommand::Cancel { reason } => Some(format!("Cancelled.{}", paragraph(reason))),
            RequestCommand::StartFulfilment | RequestCommand::Close => None,
        };
        if let Some(text) = said {
            self.change_ticket_in(c, who, &at.reference, &[Change::Reply(text)], now)?;
        }
        crate::app::audit(
            c,
            who,
            "service_request.change",
            &format!("ticket:{}", at.reference),
            Some(r.status.as_str()),
            now,
        )?;
        if let RequestCommand::Approve { comment } | RequestCommand::Refuse { comment } = command {
            let requester: User = crate::store::schema::tickets::table
                .inner_join(users::table.on(crate::store::schema::tickets::requester_id.eq(users::id)))
                .filter(crate::store::schema::tickets::id.eq(at.id))
                .select(User::as_select())
                .first(c)?;
            let by: Option<String> = users::table.find(who.user_id).select(users::name).first(c).optional()?;
            let item_name = self
                .catalogue()
                .version(&r.item, &r.item_version)
                .map(|i| i.name.clone())
                .unwrap_or_else(|| r.item.clone());
            self.tell_requester(c, at, &item_name, &requester, &r, by.as_deref(), comment, now)?;
        }
        Ok(r)
    }
}

/// Every action a page may offer, with text where one is needed.
fn request_candidates() -> Vec<(&'static str, RequestAction)> {
    let t = || "text".to_string();
    vec![
        ("approve", RequestAction::Approve { comment: t() }),
        ("refuse", RequestAction::Refuse { comment: t() }),
        ("start_fulfilment", RequestAction::StartFulfilment),
        ("ask_customer", RequestAction::AskCustomer { body: t() }),
        ("fulfil", RequestAction::Fulfil { note: t() }),
        ("reopen", RequestAction::Reopen { reason: t() }),
        ("close", RequestAction::Close),
        ("cancel", RequestAction::Cancel { reason: t() }),
    ]
}

fn paragraph(text: &str) -> String {
    let t = text.trim();
    if t.is_empty() {
        String::new()
    } else {
        format!("\n\n{t}")
    }
}

/// The request's first message: the form as filled in, one field a line.
fn describe(item: &Item, answers: &BTreeMap<String, Answer>) -> String {
    let mut out = format!("Request for {}.\n", item.name);
    for a in answer_views(item, answers) {
        out.push_str(&format!("\n{}: {}", a.label, a.value));
    }
    out
}

pub(super) fn answer_views(item: &Item, answers: &BTreeMap<String, Answer>) -> Vec<AnswerView> {
    item.fields
        .iter()
        .filter_map(|f| {
            answers.get(&f.key).map(|a| AnswerView {
                key: f.key.clone(),
                label: f.label.clone(),
                value: answer_text(a),
            })
        })
        .collect()
}

fn item_view(i: &Item, who: &Principal, tier: Option<&str>) -> CatalogueItemView {
    CatalogueItemView {
        slug: i.slug.clone(),
        version: i.version.clone(),
        name: i.name.clone(),
        description: i.description.clone(),
        fields: i.fields.clone(),
        approval: i.approval,
        target: tier.and_then(|t| i.targets.get(t)).map(|d| d.to_string()),
        targets: if who.role.is_staff() {
            i.targets.iter().map(|(k, v)| (k.clone(), v.to_string())).collect()
        } else {
            BTreeMap::new()
        },
    }
}
