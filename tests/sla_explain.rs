//! "Why is it due then?" (`domain::ticket::explain`): a golden explanation
//! for Christmas in Scotland on Silver, checked by hand, and over generated
//! histories the laws that make an explanation evidence: its counted
//! intervals add up to the clock's elapsed time, the crossing is the due or
//! breach instant, and counted time and gaps never overlap.

use std::sync::OnceLock;

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use sladesk::domain::clock::{ClockState, sla};
use sladesk::domain::holidays::{Holidays, Region};
use sladesk::domain::policy::{Policy, PolicyCalendars};
use sladesk::domain::ticket::explain::{Explanation, Why, explain};
use sladesk::domain::ticket::{Action, Actor, Command, Severity, SlaContext, Status, Ticket};

fn policy(name: &str) -> Policy {
    let file = format!("{}/sla-policies/{name}.toml", env!("CARGO_MANIFEST_DIR"));
    Policy::from_toml(&file, &std::fs::read_to_string(&file).unwrap()).unwrap()
}

fn t(s: &str) -> DateTime<Utc> {
    s.parse().unwrap()
}

fn command(at: &str, by: Actor, action: Action) -> Command {
    Command { at: t(at), by, action }
}

/// Silver, Scotland, severity 2 (respond in 1 h, resolve in 3 business days
/// of 9 h 30 min), received on Christmas Eve 2027, a Friday, at 17:00 GMT.
/// Christmas Day and Boxing Day fall on the weekend, so Scotland's
/// substitute days are Monday 27 and Tuesday 28 December; New Year's Day
/// and 2nd January fall on the next weekend, substituted on Monday 3 and
/// Tuesday 4 January 2028.
fn christmas() -> (Explanation, String) {
    let silver = policy("silver");
    let holidays = Holidays::from_rules();
    let calendars = silver.calendars(&holidays, Region::Scotland);
    let ctx = SlaContext {
        policy: &silver,
        calendars: &calendars,
    };
    let agent = Actor::Agent("7".into());
    let customer = Actor::Customer("12".into());
    let mut ticket = Ticket::create(t("2027-12-24T17:00:00Z"), customer.clone(), Severity::S2, &silver);
    for c in [
        command(
            "2027-12-29T09:00:00Z",
            agent.clone(),
            Action::AgentReply { body: "Looking".into() },
        ),
        command(
            "2027-12-29T10:00:00Z",
            agent.clone(),
            Action::SetStatus {
                to: Status::PendingCustomer,
            },
        ),
        command(
            "2027-12-30T14:00:00Z",
            customer,
            Action::CustomerReply { body: "Done".into() },
        ),
    ] {
        ticket = ticket.apply(&c, &ctx).unwrap().0;
    }
    let e = explain(&ticket, &ctx, &holidays, Region::Scotland, t("2027-12-31T12:00:00Z")).unwrap();
    let json = serde_json::to_string_pretty(&e).unwrap();
    (e, json)
}

#[test]
fn christmas_in_scotland_on_silver_explained() {
    let (e, json) = christmas();
    let [response, resolve] = &e.clocks[..] else {
        panic!("two clocks")
    };

    // Response: 30 min on Friday (17:00 to 17:30), then nothing until
    // Wednesday 08:00: the rest of Friday is outside hours, the weekend,
    // and the two substitute days. The hour is reached at 08:30 on
    // Wednesday; the reply at 09:00 came half an hour late.
    assert_eq!(response.state, ClockState::BreachedMet);
    assert_eq!(response.target_seconds, Some(3600));
    assert_eq!(response.breached_at, Some(t("2027-12-29T08:30:00Z")));
    let c = response.crossing.as_ref().unwrap();
    assert_eq!(
        (c.counted_before, c.interval_from, c.into_interval_seconds),
        (1800, t("2027-12-29T08:00:00Z"), 1800)
    );
    let whys: Vec<(&Why, DateTime<Utc>, DateTime<Utc>)> =
        response.gaps.iter().map(|g| (&g.why, g.from, g.to)).collect();
    assert_eq!(
        whys,
        vec![
            (&Why::OutsideHours, t("2027-12-24T17:30:00Z"), t("2027-12-25T00:00:00Z")),
            (
                &Why::NotAWorkingDay,
                t("2027-12-25T00:00:00Z"),
                t("2027-12-27T00:00:00Z")
            ),
            (
                &Why::BankHoliday {
                    name: "Christmas Day (substitute day)".into()
                },
                t("2027-12-27T00:00:00Z"),
                t("2027-12-28T00:00:00Z")
            ),
            (
                &Why::BankHoliday {
                    name: "Boxing Day (substitute day)".into()
                },
                t("2027-12-28T00:00:00Z"),
                t("2027-12-29T00:00:00Z")
            ),
            (&Why::OutsideHours, t("2027-12-29T00:00:00Z"), t("2027-12-29T08:00:00Z")),
        ]
    );

    // Resolve: 30 min Friday, 2 h Wednesday to the pause at 10:00, paused
    // waiting on the customer until their reply on Thursday at 14:00, 3 h
    // 30 min Thursday, 4 h on Friday 31st to noon: 10 h of 28 h 30 min.
    assert_eq!(resolve.state, ClockState::Running);
    assert_eq!(resolve.target_seconds, Some(3 * 34_200));
    assert_eq!(resolve.elapsed_seconds, 10 * 3600);
    assert_eq!(resolve.remaining_seconds, Some(3 * 34_200 - 10 * 3600));
    assert!(resolve.gaps.iter().any(|g| g.why
        == Why::Paused {
            status: Status::PendingCustomer
        }
        && g.from == t("2027-12-29T10:00:00Z")
        && g.to == t("2027-12-30T14:00:00Z")));
    // Still to count: 5 h 30 min on Friday, then the weekend and New Year's
    // two substitute days, 9 h 30 min on Wednesday 5 January, and the last
    // 3 h 30 min on Thursday: due 11:30 on Thursday 6 January 2028.
    assert_eq!(resolve.due, Some(t("2028-01-06T11:30:00Z")));
    let projected_holidays: Vec<&str> = resolve
        .gaps
        .iter()
        .filter(|g| g.projected)
        .filter_map(|g| match &g.why {
            Why::BankHoliday { name } => Some(name.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        projected_holidays,
        ["New Year’s Day (substitute day)", "2nd January (substitute day)"]
    );
    let c = resolve.crossing.as_ref().unwrap();
    assert_eq!(c.counted_before, 10 * 3600 + 5 * 3600 + 1800 + 34_200);
    assert_eq!(c.interval_from, t("2028-01-06T08:00:00Z"));
    assert_eq!(c.into_interval_seconds, 3 * 3600 + 1800);

    // The whole explanation, as reviewed: fixtures/explain/christmas.json.
    let golden = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/explain/christmas.json");
    if std::env::var_os("SLADESK_WRITE_GOLDEN").is_some() {
        std::fs::write(golden, format!("{json}\n")).unwrap();
    }
    assert_eq!(
        std::fs::read_to_string(golden).unwrap().trim_end(),
        json,
        "the explanation changed: review it, then SLADESK_WRITE_GOLDEN=1"
    );
}

fn setups() -> &'static Vec<(Policy, PolicyCalendars, Region)> {
    static S: OnceLock<Vec<(Policy, PolicyCalendars, Region)>> = OnceLock::new();
    S.get_or_init(|| {
        let h = Holidays::from_rules();
        [
            ("silver", Region::Scotland),
            ("bronze", Region::EnglandAndWales),
            ("gold", Region::NorthernIreland),
            ("platinum", Region::EnglandAndWales),
        ]
        .into_iter()
        .map(|(n, r)| {
            let p = policy(n);
            let c = p.calendars(&h, r);
            (p, c, r)
        })
        .collect()
    })
}

fn action() -> impl Strategy<Value = (u8, Action)> {
    prop_oneof![
        2 => Just((0, Action::AgentReply { body: "r".into() })),
        2 => Just((1, Action::CustomerReply { body: "c".into() })),
        2 => Just((0, Action::SetStatus { to: Status::PendingCustomer })),
        1 => Just((0, Action::SetStatus { to: Status::PendingThirdParty })),
        1 => Just((0, Action::SetStatus { to: Status::Open })),
        1 => (1u8..=4).prop_map(|n| (0, Action::SetSeverity { to: Severity::try_from(n).unwrap() })),
        1 => Just((0, Action::Resolve)),
        1 => Just((1, Action::Reopen)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]
    #[test]
    fn an_explanation_adds_up_to_the_clock(
        setup in 0usize..4,
        start in 0i64..(3 * 365 * 86_400),
        severity in 1u8..=4,
        steps in prop::collection::vec((60i64..(4 * 86_400), action()), 0..10),
        after in 0i64..(10 * 86_400),
    ) {
        let (policy, calendars, region) = &setups()[setup];
        let ctx = SlaContext { policy, calendars };
        let received = t("2025-01-01T00:00:00Z") + Duration::seconds(start);
        let mut ticket = Ticket::create(received, Actor::Customer("c".into()), Severity::try_from(severity).unwrap(), policy);
        let mut at = received;
        for (gap, (who, a)) in steps {
            at += Duration::seconds(gap);
            let by = if who == 0 { Actor::Agent("a".into()) } else { Actor::Customer("c".into()) };
            if let Ok((next, _)) = ticket.apply(&Command { at, by, action: a }, &ctx) {
                ticket = next;
            }
        }
        let as_of = at + Duration::seconds(after);
        let e = explain(&ticket, &ctx, &Holidays::from_rules(), *region, as_of).unwrap();
        let view = sla(&ticket, &ctx, as_of).unwrap();
        for (c, v) in e.clocks.iter().zip([&view.response, &view.resolve]) {
            prop_assert_eq!(c.elapsed_seconds, v.elapsed_seconds);
            prop_assert_eq!(c.due, v.due);
            prop_assert_eq!(c.breached_at, v.breached_at);
            prop_assert_eq!(c.intervals_not_listed, 0);
            // The counted intervals up to as_of add up to the elapsed time.
            let counted: i64 = c.counted.iter().filter(|k| !k.projected).map(|k| k.business_seconds).sum();
            prop_assert_eq!(counted, v.elapsed_seconds);
            // The crossing is the due or breach instant, and its sum holds.
            if let Some(x) = &c.crossing {
                prop_assert_eq!(Some(x.at), v.breached_at.or(v.due));
                prop_assert_eq!(x.counted_before + x.into_interval_seconds, x.target_seconds);
                prop_assert_eq!(x.interval_from + Duration::seconds(x.into_interval_seconds), x.at);
            } else if v.target_seconds.is_some() {
                prop_assert!(v.breached_at.is_none() && v.due.is_none(), "no crossing for {:?}", v);
            }
            // Counted time and skipped time never overlap, and run in order.
            let mut spans: Vec<(DateTime<Utc>, DateTime<Utc>)> =
                c.counted.iter().map(|k| (k.from, k.to)).chain(c.gaps.iter().map(|g| (g.from, g.to))).collect();
            spans.sort();
            for w in spans.windows(2) {
                prop_assert!(w[0].1 <= w[1].0, "overlap {:?}", w);
            }
            for g in &c.gaps {
                prop_assert!(g.from < g.to);
            }
        }
    }
}
