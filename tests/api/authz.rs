//! Who may do what: every ticket endpoint × every role × own or another
//! organisation, and the collection endpoints × every role, with the exact
//! status and no foreign data in any body.

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::{Db, TestApp, spawn_app};

crate::both_backends!(every_endpoint_answers_every_role_exactly, scim_answers_scim_tokens_only);

#[derive(Clone, Copy, Debug)]
enum Who {
    Admin,
    Manager,
    Agent,
    OwnCustomer,
    OtherCustomer,
    Nobody,
}

const ALL: [Who; 6] = [
    Who::Admin,
    Who::Manager,
    Who::Agent,
    Who::OwnCustomer,
    Who::OtherCustomer,
    Who::Nobody,
];

fn token(t: &TestApp, w: Who) -> Option<String> {
    match w {
        Who::Admin => Some(t.admin.clone()),
        Who::Manager => Some(t.manager.clone()),
        Who::Agent => Some(t.agent.clone()),
        Who::OwnCustomer => Some(t.carol.clone()),
        Who::OtherCustomer => Some(t.gina.clone()),
        Who::Nobody => None,
    }
}

/// (method, path after the ticket, body, statuses for Admin, Manager, Agent, OwnCustomer, OtherCustomer, Nobody)
type Row = (Method, &'static str, Option<Value>, [u16; 6]);

async fn every_endpoint_answers_every_role_exactly(db: Db) {
    let t = spawn_app(db).await;
    let ticket_rows: Vec<Row> = vec![
        (Method::GET, "", None, [200, 200, 200, 200, 404, 401]),
        (Method::GET, "/events", None, [200, 200, 200, 200, 404, 401]),
        (Method::GET, "/sla", None, [200, 200, 200, 200, 404, 401]),
        (Method::GET, "/sla/explain", None, [200, 200, 200, 200, 404, 401]),
        (Method::GET, "/sla/history", None, [200, 200, 200, 200, 404, 401]),
        (Method::GET, "/time", None, [200, 200, 200, 403, 404, 401]),
        (Method::GET, "/presence", None, [200, 200, 200, 403, 404, 401]),
        (
            Method::POST,
            "/presence",
            Some(json!({"replying": true})),
            [200, 200, 200, 403, 404, 401],
        ),
        (
            Method::POST,
            "/time",
            Some(json!({"spent": "5m"})),
            [201, 201, 201, 403, 404, 401],
        ),
        (
            Method::POST,
            "/replies",
            Some(json!({"body": "hi"})),
            [200, 200, 200, 200, 404, 401],
        ),
        (
            Method::POST,
            "/notes",
            Some(json!({"body": "hi"})),
            [200, 200, 200, 403, 404, 401],
        ),
        (
            Method::PATCH,
            "",
            Some(json!({"severity": 2})),
            [200, 200, 200, 403, 404, 401],
        ),
        (
            Method::PATCH,
            "",
            Some(json!({"status": "pending_third_party"})),
            [200, 200, 200, 403, 404, 401],
        ),
        (
            Method::PATCH,
            "",
            Some(json!({"assignee": "bob@desk.example"})),
            [200, 200, 200, 403, 404, 401],
        ),
        (
            Method::PATCH,
            "",
            Some(json!({"queue": "platform"})),
            [200, 200, 200, 403, 404, 401],
        ),
        (Method::GET, "/links", None, [200, 200, 200, 200, 404, 401]),
        (
            Method::POST,
            "/links",
            Some(json!({"kind": "related", "ticket": "SD-000001"})),
            [201, 201, 201, 403, 403, 401],
        ),
        (
            Method::DELETE,
            "/links/related/SD-000001",
            None,
            [404, 404, 404, 403, 403, 401],
        ),
        (
            Method::POST,
            "/merge",
            Some(json!({"into": "SD-000001"})),
            [200, 200, 200, 403, 403, 401],
        ),
        (Method::GET, "/watchers", None, [200, 200, 200, 200, 404, 401]),
        (
            Method::POST,
            "/watchers",
            Some(json!({"email": "colin@acme.example"})),
            [200, 200, 200, 200, 404, 401],
        ),
        (
            Method::DELETE,
            "/watchers/colin@acme.example",
            None,
            [404, 404, 404, 404, 404, 401],
        ),
        (Method::POST, "/resolve", None, [200, 200, 200, 403, 404, 401]),
        (Method::POST, "/cancel", None, [200, 200, 200, 403, 404, 401]),
    ];
    for (method, suffix, body, expected) in ticket_rows {
        for (i, who) in ALL.into_iter().enumerate() {
            // A fresh acme ticket per cell, so no cell depends on another.
            let subject = format!("secret-acme-subject-{i}");
            let reference = t.raise(&t.carol, &subject, 3).await;
            let path = format!("/api/v1/tickets/{reference}{suffix}");
            let a = t
                .call(method.clone(), &path, token(&t, who).as_deref(), body.clone())
                .await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as {who:?}: {}", a.text);
            if a.status.as_u16() >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as {who:?}");
            }
            if matches!(who, Who::OtherCustomer | Who::Nobody) {
                assert!(
                    !a.text.contains(&subject) && !a.text.contains("acme"),
                    "{method} {path} as {who:?} leaks: {}",
                    a.text
                );
            }
        }
    }

    // A service request's record and actions: an acme contact's request,
    // its approver another acme contact (colin, who is neither caller).
    let request_rows: Vec<Row> = vec![
        (Method::GET, "/request", None, [200, 200, 200, 200, 404, 401]),
        // Only the named approver decides: not staff, not the requester.
        (
            Method::POST,
            "/request/actions",
            Some(json!({"action": "approve"})),
            [403, 403, 403, 403, 404, 401],
        ),
        // Staff work: refused to a customer; not now while it awaits approval.
        (
            Method::POST,
            "/request/actions",
            Some(json!({"action": "start_fulfilment"})),
            [409, 409, 409, 403, 404, 401],
        ),
        // The requester or staff withdraw it.
        (
            Method::POST,
            "/request/actions",
            Some(json!({"action": "cancel", "reason": "not needed"})),
            [200, 200, 200, 200, 404, 401],
        ),
    ];
    for (method, suffix, body, expected) in request_rows {
        for (i, who) in ALL.into_iter().enumerate() {
            let made = t
                .post(
                    "/api/v1/requests",
                    &t.carol,
                    json!({"item": "new-starter-account", "approver": "colin@acme.example",
                           "answers": {"person": "nadia@acme.example", "full_name": format!("secret-acme-person-{i}"),
                                       "start": "2026-12-07", "access": "office"}}),
                )
                .await;
            assert_eq!(made.status.as_u16(), 201, "{}", made.text);
            let reference = made.json["reference"].as_str().unwrap();
            let path = format!("/api/v1/tickets/{reference}{suffix}");
            let a = t
                .call(method.clone(), &path, token(&t, who).as_deref(), body.clone())
                .await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as {who:?}: {}", a.text);
            if a.status.as_u16() >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as {who:?}");
            }
            if matches!(who, Who::OtherCustomer | Who::Nobody) {
                assert!(
                    !a.text.contains("secret-acme") && !a.text.contains("acme"),
                    "{method} {path} as {who:?} leaks: {}",
                    a.text
                );
            }
        }
    }
    // A problem (staff only: no contact sees one) and a change (its
    // organisation's contacts read it; staff work it), each acme's.
    let problem = t
        .post(
            "/api/v1/problems",
            &t.agent,
            json!({"subject": "secret-acme-problem", "description": "d", "organisation": "acme"}),
        )
        .await;
    assert_eq!(problem.status.as_u16(), 201, "{}", problem.text);
    let problem = problem.json["reference"].as_str().unwrap().to_string();
    let change = t
        .post(
            "/api/v1/changes",
            &t.agent,
            json!({"subject": "secret-acme-change", "description": "d", "kind": "normal", "organisation": "acme"}),
        )
        .await;
    assert_eq!(change.status.as_u16(), 201, "{}", change.text);
    let change = change.json["reference"].as_str().unwrap().to_string();
    let typed_rows: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
        (
            Method::GET,
            format!("/api/v1/tickets/{problem}"),
            None,
            [200, 200, 200, 404, 404, 401],
        ),
        (
            Method::GET,
            format!("/api/v1/tickets/{problem}/problem"),
            None,
            [200, 200, 200, 403, 403, 401],
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{problem}/problem/actions"),
            Some(json!({"action": "note", "body": "n"})),
            [200, 200, 200, 403, 403, 401],
        ),
        (
            Method::GET,
            format!("/api/v1/tickets/{change}"),
            None,
            [200, 200, 200, 200, 404, 401],
        ),
        (
            Method::GET,
            format!("/api/v1/tickets/{change}/change"),
            None,
            [200, 200, 200, 200, 404, 401],
        ),
        (
            Method::POST,
            format!("/api/v1/tickets/{change}/change/actions"),
            Some(json!({"action": "note", "body": "n"})),
            [200, 200, 200, 403, 403, 401],
        ),
    ];
    for (method, path, body, expected) in typed_rows {
        for (i, who) in ALL.into_iter().enumerate() {
            let a = t
                .call(method.clone(), &path, token(&t, who).as_deref(), body.clone())
                .await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as {who:?}: {}", a.text);
            if a.status.as_u16() >= 400 {
                assert_eq!(a.content_type, "application/problem+json", "{method} {path} as {who:?}");
            }
            if matches!(who, Who::OtherCustomer | Who::Nobody)
                || (path.contains(&problem) && matches!(who, Who::OwnCustomer))
            {
                assert!(
                    !a.text.contains("secret-acme"),
                    "{method} {path} as {who:?} leaks: {}",
                    a.text
                );
            }
        }
    }

    // A request's endpoints on an incident: a conflict, to those who may see it.
    let incident = t.raise(&t.carol, "secret-acme-incident", 3).await;
    for (i, who) in ALL.into_iter().enumerate() {
        let a = t
            .call(
                Method::GET,
                &format!("/api/v1/tickets/{incident}/request"),
                token(&t, who).as_deref(),
                None,
            )
            .await;
        assert_eq!(
            a.status.as_u16(),
            [409, 409, 409, 409, 404, 401][i],
            "{who:?}: {}",
            a.text
        );
    }

    // Collections.
    let org = |slug: &str| json!({"slug": slug, "name": "New Co", "tier": "bronze", "region": "northern-ireland"});
    let user = |email: &str| json!({"email": email, "role": "agent"});
    let queue = |slug: &str| json!({"slug": slug, "name": "Q"});
    for (i, who) in ALL.into_iter().enumerate() {
        let tok = token(&t, who);
        let tok = tok.as_deref();
        let cases: Vec<(Method, String, Option<Value>, [u16; 6])> = vec![
            (
                Method::GET,
                "/api/v1/tickets".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            // Search: the acme tickets above hold "secret" in their
            // subjects; another customer finds none and learns nothing.
            (
                Method::GET,
                "/api/v1/search?q=secret".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                "/api/v1/search?q=acme%20secret*".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::POST,
                "/api/v1/tickets/bulk".into(),
                Some(json!({"tickets": ["SD-000001"], "severity": 2})),
                [200, 200, 200, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/macros".into(),
                None,
                [200, 200, 200, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/macros".into(),
                Some(json!({"name": format!("macro {i}"), "body": "Hello {{requester.email}}", "personal": true})),
                [201, 201, 201, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/views".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::POST,
                "/api/v1/views".into(),
                Some(json!({"name": format!("view {i}"), "query": "secret"})),
                [201, 201, 201, 201, 201, 401],
            ),
            (
                Method::POST,
                "/api/v1/views".into(),
                Some(json!({"name": format!("shared {i}"), "query": "secret", "queue": "platform"})),
                [201, 201, 201, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/search?q=secret%20assignee:me".into(),
                None,
                [200, 200, 200, 400, 400, 401],
            ),
            (
                Method::GET,
                "/api/v1/organisations".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            // Allow-lists: managers read, admins set (empty: unchanged access).
            (
                Method::GET,
                "/api/v1/organisations/acme/networks".into(),
                None,
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::PUT,
                "/api/v1/organisations/acme/networks".into(),
                Some(json!({"networks": []})),
                [200, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/staff-networks".into(),
                None,
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::PUT,
                "/api/v1/staff-networks".into(),
                Some(json!({"networks": []})),
                [200, 403, 403, 403, 403, 401],
            ),
            // Webhook subscriptions: admins only (they send the desk's events out).
            (
                Method::GET,
                "/api/v1/webhooks".into(),
                None,
                [200, 403, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/webhooks".into(),
                Some(json!({"name": "Chat", "url": "https://hooks.example.com/x", "events": ["ticket.breached"]})),
                [201, 403, 403, 403, 403, 401],
            ),
            (
                Method::DELETE,
                "/api/v1/webhooks/999999".into(),
                None,
                [404, 403, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/webhooks/999999/enable".into(),
                Some(json!({})),
                [404, 403, 403, 403, 403, 401],
            ),
            // Disputes of a report: customers raise (a month still
            // provisional is refused as such), managers decide; agents have
            // no part, and nobody reads another organisation's.
            (
                Method::GET,
                "/api/v1/disputes".into(),
                None,
                [200, 200, 403, 200, 200, 401],
            ),
            (
                Method::POST,
                "/api/v1/disputes".into(),
                Some(
                    json!({"month": "2099-01", "subject": {"kind": "credit_line", "description": "x"}, "reason": "r"}),
                ),
                [403, 403, 403, 409, 409, 401],
            ),
            (
                Method::GET,
                "/api/v1/disputes/999999".into(),
                None,
                [404, 404, 403, 404, 404, 401],
            ),
            (
                Method::POST,
                "/api/v1/disputes/999999/decision".into(),
                Some(json!({"outcome": "reject", "reply": "no"})),
                [404, 404, 403, 403, 403, 401],
            ),
            // Problems, known errors, changes, the CAB and its calendar.
            (
                Method::GET,
                "/api/v1/known-errors".into(),
                None,
                [200, 200, 200, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/problems".into(),
                Some(json!({"subject": "p", "description": "d", "organisation": "acme"})),
                [201, 201, 201, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/changes".into(),
                Some(json!({"subject": "c", "description": "d", "kind": "standard", "organisation": "acme"})),
                [201, 201, 201, 403, 403, 401],
            ),
            (Method::GET, "/api/v1/cab".into(), None, [200, 200, 200, 403, 403, 401]),
            (
                Method::GET,
                "/api/v1/changes/calendar".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                "/api/v1/changes/calendar.ics".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::POST,
                "/api/v1/change-freezes".into(),
                Some(
                    json!({"name": format!("freeze {i}"), "start": "2027-12-20T00:00:00Z", "end": "2028-01-02T00:00:00Z"}),
                ),
                [201, 201, 403, 403, 403, 401],
            ),
            // The catalogue: anyone signed in reads it; a customer requests
            // for themselves, staff name the organisation and requester.
            (
                Method::GET,
                "/api/v1/catalogue".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                "/api/v1/catalogue/firewall-rule".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::POST,
                "/api/v1/requests".into(),
                Some(
                    json!({"item": "firewall-rule", "answers": {"action": "open", "source": "10.0.0.0/8", "destination": "10.1.1.1:443"}}),
                ),
                [422, 422, 422, 201, 201, 401],
            ),
            (
                Method::POST,
                "/api/v1/requests".into(),
                Some(
                    json!({"item": "firewall-rule", "organisation": "acme", "requester": "carol@acme.example",
                            "answers": {"action": "open", "source": "10.0.0.0/8", "destination": "10.1.1.1:443"}}),
                ),
                [201, 201, 201, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/organisations".into(),
                Some(org(&format!("new-{i}"))),
                [201, 403, 403, 403, 403, 401],
            ),
            // Unchanged (acme may declare already): the cell is the permission.
            (
                Method::PATCH,
                "/api/v1/organisations/acme".into(),
                Some(json!({"may_declare_severity": true})),
                [200, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/users".into(),
                None,
                [200, 200, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/users".into(),
                Some(user(&format!("new{i}@desk.example"))),
                [201, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/queues".into(),
                None,
                [200, 200, 200, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/queues".into(),
                Some(queue(&format!("q-{i}"))),
                [201, 403, 403, 403, 403, 401],
            ),
            (
                Method::POST,
                "/api/v1/tokens".into(),
                Some(json!({"user": "bob@desk.example", "name": "x"})),
                [201, 403, 403, 403, 403, 401],
            ),
            // Services and the status page (public unless a desk says not).
            (
                Method::POST,
                "/api/v1/services".into(),
                Some(json!({"slug": format!("svc-{i}"), "name": format!("Service {i}")})),
                [201, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/services".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                "/api/v1/services/svc-0/organisations".into(),
                None,
                [200, 200, 200, 404, 404, 401],
            ),
            (
                Method::GET,
                "/api/v1/organisations/acme/services".into(),
                None,
                [200, 200, 200, 200, 404, 401],
            ),
            (
                Method::PUT,
                "/api/v1/organisations/acme/services".into(),
                Some(json!({"services": ["svc-0"]})),
                [200, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/status".into(),
                None,
                [200, 200, 200, 200, 200, 200],
            ),
            (
                Method::GET,
                "/api/v1/status/history".into(),
                None,
                [200, 200, 200, 200, 200, 200],
            ),
            (
                Method::GET,
                "/api/v2/summary.json".into(),
                None,
                [200, 200, 200, 200, 200, 200],
            ),
            (
                Method::GET,
                "/api/v2/incidents.json".into(),
                None,
                [200, 200, 200, 200, 200, 200],
            ),
            // Outages: recorded by managers and admins, read by staff and by
            // the customers they concern.
            (
                Method::POST,
                "/api/v1/outages".into(),
                Some(json!({"kind": "platform_issue", "start": "2026-10-01T09:00:00Z",
                    "end": "2026-10-01T10:00:00Z", "organisations": ["acme"], "description": "acme's own"})),
                [201, 201, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/outages".into(),
                None,
                [200, 200, 200, 200, 200, 401],
            ),
            (
                Method::GET,
                "/api/v1/outages/1".into(),
                None,
                [200, 200, 200, 200, 404, 401],
            ),
            // Outage 1 is not a draft: staff are told so; customers that
            // there is nothing there.
            (
                Method::POST,
                "/api/v1/outages/1/confirm".into(),
                Some(json!({})),
                [409, 409, 409, 404, 404, 401],
            ),
            // The alert webhook takes a token of scope alerts only.
            (
                Method::POST,
                "/api/v1/alerts/alertmanager".into(),
                Some(json!({"version": "4", "status": "firing", "alerts": []})),
                [403, 403, 403, 403, 403, 401],
            ),
            (
                Method::GET,
                "/api/v1/outages/1/tickets".into(),
                None,
                [200, 200, 200, 404, 404, 401],
            ),
            (
                Method::POST,
                "/api/v1/outages/1/tickets/resolve".into(),
                Some(json!({"note": "Fixed."})),
                [200, 200, 200, 404, 404, 401],
            ),
            (
                Method::POST,
                "/api/v1/outages/1/updates".into(),
                Some(json!({"body": "Still looking."})),
                [201, 201, 201, 404, 404, 401],
            ),
        ];
        for (method, path, body, expected) in cases {
            let a = t.call(method.clone(), &path, tok, body).await;
            assert_eq!(a.status.as_u16(), expected[i], "{method} {path} as {who:?}: {}", a.text);
            if matches!(who, Who::OtherCustomer) && a.status.is_success() {
                assert!(
                    !a.text.contains("acme"),
                    "{method} {path} as {who:?} leaks acme: {}",
                    a.text
                );
            }
        }
    }
    // The other customer's list shows their own tickets only.
    t.raise(&t.gina, "globex's own", 3).await;
    let a = t.get("/api/v1/tickets", &t.gina).await;
    let items = a.json["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "this ticket and the firewall rule she requested above");
    assert!(items.iter().all(|i| i["organisation"] == "globex"));
    // Every change was audited with its actor.
    let app = t.app.clone();
    let audited = tokio::task::spawn_blocking(move || {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        let mut c = app.conn().unwrap();
        audit_log::table
            .filter(audit_log::action.eq("ticket.change"))
            .select(audit_log::actor)
            .load::<String>(&mut c)
            .unwrap()
    })
    .await
    .unwrap();
    assert!(audited.contains(&"alice@desk.example".to_string()) && audited.contains(&"carol@acme.example".to_string()));
}

/// SCIM (`/scim/v2`) answers only a token of scope `scim` or `scim:<slug>`:
/// every role's ordinary token is refused (403), no token is 401, each in
/// SCIM's own error document (`application/scim+json`, RFC 7644 §3.12).
async fn scim_answers_scim_tokens_only(db: Db) {
    let t = spawn_app(db).await;
    let paths = [
        (Method::GET, "/scim/v2/Users"),
        (Method::POST, "/scim/v2/Users"),
        (Method::GET, "/scim/v2/Groups"),
        (Method::GET, "/scim/v2/Users/nobody"),
        (Method::PATCH, "/scim/v2/Users/nobody"),
        (Method::DELETE, "/scim/v2/Groups/nobody"),
        (Method::GET, "/scim/v2/ServiceProviderConfig"),
        (Method::GET, "/scim/v2/Schemas"),
    ];
    for (method, path) in paths {
        for who in ALL {
            let mut req = t.client.request(method.clone(), format!("{}{path}", t.address));
            if let Some(tok) = token(&t, who) {
                req = req.bearer_auth(tok);
            }
            if matches!(method, Method::POST | Method::PATCH) {
                req = req
                    .header("content-type", "application/scim+json")
                    .body(r#"{"userName": "x@desk.example"}"#);
            }
            let r = req.send().await.unwrap();
            let expected = if matches!(who, Who::Nobody) { 401 } else { 403 };
            assert_eq!(r.status().as_u16(), expected, "{method} {path} as {who:?}");
            let ctype = r.headers()["content-type"].to_str().unwrap().to_string();
            assert_eq!(ctype, "application/scim+json", "{method} {path} as {who:?}");
            let text = r.text().await.unwrap();
            assert!(text.contains("urn:ietf:params:scim:api:messages:2.0:Error"), "{text}");
            assert!(!text.contains("acme"), "{method} {path} as {who:?} leaks: {text}");
        }
    }
}
