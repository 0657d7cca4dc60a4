//! The end-to-end suites: the real server with the real things around it,
//! each started by the test: headless Chromium with axe (`browser`),
//! Dovecot over IMAP (`imap`), aiosmtpd over SMTP with and without TLS
//! (`smtp`), dnsmasq for DKIM and DMARC (`sender_auth`), and Prometheus
//! Alertmanager sending alerts to a `sladesk serve` killed mid-stream
//! (`alertmanager`). Apart from the
//! API suite so that `cargo test --test api` needs only PostgreSQL; both
//! share `tests/api/helpers.rs`.

// Shared with the API suite, which uses the parts this one does not.
#[allow(dead_code)]
#[path = "../api/helpers.rs"]
mod helpers;

// The OpenID provider, shared with the API suite.
#[allow(dead_code)]
#[path = "../api/peers.rs"]
mod peers;

mod alertmanager;
mod browser;
mod desk_tools;
mod dovecot;
mod evidence;
mod imap;
mod incident_chain;
mod itil;
mod mailboxes;
mod sender_auth;
mod smtp;

/// A TCP port nothing listens on now, for a server a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
