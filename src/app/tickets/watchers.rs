//! Watchers: contacts of a ticket's organisation, beside its requester,
//! who hear of its public changes and (under `own` sharing) may see it.
//! They come from the Cc of a customer's mail or are added by staff or the
//! requester; never from outside the ticket's organisation. Each addition
//! and removal is audited.

use super::*;
use crate::store::schema::ticket_watchers;

/// At most this many watchers on one ticket: each is a mail per change.
pub const MAX_WATCHERS: i64 = 50;

/// Whether mail from `domain` is `org`'s contacts' (one of its mail
/// domains, and its contract not ended): the rule for making a contact of
/// an unknown sender, and a watcher of a Cc'd address.
pub(in crate::app) fn takes_mail_from(org: &Organisation, domain: &str) -> bool {
    org.status != "terminated"
        && org
            .email_domains
            .split(',')
            .any(|d| !d.is_empty() && d.eq_ignore_ascii_case(domain))
}

/// One watcher, as the ticket shows them (in the order they were added,
/// to the second).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WatcherView {
    pub email: String,
    pub name: String,
    /// `cc` (on a customer's mail), `staff` or `requester`: who added them.
    pub source: String,
    pub added_at: DateTime<Utc>,
}

/// A watcher to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddWatcher {
    /// A contact of the ticket's organisation, or an address at one of its
    /// mail domains (a contact is then made for it).
    pub email: String,
}

/// The ticket a watcher change is about: row id, organisation, requester.
struct Watched {
    id: i64,
    organisation: Organisation,
    requester_id: i64,
}

impl App {
    fn watched(&self, c: &mut DbConnection, who: &Principal, reference: &str) -> Result<Watched, AppError> {
        let id = self.visible_ticket_id(c, who, reference)?;
        let (organisation, requester_id): (Organisation, i64) = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::id.eq(id))
            .select((Organisation::as_select(), tickets::requester_id))
            .first(c)?;
        Ok(Watched {
            id,
            organisation,
            requester_id,
        })
    }

    /// A ticket's watchers, for anyone who may see the ticket.
    pub fn ticket_watchers(&self, who: &Principal, reference: &str) -> Result<Vec<WatcherView>, AppError> {
        let mut conn = self.conn()?;
        let id = self.visible_ticket_id(&mut conn, who, reference)?;
        watchers_of(&mut conn, id)
    }

    /// Adds a watcher: staff, or the ticket's requester. Adding someone who
    /// already watches changes nothing.
    pub fn add_watcher(
        &self,
        who: &Principal,
        reference: &str,
        req: AddWatcher,
        now: DateTime<Utc>,
    ) -> Result<Vec<WatcherView>, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let t = self.watched(c, who, reference)?;
            let source = match who.role {
                Role::Customer if who.user_id == t.requester_id => "requester",
                Role::Customer => {
                    return Err(AppError::Forbidden(
                        "only the ticket's requester may add watchers".into(),
                    ));
                }
                _ => "staff",
            };
            let address = req.email.trim();
            let user = self
                .watcher_for(c, &t.organisation, address, who, now)?
                .map_err(|why| invalid("email", why))?;
            if user.id == t.requester_id {
                return Err(invalid(
                    "email",
                    format!("{address} raised this ticket and hears of it already"),
                ));
            }
            watch(c, who, t.id, reference, &user, source, now)?;
            watchers_of(c, t.id)
        })
    }

    /// Removes a watcher: staff, the requester, or the watcher themselves.
    pub fn remove_watcher(
        &self,
        who: &Principal,
        reference: &str,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<WatcherView>, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let t = self.watched(c, who, reference)?;
            let not_watching = || AppError::NotFound(format!("watcher {email} on ticket {reference}"));
            let user = self.user_by_email(c, email).map_err(|_| not_watching())?;
            let allowed = who.role.is_staff() || who.user_id == t.requester_id || who.user_id == user.id;
            if !allowed {
                return Err(AppError::Forbidden(
                    "only staff, the requester or the watcher may remove a watcher".into(),
                ));
            }
            let gone = diesel::delete(
                ticket_watchers::table
                    .filter(ticket_watchers::ticket_id.eq(t.id))
                    .filter(ticket_watchers::user_id.eq(user.id)),
            )
            .execute(c)?;
            if gone == 0 {
                return Err(not_watching());
            }
            audit(
                c,
                who,
                "ticket.watcher.remove",
                &format!("ticket:{}", parse_reference(reference)?),
                Some(&user.email),
                now,
            )?;
            watchers_of(c, t.id)
        })
    }

    /// The contact `address` names for a ticket of `org`: a contact of it,
    /// or one made for an address at its mail domain (the rule mail from
    /// unknown senders follows); `Err(why)` for anyone else, in words that
    /// say nothing of other organisations.
    fn watcher_for(
        &self,
        c: &mut DbConnection,
        org: &Organisation,
        address: &str,
        who: &Principal,
        now: DateTime<Utc>,
    ) -> Result<Result<User, String>, AppError> {
        let refused = || Err(format!("{address} is not a contact of {}", org.name));
        if crate::domain::names::EmailAddress::parse(address).is_err() {
            return Ok(Err(format!("'{address}' is not a mail address")));
        }
        if let Ok(u) = self.user_by_email(c, address) {
            let contact = u.role == "customer" && !u.disabled && u.organisation_id == Some(org.id);
            return Ok(if contact { Ok(u) } else { refused() });
        }
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        if !takes_mail_from(org, domain) {
            return Ok(refused());
        }
        Ok(Ok(self.add_contact(
            c,
            address,
            None,
            org,
            who,
            "user.create_as_watcher",
            now,
        )?))
    }

    /// Makes the Cc'd addresses of a customer's mail on a ticket its
    /// watchers, inside the mail's transaction; returns the addresses
    /// refused with why (not of the ticket's organisation), for a note.
    pub(in crate::app) fn watch_from_cc(
        &self,
        c: &mut DbConnection,
        ticket_id: i64,
        cc: &[String],
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, AppError> {
        let (org, requester_id, reference): (Organisation, i64, String) = tickets::table
            .inner_join(organisations::table)
            .filter(tickets::id.eq(ticket_id))
            .select((Organisation::as_select(), tickets::requester_id, tickets::reference))
            .first(c)?;
        let who = Principal::operator();
        let mut refused = Vec::new();
        for address in cc.iter().take(MAX_WATCHERS as usize) {
            match self.watcher_for(c, &org, address, &who, now)? {
                Ok(u) if u.id == requester_id => {}
                Ok(u) => match watch(c, &who, ticket_id, &reference, &u, "cc", now) {
                    Ok(()) => {}
                    // A full list refuses the rest; the mail still counts.
                    Err(AppError::Invalid { message, .. }) => refused.push(format!("{address} ({message})")),
                    Err(e) => return Err(e),
                },
                Err(why) => refused.push(why),
            }
        }
        Ok(refused)
    }
}

/// A request's approver watches it: they see it whatever their
/// organisation's sharing, hear of it, and their mail to it is taken.
pub(in crate::app) fn watch_as_approver(
    c: &mut DbConnection,
    ticket_id: i64,
    reference: &str,
    approver: &User,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    watch(
        c,
        &Principal::operator(),
        ticket_id,
        reference,
        approver,
        "requester",
        now,
    )
}

/// Adds one watcher (nothing if they watch already), audited.
pub(super) fn watch(
    c: &mut DbConnection,
    who: &Principal,
    ticket_id: i64,
    reference: &str,
    user: &User,
    source: &str,
    now: DateTime<Utc>,
) -> Result<(), AppError> {
    if access::watches(c, ticket_id, user.id)? {
        return Ok(());
    }
    let count: i64 = ticket_watchers::table
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .count()
        .get_result(c)?;
    if count >= MAX_WATCHERS {
        return Err(invalid(
            "email",
            format!("a ticket has at most {MAX_WATCHERS} watchers"),
        ));
    }
    diesel::insert_into(ticket_watchers::table)
        .values((
            ticket_watchers::ticket_id.eq(ticket_id),
            ticket_watchers::user_id.eq(user.id),
            ticket_watchers::source.eq(source),
            ticket_watchers::added_by.eq(who.actor_id()),
            ticket_watchers::added_at.eq(naive(now)),
        ))
        .execute(c)?;
    audit(
        c,
        who,
        "ticket.watcher.add",
        &format!("ticket:{reference}"),
        Some(&format!("{} ({source})", user.email)),
        now,
    )?;
    Ok(())
}

fn watchers_of(c: &mut DbConnection, ticket_id: i64) -> Result<Vec<WatcherView>, AppError> {
    let rows: Vec<(String, String, String, NaiveDateTime)> = ticket_watchers::table
        .inner_join(users::table.on(ticket_watchers::user_id.eq(users::id)))
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .order((ticket_watchers::added_at, users::email))
        .select((
            users::email,
            users::name,
            ticket_watchers::source,
            ticket_watchers::added_at,
        ))
        .load(c)?;
    Ok(rows
        .into_iter()
        .map(|(email, name, source, at)| WatcherView {
            email,
            name,
            source,
            added_at: utc(at),
        })
        .collect())
}

/// The watchers a public change is told to: active contacts still of the
/// ticket's organisation (a contact moved or disabled since hears nothing).
pub(super) fn to_tell(c: &mut DbConnection, ticket_id: i64, organisation_id: i64) -> Result<Vec<User>, AppError> {
    Ok(ticket_watchers::table
        .inner_join(users::table.on(ticket_watchers::user_id.eq(users::id)))
        .filter(ticket_watchers::ticket_id.eq(ticket_id))
        .filter(users::role.eq("customer"))
        .filter(users::disabled.eq(false))
        .filter(users::organisation_id.eq(organisation_id))
        .order(users::id)
        .select(User::as_select())
        .load(c)?)
}
