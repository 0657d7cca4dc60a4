//! Full-text search over HTTP: what it finds, for whom, and how it says no.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    search_finds_words_in_every_text_each_caller_may_read,
    a_customer_never_finds_matches_excludes_or_sees_what_is_not_theirs,
    filters_narrow_and_malformed_queries_are_told_where
);

async fn raise_with(t: &TestApp, token: &str, subject: &str, description: &str) -> String {
    let a = t
        .post(
            "/api/v1/tickets",
            token,
            json!({"subject": subject, "description": description, "severity": 3}),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.text);
    a.json["reference"].as_str().unwrap().to_string()
}

async fn find(t: &TestApp, token: &str, q: &str) -> Value {
    let path = format!("/api/v1/search?q={}", urlencoding(q));
    let a = t.get(&path, token).await;
    assert_eq!(a.status.as_u16(), 200, "{q}: {}", a.text);
    a.json
}

fn refs(found: &Value) -> Vec<String> {
    found["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["ticket"]["reference"].as_str().unwrap().to_string())
        .collect()
}

fn urlencoding(q: &str) -> String {
    url::form_urlencoded::byte_serialize(q.as_bytes()).collect()
}

async fn search_finds_words_in_every_text_each_caller_may_read(db: Db) {
    let t = spawn_app(db).await;
    let a = raise_with(
        &t,
        &t.carol,
        "Backups to object storage fail",
        "The nightly job reports a checksum mismatch on every upload to eu-west-1.",
    )
    .await;
    let b = raise_with(&t, &t.carol, "Printer offline", "The printer on floor two is offline.").await;
    // Both tickets wait for the indexer; searched before and after it ran,
    // they are found the same.
    assert_eq!(t.app.search_queue_length().unwrap(), 2);
    assert_eq!(refs(&find(&t, &t.agent, "checksum").await), [a.as_str()]);
    assert_eq!(t.app.index_search_queue(500).unwrap(), 2);
    assert_eq!(t.app.search_queue_length().unwrap(), 0);
    // A word in the description, stemmed both ways ("failing" finds "fail").
    assert_eq!(refs(&find(&t, &t.agent, "checksum").await), [a.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, "failing backups").await), [a.as_str()]);
    assert_eq!(refs(&find(&t, &t.carol, "Checksums").await), [a.as_str()]);
    // Phrases, exclusions, prefixes, codes.
    assert_eq!(refs(&find(&t, &t.agent, r#""object storage""#).await), [a.as_str()]);
    assert!(refs(&find(&t, &t.agent, r#""storage object""#).await).is_empty());
    assert_eq!(
        refs(&find(&t, &t.agent, "offline -printer").await),
        Vec::<String>::new()
    );
    assert_eq!(refs(&find(&t, &t.agent, "print*").await), [b.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, "eu-west-1").await), [a.as_str()]);
    // The requester's and organisation's names, and the reference as a word.
    let names = refs(&find(&t, &t.agent, "acme checksum").await);
    assert_eq!(names, [a.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, &format!("{a} checksum")).await), [a.as_str()]);
    // A reply is found as soon as it is acknowledged: same transaction.
    let r = t
        .post(
            &format!("/api/v1/tickets/{b}/replies"),
            &t.agent,
            json!({"body": "We replaced the toner cartridge."}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(
        t.app.search_queue_length().unwrap(),
        1,
        "the replied ticket is marked in the reply's transaction"
    );
    assert_eq!(refs(&find(&t, &t.carol, "cartridge").await), [b.as_str()]);
    assert_eq!(refs(&find(&t, &t.carol, "offline").await), [b.as_str()]);
    t.app.index_search_queue(500).unwrap();
    assert_eq!(refs(&find(&t, &t.carol, "cartridge").await), [b.as_str()]);
    // An internal note: staff find it, and the snippet shows where.
    let n = t
        .post(
            &format!("/api/v1/tickets/{b}/notes"),
            &t.agent,
            json!({"body": "Supplier Kyocera owes us a fuser."}),
        )
        .await;
    assert_eq!(n.status.as_u16(), 200, "{}", n.text);
    let staff = find(&t, &t.agent, "kyocera").await;
    assert_eq!(refs(&staff), [b.as_str()]);
    let hits: Vec<&str> = staff["items"][0]["snippet"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["hit"] == true)
        .map(|p| p["text"].as_str().unwrap())
        .collect();
    assert_eq!(hits, ["Kyocera"], "{staff}");
    // The subject ranks above the body.
    let c = raise_with(&t, &t.carol, "Toner low", "Please order more.").await;
    assert_eq!(refs(&find(&t, &t.agent, "toner").await), [c.as_str(), b.as_str()]);
    // A reference alone jumps, for whoever may see it.
    for q in [
        a.as_str(),
        &a.to_lowercase(),
        a.trim_start_matches("SD-").trim_start_matches('0'),
    ] {
        assert_eq!(find(&t, &t.carol, q).await["jump"], a.as_str(), "{q}");
    }
    assert!(find(&t, &t.gina, &a).await.get("jump").is_none());
}

async fn a_customer_never_finds_matches_excludes_or_sees_what_is_not_theirs(db: Db) {
    let t = spawn_app(db).await;
    let mine = raise_with(&t, &t.carol, "VPN drops", "The tunnel to LON1 drops hourly.").await;
    let theirs = raise_with(&t, &t.gina, "Globex zebra", "A quagga appeared in the rack.").await;
    // Globex's ticket from the index, Acme's (with its note) from the store.
    t.app.index_search_queue(500).unwrap();
    t.post(
        &format!("/api/v1/tickets/{mine}/notes"),
        &t.agent,
        json!({"body": "Internal: carol's firewall is misconfigured; wombat."}),
    )
    .await;
    // A word only in another organisation's ticket.
    for q in ["quagga", "zebra", "globex", "quagga*", r#""appeared in the rack""#] {
        let found = find(&t, &t.carol, q).await;
        assert_eq!(found["total"], 0, "{q}: {found}");
        assert!(!found.to_string().contains(&theirs), "{q}");
    }
    // A word only in an internal note: not found, not excluding, not shown.
    let found = find(&t, &t.carol, "wombat").await;
    assert_eq!(found["total"], 0, "{found}");
    let found = find(&t, &t.carol, "tunnel -wombat").await;
    assert_eq!(refs(&found), [mine.as_str()], "a note must not exclude for a customer");
    let text = found.to_string();
    assert!(!text.contains("wombat") && !text.contains("misconfigured"), "{text}");
    let found = find(&t, &t.carol, "carol").await;
    assert!(!found.to_string().contains("firewall"), "{found}");
    // The same from the index.
    t.app.index_search_queue(500).unwrap();
    assert_eq!(find(&t, &t.carol, "wombat").await["total"], 0);
    assert_eq!(refs(&find(&t, &t.carol, "tunnel -wombat").await), [mine.as_str()]);
    assert_eq!(find(&t, &t.carol, "quagga").await["total"], 0);
    // Staff see both, and the note excludes for them.
    assert_eq!(refs(&find(&t, &t.agent, "wombat").await), [mine.as_str()]);
    assert!(refs(&find(&t, &t.agent, "tunnel -wombat").await).is_empty());
    assert_eq!(refs(&find(&t, &t.agent, "quagga").await), [theirs.as_str()]);
    // Staff-only filters are refused to customers, by name.
    for q in ["vpn assignee:me", "vpn queue:platform", "vpn at-risk"] {
        let a = t.get(&format!("/api/v1/search?q={}", urlencoding(q)), &t.carol).await;
        let detail = a.problem(400);
        assert!(detail.contains("staff"), "{q}: {detail}");
    }
    // Nobody: 401.
    let a = t.call(Method::GET, "/api/v1/search?q=vpn", None, None).await;
    a.problem(401);
}

async fn filters_narrow_and_malformed_queries_are_told_where(db: Db) {
    let t = spawn_app(db).await;
    let one = raise_with(&t, &t.carol, "Disk full on db01", "The disk filled at noon.").await;
    let two = raise_with(&t, &t.gina, "Disk full on web02", "Another disk filled.").await;
    let p = t
        .patch(&format!("/api/v1/tickets/{two}"), &t.agent, json!({"severity": 1}))
        .await;
    assert_eq!(p.status.as_u16(), 200, "{}", p.text);
    let mut both = refs(&find(&t, &t.agent, "disk").await);
    both.sort();
    assert_eq!(both, [one.as_str(), two.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, "disk org:acme").await), [one.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, "disk sev:1").await), [two.as_str()]);
    assert_eq!(refs(&find(&t, &t.agent, "disk status:active").await).len(), 2);
    assert!(refs(&find(&t, &t.agent, "disk status:resolved").await).is_empty());
    assert!(refs(&find(&t, &t.agent, "disk breached").await).is_empty());
    let today = chrono::Utc::now().date_naive();
    let tomorrow = today.succ_opt().unwrap();
    assert!(refs(&find(&t, &t.agent, &format!("disk before:{today}")).await).is_empty());
    assert_eq!(
        refs(&find(&t, &t.agent, &format!("disk before:{tomorrow}")).await).len(),
        2
    );
    // Filters alone list, newest first; a customer's only their own.
    assert_eq!(refs(&find(&t, &t.agent, "sev:1").await), [two.as_str()]);
    assert_eq!(refs(&find(&t, &t.gina, "status:active").await), [two.as_str()]);
    // Paging.
    let first = find(&t, &t.agent, "disk").await;
    let page = t.get("/api/v1/search?q=disk&limit=1&offset=1", &t.agent).await;
    assert_eq!(page.json["items"].as_array().unwrap().len(), 1);
    assert_eq!(
        page.json["items"][0]["ticket"]["reference"],
        first["items"][1]["ticket"]["reference"]
    );
    assert_eq!(page.json["more"], false);
    // Malformed: 422 with what and where, never a 500.
    for (q, words) in [
        ("", "nothing to search for"),
        (r#"disk "full"#, "not closed"),
        ("-disk", "a word to find"),
        ("disk colour:red", "unknown filter"),
        ("sev:9", "1, 2, 3 or 4"),
        ("disk after:soon", "a date"),
    ] {
        let a = t.get(&format!("/api/v1/search?q={}", urlencoding(q)), &t.agent).await;
        let detail = a.problem(422);
        assert!(detail.contains(words) && detail.contains('q'), "{q}: {detail}");
    }
    for bad in ["limit=0", "limit=101", "offset=-1", "offset=1000", "sort=new"] {
        let a = t.get(&format!("/api/v1/search?q=disk&{bad}"), &t.agent).await;
        assert!(matches!(a.status.as_u16(), 400 | 422), "{bad}: {}", a.text);
        assert_eq!(a.content_type, "application/problem+json");
    }
    // Characters a search engine's grammar would read are only text.
    for q in [
        r#"disk" OR "x"#,
        "NEAR(disk full)",
        "disk AND NOT",
        "x'); DROP TABLE tickets;--",
        "*",
        "(",
        "\u{0}",
    ] {
        let a = t.get(&format!("/api/v1/search?q={}", urlencoding(q)), &t.agent).await;
        assert!(matches!(a.status.as_u16(), 200 | 422), "{q}: {}", a.text);
    }
}
