//! A local wall-clock time made an instant, with the choice at a clock
//! change named at every call (as jiff's `Disambiguation` does): in the
//! spring gap a local time does not exist; in the autumn fold it happens
//! twice. Calendars read such times by RFC 5545 (`Compatible`); a person
//! typing a time into a form is asked to give another (`Reject`).

use chrono::{DateTime, Duration, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// What to do with a local time a clock change makes missing or double.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Disambiguation {
    /// RFC 5545: a skipped time is read with the offset in force before the
    /// gap (so 01:30 on the spring-forward night in London is 02:30 BST); a
    /// repeated time is the first of the two.
    Compatible,
    /// Neither guessed: the caller is told which it was.
    Reject,
}

/// Why a local time names no single instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    #[error("the time does not exist there (the clocks go forward)")]
    Skipped,
    #[error("the time happens twice there (the clocks go back)")]
    Repeated,
}

/// The instant a wall-clock time names in `tz`, choosing at a clock change as
/// `d` says.
///
/// ```
/// use chrono::{DateTime, NaiveDateTime, Utc};
/// use chrono_tz::Europe::London;
/// use sladesk::domain::local_time::{Disambiguation, LocalTimeError, local_instant};
///
/// let local = |s: &str| s.parse::<NaiveDateTime>().unwrap();
/// let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
///
/// // 01:30 on 29 March 2026 does not exist in London: the clocks go from
/// // 01:00 GMT to 02:00 BST. A calendar reads it with the offset before
/// // the gap (RFC 5545); a form asks for another time.
/// let gap = local("2026-03-29T01:30:00");
/// assert_eq!(local_instant(London, gap, Disambiguation::Compatible), Ok(t("2026-03-29T01:30:00Z")));
/// assert_eq!(local_instant(London, gap, Disambiguation::Reject), Err(LocalTimeError::Skipped));
///
/// // 01:30 on 25 October 2026 happens twice: the first is BST.
/// let fold = local("2026-10-25T01:30:00");
/// assert_eq!(local_instant(London, fold, Disambiguation::Compatible), Ok(t("2026-10-25T00:30:00Z")));
/// assert_eq!(local_instant(London, fold, Disambiguation::Reject), Err(LocalTimeError::Repeated));
/// ```
pub fn local_instant(tz: Tz, local: NaiveDateTime, d: Disambiguation) -> Result<DateTime<Utc>, LocalTimeError> {
    match (tz.from_local_datetime(&local), d) {
        (LocalResult::Single(t), _) => Ok(t.with_timezone(&Utc)),
        (_, Disambiguation::Compatible) => Ok(compatible(tz, local)),
        (LocalResult::Ambiguous(..), Disambiguation::Reject) => Err(LocalTimeError::Repeated),
        (LocalResult::None, Disambiguation::Reject) => Err(LocalTimeError::Skipped),
    }
}

/// `Disambiguation::Compatible`, which always has an answer.
pub fn compatible(tz: Tz, local: NaiveDateTime) -> DateTime<Utc> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.with_timezone(&Utc),
        LocalResult::None => {
            // The offset in force shortly before the gap (no zone has two
            // changes within six hours).
            let before = local - Duration::hours(6);
            let offset = match tz.from_local_datetime(&before) {
                LocalResult::Single(t) | LocalResult::Ambiguous(t, _) => t.timestamp() - before.and_utc().timestamp(),
                LocalResult::None => 0,
            };
            DateTime::from_timestamp(local.and_utc().timestamp() + offset, 0).unwrap_or(DateTime::<Utc>::MAX_UTC)
        }
    }
}

/// An instant as people read it in a time zone: "09:00 on Monday 29 December 2026".
pub fn for_people(t: DateTime<Utc>, tz: Tz) -> String {
    t.with_timezone(&tz).format("%H:%M on %A %-d %B %Y").to_string()
}

/// As [`for_people`], in a person's own zone (their user setting), naming
/// the zone unless it is the desk's own: "04:00 on Tuesday 29 December
/// 2026 (America/New_York)".
pub fn for_person(t: DateTime<Utc>, zone: &str) -> String {
    match zone.parse::<Tz>() {
        Ok(tz) if tz != chrono_tz::Europe::London => format!("{} ({})", for_people(t, tz), tz.name()),
        _ => for_people(t, chrono_tz::Europe::London),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn due_instants_read_as_people_say_them() {
        let t: DateTime<Utc> = "2026-12-29T09:00:00Z".parse().unwrap();
        assert_eq!(
            for_people(t, chrono_tz::Europe::London),
            "09:00 on Tuesday 29 December 2026"
        );
        let bst: DateTime<Utc> = "2027-05-04T07:30:00Z".parse().unwrap();
        assert_eq!(
            for_people(bst, chrono_tz::Europe::London),
            "08:30 on Tuesday 4 May 2027"
        );
    }

    #[test]
    fn a_persons_own_zone_is_named_unless_it_is_the_desks() {
        let t: DateTime<Utc> = "2026-12-29T09:00:00Z".parse().unwrap();
        assert_eq!(for_person(t, "Europe/London"), "09:00 on Tuesday 29 December 2026");
        assert_eq!(
            for_person(t, "America/New_York"),
            "04:00 on Tuesday 29 December 2026 (America/New_York)"
        );
        assert_eq!(for_person(t, "not a zone"), "09:00 on Tuesday 29 December 2026");
    }

    use chrono_tz::Europe::London;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    #[test]
    fn the_spring_gap_and_the_autumn_fold_in_london() {
        use Disambiguation::*;
        // 29 March 2026: 01:00 GMT becomes 02:00 BST; 01:30 never happens.
        assert_eq!(
            local_instant(London, local("2026-03-29 01:30"), Reject),
            Err(LocalTimeError::Skipped)
        );
        assert_eq!(
            local_instant(London, local("2026-03-29 01:30"), Compatible),
            Ok(utc("2026-03-29T01:30:00Z"))
        );
        // 25 October 2026: 01:30 happens in BST, then again in GMT.
        assert_eq!(
            local_instant(London, local("2026-10-25 01:30"), Reject),
            Err(LocalTimeError::Repeated)
        );
        assert_eq!(
            local_instant(London, local("2026-10-25 01:30"), Compatible),
            Ok(utc("2026-10-25T00:30:00Z"))
        );
        // An ordinary time is the same either way.
        for d in [Reject, Compatible] {
            assert_eq!(
                local_instant(London, local("2026-07-01 09:00"), d),
                Ok(utc("2026-07-01T08:00:00Z"))
            );
        }
    }
}
