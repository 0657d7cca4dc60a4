//! Any sequence of public updates, at any instants, with any statuses: the
//! outage timeline never panics, refuses without changing anything, stays
//! on its kind's track, never leaves a final status, keeps its updates in
//! time order, and replays from what it accepted to the same timeline.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use sladesk::domain::availability::OutageKind;
use sladesk::domain::outage_status::{OutageStatus, Timeline, Track, Update, UpdateError};

fn kind() -> impl Strategy<Value = OutageKind> {
    prop::sample::select(OutageKind::ALL.to_vec())
}

fn status() -> impl Strategy<Value = OutageStatus> {
    prop::sample::select(OutageStatus::ALL.to_vec())
}

/// Proposed updates: minutes after the previous one (now and then before
/// it), any status, sometimes with nothing to say.
fn proposals() -> impl Strategy<Value = Vec<(i64, OutageStatus, bool)>> {
    prop::collection::vec((-30i64..240, status(), prop::bool::weighted(0.9)), 0..40)
}

fn start() -> DateTime<Utc> {
    "2026-10-14T09:00:00Z".parse().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_timeline_keeps_its_rules_whatever_is_posted(kind in kind(), proposed in proposals()) {
        let mut t = Timeline::new(kind);
        let mut at = start();
        let mut accepted = Vec::new();
        let mut was_over = false;
        for (minutes, status, says) in proposed {
            at += Duration::minutes(minutes);
            let u = Update { at, status, body: if says { format!("{} at {at}", status.as_str()) } else { " ".into() } };
            let before = t.clone();
            match t.post(u.clone()) {
                Ok(next) => {
                    // Accepted: on its track, in time order, final stays final.
                    prop_assert_eq!(next.status(), status);
                    prop_assert_eq!(status.track(), Track::of(kind));
                    prop_assert!(says);
                    if let Some(last) = before.updates().last() {
                        prop_assert!(last.at <= at);
                    }
                    if was_over {
                        prop_assert_eq!(status, before.status());
                    }
                    if Track::of(kind) == Track::Maintenance {
                        let order = |s: OutageStatus| Track::Maintenance.statuses().iter().position(|x| *x == s);
                        prop_assert!(order(status) >= order(before.status()));
                    }
                    prop_assert_eq!(next.updates().len(), before.updates().len() + 1);
                    accepted.push(u);
                    t = next;
                }
                Err(e) => {
                    // Refused: for a reason that holds, and nothing changed.
                    match e {
                        UpdateError::Empty => prop_assert!(!says),
                        UpdateError::WrongTrack { .. } => prop_assert_ne!(status.track(), Track::of(kind)),
                        UpdateError::BeforePrevious { previous } => prop_assert!(at < previous),
                        UpdateError::NotAllowed { from, to } => {
                            prop_assert_eq!(from, before.status());
                            prop_assert_eq!(to, status);
                        }
                    }
                    prop_assert_eq!(&t, &before);
                }
            }
            was_over = t.is_over();
        }
        // What was accepted replays to the same timeline.
        let replayed = Timeline::replay(kind, &accepted).unwrap();
        prop_assert_eq!(replayed, t);
    }
}
