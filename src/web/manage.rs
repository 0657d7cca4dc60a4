//! Managers' and admins' pages: the dashboard, monthly reports, outages,
//! and administration (organisations, users, queues, API tokens, and the
//! loaded policies and holiday calendars, read-only).

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, Viewer, WebError, form_status, page, page_with_status, redirect, run, run_form, when, when_opt};
use crate::app::AppError;
use crate::app::admin::{NewOrganisationRequest, NewQueueRequest, NewUserRequest, UserPatch};
use crate::app::outages::{Affected, NewOutageRequest, OutagePatch};
use crate::domain::availability::Month;
use crate::domain::holidays::Region;
use crate::domain::ticket::Severity;
use crate::reports::render::{Format, render};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(dashboard))
        .route("/reports", web::get().to(reports))
        .route("/reports/download", web::get().to(download))
        .route("/outages", web::get().to(outages))
        .route("/outages", web::post().to(add_outage))
        .route("/outages/{id}/end", web::post().to(end_outage))
        .route("/admin", web::get().to(admin))
        .route("/admin/{what}", web::post().to(admin_post))
        .route("/admin/policies", web::get().to(policies));
}

fn require_manager(v: &Viewer) -> Result<(), WebError> {
    Ok(v.session.principal.require_manager()?)
}

async fn dashboard(v: Viewer, app: State, web_state: super::Web) -> Result<HttpResponse, WebError> {
    require_manager(&v)?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let cached = web_state.compliance(crate::app::now());
    if let Some((_, true)) = cached
        && web_state.begin_refresh()
    {
        // Off the request: the page shows the last figures meanwhile.
        let (app, state, who) = (app.clone(), web_state.get_ref().clone(), who.clone());
        std::thread::spawn(move || {
            let now = crate::app::now();
            match app
                .monthly_report(&who, None, Month::containing(now), false, now)
                .and_then(|r| r.value())
            {
                Ok(r) => state.keep_compliance(now, r),
                Err(e) => tracing::warn!(error = %e, "dashboard compliance refresh"),
            }
            state.end_refresh();
        });
    }
    let kept = cached.map(|(k, _)| k);
    let kept_was_none = kept.is_none();
    let (desk, (report_at, report), ongoing) = run(move || {
        let now = crate::app::now();
        let desk = app.desk_now(&who, now)?;
        let report = match kept {
            Some(k) => k,
            None => (
                now,
                app.monthly_report(&who, None, Month::containing(now), false, now)?
                    .value()?,
            ),
        };
        let ongoing: Vec<_> = app
            .list_outages(&who, None, None, now)?
            .into_iter()
            .filter(|o| o.ongoing)
            .collect();
        Ok((desk, report, ongoing))
    })
    .await?;
    if kept_was_none {
        web_state.keep_compliance(report_at, report.clone());
    }
    let mut tiers: Vec<String> = desk.open.iter().map(|(t, _, _)| t.clone()).collect();
    tiers.dedup();
    let grid: Vec<Value> = tiers
        .iter()
        .map(|tier| {
            let counts: Vec<i64> = (1..=4)
                .map(|s| {
                    desk.open
                        .iter()
                        .find(|(t, sev, _)| t == tier && *sev == s)
                        .map(|(_, _, n)| *n)
                        .unwrap_or(0)
                })
                .collect();
            json!({"tier": tier, "counts": counts, "total": counts.iter().sum::<i64>()})
        })
        .collect();
    let sev_totals: Vec<i64> = (1..=4)
        .map(|s| {
            desk.open
                .iter()
                .filter(|(_, sev, _)| *sev == s)
                .map(|(_, _, n)| n)
                .sum()
        })
        .collect();
    let compliance: Vec<Value> = report["compliance"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let sev = c["severity"].as_i64().unwrap_or(0);
            json!({
                "severity": sev,
                "title": Severity::try_from(sev as u8).map(|s| s.title()).unwrap_or(""),
                "response": c["response"],
                "resolve": c["resolve"],
            })
        })
        .collect();
    let outages: Vec<Value> = ongoing.iter().map(|o| outage_json(o, tz)).collect();
    page(
        Some(&v.session),
        "Dashboard",
        "dashboard",
        json!({
            "grid": grid,
            "sev_totals": sev_totals,
            "open_total": desk.open_total,
            "at_risk": desk.at_risk,
            "breached": desk.breached,
            "month": report["month"],
            "compliance_at": when(report_at, tz),
            "compliance": compliance,
            "outages": outages,
        }),
    )
}

fn outage_json(o: &crate::app::outages::OutageView, tz: chrono_tz::Tz) -> Value {
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
    })
}

#[derive(Deserialize)]
struct ReportQuery {
    org: Option<String>,
    month: Option<String>,
    format: Option<String>,
}

fn parse_month(m: Option<&str>, now: DateTime<Utc>) -> Result<Month, WebError> {
    match m.filter(|m| !m.is_empty()) {
        Some(m) => m
            .parse::<Month>()
            .map_err(|e| WebError::from(crate::app::invalid("month", e.0))),
        None => Ok(Month::containing(now).previous()),
    }
}

/// A monthly report in the page: last month by default, the desk's or an
/// organisation's, with its charts; CSV to download beside it.
async fn reports(v: Viewer, app: State, q: web::Query<ReportQuery>) -> Result<HttpResponse, WebError> {
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
    let (report, orgs) = run(move || {
        let orgs = app.list_organisations(&who)?;
        // A customer's report is their own organisation's, whatever the query says.
        let scope = if customer {
            orgs.first().map(|o| o.slug.clone())
        } else {
            o
        };
        let r = app.monthly_report(&who, scope.as_deref(), month, false, now)?.value()?;
        Ok((r, orgs))
    })
    .await?;
    let html = render(&report, Format::Html).map_err(|e| WebError::from(AppError::Conflict(e)))?;
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
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(o) = &org {
        q.append_pair("org", o);
    }
    q.append_pair("month", &month.to_string());
    let query = q.finish();
    page(
        Some(&v.session),
        "Monthly report",
        "reports",
        json!({
            "report": body,
            "months": months,
            "orgs": org_opts,
            "customer": customer,
            "query": query,
            "desk": org.is_none() && !customer,
        }),
    )
}

async fn download(v: Viewer, app: State, q: web::Query<ReportQuery>) -> Result<HttpResponse, WebError> {
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
    let report = run(move || {
        let scope = if customer {
            app.list_organisations(&who)?.first().map(|o| o.slug.clone())
        } else {
            o
        };
        app.monthly_report(&who, scope.as_deref(), month, false, now)?.value()
    })
    .await?;
    let text = render(&report, format).map_err(|e| WebError::from(AppError::Conflict(e)))?;
    let scope = report["organisation"].as_str().unwrap_or("desk").to_string();
    let (ctype, ext) = match format {
        Format::Json => ("application/json", "json"),
        Format::Html => ("text/html; charset=utf-8", "html"),
        _ => ("text/csv; charset=utf-8", "csv"),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, ctype))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"sladesk-{scope}-{month}.{ext}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::CONTENT_SECURITY_POLICY, super::CSP))
        .body(text))
}

async fn outages_page(v: &Viewer, app: State, error: Option<String>, form: Value) -> Result<HttpResponse, WebError> {
    require_manager(v)?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (list, orgs) = run(move || {
        let now = crate::app::now();
        Ok((app.list_outages(&who, None, None, now)?, app.list_organisations(&who)?))
    })
    .await?;
    let mut list = list;
    list.sort_by_key(|o| std::cmp::Reverse(o.start));
    let rows: Vec<Value> = list.iter().map(|o| outage_json(o, tz)).collect();
    let org_opts: Vec<Value> = orgs.iter().map(|o| json!({"slug": o.slug, "name": o.name})).collect();
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Outages",
        "outages",
        json!({"outages": rows, "orgs": org_opts, "error": error, "form": form, "time_zone": tz.name()}),
    )
}

async fn outages(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    outages_page(&v, app, None, json!({})).await
}

#[derive(Deserialize, serde::Serialize)]
struct OutageForm {
    kind: String,
    start: String,
    end: Option<String>,
    notified: Option<String>,
    scope: Option<String>,
    description: String,
    public_description: Option<String>,
    csrf: String,
}

/// A `datetime-local` value read in the viewer's zone; a time that does not
/// exist (the spring gap) or is ambiguous (autumn) is refused, not guessed.
fn local_instant(field: &str, s: &str, tz: chrono_tz::Tz) -> Result<Option<DateTime<Utc>>, AppError> {
    use chrono::TimeZone;
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    let naive = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .map_err(|_| crate::app::invalid(field, format!("'{s}' is not a date and time")))?;
    match tz.from_local_datetime(&naive) {
        chrono::LocalResult::Single(t) => Ok(Some(t.with_timezone(&Utc))),
        chrono::LocalResult::Ambiguous(..) => Err(crate::app::invalid(
            field,
            format!(
                "{s} happens twice in {} (the clocks go back): give a time outside that hour",
                tz.name()
            ),
        )),
        chrono::LocalResult::None => Err(crate::app::invalid(
            field,
            format!("{s} does not exist in {} (the clocks go forward)", tz.name()),
        )),
    }
}

async fn add_outage(v: Viewer, app: State, form: web::Form<OutageForm>) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    require_manager(&v)?;
    let f = form.into_inner();
    let tz = v.tz();
    let echo = json!({"kind": f.kind, "start": f.start, "end": f.end, "notified": f.notified, "description": f.description, "public_description": f.public_description});
    let a = app.get_ref().clone();
    let who = v.who();
    let outcome = run_form(move || {
        let req = (|| {
            Ok::<_, AppError>(NewOutageRequest {
                kind: f.kind.clone(),
                start: local_instant("start", &f.start, tz)?.ok_or_else(|| crate::app::invalid("start", "required"))?,
                end: local_instant("end", f.end.as_deref().unwrap_or(""), tz)?,
                notified_at: local_instant("notified", f.notified.as_deref().unwrap_or(""), tz)?,
                organisations: match f.scope.as_deref().unwrap_or("all") {
                    "all" | "" => Affected::All("all".into()),
                    slug => Affected::Some(vec![slug.to_string()]),
                },
                description: f.description.clone(),
                public_description: f.public_description.clone(),
            })
        })();
        req.and_then(|r| a.create_outage(&who, r, crate::app::now()))
    })
    .await?;
    match outcome {
        Ok(_) => Ok(redirect("/outages")),
        Err(r) => outages_page(&v, app, Some(r.to_string()), echo).await,
    }
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn end_outage(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<CsrfOnly>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let app = app.get_ref().clone();
    let who = v.who();
    let id = path.into_inner();
    run(move || {
        let now = crate::app::now();
        let patch = OutagePatch {
            kind: None,
            start: None,
            end: Some(now),
            notified_at: None,
            description: None,
            public_description: None,
        };
        app.patch_outage(&who, id, patch, now)
    })
    .await?;
    Ok(redirect("/outages"))
}

#[derive(Deserialize)]
struct AdminQuery {
    done: Option<String>,
}

async fn admin(v: Viewer, app: State, q: web::Query<AdminQuery>) -> Result<HttpResponse, WebError> {
    admin_page(&v, app, q.done.clone(), None, None).await
}

async fn admin_page(
    v: &Viewer,
    app: State,
    notice: Option<String>,
    error: Option<String>,
    new_token: Option<String>,
) -> Result<HttpResponse, WebError> {
    v.session.principal.require_admin()?;
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let (orgs, users, queues, tokens, tiers) = run(move || {
        Ok((
            app.list_organisations(&who)?,
            app.list_users(&who)?,
            app.list_queues(&who)?,
            app.list_tokens(&who)?,
            app.policies.names().iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ))
    })
    .await?;
    let orgs: Vec<Value> = orgs
        .iter()
        .map(|o| {
            json!({
                "slug": o.slug, "name": o.name, "tier": o.tier, "region": o.region,
                "domains": o.email_domains.join(", "), "status": o.status,
                "charge": crate::reports::render::pounds(o.monthly_charge_pence),
                "contract_start": o.contract_start, "contract_end": o.contract_end,
            })
        })
        .collect();
    let users: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({"email": u.email, "name": u.name, "role": u.role, "organisation": u.organisation,
                   "disabled": u.disabled, "time_zone": u.time_zone})
        })
        .collect();
    let tokens: Vec<Value> = tokens
        .iter()
        .map(|t| {
            json!({"id": t.id, "name": t.name, "user": t.user, "scope": t.scope, "revoked": t.revoked,
                   "created": when(t.created_at, tz), "expires": when_opt(t.expires_at, tz),
                   "last_used": when_opt(t.last_used_at, tz)})
        })
        .collect();
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Administration",
        "admin",
        json!({
            "orgs": orgs, "users": users, "queues": queues, "tokens": tokens, "tiers": tiers,
            "regions": Region::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            "notice": notice, "error": error, "new_token": new_token,
        }),
    )
}

fn opt(form: &std::collections::HashMap<String, String>, k: &str) -> Option<String> {
    form.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn list(form: &std::collections::HashMap<String, String>, k: &str) -> Vec<String> {
    opt(form, k)
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Pounds as typed (`1250`, `1,250.50`) to pence.
fn pence(s: &str) -> Result<i64, AppError> {
    let t: String = s.trim().trim_start_matches('£').chars().filter(|c| *c != ',').collect();
    if t.is_empty() {
        return Ok(0);
    }
    let bad = || crate::app::invalid("monthly_charge", format!("'{s}' is not an amount in pounds"));
    let (whole, frac) = t.split_once('.').unwrap_or((&t, ""));
    if frac.len() > 2 || !whole.chars().all(|c| c.is_ascii_digit()) || !frac.chars().all(|c| c.is_ascii_digit()) {
        return Err(bad());
    }
    let w: i64 = whole.parse().map_err(|_| bad())?;
    let f: i64 = format!("{frac:0<2}").parse().map_err(|_| bad())?;
    w.checked_mul(100).and_then(|x| x.checked_add(f)).ok_or_else(bad)
}

fn date(form: &std::collections::HashMap<String, String>, k: &str) -> Result<Option<NaiveDate>, AppError> {
    opt(form, k)
        .map(|s| {
            s.parse::<NaiveDate>()
                .map_err(|_| crate::app::invalid(k, format!("'{s}' is not a date")))
        })
        .transpose()
}

/// The admin forms: organisation, user, queue, token, token revocation,
/// user enable/disable. Each goes through the API's use case.
async fn admin_post(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    v.session.principal.require_admin()?;
    let what = path.into_inner();
    let form = form.into_inner();
    let a = app.get_ref().clone();
    let who = v.who();
    let w = what.clone();
    let outcome = run_form(move || {
        let now = crate::app::now();
        let f = &form;
        let done: Result<(String, Option<String>), AppError> = (|| match w.as_str() {
            "organisations" => {
                let req = NewOrganisationRequest {
                    slug: opt(f, "slug").unwrap_or_default(),
                    name: opt(f, "name").unwrap_or_default(),
                    tier: opt(f, "tier").unwrap_or_default(),
                    region: opt(f, "region").unwrap_or_default(),
                    email_domains: list(f, "email_domains"),
                    monthly_charge_pence: pence(f.get("monthly_charge").map(String::as_str).unwrap_or(""))?,
                    contract_start: date(f, "contract_start")?,
                    contract_end: date(f, "contract_end")?,
                    may_declare_severity: f.contains_key("may_declare_severity"),
                    account_contact: opt(f, "account_contact"),
                };
                let o = a.create_organisation(&who, req, now)?;
                Ok((format!("Organisation {} added.", o.slug), None))
            }
            "users" => {
                let role = opt(f, "role").unwrap_or_default();
                let req = NewUserRequest {
                    email: opt(f, "email").unwrap_or_default(),
                    name: opt(f, "name"),
                    role: role.parse().map_err(|e: String| crate::app::invalid("role", e))?,
                    organisation: opt(f, "organisation"),
                    password: opt(f, "password"),
                };
                let u = a.create_user(&who, req, now)?;
                Ok((format!("User {} added.", u.email), None))
            }
            "queues" => {
                let req = NewQueueRequest {
                    slug: opt(f, "slug").unwrap_or_default(),
                    name: opt(f, "name").unwrap_or_default(),
                    inbound_address: opt(f, "inbound_address"),
                    lead: opt(f, "lead"),
                    members: list(f, "members"),
                    default_severity: opt(f, "default_severity").and_then(|s| s.parse().ok()),
                    customer_selectable: opt(f, "customer_selectable").is_some(),
                };
                let q = a.create_queue(&who, req, now)?;
                Ok((format!("Queue {} added.", q.slug), None))
            }
            "tokens" => {
                let email = opt(f, "user").unwrap_or_default();
                let days = opt(f, "days")
                    .map(|d| {
                        d.parse::<i64>()
                            .map_err(|_| crate::app::invalid("days", "expected a whole number of days"))
                    })
                    .transpose()?;
                let t = a.create_token(
                    &who,
                    &email,
                    &opt(f, "name").unwrap_or_default(),
                    &opt(f, "scope").unwrap_or_else(|| "full".into()),
                    days.map(chrono::Duration::days),
                    now,
                )?;
                Ok((
                    format!("Token made for {email}: copy it now, it is not shown again."),
                    Some(t),
                ))
            }
            "revoke-token" => {
                let id = opt(f, "id").and_then(|s| s.parse().ok()).unwrap_or(-1);
                a.revoke_token(&who, id, now)?;
                Ok(("Token revoked.".to_string(), None))
            }
            "user-disabled" => {
                let email = opt(f, "email").unwrap_or_default();
                let disabled = opt(f, "disabled").as_deref() == Some("true");
                a.update_user(
                    &who,
                    &email,
                    UserPatch {
                        name: None,
                        disabled: Some(disabled),
                        time_zone: None,
                    },
                    now,
                )?;
                Ok((
                    format!("{email} {}.", if disabled { "disabled" } else { "enabled" }),
                    None,
                ))
            }
            "sign-in-reset" => {
                let email = opt(f, "email").unwrap_or_default();
                let clear = f.contains_key("clear_totp");
                a.reset_sign_in(&who, &email, opt(f, "password").as_deref(), clear, now)?;
                Ok((format!("Sign-in reset for {email}; their sessions have ended."), None))
            }
            other => Err(AppError::NotFound(format!("admin form {other}"))),
        })();
        done
    })
    .await?;
    match outcome {
        Ok((notice, token)) => admin_page(&v, app, Some(notice), None, token).await,
        Err(r) => admin_page(&v, app, None, Some(r.to_string()), None).await,
    }
}

/// The loaded SLA policies and this year's and next year's holidays, read-only.
async fn policies(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    v.session.principal.require_admin()?;
    let year = crate::app::now().year();
    let policies: Vec<Value> = app
        .policies
        .iter()
        .map(|(p, file)| {
            json!({
                "name": p.name,
                "description": p.description,
                "version": p.version,
                "effective_from": p.effective_from,
                "file": file.file_name().map(|f| f.to_string_lossy().to_string()),
                "source": app.policies.source(&p.version),
            })
        })
        .collect();
    let calendars: Vec<Value> = Region::ALL
        .iter()
        .map(|r| {
            let days: Vec<Value> = app
                .holidays
                .list(*r, year, year + 1)
                .into_iter()
                .map(|h| json!({"date": h.date.format("%a %-d %b %Y").to_string(), "title": h.title}))
                .collect();
            json!({"region": r.as_str(), "days": days})
        })
        .collect();
    page(
        Some(&v.session),
        "Policies and holidays",
        "policies",
        json!({"policies": policies, "calendars": calendars, "from": year, "to": year + 1, "holiday_set": app.holiday_set}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outage_times_are_read_in_the_viewers_zone_and_clock_changes_are_not_guessed() {
        let london = chrono_tz::Europe::London;
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            local_instant("start", "2026-07-01T09:00", london).unwrap(),
            Some(t("2026-07-01T08:00:00Z"))
        );
        assert_eq!(
            local_instant("start", "2026-12-01T09:00", london).unwrap(),
            Some(t("2026-12-01T09:00:00Z"))
        );
        assert_eq!(local_instant("end", "", london).unwrap(), None);
        let gap = local_instant("start", "2026-03-29T01:30", london).unwrap_err();
        assert!(gap.to_string().contains("does not exist"), "{gap}");
        let twice = local_instant("start", "2026-10-25T01:30", london).unwrap_err();
        assert!(twice.to_string().contains("happens twice"), "{twice}");
        assert!(local_instant("start", "yesterday", london).is_err());
    }

    #[test]
    fn pounds_as_typed_become_pence() {
        assert_eq!(pence("1250").unwrap(), 125_000);
        assert_eq!(pence("£1,250.5").unwrap(), 125_050);
        assert_eq!(pence("0.07").unwrap(), 7);
        assert_eq!(pence("").unwrap(), 0);
        for bad in ["12.345", "-5", "1e3", "ten"] {
            assert!(pence(bad).is_err(), "{bad}");
        }
    }
}
