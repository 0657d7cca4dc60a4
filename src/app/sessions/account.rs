//! A user's own account (password, time zone) and an admin's help for
//! one who cannot sign in.

use super::*;

impl App {
    /// An admin's help for a user who cannot sign in: a new password, and/or
    /// two-step sign-in cleared (lost authenticator and recovery codes; a
    /// manager or admin must enrol again at their next sign-in). Either way
    /// the lockout is lifted and the user's sessions end.
    pub fn reset_sign_in(
        &self,
        who: &Principal,
        email: &str,
        password: Option<&str>,
        clear_totp: bool,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        who.require_admin()?;
        let hash = match password {
            Some(p) if p.chars().count() < MIN_PASSWORD => {
                return Err(invalid("password", format!("at least {MIN_PASSWORD} characters")));
            }
            Some(p) => Some(hash_password(p)?),
            None if !clear_totp => return Err(invalid("password", "give a new password, or clear two-step sign-in")),
            None => None,
        };
        let mut conn = self.conn()?;
        conn.write(|c| {
            let user = self.user_by_email(c, email)?;
            if let Some(h) = &hash {
                diesel::update(users::table.find(user.id))
                    .set(users::password_hash.eq(h))
                    .execute(c)?;
            }
            if clear_totp {
                diesel::update(users::table.find(user.id))
                    .set(users::totp_secret.eq(None::<String>))
                    .execute(c)?;
                diesel::delete(recovery_codes::table.filter(recovery_codes::user_id.eq(user.id))).execute(c)?;
            }
            throttle::forget_account(c, &user.email_key)?;
            diesel::delete(web_sessions::table.filter(web_sessions::user_id.eq(user.id))).execute(c)?;
            let what = match (hash.is_some(), clear_totp) {
                (true, true) => "new password; two-step sign-in cleared",
                (true, false) => "new password",
                _ => "two-step sign-in cleared",
            };
            audit(
                c,
                who,
                "user.sign_in_reset",
                &format!("user:{}", user.email),
                Some(what),
                now,
            )?;
            Ok(())
        })
    }

    /// Changes the caller's password after checking the current one; every
    /// other session of theirs ends.
    pub fn change_password(
        &self,
        who: &Principal,
        token: &str,
        current: &str,
        new: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        if new.chars().count() < MIN_PASSWORD {
            return Err(invalid("new_password", format!("at least {MIN_PASSWORD} characters")));
        }
        if new.chars().count() > 200 {
            return Err(invalid("new_password", "at most 200 characters"));
        }
        if new == current {
            return Err(invalid("new_password", "must differ from the current password"));
        }
        let hash = hash_password(new)?;
        let mut conn = self.conn()?;
        let user: User = users::table
            .find(who.user_id)
            .select(User::as_select())
            .first(&mut conn)?;
        if !self.password_confirmed(&mut conn, &user, current, who.remote_addr.as_deref(), now)? {
            return Err(invalid(
                "current_password",
                "is not right (after several tries each next one must wait a little longer)",
            ));
        }
        conn.write(|c| {
            diesel::update(users::table.find(who.user_id))
                .set(users::password_hash.eq(&hash))
                .execute(c)?;
            end_other_sessions(c, who.user_id, token)?;
            audit(c, who, "password.change", &format!("user:{}", who.email), None, now)?;
            Ok(())
        })
    }

    /// The caller's time zone for pages: an IANA name such as Europe/London.
    pub fn set_time_zone(&self, who: &Principal, zone: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let tz: chrono_tz::Tz = zone.parse().map_err(|_| {
            invalid(
                "time_zone",
                format!("'{zone}' is not an IANA time zone such as Europe/London"),
            )
        })?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::update(users::table.find(who.user_id))
                .set(users::time_zone.eq(tz.name()))
                .execute(c)?;
            audit(
                c,
                who,
                "user.time_zone",
                &format!("user:{}", who.email),
                Some(tz.name()),
                now,
            )?;
            Ok(())
        })
    }
}
