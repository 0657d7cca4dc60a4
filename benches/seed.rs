//! A desk with years of history for the HTTP load tests (benches/load.sh
//! with SEED=N): SLADESK_SEED_URL names the database (empty; it is
//! migrated), SLADESK_BENCH_TICKETS how many tickets (default 1,000,000).
//!
//!     SLADESK_SEED_URL=sqlite:///tmp/big.db cargo bench --bench seed
//!
//! The test desk's staff and customers, then ten organisations whose tickets
//! are copies of one worked ticket each (six events: 6,000,000 events at a
//! million; `BenchDb::seed_history`, as the report bench makes them), all
//! resolved; then a working day of open tickets raised through the
//! application, which the agents' queue shows; then the search index is
//! built, as after any bulk import. Prints the tokens and a
//! ticket to read, as `name value` lines for the script.

use std::time::Instant;

use chrono::Duration;
use sladesk::app::Principal;

mod common;

fn main() {
    let url = std::env::var("SLADESK_SEED_URL").expect("SLADESK_SEED_URL: the database to fill");
    let n: i64 = std::env::var("SLADESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = common::BenchDb::open(&url);
    let app = db.app.clone();
    let now = sladesk::app::now();
    let began = Instant::now();
    db.plant_test_desk(now - Duration::days(400));
    // Today's open work, what the agents' queue is made of, first: the
    // history's copies take references the application would give next.
    let gina = app.principal_for("gina@globex.example").unwrap();
    let carol = app.principal_for("carol@acme.example").unwrap();
    let mut last = String::new();
    for i in 0..200 {
        let who = if i % 2 == 0 { &gina } else { &carol };
        last = db.template_ticket(who, now - Duration::minutes(400 - i));
    }
    db.seed_history(10, n / 10, now - Duration::days(300));
    let op = Principal::operator();
    // A desk with years of history has its search index up to date. The
    // copies are queued for the indexer; left queued, the server indexes a
    // million tickets during the load and the figures measure that instead
    // (the first million-ticket figures did, until 2026-12-01).
    app.rebuild_search_index(&op, now).unwrap();
    let token = |email: &str| app.create_token(&op, email, "load", "full", None, now).unwrap();
    eprintln!(
        "seeded {n} tickets of history and 200 open ones in {:.0} s",
        began.elapsed().as_secs_f64()
    );
    println!("agent {}", token("alice@desk.example"));
    println!("customer {}", token("gina@globex.example"));
    println!("admin {}", token("admin@desk.example"));
    println!("read {last}");
    // A ticket from the middle of the history.
    let middle: String = {
        use diesel::prelude::*;
        use sladesk::store::schema::tickets;
        let mut c = app.conn().unwrap();
        tickets::table
            .filter(tickets::id.eq(n / 2))
            .select(tickets::reference)
            .first(&mut c)
            .unwrap()
    };
    println!("history {middle}");
}
