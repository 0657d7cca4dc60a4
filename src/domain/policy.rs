//! SLA policies (support tiers) as data: parsed from the TOML text of one
//! `sla-policies/*.toml` file, validated whole, and versioned by the hash of
//! their normalised content so that a ticket keeps the version it started
//! with. Reading files is the caller's business; this module gets text.
//!
//! Errors name the file, the line where the TOML gives one, the field and
//! what was expected.

use std::collections::BTreeMap;
use std::fmt;

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use toml::Spanned;

use super::calendar::{Calendar, CalendarSpec, DayInterval, WeeklyHours};
use super::clock::ClockKind;
use super::credits::{AvailabilityBand, CreditSchedule, TicketBreachRate};
use super::duration::BusinessDuration;
use super::holidays::{Holidays, RULES_FIRST_YEAR, RULES_LAST_YEAR, Region};
use super::ticket::{Severity, Status};

/// Which calendar a severity's clocks run on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CalendarChoice {
    /// The policy's own calendar (its hours, less the organisation's bank holidays).
    Business,
    /// Every hour of every day, holidays included.
    #[serde(rename = "24x7")]
    Always,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
pub struct SeverityTargets {
    pub response: BusinessDuration,
    pub resolve: BusinessDuration,
    pub calendar: CalendarChoice,
}

/// A validated policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Policy {
    pub name: String,
    pub description: String,
    pub effective_from: NaiveDate,
    #[serde(skip)]
    pub version: String,
    pub time_zone: Tz,
    pub hours: WeeklyHours,
    pub bank_holidays: bool,
    /// Indexed by severity − 1.
    pub targets: [SeverityTargets; 4],
    pub response_pause: Vec<Status>,
    pub resolve_pause: Vec<Status>,
    /// Ascending percentages, each in 1..=100.
    pub at_risk: Vec<u8>,
    pub reopen_window: BusinessDuration,
    /// Who is told at which threshold. Left out of the version hash when it
    /// is the default for the thresholds, so adding the matrix changed no
    /// existing policy's version.
    #[serde(skip_serializing_if = "Escalation::is_default")]
    pub escalation: Escalation,
    /// The service-credit schedule, if the tier has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credits: Option<CreditSchedule>,
}

/// A threshold a clock crosses: a percentage of its target, or the breach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Threshold {
    AtRisk(u8),
    Breach,
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::AtRisk(p) => write!(f, "{p}%"),
            Threshold::Breach => write!(f, "breach"),
        }
    }
}

/// Whom an escalation notifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Notify {
    /// The assignee; the queue's members while nobody is assigned.
    Assignee,
    /// Every member of the ticket's queue.
    Queue,
    /// The queue's lead.
    QueueLead,
    /// The service desk's managers.
    Managers,
    /// The organisation's account contact.
    AccountContact,
}

impl Notify {
    const NAMES: [(&'static str, Notify); 5] = [
        ("assignee", Notify::Assignee),
        ("queue", Notify::Queue),
        ("queue_lead", Notify::QueueLead),
        ("managers", Notify::Managers),
        ("account_contact", Notify::AccountContact),
    ];
}

/// One line of the escalation matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EscalationRule {
    pub at: Threshold,
    /// Only for these severities; every severity when empty.
    pub severities: Vec<Severity>,
    pub notify: Vec<Notify>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Escalation {
    pub rules: Vec<EscalationRule>,
    #[serde(skip)]
    custom: bool,
}

impl Escalation {
    fn is_default(&self) -> bool {
        !self.custom
    }

    /// The default matrix: the first at-risk threshold tells the assignee
    /// (or the queue), later ones the queue lead, a breach the managers, and
    /// a severity 1 breach the organisation's account contact as well.
    pub fn default_for(at_risk: &[u8]) -> Escalation {
        let mut rules: Vec<EscalationRule> = at_risk
            .iter()
            .enumerate()
            .map(|(i, p)| EscalationRule {
                at: Threshold::AtRisk(*p),
                severities: vec![],
                notify: vec![if i == 0 { Notify::Assignee } else { Notify::QueueLead }],
            })
            .collect();
        rules.push(EscalationRule {
            at: Threshold::Breach,
            severities: vec![],
            notify: vec![Notify::Managers],
        });
        rules.push(EscalationRule {
            at: Threshold::Breach,
            severities: vec![Severity::S1],
            notify: vec![Notify::AccountContact],
        });
        Escalation { rules, custom: false }
    }

    /// Everyone to tell when `at` is crossed on a ticket of `severity`.
    pub fn recipients(&self, at: Threshold, severity: Severity) -> Vec<Notify> {
        let mut out = Vec::new();
        for r in &self.rules {
            if r.at == at && (r.severities.is_empty() || r.severities.contains(&severity)) {
                for n in &r.notify {
                    if !out.contains(n) {
                        out.push(*n);
                    }
                }
            }
        }
        out
    }
}

impl Policy {
    /// The escalation level a threshold stands for: 1 for the first
    /// at-risk threshold, one more for each later one, and the highest for
    /// the breach; what a ticket shows as how far it has escalated.
    pub fn escalation_level(&self, at: Threshold) -> u8 {
        match at {
            Threshold::AtRisk(p) => self
                .at_risk
                .iter()
                .position(|x| *x == p)
                .map(|i| i as u8 + 1)
                .unwrap_or(1),
            Threshold::Breach => self.at_risk.len() as u8 + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if !self.field.is_empty() {
            write!(f, ": {}", self.field)?;
        }
        write!(f, ": {}", self.message)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    name: Spanned<String>,
    description: String,
    effective_from: Spanned<String>,
    reopen_window: Option<Spanned<String>>,
    at_risk: Option<Spanned<Vec<Spanned<i64>>>>,
    calendar: Spanned<RawCalendar>,
    #[serde(default)]
    pause: RawPause,
    severity: Spanned<BTreeMap<Spanned<String>, Spanned<RawSeverity>>>,
    escalation: Option<Vec<Spanned<RawEscalation>>>,
    credits: Option<Spanned<RawCredits>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCredits {
    cap: Option<Spanned<String>>,
    maintenance_notice_days: Option<Spanned<i64>>,
    #[serde(default)]
    availability: Vec<Spanned<RawBand>>,
    #[serde(default)]
    ticket_breach: Vec<Spanned<RawBreachRate>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBand {
    below: Spanned<String>,
    credit: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBreachRate {
    severities: Spanned<Vec<Spanned<i64>>>,
    clock: Spanned<String>,
    credit: Spanned<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEscalation {
    at: Spanned<toml::Value>,
    #[serde(default)]
    severities: Vec<Spanned<i64>>,
    notify: Spanned<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    time_zone: Spanned<String>,
    #[serde(default = "yes")]
    bank_holidays: bool,
    #[serde(default)]
    always_open: bool,
    hours: Option<Spanned<RawHours>>,
}

/// Day key (`weekdays`, `mon`…) → intervals such as `08:00-17:30`.
type RawHours = BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>;

fn yes() -> bool {
    true
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawPause {
    response: Option<Vec<Spanned<String>>>,
    resolve: Option<Vec<Spanned<String>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSeverity {
    response: Option<Spanned<String>>,
    resolve: Option<Spanned<String>>,
    calendar: Option<Spanned<String>>,
}

fn parse_credits(cx: &Ctx, raw: &Spanned<RawCredits>) -> Result<CreditSchedule, PolicyError> {
    use super::credits::parse_percent;
    let c = raw.get_ref();
    let percent = |s: &Spanned<String>, decimals: u32, field: &str| -> Result<i64, PolicyError> {
        parse_percent(s.get_ref(), decimals).or_else(|e| cx.err(Some(s.span()), field, e))
    };
    let cap = match &c.cap {
        Some(s) => percent(s, 2, "credits.cap")?,
        None => 10_000,
    };
    let maintenance_notice_days = match &c.maintenance_notice_days {
        None => 5,
        Some(d) => match u32::try_from(*d.get_ref()) {
            Ok(n) if n <= 365 => n,
            _ => {
                return cx.err(
                    Some(d.span()),
                    "credits.maintenance_notice_days",
                    format!("{} is outside 0–365 days", d.get_ref()),
                );
            }
        },
    };
    let mut availability = Vec::new();
    for (i, b) in c.availability.iter().enumerate() {
        let field = format!("credits.availability[{i}]");
        let below = percent(&b.get_ref().below, 3, &format!("{field}.below"))?;
        let credit = percent(&b.get_ref().credit, 2, &format!("{field}.credit"))?;
        if availability.iter().any(|a: &AvailabilityBand| a.below == below) {
            return cx.err(
                Some(b.get_ref().below.span()),
                &format!("{field}.below"),
                "a band with this bound is already given",
            );
        }
        availability.push(AvailabilityBand { below, credit });
    }
    availability.sort_by_key(|b| b.below);
    // A lower availability must never earn a smaller credit.
    for w in availability.windows(2) {
        if w[0].credit < w[1].credit {
            return cx.err(
                Some(raw.span()),
                "credits.availability",
                format!(
                    "below {} earns less ({}) than below {} ({}): a worse month must not earn a smaller credit",
                    super::credits::percent_text(w[0].below, 3),
                    super::credits::percent_text(w[0].credit, 2),
                    super::credits::percent_text(w[1].below, 3),
                    super::credits::percent_text(w[1].credit, 2)
                ),
            );
        }
    }
    let mut ticket_breach = Vec::new();
    for (i, r) in c.ticket_breach.iter().enumerate() {
        let field = format!("credits.ticket_breach[{i}]");
        let r = r.get_ref();
        let severities = cx.severities(r.severities.get_ref(), &format!("{field}.severities"))?;
        if severities.is_empty() {
            return cx.err(
                Some(r.severities.span()),
                &format!("{field}.severities"),
                "names no severity",
            );
        }
        let clock = match r.clock.get_ref().as_str() {
            "response" => ClockKind::Response,
            "resolve" => ClockKind::Resolve,
            other => {
                return cx.err(
                    Some(r.clock.span()),
                    &format!("{field}.clock"),
                    format!("unknown clock '{other}': expected response or resolve"),
                );
            }
        };
        let credit = percent(&r.credit, 2, &format!("{field}.credit"))?;
        ticket_breach.push(TicketBreachRate {
            severities,
            clock,
            credit,
        });
    }
    Ok(CreditSchedule {
        availability,
        ticket_breach,
        cap,
        maintenance_notice_days,
    })
}

const DAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

struct Ctx<'a> {
    file: &'a str,
    text: &'a str,
}

impl Ctx<'_> {
    /// A list of severities as written: each 1 to 4.
    fn severities(&self, list: &[Spanned<i64>], field: &str) -> Result<Vec<Severity>, PolicyError> {
        list.iter()
            .map(|s| {
                u8::try_from(*s.get_ref())
                    .ok()
                    .and_then(|n| Severity::try_from(n).ok())
                    .map_or_else(|| self.err(Some(s.span()), field, "expected severities 1 to 4"), Ok)
            })
            .collect()
    }

    fn line(&self, offset: usize) -> usize {
        self.text[..offset.min(self.text.len())].matches('\n').count() + 1
    }
    fn err<T>(
        &self,
        span: Option<std::ops::Range<usize>>,
        field: &str,
        message: impl Into<String>,
    ) -> Result<T, PolicyError> {
        Err(PolicyError {
            file: self.file.to_string(),
            line: span.map(|s| self.line(s.start)),
            field: field.to_string(),
            message: message.into(),
        })
    }
}

impl Policy {
    /// Parses and validates one policy file's text. `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Policy, PolicyError> {
        let cx = Ctx { file, text };
        let raw: RawPolicy = match toml::from_str(text) {
            Ok(r) => r,
            Err(e) => return cx.err(e.span(), "", e.message().trim().to_string()),
        };

        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return cx.err(
                Some(raw.name.span()),
                "name",
                "expected a lower-case name of letters, digits and '-'",
            );
        }
        if name == "24x7" {
            return cx.err(
                Some(raw.name.span()),
                "name",
                "'24x7' is the built-in always-open calendar's name",
            );
        }
        let effective_from = NaiveDate::parse_from_str(raw.effective_from.get_ref(), "%Y-%m-%d").or_else(|_| {
            cx.err(
                Some(raw.effective_from.span()),
                "effective_from",
                format!("expected a date YYYY-MM-DD, found '{}'", raw.effective_from.get_ref()),
            )
        })?;

        // Calendar.
        let cal = raw.calendar.get_ref();
        let time_zone: Tz = cal.time_zone.get_ref().parse().or_else(|_| {
            cx.err(
                Some(cal.time_zone.span()),
                "calendar.time_zone",
                format!(
                    "unknown time zone '{}': expected an IANA name such as Europe/London",
                    cal.time_zone.get_ref()
                ),
            )
        })?;
        let hours = match (&cal.hours, cal.always_open) {
            (Some(h), true) => {
                return cx.err(
                    Some(h.span()),
                    "calendar.hours",
                    "give either always_open = true or hours, not both",
                );
            }
            (None, true) => WeeklyHours::always(),
            (None, false) => {
                return cx.err(
                    Some(raw.calendar.span()),
                    "calendar",
                    "missing hours (or always_open = true)",
                );
            }
            (Some(h), false) => {
                let mut w = WeeklyHours::default();
                let mut set = [false; 7];
                for (key, list) in h.get_ref() {
                    let field = format!("calendar.hours.{}", key.get_ref());
                    let days: Vec<usize> = match key.get_ref().as_str() {
                        "weekdays" => (0..5).collect(),
                        k => match DAY_KEYS.iter().position(|d| *d == k) {
                            Some(i) => vec![i],
                            None => {
                                return cx.err(
                                    Some(key.span()),
                                    &field,
                                    "unknown day: expected weekdays, mon, tue, wed, thu, fri, sat or sun",
                                );
                            }
                        },
                    };
                    let mut intervals = Vec::new();
                    for iv in list.get_ref() {
                        match DayInterval::parse(iv.get_ref()) {
                            Ok(i) => intervals.push(i),
                            Err(e) => return cx.err(Some(iv.span()), &field, e.to_string()),
                        }
                    }
                    for d in days {
                        if set[d] {
                            return cx.err(Some(key.span()), &field, format!("{} is given twice", DAY_KEYS[d]));
                        }
                        set[d] = true;
                        if let Err(e) = w.set_day(d, intervals.clone()) {
                            return cx.err(Some(list.span()), &field, e.to_string());
                        }
                    }
                }
                if w.is_empty() {
                    return cx.err(Some(h.span()), "calendar.hours", "no working hours on any day");
                }
                w
            }
        };

        // Targets.
        let mut targets: [Option<SeverityTargets>; 4] = Default::default();
        for (key, sev) in raw.severity.get_ref() {
            let field = format!("severity.{}", key.get_ref());
            let n = match key.get_ref().parse::<Severity>() {
                Ok(s) => s,
                Err(_) => {
                    return cx.err(
                        Some(key.span()),
                        &field,
                        format!("unknown severity '{}': expected 1, 2, 3 or 4", key.get_ref()),
                    );
                }
            };
            let s = sev.get_ref();
            let duration = |v: &Option<Spanned<String>>, what: &str| -> Result<BusinessDuration, PolicyError> {
                match v {
                    None => cx.err(
                        Some(sev.span()),
                        &format!("{field}.{what}"),
                        "missing target (write \"none\" for no target)",
                    ),
                    Some(v) => v.get_ref().parse().or_else(|e: super::duration::DurationSyntax| {
                        cx.err(Some(v.span()), &format!("{field}.{what}"), e.to_string())
                    }),
                }
            };
            let response = duration(&s.response, "response")?;
            let resolve = duration(&s.resolve, "resolve")?;
            let calendar = match s.calendar.as_ref().map(|c| (c.get_ref().as_str(), c.span())) {
                None | Some(("business", _)) => CalendarChoice::Business,
                Some(("24x7", _)) => CalendarChoice::Always,
                Some((other, span)) => {
                    return cx.err(
                        Some(span),
                        &format!("{field}.calendar"),
                        format!("expected \"business\" or \"24x7\", found '{other}'"),
                    );
                }
            };
            targets[n.index()] = Some(SeverityTargets {
                response,
                resolve,
                calendar,
            });
        }
        let mut full = Vec::with_capacity(4);
        for (i, t) in targets.into_iter().enumerate() {
            match t {
                Some(t) => full.push(t),
                None => {
                    return cx.err(
                        Some(raw.severity.span()),
                        &format!("severity.{}", i + 1),
                        "missing targets: every severity 1 to 4 needs response and resolve",
                    );
                }
            }
        }
        let targets: [SeverityTargets; 4] = full.try_into().expect("four severities");

        // Pauses.
        let statuses = |list: &Option<Vec<Spanned<String>>>,
                        field: &str,
                        default: Vec<Status>|
         -> Result<Vec<Status>, PolicyError> {
            let Some(list) = list else { return Ok(default) };
            let mut out = Vec::new();
            for s in list {
                let st: Status = s
                    .get_ref()
                    .parse()
                    .or_else(|e: String| cx.err(Some(s.span()), field, e))?;
                if !st.can_pause() {
                    return cx.err(
                        Some(s.span()),
                        field,
                        format!("'{st}' cannot pause a clock: expected open, pending_customer or pending_third_party"),
                    );
                }
                if !out.contains(&st) {
                    out.push(st);
                }
            }
            Ok(out)
        };
        let response_pause = statuses(&raw.pause.response, "pause.response", vec![])?;
        let resolve_pause = statuses(&raw.pause.resolve, "pause.resolve", vec![Status::PendingCustomer])?;

        // Thresholds.
        let at_risk = match &raw.at_risk {
            None => vec![75, 90],
            Some(list) => {
                let mut v = Vec::new();
                for p in list.get_ref() {
                    let n = *p.get_ref();
                    if !(1..=100).contains(&n) {
                        return cx.err(
                            Some(p.span()),
                            "at_risk",
                            format!("threshold {n} is outside 1–100 (percent of the target)"),
                        );
                    }
                    v.push(n as u8);
                }
                v.sort_unstable();
                v.dedup();
                v
            }
        };

        let reopen_window = match &raw.reopen_window {
            None => "5bd".parse().expect("valid default"),
            Some(w) => w
                .get_ref()
                .parse()
                .or_else(|e: super::duration::DurationSyntax| cx.err(Some(w.span()), "reopen_window", e.to_string()))?,
        };

        let escalation = match &raw.escalation {
            None => Escalation::default_for(&at_risk),
            Some(list) => {
                let mut rules = Vec::new();
                for (i, r) in list.iter().enumerate() {
                    let r = r.get_ref();
                    let field = format!("escalation[{i}]");
                    let at = match r.at.get_ref() {
                        toml::Value::String(s) if s == "breach" => Threshold::Breach,
                        toml::Value::Integer(n) if at_risk.iter().any(|p| i64::from(*p) == *n) => {
                            Threshold::AtRisk(*n as u8)
                        }
                        other => {
                            return cx.err(
                                Some(r.at.span()),
                                &format!("{field}.at"),
                                format!("{other} is neither one of the at_risk thresholds {at_risk:?} nor \"breach\""),
                            );
                        }
                    };
                    let severities = cx.severities(&r.severities, &format!("{field}.severities"))?;
                    let mut notify = Vec::new();
                    for n in r.notify.get_ref() {
                        let who = Notify::NAMES
                            .iter()
                            .find(|(name, _)| name == n.get_ref())
                            .map(|(_, w)| *w)
                            .map_or_else(
                                || {
                                    cx.err(
                                        Some(n.span()),
                                        &format!("{field}.notify"),
                                        format!(
                                            "unknown '{}': expected assignee, queue, queue_lead, managers or account_contact",
                                            n.get_ref()
                                        ),
                                    )
                                },
                                Ok,
                            )?;
                        notify.push(who);
                    }
                    if notify.is_empty() {
                        return cx.err(Some(r.notify.span()), &format!("{field}.notify"), "tells nobody");
                    }
                    rules.push(EscalationRule { at, severities, notify });
                }
                Escalation { rules, custom: true }
            }
        };

        let credits = match &raw.credits {
            None => None,
            Some(c) => Some(parse_credits(&cx, c)?),
        };

        let mut policy = Policy {
            name,
            description: raw.description.trim().to_string(),
            effective_from,
            version: String::new(),
            time_zone,
            hours,
            bank_holidays: cal.bank_holidays,
            targets,
            response_pause,
            resolve_pause,
            at_risk,
            reopen_window,
            escalation,
            credits,
        };
        policy.version = policy.content_hash();
        Ok(policy)
    }

    /// First 16 hex digits of the SHA-256 of the normalised (JSON) content:
    /// comments, layout and key order do not change it; any rule does.
    fn content_hash(&self) -> String {
        let json = serde_json::to_vec(self).expect("policy serialises");
        let digest = Sha256::digest(&json);
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    pub fn targets(&self, severity: Severity) -> &SeverityTargets {
        &self.targets[severity.index()]
    }

    /// The base calendar's specification for an organisation in `region`.
    pub fn business_spec(&self, holidays: &Holidays, region: Region) -> CalendarSpec {
        CalendarSpec {
            time_zone: self.time_zone,
            hours: self.hours.clone(),
            closed_dates: if self.bank_holidays {
                holidays.dates(region, RULES_FIRST_YEAR - 1, RULES_LAST_YEAR + 1)
            } else {
                Default::default()
            },
        }
    }

    /// Compiles the calendars this policy's clocks run on for one region.
    pub fn calendars(&self, holidays: &Holidays, region: Region) -> PolicyCalendars {
        let (first, last) = span_dates();
        let always = CalendarSpec {
            time_zone: self.time_zone,
            hours: WeeklyHours::always(),
            closed_dates: Default::default(),
        };
        PolicyCalendars {
            business: Calendar::compile(&self.business_spec(holidays, region), first, last),
            always: Calendar::compile(&always, first, last),
        }
    }
}

/// The local dates every compiled calendar covers: the years the holiday
/// rules are written for.
pub fn span_dates() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(RULES_FIRST_YEAR, 1, 1).expect("valid"),
        NaiveDate::from_ymd_opt(RULES_LAST_YEAR, 12, 31).expect("valid"),
    )
}

/// The compiled calendars of one policy for one holiday region.
#[derive(Debug, Clone)]
pub struct PolicyCalendars {
    pub business: Calendar,
    pub always: Calendar,
}

impl PolicyCalendars {
    pub fn get(&self, choice: CalendarChoice) -> &Calendar {
        match choice {
            CalendarChoice::Business => &self.business,
            CalendarChoice::Always => &self.always,
        }
    }
}

#[cfg(test)]
mod tests {
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
            with("\"10%\"", "\"30%\"")
                .contains("credits.availability: below 99% earns less (25%) than below 99.5% (30%)"),
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
}
