//! `sladesk serve`, `demo`, `init` and `migrate`: running a desk and setting one up.
//! The arms of the command line's dispatch for these commands, as they were
//! in `cli/mod.rs`; the shared helpers (settings, opening the app, errors)
//! stay there.

use super::super::*;

pub(in crate::cli) fn run(command: Command) -> Result<ExitCode, Failure> {
    match command {
        Command::Serve(args) => {
            let Config {
                settings: s,
                exposure,
                mail,
                scheduler,
            } = config(&args.db, args.listen.clone(), DEFAULT_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&scheduler).map_err(Failure::exit(2))?;
            crate::server::init_tracing();
            let app = build_app(&s).map_err(Failure::exit(1))?;
            exposure.apply_to(&app);
            crate::server::spawn_mail_workers(app.clone(), mail).map_err(Failure::exit(1))?;
            crate::server::spawn_search_indexer(app.clone()).map_err(Failure::exit(1))?;
            crate::server::spawn_cache_listener(app.clone(), &s.database_url).map_err(Failure::exit(1))?;
            crate::scheduler::spawn_scheduler(app.clone(), scheduler).map_err(Failure::exit(1))?;
            serve_until_stopped(app, &s, &exposure)
        }
        Command::Demo(args) => {
            let Config {
                settings: s,
                exposure,
                mail,
                scheduler,
            } = config(&args.db, args.listen.clone(), DEMO_DATABASE)?;
            let scheduler = crate::scheduler::Scheduler::new(&scheduler).map_err(Failure::exit(2))?;
            crate::server::init_tracing();
            demo_may_replace(&s)?;
            eprintln!("sladesk: building the demo desk in {} ...", s.database_url.target);
            let demo = crate::demo::create_showing(&s, progress::for_terminal()).map_err(Failure::exit(1))?;
            if args.db.config.is_none() && args.db.database_url.is_none() {
                remember_demo_database(&s);
            }
            exposure.apply_to(&demo.app);
            crate::server::spawn_mail_workers(demo.app.clone(), mail).map_err(Failure::exit(1))?;
            crate::server::spawn_search_indexer(demo.app.clone()).map_err(Failure::exit(1))?;
            crate::server::spawn_cache_listener(demo.app.clone(), &s.database_url).map_err(Failure::exit(1))?;
            crate::scheduler::spawn_scheduler(demo.app.clone(), scheduler).map_err(Failure::exit(1))?;
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
        Command::Backup { db, out } => {
            let s = settings(&db, None, DEFAULT_DATABASE)?;
            refuse_new_database(&s)?;
            let bytes = s.database_url.backup(&out).map_err(|e| Failure(format!("{e}"), 1))?;
            println!("wrote {} ({bytes} bytes)", out.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Restore { db, file } => {
            let s = settings(&db, None, DEFAULT_DATABASE)?;
            let applied = s.database_url.restore(&file).map_err(|e| Failure(format!("{e}"), 1))?;
            println!("restored {}", file.display());
            for v in applied {
                println!("applied {v}");
            }
            Ok(ExitCode::SUCCESS)
        }
        _ => unreachable!("cli::run sends only Serve, Demo, Init, Migrate, Backup, Restore here"),
    }
}
