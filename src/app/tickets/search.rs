//! Searching tickets: the query language read by `domain::search`, matched
//! by the store's full-text index, narrowed by the same filters a list
//! uses (so a customer can filter by nothing they could not list by), and
//! ranked.
//!
//! Cost is bounded: the index gives at most `WINDOW` candidates, the
//! newest that match, and ranking, filtering and paging happen among them.
//! A word in a quarter of a million tickets costs what a rare one does; a
//! search whose window filled says so, and `before:` / `after:` reach
//! further back.

use super::*;
use crate::domain::search::{self, Filters, Query};
use crate::store::search::{MARK_END, MARK_START, Scope};

/// The most candidates one search ranks: the newest that match.
pub const WINDOW: i64 = 200;

/// What a search asks: the query text and which page of results.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchRequest {
    /// The query: words (stemmed), `"phrases"`, `-word`, `prefix*`, and the
    /// filters `org:`, `status:`, `sev:`, `assignee:`, `queue:`, `tier:`,
    /// `type:`, `before:`, `after:` (London dates), `breached`, `at-risk`.
    /// A reference alone (`SD-000123` or `123`) answers that ticket.
    pub q: String,
    /// 1 to 100; 20 by default.
    pub limit: Option<i64>,
    /// Results to skip, within the ranked window.
    pub offset: Option<i64>,
    /// With words: `relevance` (the default) or `created` (newest first).
    /// Filters alone: any order the ticket list takes (`created`, the
    /// default; `created_asc`, `severity`, and for staff `next_check_at`
    /// and `updated`).
    pub sort: Option<String>,
}

/// A piece of a snippet; `hit` pieces are what the query matched.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SnippetPart {
    pub text: String,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hit: bool,
}

/// A ticket found, with a passage of the text it matched in.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchHit {
    pub ticket: TicketView,
    /// Empty when only filters were given, or only the names matched.
    pub snippet: Vec<SnippetPart>,
}

/// A search's answer.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SearchResults {
    /// Set when the query was a reference alone that the caller may see:
    /// go to that ticket.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub jump: Option<String>,
    pub items: Vec<SearchHit>,
    /// How many matched (within the window when words were given).
    pub total: i64,
    /// Whether results follow this page.
    pub more: bool,
    /// True when the words matched more tickets than one search ranks: the
    /// results are the best of the newest `WINDOW`; narrow with filters,
    /// `before:` or `after:`.
    pub window_full: bool,
}

/// Splits a marked snippet into plain and matched pieces.
fn snippet_parts(marked: &str) -> Vec<SnippetPart> {
    let mut parts = Vec::new();
    let mut hit = false;
    let mut text = String::new();
    for c in marked.chars() {
        if c == MARK_START || c == MARK_END {
            if !text.is_empty() {
                parts.push(SnippetPart {
                    text: std::mem::take(&mut text),
                    hit,
                });
            }
            hit = c == MARK_START;
        } else {
            text.push(c);
        }
    }
    if !text.is_empty() {
        parts.push(SnippetPart { text, hit });
    }
    parts
}

/// The list filter a query's filters are, so both read the same way.
fn as_list_filter(f: &Filters) -> TicketFilter {
    TicketFilter {
        status: f.status.clone(),
        tier: f.tier.clone(),
        severity: f.severity,
        queue: f.queue.clone(),
        assignee: f.assignee.clone(),
        organisation: f.organisation.clone(),
        breached: f.breached.then_some(true),
        at_risk: f.at_risk.then_some(true),
        ticket_type: f.ticket_type.map(|t| t.as_str().to_string()),
        ..TicketFilter::default()
    }
}

impl App {
    /// Searches the tickets `who` may see: customers their organisation's,
    /// by public text only (a note neither finds, excludes nor ranks a
    /// ticket for them); staff every ticket and note.
    pub fn search_tickets(
        &self,
        who: &Principal,
        req: &SearchRequest,
        now: DateTime<Utc>,
    ) -> Result<SearchResults, AppError> {
        let limit = req.limit.unwrap_or(20);
        if !(1..=100).contains(&limit) {
            return Err(invalid("limit", "expected 1 to 100"));
        }
        let offset = req.offset.unwrap_or(0);
        if !(0..WINDOW).contains(&offset) {
            return Err(invalid("offset", format!("expected 0 to {}", WINDOW - 1)));
        }
        let query = search::parse(&req.q).map_err(|e| invalid("q", e.to_string()))?;
        let (terms, filters) = match query {
            Query::Jump(reference) => {
                let mut conn = self.conn()?;
                return match self.visible_ticket_id(&mut conn, who, reference.as_str()) {
                    Ok(_) => Ok(SearchResults {
                        jump: Some(reference.to_string()),
                        items: Vec::new(),
                        total: 1,
                        more: false,
                        window_full: false,
                    }),
                    // Not theirs, or no such ticket: the same empty answer.
                    Err(AppError::NotFound(_)) => Ok(SearchResults {
                        jump: None,
                        items: Vec::new(),
                        total: 0,
                        more: false,
                        window_full: false,
                    }),
                    Err(e) => Err(e),
                };
            }
            Query::Search { terms, filters } => (terms, filters),
        };
        let mut list = as_list_filter(&filters);
        if terms.is_empty() {
            list.sort = Some(match req.sort.as_deref() {
                None | Some("relevance") => "created".into(),
                Some(other) => other.into(),
            });
            return self.search_by_filters(who, &mut list, &filters, limit, offset, now);
        }
        let customer = who.role == Role::Customer;
        if customer && let Some(field) = list.staff_only_given() {
            return Err(AppError::NotForCaller {
                field: format!("q ({})", field.replace('_', "-")),
                message: "a filter for staff only".into(),
            });
        }
        // Search may lag the primary a little: the replica, if one is set.
        let mut conn = self.read_conn()?;
        // The organisation narrows inside the index: a customer's always,
        // staff's when they name one (the window then holds only its
        // tickets, not the newest of all that the filter would thin out).
        let organisation = if customer {
            Some(who.organisation_id.unwrap_or(-1))
        } else {
            match &filters.organisation {
                Some(slug) => Some(crate::store::find::organisation_by_slug(&mut conn, slug)?.map_or(-1, |o| o.id)),
                None => None,
            }
        };
        let scope = Scope {
            organisation,
            staff: !customer,
            from: filters.after.map(|d| naive(crate::domain::availability::day_start(d))),
            until: filters.before.map(|d| naive(crate::domain::availability::day_start(d))),
        };
        let hits = crate::store::search::matching(&mut conn, &terms, &scope, WINDOW)?;
        let window_full = hits.len() as i64 >= WINDOW;
        let candidates: Vec<i64> = hits.iter().map(|h| h.id).collect();
        let passed: std::collections::HashSet<i64> = self
            .select_tickets(who, &list, now, super::query::Want::Among(&candidates))?
            .ids()
            .into_iter()
            .collect();
        // Best first; among equals, the newer.
        let mut ranked: Vec<_> = hits.into_iter().filter(|h| passed.contains(&h.id)).collect();
        match req.sort.as_deref() {
            None | Some("relevance") => ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(b.id.cmp(&a.id))),
            Some("created") => ranked.sort_by_key(|h| std::cmp::Reverse(h.id)),
            Some(other) => {
                return Err(invalid(
                    "sort",
                    format!("'{other}': words are sorted by relevance or created"),
                ));
            }
        }
        let total = ranked.len() as i64;
        let page: Vec<i64> = ranked
            .iter()
            .skip(offset as usize)
            .take(limit as usize)
            .map(|h| h.id)
            .collect();
        let more = total > offset + page.len() as i64;
        let marked: HashMap<i64, String> = crate::store::search::snippets(&mut conn, &terms, &scope, &page)?
            .into_iter()
            .collect();
        drop(conn);
        let views = self.views_in_order(who, &page)?;
        let items = views
            .into_iter()
            .map(|(id, ticket)| SearchHit {
                ticket,
                snippet: marked.get(&id).map(|m| snippet_parts(m)).unwrap_or_default(),
            })
            .collect();
        Ok(SearchResults {
            jump: None,
            items,
            total,
            more,
            window_full,
        })
    }

    /// Brings up to `batch` changed tickets into the search index; answers
    /// how many. Searches never wait for it (they read a changed ticket
    /// from the store until it has run); `serve` runs it continuously.
    pub fn index_search_queue(&self, batch: i64) -> Result<usize, AppError> {
        let mut conn = self.conn()?;
        Ok(crate::store::search::index_queued(&mut conn, batch)?)
    }

    /// How many changed tickets wait for the search indexer.
    pub fn search_queue_length(&self) -> Result<i64, AppError> {
        let mut conn = self.conn()?;
        Ok(crate::store::search::queued(&mut conn)?)
    }

    /// Builds the search index again from the stored tickets (admins): after
    /// a bulk import around the triggers, or to pick up renamed
    /// organisations and people. Audited; answers how many tickets.
    pub fn rebuild_search_index(&self, who: &Principal, now: DateTime<Utc>) -> Result<usize, AppError> {
        if who.role != Role::Admin {
            return Err(AppError::Forbidden("rebuilding the search index is for admins".into()));
        }
        let mut conn = self.conn()?;
        let n = crate::store::search::rebuild(&mut conn)?;
        audit(
            &mut conn,
            who,
            "search.rebuild",
            "search",
            Some(&format!("{n} tickets")),
            now,
        )?;
        Ok(n)
    }

    /// Filters alone: the list, in the order asked, as the list reads it.
    fn search_by_filters(
        &self,
        who: &Principal,
        list: &mut TicketFilter,
        filters: &Filters,
        limit: i64,
        offset: i64,
        now: DateTime<Utc>,
    ) -> Result<SearchResults, AppError> {
        if filters.before.is_some() || filters.after.is_some() {
            return Err(invalid("q", "'before:' and 'after:' narrow words: give a word to find"));
        }
        list.limit = Some(limit);
        list.offset = Some(offset);
        let count = self.count_tickets(who, list, now)?;
        let page = self.list_tickets(who, list, now)?;
        Ok(SearchResults {
            jump: None,
            items: page
                .items
                .into_iter()
                .map(|ticket| SearchHit {
                    ticket,
                    snippet: Vec::new(),
                })
                .collect(),
            total: count.total,
            more: page.more,
            window_full: count.more,
        })
    }

    /// The views of `ids` as `who` may see them, in the order given.
    fn views_in_order(&self, who: &Principal, ids: &[i64]) -> Result<Vec<(i64, TicketView)>, AppError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut conn = self.read_conn()?;
        let rows: Vec<(TicketRow, super::read::Names)> = tickets::table
            .inner_join(organisations::table)
            .inner_join(queues::table)
            .inner_join(users::table.on(tickets::requester_id.eq(users::id)))
            .left_join(assignees.on(tickets::assignee_id.eq(assignees.field(users::id).nullable())))
            .filter(tickets::id.eq_any(ids))
            .select((TicketRow::as_select(), super::names!()))
            .load(&mut conn)?;
        drop(conn);
        let mut by_id: HashMap<i64, TicketView> = HashMap::new();
        let ordered: Vec<i64> = rows.iter().map(|(r, _)| r.id).collect();
        let views = self.all_shown_to(who, rows.iter().map(|(r, n)| row_view(r, n.clone())).collect())?;
        for (id, v) in ordered.into_iter().zip(views) {
            by_id.insert(id, v);
        }
        Ok(ids.iter().filter_map(|id| by_id.remove(id).map(|v| (*id, v))).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippets_split_into_plain_and_matched_pieces() {
        let p = snippet_parts("…the \u{1}checksum\u{2} of \u{1}object\u{2}");
        let texts: Vec<(&str, bool)> = p.iter().map(|x| (x.text.as_str(), x.hit)).collect();
        assert_eq!(
            texts,
            [("…the ", false), ("checksum", true), (" of ", false), ("object", true)]
        );
        assert!(snippet_parts("").is_empty());
    }
}
