//! Durations as written in SLA policies: `15m`, `1h`, `2h30m`, `1bd`,
//! `1bd4h`, `none`. A business day (`bd`) means the standard working day of
//! the calendar the duration is measured on, so it becomes seconds only once
//! that calendar is known.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A target as written: no target, or business days plus hours and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum BusinessDuration {
    None,
    Span { business_days: u32, seconds: u64 },
}

/// Text that is not a duration such as `15m`, `2h30m`, `1bd` or `none`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("expected a duration such as 15m, 1h, 2h30m, 1bd or none, found '{0}'")]
pub struct DurationSyntax(pub String);

impl FromStr for BusinessDuration {
    type Err = DurationSyntax;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DurationSyntax(s.to_string());
        let text = s.trim();
        if text == "none" {
            return Ok(BusinessDuration::None);
        }
        let mut rest = text;
        let mut days: u32 = 0;
        let mut seconds: u64 = 0;
        // Units must come in this order, each at most once.
        let units: [(&str, u64); 3] = [("bd", 0), ("h", 3600), ("m", 60)];
        let mut next_unit = 0;
        let mut any = false;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 || digits > 6 {
                return Err(err());
            }
            let n: u64 = rest[..digits].parse().map_err(|_| err())?;
            rest = &rest[digits..];
            let pos = units[next_unit..]
                .iter()
                .position(|(u, _)| rest.starts_with(u))
                .ok_or_else(err)?;
            let (unit, mult) = units[next_unit + pos];
            rest = &rest[unit.len()..];
            next_unit += pos + 1;
            if unit == "bd" {
                days = n as u32;
            } else {
                seconds += n * mult;
            }
            any = true;
        }
        if !any || (days == 0 && seconds == 0) {
            return Err(err());
        }
        Ok(BusinessDuration::Span {
            business_days: days,
            seconds,
        })
    }
}

impl BusinessDuration {
    /// Seconds of business time on a calendar whose business day is `day_seconds` long.
    pub fn to_seconds(self, day_seconds: i64) -> Option<i64> {
        match self {
            BusinessDuration::None => None,
            BusinessDuration::Span { business_days, seconds } => {
                Some(business_days as i64 * day_seconds + seconds as i64)
            }
        }
    }
}

impl fmt::Display for BusinessDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            BusinessDuration::None => f.write_str("none"),
            BusinessDuration::Span { business_days, seconds } => {
                if business_days > 0 {
                    write!(f, "{business_days}bd")?;
                }
                let (h, m) = (seconds / 3600, seconds % 3600 / 60);
                if h > 0 {
                    write!(f, "{h}h")?;
                }
                if m > 0 {
                    write!(f, "{m}m")?;
                }
                Ok(())
            }
        }
    }
}

/// Business seconds as people read them, whole business days counted in
/// the calendar's standard working day (`day_seconds`) and named as such:
/// "1 business day 4 h 30 min" on an 8.5 h calendar means 13 h of opening
/// hours, not 28 h of the clock. On a 24x7 calendar a day is a day: "1 day
/// 4 h 30 min". Under an hour, minutes and seconds: "3 min 20 s".
pub fn business_text(secs: i64, day_seconds: i64) -> String {
    let s = secs.unsigned_abs() as i64;
    let day = day_seconds.max(1);
    let (d, rest) = (s / day, s % day);
    let (h, m, sec) = (rest / 3600, (rest % 3600) / 60, rest % 60);
    let unit = if day >= 86_400 { "day" } else { "business day" };
    if d > 0 {
        let days = format!("{d} {unit}{}", if d == 1 { "" } else { "s" });
        match (h, m) {
            (0, 0) => days,
            (0, m) => format!("{days} {m} min"),
            (h, 0) => format!("{days} {h} h"),
            (h, m) => format!("{days} {h} h {m:02} min"),
        }
    } else if h > 0 {
        format!("{h} h {m:02} min")
    } else if m > 0 {
        format!("{m} min {sec:02} s")
    } else {
        format!("{sec} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_policy_forms() {
        let p = |s: &str| s.parse::<BusinessDuration>().map(|d| d.to_seconds(570 * 60));
        assert_eq!(p("15m"), Ok(Some(900)));
        assert_eq!(p("1h"), Ok(Some(3600)));
        assert_eq!(p("2h30m"), Ok(Some(9000)));
        assert_eq!(p("1bd"), Ok(Some(34_200)));
        assert_eq!(p("3bd"), Ok(Some(102_600)));
        assert_eq!(p("1bd4h"), Ok(Some(34_200 + 14_400)));
        assert_eq!(p("none"), Ok(None));
        for bad in [
            "", "0m", "1", "h", "30m2h", "1h1h", "1d", "1.5h", "-1h", "1 h", "9999999m",
        ] {
            assert!(p(bad).is_err(), "{bad:?} should be rejected");
        }
    }

    #[test]
    fn displays_as_written() {
        for s in ["15m", "1h", "2h30m", "1bd", "1bd4h", "none"] {
            assert_eq!(s.parse::<BusinessDuration>().unwrap().to_string(), s);
        }
    }

    #[test]
    fn business_time_names_its_days_as_the_calendar_counts_them() {
        let silver = 9 * 3600 + 1800; // 08:00 to 17:30
        assert_eq!(
            business_text(silver + 4 * 3600 + 1800, silver),
            "1 business day 4 h 30 min"
        );
        assert_eq!(business_text(2 * silver, silver), "2 business days");
        assert_eq!(business_text(28 * 3600 + 1800, 86_400), "1 day 4 h 30 min");
        assert_eq!(business_text(2 * 3600 + 300, silver), "2 h 05 min");
        assert_eq!(business_text(200, silver), "3 min 20 s");
        assert_eq!(business_text(-45, silver), "45 s");
    }
}

/// The most time one entry may record: a day.
pub const MAX_MINUTES_SPENT: u32 = 24 * 60;

/// Time spent as staff write it: `45m`, `1h`, `1h30m`, or minutes alone
/// (`90`); whole minutes, 1 minute to 24 hours.
pub fn minutes_spent(text: &str) -> Result<u32, String> {
    let t = text.trim();
    let bad = || format!("expected time spent such as 45m, 1h30m or 90 (minutes), up to 24h; found '{t}'");
    let seconds = if !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()) {
        t.parse::<u64>().map_err(|_| bad())?.checked_mul(60).ok_or_else(bad)?
    } else {
        match t.parse::<BusinessDuration>() {
            Ok(BusinessDuration::Span {
                business_days: 0,
                seconds,
            }) => seconds,
            _ => return Err(bad()),
        }
    };
    let minutes = seconds / 60;
    if minutes == 0 || minutes > MAX_MINUTES_SPENT as u64 {
        return Err(bad());
    }
    Ok(minutes as u32)
}

#[cfg(test)]
mod minutes_spent_tests {
    use super::*;

    #[test]
    fn time_spent_reads_as_staff_write_it() {
        for (text, minutes) in [
            ("45m", 45),
            ("1h", 60),
            ("1h30m", 90),
            ("90", 90),
            (" 2h ", 120),
            ("24h", 1440),
        ] {
            assert_eq!(minutes_spent(text), Ok(minutes), "{text}");
        }
        for text in [
            "",
            "0",
            "0m",
            "1bd",
            "25h",
            "1441",
            "-5",
            "1.5h",
            "ten",
            "99999999999999999999",
        ] {
            assert!(minutes_spent(text).is_err(), "{text}");
        }
    }
}
