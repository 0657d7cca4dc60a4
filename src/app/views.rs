//! Saved views: a search (words and filters in the query language) and an
//! order kept under a name, either one person's own or shared with a
//! queue's agents, each shown with how many tickets it holds now.
//!
//! A view is only ever run as its viewer: a customer's view of
//! `status:active` counts their organisation's tickets, and a view shared
//! with a queue counts, for each agent, what that agent may see. Saving
//! checks the query reads (and that a customer's uses no staff filter), so
//! a kept view always runs.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::tickets::{SearchRequest, SearchResults};
use super::{App, AppError, Principal, Role, audit, invalid, naive, utc};
use crate::store::schema::{queue_members, queues, saved_views};

/// The longest name a view may have.
const MAX_NAME: usize = 80;
/// The most views one person keeps, and one queue shares.
const MAX_VIEWS: i64 = 50;

/// A view to keep.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewView {
    pub name: String,
    /// The search, in the query language (`status:active sev:1`, `checksum org:acme`).
    pub query: String,
    /// The order, as the search takes it (`relevance`, `created`,
    /// `created_asc`, `severity`, `next_check_at`, `updated`).
    pub sort: Option<String>,
    /// A queue's slug to share it with that queue's agents (staff); absent:
    /// the caller's own.
    pub queue: Option<String>,
}

/// How many tickets a view holds now, counted as far as a search counts.
#[derive(Debug, Clone, Copy, Serialize, utoipa::ToSchema)]
pub struct ViewCount {
    pub total: i64,
    /// More than `total` match (the count stopped at its cap).
    pub more: bool,
}

/// A view as its viewer sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ViewInfo {
    pub id: i64,
    pub name: String,
    pub query: String,
    pub sort: Option<String>,
    /// The queue it is shared with, or absent when it is the viewer's own.
    pub queue: Option<String>,
    pub created_at: DateTime<Utc>,
    /// Whether the viewer may delete it.
    pub deletable: bool,
    pub count: ViewCount,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = saved_views)]
struct Row {
    id: i64,
    name: String,
    query: String,
    sort: Option<String>,
    owner_id: Option<i64>,
    queue_id: Option<i64>,
    created_by: i64,
    created_at: chrono::NaiveDateTime,
}

impl App {
    /// Keeps a view: the caller's own, or (staff who work the queue, or a
    /// manager) shared with a queue. The query must read and run for the
    /// caller.
    pub fn create_view(&self, who: &Principal, v: NewView, now: DateTime<Utc>) -> Result<ViewInfo, AppError> {
        let name = v.name.trim().to_string();
        if name.is_empty() || name.chars().count() > MAX_NAME {
            return Err(invalid("name", format!("1 to {MAX_NAME} characters")));
        }
        // Run once as the caller: a query that does not read, a filter the
        // caller may not use or a bad order is refused now, not at each
        // showing.
        let probe = SearchRequest {
            q: v.query.clone(),
            limit: Some(1),
            offset: None,
            sort: v.sort.clone(),
        };
        let results = self.search_tickets(who, &probe, now).map_err(|e| match e {
            AppError::Invalid { field, message } if field == "q" => invalid("query", message),
            AppError::NotForCaller { message, .. } => AppError::NotForCaller {
                field: "query".into(),
                message,
            },
            e => e,
        })?;
        if results.jump.is_some() {
            return Err(invalid("query", "a reference alone is a ticket, not a view"));
        }
        let mut conn = self.conn()?;
        let queue_id = match &v.queue {
            None => None,
            Some(slug) => {
                let q = crate::store::find::queue_by_slug(&mut conn, slug)?
                    .ok_or_else(|| invalid("queue", format!("no queue '{slug}'")))?;
                if !self.may_share_with(&mut conn, who, q.id, q.lead_id)? {
                    return Err(AppError::Forbidden(
                        "views are shared with a queue by its agents and managers".into(),
                    ));
                }
                Some(q.id)
            }
        };
        let owner_id = if queue_id.is_none() { Some(who.user_id) } else { None };
        let row: Row = conn.write(|c| {
            let held: i64 = saved_views::table
                .filter(
                    saved_views::owner_id
                        .eq(owner_id)
                        .and(saved_views::owner_id.is_not_null())
                        .or(saved_views::queue_id
                            .eq(queue_id)
                            .and(saved_views::queue_id.is_not_null())),
                )
                .count()
                .get_result(c)?;
            if held >= MAX_VIEWS {
                return Err(invalid("name", format!("at most {MAX_VIEWS} views each")));
            }
            let row = diesel::insert_into(saved_views::table)
                .values((
                    saved_views::name.eq(&name),
                    saved_views::query.eq(v.query.trim()),
                    saved_views::sort.eq(&v.sort),
                    saved_views::owner_id.eq(owner_id),
                    saved_views::queue_id.eq(queue_id),
                    saved_views::created_by.eq(who.user_id),
                    saved_views::created_at.eq(naive(now)),
                ))
                .returning(saved_views::id)
                .get_result::<i64>(c)?;
            let row: Row = saved_views::table.find(row).select(Row::as_select()).first(c)?;
            audit(
                c,
                who,
                "view.create",
                &format!("view:{}", row.id),
                Some(&row.query),
                now,
            )?;
            Ok::<_, AppError>(row)
        })?;
        drop(conn);
        self.view_info(who, row, v.queue, now)
    }

    /// The caller's views and those shared with queues (staff see every
    /// queue's), each with its count now.
    pub fn list_views(&self, who: &Principal, now: DateTime<Utc>) -> Result<Vec<ViewInfo>, AppError> {
        let mut conn = self.conn()?;
        let mut q = saved_views::table
            .left_join(queues::table)
            .select((Row::as_select(), queues::slug.nullable()))
            .order((
                saved_views::queue_id.is_not_null(),
                queues::slug.nullable(),
                saved_views::name,
            ))
            .into_boxed();
        q = if who.role.is_staff() {
            q.filter(
                saved_views::owner_id
                    .eq(who.user_id)
                    .or(saved_views::queue_id.is_not_null()),
            )
        } else {
            q.filter(saved_views::owner_id.eq(who.user_id))
        };
        let rows: Vec<(Row, Option<String>)> = q.load(&mut conn)?;
        drop(conn);
        rows.into_iter()
            .map(|(row, queue)| self.view_info(who, row, queue, now))
            .collect()
    }

    /// The tickets a view holds, as a search answers them.
    pub fn view_tickets(
        &self,
        who: &Principal,
        id: i64,
        limit: Option<i64>,
        offset: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<SearchResults, AppError> {
        let row = self.visible_view(who, id)?;
        self.search_tickets(
            who,
            &SearchRequest {
                q: row.query,
                limit,
                offset,
                sort: row.sort,
            },
            now,
        )
    }

    /// Deletes a view: its owner; a shared one, whoever made it, the
    /// queue's lead or a manager.
    pub fn delete_view(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        let row = self.visible_view(who, id)?;
        let mut conn = self.conn()?;
        if !self.may_delete(&mut conn, who, &row)? {
            return Err(AppError::Forbidden(
                "only its maker, the queue's lead or a manager".into(),
            ));
        }
        conn.write(|c| {
            diesel::delete(saved_views::table.find(id)).execute(c)?;
            audit(c, who, "view.delete", &format!("view:{id}"), Some(&row.query), now)
        })
    }

    /// A view the caller may see: their own, or (staff) a shared one;
    /// anything else is not found.
    fn visible_view(&self, who: &Principal, id: i64) -> Result<Row, AppError> {
        let mut conn = self.conn()?;
        let row: Option<Row> = saved_views::table
            .find(id)
            .select(Row::as_select())
            .first(&mut conn)
            .optional()?;
        match row {
            Some(r) if r.owner_id == Some(who.user_id) || (who.role.is_staff() && r.queue_id.is_some()) => Ok(r),
            _ => Err(AppError::NotFound(format!("view {id}"))),
        }
    }

    fn view_info(
        &self,
        who: &Principal,
        row: Row,
        queue: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<ViewInfo, AppError> {
        let found = self.search_tickets(
            who,
            &SearchRequest {
                q: row.query.clone(),
                limit: Some(1),
                offset: None,
                sort: row.sort.clone(),
            },
            now,
        )?;
        let mut conn = self.conn()?;
        let deletable = self.may_delete(&mut conn, who, &row)?;
        Ok(ViewInfo {
            id: row.id,
            name: row.name,
            query: row.query,
            sort: row.sort,
            queue,
            created_at: utc(row.created_at),
            deletable,
            count: ViewCount {
                total: found.total,
                more: found.window_full,
            },
        })
    }

    fn may_share_with(
        &self,
        c: &mut crate::store::DbConnection,
        who: &Principal,
        queue_id: i64,
        lead: Option<i64>,
    ) -> Result<bool, AppError> {
        if matches!(who.role, Role::Manager | Role::Admin) || lead == Some(who.user_id) {
            return Ok(true);
        }
        if who.role != Role::Agent {
            return Ok(false);
        }
        let member: i64 = queue_members::table
            .filter(queue_members::queue_id.eq(queue_id))
            .filter(queue_members::user_id.eq(who.user_id))
            .count()
            .get_result(c)?;
        Ok(member > 0)
    }

    fn may_delete(&self, c: &mut crate::store::DbConnection, who: &Principal, row: &Row) -> Result<bool, AppError> {
        if row.owner_id == Some(who.user_id) || row.created_by == who.user_id {
            return Ok(true);
        }
        let Some(queue_id) = row.queue_id else {
            return Ok(false);
        };
        if matches!(who.role, Role::Manager | Role::Admin) {
            return Ok(true);
        }
        let lead: Option<i64> = queues::table
            .find(queue_id)
            .select(queues::lead_id)
            .first(c)
            .optional()?
            .flatten();
        Ok(lead == Some(who.user_id))
    }
}
