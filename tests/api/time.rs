//! Time spent over HTTP: booked with a reply or note or on its own,
//! corrected by its author or a manager (audited), never a customer's to
//! read or write, and totalled per ticket and organisation in the monthly
//! report, its CSV and HTML.

use reqwest::Method;
use serde_json::json;

use crate::helpers::{Db, spawn_app};

crate::both_backends!(time_is_booked_corrected_and_reported);

async fn time_is_booked_corrected_and_reported(db: Db) {
    let t = spawn_app(db).await;
    let a = t.raise(&t.carol, "Acme's VPN", 3).await;
    let g = t.raise(&t.gina, "Globex's DNS", 3).await;
    // With a reply and a note, in their transaction; and on its own.
    let r = t
        .post(
            &format!("/api/v1/tickets/{a}/replies"),
            &t.agent,
            json!({"body": "Reset the tunnel.", "time_spent": "30m"}),
        )
        .await;
    assert_eq!(r.status.as_u16(), 200, "{}", r.text);
    let n = t
        .post(
            &format!("/api/v1/tickets/{a}/notes"),
            &t.agent2,
            json!({"body": "Checked the logs.", "time_spent": "1h"}),
        )
        .await;
    assert_eq!(n.status.as_u16(), 200, "{}", n.text);
    let own = t
        .post(
            &format!("/api/v1/tickets/{a}/time"),
            &t.agent,
            json!({"spent": "45", "note": "Call with Carol"}),
        )
        .await;
    assert_eq!(own.status.as_u16(), 201, "{}", own.text);
    let own_id = own.json["id"].as_i64().unwrap();
    t.post(&format!("/api/v1/tickets/{g}/time"), &t.agent, json!({"spent": "2h"}))
        .await;
    let time = t.get(&format!("/api/v1/tickets/{a}/time"), &t.agent).await;
    assert_eq!(time.status.as_u16(), 200, "{}", time.text);
    assert_eq!(time.json["total_minutes"], 135);
    let seqs: Vec<Option<i64>> = time.json["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event_seq"].as_i64())
        .collect();
    assert!(
        seqs[0].is_some() && seqs[1].is_some() && seqs[2].is_none(),
        "{}",
        time.text
    );

    // Customers neither read nor book it; another's ticket is not there.
    t.get(&format!("/api/v1/tickets/{a}/time"), &t.carol).await.problem(403);
    t.get(&format!("/api/v1/tickets/{a}/time"), &t.gina).await.problem(404);
    let sneaky = t
        .post(
            &format!("/api/v1/tickets/{a}/replies"),
            &t.carol,
            json!({"body": "Thanks", "time_spent": "10m"}),
        )
        .await;
    sneaky.problem(403);
    let events = t.get(&format!("/api/v1/tickets/{a}/events"), &t.agent).await;
    assert!(!events.text.contains("\"Thanks\""), "refused whole: {}", events.text);
    t.call(
        Method::PATCH,
        &format!("/api/v1/time/{own_id}"),
        Some(&t.carol),
        Some(json!({"spent": "1m"})),
    )
    .await
    .problem(404);
    // What cannot be booked.
    for (body, field) in [
        (json!({"spent": "25h"}), "spent"),
        (json!({"spent": "0"}), "spent"),
        (json!({"spent": "1bd"}), "spent"),
        (json!({"spent": "10m", "spent_on": "2999-01-01"}), "spent_on"),
    ] {
        let e = t
            .post(&format!("/api/v1/tickets/{a}/time"), &t.agent, body.clone())
            .await;
        assert!(e.problem(422).starts_with(field), "{body}: {}", e.text);
    }
    let bad = t
        .post(
            &format!("/api/v1/tickets/{a}/replies"),
            &t.agent,
            json!({"body": "x", "time_spent": "lots"}),
        )
        .await;
    assert!(bad.problem(422).starts_with("time_spent"), "{}", bad.text);

    // Corrections: the author or a manager; audited with the values before.
    let path = format!("/api/v1/time/{own_id}");
    t.call(Method::PATCH, &path, Some(&t.agent2), Some(json!({"spent": "1h"})))
        .await
        .problem(403);
    let fixed = t
        .call(Method::PATCH, &path, Some(&t.manager), Some(json!({"spent": "1h"})))
        .await;
    assert_eq!(fixed.status.as_u16(), 200, "{}", fixed.text);
    assert_eq!(fixed.json["minutes"], 60);
    assert_eq!(fixed.json["note"], "Call with Carol", "kept when not given");
    let gone = t.call(Method::DELETE, &path, Some(&t.agent), None).await;
    assert_eq!(gone.status.as_u16(), 204);
    assert_eq!(
        t.get(&format!("/api/v1/tickets/{a}/time"), &t.agent).await.json["total_minutes"],
        90
    );
    let audit: Vec<(String, Option<String>)> = {
        use diesel::prelude::*;
        use sladesk::store::schema::audit_log;
        audit_log::table
            .filter(audit_log::action.like("time.%"))
            .order(audit_log::id.asc())
            .select((audit_log::action, audit_log::detail))
            .load(&mut t.app.conn().unwrap())
            .unwrap()
    };
    let actions: Vec<&str> = audit.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["time.log", "time.log", "time.edit", "time.delete"]);
    assert!(audit[2].1.as_deref().unwrap().contains("45 min") && audit[2].1.as_deref().unwrap().contains("60 min"));

    // The month's reports: per ticket for Acme, per organisation for the desk.
    let month = sladesk::domain::availability::Month::containing(sladesk::app::now()).to_string();
    let acme = t
        .get(&format!("/api/v1/reports/monthly?org=acme&month={month}"), &t.carol)
        .await;
    assert_eq!(acme.json["time_spent"]["total_minutes"], 90, "{}", acme.text);
    assert_eq!(acme.json["time_spent"]["tickets"][0]["reference"], a.as_str());
    assert!(!acme.text.contains(&g), "never Globex's ticket");
    let desk = t
        .get(&format!("/api/v1/reports/monthly?month={month}"), &t.manager)
        .await;
    let orgs = &desk.json["time_spent"]["organisations"];
    assert_eq!(orgs[0]["organisation"], "acme");
    assert_eq!(orgs[0]["minutes"], 90);
    assert_eq!(orgs[1]["organisation"], "globex");
    assert_eq!(orgs[1]["minutes"], 120);
    let csv = t
        .get(
            &format!("/api/v1/reports/monthly?org=acme&month={month}&format=csv"),
            &t.manager,
        )
        .await;
    assert!(csv.text.contains("time_spent,,total_minutes,90"), "{}", csv.text);
    assert!(csv.text.contains(&format!("time_spent,,{a},90")), "{}", csv.text);
    let html = t
        .get(
            &format!("/api/v1/reports/monthly?org=acme&month={month}&format=html"),
            &t.manager,
        )
        .await;
    assert!(
        html.text.contains("Time spent") && html.text.contains("1 h 30 min"),
        "{}",
        html.text
    );
}
