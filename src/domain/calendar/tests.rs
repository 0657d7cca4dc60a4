//! The calendar by example: how a week reads, open intervals, adding
//! business time across weekends, holidays, lunch breaks and BST changes,
//! and instants outside its span. Its laws are in tests/calendar_laws.rs.

use super::*;
use chrono::TimeZone;
use chrono_tz::Europe::London;

#[test]
fn a_week_reads_as_runs_of_days() {
    let i = |s: &str| DayInterval::parse(s).unwrap();
    let bronze = WeeklyHours::weekdays(&[i("09:00-17:00")]).unwrap();
    assert_eq!(bronze.summary(), "Mon–Fri 09:00–17:00");
    assert_eq!(WeeklyHours::always().summary(), "every day, all day");
    let mut split = bronze.clone();
    split.set_day(4, vec![i("09:00-12:00"), i("13:00-16:00")]).unwrap();
    split.set_day(5, vec![i("10:00-12:00")]).unwrap();
    assert_eq!(
        split.summary(),
        "Mon–Thu 09:00–17:00; Fri 09:00–12:00, 13:00–16:00; Sat 10:00–12:00"
    );
    assert_eq!(WeeklyHours::default().summary(), "never open");
}

#[test]
fn open_intervals_add_up_to_between() {
    let spec = CalendarSpec {
        time_zone: London,
        hours: WeeklyHours::weekdays(&[DayInterval::parse("08:00-17:30").unwrap()]).unwrap(),
        closed_dates: Default::default(),
    };
    let d = |s: &str| s.parse::<NaiveDate>().unwrap();
    let cal = Calendar::compile(&spec, d("2026-01-01"), d("2026-12-31"));
    let a: DateTime<Utc> = "2026-11-27T16:00:00Z".parse().unwrap();
    let b: DateTime<Utc> = "2026-12-01T09:15:00Z".parse().unwrap();
    let spans = cal.open_intervals(a, b, 10).unwrap();
    assert_eq!(spans.first().unwrap().0, a);
    assert_eq!(spans.last().unwrap().1, b);
    assert_eq!(spans.len(), 3, "Friday's end, Monday, Tuesday's start");
    let sum: i64 = spans.iter().map(|(s, e)| (*e - *s).num_seconds()).sum();
    assert_eq!(sum, cal.between(a, b).unwrap().num_seconds());
    assert_eq!(cal.open_intervals(a, b, 1).unwrap().len(), 1);
}

fn london(s: &str) -> DateTime<Utc> {
    let n = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
    London.from_local_datetime(&n).earliest().unwrap().with_timezone(&Utc)
}

fn cal(hours: WeeklyHours, closed: &[&str]) -> Calendar {
    let spec = CalendarSpec {
        time_zone: London,
        hours,
        closed_dates: closed.iter().map(|d| d.parse().unwrap()).collect(),
    };
    Calendar::compile(&spec, "2024-01-01".parse().unwrap(), "2027-12-31".parse().unwrap())
}

fn silver() -> Calendar {
    cal(
        WeeklyHours::weekdays(&[DayInterval::parse("08:00-17:30").unwrap()]).unwrap(),
        &["2026-12-25"],
    )
}

#[test]
fn parses_hours() {
    assert_eq!(DayInterval::parse("08:00-17:30").unwrap().seconds(), 34_200);
    assert_eq!(DayInterval::parse("00:00-24:00").unwrap().seconds(), 86_400);
    assert!(matches!(
        DayInterval::parse("17:30-08:00"),
        Err(HoursError::Reversed(_))
    ));
    assert!(matches!(DayInterval::parse("8-17"), Err(HoursError::Syntax(_))));
    assert!(matches!(DayInterval::parse("08:00-24:30"), Err(HoursError::Syntax(_))));
    let mut w = WeeklyHours::default();
    let e = w.set_day(
        0,
        vec![
            DayInterval::parse("09:00-12:30").unwrap(),
            DayInterval::parse("12:00-17:00").unwrap(),
        ],
    );
    assert_eq!(e, Err(HoursError::Overlap("09:00-12:30".into(), "12:00-17:00".into())));
}

#[test]
fn adding_from_friday_evening_lands_on_monday() {
    let c = silver();
    // Friday 4 December 2026 17:00 + 1h → Monday 7 December 08:30.
    assert_eq!(
        c.add(london("2026-12-04 17:00"), Duration::hours(1)).unwrap(),
        london("2026-12-07 08:30")
    );
}

#[test]
fn a_result_exactly_at_closing_time_stays_there() {
    let c = silver();
    assert_eq!(
        c.add(london("2026-12-07 17:00"), Duration::minutes(30)).unwrap(),
        london("2026-12-07 17:30")
    );
    assert!(!c.is_open(london("2026-12-07 17:30")).unwrap());
    assert_eq!(
        c.next_open(london("2026-12-07 17:30")).unwrap(),
        Some(london("2026-12-08 08:00"))
    );
}

#[test]
fn holidays_are_closed_all_day() {
    let c = silver();
    // Thursday 24 Dec 17:00 + 1h: Friday 25th is closed, so Monday 28th 08:30.
    assert_eq!(
        c.add(london("2026-12-24 17:00"), Duration::hours(1)).unwrap(),
        london("2026-12-28 08:30")
    );
}

#[test]
fn business_hours_are_local_across_bst_changes() {
    let c = silver();
    // BST starts Sunday 29 March 2026; Monday opens at 08:00 BST = 07:00 UTC.
    assert_eq!(
        c.next_open(london("2026-03-28 12:00")).unwrap().unwrap().to_rfc3339(),
        "2026-03-30T07:00:00+00:00"
    );
    // A full week of Silver hours across the change is 5 × 9.5 h.
    assert_eq!(
        c.between(london("2026-03-23 00:00"), london("2026-04-06 00:00"))
            .unwrap(),
        Duration::minutes(570 * 10)
    );
}

#[test]
fn twenty_four_seven_has_no_gap_at_midnight_or_at_dst() {
    let c = cal(WeeklyHours::always(), &[]);
    assert_eq!(c.starts.len(), 1);
    // The night the clocks go back lasts 25 hours.
    assert_eq!(
        c.between(london("2026-10-25 00:00"), london("2026-10-26 00:00"))
            .unwrap(),
        Duration::hours(25)
    );
    assert_eq!(
        c.between(london("2026-03-29 00:00"), london("2026-03-30 00:00"))
            .unwrap(),
        Duration::hours(23)
    );
    assert!(c.is_open(london("2026-06-01 00:00")).unwrap());
}

#[test]
fn lunch_breaks_split_a_day() {
    let mut w = WeeklyHours::default();
    w.set_day(
        0,
        vec![
            DayInterval::parse("09:00-12:30").unwrap(),
            DayInterval::parse("13:30-17:00").unwrap(),
        ],
    )
    .unwrap();
    let c = cal(w, &[]);
    assert_eq!(
        c.add(london("2026-12-07 12:00"), Duration::hours(1)).unwrap(),
        london("2026-12-07 14:00")
    );
    assert_eq!(
        c.add(london("2026-12-07 12:00"), Duration::minutes(30)).unwrap(),
        london("2026-12-07 12:30")
    );
}

#[test]
fn outside_the_span_is_an_error_not_a_panic() {
    let c = silver();
    assert!(matches!(
        c.add(london("2030-01-01 00:00"), Duration::hours(1)),
        Err(CalendarError::OutOfRange(..))
    ));
    assert!(matches!(
        c.between(london("2020-01-01 00:00"), london("2026-01-01 00:00")),
        Err(CalendarError::OutOfRange(..))
    ));
    assert!(matches!(
        c.add(london("2027-12-31 17:00"), Duration::hours(2)),
        Err(CalendarError::BeyondSpan(..))
    ));
    assert_eq!(
        c.add(london("2026-12-07 12:00"), Duration::seconds(-1)),
        Err(CalendarError::NegativeDuration)
    );
    let empty = cal(WeeklyHours::default(), &[]);
    assert!(matches!(
        empty.add(london("2026-12-07 12:00"), Duration::hours(1)),
        Err(CalendarError::NeverOpens(_))
    ));
}
