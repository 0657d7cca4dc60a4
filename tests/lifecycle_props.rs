//! Any sequence of commands, from anyone, at any time: the state machine
//! never panics, refuses without changing anything, replays to the same
//! ticket, and its clocks keep their invariants.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use sladesk::domain::clock::{ClockState, sla};
use sladesk::domain::holidays::{Holidays, Region};
use sladesk::domain::policy::{Policy, PolicyCalendars};
use sladesk::domain::ticket::{Action, Actor, Command, EventKind, Severity, SlaContext, Status, Ticket};

fn setups() -> &'static Vec<(Policy, PolicyCalendars)> {
    static S: OnceLock<Vec<(Policy, PolicyCalendars)>> = OnceLock::new();
    S.get_or_init(|| {
        let set = sladesk::config::policies::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sla-policies"
        )))
        .unwrap();
        let h = Holidays::from_rules();
        ["silver", "gold", "platinum", "bronze"]
            .iter()
            .zip([
                Region::EnglandAndWales,
                Region::Scotland,
                Region::NorthernIreland,
                Region::Scotland,
            ])
            .map(|(n, r)| {
                let p = set.iter().find(|(p, _)| p.name == *n).unwrap().0.clone();
                let c = p.calendars(&h, r);
                (p, c)
            })
            .collect()
    })
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        3 => Just(Actor::Agent("alice".into())),
        1 => Just(Actor::Agent("bob".into())),
        2 => Just(Actor::Customer("carol@example.org".into())),
        1 => Just(Actor::System),
    ]
}

fn severity() -> impl Strategy<Value = Severity> {
    (1u8..=4).prop_map(|n| Severity::try_from(n).unwrap())
}

fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        1 => Just(Action::AgentReply { body: "r".into() }),
        1 => Just(Action::InternalNote { body: "n".into() }),
        1 => Just(Action::CustomerReply { body: "c".into() }),
        1 => Just(Action::Notice { body: "ack".into() }),
        1 => prop_oneof![Just(None), Just(Some("alice".to_string())), Just(Some("bob".to_string()))].prop_map(|to| Action::Assign { to }),
        2 => proptest::sample::select(Status::ALL.to_vec()).prop_map(|to| Action::SetStatus { to }),
        1 => severity().prop_map(|to| Action::SetSeverity { to }),
        1 => Just(Action::Resolve),
        1 => Just(Action::Reopen),
        1 => Just(Action::Close),
        1 => Just(Action::Cancel),
        2 => Just(Action::Tick),
        // A merge; its receipt is set against the ticket's in the run.
        1 => (1i64..(2 * 86_400)).prop_map(|before| Action::Absorb {
            from: "SD-000009".into(),
            received_at: DateTime::<Utc>::from_timestamp(before, 0).unwrap(),
            messages: vec![sladesk::domain::ticket::CopiedMessage {
                by: Actor::Customer("carol@example.org".into()),
                at: DateTime::<Utc>::from_timestamp(before, 0).unwrap(),
                body: "first".into(),
            }],
        }),
    ]
}

fn step() -> impl Strategy<Value = (i64, Actor, Action)> {
    // Mostly minutes to days forward, sometimes backwards in time.
    (
        prop_oneof![8 => 0i64..(3 * 86_400), 1 => -3600i64..0],
        actor(),
        action(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn any_history_is_safe_and_replayable(
        which in 0usize..4,
        start in 1_700_000_000i64..1_900_000_000,
        sev in severity(),
        steps in prop::collection::vec(step(), 0..40),
    ) {
        let (policy, calendars) = &setups()[which];
        let ctx = SlaContext { policy, calendars };
        let t0 = DateTime::<Utc>::from_timestamp(start, 0).unwrap();
        let mut ticket = Ticket::create(t0, Actor::Customer("carol@example.org".into()), sev, policy);
        let mut now = t0;
        for (gap, by, action) in steps {
            now += Duration::seconds(gap);
            // A merged duplicate came in up to two days before this ticket.
            let action = match action {
                Action::Absorb { from, received_at, messages } => {
                    let earlier = t0 - Duration::seconds(received_at.timestamp());
                    let messages = messages.into_iter().map(|m| sladesk::domain::ticket::CopiedMessage { at: earlier, ..m }).collect();
                    Action::Absorb { from, received_at: earlier, messages }
                }
                a => a,
            };
            // What the pages would offer `by` now is exactly what is then accepted.
            let offered = (now >= ticket.last_event_at()).then(|| ticket.moves(&by, now, &ctx)).and_then(|m| match &action {
                Action::Resolve => Some(m.resolve),
                Action::Reopen => Some(m.reopen),
                Action::Close => Some(m.close),
                Action::Cancel => Some(m.cancel),
                Action::SetStatus { to } => Some(m.statuses.contains(to)),
                Action::SetSeverity { to } => Some(m.severities.contains(to)),
                Action::InternalNote { .. } => Some(m.note),
                _ => None,
            });
            let cmd = Command { at: now, by, action: action.clone() };
            let outcome = ticket.apply(&cmd, &ctx);
            if let Some(offered) = offered {
                prop_assert_eq!(offered, outcome.is_ok(), "{:?} offered {} but accepted {}", action, offered, outcome.is_ok());
            }
            match outcome {
                Ok((next, events)) => {
                    prop_assert_eq!(next.events.len(), ticket.events.len() + events.len());
                    if matches!(action, Action::Tick) {
                        let after = sla(&next, &ctx, now).unwrap();
                        prop_assert!(after.pending_alerts.iter().all(|a| a.due_at > now), "a tick leaves nothing due behind");
                    }
                    ticket = next;
                }
                Err(_) => {
                    if now < ticket.last_event_at() { now = ticket.last_event_at(); }
                }
            }
        }
        prop_assert_eq!(&Ticket::replay(&ticket.events).unwrap(), &ticket);

        let view = sla(&ticket, &ctx, now).unwrap();
        let cal = ctx.calendar(ticket.severity);
        // Business time since the receipt (a merge may have moved it earlier).
        prop_assert!(ticket.received_at <= t0);
        let wall = cal.between(ticket.received_at, now).unwrap().num_seconds();
        for c in [&view.response, &view.resolve] {
            prop_assert!(c.elapsed_seconds >= 0 && c.elapsed_seconds <= wall, "elapsed within the business time since receipt");
            if matches!(c.state, ClockState::Paused | ClockState::Met | ClockState::BreachedMet | ClockState::Cancelled) {
                prop_assert_eq!(c.due, None);
            }
            // A cancelled clock keeps the breach it had, if any.
            prop_assert_eq!(c.state.is_breached() || (c.state == ClockState::Cancelled && c.breached_at.is_some()), c.breached_at.is_some());
            if let (Some(b), Some(t)) = (c.breached_at, c.target_seconds) {
                prop_assert!(b <= now);
                prop_assert!(c.elapsed_seconds >= t);
            }
        }
        let mut keys = BTreeSet::new();
        for e in &ticket.events {
            if let EventKind::AlertRecorded { clock, level, severity, .. } = e.kind {
                prop_assert!(keys.insert((clock, level, severity)), "an alert recorded twice");
            }
        }
        if let Some(next) = view.next_check_at {
            prop_assert!(view.pending_alerts.iter().all(|a| a.due_at >= next));
        }
    }
}

/// The active statuses listed for the database are exactly those that do
/// not stop the clocks.
#[test]
fn the_active_statuses_are_those_that_keep_the_clocks() {
    use sladesk::domain::ticket::Status;
    let derived: Vec<Status> = Status::ALL.into_iter().filter(|s| !s.stops_clocks()).collect();
    assert_eq!(Status::ACTIVE.to_vec(), derived);
}
