//! Two agents on one ticket: each sees the other, and whether they are
//! writing; a reply written against an older page is refused through
//! `If-Match` (the pages hold it back: tests/api/web.rs).

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(agents_on_one_ticket_see_each_other_and_a_stale_reply_is_refused);

async fn agents_on_one_ticket_see_each_other_and_a_stale_reply_is_refused(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Acme's mail bounces", 2).await;
    let path = format!("/api/v1/tickets/{r}/presence");
    let alice = t.post(&path, &t.agent, json!({"replying": true})).await;
    assert_eq!(alice.status.as_u16(), 200, "{}", alice.text);
    assert_eq!(alice.json, json!([]), "nobody else yet");
    let bob = t.post(&path, &t.agent2, json!({})).await;
    assert_eq!(bob.json[0]["email"], "alice@desk.example", "{}", bob.text);
    assert_eq!(bob.json[0]["replying"], true);
    let seen = t.get(&path, &t.agent).await;
    assert_eq!(seen.json[0]["email"], "bob@desk.example");
    assert_eq!(seen.json[0]["replying"], false);
    // Half a minute without a heartbeat is gone.
    let later = {
        let app = t.app.clone();
        let r = r.clone();
        tokio::task::spawn_blocking(move || {
            let alice = app.principal_for("alice@desk.example").unwrap();
            app.present_on(&alice, &r, sladesk::app::now() + chrono::Duration::seconds(31))
                .unwrap()
        })
        .await
        .unwrap()
    };
    assert!(later.is_empty(), "{later:?}");
    // Customers are neither told nor tracked.
    t.post(&path, &t.carol, json!({})).await.problem(403);
    t.get(&path, &t.carol).await.problem(403);
    t.get(&path, &t.gina).await.problem(404);
    t.call(Method::GET, &path, None, None).await.problem(401);

    // A reply against the version read before the customer wrote again.
    let before = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
    let etag = before.etag.clone().unwrap();
    let c = t
        .post(
            &format!("/api/v1/tickets/{r}/replies"),
            &t.carol,
            json!({"body": "Still bouncing!"}),
        )
        .await;
    assert_eq!(c.status.as_u16(), 200);
    let stale = t
        .client
        .post(format!("{}/api/v1/tickets/{r}/replies", t.address))
        .bearer_auth(&t.agent)
        .header("If-Match", &etag)
        .json(&json!({"body": "Fixed, I think."}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 409);
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
    assert!(!events.text.contains("Fixed, I think."), "held, not sent");
}
