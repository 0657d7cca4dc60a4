//! Webhooks end to end: subscriptions made over the API (admins only; an
//! address on a private network refused unless allowed), ticket events
//! delivered as CloudEvents and as Slack and Teams messages, every
//! delivery's signature checked by the npm `standardwebhooks` package,
//! filters by organisation, retries with the same `webhook-id`, and an
//! endpoint failing for three days disabled with admins told.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};
use crate::peers::Receiver;

crate::both_backends!(
    webhooks_deliver_signed_events_and_give_up_on_a_dead_endpoint,
    staff_alerts_and_major_incidents_reach_chat,
);

/// Runs the webhook sender once, as the outbox worker does, at `at`.
async fn deliver(t: &TestApp, at: chrono::DateTime<chrono::Utc>) -> sladesk::net::webhooks::WebhookReport {
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || sladesk::net::webhooks::deliver_webhooks(&app, at, 100).unwrap())
        .await
        .unwrap()
}

fn at(received: &[Value], path: &str) -> Vec<Value> {
    received.iter().filter(|r| r["path"] == path).cloned().collect()
}

fn body(r: &Value) -> Value {
    serde_json::from_str(r["body"].as_str().unwrap()).unwrap()
}

async fn subscribe(t: &TestApp, body: Value) -> Value {
    let r = t.post("/api/v1/webhooks", &t.admin, body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.json
}

async fn webhooks_deliver_signed_events_and_give_up_on_a_dead_endpoint(db: Db) {
    let t = spawn_app(db).await;
    let hooks = Receiver::start();
    let url = |name: &str| format!("{}/hook/{name}", hooks.base);

    // Only admins subscribe; a private address needs their leave.
    let all_events = json!([
        "ticket.created",
        "ticket.changed",
        "ticket.resolved",
        "ticket.at_risk",
        "ticket.breached"
    ]);
    for token in [&t.carol, &t.agent, &t.manager] {
        let r = t
            .post(
                "/api/v1/webhooks",
                token,
                json!({"name": "x", "url": "https://hooks.example.com/x", "events": ["ticket.created"]}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 403, "{}", r.text);
    }
    for bad in [
        url("all"),
        "https://127.0.0.1/hook".into(),
        "https://localhost/hook".into(),
        "https://169.254.169.254/latest".into(),
    ] {
        let r = t
            .post(
                "/api/v1/webhooks",
                &t.admin,
                json!({"name": "x", "url": bad, "events": ["ticket.created"]}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 422, "{bad}: {}", r.text);
        assert!(r.text.contains("url"), "{}", r.text);
    }
    let r = t
        .post(
            "/api/v1/webhooks",
            &t.admin,
            json!({"name": "x", "url": url("x"), "events": ["ticket.exploded"], "allow_private": true}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 422, "{}", r.text);

    let everything = subscribe(
        &t,
        json!({"name": "Everything", "url": url("all"), "events": all_events, "allow_private": true}),
    )
    .await;
    let secret = everything["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"));
    let globex = subscribe(&t, json!({"name": "Globex in Slack", "url": url("slack"), "format": "slack", "events": ["ticket.created"], "organisation": "globex", "allow_private": true})).await;
    let teams = subscribe(&t, json!({"name": "Resolved to Teams", "url": url("teams"), "format": "teams", "events": ["ticket.resolved"], "allow_private": true})).await;
    let listed = t.get("/api/v1/webhooks", &t.admin).await;
    assert_eq!(listed.json.as_array().unwrap().len(), 3);
    assert!(!listed.text.contains(&secret), "the secret is shown once, at creation");

    // A ticket of acme: the catch-all hears of it, the Globex one does not.
    let acme = t.raise(&t.carol, "VPN down", 3).await;
    let r = deliver(&t, sladesk::app::now()).await;
    assert_eq!((r.sent, r.failed), (1, 0), "{r:?}");
    let got = hooks.received(&secret).await;
    let first = &at(&got, "/hook/all")[0];
    assert_eq!(first["verified"], true, "standardwebhooks verifies it: {first}");
    assert!(first["id"].as_str().unwrap().starts_with("msg_"));
    assert_eq!(first["headers"]["content-type"], "application/cloudevents+json");
    let event = body(first);
    assert_eq!(event["specversion"], "1.0");
    assert_eq!(event["type"], "uk.sladesk.ticket.created");
    assert_eq!(event["subject"], acme.as_str());
    assert_eq!(event["data"]["organisation"]["slug"], "acme");
    assert_eq!(event["data"]["url"], json!(t.app.page_url(&format!("/tickets/{acme}"))));
    assert!(event["source"].as_str().unwrap().starts_with("http"), "{event}");
    assert!(at(&got, "/hook/slack").is_empty(), "not Globex's");

    // A wrong secret does not verify: the check is real.
    let forged = hooks.received("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").await;
    assert_eq!(forged[0]["verified"], false);

    // Globex's ticket reaches both, the Slack one in Slack's shape.
    let gx = t.raise(&t.gina, "Backups failing", 2).await;
    assert_eq!(deliver(&t, sladesk::app::now()).await.sent, 2);
    let got = hooks.received(globex["secret"].as_str().unwrap()).await;
    let slack = &at(&got, "/hook/slack")[0];
    assert_eq!(slack["verified"], true, "{slack}");
    let sb = body(slack);
    assert!(sb["text"].as_str().unwrap().contains(&gx), "{sb}");
    assert!(
        sb["blocks"][0]["text"]["text"].as_str().unwrap().contains("/tickets/"),
        "{sb}"
    );

    // A reply is a change; resolving reaches the Teams endpoint as a card.
    let r = t
        .post(
            &format!("/api/v1/tickets/{acme}/replies"),
            &t.agent,
            json!({"body": "Looking now."}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = t
        .call(
            reqwest::Method::POST,
            &format!("/api/v1/tickets/{acme}/resolve"),
            Some(&t.agent),
            None,
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let r = deliver(&t, sladesk::app::now()).await;
    assert_eq!(
        (r.sent, r.failed),
        (3, 0),
        "changed, resolved, and the Teams card: {r:?}"
    );
    let got = hooks.received(&secret).await;
    let types: Vec<String> = at(&got, "/hook/all")
        .iter()
        .map(|r| body(r)["type"].as_str().unwrap().to_string())
        .collect();
    assert!(
        types.contains(&"uk.sladesk.ticket.changed".to_string())
            && types.contains(&"uk.sladesk.ticket.resolved".to_string()),
        "{types:?}"
    );
    let got = hooks.received(teams["secret"].as_str().unwrap()).await;
    let card = &at(&got, "/hook/teams")[0];
    assert_eq!(card["verified"], true);
    let cb = body(card);
    assert_eq!(
        cb["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert!(
        cb["attachments"][0]["content"]["body"][0]["text"]
            .as_str()
            .unwrap()
            .starts_with("Resolved:"),
        "{cb}"
    );

    // Failures are retried with back-off, under the same webhook-id.
    hooks.fail("all", 2).await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{gx}/notes"),
            &t.agent,
            json!({"body": "Checking the agent."}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    let now = sladesk::app::now();
    assert_eq!(deliver(&t, now).await.failed, 1);
    assert_eq!(deliver(&t, now).await, Default::default(), "not due again at once");
    assert_eq!(deliver(&t, now + Duration::minutes(2)).await.failed, 1);
    assert_eq!(deliver(&t, now + Duration::minutes(10)).await.sent, 1);
    let got = hooks.received(&secret).await;
    let last = at(&got, "/hook/all");
    let tries: Vec<&Value> = last.iter().rev().take(3).collect();
    assert!(
        tries.iter().all(|r| r["id"] == tries[0]["id"]),
        "one id on every try: {tries:?}"
    );
    assert!(tries.iter().all(|r| r["verified"] == true));

    // Down for three days: disabled, what waits is set aside, admins told.
    hooks.fail("all", 100).await;
    let r = t
        .post(
            &format!("/api/v1/tickets/{gx}/notes"),
            &t.agent,
            json!({"body": "Still checking."}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    // From now: the note's delivery is due from its own instant, which is
    // later than the retries' `now` above.
    let now = sladesk::app::now();
    assert_eq!(deliver(&t, now).await.failed, 1);
    let r = deliver(&t, now + Duration::days(3) + Duration::hours(1)).await;
    assert_eq!((r.failed, r.disabled), (1, 1), "{r:?}");
    let listed = t.get("/api/v1/webhooks", &t.admin).await;
    let dead = listed
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == everything["id"])
        .unwrap()
        .clone();
    assert_eq!(dead["enabled"], false, "{dead}");
    assert!(dead["last_error"].as_str().unwrap().contains("500"), "{dead}");
    let told: Vec<(String, String, Value)> = t
        .outbox()
        .into_iter()
        .filter(|(k, _, _)| k == "webhook_disabled")
        .collect();
    assert_eq!(told.len(), 1, "{told:?}");
    assert_eq!(told[0].1, "admin@desk.example");
    // Nothing more is queued for it while it is off.
    let r = t
        .post(
            &format!("/api/v1/tickets/{gx}/notes"),
            &t.agent,
            json!({"body": "And again."}),
        )
        .await;
    assert!(r.status.is_success(), "{}", r.text);
    assert_eq!(deliver(&t, now + Duration::days(4)).await, Default::default());
    // On again, by an admin.
    let id = everything["id"].as_i64().unwrap();
    let r = t
        .post(&format!("/api/v1/webhooks/{id}/enable"), &t.admin, json!({}))
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.json["enabled"], true);
    let r = t
        .call(
            reqwest::Method::DELETE,
            &format!("/api/v1/webhooks/{id}"),
            Some(&t.admin),
            None,
        )
        .await;
    assert_eq!(r.status.as_u16(), 204, "{}", r.text);
}

/// The chat formats carry staff alerts: a ticket at risk and breached (from
/// the SLA tick), and a major incident as it is declared and updated.
async fn staff_alerts_and_major_incidents_reach_chat(db: Db) {
    let t = spawn_app(db).await;
    let hooks = Receiver::start();
    let slack = subscribe(
        &t,
        json!({"name": "Desk alerts", "url": format!("{}/hook/alerts", hooks.base), "format": "slack",
               "events": ["ticket.at_risk", "ticket.breached", "outage.updated"], "severities": [1], "allow_private": true}),
    )
    .await;
    let secret = slack["secret"].as_str().unwrap().to_string();
    let s1 = t.raise(&t.gina, "Core switch down", 1).await;
    let _s3 = t.raise(&t.gina, "Printer toner", 3).await;
    assert_eq!(
        deliver(&t, sladesk::app::now()).await,
        Default::default(),
        "created is not subscribed"
    );

    // The tick records the warnings and breaches as they fall due.
    let later = sladesk::app::now() + Duration::days(2);
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || app.sla_tick(later).unwrap())
        .await
        .unwrap();
    let r = deliver(&t, later).await;
    assert!(r.sent >= 2 && r.failed == 0, "{r:?}");
    let got = hooks.received(&secret).await;
    let texts: Vec<String> = at(&got, "/hook/alerts")
        .iter()
        .map(|r| {
            assert_eq!(r["verified"], true);
            body(r)["text"].as_str().unwrap().to_string()
        })
        .collect();
    assert!(
        texts
            .iter()
            .any(|x| x.starts_with("At risk of breaching") && x.contains(&s1)),
        "{texts:?}"
    );
    assert!(
        texts.iter().any(|x| x.starts_with("SLA breached") && x.contains(&s1)),
        "{texts:?}"
    );
    assert!(
        !texts.iter().any(|x| x.contains("Printer toner")),
        "severity 3 is filtered out: {texts:?}"
    );

    // A major incident, declared and then updated.
    let o = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": sladesk::app::now() - Duration::minutes(5), "organisations": "all",
                   "description": "Core network down in LON2"}),
        )
        .await;
    assert_eq!(o.status.as_u16(), 201, "{}", o.text);
    let id = o.json["id"].as_i64().unwrap();
    let u = t
        .post(
            &format!("/api/v1/outages/{id}/updates"),
            &t.agent,
            json!({"status": "identified", "body": "A line card failed; replacing it."}),
        )
        .await;
    assert_eq!(u.status.as_u16(), 201, "{}", u.text);
    assert_eq!(deliver(&t, sladesk::app::now()).await.sent, 2);
    let got = hooks.received(&secret).await;
    let all = at(&got, "/hook/alerts");
    let last = body(all.last().unwrap());
    assert!(last["text"].as_str().unwrap().starts_with("Major incident"), "{last}");
    assert!(
        last["blocks"][0]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("line card"),
        "{last}"
    );
}
