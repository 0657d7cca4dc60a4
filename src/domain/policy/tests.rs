//! The policy's parsing, versioning and escalation matrix, by example.

use super::*;

const SILVER: &str = r#"
name = "silver"
description = "Silver"
effective_from = "2026-01-01"

[calendar]
time_zone = "Europe/London"
hours.weekdays = ["08:00-17:30"]

[severity.1]
response = "1h"
resolve = "1bd"
[severity.2]
response = "1h"
resolve = "3bd"
[severity.3]
response = "2h"
resolve = "5bd"
[severity.4]
response = "2h"
resolve = "none"
"#;

fn err(text: &str) -> String {
    Policy::from_toml("sla-policies/test.toml", text)
        .unwrap_err()
        .to_string()
}

#[test]
fn the_escalation_matrix_defaults_and_can_be_written_out() {
    let p = Policy::from_toml("silver.toml", SILVER).unwrap();
    assert_eq!(
        p.escalation.recipients(Threshold::AtRisk(75), Severity::S3),
        vec![Notify::Assignee]
    );
    assert_eq!(
        p.escalation.recipients(Threshold::AtRisk(90), Severity::S3),
        vec![Notify::QueueLead]
    );
    assert_eq!(
        p.escalation.recipients(Threshold::Breach, Severity::S2),
        vec![Notify::Managers]
    );
    assert_eq!(
        p.escalation.recipients(Threshold::Breach, Severity::S1),
        vec![Notify::Managers, Notify::AccountContact]
    );
    assert_eq!(p.escalation_level(Threshold::AtRisk(90)), 2);
    assert_eq!(p.escalation_level(Threshold::Breach), 3);

    let custom = format!(
        "{SILVER}\n[[escalation]]\nat = 90\nnotify = [\"queue\", \"queue_lead\"]\n\n[[escalation]]\nat = \"breach\"\nseverities = [1, 2]\nnotify = [\"managers\"]\n"
    );
    let c = Policy::from_toml("silver.toml", &custom).unwrap();
    assert!(c.escalation.recipients(Threshold::AtRisk(75), Severity::S1).is_empty());
    assert_eq!(
        c.escalation.recipients(Threshold::AtRisk(90), Severity::S4),
        vec![Notify::Queue, Notify::QueueLead]
    );
    assert!(c.escalation.recipients(Threshold::Breach, Severity::S3).is_empty());
    assert_ne!(c.version, p.version, "a written-out matrix is a rule: a new version");

    let bad = format!("{SILVER}\n[[escalation]]\nat = 80\nnotify = [\"managers\"]\n");
    assert_eq!(
        err(&bad),
        "sla-policies/test.toml:24: escalation[0].at: 80 is neither one of the at_risk thresholds [75, 90] nor \"breach\""
    );
    let bad = format!("{SILVER}\n[[escalation]]\nat = 75\nnotify = [\"ceo\"]\n");
    assert!(
        err(&bad).contains("escalation[0].notify: unknown 'ceo'"),
        "{}",
        err(&bad)
    );
}

#[test]
fn parses_a_minimal_policy_with_defaults() {
    let p = Policy::from_toml("silver.toml", SILVER).unwrap();
    assert_eq!(p.at_risk, vec![75, 90]);
    assert_eq!(p.resolve_pause, vec![Status::PendingCustomer]);
    assert_eq!(p.targets(Severity::S4).resolve, BusinessDuration::None);
    assert_eq!(p.hours.standard_day_seconds(), 570 * 60);
    assert_eq!(p.version.len(), 16);
}

#[test]
fn the_version_ignores_layout_but_not_rules() {
    let a = Policy::from_toml("a", SILVER).unwrap();
    let b = Policy::from_toml(
        "b",
        &format!("# a comment\n{}", SILVER.replace("= \"1h\"", "=   \"1h\"")),
    )
    .unwrap();
    let c = Policy::from_toml("c", &SILVER.replace("resolve = \"3bd\"", "resolve = \"4bd\"")).unwrap();
    assert_eq!(a.version, b.version);
    assert_ne!(a.version, c.version);
}

const CREDITS: &str = r#"
[credits]
cap = "100%"
maintenance_notice_days = 5
availability = [
  { below = "99.9%", credit = "5%" },
  { below = "99.5%", credit = "10%" },
  { below = "99%", credit = "25%" },
]
ticket_breach = [{ severities = [1, 2], clock = "resolve", credit = "2.5%" }]
"#;

#[test]
fn the_credit_schedule_is_data_and_is_checked_like_the_rest() {
    let p = Policy::from_toml("sla-policies/test.toml", &format!("{SILVER}{CREDITS}")).unwrap();
    let c = p.credits.as_ref().unwrap();
    let bands: Vec<(i64, i64)> = c.availability.iter().map(|b| (b.below, b.credit)).collect();
    assert_eq!(bands, [(99_000, 2_500), (99_500, 1_000), (99_900, 500)]);
    assert_eq!(c.ticket_breach[0].credit, 250);
    assert_eq!((c.cap, c.maintenance_notice_days), (10_000, 5));
    let plain = Policy::from_toml("sla-policies/test.toml", SILVER).unwrap();
    assert_ne!(p.version, plain.version, "credits are part of the policy");
    let with = |from: &str, to: &str| err(&format!("{SILVER}{}", CREDITS.replace(from, to)));
    assert_eq!(
        with("\"2.5%\"", "\"2.555%\""),
        "sla-policies/test.toml:31: credits.ticket_breach[0].credit: '2.555%' is not a percentage with at most 2 decimals, such as \"99.9%\""
    );
    assert_eq!(
        with("clock = \"resolve\"", "clock = \"fix\""),
        "sla-policies/test.toml:31: credits.ticket_breach[0].clock: unknown clock 'fix': expected response or resolve"
    );
    assert!(
        with("\"10%\"", "\"30%\"").contains("credits.availability: below 99% earns less (25%) than below 99.5% (30%)"),
        "{}",
        with("\"10%\"", "\"30%\"")
    );
    assert_eq!(
        with("cap = \"100%\"", "cap = \"150%\""),
        "sla-policies/test.toml:24: credits.cap: '150%' is over 100%"
    );
}

#[test]
fn errors_name_file_line_field_and_expectation() {
    assert_eq!(
        err(&SILVER.replace("[severity.4]", "[severity.5]")),
        "sla-policies/test.toml:19: severity.5: unknown severity '5': expected 1, 2, 3 or 4"
    );
    assert_eq!(
        err(&SILVER.replace("\"3bd\"", "\"3 days\"")),
        "sla-policies/test.toml:15: severity.2.resolve: expected a duration such as 15m, 1h, 2h30m, 1bd or none, found '3 days'"
    );
    assert_eq!(
        err(&SILVER.replace("08:00-17:30", "17:30-08:00")),
        "sla-policies/test.toml:8: calendar.hours.weekdays: '17:30-08:00' ends before it starts"
    );
    assert_eq!(
        err(&SILVER.replace("[\"08:00-17:30\"]", "[\"08:00-12:30\", \"12:00-17:30\"]")),
        "sla-policies/test.toml:8: calendar.hours.weekdays: '08:00-12:30' overlaps '12:00-17:30'"
    );
    assert_eq!(
        err(&SILVER.replace("Europe/London", "Europe/Londres")),
        "sla-policies/test.toml:7: calendar.time_zone: unknown time zone 'Europe/Londres': expected an IANA name such as Europe/London"
    );
    assert_eq!(
        err(&SILVER.replace("effective_from", "at_risk = [75, 101]\neffective_from")),
        "sla-policies/test.toml:4: at_risk: threshold 101 is outside 1–100 (percent of the target)"
    );
    assert!(
        err(&SILVER.replace("[severity.4]\nresponse = \"2h\"\nresolve = \"none\"\n", ""))
            .contains("severity.4: missing targets")
    );
    assert!(
        err(&SILVER.replace("response = \"2h\"\nresolve = \"none\"", "response = \"2h\""))
            .contains(":19: severity.4.resolve: missing target")
    );
    let e = err(&SILVER.replace("description", "desc"));
    assert!(e.starts_with("sla-policies/test.toml:3: unknown field `desc`"), "{e}");
    let e = err(&SILVER.replace("[calendar]", "[calendar\n"));
    assert!(e.starts_with("sla-policies/test.toml:6: "), "{e}");
}
