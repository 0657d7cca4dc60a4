//! The `sladesk` command line: thin adapters from arguments, files and
//! stdin to the domain core. Other tools drive these interfaces, so their
//! output formats are stable (see docs/architecture.md, "Outside interfaces").
//!
//! Here: reading settings, opening the app, the dispatch to `commands/`
//! (one file per group of commands: serve, mail, scheduler, reports, admin,
//! sla) and the mapping of refusals to exit codes. The words of the
//! commands are in `args`, the serving in `serve`, the batch protocol in
//! `sla`, and where the database and the settings are (init, the demo's
//! database, refusing a new one) in `setup`.

mod args;
mod commands;
mod progress;
mod replay;
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
use crate::config::policies::{CalendarCache, PolicySet};
use crate::config::{DEFAULT_DATABASE, DEFAULT_LISTEN, FileSettings, MailSettings, Settings};
use crate::domain::clock::sla;
use crate::domain::holidays::{Holidays, RULES_FIRST_YEAR, RULES_LAST_YEAR, Region};
use crate::domain::ticket::{Actor, Severity, SlaContext, Ticket};
use crate::server::build_app;

/// A CLI failure: a message for stderr and the exit status.
struct Failure(String, u8);

// `{:#}`: an error with context (anyhow's) prints its whole chain,
// "context: cause"; other errors print as they always do.
impl<E: std::fmt::Display> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure(format!("{e:#}"), 1)
    }
}

impl Failure {
    /// An edge's error, with its chain, as a failure exiting with `code`.
    fn exit(code: u8) -> impl FnOnce(anyhow::Error) -> Failure {
        move |e| Failure(format!("{e:#}"), code)
    }
}

/// The `sladesk` command: parses the arguments, runs the command, and exits
/// with its code (errors name the file, line and field).
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
    exposure: crate::config::Exposure,
    mail: MailSettings,
    scheduler: crate::scheduler::SchedulerSettings,
}

fn config(db: &DbArgs, listen: Option<String>, default_db: &str) -> Result<Config, Failure> {
    let (path, named) = match &db.config {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from("sladesk.toml"), false),
    };
    let file = FileSettings::load(&path, named).map_err(Failure::exit(1))?;
    let file_scheduler = file.scheduler.clone().unwrap_or_default();
    let exposure =
        crate::config::Exposure::from_file(&file).map_err(|e| Failure(format!("{}: {e}", path.display()), 1))?;
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
    let database_url: crate::store::DatabaseUrl = url
        .parse()
        .map_err(|e: crate::store::StoreError| Failure(format!("--database-url: {e}"), 2))?;
    if exposure.replica.is_some() && database_url.backend != crate::store::Backend::Postgres {
        return Err(Failure(
            format!(
                "{}: read_database_url: a replica needs a PostgreSQL primary",
                path.display()
            ),
            1,
        ));
    }
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
    let app = build_app(&c.settings).map_err(Failure::exit(1))?;
    c.exposure.apply_to(&app);
    app.set_progress(progress::for_terminal());
    Ok(app)
}

fn run(cli: Cli) -> Result<ExitCode, Failure> {
    match cli.command {
        c @ (Command::Serve { .. }
        | Command::Demo { .. }
        | Command::Init { .. }
        | Command::Migrate { .. }
        | Command::Backup { .. }
        | Command::Restore { .. }) => commands::serve::run(c),
        c @ (Command::Outbox { .. } | Command::Ingest { .. }) => commands::mail::run(c),
        c @ Command::Scheduler { .. } => commands::scheduler::run(c),
        c @ (Command::Report { .. }
        | Command::Export { .. }
        | Command::Outage { .. }
        | Command::UpstreamCredit { .. }) => commands::reports::run(c),
        Command::Service { command } => commands::services::run(command),
        Command::Search { command } => commands::search::run(command),
        c @ (Command::Org { .. }
        | Command::Queue { .. }
        | Command::User { .. }
        | Command::Token { .. }
        | Command::TotpCode { .. }) => commands::admin::run(c),
        c @ (Command::Holidays { .. } | Command::Calendar { .. } | Command::Sla { .. } | Command::Policy { .. }) => {
            commands::sla::run(c)
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
        "services" => "--service".into(),
        "tickets" => "--ticket".into(),
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
