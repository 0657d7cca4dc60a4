//! Problems and known errors: a problem opened from incidents or on its
//! own (staff only: no contact sees one), its root cause, workaround and
//! known-error flag, its incidents linked `caused_by` it (shown on both),
//! a workaround offered to those incidents as a public reply, and resolving
//! the problem offered to resolve them. The known-error list is searched
//! through the desk's full-text search.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::{Located, record};
use crate::app::tickets::{Change, LinkKind, NewLink, NewTicketRequest, SearchRequest};
use crate::app::{App, AppError, Principal, invalid};
use crate::domain::itil::TicketType;
use crate::domain::itil::problem::{Problem, ProblemAction};
use crate::store::DbConnection;
use crate::store::models::{Organisation, User};
use crate::store::schema::{itil_records, tickets};

/// A problem to open.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
pub struct NewProblem {
    pub subject: String,
    /// What is known so far (an internal record).
    pub description: String,
    /// The incidents it is opened from (references); may be none.
    #[serde(default)]
    pub incidents: Vec<String>,
    /// The organisation it is filed under: the first incident's if absent;
    /// required for a problem on its own.
    pub organisation: Option<String>,
    /// Queue slug; the first queue if absent.
    pub queue: Option<String>,
    /// When it should be resolved by (optional).
    pub target: Option<DateTime<Utc>>,
}

/// An incident linked to a problem.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkedIncident {
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub organisation: String,
}

/// A problem: the ticket's record beside its (internal) conversation.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ProblemView {
    pub reference: String,
    pub subject: String,
    /// new, under_investigation, known_error, resolved or closed
    pub status: String,
    pub known_error: bool,
    pub root_cause: Option<String>,
    pub workaround: Option<String>,
    pub target: Option<DateTime<Utc>>,
    pub opened_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub incidents: Vec<LinkedIncident>,
    /// What the caller may do now (as the core decides): investigate,
    /// record_root_cause, record_workaround, declare_known_error, resolve,
    /// reopen, close.
    pub moves: Vec<String>,
}

/// What was done to linked incidents along with an action.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct ProblemOutcome {
    pub problem: Option<ProblemView>,
    /// Incidents that got the workaround as a public reply, or were resolved.
    pub incidents_done: Vec<String>,
    /// Incidents left as they were, each with why.
    pub incidents_skipped: Vec<String>,
}

/// An action on a problem through the API.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum ProblemCommand {
    Investigate,
    RecordRootCause {
        text: String,
    },
    /// With `publish`, the workaround also goes to every open linked
    /// incident as a public reply.
    RecordWorkaround {
        text: String,
        #[serde(default)]
        publish: bool,
    },
    DeclareKnownError,
    LinkIncident {
        reference: String,
    },
    UnlinkIncident {
        reference: String,
    },
    SetTarget {
        at: Option<DateTime<Utc>>,
    },
    Note {
        body: String,
    },
    /// With `resolve_incidents`, every open linked incident is resolved
    /// too, its customer told `note`.
    Resolve {
        note: String,
        #[serde(default)]
        resolve_incidents: bool,
    },
    Reopen {
        reason: String,
    },
    Close,
}

impl ProblemCommand {
    fn action(&self) -> ProblemAction {
        match self.clone() {
            ProblemCommand::Investigate => ProblemAction::Investigate,
            ProblemCommand::RecordRootCause { text } => ProblemAction::RecordRootCause { text },
            ProblemCommand::RecordWorkaround { text, .. } => ProblemAction::RecordWorkaround { text },
            ProblemCommand::DeclareKnownError => ProblemAction::DeclareKnownError,
            ProblemCommand::LinkIncident { reference } => ProblemAction::LinkIncident { reference },
            ProblemCommand::UnlinkIncident { reference } => ProblemAction::UnlinkIncident { reference },
            ProblemCommand::SetTarget { at } => ProblemAction::SetTarget { at },
            ProblemCommand::Note { body } => ProblemAction::Note { body },
            ProblemCommand::Resolve { note, .. } => ProblemAction::Resolve { note },
            ProblemCommand::Reopen { reason } => ProblemAction::Reopen { reason },
            ProblemCommand::Close => ProblemAction::Close,
        }
    }
}

/// A known error as the list shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct KnownErrorView {
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub workaround: Option<String>,
    pub root_cause: Option<String>,
    pub incidents: usize,
}

impl App {
    /// Opens a problem (staff), from incidents or on its own; each incident
    /// is linked `caused_by` it.
    pub fn open_problem(&self, who: &Principal, p: NewProblem, now: DateTime<Utc>) -> Result<ProblemView, AppError> {
        who.staff_or_forbidden("opening a problem")?;
        let mut refs = Vec::new();
        for r in &p.incidents {
            let r = crate::app::tickets::parse_reference(r)
                .map_err(|_| invalid("incidents", format!("'{r}' is not a reference")))?;
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        let mut conn = self.conn()?;
        let reference = conn.write(|c| {
            let mut first_org = None;
            for r in &refs {
                let (id, org): (i64, i64) = tickets::table
                    .filter(tickets::reference.eq(r))
                    .select((tickets::id, tickets::organisation_id))
                    .first(c)
                    .optional()?
                    .ok_or_else(|| invalid("incidents", format!("no ticket {r}")))?;
                if record::type_of(c, id)? != TicketType::Incident {
                    return Err(invalid("incidents", format!("{r} is not an incident")));
                }
                first_org.get_or_insert(org);
            }
            let org: Organisation = match (&p.organisation, first_org) {
                (Some(slug), _) => self
                    .organisation_by_slug(c, slug)
                    .map_err(|_| invalid("organisation", format!("unknown organisation '{slug}'")))?,
                (None, Some(id)) => crate::store::schema::organisations::table
                    .find(id)
                    .select(Organisation::as_select())
                    .first(c)?,
                (None, None) => {
                    return Err(invalid(
                        "organisation",
                        "a problem on its own needs the organisation it is filed under",
                    ));
                }
            };
            let opener: User = self.user_by_email(c, &who.email)?;
            let ticket = NewTicketRequest {
                subject: p.subject.clone(),
                description: p.description.clone(),
                severity: None,
                queue: p.queue.clone(),
                organisation: Some(org.slug.clone()),
                requester: Some(opener.email.clone()),
                source: Some("api".into()),
            };
            self.check_new_text(&ticket)?;
            let v = self.insert_ticket(c, who, org, opener, &ticket, "api", now)?;
            let events = Problem::open(now, crate::app::tickets::actor_of(who), refs.clone())?;
            let (at, mut pr) = self.start_record::<Problem>(c, who, &v.reference, &events, now)?;
            if let Some(target) = p.target {
                let more = crate::app::tickets::record::Lifecycle::decide(
                    &pr,
                    now,
                    &crate::app::tickets::actor_of(who),
                    &ProblemAction::SetTarget { at: Some(target) },
                )?;
                record::append(c, at.id, &mut pr, &more)?;
            }
            for r in &refs {
                self.link_cause(c, who, r, &at.reference, now)?;
            }
            record::write_summary(c, at.id, &summary(&pr), now)?;
            Ok::<_, AppError>(at.reference)
        })?;
        self.problem(who, &reference)
    }

    /// Links an incident `caused_by` the problem.
    fn link_cause(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        incident: &str,
        problem: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        let link = NewLink {
            kind: LinkKind::CausedBy,
            ticket: problem.to_string(),
        };
        self.link_in(c, who, incident, &link, now)?;
        Ok(())
    }

    /// A problem (staff).
    pub fn problem(&self, who: &Principal, reference: &str) -> Result<ProblemView, AppError> {
        who.staff_or_forbidden("a problem")?;
        let mut conn = self.conn()?;
        let at = self.find_visible(&mut conn, who, reference)?;
        let p: Problem = record::load(&mut conn, at.id, &at.reference)?;
        let mut v = problem_view(&mut conn, &at, &p)?;
        let t = || "text".to_string();
        let candidates = vec![
            ("investigate", ProblemAction::Investigate),
            ("record_root_cause", ProblemAction::RecordRootCause { text: t() }),
            ("record_workaround", ProblemAction::RecordWorkaround { text: t() }),
            ("declare_known_error", ProblemAction::DeclareKnownError),
            ("resolve", ProblemAction::Resolve { note: t() }),
            ("reopen", ProblemAction::Reopen { reason: t() }),
            ("close", ProblemAction::Close),
        ];
        v.moves = super::moves(&p, &crate::app::tickets::actor_of(who), candidates);
        Ok(v)
    }

    /// Applies an action to a problem (staff): through the core, with what
    /// it offers done to the linked incidents in the same transaction.
    pub fn act_on_problem(
        &self,
        who: &Principal,
        reference: &str,
        command: &ProblemCommand,
        now: DateTime<Utc>,
    ) -> Result<ProblemOutcome, AppError> {
        who.staff_or_forbidden("working a problem")?;
        let mut conn = self.conn()?;
        let (at, mut out) = conn.write(|c| {
            let at = self.locate(c, who, reference)?;
            let mut out = ProblemOutcome::default();
            if let ProblemCommand::LinkIncident { reference: r } = command {
                let id = self.find_visible(c, who, r)?.id;
                if record::type_of(c, id)? != TicketType::Incident {
                    return Err(invalid("reference", format!("{r} is not an incident")));
                }
            }
            let command = match command {
                ProblemCommand::LinkIncident { reference: r } | ProblemCommand::UnlinkIncident { reference: r } => {
                    let r = crate::app::tickets::parse_reference(r)?;
                    match command {
                        ProblemCommand::LinkIncident { .. } => ProblemCommand::LinkIncident { reference: r },
                        _ => ProblemCommand::UnlinkIncident { reference: r },
                    }
                }
                other => other.clone(),
            };
            let (p, _) = self.act_on::<Problem>(c, who, &at, &command.action(), now)?;
            record::write_summary(c, at.id, &summary(&p), now)?;
            match &command {
                ProblemCommand::LinkIncident { reference: r } => self.link_cause(c, who, r, &at.reference, now)?,
                ProblemCommand::UnlinkIncident { reference: r } => {
                    self.unlink_in(c, who, r, LinkKind::CausedBy, &at.reference, now)?;
                }
                ProblemCommand::RecordWorkaround { text, publish: true } => {
                    let body = format!(
                        "We have found a way round this while we fix its cause:\n\n{}",
                        text.trim()
                    );
                    self.to_incidents(c, who, &p, &[Change::Reply(body)], &mut out, now)?;
                }
                ProblemCommand::Resolve {
                    note,
                    resolve_incidents: true,
                } => {
                    let changes = [Change::Reply(note.trim().to_string()), Change::Resolve];
                    self.to_incidents(c, who, &p, &changes, &mut out, now)?;
                }
                _ => {}
            }
            crate::app::audit(
                c,
                who,
                "problem.change",
                &format!("ticket:{}", at.reference),
                Some(p.status.as_str()),
                now,
            )?;
            Ok::<_, AppError>((at, out))
        })?;
        out.problem = Some(self.problem(who, &at.reference)?);
        Ok(out)
    }

    /// Applies `changes` to every open incident of the problem; one the core
    /// refuses (resolved already, say) is left as it was and named.
    fn to_incidents(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        p: &Problem,
        changes: &[Change],
        out: &mut ProblemOutcome,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        for r in &p.incidents {
            let status: Option<String> = tickets::table
                .filter(tickets::reference.eq(r))
                .select(tickets::status)
                .first(c)
                .optional()?;
            match status.as_deref() {
                None => out.incidents_skipped.push(format!("{r} (not found)")),
                Some(s @ ("resolved" | "closed" | "cancelled")) => {
                    out.incidents_skipped.push(format!("{r} ({s} already)"))
                }
                Some(_) => match self.change_ticket_in(c, who, r, changes, now) {
                    Ok(_) => out.incidents_done.push(r.clone()),
                    Err(AppError::Command(e)) => out.incidents_skipped.push(format!("{r} ({e})")),
                    Err(e) => return Err(e),
                },
            }
        }
        Ok(())
    }

    /// The known errors (staff): every problem declared one, newest first,
    /// narrowed by `q` through the desk's full-text search when given.
    pub fn known_errors(
        &self,
        who: &Principal,
        q: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Vec<KnownErrorView>, AppError> {
        who.staff_or_forbidden("the known-error list")?;
        let wanted: Option<Vec<String>> = match q.map(str::trim).filter(|q| !q.is_empty()) {
            Some(q) => {
                let found = self.search_tickets(
                    who,
                    &SearchRequest {
                        q: format!("type:problem {q}"),
                        limit: Some(100),
                        offset: None,
                        sort: None,
                    },
                    now,
                )?;
                Some(found.items.into_iter().map(|h| h.ticket.reference).collect())
            }
            None => None,
        };
        let mut conn = self.conn()?;
        let mut query = tickets::table
            .inner_join(itil_records::table)
            .filter(itil_records::known_error.eq(true))
            .order(tickets::id.desc())
            .select((tickets::id, tickets::reference))
            .limit(200)
            .into_boxed();
        if let Some(refs) = &wanted {
            query = query.filter(tickets::reference.eq_any(refs));
        }
        let rows: Vec<(i64, String)> = query.load(&mut conn)?;
        let mut out = Vec::new();
        for (id, reference) in rows {
            let at = Located {
                id,
                reference: reference.clone(),
            };
            let p: Problem = record::load(&mut conn, id, &reference)?;
            let v = problem_view(&mut conn, &at, &p)?;
            out.push(KnownErrorView {
                reference,
                subject: v.subject,
                status: v.status,
                workaround: v.workaround,
                root_cause: v.root_cause,
                incidents: v.incidents.len(),
            });
        }
        Ok(out)
    }
}

fn summary(p: &Problem) -> record::Summary {
    record::Summary {
        status: p.status.as_str().to_string(),
        due_at: p.target,
        known_error: p.known_error,
        ..record::Summary::default()
    }
}

fn problem_view(c: &mut DbConnection, at: &Located, p: &Problem) -> Result<ProblemView, AppError> {
    use crate::store::schema::organisations;
    let subject: String = tickets::table.find(at.id).select(tickets::subject).first(c)?;
    let refs: Vec<&String> = p.incidents.iter().collect();
    let rows: Vec<(String, String, String, String)> = tickets::table
        .inner_join(organisations::table)
        .filter(tickets::reference.eq_any(&refs))
        .order(tickets::id)
        .select((
            tickets::reference,
            tickets::subject,
            tickets::status,
            organisations::slug,
        ))
        .load(c)?;
    Ok(ProblemView {
        reference: at.reference.clone(),
        subject,
        status: p.status.as_str().to_string(),
        known_error: p.known_error,
        root_cause: p.root_cause.clone(),
        workaround: p.workaround.clone(),
        target: p.target,
        opened_at: p.opened_at,
        resolved_at: p.resolved_at,
        incidents: rows
            .into_iter()
            .map(|(reference, subject, status, organisation)| LinkedIncident {
                reference,
                subject,
                status,
                organisation,
            })
            .collect(),
        moves: Vec::new(),
    })
}
