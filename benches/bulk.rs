//! A bulk action over 500 tickets, on SQLite or PostgreSQL.
//!
//!     cargo bench --bench bulk
//!     SLADESK_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench bulk
//!
//! Three rounds: 500 tickets raised through the application (half Acme's,
//! half Globex's), then one bulk action through `App::bulk_change` that
//! assigns each to the agent and replies on each, timed whole: 500 changes
//! through the core, each in its own transaction with its events, SLA
//! state, audit row and the reply's mail to its requester. The target is
//! under 5 s.

use std::time::Instant;

use sladesk::app::tickets::{BulkRequest, NewTicketRequest};
use sladesk::domain::ticket::Severity;

mod common;

const TICKETS: usize = 500;

fn main() {
    let db = common::BenchDb::new("sladesk_bench_bulk");
    let backend = db.backend();
    let app = db.app.clone();
    let now = sladesk::app::now();
    db.plant_test_desk(now);
    let agent = app.principal_for("alice@desk.example").unwrap();
    let customers = [
        app.principal_for("carol@acme.example").unwrap(),
        app.principal_for("gina@globex.example").unwrap(),
    ];
    let mut times = Vec::new();
    for round in 0..3 {
        let refs: Vec<String> = (0..TICKETS)
            .map(|i| {
                app.create_ticket(
                    &customers[i % 2],
                    NewTicketRequest {
                        subject: format!("Printer {round}-{i} offline"),
                        description: "It stopped printing this morning.".into(),
                        severity: Some(Severity::S3),
                        queue: None,
                        organisation: None,
                        requester: None,
                        source: None,
                    },
                    now,
                )
                .unwrap()
                .reference
            })
            .collect();
        let mails_before = db.outbox_rows();
        let req = BulkRequest {
            tickets: refs,
            reply: Some("The print server is back: please try again.".into()),
            assignee: Some("me".into()),
            ..BulkRequest::default()
        };
        let t = Instant::now();
        let report = app.bulk_change(&agent, &req, now).unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(report.changed, TICKETS, "{:?}", report.tickets.iter().find(|t| !t.ok));
        let mails = db.outbox_rows() - mails_before;
        assert_eq!(mails, TICKETS as i64, "one mail per ticket");
        println!(
            "{backend}: round {round}: {TICKETS} tickets assigned and replied to in {secs:.2} s, {mails} mails queued"
        );
        times.push(secs);
    }
    times.sort_by(|a, b| a.total_cmp(b));
    println!("{backend}: median of 3: {:.2} s for {TICKETS} tickets", times[1]);
}
