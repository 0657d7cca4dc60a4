//! The report's CSV forms, from its JSON document (so a kept report renders
//! exactly as it was computed): the summary rows, and the ticket rows.

use serde_json::Value;

/// The forms a report is given in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// The summary rows.
    Csv,
    /// A row per ticket.
    CsvTickets,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Format, String> {
        match s {
            "json" => Ok(Format::Json),
            "csv" => Ok(Format::Csv),
            "csv-tickets" => Ok(Format::CsvTickets),
            other => Err(format!("'{other}': expected json, csv or csv-tickets")),
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
    for v in r["volumes"].as_array().into_iter().flatten() {
        let s = cell(&v["severity"]);
        for m in ["raised", "resolved", "open_at_end"] {
            row("volume", &s, m, cell(&v[m]))?;
        }
    }
    row("volume", "", "reopened", cell(&r["reopened"]))?;
    row("volume", "", "paused_seconds", cell(&r["paused_seconds"]))?;
    for c in r["compliance"].as_array().into_iter().flatten() {
        let s = cell(&c["severity"]);
        for clock in ["response", "resolve"] {
            for m in [
                "met",
                "breached",
                "percent_met",
                "mean_business_seconds",
                "median_business_seconds",
            ] {
                row(&format!("{clock}_compliance"), &s, m, cell(&c[clock][m]))?;
            }
        }
    }
    if let Some(a) = r.get("availability").filter(|a| !a.is_null()) {
        row("availability", "", "seconds_in_month", cell(&a["seconds_in_month"]))?;
        row("availability", "", "downtime_seconds", cell(&a["downtime_seconds"]))?;
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

/// One row per ticket that bore on the month.
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
    w.write_record(COLUMNS).map_err(|e| e.to_string())?;
    for t in r["tickets"].as_array().into_iter().flatten() {
        w.write_record(COLUMNS.iter().map(|c| cell(&t[*c])))
            .map_err(|e| e.to_string())?;
    }
    finish(w)
}
