//! Raising a ticket from the page, with files.

use super::*;

/// The form to raise a ticket. A severity is asked for only where the
/// organisation may declare one; elsewhere the desk sets it.
pub(super) async fn new_ticket_page(
    v: &Viewer,
    app: &State,
    form: Value,
    error: Option<String>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    let may_declare = run(move || a.may_declare_severity(&who)).await?;
    let severity = form
        .get("severity")
        .and_then(|s| s.as_str())
        .and_then(|s| s.parse().ok());
    page_with_status(
        status,
        Some(&v.session),
        "Raise a ticket",
        "new_ticket",
        json!({
            "severities": severity_options(severity.or(Some(3))),
            "may_declare": may_declare,
            "form": form,
            "error": error,
            "limit_mb": 0,
        }),
    )
}

pub(super) async fn new_page(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    if v.session.principal.role != Role::Customer {
        return Err(WebError::Page {
            status: StatusCode::FORBIDDEN,
            title: "Customers raise tickets here".into(),
            detail: "Staff raise tickets for a customer through the API or by mail.".into(),
        });
    }
    new_ticket_page(&v, &app, json!({}), None, StatusCode::OK).await
}

pub(super) use crate::web::upload::field;

pub(super) async fn create(
    v: Viewer,
    app: State,
    gate: web::Data<crate::api::body::BodyGate>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, WebError> {
    let (form, files) = crate::web::upload::read_multipart(&v, &app, &gate, &req, payload).await?;
    let chosen = field(&form, "severity")
        .parse::<u8>()
        .ok()
        .and_then(|n| Severity::try_from(n).ok());
    let (a, who) = (app.get_ref().clone(), v.who());
    let may_declare = run(move || a.may_declare_severity(&who)).await?;
    if may_declare && chosen.is_none() {
        return new_ticket_page(
            &v,
            &app,
            form,
            Some("Choose a severity.".into()),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let severity = chosen;
    let req = NewTicketRequest {
        subject: field(&form, "subject").to_string(),
        description: field(&form, "description").to_string(),
        severity,
        queue: None,
        organisation: None,
        requester: None,
        source: Some("web".into()),
    };
    let a = app.get_ref().clone();
    let who = v.who();
    let outcome = run_form(move || a.create_ticket_with_files(&who, req, &files, crate::app::now())).await?;
    match outcome {
        Ok(t) => Ok(redirect(&format!("/tickets/{}?done=raised", t.reference))),
        Err(r) => new_ticket_page(&v, &app, form, Some(r.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    }
}
