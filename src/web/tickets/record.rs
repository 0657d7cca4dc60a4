//! The record beside a ticket that is not an incident, on its page: a
//! service request's form as filled in, its approvers and fulfilment clock,
//! and what the viewer may do with it (an approver approves or refuses,
//! staff fulfil, the requester withdraws).

use super::*;
use crate::app::itil::{RequestCommand, RequestView};

/// What the page shows of a service request, and which of its actions the
/// viewer is offered (the core decides again when one is sent).
pub(super) fn request_json(r: &RequestView, tz: Tz) -> Value {
    let s = r.status.as_str();
    let may = |m: &str| r.moves.iter().any(|x| x == m);
    let fulfilment = r.fulfilment.as_ref().map(|f| {
        json!({
            "state": f.state,
            "state_text": match f.state.as_str() {
                "running" => "running",
                "paused" => "paused (waiting for approval or for you)",
                "breached" => "past its target",
                "met" => "met",
                "missed" => "fulfilled late",
                _ => "stopped",
            },
            "target": format!("{} of working time", crate::reports::render::hours_minutes(f.target_seconds)),
            "due": when_opt(f.due_at, tz),
        })
    });
    json!({
        "item_name": r.item_name,
        "status_text": crate::app::itil::request_status_title(s),
        "answers": r.answers,
        "approvers": r.approvers,
        "approved_by": r.approved_by,
        "approved_at": when_opt(r.approved_at, tz),
        "fulfilment": fulfilment,
        "may_decide": r.may_decide,
        "start": may("start_fulfilment"),
        "ask": may("ask_customer"),
        "fulfil": may("fulfil"),
        "close": may("close"),
        "reopen": may("reopen"),
        "cancel": may("cancel"),
    })
}

#[derive(Deserialize)]
pub(super) struct RequestForm {
    csrf: String,
    action: String,
    #[serde(default)]
    text: String,
}

/// An action on a service request from its page.
pub(super) async fn request_action(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<RequestForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let text = form.text.clone();
    let command = match form.action.as_str() {
        "approve" => RequestCommand::Approve { comment: text },
        "refuse" => RequestCommand::Refuse { comment: text },
        "start" => RequestCommand::StartFulfilment,
        "ask" => RequestCommand::AskCustomer { body: text },
        "fulfil" => RequestCommand::Fulfil { note: text },
        "close" => RequestCommand::Close,
        "reopen" => RequestCommand::Reopen { reason: text },
        "cancel" => RequestCommand::Cancel { reason: text },
        _ => return Err(WebError::not_found()),
    };
    let done = match &command {
        RequestCommand::Approve { .. } => "approved",
        RequestCommand::Refuse { .. } => "refused",
        RequestCommand::StartFulfilment => "started",
        RequestCommand::AskCustomer { .. } => "asked",
        RequestCommand::Fulfil { .. } => "fulfilled",
        RequestCommand::Close => "close",
        RequestCommand::Reopen { .. } => "reopen",
        RequestCommand::Cancel { .. } => "cancel",
    };
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || a.act_on_request(&who, &r, &command, crate::app::now())).await?;
    answer(&v, app, reference, outcome, done, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// What the page shows of a problem, with the moves its status allows.
pub(super) fn problem_json(p: &crate::app::itil::ProblemView, tz: Tz) -> Value {
    let s = p.status.as_str();
    let may = |m: &str| p.moves.iter().any(|x| x == m);
    let open_incidents = p
        .incidents
        .iter()
        .filter(|i| !matches!(i.status.as_str(), "resolved" | "closed" | "cancelled"))
        .count();
    json!({
        "status_text": status_text(s),
        "known_error": p.known_error,
        "root_cause": p.root_cause,
        "workaround": p.workaround,
        "target": when_opt(p.target, tz),
        "incidents": p.incidents.iter().map(|i| json!({
            "reference": i.reference, "subject": i.subject, "status_text": status_text(&i.status), "organisation": i.organisation,
        })).collect::<Vec<_>>(),
        "open_incidents": open_incidents,
        "investigate": may("investigate"),
        "open": may("record_root_cause"),
        "declare": may("declare_known_error"),
        "reopen": may("reopen"),
        "close": may("close"),
    })
}

#[derive(Deserialize)]
pub(super) struct ProblemForm {
    csrf: String,
    action: String,
    #[serde(default)]
    text: String,
    /// The checkbox offering a workaround to the incidents, or to resolve them.
    #[serde(default)]
    incidents: Option<String>,
}

/// An action on a problem from its page (staff).
pub(super) async fn problem_action(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<ProblemForm>,
) -> Result<HttpResponse, WebError> {
    use crate::app::itil::ProblemCommand as P;
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let text = form.text.trim().to_string();
    let to_incidents = form.incidents.as_deref() == Some("yes");
    let command = match form.action.as_str() {
        "investigate" => P::Investigate,
        "root_cause" => P::RecordRootCause { text },
        "workaround" => P::RecordWorkaround {
            text,
            publish: to_incidents,
        },
        "known_error" => P::DeclareKnownError,
        "link" => P::LinkIncident { reference: text },
        "resolve" => P::Resolve {
            note: text,
            resolve_incidents: to_incidents,
        },
        "reopen" => P::Reopen { reason: text },
        "close" => P::Close,
        _ => return Err(WebError::not_found()),
    };
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || a.act_on_problem(&who, &r, &command, crate::app::now())).await?;
    answer(
        &v,
        app,
        reference,
        outcome,
        "problem#problem",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct FromIncidentForm {
    csrf: String,
    /// Open a new problem with this subject, or link to this known error.
    #[serde(default)]
    subject: String,
    #[serde(default)]
    known_error: String,
}

/// From an incident's page, in one step: open a problem from it, or link it
/// to a known error.
pub(super) async fn incident_problem(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<FromIncidentForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let known = form.known_error.trim().to_string();
    let subject = form.subject.trim().to_string();
    if known.is_empty() {
        let outcome = run_form(move || {
            let t = a.get_ticket(&who, &r)?;
            let p = crate::app::itil::NewProblem {
                subject: if subject.is_empty() { t.subject.clone() } else { subject },
                description: format!("Opened from {} ({}).", t.reference, t.subject),
                incidents: vec![t.reference.clone()],
                ..Default::default()
            };
            a.open_problem(&who, p, crate::app::now())
        })
        .await?;
        return match outcome {
            Ok(p) => Ok(redirect(&format!("/tickets/{}?done=problem", p.reference))),
            Err(e) => ticket_page(&v, app, reference, None, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await,
        };
    }
    let command = crate::app::itil::ProblemCommand::LinkIncident { reference: r.clone() };
    let outcome = run_form(move || a.act_on_problem(&who, &known, &command, crate::app::now())).await?;
    answer(
        &v,
        app,
        reference,
        outcome,
        "linked#links",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct KnownErrorSearch {
    q: Option<String>,
}

/// The known-error list (staff), searched with the desk's search.
pub(super) async fn known_errors_page(
    v: Viewer,
    app: State,
    q: web::Query<KnownErrorSearch>,
) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    if !who.role.is_staff() {
        return Err(WebError::not_found());
    }
    let words = q.q.clone().unwrap_or_default();
    let w = words.clone();
    let list = run(move || a.known_errors(&who, Some(&w), crate::app::now())).await?;
    page(
        Some(&v.session),
        "Known errors",
        "known_errors",
        json!({"q": words, "items": list}),
    )
}

/// What the page shows of a change, and the moves its status allows (staff).
pub(super) fn change_json(c: &crate::app::itil::ChangeView, staff: bool, tz: Tz) -> Value {
    let s = c.status.as_str();
    let may = |m: &str| c.moves.iter().any(|x| x == m);
    json!({
        "kind": c.kind,
        "status_text": status_text(s),
        "risk": c.risk,
        "rule": c.rule,
        "needed": c.needed,
        "approvals": c.approvals,
        "cab": c.cab.iter().map(|v| json!({
            "name": v.name, "email": v.email,
            "vote": match v.approve { Some(true) => "approved", Some(false) => "rejected", None => "not yet voted" },
        })).collect::<Vec<_>>(),
        "window_start": when_opt(c.window_start, tz),
        "window_end": when_opt(c.window_end, tz),
        "in_freeze": c.in_freeze,
        "services": c.services,
        "outage_id": c.outage_id,
        "outcome": c.outcome,
        "staff": staff,
        "submit": may("submit"),
        "assess": may("assess"),
        "send_to_cab": may("send_to_cab"),
        "vote": may("approve") || may("reject"),
        "schedule": may("schedule"),
        "start": may("start"),
        "complete": may("complete"),
        "fail": may("fail"),
        "back_out": may("back_out"),
        "review": may("review"),
        "close": may("close"),
        "cancel": may("cancel"),
    })
}

#[derive(Deserialize)]
pub(super) struct ChangeForm {
    csrf: String,
    action: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    risk: String,
    #[serde(default)]
    approvers: String,
    #[serde(default)]
    rule: String,
    #[serde(default)]
    of: String,
    /// A window in the viewer's own time zone, as datetime-local sends it.
    #[serde(default)]
    start: String,
    #[serde(default)]
    end: String,
    #[serde(default)]
    outcome: String,
}

/// A local date and time from a `datetime-local` field, in the viewer's zone.
fn local_instant(field: &str, value: &str, tz: Tz) -> Result<chrono::DateTime<chrono::Utc>, AppError> {
    use chrono::TimeZone;
    let naive = chrono::NaiveDateTime::parse_from_str(value.trim(), "%Y-%m-%dT%H:%M")
        .map_err(|_| crate::app::invalid(field, "expected a date and time"))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|t| t.with_timezone(&chrono::Utc))
        .ok_or_else(|| crate::app::invalid(field, "that time does not exist on that day (the clocks change)"))
}

/// An action on a change from its page.
pub(super) async fn change_action(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<ChangeForm>,
) -> Result<HttpResponse, WebError> {
    use crate::app::itil::ChangeCommand as C;
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let f = form.into_inner();
    let tz = v.tz();
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || {
        let text = f.text.trim().to_string();
        let enumerated = |field: &str, value: &str| -> Result<Value, AppError> {
            if value.trim().is_empty() {
                return Err(crate::app::invalid(field, "choose one"));
            }
            Ok(Value::String(value.trim().to_string()))
        };
        let command = match f.action.as_str() {
            "submit" => C::Submit,
            "assess" => C::Assess {
                risk: serde_json::from_value(enumerated("risk", &f.risk)?)
                    .map_err(|_| crate::app::invalid("risk", "low, medium or high"))?,
                impact: text,
            },
            "send_to_cab" => C::SendToCab {
                approvers: f
                    .approvers
                    .split([',', '\n', ' '])
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
                    .collect(),
                rule: f.rule.clone(),
                of: f.of.trim().parse().ok(),
            },
            "approve" => C::Approve { comment: text },
            "reject" => C::Reject { comment: text },
            "schedule" => C::Schedule {
                start: local_instant("start", &f.start, tz)?,
                end: local_instant("end", &f.end, tz)?,
                reason: Some(text).filter(|t| !t.is_empty()),
            },
            "start" => C::Start,
            "complete" => C::Complete,
            "back_out" => C::BackOut { note: text },
            "fail" => C::Fail { note: text },
            "review" => C::Review {
                outcome: serde_json::from_value(enumerated("outcome", &f.outcome)?)
                    .map_err(|_| crate::app::invalid("outcome", "success, failure or backed_out"))?,
                notes: text,
            },
            "close" => C::Close,
            "cancel" => C::Cancel { reason: text },
            _ => return Err(AppError::NotFound("that action".into())),
        };
        a.act_on_change(&who, &r, &command, crate::app::now())
    })
    .await?;
    answer(
        &v,
        app,
        reference,
        outcome,
        "change#change",
        StatusCode::UNPROCESSABLE_ENTITY,
    )
    .await
}

#[derive(Deserialize)]
pub(super) struct MergeForm {
    csrf: String,
    into: String,
}

/// Merges this ticket into another from its page (staff); the target's page follows.
pub(super) async fn merge_action(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<MergeForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let reference = path.into_inner();
    let req = crate::app::tickets::MergeRequest {
        into: form.into.trim().to_string(),
    };
    let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
    let outcome = run_form(move || a.merge_ticket(&who, &r, &req, crate::app::now())).await?;
    match outcome {
        Ok(t) => Ok(redirect(&format!("/tickets/{}?done=merged", t.reference))),
        Err(e) => ticket_page(&v, app, reference, None, Some(e), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}
