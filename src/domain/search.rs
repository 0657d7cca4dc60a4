//! The search box's query language, read into terms and filters.
//!
//! ```text
//! checksum "object storage" -cancelled backu*  org:acme status:open sev:1
//! assignee:me queue:network tier:gold type:incident before:2026-11-01
//! after:2026-10-01 breached at-risk          SD-000123 (or 123) alone: that ticket
//! ```
//!
//! Words are split into their letters and digits the way both stores'
//! tokenisers split text (`eu-west-1` is the phrase `eu west 1`), so a term
//! is only ever letters and digits when it reaches a store: nothing a user
//! types can change a search expression's grammar. Stemming is the store's.

use chrono::NaiveDate;

use super::names::TicketRef;

/// The longest query read, in characters.
pub const MAX_QUERY_CHARS: usize = 300;
/// The most words and phrases one query may hold.
pub const MAX_TERMS: usize = 12;

/// A word or phrase to find, or to exclude.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Term {
    /// Lower-case runs of letters and digits; more than one is a phrase.
    pub words: Vec<String>,
    /// `backu*`: the last word is a prefix.
    pub prefix: bool,
    /// `-word`: tickets holding it are left out.
    pub negated: bool,
}

/// The filters a query may carry; each narrows the results.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub organisation: Option<String>,
    pub status: Option<String>,
    pub severity: Option<i32>,
    pub assignee: Option<String>,
    pub queue: Option<String>,
    pub tier: Option<String>,
    pub ticket_type: Option<super::itil::TicketType>,
    pub breached: bool,
    pub at_risk: bool,
    /// Created before this London date (exclusive).
    pub before: Option<NaiveDate>,
    /// Created on or after this London date.
    pub after: Option<NaiveDate>,
}

/// A query read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// A reference alone: go to that ticket.
    Jump(TicketRef),
    /// Terms (maybe none: then the filters alone list tickets) and filters.
    Search { terms: Vec<Term>, filters: Filters },
}

/// What is wrong with a query, and where (a character offset).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (at character {at})")]
pub struct QueryError {
    pub at: usize,
    pub message: String,
}

fn err(at: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        at,
        message: message.into(),
    }
}

/// The filter names, as the error for an unknown one lists them.
pub const FILTERS: &str = "org:, status:, sev:, assignee:, queue:, tier:, type:, before:, after:, breached, at-risk";

/// Reads a query. A reference alone (`SD-000123`, `#123` or `123`) is a
/// jump; anything else is terms and filters, and needs at least one of a
/// word to find or a filter.
pub fn parse(input: &str) -> Result<Query, QueryError> {
    let text = input.trim();
    if text.chars().count() > MAX_QUERY_CHARS {
        return Err(err(
            MAX_QUERY_CHARS,
            format!("a query is at most {MAX_QUERY_CHARS} characters"),
        ));
    }
    if text.is_empty() {
        return Err(err(0, "nothing to search for"));
    }
    if let Some(r) = reference(text) {
        return Ok(Query::Jump(r));
    }
    let mut terms = Vec::new();
    let mut filters = Filters::default();
    let mut given = false;
    for (at, token) in tokens(text)? {
        let (negated, body) = match token.strip_prefix('-') {
            Some(rest) if !rest.is_empty() => (true, rest),
            _ => (false, token.as_str()),
        };
        if let Some(phrase) = body.strip_prefix('"') {
            let inner = phrase.strip_suffix('"').unwrap_or(phrase);
            push(&mut terms, at, inner, false, negated)?;
            continue;
        }
        match body {
            "breached" | "is:breached" if !negated => {
                filters.breached = true;
                given = true;
                continue;
            }
            "at-risk" | "is:at-risk" if !negated => {
                filters.at_risk = true;
                given = true;
                continue;
            }
            _ => {}
        }
        if let Some((key, value)) = body.split_once(':')
            && !key.is_empty()
            && key.chars().all(|c| c.is_ascii_alphabetic())
        {
            if negated {
                return Err(err(at, format!("a filter cannot be negated: '{token}'")));
            }
            filter(&mut filters, at, key, value.trim_matches('"'))?;
            given = true;
            continue;
        }
        let (word, prefix) = match body.strip_suffix('*') {
            Some(w) => (w, true),
            None => (body, false),
        };
        push(&mut terms, at, word, prefix, negated)?;
    }
    if terms.len() > MAX_TERMS {
        return Err(err(0, format!("at most {MAX_TERMS} words and phrases")));
    }
    if !terms.is_empty() && terms.iter().all(|t| t.negated) {
        return Err(err(0, "give a word to find as well as words to leave out"));
    }
    if terms.is_empty() && !given {
        return Err(err(0, "nothing to search for: give a word, a phrase or a filter"));
    }
    Ok(Query::Search { terms, filters })
}

/// `SD-000123`, `#123` or `123` alone.
fn reference(text: &str) -> Option<TicketRef> {
    if let Ok(r) = TicketRef::parse(text) {
        return Some(r);
    }
    let digits = text.strip_prefix('#').unwrap_or(text);
    if (1..=9).contains(&digits.len()) && digits.chars().all(|c| c.is_ascii_digit()) {
        let n: u64 = digits.parse().ok()?;
        return TicketRef::parse(&format!("SD-{n:06}")).ok();
    }
    None
}

/// Splits on white space outside double quotes; a token starting with a
/// quote (or `-"`) runs to the closing one.
fn tokens(text: &str) -> Result<Vec<(usize, String)>, QueryError> {
    let mut out = Vec::new();
    let mut chars = text.chars().enumerate().peekable();
    while let Some(&(at, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut token = String::new();
        let mut quoted = false;
        while let Some(&(_, c)) = chars.peek() {
            if c == '"' {
                quoted = !quoted;
            } else if c.is_whitespace() && !quoted {
                break;
            }
            token.push(c);
            chars.next();
        }
        if quoted {
            return Err(err(at, "a quote is not closed"));
        }
        out.push((at, token));
    }
    Ok(out)
}

/// The runs of letters and digits in `text`, lower-cased.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| w.to_lowercase())
        .collect()
}

fn push(terms: &mut Vec<Term>, at: usize, text: &str, prefix: bool, negated: bool) -> Result<(), QueryError> {
    let words = words(text);
    if words.is_empty() {
        // Punctuation alone ("-", "&&") finds nothing and asks nothing.
        if text.trim().is_empty() {
            return Err(err(at, "an empty phrase"));
        }
        return Ok(());
    }
    if words.len() > MAX_TERMS {
        return Err(err(at, format!("a phrase is at most {MAX_TERMS} words")));
    }
    terms.push(Term { words, prefix, negated });
    Ok(())
}

fn filter(f: &mut Filters, at: usize, key: &str, value: &str) -> Result<(), QueryError> {
    let need = |v: &str| {
        if v.is_empty() {
            Err(err(at, format!("'{key}:' needs a value")))
        } else {
            Ok(v.to_string())
        }
    };
    let date = |v: &str| {
        NaiveDate::parse_from_str(v, "%Y-%m-%d").map_err(|_| err(at, format!("'{key}:' takes a date, 2026-11-30")))
    };
    match key.to_ascii_lowercase().as_str() {
        "org" | "organisation" => f.organisation = Some(need(value)?),
        "status" => f.status = Some(need(value)?),
        "sev" | "severity" => {
            f.severity = Some(match value {
                "1" | "2" | "3" | "4" => value.parse().expect("a digit"),
                _ => return Err(err(at, "'sev:' takes 1, 2, 3 or 4")),
            })
        }
        "assignee" => f.assignee = Some(need(value)?),
        "queue" => f.queue = Some(need(value)?),
        "tier" => f.tier = Some(need(value)?),
        "type" => {
            let wanted = value.to_ascii_lowercase().replace(['-', ' '], "_");
            let wanted = if wanted == "request" {
                "service_request".to_string()
            } else {
                wanted
            };
            f.ticket_type = Some(wanted.parse().map_err(|_| {
                err(
                    at,
                    "'type:' takes incident, request (service_request), problem or change",
                )
            })?);
        }
        "before" => f.before = Some(date(value)?),
        "after" => f.after = Some(date(value)?),
        "is" => return Err(err(at, "'is:' takes breached or at-risk")),
        _ => {
            return Err(err(
                at,
                format!("unknown filter '{key}:' (known: {FILTERS}); put the text in quotes to search for it"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn search(q: &str) -> (Vec<Term>, Filters) {
        match parse(q).unwrap() {
            Query::Search { terms, filters } => (terms, filters),
            other => panic!("{other:?}"),
        }
    }

    fn t(words: &[&str], prefix: bool, negated: bool) -> Term {
        Term {
            words: words.iter().map(|w| w.to_string()).collect(),
            prefix,
            negated,
        }
    }

    #[test]
    fn words_phrases_exclusions_and_prefixes() {
        let (terms, f) = search(r#"Checksum "Object  storage" -cancelled backu* eu-west-1"#);
        assert_eq!(
            terms,
            [
                t(&["checksum"], false, false),
                t(&["object", "storage"], false, false),
                t(&["cancelled"], false, true),
                t(&["backu"], true, false),
                t(&["eu", "west", "1"], false, false),
            ]
        );
        assert_eq!(f, Filters::default());
    }

    #[test]
    fn filters_alone_or_with_words() {
        let (terms, f) = search(
            "org:acme status:open sev:1 assignee:me queue:network tier:gold type:incident \
             before:2026-11-01 after:2026-10-01 breached at-risk backup",
        );
        assert_eq!(terms, [t(&["backup"], false, false)]);
        assert_eq!(f.organisation.as_deref(), Some("acme"));
        assert_eq!(f.status.as_deref(), Some("open"));
        assert_eq!(f.severity, Some(1));
        assert_eq!(f.assignee.as_deref(), Some("me"));
        assert_eq!(f.queue.as_deref(), Some("network"));
        assert_eq!(f.tier.as_deref(), Some("gold"));
        assert_eq!(f.ticket_type, Some(crate::domain::itil::TicketType::Incident));
        assert_eq!(
            search("type:request").1.ticket_type,
            Some(crate::domain::itil::TicketType::ServiceRequest)
        );
        assert!(parse("type:widget").is_err());
        assert_eq!(f.before, NaiveDate::from_ymd_opt(2026, 11, 1));
        assert_eq!(f.after, NaiveDate::from_ymd_opt(2026, 10, 1));
        assert!(f.breached && f.at_risk);
        let (terms, f) = search("status:open");
        assert!(terms.is_empty());
        assert_eq!(f.status.as_deref(), Some("open"));
        // Quoted, a filter's word is text.
        let (terms, f) = search(r#""breached" "org:acme""#);
        assert_eq!(
            terms,
            [t(&["breached"], false, false), t(&["org", "acme"], false, false)]
        );
        assert!(!f.breached && f.organisation.is_none());
    }

    #[test]
    fn a_reference_alone_is_a_jump() {
        for q in ["SD-000123", "sd-000123", " 123 ", "#123", "000123"] {
            assert_eq!(
                parse(q).unwrap(),
                Query::Jump(TicketRef::parse("SD-000123").unwrap()),
                "{q}"
            );
        }
        // With anything else it is text: the reference's words.
        let (terms, _) = search("SD-000123 checksum");
        assert_eq!(terms[0], t(&["sd", "000123"], false, false));
    }

    #[test]
    fn malformed_queries_say_what_and_where() {
        for (q, at, words) in [
            ("", 0, "nothing to search for"),
            ("   ", 0, "nothing to search for"),
            (r#"backup "object storage"#, 7, "not closed"),
            ("-backup", 0, "a word to find"),
            ("backup colour:red", 7, "unknown filter 'colour:'"),
            ("sev:5", 0, "1, 2, 3 or 4"),
            ("before:yesterday", 0, "a date"),
            ("type:widget", 0, "takes incident, request"),
            ("x -org:acme", 2, "cannot be negated"),
            ("org:", 0, "needs a value"),
            (r#"a """#, 2, "an empty phrase"),
        ] {
            let e = parse(q).unwrap_err();
            assert_eq!(e.at, at, "{q}: {e}");
            assert!(e.message.contains(words), "{q}: {e}");
        }
        let long = "a ".repeat(200);
        assert!(parse(&long).unwrap_err().message.contains("at most 300"));
        let many = "a b c d e f g h i j k l m";
        assert!(parse(many).unwrap_err().message.contains("at most 12"));
    }

    #[test]
    fn whatever_is_typed_reaches_a_store_as_letters_and_digits() {
        for q in [
            r#"a" OR "b"#,
            "x NEAR/2 y",
            "a AND (b OR c)",
            "evil'); DROP TABLE tickets;--",
            "col:thing",
            "Ünïcode ÆØÅ 東京",
            "a\u{0}b",
        ] {
            if let Ok(Query::Search { terms, .. }) = parse(q) {
                for term in terms {
                    for w in term.words {
                        assert!(!w.is_empty() && w.chars().all(char::is_alphanumeric), "{q}: {w:?}");
                    }
                }
            }
        }
    }
}
