//! Scenario tests of the three lifecycles, in London wall time.

mod request {
    use crate::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
    use crate::domain::itil::request::*;
    use crate::domain::itil::*;
    use chrono::{NaiveDate, TimeZone};

    fn london(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London
            .with_ymd_and_hms(2026, 12, d, h, m, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn bronze() -> Calendar {
        let hours = WeeklyHours::weekdays(&[DayInterval::parse("09:00-17:00").unwrap()]).unwrap();
        let spec = CalendarSpec {
            time_zone: chrono_tz::Europe::London,
            hours,
            closed_dates: Default::default(),
        };
        Calendar::compile(
            &spec,
            NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2027, 12, 31).unwrap(),
        )
    }

    fn apply(r: &mut ServiceRequest, at: DateTime<Utc>, by: &Actor, a: RequestAction) {
        for e in r.decide(at, by, &a).unwrap_or_else(|e| panic!("{a:?}: {e}")) {
            r.evolve(&e);
        }
    }

    /// Tuesday 1 December 2026, London: a request needing approval waits
    /// (paused) from 10:00 until the approver agrees at 14:00; fulfilment
    /// then takes until Wednesday 11:00. On a 09:00–17:00 calendar that is
    /// 0 h (paused) + 3 h (Tue 14:00–17:00) + 2 h (Wed 09:00–11:00) = 5 h.
    #[test]
    fn approval_pauses_the_fulfilment_clock_in_london_business_hours() {
        let carol = Actor::Customer("7".into());
        let dora = Actor::Customer("8".into());
        let alice = Actor::Agent("1".into());
        let mut r = ServiceRequest::replay(&ServiceRequest::raise(
            london(1, 10, 0),
            carol.clone(),
            "vpn-account",
            "1",
            vec!["8".into()],
        ))
        .unwrap();
        assert_eq!(r.status, RequestStatus::AwaitingApproval);
        // Nobody fulfils an unapproved request, and the requester is not an approver.
        assert!(
            r.decide(london(1, 11, 0), &alice, &RequestAction::StartFulfilment)
                .is_err()
        );
        assert!(matches!(
            r.decide(
                london(1, 11, 0),
                &carol,
                &RequestAction::Approve { comment: "ok".into() }
            ),
            Err(Refused::NotAllowed { .. })
        ));
        apply(
            &mut r,
            london(1, 14, 0),
            &dora,
            RequestAction::Approve { comment: "Yes".into() },
        );
        assert_eq!(r.status, RequestStatus::InFulfilment);
        let cal = bronze();
        let at_noon_wed = r.fulfilment(&cal, 8 * 3600, london(2, 12, 0)).unwrap();
        assert_eq!(at_noon_wed.elapsed_seconds, 6 * 3600);
        assert_eq!(at_noon_wed.state, FulfilmentState::Running);
        assert_eq!(at_noon_wed.due_at, Some(london(2, 14, 0)));
        apply(
            &mut r,
            london(2, 11, 0),
            &alice,
            RequestAction::Fulfil {
                note: "Account made".into(),
            },
        );
        let done = r.fulfilment(&cal, 8 * 3600, london(3, 9, 0)).unwrap();
        assert_eq!((done.elapsed_seconds, done.state), (5 * 3600, FulfilmentState::Met));
    }

    #[test]
    fn a_refusal_ends_the_request_and_says_why() {
        let carol = Actor::Customer("7".into());
        let dora = Actor::Customer("8".into());
        let mut r = ServiceRequest::replay(&ServiceRequest::raise(
            london(1, 10, 0),
            carol,
            "vpn-account",
            "1",
            vec!["8".into()],
        ))
        .unwrap();
        assert!(
            r.decide(london(1, 11, 0), &dora, &RequestAction::Refuse { comment: " ".into() })
                .is_err()
        );
        apply(
            &mut r,
            london(1, 11, 0),
            &dora,
            RequestAction::Refuse {
                comment: "No budget".into(),
            },
        );
        assert_eq!(r.status, RequestStatus::Refused);
        assert_eq!(
            r.decide(london(1, 12, 0), &dora, &RequestAction::Approve { comment: "".into() }),
            Err(Refused::Final { status: "refused" })
        );
    }
}

mod problem {
    use crate::domain::itil::problem::*;
    use crate::domain::itil::*;
    use chrono::TimeZone;

    fn london(d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London
            .with_ymd_and_hms(2026, 12, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_problem_from_three_incidents_becomes_a_known_error_and_is_resolved() {
        let alice = Actor::Agent("1".into());
        let refs = vec![
            "SD-000001".to_string(),
            "SD-000002".into(),
            "SD-000002".into(),
            "SD-000003".into(),
        ];
        let mut p = Problem::replay(&Problem::open(london(1, 9), alice.clone(), refs).unwrap()).unwrap();
        assert_eq!(p.incidents.len(), 3, "a reference given twice is linked once");
        assert!(Problem::open(london(1, 9), Actor::Customer("7".into()), vec![]).is_err());
        fn run(p: &mut Problem, at: DateTime<Utc>, a: ProblemAction) {
            for e in p
                .decide(at, &Actor::Agent("1".into()), &a)
                .unwrap_or_else(|e| panic!("{a:?}: {e}"))
            {
                p.evolve(&e);
            }
        }
        run(&mut p, london(1, 10), ProblemAction::Investigate);
        run(
            &mut p,
            london(1, 11),
            ProblemAction::RecordWorkaround {
                text: "Restart the NFS client".into(),
            },
        );
        run(&mut p, london(1, 12), ProblemAction::DeclareKnownError);
        assert!(p.known_error && p.status == ProblemStatus::KnownError);
        run(
            &mut p,
            london(2, 9),
            ProblemAction::Resolve {
                note: "Kernel patched".into(),
            },
        );
        assert_eq!(p.resolved_at, Some(london(2, 9)));
        assert!(p.known_error, "a resolved known error stays on the list");
        run(&mut p, london(3, 9), ProblemAction::Close);
        assert_eq!(
            p.decide(london(3, 10), &alice, &ProblemAction::Investigate),
            Err(Refused::Final { status: "closed" })
        );
    }

    #[test]
    fn a_known_error_needs_a_cause_or_a_workaround() {
        let alice = Actor::Agent("1".into());
        let p = Problem::replay(&Problem::open(london(1, 9), alice.clone(), vec![]).unwrap()).unwrap();
        assert!(matches!(
            p.decide(london(1, 10), &alice, &ProblemAction::DeclareKnownError),
            Err(Refused::Invalid(_))
        ));
    }
}

mod change {
    use crate::domain::itil::change::*;
    use crate::domain::itil::*;
    use chrono::TimeZone;

    fn london(d: u32, h: u32) -> DateTime<Utc> {
        chrono_tz::Europe::London
            .with_ymd_and_hms(2026, 12, d, h, 0, 0)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn agent(id: &str) -> Actor {
        Actor::Agent(id.into())
    }

    fn run(c: &mut Change, at: DateTime<Utc>, by: &Actor, a: ChangeAction) {
        for e in c.decide(at, by, &a).unwrap_or_else(|e| panic!("{a:?}: {e}")) {
            c.evolve(&e);
        }
    }

    fn at_cab(kind: ChangeKind, rule: CabRule) -> Change {
        let mut c = Change::replay(&Change::draft(london(1, 9), agent("1"), kind).unwrap()).unwrap();
        run(&mut c, london(1, 9), &agent("1"), ChangeAction::Submit);
        run(
            &mut c,
            london(1, 10),
            &agent("1"),
            ChangeAction::Assess {
                risk: Risk::Medium,
                impact: "Storage paths fail over".into(),
            },
        );
        let approvers = vec!["11".into(), "12".into(), "13".into()];
        run(
            &mut c,
            london(1, 11),
            &agent("1"),
            ChangeAction::SendToCab { approvers, rule },
        );
        c
    }

    /// The daily CAB, Tuesday 1 December 2026: a quorum of 2 of 3.
    #[test]
    fn a_quorum_of_two_approves_and_a_lost_quorum_rejects() {
        let mut c = at_cab(ChangeKind::Normal, CabRule::Quorum { of: 2 });
        assert!(matches!(
            c.decide(
                london(1, 12),
                &agent("1"),
                &ChangeAction::Approve { comment: "".into() }
            ),
            Err(Refused::NotAllowed { .. })
        ));
        run(
            &mut c,
            london(1, 12),
            &agent("11"),
            ChangeAction::Approve { comment: "Fine".into() },
        );
        assert_eq!(c.status, ChangeStatus::AwaitingCab);
        run(
            &mut c,
            london(1, 12),
            &agent("12"),
            ChangeAction::Approve { comment: "".into() },
        );
        assert_eq!(c.status, ChangeStatus::Approved);

        let mut r = at_cab(ChangeKind::Normal, CabRule::Quorum { of: 2 });
        run(
            &mut r,
            london(1, 12),
            &agent("11"),
            ChangeAction::Reject {
                comment: "No back-out plan".into(),
            },
        );
        assert_eq!(r.status, ChangeStatus::AwaitingCab, "two may still approve");
        run(
            &mut r,
            london(1, 13),
            &agent("12"),
            ChangeAction::Reject {
                comment: "Agreed".into(),
            },
        );
        assert_eq!(r.status, ChangeStatus::Rejected);
    }

    #[test]
    fn a_freeze_keeps_all_but_an_emergency_with_a_reason_out() {
        let christmas = Freeze {
            name: "Christmas".into(),
            start: london(21, 0),
            end: london(28, 0),
        };
        let mut c = at_cab(ChangeKind::Normal, CabRule::Any);
        run(
            &mut c,
            london(1, 12),
            &agent("13"),
            ChangeAction::Approve { comment: "".into() },
        );
        let schedule = |reason: Option<&str>| ChangeAction::Schedule {
            start: london(22, 22),
            end: london(22, 23),
            freezes: vec![christmas.clone()],
            reason: reason.map(str::to_string),
        };
        assert!(matches!(
            c.decide(london(2, 9), &agent("1"), &schedule(Some("please"))),
            Err(Refused::Invalid(_))
        ));
        let mut e = at_cab(ChangeKind::Emergency, CabRule::Any);
        run(
            &mut e,
            london(1, 12),
            &agent("11"),
            ChangeAction::Approve { comment: "".into() },
        );
        assert!(e.decide(london(2, 9), &agent("1"), &schedule(None)).is_err());
        run(
            &mut e,
            london(2, 9),
            &agent("1"),
            schedule(Some("Security fix for CVE")),
        );
        assert_eq!(e.status, ChangeStatus::Scheduled);
        assert_eq!(e.window, Some((london(22, 22), london(22, 23))));
    }

    #[test]
    fn a_standard_change_is_approved_on_submission_and_runs_to_closed() {
        let mut c = Change::replay(&Change::draft(london(1, 9), agent("1"), ChangeKind::Standard).unwrap()).unwrap();
        run(&mut c, london(1, 9), &agent("1"), ChangeAction::Submit);
        assert_eq!(c.status, ChangeStatus::Approved);
        let window = ChangeAction::Schedule {
            start: london(3, 20),
            end: london(3, 21),
            freezes: vec![],
            reason: None,
        };
        run(&mut c, london(2, 9), &agent("1"), window);
        run(&mut c, london(3, 20), &agent("1"), ChangeAction::Start);
        run(&mut c, london(3, 21), &agent("1"), ChangeAction::Complete);
        run(
            &mut c,
            london(4, 9),
            &agent("1"),
            ChangeAction::Review {
                outcome: Outcome::Success,
                notes: "Done in the window".into(),
            },
        );
        run(&mut c, london(4, 10), &agent("1"), ChangeAction::Close);
        assert_eq!((c.status, c.outcome), (ChangeStatus::Closed, Some(Outcome::Success)));
    }
}

mod catalogue {
    use std::collections::BTreeMap;

    use crate::domain::duration::BusinessDuration;
    use crate::domain::itil::catalogue::*;

    const VPN: &str = r#"
slug = "vpn-account"
version = "2026-12"
name = "VPN account"
description = "Remote access for one person."
approval = "account_contact"

[[fields]]
key = "person"
label = "Who needs it"
type = "user"
required = true

[[fields]]
key = "access"
type = "choice"
choices = ["office", "datacentre"]
required = true

[[fields]]
key = "months"
type = "number"
min = 1
max = 12

[[fields]]
key = "start"
type = "date"

[fulfilment]
platinum = "4h"
bronze = "3bd"
"#;

    #[test]
    fn an_item_is_read_with_its_form_approval_and_targets() {
        let item = Item::from_toml("catalogue/vpn-account.toml", VPN).unwrap();
        assert_eq!(item.approval, Approval::AccountContact);
        assert_eq!(item.fields.len(), 4);
        assert_eq!(item.fields[1].label, "access", "a label defaults to the key");
        assert_eq!(
            item.targets.get("bronze"),
            Some(&BusinessDuration::Span {
                business_days: 3,
                seconds: 0
            })
        );
        let form = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> {
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
        };
        let ok = item
            .answers(&form(&[
                ("person", "Dora@Acme.example"),
                ("access", "office"),
                ("months", "6"),
            ]))
            .unwrap();
        assert_eq!(ok["person"], Answer::Text("dora@acme.example".into()));
        assert_eq!(ok["months"], Answer::Number(6));
        let wrong = item
            .answers(&form(&[
                ("access", "moon"),
                ("months", "13"),
                ("start", "31/12/2026"),
                ("colour", "red"),
            ]))
            .unwrap_err();
        let keys: Vec<&str> = wrong.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["colour", "person", "access", "months", "start"], "{wrong:?}");
        assert_eq!(wrong[1].1, "is required");
    }

    #[test]
    fn a_bad_item_names_its_file_line_and_field() {
        let bad = VPN.replace("type = \"date\"", "type = \"colour\"");
        let e = Item::from_toml("catalogue/vpn-account.toml", &bad).unwrap_err();
        assert_eq!((e.field.as_str(), e.line), ("fields[3].type", Some(28)), "{e}");
        assert!(
            e.to_string()
                .starts_with("catalogue/vpn-account.toml:28: fields[3].type: unknown type 'colour'"),
            "{e}"
        );
        let bad = VPN.replace("bronze = \"3bd\"", "bronze = \"three days\"");
        let e = Item::from_toml("x.toml", &bad).unwrap_err();
        assert_eq!(e.field, "fulfilment.bronze", "{e}");
        let bad = VPN.replace("approval = \"account_contact\"", "approval = \"the boss\"");
        assert_eq!(Item::from_toml("x.toml", &bad).unwrap_err().field, "approval");
        let bad = VPN.replace("choices = [\"office\", \"datacentre\"]", "choices = [\"office\"]");
        assert_eq!(Item::from_toml("x.toml", &bad).unwrap_err().field, "fields[1].choices");
    }
}
