//! The outbox's rows: inserted many at a time, claimed one at a time for
//! sending, marked sent or failed. Each statement is written here once;
//! `app::outbox` decides when each runs and in which transaction, and
//! `mail::delivery` runs the send loop.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::models::{NewOutbox, OutboxRow};
use super::schema::{attachments, outbox};

/// Inserts rows, many in one statement. PostgreSQL takes them as one array
/// per column (one statement whatever the number, parsed and planned once);
/// SQLite as multi-row VALUES, a thousand rows at a time.
pub fn insert_rows(c: &mut DbConnection, rows: &[NewOutbox]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match c {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp};
            diesel::sql_query(
                "INSERT INTO outbox (ticket_id, kind, to_address, message_id, in_reply_to, context, \
                 created_at, next_attempt_at) SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], \
                 $4::text[], $5::text[], $6::text[], $7::timestamp[], $8::timestamp[])",
            )
            .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.to_address).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.message_id).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.in_reply_to).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.context.as_str()).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.created_at).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.next_attempt_at).collect::<Vec<_>>())
            .execute(pg)?;
        }
        // 1,000 rows of 8 values stays inside SQLite's limit on binds.
        DbConnection::Sqlite(sq) => {
            for chunk in rows.chunks(1000) {
                diesel::insert_into(outbox::table).values(chunk).execute(sq)?;
            }
        }
    }
    Ok(())
}

/// Sets aside, in doubt, every unsent row whose claim ran out before `now`:
/// its sender stopped mid-send, and whether the mail left is unknown.
pub fn set_aside_expired_claims(c: &mut DbConnection, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(
        outbox::table
            .filter(outbox::sent_at.is_null())
            .filter(outbox::claimed_until.lt(now)),
    )
    .set((
        outbox::in_doubt.eq(true),
        outbox::claimed_until.eq(None::<NaiveDateTime>),
        outbox::last_error.eq("in doubt: a sender stopped mid-send; check the mail log before resending"),
    ))
    .execute(c)
}

/// The ids of up to `limit` rows due by `now`, unclaimed and not in doubt,
/// oldest first.
pub fn due(c: &mut DbConnection, now: NaiveDateTime, limit: i64) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::kind.ne("webhook"))
        .filter(outbox::sent_at.is_null())
        .filter(outbox::in_doubt.eq(false))
        .filter(outbox::claimed_until.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::id)
        .limit(limit)
        .select(outbox::id)
        .load(c)
}

/// The same, of one kind only (webhook deliveries, sent by their own loop).
pub fn due_of_kind(c: &mut DbConnection, now: NaiveDateTime, limit: i64, kind: &str) -> QueryResult<Vec<i64>> {
    outbox::table
        .filter(outbox::kind.eq(kind))
        .filter(outbox::sent_at.is_null())
        .filter(outbox::in_doubt.eq(false))
        .filter(outbox::claimed_until.is_null())
        .filter(outbox::next_attempt_at.le(now))
        .order(outbox::id)
        .limit(limit)
        .select(outbox::id)
        .load(c)
}

/// Claims a row until `until` and counts the attempt; false when another
/// sender claimed or sent it first.
pub fn claim(c: &mut DbConnection, id: i64, until: NaiveDateTime) -> QueryResult<bool> {
    let n = diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::claimed_until.is_null())
            .filter(outbox::sent_at.is_null()),
    )
    .set((
        outbox::claimed_until.eq(until),
        outbox::attempts.eq(outbox::attempts + 1),
    ))
    .execute(c)?;
    Ok(n == 1)
}

/// One row, whole.
pub fn row(c: &mut DbConnection, id: i64) -> QueryResult<OutboxRow> {
    outbox::table.find(id).select(OutboxRow::as_select()).first(c)
}

/// A claimed row's send confirmed: it is never sent again.
pub fn mark_sent(c: &mut DbConnection, id: i64, now: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::sent_at.eq(Some(now)),
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(c)
}

/// A claimed row's send failed: released, to be tried again at `next`.
pub fn mark_failed(c: &mut DbConnection, id: i64, next: NaiveDateTime, error: &str) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::claimed_until.eq(None::<NaiveDateTime>),
            outbox::next_attempt_at.eq(next),
            outbox::last_error.eq(Some(error)),
        ))
        .execute(c)
}

/// A stored file: id, name, type and bytes.
pub type FileRow = (i64, String, String, Vec<u8>);

/// The files of one ticket among `ids`.
pub fn ticket_files(c: &mut DbConnection, ticket: i64, ids: &[i64]) -> QueryResult<Vec<FileRow>> {
    attachments::table
        .filter(attachments::ticket_id.eq(ticket))
        .filter(attachments::id.eq_any(ids))
        .select((
            attachments::id,
            attachments::filename,
            attachments::content_type,
            attachments::data,
        ))
        .load(c)
}
