//! `sladesk sla replay`: the clocks of ticket histories, offline. One JSON
//! history per input line, one answer per line, in order; a bad line gets
//! `{"id":…,"error":…}` and the run goes on, as in `calendar batch`. The
//! clocks are `domain::clock::sla` over `Ticket::replay` of the events: the
//! computation whose result the server stores with every event
//! (docs/sla-replay.md has the format and its JSON Schema).

use std::collections::HashMap;

use super::*;
use crate::domain::clock::SlaView;
use crate::domain::policy::Policy;
use crate::domain::ticket::history::{self, Start, Step};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Line<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    /// A policy name (the version in effect when the ticket was received),
    /// or `name@version`.
    #[serde(borrow)]
    policy: Option<Cow<'a, str>>,
    /// A version hash, as `sladesk policy check` lists them.
    #[serde(borrow)]
    policy_version: Option<Cow<'a, str>>,
    /// The text of a policy file, for a version not loaded here.
    policy_file: Option<String>,
    #[serde(borrow)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    as_of: Option<Cow<'a, str>>,
    #[serde(default)]
    events: Vec<Step>,
}

#[derive(serde::Serialize)]
struct Answer<'a> {
    /// The caller's bytes, unchanged.
    id: &'a RawValue,
    as_of: String,
    policy: &'a str,
    policy_version: &'a str,
    severity: Severity,
    status: &'a str,
    events_counted: usize,
    #[serde(flatten)]
    view: &'a SlaView,
}

/// Policies given inline, parsed once per distinct text.
#[derive(Default)]
pub(super) struct Inline {
    by_text: HashMap<String, Policy>,
}

impl Inline {
    fn parse(&mut self, text: String) -> Result<&Policy, String> {
        if !self.by_text.contains_key(&text) {
            let p = Policy::from_toml("policy_file", &text).map_err(|e| e.to_string())?;
            self.by_text.insert(text.clone(), p);
        }
        Ok(&self.by_text[&text])
    }

    fn version(&self, name: &str, version: &str) -> Option<&Policy> {
        self.by_text.values().find(|p| p.name == name && p.version == version)
    }
}

fn by_version<'p>(policies: &'p PolicySet, version: &str) -> Option<&'p Policy> {
    policies.iter().map(|(p, _)| p).find(|p| p.version == version)
}

/// A line without an id is answered with `"id":null`.
static NULL_ID: std::sync::LazyLock<Box<RawValue>> =
    std::sync::LazyLock::new(|| RawValue::from_string("null".into()).expect("null is JSON"));

/// One history's clocks, written to `out` (nothing is written on an error).
fn answer(
    policies: &PolicySet,
    cache: &mut CalendarCache,
    inline: &mut Inline,
    line: Line,
    out: &mut impl Write,
    id: &RawValue,
) -> Result<(), String> {
    let received = line
        .events
        .first()
        .map(|s| s.at)
        .ok_or("events: a history needs at least its receipt")?;
    let start: Option<(String, String)> = if let Some(text) = line.policy_file {
        let p = inline.parse(text).map_err(|e| format!("policy_file: {e}"))?;
        Some((p.name.clone(), p.version.clone()))
    } else if let Some(v) = &line.policy_version {
        let p = by_version(policies, v).ok_or_else(|| {
            format!("policy_version: no loaded policy has version '{v}' (give its file as policy_file, or --policies)")
        })?;
        Some((p.name.clone(), p.version.clone()))
    } else if let Some(named) = &line.policy {
        let p = match named.split_once('@') {
            Some((name, version)) => policies
                .version(name, version)
                .ok_or_else(|| format!("policy: {name} has no loaded version '{version}'"))?,
            None => policies
                .effective(named, received)
                .map_err(|e| format!("policy: {e}"))?,
        };
        Some((p.name.clone(), p.version.clone()))
    } else {
        None
    };
    let events = history::events(
        &line.events,
        start.as_ref().map(|(policy, version)| Start { policy, version }),
    )
    .map_err(|e| e.to_string())?;
    let last = events.last().map(|e| e.at).unwrap_or(received);
    let as_of = match &line.as_of {
        Some(s) => parse_instant(s).map_err(|e| format!("as_of: {e}"))?,
        None => last,
    };
    if as_of < received {
        return Err(format!(
            "as_of {} is before the ticket was received ({})",
            fmt_instant(as_of),
            fmt_instant(received)
        ));
    }
    // As of an earlier instant, the later steps have not happened yet.
    let counted = events.partition_point(|e| e.at <= as_of);
    let ticket = Ticket::replay(&events[..counted]).map_err(|e| e.to_string())?;
    let region: Region = line
        .region
        .as_deref()
        .ok_or("missing field: region")?
        .parse()
        .map_err(|e| format!("region: {e}"))?;
    let policy = inline
        .version(&ticket.policy, &ticket.policy_version)
        .or_else(|| policies.version(&ticket.policy, &ticket.policy_version))
        .ok_or_else(|| {
            format!(
                "the history runs on {}@{}, which is not loaded (give its file as policy_file, or --policies)",
                ticket.policy, ticket.policy_version
            )
        })?;
    let calendars = cache.policy_calendars(policy, region);
    let ctx = SlaContext { policy, calendars };
    let view = sla(&ticket, &ctx, as_of).map_err(|e| e.to_string())?;
    let answer = Answer {
        id,
        as_of: fmt_instant(as_of),
        policy: &ticket.policy,
        policy_version: &ticket.policy_version,
        severity: ticket.severity,
        status: ticket.status.as_str(),
        events_counted: counted,
        view: &view,
    };
    // Straight into the output: a line's answer is written only once whole.
    serde_json::to_writer(&mut *out, &answer).map_err(|e| e.to_string())?;
    out.write_all(b"\n").map_err(|e| e.to_string())
}

/// Runs the replay protocol; returns whether any line failed.
pub fn replay<R: Read, W: Write>(
    policies: &PolicySet,
    cache: &mut CalendarCache,
    input: BufReader<R>,
    output: W,
    progress: &dyn crate::app::progress::Progress,
) -> std::io::Result<bool> {
    let mut inline = Inline::default();
    json_lines(input, output, progress, "histories replayed", |text, out| {
        let line = serde_json::from_str::<Line>(text).map_err(|e| format!("unreadable line: {e}"))?;
        let id: &RawValue = line.id.unwrap_or(&NULL_ID);
        answer(policies, cache, &mut inline, line, out, id)
    })
}
