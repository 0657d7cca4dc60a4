//! An outage's public updates: staff post what customers are told, the
//! status moves along the outage's track, a final status ends it, and
//! every customer who may see the outage reads the same public words.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};
use crate::services::{define, subscribe};

crate::both_backends!(
    public_updates_move_an_outage_along_its_track_and_end_it,
    the_status_now_shows_each_viewer_their_services_incidents_and_maintenance,
    a_desk_may_keep_its_status_page_for_people_signed_in,
    the_history_bars_count_downtime_as_the_reports_do_to_the_thousandth,
    the_atom_and_icalendar_feeds_parse_and_keep_to_the_viewers_outages,
);

async fn public_updates_move_an_outage_along_its_track_and_end_it(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    assert_eq!(subscribe(&t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
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

async fn the_status_now_shows_each_viewer_their_services_incidents_and_maintenance(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    assert_eq!(subscribe(&t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
    assert_eq!(subscribe(&t, "globex", &["compute-lon1"]).await.status.as_u16(), 200);
    let public = |t: &crate::helpers::TestApp| {
        let client = t.client.clone();
        let url = format!("{}/api/v1/status", t.address);
        async move {
            client
                .get(url)
                .send()
                .await
                .unwrap()
                .json::<serde_json::Value>()
                .await
                .unwrap()
        }
    };
    let quiet = public(&t).await;
    assert_eq!(quiet["indicator"], "none");
    assert_eq!(quiet["description"], "All systems operational");
    assert_eq!(quiet["components"].as_array().unwrap().len(), 2);

    let now = sladesk::app::now();
    let incident = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": now - chrono::Duration::hours(1),
                "services": [{"service": "objstore-lon2", "impact": "partial_outage"}],
                "description": "Quorum lost (staff only)"}),
        )
        .await;
    let id = incident.json["id"].as_i64().unwrap();
    t.post(
        &format!("/api/v1/outages/{id}/updates"),
        &t.agent,
        json!({"status": "identified", "body": "A storage node failed; writes are slow."}),
    )
    .await;
    let works = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "planned_maintenance", "start": now + chrono::Duration::days(2),
                "end": now + chrono::Duration::days(2) + chrono::Duration::hours(2),
                "services": [{"service": "compute-lon1"}], "description": "Hypervisor patching"}),
        )
        .await;
    assert_eq!(works.status.as_u16(), 201, "{}", works.text);
    // Recorded for acme alone, on no service: acme's to read, not the world's.
    let private = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": now - chrono::Duration::minutes(30),
                "organisations": ["acme"], "description": "acme's VPN concentrator",
                "public_description": "Your VPN is down"}),
        )
        .await;
    assert_eq!(private.status.as_u16(), 201);

    let p = public(&t).await;
    assert_eq!(p["indicator"], "major", "{p}");
    let state = |v: &serde_json::Value, slug: &str| {
        v["components"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["slug"] == slug)
            .map(|c| c["status"].as_str().unwrap().to_string())
    };
    assert_eq!(state(&p, "objstore-lon2").as_deref(), Some("partial_outage"));
    assert_eq!(state(&p, "compute-lon1").as_deref(), Some("operational"));
    assert_eq!(p["incidents"].as_array().unwrap().len(), 1, "{p}");
    assert_eq!(p["incidents"][0]["name"], "Platform issue: Object storage – LON2");
    assert_eq!(p["incidents"][0]["status"], "identified");
    assert_eq!(p["incidents"][0]["impact"], "major");
    assert_eq!(p["maintenances"].as_array().unwrap().len(), 1);
    let text = p.to_string();
    for secret in ["acme", "globex", "Quorum", "VPN", "Hypervisor"] {
        assert!(!text.contains(secret), "the public page shows {secret}: {text}");
    }

    // Acme's contact: their service, their incidents (the private one too).
    let carol = t.get("/api/v1/status", &t.carol).await;
    assert_eq!(carol.json["components"].as_array().unwrap().len(), 1);
    assert_eq!(state(&carol.json, "objstore-lon2").as_deref(), Some("partial_outage"));
    assert_eq!(carol.json["incidents"].as_array().unwrap().len(), 2, "{}", carol.text);
    assert_eq!(carol.json["maintenances"], json!([]));
    // Globex's: only theirs; acme's trouble is not theirs to see.
    let gina = t.get("/api/v1/status", &t.gina).await;
    assert_eq!(gina.json["indicator"], "none", "{}", gina.text);
    assert_eq!(gina.json["incidents"], json!([]));
    assert_eq!(gina.json["maintenances"].as_array().unwrap().len(), 1);
    assert!(
        !gina.text.contains("acme") && !gina.text.contains("objstore"),
        "{}",
        gina.text
    );
    // A token sent must be good.
    let bad = t.call(Method::GET, "/api/v1/status", Some("not-a-token"), None).await;
    assert_eq!(bad.status.as_u16(), 401);

    // The Statuspage shape, for aggregators.
    let url = format!("{}/api/v2/summary.json", t.address);
    let sp: serde_json::Value = t.client.get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(sp["status"]["indicator"], "major");
    assert_eq!(sp["page"]["time_zone"], "Europe/London");
    let objstore = sp["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == "objstore-lon2")
        .unwrap()
        .clone();
    assert_eq!(objstore["status"], "partial_outage");
    let group = sp["components"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == objstore["group_id"])
        .unwrap()
        .clone();
    assert_eq!(group["group"], true);
    assert_eq!(group["name"], "Storage");
    assert_eq!(group["status"], "partial_outage");
    assert_eq!(sp["incidents"][0]["incident_updates"][0]["status"], "identified");
    assert_eq!(sp["incidents"][0]["impact"], "major");
    assert!(sp["scheduled_maintenances"][0]["scheduled_for"].is_string());

    // Resolved: the page is quiet again.
    t.post(
        &format!("/api/v1/outages/{id}/updates"),
        &t.agent,
        json!({"status": "resolved", "body": "Storage is back."}),
    )
    .await;
    let after = public(&t).await;
    assert_eq!(after["indicator"], "none", "{after}");
    assert_eq!(after["incidents"], json!([]));

    // The latest incidents, resolved too, for aggregators; the public never
    // sees the one recorded for acme alone, acme's contact does.
    let url = format!("{}/api/v2/incidents.json", t.address);
    let list: serde_json::Value = t.client.get(url).send().await.unwrap().json().await.unwrap();
    let incidents = list["incidents"].as_array().unwrap();
    assert_eq!(incidents.len(), 1, "{list}");
    assert_eq!(incidents[0]["status"], "resolved");
    assert!(incidents[0]["resolved_at"].is_string(), "{list}");
    assert_eq!(incidents[0]["incident_updates"][0]["body"], "Storage is back.");
    assert!(!list.to_string().contains("VPN"));
    let carols = t.get("/api/v2/incidents.json", &t.carol).await;
    assert_eq!(carols.json["incidents"].as_array().unwrap().len(), 2, "{}", carols.text);
    let ginas = t.get("/api/v2/incidents.json", &t.gina).await;
    assert_eq!(ginas.json["incidents"], json!([]), "{}", ginas.text);
}

async fn a_desk_may_keep_its_status_page_for_people_signed_in(db: Db) {
    let t = spawn_app(db).await;
    // As sladesk.toml says it.
    let file: sladesk::config::FileSettings =
        sladesk::config::read_toml("sladesk.toml", "status_page = \"signed_in\"\n").unwrap();
    sladesk::config::Exposure::from_file(&file).unwrap().apply_to(&t.app);
    for path in ["/api/v1/status", "/api/v2/summary.json", "/api/v2/incidents.json"] {
        let a = t.call(Method::GET, path, None, None).await;
        assert_eq!(a.status.as_u16(), 401, "{path}: {}", a.text);
        assert_eq!(a.content_type, "application/problem+json");
        let mine = t.call(Method::GET, path, Some(&t.carol), None).await;
        assert_eq!(mine.status.as_u16(), 200, "{path}: {}", mine.text);
    }
    // The page sends the signed-out to sign in.
    let page = t.client.get(format!("{}/status", t.address)).send().await.unwrap();
    assert_eq!(page.url().path(), "/sign-in");
    // And back to public.
    let open: sladesk::config::FileSettings = sladesk::config::read_toml("sladesk.toml", "").unwrap();
    sladesk::config::Exposure::from_file(&open).unwrap().apply_to(&t.app);
    assert_eq!(
        t.call(Method::GET, "/api/v1/status", None, None).await.status.as_u16(),
        200
    );
    let bad = sladesk::config::read_toml::<sladesk::config::FileSettings>("sladesk.toml", "status_page = \"open\"\n");
    assert!(format!("{:#}", bad.unwrap_err()).starts_with("sladesk.toml:1:"));
}

/// The status page's history and a customer's monthly report agree: the
/// customer's months on the page are their report's availability to the
/// thousandth of a percent (exactly, in seconds), and each service's days
/// add up to the downtime recorded on it.
async fn the_history_bars_count_downtime_as_the_reports_do_to_the_thousandth(db: Db) {
    use sladesk::domain::availability::Month;
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
    assert_eq!(subscribe(&t, "globex", &["compute-lon1"]).await.status.as_u16(), 200);
    let now = sladesk::app::now();
    let last = Month::containing(now).previous();
    let before = last.previous();
    let at = |m: Month, day: i64, secs: i64| m.start() + chrono::Duration::days(day) + chrono::Duration::seconds(secs);
    let outage = |body: serde_json::Value| {
        let t = &t;
        async move {
            let r = t.post("/api/v1/outages", &t.manager, body).await;
            assert_eq!(r.status.as_u16(), 201, "{}", r.text);
            r.json["id"].as_i64().unwrap()
        }
    };
    // Last month: a platform issue on object storage of 3 h 17 min 23 s,
    // and planned maintenance on compute told 2 days ahead (less than the
    // 5 days the tiers ask for: it counts), overlapping it by 10 minutes.
    outage(
        json!({"kind": "platform_issue", "start": at(last, 3, 36_000), "end": at(last, 3, 36_000 + 11_843),
        "services": [{"service": "objstore-lon2", "impact": "major_outage"}], "description": "Quorum lost"}),
    )
    .await;
    outage(
        json!({"kind": "planned_maintenance", "start": at(last, 3, 36_000 + 11_243),
        "end": at(last, 3, 36_000 + 11_243 + 1800), "notified_at": at(last, 1, 0),
        "services": [{"service": "compute-lon1"}], "description": "Hypervisor patching"}),
    )
    .await;
    // Maintenance told a week ahead: left out of both.
    outage(
        json!({"kind": "planned_maintenance", "start": at(last, 12, 3600), "end": at(last, 12, 7200),
        "notified_at": at(before, 0, 0), "services": [{"service": "compute-lon1"}], "description": "Firmware"}),
    )
    .await;
    // The month before: the whole platform, on no service, 47 minutes;
    // and one for globex alone, which is not acme's.
    outage(
        json!({"kind": "emergency_maintenance", "start": at(before, 8, 0), "end": at(before, 8, 2820),
        "organisations": "all", "description": "Core switch"}),
    )
    .await;
    outage(
        json!({"kind": "platform_issue", "start": at(before, 9, 0), "end": at(before, 9, 5000),
        "organisations": ["globex"], "description": "Globex's VPN"}),
    )
    .await;

    let h = t.get("/api/v1/status/history", &t.carol).await;
    assert_eq!(h.status.as_u16(), 200, "{}", h.text);
    let months = h.json["availability"].as_array().unwrap();
    assert_eq!(months.len(), 4, "this month so far and the three before");
    assert_eq!(months[0]["complete"], false);
    for m in months.iter().filter(|m| m["complete"] == true) {
        let month = m["month"].as_str().unwrap();
        let report = t
            .get(&format!("/api/v1/reports/monthly?org=acme&month={month}"), &t.carol)
            .await;
        assert_eq!(report.status.as_u16(), 200, "{}", report.text);
        let a = &report.json["availability"];
        assert_eq!(m["downtime_seconds"], a["downtime_seconds"], "{month}");
        assert_eq!(m["seconds_in_month"], a["seconds_in_month"], "{month}");
        let desk = t
            .get(&format!("/api/v1/reports/monthly?month={month}"), &t.manager)
            .await;
        let acme = desk.json["organisations"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["organisation"] == "acme")
            .unwrap()
            .clone();
        assert_eq!(
            m["percent"], acme["availability_percent"],
            "{month}: to the thousandth of a percent"
        );
    }
    let by_month = |m: Month| months.iter().find(|x| x["month"] == m.to_string()).unwrap().clone();
    assert_eq!(by_month(last)["downtime_seconds"], 11_843 + 1800 - 600);
    assert_eq!(by_month(before)["downtime_seconds"], 2820);
    let expected = (last.seconds() - (11_843 + 1800 - 600)) * 100_000 / last.seconds();
    assert_eq!(by_month(last)["millipercent"], expected);

    // Each service's bars: acme sees both, gina (globex) compute alone.
    let services = h.json["services"].as_array().unwrap();
    assert_eq!(services.len(), 2);
    let obj = services.iter().find(|s| s["slug"] == "objstore-lon2").unwrap();
    assert_eq!(obj["days"].as_array().unwrap().len(), 90);
    let bad: Vec<&serde_json::Value> = obj["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|d| d["worst"] != "operational")
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert_eq!(bad[0]["worst"], "major_outage");
    assert_eq!(bad[0]["downtime_seconds"], 11_843);
    assert_eq!(obj["downtime_seconds"], 11_843);
    let window: i64 = obj["days"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["seconds"].as_i64().unwrap())
        .sum();
    assert_eq!(obj["uptime_millipercent"], (window - 11_843) * 100_000 / window);
    let compute = services.iter().find(|s| s["slug"] == "compute-lon1").unwrap();
    assert_eq!(
        compute["downtime_seconds"], 1800,
        "the late-told maintenance counts; the other does not"
    );
    let worst: Vec<&str> = compute["days"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["worst"].as_str())
        .filter(|w| *w != "operational")
        .collect();
    assert_eq!(worst, ["under_maintenance", "under_maintenance"]);
    let gina = t.get("/api/v1/status/history?days=30", &t.gina).await;
    assert_eq!(gina.json["services"].as_array().unwrap().len(), 1);
    assert_eq!(gina.json["services"][0]["days"].as_array().unwrap().len(), 30);
    assert!(!gina.text.contains("objstore"), "another organisation's service");

    // The public: every service, no organisation's months; bad days, 422.
    let public = t
        .client
        .get(format!("{}/api/v1/status/history", t.address))
        .send()
        .await
        .unwrap();
    let public: serde_json::Value = public.json().await.unwrap();
    assert_eq!(public["services"].as_array().unwrap().len(), 2);
    assert_eq!(public["availability"], json!([]));
    for bad in ["0", "91", "x"] {
        let r = t
            .client
            .get(format!("{}/api/v1/status/history?days={bad}", t.address))
            .send()
            .await
            .unwrap();
        assert!(matches!(r.status().as_u16(), 400 | 422), "days={bad}: {}", r.status());
        assert_eq!(r.headers()["content-type"], "application/problem+json");
    }
}

async fn fetch_text(t: &crate::helpers::TestApp, path: &str, token: Option<&str>) -> (u16, String, String) {
    let mut r = t.client.get(format!("{}{path}", t.address));
    if let Some(tok) = token {
        r = r.bearer_auth(tok);
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let kind = r.headers()["content-type"].to_str().unwrap().to_string();
    (status, kind, r.text().await.unwrap())
}

/// The feeds parse with real parsers (`feed-rs` for Atom, `ical` for
/// iCalendar), hold each public update once with stable ids, and keep to
/// what the viewer may see: the public never an outage recorded for named
/// customers alone, a customer their own.
async fn the_atom_and_icalendar_feeds_parse_and_keep_to_the_viewers_outages(db: Db) {
    use std::io::BufReader;
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    assert_eq!(subscribe(&t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
    let now = sladesk::app::now();
    let incident = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": now - chrono::Duration::hours(2),
                "services": [{"service": "objstore-lon2", "impact": "partial_outage"}],
                "description": "Quorum lost (staff only)"}),
        )
        .await;
    let id = incident.json["id"].as_i64().unwrap();
    for (status, body) in [
        ("identified", "A storage node failed."),
        ("monitoring", "Writes are back to normal & <fast>."),
    ] {
        let r = t
            .post(
                &format!("/api/v1/outages/{id}/updates"),
                &t.agent,
                json!({"status": status, "body": body}),
            )
            .await;
        assert_eq!(r.status.as_u16(), 201, "{}", r.text);
    }
    let start = (now + chrono::Duration::days(3)).with_timezone(&chrono::Utc);
    let works = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "planned_maintenance", "start": start, "end": start + chrono::Duration::hours(2),
                "notified_at": now, "services": [{"service": "objstore-lon2"}], "description": "Firmware (staff)",
                "public_description": "Firmware upgrade on the storage nodes"}),
        )
        .await;
    let works_id = works.json["id"].as_i64().unwrap();
    t.post(
        &format!("/api/v1/outages/{works_id}/updates"),
        &t.agent,
        json!({"status": "scheduled", "body": "Writes pause for up to 10 minutes."}),
    )
    .await;
    // Acme's alone: no service, named customer.
    t.post(
        "/api/v1/outages",
        &t.manager,
        json!({"kind": "emergency_maintenance", "start": now + chrono::Duration::days(1),
            "end": now + chrono::Duration::days(1) + chrono::Duration::hours(1),
            "organisations": ["acme"], "description": "acme's firewall", "public_description": "Your firewall pair is replaced"}),
    )
    .await;

    // Atom, read by feed-rs.
    let (status, kind, text) = fetch_text(&t, "/api/v1/status/feed.atom", None).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("application/atom+xml"), "{kind}");
    let feed = feed_rs::parser::parse(text.as_bytes()).expect("an Atom feed feed-rs reads");
    assert_eq!(feed.feed_type, feed_rs::model::FeedType::Atom);
    assert_eq!(feed.title.as_ref().unwrap().content, "Service status");
    let titles: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.title.as_ref().unwrap().content.clone())
        .collect();
    assert_eq!(feed.entries.len(), 3, "{titles:?}");
    assert_eq!(
        titles[0], "Planned maintenance: Object storage – LON2 — Scheduled",
        "newest first: {titles:?}"
    );
    assert_eq!(titles[1], "Platform issue: Object storage – LON2 — Monitoring");
    let bodies: Vec<String> = feed
        .entries
        .iter()
        .map(|e| e.content.as_ref().unwrap().body.clone().unwrap())
        .collect();
    assert_eq!(
        bodies[1], "Writes are back to normal & <fast>.",
        "escaped and read back whole"
    );
    let ids: std::collections::HashSet<&str> = feed.entries.iter().map(|e| e.id.as_str()).collect();
    assert_eq!(ids.len(), 3, "ids are unique");
    assert!(
        !text.contains("staff") && !text.contains("acme") && !text.contains("firewall"),
        "{text}"
    );
    // The same feed again: the same ids (a reader does not see them twice).
    let (_, _, again) = fetch_text(&t, "/api/v1/status/feed.atom", None).await;
    let again = feed_rs::parser::parse(again.as_bytes()).unwrap();
    assert_eq!(
        again.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
        feed.entries.iter().map(|e| e.id.clone()).collect::<Vec<_>>()
    );
    // Carol (acme) has acme's own outage too; Gina (globex) does not.
    let (_, _, carol) = fetch_text(&t, "/api/v1/status/feed.atom", Some(&t.carol)).await;
    let carol = feed_rs::parser::parse(carol.as_bytes()).unwrap();
    assert_eq!(carol.entries.len(), 4);
    assert!(
        carol
            .entries
            .iter()
            .any(|e| e.content.as_ref().unwrap().body.as_deref() == Some("Your firewall pair is replaced"))
    );
    let (_, _, gina) = fetch_text(&t, "/api/v1/status/feed.atom", Some(&t.gina)).await;
    assert!(!gina.contains("firewall"));

    // iCalendar, read by ical.
    let (status, kind, text) = fetch_text(&t, "/api/v1/status/maintenance.ics", None).await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/calendar"), "{kind}");
    assert!(text.contains("\r\n"), "CRLF line ends");
    let cals: Vec<ical::parser::ical::component::IcalCalendar> = ical::IcalParser::new(BufReader::new(text.as_bytes()))
        .collect::<Result<_, _>>()
        .expect("an iCalendar feed ical reads");
    assert_eq!(cals.len(), 1);
    let events = &cals[0].events;
    assert_eq!(events.len(), 1, "the public: the planned works, not acme's own");
    let prop = |name: &str| {
        events[0]
            .properties
            .iter()
            .find(|p| p.name == name)
            .and_then(|p| p.value.clone())
            .unwrap_or_default()
    };
    assert_eq!(prop("DTSTART"), start.format("%Y%m%dT%H%M%SZ").to_string());
    assert_eq!(
        prop("DTEND"),
        (start + chrono::Duration::hours(2))
            .format("%Y%m%dT%H%M%SZ")
            .to_string()
    );
    assert_eq!(prop("SUMMARY"), "Planned maintenance: Object storage – LON2");
    assert!(
        prop("DESCRIPTION").starts_with("Firmware upgrade on the storage nodes"),
        "{}",
        prop("DESCRIPTION")
    );
    assert_eq!(prop("SEQUENCE"), "1");
    assert!(prop("UID").starts_with(&format!("outage-{works_id}@")));
    let (_, _, carol) = fetch_text(&t, "/api/v1/status/maintenance.ics", Some(&t.carol)).await;
    let carol: Vec<ical::parser::ical::component::IcalCalendar> =
        ical::IcalParser::new(BufReader::new(carol.as_bytes()))
            .collect::<Result<_, _>>()
            .unwrap();
    assert_eq!(carol[0].events.len(), 2, "and acme's own emergency works");

    // A bad token is refused, as on the other status data.
    let (status, kind, _) = fetch_text(&t, "/api/v1/status/feed.atom", Some("not-a-token")).await;
    assert_eq!((status, kind.as_str()), (401, "application/problem+json"));
}
