//! The IMAP poller: takes new mail from one folder of a mailbox into the
//! intake pipeline, for desks whose mail lands in a hosted mailbox rather
//! than being piped in by an MTA.
//!
//! Exactly once, whatever stops the process:
//! - the poller remembers where it stands as (UIDVALIDITY, last UID) and
//!   writes that position in the same transaction as the message it took,
//!   so a restart resumes after the last committed message, never before or
//!   past it, and never re-reads the whole folder;
//! - only after the commit is the message marked `\Seen` or moved to the
//!   processed folder; a crash between the two leaves it committed but
//!   unmarked, and the next connection marks or moves everything up to the
//!   position (which is idempotent);
//! - a new UIDVALIDITY (the folder was recreated) starts again from UID 1,
//!   and Message-ID deduplication keeps that from making doubles.
//!
//! A message that can never be accepted (over the size limit, empty) is
//! left in the folder, flagged `\Flagged`, for a person to look at.

use anyhow::Context;
use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use crate::app::intake::{IngestFailure, IngestOutcome, MailboxPosition};
use crate::app::{App, AppError};

/// How the connection is protected.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// TLS from the first byte (port 993).
    #[default]
    Tls,
    /// Plain connection upgraded with STARTTLS (port 143); refused if the
    /// server does not offer it.
    Starttls,
    /// No encryption: for a server on the same machine only.
    None,
}

/// How the poller signs in to the mailbox.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Auth {
    /// LOGIN with a password.
    #[default]
    Password,
    /// SASL XOAUTH2 with an OAuth access token (Microsoft 365, Google).
    Xoauth2,
    /// SASL OAUTHBEARER (RFC 7628) with an OAuth access token.
    Oauthbearer,
}

/// A mailbox: `[imap]` or each `[[mailboxes]]` of `sladesk.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImapSettings {
    /// What the mailbox is called in health, metrics and notices (default:
    /// the user and host).
    pub name: Option<String>,
    pub host: String,
    /// Default 993 for `tls`, 143 otherwise.
    pub port: Option<u16>,
    #[serde(default)]
    pub security: Security,
    pub user: String,
    /// The password; `SLADESK_IMAP_PASSWORD` in the environment wins.
    #[serde(default)]
    pub password: Option<String>,
    /// The environment variable holding the password (for several mailboxes).
    #[serde(default)]
    pub password_env: Option<String>,
    #[serde(default)]
    pub auth: Auth,
    /// The token flow for `xoauth2` and `oauthbearer`.
    #[serde(default)]
    pub oauth: Option<super::oauth::OAuthSettings>,
    /// After this many minutes of failing, staff are told once (and once
    /// more when it recovers). Default 15.
    #[serde(default = "default_notice_minutes")]
    pub notice_after_minutes: u32,
    #[serde(default = "default_folder")]
    pub folder: String,
    /// Move taken messages here (created if missing); without it they are
    /// marked `\Seen` and stay where they are.
    #[serde(default)]
    pub processed_folder: Option<String>,
    #[serde(default = "default_interval")]
    pub interval_seconds: u64,
    /// PEM file of the CA that signed the server's certificate, for a
    /// private CA; the public web roots are trusted otherwise.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// At most this many messages per poll.
    #[serde(default = "default_batch")]
    pub batch: usize,
}

fn default_notice_minutes() -> u32 {
    15
}

fn default_folder() -> String {
    "INBOX".into()
}
fn default_interval() -> u64 {
    30
}
fn default_batch() -> usize {
    50
}

impl ImapSettings {
    /// The port given, else 993 over TLS and 143 otherwise.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or(match self.security {
            Security::Tls => 993,
            _ => 143,
        })
    }

    /// The key the position is stored under: one per mailbox and folder.
    /// The mailbox's name in health, metrics and notices.
    pub fn name(&self) -> String {
        self.name
            .clone()
            .unwrap_or_else(|| format!("{}@{}", self.user, self.host))
    }

    pub fn source(&self) -> String {
        format!("imap://{}@{}:{}/{}", self.user, self.host, self.port(), self.folder)
    }
}

/// Why a poll of the mailbox failed.
#[derive(Debug, thiserror::Error)]
pub enum PollError {
    #[error("IMAP: {0}")]
    Imap(#[from] imap::Error),
    #[error("IMAP connection: {0}")]
    Io(#[from] std::io::Error),
    #[error("IMAP TLS: {0}")]
    Tls(String),
    #[error("IMAP: {0}")]
    Protocol(String),
    #[error(transparent)]
    Store(#[from] AppError),
    #[error("OAuth: {0}")]
    Token(String),
}

/// A SASL initial response, sent whatever the server's challenge.
struct Sasl(String);

impl imap::Authenticator for Sasl {
    type Response = String;
    fn process(&self, _challenge: &[u8]) -> String {
        self.0.clone()
    }
}

trait Stream: Read + Write + Send {}
impl<T: Read + Write + Send> Stream for T {}

type Session = imap::Session<Box<dyn Stream>>;

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollReport {
    /// Messages committed (tickets, replies, duplicates, ignored, quarantined).
    pub taken: usize,
    /// Messages that can never be accepted, left flagged in the folder.
    pub refused: usize,
}

/// Polls one IMAP mailbox and hands each new message to intake.
pub struct Poller {
    settings: ImapSettings,
    password: String,
    tokens: Option<super::oauth::TokenSource>,
    tls: Option<Arc<rustls::ClientConfig>>,
    session: Option<Session>,
    /// Whether this connection has marked or moved what earlier runs
    /// committed but did not get to mark.
    tidied: bool,
}

impl Poller {
    /// A poller for the mailbox the settings name; settings that cannot work
    /// are refused.
    pub fn new(settings: ImapSettings) -> anyhow::Result<Poller> {
        let name = settings.name();
        let (password, tokens) = match settings.auth {
            Auth::Password => {
                let password = match &settings.password_env {
                    Some(var) => {
                        std::env::var(var).with_context(|| format!("mailbox {name}: the environment has no {var}"))?
                    }
                    None => std::env::var("SLADESK_IMAP_PASSWORD")
                        .ok()
                        .or_else(|| settings.password.clone())
                        .with_context(|| {
                            format!("mailbox {name}: no password (set password, password_env or SLADESK_IMAP_PASSWORD)")
                        })?,
                };
                (password, None)
            }
            Auth::Xoauth2 | Auth::Oauthbearer => {
                let oauth = settings
                    .oauth
                    .clone()
                    .with_context(|| format!("mailbox {name}: auth = {:?} needs [oauth]", settings.auth))?;
                let tokens = super::oauth::TokenSource::new(oauth).with_context(|| format!("mailbox {name}"))?;
                (String::new(), Some(tokens))
            }
        };
        let tls = match settings.security {
            Security::None => None,
            _ => Some(Arc::new(tls_config(settings.ca_file.as_ref())?)),
        };
        Ok(Poller {
            settings,
            password,
            tokens,
            tls,
            session: None,
            tidied: false,
        })
    }

    /// How many access tokens were fetched so far (none with a password).
    pub fn tokens_fetched(&self) -> u32 {
        self.tokens.as_ref().map_or(0, |t| t.fetched)
    }

    pub fn settings(&self) -> &ImapSettings {
        &self.settings
    }

    fn connect(&mut self) -> Result<Session, PollError> {
        let s = &self.settings;
        let addr = (s.host.as_str(), s.port())
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| PollError::Protocol(format!("{} has no address", s.host)))?;
        let tcp = TcpStream::connect_timeout(&addr, Duration::from_secs(15))?;
        // A server that stops answering must not hang the poller forever.
        tcp.set_read_timeout(Some(Duration::from_secs(120)))?;
        tcp.set_write_timeout(Some(Duration::from_secs(120)))?;
        let client = match s.security {
            Security::None => {
                let mut c = imap::Client::new(Box::new(tcp) as Box<dyn Stream>);
                c.read_greeting()?;
                c
            }
            Security::Tls => {
                let mut c = imap::Client::new(Box::new(self.wrap(tcp)?) as Box<dyn Stream>);
                c.read_greeting()?;
                c
            }
            Security::Starttls => {
                let tcp = starttls(tcp, &s.host)?;
                // No greeting follows STARTTLS.
                imap::Client::new(Box::new(self.wrap(tcp)?) as Box<dyn Stream>)
            }
        };
        let mut session = match s.auth {
            Auth::Password => client.login(&s.user, &self.password).map_err(|(e, _)| e)?,
            Auth::Xoauth2 | Auth::Oauthbearer => {
                let tokens = self.tokens.as_mut().expect("made with the poller");
                let token = tokens.token().map_err(PollError::Token)?;
                let response = match s.auth {
                    Auth::Xoauth2 => super::oauth::xoauth2(&s.user, &token),
                    _ => super::oauth::oauthbearer(&s.user, &s.host, s.port(), &token),
                };
                let mechanism = if s.auth == Auth::Xoauth2 {
                    "XOAUTH2"
                } else {
                    "OAUTHBEARER"
                };
                match client.authenticate(mechanism, &Sasl(response)) {
                    Ok(session) => session,
                    Err((e, _)) => {
                        // Revoked or expired early: the next try fetches a new one.
                        tokens.invalidate();
                        return Err(e.into());
                    }
                }
            }
        };
        if let Some(folder) = &s.processed_folder
            && session.create(folder).is_err()
        {
            // Most often: it exists already. Any other trouble shows at the first move.
            tracing::debug!(folder, "processed folder not created");
        }
        Ok(session)
    }

    fn wrap(&self, tcp: TcpStream) -> Result<rustls::StreamOwned<rustls::ClientConnection, TcpStream>, PollError> {
        let config = self
            .tls
            .clone()
            .ok_or_else(|| PollError::Tls("no TLS configuration".into()))?;
        let name = rustls::pki_types::ServerName::try_from(self.settings.host.clone())
            .map_err(|e| PollError::Tls(format!("{}: {e}", self.settings.host)))?;
        let conn = rustls::ClientConnection::new(config, name).map_err(|e| PollError::Tls(e.to_string()))?;
        let mut stream = rustls::StreamOwned::new(conn, tcp);
        // Handshake now, so a certificate problem is reported as such.
        while stream.conn.is_handshaking() {
            stream
                .conn
                .complete_io(&mut stream.sock)
                .map_err(|e| PollError::Tls(e.to_string()))?;
        }
        Ok(stream)
    }

    /// Takes in what is new in the folder, up to `batch` messages.
    pub fn poll_once(&mut self, app: &App) -> Result<PollReport, PollError> {
        // A session signed in with a token near its end signs in again
        // with a new one, before the server ends it for us.
        if self.tokens.as_ref().is_some_and(|t| t.due())
            && let Some(mut old) = self.session.take()
        {
            let _ = old.logout();
        }
        if self.session.is_none() {
            self.session = Some(self.connect()?);
            self.tidied = false;
        }
        let result = self.poll_session(app);
        if let Err(e) = &result
            && !matches!(e, PollError::Store(_))
        {
            // The connection is in an unknown state: start afresh next time.
            self.session = None;
        }
        result
    }

    fn poll_session(&mut self, app: &App) -> Result<PollReport, PollError> {
        let source = self.settings.source();
        let settings = self.settings.clone();
        let session = self.session.as_mut().expect("connected above");
        let mut report = PollReport::default();
        let mailbox = session.select(&settings.folder)?;
        session.take_all_unsolicited().for_each(drop);
        let validity = i64::from(
            mailbox
                .uid_validity
                .ok_or_else(|| PollError::Protocol("the server gives no UIDVALIDITY".into()))?,
        );
        let last = match app.mailbox_position(&source)? {
            Some(p) if p.uid_validity == validity => p.last_uid,
            Some(p) => {
                tracing::warn!(
                    source,
                    old = p.uid_validity,
                    new = validity,
                    "UIDVALIDITY changed: reading the folder again (Message-IDs keep this from making doubles)"
                );
                0
            }
            None => 0,
        };
        if !self.tidied {
            if last > 0 {
                let pending = session.uid_search(format!("UID 1:{last} UNFLAGGED"))?;
                let mut pending: Vec<u32> = pending.into_iter().collect();
                pending.sort_unstable();
                for chunk in pending.chunks(200) {
                    let set = chunk.iter().map(|u| u.to_string()).collect::<Vec<_>>().join(",");
                    after_commit(session, &settings, &set)?;
                }
            }
            self.tidied = true;
        }
        if mailbox.uid_next.is_some_and(|next| i64::from(next) <= last + 1) {
            return Ok(report);
        }
        // `n:*` always matches the highest UID, even one below n.
        let mut uids: Vec<u32> = session
            .uid_search(format!("UID {}:*", last + 1))?
            .into_iter()
            .filter(|u| i64::from(*u) > last)
            .collect();
        uids.sort_unstable();
        uids.truncate(settings.batch.max(1));
        for uid in uids {
            let fetched = session.uid_fetch(uid.to_string(), "(UID BODY.PEEK[])")?;
            let position = MailboxPosition {
                source: source.clone(),
                uid_validity: validity,
                last_uid: i64::from(uid),
            };
            let Some(raw) = fetched.iter().find(|f| f.uid == Some(uid)).and_then(|f| f.body()) else {
                // Expunged by someone else since the search.
                app.set_mailbox_position(&position)?;
                continue;
            };
            match app.ingest_at(raw, "imap", crate::app::now(), Some(&position)) {
                Ok(outcome) => {
                    if matches!(outcome, IngestOutcome::Duplicate { .. }) {
                        app.set_mailbox_position(&position)?;
                    }
                    tracing::info!(uid, outcome = ?outcome, "imap message taken");
                    report.taken += 1;
                    after_commit(session, &settings, &uid.to_string())?;
                }
                Err(IngestFailure::Unacceptable(reason)) => {
                    tracing::warn!(uid, %reason, "imap message refused; left flagged in the folder");
                    app.set_mailbox_position(&position)?;
                    session.uid_store(uid.to_string(), "+FLAGS.SILENT (\\Flagged)")?;
                    report.refused += 1;
                }
                // Transient: the position did not move, the next poll tries again.
                Err(IngestFailure::Failed(e)) => return Err(e.into()),
            }
        }
        session.take_all_unsolicited().for_each(drop);
        Ok(report)
    }
}

/// The plain-text part of STARTTLS (RFC 3501 6.2.1), done by hand because
/// the client library only offers it with its own TLS stack: the greeting,
/// then `STARTTLS` and its tagged answer, read a byte at a time so nothing
/// of the handshake that follows is swallowed.
fn starttls(mut tcp: TcpStream, host: &str) -> Result<TcpStream, PollError> {
    fn line(tcp: &mut TcpStream) -> Result<String, PollError> {
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n") {
            if tcp.read(&mut byte)? == 0 || buf.len() > 8192 {
                return Err(PollError::Protocol("connection closed before STARTTLS".into()));
            }
            buf.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&buf).trim_end().to_string())
    }
    let greeting = line(&mut tcp)?;
    if !greeting.starts_with("* OK") {
        return Err(PollError::Protocol(format!("{host} greets with: {greeting}")));
    }
    tcp.write_all(b"s0 STARTTLS\r\n")?;
    loop {
        let answer = line(&mut tcp)?;
        if let Some(rest) = answer.strip_prefix("s0 ") {
            if rest.starts_with("OK") {
                return Ok(tcp);
            }
            return Err(PollError::Protocol(format!("{host} refuses STARTTLS: {rest}")));
        }
    }
}

/// Marks taken messages seen, or moves them to the processed folder.
fn after_commit(session: &mut Session, settings: &ImapSettings, uid_set: &str) -> Result<(), PollError> {
    match &settings.processed_folder {
        Some(folder) => session.uid_mv(uid_set, folder)?,
        None => {
            session.uid_store(uid_set, "+FLAGS.SILENT (\\Seen)")?;
        }
    }
    Ok(())
}

fn tls_config(ca_file: Option<&PathBuf>) -> anyhow::Result<rustls::ClientConfig> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    match ca_file {
        Some(path) => {
            let name = || path.display().to_string();
            let certs = CertificateDer::pem_file_iter(path)
                .with_context(name)?
                .collect::<Result<Vec<_>, _>>()
                .with_context(name)?;
            if certs.is_empty() {
                anyhow::bail!("{}: no certificate in it", path.display());
            }
            for cert in certs {
                roots.add(cert).with_context(name)?;
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Polls each mailbox every `interval_seconds` on a thread of its own for
/// as long as the process runs: one failing never holds up another.
/// Failures are logged and retried, and each poll's outcome goes into the
/// mailbox's health (`App::mailbox_polled`), which tells staff once when a
/// mailbox has failed for `notice_after_minutes` and once when it recovers.
pub fn spawn_imap_pollers(app: Arc<App>, mailboxes: Vec<ImapSettings>) -> anyhow::Result<Stop> {
    let stop = Stop(Arc::new(std::sync::atomic::AtomicBool::new(false)));
    let mut names = std::collections::HashSet::new();
    for m in &mailboxes {
        if !names.insert(m.name()) {
            anyhow::bail!("two mailboxes are called '{}': give each its own name", m.name());
        }
    }
    let pollers = mailboxes
        .into_iter()
        .map(Poller::new)
        .collect::<anyhow::Result<Vec<_>>>()?;
    for mut poller in pollers {
        let app = app.clone();
        let name = poller.settings.name();
        let interval = Duration::from_secs(poller.settings.interval_seconds.max(1));
        let notice_after = chrono::Duration::minutes(i64::from(poller.settings.notice_after_minutes));
        let stopped = stop.0.clone();
        std::thread::Builder::new()
            .name(format!("imap {name}"))
            .spawn(move || {
                while !stopped.load(std::sync::atomic::Ordering::Relaxed) {
                    let result = poller.poll_once(&app);
                    let error = result.as_ref().err().map(|e| e.to_string());
                    if let Err(e) = app.mailbox_polled(&name, error.as_deref(), notice_after, crate::app::now()) {
                        tracing::warn!(mailbox = %name, error = %e, "mailbox health not recorded");
                    }
                    match result {
                        // A full batch: more is waiting, go on at once.
                        Ok(r) if r.taken + r.refused >= poller.settings.batch => continue,
                        Ok(r) if r.taken + r.refused > 0 => {
                            tracing::info!(mailbox = %name, taken = r.taken, refused = r.refused, "imap poll")
                        }
                        Ok(_) => {}
                        Err(e) => tracing::warn!(mailbox = %name, error = %e, "imap poll"),
                    }
                    std::thread::sleep(interval);
                }
            })
            .context("starting an IMAP thread")?;
    }
    Ok(stop)
}

/// Stops the pollers `spawn_imap_pollers` started, each after its poll
/// under way (a server never stops them; tests do).
pub struct Stop(Arc<std::sync::atomic::AtomicBool>);

impl Stop {
    pub fn stop(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
