//! Statements on tickets that differ by backend or are shared by several
//! use cases: events inserted many at a time, the SLA tick's claim (SKIP
//! LOCKED) and its batch write. Everything about what they mean is in
//! `app::tickets` and `app::sla_tick`.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::DbConnection;
use super::models::{NewEvent, TicketState};
use super::schema::{ticket_events, tickets};

/// Inserts event rows, many in one statement: on PostgreSQL one array per
/// column, on SQLite multi-row VALUES a thousand rows at a time.
pub fn insert_events(conn: &mut DbConnection, rows: &[NewEvent]) -> QueryResult<()> {
    if rows.is_empty() {
        return Ok(());
    }
    match conn {
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
            diesel::sql_query(
                "INSERT INTO ticket_events (ticket_id, seq, at, actor_role, actor_id, kind, visibility, body, data) \
                 SELECT * FROM unnest($1::bigint[], $2::int[], $3::timestamp[], $4::text[], $5::bigint[], \
                 $6::text[], $7::text[], $8::text[], $9::text[])",
            )
            .bind::<Array<BigInt>, _>(rows.iter().map(|r| r.ticket_id).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(rows.iter().map(|r| r.seq).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(rows.iter().map(|r| r.at).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.actor_role).collect::<Vec<_>>())
            .bind::<Array<Nullable<BigInt>>, _>(rows.iter().map(|r| r.actor_id).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.kind).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.visibility).collect::<Vec<_>>())
            .bind::<Array<Nullable<Text>>, _>(rows.iter().map(|r| r.body).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(rows.iter().map(|r| r.data.as_str()).collect::<Vec<_>>())
            .execute(pg)?;
        }
        // 1,000 rows of 9 values stays inside SQLite's limit on binds.
        DbConnection::Sqlite(sq) => {
            for chunk in rows.chunks(1000) {
                diesel::insert_into(ticket_events::table).values(chunk).execute(sq)?;
            }
        }
    }
    Ok(())
}

/// Writes a tick's batch of new ticket states in one statement, each row
/// only if its version is still the one read; answers how many were
/// written. A tick changes only the clocks,
/// the escalation level, the queue position and the version (the core's
/// `Tick` records alerts and nothing else), so only those are written.
pub fn write_tick_states(c: &mut DbConnection, states: &[(i64, i64, TicketState, i32)]) -> QueryResult<usize> {
    Ok(match c {
        // One statement for the batch: the new values as arrays, unnested.
        DbConnection::Postgres(pg) => {
            use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp};
            let col =
                |f: &dyn Fn(&TicketState) -> Option<chrono::NaiveDateTime>| -> Vec<Option<chrono::NaiveDateTime>> {
                    states.iter().map(|s| f(&s.2)).collect()
                };
            diesel::sql_query(
                "UPDATE tickets AS t SET updated_at = v.updated_at, row_version = v.row_version, \
                 response_state = v.response_state, response_elapsed_seconds = v.response_elapsed_seconds, \
                 response_due_at = v.response_due_at, response_breached_at = v.response_breached_at, \
                 resolve_state = v.resolve_state, resolve_elapsed_seconds = v.resolve_elapsed_seconds, \
                 resolve_due_at = v.resolve_due_at, resolve_breached_at = v.resolve_breached_at, \
                 at_risk_at = v.at_risk_at, next_check_at = v.next_check_at, queue_order_at = v.queue_order_at, \
                 sla_computed_at = v.sla_computed_at, escalation_level = v.escalation_level \
                 FROM unnest($1::bigint[], $2::bigint[], $3::timestamp[], $4::bigint[], $5::text[], $6::bigint[], \
                 $7::timestamp[], $8::timestamp[], $9::text[], $10::bigint[], $11::timestamp[], $12::timestamp[], \
                 $13::timestamp[], $14::timestamp[], $15::timestamp[], $16::timestamp[], $17::int[]) \
                 AS v(id, old_version, updated_at, row_version, response_state, response_elapsed_seconds, \
                 response_due_at, response_breached_at, resolve_state, resolve_elapsed_seconds, resolve_due_at, \
                 resolve_breached_at, at_risk_at, next_check_at, queue_order_at, sla_computed_at, escalation_level) \
                 WHERE t.id = v.id AND t.row_version = v.old_version",
            )
            .bind::<Array<BigInt>, _>(states.iter().map(|s| s.0).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(states.iter().map(|s| s.1).collect::<Vec<_>>())
            .bind::<Array<Timestamp>, _>(states.iter().map(|s| s.2.updated_at).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(states.iter().map(|s| s.2.row_version).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(
                states
                    .iter()
                    .map(|s| s.2.sla.response_state.clone())
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<BigInt>, _>(
                states
                    .iter()
                    .map(|s| s.2.sla.response_elapsed_seconds)
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.response_due_at))
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.response_breached_at))
            .bind::<Array<Text>, _>(states.iter().map(|s| s.2.sla.resolve_state.clone()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(
                states
                    .iter()
                    .map(|s| s.2.sla.resolve_elapsed_seconds)
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.resolve_due_at))
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.resolve_breached_at))
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.at_risk_at))
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.next_check_at))
            .bind::<Array<Nullable<Timestamp>>, _>(col(&|s| s.sla.queue_order_at))
            .bind::<Array<Timestamp>, _>(states.iter().map(|s| s.2.sla.sla_computed_at).collect::<Vec<_>>())
            .bind::<Array<Integer>, _>(states.iter().map(|s| s.3).collect::<Vec<_>>())
            .execute(pg)?
        }
        // One statement for the batch as well: the new values as a JSON
        // array of rows, read by json_each. Timestamps are written as diesel
        // writes them on SQLite, so they compare and read back alike.
        DbConnection::Sqlite(sq) => {
            use diesel::sql_types::Text;
            let ts = |t: Option<chrono::NaiveDateTime>| t.map(|t| t.format("%F %T%.f").to_string());
            let rows: Vec<serde_json::Value> = states
                .iter()
                .map(|(id, version, s, level)| {
                    serde_json::json!([
                        id,
                        version,
                        ts(Some(s.updated_at)),
                        s.row_version,
                        s.sla.response_state,
                        s.sla.response_elapsed_seconds,
                        ts(s.sla.response_due_at),
                        ts(s.sla.response_breached_at),
                        s.sla.resolve_state,
                        s.sla.resolve_elapsed_seconds,
                        ts(s.sla.resolve_due_at),
                        ts(s.sla.resolve_breached_at),
                        ts(s.sla.at_risk_at),
                        ts(s.sla.next_check_at),
                        ts(s.sla.queue_order_at),
                        ts(Some(s.sla.sla_computed_at)),
                        level,
                    ])
                })
                .collect();
            diesel::sql_query(
                "UPDATE tickets SET updated_at = v.value ->> 2, row_version = v.value ->> 3, \
                 response_state = v.value ->> 4, response_elapsed_seconds = v.value ->> 5, \
                 response_due_at = v.value ->> 6, response_breached_at = v.value ->> 7, \
                 resolve_state = v.value ->> 8, resolve_elapsed_seconds = v.value ->> 9, \
                 resolve_due_at = v.value ->> 10, resolve_breached_at = v.value ->> 11, \
                 at_risk_at = v.value ->> 12, next_check_at = v.value ->> 13, queue_order_at = v.value ->> 14, \
                 sla_computed_at = v.value ->> 15, escalation_level = v.value ->> 16 \
                 FROM json_each(?) AS v \
                 WHERE tickets.id = v.value ->> 0 AND tickets.row_version = v.value ->> 1",
            )
            .bind::<Text, _>(serde_json::Value::Array(rows).to_string())
            .execute(sq)?
        }
    })
}

/// The SLA tick's claim: the next tickets due by `now`, after `after` in
/// (next_check_at, id) order; locked for the caller's transaction and
/// skipped by other processes on PostgreSQL (SKIP LOCKED), held by the one
/// writer on SQLite.
pub fn claim_due(
    c: &mut DbConnection,
    now: NaiveDateTime,
    after: Option<(NaiveDateTime, i64)>,
    limit: i64,
) -> QueryResult<Vec<(i64, NaiveDateTime, String)>> {
    // Before any instant the core works with (1990 onwards), and within
    // what both backends store.
    let start = chrono::NaiveDate::from_ymd_opt(1900, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .expect("valid");
    let (at, id) = after.unwrap_or((start, 0));
    let q = tickets::table
        .filter(tickets::next_check_at.le(now))
        .filter(
            tickets::next_check_at
                .gt(at)
                .or(tickets::next_check_at.eq(at).and(tickets::id.gt(id))),
        )
        .order((tickets::next_check_at, tickets::id))
        .limit(limit)
        .select((
            tickets::id,
            tickets::next_check_at.assume_not_null(),
            tickets::reference,
        ));
    match c {
        DbConnection::Postgres(pg) => q.for_update().skip_locked().load(pg),
        DbConnection::Sqlite(sq) => q.load(sq),
    }
}
