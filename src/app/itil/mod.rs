//! Use cases of the tickets that are not incidents: service requests from
//! the catalogue (`requests`), problems and known errors (`problems`) and
//! changes with their CAB and calendar (`changes`). Each is a ticket of
//! `app::tickets` (its conversation, queue, watchers, links, search) with
//! its type's lifecycle beside it (`app::tickets::record`), changed by the
//! core's `decide` inside the ticket's transaction, its row locked.

mod approval;
mod calendar;
mod changes;
mod problems;
mod requests;

pub use approval::decision_in_mail;
pub use calendar::*;
pub use changes::*;
pub use problems::*;
pub use requests::*;

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::tickets::NewTicketRequest;
use super::tickets::record::{self, Lifecycle};
use super::{App, AppError, Principal, audit};
use crate::domain::itil::Refused;
use crate::domain::itil::catalogue::Catalogue;
use crate::store::DbConnection;
use crate::store::models::{Organisation, User};
use crate::store::schema::{itil_records, tickets};

/// A ticket found for a use case, within the caller's reach, its row locked.
pub(crate) struct Located {
    pub id: i64,
    pub reference: String,
}

impl From<Refused> for AppError {
    fn from(e: Refused) -> Self {
        match e {
            Refused::NotAllowed { .. } => AppError::Forbidden(e.to_string()),
            Refused::Invalid(m) => AppError::Invalid {
                field: "(body)".into(),
                message: m,
            },
            other => AppError::Conflict(other.to_string()),
        }
    }
}

/// The items sladesk ships, compiled in (a test reads them all, so this
/// cannot fail at run time).
pub fn shipped_catalogue() -> Catalogue {
    let files: Vec<(String, String)> = crate::shipped::CATALOGUE
        .iter()
        .map(|(n, t)| (format!("(built in) catalogue/{n}"), t.to_string()))
        .collect();
    Catalogue::from_files(&files).unwrap_or_default()
}

impl App {
    /// Replaces the service catalogue (`catalogue` in sladesk.toml).
    pub fn set_catalogue(&self, catalogue: Catalogue) {
        *self.catalogue.write().expect("lock") = std::sync::Arc::new(catalogue);
    }

    /// The service catalogue now.
    pub fn catalogue(&self) -> std::sync::Arc<Catalogue> {
        self.catalogue.read().expect("lock").clone()
    }

    /// Locks and finds a ticket the caller may see (404 otherwise, as for
    /// any ticket out of reach).
    pub(crate) fn locate(&self, c: &mut DbConnection, who: &Principal, reference: &str) -> Result<Located, AppError> {
        c.lock_ticket(&super::tickets::parse_reference(reference)?)?;
        self.find_visible(c, who, reference)
    }

    /// Raises a ticket of type `L` for `parties` (organisation, requester)
    /// in the caller's transaction: its conversation opened with the
    /// description, its record with `events`.
    pub(crate) fn raise_record<L: Lifecycle>(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        parties: (Organisation, User),
        req: &NewTicketRequest,
        events: &[L::Event],
        now: DateTime<Utc>,
    ) -> Result<(Located, L), AppError> {
        self.check_new_text(req)?;
        let source = req.source.clone().unwrap_or_else(|| "api".into());
        let v = self.insert_ticket(c, who, parties.0, parties.1, req, &source, now)?;
        self.start_record(c, who, &v.reference, events, now)
    }

    /// Makes a just-raised ticket one of type `L`, its record begun with `events`.
    pub(crate) fn start_record<L: Lifecycle>(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        events: &[L::Event],
        now: DateTime<Utc>,
    ) -> Result<(Located, L), AppError> {
        let id: i64 = tickets::table
            .filter(tickets::reference.eq(reference))
            .select(tickets::id)
            .first(c)?;
        diesel::update(tickets::table.find(id))
            .set(tickets::ticket_type.eq(L::TYPE.as_str()))
            .execute(c)?;
        diesel::insert_into(itil_records::table)
            .values((
                itil_records::ticket_id.eq(id),
                itil_records::ticket_type.eq(L::TYPE.as_str()),
                itil_records::status.eq("new"),
                itil_records::updated_at.eq(super::naive(now)),
            ))
            .execute(c)?;
        let rec: L = record::start(c, id, events)?;
        audit(
            c,
            who,
            &format!("{}.create", L::TYPE),
            &format!("ticket:{reference}"),
            None,
            now,
        )?;
        Ok((
            Located {
                id,
                reference: reference.to_string(),
            },
            rec,
        ))
    }

    /// Finds a ticket the caller may see, without locking it (reads): the
    /// rule every ticket read asks (`visible_ticket_id`).
    pub(crate) fn find_visible(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
    ) -> Result<Located, AppError> {
        Ok(Located {
            id: self.visible_ticket_id(c, who, reference)?,
            reference: super::tickets::parse_reference(reference)?,
        })
    }

    /// Applies one action to a located record through the core: the events it
    /// makes are stored and folded in (nothing is stored if it is refused).
    pub(crate) fn act_on<L: Lifecycle>(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        at: &Located,
        action: &L::Action,
        now: DateTime<Utc>,
    ) -> Result<(L, Vec<L::Event>), AppError> {
        let mut rec: L = record::load(c, at.id, &at.reference)?;
        let when = now.max(rec.last_at());
        let events = rec.decide(when, &super::tickets::actor_of(who), action)?;
        record::append(c, at.id, &mut rec, &events)?;
        Ok((rec, events))
    }
}

/// The actions the core would accept from `by` now, by name: what a page
/// offers is exactly what is then accepted (as `domain::moves` is for the
/// incident).
pub(crate) fn moves<L: Lifecycle>(
    rec: &L,
    by: &crate::domain::vocabulary::Actor,
    candidates: Vec<(&'static str, L::Action)>,
) -> Vec<String> {
    let now = rec.last_at();
    candidates
        .into_iter()
        .filter(|(_, a)| rec.decide(now, by, a).is_ok())
        .map(|(name, _)| name.to_string())
        .collect()
}
