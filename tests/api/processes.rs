//! Several processes on one PostgreSQL (issue 20): what one process changes
//! about who may do what reaches the others through LISTEN/NOTIFY, well
//! within the copies' own life (`TOKEN_CACHE_SECONDS`, 10 s;
//! `NETWORK_CACHE_SECONDS`, 30 s), so no load balancer needs sticky sessions.
//! PostgreSQL only: a SQLite file is served by one process.

use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, TestApp, second_process, spawn_app};

/// Asks `addr` for gina's tickets until it answers `want`, for at most
/// `within`; how long that took.
async fn until_status(t: &TestApp, addr: &str, token: &str, want: u16, within: Duration) -> Duration {
    let began = Instant::now();
    loop {
        let got = t
            .client
            .get(format!("{addr}/api/v1/tickets?limit=1"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16();
        if got == want {
            return began.elapsed();
        }
        assert!(
            began.elapsed() < within,
            "{addr} still answered {got} after {within:?}, not {want}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_change_on_one_process_reaches_the_others_at_once() {
    let t = spawn_app(Db::Postgres).await;
    let b = second_process(&t).await;
    // The second process has read gina's token and the (empty) allow-list,
    // and keeps them.
    until_status(&t, &b, &t.gina, 200, Duration::from_secs(5)).await;
    until_status(&t, &b, &t.gina, 200, Duration::from_secs(1)).await;

    // Disabled on the first process: refused on the second long before its
    // cached copy of the token would have expired.
    let off = t
        .patch("/api/v1/users/gina@globex.example", &t.admin, json!({"disabled": true}))
        .await;
    assert_eq!(off.status, 200, "{}", off.text);
    let took = until_status(&t, &b, &t.gina, 401, Duration::from_secs(5)).await;
    eprintln!("a disabled account was refused by the other process after {took:?}");
    let on = t
        .patch(
            "/api/v1/users/gina@globex.example",
            &t.admin,
            json!({"disabled": false}),
        )
        .await;
    assert_eq!(on.status, 200, "{}", on.text);
    until_status(&t, &b, &t.gina, 200, Duration::from_secs(5)).await;

    // An allow-list set on the first process that leaves out loopback: the
    // second refuses gina from it, again well inside the list's 30 s life.
    let set = t
        .call(
            Method::PUT,
            "/api/v1/organisations/globex/networks",
            Some(&t.admin),
            Some(json!({"networks": ["10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.text);
    let took = until_status(&t, &b, &t.gina, 403, Duration::from_secs(5)).await;
    eprintln!("a new allow-list was applied by the other process after {took:?}");
}
