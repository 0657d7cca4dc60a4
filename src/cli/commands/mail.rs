//! `sladesk ingest` (one message on stdin) and `sladesk outbox`: mail in and out by hand.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Outbox {
            command: OutboxCommand::Deliver { db },
        } => {
            let Config { settings: s, mail, .. } = config(&db, None, DEFAULT_DATABASE)?;
            refuse_new_database(&s)?;
            let delivery = crate::server::Delivery::prepare(&mail).map_err(Failure::exit(2))?;
            let app = build_app(&s).map_err(Failure::exit(1))?;
            let report = delivery.run(&app, 10_000).map_err(cli_error)?;
            println!("{}", serde_json::to_string(&report)?);
            Ok(if report.failed > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
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
            let app = build_app(&s).map_err(Failure::exit(EX_TEMPFAIL))?;
            exposure.apply_to(&app);
            mail.apply_to(&app).map_err(Failure::exit(EX_TEMPFAIL))?;
            match app.ingest(&raw, "pipe", crate::app::now()) {
                Ok(outcome) => {
                    println!("{}", serde_json::to_string(&outcome)?);
                    Ok(ExitCode::SUCCESS)
                }
                Err(crate::app::intake::IngestFailure::Unacceptable(e)) => Err(Failure(e.to_string(), EX_DATAERR)),
                Err(crate::app::intake::IngestFailure::Failed(e)) => Err(Failure(e.to_string(), EX_TEMPFAIL)),
            }
        }
        _ => unreachable!("cli::run sends only Outbox, Ingest here"),
    }
}
