//! SCIM 2.0 provisioning against a live server: the compliance checker
//! scim2-tester (PyPI, installed by tests/setup.sh) runs every check it has
//! against `/scim/v2` and its report is printed here; then the flows Entra
//! ID drives: a user made, found by `userName eq`, deactivated by PATCH
//! (its sessions and tokens end at once), groups setting roles and queues,
//! and an organisation's token that reaches its own contacts only.

use std::process::Command;

use reqwest::Method;
use serde_json::{Value, json};
use sladesk::app::Principal;

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(scim_provisions_through_a_compliant_endpoint);

async fn token(t: &TestApp, scope: &str) -> String {
    let app = t.app.clone();
    let scope = scope.to_string();
    tokio::task::spawn_blocking(move || {
        app.create_token(
            &Principal::operator(),
            "admin@desk.example",
            "provisioning",
            &scope,
            None,
            sladesk::app::now(),
        )
        .unwrap()
    })
    .await
    .unwrap()
}

async fn scim(t: &TestApp, method: Method, path: &str, token: &str, body: Option<Value>) -> (u16, Value) {
    let mut r = t
        .client
        .request(method, format!("{}/scim/v2{path}", t.address))
        .bearer_auth(token);
    if let Some(b) = body {
        r = r.header("content-type", "application/scim+json").body(b.to_string());
    }
    let r = r.send().await.unwrap();
    let status = r.status().as_u16();
    let text = r.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn scim_provisions_through_a_compliant_endpoint(db: Db) {
    let t = spawn_app(db).await;
    t.app.set_public_url(&t.address);
    let staff = token(&t, "scim").await;

    // The compliance checker, its report in the test's output.
    let base = t.address.clone();
    let tok = staff.clone();
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/scim_check.py"))
            .args([&base, &tok])
            .output()
            .expect("python3 with scim2-tester (tests/setup.sh installs it)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    println!("{report}");
    assert!(
        out.status.success(),
        "scim2-tester found errors:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Without a SCIM token: refused in SCIM's own words.
    let (status, body) = scim(&t, Method::GET, "/Users", &t.admin, None).await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["schemas"][0], "urn:ietf:params:scim:api:messages:2.0:Error");
    let (status, _) = scim(&t, Method::GET, "/Users", "nonsense", None).await;
    assert_eq!(status, 401);

    // Entra ID makes a user, then finds it by userName.
    let (status, made) = scim(
        &t,
        Method::POST,
        "/Users",
        &staff,
        Some(
            json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "nia@desk.example",
            "name": {"givenName": "Nia", "familyName": "Okafor"}, "active": true, "externalId": "e-1",
            "emails": [{"value": "nia@desk.example", "type": "work", "primary": true}]}),
        ),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let (_, found) = scim(
        &t,
        Method::GET,
        "/Users?filter=userName%20eq%20%22NIA@desk.example%22",
        &staff,
        None,
    )
    .await;
    assert_eq!(found["totalResults"], 1, "{found}");
    let users = t.get("/api/v1/users", &t.admin).await;
    let nia = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nia@desk.example")
        .cloned()
        .expect("an account");
    assert_eq!(
        (nia["role"].as_str(), nia["name"].as_str()),
        (Some("agent"), Some("Nia Okafor"))
    );
    let (status, _) = scim(
        &t,
        Method::POST,
        "/Users",
        &staff,
        Some(json!({"userName": "nia@desk.example"})),
    )
    .await;
    assert_eq!(status, 409, "userName is unique");

    // Groups: Managers makes her a manager; the platform queue's group
    // makes her its member.
    let (status, g) = scim(
        &t,
        Method::POST,
        "/Groups",
        &staff,
        Some(json!({"displayName": "Managers", "members": [{"value": id}]})),
    )
    .await;
    assert_eq!(status, 201, "{g}");
    let (status, q) = scim(
        &t,
        Method::POST,
        "/Groups",
        &staff,
        Some(json!({"displayName": "platform", "members": [{"value": id}]})),
    )
    .await;
    assert_eq!(status, 201, "{q}");
    let users = t.get("/api/v1/users", &t.admin).await;
    let nia = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nia@desk.example")
        .cloned()
        .unwrap();
    assert_eq!(nia["role"], "manager");
    let queues = t.get("/api/v1/queues", &t.admin).await;
    assert!(queues.text.contains("nia@desk.example"), "{}", queues.text);
    let gid = g["id"].as_str().unwrap();
    let (status, _) = scim(
        &t,
        Method::PATCH,
        &format!("/Groups/{gid}"),
        &staff,
        Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "remove", "path": format!("members[value eq \"{id}\"]")}]})),
    )
    .await;
    assert_eq!(status, 200);
    let users = t.get("/api/v1/users", &t.admin).await;
    let nia = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "nia@desk.example")
        .cloned()
        .unwrap();
    assert_eq!(nia["role"], "agent", "out of Managers: an agent again");

    // Deactivated (as Entra ID does it: "False" as a string): her session
    // and her token stop at once.
    let app = t.app.clone();
    let nia_token = tokio::task::spawn_blocking(move || {
        app.create_token(
            &Principal::operator(),
            "nia@desk.example",
            "laptop",
            "full",
            None,
            sladesk::app::now(),
        )
        .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(t.get("/api/v1/tickets", &nia_token).await.status.as_u16(), 200);
    let (status, off) = scim(
        &t,
        Method::PATCH,
        &format!("/Users/{id}"),
        &staff,
        Some(json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "active", "value": "False"}]})),
    )
    .await;
    assert_eq!(status, 200, "{off}");
    assert_eq!(off["active"], false);
    let r = t.get("/api/v1/tickets", &nia_token).await;
    assert_eq!(r.status.as_u16(), 401, "her token stopped at once: {}", r.text);

    // An organisation's token reaches its own contacts only.
    let acme = token(&t, "scim:acme").await;
    let (status, contact) = scim(
        &t,
        Method::POST,
        "/Users",
        &acme,
        Some(json!({"userName": "pat@acme.example", "active": true})),
    )
    .await;
    assert_eq!(status, 201, "{contact}");
    let users = t.get("/api/v1/users", &t.admin).await;
    let pat = users
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["email"] == "pat@acme.example")
        .cloned()
        .unwrap();
    assert_eq!(
        (pat["role"].as_str(), pat["organisation"].as_str()),
        (Some("customer"), Some("acme"))
    );
    let (status, _) = scim(&t, Method::GET, &format!("/Users/{id}"), &acme, None).await;
    assert_eq!(status, 404, "the staff's users are not acme's");
    let (_, all) = scim(&t, Method::GET, "/Users", &acme, None).await;
    assert_eq!(all["totalResults"], 1, "{all}");
    let (status, _) = scim(
        &t,
        Method::POST,
        "/Users",
        &acme,
        Some(json!({"userName": "alice@desk.example"})),
    )
    .await;
    assert_eq!(status, 409, "a staff account is not an organisation's to take");
}
