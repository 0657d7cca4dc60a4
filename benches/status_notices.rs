//! Queuing a status update for 10,000 subscribers, on SQLite or PostgreSQL.
//!
//!     cargo bench --bench status_notices
//!     SLADESK_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench status_notices
//!     SLADESK_BENCH_SUBSCRIBERS=1000 cargo bench --bench status_notices
//!
//! 10,000 confirmed subscribers are made in SQL (each with its own token,
//! half of them for every service, half for the one service the outage
//! touches); then an incident is recorded on that service and eleven public
//! updates are posted through the application, each timed whole: the
//! update, its audit row and one outbox row per subscriber, in one
//! transaction. The target is under 2 s for 10,000.

use std::time::Instant;

use chrono::Duration;
use sladesk::app::Principal;

mod common;

fn main() {
    let n: i64 = std::env::var("SLADESK_BENCH_SUBSCRIBERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let db = common::BenchDb::new("sladesk_bench_notices");
    let backend = db.backend();
    let app = db.app.clone();
    let now = sladesk::app::now();
    db.plant_test_desk(now);
    let operator = Principal::operator();
    app.create_service(
        &operator,
        sladesk::app::services::NewServiceRequest {
            slug: "objstore-lon2".into(),
            name: "Object storage – LON2".into(),
            group: Some("Storage".into()),
            description: None,
        },
        now,
    )
    .unwrap();
    let made = db.timestamp(now.naive_utc());
    // Numbers 1..=n by a recursive query both backends read.
    db.execute(&format!(
        "INSERT INTO status_subscribers (email, token, all_services, confirmed_at, created_at) \
         WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {n}) \
         SELECT 'subscriber' || i || '@example.org', 'token-' || i, i % 2 = 0, {made}, {made} FROM n"
    ));
    db.execute(
        "INSERT INTO status_subscriber_services (subscriber_id, service_id) \
         SELECT s.id, v.id FROM status_subscribers s, services v WHERE s.all_services = false",
    );
    let o = app
        .create_outage(
            &operator,
            serde_json::from_value(serde_json::json!({
                "kind": "platform_issue", "start": now - Duration::minutes(10),
                "services": [{"service": "objstore-lon2"}], "description": "bench"
            }))
            .unwrap(),
            now,
        )
        .unwrap();
    let mut times = Vec::new();
    for i in 0..11 {
        let req: sladesk::app::outages::PostUpdateRequest =
            serde_json::from_value(serde_json::json!({"body": format!("Update {i}: still investigating.")})).unwrap();
        let t = Instant::now();
        app.post_outage_update(&operator, o.id, req, now + Duration::seconds(i))
            .unwrap();
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let queued: i64 = {
        use diesel::prelude::*;
        sladesk::store::schema::outbox::table
            .filter(sladesk::store::schema::outbox::kind.eq("status_update"))
            .count()
            .get_result(&mut app.conn().unwrap())
            .unwrap()
    };
    assert_eq!(
        queued,
        12 * n,
        "each update (and the outage's start) once per subscriber"
    );
    println!(
        "{backend}: an update queued for {n} subscribers: median {:.3} s, min {:.3} s, max {:.3} s (11 updates; {queued} rows)",
        times[5], times[0], times[10]
    );
}
