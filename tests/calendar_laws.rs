//! The calendar's laws, checked with proptest on the calendars sladesk ships
//! and on awkward ones (a lunch break, weekend hours, another time zone),
//! with instants drawn across years and bunched around BST changes; and the
//! compiled tables checked against a plain minute-by-minute oracle.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use proptest::prelude::*;
use sladesk::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
use sladesk::domain::holidays::{Holidays, Region};
use sladesk::domain::policy::span_dates;

fn iv(s: &str) -> DayInterval {
    DayInterval::parse(s).unwrap()
}

fn specs() -> &'static Vec<(&'static str, CalendarSpec)> {
    static SPECS: OnceLock<Vec<(&'static str, CalendarSpec)>> = OnceLock::new();
    SPECS.get_or_init(|| {
        let h = Holidays::from_rules();
        let london: Tz = chrono_tz::Europe::London;
        let mut lunch = WeeklyHours::weekdays(&[iv("09:00-12:30"), iv("13:30-17:00")]).unwrap();
        lunch.set_day(5, vec![iv("10:00-12:00")]).unwrap();
        // Night shift hours that touch midnight, and a slot inside the hour
        // the clocks skip or repeat.
        let mut odd = WeeklyHours::default();
        odd.set_day(6, vec![iv("00:30-02:30"), iv("22:00-24:00")]).unwrap();
        odd.set_day(0, vec![iv("00:00-06:00"), iv("18:00-24:00")]).unwrap();
        odd.set_day(2, vec![iv("08:00-17:30")]).unwrap();
        vec![
            (
                "silver/england-and-wales",
                CalendarSpec {
                    time_zone: london,
                    hours: WeeklyHours::weekdays(&[iv("08:00-17:30")]).unwrap(),
                    closed_dates: h.dates(Region::EnglandAndWales, 1989, 2101),
                },
            ),
            (
                "lunch/scotland",
                CalendarSpec {
                    time_zone: london,
                    hours: lunch,
                    closed_dates: h.dates(Region::Scotland, 1989, 2101),
                },
            ),
            (
                "24x7",
                CalendarSpec {
                    time_zone: london,
                    hours: WeeklyHours::always(),
                    closed_dates: Default::default(),
                },
            ),
            (
                "24x7-with-holidays",
                CalendarSpec {
                    time_zone: london,
                    hours: WeeklyHours::always(),
                    closed_dates: h.dates(Region::NorthernIreland, 1989, 2101),
                },
            ),
            (
                "odd/london",
                CalendarSpec {
                    time_zone: london,
                    hours: odd.clone(),
                    closed_dates: Default::default(),
                },
            ),
            (
                "odd/new-york",
                CalendarSpec {
                    time_zone: chrono_tz::America::New_York,
                    hours: odd,
                    closed_dates: Default::default(),
                },
            ),
        ]
    })
}

fn calendars() -> &'static Vec<Calendar> {
    static CALS: OnceLock<Vec<Calendar>> = OnceLock::new();
    CALS.get_or_init(|| {
        let (first, last) = span_dates();
        specs().iter().map(|(_, s)| Calendar::compile(s, first, last)).collect()
    })
}

const Y2000: i64 = 946_684_800;
const Y2090: i64 = 3_786_825_600;
const YEAR: i64 = 366 * 86_400;

/// Instants across 2000–2090, a third of them within a day of a BST change
/// and a third within a day of a US one (New York's calendar below: its
/// spring gap swallowed an interval's end, which only a case there finds).
fn instant() -> impl Strategy<Value = i64> {
    prop_oneof![
        Y2000..Y2090,
        (2007i32..2090, prop::bool::ANY, -86_400i64..86_400).prop_map(|(y, spring, off)| {
            // Second Sunday of March or first Sunday of November, 07:00 UTC.
            let (m, nth) = if spring { (3, 2) } else { (11, 1) };
            let mut d = NaiveDate::from_ymd_opt(y, m, 1).unwrap();
            let mut seen = 0;
            loop {
                if d.weekday() == chrono::Weekday::Sun {
                    seen += 1;
                    if seen == nth {
                        break;
                    }
                }
                d = d.succ_opt().unwrap();
            }
            d.and_hms_opt(7, 0, 0).unwrap().and_utc().timestamp() + off
        }),
        (2000i32..2090, prop::bool::ANY, -86_400i64..86_400).prop_map(|(y, spring, off)| {
            // Last Sunday of March or October, 01:00 UTC.
            let m = if spring { 3 } else { 10 };
            let mut d = NaiveDate::from_ymd_opt(y, m, 31).unwrap();
            while d.weekday() != chrono::Weekday::Sun {
                d = d.pred_opt().unwrap();
            }
            d.and_hms_opt(1, 0, 0).unwrap().and_utc().timestamp() + off
        }),
    ]
}

fn duration() -> impl Strategy<Value = i64> {
    prop_oneof![0i64..3600, 0i64..(10 * 86_400), 0i64..YEAR]
}

fn cal_index() -> impl Strategy<Value = usize> {
    0..specs().len()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn between_undoes_add(c in cal_index(), t in instant(), d in duration()) {
        let cal = &calendars()[c];
        let r = cal.add_seconds(t, d).unwrap();
        prop_assert_eq!(cal.between_seconds(t, r).unwrap(), d, "{}: t={} d={}", specs()[c].0, t, d);
    }

    #[test]
    fn add_is_monotonic_in_t_and_d(c in cal_index(), t1 in instant(), dt in 0i64..(5 * 86_400), d1 in duration(), dd in 0i64..86_400) {
        let cal = &calendars()[c];
        prop_assert!(cal.add_seconds(t1, d1).unwrap() <= cal.add_seconds(t1 + dt, d1).unwrap());
        prop_assert!(cal.add_seconds(t1, d1).unwrap() <= cal.add_seconds(t1, d1 + dd).unwrap());
    }

    #[test]
    fn add_composes_for_positive_second_steps(c in cal_index(), t in instant(), d1 in duration(), d2 in 1i64..(20 * 86_400)) {
        let cal = &calendars()[c];
        let whole = cal.add_seconds(t, d1 + d2).unwrap();
        let stepped = cal.add_seconds(cal.add_seconds(t, d1).unwrap(), d2).unwrap();
        prop_assert_eq!(whole, stepped, "{}: t={} d1={} d2={}", specs()[c].0, t, d1, d2);
    }

    #[test]
    fn between_is_additive(c in cal_index(), a in instant(), ab in 0i64..(40 * 86_400), bc in 0i64..(40 * 86_400)) {
        let cal = &calendars()[c];
        let (b, cc) = (a + ab, a + ab + bc);
        prop_assert_eq!(
            cal.between_seconds(a, cc).unwrap(),
            cal.between_seconds(a, b).unwrap() + cal.between_seconds(b, cc).unwrap()
        );
    }

    #[test]
    fn between_is_zero_backwards(c in cal_index(), a in instant(), back in 0i64..YEAR) {
        prop_assert_eq!(calendars()[c].between_seconds(a, a - back).unwrap(), 0);
    }

    #[test]
    fn a_positive_add_ends_just_after_business_time(c in cal_index(), t in instant(), d in 1i64..YEAR) {
        // The result is never in a closed gap's interior: the second before it was open.
        let cal = &calendars()[c];
        let r = cal.add_seconds(t, d).unwrap();
        prop_assert_eq!(cal.between_seconds(r - 1, r).unwrap(), 1);
    }

    #[test]
    fn next_open_is_open_and_nothing_is_skipped(c in cal_index(), t in instant()) {
        let cal = &calendars()[c];
        let at = |s: i64| DateTime::<Utc>::from_timestamp(s, 0).unwrap();
        let n = cal.next_open(at(t)).unwrap().unwrap();
        prop_assert!(cal.is_open(n).unwrap());
        prop_assert_eq!(cal.between_seconds(t, n.timestamp()).unwrap(), 0);
        prop_assert_eq!(cal.add_seconds(t, 0).unwrap(), n.timestamp());
    }

    #[test]
    fn is_open_agrees_with_the_wall_clock(c in cal_index(), t in instant()) {
        prop_assert_eq!(
            calendars()[c].is_open(DateTime::from_timestamp(t, 0).unwrap()).unwrap(),
            oracle_open(&specs()[c].1, t),
            "{} at {}", specs()[c].0, t
        );
    }
}

/// The naive definition: the local wall time of `t` lies in one of its
/// weekday's intervals, on a date that is not closed. Exact wherever local
/// time is unambiguous; our specs put no boundary inside a skipped or
/// repeated hour except in "odd", whose boundary cases the laws cover.
/// Whether `t` falls in one of the week's intervals, worked out afresh for
/// each interval of the days around it: its local bounds made instants by
/// the calendar's stated rule (RFC 5545): a local time the clocks skip is
/// read with the offset in force before the gap, a repeated one as the
/// first. So an interval that ends at 02:30 on the night New York springs
/// forward ends at 03:30 EDT, and the oracle says so too.
fn oracle_open(spec: &CalendarSpec, t: i64) -> bool {
    let tz = spec.time_zone;
    let instant = |date: NaiveDate, secs: u32| -> i64 {
        let local = date.and_hms_opt(0, 0, 0).unwrap() + chrono::Duration::seconds(secs as i64);
        match tz.from_local_datetime(&local) {
            chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => x.timestamp(),
            chrono::LocalResult::None => {
                let before = local - chrono::Duration::hours(6);
                let offset = match tz.from_local_datetime(&before) {
                    chrono::LocalResult::Single(x) | chrono::LocalResult::Ambiguous(x, _) => {
                        x.timestamp() - before.and_utc().timestamp()
                    }
                    chrono::LocalResult::None => 0,
                };
                local.and_utc().timestamp() + offset
            }
        }
    };
    let today = tz.timestamp_opt(t, 0).unwrap().date_naive();
    [today.pred_opt().unwrap(), today, today.succ_opt().unwrap()]
        .into_iter()
        .filter(|d| !spec.closed_dates.contains(d))
        .any(|d| {
            let wd = d.weekday().num_days_from_monday() as usize;
            spec.hours.day(wd).iter().any(|iv| {
                let (a, b) = interval_bounds(iv);
                instant(d, a) <= t && t < instant(d, b)
            })
        })
}

fn interval_bounds(iv: &DayInterval) -> (u32, u32) {
    let text = iv.to_string();
    let p = |x: &str| {
        let (h, m) = x.split_once(':').unwrap();
        h.parse::<u32>().unwrap() * 3600 + m.parse::<u32>().unwrap() * 60
    };
    let (a, b) = text.split_once('-').unwrap();
    (p(a), p(b))
}

#[test]
fn between_counts_what_the_oracle_counts_over_bst_weeks() {
    // Minute by minute over the weeks of the 2026 BST changes: the sum of open
    // minutes must equal between() exactly, for every calendar whose
    // boundaries stay clear of the skipped and repeated hours.
    for (i, (name, spec)) in specs().iter().enumerate() {
        if name.starts_with("odd") {
            continue;
        }
        for start in ["2026-03-23T00:00:00Z", "2026-10-19T00:00:00Z", "2026-12-21T00:00:00Z"] {
            let a = DateTime::parse_from_rfc3339(start).unwrap().timestamp();
            let b = a + 14 * 86_400;
            let minutes = (a..b).step_by(60).filter(|&t| oracle_open(spec, t)).count() as i64;
            assert_eq!(
                calendars()[i].between_seconds(a, b).unwrap(),
                minutes * 60,
                "{name} from {start}"
            );
        }
    }
}
