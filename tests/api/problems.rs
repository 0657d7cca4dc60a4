//! Problems over HTTP: opened from three incidents of two organisations
//! (linked `caused_by` it, on both tickets), a workaround offered to them
//! as a public reply, the known error found through search and linked from
//! a fourth incident in one step, and resolving the problem resolving its
//! open incidents; no contact ever sees the problem, by any path.

use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(a_problem_publishes_its_workaround_and_resolves_its_incidents);

async fn a_problem_publishes_its_workaround_and_resolves_its_incidents(db: Db) {
    let t = spawn_app(db).await;
    let a = t.raise(&t.carol, "VPN drops every hour", 3).await;
    let b = t.raise(&t.colin, "VPN disconnects", 3).await;
    let c = t.raise(&t.gina, "Remote access keeps dropping", 2).await;
    let opened = t
        .post(
            "/api/v1/problems",
            &t.agent,
            json!({"subject": "VPN concentrator drops sessions hourly", "description": "Three customers report hourly drops.", "incidents": [a, b, c]}),
        )
        .await;
    assert_eq!(opened.status.as_u16(), 201, "{}", opened.text);
    let p = opened.json["reference"].as_str().unwrap().to_string();
    assert_eq!(opened.json["status"], "new");
    assert_eq!(opened.json["incidents"].as_array().unwrap().len(), 3);
    assert_eq!(
        t.post(
            "/api/v1/problems",
            &t.carol,
            json!({"subject": "x", "description": "y", "incidents": [a]})
        )
        .await
        .status
        .as_u16(),
        403
    );
    let on_its_own = t
        .post(
            "/api/v1/problems",
            &t.agent,
            json!({"subject": "x", "description": "y"}),
        )
        .await;
    assert_eq!(on_its_own.status.as_u16(), 422, "{}", on_its_own.text);

    // Both ends show the link.
    let links = t.get(&format!("/api/v1/tickets/{a}/links"), &t.agent).await;
    assert!(
        links.text.contains(&p) && links.text.contains("caused_by"),
        "{}",
        links.text
    );

    // No contact sees the problem: not by reference, list, search or link.
    for token in [&t.carol, &t.gina] {
        assert_eq!(t.get(&format!("/api/v1/tickets/{p}"), token).await.status.as_u16(), 404);
        assert_eq!(
            t.get(&format!("/api/v1/tickets/{p}/problem"), token)
                .await
                .status
                .as_u16(),
            403
        );
        let list = t.get("/api/v1/tickets", token).await;
        assert!(!list.text.contains(&p), "{}", list.text);
        let found = t.get("/api/v1/search?q=concentrator", token).await;
        assert_eq!(found.json["total"], 0, "{}", found.text);
        let theirs = t.get(&format!("/api/v1/tickets/{a}/links"), &t.carol).await;
        assert!(
            !theirs.text.contains(&p),
            "a link to a problem is not shown: {}",
            theirs.text
        );
    }

    let act = |body: serde_json::Value| {
        let path = format!("/api/v1/tickets/{p}/problem/actions");
        let t = &t;
        async move { t.post(&path, &t.agent, body).await }
    };
    let early = act(json!({"action": "declare_known_error"})).await;
    assert_eq!(
        early.status.as_u16(),
        422,
        "needs a cause or workaround: {}",
        early.text
    );
    assert_eq!(
        act(json!({"action": "record_root_cause", "text": "Session table overflows at 4096 entries."}))
            .await
            .status
            .as_u16(),
        200
    );
    let published =
        act(json!({"action": "record_workaround", "text": "Reconnect with the 'tcp' profile.", "publish": true})).await;
    assert_eq!(published.status.as_u16(), 200, "{}", published.text);
    assert_eq!(
        published.json["incidents_done"].as_array().unwrap().len(),
        3,
        "{}",
        published.text
    );
    let carol_sees = t.get(&format!("/api/v1/tickets/{a}/events"), &t.carol).await;
    assert!(
        carol_sees.text.contains("Reconnect with the 'tcp' profile."),
        "{}",
        carol_sees.text
    );
    assert!(t.outbox().iter().any(|(k, to, ctx)| k == "agent_reply"
        && to == "gina@globex.example"
        && ctx["body"].as_str().unwrap_or("").contains("tcp")));
    let declared = act(json!({"action": "declare_known_error"})).await;
    assert_eq!(declared.status.as_u16(), 200, "{}", declared.text);
    assert_eq!(declared.json["problem"]["known_error"], true);

    // The known-error list, searched; one step links a fourth incident.
    t.app.index_search_queue(1000).unwrap();
    let listed = t.get("/api/v1/known-errors?q=concentrator", &t.agent).await;
    assert_eq!(listed.status.as_u16(), 200, "{}", listed.text);
    assert_eq!(listed.json.as_array().unwrap().len(), 1, "{}", listed.text);
    assert_eq!(listed.json[0]["workaround"], "Reconnect with the 'tcp' profile.");
    let none = t.get("/api/v1/known-errors?q=printer", &t.agent).await;
    assert_eq!(none.json.as_array().unwrap().len(), 0, "{}", none.text);
    assert_eq!(t.get("/api/v1/known-errors", &t.carol).await.status.as_u16(), 403);
    let d = t.raise(&t.carol, "VPN dropped again", 3).await;
    let linked = act(json!({"action": "link_incident", "reference": d})).await;
    assert_eq!(linked.status.as_u16(), 200, "{}", linked.text);
    assert_eq!(linked.json["problem"]["incidents"].as_array().unwrap().len(), 4);

    // Resolving the problem resolves its open incidents; one resolved
    // already is left as it was, and named.
    let r = t
        .post(&format!("/api/v1/tickets/{d}/resolve"), &t.agent, json!({}))
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let resolved = act(json!({"action": "resolve", "note": "Firmware 7.2 raises the session table; fixed.", "resolve_incidents": true})).await;
    assert_eq!(resolved.status.as_u16(), 200, "{}", resolved.text);
    assert_eq!(resolved.json["problem"]["status"], "resolved");
    assert_eq!(
        resolved.json["incidents_done"].as_array().unwrap().len(),
        3,
        "{}",
        resolved.text
    );
    assert_eq!(
        resolved.json["incidents_skipped"].as_array().unwrap().len(),
        1,
        "{}",
        resolved.text
    );
    for r in [&a, &b, &c] {
        let v = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
        assert_eq!(v.json["status"], "resolved", "{r}: {}", v.text);
    }
    // The problem's conversation told no contact anything.
    assert!(!t.outbox().iter().any(|(_, _, ctx)| ctx["reference"] == p.as_str()));
}
