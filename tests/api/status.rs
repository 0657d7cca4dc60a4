//! An outage's public updates: staff post what customers are told, the
//! status moves along the outage's track, a final status ends it, and
//! every customer who may see the outage reads the same public words.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(public_updates_move_an_outage_along_its_track_and_end_it);

async fn public_updates_move_an_outage_along_its_track_and_end_it(db: Db) {
    let t = spawn_app(db).await;
    let define = json!({"slug": "objstore-lon2", "name": "Object storage – LON2", "group": "Storage"});
    assert_eq!(t.post("/api/v1/services", &t.admin, define).await.status.as_u16(), 201);
    let sub = t
        .call(
            Method::PUT,
            "/api/v1/organisations/acme/services",
            Some(&t.admin),
            Some(json!({"services": ["objstore-lon2"]})),
        )
        .await;
    assert_eq!(sub.status.as_u16(), 200);
    let start = sladesk::app::now() - chrono::Duration::hours(2);
    let o = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": start, "services": [{"service": "objstore-lon2"}],
                "description": "Quorum lost on three nodes"}),
        )
        .await;
    assert_eq!(o.status.as_u16(), 201, "{}", o.text);
    assert_eq!(o.json["status"], "investigating");
    assert_eq!(o.json["updates"], json!([]));
    let id = o.json["id"].as_i64().unwrap();
    let updates = format!("/api/v1/outages/{id}/updates");

    // Staff post; the status moves; customers read the public words.
    let a = t
        .post(
            &updates,
            &t.agent,
            json!({"status": "identified", "body": "A storage node failed; we are replacing it."}),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.text);
    assert_eq!(a.json["status"], "identified");
    let carol = t.get(&format!("/api/v1/outages/{id}"), &t.carol).await;
    assert_eq!(carol.json["status"], "identified");
    assert_eq!(
        carol.json["updates"][0]["body"],
        "A storage node failed; we are replacing it."
    );
    assert!(!carol.text.contains("Quorum"), "the staff's own account stays theirs");
    assert_eq!(
        t.get(&format!("/api/v1/outages/{id}"), &t.gina).await.status.as_u16(),
        404
    );

    // Who may post: staff; a customer is told it is not there; nobody, 401.
    let body = json!({"body": "x"});
    assert_eq!(t.post(&updates, &t.carol, body.clone()).await.status.as_u16(), 404);
    assert_eq!(t.post(&updates, &t.gina, body.clone()).await.status.as_u16(), 404);
    assert_eq!(
        t.call(Method::POST, &updates, None, Some(body)).await.status.as_u16(),
        401
    );

    // Refused, naming the field: the other track, no words, a bad status.
    for (b, field) in [
        (json!({"status": "scheduled", "body": "x"}), "status"),
        (json!({"status": "fixed", "body": "x"}), "status"),
        (json!({"status": "monitoring", "body": "  "}), "body"),
    ] {
        let r = t.post(&updates, &t.agent, b).await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }

    // Resolving ends it; after that, words but no new status.
    let r = t
        .post(
            &updates,
            &t.manager,
            json!({"status": "resolved", "body": "Storage is back."}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    assert_eq!(r.json["status"], "resolved");
    assert_eq!(r.json["ongoing"], false);
    assert!(r.json["end"].is_string(), "{}", r.text);
    let again = t
        .post(&updates, &t.manager, json!({"status": "monitoring", "body": "x"}))
        .await;
    assert_eq!(again.status.as_u16(), 422, "{}", again.text);
    let note = t
        .post(
            &updates,
            &t.manager,
            json!({"body": "A full report follows within five working days."}),
        )
        .await;
    assert_eq!(note.status.as_u16(), 201, "{}", note.text);
    assert_eq!(note.json["updates"].as_array().unwrap().len(), 3);

    // Maintenance follows its own track, forward only.
    let m = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "planned_maintenance", "start": sladesk::app::now() + chrono::Duration::days(7),
                "organisations": "all", "description": "Firmware"}),
        )
        .await;
    assert_eq!(m.json["status"], "scheduled");
    let mu = format!("/api/v1/outages/{}/updates", m.json["id"]);
    assert_eq!(
        t.post(&mu, &t.agent, json!({"status": "identified", "body": "x"}))
            .await
            .status
            .as_u16(),
        422
    );

    // An outage recorded with an end and no updates reads as over.
    let old = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "emergency_maintenance", "start": "2026-10-01T01:00:00Z", "end": "2026-10-01T02:00:00Z",
                "organisations": "all", "description": "Switch"}),
        )
        .await;
    assert_eq!(old.json["status"], "completed");

    // Each post was audited.
    let app = t.app.clone();
    let n = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        let mut c = app.conn().unwrap();
        audit_log::table
            .filter(audit_log::action.eq("outage.post_update"))
            .count()
            .get_result::<i64>(&mut c)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(n, 3);
}
