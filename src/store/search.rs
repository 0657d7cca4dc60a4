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
    let columns = if scope.staff {
        "{subject public internal names}"
    } else {
        "{subject public names}"
    };
    fts5_expression_in(terms, scope, columns)
}

/// The same, in the columns given: `{subject}` ranks.
fn fts5_expression_in(terms: &[Term], scope: &Scope, columns: &str) -> String {
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
            // A word English drops ("the") is no term at all, as the index
            // keeps no English stop word; not a word the names must hold.
            // Where both configurations read the word alike (most words
            // that are not stemmed), it is asked once: an OR of a lexeme
            // with itself doubles the planner's estimate of how many
            // tickets hold it, enough to choose the wrong plan.
            let one = format!(
                "(CASE WHEN numnode(to_tsquery('english', ${n})) = 0 THEN ''::tsquery \
                 WHEN to_tsquery('english', ${n}) = to_tsquery('simple', ${n}) THEN to_tsquery('english', ${n}) \
                 ELSE to_tsquery('english', ${n}) || to_tsquery('simple', ${n}) END)"
            );
            if t.negated { format!("!!{one}") } else { one }
        })
        .collect::<Vec<_>>()
        .join(" && ")
}

/// The most queued tickets a search reads from the store rather than the
/// index. The indexers keep the queue far shorter; past this, the oldest
/// marks are answered from the index as it stands.
pub const MAX_FRESH: i64 = 2000;

/// The newest `window` tickets in scope that match, with their scores:
/// from the index for tickets it is up to date with, and from the store's
/// documents (`ticket_documents`) for tickets marked in `search_queue`, in
/// one read, so a committed change is never missed.
pub fn matching(c: &mut DbConnection, terms: &[Term], scope: &Scope, window: i64) -> QueryResult<Vec<Hit>> {
    match c {
        DbConnection::Sqlite(sq) => sq.transaction(|sq| {
            // The queued tickets' documents, indexed on this connection's
            // own temporary FTS5 table: the store is only read.
            diesel::sql_query(
                "CREATE VIRTUAL TABLE IF NOT EXISTS temp.ticket_search_fresh USING fts5(\
                 subject, public, internal, names, tenant, tokenize = 'porter unicode61 remove_diacritics 2')",
            )
            .execute(sq)?;
            diesel::sql_query("DELETE FROM temp.ticket_search_fresh").execute(sq)?;
            diesel::sql_query(
                "INSERT INTO temp.ticket_search_fresh (rowid, subject, public, internal, names, tenant) \
                 SELECT ticket_id, subject, public, internal, names, 'o' || organisation_id FROM ticket_documents \
                 WHERE ticket_id IN (SELECT ticket_id FROM search_queue ORDER BY ticket_id DESC LIMIT ?)",
            )
            .bind::<BigInt, _>(MAX_FRESH)
            .execute(sq)?;
            let expression = fts5_expression(terms, scope);
            // The newest matches, from the index where it is up to date and
            // from the fresh table where it is not.
            let mut found: Vec<(i64, bool)> = Vec::new();
            for (table, fresh) in [("ticket_search", false), ("ticket_search_fresh", true)] {
                let extra = if fresh {
                    ""
                } else {
                    " AND s.rowid NOT IN (SELECT rowid FROM temp.ticket_search_fresh)"
                };
                let ids = fts5_rowids(sq, table, &expression, extra, scope, None, window)?;
                found.extend(ids.into_iter().map(|id| (id, fresh)));
            }
            found.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
            found.truncate(window as usize);
            let Some(lowest) = found.last().map(|(id, _)| *id) else {
                return Ok(Vec::new());
            };
            // Ranked by where the words are: every wanted word in the
            // subject first. Not bm25: its weighting reads the whole list
            // of every word's tickets (100 ms for a word in most tickets of
            // a million), where this reads only the candidates' range.
            let subject = fts5_expression_in(
                &terms.iter().filter(|t| !t.negated).cloned().collect::<Vec<_>>(),
                scope,
                "{subject}",
            );
            let mut in_subject = std::collections::HashSet::new();
            for (table, fresh) in [("ticket_search", false), ("ticket_search_fresh", true)] {
                for id in fts5_rowids(sq, table, &subject, "", scope, Some(lowest), window)? {
                    in_subject.insert((id, fresh));
                }
            }
            Ok(found
                .into_iter()
                .map(|(id, fresh)| Hit {
                    id,
                    score: if in_subject.contains(&(id, fresh)) { 2.0 } else { 1.0 },
                })
                .collect())
        }),
        DbConnection::Postgres(pg) => {
            let query = tsquery_expression(terms, 1);
            let mut n = terms.len();
            let mut next = || {
                n += 1;
                n
            };
            let (org, from, until, fresh_limit, limit) = (
                scope.organisation.map(|_| next()),
                scope.from.map(|_| next()),
                scope.until.map(|_| next()),
                next(),
                next(),
            );
            let mut indexed = String::new();
            let mut fresh = String::new();
            // A customer's organisation is a lexeme of the document: the
            // GIN index intersects it with the words.
            let tenant = match org {
                Some(o) => {
                    fresh.push_str(&format!(" AND d.organisation_id = ${o}"));
                    format!(" && ('tenant_' || ${o})::tsquery")
                }
                None => String::new(),
            };
            if let Some(f) = from {
                indexed.push_str(&format!(" AND t.created_at >= ${f}"));
                fresh.push_str(&format!(" AND d.created_at >= ${f}"));
            }
            if let Some(u) = until {
                indexed.push_str(&format!(" AND t.created_at < ${u}"));
                fresh.push_str(&format!(" AND d.created_at < ${u}"));
            }
            let join = if from.is_some() || until.is_some() {
                " JOIN tickets t ON t.id = s.ticket_id"
            } else {
                ""
            };
            // One statement, so one snapshot: a ticket is read from the
            // index, or from the store while it is queued, never neither.
            // The newest matches are found first and only they are ranked:
            // ranking runs over the window, not every match.
            let sql = format!(
                "WITH queued AS (SELECT ticket_id FROM search_queue ORDER BY ticket_id DESC LIMIT ${fresh_limit}), \
                 indexed AS MATERIALIZED (SELECT s.ticket_id FROM ticket_search s{join} \
                    WHERE s.document @@ (({query}){tenant}){indexed} \
                    AND s.ticket_id NOT IN (SELECT ticket_id FROM queued) ORDER BY s.ticket_id DESC LIMIT ${limit}) \
                 SELECT id, score FROM ( \
                   (SELECT s.ticket_id AS id, ts_rank(s.document, ({query}))::float8 AS score \
                    FROM indexed JOIN ticket_search s ON s.ticket_id = indexed.ticket_id) \
                   UNION ALL \
                   (SELECT d.ticket_id AS id, ts_rank(v.document, ({query}))::float8 AS score \
                    FROM queued JOIN ticket_documents d ON d.ticket_id = queued.ticket_id, \
                    LATERAL (SELECT ticket_search_document(d.organisation_id, d.subject, d.names, d.public, d.internal) \
                      AS document) v \
                    WHERE v.document @@ ({query}){fresh}) \
                 ) found ORDER BY id DESC LIMIT ${limit}"
            );
            let mut q = diesel::sql_query(sql).into_boxed::<diesel::pg::Pg>();
            for t in terms {
                q = q.bind::<Text, _>(tsquery_text(t, scope.staff));
            }
            if let Some(o) = scope.organisation {
                q = q.bind::<BigInt, _>(o);
            }
            if let Some(f) = scope.from {
                q = q.bind::<Timestamp, _>(f);
            }
            if let Some(u) = scope.until {
                q = q.bind::<Timestamp, _>(u);
            }
            q.bind::<BigInt, _>(MAX_FRESH).bind::<BigInt, _>(window).load(pg)
        }
    }
}

/// The rowids of `table` matching `expression` in scope, newest first, at
/// most `limit`, none below `from`.
fn fts5_rowids(
    sq: &mut diesel::SqliteConnection,
    table: &str,
    expression: &str,
    extra: &str,
    scope: &Scope,
    from: Option<i64>,
    limit: i64,
) -> QueryResult<Vec<i64>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = BigInt)]
        id: i64,
    }
    let dated = scope.from.is_some() || scope.until.is_some();
    let mut sql = format!("SELECT s.rowid AS id FROM {table} s");
    if dated {
        sql.push_str(" JOIN tickets t ON t.id = s.rowid");
    }
    sql.push_str(&format!(" WHERE {table} MATCH ?{extra}"));
    if from.is_some() {
        sql.push_str(" AND s.rowid >= ?");
    }
    if scope.from.is_some() {
        sql.push_str(" AND t.created_at >= ?");
    }
    if scope.until.is_some() {
        sql.push_str(" AND t.created_at < ?");
    }
    sql.push_str(" ORDER BY s.rowid DESC LIMIT ?");
    let mut q = diesel::sql_query(sql)
        .into_boxed::<diesel::sqlite::Sqlite>()
        .bind::<Text, _>(expression);
    if let Some(f) = from {
        q = q.bind::<BigInt, _>(f);
    }
    if let Some(f) = scope.from {
        q = q.bind::<Timestamp, _>(f);
    }
    if let Some(u) = scope.until {
        q = q.bind::<Timestamp, _>(u);
    }
    Ok(q.bind::<BigInt, _>(limit)
        .load::<Id>(sq)?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// For each of `ids`, a passage of the text it matched in, its matches
/// between `MARK_START` and `MARK_END`: from the text the caller may read,
/// as the store holds it now.
pub fn snippets(c: &mut DbConnection, terms: &[Term], scope: &Scope, ids: &[i64]) -> QueryResult<Vec<(i64, String)>> {
    let mut out = Vec::with_capacity(ids.len());
    match c {
        DbConnection::Sqlite(sq) => {
            // Column by column: a customer's from the public text, subject
            // and names, never the notes; staff's from the best column. A
            // queued ticket's from the fresh table `matching` filled on
            // this connection.
            let (a, b, cc) = if scope.staff { (-1, -1, -1) } else { (1, 0, 3) };
            let expression = fts5_expression(terms, scope);
            for &id in ids {
                for table in ["temp.ticket_search_fresh", "main.ticket_search"] {
                    let name = table.split_once('.').map_or(table, |(_, n)| n);
                    let sql = format!(
                        "SELECT rowid AS id, snippet({name}, {a}, char(1), char(2), '…', 24) AS a, \
                         snippet({name}, {b}, char(1), char(2), '…', 24) AS b, \
                         snippet({name}, {cc}, char(1), char(2), '…', 24) AS c \
                         FROM {table} WHERE {name} MATCH ? AND rowid = ?"
                    );
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
                        break;
                    }
                }
            }
        }
        DbConnection::Postgres(pg) => {
            let text = if scope.staff {
                "d.subject || E'\\n' || d.public || E'\\n' || d.internal"
            } else {
                "d.subject || E'\\n' || d.public"
            };
            let query = tsquery_expression(terms, 2);
            let sql = format!(
                "SELECT d.ticket_id AS id, ts_headline('english', {text}, {query}, \
                 'StartSel=' || chr(1) || ', StopSel=' || chr(2) || \
                 ', MaxWords=30, MinWords=12, MaxFragments=2, FragmentDelimiter=\" … \"') AS a, \
                 '' AS b, '' AS c FROM ticket_documents d WHERE d.ticket_id = ANY($1)"
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

/// Brings up to `batch` queued tickets' documents into the index, oldest
/// marks first, in one transaction; answers how many. Several indexers may
/// run at once: on PostgreSQL each takes rows the others have not locked.
pub fn index_queued(c: &mut DbConnection, batch: i64) -> QueryResult<usize> {
    c.write(|c| match c {
        DbConnection::Sqlite(sq) => {
            let taken = "SELECT ticket_id FROM search_queue ORDER BY ticket_id LIMIT ?";
            diesel::sql_query(format!("DELETE FROM ticket_search WHERE rowid IN ({taken})"))
                .bind::<BigInt, _>(batch)
                .execute(sq)?;
            diesel::sql_query(format!(
                "INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant) \
                 SELECT ticket_id, subject, public, internal, names, 'o' || organisation_id FROM ticket_documents \
                 WHERE ticket_id IN ({taken})"
            ))
            .bind::<BigInt, _>(batch)
            .execute(sq)?;
            diesel::sql_query(format!("DELETE FROM search_queue WHERE ticket_id IN ({taken})"))
                .bind::<BigInt, _>(batch)
                .execute(sq)
        }
        // A ticket changed again while this runs is marked again by its
        // writer (whose insert waits on the row this deletes), so the
        // next batch reads it once more.
        DbConnection::Postgres(pg) => diesel::sql_query(
            "WITH taken AS (DELETE FROM search_queue WHERE ticket_id IN \
               (SELECT ticket_id FROM search_queue ORDER BY ticket_id LIMIT $1 FOR UPDATE SKIP LOCKED) \
               RETURNING ticket_id) \
             INSERT INTO ticket_search (ticket_id, document) \
             SELECT d.ticket_id, ticket_search_document(d.organisation_id, d.subject, d.names, d.public, d.internal) \
             FROM ticket_documents d JOIN taken ON taken.ticket_id = d.ticket_id \
             ON CONFLICT (ticket_id) DO UPDATE SET document = EXCLUDED.document",
        )
        .bind::<BigInt, _>(batch)
        .execute(pg),
    })
}

/// How many tickets wait for the indexer.
pub fn queued(c: &mut DbConnection) -> QueryResult<i64> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let rows: Vec<Count> = match c {
        DbConnection::Sqlite(sq) => diesel::sql_query("SELECT count(*) AS n FROM search_queue").load(sq)?,
        DbConnection::Postgres(pg) => diesel::sql_query("SELECT count(*) AS n FROM search_queue").load(pg)?,
    };
    Ok(rows.first().map_or(0, |r| r.n))
}

/// Builds the whole index again from the store's documents, as the
/// migration first built it: after a bulk import that went around the
/// triggers, or to recover from any doubt. One transaction: on SQLite
/// searches read the old index until it commits; on PostgreSQL they wait
/// for it (the index is dropped and made again under the table's lock), so
/// it is an operator's step for a quiet hour. Answers how many tickets
/// are indexed.
pub fn rebuild(c: &mut DbConnection) -> QueryResult<usize> {
    c.write(|c| match c {
        DbConnection::Sqlite(sq) => {
            diesel::sql_query("DELETE FROM ticket_search").execute(sq)?;
            diesel::sql_query("DELETE FROM search_queue").execute(sq)?;
            diesel::sql_query(
                "INSERT INTO ticket_search (rowid, subject, public, internal, names, tenant) \
                 SELECT ticket_id, subject, public, internal, names, 'o' || organisation_id FROM ticket_documents",
            )
            .execute(sq)
        }
        // The GIN index is dropped and made again around the copy: one
        // build is far cheaper than a million insertions into it.
        DbConnection::Postgres(pg) => {
            diesel::sql_query("DROP INDEX ticket_search_document").execute(pg)?;
            diesel::sql_query("DELETE FROM ticket_search").execute(pg)?;
            diesel::sql_query("DELETE FROM search_queue").execute(pg)?;
            let n = diesel::sql_query(
                "INSERT INTO ticket_search (ticket_id, document) \
                 SELECT ticket_id, ticket_search_document(organisation_id, subject, names, public, internal) \
                 FROM ticket_documents",
            )
            .execute(pg)?;
            diesel::sql_query("CREATE INDEX ticket_search_document ON ticket_search USING GIN (document)")
                .execute(pg)?;
            diesel::sql_query("ANALYZE ticket_search").execute(pg)?;
            Ok(n)
        }
    })
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
        let e = tsquery_expression(&terms[1..], 1);
        assert!(
            e.starts_with("(CASE WHEN numnode(to_tsquery('english', $1)) = 0"),
            "{e}"
        );
        assert!(
            e.contains(") && !!(CASE WHEN numnode(to_tsquery('english', $2))"),
            "{e}"
        );
    }
}
