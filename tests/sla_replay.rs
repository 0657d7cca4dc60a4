//! `sladesk sla replay` against what the server stored: every demo ticket's
//! events, exported as the desk recorded them, replayed by the command at
//! the instant the server last computed its clocks, must give the clocks the
//! server stored then, field by field, with no difference allowed.
//! (Requests, problems and changes have their own lifecycles; the incident
//! clocks replayed here do not run for them.)

use std::io::Write;
use std::process::{Command, Stdio};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use serde_json::{Value, json};

#[derive(QueryableByName)]
struct Stored {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    reference: String,
    #[diesel(sql_type = Text)]
    region: String,
    #[diesel(sql_type = Text)]
    status: String,
    #[diesel(sql_type = BigInt)]
    severity: i64,
    #[diesel(sql_type = Text)]
    response_state: String,
    #[diesel(sql_type = BigInt)]
    response_elapsed_seconds: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    response_due_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    response_breached_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Text)]
    resolve_state: String,
    #[diesel(sql_type = BigInt)]
    resolve_elapsed_seconds: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    resolve_due_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    resolve_breached_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    next_check_at: Option<chrono::NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    sla_computed_at: chrono::NaiveDateTime,
}

#[derive(QueryableByName)]
struct StoredEvent {
    #[diesel(sql_type = BigInt)]
    ticket_id: i64,
    #[diesel(sql_type = Text)]
    data: String,
}

fn instant(t: Option<chrono::NaiveDateTime>) -> Value {
    t.map(|t| Value::String(t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null)
}

fn replay(input: &str) -> (bool, Vec<Value>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sladesk"))
        .args(["sla", "replay"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let lines = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.success(), lines)
}

/// Every line of `lines` is valid by docs/sla-replay.schema.json, checked by
/// the Python `jsonschema` package (tests/setup.sh installs it).
fn assert_schema_accepts(lines: &str) {
    let schema = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/sla-replay.schema.json");
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = 0
for n, line in enumerate(sys.stdin, 1):
    for e in v.iter_errors(json.loads(line)):
        bad += 1
        print(f"line {n}: {'/'.join(map(str, e.absolute_path))}: {e.message}"[:300])
print(f"checked {n} lines, {bad} errors")
sys.exit(1 if bad else 0)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script, schema])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (tests/setup.sh installs it with jsonschema)");
    let mut stdin = child.stdin.take().unwrap();
    let text = lines.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the schema refused lines:\n{report}");
}

#[test]
fn every_demo_ticket_replays_to_the_clocks_the_server_stored() {
    let dir = std::env::temp_dir().join(format!("sladesk-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let url = format!("sqlite://{}", dir.join("demo.db").display());
    let settings = sladesk::config::Settings {
        listen: "127.0.0.1:0".into(),
        database_url: url.parse().unwrap(),
        policies: None,
        holidays_file: None,
        pool_size: 2,
        workers: 1,
    };
    let demo = sladesk::demo::create(&settings).unwrap();
    drop(demo);

    let mut c = SqliteConnection::establish(&dir.join("demo.db").display().to_string()).unwrap();
    let tickets: Vec<Stored> = diesel::sql_query(
        "SELECT t.id, t.reference, o.region, t.status, CAST(t.severity AS BIGINT) AS severity, \
         t.response_state, t.response_elapsed_seconds, t.response_due_at, t.response_breached_at, \
         t.resolve_state, t.resolve_elapsed_seconds, t.resolve_due_at, t.resolve_breached_at, \
         t.next_check_at, t.sla_computed_at \
         FROM tickets t JOIN organisations o ON o.id = t.organisation_id \
         WHERE t.ticket_type = 'incident' ORDER BY t.id",
    )
    .load(&mut c)
    .unwrap();
    let events: Vec<StoredEvent> =
        diesel::sql_query("SELECT ticket_id, data FROM ticket_events ORDER BY ticket_id, seq")
            .load(&mut c)
            .unwrap();
    // Requests, problems and changes run their own lifecycles, not these
    // clocks (their SLA columns say so: src/app/tickets/record.rs).
    assert!(tickets.len() >= 200, "the demo has {} incidents", tickets.len());

    let mut by_ticket: std::collections::HashMap<i64, Vec<Value>> = Default::default();
    for e in &events {
        by_ticket
            .entry(e.ticket_id)
            .or_default()
            .push(serde_json::from_str(&e.data).unwrap());
    }
    let mut input = String::new();
    for t in &tickets {
        let line = json!({
            "id": t.reference,
            "region": t.region,
            "as_of": instant(Some(t.sla_computed_at)),
            "events": by_ticket.remove(&t.id).unwrap_or_default(),
        });
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let (ok, answers) = replay(&input);
    assert_eq!(answers.len(), tickets.len());
    // What the desk stores is a valid history by the published schema.
    assert_schema_accepts(&input);

    let mut differences = Vec::new();
    let mut kinds = std::collections::BTreeSet::new();
    for e in &events {
        let v: Value = serde_json::from_str(&e.data).unwrap();
        kinds.insert(v["type"].as_str().unwrap().to_string());
    }
    for (t, a) in tickets.iter().zip(&answers) {
        assert_eq!(a["id"], t.reference);
        assert!(a["error"].is_null(), "{}: {}", t.reference, a["error"]);
        let want = [
            ("status", json!(t.status)),
            ("severity", json!(t.severity)),
            ("response.state", json!(t.response_state)),
            ("response.elapsed_seconds", json!(t.response_elapsed_seconds)),
            ("response.due", instant(t.response_due_at)),
            ("response.breached_at", instant(t.response_breached_at)),
            ("resolve.state", json!(t.resolve_state)),
            ("resolve.elapsed_seconds", json!(t.resolve_elapsed_seconds)),
            ("resolve.due", instant(t.resolve_due_at)),
            ("resolve.breached_at", instant(t.resolve_breached_at)),
            ("next_check_at", instant(t.next_check_at)),
        ];
        for (field, stored) in want {
            let got = field.split('.').fold(a, |v, k| &v[k]);
            if *got != stored {
                differences.push(format!("{} {field}: stored {stored}, replayed {got}", t.reference));
            }
        }
    }
    assert!(ok, "some line failed");
    assert!(
        differences.is_empty(),
        "{} differences:\n{}",
        differences.len(),
        differences.join("\n")
    );
    // The demo's histories cover the lifecycle, so the comparison does too.
    for kind in [
        "created",
        "commented",
        "status_changed",
        "severity_changed",
        "alert_recorded",
    ] {
        assert!(kinds.contains(kind), "the demo has no {kind} event: {kinds:?}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_short_history_gives_both_clocks_and_bad_lines_answer_in_place() {
    // Bronze, England and Wales, severity 2: respond in 4 business hours
    // (09:00 to 17:00, Monday to Friday). Received Friday 27 November 2026 at
    // 16:00 GMT; one hour runs on Friday, three on Monday: due Monday 12:00.
    let input = [
        json!({"id": 1, "policy": "bronze", "region": "england-and-wales", "as_of": "2026-11-30T09:00:00Z",
               "events": [{"type": "received", "at": "2026-11-27T16:00:00Z", "severity": 2}]}),
        json!({"id": "bad-region", "policy": "bronze", "region": "atlantis",
               "events": [{"type": "received", "at": "2026-11-27T16:00:00Z", "severity": 2}]}),
        json!({"id": 3, "policy": "bronze", "region": "england-and-wales",
               "events": [{"type": "received", "at": "2026-11-27T16:00:00Z", "severity": 2},
                          {"type": "agent_reply", "at": "2026-11-30T10:00:00Z"},
                          {"type": "pending_customer", "at": "2026-11-30T10:05:00Z"},
                          {"type": "customer_reply", "at": "2026-12-01T09:00:00Z"}]}),
    ]
    .iter()
    .map(|l| format!("{l}\n"))
    .collect::<String>();
    // The schema refuses the unknown region as replay does.
    let good: String = input
        .lines()
        .filter(|l| !l.contains("atlantis"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_schema_accepts(&good);
    let input = input + "{not json\n";
    let (ok, answers) = replay(&input);
    assert!(!ok, "a failed line makes the exit status 1");
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0]["id"], 1);
    assert_eq!(answers[0]["response"]["state"], "running");
    assert_eq!(answers[0]["response"]["elapsed_seconds"], 3600);
    assert_eq!(answers[0]["response"]["due"], "2026-11-30T12:00:00Z");
    assert_eq!(answers[0]["events_counted"], 1);
    assert_eq!(answers[1]["id"], "bad-region");
    assert!(
        answers[1]["error"].as_str().unwrap().starts_with("region:"),
        "{}",
        answers[1]
    );
    // Replied Monday 10:00 (2 business hours): met. Waiting on the customer
    // from 10:05 Monday to 09:00 Tuesday, when their reply reopened it.
    assert_eq!(answers[2]["response"]["state"], "met");
    assert_eq!(answers[2]["response"]["elapsed_seconds"], 7200);
    assert_eq!(answers[2]["status"], "open");
    assert_eq!(answers[2]["resolve"]["state"], "running");
    assert_eq!(answers[2]["resolve"]["elapsed_seconds"], 3600 + 3600 + 5 * 60);
    assert!(answers[3]["id"].is_null());
    assert!(answers[3]["error"].as_str().unwrap().starts_with("unreadable line"));
}
