//! Storage: one diesel code base for SQLite (embedded default) and
//! PostgreSQL.
//!
//! How the two backends share one code base: `DbConnection` is an enum
//! deriving diesel's `MultiConnection`, so every query is written once
//! against it, using only SQL types both backends share (`schema.rs`).
//! diesel's other routes were weighed: per-backend modules duplicate every
//! query, and generic-over-backend functions spread trait bounds through the
//! whole `app` layer. The few places that must differ (how a write
//! transaction begins; connection pragmas; migrations) match on the variant,
//! here and nowhere else.
//!
//! Connections come from an r2d2 pool whose manager picks the backend from
//! the URL scheme (`sqlite://PATH` or `postgres://…`) and sets SQLite's
//! pragmas (WAL, foreign keys, busy timeout) on every connection.
//! Migrations for each backend live in `migrations/<backend>/`, are embedded
//! in the binary, and run on a concrete connection before the pool is built.
//!
//! This module does no business logic: `app` is the only writer and decides
//! what is written; this is where and how.

pub mod backup;
pub mod find;
mod group;
pub mod jobs;
pub mod models;
pub mod notify;
pub mod outbox;
pub mod schema;
pub mod search;
pub mod tickets;

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{self, ManageConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgresql");

/// A connection to either backend; every query is written once against it.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgres(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Which database a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A parsed `--database-url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// For SQLite the file path; for PostgreSQL the whole URL.
    pub target: String,
    /// PostgreSQL reached through a pooler in transaction mode (PgBouncer),
    /// said by `pgbouncer=true` in the URL, as other PostgreSQL clients
    /// spell it: no statement is prepared by name (the next transaction may
    /// be on another server connection), and migrations hold their lock
    /// for one transaction only. The parameter is sladesk's, not libpq's,
    /// and is taken out of `target`.
    pub pooled: bool,
}

/// Why the store could not be opened or migrated.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database URL '{0}': expected sqlite://PATH or postgres://USER@HOST:PORT/DB")]
    BadUrl(String),
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("backup: {0}")]
    Backup(String),
    #[error("migrations failed: {0}")]
    Migrate(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] r2d2::PoolError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl std::str::FromStr for DatabaseUrl {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Some(path) = s.strip_prefix("sqlite://").or_else(|| s.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err(StoreError::BadUrl(s.to_string()));
            }
            return Ok(DatabaseUrl {
                backend: Backend::Sqlite,
                target: path.to_string(),
                pooled: false,
            });
        }
        if s.starts_with("postgres://") || s.starts_with("postgresql://") {
            let (target, pooled) = take_pgbouncer(s).ok_or_else(|| StoreError::BadUrl(s.to_string()))?;
            return Ok(DatabaseUrl {
                backend: Backend::Postgres,
                target,
                pooled,
            });
        }
        Err(StoreError::BadUrl(s.to_string()))
    }
}

/// `s` without its `pgbouncer` parameter, and whether that said `true`;
/// `None` for a parameter that is neither `true` nor `false`.
fn take_pgbouncer(s: &str) -> Option<(String, bool)> {
    let Some((base, query)) = s.split_once('?') else {
        return Some((s.to_string(), false));
    };
    let mut pooled = false;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("pgbouncer", "true")) => pooled = true,
            Some(("pgbouncer", "false")) => {}
            Some(("pgbouncer", _)) => return None,
            _ => kept.push(pair),
        }
    }
    Some(if kept.is_empty() {
        (base.to_string(), pooled)
    } else {
        (format!("{base}?{}", kept.join("&")), pooled)
    })
}

impl DatabaseUrl {
    /// Opens one connection, with SQLite's pragmas set.
    pub fn connect(&self) -> Result<DbConnection, StoreError> {
        match self.backend {
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&self.target)
                    .map_err(|e| StoreError::Connect(format!("{}: {e}", self.target)))?;
                // WAL lets readers run beside the one writer; the busy
                // timeout makes a second writer wait instead of failing.
                // The busy timeout first: switching to WAL itself needs a lock
                // that another process opening the file may hold.
                c.batch_execute("PRAGMA busy_timeout = 10000;")
                    .map_err(|e| StoreError::Connect(e.to_string()))?;
                // Switching to WAL can answer "locked" at once, without the
                // busy handler, while another connection is opening the file
                // or migrating it: wait and try again for a while.
                let mut tries = 0;
                loop {
                    match c.batch_execute("PRAGMA journal_mode = WAL;") {
                        Ok(()) => break,
                        Err(e) if tries < 100 && e.to_string().contains("locked") => {
                            tries += 1;
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        Err(e) => return Err(StoreError::Connect(e.to_string())),
                    }
                }
                // Reads through a shared memory map of the file rather than
                // a read() per page into each connection's small cache: the
                // tick and the queues touch pages all over a large database.
                c.batch_execute(
                    "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA mmap_size = 1073741824;",
                )
                .map_err(|e| StoreError::Connect(e.to_string()))?;
                Ok(DbConnection::Sqlite(c))
            }
            Backend::Postgres => {
                let mut c =
                    diesel::PgConnection::establish(&self.target).map_err(|e| StoreError::Connect(e.to_string()))?;
                if self.pooled {
                    // Unnamed statements go out with their parameters in
                    // one message, which a transaction pooler passes whole.
                    c.set_prepared_statement_cache_size(diesel::connection::CacheSize::Disabled);
                }
                Ok(DbConnection::Postgres(c))
            }
        }
    }

    /// Runs every pending migration; returns the versions applied.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let names =
            |v: Vec<diesel::migration::MigrationVersion>| v.into_iter().map(|m| m.to_string()).collect::<Vec<_>>();
        match &mut self.connect()? {
            DbConnection::Sqlite(c) => {
                // Another process migrating the same file at the same moment
                // makes ours fail on tables it created: look again, and run
                // what is still pending, a few times before giving up.
                let mut attempt = 0;
                loop {
                    match c
                        .run_pending_migrations(SQLITE_MIGRATIONS)
                        .map(names)
                        .map_err(|e| e.to_string())
                    {
                        Ok(v) => return Ok(v),
                        Err(_) if !c.has_pending_migration(SQLITE_MIGRATIONS).unwrap_or(true) => return Ok(Vec::new()),
                        Err(e) if attempt >= 50 => return Err(StoreError::Migrate(e)),
                        Err(e) => {
                            tracing::info!(error = %e, "migrations raced with another process; looking again");
                            attempt += 1;
                            std::thread::sleep(Duration::from_millis(100));
                        }
                    }
                }
            }
            DbConnection::Postgres(c) if self.pooled => {
                // A session's lock would stay on whichever server connection
                // the pooler lent: take turns for one transaction instead,
                // every migration inside it.
                c.transaction(|c| {
                    diesel::sql_query("SELECT pg_advisory_xact_lock(7243002)").execute(c)?;
                    c.run_pending_migrations(POSTGRES_MIGRATIONS)
                        .map(names)
                        .map_err(|e| diesel::result::Error::QueryBuilderError(e.to_string().into()))
                })
                .map_err(|e| StoreError::Migrate(e.to_string()))
            }
            DbConnection::Postgres(c) => {
                // Several servers starting at once on an empty database take
                // turns; the later ones find nothing pending.
                diesel::sql_query("SELECT pg_advisory_lock(7243002)").execute(c)?;
                let done = c
                    .run_pending_migrations(POSTGRES_MIGRATIONS)
                    .map(names)
                    .map_err(|e| e.to_string());
                diesel::sql_query("SELECT pg_advisory_unlock(7243002)").execute(c)?;
                done.map_err(StoreError::Migrate)
            }
        }
    }

    /// Migrates, then builds a pool of `size` connections.
    pub fn pool(&self, size: u32) -> Result<Pool, StoreError> {
        self.migrate()?;
        r2d2::Pool::builder()
            .max_size(size)
            // A health query on every checkout would double the queries of a
            // read; broken connections surface as errors and are replaced.
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(Manager { url: self.clone() })
            .map_err(|e| StoreError::Connect(e.to_string()))
    }

    /// A pool on a read-only replica: never migrated (it follows the
    /// primary's schema), connecting only when first used (a replica down
    /// while the server starts does not stop it), and quick to give up
    /// (its reader then reads from the primary). Each connection is checked
    /// as it is lent: one round trip, cheap beside the reports and searches
    /// sent there, and a replica that went away is found before the read.
    pub fn replica_pool(&self, size: u32) -> Pool {
        r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .test_on_check_out(true)
            .connection_timeout(Duration::from_secs(2))
            .build_unchecked(Manager { url: self.clone() })
    }
}

/// Whether migrations embedded in this binary are all applied.
pub fn migrations_current(conn: &mut DbConnection) -> Result<bool, StoreError> {
    let pending = match conn {
        DbConnection::Sqlite(c) => c.has_pending_migration(SQLITE_MIGRATIONS),
        DbConnection::Postgres(c) => c.has_pending_migration(POSTGRES_MIGRATIONS),
    }
    .map_err(|e| StoreError::Migrate(e.to_string()))?;
    Ok(!pending)
}

/// Makes pooled connections to the backend a URL names, with SQLite's pragmas
/// set on each.
pub struct Manager {
    url: DatabaseUrl,
}

impl ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        self.url.connect().map_err(|e| match e {
            StoreError::Query(q) => r2d2::Error::QueryError(q),
            other => r2d2::Error::ConnectionError(diesel::ConnectionError::BadConnection(other.to_string())),
        })
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.batch_execute("SELECT 1").map_err(r2d2::Error::QueryError)
    }

    /// Asks the connection: one left mid-transaction (a panic inside
    /// `write`) or whose server went away is not handed out again.
    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        use diesel::r2d2::R2D2Connection;
        std::thread::panicking() || conn.is_broken()
    }
}

/// The pool of connections.
pub type Pool = r2d2::Pool<Manager>;

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl DbConnection {
    /// Whether this is a SQLite file on this machine (no network between
    /// the process and its data), for `App::reads_inline`.
    pub fn is_local_file(&self) -> bool {
        matches!(self, DbConnection::Sqlite(_))
    }

    /// Serialises start-up registration (policy versions, holiday sets)
    /// between several `serve` processes starting at once on PostgreSQL,
    /// for the rest of the write transaction.
    pub fn lock_registration(&mut self) -> diesel::QueryResult<()> {
        match self {
            DbConnection::Postgres(pg) => {
                diesel::sql_query("SELECT pg_advisory_xact_lock(7243001)").execute(pg)?;
                Ok(())
            }
            DbConnection::Sqlite(_) => Ok(()),
        }
    }

    /// Locks one ticket row for the rest of the write transaction, so
    /// concurrent changes to one ticket queue instead of colliding. SQLite's
    /// IMMEDIATE transaction already holds the database's write lock.
    pub fn lock_ticket(&mut self, reference: &str) -> diesel::QueryResult<()> {
        match self {
            DbConnection::Postgres(pg) => {
                diesel::sql_query("SELECT 1 FROM tickets WHERE reference = $1 FOR UPDATE")
                    .bind::<diesel::sql_types::Text, _>(reference)
                    .execute(pg)?;
                Ok(())
            }
            DbConnection::Sqlite(_) => Ok(()),
        }
    }

    /// Makes a mailbox's health row if it is not there, and locks it for
    /// the rest of the write transaction (SQLite's IMMEDIATE transaction
    /// already holds everything), so two processes polling one mailbox
    /// neither collide on the first row nor decide two notices.
    pub fn lock_mailbox_health(&mut self, mailbox: &str) -> diesel::QueryResult<()> {
        use diesel::sql_types::Text;
        match self {
            DbConnection::Postgres(pg) => {
                diesel::sql_query(
                    "INSERT INTO mailbox_health (mailbox, consecutive_failures) VALUES ($1, 0) ON CONFLICT DO NOTHING",
                )
                .bind::<Text, _>(mailbox)
                .execute(pg)?;
                diesel::sql_query("SELECT 1 FROM mailbox_health WHERE mailbox = $1 FOR UPDATE")
                    .bind::<Text, _>(mailbox)
                    .execute(pg)?;
            }
            DbConnection::Sqlite(lite) => {
                diesel::sql_query("INSERT OR IGNORE INTO mailbox_health (mailbox, consecutive_failures) VALUES (?, 0)")
                    .bind::<Text, _>(mailbox)
                    .execute(lite)?;
            }
        }
        Ok(())
    }

    /// Which backend this manager connects to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Sqlite(_) => Backend::Sqlite,
            DbConnection::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` in a write transaction, answering once it has committed.
    /// On SQLite, concurrent writers share one transaction, each in a
    /// savepoint (group commit: `store::group`); it begins IMMEDIATE, taking
    /// the write lock up front, so writers of other processes queue on the
    /// busy timeout instead of one failing when it upgrades a read lock.
    pub fn write<T, E>(&mut self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        match self {
            DbConnection::Postgres(_) => self.transaction(f),
            DbConnection::Sqlite(sq) => {
                if group::enabled()
                    && let Some(group) = group::of(sq)?
                {
                    return group.write(f);
                }
                // Writers in this process queue on a mutex, in order, rather
                // than in SQLite's busy handler, which sleeps in growing steps
                // (up to 100 ms) and makes tail latency under load ragged.
                // Other processes on the same file still meet the busy timeout.
                let _writer = SQLITE_WRITER.lock().unwrap_or_else(|e| e.into_inner());
                self.batch_execute("BEGIN IMMEDIATE")?;
                match f(self) {
                    Ok(v) => match self.batch_execute("COMMIT") {
                        Ok(()) => Ok(v),
                        Err(e) => {
                            let _ = self.batch_execute("ROLLBACK");
                            Err(e.into())
                        }
                    },
                    Err(e) => {
                        let _ = self.batch_execute("ROLLBACK");
                        Err(e)
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    /// Both backends migrate through the same versions: a migration written
    /// for one and forgotten for the other fails here, not in production.
    #[test]
    fn both_migration_folders_hold_the_same_versions() {
        let versions = |backend: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut v: Vec<String> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|e| e.ok())
                .filter(|e| e.path().join("up.sql").exists() && e.path().join("down.sql").exists())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        let (sqlite, postgres) = (versions("sqlite"), versions("postgresql"));
        assert!(sqlite.len() >= 15, "{sqlite:?}");
        assert_eq!(sqlite, postgres);
    }

    /// `pgbouncer=true` is sladesk's word and never reaches libpq, which
    /// refuses parameters it does not know; the others pass untouched.
    #[test]
    fn the_pooler_parameter_is_taken_out_of_the_url() {
        let u = |s: &str| s.parse::<super::DatabaseUrl>().map(|u| (u.target, u.pooled));
        let base = "postgres://sladesk@db:6432/desk";
        assert_eq!(u(base).unwrap(), (base.to_string(), false));
        assert_eq!(u(&format!("{base}?pgbouncer=true")).unwrap(), (base.to_string(), true));
        assert_eq!(
            u(&format!("{base}?sslmode=require&pgbouncer=true&connect_timeout=5")).unwrap(),
            (format!("{base}?sslmode=require&connect_timeout=5"), true)
        );
        assert_eq!(
            u(&format!("{base}?pgbouncer=false")).unwrap(),
            (base.to_string(), false)
        );
        assert!(u(&format!("{base}?pgbouncer=yes")).is_err(), "neither true nor false");
    }
}
