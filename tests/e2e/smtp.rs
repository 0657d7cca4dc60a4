//! Notifications through a real SMTP server: aiosmtpd (PyPI) on loopback
//! receives what lettre sends; the test reads what arrived.

use std::process::{Child, Command, Stdio};

use reqwest::Method;
use serde_json::json;
use sladesk::app::intake::IngestOutcome;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    an_acknowledgement_arrives_at_a_real_smtp_server,
    a_conversation_by_mail_threads_and_tells_the_customer_what_changed,
    files_on_an_agents_reply_ride_in_the_mail_up_to_the_limit_and_as_links_beyond,
);

pub(crate) struct SmtpServer {
    child: Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.maildir);
    }
}

pub(crate) fn start_smtp() -> SmtpServer {
    let port = crate::free_port();
    let maildir = std::env::temp_dir().join(format!("sladesk-smtp-{}-{port}", std::process::id()));
    // aiosmtpd's Mailbox handler makes the Maildir (new/, cur/, tmp/) itself.
    let child = Command::new("python3")
        .args([
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            &format!("127.0.0.1:{port}"),
            "-c",
            "aiosmtpd.handlers.Mailbox",
        ])
        .arg(&maildir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3 is needed to run the SMTP server for this test");
    let mut server = SmtpServer { child, port, maildir };
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return server;
        }
        if let Ok(Some(_)) = server.child.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            server.child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
            panic!("the SMTP server (aiosmtpd) did not start: {err}\nInstall it with: pip install aiosmtpd");
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the SMTP server (aiosmtpd) did not listen on {port} in 10 s; install it with: pip install aiosmtpd");
}

async fn an_acknowledgement_arrives_at_a_real_smtp_server(db: Db) {
    let t = spawn_app(db).await;
    let smtp = start_smtp();
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let raw = std::fs::read(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/email/09-latin1-quoted-printable.eml"
    ))
    .unwrap();
    let app = t.app.clone();
    let (outcome, first, second) = tokio::task::spawn_blocking(move || {
        let now = sladesk::app::now();
        let outcome = app.ingest(&raw, "test", now).unwrap();
        let (templates, from) = crate::helpers::shipped_mail();
        let outbound = sladesk::mail::Outbound::new(std::env::temp_dir(), Some(&url), None).unwrap();
        let first = sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, now, 10).unwrap();
        let second = sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, now, 10).unwrap();
        use diesel::prelude::*;
        let errors: Vec<Option<String>> = sladesk::store::schema::outbox::table
            .select(sladesk::store::schema::outbox::last_error)
            .load(&mut app.conn().unwrap())
            .unwrap();
        (outcome, first, (second, errors))
    })
    .await
    .unwrap();
    assert!(matches!(outcome, IngestOutcome::Created { .. }), "{outcome:?}");
    let (second, errors) = second;
    assert_eq!(
        (first.sent, first.failed, second.sent),
        (1, 0, 0),
        "{first:?} {second:?} {errors:?}"
    );

    let new = smtp.maildir.join("new");
    let mut arrived = Vec::new();
    for _ in 0..50 {
        arrived = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok()).collect())
            .unwrap_or_default();
        if !arrived.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(arrived.len(), 1, "exactly one message reached the SMTP server");
    let bytes = std::fs::read(arrived[0].path()).unwrap();
    let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
    assert_eq!(
        m.subject(),
        Some("[SD-000001] We have your request: Café kiosk offline – urgent")
    );
    assert_eq!(
        m.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("colin@acme.example")
    );
    assert_eq!(m.in_reply_to().as_text(), Some("latin1-0001@acme.example"));
    assert_eq!(m.references().as_text(), Some("latin1-0001@acme.example"));
    assert_eq!(m.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
    assert!(m.message_id().unwrap().starts_with("SD-000001.ack."));
    assert_eq!((m.text_body_count(), m.html_body_count()), (1, 1), "both parts");
    let text = m.body_text(0).unwrap();
    assert!(
        // Colin was added by address alone: greeted plainly, never as "Hello colin,".
        text.starts_with("Hello,\n") && text.contains("We will respond by") && text.contains("/tickets/SD-000001"),
        "{text}"
    );
}

/// Delivers the outbox through `smtp` and returns what arrived, parsed
/// later by the caller, oldest first.
pub(crate) async fn deliver_and_collect(t: &crate::helpers::TestApp, smtp: &SmtpServer, expect: usize) -> Vec<Vec<u8>> {
    let url = format!("smtp://127.0.0.1:{}", smtp.port);
    let app = t.app.clone();
    let report = tokio::task::spawn_blocking(move || {
        let (templates, from) = crate::helpers::shipped_mail();
        let outbound = sladesk::mail::Outbound::new(std::env::temp_dir(), Some(&url), None).unwrap();
        sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, sladesk::app::now(), 50).unwrap()
    })
    .await
    .unwrap();
    if report.failed > 0 {
        let errors: Vec<Option<String>> = {
            use diesel::prelude::*;
            use sladesk::store::schema::outbox;
            let mut c = t.app.conn().unwrap();
            outbox::table.select(outbox::last_error).load(&mut c).unwrap()
        };
        panic!("{report:?}: {errors:?}");
    }
    let new = smtp.maildir.join("new");
    let mut arrived: Vec<std::path::PathBuf> = Vec::new();
    for _ in 0..50 {
        arrived = std::fs::read_dir(&new)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
            .unwrap_or_default();
        if arrived.len() >= expect {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let mut mails: Vec<(std::time::SystemTime, Vec<u8>)> = arrived
        .iter()
        .map(|p| {
            (
                std::fs::metadata(p).unwrap().modified().unwrap(),
                std::fs::read(p).unwrap(),
            )
        })
        .collect();
    mails.sort_by_key(|m| m.0);
    for p in &arrived {
        std::fs::remove_file(p).unwrap();
    }
    mails.into_iter().map(|m| m.1).collect()
}

async fn a_conversation_by_mail_threads_and_tells_the_customer_what_changed(db: Db) {
    let t = spawn_app(db).await;
    let smtp = start_smtp();
    let raw = b"From: Carol <carol@acme.example>\r\nTo: service-desk@desk.example\r\nSubject: Payroll export fails\r\nMessage-ID: <conv-1@acme.example>\r\n\r\nThe export stops at 40%.\r\n";
    let outcome = t.app.ingest(raw, "test", sladesk::app::now()).unwrap();
    assert!(matches!(outcome, IngestOutcome::Created { .. }), "{outcome:?}");
    let ack = deliver_and_collect(&t, &smtp, 1).await;
    assert_eq!(ack.len(), 1, "the acknowledgement");
    let path = "/api/v1/tickets/SD-000001";

    // An agent's public reply: a person's words, threaded on the customer's
    // mail, every value escaped in the HTML part.
    let a = t
        .call(
            Method::POST,
            &format!("{path}/replies"),
            Some(&t.agent),
            Some(json!({"body": "Which version? <script>alert(1)</script>\r\nBcc: evil@example.com"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    // An internal note tells the customer nothing.
    t.call(
        Method::POST,
        &format!("{path}/notes"),
        Some(&t.agent),
        Some(json!({"body": "probably the 4.2 bug"})),
    )
    .await;
    let got = deliver_and_collect(&t, &smtp, 1).await;
    assert_eq!(got.len(), 1, "one mail for the reply, none for the note");
    let m = mail_parser::MessageParser::default().parse(&got[0]).unwrap();
    assert_eq!(m.subject(), Some("[SD-000001] Payroll export fails"));
    assert_eq!(m.in_reply_to().as_text(), Some("conv-1@acme.example"));
    assert!(m.message_id().unwrap().starts_with("SD-000001.agent_reply."));
    assert_eq!(
        m.header_raw("Auto-Submitted"),
        None,
        "a person's reply is not automatic"
    );
    assert!(m.header_raw("Bcc").is_none(), "no header injection through the body");
    let html = m.body_html(0).unwrap();
    assert!(html.contains("&lt;script&gt;") && !html.contains("<script>"), "{html}");
    assert!(
        m.body_text(0).unwrap().contains("Which version? <script>"),
        "plain text is as written"
    );

    // Pending on the customer: the clock is paused, and she is told so.
    let a = t.patch(path, &t.agent, json!({"status": "pending_customer"})).await;
    assert_eq!(a.status, 200, "{}", a.text);
    let got = deliver_and_collect(&t, &smtp, 1).await;
    assert_eq!(got.len(), 1);
    let m = mail_parser::MessageParser::default().parse(&got[0]).unwrap();
    assert_eq!(
        m.subject(),
        Some("[SD-000001] We need something from you: Payroll export fails")
    );
    assert_eq!(m.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
    assert!(m.body_text(0).unwrap().contains("paused"));

    // The customer answers by mail: it resumes the ticket and sends nothing back.
    let answer = b"From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Re: [SD-000001] We need something from you\r\nMessage-ID: <conv-2@acme.example>\r\nIn-Reply-To: <conv-1@acme.example>\r\n\r\nVersion 4.2.\r\n";
    let outcome = t.app.ingest(answer, "test", sladesk::app::now()).unwrap();
    assert!(matches!(outcome, IngestOutcome::Replied { .. }), "{outcome:?}");
    assert_eq!(t.get(path, &t.agent).await.json["status"], "open");

    // Resolved: how to reopen, and until when, threaded on her latest mail.
    let a = t
        .call(Method::POST, &format!("{path}/resolve"), Some(&t.agent), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t
        .call(Method::POST, &format!("{path}/reopen"), Some(&t.agent), None)
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    t.call(Method::POST, &format!("{path}/resolve"), Some(&t.agent), None)
        .await;
    t.call(Method::POST, &format!("{path}/close"), Some(&t.agent), None)
        .await;
    let got = deliver_and_collect(&t, &smtp, 4).await;
    let subjects: Vec<String> = got
        .iter()
        .map(|g| {
            mail_parser::MessageParser::default()
                .parse(g)
                .unwrap()
                .subject()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        subjects,
        vec![
            "[SD-000001] Resolved: Payroll export fails",
            "[SD-000001] Reopened: Payroll export fails",
            "[SD-000001] Resolved: Payroll export fails",
            "[SD-000001] Closed: Payroll export fails",
        ]
    );
    let resolved = mail_parser::MessageParser::default().parse(&got[0]).unwrap();
    assert_eq!(resolved.in_reply_to().as_text(), Some("conv-2@acme.example"));
    let text = resolved.body_text(0).unwrap();
    assert!(
        text.contains("reply to this message by ") && text.contains("5bd"),
        "{text}"
    );
}

/// An agent's reply with three files, under a 300 KB limit: the two that
/// fit arrive inside the mail through a real SMTP server, byte for byte;
/// the one that does not is a link to the ticket's page, where it is kept.
async fn files_on_an_agents_reply_ride_in_the_mail_up_to_the_limit_and_as_links_beyond(db: Db) {
    use mail_parser::MimeHeaders;
    use sladesk::app::tickets::{Change, Upload};
    let t = spawn_app(db).await;
    t.app.set_limits(sladesk::app::limits::Limits {
        mail_attachment_bytes: 300 * 1024,
        ..Default::default()
    });
    let smtp = start_smtp();
    let raw = b"From: Carol <carol@acme.example>\r\nTo: service-desk@desk.example\r\nSubject: Logs please\r\nMessage-ID: <files-1@acme.example>\r\n\r\nWhat do you need?\r\n";
    t.app.ingest(raw, "test", sladesk::app::now()).unwrap();
    deliver_and_collect(&t, &smtp, 1).await;
    let small: Vec<u8> = "#!/bin/sh\njournalctl -u payroll --since today\n"
        .repeat(220)
        .into_bytes();
    // Binary, every byte value: a PDF's bytes must arrive as they left.
    let medium: Vec<u8> = (0..200 * 1024u32).map(|i| (i % 256) as u8).collect();
    let large = vec![b'L'; 400 * 1024];
    let app = t.app.clone();
    let files = vec![
        Upload {
            filename: "collect-logs.sh".into(),
            content_type: "text/x-shellscript".into(),
            data: small.clone(),
        },
        Upload {
            filename: "huge-dump.bin".into(),
            content_type: "application/octet-stream".into(),
            data: large,
        },
        Upload {
            filename: "guide.pdf".into(),
            content_type: "application/pdf".into(),
            data: medium.clone(),
        },
    ];
    tokio::task::spawn_blocking(move || {
        let agent = app.principal_for("alice@desk.example").unwrap();
        app.change_ticket_with_files(
            &agent,
            "SD-000001",
            &[Change::Reply("Run the script and send us what it writes.".into())],
            &files,
            sladesk::app::now(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    let got = deliver_and_collect(&t, &smtp, 1).await;
    assert_eq!(got.len(), 1);
    let m = mail_parser::MessageParser::default().parse(&got[0]).unwrap();
    let inside: Vec<(String, Vec<u8>)> = m
        .attachments()
        .map(|a| {
            (
                a.attachment_name().unwrap_or_default().to_string(),
                a.contents().to_vec(),
            )
        })
        .collect();
    assert_eq!(
        inside.len(),
        2,
        "two files fit in 300 KB: {:?}",
        inside.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(inside[0].0, "collect-logs.sh");
    assert!(
        inside[0].1 == small,
        "the script byte for byte ({} bytes came)",
        inside[0].1.len()
    );
    assert_eq!(inside[1].0, "guide.pdf");
    assert!(
        inside[1].1 == medium,
        "the PDF byte for byte ({} bytes came)",
        inside[1].1.len()
    );
    let text = m.body_text(0).unwrap();
    assert!(
        text.contains("Attached: collect-logs.sh (10 KB), guide.pdf (200 KB)"),
        "{text}"
    );
    assert!(
        text.contains("huge-dump.bin (400 KB): ") && text.contains("/tickets/SD-000001/attachments/"),
        "the large one is a link: {text}"
    );
    let html = m.body_html(0).unwrap();
    assert!(html.contains("huge-dump.bin</a>"), "{html}");
    // Every file is on the ticket, for the customer too.
    let files = t.get("/api/v1/tickets/SD-000001/attachments", &t.carol).await;
    assert_eq!(files.json.as_array().map(Vec::len), Some(3), "{}", files.text);
}

/// aiosmtpd with TLS and AUTH (tests/support/smtp_tls.py), stopped on drop.
struct TlsSmtp {
    child: Child,
    port: u16,
    maildir: std::path::PathBuf,
}

impl Drop for TlsSmtp {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

fn start_tls_smtp(dir: &std::path::Path, mode: &str) -> TlsSmtp {
    start_tls_smtp_with(dir, mode, None)
}

/// The same, also taking XOAUTH2 tokens checked at `introspection`.
fn start_tls_smtp_with(dir: &std::path::Path, mode: &str, introspection: Option<&str>) -> TlsSmtp {
    use std::io::BufRead;
    let port = crate::free_port();
    let maildir = dir.join(format!("maildir-{mode}"));
    let mut child = Command::new("python3")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/smtp_tls.py"))
        .arg(port.to_string())
        .arg(&maildir)
        .arg(dir.join("server.pem"))
        .arg(dir.join("server.key"))
        .args(["desk", "smtp-secret", mode])
        .args(introspection)
        .stdout(Stdio::piped())
        // The refused handshakes the test provokes would print tracebacks.
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with aiosmtpd (tests/setup.sh installs it)");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready", "the TLS SMTP server did not start");
    TlsSmtp { child, port, maildir }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_go_through_starttls_and_tls_with_authentication() {
    let t = spawn_app(Db::Sqlite).await;
    let dir = std::env::temp_dir().join(format!("sladesk-smtp-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    crate::dovecot::certificates(&dir);
    let ca = dir.join("ca.pem");
    for (i, mode) in ["starttls", "smtps"].into_iter().enumerate() {
        let server = start_tls_smtp(&dir, mode);
        let raw = format!(
            "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Over {mode}\r\nMessage-ID: <tls-{mode}@acme.example>\r\n\r\nx\r\n"
        );
        t.app.ingest(raw.as_bytes(), "test", sladesk::app::now()).unwrap();
        let url = |password: &str| match mode {
            "starttls" => format!("smtp://desk:{password}@127.0.0.1:{}?tls=required", server.port),
            _ => format!("smtps://desk:{password}@127.0.0.1:{}", server.port),
        };
        let app = t.app.clone();
        let (ca2, good, bad) = (ca.clone(), url("smtp-secret"), url("wrong"));
        let (untrusted, refused, sent) = tokio::task::spawn_blocking(move || {
            let (templates, from) = crate::helpers::shipped_mail();
            let folder = std::env::temp_dir();
            // Each attempt backs off the row; look a little later each time.
            let at = |minutes: i64| {
                sladesk::app::now() + chrono::Duration::hours(2 * i as i64) + chrono::Duration::minutes(minutes)
            };
            let public_roots = sladesk::mail::Outbound::new(folder.clone(), Some(&good), None).unwrap();
            let untrusted = sladesk::mail::deliver_outbox(&app, &public_roots, &templates, &from, at(0), 10).unwrap();
            let wrong = sladesk::mail::Outbound::new(folder.clone(), Some(&bad), Some(&ca2)).unwrap();
            let refused = sladesk::mail::deliver_outbox(&app, &wrong, &templates, &from, at(30), 10).unwrap();
            let right = sladesk::mail::Outbound::new(folder, Some(&good), Some(&ca2)).unwrap();
            let sent = sladesk::mail::deliver_outbox(&app, &right, &templates, &from, at(90), 10).unwrap();
            (untrusted, refused, sent)
        })
        .await
        .unwrap();
        assert_eq!(
            (untrusted.sent, untrusted.failed),
            (0, 1),
            "{mode}: a certificate from an unknown CA is refused"
        );
        assert_eq!(
            (refused.sent, refused.failed),
            (0, 1),
            "{mode}: a wrong password is refused"
        );
        assert_eq!((sent.sent, sent.failed), (1, 0), "{mode}: {sent:?}");
        let arrived: Vec<_> = std::fs::read_dir(server.maildir.join("new")).unwrap().collect();
        assert_eq!(arrived.len(), 1, "{mode}: exactly one message arrived");
        let bytes = std::fs::read(arrived[0].as_ref().unwrap().path()).unwrap();
        let m = mail_parser::MessageParser::default().parse(&bytes).unwrap();
        assert!(
            m.subject().unwrap().contains(&format!("Over {mode}")),
            "{:?}",
            m.subject()
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// SMTP signed in with XOAUTH2: a client-credentials token from the real
/// OpenID provider, checked by the server at the provider's introspection
/// endpoint; a wrong client secret gets no token and sends nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notifications_go_through_smtp_signed_in_with_an_oauth_token() {
    let t = spawn_app(Db::Sqlite).await;
    let secret = "smtp-client-secret-0123456789abcdef";
    let idp = crate::peers::Idp::start_with(&t.address, &[("desk", secret)], None);
    let dir = std::env::temp_dir().join(format!("sladesk-smtp-oauth-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    crate::dovecot::certificates(&dir);
    let introspection = format!("http://desk:{secret}@127.0.0.1:{}/token/introspection", idp.port());
    let server = start_tls_smtp_with(&dir, "starttls", Some(&introspection));
    let raw = "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Over OAuth\r\nMessage-ID: <oauth-smtp@acme.example>\r\n\r\nx\r\n";
    t.app.ingest(raw.as_bytes(), "test", sladesk::app::now()).unwrap();
    let settings = |client_secret: &str| -> sladesk::mail::SmtpOAuthSettings {
        toml::from_str(&format!(
            "user = 'desk'\n[oauth]\ntoken_url = '{}/token'\nclient_id = 'desk'\nclient_secret = '{client_secret}'\nscope = 'mail'\n",
            idp.issuer
        ))
        .unwrap()
    };
    let (good, bad) = (settings(secret), settings("not-the-secret"));
    let url = format!("smtp://127.0.0.1:{}?tls=required", server.port);
    let ca = dir.join("ca.pem");
    let app = t.app.clone();
    let (refused, sent) = tokio::task::spawn_blocking(move || {
        let (templates, from) = crate::helpers::shipped_mail();
        let folder = std::env::temp_dir();
        let wrong = sladesk::mail::Outbound::with_oauth(folder.clone(), Some(&url), Some(&ca), Some(&bad)).unwrap();
        let refused = sladesk::mail::deliver_outbox(&app, &wrong, &templates, &from, sladesk::app::now(), 10).unwrap();
        let right = sladesk::mail::Outbound::with_oauth(folder, Some(&url), Some(&ca), Some(&good)).unwrap();
        let later = sladesk::app::now() + chrono::Duration::hours(1);
        let sent = sladesk::mail::deliver_outbox(&app, &right, &templates, &from, later, 10).unwrap();
        (refused, sent)
    })
    .await
    .unwrap();
    assert_eq!((refused.sent, refused.failed), (0, 1), "no token, no mail");
    assert_eq!((sent.sent, sent.failed), (1, 0), "the token signs in");
    let delivered = std::fs::read_dir(server.maildir.join("new")).unwrap().count();
    assert_eq!(delivered, 1, "the acknowledgement arrived");
    let _ = std::fs::remove_dir_all(&dir);
}
