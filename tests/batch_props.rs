//! `calendar batch` takes whatever arrives on stdin: every input line gets
//! exactly one JSON answer line, in order, and nothing panics.

use std::io::BufReader;
use std::sync::OnceLock;

use proptest::prelude::*;
use sladesk::cli::batch;
use sladesk::config::policies::{CalendarCache, PolicySet};
use sladesk::domain::holidays::Holidays;

fn sources() -> &'static (PolicySet, Holidays) {
    static S: OnceLock<(PolicySet, Holidays)> = OnceLock::new();
    S.get_or_init(|| {
        let p = sladesk::config::policies::load_dir(std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/sla-policies"
        )))
        .unwrap();
        (p, Holidays::from_rules())
    })
}

fn field_value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("\"silver\"".to_string()),
        Just("\"24x7\"".to_string()),
        Just("\"scotland\"".to_string()),
        Just("\"2026-10-25T01:30:00+01:00\"".to_string()),
        Just("\"1989-12-31T23:59:59Z\"".to_string()),
        Just("\"2100-12-31T23:59:59-05:00\"".to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        (-10i64..100_000).prop_map(|n| n.to_string()),
        Just("null".to_string()),
        Just("1e400".to_string()),
        Just("[1,{\"a\":2}]".to_string()),
        "\"[^\"\\\\\n]{0,12}\"",
    ]
}

fn line() -> impl Strategy<Value = String> {
    let keys = prop::sample::select(vec!["id", "calendar", "region", "start", "minutes", "from", "to", "x"]);
    prop_oneof![
        3 => prop::collection::vec((keys, field_value()), 0..7).prop_map(|kv| {
            let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
            format!("{{{}}}", body.join(","))
        }),
        1 => "[^\n]{0,40}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn every_line_gets_one_json_answer(lines in prop::collection::vec(line(), 1..30)) {
        let (policies, holidays) = sources();
        let mut cache = CalendarCache::new(policies, holidays);
        let input: String = lines.iter().map(|l| format!("{l}\n")).collect();
        let mut out = Vec::new();
        let failed = batch(&mut cache, BufReader::new(input.as_bytes()), &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        let answers: Vec<&str> = text.lines().collect();
        let asked = lines.iter().filter(|l| !l.trim().is_empty()).count();
        prop_assert_eq!(answers.len(), asked);
        let mut any_error = false;
        for a in answers {
            // Ids are echoed byte for byte; 1e400 is valid JSON that serde_json
            // will not hold as a number, so read it as another number here.
            let v: serde_json::Value = serde_json::from_str(&a.replace("1e400", "0")).unwrap();
            prop_assert!(v.get("id").is_some());
            any_error |= v.get("error").is_some();
            prop_assert!(v.get("error").is_some() || v.get("due").is_some() || v.get("business_minutes").is_some());
        }
        prop_assert_eq!(failed, any_error);
    }
}
