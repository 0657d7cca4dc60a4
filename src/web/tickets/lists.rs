//! A customer's tickets and the agents' queue: filtered, sorted by any
//! column a desk sorts by, and paged with a total and a way back.

use super::*;
use crate::app::tickets::TicketCount;

/// Rows on one page of a list.
const PER_PAGE: i64 = 50;

/// A list's page number from the query: 1 unless a sane one is given, and
/// never past the deepest offset the listing allows.
fn page_number(p: Option<&str>) -> i64 {
    let max = crate::app::tickets::MAX_OFFSET / PER_PAGE + 1;
    p.and_then(|p| p.parse::<i64>().ok()).unwrap_or(1).clamp(1, max)
}

/// The pager under a list: where this page sits among all of them, and
/// links to the first, previous and next pages (kept with every filter).
fn pager(base: &str, params: &[(&str, String)], page: i64, shown: usize, more: bool, count: TicketCount) -> Value {
    let link = |n: i64| {
        let page = n.to_string();
        let extra: &[(&str, &str)] = if n > 1 { &[("page", &page)] } else { &[] };
        href(base, params, extra)
    };
    let pages = ((count.total + PER_PAGE - 1) / PER_PAGE).max(1);
    let first = (page - 1) * PER_PAGE + 1;
    let total = if count.more {
        format!("more than {}", group(count.total))
    } else {
        group(count.total)
    };
    let noun = if count.total == 1 && !count.more {
        "ticket"
    } else {
        "tickets"
    };
    let text = if shown == 0 {
        format!("No tickets on page {page}; {total} {noun} in all")
    } else {
        format!(
            "{}–{} of {total} {noun} · page {page} of {}{}",
            group(first),
            group(first + shown as i64 - 1),
            group(pages),
            if count.more { "+" } else { "" }
        )
    };
    json!({
        "text": text,
        "total": count.total,
        "first": (page > 1).then(|| link(1)),
        "previous": (page > 1).then(|| link(page - 1)),
        "next": more.then(|| link(page + 1)),
    })
}

/// 1234567 → "1,234,567" (counts are never negative).
fn group(n: i64) -> String {
    crate::domain::money::thousands(n.max(0) as u64)
}

#[derive(Deserialize, Default)]
pub(super) struct ListQuery {
    status: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

/// A customer's tickets: their organisation's, newest first unless they
/// sort otherwise. Staff are sent to the queue.
pub(super) async fn list(v: Viewer, app: State, q: web::Query<ListQuery>) -> Result<HttpResponse, WebError> {
    if v.session.principal.role.is_staff() {
        return Ok(redirect("/queue"));
    }
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let q = q.into_inner();
    let status = some(&q.status);
    // A customer may sort by what they see: when raised, and severity.
    let sort = match q.sort.as_deref() {
        Some("oldest") => "oldest",
        Some("severity") => "severity",
        _ => "newest",
    };
    let page_no = page_number(q.page.as_deref());
    let filter = TicketFilter {
        status: status.clone(),
        sort: Some(api_sort(sort).into()),
        offset: Some((page_no - 1) * PER_PAGE),
        limit: Some(PER_PAGE),
        ..Default::default()
    };
    let (rows, more, count) = run(move || {
        let now = crate::app::now();
        let page = app.list_tickets(&who, &filter, now)?;
        let count = app.count_tickets(&who, &filter, now)?;
        Ok((with_countdowns(&app, &who, &page.items, tz)?, page.more, count))
    })
    .await?;
    let mut params = Vec::new();
    if let Some(s) = &status {
        params.push(("status", s.clone()));
    }
    let headers = sort_headers(
        "/tickets",
        &params,
        sort,
        &[("ticket", "newest", "oldest"), ("severity", "severity", "")],
    );
    if sort != "newest" {
        params.push(("sort", sort.to_string()));
    }
    let pager = pager("/tickets", &params, page_no, rows.len(), more, count);
    page(
        Some(&v.session),
        "Your tickets",
        "tickets",
        json!({
            "tickets": rows,
            "pager": pager,
            "sort": headers,
            "sorts": sort_options(sort, &[("newest", "newest first"), ("oldest", "oldest first"), ("severity", "severity 1 first")]),
            "statuses": status_options(status.as_deref(), true),
            "status": status,
        }),
    )
}

/// The page's names for the orders a list can be read in, as the API knows them.
fn api_sort(sort: &str) -> &'static str {
    match sort {
        "newest" => "created",
        "oldest" => "created_asc",
        "severity" => "severity",
        "updated" => "updated",
        _ => "next_check_at",
    }
}

/// Column headers that sort: for each, the link that sorts by it (or
/// reverses it, when it is the order already) and its `aria-sort`.
/// `columns`: (column, its order, its reverse order or "").
fn sort_headers(base: &str, params: &[(&str, String)], current: &str, columns: &[(&str, &str, &str)]) -> Value {
    // Which way an order runs, for `aria-sort`.
    let direction = |order: &str| match order {
        "newest" | "updated" => "descending",
        _ => "ascending",
    };
    let mut out = serde_json::Map::new();
    for (column, order, reverse) in columns {
        let active = current == *order || (!reverse.is_empty() && current == *reverse);
        // A click on the order in force reverses it, where it has a reverse.
        let next = if current == *order && !reverse.is_empty() {
            *reverse
        } else {
            *order
        };
        let aria = if active { direction(current) } else { "none" };
        out.insert(
            column.to_string(),
            json!({"href": href(base, params, &[("sort", next)]), "aria": aria, "active": active}),
        );
    }
    Value::Object(out)
}

/// A list's link: its path with the filters in force and `extra`.
fn href(base: &str, params: &[(&str, String)], extra: &[(&str, &str)]) -> String {
    let mut u = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in params {
        u.append_pair(k, v);
    }
    for (k, v) in extra {
        u.append_pair(k, v);
    }
    let q = u.finish();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

/// The same orders as a menu, for narrow screens where the headers are not shown.
fn sort_options(current: &str, options: &[(&str, &str)]) -> Vec<Value> {
    options
        .iter()
        .map(|(value, label)| json!({"value": value, "label": label, "selected": *value == current}))
        .collect()
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
    organisation: Option<String>,
    sort: Option<String>,
    page: Option<String>,
}

pub(super) fn some(s: &Option<String>) -> Option<String> {
    s.clone().filter(|s| !s.is_empty())
}

/// The agent workspace: open work, most urgent first (the order the API
/// gives) unless sorted by another column, with every filter an agent
/// needs and a pager that says how much there is.
pub(super) async fn queue(v: Viewer, app: State, q: web::Query<QueueQuery>) -> Result<HttpResponse, WebError> {
    if !v.session.principal.role.is_staff() {
        return Ok(redirect("/tickets"));
    }
    let q = q.into_inner();
    let status = some(&q.status).or(Some("active".into())).filter(|s| s != "any");
    let sort = q
        .sort
        .as_deref()
        .filter(|s| matches!(*s, "newest" | "oldest" | "severity" | "updated"))
        .unwrap_or("urgency");
    let page_no = page_number(q.page.as_deref());
    let filter = TicketFilter {
        status: status.clone(),
        severity: some(&q.severity).and_then(|s| s.parse().ok()),
        queue: some(&q.queue),
        tier: some(&q.tier),
        assignee: some(&q.assignee),
        at_risk: q.at_risk.as_deref().map(|_| true),
        breached: q.breached.as_deref().map(|_| true),
        organisation: some(&q.organisation),
        sort: Some(api_sort(sort).into()),
        offset: Some((page_no - 1) * PER_PAGE),
        limit: Some(PER_PAGE),
        ..Default::default()
    };
    let outage_app = app.get_ref().clone();
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (rows, more, count, queues, tiers, views) = run(move || {
        let now = crate::app::now();
        let page = app.list_tickets(&who, &filter, now)?;
        let count = app.count_tickets(&who, &filter, now)?;
        let rows = with_countdowns(&app, &who, &page.items, tz)?;
        let queues = app.list_queues(&who)?;
        let tiers: Vec<String> = app.policies.names().into_iter().map(str::to_string).collect();
        let views = app.list_views(&who, now)?;
        Ok((rows, page.more, count, queues, tiers, views))
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
    let mut params = Vec::new();
    for (k, v) in [
        ("queue", &q.queue),
        ("severity", &q.severity),
        ("tier", &q.tier),
        ("status", &q.status),
        ("assignee", &q.assignee),
        ("at_risk", &q.at_risk),
        ("breached", &q.breached),
        ("organisation", &q.organisation),
    ] {
        if let Some(v) = some(v) {
            params.push((k, v));
        }
    }
    let headers = sort_headers(
        "/queue",
        &params,
        sort,
        &[
            ("ticket", "newest", "oldest"),
            ("severity", "severity", ""),
            ("status", "updated", ""),
            ("due", "urgency", ""),
        ],
    );
    if sort != "urgency" {
        params.push(("sort", sort.to_string()));
    }
    let pager = pager("/queue", &params, page_no, rows.len(), more, count);
    let sort_caption = match sort {
        "newest" => "newest first",
        "oldest" => "oldest first",
        "severity" => "by severity, then most urgent",
        "updated" => "latest activity first",
        _ => "most urgent first",
    };
    // Outages under way: the queue's ticked tickets may be linked to one.
    let a = outage_app;
    let who = v.who();
    let ongoing: Vec<Value> = run(move || a.ongoing_outages(&who, crate::app::now()))
        .await?
        .into_iter()
        .map(|(id, label)| json!({"id": id, "label": label}))
        .collect();
    page(
        Some(&v.session),
        "Queue",
        "queue",
        json!({
            "views": super::search::views_json(&views),
            "ongoing": ongoing,
            "tickets": rows,
            "pager": pager,
            "sort": headers,
            "sort_caption": sort_caption,
            "sorts": sort_options(
                sort,
                &[
                    ("urgency", "most urgent first"),
                    ("severity", "severity 1 first, then most urgent"),
                    ("updated", "latest activity first"),
                    ("newest", "newest first"),
                    ("oldest", "oldest first"),
                ],
            ),
            "queues": queue_opts,
            "tiers": tier_opts,
            "statuses": statuses,
            "severities": severity_options(some(&q.severity).and_then(|s| s.parse().ok())),
            "mine": sel(&q.assignee, "me"),
            "unassigned": sel(&q.assignee, "none"),
            "at_risk": q.at_risk.is_some(),
            "breached": q.breached.is_some(),
            "organisation": some(&q.organisation),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_read_with_thousands_and_pages() {
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(group(999), "999");
        let p = pager(
            "/queue",
            &[("status", "any".into())],
            2,
            50,
            true,
            TicketCount {
                total: 231,
                more: false,
            },
        );
        assert_eq!(p["text"], "51–100 of 231 tickets · page 2 of 5");
        assert_eq!(p["previous"], "/queue?status=any");
        assert_eq!(p["next"], "/queue?status=any&page=3");
        let capped = pager(
            "/queue",
            &[],
            1,
            50,
            true,
            TicketCount {
                total: 10_000,
                more: true,
            },
        );
        assert_eq!(capped["text"], "1–50 of more than 10,000 tickets · page 1 of 200+");
        assert_eq!(capped["first"], Value::Null);
        assert_eq!(page_number(Some("0")), 1);
        assert_eq!(page_number(Some("9999999")), 201);
    }
}
