//! The SLA tick on simulated time: a fortnight over Christmas in Scotland
//! (bank holidays on 25 and 28 December), every warning and breach checked
//! against instants worked out by hand in Europe/London time; catch-up
//! after downtime; the escalation matrix's recipients, each told once.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use sladesk::app::Principal;
use sladesk::app::tickets::NewTicketRequest;
use sladesk::domain::ticket::Severity;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    a_simulated_fortnight_warns_and_breaches_at_the_hand_computed_instants,
    after_downtime_breaches_carry_their_true_instants_and_are_told_once,
    a_severity_1_breach_reaches_the_account_contact,
    an_unassigned_severity_1_ticket_at_risk_goes_to_the_top_of_its_queue,
    the_audit_purge_keeps_the_retention_period_and_says_what_it_did,
);

fn at(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn raise(app: &sladesk::app::App, severity: Severity, now: DateTime<Utc>) -> String {
    let carol = app.principal_for("carol@acme.example").unwrap();
    app.create_ticket(
        &carol,
        NewTicketRequest {
            subject: "Payroll export fails".into(),
            description: "Stops at 40%.".into(),
            severity: Some(severity),
            queue: Some("service-desk".into()),
            organisation: None,
            requester: None,
            source: None,
        },
        now,
    )
    .unwrap()
    .reference
}

/// (clock, level, due_at) of every alert recorded on the ticket, in order.
fn alerts(app: &sladesk::app::App, reference: &str) -> Vec<(String, String, String)> {
    app.ticket_events(&Principal::operator(), reference)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == "alert_recorded")
        .map(|e| {
            let level = match &e.data["level"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            (
                e.data["clock"].as_str().unwrap().to_string(),
                level,
                e.data["due_at"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// (kind, to, context) of every notice of `kinds` queued, in order.
fn notices(app: &sladesk::app::App, kinds: &[&str]) -> Vec<(String, String, serde_json::Value)> {
    use sladesk::store::schema::outbox;
    outbox::table
        .filter(outbox::kind.eq_any(kinds))
        .order(outbox::id)
        .select((outbox::kind, outbox::to_address, outbox::context))
        .load::<(String, String, String)>(&mut app.conn().unwrap())
        .unwrap()
        .into_iter()
        .map(|(k, to, c)| (k, to, serde_json::from_str(&c).unwrap()))
        .collect()
}

/// A notice as its recipient reads it: subject and text.
fn rendered(kind: &str, context: &serde_json::Value) -> (String, String) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/email");
    let t = sladesk::mail::Templates::load(&dir).unwrap();
    let (subject, text, _) = t.render(kind, context).unwrap();
    (subject, text)
}

/// (kind, to) of every staff alert queued.
fn staff_mail(app: &sladesk::app::App) -> Vec<(String, String)> {
    use sladesk::store::schema::outbox;
    outbox::table
        .filter(outbox::kind.eq_any(["sla_warning", "sla_breach"]))
        .order(outbox::id)
        .select((outbox::kind, outbox::to_address))
        .load(&mut app.conn().unwrap())
        .unwrap()
}

async fn a_simulated_fortnight_warns_and_breaches_at_the_hand_computed_instants(db: Db) {
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        // Wednesday 23 December 2026, 16:00 in London (GMT: UTC+0).
        let start = at("2026-12-23T16:00:00Z");
        let reference = raise(&app, Severity::S2, start);
        let mut now = start;
        let mut ticks = 0;
        let clock = std::time::Instant::now();
        while now < start + Duration::days(14) {
            now += Duration::minutes(10);
            app.sla_tick(now).unwrap();
            ticks += 1;
        }
        let took = clock.elapsed();
        // Silver, severity 2: respond within 1 hour, resolve within 3
        // business days of 9 h 30 min, 08:00–17:30 Monday to Friday.
        // Response: 75% after 45 min, 90% after 54 min, due after 60 min.
        // Resolve (28 h 30 min): Wed 23rd 16:00–17:30 (1 h 30), Thu 24th
        // (9 h 30, 11 h in all), Fri 25th Christmas and Mon 28th Boxing Day
        // (substitute) closed, Tue 29th (9 h 30, 20 h 30 in all), then Wed
        // 30th from 08:00: 75% (21 h 22 min 30 s) at 08:52:30, 90% (25 h 39
        // min) at 13:09, the breach (28 h 30) at 16:00.
        assert_eq!(
            alerts(&app, &reference),
            vec![
                (
                    "response".into(),
                    "{\"at_risk\":75}".into(),
                    "2026-12-23T16:45:00Z".into()
                ),
                (
                    "response".into(),
                    "{\"at_risk\":90}".into(),
                    "2026-12-23T16:54:00Z".into()
                ),
                ("response".into(), "breach".into(), "2026-12-23T17:00:00Z".into()),
                (
                    "resolve".into(),
                    "{\"at_risk\":75}".into(),
                    "2026-12-30T08:52:30Z".into()
                ),
                (
                    "resolve".into(),
                    "{\"at_risk\":90}".into(),
                    "2026-12-30T13:09:00Z".into()
                ),
                ("resolve".into(), "breach".into(), "2026-12-30T16:00:00Z".into()),
            ]
        );
        // The matrix: 75% to the assignee, or the queue while unassigned
        // (alice and bob); 90% to the queue lead (alice); a breach to the
        // managers. Each once, whatever the number of ticks.
        let w = |to: &str| ("sla_warning".to_string(), to.to_string());
        let b = |to: &str| ("sla_breach".to_string(), to.to_string());
        assert_eq!(
            staff_mail(&app),
            vec![
                w("alice@desk.example"),
                w("bob@desk.example"),
                w("alice@desk.example"),
                b("manager@desk.example"),
                w("alice@desk.example"),
                w("bob@desk.example"),
                w("alice@desk.example"),
                b("manager@desk.example"),
            ]
        );
        // Each notice names the real due instant (not the threshold's), the
        // business time left when it was sent (ticks every 10 min), and the
        // threshold reached.
        let all = notices(&app, &["sla_warning", "sla_breach"]);
        let (subject, text) = rendered("sla_warning", &all[0].2);
        assert!(
            subject.starts_with("[SD-000001] At risk: response due 17:00 Wed 23 Dec, 10 min 00 s left (severity 2, "),
            "{subject}"
        );
        assert!(
            text.contains("75% of the 1 h 00 min response target was reached at 16:45 on Wednesday 23 December 2026"),
            "{text}"
        );
        assert!(
            text.contains("Due:          17:00 on Wednesday 23 December 2026"),
            "{text}"
        );
        assert!(text.contains("Assignee:     nobody"), "{text}");
        assert!(text.contains("/tickets/SD-000001"), "{text}");
        let (subject, text) = rendered("sla_warning", &all[4].2);
        assert!(subject.contains("resolve due 16:00 Wed 30 Dec, "), "{subject}");
        assert!(text.contains("75% of the 3 business days resolve target"), "{text}");
        let (subject, text) = rendered("sla_breach", &all[7].2);
        assert!(
            subject.contains("BREACHED: resolve was due 16:00 Wed 30 Dec"),
            "{subject}"
        );
        assert!(
            text.contains("it was due at 16:00 on Wednesday 30 December 2026"),
            "{text}"
        );
        let view = app.get_ticket(&Principal::operator(), &reference).unwrap();
        assert_eq!(view.escalation_level, Some(3), "breached: the top level");
        assert_eq!(view.next_check_at, None, "nothing left to watch");
        // Most ticks find nothing: the index answers them.
        assert!(ticks > 2000, "{ticks}");
        eprintln!("{ticks} ticks over a simulated fortnight in {took:?}");
    })
    .await
    .unwrap();
}

async fn after_downtime_breaches_carry_their_true_instants_and_are_told_once(db: Db) {
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let start = at("2026-12-23T16:00:00Z");
        let reference = raise(&app, Severity::S2, start);
        // Nothing ran for three hours; the first tick after finds everything.
        let report = app.sla_tick(start + Duration::hours(3)).unwrap();
        assert_eq!((report.tickets, report.alerts, report.failed), (1, 3, 0), "{report:?}");
        let due: Vec<String> = alerts(&app, &reference).into_iter().map(|a| a.2).collect();
        assert_eq!(
            due,
            vec!["2026-12-23T16:45:00Z", "2026-12-23T16:54:00Z", "2026-12-23T17:00:00Z"],
            "each at the instant it fell due, not when it was noticed"
        );
        let events = app.ticket_events(&Principal::operator(), &reference).unwrap();
        let breach = events.iter().find(|e| e.data["level"] == "breach").unwrap();
        assert_eq!(breach.at, start + Duration::hours(3), "recorded when noticed");
        assert_eq!(staff_mail(&app).len(), 4);
        // Ticking again, at the same instant or later, adds nothing.
        for h in [3, 4] {
            let again = app.sla_tick(start + Duration::hours(h)).unwrap();
            assert_eq!(again.alerts, 0);
        }
        assert_eq!(staff_mail(&app).len(), 4, "no notice twice");
    })
    .await
    .unwrap();
}

async fn a_severity_1_breach_reaches_the_account_contact(db: Db) {
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let start = at("2026-12-22T09:00:00Z");
        raise(&app, Severity::S1, start);
        app.sla_tick(start + Duration::hours(2)).unwrap();
        let breaches: Vec<String> = staff_mail(&app)
            .into_iter()
            .filter(|(k, _)| k == "sla_breach")
            .map(|(_, to)| to)
            .collect();
        assert_eq!(
            breaches,
            vec!["manager@desk.example"],
            "the staff notice goes to staff only"
        );
        // The account contact, a customer, is told in a customer's words:
        // what breached, when, and what happens next; no queue, assignee
        // or escalation level.
        let theirs = notices(&app, &["sla_customer_notice"]);
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].1, "accounts@acme.example");
        let context = theirs[0].2.as_object().unwrap();
        for staff_only in ["queue", "assignee", "escalation"] {
            assert!(!context.contains_key(staff_only), "{staff_only} in {context:?}");
        }
        let (subject, text) = rendered("sla_customer_notice", &theirs[0].2);
        assert!(
            subject.starts_with("[SD-000001] Our first response target was missed: "),
            "{subject}"
        );
        assert!(
            text.contains("It was due at 10:00 on Tuesday 22 December 2026"),
            "{text}"
        );
        assert!(text.contains("What happens next"), "{text}");
        assert!(text.contains("/tickets/SD-000001"), "{text}");
        assert!(!text.contains("nobody") && !text.contains("level"), "{text}");
    })
    .await
    .unwrap();
}

/// Two `sladesk scheduler run` processes on one PostgreSQL, 2,000 tickets
/// with warnings and breaches falling due; one is killed with SIGKILL
/// mid-tick and started again. Every warning and breach is recorded once,
/// and each notice the matrix calls for is queued once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_schedulers_on_postgresql_share_the_work_and_a_killed_one_loses_nothing() {
    use std::process::{Command, Stdio};
    const N: i64 = 2000;
    let t = spawn_app(Db::Postgres).await;
    let app = t.app.clone();
    let started = tokio::task::spawn_blocking(move || {
        let gina = app.principal_for("gina@globex.example").unwrap();
        let now = sladesk::app::now();
        for i in 0..N {
            // Platinum (24x7): raised over the last ten hours, so each has
            // anything from none to all six of its alerts due.
            let severity = [Severity::S1, Severity::S2, Severity::S3][(i % 3) as usize];
            app.create_ticket(
                &gina,
                NewTicketRequest {
                    subject: format!("Load {i}"),
                    description: "x".into(),
                    severity: Some(severity),
                    queue: Some("service-desk".into()),
                    organisation: None,
                    requester: None,
                    source: None,
                },
                now - Duration::seconds(i * 18),
            )
            .unwrap();
        }
        sladesk::app::now()
    })
    .await
    .unwrap();

    let dir = std::env::temp_dir().join(format!("sladesk-sched-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("sladesk.toml");
    std::fs::write(
        &config,
        format!(
            "database_url = '{}'\n[scheduler]\nsla_tick = '* * * * * *'\nmonthly_reports = '0 0 0 1 1 *'\n\
             audit_purge = '0 0 0 1 1 *'\ncontract_end = '0 0 0 1 1 *'\n",
            t.database_url
        ),
    )
    .unwrap();
    let spawn = || {
        Command::new(env!("CARGO_BIN_EXE_sladesk"))
            .args(["scheduler", "run", "--config"])
            .arg(&config)
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let url = t.database_url.clone();
    let count = move |sql: &str| -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut c = diesel::PgConnection::establish(&url).unwrap();
        diesel::sql_query(sql).get_result::<Count>(&mut c).unwrap().n
    };
    let mut a = spawn();
    let b = spawn();
    let begun = std::time::Instant::now();
    while count("SELECT COUNT(*) AS n FROM ticket_events WHERE kind = 'alert_recorded'") < 300 {
        assert!(begun.elapsed().as_secs() < 120, "the schedulers recorded nothing");
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    a.kill().unwrap(); // SIGKILL, mid-tick
    a.wait().unwrap();
    let again = spawn();
    let due_then = format!(
        "SELECT COUNT(*) AS n FROM tickets WHERE next_check_at <= '{}'",
        started.naive_utc()
    );
    while count(&due_then) > 0 {
        assert!(
            begun.elapsed().as_secs() < 300,
            "{} tickets still due",
            count(&due_then)
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for mut p in [b, again] {
        p.kill().unwrap();
        p.wait().unwrap();
    }

    // Every alert once.
    let mut c = diesel::PgConnection::establish(&t.database_url).unwrap();
    use sladesk::store::schema::{outbox, ticket_events};
    let events: Vec<(i64, String)> = ticket_events::table
        .filter(ticket_events::kind.eq("alert_recorded"))
        .select((ticket_events::ticket_id, ticket_events::data))
        .load(&mut c)
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut expected_mail = 0;
    for (ticket, data) in &events {
        let d: serde_json::Value = serde_json::from_str(data).unwrap();
        let key = (
            *ticket,
            d["clock"].to_string(),
            d["level"].to_string(),
            d["severity"].to_string(),
        );
        assert!(seen.insert(key.clone()), "recorded twice: {key:?}");
        expected_mail += match (d["level"].as_str(), d["severity"].as_i64()) {
            (Some("breach"), Some(1)) => 2,        // managers and the account contact
            (Some("breach"), _) => 1,              // managers
            _ if d["level"]["at_risk"] == 75 => 2, // the queue: alice and bob
            _ => 1,                                // 90%: the queue lead
        };
    }
    assert!(events.len() > 3000, "{} alerts", events.len());
    // Every notice once.
    let mail: Vec<(Option<i64>, String, String)> = outbox::table
        .filter(outbox::kind.eq_any(["sla_warning", "sla_breach", "sla_customer_notice"]))
        .select((outbox::ticket_id, outbox::to_address, outbox::context))
        .load(&mut c)
        .unwrap();
    let mut sent = std::collections::HashSet::new();
    for (ticket, to, context) in &mail {
        let ctx: serde_json::Value = serde_json::from_str(context).unwrap();
        let key = (
            *ticket,
            to.clone(),
            ctx["clock"].to_string(),
            ctx["escalation"].to_string(),
        );
        assert!(sent.insert(key.clone()), "queued twice: {key:?}");
    }
    assert_eq!(mail.len(), expected_mail, "each notice the matrix calls for, once");
    eprintln!(
        "{N} tickets: {} alerts and {} notices, each once, in {:?} with one scheduler killed",
        events.len(),
        mail.len(),
        begun.elapsed()
    );
    let _ = std::fs::remove_dir_all(&dir);
}

async fn an_unassigned_severity_1_ticket_at_risk_goes_to_the_top_of_its_queue(db: Db) {
    let t = spawn_app(db).await;
    let app = t.app.clone();
    let (x, y, z) = tokio::task::spawn_blocking(move || {
        let gina = app.principal_for("gina@globex.example").unwrap();
        let now = sladesk::app::now();
        let raise = |severity, minutes_ago: i64| {
            app.create_ticket(
                &gina,
                NewTicketRequest {
                    subject: format!("severity {severity:?}"),
                    description: "x".into(),
                    severity: Some(severity),
                    queue: Some("service-desk".into()),
                    organisation: None,
                    requester: None,
                    source: None,
                },
                now - Duration::minutes(minutes_ago),
            )
            .unwrap()
            .reference
        };
        // Platinum, 24x7. X (severity 3, 1 h to respond) is at 75% and
        // next looks at 90% in a minute; Y (severity 1, 15 min) is at 75%
        // and next looks at 90% in 90 seconds.
        // Z (severity 2) breached three days ago and still runs.
        let z = raise(Severity::S2, 3 * 24 * 60 + 60);
        let x = raise(Severity::S3, 53);
        let y = raise(Severity::S1, 12);
        app.sla_tick(now).unwrap();
        (x, y, z)
    })
    .await
    .unwrap();
    let a = t.get("/api/v1/tickets?status=new", &t.agent).await;
    let order: Vec<&str> = a.references();
    assert_eq!(
        order,
        vec![y.as_str(), z.as_str(), x.as_str()],
        "Y, unassigned and escalating, first; above a breach three days old"
    );
    let a = t.get(&format!("/api/v1/tickets/{y}"), &t.agent).await;
    assert_eq!(a.json["escalation_level"], 1);
    // Once someone takes it, it goes back to its place by time to breach.
    let a = t
        .patch(
            &format!("/api/v1/tickets/{y}"),
            &t.agent,
            serde_json::json!({"assignee": "alice@desk.example"}),
        )
        .await;
    assert_eq!(a.status, 200, "{}", a.text);
    let a = t.get("/api/v1/tickets?limit=5", &t.agent).await;
    let refs: Vec<&str> = a.references();
    assert_eq!(refs, vec![z.as_str(), x.as_str(), y.as_str()]);
}

async fn the_audit_purge_keeps_the_retention_period_and_says_what_it_did(db: Db) {
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        use sladesk::store::schema::audit_log;
        let now = at("2026-11-26T12:00:00Z");
        let mut c = app.conn().unwrap();
        let before: i64 = audit_log::table.count().get_result(&mut c).unwrap();
        // Two rows from long ago, one just inside three months.
        for (when, what) in [
            ("2026-01-10T09:00:00Z", "old.one"),
            ("2026-05-01T09:00:00Z", "old.two"),
            ("2026-08-27T09:00:00Z", "recent"),
        ] {
            diesel::insert_into(audit_log::table)
                .values((
                    audit_log::at.eq(at(when).naive_utc()),
                    audit_log::actor.eq("test"),
                    audit_log::action.eq(what),
                    audit_log::target.eq("x"),
                ))
                .execute(&mut c)
                .unwrap();
        }
        assert!(
            app.purge_audit_log(12, now).is_err(),
            "the listing offers 1 to 6 months"
        );
        assert_eq!(app.purge_audit_log(3, now).unwrap(), 2);
        let actions: Vec<String> = audit_log::table
            .order(audit_log::id)
            .select(audit_log::action)
            .load(&mut c)
            .unwrap();
        assert!(actions.contains(&"recent".to_string()));
        assert!(!actions.iter().any(|a| a.starts_with("old.")));
        assert_eq!(
            actions.last().map(String::as_str),
            Some("audit.purge"),
            "the purge leaves its own row"
        );
        assert_eq!(actions.len() as i64, before + 2);
        assert!(app.end_contracts(now).unwrap().is_empty(), "no contract has ended");
    })
    .await
    .unwrap();
}
