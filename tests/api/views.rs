//! Saved views over HTTP: kept, counted and run as their viewer; shared
//! with a queue by its agents; never seen by another customer.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(views_are_kept_counted_shared_and_run_as_their_viewer);

async fn view(t: &TestApp, token: &str, body: Value) -> (u16, Value) {
    let a = t.post("/api/v1/views", token, body).await;
    if a.status.as_u16() >= 400 {
        assert_eq!(a.content_type, "application/problem+json", "{}", a.text);
    }
    (a.status.as_u16(), a.json)
}

fn named<'a>(list: &'a Value, name: &str) -> Option<&'a Value> {
    list.as_array().unwrap().iter().find(|v| v["name"] == name)
}

async fn views_are_kept_counted_shared_and_run_as_their_viewer(db: Db) {
    let t = spawn_app(db).await;
    let a1 = t.raise(&t.carol, "Acme's disk is full", 1).await;
    t.raise(&t.carol, "Acme's printer", 4).await;
    let g1 = t.raise(&t.gina, "Globex's disk is full", 1).await;

    // An agent's own view, and one shared with the service desk queue by
    // a member of it.
    let (s, mine) = view(
        &t,
        &t.agent2,
        json!({"name": "Severity 1", "query": "status:active sev:1"}),
    )
    .await;
    assert_eq!(s, 201, "{mine}");
    assert_eq!(mine["count"]["total"], 2);
    assert!(mine.get("queue").is_none_or(Value::is_null));
    let (s, shared) = view(
        &t,
        &t.agent2,
        json!({"name": "Disks", "query": "disk", "sort": "created", "queue": "service-desk"}),
    )
    .await;
    assert_eq!(s, 201, "{shared}");
    assert_eq!(shared["queue"], "service-desk");
    assert_eq!(shared["count"]["total"], 2);
    // Another agent sees the shared view, not the personal one.
    let list = t.get("/api/v1/views", &t.agent).await.json;
    assert!(
        named(&list, "Disks").is_some() && named(&list, "Severity 1").is_none(),
        "{list}"
    );
    let found = t
        .get(&format!("/api/v1/views/{}/tickets", shared["id"]), &t.agent)
        .await;
    let refs: Vec<&str> = found.json["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ticket"]["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [g1.as_str(), a1.as_str()], "newest first, as kept");

    // A customer's own view counts their organisation's tickets only.
    let (s, cv) = view(&t, &t.carol, json!({"name": "Open", "query": "status:active"})).await;
    assert_eq!(s, 201, "{cv}");
    assert_eq!(cv["count"]["total"], 2);
    let (s, gv) = view(&t, &t.gina, json!({"name": "Disks", "query": "disk"})).await;
    assert_eq!(s, 201);
    assert_eq!(gv["count"]["total"], 1, "Acme's disk is not counted for Globex");
    // Customers see their own only, and nothing of another's by any path.
    let list = t.get("/api/v1/views", &t.gina).await;
    assert_eq!(list.json.as_array().unwrap().len(), 1, "{}", list.text);
    assert!(!list.text.contains("Severity 1") && !list.text.contains("service-desk"));
    for path in [
        format!("/api/v1/views/{}/tickets", cv["id"]),
        format!("/api/v1/views/{}/tickets", shared["id"]),
    ] {
        t.get(&path, &t.gina).await.problem(404);
    }
    t.call(
        Method::DELETE,
        &format!("/api/v1/views/{}", cv["id"]),
        Some(&t.gina),
        None,
    )
    .await
    .problem(404);
    // What cannot be kept, and why.
    let (s, _) = view(
        &t,
        &t.carol,
        json!({"name": "Shared", "query": "disk", "queue": "service-desk"}),
    )
    .await;
    assert_eq!(s, 403, "customers keep views of their own only");
    let (s, e) = view(&t, &t.carol, json!({"name": "Mine", "query": "assignee:me"})).await;
    assert_eq!(s, 400, "{e}");
    for (body, field) in [
        (json!({"name": "", "query": "disk"}), "name"),
        (json!({"name": "x", "query": "disk \"open"}), "query"),
        (json!({"name": "x", "query": a1.clone()}), "query"),
        (json!({"name": "x", "query": "disk", "sort": "sideways"}), "sort"),
        (json!({"name": "x", "query": "disk", "queue": "nowhere"}), "queue"),
    ] {
        let (s, e) = view(&t, &t.agent, body.clone()).await;
        assert_eq!(s, 422, "{body}: {e}");
        assert!(e["detail"].as_str().unwrap().starts_with(field), "{body}: {e}");
    }
    // Deleting: a member who did not make it may not; the maker, the
    // queue's lead or a manager may.
    let (_, other) = view(
        &t,
        &t.agent,
        json!({"name": "Lead's", "query": "printer", "queue": "platform"}),
    )
    .await;
    t.call(
        Method::DELETE,
        &format!("/api/v1/views/{}", other["id"]),
        Some(&t.agent2),
        None,
    )
    .await
    .problem(403);
    for (id, who) in [
        (&other["id"], &t.manager),
        (&shared["id"], &t.agent),
        (&mine["id"], &t.agent2),
    ] {
        let d = t
            .call(Method::DELETE, &format!("/api/v1/views/{id}"), Some(who), None)
            .await;
        assert_eq!(d.status.as_u16(), 204, "{}", d.text);
    }
    let left = t.get("/api/v1/views", &t.agent2).await.json;
    assert!(left.as_array().unwrap().is_empty(), "{left}");
    let audited: i64 = {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.like("view.%"))
            .count()
            .get_result(&mut t.app.conn().unwrap())
            .unwrap()
    };
    assert_eq!(audited, 5 + 3);
}
