//! A ticket's history as anyone may write it down, turned into the events
//! the clocks are computed from (`sladesk sla replay`, docs/sla-replay.md).
//!
//! Two vocabularies are accepted in one list. The stored one is exactly what
//! sladesk records (`created`, `commented`, `status_changed`, …), so a
//! history exported from a desk replays unchanged. The short one
//! (`received`, `agent_reply`, `pending_customer`, `resolve`, …) is what a
//! person or another engine writes: who acted and the status before are
//! filled in from the fold, which is also where a stored `from` that does
//! not match the history is caught; and as on the desk, a customer's reply
//! to a ticket waiting on them reopens it. Nothing here decides whether a step was
//! allowed: events are facts, and the clocks are computed from facts.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::decide::{Actor, Event, EventKind, Severity, Status, Visibility};
use crate::domain::vocabulary::{AlertLevel, ClockKind};

/// One step of a history, as written. Every field but `type` and `at` is
/// optional here; which ones a type needs is checked in `events`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(deserialize_with = "instant")]
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub by: Option<Who>,
    #[serde(default)]
    pub to: Option<Value>,
    #[serde(default)]
    pub from: Option<Value>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub visibility: Option<Visibility>,
    #[serde(default)]
    pub body: Option<String>,
    #[serde(default)]
    pub policy: Option<String>,
    #[serde(default)]
    pub policy_version: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub from_policy: Option<String>,
    #[serde(default)]
    pub from_version: Option<String>,
    #[serde(default)]
    pub queue: Option<String>,
    #[serde(default)]
    pub received_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub original_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub clock: Option<ClockKind>,
    #[serde(default)]
    pub level: Option<AlertLevel>,
    #[serde(default)]
    pub due_at: Option<DateTime<Utc>>,
}

/// An RFC 3339 instant. The form sladesk writes (`2026-12-01T09:00:00Z`)
/// is read field by field, a fifth of the time of a general RFC 3339
/// parse (replay reads millions); any other offset or fraction goes to
/// chrono's parser.
fn instant<'de, D: serde::Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    let s: std::borrow::Cow<'de, str> = Deserialize::deserialize(d)?;
    if let Some(t) = utc_seconds(s.as_bytes()) {
        return Ok(t);
    }
    DateTime::parse_from_rfc3339(&s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| serde::de::Error::custom(format!("expected an RFC 3339 instant, found '{s}' ({e})")))
}

fn utc_seconds(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() != 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'Z'
    {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date = chrono::NaiveDate::from_ymd_opt(n(0..4)? as i32, n(5..7)?, n(8..10)?)?;
    let time = date.and_hms_opt(n(11..13)?, n(14..16)?, n(17..19)?)?;
    Some(time.and_utc())
}

/// Who acted: the stored form (`{"role":"agent","id":"7"}`) or just the role.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Who {
    Role(String),
    Actor(Actor),
}

/// A `to` or `from`: a status or queue name, a severity number, or null (an
/// assignee taken away).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(u8),
    Text(String),
}

/// The policy a history starts on, when its first step does not name one.
pub struct Start<'a> {
    pub policy: &'a str,
    pub version: &'a str,
}

/// Why a history cannot be read; `step` counts from 0.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("events[{step}] ({kind}): {message}")]
pub struct HistoryError {
    pub step: usize,
    pub kind: String,
    pub message: String,
}

/// The step types a history may use, for error messages and the schema.
pub const STEP_TYPES: &[&str] = &[
    "received",
    "agent_reply",
    "customer_reply",
    "internal_note",
    "notice",
    "status",
    "pending_customer",
    "pending_third_party",
    "severity",
    "resolve",
    "reopen",
    "close",
    "cancel",
    "merged",
    "assign",
    "created",
    "commented",
    "status_changed",
    "severity_changed",
    "policy_changed",
    "alert_recorded",
    "assignee_changed",
    "queue_changed",
    "copied",
];

/// The events of a history, in order, with what the short vocabulary leaves
/// out filled from the fold. `start` names the policy when the first step is
/// `received` (a stored `created` names its own).
pub fn events(steps: &[Step], start: Option<Start>) -> Result<Vec<Event>, HistoryError> {
    let mut out = Vec::with_capacity(steps.len());
    let mut status = Status::New;
    let mut severity = Severity::S4;
    let mut assignee: Option<String> = None;
    let mut queue: Option<String> = None;
    let mut last_at: Option<DateTime<Utc>> = None;
    for (i, step) in steps.iter().enumerate() {
        let fail = |message: String| HistoryError {
            step: i,
            kind: step.kind.clone(),
            message,
        };
        if let Some(last) = last_at
            && step.at < last
        {
            return Err(fail(format!(
                "at {} is earlier than the step before it ({last})",
                step.at
            )));
        }
        last_at = Some(step.at);
        let first = i == 0;
        let creation = matches!(step.kind.as_str(), "received" | "created");
        if first != creation {
            return Err(fail(if first {
                "a history starts with received (or a stored created)".into()
            } else {
                "a history is received once, as its first step".into()
            }));
        }
        let kind = match step.kind.as_str() {
            "received" | "created" => {
                let sev = step.severity.ok_or_else(|| fail("severity is required".into()))?;
                severity = sev;
                queue = step.queue.clone();
                let (policy, version) = match (&step.policy, &step.policy_version, &start) {
                    (Some(p), Some(v), _) => (p.clone(), v.clone()),
                    (_, _, Some(s)) => (s.policy.to_string(), s.version.to_string()),
                    _ => {
                        return Err(fail(
                            "no policy: give the line's policy, or policy and policy_version here".into(),
                        ));
                    }
                };
                EventKind::Created {
                    severity: sev,
                    policy,
                    policy_version: version,
                    queue: step.queue.clone(),
                }
            }
            "agent_reply" | "customer_reply" | "notice" => EventKind::Commented {
                visibility: Visibility::Public,
                body: step.body.clone().unwrap_or_default(),
            },
            "internal_note" => EventKind::Commented {
                visibility: Visibility::Internal,
                body: step.body.clone().unwrap_or_default(),
            },
            "commented" => EventKind::Commented {
                visibility: step
                    .visibility
                    .ok_or_else(|| fail("visibility is required (public or internal)".into()))?,
                body: step.body.clone().unwrap_or_default(),
            },
            "status"
            | "status_changed"
            | "pending_customer"
            | "pending_third_party"
            | "resolve"
            | "reopen"
            | "close"
            | "cancel" => {
                let to = match step.kind.as_str() {
                    "pending_customer" => Status::PendingCustomer,
                    "pending_third_party" => Status::PendingThirdParty,
                    "resolve" => Status::Resolved,
                    "reopen" => Status::Open,
                    "close" => Status::Closed,
                    "cancel" => Status::Cancelled,
                    _ => status_of(step.to.as_ref()).map_err(|m| fail(format!("to: {m}")))?,
                };
                if let Some(from) = &step.from {
                    let from = status_of(Some(from)).map_err(|m| fail(format!("from: {m}")))?;
                    if from != status {
                        return Err(fail(format!(
                            "from {} does not match the history, in which the ticket is {}",
                            from.as_str(),
                            status.as_str()
                        )));
                    }
                }
                if to == status {
                    return Err(fail(format!("the ticket is already {}", status.as_str())));
                }
                let from = status;
                status = to;
                EventKind::StatusChanged { from, to }
            }
            "severity" | "severity_changed" => {
                let to = severity_of(step.to.as_ref()).map_err(|m| fail(format!("to: {m}")))?;
                if let Some(from) = &step.from {
                    let from = severity_of(Some(from)).map_err(|m| fail(format!("from: {m}")))?;
                    if from != severity {
                        return Err(fail(format!(
                            "from {} does not match the history, in which the severity is {}",
                            from.number(),
                            severity.number()
                        )));
                    }
                }
                let from = severity;
                severity = to;
                EventKind::SeverityChanged { from, to }
            }
            "merged" => EventKind::Merged {
                from: text_of(step.from.as_ref()).unwrap_or_default(),
                received_at: step
                    .received_at
                    .ok_or_else(|| fail("received_at (the duplicate's receipt) is required".into()))?,
            },
            "assign" | "assignee_changed" => {
                let to = text_of(step.to.as_ref());
                let from = std::mem::replace(&mut assignee, to.clone());
                EventKind::AssigneeChanged { from, to }
            }
            "queue_changed" => {
                let to = text_of(step.to.as_ref()).ok_or_else(|| fail("to (the queue) is required".into()))?;
                let from = queue.replace(to.clone());
                EventKind::QueueChanged { from, to }
            }
            "policy_changed" => {
                let need =
                    |v: &Option<String>, name: &str| v.clone().ok_or_else(|| fail(format!("{name} is required")));
                EventKind::PolicyChanged {
                    from_policy: need(&step.from_policy, "from_policy")?,
                    from_version: need(&step.from_version, "from_version")?,
                    policy: need(&step.policy, "policy")?,
                    version: need(&step.version, "version")?,
                }
            }
            "alert_recorded" => EventKind::AlertRecorded {
                clock: step.clock.ok_or_else(|| fail("clock is required".into()))?,
                level: step.level.ok_or_else(|| fail("level is required".into()))?,
                severity: step.severity.ok_or_else(|| fail("severity is required".into()))?,
                due_at: step.due_at.ok_or_else(|| fail("due_at is required".into()))?,
            },
            "copied" => EventKind::Copied {
                from: text_of(step.from.as_ref()).unwrap_or_default(),
                original_at: step.original_at.unwrap_or(step.at),
                body: step.body.clone().unwrap_or_default(),
            },
            other => {
                return Err(fail(format!(
                    "unknown type '{other}': expected one of {}",
                    STEP_TYPES.join(", ")
                )));
            }
        };
        let by = match &step.by {
            Some(Who::Actor(a)) => a.clone(),
            Some(Who::Role(r)) => actor_of_role(r).ok_or_else(|| fail(format!("by: unknown role '{r}'")))?,
            None => default_actor(step.kind.as_str()),
        };
        if step.kind == "agent_reply" && !matches!(by, Actor::Agent(_)) {
            return Err(fail("an agent reply is by an agent".into()));
        }
        out.push(Event { at: step.at, by, kind });
        // As on the desk (`decide`), the customer's answer ends the wait on them.
        if step.kind == "customer_reply" && status == Status::PendingCustomer {
            out.push(Event {
                at: step.at,
                by: Actor::Customer(String::new()),
                kind: EventKind::StatusChanged {
                    from: status,
                    to: Status::Open,
                },
            });
            status = Status::Open;
        }
    }
    Ok(out)
}

fn status_of(v: Option<&Value>) -> Result<Status, String> {
    match v {
        Some(Value::Text(s)) => Status::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| format!("unknown status '{s}'")),
        Some(Value::Number(n)) => Err(format!("expected a status name, found {n}")),
        None => Err("required".into()),
    }
}

fn severity_of(v: Option<&Value>) -> Result<Severity, String> {
    match v {
        Some(Value::Number(n)) => Severity::try_from(*n),
        Some(Value::Text(s)) => Err(format!("expected a severity from 1 to 4, found '{s}'")),
        None => Err("required".into()),
    }
}

fn text_of(v: Option<&Value>) -> Option<String> {
    match v {
        Some(Value::Text(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        None => None,
    }
}

fn actor_of_role(role: &str) -> Option<Actor> {
    match role {
        "agent" => Some(Actor::Agent(String::new())),
        "customer" => Some(Actor::Customer(String::new())),
        "system" => Some(Actor::System),
        _ => None,
    }
}

/// Who a short step is by when the history does not say: replies by their
/// author's role, notices by sladesk, the rest by an agent.
fn default_actor(kind: &str) -> Actor {
    match kind {
        "received" | "customer_reply" => Actor::Customer(String::new()),
        "notice" | "alert_recorded" => Actor::System,
        _ => Actor::Agent(String::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(json: &str) -> Vec<Step> {
        serde_json::from_str(json).unwrap()
    }

    const START: Start = Start {
        policy: "silver",
        version: "v1",
    };

    #[test]
    fn the_short_vocabulary_fills_in_who_and_the_status_before() {
        let e = events(
            &steps(
                r#"[{"type":"received","at":"2026-12-04T16:00:00Z","severity":3},
                    {"type":"agent_reply","at":"2026-12-04T16:30:00Z"},
                    {"type":"pending_customer","at":"2026-12-04T16:31:00Z"},
                    {"type":"customer_reply","at":"2026-12-07T09:00:00Z"},
                    {"type":"severity","to":1,"at":"2026-12-07T09:05:00Z"},
                    {"type":"resolve","at":"2026-12-07T10:00:00Z"}]"#,
            ),
            Some(START),
        )
        .unwrap();
        // The customer's reply ends the wait on them, as on the desk.
        assert_eq!(e.len(), 7);
        assert!(matches!(e[0].by, Actor::Customer(_)));
        assert!(matches!(e[1].by, Actor::Agent(_)));
        assert_eq!(
            e[4].kind,
            EventKind::StatusChanged {
                from: Status::PendingCustomer,
                to: Status::Open
            }
        );
        assert_eq!(
            e[5].kind,
            EventKind::SeverityChanged {
                from: Severity::S3,
                to: Severity::S1
            }
        );
        assert_eq!(
            e[6].kind,
            EventKind::StatusChanged {
                from: Status::Open,
                to: Status::Resolved
            }
        );
    }

    #[test]
    fn instants_read_the_same_by_either_path() {
        for s in ["2026-12-01T09:00:00Z", "2024-02-29T23:59:59Z", "1999-12-31T00:00:00Z"] {
            assert_eq!(utc_seconds(s.as_bytes()), Some(s.parse().unwrap()), "{s}");
        }
        for s in [
            "2026-02-30T09:00:00Z",
            "2026-12-01T24:00:00Z",
            "2026-12-01T09:00:00+01:00",
            "2026-12-01 09:00:00Z",
        ] {
            assert_eq!(utc_seconds(s.as_bytes()), None, "{s}");
        }
        let steps: Vec<Step> =
            serde_json::from_str(r#"[{"type":"received","at":"2026-12-01T10:00:00+01:00","severity":3}]"#).unwrap();
        assert_eq!(steps[0].at, "2026-12-01T09:00:00Z".parse::<DateTime<Utc>>().unwrap());
        let bad = serde_json::from_str::<Vec<Step>>(r#"[{"type":"received","at":"yesterday","severity":3}]"#);
        assert!(bad.unwrap_err().to_string().contains("expected an RFC 3339 instant"));
    }

    #[test]
    fn a_stored_event_reads_back_as_itself() {
        let stored = Event {
            at: "2026-12-04T16:00:00Z".parse().unwrap(),
            by: Actor::Customer("12".into()),
            kind: EventKind::Created {
                severity: Severity::S2,
                policy: "gold".into(),
                policy_version: "abc".into(),
                queue: Some("service-desk".into()),
            },
        };
        let reply = Event {
            at: "2026-12-04T16:10:00Z".parse().unwrap(),
            by: Actor::Agent("3".into()),
            kind: EventKind::Commented {
                visibility: Visibility::Public,
                body: "On it".into(),
            },
        };
        let json = serde_json::to_string(&[&stored, &reply]).unwrap();
        assert_eq!(events(&steps(&json), None).unwrap(), vec![stored, reply]);
    }

    #[test]
    fn a_from_that_contradicts_the_history_is_named() {
        let err = events(
            &steps(
                r#"[{"type":"received","at":"2026-12-04T16:00:00Z","severity":3},
                    {"type":"status_changed","from":"pending_customer","to":"open","at":"2026-12-04T16:30:00Z"}]"#,
            ),
            Some(START),
        )
        .unwrap_err();
        assert_eq!(err.step, 1);
        assert!(err.message.contains("in which the ticket is new"), "{err}");
    }

    #[test]
    fn out_of_order_and_missing_receipt_are_refused() {
        let late = events(
            &steps(
                r#"[{"type":"received","at":"2026-12-04T16:00:00Z","severity":3},
                    {"type":"agent_reply","at":"2026-12-04T15:00:00Z"}]"#,
            ),
            Some(START),
        )
        .unwrap_err();
        assert!(late.message.contains("earlier"), "{late}");
        let headless = events(
            &steps(r#"[{"type":"agent_reply","at":"2026-12-04T15:00:00Z"}]"#),
            Some(START),
        );
        assert!(headless.unwrap_err().message.contains("starts with received"));
        let unknown = events(
            &steps(
                r#"[{"type":"received","at":"2026-12-04T16:00:00Z","severity":3},
                    {"type":"escalate","at":"2026-12-04T17:00:00Z"}]"#,
            ),
            Some(START),
        );
        assert!(unknown.unwrap_err().message.contains("unknown type 'escalate'"));
    }
}
