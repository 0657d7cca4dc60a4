//! Bad input gets a problem+json a person can act on, never a panic, and
//! what is stored comes back byte for byte.

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    bad_requests_get_clear_problems,
    metacharacters_are_stored_and_returned_verbatim,
    every_json_endpoint_refuses_malformed_unknown_mistyped_and_oversized_bodies,
    administration_validates_each_field,
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

async fn every_json_endpoint_refuses_malformed_unknown_mistyped_and_oversized_bodies(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "ok", 3).await;
    let endpoints = [
        (Method::POST, "/api/v1/tickets".to_string()),
        (Method::PATCH, format!("/api/v1/tickets/{r}")),
        (Method::POST, format!("/api/v1/tickets/{r}/replies")),
        (Method::POST, format!("/api/v1/tickets/{r}/notes")),
        (Method::POST, "/api/v1/organisations".to_string()),
        (Method::POST, "/api/v1/users".to_string()),
        (Method::POST, "/api/v1/queues".to_string()),
        (Method::POST, "/api/v1/tokens".to_string()),
        (Method::POST, "/api/v1/sla/recompute".to_string()),
    ];
    for (m, path) in endpoints {
        let who = if path.contains("/tickets") { &t.agent } else { &t.admin };
        let a = t
            .raw(m.clone(), &path, who, "application/json", b"{not json".to_vec())
            .await;
        assert_eq!(a.problem(400).split(':').next(), Some("body"), "{m} {path}: {}", a.text);
        let a = t
            .raw(m.clone(), &path, who, "application/json", b"[1, 2, 3]".to_vec())
            .await;
        a.problem(400);
        let a = t
            .raw(
                m.clone(),
                &path,
                who,
                "application/json",
                br#"{"surprise": true}"#.to_vec(),
            )
            .await;
        let d = a.problem(400);
        assert!(d.contains("surprise"), "{m} {path}: the unknown field is named: {d}");
        let a = t
            .raw(m.clone(), &path, who, "application/xml", b"<ticket/>".to_vec())
            .await;
        a.problem(415);
        let huge = format!("{{\"body\": \"{}\"}}", "x".repeat(600 * 1024));
        let a = t
            .raw(m.clone(), &path, who, "application/json", huge.into_bytes())
            .await;
        a.problem(413);
        let a = t
            .raw(
                m.clone(),
                &path,
                who,
                "application/json",
                b"{\"body\": \"\xc3\x28\"}".to_vec(),
            )
            .await;
        a.problem(400);
    }
    let a = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await;
    assert_eq!(a.json["version"], 1, "nothing above changed the ticket");
}

async fn administration_validates_each_field(db: Db) {
    let t = spawn_app(db).await;
    let org = |slug: &str, tier: &str, region: &str| json!({"slug": slug, "name": "X", "tier": tier, "region": region});
    let cases = [
        (
            "/api/v1/organisations",
            org("Bad Slug", "silver", "scotland"),
            "slug: expected 1–64 lower-case letters, digits or '-'",
        ),
        (
            "/api/v1/organisations",
            org("ok", "diamond", "scotland"),
            "tier: unknown tier 'diamond': expected one of bronze, gold, platinum, silver",
        ),
        (
            "/api/v1/organisations",
            org("ok", "silver", "wales"),
            "region: unknown holiday region 'wales': expected england-and-wales, scotland or northern-ireland",
        ),
        (
            "/api/v1/users",
            json!({"email": "not-an-email", "role": "agent"}),
            "email: 'not-an-email' is not an email address",
        ),
        (
            "/api/v1/users",
            json!({"email": "x@y.example", "role": "customer"}),
            "organisation: a customer belongs to an organisation",
        ),
        (
            "/api/v1/users",
            json!({"email": "x@y.example", "role": "agent", "organisation": "acme"}),
            "organisation: staff do not belong to a customer organisation",
        ),
        (
            "/api/v1/users",
            json!({"email": "x@y.example", "role": "agent", "password": "short"}),
            "password: at least 12 characters",
        ),
        (
            "/api/v1/queues",
            json!({"slug": "q", "name": "Q", "default_severity": 5}),
            "default_severity: expected 1, 2, 3 or 4",
        ),
        (
            "/api/v1/queues",
            json!({"slug": "q", "name": "Q", "lead": "carol@acme.example"}),
            "lead: 'carol@acme.example' is a customer, not staff",
        ),
        (
            "/api/v1/tokens",
            json!({"user": "nobody@x.example", "name": "t"}),
            "user: unknown user 'nobody@x.example'",
        ),
        (
            "/api/v1/tokens",
            json!({"user": "bob@desk.example", "name": "t", "scope": "root"}),
            "scope: expected full, intake, metrics, alerts, scim or scim:<organisation>",
        ),
    ];
    for (path, body, detail) in cases {
        let a = t.post(path, &t.admin, body.clone()).await;
        assert_eq!(a.problem(422), detail, "{path} {body}");
    }
    let a = t
        .post(
            "/api/v1/users",
            &t.admin,
            json!({"email": "ALICE@desk.example", "role": "agent"}),
        )
        .await;
    assert_eq!(
        a.problem(409),
        "a user with email 'ALICE@desk.example' exists",
        "emails are unique whatever their case"
    );
    let a = t
        .post("/api/v1/organisations", &t.admin, org("acme", "silver", "scotland"))
        .await;
    assert_eq!(a.problem(409), "an organisation with slug 'acme' exists");
}
