//! Sign-in throttling, kept in the store so that every server process on
//! one database applies the same limits.
//!
//! A lockout per account lets anyone who knows an address lock its owner
//! out. So failures are counted per account *and client* together: after a
//! few, each further try from that client waits a little longer (doubling
//! up to a quarter of an hour), while the owner, signing in from elsewhere,
//! is not held up. A slower limit per account, counted over every client,
//! caps guessing spread over many addresses; and one client may make only
//! so many attempts in all, whatever the accounts.
//!
//! Unknown accounts are counted exactly like known ones, and a throttled
//! attempt is answered like a wrong password, in the same time: the
//! answers say nothing of whether an account exists.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;

use super::{AppError, naive, utc};
use crate::store::DbConnection;
use crate::store::schema::sign_in_throttles;

/// Failures one client may make on one account before it must wait.
pub const PAIR_FREE_FAILURES: i32 = 3;
/// The longest wait between one client's tries on one account.
pub const PAIR_MAX_DELAY_SECONDS: i64 = 900;
/// A client's failures on an account are forgotten after this long without one.
const PAIR_MEMORY_HOURS: i64 = 24;
/// Failures on one account, from every client together, in an hour.
pub const ACCOUNT_FAILURES_PER_HOUR: i32 = 30;
/// Attempts from one client, on any accounts, in `ADDRESS_WINDOW_MINUTES`.
pub const ADDRESS_ATTEMPTS: i32 = 20;
/// How long failures from one address count against it.
pub const ADDRESS_WINDOW_MINUTES: i64 = 10;
/// The owner is mailed about throttling at most this often.
const NOTICE_HOURS: i64 = 1;

/// One counter's state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Counter {
    pub count: i32,
    pub window_start: DateTime<Utc>,
    pub blocked_until: Option<DateTime<Utc>>,
}

/// How a counter counts: the pure part, tested apart from the store.
#[derive(Debug, Clone, Copy)]
pub enum Rule {
    /// Free tries, then a doubling wait; forgotten after a quiet day.
    Backoff,
    /// So many in a window; then blocked until the window ends.
    Window { most: i32, minutes: i64 },
}

impl Rule {
    /// The counter after one more event at `now`.
    pub fn next(self, old: Option<&Counter>, now: DateTime<Utc>) -> Counter {
        match self {
            Rule::Backoff => {
                let count = match old {
                    Some(o) if now - o.window_start < Duration::hours(PAIR_MEMORY_HOURS) => o.count + 1,
                    _ => 1,
                };
                let blocked_until = (count > PAIR_FREE_FAILURES).then(|| {
                    let doublings = (count - PAIR_FREE_FAILURES - 1).min(20) as u32;
                    now + Duration::seconds((1i64 << doublings).min(PAIR_MAX_DELAY_SECONDS))
                });
                // The memory runs from the latest failure.
                Counter {
                    count,
                    window_start: now,
                    blocked_until,
                }
            }
            Rule::Window { most, minutes } => {
                let window = Duration::minutes(minutes);
                let (count, start) = match old {
                    Some(o) if now - o.window_start < window => (o.count + 1, o.window_start),
                    _ => (1, now),
                };
                Counter {
                    count,
                    window_start: start,
                    blocked_until: (count > most).then_some(start + window),
                }
            }
        }
    }
}

/// The throttle key of one account from one client.
pub fn pair_key(email_key: &str, client: &str) -> String {
    format!("pair:{email_key}|{client}")
}

/// The throttle key of one account, whoever tries it.
pub fn account_key(email_key: &str) -> String {
    format!("account:{email_key}")
}

/// The throttle key of one client address, whatever account it tries.
pub fn address_key(client: &str) -> String {
    format!("address:{client}")
}

type Row = (String, i32, NaiveDateTime, Option<NaiveDateTime>, Option<NaiveDateTime>);

/// A counter and when its owner was last told of it.
type Stored = (Counter, Option<DateTime<Utc>>);

fn load(c: &mut DbConnection, key: &str) -> Result<Option<Stored>, AppError> {
    let row: Option<Row> = sign_in_throttles::table
        .find(key)
        .select((
            sign_in_throttles::key,
            sign_in_throttles::count,
            sign_in_throttles::window_start,
            sign_in_throttles::blocked_until,
            sign_in_throttles::notified_at,
        ))
        .first(c)
        .optional()?;
    Ok(row.map(|(_, count, start, blocked, notified)| {
        (
            Counter {
                count,
                window_start: utc(start),
                blocked_until: blocked.map(utc),
            },
            notified.map(utc),
        )
    }))
}

fn store(c: &mut DbConnection, key: &str, v: &Counter, notified: Option<DateTime<Utc>>) -> Result<(), AppError> {
    diesel::delete(sign_in_throttles::table.find(key)).execute(c)?;
    diesel::insert_into(sign_in_throttles::table)
        .values((
            sign_in_throttles::key.eq(key),
            sign_in_throttles::count.eq(v.count),
            sign_in_throttles::window_start.eq(naive(v.window_start)),
            sign_in_throttles::blocked_until.eq(v.blocked_until.map(naive)),
            sign_in_throttles::notified_at.eq(notified.map(naive)),
        ))
        .execute(c)?;
    Ok(())
}

/// The latest instant until which any of these counters blocks, if later than now.
pub fn blocked(c: &mut DbConnection, keys: &[String], now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>, AppError> {
    let until: Vec<Option<NaiveDateTime>> = sign_in_throttles::table
        .filter(sign_in_throttles::key.eq_any(keys))
        .select(sign_in_throttles::blocked_until)
        .load(c)?;
    Ok(until.into_iter().flatten().map(utc).filter(|u| *u > now).max())
}

/// Counts one attempt from a client; false once it has made too many.
pub fn allow_address(c: &mut DbConnection, client: &str, now: DateTime<Utc>) -> Result<bool, AppError> {
    let key = address_key(client);
    let old = load(c, &key)?;
    let rule = Rule::Window {
        most: ADDRESS_ATTEMPTS,
        minutes: ADDRESS_WINDOW_MINUTES,
    };
    let new = rule.next(old.as_ref().map(|o| &o.0), now);
    store(c, &key, &new, None)?;
    Ok(new.blocked_until.is_none())
}

/// What a failure led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The account is now throttled, until then, for this client or all.
    pub throttled_until: Option<DateTime<Utc>>,
    /// Whether the account-wide limit is what holds (every client waits).
    pub everywhere: bool,
    /// Whether to tell the owner now (at most once an hour).
    pub notify: bool,
}

/// Counts a failed password or code for an account (known or not) from a client.
pub fn record_failure(
    c: &mut DbConnection,
    email_key: &str,
    client: &str,
    now: DateTime<Utc>,
) -> Result<Failure, AppError> {
    let pair = pair_key(email_key, client);
    let old_pair = load(c, &pair)?;
    let new_pair = Rule::Backoff.next(old_pair.as_ref().map(|o| &o.0), now);
    store(c, &pair, &new_pair, None)?;

    let account = account_key(email_key);
    let old_account = load(c, &account)?;
    let notified = old_account.as_ref().and_then(|o| o.1);
    let new_account = Rule::Window {
        most: ACCOUNT_FAILURES_PER_HOUR,
        minutes: 60,
    }
    .next(old_account.as_ref().map(|o| &o.0), now);
    let throttled_until = new_pair.blocked_until.max(new_account.blocked_until);
    let notify = throttled_until.is_some() && notified.is_none_or(|n| now - n >= Duration::hours(NOTICE_HOURS));
    store(c, &account, &new_account, if notify { Some(now) } else { notified })?;
    Ok(Failure {
        throttled_until,
        everywhere: new_account.blocked_until.is_some(),
        notify,
    })
}

/// A client signed in: its failures on the account are forgotten (the
/// account-wide count is not: the window runs out by itself).
pub fn forget_pair(c: &mut DbConnection, email_key: &str, client: &str) -> Result<(), AppError> {
    diesel::delete(sign_in_throttles::table.find(pair_key(email_key, client))).execute(c)?;
    Ok(())
}

/// An admin's help: every counter on the account goes.
pub fn forget_account(c: &mut DbConnection, email_key: &str) -> Result<(), AppError> {
    diesel::delete(sign_in_throttles::table.filter(sign_in_throttles::key.eq(account_key(email_key)))).execute(c)?;
    let prefix = pair_key(email_key, "");
    diesel::delete(
        sign_in_throttles::table.filter(
            sign_in_throttles::key
                .like(format!("{}%", escape_like(&prefix)))
                .escape('\\'),
        ),
    )
    .execute(c)?;
    Ok(())
}

fn escape_like(s: &str) -> String {
    s.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

/// Counters whose every effect has passed (kept a day for the record).
pub fn purge(c: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, AppError> {
    let horizon = naive(now - Duration::hours(PAIR_MEMORY_HOURS + 1));
    Ok(diesel::delete(
        sign_in_throttles::table
            .filter(sign_in_throttles::window_start.lt(horizon))
            .filter(
                sign_in_throttles::blocked_until
                    .is_null()
                    .or(sign_in_throttles::blocked_until.lt(horizon)),
            ),
    )
    .execute(c)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn one_client_gets_free_tries_then_a_doubling_wait_up_to_a_quarter_hour() {
        let mut c = None;
        let mut waits = Vec::new();
        let now = t("2026-11-30T09:00:00Z");
        for _ in 0..16 {
            let n = Rule::Backoff.next(c.as_ref(), now);
            waits.push(n.blocked_until.map(|b| (b - now).num_seconds()).unwrap_or(0));
            c = Some(n);
        }
        assert_eq!(&waits[..8], &[0, 0, 0, 1, 2, 4, 8, 16]);
        assert_eq!(*waits.last().unwrap(), PAIR_MAX_DELAY_SECONDS);
        // A quiet day and it starts again.
        let later = Rule::Backoff.next(c.as_ref(), now + Duration::hours(25));
        assert_eq!(later.count, 1);
        assert_eq!(later.blocked_until, None);
    }

    #[test]
    fn a_window_blocks_until_it_ends_then_counts_afresh() {
        let rule = Rule::Window { most: 3, minutes: 10 };
        let start = t("2026-11-30T09:00:00Z");
        let mut c = None;
        for i in 0..4 {
            c = Some(rule.next(c.as_ref(), start + Duration::minutes(i)));
        }
        let c = c.unwrap();
        assert_eq!(c.count, 4);
        assert_eq!(c.blocked_until, Some(start + Duration::minutes(10)));
        let fresh = rule.next(Some(&c), start + Duration::minutes(10));
        assert_eq!((fresh.count, fresh.blocked_until), (1, None));
    }

    #[test]
    fn keys_keep_accounts_and_clients_apart() {
        assert_ne!(pair_key("a@x", "1.2.3.4"), pair_key("a@x", "1.2.3.5"));
        assert!(pair_key("a@x", "1.2.3.4").starts_with(&pair_key("a@x", "")));
        assert_eq!(escape_like("a_b%c"), "a\\_b\\%c");
    }
}
