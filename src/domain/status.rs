//! What a status page says now: each service's state from the outages on
//! it, and the page's overall indicator, in the words of the widely read
//! Statuspage API (component statuses `operational`,
//! `degraded_performance`, `partial_outage`, `major_outage`,
//! `under_maintenance`; indicator `none`, `minor`, `major`, `critical`,
//! `maintenance`), so aggregators that read those can read sladesk.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;

use super::availability::{Outage, OutageKind, day_start, downtime_in, millipercent};
use super::outage_status::{OutageStatus, Track};
use super::service::Impact;

/// A service's state now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ComponentStatus {
    /// Nothing on it.
    Operational,
    /// Maintenance under way on it, and no incident.
    UnderMaintenance,
    /// An incident slows it.
    DegradedPerformance,
    /// An incident stops part of it.
    PartialOutage,
    /// An incident stops it.
    MajorOutage,
}

impl ComponentStatus {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "operational",
            ComponentStatus::UnderMaintenance => "under_maintenance",
            ComponentStatus::DegradedPerformance => "degraded_performance",
            ComponentStatus::PartialOutage => "partial_outage",
            ComponentStatus::MajorOutage => "major_outage",
        }
    }

    /// As people read it.
    pub fn title(self) -> &'static str {
        match self {
            ComponentStatus::Operational => "Operational",
            ComponentStatus::UnderMaintenance => "Under maintenance",
            ComponentStatus::DegradedPerformance => "Degraded performance",
            ComponentStatus::PartialOutage => "Partial outage",
            ComponentStatus::MajorOutage => "Major outage",
        }
    }
}

/// The page's overall state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Indicator {
    /// All systems operational.
    None,
    /// Something degraded.
    Minor,
    /// A partial outage.
    Major,
    /// A major outage.
    Critical,
    /// Maintenance under way, nothing broken.
    Maintenance,
}

impl Indicator {
    /// As the API writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::None => "none",
            Indicator::Minor => "minor",
            Indicator::Major => "major",
            Indicator::Critical => "critical",
            Indicator::Maintenance => "maintenance",
        }
    }

    /// The sentence a status page leads with.
    pub fn description(self) -> &'static str {
        match self {
            Indicator::None => "All systems operational",
            Indicator::Minor => "Minor service disruption",
            Indicator::Major => "Partial system outage",
            Indicator::Critical => "Major system outage",
            Indicator::Maintenance => "Service under maintenance",
        }
    }
}

/// An outage as far as a service's state goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnService {
    /// Incident or maintenance.
    pub track: Track,
    /// Where it stands.
    pub status: OutageStatus,
    /// When it began (or is to begin).
    pub start: DateTime<Utc>,
    /// When it ended (or is to end), if known.
    pub end: Option<DateTime<Utc>>,
    /// How hard it hits this service.
    pub impact: Impact,
}

impl OnService {
    /// Whether it bears on the service at `now`: begun, not ended, and
    /// not declared over.
    pub fn active_at(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && self.end.is_none_or(|e| e > now) && !self.status.is_final()
    }
}

/// A service's state at `now` from the outages on it: the worst impact of
/// the incidents under way; else under maintenance while maintenance is
/// under way; else operational.
pub fn component_status(outages: &[OnService], now: DateTime<Utc>) -> ComponentStatus {
    let active: Vec<&OnService> = outages.iter().filter(|o| o.active_at(now)).collect();
    let worst = active
        .iter()
        .filter(|o| o.track == Track::Incident)
        .map(|o| o.impact)
        .max();
    match worst {
        Some(Impact::MajorOutage) => ComponentStatus::MajorOutage,
        Some(Impact::PartialOutage) => ComponentStatus::PartialOutage,
        Some(Impact::Degraded) => ComponentStatus::DegradedPerformance,
        None if active.iter().any(|o| o.track == Track::Maintenance) => ComponentStatus::UnderMaintenance,
        None => ComponentStatus::Operational,
    }
}

/// The page's indicator from its services' states: the worst of them.
pub fn indicator(components: &[ComponentStatus]) -> Indicator {
    match components.iter().max() {
        Some(ComponentStatus::MajorOutage) => Indicator::Critical,
        Some(ComponentStatus::PartialOutage) => Indicator::Major,
        Some(ComponentStatus::DegradedPerformance) => Indicator::Minor,
        Some(ComponentStatus::UnderMaintenance) => Indicator::Maintenance,
        Some(ComponentStatus::Operational) | None => Indicator::None,
    }
}

impl From<Impact> for ComponentStatus {
    fn from(i: Impact) -> ComponentStatus {
        match i {
            Impact::Degraded => ComponentStatus::DegradedPerformance,
            Impact::PartialOutage => ComponentStatus::PartialOutage,
            Impact::MajorOutage => ComponentStatus::MajorOutage,
        }
    }
}

/// An outage on one service, for its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PastOutage {
    /// The outage as availability counts it.
    pub outage: Outage,
    /// How hard it hit this service.
    pub impact: Impact,
}

/// One day of a service's history: a bar on the status page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DayBar {
    /// The Europe/London day.
    pub day: NaiveDate,
    /// The day's seconds up to `as_of` (23 or 25 hours on the days the
    /// clocks change; today only so far).
    pub seconds: i64,
    /// Counted downtime in the day, overlaps merged.
    pub downtime_seconds: i64,
    /// The worst that happened to the service that day: the worst impact
    /// of an incident, else maintenance, else operational.
    pub worst: ComponentStatus,
    /// The outages that touched the day.
    pub outages: Vec<i64>,
}

/// A service's last days, each a bar, and its uptime over them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct History {
    pub days: Vec<DayBar>,
    /// The window's seconds (up to `as_of`).
    pub seconds: i64,
    /// Counted downtime in the window, overlaps merged.
    pub downtime_seconds: i64,
    /// Uptime in thousandths of a percent, rounded down, as availability
    /// is: 99,982 is 99.982 %.
    pub millipercent: i64,
}

/// The `days` Europe/London days ending with `last` (oldest first), each
/// with the service's downtime and worst state, and the uptime over them.
/// Downtime is counted by the code that counts a month's availability for
/// the credit reports, with the same notice rule for planned maintenance.
pub fn history(last: NaiveDate, days: u32, on: &[PastOutage], notice: Duration, as_of: DateTime<Utc>) -> History {
    let outages: Vec<Outage> = on.iter().map(|p| p.outage.clone()).collect();
    let first = last - Duration::days(i64::from(days.max(1)) - 1);
    let mut bars = Vec::with_capacity(days as usize);
    for day in first.iter_days().take(days.max(1) as usize) {
        let (from, to) = (day_start(day), day_start(day + Duration::days(1)).min(as_of));
        let (downtime, shares) = downtime_in(from, to, &outages, notice, as_of);
        let worst = shares
            .iter()
            .filter_map(|s| on.iter().find(|p| p.outage.id == s.id))
            .map(|p| match p.outage.kind {
                OutageKind::PlatformIssue => ComponentStatus::from(p.impact),
                _ => ComponentStatus::UnderMaintenance,
            })
            .max()
            .unwrap_or(ComponentStatus::Operational);
        bars.push(DayBar {
            day,
            seconds: (to - from).num_seconds().max(0),
            downtime_seconds: downtime,
            worst,
            outages: shares.iter().map(|s| s.id).collect(),
        });
    }
    let (from, to) = (day_start(first), day_start(last + Duration::days(1)).min(as_of));
    let (downtime, _) = downtime_in(from, to, &outages, notice, as_of);
    let seconds = (to - from).num_seconds().max(0);
    History {
        days: bars,
        seconds,
        downtime_seconds: downtime,
        millipercent: millipercent(seconds, downtime),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn on(track: Track, status: OutageStatus, start: &str, end: Option<&str>, impact: Impact) -> OnService {
        OnService {
            track,
            status,
            start: at(start),
            end: end.map(at),
            impact,
        }
    }

    #[test]
    fn a_service_shows_the_worst_incident_on_it_then_maintenance_then_operational() {
        use OutageStatus::*;
        let now = at("2026-10-14T09:30:00Z");
        let degraded = on(
            Track::Incident,
            Identified,
            "2026-10-14T09:00:00Z",
            None,
            Impact::Degraded,
        );
        let major = on(
            Track::Incident,
            Investigating,
            "2026-10-14T09:10:00Z",
            None,
            Impact::MajorOutage,
        );
        let works = on(
            Track::Maintenance,
            InProgress,
            "2026-10-14T09:00:00Z",
            Some("2026-10-14T11:00:00Z"),
            Impact::MajorOutage,
        );
        assert_eq!(component_status(&[], now), ComponentStatus::Operational);
        assert_eq!(component_status(&[degraded], now), ComponentStatus::DegradedPerformance);
        assert_eq!(
            component_status(&[degraded, major, works], now),
            ComponentStatus::MajorOutage
        );
        assert_eq!(component_status(&[works], now), ComponentStatus::UnderMaintenance);
        // Over, not yet begun, or declared resolved: not counted.
        let over = on(
            Track::Incident,
            Monitoring,
            "2026-10-14T08:00:00Z",
            Some("2026-10-14T09:00:00Z"),
            Impact::MajorOutage,
        );
        let later = on(
            Track::Maintenance,
            Scheduled,
            "2026-10-15T22:00:00Z",
            None,
            Impact::MajorOutage,
        );
        let resolved = on(
            Track::Incident,
            Resolved,
            "2026-10-14T09:00:00Z",
            None,
            Impact::MajorOutage,
        );
        assert_eq!(
            component_status(&[over, later, resolved], now),
            ComponentStatus::Operational
        );
    }

    #[test]
    fn the_page_indicator_is_the_worst_service() {
        use ComponentStatus::*;
        assert_eq!(indicator(&[]), Indicator::None);
        assert_eq!(indicator(&[Operational, Operational]), Indicator::None);
        assert_eq!(indicator(&[Operational, UnderMaintenance]), Indicator::Maintenance);
        assert_eq!(indicator(&[UnderMaintenance, DegradedPerformance]), Indicator::Minor);
        assert_eq!(indicator(&[PartialOutage, DegradedPerformance]), Indicator::Major);
        assert_eq!(indicator(&[MajorOutage, Operational]), Indicator::Critical);
        assert_eq!(Indicator::None.description(), "All systems operational");
    }

    fn past(
        id: i64,
        kind: OutageKind,
        start: &str,
        end: Option<&str>,
        told: Option<&str>,
        impact: Impact,
    ) -> PastOutage {
        PastOutage {
            outage: Outage {
                id,
                kind,
                start: at(start),
                end: end.map(at),
                notified_at: told.map(at),
            },
            impact,
        }
    }

    #[test]
    fn a_history_counts_each_london_day_as_the_availability_of_a_month_does() {
        use crate::domain::availability::{Month, availability};
        let as_of = at("2026-11-02T12:00:00Z");
        let notice = Duration::days(5);
        let on = [
            // Across midnight BST on 25 October (the clocks go back that
            // night): 22:00 to 01:00 BST is 21:00Z to 01:00Z, four hours.
            past(
                1,
                OutageKind::PlatformIssue,
                "2026-10-24T21:00:00Z",
                Some("2026-10-25T01:00:00Z"),
                None,
                Impact::Degraded,
            ),
            // Overlapping the first for an hour, a major outage.
            past(
                2,
                OutageKind::PlatformIssue,
                "2026-10-25T00:00:00Z",
                Some("2026-10-25T02:00:00Z"),
                None,
                Impact::MajorOutage,
            ),
            // Announced a week ahead: maintenance, not downtime.
            past(
                3,
                OutageKind::PlannedMaintenance,
                "2026-10-28T22:00:00Z",
                Some("2026-10-28T23:00:00Z"),
                Some("2026-10-20T09:00:00Z"),
                Impact::MajorOutage,
            ),
            // Still open: counts up to as_of.
            past(
                4,
                OutageKind::PlatformIssue,
                "2026-11-02T11:00:00Z",
                None,
                None,
                Impact::PartialOutage,
            ),
        ];
        let h = history("2026-11-02".parse().unwrap(), 90, &on, notice, as_of);
        assert_eq!(h.days.len(), 90);
        assert_eq!(h.days[0].day, "2026-08-05".parse::<NaiveDate>().unwrap());
        let day = |d: &str| {
            h.days
                .iter()
                .find(|b| b.day == d.parse::<NaiveDate>().unwrap())
                .unwrap()
        };
        // 24 October (BST): 22:00–midnight, two hours.
        assert_eq!(day("2026-10-24").downtime_seconds, 2 * 3600);
        assert_eq!(day("2026-10-24").worst, ComponentStatus::DegradedPerformance);
        // 25 October is 25 hours long; 23:00Z to 02:00Z is three hours.
        assert_eq!(day("2026-10-25").seconds, 25 * 3600);
        assert_eq!(day("2026-10-25").downtime_seconds, 3 * 3600);
        assert_eq!(day("2026-10-25").worst, ComponentStatus::MajorOutage);
        assert_eq!(day("2026-10-28").downtime_seconds, 0);
        assert_eq!(day("2026-10-28").worst, ComponentStatus::UnderMaintenance);
        assert_eq!(day("2026-11-02").seconds, 12 * 3600, "today, so far");
        assert_eq!(day("2026-11-02").downtime_seconds, 3600);
        assert_eq!(h.downtime_seconds, 6 * 3600);
        // The days add up to the window, and October alone to the month's
        // availability as the credit report counts it.
        assert_eq!(h.days.iter().map(|d| d.seconds).sum::<i64>(), h.seconds);
        let outages: Vec<Outage> = on.iter().map(|p| p.outage.clone()).collect();
        let october = availability(Month::new(2026, 10).unwrap(), &outages, notice, as_of);
        let in_october: i64 = h
            .days
            .iter()
            .filter(|d| d.day.format("%Y-%m").to_string() == "2026-10")
            .map(|d| d.downtime_seconds)
            .sum();
        assert_eq!(in_october, october.downtime_seconds);
        assert_eq!(
            h.days
                .iter()
                .filter(|d| d.day.format("%Y-%m").to_string() == "2026-10")
                .map(|d| d.seconds)
                .sum::<i64>(),
            october.seconds_in_month
        );
    }
}
