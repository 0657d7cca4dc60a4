//! Group commit on SQLite: the writers waiting for a file's one write lock
//! share one transaction, each inside a savepoint of its own, and each is
//! answered only once that transaction has committed.
//!
//! Why: SQLite has one writer per file. Each transaction costs its BEGIN,
//! its COMMIT and the WAL frames of every page it touched; concurrent
//! ticket writes touch the same pages (the tickets table's last leaf, its
//! indexes, the outbox, the search queue), so one transaction for several
//! writes writes those pages once instead of once each.
//!
//! How: every process has one writing connection per database file (a
//! `Group`). A writer takes it (in order), begins the batch's transaction
//! if none is open, runs its work between `SAVEPOINT` and `RELEASE`, or
//! `ROLLBACK TO` the savepoint if the work fails, so a failing request
//! undoes only itself. Then, if nobody else is waiting for the connection,
//! or the batch has 64 members, or it has been open for a millisecond, it
//! commits and wakes the members waiting for that commit; otherwise it
//! leaves the transaction open for the next writer and waits. No member is
//! answered before the commit that holds its work; if that commit fails,
//! every member whose work succeeded gets the error (none was acknowledged).
//!
//! The work runs on the caller's own thread, with the group's connection
//! lent to it, so it may borrow whatever the caller has.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Condvar, LazyLock, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{Backend, DatabaseUrl, DbConnection};

/// The most writes one transaction takes.
pub const MAX_MEMBERS: usize = 64;
/// The longest a batch stays open for more writers.
pub const MAX_OPEN: Duration = Duration::from_millis(1);

/// One database file's writing connection and its batch.
pub struct Group {
    conn: Mutex<Option<DbConnection>>,
    state: Mutex<State>,
    committed: Condvar,
    url: DatabaseUrl,
}

#[derive(Default)]
struct State {
    /// Writers waiting for the connection.
    waiting: usize,
    /// The batch whose transaction is open: its number, members and start.
    open: Option<(u64, usize, Instant)>,
    /// Batches up to this number are decided.
    decided: u64,
    next: u64,
    /// Recent batches whose commit failed, with why.
    failed: VecDeque<(u64, String)>,
}

/// Whether writers share transactions: yes, unless the environment says
/// `SLADESK_SQLITE_GROUP_COMMIT=off` (each write its own transaction, as
/// before; for comparing the two, and a way back should it ever be needed).
pub(super) fn enabled() -> bool {
    static ON: LazyLock<bool> =
        LazyLock::new(|| std::env::var("SLADESK_SQLITE_GROUP_COMMIT").map_or(true, |v| v != "off"));
    *ON
}

static GROUPS: LazyLock<Mutex<HashMap<String, Arc<Group>>>> = LazyLock::new(Default::default);

/// The group of the SQLite file `c` is connected to; none for a database
/// without a file (in memory), which has no other connection to share with.
pub(super) fn of(c: &mut diesel::SqliteConnection) -> QueryResult<Option<Arc<Group>>> {
    #[derive(QueryableByName)]
    struct Db {
        #[diesel(sql_type = diesel::sql_types::Text)]
        name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        file: String,
    }
    let dbs: Vec<Db> = diesel::sql_query("PRAGMA database_list").load(c)?;
    let file = dbs
        .into_iter()
        .find(|d| d.name == "main")
        .map(|d| d.file)
        .unwrap_or_default();
    if file.is_empty() {
        return Ok(None);
    }
    let mut groups = GROUPS.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Some(
        groups
            .entry(file.clone())
            .or_insert_with(|| {
                Arc::new(Group {
                    conn: Mutex::new(None),
                    state: Mutex::new(State::default()),
                    committed: Condvar::new(),
                    url: DatabaseUrl {
                        backend: Backend::Sqlite,
                        target: file,
                        pooled: false,
                    },
                })
            })
            .clone(),
    ))
}

fn failure(why: String) -> diesel::result::Error {
    diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::Unknown, Box::new(why))
}

impl Group {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs `f` as one member of a batch; see the module's comment.
    pub(super) fn write<T, E>(&self, f: impl FnOnce(&mut DbConnection) -> Result<T, E>) -> Result<T, E>
    where
        E: From<diesel::result::Error>,
    {
        self.state().waiting += 1;
        let mut slot = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let open = {
            let mut st = self.state();
            st.waiting -= 1;
            st.open
        };
        if slot.is_none() {
            match self.url.connect() {
                Ok(c) => *slot = Some(c),
                Err(e) => return Err(failure(e.to_string()).into()),
            }
        }
        let conn = slot.as_mut().expect("connected");
        let batch = match open {
            Some((id, ..)) => id,
            None => {
                if let Err(e) = conn.batch_execute("BEGIN IMMEDIATE") {
                    return Err(e.into());
                }
                let mut st = self.state();
                st.next += 1;
                let id = st.next;
                st.open = Some((id, 0, Instant::now()));
                id
            }
        };
        // A failure here leaves nothing to undo but the savepoint itself.
        let outcome = match conn.batch_execute("SAVEPOINT member") {
            Ok(()) => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(conn))),
            Err(e) => Ok(Err(e.into())),
        };
        let succeeded = matches!(outcome, Ok(Ok(_)));
        // Keep this member's work, or undo it alone. If SQLite already
        // rolled the whole transaction back (it does on some I/O and
        // memory errors), the savepoint is gone and so is the batch.
        let kept = if succeeded {
            conn.batch_execute("RELEASE member")
        } else {
            conn.batch_execute("ROLLBACK TO member; RELEASE member")
        };
        let (members, opened, waiting) = {
            let mut st = self.state();
            let (_, members, opened) = st.open.as_mut().expect("the batch is open");
            *members += 1;
            (*members, *opened, st.waiting)
        };
        let broken = kept.as_ref().err().map(|e| e.to_string());
        let decide = broken.is_some() || waiting == 0 || members >= MAX_MEMBERS || opened.elapsed() >= MAX_OPEN;
        if decide {
            let committed = match &broken {
                Some(why) => {
                    let _ = conn.batch_execute("ROLLBACK");
                    Err(why.clone())
                }
                None => conn.batch_execute("COMMIT").map_err(|e| {
                    let _ = conn.batch_execute("ROLLBACK");
                    e.to_string()
                }),
            };
            if committed.is_err() {
                // The connection's state is unknown: a new one next time.
                *slot = None;
            }
            {
                let mut st = self.state();
                st.open = None;
                st.decided = batch;
                if let Err(why) = &committed {
                    st.failed.push_back((batch, why.clone()));
                    if st.failed.len() > 64 {
                        st.failed.pop_front();
                    }
                }
            }
            drop(slot);
            self.committed.notify_all();
            return finish(outcome, committed.err());
        }
        drop(slot);
        if !succeeded {
            // Nothing of this member's is in the batch: no need to wait.
            return finish(outcome, None);
        }
        let mut st = self.state();
        while st.decided < batch {
            st = self.committed.wait(st).unwrap_or_else(|e| e.into_inner());
        }
        let failed = st
            .failed
            .iter()
            .find(|(id, _)| *id == batch)
            .map(|(_, why)| why.clone());
        drop(st);
        finish(outcome, failed)
    }
}

/// The member's answer once its batch is decided: its own result, unless
/// the commit failed under work that had succeeded; a panic goes on.
fn finish<T, E>(outcome: std::thread::Result<Result<T, E>>, commit_failed: Option<String>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match outcome {
        Err(panic) => std::panic::resume_unwind(panic),
        Ok(Ok(_)) if commit_failed.is_some() => Err(failure(commit_failed.unwrap_or_default()).into()),
        Ok(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writers at once from many threads: those whose work fails undo only
    /// their own rows, every other writer's rows are committed, and several
    /// writers did share transactions.
    #[test]
    fn a_failing_member_rolls_back_alone_and_the_rest_commit() {
        let dir = std::env::temp_dir().join(format!("sladesk-group-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let url: DatabaseUrl = format!("sqlite://{}", dir.join("g.db").display()).parse().unwrap();
        let pool = url.pool(8).unwrap();
        pool.get()
            .unwrap()
            .batch_execute("CREATE TABLE t (k TEXT PRIMARY KEY NOT NULL)")
            .unwrap();
        let group = match &mut *pool.get().unwrap() {
            DbConnection::Sqlite(sq) => of(sq).unwrap().expect("a file"),
            DbConnection::Postgres(_) => unreachable!(),
        };
        let threads: Vec<_> = (0..16)
            .map(|n| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut outcomes = Vec::new();
                    for i in 0..25u32 {
                        let mut c = pool.get().unwrap();
                        let r = c.write(|c| -> Result<(), diesel::result::Error> {
                            diesel::sql_query(format!("INSERT INTO t VALUES ('{n}-{i}')")).execute(c)?;
                            if i.is_multiple_of(5) {
                                // Fails after writing: its row must go too.
                                diesel::sql_query(format!("INSERT INTO t VALUES ('{n}-{i}')")).execute(c)?;
                            }
                            Ok(())
                        });
                        outcomes.push((format!("{n}-{i}"), r.is_ok()));
                    }
                    outcomes
                })
            })
            .collect();
        let outcomes: Vec<(String, bool)> = threads.into_iter().flat_map(|t| t.join().unwrap()).collect();
        #[derive(QueryableByName)]
        struct K {
            #[diesel(sql_type = diesel::sql_types::Text)]
            k: String,
        }
        let stored: std::collections::HashSet<String> = diesel::sql_query("SELECT k FROM t")
            .load::<K>(&mut pool.get().unwrap())
            .unwrap()
            .into_iter()
            .map(|r| r.k)
            .collect();
        for (k, ok) in &outcomes {
            let i: u32 = k.split('-').nth(1).unwrap().parse().unwrap();
            assert_eq!(*ok, !i.is_multiple_of(5), "{k}");
            assert_eq!(stored.contains(k), *ok, "{k}: committed exactly when acknowledged");
        }
        assert_eq!(stored.len(), 16 * 20);
        let batches = group.state().next;
        eprintln!("{} writes in {batches} transactions", outcomes.len());
        assert!(batches > 0 && batches <= outcomes.len() as u64);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
