//! The SLA commands' own work apart from the application: holiday lists,
//! and the `calendar batch` protocol (JSON lines in, one answer per line).

use super::*;

pub(super) fn load(sources: &Sources) -> Result<(PolicySet, Holidays), Failure> {
    let policies = crate::config::policies::load(sources.policies.as_deref())?;
    let mut holidays = Holidays::from_rules();
    if let Some(f) = &sources.holidays_file {
        import(&mut holidays, f)?;
    }
    Ok((policies, holidays))
}

pub(super) fn import(holidays: &mut Holidays, file: &Path) -> Result<(), Failure> {
    let text =
        std::fs::read_to_string(file).map_err(|e| Failure(format!("{}: cannot read: {e}", file.display()), 1))?;
    holidays
        .import_govuk_json(&text)
        .map_err(|e| Failure(format!("{}: {e}", file.display()), 1))
}

pub(super) fn holidays_list(
    region: Region,
    from: i32,
    to: i32,
    format: Format,
    file: Option<&Path>,
) -> Result<ExitCode, Failure> {
    if from > to {
        return Err(Failure(format!("--from {from} is after --to {to}"), 2));
    }
    if !(1583..=9999).contains(&from) || !(1583..=9999).contains(&to) {
        return Err(Failure(
            "--from and --to: expected years between 1583 and 9999".into(),
            2,
        ));
    }
    if from < RULES_FIRST_YEAR || to > RULES_LAST_YEAR {
        eprintln!(
            "sladesk: note: the rules are kept for {RULES_FIRST_YEAR}–{RULES_LAST_YEAR}; other years have no one-off days unless imported"
        );
    }
    let mut holidays = Holidays::from_rules();
    if let Some(f) = file {
        import(&mut holidays, f)?;
    }
    let list = holidays.list(region, from, to);
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    match format {
        Format::Text => {
            for h in &list {
                writeln!(out, "{}\t{}", h.date, h.title)?;
            }
        }
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Any RFC 3339 offset in; whole seconds kept.
pub fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("expected an RFC 3339 instant such as 2026-11-26T09:00:00Z, found '{s}' ({e})"))
}

/// RFC 3339 in UTC with `Z`, whole seconds.
pub fn fmt_instant(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

#[derive(Deserialize)]
pub(super) struct BatchLine<'a> {
    #[serde(borrow)]
    id: Option<&'a RawValue>,
    #[serde(borrow)]
    calendar: Option<Cow<'a, str>>,
    #[serde(borrow)]
    region: Option<Cow<'a, str>>,
    #[serde(borrow)]
    start: Option<Cow<'a, str>>,
    minutes: Option<i64>,
    #[serde(borrow)]
    from: Option<Cow<'a, str>>,
    #[serde(borrow)]
    to: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
pub(super) struct IdOnly<'a> {
    #[serde(borrow)]
    pub(super) id: Option<&'a RawValue>,
}

pub(super) enum Answer {
    Due(DateTime<Utc>),
    Minutes(i64),
}

pub(super) fn answer(cache: &mut CalendarCache, line: &BatchLine) -> Result<Answer, String> {
    let calendar = line.calendar.as_deref().ok_or("missing field: calendar")?;
    let region: Region = line
        .region
        .as_deref()
        .ok_or("missing field: region")?
        .parse()
        .map_err(|e| format!("region: {e}"))?;
    match (&line.start, line.minutes, &line.from, &line.to) {
        (Some(start), Some(minutes), None, None) => {
            let start = parse_instant(start).map_err(|e| format!("start: {e}"))?;
            let cal = cache
                .calendar(calendar, region, start)
                .map_err(|e| format!("calendar: {e}"))?;
            if minutes < 0 {
                return Err("minutes: expected a whole number ≥ 0".into());
            }
            let due = cal
                .add_seconds(start.timestamp(), minutes.checked_mul(60).ok_or("minutes: too large")?)
                .map_err(|e| e.to_string())?;
            Ok(Answer::Due(
                DateTime::from_timestamp(due, 0).ok_or("due: out of range")?,
            ))
        }
        (None, None, Some(from), Some(to)) => {
            let from = parse_instant(from).map_err(|e| format!("from: {e}"))?;
            let to = parse_instant(to).map_err(|e| format!("to: {e}"))?;
            let cal = cache
                .calendar(calendar, region, from)
                .map_err(|e| format!("calendar: {e}"))?;
            let secs = cal
                .between_seconds(from.timestamp(), to.timestamp())
                .map_err(|e| e.to_string())?;
            Ok(Answer::Minutes(secs.div_euclid(60)))
        }
        _ => Err("expected either start and minutes, or from and to".into()),
    }
}

/// Runs the batch protocol; returns whether any line failed. Output is
/// flushed whenever the input has nothing more buffered, so a caller that
/// writes one line and waits gets its answer, and a bulk caller gets speed.
pub fn batch<R: Read, W: Write>(cache: &mut CalendarCache, input: BufReader<R>, output: W) -> std::io::Result<bool> {
    batch_with_progress(cache, input, output, &crate::app::progress::Quiet)
}

/// The batch protocol, counting the lines answered (`--progress`).
pub fn batch_with_progress<R: Read, W: Write>(
    cache: &mut CalendarCache,
    input: BufReader<R>,
    output: W,
    progress: &dyn crate::app::progress::Progress,
) -> std::io::Result<bool> {
    json_lines(input, output, progress, "lines answered", |text, out| {
        let line = serde_json::from_str::<BatchLine>(text).map_err(|e| format!("unreadable line: {e}"))?;
        let id = line.id.map(RawValue::get).unwrap_or("null");
        match answer(cache, &line)? {
            Answer::Due(t) => writeln!(out, "{{\"id\":{id},\"due\":\"{}\"}}", fmt_instant(t)),
            Answer::Minutes(m) => writeln!(out, "{{\"id\":{id},\"business_minutes\":{m}}}"),
        }
        .map_err(|e| e.to_string())
    })
}

/// A JSON-lines protocol (`calendar batch`, `sla replay`): each non-blank
/// line goes to `answer`, which writes its one answer line to the output or
/// says why it cannot; then `{"id":…,"error":…}` is written in its place
/// (the id as the line gave it) and the run goes on. Returns whether any
/// line failed. Output is flushed whenever the input has nothing more
/// buffered, so a caller that writes one line and waits gets its answer,
/// and a bulk caller gets speed.
pub(super) fn json_lines<R: Read, W: Write>(
    mut input: BufReader<R>,
    output: W,
    progress: &dyn crate::app::progress::Progress,
    counting: &str,
    // The concrete writer, not `dyn Write`: serde writes an answer in many
    // small pieces, and a virtual call for each cost replay a tenth of its rate.
    mut answer: impl FnMut(&str, &mut std::io::BufWriter<W>) -> Result<(), String>,
) -> std::io::Result<bool> {
    let steps = crate::app::progress::Steps::begin(progress, counting, 0);
    let mut out = std::io::BufWriter::with_capacity(1 << 16, output);
    let mut failed = false;
    let mut buf = String::new();
    loop {
        buf.clear();
        if input.read_line(&mut buf)? == 0 {
            break;
        }
        let text = buf.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        if let Err(msg) = answer(text, &mut out) {
            failed = true;
            let id = serde_json::from_str::<IdOnly>(text)
                .ok()
                .and_then(|l| l.id)
                .map(RawValue::get)
                .unwrap_or("null");
            writeln!(out, "{{\"id\":{id},\"error\":{}}}", serde_json::Value::String(msg))?;
        }
        steps.advance();
        if input.buffer().is_empty() {
            out.flush()?;
        }
    }
    out.flush()?;
    Ok(failed)
}
