//! The "Why is it due then?" panel of a ticket's page: the explanation of
//! both clocks (`App::explain_ticket_sla`) in words, in the viewer's time
//! zone. A customer reads a pause as time waiting on them, and is not shown
//! where the desk keeps its policy files.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use serde_json::{Value, json};

use crate::app::tickets::SlaExplanation;
use crate::domain::duration::business_text;
use crate::domain::ticket::explain::{ClockExplanation, waiting};
use crate::domain::vocabulary::ClockKind;
use crate::web::{State, Viewer, WebError, run, when};

/// One clock: its rows in time order (counted and skipped), and the
/// arithmetic of its due or breach instant in a sentence.
fn clock_json(c: &ClockExplanation, day: i64, tz: Tz, customer: bool) -> Value {
    let span = |s: i64| business_text(s, day);
    let mut rows: Vec<(DateTime<Utc>, Value)> = c
        .counted
        .iter()
        .map(|k| {
            (
                k.from,
                json!({
                    "from": when(k.from, tz), "to": when(k.to, tz),
                    "counted": span(k.business_seconds), "total": span(k.running_total),
                    "skipped": null, "projected": k.projected,
                }),
            )
        })
        .collect();
    rows.extend(c.gaps.iter().map(|g| {
        (
            g.from,
            json!({
                "from": when(g.from, tz), "to": when(g.to, tz),
                "skipped": g.why.words(customer), "counted": null, "total": null,
                "projected": g.projected,
            }),
        )
    }));
    rows.sort_by_key(|(at, _)| *at);
    let target = c.target_seconds.map(span);
    let arithmetic = match (&c.crossing, c.target_seconds) {
        (Some(x), Some(t)) => {
            let verb = if c.breached_at.is_some() {
                "breached at"
            } else {
                "due at"
            };
            format!(
                "{} counted before the interval from {}; the {} target is reached {} into it: {} {}.",
                span(x.counted_before),
                when(x.interval_from, tz)["text"].as_str().unwrap_or_default(),
                span(t),
                span(x.into_interval_seconds),
                verb,
                when(x.at, tz)["text"].as_str().unwrap_or_default(),
            )
        }
        (None, Some(t)) => format!(
            "{} counted of the {} target: it was not reached while the clock ran.",
            span(c.elapsed_seconds),
            span(t)
        ),
        _ => "This severity has no target for this clock.".into(),
    };
    json!({
        "title": match c.kind { ClockKind::Response => "Response", ClockKind::Resolve => "Resolution" },
        "state": super::state_words(c.state).0,
        "target": target,
        "elapsed": span(c.elapsed_seconds),
        "remaining": c.remaining_seconds.map(span),
        "rows": rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        "not_listed": c.intervals_not_listed,
        "paused": c.paused.as_ref().map(|p| format!(
            "{} since {}", capitalise(&waiting(p.status, customer)), when(p.since, tz)["text"].as_str().unwrap_or_default()
        )),
        "arithmetic": arithmetic,
    })
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// The panel's data.
pub(super) fn explanation_json(e: &SlaExplanation, tz: Tz, customer: bool) -> Value {
    let x = &e.explanation;
    let day = e.calendar.day_seconds;
    let calendar = e.calendar.words();
    json!({
        "policy": format!("{}, version {}, in force from {}", e.policy_note.name, e.policy_note.version, e.policy_note.effective_from),
        "source": e.policy_note.source,
        "calendar": calendar,
        "as_of": when(x.as_of, tz),
        "severity_changes": x.severity_changes.iter().map(|s| format!(
            "{}: severity {} → {}. Both clocks are measured on severity {}'s targets from the time the ticket was received.",
            when(s.at, tz)["text"].as_str().unwrap_or_default(), s.from.number(), s.to.number(), x.severity.number()
        )).collect::<Vec<_>>(),
        "clocks": x.clocks.iter().map(|c| clock_json(c, day, tz, customer)).collect::<Vec<_>>(),
        "history": format!("/tickets/{}/sla-history.jsonl", e.reference),
    })
}

/// The ticket's history as one `sladesk sla replay` line, to download and
/// check offline (docs/sla-replay.md); the viewer's copy, as the API gives it.
pub(super) async fn history(
    v: Viewer,
    app: State,
    path: actix_web::web::Path<String>,
) -> Result<actix_web::HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let who = v.who();
    let reference = path.into_inner();
    let name = format!("{reference}-sla-history.jsonl");
    let line = run(move || app.ticket_sla_history(&who, &reference)).await?;
    Ok(actix_web::HttpResponse::Ok()
        .content_type("application/jsonl")
        .insert_header(("Content-Disposition", format!("attachment; filename=\"{name}\"")))
        .insert_header(("Cache-Control", "no-store"))
        .body(format!("{line}\n")))
}
