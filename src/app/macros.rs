//! Canned replies (macros): a text written in handlebars, rendered in
//! strict mode with the ticket's, the requester's and the agent's fields
//! (a name that is not one of them is refused when the macro is kept, not
//! when a customer would have read a blank), and the status, severity or
//! assignee it sets. Desk-wide (managers), a queue's (its lead, or a
//! manager) or one agent's own. Applying one is one change to the ticket:
//! the reply and the moves in one transaction, as the core allows them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::tickets::{Change, TicketView};
use super::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::domain::ticket::{Severity, Status};
use crate::store::schema::{macros, queues};

/// The longest text a macro may hold.
const MAX_BODY: usize = 10_000;

/// A macro to keep, or (every field optional) a change to one.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MacroRequest {
    pub name: Option<String>,
    /// Handlebars: `{{ticket.reference}}`, `{{ticket.subject}}`,
    /// `{{ticket.severity}}`, `{{ticket.status}}`, `{{requester.name}}`,
    /// `{{requester.email}}`, `{{organisation.name}}`, `{{agent.name}}`,
    /// `{{response_due}}` and `{{resolve_due}}` (in the requester's zone).
    pub body: Option<String>,
    /// A queue's slug: the queue's macro. Absent: desk-wide, or with
    /// `personal`, the caller's own.
    pub queue: Option<String>,
    #[serde(default)]
    pub personal: bool,
    pub set_status: Option<String>,
    pub set_severity: Option<u8>,
    /// `me` (whoever applies it) or a member of staff's email.
    pub set_assignee: Option<String>,
}

/// A macro as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MacroView {
    pub id: i64,
    pub name: String,
    pub body: String,
    /// `desk`, `queue` or `personal`.
    pub scope: String,
    pub queue: Option<String>,
    pub set_status: Option<String>,
    pub set_severity: Option<i32>,
    pub set_assignee: Option<String>,
    pub updated_at: DateTime<Utc>,
}

/// A macro rendered for one ticket: the reply it writes and the moves.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct MacroPreview {
    pub body: String,
    pub set_status: Option<String>,
    pub set_severity: Option<i32>,
    pub set_assignee: Option<String>,
}

#[derive(Queryable, Selectable, Clone)]
#[diesel(table_name = macros)]
struct Row {
    id: i64,
    name: String,
    body: String,
    queue_id: Option<i64>,
    owner_id: Option<i64>,
    set_status: Option<String>,
    set_severity: Option<i32>,
    set_assignee: Option<String>,
    created_by: i64,
    updated_at: chrono::NaiveDateTime,
}

/// Renders a macro's text with a ticket's fields, strictly: a field that
/// does not exist is an error, never a blank.
fn render(body: &str, fields: &Value) -> Result<String, String> {
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    // Replies are plain text: nothing is HTML-escaped.
    hb.register_escape_fn(handlebars::no_escape);
    hb.render_template(body, fields).map_err(|e| e.to_string())
}

/// The fields a macro may use, for a ticket (or, to check a macro when it
/// is kept, for a sample one).
fn fields(t: &TicketView, agent_name: &str, agent_email: &str, zone: chrono_tz::Tz) -> Value {
    let due = |d: Option<DateTime<Utc>>| {
        d.map(|d| d.with_timezone(&zone).format("%a %-d %b %Y %H:%M %Z").to_string())
            .unwrap_or_default()
    };
    json!({
        "ticket": {
            "reference": t.reference, "subject": t.subject, "severity": t.severity,
            "status": t.status.replace('_', " "), "queue": t.queue.clone().unwrap_or_default(),
        },
        "requester": {"name": t.requester_name, "email": t.requester},
        "organisation": {"name": t.organisation_name},
        "agent": {"name": agent_name, "email": agent_email},
        "response_due": due(t.response.due_at),
        "resolve_due": due(t.resolve.due_at),
    })
}

fn sample_fields() -> Value {
    json!({
        "ticket": {"reference": "SD-000001", "subject": "s", "severity": 3, "status": "open", "queue": "q"},
        "requester": {"name": "n", "email": "e"},
        "organisation": {"name": "o"},
        "agent": {"name": "a", "email": "e"},
        "response_due": "", "resolve_due": "",
    })
}

impl App {
    /// Keeps a macro. Desk-wide: managers; a queue's: its lead or a
    /// manager; one's own: any agent.
    pub fn create_macro(&self, who: &Principal, m: MacroRequest, now: DateTime<Utc>) -> Result<MacroView, AppError> {
        let name = m.name.clone().unwrap_or_default();
        let body = m.body.clone().unwrap_or_default();
        self.check_macro(&name, &body, &m)?;
        let mut conn = self.conn()?;
        let (queue_id, owner_id) = self.macro_scope(&mut conn, who, m.queue.as_deref(), m.personal)?;
        let id = conn.write(|c| {
            let id: i64 = diesel::insert_into(macros::table)
                .values((
                    macros::name.eq(name.trim()),
                    macros::body.eq(&body),
                    macros::queue_id.eq(queue_id),
                    macros::owner_id.eq(owner_id),
                    macros::set_status.eq(&m.set_status),
                    macros::set_severity.eq(m.set_severity.map(i32::from)),
                    macros::set_assignee.eq(&m.set_assignee),
                    macros::created_by.eq(who.user_id),
                    macros::created_at.eq(naive(now)),
                    macros::updated_at.eq(naive(now)),
                ))
                .returning(macros::id)
                .get_result(c)?;
            audit(c, who, "macro.create", &format!("macro:{id}"), Some(&body), now)?;
            Ok::<_, AppError>(id)
        })?;
        drop(conn);
        self.macro_view(who, id)
    }

    /// Changes a macro; audited with the text before and after.
    pub fn update_macro(
        &self,
        who: &Principal,
        id: i64,
        m: MacroRequest,
        now: DateTime<Utc>,
    ) -> Result<MacroView, AppError> {
        let row = self.editable_macro(who, id)?;
        let name = m.name.clone().unwrap_or(row.name.clone());
        let body = m.body.clone().unwrap_or(row.body.clone());
        let merged = MacroRequest {
            set_status: m.set_status.clone().or(row.set_status.clone()),
            set_severity: m.set_severity.or(row.set_severity.map(|s| s as u8)),
            set_assignee: m.set_assignee.clone().or(row.set_assignee.clone()),
            ..MacroRequest::default()
        };
        self.check_macro(&name, &body, &merged)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::update(macros::table.find(id))
                .set((
                    macros::name.eq(name.trim()),
                    macros::body.eq(&body),
                    macros::set_status.eq(&merged.set_status),
                    macros::set_severity.eq(merged.set_severity.map(i32::from)),
                    macros::set_assignee.eq(&merged.set_assignee),
                    macros::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            audit(
                c,
                who,
                "macro.edit",
                &format!("macro:{id}"),
                Some(&format!("before: {}\nafter: {}", row.body, body)),
                now,
            )
        })?;
        drop(conn);
        self.macro_view(who, id)
    }

    /// Removes a macro; audited with its text.
    pub fn delete_macro(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        let row = self.editable_macro(who, id)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::delete(macros::table.find(id)).execute(c)?;
            audit(c, who, "macro.delete", &format!("macro:{id}"), Some(&row.body), now)
        })
    }

    /// The macros `who` may use: the desk's, every queue's, and their own.
    pub fn list_macros(&self, who: &Principal) -> Result<Vec<MacroView>, AppError> {
        who.staff_or_forbidden("a canned reply")?;
        let mut conn = self.conn()?;
        let rows: Vec<(Row, Option<String>)> = macros::table
            .left_join(queues::table)
            .filter(macros::owner_id.is_null().or(macros::owner_id.eq(who.user_id)))
            .order(macros::name.asc())
            .select((Row::as_select(), queues::slug.nullable()))
            .load(&mut conn)?;
        Ok(rows.into_iter().map(|(r, q)| view(r, q)).collect())
    }

    /// A macro rendered for a ticket, to read before sending.
    pub fn preview_macro(&self, who: &Principal, id: i64, reference: &str) -> Result<MacroPreview, AppError> {
        let row = self.usable_macro(who, id)?;
        let t = self.get_ticket(who, reference)?;
        let mut conn = self.conn()?;
        let zone = self
            .user_by_email(&mut conn, &t.requester)
            .ok()
            .and_then(|u| u.time_zone.parse().ok())
            .unwrap_or(chrono_tz::Europe::London);
        let agent = self.user_by_email(&mut conn, &who.email).ok();
        drop(conn);
        let agent_name = agent
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_else(|| who.email.clone());
        let body = render(&row.body, &fields(&t, &agent_name, &who.email, zone))
            .map_err(|e| AppError::Internal(format!("macro {id}: {e}")))?;
        Ok(MacroPreview {
            body,
            set_status: row.set_status,
            set_severity: row.set_severity,
            set_assignee: row.set_assignee,
        })
    }

    /// Applies a macro to a ticket: its reply (if it writes one) and its
    /// moves, in one change, as the core allows them.
    pub fn apply_macro(
        &self,
        who: &Principal,
        id: i64,
        reference: &str,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        let p = self.preview_macro(who, id, reference)?;
        let changes = macro_changes(&p, who)?;
        let v = self.change_ticket(who, reference, &changes, None, now)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            audit(
                c,
                who,
                "macro.apply",
                &format!("ticket:{reference}"),
                Some(&format!("macro:{id}")),
                now,
            )
        })?;
        Ok(v)
    }

    fn check_macro(&self, name: &str, body: &str, m: &MacroRequest) -> Result<(), AppError> {
        if name.trim().is_empty() || name.chars().count() > 80 {
            return Err(invalid("name", "1 to 80 characters"));
        }
        if body.chars().count() > MAX_BODY {
            return Err(invalid("body", format!("at most {MAX_BODY} characters")));
        }
        if body.trim().is_empty() && m.set_status.is_none() && m.set_severity.is_none() && m.set_assignee.is_none() {
            return Err(invalid("body", "a macro writes a reply, sets something, or both"));
        }
        render(body, &sample_fields()).map_err(|e| invalid("body", e))?;
        if let Some(s) = &m.set_status {
            s.parse::<Status>().map_err(|e: String| invalid("set_status", e))?;
        }
        if let Some(s) = m.set_severity {
            Severity::try_from(s).map_err(|_| invalid("set_severity", "expected 1, 2, 3 or 4"))?;
        }
        if let Some(a) = &m.set_assignee
            && a != "me"
        {
            let mut conn = self.conn()?;
            let u = self
                .user_by_email(&mut conn, a)
                .map_err(|_| invalid("set_assignee", format!("unknown user '{a}'")))?;
            if u.role == "customer" {
                return Err(invalid("set_assignee", format!("'{a}' is not staff")));
            }
        }
        Ok(())
    }

    /// Where a new macro lives, if `who` may put it there.
    fn macro_scope(
        &self,
        c: &mut crate::store::DbConnection,
        who: &Principal,
        queue: Option<&str>,
        personal: bool,
    ) -> Result<(Option<i64>, Option<i64>), AppError> {
        who.staff_or_forbidden("a canned reply")?;
        let manager = matches!(who.role, Role::Manager | Role::Admin);
        match (queue, personal) {
            (Some(_), true) => Err(invalid("queue", "a macro is a queue's or one's own, not both")),
            (None, true) => Ok((None, Some(who.user_id))),
            (Some(slug), false) => {
                let q = crate::store::find::queue_by_slug(c, slug)?
                    .ok_or_else(|| invalid("queue", format!("no queue '{slug}'")))?;
                if !manager && q.lead_id != Some(who.user_id) {
                    return Err(AppError::Forbidden(
                        "a queue's macros are kept by its lead or a manager".into(),
                    ));
                }
                Ok((Some(q.id), None))
            }
            (None, false) if manager => Ok((None, None)),
            (None, false) => Err(AppError::Forbidden("desk-wide macros are kept by managers".into())),
        }
    }

    fn usable_macro(&self, who: &Principal, id: i64) -> Result<Row, AppError> {
        who.staff_or_forbidden("a canned reply")?;
        let row: Option<Row> = macros::table
            .find(id)
            .select(Row::as_select())
            .first(&mut self.conn()?)
            .optional()?;
        match row {
            Some(r) if r.owner_id.is_none() || r.owner_id == Some(who.user_id) => Ok(r),
            _ => Err(AppError::NotFound(format!("macro {id}"))),
        }
    }

    fn editable_macro(&self, who: &Principal, id: i64) -> Result<Row, AppError> {
        let row = self.usable_macro(who, id)?;
        let manager = matches!(who.role, Role::Manager | Role::Admin);
        let lead = match row.queue_id {
            Some(q) => {
                queues::table
                    .find(q)
                    .select(queues::lead_id)
                    .first::<Option<i64>>(&mut self.conn()?)?
                    == Some(who.user_id)
            }
            None => false,
        };
        if row.owner_id == Some(who.user_id) || manager || lead || row.created_by == who.user_id {
            Ok(row)
        } else {
            Err(AppError::Forbidden(
                "kept by its owner, its queue's lead or a manager".into(),
            ))
        }
    }

    fn macro_view(&self, who: &Principal, id: i64) -> Result<MacroView, AppError> {
        self.list_macros(who)?
            .into_iter()
            .find(|m| m.id == id)
            .ok_or_else(|| AppError::NotFound(format!("macro {id}")))
    }
}

/// The changes a rendered macro makes: its reply, then its moves.
pub fn macro_changes(p: &MacroPreview, who: &Principal) -> Result<Vec<Change>, AppError> {
    let mut changes = Vec::new();
    if !p.body.trim().is_empty() {
        changes.push(Change::Reply(p.body.clone()));
    }
    if let Some(s) = &p.set_status {
        let st: Status = s.parse().map_err(|e: String| invalid("set_status", e))?;
        changes.push(match st {
            Status::Resolved => Change::Resolve,
            Status::Closed => Change::Close,
            Status::Cancelled => Change::Cancel,
            other => Change::Status(other),
        });
    }
    if let Some(s) = p.set_severity {
        let sev = Severity::try_from(s as u8).map_err(|_| invalid("set_severity", "expected 1 to 4"))?;
        changes.push(Change::Severity(sev));
    }
    if let Some(a) = &p.set_assignee {
        let email = if a == "me" { who.email.clone() } else { a.clone() };
        changes.push(Change::Assign(Some(email)));
    }
    Ok(changes)
}

fn view(r: Row, queue: Option<String>) -> MacroView {
    let scope = if r.owner_id.is_some() {
        "personal"
    } else if r.queue_id.is_some() {
        "queue"
    } else {
        "desk"
    };
    MacroView {
        id: r.id,
        name: r.name,
        body: r.body,
        scope: scope.into(),
        queue,
        set_status: r.set_status,
        set_severity: r.set_severity,
        set_assignee: r.set_assignee,
        updated_at: utc(r.updated_at),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macros_render_strictly_and_as_plain_text() {
        let f = sample_fields();
        assert_eq!(
            render("Hello {{requester.name}}, about {{ticket.reference}} <b>", &f).unwrap(),
            "Hello n, about SD-000001 <b>"
        );
        assert!(render("{{requester.nmae}}", &f).is_err(), "an unknown field is refused");
        assert!(render("{{#if}}", &f).is_err());
    }
}
