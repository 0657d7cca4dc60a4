//! What the database benches share: a fresh database (a temporary SQLite
//! file, or a database of their own on PostgreSQL named by
//! SLADESK_BENCH_DB), the application on it, and copying a real ticket
//! (row and events) many times in SQL.

#![allow(dead_code)]

use std::sync::Arc;

use chrono::NaiveDateTime;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};
use sladesk::app::App;
use sladesk::config::Settings;
use sladesk::server::build_app;

pub struct BenchDb {
    pub app: Arc<App>,
    pub postgres: bool,
    admin: Option<String>,
    name: String,
}

impl BenchDb {
    pub fn new(name: &str) -> BenchDb {
        let (url, admin) = match std::env::var("SLADESK_BENCH_DB") {
            Ok(admin) if admin.starts_with("postgres") => {
                let mut c = PgConnection::establish(&admin).expect("PostgreSQL for the bench");
                // One statement each: together they would run as one transaction.
                c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .unwrap();
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let (base, _) = admin.rsplit_once('/').unwrap();
                (format!("{base}/{name}"), Some(admin))
            }
            _ => {
                let dir = std::env::temp_dir().join(format!("{name}-{}", std::process::id()));
                std::fs::create_dir_all(&dir).unwrap();
                (format!("sqlite://{}", dir.join("bench.db").display()), None)
            }
        };
        let mut db = BenchDb::open(&url);
        db.admin = admin;
        db.name = name.to_string();
        db
    }

    /// The application on an existing database (`url`), migrated; it is
    /// kept when the bench ends (`new` makes one that is dropped).
    pub fn open(url: &str) -> BenchDb {
        let settings = Settings {
            listen: "127.0.0.1:0".into(),
            database_url: url.parse().unwrap(),
            policies: None,
            holidays_file: None,
            pool_size: 4,
            workers: 1,
        };
        BenchDb {
            app: build_app(&settings).unwrap(),
            postgres: url.starts_with("postgres"),
            admin: None,
            name: String::new(),
        }
    }

    /// Plants the desk every test and bench starts from
    /// (`fixtures/test/desk.toml`), dated `at`.
    pub fn plant_test_desk(&self, at: chrono::DateTime<chrono::Utc>) {
        let desk = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/test/desk.toml");
        sladesk::seed::Desk::load(std::path::Path::new(desk))
            .unwrap()
            .plant(&self.app, at, None)
            .unwrap();
    }

    /// Raises the ticket the bench copies: severity 2, by `who`, at `at`;
    /// its reference.
    pub fn template_ticket(&self, who: &sladesk::app::Principal, at: chrono::DateTime<chrono::Utc>) -> String {
        self.app
            .create_ticket(
                who,
                sladesk::app::tickets::NewTicketRequest {
                    subject: "Template".into(),
                    description: "x".into(),
                    severity: Some(sladesk::domain::ticket::Severity::S2),
                    queue: None,
                    organisation: None,
                    requester: None,
                    source: None,
                },
                at,
            )
            .unwrap()
            .reference
    }

    /// A desk with history: `orgs` organisations (`org00`…, tiers in turn,
    /// each with `contact@orgNN.example`) of `per_org` tickets each. Each
    /// organisation's first ticket is raised at `at` and worked through the
    /// application (reply, pending customer, customer reply, resolved: six
    /// events); the rest are SQL copies of it, real tickets the core
    /// replays. The report, tick and HTTP load benches share it.
    pub fn seed_history(&self, orgs: i64, per_org: i64, at: chrono::DateTime<chrono::Utc>) {
        use sladesk::app::admin::{NewOrganisationRequest, NewUserRequest};
        use sladesk::app::tickets::Change;
        use sladesk::app::{Principal, Role};
        use sladesk::domain::ticket::Status;
        let app = &self.app;
        let op = Principal::operator();
        let alice = app.principal_for("alice@desk.example").unwrap();
        for o in 0..orgs {
            let slug = format!("org{o:02}");
            app.create_organisation(
                &op,
                NewOrganisationRequest {
                    slug: slug.clone(),
                    name: format!("Organisation {o}"),
                    tier: ["platinum", "gold", "silver", "bronze"][o as usize % 4].into(),
                    region: "england-and-wales".into(),
                    email_domains: vec![format!("{slug}.example")],
                    monthly_charge_pence: 1_000_000,
                    contract_start: None,
                    contract_end: None,
                    may_declare_severity: false,
                    account_contact: None,
                    ticket_sharing: Default::default(),
                },
                at - chrono::Duration::days(1),
            )
            .unwrap();
            let contact = format!("contact@{slug}.example");
            app.create_user(
                &op,
                NewUserRequest {
                    email: contact.clone(),
                    name: None,
                    role: Role::Customer,
                    organisation: Some(slug.clone()),
                    password: None,
                },
                at - chrono::Duration::days(1),
            )
            .unwrap();
            let customer = app.principal_for(&contact).unwrap();
            let reference = self.template_ticket(&customer, at);
            let minutes = |m: i64| at + chrono::Duration::minutes(m);
            let change = |who: &Principal, c: Change, when| {
                app.change_ticket(who, &reference, &[c], None, when).unwrap();
            };
            change(&alice, Change::Reply("On it.".into()), minutes(20));
            change(&alice, Change::Status(Status::PendingCustomer), minutes(60));
            change(&customer, Change::Reply("Logs attached.".into()), minutes(300));
            change(&alice, Change::Resolve, minutes(26 * 60));
            // References from the copies' own ids, as the application
            // makes them: tickets raised later take the next id and must
            // not meet a copy's reference.
            let template = self.ticket_id(&reference);
            self.copy_ticket(template, per_org - 1, template, None);
        }
    }

    pub fn backend(&self) -> &'static str {
        if self.postgres { "PostgreSQL" } else { "SQLite" }
    }

    /// An instant as an SQL literal of this backend.
    pub fn timestamp(&self, t: NaiveDateTime) -> String {
        if self.postgres {
            format!("TIMESTAMP '{t}'")
        } else {
            format!("'{}'", t.format("%Y-%m-%d %H:%M:%S"))
        }
    }

    pub fn execute(&self, sql: &str) {
        self.app.conn().unwrap().batch_execute(sql).unwrap();
    }

    /// How many rows the outbox holds.
    pub fn outbox_rows(&self) -> i64 {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        let mut c = self.app.conn().unwrap();
        outbox::table.count().get_result(&mut c).unwrap()
    }

    /// The row id of a ticket.
    pub fn ticket_id(&self, reference: &str) -> i64 {
        use diesel::prelude::*;
        use sladesk::store::schema::tickets;
        let mut c = self.app.conn().unwrap();
        tickets::table
            .filter(tickets::reference.eq(reference))
            .select(tickets::id)
            .first(&mut c)
            .unwrap()
    }

    /// Copies ticket `template` (row and events) `copies` times, in its
    /// organisation, with references numbered from `first_reference`.
    /// `next_check` (if given) is the first copy's next check, one second
    /// later for each after it.
    pub fn copy_ticket(&self, template: i64, copies: i64, first_reference: i64, next_check: Option<NaiveDateTime>) {
        let (with, series, reference, plus) = if self.postgres {
            (
                String::new(),
                format!("generate_series(1, {copies}) AS g(n)"),
                // lpad cuts a longer text to the width: pad only up to 7 digits.
                format!(
                    "'SD-' || lpad(({first_reference} + n)::text, greatest(7, length(({first_reference} + n)::text)), '0')"
                ),
                next_check.map(|t| format!("{} + n * INTERVAL '1 second'", self.timestamp(t))),
            )
        } else {
            (
                format!("WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < {copies}) "),
                "g".to_string(),
                format!("printf('SD-%07d', {first_reference} + n)"),
                next_check.map(|t| format!("datetime({}, '+' || n || ' seconds')", self.timestamp(t))),
            )
        };
        let check = plus.clone().unwrap_or_else(|| "next_check_at".into());
        let order = plus.unwrap_or_else(|| "queue_order_at".into());
        let first_new: i64 = {
            use diesel::prelude::*;
            use sladesk::store::schema::tickets;
            let mut c = self.app.conn().unwrap();
            tickets::table
                .select(diesel::dsl::max(tickets::id))
                .first::<Option<i64>>(&mut c)
                .unwrap()
                .unwrap_or(0)
                + 1
        };
        self.execute(&format!(
            "INSERT INTO tickets (reference, organisation_id, requester_id, queue_id, assignee_id, severity, status, subject, source,
                received_at, created_at, updated_at, policy, policy_version, holiday_set, row_version, first_response_at, resolved_at,
                reopen_count, response_state, response_elapsed_seconds, response_due_at, response_breached_at, resolve_state,
                resolve_elapsed_seconds, resolve_due_at, resolve_breached_at, at_risk_at, next_check_at, sla_computed_at,
                escalation_level, queue_order_at)
             {with}SELECT {reference}, organisation_id, requester_id, queue_id, assignee_id, severity, status,
                subject, source, received_at, created_at, updated_at, policy, policy_version, holiday_set, row_version, first_response_at,
                resolved_at, reopen_count, response_state, response_elapsed_seconds, response_due_at, response_breached_at, resolve_state,
                resolve_elapsed_seconds, resolve_due_at, resolve_breached_at, at_risk_at, {check}, sla_computed_at, escalation_level,
                {order}
             FROM tickets, {series} WHERE tickets.id = {template};
             INSERT INTO ticket_events (ticket_id, seq, at, actor_role, actor_id, kind, visibility, body, data)
             SELECT t.id, e.seq, e.at, e.actor_role, e.actor_id, e.kind, e.visibility, e.body, e.data
             FROM tickets t JOIN ticket_events e ON e.ticket_id = {template} WHERE t.id >= {first_new};
             ANALYZE;"
        ));
    }
}

impl Drop for BenchDb {
    fn drop(&mut self) {
        // SLADESK_BENCH_KEEP=1 keeps a PostgreSQL bench's database, to
        // look at its plans afterwards.
        if std::env::var_os("SLADESK_BENCH_KEEP").is_some() {
            return;
        }
        if let Some(admin) = &self.admin {
            // Connections of the pool must go first: FORCE ends them.
            let mut c = PgConnection::establish(admin).unwrap();
            let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name));
        }
    }
}
