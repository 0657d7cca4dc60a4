//! `sladesk scheduler`: the jobs' status, and running one once.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Scheduler {
            command: SchedulerCommand::Run { db, once, job, as_of },
        } => {
            let c = config(&db, None, DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&c.scheduler).map_err(Failure::exit(2))?;
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
            let at = match &as_of {
                None => crate::app::now(),
                Some(_) if job.is_none() => {
                    return Err(Failure("--as-of runs one job: add --once --job".into(), 2));
                }
                Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                    .map(|t| t.to_utc())
                    .map_err(|e| Failure(format!("--as-of: '{t}' is not an RFC 3339 instant: {e}"), 2))?,
            };
            refuse_new_database(&c.settings)?;
            let app = build_app(&c.settings).map_err(Failure::exit(1))?;
            if once {
                let outcomes = scheduler.run_due(&app, at, job.as_deref(), job.is_some());
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
        Command::Scheduler {
            command: SchedulerCommand::Status { db },
        } => {
            let c = config(&db, None, DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&c.scheduler).map_err(Failure::exit(2))?;
            refuse_new_database(&c.settings)?;
            let app = build_app(&c.settings).map_err(Failure::exit(1))?;
            for s in scheduler.status(&app, crate::app::now()).map_err(Failure::exit(1))? {
                println!("{}", serde_json::to_string(&s)?);
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("cli::run sends only Scheduler here"),
    }
}
