//! API tokens: made (shown once, stored hashed), listed, revoked, and
//! checked on every request, with a short cache so reads need no write.

use super::*;

/// A token as admins see it: never the token itself, which is not stored.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TokenView {
    pub id: i64,
    pub name: String,
    pub user: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// SHA-256 of a token, hex: tokens are long random strings, so a fast hash
/// is enough to keep them out of the database in clear.
pub fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A narrow-scope token and its user, if the token is known, not revoked,
/// not expired and its user not disabled (one answer for all of those).
pub(crate) fn live_token(
    c: &mut crate::store::DbConnection,
    token: &str,
    now: DateTime<Utc>,
) -> Result<(ApiToken, User), AppError> {
    let found: Option<(ApiToken, User)> = api_tokens::table
        .inner_join(users::table)
        .filter(api_tokens::token_hash.eq(token_hash(token.trim())))
        .select((ApiToken::as_select(), User::as_select()))
        .first(c)
        .optional()?;
    let (tok, user) = found.ok_or_else(|| AppError::Unauthenticated("unknown token".into()))?;
    if tok.revoked || tok.expires_at.is_some_and(|e| utc(e) <= now) || user.disabled {
        return Err(AppError::Unauthenticated(
            "the token is revoked, expired or its user disabled".into(),
        ));
    }
    Ok((tok, user))
}

impl App {
    /// The API tokens the caller may see, without their secrets.
    pub fn list_tokens(&self, who: &Principal) -> Result<Vec<TokenView>, AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        let rows: Vec<(ApiToken, String)> = api_tokens::table
            .inner_join(users::table)
            .order(api_tokens::id)
            .select((ApiToken::as_select(), users::email))
            .load(&mut conn)?;
        Ok(rows
            .into_iter()
            .map(|(t, user)| TokenView {
                id: t.id,
                name: t.name,
                user,
                scope: t.scope,
                created_at: utc(t.created_at),
                expires_at: t.expires_at.map(utc),
                last_used_at: t.last_used_at.map(utc),
                revoked: t.revoked,
            })
            .collect())
    }

    /// Revokes a token; it stops working at once on this server.
    pub fn revoke_token(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        who.require_admin()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let (name, user): (String, String) = api_tokens::table
                .inner_join(users::table)
                .filter(api_tokens::id.eq(id))
                .select((api_tokens::name, users::email))
                .first(c)
                .optional()?
                .ok_or_else(|| AppError::NotFound(format!("token {id}")))?;
            diesel::update(api_tokens::table.find(id))
                .set(api_tokens::revoked.eq(true))
                .execute(c)?;
            audit(c, who, "token.revoke", &format!("user:{user}"), Some(&name), now)
        })?;
        self.tokens_changed();
        Ok(())
    }

    /// Creates an API token for a user; the token itself is returned once and stored only hashed.
    pub fn create_token(
        &self,
        who: &Principal,
        email: &str,
        name: &str,
        scope: &str,
        valid_for: Option<Duration>,
        now: DateTime<Utc>,
    ) -> Result<String, AppError> {
        who.require_admin()?;
        let scim_org = scope.strip_prefix("scim:");
        if !matches!(scope, "full" | "intake" | "metrics" | "alerts" | "scim") && scim_org.is_none() {
            return Err(invalid(
                "scope",
                "expected full, intake, metrics, alerts, scim or scim:<organisation>",
            ));
        }
        valid_text("name", name, 100)?;
        let mut raw = [0u8; 32];
        rand::fill(&mut raw);
        let token = format!("sld_{}", raw.iter().map(|b| format!("{b:02x}")).collect::<String>());
        let mut conn = self.conn()?;
        conn.write(|c| {
            if let Some(slug) = scim_org {
                self.organisation_by_slug(c, slug)
                    .map_err(|_| invalid("scope", format!("unknown organisation '{slug}'")))?;
            }
            let user = self
                .user_by_email(c, email)
                .map_err(|_| invalid("user", format!("unknown user '{email}'")))?;
            diesel::insert_into(api_tokens::table)
                .values(NewApiToken {
                    user_id: user.id,
                    name,
                    token_hash: &token_hash(&token),
                    scope,
                    created_at: naive(now),
                    expires_at: valid_for.map(|d| naive(now + d)),
                })
                .execute(c)?;
            audit(c, who, "token.create", &format!("user:{}", user.email), Some(name), now)?;
            Ok::<_, AppError>(())
        })?;
        Ok(token)
    }

    /// The principal of a token authenticated in the last few seconds,
    /// without touching the store (so without a blocking hop).
    pub fn cached_principal(&self, token: &str, remote_addr: Option<String>, now: DateTime<Utc>) -> Option<Principal> {
        let hash = token_hash(token.trim());
        let cache = self.token_cache.read().expect("lock");
        let (p, read_at) = cache.get(&hash)?;
        let p = (now - *read_at < Duration::seconds(crate::app::TOKEN_CACHE_SECONDS)).then(|| Principal {
            remote_addr,
            ..p.clone()
        })?;
        // From where it is used now: a refusal, or a list not cached, takes
        // the full path (which says why).
        (self.network_allows_cached(&p, now) == Some(true)).then_some(p)
    }

    /// Checks a token scoped to mail intake (and only intake).
    pub fn authenticate_intake(&self, token: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        self.authenticate_scoped(token, "intake", now)
    }

    /// Checks a token of one narrow scope (`intake` or `metrics`): such a
    /// token opens that one door and no other.
    pub fn authenticate_scoped(&self, token: &str, scope: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let mut conn = self.conn()?;
        let (tok, _) = live_token(&mut conn, token, now)?;
        if tok.scope != scope {
            return Err(AppError::Forbidden(format!("this takes a token with scope {scope}")));
        }
        Ok(())
    }

    /// The principal a bearer token stands for, if it is valid now.
    pub fn authenticate(
        &self,
        token: &str,
        remote_addr: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Principal, AppError> {
        let hash = token_hash(token.trim());
        let mut conn = self.conn()?;
        let found: Option<(ApiToken, User)> = api_tokens::table
            .inner_join(users::table)
            .filter(api_tokens::token_hash.eq(&hash))
            .select((ApiToken::as_select(), User::as_select()))
            .first(&mut conn)
            .optional()?;
        let (tok, user) = found.ok_or_else(|| AppError::Unauthenticated("unknown token".into()))?;
        if tok.revoked {
            return Err(AppError::Unauthenticated("the token was revoked".into()));
        }
        if tok.expires_at.is_some_and(|e| utc(e) <= now) {
            return Err(AppError::Unauthenticated("the token has expired".into()));
        }
        if user.disabled {
            return Err(AppError::Unauthenticated("the user is disabled".into()));
        }
        if tok.scope != "full" {
            return Err(AppError::Forbidden(format!("this token is for {} only", tok.scope)));
        }
        // Record use at most once a minute: a write per request would
        // serialise every read behind SQLite's single writer.
        if tok.last_used_at.is_none_or(|l| utc(l) + Duration::minutes(1) < now) {
            diesel::update(api_tokens::table.find(tok.id))
                .set(api_tokens::last_used_at.eq(naive(now)))
                .execute(&mut conn)?;
        }
        let principal = Principal::of_user(&user, remote_addr)?;
        self.check_network(&mut conn, &principal, now)?;
        let mut cache = self.token_cache.write().expect("lock");
        if cache.len() > 10_000 {
            cache.retain(|_, (_, at)| now - *at < Duration::seconds(crate::app::TOKEN_CACHE_SECONDS));
        }
        cache.insert(hash, (principal.clone(), now));
        Ok(principal)
    }
}
