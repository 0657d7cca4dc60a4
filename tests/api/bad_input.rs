//! Bad input gets a problem+json a person can act on, never a panic, and
//! what is stored comes back byte for byte.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    bad_requests_get_clear_problems,
    metacharacters_are_stored_and_returned_verbatim
);

async fn bad_requests_get_clear_problems(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "ok", 3).await;

    let a = t
        .raw(
            Method::POST,
            "/api/v1/tickets",
            &t.carol,
            "application/json",
            b"{\"subject\": ".to_vec(),
        )
        .await;
    assert!(a.problem(400).starts_with("body: "));
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "x", "description": "y", "severity": "high"}),
        )
        .await;
    assert!(a.problem(400).contains("severity"), "{}", a.text);
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "x", "description": "y", "severity": 7}),
        )
        .await;
    assert!(a.problem(400).contains("unknown severity 7"), "{}", a.text);
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "x", "description": "y", "priority": 1}),
        )
        .await;
    assert!(a.problem(400).contains("unknown field `priority`"), "{}", a.text);
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "x".repeat(301), "description": "y"}),
        )
        .await;
    assert_eq!(a.problem(422), "subject: at most 300 characters");
    assert_eq!(a.json["field"], "subject");
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "  ", "description": "y"}),
        )
        .await;
    assert_eq!(a.problem(422), "subject: must not be empty");
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "x", "description": "y".repeat(600_000)}),
        )
        .await;
    assert!(a.problem(413).contains("limit"), "{}", a.text);
    let a = t
        .raw(
            Method::POST,
            "/api/v1/tickets",
            &t.carol,
            "text/plain",
            b"subject=x".to_vec(),
        )
        .await;
    assert_eq!(a.problem(415), "send the body as application/json");
    let a = t
        .raw(
            Method::POST,
            "/api/v1/tickets",
            &t.carol,
            "application/json",
            b"{\"subject\": \"\xff\xfe\", \"description\": \"y\"}".to_vec(),
        )
        .await;
    a.problem(400);
    let a = t
        .patch(&format!("/api/v1/tickets/{r}"), &t.agent, json!({"severity": 9}))
        .await;
    assert_eq!(a.problem(422), "severity: unknown severity 9: expected 1, 2, 3 or 4");
    let a = t
        .patch(&format!("/api/v1/tickets/{r}"), &t.agent, json!({"colour": "red"}))
        .await;
    assert!(a.problem(400).contains("unknown field `colour`"));
    let a = t.patch(&format!("/api/v1/tickets/{r}"), &t.agent, json!({})).await;
    assert_eq!(a.problem(422), "(body): nothing to change");
    let a = t
        .patch(&format!("/api/v1/tickets/{r}"), &t.agent, json!({"status": "sleeping"}))
        .await;
    assert!(a.problem(422).starts_with("status: unknown status 'sleeping'"));
    let a = t
        .patch(
            &format!("/api/v1/tickets/{r}"),
            &t.agent,
            json!({"assignee": "carol@acme.example"}),
        )
        .await;
    assert_eq!(
        a.problem(422),
        "assignee: 'carol@acme.example' is not an active member of staff"
    );
    let a = t.get("/api/v1/tickets/SD-999999", &t.agent).await;
    assert_eq!(
        a.problem(404),
        "ticket SD-999999 does not exist or is not visible to you"
    );
    let a = t.get("/api/v1/tickets/'%20OR%201=1--", &t.agent).await;
    a.problem(404);
    let a = t.get("/api/v1/nothing-here", &t.agent).await;
    a.problem(404);
    let a = t.call(Method::GET, "/api/v1/tickets", None, None).await;
    assert_eq!(a.problem(401), "send Authorization: Bearer <token>");
    let a = t
        .call(Method::GET, "/api/v1/tickets", Some("sld_not-a-token"), None)
        .await;
    assert_eq!(a.problem(401), "unknown token");
    let a = t.get("/api/v1/tickets?severity=abc", &t.agent).await;
    assert!(a.problem(400).starts_with("query string:"));
    let a = t.post(&format!("/api/v1/tickets/{r}/close"), &t.agent, json!({})).await;
    assert_eq!(a.problem(409), "cannot close a ticket that is new");
    // Nothing above changed the ticket.
    let a = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
    assert_eq!(
        (a.json["status"].as_str(), a.json["version"].as_i64()),
        (Some("new"), Some(1))
    );
}

async fn metacharacters_are_stored_and_returned_verbatim(db: Db) {
    let t = spawn_app(db).await;
    let subject = "Robert'); DROP TABLE tickets;-- <script>alert(\"x\")</script> & 100% _done_ \\ ünïcödé 🚀";
    let body = "line one\nline two\t\"quoted\" <b>bold</b> NULL end";
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": subject, "description": body}),
        )
        .await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.text);
    let r = a.json["reference"].as_str().unwrap().to_string();
    assert_eq!(a.json["subject"], subject);
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.carol).await;
    assert_eq!(events.json[1]["body"], body);
    let a = t
        .post(
            "/api/v1/tickets",
            &t.carol,
            json!({"subject": "nul", "description": "a\u{0}b"}),
        )
        .await;
    assert_eq!(a.problem(422), "description: must not contain NUL characters");
    let a = t.get("/api/v1/tickets?q=100%25%20_done_", &t.agent).await;
    assert_eq!(a.json["items"].as_array().unwrap().len(), 1, "{}", a.text);
    assert_eq!(a.json["items"][0]["subject"], subject);
}
