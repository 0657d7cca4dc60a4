//! The record beside a ticket that is not an incident, on its page: a
//! service request's form as filled in, its approvers and fulfilment clock,
//! and what the viewer may do with it (an approver approves or refuses,
//! staff fulfil, the requester withdraws).

use super::*;
use crate::app::itil::{RequestCommand, RequestView};

/// What the page shows of a service request, and which of its actions the
/// viewer is offered (the core decides again when one is sent).
pub(super) fn request_json(r: &RequestView, staff: bool, requester: bool, tz: Tz) -> Value {
    let s = r.status.as_str();
    let open = !matches!(s, "fulfilled" | "closed" | "refused" | "cancelled");
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
        "start": staff && s == "new",
        "ask": staff && matches!(s, "new" | "in_fulfilment"),
        "fulfil": staff && matches!(s, "new" | "in_fulfilment" | "awaiting_customer"),
        "close": staff && s == "fulfilled",
        "reopen": (staff || requester) && s == "fulfilled",
        "cancel": (staff || requester) && open,
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
