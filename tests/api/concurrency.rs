//! Concurrent changes to one ticket lose nothing.

use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(
    fifty_parallel_replies_to_one_ticket_lose_none,
    several_servers_starting_at_once_on_one_database_all_start,
);

async fn fifty_parallel_replies_to_one_ticket_lose_none(db: Db) {
    let t = spawn_app(db).await;
    let r = t.raise(&t.carol, "Busy ticket", 3).await;
    let path = format!("/api/v1/tickets/{r}/replies");
    let mut tasks = Vec::new();
    for i in 0..50 {
        let (client, url) = (t.client.clone(), format!("{}{path}", t.address));
        let token = if i % 2 == 0 { t.agent.clone() } else { t.carol.clone() };
        tasks.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(token)
                .json(&json!({"body": format!("reply {i}")}))
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().as_u16(), 200);
    }
    let events = t.get(&format!("/api/v1/tickets/{r}/events"), &t.agent).await.json;
    let events = events.as_array().unwrap();
    let mut bodies: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "commented")
        .filter_map(|e| e["body"].as_str())
        .filter(|b| b.starts_with("reply "))
        .collect();
    bodies.sort();
    let mut expected: Vec<String> = (0..50).map(|i| format!("reply {i}")).collect();
    expected.sort();
    assert_eq!(bodies, expected.iter().map(String::as_str).collect::<Vec<_>>());
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "sequence numbers have no gap"
    );
    let ticket = t.get(&format!("/api/v1/tickets/{r}"), &t.agent).await.json;
    assert_eq!(
        ticket["version"].as_i64().unwrap(),
        51,
        "one version per reply after creation"
    );
}

async fn several_servers_starting_at_once_on_one_database_all_start(db: Db) {
    // An empty database, so the migrations race too.
    let dir = std::env::temp_dir().join(format!("sladesk-starts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (url, _cleanup) = match db {
        Db::Sqlite => (
            format!("sqlite://{}/{:?}.db", dir.display(), std::thread::current().id()).replace(['(', ')'], ""),
            crate::helpers::Cleanup::Dir(dir),
        ),
        Db::Postgres => crate::helpers::fresh_postgres_database(),
    };
    let starts: Vec<_> = (0..4)
        .map(|_| {
            let url = url.clone();
            std::thread::spawn(move || {
                let settings = sladesk::config::Settings {
                    listen: "127.0.0.1:0".into(),
                    database_url: url.parse().unwrap(),
                    policies: None,
                    holidays_file: None,
                    pool_size: 2,
                    workers: 1,
                };
                sladesk::server::build_app(&settings).map(|_| ())
            })
        })
        .collect();
    for s in starts {
        s.join().unwrap().unwrap();
    }
}
