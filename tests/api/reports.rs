//! Outages, upstream credits and monthly reports over HTTP: who may do
//! what (every role, own or another organisation), bad input on every
//! field, and the report in each format.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    outages_credits_and_reports_answer_every_role_exactly,
    bad_input_names_its_field
);

/// Admin, manager, agent, acme's carol, globex's gina, nobody.
fn tokens(t: &TestApp) -> [Option<String>; 6] {
    [
        Some(t.admin.clone()),
        Some(t.manager.clone()),
        Some(t.agent.clone()),
        Some(t.carol.clone()),
        Some(t.gina.clone()),
        None,
    ]
}

fn acme_outage(i: usize) -> Value {
    json!({
        "kind": "platform_issue",
        "start": "2026-10-14T09:00:00Z",
        "end": "2026-10-14T10:00:00Z",
        "organisations": ["acme"],
        "description": format!("acme-only storage fault {i}"),
    })
}

async fn outages_credits_and_reports_answer_every_role_exactly(db: Db) {
    let t = spawn_app(db).await;
    let made = t.post("/api/v1/outages", &t.manager, acme_outage(99)).await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    let id = made.json["id"].as_i64().unwrap();
    assert_eq!(made.json["organisations"], json!(["acme"]));
    for (i, tok) in tokens(&t).into_iter().enumerate() {
        let tok = tok.as_deref();
        let rows: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
            (
                Method::POST,
                "/api/v1/outages".into(),
                Some(acme_outage(i)),
                [201, 201, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/outages?month=2026-10".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                format!("/api/v1/outages/{id}"),
                None,
                [200, 200, 200, 200, 404, 401],
            ),
            (
                Method::PATCH,
                format!("/api/v1/outages/{id}"),
                Some(json!({"notified_at": "2026-10-14T09:05:00Z"})),
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/upstream-credits".into(),
                None,
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/upstream-credits".into(),
                Some(
                    json!({"reference": format!("UKC-{i}"), "month": "2026-10", "amount_pence": 100,
                    "description": "October", "organisations": ["acme"]}),
                ),
                [201, 201, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/reports/monthly?org=acme&month=2026-10".into(),
                None,
                [200, 200, 403, 200, 404, 401],
            ),
            (
                Method::GET,
                "/api/v1/reports/monthly?month=2026-10".into(),
                None,
                [200, 200, 403, 403, 403, 401],
            ),
        ];
        for (method, path, body, expected) in rows {
            let a = t.call(method.clone(), &path, tok, body).await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as #{i}: {}", a.text);
            if a.status.as_u16() >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as #{i}");
            }
            if i == 4 {
                assert!(
                    !a.text.contains("acme-only"),
                    "{method} {path} leaks to globex: {}",
                    a.text
                );
            }
        }
    }
    // Customers see the outages that concern them; globex's list is empty.
    let mine = t.get("/api/v1/outages?month=2026-10", &t.carol).await;
    assert!(!mine.json.as_array().unwrap().is_empty());
    let theirs = t.get("/api/v1/outages?month=2026-10", &t.gina).await;
    assert_eq!(theirs.json, json!([]));
    // An outage of every organisation reaches globex too.
    let all = json!({"kind": "emergency_maintenance", "start": "2026-10-20T01:00:00Z", "end": "2026-10-20T01:30:00Z",
        "organisations": "all", "description": "Core switch"});
    assert_eq!(t.post("/api/v1/outages", &t.admin, all).await.status.as_u16(), 201);
    let theirs = t.get("/api/v1/outages?month=2026-10", &t.gina).await;
    assert_eq!(theirs.json.as_array().unwrap().len(), 1, "{}", theirs.text);

    // The report in its forms. The month is closed: it is kept as first computed.
    let r = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10", &t.manager)
        .await;
    assert_eq!(r.json["organisation"], "acme");
    assert_eq!(r.json["month"], "2026-10");
    assert_eq!(r.json["availability"]["seconds_in_month"], 745 * 3600);
    let csv = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10&format=csv", &t.manager)
        .await;
    assert!(csv.content_type.starts_with("text/csv"), "{}", csv.content_type);
    assert!(csv.text.contains("report,,organisation,acme"), "{}", csv.text);
    let page = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10&format=html", &t.carol)
        .await;
    assert!(page.content_type.starts_with("text/html"), "{}", page.content_type);
    assert_eq!(page.text.matches("<svg").count(), 3);
    // Every change was audited.
    let app = t.app.clone();
    let actions = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        let mut c = app.pool.get().unwrap();
        audit_log::table
            .filter(
                audit_log::action
                    .like("outage.%")
                    .or(audit_log::action.like("upstream_credit.%")),
            )
            .count()
            .get_result::<i64>(&mut c)
            .unwrap()
    })
    .await
    .unwrap();
    // 1 + 2 outages created by staff in the loop, 2 patches, 2 credits, 1 more outage.
    assert_eq!(actions, 1 + 2 + 2 + 2 + 1);
}

async fn bad_input_names_its_field(db: Db) {
    let t = spawn_app(db).await;
    let outage = |patch: Value| {
        let mut o = acme_outage(0);
        for (k, v) in patch.as_object().unwrap() {
            o[k] = v.clone();
        }
        o
    };
    for (body, field) in [
        (outage(json!({"kind": "meteor"})), "kind"),
        (outage(json!({"end": "2026-10-14T08:00:00Z"})), "end"),
        (outage(json!({"start": "1980-01-01T00:00:00Z", "end": null})), "start"),
        (outage(json!({"organisations": "some"})), "organisations"),
        (outage(json!({"organisations": []})), "organisations"),
        (outage(json!({"organisations": ["nobody"]})), "organisations"),
        (outage(json!({"description": "  "})), "description"),
    ] {
        let a = t.post("/api/v1/outages", &t.manager, body.clone()).await;
        a.problem(422);
        assert_eq!(a.json["field"], field, "{body}: {}", a.text);
    }
    let a = t
        .post("/api/v1/outages", &t.manager, outage(json!({"start": "yesterday"})))
        .await;
    a.problem(400);
    let a = t
        .patch(
            "/api/v1/outages/999999",
            &t.manager,
            json!({"end": "2026-10-14T10:00:00Z"}),
        )
        .await;
    a.problem(404);

    let credit = |extra: Value| {
        let mut c = json!({"reference": "UKC-1", "month": "2026-10", "amount_pence": 1000, "description": "October"});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    for (body, field) in [
        (credit(json!({"month": "2026-13"})), "month"),
        (credit(json!({"amount_pence": 0})), "amount_pence"),
        (credit(json!({"reference": ""})), "reference"),
        (
            credit(json!({"shares": [{"organisation": "acme", "amount_pence": 999}]})),
            "shares",
        ),
        (
            credit(json!({"shares": [{"organisation": "acme", "amount_pence": 1000}], "organisations": ["acme"]})),
            "shares",
        ),
    ] {
        let a = t.post("/api/v1/upstream-credits", &t.manager, body.clone()).await;
        a.problem(422);
        assert_eq!(a.json["field"], field, "{body}: {}", a.text);
    }
    // Split evenly, the odd penny to the first in slug order; a reference once.
    let a = t
        .post(
            "/api/v1/upstream-credits",
            &t.manager,
            credit(json!({"amount_pence": 1001})),
        )
        .await;
    assert_eq!(a.status.as_u16(), 201, "{}", a.text);
    let shares: Vec<i64> = a.json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["amount_pence"].as_i64().unwrap())
        .collect();
    assert_eq!(shares.iter().sum::<i64>(), 1001);
    assert!(
        shares.windows(2).all(|w| w[0] >= w[1] && w[0] - w[1] <= 1),
        "{shares:?}"
    );
    t.post("/api/v1/upstream-credits", &t.manager, credit(json!({})))
        .await
        .problem(409);

    for (path, field) in [
        ("/api/v1/reports/monthly?org=acme&month=2026-1", "month"),
        ("/api/v1/reports/monthly?org=acme&month=2026-10&format=pdf", "format"),
        ("/api/v1/outages?month=october", "month"),
    ] {
        let a = t.get(path, &t.manager).await;
        a.problem(422);
        assert_eq!(a.json["field"], field, "{path}: {}", a.text);
    }
    t.get("/api/v1/reports/monthly?org=nobody&month=2026-10", &t.manager)
        .await
        .problem(404);
    t.get("/api/v1/reports/monthly?org=acme", &t.manager).await.problem(400);
}
