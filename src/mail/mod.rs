//! Outgoing mail: templates (handlebars, strict; shipped in the binary, or
//! from `email_templates`), messages built with lettre, and the send loop
//! (`delivery`) through a lettre transport; `verify`, the sender checks
//! (SPF, DKIM, DMARC) intake asks for. Mail depends on the app, never the
//! reverse: the app decides what is sent, queues it, and hands each claimed
//! row over as an `app::outbox::OutgoingMail`.

pub mod delivery;
pub mod imap;
pub mod oauth;
pub mod verify;

pub use delivery::{DeliveryReport, deliver_outbox};

use std::path::{Path, PathBuf};

use handlebars::Handlebars;
use lettre::Transport;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};

use crate::app::outbox::OutgoingMail;

/// Notification kinds and their templates (`<kind>.subject.hbs`, `.txt.hbs`, `.html.hbs`).
pub const KINDS: [&str; 20] = [
    "acknowledgement",
    "agent_reply",
    "pending_customer",
    "resolved",
    "reopened",
    "closed",
    "sla_warning",
    "sla_breach",
    "sla_customer_notice",
    "rejected",
    "monthly_report",
    "reopen_request",
    "sign_in_throttled",
    "status_confirm",
    "status_update",
    "approval_request",
    "request_update",
    "mailbox_health",
    "webhook_disabled",
    "dispute_decided",
];

/// Why a mail could not be built or sent.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("{path}: {message}")]
    Template { path: String, message: String },
    #[error("rendering {kind}: {message}")]
    Render { kind: String, message: String },
    #[error("building the message: {0}")]
    Build(String),
    #[error("sending: {0}")]
    Send(String),
}

/// The loaded templates: subjects and text without escaping, HTML with
/// every value HTML-escaped; all strict, so a missing value is an error,
/// never an empty gap in a customer's mail.
pub struct Templates {
    plain: Handlebars<'static>,
    html: Handlebars<'static>,
}

impl Templates {
    /// The templates in `dir`, or the shipped ones (compiled in) without one.
    pub fn load_or_shipped(dir: Option<&Path>) -> Result<Templates, MailError> {
        match dir {
            Some(d) => Templates::load(d),
            None => Templates::shipped(),
        }
    }

    /// The templates sladesk ships, compiled into the binary.
    pub fn shipped() -> Result<Templates, MailError> {
        Templates::build(|file| {
            crate::shipped::find(crate::shipped::EMAIL_TEMPLATES, file)
                .map(|t| (format!("(built in) templates/email/{file}"), t.to_string()))
                .ok_or_else(|| MailError::Template {
                    path: format!("(built in) templates/email/{file}"),
                    message: "not shipped".into(),
                })
        })
    }

    /// Every kind's three templates from `dir`; a missing one is an error.
    pub fn load(dir: &Path) -> Result<Templates, MailError> {
        Templates::build(|file| {
            let path = dir.join(file);
            let text = std::fs::read_to_string(&path).map_err(|e| MailError::Template {
                path: path.display().to_string(),
                message: format!("cannot read: {e}"),
            })?;
            Ok((path.display().to_string(), text))
        })
    }

    /// `read` gives a template file's (name shown in errors, text).
    fn build(read: impl Fn(&str) -> Result<(String, String), MailError>) -> Result<Templates, MailError> {
        let mut plain = Handlebars::new();
        plain.set_strict_mode(true);
        plain.register_escape_fn(handlebars::no_escape);
        let mut html = Handlebars::new();
        html.set_strict_mode(true);
        for kind in KINDS {
            for part in ["subject", "txt", "html"] {
                let reg = if part == "html" { &mut html } else { &mut plain };
                let (shown, text) = read(&format!("{kind}.{part}.hbs"))?;
                reg.register_template_string(&format!("{kind}.{part}"), text)
                    .map_err(|e| MailError::Template {
                        path: shown,
                        message: e.to_string(),
                    })?;
            }
        }
        Ok(Templates { plain, html })
    }

    /// Subject, plain text and HTML of a notification.
    pub fn render(&self, kind: &str, context: &serde_json::Value) -> Result<(String, String, String), MailError> {
        let err = |e: handlebars::RenderError| MailError::Render {
            kind: kind.to_string(),
            message: e.to_string(),
        };
        let subject = self.plain.render(&format!("{kind}.subject"), context).map_err(err)?;
        // A subject is one line whatever the data holds: no header injection.
        let subject = subject.replace(['\r', '\n'], " ").trim().to_string();
        let text = self.plain.render(&format!("{kind}.txt"), context).map_err(err)?;
        let html = self.html.render(&format!("{kind}.html"), context).map_err(err)?;
        Ok((subject, text, html))
    }
}

/// `Auto-Submitted` (RFC 3834): our mail must never start a loop.
#[derive(Clone)]
struct AutoSubmitted(&'static str);

impl Header for AutoSubmitted {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("Auto-Submitted")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(AutoSubmitted(if s.trim() == "auto-replied" {
            "auto-replied"
        } else {
            "auto-generated"
        }))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), self.0.to_string())
    }
}

/// `List-Unsubscribe` (RFC 2369) with `List-Unsubscribe-Post` (RFC 8058):
/// a mail client's "unsubscribe" button POSTs to the link, one click.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(
            s.trim().trim_start_matches('<').trim_end_matches('>').to_string(),
        ))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".to_string())
    }
}

/// Builds the message of a notification, with the files it carries.
pub fn build(row: &OutgoingMail, templates: &Templates, from: &Mailbox) -> Result<lettre::Message, MailError> {
    let files = &row.files;
    let (subject, text, html) = templates.render(&row.kind, &row.context)?;
    let to: Mailbox = row
        .to_address
        .parse()
        .map_err(|e| MailError::Build(format!("to {}: {e}", row.to_address)))?;
    let mut b = lettre::Message::builder()
        .from(from.clone())
        .to(to)
        .subject(subject)
        .message_id(Some(format!("<{}>", row.message_id)));
    // RFC 3834: an agent's reply is written by a person and carries no
    // Auto-Submitted; everything sladesk writes by itself does.
    match row.kind.as_str() {
        "agent_reply" => {}
        "acknowledgement" | "rejected" => b = b.header(AutoSubmitted("auto-replied")),
        _ => b = b.header(AutoSubmitted("auto-generated")),
    }
    // A status update goes to a list of subscribers: each carries its own
    // one-click way out. The link is ours (a token in a path), never text
    // a person typed, and a line break in it would be refused.
    if let Some(url) = row.context.get("unsubscribe_url").and_then(|u| u.as_str()) {
        if url.contains(['\r', '\n', '<', '>']) {
            return Err(MailError::Build(
                "an unsubscribe link with a line break or angle bracket".into(),
            ));
        }
        b = b.header(ListUnsubscribe(url.to_string())).header(ListUnsubscribePost);
    }
    if let Some(parent) = &row.in_reply_to {
        b = b.in_reply_to(format!("<{parent}>")).references(format!("<{parent}>"));
    }
    let body = MultiPart::alternative_plain_html(text, html);
    if files.is_empty() {
        return b.multipart(body).map_err(|e| MailError::Build(e.to_string()));
    }
    let mut mixed = MultiPart::mixed().multipart(body);
    for f in files {
        // A stored type that does not parse is sent as what it surely is: bytes.
        let ctype = lettre::message::header::ContentType::parse(&f.content_type).unwrap_or_else(|_| {
            lettre::message::header::ContentType::parse("application/octet-stream").expect("valid")
        });
        // Always base64: a file is sent as its bytes. Left to choose, lettre
        // sends a plain-text file with bare LF line ends as 7bit, which SMTP
        // reads as one over-long line (a real server refused it: 500).
        let body = lettre::message::Body::new_with_encoding(
            f.data.clone(),
            lettre::message::header::ContentTransferEncoding::Base64,
        )
        .map_err(|_| MailError::Build(format!("{}: cannot encode", f.name)))?;
        mixed = mixed.singlepart(lettre::message::Attachment::new(f.name.clone()).body(body, ctype));
    }
    b.multipart(mixed).map_err(|e| MailError::Build(e.to_string()))
}

/// `[smtp_oauth]` in sladesk.toml: who signs in to SMTP, and how its
/// tokens are got.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpOAuthSettings {
    pub user: String,
    pub oauth: oauth::OAuthSettings,
}

/// Where delivered mail goes.
pub enum Outbound {
    /// A folder of `.eml` files: the embedded default, works offline.
    Folder(PathBuf),
    /// An SMTP server, from a URL: `smtp://host:25` (plain, or
    /// `?tls=required` for STARTTLS), `smtps://user:password@host:465`
    /// (TLS); credentials in the URL authenticate.
    Smtp(Box<lettre::SmtpTransport>),
    /// An SMTP server that takes an OAuth token (XOAUTH2: Microsoft 365,
    /// Google): the transport is made again whenever the token is.
    SmtpOAuth(Box<SmtpOAuth>),
}

/// SMTP with XOAUTH2: the transport's settings, the mailbox's tokens, and
/// the transport made with the token in use.
pub struct SmtpOAuth {
    builder: lettre::transport::smtp::SmtpTransportBuilder,
    user: String,
    state: std::sync::Mutex<(oauth::TokenSource, Option<(String, lettre::SmtpTransport)>)>,
}

impl SmtpOAuth {
    fn transport(&self) -> Result<lettre::SmtpTransport, MailError> {
        use lettre::transport::smtp::authentication::{Credentials, Mechanism};
        let mut state = self.state.lock().expect("lock");
        let token = state.0.token().map_err(MailError::Send)?;
        if let Some((held, t)) = &state.1
            && *held == token
        {
            return Ok(t.clone());
        }
        let t = self
            .builder
            .clone()
            .credentials(Credentials::new(self.user.clone(), token.clone()))
            .authentication(vec![Mechanism::Xoauth2])
            .build();
        state.1 = Some((token, t.clone()));
        Ok(t)
    }

    fn refused(&self) {
        self.state.lock().expect("lock").0.invalidate();
    }
}

impl Outbound {
    /// SMTP when a URL is given, else the folder. `ca_file` (PEM) is the
    /// CA to trust for the server's certificate instead of the public
    /// roots: for a relay inside the provider's own network.
    pub fn new(folder: PathBuf, smtp_url: Option<&str>, ca_file: Option<&Path>) -> Result<Outbound, MailError> {
        Outbound::with_oauth(folder, smtp_url, ca_file, None)
    }

    /// The same, signing in to SMTP with XOAUTH2 when `oauth` is given
    /// (`[smtp_oauth]`: the user and the token flow).
    pub fn with_oauth(
        folder: PathBuf,
        smtp_url: Option<&str>,
        ca_file: Option<&Path>,
        oauth: Option<&SmtpOAuthSettings>,
    ) -> Result<Outbound, MailError> {
        let Some(url) = smtp_url else {
            return Ok(Outbound::Folder(folder));
        };
        let bad = |e: String| MailError::Send(format!("smtp_url: {e}"));
        let mut builder = lettre::SmtpTransport::from_url(url).map_err(|e| bad(e.to_string()))?;
        if let Some(ca) = ca_file {
            use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
            let parsed = url::Url::parse(url).map_err(|e| bad(e.to_string()))?;
            let host = parsed.host_str().ok_or_else(|| bad("no host".into()))?.to_string();
            let pem = std::fs::read(ca).map_err(|e| MailError::Send(format!("{}: {e}", ca.display())))?;
            let cert = Certificate::from_pem(&pem).map_err(|e| MailError::Send(format!("{}: {e}", ca.display())))?;
            let params = TlsParameters::builder(host)
                .certificate_store(lettre::transport::smtp::client::CertificateStore::None)
                .add_root_certificate(cert)
                .build_rustls()
                .map_err(|e| MailError::Send(format!("{}: {e}", ca.display())))?;
            let tls = parsed
                .query_pairs()
                .find(|(k, _)| k == "tls")
                .map(|(_, v)| v.to_string());
            builder = builder.tls(match (parsed.scheme(), tls.as_deref()) {
                ("smtps", _) => Tls::Wrapper(params),
                (_, Some("required")) => Tls::Required(params),
                (_, Some("opportunistic")) => Tls::Opportunistic(params),
                _ => return Err(bad("smtp_ca_file needs TLS: smtps://, or ?tls=required".into())),
            });
        }
        let builder = builder.timeout(Some(std::time::Duration::from_secs(30)));
        if let Some(o) = oauth {
            let tokens = oauth::TokenSource::new(o.oauth.clone())
                .map_err(|e| MailError::Send(format!("[smtp_oauth]: {e:#}")))?;
            return Ok(Outbound::SmtpOAuth(Box::new(SmtpOAuth {
                builder,
                user: o.user.clone(),
                state: std::sync::Mutex::new((tokens, None)),
            })));
        }
        Ok(Outbound::Smtp(Box::new(builder.build())))
    }

    /// Hands a message to the transport.
    pub fn send(&self, message: &lettre::Message) -> Result<(), MailError> {
        match self {
            // A returned Ok is the server's 250 for the message.
            Outbound::Smtp(t) => t.send(message).map(|_| ()).map_err(|e| MailError::Send(e.to_string())),
            Outbound::SmtpOAuth(o) => o.transport()?.send(message).map(|_| ()).map_err(|e| {
                // A refused token (revoked, or ended early) is not used again.
                if e.is_permanent() {
                    o.refused();
                }
                MailError::Send(e.to_string())
            }),
            Outbound::Folder(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| MailError::Send(format!("{}: {e}", dir.display())))?;
                lettre::FileTransport::new(dir)
                    .send(message)
                    .map(|_| ())
                    .map_err(|e| MailError::Send(e.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_escape_html_and_keep_subjects_on_one_line() {
        let t = Templates::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email"))).unwrap();
        let ctx = serde_json::json!({
            "reference": "SD-000001", "subject": "Evil\r\nBcc: victim@example.org <script>",
            "severity": 2, "severity_title": "Major", "requester_name": "<b>Carol</b>",
            "greeting": "Hello <b>Carol</b>,", "ticket_url": "http://localhost:8080/tickets/SD-000001",
            "response_due": "09:00 on Monday 30 November 2026", "resolve_due": null, "desk_name": "Desk"
        });
        let (subject, text, html) = t.render("acknowledgement", &ctx).unwrap();
        assert!(!subject.contains('\n') && !subject.contains('\r'), "{subject:?}");
        assert!(text.contains("Hello <b>Carol</b>"), "plain text is not HTML-escaped");
        assert!(html.contains("Hello &lt;b&gt;Carol&lt;/b&gt;"), "{html}");
        assert!(!text.contains("aim to resolve"), "no resolve target, no promise");
        let missing = serde_json::json!({"reference": "SD-000001"});
        assert!(
            t.render("acknowledgement", &missing).is_err(),
            "strict: a missing value is an error"
        );
        // Mail queued before watchers existed carries no `watching`: it
        // still renders, as to the requester.
        let before = serde_json::json!({
            "reference": "SD-000001", "subject": "s", "body": "b", "agent_name": "a", "desk_name": "d",
            "ticket_url": "u", "attached": [], "linked": []
        });
        let (_, text, _) = t.render("agent_reply", &before).unwrap();
        assert!(!text.contains("you watch"), "{text}");
    }

    #[test]
    fn every_kind_renders_both_parts_with_its_values_escaped() {
        let t = Templates::load(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/email"))).unwrap();
        let evil = "<i>x</i> & \"y\"";
        let ctx = serde_json::json!({
            "reference": "SD-000042", "subject": evil, "severity": 1, "severity_title": "Critical",
            "status": "open", "requester_name": evil, "agent_name": evil, "body": evil,
            "response_due": "09:00 on Monday 30 November 2026", "resolve_due": "17:30 on Monday 30 November 2026",
            "reopen_until": "17:30 on Monday 7 December 2026", "reopen_window": "5bd",
            "organisation": evil, "queue": "service-desk", "assignee": "nobody", "clock": "resolve",
            "due": "17:30 on Monday 30 November 2026", "escalation": "queue lead", "desk_name": "Desk",
            "reason": evil, "requester": evil, "email": evil, "client": evil, "everywhere": false,
            "until": "09:15 on Monday 30 November 2026",
            "due_short": "17:30 Mon 30 Nov", "left": "15 min 00 s", "threshold": "75% of the 1 h response target",
            "reached": "17:15 on Monday 30 November 2026", "ticket_url": "http://localhost:8080/tickets/SD-000042",
            "breach": true, "clock_words": "resolution", "greeting": evil,
            "watching": true, "raised_by": evil,
            "item_name": evil, "answers": [{ "label": evil, "value": evil }], "status_title": "approved",
            "comment": evil, "by_name": evil,
        });
        let status = serde_json::json!({
            "mailbox": "support", "recovered": false, "failing_since": "09:15 on Monday 30 November 2026",
            "failures": 4, "error": evil, "name": evil, "url": "https://hooks.example/x", "days": 3,
            "confirmed": false, "manage_url": "http://localhost:8080/status/subscriptions/ab12",
            "status_url": "http://localhost:8080/status", "outage_name": evil, "headline": "Identified",
            "maintenance": true, "start": "22:00 on Monday 30 November 2026", "end": null,
            "dispute_id": 7, "month_name": "November 2026", "subject_words": evil, "outcome": "upheld",
            "upheld": true, "adjustment": "£25.00", "reply": evil,
            "dispute_url": "http://localhost:8080/disputes/7",
            "unsubscribe_url": "http://localhost:8080/status/subscriptions/ab12/unsubscribe",
        });
        let mut ctx = ctx;
        for (k, v) in status.as_object().expect("an object") {
            ctx[k] = v.clone();
        }
        // The monthly report's HTML part is the report page itself, escaped
        // when the report was rendered (tested there); the rest take values.
        for kind in KINDS.into_iter().filter(|k| *k != "monthly_report") {
            let (subject, text, html) = t.render(kind, &ctx).unwrap_or_else(|e| panic!("{kind}: {e}"));
            // A refusal is about mail that made no ticket; throttling, about an account.
            assert!(
                kind == "rejected"
                    || kind == "sign_in_throttled"
                    || kind == "mailbox_health"
                    || kind == "webhook_disabled"
                    || kind == "dispute_decided"
                    || kind.starts_with("status_")
                    || subject.contains("[SD-000042]"),
                "{kind}: {subject}"
            );
            assert!(
                text.contains("SD-000042") || text.contains(evil) || kind == "status_confirm",
                "{kind}: {text}"
            );
            assert!(!html.contains("<i>"), "{kind}: an unescaped value in {html}");
            assert!(html.contains("&lt;i&gt;"), "{kind}: {html}");
        }
    }
}
