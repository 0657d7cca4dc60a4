//! The canned replies page (staff): every macro the viewer may use, with
//! its scope and moves; keep a new one (personal, a queue's, or
//! desk-wide, as the app allows the viewer), change or remove one. Each
//! change is audited by the app.

use super::*;
use crate::app::macros::MacroRequest;

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
}

pub(super) async fn macros_page(v: Viewer, app: State, q: web::Query<Done>) -> Result<HttpResponse, WebError> {
    let notice = match q.done.as_deref() {
        Some("kept") => Some("Canned reply kept.".to_string()),
        Some("changed") => Some("Canned reply changed; the text before is in the audit log.".to_string()),
        Some("removed") => Some("Canned reply removed.".to_string()),
        _ => None,
    };
    macros_page_with(&v, app, notice, None).await
}

async fn macros_page_with(
    v: &Viewer,
    app: State,
    notice: Option<String>,
    error: Option<String>,
) -> Result<HttpResponse, WebError> {
    let (a, who, tz) = (app.get_ref().clone(), v.who(), v.tz());
    let (list, queues) = run(move || Ok((a.list_macros(&who)?, a.list_queues(&who)?))).await?;
    let list: Vec<Value> = list
        .iter()
        .map(|m| {
            let scope = match (m.scope.as_str(), &m.queue) {
                ("queue", Some(q)) => format!("queue {q}"),
                ("personal", _) => "yours".to_string(),
                _ => "desk-wide".to_string(),
            };
            json!({
                "id": m.id, "name": m.name, "body": m.body, "scope": scope,
                "status": m.set_status, "severity": m.set_severity, "assignee": m.set_assignee,
                "updated": when(m.updated_at, tz),
            })
        })
        .collect();
    let queues: Vec<Value> = queues.iter().map(|q| json!({"slug": q.slug, "name": q.name})).collect();
    page_with_status(
        form_status(&error),
        Some(&v.session),
        "Canned replies",
        "macros",
        json!({"macros": list, "queues": queues, "notice": notice, "error": error}),
    )
}

/// The form's fields as a macro request: empty fields are "not given".
fn request(f: &std::collections::HashMap<String, String>) -> Result<MacroRequest, AppError> {
    let opt = |k: &str| f.get(k).map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    let scope = opt("scope").unwrap_or_else(|| "personal".into());
    Ok(MacroRequest {
        name: opt("name"),
        body: f.get("body").map(|b| b.replace("\r\n", "\n")),
        queue: scope.strip_prefix("queue:").map(str::to_string),
        personal: scope == "personal",
        set_status: opt("set_status"),
        set_severity: opt("set_severity")
            .map(|s| {
                s.parse()
                    .map_err(|_| crate::app::invalid("set_severity", "expected 1, 2, 3 or 4"))
            })
            .transpose()?,
        set_assignee: opt("set_assignee"),
    })
}

/// Keeps, changes (`id` given) or removes (`remove`) a macro from the page.
pub(super) async fn macros_post(
    v: Viewer,
    app: State,
    form: web::Form<std::collections::HashMap<String, String>>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(form.get("csrf").map(String::as_str).unwrap_or(""))?;
    let f = form.into_inner();
    let (a, who) = (app.get_ref().clone(), v.who());
    let outcome = run_form(move || {
        let now = crate::app::now();
        let id = f.get("id").and_then(|s| s.parse::<i64>().ok());
        match id {
            Some(id) if f.contains_key("remove") => a.delete_macro(&who, id, now).map(|_| "removed"),
            Some(id) => a.update_macro(&who, id, request(&f)?, now).map(|_| "changed"),
            None => a.create_macro(&who, request(&f)?, now).map(|_| "kept"),
        }
    })
    .await?;
    match outcome {
        Ok(done) => Ok(redirect(&format!("/macros?done={done}"))),
        Err(refusal) => macros_page_with(&v, app, None, Some(refusal.to_string())).await,
    }
}
