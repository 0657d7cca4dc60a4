//! Whether mail's `From:` is believed: the receiving MTA's
//! `Authentication-Results` (`header`), or DKIM and DMARC checked in-process
//! (`verify`) against a real DNS server (Debian's dnsmasq, started here on a
//! free loopback port with the test domain's key and policy).

use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};

use reqwest::StatusCode;
use sladesk::app::intake::IngestOutcome;
use sladesk::app::sender_auth::Mode;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(the_receiving_mtas_dmarc_verdict_decides_whether_from_is_believed);

const MTA: &str = "mx.desk.example";

fn mail(from: &str, id: &str, subject: &str, auth_results: &[&str]) -> Vec<u8> {
    let mut m = String::new();
    for a in auth_results {
        m += &format!("Authentication-Results: {a}\r\n");
    }
    m += &format!(
        "From: {from}\r\nTo: service-desk@desk.example\r\nSubject: {subject}\r\nMessage-ID: <{id}>\r\n\r\nPlease help.\r\n"
    );
    m.into_bytes()
}

async fn the_receiving_mtas_dmarc_verdict_decides_whether_from_is_believed(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_sender_authentication(Mode::Header, Some(MTA.into()));
    let now = sladesk::app::now();
    let failed = format!(
        "{MTA}; spf=fail smtp.mailfrom=acme.example; dkim=none; dmarc=fail (p=reject dis=none) header.from=acme.example"
    );
    let passed = format!(
        "{MTA}; spf=pass smtp.mailfrom=acme.example; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example"
    );

    // A spoofed contact address: quarantined, saying why.
    let spoof = mail(
        "carol@acme.example",
        "shared-id@acme.example",
        "Reset my password",
        &[&failed],
    );
    match t.app.ingest(&spoof, "test", now).unwrap() {
        IngestOutcome::Quarantined { reason } => {
            assert!(
                reason.contains("DMARC failed for acme.example (policy reject)"),
                "{reason}"
            )
        }
        other => panic!("expected quarantine, got {other:?}"),
    }
    // A spoofed new address at the organisation's domain creates no contact.
    let newbie = mail("newbie@acme.example", "newbie@acme.example", "Hello", &[&failed]);
    assert!(matches!(
        t.app.ingest(&newbie, "test", now).unwrap(),
        IngestOutcome::Quarantined { .. }
    ));
    let users = t.get("/api/v1/users", &t.admin).await;
    assert!(!users.text.contains("newbie@acme.example"), "no contact made");
    // Nor does a spoofed reply thread onto a ticket.
    let r = t.raise(&t.carol, "Backups", 3).await;
    let before = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    let reply = mail(
        "carol@acme.example",
        "spoofed-reply@acme.example",
        &format!("Re: [{r}] Backups"),
        &[&failed],
    );
    assert!(matches!(
        t.app.ingest(&reply, "test", now).unwrap(),
        IngestOutcome::Quarantined { .. }
    ));
    let after = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    assert_eq!(
        before.json.as_array().unwrap().len(),
        after.json.as_array().unwrap().len()
    );

    // The real Carol, authenticated, with the Message-ID the spoof took: a
    // ticket, not a "duplicate".
    let real = mail(
        "carol@acme.example",
        "shared-id@acme.example",
        "Reset my password",
        &[&passed],
    );
    assert!(
        matches!(t.app.ingest(&real, "test", now).unwrap(), IngestOutcome::Created { .. }),
        "the forged message does not shadow the real one"
    );
    // A policy of none asks for nothing; no header at all is as before; a
    // header naming another server is the sender's own and counts for nothing.
    let none = format!("{MTA}; dmarc=fail (p=none) header.from=acme.example");
    let forged = "mx.attacker.example; dmarc=pass header.from=acme.example".to_string();
    for (i, headers) in [vec![none.as_str()], vec![], vec![forged.as_str()]]
        .into_iter()
        .enumerate()
    {
        let m = mail(
            "colin@acme.example",
            &format!("ok-{i}@acme.example"),
            "Disk full",
            &headers,
        );
        let out = t.app.ingest(&m, "test", now).unwrap();
        assert!(matches!(out, IngestOutcome::Created { .. }), "{i}: {out:?}");
    }
    // A header from another server cannot make a failure pass either.
    let m = mail(
        "colin@acme.example",
        "mixed@acme.example",
        "Disk full",
        &[&failed, "mx.attacker.example; dmarc=pass header.from=acme.example"],
    );
    assert!(matches!(
        t.app.ingest(&m, "test", now).unwrap(),
        IngestOutcome::Quarantined { .. }
    ));
    // Staff see why in the quarantine.
    let q = t.get("/api/v1/inbound/quarantine", &t.agent).await;
    assert_eq!(q.status, StatusCode::OK);
    assert!(q.text.contains("may be forged"), "{}", q.text);
}

/// A DNS server on a free loopback port answering for the test domains.
struct Dns {
    child: Child,
    pub addr: String,
    _dir: std::path::PathBuf,
}

impl Drop for Dns {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self._dir);
    }
}

fn dnsmasq(txt: &[(&str, &str)]) -> Dns {
    let bin = "/usr/sbin/dnsmasq";
    assert!(
        std::path::Path::new(bin).exists(),
        "{bin} is needed for this test: install Debian's dnsmasq-base (tests/setup.sh does)"
    );
    // A port free for both TCP and UDP, and a dnsmasq that stays up on it:
    // one free for UDP alone may be some other process's TCP port (a
    // browser test's driver), and then dnsmasq exits while the wait below
    // would find the other listener.
    for _ in 0..20 {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if UdpSocket::bind(("127.0.0.1", port)).is_err() {
            continue;
        }
        drop(tcp);
        let dir = std::env::temp_dir().join(format!("sladesk-dns-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut args = vec![
            "--keep-in-foreground".to_string(),
            "--no-resolv".into(),
            "--no-hosts".into(),
            "--bind-interfaces".into(),
            "--listen-address=127.0.0.1".into(),
            format!("--port={port}"),
            format!("--pid-file={}", dir.join("pid").display()),
            "--user=root".into(),
            // Authoritative for the test zone: other names there do not exist.
            "--local=/example/".into(),
        ];
        // No shell between us and dnsmasq: quotes would become part of the text.
        for (name, text) in txt {
            assert!(!text.contains(','), "a comma would split the record: {text}");
            args.push(format!("--txt-record={name},{text}"));
        }
        let mut child = Command::new(bin)
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dnsmasq");
        // Up when it answers on TCP too (it opens both at once), and still running.
        let mut up = false;
        for _ in 0..50 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                up = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        if up && child.try_wait().ok().flatten().is_none() {
            return Dns {
                child,
                addr: format!("127.0.0.1:{port}"),
                _dir: dir,
            };
        }
        let _ = child.kill();
        let _ = child.wait();
        let _ = std::fs::remove_dir_all(&dir);
    }
    panic!("dnsmasq did not stay up on any port tried");
}

/// The test domain's DKIM key (Ed25519, made for these tests only).
const SEED: &str = "42c0c2b3096b5a137d3b002426cf683930845555238daf307dc675b3a4740280";
const PUBLIC: &str = "80c1c97dea6cafb0fde43eedbf9fcebeb5ecae57880381c7cae04148562c7dfd";

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

fn base64(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn signed(message: &[u8]) -> Vec<u8> {
    use sladesk_dkim::*;
    let key = Ed25519Key::from_seed_and_public_key(&unhex(SEED), &unhex(PUBLIC)).unwrap();
    let signature = DkimSigner::from_key(key)
        .domain("acme.example")
        .selector("desk2026")
        .headers(["From", "To", "Subject", "Message-ID"])
        .sign(message)
        .unwrap();
    let mut out = signature.to_header().into_bytes();
    out.extend_from_slice(message);
    out
}

/// mail-auth's signing side, for the tests' own signatures.
mod sladesk_dkim {
    pub use mail_auth::common::crypto::Ed25519Key;
    pub use mail_auth::common::headers::HeaderWriter;
    pub use mail_auth::dkim::DkimSigner;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_checks_dkim_and_dmarc_itself_against_dns() {
    let key = format!("v=DKIM1; k=ed25519; p={}", base64(&unhex(PUBLIC)));
    let dns = dnsmasq(&[
        ("desk2026._domainkey.acme.example", &key),
        ("_dmarc.acme.example", "v=DMARC1; p=reject"),
        ("_dmarc.globex.example", "v=DMARC1; p=none"),
    ]);
    let t = spawn_app(Db::Sqlite).await;
    let verifier = sladesk::mail::verify::Verifier::new(Some(&dns.addr)).unwrap();
    t.app.set_sender_verifier(verifier);
    t.app.set_sender_authentication(Mode::Verify, None);
    let now = sladesk::app::now();
    let app = t.app.clone();
    let outcomes = tokio::task::spawn_blocking(move || {
        // Signed by acme.example's key: DMARC passes on DKIM alignment.
        let good = signed(&mail("carol@acme.example", "signed@acme.example", "VPN down", &[]));
        // Unsigned, from a domain whose policy is reject: quarantined.
        let bare = mail("carol@acme.example", "bare@acme.example", "VPN down", &[]);
        // Signed, then altered on the way: the signature fails, so does DMARC.
        let mut tampered = signed(&mail("carol@acme.example", "tampered@acme.example", "VPN down", &[]));
        let at = tampered.len() - 6;
        tampered[at] = b'X';
        // A domain asking for nothing (p=none) is believed unsigned.
        let relaxed = mail("gina@globex.example", "relaxed@globex.example", "Slow site", &[]);
        // The signature itself passes: believed, not merely "no verdict".
        assert_eq!(
            app.sender_verifier().unwrap().verdict(&good),
            sladesk::app::sender_auth::Verdict::Believed
        );
        [good, bare, tampered, relaxed].map(|m| app.ingest(&m, "test", now).unwrap())
    })
    .await
    .unwrap();
    assert!(
        matches!(outcomes[0], IngestOutcome::Created { .. }),
        "{:?}",
        outcomes[0]
    );
    for o in &outcomes[1..3] {
        match o {
            IngestOutcome::Quarantined { reason } => assert!(
                reason.contains("DMARC failed for acme.example (policy reject)"),
                "{reason}"
            ),
            other => panic!("expected quarantine, got {other:?}"),
        }
    }
    assert!(
        matches!(outcomes[3], IngestOutcome::Created { .. }),
        "{:?}",
        outcomes[3]
    );
}
