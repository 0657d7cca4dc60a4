//! The notifications service: people subscribe by e-mail to the status
//! page's updates, for every service or chosen ones, and confirm by a link
//! (double opt-in) unless the address is a signed-in contact's own. Every
//! public update, and each maintenance notice, is queued in the outbox for
//! each subscriber it concerns, in the transaction that records it, so it
//! is sent once whatever happens to the servers. Each mail carries its
//! subscriber's link to choose services or leave (RFC 8058 one-click).

use super::*;
use crate::app::outbox::{insert_outbox_rows, new_message_id};
use crate::domain::local_time::for_people;
use crate::domain::names::{EmailAddress, email_key};
use crate::store::models::NewOutbox;
use crate::store::schema::{status_subscriber_services, status_subscribers, users};

/// Mails about one address's subscription (confirm, choose) in an hour, at
/// most: a form anyone may post to cannot be made to flood an inbox.
const SUBSCRIPTION_MAILS_PER_HOUR: i64 = 3;

/// What someone gives to subscribe.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubscribeRequest {
    pub email: String,
    /// The services' slugs; absent or empty, every service.
    #[serde(default)]
    pub services: Option<Vec<String>>,
}

/// A subscription as its owner sees it (through its link).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SubscriptionView {
    pub email: String,
    /// False until the link in the confirmation mail is followed.
    pub confirmed: bool,
    /// Every service, or only `services`.
    pub all_services: bool,
    pub services: Vec<String>,
}

/// The link a subscriber manages their subscription by.
fn manage_url(app: &App, token: &str) -> String {
    app.page_url(&format!("/status/subscriptions/{token}"))
}

/// The RFC 8058 one-click address: a POST to it unsubscribes.
fn unsubscribe_url(app: &App, token: &str) -> String {
    app.page_url(&format!("/status/subscriptions/{token}/unsubscribe"))
}

/// A subscriber as stored.
#[derive(Queryable, Selectable)]
#[diesel(table_name = status_subscribers)]
struct Subscriber {
    id: i64,
    email: String,
    token: String,
    all_services: bool,
    confirmed_at: Option<chrono::NaiveDateTime>,
}

fn subscriber_by_token(c: &mut DbConnection, token: &str) -> Result<Subscriber, AppError> {
    status_subscribers::table
        .filter(status_subscribers::token.eq(token))
        .select(Subscriber::as_select())
        .first(c)
        .optional()?
        .ok_or_else(|| AppError::NotFound("this subscription (it may have been cancelled)".into()))
}

/// The subscriber of an address (by its key), if there is one.
fn subscriber_by_email(c: &mut DbConnection, key: &str) -> Result<Option<Subscriber>, AppError> {
    Ok(status_subscribers::table
        .filter(status_subscribers::email.eq(key))
        .select(Subscriber::as_select())
        .first(c)
        .optional()?)
}

fn view_of(c: &mut DbConnection, row: &Subscriber) -> Result<SubscriptionView, AppError> {
    let services: Vec<String> = status_subscriber_services::table
        .inner_join(services::table)
        .filter(status_subscriber_services::subscriber_id.eq(row.id))
        .order((services::position, services::id))
        .select(services::slug)
        .load(c)?;
    Ok(SubscriptionView {
        email: row.email.clone(),
        confirmed: row.confirmed_at.is_some(),
        all_services: row.all_services,
        services,
    })
}

/// Replaces a subscriber's chosen services (none: every service).
fn set_services(c: &mut DbConnection, id: i64, services: &[i64]) -> Result<(), AppError> {
    diesel::delete(status_subscriber_services::table.filter(status_subscriber_services::subscriber_id.eq(id)))
        .execute(c)?;
    // One row each (at most 200): a multi-row insert is not portable here.
    for service in services {
        diesel::insert_into(status_subscriber_services::table)
            .values((
                status_subscriber_services::subscriber_id.eq(id),
                status_subscriber_services::service_id.eq(*service),
            ))
            .execute(c)?;
    }
    diesel::update(status_subscribers::table.find(id))
        .set(status_subscribers::all_services.eq(services.is_empty()))
        .execute(c)?;
    Ok(())
}

/// The chosen services' ids (every service when none are named).
fn chosen(c: &mut DbConnection, services: &Option<Vec<String>>) -> Result<Vec<i64>, AppError> {
    match services {
        Some(list) if !list.is_empty() => {
            if list.len() > 200 {
                return Err(invalid("services", "at most 200"));
            }
            service_ids(c, "services", list)
        }
        _ => Ok(Vec::new()),
    }
}

/// What one outage notice says, for every subscriber alike.
pub(super) struct Notice<'a> {
    pub outage: &'a OutageView,
    /// "Identified", "Scheduled", "Reminder: starts within 24 hours", …
    pub headline: &'a str,
    pub body: &'a str,
}

impl App {
    /// The organisations (of `affected`; `None`: every active one) whose
    /// policy asks more notice of planned maintenance than `told` gives
    /// before `start`: it will count against their availability. One
    /// sentence naming them, or nothing.
    pub(super) fn short_notice(
        &self,
        c: &mut DbConnection,
        affected: Option<&[i64]>,
        start: DateTime<Utc>,
        told: DateTime<Utc>,
    ) -> Result<Vec<String>, AppError> {
        let mut q = organisations::table
            .filter(organisations::status.eq("active"))
            .select((organisations::slug, organisations::tier))
            .order(organisations::slug)
            .into_boxed();
        if let Some(ids) = affected {
            q = q.filter(organisations::id.eq_any(ids.to_vec()));
        }
        let given = start - told;
        let month = Month::containing(start);
        let short: Vec<String> = q
            .load::<(String, String)>(c)?
            .into_iter()
            .filter_map(|(slug, tier)| {
                let notice = self.maintenance_notice(&tier, month);
                (given < notice).then(|| format!("{slug} ({tier}: {} days)", notice.num_days()))
            })
            .collect();
        if short.is_empty() {
            return Ok(Vec::new());
        }
        let hours = given.num_hours().max(0);
        Ok(vec![format!(
            "announced {} ahead, less than the notice their policy asks, so it will count against the availability of {}",
            if hours >= 48 {
                format!("{} days", hours / 24)
            } else {
                format!("{hours} hours")
            },
            short.join(", ")
        )])
    }

    /// Subscribes an address to the status page's updates. Anyone may
    /// while the page is public; a signed-in user subscribing their own
    /// address is confirmed at once, anyone else is sent a link to confirm
    /// (an address already subscribed is sent its link to choose again).
    /// Answers the same whether the address was known or not; returns
    /// whether it is confirmed now.
    pub fn subscribe_to_status(
        &self,
        viewer: Option<&Principal>,
        req: SubscribeRequest,
        now: DateTime<Utc>,
    ) -> Result<bool, AppError> {
        self.status_reader(viewer)?;
        let email = EmailAddress::parse(&req.email).map_err(|e| invalid("email", e.to_string()))?;
        let key = email_key(email.as_str());
        let mut conn = self.conn()?;
        conn.write(|c| {
            let services = chosen(c, &req.services)?;
            let own = match viewer {
                Some(p) if email_key(&p.email) == key => Some(p.user_id).filter(|id| *id > 0),
                _ => None,
            };
            let row = match subscriber_by_email(c, &key)? {
                Some(row) => {
                    // The owner (signed in) changes their choice here; from
                    // the public form only a pending choice is replaced, and
                    // a confirmed one is left for its owner to change.
                    if own.is_some() || row.confirmed_at.is_none() {
                        set_services(c, row.id, &services)?;
                    }
                    row
                }
                None => {
                    diesel::insert_into(status_subscribers::table)
                        .values((
                            status_subscribers::email.eq(&key),
                            status_subscribers::token.eq(crate::app::sessions::random_token(24)),
                            status_subscribers::all_services.eq(services.is_empty()),
                            status_subscribers::user_id.eq(own),
                            status_subscribers::created_at.eq(naive(now)),
                        ))
                        .execute(c)?;
                    let row = subscriber_by_email(c, &key)?
                        .ok_or_else(|| AppError::internal("a subscriber just inserted"))?;
                    set_services(c, row.id, &services)?;
                    row
                }
            };
            if let Some(user) = own {
                diesel::update(status_subscribers::table.find(row.id))
                    .set((
                        status_subscribers::confirmed_at.eq(row.confirmed_at.unwrap_or(naive(now))),
                        status_subscribers::user_id.eq(Some(user)),
                    ))
                    .execute(c)?;
                return Ok(true);
            }
            let recent: i64 = outbox::table
                .filter(outbox::kind.eq("status_confirm"))
                .filter(outbox::to_address.eq(&key))
                .filter(outbox::created_at.gt(naive(now - chrono::Duration::hours(1))))
                .count()
                .get_result(c)?;
            if recent < SUBSCRIPTION_MAILS_PER_HOUR {
                let context = serde_json::json!({
                    "email": key,
                    "confirmed": row.confirmed_at.is_some(),
                    "manage_url": manage_url(self, &row.token),
                    "status_url": self.page_url("/status"),
                })
                .to_string();
                insert_outbox_rows(
                    c,
                    &[NewOutbox {
                        ticket_id: None,
                        kind: "status_confirm",
                        to_address: &key,
                        message_id: &new_message_id("status", "confirm"),
                        in_reply_to: None,
                        context,
                        created_at: naive(now),
                        next_attempt_at: naive(now),
                    }],
                )?;
            }
            Ok(row.confirmed_at.is_some())
        })
    }

    /// A subscription, by the token in its links. Reading writes nothing.
    pub fn status_subscription(&self, token: &str) -> Result<SubscriptionView, AppError> {
        let mut conn = self.conn()?;
        let row = subscriber_by_token(&mut conn, token)?;
        view_of(&mut conn, &row)
    }

    /// Confirms a subscription (its owner followed the link) and, if
    /// `services` is given, replaces its choice (empty: every service).
    pub fn confirm_status_subscription(
        &self,
        token: &str,
        services: Option<Vec<String>>,
        now: DateTime<Utc>,
    ) -> Result<SubscriptionView, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let row = subscriber_by_token(c, token)?;
            if services.is_some() {
                let ids = chosen(c, &services)?;
                set_services(c, row.id, &ids)?;
            }
            if row.confirmed_at.is_none() {
                diesel::update(status_subscribers::table.find(row.id))
                    .set(status_subscribers::confirmed_at.eq(Some(naive(now))))
                    .execute(c)?;
            }
            let row = subscriber_by_token(c, token)?;
            view_of(c, &row)
        })
    }

    /// Ends a subscription and forgets the address. Whether there was one.
    pub fn unsubscribe_from_status(&self, token: &str) -> Result<bool, AppError> {
        let mut conn = self.conn()?;
        conn.write(|c| {
            let Some(id) = status_subscribers::table
                .filter(status_subscribers::token.eq(token))
                .select(status_subscribers::id)
                .first::<i64>(c)
                .optional()?
            else {
                return Ok(false);
            };
            diesel::delete(status_subscriber_services::table.filter(status_subscriber_services::subscriber_id.eq(id)))
                .execute(c)?;
            diesel::delete(status_subscribers::table.find(id)).execute(c)?;
            Ok(true)
        })
    }

    /// A signed-in user's own subscription, if they have one.
    pub fn my_status_subscription(&self, who: &Principal) -> Result<Option<(String, SubscriptionView)>, AppError> {
        let mut conn = self.conn()?;
        let c = &mut *conn;
        match subscriber_by_email(c, &email_key(&who.email))? {
            Some(r) => Ok(Some((r.token.clone(), view_of(c, &r)?))),
            None => Ok(None),
        }
    }

    /// Queues `notice` for every confirmed subscriber it concerns, in the
    /// caller's transaction: those of a service the outage touches (or of
    /// every service); for an outage of the whole platform on no service,
    /// everyone; for one recorded for named customers alone, only those
    /// customers' own contacts. Returns how many were queued.
    pub(super) fn queue_status_notice(
        &self,
        c: &mut DbConnection,
        notice: &Notice<'_>,
        now: DateTime<Utc>,
    ) -> Result<usize, AppError> {
        let o = notice.outage;
        if o.draft {
            return Ok(0);
        }
        let service_ids: Vec<i64> = outage_services::table
            .filter(outage_services::outage_id.eq(o.id))
            .select(outage_services::service_id)
            .load(c)?;
        let confirmed = status_subscribers::table
            .filter(status_subscribers::confirmed_at.is_not_null())
            .into_boxed();
        let to: Vec<(String, String)> = if !service_ids.is_empty() {
            let chose = status_subscriber_services::table
                .filter(status_subscriber_services::service_id.eq_any(&service_ids))
                .select(status_subscriber_services::subscriber_id);
            confirmed
                .filter(
                    status_subscribers::all_services
                        .eq(true)
                        .or(status_subscribers::id.eq_any(chose)),
                )
                .select((status_subscribers::email, status_subscribers::token))
                .load(c)?
        } else if matches!(o.organisations, Affected::All(_)) {
            confirmed
                .select((status_subscribers::email, status_subscribers::token))
                .load(c)?
        } else {
            let orgs = outage_organisations::table
                .filter(outage_organisations::outage_id.eq(o.id))
                .select(outage_organisations::organisation_id.nullable());
            let contacts = users::table
                .filter(users::organisation_id.eq_any(orgs))
                .select(users::id.nullable());
            confirmed
                .filter(status_subscribers::user_id.eq_any(contacts))
                .select((status_subscribers::email, status_subscribers::token))
                .load(c)?
        };
        if to.is_empty() {
            return Ok(0);
        }
        let kind: OutageKind = o.kind.parse().map_err(AppError::internal)?;
        let services: Vec<&str> = o.services.iter().map(|s| s.name.as_str()).collect();
        let title = super::status::kind_title(&o.kind);
        let name = if services.is_empty() {
            title.to_string()
        } else {
            format!("{title}: {}", services.join(", "))
        };
        let zone = chrono_tz::Europe::London;
        let base = serde_json::json!({
            "outage_name": name,
            "headline": notice.headline,
            "body": notice.body,
            "maintenance": !matches!(kind, OutageKind::PlatformIssue),
            "start": for_people(o.start, zone),
            "end": o.end.map(|e| for_people(e, zone)),
            "status_url": self.page_url(&format!("/status#outage-{}", o.id)),
        });
        let ids: Vec<String> = to.iter().map(|_| new_message_id("status", "update")).collect();
        let contexts: Vec<String> = to
            .iter()
            .map(|(_, token)| {
                let mut ctx = base.clone();
                ctx["manage_url"] = manage_url(self, token).into();
                ctx["unsubscribe_url"] = unsubscribe_url(self, token).into();
                ctx.to_string()
            })
            .collect();
        let rows: Vec<NewOutbox> = to
            .iter()
            .zip(ids.iter().zip(contexts))
            .map(|((email, _), (id, context))| NewOutbox {
                ticket_id: None,
                kind: "status_update",
                to_address: email,
                message_id: id,
                in_reply_to: None,
                context,
                created_at: naive(now),
                next_attempt_at: naive(now),
            })
            .collect();
        insert_outbox_rows(c, &rows)?;
        Ok(rows.len())
    }
}
