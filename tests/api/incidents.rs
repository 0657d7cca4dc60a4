//! Major incidents: tickets of two organisations linked to one outage; a
//! public update becomes a public reply on each (and a mail to each
//! requester), each customer seeing their own ticket and the outage's public
//! words only; one note resolves the ones still linked; no clock moves.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};
use crate::services::{define, subscribe};

crate::both_backends!(linked_tickets_hear_the_outage_and_are_resolved_together_each_customer_seeing_their_own);

async fn linked_tickets_hear_the_outage_and_are_resolved_together_each_customer_seeing_their_own(db: Db) {
    let t = spawn_app(db).await;
    define(&t, "objstore-lon2", "Object storage – LON2", "Storage").await;
    assert_eq!(subscribe(&t, "acme", &["objstore-lon2"]).await.status.as_u16(), 200);
    let a = t.raise(&t.carol, "Uploads to our bucket fail", 2).await;
    let b = t.raise(&t.gina, "Globex backups failing", 2).await;
    let c = t.raise(&t.carol, "Unrelated: a password reset", 4).await;
    let o = t
        .post(
            "/api/v1/outages",
            &t.manager,
            json!({"kind": "platform_issue", "start": sladesk::app::now() - chrono::Duration::minutes(30),
                "services": [{"service": "objstore-lon2"}], "description": "Quorum lost on three nodes (staff)"}),
        )
        .await;
    let id = o.json["id"].as_i64().unwrap();
    let tickets = format!("/api/v1/outages/{id}/tickets");
    let sla = |r: &str| {
        let p = format!("/api/v1/tickets/{r}/sla");
        let t = &t;
        // What linking could move: the clocks' states, targets and due
        // instants. Elapsed and remaining count on with the wall clock,
        // and a second can tick over between two reads.
        async move {
            let mut v = t.get(&p, &t.agent).await.json;
            v.as_object_mut().unwrap().remove("computed_at");
            for clock in ["response", "resolve"] {
                let c = v[clock].as_object_mut().unwrap();
                c.remove("elapsed_seconds");
                c.remove("remaining_seconds");
            }
            v
        }
    };
    let before = (sla(&a).await, sla(&b).await);

    // Who may link and read the links: staff; customers are told there is
    // nothing there; nobody, 401.
    let link = json!({"tickets": [a.clone(), b.clone()]});
    for (who, expected) in [(&t.carol, 404), (&t.gina, 404)] {
        assert_eq!(t.post(&tickets, who, link.clone()).await.status.as_u16(), expected);
        assert_eq!(t.get(&tickets, who).await.status.as_u16(), expected);
    }
    assert_eq!(t.call(Method::GET, &tickets, None, None).await.status.as_u16(), 401);
    let bad = t.post(&tickets, &t.agent, json!({"tickets": ["SD-999999"]})).await;
    assert_eq!(bad.status.as_u16(), 422, "{}", bad.text);
    assert!(bad.text.contains("tickets"));
    let linked = t.post(&tickets, &t.agent, link.clone()).await;
    assert_eq!(linked.status.as_u16(), 200, "{}", linked.text);
    assert_eq!(linked.json.as_array().unwrap().len(), 2);
    // Twice is no change.
    let again = t.post(&tickets, &t.manager, link).await;
    assert_eq!(again.json.as_array().unwrap().len(), 2);
    for who in [&t.admin, &t.manager, &t.agent] {
        let l = t.get(&tickets, who).await;
        assert_eq!(l.status.as_u16(), 200);
        let orgs: Vec<&str> = l
            .json
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["organisation"].as_str().unwrap())
            .collect();
        assert_eq!(orgs, ["acme", "globex"]);
    }
    // Linking moves no clock.
    assert_eq!((sla(&a).await, sla(&b).await), before);

    // A public update: a public reply on each linked ticket, mailed.
    let u = t
        .post(
            &format!("/api/v1/outages/{id}/updates"),
            &t.agent,
            json!({"status": "identified", "body": "A storage node failed; we are replacing it."}),
        )
        .await;
    assert_eq!(u.status.as_u16(), 201, "{}", u.text);
    for (who, mine, theirs) in [(&t.carol, &a, &b), (&t.gina, &b, &a)] {
        let events = t.get(&format!("/api/v1/tickets/{mine}/events"), who).await;
        assert!(
            events.text.contains("A storage node failed; we are replacing it."),
            "{}",
            events.text
        );
        assert!(!events.text.contains(theirs.as_str()), "never the other's ticket");
        assert!(!events.text.contains("Quorum"), "never the staff's words");
        let other = if mine == &a { "globex" } else { "acme" };
        assert!(!events.text.contains(other), "never the other's name: {}", events.text);
        assert_eq!(
            t.get(&format!("/api/v1/tickets/{theirs}"), who).await.status.as_u16(),
            404
        );
        // The outage itself: its public words, no other organisation.
        let seen = t.get(&format!("/api/v1/outages/{id}"), who).await;
        assert!(
            !seen.text.contains(other) && !seen.text.contains("Quorum"),
            "{}",
            seen.text
        );
    }
    let c_events = t.get(&format!("/api/v1/tickets/{c}/events"), &t.carol).await;
    assert!(
        !c_events.text.contains("storage node"),
        "an unlinked ticket hears nothing"
    );
    let mailed: Vec<String> = {
        use diesel::prelude::*;
        use sladesk::store::schema::outbox;
        outbox::table
            .filter(outbox::kind.eq("agent_reply"))
            .select(outbox::to_address)
            .load(&mut t.app.conn().unwrap())
            .unwrap()
    };
    assert!(mailed.contains(&"carol@acme.example".to_string()), "{mailed:?}");
    assert!(mailed.contains(&"gina@globex.example".to_string()), "{mailed:?}");

    // Unlinked first, Globex's ticket is left alone by the resolution.
    let un = t
        .call(Method::DELETE, &format!("{tickets}/{b}"), Some(&t.agent), None)
        .await;
    assert_eq!(un.status.as_u16(), 204, "{}", un.text);
    assert_eq!(
        t.call(Method::DELETE, &format!("{tickets}/{b}"), Some(&t.agent), None)
            .await
            .status
            .as_u16(),
        404
    );
    assert_eq!(
        t.post(&format!("{tickets}/resolve"), &t.carol, json!({"note": "x"}))
            .await
            .status
            .as_u16(),
        404
    );
    let r = t
        .post(
            &format!("{tickets}/resolve"),
            &t.agent,
            json!({"note": "The storage cluster is healthy again; uploads work."}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    assert_eq!(r.json["resolved"], 1);
    assert_eq!(
        t.get(&format!("/api/v1/tickets/{a}"), &t.carol).await.json["status"],
        "resolved"
    );
    assert_ne!(
        t.get(&format!("/api/v1/tickets/{b}"), &t.gina).await.json["status"],
        "resolved"
    );
    // The month's report lists the outage with its linked tickets and their
    // breaches: each organisation's its own, the desk's all of them.
    // (A report counts events before its instant, in whole seconds.)
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let month = sladesk::domain::availability::Month::containing(sladesk::app::now()).to_string();
    let acme = t
        .get(&format!("/api/v1/reports/monthly?org=acme&month={month}"), &t.carol)
        .await;
    assert_eq!(acme.status.as_u16(), 200, "{}", acme.text);
    assert_eq!(acme.json["major_incidents"][0]["outage"], id, "{}", acme.text);
    let refs: Vec<&str> = acme.json["major_incidents"][0]["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["reference"].as_str().unwrap())
        .collect();
    assert_eq!(refs, [a.as_str()]);
    assert!(acme.json["major_incidents"][0]["tickets"][0]["resolve_breached_at"].is_null());
    let globex = t
        .get(&format!("/api/v1/reports/monthly?org=globex&month={month}"), &t.gina)
        .await;
    assert!(
        globex.json.get("major_incidents").is_none(),
        "unlinked: {}",
        globex.text
    );
    let html = t
        .get(
            &format!("/api/v1/reports/monthly?org=acme&month={month}&format=html"),
            &t.manager,
        )
        .await;
    assert!(
        html.text.contains("Major incidents") && html.text.contains(a.as_str()),
        "{}",
        html.text
    );
    // Every change audited.
    let actions: Vec<String> = {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.like("outage.%"))
            .select(audit_log::action)
            .load(&mut t.app.conn().unwrap())
            .unwrap()
    };
    for action in [
        "outage.link",
        "outage.unlink",
        "outage.resolve_linked",
        "outage.post_update",
    ] {
        assert!(actions.iter().any(|a| a == action), "{action}: {actions:?}");
    }
}
