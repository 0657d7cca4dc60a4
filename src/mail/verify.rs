//! `sender_authentication = "verify"`: DKIM and DMARC checked in this
//! process with mail-auth, asking a DNS resolver for the keys and policies.
//!
//! SPF is not checked: it needs the SMTP client's address and envelope
//! sender, which sladesk never sees (mail reaches it after the MTA, by
//! pipe, IMAP or HTTP). DMARC therefore rests on an aligned DKIM signature;
//! a domain that publishes an enforcing policy but signs nothing fails it.
//! Where the MTA checks SPF, prefer `header`.
//!
//! mail-auth is asynchronous; intake is not, and runs on threads that
//! belong to another runtime. So each verifier has a small runtime of its
//! own, and a check is handed to it and waited for, with a deadline.

use anyhow::Context;
use std::sync::mpsc;
use std::time::Duration;

use mail_auth::dmarc::Policy;
use mail_auth::dmarc::verify::DmarcParameters;
use mail_auth::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use mail_auth::{AuthenticatedMessage, DmarcResult, MessageAuthenticator, SpfOutput};

use crate::app::sender_auth::{SenderCheck, Verdict};

/// How long one message's checks may wait on DNS, all together.
const DEADLINE: Duration = Duration::from_secs(10);

/// Checks a message's sender (SPF, DKIM, DMARC) over DNS, with a deadline.
pub struct Verifier {
    /// Always `Some` until dropped.
    runtime: Option<tokio::runtime::Runtime>,
    authenticator: std::sync::Arc<MessageAuthenticator>,
}

impl Drop for Verifier {
    /// The application may be dropped on an async thread, where a runtime
    /// may not block to shut down: let it go in the background.
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Verifier {
    /// A verifier asking `resolver` (`host:port`), or the system's resolver.
    pub fn new(resolver: Option<&str>) -> anyhow::Result<Verifier> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sender-verify")
            .enable_all()
            .build()
            .context("sender verification")?;
        let authenticator = {
            // hickory builds its resolver inside a runtime.
            let _entered = runtime.enter();
            match resolver {
                Some(addr) => {
                    let addr: std::net::SocketAddr = addr
                        .parse()
                        .map_err(|_| anyhow::anyhow!("dns_resolver: '{addr}' is not an address and port"))?;
                    let mut opts = ResolverOpts::default();
                    opts.timeout = Duration::from_secs(3);
                    opts.attempts = 2;
                    let mut server = NameServerConfig::udp_and_tcp(addr.ip());
                    for c in &mut server.connections {
                        c.port = addr.port();
                    }
                    let config = ResolverConfig::from_parts(None, vec![], vec![server]);
                    MessageAuthenticator::new(config, opts)
                }
                None => MessageAuthenticator::new_system_conf(),
            }
            .context("sender verification: the resolver")?
        };
        Ok(Verifier {
            runtime: Some(runtime),
            authenticator: std::sync::Arc::new(authenticator),
        })
    }

    /// The verdict on a raw message; `Unknown` if the checks could not be
    /// made in time (a DNS outage must not quarantine everyone's mail).
    pub fn verdict(&self, raw: &[u8]) -> Verdict {
        let (tx, rx) = mpsc::channel();
        let raw = raw.to_vec();
        let auth = self.authenticator.clone();
        let Some(runtime) = &self.runtime else {
            return Verdict::Unknown;
        };
        runtime.spawn(async move {
            let _ = tx.send(check(&auth, &raw).await);
        });
        rx.recv_timeout(DEADLINE).unwrap_or(Verdict::Unknown)
    }
}

impl SenderCheck for Verifier {
    fn verdict(&self, raw: &[u8]) -> Verdict {
        Verifier::verdict(self, raw)
    }
}

async fn check(auth: &MessageAuthenticator, raw: &[u8]) -> Verdict {
    let Some(message) = AuthenticatedMessage::parse(raw) else {
        return Verdict::Unknown;
    };
    let dkim = auth.verify_dkim(&message).await;
    // No SPF (see above): an empty result, which aligns with nothing.
    let spf = SpfOutput::new(String::new());
    let dmarc = auth.verify_dmarc(DmarcParameters::new(&message, &dkim, "", &spf)).await;
    match dmarc.result() {
        DmarcResult::Pass => Verdict::Believed,
        DmarcResult::Fail(_) => match dmarc.policy() {
            Policy::Reject | Policy::Quarantine => Verdict::Forged {
                domain: dmarc.domain().to_string(),
                policy: dmarc.policy().to_string(),
            },
            _ => Verdict::Believed,
        },
        // No DMARC record, or DNS trouble: nothing to act on.
        _ => Verdict::Unknown,
    }
}
