//! The search page behind the header's search box: the API's query
//! language, its results with the matched words marked, a reference alone
//! straight to its ticket, and a malformed query told on the page.

use super::*;
use crate::app::tickets::{SEARCH_WINDOW, SearchRequest};

/// Results on one page.
const PER_PAGE: i64 = 20;

#[derive(Deserialize, Default)]
pub(super) struct SearchQuery {
    q: Option<String>,
    page: Option<String>,
}

pub(super) async fn search_page(v: Viewer, app: State, q: web::Query<SearchQuery>) -> Result<HttpResponse, WebError> {
    let SearchQuery { q, page: page_param } = q.into_inner();
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
        let q: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &text)
            .finish();
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
            "window_full": found.window_full,
            "window": SEARCH_WINDOW,
            "previous": (page_no > 1).then(|| link(page_no - 1)),
            "next": (found.more && page_no < last_page).then(|| link(page_no + 1)),
        }),
    )
}
