//! Service credits: what is owed to an organisation for a month, from its
//! policy's schedule, as lines a customer and an auditor can trace.
//!
//! Money is integer pence. Rates are basis points (hundredths of a percent)
//! of the monthly charge. Each line is rounded once, half up to the penny,
//! where it is computed; totals are sums of rounded lines. The cap limits
//! the provider's own credits (availability and ticket breaches); credits
//! received from the platform provider are passed on whole, beside the cap.

use serde::Serialize;

use super::availability::Availability;
use super::vocabulary::ClockKind;
use super::vocabulary::Severity;

/// Thousandths of a percent: 99,900 is 99.9 %.
pub type Millipercent = i64;
/// Hundredths of a percent: 500 is 5 %.
pub type BasisPoints = i64;

/// A policy's `[credits]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditSchedule {
    /// Ascending by `below`: the lowest band the month falls under applies
    /// (bands do not add up).
    pub availability: Vec<AvailabilityBand>,
    pub ticket_breach: Vec<TicketBreachRate>,
    /// The most the provider's own credits may come to in a month.
    pub cap: BasisPoints,
    /// Planned maintenance announced at least this many days ahead is left
    /// out of availability.
    pub maintenance_notice_days: u32,
}

/// Availability below `below` percent earns `credit` percent of the monthly
/// charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AvailabilityBand {
    pub below: Millipercent,
    pub credit: BasisPoints,
}

/// So much per ticket of these severities whose clock breached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketBreachRate {
    pub severities: Vec<Severity>,
    pub clock: ClockKind,
    pub credit: BasisPoints,
}

/// A ticket whose clock breached in the month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    pub reference: String,
    pub severity: Severity,
    pub clock: ClockKind,
}

/// A credit received from the platform provider, this organisation's share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamShare {
    pub reference: String,
    pub description: String,
    pub amount_pence: i64,
}

/// What a credit line is for: availability or ticket breaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Availability,
    TicketBreach,
    Cap,
    Upstream,
    /// A customer's dispute, upheld by a manager: outside the cap, as decided.
    Dispute,
}

/// One line of a service-credit statement: why, how much, and the figures
/// behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CreditLine {
    pub kind: LineKind,
    pub description: String,
    /// The rate applied, when the line is a rate of the charge.
    pub rate_basis_points: Option<BasisPoints>,
    pub amount_pence: i64,
    /// What caused it: outage ids (`outage 12`), ticket references, or the
    /// provider's credit reference.
    pub causes: Vec<String>,
}

/// A month's service credits for one organisation: the lines and their total,
/// capped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Credits {
    pub monthly_charge_pence: i64,
    pub lines: Vec<CreditLine>,
    /// Availability and ticket-breach lines, after the cap.
    pub own_pence: i64,
    pub cap_pence: i64,
    pub capped: bool,
    pub upstream_pence: i64,
    pub total_pence: i64,
}

/// `rate` of `pence`, rounded half up to the penny.
pub fn share(pence: i64, rate: BasisPoints) -> i64 {
    let exact = i128::from(pence) * i128::from(rate);
    ((exact + 5_000) / 10_000) as i64
}

/// Splits `amount` into `n` shares that add up to it: equal, with the
/// pennies left over going one each to the first shares.
pub fn split_evenly(amount: i64, n: usize) -> Vec<i64> {
    if n == 0 {
        return Vec::new();
    }
    let n64 = n as i64;
    let (each, rest) = (amount / n64, amount % n64);
    (0..n64).map(|i| each + i64::from(i < rest)).collect()
}

/// The month's credits for one organisation.
pub fn credits(
    schedule: &CreditSchedule,
    charge_pence: i64,
    availability: &Availability,
    breaches: &[Breach],
    upstream: &[UpstreamShare],
) -> Credits {
    let mut lines = Vec::new();
    if let Some(band) = schedule.availability.iter().find(|b| availability.is_below(b.below)) {
        let causes = availability
            .outages
            .iter()
            .filter(|o| o.counted)
            .map(|o| format!("outage {}", o.id))
            .collect();
        lines.push(CreditLine {
            kind: LineKind::Availability,
            description: format!(
                "availability {}% is below {}",
                availability.percent_text(),
                percent_text(band.below, 3)
            ),
            rate_basis_points: Some(band.credit),
            amount_pence: share(charge_pence, band.credit),
            causes,
        });
    }
    for rate in &schedule.ticket_breach {
        for b in breaches
            .iter()
            .filter(|b| b.clock == rate.clock && rate.severities.contains(&b.severity))
        {
            lines.push(CreditLine {
                kind: LineKind::TicketBreach,
                description: format!(
                    "severity {} {} target breached",
                    u8::from(b.severity),
                    match b.clock {
                        ClockKind::Response => "response",
                        ClockKind::Resolve => "resolve",
                    }
                ),
                rate_basis_points: Some(rate.credit),
                amount_pence: share(charge_pence, rate.credit),
                causes: vec![b.reference.clone()],
            });
        }
    }
    let before_cap: i64 = lines.iter().map(|l| l.amount_pence).sum();
    let cap_pence = share(charge_pence, schedule.cap);
    let capped = before_cap > cap_pence;
    if capped {
        lines.push(CreditLine {
            kind: LineKind::Cap,
            description: format!("capped at {} of the monthly charge", percent_text(schedule.cap, 2)),
            rate_basis_points: Some(schedule.cap),
            amount_pence: cap_pence - before_cap,
            causes: Vec::new(),
        });
    }
    let own_pence = before_cap.min(cap_pence);
    for u in upstream {
        lines.push(CreditLine {
            kind: LineKind::Upstream,
            description: format!("passed on from the platform provider: {}", u.description),
            rate_basis_points: None,
            amount_pence: u.amount_pence,
            causes: vec![u.reference.clone()],
        });
    }
    let upstream_pence: i64 = upstream.iter().map(|u| u.amount_pence).sum();
    Credits {
        monthly_charge_pence: charge_pence,
        lines,
        own_pence,
        cap_pence,
        capped,
        upstream_pence,
        total_pence: own_pence + upstream_pence,
    }
}

/// An upheld dispute's adjustment to a month's credits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputeAdjustment {
    pub id: i64,
    /// What was disputed, in words.
    pub subject: String,
    pub amount_pence: i64,
}

/// The credits with each upheld dispute's adjustment as a line of its own.
/// The cap does not apply to them: a manager decided the amount, knowing it.
pub fn with_disputes(mut c: Credits, upheld: &[DisputeAdjustment]) -> Credits {
    for d in upheld {
        c.lines.push(CreditLine {
            kind: LineKind::Dispute,
            description: format!("dispute {} upheld: {}", d.id, d.subject),
            rate_basis_points: None,
            amount_pence: d.amount_pence,
            causes: vec![format!("dispute {}", d.id)],
        });
        c.total_pence += d.amount_pence;
    }
    c
}

/// `value` in units of 10^-`decimals` percent, written without trailing
/// zeros: (99_900, 3) → "99.9%", (500, 2) → "5%".
pub fn percent_text(value: i64, decimals: u32) -> String {
    let scale = 10_i64.pow(decimals);
    let (whole, frac) = (value / scale, value % scale);
    if frac == 0 {
        return format!("{whole}%");
    }
    let digits = format!("{frac:0width$}", width = decimals as usize);
    format!("{whole}.{}%", digits.trim_end_matches('0'))
}

/// Reads "99.9%" or "5%" into units of 10^-`decimals` percent, exactly.
pub fn parse_percent(text: &str, decimals: u32) -> Result<i64, String> {
    let bad = || format!("'{text}' is not a percentage with at most {decimals} decimals, such as \"99.9%\"");
    let body = text.trim().strip_suffix('%').ok_or_else(bad)?;
    let (whole, frac) = body.split_once('.').unwrap_or((body, ""));
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    if frac.len() > decimals as usize || whole.len() > 3 {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac_value: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse::<i64>().map_err(|_| bad())? * 10_i64.pow(decimals - frac.len() as u32)
    };
    let v = whole * 10_i64.pow(decimals) + frac_value;
    if v > 100 * 10_i64.pow(decimals) {
        return Err(format!("'{text}' is over 100%"));
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::availability::{Month, Outage, OutageKind, availability};
    use chrono::{DateTime, Duration, Utc};

    fn schedule() -> CreditSchedule {
        CreditSchedule {
            availability: vec![
                AvailabilityBand {
                    below: 99_000,
                    credit: 2_500,
                },
                AvailabilityBand {
                    below: 99_500,
                    credit: 1_000,
                },
                AvailabilityBand {
                    below: 99_900,
                    credit: 500,
                },
            ],
            ticket_breach: vec![TicketBreachRate {
                severities: vec![Severity::S1, Severity::S2],
                clock: ClockKind::Resolve,
                credit: 250,
            }],
            cap: 10_000,
            maintenance_notice_days: 5,
        }
    }

    fn down(hours: i64) -> Availability {
        let start: DateTime<Utc> = "2026-11-03T10:00:00Z".parse().unwrap();
        let o = Outage {
            id: 3,
            kind: OutageKind::PlatformIssue,
            start,
            end: Some(start + Duration::minutes(hours)),
            notified_at: None,
        };
        availability(
            "2026-11".parse::<Month>().unwrap(),
            &[o],
            Duration::days(5),
            start + Duration::days(60),
        )
    }

    #[test]
    fn the_lowest_band_reached_applies_and_lines_name_their_causes() {
        // November: 43,200 minutes. 99.9% allows 43.2 minutes down.
        let c = credits(&schedule(), 123_457, &down(43), &[], &[]);
        assert!(c.lines.is_empty(), "43 minutes is within 99.9%");
        let c = credits(&schedule(), 123_457, &down(44), &[], &[]);
        assert_eq!(c.lines.len(), 1);
        assert_eq!(c.lines[0].rate_basis_points, Some(500));
        // 5% of £1,234.57 = 6,172.85p, half up to 6,173p.
        assert_eq!(c.lines[0].amount_pence, 6_173);
        assert_eq!(c.lines[0].causes, ["outage 3"]);
        assert_eq!(c.lines[0].description, "availability 99.898% is below 99.9%");
        // 99.0% allows 432 minutes: 433 is in the 25% band, not 5+10+25.
        let c = credits(&schedule(), 100_000, &down(433), &[], &[]);
        assert_eq!(c.lines[0].amount_pence, 25_000);
        assert_eq!(c.total_pence, 25_000);
    }

    #[test]
    fn breaches_add_a_line_each_and_the_cap_holds_but_upstream_passes_whole() {
        let breaches: Vec<Breach> = (1..=50)
            .map(|i| Breach {
                reference: format!("SD-{i:06}"),
                severity: if i % 2 == 0 { Severity::S1 } else { Severity::S3 },
                clock: ClockKind::Resolve,
            })
            .chain([Breach {
                reference: "SD-000099".into(),
                severity: Severity::S1,
                clock: ClockKind::Response,
            }])
            .collect();
        let upstream = [UpstreamShare {
            reference: "UKC-CR-778".into(),
            description: "October platform credit".into(),
            amount_pence: 4_321,
        }];
        let mut s = schedule();
        s.cap = 5_000;
        let c = credits(&s, 100_000, &down(433), &breaches, &upstream);
        // 25% for availability + 25 severity 1 resolve breaches at 2.5% =
        // 87.5%, capped at 50%; the response breach and the severity 3
        // tickets earn nothing under this schedule.
        let kinds: Vec<LineKind> = c.lines.iter().map(|l| l.kind).collect();
        assert_eq!(kinds.iter().filter(|k| **k == LineKind::TicketBreach).count(), 25);
        assert_eq!(c.lines.iter().rev().nth(1).unwrap().amount_pence, 50_000 - 87_500);
        assert!(c.capped);
        assert_eq!(
            (c.own_pence, c.cap_pence, c.upstream_pence, c.total_pence),
            (50_000, 50_000, 4_321, 54_321)
        );
        assert_eq!(c.lines.last().unwrap().causes, ["UKC-CR-778"]);
        let sum: i64 = c.lines.iter().map(|l| l.amount_pence).sum();
        assert_eq!(sum, c.total_pence, "the lines add up to the total");
    }

    #[test]
    fn shares_round_half_up_and_splits_add_up() {
        assert_eq!(share(1, 5_000), 1, "half a penny rounds up");
        assert_eq!(share(1, 4_999), 0);
        assert_eq!(share(999_999, 333), 33_300);
        assert_eq!(split_evenly(100, 3), [34, 33, 33]);
        assert_eq!(split_evenly(2, 3), [1, 1, 0]);
        assert_eq!(split_evenly(5, 0), Vec::<i64>::new());
    }

    #[test]
    fn percentages_are_read_exactly() {
        assert_eq!(parse_percent("99.9%", 3), Ok(99_900));
        assert_eq!(parse_percent("99.95%", 3), Ok(99_950));
        assert_eq!(parse_percent("5%", 2), Ok(500));
        assert_eq!(parse_percent("2.5%", 2), Ok(250));
        assert_eq!(parse_percent("100%", 2), Ok(10_000));
        for bad in ["5", "5.123%", "-1%", "101%", "%", ".5%", "5.%x", "1e2%"] {
            assert!(parse_percent(bad, 2).is_err(), "{bad}");
        }
        assert_eq!(percent_text(99_900, 3), "99.9%");
        assert_eq!(percent_text(500, 2), "5%");
        assert_eq!(percent_text(250, 2), "2.5%");
    }
}
