//! Beyond one PostgreSQL (issue 20, part 5), against the real things: a
//! second PostgreSQL started as a streaming replica of the test cluster
//! (`read_database_url`), and Debian's PgBouncer in transaction mode.
//! `tests/setup.sh` lets loopback replication in and installs PgBouncer.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use serde_json::Value;

use crate::helpers::{Db, TestApp, process_on, spawn_app};

/// PostgreSQL's own programs (pg_basebackup, pg_ctl): Debian keeps them
/// out of PATH, under its versioned directory.
fn pg_bin(program: &str) -> PathBuf {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.into_iter()
        .rev()
        .map(|d| d.join(program))
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from(program))
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program` as the user PostgreSQL's servers run as: they refuse root.
fn as_server_user(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A directory the server user may own.
fn server_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("sladesk-{name}-{}-{}", std::process::id(), free_port()));
    std::fs::create_dir_all(&dir).unwrap();
    if is_root() {
        let ok = Command::new("chown")
            .arg("postgres:postgres")
            .arg(&dir)
            .status()
            .unwrap();
        assert!(ok.success(), "chown {}", dir.display());
    }
    dir
}

fn run(c: &mut Command, what: &str) {
    let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A streaming replica of the cluster at 127.0.0.1:5432, on its own port,
/// stopped and removed when dropped.
struct Replica {
    dir: PathBuf,
    port: u16,
}

impl Replica {
    fn start() -> Replica {
        let dir = server_dir("replica");
        let data = dir.join("data");
        run(
            as_server_user(&pg_bin("pg_basebackup"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    "5432",
                    "-U",
                    "postgres",
                    "--checkpoint=fast",
                    "--wal-method=stream",
                    "--write-recovery-conf",
                    "-D",
                ])
                .arg(&data),
            "pg_basebackup (is loopback replication allowed? run tests/setup.sh)",
        );
        let port = free_port();
        // Debian keeps the cluster's configuration outside its data
        // directory, so the copy has none: give it its own.
        let write = |name: &str, text: String| {
            let path = data.join(name);
            std::fs::write(&path, text).unwrap();
            if is_root() {
                Command::new("chown")
                    .arg("postgres:postgres")
                    .arg(&path)
                    .status()
                    .unwrap();
            }
        };
        write(
            "postgresql.conf",
            format!(
                "port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\nhot_standby = on\nshared_buffers = 16MB\n",
                dir.display()
            ),
        );
        write(
            "pg_hba.conf",
            "local all all trust\nhost all all 127.0.0.1/32 trust\n".into(),
        );
        write("pg_ident.conf", String::new());
        run(
            as_server_user(&pg_bin("pg_ctl"))
                .args(["-w", "-t", "60", "-D"])
                .arg(&data)
                .arg("-l")
                .arg(dir.join("log"))
                .arg("start"),
            "start the replica",
        );
        Replica { dir, port }
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    fn stop(&self) {
        let _ = as_server_user(&pg_bin("pg_ctl"))
            .args(["-m", "immediate", "-D"])
            .arg(self.dir.join("data"))
            .arg("stop")
            .output();
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn database_of(url: &str) -> String {
    url.rsplit('/').next().unwrap().split('?').next().unwrap().to_string()
}

/// The status and body of `path` as the process at `addr` answers `token`.
async fn get_at(t: &TestApp, addr: &str, path: &str, token: &str) -> (u16, String) {
    let r = t
        .client
        .get(format!("{addr}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// The references in globex's monthly report as `addr` answers it (the
/// whole desk's names no tickets).
async fn reported(t: &TestApp, addr: &str) -> Vec<String> {
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    let (status, body) = get_at(
        t,
        addr,
        &format!("/api/v1/reports/monthly?month={month}&org=globex"),
        &t.manager,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["tickets"]
        .as_array()
        .unwrap_or_else(|| panic!("no tickets in {v}"))
        .iter()
        .map(|t| t["reference"].as_str().unwrap().to_string())
        .collect()
}

/// Waits (at most 30 s) until `addr`'s report does or does not name `reference`.
async fn until_reported(t: &TestApp, addr: &str, reference: &str, want: bool) -> Duration {
    let began = Instant::now();
    loop {
        if reported(t, addr).await.iter().any(|r| r == reference) == want {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < Duration::from_secs(30),
            "{addr}: {reference} reported: {}",
            !want
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_read_from_a_streaming_replica_and_the_primary_when_it_is_gone() {
    let t = spawn_app(Db::Postgres).await;
    let first = t.raise(&t.gina, "Before the replica", 3).await;
    let replica = tokio::task::spawn_blocking(Replica::start).await.unwrap();
    let replica_url = replica.url(&database_of(&t.database_url));
    let read_url: sladesk::store::DatabaseUrl = replica_url.parse().unwrap();
    let b = process_on(&t.database_url, move |app| {
        app.set_read_pool(sladesk::app::replica::ReadPool::new(&read_url, 4))
    })
    .await;
    let took = until_reported(&t, &b, &first, true).await;
    eprintln!("the replica served the report {took:?} after it started");

    // Replay held on the replica: a ticket written now is on the primary
    // only. The process reads the ticket itself from the primary, and its
    // report from the replica, which has not seen it.
    let mut on_replica = diesel::PgConnection::establish(&replica_url).unwrap();
    on_replica.batch_execute("SELECT pg_wal_replay_pause()").unwrap();
    let held = t.raise(&t.gina, "While replay is held", 3).await;
    // A report counts events before its instant, to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let ticket = t.get(&format!("/api/v1/tickets/{held}"), &t.agent).await;
    assert_eq!(ticket.status.as_u16(), 200);
    let (on_b, _) = get_at(&t, &b, &format!("/api/v1/tickets/{held}"), &t.agent).await;
    assert_eq!(on_b, 200, "a ticket is read from the primary");
    let primary = reported(&t, &t.address).await;
    assert!(primary.contains(&held), "the primary reports {held}: {primary:?}");
    assert!(
        !reported(&t, &b).await.contains(&held),
        "the report came from the primary, not the held replica"
    );
    // A replica refuses writes: nothing may be sent there that writes.
    let refused = on_replica.batch_execute("CREATE TABLE nope (x int)");
    assert!(
        refused.is_err_and(|e| e.to_string().contains("read-only")),
        "the replica is read-only"
    );
    on_replica.batch_execute("SELECT pg_wal_replay_resume()").unwrap();
    let took = until_reported(&t, &b, &held, true).await;
    eprintln!("replay resumed: the replica's report named the new ticket after {took:?}");
    drop(on_replica);

    // The replica gone: reads fall back to the primary, not to errors.
    replica.stop();
    let gone = t.raise(&t.gina, "After the replica", 3).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let names = reported(&t, &b).await;
    assert!(names.contains(&gone), "with the replica gone the primary answers");
}

/// PgBouncer on its own port in front of 127.0.0.1:5432, in transaction
/// mode with `pool` server connections per database; stopped when dropped.
struct Bouncer {
    child: Child,
    dir: PathBuf,
    port: u16,
}

impl Bouncer {
    fn start(pool: u32) -> Bouncer {
        let dir = server_dir("pgbouncer");
        let port = free_port();
        let ini = dir.join("pgbouncer.ini");
        std::fs::write(dir.join("users.txt"), "\"postgres\" \"\"\n").unwrap();
        std::fs::write(
            &ini,
            format!(
                "[databases]\n* = host=127.0.0.1 port=5432\n\n[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\n\
                 unix_socket_dir =\nauth_type = trust\nauth_file = {users}\npool_mode = transaction\n\
                 default_pool_size = {pool}\nmax_client_conn = 200\nserver_reset_query =\n",
                users = dir.join("users.txt").display()
            ),
        )
        .unwrap();
        let child = as_server_user(Path::new("/usr/sbin/pgbouncer"))
            .arg(&ini)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("PgBouncer (run tests/setup.sh)");
        let began = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(began.elapsed() < Duration::from_secs(10), "PgBouncer did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        Bouncer { child, dir, port }
    }

    fn url(&self, database: &str, pooled: bool) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{database}{}",
            self.port,
            if pooled { "?pgbouncer=true" } else { "" }
        )
    }
}

impl Drop for Bouncer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sladesk_works_behind_pgbouncer_in_transaction_mode() {
    let t = spawn_app(Db::Postgres).await;
    let bouncer = tokio::task::spawn_blocking(|| Bouncer::start(2)).await.unwrap();
    let db = database_of(&t.database_url);

    // Why `pgbouncer=true` is needed: two clients lent the one server
    // connection in turn. Statements prepared by name collide there.
    let one = Bouncer::start(1);
    let named = one.url(&db, false).parse::<sladesk::store::DatabaseUrl>().unwrap();
    let count = |c: &mut sladesk::store::DbConnection| match c {
        sladesk::store::DbConnection::Postgres(pg) => sladesk::store::schema::tickets::table
            .count()
            .get_result::<i64>(pg)
            .map_err(|e| e.to_string()),
        _ => unreachable!(),
    };
    let (mut a, mut b) = (named.connect().unwrap(), named.connect().unwrap());
    count(&mut a).unwrap();
    let clash = count(&mut b).expect_err("the second client's statement has the first's name");
    assert!(clash.contains("already exists"), "{clash}");
    let unnamed = one.url(&db, true).parse::<sladesk::store::DatabaseUrl>().unwrap();
    let (mut a, mut b) = (unnamed.connect().unwrap(), unnamed.connect().unwrap());
    for _ in 0..3 {
        count(&mut a).unwrap();
        count(&mut b).unwrap();
    }
    drop(one);

    // A whole process through the pooler: it starts (migrations, start-up
    // registration), and takes concurrent work on 4 connections sharing 2.
    let p = process_on(&bouncer.url(&db, true), |_| {}).await;
    let mut made = tokio::task::JoinSet::new();
    for i in 0..24 {
        let (client, token, p) = (t.client.clone(), t.gina.clone(), p.clone());
        made.spawn(async move {
            let r = client
                .post(format!("{p}/api/v1/tickets"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"subject": format!("Through the pooler {i}"), "description": "x", "severity": 3}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status().as_u16(), 201, "{}", r.text().await.unwrap());
            let v: Value = r.json().await.unwrap();
            let reference = v["reference"].as_str().unwrap().to_string();
            let read = client
                .get(format!("{p}/api/v1/tickets/{reference}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            assert_eq!(read.status().as_u16(), 200);
            let reply = client
                .post(format!("{p}/api/v1/tickets/{reference}/replies"))
                .bearer_auth(&token)
                .json(&serde_json::json!({"body": "more detail"}))
                .send()
                .await
                .unwrap();
            assert!(reply.status().is_success(), "{}", reply.text().await.unwrap());
            reference
        });
    }
    let mut references = Vec::new();
    while let Some(r) = made.join_next().await {
        references.push(r.unwrap());
    }
    // A report counts events before its instant, to the second.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (listed, body) = get_at(&t, &p, "/api/v1/tickets?limit=50&q=pooler", &t.agent).await;
    assert_eq!(listed, 200, "{body}");
    let report = reported(&t, &p).await;
    // Every write made through the pooler is on the primary, once.
    for r in &references {
        assert!(report.contains(r), "{r} is not in the report read through the pooler");
        let direct = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await;
        assert_eq!(direct.status.as_u16(), 200);
    }
}
