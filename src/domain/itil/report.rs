//! The monthly report's sections for service requests and changes,
//! computed from facts the application gathers (each request fulfilled in
//! the month with its fulfilment clock; each change whose window opened in
//! it with its outcome and whether incidents were linked `caused_by` it).
//! The desk's section is computed from all organisations' facts, so the
//! two reports agree.

use std::collections::BTreeMap;

use super::change::{ChangeKind, Outcome};
use crate::domain::report::{ChangeSection, RequestItemLine, mean_median, percent_met};

/// A service request fulfilled in the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fulfilled {
    pub item: String,
    pub item_name: String,
    /// Within the item's target for the tier (`None`: no target set).
    pub met: Option<bool>,
    /// Business seconds from receipt to fulfilment, less the pauses.
    pub elapsed_seconds: i64,
}

/// Each item's line, by item name.
pub fn request_lines(done: &[Fulfilled]) -> Vec<RequestItemLine> {
    let mut by_item: BTreeMap<(&str, &str), Vec<&Fulfilled>> = BTreeMap::new();
    for f in done {
        by_item
            .entry((f.item_name.as_str(), f.item.as_str()))
            .or_default()
            .push(f);
    }
    by_item
        .into_iter()
        .map(|((name, item), fs)| {
            let met = fs.iter().filter(|f| f.met == Some(true)).count() as u32;
            let missed = fs.iter().filter(|f| f.met == Some(false)).count() as u32;
            let (mean, median) = mean_median(fs.iter().map(|f| f.elapsed_seconds).collect());
            RequestItemLine {
                item: item.to_string(),
                name: name.to_string(),
                fulfilled: fs.len() as u32,
                met,
                missed,
                percent_met: percent_met(met, missed),
                mean_business_seconds: mean,
                median_business_seconds: median,
            }
        })
        .collect()
}

/// A change whose window opened in the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeFact {
    pub reference: String,
    pub kind: ChangeKind,
    /// The post-implementation review's outcome, once reviewed.
    pub outcome: Option<Outcome>,
    /// Incidents linked `caused_by` it.
    pub incidents: u32,
}

/// The section, or none when no change's window opened in the month.
pub fn change_section(facts: &[ChangeFact]) -> Option<ChangeSection> {
    if facts.is_empty() {
        return None;
    }
    let count = |k: ChangeKind| facts.iter().filter(|f| f.kind == k).count() as u32;
    let reviewed = facts.iter().filter(|f| f.outcome.is_some()).count() as u32;
    let succeeded = facts.iter().filter(|f| f.outcome == Some(Outcome::Success)).count() as u32;
    let mut followed: Vec<String> = facts
        .iter()
        .filter(|f| f.incidents > 0)
        .map(|f| f.reference.clone())
        .collect();
    followed.sort();
    Some(ChangeSection {
        total: facts.len() as u32,
        standard: count(ChangeKind::Standard),
        normal: count(ChangeKind::Normal),
        emergency: count(ChangeKind::Emergency),
        reviewed,
        succeeded,
        success_percent: percent_met(succeeded, reviewed - succeeded),
        followed_by_incidents: followed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_lines_count_each_item_with_its_middles() {
        let f = |item: &str, met: Option<bool>, s: i64| Fulfilled {
            item: item.into(),
            item_name: item.to_uppercase(),
            met,
            elapsed_seconds: s,
        };
        let lines = request_lines(&[
            f("vpn", Some(true), 3600),
            f("vpn", Some(false), 36_000),
            f("vpn", Some(true), 7200),
            f("disk", None, 600),
        ]);
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0].item, "disk");
        assert_eq!(
            (lines[0].met, lines[0].missed, lines[0].percent_met.clone()),
            (0, 0, None)
        );
        let vpn = &lines[1];
        assert_eq!((vpn.fulfilled, vpn.met, vpn.missed), (3, 2, 1));
        assert_eq!(vpn.percent_met.as_deref(), Some("66.6"));
        assert_eq!(
            (vpn.mean_business_seconds, vpn.median_business_seconds),
            (Some(15_600), Some(7200))
        );
    }

    #[test]
    fn the_change_section_counts_kinds_successes_and_what_incidents_followed() {
        let c = |r: &str, kind, outcome, incidents| ChangeFact {
            reference: r.into(),
            kind,
            outcome,
            incidents,
        };
        assert_eq!(change_section(&[]), None);
        let s = change_section(&[
            c("SD-3", ChangeKind::Normal, Some(Outcome::Success), 0),
            c("SD-1", ChangeKind::Emergency, Some(Outcome::BackedOut), 2),
            c("SD-2", ChangeKind::Standard, None, 0),
        ])
        .unwrap();
        assert_eq!((s.total, s.standard, s.normal, s.emergency), (3, 1, 1, 1));
        assert_eq!((s.reviewed, s.succeeded), (2, 1));
        assert_eq!(s.success_percent.as_deref(), Some("50.0"));
        assert_eq!(s.followed_by_incidents, ["SD-1"]);
    }
}
