//! Where the use cases connect: the primary (`conn`), or for reads that
//! may lag, a streaming replica (`read_database_url`): the reports, the
//! dashboard, search and exports read there, so the primary keeps its
//! capacity for writes and the queue. Everything that writes, and every
//! read that decides a write, stays on the primary.
//!
//! A replica is behind the primary by its replication delay (milliseconds
//! on a healthy pair), so a report may miss the last instant's events; that
//! is why kept report versions are computed on the primary. A replica that
//! cannot be reached is not an outage: reads go to the primary for
//! `REPLICA_REST_SECONDS`, then the replica is tried again.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use diesel::r2d2::PooledConnection;

use super::{App, AppError};
use crate::store::{DatabaseUrl, Manager, Pool};

/// How long reads stay on the primary after the replica failed them.
pub const REPLICA_REST_SECONDS: u64 = 30;

/// Where a read is made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reads {
    /// The primary: for reads that decide a write, or that must see the
    /// last commit (a report version being kept).
    Primary,
    /// The replica if one is set and reachable, else the primary.
    Replica,
}

/// The replica's pool, and until when it is rested after a failure.
pub struct ReadPool {
    pool: Pool,
    rested_until: Mutex<Option<Instant>>,
}

impl ReadPool {
    /// A pool on the replica `url` (see `DatabaseUrl::replica_pool`).
    pub fn new(url: &DatabaseUrl, size: u32) -> ReadPool {
        ReadPool {
            pool: url.replica_pool(size),
            rested_until: Mutex::new(None),
        }
    }
}

/// Whether short reads may run on the request's own thread;
/// `SLADESK_INLINE_READS=off` keeps every read on the blocking pool (to
/// compare, or should a SQLite file sit on a network disk).
pub fn inline_reads_wanted() -> bool {
    std::env::var("SLADESK_INLINE_READS").map_or(true, |v| v != "off")
}

impl App {
    /// Whether a one-row read may run on the caller's own thread instead of
    /// hopping to the blocking pool and back: the store is a SQLite file on
    /// this machine (no network; a reader in WAL mode waits on no writer, and
    /// reads one row in tens of microseconds, less than the two thread
    /// switches of the hop cost), and a pooled connection is idle now, so
    /// taking one waits on nothing. A PostgreSQL read waits on the network:
    /// it hops.
    pub fn reads_inline(&self) -> bool {
        self.local_file.load(std::sync::atomic::Ordering::Relaxed) && self.pool.state().idle_connections > 0
    }

    /// A connection from the primary's pool; a pool that cannot give one is
    /// unavailable (503).
    pub fn conn(&self) -> Result<PooledConnection<Manager>, AppError> {
        Ok(self.pool.get()?)
    }

    /// Sends the reads that may lag (`Reads::Replica`) to `pool`.
    pub fn set_read_pool(&self, pool: ReadPool) {
        *self.read_pool.write().expect("lock") = Some(std::sync::Arc::new(pool));
    }

    /// A connection for a read of kind `reads`.
    pub fn conn_for(&self, reads: Reads) -> Result<PooledConnection<Manager>, AppError> {
        if reads == Reads::Replica
            && let Some(r) = self.read_pool.read().expect("lock").clone()
        {
            let rested = r
                .rested_until
                .lock()
                .expect("lock")
                .is_some_and(|until| Instant::now() < until);
            if !rested {
                match r.pool.get() {
                    Ok(c) => return Ok(c),
                    Err(e) => {
                        tracing::warn!(error = %e, rest_seconds = REPLICA_REST_SECONDS,
                            "the read replica failed; reading from the primary meanwhile");
                        *r.rested_until.lock().expect("lock") =
                            Some(Instant::now() + Duration::from_secs(REPLICA_REST_SECONDS));
                    }
                }
            }
        }
        self.conn()
    }

    /// A connection for reads that may lag the primary a little.
    pub fn read_conn(&self) -> Result<PooledConnection<Manager>, AppError> {
        self.conn_for(Reads::Replica)
    }
}
