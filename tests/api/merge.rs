//! Merging a duplicate: the target takes in its public messages (with
//! their authors and first times) and files, counts from the earlier
//! receipt, and the duplicate is cancelled, linked `duplicate_of`, left out
//! of the month's figures, and mail to it threads onto the target.
//! Refused across organisations, to customers, and for a resolved duplicate.

use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(a_merged_duplicate_goes_on_in_its_target);

async fn a_merged_duplicate_goes_on_in_its_target(db: Db) {
    let t = spawn_app(db).await;
    // The duplicate came in first (colin), then carol's.
    let dup = t.raise(&t.colin, "Email bouncing for the sales team", 2).await;
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let target = t.raise(&t.carol, "Sales cannot receive mail", 2).await;
    let dup_view = t.get(&format!("/api/v1/tickets/{dup}"), &t.agent).await;
    let target_view = t.get(&format!("/api/v1/tickets/{target}"), &t.agent).await;
    assert!(dup_view.json["received_at"].as_str() < target_view.json["received_at"].as_str());
    let reply = t
        .post(
            &format!("/api/v1/tickets/{dup}/replies"),
            &t.colin,
            json!({"body": "It started at 08:50."}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    let note = t
        .post(
            &format!("/api/v1/tickets/{dup}/notes"),
            &t.agent,
            json!({"body": "internal: MX looks fine"}),
        )
        .await;
    assert!(note.status.is_success());

    let theirs = t.raise(&t.gina, "Globex mail", 2).await;
    let across = t
        .post(
            &format!("/api/v1/tickets/{dup}/merge"),
            &t.agent,
            json!({"into": theirs}),
        )
        .await;
    assert_eq!(across.status.as_u16(), 409, "{}", across.text);
    assert!(across.text.contains("different organisations"), "{}", across.text);
    let by_customer = t
        .post(
            &format!("/api/v1/tickets/{dup}/merge"),
            &t.carol,
            json!({"into": target}),
        )
        .await;
    assert_eq!(by_customer.status.as_u16(), 403);
    let itself = t
        .post(&format!("/api/v1/tickets/{dup}/merge"), &t.agent, json!({"into": dup}))
        .await;
    assert_eq!(itself.status.as_u16(), 422);

    let merged = t
        .post(
            &format!("/api/v1/tickets/{dup}/merge"),
            &t.agent,
            json!({"into": target}),
        )
        .await;
    assert_eq!(merged.status.as_u16(), 200, "{}", merged.text);
    assert_eq!(
        merged.json["received_at"], dup_view.json["received_at"],
        "the target counts from the earlier receipt: {}",
        merged.text
    );
    // The duplicate's public messages are on the target, with their authors
    // and first times; its internal note is not copied.
    let events = t
        .get(&format!("/api/v1/tickets/{target}/events?limit=100"), &t.carol)
        .await;
    assert!(events.text.contains("It started at 08:50."), "{}", events.text);
    assert!(!events.text.contains("MX looks fine"));
    let copied = events
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["body"] == "It started at 08:50.")
        .unwrap()
        .clone();
    assert_eq!(copied["type"], "copied");
    assert_eq!(copied["actor"], "colin@acme.example", "{copied}");
    assert!(copied["data"]["original_at"].is_string(), "{copied}");

    // The duplicate: cancelled, linked, its requester now watching the target.
    let d = t.get(&format!("/api/v1/tickets/{dup}"), &t.agent).await;
    assert_eq!(d.json["status"], "cancelled");
    assert_eq!(d.json["resolve"]["state"], "cancelled");
    let links = t.get(&format!("/api/v1/tickets/{dup}/links"), &t.agent).await;
    assert!(
        links.text.contains("duplicate_of") && links.text.contains(&target),
        "{}",
        links.text
    );
    let watchers = t.get(&format!("/api/v1/tickets/{target}/watchers"), &t.agent).await;
    assert!(watchers.text.contains("colin@acme.example"), "{}", watchers.text);

    // Later mail to the duplicate threads onto the target.
    let raw = format!(
        "From: colin@acme.example\r\nTo: service-desk@desk.example\r\nSubject: Re: [{dup}] Email bouncing\r\n\
         Message-ID: <later-1@acme.example>\r\nDate: Mon, 30 Nov 2026 12:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\nStill bouncing at noon.\r\n"
    );
    let app = t.app.clone();
    let outcome = tokio::task::spawn_blocking(move || app.ingest(raw.as_bytes(), "test", sladesk::app::now()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        outcome,
        sladesk::app::intake::IngestOutcome::Replied {
            reference: target.clone()
        }
    );
    let events = t
        .get(&format!("/api/v1/tickets/{target}/events?limit=100"), &t.agent)
        .await;
    assert!(events.text.contains("Still bouncing at noon."), "{}", events.text);

    // Audited, and a cancelled duplicate cannot be merged again.
    let again = t
        .post(
            &format!("/api/v1/tickets/{dup}/merge"),
            &t.agent,
            json!({"into": target}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.text);
}
