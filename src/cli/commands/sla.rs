//! `sladesk holidays`, `calendar`, `sla` and `policy`: the core's answers at the command line.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
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
            command: SlaCommand::Replay { progress },
        } => {
            let (policies, holidays) = load(&sources)?;
            let mut cache = CalendarCache::new(&policies, &holidays);
            let stdin = std::io::BufReader::with_capacity(1 << 16, std::io::stdin().lock());
            let stdout = std::io::stdout();
            let bar = if progress {
                self::progress::for_terminal()
            } else {
                std::sync::Arc::new(crate::app::progress::Quiet)
            };
            let failed = replay::replay(&policies, &mut cache, stdin, stdout.lock(), &*bar)?;
            Ok(if failed { ExitCode::from(1) } else { ExitCode::SUCCESS })
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
            let policies = crate::config::policies::load(sources.policies.as_deref())?;
            for (p, file) in policies.iter() {
                println!("{}\t{}\t{}\t{}", p.name, p.version, p.effective_from, file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("cli::run sends only Holidays, Calendar, Sla, Policy here"),
    }
}
