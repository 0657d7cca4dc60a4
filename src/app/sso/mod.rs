//! Single sign-on: which OpenID providers the desk trusts, for whom, and
//! what a provider's word does to the desk's accounts.
//!
//! The protocol (discovery, the authorisation request with PKCE, the code
//! exchange, the ID token's signature, issuer, audience and nonce) is
//! `net::oidc`'s, through the `openidconnect` crate. What is here is the
//! desk's side: a sign-in begun is a row (`sso_logins`) taken once when
//! its answer comes back, so a replayed `state` finds nothing; a verified
//! identity becomes an account by its provider's subject, created or
//! brought up to date at sign-in, and a session.
//!
//! Staff sign in through one provider (`[sso.staff]`), each organisation's
//! contacts through its own (`[sso.organisations.<slug>]`), limited to the
//! organisation's e-mail domains. A provider never reaches across: an
//! account of another organisation, or staff through an organisation's
//! provider, is refused.

mod accounts;

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde::Deserialize;

use super::admin::token_hash;
use super::{App, AppError, naive, throttle, utc};
use crate::store::schema::sso_logins;

pub use accounts::Identity;

/// How long a sign-in begun at a provider may take to come back.
const LOGIN_MINUTES: i64 = 10;

/// `[sso.staff]` or `[sso.organisations.<slug>]` as written in sladesk.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderFile {
    /// The issuer, as the provider's discovery document names it (for
    /// Entra ID, `https://login.microsoftonline.com/<tenant>/v2.0`).
    pub issuer: String,
    pub client_id: String,
    /// The client secret itself…
    pub client_secret: Option<String>,
    /// …or the environment variable holding it (the better place).
    pub client_secret_env: Option<String>,
    /// E-mail domains whose people may sign in here (required for an
    /// organisation's provider).
    #[serde(default)]
    pub domains: Vec<String>,
    /// A claim whose value (a string or a list) names the role: `agent`,
    /// `manager` or `admin` for staff. Without it, staff are agents and
    /// contacts customers.
    pub role_claim: Option<String>,
    /// Password sign-in is refused to this organisation's contacts (for
    /// staff: to all but admins, the break-glass way in).
    #[serde(default)]
    pub require_sso: bool,
    /// What the sign-in button says.
    pub label: Option<String>,
    /// Scopes asked for besides `openid email profile` (for example the
    /// one under which a provider releases its role claim).
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `[sso]` as written in sladesk.toml.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoFile {
    pub staff: Option<ProviderFile>,
    #[serde(default)]
    pub organisations: std::collections::BTreeMap<String, ProviderFile>,
}

/// One provider, ready to use.
#[derive(Debug, Clone)]
pub struct Provider {
    /// `staff` or `org:<slug>`: what a pending sign-in and a session name.
    pub key: String,
    /// The organisation's slug; `None` for the staff's provider.
    pub organisation: Option<String>,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub domains: Vec<String>,
    pub role_claim: Option<String>,
    pub require_sso: bool,
    pub label: String,
    pub scopes: Vec<String>,
}

impl Provider {
    /// Whether `email`'s domain is one this provider answers for (any,
    /// when it names none: only the staff's provider may).
    pub fn covers(&self, email: &str) -> bool {
        let domain = email.rsplit_once('@').map(|(_, d)| d.trim().to_ascii_lowercase());
        self.domains.is_empty() || domain.is_some_and(|d| self.domains.contains(&d))
    }
}

/// Every provider the desk trusts.
#[derive(Debug, Clone, Default)]
pub struct SsoSettings {
    pub staff: Option<Provider>,
    pub organisations: Vec<Provider>,
}

impl SsoSettings {
    /// Reads `[sso]`, taking secrets from the environment where named;
    /// refused when a provider cannot work.
    pub fn from_file(f: &SsoFile) -> Result<SsoSettings, String> {
        let one = |key: String, organisation: Option<String>, p: &ProviderFile| -> Result<Provider, String> {
            let at = |field: &str| {
                format!(
                    "[sso.{}] {field}",
                    organisation
                        .as_deref()
                        .map_or("staff".into(), |s| format!("organisations.{s}"))
                )
            };
            let issuer = url::Url::parse(&p.issuer).map_err(|e| format!("{}: '{}': {e}", at("issuer"), p.issuer))?;
            if !matches!(issuer.scheme(), "https" | "http") {
                return Err(format!("{}: expected an https address", at("issuer")));
            }
            if p.client_id.trim().is_empty() {
                return Err(format!("{}: must not be empty", at("client_id")));
            }
            let client_secret = match (&p.client_secret, &p.client_secret_env) {
                (Some(_), Some(_)) => {
                    return Err(format!(
                        "{}: give client_secret or client_secret_env, not both",
                        at("client_secret")
                    ));
                }
                (Some(s), None) => Some(s.clone()),
                (None, Some(var)) => Some(
                    std::env::var(var)
                        .map_err(|_| format!("{}: the environment has no {var}", at("client_secret_env")))?,
                ),
                (None, None) => None,
            };
            let domains: Vec<String> = p
                .domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .collect();
            if organisation.is_some() && domains.is_empty() {
                return Err(format!(
                    "{}: an organisation's provider names the e-mail domains it answers for",
                    at("domains")
                ));
            }
            if let Some(d) = domains
                .iter()
                .find(|d| !d.contains('.') || d.contains('@') || d.contains(' '))
            {
                return Err(format!("{}: '{d}' is not a domain", at("domains")));
            }
            Ok(Provider {
                key,
                label: p.label.clone().unwrap_or_else(|| "Sign in with single sign-on".into()),
                issuer: p.issuer.trim_end_matches('/').to_string(),
                client_id: p.client_id.clone(),
                client_secret,
                domains,
                role_claim: p.role_claim.clone(),
                require_sso: p.require_sso,
                scopes: p.scopes.clone(),
                organisation,
            })
        };
        Ok(SsoSettings {
            staff: f.staff.as_ref().map(|p| one("staff".into(), None, p)).transpose()?,
            organisations: f
                .organisations
                .iter()
                .map(|(slug, p)| one(format!("org:{slug}"), Some(slug.clone()), p))
                .collect::<Result<_, _>>()?,
        })
    }

    /// The provider a key names.
    pub fn by_key(&self, key: &str) -> Option<&Provider> {
        self.staff.iter().chain(&self.organisations).find(|p| p.key == key)
    }

    /// Where someone with this e-mail address signs in: their
    /// organisation's provider by its domains, else the staff's one if it
    /// covers the address.
    pub fn for_email(&self, email: &str) -> Option<&Provider> {
        self.organisations
            .iter()
            .find(|p| p.covers(email))
            .or_else(|| self.staff.as_ref().filter(|p| !p.domains.is_empty() && p.covers(email)))
    }

    pub fn is_empty(&self) -> bool {
        self.staff.is_none() && self.organisations.is_empty()
    }
}

/// What the protocol side made for a sign-in it begins: the secrets the
/// answer must match, kept here until it comes.
pub struct Begun {
    pub state: String,
    pub nonce: String,
    pub pkce_verifier: String,
}

/// A sign-in the provider answered, taken from the store (so it cannot be
/// taken again).
#[derive(Debug, Clone)]
pub struct Pending {
    pub provider: Provider,
    pub nonce: String,
    pub pkce_verifier: String,
}

impl App {
    /// Which providers the desk trusts (`[sso]`).
    pub fn sso(&self) -> std::sync::Arc<SsoSettings> {
        self.integrations.sso.read().expect("lock").clone()
    }

    pub fn set_sso(&self, s: SsoSettings) {
        *self.integrations.sso.write().expect("lock") = std::sync::Arc::new(s);
    }

    /// Records a sign-in sent to a provider. Counted with password
    /// attempts per address, so nobody fills the table.
    pub fn sso_begin(
        &self,
        provider: &str,
        begun: &Begun,
        login_hint: Option<&str>,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if self.sso().by_key(provider).is_none() {
            return Err(AppError::NotFound(format!("single sign-on provider '{provider}'")));
        }
        let client = remote.clone().unwrap_or_else(|| "unknown".into());
        let mut conn = self.conn()?;
        conn.write(|c| {
            if !throttle::allow_address(c, &client, now)? {
                return Err(AppError::RateLimited(
                    format!(
                        "too many sign-in attempts from this address: wait {} minutes and try again",
                        throttle::ADDRESS_WINDOW_MINUTES
                    ),
                    (throttle::ADDRESS_WINDOW_MINUTES * 60) as u32,
                ));
            }
            diesel::delete(sso_logins::table.filter(sso_logins::expires_at.lt(naive(now)))).execute(c)?;
            diesel::insert_into(sso_logins::table)
                .values((
                    sso_logins::state_hash.eq(token_hash(&begun.state)),
                    sso_logins::provider.eq(provider),
                    sso_logins::nonce.eq(&begun.nonce),
                    sso_logins::pkce_verifier.eq(&begun.pkce_verifier),
                    sso_logins::login_hint.eq(login_hint),
                    sso_logins::remote_addr.eq(remote.as_deref()),
                    sso_logins::created_at.eq(naive(now)),
                    sso_logins::expires_at.eq(naive(now + Duration::minutes(LOGIN_MINUTES))),
                ))
                .execute(c)?;
            Ok(())
        })
    }

    /// The sign-in a `state` coming back stands for, taken so that it is
    /// good once: a replayed, forged or expired state is refused.
    pub fn sso_take(&self, state: &str, now: DateTime<Utc>) -> Result<Pending, AppError> {
        let refused = || {
            AppError::Unauthenticated(
                "this sign-in is not one we began, was used already or took too long; start again".into(),
            )
        };
        let mut conn = self.conn()?;
        let row: Option<(String, String, String, chrono::NaiveDateTime)> = conn.write(|c| {
            let row = sso_logins::table
                .find(token_hash(state))
                .select((
                    sso_logins::provider,
                    sso_logins::nonce,
                    sso_logins::pkce_verifier,
                    sso_logins::expires_at,
                ))
                .first(c)
                .optional()?;
            if row.is_some() {
                diesel::delete(sso_logins::table.find(token_hash(state))).execute(c)?;
            }
            Ok::<_, AppError>(row)
        })?;
        let (provider, nonce, pkce_verifier, expires) = row.ok_or_else(refused)?;
        if utc(expires) <= now {
            return Err(refused());
        }
        let provider = self.sso().by_key(&provider).cloned().ok_or_else(refused)?;
        Ok(Pending {
            provider,
            nonce,
            pkce_verifier,
        })
    }
}
