//! The IMAP poller against a real Dovecot: new mail becomes tickets and is
//! moved or marked only after the commit; a crash at any point neither
//! loses nor doubles a message; STARTTLS and TLS with a private CA.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::Method;
use sladesk::app::intake::MailboxPosition;
use sladesk::mail::imap::Poller;

use crate::dovecot::Dovecot;
use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    the_poller_takes_new_mail_and_moves_it_after_the_commit,
    without_a_processed_folder_taken_mail_is_marked_seen,
    a_crash_between_commit_and_move_is_finished_on_reconnect,
);

fn mail(from: &str, subject: &str, id: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: service-desk@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\
         Date: Thu, 26 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{subject}: details.\r\n"
    )
    .into_bytes()
}

/// The poller's work is blocking I/O; keep it off the server's runtime.
async fn poll(poller: Poller, app: std::sync::Arc<sladesk::app::App>) -> (Poller, sladesk::mail::imap::PollReport) {
    tokio::task::spawn_blocking(move || {
        let mut poller = poller;
        let r = poller.poll_once(&app).expect("poll");
        (poller, r)
    })
    .await
    .unwrap()
}

async fn ticket_count(t: &crate::helpers::TestApp) -> usize {
    let a = t
        .call(Method::GET, "/api/v1/tickets?limit=200", Some(&t.agent), None)
        .await;
    a.json["items"]
        .as_array()
        .map(|v| v.len())
        .unwrap_or_else(|| panic!("{}", a.text))
}

async fn the_poller_takes_new_mail_and_moves_it_after_the_commit(db: Db) {
    let t = spawn_app(db).await;
    let imap = Dovecot::start();
    imap.append(
        "INBOX",
        &[
            mail("carol@acme.example", "VPN down", "imap-1@acme.example"),
            mail("gina@globex.example", "Backup failed", "imap-2@globex.example"),
            b"From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Out of office\r\nAuto-Submitted: auto-replied\r\nMessage-ID: <imap-3@acme.example>\r\n\r\nAway.\r\n".to_vec(),
            b"\r\n \r\n".to_vec(),
            // The first one again, as a redelivery would bring it.
            mail("carol@acme.example", "VPN down", "imap-1@acme.example"),
        ],
    );
    let settings = imap.settings(Some("Processed"));
    let source = settings.source();
    let poller = Poller::new(settings).unwrap();
    let (poller, report) = poll(poller, t.app.clone()).await;
    assert_eq!((report.taken, report.refused), (4, 1), "{report:?}");
    assert_eq!(
        ticket_count(&t).await,
        2,
        "two tickets: no double, no ticket for the auto-reply"
    );
    assert_eq!(
        imap.list("INBOX"),
        vec![(4, false, true)],
        "only the refused message stays, flagged for a person"
    );
    assert_eq!(imap.list("Processed").len(), 4, "taken messages are moved");
    assert_eq!(t.app.mailbox_position(&source).unwrap().map(|p| p.last_uid), Some(5));

    // The next poll reads only what is new.
    imap.append("INBOX", &[mail("colin@acme.example", "Printer", "imap-6@acme.example")]);
    let (poller, report) = poll(poller, t.app.clone()).await;
    assert_eq!((report.taken, report.refused), (1, 0));
    let (_, report) = poll(poller, t.app.clone()).await;
    assert_eq!((report.taken, report.refused), (0, 0), "nothing read twice");
    assert_eq!(ticket_count(&t).await, 3);
    assert_eq!(imap.list("INBOX").len(), 1);
    assert_eq!(imap.list("Processed").len(), 5);
}

async fn without_a_processed_folder_taken_mail_is_marked_seen(db: Db) {
    let t = spawn_app(db).await;
    let imap = Dovecot::start();
    imap.append(
        "INBOX",
        &[
            mail("carol@acme.example", "Disk full", "seen-1@acme.example"),
            mail("stranger@elsewhere.example", "Hello", "seen-2@elsewhere.example"),
        ],
    );
    let poller = Poller::new(imap.settings(None)).unwrap();
    let (poller, report) = poll(poller, t.app.clone()).await;
    assert_eq!(report.taken, 2, "the stranger's mail is taken into quarantine");
    assert_eq!(imap.list("INBOX"), vec![(1, true, false), (2, true, false)]);
    // Someone marks a message unread in their mail client: the poller goes
    // by its position, not by flags, and does not take it again.
    let mut s = imap.session();
    s.select("INBOX").unwrap();
    s.uid_store("1", "-FLAGS (\\Seen)").unwrap();
    s.logout().unwrap();
    let (_, report) = poll(poller, t.app.clone()).await;
    assert_eq!(report.taken, 0);
    assert_eq!(ticket_count(&t).await, 1);
}

async fn a_crash_between_commit_and_move_is_finished_on_reconnect(db: Db) {
    let t = spawn_app(db).await;
    let imap = Dovecot::start();
    imap.append(
        "INBOX",
        &[
            mail("carol@acme.example", "First", "crash-1@acme.example"),
            mail("carol@acme.example", "Second", "crash-2@acme.example"),
        ],
    );
    let settings = imap.settings(Some("Processed"));
    // A poller took UID 1 and committed it with its position, then died
    // before it could move the message.
    let mut s = imap.session();
    s.select("INBOX").unwrap();
    let validity = s.select("INBOX").unwrap().uid_validity.unwrap();
    let raw = s
        .uid_fetch("1", "BODY.PEEK[]")
        .unwrap()
        .iter()
        .next()
        .unwrap()
        .body()
        .unwrap()
        .to_vec();
    s.logout().unwrap();
    let position = MailboxPosition {
        source: settings.source(),
        uid_validity: i64::from(validity),
        last_uid: 1,
    };
    t.app
        .ingest_at(&raw, "imap", sladesk::app::now(), Some(&position))
        .unwrap();
    assert_eq!(imap.list("INBOX").len(), 2);

    let poller = Poller::new(settings).unwrap();
    let (_, report) = poll(poller, t.app.clone()).await;
    assert_eq!(report.taken, 1, "only UID 2 is new");
    assert!(imap.list("INBOX").is_empty(), "UID 1 was moved on reconnect");
    assert_eq!(imap.list("Processed").len(), 2);
    assert_eq!(ticket_count(&t).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_and_tls_verify_the_server_against_the_configured_ca() {
    let t = spawn_app(Db::Sqlite).await;
    let imap = Dovecot::start();
    let ca = imap.ca_file.display().to_string();
    let with = |extra: &str| -> sladesk::mail::imap::ImapSettings {
        toml::from_str(&format!(
            "host = '127.0.0.1'\nuser = '{}'\npassword = '{}'\nprocessed_folder = 'Done'\n{extra}",
            crate::dovecot::USER,
            crate::dovecot::PASSWORD
        ))
        .unwrap()
    };
    imap.append(
        "INBOX",
        &[mail("carol@acme.example", "Over STARTTLS", "tls-1@acme.example")],
    );
    let starttls = with(&format!(
        "security = 'starttls'\nport = {}\nca_file = '{ca}'",
        imap.port
    ));
    let (_, report) = poll(Poller::new(starttls).unwrap(), t.app.clone()).await;
    assert_eq!(report.taken, 1);

    imap.append("INBOX", &[mail("carol@acme.example", "Over TLS", "tls-2@acme.example")]);
    let tls = with(&format!("security = 'tls'\nport = {}\nca_file = '{ca}'", imap.tls_port));
    let (_, report) = poll(Poller::new(tls).unwrap(), t.app.clone()).await;
    assert_eq!(report.taken, 1);
    assert_eq!(imap.list("Done").len(), 2);

    // Without the private CA the certificate is not trusted, and nothing is read.
    imap.append(
        "INBOX",
        &[mail("carol@acme.example", "Untrusted", "tls-3@acme.example")],
    );
    let untrusted = with(&format!("security = 'tls'\nport = {}", imap.tls_port));
    let app = t.app.clone();
    let err = tokio::task::spawn_blocking(move || Poller::new(untrusted).unwrap().poll_once(&app).unwrap_err())
        .await
        .unwrap();
    assert!(err.to_string().contains("TLS"), "{err}");
    assert_eq!(imap.list("INBOX").len(), 1);
}

/// `sladesk serve` with `[imap]` in its settings, killed with SIGKILL while
/// it works through a folder, then started again: every message becomes
/// exactly one ticket and ends up moved exactly once.
#[test]
fn a_server_killed_mid_batch_neither_loses_nor_doubles_mail() {
    let imap = Dovecot::start();
    let dir = imap.dir.join("desk");
    std::fs::create_dir_all(&dir).unwrap();
    let db_file = dir.join("desk.db");
    let db = format!("sqlite://{}", db_file.display());
    let cli = |args: &[&str]| {
        let o = Command::new(env!("CARGO_BIN_EXE_sladesk"))
            .args(args)
            .args(["--database-url", &db])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "off")
            .output()
            .unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    };
    cli(&["migrate"]);
    cli(&[
        "org",
        "add",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--tier",
        "silver",
        "--region",
        "scotland",
        "--email-domain",
        "acme.example",
    ]);
    cli(&[
        "queue",
        "add",
        "--slug",
        "service-desk",
        "--name",
        "Service desk",
        "--inbound-address",
        "service-desk@desk.example",
    ]);
    const N: usize = 60;
    let messages: Vec<Vec<u8>> = (0..N)
        .map(|i| {
            mail(
                &format!("person{i}@acme.example"),
                &format!("Issue {i}"),
                &format!("kill-{i}@acme.example"),
            )
        })
        .collect();
    imap.append("INBOX", &messages);
    let config = dir.join("sladesk.toml");
    let port = crate::free_port();
    std::fs::write(
        &config,
        format!(
            "listen = '127.0.0.1:{port}'\ndatabase_url = '{db}'\noutbox_dir = '{}'\n\n[imap]\nhost = '127.0.0.1'\nport = {}\n\
             security = 'none'\nuser = '{}'\npassword = '{}'\nprocessed_folder = 'Processed'\ninterval_seconds = 1\nbatch = 5\n",
            dir.join("outbox").display(),
            imap.port,
            crate::dovecot::USER,
            crate::dovecot::PASSWORD
        ),
    )
    .unwrap();
    let serve = || {
        Command::new(env!("CARGO_BIN_EXE_sladesk"))
            .args(["serve", "--config"])
            .arg(&config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let count = |sql: &str| -> i64 {
        use diesel::prelude::*;
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = diesel::SqliteConnection::establish(&db_file.display().to_string()).unwrap();
        diesel::sql_query(sql).get_result::<N>(&mut c).map(|r| r.n).unwrap_or(0)
    };
    let mut first = serve();
    let started = Instant::now();
    while count("SELECT COUNT(*) AS n FROM inbound_messages") < 7 {
        assert!(started.elapsed() < Duration::from_secs(60), "the server took no mail");
        std::thread::sleep(Duration::from_millis(5));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let at_kill = count("SELECT COUNT(*) AS n FROM inbound_messages");
    assert!(at_kill < N as i64, "killed before the end ({at_kill} of {N})");

    let mut second = serve();
    let started = Instant::now();
    while imap.list("Processed").len() < N || !imap.list("INBOX").is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "after the restart: {} moved, {} left",
            imap.list("Processed").len(),
            imap.list("INBOX").len()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let _ = Command::new("kill").arg(second.id().to_string()).status();
    second.wait().unwrap();
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM tickets"),
        N as i64,
        "one ticket per message"
    );
    assert_eq!(count("SELECT COUNT(*) AS n FROM inbound_messages"), N as i64);
    assert_eq!(
        count("SELECT COUNT(DISTINCT message_id) AS n FROM inbound_messages"),
        N as i64
    );
    assert_eq!(
        count("SELECT COUNT(*) AS n FROM outbox WHERE kind = 'acknowledgement'"),
        N as i64,
        "one acknowledgement each"
    );
    assert_eq!(imap.list("Processed").len(), N, "each moved once");
}
