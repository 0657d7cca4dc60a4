//! The report's other forms, from its JSON document (so a kept report
//! renders exactly as it was computed): HTML with charts, the CSV summary
//! rows, and the CSV ticket rows.

use serde_json::Value;

/// The forms a report is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// The summary rows.
    Csv,
    /// A row per ticket.
    CsvTickets,
    /// A page with tables and charts.
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "csv-tickets" => Ok(Format::CsvTickets),
            "html" => Ok(Format::Html),
            other => Err(format!("'{other}': expected json, html, csv or csv-tickets")),
        }
    }
}

/// The report's JSON document in `format`.
pub fn render(report: &Value, format: Format) -> Result<String, String> {
    match format {
        Format::Json => serde_json::to_string_pretty(report)
            .map(|s| s + "\n")
            .map_err(|e| e.to_string()),
        Format::Csv => csv(report),
        Format::CsvTickets => tickets_csv(report),
        Format::Html => html(report),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<String, String> {
    let bytes = w.into_inner().map_err(|e| e.to_string())?;
    String::from_utf8(bytes).map_err(|e| e.to_string())
}

/// One row per measure: `section,severity,measure,value`, so a spreadsheet
/// can pivot it and an auditor can read it top to bottom.
pub fn csv(r: &Value) -> Result<String, String> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut row = |section: &str, severity: &str, measure: &str, value: String| {
        w.write_record([section, severity, measure, &value])
            .map_err(|e| e.to_string())
    };
    row("report", "", "organisation", cell(&r["organisation"]))?;
    row("report", "", "month", cell(&r["month"]))?;
    row("report", "", "as_of", cell(&r["as_of"]))?;
    row("report", "", "month_closed", cell(&r["month_closed"]))?;
    if let Some(state) = r["standing"]["state"].as_str() {
        row("report", "", "standing", state.to_string())?;
        row("report", "", "version", cell(&r["standing"]["version"]))?;
        row("report", "", "revised_pending", cell(&r["standing"]["revised_pending"]))?;
    }
    for v in r["volumes"].as_array().into_iter().flatten() {
        let s = cell(&v["severity"]);
        for m in ["raised", "resolved", "open_at_end"] {
            row("volume", &s, m, cell(&v[m]))?;
        }
    }
    row("volume", "", "reopened", cell(&r["reopened"]))?;
    row("volume", "", "paused_minutes", minutes(&r["paused_seconds"]))?;
    for c in r["compliance"].as_array().into_iter().flatten() {
        let s = cell(&c["severity"]);
        for clock in ["response", "resolve"] {
            for m in ["met", "breached", "percent_met"] {
                row(&format!("{clock}_compliance"), &s, m, cell(&c[clock][m]))?;
            }
            for m in ["mean_business", "median_business"] {
                let v = minutes(&c[clock][format!("{m}_seconds").as_str()]);
                row(&format!("{clock}_compliance"), &s, &format!("{m}_minutes"), v)?;
            }
        }
    }
    if let Some(a) = r.get("availability").filter(|a| !a.is_null()) {
        row("availability", "", "minutes_in_month", minutes(&a["seconds_in_month"]))?;
        row("availability", "", "downtime_minutes", minutes(&a["downtime_seconds"]))?;
    }
    if let Some(c) = r.get("credits").filter(|c| !c.is_null()) {
        for l in c["lines"].as_array().into_iter().flatten() {
            let causes: Vec<String> = l["causes"].as_array().into_iter().flatten().map(cell).collect();
            row(
                "credit_line",
                "",
                &cell(&l["kind"]),
                format!(
                    "{} pence: {} ({})",
                    cell(&l["amount_pence"]),
                    cell(&l["description"]),
                    causes.join(" ")
                ),
            )?;
        }
        row("credits", "", "total_pence", cell(&c["total_pence"]))?;
    }
    if let Some(t) = r.get("time_spent").filter(|t| !t.is_null()) {
        row("time_spent", "", "total_minutes", cell(&t["total_minutes"]))?;
        for l in t["tickets"].as_array().into_iter().flatten() {
            row("time_spent", "", &cell(&l["reference"]), cell(&l["minutes"]))?;
        }
        for o in t["organisations"].as_array().into_iter().flatten() {
            row("time_spent", "", &cell(&o["organisation"]), cell(&o["minutes"]))?;
        }
    }
    for l in r["service_requests"].as_array().into_iter().flatten() {
        let detail = format!(
            "{} fulfilled, {} met, {} missed, {}% met, mean {} s, median {} s",
            cell(&l["fulfilled"]),
            cell(&l["met"]),
            cell(&l["missed"]),
            cell(&l["percent_met"]),
            cell(&l["mean_business_seconds"]),
            cell(&l["median_business_seconds"])
        );
        row("service_request", "", &cell(&l["item"]), detail)?;
    }
    if let Some(ch) = r.get("changes").filter(|c| !c.is_null()) {
        for key in [
            "total",
            "standard",
            "normal",
            "emergency",
            "reviewed",
            "succeeded",
            "success_percent",
        ] {
            row("changes", "", key, cell(&ch[key]))?;
        }
        for f in ch["followed_by_incidents"].as_array().into_iter().flatten() {
            row("changes", "", "followed_by_incidents", cell(f))?;
        }
    }
    for o in r["organisations"].as_array().into_iter().flatten() {
        row(
            "organisation",
            "",
            &cell(&o["organisation"]),
            format!("{}% {}p", cell(&o["availability_percent"]), cell(&o["credits_pence"])),
        )?;
    }
    finish(w)
}

/// The month's time spent as the page shows it: each line's name and
/// hours and minutes; null when none was booked.
fn time_spent_json(t: &Value) -> Value {
    if t.is_null() {
        return Value::Null;
    }
    let hm = |m: &Value| hours_minutes(m.as_i64().unwrap_or(0) * 60);
    let lines: Vec<Value> = t["tickets"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|l| serde_json::json!({"name": l["reference"], "time": hm(&l["minutes"])}))
        .chain(
            t["organisations"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| serde_json::json!({"name": o["organisation"], "time": hm(&o["minutes"])})),
        )
        .collect();
    serde_json::json!({"total": hm(&t["total_minutes"]), "lines": lines})
}

/// Seconds as minutes for a spreadsheet: "90.5"; empty for none.
fn minutes(v: &Value) -> String {
    match v.as_i64() {
        Some(s) if s % 60 == 0 => (s / 60).to_string(),
        Some(s) => format!("{:.1}", s as f64 / 60.0),
        None => String::new(),
    }
}

/// One row per ticket that bore on the month; durations in minutes.
pub fn tickets_csv(r: &Value) -> Result<String, String> {
    const COLUMNS: [&str; 14] = [
        "reference",
        "organisation",
        "severity",
        "status_at_end",
        "received_at",
        "resolved_at",
        "response_state",
        "response_business_seconds",
        "response_counted",
        "resolve_state",
        "resolve_business_seconds",
        "resolve_counted",
        "paused_seconds",
        "reopens",
    ];
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(COLUMNS.map(|c| c.replace("_seconds", "_minutes")))
        .map_err(|e| e.to_string())?;
    for t in r["tickets"].as_array().into_iter().flatten() {
        w.write_record(COLUMNS.iter().map(|c| {
            if c.ends_with("_seconds") {
                minutes(&t[*c])
            } else {
                cell(&t[*c])
            }
        }))
        .map_err(|e| e.to_string())?;
    }
    finish(w)
}

/// The template is compiled in: a report renders the same from any working
/// directory, in the CLI, the API and the scheduler's monthly job.
const HTML_TEMPLATE: &str = include_str!("../../templates/reports/monthly.html.hbs");

/// "£1,234.56" (negative: "−£12.00"): `domain::money::Pence` as written.
pub fn pounds(pence: i64) -> String {
    crate::domain::money::Pence(pence).to_string()
}

/// "184 h 20 min", "45 min", "0 min".
pub fn hours_minutes(seconds: i64) -> String {
    let m = seconds.max(0) / 60;
    match (m / 60, m % 60) {
        (0, m) => format!("{m} min"),
        (h, m) => format!("{h} h {m:02} min"),
    }
}

fn london(v: &Value) -> String {
    v.as_str()
        .and_then(|s| s.parse::<chrono::DateTime<chrono::Utc>>().ok())
        .map(|t| {
            t.with_timezone(&chrono_tz::Europe::London)
                .format("%-d %b %Y %H:%M %Z")
                .to_string()
        })
        .unwrap_or_default()
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

fn severity_title(n: i64) -> &'static str {
    u8::try_from(n)
        .ok()
        .and_then(|n| crate::domain::ticket::Severity::try_from(n).ok())
        .map_or("", |s| s.title())
}

/// What a chart's value axis counts.
#[derive(Clone, Copy)]
enum Axis {
    /// 0 to 100, never beyond.
    Percent,
    /// Whole things: every tick a whole number.
    Count,
}

fn bar_chart(
    title: &str,
    series: Vec<(&str, Vec<f32>)>,
    x: Vec<String>,
    width: f32,
    axis: Axis,
) -> Result<String, String> {
    let top = series
        .iter()
        .flat_map(|(_, d)| d.iter().copied())
        .filter(|v| v.is_finite())
        .fold(0.0_f32, f32::max);
    let mut chart = charts_rs::BarChart::new(series.into_iter().map(|(n, d)| (n, d).into()).collect(), x);
    chart.title.text = title.to_string();
    chart.width = width;
    chart.height = 320.0;
    let (max, split) = axis_range(axis, top);
    for y in chart.y_axis_configs.iter_mut() {
        y.min = Some(0.0);
        y.max = Some(max);
        y.split_number = split;
    }
    chart.svg().map_err(|e| e.to_string())
}

/// The value axis's top and number of intervals: a percentage runs to 100
/// in fifths; a count to a whole multiple of its step, so every tick is a
/// whole number ("2.5 tickets" helps nobody).
fn axis_range(axis: Axis, top: f32) -> (f32, usize) {
    match axis {
        Axis::Percent => (100.0, 5),
        Axis::Count => {
            let top = top.ceil().max(1.0);
            let split = (top as usize).clamp(1, 5);
            let step = (top / split as f32).ceil();
            (step * split as f32, split)
        }
    }
}

/// The report as a page a manager can send and print: tables with every
/// figure, and SVG charts drawn by charts-rs.
pub fn html(r: &Value) -> Result<String, String> {
    let month = r["month"].as_str().unwrap_or_default();
    let month_name = chrono::NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_else(|_| month.to_string());
    let empty = Vec::new();
    let volumes = r["volumes"].as_array().unwrap_or(&empty);
    let compliance = r["compliance"].as_array().unwrap_or(&empty);
    let clock_view = |c: &Value| {
        serde_json::json!({
            "met": int(&c["met"]),
            "breached": int(&c["breached"]),
            "percent": c["percent_met"].as_str().map_or("–".to_string(), |p| format!("{p}%")),
            "mean": c["mean_business_seconds"].as_i64().map_or("–".to_string(), hours_minutes),
            "median": c["median_business_seconds"].as_i64().map_or("–".to_string(), hours_minutes),
        })
    };
    let severities: Vec<Value> = volumes
        .iter()
        .zip(compliance)
        .map(|(v, c)| {
            serde_json::json!({
                "severity": int(&v["severity"]),
                "title": severity_title(int(&v["severity"])),
                "raised": int(&v["raised"]),
                "resolved": int(&v["resolved"]),
                "open_at_end": int(&v["open_at_end"]),
                "response": clock_view(&c["response"]),
                "resolve": clock_view(&c["resolve"]),
            })
        })
        .collect();
    let sum = |k: &str| volumes.iter().map(|v| int(&v[k])).sum::<i64>();
    let breaches: Vec<Value> = r["breaches"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|b| {
            serde_json::json!({
                "reference": b["reference"],
                "organisation": if r["organisation"].is_null() { b["organisation"].clone() } else { Value::Null },
                "severity": b["severity"],
                "clock": b["clock"],
                "breached_at": london(&b["breached_at"]),
                "late": match int(&b["late_business_seconds"]) {
                    s if s < 60 => "under a minute".to_string(),
                    s => hours_minutes(s),
                },
                "state": if b["stopped"].as_bool().unwrap_or(false) { "stopped" } else { "still running at month end" },
                "link": super::evidence::link(r, b),
            })
        })
        .collect();
    let availability = match &r["availability"] {
        Value::Null => Value::Null,
        a => {
            let seconds = int(&a["seconds_in_month"]);
            let down = int(&a["downtime_seconds"]);
            let m = if seconds > 0 {
                (seconds - down) * 100_000 / seconds
            } else {
                100_000
            };
            serde_json::json!({
                "percent": format!("{}.{:03}", m / 1000, m % 1000),
                "hours": seconds / 3600,
                "downtime": hours_minutes(down),
                "outages": a["outages"].as_array().unwrap_or(&empty).iter().map(|o| serde_json::json!({
                    "id": o["id"],
                    "kind": o["kind"].as_str().unwrap_or_default().replace('_', " "),
                    "from": london(&o["from"]),
                    "to": london(&o["to"]),
                    "ongoing": o["ongoing"],
                    "length": hours_minutes(int(&o["seconds"])),
                    "counts": if o["counted"].as_bool().unwrap_or(false) { "yes" } else { "no: planned and announced in time" },
                })).collect::<Vec<_>>(),
            })
        }
    };
    let credits = match &r["credits"] {
        Value::Null => Value::Null,
        c => serde_json::json!({
            "charge": pounds(int(&c["monthly_charge_pence"])),
            "cap": pounds(int(&c["cap_pence"])),
            "total": pounds(int(&c["total_pence"])),
            "lines": c["lines"].as_array().unwrap_or(&empty).iter().map(|l| serde_json::json!({
                "description": l["description"],
                "rate": l["rate_basis_points"].as_i64().map_or(String::new(), |bp| crate::domain::credits::percent_text(bp, 2)),
                "causes": l["causes"].as_array().unwrap_or(&empty).iter().map(cell).collect::<Vec<_>>().join(", "),
                "amount": pounds(int(&l["amount_pence"])),
            })).collect::<Vec<_>>(),
        }),
    };
    let organisations: Vec<Value> = r["organisations"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|o| {
            serde_json::json!({
                "organisation": o["organisation"],
                "availability": o["availability_percent"],
                "credits": pounds(int(&o["credits_pence"])),
            })
        })
        .collect();

    let percent = |c: &Value| {
        c["percent_met"]
            .as_str()
            .and_then(|p| p.parse::<f32>().ok())
            .unwrap_or(0.0)
    };
    let daily = r["daily"].as_array().unwrap_or(&empty);
    let days: Vec<String> = daily
        .iter()
        .map(|d| {
            d["date"]
                .as_str()
                .unwrap_or_default()
                .get(8..)
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    let per_day = |k: &str| daily.iter().map(|d| int(&d[k]) as f32).collect::<Vec<f32>>();
    let charts = serde_json::json!({
        "compliance": bar_chart(
            "Targets met (%)",
            vec![
                ("Response", compliance.iter().map(|c| percent(&c["response"])).collect()),
                ("Resolve", compliance.iter().map(|c| percent(&c["resolve"])).collect()),
            ],
            ["Severity 1", "Severity 2", "Severity 3", "Severity 4"].map(String::from).to_vec(),
            640.0,
            Axis::Percent,
        )?,
        "volume": bar_chart(
            "Tickets per day",
            vec![("Raised", per_day("raised")), ("Resolved", per_day("resolved"))],
            days.clone(),
            900.0,
            Axis::Count,
        )?,
        "breaches": bar_chart(
            "Breaches per day",
            vec![("Breaches", per_day("breaches"))],
            days,
            900.0,
            Axis::Count,
        )?,
    });
    let standing = &r["standing"];
    let standing_line = match standing["state"].as_str() {
        Some("provisional") => Some(
            "Provisional: computed from what is recorded now; the figures may change until the month is closed."
                .to_string(),
        ),
        Some(_) => {
            let kept = standing["versions"]
                .as_array()
                .and_then(|v| v.iter().find(|x| x["version"] == standing["version"]))
                .and_then(|x| x["kept_at"].as_str())
                .and_then(|t| t.get(..10))
                .unwrap_or_default()
                .to_string();
            let mut line = format!(
                "Closed: version {} of {}, kept {kept}.",
                int(&standing["version"]),
                int(&standing["latest_version"])
            );
            if standing["revised_pending"].as_bool() == Some(true) {
                line.push_str(" Revised pending: changes touching this month were recorded after the latest version.");
            }
            Some(line)
        }
        None => None,
    };
    let view = serde_json::json!({
        "standing": standing_line,
        "organisation_name": r["organisation_name"],
        "policy": r["policy"],
        "month_name": month_name,
        "period": format!("{} to {}", london(&r["period_start"]), london(&r["period_end"])),
        "month_closed": r["month_closed"],
        "as_of": london(&r["as_of"]),
        "totals": {"raised": sum("raised"), "resolved": sum("resolved"), "open_at_end": sum("open_at_end")},
        "reopened": int(&r["reopened"]),
        "paused": hours_minutes(int(&r["paused_seconds"])),
        "breach_count": breaches.len(),
        "severities": severities,
        "targets": r["targets"].as_array().unwrap_or(&empty).iter().map(|t| serde_json::json!({
            "severity": t["severity"],
            "title": severity_title(int(&t["severity"])),
            "response": t["response"],
            "resolve": t["resolve"],
            "calendar": if t["calendar"] == "24x7" { "24x7" } else { "business hours, bank holidays closed" },
        })).collect::<Vec<_>>(),
        "breaches": breaches,
        "evidence": super::evidence::appendix(r, london),
        "disputes": super::evidence::disputes(r, london),
        "availability": availability,
        "major_incidents": r["major_incidents"].as_array().unwrap_or(&empty).iter().map(|m| serde_json::json!({
            "outage": m["outage"],
            "tickets": m["tickets"].as_array().unwrap_or(&empty).iter().map(|t| {
                let clock = |v: &Value| if v.is_null() { "met".to_string() } else { format!("breached {}", london(v)) };
                serde_json::json!({
                    "reference": t["reference"], "organisation": t["organisation"],
                    "response": clock(&t["response_breached_at"]), "resolve": clock(&t["resolve_breached_at"]),
                })
            }).collect::<Vec<_>>(),
        })).collect::<Vec<_>>(),
        "time_spent": time_spent_json(&r["time_spent"]),
        "service_requests": r["service_requests"].as_array().unwrap_or(&empty).iter().map(|l| {
            let hm = |v: &Value| v.as_i64().map_or_else(|| "–".to_string(), hours_minutes);
            serde_json::json!({
                "name": l["name"], "fulfilled": l["fulfilled"], "met": l["met"], "missed": l["missed"],
                "percent": l["percent_met"].as_str().map_or_else(|| "no target".to_string(), |p| format!("{p}%")),
                "mean": hm(&l["mean_business_seconds"]), "median": hm(&l["median_business_seconds"]),
            })
        }).collect::<Vec<_>>(),
        "changes": r["changes"],
        "credits": credits,
        "organisations": organisations,
        "charts": charts,
        "counting_rules": r["counting_rules"],
    });
    let mut hb = handlebars::Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_template_string("monthly", HTML_TEMPLATE)
        .map_err(|e| format!("templates/reports/monthly.html.hbs: {e}"))?;
    hb.render("monthly", &view)
        .map_err(|e| format!("templates/reports/monthly.html.hbs: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_durations_read_as_people_write_them() {
        assert_eq!(pounds(123_456_789), "£1,234,567.89");
        assert_eq!(pounds(5), "£0.05");
        assert_eq!(pounds(-3_750_000), "−£37,500.00");
        assert_eq!(hours_minutes(663_600), "184 h 20 min");
        assert_eq!(hours_minutes(2_700), "45 min");
    }

    #[test]
    fn count_axes_tick_in_whole_numbers_and_percentages_stop_at_100() {
        use super::{Axis, axis_range};
        assert_eq!(axis_range(Axis::Percent, 100.0), (100.0, 5));
        assert_eq!(axis_range(Axis::Count, 0.0), (1.0, 1));
        assert_eq!(axis_range(Axis::Count, 3.0), (3.0, 3));
        assert_eq!(axis_range(Axis::Count, 7.0), (10.0, 5));
        assert_eq!(axis_range(Axis::Count, 23.0), (25.0, 5));
        for top in 0..200 {
            let (max, split) = axis_range(Axis::Count, top as f32);
            assert!(max >= top as f32);
            assert_eq!(
                (max / split as f32).fract(),
                0.0,
                "{top}: ticks of {}",
                max / split as f32
            );
        }
    }
}
