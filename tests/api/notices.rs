//! The notifications service: double opt-in for an address typed on the
//! public form, at once for a signed-in contact's own; each public update
//! queued once for each subscriber it concerns, and no other; one-click
//! unsubscribe (RFC 8058) with the headers in the mail; maintenance
//! announced with a warning naming who will count it.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};
use crate::services::{define, subscribe};

crate::both_backends!(
    subscribers_confirm_then_get_each_update_they_chose_once_and_leave_in_one_click,
    maintenance_is_announced_and_short_notice_names_who_will_count_it,
    the_scheduler_reminds_a_day_ahead_and_tells_of_the_start_and_end_once,
);

fn updates_to(t: &TestApp, to: &str) -> usize {
    t.outbox()
        .iter()
        .filter(|(k, a, _)| k == "status_update" && a == to)
        .count()
}

async fn public_post(t: &TestApp, path: &str, body: Value) -> (u16, Value) {
    let r = t
        .client
        .post(format!("{}{path}", t.address))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

async fn outage(t: &TestApp, body: Value) -> Value {
    let r = t.post("/api/v1/outages", &t.manager, body).await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    r.json
}

async fn update(t: &TestApp, id: &Value, status: &str, body: &str) {
    let r = t
        .post(
            &format!("/api/v1/outages/{id}/updates"),
            &t.agent,
            json!({"status": status, "body": body}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 201, "{}", r.text);
}

async fn subscribers_confirm_then_get_each_update_they_chose_once_and_leave_in_one_click(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    assert_eq!(
        subscribe(&t, "acme", &["objstore-lon2", "compute-lon1"])
            .await
            .status
            .as_u16(),
        200
    );
    let pat = "pat@example.org";

    // The public form: a link to confirm, and nothing else until it is followed.
    let (status, body) = public_post(
        &t,
        "/api/v1/status/subscriptions",
        json!({"email": pat, "services": ["objstore-lon2"]}),
    )
    .await;
    assert_eq!(status, 202, "{body}");
    let (status, same) = public_post(
        &t,
        "/api/v1/status/subscriptions",
        json!({"email": "nobody-yet@example.org"}),
    )
    .await;
    assert_eq!((status, &same), (202, &body), "the same answer for any address");
    let confirm: Vec<Value> = t
        .outbox()
        .into_iter()
        .filter(|(k, to, _)| k == "status_confirm" && to == pat)
        .map(|r| r.2)
        .collect();
    assert_eq!(confirm.len(), 1);
    let manage = confirm[0]["manage_url"].as_str().unwrap().to_string();
    let token = manage.rsplit('/').next().unwrap().to_string();
    let o = outage(
        &t,
        json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(20),
        "services": [{"service": "objstore-lon2", "impact": "partial_outage"}], "description": "staff words",
        "public_description": "Writes to object storage are failing"}),
    )
    .await;
    assert_eq!(updates_to(&t, pat), 0, "not confirmed yet");
    let view = t.get(&format!("/api/v1/status/subscriptions/{token}"), &t.carol).await;
    assert_eq!(view.json["confirmed"], false);
    let (status, v) = public_post(&t, &format!("/api/v1/status/subscriptions/{token}/confirm"), json!({})).await;
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["confirmed"], true);
    assert_eq!(v["services"], json!(["objstore-lon2"]));
    // Asking again from the form changes nothing of a confirmed choice: its
    // owner is sent the link to change it (at most three an hour).
    for _ in 0..4 {
        public_post(&t, "/api/v1/status/subscriptions", json!({"email": pat})).await;
    }
    let again = t.get(&format!("/api/v1/status/subscriptions/{token}"), &t.carol).await;
    assert_eq!(again.json["services"], json!(["objstore-lon2"]));
    let mails: usize = t
        .outbox()
        .iter()
        .filter(|(k, to, _)| k == "status_confirm" && to == pat)
        .count();
    assert_eq!(mails, 3, "the first and two more within the hour");

    // Carol subscribes her own address, signed in: at once, every service.
    let r = t
        .post(
            "/api/v1/status/subscriptions",
            &t.carol,
            json!({"email": "carol@acme.example"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    // Gina (globex) too.
    t.post(
        "/api/v1/status/subscriptions",
        &t.gina,
        json!({"email": "gina@globex.example"}),
    )
    .await;

    // An update on object storage: once to each who chose it or everything.
    update(&t, &o["id"], "identified", "A storage node failed.").await;
    assert_eq!(updates_to(&t, pat), 1);
    assert_eq!(updates_to(&t, "carol@acme.example"), 1);
    assert_eq!(
        updates_to(&t, "gina@globex.example"),
        1,
        "public news of a public service"
    );
    let mail = t
        .outbox()
        .into_iter()
        .rfind(|(k, to, _)| k == "status_update" && to == pat)
        .unwrap()
        .2;
    assert_eq!(mail["headline"], "Identified");
    assert_eq!(mail["body"], "A storage node failed.");
    assert!(
        mail["unsubscribe_url"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/status/subscriptions/{token}/unsubscribe"))
    );
    // One on compute: not Pat's choice.
    let c = outage(
        &t,
        json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(5),
        "services": [{"service": "compute-lon1"}], "description": "hv"}),
    )
    .await;
    update(&t, &c["id"], "identified", "A hypervisor rebooted.").await;
    assert_eq!(updates_to(&t, pat), 1);
    assert_eq!(
        updates_to(&t, "carol@acme.example"),
        3,
        "the compute incident's start and its update"
    );
    // One recorded for globex alone: globex's own contacts only.
    let g = outage(
        &t,
        json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(5),
        "organisations": ["globex"], "description": "globex VPN", "public_description": "Your VPN is down"}),
    )
    .await;
    update(&t, &g["id"], "identified", "The VPN concentrator failed.").await;
    assert_eq!(updates_to(&t, pat), 1);
    assert_eq!(
        updates_to(&t, "carol@acme.example"),
        3,
        "never another organisation's outage"
    );
    assert_eq!(updates_to(&t, "gina@globex.example"), 5, "its start and its update too");

    // The mail carries RFC 8058's headers, and its link works in one click.
    let app = t.app.clone();
    let dir = std::env::temp_dir().join(format!(
        "sladesk-status-{}-{}",
        std::process::id(),
        t.address.rsplit(':').next().unwrap()
    ));
    let out = dir.clone();
    let files = tokio::task::spawn_blocking(move || {
        let (templates, from) = crate::helpers::shipped_mail();
        let outbound = sladesk::mail::Outbound::Folder(out.clone());
        sladesk::mail::deliver_outbox(&app, &outbound, &templates, &from, sladesk::app::now(), 100).unwrap();
        std::fs::read_dir(&out)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let to_pat: Vec<mail_parser::Message> = files
        .iter()
        .map(|f| mail_parser::MessageParser::default().parse(f).unwrap())
        .filter(|m| m.to().and_then(|a| a.first()).and_then(|a| a.address()) == Some(pat))
        .filter(|m| m.subject().is_some_and(|s| s.starts_with("[Status]")))
        .collect();
    assert_eq!(to_pat.len(), 1);
    let m = &to_pat[0];
    assert_eq!(
        m.subject(),
        Some("[Status] Platform issue: Object storage – LON2: Identified")
    );
    let unsub = m.header_raw("List-Unsubscribe").unwrap().trim();
    assert!(
        unsub.starts_with('<') && unsub.ends_with(&format!("/status/subscriptions/{token}/unsubscribe>")),
        "{unsub}"
    );
    assert_eq!(
        m.header_raw("List-Unsubscribe-Post").map(str::trim),
        Some("List-Unsubscribe=One-Click")
    );
    assert_eq!(m.header_raw("Auto-Submitted").map(str::trim), Some("auto-generated"));
    // What a mail client does: POST the link, form-encoded, no cookie.
    let r = t
        .client
        .post(format!("{}/status/subscriptions/{token}/unsubscribe", t.address))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.text().await.unwrap().contains("Unsubscribed"));
    let gone = t
        .call(
            Method::GET,
            &format!("/api/v1/status/subscriptions/{token}"),
            None,
            None,
        )
        .await;
    assert_eq!(gone.status.as_u16(), 404);
    update(&t, &o["id"], "monitoring", "Writes are back.").await;
    assert_eq!(updates_to(&t, pat), 1, "no more after leaving");
    assert_eq!(updates_to(&t, "carol@acme.example"), 4);

    // Refused, naming the field.
    for (b, field) in [
        (json!({"email": "not an address"}), "email"),
        (json!({"email": "x@example.org", "services": ["no-such"]}), "services"),
    ] {
        let (status, p) = public_post(&t, "/api/v1/status/subscriptions", b).await;
        assert_eq!(status, 422, "{p}");
        assert!(p.to_string().contains(field), "{p}");
    }
}

async fn maintenance_is_announced_and_short_notice_names_who_will_count_it(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    assert_eq!(subscribe(&t, "acme", &["compute-lon1"]).await.status.as_u16(), 200);
    assert_eq!(subscribe(&t, "globex", &["compute-lon1"]).await.status.as_u16(), 200);
    t.post(
        "/api/v1/status/subscriptions",
        &t.carol,
        json!({"email": "carol@acme.example"}),
    )
    .await;
    let now = sladesk::app::now();
    let start = now + chrono::Duration::days(2);
    let works = outage(
        &t,
        json!({"kind": "planned_maintenance", "start": start, "end": start + chrono::Duration::hours(2),
        "notified_at": now, "services": [{"service": "compute-lon1"}], "description": "patching",
        "public_description": "Hypervisor patching"}),
    )
    .await;
    let warnings = works["warnings"].as_array().expect("warned");
    assert_eq!(warnings.len(), 1, "{works}");
    let w = warnings[0].as_str().unwrap();
    assert!(
        w.contains("2 days") && w.contains("acme (silver: 5 days)") && w.contains("globex (platinum: 5 days)"),
        "{w}"
    );
    let announced: Vec<Value> = t
        .outbox()
        .into_iter()
        .filter(|(k, _, _)| k == "status_update")
        .map(|r| r.2)
        .collect();
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0]["headline"], "Scheduled");
    assert_eq!(announced[0]["body"], "Hypervisor patching");
    assert_eq!(announced[0]["maintenance"], true);
    // Told a week ahead: no warning. A record of the past: nobody mailed.
    let early = outage(
        &t,
        json!({"kind": "planned_maintenance", "start": now + chrono::Duration::days(9),
        "notified_at": now, "services": [{"service": "compute-lon1"}], "description": "firmware"}),
    )
    .await;
    assert!(early.get("warnings").is_none(), "{early}");
    outage(&t, json!({"kind": "platform_issue", "start": now - chrono::Duration::days(3), "end": now - chrono::Duration::days(3) + chrono::Duration::hours(1),
        "services": [{"service": "compute-lon1"}], "description": "past"}))
    .await;
    assert_eq!(
        updates_to(&t, "carol@acme.example"),
        2,
        "the two announcements, not the record of the past"
    );
}

async fn the_scheduler_reminds_a_day_ahead_and_tells_of_the_start_and_end_once(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    t.post(
        "/api/v1/status/subscriptions",
        &t.carol,
        json!({"email": "carol@acme.example"}),
    )
    .await;
    let now = sladesk::app::now();
    let start = now + chrono::Duration::days(3);
    let end = start + chrono::Duration::hours(2);
    let works = outage(&t, json!({"kind": "planned_maintenance", "start": start, "end": end, "notified_at": now,
        "services": [{"service": "compute-lon1"}], "description": "patching", "public_description": "Hypervisor patching"}))
    .await;
    let id = works["id"].as_i64().unwrap();
    // The scheduler's job at chosen instants: two servers at once each time
    // (threads on one store), and again after; each notice goes once.
    let run = |at: chrono::DateTime<chrono::Utc>| {
        let (a, b) = (t.app.clone(), t.app.clone());
        async move {
            let one = tokio::task::spawn_blocking(move || a.maintenance_notices(at).unwrap());
            let two = tokio::task::spawn_blocking(move || b.maintenance_notices(at).unwrap());
            let (one, two) = (one.await.unwrap(), two.await.unwrap());
            (
                one.reminders + two.reminders,
                one.started + two.started,
                one.completed + two.completed,
            )
        }
    };
    assert_eq!(run(now).await, (0, 0, 0));
    assert_eq!(run(start - chrono::Duration::hours(12)).await, (1, 0, 0), "a day to go");
    assert_eq!(run(start - chrono::Duration::hours(11)).await, (0, 0, 0), "once");
    assert_eq!(run(start + chrono::Duration::minutes(1)).await, (0, 1, 0), "begun");
    let v = t.get(&format!("/api/v1/outages/{id}"), &t.agent).await;
    assert_eq!(v.json["status"], "in_progress");
    assert_eq!(run(end + chrono::Duration::minutes(1)).await, (0, 0, 1), "over");
    assert_eq!(run(end + chrono::Duration::minutes(2)).await, (0, 0, 0));
    let v = t.get(&format!("/api/v1/outages/{id}"), &t.agent).await;
    assert_eq!(v.json["status"], "completed");
    let headlines: Vec<String> = t
        .outbox()
        .into_iter()
        .filter(|(k, to, _)| k == "status_update" && to == "carol@acme.example")
        .map(|r| r.2["headline"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        headlines,
        [
            "Scheduled",
            "Reminder: it begins within 24 hours",
            "In progress",
            "Completed"
        ]
    );
    // Staff who moved it on first are not repeated: begun by hand, no
    // automatic "in progress".
    let s2 = now + chrono::Duration::days(4);
    let w2 = outage(
        &t,
        json!({"kind": "emergency_maintenance", "start": s2, "end": s2 + chrono::Duration::hours(1),
        "services": [{"service": "compute-lon1"}], "description": "disk"}),
    )
    .await;
    update(&t, &w2["id"], "in_progress", "We have started early.").await;
    assert_eq!(run(s2 + chrono::Duration::minutes(1)).await.1, 0);
}
