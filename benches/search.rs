//! Full-text search at a million tickets and six million events, on SQLite
//! or PostgreSQL; and what keeping the index costs ticket creation.
//!
//!     cargo bench --bench search                                   # SQLite, a temporary file
//!     SLADESK_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench search
//!     SLADESK_BENCH_TICKETS=100000 cargo bench --bench search      # fewer tickets
//!
//! The desk: the test desk and 50 more organisations, the tickets spread
//! over them (Globex, whose contact searches as the customer, holds one in
//! 51). One ticket is raised through the application and copied in SQL
//! (row and events); then each ticket gets a subject and four more events
//! of generated text: a customer's message, two replies, a customer's
//! answer and an internal note (six events a ticket with the two copied), words drawn from a Zipf distribution over
//! 400 words of support English and 20,000 rarer tokens (hosts, codes), so
//! that the commonest word is in nearly every ticket and most in few. The
//! load goes around the triggers and the index is built once with
//! `rebuild` (what `sladesk search reindex` runs), as an import would.
//!
//! Measured through `App::search_tickets` (parse, index, filters, ranking,
//! snippets, the views): 300 one-word and 300 two-word queries, a third
//! each of common, middling and rare words, as an agent and as a customer;
//! the median, 99th percentile and worst. Then creation: rounds of 300
//! tickets through `App::create_ticket` with the index's triggers in place
//! and taken away, alternately, five rounds each, while the indexer runs
//! as `serve` runs it; the median rate of each.

use std::time::Instant;

use chrono::Duration;
use diesel::prelude::*;
use sladesk::app::Principal;
use sladesk::app::tickets::{NewTicketRequest, SearchRequest};
use sladesk::domain::ticket::Severity;
use sladesk::store::DbConnection;

mod common;

const ORGANISATIONS: i64 = 50;
const QUERIES: usize = 300;

/// A small, fast, reproducible generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

const WORDS: &str = "the to and a of in is it on for we this that with be are not have you our from at \
    please can was error server ticket issue after has been as will by an or if now when all but \
    there up out any so your us do new one no time need which they more would some also again just \
    access user users backup backups storage disk database network connection login password account \
    email mail service services update upgrade restart restarted failed failing fails failure working \
    work works slow timeout timeouts latency outage down unavailable available instance instances vm \
    cluster node nodes volume volumes bucket buckets object objects upload uploads download certificate \
    certificates expired expiry dns domain domains firewall rule rules port ports vpn tunnel gateway \
    load balancer balancers memory cpu usage high alert alerts monitoring logs log file files folder \
    permission permissions denied role roles group groups invoice billing report reports monthly change \
    changes request requests approval approved deploy deployment pipeline build release version patch \
    security vulnerability scan snapshot snapshots restore restored replication replica primary standby \
    failover quorum latency packet loss route routing subnet address addresses ip ipv6 kubernetes pod pods \
    container containers image images registry secret secrets token tokens key keys rotate rotation \
    ssh rdp windows linux ubuntu debian kernel reboot rebooted crash crashed hang hung stuck queue queues \
    job jobs cron schedule scheduled maintenance window tonight tomorrow morning afternoon evening week \
    customer customers staff engineer engineers team support desk urgent priority severity critical major \
    minor impact impacted affected affecting production staging test testing development environment \
    region london manchester zone zones availability uptime sla breach breached response resolve resolved \
    investigating identified monitoring fixed fix workaround root cause problem known thanks thank regards \
    hello hi dear team checked check checking confirmed confirm confirmation attached attachment screenshot \
    trace stack exception null pointer memory leak disk full quota limit exceeded throttled rate limited \
    api endpoint endpoints http https status code codes 500 502 503 504 404 403 401 ssl tls handshake \
    cipher protocol proxy cache cached invalidate purge cdn origin latency bandwidth throughput iops \
    encryption encrypted decrypt checksum mismatch corrupt corrupted integrity verify verified validation";

fn vocabulary() -> Vec<String> {
    let mut v: Vec<String> = WORDS.split_whitespace().map(str::to_string).collect();
    v.dedup();
    // The long tail: host names, error codes, part numbers.
    for i in 0..20_000u32 {
        v.push(format!("zq{i:x}k"));
    }
    v
}

/// Zipf over ranks 1..=n by inverting the cumulative weights.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize) -> Zipf {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|r| {
                total += 1.0 / r as f64;
                total
            })
            .collect::<Vec<_>>();
        Zipf { cumulative }
    }

    fn sample(&self, rng: &mut Rng) -> usize {
        let x = rng.unit() * self.cumulative.last().unwrap();
        self.cumulative.partition_point(|c| *c < x)
    }
}

fn text(words: &[String], zipf: &Zipf, rng: &mut Rng, n: usize) -> String {
    let mut s = String::with_capacity(n * 8);
    for i in 0..n {
        if i > 0 {
            s.push(' ');
        }
        s.push_str(&words[zipf.sample(rng).min(words.len() - 1)]);
    }
    s
}

/// The index's triggers, taken away for a bulk load and put back.
fn triggers(db: &common::BenchDb, on: bool, saved: &mut Vec<String>) {
    if db.postgres {
        let verb = if on { "ENABLE" } else { "DISABLE" };
        db.execute(&format!(
            "ALTER TABLE tickets {verb} TRIGGER ticket_search_ticket;
             ALTER TABLE ticket_events {verb} TRIGGER ticket_search_event;
             ALTER TABLE attachments {verb} TRIGGER ticket_search_attachment;"
        ));
        return;
    }
    if on {
        for sql in saved.drain(..) {
            db.execute(&sql);
        }
        return;
    }
    #[derive(QueryableByName)]
    struct Trigger {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        sql: String,
    }
    let found: Vec<Trigger> =
        diesel::sql_query("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name LIKE 'ticket_search_%'")
            .load(&mut db.app.conn().unwrap())
            .unwrap();
    for t in found {
        db.execute(&format!("DROP TRIGGER {}", t.name));
        saved.push(t.sql);
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let n: i64 = std::env::var("SLADESK_BENCH_TICKETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let db = common::BenchDb::new("sladesk_bench_search");
    let backend = db.backend();
    let app = db.app.clone();
    let now = sladesk::app::now();
    db.plant_test_desk(now - Duration::days(400));
    let gina = app.principal_for("gina@globex.example").unwrap();
    let agent = app.principal_for("bob@desk.example").unwrap();
    db.template_ticket(&gina, now - Duration::days(30));
    let words = vocabulary();
    let zipf = Zipf::new(words.len());
    let mut rng = Rng(0x5eed_1e55_u64);

    let started = Instant::now();
    let mut saved = Vec::new();
    triggers(&db, false, &mut saved);
    // Fifty more organisations, copies of Acme's row.
    let series = if db.postgres {
        format!("generate_series(1, {ORGANISATIONS}) AS g(n)")
    } else {
        format!(
            "(WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {ORGANISATIONS}) SELECT n FROM g) g"
        )
    };
    db.execute(&format!(
        "INSERT INTO organisations (slug, name, tier, region, email_domains, monthly_charge_pence, contract_start,
            contract_end, status, created_at, may_declare_severity, account_contact)
         SELECT 'bench-' || n, 'Bench ' || n || ' Ltd', tier, region, 'bench' || n || '.example', monthly_charge_pence,
            contract_start, contract_end, status, created_at, may_declare_severity, account_contact
         FROM organisations, {series} WHERE slug = 'acme'"
    ));
    let (first_org, globex): (i64, i64) = {
        use sladesk::store::schema::organisations;
        let mut c = app.conn().unwrap();
        let first = organisations::table
            .filter(organisations::slug.eq("bench-1"))
            .select(organisations::id)
            .first(&mut c)
            .unwrap();
        let globex = organisations::table
            .filter(organisations::slug.eq("globex"))
            .select(organisations::id)
            .first(&mut c)
            .unwrap();
        (first, globex)
    };
    // Copies numbered from SD-2000001, clear of the references the
    // application gives the tickets raised later (SD-1000001 on).
    db.copy_ticket(1, n - 1, 2_000_000, None);
    let spread = ORGANISATIONS + 1;
    db.execute(&format!(
        "UPDATE tickets SET organisation_id = CASE WHEN id % {spread} = 0 THEN {globex} ELSE {first_org} + (id % {spread}) - 1 END"
    ));
    let last_seq: i64 = {
        use sladesk::store::schema::ticket_events;
        ticket_events::table
            .filter(ticket_events::ticket_id.eq(1))
            .select(diesel::dsl::max(ticket_events::seq))
            .first::<Option<i32>>(&mut app.conn().unwrap())
            .unwrap()
            .map_or(0, i64::from)
    };
    println!(
        "{backend}: {n} tickets copied and spread over {spread} organisations in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    // Subjects and four events of text per ticket, 10,000 tickets at a time.
    let t = Instant::now();
    let at = (now - Duration::days(30)).naive_utc();
    let shape: [(&str, &str, usize); 4] = [
        ("customer", "public", 30),
        ("agent", "public", 25),
        ("customer", "public", 15),
        ("agent", "internal", 15),
    ];
    let mut id = 1;
    while id <= n {
        let last = (id + 9_999).min(n);
        let subjects: Vec<(i64, String)> = (id..=last).map(|i| (i, text(&words, &zipf, &mut rng, 6))).collect();
        let bodies: Vec<(i64, usize, String)> = (id..=last)
            .flat_map(|i| (0..shape.len()).map(move |k| (i, k)))
            .map(|(i, k)| (i, k, text(&words, &zipf, &mut rng, shape[k].2)))
            .collect();
        let mut conn = app.conn().unwrap();
        write_batch(&mut conn, &subjects, &bodies, &shape, last_seq + 1, at);
        id = last + 1;
    }
    let events: i64 = {
        use sladesk::store::schema::ticket_events;
        ticket_events::table
            .count()
            .get_result(&mut app.conn().unwrap())
            .unwrap()
    };
    println!(
        "{backend}: subjects and text written, {events} events in all, in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let indexed = app.rebuild_search_index(&Principal::operator(), now).unwrap();
    println!(
        "{backend}: index built over {indexed} tickets in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    triggers(&db, true, &mut saved);
    db.execute("ANALYZE");

    // Queries: a third common (ranks 1–50), a third middling (51–2,000),
    // a third rare (2,001 on).
    let pick = |rng: &mut Rng, class: usize| -> &str {
        let (lo, hi) = [(0, 50), (50, 2_000), (2_000, words.len())][class];
        &words[lo + (rng.next() as usize) % (hi - lo)]
    };
    for (who, label) in [(&agent, "agent"), (&gina, "customer")] {
        for terms in [1, 2] {
            let mut times = Vec::with_capacity(QUERIES);
            let mut found = 0;
            for i in 0..QUERIES {
                let class = i % 3;
                let q = (0..terms).map(|_| pick(&mut rng, class)).collect::<Vec<_>>().join(" ");
                let req = SearchRequest {
                    q,
                    limit: Some(20),
                    offset: None,
                    sort: None,
                };
                let t = Instant::now();
                let r = app.search_tickets(who, &req, now).unwrap();
                times.push(t.elapsed().as_secs_f64() * 1000.0);
                found += r.items.len();
            }
            times.sort_by(|a, b| a.total_cmp(b));
            println!(
                "{backend}: {label}, {terms}-word queries ({QUERIES}): median {:.2} ms, p99 {:.2} ms, worst {:.2} ms ({found} results shown)",
                percentile(&times, 0.5),
                percentile(&times, 0.99),
                times.last().unwrap()
            );
        }
    }

    if let Ok(tune) = std::env::var("SLADESK_BENCH_FTS") {
        db.execute(&tune);
    }
    // Creation with and without the index's triggers, alternately, with
    // the indexer running as `serve` runs it: its work competes with the
    // creations for the write lock and the cores, so it is counted.
    sladesk::server::spawn_search_indexer(app.clone()).unwrap();
    let round = 300;
    let mut with = Vec::new();
    let mut without = Vec::new();
    for r in 0..10 {
        // The triggers are in place now; every other round runs without.
        let indexing = r % 2 == 0;
        if !indexing {
            triggers(&db, false, &mut saved);
        }
        let t = Instant::now();
        for _ in 0..round {
            app.create_ticket(
                &gina,
                NewTicketRequest {
                    subject: text(&words, &zipf, &mut rng, 6),
                    description: text(&words, &zipf, &mut rng, 40),
                    severity: Some(Severity::S3),
                    queue: None,
                    organisation: None,
                    requester: None,
                    source: None,
                },
                now,
            )
            .unwrap();
        }
        let rate = round as f64 / t.elapsed().as_secs_f64();
        if indexing {
            with.push(rate)
        } else {
            without.push(rate);
            triggers(&db, true, &mut saved);
        }
    }
    with.sort_by(|a, b| a.total_cmp(b));
    without.sort_by(|a, b| a.total_cmp(b));
    let (w, wo) = (with[with.len() / 2], without[without.len() / 2]);
    std::thread::sleep(std::time::Duration::from_secs(1));
    println!(
        "{backend}: {} tickets left for the indexer a second after the last round",
        app.search_queue_length().unwrap()
    );
    println!(
        "{backend}: creation, median of 5 rounds of {round}: {w:.0}/s indexed, {wo:.0}/s without the index ({:+.1} %)",
        (w / wo - 1.0) * 100.0
    );
}

/// One batch: subjects set, events inserted (numbered after the copied
/// ones), in one transaction.
fn write_batch(
    conn: &mut DbConnection,
    subjects: &[(i64, String)],
    bodies: &[(i64, usize, String)],
    shape: &[(&str, &str, usize); 4],
    first_seq: i64,
    at: chrono::NaiveDateTime,
) {
    use diesel::sql_types::{Array, BigInt, Text};
    conn.write(|c| {
        match c {
            DbConnection::Postgres(pg) => {
                diesel::sql_query(
                    "UPDATE tickets SET subject = v.s FROM unnest($1::bigint[], $2::text[]) AS v(id, s) WHERE tickets.id = v.id",
                )
                .bind::<Array<BigInt>, _>(subjects.iter().map(|s| s.0).collect::<Vec<_>>())
                .bind::<Array<Text>, _>(subjects.iter().map(|s| s.1.as_str()).collect::<Vec<_>>())
                .execute(pg)?;
            }
            DbConnection::Sqlite(sq) => {
                for (id, s) in subjects {
                    diesel::sql_query("UPDATE tickets SET subject = ? WHERE id = ?")
                        .bind::<Text, _>(s)
                        .bind::<BigInt, _>(id)
                        .execute(sq)?;
                }
            }
        }
        let rows: Vec<sladesk::store::models::NewEvent> = bodies
            .iter()
            .map(|(id, k, body)| sladesk::store::models::NewEvent {
                ticket_id: *id,
                seq: (first_seq + *k as i64) as i32,
                at: at + Duration::minutes(10 * (*k as i64 + 1)),
                actor_role: shape[*k].0,
                actor_id: None,
                kind: "commented",
                visibility: shape[*k].1,
                body: Some(body.as_str()),
                data: "{\"bench\":true}".into(),
            })
            .collect();
        sladesk::store::tickets::insert_events(c, &rows)
    })
    .unwrap();
}
