//! Monitoring alerts into incidents over the webhook, with the payloads
//! Alertmanager sends (version 4): one ticket per fingerprint however often
//! it is told, a draft outage by rule that staff confirm (or one opened and
//! ended by the rule), the recovery recorded once, and the door open only
//! to a token of scope `alerts`. The real Alertmanager is in tests/e2e.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};
use crate::services::{define, subscribe};

crate::both_backends!(an_alert_opens_one_ticket_and_a_draft_outage_and_its_recovery_proposes_the_end);

/// Sets up what alerts need: the desk's own organisation and its
/// monitoring contact, the service and the rules.
pub(crate) async fn set_up_alerts(t: &TestApp, rules: &str) {
    define(t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    assert_eq!(subscribe(t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
    let org = t
        .post(
            "/api/v1/organisations",
            &t.admin,
            json!({"slug": "provider", "name": "The provider", "tier": "platinum", "region": "england-and-wales"}),
        )
        .await;
    assert_eq!(org.status.as_u16(), 201, "{}", org.text);
    let u = t
        .post(
            "/api/v1/users",
            &t.admin,
            json!({"email": "monitoring@provider.example", "role": "customer", "organisation": "provider"}),
        )
        .await;
    assert_eq!(u.status.as_u16(), 201, "{}", u.text);
    let settings: sladesk::app::alerts::AlertSettings = toml::from_str(&format!(
        "organisation = \"provider\"\nrequester = \"monitoring@provider.example\"\nqueue = \"platform\"\n{rules}"
    ))
    .unwrap();
    t.app.set_alert_settings(Some(settings));
}

pub(crate) fn notification(status: &str, fingerprint: &str, starts: &str, ends: &str) -> Value {
    json!({
        "receiver": "sladesk", "status": status, "version": "4",
        "groupKey": "{}:{alertname=\"ObjectStoreErrors\"}", "truncatedAlerts": 0,
        "groupLabels": {"alertname": "ObjectStoreErrors"}, "commonLabels": {}, "commonAnnotations": {},
        "externalURL": "http://alertmanager.example:9093",
        "alerts": [{
            "status": status,
            "labels": {"alertname": "ObjectStoreErrors", "service": "objstore-lon2", "severity": "critical"},
            "annotations": {"summary": "5xx above 5% on LON2 object storage"},
            "startsAt": starts, "endsAt": ends,
            "generatorURL": "http://prometheus.example:9090/graph", "fingerprint": fingerprint,
        }],
    })
}

async fn hook(t: &TestApp, token: Option<&str>, body: Value) -> crate::helpers::Answer {
    t.call(Method::POST, "/api/v1/alerts/alertmanager", token, Some(body))
        .await
}

async fn an_alert_opens_one_ticket_and_a_draft_outage_and_its_recovery_proposes_the_end(db: Db) {
    let t = spawn_app(db).await;
    set_up_alerts(
        &t,
        "[[rules]]\nlabels = { service = \"objstore-lon2\", severity = \"critical\" }\nservices = [\"objstore-lon2\"]\n\
         [[rules]]\nlabels = { service = \"objstore-lon2\", severity = \"page\" }\nservices = [\"objstore-lon2\"]\n\
         impact = \"partial_outage\"\nauto_open = true\nauto_resolve = true\n",
    )
    .await;
    let token = t.alerts_token().await;
    let starts = (sladesk::app::now() - chrono::Duration::minutes(5)).to_rfc3339();
    let firing = notification("firing", "9a1d2f0e3c4b5a69", &starts, "0001-01-01T00:00:00Z");

    // Only a token of scope alerts opens the door.
    assert_eq!(hook(&t, None, firing.clone()).await.status.as_u16(), 401);
    assert_eq!(hook(&t, Some(&t.admin), firing.clone()).await.status.as_u16(), 403);
    assert_eq!(
        t.get("/api/v1/tickets", &token).await.status.as_u16(),
        403,
        "and no other"
    );

    let first = hook(&t, Some(&token), firing.clone()).await;
    assert_eq!(first.status.as_u16(), 200, "{}", first.text);
    let reference = first.json["opened"][0].as_str().expect(&first.text).to_string();
    // Told again (a repeat, or a retry): the same ticket, never a second.
    let again = hook(&t, Some(&token), firing.clone()).await;
    assert_eq!(again.json["added_to"], json!([reference]));
    let list = t.get("/api/v1/tickets?organisation=provider", &t.agent).await;
    assert_eq!(
        list.json["items"].as_array().expect(&list.text).len(),
        1,
        "{}",
        list.text
    );
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert!(
        ticket.json["subject"].as_str().unwrap().contains("ObjectStoreErrors"),
        "{}",
        ticket.text
    );

    // The rule opened a draft outage: staff see it; customers, the status
    // page and availability do not, until it is confirmed.
    let outages = t.get("/api/v1/outages", &t.agent).await;
    let o = outages.json.as_array().unwrap()[0].clone();
    assert_eq!(o["draft"], true, "{o}");
    assert_eq!(o["services"][0]["slug"], "objstore-lon2");
    let id = o["id"].as_i64().unwrap();
    assert_eq!(t.get("/api/v1/outages", &t.carol).await.json, json!([]));
    let status = t.call(Method::GET, "/api/v1/status", None, None).await;
    assert_eq!(status.json["indicator"], "none", "{}", status.text);
    let early = t
        .post(&format!("/api/v1/outages/{id}/updates"), &t.agent, json!({"body": "x"}))
        .await;
    assert_eq!(
        early.status.as_u16(),
        409,
        "a draft is confirmed before customers are told"
    );
    assert_eq!(
        t.post(&format!("/api/v1/outages/{id}/confirm"), &t.carol, json!({}))
            .await
            .status
            .as_u16(),
        404
    );
    let confirmed = t
        .post(&format!("/api/v1/outages/{id}/confirm"), &t.agent, json!({}))
        .await;
    assert_eq!(confirmed.status.as_u16(), 200, "{}", confirmed.text);
    assert_eq!(confirmed.json["draft"], false);
    let status = t.call(Method::GET, "/api/v1/status", None, None).await;
    assert_eq!(
        status.json["components"][0]["status"], "major_outage",
        "{}",
        status.text
    );
    assert_eq!(
        t.get("/api/v1/outages", &t.carol).await.json.as_array().unwrap().len(),
        1
    );

    // Resolved: recorded once, the end proposed for staff.
    let ended = sladesk::app::now().to_rfc3339();
    let resolved = notification("resolved", "9a1d2f0e3c4b5a69", &starts, &ended);
    let r = hook(&t, Some(&token), resolved.clone()).await;
    assert_eq!(r.json["recovered"], json!([reference]), "{}", r.text);
    let r2 = hook(&t, Some(&token), resolved).await;
    assert_eq!(r2.json["unchanged"], 1, "told twice, recorded once");
    let o = t.get(&format!("/api/v1/outages/{id}"), &t.agent).await;
    assert!(
        o.json["proposed_end"].is_string() && o.json["end"].is_null(),
        "{}",
        o.text
    );
    let events = t.get(&format!("/api/v1/tickets/{reference}/events"), &t.agent).await;
    let recoveries = events
        .json
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["body"].as_str().is_some_and(|b| b.starts_with("The alert recovered")))
        .count();
    assert_eq!(recoveries, 1, "{}", events.text);

    // A rule that opens and ends by itself.
    let paging = {
        let mut p = notification("firing", "77e0c1d2b3a49586", &starts, "0001-01-01T00:00:00Z");
        p["alerts"][0]["labels"]["severity"] = json!("page");
        p
    };
    let opened = hook(&t, Some(&token), paging.clone()).await;
    assert_eq!(opened.json["opened"].as_array().unwrap().len(), 1, "{}", opened.text);
    let auto = t.get("/api/v1/outages", &t.carol).await;
    let auto = auto
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["id"] != id)
        .unwrap()
        .clone();
    assert_eq!(auto["status"], "investigating");
    let mut over = paging;
    over["status"] = json!("resolved");
    over["alerts"][0]["status"] = json!("resolved");
    over["alerts"][0]["endsAt"] = json!(sladesk::app::now().to_rfc3339());
    hook(&t, Some(&token), over).await;
    let auto = t.get(&format!("/api/v1/outages/{}", auto["id"]), &t.agent).await;
    assert_eq!(auto.json["status"], "resolved", "{}", auto.text);
    assert!(auto.json["end"].is_string());

    // Not a notification: 400; another version: 422.
    let bad = t
        .call(
            Method::POST,
            "/api/v1/alerts/alertmanager",
            Some(&token),
            Some(json!({"alerts": "no"})),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 400, "{}", bad.text);
    let mut v3 = notification("firing", "ab", &starts, "0001-01-01T00:00:00Z");
    v3["version"] = json!("3");
    assert_eq!(hook(&t, Some(&token), v3).await.status.as_u16(), 422);
}
