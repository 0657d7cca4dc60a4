//! UK bank holidays from the rules, checked against the official list.

use std::collections::BTreeMap;

use sladesk::domain::holidays::{Holidays, Region, computed};

/// (region, date, title) from the fixture built from the official list.
fn fixture() -> Vec<(Region, String, String)> {
    let text = include_str!("../fixtures/holidays/uk-bank-holidays-2010-2030.tsv");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let mut f = l.split('\t');
            let region = f.next().unwrap().parse().unwrap();
            (region, f.next().unwrap().to_string(), f.next().unwrap().to_string())
        })
        .collect()
}

/// Where GOV.UK titles the same day two ways in different years, the rules
/// follow the majority; these listed days keep their date but carry the
/// other title in the feed.
const TITLE_EXCEPTIONS: &[(&str, &str, &str)] = &[
    // New Year's Day on a Sunday: 2012 and 2017 list 2 Jan as "2nd January"
    // and 3 Jan as the New Year substitute; 2023 lists them the other way round.
    ("scotland", "2023-01-02", "New Year’s Day (substitute day)"),
    ("scotland", "2023-01-03", "2nd January (substitute day)"),
    // The 2012 Spring holiday moved to 4 June: a substitute day in England,
    // Wales and Scotland's lists, a plain one in Northern Ireland's.
    ("northern-ireland", "2012-06-04", "Spring bank holiday"),
];

#[test]
fn every_region_matches_the_official_list_from_2010_to_2030() {
    let mut expected: BTreeMap<Region, Vec<(String, String)>> = BTreeMap::new();
    for (r, d, t) in fixture() {
        expected.entry(r).or_default().push((d, t));
    }
    for region in Region::ALL {
        let want = &expected[&region];
        let got: Vec<(String, String)> = (2010..=2030)
            .flat_map(|y| computed(region, y))
            .map(|h| (h.date.to_string(), h.title))
            .collect();
        let got_dates: Vec<&str> = got.iter().map(|(d, _)| d.as_str()).collect();
        let want_dates: Vec<&str> = want.iter().map(|(d, _)| d.as_str()).collect();
        assert_eq!(got_dates, want_dates, "{region}: the days the banks close differ");
        for ((date, got_title), (_, want_title)) in got.iter().zip(want) {
            let excepted = TITLE_EXCEPTIONS
                .iter()
                .any(|(r, d, t)| *r == region.as_str() && d == date && t == want_title);
            if !excepted {
                assert_eq!(got_title, want_title, "{region} {date}: title");
            }
        }
    }
}

#[test]
fn importing_the_official_feed_lists_it_exactly() {
    let mut h = Holidays::from_rules();
    h.import_govuk_json(include_str!("../fixtures/holidays/govuk-bank-holidays.json"))
        .unwrap();
    for (region, date, title) in fixture() {
        let year: i32 = date[..4].parse().unwrap();
        if (2012..=2028).contains(&year) {
            assert!(
                h.for_year(region, year)
                    .iter()
                    .any(|x| x.date.to_string() == date && x.title == title),
                "{region} {date} {title} missing after import"
            );
        }
    }
    // Years outside the feed still come from the rules.
    assert_eq!(h.for_year(Region::Scotland, 2030), computed(Region::Scotland, 2030));
}

#[test]
fn every_year_from_1990_to_2100_has_a_sane_list() {
    for region in Region::ALL {
        for year in 1990..=2100 {
            let list = computed(region, year);
            let expected_len = match region {
                Region::EnglandAndWales => 8,
                Region::Scotland => {
                    if year >= 2007 {
                        9
                    } else {
                        8
                    }
                }
                Region::NorthernIreland => 10,
            };
            assert!(list.len() >= expected_len, "{region} {year}: {} days", list.len());
            for w in list.windows(2) {
                assert!(
                    w[0].date < w[1].date,
                    "{region} {year}: {} listed twice or out of order",
                    w[1].date
                );
            }
            for h in &list {
                use chrono::Datelike;
                assert!(
                    h.date.weekday().num_days_from_monday() < 5,
                    "{region} {}: {} falls on a weekend",
                    h.date,
                    h.title
                );
                assert_eq!(h.date.year(), year, "{region}: {} spills out of {year}", h.title);
            }
        }
    }
}
