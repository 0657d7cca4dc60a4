//! Use cases: the only writer to the store. Each loads what it needs,
//! applies the domain core, and writes events, the new state and an audit
//! row in one transaction. The API, the web pages, the CLI, mail intake and
//! the scheduler all call these; none of them writes to the store on its own.
//!
//! Everything here is blocking (diesel): async callers run it on a blocking thread.
//!
//! Which error where. Every use case returns `AppError`; the adapters map
//! it once (`api::problem`, `web::WebError`, `cli::cli_error`):
//! - `NotFound` — unknown, *or not the caller's to see*: the same answer
//!   either way (404), so existence never leaks;
//! - `Invalid { field }` — a bad value the caller sent (422, the field
//!   named; the CLI names the flag); `NotForCaller { field }` — a parameter
//!   this caller may not use at all (400);
//! - `Forbidden` — the caller is known and may not do this (403);
//!   `Unauthenticated` (401); `RateLimited` (429 with Retry-After);
//! - `Conflict` — the request is sound but the state does not allow it now
//!   (409: a slug taken, a month not yet ended, a concurrent change);
//!   `Command` — the core refused the move (403 or 409);
//! - `Store` — the database failed (503, nothing changed: try again);
//! - `Internal` — our fault: stored data that cannot be what it is, a
//!   template that does not render (500, the cause logged, never shown).
//!
//! The domain's own errors (`CommandError`, `SlaError`…) become one of these where a use case decides.

pub mod admin;
pub mod alerts;
pub mod dashboard;
pub mod export;
pub mod intake;
pub mod integrations;
pub mod itil;
pub mod jobs;
pub mod limits;
pub mod macros;
pub mod mailboxes;
pub mod mailroom;
pub mod operations;
pub mod outages;
pub mod outbox;
pub mod progress;
pub mod replica;
pub mod reports;
pub mod scim;
pub mod sender_auth;
pub mod services;
pub mod sessions;
pub mod sla_tick;
pub mod sso;
pub mod throttle;
pub mod tickets;
pub mod views;
pub mod webhooks;

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;

use crate::domain::holidays::{Holidays, Region};
use crate::domain::policy::set::PolicySet;
use crate::domain::policy::{Policy, PolicyCalendars};

use crate::store::models::{HolidaySet, NewAudit, PolicyVersion};
use crate::store::schema::{audit_log, holiday_sets, policy_versions};
use crate::store::{DbConnection, Pool, StoreError};

/// Why a use case refused or failed. Adapters map these once (HTTP: problem+json).
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Unknown, or not visible to the caller: the same answer either way.
    #[error("{0} not found")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// A parameter this caller may not use at all (not a bad value of one
    /// they may): HTTP 400 rather than 422.
    #[error("{field}: {message}")]
    NotForCaller { field: String, message: String },
    #[error("{0}")]
    Conflict(String),
    #[error("authentication required: {0}")]
    Unauthenticated(String),
    /// Too many of one thing in a while: try again after this many seconds.
    #[error("{0}")]
    RateLimited(String, u32),
    #[error(transparent)]
    Command(#[from] crate::domain::ticket::CommandError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A fault on our side: stored data that cannot be what it is (an
    /// unreadable event, a policy version neither loaded nor stored), a
    /// template that does not render, a file that cannot be written. The
    /// adapters log the cause and answer a bare 500: internals never reach
    /// a caller as a 409. The CLI, run by an operator, prints the cause.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    /// A failure of ours, logged with its cause; the caller sees a bare 500.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        AppError::Internal(cause.to_string())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::Store(StoreError::Query(e))
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Store(StoreError::Pool(e))
    }
}

/// A refused field: 422 naming the field and what is wrong with it.
pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
    AppError::Invalid {
        field: field.to_string(),
        message: message.into(),
    }
}

/// Staff and customer roles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Customer,
    Agent,
    Manager,
    Admin,
}

impl Role {
    /// The role's name as stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Customer => "customer",
            Role::Agent => "agent",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// Agents, managers and admins: everyone but a customer.
    pub fn is_staff(self) -> bool {
        self != Role::Customer
    }
}

impl std::str::FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "customer" => Ok(Role::Customer),
            "agent" => Ok(Role::Agent),
            "manager" => Ok(Role::Manager),
            "admin" => Ok(Role::Admin),
            _ => Err(format!(
                "unknown role '{s}': expected customer, agent, manager or admin"
            )),
        }
    }
}

/// Who is asking, as established by authentication.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user_id: i64,
    pub email: String,
    pub role: Role,
    pub organisation_id: Option<i64>,
    pub remote_addr: Option<String>,
}

impl Principal {
    /// Staff only: to anyone else the thing does not exist (a customer is
    /// not told that a staff-only resource is there).
    pub(crate) fn staff_only(&self) -> Result<(), AppError> {
        if self.role.is_staff() {
            Ok(())
        } else {
            Err(AppError::NotFound("this resource".into()))
        }
    }

    /// Staff only, where a customer may know the thing is there: 403 naming it.
    pub(crate) fn staff_or_forbidden(&self, what: &str) -> Result<(), AppError> {
        let refused = || AppError::Forbidden(format!("{what} is for staff"));
        self.role.is_staff().then_some(()).ok_or_else(refused)
    }

    /// The operator at a terminal: an admin acting as sladesk itself.
    pub fn operator() -> Principal {
        Principal {
            user_id: 0,
            email: "operator (cli)".into(),
            role: Role::Admin,
            organisation_id: None,
            remote_addr: None,
        }
    }

    /// A customer contact acting by mail: always as a customer, whatever
    /// else the address may be.
    pub(crate) fn contact(user: &crate::store::models::User) -> Principal {
        Principal {
            user_id: user.id,
            email: user.email.clone(),
            role: Role::Customer,
            organisation_id: user.organisation_id,
            remote_addr: None,
        }
    }

    /// A user as who is asking, from wherever they came.
    pub(crate) fn of_user(
        user: &crate::store::models::User,
        remote_addr: Option<String>,
    ) -> Result<Principal, AppError> {
        Ok(Principal {
            user_id: user.id,
            email: user.email.clone(),
            role: user.role.parse().map_err(AppError::Conflict)?,
            organisation_id: user.organisation_id,
            remote_addr,
        })
    }

    fn actor_id(&self) -> Option<i64> {
        (self.user_id > 0).then_some(self.user_id)
    }

    /// Managers and admins: outages, credits, reports.
    pub fn require_manager(&self) -> Result<(), AppError> {
        if matches!(self.role, Role::Manager | Role::Admin) {
            Ok(())
        } else {
            Err(AppError::Forbidden("only a manager or an admin may do this".into()))
        }
    }

    /// Admins only; anyone else is refused.
    pub fn require_admin(&self) -> Result<(), AppError> {
        if self.role == Role::Admin {
            Ok(())
        } else {
            Err(AppError::Forbidden("only an admin may do this".into()))
        }
    }
}

/// The current instant in whole seconds: business time is exact to the
/// second, and an API that shows `…:23.960966952Z` beside a due instant of
/// `…:23Z` invites questions.
pub fn now() -> DateTime<Utc> {
    use chrono::SubsecRound;
    Utc::now().trunc_subsecs(0)
}

/// An instant as the store keeps it (UTC, no zone).
pub fn naive(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc()
}

/// A stored instant read back as UTC.
pub fn utc(t: NaiveDateTime) -> DateTime<Utc> {
    t.and_utc()
}

/// The application: the pool, the policies, the holidays and compiled calendars.
pub struct App {
    pool: Pool,
    pub policies: Arc<PolicySet>,
    pub holidays: Arc<Holidays>,
    calendars: RwLock<HashMap<(String, Region), Arc<PolicyCalendars>>>,
    stored_policies: RwLock<HashMap<String, Arc<Policy>>>,
    /// The fingerprint of the holiday data loaded now; new tickets record it.
    pub holiday_set: String,
    stored_holidays: RwLock<HashMap<String, Arc<Holidays>>>,
    /// Token hash → principal and when it was read, for `TOKEN_CACHE_SECONDS`.
    pub(crate) token_cache: RwLock<HashMap<String, (Principal, DateTime<Utc>)>>,
    /// Mail from unknown senders: quarantined (false, the default) or
    /// refused with a reply (true); `unknown_senders` in sladesk.toml.
    reply_to_unknown_senders: std::sync::atomic::AtomicBool,
    disputes_by_account_contact: std::sync::atomic::AtomicBool,
    /// The most a message's attachments may weigh together.
    attachment_limit: std::sync::atomic::AtomicUsize,
    /// What one request may cost (`[limits]`).
    limits: RwLock<Arc<limits::Limits>>,
    /// Where long work says how far it has got (the CLI's bars).
    progress: RwLock<Arc<dyn progress::Progress>>,
    /// Addresses of reverse proxies whose `X-Forwarded-For` is believed.
    trusted_proxies: RwLock<Arc<Vec<ipnet::IpNet>>>,
    /// How mail senders are authenticated, and the MTA's authserv-id.
    sender_auth: RwLock<(sender_auth::Mode, Option<String>)>,
    /// For `sender_authentication = "verify"`.
    sender_verifier: RwLock<Option<Arc<dyn sender_auth::SenderCheck>>>,
    /// Working days after a month ends before the monthly job closes its
    /// reports (`report_close_after`, default 5).
    report_close_after: std::sync::atomic::AtomicU32,
    /// Where people reach the pages (`public_url`), for links in mail.
    public_url: RwLock<Arc<str>>,
    /// Whether the status page is for anyone (the default) or for people
    /// signed in (`status_page = "signed_in"`, for private networks).
    status_page_public: std::sync::atomic::AtomicBool,
    /// `[alerts]`: how monitoring alerts become tickets and outages.
    alert_settings: RwLock<Option<Arc<alerts::AlertSettings>>>,
    /// The service catalogue (`catalogue` in sladesk.toml; the shipped items without).
    catalogue: RwLock<Arc<crate::domain::itil::catalogue::Catalogue>>,
    /// Allow-lists by scope and when they were read (`admin::networks`).
    network_cache: RwLock<HashMap<String, admin::CachedNetworks>>,
    integrations: integrations::Integrations,
    /// `read_database_url`: where reads that may lag go (`replica`).
    read_pool: RwLock<Option<Arc<replica::ReadPool>>>,
    /// The store is a SQLite file on this machine (`replica::reads_inline`).
    local_file: std::sync::atomic::AtomicBool,
}

/// Where the pages are when `public_url` is not set: the default listen address.
pub const DEFAULT_PUBLIC_URL: &str = "http://localhost:8080";

/// How long an authenticated token is trusted without reading the store
/// again: a disabled user or revoked token stops working within this time.
pub const TOKEN_CACHE_SECONDS: i64 = 10;

impl App {
    /// Whether mail from unknown senders is refused with a reply instead of
    /// quarantined. Replying to unknown addresses answers forged senders
    /// too (backscatter), which is why quarantine is the default.
    pub fn set_reply_to_unknown_senders(&self, reply: bool) {
        self.reply_to_unknown_senders
            .store(reply, std::sync::atomic::Ordering::Relaxed);
    }

    /// Sets the most a message's attachments may weigh together.
    pub fn set_attachment_limit(&self, bytes: usize) {
        self.attachment_limit.store(bytes, std::sync::atomic::Ordering::Relaxed);
    }

    /// The most a message's attachments may weigh together, in bytes.
    pub fn attachment_limit(&self) -> usize {
        self.attachment_limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets what one request may cost (`[limits]`).
    pub fn set_limits(&self, l: limits::Limits) {
        *self.limits.write().expect("lock") = Arc::new(l);
    }

    /// What one request may cost (`[limits]`).
    pub fn limits(&self) -> Arc<limits::Limits> {
        self.limits.read().expect("lock").clone()
    }

    /// Sets where long runs report their progress (a terminal's bars, or nowhere).
    pub fn set_progress(&self, p: Arc<dyn progress::Progress>) {
        *self.progress.write().expect("lock") = p;
    }

    /// Where long runs report their progress.
    pub fn progress(&self) -> Arc<dyn progress::Progress> {
        self.progress.read().expect("lock").clone()
    }

    /// Sets the proxies whose forwarded client address is believed.
    pub fn set_trusted_proxies(&self, nets: Vec<ipnet::IpNet>) {
        *self.trusted_proxies.write().expect("lock") = Arc::new(nets);
    }

    /// The proxies whose forwarded client address is believed.
    pub fn trusted_proxies(&self) -> Arc<Vec<ipnet::IpNet>> {
        self.trusted_proxies.read().expect("lock").clone()
    }

    /// `sender_authentication` and `authserv_id` from sladesk.toml.
    pub fn set_sender_authentication(&self, mode: sender_auth::Mode, authserv_id: Option<String>) {
        *self.sender_auth.write().expect("lock") = (mode, authserv_id);
    }

    /// Sets the address the desk is reached at, for links in mail.
    pub fn set_public_url(&self, url: &str) {
        *self.public_url.write().expect("lock") = Arc::from(url.trim_end_matches('/'));
    }

    /// A page of the desk's by its path (`/status`), for links out.
    pub fn page_url(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.read().expect("lock"))
    }

    /// A ticket's page, for links in mail.
    pub fn ticket_url(&self, reference: &str) -> String {
        format!("{}/tickets/{reference}", self.public_url.read().expect("lock"))
    }

    /// Sets whether the status page is for anyone (true) or for people
    /// signed in.
    pub fn set_status_page_public(&self, public: bool) {
        self.status_page_public
            .store(public, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether the status page is for anyone.
    pub fn status_page_public(&self) -> bool {
        self.status_page_public.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Sets who checks senders when intake verifies mail itself.
    pub fn set_sender_verifier(&self, v: impl sender_auth::SenderCheck + 'static) {
        *self.sender_verifier.write().expect("lock") = Some(Arc::new(v));
    }

    /// Who checks senders, when intake verifies mail itself.
    pub fn sender_verifier(&self) -> Option<Arc<dyn sender_auth::SenderCheck>> {
        self.sender_verifier.read().expect("lock").clone()
    }

    /// How intake judges senders, and the host whose Authentication-Results it
    /// trusts.
    pub fn sender_authentication(&self) -> (sender_auth::Mode, Option<String>) {
        self.sender_auth.read().expect("lock").clone()
    }

    /// Whether mail from unknown senders is refused with a reply (else quarantined).
    pub fn replies_to_unknown_senders(&self) -> bool {
        self.reply_to_unknown_senders.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Builds the application and records every loaded policy version in the
    /// store, so a ticket's version can be rebuilt after its file changes.
    pub fn new(pool: Pool, policies: PolicySet, holidays: Holidays) -> Result<App, AppError> {
        let (holiday_source, holiday_set) = tickets::holiday_set(&holidays);
        let app = App {
            holiday_set: holiday_set.clone(),
            stored_holidays: RwLock::new(HashMap::new()),
            pool,
            policies: Arc::new(policies),
            holidays: Arc::new(holidays),
            calendars: RwLock::new(HashMap::new()),
            stored_policies: RwLock::new(HashMap::new()),
            token_cache: RwLock::new(HashMap::new()),
            reply_to_unknown_senders: std::sync::atomic::AtomicBool::new(false),
            disputes_by_account_contact: std::sync::atomic::AtomicBool::new(false),
            attachment_limit: std::sync::atomic::AtomicUsize::new(intake::MAX_ATTACHMENT_BYTES),
            limits: RwLock::new(Arc::new(limits::Limits::default())),
            progress: RwLock::new(Arc::new(progress::Quiet)),
            trusted_proxies: RwLock::new(Arc::new(Vec::new())),
            sender_auth: RwLock::new((sender_auth::Mode::default(), None)),
            sender_verifier: RwLock::new(None),
            report_close_after: std::sync::atomic::AtomicU32::new(reports::DEFAULT_CLOSE_AFTER),
            public_url: RwLock::new(Arc::from(DEFAULT_PUBLIC_URL)),
            status_page_public: std::sync::atomic::AtomicBool::new(true),
            alert_settings: RwLock::new(None),
            catalogue: RwLock::new(Arc::new(itil::shipped_catalogue())),
            network_cache: RwLock::new(HashMap::new()),
            integrations: Default::default(),
            read_pool: RwLock::new(None),
            local_file: Default::default(),
        };
        let mut conn = app.pool.get()?;
        let sqlite = conn.is_local_file() && replica::inline_reads_wanted();
        app.local_file.store(sqlite, std::sync::atomic::Ordering::Relaxed);
        let now = naive(Utc::now());
        conn.write(|c| {
            c.lock_registration()?;
            let known: i64 = holiday_sets::table
                .filter(holiday_sets::fingerprint.eq(&holiday_set))
                .count()
                .get_result(c)?;
            if known == 0 {
                diesel::insert_into(holiday_sets::table)
                    .values(HolidaySet {
                        fingerprint: holiday_set.clone(),
                        source: holiday_source.clone(),
                        first_seen_at: now,
                    })
                    .execute(c)?;
            }
            for (p, _) in app.policies.iter() {
                let exists: i64 = policy_versions::table
                    .filter(policy_versions::version.eq(&p.version))
                    .count()
                    .get_result(c)?;
                if exists == 0 {
                    diesel::insert_into(policy_versions::table)
                        .values(PolicyVersion {
                            version: p.version.clone(),
                            name: p.name.clone(),
                            effective_from: p.effective_from,
                            source: app.policies.source(&p.version).unwrap_or_default().to_string(),
                            first_seen_at: now,
                        })
                        .execute(c)?;
                }
            }
            Ok::<_, AppError>(())
        })?;
        Ok(app)
    }

    /// A policy by exact version: loaded files first, then versions kept in the store.
    pub fn policy_version(&self, conn: &mut DbConnection, name: &str, version: &str) -> Result<Arc<Policy>, AppError> {
        if let Some(p) = self.policies.version(name, version) {
            return Ok(Arc::new(p.clone()));
        }
        if let Some(p) = self.stored_policies.read().expect("lock").get(version) {
            return Ok(p.clone());
        }
        let row: PolicyVersion = policy_versions::table
            .filter(policy_versions::version.eq(version))
            .select(PolicyVersion::as_select())
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::internal(format!("policy {name}@{version} is neither loaded nor stored")))?;
        let p = Arc::new(
            Policy::from_toml(&format!("stored policy {name}@{version}"), &row.source)
                .map_err(|e| AppError::internal(e.to_string()))?,
        );
        self.stored_policies
            .write()
            .expect("lock")
            .insert(version.to_string(), p.clone());
        Ok(p)
    }

    /// Compiled calendars of a policy version for a region on a recorded
    /// holiday set, compiled once.
    pub fn calendars(
        &self,
        conn: &mut DbConnection,
        policy: &Policy,
        region: Region,
        holiday_set: &str,
    ) -> Result<Arc<PolicyCalendars>, AppError> {
        let key = (format!("{}/{holiday_set}", policy.version), region);
        if let Some(c) = self.calendars.read().expect("lock").get(&key) {
            return Ok(c.clone());
        }
        let holidays = self.holidays_of(conn, holiday_set)?;
        let compiled = Arc::new(policy.calendars(&holidays, region));
        Ok(self
            .calendars
            .write()
            .expect("lock")
            .entry(key)
            .or_insert(compiled)
            .clone())
    }

    /// The holiday data a ticket recorded: the loaded data, or a set kept in the store.
    fn holidays_of(&self, conn: &mut DbConnection, fingerprint: &str) -> Result<Arc<Holidays>, AppError> {
        if fingerprint == self.holiday_set {
            return Ok(self.holidays.clone());
        }
        if let Some(h) = self.stored_holidays.read().expect("lock").get(fingerprint) {
            return Ok(h.clone());
        }
        let source: String = holiday_sets::table
            .find(fingerprint)
            .select(holiday_sets::source)
            .first(conn)
            .optional()?
            .ok_or_else(|| AppError::internal(format!("holiday set {fingerprint} is not stored")))?;
        let mut h = Holidays::from_rules();
        h.import_govuk_json(&source)
            .map_err(|e| AppError::internal(format!("holiday set {fingerprint}: {e}")))?;
        let h = Arc::new(h);
        self.stored_holidays
            .write()
            .expect("lock")
            .insert(fingerprint.to_string(), h.clone());
        Ok(h)
    }
}

/// Writes one audit row; call inside the use case's transaction.
pub fn audit(
    conn: &mut DbConnection,
    who: &Principal,
    action: &str,
    target: &str,
    detail: Option<&str>,
    at: DateTime<Utc>,
) -> Result<(), AppError> {
    diesel::insert_into(audit_log::table)
        .values(NewAudit {
            at: naive(at),
            actor_id: who.actor_id(),
            actor: &who.email,
            action,
            target,
            remote_addr: who.remote_addr.as_deref(),
            detail,
        })
        .execute(conn)?;
    Ok(())
}
