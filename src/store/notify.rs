//! Telling the other processes on one database that something they keep in
//! memory has changed: PostgreSQL's `NOTIFY` on one channel, heard by a
//! `Listener` in each `serve` process.
//!
//! What is kept in memory is only ever a copy with a short life (the token
//! cache, the allow-lists), so a notification lost while a listener was
//! reconnecting costs at most that life; a listener that reconnects says so,
//! and its process drops every copy. SQLite has no such channel and needs
//! none: one process serves a SQLite file, and the command-line tools that
//! change it beside the server are covered by the copies' short life.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{Backend, DatabaseUrl, DbConnection, StoreError};

/// The one channel sladesk notifies on; the payload says what changed.
pub const CHANNEL: &str = "sladesk_caches";

impl DbConnection {
    /// Notifies every listening process that `what` changed. Inside a
    /// transaction PostgreSQL sends it at commit, and not at all on rollback.
    pub fn notify_changed(&mut self, what: &str) -> QueryResult<()> {
        match self {
            DbConnection::Postgres(pg) => {
                diesel::sql_query("SELECT pg_notify($1, $2)")
                    .bind::<diesel::sql_types::Text, _>(CHANNEL)
                    .bind::<diesel::sql_types::Text, _>(what)
                    .execute(pg)?;
                Ok(())
            }
            DbConnection::Sqlite(_) => Ok(()),
        }
    }
}

/// What a listener heard.
#[derive(Debug, PartialEq, Eq)]
pub enum Heard {
    /// These payloads were notified, in order.
    Changed(Vec<String>),
    /// The listener (re)connected: anything notified meanwhile was missed.
    Connected,
    /// Nothing within the wait.
    Nothing,
}

/// A connection of its own (not the pool's: it must stay open and
/// listening) that hears the channel.
pub struct Listener {
    url: DatabaseUrl,
    conn: Option<diesel::PgConnection>,
}

impl Listener {
    /// A listener for `url`; `None` on SQLite, and through a transaction
    /// pooler, which lends a server connection for one transaction and so
    /// cannot keep one listening (the copies then live out their short life).
    pub fn new(url: &DatabaseUrl) -> Option<Listener> {
        if url.pooled {
            tracing::warn!(
                "database_url is through a transaction pooler: no process hears the others' changes; cached tokens and allow-lists live out their life (10 s, 30 s)"
            );
        }
        (url.backend == Backend::Postgres && !url.pooled).then(|| Listener {
            url: url.clone(),
            conn: None,
        })
    }

    /// Waits up to `wait` for notifications. Connects first if it is not
    /// connected; an error (the server went away) drops the connection, to
    /// be made again on the next call.
    pub fn next(&mut self, wait: Duration) -> Result<Heard, StoreError> {
        let Some(conn) = self.conn.as_mut() else {
            let mut c =
                diesel::PgConnection::establish(&self.url.target).map_err(|e| StoreError::Connect(e.to_string()))?;
            c.batch_execute(&format!("LISTEN {CHANNEL}"))?;
            self.conn = Some(c);
            return Ok(Heard::Connected);
        };
        // libpq reads what has arrived without blocking; diesel does not hand
        // out the socket to wait on, so this looks every few milliseconds
        // (a read of an idle socket: nothing is sent to the server).
        let step = Duration::from_millis(50);
        let mut waited = Duration::ZERO;
        loop {
            let read: Result<Vec<String>, _> = conn.notifications_iter().map(|n| n.map(|n| n.payload)).collect();
            let heard = match read {
                Ok(heard) => heard,
                Err(e) => {
                    self.conn = None;
                    return Err(StoreError::Query(e));
                }
            };
            if !heard.is_empty() {
                return Ok(Heard::Changed(heard));
            }
            if waited >= wait {
                // An idle socket whose server went away reads as empty, not
                // as an error: ask it something now and then.
                if let Err(e) = conn.batch_execute("SELECT 1") {
                    self.conn = None;
                    return Err(StoreError::Query(e));
                }
                return Ok(Heard::Nothing);
            }
            std::thread::sleep(step);
            waited += step;
        }
    }
}
