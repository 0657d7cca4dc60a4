//! Rows as diesel reads and writes them. No behaviour here: `app` turns
//! rows into domain values and back.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::*;

/// An organisation row: a customer of the desk, its tier and region.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = organisations)]
pub struct Organisation {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub tier: String,
    pub region: String,
    pub email_domains: String,
    pub monthly_charge_pence: i64,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    pub status: String,
    pub created_at: NaiveDateTime,
    pub may_declare_severity: bool,
    pub account_contact: Option<String>,
    /// `organisation` or `own`: see `app::tickets::access`.
    pub ticket_sharing: String,
}

/// A new organisation row.
#[derive(Debug, Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisation<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub tier: &'a str,
    pub region: &'a str,
    pub email_domains: &'a str,
    pub monthly_charge_pence: i64,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    pub status: &'a str,
    pub created_at: NaiveDateTime,
    pub may_declare_severity: bool,
    pub account_contact: Option<&'a str>,
    pub ticket_sharing: &'a str,
}

/// A user row: staff or a customer contact.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = users)]
pub struct User {
    pub id: i64,
    pub email: String,
    pub email_key: String,
    pub name: String,
    pub role: String,
    pub organisation_id: Option<i64>,
    pub password_hash: Option<String>,
    pub totp_secret: Option<String>,
    pub disabled: bool,
    pub time_zone: String,
    pub created_at: NaiveDateTime,
}

/// A new user row.
#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub email: &'a str,
    pub email_key: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub organisation_id: Option<i64>,
    pub password_hash: Option<&'a str>,
    pub disabled: bool,
    pub time_zone: &'a str,
    pub created_at: NaiveDateTime,
}

/// An API token row (its hash, never the token).
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = api_tokens)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub name: String,
    pub token_hash: String,
    pub scope: String,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
    pub last_used_at: Option<NaiveDateTime>,
    pub revoked: bool,
}

/// A new API token row.
#[derive(Debug, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub user_id: i64,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scope: &'a str,
    pub created_at: NaiveDateTime,
    pub expires_at: Option<NaiveDateTime>,
}

/// A queue row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = queues)]
pub struct Queue {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub inbound_address: Option<String>,
    pub lead_id: Option<i64>,
    pub default_severity: i32,
    pub created_at: NaiveDateTime,
    pub customer_selectable: bool,
}

/// A new queue row.
#[derive(Debug, Insertable)]
#[diesel(table_name = queues)]
pub struct NewQueue<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub inbound_address: Option<&'a str>,
    pub lead_id: Option<i64>,
    pub default_severity: i32,
    pub created_at: NaiveDateTime,
    pub customer_selectable: bool,
}

/// A policy version the store has seen, by its hash.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = policy_versions)]
pub struct PolicyVersion {
    pub version: String,
    pub name: String,
    pub effective_from: NaiveDate,
    pub source: String,
    pub first_seen_at: NaiveDateTime,
}

/// A ticket's SLA columns, as the core computed them from its events:
/// both clocks (state, business seconds counted, due and breach instants),
/// the first at-risk instant, when the tick must look again, where the
/// ticket stands in its queue, and when all this was computed. Read,
/// inserted and written as one: embedded in `TicketRow`, `NewTicket` and
/// `TicketState`.
#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub struct SlaColumns {
    pub response_state: String,
    pub response_elapsed_seconds: i64,
    pub response_due_at: Option<NaiveDateTime>,
    pub response_breached_at: Option<NaiveDateTime>,
    pub resolve_state: String,
    pub resolve_elapsed_seconds: i64,
    pub resolve_due_at: Option<NaiveDateTime>,
    pub resolve_breached_at: Option<NaiveDateTime>,
    pub at_risk_at: Option<NaiveDateTime>,
    pub next_check_at: Option<NaiveDateTime>,
    pub sla_computed_at: NaiveDateTime,
    pub queue_order_at: Option<NaiveDateTime>,
}

/// A ticket row: identity and routing, and the SLA fields the core computed.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = tickets)]
pub struct TicketRow {
    pub id: i64,
    pub reference: String,
    pub organisation_id: i64,
    pub requester_id: i64,
    pub queue_id: i64,
    pub assignee_id: Option<i64>,
    pub severity: i32,
    pub status: String,
    pub subject: String,
    pub source: String,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub policy: String,
    pub policy_version: String,
    pub holiday_set: String,
    pub row_version: i64,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub reopen_count: i32,
    pub escalation_level: i32,
    #[diesel(embed)]
    pub sla: SlaColumns,
    /// `incident`, `service_request`, `problem` or `change` (`domain::itil::TicketType`).
    pub ticket_type: String,
}

/// A new ticket row.
#[derive(Debug, Insertable)]
#[diesel(table_name = tickets)]
pub struct NewTicket<'a> {
    pub reference: &'a str,
    pub organisation_id: i64,
    pub requester_id: i64,
    pub queue_id: i64,
    pub severity: i32,
    pub status: &'a str,
    pub subject: &'a str,
    pub source: &'a str,
    pub received_at: NaiveDateTime,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub policy: &'a str,
    pub policy_version: &'a str,
    pub holiday_set: &'a str,
    pub row_version: i64,
    pub reopen_count: i32,
    #[diesel(embed)]
    pub sla: SlaColumns,
}

/// The state the core computed, written with every event.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = tickets, treat_none_as_null = true)]
pub struct TicketState {
    pub assignee_id: Option<i64>,
    pub severity: i32,
    pub status: String,
    pub queue_id: i64,
    pub updated_at: NaiveDateTime,
    pub row_version: i64,
    pub first_response_at: Option<NaiveDateTime>,
    pub resolved_at: Option<NaiveDateTime>,
    pub reopen_count: i32,
    pub policy_version: String,
    pub holiday_set: String,
    #[diesel(embed)]
    pub sla: SlaColumns,
}

/// An event row: one event of a ticket's history, as stored.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ticket_events)]
pub struct EventRow {
    pub id: i64,
    pub ticket_id: i64,
    pub seq: i32,
    pub at: NaiveDateTime,
    pub actor_role: String,
    pub actor_id: Option<i64>,
    pub kind: String,
    pub visibility: String,
    pub body: Option<String>,
    pub data: String,
}

#[derive(Debug, Insertable)]
// NULL rather than DEFAULT for a None (the columns have no other default):
// the statement is then the same for every row, so SQLite caches it and
// takes many rows in one INSERT.
/// A new event row.
#[diesel(table_name = ticket_events, treat_none_as_default_value = false)]
pub struct NewEvent<'a> {
    pub ticket_id: i64,
    pub seq: i32,
    pub at: NaiveDateTime,
    pub actor_role: &'a str,
    pub actor_id: Option<i64>,
    pub kind: &'a str,
    pub visibility: &'a str,
    pub body: Option<&'a str>,
    pub data: String,
}

/// A new audit log row.
#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAudit<'a> {
    pub at: NaiveDateTime,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub remote_addr: Option<&'a str>,
    pub detail: Option<&'a str>,
}

/// A holiday set the store keeps (imported from GOV.UK, or a local file).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = holiday_sets)]
pub struct HolidaySet {
    pub fingerprint: String,
    pub source: String,
    pub first_seen_at: NaiveDateTime,
}

/// A new inbound message row.
#[derive(Debug, Insertable)]
#[diesel(table_name = inbound_messages)]
pub struct NewInbound<'a> {
    pub message_id: &'a str,
    pub dedup_key: &'a str,
    pub via: &'a str,
    pub received_at: NaiveDateTime,
    pub from_address: Option<&'a str>,
    pub subject: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
    pub ticket_id: Option<i64>,
    pub raw: &'a [u8],
}

#[derive(Debug, Insertable)]
// NULL rather than DEFAULT for a None (the columns have no other default):
// the statement is then the same for every row, so SQLite caches it and
// takes many rows in one INSERT.
/// A new outbox row.
#[diesel(table_name = outbox, treat_none_as_default_value = false)]
pub struct NewOutbox<'a> {
    pub ticket_id: Option<i64>,
    pub kind: &'a str,
    pub to_address: &'a str,
    pub message_id: &'a str,
    pub in_reply_to: Option<&'a str>,
    pub context: String,
    pub created_at: NaiveDateTime,
    pub next_attempt_at: NaiveDateTime,
}

/// An outbox row: a notification, its attempts and whether it was sent.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox)]
pub struct OutboxRow {
    pub id: i64,
    pub ticket_id: Option<i64>,
    pub kind: String,
    pub to_address: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub context: String,
    pub created_at: NaiveDateTime,
    pub attempts: i32,
    pub next_attempt_at: NaiveDateTime,
    pub claimed_until: Option<NaiveDateTime>,
    pub sent_at: Option<NaiveDateTime>,
    pub in_doubt: bool,
    pub last_error: Option<String>,
}

/// A new attachment row.
#[derive(Debug, Insertable)]
#[diesel(table_name = attachments)]
pub struct NewAttachment<'a> {
    pub ticket_id: i64,
    pub inbound_message_id: Option<&'a str>,
    pub filename: &'a str,
    pub content_type: &'a str,
    pub size: i64,
    pub sha256: String,
    pub data: &'a [u8],
    pub created_at: NaiveDateTime,
}

/// A service row: a component of the platform as the status page lists it.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = services)]
pub struct ServiceRow {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub group_name: String,
    pub description: String,
    pub position: i32,
    pub created_at: NaiveDateTime,
}
