//! The search page behind the header's search box: the API's query
//! language, its results with the matched words marked, a reference alone
//! straight to its ticket, and a malformed query told on the page.

use super::*;
use crate::app::tickets::{SEARCH_WINDOW, SearchRequest};
use crate::app::views::{NewView, ViewInfo};

/// Results on one page.
const PER_PAGE: i64 = 20;

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    q: Option<String>,
    sort: Option<String>,
    page: Option<String>,
    saved: Option<String>,
}

pub(super) async fn search_page(v: Viewer, app: State, q: web::Query<SearchQuery>) -> Result<HttpResponse, WebError> {
    let SearchQuery {
        q,
        sort,
        page: page_param,
        saved,
    } = q.into_inner();
    let sort = sort.filter(|s| !s.is_empty());
    let text = q.unwrap_or_default();
    let staff = v.session.principal.role.is_staff();
    if text.trim().is_empty() {
        return page(
            Some(&v.session),
            "Search",
            "search",
            json!({"q": "", "staff": staff, "asked": false}),
        );
    }
    let last_page = SEARCH_WINDOW / PER_PAGE;
    let page_no = page_param
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(1)
        .clamp(1, last_page);
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let req = SearchRequest {
        q: text.clone(),
        limit: Some(PER_PAGE),
        offset: Some((page_no - 1) * PER_PAGE),
        sort: sort.clone(),
    };
    let queues_app = app.clone();
    let queues_who = v.who();
    let queues: Vec<Value> = if staff {
        run(move || queues_app.list_queues(&queues_who))
            .await?
            .into_iter()
            .map(|q| json!({"value": q.slug, "label": q.name}))
            .collect()
    } else {
        Vec::new()
    };
    let found = run_form(move || {
        // A filter for staff only is a mistake in what was typed, shown
        // beside it like any other.
        app.search_tickets(&who, &req, crate::app::now()).map_err(|e| match e {
            AppError::NotForCaller { field, message } => AppError::Invalid { field, message },
            e => e,
        })
    })
    .await?;
    let found = match found {
        Ok(f) => f,
        Err(refusal) => {
            return page_with_status(
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(&v.session),
                "Search",
                "search",
                json!({"q": text, "staff": staff, "asked": true, "error": refusal.message}),
            );
        }
    };
    if let Some(reference) = &found.jump {
        return Ok(redirect(&format!("/tickets/{reference}")));
    }
    let now = crate::app::now();
    let results: Vec<Value> = found
        .items
        .iter()
        .map(|hit| {
            let mut t = ticket_json(&hit.ticket, None, tz, now);
            t["snippet"] = json!(hit.snippet);
            t
        })
        .collect();
    let link = |n: i64| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        q.append_pair("q", &text);
        if let Some(s) = &sort {
            q.append_pair("sort", s);
        }
        let q = q.finish();
        if n > 1 {
            format!("/search?{q}&page={n}")
        } else {
            format!("/search?{q}")
        }
    };
    let first = (page_no - 1) * PER_PAGE + 1;
    let summary = match (found.total, results.len()) {
        (0, _) => "No tickets match.".to_string(),
        (_, 0) => format!("No results on page {page_no}."),
        (total, shown) => format!(
            "{first}–{} of {}{} {}, best first",
            first + shown as i64 - 1,
            total,
            if found.window_full { "+" } else { "" },
            if total == 1 { "ticket" } else { "tickets" }
        ),
    };
    page(
        Some(&v.session),
        &format!("Search: {text}"),
        "search",
        json!({
            "q": text,
            "staff": staff,
            "asked": true,
            "results": results,
            "summary": summary,
            "sort": sort,
            "queues": queues,
            "saved": saved.is_some(),
            "window_full": found.window_full,
            "window": SEARCH_WINDOW,
            "previous": (page_no > 1).then(|| link(page_no - 1)),
            "next": (found.more && page_no < last_page).then(|| link(page_no + 1)),
        }),
    )
}

/// Saved views as the queue's side bar lists them: each a link to its
/// search, with its count.
pub(super) fn views_json(views: &[ViewInfo]) -> Vec<Value> {
    views
        .iter()
        .map(|v| {
            let mut q = url::form_urlencoded::Serializer::new(String::new());
            q.append_pair("q", &v.query);
            if let Some(s) = &v.sort {
                q.append_pair("sort", s);
            }
            json!({
                "id": v.id,
                "name": v.name,
                "href": format!("/search?{}", q.finish()),
                "count": format!("{}{}", v.count.total, if v.count.more { "+" } else { "" }),
                "queue": v.queue,
                "deletable": v.deletable,
            })
        })
        .collect()
}

#[derive(Deserialize)]
pub(super) struct SaveViewForm {
    csrf: String,
    name: String,
    query: String,
    sort: Option<String>,
    queue: Option<String>,
}

/// Keeps the search on the page as a view, then shows it again.
pub(super) async fn save_view(v: Viewer, app: State, form: web::Form<SaveViewForm>) -> Result<HttpResponse, WebError> {
    let f = form.into_inner();
    v.check_csrf(&f.csrf)?;
    let app = app.get_ref().clone();
    let who = v.who();
    let new = NewView {
        name: f.name,
        query: f.query.clone(),
        sort: f.sort.filter(|s| !s.is_empty()),
        queue: f.queue.filter(|q| !q.is_empty()),
    };
    let saved = run_form(move || app.create_view(&who, new, crate::app::now())).await?;
    let q: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("q", &f.query)
        .finish();
    match saved {
        Ok(_) => Ok(redirect(&format!("/search?{q}&saved=1"))),
        Err(refusal) => Err(WebError::Page {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            title: "The view was not kept".into(),
            detail: refusal.to_string(),
        }),
    }
}

#[derive(Deserialize)]
pub(super) struct DeleteViewForm {
    csrf: String,
}

/// Deletes a view from the queue's side bar.
pub(super) async fn delete_view(
    v: Viewer,
    app: State,
    path: web::Path<i64>,
    form: web::Form<DeleteViewForm>,
) -> Result<HttpResponse, WebError> {
    v.check_csrf(&form.csrf)?;
    let app = app.get_ref().clone();
    let who = v.who();
    let id = path.into_inner();
    run(move || app.delete_view(&who, id, crate::app::now())).await?;
    Ok(redirect("/queue"))
}
