//! UK bank holidays by example: Easter, substitute days, each region's own
//! days and one-offs, and importing and exporting a holiday file.

use super::*;

fn dates(region: Region, year: i32) -> Vec<String> {
    computed(region, year).iter().map(|h| h.date.to_string()).collect()
}

#[test]
fn easter_matches_known_dates() {
    assert_eq!(easter_sunday(2024), day(2024, 3, 31));
    assert_eq!(easter_sunday(2025), day(2025, 4, 20));
    assert_eq!(easter_sunday(2008), day(2008, 3, 23));
    assert_eq!(easter_sunday(2038), day(2038, 4, 25));
    assert_eq!(easter_sunday(2000), day(2000, 4, 23));
}

#[test]
fn christmas_on_saturday_moves_both_days() {
    let h = computed(Region::EnglandAndWales, 2021);
    assert!(h.contains(&Holiday {
        date: day(2021, 12, 27),
        title: "Christmas Day (substitute day)".into()
    }));
    assert!(h.contains(&Holiday {
        date: day(2021, 12, 28),
        title: "Boxing Day (substitute day)".into()
    }));
}

#[test]
fn christmas_on_sunday_keeps_boxing_day_on_monday() {
    let h = computed(Region::EnglandAndWales, 2022);
    assert!(h.contains(&Holiday {
        date: day(2022, 12, 26),
        title: "Boxing Day".into()
    }));
    assert!(h.contains(&Holiday {
        date: day(2022, 12, 27),
        title: "Christmas Day (substitute day)".into()
    }));
}

#[test]
fn scotland_new_year_on_friday_moves_second_january_to_monday() {
    assert_eq!(&dates(Region::Scotland, 2021)[..2], ["2021-01-01", "2021-01-04"]);
}

#[test]
fn scotland_has_no_easter_monday_and_summer_is_first_monday() {
    let h = computed(Region::Scotland, 2024);
    assert!(!h.iter().any(|h| h.title == "Easter Monday"));
    assert!(h.contains(&Holiday {
        date: day(2024, 8, 5),
        title: "Summer bank holiday".into()
    }));
}

#[test]
fn st_andrews_day_only_from_2007() {
    assert!(
        !computed(Region::Scotland, 2006)
            .iter()
            .any(|h| h.title.starts_with("St Andrew"))
    );
    assert!(
        computed(Region::Scotland, 2007)
            .iter()
            .any(|h| h.title.starts_with("St Andrew"))
    );
}

#[test]
fn millennium_and_one_offs() {
    for r in Region::ALL {
        assert!(dates(r, 1999).contains(&"1999-12-31".to_string()));
        assert!(dates(r, 2002).contains(&"2002-06-03".to_string()));
        assert!(dates(r, 2011).contains(&"2011-04-29".to_string()));
        assert!(dates(r, 1995).contains(&"1995-05-08".to_string()));
        assert!(!dates(r, 1995).contains(&"1995-05-01".to_string()));
    }
}

#[test]
fn a_malformed_file_is_rejected_whole() {
    let mut h = Holidays::from_rules();
    let text = r#"{"england-and-wales":{"division":"england-and-wales","events":[{"title":"X","date":"2031-01-01","notes":"","bunting":true}]},
                   "scotland":{"division":"scotland","events":[{"title":"Y","date":"2031-02-30","notes":"","bunting":true}]}}"#;
    let err = h.import_govuk_json(text).unwrap_err();
    assert_eq!(
        err.to_string(),
        "scotland.events[0].date: expected a date YYYY-MM-DD, found '2031-02-30'"
    );
    // Nothing of the valid region was applied either.
    assert_eq!(
        h.for_year(Region::EnglandAndWales, 2031),
        computed(Region::EnglandAndWales, 2031)
    );
}

#[test]
fn an_import_replaces_the_years_it_covers_only() {
    let mut h = Holidays::from_rules();
    let text = r#"{"scotland":{"division":"scotland","events":[
        {"title":"Extra day","date":"2031-06-06","notes":"","bunting":true},
        {"title":"New Year’s Day","date":"2033-01-03","notes":"Substitute day","bunting":true}]}}"#;
    h.import_govuk_json(text).unwrap();
    assert_eq!(
        h.for_year(Region::Scotland, 2031),
        vec![Holiday {
            date: day(2031, 6, 6),
            title: "Extra day".into()
        }]
    );
    assert!(
        h.for_year(Region::Scotland, 2032).is_empty(),
        "a year between the first and last is covered"
    );
    assert_eq!(
        h.for_year(Region::Scotland, 2033)[0].title,
        "New Year’s Day (substitute day)"
    );
    assert_eq!(h.for_year(Region::Scotland, 2034), computed(Region::Scotland, 2034));
    assert_eq!(
        h.for_year(Region::EnglandAndWales, 2031),
        computed(Region::EnglandAndWales, 2031)
    );
}

#[test]
fn an_export_imports_back_to_the_same_days() {
    let mut h = Holidays::from_rules();
    h.import_govuk_json(r#"{"scotland":{"division":"scotland","events":[{"title":"Extra","date":"2031-06-06","notes":"","bunting":true}]}}"#)
        .unwrap();
    let text = h.to_govuk_json(1990, 2100);
    let mut back = Holidays::from_rules();
    back.import_govuk_json(&text).unwrap();
    for r in Region::ALL {
        assert_eq!(back.list(r, 1990, 2100), h.list(r, 1990, 2100));
    }
    assert_eq!(back.to_govuk_json(1990, 2100), text, "deterministic");
}

#[test]
fn unknown_region_and_syntax_errors_are_named() {
    let mut h = Holidays::from_rules();
    let e = h.import_govuk_json(r#"{"wales":{"events":[]}}"#).unwrap_err();
    assert!(e.to_string().starts_with("wales: unknown holiday region"), "{e}");
    let e = h.import_govuk_json("{\n  \"scotland\": [").unwrap_err();
    assert!(matches!(e, ImportError::Syntax { line: 2, .. }), "{e:?}");
}
