//! UK bank holidays: computed from the statutory rules and the one-off
//! proclamations since 1990, and overridden per region and year by an import
//! of the official GOV.UK feed.
//!
//! What counts is the day the banks close, listed as GOV.UK lists it: a
//! holiday that falls on a weekend is not listed itself, its substitute
//! weekday is, titled `Christmas Day (substitute day)`. This module reads no
//! file and no clock: callers hand it the feed's text.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

/// The years the rules are written and tested for. Outside them the rules
/// still run, but one-off days that history may add are unknown.
pub const RULES_FIRST_YEAR: i32 = 1990;
/// The last year the rules compute holidays for.
pub const RULES_LAST_YEAR: i32 = 2100;

/// A UK holiday region, as GOV.UK divides them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Region {
    EnglandAndWales,
    Scotland,
    NorthernIreland,
}

impl Region {
    /// Every region, in the order they are listed.
    pub const ALL: [Region; 3] = [Region::EnglandAndWales, Region::Scotland, Region::NorthernIreland];

    /// The region's name as GOV.UK writes it (`england-and-wales`).
    pub fn as_str(self) -> &'static str {
        match self {
            Region::EnglandAndWales => "england-and-wales",
            Region::Scotland => "scotland",
            Region::NorthernIreland => "northern-ireland",
        }
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A region name that is not one of the three.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown holiday region '{0}': expected england-and-wales, scotland or northern-ireland")]
pub struct UnknownRegion(pub String);

impl FromStr for Region {
    type Err = UnknownRegion;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Region::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| UnknownRegion(s.to_string()))
    }
}

/// One day on which the banks of a region close.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Holiday {
    pub date: NaiveDate,
    pub title: String,
}

const SUBSTITUTE: &str = " (substitute day)";

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    // Only called with dates that exist (fixed days of fixed months).
    NaiveDate::from_ymd_opt(y, m, d).expect("fixed calendar date exists")
}

/// Easter Sunday in the Gregorian calendar (the anonymous "Meeus/Jones/Butcher" algorithm).
pub fn easter_sunday(year: i32) -> NaiveDate {
    let a = year % 19;
    let b = year / 100;
    let c = year % 100;
    let d = b / 4;
    let e = b % 4;
    let f = (b + 8) / 25;
    let g = (b - f + 1) / 3;
    let h = (19 * a + b - d - g + 15) % 30;
    let i = c / 4;
    let k = c % 4;
    let l = (32 + 2 * e + 2 * i - h - k) % 7;
    let m = (a + 11 * h + 22 * l) / 451;
    let month = (h + l - 7 * m + 114) / 31;
    let dom = (h + l - 7 * m + 114) % 31 + 1;
    day(year, month as u32, dom as u32)
}

fn first_monday(year: i32, month: u32) -> NaiveDate {
    NaiveDate::from_weekday_of_month_opt(year, month, Weekday::Mon, 1).expect("every month has a Monday")
}

fn last_monday(year: i32, month: u32) -> NaiveDate {
    let first_next = if month == 12 {
        day(year + 1, 1, 1)
    } else {
        day(year, month + 1, 1)
    };
    let mut d = first_next - Duration::days(1);
    while d.weekday() != Weekday::Mon {
        d -= Duration::days(1);
    }
    d
}

fn is_weekend(d: NaiveDate) -> bool {
    matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
}

/// A single fixed-date holiday, moved to the next Monday if it falls on a weekend.
fn fixed_with_substitute(out: &mut Vec<Holiday>, date: NaiveDate, title: &str) {
    if is_weekend(date) {
        let mut d = date;
        while d.weekday() != Weekday::Mon {
            d += Duration::days(1);
        }
        out.push(Holiday {
            date: d,
            title: format!("{title}{SUBSTITUTE}"),
        });
    } else {
        out.push(Holiday {
            date,
            title: title.to_string(),
        });
    }
}

/// Two consecutive fixed-date holidays (Christmas and Boxing Day; Scotland's
/// New Year and 2nd January): each one on a weekend takes the first weekday
/// after it that the other has not taken.
fn pair_with_substitutes(out: &mut Vec<Holiday>, first: (NaiveDate, &str), second: (NaiveDate, &str)) {
    let (d1, t1) = first;
    let (d2, t2) = second;
    match d1.weekday() {
        // Sunday first: Monday is the second holiday's own date, so the
        // first's substitute is Tuesday. GOV.UK lists it so (2012, 2016, 2017).
        Weekday::Sun => {
            out.push(Holiday {
                date: d2,
                title: t2.to_string(),
            });
            out.push(Holiday {
                date: d1 + Duration::days(2),
                title: format!("{t1}{SUBSTITUTE}"),
            });
        }
        Weekday::Sat => {
            out.push(Holiday {
                date: d1 + Duration::days(2),
                title: format!("{t1}{SUBSTITUTE}"),
            });
            out.push(Holiday {
                date: d1 + Duration::days(3),
                title: format!("{t2}{SUBSTITUTE}"),
            });
        }
        Weekday::Fri => {
            out.push(Holiday {
                date: d1,
                title: t1.to_string(),
            });
            out.push(Holiday {
                date: d1 + Duration::days(3),
                title: format!("{t2}{SUBSTITUTE}"),
            });
        }
        _ => {
            out.push(Holiday {
                date: d1,
                title: t1.to_string(),
            });
            out.push(Holiday {
                date: d2,
                title: t2.to_string(),
            });
        }
    }
}

fn push(out: &mut Vec<Holiday>, date: NaiveDate, title: &str) {
    out.push(Holiday {
        date,
        title: title.to_string(),
    });
}

/// Holidays of one region and year from the rules alone, sorted by date.
///
/// ```
/// use sladesk::domain::holidays::{computed, Region};
///
/// // Christmas 2027 falls on a Saturday: both days move to the weekdays after.
/// let titles: Vec<String> = computed(Region::EnglandAndWales, 2027)
///     .into_iter()
///     .filter(|h| h.date.to_string() >= "2027-12-01".to_string())
///     .map(|h| format!("{} {}", h.date, h.title))
///     .collect();
/// assert_eq!(titles, ["2027-12-27 Christmas Day (substitute day)", "2027-12-28 Boxing Day (substitute day)"]);
/// ```
pub fn computed(region: Region, year: i32) -> Vec<Holiday> {
    use Region::*;
    let mut out = Vec::new();

    // January.
    match region {
        Scotland => pair_with_substitutes(
            &mut out,
            (day(year, 1, 1), "New Year’s Day"),
            (day(year, 1, 2), "2nd January"),
        ),
        _ => fixed_with_substitute(&mut out, day(year, 1, 1), "New Year’s Day"),
    }

    if region == NorthernIreland {
        fixed_with_substitute(&mut out, day(year, 3, 17), "St Patrick’s Day");
    }

    let easter = easter_sunday(year);
    push(&mut out, easter - Duration::days(2), "Good Friday");
    if region != Scotland {
        push(&mut out, easter + Duration::days(1), "Easter Monday");
    }

    // Early May: moved to VE Day for its 50th and 75th anniversaries.
    match year {
        1995 => push(&mut out, day(1995, 5, 8), "Early May bank holiday (VE day)"),
        2020 => push(&mut out, day(2020, 5, 8), "Early May bank holiday (VE day)"),
        _ => push(&mut out, first_monday(year, 5), "Early May bank holiday"),
    }
    if year == 2011 {
        push(&mut out, day(2011, 4, 29), "Royal wedding");
    }
    if year == 2023 {
        push(
            &mut out,
            day(2023, 5, 8),
            "Bank holiday for the coronation of King Charles III",
        );
    }

    // Spring: moved for the Golden, Diamond and Platinum Jubilees.
    match year {
        2002 => {
            push(&mut out, day(2002, 6, 3), "Queen’s Golden Jubilee");
            push(&mut out, day(2002, 6, 4), "Spring bank holiday (substitute day)");
        }
        2012 => {
            push(&mut out, day(2012, 6, 4), "Spring bank holiday (substitute day)");
            push(&mut out, day(2012, 6, 5), "Queen’s Diamond Jubilee");
        }
        2022 => {
            push(&mut out, day(2022, 6, 2), "Spring bank holiday");
            push(&mut out, day(2022, 6, 3), "Platinum Jubilee bank holiday");
        }
        _ => push(&mut out, last_monday(year, 5), "Spring bank holiday"),
    }

    if region == NorthernIreland {
        fixed_with_substitute(&mut out, day(year, 7, 12), "Battle of the Boyne (Orangemen’s Day)");
    }

    match region {
        Scotland => push(&mut out, first_monday(year, 8), "Summer bank holiday"),
        _ => push(&mut out, last_monday(year, 8), "Summer bank holiday"),
    }

    if year == 2022 {
        push(
            &mut out,
            day(2022, 9, 19),
            "Bank Holiday for the State Funeral of Queen Elizabeth II",
        );
    }

    // St Andrew's Day became a Scottish bank holiday by the 2007 Act.
    if region == Scotland && year >= 2007 {
        fixed_with_substitute(&mut out, day(year, 11, 30), "St Andrew’s Day");
    }

    pair_with_substitutes(
        &mut out,
        (day(year, 12, 25), "Christmas Day"),
        (day(year, 12, 26), "Boxing Day"),
    );

    if year == 1999 {
        push(&mut out, day(1999, 12, 31), "Millennium celebrations");
    }

    out.sort();
    out
}

/// The holidays in force: rules, with imported years replacing them.
#[derive(Debug, Clone, Default)]
pub struct Holidays {
    imported: BTreeMap<Region, BTreeMap<i32, Vec<Holiday>>>,
}

/// Why a GOV.UK bank-holidays file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImportError {
    #[error("not a GOV.UK bank holidays file: {message} (line {line}, column {column})")]
    Syntax {
        message: String,
        line: usize,
        column: usize,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
}

#[derive(Deserialize)]
struct FeedDivision {
    division: Option<String>,
    events: Vec<FeedEvent>,
}

#[derive(Deserialize)]
struct FeedEvent {
    title: String,
    date: String,
    #[serde(default)]
    notes: String,
    #[allow(dead_code)]
    #[serde(default)]
    bunting: Option<bool>,
}

impl Holidays {
    /// Rules only, no import.
    pub fn from_rules() -> Self {
        Self::default()
    }

    /// Applies a GOV.UK feed: for each region in the file, the years from its
    /// first to its last event replace the computed ones. Nothing is applied
    /// unless the whole file is valid.
    pub fn import_govuk_json(&mut self, text: &str) -> Result<(), ImportError> {
        let raw: BTreeMap<String, FeedDivision> = serde_json::from_str(text).map_err(|e| ImportError::Syntax {
            message: e.to_string(),
            line: e.line(),
            column: e.column(),
        })?;
        if raw.is_empty() {
            return Err(ImportError::Invalid {
                path: "(top level)".into(),
                message: "no region in the file: expected keys england-and-wales, scotland, northern-ireland".into(),
            });
        }
        let mut staged: Vec<(Region, BTreeMap<i32, Vec<Holiday>>)> = Vec::new();
        for (key, division) in raw {
            let region: Region = key.parse().map_err(|e: UnknownRegion| ImportError::Invalid {
                path: key.clone(),
                message: e.to_string(),
            })?;
            if let Some(name) = &division.division
                && name != region.as_str()
            {
                return Err(ImportError::Invalid {
                    path: format!("{key}.division"),
                    message: format!("expected '{key}', found '{name}'"),
                });
            }
            if division.events.is_empty() {
                return Err(ImportError::Invalid {
                    path: format!("{key}.events"),
                    message: "no events".into(),
                });
            }
            let mut by_year: BTreeMap<i32, Vec<Holiday>> = BTreeMap::new();
            let mut seen = BTreeSet::new();
            for (i, ev) in division.events.iter().enumerate() {
                let path = format!("{key}.events[{i}]");
                let date = NaiveDate::parse_from_str(&ev.date, "%Y-%m-%d").map_err(|_| ImportError::Invalid {
                    path: format!("{path}.date"),
                    message: format!("expected a date YYYY-MM-DD, found '{}'", ev.date),
                })?;
                if ev.title.trim().is_empty() {
                    return Err(ImportError::Invalid {
                        path: format!("{path}.title"),
                        message: "empty title".into(),
                    });
                }
                if !seen.insert(date) {
                    return Err(ImportError::Invalid {
                        path: format!("{path}.date"),
                        message: format!("{date} is listed twice"),
                    });
                }
                let title = if ev.notes.eq_ignore_ascii_case("substitute day")
                    && !ev.title.to_ascii_lowercase().contains("substitute")
                {
                    format!("{}{SUBSTITUTE}", ev.title)
                } else {
                    ev.title.clone()
                };
                by_year.entry(date.year()).or_default().push(Holiday { date, title });
            }
            let first = *by_year.keys().next().expect("events not empty");
            let last = *by_year.keys().next_back().expect("events not empty");
            for y in first..=last {
                by_year.entry(y).or_default().sort();
            }
            staged.push((region, by_year));
        }
        for (region, years) in staged {
            self.imported.entry(region).or_default().extend(years);
        }
        Ok(())
    }

    /// Holidays of a region for a year: the imported list if that year was imported, else the rules.
    pub fn for_year(&self, region: Region, year: i32) -> Vec<Holiday> {
        match self.imported.get(&region).and_then(|y| y.get(&year)) {
            Some(list) => list.clone(),
            None => computed(region, year),
        }
    }

    /// Holidays of a region for the years `from..=to`, sorted.
    pub fn list(&self, region: Region, from: i32, to: i32) -> Vec<Holiday> {
        (from..=to).flat_map(|y| self.for_year(region, y)).collect()
    }

    /// Every region's holidays for the years `from..=to` in the GOV.UK feed
    /// format, deterministic byte for byte: importing it into rules-only
    /// holidays gives back exactly these days for those years.
    pub fn to_govuk_json(&self, from: i32, to: i32) -> String {
        let mut out = serde_json::Map::new();
        for region in Region::ALL {
            let events: Vec<serde_json::Value> = self
                .list(region, from, to)
                .into_iter()
                .map(
                    |h| serde_json::json!({"title": h.title, "date": h.date.to_string(), "notes": "", "bunting": true}),
                )
                .collect();
            out.insert(
                region.as_str().to_string(),
                serde_json::json!({"division": region.as_str(), "events": events}),
            );
        }
        serde_json::Value::Object(out).to_string()
    }

    /// The closed dates of a region for the years `from..=to`.
    pub fn dates(&self, region: Region, from: i32, to: i32) -> BTreeSet<NaiveDate> {
        self.list(region, from, to).into_iter().map(|h| h.date).collect()
    }
}

#[cfg(test)]
mod tests;
