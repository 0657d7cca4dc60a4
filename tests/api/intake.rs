//! Mail intake end to end: the corpus in fixtures/email, each message with
//! its expected outcome; redelivery changes nothing; the HTTP path.

use reqwest::StatusCode;
use serde::Deserialize;
use sladesk::app::intake::IngestOutcome;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    the_email_corpus_becomes_tickets_replies_and_recorded_refusals,
    mail_intake_over_http,
    an_acknowledgement_leaves_once_and_replies_to_it_thread,
    a_reply_to_a_closed_ticket_opens_a_follow_up,
    automatic_replies_to_one_sender_are_limited,
    quarantined_mail_is_accepted_or_rejected_by_staff,
    a_severity_declared_in_the_subject_counts_only_where_allowed,
    unknown_senders_can_be_refused_with_a_reply_instead,
    a_tickets_files_and_original_mail_are_there_for_those_who_may_see_them,
    the_acknowledgement_speaks_in_the_requesters_time_zone,
    the_attachment_limit_is_a_setting,
    first_messages_from_a_new_sender_at_once_all_become_tickets,
);

/// A new sender at an organisation's domain sends several messages at
/// once: each needs the sender's contact, which only one may make. Every
/// message becomes its own ticket; none is taken for a duplicate of
/// another (which lost mail: benches/chaos.sh found it on PostgreSQL).
async fn first_messages_from_a_new_sender_at_once_all_become_tickets(db: Db) {
    let t = spawn_app(db).await;
    let now = sladesk::app::now();
    let mut sent = Vec::new();
    for i in 0..8 {
        let app = t.app.clone();
        sent.push(tokio::task::spawn_blocking(move || {
            let m = format!(
                "From: New Person <new.person@globex.example>\r\nTo: service-desk@desk.example\r\n\
                 Subject: At once {i}\r\nMessage-ID: <at-once-{i}@globex.example>\r\n\r\nBody {i}\r\n"
            );
            app.ingest(m.as_bytes(), "test", now).unwrap()
        }));
    }
    let mut references = std::collections::BTreeSet::new();
    for s in sent {
        match s.await.unwrap() {
            IngestOutcome::Created { reference, .. } => {
                references.insert(reference);
            }
            other => panic!("every message is a new ticket, not {other:?}"),
        }
    }
    assert_eq!(references.len(), 8, "{references:?}");
}

#[derive(Deserialize)]
struct Manifest {
    message: Vec<Expect>,
}

#[derive(Deserialize)]
struct Expect {
    file: String,
    outcome: String,
    queue: Option<String>,
    subject: Option<String>,
    reference: Option<String>,
    contains: Option<String>,
    lacks: Option<String>,
}

fn corpus() -> Vec<(Expect, Vec<u8>)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email");
    let m: Manifest = toml::from_str(&std::fs::read_to_string(format!("{dir}/manifest.toml")).unwrap()).unwrap();
    m.message
        .into_iter()
        .map(|e| {
            let raw = std::fs::read(format!("{dir}/{}", e.file)).unwrap();
            (e, raw)
        })
        .collect()
}

async fn the_email_corpus_becomes_tickets_replies_and_recorded_refusals(db: Db) {
    let t = spawn_app(db).await;
    for (expect, raw) in corpus() {
        let app = t.app.clone();
        let bytes = raw.clone();
        let outcome = tokio::task::spawn_blocking(move || app.ingest(&bytes, "test", sladesk::app::now()))
            .await
            .unwrap()
            .unwrap_or_else(|e| panic!("{}: {e}", expect.file));
        assert_eq!(
            IngestOutcome::name(&outcome),
            expect.outcome,
            "{}: {outcome:?}",
            expect.file
        );
        let reference = match &outcome {
            IngestOutcome::Created { reference } | IngestOutcome::Replied { reference } => reference.clone(),
            _ => continue,
        };
        if let Some(r) = &expect.reference {
            assert_eq!(&reference, r, "{}", expect.file);
        }
        let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await.json;
        assert_eq!(ticket["source"], "email", "{}", expect.file);
        if let Some(q) = &expect.queue {
            assert_eq!(ticket["queue"], q.as_str(), "{}", expect.file);
        }
        if let Some(s) = &expect.subject {
            assert_eq!(ticket["subject"], s.as_str(), "{}", expect.file);
        }
        let events = t
            .get(&format!("/api/v1/tickets/{reference}/events"), &t.agent)
            .await
            .json;
        let last_comment = events
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|e| e["type"] == "commented")
            .and_then(|e| e["body"].as_str())
            .unwrap_or_default()
            .to_string();
        if let Some(c) = &expect.contains {
            assert!(
                last_comment.contains(c.as_str()),
                "{}: {last_comment:?} lacks {c:?}",
                expect.file
            );
        }
        if let Some(l) = &expect.lacks {
            assert!(
                !last_comment.contains(l.as_str()),
                "{}: {last_comment:?} has {l:?}",
                expect.file
            );
        }
    }
    // Files were kept with their name, type, size and SHA-256.
    let app = t.app.clone();
    let files: Vec<(String, String, i64, String)> = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::attachments::dsl::*;
        attachments
            .select((filename, content_type, size, sha256))
            .load(&mut app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    // Attached, inline (Outlook's pasted screenshot) and in truncated MIME alike.
    let kept: Vec<(&str, &str, i64)> = files.iter().map(|f| (f.0.as_str(), f.1.as_str(), f.2)).collect();
    assert_eq!(
        kept,
        vec![
            ("error.png", "image/png", 70),
            ("image001.png", "image/png", 70),
            ("capacity-q3.pdf", "application/pdf", 38),
            ("job.log", "text/plain", 72),
        ]
    );
    assert_eq!(
        files[0].3, "c414cd0e204de974f73753c7e28d7638e7b3691bb8b1a2bab6b25bb7fed7ce77",
        "the SHA-256 of the decoded file"
    );

    // A contact at acme's mail domain was added to acme.
    let users = t.get("/api/v1/users", &t.admin).await.json;
    assert!(
        users
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["email"] == "priya.shah@acme.example" && u["organisation"] == "acme")
    );

    // Redelivery of the whole corpus changes nothing.
    let before = t.get("/api/v1/tickets?limit=200", &t.agent).await.json["items"]
        .as_array()
        .unwrap()
        .len();
    for (expect, raw) in corpus() {
        let app = t.app.clone();
        let outcome = tokio::task::spawn_blocking(move || app.ingest(&raw, "test", sladesk::app::now()))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            IngestOutcome::name(&outcome),
            "duplicate",
            "{} redelivered: {outcome:?}",
            expect.file
        );
    }
    let after = t.get("/api/v1/tickets?limit=200", &t.agent).await.json["items"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(before, after);
    let events = t.get("/api/v1/tickets/SD-000001/events", &t.agent).await.json;
    let replies = events
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "commented")
        .count();
    assert_eq!(replies, 5, "the report and the four replies, each once");
}

async fn mail_intake_over_http(db: Db) {
    let t = spawn_app(db).await;
    let intake = t.intake_token().await;
    let message = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/01-gmail-new.eml")).unwrap();
    let post = |token: String, ct: &'static str, body: Vec<u8>| {
        let client = t.client.clone();
        let url = format!("{}/api/v1/inbound/email", t.address);
        async move {
            client
                .post(url)
                .bearer_auth(token)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(intake.clone(), "message/rfc822", message.clone()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["outcome"], "created", "{v}");
    let r = post(intake.clone(), "message/rfc822", message.clone()).await;
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        v["outcome"], "duplicate",
        "the same Message-ID over another path is one ticket: {v}"
    );
    assert_eq!(
        post(t.admin.clone(), "message/rfc822", message.clone()).await.status(),
        StatusCode::FORBIDDEN,
        "a full token is not an intake token"
    );
    assert_eq!(
        post(intake.clone(), "text/plain", message.clone()).await.status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
    assert_eq!(
        post(intake.clone(), "message/rfc822", b"   \n".to_vec()).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        post("sld_nope".into(), "message/rfc822", message).await.status(),
        StatusCode::UNAUTHORIZED
    );
    // An intake token is no key to the rest of the API.
    assert_eq!(t.get("/api/v1/tickets", &intake).await.status, StatusCode::FORBIDDEN);
}

async fn an_acknowledgement_leaves_once_and_replies_to_it_thread(db: Db) {
    use diesel::prelude::*;
    use sladesk::store::schema::outbox;

    let t = spawn_app(db).await;
    let dir = std::env::temp_dir().join(format!(
        "sladesk-outbox-{}-{}",
        std::process::id(),
        t.address.rsplit(':').next().unwrap()
    ));
    let raw = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/01-gmail-new.eml")).unwrap();
    let app = t.app.clone();
    let out = dir.clone();
    let (first, second, files) = tokio::task::spawn_blocking(move || {
        let now = sladesk::app::now();
        assert!(matches!(
            app.ingest(&raw, "test", now).unwrap(),
            IngestOutcome::Created { .. }
        ));
        let (templates, from) = crate::helpers::shipped_mail();
        let outbound = sladesk::mail::Outbound::Folder(out.clone());
        let first = sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, now, 10).unwrap();
        let second = sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, now, 10).unwrap();
        let files: Vec<Vec<u8>> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        (first, second, files)
    })
    .await
    .unwrap();
    assert_eq!((first.sent, second.sent), (1, 0), "sent once");
    assert_eq!(files.len(), 1);
    let parsed = mail_parser::MessageParser::default().parse(&files[0]).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("[SD-000001] We have your request: VPN tunnel to the data centre is down")
    );
    assert_eq!(
        parsed.in_reply_to().as_text(),
        Some("CAF7x0kQ1-gmail-new@mail.gmail.com")
    );
    assert_eq!(parsed.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
    assert_eq!(
        parsed.to().and_then(|a| a.first()).and_then(|a| a.address()),
        Some("carol@acme.example")
    );
    let text = parsed.body_text(0).unwrap().to_string();
    assert!(
        text.contains("We will respond by") && text.contains("SD-000001"),
        "{text}"
    );
    assert!(parsed.body_html(0).unwrap().contains("<strong>SD-000001</strong>"));
    let our_id = parsed.message_id().unwrap().to_string();
    assert!(our_id.starts_with("SD-000001.ack."), "{our_id}");

    // Our own message coming back is ignored; a reply quoting it threads.
    let reply = format!(
        "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Re: thanks\r\nMessage-ID: <reply-1@acme.example>\r\nIn-Reply-To: <{our_id}>\r\n\r\nOne more detail: it started at 08:50.\r\n"
    );
    let app = t.app.clone();
    let (looped_outcome, reply_outcome, in_doubt) = tokio::task::spawn_blocking(move || {
        let now = sladesk::app::now();
        let looped = app.ingest(&files[0], "test", now).unwrap();
        let reply = app.ingest(reply.as_bytes(), "test", now).unwrap();
        // A sender that stopped mid-send: the row stays claimed past its claim.
        let mut c = app.conn().unwrap();
        diesel::update(outbox::table)
            .set((
                outbox::sent_at.eq(None::<chrono::NaiveDateTime>),
                outbox::claimed_until.eq(Some((now - chrono::Duration::minutes(1)).naive_utc())),
            ))
            .execute(&mut c)
            .unwrap();
        let (templates, from) = crate::helpers::shipped_mail();
        let report = sladesk::mail::deliver_outbox(
            &app,
            &sladesk::mail::Outbound::Folder(std::env::temp_dir().join("sladesk-never")),
            &templates,
            &from,
            now,
            10,
        )
        .unwrap();
        (looped, reply, report)
    })
    .await
    .unwrap();
    assert_eq!(
        looped_outcome,
        IngestOutcome::Ignored {
            reason: "our own outgoing mail".into()
        }
    );
    assert_eq!(
        reply_outcome,
        IngestOutcome::Replied {
            reference: "SD-000001".into()
        }
    );
    assert_eq!(
        (in_doubt.sent, in_doubt.set_aside_in_doubt),
        (0, 1),
        "in doubt is set aside, not resent"
    );
    std::fs::remove_dir_all(&dir).ok();
}

async fn a_reply_to_a_closed_ticket_opens_a_follow_up(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Printer jam", 4).await;
    t.call(
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{r}/resolve"),
        Some(&t.agent),
        None,
    )
    .await;
    t.call(
        reqwest::Method::POST,
        &format!("/api/v1/tickets/{r}/close"),
        Some(&t.agent),
        None,
    )
    .await;
    let mail = format!(
        "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Re: [{r}] Printer jam\r\nMessage-ID: <follow-up-1@acme.example>\r\n\r\nIt jammed again.\r\n"
    );
    let app = t.app.clone();
    let outcome =
        tokio::task::spawn_blocking(move || app.ingest(mail.as_bytes(), "test", sladesk::app::now()).unwrap())
            .await
            .unwrap();
    let IngestOutcome::Created { reference } = outcome else {
        panic!("{outcome:?}")
    };
    assert_ne!(reference, r);
    let events = t
        .get(&format!("/api/v1/tickets/{reference}/events"), &t.agent)
        .await
        .json;
    let body = events[1]["body"].as_str().unwrap();
    assert!(
        body.starts_with(&format!("Follow-up to {r}, which is closed.")),
        "{body}"
    );
    assert!(body.ends_with("It jammed again."), "{body}");
}

async fn automatic_replies_to_one_sender_are_limited(db: Db) {
    use diesel::prelude::*;
    use sladesk::store::schema::outbox;
    let t = spawn_app(db).await;
    let app = t.app.clone();
    let (tickets, acks) = tokio::task::spawn_blocking(move || {
        let now = sladesk::app::now();
        let mut tickets = 0;
        for i in 0..8 {
            let mail = format!(
                "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Problem {i}\r\nMessage-ID: <flood-{i}@acme.example>\r\n\r\nHelp {i}\r\n"
            );
            if matches!(app.ingest(mail.as_bytes(), "test", now).unwrap(), IngestOutcome::Created { .. }) {
                tickets += 1;
            }
        }
        let acks: i64 = outbox::table.count().get_result(&mut app.conn().unwrap()).unwrap();
        (tickets, acks)
    })
    .await
    .unwrap();
    assert_eq!(tickets, 8, "every message is a ticket");
    assert_eq!(
        acks,
        sladesk::app::outbox::AUTO_REPLIES_PER_HOUR,
        "but acknowledgements stop at the hourly limit"
    );
}

/// (kind, to) of every outbox row, oldest first.
fn outbox_rows(app: &sladesk::app::App) -> Vec<(String, String)> {
    use diesel::prelude::*;
    use sladesk::store::schema::outbox;
    outbox::table
        .order(outbox::id.asc())
        .select((outbox::kind, outbox::to_address))
        .load(&mut app.conn().unwrap())
        .unwrap()
}

async fn quarantined_mail_is_accepted_or_rejected_by_staff(db: Db) {
    use reqwest::Method;
    use serde_json::json;
    let t = spawn_app(db).await;
    let now = sladesk::app::now();
    let stranger = b"From: Sam Stranger <sam@newco.example>\r\nTo: service-desk@desk.example\r\nSubject: [S2] Our VM will not boot\r\nMessage-ID: <q-1@newco.example>\r\n\r\nIt hangs at GRUB.\r\n";
    let out = t.app.ingest(stranger, "test", now).unwrap();
    assert!(matches!(out, IngestOutcome::Quarantined { .. }), "{out:?}");
    let other = b"From: pat@spam.example\r\nTo: service-desk@desk.example\r\nSubject: Cheap licences\r\nMessage-ID: <q-2@spam.example>\r\n\r\nBuy now.\r\n";
    t.app.ingest(other, "test", now).unwrap();

    // Customers do not see the quarantine at all.
    t.call(Method::GET, "/api/v1/inbound/quarantine", Some(&t.carol), None)
        .await
        .problem(404);
    let list = t
        .call(Method::GET, "/api/v1/inbound/quarantine", Some(&t.agent), None)
        .await;
    assert_eq!(list.status, 200, "{}", list.text);
    let items = list.json.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["from"], "sam@newco.example");
    assert!(
        items[0]["reason"]
            .as_str()
            .unwrap()
            .contains("no organisation's mail domain")
    );
    let id = items[0]["id"].as_i64().unwrap();
    let spam = items[1]["id"].as_i64().unwrap();

    // The original, as it arrived, for the agent to read.
    let r = t
        .client
        .get(format!("{}/api/v1/inbound/messages/{id}", t.address))
        .bearer_auth(&t.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "message/rfc822");
    assert_eq!(r.bytes().await.unwrap().as_ref(), stranger.as_slice());

    // Accepting needs to know whose contact the sender is.
    let path = format!("/api/v1/inbound/messages/{id}/accept");
    let detail = t
        .call(Method::POST, &path, Some(&t.agent), Some(json!({})))
        .await
        .problem(422);
    assert!(detail.contains("organisation"), "{detail}");
    let a = t
        .call(
            Method::POST,
            &path,
            Some(&t.agent),
            Some(json!({"organisation": "acme", "severity": 2})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    assert_eq!(a.json["outcome"], "created");
    let reference = a.json["reference"].as_str().unwrap().to_string();
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(ticket.json["severity"], 2);
    assert_eq!(ticket.json["requester"], "sam@newco.example");
    assert_eq!(ticket.json["organisation"], "acme");
    t.call(
        Method::POST,
        &path,
        Some(&t.agent),
        Some(json!({"organisation": "acme"})),
    )
    .await
    .problem(409);

    // Rejected with a reply; and a redelivery of either changes nothing.
    let r = t
        .call(
            Method::POST,
            &format!("/api/v1/inbound/messages/{spam}/reject"),
            Some(&t.agent),
            Some(json!({"reply": true})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert_eq!(r.json["outcome"], "rejected");
    let list = t
        .call(Method::GET, "/api/v1/inbound/quarantine", Some(&t.agent), None)
        .await;
    assert_eq!(list.json.as_array().unwrap().len(), 0);
    assert_eq!(
        t.app.ingest(stranger, "test", now).unwrap(),
        IngestOutcome::Duplicate {
            first_outcome: "created".into()
        }
    );
    assert_eq!(
        outbox_rows(&t.app),
        vec![
            ("acknowledgement".to_string(), "sam@newco.example".to_string()),
            ("rejected".to_string(), "pat@spam.example".to_string()),
        ]
    );
    // Now a contact of acme: his next mail is a ticket straight away.
    let next = b"From: sam@newco.example\r\nTo: service-desk@desk.example\r\nSubject: Another\r\nMessage-ID: <q-3@newco.example>\r\n\r\nx\r\n";
    assert!(matches!(
        t.app.ingest(next, "test", now).unwrap(),
        IngestOutcome::Created { .. }
    ));
}

async fn a_severity_declared_in_the_subject_counts_only_where_allowed(db: Db) {
    let t = spawn_app(db).await;
    let now = sladesk::app::now();
    // Globex may declare severity by mail.
    let gina = b"From: gina@globex.example\r\nTo: service-desk@desk.example\r\nSubject: [S1] Production site down\r\nMessage-ID: <sev-1@globex.example>\r\n\r\nAll users affected.\r\n";
    let IngestOutcome::Created { reference } = t.app.ingest(gina, "test", now).unwrap() else {
        panic!("a ticket")
    };
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(ticket.json["severity"], 1);
    let events = t.get(&format!("/api/v1/tickets/{reference}/events"), &t.agent).await;
    assert!(events.text.contains("declared severity 1"), "{}", events.text);
    // The note is for agents: the customer's timeline does not show it.
    let theirs = t.get(&format!("/api/v1/tickets/{reference}/events"), &t.gina).await;
    assert!(!theirs.text.contains("declared severity"), "{}", theirs.text);

    // Initech may not: the queue's default applies, and agents are told Ian asked.
    crate::helpers::initech(&t).await;
    let ian = b"From: ian@initech.example\r\nTo: service-desk@desk.example\r\nSubject: [s1] Printer jammed\r\nMessage-ID: <sev-2@initech.example>\r\n\r\nPaper everywhere.\r\n";
    let IngestOutcome::Created { reference } = t.app.ingest(ian, "test", now).unwrap() else {
        panic!("a ticket")
    };
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(ticket.json["severity"], 3, "the queue's default");
    let events = t.get(&format!("/api/v1/tickets/{reference}/events"), &t.agent).await;
    assert!(events.text.contains("may not declare severity"), "{}", events.text);
}

async fn unknown_senders_can_be_refused_with_a_reply_instead(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_reply_to_unknown_senders(true);
    let now = sladesk::app::now();
    for i in 0..7 {
        let m = format!(
            "From: sam@newco.example\r\nTo: service-desk@desk.example\r\nSubject: Help {i}\r\nMessage-ID: <r-{i}@newco.example>\r\n\r\nx\r\n"
        );
        let out = t.app.ingest(m.as_bytes(), "test", now).unwrap();
        assert!(matches!(out, IngestOutcome::Rejected { .. }), "{out:?}");
    }
    // A bounce from an unknown address is automatic mail: never answered.
    let bounce = b"From: MAILER-DAEMON@mx.newco.example\r\nTo: service-desk@desk.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMessage-ID: <r-b@mx.newco.example>\r\n\r\nx\r\n";
    assert!(matches!(
        t.app.ingest(bounce, "test", now).unwrap(),
        IngestOutcome::Ignored { .. }
    ));
    // Staff writing to a queue are not unknown: still quarantined, no reply.
    let staff = b"From: alice@desk.example\r\nTo: service-desk@desk.example\r\nSubject: test\r\nMessage-ID: <r-s@desk.example>\r\n\r\nx\r\n";
    assert!(matches!(
        t.app.ingest(staff, "test", now).unwrap(),
        IngestOutcome::Quarantined { .. }
    ));
    let rows = outbox_rows(&t.app);
    assert_eq!(
        rows.len() as i64,
        sladesk::app::outbox::AUTO_REPLIES_PER_HOUR,
        "replies stop at the hourly limit: {rows:?}"
    );
    assert!(rows.iter().all(|(k, to)| k == "rejected" && to == "sam@newco.example"));
}

async fn a_tickets_files_and_original_mail_are_there_for_those_who_may_see_them(db: Db) {
    let t = spawn_app(db).await;
    let raw = b"From: carol@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Two files\r\nMessage-ID: <files-1@acme.example>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee both.\r\n--b\r\nContent-Type: image/png; name=shot.png\r\nContent-Disposition: attachment; filename=shot.png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==\r\n--b\r\nContent-Type: text/html; name=page.html\r\nContent-Disposition: attachment; filename=\"page.html\"\r\n\r\n<script>alert(document.cookie)</script>\r\n--b--\r\n";
    let IngestOutcome::Created { reference } = t.app.ingest(raw, "test", sladesk::app::now()).unwrap() else {
        panic!("a ticket")
    };
    let path = format!("/api/v1/tickets/{reference}/attachments");
    let list = t.get(&path, &t.carol).await;
    assert_eq!(list.status, 200, "{}", list.text);
    let files = list.json.as_array().unwrap().clone();
    assert_eq!(files.len(), 2);
    assert_eq!(files[0]["filename"], "shot.png");
    assert_eq!(files[0]["size"], 70);
    // Another organisation's contact cannot tell the ticket exists.
    t.get(&path, &t.gina).await.problem(404);

    let download = |id: i64| {
        let url = format!("{}{path}/{id}", t.address);
        let client = t.client.clone();
        let token = t.carol.clone();
        async move { client.get(url).bearer_auth(token).send().await.unwrap() }
    };
    let png = download(files[0]["id"].as_i64().unwrap()).await;
    assert_eq!(png.headers()["content-type"], "image/png");
    assert!(
        png.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert_eq!(png.bytes().await.unwrap().len(), 70);
    let html = download(files[1]["id"].as_i64().unwrap()).await;
    assert_eq!(
        html.headers()["content-type"],
        "application/octet-stream",
        "HTML from a mail never renders in the desk's origin"
    );

    // The original mail: staff only.
    let messages = t.get(&format!("/api/v1/tickets/{reference}/messages"), &t.agent).await;
    assert_eq!(messages.status, 200, "{}", messages.text);
    let original = messages.json[0]["original"].as_str().unwrap().to_string();
    assert_eq!(messages.json[0]["message_id"], "files-1@acme.example");
    let r = t
        .client
        .get(format!("{}{original}", t.address))
        .bearer_auth(&t.agent)
        .send()
        .await
        .unwrap();
    assert_eq!(r.bytes().await.unwrap().as_ref(), raw.as_slice());
    t.get(&format!("/api/v1/tickets/{reference}/messages"), &t.carol)
        .await
        .problem(404);
}

fn outbox_contexts(app: &sladesk::app::App) -> Vec<serde_json::Value> {
    use diesel::prelude::*;
    use sladesk::store::schema::outbox;
    outbox::table
        .order(outbox::id.asc())
        .select(outbox::context)
        .load::<String>(&mut app.conn().unwrap())
        .unwrap()
        .iter()
        .map(|c| serde_json::from_str(c).unwrap())
        .collect()
}

async fn the_acknowledgement_speaks_in_the_requesters_time_zone(db: Db) {
    use reqwest::Method;
    let t = spawn_app(db).await;
    let a = t
        .call(
            Method::PATCH,
            "/api/v1/users/gina@globex.example",
            Some(&t.admin),
            Some(serde_json::json!({"time_zone": "America/New_York"})),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    t.call(
        Method::PATCH,
        "/api/v1/users/gina@globex.example",
        Some(&t.admin),
        Some(serde_json::json!({"time_zone": "Mars/Olympus"})),
    )
    .await
    .problem(422);
    let now = sladesk::app::now();
    for (who, id) in [
        ("gina@globex.example", "tz-1@globex.example"),
        ("carol@acme.example", "tz-2@acme.example"),
    ] {
        let m = format!(
            "From: {who}\r\nTo: service-desk@desk.example\r\nSubject: Zones\r\nMessage-ID: <{id}>\r\n\r\nx\r\n"
        );
        t.app.ingest(m.as_bytes(), "test", now).unwrap();
    }
    let ctx = outbox_contexts(&t.app);
    let gina = ctx[0]["response_due"].as_str().unwrap();
    let carol = ctx[1]["response_due"].as_str().unwrap();
    assert!(gina.ends_with("(America/New_York)"), "{gina}");
    assert!(!carol.contains('('), "the desk's own zone goes unnamed: {carol}");
}

async fn the_attachment_limit_is_a_setting(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_attachment_limit(50);
    let raw = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/email/17-attachment.eml")).unwrap();
    let out = t.app.ingest(&raw, "test", sladesk::app::now()).unwrap();
    assert_eq!(
        out,
        IngestOutcome::Quarantined {
            reason: "attachments total 70 bytes, over the 50-byte limit".into()
        }
    );
}
