//! ITIL beyond the incident, in a real browser with axe on every new page,
//! and mail through a real SMTP server (aiosmtpd): a customer requests an
//! item their colleague must approve, and the colleague approves by
//! replying to the mail; an agent opens a problem from an incident, links
//! two more, offers the workaround and resolves all three; a normal change
//! goes through a CAB deciding by 2 of 3 into the change calendar and onto
//! the status page as planned maintenance; a duplicate is merged and mail
//! to it later threads onto its target.

use fantoccini::Locator;
use mail_parser::MessageParser;
use serde_json::json;
use sladesk::app::Role;
use sladesk::app::intake::IngestOutcome;

use crate::browser::{Browser, Factor, PASSWORD, TOTP, people};
use crate::helpers::{Db, TestApp, spawn_app, web_users};
use crate::smtp::{deliver_and_collect, start_smtp};

async fn ingest(t: &TestApp, raw: String) -> IngestOutcome {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || app.ingest(raw.as_bytes(), "test", sladesk::app::now()).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_customer_requests_an_item_and_their_colleague_approves_by_replying_to_the_mail() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    web_users(
        &t,
        PASSWORD,
        &[("wanda@globex.example", Role::Customer, Some("globex"))],
        &[],
    )
    .await;
    let smtp = start_smtp();
    let b = Browser::start(&t.address).await;
    b.sign_in("wendy@globex.example", None).await;
    b.goto("/catalogue").await;
    b.check_page("catalogue").await;
    b.submit("a[href='/catalogue/new-starter-account']").await;
    b.check_page("request-form").await;
    b.fill("#f-person", "nadia@globex.example").await;
    b.fill("#f-full_name", "Nadia Patel").await;
    b.set_value("#f-start", "2026-12-07").await;
    b.client
        .find(Locator::Css("#f-access"))
        .await
        .unwrap()
        .select_by_value("office and VPN")
        .await
        .unwrap();
    b.fill("#approver", "wanda@globex.example").await;
    b.submit("#request-form button[type=submit]").await;
    let path = b.path().await;
    assert!(path.contains("done=requested"), "{path}: {}", b.body().await);
    let reference = path
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert!(b.text("#request-status").await.contains("awaiting approval"));
    b.check_page("service-request").await;

    // The approval mail goes out through SMTP; the approver answers it.
    let mails = deliver_and_collect(&t, &smtp, t.outbox().len()).await;
    let asked = mails
        .iter()
        .map(|raw| MessageParser::default().parse(raw).unwrap())
        .find(|m| {
            m.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some("wanda@globex.example")
                && m.subject().unwrap_or_default().contains("Approval needed")
        })
        .expect("the approver is asked by mail");
    let text = asked.body_text(0).unwrap_or_default().to_string();
    assert!(
        text.contains("Nadia Patel") && text.contains("\"approve\" or \"refuse\""),
        "{text}"
    );
    let id = asked.message_id().unwrap().to_string();
    let subject = asked.subject().unwrap().to_string();
    let reply = format!(
        "From: Wanda <wanda@globex.example>\r\nTo: service-desk@desk.example\r\nSubject: Re: {subject}\r\n\
         Message-ID: <approve-1@globex.example>\r\nIn-Reply-To: <{id}>\r\nReferences: <{id}>\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nApprove\r\n\r\nShe starts on Monday.\r\n\r\n> {}\r\n",
        text.lines().next().unwrap_or_default()
    );
    assert_eq!(
        ingest(&t, reply).await,
        IngestOutcome::Replied {
            reference: reference.clone()
        }
    );
    b.goto(&format!("/tickets/{reference}")).await;
    assert!(b.text("#request-status").await.contains("approved and in fulfilment"));
    assert!(
        b.text("#request-approved").await.contains("wanda"),
        "{}",
        b.body().await
    );
    assert!(b.body().await.contains("She starts on Monday."));
    // And the requester is told by mail.
    let told = deliver_and_collect(&t, &smtp, 1).await;
    let told = MessageParser::default().parse(&told[0]).unwrap();
    assert!(
        told.subject().unwrap().contains("approved and in fulfilment"),
        "{:?}",
        told.subject()
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_problem_opened_from_an_incident_resolves_its_three_incidents() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let a = t.raise(&t.carol, "VPN drops hourly", 3).await;
    let b2 = t.raise(&t.colin, "VPN disconnects", 3).await;
    let c = t.raise(&t.gina, "Remote access keeps dropping", 2).await;
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/tickets/{a}")).await;
    b.fill("#problem-subject", "VPN concentrator drops sessions").await;
    b.submit("#open-problem-form button[type=submit]").await;
    let problem = b
        .path()
        .await
        .trim_start_matches("/tickets/")
        .split('?')
        .next()
        .unwrap()
        .to_string();
    assert_ne!(problem, a);
    for r in [&b2, &c] {
        b.fill("#link-incident", r).await;
        b.submit("#link-incident-form button[type=submit]").await;
    }
    let incidents = b.text("#problem-incidents").await;
    assert!(
        [&a, &b2, &c].iter().all(|r| incidents.contains(r.as_str())),
        "{incidents}"
    );
    b.fill("#workaround-text", "Reconnect with the 'tcp' profile.").await;
    b.click("#workaround-publish").await;
    b.submit("#workaround-form button[type=submit]").await;
    b.submit("#declare-known-error").await;
    assert!(b.text("#problem-title").await.contains("known error"));
    b.check_page("problem").await;
    b.fill("#problem-resolve-note", "Firmware 7.2 fixes the session table.")
        .await;
    b.click("#problem-resolve-incidents").await;
    b.submit("#problem-resolve-form button[type=submit]").await;
    assert!(b.text("#problem-status").await.contains("resolved"));
    for r in [&a, &b2, &c] {
        let v = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
        assert_eq!(v.json["status"], "resolved", "{r}: {}", v.text);
        let seen = t.get(&format!("/api/v1/tickets/{r}/events?limit=100"), &t.agent).await;
        assert!(seen.text.contains("'tcp' profile"), "{r} got the workaround");
    }
    // The incident page links its known error in one step; the list finds it.
    let d = t.raise(&t.carol, "VPN dropped again", 3).await;
    b.goto(&format!("/tickets/{d}")).await;
    b.submit("#known-error-form button[type=submit]").await;
    assert!(b.text("#links").await.contains(&problem), "{}", b.text("#links").await);
    t.app.index_search_queue(1000).unwrap();
    b.goto("/known-errors?q=concentrator").await;
    assert!(b.body().await.contains(&problem));
    b.check_page("known-errors").await;
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_normal_change_goes_through_the_cab_into_the_calendar_and_onto_the_status_page() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let made = t
        .post(
            "/api/v1/services",
            &t.admin,
            json!({"slug": "storage-lon", "name": "Storage (London)"}),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201);
    t.call(
        reqwest::Method::PUT,
        "/api/v1/organisations/acme/services",
        Some(&t.admin),
        Some(json!({"services": ["storage-lon"]})),
    )
    .await;
    let raised = t
        .post(
            "/api/v1/changes",
            &t.agent,
            json!({"subject": "Upgrade storage array firmware", "description": "Rolling upgrade.", "kind": "normal",
                   "organisation": "acme", "services": ["storage-lon"]}),
        )
        .await;
    let r = raised.json["reference"].as_str().unwrap().to_string();
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/tickets/{r}")).await;
    b.submit("#change-submit").await;
    b.fill("#impact", "Storage slower for an hour.").await;
    b.submit("#assess-form button[type=submit]").await;
    b.fill(
        "#cab-members",
        "walter@desk.example, mona@desk.example, adam@desk.example",
    )
    .await;
    b.fill("#cab-of", "2").await;
    b.submit("#cab-form button[type=submit]").await;
    assert!(
        b.text("#change-cab").await.contains("0 of 2"),
        "{}",
        b.text("#change-cab").await
    );
    b.check_page("change").await;
    b.submit("#cab-approve").await;
    b.goto("/cab").await;
    assert!(b.text("#cab-agenda").await.contains(&r));
    b.check_page("cab").await;
    b.sign_out().await;
    // The second of three decides it.
    b.sign_in("mona@desk.example", Some(Factor::Totp(TOTP))).await;
    b.goto(&format!("/tickets/{r}")).await;
    b.submit("#cab-approve").await;
    assert!(
        b.text("#change-status").await.contains("approved"),
        "{}",
        b.body().await
    );
    // Scheduled ten days ahead, in the viewer's London time.
    let day = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    b.set_value("#window-start", &format!("{day}T22:00")).await;
    b.set_value("#window-end", &format!("{day}T23:30")).await;
    b.submit("#schedule-form button[type=submit]").await;
    assert!(
        b.text("#change-status").await.contains("scheduled"),
        "{}",
        b.body().await
    );
    b.goto(&format!("/changes/calendar?month={}", day.format("%Y-%m")))
        .await;
    let cal = b.text("#change-calendar").await;
    assert!(
        cal.contains(&r) && cal.contains("Upgrade storage array firmware"),
        "{cal}"
    );
    b.check_page("change-calendar").await;
    b.goto(&format!("/changes/calendar?week={day}")).await;
    assert!(b.text("#change-calendar").await.contains(&r));
    b.sign_out().await;
    // The status page, as anyone sees it: planned maintenance on the service.
    b.goto("/status").await;
    let status = b.body().await;
    assert!(
        status.contains("Planned maintenance: Storage (London)")
            && status.contains(&format!("{} 22:00", day.format("%-d %b %Y")))
            && status.contains("23:30"),
        "{status}"
    );
    b.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merged_duplicates_later_mail_threads_onto_its_target() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    let mail = |id: &str, subject: &str, body: &str| {
        format!(
            "From: Carl <carl@acme.example>\r\nTo: service-desk@desk.example\r\nSubject: {subject}\r\n\
             Message-ID: <{id}@acme.example>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
    };
    let IngestOutcome::Created { reference: dup } =
        ingest(&t, mail("m1", "Mail bouncing", "Sales mail bounces.")).await
    else {
        panic!()
    };
    let IngestOutcome::Created { reference: target } = ingest(
        &t,
        mail("m2", "Sales cannot receive mail", "Nothing arrives for sales@."),
    )
    .await
    else {
        panic!()
    };
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/tickets/{dup}")).await;
    b.fill("#merge-into", &target).await;
    b.submit("#merge-form button[type=submit]").await;
    assert_eq!(b.path().await, format!("/tickets/{target}?done=merged"));
    assert!(
        b.body().await.contains("Sales mail bounces."),
        "the duplicate's message is on the target"
    );
    b.check_page("merged").await;
    let later = ingest(
        &t,
        mail("m3", &format!("Re: [{dup}] Mail bouncing"), "Still bouncing at noon."),
    )
    .await;
    assert_eq!(
        later,
        IngestOutcome::Replied {
            reference: target.clone()
        }
    );
    b.goto(&format!("/tickets/{target}")).await;
    assert!(b.body().await.contains("Still bouncing at noon."));
    b.goto(&format!("/tickets/{dup}")).await;
    assert!(b.text("#links").await.contains(&target));
    b.close().await;
}
