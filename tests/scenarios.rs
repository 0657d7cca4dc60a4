//! The service desk's day, told as tickets. Every expected instant is
//! written in Europe/London wall time with its zone, as an agent would say it.

use chrono::{DateTime, Utc};
use sladesk::domain::clock::{AlertLevel, ClockKind, ClockState, SlaView, sla};
use sladesk::domain::holidays::{Holidays, Region};
use sladesk::domain::policy::{Policy, PolicyCalendars};
use sladesk::domain::ticket::{Action, Actor, Command, CommandError, EventKind, Severity, SlaContext, Status, Ticket};

/// `"2027-05-04 08:30 BST"` or `"... GMT"` to an instant.
fn london(s: &str) -> DateTime<Utc> {
    let (wall, zone) = s.rsplit_once(' ').unwrap();
    let offset = match zone {
        "BST" => "+01:00",
        "GMT" => "+00:00",
        z => panic!("zone {z}"),
    };
    DateTime::parse_from_str(&format!("{wall} {offset}"), "%Y-%m-%d %H:%M %:z")
        .unwrap()
        .with_timezone(&Utc)
}

/// An instant as London wall time with its zone, for failure messages.
fn show(t: Option<DateTime<Utc>>) -> String {
    match t {
        None => "none".into(),
        Some(t) => {
            let l = t.with_timezone(&chrono_tz::Europe::London);
            let zone = if l.offset().to_string() == "BST" { "BST" } else { "GMT" };
            format!("{} {zone}", l.format("%a %Y-%m-%d %H:%M:%S"))
        }
    }
}

/// The shipped policy version in effect when the ticket is received.
fn policy(name: &str, received: DateTime<Utc>) -> Policy {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/sla-policies");
    let set = sladesk::config::policies::load_dir(std::path::Path::new(dir)).unwrap();
    set.effective(name, received).unwrap().clone()
}

struct Case {
    policy: Policy,
    calendars: PolicyCalendars,
    ticket: Ticket,
    history: Vec<Command>,
}

const AGENT: fn() -> Actor = || Actor::Agent("alice".into());
const CUSTOMER: fn() -> Actor = || Actor::Customer("carol@example.org".into());

impl Case {
    fn raise(policy_name: &str, region: Region, severity: Severity, at: &str) -> Case {
        let policy = policy(policy_name, london(at));
        let calendars = policy.calendars(&Holidays::from_rules(), region);
        let ticket = Ticket::create(london(at), CUSTOMER(), severity, &policy);
        Case {
            policy,
            calendars,
            ticket,
            history: vec![],
        }
    }

    fn ctx(&self) -> SlaContext<'_> {
        SlaContext {
            policy: &self.policy,
            calendars: &self.calendars,
        }
    }

    fn try_do(&mut self, at: &str, by: Actor, action: Action) -> Result<Vec<EventKind>, CommandError> {
        let cmd = Command {
            at: london(at),
            by,
            action,
        };
        let (next, events) = self.ticket.apply(&cmd, &self.ctx())?;
        self.ticket = next;
        self.history.push(cmd);
        Ok(events.into_iter().map(|e| e.kind).collect())
    }

    fn act(&mut self, at: &str, by: Actor, action: Action) -> Vec<EventKind> {
        let what = format!("{action:?} at {at}");
        self.try_do(at, by, action).unwrap_or_else(|e| panic!("{what}: {e}"))
    }

    fn sla(&self, now: &str) -> SlaView {
        sla(&self.ticket, &self.ctx(), london(now)).unwrap()
    }
}

fn reply() -> Action {
    Action::AgentReply {
        body: "Looking into it".into(),
    }
}

#[test]
fn silver_s1_raised_friday_five_pm_before_a_bank_holiday_monday() {
    // Monday 3 May 2027 is the Early May bank holiday.
    let c = Case::raise("silver", Region::EnglandAndWales, Severity::S1, "2027-04-30 17:00 BST");
    let s = c.sla("2027-04-30 17:00 BST");
    assert_eq!(
        s.response.due,
        Some(london("2027-05-04 08:30 BST")),
        "half an hour on Friday, the Monday holiday skipped, so response is due Tuesday 08:30 BST, got {}",
        show(s.response.due)
    );
    assert_eq!(
        s.resolve.due,
        Some(london("2027-05-04 17:00 BST")),
        "one business day (9h30) from Friday 17:00 ends Tuesday 17:00 BST, got {}",
        show(s.resolve.due)
    );
    assert_eq!(
        s.response.at_risk.iter().map(|t| show(t.at)).collect::<Vec<_>>(),
        vec!["Tue 2027-05-04 08:15:00 BST", "Tue 2027-05-04 08:24:00 BST"],
        "75% and 90% of an hour"
    );
    assert_eq!(
        s.next_check_at,
        Some(london("2027-05-04 08:15 BST")),
        "first check: the 75% warning, got {}",
        show(s.next_check_at)
    );

    // Over the long weekend nothing elapses.
    let s = c.sla("2027-05-03 12:00 BST");
    assert_eq!(
        s.response.elapsed_seconds,
        30 * 60,
        "only Friday's last half hour counts by Monday noon"
    );
    assert_eq!(s.response.state, ClockState::Running);
}

#[test]
fn a_ticket_waiting_on_the_customer_over_a_weekend_pauses_its_resolve_clock() {
    for (region, due, why) in [
        (
            Region::EnglandAndWales,
            "2026-12-01 16:30 GMT",
            "11h30 before the pause, 17h after Monday 09:00: Tuesday 16:30 GMT",
        ),
        (
            Region::Scotland,
            "2026-12-02 15:30 GMT",
            "Monday is St Andrew's Day in Scotland, so Wednesday 15:30 GMT",
        ),
    ] {
        let mut c = Case::raise("silver", region, Severity::S2, "2026-11-26 10:00 GMT");
        c.act("2026-11-26 10:30 GMT", AGENT(), reply());
        c.act(
            "2026-11-27 12:00 GMT",
            AGENT(),
            Action::SetStatus {
                to: Status::PendingCustomer,
            },
        );

        let s = c.sla("2026-11-28 12:00 GMT");
        assert_eq!(s.resolve.state, ClockState::Paused, "{region}: paused on Saturday");
        assert_eq!(s.resolve.due, None, "{region}: no due instant while paused");
        assert_eq!(
            s.resolve.elapsed_seconds,
            (7 * 60 + 30 + 4 * 60) * 60,
            "{region}: Thursday 7h30 and Friday 4h"
        );
        assert_eq!(s.response.state, ClockState::Met);
        assert_eq!(s.next_check_at, None, "{region}: nothing to check while paused");

        let events = c.act(
            "2026-11-30 09:00 GMT",
            CUSTOMER(),
            Action::CustomerReply {
                body: "Here are the logs".into(),
            },
        );
        assert!(
            events.contains(&EventKind::StatusChanged {
                from: Status::PendingCustomer,
                to: Status::Open
            }),
            "the customer's reply resumes the ticket"
        );
        let s = c.sla("2026-11-30 09:00 GMT");
        assert_eq!(
            s.resolve.due,
            Some(london(due)),
            "{region}: {why}; got {}",
            show(s.resolve.due)
        );
    }
}

#[test]
fn reopening_inside_the_window_resumes_without_counting_the_resolved_days() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-02 09:00 GMT");
    c.act("2026-11-02 09:30 GMT", AGENT(), reply());
    c.act("2026-11-03 12:00 GMT", AGENT(), Action::Resolve);
    let s = c.sla("2026-11-05 12:00 GMT");
    assert_eq!(s.resolve.state, ClockState::Met);
    assert_eq!(s.resolve.stopped_at, Some(london("2026-11-03 12:00 GMT")));

    c.act("2026-11-09 10:00 GMT", AGENT(), Action::Reopen);
    assert_eq!(c.ticket.status, Status::Open);
    assert_eq!(c.ticket.reopen_count, 1);
    let s = c.sla("2026-11-09 10:00 GMT");
    assert_eq!(
        s.resolve.elapsed_seconds,
        12 * 3600 + 1800,
        "Monday 8h30 and Tuesday 4h; the resolved days are not counted"
    );
    assert_eq!(
        s.resolve.due,
        Some(london("2026-11-12 16:30 GMT")),
        "35h left from Monday 9 Nov 10:00: Thursday 12 Nov 16:30 GMT, got {}",
        show(s.resolve.due)
    );
}

#[test]
fn reopening_after_the_window_is_refused_and_says_when_it_closed() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-02 09:00 GMT");
    c.act("2026-11-02 09:30 GMT", AGENT(), reply());
    c.act("2026-11-03 12:00 GMT", AGENT(), Action::Resolve);
    // Five business days after Tuesday 3 Nov 12:00 is Tuesday 10 Nov 12:00.
    let err = c.try_do("2026-11-10 12:01 GMT", AGENT(), Action::Reopen).unwrap_err();
    assert_eq!(
        err,
        CommandError::ReopenWindowPassed {
            window: "5bd".into(),
            closed_at: london("2026-11-10 12:00 GMT")
        },
        "the window closed Tuesday 10 Nov 12:00 GMT"
    );
    assert_eq!(c.ticket.status, Status::Resolved, "a refused command changes nothing");
    c.act("2026-11-10 12:00 GMT", AGENT(), Action::Reopen);
}

#[test]
fn a_customer_asks_for_a_reopen_and_only_an_agent_reopens() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-02 09:00 GMT");
    c.act("2026-11-02 09:30 GMT", AGENT(), reply());
    c.act("2026-11-03 12:00 GMT", AGENT(), Action::Resolve);
    let err = c
        .try_do("2026-11-04 12:00 GMT", CUSTOMER(), Action::Reopen)
        .unwrap_err();
    assert!(matches!(err, CommandError::NotAllowed("a customer", _)), "{err:?}");
    assert_eq!(c.ticket.status, Status::Resolved, "customers change no status");
}

#[test]
fn raising_severity_from_3_to_1_applies_the_new_targets_from_the_original_start() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-02 09:00 GMT");
    c.act("2026-11-02 09:45 GMT", AGENT(), reply());
    let before = c.sla("2026-11-02 14:00 GMT");
    assert_eq!(
        before.resolve.due,
        Some(london("2026-11-09 09:00 GMT")),
        "S3: 47h30 of business time from Monday 09:00 is the next Monday 09:00 GMT, got {}",
        show(before.resolve.due)
    );

    c.act(
        "2026-11-02 14:00 GMT",
        AGENT(),
        Action::SetSeverity { to: Severity::S1 },
    );
    let s = c.sla("2026-11-02 14:00 GMT");
    assert_eq!(s.resolve.elapsed_seconds, 5 * 3600, "the 5 hours already run are kept");
    assert_eq!(
        s.resolve.due,
        Some(london("2026-11-03 09:00 GMT")),
        "S1's 9h30 counted from Monday 09:00: Tuesday 09:00 GMT, got {}",
        show(s.resolve.due)
    );
    assert_eq!(s.response.state, ClockState::Met, "45 minutes is inside S1's hour too");
}

#[test]
fn raising_severity_late_records_the_breach_at_its_true_instant() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-02 09:00 GMT");
    c.act("2026-11-02 09:45 GMT", AGENT(), reply());
    c.act(
        "2026-11-03 12:00 GMT",
        AGENT(),
        Action::SetSeverity { to: Severity::S1 },
    );
    let s = c.sla("2026-11-03 12:00 GMT");
    assert_eq!(s.resolve.state, ClockState::BreachedRunning);
    assert_eq!(
        s.resolve.breached_at,
        Some(london("2026-11-03 09:00 GMT")),
        "S1's target fell at Tuesday 09:00 GMT, got {}",
        show(s.resolve.breached_at)
    );
    assert_eq!(
        show(s.next_check_at),
        "Mon 2026-11-02 16:07:30 GMT",
        "the S1 75% warning (7h07m30s in) is overdue for recording since Monday 16:07:30 GMT"
    );

    let events = c.act("2026-11-03 12:05 GMT", Actor::System, Action::Tick);
    let due: Vec<(AlertLevel, String)> = events
        .iter()
        .filter_map(|e| match e {
            EventKind::AlertRecorded {
                clock: ClockKind::Resolve,
                level,
                due_at,
                ..
            } => Some((*level, show(Some(*due_at)))),
            _ => None,
        })
        .collect();
    assert_eq!(
        due,
        vec![
            (AlertLevel::AtRisk(75), "Mon 2026-11-02 16:07:30 GMT".to_string()),
            (AlertLevel::AtRisk(90), "Tue 2026-11-03 08:03:00 GMT".to_string()),
            (AlertLevel::Breach, "Tue 2026-11-03 09:00:00 GMT".to_string()),
        ],
        "each warning and the breach carry the instant they fell due"
    );
    assert!(
        c.act("2026-11-03 12:10 GMT", Actor::System, Action::Tick).is_empty(),
        "a second tick records nothing again"
    );
    assert_eq!(c.sla("2026-11-03 12:10 GMT").next_check_at, None);
}

#[test]
fn a_platinum_ticket_across_the_night_the_clocks_go_back() {
    // Clocks go back at 02:00 BST on Sunday 25 October 2026: 01:00–02:00 happens twice.
    let c = Case::raise(
        "platinum",
        Region::EnglandAndWales,
        Severity::S1,
        "2026-10-24 22:00 BST",
    );
    let s = c.sla("2026-10-24 22:00 BST");
    assert_eq!(s.response.due, Some(london("2026-10-24 22:15 BST")));
    assert_eq!(
        s.resolve.due,
        Some(london("2026-10-25 01:00 GMT")),
        "four real hours after 22:00 BST is the second 01:00, in GMT; got {}",
        show(s.resolve.due)
    );
    let c = Case::raise(
        "platinum",
        Region::EnglandAndWales,
        Severity::S2,
        "2026-10-24 22:00 BST",
    );
    let s = c.sla("2026-10-25 04:00 GMT");
    assert_eq!(
        s.resolve.elapsed_seconds,
        7 * 3600,
        "22:00 BST to 04:00 GMT is seven hours, not six"
    );
    assert_eq!(
        s.resolve.due,
        Some(london("2026-10-25 05:00 GMT")),
        "eight hours: 05:00 GMT, got {}",
        show(s.resolve.due)
    );
}

#[test]
fn gold_severity_2_runs_24x7_beside_severity_3_on_business_hours() {
    let s2 =
        Case::raise("gold", Region::EnglandAndWales, Severity::S2, "2026-12-18 16:00 GMT").sla("2026-12-18 16:00 GMT");
    let s3 =
        Case::raise("gold", Region::EnglandAndWales, Severity::S3, "2026-12-18 16:00 GMT").sla("2026-12-18 16:00 GMT");
    assert_eq!(
        s2.response.due,
        Some(london("2026-12-18 17:00 GMT")),
        "S2 on-call: an hour, Friday 17:00 GMT"
    );
    assert_eq!(
        s2.resolve.due,
        Some(london("2026-12-19 16:00 GMT")),
        "S2 on-call: a 24h day, Saturday 16:00 GMT, got {}",
        show(s2.resolve.due)
    );
    assert_eq!(
        s3.response.due,
        Some(london("2026-12-21 08:30 GMT")),
        "S3 business hours: Monday 08:30 GMT, got {}",
        show(s3.response.due)
    );
    assert_eq!(
        s3.resolve.due,
        Some(london("2026-12-23 16:00 GMT")),
        "S3: 28h30 of business time from Friday 16:00: Wednesday 23 Dec 16:00 GMT, got {}",
        show(s3.resolve.due)
    );
}

#[test]
fn the_response_clock_stops_at_the_first_public_agent_reply_only() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S2, "2026-11-26 10:00 GMT");
    c.act(
        "2026-11-26 10:00 GMT",
        Actor::System,
        Action::Notice {
            body: "We have your request".into(),
        },
    );
    c.act(
        "2026-11-26 10:10 GMT",
        AGENT(),
        Action::InternalNote {
            body: "Probably the VPN".into(),
        },
    );
    assert_eq!(
        c.sla("2026-11-26 10:20 GMT").response.state,
        ClockState::Running,
        "an acknowledgement and an internal note are not responses"
    );
    let events = c.act("2026-11-26 10:40 GMT", AGENT(), reply());
    assert!(events.contains(&EventKind::StatusChanged {
        from: Status::New,
        to: Status::Open
    }));
    let s = c.sla("2026-11-26 12:00 GMT");
    assert_eq!(s.response.state, ClockState::Met);
    assert_eq!(s.response.stopped_at, Some(london("2026-11-26 10:40 GMT")));
    assert_eq!(s.response.elapsed_seconds, 40 * 60);
    assert_eq!(s.response.due, None);
}

#[test]
fn a_response_after_the_due_instant_is_breached_and_met() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S1, "2026-11-26 10:00 GMT");
    c.act("2026-11-26 11:20 GMT", AGENT(), reply());
    let s = c.sla("2026-11-26 12:00 GMT");
    assert_eq!(s.response.state, ClockState::BreachedMet);
    assert_eq!(s.response.breached_at, Some(london("2026-11-26 11:00 GMT")));
    // The breach was never recorded by a tick: it still is due for recording, warnings for a met clock are not.
    assert_eq!(
        s.pending_alerts
            .iter()
            .filter(|a| a.key.clock == ClockKind::Response)
            .count(),
        1
    );
}

#[test]
fn the_lifecycle_refuses_what_a_service_desk_would_refuse() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2026-11-26 10:00 GMT");
    assert_eq!(
        c.try_do("2026-11-26 10:05 GMT", AGENT(), Action::Close)
            .unwrap_err()
            .to_string(),
        "cannot close a ticket that is new"
    );
    assert_eq!(
        c.try_do(
            "2026-11-26 10:05 GMT",
            CUSTOMER(),
            Action::SetSeverity { to: Severity::S1 }
        )
        .unwrap_err()
        .to_string(),
        "a customer cannot change a ticket's severity"
    );
    assert_eq!(
        c.try_do(
            "2026-11-26 10:05 GMT",
            CUSTOMER(),
            Action::SetStatus { to: Status::Open }
        )
        .unwrap_err()
        .to_string(),
        "a customer cannot change a ticket's status"
    );
    assert!(matches!(
        c.try_do("2026-11-26 09:59 GMT", AGENT(), reply()),
        Err(CommandError::OutOfOrder { .. })
    ));
    c.act("2026-11-26 10:05 GMT", AGENT(), Action::Resolve);
    c.act("2026-11-26 10:06 GMT", AGENT(), Action::Close);
    assert_eq!(
        c.try_do(
            "2026-11-26 10:07 GMT",
            CUSTOMER(),
            Action::CustomerReply {
                body: "one more thing".into()
            }
        )
        .unwrap_err()
        .to_string(),
        "the ticket is closed: it takes no more replies"
    );
    assert_eq!(
        c.try_do("2026-11-26 10:07 GMT", AGENT(), Action::Reopen)
            .unwrap_err()
            .to_string(),
        "cannot reopen a ticket that is closed"
    );
    assert!(
        c.try_do(
            "2026-11-26 10:07 GMT",
            AGENT(),
            Action::InternalNote {
                body: "for the record".into()
            }
        )
        .is_ok()
    );
    let s = c.sla("2026-11-27 10:00 GMT");
    assert_eq!(
        (s.response.state, s.resolve.state),
        (ClockState::Met, ClockState::Met),
        "resolution counts as the response"
    );
}

#[test]
fn cancelling_stops_both_clocks_without_judging_them() {
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S2, "2026-11-26 10:00 GMT");
    c.act("2026-11-26 10:30 GMT", AGENT(), Action::Cancel);
    let s = c.sla("2026-12-26 10:00 GMT");
    assert_eq!(
        (s.response.state, s.resolve.state),
        (ClockState::Cancelled, ClockState::Cancelled)
    );
    assert_eq!(s.next_check_at, None);
    assert!(c.try_do("2026-11-26 10:31 GMT", AGENT(), Action::Resolve).is_err());
}

#[test]
fn replaying_the_same_history_gives_the_same_ticket_and_clocks() {
    let mut c = Case::raise("gold", Region::Scotland, Severity::S3, "2026-11-27 16:00 GMT");
    c.act(
        "2026-11-27 16:10 GMT",
        AGENT(),
        Action::Assign {
            to: Some("alice".into()),
        },
    );
    c.act("2026-11-27 16:20 GMT", AGENT(), reply());
    c.act(
        "2026-11-27 16:30 GMT",
        AGENT(),
        Action::SetStatus {
            to: Status::PendingThirdParty,
        },
    );
    c.act(
        "2026-12-01 09:00 GMT",
        AGENT(),
        Action::SetSeverity { to: Severity::S2 },
    );
    c.act("2026-12-01 09:30 GMT", Actor::System, Action::Tick);
    c.act("2026-12-01 10:00 GMT", AGENT(), Action::Resolve);
    c.act("2026-12-02 10:00 GMT", AGENT(), Action::Reopen);

    let replayed = Ticket::replay(&c.ticket.events).unwrap();
    assert_eq!(replayed, c.ticket);
    // And re-running the commands from scratch gives the same events.
    let mut again = Ticket::create(london("2026-11-27 16:00 GMT"), CUSTOMER(), Severity::S3, &c.policy);
    for cmd in &c.history {
        again = again.apply(cmd, &c.ctx()).unwrap().0;
    }
    assert_eq!(again, c.ticket);
    assert_eq!(
        sla(&again, &c.ctx(), london("2026-12-03 12:00 GMT")).unwrap(),
        c.sla("2026-12-03 12:00 GMT")
    );
}

#[test]
fn a_ticket_keeps_the_policy_version_it_started_with() {
    let c = Case::raise("silver", Region::EnglandAndWales, Severity::S2, "2026-11-26 10:00 GMT");
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sla-policies/silver.toml")).unwrap();
    let edited = Policy::from_toml("silver.toml", &text.replace("resolve = \"3bd\"", "resolve = \"2bd\"")).unwrap();
    assert_ne!(edited.version, c.policy.version);
    let cals = edited.calendars(&Holidays::from_rules(), Region::EnglandAndWales);
    let err = sla(
        &c.ticket,
        &SlaContext {
            policy: &edited,
            calendars: &cals,
        },
        london("2026-11-26 11:00 GMT"),
    )
    .unwrap_err();
    assert!(err.to_string().contains("runs on policy silver@"), "{err}");
    assert_eq!(c.ticket.policy_version, c.policy.version);
}

/// The pages offer only what the core would accept: a ticket's moves at
/// each point of its life, for an agent and for its customer.
#[test]
fn each_state_offers_only_the_moves_the_core_accepts() {
    use sladesk::domain::moves::Moves;
    let mut c = Case::raise("silver", Region::EnglandAndWales, Severity::S3, "2027-05-04 09:00 BST");
    let moves = |c: &Case, by: Actor, at: &str| -> Moves { c.ticket.moves(&by, london(at), &c.ctx()) };

    let m = moves(&c, AGENT(), "2027-05-04 09:05 BST");
    assert!(m.reply && m.note && m.assign && m.resolve && m.cancel);
    assert!(!m.reopen && !m.close, "nothing to reopen or close yet");
    assert_eq!(
        m.statuses,
        [Status::Open, Status::PendingCustomer, Status::PendingThirdParty]
    );
    assert_eq!(m.severities, [Severity::S1, Severity::S2, Severity::S4], "not its own");
    let theirs = moves(&c, CUSTOMER(), "2027-05-04 09:05 BST");
    assert!(theirs.reply && !theirs.note && !theirs.resolve && !theirs.cancel && theirs.statuses.is_empty());

    c.act("2027-05-04 09:10 BST", AGENT(), Action::SetStatus { to: Status::Open });
    let m = moves(&c, AGENT(), "2027-05-04 09:15 BST");
    assert_eq!(
        m.statuses,
        [Status::PendingCustomer, Status::PendingThirdParty],
        "not the status it has"
    );

    // Resolved: reopened or closed; no status menu, no pending customer.
    c.act("2027-05-04 10:00 BST", AGENT(), Action::Resolve);
    let m = moves(&c, AGENT(), "2027-05-04 10:05 BST");
    assert!(m.reopen && m.close);
    assert!(!m.resolve && !m.cancel && m.statuses.is_empty(), "{m:?}");
    // The reopen window (silver: 5 business days) passes: closing is all that is left.
    let late = moves(&c, AGENT(), "2027-05-20 10:00 BST");
    assert!(!late.reopen && late.close, "{late:?}");

    // Closed: nothing more, by anyone.
    c.act("2027-05-04 11:00 BST", AGENT(), Action::Close);
    let m = moves(&c, AGENT(), "2027-05-04 11:05 BST");
    assert_eq!(
        (m.reply, m.assign, m.resolve, m.reopen, m.close, m.cancel),
        (false, false, false, false, false, false),
        "{m:?}"
    );
    assert!(m.statuses.is_empty() && m.severities.is_empty());
    let theirs = moves(&c, CUSTOMER(), "2027-05-04 11:05 BST");
    assert!(!theirs.reply);
}
