//! Watchers and an organisation's ticket sharing, over HTTP and by mail:
//! Cc'd colleagues become watchers (never anyone outside the ticket's
//! organisation), watchers hear of public changes, staff and the requester
//! add and remove them, and under `own` sharing a contact meets only the
//! tickets they raised or watch, by every path: the ticket and its parts,
//! lists and counts, search, reports and mail.

use reqwest::Method;
use serde_json::{Value, json};
use sladesk::app::intake::IngestOutcome;

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    cc_on_mail_makes_watchers_who_hear_public_changes,
    own_sharing_keeps_each_contact_to_their_own_and_watched_tickets
);

async fn ingest(t: &TestApp, mail: String) -> IngestOutcome {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || app.ingest(mail.as_bytes(), "test", sladesk::app::now()).unwrap())
        .await
        .unwrap()
}

fn emails(watchers: &Value) -> Vec<String> {
    watchers
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["email"].as_str().unwrap().to_string())
        .collect()
}

/// The addresses told of the latest change (outbox rows after `from`).
fn told(t: &TestApp, from: usize) -> Vec<String> {
    let mut to: Vec<String> = t.outbox().into_iter().skip(from).map(|(_, to, _)| to).collect();
    to.sort();
    to
}

async fn cc_on_mail_makes_watchers_who_hear_public_changes(db: Db) {
    let t = spawn_app(db).await;
    let mail = "From: Carol <carol@acme.example>\r\nTo: service-desk@desk.example\r\n\
         Cc: colin@acme.example, Dave <dave@acme.example>, gina@globex.example, eve@elsewhere.example, platform@desk.example\r\n\
         Subject: Backups failing\r\nMessage-ID: <cc-1@acme.example>\r\n\r\nThe nightly backup failed with a checksum error.\r\n"
        .to_string();
    let IngestOutcome::Created { reference: r } = ingest(&t, mail).await else {
        panic!("not created")
    };
    // Colleagues (a contact, and an address at acme's domain made a contact)
    // watch; another organisation's contact and a stranger do not.
    let w = t.get(&format!("/api/v1/tickets/{r}/watchers"), &t.carol).await;
    assert_eq!(w.status.as_u16(), 200, "{}", w.text);
    assert_eq!(
        emails(&w.json),
        ["colin@acme.example", "dave@acme.example"],
        "{}",
        w.text
    );
    assert!(w.json.as_array().unwrap().iter().all(|x| x["source"] == "cc"));
    // The agents are told who was left out; the customer is not shown it.
    let staff_events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await.text;
    assert!(
        staff_events.contains("gina@globex.example is not a contact of acme Ltd")
            && staff_events.contains("eve@elsewhere.example"),
        "{staff_events}"
    );
    assert!(
        !staff_events.contains("platform@desk.example is not"),
        "our own address is no candidate"
    );
    let customer_events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.carol).await.text;
    assert!(!customer_events.contains("gina@globex.example"), "{customer_events}");

    // An agent's public reply: the requester and each watcher, a mail each.
    let before = t.outbox().len();
    let reply = t
        .post(
            &format!("/api/v1/tickets/{r}/replies"),
            &t.agent,
            json!({"body": "We are re-running the backup now."}),
        )
        .await;
    assert_eq!(reply.status.as_u16(), 200, "{}", reply.text);
    assert_eq!(
        told(&t, before),
        ["carol@acme.example", "colin@acme.example", "dave@acme.example"]
    );
    for (kind, to, ctx) in t.outbox().into_iter().skip(before) {
        assert_eq!(kind, "agent_reply");
        assert_eq!(ctx["body"], "We are re-running the backup now.");
        // A watcher's mail says why it came, and whose ticket it is.
        let watcher = to != "carol@acme.example";
        assert_eq!(ctx["watching"], watcher, "{to}");
        assert_eq!(
            ctx["raised_by"],
            if watcher { json!("carol") } else { Value::Null },
            "{to}"
        );
    }
    // An internal note tells nobody; the requester's own reply neither.
    let before = t.outbox().len();
    t.post(
        &format!("/api/v1/tickets/{r}/notes"),
        &t.agent,
        json!({"body": "Disk 3 is suspect."}),
    )
    .await;
    t.post(
        &format!("/api/v1/tickets/{r}/replies"),
        &t.carol,
        json!({"body": "Thanks."}),
    )
    .await;
    assert!(told(&t, before).is_empty());

    // A Cc on the requester's reply by mail adds a colleague then.
    let mail = format!(
        "From: carol@acme.example\r\nTo: service-desk@desk.example\r\nCc: fay@acme.example\r\n\
         Subject: Re: [{r}] Backups failing\r\nMessage-ID: <cc-2@acme.example>\r\n\r\nFay looks after the backups too.\r\n"
    );
    assert!(matches!(ingest(&t, mail).await, IngestOutcome::Replied { .. }));
    let w = t.get(&format!("/api/v1/tickets/{r}/watchers"), &t.agent).await;
    assert!(emails(&w.json).contains(&"fay@acme.example".to_string()), "{}", w.text);

    // The requester adds and removes; nobody outside acme can be added,
    // and the refusal says nothing of other organisations.
    let path = format!("/api/v1/tickets/{r}/watchers");
    let refused = t.post(&path, &t.carol, json!({"email": "gina@globex.example"})).await;
    let text = refused.problem(422);
    assert!(!text.contains("globex Ltd"), "{text}");
    t.post(&path, &t.carol, json!({"email": "carol@acme.example"}))
        .await
        .problem(422);
    t.post(&path, &t.carol, json!({"email": "not an address"}))
        .await
        .problem(422);
    t.post(&path, &t.carol, json!({"email": "admin@desk.example"}))
        .await
        .problem(422);
    let removed = t
        .call(
            Method::DELETE,
            &format!("{path}/dave@acme.example"),
            Some(&t.carol),
            None,
        )
        .await;
    assert_eq!(removed.status.as_u16(), 200, "{}", removed.text);
    assert!(!emails(&removed.json).contains(&"dave@acme.example".to_string()));
    // A watcher who is not the requester may leave, not add or remove others.
    t.post(&path, &t.colin, json!({"email": "dave@acme.example"}))
        .await
        .problem(403);
    t.call(
        Method::DELETE,
        &format!("{path}/fay@acme.example"),
        Some(&t.colin),
        None,
    )
    .await
    .problem(403);
    let left = t
        .call(
            Method::DELETE,
            &format!("{path}/colin@acme.example"),
            Some(&t.colin),
            None,
        )
        .await;
    assert_eq!(left.status.as_u16(), 200, "{}", left.text);
    // Staff add; adding again changes nothing.
    for _ in 0..2 {
        let added = t.post(&path, &t.agent, json!({"email": "colin@acme.example"})).await;
        assert_eq!(added.status.as_u16(), 200, "{}", added.text);
    }
    let w = t.get(&path, &t.agent).await.json;
    let mut now_watching = emails(&w);
    now_watching.sort();
    assert_eq!(now_watching, ["colin@acme.example", "fay@acme.example"]);
    let colin = w
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["email"] == "colin@acme.example")
        .unwrap();
    assert_eq!(colin["source"], "staff");
    // Another organisation's contact meets no such ticket.
    t.get(&path, &t.gina).await.problem(404);
    t.post(&path, &t.gina, json!({"email": "gina@globex.example"}))
        .await
        .problem(404);
    t.call(Method::DELETE, &format!("{path}/fay@acme.example"), Some(&t.gina), None)
        .await
        .problem(404);

    // A disabled watcher is told nothing.
    let off = t
        .patch("/api/v1/users/fay@acme.example", &t.admin, json!({"disabled": true}))
        .await;
    assert_eq!(off.status.as_u16(), 200, "{}", off.text);
    let before = t.outbox().len();
    t.post(
        &path.replace("/watchers", "/replies"),
        &t.agent,
        json!({"body": "Done."}),
    )
    .await;
    assert_eq!(told(&t, before), ["carol@acme.example", "colin@acme.example"]);
}

async fn own_sharing_keeps_each_contact_to_their_own_and_watched_tickets(db: Db) {
    let t = spawn_app(db).await;
    let carols = t.raise(&t.carol, "Carol's zebrafish outage", 3).await;
    let colins = t.raise(&t.colin, "Colin's printer", 4).await;
    t.post(
        &format!("/api/v1/tickets/{carols}/replies"),
        &t.agent,
        json!({"body": "Looking at the zebrafish now."}),
    )
    .await;

    // Only an admin sets it.
    let own = json!({"ticket_sharing": "own"});
    t.patch("/api/v1/organisations/acme", &t.agent, own.clone())
        .await
        .problem(403);
    t.patch("/api/v1/organisations/acme", &t.carol, own.clone())
        .await
        .problem(403);
    let set = t.patch("/api/v1/organisations/acme", &t.admin, own.clone()).await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.text);
    assert_eq!(set.json["ticket_sharing"], "own");
    t.patch(
        "/api/v1/organisations/acme",
        &t.admin,
        json!({"ticket_sharing": "everyone"}),
    )
    .await
    .problem(400);

    // Every path to Carol's ticket, as Colin (a colleague who does not watch).
    let paths = |r: &str| -> Vec<(Method, String, Option<Value>)> {
        vec![
            (Method::GET, format!("/api/v1/tickets/{r}"), None),
            (Method::GET, format!("/api/v1/tickets/{r}/events"), None),
            (Method::GET, format!("/api/v1/tickets/{r}/sla"), None),
            (Method::GET, format!("/api/v1/tickets/{r}/attachments"), None),
            (Method::GET, format!("/api/v1/tickets/{r}/messages"), None),
            (Method::GET, format!("/api/v1/tickets/{r}/watchers"), None),
            (
                Method::POST,
                format!("/api/v1/tickets/{r}/replies"),
                Some(json!({"body": "me too"})),
            ),
            (
                Method::POST,
                format!("/api/v1/tickets/{r}/watchers"),
                Some(json!({"email": "colin@acme.example"})),
            ),
        ]
    };
    for (m, p, b) in paths(&carols) {
        let a = t.call(m.clone(), &p, Some(&t.colin), b).await;
        a.problem(404);
        assert!(!a.text.contains("zebrafish"), "{m} {p}: {}", a.text);
        // The requester still sees their own (the original mail is staff's).
        if m == Method::GET && !p.ends_with("/messages") {
            let mine = t.call(Method::GET, &p, Some(&t.carol), None).await;
            assert_eq!(mine.status.as_u16(), 200, "{p}: {}", mine.text);
        }
    }
    let listed = |who: String| {
        let t = &t;
        async move {
            let l = t.get("/api/v1/tickets", &who).await;
            assert_eq!(l.status.as_u16(), 200, "{}", l.text);
            l.references().iter().map(|s| s.to_string()).collect::<Vec<_>>()
        }
    };
    assert_eq!(listed(t.colin.clone()).await, vec![colins.clone()]);
    assert_eq!(listed(t.carol.clone()).await, vec![carols.clone()]);
    let found = t.get("/api/v1/search?q=zebrafish", &t.colin).await;
    assert_eq!(found.json["total"], 0, "{}", found.text);
    let jump = t.get(&format!("/api/v1/search?q={carols}"), &t.colin).await;
    assert!(jump.json["jump"].is_null(), "{}", jump.text);
    // The month's report names every ticket: it is not every contact's.
    let month = chrono::Utc::now().format("%Y-%m");
    t.get(&format!("/api/v1/reports/monthly?org=acme&month={month}"), &t.colin)
        .await
        .problem(403);

    // A colleague's mail on a ticket they do not watch is held for staff.
    let mail = format!(
        "From: colin@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Re: [{carols}] zebrafish\r\n\
         Message-ID: <own-1@acme.example>\r\n\r\nAny news?\r\n"
    );
    let held = ingest(&t, mail).await;
    assert!(
        matches!(&held, IngestOutcome::Quarantined { reason } if reason.contains("neither raised nor watches")),
        "{held:?}"
    );

    // Watching opens the ticket to Colin, by every path.
    let added = t
        .post(
            &format!("/api/v1/tickets/{carols}/watchers"),
            &t.carol,
            json!({"email": "colin@acme.example"}),
        )
        .await;
    assert_eq!(added.status.as_u16(), 200, "{}", added.text);
    for (m, p, _) in paths(&carols)
        .into_iter()
        .filter(|(m, p, _)| *m == Method::GET && !p.ends_with("/messages"))
    {
        let a = t.call(m, &p, Some(&t.colin), None).await;
        assert_eq!(a.status.as_u16(), 200, "{p}: {}", a.text);
    }
    let mut both = listed(t.colin.clone()).await;
    both.sort();
    let mut expected = vec![carols.clone(), colins.clone()];
    expected.sort();
    assert_eq!(both, expected);
    t.app.index_search_queue(10_000).unwrap();
    let found = t.get("/api/v1/search?q=zebrafish", &t.colin).await;
    assert_eq!(found.json["total"], 1, "{}", found.text);
    // Carol does not see Colin's ticket: she neither raised nor watches it.
    t.get(&format!("/api/v1/tickets/{colins}"), &t.carol).await.problem(404);

    // Back to organisation-wide sharing: every contact sees every ticket.
    t.patch(
        "/api/v1/organisations/acme",
        &t.admin,
        json!({"ticket_sharing": "organisation"}),
    )
    .await;
    let g = t.get(&format!("/api/v1/tickets/{colins}"), &t.carol).await;
    assert_eq!(g.status.as_u16(), 200, "{}", g.text);
    // Another organisation never did.
    t.get(&format!("/api/v1/tickets/{colins}"), &t.gina).await.problem(404);
}
