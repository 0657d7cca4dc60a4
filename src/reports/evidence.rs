//! The appendix of the HTML report: the explanation of every breach counted
//! for a service credit (`breach_evidence` in the report's document), as
//! the report reads its instants (Europe/London), and where each breach
//! line of the report links to: that appendix entry, or the ticket page's
//! "Why is it due then?" panel.

use serde_json::{Value, json};

use crate::domain::duration::business_text;
use crate::domain::ticket::explain::Why;

/// The in-document anchor of a breach's evidence.
pub fn anchor(reference: &Value, clock: &Value) -> String {
    format!(
        "evidence-{}-{}",
        reference.as_str().unwrap_or_default(),
        clock.as_str().unwrap_or_default()
    )
}

/// Where a breach line links: its evidence in the appendix when the report
/// holds it, else the ticket's explanation on the desk (`links.desk`, the
/// desk's public address, when the report is sent; relative on the desk).
pub fn link(r: &Value, breach: &Value) -> String {
    let held = r["breach_evidence"].as_array().is_some_and(|e| {
        e.iter()
            .any(|x| x["reference"] == breach["reference"] && x["clock"]["kind"] == breach["clock"])
    });
    if held {
        format!("#{}", anchor(&breach["reference"], &breach["clock"]))
    } else {
        format!(
            "{}/tickets/{}#why-due",
            r["links"]["desk"].as_str().unwrap_or_default().trim_end_matches('/'),
            breach["reference"].as_str().unwrap_or_default()
        )
    }
}

/// The appendix's entries, for the template.
pub fn appendix(r: &Value, london: impl Fn(&Value) -> String) -> Vec<Value> {
    let empty = Vec::new();
    r["breach_evidence"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|e| {
            let c = &e["clock"];
            let day = e["day_seconds"].as_i64().unwrap_or(86_400);
            let span = |v: &Value| business_text(v.as_i64().unwrap_or(0), day);
            let mut rows: Vec<(String, Value)> = c["counted"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .filter(|k| k["projected"] != true)
                .map(|k| {
                    (
                        k["from"].as_str().unwrap_or_default().to_string(),
                        json!({"from": london(&k["from"]), "to": london(&k["to"]),
                               "counted": span(&k["business_seconds"]), "total": span(&k["running_total"]), "skipped": null}),
                    )
                })
                .collect();
            rows.extend(c["gaps"].as_array().unwrap_or(&empty).iter().filter(|g| g["projected"] != true).map(|g| {
                (
                    g["from"].as_str().unwrap_or_default().to_string(),
                    json!({"from": london(&g["from"]), "to": london(&g["to"]), "counted": null, "total": null,
                           "skipped": serde_json::from_value::<Why>(g.clone()).map_or_else(|e| e.to_string(), |w| w.words(false))}),
                )
            }));
            // RFC 3339 in UTC sorts as time does.
            rows.sort_by(|a, b| a.0.cmp(&b.0));
            let x = &c["crossing"];
            let arithmetic = if x.is_null() {
                format!("{} counted against a target of {}.", span(&c["elapsed_seconds"]), span(&c["target_seconds"]))
            } else {
                format!(
                    "{} counted before the interval from {}; the {} target was reached {} into it: breached at {}.",
                    span(&x["counted_before"]),
                    london(&x["interval_from"]),
                    span(&x["target_seconds"]),
                    span(&x["into_interval_seconds"]),
                    london(&x["at"]),
                )
            };
            json!({
                "anchor": anchor(&e["reference"], &c["kind"]),
                "reference": e["reference"],
                "clock": if c["kind"] == "response" { "response" } else { "resolution" },
                "severity": e["severity"],
                "policy": format!("{}, version {}", e["policy"].as_str().unwrap_or_default(), e["policy_version"].as_str().unwrap_or_default()),
                "calendar": e["calendar"],
                "severity_changes": e["severity_changes"].as_array().unwrap_or(&empty).iter().map(|s| format!(
                    "{}: severity {} → {}, measured on the new severity's targets from the receipt", london(&s["at"]), s["from"], s["to"]
                )).collect::<Vec<_>>(),
                "elapsed": span(&c["elapsed_seconds"]),
                "arithmetic": arithmetic,
                "rows": rows.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
                "not_listed": c["intervals_not_listed"],
            })
        })
        .collect()
}

/// The month's disputes and their outcomes (`disputes`, added when the
/// report is read), for the template.
pub fn disputes(r: &Value, london: impl Fn(&Value) -> String) -> Vec<Value> {
    let empty = Vec::new();
    r["disputes"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|d| {
            json!({
                "id": d["id"],
                "subject": d["subject"],
                "raised": london(&d["raised_at"]),
                "outcome": match d["status"].as_str() {
                    Some("upheld") => format!(
                        "upheld: {}",
                        crate::domain::money::Pence(d["adjustment_pence"].as_i64().unwrap_or(0))
                    ),
                    Some("rejected") => "rejected".to_string(),
                    _ => "awaiting a decision".to_string(),
                },
                "reply": d["reply"].as_str().unwrap_or_default(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_gap_reads_back_in_the_words_the_ticket_page_uses() {
        for (gap, words) in [
            (
                json!({"from": "a", "to": "b", "why": "outside_hours", "projected": false}),
                "outside business hours",
            ),
            (
                json!({"from": "a", "to": "b", "why": "bank_holiday", "name": "Boxing Day", "projected": false}),
                "bank holiday: Boxing Day",
            ),
            (
                json!({"from": "a", "to": "b", "why": "paused", "status": "pending_customer", "projected": false}),
                "waiting on the customer",
            ),
        ] {
            assert_eq!(serde_json::from_value::<Why>(gap).unwrap().words(false), words);
        }
    }
}
