//! Major incidents: staff link tickets from any organisation to an outage.
//! A public update on the outage is then also a public reply on each
//! linked ticket still open, mailed to its requester as any reply is, in
//! the update's transaction; resolving the outage may resolve them all with
//! one note. Linking moves no SLA clock: a ticket's clocks come from its
//! own events alone. Customers never see the links, only the replies on
//! their own tickets, which carry the outage's public text.

use super::*;
use crate::app::tickets::Change;
use crate::domain::names::TicketRef;
use crate::store::schema::{outage_tickets, tickets};

/// The most tickets linked in one request.
const MAX_LINK: usize = 500;

/// Which tickets to link to an outage, or resolve with one note.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTicketsRequest {
    /// References, `SD-000123`.
    pub tickets: Vec<String>,
}

/// One note that resolves every linked ticket still open.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResolveLinkedRequest {
    /// The public resolution note each requester reads.
    pub note: String,
}

/// A ticket linked to an outage, as staff see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkedTicket {
    pub reference: String,
    pub organisation: String,
    pub subject: String,
    pub status: String,
    pub response_breached_at: Option<DateTime<Utc>>,
    pub resolve_breached_at: Option<DateTime<Utc>>,
    pub linked_at: DateTime<Utc>,
}

/// Linked tickets still open: (id, reference).
fn open_linked(c: &mut DbConnection, outage: i64) -> Result<Vec<(i64, String)>, AppError> {
    Ok(outage_tickets::table
        .inner_join(tickets::table)
        .filter(outage_tickets::outage_id.eq(outage))
        .filter(tickets::status.eq_any(crate::domain::ticket::Status::ACTIVE.map(|s| s.as_str())))
        .order(tickets::id)
        .select((tickets::id, tickets::reference))
        .load(c)?)
}

impl App {
    /// Links tickets to an outage (staff), audited; linking one twice is
    /// no change. Every reference must name a ticket.
    pub fn link_tickets(
        &self,
        who: &Principal,
        id: i64,
        req: LinkTicketsRequest,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkedTicket>, AppError> {
        who.staff_only()?;
        if req.tickets.is_empty() || req.tickets.len() > MAX_LINK {
            return Err(invalid("tickets", format!("name 1 to {MAX_LINK} tickets")));
        }
        let refs = req
            .tickets
            .iter()
            .map(|r| {
                TicketRef::parse(r)
                    .map(|t| t.as_str().to_string())
                    .map_err(|_| invalid("tickets", format!("'{r}' is not a ticket reference")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            outage_row(c, id)?;
            let found: Vec<(String, i64)> = tickets::table
                .filter(tickets::reference.eq_any(&refs))
                .select((tickets::reference, tickets::id))
                .load(c)?;
            if let Some(missing) = refs.iter().find(|r| !found.iter().any(|f| &f.0 == *r)) {
                return Err(invalid("tickets", format!("no ticket {missing}")));
            }
            let already: Vec<i64> = outage_tickets::table
                .filter(outage_tickets::outage_id.eq(id))
                .select(outage_tickets::ticket_id)
                .load(c)?;
            let mut added = Vec::new();
            for (reference, ticket) in &found {
                if already.contains(ticket) || added.contains(reference) {
                    continue;
                }
                diesel::insert_into(outage_tickets::table)
                    .values((
                        outage_tickets::outage_id.eq(id),
                        outage_tickets::ticket_id.eq(ticket),
                        outage_tickets::linked_by.eq((who.user_id > 0).then_some(who.user_id)),
                        outage_tickets::linked_at.eq(naive(now)),
                    ))
                    .execute(c)?;
                added.push(reference.clone());
            }
            if !added.is_empty() {
                audit(
                    c,
                    who,
                    "outage.link",
                    &format!("outage:{id}"),
                    Some(&added.join(" ")),
                    now,
                )?;
            }
            self.linked_in(c, id)
        })
    }

    /// Unlinks a ticket from an outage (staff), audited. Its later updates
    /// and resolution leave the ticket alone.
    pub fn unlink_ticket(&self, who: &Principal, id: i64, reference: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let ticket: Option<i64> = tickets::table
                .filter(tickets::reference.eq(reference))
                .select(tickets::id)
                .first(c)
                .optional()?;
            let gone = match ticket {
                Some(t) => diesel::delete(
                    outage_tickets::table
                        .filter(outage_tickets::outage_id.eq(id))
                        .filter(outage_tickets::ticket_id.eq(t)),
                )
                .execute(c)?,
                None => 0,
            };
            if gone == 0 {
                return Err(AppError::NotFound(format!("a link from outage {id} to {reference}")));
            }
            audit(c, who, "outage.unlink", &format!("outage:{id}"), Some(reference), now)
        })
    }

    /// The tickets linked to an outage (staff), oldest link first.
    pub fn linked_tickets(&self, who: &Principal, id: i64) -> Result<Vec<LinkedTicket>, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        outage_row(&mut conn, id)?;
        self.linked_in(&mut conn, id)
    }

    fn linked_in(&self, c: &mut DbConnection, id: i64) -> Result<Vec<LinkedTicket>, AppError> {
        type Row = (
            String,
            String,
            String,
            String,
            Option<chrono::NaiveDateTime>,
            Option<chrono::NaiveDateTime>,
            chrono::NaiveDateTime,
        );
        let rows: Vec<Row> = outage_tickets::table
            .inner_join(tickets::table.inner_join(organisations::table))
            .filter(outage_tickets::outage_id.eq(id))
            .order((outage_tickets::linked_at, tickets::id))
            .select((
                tickets::reference,
                organisations::slug,
                tickets::subject,
                tickets::status,
                tickets::response_breached_at,
                tickets::resolve_breached_at,
                outage_tickets::linked_at,
            ))
            .load(c)?;
        Ok(rows
            .into_iter()
            .map(|r| LinkedTicket {
                reference: r.0,
                organisation: r.1,
                subject: r.2,
                status: r.3,
                response_breached_at: r.4.map(utc),
                resolve_breached_at: r.5.map(utc),
                linked_at: utc(r.6),
            })
            .collect())
    }

    /// The outages a ticket is linked to, by id (staff see them on the
    /// ticket's page).
    pub fn outages_of_ticket(&self, who: &Principal, reference: &str) -> Result<Vec<i64>, AppError> {
        who.staff_only()?;
        let mut conn = self.conn()?;
        Ok(outage_tickets::table
            .inner_join(tickets::table)
            .filter(tickets::reference.eq(reference))
            .order(outage_tickets::outage_id)
            .select(outage_tickets::outage_id)
            .load(&mut *conn)?)
    }

    /// A public update's words as a public reply on each linked ticket
    /// still open, as `who`, in the caller's transaction. How many.
    pub(super) fn reply_on_linked(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        outage: &OutageView,
        headline: &str,
        body: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        let linked = open_linked(c, outage.id)?;
        let name = status::kind_title(&outage.kind);
        let text = format!(
            "{name} update ({headline}): {body}\n\nThis ticket is linked to the incident; updates are also on the status page."
        );
        for (_, reference) in &linked {
            self.change_ticket_in(c, who, reference, &[Change::Reply(text.clone())], now)?;
        }
        Ok(linked.len())
    }

    /// Resolves every linked ticket still open with one public note (staff),
    /// in one transaction; tickets unlinked first are left alone. How many.
    pub fn resolve_linked(
        &self,
        who: &Principal,
        id: i64,
        req: ResolveLinkedRequest,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        who.staff_only()?;
        let note = text("note", &req.note, 5000)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            outage_row(c, id)?;
            let linked = open_linked(c, id)?;
            for (_, reference) in &linked {
                self.change_ticket_in(c, who, reference, &[Change::Reply(note.clone()), Change::Resolve], now)?;
            }
            audit(
                c,
                who,
                "outage.resolve_linked",
                &format!("outage:{id}"),
                Some(&format!("{} tickets", linked.len())),
                now,
            )?;
            Ok(linked.len())
        })
    }
}
