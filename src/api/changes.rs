//! Changes and the CAB: `/api/v1/changes` (raise one), `/tickets/{ref}/change`
//! (the record) with its `actions` (submit, assess, send to the CAB, vote,
//! schedule, ... review), `/api/v1/cab` (the agenda), the change calendar
//! (`/api/v1/changes/calendar`, and `.ics` for calendar programs) and the
//! change freezes.

use actix_web::{HttpResponse, http::header, web};
use chrono::{DateTime, Datelike, Duration, Utc};
use serde::Deserialize;

use super::auth::Caller;
use super::problem::Problem;
use super::{State, run};
use crate::app::itil::{ChangeCalendar, ChangeCommand, ChangeView, FreezeView, NewChange};

#[utoipa::path(post, path = "/api/v1/changes", tag = "changes", request_body = NewChange, security(("bearer" = [])),
    responses((status = 201, description = "Raised, as a draft", body = ChangeView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn raise_change(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewChange>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.raise_change(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created()
        .insert_header((header::LOCATION, format!("/api/v1/tickets/{}/change", v.reference)))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/change", tag = "changes", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The change (its organisation's contacts see no CAB or risk)", body = ChangeView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json"), (status = 409, description = "The ticket is not a change", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn get_change(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.change_record(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/change/actions", tag = "changes", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ChangeCommand, security(("bearer" = [])),
    responses((status = 200, description = "Done: the change now", body = ChangeView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff, or voting without a seat on its CAB", body = Problem, content_type = "application/problem+json"), (status = 404, description = "No such ticket, or not one the caller may see", body = Problem, content_type = "application/problem+json"), (status = 409, description = "Not now, or not a change", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A bad value, or a window in a freeze", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn change_action(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    body: web::Json<ChangeCommand>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.act_on_change(&who, &path, &body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Ok().json(v))
}

#[utoipa::path(get, path = "/api/v1/cab", tag = "changes", security(("bearer" = [])),
    responses((status = 200, description = "The changes awaiting the CAB, oldest first, with their votes", body = Vec<ChangeView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not staff", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn cab_agenda(app: State, Caller(who): Caller) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.cab_agenda(&who)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[derive(Deserialize, utoipa::IntoParams)]
pub(super) struct Period {
    /// The first instant shown; the start of this month (UTC) if absent.
    from: Option<DateTime<Utc>>,
    /// The end; `from` plus 31 days if absent; at most 100 days on.
    to: Option<DateTime<Utc>>,
}

impl Period {
    pub(super) fn bounds(&self, now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
        let month = now
            .date_naive()
            .with_day(1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map_or(now, |d| d.and_utc());
        let from = self.from.unwrap_or(month);
        (from, self.to.unwrap_or(from + Duration::days(31)))
    }
}

#[utoipa::path(get, path = "/api/v1/changes/calendar", tag = "changes", params(Period), security(("bearer" = [])),
    responses((status = 200, description = "Scheduled changes in the period, the freezes, and the clashes (two changes on one service at once); contacts see their own organisation's", body = ChangeCalendar), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 422, description = "A period over 100 days", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn calendar(app: State, Caller(who): Caller, q: web::Query<Period>) -> Result<HttpResponse, Problem> {
    let (from, to) = q.bounds(crate::app::now());
    let app = app.get_ref().clone();
    let v = run(move || app.change_calendar(&who, from, to)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/changes/calendar.ics", tag = "changes", params(Period), security(("bearer" = [])),
    responses((status = 200, description = "The same period as iCalendar (RFC 5545): one event per scheduled change, one per freeze", content_type = "text/calendar"), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json")))]
pub(super) async fn calendar_ics(
    app: State,
    Caller(who): Caller,
    q: web::Query<Period>,
) -> Result<HttpResponse, Problem> {
    let (from, to) = q.bounds(crate::app::now());
    let page = app.page_url("/changes/calendar");
    let app = app.get_ref().clone();
    let v = run(move || app.change_calendar(&who, from, to)).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::CONTENT_DISPOSITION, "inline; filename=\"changes.ics\""))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(ics(&v, &page)))
}

/// The calendar as iCalendar: changes by reference, freezes by id.
pub(crate) fn ics(cal: &ChangeCalendar, page: &str) -> String {
    use icalendar::{Calendar, Component, Event, EventLike, EventStatus};
    let host = super::feeds::host_of(page);
    let mut out = Calendar::new();
    out.name("Change calendar");
    out.description("Scheduled changes and change freezes");
    for c in &cal.changes {
        let (Some(start), Some(end)) = (c.window_start, c.window_end) else {
            continue;
        };
        let mut ev = Event::new();
        let services = if c.services.is_empty() {
            String::new()
        } else {
            format!("\nServices: {}", c.services.join(", "))
        };
        ev.uid(&format!("change-{}@{host}", c.reference))
            .summary(&format!("{} {} ({} change)", c.reference, c.subject, c.kind))
            .description(&format!("Status: {}{services}", c.status.replace('_', " ")))
            .starts(start)
            .ends(end)
            .url(&format!("{page}#{}", c.reference))
            .status(if c.status == "cancelled" {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            });
        out.push(ev.done());
    }
    for f in &cal.freezes {
        let mut ev = Event::new();
        ev.uid(&format!("freeze-{}@{host}", f.id))
            .summary(&format!("Change freeze: {}", f.name))
            .starts(f.start)
            .ends(f.end)
            .status(EventStatus::Confirmed);
        out.push(ev.done());
    }
    out.done().to_string()
}

#[utoipa::path(post, path = "/api/v1/change-freezes", tag = "changes", request_body = FreezeView, security(("bearer" = [])),
    responses((status = 201, description = "Recorded", body = FreezeView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Not a manager or admin", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem, content_type = "application/problem+json")))]
pub(super) async fn add_freeze(
    app: State,
    Caller(who): Caller,
    body: web::Json<FreezeView>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.add_freeze(&who, body.into_inner(), crate::app::now())).await?;
    Ok(HttpResponse::Created().json(v))
}
