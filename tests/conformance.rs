//! The conformance vectors (conformance/v1/, written by
//! conformance/generate.py from the rules, independently of sladesk) run
//! through the real commands, as any engine would run them: `holidays
//! list`, `calendar batch` and `sla replay`. Every vector must agree.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{Value, json};

fn vectors(name: &str) -> Vec<Value> {
    let path = format!("{}/conformance/v1/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Runs `sladesk ARGS` with `input` on stdin; its stdout lines as JSON.
fn run(args: &[&str], input: String) -> Vec<Value> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_sladesk"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Each vector's input with its id, one line each.
fn lines(vs: &[Value]) -> String {
    vs.iter()
        .map(|v| {
            let mut line = v["input"].clone();
            line["id"] = v["id"].clone();
            format!("{line}\n")
        })
        .collect()
}

fn report(kind: &str, differences: &[String], total: usize) {
    assert!(
        differences.is_empty(),
        "{} of {total} {kind} vectors differ; the first:\n{}",
        differences.len(),
        differences.iter().take(20).cloned().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn every_calendar_vector_agrees_with_calendar_batch() {
    let vs = vectors("calendar.jsonl");
    assert!(vs.len() >= 4000, "{} calendar vectors", vs.len());
    let answers = run(&["calendar", "batch"], lines(&vs));
    assert_eq!(answers.len(), vs.len());
    let mut differences = Vec::new();
    for (v, a) in vs.iter().zip(&answers) {
        assert_eq!(a["id"], v["id"]);
        let mut got = a.clone();
        got.as_object_mut().unwrap().remove("id");
        if got != v["expect"] {
            differences.push(format!(
                "{} ({}): expected {}, got {got}",
                v["id"], v["reason"], v["expect"]
            ));
        }
    }
    report("calendar", &differences, vs.len());
}

#[test]
fn every_history_vector_agrees_with_sla_replay() {
    let vs = vectors("histories.jsonl");
    assert!(vs.len() >= 1500, "{} history vectors", vs.len());
    assert!(vs.iter().any(|v| v["checked"] == "by hand"));
    let answers = run(&["sla", "replay"], lines(&vs));
    assert_eq!(answers.len(), vs.len());
    let mut differences = Vec::new();
    for (v, a) in vs.iter().zip(&answers) {
        assert_eq!(a["id"], v["id"]);
        let e = &v["expect"];
        let mut wrong = Vec::new();
        for k in ["status", "severity"] {
            if a[k] != e[k] {
                wrong.push(format!("{k}: expected {}, got {}", e[k], a[k]));
            }
        }
        for clock in ["response", "resolve"] {
            for (k, want) in e[clock].as_object().unwrap() {
                if &a[clock][k] != want {
                    wrong.push(format!("{clock}.{k}: expected {want}, got {}", a[clock][k]));
                }
            }
        }
        if !wrong.is_empty() {
            differences.push(format!("{} ({}): {}", v["id"], v["reason"], wrong.join("; ")));
        }
    }
    report("history", &differences, vs.len());
}

#[test]
fn every_holiday_vector_agrees_with_holidays_list() {
    let vs = vectors("holidays.jsonl");
    let mut differences = Vec::new();
    for region in ["england-and-wales", "scotland", "northern-ireland"] {
        let out = Command::new(env!("CARGO_BIN_EXE_sladesk"))
            .args(["holidays", "list", "--region", region, "--from", "1990", "--to", "2040"])
            .args(["--format", "json"])
            .output()
            .unwrap();
        assert!(out.status.success());
        let listed: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
        for v in vs.iter().filter(|v| v["region"] == region) {
            let year = v["year"].as_i64().unwrap().to_string();
            // The days are the law; titles are informative (GOV.UK titles the
            // same kind of day differently in different years).
            let got: Vec<&Value> = listed
                .iter()
                .filter(|h| h["date"].as_str().unwrap().starts_with(&year))
                .map(|h| &h["date"])
                .collect();
            let want: Vec<&Value> = v["expect"].as_array().unwrap().iter().map(|h| &h["date"]).collect();
            if got != want {
                differences.push(format!("{}: expected {}, got {}", v["id"], json!(want), json!(got)));
            }
        }
    }
    report("holiday", &differences, vs.len());
}

#[test]
fn the_vectors_are_what_the_documented_script_writes() {
    let dir = std::env::temp_dir().join(format!("sladesk-conformance-{}", std::process::id()));
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/generate.py");
    let out = Command::new("python3")
        .arg(script)
        .env("CONFORMANCE_OUT", &dir)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for name in ["holidays.jsonl", "calendar.jsonl", "histories.jsonl"] {
        let kept = std::fs::read(format!("{}/conformance/v1/{name}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        let fresh = std::fs::read(dir.join(name)).unwrap();
        assert!(
            kept == fresh,
            "conformance/v1/{name} is not what conformance/generate.py writes: run it and review the change"
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}
