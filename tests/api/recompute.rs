//! A policy edited under running tickets changes nothing until an admin
//! recomputes on purpose; a dry run shows old and new due instants.

use std::path::PathBuf;

use serde_json::json;
use sladesk::app::Principal;
use sladesk::config::Settings;
use sladesk::server::build_app;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    an_edited_policy_applies_to_running_tickets_only_when_recomputed,
    new_holiday_data_applies_to_running_tickets_only_when_recomputed,
);

async fn an_edited_policy_applies_to_running_tickets_only_when_recomputed(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Slow reports", 2).await;
    let before = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await.json;

    // Silver's severity 2 resolve target is edited from 3bd to 1bd.
    let dir = std::env::temp_dir().join(format!("sladesk-policies-{}-{}", std::process::id(), r));
    std::fs::create_dir_all(&dir).unwrap();
    for f in ["bronze", "gold", "platinum", "silver"] {
        let text = std::fs::read_to_string(format!("{}/sla-policies/{f}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap();
        std::fs::write(
            dir.join(format!("{f}.toml")),
            text.replace("resolve = \"3bd\"", "resolve = \"1bd\""),
        )
        .unwrap();
    }
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: t.database_url.parse().unwrap(),
        policies: Some(PathBuf::from(&dir)),
        holidays_file: None,
        pool_size: 2,
        workers: 1,
    };
    let r2 = r.clone();
    let (dry, applied, again) = tokio::task::spawn_blocking(move || {
        let edited = build_app(&settings).unwrap();
        let op = Principal::operator();
        let now = sladesk::app::now();
        let dry = edited.recompute(&op, Some("acme"), None, true, now).unwrap();
        // The running ticket still shows its original targets.
        let applied = edited.recompute(&op, None, Some(&r2), false, now).unwrap();
        let again = edited.recompute(&op, None, Some(&r2), true, now).unwrap();
        (dry, applied, again)
    })
    .await
    .unwrap();
    std::fs::remove_dir_all(&dir).ok();

    assert_eq!(dry.len(), 1);
    assert!(dry[0].changed && !dry[0].applied, "{dry:?}");
    assert_ne!(dry[0].old_policy, dry[0].new_policy);
    assert_eq!(
        dry[0].old_resolve_due.map(|d| d.to_rfc3339()),
        before["resolve"]["due_at"]
            .as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_rfc3339())
    );
    assert!(
        dry[0].new_resolve_due < dry[0].old_resolve_due,
        "one business day is sooner than three"
    );
    assert!(applied[0].applied);
    assert!(!again[0].changed, "a second recompute finds nothing to do");

    let after = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await.json;
    assert_eq!(
        after["resolve"]["due_at"]
            .as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap()),
        applied[0].new_resolve_due.map(Into::into)
    );
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await.json;
    assert!(events.as_array().unwrap().iter().any(|e| e["type"] == "policy_changed"));
    let customer_events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.carol).await;
    assert!(!customer_events.text.contains("policy_changed"));

    // Over the API: admins only, and the running server (original files) sees the ticket on another version now.
    let a = t
        .post("/api/v1/sla/recompute", &t.carol, json!({"dry_run": true}))
        .await;
    a.problem(403);
    let a = t
        .post("/api/v1/sla/recompute", &t.admin, json!({"dry_run": true, "ticket": r}))
        .await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    assert_eq!(
        a.json[0]["changed"], true,
        "the server's own files differ from the recomputed version"
    );
    assert_eq!(a.json[0]["applied"], false);
}

async fn new_holiday_data_applies_to_running_tickets_only_when_recomputed(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Firewall change", 2).await;
    let before = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await.json;

    // A proclamation: the next fortnight is all bank holidays in Scotland.
    let today = chrono::Utc::now().date_naive();
    let events: Vec<serde_json::Value> = (1..=14)
        .map(|d| json!({"title": "Extra day", "date": (today + chrono::Duration::days(d)).to_string(), "notes": "", "bunting": true}))
        .collect();
    let file = std::env::temp_dir().join(format!("sladesk-holidays-{}-{r}.json", std::process::id()));
    std::fs::write(
        &file,
        json!({"scotland": {"division": "scotland", "events": events}}).to_string(),
    )
    .unwrap();
    let settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: t.database_url.parse().unwrap(),
        policies: None,
        holidays_file: Some(file.clone()),
        pool_size: 2,
        workers: 1,
    };
    let r2 = r.clone();
    let (after_reply, dry, applied) = tokio::task::spawn_blocking(move || {
        let app = build_app(&settings).unwrap();
        let now = sladesk::app::now();
        // A change made by a server with the new data keeps the ticket's own holidays.
        let alice = app.principal_for("alice@desk.example").unwrap();
        let after_reply = app
            .change_ticket(
                &alice,
                &r2,
                &[sladesk::app::tickets::Change::Note("checking".into())],
                None,
                now,
            )
            .unwrap();
        let op = Principal::operator();
        let dry = app.recompute(&op, None, Some(&r2), true, now).unwrap();
        let applied = app.recompute(&op, None, Some(&r2), false, now).unwrap();
        (after_reply, dry, applied)
    })
    .await
    .unwrap();
    std::fs::remove_file(&file).ok();

    assert_eq!(
        after_reply.resolve.due_at.map(|d| d.to_rfc3339()),
        before["resolve"]["due_at"]
            .as_str()
            .map(|s| chrono::DateTime::parse_from_rfc3339(s).unwrap().to_rfc3339()),
        "until recomputed, the ticket keeps the holidays it started with"
    );
    assert!(dry[0].changed && !dry[0].applied);
    assert_eq!(dry[0].old_policy, dry[0].new_policy, "same policy version");
    assert_ne!(dry[0].old_holidays, dry[0].new_holidays, "other holiday data");
    assert!(
        applied[0].new_resolve_due > applied[0].old_resolve_due,
        "the fortnight of holidays pushes the due instant out"
    );
}
