//! One platform incident followed through the whole chain in a real
//! browser: a monitoring alert (the webhook payload Alertmanager sends)
//! opens a draft outage and an incident ticket; an agent confirms it,
//! links two customers' tickets from the queue and posts an update; the
//! public status page shows it; a subscriber is mailed; each customer sees
//! their own ticket and the update, never the other's; the alert recovers,
//! the agent ends the outage and resolves both tickets with one note; and
//! that month's reports show the outage in availability and credits.

use serde_json::json;

use crate::browser::{Browser, people};
use crate::helpers::{Db, spawn_app};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_platform_incident_from_alert_to_status_page_mails_linked_tickets_and_the_months_reports() {
    let t = spawn_app(Db::Sqlite).await;
    people(&t).await;
    // The service, who takes it, the desk's own organisation for alerts.
    t.post(
        "/api/v1/services",
        &t.admin,
        json!({"slug": "objstore-lon2", "name": "Object storage – LON2", "group": "Storage"}),
    )
    .await;
    for org in ["acme", "globex"] {
        let r = t
            .call(
                reqwest::Method::PUT,
                &format!("/api/v1/organisations/{org}/services"),
                Some(&t.admin),
                Some(json!({"services": ["objstore-lon2"]})),
            )
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    }
    t.post(
        "/api/v1/organisations",
        &t.admin,
        json!({"slug": "provider", "name": "The provider", "tier": "platinum", "region": "england-and-wales"}),
    )
    .await;
    t.post(
        "/api/v1/users",
        &t.admin,
        json!({"email": "monitoring@provider.example", "role": "customer", "organisation": "provider"}),
    )
    .await;
    t.app.set_alert_settings(Some(
        toml::from_str(
            "organisation = \"provider\"\nrequester = \"monitoring@provider.example\"\nqueue = \"platform\"\n\
             [[rules]]\nlabels = { service = \"objstore-lon2\" }\nservices = [\"objstore-lon2\"]\n",
        )
        .unwrap(),
    ));
    // A subscriber to the status page, confirmed.
    t.call(
        reqwest::Method::POST,
        "/api/v1/status/subscriptions",
        None,
        Some(json!({"email": "pat@example.org"})),
    )
    .await;
    let manage = t.outbox().into_iter().find(|r| r.0 == "status_confirm").unwrap().2["manage_url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = manage.rsplit('/').next().unwrap().to_string();
    t.call(
        reqwest::Method::POST,
        &format!("/api/v1/status/subscriptions/{token}/confirm"),
        None,
        Some(json!({})),
    )
    .await;
    // Two customers' tickets about it.
    let acme = t.raise(&t.carol, "Uploads to our bucket fail", 2).await;
    let globex = t.raise(&t.gina, "Globex backups failing", 2).await;

    // The alert, as Alertmanager sends it.
    let alerts = t.alerts_token().await;
    let starts = sladesk::app::now() - chrono::Duration::minutes(20);
    let payload = |status: &str, ends: Option<chrono::DateTime<chrono::Utc>>| {
        json!({"receiver": "sladesk", "status": status, "version": "4", "groupKey": "{}:{alertname=\"ObjectStoreErrors\"}",
            "groupLabels": {}, "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093", "truncatedAlerts": 0,
            "alerts": [{"status": status, "labels": {"alertname": "ObjectStoreErrors", "service": "objstore-lon2"},
                "annotations": {"summary": "5xx above 5% on LON2 object storage"}, "startsAt": starts.to_rfc3339(),
                "endsAt": ends.map_or("0001-01-01T00:00:00Z".to_string(), |e| e.to_rfc3339()),
                "generatorURL": "http://prometheus:9090/graph", "fingerprint": "9a1d2f0e3c4b5a69"}]})
    };
    let fired = t
        .post("/api/v1/alerts/alertmanager", &alerts, payload("firing", None))
        .await;
    assert_eq!(fired.status.as_u16(), 200, "{}", fired.text);
    let outage = t.get("/api/v1/outages", &t.agent).await.json[0].clone();
    assert_eq!(outage["draft"], true);
    let id = outage["id"].as_i64().unwrap();

    // The agent confirms it, links both tickets from the queue, and posts an update.
    let b = Browser::start(&t.address).await;
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/outages/{id}")).await;
    b.check_page("outage-draft").await;
    b.submit(&format!("form[action='/outages/{id}/confirm'] button")).await;
    b.goto("/queue?status=any").await;
    b.click(&format!("input[name=ticket][value='{acme}']")).await;
    b.click(&format!("input[name=ticket][value='{globex}']")).await;
    b.submit("#bulk-link button[formaction='/queue/link']").await;
    assert!(
        b.path().await.starts_with(&format!("/outages/{id}")),
        "{}",
        b.path().await
    );
    let page = b.body().await;
    assert!(page.contains(&acme) && page.contains(&globex), "{page}");
    b.fill("#u-body", "A storage node failed; we are replacing it.").await;
    b.set_value("#u-status", "identified").await;
    b.submit("form[action$='/updates'] button").await;
    assert!(
        b.path().await.ends_with("?done=update"),
        "{}: {}",
        b.path().await,
        b.body().await
    );
    b.check_page("outage-incident").await;
    b.sign_out().await;

    // The public status page says so.
    b.goto("/status").await;
    let status = b.body().await;
    assert!(
        status.contains("Major system outage") && status.contains("A storage node failed"),
        "{status}"
    );
    b.check_page("status-incident").await;
    // The subscriber was told, once per update, with the way out.
    let to_pat: Vec<serde_json::Value> = t
        .outbox()
        .into_iter()
        .filter(|r| r.0 == "status_update" && r.1 == "pat@example.org")
        .map(|r| r.2)
        .collect();
    assert_eq!(
        to_pat.len(),
        2,
        "the confirmation that it is under investigation, and the update: {to_pat:?}"
    );
    assert!(to_pat[1]["unsubscribe_url"].is_string());

    // Each customer: their own ticket, with the update; never the other's.
    b.sign_in("wendy@globex.example", None).await;
    b.goto(&format!("/tickets/{globex}")).await;
    let mine = b.body().await;
    assert!(mine.contains("A storage node failed; we are replacing it."), "{mine}");
    assert!(!mine.contains(&acme) && !mine.contains("Acme"), "{mine}");
    b.goto(&format!("/tickets/{acme}")).await;
    assert!(
        !b.body().await.contains("Uploads to our bucket"),
        "another organisation's ticket"
    );
    b.goto("/tickets").await;
    b.sign_out().await;

    // The alert recovers; the agent ends the outage then and resolves both.
    let ended = sladesk::app::now();
    let r = t
        .post("/api/v1/alerts/alertmanager", &alerts, payload("resolved", Some(ended)))
        .await;
    assert_eq!(r.json["recovered"].as_array().unwrap().len(), 1, "{}", r.text);
    b.sign_in("walter@desk.example", None).await;
    b.goto(&format!("/outages/{id}")).await;
    b.submit(&format!("form[action='/outages/{id}/end-proposed'] button"))
        .await;
    b.fill("#r-note", "Storage is healthy again; uploads and backups work.")
        .await;
    b.submit(&format!("form[action='/outages/{id}/tickets/resolve'] button"))
        .await;
    assert!(b.body().await.contains("resolved with your note"));
    b.close().await;
    for (reference, token) in [(&acme, &t.carol), (&globex, &t.gina)] {
        let v = t.get(&format!("/api/v1/tickets/{reference}"), token).await;
        assert_eq!(v.json["status"], "resolved", "{reference}");
    }

    // The month's reports: the outage in availability and credits, with
    // its linked tickets.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let month = sladesk::domain::availability::Month::containing(sladesk::app::now()).to_string();
    for org in ["acme", "globex"] {
        let r = t
            .get(&format!("/api/v1/reports/monthly?org={org}&month={month}"), &t.manager)
            .await;
        assert_eq!(r.status.as_u16(), 200, "{}", r.text);
        let outages = r.json["availability"]["outages"].as_array().unwrap();
        assert!(
            outages.iter().any(|o| o["id"] == id && o["counted"] == true),
            "{org}: {}",
            r.text
        );
        assert!(
            r.json["availability"]["downtime_seconds"].as_i64().unwrap() >= 20 * 60,
            "{org}"
        );
        assert!(r.json["credits"].is_object(), "{org}: {}", r.text);
        assert_eq!(r.json["major_incidents"][0]["outage"], id, "{org}");
    }
}
