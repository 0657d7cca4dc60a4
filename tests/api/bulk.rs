//! Bulk actions over HTTP: each ticket changed on its own, refusals
//! reported with their reason, one mail per ticket to its own requester.

use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(a_bulk_assign_and_reply_changes_each_ticket_on_its_own);

async fn a_bulk_assign_and_reply_changes_each_ticket_on_its_own(db: Db) {
    let t = spawn_app(db).await;
    let mut refs = Vec::new();
    for i in 0..10 {
        refs.push(t.raise(&t.carol, &format!("Acme's printer {i}"), 3).await);
        refs.push(t.raise(&t.gina, &format!("Globex's printer {i}"), 3).await);
    }
    // One already closed: the core refuses a reply on it.
    let closed = refs[0].clone();
    for step in ["resolve", "close"] {
        let a = t
            .post(
                &format!("/api/v1/tickets/{closed}/{step}"),
                &t.agent,
                json!({"note": "done"}),
            )
            .await;
        assert!(a.status.is_success(), "{step}: {}", a.text);
    }
    let before = t.outbox().len();
    let report = t
        .post(
            "/api/v1/tickets/bulk",
            &t.agent,
            json!({"tickets": refs, "assignee": "me", "reply": "The print server is back: please try again."}),
        )
        .await;
    assert_eq!(report.status.as_u16(), 200, "{}", report.text);
    assert_eq!(report.json["changed"], 19, "{}", report.text);
    assert_eq!(report.json["refused"], 1);
    let refused = &report.json["tickets"][0];
    assert_eq!(refused["reference"], closed.as_str());
    assert_eq!(refused["ok"], false);
    assert!(refused["error"].as_str().unwrap().contains("closed"), "{refused}");
    // Each open ticket is Alice's, with the reply; one mail per ticket to its own requester.
    for r in &refs[1..] {
        let v = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
        assert_eq!(v.json["assignee"], "alice@desk.example", "{r}");
    }
    let mails: Vec<(String, String, serde_json::Value)> = t.outbox().into_iter().skip(before).collect();
    let replies: Vec<&(String, String, serde_json::Value)> =
        mails.iter().filter(|(k, ..)| k == "agent_reply").collect();
    assert_eq!(replies.len(), 19, "{mails:?}");
    for (_, to, data) in &replies {
        let reference = data["reference"].as_str().unwrap();
        let i = refs.iter().position(|r| r == reference).unwrap();
        let expected = if i % 2 == 0 {
            "carol@acme.example"
        } else {
            "gina@globex.example"
        };
        assert_eq!(to, expected, "{reference} is mailed to its own requester only");
    }
    // Customers may not; nothing to do, or too many, is told.
    t.post(
        "/api/v1/tickets/bulk",
        &t.carol,
        json!({"tickets": [refs[1]], "close": true}),
    )
    .await
    .problem(403);
    let nothing = t
        .post("/api/v1/tickets/bulk", &t.agent, json!({"tickets": [refs[1]]}))
        .await;
    assert!(nothing.problem(422).contains("nothing to do"));
    let many: Vec<String> = (1..=501).map(|n| format!("SD-{n:06}")).collect();
    let too_many = t
        .post(
            "/api/v1/tickets/bulk",
            &t.agent,
            json!({"tickets": many, "close": true}),
        )
        .await;
    assert!(too_many.problem(422).contains("1 to 500"));
}
