//! Monthly reports in the page, with their charts, and their downloads.

use super::*;

pub(super) fn outage_json(o: &crate::app::outages::OutageView, tz: chrono_tz::Tz) -> Value {
    json!({
        "id": o.id,
        "kind": o.kind.replace('_', " "),
        "start": when(o.start, tz),
        "end": when_opt(o.end, tz),
        "ongoing": o.ongoing,
        "notified": when_opt(o.notified_at, tz),
        "organisations": match &o.organisations {
            Affected::All(_) => "all".to_string(),
            Affected::Some(s) => s.join(", "),
        },
        "description": o.description,
        "draft": o.draft,
    })
}

#[derive(Deserialize)]
pub(super) struct ReportQuery {
    org: Option<String>,
    month: Option<String>,
    format: Option<String>,
    version: Option<i32>,
}

pub(super) fn parse_month(m: Option<&str>, now: DateTime<Utc>) -> Result<Month, WebError> {
    match m.filter(|m| !m.is_empty()) {
        Some(m) => m
            .parse::<Month>()
            .map_err(|e| WebError::from(crate::app::invalid("month", e.0))),
        None => Ok(Month::containing(now).previous()),
    }
}

/// A monthly report in the page: last month by default, the desk's or an
/// organisation's, with its charts; CSV to download beside it.
pub(super) async fn reports(v: Viewer, app: State, q: web::Query<ReportQuery>) -> Result<HttpResponse, WebError> {
    let now = crate::app::now();
    let month = parse_month(q.month.as_deref(), now)?;
    let org = q.org.clone().filter(|o| !o.is_empty());
    let app = app.get_ref().clone();
    let who = v.who();
    let customer = !who.role.is_staff();
    if who.role == crate::app::Role::Agent {
        require_manager(&v)?;
    }
    let o = org.clone();
    let version = q.version;
    let (report, standing, orgs) = run(move || {
        let orgs = app.list_organisations(&who)?;
        // A customer's report is their own organisation's, whatever the query says.
        let scope = if customer {
            orgs.first().map(|o| o.slug.clone())
        } else {
            o
        };
        let r = app.monthly_report(&who, scope.as_deref(), month, version, now)?;
        Ok((r.value()?, r.standing, orgs))
    })
    .await?;
    let html = render(&report, Format::Html).map_err(|e| WebError::from(AppError::internal(e)))?;
    let body = html
        .split_once("<body>")
        .and_then(|(_, b)| b.rsplit_once("</body>"))
        .map(|(b, _)| b.to_string())
        .unwrap_or_default();
    let months: Vec<Value> = (0..13)
        .scan(Month::containing(now), |m, _| {
            let this = *m;
            *m = m.previous();
            Some(this)
        })
        .map(|m| json!({"value": m.to_string(), "selected": m == month}))
        .collect();
    let org_opts: Vec<Value> = orgs
        .iter()
        .map(|o| json!({"slug": o.slug, "name": o.name, "selected": org.as_deref() == Some(o.slug.as_str())}))
        .collect();
    // The report's query: for the downloads, and each version's link.
    let query_for = |version: Option<i32>| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(o) = &org {
            q.append_pair("org", o);
        }
        q.append_pair("month", &month.to_string());
        if let Some(v) = version {
            q.append_pair("version", &v.to_string());
        }
        q.finish()
    };
    let query = query_for(version);
    let tz = v.tz();
    let versions: Vec<Value> = standing
        .versions
        .iter()
        .rev()
        .map(|x| {
            json!({
                "version": x.version,
                "kept_at": when(x.kept_at, tz),
                "kept_by": x.kept_by,
                "reason": x.reason,
                "shown": Some(x.version) == standing.version,
                "href": format!("/reports?{}", query_for(Some(x.version))),
            })
        })
        .collect();
    let pending: Vec<Value> = standing
        .pending_changes
        .iter()
        .map(|p| json!({"at": when(p.at, tz), "what": p.what}))
        .collect();
    let manager = v.session.principal.require_manager().is_ok();
    // A customer disputes a closed month's breach or credit line from here.
    let choices = if customer && standing.state != "provisional" {
        super::disputes::dispute_choices(&report)
    } else {
        Vec::new()
    };
    page(
        Some(&v.session),
        "Monthly report",
        "reports",
        json!({
            "report": body,
            "dispute_choices": choices,
            "months": months,
            "orgs": org_opts,
            "customer": customer,
            "query": query,
            "desk": org.is_none() && !customer,
            "month": month.to_string(),
            "month_name": month.first_day().format("%B %Y").to_string(),
            "provisional": standing.state == "provisional",
            "closes_on": standing.closes_on.map(|d| d.format("%-d %B %Y").to_string()),
            // Past its closing day but not closed yet: the daily job has not
            // run since (or the desk was down); say so rather than give a
            // date in the past as if it were to come.
            "close_overdue": standing.closes_on.is_some_and(|d| d <= crate::app::now().date_naive()),
            "ended": now >= month.end(),
            "version": standing.version,
            "latest_version": standing.latest_version,
            "older": standing.version != standing.latest_version,
            "revised_pending": standing.revised_pending,
            "pending": pending,
            "versions": versions,
            "manager": manager,
        }),
    )
}

#[derive(Deserialize)]
pub(super) struct MonthForm {
    csrf: String,
    month: String,
    org: Option<String>,
    reason: Option<String>,
}

fn back_to(f: &MonthForm) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(o) = f.org.as_deref().filter(|o| !o.is_empty()) {
        q.append_pair("org", o);
    }
    q.append_pair("month", &f.month);
    format!("/reports?{}", q.finish())
}

/// A manager closes a month that has ended: version 1 of every report.
pub(super) async fn close(v: Viewer, app: State, form: web::Form<MonthForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    require_manager(&v)?;
    let month = parse_month(Some(&form.month), crate::app::now())?;
    let (app, who) = (app.get_ref().clone(), v.who());
    run(move || app.close_month(&who, month, crate::app::now())).await?;
    Ok(redirect(&back_to(&form)))
}

/// A manager recomputes a closed month, saying why: a new version of each
/// report whose figures moved.
pub(super) async fn recompute(v: Viewer, app: State, form: web::Form<MonthForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    require_manager(&v)?;
    let month = parse_month(Some(&form.month), crate::app::now())?;
    let (app, who) = (app.get_ref().clone(), v.who());
    let reason = form.reason.clone().unwrap_or_default();
    run(move || app.recompute_month(&who, month, &reason, crate::app::now())).await?;
    Ok(redirect(&back_to(&form)))
}

pub(super) async fn download(v: Viewer, app: State, q: web::Query<ReportQuery>) -> Result<HttpResponse, WebError> {
    let now = crate::app::now();
    let month = parse_month(q.month.as_deref(), now)?;
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("csv")
        .parse()
        .map_err(|e: String| WebError::from(crate::app::invalid("format", e)))?;
    let org = q.org.clone().filter(|o| !o.is_empty());
    let app = app.get_ref().clone();
    let who = v.who();
    if who.role == crate::app::Role::Agent {
        require_manager(&v)?;
    }
    let customer = !who.role.is_staff();
    let o = org.clone();
    let version = q.version;
    let report = run(move || {
        let scope = if customer {
            app.list_organisations(&who)?.first().map(|o| o.slug.clone())
        } else {
            o
        };
        app.monthly_report(&who, scope.as_deref(), month, version, now)?
            .document()
    })
    .await?;
    let text = render(&report, format).map_err(|e| WebError::from(AppError::internal(e)))?;
    let scope = report["organisation"].as_str().unwrap_or("desk").to_string();
    // The two CSVs are different files: distinct names, as the API gives them.
    let (ctype, ext) = match format {
        Format::Json => ("application/json", "json"),
        Format::Html => ("text/html; charset=utf-8", "html"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::CsvTickets => ("text/csv; charset=utf-8", "tickets.csv"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"sladesk-{scope}-{month}.{ext}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, crate::web::CSP))
        .body(text))
}
