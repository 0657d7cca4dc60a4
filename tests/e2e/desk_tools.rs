//! An agent's tools in a real browser, with the mail they send delivered
//! through a real SMTP server (aiosmtpd) and read back: twenty tickets of
//! two organisations answered in one bulk action, ticked with the keyboard;
//! a canned reply put in the reply box with `m` and sent; a colleague Cc'd
//! on the customer's mail hearing the answer; the requester adding a
//! watcher from the ticket's page; a search kept as a view shared with a
//! queue, counted in its side bar and opened by a colleague.

use std::collections::BTreeSet;
use std::time::Duration;

use fantoccini::Locator;
use mail_parser::MessageParser;
use serde_json::json;
use sladesk::app::intake::IngestOutcome;

use crate::browser::{Browser, people};
use crate::helpers::{Db, TestApp, spawn_app};
use crate::smtp::{deliver_and_collect, start_smtp};

/// (to, subject, plain text) of each message delivered.
fn read(mails: &[Vec<u8>]) -> Vec<(String, String, String)> {
    mails
        .iter()
        .map(|raw| {
            let m = MessageParser::default().parse(raw).expect("a message");
            let to = m
                .to()
                .and_then(|a| a.first())
                .and_then(|a| a.address())
                .unwrap_or_default()
                .to_string();
            let text = m.body_text(0).unwrap_or_default().to_string();
            (to, m.subject().unwrap_or_default().to_string(), text)
        })
        .collect()
}

async fn press(b: &Browser, key: &str) {
    b.client
        .find(Locator::Css("body"))
        .await
        .unwrap()
        .send_keys(key)
        .await
        .unwrap();
}

/// Mail sent before the action under test, delivered and set aside.
async fn drain(t: &TestApp, smtp: &crate::smtp::SmtpServer) {
    let waiting = t.outbox().len();
    deliver_and_collect(t, smtp, waiting).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_tickets_of_two_organisations_are_assigned_and_answered_in_one_go() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let smtp = start_smtp();
    let mut chosen = BTreeSet::new();
    let mut requester_of = std::collections::HashMap::new();
    for i in 0..10 {
        for (token, who) in [(&t.carol, "carol@acme.example"), (&t.gina, "gina@globex.example")] {
            let r = t.raise(token, &format!("Certificate expired on host {i}"), 3).await;
            requester_of.insert(r.clone(), who);
            chosen.insert(r);
        }
    }
    // One more in the queue, not chosen: it must be left alone.
    let other = t.raise(&t.carol, "Unrelated printer", 4).await;
    drain(&t, &smtp).await;

    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto("/queue?sort=newest").await;
    // j moves down the list, x ticks the row: every one of the twenty.
    let rows = b.client.find_all(Locator::Css("tr.row-link")).await.unwrap().len();
    assert!(rows >= 21, "{rows} rows");
    for _ in 0..rows {
        press(&b, "j").await;
        let at = b
            .client
            .execute(
                "return document.querySelector('tr.row-link.selected').dataset.ref;",
                vec![],
            )
            .await
            .unwrap();
        if chosen.contains(at.as_str().unwrap()) {
            press(&b, "x").await;
        }
    }
    let ticked = b
        .client
        .execute(
            "return Array.from(document.querySelectorAll('input.pick:checked')).map(c => c.value);",
            vec![],
        )
        .await
        .unwrap();
    let ticked: BTreeSet<String> = serde_json::from_value(ticked).unwrap();
    assert_eq!(ticked, chosen, "the keyboard ticked exactly the twenty");
    b.client
        .find(Locator::Css("#bulk-assignee"))
        .await
        .unwrap()
        .select_by_value("me")
        .await
        .unwrap();
    b.fill("#bulk-reply", "The certificate is renewed and the host restarted.")
        .await;
    b.submit("#bulk-link button[type=submit]").await;
    let page = b.body().await;
    assert!(page.contains("20 ticket(s) changed"), "{page}");
    b.check_page("bulk-result").await;

    // Each customer has one mail per ticket of theirs, and no other's.
    let mails = read(&deliver_and_collect(&t, &smtp, 20).await);
    assert_eq!(mails.len(), 20, "{mails:?}");
    let mut answered = BTreeSet::new();
    for (to, subject, text) in &mails {
        let reference = subject
            .split(['[', ']'])
            .nth(1)
            .unwrap_or_else(|| panic!("no reference in {subject}"));
        assert_eq!(requester_of[reference], to.as_str(), "{subject} went to {to}");
        assert!(text.contains("The certificate is renewed"), "{text}");
        let others = chosen.iter().filter(|r| r.as_str() != reference);
        for r in others {
            assert!(!text.contains(r.as_str()), "{to} reads of {r}: {text}");
        }
        answered.insert(reference.to_string());
    }
    assert_eq!(answered, chosen);
    for r in &chosen {
        let v = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
        assert_eq!(v.json["assignee"], "walter@desk.example", "{r}: {}", v.text);
    }
    let left = t.get(&format!("/api/v1/tickets/{other}"), &t.agent).await;
    assert!(left.json["assignee"].is_null(), "{}", left.text);
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canned_reply_reaches_the_requester_and_the_colleague_they_cced() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let smtp = start_smtp();
    let made = t
        .post(
            "/api/v1/macros",
            &t.manager,
            json!({
                "name": "Service restarted",
                "body": "Hello {{requester.name}}, we restarted the service behind {{ticket.reference}}. Is it working for you now?",
                "set_status": "pending_customer",
            }),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    let mail = "From: Carl <carl@acme.example>\r\nTo: service-desk@desk.example\r\n\
         Cc: Colin <colin@acme.example>, gina@globex.example\r\nSubject: Portal down\r\n\
         Message-ID: <portal-1@acme.example>\r\n\r\nThe customer portal answers 502.\r\n";
    let app = t.app.clone();
    let outcome =
        tokio::task::spawn_blocking(move || app.ingest(mail.as_bytes(), "test", sladesk::app::now()).unwrap())
            .await
            .unwrap();
    let IngestOutcome::Created { reference } = outcome else {
        panic!("{outcome:?}")
    };
    drain(&t, &smtp).await;

    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/tickets/{reference}")).await;
    let watchers = b.text("#watchers").await;
    assert!(
        watchers.contains("colin@acme.example") && watchers.contains("Cc'd on a mail"),
        "{watchers}"
    );
    assert!(!watchers.contains("gina@globex.example"), "{watchers}");
    // m reaches the canned replies; the chosen one fills the reply box.
    press(&b, "m").await;
    let focused = b.client.active_element().await.unwrap().attr("id").await.unwrap();
    assert_eq!(focused.as_deref(), Some("macro"));
    b.submit("#macro-form button[type=submit]").await;
    let filled = b
        .client
        .find(Locator::Css("#body"))
        .await
        .unwrap()
        .prop("value")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(
        filled.starts_with("Hello carl, we restarted the service behind"),
        "{filled}"
    );
    assert!(b.text("#macro-notice").await.contains("Service restarted"));
    b.check_page("macro-in-reply-box").await;
    b.submit("#reply-form button[type=submit]").await;
    assert!(b.path().await.ends_with("?done=reply"), "{}", b.path().await);
    let status = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(status.json["status"], "pending_customer", "{}", status.text);

    // The requester and the Cc'd colleague each have the answer; the other
    // organisation's address on the Cc has nothing.
    let mails = read(&deliver_and_collect(&t, &smtp, 2).await);
    let mut to: Vec<&str> = mails.iter().map(|m| m.0.as_str()).collect();
    to.sort();
    assert_eq!(to, ["carl@acme.example", "colin@acme.example"], "{mails:?}");
    for (to, subject, text) in &mails {
        assert!(subject.contains(&format!("[{reference}]")), "{subject}");
        assert!(text.contains("we restarted the service behind"), "{text}");
        assert_eq!(
            text.contains("because you watch"),
            to == "colin@acme.example",
            "{to}: {text}"
        );
    }
    b.goto("/macros").await;
    assert!(b.text("#macros").await.contains("Service restarted"));
    b.check_page("macros").await;
    b.sign_out().await;

    // The requester adds a colleague from the page.
    b.sign_in("carl@acme.example", None).await;
    b.goto(&format!("/tickets/{reference}")).await;
    b.fill("#watcher-email", "dora@acme.example").await;
    b.submit("#watcher-form button[type=submit]").await;
    let watchers = b.text("#watchers").await;
    assert!(watchers.contains("dora@acme.example"), "{watchers}");
    b.check_page("ticket-watchers-customer").await;
    // Someone outside acme is refused, in words that name no one else.
    b.fill("#watcher-email", "wendy@globex.example").await;
    b.submit("#watcher-form button[type=submit]").await;
    let page = b.body().await;
    assert!(page.contains("is not a contact of acme Ltd"), "{page}");
    assert!(!page.contains("globex Ltd"), "{page}");
    tokio::time::sleep(Duration::from_millis(10)).await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_search_kept_as_a_shared_view_counts_and_opens_for_the_queue() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    crate::helpers::web_users(
        &t,
        "browser-test-password",
        &[("wanda@desk.example", sladesk::app::Role::Agent, None)],
        &[],
    )
    .await;
    // A queue of their own, whose agents share views with it.
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let req = sladesk::app::admin::NewQueueRequest {
            slug: "night-shift".into(),
            name: "Night shift".into(),
            inbound_address: None,
            lead: Some("walter@desk.example".into()),
            members: vec!["walter@desk.example".into(), "wanda@desk.example".into()],
            default_severity: None,
            customer_selectable: false,
        };
        app.create_queue(&sladesk::app::Principal::operator(), req, sladesk::app::now())
            .unwrap();
    })
    .await
    .unwrap();
    let mut wanted = BTreeSet::new();
    for who in [&t.carol, &t.gina, &t.carol] {
        wanted.insert(t.raise(who, "Certificate chain incomplete", 2).await);
    }
    let lower = t.raise(&t.gina, "Certificate renewal reminder", 3).await;
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto("/search?q=certificate%20sev%3A2").await;
    b.fill("#view-name", "S2 certificates").await;
    b.client
        .find(Locator::Css("#view-queue"))
        .await
        .unwrap()
        .select_by_value("night-shift")
        .await
        .unwrap();
    b.submit("form[action='/views'] button[type=submit]").await;
    assert!(b.body().await.contains("The view is kept"), "{}", b.body().await);
    b.close().await;

    // A colleague on the queue finds it in the side bar, counted, and opens it.
    let w = Browser::start(&t.address).await;
    w.sign_in("wanda@desk.example", None).await;
    w.goto("/queue").await;
    let side = w.text("nav.views").await;
    assert!(side.contains("S2 certificates") && side.contains('3'), "{side}");
    w.check_page("queue-with-views").await;
    w.submit("nav.views a").await;
    let page = w.body().await;
    for r in &wanted {
        assert!(page.contains(r.as_str()), "{r} in {page}");
    }
    assert!(!page.contains(&lower), "{page}");
    w.close().await;
}
