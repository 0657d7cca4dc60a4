//! The `sladesk` command line: thin adapters from arguments, files and
//! stdin to the domain core. Other tools drive these interfaces, so their
//! output formats are stable (see DESIGN.md, "Outside interfaces").

use std::borrow::Cow;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::{DateTime, Duration, SecondsFormat, Utc};
use clap::{Args, Parser, Subcommand, ValueEnum};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::app::Principal;
use crate::app::admin::{NewOrganisationRequest, NewUserRequest};
use crate::domain::clock::sla;
use crate::domain::holidays::{Holidays, RULES_FIRST_YEAR, RULES_LAST_YEAR, Region};
use crate::domain::ticket::{Actor, Severity, SlaContext, Ticket};
use crate::policies::{CalendarCache, PolicySet};
use crate::server::{DEFAULT_DATABASE, DEFAULT_LISTEN, FileSettings, MailSettings, Settings, build_app};

#[derive(Parser)]
#[command(name = "sladesk", version, about = "An ITIL service desk and SLA tracking engine")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone)]
struct Sources {
    /// Directory of SLA policy files (*.toml).
    #[arg(long, env = "SLADESK_POLICIES", default_value = "sla-policies", global = true)]
    policies: PathBuf,
    /// A GOV.UK bank holidays JSON file whose years replace the computed ones.
    #[arg(long = "holidays-file", env = "SLADESK_HOLIDAYS_FILE", global = true)]
    holidays_file: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct DbArgs {
    /// sqlite://PATH (default sqlite://sladesk.db) or postgres://USER@HOST:PORT/DB
    #[arg(long = "database-url", env = "SLADESK_DATABASE_URL")]
    database_url: Option<String>,
    /// Settings file (default: sladesk.toml if present).
    #[arg(long, env = "SLADESK_CONFIG")]
    config: Option<PathBuf>,
    /// Directory of SLA policy files (default sla-policies).
    #[arg(long, env = "SLADESK_POLICIES")]
    policies: Option<PathBuf>,
    /// A GOV.UK bank holidays JSON file whose years replace the computed ones.
    #[arg(long = "holidays-file", env = "SLADESK_HOLIDAYS_FILE")]
    holidays_file: Option<PathBuf>,
}

#[derive(Args, Clone)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address and port to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "SLADESK_LISTEN")]
    listen: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server (REST API under /api/v1).
    Serve(ServeArgs),
    /// Creates a fresh SQLite database with demo data, prints logins and tokens, and serves it.
    Demo(ServeArgs),
    /// Applies pending database migrations.
    Migrate(DbArgs),
    /// Takes one RFC 5322 message on stdin (for an MTA pipe). Exit 0 once it
    /// is committed, 75 on a transient failure (retry), 65 if it can never
    /// be accepted.
    Ingest(DbArgs),
    /// The scheduler's jobs: SLA tick, monthly reports, audit purge, contract end.
    Scheduler {
        #[command(subcommand)]
        command: SchedulerCommand,
    },
    /// The outbox of notifications.
    Outbox {
        #[command(subcommand)]
        command: OutboxCommand,
    },
    /// Customer organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Queues where tickets wait for agents.
    Queue {
        #[command(subcommand)]
        command: QueueCommand,
    },
    /// Users: customers (contacts) and staff.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Prints the current TOTP code for a base32 secret, as an authenticator
    /// app would (for the demo's managers and admins, and for scripts).
    TotpCode {
        /// The base32 secret, as shown at enrolment.
        secret: String,
    },
    /// UK bank holidays.
    Holidays {
        #[command(subcommand)]
        command: HolidaysCommand,
    },
    /// Business-time arithmetic on a named calendar.
    Calendar {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: CalendarCommand,
    },
    /// SLA questions answered by the core.
    Sla {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: SlaCommand,
    },
    /// SLA policy files.
    Policy {
        #[command(flatten)]
        sources: Sources,
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Writes everything of one organisation to a folder (end of contract).
    Export {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation's slug.
        #[arg(long)]
        org: String,
        /// The folder to write; created, and must be empty if it exists.
        #[arg(long)]
        out: PathBuf,
    },
    /// Monthly SLA and service-credit reports.
    Report {
        #[command(subcommand)]
        command: ReportCommand,
    },
    /// Outages, from which availability is computed.
    Outage {
        #[command(subcommand)]
        command: OutageCommand,
    },
    /// Credits received from the platform provider, passed on to customers.
    UpstreamCredit {
        #[command(subcommand)]
        command: UpstreamCreditCommand,
    },
}

#[derive(Subcommand)]
enum UpstreamCreditCommand {
    /// Records a credit received, to be passed on in that month's reports.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// The provider's reference; unique.
        #[arg(long)]
        reference: String,
        /// YYYY-MM: the month it is passed on in.
        #[arg(long)]
        month: String,
        #[arg(long)]
        amount_pence: i64,
        #[arg(long)]
        description: String,
        /// An organisation it concerns (repeatable; split evenly), or --all.
        #[arg(long = "org")]
        orgs: Vec<String>,
        #[arg(long)]
        all: bool,
        /// SLUG=PENCE: an organisation's share, instead of an even split (repeatable).
        #[arg(long = "share")]
        shares: Vec<String>,
    },
    /// Lists recorded credits, newest month first.
    List {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        month: Option<String>,
    },
}

#[derive(Subcommand)]
enum ReportCommand {
    /// One organisation's month (or, without --org, the whole desk's).
    Monthly {
        #[command(flatten)]
        db: DbArgs,
        /// The organisation's slug; the whole desk if absent.
        #[arg(long)]
        org: Option<String>,
        /// YYYY-MM, a Europe/London month.
        #[arg(long)]
        month: String,
        /// json, html (tables and charts), csv (the summary rows) or csv-tickets (a row per ticket).
        #[arg(long, default_value = "json")]
        format: String,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Compute a closed month again and keep the new figures.
        #[arg(long)]
        recompute: bool,
    },
}

#[derive(Subcommand)]
enum OutageCommand {
    /// Records an outage.
    Add {
        #[command(flatten)]
        db: DbArgs,
        /// planned_maintenance, emergency_maintenance or platform_issue.
        #[arg(long)]
        kind: String,
        /// RFC 3339 instant.
        #[arg(long)]
        start: String,
        /// RFC 3339 instant; absent while it goes on.
        #[arg(long)]
        end: Option<String>,
        /// When customers were told (RFC 3339).
        #[arg(long)]
        notified_at: Option<String>,
        /// An affected organisation's slug; repeat for several; --all for every one.
        #[arg(long = "org")]
        orgs: Vec<String>,
        #[arg(long)]
        all: bool,
        /// The staff's own account.
        #[arg(long)]
        description: String,
        /// What customers are told (without it: the kind alone).
        #[arg(long)]
        public_description: Option<String>,
    },
    /// Ends an ongoing outage.
    End {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        id: i64,
        /// RFC 3339 instant.
        #[arg(long)]
        at: String,
    },
    /// Lists outages, newest first.
    List {
        #[command(flatten)]
        db: DbArgs,
        /// Those overlapping this month (YYYY-MM).
        #[arg(long)]
        month: Option<String>,
        #[arg(long)]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum OutboxCommand {
    /// Delivers what is due, once, and reports.
    Deliver {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Adds an organisation.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// Support tier: a policy name (bronze, silver, gold, platinum).
        #[arg(long)]
        tier: String,
        #[arg(long)]
        region: String,
        /// Mail domain of the organisation's contacts; repeat for several.
        #[arg(long = "email-domain")]
        email_domains: Vec<String>,
        /// Monthly charge in pence.
        #[arg(long, default_value_t = 0)]
        monthly_charge_pence: i64,
        #[arg(long)]
        contract_start: Option<chrono::NaiveDate>,
        #[arg(long)]
        contract_end: Option<chrono::NaiveDate>,
        /// Let its contacts set a new ticket's severity with [S1]..[S4] in a mail's subject.
        #[arg(long)]
        may_declare_severity: bool,
        /// Email of the person told of severity 1 breaches.
        #[arg(long)]
        account_contact: Option<String>,
    },
}

#[derive(Subcommand)]
enum SchedulerCommand {
    /// Runs the jobs: in the foreground, as `serve` does; `--once` for one
    /// pass over the jobs whose slot has come, or with `--job` that job now.
    Run {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        once: bool,
        /// sla_tick, monthly_reports, audit_purge or contract_end: run it now,
        /// whatever its slot (with --once).
        #[arg(long)]
        job: Option<String>,
    },
    /// Each job's schedule, last run, outcome and next run.
    Status {
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Subcommand)]
enum QueueCommand {
    /// Adds a queue.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        slug: String,
        #[arg(long)]
        name: String,
        /// The address customers write to; mail to it lands in this queue.
        #[arg(long)]
        inbound_address: Option<String>,
        /// The queue lead's email (staff).
        #[arg(long)]
        lead: Option<String>,
        /// A member's email (staff); repeat for several.
        #[arg(long = "member")]
        members: Vec<String>,
        /// Severity of tickets that do not say (1–4, default 3).
        #[arg(long)]
        default_severity: Option<i32>,
        /// Customers may choose this queue when raising a ticket.
        #[arg(long)]
        customer_selectable: bool,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Adds a user. The password, if any, is read from SLADESK_PASSWORD.
    Add {
        #[command(flatten)]
        db: DbArgs,
        #[arg(long)]
        role: crate::app::Role,
        #[arg(long)]
        email: String,
        /// The organisation's slug (customers only).
        #[arg(long)]
        org: Option<String>,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Creates an API token and prints it alone on stdout, once.
    Create {
        #[command(flatten)]
        db: DbArgs,
        /// The user's email.
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// full, intake (mail intake only) or metrics (the /metrics scrape only).
        #[arg(long, default_value = "full")]
        scope: String,
        #[arg(long)]
        expires_in_days: Option<i64>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Subcommand)]
enum HolidaysCommand {
    /// Lists a region's bank holidays: `YYYY-MM-DD<TAB>title` per line.
    List {
        #[arg(long)]
        region: Region,
        #[arg(long)]
        from: i32,
        #[arg(long)]
        to: i32,
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
        /// A GOV.UK bank holidays JSON file to apply first.
        #[arg(long)]
        file: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum CalendarCommand {
    /// The instant at which N business minutes have elapsed from START.
    Add {
        /// `24x7` or a policy's name (its base calendar).
        #[arg(long)]
        calendar: String,
        #[arg(long)]
        region: Region,
        /// RFC 3339 instant, any offset.
        #[arg(long)]
        start: String,
        #[arg(long)]
        minutes: i64,
    },
    /// JSON lines in, one JSON answer line out per input line, in order.
    Batch,
}

#[derive(Subcommand)]
enum SlaCommand {
    /// Response and resolve due instants of a ticket received at START.
    Due {
        #[arg(long)]
        policy: String,
        #[arg(long)]
        region: Region,
        #[arg(long)]
        severity: Severity,
        #[arg(long)]
        start: String,
    },
    /// Moves open tickets onto the policy version and holiday data now in
    /// force, showing old and new due instants and breach states per ticket.
    Recompute {
        /// sqlite://PATH (default sqlite://sladesk.db) or postgres://…
        #[arg(long = "database-url", env = "SLADESK_DATABASE_URL")]
        database_url: Option<String>,
        /// Settings file (default: sladesk.toml if present).
        #[arg(long, env = "SLADESK_CONFIG")]
        config: Option<PathBuf>,
        /// Only this organisation's tickets (its slug).
        #[arg(long)]
        org: Option<String>,
        /// Only this ticket.
        #[arg(long)]
        ticket: Option<String>,
        /// Show what would change; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum PolicyCommand {
    /// Validates every policy file and lists name, version and effective date.
    Check,
}

/// A CLI failure: a message for stderr and the exit status.
struct Failure(String, u8);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(e.to_string(), 1)
    }
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Failure(msg, code)) => {
            eprintln!("sladesk: {msg}");
            ExitCode::from(code)
        }
    }
}

/// Merges flags and environment (already in `db`, or `SLADESK_*` read
/// here) over the settings file over defaults, reading the file once.
/// Everything the settings file and environment say, read once.
struct Config {
    settings: Settings,
    exposure: crate::server::Exposure,
    mail: MailSettings,
    scheduler: crate::scheduler::SchedulerSettings,
}

fn config(db: &DbArgs, listen: Option<String>, default_db: &str) -> Result<Config, Failure> {
    let (path, named) = match &db.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("sladesk.toml"), false),
    };
    let file = FileSettings::load(&path, named).map_err(|e| Failure(e, 1))?;
    let file_scheduler = file.scheduler.clone().unwrap_or_default();
    let exposure =
        crate::server::Exposure::from_file(&file).map_err(|e| Failure(format!("{}: {e}", path.display()), 1))?;
    let mut mail = MailSettings::from_file(&file);
    mail.check()
        .map_err(|e| Failure(format!("{}: {e}", path.display()), 1))?;
    if let Ok(dir) = std::env::var("SLADESK_OUTBOX_DIR") {
        mail.outbox_dir = PathBuf::from(dir);
    }
    if let Ok(url) = std::env::var("SLADESK_SMTP_URL") {
        mail.smtp_url = Some(url).filter(|u| !u.is_empty());
    }
    let url = db
        .database_url
        .clone()
        .or(file.database_url)
        .unwrap_or_else(|| default_db.to_string());
    let database_url = url
        .parse()
        .map_err(|e: crate::store::StoreError| Failure(format!("--database-url: {e}"), 2))?;
    let settings = Settings {
        listen: listen.or(file.listen).unwrap_or_else(|| DEFAULT_LISTEN.to_string()),
        database_url,
        policies: db
            .policies
            .clone()
            .or(file.policies)
            .unwrap_or_else(|| PathBuf::from("sla-policies")),
        holidays_file: db.holidays_file.clone().or(file.holidays_file),
        pool_size: file.pool_size.unwrap_or(16),
        workers: file
            .workers
            .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
    };
    Ok(Config {
        settings,
        exposure,
        mail,
        scheduler: file_scheduler,
    })
}

fn settings(db: &DbArgs, listen: Option<String>, default_db: &str) -> Result<Settings, Failure> {
    config(db, listen, default_db).map(|c| c.settings)
}

/// The application on the database these arguments name, with the
/// configured limits in force.
fn open_app(db: &DbArgs) -> Result<std::sync::Arc<crate::app::App>, Failure> {
    let c = config(db, None, DEFAULT_DATABASE)?;
    let app = build_app(&c.settings).map_err(|e| Failure(e, 1))?;
    c.exposure.apply_to(&app);
    Ok(app)
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        Command::Serve(args) => {
            let Config {
                settings: s,
                exposure,
                mail,
                scheduler,
            } = config(&args.db, args.listen.clone(), DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&scheduler).map_err(|e| Failure(e, 2))?;
            crate::server::init_tracing();
            let app = build_app(&s).map_err(|e| Failure(e, 1))?;
            exposure.apply_to(&app);
            crate::server::spawn_mail_workers(app.clone(), mail).map_err(|e| Failure(e, 1))?;
            crate::scheduler::spawn_scheduler(app.clone(), scheduler).map_err(|e| Failure(e, 1))?;
            serve_until_stopped(app, &s, &exposure)
        }
        Command::Demo(args) => {
            let Config {
                settings: s,
                exposure,
                mail,
                scheduler,
            } = config(&args.db, args.listen.clone(), "sqlite://sladesk-demo.db")?;
            let scheduler = crate::scheduler::Scheduler::new(&scheduler).map_err(|e| Failure(e, 2))?;
            crate::server::init_tracing();
            eprintln!("sladesk: building the demo desk in {} ...", s.database_url.target);
            let demo = crate::demo::create(&s).map_err(|e| Failure(e, 1))?;
            exposure.apply_to(&demo.app);
            crate::server::spawn_mail_workers(demo.app.clone(), mail).map_err(|e| Failure(e, 1))?;
            crate::scheduler::spawn_scheduler(demo.app.clone(), scheduler).map_err(|e| Failure(e, 1))?;
            let listener = bind(&s)?;
            let addr = listener.local_addr()?;
            println!("sladesk demo: {} tickets over the last three months", demo.tickets);
            println!("  API:       http://{addr}/api/v1/tickets");
            println!("  health:    http://{addr}/healthz");
            println!("  pages:     http://{addr}/sign-in");
            println!("  password:  {} (every demo user)", crate::demo::DEMO_PASSWORD);
            println!(
                "  2-step:    staff with the manager and admin roles sign in with a TOTP code too; add the key {} to an authenticator, or run: sladesk totp-code {}",
                crate::demo::DEMO_TOTP_SECRET,
                crate::demo::DEMO_TOTP_SECRET
            );
            println!("  logins and API tokens:");
            for (role, email, token) in &demo.logins {
                println!("    {role:<22} {email:<34} {token}");
            }
            println!(
                "  try:       curl -H 'Authorization: Bearer {}' http://{addr}/api/v1/tickets?limit=5",
                demo.logins
                    .iter()
                    .find(|l| l.0 == "agent")
                    .map(|l| l.2.as_str())
                    .unwrap_or("")
            );
            run_server(demo.app, listener, s.workers, &exposure)
        }
        Command::Outbox {
            command: OutboxCommand::Deliver { db },
        } => {
            let Config { settings: s, mail, .. } = config(&db, None, DEFAULT_DATABASE)?;
            let delivery = mail.prepare().map_err(|e| Failure(e, 2))?;
            let app = build_app(&s).map_err(|e| Failure(e, 1))?;
            let report = delivery.run(&app, 10_000).map_err(cli_error)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Scheduler {
            command: SchedulerCommand::Run { db, once, job },
        } => {
            let c = config(&db, None, DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&c.scheduler).map_err(|e| Failure(e, 2))?;
            if let Some(j) = &job {
                if !crate::scheduler::JOBS.contains(&j.as_str()) {
                    return Err(Failure(
                        format!(
                            "--job: no job '{j}': expected one of {}",
                            crate::scheduler::JOBS.join(", ")
                        ),
                        2,
                    ));
                }
                if !once {
                    return Err(Failure("--job runs a job once: add --once".into(), 2));
                }
            }
            let app = build_app(&c.settings).map_err(|e| Failure(e, 1))?;
            if once {
                let outcomes = scheduler.run_due(&app, crate::app::now(), job.as_deref(), job.is_some());
                let failed = outcomes.iter().any(|o| o.outcome == "failed");
                for o in &outcomes {
                    println!("{}", serde_json::to_string(o)?);
                }
                return Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS });
            }
            crate::server::init_tracing();
            loop {
                scheduler.run_due(&app, crate::app::now(), None, false);
                std::thread::sleep(std::time::Duration::from_secs(1));
            }
        }
        Command::Report {
            command:
                ReportCommand::Monthly {
                    db,
                    org,
                    month,
                    format,
                    out,
                    recompute,
                },
        } => {
            let month: crate::domain::availability::Month = month
                .parse()
                .map_err(|e: crate::domain::availability::MonthSyntax| Failure(format!("--month: {e}"), 2))?;
            let format: crate::reports::render::Format =
                format.parse().map_err(|e| Failure(format!("--format: {e}"), 2))?;
            let report = open_app(&db)?
                .monthly_report(
                    &Principal::operator(),
                    org.as_deref(),
                    month,
                    recompute,
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            let text = crate::reports::render::render(&report.value().map_err(cli_error)?, format)
                .map_err(|e| Failure(e, 1))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| Failure(format!("--out {}: {e}", path.display()), 1))?
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { db, org, out } => {
            if out.exists() && std::fs::read_dir(&out).map(|mut d| d.next().is_some()).unwrap_or(true) {
                return Err(Failure(
                    format!("--out {}: exists and is not an empty folder", out.display()),
                    2,
                ));
            }
            let app = open_app(&db)?;
            let mut sink = |path: &str, bytes: &[u8]| -> Result<(), String> {
                let file = out.join(path);
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
                }
                std::fs::write(&file, bytes).map_err(|e| e.to_string())
            };
            let summary = app
                .export_organisation(&Principal::operator(), &org, crate::app::now(), &mut sink)
                .map_err(cli_error)?;
            println!(
                "{}",
                serde_json::json!({
                    "organisation": summary.organisation,
                    "out": out.display().to_string(),
                    "tickets": summary.tickets,
                    "attachments": summary.attachments,
                    "messages": summary.messages,
                    "reports": summary.reports,
                    "files": summary.files.len() + 1,
                })
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Outage { command } => {
            let instant = |flag: &str, v: &str| parse_instant(v).map_err(|e| Failure(format!("--{flag}: {e}"), 2));
            match command {
                OutageCommand::Add {
                    db,
                    kind,
                    start,
                    end,
                    notified_at,
                    orgs,
                    all,
                    description,
                    public_description,
                } => {
                    if all != orgs.is_empty() {
                        return Err(Failure("give --org (repeatable) or --all".into(), 2));
                    }
                    let req = crate::app::outages::NewOutageRequest {
                        kind,
                        start: instant("start", &start)?,
                        end: end.as_deref().map(|e| instant("end", e)).transpose()?,
                        notified_at: notified_at.as_deref().map(|e| instant("notified-at", e)).transpose()?,
                        organisations: if all {
                            crate::app::outages::Affected::All("all".into())
                        } else {
                            crate::app::outages::Affected::Some(orgs)
                        },
                        description,
                        public_description,
                    };
                    let v = open_app(&db)?
                        .create_outage(&Principal::operator(), req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::End { db, id, at } => {
                    let patch = crate::app::outages::OutagePatch {
                        end: Some(instant("at", &at)?),
                        ..Default::default()
                    };
                    let v = open_app(&db)?
                        .patch_outage(&Principal::operator(), id, patch, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                OutageCommand::List { db, month, org } => {
                    let month = month
                        .map(|m| m.parse::<crate::domain::availability::Month>())
                        .transpose()
                        .map_err(|e| Failure(format!("--month: {e}"), 2))?;
                    for v in open_app(&db)?
                        .list_outages(&Principal::operator(), month, org.as_deref(), crate::app::now())
                        .map_err(cli_error)?
                    {
                        println!("{}", serde_json::to_string(&v)?);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::UpstreamCredit { command } => {
            use crate::app::outages::{Affected, NewUpstreamCreditRequest, ShareRequest};
            match command {
                UpstreamCreditCommand::Add {
                    db,
                    reference,
                    month,
                    amount_pence,
                    description,
                    orgs,
                    all,
                    shares,
                } => {
                    let given = [all, !orgs.is_empty(), !shares.is_empty()]
                        .iter()
                        .filter(|g| **g)
                        .count();
                    if given != 1 {
                        return Err(Failure(
                            "give one of --org (repeatable), --all or --share SLUG=PENCE".into(),
                            2,
                        ));
                    }
                    let shares = shares
                        .iter()
                        .map(|s| {
                            s.split_once('=')
                                .and_then(|(o, p)| {
                                    Some(ShareRequest {
                                        organisation: o.to_string(),
                                        amount_pence: p.parse().ok()?,
                                    })
                                })
                                .ok_or_else(|| Failure(format!("--share: '{s}': expected SLUG=PENCE"), 2))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    let req = NewUpstreamCreditRequest {
                        reference,
                        month,
                        amount_pence,
                        description,
                        organisations: match (all, orgs.is_empty()) {
                            (true, _) => Some(Affected::All("all".into())),
                            (false, false) => Some(Affected::Some(orgs)),
                            (false, true) => None,
                        },
                        shares: (!shares.is_empty()).then_some(shares),
                    };
                    let v = open_app(&db)?
                        .create_upstream_credit(&Principal::operator(), req, crate::app::now())
                        .map_err(cli_error)?;
                    println!("{}", serde_json::to_string(&v)?);
                }
                UpstreamCreditCommand::List { db, month } => {
                    let month = month
                        .map(|m| m.parse::<crate::domain::availability::Month>())
                        .transpose()
                        .map_err(|e| Failure(format!("--month: {e}"), 2))?;
                    for v in open_app(&db)?
                        .list_upstream_credits(&Principal::operator(), month)
                        .map_err(cli_error)?
                    {
                        println!("{}", serde_json::to_string(&v)?);
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Scheduler {
            command: SchedulerCommand::Status { db },
        } => {
            let c = config(&db, None, DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&c.scheduler).map_err(|e| Failure(e, 2))?;
            let app = build_app(&c.settings).map_err(|e| Failure(e, 1))?;
            for s in scheduler.status(&app, crate::app::now()).map_err(|e| Failure(e, 1))? {
                println!("{}", serde_json::to_string(&s)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Ingest(db) => {
            // sysexits(3): what an MTA pipe understands.
            const EX_DATAERR: u8 = 65;
            const EX_TEMPFAIL: u8 = 75;
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin().lock(), &mut raw)
                .map_err(|e| Failure(format!("reading the message on stdin: {e}"), EX_TEMPFAIL))?;
            let Config {
                settings: s,
                exposure,
                mail,
                ..
            } = config(&db, None, DEFAULT_DATABASE)?;
            let app = build_app(&s).map_err(|e| Failure(e, EX_TEMPFAIL))?;
            exposure.apply_to(&app);
            mail.apply_to(&app).map_err(|e| Failure(e, EX_TEMPFAIL))?;
            match app.ingest(&raw, "pipe", crate::app::now()) {
                Ok(outcome) => {
                    println!("{}", serde_json::to_string(&outcome)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::app::intake::IngestFailure::Unacceptable(e)) => Err(Failure(e.to_string(), EX_DATAERR)),
                Err(crate::app::intake::IngestFailure::Failed(e)) => Err(Failure(e.to_string(), EX_TEMPFAIL)),
            }
        }
        Command::Migrate(db) => {
            let s = settings(&db, None, DEFAULT_DATABASE)?;
            let applied = s.database_url.migrate()?;
            if applied.is_empty() {
                println!("the database is up to date");
            }
            for v in applied {
                println!("applied {v}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Org {
            command:
                OrgCommand::Add {
                    db,
                    slug,
                    name,
                    tier,
                    region,
                    email_domains,
                    monthly_charge_pence,
                    contract_start,
                    contract_end,
                    may_declare_severity,
                    account_contact,
                },
        } => {
            let app = open_app(&db)?;
            let org = app
                .create_organisation(
                    &Principal::operator(),
                    NewOrganisationRequest {
                        slug,
                        name,
                        tier,
                        region,
                        email_domains,
                        monthly_charge_pence,
                        contract_start,
                        contract_end,
                        may_declare_severity,
                        account_contact,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&org)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Queue {
            command:
                QueueCommand::Add {
                    db,
                    slug,
                    name,
                    inbound_address,
                    lead,
                    members,
                    default_severity,
                    customer_selectable,
                },
        } => {
            let app = open_app(&db)?;
            let queue = app
                .create_queue(
                    &Principal::operator(),
                    crate::app::admin::NewQueueRequest {
                        slug,
                        name,
                        inbound_address,
                        lead,
                        members,
                        default_severity,
                        customer_selectable,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&queue)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            command:
                UserCommand::Add {
                    db,
                    role,
                    email,
                    org,
                    name,
                },
        } => {
            let app = open_app(&db)?;
            let password = std::env::var("SLADESK_PASSWORD").ok();
            let user = app
                .create_user(
                    &Principal::operator(),
                    NewUserRequest {
                        email,
                        name,
                        role,
                        organisation: org,
                        password,
                    },
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{}", serde_json::to_string(&user)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    db,
                    user,
                    name,
                    scope,
                    expires_in_days,
                },
        } => {
            let app = open_app(&db)?;
            let token = app
                .create_token(
                    &Principal::operator(),
                    &user,
                    &name,
                    &scope,
                    expires_in_days.map(chrono::Duration::days),
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            println!("{token}");
            Ok(ExitCode::SUCCESS)
        }
        Command::TotpCode { secret } => {
            let compact: String = secret.chars().filter(|c| !c.is_whitespace()).collect();
            let code = crate::app::sessions::totp_code(&compact.to_ascii_uppercase(), "sladesk", crate::app::now())
                .map_err(|e| Failure(format!("secret: {e}"), 2))?;
            println!("{code}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Holidays {
            command:
                HolidaysCommand::List {
                    region,
                    from,
                    to,
                    format,
                    file,
                },
        } => holidays_list(region, from, to, format, file.as_deref()),
        Command::Calendar { sources, command } => {
            let (policies, holidays) = load(&sources)?;
            let mut cache = CalendarCache::new(&policies, &holidays);
            match command {
                CalendarCommand::Add {
                    calendar,
                    region,
                    start,
                    minutes,
                } => {
                    let start = parse_instant(&start).map_err(|e| Failure(format!("--start: {e}"), 2))?;
                    if minutes < 0 {
                        return Err(Failure("--minutes: expected a whole number ≥ 0".into(), 2));
                    }
                    let cal = cache
                        .calendar(&calendar, region, start)
                        .map_err(|e| Failure(format!("--calendar: {e}"), 2))?;
                    let minutes =
                        Duration::try_minutes(minutes).ok_or_else(|| Failure("--minutes: too large".into(), 2))?;
                    let due = cal.add(start, minutes)?;
                    println!("{}", fmt_instant(due));
                    Ok(ExitCode::SUCCESS)
                }
                CalendarCommand::Batch => {
                    let stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
                    let stdout = std::io::stdout();
                    let failed = batch(&mut cache, stdin, stdout.lock())?;
                    Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
                }
            }
        }
        Command::Sla {
            sources,
            command:
                SlaCommand::Recompute {
                    database_url,
                    config,
                    org,
                    ticket,
                    dry_run,
                },
        } => {
            let db = DbArgs {
                database_url,
                config,
                policies: Some(sources.policies.clone()),
                holidays_file: sources.holidays_file.clone(),
            };
            let app = open_app(&db)?;
            let lines = app
                .recompute(
                    &Principal::operator(),
                    org.as_deref(),
                    ticket.as_deref(),
                    dry_run,
                    crate::app::now(),
                )
                .map_err(cli_error)?;
            let show = |t: Option<DateTime<Utc>>| t.map(fmt_instant).unwrap_or_else(|| "-".into());
            let yes_no = |b: bool| if b { "breached" } else { "not breached" };
            let changed = lines.iter().filter(|l| l.changed).count();
            for l in lines.iter().filter(|l| l.changed) {
                println!(
                    "{}\t{} -> {}\tholidays {} -> {}\tresponse due {} -> {}\tresolve due {} -> {}\t{} -> {}",
                    l.reference,
                    l.old_policy,
                    l.new_policy,
                    l.old_holidays,
                    l.new_holidays,
                    show(l.old_response_due),
                    show(l.new_response_due),
                    show(l.old_resolve_due),
                    show(l.new_resolve_due),
                    yes_no(l.old_breached),
                    yes_no(l.new_breached),
                );
            }
            println!(
                "{} open tickets checked, {changed} {}",
                lines.len(),
                if dry_run {
                    "would change (dry run: nothing written)"
                } else {
                    "changed"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Sla {
            sources,
            command:
                SlaCommand::Due {
                    policy,
                    region,
                    severity,
                    start,
                },
        } => {
            let (policies, holidays) = load(&sources)?;
            let start = parse_instant(&start).map_err(|e| Failure(format!("--start: {e}"), 2))?;
            let policy = policies
                .effective(&policy, start)
                .map_err(|e| Failure(format!("--policy: {e}"), 2))?;
            let mut cache = CalendarCache::new(&policies, &holidays);
            let calendars = cache.policy_calendars(policy, region);
            let ctx = SlaContext { policy, calendars };
            let ticket = Ticket::create(start, Actor::System, severity, policy);
            let view = sla(&ticket, &ctx, start)?;
            #[derive(serde::Serialize)]
            struct Due {
                response_due: Option<String>,
                resolve_due: Option<String>,
            }
            let out = Due {
                response_due: view.response.due.map(fmt_instant),
                resolve_due: view.resolve.due.map(fmt_instant),
            };
            println!("{}", serde_json::to_string(&out)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Policy {
            sources,
            command: PolicyCommand::Check,
        } => {
            let policies = PolicySet::load_dir(&sources.policies)?;
            for (p, file) in policies.iter() {
                println!("{}\t{}\t{}\t{}", p.name, p.version, p.effective_from, file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A use case's refusal at the command line: the message, and 1 (or 2 for bad input).
fn cli_error(e: crate::app::AppError) -> Failure {
    let code = if matches!(e, crate::app::AppError::Invalid { .. }) {
        2
    } else {
        1
    };
    let msg = match e {
        crate::app::AppError::Invalid { field, message } => format!("--{}: {message}", field.replace('_', "-")),
        other => other.to_string(),
    };
    Failure(msg, code)
}

fn bind(s: &Settings) -> Result<std::net::TcpListener, Failure> {
    std::net::TcpListener::bind(&s.listen).map_err(|e| Failure(format!("--listen {}: {e}", s.listen), 1))
}

fn serve_until_stopped(
    app: std::sync::Arc<crate::app::App>,
    s: &Settings,
    exposure: &crate::server::Exposure,
) -> Result<ExitCode, Failure> {
    let listener = bind(s)?;
    run_server(app, listener, s.workers, exposure)
}

fn run_server(
    app: std::sync::Arc<crate::app::App>,
    listener: std::net::TcpListener,
    workers: usize,
    exposure: &crate::server::Exposure,
) -> Result<ExitCode, Failure> {
    let addr = listener.local_addr()?;
    let metrics_listener = match &exposure.metrics_listen {
        Some(a) => Some(std::net::TcpListener::bind(a).map_err(|e| Failure(format!("metrics_listen {a}: {e}"), 1))?),
        None => None,
    };
    actix_web::rt::System::new().block_on(async move {
        let metrics = actix_web::web::Data::new(crate::api::metrics::Metrics::default());
        if let Some(l) = metrics_listener {
            let at = l.local_addr()?;
            actix_web::rt::spawn(crate::server::serve_metrics(app.clone(), l, metrics.clone())?);
            eprintln!("sladesk: metrics on http://{at}/metrics");
        }
        let server = actix_web::rt::spawn(crate::server::serve_with_metrics(app, listener, workers, metrics)?);
        // The server sets its SIGTERM/SIGINT handlers when first polled: let
        // it run once before saying it listens, so whoever waits for this
        // line may stop it.
        actix_web::rt::task::yield_now().await;
        tracing::info!(%addr, "sladesk listening");
        eprintln!("sladesk: listening on http://{addr}");
        server.await.map_err(std::io::Error::other)?
    })?;
    eprintln!("sladesk: stopped");
    Ok(ExitCode::SUCCESS)
}

fn load(sources: &Sources) -> Result<(PolicySet, Holidays), Failure> {
    let policies = PolicySet::load_dir(&sources.policies)?;
    let mut holidays = Holidays::from_rules();
    if let Some(f) = &sources.holidays_file {
        import(&mut holidays, f)?;
    }
    Ok((policies, holidays))
}

fn import(holidays: &mut Holidays, file: &Path) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Failure(format!("{}: cannot read: {e}", file.display()), 1))?;
    holidays
        .import_govuk_json(&text)
        .map_err(|e| Failure(format!("{}: {e}", file.display()), 1))
}

fn holidays_list(region: Region, from: i32, to: i32, format: Format, file: Option<&Path>) -> Result<ExitCode, Failure> {
    if from > to {
        return Err(Failure(format!("--from {from} is after --to {to}"), 2));
    }
    if !(1583..=9999).contains(&from) || !(1583..=9999).contains(&to) {
        return Err(Failure(
            "--from and --to: expected years between 1583 and 9999".into(),
            2,
        ));
    }
    if from < RULES_FIRST_YEAR || to > RULES_LAST_YEAR {
        eprintln!(
            "sladesk: note: the rules are kept for {RULES_FIRST_YEAR}–{RULES_LAST_YEAR}; other years have no one-off days unless imported"
        );
    }
    let mut holidays = Holidays::from_rules();
    if let Some(f) = file {
        import(&mut holidays, f)?;
    }
    let list = holidays.list(region, from, to);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Text => {
            for h in &list {
                writeln!(out, "{}\t{}", h.date, h.title)?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Any RFC 3339 offset in; whole seconds kept.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 instant such as 2026-11-26T09:00:00Z, found '{s}' ({e})"))
}

/// RFC 3339 in UTC with `Z`, whole seconds.
pub fn fmt_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Deserialize)]
struct BatchLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    calendar: Option<Cow<'a, str>>,
    #[serde(borrow)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    start: Option<Cow<'a, str>>,
    minutes: Option<i64>,
    #[serde(borrow)]
    from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    to: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct IdOnly<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
}

enum Answer {
    Due(DateTime<Utc>),
    Minutes(i64),
}

fn answer(cache: &mut CalendarCache, line: &BatchLine) -> Result<Answer, String> {
    let calendar = line.calendar.as_deref().ok_or("missing field: calendar")?;
    let region: Region = line
        .region
        .as_deref()
        .ok_or("missing field: region")?
        .parse()
        .map_err(|e| format!("region: {e}"))?;
    match (&line.start, line.minutes, &line.from, &line.to) {
        (Some(start), Some(minutes), None, None) => {
            let start = parse_instant(start).map_err(|e| format!("start: {e}"))?;
            let cal = cache
                .calendar(calendar, region, start)
                .map_err(|e| format!("calendar: {e}"))?;
            if minutes < 0 {
                return Err("minutes: expected a whole number ≥ 0".into());
            }
            let due = cal
                .add_seconds(start.timestamp(), minutes.checked_mul(60).ok_or("minutes: too large")?)
                .map_err(|e| e.to_string())?;
            Ok(Answer::Due(
                DateTime::from_timestamp(due, 0).ok_or("due: out of range")?,
            ))
        }
        (None, None, Some(from), Some(to)) => {
            let from = parse_instant(from).map_err(|e| format!("from: {e}"))?;
            let to = parse_instant(to).map_err(|e| format!("to: {e}"))?;
            let cal = cache
                .calendar(calendar, region, from)
                .map_err(|e| format!("calendar: {e}"))?;
            let secs = cal
                .between_seconds(from.timestamp(), to.timestamp())
                .map_err(|e| e.to_string())?;
            Ok(Answer::Minutes(secs.div_euclid(60)))
        }
        _ => Err("expected either start and minutes, or from and to".into()),
    }
}

/// Runs the batch protocol; returns whether any line failed. Output is
/// flushed whenever the input has nothing more buffered, so a caller that
/// writes one line and waits gets its answer, and a bulk caller gets speed.
pub fn batch<R: Read, W: Write>(
    cache: &mut CalendarCache,
    mut input: BufReader<R>,
    output: W,
) -> std::io::Result<bool> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut failed = false;
    let mut buf = String::new();
    loop {
        buf.clear();
        if input.read_line(&mut buf)? == 0 {
            break;
        }
        let text = buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        let (id, result) = match serde_json::from_str::<BatchLine>(text) {
            Ok(line) => (line.id, answer(cache, &line)),
            Err(e) => {
                let id = serde_json::from_str::<IdOnly>(text).ok().and_then(|l| l.id);
                (id, Err(format!("unreadable line: {e}")))
            }
        };
        let id = id.map(RawValue::get).unwrap_or("null");
        match result {
            Ok(Answer::Due(t)) => writeln!(out, "{{\"id\":{id},\"due\":\"{}\"}}", fmt_instant(t))?,
            Ok(Answer::Minutes(m)) => writeln!(out, "{{\"id\":{id},\"business_minutes\":{m}}}")?,
            Err(msg) => {
                failed = true;
                writeln!(out, "{{\"id\":{id},\"error\":{}}}", serde_json::Value::String(msg))?;
            }
        }
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(failed)
}
