//! SLA evidence over HTTP: `GET …/sla/explain` (why each clock is due when
//! it is) and `GET …/sla/history` (the ticket's history as a `sladesk sla
//! replay` line). A customer's copy leaves out the desk's own words and
//! routing, yet replays offline to the clocks the server shows.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(the_explanation_and_the_history_agree_with_the_clocks);

/// Replays one history line with the real command; its one answer.
fn replay(line: &Value) -> Value {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sladesk"))
        .args(["sla", "replay"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{line}\n").as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn the_explanation_and_the_history_agree_with_the_clocks(db: Db) {
    let t: TestApp = spawn_app(db).await;
    let reference = t.raise(&t.carol, "Mail is down", 2).await;
    let path = format!("/api/v1/tickets/{reference}");
    t.post(
        &format!("{path}/notes"),
        &t.agent,
        json!({"body": "Secret: the relay is ours"}),
    )
    .await;
    t.post(&format!("{path}/replies"), &t.agent, json!({"body": "Looking now"}))
        .await;
    let paused = t.patch(&path, &t.agent, json!({"status": "pending_customer"})).await;
    assert_eq!(paused.status, 200, "{}", paused.text);

    // Staff: the policy's source is named; both clocks are explained.
    let staff = t.get(&format!("{path}/sla/explain"), &t.agent).await;
    assert_eq!(staff.status, 200, "{}", staff.text);
    let e = &staff.json;
    assert_eq!(e["reference"], reference.as_str());
    assert!(e["policy_note"]["source"].is_string(), "{e}");
    assert!(e["calendar"]["holiday_source"] == "rules", "{e}");
    let clocks = e["clocks"].as_array().unwrap();
    assert_eq!(clocks.len(), 2);
    let (response, resolve) = (&clocks[0], &clocks[1]);
    assert_eq!(response["kind"], "response");
    assert!(
        matches!(response["state"].as_str(), Some("met" | "breached_met")),
        "{response}"
    );
    // The resolve clock waits on the customer now, and says since when.
    assert!(matches!(resolve["state"].as_str(), Some("paused" | "breached_paused")));
    assert_eq!(resolve["paused"]["status"], "pending_customer", "{resolve}");
    assert!(resolve["paused"]["since"].is_string());
    assert!(response["paused"].is_null());
    // Counted time adds up to the elapsed time the ticket shows.
    let sla = t.get(&format!("{path}/sla"), &t.agent).await.json;
    let counted: i64 = resolve["counted"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["projected"] == false)
        .map(|c| c["business_seconds"].as_i64().unwrap())
        .sum();
    assert!(
        (counted - sla["resolve"]["elapsed_seconds"].as_i64().unwrap()).abs() <= 2,
        "counted {counted}, {sla}"
    );

    // The customer: the same clocks, no file path.
    let theirs = t.get(&format!("{path}/sla/explain"), &t.carol).await;
    assert_eq!(theirs.status, 200, "{}", theirs.text);
    assert!(theirs.json["policy_note"].get("source").is_none(), "{}", theirs.text);
    assert_eq!(theirs.json["clocks"][0]["breached_at"], response["breached_at"]);
    // Another organisation's customer learns nothing, not even that it exists.
    let foreign = t.get(&format!("{path}/sla/explain"), &t.gina).await;
    foreign.problem(404);

    // The history: staff's keeps the internal note (without its words) and
    // the routing; the customer's keeps what moves a clock.
    let staff_line = t.get(&format!("{path}/sla/history"), &t.agent).await.json;
    let their_line = t.get(&format!("{path}/sla/history"), &t.carol).await.json;
    let kinds = |l: &Value| -> Vec<String> {
        l["events"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["type"].as_str().unwrap(),
                    e["visibility"].as_str().unwrap_or("")
                )
            })
            .collect()
    };
    assert!(
        kinds(&staff_line).contains(&"commented:internal".to_string()),
        "{staff_line}"
    );
    assert!(
        !kinds(&their_line).contains(&"commented:internal".to_string()),
        "{their_line}"
    );
    for line in [&staff_line, &their_line] {
        assert!(!line.to_string().contains("Secret"), "{line}");
        assert!(!line.to_string().contains("Looking now"), "{line}");
    }

    // Either copy, replayed offline by the real command, gives the clocks
    // the server stored.
    let stored = t.get(&path, &t.agent).await.json;
    for line in [&staff_line, &their_line] {
        let a = replay(line);
        assert!(a["error"].is_null(), "{a}");
        for clock in ["response", "resolve"] {
            assert_eq!(a[clock]["state"], stored[clock]["state"], "{clock}: {a} vs {stored}");
            assert_eq!(a[clock]["elapsed_seconds"], stored[clock]["elapsed_seconds"], "{clock}");
            assert_eq!(a[clock]["breached_at"], stored[clock]["breached_at"], "{clock}");
            assert_eq!(a[clock]["due"], stored[clock]["due_at"], "{clock}");
        }
    }
}
