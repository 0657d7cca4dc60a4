//! The service catalogue in the portal: what may be requested, the
//! requests waiting for the viewer's approval, and each item's form, its
//! fields drawn from the item's definition and checked by the core when
//! sent (every wrong field is named back on the form).

use std::collections::BTreeMap;

use super::*;
use crate::app::itil::{CatalogueItemView, NewServiceRequest};
use crate::domain::itil::catalogue::{Approval, FieldKind};

fn approval_text(a: Approval) -> Option<&'static str> {
    match a {
        Approval::None => None,
        Approval::AccountContact => Some("approved by your account contact"),
        Approval::AnotherContact => Some("approved by a colleague you name"),
    }
}

pub(super) async fn catalogue_page(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    let customer = who.role == Role::Customer;
    let (items, approvals) = run(move || {
        let items = a.catalogue_items(&who)?;
        let approvals = if customer {
            a.awaiting_my_approval(&who)?
        } else {
            Vec::new()
        };
        Ok::<_, AppError>((items, approvals))
    })
    .await?;
    let items: Vec<Value> = items
        .iter()
        .map(|i| json!({"slug": i.slug, "name": i.name, "description": i.description, "target": i.target, "approval_text": approval_text(i.approval)}))
        .collect();
    let approvals: Vec<Value> = approvals
        .iter()
        .map(|(r, s)| json!({"reference": r, "subject": s}))
        .collect();
    page(
        Some(&v.session),
        "Request something",
        "catalogue",
        json!({"items": items, "approvals": approvals}),
    )
}

async fn form_page(
    v: &Viewer,
    item: &CatalogueItemView,
    given: &BTreeMap<String, String>,
    approver: &str,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let fields: Vec<Value> = item
        .fields
        .iter()
        .map(|f| {
            let value = given.get(&f.key).cloned().unwrap_or_default();
            let mut o = json!({"key": f.key, "label": f.label, "required": f.required, "value": value});
            match &f.kind {
                FieldKind::Text { max_length } => {
                    o["input_type"] = "text".into();
                    o["max_length"] = (*max_length).into();
                }
                FieldKind::Choice { choices } => {
                    o["choice"] = true.into();
                    o["choices"] = choices
                        .iter()
                        .map(|c| json!({"value": c, "selected": *c == value}))
                        .collect::<Vec<_>>()
                        .into();
                }
                FieldKind::Number { min, max } => {
                    o["input_type"] = "number".into();
                    o["min"] = min.to_string().into();
                    o["max"] = max.to_string().into();
                }
                FieldKind::Date => o["input_type"] = "date".into(),
                FieldKind::User => o["input_type"] = "email".into(),
            }
            o
        })
        .collect();
    page_with_status(
        status,
        Some(&v.session),
        &item.name,
        "request_form",
        json!({
            "item": item,
            "fields": fields,
            "needs_approver": item.approval == Approval::AnotherContact,
            "account_contact": item.approval == Approval::AccountContact,
            "approver": approver,
            "error": error,
        }),
    )
}

pub(super) async fn item_page(v: Viewer, app: State, path: web::Path<String>) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    let item = run(move || a.catalogue_item(&who, &path)).await?;
    form_page(&v, &item, &BTreeMap::new(), "", None, StatusCode::OK).await
}

/// Sends an item's form: fields arrive as `f.<key>`.
pub(super) async fn request_item(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, WebError> {
    let form = form.into_inner();
    let get = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    v.check_csrf(&get("csrf"))?;
    let answers: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, val)| k.strip_prefix("f.").map(|k| (k.to_string(), val.clone())))
        .collect();
    let approver = get("approver");
    let slug = path.into_inner();
    let req = NewServiceRequest {
        item: slug.clone(),
        answers: answers.clone(),
        approver: Some(approver.clone()).filter(|a| !a.trim().is_empty()),
        source: Some("web".into()),
        ..NewServiceRequest::default()
    };
    let (a, who) = (app.get_ref().clone(), v.who());
    let outcome = run_form(move || a.request_item(&who, req, crate::app::now())).await?;
    match outcome {
        Ok(r) => Ok(redirect(&format!("/tickets/{}?done=requested", r.reference))),
        Err(refusal) => {
            let (a, who) = (app.get_ref().clone(), v.who());
            let item = run(move || a.catalogue_item(&who, &slug)).await?;
            form_page(
                &v,
                &item,
                &answers,
                &approver,
                Some(refusal.to_string()),
                StatusCode::UNPROCESSABLE_ENTITY,
            )
            .await
        }
    }
}
