//! Full-text search's statements, which are nothing alike on the two
//! backends: FTS5's MATCH and bm25 on SQLite, a weighted `tsvector` with
//! `ts_rank` on PostgreSQL. Both read the index the migrations' triggers
//! keep (`ticket_search`, one document per ticket) and answer the same
//! thing: the newest `window` tickets that match, each with a score.
//!
//! Terms arrive as `domain::search::Term`s, whose words are only letters
//! and digits; they still go in as bound values, never spliced into SQL.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Double, Text, Timestamp};

use super::DbConnection;
use crate::domain::search::Term;

/// Whose tickets and which of their text a search reads.
#[derive(Debug, Clone, Copy)]
pub struct Scope {
    /// One organisation's tickets only: always a customer's own.
    pub organisation: Option<i64>,
    /// Staff read internal notes too; customers never match, exclude or
    /// rank by them.
    pub staff: bool,
    /// Created at or after.
    pub from: Option<NaiveDateTime>,
    /// Created before.
    pub until: Option<NaiveDateTime>,
}

/// A matching ticket and how well it matched (higher is better).
#[derive(Debug, Clone, Copy, PartialEq, QueryableByName)]
pub struct Hit {
    #[diesel(sql_type = BigInt)]
    pub id: i64,
    #[diesel(sql_type = Double)]
    pub score: f64,
}

#[derive(QueryableByName)]
struct Snippets {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    a: String,
    #[diesel(sql_type = Text)]
    b: String,
    #[diesel(sql_type = Text)]
    c: String,
}

/// A snippet's highlight opens with this character and closes with
/// `MARK_END`: control characters, which nothing a page shows contains.
pub const MARK_START: char = '\u{1}';
/// Closes a highlight.
pub const MARK_END: char = '\u{2}';

/// The FTS5 expression: every term a quoted phrase (a prefix starred),
/// the wanted ANDed, the unwanted after one NOT, all inside the columns
/// the caller may read, and inside their organisation's tenant token.
fn fts5_expression(terms: &[Term], scope: &Scope) -> String {
    let phrase = |t: &Term| {
        let words = t.words.join(" ");
        if t.prefix {
            format!("\"{words}\" *")
        } else {
            format!("\"{words}\"")
        }
    };
    let wanted: Vec<String> = terms.iter().filter(|t| !t.negated).map(phrase).collect();
    let unwanted: Vec<String> = terms.iter().filter(|t| t.negated).map(phrase).collect();
    let mut e = format!("({})", wanted.join(" AND "));
    if !unwanted.is_empty() {
        e = format!("{e} NOT ({})", unwanted.join(" OR "));
    }
    let columns = if scope.staff {
        "{subject public internal names}"
    } else {
        "{subject public names}"
    };
    let e = format!("{columns} : ({e})");
    match scope.organisation {
        Some(o) => format!("tenant : \"o{o}\" AND {e}"),
        None => e,
    }
}

/// One term as `to_tsquery` reads it: its words followed by one another,
/// each limited to the weights the caller may read (A subject, B names,
/// C public text, D internal notes).
fn tsquery_text(t: &Term, staff: bool) -> String {
    let weights = if staff { "" } else { "ABC" };
    let last = t.words.len() - 1;
    t.words
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let star = if t.prefix && i == last { "*" } else { "" };
            if star.is_empty() && weights.is_empty() {
                w.clone()
            } else {
                format!("{w}:{star}{weights}")
            }
        })
        .collect::<Vec<_>>()
        .join(" <-> ")
}

/// The tsquery expression over bind parameters `$first..`: each term
/// stemmed (English) or as written (simple, for codes), wanted ANDed,
/// unwanted negated.
fn tsquery_expression(terms: &[Term], first: usize) -> String {
    terms
        .iter()
        .enumerate()
        .map(|(i, t)| {
            let n = first + i;
            let one = format!("(to_tsquery('english', ${n}) || to_tsquery('simple', ${n}))");
            if t.negated { format!("!!{one}") } else { one }
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// The newest `window` tickets in scope that match, with their scores.
pub fn matching(c: &mut DbConnection, terms: &[Term], scope: &Scope, window: i64) -> QueryResult<Vec<Hit>> {
    match c {
        DbConnection::Sqlite(sq) => {
            let dated = scope.from.is_some() || scope.until.is_some();
            let mut sql = String::from(
                "SELECT s.rowid AS id, -bm25(ticket_search, 4.0, 1.0, 1.0, 2.0, 0.0) AS score FROM ticket_search s",
            );
            if dated {
                sql.push_str(" JOIN tickets t ON t.id = s.rowid");
            }
            sql.push_str(" WHERE ticket_search MATCH ?");
            if scope.from.is_some() {
                sql.push_str(" AND t.created_at >= ?");
            }
            if scope.until.is_some() {
                sql.push_str(" AND t.created_at < ?");
            }
            sql.push_str(" ORDER BY s.rowid DESC LIMIT ?");
            let mut q = diesel::sql_query(sql)
                .into_boxed::<diesel::sqlite::Sqlite>()
                .bind::<Text, _>(fts5_expression(terms, scope));
            if let Some(from) = scope.from {
                q = q.bind::<Timestamp, _>(from);
            }
            if let Some(until) = scope.until {
                q = q.bind::<Timestamp, _>(until);
            }
            q.bind::<BigInt, _>(window).load(sq)
        }
        DbConnection::Postgres(pg) => {
            let query = tsquery_expression(terms, 1);
            let mut n = terms.len();
            let mut next = || {
                n += 1;
                n
            };
            let mut sql =
                format!("SELECT s.ticket_id AS id, ts_rank(s.document, {query})::float8 AS score FROM ticket_search s");
            if scope.from.is_some() || scope.until.is_some() {
                sql.push_str(" JOIN tickets t ON t.id = s.ticket_id");
            }
            sql.push_str(&format!(" WHERE s.document @@ ({query})"));
            if scope.organisation.is_some() {
                sql.push_str(&format!(" AND s.organisation_id = ${}", next()));
            }
            if scope.from.is_some() {
                sql.push_str(&format!(" AND t.created_at >= ${}", next()));
            }
            if scope.until.is_some() {
                sql.push_str(&format!(" AND t.created_at < ${}", next()));
            }
            sql.push_str(&format!(" ORDER BY s.ticket_id DESC LIMIT ${}", next()));
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for t in terms {
                q = q.bind::<Text, _>(tsquery_text(t, scope.staff));
            }
            if let Some(o) = scope.organisation {
                q = q.bind::<BigInt, _>(o);
            }
            if let Some(from) = scope.from {
                q = q.bind::<Timestamp, _>(from);
            }
            if let Some(until) = scope.until {
                q = q.bind::<Timestamp, _>(until);
            }
            q.bind::<BigInt, _>(window).load(pg)
        }
    }
}

/// For each of `ids`, a passage of the text it matched in, its matches
/// between `MARK_START` and `MARK_END`: from the text the caller may read.
pub fn snippets(c: &mut DbConnection, terms: &[Term], scope: &Scope, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    match c {
        DbConnection::Sqlite(sq) => {
            // Column by column: a customer's from the subject, public text
            // and names, never the notes; staff's from the best column.
            let (a, b, cc) = if scope.staff { (-1, -1, -1) } else { (1, 0, 3) };
            let sql = format!(
                "SELECT rowid AS id, snippet(ticket_search, {a}, char(1), char(2), '…', 24) AS a, \
                 snippet(ticket_search, {b}, char(1), char(2), '…', 24) AS b, \
                 snippet(ticket_search, {cc}, char(1), char(2), '…', 24) AS c \
                 FROM ticket_search WHERE ticket_search MATCH ? AND rowid = ?"
            );
            let expression = fts5_expression(terms, scope);
            for &id in ids {
                let rows: Vec<Snippets> = diesel::sql_query(&sql)
                    .bind::<Text, _>(&expression)
                    .bind::<BigInt, _>(id)
                    .load(sq)?;
                if let Some(r) = rows.into_iter().next() {
                    let best = [r.a, r.b, r.c]
                        .into_iter()
                        .find(|s| s.contains(MARK_START))
                        .unwrap_or_default();
                    out.push((r.id, best));
                }
            }
        }
        DbConnection::Postgres(pg) => {
            let text = if scope.staff {
                "s.subject || E'\\n' || s.public || E'\\n' || s.internal"
            } else {
                "s.subject || E'\\n' || s.public"
            };
            let query = tsquery_expression(terms, 2);
            let sql = format!(
                "SELECT s.ticket_id AS id, ts_headline('english', {text}, {query}, \
                 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || \
                 ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"') AS a, \
                 '' AS b, '' AS c FROM ticket_search s WHERE s.ticket_id = ANY($1)"
            );
            let mut q = diesel::sql_query(sql)
                .into_boxed::<diesel::pg::Pg>()
                .bind::<diesel::sql_types::Array<BigInt>, _>(ids.to_vec());
            for t in terms {
                q = q.bind::<Text, _>(tsquery_text(t, scope.staff));
            }
            let rows: Vec<Snippets> = q.load(pg)?;
            out.extend(rows.into_iter().map(|r| (r.id, r.a)));
        }
    }
    Ok(out)
}

/// Builds the whole index again from the tickets, their events and
/// attachments, as the migration first built it: after a bulk import that
/// went around the triggers, or to pick up renamed organisations and
/// people. One transaction: searches see the old index until it commits.
/// Answers how many tickets are indexed.
pub fn rebuild(c: &mut DbConnection) -> QueryResult<usize> {
    match c {
        DbConnection::Sqlite(sq) => sq.transaction(|sq| {
            diesel::sql_query("DELETE FROM ticket_search").execute(sq)?;
            diesel::sql_query(
                "INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant) \
                 SELECT t.id, t.subject, \
                   coalesce((SELECT group_concat(body, char(10)) FROM (SELECT body FROM ticket_events e \
                     WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL ORDER BY e.seq)), ''), \
                   coalesce((SELECT group_concat(body, char(10)) FROM (SELECT body FROM ticket_events e \
                     WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL ORDER BY e.seq)), ''), \
                   t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email \
                     || coalesce((SELECT ' ' || group_concat(filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), ''), \
                   'o' || t.organisation_id \
                 FROM tickets t JOIN organisations o ON o.id = t.organisation_id JOIN users u ON u.id = t.requester_id",
            )
            .execute(sq)
        }),
        // The GIN index is dropped and made again around the copy: one
        // build is far cheaper than a million insertions into it.
        DbConnection::Postgres(pg) => pg.transaction(|pg| {
            diesel::sql_query("DROP INDEX ticket_search_document").execute(pg)?;
            diesel::sql_query("DELETE FROM ticket_search").execute(pg)?;
            let n = diesel::sql_query(
                "INSERT INTO ticket_search (ticket_id, organisation_id, subject, public, internal, names) \
                 SELECT t.id, t.organisation_id, t.subject, \
                   coalesce((SELECT string_agg(e.body, E'\\n' ORDER BY e.seq) FROM ticket_events e \
                     WHERE e.ticket_id = t.id AND e.visibility = 'public' AND e.body IS NOT NULL), ''), \
                   coalesce((SELECT string_agg(e.body, E'\\n' ORDER BY e.seq) FROM ticket_events e \
                     WHERE e.ticket_id = t.id AND e.visibility <> 'public' AND e.body IS NOT NULL), ''), \
                   t.reference || ' ' || o.name || ' ' || u.name || ' ' || u.email \
                     || coalesce((SELECT ' ' || string_agg(a.filename, ' ') FROM attachments a WHERE a.ticket_id = t.id), '') \
                 FROM tickets t JOIN organisations o ON o.id = t.organisation_id JOIN users u ON u.id = t.requester_id",
            )
            .execute(pg)?;
            diesel::sql_query("CREATE INDEX ticket_search_document ON ticket_search USING GIN (document)").execute(pg)?;
            diesel::sql_query("ANALYZE ticket_search").execute(pg)?;
            Ok(n)
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn term(words: &[&str], prefix: bool, negated: bool) -> Term {
        Term {
            words: words.iter().map(|w| w.to_string()).collect(),
            prefix,
            negated,
        }
    }

    #[test]
    fn expressions_keep_customers_in_their_columns_and_organisation() {
        let terms = [
            term(&["object", "stor"], true, false),
            term(&["checksum"], false, false),
            term(&["cancelled"], false, true),
        ];
        let staff = Scope {
            organisation: None,
            staff: true,
            from: None,
            until: None,
        };
        assert_eq!(
            fts5_expression(&terms, &staff),
            r#"{subject public internal names} : (("object stor" * AND "checksum") NOT ("cancelled"))"#
        );
        let customer = Scope {
            organisation: Some(7),
            staff: false,
            ..staff
        };
        assert_eq!(
            fts5_expression(&terms, &customer),
            r#"tenant : "o7" AND {subject public names} : (("object stor" * AND "checksum") NOT ("cancelled"))"#
        );
        assert_eq!(tsquery_text(&terms[0], false), "object:ABC <-> stor:*ABC");
        assert_eq!(tsquery_text(&terms[1], true), "checksum");
        assert_eq!(
            tsquery_expression(&terms[1..], 1),
            "(to_tsquery('english', $1) || to_tsquery('simple', $1)) && \
             !!(to_tsquery('english', $2) || to_tsquery('simple', $2))"
        );
    }
}
