//! Service requests over HTTP: the catalogue with the caller's tier's
//! target, a request raised from a form (every wrong field named), its
//! approver told by mail and alone able to approve, fulfilment on the
//! fulfilment clock, and the request kept apart from the incident's ways
//! (no incident status changes, no incident clocks, a 409 for a command of
//! the wrong type).

use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(
    a_request_is_approved_by_the_named_colleague_and_fulfilled,
    an_approver_decides_by_replying_to_the_mail,
);

async fn act(t: &TestApp, reference: &str, token: &str, body: Value) -> crate::helpers::Answer {
    t.post(&format!("/api/v1/tickets/{reference}/request/actions"), token, body)
        .await
}

async fn a_request_is_approved_by_the_named_colleague_and_fulfilled(db: Db) {
    let t = spawn_app(db).await;
    let items = t.get("/api/v1/catalogue", &t.carol).await;
    assert_eq!(items.status.as_u16(), 200, "{}", items.text);
    let starter = items
        .json
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["slug"] == "new-starter-account")
        .expect("the shipped item")
        .clone();
    assert_eq!(starter["target"], "2bd", "acme is silver: {starter}");
    assert_eq!(
        starter["targets"],
        json!({}),
        "a customer sees their own tier's target only"
    );
    assert_eq!(starter["approval"], "another_contact");
    assert_eq!(
        t.get("/api/v1/catalogue/no-such-thing", &t.carol).await.status.as_u16(),
        404
    );

    // A form with wrong fields is refused, naming them.
    let bad = t
        .post(
            "/api/v1/requests",
            &t.carol,
            json!({"item": "new-starter-account", "answers": {"person": "not an address", "start": "tomorrow"}, "approver": "colin@acme.example"}),
        )
        .await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    assert!(
        bad.json["field"].as_str().unwrap().starts_with("answers."),
        "{}",
        bad.text
    );
    let answers = json!({"person": "nadia@acme.example", "full_name": "Nadia Patel", "start": "2026-12-07", "access": "office and VPN"});
    let own = t
        .post(
            "/api/v1/requests",
            &t.carol,
            json!({"item": "new-starter-account", "answers": answers, "approver": "carol@acme.example"}),
        )
        .await;
    assert_eq!(
        own.status.as_u16(),
        422,
        "the requester cannot approve their own: {}",
        own.text
    );
    let outsider = t
        .post(
            "/api/v1/requests",
            &t.carol,
            json!({"item": "new-starter-account", "answers": answers, "approver": "gina@globex.example"}),
        )
        .await;
    assert_eq!(outsider.status.as_u16(), 422, "{}", outsider.text);

    let made = t
        .post(
            "/api/v1/requests",
            &t.carol,
            json!({"item": "new-starter-account", "answers": answers, "approver": "colin@acme.example"}),
        )
        .await;
    assert_eq!(made.status.as_u16(), 201, "{}", made.text);
    let reference = made.json["reference"].as_str().unwrap().to_string();
    assert_eq!(made.json["status"], "awaiting_approval");
    assert_eq!(made.json["approvers"][0]["email"], "colin@acme.example");
    assert_eq!(made.json["fulfilment"]["state"], "paused", "{}", made.text);
    assert_eq!(made.json["answers"][1]["label"], "Full name");

    // The ticket is a service request in lists, with the request's status
    // and no incident clocks.
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(ticket.json["type"], "service_request", "{}", ticket.text);
    assert_eq!(ticket.json["status"], "awaiting_approval");
    assert_eq!(ticket.json["response"]["state"], "cancelled");
    let listed = t.get("/api/v1/tickets?type=service_request", &t.agent).await;
    assert_eq!(listed.json["items"].as_array().unwrap().len(), 1, "{}", listed.text);

    // The approver is asked by mail and watches the request.
    let asked: Vec<_> = t
        .outbox()
        .into_iter()
        .filter(|(k, to, _)| k == "approval_request" && to == "colin@acme.example")
        .collect();
    assert_eq!(asked.len(), 1);
    assert_eq!(asked[0].2["item_name"], "Account for a new starter");
    assert!(
        t.outbox()
            .iter()
            .any(|(k, to, _)| k == "request_update" && to == "carol@acme.example")
    );

    // Only the named approver decides; the requester and staff cannot.
    for token in [&t.carol, &t.agent] {
        let refused = act(&t, &reference, token, json!({"action": "approve"})).await;
        assert_eq!(refused.status.as_u16(), 403, "{}", refused.text);
    }
    assert_eq!(
        act(&t, &reference, &t.gina, json!({"action": "approve"}))
            .await
            .status
            .as_u16(),
        404,
        "another organisation's request does not exist for them"
    );
    let seen = t.get(&format!("/api/v1/tickets/{reference}/request"), &t.colin).await;
    assert_eq!(seen.json["may_decide"], true, "{}", seen.text);
    let approved = act(
        &t,
        &reference,
        &t.colin,
        json!({"action": "approve", "comment": "Yes, she starts Monday."}),
    )
    .await;
    assert_eq!(approved.status.as_u16(), 200, "{}", approved.text);
    assert_eq!(approved.json["status"], "in_fulfilment");
    assert_eq!(approved.json["approved_by"]["email"], "colin@acme.example");
    assert_eq!(approved.json["fulfilment"]["state"], "running");
    assert!(approved.json["fulfilment"]["due_at"].is_string());
    let told = t
        .outbox()
        .into_iter()
        .rfind(|(k, to, _)| k == "request_update" && to == "carol@acme.example")
        .unwrap();
    assert_eq!(told.2["status_title"], "approved and in fulfilment");
    assert_eq!(told.2["comment"], "Yes, she starts Monday.");
    let again = act(
        &t,
        &reference,
        &t.colin,
        json!({"action": "refuse", "comment": "changed my mind"}),
    )
    .await;
    assert_eq!(again.status.as_u16(), 409, "decided already: {}", again.text);

    // The incident's ways are refused on a request; its own are not.
    let status = t
        .patch(
            &format!("/api/v1/tickets/{reference}"),
            &t.agent,
            json!({"status": "resolved"}),
        )
        .await;
    assert_eq!(status.status.as_u16(), 409, "{}", status.text);
    let incident = t.raise(&t.carol, "Printer offline", 3).await;
    let wrong = act(&t, &incident, &t.agent, json!({"action": "close"})).await;
    assert_eq!(wrong.status.as_u16(), 409, "{}", wrong.text);
    assert!(
        wrong.text.contains("is an incident, not a service request"),
        "{}",
        wrong.text
    );

    // A reply on the conversation keeps the request's status.
    let reply = t
        .post(
            &format!("/api/v1/tickets/{reference}/replies"),
            &t.agent,
            json!({"body": "Working on it."}),
        )
        .await;
    assert!(reply.status.is_success(), "{}", reply.text);
    let ticket = t.get(&format!("/api/v1/tickets/{reference}"), &t.agent).await;
    assert_eq!(ticket.json["status"], "in_fulfilment", "{}", ticket.text);

    let customer_fulfils = act(&t, &reference, &t.carol, json!({"action": "fulfil", "note": "done"})).await;
    assert_eq!(customer_fulfils.status.as_u16(), 403);
    let done = act(
        &t,
        &reference,
        &t.agent,
        json!({"action": "fulfil", "note": "Account made; details sent to Nadia."}),
    )
    .await;
    assert_eq!(done.status.as_u16(), 200, "{}", done.text);
    assert_eq!(done.json["status"], "fulfilled");
    assert_eq!(done.json["fulfilment"]["state"], "met", "{}", done.text);
    // The month's report: the item's line, in acme's and in the desk's.
    let month = chrono::Utc::now().format("%Y-%m").to_string();
    for path in [
        format!("/api/v1/reports/monthly?org=acme&month={month}"),
        format!("/api/v1/reports/monthly?month={month}"),
    ] {
        let report = t.get(&path, &t.manager).await;
        assert_eq!(report.status.as_u16(), 200, "{}", report.text);
        let line = &report.json["service_requests"][0];
        assert_eq!(
            line["name"], "Account for a new starter",
            "{}",
            report.json["service_requests"]
        );
        assert_eq!(
            (line["fulfilled"].as_i64(), line["met"].as_i64()),
            (Some(1), Some(1)),
            "{line}"
        );
        assert_eq!(line["percent_met"], "100.0");
        assert!(
            report.json["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .all(|t| t["reference"] != reference.as_str()),
            "a request is not an incident in the SLA figures"
        );
    }
    let timeline = t.get(&format!("/api/v1/tickets/{reference}/events"), &t.carol).await;
    assert!(
        timeline.text.contains("Account made; details sent to Nadia."),
        "{}",
        timeline.text
    );
    assert!(timeline.text.contains("Yes, she starts Monday."), "{}", timeline.text);
}

/// A reply from `from` to the approval mail of `reference`, saying `first` on its first line.
fn reply_mail(from: &str, reference: &str, message_id: &str, first: &str) -> Vec<u8> {
    format!(
        "From: {from}\r\nTo: service-desk@desk.example\r\nSubject: Re: [{reference}] Approval needed\r\n\
         Message-ID: <{}@acme.example>\r\nIn-Reply-To: <{message_id}>\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n\
         Content-Type: text/plain; charset=utf-8\r\n\r\n{first}\r\n\r\nOn Monday the desk wrote:\r\n> Approval needed\r\n",
        first.len() + from.len() + reference.len()
    )
    .into_bytes()
}

async fn an_approver_decides_by_replying_to_the_mail(db: Db) {
    let t = spawn_app(db).await;
    let answers =
        json!({"person": "nadia@acme.example", "full_name": "Nadia Patel", "start": "2026-12-07", "access": "office"});
    let mut refs = Vec::new();
    for _ in 0..2 {
        let made = t
            .post(
                "/api/v1/requests",
                &t.carol,
                json!({"item": "new-starter-account", "answers": answers, "approver": "colin@acme.example"}),
            )
            .await;
        assert_eq!(made.status.as_u16(), 201, "{}", made.text);
        refs.push(made.json["reference"].as_str().unwrap().to_string());
    }
    let message_id = |reference: &str| -> String {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq("approval_request"))
            .filter(outbox::message_id.like(format!("{reference}.%")))
            .select(outbox::message_id)
            .first::<String>(&mut t.app.conn().unwrap())
            .unwrap()
    };
    let ingest = |raw: Vec<u8>| {
        let app = t.app.clone();
        tokio::task::spawn_blocking(move || app.ingest(&raw, "test", sladesk::app::now()))
    };
    // The requester's "approve" is a reply like any other: not theirs to decide.
    let id = message_id(&refs[0]);
    ingest(reply_mail("carol@acme.example", &refs[0], &id, "approve"))
        .await
        .unwrap()
        .unwrap();
    let r = t.get(&format!("/api/v1/tickets/{}/request", refs[0]), &t.agent).await;
    assert_eq!(r.json["status"], "awaiting_approval", "{}", r.text);

    ingest(reply_mail("colin@acme.example", &refs[0], &id, "Approve"))
        .await
        .unwrap()
        .unwrap();
    let r = t.get(&format!("/api/v1/tickets/{}/request", refs[0]), &t.agent).await;
    assert_eq!(r.json["status"], "in_fulfilment", "{}", r.text);
    assert_eq!(r.json["approved_by"]["email"], "colin@acme.example");

    let id = message_id(&refs[1]);
    ingest(reply_mail(
        "colin@acme.example",
        &refs[1],
        &id,
        "Refuse\r\nNot in this quarter's budget.",
    ))
    .await
    .unwrap()
    .unwrap();
    let r = t.get(&format!("/api/v1/tickets/{}/request", refs[1]), &t.agent).await;
    assert_eq!(r.json["status"], "refused", "{}", r.text);
    let told = t
        .outbox()
        .into_iter()
        .rfind(|(k, to, _)| k == "request_update" && to == "carol@acme.example")
        .unwrap();
    assert_eq!(told.2["status_title"], "refused");
    assert_eq!(told.2["comment"], "Not in this quarter's budget.");
}
