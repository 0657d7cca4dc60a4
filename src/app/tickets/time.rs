//! Time spent on tickets: staff log it with a reply or note (in the same
//! transaction, `Change::LogTime`) or on its own, correct it, remove it;
//! each change audited with the values before, since managers bill from
//! these figures. Customers neither log nor read entries; their monthly
//! report carries the totals.

use chrono::NaiveDate;

use super::*;
use crate::domain::duration::minutes_spent;
use crate::store::schema::time_entries;

/// Time to log on a ticket on its own.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LogTime {
    /// `45m`, `1h30m`, or minutes alone (`90`); up to 24h.
    pub spent: String,
    /// The day it was spent (Europe/London); today if absent.
    pub spent_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// A correction to an entry: only what is given changes.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditTime {
    pub spent: Option<String>,
    pub spent_on: Option<NaiveDate>,
    pub note: Option<String>,
}

/// One entry.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TimeEntryView {
    pub id: i64,
    pub user: String,
    pub user_name: String,
    pub minutes: i32,
    pub spent_on: NaiveDate,
    pub note: Option<String>,
    /// The reply or note it came with, by its place in the timeline.
    pub event_seq: Option<i32>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A ticket's time: its total and its entries, oldest first.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TicketTime {
    pub reference: String,
    pub total_minutes: i64,
    pub entries: Vec<TimeEntryView>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = time_entries)]
struct EntryRow {
    id: i64,
    user_id: i64,
    minutes: i32,
    spent_on: NaiveDate,
    note: Option<String>,
    event_seq: Option<i32>,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// Today in Europe/London, the day time is booked against by default.
pub(super) fn london_today(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::London).date_naive()
}

/// Reads time spent as staff write it.
pub fn parse_spent(field: &str, text: &str) -> Result<i32, AppError> {
    minutes_spent(text).map(|m| m as i32).map_err(|e| invalid(field, e))
}

/// A day time may be booked against: not in the future, not before the
/// ticket.
fn check_day(day: NaiveDate, today: NaiveDate) -> Result<(), AppError> {
    if day > today {
        return Err(invalid("spent_on", "time cannot be booked on a day still to come"));
    }
    Ok(())
}

fn check_note(note: &Option<String>) -> Result<(), AppError> {
    if let Some(n) = note {
        if n.chars().count() > 500 {
            return Err(invalid("note", "at most 500 characters"));
        }
        no_nul("note", n)?;
    }
    Ok(())
}

/// An entry to insert: who, how long, which day, and what it came with.
pub(super) struct NewEntry<'a> {
    pub ticket_id: i64,
    pub minutes: i32,
    pub spent_on: NaiveDate,
    pub note: Option<&'a str>,
    pub event_seq: Option<i32>,
}

/// Inserts an entry inside the caller's transaction (a reply's, or its own).
pub(super) fn insert_entry(
    c: &mut DbConnection,
    who: &Principal,
    e: NewEntry,
    now: DateTime<Utc>,
) -> Result<i64, AppError> {
    let id = diesel::insert_into(time_entries::table)
        .values((
            time_entries::ticket_id.eq(e.ticket_id),
            time_entries::user_id.eq(who.user_id),
            time_entries::minutes.eq(e.minutes),
            time_entries::spent_on.eq(e.spent_on),
            time_entries::note.eq(e.note),
            time_entries::event_seq.eq(e.event_seq),
            time_entries::created_at.eq(naive(now)),
            time_entries::updated_at.eq(naive(now)),
        ))
        .returning(time_entries::id)
        .get_result(c)?;
    Ok(id)
}

impl App {
    /// Logs time on a ticket (staff).
    pub fn log_time(
        &self,
        who: &Principal,
        reference: &str,
        t: LogTime,
        now: DateTime<Utc>,
    ) -> Result<TimeEntryView, AppError> {
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        who.staff_or_forbidden("time spent")?;
        let minutes = parse_spent("spent", &t.spent)?;
        let day = t.spent_on.unwrap_or_else(|| london_today(now));
        check_day(day, london_today(now))?;
        check_note(&t.note)?;
        let id = conn.write(|c| {
            let entry = NewEntry {
                ticket_id,
                minutes,
                spent_on: day,
                note: t.note.as_deref(),
                event_seq: None,
            };
            let id = insert_entry(c, who, entry, now)?;
            audit(
                c,
                who,
                "time.log",
                &format!("ticket:{reference}"),
                Some(&format!("{minutes} min on {day}")),
                now,
            )?;
            Ok::<_, AppError>(id)
        })?;
        drop(conn);
        self.time_entry(id)
    }

    /// A ticket's time: total and entries (staff).
    pub fn ticket_time(&self, who: &Principal, reference: &str) -> Result<TicketTime, AppError> {
        let mut conn = self.conn()?;
        let ticket_id = self.visible_ticket_id(&mut conn, who, reference)?;
        who.staff_or_forbidden("time spent")?;
        let rows: Vec<(EntryRow, String, String)> = time_entries::table
            .inner_join(users::table)
            .filter(time_entries::ticket_id.eq(ticket_id))
            .order((time_entries::spent_on.asc(), time_entries::id.asc()))
            .select((EntryRow::as_select(), users::email, users::name))
            .load(&mut conn)?;
        let entries: Vec<TimeEntryView> = rows.into_iter().map(entry_view).collect();
        Ok(TicketTime {
            reference: parse_reference(reference)?,
            total_minutes: entries.iter().map(|e| e.minutes as i64).sum(),
            entries,
        })
    }

    /// Corrects an entry: its author, or a manager.
    pub fn edit_time(
        &self,
        who: &Principal,
        id: i64,
        e: EditTime,
        now: DateTime<Utc>,
    ) -> Result<TimeEntryView, AppError> {
        let (row, reference) = self.entry_for_change(who, id)?;
        let minutes = match &e.spent {
            Some(s) => parse_spent("spent", s)?,
            None => row.minutes,
        };
        let day = e.spent_on.unwrap_or(row.spent_on);
        check_day(day, london_today(now))?;
        check_note(&e.note)?;
        let note = e.note.clone().or(row.note.clone());
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::update(time_entries::table.find(id))
                .set((
                    time_entries::minutes.eq(minutes),
                    time_entries::spent_on.eq(day),
                    time_entries::note.eq(&note),
                    time_entries::updated_at.eq(naive(now)),
                ))
                .execute(c)?;
            audit(
                c,
                who,
                "time.edit",
                &format!("ticket:{reference}"),
                Some(&format!(
                    "entry {id}: {} min on {} → {minutes} min on {day}",
                    row.minutes, row.spent_on
                )),
                now,
            )
        })?;
        drop(conn);
        self.time_entry(id)
    }

    /// Removes an entry: its author, or a manager.
    pub fn delete_time(&self, who: &Principal, id: i64, now: DateTime<Utc>) -> Result<(), AppError> {
        let (row, reference) = self.entry_for_change(who, id)?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            diesel::delete(time_entries::table.find(id)).execute(c)?;
            audit(
                c,
                who,
                "time.delete",
                &format!("ticket:{reference}"),
                Some(&format!("entry {id}: {} min on {}", row.minutes, row.spent_on)),
                now,
            )
        })
    }

    /// An entry `who` may change: staff see every entry (not found
    /// otherwise); its author or a manager may change it.
    fn entry_for_change(&self, who: &Principal, id: i64) -> Result<(EntryRow, String), AppError> {
        let not_found = || AppError::NotFound(format!("time entry {id}"));
        if !who.role.is_staff() {
            return Err(not_found());
        }
        let mut conn = self.conn()?;
        let (row, reference): (EntryRow, String) = time_entries::table
            .inner_join(tickets::table)
            .filter(time_entries::id.eq(id))
            .select((EntryRow::as_select(), tickets::reference))
            .first(&mut conn)
            .optional()?
            .ok_or_else(not_found)?;
        if row.user_id != who.user_id && !matches!(who.role, Role::Manager | Role::Admin) {
            return Err(AppError::Forbidden(
                "an entry is corrected by whoever logged it, or a manager".into(),
            ));
        }
        Ok((row, reference))
    }

    fn time_entry(&self, id: i64) -> Result<TimeEntryView, AppError> {
        let mut conn = self.conn()?;
        let row: (EntryRow, String, String) = time_entries::table
            .inner_join(users::table)
            .filter(time_entries::id.eq(id))
            .select((EntryRow::as_select(), users::email, users::name))
            .first(&mut conn)?;
        Ok(entry_view(row))
    }
}

fn entry_view((r, user, user_name): (EntryRow, String, String)) -> TimeEntryView {
    TimeEntryView {
        id: r.id,
        user,
        user_name,
        minutes: r.minutes,
        spent_on: r.spent_on,
        note: r.note,
        event_seq: r.event_seq,
        created_at: utc(r.created_at),
        updated_at: utc(r.updated_at),
    }
}
