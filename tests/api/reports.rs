//! Outages, upstream credits and monthly reports over HTTP: who may do
//! what (every role, own or another organisation), bad input on every
//! field, and the report in each format.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    outages_credits_and_reports_answer_every_role_exactly,
    bad_input_names_its_field,
    october_2026_for_acme_equals_its_hand_computed_golden_file,
    december_2026_over_scottish_bank_holidays_equals_its_golden_file,
    march_2027_reaches_the_cap_and_passes_upstream_credit_beyond_it,
    a_terminated_organisation_is_deleted_after_five_working_days_keeping_its_reports,
    a_month_is_provisional_until_closed_then_kept_in_versions,
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
        let victim = t.post("/api/v1/outages", &t.admin, acme_outage(100 + i)).await.json["id"].clone();
        let rows: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
            (
                Method::DELETE,
                format!("/api/v1/outages/{victim}"),
                None,
                [204, 204, 403, 403, 403, 401],
            ),
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
            (
                Method::POST,
                "/api/v1/reports/monthly/close".into(),
                Some(json!({"month": "2026-10"})),
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/reports/monthly/recompute".into(),
                Some(json!({"month": "2026-10", "reason": format!("check {i}")})),
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/reports/monthly?org=acme&month=2026-10&version=1".into(),
                None,
                [200, 200, 403, 200, 404, 401],
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
        let mut c = app.conn().unwrap();
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
    // 1 + 2 outages created by staff in the loop, 2 patches, 2 credits, 1 more
    // outage; 6 made to be deleted, 2 deleted.
    assert_eq!(actions, 1 + 2 + 2 + 2 + 1 + 6 + 2);
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

fn at(s: &str) -> chrono::DateTime<chrono::Utc> {
    s.parse().unwrap()
}

/// `fixtures/reports/october-2026-acme.md` works every figure out by hand;
/// `october-2026-acme.json` is the report that must come out.
/// `SLADESK_BLESS=1` writes the JSON afresh (then check it against the .md).
async fn october_2026_for_acme_equals_its_hand_computed_golden_file(db: Db) {
    use sladesk::app::outages::{Affected, NewOutageRequest, NewUpstreamCreditRequest, ShareRequest};
    use sladesk::app::tickets::Change;
    use sladesk::domain::ticket::{Severity, Status};

    let t = spawn_app(db).await;
    let app = t.app.clone();
    let report = tokio::task::spawn_blocking(move || {
        let manager = app.principal_for("manager@desk.example").unwrap();
        let (carol, alice) = ("carol@acme.example", "alice@desk.example");
        let raise = |severity: Severity, when: &str| raise_at(&app, carol, severity, when);
        let change = |who: &str, r: &str, c: Change, when: &str| change_at(&app, who, r, c, when);
        let reply = || Change::Reply("Looking into it.".into());
        // T1 (SD-000001): severity 2, met both.
        let t1 = raise(Severity::S2, "2026-10-01T08:30:00Z");
        change(alice, &t1, reply(), "2026-10-01T09:00:00Z");
        change(alice, &t1, Change::Resolve, "2026-10-02T10:00:00Z");
        // T2 (SD-000002): severity 1 at 16:00 BST: response breached at 17:00 BST, resolve met.
        let t2 = raise(Severity::S1, "2026-10-05T15:00:00Z");
        change(alice, &t2, reply(), "2026-10-06T07:30:00Z");
        change(alice, &t2, Change::Resolve, "2026-10-06T14:00:00Z");
        // T3 (SD-000003): severity 1, resolve breached (a credit line).
        let t3 = raise(Severity::S1, "2026-10-14T08:00:00Z");
        change(alice, &t3, reply(), "2026-10-14T08:20:00Z");
        change(alice, &t3, Change::Resolve, "2026-10-16T09:00:00Z");
        // T4 (SD-000004): severity 3, paused over the clock change, resolved, reopened, resolved.
        let t4 = raise(Severity::S3, "2026-10-22T12:00:00Z");
        change(alice, &t4, reply(), "2026-10-22T12:30:00Z");
        change(
            alice,
            &t4,
            Change::Status(Status::PendingCustomer),
            "2026-10-22T14:00:00Z",
        );
        change(
            carol,
            &t4,
            Change::Reply("Here are the logs.".into()),
            "2026-10-26T09:00:00Z",
        );
        change(alice, &t4, Change::Resolve, "2026-10-26T11:00:00Z");
        change(alice, &t4, Change::Reopen, "2026-10-27T10:00:00Z");
        change(alice, &t4, Change::Resolve, "2026-10-27T12:00:00Z");
        // T5 (SD-000005): severity 3 on 30 October, raised to 2 in November: open at the end.
        let t5 = raise(Severity::S3, "2026-10-30T16:00:00Z");
        change(alice, &t5, reply(), "2026-10-30T16:30:00Z");
        change(alice, &t5, Change::Severity(Severity::S2), "2026-11-02T09:00:00Z");
        // T6 (SD-000006, raised last so the others keep their numbers):
        // severity 3 on 7 October, raised to 1 mid-way; the new targets
        // apply from the start, so its response had already breached.
        let t6 = raise(Severity::S3, "2026-10-07T09:00:00Z");
        change(alice, &t6, Change::Severity(Severity::S1), "2026-10-07T10:30:00Z");
        change(alice, &t6, reply(), "2026-10-07T10:45:00Z");
        change(alice, &t6, Change::Resolve, "2026-10-07T15:00:00Z");

        let outage = |kind: &str, start: &str, end: &str, told: Option<&str>, orgs: Affected| {
            app.create_outage(
                &manager,
                NewOutageRequest {
                    kind: kind.into(),
                    start: at(start),
                    end: Some(at(end)),
                    notified_at: told.map(at),
                    organisations: Some(orgs),
                    services: Vec::new(),
                    description: format!("{kind} from {start}"),
                    public_description: None,
                },
                at("2026-11-02T09:00:00Z"),
            )
            .unwrap();
        };
        let all = || Affected::All("all".into());
        outage(
            "platform_issue",
            "2026-10-24T23:30:00Z",
            "2026-10-25T02:00:00Z",
            None,
            all(),
        );
        outage(
            "planned_maintenance",
            "2026-10-25T01:30:00Z",
            "2026-10-25T03:00:00Z",
            Some("2026-10-10T09:00:00Z"),
            all(),
        );
        outage(
            "emergency_maintenance",
            "2026-10-31T23:00:00Z",
            "2026-11-01T01:00:00Z",
            None,
            Affected::Some(vec!["acme".into()]),
        );
        app.create_upstream_credit(
            &manager,
            NewUpstreamCreditRequest {
                reference: "UKC-CR-9".into(),
                month: "2026-10".into(),
                amount_pence: 1_000,
                description: "October platform incident".into(),
                organisations: None,
                shares: Some(vec![ShareRequest {
                    organisation: "acme".into(),
                    amount_pence: 1_000,
                }]),
            },
            at("2026-11-02T09:00:00Z"),
        )
        .unwrap();
        app.monthly_report(
            &manager,
            Some("acme"),
            "2026-10".parse().unwrap(),
            None,
            at("2026-12-01T00:00:00Z"),
        )
        .unwrap()
        .value()
        .unwrap()
    })
    .await
    .unwrap();

    // The figures of the .md, asserted one by one before the whole file.
    let r = &report;
    assert_eq!(r["availability"]["downtime_seconds"], 12_600);
    assert_eq!(r["credits"]["total_pence"], 11_000);
    let lines: Vec<i64> = r["credits"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount_pence"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [7_500, 2_500, 1_000]);
    let v: Vec<(i64, i64, i64)> = r["volumes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["raised"].as_i64().unwrap(),
                v["resolved"].as_i64().unwrap(),
                v["open_at_end"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(v, [(3, 3, 0), (1, 1, 0), (2, 1, 1), (0, 0, 0)]);
    assert_eq!(
        (r["reopened"].as_i64(), r["paused_seconds"].as_i64()),
        (Some(1), Some(327_600))
    );
    let c = &r["compliance"];
    assert_eq!(
        c[0]["response"],
        json!({"met": 1, "breached": 2, "percent_met": "33.3", "mean_business_seconds": 4900, "median_business_seconds": 6300})
    );
    assert_eq!(
        c[0]["resolve"],
        json!({"met": 2, "breached": 1, "percent_met": "66.6", "mean_business_seconds": 41400, "median_business_seconds": 30600})
    );
    assert_eq!(c[1]["resolve"]["mean_business_seconds"], 39_600);
    assert_eq!(c[2]["response"]["met"], 2);
    assert_eq!(
        c[2]["resolve"],
        json!({"met": 1, "breached": 0, "percent_met": "100.0", "mean_business_seconds": 21600, "median_business_seconds": 21600})
    );
    let b: Vec<(String, String, i64)> = r["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["clock"].as_str().unwrap().into(),
                b["breached_at"].as_str().unwrap().into(),
                b["late_business_seconds"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        b,
        [
            ("response".into(), "2026-10-05T16:00:00Z".into(), 3_600),
            ("response".into(), "2026-10-07T10:00:00Z".into(), 2_700),
            ("resolve".into(), "2026-10-15T08:00:00Z".into(), 37_800)
        ]
    );

    equals_golden(&report, "october-2026-acme");

    // The evidence behind the credit: T3's resolve clock, as worked by hand
    // in fixtures/reports/october-2026-acme.md.
    let e = &report["breach_evidence"];
    assert_eq!(e.as_array().unwrap().len(), 1, "{e}");
    assert_eq!(e[0]["reference"], "SD-000003");
    let x = &e[0]["clock"]["crossing"];
    assert_eq!(
        (
            &x["counted_before"],
            &x["interval_from"],
            &x["into_interval_seconds"],
            &x["at"]
        ),
        (
            &json!(30_600),
            &json!("2026-10-15T07:00:00Z"),
            &json!(3_600),
            &json!("2026-10-15T08:00:00Z")
        )
    );

    // The HTML carries the same figures and its three charts.
    let page = sladesk::reports::render::html(&report).unwrap();
    // Each breach line links to why: the credit's breach to its appendix
    // entry, the others to the ticket's explanation on the desk.
    assert!(page.contains("href=\"#evidence-SD-000003-resolve\""), "{page}");
    assert!(page.contains("id=\"evidence-SD-000003-resolve\""));
    assert!(page.contains("href=\"/tickets/SD-000002#why-due\""));
    assert!(page.contains("Appendix: the breaches behind the credits"));
    assert!(page.contains("8 h 30 min counted before the interval from 15 Oct 2026 08:00 BST; the 1 business day target was reached 1 h 00 min into it: breached at 15 Oct 2026 09:00 BST"), "{page}");
    for figure in [
        "99.530%",
        "£75.00",
        "£25.00",
        "£10.00",
        "£110.00",
        "91 h 00 min",
        "1 h 00 min",
        "10 h 30 min",
        "Targets measured against (support tier silver)",
        "<td>3bd</td>",
    ] {
        assert!(page.contains(figure), "{figure} missing from the HTML");
    }
    assert_eq!(page.matches("<svg").count(), 3);
}

/// The report must equal `fixtures/reports/NAME.json`; `SLADESK_BLESS=1`
/// writes it afresh (then check it against NAME.md, worked by hand).
fn equals_golden(report: &Value, name: &str) {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("fixtures/reports/{name}.json"));
    if std::env::var("SLADESK_BLESS").is_ok() {
        std::fs::write(&golden, serde_json::to_string_pretty(report).unwrap() + "\n").unwrap();
    }
    let want: Value = serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
    assert_eq!(report, &want, "the report differs from {}", golden.display());
}

fn raise_at(app: &sladesk::app::App, who: &str, severity: sladesk::domain::ticket::Severity, when: &str) -> String {
    let p = app.principal_for(who).unwrap();
    app.create_ticket(
        &p,
        sladesk::app::tickets::NewTicketRequest {
            subject: format!("Severity {} at {when}", u8::from(severity)),
            description: "Golden scenario.".into(),
            severity: Some(severity),
            queue: Some("service-desk".into()),
            organisation: None,
            requester: None,
            source: None,
        },
        at(when),
    )
    .unwrap()
    .reference
}

fn change_at(app: &sladesk::app::App, who: &str, reference: &str, c: sladesk::app::tickets::Change, when: &str) {
    let p = app.principal_for(who).unwrap();
    app.change_ticket(&p, reference, &[c], None, at(when)).unwrap();
}

/// `fixtures/reports/december-2026-acme.md`: Scotland's Christmas and
/// Boxing Day (substitute) holidays stop the Silver clocks.
async fn december_2026_over_scottish_bank_holidays_equals_its_golden_file(db: Db) {
    use sladesk::app::tickets::Change;
    use sladesk::domain::ticket::Severity;
    let t = spawn_app(db).await;
    let app = t.app.clone();
    let report = tokio::task::spawn_blocking(move || {
        let (carol, alice) = ("carol@acme.example", "alice@desk.example");
        let reply = || Change::Reply("Looking into it.".into());
        let d2 = raise_at(&app, carol, Severity::S1, "2026-12-23T18:00:00Z");
        change_at(&app, alice, &d2, reply(), "2026-12-24T08:30:00Z");
        let d1 = raise_at(&app, carol, Severity::S2, "2026-12-24T16:00:00Z");
        change_at(&app, alice, &d1, reply(), "2026-12-29T08:30:00Z");
        change_at(&app, alice, &d2, Change::Resolve, "2026-12-29T09:00:00Z");
        let manager = app.principal_for("manager@desk.example").unwrap();
        app.monthly_report(
            &manager,
            Some("acme"),
            "2026-12".parse().unwrap(),
            None,
            at("2027-02-01T00:00:00Z"),
        )
        .unwrap()
        .value()
        .unwrap()
    })
    .await
    .unwrap();
    let b: Vec<(String, String, i64, bool)> = report["breaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["reference"].as_str().unwrap().into(),
                b["breached_at"].as_str().unwrap().into(),
                b["late_business_seconds"].as_i64().unwrap(),
                b["stopped"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        b,
        [
            ("SD-000002".into(), "2026-12-24T17:00:00Z".into(), 3_600, true),
            ("SD-000001".into(), "2026-12-24T17:30:00Z".into(), 3_600, true),
            ("SD-000002".into(), "2026-12-31T16:00:00Z".into(), 5_400, false),
        ]
    );
    let c = &report["compliance"];
    assert_eq!(c[0]["response"]["mean_business_seconds"], 1_800);
    assert_eq!(c[0]["resolve"]["mean_business_seconds"], 37_800);
    assert_eq!(c[1]["response"]["mean_business_seconds"], 7_200);
    assert_eq!(c[1]["resolve"]["breached"], 1);
    assert_eq!(
        c[1]["resolve"]["mean_business_seconds"],
        Value::Null,
        "still running: no time to resolve"
    );
    assert_eq!(report["availability"]["downtime_seconds"], 0);
    assert_eq!(report["credits"]["total_pence"], 2_500);
    equals_golden(&report, "december-2026-acme");
}

/// `fixtures/reports/march-2027-globex.md`: the clocks go forward (743 h),
/// 24x7 Platinum clocks, forty severity 1 tickets left to breach, the cap
/// reached, and an upstream credit passed on beyond it.
async fn march_2027_reaches_the_cap_and_passes_upstream_credit_beyond_it(db: Db) {
    use sladesk::app::outages::{Affected, NewOutageRequest, NewUpstreamCreditRequest};
    use sladesk::domain::ticket::Severity;
    let t = spawn_app(db).await;
    let app = t.app.clone();
    let report = tokio::task::spawn_blocking(move || {
        for _ in 0..40 {
            raise_at(&app, "gina@globex.example", Severity::S1, "2027-03-02T09:00:00Z");
        }
        let manager = app.principal_for("manager@desk.example").unwrap();
        for (start, end) in [
            ("2027-03-10T00:00:00Z", "2027-03-10T06:00:00Z"),
            ("2027-03-28T00:30:00Z", "2027-03-28T02:30:00Z"),
        ] {
            app.create_outage(
                &manager,
                NewOutageRequest {
                    kind: "platform_issue".into(),
                    start: at(start),
                    end: Some(at(end)),
                    notified_at: None,
                    organisations: Some(Affected::Some(vec!["globex".into()])),
                    services: Vec::new(),
                    description: format!("Compute cluster from {start}"),
                    public_description: None,
                },
                at("2027-04-01T09:00:00Z"),
            )
            .unwrap();
        }
        app.create_upstream_credit(
            &manager,
            NewUpstreamCreditRequest {
                reference: "UKC-CR-31".into(),
                month: "2027-03".into(),
                amount_pence: 500,
                description: "March compute credit".into(),
                organisations: Some(Affected::Some(vec!["globex".into()])),
                shares: None,
            },
            at("2027-04-02T09:00:00Z"),
        )
        .unwrap();
        app.monthly_report(
            &manager,
            Some("globex"),
            "2027-03".parse().unwrap(),
            None,
            at("2027-05-01T00:00:00Z"),
        )
        .unwrap()
        .value()
        .unwrap()
    })
    .await
    .unwrap();
    let a = &report["availability"];
    assert_eq!(
        (a["seconds_in_month"].as_i64(), a["downtime_seconds"].as_i64()),
        (Some(2_674_800), Some(28_800))
    );
    let c = &report["credits"];
    assert_eq!(c["capped"], true);
    assert_eq!(
        (c["own_pence"].as_i64(), c["cap_pence"].as_i64()),
        (Some(250_000), Some(250_000))
    );
    assert_eq!(
        (c["upstream_pence"].as_i64(), c["total_pence"].as_i64()),
        (Some(500), Some(250_500))
    );
    let lines = c["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 1 + 40 + 1 + 1);
    assert_eq!(lines[0]["amount_pence"], 62_500);
    assert!(lines[1..41].iter().all(|l| l["amount_pence"] == 5_000));
    assert_eq!(lines[41]["kind"], "cap");
    assert_eq!(lines[41]["amount_pence"], -12_500);
    assert_eq!(report["breaches"].as_array().unwrap().len(), 80);
    let first = &report["breaches"][0];
    assert_eq!(first["breached_at"], "2027-03-02T09:15:00Z");
    // Still running at the month's end, 23:00 UTC on the 31st (midnight BST):
    // 710 h elapsed, 15 min of target.
    assert_eq!(first["late_business_seconds"], 710 * 3600 - 900);
    assert_eq!(report["breaches"][40]["late_business_seconds"], 706 * 3600);
    assert_eq!(report["compliance"][0]["response"]["percent_met"], "0.0");
    equals_golden(&report, "march-2027-globex");
}

/// The listing's offboarding: data deleted within 5 working days of the
/// end of the contract. Contract ends Friday 30 October 2026; the working
/// days after it are 2–6 November, so the data is kept until Friday 6
/// November and deleted by the first run after that. October's report is
/// kept first and still reads the same afterwards.
async fn a_terminated_organisation_is_deleted_after_five_working_days_keeping_its_reports(db: Db) {
    use sladesk::app::admin::{NewOrganisationRequest, NewUserRequest};
    use sladesk::app::tickets::Change;
    use sladesk::app::{Principal, Role};
    use sladesk::domain::ticket::Severity;
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let op = Principal::operator();
        let setup = at("2026-09-01T09:00:00Z");
        app.create_organisation(
            &op,
            NewOrganisationRequest {
                slug: "initech".into(),
                name: "Initech".into(),
                tier: "bronze".into(),
                region: "england-and-wales".into(),
                email_domains: vec!["initech.example".into()],
                monthly_charge_pence: 10_000,
                contract_start: None,
                contract_end: Some("2026-10-30".parse().unwrap()),
                may_declare_severity: false,
                ticket_sharing: Default::default(),
                account_contact: None,
            },
            setup,
        )
        .unwrap();
        app.create_user(
            &op,
            NewUserRequest {
                email: "peter@initech.example".into(),
                name: Some("Peter".into()),
                role: Role::Customer,
                organisation: Some("initech".into()),
                password: None,
            },
            setup,
        )
        .unwrap();
        let r = raise_at(&app, "peter@initech.example", Severity::S3, "2026-10-20T10:00:00Z");
        change_at(
            &app,
            "alice@desk.example",
            &r,
            Change::Reply("TPS cover sheet attached.".into()),
            "2026-10-20T11:00:00Z",
        );

        let before = app.end_contracts(at("2026-11-05T12:00:00Z")).unwrap();
        assert_eq!(before.len(), 1);
        assert_eq!(before[0].kept_until.to_string(), "2026-11-06");
        assert_eq!(before[0].deleted_tickets, None, "still within the retention");
        assert!(app.get_ticket(&op, &r).is_ok());

        let now = at("2026-11-09T02:00:00Z");
        let done = app.end_contracts(now).unwrap();
        assert_eq!(done[0].deleted_tickets, Some(1));
        assert!(app.get_ticket(&op, &r).is_err(), "the ticket is gone");
        assert!(
            app.principal_for("peter@initech.example").is_err(),
            "the person is anonymised"
        );
        let manager = app.principal_for("manager@desk.example").unwrap();
        let kept = app
            .monthly_report(&manager, Some("initech"), "2026-10".parse().unwrap(), None, now)
            .unwrap()
            .value()
            .unwrap();
        assert_eq!(kept["tickets"][0]["reference"], r.as_str(), "October's report is kept");
        assert!(
            !kept.to_string().contains("TPS cover sheet"),
            "and holds no ticket text"
        );
        assert!(app.end_contracts(now).unwrap().is_empty(), "done once");
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        let mut c = app.conn().unwrap();
        let deleted: i64 = audit_log::table
            .filter(audit_log::action.eq("organisation.delete"))
            .count()
            .get_result(&mut c)
            .unwrap();
        assert_eq!(deleted, 1);
    })
    .await
    .unwrap();
}

/// A month is provisional (computed on every read, and reading keeps
/// nothing) until it is closed; then version 1 is kept for every
/// organisation and the desk from one computation. A change recorded later
/// (an outage, an upstream credit, a ticket event dated in the month)
/// marks the kept report revised pending without changing it, and a
/// recompute keeps version 2 with who, when and why; version 1 stays
/// readable. The desk's figure for each organisation always equals that
/// organisation's own report.
async fn a_month_is_provisional_until_closed_then_kept_in_versions(db: Db) {
    use sladesk::app::outages::{Affected, NewOutageRequest, NewUpstreamCreditRequest};
    use sladesk::app::tickets::Change;
    use sladesk::domain::ticket::Severity;
    let t = spawn_app(db).await;
    let app = t.app.clone();
    tokio::task::spawn_blocking(move || {
        let manager = app.principal_for("manager@desk.example").unwrap();
        let carol = app.principal_for("carol@acme.example").unwrap();
        let october: sladesk::domain::availability::Month = "2026-10".parse().unwrap();
        let r = raise_at(&app, "carol@acme.example", Severity::S3, "2026-10-20T10:00:00Z");
        let kept_rows = || {
            use diesel::prelude::*;
            use sladesk::store::schema::report_versions;
            let mut c = app.conn().unwrap();
            report_versions::table.count().get_result::<i64>(&mut c).unwrap()
        };
        let read = |who: &sladesk::app::Principal, org: Option<&str>, version: Option<i32>, now: &str| {
            app.monthly_report(who, org, october, version, at(now)).unwrap()
        };
        // The desk's line for each organisation is that organisation's report.
        let agree = |now: &str| {
            let desk = read(&manager, None, None, now).value().unwrap();
            for line in desk["organisations"].as_array().unwrap() {
                let slug = line["organisation"].as_str().unwrap();
                let own = read(&manager, Some(slug), None, now).value().unwrap();
                let a = &own["availability"];
                let (secs, down) = (
                    a["seconds_in_month"].as_i64().unwrap(),
                    a["downtime_seconds"].as_i64().unwrap(),
                );
                let m = (secs - down) * 100_000 / secs;
                assert_eq!(
                    line["availability_percent"],
                    format!("{}.{:03}", m / 1000, m % 1000),
                    "{slug}: the desk and the organisation disagree on availability"
                );
                assert_eq!(
                    line["credits_pence"],
                    own["credits"]["total_pence"].as_i64().unwrap_or(0),
                    "{slug}: the desk and the organisation disagree on credits"
                );
            }
        };

        // Read by a customer and a manager: provisional, nothing kept.
        let first = read(&carol, Some("acme"), None, "2026-11-03T09:00:00Z");
        assert_eq!(first.standing.state, "provisional");
        assert_eq!(first.standing.closes_on.unwrap().to_string(), "2026-11-07");
        agree("2026-11-03T09:00:00Z");
        assert_eq!(kept_rows(), 0, "a read never writes");

        // An outage recorded after those reads shows at once.
        let outage = |start: &str, end: &str, what: &str| NewOutageRequest {
            kind: "platform_issue".into(),
            start: at(start),
            end: Some(at(end)),
            notified_at: None,
            organisations: Some(Affected::Some(vec!["acme".into()])),
            services: Vec::new(),
            description: what.into(),
            public_description: None,
        };
        app.create_outage(
            &manager,
            outage("2026-10-27T09:00:00Z", "2026-10-27T10:00:00Z", "LON1 storage"),
            at("2026-11-04T09:00:00Z"),
        )
        .unwrap();
        let provisional = read(&manager, Some("acme"), None, "2026-11-04T10:00:00Z")
            .value()
            .unwrap();
        assert_eq!(provisional["availability"]["downtime_seconds"], 3_600);
        agree("2026-11-04T10:00:00Z");

        // Recompute has nothing to do before the month is closed; closing
        // needs the month to have ended.
        assert!(
            app.recompute_month(&manager, october, "why not", at("2026-11-04T10:00:00Z"))
                .is_err()
        );
        assert!(
            app.close_month(&manager, "2026-11".parse().unwrap(), at("2026-11-04T10:00:00Z"))
                .is_err()
        );
        assert!(
            app.close_month(&carol, october, at("2026-11-04T10:00:00Z")).is_err(),
            "managers close"
        );

        // Closed: version 1 of acme, globex and the desk.
        let kept = app.close_month(&manager, october, at("2026-11-05T09:00:00Z")).unwrap();
        let mut scopes: Vec<&str> = kept.iter().map(|k| k.scope.as_str()).collect();
        scopes.sort();
        assert!(scopes.contains(&"acme") && scopes.contains(&"*"), "{scopes:?}");
        assert!(kept.iter().all(|k| k.version == 1));
        assert!(
            app.close_month(&manager, october, at("2026-11-05T09:01:00Z"))
                .unwrap()
                .is_empty(),
            "once"
        );
        let v1 = read(&manager, Some("acme"), None, "2026-11-05T10:00:00Z");
        assert_eq!((v1.standing.state, v1.standing.version), ("closed", Some(1)));
        assert!(!v1.standing.revised_pending);
        let v1 = v1.value().unwrap();

        // Later: a 4.5 h outage, an upstream credit and a late reply dated
        // in October. Version 1 reads the same, marked revised pending.
        let late = outage("2026-10-29T09:00:00Z", "2026-10-29T13:30:00Z", "Northwind-style outage");
        app.create_outage(&manager, late, at("2026-11-10T09:00:00Z")).unwrap();
        app.create_upstream_credit(
            &manager,
            NewUpstreamCreditRequest {
                reference: "UKC-OCT".into(),
                month: "2026-10".into(),
                amount_pence: 12_000,
                description: "October platform credit".into(),
                organisations: Some(Affected::Some(vec!["acme".into()])),
                shares: None,
            },
            at("2026-11-10T09:05:00Z"),
        )
        .unwrap();
        change_at(
            &app,
            "alice@desk.example",
            &r,
            Change::Reply("Sorry for the wait.".into()),
            "2026-10-30T12:00:00Z",
        );
        let pending = read(&manager, Some("acme"), None, "2026-11-10T10:00:00Z");
        assert_eq!(pending.standing.version, Some(1));
        assert!(pending.standing.revised_pending);
        let whats: Vec<&str> = pending
            .standing
            .pending_changes
            .iter()
            .map(|p| p.what.as_str())
            .collect();
        assert_eq!(whats.len(), 3, "{whats:?}");
        assert!(
            whats[0].starts_with("outage ") && whats[1] == "upstream credit UKC-OCT recorded",
            "{whats:?}"
        );
        assert!(whats[2].contains(&r), "{whats:?}");
        assert_eq!(pending.value().unwrap(), v1, "a kept version never changes");
        let desk = read(&manager, None, None, "2026-11-10T10:00:00Z");
        assert!(desk.standing.revised_pending, "the desk's report is touched too");
        // The customer sees that it is pending, not what changed nor who kept it.
        let theirs = read(&carol, Some("acme"), None, "2026-11-10T10:00:00Z").standing;
        assert!(theirs.revised_pending && theirs.pending_changes.is_empty());
        assert!(
            theirs
                .versions
                .iter()
                .all(|v| v.kept_by.is_none() && v.reason.is_none())
        );
        agree("2026-11-10T10:00:00Z");

        // Recompute: a reason is required; then version 2 of acme and the desk.
        assert!(
            app.recompute_month(&manager, october, "  ", at("2026-11-10T11:00:00Z"))
                .is_err()
        );
        let kept = app
            .recompute_month(&manager, october, "late outage and credit", at("2026-11-10T11:00:00Z"))
            .unwrap();
        let mut scopes: Vec<(&str, i32)> = kept.iter().map(|k| (k.scope.as_str(), k.version)).collect();
        scopes.sort();
        assert_eq!(scopes, [("*", 2), ("acme", 2)], "globex's figures did not move");
        let v2 = read(&manager, Some("acme"), None, "2026-11-10T12:00:00Z");
        assert_eq!((v2.standing.version, v2.standing.revised_pending), (Some(2), false));
        let info = &v2.standing.versions[1];
        assert_eq!(info.kept_by.as_deref(), Some("manager@desk.example"));
        assert_eq!(info.reason.as_deref(), Some("late outage and credit"));
        let v2 = v2.value().unwrap();
        assert_eq!(v2["availability"]["downtime_seconds"], 3_600 + 16_200);
        assert_ne!(v2["credits"]["total_pence"], v1["credits"]["total_pence"]);
        let again = read(&manager, Some("acme"), Some(1), "2026-11-10T12:00:00Z");
        assert_eq!(again.value().unwrap(), v1, "version 1 stays readable");
        assert!(
            app.monthly_report(&manager, Some("acme"), october, Some(3), at("2026-11-10T12:00:00Z"))
                .is_err()
        );
        agree("2026-11-10T12:00:00Z");

        // Deleting an outage marks the kept month again; the monthly job
        // keeps version 3 and mails it.
        let id = app
            .list_outages(&manager, Some(october), Some("acme"), at("2026-11-11T09:00:00Z"))
            .unwrap()[0]
            .id;
        app.delete_outage(&manager, id, at("2026-11-11T09:00:00Z")).unwrap();
        assert!(
            read(&manager, Some("acme"), None, "2026-11-11T09:30:00Z")
                .standing
                .revised_pending
        );
        let run = app.run_monthly_reports(at("2026-11-12T06:00:00Z")).unwrap();
        assert!(run.closed.is_empty(), "October was closed already");
        assert!(
            run.revised.iter().any(|k| k.scope == "acme" && k.version == 3),
            "{:?}",
            run.revised
        );
        assert!(run.mails > 0);
        let v3 = read(&manager, Some("acme"), None, "2026-11-12T07:00:00Z");
        assert!(!v3.standing.revised_pending);
        assert!(
            v3.standing.versions[2]
                .reason
                .as_deref()
                .unwrap()
                .contains(&format!("outage {id} deleted"))
        );
        let again = app.run_monthly_reports(at("2026-11-13T06:00:00Z")).unwrap();
        assert_eq!(
            (again.revised.len(), again.mails),
            (0, 0),
            "a run again keeps and sends nothing twice"
        );
    })
    .await
    .unwrap();
}
