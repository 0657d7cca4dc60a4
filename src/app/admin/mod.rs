//! Organisations, users, API tokens and queues: creation, listing, and
//! turning a bearer token into a `Principal`.

mod caches;
mod networks;
mod queue;
mod tokens;

pub use networks::{CachedNetworks, MAX_NETWORKS, NETWORK_CACHE_SECONDS, NetworkScope, Networks, parse_network};
pub use queue::{NewQueueRequest, QueueView};
pub(crate) use tokens::live_token;
pub use tokens::{TokenView, token_hash};

use chrono::{DateTime, Duration, NaiveDate, Utc};
use diesel::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::tickets::TicketSharing;
use super::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::domain::holidays::Region;
use crate::store::models::*;
use crate::store::schema::{api_tokens, organisations, queue_members, queues, users};

/// An organisation as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OrganisationView {
    pub slug: String,
    pub name: String,
    pub tier: String,
    pub region: String,
    pub email_domains: Vec<String>,
    pub monthly_charge_pence: i64,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    /// Whether its contacts may set a new ticket's severity by mail (`[S1]` in the subject).
    pub may_declare_severity: bool,
    /// Who is told of its severity 1 breaches.
    pub account_contact: Option<String>,
    /// Which of its tickets each contact sees.
    pub ticket_sharing: TicketSharing,
}

impl From<Organisation> for OrganisationView {
    fn from(o: Organisation) -> Self {
        OrganisationView {
            slug: o.slug,
            name: o.name,
            tier: o.tier,
            region: o.region,
            email_domains: o
                .email_domains
                .split(',')
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            monthly_charge_pence: o.monthly_charge_pence,
            contract_start: o.contract_start,
            contract_end: o.contract_end,
            status: o.status,
            created_at: utc(o.created_at),
            may_declare_severity: o.may_declare_severity,
            account_contact: o.account_contact,
            // The column's CHECK admits the two words only.
            ticket_sharing: o.ticket_sharing.parse().unwrap_or_default(),
        }
    }
}

/// A user as the API shows it (never their password or token).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub organisation: Option<String>,
    pub disabled: bool,
    pub time_zone: String,
    pub created_at: DateTime<Utc>,
}

impl UserView {
    fn of(u: User, organisation: Option<String>) -> UserView {
        UserView {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role,
            organisation,
            disabled: u.disabled,
            time_zone: u.time_zone,
            created_at: utc(u.created_at),
        }
    }
}

/// What an admin may change on a user.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    pub name: Option<String>,
    /// A disabled user's tokens stop working (within the token cache's 10 s).
    pub disabled: Option<bool>,
    /// IANA time zone the user reads times in (mail, pages), e.g. `Europe/London`.
    pub time_zone: Option<String>,
}

/// What is needed to add an organisation.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewOrganisationRequest {
    pub slug: String,
    pub name: String,
    pub tier: String,
    pub region: String,
    #[serde(default)]
    pub email_domains: Vec<String>,
    #[serde(default)]
    pub monthly_charge_pence: i64,
    pub contract_start: Option<NaiveDate>,
    pub contract_end: Option<NaiveDate>,
    /// Whether its contacts may set a new ticket's severity by mail
    /// (`[S1]` … `[S4]` in the subject); default no.
    #[serde(default)]
    pub may_declare_severity: bool,
    /// The email of the person told of severity 1 breaches.
    #[serde(default)]
    pub account_contact: Option<String>,
    /// Which of its tickets each contact sees; `organisation` (all) by default.
    #[serde(default)]
    pub ticket_sharing: TicketSharing,
}

/// What an admin may change on an organisation: only what is given.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrganisationPatch {
    pub ticket_sharing: Option<TicketSharing>,
    pub may_declare_severity: Option<bool>,
}

/// What an admin gives to create a user.
#[derive(Debug, Clone, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    pub email: String,
    pub name: Option<String>,
    pub role: Role,
    /// The organisation's slug; required for customers, refused for staff.
    pub organisation: Option<String>,
    pub password: Option<String>,
}

pub(crate) fn valid_slug(field: &str, s: &str) -> Result<(), AppError> {
    if s.is_empty()
        || s.len() > 64
        || !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(invalid(field, "expected 1–64 lower-case letters, digits or '-'"));
    }
    Ok(())
}

pub(crate) fn valid_text(field: &str, s: &str, max: usize) -> Result<(), AppError> {
    if s.trim().is_empty() {
        return Err(invalid(field, "must not be empty"));
    }
    if s.chars().count() > max {
        return Err(invalid(field, format!("at most {max} characters")));
    }
    Ok(())
}

pub use crate::domain::names::email_key;

fn valid_email(field: &str, e: &str) -> Result<(), AppError> {
    crate::domain::names::EmailAddress::parse(e)
        .map(|_| ())
        .map_err(|bad| invalid(field, bad.to_string()))
}

impl App {
    /// Creates an organisation (admin only), audited.
    pub fn create_organisation(
        &self,
        who: &Principal,
        req: NewOrganisationRequest,
        now: DateTime<Utc>,
    ) -> Result<OrganisationView, AppError> {
        who.require_admin()?;
        valid_slug("slug", &req.slug)?;
        if let Some(a) = &req.account_contact
            && let Err(bad) = crate::domain::names::EmailAddress::parse(a)
        {
            return Err(invalid("account_contact", bad.to_string()));
        }
        valid_text("name", &req.name, 200)?;
        if self.policies.effective(&req.tier, now).is_err() {
            return Err(invalid(
                "tier",
                format!(
                    "unknown tier '{}': expected one of {}",
                    req.tier,
                    self.policies.names().join(", ")
                ),
            ));
        }
        let region: Region = req
            .region
            .parse()
            .map_err(|e: crate::domain::holidays::UnknownRegion| invalid("region", e.to_string()))?;
        if req.monthly_charge_pence < 0 {
            return Err(invalid("monthly_charge_pence", "must not be negative"));
        }
        if let (Some(s), Some(e)) = (req.contract_start, req.contract_end)
            && e < s
        {
            return Err(invalid("contract_end", "is before contract_start"));
        }
        let mut domains = Vec::new();
        for d in &req.email_domains {
            let d = d.trim().to_lowercase();
            if d.is_empty() || !d.contains('.') || d.contains(['@', ',', ' ']) {
                return Err(invalid("email_domains", format!("'{d}' is not a mail domain")));
            }
            domains.push(d);
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            let taken: i64 = organisations::table
                .filter(organisations::slug.eq(&req.slug))
                .count()
                .get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!(
                    "an organisation with slug '{}' exists",
                    req.slug
                )));
            }
            diesel::insert_into(organisations::table)
                .values(NewOrganisation {
                    slug: &req.slug,
                    name: req.name.trim(),
                    tier: &req.tier,
                    region: region.as_str(),
                    email_domains: &domains.join(","),
                    monthly_charge_pence: req.monthly_charge_pence,
                    contract_start: req.contract_start,
                    contract_end: req.contract_end,
                    status: "active",
                    created_at: naive(now),
                    may_declare_severity: req.may_declare_severity,
                    account_contact: req.account_contact.as_deref(),
                    ticket_sharing: req.ticket_sharing.as_str(),
                })
                .execute(c)?;
            let row = self.organisation_by_slug(c, &req.slug)?;
            audit(
                c,
                who,
                "organisation.create",
                &format!("organisation:{}", row.slug),
                None,
                now,
            )?;
            Ok(row.into())
        })
    }

    /// Changes an organisation's settings (admin only), audited with the
    /// values before and after.
    pub fn update_organisation(
        &self,
        who: &Principal,
        slug: &str,
        patch: OrganisationPatch,
        now: DateTime<Utc>,
    ) -> Result<OrganisationView, AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let before = self.organisation_by_slug(c, slug)?;
            let sharing = patch
                .ticket_sharing
                .map_or(before.ticket_sharing.clone(), |s| s.as_str().to_string());
            let declare = patch.may_declare_severity.unwrap_or(before.may_declare_severity);
            diesel::update(organisations::table.find(before.id))
                .set((
                    organisations::ticket_sharing.eq(&sharing),
                    organisations::may_declare_severity.eq(declare),
                ))
                .execute(c)?;
            let detail = format!(
                "ticket_sharing {} -> {sharing}; may_declare_severity {} -> {declare}",
                before.ticket_sharing, before.may_declare_severity
            );
            audit(
                c,
                who,
                "organisation.update",
                &format!("organisation:{slug}"),
                Some(&detail),
                now,
            )?;
            Ok(self.organisation_by_slug(c, slug)?.into())
        })
    }

    /// Every organisation the caller may see: all for staff, their own for a
    /// customer.
    pub fn list_organisations(&self, who: &Principal) -> Result<Vec<OrganisationView>, AppError> {
        let mut conn = self.conn()?;
        let mut q = organisations::table.order(organisations::slug).into_boxed();
        if who.role == Role::Customer {
            q = q.filter(organisations::id.eq(who.organisation_id.unwrap_or(-1)));
        }
        Ok(q.select(Organisation::as_select())
            .load(&mut conn)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    /// An organisation by its slug; not found as a clear error.
    pub fn organisation_by_slug(
        &self,
        conn: &mut crate::store::DbConnection,
        slug: &str,
    ) -> Result<Organisation, AppError> {
        crate::store::find::organisation_by_slug(conn, slug)?
            .ok_or_else(|| AppError::NotFound(format!("organisation '{slug}'")))
    }

    /// Creates a user (admin only): staff, or a customer of one organisation;
    /// audited.
    pub fn create_user(&self, who: &Principal, req: NewUserRequest, now: DateTime<Utc>) -> Result<UserView, AppError> {
        who.require_admin()?;
        valid_email("email", &req.email)?;
        let name = req
            .name
            .clone()
            .unwrap_or_else(|| req.email.split('@').next().unwrap_or_default().to_string());
        valid_text("name", &name, 200)?;
        let password_hash = match &req.password {
            None => None,
            Some(p) if p.chars().count() < 12 => return Err(invalid("password", "at least 12 characters")),
            Some(p) => Some(hash_password(p)?),
        };
        let mut conn = self.conn()?;
        conn.write(|c| {
            let organisation_id = match (req.role, &req.organisation) {
                (Role::Customer, None) => return Err(invalid("organisation", "a customer belongs to an organisation")),
                (Role::Customer, Some(slug)) => Some(
                    self.organisation_by_slug(c, slug)
                        .map_err(|_| invalid("organisation", format!("unknown organisation '{slug}'")))?
                        .id,
                ),
                (_, Some(_)) => {
                    return Err(invalid(
                        "organisation",
                        "staff do not belong to a customer organisation",
                    ));
                }
                (_, None) => None,
            };
            let key = email_key(&req.email);
            let taken: i64 = users::table.filter(users::email_key.eq(&key)).count().get_result(c)?;
            if taken > 0 {
                return Err(AppError::Conflict(format!(
                    "a user with email '{}' exists",
                    req.email.trim()
                )));
            }
            diesel::insert_into(users::table)
                .values(NewUser {
                    email: req.email.trim(),
                    email_key: &key,
                    name: name.trim(),
                    role: req.role.as_str(),
                    organisation_id,
                    password_hash: password_hash.as_deref(),
                    disabled: false,
                    time_zone: "Europe/London",
                    created_at: naive(now),
                })
                .execute(c)?;
            let row = self.user_by_email(c, &key)?;
            audit(
                c,
                who,
                "user.create",
                &format!("user:{}", row.email),
                Some(req.role.as_str()),
                now,
            )?;
            Ok(UserView::of(row, req.organisation.clone()))
        })
    }

    /// Every user (managers and admins).
    pub fn list_users(&self, who: &Principal) -> Result<Vec<UserView>, AppError> {
        if !matches!(who.role, Role::Admin | Role::Manager) {
            return Err(AppError::Forbidden("only managers and admins may list users".into()));
        }
        let mut conn = self.conn()?;
        let rows: Vec<(User, Option<String>)> = users::table
            .left_join(organisations::table)
            .order(users::email_key)
            .select((User::as_select(), organisations::slug.nullable()))
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|(u, org)| UserView::of(u, org)).collect())
    }

    /// A user by address (compared as `domain::names::email_key`); not found as
    /// a clear error.
    pub fn user_by_email(&self, conn: &mut crate::store::DbConnection, email: &str) -> Result<User, AppError> {
        crate::store::find::user_by_email_key(conn, &email_key(email))?
            .ok_or_else(|| AppError::NotFound(format!("user '{email}'")))
    }

    /// People's names by their addresses, for menus that list staff by
    /// name; an address with no user keeps the address.
    pub fn names_of(&self, emails: &[String]) -> Result<std::collections::HashMap<String, String>, AppError> {
        let mut conn = self.conn()?;
        let keys: Vec<String> = emails.iter().map(|e| email_key(e)).collect();
        let found: Vec<(String, String)> = users::table
            .filter(users::email_key.eq_any(keys))
            .select((users::email, users::name))
            .load(&mut conn)?;
        let by_key: std::collections::HashMap<String, String> =
            found.into_iter().map(|(e, n)| (email_key(&e), n)).collect();
        Ok(emails
            .iter()
            .map(|e| {
                let name = by_key.get(&email_key(e)).filter(|n| !n.is_empty()).cloned();
                (e.clone(), name.unwrap_or_else(|| e.clone()))
            })
            .collect())
    }

    /// Renames or disables (or enables) a user.
    pub fn update_user(
        &self,
        who: &Principal,
        email: &str,
        patch: UserPatch,
        now: DateTime<Utc>,
    ) -> Result<UserView, AppError> {
        who.require_admin()?;
        if let Some(n) = &patch.name {
            valid_text("name", n, 200)?;
        }
        if let Some(z) = &patch.time_zone
            && z.parse::<chrono_tz::Tz>().is_err()
        {
            return Err(invalid(
                "time_zone",
                format!("'{z}' is not an IANA time zone such as Europe/London"),
            ));
        }
        if patch.name.is_none() && patch.disabled.is_none() && patch.time_zone.is_none() {
            return Err(invalid("(body)", "nothing to change"));
        }
        let mut conn = self.conn()?;
        let view = conn.write(|c| {
            let u = self.user_by_email(c, email)?;
            if let Some(n) = &patch.name {
                diesel::update(users::table.find(u.id))
                    .set(users::name.eq(n.trim()))
                    .execute(c)?;
            }
            if let Some(d) = patch.disabled {
                if d && u.id == who.user_id {
                    return Err(AppError::Conflict("you cannot disable yourself".into()));
                }
                diesel::update(users::table.find(u.id))
                    .set(users::disabled.eq(d))
                    .execute(c)?;
            }
            if let Some(z) = &patch.time_zone {
                diesel::update(users::table.find(u.id))
                    .set(users::time_zone.eq(z))
                    .execute(c)?;
            }
            let detail = format!(
                "name={:?} disabled={:?} time_zone={:?}",
                patch.name, patch.disabled, patch.time_zone
            );
            audit(c, who, "user.update", &format!("user:{}", u.email), Some(&detail), now)?;
            let (u, org): (User, Option<String>) = users::table
                .left_join(organisations::table)
                .filter(users::id.eq(u.id))
                .select((User::as_select(), organisations::slug.nullable()))
                .first(c)?;
            Ok(UserView::of(u, org))
        })?;
        self.tokens_changed();
        Ok(view)
    }

    /// The principal of an active user, for work done on their behalf (demo, imports).
    pub fn principal_for(&self, email: &str) -> Result<Principal, AppError> {
        let mut conn = self.conn()?;
        let u = self.user_by_email(&mut conn, email)?;
        Principal::of_user(&u, None)
    }
}

/// Argon2id with the crate's default parameters, in PHC string form.
pub fn hash_password(password: &str) -> Result<String, AppError> {
    use argon2::password_hash::PasswordHasher;
    argon2::Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| invalid("password", e.to_string()))
}
