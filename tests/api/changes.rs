//! Changes over HTTP and through the application with set clocks: a normal
//! change through a CAB deciding by a quorum of 2 of 3, scheduled into the
//! calendar (JSON and iCalendar) and onto the status page as planned
//! maintenance; freezes refusing a normal change and letting an emergency
//! in with a reason; clashes on a service; what a contact sees; and the
//! chain from change to credit (maintenance announced 7 days ahead is left
//! out of availability, a same-day emergency counts and earns the credit).

use serde_json::{Value, json};
use sladesk::app::itil::{ChangeCommand, NewChange};
use sladesk::domain::itil::change::{ChangeKind, Outcome, Risk};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    a_normal_change_goes_through_a_quorum_of_the_cab_into_the_calendar,
    maintenance_told_a_week_ahead_is_left_out_and_a_same_day_emergency_earns_the_credit,
);

async fn service_for_acme(t: &TestApp, slug: &str) {
    let made = t
        .post(
            "/api/v1/services",
            &t.admin,
            json!({"slug": slug, "name": format!("Service {slug}")}),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    let current = t.get("/api/v1/organisations/acme/services", &t.admin).await;
    let mut slugs: Vec<Value> = current
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].clone())
        .collect();
    slugs.push(json!(slug));
    let set = t
        .call(
            reqwest::Method::PUT,
            "/api/v1/organisations/acme/services",
            Some(&t.admin),
            Some(json!({"services": slugs})),
        )
        .await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.text);
}

async fn act(t: &TestApp, reference: &str, token: &str, body: Value) -> crate::helpers::Answer {
    t.post(&format!("/api/v1/tickets/{reference}/change/actions"), token, body)
        .await
}

async fn a_normal_change_goes_through_a_quorum_of_the_cab_into_the_calendar(db: Db) {
    let t = spawn_app(db).await;
    service_for_acme(&t, "storage-lon").await;
    let raised = t
        .post(
            "/api/v1/changes",
            &t.agent,
            json!({"subject": "Upgrade storage array firmware", "description": "Rolling upgrade; back out by re-flashing 7.1.",
                   "kind": "normal", "organisation": "acme", "requester": "carol@acme.example", "services": ["storage-lon"]}),
        )
        .await;
    assert_eq!(raised.status.as_u16(), 201, "{}", raised.text);
    let r = raised.json["reference"].as_str().unwrap().to_string();
    assert_eq!(raised.json["status"], "draft");
    assert_eq!(
        t.post(
            "/api/v1/changes",
            &t.carol,
            json!({"subject": "x", "description": "y", "kind": "normal", "organisation": "acme"})
        )
        .await
        .status
        .as_u16(),
        403,
        "contacts do not raise changes"
    );
    assert_eq!(
        act(&t, &r, &t.agent, json!({"action": "submit"})).await.status.as_u16(),
        200
    );
    let assessed = act(
        &t,
        &r,
        &t.agent,
        json!({"action": "assess", "risk": "medium", "impact": "Storage slower for an hour."}),
    )
    .await;
    assert_eq!(assessed.json["status"], "assessed", "{}", assessed.text);
    let bad_quorum = act(
        &t,
        &r,
        &t.agent,
        json!({"action": "send_to_cab", "approvers": ["manager@desk.example", "alice@desk.example"], "rule": "quorum", "of": 3}),
    )
    .await;
    assert_eq!(bad_quorum.status.as_u16(), 422, "{}", bad_quorum.text);
    let cab = act(
        &t,
        &r,
        &t.agent,
        json!({"action": "send_to_cab", "approvers": ["manager@desk.example", "alice@desk.example", "bob@desk.example"], "rule": "quorum", "of": 2}),
    )
    .await;
    assert_eq!(cab.json["status"], "awaiting_cab", "{}", cab.text);
    assert_eq!(cab.json["needed"], 2);
    let agenda = t.get("/api/v1/cab", &t.manager).await;
    assert_eq!(agenda.json.as_array().unwrap().len(), 1, "{}", agenda.text);
    assert_eq!(t.get("/api/v1/cab", &t.carol).await.status.as_u16(), 403);

    // Only the CAB votes; one approval of the two needed leaves it waiting.
    let outsider = act(&t, &r, &t.admin, json!({"action": "approve"})).await;
    assert_eq!(outsider.status.as_u16(), 403, "{}", outsider.text);
    let one = act(
        &t,
        &r,
        &t.manager,
        json!({"action": "approve", "comment": "Fine out of hours."}),
    )
    .await;
    assert_eq!(
        (one.json["status"].as_str(), one.json["approvals"].as_i64()),
        (Some("awaiting_cab"), Some(1)),
        "{}",
        one.text
    );
    let two = act(&t, &r, &t.agent, json!({"action": "approve"})).await;
    assert_eq!(two.json["status"], "approved", "{}", two.text);

    // A freeze refuses a normal change's window.
    let start: chrono::DateTime<chrono::Utc> = chrono::Utc::now() + chrono::Duration::days(7);
    let start = start.date_naive().and_hms_opt(1, 0, 0).unwrap().and_utc();
    let end = start + chrono::Duration::hours(2);
    let freeze = t
        .post(
            "/api/v1/change-freezes",
            &t.manager,
            json!({"name": "Year end", "start": start + chrono::Duration::days(2), "end": start + chrono::Duration::days(4)}),
        )
        .await;
    assert_eq!(freeze.status.as_u16(), 201, "{}", freeze.text);
    let frozen = act(
        &t,
        &r,
        &t.agent,
        json!({"action": "schedule", "start": start + chrono::Duration::days(3), "end": start + chrono::Duration::days(3) + chrono::Duration::hours(1)}),
    )
    .await;
    assert_eq!(frozen.status.as_u16(), 422, "{}", frozen.text);
    assert!(frozen.text.contains("Year end freeze"), "{}", frozen.text);
    let scheduled = act(
        &t,
        &r,
        &t.agent,
        json!({"action": "schedule", "start": start, "end": end}),
    )
    .await;
    assert_eq!(scheduled.status.as_u16(), 200, "{}", scheduled.text);
    assert_eq!(scheduled.json["status"], "scheduled");
    let outage = scheduled.json["outage_id"]
        .as_i64()
        .expect("its maintenance is recorded");

    // On the status page, as planned maintenance on the service.
    let o = t.get(&format!("/api/v1/outages/{outage}"), &t.manager).await;
    assert_eq!(o.json["kind"], "planned_maintenance", "{}", o.text);
    assert_eq!(o.json["services"][0]["slug"], "storage-lon");
    let status = t.get("/api/v1/status", &t.carol).await;
    assert!(
        status.text.contains("Upgrade storage array firmware"),
        "{}",
        status.text
    );

    // In the calendar, with a clashing change on the same service.
    let other = t
        .post(
            "/api/v1/changes",
            &t.agent,
            json!({"subject": "Replace storage controller", "description": "Swap controller B.", "kind": "emergency",
                   "organisation": "acme", "services": ["storage-lon"]}),
        )
        .await;
    let o2 = other.json["reference"].as_str().unwrap().to_string();
    for body in [
        json!({"action": "submit"}),
        json!({"action": "assess", "risk": "high", "impact": "Controller failing."}),
        json!({"action": "send_to_cab", "approvers": ["manager@desk.example"], "rule": "any"}),
    ] {
        assert_eq!(act(&t, &o2, &t.agent, body).await.status.as_u16(), 200);
    }
    assert_eq!(
        act(&t, &o2, &t.manager, json!({"action": "approve"})).await.json["status"],
        "approved"
    );
    let in_freeze = start + chrono::Duration::days(3);
    let no_reason = act(
        &t,
        &o2,
        &t.agent,
        json!({"action": "schedule", "start": in_freeze, "end": in_freeze + chrono::Duration::hours(1)}),
    )
    .await;
    assert_eq!(
        no_reason.status.as_u16(),
        422,
        "an emergency says why: {}",
        no_reason.text
    );
    let with_reason = act(
        &t,
        &o2,
        &t.agent,
        json!({"action": "schedule", "start": start, "end": end, "reason": "Controller B is failing now."}),
    )
    .await;
    assert_eq!(with_reason.status.as_u16(), 200, "{}", with_reason.text);
    let from = (start - chrono::Duration::days(1)).to_rfc3339();
    let to = (start + chrono::Duration::days(10)).to_rfc3339();
    let q = format!("from={}&to={}", urlencode(&from), urlencode(&to));
    let cal = t.get(&format!("/api/v1/changes/calendar?{q}"), &t.agent).await;
    assert_eq!(cal.status.as_u16(), 200, "{}", cal.text);
    assert_eq!(cal.json["changes"].as_array().unwrap().len(), 2, "{}", cal.text);
    assert_eq!(cal.json["freezes"][0]["name"], "Year end");
    assert_eq!(
        cal.json["clashes"][0]["services"],
        json!(["storage-lon"]),
        "{}",
        cal.text
    );
    let ics = t.get(&format!("/api/v1/changes/calendar.ics?{q}"), &t.carol).await;
    assert_eq!(ics.status.as_u16(), 200);
    assert!(
        ics.text.starts_with("BEGIN:VCALENDAR") && ics.text.contains(&format!("UID:change-{r}@")),
        "{}",
        ics.text
    );
    assert!(ics.text.contains("Change freeze: Year end"), "{}", ics.text);
    assert!(
        t.get(&format!("/api/v1/changes/calendar.ics?{q}"), &t.gina)
            .await
            .text
            .find("change-SD")
            .is_none()
    );

    // A contact sees the change, its window and services; not its CAB.
    let theirs = t.get(&format!("/api/v1/tickets/{r}/change"), &t.carol).await;
    assert_eq!(theirs.status.as_u16(), 200, "{}", theirs.text);
    assert_eq!(theirs.json["cab"], json!([]));
    assert_eq!(theirs.json["risk"], Value::Null);
    assert_eq!(
        t.get(&format!("/api/v1/tickets/{r}/change"), &t.gina)
            .await
            .status
            .as_u16(),
        404
    );
    assert_eq!(
        act(&t, &r, &t.carol, json!({"action": "start"})).await.status.as_u16(),
        403
    );

    // Worked and reviewed; cancelling the other takes its maintenance away.
    for body in [json!({"action": "start"}), json!({"action": "complete"})] {
        assert_eq!(act(&t, &r, &t.agent, body).await.status.as_u16(), 200);
    }
    let reviewed = act(
        &t,
        &r,
        &t.manager,
        json!({"action": "review", "outcome": "success", "notes": "Done in 40 minutes."}),
    )
    .await;
    assert_eq!(
        (reviewed.json["status"].as_str(), reviewed.json["outcome"].as_str()),
        (Some("reviewed"), Some("success"))
    );
    let gone = with_reason.json["outage_id"].as_i64().unwrap();
    let cancelled = act(
        &t,
        &o2,
        &t.agent,
        json!({"action": "cancel", "reason": "Controller recovered."}),
    )
    .await;
    assert_eq!(cancelled.json["outage_id"], Value::Null, "{}", cancelled.text);
    assert_eq!(
        t.get(&format!("/api/v1/outages/{gone}"), &t.manager)
            .await
            .status
            .as_u16(),
        404
    );
}

fn urlencode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// The change and its maintenance with set clocks, then October's report.
fn change_through(app: &sladesk::app::App, kind: ChangeKind, raised: &str, window: (&str, &str), subject: &str) {
    let agent = app.principal_for("alice@desk.example").unwrap();
    let manager = app.principal_for("manager@desk.example").unwrap();
    let now = at(raised);
    let c = app
        .raise_change(
            &agent,
            NewChange {
                subject: subject.into(),
                description: "Set clocks.".into(),
                kind,
                organisation: "acme".into(),
                requester: None,
                services: vec!["compute-lon".into()],
                queue: None,
            },
            now,
        )
        .unwrap();
    let r = c.reference;
    let steps = [
        (&agent, ChangeCommand::Submit),
        (
            &agent,
            ChangeCommand::Assess {
                risk: Risk::Low,
                impact: "An hour or so.".into(),
            },
        ),
        (
            &agent,
            ChangeCommand::SendToCab {
                approvers: vec!["manager@desk.example".into()],
                rule: "any".into(),
                of: None,
            },
        ),
        (&manager, ChangeCommand::Approve { comment: String::new() }),
        (
            &agent,
            ChangeCommand::Schedule {
                start: at(window.0),
                end: at(window.1),
                reason: None,
            },
        ),
        (&agent, ChangeCommand::Start),
        (&agent, ChangeCommand::Complete),
        (
            &manager,
            ChangeCommand::Review {
                outcome: Outcome::Success,
                notes: "Went to plan.".into(),
            },
        ),
    ];
    for (i, (who, cmd)) in steps.iter().enumerate() {
        // The work happens in the window; everything before it, when raised.
        let when = if i >= 5 { at(window.1) } else { now };
        app.act_on_change(who, &r, cmd, when)
            .unwrap_or_else(|e| panic!("{subject} step {i}: {e}"));
    }
}

async fn maintenance_told_a_week_ahead_is_left_out_and_a_same_day_emergency_earns_the_credit(db: Db) {
    let t = spawn_app(db).await;
    service_for_acme(&t, "compute-lon").await;
    let app = t.app.clone();
    let (planned, both) = tokio::task::spawn_blocking(move || {
        let manager = app.principal_for("manager@desk.example").unwrap();
        let month = "2026-10".parse().unwrap();
        let report = |app: &sladesk::app::App| {
            app.monthly_report(&manager, Some("acme"), month, None, at("2026-11-02T09:00:00Z"))
                .unwrap()
                .value()
                .unwrap()
        };
        // Told on the 1st for the 8th: seven days ahead, silver asks five.
        change_through(
            &app,
            ChangeKind::Normal,
            "2026-10-01T09:00:00Z",
            ("2026-10-08T01:00:00Z", "2026-10-08T05:00:00Z"),
            "Hypervisor patching",
        );
        let planned = report(&app);
        // Done the same day it was raised: an emergency, four hours down.
        change_through(
            &app,
            ChangeKind::Emergency,
            "2026-10-20T09:00:00Z",
            ("2026-10-20T10:00:00Z", "2026-10-20T14:00:00Z"),
            "Failed power supply",
        );
        (planned, report(&app))
    })
    .await
    .unwrap();
    assert_eq!(
        planned["availability"]["downtime_seconds"], 0,
        "{}",
        planned["availability"]
    );
    assert_eq!(
        both["availability"]["downtime_seconds"],
        4 * 3600,
        "{}",
        both["availability"]
    );
    // 14,400 s of October's 745 h: 99.46 %, below 99.5 %: 7.5 % of £2,500.
    assert_eq!(both["credits"]["total_pence"], 18_750, "{}", both["credits"]);
    let c = &both["changes"];
    assert_eq!(
        (c["total"].as_i64(), c["normal"].as_i64(), c["emergency"].as_i64()),
        (Some(2), Some(1), Some(1)),
        "{c}"
    );
    assert_eq!(
        (c["reviewed"].as_i64(), c["success_percent"].as_str()),
        (Some(2), Some("100.0"))
    );
    assert_eq!(planned["changes"]["total"], 1);
    assert!(
        both["tickets"].as_array().unwrap().is_empty(),
        "a change is not an incident in the SLA figures: {}",
        both["tickets"]
    );
}
