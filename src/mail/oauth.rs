//! Access tokens for modern-auth mailboxes (Microsoft 365, Google): the
//! client-credentials or refresh-token flows, through the `oauth2` crate,
//! refreshed before they expire. Secrets come from the settings file or the
//! environment, and tokens live in memory only (a rotated refresh token
//! too): none of them is ever written to the database.

use std::time::{Duration, Instant};

use anyhow::Context;
use oauth2::basic::BasicClient;
use oauth2::{ClientId, ClientSecret, RefreshToken, Scope, TokenResponse, TokenUrl};
use serde::Deserialize;

/// `oauth` of a mailbox in sladesk.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OAuthSettings {
    /// The token endpoint (Entra ID:
    /// `https://login.microsoftonline.com/<tenant>/oauth2/v2.0/token`).
    pub token_url: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    /// The environment variable holding the client secret.
    pub client_secret_env: Option<String>,
    /// Space-separated scopes (Microsoft 365 with client credentials:
    /// `https://outlook.office365.com/.default`).
    pub scope: Option<String>,
    /// A refresh token (delegated access, as Google issues): with one, the
    /// refresh-token flow is used instead of client credentials.
    pub refresh_token: Option<String>,
    pub refresh_token_env: Option<String>,
}

fn secret(what: &str, inline: &Option<String>, env: &Option<String>) -> anyhow::Result<Option<String>> {
    match (inline, env) {
        (Some(_), Some(_)) => anyhow::bail!("{what}: give it or {what}_env, not both"),
        (Some(s), None) => Ok(Some(s.clone())),
        (None, Some(var)) => {
            Ok(Some(std::env::var(var).with_context(|| {
                format!("{what}_env: the environment has no {var}")
            })?))
        }
        (None, None) => Ok(None),
    }
}

/// Refresh when less than this is left of a token's life (or half its
/// life, for a short-lived one).
const MARGIN: Duration = Duration::from_secs(300);

/// One mailbox's tokens.
pub struct TokenSource {
    settings: OAuthSettings,
    client_secret: Option<String>,
    refresh_token: Option<String>,
    current: Option<(String, Instant)>,
    /// How many tokens were fetched: for the logs and tests.
    pub fetched: u32,
}

impl TokenSource {
    /// Refused when the settings cannot work (a secret named but missing).
    pub fn new(settings: OAuthSettings) -> anyhow::Result<TokenSource> {
        TokenUrl::new(settings.token_url.clone()).context("oauth.token_url")?;
        let client_secret = secret("client_secret", &settings.client_secret, &settings.client_secret_env)?;
        let refresh_token = secret("refresh_token", &settings.refresh_token, &settings.refresh_token_env)?;
        if client_secret.is_none() && refresh_token.is_none() {
            anyhow::bail!("oauth: a client secret (client credentials) or a refresh token is needed");
        }
        Ok(TokenSource {
            settings,
            client_secret,
            refresh_token,
            current: None,
            fetched: 0,
        })
    }

    /// A token good for a while yet: the one held, or a new one.
    pub fn token(&mut self) -> Result<String, String> {
        if let Some((t, refresh_at)) = &self.current
            && Instant::now() < *refresh_at
        {
            return Ok(t.clone());
        }
        self.fetch()
    }

    /// Whether the token held is near its end (or there is none): a
    /// session signed in with it should sign in again with a new one.
    pub fn due(&self) -> bool {
        self.current.as_ref().is_none_or(|(_, at)| Instant::now() >= *at)
    }

    /// Forgets the token held (the server refused it): the next `token`
    /// fetches another.
    pub fn invalidate(&mut self) {
        self.current = None;
    }

    fn fetch(&mut self) -> Result<String, String> {
        let s = &self.settings;
        let mut client = BasicClient::new(ClientId::new(s.client_id.clone()))
            .set_token_uri(TokenUrl::new(s.token_url.clone()).map_err(|e| e.to_string())?);
        if let Some(secret) = &self.client_secret {
            client = client.set_client_secret(ClientSecret::new(secret.clone()));
        }
        let scopes: Vec<Scope> = s
            .scope
            .iter()
            .flat_map(|s| s.split_whitespace())
            .map(|s| Scope::new(s.to_string()))
            .collect();
        let http = crate::net::http::OAuthHttp;
        let answer = match &self.refresh_token {
            Some(r) => client
                .exchange_refresh_token(&RefreshToken::new(r.clone()))
                .add_scopes(scopes)
                .request(&http)
                .map_err(|e| describe(&e))?,
            None => client
                .exchange_client_credentials()
                .add_scopes(scopes)
                .request(&http)
                .map_err(|e| describe(&e))?,
        };
        // A provider that rotates refresh tokens sends the next one.
        if let (Some(_), Some(next)) = (&self.refresh_token, answer.refresh_token()) {
            self.refresh_token = Some(next.secret().clone());
        }
        let life = answer.expires_in().unwrap_or(Duration::from_secs(3600));
        let refresh_at = Instant::now() + life.saturating_sub(MARGIN.min(life / 2));
        let token = answer.access_token().secret().clone();
        self.current = Some((token.clone(), refresh_at));
        self.fetched += 1;
        tracing::debug!(client = %s.client_id, seconds = life.as_secs(), "mailbox token fetched");
        Ok(token)
    }
}

fn describe<E: std::error::Error>(e: &E) -> String {
    let mut out = format!("token endpoint: {e}");
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(&format!(": {s}"));
        source = s.source();
    }
    out
}

/// The SASL XOAUTH2 initial response (Google's and Microsoft's mechanism).
pub fn xoauth2(user: &str, token: &str) -> String {
    format!("user={user}\x01auth=Bearer {token}\x01\x01")
}

/// The SASL OAUTHBEARER initial response (RFC 7628).
pub fn oauthbearer(user: &str, host: &str, port: u16, token: &str) -> String {
    format!("n,a={user},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01")
}
