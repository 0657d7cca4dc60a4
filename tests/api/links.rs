//! Links between tickets over HTTP: made and removed by staff (audited),
//! read from both ends in their own words, refused where they would not
//! make sense (itself, a second parent or original, a loop, twice), and a
//! customer sees only the links to tickets they may see.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(links_read_from_both_ends_and_stay_within_what_a_customer_may_see);

fn pairs(links: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["kind"].as_str().unwrap().into(),
                l["reference"].as_str().unwrap().into(),
            )
        })
        .collect();
    v.sort();
    v
}

async fn link(t: &TestApp, from: &str, kind: &str, to: &str) -> crate::helpers::Answer {
    t.post(
        &format!("/api/v1/tickets/{from}/links"),
        &t.agent,
        json!({"kind": kind, "ticket": to}),
    )
    .await
}

async fn links_read_from_both_ends_and_stay_within_what_a_customer_may_see(db: Db) {
    let t = spawn_app(db).await;
    let parent = t.raise(&t.carol, "Office network down", 2).await;
    let child = t.raise(&t.colin, "Printer offline", 3).await;
    let dup = t.raise(&t.carol, "Network down again", 2).await;
    let theirs = t.raise(&t.gina, "Globex DNS", 2).await;

    let made = link(&t, &parent, "parent_of", &child).await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    assert_eq!(pairs(&made.json), [("parent_of".into(), child.clone())]);
    assert_eq!(link(&t, &dup, "duplicate_of", &parent).await.status.as_u16(), 201);
    // Staff may link across organisations (an outage's tickets, a cause).
    assert_eq!(link(&t, &parent, "caused_by", &theirs).await.status.as_u16(), 201);

    let from_child = t.get(&format!("/api/v1/tickets/{child}/links"), &t.agent).await;
    assert_eq!(pairs(&from_child.json), [("child_of".into(), parent.clone())]);
    let from_parent = t.get(&format!("/api/v1/tickets/{parent}/links"), &t.agent).await;
    assert_eq!(
        pairs(&from_parent.json),
        [
            ("caused_by".into(), theirs.clone()),
            ("duplicated_by".into(), dup.clone()),
            ("parent_of".into(), child.clone())
        ]
    );
    let from_theirs = t.get(&format!("/api/v1/tickets/{theirs}/links"), &t.agent).await;
    assert_eq!(pairs(&from_theirs.json), [("causes".into(), parent.clone())]);

    // A customer reads their own organisation's links only: not the link to
    // Globex's ticket, whose subject they never see.
    let carols = t.get(&format!("/api/v1/tickets/{parent}/links"), &t.carol).await;
    assert_eq!(carols.status.as_u16(), 200, "{}", carols.text);
    assert_eq!(
        pairs(&carols.json),
        [
            ("duplicated_by".into(), dup.clone()),
            ("parent_of".into(), child.clone())
        ]
    );
    assert!(!carols.text.contains("Globex"), "{}", carols.text);
    let ginas = t.get(&format!("/api/v1/tickets/{theirs}/links"), &t.gina).await;
    assert_eq!(pairs(&ginas.json), [], "{}", ginas.text);
    t.get(&format!("/api/v1/tickets/{parent}/links"), &t.gina)
        .await
        .problem(404);
    // Under own-and-watched sharing, Carol no longer sees Colin's ticket,
    // nor the link to it.
    t.patch("/api/v1/organisations/acme", &t.admin, json!({"ticket_sharing": "own"}))
        .await;
    let carols = t.get(&format!("/api/v1/tickets/{parent}/links"), &t.carol).await;
    assert_eq!(pairs(&carols.json), [("duplicated_by".into(), dup.clone())]);
    // Customers neither make nor remove links.
    t.post(
        &format!("/api/v1/tickets/{parent}/links"),
        &t.carol,
        json!({"kind": "related", "ticket": dup}),
    )
    .await
    .problem(403);

    // What makes no sense is refused, saying why.
    link(&t, &parent, "related", &parent).await.problem(422);
    link(&t, &parent, "parent_of", &child).await.problem(409);
    link(&t, &child, "child_of", &dup).await.problem(409); // one parent
    link(&t, &parent, "child_of", &child).await.problem(422); // a loop
    link(&t, &dup, "duplicate_of", &child).await.problem(409); // one original
    assert_eq!(link(&t, &dup, "related", &child).await.status.as_u16(), 201);
    link(&t, &child, "related", &dup).await.problem(409); // the same, from the other end
    link(&t, &parent, "sibling_of", &dup).await.problem(400);
    link(&t, &parent, "related", "SD-999999").await.problem(404);

    // Removed from either end, by staff.
    let path = format!("/api/v1/tickets/{child}/links/child_of/{parent}");
    t.call(Method::DELETE, &path, Some(&t.carol), None).await.problem(403);
    let gone = t.call(Method::DELETE, &path, Some(&t.agent), None).await;
    assert_eq!(gone.status.as_u16(), 200, "{}", gone.text);
    assert_eq!(pairs(&gone.json), [("related".into(), dup.clone())]);
    t.call(Method::DELETE, &path, Some(&t.agent), None).await.problem(404);
    t.call(
        Method::DELETE,
        &format!("/api/v1/tickets/{child}/links/cousin_of/{parent}"),
        Some(&t.agent),
        None,
    )
    .await
    .problem(422);
    // Now the child may take another parent.
    assert_eq!(link(&t, &child, "child_of", &dup).await.status.as_u16(), 201);
}
