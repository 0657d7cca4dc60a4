//! The README's walkthrough with the binary away from the repository: the
//! built binary copied into a bin folder of its own, run from an empty
//! folder with no SLADESK_* settings, as a new user runs it after `cargo
//! install`. Every step must see the demo's data: the demo writes a
//! sladesk.toml naming its database, and a command that would open a new,
//! empty database refuses. (`benches/walkthrough.sh` does the same with a
//! real `cargo install --path .` release build.)

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

fn tempdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("sladesk-walk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The binary, copied where no repository is.
fn installed() -> PathBuf {
    let bin = tempdir("root").join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let to = bin.join("sladesk");
    std::fs::copy(env!("CARGO_BIN_EXE_sladesk"), &to).unwrap();
    to
}

fn command(bin: &Path, dir: &Path, args: &[&str]) -> Command {
    let mut c = Command::new(bin);
    c.args(args).current_dir(dir).env("RUST_LOG", "off");
    for (k, _) in std::env::vars() {
        if k.starts_with("SLADESK_") {
            c.env_remove(k);
        }
    }
    c
}

fn run(bin: &Path, dir: &Path, args: &[&str]) -> Output {
    command(bin, dir, args).output().unwrap()
}

fn ok(bin: &Path, dir: &Path, args: &[&str]) -> String {
    let o = run(bin, dir, args);
    assert!(
        o.status.success(),
        "sladesk {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Starts the demo and reads its banner; the child serves until killed.
fn demo(bin: &Path, dir: &Path) -> (Child, String) {
    let mut child = command(bin, dir, &["demo", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut banner = String::new();
    loop {
        let mut line = String::new();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        banner.push_str(&line);
        if line.trim_start().starts_with("try:") {
            break;
        }
    }
    (child, banner)
}

#[test]
fn the_installed_binary_does_the_readme_walkthrough_from_an_empty_folder() {
    let bin = installed();
    let here = tempdir("work");

    // The demo: policies, templates and the demo desk are built in.
    let (mut child, banner) = demo(&bin, &here);
    assert!(banner.starts_with("sladesk demo: 200 tickets"), "{banner}");
    assert!(here.join("sladesk-demo.db").exists());
    let toml = std::fs::read_to_string(here.join("sladesk.toml")).unwrap();
    assert!(toml.contains("database_url = \"sqlite://sladesk-demo.db\""), "{toml}");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();

    // A mail piped into intake, as the README shows it (no --database-url).
    let mut ingest = command(&bin, &here, &["ingest"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ingest
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"From: nadia.patel@northwind.example\r\nTo: support@sladesk.example\r\nSubject: [S1] Portal down\r\n\
              Message-ID: <walk-1@northwind.example>\r\n\r\nAll users.\r\n",
        )
        .unwrap();
    let o = ingest.wait_with_output().unwrap();
    assert!(o.status.success(), "ingest: {}", String::from_utf8_lossy(&o.stderr));

    // Last month's report for Northwind sees the demo's tickets.
    let now = chrono::Utc::now();
    let month = sladesk::domain::availability::Month::containing(now)
        .previous()
        .to_string();
    let report: serde_json::Value = serde_json::from_str(&ok(
        &bin,
        &here,
        &["report", "monthly", "--org", "northwind", "--month", &month],
    ))
    .unwrap();
    let raised: i64 = report["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["raised"].as_i64().unwrap())
        .sum();
    assert!(raised > 0, "the report reads the demo's tickets: {report}");

    // The platform's services the demo defines, for its status page.
    let services = ok(&bin, &here, &["service", "list"]);
    assert_eq!(services.lines().count(), 4, "{services}");
    assert!(services.contains("Object storage – LON2"), "{services}");

    // The scheduler's jobs, as the demo left them.
    let status = ok(&bin, &here, &["scheduler", "status"]);
    assert_eq!(status.lines().count(), sladesk::scheduler::JOBS.len(), "{status}");

    // An outage, then the organisation's export, with the ticket just mailed in.
    let start = (now - chrono::Duration::hours(3)).to_rfc3339();
    let end = (now - chrono::Duration::hours(2)).to_rfc3339();
    ok(
        &bin,
        &here,
        &[
            "outage",
            "add",
            "--kind",
            "platform_issue",
            "--start",
            &start,
            "--end",
            &end,
            "--org",
            "northwind",
            "--description",
            "LON1 storage",
        ],
    );
    // An error names the flag as typed, not the API's field.
    let o = run(
        &bin,
        &here,
        &[
            "outage",
            "add",
            "--kind",
            "platform_issue",
            "--start",
            &start,
            "--org",
            "nobody",
            "--description",
            "x",
        ],
    );
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--org: ") && !err.contains("--organisations"), "{err}");
    let out = here.join("export");
    ok(
        &bin,
        &here,
        &["export", "--org", "northwind", "--out", out.to_str().unwrap()],
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert!(manifest["tickets"].as_i64().unwrap() > 40, "{manifest}");
    let mailed_in = std::fs::read_dir(out.join("tickets"))
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| std::fs::read_to_string(e.path().join("ticket.json")).is_ok_and(|t| t.contains("Portal down")));
    assert!(mailed_in, "the export holds the ticket ingest made");

    // From another empty folder, a command would open a new, empty
    // database: it says so and stops, creating nothing.
    let elsewhere = tempdir("elsewhere");
    let o = run(&bin, &elsewhere, &["scheduler", "status"]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no database at") && err.contains("sladesk.db"), "{err}");
    assert!(!elsewhere.join("sladesk.db").exists(), "nothing was created");

    // The demo never deletes a database that is not a demo's.
    std::fs::write(elsewhere.join("sladesk.db"), b"").unwrap();
    let o = run(
        &bin,
        &elsewhere,
        &[
            "demo",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "sqlite://sladesk.db",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a demo's"));

    // `init` writes editable copies and settings that name them; the copies
    // load, and a desk migrated there works.
    let desk = tempdir("desk");
    let o = ok(&bin, &desk, &["init", "mydesk"]);
    assert!(o.contains("wrote 4 policies"), "{o}");
    let mine = desk.join("mydesk");
    assert!(mine.join("sla-policies/silver.toml").exists());
    assert!(mine.join("templates/email/acknowledgement.subject.hbs").exists());
    let checked = ok(&bin, &mine, &["policy", "check", "--policies", "sla-policies"]);
    assert_eq!(checked.lines().count(), 4, "{checked}");
    ok(&bin, &mine, &["migrate"]);
    ok(
        &bin,
        &mine,
        &["user", "add", "--role", "agent", "--email", "first@desk.example"],
    );
    let again = run(&bin, &desk, &["init", "mydesk"]);
    assert_eq!(again.status.code(), Some(1), "init overwrites nothing");
}
