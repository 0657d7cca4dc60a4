//! Any sequence of commands, from anyone, at any time, for the service
//! request, problem and change lifecycles: none panics, a refusal records
//! nothing, the record replays from its events to the same record, a final
//! status is never left, and each lifecycle's own promise holds (nobody
//! fulfils an unapproved request; a known error has a cause or a
//! workaround; a change is approved only by its CAB's rule, and sits in a
//! freeze only as an emergency that said why).

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use sladesk::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
use sladesk::domain::itil::change::{
    CabRule, Change, ChangeAction, ChangeEventKind, ChangeKind, ChangeStatus, Freeze, Outcome, Risk,
};
use sladesk::domain::itil::problem::{Problem, ProblemAction, ProblemStatus};
use sladesk::domain::itil::request::{RequestAction, RequestStatus, ServiceRequest};
use sladesk::domain::itil::{Actor, Visibility};

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 27, 9, 0, 0).unwrap() // the Friday before the clocks change
}

fn actor() -> impl Strategy<Value = Actor> {
    prop_oneof![
        Just(Actor::Agent("1".into())),
        Just(Actor::Agent("11".into())),
        Just(Actor::Agent("12".into())),
        Just(Actor::Agent("13".into())),
        Just(Actor::Customer("7".into())),
        Just(Actor::Customer("8".into())),
        Just(Actor::System),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), Just(" ".to_string()), Just("words".to_string())]
}

fn when() -> impl Strategy<Value = i64> {
    prop_oneof![8 => 0i64..(2 * 86_400), 1 => -3600i64..0]
}

fn request_action() -> impl Strategy<Value = RequestAction> {
    prop_oneof![
        text().prop_map(|comment| RequestAction::Approve { comment }),
        text().prop_map(|comment| RequestAction::Refuse { comment }),
        Just(RequestAction::StartFulfilment),
        text().prop_map(|body| RequestAction::AskCustomer { body }),
        text().prop_map(|body| RequestAction::CustomerReply { body }),
        text().prop_map(|body| RequestAction::Comment {
            visibility: Visibility::Internal,
            body
        }),
        text().prop_map(|note| RequestAction::Fulfil { note }),
        text().prop_map(|reason| RequestAction::Reopen { reason }),
        Just(RequestAction::Close),
        text().prop_map(|reason| RequestAction::Cancel { reason }),
    ]
}

fn problem_action() -> impl Strategy<Value = ProblemAction> {
    let reference = prop_oneof![Just("SD-000001".to_string()), Just("SD-000002".to_string())];
    prop_oneof![
        1 => Just(ProblemAction::Investigate),
        1 => text().prop_map(|text| ProblemAction::RecordRootCause { text }),
        1 => text().prop_map(|text| ProblemAction::RecordWorkaround { text }),
        2 => Just(ProblemAction::DeclareKnownError),
        1 => reference.clone().prop_map(|reference| ProblemAction::LinkIncident { reference }),
        1 => reference.prop_map(|reference| ProblemAction::UnlinkIncident { reference }),
        1 => (0i64..30).prop_map(|d| ProblemAction::SetTarget {
            at: (d > 0).then(|| start() + Duration::days(d - 3))
        }),
        1 => text().prop_map(|body| ProblemAction::Note { body }),
        1 => text().prop_map(|note| ProblemAction::Resolve { note }),
        1 => text().prop_map(|reason| ProblemAction::Reopen { reason }),
        1 => Just(ProblemAction::Close),
    ]
}

fn freeze() -> Freeze {
    Freeze {
        name: "Easter".into(),
        start: start() + Duration::days(5),
        end: start() + Duration::days(9),
    }
}

fn change_action() -> impl Strategy<Value = ChangeAction> {
    let rule = prop_oneof![
        1 => Just(CabRule::All),
        1 => Just(CabRule::Any),
        1 => (0u32..5).prop_map(|of| CabRule::Quorum { of })
    ];
    let approvers = proptest::sample::subsequence(vec!["11".to_string(), "12".into(), "13".into()], 0..=3);
    prop_oneof![
        2 => Just(ChangeAction::Submit),
        2 => text().prop_map(|impact| ChangeAction::Assess { risk: Risk::High, impact }),
        2 => (approvers, rule).prop_map(|(approvers, rule)| ChangeAction::SendToCab { approvers, rule }),
        3 => text().prop_map(|comment| ChangeAction::Approve { comment }),
        2 => text().prop_map(|comment| ChangeAction::Reject { comment }),
        2 => (0i64..14, -2i64..6, prop::option::of(text())).prop_map(|(d, len, reason)| ChangeAction::Schedule {
            start: start() + Duration::days(d),
            end: start() + Duration::days(d) + Duration::hours(len),
            freezes: vec![freeze()],
            reason,
        }),
        1 => Just(ChangeAction::Start),
        1 => Just(ChangeAction::Complete),
        1 => text().prop_map(|note| ChangeAction::BackOut { note }),
        1 => text().prop_map(|note| ChangeAction::Fail { note }),
        1 => text().prop_map(|notes| ChangeAction::Review { outcome: Outcome::Success, notes }),
        1 => Just(ChangeAction::Close),
        1 => text().prop_map(|reason| ChangeAction::Cancel { reason }),
        1 => text().prop_map(|body| ChangeAction::Note { body }),
    ]
}

fn weekdays() -> Calendar {
    let hours = WeeklyHours::weekdays(&[DayInterval::parse("08:00-17:30").unwrap()]).unwrap();
    let spec = CalendarSpec {
        time_zone: chrono_tz::Europe::London,
        hours,
        closed_dates: Default::default(),
    };
    Calendar::compile(
        &spec,
        chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn requests_hold_their_promises(
        needs_approval in any::<bool>(),
        steps in prop::collection::vec((when(), actor(), request_action()), 0..40),
    ) {
        let approvers = if needs_approval { vec!["8".to_string()] } else { Vec::new() };
        let mut r = ServiceRequest::replay(&ServiceRequest::raise(start(), Actor::Customer("7".into()), "vpn", "1", approvers)).unwrap();
        let mut at = start();
        for (dt, by, action) in steps {
            at += Duration::seconds(dt);
            let before = r.clone();
            match r.decide(at, &by, &action) {
                Ok(events) => {
                    prop_assert!(!events.is_empty());
                    prop_assert!(!before.status.is_final(), "a final request changed: {:?}", before.status);
                    for e in &events { r.evolve(e); }
                }
                Err(_) => prop_assert_eq!(&r, &before),
            }
            if needs_approval && matches!(r.status, RequestStatus::InFulfilment | RequestStatus::Fulfilled | RequestStatus::Closed) {
                prop_assert!(r.approved.is_some(), "worked without approval");
            }
        }
        prop_assert_eq!(&ServiceRequest::replay(&r.events).unwrap(), &r);
        let clock = r.fulfilment(&weekdays(), 8 * 3600, at + Duration::hours(1)).unwrap();
        prop_assert!(clock.elapsed_seconds >= 0);
    }

    #[test]
    fn problems_hold_their_promises(steps in prop::collection::vec((when(), actor(), problem_action()), 0..40)) {
        let mut p = Problem::replay(&Problem::open(start(), Actor::Agent("1".into()), vec!["SD-000001".into()]).unwrap()).unwrap();
        let mut at = start();
        for (dt, by, action) in steps {
            at += Duration::seconds(dt);
            let before = p.clone();
            match p.decide(at, &by, &action) {
                Ok(events) => {
                    prop_assert!(before.status != ProblemStatus::Closed);
                    prop_assert!(matches!(by, Actor::Agent(_) | Actor::System), "a customer worked a problem");
                    for e in &events { p.evolve(e); }
                }
                Err(_) => prop_assert_eq!(&p, &before),
            }
            if p.known_error {
                prop_assert!(p.root_cause.is_some() || p.workaround.is_some());
            }
            prop_assert!(p.status != ProblemStatus::KnownError || p.known_error, "a known error not flagged");
        }
        prop_assert_eq!(&Problem::replay(&p.events).unwrap(), &p);
    }

    #[test]
    fn changes_hold_their_promises(
        kind in prop_oneof![Just(ChangeKind::Standard), Just(ChangeKind::Normal), Just(ChangeKind::Emergency)],
        steps in prop::collection::vec((when(), actor(), change_action()), 0..50),
    ) {
        let mut c = Change::replay(&Change::draft(start(), Actor::Agent("1".into()), kind).unwrap()).unwrap();
        let mut at = start();
        for (dt, by, action) in steps {
            at += Duration::seconds(dt);
            let before = c.clone();
            match c.decide(at, &by, &action) {
                Ok(events) => {
                    prop_assert!(!before.status.is_final());
                    for e in &events {
                        c.evolve(e);
                        if let ChangeEventKind::StatusChanged { to: ChangeStatus::Approved, .. } = e.kind
                            && kind != ChangeKind::Standard
                        {
                            let (yes, _) = c.tally();
                            let needed = c.rule.unwrap().needed(c.approvers.len());
                            prop_assert!(yes >= needed && needed > 0, "approved on {yes} of {needed}");
                        }
                        if let ChangeEventKind::Scheduled { start: s, end: e2, in_freeze } = &e.kind {
                            let f = freeze();
                            let frozen = *s < f.end && f.start < *e2;
                            prop_assert_eq!(frozen, in_freeze.is_some());
                            prop_assert!(!frozen || kind == ChangeKind::Emergency);
                            prop_assert!(e2 > s);
                        }
                    }
                }
                Err(_) => prop_assert_eq!(&c, &before),
            }
        }
        prop_assert_eq!(&Change::replay(&c.events).unwrap(), &c);
    }
}
