//! Tickets over HTTP: raise, read, list, timeline, clocks, changes, the
//! lifecycle, files and original messages.

use super::*;

/// Staff: the ticket's version, which `If-Match` takes back. A customer:
/// a digest of exactly what they are shown, so it moves when and only when
/// their view does (an internal note must not move it).
pub(super) fn etag(v: &TicketView, customer: bool) -> String {
    if customer {
        use sha2::Digest;
        let text = serde_json::to_vec(v).unwrap_or_default();
        let digest: String = sha2::Sha256::digest(&text)
            .iter()
            .take(10)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("W/\"c{digest}\"")
    } else {
        format!("\"{}\"", v.version)
    }
}

pub(super) fn ticket_response(status: StatusCode, v: TicketView, customer: bool) -> HttpResponse {
    let mut r = HttpResponse::build(status);
    r.insert_header((header::ETAG, etag(&v, customer)));
    if status == StatusCode::CREATED {
        r.insert_header((header::LOCATION, format!("/api/v1/tickets/{}", v.reference)));
    }
    r.insert_header((header::CACHE_CONTROL, "no-store")).json(v)
}

/// `If-Match: "N"` → N. Anything else is a bad request, not silently ignored.
pub(super) fn if_match(req: &HttpRequest) -> Result<Option<i64>, Problem> {
    match req.headers().get(header::IF_MATCH) {
        None => Ok(None),
        Some(h) => h
            .to_str()
            .ok()
            .and_then(|s| s.trim().trim_start_matches("W/").trim_matches('"').parse().ok())
            .map(Some)
            .ok_or_else(|| Problem::bad_request("If-Match: expected the ETag of the ticket, such as \"3\"")),
    }
}

#[utoipa::path(post, path = "/api/v1/tickets", tag = "tickets", request_body = NewTicketRequest, security(("bearer" = [])),
    responses((status = 201, description = "Raised; Location and ETag set", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 413, body = Problem), (status = 415, body = Problem), (status = 422, body = Problem)))]
pub(super) async fn create_ticket(
    app: State,
    Caller(who): Caller,
    body: web::Json<NewTicketRequest>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.create_ticket(&who, body.into_inner(), crate::app::now())).await?;
    Ok(ticket_response(StatusCode::CREATED, v, customer))
}

#[utoipa::path(get, path = "/api/v1/tickets", tag = "tickets", params(TicketFilter), security(("bearer" = [])),
    responses((status = 200, description = "One page, most urgent first by default", body = TicketPage), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 422, body = Problem)))]
pub(super) async fn list_tickets(
    app: State,
    Caller(who): Caller,
    q: web::Query<TicketFilter>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let page = run(move || app.list_tickets(&who, &q, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(page))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The ticket; ETag is its version", body = TicketView), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
pub(super) async fn get_ticket(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = super::read(&app.clone(), move || app.get_ticket(&who, &path)).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}

/// Paging through a ticket's timeline.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Events after this sequence number (from the `Link` header's next page).
    after: Option<i32>,
    /// Events before this sequence number (from the `Link` header's prev page).
    before: Option<i32>,
    /// At most this many, 1 to `limits.events_page` (the default).
    limit: Option<usize>,
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/events", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123"), EventsQuery), security(("bearer" = [])),
    responses((status = 200, description = "One page of the timeline, oldest first; customers see public events only. A `Link: <…>; rel=\"next\"` header points at the next page", body = Vec<EventView>), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
pub(super) async fn ticket_events(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    q: web::Query<EventsQuery>,
) -> Result<HttpResponse, Problem> {
    let most = app.limits().events_page;
    let limit = match q.limit {
        None => most,
        Some(n) if (1..=most).contains(&n) => n,
        Some(_) => return Err(crate::app::invalid("limit", format!("expected 1 to {most}")).into()),
    };
    let cursor = match (q.after, q.before) {
        (Some(_), Some(_)) => return Err(Problem::bad_request("give after or before, not both")),
        (a, None) => crate::app::tickets::EventCursor::After(a),
        (None, b) => crate::app::tickets::EventCursor::Before(b),
    };
    let reference = path.into_inner();
    let app = app.get_ref().clone();
    let r = reference.clone();
    let page = run(move || app.ticket_events_page(&who, &r, cursor, limit)).await?;
    let mut answer = HttpResponse::Ok();
    answer.insert_header((header::CACHE_CONTROL, "no-store"));
    let base = format!("/api/v1/tickets/{reference}/events");
    let links: Vec<String> = [
        page.next_after
            .map(|n| format!("<{base}?after={n}&limit={limit}>; rel=\"next\"")),
        page.previous_before
            .map(|p| format!("<{base}?before={p}&limit={limit}>; rel=\"prev\"")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !links.is_empty() {
        answer.insert_header((header::LINK, links.join(", ")));
    }
    Ok(answer.json(page.items))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/sla", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "Both clocks as the core computes them now", body = SlaDetail), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
pub(super) async fn ticket_sla(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.ticket_sla(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/sla/explain", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "Why each clock is due when it is: the policy version and calendar, each interval counted, each stretch skipped and why, the severity changes, and the arithmetic of the due or breach instant (docs/sla-replay.md)", body = SlaExplanation), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem), (status = 409, description = "Not an incident: its clocks do not run", body = Problem)))]
pub(super) async fn ticket_sla_explain(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.explain_ticket_sla(&who, &path, crate::app::now())).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

#[utoipa::path(get, path = "/api/v1/tickets/{reference}/sla/history", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), security(("bearer" = [])),
    responses((status = 200, description = "The ticket's history as one `sladesk sla replay` line (docs/sla-replay.schema.json): its events without their text, the region, and the instant its clocks were last stored. Customers get the events that move a clock and their public messages.", body = Object), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 404, body = Problem)))]
pub(super) async fn ticket_sla_history(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let v = run(move || app.ticket_sla_history(&who, &path)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(v))
}

/// A reply or note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    body: String,
    /// Staff: time spent on it (`45m`, `1h30m`, or minutes), booked today
    /// with it in the same transaction.
    time_spent: Option<String>,
}

impl ReplyBody {
    /// The changes a reply or note with its time spent makes.
    fn changes(self, text: fn(String) -> Change) -> Result<Vec<Change>, Problem> {
        let mut changes = vec![text(self.body)];
        if let Some(spent) = self.time_spent {
            changes.push(Change::LogTime(crate::app::tickets::parse_spent("time_spent", &spent)?));
        }
        Ok(changes)
    }
}

/// Fields `PATCH` accepts; each is optional, and they apply in the order
/// assignee, queue, severity, status in one transaction.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct TicketPatch {
    /// A staff member's email, or null to unassign.
    assignee: Option<String>,
    /// A queue's slug.
    queue: Option<String>,
    #[schema(minimum = 1, maximum = 4)]
    severity: Option<u8>,
    /// open, pending_customer or pending_third_party (use the transitions for the rest).
    status: Option<String>,
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/replies", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReplyBody, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn reply(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<ReplyBody>,
) -> Result<HttpResponse, Problem> {
    change(
        app,
        who,
        &req,
        path.into_inner(),
        b.into_inner().changes(Change::Reply)?,
    )
    .await
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/notes", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReplyBody, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn note(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    b: web::Json<ReplyBody>,
) -> Result<HttpResponse, Problem> {
    change(app, who, &req, path.into_inner(), b.into_inner().changes(Change::Note)?).await
}

/// Why a customer asks for a resolved ticket to be reopened.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReopenRequestBody {
    reason: String,
}

/// A customer asks for a resolved ticket to be reopened: recorded as their
/// reply and sent to the assignee (else the queue's lead); staff decide.
#[utoipa::path(post, path = "/api/v1/tickets/{reference}/reopen-request", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = ReopenRequestBody, security(("bearer" = [])),
    responses((status = 200, description = "The ticket, still resolved, with the request on its timeline", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, description = "Staff reopen tickets themselves", body = Problem), (status = 404, body = Problem), (status = 409, description = "Not resolved, or its reopen window has passed", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn reopen_request(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
    b: web::Json<ReopenRequestBody>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reason = b.into_inner().reason;
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.ask_to_reopen(&who, &path, &reason, crate::app::now())).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}

#[utoipa::path(post, path = "/api/v1/tickets/{reference}/{transition}", tag = "tickets",
    params(("reference" = String, Path, description = "Ticket reference"), ("transition" = String, Path, description = "resolve, reopen, close or cancel")),
    security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn transition(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Problem> {
    let (reference, t) = path.into_inner();
    let ch = match t.as_str() {
        "resolve" => Change::Resolve,
        "reopen" => Change::Reopen,
        "close" => Change::Close,
        "cancel" => Change::Cancel,
        _ => {
            return Err(Problem::not_found(format!(
                "no such endpoint: /tickets/{{reference}}/{t}"
            )));
        }
    };
    change(app, who, &req, reference, vec![ch]).await
}

/// `PATCH` with any of `assignee` (email or null), `queue`, `severity` and
/// `status`, applied in that order in one transaction.
#[utoipa::path(patch, path = "/api/v1/tickets/{reference}", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference, e.g. SD-000123")), request_body = TicketPatch, security(("bearer" = [])), responses((status = 200, description = "The changed ticket", body = TicketView), (status = 400, body = Problem), (status = 401, description = "No or bad token", body = Problem, content_type = "application/problem+json"), (status = 403, body = Problem), (status = 404, body = Problem), (status = 409, description = "The ticket's state does not allow it, or If-Match is stale", body = Problem), (status = 422, body = Problem)))]
pub(super) async fn patch_ticket(
    app: State,
    Caller(who): Caller,
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<Map<String, Value>>,
) -> Result<HttpResponse, Problem> {
    let mut changes = Vec::new();
    // serde_json's map iterates in key order: assignee, queue, severity, status.
    for (k, v) in body.into_inner() {
        let ch = match (k.as_str(), v) {
            ("status", Value::String(s)) => Change::Status(parse_status(&s)?),
            ("severity", Value::Number(n)) => Change::Severity(parse_severity(n.as_i64().unwrap_or(0))?),
            ("assignee", Value::Null) => Change::Assign(None),
            ("assignee", Value::String(e)) => Change::Assign(Some(e)),
            ("queue", Value::String(q)) => Change::Queue(q),
            ("status" | "queue", _) => return Err(invalid(&k, "expected a string").into()),
            ("severity", _) => return Err(invalid(&k, "expected 1, 2, 3 or 4").into()),
            ("assignee", _) => return Err(invalid(&k, "expected an email or null").into()),
            _ => {
                return Err(Problem::bad_request(format!(
                    "body: unknown field `{k}`, expected one of `status`, `severity`, `assignee`, `queue`"
                )));
            }
        };
        changes.push(ch);
    }
    change(app, who, &req, path.into_inner(), changes).await
}

/// The files that came with a ticket's mail.
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/attachments", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference")),
    security(("bearer" = [])), responses((status = 200, description = "Name, type, size and SHA-256 of each", body = Vec<crate::app::tickets::AttachmentView>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn list_attachments(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reference = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.ticket_attachments(&who, &reference)).await?))
}

/// One file, as a download. Only plain, inert types keep their type; any
/// other (HTML, SVG, scripts) is served as bytes, so a file from a mail can
/// never run in the desk's origin.
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/attachments/{id}", tag = "tickets",
    params(("reference" = String, Path, description = "Ticket reference"), ("id" = i64, Path, description = "The attachment's id")),
    security(("bearer" = [])), responses((status = 200, description = "The file", content_type = "application/octet-stream", body = String),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn get_attachment(
    app: State,
    Caller(who): Caller,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let (reference, id) = path.into_inner();
    let (name, ctype, data) = run(move || app.ticket_attachment(&who, &reference, id)).await?;
    Ok(attachment_response(name, ctype, data))
}

/// A ticket's file as a download: inert types are served as themselves,
/// anything else as bytes, so nothing a customer sends runs in a browser.
pub fn attachment_response(name: String, ctype: String, data: Vec<u8>) -> HttpResponse {
    const INERT: [&str; 6] = [
        "image/png",
        "image/jpeg",
        "image/gif",
        "application/pdf",
        "text/plain",
        "text/csv",
    ];
    let served = if INERT.contains(&ctype.as_str()) {
        ctype
    } else {
        "application/octet-stream".to_string()
    };
    let disposition = actix_web::http::header::ContentDisposition {
        disposition: actix_web::http::header::DispositionType::Attachment,
        parameters: vec![actix_web::http::header::DispositionParam::Filename(
            name.chars().filter(|c| !c.is_control()).collect(),
        )],
    };
    HttpResponse::Ok()
        .content_type(served)
        .insert_header(disposition)
        .insert_header(("Cache-Control", "private, no-store"))
        .body(data)
}

/// The mail recorded on a ticket, each with a link to its original (staff).
#[utoipa::path(get, path = "/api/v1/tickets/{reference}/messages", tag = "tickets", params(("reference" = String, Path, description = "Ticket reference")),
    security(("bearer" = [])), responses((status = 200, description = "Messages, oldest first", body = Vec<crate::app::tickets::TicketMessage>),
        (status = 401, body = Problem), (status = 404, body = Problem)))]
pub(super) async fn ticket_messages(
    app: State,
    Caller(who): Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, Problem> {
    let app = app.get_ref().clone();
    let reference = path.into_inner();
    Ok(HttpResponse::Ok().json(run(move || app.ticket_messages(&who, &reference)).await?))
}

/// A change to a ticket from any of the lifecycle endpoints, with
/// `If-Match` honoured.
pub(super) async fn change(
    app: State,
    who: Principal,
    req: &HttpRequest,
    reference: String,
    changes: Vec<Change>,
) -> Result<HttpResponse, Problem> {
    let expected = if_match(req)?;
    let app = app.get_ref().clone();
    let customer = who.role == crate::app::Role::Customer;
    let v = run(move || app.change_ticket(&who, &reference, &changes, expected, crate::app::now())).await?;
    Ok(ticket_response(StatusCode::OK, v, customer))
}
