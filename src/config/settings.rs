//! The settings of a process: flags, `SLADESK_*` environment variables and
//! `sladesk.toml`, merged in that order of precedence, and checked before
//! anything starts.

use anyhow::Context;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::app::App;
use crate::store::DatabaseUrl;

/// Settings after flags, `SLADESK_*` environment variables and the config
/// file have been merged, in that order of precedence.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: String,
    pub database_url: DatabaseUrl,
    /// A directory of SLA policies; `None`: the shipped ones.
    pub policies: Option<PathBuf>,
    pub holidays_file: Option<PathBuf>,
    pub pool_size: u32,
    pub workers: usize,
}

/// `sladesk.toml`: every key optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileSettings {
    pub listen: Option<String>,
    pub database_url: Option<String>,
    pub policies: Option<PathBuf>,
    pub holidays_file: Option<PathBuf>,
    pub pool_size: Option<u32>,
    /// A streaming replica of the PostgreSQL primary, for the reads that may
    /// lag it by the replication delay: reports, the dashboard, search and
    /// exports (`crate::app::replica`). Also `SLADESK_READ_DATABASE_URL`.
    pub read_database_url: Option<String>,
    pub workers: Option<usize>,
    /// Folder the local outbox writes `.eml` files to (default `outbox`).
    pub outbox_dir: Option<PathBuf>,
    /// Folder of the service catalogue's items (default: the shipped ones, built in).
    pub catalogue: Option<PathBuf>,
    /// Folder of the email templates (default: the shipped ones, built in).
    pub email_templates: Option<PathBuf>,
    /// The From of notifications (default `Service desk <desk@sladesk.invalid>`).
    pub mail_from: Option<String>,
    /// Send through SMTP instead of the folder: `smtp://host:25`, `smtps://user:pass@host:465`.
    pub smtp_url: Option<String>,
    /// PEM file of the CA that signed the SMTP server's certificate, for a
    /// private relay; the public roots are trusted otherwise.
    pub smtp_ca_file: Option<PathBuf>,
    /// Read mail from an IMAP folder (see `crate::imap`).
    pub imap: Option<crate::mail::imap::ImapSettings>,
    /// Further mailboxes (`[[mailboxes]]`), each polled on its own.
    pub mailboxes: Option<Vec<crate::mail::imap::ImapSettings>>,
    /// SMTP signed in with an OAuth token (XOAUTH2) rather than a password.
    pub smtp_oauth: Option<crate::mail::SmtpOAuthSettings>,
    /// Mail from senders who are no contact and at no organisation's
    /// domain: `quarantine` (default) or `reply` (refuse with a reply).
    pub unknown_senders: Option<UnknownSenders>,
    /// The most a message's attachments may weigh together, in MB (default
    /// 20); heavier mail is quarantined whole. At most 24 (a message itself
    /// may not exceed 25 MB).
    pub attachment_limit_mb: Option<u32>,
    /// The scheduler's jobs (see `crate::scheduler`).
    pub scheduler: Option<crate::scheduler::SchedulerSettings>,
    /// Whether mail's `From:` is believed: `off`, `header` (the default:
    /// the receiving MTA's `Authentication-Results`, from `authserv_id`)
    /// or `verify` (DKIM and DMARC checked here, see `crate::mail::verify`).
    pub sender_authentication: Option<crate::app::sender_auth::Mode>,
    /// The authserv-id the receiving MTA writes in `Authentication-Results`
    /// (often its host name). Without it, `header` has nothing to believe.
    pub authserv_id: Option<String>,
    /// For `verify`: the DNS resolver to ask (`host:port`); the system's
    /// (`/etc/resolv.conf`) if unset.
    pub dns_resolver: Option<String>,
    /// What one request may cost (see `crate::app::limits`).
    pub limits: Option<crate::app::limits::Limits>,
    /// Where people reach the pages, for the links in mail, e.g.
    /// `https://desk.example.com` (default `http://localhost:8080`).
    pub public_url: Option<String>,
    /// Working days after a month ends before the monthly job closes its
    /// reports (default 5; 0 to 20). Until then the month is provisional.
    pub report_close_after: Option<u32>,
    /// Who may dispute a closed month's report: `any_contact` of the
    /// organisation (the default) or only its `account_contact`.
    pub disputes_raised_by: Option<DisputesRaisedBy>,
    /// Reverse proxies (CIDRs, or single addresses) whose `X-Forwarded-For`
    /// and `Forwarded` headers are believed, for the client's address and
    /// for whether it came over HTTPS. Empty (the default): none.
    pub trusted_proxies: Option<Vec<String>>,
    /// A second address serving `GET /metrics` without a token, for a
    /// scraper on a private network. Unset: `/metrics` only on the main
    /// address, with a token of scope `metrics`.
    pub metrics_listen: Option<String>,
    /// Who may read the status page (`/status` and its data): `public`
    /// (the default) or `signed_in`, for a desk on a private network.
    pub status_page: Option<StatusPage>,
    /// Monitoring alerts (Alertmanager's webhook) into incident tickets and
    /// outages: whom the tickets are for, and the rules from labels to
    /// services. Unset: the webhook refuses alerts.
    pub alerts: Option<crate::app::alerts::AlertSettings>,
    /// `[sso]`: OpenID providers for staff and for organisations.
    pub sso: Option<crate::app::sso::SsoFile>,
}

/// Who may read the status page.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StatusPage {
    /// Anyone.
    #[default]
    Public,
    /// People signed in.
    SignedIn,
}

/// How the server faces the network (limits, proxies, the metrics
/// address), and when months close: settings every command applies.
/// Who may raise an organisation's disputes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DisputesRaisedBy {
    AnyContact,
    AccountContact,
}

#[derive(Debug, Clone)]
pub struct Exposure {
    pub limits: crate::app::limits::Limits,
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub metrics_listen: Option<String>,
    pub report_close_after: u32,
    pub disputes_by_account_contact: bool,
    pub public_url: Option<String>,
    pub status_page: StatusPage,
    pub alerts: Option<crate::app::alerts::AlertSettings>,
    /// Read from `catalogue` when it names a folder.
    pub catalogue: Option<crate::config::catalogue::Catalogue>,
    pub sso: crate::app::sso::SsoSettings,
    /// `read_database_url`, and the size of its pool.
    pub replica: Option<(crate::store::DatabaseUrl, u32)>,
}

impl Exposure {
    /// How the server is reached, from the settings file; refused when a value
    /// cannot work.
    pub fn from_file(f: &FileSettings) -> anyhow::Result<Exposure> {
        let limits = f.limits.clone().unwrap_or_default();
        limits.check().map_err(anyhow::Error::msg)?;
        let trusted_proxies = f
            .trusted_proxies
            .iter()
            .flatten()
            .map(|s| {
                parse_net(s)
                    .map_err(anyhow::Error::msg)
                    .with_context(|| format!("trusted_proxies: '{s}'"))
            })
            .collect::<anyhow::Result<_>>()?;
        let report_close_after = f.report_close_after.unwrap_or(crate::app::reports::DEFAULT_CLOSE_AFTER);
        if report_close_after > 20 {
            anyhow::bail!("report_close_after: {report_close_after} is outside 0 to 20 working days");
        }
        let catalogue = match &f.catalogue {
            Some(dir) => Some(crate::config::catalogue::load(Some(dir)).context("catalogue")?),
            None => None,
        };
        let sso = match &f.sso {
            Some(s) => crate::app::sso::SsoSettings::from_file(s).map_err(anyhow::Error::msg)?,
            None => Default::default(),
        };
        let replica = match std::env::var("SLADESK_READ_DATABASE_URL")
            .ok()
            .filter(|u| !u.is_empty())
            .or(f.read_database_url.clone())
        {
            Some(u) => {
                let url: crate::store::DatabaseUrl = u.parse().context("read_database_url")?;
                if url.backend != crate::store::Backend::Postgres {
                    anyhow::bail!("read_database_url: a replica is a PostgreSQL streaming replica (postgres://…)");
                }
                Some((url, f.pool_size.unwrap_or(16)))
            }
            None => None,
        };
        Ok(Exposure {
            replica,
            sso,
            catalogue,
            limits,
            trusted_proxies,
            metrics_listen: f.metrics_listen.clone(),
            report_close_after,
            disputes_by_account_contact: f.disputes_raised_by == Some(DisputesRaisedBy::AccountContact),
            status_page: f.status_page.unwrap_or_default(),
            alerts: match &f.alerts {
                Some(a) if !(1..=4).contains(&a.severity) => {
                    anyhow::bail!("[alerts] severity: {} is outside 1 to 4", a.severity)
                }
                other => other.clone(),
            },
            public_url: match &f.public_url {
                Some(u) => {
                    let parsed = url::Url::parse(u).with_context(|| format!("public_url: '{u}'"))?;
                    if !matches!(parsed.scheme(), "http" | "https") {
                        anyhow::bail!("public_url: '{u}': expected an http or https address");
                    }
                    Some(u.clone())
                }
                None => None,
            },
        })
    }

    /// Applies it to the application.
    pub fn apply_to(&self, app: &App) {
        app.set_limits(self.limits.clone());
        app.set_trusted_proxies(self.trusted_proxies.clone());
        app.set_report_close_after(self.report_close_after);
        app.set_disputes_by_account_contact(self.disputes_by_account_contact);
        app.set_status_page_public(self.status_page == StatusPage::Public);
        app.set_alert_settings(self.alerts.clone());
        app.set_sso(self.sso.clone());
        if let Some((url, size)) = &self.replica {
            app.set_read_pool(crate::app::replica::ReadPool::new(url, *size));
        }
        if let Some(c) = &self.catalogue {
            app.set_catalogue(c.clone());
        }
        if let Some(u) = &self.public_url {
            app.set_public_url(u);
        }
    }
}

/// A CIDR, or a single address standing for itself.
pub fn parse_net(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| "expected an address or a CIDR such as 10.0.0.0/8".to_string())
}

/// What is done with mail from senders the desk does not know.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UnknownSenders {
    #[default]
    Quarantine,
    Reply,
}

/// Where and how notifications leave, and where mail comes in from.
#[derive(Debug, Clone)]
pub struct MailSettings {
    pub outbox_dir: PathBuf,
    /// A folder of email templates; `None`: the shipped ones.
    pub templates: Option<PathBuf>,
    pub from: String,
    pub smtp_url: Option<String>,
    pub smtp_ca_file: Option<PathBuf>,
    pub smtp_oauth: Option<crate::mail::SmtpOAuthSettings>,
    /// `[imap]` and every `[[mailboxes]]`.
    pub mailboxes: Vec<crate::mail::imap::ImapSettings>,
    pub unknown_senders: UnknownSenders,
    pub attachment_limit_mb: Option<u32>,
    pub sender_authentication: crate::app::sender_auth::Mode,
    pub authserv_id: Option<String>,
    pub dns_resolver: Option<String>,
}

impl MailSettings {
    /// The mail settings of the file, with their defaults.
    pub fn from_file(f: &FileSettings) -> MailSettings {
        MailSettings {
            outbox_dir: f.outbox_dir.clone().unwrap_or_else(|| PathBuf::from("outbox")),
            templates: f.email_templates.clone(),
            from: f
                .mail_from
                .clone()
                .unwrap_or_else(|| "Service desk <desk@sladesk.invalid>".to_string()),
            smtp_url: f.smtp_url.clone(),
            smtp_ca_file: f.smtp_ca_file.clone(),
            smtp_oauth: f.smtp_oauth.clone(),
            mailboxes: f.imap.iter().chain(f.mailboxes.iter().flatten()).cloned().collect(),
            unknown_senders: f.unknown_senders.unwrap_or_default(),
            attachment_limit_mb: f.attachment_limit_mb,
            sender_authentication: f.sender_authentication.unwrap_or_default(),
            authserv_id: f.authserv_id.clone().filter(|s| !s.trim().is_empty()),
            dns_resolver: f.dns_resolver.clone(),
        }
    }

    /// Applies what intake needs to know to the application.
    pub fn apply_to(&self, app: &App) -> anyhow::Result<()> {
        app.set_reply_to_unknown_senders(self.unknown_senders == UnknownSenders::Reply);
        if let Some(mb) = self.attachment_limit_mb {
            app.set_attachment_limit(mb as usize * 1024 * 1024);
        }
        app.set_sender_authentication(self.sender_authentication, self.authserv_id.clone());
        if self.sender_authentication == crate::app::sender_auth::Mode::Verify {
            app.set_sender_verifier(crate::mail::verify::Verifier::new(self.dns_resolver.as_deref())?);
        }
        Ok(())
    }

    /// Settings that are wrong whatever the machine: refused at start.
    pub fn check(&self) -> anyhow::Result<()> {
        if let Some(r) = &self.dns_resolver
            && r.parse::<std::net::SocketAddr>().is_err()
        {
            anyhow::bail!("dns_resolver: '{r}' is not an address and port such as 127.0.0.1:53");
        }
        match self.attachment_limit_mb {
            Some(mb) if !(1..=24).contains(&mb) => Err(anyhow::anyhow!(
                "attachment_limit_mb: {mb} is outside 1 to 24 (a message may not exceed 25 MB)"
            )),
            _ => Ok(()),
        }
    }
}

impl FileSettings {
    /// Reads `path`; a missing default file is no error, a missing named one is.
    pub fn load(path: &Path, named: bool) -> anyhow::Result<FileSettings> {
        match std::fs::read_to_string(path) {
            Ok(text) => super::read_toml(&path.display().to_string(), &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !named => Ok(FileSettings::default()),
            Err(e) => Err(anyhow::Error::new(e).context(format!("{}: cannot read", path.display()))),
        }
    }
}

/// Where the server listens unless told otherwise.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// The embedded database unless told otherwise.
pub const DEFAULT_DATABASE: &str = "sqlite://sladesk.db";

#[cfg(test)]
mod tests {
    use super::*;

    /// The commented examples `sladesk init` writes, uncommented, are
    /// settings sladesk reads: what an operator copies works.
    #[test]
    fn the_init_files_examples_read_back() {
        let text: String = include_str!("../cli/init.toml")
            .lines()
            .map(|l| {
                l.strip_prefix("# ")
                    .filter(|r| r.starts_with('[') || r.contains(" = "))
                    .unwrap_or("")
            })
            .map(|l| l.split("  #").next().unwrap_or(l).trim_end().to_string() + "\n")
            .collect();
        let start = text.find("[[mailboxes]]").expect("the mailbox example");
        let f: FileSettings = toml::from_str(&text[start..]).unwrap_or_else(|e| panic!("{e}\n{}", &text[start..]));
        assert_eq!(f.mailboxes.as_ref().map(Vec::len), Some(1));
        assert!(f.smtp_oauth.is_some());
        let sso = f.sso.expect("[sso]");
        assert_eq!(sso.organisations["acme"].domains, vec!["acme.example".to_string()]);
        assert!(sso.staff.is_some());
    }
}
