//! The `sladesk` command line: thin adapters from arguments, files and
//! stdin to the domain core. Other tools drive these interfaces, so their
//! output formats are stable (see docs/architecture.md, "Outside interfaces").
//!
//! Why this file is long: most of it is `run`, one match from each command
//! to its use case. Every arm is a few lines turning flags into a request,
//! and reading them side by side is how one checks that every command opens
//! the same database, maps refusals to the same exit codes and prints the
//! same JSON. The words of the commands are in `args`, the serving in
//! `serve`, the batch protocol in `sla`, and where the database and the
//! settings are (init, the demo's database, refusing a new one) in `setup`.

mod args;
mod progress;
mod serve;
mod setup;
mod sla;

use args::*;
use serve::*;
use setup::*;
use sla::*;
pub use sla::{batch, fmt_instant, parse_instant};

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
        policies: db.policies.clone().or(file.policies),
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
    refuse_new_database(&c.settings)?;
    let app = build_app(&c.settings).map_err(|e| Failure(e, 1))?;
    c.exposure.apply_to(&app);
    app.set_progress(progress::for_terminal());
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
            } = config(&args.db, args.listen.clone(), DEMO_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&scheduler).map_err(|e| Failure(e, 2))?;
            crate::server::init_tracing();
            demo_may_replace(&s)?;
            eprintln!("sladesk: building the demo desk in {} ...", s.database_url.target);
            let demo = crate::demo::create_showing(&s, progress::for_terminal()).map_err(|e| Failure(e, 1))?;
            if args.db.config.is_none() && args.db.database_url.is_none() {
                remember_demo_database(&s);
            }
            exposure.apply_to(&demo.app);
            crate::server::spawn_mail_workers(demo.app.clone(), mail).map_err(|e| Failure(e, 1))?;
            crate::scheduler::spawn_scheduler(demo.app.clone(), scheduler).map_err(|e| Failure(e, 1))?;
            let listener = bind(&s)?;
            let addr = listener.local_addr()?;
            println!(
                "sladesk demo: {} tickets over the last three months, and {} raised in the last hours being worked now",
                demo.tickets, demo.live
            );
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
        Command::Init { dir } => init(&dir),
        Command::Outbox {
            command: OutboxCommand::Deliver { db },
        } => {
            let Config { settings: s, mail, .. } = config(&db, None, DEFAULT_DATABASE)?;
            refuse_new_database(&s)?;
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
            refuse_new_database(&c.settings)?;
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
                    version,
                    recompute,
                    reason,
                },
        } => {
            let month = parse_month(&month)?;
            let format: crate::reports::render::Format =
                format.parse().map_err(|e| Failure(format!("--format: {e}"), 2))?;
            let app = open_app(&db)?;
            let now = crate::app::now();
            if recompute {
                let kept = app
                    .recompute_month(
                        &Principal::operator(),
                        month,
                        reason.as_deref().unwrap_or_default(),
                        now,
                    )
                    .map_err(cli_error)?;
                eprintln!("{}", kept_summary(month, &kept, "recomputed"));
            }
            let report = app
                .monthly_report(&Principal::operator(), org.as_deref(), month, version, now)
                .map_err(cli_error)?;
            let text = crate::reports::render::render(&report.document().map_err(cli_error)?, format)
                .map_err(|e| Failure(e, 1))?;
            match out {
                Some(path) => {
                    std::fs::write(&path, text).map_err(|e| Failure(format!("--out {}: {e}", path.display()), 1))?
                }
                None => print!("{text}"),
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Report {
            command: ReportCommand::Close { db, month },
        } => {
            let month = parse_month(&month)?;
            let kept = open_app(&db)?
                .close_month(&Principal::operator(), month, crate::app::now())
                .map_err(cli_error)?;
            println!("{}", kept_summary(month, &kept, "closed"));
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
            refuse_new_database(&c.settings)?;
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
            // No database yet: a mistake in the set-up, which the MTA retries
            // (the mail waits in its queue) until it is put right.
            refuse_new_database(&s).map_err(|f| Failure(f.0, EX_TEMPFAIL))?;
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
                CalendarCommand::Batch { progress } => {
                    let stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
                    let stdout = std::io::stdout();
                    let bar = if progress {
                        self::progress::for_terminal()
                    } else {
                        std::sync::Arc::new(crate::app::progress::Quiet)
                    };
                    let failed = sla::batch_with_progress(&mut cache, stdin, stdout.lock(), &*bar)?;
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
                policies: sources.policies.clone(),
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
            let policies = PolicySet::load(sources.policies.as_deref())?;
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
        crate::app::AppError::Invalid { field, message } => format!("{}: {message}", flag_for(&field)),
        other => other.to_string(),
    };
    Failure(msg, code)
}

/// The command-line flag that carries an API field, where the names differ
/// (the API's lists are plural; the flags are given once per value).
fn flag_for(field: &str) -> String {
    match field {
        "organisations" | "organisation" => "--org".into(),
        "shares" => "--share".into(),
        "email_domains" => "--email-domain".into(),
        "members" => "--member".into(),
        other => format!("--{}", other.replace('_', "-")),
    }
}

fn parse_month(month: &str) -> Result<crate::domain::availability::Month, Failure> {
    month
        .parse()
        .map_err(|e: crate::domain::availability::MonthSyntax| Failure(format!("--month: {e}"), 2))
}

/// "2026-10 closed: version 1 of acme, globex and the whole desk".
fn kept_summary(
    month: crate::domain::availability::Month,
    kept: &[crate::app::reports::versions::Kept],
    done: &str,
) -> String {
    if kept.is_empty() {
        return format!("{month} {done}: no report's figures moved, no version kept");
    }
    let names: Vec<String> = kept
        .iter()
        .map(|k| {
            let scope = if k.scope == "*" {
                "the whole desk"
            } else {
                k.scope.as_str()
            };
            format!("version {} of {scope}", k.version)
        })
        .collect();
    format!("{month} {done}: kept {}", names.join(", "))
}
