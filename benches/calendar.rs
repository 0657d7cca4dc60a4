//! Calendar and clock speed: `add` and `between` over spans from an hour to a
//! year, on Silver's business hours with England and Wales holidays and on
//! 24x7; a ticket's full SLA computation; and compiling a calendar.

use std::hint::black_box;

use chrono::{DateTime, Duration, Utc};
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use sladesk::domain::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
use sladesk::domain::clock::sla;
use sladesk::domain::holidays::{Holidays, Region};
use sladesk::domain::policy::{Policy, span_dates};
use sladesk::domain::ticket::{Action, Actor, Command, Severity, SlaContext, Status, Ticket};

fn silver_spec() -> CalendarSpec {
    CalendarSpec {
        time_zone: chrono_tz::Europe::London,
        hours: WeeklyHours::weekdays(&[DayInterval::parse("08:00-17:30").unwrap()]).unwrap(),
        closed_dates: Holidays::from_rules().dates(Region::EnglandAndWales, 1989, 2101),
    }
}

fn always_spec() -> CalendarSpec {
    CalendarSpec {
        time_zone: chrono_tz::Europe::London,
        hours: WeeklyHours::always(),
        closed_dates: Default::default(),
    }
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn calendar(c: &mut Criterion) {
    let (first, last) = span_dates();
    let cals = [
        ("silver", Calendar::compile(&silver_spec(), first, last)),
        ("24x7", Calendar::compile(&always_spec(), first, last)),
    ];
    // Starts spread over a week so the scan inside a day is exercised.
    let starts: Vec<DateTime<Utc>> = (0..64)
        .map(|i| at("2026-03-23T06:17:00Z") + Duration::minutes(i * 157))
        .collect();
    let spans = [
        ("1h", Duration::hours(1)),
        ("1bd", Duration::minutes(570)),
        ("1w", Duration::days(7)),
        ("1y", Duration::days(365)),
    ];
    for (name, cal) in &cals {
        let mut g = c.benchmark_group(format!("calendar/{name}"));
        for (label, d) in spans {
            // For `add`, d is business time; for `between`, wall time.
            let business = if *name == "silver" && label == "1y" {
                Duration::minutes(570 * 253)
            } else {
                d
            };
            g.bench_with_input(BenchmarkId::new("add", label), &business, |b, d| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) & 63;
                    black_box(cal.add(black_box(starts[i]), *d).unwrap())
                })
            });
            g.bench_with_input(BenchmarkId::new("between", label), &d, |b, d| {
                let mut i = 0;
                b.iter(|| {
                    i = (i + 1) & 63;
                    black_box(cal.between(black_box(starts[i]), starts[i] + *d).unwrap())
                })
            });
        }
        g.finish();
    }

    let mut g = c.benchmark_group("calendar/compile");
    g.sample_size(20);
    g.bench_function("silver 1990-2100", |b| {
        b.iter(|| Calendar::compile(black_box(&silver_spec()), first, last))
    });
    g.bench_function("24x7 1990-2100", |b| {
        b.iter(|| Calendar::compile(black_box(&always_spec()), first, last))
    });
    g.finish();
}

fn clocks(c: &mut Criterion) {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/sla-policies/silver.toml")).unwrap();
    let policy = Policy::from_toml("silver.toml", &text).unwrap();
    let calendars = policy.calendars(&Holidays::from_rules(), Region::EnglandAndWales);
    let ctx = SlaContext {
        policy: &policy,
        calendars: &calendars,
    };
    let agent = || Actor::Agent("alice".into());
    let mut t = Ticket::create(at("2026-11-26T10:00:00Z"), Actor::System, Severity::S3, &policy);
    for (when, action) in [
        ("2026-11-26T10:30:00Z", Action::AgentReply { body: "on it".into() }),
        (
            "2026-11-26T11:00:00Z",
            Action::SetStatus {
                to: Status::PendingCustomer,
            },
        ),
        ("2026-11-27T09:00:00Z", Action::SetStatus { to: Status::Open }),
        ("2026-11-27T10:00:00Z", Action::SetSeverity { to: Severity::S2 }),
        (
            "2026-11-27T11:00:00Z",
            Action::SetStatus {
                to: Status::PendingThirdParty,
            },
        ),
    ] {
        t = t
            .apply(
                &Command {
                    at: at(when),
                    by: agent(),
                    action,
                },
                &ctx,
            )
            .unwrap()
            .0;
    }
    let now = at("2026-11-30T12:00:00Z");
    c.bench_function("clock/sla of a 6-event ticket", |b| {
        b.iter(|| black_box(sla(black_box(&t), &ctx, now).unwrap()))
    });
}

criterion_group!(benches, calendar, clocks);
criterion_main!(benches);
