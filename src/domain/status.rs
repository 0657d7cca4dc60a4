//! What a status page says now: each service's state from the outages on
//! it, and the page's overall indicator, in the words of the widely read
//! Statuspage API (component statuses `operational`,
//! `degraded_performance`, `partial_outage`, `major_outage`,
//! `under_maintenance`; indicator `none`, `minor`, `major`, `critical`,
//! `maintenance`), so aggregators that read those can read sladesk.

use chrono::{DateTime, Utc};
use serde::Serialize;

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
}
