//! Where a desk's database and settings are: `sladesk init`, the demo's
//! database and the sladesk.toml that names it, and the refusal to create
//! a new, empty database by accident.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::Failure;
use crate::config::{FileSettings, Settings};

/// The demo's database when nothing names one.
pub(super) const DEMO_DATABASE: &str = "sqlite://sladesk-demo.db";

/// The demo starts from an empty database, deleting the one it is given:
/// only ever a demo's own (a file named `*-demo.db`), never a desk's.
pub(super) fn demo_may_replace(s: &Settings) -> Result<(), Failure> {
    let url = &s.database_url;
    if url.backend == crate::store::Backend::Sqlite
        && Path::new(&url.target).exists()
        && !url.target.ends_with("-demo.db")
    {
        return Err(Failure(
            format!(
                "{}: the demo deletes and rebuilds its database, and this one is not a demo's \
                 (a demo's file name ends in -demo.db); name another with --database-url",
                url.target
            ),
            1,
        ));
    }
    Ok(())
}

/// So that the README's next commands (`report`, `outage`, `export`,
/// `scheduler status`) open the demo's database from this folder, the demo
/// writes a `sladesk.toml` naming it, unless one is here already.
pub(super) fn remember_demo_database(s: &Settings) {
    let path = Path::new("sladesk.toml");
    if path.exists() {
        let named = FileSettings::load(path, false)
            .ok()
            .and_then(|f| f.database_url)
            .is_some_and(|u| u.trim_start_matches("sqlite://") == s.database_url.target);
        if !named {
            eprintln!(
                "sladesk: sladesk.toml here names another database; give the demo's to other commands: \
                 --database-url sqlite://{}",
                s.database_url.target
            );
        }
        return;
    }
    let text = format!(
        "# Written by `sladesk demo`, so that commands run in this folder open the\n\
         # demo's database. Delete it (or edit it) to use another.\n\
         database_url = \"sqlite://{}\"\n",
        s.database_url.target
    );
    match std::fs::write(path, text) {
        Ok(()) => eprintln!("sladesk: wrote sladesk.toml: commands run here use the demo's database"),
        Err(e) => eprintln!(
            "sladesk: could not write sladesk.toml ({e}); give other commands --database-url sqlite://{}",
            s.database_url.target
        ),
    }
}

/// `sladesk init DIR`: editable copies of what sladesk ships, and a
/// commented sladesk.toml that uses them. Nothing already there is touched.
pub(super) fn init(dir: &Path) -> Result<ExitCode, Failure> {
    let fail = |p: &Path, e: std::io::Error| Failure(format!("{}: {e}", p.display()), 1);
    let settings = dir.join("sladesk.toml");
    if settings.exists() {
        return Err(Failure(
            format!("{}: already there; init writes into a new folder", settings.display()),
            1,
        ));
    }
    let mut written = Vec::new();
    for (sub, files) in [
        ("sla-policies", crate::shipped::POLICIES),
        ("templates/email", crate::shipped::EMAIL_TEMPLATES),
        ("catalogue", crate::shipped::CATALOGUE),
    ] {
        let folder = dir.join(sub);
        std::fs::create_dir_all(&folder).map_err(|e| fail(&folder, e))?;
        for (name, text) in files {
            let path = folder.join(name);
            if path.exists() {
                return Err(Failure(
                    format!("{}: already there; init overwrites nothing", path.display()),
                    1,
                ));
            }
            std::fs::write(&path, text).map_err(|e| fail(&path, e))?;
            written.push(path);
        }
    }
    std::fs::write(&settings, INIT_SETTINGS).map_err(|e| fail(&settings, e))?;
    println!(
        "wrote {} policies, {} email templates, {} catalogue items and {} to {}",
        crate::shipped::POLICIES.len(),
        crate::shipped::EMAIL_TEMPLATES.len(),
        crate::shipped::CATALOGUE.len(),
        settings.display(),
        dir.display()
    );
    println!("next: cd {} && sladesk migrate && sladesk serve", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// The settings `sladesk init` writes: every key there is, commented.
pub(super) const INIT_SETTINGS: &str = include_str!("init.toml");

/// Opening a SQLite file that is not there would create a new, empty
/// database, and every command after would quietly read nothing: the
/// commonest slip is running from another folder than the database's. Only
/// `migrate`, `init`, `demo` and `serve` create one.
pub(super) fn refuse_new_database(s: &Settings) -> Result<(), Failure> {
    let url = &s.database_url;
    if url.backend == crate::store::Backend::Sqlite && url.target != ":memory:" && !Path::new(&url.target).exists() {
        let shown = std::path::absolute(&url.target).unwrap_or_else(|_| PathBuf::from(&url.target));
        return Err(Failure(
            format!(
                "no database at {}: this command would create a new, empty one, so it stops. \
                 Run it where the database is (or name it with --database-url or database_url in sladesk.toml); \
                 `sladesk migrate` creates a new database, `sladesk demo` a demo desk.",
                shown.display()
            ),
            1,
        ));
    }
    Ok(())
}
