//! Browser sign-in: password, then a TOTP code (or a one-time recovery
//! code) for users who enrolled; sessions kept server-side so signing out,
//! a password change or a disabled account ends them at once.
//!
//! The cookie carries a random token; only its SHA-256 is stored. Failed
//! attempts are throttled per account and client (`super::throttle`), in
//! the store, so every server process applies the same limits.

mod account;
mod enrolment;

pub use enrolment::{Enrolment, Reauth};

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use sha2::{Digest, Sha256};

use super::admin::{email_key, hash_password, token_hash};
use super::{App, AppError, Principal, Role, audit, invalid, naive, throttle, utc};
use crate::store::DbConnection;
use crate::store::models::User;
use crate::store::schema::{recovery_codes, sign_in_guards, users, web_keys, web_sessions};

/// A session ends after this long without a request…
pub const IDLE_MINUTES: i64 = 120;
/// …and after this long in any case.
pub const ABSOLUTE_HOURS: i64 = 12;
/// A password-accepted session has this long to give its code.
const CODE_MINUTES: i64 = 10;
/// The shortest password accepted (NIST SP 800-63B asks for at least 8; we ask
/// 12).
pub const MIN_PASSWORD: usize = 12;
const ISSUER: &str = "sladesk";

/// How far a browser session has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Password accepted; a TOTP or recovery code is awaited.
    Code,
    /// Password accepted; the role must enrol in TOTP before anything else.
    Enrol,
    Full,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Code => "code",
            Stage::Enrol => "enrol",
            Stage::Full => "full",
        }
    }

    fn parse(s: &str) -> Stage {
        match s {
            "full" => Stage::Full,
            "enrol" => Stage::Enrol,
            _ => Stage::Code,
        }
    }
}

/// A live browser session and who it belongs to.
#[derive(Debug, Clone)]
pub struct WebSession {
    pub principal: Principal,
    pub name: String,
    pub stage: Stage,
    pub csrf_token: String,
    pub time_zone: chrono_tz::Tz,
    pub totp_enrolled: bool,
}

/// `bytes` random bytes as hex: a secret for a link or a cookie.
pub(crate) fn random_token(bytes: usize) -> String {
    let mut raw = vec![0u8; bytes];
    rand::fill(&mut raw[..]);
    raw.iter().map(|b| format!("{b:02x}")).collect()
}

/// Staff whose sign-in unlocks reports, credits and administration must use a second factor.
pub fn must_enrol(role: Role) -> bool {
    matches!(role, Role::Manager | Role::Admin)
}

fn totp(secret_b32: &str, account: &str) -> Result<totp_rs::Totp, AppError> {
    let secret = totp_rs::Secret::try_from_base32(secret_b32)
        .map_err(|e| AppError::internal(format!("stored TOTP secret unreadable: {e}")))?;
    totp_rs::Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', ""))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| AppError::internal(format!("TOTP: {e}")))
}

/// The time step a code is good for, if it is good at `now` (one step of skew either way).
fn totp_step(secret_b32: &str, account: &str, code: &str, now: DateTime<Utc>) -> Result<Option<u64>, AppError> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return Ok(None);
    }
    Ok(totp(secret_b32, account)?.check(&code, now.timestamp().max(0) as u64))
}

/// The code an authenticator shows at `t`: for tests and the demo's printed hint.
pub fn totp_code(secret_b32: &str, account: &str, t: DateTime<Utc>) -> Result<String, AppError> {
    Ok(totp(secret_b32, account)?
        .generate(t.timestamp().max(0) as u64)
        .to_string())
}

fn recovery_hash(code: &str) -> String {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    Sha256::digest(norm.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A PHC hash of nothing anyone knows, verified when the email is unknown
/// so that an unknown address costs as long as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

fn password_matches(hash: &str, password: &str) -> bool {
    use argon2::password_hash::PasswordVerifier;
    use argon2::password_hash::phc::PasswordHash;
    PasswordHash::new(hash)
        .map(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// The one answer to a refused sign-in, whatever the reason (unknown
/// account, wrong password, throttled), so it tells an attacker nothing.
const WRONG: &str = "wrong email or password; after several tries each next one must wait a little longer";
const WRONG_CODE: &str =
    "that code is not right, or was used already; after several tries each next one must wait a little longer";

/// Which second factor was given.
enum Factor {
    Totp,
    Recovery,
}

/// A code from the user's authenticator (each time step good once: the
/// step is remembered) or one of their unused recovery codes (spent now);
/// which it was, or `None` if neither.
fn accept_second_factor(
    c: &mut DbConnection,
    user: &User,
    secret: &str,
    code: &str,
    now: DateTime<Utc>,
) -> Result<Option<Factor>, AppError> {
    let last: Option<i64> = sign_in_guards::table
        .find(user.id)
        .select(sign_in_guards::totp_last_step)
        .first(c)
        .optional()?
        .flatten();
    if let Some(step) = totp_step(secret, &user.email, code, now)?.filter(|s| last.is_none_or(|l| *s as i64 > l)) {
        clear_failures(c, user.id, Some(step as i64))?;
        return Ok(Some(Factor::Totp));
    }
    let spent = diesel::update(
        recovery_codes::table
            .filter(recovery_codes::user_id.eq(user.id))
            .filter(recovery_codes::code_hash.eq(recovery_hash(code)))
            .filter(recovery_codes::used_at.is_null()),
    )
    .set(recovery_codes::used_at.eq(naive(now)))
    .execute(c)?;
    Ok((spent == 1).then_some(Factor::Recovery))
}

/// Ends every web session of a user but the one holding `token`: after a
/// change to how they sign in, the others were signed in the old way.
fn end_other_sessions(c: &mut DbConnection, user_id: i64, token: &str) -> Result<(), AppError> {
    diesel::delete(
        web_sessions::table
            .filter(web_sessions::user_id.eq(user_id))
            .filter(web_sessions::token_hash.ne(token_hash(token))),
    )
    .execute(c)?;
    Ok(())
}

/// A second factor accepted: no failures counted, and the TOTP step last
/// used remembered so that its code is not good again.
fn clear_failures(c: &mut DbConnection, user_id: i64, totp_last_step: Option<i64>) -> Result<(), AppError> {
    diesel::delete(sign_in_guards::table.find(user_id)).execute(c)?;
    diesel::insert_into(sign_in_guards::table)
        .values((
            sign_in_guards::user_id.eq(user_id),
            sign_in_guards::failures.eq(0),
            sign_in_guards::totp_last_step.eq(totp_last_step),
        ))
        .execute(c)?;
    Ok(())
}

impl App {
    /// The key that signs session cookies: made once, shared through the store.
    pub fn web_cookie_key(&self, now: DateTime<Utc>) -> Result<Vec<u8>, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let existing: Option<String> = web_keys::table
                .order(web_keys::id)
                .select(web_keys::secret)
                .first(c)
                .optional()?;
            let hex = match existing {
                Some(h) => h,
                None => {
                    let h = random_token(64);
                    diesel::insert_into(web_keys::table)
                        .values((web_keys::secret.eq(&h), web_keys::created_at.eq(naive(now))))
                        .execute(c)?;
                    h
                }
            };
            (0..hex.len() / 2)
                .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16))
                .collect::<Result<Vec<u8>, _>>()
                .map_err(|_| AppError::internal("web_keys: the stored key is not hex"))
        })
    }

    /// Counts a failed password or code for the account named (known or
    /// not) from a client; when that starts throttling a real account, its
    /// owner is mailed (at most hourly) and the throttling audited.
    fn count_failure(
        &self,
        c: &mut DbConnection,
        key: &str,
        user: Option<&User>,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let f = throttle::record_failure(c, key, client, now)?;
        if let (Some(user), true, Some(until)) = (user, f.notify, f.throttled_until) {
            let who = Principal::of_user(user, Some(client.to_string()))?;
            audit(
                c,
                &who,
                "sign_in.throttled",
                &format!("user:{}", user.email),
                Some(&format!(
                    "failed attempts; {} waits until {}",
                    if f.everywhere { "every client" } else { client },
                    until.to_rfc3339()
                )),
                now,
            )?;
            super::outbox::enqueue_throttle_notice(c, &user.email, &user.time_zone, until, client, f.everywhere, now)?;
        }
        Ok(())
    }

    /// A signed-in user's own password, asked again before a change that
    /// matters; throttled and counted like a sign-in.
    fn password_confirmed(
        &self,
        conn: &mut DbConnection,
        user: &User,
        password: &str,
        remote: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        self.checked_password(
            conn,
            &user.email_key,
            Some(user),
            password,
            remote.unwrap_or("unknown"),
            now,
        )
    }

    /// Whether `password` is the account's, unless the account and client
    /// are throttled. Every refusal costs one password check, whether the
    /// account is unknown, has no password, is disabled or is throttled, so
    /// the time of the answer tells nothing; and every refusal is counted
    /// (in its own transaction, so it stays counted though the caller
    /// fails), a try while throttled too, so hammering only lengthens the wait.
    fn checked_password(
        &self,
        conn: &mut DbConnection,
        key: &str,
        user: Option<&User>,
        password: &str,
        client: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        let keys = [throttle::pair_key(key, client), throttle::account_key(key)];
        let throttled = throttle::blocked(conn, &keys, now)?.is_some();
        let usable = user.filter(|u| !throttled && !u.disabled);
        let hash = usable.and_then(|u| u.password_hash.as_deref()).unwrap_or(decoy_hash());
        let matches = password_matches(hash, password);
        let ok = matches && usable.is_some_and(|u| u.password_hash.is_some());
        if !ok {
            conn.write(|c| self.count_failure(c, key, user, client, now))?;
        }
        Ok(ok)
    }

    /// Checks an email and password. On success a session is made at the
    /// stage the account needs next; its token is returned once.
    pub fn sign_in(
        &self,
        email: &str,
        password: &str,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, Stage), AppError> {
        let key = email_key(email);
        let client = remote.clone().unwrap_or_else(|| "unknown".into());
        let mut conn = self.conn()?;
        if !conn.write(|c| throttle::allow_address(c, &client, now))? {
            return Err(AppError::RateLimited(
                format!(
                    "too many sign-in attempts from this address: wait {} minutes and try again",
                    throttle::ADDRESS_WINDOW_MINUTES
                ),
                (throttle::ADDRESS_WINDOW_MINUTES * 60) as u32,
            ));
        }
        let user: Option<User> = crate::store::find::user_by_email_key(&mut conn, &key)?;
        if !self.checked_password(&mut conn, &key, user.as_ref(), password, &client, now)? {
            return Err(AppError::Unauthenticated(WRONG.into()));
        }
        let user = user.expect("accepted, so the account exists");
        conn.write(|c| {
            if let Some(why) = self.sso_required(c, &user)? {
                return Err(AppError::Forbidden(why));
            }
            let role: Role = user.role.parse().map_err(AppError::Conflict)?;
            let stage = if user.totp_secret.is_some() {
                Stage::Code
            } else if must_enrol(role) {
                Stage::Enrol
            } else {
                Stage::Full
            };
            throttle::forget_pair(c, &key, &client)?;
            let token = random_token(32);
            let expires = if stage == Stage::Code {
                now + Duration::minutes(CODE_MINUTES)
            } else {
                now + Duration::hours(ABSOLUTE_HOURS)
            };
            diesel::insert_into(web_sessions::table)
                .values((
                    web_sessions::token_hash.eq(token_hash(&token)),
                    web_sessions::user_id.eq(user.id),
                    web_sessions::stage.eq(stage.as_str()),
                    web_sessions::csrf_token.eq(random_token(32)),
                    web_sessions::created_at.eq(naive(now)),
                    web_sessions::last_seen_at.eq(naive(now)),
                    web_sessions::expires_at.eq(naive(expires)),
                    web_sessions::remote_addr.eq(remote.as_deref()),
                ))
                .execute(c)?;
            if stage != Stage::Code {
                let who = Principal::of_user(&user, remote.clone())?;
                audit(
                    c,
                    &who,
                    "sign_in",
                    &format!("user:{}", user.email),
                    Some("password"),
                    now,
                )?;
            }
            Ok((token, stage))
        })
    }

    /// The session a cookie token stands for, if it is live; its idle
    /// clock is moved on at most once a minute.
    pub fn web_session(
        &self,
        token: &str,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<WebSession>, AppError> {
        let mut conn = self.conn()?;
        let found: Option<(i64, String, String, chrono::NaiveDateTime, chrono::NaiveDateTime, User)> =
            web_sessions::table
                .inner_join(users::table)
                .filter(web_sessions::token_hash.eq(token_hash(token)))
                .select((
                    web_sessions::id,
                    web_sessions::stage,
                    web_sessions::csrf_token,
                    web_sessions::last_seen_at,
                    web_sessions::expires_at,
                    User::as_select(),
                ))
                .first(&mut conn)
                .optional()?;
        let Some((id, stage, csrf, last_seen, expires, user)) = found else {
            return Ok(None);
        };
        let stage = Stage::parse(&stage);
        let idle_out = stage == Stage::Full && utc(last_seen) + Duration::minutes(IDLE_MINUTES) <= now;
        if user.disabled || utc(expires) <= now || idle_out {
            diesel::delete(web_sessions::table.find(id)).execute(&mut conn)?;
            return Ok(None);
        }
        if utc(last_seen) + Duration::minutes(1) <= now {
            diesel::update(web_sessions::table.find(id))
                .set(web_sessions::last_seen_at.eq(naive(now)))
                .execute(&mut conn)?;
        }
        let principal = Principal::of_user(&user, remote)?;
        self.check_network(&mut conn, &principal, now)?;
        Ok(Some(WebSession {
            principal,
            name: user.name,
            stage,
            csrf_token: csrf,
            time_zone: user.time_zone.parse().unwrap_or(chrono_tz::Europe::London),
            totp_enrolled: user.totp_secret.is_some(),
        }))
    }

    /// Moves a session to `Full` under a new token (so a token seen before
    /// the second factor is worth nothing after it).
    fn promote(c: &mut DbConnection, old_token: &str, now: DateTime<Utc>) -> Result<String, AppError> {
        let token = random_token(32);
        diesel::update(web_sessions::table.filter(web_sessions::token_hash.eq(token_hash(old_token))))
            .set((
                web_sessions::token_hash.eq(token_hash(&token)),
                web_sessions::stage.eq(Stage::Full.as_str()),
                web_sessions::csrf_token.eq(random_token(32)),
                web_sessions::pending_totp_secret.eq(None::<String>),
                web_sessions::expires_at.eq(naive(now + Duration::hours(ABSOLUTE_HOURS))),
                web_sessions::last_seen_at.eq(naive(now)),
            ))
            .execute(c)?;
        Ok(token)
    }

    /// Checks the second factor of a `Code` session: a TOTP code (each good
    /// once) or an unused recovery code. Failures count towards the lockout.
    /// Returns the session's new token.
    pub fn verify_code(
        &self,
        token: &str,
        code: &str,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        let s = self
            .web_session(token, remote.clone(), now)?
            .filter(|s| s.stage == Stage::Code)
            .ok_or_else(|| AppError::Unauthenticated("sign in again".into()))?;
        let who = s.principal;
        let key = email_key(&who.email);
        let client = remote.unwrap_or_else(|| "unknown".into());
        let mut conn = self.conn()?;
        let refused = || AppError::Unauthenticated(WRONG_CODE.into());
        let pair = [throttle::pair_key(&key, &client), throttle::account_key(&key)];
        if throttle::blocked(&mut conn, &pair, now)?.is_some() {
            let user: User = users::table
                .find(who.user_id)
                .select(User::as_select())
                .first(&mut conn)?;
            conn.write(|c| self.count_failure(c, &key, Some(&user), &client, now))?;
            return Err(refused());
        }
        let accepted = conn.write(|c| {
            let user: User = users::table.find(who.user_id).select(User::as_select()).first(c)?;
            let secret = user
                .totp_secret
                .clone()
                .ok_or_else(|| AppError::Unauthenticated("sign in again".into()))?;
            let Some(factor) = accept_second_factor(c, &user, &secret, code, now)? else {
                // Committed, not rolled back: the failure must stay counted.
                self.count_failure(c, &key, Some(&user), &client, now)?;
                return Ok(None);
            };
            throttle::forget_pair(c, &key, &client)?;
            let how = match factor {
                Factor::Recovery => "password + recovery code",
                Factor::Totp => "password + TOTP",
            };
            audit(c, &who, "sign_in", &format!("user:{}", user.email), Some(how), now)?;
            Self::promote(c, token, now).map(Some)
        })?;
        accepted.ok_or_else(refused)
    }

    /// Deletes sessions past their absolute end (idle ones end when next
    /// seen, or here once their absolute end passes), and sign-in
    /// throttling counters whose effect has passed.
    pub fn purge_web_sessions(&self, now: DateTime<Utc>) -> Result<usize, AppError> {
        let mut conn = self.conn()?;
        let sessions =
            diesel::delete(web_sessions::table.filter(web_sessions::expires_at.lt(naive(now)))).execute(&mut conn)?;
        throttle::purge(&mut conn, now)?;
        Ok(sessions)
    }

    /// Ends a web session; a token that is not one ends nothing. For a
    /// session begun at a provider, which one and the ID token it gave, so
    /// the caller can sign out there too.
    pub fn sign_out(&self, token: &str, now: DateTime<Utc>) -> Result<Option<(String, String)>, AppError> {
        let session = self.web_session(token, None, now)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let sso: Option<(Option<String>, Option<String>)> = web_sessions::table
                .filter(web_sessions::token_hash.eq(token_hash(token)))
                .select((web_sessions::sso_provider, web_sessions::sso_id_token))
                .first(c)
                .optional()?;
            diesel::delete(web_sessions::table.filter(web_sessions::token_hash.eq(token_hash(token)))).execute(c)?;
            if let Some(s) = session.filter(|s| s.stage == Stage::Full) {
                audit(
                    c,
                    &s.principal,
                    "sign_out",
                    &format!("user:{}", s.principal.email),
                    None,
                    now,
                )?;
            }
            Ok(match sso {
                Some((Some(p), Some(t))) => Some((p, t)),
                _ => None,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovery_codes_compare_without_case_or_dashes() {
        assert_eq!(recovery_hash("ab12c-de34f"), recovery_hash("AB12CDE34F"));
        assert_ne!(recovery_hash("ab12c-de34f"), recovery_hash("ab12c-de34e"));
    }

    #[test]
    fn a_totp_code_is_good_for_its_step_and_one_either_side() {
        let secret = totp_rs::Secret::from([7u8; 20]).to_base32();
        let t: DateTime<Utc> = "2026-11-26T12:00:10Z".parse().unwrap();
        let code = totp_code(&secret, "m@example.com", t).unwrap();
        let step = (t.timestamp() / 30) as u64;
        assert_eq!(totp_step(&secret, "m@example.com", &code, t).unwrap(), Some(step));
        assert_eq!(
            totp_step(&secret, "m@example.com", &code, t + Duration::seconds(30)).unwrap(),
            Some(step)
        );
        assert_eq!(
            totp_step(&secret, "m@example.com", &code, t + Duration::seconds(90)).unwrap(),
            None
        );
        assert_eq!(totp_step(&secret, "m@example.com", "12345", t).unwrap(), None);
        assert_eq!(totp_step(&secret, "m@example.com", "abcdef", t).unwrap(), None);
    }
}
