//! The SLA tick at scale: a million open tickets, on SQLite or PostgreSQL.
//!
//!     cargo bench --bench tick                                    # SQLite, a temporary file
//!     SLADESK_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench tick
//!     SLADESK_BENCH_TICKETS=100000 cargo bench --bench tick       # fewer tickets
//!
//! One ticket is raised through the application (Platinum, severity 2, two
//! hours ago: its three response alerts are due); the rest are copies of it
//! made in SQL, ticket row and events, so every one is a real ticket the
//! core can replay, each watched from a later instant so that none is due.
//! Then: a tick with nothing due (median of 21), and three rounds of a tick
//! with 10,000 tickets made due (each records three alerts and queues four
//! notices per ticket).
//! On PostgreSQL the bench makes and drops a database of its own.

use std::time::Instant;

use chrono::Duration;

mod common;

const DUE: i64 = 10_000;

fn main() {
    let n: i64 = std::env::var("SLADESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = common::BenchDb::new("sladesk_bench");
    let backend = db.backend();
    let app = db.app.clone();
    let now = sladesk::app::now();
    // The test desk: Globex is Platinum, Gina its contact.
    db.plant_test_desk(now);
    let gina = app.principal_for("gina@globex.example").unwrap();
    db.template_ticket(&gina, now - Duration::hours(2));

    let started = Instant::now();
    // Each copy watched from a later instant, so that none is due.
    let later = (now + Duration::days(1)).naive_utc();
    db.copy_ticket(1, n - 1, 1_000_000, Some(later));
    // The template itself must not be due either.
    db.execute(&format!(
        "UPDATE tickets SET next_check_at = {t}, queue_order_at = {t} WHERE id = 1",
        t = db.timestamp(later)
    ));
    println!(
        "{backend}: {n} open tickets made in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let mut idle = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let r = app.sla_tick(now).unwrap();
        idle.push(t.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(r.tickets, 0);
    }
    idle.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!(
        "{backend}: tick with nothing due: median {:.2} ms (21 runs, min {:.2}, max {:.2})",
        idle[10], idle[0], idle[20]
    );

    let mut busy = Vec::new();
    assert!(n > 3 * DUE, "SLADESK_BENCH_TICKETS must exceed {}", 3 * DUE);
    for round in 0..3 {
        let (lo, hi) = (2 + round * DUE, 2 + (round + 1) * DUE);
        let due = db.timestamp((now - Duration::seconds(1)).naive_utc());
        db.execute(&format!(
            "UPDATE tickets SET next_check_at = {due}, queue_order_at = {due} WHERE id >= {lo} AND id < {hi}"
        ));
        let t = Instant::now();
        let r = app.sla_tick(now).unwrap();
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        println!(
            "{backend}: tick with {} due: {:.0} ms ({} alerts recorded, {} failed)",
            r.tickets, ms, r.alerts, r.failed
        );
        assert_eq!(r.tickets as i64, DUE);
        busy.push(ms);
    }
    busy.sort_by(|a, b| a.partial_cmp(b).unwrap());
    println!("{backend}: tick with {DUE} due: median {:.0} ms of 3", busy[1]);
    drop(app);
}
