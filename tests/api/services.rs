//! Services and subscriptions: admins define the platform's services and
//! which organisations each is for; staff see every service, a customer
//! only their own organisation's; every write is audited; and an outage
//! naming services affects exactly their subscribers.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    services_answer_every_role_exactly_and_leak_nothing,
    an_organisations_services_are_replaced_whole_and_audited,
    an_outage_naming_services_affects_their_subscribers_only,
);

pub(crate) async fn define(t: &TestApp, slug: &str, name: &str, group: &str) {
    let a = t
        .post(
            "/api/v1/services",
            &t.admin,
            json!({"slug": slug, "name": name, "group": group}),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.text);
}

pub(crate) async fn subscribe(t: &TestApp, org: &str, services: &[&str]) -> crate::helpers::Answer {
    t.call(
        Method::PUT,
        &format!("/api/v1/organisations/{org}/services"),
        Some(&t.admin),
        Some(json!({ "services": services })),
    )
    .await
}

fn slugs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s["slug"].as_str().unwrap().to_string())
        .collect()
}

async fn services_answer_every_role_exactly_and_leak_nothing(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    assert_eq!(subscribe(&t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
    assert_eq!(subscribe(&t, "globex", &["compute-lon1"]).await.status.as_u16(), 200);

    // Admin, manager, agent, carol (acme), gina (globex), nobody.
    let who = [
        Some(t.admin.clone()),
        Some(t.manager.clone()),
        Some(t.agent.clone()),
        Some(t.carol.clone()),
        Some(t.gina.clone()),
        None,
    ];
    let cases: Vec<(Method, &str, Option<Value>, [u16; 6])> = vec![
        (Method::GET, "/api/v1/services", None, [200, 200, 200, 200, 200, 401]),
        (
            Method::POST,
            "/api/v1/services",
            Some(json!({"slug": "dns", "name": "DNS"})),
            [201, 403, 403, 403, 403, 401],
        ),
        (
            Method::GET,
            "/api/v1/services/objstore-lon2/organisations",
            None,
            [200, 200, 200, 404, 404, 401],
        ),
        (
            Method::GET,
            "/api/v1/organisations/acme/services",
            None,
            [200, 200, 200, 200, 404, 401],
        ),
        (
            Method::PUT,
            "/api/v1/organisations/acme/services",
            Some(json!({"services": ["objstore-lon2"]})),
            [200, 403, 403, 403, 403, 401],
        ),
    ];
    for (method, path, body, expected) in cases {
        for (i, tok) in who.iter().enumerate() {
            // A new slug for each admin create, so every cell is a first try.
            let body = body.clone().map(|mut b| {
                if b.get("slug").is_some() {
                    b["slug"] = json!(format!("dns-{i}"));
                }
                b
            });
            let a = t.call(method.clone(), path, tok.as_deref(), body).await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as #{i}: {}", a.text);
            if a.status.as_u16() >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as #{i}");
            }
            if i == 4 {
                // Globex's customer learns nothing of acme's: a refusal reads
                // as it does for things that do not exist at all.
                let hide = |s: &str| s.replace("acme", "nosuch").replace("objstore-lon2", "nosuch");
                if a.status.as_u16() == 404 {
                    let twin = t.call(method.clone(), &hide(path), tok.as_deref(), None).await;
                    assert_eq!(hide(&a.text), twin.text, "{method} {path} as globex");
                } else {
                    assert!(
                        !a.text.contains("acme") && !a.text.contains("objstore"),
                        "{method} {path} leaks acme's to globex: {}",
                        a.text
                    );
                }
            }
        }
    }
    // Staff see every service, in the order defined; each customer their own.
    let all = t.get("/api/v1/services", &t.agent).await;
    assert_eq!(&slugs(&all.json)[..2], ["objstore-lon2", "compute-lon1"]);
    assert_eq!(all.json[0]["group"], "Storage");
    assert_eq!(
        slugs(&t.get("/api/v1/services", &t.carol).await.json),
        ["objstore-lon2"]
    );
    assert_eq!(slugs(&t.get("/api/v1/services", &t.gina).await.json), ["compute-lon1"]);
    let subs = t.get("/api/v1/services/objstore-lon2/organisations", &t.manager).await;
    assert_eq!(subs.json, json!(["acme"]));
}

async fn an_organisations_services_are_replaced_whole_and_audited(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    // A slug is taken once; a bad one is refused naming the field.
    let again = t
        .post(
            "/api/v1/services",
            &t.admin,
            json!({"slug": "compute-lon1", "name": "x"}),
        )
        .await;
    assert_eq!(again.status.as_u16(), 409, "{}", again.text);
    let bad = t
        .post(
            "/api/v1/services",
            &t.admin,
            json!({"slug": "Compute LON1", "name": "x"}),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    assert!(bad.text.contains("slug"), "{}", bad.text);

    let a = subscribe(&t, "acme", &["compute-lon1", "objstore-lon2", "compute-lon1"]).await;
    assert_eq!(a.status.as_u16(), 200, "{}", a.text);
    assert_eq!(slugs(&a.json), ["objstore-lon2", "compute-lon1"]);
    let a = subscribe(&t, "acme", &["compute-lon1"]).await;
    assert_eq!(slugs(&a.json), ["compute-lon1"]);
    // An unknown service changes nothing.
    let unknown = subscribe(&t, "acme", &["nope"]).await;
    assert_eq!(unknown.status.as_u16(), 422, "{}", unknown.text);
    assert!(
        unknown.text.contains("services") && unknown.text.contains("nope"),
        "{}",
        unknown.text
    );
    let now = t.get("/api/v1/organisations/acme/services", &t.carol).await;
    assert_eq!(slugs(&now.json), ["compute-lon1"]);
    assert_eq!(subscribe(&t, "nobody", &[]).await.status.as_u16(), 404);

    let app = t.app.clone();
    let audited = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        let mut c = app.conn().unwrap();
        audit_log::table
            .filter(audit_log::action.eq_any(["service.create", "organisation.services"]))
            .order(audit_log::id)
            .select((audit_log::action, audit_log::target, audit_log::detail))
            .load::<(String, String, Option<String>)>(&mut c)
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(audited.len(), 4, "{audited:?}");
    assert_eq!(audited[3].1, "organisation:acme");
    let detail: Value = serde_json::from_str(audited[3].2.as_deref().unwrap()).unwrap();
    assert_eq!(
        detail,
        json!({"before": ["compute-lon1", "objstore-lon2"], "after": ["compute-lon1"]})
    );
}

async fn an_outage_naming_services_affects_their_subscribers_only(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    define(&t, "compute-lon1", "Compute – LON1", "Compute").await;
    define(&t, "dns", "DNS", "Network").await;
    subscribe(&t, "acme", &["objstore-lon2"]).await;
    subscribe(&t, "globex", &["compute-lon1"]).await;

    let outage = |services: Value| {
        json!({"kind": "platform_issue", "start": "2026-10-14T09:00:00Z", "end": "2026-10-14T10:00:00Z",
            "services": services, "description": "Storage nodes lost quorum (internal)",
            "public_description": "Object storage was unavailable"})
    };
    let a = t
        .post(
            "/api/v1/outages",
            &t.manager,
            outage(json!([{"service": "objstore-lon2", "impact": "partial_outage"}])),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.text);
    assert_eq!(a.json["organisations"], json!(["acme"]));
    assert_eq!(
        a.json["services"],
        json!([{"slug": "objstore-lon2", "name": "Object storage – LON2", "impact": "partial_outage"}])
    );
    // Availability follows: acme lost an hour in October, globex nothing.
    let acme = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10", &t.manager)
        .await;
    assert_eq!(acme.json["availability"]["downtime_seconds"], 3600, "{}", acme.text);
    let globex = t
        .get("/api/v1/reports/monthly?org=globex&month=2026-10", &t.manager)
        .await;
    assert_eq!(globex.json["availability"]["downtime_seconds"], 0, "{}", globex.text);

    // One outage on two services: each customer sees their own service
    // only, and the customer-facing text.
    let both = t
        .post(
            "/api/v1/outages",
            &t.manager,
            outage(json!([{"service": "objstore-lon2"}, {"service": "compute-lon1", "impact": "degraded"}])),
        )
        .await;
    assert_eq!(both.status.as_u16(), 201, "{}", both.text);
    assert_eq!(both.json["organisations"], json!(["acme", "globex"]));
    let id = both.json["id"].as_i64().unwrap();
    let carol = t.get(&format!("/api/v1/outages/{id}"), &t.carol).await;
    assert_eq!(carol.json["organisations"], json!(["acme"]));
    assert_eq!(
        carol.json["services"],
        json!([{"slug": "objstore-lon2", "name": "Object storage – LON2", "impact": "major_outage"}])
    );
    assert_eq!(carol.json["description"], "Object storage was unavailable");
    let gina = t.get(&format!("/api/v1/outages/{id}"), &t.gina).await;
    assert_eq!(gina.json["services"][0]["slug"], "compute-lon1");
    assert!(!gina.text.contains("acme") && !gina.text.contains("objstore") && !gina.text.contains("quorum"));

    // A service nobody is subscribed to affects nobody's availability.
    let dns = t
        .post("/api/v1/outages", &t.manager, outage(json!([{"service": "dns"}])))
        .await;
    assert_eq!(dns.status.as_u16(), 201, "{}", dns.text);
    assert_eq!(dns.json["organisations"], json!([]));
    assert_eq!(
        t.get(&format!("/api/v1/outages/{}", dns.json["id"]), &t.carol)
            .await
            .status
            .as_u16(),
        404
    );

    // Subscriptions changed later leave a recorded outage's organisations.
    subscribe(&t, "globex", &["objstore-lon2", "compute-lon1"]).await;
    let first = t.get(&format!("/api/v1/outages/{}", a.json["id"]), &t.manager).await;
    assert_eq!(first.json["organisations"], json!(["acme"]));

    // Refused, naming the field.
    for (body, field) in [
        (outage(json!([{"service": "nope"}])), "services"),
        (outage(json!([{"service": "dns", "impact": "gone"}])), "services"),
        (outage(json!([{"service": "dns"}, {"service": "dns"}])), "services"),
        (outage(json!([])), "organisations"),
    ] {
        let r = t.post("/api/v1/outages", &t.manager, body).await;
        assert_eq!(r.status.as_u16(), 422, "{}", r.text);
        assert!(r.text.contains(field), "{field}: {}", r.text);
    }
}
