//! Canned replies over HTTP: kept where their maker may keep them, refused
//! when their text names a field that does not exist, rendered for a
//! ticket, applied as one change with its moves, and audited.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(macros_are_kept_rendered_applied_and_audited);

async fn macros_are_kept_rendered_applied_and_audited(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Acme's backups fail", 3).await;
    let body = "Hello {{requester.email}}, {{ticket.reference}} ({{ticket.subject}}) is with {{agent.email}}. \
                We aim to resolve it by {{resolve_due}}.";
    let desk = t
        .post(
            "/api/v1/macros",
            &t.manager,
            json!({"name": "Ask for logs", "body": body, "set_status": "pending_customer", "set_assignee": "me"}),
        )
        .await;
    assert_eq!(desk.status.as_u16(), 201, "{}", desk.text);
    assert_eq!(desk.json["scope"], "desk");
    let id = desk.json["id"].as_i64().unwrap();
    // Who may keep what, where.
    let m = |name: &str, extra: serde_json::Value| {
        let mut b = json!({"name": name, "body": "Thanks, {{requester.email}}."});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    assert_eq!(
        t.post("/api/v1/macros", &t.agent2, m("desk", json!({})))
            .await
            .status
            .as_u16(),
        403
    );
    assert_eq!(
        t.post("/api/v1/macros", &t.agent2, m("mine", json!({"personal": true})))
            .await
            .status
            .as_u16(),
        201
    );
    assert_eq!(
        t.post(
            "/api/v1/macros",
            &t.agent,
            m("lead's", json!({"queue": "service-desk"}))
        )
        .await
        .status
        .as_u16(),
        201
    );
    assert_eq!(
        t.post(
            "/api/v1/macros",
            &t.agent2,
            m("member's", json!({"queue": "service-desk"}))
        )
        .await
        .status
        .as_u16(),
        403
    );
    assert_eq!(
        t.post("/api/v1/macros", &t.carol, m("customer's", json!({"personal": true})))
            .await
            .status
            .as_u16(),
        403
    );
    // A field that does not exist is refused when kept, not sent blank.
    for (bad, field) in [
        (json!({"name": "x", "body": "Dear {{requester.nmae}}"}), "body"),
        (json!({"name": "x", "body": "{{#if}}"}), "body"),
        (
            json!({"name": "x", "body": "ok", "set_status": "sideways"}),
            "set_status",
        ),
        (json!({"name": "x", "body": "ok", "set_severity": 7}), "set_severity"),
        (
            json!({"name": "x", "body": "ok", "set_assignee": "carol@acme.example"}),
            "set_assignee",
        ),
        (json!({"name": "", "body": "ok"}), "name"),
    ] {
        let a = t.post("/api/v1/macros", &t.manager, bad.clone()).await;
        assert!(a.problem(422).starts_with(field), "{bad}: {}", a.text);
    }
    // Listed for staff: the desk's, the queues', and one's own only.
    let bob = t.get("/api/v1/macros", &t.agent2).await;
    let names: Vec<&str> = bob
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Ask for logs", "lead's", "mine"]);
    let alice = t.get("/api/v1/macros", &t.agent).await;
    assert!(!alice.text.contains("\"mine\""), "another's own is not listed");
    t.get("/api/v1/macros", &t.carol).await.problem(403);

    // Previewed, then applied: one reply and the moves, mailed.
    let preview = t.get(&format!("/api/v1/tickets/{r}/macros/{id}"), &t.agent).await;
    assert_eq!(preview.status.as_u16(), 200, "{}", preview.text);
    let text = preview.json["body"].as_str().unwrap();
    assert!(
        text.starts_with(&format!(
            "Hello carol@acme.example, {r} (Acme's backups fail) is with alice@desk.example."
        )),
        "{text}"
    );
    assert!(
        text.contains("We aim to resolve it by ") && (text.contains("GMT") || text.contains("BST")),
        "{text}"
    );
    t.get(&format!("/api/v1/tickets/{r}/macros/{id}"), &t.carol)
        .await
        .problem(403);
    let applied = t
        .post(&format!("/api/v1/tickets/{r}/macros/{id}"), &t.agent, json!({}))
        .await;
    assert_eq!(applied.status.as_u16(), 200, "{}", applied.text);
    assert_eq!(applied.json["status"], "pending_customer");
    assert_eq!(applied.json["assignee"], "alice@desk.example");
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.carol).await;
    assert!(events.text.contains("is with alice@desk.example"), "{}", events.text);
    let mailed = t.outbox();
    // One mail: the reply, told as the ticket now waiting on her.
    assert!(
        mailed
            .iter()
            .any(|(k, to, _)| k == "pending_customer" && to == "carol@acme.example"),
        "{mailed:?}"
    );

    // Changes and removal: its keepers only; audited with the text before.
    let path = format!("/api/v1/macros/{id}");
    t.call(Method::PATCH, &path, Some(&t.agent2), Some(json!({"body": "x"})))
        .await
        .problem(403);
    let changed = t
        .call(
            Method::PATCH,
            &path,
            Some(&t.manager),
            Some(json!({"body": "Hello {{requester.email}}."})),
        )
        .await;
    assert_eq!(changed.status.as_u16(), 200, "{}", changed.text);
    assert_eq!(changed.json["set_status"], "pending_customer", "kept when not given");
    let gone = t.call(Method::DELETE, &path, Some(&t.manager), None).await;
    assert_eq!(gone.status.as_u16(), 204);
    let audit: Vec<(String, Option<String>)> = {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.like("macro.%"))
            .order(audit_log::id.asc())
            .select((audit_log::action, audit_log::detail))
            .load(&mut t.app.conn().unwrap())
            .unwrap()
    };
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(
        actions,
        [
            "macro.create",
            "macro.create",
            "macro.create",
            "macro.apply",
            "macro.edit",
            "macro.delete"
        ]
    );
    let edit = audit[4].1.as_deref().unwrap();
    assert!(
        edit.contains("before: Hello {{requester.email}}, {{ticket.reference}}")
            && edit.contains("after: Hello {{requester.email}}."),
        "{edit}"
    );
}
