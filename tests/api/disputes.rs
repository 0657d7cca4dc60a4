//! Disputes of a closed month's report over HTTP: a customer disputes a
//! breach, a manager upholds it and the month's next report version carries
//! the credit; another is rejected with a reply; each decision is mailed to
//! whoever raised it and audited; nobody else sees another organisation's.

use base64::Engine;
use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, a_closed_october, spawn_app};

crate::both_backends!(a_dispute_is_raised_upheld_and_changes_the_credits_in_a_new_version);

async fn a_dispute_is_raised_upheld_and_changes_the_credits_in_a_new_version(db: Db) {
    let t = spawn_app(db).await;
    a_closed_october(&t, "carol@acme.example").await;
    let report = |token: String| {
        let t = &t;
        async move {
            t.get("/api/v1/reports/monthly?org=acme&month=2026-10", &token)
                .await
                .json
        }
    };
    let before = report(t.manager.clone()).await;
    assert_eq!(before["standing"]["version"], 1, "{}", before["standing"]);
    let total_before = before["credits"]["total_pence"].as_i64().unwrap();

    // The customer disputes the resolve breach, with a file.
    let raised = t
        .post(
            "/api/v1/disputes",
            &t.carol,
            json!({
                "month": "2026-10",
                "subject": {"kind": "breach", "reference": "SD-000001", "clock": "resolve"},
                "reason": "Payroll was down for two days; the credit should be more than 1%.",
                "files": [{"filename": "payroll.txt", "content_type": "text/plain",
                           "data_base64": base64::engine::general_purpose::STANDARD.encode(b"payroll log")}],
            }),
        )
        .await;
    assert_eq!(raised.status, 201, "{}", raised.text);
    let id = raised.json["id"].as_i64().unwrap();
    assert_eq!(raised.json["status"], "open");
    assert_eq!(raised.json["subject_words"], "the resolve clock of SD-000001");
    let file = raised.json["files"][0]["id"].as_i64().unwrap();

    // Who may see it: acme's customer and managers; not agents, not globex.
    let path = format!("/api/v1/disputes/{id}");
    assert_eq!(t.get(&path, &t.colin).await.status, 200, "another acme contact");
    t.get(&path, &t.gina).await.problem(404);
    t.get(&path, &t.agent).await.problem(403);
    t.call(Method::GET, &path, None, None).await.problem(401);
    let f = t.get(&format!("{path}/files/{file}"), &t.carol).await;
    assert_eq!((f.status.as_u16(), f.text.as_str()), (200, "payroll log"));
    t.get(&format!("{path}/files/{file}"), &t.gina).await.problem(404);
    let theirs = t.get("/api/v1/disputes", &t.gina).await;
    assert_eq!(theirs.json, json!([]), "globex sees none of acme's");
    let open = t.get("/api/v1/disputes?status=open", &t.manager).await;
    assert_eq!(open.json[0]["id"], id);

    // Bad input is named; a provisional month cannot be disputed.
    t.post(
        "/api/v1/disputes",
        &t.carol,
        json!({"month": "2026-10", "subject": {"kind": "breach", "reference": "SD-000001", "clock": "resolve"}, "reason": "  "}),
    )
    .await
    .problem(422);
    let provisional = t
        .post(
            "/api/v1/disputes",
            &t.carol,
            json!({"month": "2026-11", "subject": {"kind": "credit_line", "description": "x"}, "reason": "why"}),
        )
        .await;
    provisional.problem(409);
    // Only customers raise them; only managers decide.
    t.post(
        "/api/v1/disputes",
        &t.manager,
        json!({"month": "2026-10", "subject": {"kind": "credit_line", "description": "x"}, "reason": "why"}),
    )
    .await
    .problem(403);
    t.post(
        &format!("{path}/decision"),
        &t.agent,
        json!({"outcome": "reject", "reply": "no"}),
    )
    .await
    .problem(403);

    // Upheld: the month's next version carries the adjustment as a line.
    let decided = t
        .post(
            &format!("{path}/decision"),
            &t.manager,
            json!({"outcome": "uphold", "adjustment_pence": 2500, "reply": "Agreed: we add £25.00 for the second day."}),
        )
        .await;
    assert_eq!(decided.status, 200, "{}", decided.text);
    assert_eq!(decided.json["status"], "upheld");
    assert_eq!(decided.json["report_version"], 2);
    assert_eq!(decided.json["evidence"]["clock"]["kind"], "resolve", "{}", decided.json);
    let after = report(t.carol.clone()).await;
    assert_eq!(after["standing"]["version"], 2);
    assert_eq!(after["credits"]["total_pence"].as_i64().unwrap(), total_before + 2500);
    let line = after["credits"]["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["kind"] == "dispute")
        .cloned()
        .unwrap();
    assert_eq!(line["amount_pence"], 2500);
    assert_eq!(line["causes"], json!([format!("dispute {id}")]));
    // Version 1 is kept as it was.
    let v1 = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10&version=1", &t.manager)
        .await
        .json;
    assert_eq!(v1["credits"]["total_pence"].as_i64().unwrap(), total_before);
    // Decided once.
    t.post(
        &format!("{path}/decision"),
        &t.manager,
        json!({"outcome": "reject", "reply": "changed my mind"}),
    )
    .await
    .problem(409);

    // A second dispute, rejected with a reply: no new version.
    let second = t
        .post(
            "/api/v1/disputes",
            &t.carol,
            json!({"month": "2026-10", "subject": {"kind": "credit_line", "description": line["description"]},
                   "reason": "Should be £50."}),
        )
        .await;
    assert_eq!(second.status, 201, "{}", second.text);
    let second_id = second.json["id"].as_i64().unwrap();
    let rejected = t
        .post(
            &format!("/api/v1/disputes/{second_id}/decision"),
            &t.manager,
            json!({"outcome": "reject", "reply": "£25 covers the second day, as agreed."}),
        )
        .await;
    assert_eq!(rejected.json["status"], "rejected");
    assert!(rejected.json["report_version"].is_null());
    assert_eq!(report(t.manager.clone()).await["standing"]["version"], 2);

    // The report lists the month's disputes and their outcomes.
    let doc = report(t.carol.clone()).await;
    assert_eq!(doc["disputes"][0]["status"], "upheld", "{}", doc["disputes"]);
    assert_eq!(doc["disputes"][1]["status"], "rejected");
    let html = t
        .get("/api/v1/reports/monthly?org=acme&month=2026-10&format=html", &t.carol)
        .await
        .text;
    assert!(html.contains("upheld: £25.00"), "{html}");
    assert!(html.contains("£25 covers the second day, as agreed."));

    // Each decision is mailed to whoever raised it.
    let mails: Vec<_> = t
        .outbox()
        .into_iter()
        .filter(|(kind, to, _)| kind == "dispute_decided" && to == "carol@acme.example")
        .collect();
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[0].2["outcome"], "upheld");
    assert_eq!(mails[1].2["outcome"], "rejected");

    // Every step is audited.
    let actions: Vec<String> = {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.like("dispute.%"))
            .order(audit_log::id)
            .select(audit_log::action)
            .load(&mut t.app.conn().unwrap())
            .unwrap()
    };
    assert_eq!(
        actions,
        ["dispute.raise", "dispute.decide", "dispute.raise", "dispute.decide"]
    );

    // Where only the account contact may dispute, a contact may not.
    t.app.set_disputes_by_account_contact(true);
    t.post(
        "/api/v1/disputes",
        &t.carol,
        json!({"month": "2026-10", "subject": {"kind": "breach", "reference": "SD-000001", "clock": "response"}, "reason": "why"}),
    )
    .await
    .problem(403);
}
