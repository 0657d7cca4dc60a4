//! The CAB's agenda and the change calendar, as pages: the changes waiting
//! for the CAB with their votes so far, and a month or a week of scheduled
//! changes in the viewer's time zone, with the freezes and the clashes
//! (two changes on one service at once), and the iCalendar feed's address.

use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};

use super::*;

/// The changes waiting for the CAB (staff).
pub(super) async fn cab_page(v: Viewer, app: State) -> Result<HttpResponse, WebError> {
    let (a, who) = (app.get_ref().clone(), v.who());
    if !who.role.is_staff() {
        return Err(WebError::not_found());
    }
    let me = who.email.clone();
    let tz = v.tz();
    let agenda = run(move || a.cab_agenda(&who)).await?;
    let items: Vec<Value> = agenda.iter().map(|c| change_json_row(c, &me, tz)).collect();
    page(Some(&v.session), "CAB agenda", "cab", json!({"items": items}))
}

fn change_json_row(c: &crate::app::itil::ChangeView, me: &str, tz: Tz) -> Value {
    json!({
        "reference": c.reference,
        "subject": c.subject,
        "organisation": c.organisation,
        "kind": c.kind,
        "status_text": status_text(&c.status),
        "risk": c.risk,
        "needed": c.needed,
        "approvals": c.approvals,
        "mine": c.cab.iter().any(|v| v.email.eq_ignore_ascii_case(me) && v.approve.is_none()),
        "services": c.services.join(", "),
        "start": when_opt(c.window_start, tz),
        "end": when_opt(c.window_end, tz),
    })
}

#[derive(Deserialize)]
pub(super) struct CalendarQuery {
    /// YYYY-MM: a month.
    month: Option<String>,
    /// YYYY-MM-DD: the week starting that Monday (or the Monday before).
    week: Option<String>,
}

/// A month or a week of the change calendar, in the viewer's zone.
pub(super) async fn calendar_page(
    v: Viewer,
    app: State,
    q: web::Query<CalendarQuery>,
) -> Result<HttpResponse, WebError> {
    let tz = v.tz();
    let today = Utc::now().with_timezone(&tz).date_naive();
    let bad = |what: &str| WebError::Page {
        status: StatusCode::BAD_REQUEST,
        title: "Not a date".into(),
        detail: format!(
            "{what}: expected {}",
            if what == "month" { "YYYY-MM" } else { "YYYY-MM-DD" }
        ),
    };
    // The days shown: whole weeks, Monday first.
    let (first, days, title, prev, next, week_view) = match (&q.week, &q.month) {
        (Some(w), _) => {
            let d = NaiveDate::parse_from_str(w, "%Y-%m-%d").map_err(|_| bad("week"))?;
            let monday = d - Duration::days(d.weekday().num_days_from_monday() as i64);
            let title = format!("Week of {}", monday.format("%-d %B %Y"));
            let prev = format!("?week={}", monday - Duration::days(7));
            let next = format!("?week={}", monday + Duration::days(7));
            (monday, 7, title, prev, next, true)
        }
        (None, m) => {
            let start = match m {
                Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| bad("month"))?,
                None => today.with_day(1).unwrap_or(today),
            };
            let next_month = (start + Duration::days(32)).with_day(1).unwrap_or(start);
            let prev_month = (start - Duration::days(1)).with_day(1).unwrap_or(start);
            let monday = start - Duration::days(start.weekday().num_days_from_monday() as i64);
            let end = next_month + Duration::days((7 - next_month.weekday().num_days_from_monday() as i64) % 7);
            let days = (end - monday).num_days();
            let title = start.format("%B %Y").to_string();
            (
                monday,
                days,
                title,
                format!("?month={}", prev_month.format("%Y-%m")),
                format!("?month={}", next_month.format("%Y-%m")),
                false,
            )
        }
    };
    let local_midnight = |d: NaiveDate| {
        tz.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
            .earliest()
            .map_or_else(
                || d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
                |t| t.with_timezone(&Utc),
            )
    };
    let from = local_midnight(first);
    let to = local_midnight(first + Duration::days(days));
    let (a, who) = (app.get_ref().clone(), v.who());
    let me = who.email.clone();
    let cal = run(move || a.change_calendar(&who, from, to)).await?;
    let clashing: std::collections::HashSet<&str> = cal
        .clashes
        .iter()
        .flat_map(|c| [c.first.as_str(), c.second.as_str()])
        .collect();
    let weeks: Vec<Value> = (0..days)
        .step_by(7)
        .map(|w| {
            let cells: Vec<Value> = (w..w + 7)
                .map(|i| {
                    let day = first + Duration::days(i);
                    let (d0, d1) = (local_midnight(day), local_midnight(day + Duration::days(1)));
                    let changes: Vec<Value> = cal
                        .changes
                        .iter()
                        .filter(|c| c.window_start.is_some_and(|s| s < d1) && c.window_end.is_some_and(|e| e > d0))
                        .map(|c| {
                            let mut row = change_json_row(c, &me, tz);
                            row["clash"] = clashing.contains(c.reference.as_str()).into();
                            row
                        })
                        .collect();
                    let frozen: Vec<&str> = cal
                        .freezes
                        .iter()
                        .filter(|f| f.start < d1 && f.end > d0)
                        .map(|f| f.name.as_str())
                        .collect();
                    json!({
                        "date": day.to_string(),
                        "label": if week_view { day.format("%A %-d %B").to_string() } else { day.format("%-d").to_string() },
                        "outside": !week_view && (day.month() != (first + Duration::days(7)).month()),
                        "today": day == today,
                        "changes": changes,
                        "freeze": frozen.join(", "),
                    })
                })
                .collect();
            json!({"days": cells})
        })
        .collect();
    let clashes: Vec<Value> = cal
        .clashes
        .iter()
        .map(|c| json!({"first": c.first, "second": c.second, "services": c.services.join(", ")}))
        .collect();
    let ics = format!(
        "/api/v1/changes/calendar.ics?from={}&to={}",
        url::form_urlencoded::byte_serialize(from.to_rfc3339().as_bytes()).collect::<String>(),
        url::form_urlencoded::byte_serialize(to.to_rfc3339().as_bytes()).collect::<String>()
    );
    page(
        Some(&v.session),
        &format!("Change calendar: {title}"),
        "change_calendar",
        json!({
            "title": title, "weeks": weeks, "week_view": week_view, "prev": prev, "next": next,
            "clashes": clashes, "ics": ics,
            "week_link": format!("?week={}", if week_view { first } else { today }),
            "month_link": format!("?month={}", first.format("%Y-%m")),
        }),
    )
}
