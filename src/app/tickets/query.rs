//! Listing tickets: filters, the queue order and keyset pages.

use super::*;

/// An opaque page cursor: `<unix seconds or ->.<id>`.
pub(super) struct Cursor {
    at: Option<NaiveDateTime>,
    id: i64,
}

impl Cursor {
    fn encode(&self) -> String {
        match self.at {
            Some(t) => format!("{}.{}", t.and_utc().timestamp(), self.id),
            None => format!("-.{}", self.id),
        }
    }

    fn parse(s: &str) -> Option<Cursor> {
        let (a, b) = s.split_once('.')?;
        let id = b.parse().ok()?;
        let at = match a {
            "-" => None,
            n => Some(DateTime::from_timestamp(n.parse().ok()?, 0)?.naive_utc()),
        };
        Some(Cursor { at, id })
    }
}

/// The deepest a page may start: past it, the filters should be narrowed
/// (a search engine's result window, for the same reason: a deep offset
/// costs as much as reading every row before it).
pub const MAX_OFFSET: i64 = 10_000;

/// The orders a list can be read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sort {
    /// The queue order: nearest warning or breach first.
    Urgency,
    Newest,
    Oldest,
    Severity,
    Updated,
}

/// What the query is for: a page of rows, how many match, or which of
/// a search's candidates pass the filters.
pub(super) enum Want<'a> {
    Page,
    Count,
    Among(&'a [i64]),
}

pub(super) enum Listed {
    Page(TicketPage),
    Count(TicketCount),
    Ids(Vec<i64>),
}

impl Listed {
    fn page(self) -> TicketPage {
        match self {
            Listed::Page(p) => p,
            _ => unreachable!("asked for a page"),
        }
    }

    pub(super) fn ids(self) -> Vec<i64> {
        match self {
            Listed::Ids(ids) => ids,
            _ => unreachable!("asked for ids"),
        }
    }

    fn count(self) -> TicketCount {
        match self {
            Listed::Count(c) => c,
            _ => unreachable!("asked for a count"),
        }
    }
}

impl App {
    /// Lists the tickets the caller may see, filtered, most urgent first by
    /// default, with keyset pagination.
    pub fn list_tickets(&self, who: &Principal, f: &TicketFilter, now: DateTime<Utc>) -> Result<TicketPage, AppError> {
        let page = self.list_tickets_as_stored(who, f, now)?;
        Ok(TicketPage {
            items: self.all_shown_to(who, page.items)?,
            next: page.next,
            more: page.more,
        })
    }

    /// How many tickets the caller may see match the filter (its sort and
    /// paging aside), counted up to `MAX_OFFSET`.
    pub fn count_tickets(
        &self,
        who: &Principal,
        f: &TicketFilter,
        now: DateTime<Utc>,
    ) -> Result<TicketCount, AppError> {
        Ok(self.select_tickets(who, f, now, Want::Count)?.count())
    }

    /// Lists the tickets the caller may see, filtered, most urgent first by
    /// default, with keyset pagination.
    pub(super) fn list_tickets_as_stored(
        &self,
        who: &Principal,
        f: &TicketFilter,
        now: DateTime<Utc>,
    ) -> Result<TicketPage, AppError> {
        Ok(self.select_tickets(who, f, now, Want::Page)?.page())
    }

    /// One query for all three: the filters are built once, so a count
    /// always counts what the pages list, and a search filters as a list
    /// does.
    pub(super) fn select_tickets(
        &self,
        who: &Principal,
        f: &TicketFilter,
        now: DateTime<Utc>,
        want: Want,
    ) -> Result<Listed, AppError> {
        let limit = f.limit.unwrap_or(50);
        if !(1..=200).contains(&limit) {
            return Err(invalid("limit", "expected 1 to 200"));
        }
        let customer = who.role == Role::Customer;
        // Routing, assignment and escalation timing are the desk's own: as
        // filters they would answer questions about them, and the queue
        // order (whose cursor carries the next warning's instant) too; so
        // would the order of staff activity.
        if customer && let Some(field) = f.staff_only_given() {
            return Err(AppError::NotForCaller {
                field: field.into(),
                message: "a filter for staff only".into(),
            });
        }
        let sort = match f.sort.as_deref() {
            None if customer => Sort::Newest,
            None | Some("next_check_at") => Sort::Urgency,
            Some("created") => Sort::Newest,
            Some("created_asc") => Sort::Oldest,
            Some("severity") => Sort::Severity,
            Some("updated") => Sort::Updated,
            Some(other) => {
                return Err(invalid(
                    "sort",
                    format!(
                        "unknown sort '{other}': expected next_check_at, created, created_asc, severity or updated"
                    ),
                ));
            }
        };
        let offset = f.offset.unwrap_or(0);
        if !(0..=MAX_OFFSET).contains(&offset) {
            return Err(invalid(
                "offset",
                format!("expected 0 to {MAX_OFFSET}: narrow the filters to go further"),
            ));
        }
        if f.after.is_some() && f.offset.is_some() {
            return Err(invalid("offset", "give either after or offset, not both"));
        }
        if f.after.is_some() && !matches!(sort, Sort::Urgency | Sort::Newest) {
            return Err(invalid("after", "this sort pages by offset, not by cursor"));
        }
        let mut conn = self.conn()?;
        let c = &mut conn;
        let mut q = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .into_boxed();
        let reach = self.reach(c, who)?;
        q = super::access::within_reach!(q, reach);
        if let Some(s) = &f.status {
            if s == "active" {
                q = q.filter(tickets::status.eq_any(Status::ACTIVE.map(|s| s.as_str())));
            } else {
                let st: Status = s.parse().map_err(|e: String| invalid("status", e))?;
                q = q.filter(tickets::status.eq(st.as_str()));
            }
        }
        if let Some(t) = &f.ticket_type {
            let t: crate::domain::itil::TicketType = t.parse().map_err(|e: String| invalid("type", e))?;
            q = q.filter(tickets::ticket_type.eq(t.as_str()));
        }
        if let Some(t) = &f.tier {
            q = q.filter(organisations::tier.eq(t.clone()));
        }
        if let Some(s) = f.severity {
            if !(1..=4).contains(&s) {
                return Err(invalid("severity", "expected 1, 2, 3 or 4"));
            }
            q = q.filter(tickets::severity.eq(s));
        }
        if let Some(slug) = &f.queue {
            q = q.filter(queues::slug.eq(slug.clone()));
        }
        if let Some(slug) = &f.organisation {
            q = q.filter(organisations::slug.eq(slug.clone()));
        }
        if let Some(email) = &f.requester {
            let id = self.user_by_email(c, email).map(|u| u.id).unwrap_or(-1);
            q = q.filter(tickets::requester_id.eq(id));
        }
        if let Some(a) = &f.assignee {
            q = match a.as_str() {
                "none" => q.filter(tickets::assignee_id.is_null()),
                "me" => q.filter(tickets::assignee_id.eq(who.user_id)),
                email => {
                    let id = self.user_by_email(c, email).map(|u| u.id).unwrap_or(-1);
                    q.filter(tickets::assignee_id.eq(id))
                }
            };
        }
        if let Some(b) = f.breached {
            let breached = tickets::response_breached_at
                .is_not_null()
                .or(tickets::resolve_breached_at.is_not_null());
            q = if b {
                q.filter(breached)
            } else {
                q.filter(diesel::dsl::not(breached))
            };
        }
        if let Some(b) = f.at_risk {
            let not_breached = tickets::response_breached_at
                .is_null()
                .and(tickets::resolve_breached_at.is_null());
            let risky = tickets::at_risk_at.le(naive(now)).and(not_breached);
            q = if b {
                q.filter(risky)
            } else {
                q.filter(diesel::dsl::not(risky.assume_not_null()).or(tickets::at_risk_at.is_null()))
            };
        }
        if let Some(text) = &f.q {
            let escaped = text
                .to_lowercase()
                .replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_");
            q = q.filter(lower(tickets::subject).like(format!("%{escaped}%")).escape('\\'));
        }
        if let Want::Among(ids) = want {
            let ids: Vec<i64> = q.filter(tickets::id.eq_any(ids)).select(tickets::id).load(c)?;
            return Ok(Listed::Ids(ids));
        }
        if let Want::Count = want {
            // Bounded: at most one more id than the cap is read.
            let ids: Vec<i64> = q.select(tickets::id).limit(MAX_OFFSET + 1).load(c)?;
            let total = ids.len() as i64;
            return Ok(Listed::Count(TicketCount {
                total: total.min(MAX_OFFSET),
                more: total > MAX_OFFSET,
            }));
        }
        // Keyset pagination: the cursor is the last row's sort key and id.
        let cursor = match &f.after {
            None => None,
            Some(s) => Some(Cursor::parse(s).ok_or_else(|| invalid("after", "not a cursor this API gave out"))?),
        };
        // The queue order: the nearest warning or breach first, an
        // unassigned severity 1 ticket that has begun to escalate above all;
        // nothing to watch (`never()`) last.
        match sort {
            Sort::Newest => {
                if let Some(Cursor { at: Some(at), id }) = cursor {
                    q = q.filter(
                        tickets::created_at
                            .lt(at)
                            .or(tickets::created_at.eq(at).and(tickets::id.lt(id))),
                    );
                }
                q = q.order((tickets::created_at.desc(), tickets::id.desc()));
            }
            Sort::Oldest => q = q.order((tickets::created_at.asc(), tickets::id.asc())),
            Sort::Updated => q = q.order((tickets::updated_at.desc(), tickets::id.desc())),
            Sort::Severity => {
                q = q.order((
                    tickets::severity.asc(),
                    tickets::queue_order_at.asc(),
                    tickets::id.asc(),
                ))
            }
            Sort::Urgency => {
                // Nothing to watch is stored as `never()`, the last place, so
                // this is a walk of an index; a cursor of an older release
                // (no instant) stands among those.
                if let Some(Cursor { at, id }) = cursor {
                    let at = at.unwrap_or_else(super::never);
                    q = q.filter(
                        tickets::queue_order_at
                            .gt(at)
                            .or(tickets::queue_order_at.eq(at).and(tickets::id.gt(id))),
                    )
                }
                q = q.order((tickets::queue_order_at.asc(), tickets::id.asc()));
            }
        }
        let rows: Vec<(TicketRow, super::read::Names)> = q
            .offset(offset)
            .limit(limit + 1)
            .select((TicketRow::as_select(), super::names!()))
            .load(c)?;
        let more = rows.len() as i64 > limit;
        let rows = &rows[..rows.len().min(limit as usize)];
        // Only the keyset sorts hand out a cursor; the others page by offset.
        let next = if more && matches!(sort, Sort::Urgency | Sort::Newest) && f.offset.is_none() {
            rows.last().map(|(r, ..)| {
                Cursor {
                    at: if sort == Sort::Newest {
                        Some(r.created_at)
                    } else {
                        r.sla.queue_order_at
                    },
                    id: r.id,
                }
                .encode()
            })
        } else {
            None
        };
        let items = rows.iter().map(|(r, names)| row_view(r, names.clone())).collect();
        Ok(Listed::Page(TicketPage { items, next, more }))
    }
}
