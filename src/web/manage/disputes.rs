//! Disputes in the pages: a customer raises one from a closed month's
//! report page (a breach or a credit line of it, a reason, files); both
//! sides follow it on its own page; a manager decides it there, and sees
//! the open ones on the dashboard.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{State, Viewer, WebError, page, page_with_status, redirect, run, run_form, when, when_opt};
use crate::app::reports::disputes::{DisputeUpload, DisputeView, NewDispute};
use crate::domain::dispute::{Decide, Subject};
use crate::domain::vocabulary::ClockKind;
use crate::web::upload::field;

/// A dispute as the pages show it.
pub(super) fn dispute_json(d: &DisputeView, tz: chrono_tz::Tz) -> Value {
    json!({
        "id": d.id,
        "organisation_name": d.organisation_name,
        "month": d.month,
        "subject": d.subject_words,
        "reason": d.reason,
        "raised_by": d.raised_by,
        "raised_at": when(d.raised_at, tz),
        "status": d.status,
        "open": d.status == "open",
        "upheld": d.status == "upheld",
        "decided_at": when_opt(d.decided_at, tz),
        "reply": d.reply,
        "adjustment": crate::domain::money::Pence(d.adjustment_pence).to_string(),
        "report_version": d.report_version,
        "report_href": format!("/reports?org={}&month={}", d.organisation, d.month),
        "evidence": d.evidence.as_ref().map(|e| serde_json::to_string_pretty(e).unwrap_or_default()),
        "files": d.files.iter().map(|f| json!({
            "href": format!("/disputes/{}/files/{}", d.id, f.id), "name": f.filename, "size": f.size,
        })).collect::<Vec<_>>(),
    })
}

/// What the report page offers to dispute: its breach lines and credit
/// lines, as `breach:REF:clock` and `line:DESCRIPTION`.
pub(super) fn dispute_choices(report: &Value) -> Vec<Value> {
    let empty = Vec::new();
    let mut out: Vec<Value> = report["breaches"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|b| {
            let (r, c) = (
                b["reference"].as_str().unwrap_or_default(),
                b["clock"].as_str().unwrap_or_default(),
            );
            json!({"value": format!("breach:{r}:{c}"), "label": format!("Breach: the {c} clock of {r}")})
        })
        .collect();
    out.extend(report["credits"]["lines"].as_array().unwrap_or(&empty).iter().map(|l| {
        let d = l["description"].as_str().unwrap_or_default();
        json!({"value": format!("line:{d}"), "label": format!("Credit line: {d}")})
    }));
    out
}

fn subject_of(choice: &str) -> Option<Subject> {
    if let Some(rest) = choice.strip_prefix("breach:") {
        let (reference, clock) = rest.rsplit_once(':')?;
        let clock = match clock {
            "response" => ClockKind::Response,
            "resolve" => ClockKind::Resolve,
            _ => return None,
        };
        return Some(Subject::Breach {
            reference: reference.to_string(),
            clock,
        });
    }
    choice.strip_prefix("line:").map(|d| Subject::CreditLine {
        description: d.to_string(),
    })
}

/// A customer raises a dispute from the report page (multipart: files).
pub(super) async fn raise(
    v: Viewer,
    app: State,
    gate: web::Data<crate::api::body::BodyGate>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let (form, files) = crate::web::upload::read_multipart(&v, &app, &gate, &req, payload).await?;
    let month = field(&form, "month").to_string();
    let back = format!("/reports?month={month}");
    let Some(subject) = subject_of(field(&form, "subject")) else {
        return Err(WebError::Page {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "Choose what you dispute".into(),
            detail: format!("Go back to the report ({back}) and choose a breach or a credit line."),
        });
    };
    let files: Vec<DisputeUpload> = files
        .into_iter()
        .filter(|f| !f.data.is_empty())
        .map(|f| DisputeUpload {
            filename: f.filename,
            content_type: f.content_type,
            data: f.data,
        })
        .collect();
    let request = NewDispute {
        month,
        subject,
        reason: field(&form, "reason").to_string(),
    };
    let (a, who) = (app.get_ref().clone(), v.who());
    match run_form(move || a.raise_dispute(&who, request, &files, crate::app::now())).await? {
        Ok(d) => Ok(redirect(&format!("/disputes/{}", d.id))),
        Err(r) => Err(WebError::Page {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "The dispute was not raised".into(),
            detail: r.to_string(),
        }),
    }
}

/// Every dispute the viewer may see, open ones first.
pub(super) async fn list(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    let (a, who, tz) = (app.get_ref().clone(), v.who(), v.tz());
    let mut all = run(move || a.list_disputes(&who, false)).await?;
    all.sort_by_key(|d| (d.status != "open", std::cmp::Reverse(d.id)));
    let rows: Vec<Value> = all.iter().map(|d| dispute_json(d, tz)).collect();
    page(Some(&v.session), "Disputes", "disputes", json!({"disputes": rows}))
}

/// One dispute; for a manager, with the form that decides it.
pub(super) async fn show(v: Viewer, app: State, id: web::Path<i64>) -> Result<HttpResponse, WebError> {
    dispute_page(&v, &app, *id, None, StatusCode::OK).await
}

async fn dispute_page(
    v: &Viewer,
    app: &State,
    id: i64,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (a, who, tz) = (app.get_ref().clone(), v.who(), v.tz());
    let d = run(move || a.get_dispute(&who, id)).await?;
    let manager = v.session.principal.require_manager().is_ok();
    page_with_status(
        status,
        Some(&v.session),
        &format!("Dispute {id}"),
        "dispute",
        json!({"d": dispute_json(&d, tz), "manager": manager, "error": error}),
    )
}

#[derive(Deserialize)]
pub(super) struct DecideForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    adjustment: String,
    reply: String,
}

/// Pounds and pence as typed ("25", "25.00", "-12.5", "£25") → pence.
fn pence(text: &str) -> Option<i64> {
    let t = text.trim().replace(['£', ','], "");
    let (neg, t) = t.strip_prefix('-').map_or((false, t.as_str()), |r| (true, r));
    let (pounds, frac) = t.split_once('.').unwrap_or((t, ""));
    if pounds.is_empty() || !pounds.bytes().all(|b| b.is_ascii_digit()) || frac.len() > 2 {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let p: i64 = pounds.parse().ok()?;
    let f: i64 = format!("{frac:0<2}").parse().ok()?;
    let total = p.checked_mul(100)?.checked_add(f)?;
    Some(if neg { -total } else { total })
}

/// A manager decides a dispute from its page.
pub(super) async fn decide(
    v: Viewer,
    app: State,
    id: web::Path<i64>,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let id = *id;
    let decision = match form.outcome.as_str() {
        "uphold" => match pence(&form.adjustment) {
            Some(p) => Decide::Uphold {
                adjustment_pence: p,
                reply: form.reply.clone(),
            },
            None => {
                return dispute_page(
                    &v,
                    &app,
                    id,
                    Some("Give the change to the credits in pounds, such as 25.00 (negative to reduce).".into()),
                    StatusCode::UNPROCESSABLE_ENTITY,
                )
                .await;
            }
        },
        _ => Decide::Reject {
            reply: form.reply.clone(),
        },
    };
    let (a, who) = (app.get_ref().clone(), v.who());
    match run_form(move || a.decide_dispute(&who, id, decision, crate::app::now())).await? {
        Ok(_) => Ok(redirect(&format!("/disputes/{id}"))),
        Err(r) => dispute_page(&v, &app, id, Some(r.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}

/// A dispute's file, for whoever may see the dispute.
pub(super) async fn file(v: Viewer, app: State, path: web::Path<(i64, i64)>) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    let (id, file) = path.into_inner();
    let (name, ctype, data) = run(move || a.dispute_file(&who, id, file)).await?;
    Ok(crate::api::attachment_response(name, ctype, data))
}

#[cfg(test)]
mod tests {
    #[test]
    fn amounts_read_as_people_type_them() {
        use super::pence;
        assert_eq!(pence("25"), Some(2500));
        assert_eq!(pence("£1,250.5"), Some(125_050));
        assert_eq!(pence("-12.34"), Some(-1234));
        assert_eq!(pence("1.234"), None);
        assert_eq!(pence("abc"), None);
        assert_eq!(pence(""), None);
    }
}
