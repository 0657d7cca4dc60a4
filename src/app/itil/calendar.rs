//! The change calendar and the change freezes: what is scheduled in a
//! period (a contact sees their organisation's), the freezes, and the
//! clashes (two changes on one service in overlapping windows).

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use super::changes::{ChangeView, change_view, for_viewer, located};
use super::record;
use crate::app::{App, AppError, Principal, Role, invalid, naive, utc};
use crate::domain::itil::change::Change;
use crate::store::DbConnection;
use crate::store::schema::{change_freezes, itil_records, tickets};

/// A change freeze.
#[derive(Debug, Clone, Serialize, Deserialize, utoipa::ToSchema)]
pub struct FreezeView {
    #[serde(default)]
    pub id: i64,
    pub name: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// What the calendar shows for a period: scheduled changes, freezes, and
/// the clashes (two changes on one service at once).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ChangeCalendar {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub changes: Vec<ChangeView>,
    pub freezes: Vec<FreezeView>,
    /// Pairs of references that share a service in overlapping windows,
    /// with the services.
    pub clashes: Vec<Clash>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Clash {
    pub first: String,
    pub second: String,
    pub services: Vec<String>,
}

impl App {
    /// The change calendar from `from` to `to` (at most 100 days): what is
    /// scheduled, the freezes, and the clashes. Contacts see their own
    /// organisation's changes and the freezes.
    pub fn change_calendar(
        &self,
        who: &Principal,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<ChangeCalendar, AppError> {
        if to <= from || to - from > chrono::Duration::days(100) {
            return Err(invalid(
                "to",
                "a calendar covers up to 100 days, ending after it starts",
            ));
        }
        let mut conn = self.conn()?;
        let mut q = tickets::table
            .inner_join(itil_records::table)
            .filter(itil_records::ticket_type.eq("change"))
            .filter(itil_records::window_start.lt(naive(to)))
            .filter(itil_records::window_end.gt(naive(from)))
            .filter(itil_records::status.ne_all(["cancelled", "rejected"]))
            .order(itil_records::window_start)
            .select((tickets::id, tickets::reference))
            .limit(500)
            .into_boxed();
        if who.role == Role::Customer {
            q = q.filter(tickets::organisation_id.eq(who.organisation_id.unwrap_or(-1)));
        }
        let rows: Vec<(i64, String)> = q.load(&mut conn)?;
        let mut changes = Vec::new();
        for (id, reference) in rows {
            let ch: Change = record::load(&mut conn, id, &reference)?;
            changes.push(for_viewer(who, change_view(&mut conn, &located(id, &reference), &ch)?));
        }
        let freezes = freezes_between(&mut conn, from, to)?;
        let clashes = clashes(&changes);
        Ok(ChangeCalendar {
            from,
            to,
            changes,
            freezes,
            clashes,
        })
    }

    /// Records a change freeze (managers and admins), audited.
    pub fn add_freeze(&self, who: &Principal, f: FreezeView, now: DateTime<Utc>) -> Result<FreezeView, AppError> {
        who.require_manager()?;
        if f.name.trim().is_empty() || f.name.chars().count() > 200 {
            return Err(invalid("name", "a name of 1 to 200 characters"));
        }
        if f.end <= f.start {
            return Err(invalid("end", "a freeze ends after it starts"));
        }
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::insert_into(change_freezes::table)
                .values((
                    change_freezes::name.eq(f.name.trim()),
                    change_freezes::starts_at.eq(naive(f.start)),
                    change_freezes::ends_at.eq(naive(f.end)),
                    change_freezes::created_by.eq(who.actor_id()),
                    change_freezes::created_at.eq(naive(now)),
                ))
                .execute(c)?;
            let id: i64 = change_freezes::table
                .order(change_freezes::id.desc())
                .select(change_freezes::id)
                .first(c)?;
            crate::app::audit(
                c,
                who,
                "change.freeze.add",
                &format!("freeze:{id}"),
                Some(f.name.trim()),
                now,
            )?;
            Ok(FreezeView {
                id,
                name: f.name.trim().to_string(),
                start: f.start,
                end: f.end,
            })
        })
    }
}

pub(super) fn freezes_between(
    c: &mut DbConnection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<FreezeView>, AppError> {
    let rows: Vec<(i64, String, chrono::NaiveDateTime, chrono::NaiveDateTime)> = change_freezes::table
        .filter(change_freezes::starts_at.lt(naive(to)))
        .filter(change_freezes::ends_at.gt(naive(from)))
        .order(change_freezes::starts_at)
        .select((
            change_freezes::id,
            change_freezes::name,
            change_freezes::starts_at,
            change_freezes::ends_at,
        ))
        .limit(500)
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(id, name, s, e)| FreezeView {
            id,
            name,
            start: utc(s),
            end: utc(e),
        })
        .collect())
}

/// Two scheduled changes clash when their windows overlap on a service.
fn clashes(changes: &[ChangeView]) -> Vec<Clash> {
    let mut out = Vec::new();
    for (i, a) in changes.iter().enumerate() {
        for b in &changes[i + 1..] {
            let (Some(a0), Some(a1), Some(b0), Some(b1)) = (a.window_start, a.window_end, b.window_start, b.window_end)
            else {
                continue;
            };
            if a0 < b1 && b0 < a1 {
                let shared: Vec<String> = a.services.iter().filter(|s| b.services.contains(s)).cloned().collect();
                if !shared.is_empty() {
                    out.push(Clash {
                        first: a.reference.clone(),
                        second: b.reference.clone(),
                        services: shared,
                    });
                }
            }
        }
    }
    out
}
