//! A customer's tickets and the agents' queue, filtered and paged.

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    after: Option<String>,
}

/// A customer's tickets: their organisation's, newest first. Staff are sent to the queue.
pub(super) async fn list(v: Viewer, app: State, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    if v.session.principal.role.is_staff() {
        return Ok(redirect("/queue"));
    }
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let q = q.into_inner();
    let status = q.status.clone().filter(|s| !s.is_empty());
    let filter = TicketFilter {
        status: status.clone(),
        sort: Some("created".into()),
        after: q.after.clone(),
        limit: Some(50),
        ..Default::default()
    };
    let (rows, next) = run(move || {
        let page = app.list_tickets(&who, &filter, crate::app::now())?;
        Ok((with_countdowns(&app, &who, &page.items, tz)?, page.next))
    })
    .await?;
    let next = next.map(|n| {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        if let Some(s) = &status {
            u.append_pair("status", s);
        }
        u.append_pair("after", &n);
        format!("/tickets?{}", u.finish())
    });
    page(
        Some(&v.session),
        "Your tickets",
        "tickets",
        json!({
            "tickets": rows,
            "next": next,
            "statuses": status_options(status.as_deref(), true),
            "status": status,
        }),
    )
}

#[derive(Deserialize, Default)]
pub(super) struct QueueQuery {
    queue: Option<String>,
    severity: Option<String>,
    tier: Option<String>,
    status: Option<String>,
    assignee: Option<String>,
    at_risk: Option<String>,
    breached: Option<String>,
    after: Option<String>,
}

pub(super) fn some(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// The agent workspace: open work, most urgent first (the order the API
/// gives), with every filter an agent needs.
pub(super) async fn queue(v: Viewer, app: State, q: web::Query<QueueQuery>) -> Result<HttpResponse, WebError> {
    if !v.session.principal.role.is_staff() {
        return Ok(redirect("/tickets"));
    }
    let q = q.into_inner();
    let status = some(&q.status).or(Some("active".into())).filter(|s| s != "any");
    let filter = TicketFilter {
        status: status.clone(),
        severity: some(&q.severity).and_then(|s| s.parse().ok()),
        queue: some(&q.queue),
        tier: some(&q.tier),
        assignee: some(&q.assignee),
        at_risk: q.at_risk.as_deref().map(|_| true),
        breached: q.breached.as_deref().map(|_| true),
        after: some(&q.after),
        limit: Some(50),
        ..Default::default()
    };
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (rows, next, queues, tiers) = run(move || {
        let page = app.list_tickets(&who, &filter, crate::app::now())?;
        let rows = with_countdowns(&app, &who, &page.items, tz)?;
        let queues = app.list_queues(&who)?;
        let tiers: Vec<String> = app.policies.names().into_iter().map(str::to_string).collect();
        Ok((rows, page.next, queues, tiers))
    })
    .await?;
    let sel = |o: &Option<String>, v: &str| o.as_deref() == Some(v);
    let queue_opts: Vec<Value> = queues
        .iter()
        .map(|x| json!({"value": x.slug, "label": x.name, "selected": sel(&q.queue, &x.slug)}))
        .collect();
    let tier_opts: Vec<Value> = tiers
        .iter()
        .map(|t| json!({"value": t, "label": t, "selected": sel(&q.tier, t)}))
        .collect();
    let mut statuses = status_options(status.as_deref(), true);
    statuses.push(json!({"value": "any", "label": "any", "selected": q.status.as_deref() == Some("any")}));
    let next_link = next.map(|n| {
        let mut u = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("queue", &q.queue),
            ("severity", &q.severity),
            ("tier", &q.tier),
            ("status", &q.status),
            ("assignee", &q.assignee),
            ("at_risk", &q.at_risk),
            ("breached", &q.breached),
        ] {
            if let Some(v) = some(v) {
                u.append_pair(k, &v);
            }
        }
        u.append_pair("after", &n);
        format!("/queue?{}", u.finish())
    });
    page(
        Some(&v.session),
        "Queue",
        "queue",
        json!({
            "tickets": rows,
            "next": next_link,
            "queues": queue_opts,
            "tiers": tier_opts,
            "statuses": statuses,
            "severities": severity_options(some(&q.severity).and_then(|s| s.parse().ok())),
            "mine": sel(&q.assignee, "me"),
            "unassigned": sel(&q.assignee, "none"),
            "at_risk": q.at_risk.is_some(),
            "breached": q.breached.is_some(),
        }),
    )
}
