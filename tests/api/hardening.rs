//! The security review's findings, each as the attack it described, run
//! against the real server: bounded cost per request (metrics labels,
//! bodies read only after authentication and within a deadline, a cap on
//! large bodies in flight, attachments, timelines, reopen requests) and no
//! side channels to customers (routing and escalation timing, ETags,
//! outages, severity and queue choice, Message-ID shadowing).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::json;
use sladesk::app::Principal;
use sladesk::app::intake::IngestOutcome;
use sladesk::app::limits::Limits;

use crate::helpers::{Db, TestApp, initech, spawn_app};

crate::both_backends!(
    corrupt_stored_data_answers_a_bare_500_and_not_its_internals,
    customers_see_no_routing_or_staff_identity_in_the_timeline,
    customers_cannot_filter_or_sort_by_what_only_staff_see,
    a_customers_etag_moves_only_when_their_view_does,
    a_strangers_message_id_does_not_shadow_a_contacts_mail,
    customers_see_their_own_organisation_and_the_public_text_of_an_outage,
    customers_choose_severity_only_where_allowed_and_queues_only_among_selectable_ones,
    the_timeline_comes_in_pages,
    requests_to_reopen_are_rate_limited,
);

fn host(t: &TestApp) -> String {
    t.address.trim_start_matches("http://").to_string()
}

/// Writes a request head (and what body is given), then reads what the
/// server answers within `wait`: the status line's code, or 0 for none.
fn answer_to(addr: &str, head: &str, body: &[u8], wait: Duration) -> (u16, String, Duration) {
    let started = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(head.as_bytes()).unwrap();
    let _ = s.write_all(body);
    let (code, text) = crate::helpers::read_head(&mut s, wait);
    (code, text, started.elapsed())
}

fn request_series(scrape: &str) -> usize {
    scrape
        .lines()
        .filter(|l| l.starts_with("sladesk_http_requests_total{") || l.starts_with("sladesk_http_request_duration"))
        .count()
}

/// Requests with invented methods, as many at once as `batch`.
async fn invented_methods(t: &TestApp, n: usize, batch: usize) {
    let mut sent = 0;
    while sent < n {
        let round: Vec<_> = (sent..(sent + batch).min(n))
            .map(|i| {
                let m = Method::from_bytes(format!("X{i:x}INVENTED{}", i * 7919).as_bytes()).unwrap();
                t.client.request(m, format!("{}/api/v1/tickets", t.address)).send()
            })
            .collect();
        for r in futures_util::future::join_all(round).await {
            r.unwrap();
        }
        sent += batch;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_labels_come_from_a_closed_set_and_the_scrape_needs_a_token() {
    let t = spawn_app(Db::Sqlite).await;
    // Not public: no token is 401, a token of another scope 403.
    t.call(Method::GET, "/metrics", None, None).await.problem(401);
    t.get("/metrics", &t.admin).await.problem(403);
    let scraper = t.metrics_token().await;
    // The scraper's token opens nothing else.
    t.get("/api/v1/tickets", &scraper).await.problem(403);

    invented_methods(&t, 50, 50).await;
    // The first scrape adds its own series; count from the second.
    t.get("/metrics", &scraper).await;
    let before = t.get("/metrics", &scraper).await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    assert!(
        before.text.contains("method=\"other\""),
        "invented methods count as other: {}",
        before.text
    );
    invented_methods(&t, 10_000, 100).await;
    let after = t.get("/metrics", &scraper).await;
    assert_eq!(
        request_series(&after.text),
        request_series(&before.text),
        "no new series"
    );
    // Only the counts' digits may grow.
    assert!(
        after.text.len() < before.text.len() + 2048,
        "the scrape grew from {} to {} bytes",
        before.text.len(),
        after.text.len()
    );
    assert!(!after.text.contains("INVENTED"), "no method becomes a label");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_address_serves_the_scrape_without_a_token() {
    let t = spawn_app(Db::Sqlite).await;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let app = t.app.clone();
    std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let metrics = actix_web::web::Data::new(sladesk::api::metrics::Metrics::default());
            sladesk::server::serve_metrics(app, listener, metrics).unwrap().await
        })
    });
    let r = reqwest::get(format!("http://{addr}/metrics")).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("sladesk_up 1"));
    // That address serves nothing else.
    let r = reqwest::get(format!("http://{addr}/api/v1/tickets")).await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_intake_refuses_a_stranger_before_reading_the_body() {
    let t = spawn_app(Db::Sqlite).await;
    let addr = host(&t);
    for auth in ["", "Authorization: Bearer sld_not_a_token\r\n"] {
        let head = format!(
            "POST /api/v1/inbound/email HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: message/rfc822\r\n\
             Content-Length: 25000000\r\n\r\n"
        );
        // 64 KB of the promised 25 MB: the answer must not wait for the rest.
        let (code, text, took) = tokio::task::spawn_blocking(move || {
            answer_to(&addr_of(&head), &head, &vec![b'x'; 65_536], Duration::from_secs(5))
        })
        .await
        .unwrap();
        assert_eq!(code, 401, "{text}");
        assert!(took < Duration::from_secs(4), "answered after {took:?}");
    }
    // A declared length over the limit is refused before a byte is read.
    let token = t.intake_token().await;
    let head = format!(
        "POST /api/v1/inbound/email HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: message/rfc822\r\nContent-Length: 300000000\r\n\r\n"
    );
    let (code, text, _) =
        tokio::task::spawn_blocking(move || answer_to(&addr_of(&head), &head, b"", Duration::from_secs(5)))
            .await
            .unwrap();
    assert_eq!(code, 413, "{text}");
}

/// The address in a request head's Host line.
fn addr_of(head: &str) -> String {
    head.lines()
        .find_map(|l| l.strip_prefix("Host: "))
        .unwrap()
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_sent_a_byte_at_a_time_is_cut_off_and_large_bodies_wait_their_turn() {
    let t = spawn_app(Db::Sqlite).await;
    t.app.set_limits(Limits {
        body_seconds: 2,
        large_bodies_in_flight: 1,
        ..Limits::default()
    });
    let token = t.intake_token().await;
    let addr = host(&t);
    let head = format!(
        "POST /api/v1/inbound/email HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: message/rfc822\r\nContent-Length: 1000\r\n\r\n"
    );
    // The slow sender: one byte every half second, for up to 20 s.
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let mut s = TcpStream::connect(&addr).unwrap();
        s.write_all(head.as_bytes()).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 1024];
        while started.elapsed() < Duration::from_secs(20) {
            if s.write_all(b"x").is_err() {
                break;
            }
            match s.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    break;
                }
                Err(_) => {}
            }
        }
        (String::from_utf8_lossy(&got).to_string(), started.elapsed())
    });
    // While it trickles, it holds the one place for a large body.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let busy = t
        .raw(
            Method::POST,
            "/api/v1/inbound/email",
            &token,
            "message/rfc822",
            b"From: carol@acme.example\r\nSubject: x\r\nMessage-ID: <busy@acme.example>\r\n\r\nx\r\n".to_vec(),
        )
        .await;
    busy.problem(503);
    let (answer, took) = tokio::task::spawn_blocking(move || slow.join().unwrap()).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(took < Duration::from_secs(6), "cut off after {took:?}");
    // The place is given back: the next message goes in.
    let ok = t
        .raw(
            Method::POST,
            "/api/v1/inbound/email",
            &token,
            "message/rfc822",
            b"From: carol@acme.example\r\nSubject: x\r\nMessage-ID: <after@acme.example>\r\n\r\nx\r\n".to_vec(),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_with_too_many_attachments_is_quarantined_whole() {
    let t = spawn_app(Db::Sqlite).await;
    let mut m = String::from(
        "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Logs\r\n\
         Message-ID: <many@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
         --b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n",
    );
    for i in 0..101 {
        m += &format!(
            "--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=\"log{i}.txt\"\r\n\r\nline {i}\r\n"
        );
    }
    m += "--b--\r\n";
    let out = t.app.ingest(m.as_bytes(), "test", sladesk::app::now()).unwrap();
    match out {
        IngestOutcome::Quarantined { reason } => {
            assert!(reason.contains("101 attachments, over the limit of 100"), "{reason}")
        }
        other => panic!("expected quarantine, got {other:?}"),
    }
}

async fn customers_see_no_routing_or_staff_identity_in_the_timeline(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Backups failing", 3).await;
    let path = format!("/api/v1/tickets/{r}");
    t.post(&format!("{path}/replies"), &t.agent, json!({"body": "Looking now."}))
        .await;
    let staff = t.get(&format!("{path}/events"), &t.agent).await;
    assert!(
        staff.text.contains("service-desk"),
        "staff see the queue: {}",
        staff.text
    );
    let theirs = t.get(&format!("{path}/events"), &t.carol).await;
    assert_eq!(theirs.status, StatusCode::OK);
    assert!(!theirs.text.contains("service-desk"), "no queue slug: {}", theirs.text);
    assert!(
        !theirs.text.contains("alice@desk.example"),
        "no staff address: {}",
        theirs.text
    );
    for e in theirs.json.as_array().unwrap() {
        assert!(e["data"].get("queue").is_none(), "{e}");
        assert!(e["data"]["by"].get("agent").is_none(), "no staff user id: {e}");
        if e["actor_role"] != "customer" {
            assert_eq!(e["actor"], "Service desk", "{e}");
        }
    }
    let sla = t.get(&format!("{path}/sla"), &t.carol).await;
    assert!(sla.json.get("next_check_at").is_none(), "{}", sla.text);
    assert!(
        sla.json["resolve"]["at_risk"].as_array().unwrap().is_empty(),
        "{}",
        sla.text
    );
}

async fn customers_cannot_filter_or_sort_by_what_only_staff_see(db: Db) {
    let t = spawn_app(db).await;
    t.raise(&t.carol, "Disk full", 2).await;
    for (query, field) in [
        ("assignee=alice@desk.example", "assignee"),
        ("assignee=none", "assignee"),
        ("queue=platform", "queue"),
        ("at_risk=true", "at_risk"),
        ("sort=next_check_at", "sort"),
        // The order of staff activity would tell of internal notes.
        ("sort=updated", "sort"),
    ] {
        let a = t.get(&format!("/api/v1/tickets?{query}"), &t.carol).await;
        a.problem(400);
        assert_eq!(a.json["field"], field, "{}", a.text);
        let staff = t.get(&format!("/api/v1/tickets?{query}"), &t.agent).await;
        assert_eq!(staff.status, StatusCode::OK, "{query}: {}", staff.text);
    }
    // Their own list, newest first, still works, as do the orders and
    // paging of what they see; and a requester filter stays inside their
    // organisation.
    let mine = t.get("/api/v1/tickets", &t.carol).await;
    assert_eq!(mine.references().len(), 1);
    for query in [
        "sort=created_asc",
        "sort=severity&offset=0",
        "requester=carol@acme.example",
    ] {
        let a = t.get(&format!("/api/v1/tickets?{query}"), &t.carol).await;
        assert_eq!(a.references().len(), 1, "{query}: {}", a.text);
    }
    t.raise(&t.gina, "Globex down", 1).await;
    let other = t.get("/api/v1/tickets?requester=gina@globex.example", &t.carol).await;
    assert!(other.references().is_empty(), "{}", other.text);
    let deep = t.get("/api/v1/tickets?offset=10001", &t.carol).await;
    deep.problem(422);
    assert_eq!(deep.json["field"], "offset");
}

async fn a_customers_etag_moves_only_when_their_view_does(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "VPN flaps", 3).await;
    let path = format!("/api/v1/tickets/{r}");
    // Taking the ticket opens it, which the customer sees; from then on
    // who has it is the desk's business.
    t.patch(&path, &t.agent, json!({"assignee": "alice@desk.example"}))
        .await;
    let first = t.get(&path, &t.carol).await;
    assert_eq!(first.json["status"], "open");
    let agent_first = t.get(&path, &t.agent).await;
    t.post(
        &format!("{path}/notes"),
        &t.agent,
        json!({"body": "Their firewall again."}),
    )
    .await;
    t.patch(&path, &t.agent, json!({"assignee": "bob@desk.example"})).await;
    let after_note = t.get(&path, &t.carol).await;
    assert_eq!(
        after_note.etag, first.etag,
        "an internal note and a reassignment do not show: {} / {}",
        first.text, after_note.text
    );
    assert_eq!(after_note.json["version"], first.json["version"]);
    assert_eq!(after_note.json["updated_at"], first.json["updated_at"]);
    let agent_after = t.get(&path, &t.agent).await;
    assert_ne!(agent_after.etag, agent_first.etag, "staff see every change");
    t.post(&format!("{path}/replies"), &t.agent, json!({"body": "Fixed."}))
        .await;
    let after_reply = t.get(&path, &t.carol).await;
    assert_ne!(after_reply.etag, first.etag, "a public reply shows");
}

async fn a_strangers_message_id_does_not_shadow_a_contacts_mail(db: Db) {
    let t = spawn_app(db).await;
    let now = sladesk::app::now();
    let stranger = b"From: mallory@elsewhere.example\r\nTo: service-desk@desk.example\r\nSubject: hi\r\nMessage-ID: <carols-next@acme.example>\r\n\r\nx\r\n";
    let out = t.app.ingest(stranger, "test", now).unwrap();
    assert!(matches!(out, IngestOutcome::Quarantined { .. }), "{out:?}");
    let carol = b"From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Backups failed\r\nMessage-ID: <carols-next@acme.example>\r\n\r\nAgain.\r\n";
    let out = t.app.ingest(carol, "test", now).unwrap();
    assert!(matches!(out, IngestOutcome::Created { .. }), "{out:?}");
    // The same mail delivered twice is still one ticket.
    let again = t.app.ingest(carol, "test", now).unwrap();
    assert!(matches!(again, IngestOutcome::Duplicate { .. }), "{again:?}");
}

async fn customers_see_their_own_organisation_and_the_public_text_of_an_outage(db: Db) {
    let t = spawn_app(db).await;
    let made = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": "2026-10-01T10:00:00Z", "end": "2026-10-01T12:00:00Z",
                   "organisations": ["acme", "globex"],
                   "description": "Root cause: a tenant's runaway batch job on the shared SAN",
                   "public_description": "Storage was slower than usual"}),
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{}", made.text);
    assert_eq!(made.json["public_description"], "Storage was slower than usual");
    let id = made.json["id"].as_i64().unwrap();
    let bare = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "emergency_maintenance", "start": "2026-10-02T10:00:00Z", "end": "2026-10-02T11:00:00Z",
                   "organisations": "all", "description": "Hypervisor patch for a CVE"}),
        )
        .await;
    assert_eq!(bare.status, StatusCode::CREATED, "{}", bare.text);

    let list = t.get("/api/v1/outages", &t.carol).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    assert!(!list.text.contains("globex"), "no other organisation: {}", list.text);
    assert!(
        !list.text.contains("SAN") && !list.text.contains("CVE"),
        "no staff text: {}",
        list.text
    );
    assert!(!list.text.contains("public_description"), "{}", list.text);
    let items = list.json.as_array().unwrap();
    assert_eq!(items.len(), 2);
    for o in items {
        assert_eq!(o["organisations"], json!(["acme"]), "{o}");
    }
    assert!(
        items
            .iter()
            .any(|o| o["description"] == "Storage was slower than usual")
    );
    assert!(items.iter().any(|o| o["description"] == "Emergency maintenance"));
    let one = t.get(&format!("/api/v1/outages/{id}"), &t.gina).await;
    assert_eq!(one.json["organisations"], json!(["globex"]), "{}", one.text);
    assert_eq!(one.json["description"], "Storage was slower than usual");
    // Staff see the whole record.
    let staff = t.get(&format!("/api/v1/outages/{id}"), &t.agent).await;
    assert_eq!(staff.json["organisations"], json!(["acme", "globex"]));
    assert!(staff.json["description"].as_str().unwrap().contains("SAN"));
}

async fn customers_choose_severity_only_where_allowed_and_queues_only_among_selectable_ones(db: Db) {
    let t = spawn_app(db).await;
    let ian = initech(&t).await;
    let asked = t
        .post(
            "/api/v1/tickets",
            &ian,
            json!({"subject": "Printer on fire", "description": "Smoke.", "severity": 1}),
        )
        .await;
    assert_eq!(asked.status, StatusCode::CREATED, "{}", asked.text);
    assert_eq!(
        asked.json["severity"], 3,
        "the queue's default: Initech may not declare"
    );
    let r = asked.json["reference"].as_str().unwrap();
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    assert!(events.text.contains("asked for severity 1"), "{}", events.text);
    let theirs = t.get(&format!("/api/v1/tickets/{r}/events"), &ian).await;
    assert!(!theirs.text.contains("asked for severity"), "the note is internal");
    // Acme may declare.
    let r2 = t.raise(&t.carol, "Site down", 1).await;
    assert_eq!(
        t.get(&format!("/api/v1/tickets/{r2}"), &t.carol).await.json["severity"],
        1
    );

    // No queue is customer-selectable yet: an existing one and an unknown
    // one get the same answer, so slugs cannot be found out.
    let mut details = Vec::new();
    for queue in ["platform", "no-such-queue"] {
        let a = t
            .post(
                "/api/v1/tickets",
                &t.carol,
                json!({"subject": "x", "description": "y", "queue": queue}),
            )
            .await;
        details.push(a.problem(422));
        assert_eq!(a.json["field"], "queue");
    }
    assert_eq!(details[0], details[1]);
    let q = t
        .post(
            "/api/v1/queues",
            &t.admin,
            json!({"slug": "billing", "name": "Billing", "customer_selectable": true}),
        )
        .await;
    assert_eq!(q.status, StatusCode::CREATED, "{}", q.text);
    assert_eq!(q.json["customer_selectable"], true);
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "Invoice", "description": "Wrong VAT.", "queue": "billing"}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
}

async fn the_timeline_comes_in_pages(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_limits(Limits {
        events_page: 10,
        ..Limits::default()
    });
    let r = t.raise(&t.carol, "Chatty", 3).await;
    let path = format!("/api/v1/tickets/{r}");
    for i in 0..12 {
        t.post(
            &format!("{path}/replies"),
            &t.agent,
            json!({"body": format!("reply {i}")}),
        )
        .await;
        if i % 2 == 0 {
            t.post(&format!("{path}/notes"), &t.agent, json!({"body": format!("note {i}")}))
                .await;
        }
    }
    t.get(&format!("{path}/events?limit=11"), &t.agent).await.problem(422);
    for (who, notes) in [(&t.agent, true), (&t.carol, false)] {
        let mut next = Some(format!("{path}/events"));
        let mut seqs = Vec::new();
        let mut saw_note = false;
        let mut pages = 0;
        while let Some(url) = next.take() {
            let r = t
                .client
                .get(format!("{}{url}", t.address))
                .bearer_auth(who)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            next = r.headers().get("link").and_then(|l| {
                let l = l.to_str().unwrap();
                l.split(", ")
                    .find(|p| p.ends_with("rel=\"next\""))
                    .map(|p| p.trim_start_matches('<').split('>').next().unwrap().to_string())
            });
            let items: Vec<serde_json::Value> = r.json().await.unwrap();
            assert!(items.len() <= 10);
            for e in &items {
                seqs.push(e["seq"].as_i64().unwrap());
                saw_note |= e["visibility"] == "internal";
            }
            pages += 1;
        }
        assert!(pages >= 2, "more than one page");
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order, none twice: {seqs:?}");
        assert_eq!(saw_note, notes);
        let whole = t.app.ticket_events(&principal_of(&t, who).await, &r).unwrap();
        assert_eq!(seqs.len(), whole.len(), "the pages hold the whole timeline");
    }
}

async fn principal_of(t: &TestApp, token: &str) -> Principal {
    let app = t.app.clone();
    let token = token.to_string();
    tokio::task::spawn_blocking(move || app.authenticate(&token, None, sladesk::app::now()).unwrap())
        .await
        .unwrap()
}

async fn requests_to_reopen_are_rate_limited(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Mail bounces", 3).await;
    let path = format!("/api/v1/tickets/{r}");
    t.post(&format!("{path}/replies"), &t.agent, json!({"body": "Fixed the MX."}))
        .await;
    let done = t.post(&format!("{path}/resolve"), &t.agent, json!({})).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.text);
    let per_hour = Limits::default().reopen_requests_per_hour;
    for i in 0..per_hour {
        let a = t
            .post(
                &format!("{path}/reopen-request"),
                &t.carol,
                json!({"reason": format!("still {i}")}),
            )
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.text);
    }
    let over = t
        .post(&format!("{path}/reopen-request"), &t.carol, json!({"reason": "still!"}))
        .await;
    over.problem(429);
    let mails = {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq("reopen_request"))
            .count()
            .get_result::<i64>(&mut t.app.conn().unwrap())
            .unwrap()
    };
    assert_eq!(mails, i64::from(per_hour), "one mail per accepted request, none after");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_keeps_the_databases_own_words_to_the_log() {
    let t = spawn_app(Db::Postgres).await;
    let name = t.database_url.rsplit('/').next().unwrap().to_string();
    let admin = crate::helpers::postgres_url();
    let dropped = name.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::Connection;
        use diesel::connection::SimpleConnection;
        let mut c = diesel::PgConnection::establish(&admin).unwrap();
        c.batch_execute(&format!("DROP DATABASE {dropped} WITH (FORCE)"))
            .unwrap();
    })
    .await
    .unwrap();
    let a = t.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE, "{}", a.text);
    assert!(!a.text.contains(&name), "no database name: {}", a.text);
    assert!(!a.text.to_lowercase().contains("fatal"), "{}", a.text);
    assert_eq!(a.json["reason"], "the database cannot be reached");
}

/// A ticket whose stored event cannot be read is our fault, not the
/// caller's: 500 with nothing of the cause (which is logged), never a 409
/// that shows the internals.
async fn corrupt_stored_data_answers_a_bare_500_and_not_its_internals(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Disk full", 2).await;
    {
        use diesel::prelude::*;
        use sladesk::store::schema::ticket_events;
        let mut c = t.app.conn().unwrap();
        diesel::update(ticket_events::table)
            .set(ticket_events::data.eq("{not json"))
            .execute(&mut c)
            .unwrap();
    }
    // Its clocks are replayed from its events.
    for token in [&t.carol, &t.agent] {
        let a = t.get(&format!("/api/v1/tickets/{r}/sla"), token).await;
        let detail = a.problem(500);
        assert_eq!(a.json["type"], "/problems/internal", "{}", a.text);
        assert!(
            !a.text.contains("json") && !a.text.contains("event"),
            "no internals: {}",
            a.text
        );
        assert!(detail.contains("logged"), "{detail}");
    }
}
