//! A ticket's page: its clocks, its timeline a page at a time, the moves
//! the core allows now, and its files.

use super::*;

/// How many of an organisation's and a requester's other tickets are shown beside one.
const RECENT: i64 = 5;

#[derive(Deserialize)]
pub(super) struct Done {
    done: Option<String>,
    /// Paging through the timeline: the latest page unless one is given.
    after: Option<i32>,
    before: Option<i32>,
    /// A macro to put in the reply box, rendered for this ticket.
    #[serde(rename = "macro")]
    use_macro: Option<i64>,
}

pub(super) fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "raised" => "Your ticket is raised. We will reply by email and here.",
        "reply" => "Reply sent.",
        "note" => "Internal note added.",
        "time" => "Time logged.",
        "watcher-added" => "Watcher added: they hear of every public change.",
        "watcher-removed" => "Watcher removed.",
        "linked" => "Linked.",
        "unlinked" => "Link removed.",
        "claim" => "The ticket is yours.",
        "assign" => "Assignee changed.",
        "status" => "Status changed.",
        "severity" => "Severity changed; the targets are recomputed.",
        "queue" => "Queue changed.",
        "resolve" => "Resolved.",
        "reopen" => "Reopened.",
        "reopen-request" => "Your request to reopen is sent: the desk will reply here and by email.",
        "close" => "Closed.",
        "cancel" => "Cancelled.",
        "approved" => "Approved: the desk begins the work.",
        "refused" => "Refused: the requester is told.",
        "started" => "Fulfilment started.",
        "asked" => "Question sent: the fulfilment clock waits for the answer.",
        "fulfilled" => "Fulfilled: the requester is told.",
        "requested" => "Your request is in. We will tell you by email as it moves.",
        "problem" => "Problem updated.",
        "change" => "Change updated.",
        "merged" => "Merged: the duplicate's messages and files are here, and it is cancelled.",
        _ => return None,
    })
}

pub(super) async fn show(
    v: Viewer,
    app: State,
    path: web::Path<String>,
    q: web::Query<Done>,
) -> Result<HttpResponse, WebError> {
    let cursor = match (q.after, q.before) {
        (Some(a), _) => EventCursor::After(Some(a)),
        (None, b) => EventCursor::Before(b),
    };
    let reference = path.into_inner();
    // A macro previewed into the reply box: its text to read and edit, and
    // the moves it makes when sent.
    let draft = match q.use_macro {
        Some(id) => {
            let (a, who, r) = (app.get_ref().clone(), v.who(), reference.clone());
            let (p, name) = run(move || {
                let p = a.preview_macro(&who, id, &r)?;
                let name = a
                    .list_macros(&who)?
                    .into_iter()
                    .find(|m| m.id == id)
                    .map(|m| m.name)
                    .unwrap_or_default();
                Ok((p, name))
            })
            .await?;
            let mut moves = Vec::new();
            if let Some(s) = &p.set_status {
                moves.push(format!("sets the status to {}", status_text(s)));
            }
            if let Some(s) = p.set_severity {
                moves.push(format!("sets severity {s}"));
            }
            if let Some(a) = &p.set_assignee {
                moves.push(if a == "me" {
                    "assigns it to you".to_string()
                } else {
                    format!("assigns it to {a}")
                });
            }
            Some(json!({"body": p.body, "macro": id, "macro_name": name, "moves": moves.join(", ")}))
        }
        None => None,
    };
    ticket_page_at(
        &v,
        app,
        reference,
        notice(q.done.as_deref()),
        None,
        StatusCode::OK,
        cursor,
        draft,
    )
    .await
}

pub(super) async fn ticket_page(
    v: &Viewer,
    app: State,
    reference: String,
    notice: Option<&str>,
    error: Option<Refusal>,
    status: StatusCode,
) -> Result<HttpResponse, WebError> {
    ticket_page_at(
        v,
        app,
        reference,
        notice,
        error,
        status,
        EventCursor::Before(None),
        None,
    )
    .await
}

/// The ticket's page with a reply held back (`held`: the draft and the
/// public messages that arrived since the page was loaded), answered 409.
pub(super) async fn held_page(
    v: &Viewer,
    app: State,
    reference: String,
    held: Value,
) -> Result<HttpResponse, WebError> {
    ticket_page_at(
        v,
        app,
        reference,
        None,
        None,
        StatusCode::CONFLICT,
        EventCursor::Before(None),
        Some(held),
    )
    .await
}

/// A ticket's page showing one page of its timeline (`limits.events_page`
/// events), with links to the earlier and later ones.
#[allow(clippy::too_many_arguments)] // the page's parts, each optional
pub(super) async fn ticket_page_at(
    v: &Viewer,
    app: State,
    reference: String,
    notice: Option<&str>,
    error: Option<Refusal>,
    status: StatusCode,
    cursor: EventCursor,
    held: Option<Value>,
) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let (who, tz) = (v.who(), v.tz());
    let staff = who.role.is_staff();
    let data = run(move || {
        let now = crate::app::now();
        let t = app.get_ticket(&who, &reference)?;
        let (sla, cds) = app.ticket_sla_with_countdowns(&who, &reference, now)?;
        let events = app.ticket_events_page(&who, &reference, cursor, app.limits().events_page)?;
        let files = app.ticket_attachments(&who, &reference)?;
        let queues = if staff { app.list_queues(&who)? } else { Vec::new() };
        let moves = app.ticket_moves(&who, &reference, now)?;
        // Whom a ticket can be given to: the queues' leads and members, by name.
        let mut staff_emails: Vec<String> = queues
            .iter()
            .flat_map(|q| q.lead.iter().chain(q.members.iter()).cloned())
            .collect();
        staff_emails.sort();
        staff_emails.dedup();
        let names = if staff {
            app.names_of(&staff_emails)?
        } else {
            Default::default()
        };
        let agents: Vec<(String, String)> = staff_emails
            .into_iter()
            .map(|e| (names.get(&e).cloned().unwrap_or_else(|| e.clone()), e))
            .collect();
        // Beside the ticket, for staff: what else this organisation and
        // this requester have raised lately.
        let recent = if staff {
            let latest = |f: TicketFilter| -> Result<Vec<TicketView>, AppError> {
                let f = TicketFilter {
                    sort: Some("created".into()),
                    limit: Some(RECENT + 1),
                    status: None,
                    ..f
                };
                Ok(app
                    .list_tickets(&who, &f, now)?
                    .items
                    .into_iter()
                    .filter(|x| x.reference != t.reference)
                    .take(RECENT as usize)
                    .collect())
            };
            let org = latest(TicketFilter {
                organisation: Some(t.organisation.clone()),
                ..Default::default()
            })?;
            let requester = latest(TicketFilter {
                requester: Some(t.requester.clone()),
                ..Default::default()
            })?;
            Some((org, requester))
        } else {
            None
        };
        // A major incident: the outages this ticket is linked to, and the
        // ones under way it could be linked to.
        let incidents = if staff {
            let linked = app.outages_of_ticket(&who, &t.reference)?;
            let ongoing: Vec<(i64, String)> = app
                .ongoing_outages(&who, now)?
                .into_iter()
                .filter(|(id, _)| !linked.contains(id))
                .collect();
            Some((linked, ongoing))
        } else {
            None
        };
        let time = if staff {
            Some(app.ticket_time(&who, &reference)?)
        } else {
            None
        };
        // The newest event the viewer has seen: a reply sent after newer
        // public ones is held back to be read first.
        let seen = app
            .ticket_events_page(&who, &reference, EventCursor::Before(None), 1)?
            .items
            .last()
            .map_or(0, |e| e.seq);
        let watchers = app.ticket_watchers(&who, &reference)?;
        let links = app.ticket_links(&who, &reference)?;
        let request = if t.ticket_type == "service_request" {
            Some(app.service_request(&who, &reference, now)?)
        } else {
            None
        };
        let change = if t.ticket_type == "change" {
            Some(app.change_record(&who, &reference)?)
        } else {
            None
        };
        let problem = if t.ticket_type == "problem" {
            Some(app.problem(&who, &reference)?)
        } else {
            None
        };
        // An incident's page offers its known errors to link in one step.
        let known = if staff && t.ticket_type == "incident" {
            app.known_errors(&who, None, now)?
        } else {
            Vec::new()
        };
        // "Why is it due then?": an incident's clocks explained.
        let why = if t.ticket_type == "incident" {
            Some(app.explain_ticket_sla(&who, &reference, now)?)
        } else {
            None
        };
        let (present, macros) = if staff {
            (app.present_on(&who, &reference, now)?, app.list_macros(&who)?)
        } else {
            (Vec::new(), Vec::new())
        };
        Ok((
            t,
            sla,
            cds,
            events,
            files,
            queues,
            moves,
            agents,
            (
                recent,
                incidents,
                time,
                seen,
                present,
                macros,
                watchers,
                links,
                (request, problem, known, change, why),
            ),
        ))
    })
    .await?;
    let (
        t,
        sla,
        cds,
        events,
        files,
        queues,
        moves,
        agents,
        (recent, incidents, time, seen, present, macros, watchers, links, (request, problem, known, change, why)),
    ) = data;
    let why = why.map(|e| super::explain::explanation_json(&e, tz, !staff));
    let me = v.session.principal.email.as_str();
    let requester = t.requester.eq_ignore_ascii_case(me);
    let incident = t.ticket_type == "incident";
    let request = request.map(|r| request_json(&r, tz));
    let problem = problem.map(|p| problem_json(&p, tz));
    let change = change.map(|c| change_json(&c, staff, tz));
    let known: Vec<Value> = known
        .iter()
        .map(|k| json!({"reference": k.reference, "subject": k.subject}))
        .collect();
    let links: Vec<Value> = links
        .iter()
        .map(|l| json!({"kind": l.kind.as_str(), "words": l.kind.words(), "reference": l.reference, "subject": l.subject, "status_text": status_text(&l.status)}))
        .collect();
    // Staff and the requester add and remove watchers; a watcher may leave.
    let watchers = json!({
        "may_add": staff || requester,
        "list": watchers.iter().map(|w| {
            let own = w.email.eq_ignore_ascii_case(me);
            json!({"email": w.email, "name": w.name, "source": watcher_source(&w.source), "removable": staff || requester || own, "self": own})
        }).collect::<Vec<_>>(),
    });
    let macros: Vec<Value> = macros.iter().map(|m| json!({"id": m.id, "name": m.name})).collect();
    let hm = |m: i64| crate::reports::render::hours_minutes(m * 60);
    let time = time.map(|tt| {
        json!({
            "total": hm(tt.total_minutes),
            "entries": tt.entries.iter().map(|e| json!({
                "who": e.user_name, "time": hm(e.minutes as i64), "day": e.spent_on.to_string(), "note": e.note,
            })).collect::<Vec<_>>(),
        })
    });
    let incidents = incidents.map(|(linked, ongoing)| {
        json!({
            "linked": linked,
            "ongoing": ongoing.iter().map(|(id, label)| json!({"id": id, "label": label})).collect::<Vec<_>>(),
        })
    });
    let timeline: Vec<Value> = events
        .items
        .iter()
        .map(|e| {
            json!({
                "at": when(e.at, tz),
                "actor": e.actor_name.clone().or_else(|| e.actor.clone()).unwrap_or_else(|| e.actor_role.clone()),
                "kind": status_text(&e.kind),
                "internal": e.visibility != "public",
                "body": e.body,
                "summary": event_summary(&e.data),
            })
        })
        .collect();
    let files: Vec<Value> = files
        .iter()
        .map(|f| json!({"id": f.id, "name": f.filename, "size": f.size, "type": f.content_type}))
        .collect();
    let agents: Vec<Value> = agents
        .iter()
        .map(|(name, e)| json!({"email": e, "name": name, "selected": t.assignee.as_deref() == Some(e.as_str())}))
        .collect();
    let recent_json = |list: &[TicketView]| -> Vec<Value> {
        list.iter()
            .map(|x| {
                json!({
                    "reference": x.reference,
                    "subject": x.subject,
                    "status_text": status_text(&x.status),
                    "severity": x.severity,
                    "received": when(x.received_at, tz),
                })
            })
            .collect()
    };
    let recent = recent.map(|(org, requester)| {
        json!({
            "organisation": recent_json(&org),
            "requester": recent_json(&requester),
            "organisation_link": format!("/queue?status=any&sort=newest&organisation={}", t.organisation),
        })
    });
    let queue_opts: Vec<Value> = queues
        .iter()
        .map(|q| json!({"slug": q.slug, "name": q.name, "selected": t.queue.as_deref() == Some(q.slug.as_str())}))
        .collect();
    // Only what the core would accept now: a resolved ticket offers no
    // status menu (it is reopened, or closed), and no menu offers the
    // status or severity it already has.
    let settable: Vec<Value> = moves
        .statuses
        .iter()
        .map(|s| json!({"value": s.as_str(), "label": status_text(s.as_str())}))
        .collect();
    let severities: Vec<Value> = severity_options(None)
        .into_iter()
        .filter(|o| {
            moves
                .severities
                .iter()
                .any(|s| o["value"].as_i64() == Some(i64::from(u8::from(*s))))
        })
        .collect();
    let pending_customer = moves.statuses.contains(&Status::PendingCustomer);
    let mine = t.assignee.as_deref() == Some(v.session.principal.email.as_str());
    let error_text = error.map(|r| r.to_string());
    page_with_status(
        status,
        Some(&v.session),
        &format!("{} {}", t.reference, t.subject),
        "ticket",
        json!({
            "t": ticket_json(&t, Some(&cds), tz, sla.computed_at),
            "sla": {
                "policy": sla.policy,
                "calendar": sla.calendar,
                "time_zone": sla.time_zone,
                "region": sla.region,
            },
            "timeline": timeline,
            "why": why,
            "earlier": events.previous_before,
            "later": events.next_after,
            "files": files,
            "agents": agents,
            "queue_name": queues.iter().find(|q| t.queue.as_deref() == Some(q.slug.as_str())).map(|q| q.name.clone()),
            "recent": recent,
            "incidents": incidents,
            "time": time,
            "watchers": watchers,
            "links": links,
            "incident": incident,
            "record_type": t.ticket_type.replace('_', " "),
            "request": request,
            "problem": problem,
            "change": change,
            "known_errors": known,
            "seen": seen,
            "held": held,
            "present": present,
            "macros": macros,
            "queues": queue_opts,
            // A request, problem or change moves by its own actions, not the incident's.
            "statuses": if incident { settable } else { Vec::new() },
            "severities": severities,
            "moves": incident_moves(&moves, incident),
            "codes": RESOLUTION_CODES.iter().map(|(c, l)| json!({"value": c, "label": l})).collect::<Vec<_>>(),
            "pending_customer": pending_customer && incident,
            "mine": mine,
            "notice": notice,
            "error": error_text,
        }),
    )
}

/// The incident's moves as the page offers them: on another type, only the
/// ones its conversation shares (assign, queue, reply).
fn incident_moves(moves: &impl serde::Serialize, incident: bool) -> Value {
    let mut m = serde_json::to_value(moves).unwrap_or(Value::Null);
    if !incident && let Some(o) = m.as_object_mut() {
        for k in ["resolve", "reopen", "close", "cancel"] {
            o.insert(k.into(), Value::Bool(false));
        }
    }
    m
}

/// How a watcher came to watch, as the page says it.
fn watcher_source(source: &str) -> &'static str {
    match source {
        "cc" => "Cc'd on a mail",
        "requester" => "added by the requester",
        _ => "added by the service desk",
    }
}

/// A line for events that carry no text of their own.
pub(super) fn event_summary(data: &Value) -> Option<String> {
    let kind = data.get("type").and_then(|k| k.as_str()).unwrap_or("");
    let s = |k: &str| data.get(k).and_then(|v| v.as_str()).map(status_text);
    let n = |k: &str| data.get(k).map(|v| v.to_string());
    Some(match kind {
        "status_changed" => format!("Status: {} → {}", s("from")?, s("to")?),
        "severity_changed" => format!("Severity: {} → {}", n("from")?, n("to")?),
        "assignee_changed" => format!(
            "Assignee: {} → {}",
            s("from_name").or_else(|| s("from")).unwrap_or_else(|| "nobody".into()),
            s("to_name").or_else(|| s("to")).unwrap_or_else(|| "nobody".into())
        ),
        "queue_changed" => format!("Queue: → {}", s("to")?),
        "created" => format!("Raised at severity {}", n("severity")?),
        "alert_recorded" => format!("SLA {} on the {} clock", s("level")?, s("clock")?),
        _ => return None,
    })
}

pub(super) async fn attachment(
    v: Viewer,
    app: State,
    path: web::Path<(String, i64)>,
) -> Result<HttpResponse, WebError> {
    let app = app.get_ref().clone();
    let who = v.who();
    let (reference, id) = path.into_inner();
    let (name, ctype, data) = run(move || app.ticket_attachment(&who, &reference, id)).await?;
    Ok(crate::api::attachment_response(name, ctype, data))
}
