//! Notifications through a real SMTP server: aiosmtpd (PyPI) on loopback
//! receives what lettre sends; the test reads what arrived.

use std::process::{Child, Command, Stdio};

use sladesk::app::intake::IngestOutcome;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(an_acknowledgement_arrives_at_a_real_smtp_server);

struct SmtpServer {
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

fn start_smtp() -> SmtpServer {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
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
        let templates = sladesk::mail::Templates::load(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/templates/email"
        )))
        .unwrap();
        let from: lettre::message::Mailbox = "Service desk <desk@sladesk.invalid>".parse().unwrap();
        let outbound = sladesk::mail::Outbound::new(std::env::temp_dir(), Some(&url)).unwrap();
        let first = app.deliver_outbox(&outbound, &templates, &from, now, 10).unwrap();
        let second = app.deliver_outbox(&outbound, &templates, &from, now, 10).unwrap();
        use diesel::prelude::*;
        let errors: Vec<Option<String>> = sladesk::store::schema::outbox::table
            .select(sladesk::store::schema::outbox::last_error)
            .load(&mut app.pool.get().unwrap())
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
        text.contains("Hello colin,") && text.contains("We will respond by"),
        "{text}"
    );
}
