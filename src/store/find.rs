//! Rows found by the names people use for them: a ticket by its reference,
//! a queue or an organisation by its slug, a user by their address. Each
//! lookup is written here once; the use cases decide what a missing row
//! means (404, a refused field, a quarantine).

use diesel::prelude::*;

use super::DbConnection;
use super::models::{Organisation, Queue, User};
use super::schema::{organisations, queues, tickets, users};

/// A ticket's id by its reference (already in canonical form, `SD-000123`).
pub fn ticket_id(c: &mut DbConnection, reference: &str) -> QueryResult<Option<i64>> {
    tickets::table
        .filter(tickets::reference.eq(reference))
        .select(tickets::id)
        .first(c)
        .optional()
}

/// A queue by its slug.
pub fn queue_by_slug(c: &mut DbConnection, slug: &str) -> QueryResult<Option<Queue>> {
    queues::table
        .filter(queues::slug.eq(slug))
        .select(Queue::as_select())
        .first(c)
        .optional()
}

/// An organisation by its slug.
pub fn organisation_by_slug(c: &mut DbConnection, slug: &str) -> QueryResult<Option<Organisation>> {
    organisations::table
        .filter(organisations::slug.eq(slug))
        .select(Organisation::as_select())
        .first(c)
        .optional()
}

/// A user by the case-insensitive key of their address (`email_key`).
pub fn user_by_email_key(c: &mut DbConnection, key: &str) -> QueryResult<Option<User>> {
    users::table
        .filter(users::email_key.eq(key))
        .select(User::as_select())
        .first(c)
        .optional()
}

/// A record's lifecycle events (a request's, problem's or change's), as
/// stored, in order: read by its use cases and by the monthly report.
pub fn record_events(c: &mut DbConnection, ticket_id: i64) -> QueryResult<Vec<String>> {
    use super::schema::itil_events;
    itil_events::table
        .filter(itil_events::ticket_id.eq(ticket_id))
        .order(itil_events::seq)
        .select(itil_events::data)
        .load(c)
}
