//! Two-step sign-in set up: a pending TOTP secret shown as a QR code,
//! confirmed with a code, with recovery codes shown once; replacing an
//! enrolled authenticator takes the password and a current code.

use super::*;

pub(super) const RECOVERY_CODES: usize = 10;

/// What replacing an enrolled authenticator takes: the password, and a
/// code from the present authenticator or an unused recovery code.
#[derive(Debug, Clone)]
pub struct Reauth {
    pub password: String,
    pub current_code: String,
}

/// What a TOTP enrolment shows: the secret for typing in, and the otpauth URL the QR code carries.
pub struct Enrolment {
    pub secret: String,
    pub url: String,
}

impl App {
    /// Starts (or shows again) a TOTP enrolment for the session's user.
    pub fn begin_enrolment(&self, token: &str, now: DateTime<Utc>) -> Result<Enrolment, AppError> {
        let s = self
            .web_session(token, None, now)?
            .filter(|s| matches!(s.stage, Stage::Enrol | Stage::Full))
            .ok_or_else(|| AppError::Unauthenticated("sign in again".into()))?;
        let mut conn = self.conn()?;
        let pending: Option<String> = web_sessions::table
            .filter(web_sessions::token_hash.eq(token_hash(token)))
            .select(web_sessions::pending_totp_secret)
            .first(&mut conn)?;
        let secret = match pending {
            Some(p) => p,
            None => {
                let mut raw = [0u8; 20];
                rand::fill(&mut raw);
                let p = totp_rs::Secret::from(raw).to_base32();
                diesel::update(web_sessions::table.filter(web_sessions::token_hash.eq(token_hash(token))))
                    .set(web_sessions::pending_totp_secret.eq(&p))
                    .execute(&mut conn)?;
                p
            }
        };
        let url = totp(&secret, &s.principal.email)?
            .to_url()
            .map_err(|e| AppError::internal(format!("TOTP: {e}")))?;
        Ok(Enrolment { secret, url })
    }

    /// Confirms an enrolment with a code from the authenticator; returns the
    /// session's new token and the recovery codes, shown this once.
    ///
    /// Replacing an authenticator already enrolled takes the password and a
    /// current code from it (or an unused recovery code) too: a session
    /// left open must not be enough to take over the second factor.
    pub fn finish_enrolment(
        &self,
        token: &str,
        code: &str,
        reauth: Option<&Reauth>,
        remote: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<(String, Vec<String>), AppError> {
        let s = self
            .web_session(token, remote.clone(), now)?
            .filter(|s| matches!(s.stage, Stage::Enrol | Stage::Full))
            .ok_or_else(|| AppError::Unauthenticated("sign in again".into()))?;
        let who = s.principal;
        let mut conn = self.conn()?;
        let user: User = users::table
            .find(who.user_id)
            .select(User::as_select())
            .first(&mut conn)?;
        if let Some(old_secret) = user.totp_secret.clone() {
            let r =
                reauth.ok_or_else(|| invalid("current_password", "give your password to replace the authenticator"))?;
            if !self.password_confirmed(&mut conn, &user, &r.password, remote.as_deref(), now)? {
                return Err(invalid(
                    "current_password",
                    "is not right (after several tries each next one must wait a little longer)",
                ));
            }
            let accepted = conn.write(|c| {
                let factor = accept_second_factor(c, &user, &old_secret, &r.current_code, now)?;
                if factor.is_none() {
                    self.count_failure(
                        c,
                        &user.email_key,
                        Some(&user),
                        remote.as_deref().unwrap_or("unknown"),
                        now,
                    )?;
                }
                Ok::<_, AppError>(factor.is_some())
            })?;
            if !accepted {
                return Err(invalid(
                    "current_code",
                    "give a current code from the authenticator you have now, or an unused recovery code",
                ));
            }
        }
        conn.write(|c| {
            let pending: Option<String> = web_sessions::table
                .filter(web_sessions::token_hash.eq(token_hash(token)))
                .select(web_sessions::pending_totp_secret)
                .first(c)?;
            let secret = pending.ok_or_else(|| invalid("code", "start the enrolment again"))?;
            let step = totp_step(&secret, &who.email, code, now)?.ok_or_else(|| {
                invalid(
                    "code",
                    "that code is not right: check the authenticator's clock and try the current code",
                )
            })?;
            diesel::update(users::table.find(who.user_id))
                .set(users::totp_secret.eq(&secret))
                .execute(c)?;
            clear_failures(c, who.user_id, Some(step as i64))?;
            diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(who.user_id))).execute(c)?;
            let codes: Vec<String> = (0..RECOVERY_CODES)
                .map(|_| {
                    let t = random_token(5);
                    format!("{}-{}", &t[..5], &t[5..])
                })
                .collect();
            for code in &codes {
                diesel::insert_into(recovery_codes::table)
                    .values((
                        recovery_codes::user_id.eq(who.user_id),
                        recovery_codes::code_hash.eq(recovery_hash(code)),
                    ))
                    .execute(c)?;
            }
            // Every other session of this user was signed in without the new factor.
            end_other_sessions(c, who.user_id, token)?;
            audit(c, &who, "totp.enrol", &format!("user:{}", who.email), None, now)?;
            let new_token = Self::promote(c, token, now)?;
            Ok((new_token, codes))
        })
    }

    /// Enrols a user with a given secret, without the user: for the demo's
    /// printed key and for provisioning scripts. Admins only; audited.
    pub fn enrol_totp_for(
        &self,
        who: &Principal,
        email: &str,
        secret_b32: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        who.require_admin()?;
        totp(secret_b32, email).map_err(|_| invalid("secret", "not a base32 secret of at least 128 bits"))?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let user = self.user_by_email(c, email)?;
            diesel::update(users::table.find(user.id))
                .set(users::totp_secret.eq(secret_b32))
                .execute(c)?;
            audit(
                c,
                who,
                "totp.enrol",
                &format!("user:{}", user.email),
                Some("by an admin"),
                now,
            )?;
            Ok(())
        })
    }
}
