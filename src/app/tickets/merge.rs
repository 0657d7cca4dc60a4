//! Merging a duplicate into the ticket it repeats (staff), in one
//! transaction: the target takes in the duplicate's public messages (copied
//! with their authors and first times) and its files, and counts its
//! clocks from the earlier receipt of the two, so the customer loses no
//! time; the duplicate is told where the work goes on and cancelled (its
//! clocks end `cancelled`, and the monthly figures leave it out as merged),
//! linked `duplicate_of` the target, and later mail to it threads onto the
//! target. Merging across organisations, or tickets of other types, is
//! refused. Everything is audited.

use super::*;
use crate::domain::ticket::CopiedMessage;
use crate::store::schema::{attachments, ticket_links};

/// What to merge into.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
pub struct MergeRequest {
    /// The target's reference: the ticket the work goes on in.
    pub into: String,
}

impl App {
    /// Merges `duplicate` into `req.into`; answers the target as it is now.
    pub fn merge_ticket(
        &self,
        who: &Principal,
        duplicate: &str,
        req: &MergeRequest,
        now: DateTime<Utc>,
    ) -> Result<TicketView, AppError> {
        who.staff_or_forbidden("merging tickets")?;
        let dup_ref = parse_reference(duplicate)?;
        let target_ref =
            parse_reference(&req.into).map_err(|_| invalid("into", "expected a reference such as SD-000123"))?;
        if dup_ref == target_ref {
            return Err(invalid("into", "a ticket cannot be merged into itself"));
        }
        let mut conn = self.conn()?;
        let v = conn.write(|c| {
            // Locked in one order, whichever way round the merge goes.
            let (first, second) = if dup_ref < target_ref {
                (&dup_ref, &target_ref)
            } else {
                (&target_ref, &dup_ref)
            };
            c.lock_ticket(first)?;
            c.lock_ticket(second)?;
            let dup = self.load_ticket(c, who, &dup_ref)?;
            let target = self.load_ticket(c, who, &target_ref)?;
            if dup.row.organisation_id != target.row.organisation_id {
                return Err(AppError::Conflict(format!(
                    "{dup_ref} and {target_ref} belong to different organisations: merging across organisations is refused"
                )));
            }
            for (r, row) in [(&dup_ref, &dup.row), (&target_ref, &target.row)] {
                if row.ticket_type != "incident" {
                    return Err(AppError::Conflict(format!(
                        "{r} is a {}: only incidents are merged (link the others)",
                        row.ticket_type.replace('_', " ")
                    )));
                }
            }
            if dup.ticket.status.stops_clocks() {
                return Err(AppError::Conflict(format!(
                    "{dup_ref} is {}: reopen it to merge it, or link it as a duplicate",
                    dup.ticket.status
                )));
            }
            // The customer's side of the conversation, as first written.
            let messages: Vec<CopiedMessage> = dup
                .ticket
                .events
                .iter()
                .filter_map(|e| match &e.kind {
                    EventKind::Commented {
                        visibility: Visibility::Public,
                        body,
                    } if e.by != Actor::System => Some(CopiedMessage {
                        by: e.by.clone(),
                        at: e.at,
                        body: body.clone(),
                    }),
                    EventKind::Copied { original_at, body, .. } => Some(CopiedMessage {
                        by: e.by.clone(),
                        at: *original_at,
                        body: body.clone(),
                    }),
                    _ => None,
                })
                .collect();
            let absorb = Change::Absorb {
                from: dup_ref.clone(),
                received_at: dup.ticket.received_at,
                messages,
            };
            self.change_ticket_in(c, who, &target_ref, &[absorb], now)?;
            // The earlier receipt is the target's row's too (lists, reports).
            if dup.row.received_at < target.row.received_at {
                diesel::update(tickets::table.find(target.row.id))
                    .set(tickets::received_at.eq(dup.row.received_at))
                    .execute(c)?;
            }
            let moved = diesel::update(attachments::table.filter(attachments::ticket_id.eq(dup.row.id)))
                .set(attachments::ticket_id.eq(target.row.id))
                .execute(c)?;
            // Whoever raised the duplicate keeps hearing, on the target.
            if dup.row.requester_id != target.row.requester_id {
                let u: User = users::table
                    .find(dup.row.requester_id)
                    .select(User::as_select())
                    .first(c)?;
                match super::watchers::watch(c, who, target.row.id, &target_ref, &u, "staff", now) {
                    Ok(()) | Err(AppError::Invalid { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
            let told = format!(
                "This request is the same as {target_ref}, so we have merged it there: your messages and files are \
                 on {target_ref}, and we carry on there. Replies to this ticket reach {target_ref} too."
            );
            self.change_ticket_in(c, who, &dup_ref, &[Change::Reply(told), Change::Cancel], now)?;
            self.link_in(
                c,
                who,
                &dup_ref,
                &NewLink {
                    kind: LinkKind::DuplicateOf,
                    ticket: target_ref.clone(),
                },
                now,
            )?;
            audit(
                c,
                who,
                "ticket.merge",
                &format!("ticket:{dup_ref}"),
                Some(&format!("into {target_ref}; {moved} file(s) moved")),
                now,
            )?;
            let row: TicketRow = tickets::table
                .find(target.row.id)
                .select(TicketRow::as_select())
                .first(c)?;
            self.view_of(c, &row)
        })?;
        self.shown_to(who, v)
    }
}

/// The ticket a merged duplicate went into: mail threaded to the duplicate
/// goes there. `None` for any ticket not merged.
pub(crate) fn merged_into(c: &mut DbConnection, reference: &str) -> Result<Option<String>, AppError> {
    let target: Option<String> = tickets::table
        .inner_join(ticket_links::table.on(ticket_links::from_ticket_id.eq(tickets::id)))
        .filter(tickets::reference.eq(reference))
        .filter(tickets::status.eq("cancelled"))
        .filter(ticket_links::kind.eq("duplicate_of"))
        .select(ticket_links::to_ticket_id)
        .first::<i64>(c)
        .optional()?
        .map(|id| tickets::table.find(id).select(tickets::reference).first(c))
        .transpose()?;
    Ok(target)
}
