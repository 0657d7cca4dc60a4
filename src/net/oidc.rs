//! OpenID Connect, the relying party's side, through the `openidconnect`
//! crate: discovery (cached an hour per issuer), the authorisation request
//! with PKCE (S256), a nonce and a state; the code exchange; the ID token's
//! signature, issuer, audience, expiry and nonce checked by the crate. The
//! desk's own rules (who may sign in as whom) are `app::sso`'s.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use openidconnect::core::{CoreAuthenticationFlow, CoreClient, CoreJsonWebKeySet, CoreProviderMetadata};
use openidconnect::{
    AuthorizationCode, ClientId, ClientSecret, CsrfToken, Nonce, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl,
    Scope, TokenResponse,
};

use crate::app::AppError;
use crate::app::sso::{Begun, Identity, Pending, Provider};

/// How long a provider's discovery document and keys are used before they
/// are read again (sooner when a token's signature does not check out).
const DISCOVERY_SECONDS: u64 = 3600;

#[derive(Clone)]
struct Discovered {
    metadata: CoreProviderMetadata,
    end_session: Option<String>,
    at: Instant,
}

fn cache() -> &'static Mutex<HashMap<String, Discovered>> {
    static CACHE: std::sync::OnceLock<Mutex<HashMap<String, Discovered>>> = std::sync::OnceLock::new();
    CACHE.get_or_init(Default::default)
}

fn unreachable_provider(p: &Provider, cause: impl std::fmt::Display) -> AppError {
    tracing::warn!(provider = %p.key, issuer = %p.issuer, "single sign-on: {cause}");
    AppError::Unauthenticated(
        "the sign-in provider could not be reached or gave an answer we cannot use; try again later".into(),
    )
}

/// The provider's discovery document and keys, read now if `fresh` or
/// not read within the hour. The document must name the issuer configured.
fn discover(p: &Provider, fresh: bool) -> Result<Discovered, AppError> {
    if !fresh
        && let Some(d) = cache().lock().expect("lock").get(&p.issuer)
        && d.at.elapsed().as_secs() < DISCOVERY_SECONDS
    {
        return Ok(d.clone());
    }
    let url = format!("{}/.well-known/openid-configuration", p.issuer);
    let raw = super::http::client()
        .get(&url)
        .send()
        .and_then(|r| r.error_for_status())
        .and_then(|r| r.bytes())
        .map_err(|e| unreachable_provider(p, format!("{url}: {e}")))?;
    let metadata: CoreProviderMetadata =
        serde_json::from_slice(&raw).map_err(|e| unreachable_provider(p, format!("{url}: {e}")))?;
    if metadata.issuer().as_str().trim_end_matches('/') != p.issuer {
        return Err(unreachable_provider(
            p,
            format!(
                "the discovery document names issuer {}, not {}",
                metadata.issuer().as_str(),
                p.issuer
            ),
        ));
    }
    let jwks = CoreJsonWebKeySet::fetch(metadata.jwks_uri(), &super::http::OAuthHttp)
        .map_err(|e| unreachable_provider(p, format!("keys: {e}")))?;
    let end_session = serde_json::from_slice::<serde_json::Value>(&raw)
        .ok()
        .and_then(|v| v["end_session_endpoint"].as_str().map(String::from));
    let d = Discovered {
        metadata: metadata.set_jwks(jwks),
        end_session,
        at: Instant::now(),
    };
    cache().lock().expect("lock").insert(p.issuer.clone(), d.clone());
    Ok(d)
}

fn client(
    p: &Provider,
    d: &Discovered,
    redirect: &str,
) -> Result<
    CoreClient<
        openidconnect::EndpointSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointNotSet,
        openidconnect::EndpointMaybeSet,
        openidconnect::EndpointMaybeSet,
    >,
    AppError,
> {
    Ok(CoreClient::from_provider_metadata(
        d.metadata.clone(),
        ClientId::new(p.client_id.clone()),
        p.client_secret.clone().map(ClientSecret::new),
    )
    .set_redirect_uri(RedirectUrl::new(redirect.to_string()).map_err(AppError::internal)?))
}

/// Where to send the browser to sign in at `p`, and the secrets its answer
/// must match (for `App::sso_begin` to keep).
pub fn begin(p: &Provider, redirect: &str, login_hint: Option<&str>) -> Result<(String, Begun), AppError> {
    let d = discover(p, false)?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let client = client(p, &d, redirect)?;
    let mut req = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .add_scopes(p.scopes.iter().map(|s| Scope::new(s.clone())))
        .set_pkce_challenge(challenge);
    if let Some(h) = login_hint {
        req = req.add_extra_param("login_hint", h.to_string());
    }
    let (url, state, nonce) = req.url();
    Ok((
        url.to_string(),
        Begun {
            state: state.secret().clone(),
            nonce: nonce.secret().clone(),
            pkce_verifier: verifier.secret().clone(),
        },
    ))
}

/// The provider's answer made into an identity: the code exchanged (with
/// the PKCE verifier), the ID token checked. `iss` is the answer's issuer
/// parameter (RFC 9207) when the provider sends one: an answer naming
/// another issuer is refused before the code goes anywhere.
pub fn finish(pending: &Pending, redirect: &str, code: &str, iss: Option<&str>) -> Result<Identity, AppError> {
    let p = &pending.provider;
    if let Some(iss) = iss
        && iss.trim_end_matches('/') != p.issuer
    {
        return Err(AppError::Forbidden(format!(
            "this answer comes from {iss}, not from the provider the sign-in was begun at"
        )));
    }
    let d = discover(p, false)?;
    let refused = |what: &str, e: &dyn std::fmt::Display| {
        tracing::warn!(provider = %p.key, "single sign-on refused: {what}: {e}");
        AppError::Forbidden(format!("the provider's answer was refused ({what})"))
    };
    let token = client(p, &d, redirect)?
        .exchange_code(AuthorizationCode::new(code.to_string()))
        .map_err(|e| unreachable_provider(p, e))?
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request(&super::http::OAuthHttp)
        .map_err(|e| refused("the code was not accepted", &e))?;
    let id_token = token.id_token().ok_or_else(|| refused("no ID token", &"missing"))?;
    let nonce = Nonce::new(pending.nonce.clone());
    let claims = match id_token.claims(&client(p, &d, redirect)?.id_token_verifier(), &nonce) {
        Ok(c) => c.clone(),
        // Keys rotate: read them again once before refusing.
        Err(_) if d.at.elapsed().as_secs() > 60 => {
            let d = discover(p, true)?;
            id_token
                .claims(&client(p, &d, redirect)?.id_token_verifier(), &nonce)
                .map_err(|e| refused("the ID token", &e))?
                .clone()
        }
        Err(e) => return Err(refused("the ID token", &e)),
    };
    let raw = id_token.to_string();
    // The token's signature is checked above; its other claims (the role
    // claim is the provider's own) are read from the same payload.
    let payload: serde_json::Value = raw
        .split('.')
        .nth(1)
        .and_then(|b| {
            base64::Engine::decode(
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                b.trim_end_matches('='),
            )
            .ok()
        })
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default();
    let roles = match p.role_claim.as_deref().map(|c| &payload[c]) {
        Some(serde_json::Value::String(s)) => vec![s.clone()],
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    };
    Ok(Identity {
        issuer: claims.issuer().as_str().trim_end_matches('/').to_string(),
        subject: claims.subject().as_str().to_string(),
        email: claims.email().map(|e| e.as_str().to_string()),
        email_verified: claims.email_verified() != Some(false),
        name: claims.name().and_then(|n| n.get(None)).map(|n| n.as_str().to_string()),
        roles,
        id_token: raw,
    })
}

/// Where to send the browser to sign out at the provider too, if it offers
/// that (RP-initiated logout).
pub fn end_session_url(p: &Provider, id_token: &str, after: &str) -> Option<String> {
    let d = discover(p, false).ok()?;
    let mut url = url::Url::parse(d.end_session.as_deref()?).ok()?;
    url.query_pairs_mut()
        .append_pair("id_token_hint", id_token)
        .append_pair("client_id", &p.client_id)
        .append_pair("post_logout_redirect_uri", after);
    Some(url.to_string())
}
