//! Backups: a consistent copy of the whole database while the server
//! writes, and a restore into an empty database. SQLite's `VACUUM INTO`
//! writes a new file from one read transaction (readers and the writer go
//! on meanwhile); PostgreSQL's own `pg_dump --format=custom` and
//! `pg_restore` do the same there (the client tools of the server's major
//! version, on the PATH). A restore then migrates, so a backup taken by an
//! older release comes back up to date.

use std::path::Path;
use std::process::Command;

use diesel::prelude::*;

use super::{Backend, DatabaseUrl, DbConnection, StoreError};

fn fail(what: impl Into<String>) -> StoreError {
    StoreError::Backup(what.into())
}

/// Runs one of PostgreSQL's client tools; its own words on failure.
fn tool(cmd: &mut Command, name: &str) -> Result<(), StoreError> {
    let out = cmd.output().map_err(|e| {
        fail(format!(
            "{name}: {e} (install PostgreSQL's client tools, the server's major version)"
        ))
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(fail(format!("{name}: {}", String::from_utf8_lossy(&out.stderr).trim())))
    }
}

impl DatabaseUrl {
    /// Writes a backup of the database to `out`, which must not exist.
    pub fn backup(&self, out: &Path) -> Result<u64, StoreError> {
        if out.exists() {
            return Err(fail(format!("{}: exists; a backup never overwrites", out.display())));
        }
        match self.backend {
            Backend::Sqlite => match &mut self.connect()? {
                DbConnection::Sqlite(c) => {
                    diesel::sql_query("VACUUM INTO ?")
                        .bind::<diesel::sql_types::Text, _>(out.to_string_lossy())
                        .execute(c)?;
                }
                DbConnection::Postgres(_) => unreachable!("a SQLite URL connects to SQLite"),
            },
            Backend::Postgres => tool(
                Command::new("pg_dump")
                    .args(["--format=custom", "--no-owner", "--no-privileges", "--file"])
                    .arg(out)
                    .arg(&self.target),
                "pg_dump",
            )?,
        }
        Ok(std::fs::metadata(out).map(|m| m.len()).unwrap_or(0))
    }

    /// Restores `file` into this database, which must hold no tables, then
    /// applies the migrations a newer release has; their names.
    pub fn restore(&self, file: &Path) -> Result<Vec<String>, StoreError> {
        let bytes = std::fs::read(file).map_err(|e| fail(format!("{}: {e}", file.display())))?;
        match self.backend {
            Backend::Sqlite => {
                if !bytes.starts_with(b"SQLite format 3\0") {
                    return Err(fail(format!("{}: not a SQLite backup", file.display())));
                }
                let target = Path::new(&self.target);
                if target.exists() && std::fs::metadata(target).map(|m| m.len()).unwrap_or(0) > 0 {
                    let tables: i64 = match &mut self.connect()? {
                        DbConnection::Sqlite(c) => diesel::dsl::sql::<diesel::sql_types::BigInt>(
                            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                        )
                        .get_result(c)?,
                        DbConnection::Postgres(_) => unreachable!("a SQLite URL connects to SQLite"),
                    };
                    if tables > 0 {
                        return Err(fail(format!(
                            "{}: holds {tables} tables; restore into an empty database",
                            target.display()
                        )));
                    }
                }
                // Whole or not at all: written beside the target, then renamed.
                let part = target.with_extension("restoring");
                std::fs::write(&part, &bytes).map_err(|e| fail(format!("{}: {e}", part.display())))?;
                std::fs::rename(&part, target).map_err(|e| fail(format!("{}: {e}", target.display())))?;
            }
            Backend::Postgres => {
                if !bytes.starts_with(b"PGDMP") {
                    return Err(fail(format!("{}: not a pg_dump custom-format backup", file.display())));
                }
                let tables: i64 = match &mut self.connect()? {
                    DbConnection::Postgres(c) => diesel::dsl::sql::<diesel::sql_types::BigInt>(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
                    )
                    .get_result(c)?,
                    DbConnection::Sqlite(_) => unreachable!("a PostgreSQL URL connects to PostgreSQL"),
                };
                if tables > 0 {
                    return Err(fail(format!(
                        "the database holds {tables} tables; restore into an empty database"
                    )));
                }
                tool(
                    Command::new("pg_restore")
                        .args([
                            "--no-owner",
                            "--no-privileges",
                            "--exit-on-error",
                            "--single-transaction",
                            "--dbname",
                        ])
                        .arg(&self.target)
                        .arg(file),
                    "pg_restore",
                )?;
            }
        }
        self.migrate()
    }
}
