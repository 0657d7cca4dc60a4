//! Links between two tickets: parent and child, related, caused by, and
//! duplicate of. Staff make and remove them (audited); anyone who may see
//! a ticket reads its links, but a customer sees only the links whose other
//! ticket they may see too (their own organisation's, within its sharing).
//! A link is stored once and read from either end: "SD-1 is the parent of
//! SD-2" is "SD-2 is a child of SD-1" on the other ticket.

use super::access::Reach;
use super::*;
use crate::store::schema::ticket_links;

/// At most this many links on one ticket.
pub const MAX_LINKS: i64 = 100;

/// A link as seen from one ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    ParentOf,
    ChildOf,
    Related,
    CausedBy,
    Causes,
    DuplicateOf,
    DuplicatedBy,
}

impl LinkKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LinkKind::ParentOf => "parent_of",
            LinkKind::ChildOf => "child_of",
            LinkKind::Related => "related",
            LinkKind::CausedBy => "caused_by",
            LinkKind::Causes => "causes",
            LinkKind::DuplicateOf => "duplicate_of",
            LinkKind::DuplicatedBy => "duplicated_by",
        }
    }

    /// As a page says it: "parent of", "caused by".
    pub fn words(self) -> &'static str {
        match self {
            LinkKind::ParentOf => "parent of",
            LinkKind::ChildOf => "child of",
            LinkKind::Related => "related to",
            LinkKind::CausedBy => "caused by",
            LinkKind::Causes => "caused",
            LinkKind::DuplicateOf => "duplicate of",
            LinkKind::DuplicatedBy => "has the duplicate",
        }
    }

    /// The row that records it between `this` and `other`: (from, to, kind).
    fn stored(self, this: i64, other: i64) -> (i64, i64, &'static str) {
        match self {
            LinkKind::ParentOf => (this, other, "parent"),
            LinkKind::ChildOf => (other, this, "parent"),
            LinkKind::Related => (this.min(other), this.max(other), "related"),
            LinkKind::CausedBy => (this, other, "caused_by"),
            LinkKind::Causes => (other, this, "caused_by"),
            LinkKind::DuplicateOf => (this, other, "duplicate_of"),
            LinkKind::DuplicatedBy => (other, this, "duplicate_of"),
        }
    }

    /// A stored row's kind, seen from its `from` end or its `to` end.
    fn seen(stored: &str, from_end: bool) -> Option<LinkKind> {
        Some(match (stored, from_end) {
            ("parent", true) => LinkKind::ParentOf,
            ("parent", false) => LinkKind::ChildOf,
            ("related", _) => LinkKind::Related,
            ("caused_by", true) => LinkKind::CausedBy,
            ("caused_by", false) => LinkKind::Causes,
            ("duplicate_of", true) => LinkKind::DuplicateOf,
            ("duplicate_of", false) => LinkKind::DuplicatedBy,
            _ => return None,
        })
    }
}

impl FromStr for LinkKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            LinkKind::ParentOf,
            LinkKind::ChildOf,
            LinkKind::Related,
            LinkKind::CausedBy,
            LinkKind::Causes,
            LinkKind::DuplicateOf,
            LinkKind::DuplicatedBy,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
        .ok_or_else(|| {
            format!(
                "unknown link '{s}': expected parent_of, child_of, related, caused_by, causes, duplicate_of or duplicated_by"
            )
        })
    }
}

/// One link of a ticket, with the other ticket as the caller may see it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkView {
    pub kind: LinkKind,
    pub reference: String,
    pub subject: String,
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// A link to make from one ticket.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewLink {
    pub kind: LinkKind,
    /// The other ticket's reference.
    pub ticket: String,
}

#[derive(Queryable)]
struct LinkRow {
    from: i64,
    to: i64,
    kind: String,
    created_at: NaiveDateTime,
}

impl App {
    /// A ticket's links, for anyone who may see it; a customer's list holds
    /// only the links whose other ticket they may see too.
    pub fn ticket_links(&self, who: &Principal, reference: &str) -> Result<Vec<LinkView>, AppError> {
        let mut conn = self.conn()?;
        let id = self.visible_ticket_id(&mut conn, who, reference)?;
        let reach = self.reach(&mut conn, who)?;
        links_of(&mut conn, id, reach)
    }

    /// Links two tickets (staff), audited. Refused: a ticket with itself,
    /// a second parent or a second original, a parent chain that would
    /// loop, a link made already, more than `MAX_LINKS`.
    pub fn link_ticket_to(
        &self,
        who: &Principal,
        reference: &str,
        link: NewLink,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkView>, AppError> {
        who.staff_or_forbidden("linking tickets")?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let this = self.link_in(c, who, reference, &link, now)?;
            links_of(c, this, Reach::Everything)
        })
    }

    /// `link_ticket_to` inside the caller's transaction (a problem linking
    /// its incidents, a merge); answers this ticket's row id.
    pub(crate) fn link_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        link: &NewLink,
        now: DateTime<Utc>,
    ) -> Result<i64, AppError> {
        who.staff_or_forbidden("linking tickets")?;
        {
            let this = self.visible_ticket_id(c, who, reference)?;
            let other = self.visible_ticket_id(c, who, &link.ticket)?;
            if this == other {
                return Err(invalid("ticket", "a ticket cannot be linked to itself"));
            }
            let (from, to, kind) = link.kind.stored(this, other);
            let exists = |c: &mut DbConnection, f: i64, t: i64, k: &str| -> Result<bool, AppError> {
                let n: i64 = ticket_links::table
                    .filter(ticket_links::from_ticket_id.eq(f))
                    .filter(ticket_links::to_ticket_id.eq(t))
                    .filter(ticket_links::kind.eq(k))
                    .count()
                    .get_result(c)?;
                Ok(n > 0)
            };
            if exists(c, from, to, kind)? {
                return Err(AppError::Conflict(format!(
                    "{} is {} {} already",
                    parse_reference(reference)?,
                    link.kind.words(),
                    parse_reference(&link.ticket)?
                )));
            }
            match kind {
                "parent" => {
                    if parent_of(c, to)?.is_some() {
                        return Err(AppError::Conflict(
                            "a ticket has one parent: unlink the other first".into(),
                        ));
                    }
                    // The new parent must not descend from the child.
                    let mut up = Some(from);
                    for _ in 0..=MAX_LINKS {
                        match up {
                            Some(p) if p == to => {
                                return Err(invalid("ticket", "that would make a ticket its own ancestor"));
                            }
                            Some(p) => up = parent_of(c, p)?,
                            None => break,
                        }
                    }
                }
                "duplicate_of" => {
                    let n: i64 = ticket_links::table
                        .filter(ticket_links::from_ticket_id.eq(from))
                        .filter(ticket_links::kind.eq("duplicate_of"))
                        .count()
                        .get_result(c)?;
                    if n > 0 {
                        return Err(AppError::Conflict("a ticket duplicates one other at most".into()));
                    }
                }
                "related" if exists(c, to, from, kind)? => {
                    return Err(AppError::Conflict("they are related already".into()));
                }
                _ => {}
            }
            for end in [this, other] {
                let n: i64 = ticket_links::table
                    .filter(
                        ticket_links::from_ticket_id
                            .eq(end)
                            .or(ticket_links::to_ticket_id.eq(end)),
                    )
                    .count()
                    .get_result(c)?;
                if n >= MAX_LINKS {
                    return Err(invalid("ticket", format!("a ticket has at most {MAX_LINKS} links")));
                }
            }
            diesel::insert_into(ticket_links::table)
                .values((
                    ticket_links::from_ticket_id.eq(from),
                    ticket_links::to_ticket_id.eq(to),
                    ticket_links::kind.eq(kind),
                    ticket_links::created_by.eq(who.actor_id()),
                    ticket_links::created_at.eq(naive(now)),
                ))
                .execute(c)?;
            let detail = format!("{} {}", link.kind.as_str(), parse_reference(&link.ticket)?);
            audit(
                c,
                who,
                "ticket.link",
                &format!("ticket:{}", parse_reference(reference)?),
                Some(&detail),
                now,
            )?;
            Ok(this)
        }
    }

    /// Removes a link (staff), audited.
    pub fn unlink_ticket_from(
        &self,
        who: &Principal,
        reference: &str,
        kind: LinkKind,
        other: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<LinkView>, AppError> {
        who.staff_or_forbidden("unlinking tickets")?;
        let mut conn = self.conn()?;
        conn.write(|c| {
            let this = self.unlink_in(c, who, reference, kind, other, now)?;
            links_of(c, this, Reach::Everything)
        })
    }

    /// `unlink_ticket_from` inside the caller's transaction; answers this
    /// ticket's row id.
    pub(crate) fn unlink_in(
        &self,
        c: &mut DbConnection,
        who: &Principal,
        reference: &str,
        kind: LinkKind,
        other: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, AppError> {
        who.staff_or_forbidden("unlinking tickets")?;
        {
            let this = self.visible_ticket_id(c, who, reference)?;
            let that = self.visible_ticket_id(c, who, other)?;
            let (from, to, stored) = kind.stored(this, that);
            let gone = diesel::delete(
                ticket_links::table
                    .filter(ticket_links::from_ticket_id.eq(from))
                    .filter(ticket_links::to_ticket_id.eq(to))
                    .filter(ticket_links::kind.eq(stored)),
            )
            .execute(c)?;
            if gone == 0 {
                return Err(AppError::NotFound(format!("a {} link to {other}", kind.as_str())));
            }
            let detail = format!("{} {}", kind.as_str(), parse_reference(other)?);
            audit(
                c,
                who,
                "ticket.unlink",
                &format!("ticket:{}", parse_reference(reference)?),
                Some(&detail),
                now,
            )?;
            Ok(this)
        }
    }
}

fn parent_of(c: &mut DbConnection, child: i64) -> Result<Option<i64>, AppError> {
    Ok(ticket_links::table
        .filter(ticket_links::to_ticket_id.eq(child))
        .filter(ticket_links::kind.eq("parent"))
        .select(ticket_links::from_ticket_id)
        .first(c)
        .optional()?)
}

/// A ticket's links as `reach` may see them, the newest first.
fn links_of(c: &mut DbConnection, id: i64, reach: Reach) -> Result<Vec<LinkView>, AppError> {
    let rows: Vec<LinkRow> = ticket_links::table
        .filter(
            ticket_links::from_ticket_id
                .eq(id)
                .or(ticket_links::to_ticket_id.eq(id)),
        )
        .order(ticket_links::created_at.desc())
        .limit(MAX_LINKS * 2)
        .select((
            ticket_links::from_ticket_id,
            ticket_links::to_ticket_id,
            ticket_links::kind,
            ticket_links::created_at,
        ))
        .load(c)?;
    let others: Vec<i64> = rows.iter().map(|r| if r.from == id { r.to } else { r.from }).collect();
    let found: Vec<(i64, String, String, String, i64, i64)> = tickets::table
        .filter(tickets::id.eq_any(&others))
        .select((
            tickets::id,
            tickets::reference,
            tickets::subject,
            tickets::status,
            tickets::organisation_id,
            tickets::requester_id,
        ))
        .load(c)?;
    let by_id: HashMap<i64, (String, String, String, i64, i64)> = found
        .into_iter()
        .map(|(i, r, s, st, o, q)| (i, (r, s, st, o, q)))
        .collect();
    let mut out = Vec::new();
    for row in rows {
        let from_end = row.from == id;
        let other = if from_end { row.to } else { row.from };
        let (Some(kind), Some((reference, subject, status, org, requester))) =
            (LinkKind::seen(&row.kind, from_end), by_id.get(&other))
        else {
            continue;
        };
        if !reach.allows(c, other, *org, *requester)? {
            continue;
        }
        out.push(LinkView {
            kind,
            reference: reference.clone(),
            subject: subject.clone(),
            status: status.clone(),
            created_at: utc(row.created_at),
        });
    }
    Ok(out)
}
