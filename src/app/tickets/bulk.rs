//! Bulk actions: one set of changes applied to many tickets, each ticket
//! its own change through the core in its own transaction, so a ticket
//! the core refuses is reported with its reason and the others still go
//! through. A bulk public reply is a reply on each ticket, each mailed to
//! its own requester only.

use super::*;

/// The most tickets one bulk action takes.
pub const MAX_BULK: usize = 500;

/// What to do to each ticket, in this order: the reply, then the
/// assignee, queue, severity and status, then closing.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkRequest {
    /// References, at most 500.
    pub tickets: Vec<String>,
    /// A public reply on each ticket.
    pub reply: Option<String>,
    /// A member of staff's email, `me`, or `none` to unassign.
    pub assignee: Option<String>,
    pub queue: Option<String>,
    pub severity: Option<u8>,
    /// open, pending_customer, pending_third_party or resolved.
    pub status: Option<String>,
    #[serde(default)]
    pub close: bool,
}

/// How one ticket fared.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    pub reference: String,
    pub ok: bool,
    /// Why the core or the rules refused it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A bulk action's report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BulkReport {
    pub changed: usize,
    pub refused: usize,
    pub tickets: Vec<BulkOutcome>,
}

impl BulkRequest {
    fn changes(&self, who: &Principal) -> Result<Vec<Change>, AppError> {
        let mut changes = Vec::new();
        if let Some(r) = &self.reply {
            changes.push(Change::Reply(r.clone()));
        }
        if let Some(a) = &self.assignee {
            changes.push(Change::Assign(match a.as_str() {
                "none" => None,
                "me" => Some(who.email.clone()),
                email => Some(email.to_string()),
            }));
        }
        if let Some(q) = &self.queue {
            changes.push(Change::Queue(q.clone()));
        }
        if let Some(s) = self.severity {
            let sev = Severity::try_from(s).map_err(|_| invalid("severity", "expected 1, 2, 3 or 4"))?;
            changes.push(Change::Severity(sev));
        }
        if let Some(s) = &self.status {
            let st: Status = s.parse().map_err(|e: String| invalid("status", e))?;
            changes.push(if st == Status::Resolved {
                Change::Resolve
            } else {
                Change::Status(st)
            });
        }
        if self.close {
            changes.push(Change::Close);
        }
        if changes.is_empty() {
            return Err(invalid(
                "(body)",
                "nothing to do: give a reply, assignee, queue, severity, status or close",
            ));
        }
        Ok(changes)
    }
}

impl App {
    /// Applies one set of changes to each ticket (staff), each on its own.
    pub fn bulk_change(&self, who: &Principal, req: &BulkRequest, now: DateTime<Utc>) -> Result<BulkReport, AppError> {
        who.staff_or_forbidden("a bulk action")?;
        let mut refs: Vec<String> = Vec::new();
        for r in &req.tickets {
            let r = parse_reference(r).map_err(|_| invalid("tickets", format!("'{r}' is not a ticket reference")))?;
            if !refs.contains(&r) {
                refs.push(r);
            }
        }
        if refs.is_empty() || refs.len() > MAX_BULK {
            return Err(invalid("tickets", format!("1 to {MAX_BULK} tickets")));
        }
        let changes = req.changes(who)?;
        let mut tickets = Vec::with_capacity(refs.len());
        for reference in refs {
            let outcome = match self.change_ticket_as_stored(who, &reference, &changes, &[], None, now) {
                Ok(_) => BulkOutcome {
                    reference,
                    ok: true,
                    error: None,
                },
                Err(e @ (AppError::Store(_) | AppError::Internal(_))) => return Err(e),
                Err(e) => BulkOutcome {
                    reference,
                    ok: false,
                    error: Some(e.to_string()),
                },
            };
            tickets.push(outcome);
        }
        let changed = tickets.iter().filter(|t| t.ok).count();
        let refused = tickets.len() - changed;
        let mut conn = self.conn()?;
        conn.write(|c| {
            audit(
                c,
                who,
                "ticket.bulk",
                "tickets",
                Some(&format!("{changed} changed, {refused} refused")),
                now,
            )
        })?;
        Ok(BulkReport {
            changed,
            refused,
            tickets,
        })
    }
}
