//! IP allow-lists over HTTP, with a second loopback address (127.0.0.2) as
//! another client: an organisation's list lets its contacts in from its
//! networks only (403 with the reason otherwise, and another organisation
//! is untouched), the staff's list does the same for staff, an admin cannot
//! lock themselves out, pages are refused like the API, and every change
//! is audited.

use std::net::{IpAddr, Ipv4Addr};

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(allow_lists_admit_their_networks_only);

/// A call from `from` (a loopback address of its own).
async fn from(
    t: &TestApp,
    addr: [u8; 4],
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, String) {
    let client = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::from(addr)))
        .build()
        .unwrap();
    let mut req = client
        .request(method, format!("{}{path}", t.address))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn allow_lists_admit_their_networks_only(db: Db) {
    let t = spawn_app(db).await;
    let ticket = t.raise(&t.carol, "From the office", 3).await;
    let one = [127, 0, 0, 1];
    let two = [127, 0, 0, 2];
    let path = format!("/api/v1/tickets/{ticket}");
    assert_eq!(
        from(&t, two, Method::GET, &path, &t.carol, None).await.0,
        200,
        "no list: any address"
    );

    let set = t
        .call(
            Method::PUT,
            "/api/v1/organisations/acme/networks",
            Some(&t.admin),
            Some(json!({"networks": ["127.0.0.1", "10.0.0.0/8"]})),
        )
        .await;
    assert_eq!(set.status.as_u16(), 200, "{}", set.text);
    assert_eq!(set.json["networks"], json!(["10.0.0.0/8", "127.0.0.1/32"]));
    let bad = t
        .call(
            Method::PUT,
            "/api/v1/organisations/acme/networks",
            Some(&t.admin),
            Some(json!({"networks": ["10.0.0.0/33"]})),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    let by_manager = t
        .call(
            Method::PUT,
            "/api/v1/organisations/acme/networks",
            Some(&t.manager),
            Some(json!({"networks": []})),
        )
        .await;
    assert_eq!(by_manager.status.as_u16(), 403);

    assert_eq!(from(&t, one, Method::GET, &path, &t.carol, None).await.0, 200);
    let (status, body) = from(&t, two, Method::GET, &path, &t.carol, None).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("127.0.0.2") && body.contains("allow-list"), "{body}");
    // Writes too, and the token cache gives no way round it.
    let (status, _) = from(
        &t,
        two,
        Method::POST,
        &format!("{path}/replies"),
        &t.carol,
        Some(json!({"body": "hi"})),
    )
    .await;
    assert_eq!(status, 403);
    // Another organisation, and staff, are not bound by acme's list.
    let theirs = t.raise(&t.gina, "Globex", 3).await;
    assert_eq!(
        from(
            &t,
            two,
            Method::GET,
            &format!("/api/v1/tickets/{theirs}"),
            &t.gina,
            None
        )
        .await
        .0,
        200
    );
    assert_eq!(from(&t, two, Method::GET, &path, &t.agent, None).await.0, 200);

    // The staff's list; an admin cannot leave out where they are.
    let (status, body) = from(
        &t,
        two,
        Method::PUT,
        "/api/v1/staff-networks",
        &t.admin,
        Some(json!({"networks": ["127.0.0.1"]})),
    )
    .await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("locked out"), "{body}");
    let (status, body) = from(
        &t,
        two,
        Method::PUT,
        "/api/v1/staff-networks",
        &t.admin,
        Some(json!({"networks": ["127.0.0.2"]})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(from(&t, two, Method::GET, &path, &t.agent, None).await.0, 200);
    let (status, body) = from(&t, one, Method::GET, &path, &t.agent, None).await;
    assert_eq!(status, 403, "{body}");
    // The customer's own list still holds for the customer.
    assert_eq!(from(&t, one, Method::GET, &path, &t.carol, None).await.0, 200);
    // Cleared again, from an allowed address.
    let (status, _) = from(
        &t,
        two,
        Method::PUT,
        "/api/v1/staff-networks",
        &t.admin,
        Some(json!({"networks": []})),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(from(&t, one, Method::GET, &path, &t.agent, None).await.0, 200);

    let app = t.app.clone();
    let audited: i64 = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.eq("networks.set"))
            .count()
            .get_result(&mut app.conn().unwrap())
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(audited, 3, "every change, and nothing refused");
}
