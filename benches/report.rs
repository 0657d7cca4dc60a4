//! Monthly reports at scale: ten organisations with 100,000 tickets each in
//! October 2026 (1,000,000 in all), on SQLite or PostgreSQL.
//!
//!     cargo bench --bench report                                   # SQLite, a temporary file
//!     SLADESK_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench report
//!     SLADESK_BENCH_TICKETS=100000 cargo bench --bench report      # fewer tickets
//!
//! Each organisation's template ticket is raised and worked through the
//! application (reply, pending customer, customer reply, resolved: six
//! events); the rest are copies of it made in SQL, real tickets the core
//! replays. Then: one organisation's report computed afresh (median of 3),
//! and the scheduler's monthly job for everyone (every organisation's
//! report and the whole desk's, kept, rendered to HTML and queued to the
//! manager; median of 3, the kept reports and mails cleared between runs).

use std::time::Instant;

use chrono::{DateTime, Utc};
use sladesk::app::Principal;
use sladesk::app::outages::{Affected, NewOutageRequest};
use sladesk::app::tickets::TicketFilter;

mod common;

const ORGS: i64 = 10;

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let n: i64 = std::env::var("SLADESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let per_org = n / ORGS;
    let db = common::BenchDb::new("sladesk_report_bench");
    let backend = db.backend();
    let app = db.app.clone();
    let op = Principal::operator();
    let setup = at("2026-10-01T00:00:00Z");
    // The test desk's staff and queues (and its two customers, with no
    // tickets); the bench's own organisations follow.
    db.plant_test_desk(setup);
    let started = Instant::now();
    db.seed_history(ORGS, per_org, at("2026-10-05T08:00:00Z"));
    app.create_outage(
        &op,
        NewOutageRequest {
            kind: "platform_issue".into(),
            start: at("2026-10-14T09:00:00Z"),
            end: Some(at("2026-10-14T10:30:00Z")),
            notified_at: None,
            organisations: Some(Affected::All("all".into())),
            services: Vec::new(),
            description: "Storage failover".into(),
            public_description: None,
        },
        setup,
    )
    .unwrap();
    println!(
        "{backend}: {ORGS} organisations × {per_org} tickets in October made in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // The queue at this size: a page of 50 in each order an agent can pick,
    // the deepest page allowed, and the pager's capped count; every ticket
    // (status any), the worst case, five runs each.
    let now = at("2026-11-09T06:00:00Z");
    let alice = app.principal_for("alice@desk.example").unwrap();
    // And the agent's default view, open work most urgent first, on a desk
    // where all million are resolved: the worst case for finding them.
    let active = TicketFilter {
        status: Some("active".into()),
        limit: Some(50),
        ..Default::default()
    };
    let mut runs = Vec::new();
    let mut counts = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        app.list_tickets(&alice, &active, now).unwrap();
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
        let t = Instant::now();
        app.count_tickets(&alice, &active, now).unwrap();
        counts.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    println!(
        "{backend}: the default queue (active, most urgent first): page median {:.1} ms, count median {:.1} ms",
        median(runs),
        median(counts)
    );
    for (label, sort, offset) in [
        ("most urgent first", "next_check_at", 0),
        ("newest first", "created", 0),
        ("oldest first", "created_asc", 0),
        ("severity, then urgency", "severity", 0),
        ("latest activity first", "updated", 0),
        (
            "newest first, 10,000 deep",
            "created",
            sladesk::app::tickets::MAX_OFFSET,
        ),
    ] {
        let f = TicketFilter {
            sort: Some(sort.into()),
            offset: Some(offset),
            limit: Some(50),
            ..Default::default()
        };
        let mut runs = Vec::new();
        for _ in 0..5 {
            let t = Instant::now();
            let page = app.list_tickets(&alice, &f, now).unwrap();
            runs.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(page.items.len(), 50);
        }
        println!("{backend}: a page of 50, {label}: median {:.1} ms", median(runs));
    }
    let mut runs = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let c = app.count_tickets(&alice, &TicketFilter::default(), now).unwrap();
        runs.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(c.more);
    }
    println!(
        "{backend}: the pager's count (capped at 10,000): median {:.1} ms",
        median(runs)
    );

    // The first run of the monthly job after October closes (5 working days).
    let mut one = Vec::new();
    for _ in 0..3 {
        let t = Instant::now();
        let r = app
            .monthly_report(&op, Some("org00"), "2026-10".parse().unwrap(), None, now)
            .unwrap();
        one.push(t.elapsed().as_secs_f64());
        // Outside the timing: read back, the document holds every ticket.
        let r = r.value().unwrap();
        assert_eq!(r["tickets"].as_array().unwrap().len() as i64, per_org);
    }
    println!(
        "{backend}: one organisation's report ({per_org} tickets): median {:.2} s ({})",
        median(one.clone()),
        one.iter().map(|s| format!("{s:.2}")).collect::<Vec<_>>().join(" · ")
    );
    let mut all = Vec::new();
    for _ in 0..3 {
        db.execute("DELETE FROM report_versions; DELETE FROM outbox;");
        let t = Instant::now();
        let run = app.run_monthly_reports(now).unwrap();
        all.push(t.elapsed().as_secs_f64());
        assert_eq!(run.mails as i64, ORGS + 1);
    }
    println!(
        "{backend}: the monthly job, every organisation and the desk ({n} tickets): median {:.1} s ({})",
        median(all.clone()),
        all.iter().map(|s| format!("{s:.1}")).collect::<Vec<_>>().join(" · ")
    );
}
