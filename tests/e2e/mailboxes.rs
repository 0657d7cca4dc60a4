//! Modern-auth mailboxes against real counterparts: Dovecot taking XOAUTH2
//! and OAUTHBEARER, each token checked at the introspection endpoint of a
//! real OpenID provider (the npm `oidc-provider`), whose client-credentials
//! tokens live four seconds. Two mailboxes poll on threads of their own:
//! one takes mail, its token expiring and refreshed under it; the other
//! fails (its folder is missing) without holding up the first, admins are
//! told once, and told again when it recovers.

use std::time::{Duration, Instant};

use serde_json::Value;
use sladesk::mail::imap::{ImapSettings, spawn_imap_pollers};

use crate::dovecot::{Dovecot, OAUTH_USER};
use crate::helpers::{Db, TestApp, spawn_app};
use crate::peers::Idp;

crate::both_backends!(oauth_mailboxes_refresh_their_tokens_and_fail_alone);

const SECRET: &str = "mail-client-secret-0123456789abcdef";

fn mail(subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Mon, 30 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{subject}: details.\r\n"
    )
    .into_bytes()
}

fn mailbox(name: &str, folder: &str, auth: &str, imap: &Dovecot, idp: &Idp) -> ImapSettings {
    toml::from_str(&format!(
        r#"
        name = "{name}"
        host = "127.0.0.1"
        port = {port}
        security = "none"
        user = "{OAUTH_USER}"
        auth = "{auth}"
        folder = "{folder}"
        interval_seconds = 1
        notice_after_minutes = 0

        [oauth]
        token_url = "{issuer}/token"
        client_id = "{OAUTH_USER}"
        client_secret = "{SECRET}"
        scope = "mail"
        "#,
        port = imap.port,
        issuer = idp.issuer,
    ))
    .unwrap()
}

async fn subjects(t: &TestApp) -> Vec<String> {
    let a = t.get("/api/v1/tickets?limit=200", &t.agent).await;
    a.json["items"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", a.text))
        .iter()
        .map(|i| i["subject"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn health(t: &TestApp, name: &str) -> Option<sladesk::app::mailboxes::MailboxHealth> {
    let app = t.app.clone();
    let name = name.to_string();
    tokio::task::spawn_blocking(move || {
        app.mailbox_health_all()
            .unwrap()
            .into_iter()
            .find(|h| h.mailbox == name)
    })
    .await
    .unwrap()
}

async fn until<F, Fut>(what: &str, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while !f().await {
        assert!(start.elapsed() < Duration::from_secs(30), "{what}: not within 30 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn notices(t: &TestApp) -> Vec<(String, Value)> {
    t.outbox()
        .into_iter()
        .filter(|(k, _, _)| k == "mailbox_health")
        .map(|(_, to, ctx)| (to, ctx))
        .collect()
}

async fn oauth_mailboxes_refresh_their_tokens_and_fail_alone(db: Db) {
    let t = spawn_app(db).await;
    let idp = Idp::start_with(&t.address, &[(OAUTH_USER, SECRET)], Some(4));
    let imap = Dovecot::start_with_oauth(&format!(
        "http://{OAUTH_USER}:{SECRET}@127.0.0.1:{}/token/introspection",
        idp.port()
    ));
    imap.append_as(OAUTH_USER, "INBOX", &[mail("Printer jammed", "mb-1@acme.example")]);

    let stop = spawn_imap_pollers(
        t.app.clone(),
        vec![
            mailbox("support", "INBOX", "xoauth2", &imap, &idp),
            mailbox("billing", "Billing", "oauthbearer", &imap, &idp),
        ],
    )
    .unwrap();

    // The first mailbox takes its mail, signed in with a token.
    until("the support mailbox's mail becomes a ticket", || async {
        subjects(&t).await.iter().any(|s| s == "Printer jammed")
    })
    .await;

    // The second fails on its own, and admins hear of it once.
    until("the billing mailbox's failure is told", || async {
        health(&t, "billing").await.is_some_and(|h| h.notified)
    })
    .await;
    let h = health(&t, "billing").await.unwrap();
    assert!(h.failing_since.is_some() && h.consecutive_failures >= 1, "{h:?}");
    assert!(h.last_error.as_deref().unwrap_or_default().contains("Billing"), "{h:?}");
    let told = notices(&t);
    assert_eq!(told.len(), 1, "one notice, to the one admin: {told:?}");
    assert_eq!(told[0].0, "admin@desk.example");
    assert_eq!(told[0].1["mailbox"], "billing");
    assert_eq!(told[0].1["recovered"], false);
    assert!(health(&t, "support").await.unwrap().failing_since.is_none());

    // Tokens live four seconds: after six, the first one has expired, and
    // new mail is still taken (Dovecot checks every token it is given).
    tokio::time::sleep(Duration::from_secs(6)).await;
    imap.append_as(OAUTH_USER, "INBOX", &[mail("Scanner offline", "mb-2@acme.example")]);
    until("mail after the first token expired becomes a ticket", || async {
        subjects(&t).await.iter().any(|s| s == "Scanner offline")
    })
    .await;
    assert_eq!(notices(&t).len(), 1, "still failing: no second notice");

    // The missing folder appears: the billing mailbox recovers, and admins
    // are told that too, once.
    imap.append_as(OAUTH_USER, "Billing", &[mail("Invoice query", "mb-3@acme.example")]);
    until("the billing mailbox's mail becomes a ticket", || async {
        subjects(&t).await.iter().any(|s| s == "Invoice query")
    })
    .await;
    until("the recovery is told", || async { notices(&t).len() == 2 }).await;
    let told = notices(&t);
    assert_eq!(told[1].1["recovered"], true, "{told:?}");
    let h = health(&t, "billing").await.unwrap();
    assert!(
        h.failing_since.is_none() && h.consecutive_failures == 0 && !h.notified,
        "{h:?}"
    );

    // Metrics show both mailboxes.
    let m = t
        .client
        .get(format!("{}/metrics", t.address))
        .bearer_auth(t.metrics_token().await)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("sladesk_mailbox_up{mailbox=\"support\"} 1"), "{m}");
    assert!(
        m.contains("sladesk_mailbox_consecutive_failures{mailbox=\"billing\"} 0"),
        "{m}"
    );
    stop.stop();
    tokio::time::sleep(Duration::from_millis(1500)).await;
}
