//! A policy file's text to a validated `Policy`: the file's shapes
//! (`Raw*`, with spans for errors) and the checks that make a policy whole.

use super::*;

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
    use crate::domain::credits::parse_percent;
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
                    crate::domain::credits::percent_text(w[0].below, 3),
                    crate::domain::credits::percent_text(w[0].credit, 2),
                    crate::domain::credits::percent_text(w[1].below, 3),
                    crate::domain::credits::percent_text(w[1].credit, 2)
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
                    Some(v) => v
                        .get_ref()
                        .parse()
                        .or_else(|e: crate::domain::duration::DurationSyntax| {
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
                .or_else(|e: crate::domain::duration::DurationSyntax| {
                    cx.err(Some(w.span()), "reopen_window", e.to_string())
                })?,
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
}
