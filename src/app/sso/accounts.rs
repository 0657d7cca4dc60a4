//! A provider's verified word about someone, made into an account and a
//! session: found by the provider's subject (which never changes there),
//! else by e-mail address and linked, else created; brought up to date
//! (address, name, role) at every sign-in; refused when disabled, when the
//! address is outside the provider's domains, or when the account is of
//! another organisation or side of the desk.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;

use super::Provider;
use crate::app::admin::{email_key, token_hash};
use crate::app::sessions::{ABSOLUTE_HOURS, random_token};
use crate::app::{App, AppError, Principal, Role, audit, naive};
use crate::store::DbConnection;
use crate::store::models::{NewUser, User};
use crate::store::schema::{organisations, sso_identities, users, web_sessions};

/// What the provider said about the person, its ID token checked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub issuer: String,
    pub subject: String,
    pub email: Option<String>,
    /// `false` only when the provider says so; a provider that does not
    /// say is taken at its word for the domains it is trusted with.
    pub email_verified: bool,
    pub name: Option<String>,
    /// The values of the provider's `role_claim`, if it has one.
    pub roles: Vec<String>,
    /// Kept with the session, for signing out at the provider.
    pub id_token: String,
}

fn refuse(m: impl Into<String>) -> AppError {
    AppError::Forbidden(m.into())
}

/// The role the provider gives, or the default for its side.
fn role_of(p: &Provider, id: &Identity) -> Result<Role, AppError> {
    let Some(claim) = &p.role_claim else {
        return Ok(if p.organisation.is_some() {
            Role::Customer
        } else {
            Role::Agent
        });
    };
    let allowed: &[Role] = if p.organisation.is_some() {
        &[Role::Customer]
    } else {
        &[Role::Admin, Role::Manager, Role::Agent]
    };
    // The highest allowed role named wins: `allowed` is in that order.
    allowed
        .iter()
        .copied()
        .find(|r| id.roles.iter().any(|v| v.trim().eq_ignore_ascii_case(r.as_str())))
        .ok_or_else(|| {
            refuse(format!(
                "your account at the provider has no sladesk role in its '{claim}' claim; ask your administrator"
            ))
        })
}

impl App {
    /// Signs in the person a provider vouched for; the session's token is
    /// returned once. Everything it changes is audited.
    pub fn sso_sign_in(
        &self,
        p: &Provider,
        id: &Identity,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let email = id
            .email
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
            .ok_or_else(|| {
                refuse("the provider gave no e-mail address; ask your administrator to release the 'email' claim")
            })?;
        crate::domain::names::EmailAddress::parse(email)
            .map_err(|e| refuse(format!("the provider's e-mail address: {e}")))?;
        if !id.email_verified {
            return Err(refuse("the provider has not verified this e-mail address"));
        }
        if !p.covers(email) {
            return Err(refuse(format!(
                "{email} is not at a domain this sign-in is for ({})",
                p.domains.join(", ")
            )));
        }
        let role = role_of(p, id)?;
        let mut conn = self.conn()?;
        let (token, principal) = conn.write(|c| {
            let organisation_id = match &p.organisation {
                Some(slug) => Some(
                    organisations::table
                        .filter(organisations::slug.eq(slug))
                        .select(organisations::id)
                        .first::<i64>(c)
                        .optional()?
                        .ok_or_else(|| {
                            AppError::internal(format!("[sso.organisations.{slug}]: no such organisation"))
                        })?,
                ),
                None => None,
            };
            let user = self.sso_account(c, p, id, email, role, organisation_id, now)?;
            if user.disabled {
                return Err(refuse("this account is disabled"));
            }
            let who = Principal::of_user(&user, remote.clone())?;
            self.check_network(c, &who, now)?;
            let token = random_token(32);
            diesel::insert_into(web_sessions::table)
                .values((
                    web_sessions::token_hash.eq(token_hash(&token)),
                    web_sessions::user_id.eq(user.id),
                    web_sessions::stage.eq("full"),
                    web_sessions::csrf_token.eq(random_token(32)),
                    web_sessions::created_at.eq(naive(now)),
                    web_sessions::last_seen_at.eq(naive(now)),
                    web_sessions::expires_at.eq(naive(now + Duration::hours(ABSOLUTE_HOURS))),
                    web_sessions::remote_addr.eq(remote.as_deref()),
                    web_sessions::sso_provider.eq(&p.key),
                    web_sessions::sso_id_token.eq(&id.id_token),
                ))
                .execute(c)?;
            audit(
                c,
                &who,
                "sign_in",
                &format!("user:{}", user.email),
                Some(&format!("sso:{}", p.key)),
                now,
            )?;
            Ok::<_, AppError>((token, who))
        })?;
        // A role or address changed here must not wait for a cached token.
        self.user_tokens_changed(principal.user_id);
        Ok(token)
    }

    /// The account the identity is, created or brought up to date.
    #[allow(clippy::too_many_arguments)]
    fn sso_account(
        &self,
        c: &mut DbConnection,
        p: &Provider,
        id: &Identity,
        email: &str,
        role: Role,
        organisation_id: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<User, AppError> {
        let key = email_key(email);
        let linked: Option<User> = sso_identities::table
            .inner_join(users::table)
            .filter(sso_identities::issuer.eq(&id.issuer))
            .filter(sso_identities::subject.eq(&id.subject))
            .select(User::as_select())
            .first(c)
            .optional()?;
        let by_email: Option<User> = crate::store::find::user_by_email_key(c, &key)?;
        let same_side = |u: &User| match organisation_id {
            Some(org) => u.organisation_id == Some(org),
            None => u.organisation_id.is_none() && u.role != Role::Customer.as_str(),
        };
        let actor = |u: &User| Principal::of_user(u, None);
        let user = match (linked, by_email) {
            (Some(u), other) => {
                if !same_side(&u) {
                    return Err(refuse("this account belongs elsewhere; it cannot sign in here"));
                }
                if u.email_key != key {
                    if other.is_some_and(|o| o.id != u.id) {
                        return Err(AppError::Conflict(format!(
                            "the provider now gives {email}, which is another account's address; ask your administrator"
                        )));
                    }
                    diesel::update(users::table.find(u.id))
                        .set((users::email.eq(email), users::email_key.eq(&key)))
                        .execute(c)?;
                    audit(
                        c,
                        &actor(&u)?,
                        "user.email_changed",
                        &format!("user:{email}"),
                        Some(&format!("was {} (sso:{})", u.email, p.key)),
                        now,
                    )?;
                }
                u
            }
            (None, Some(u)) => {
                if !same_side(&u) {
                    return Err(refuse("this account belongs elsewhere; it cannot sign in here"));
                }
                u
            }
            (None, None) => {
                let name = id
                    .name
                    .clone()
                    .filter(|n| !n.trim().is_empty())
                    .unwrap_or_else(|| email.split('@').next().unwrap_or_default().to_string());
                let name: String = name.trim().chars().take(200).collect();
                diesel::insert_into(users::table)
                    .values(NewUser {
                        email,
                        email_key: &key,
                        name: &name,
                        role: role.as_str(),
                        organisation_id,
                        password_hash: None,
                        disabled: false,
                        time_zone: "Europe/London",
                        created_at: naive(now),
                    })
                    .execute(c)?;
                let u = crate::store::find::user_by_email_key(c, &key)?
                    .ok_or_else(|| AppError::internal("the new account is not there"))?;
                audit(
                    c,
                    &actor(&u)?,
                    "user.create",
                    &format!("user:{email}"),
                    Some(&format!("{} at first sign-in (sso:{})", role.as_str(), p.key)),
                    now,
                )?;
                u
            }
        };
        let exists = sso_identities::table
            .filter(sso_identities::issuer.eq(&id.issuer))
            .filter(sso_identities::subject.eq(&id.subject))
            .count()
            .get_result::<i64>(c)?
            > 0;
        if exists {
            diesel::update(
                sso_identities::table
                    .filter(sso_identities::issuer.eq(&id.issuer))
                    .filter(sso_identities::subject.eq(&id.subject)),
            )
            .set(sso_identities::last_sign_in_at.eq(naive(now)))
            .execute(c)?;
        } else {
            diesel::insert_into(sso_identities::table)
                .values((
                    sso_identities::issuer.eq(&id.issuer),
                    sso_identities::subject.eq(&id.subject),
                    sso_identities::user_id.eq(user.id),
                    sso_identities::provider.eq(&p.key),
                    sso_identities::created_at.eq(naive(now)),
                    sso_identities::last_sign_in_at.eq(naive(now)),
                ))
                .execute(c)?;
        }
        // The provider is the source of truth for the role when it has a
        // role claim, and for the name whenever it gives one.
        if p.role_claim.is_some() && user.role != role.as_str() {
            diesel::update(users::table.find(user.id))
                .set(users::role.eq(role.as_str()))
                .execute(c)?;
            audit(
                c,
                &actor(&user)?,
                "user.role_changed",
                &format!("user:{email}"),
                Some(&format!("{} -> {} (sso:{})", user.role, role.as_str(), p.key)),
                now,
            )?;
        }
        if let Some(n) = id
            .name
            .as_deref()
            .map(str::trim)
            .filter(|n| !n.is_empty() && *n != user.name)
        {
            let n: String = n.chars().take(200).collect();
            diesel::update(users::table.find(user.id))
                .set(users::name.eq(&n))
                .execute(c)?;
        }
        users::table
            .find(user.id)
            .select(User::as_select())
            .first(c)
            .map_err(Into::into)
    }

    /// Why a password sign-in is refused to this account although the
    /// password was right: its organisation (or, for all but admins, the
    /// staff) signs in through a provider.
    pub(crate) fn sso_required(&self, c: &mut DbConnection, user: &User) -> Result<Option<String>, AppError> {
        let sso = self.sso();
        let provider = match user.organisation_id {
            Some(org) => {
                let slug: String = organisations::table.find(org).select(organisations::slug).first(c)?;
                sso.organisations
                    .iter()
                    .find(|p| p.organisation.as_deref() == Some(slug.as_str()))
                    .cloned()
            }
            None if user.role == Role::Admin.as_str() => None,
            None => sso.staff.clone(),
        };
        Ok(provider
            .filter(|p| p.require_sso)
            .map(|p| format!("this account signs in with single sign-on: use '{}'", p.label)))
    }
}
