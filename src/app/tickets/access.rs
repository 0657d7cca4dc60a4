//! Which tickets a caller may see: the one rule that reading a ticket, its
//! timeline, files and messages, the lists and their counts, search, the
//! watchers and a contact's mail all ask. Staff see every ticket. A
//! customer contact sees tickets of their own organisation only, and of
//! those either all (`organisation` sharing, the default) or the ones they
//! raised and the ones they watch (`own` sharing). Whatever a contact may
//! not see does not exist for them: 404, never 403, and not in a count.
//! Problems are the desk's own records (root causes, several customers'
//! incidents): no contact sees one.

use super::*;
use crate::store::schema::ticket_watchers;

/// How an organisation shares its tickets among its contacts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TicketSharing {
    /// Every contact sees every ticket of the organisation.
    #[default]
    Organisation,
    /// A contact sees the tickets they raised and the ones they watch.
    Own,
}

impl TicketSharing {
    pub fn as_str(self) -> &'static str {
        match self {
            TicketSharing::Organisation => "organisation",
            TicketSharing::Own => "own",
        }
    }
}

impl FromStr for TicketSharing {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "organisation" => Ok(TicketSharing::Organisation),
            "own" => Ok(TicketSharing::Own),
            other => Err(format!(
                "unknown ticket sharing '{other}': expected organisation or own"
            )),
        }
    }
}

/// The tickets one caller may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reach {
    Everything,
    Organisation(i64),
    OwnAndWatched { organisation: i64, user: i64 },
}

impl App {
    /// What `who` may see, read in the caller's connection (so a list and
    /// its count, or a check and the read it guards, use one answer).
    pub(crate) fn reach(&self, c: &mut DbConnection, who: &Principal) -> Result<Reach, AppError> {
        if who.role != Role::Customer {
            return Ok(Reach::Everything);
        }
        // A customer without an organisation sees nothing: -1 is no id.
        let Some(org) = who.organisation_id else {
            return Ok(Reach::Organisation(-1));
        };
        let sharing: Option<String> = organisations::table
            .find(org)
            .select(organisations::ticket_sharing)
            .first(c)
            .optional()?;
        Ok(match sharing.as_deref().map(TicketSharing::from_str) {
            Some(Ok(TicketSharing::Own)) => Reach::OwnAndWatched {
                organisation: org,
                user: who.user_id,
            },
            _ => Reach::Organisation(org),
        })
    }
}

impl Reach {
    /// Whether a ticket (its row id, organisation and requester) is within reach.
    pub(crate) fn allows(
        self,
        c: &mut DbConnection,
        ticket_id: i64,
        organisation_id: i64,
        requester_id: i64,
    ) -> Result<bool, AppError> {
        let seen = match self {
            Reach::Everything => return Ok(true),
            Reach::Organisation(o) => o == organisation_id,
            Reach::OwnAndWatched { organisation, user } => {
                organisation == organisation_id && (requester_id == user || watches(c, ticket_id, user)?)
            }
        };
        Ok(seen && !staff_only(c, ticket_id)?)
    }
}

/// The types no contact sees.
pub(crate) const STAFF_ONLY_TYPES: [&str; 1] = ["problem"];

/// Whether the ticket is of a type only staff see.
fn staff_only(c: &mut DbConnection, ticket_id: i64) -> Result<bool, AppError> {
    let n: i64 = tickets::table
        .filter(tickets::id.eq(ticket_id))
        .filter(tickets::ticket_type.eq_any(STAFF_ONLY_TYPES))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

/// Whether `user` watches the ticket.
pub(super) fn watches(c: &mut DbConnection, ticket_id: i64, user: i64) -> Result<bool, AppError> {
    let n: i64 = ticket_watchers::table
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .filter(ticket_watchers::user_id.eq(user))
        .count()
        .get_result(c)?;
    Ok(n > 0)
}

/// Narrows a boxed query over tickets (joined to anything) to what is
/// within reach. A macro because each join makes a different boxed type.
macro_rules! within_reach {
    ($q:expr, $reach:expr) => {{
        use $crate::app::tickets::access::Reach;
        use $crate::store::schema::{ticket_watchers, tickets};
        match $reach {
            Reach::Everything => $q,
            Reach::Organisation(o) => $q
                .filter(tickets::organisation_id.eq(o))
                .filter(tickets::ticket_type.ne_all($crate::app::tickets::access::STAFF_ONLY_TYPES)),
            Reach::OwnAndWatched { organisation, user } => $q
                .filter(tickets::organisation_id.eq(organisation))
                .filter(tickets::ticket_type.ne_all($crate::app::tickets::access::STAFF_ONLY_TYPES))
                .filter(
                    tickets::requester_id.eq(user).or(tickets::id.eq_any(
                        ticket_watchers::table
                            .filter(ticket_watchers::user_id.eq(user))
                            .select(ticket_watchers::ticket_id),
                    )),
                ),
        }
    }};
}
pub(in crate::app) use within_reach;
