//! What customers are told of an outage over time: its status, moved on by
//! public updates. Incidents (platform issues) go investigating →
//! identified → monitoring → resolved; maintenance, planned or emergency,
//! goes scheduled → in progress → completed. A pure state machine: updates
//! in, a timeline out, every refusal leaving the timeline as it was.
//!
//! Rules, as Statuspage and Zammad users expect them:
//! - an incident may move between its open statuses in any order (a fix
//!   that did not hold goes back to investigating), and ends at resolved;
//! - maintenance only moves forward: scheduled, in progress, completed;
//!   scheduled maintenance may be completed without starting (called off);
//! - resolved and completed are final: later updates may add words, not
//!   change the status;
//! - updates are in time order, and each says something.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::availability::OutageKind;

/// Where an outage stands, as its status page says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutageStatus {
    /// An incident: looking for the cause.
    Investigating,
    /// An incident: the cause is known and being fixed.
    Identified,
    /// An incident: fixed, and being watched.
    Monitoring,
    /// An incident: over.
    Resolved,
    /// Maintenance: announced, not begun.
    Scheduled,
    /// Maintenance: under way.
    InProgress,
    /// Maintenance: over.
    Completed,
}

/// Which series of statuses an outage follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// investigating → identified → monitoring → resolved.
    Incident,
    /// scheduled → in progress → completed.
    Maintenance,
}

impl Track {
    /// The track an outage of `kind` follows.
    pub fn of(kind: OutageKind) -> Track {
        match kind {
            OutageKind::PlatformIssue => Track::Incident,
            OutageKind::PlannedMaintenance | OutageKind::EmergencyMaintenance => Track::Maintenance,
        }
    }

    /// Its statuses, in order.
    pub fn statuses(self) -> &'static [OutageStatus] {
        match self {
            Track::Incident => &[
                OutageStatus::Investigating,
                OutageStatus::Identified,
                OutageStatus::Monitoring,
                OutageStatus::Resolved,
            ],
            Track::Maintenance => &[
                OutageStatus::Scheduled,
                OutageStatus::InProgress,
                OutageStatus::Completed,
            ],
        }
    }
}

impl OutageStatus {
    /// Every status.
    pub const ALL: [OutageStatus; 7] = [
        OutageStatus::Investigating,
        OutageStatus::Identified,
        OutageStatus::Monitoring,
        OutageStatus::Resolved,
        OutageStatus::Scheduled,
        OutageStatus::InProgress,
        OutageStatus::Completed,
    ];

    /// As stored and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            OutageStatus::Investigating => "investigating",
            OutageStatus::Identified => "identified",
            OutageStatus::Monitoring => "monitoring",
            OutageStatus::Resolved => "resolved",
            OutageStatus::Scheduled => "scheduled",
            OutageStatus::InProgress => "in_progress",
            OutageStatus::Completed => "completed",
        }
    }

    /// As people read it.
    pub fn title(self) -> &'static str {
        match self {
            OutageStatus::Investigating => "Investigating",
            OutageStatus::Identified => "Identified",
            OutageStatus::Monitoring => "Monitoring",
            OutageStatus::Resolved => "Resolved",
            OutageStatus::Scheduled => "Scheduled",
            OutageStatus::InProgress => "In progress",
            OutageStatus::Completed => "Completed",
        }
    }

    /// The track it belongs to.
    pub fn track(self) -> Track {
        match self {
            OutageStatus::Investigating
            | OutageStatus::Identified
            | OutageStatus::Monitoring
            | OutageStatus::Resolved => Track::Incident,
            OutageStatus::Scheduled | OutageStatus::InProgress | OutageStatus::Completed => Track::Maintenance,
        }
    }

    /// Resolved or completed: the outage is over.
    pub fn is_final(self) -> bool {
        matches!(self, OutageStatus::Resolved | OutageStatus::Completed)
    }

    /// Whether an outage may go from `self` to `to`.
    pub fn may_become(self, to: OutageStatus) -> bool {
        if self.track() != to.track() {
            return false;
        }
        if self.is_final() {
            return to == self;
        }
        match self.track() {
            Track::Incident => true,
            // Forward only (or staying put).
            Track::Maintenance => {
                let order = |s: OutageStatus| Track::Maintenance.statuses().iter().position(|x| *x == s);
                order(to) >= order(self)
            }
        }
    }
}

/// Text that is not a status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown status '{0}': expected investigating, identified, monitoring, resolved, scheduled, in_progress or completed"
)]
pub struct UnknownStatus(pub String);

impl std::str::FromStr for OutageStatus {
    type Err = UnknownStatus;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutageStatus::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownStatus(s.to_string()))
    }
}

/// One public update: when, the status it leaves the outage in, and what
/// customers are told.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Update {
    /// When it was posted.
    pub at: DateTime<Utc>,
    /// The status after it.
    pub status: OutageStatus,
    /// What customers are told.
    pub body: String,
}

/// Why an update was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    /// The status belongs to the other track (a maintenance cannot be
    /// "identified").
    #[error("a {track} outage cannot be {to}", track = track_name(*.track), to = .to.as_str())]
    WrongTrack {
        /// The outage's track.
        track: Track,
        /// The status asked for.
        to: OutageStatus,
    },
    /// The move is not allowed from where the outage stands.
    #[error("an outage that is {from} cannot become {to}", from = .from.as_str(), to = .to.as_str())]
    NotAllowed {
        /// Where it stands.
        from: OutageStatus,
        /// The status asked for.
        to: OutageStatus,
    },
    /// Updates are posted in time order.
    #[error("an update cannot be dated before the one it follows ({previous})")]
    BeforePrevious {
        /// The previous update's instant.
        previous: DateTime<Utc>,
    },
    /// An update says something.
    #[error("an update needs words for customers")]
    Empty,
}

fn track_name(t: Track) -> &'static str {
    match t {
        Track::Incident => "incident",
        Track::Maintenance => "maintenance",
    }
}

/// An outage's public timeline: the updates so far, oldest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Timeline {
    track: Track,
    updates: Vec<Update>,
}

impl Timeline {
    /// A timeline with no updates yet, for an outage of `kind`.
    pub fn new(kind: OutageKind) -> Timeline {
        Timeline {
            track: Track::of(kind),
            updates: Vec::new(),
        }
    }

    /// The track it follows.
    pub fn track(&self) -> Track {
        self.track
    }

    /// The updates, oldest first.
    pub fn updates(&self) -> &[Update] {
        &self.updates
    }

    /// Where the outage stands: the latest update's status, else where its
    /// track begins.
    pub fn status(&self) -> OutageStatus {
        self.updates
            .last()
            .map(|u| u.status)
            .unwrap_or(self.track.statuses()[0])
    }

    /// Whether it is over.
    pub fn is_over(&self) -> bool {
        self.status().is_final()
    }

    /// Adds an update, or says why not and changes nothing.
    pub fn post(&self, update: Update) -> Result<Timeline, UpdateError> {
        if update.body.trim().is_empty() {
            return Err(UpdateError::Empty);
        }
        if update.status.track() != self.track {
            return Err(UpdateError::WrongTrack {
                track: self.track,
                to: update.status,
            });
        }
        if let Some(last) = self.updates.last()
            && update.at < last.at
        {
            return Err(UpdateError::BeforePrevious { previous: last.at });
        }
        let from = self.status();
        // The first update may say where the outage stands anywhere on its
        // track: an incident found already identified, maintenance
        // announced as it begins, or one told of only once it was over.
        let allowed = self.updates.is_empty() || from.may_become(update.status);
        if !allowed {
            return Err(UpdateError::NotAllowed {
                from,
                to: update.status,
            });
        }
        let mut next = self.clone();
        next.updates.push(update);
        Ok(next)
    }

    /// A timeline replayed from stored updates, refusing any the rules would.
    pub fn replay(kind: OutageKind, updates: &[Update]) -> Result<Timeline, UpdateError> {
        updates.iter().try_fold(Timeline::new(kind), |t, u| t.post(u.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn update(t: &str, status: OutageStatus) -> Update {
        Update {
            at: at(t),
            status,
            body: format!("now {}", status.as_str()),
        }
    }

    #[test]
    fn an_incident_is_investigated_identified_monitored_and_resolved() {
        use OutageStatus::*;
        let t = Timeline::new(OutageKind::PlatformIssue);
        assert_eq!(t.status(), Investigating);
        let t = t.post(update("2026-10-14T09:05:00Z", Investigating)).unwrap();
        let t = t.post(update("2026-10-14T09:20:00Z", Identified)).unwrap();
        let t = t.post(update("2026-10-14T09:50:00Z", Monitoring)).unwrap();
        // The fix did not hold.
        let t = t.post(update("2026-10-14T10:05:00Z", Investigating)).unwrap();
        let t = t.post(update("2026-10-14T10:40:00Z", Resolved)).unwrap();
        assert!(t.is_over());
        assert_eq!(
            t.post(update("2026-10-14T11:00:00Z", Monitoring)),
            Err(UpdateError::NotAllowed {
                from: Resolved,
                to: Monitoring
            })
        );
        // Words may still be added once it is over.
        assert!(t.post(update("2026-10-15T09:00:00Z", Resolved)).is_ok());
    }

    #[test]
    fn maintenance_only_moves_forward_and_never_takes_incident_words() {
        use OutageStatus::*;
        let t = Timeline::new(OutageKind::PlannedMaintenance);
        assert_eq!(t.status(), Scheduled);
        let t = t.post(update("2026-10-01T09:00:00Z", Scheduled)).unwrap();
        assert!(matches!(
            t.post(update("2026-10-01T10:00:00Z", Identified)),
            Err(UpdateError::WrongTrack { .. })
        ));
        let t = t.post(update("2026-10-05T22:00:00Z", InProgress)).unwrap();
        assert!(matches!(
            t.post(update("2026-10-05T22:30:00Z", Scheduled)),
            Err(UpdateError::NotAllowed { .. })
        ));
        let t = t.post(update("2026-10-05T23:00:00Z", Completed)).unwrap();
        assert!(t.is_over());
    }

    #[test]
    fn updates_are_in_time_order_and_say_something() {
        use OutageStatus::*;
        let t = Timeline::new(OutageKind::EmergencyMaintenance)
            .post(update("2026-10-05T22:00:00Z", InProgress))
            .unwrap();
        assert!(matches!(
            t.post(update("2026-10-05T21:00:00Z", Completed)),
            Err(UpdateError::BeforePrevious { .. })
        ));
        let mut silent = update("2026-10-05T23:00:00Z", Completed);
        silent.body = "  ".into();
        assert_eq!(t.post(silent), Err(UpdateError::Empty));
        // Told of only once it was over: the first update may say so.
        let late = Timeline::new(OutageKind::PlatformIssue)
            .post(update("2026-10-05T23:00:00Z", Resolved))
            .unwrap();
        assert!(late.is_over());
    }

    #[test]
    fn statuses_read_back_as_written() {
        for s in OutageStatus::ALL {
            assert_eq!(s.as_str().parse::<OutageStatus>(), Ok(s));
            assert!(s.track().statuses().contains(&s));
        }
        assert!("fixed".parse::<OutageStatus>().is_err());
    }
}
