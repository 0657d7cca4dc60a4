//! Monthly reports over HTTP: read (provisional, or a kept version), close
//! a month, recompute one.

use actix_web::{HttpResponse, web};

use super::outages::month;
use super::problem::Problem;
use super::{Caller, State, run};
use crate::app::invalid;
use crate::app::reports::versions::Kept;
use crate::reports::render::{Format, render};

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub(super) struct ReportQuery {
    /// The organisation's slug; the whole desk (managers) if absent.
    org: Option<String>,
    /// YYYY-MM, a Europe/London month.
    month: String,
    /// json (default), html, csv (summary rows) or csv-tickets (a row per ticket).
    format: Option<String>,
    /// A kept version of a closed month (default: the latest).
    version: Option<i32>,
}

/// The monthly SLA and service-credit report, with its `standing`:
/// `provisional` (computed now, and may change) until the month is closed,
/// then the version kept, the versions there are, and whether changes
/// recorded since await a recompute (`revised_pending`). Managers see any
/// organisation's and the whole desk's; a customer their own organisation's.
#[utoipa::path(get, path = "/api/v1/reports/monthly", tag = "availability", params(ReportQuery), security(("bearer" = [])),
    responses((status = 200, description = "The report", body = Object), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn monthly_report(
    app: State,
    Caller(who): Caller,
    q: web::Query<ReportQuery>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = month(&Some(q.month.clone()))?.expect("given");
    let format: Format = q
        .format
        .as_deref()
        .unwrap_or("json")
        .parse()
        .map_err(|e: String| Problem::from(invalid("format", e)))?;
    let (org, version) = (q.org.clone(), q.version);
    let report = run(move || app.monthly_report(&who, org.as_deref(), m, version, crate::app::now())).await?;
    let stem = format!("sla-{}-{m}", q.org.as_deref().unwrap_or("desk"));
    let (content_type, file) = match format {
        Format::Json => ("application/json", None),
        Format::Html => ("text/html; charset=utf-8", None),
        Format::Csv => ("text/csv; charset=utf-8", Some(format!("{stem}.csv"))),
        Format::CsvTickets => ("text/csv; charset=utf-8", Some(format!("{stem}-tickets.csv"))),
    };
    let text = render(&report.document()?, format).map_err(|e| Problem::from(crate::app::AppError::internal(e)))?;
    let mut response = HttpResponse::Ok();
    response
        .content_type(content_type)
        .insert_header(("Cache-Control", "no-store"))
        // The page is self-contained: its own styles and inline SVG, no script.
        .insert_header((
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'",
        ));
    if let Some(f) = file {
        response.insert_header(("Content-Disposition", format!("attachment; filename=\"{f}\"")));
    }
    Ok(response.body(text))
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CloseRequest {
    /// YYYY-MM, a month that has ended.
    month: String,
}

#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RecomputeRequest {
    /// YYYY-MM, a closed month.
    month: String,
    /// Why: kept with each new version.
    reason: String,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub(crate) struct KeptVersions {
    /// Each report kept: `scope` is an organisation's slug, or `*` for the
    /// whole desk. Empty when nothing moved.
    #[schema(value_type = Vec<Object>)]
    kept: Vec<Kept>,
}

/// Closes a month that has ended: keeps version 1 of every organisation's
/// report and the whole desk's, from one computation (managers).
#[utoipa::path(post, path = "/api/v1/reports/monthly/close", tag = "availability", request_body = CloseRequest, security(("bearer" = [])),
    responses((status = 200, body = KeptVersions), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn close_month(
    app: State,
    Caller(who): Caller,
    b: web::Json<CloseRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = month(&Some(b.month.clone()))?.expect("given");
    let kept = run(move || app.close_month(&who, m, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(KeptVersions { kept }))
}

/// Recomputes a closed month: keeps a new version of every report whose
/// figures moved, with who, when and why (managers).
#[utoipa::path(post, path = "/api/v1/reports/monthly/recompute", tag = "availability", request_body = RecomputeRequest, security(("bearer" = [])),
    responses((status = 200, body = KeptVersions), (status = 401, body = Problem), (status = 403, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn recompute_month(
    app: State,
    Caller(who): Caller,
    b: web::Json<RecomputeRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let m = month(&Some(b.month.clone()))?.expect("given");
    let reason = b.into_inner().reason;
    let kept = run(move || app.recompute_month(&who, m, &reason, crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(KeptVersions { kept }))
}
