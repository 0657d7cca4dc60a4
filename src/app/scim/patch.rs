//! SCIM's operations on a resource's JSON (RFC 7644): PATCH `add`,
//! `replace` and `remove` with attribute paths (`name.givenName`,
//! `emails[type eq "work"].value`, `members[value eq "…"]`, with or
//! without the schema URN), the `eq` filters of a list, and the
//! `attributes` / `excludedAttributes` projection. Attribute names match
//! without regard to case, as the RFC asks.

use serde_json::{Map, Value};

/// Why an operation cannot apply: the SCIM `scimType` and a detail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScimFault {
    pub scim_type: &'static str,
    pub detail: String,
}

fn fault(scim_type: &'static str, detail: impl Into<String>) -> ScimFault {
    ScimFault {
        scim_type,
        detail: detail.into(),
    }
}

/// A value filter inside brackets: `attr op "value"`, `and`-ed.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub terms: Vec<(String, String, Value)>,
}

/// A parsed path: attribute, optional filter, optional sub-attribute.
#[derive(Debug, Clone, PartialEq)]
pub struct ScimPath {
    pub attr: String,
    pub filter: Option<Filter>,
    pub sub: Option<String>,
}

/// Drops a schema URN prefix (`urn:…:User:userName` → `userName`).
fn strip_urn(s: &str) -> &str {
    if s.to_ascii_lowercase().starts_with("urn:") {
        // The attribute is after the last ':' that precedes any '['.
        let head = s.split('[').next().unwrap_or(s);
        match head.rfind(':') {
            Some(i) => &s[i + 1..],
            None => s,
        }
    } else {
        s
    }
}

fn parse_value(s: &str) -> Result<Value, ScimFault> {
    let s = s.trim();
    if s.starts_with('"') {
        serde_json::from_str(s).map_err(|_| fault("invalidFilter", format!("bad string {s}")))
    } else if s.eq_ignore_ascii_case("true") {
        Ok(Value::Bool(true))
    } else if s.eq_ignore_ascii_case("false") {
        Ok(Value::Bool(false))
    } else if s.eq_ignore_ascii_case("null") {
        Ok(Value::Null)
    } else {
        s.parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map(|n| {
                if let Ok(i) = s.parse::<i64>() {
                    Value::from(i)
                } else {
                    Value::Number(n)
                }
            })
            .ok_or_else(|| fault("invalidFilter", format!("bad value {s}")))
    }
}

/// Splits on a keyword outside quotes.
fn split_outside_quotes<'a>(s: &'a str, word: &str) -> Vec<&'a str> {
    let lower = s.to_ascii_lowercase();
    let mut parts = Vec::new();
    let (mut start, mut in_quotes, mut i) = (0, false, 0);
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'"' if i == 0 || bytes[i - 1] != b'\\' => in_quotes = !in_quotes,
            _ if !in_quotes && lower[i..].starts_with(word) => {
                parts.push(&s[start..i]);
                i += word.len();
                start = i;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    parts.push(&s[start..]);
    parts
}

/// A filter of `eq`, `ne`, `co`, `sw`, `ew` and `pr` terms joined by `and`.
pub fn parse_filter(s: &str) -> Result<Filter, ScimFault> {
    let mut terms = Vec::new();
    for part in split_outside_quotes(s, " and ") {
        let part = part.trim();
        let mut words = part.splitn(3, ' ');
        let attr = strip_urn(words.next().unwrap_or_default()).to_string();
        let op = words.next().unwrap_or_default().to_ascii_lowercase();
        let value = match (op.as_str(), words.next()) {
            ("pr", None) => Value::Null,
            (o, Some(v)) if ["eq", "ne", "co", "sw", "ew"].contains(&o) => parse_value(v)?,
            _ => {
                return Err(fault(
                    "invalidFilter",
                    format!("'{part}': expected attribute, operator and value"),
                ));
            }
        };
        if attr.is_empty() || split_outside_quotes(part, " or ").len() > 1 {
            return Err(fault("invalidFilter", format!("'{part}' is not supported")));
        }
        terms.push((attr, op, value));
    }
    Ok(Filter { terms })
}

/// Parses a PATCH path.
pub fn parse_path(s: &str) -> Result<ScimPath, ScimFault> {
    let s = strip_urn(s.trim());
    let (attr, filter, rest) = match s.find('[') {
        Some(open) => {
            let close = s
                .rfind(']')
                .ok_or_else(|| fault("invalidPath", format!("'{s}': no ]")))?;
            (
                &s[..open],
                Some(parse_filter(&s[open + 1..close])?),
                s[close + 1..].trim_start_matches('.'),
            )
        }
        None => match s.split_once('.') {
            Some((a, b)) => (a, None, b),
            None => (s, None, ""),
        },
    };
    if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$') {
        return Err(fault("invalidPath", format!("'{s}' is not an attribute path")));
    }
    Ok(ScimPath {
        attr: attr.to_string(),
        filter,
        sub: (!rest.is_empty()).then(|| rest.to_string()),
    })
}

/// The key in `m` that names `attr`, whatever its case.
fn key_of(m: &Map<String, Value>, attr: &str) -> Option<String> {
    m.keys().find(|k| k.eq_ignore_ascii_case(attr)).cloned()
}

fn field<'a>(v: &'a Value, attr: &str) -> Option<&'a Value> {
    v.as_object().and_then(|m| key_of(m, attr).and_then(|k| m.get(&k)))
}

fn text_cmp(a: &Value, b: &Value) -> Option<(String, String)> {
    Some((a.as_str()?.to_lowercase(), b.as_str()?.to_lowercase()))
}

/// Whether one value (an element, or a resource) meets the filter.
pub fn matches(v: &Value, f: &Filter) -> bool {
    f.terms.iter().all(|(attr, op, want)| {
        let got = match attr.split_once('.') {
            Some((a, b)) => field(v, a).and_then(|x| match x {
                Value::Array(items) => items.iter().find_map(|i| field(i, b)),
                other => field(other, b),
            }),
            None => field(v, attr),
        };
        match (op.as_str(), got) {
            ("pr", g) => g.is_some_and(|g| !g.is_null()),
            ("eq", Some(g)) => text_cmp(g, want).map_or(g == want, |(a, b)| a == b),
            ("ne", g) => g.is_none_or(|g| text_cmp(g, want).map_or(g != want, |(a, b)| a != b)),
            ("co", Some(g)) => text_cmp(g, want).is_some_and(|(a, b)| a.contains(&b)),
            ("sw", Some(g)) => text_cmp(g, want).is_some_and(|(a, b)| a.starts_with(&b)),
            ("ew", Some(g)) => text_cmp(g, want).is_some_and(|(a, b)| a.ends_with(&b)),
            _ => false,
        }
    })
}

/// Whether an attribute holds several values (its value is a list).
fn merge_into(target: &mut Value, value: Value, add: bool) {
    match (target, value) {
        (Value::Array(items), Value::Array(new)) if add => {
            for n in new {
                if !items.contains(&n) {
                    items.push(n);
                }
            }
        }
        (Value::Object(m), Value::Object(new)) => {
            for (k, v) in new {
                let key = key_of(m, &k).unwrap_or(k);
                match m.get_mut(&key) {
                    Some(existing) if v.is_object() || (add && v.is_array()) => merge_into(existing, v, add),
                    _ => {
                        m.insert(key, v);
                    }
                }
            }
        }
        (t, v) => *t = v,
    }
}

/// Applies one operation to `doc` (a resource's attributes).
pub fn apply(doc: &mut Value, op: &str, path: Option<&str>, value: Option<Value>) -> Result<(), ScimFault> {
    let op = op.to_ascii_lowercase();
    if !["add", "replace", "remove"].contains(&op.as_str()) {
        return Err(fault("invalidSyntax", format!("'{op}' is not add, replace or remove")));
    }
    let Some(path) = path.filter(|p| !p.trim().is_empty()) else {
        // No path: the value is an object of attributes to add or replace.
        let Some(Value::Object(attrs)) = value else {
            return Err(fault(
                "invalidValue",
                "without a path, the value is an object of attributes",
            ));
        };
        if op == "remove" {
            return Err(fault("noTarget", "remove needs a path"));
        }
        for (k, v) in attrs {
            // A value naming an attribute by its URN path.
            let p = parse_path(&k)?;
            let key = match &p.sub {
                Some(sub) => format!("{}.{sub}", p.attr),
                None => p.attr,
            };
            apply(doc, &op, Some(&key), Some(v))?;
        }
        return Ok(());
    };
    let p = parse_path(path)?;
    let m = doc
        .as_object_mut()
        .ok_or_else(|| fault("invalidValue", "the resource is not an object"))?;
    let key = key_of(m, &p.attr).unwrap_or_else(|| p.attr.clone());
    match (&p.filter, &p.sub, op.as_str()) {
        (None, None, "remove") => {
            m.remove(&key);
        }
        (None, None, o) => {
            let value = value.ok_or_else(|| fault("invalidValue", "add and replace need a value"))?;
            match m.get_mut(&key) {
                Some(existing) if o == "add" && (existing.is_array() || existing.is_object()) => {
                    let value = if existing.is_array() && !value.is_array() {
                        Value::Array(vec![value])
                    } else {
                        value
                    };
                    merge_into(existing, value, true)
                }
                Some(existing) if o == "replace" && existing.is_object() && value.is_object() => {
                    merge_into(existing, value, false)
                }
                _ => {
                    m.insert(key, value);
                }
            }
        }
        (None, Some(sub), o) => {
            let parent = m.entry(key).or_insert_with(|| Value::Object(Map::new()));
            let Value::Object(pm) = parent else {
                return Err(fault("invalidPath", format!("'{}' has no sub-attributes", p.attr)));
            };
            let sk = key_of(pm, sub).unwrap_or_else(|| sub.clone());
            if o == "remove" {
                pm.remove(&sk);
            } else {
                pm.insert(
                    sk,
                    value.ok_or_else(|| fault("invalidValue", "add and replace need a value"))?,
                );
            }
        }
        (Some(f), sub, o) => {
            let items = m
                .get_mut(&key)
                .and_then(Value::as_array_mut)
                .ok_or_else(|| fault("noTarget", format!("'{}' has no values", p.attr)))?;
            let hit: Vec<usize> = (0..items.len()).filter(|i| matches(&items[*i], f)).collect();
            if hit.is_empty() {
                return Err(fault("noTarget", format!("no value of '{}' matches", p.attr)));
            }
            match (sub, o) {
                (None, "remove") => {
                    for i in hit.into_iter().rev() {
                        items.remove(i);
                    }
                }
                (None, _) => {
                    let value = value.ok_or_else(|| fault("invalidValue", "add and replace need a value"))?;
                    for i in hit {
                        merge_into(&mut items[i], value.clone(), o == "add");
                    }
                }
                (Some(sub), _) => {
                    for i in hit {
                        if let Value::Object(im) = &mut items[i] {
                            let sk = key_of(im, sub).unwrap_or_else(|| sub.clone());
                            if o == "remove" {
                                im.remove(&sk);
                            } else {
                                let v = value
                                    .clone()
                                    .ok_or_else(|| fault("invalidValue", "add and replace need a value"))?;
                                im.insert(sk, v);
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(())
}

/// The resource with only the attributes asked for (always `id`,
/// `schemas` and `meta`), or without those excluded.
pub fn project(v: Value, attributes: Option<&str>, excluded: Option<&str>) -> Value {
    let list = |s: &str| -> Vec<String> {
        s.split(',')
            .map(|a| strip_urn(a.trim()).to_string())
            .filter(|a| !a.is_empty())
            .collect()
    };
    let Value::Object(mut m) = v else { return v };
    if let Some(a) = attributes.filter(|a| !a.trim().is_empty()) {
        let want = list(a);
        let keep = |k: &str| {
            ["id", "schemas", "meta"].iter().any(|x| x.eq_ignore_ascii_case(k))
                || want
                    .iter()
                    .any(|w| w.split('.').next().is_some_and(|h| h.eq_ignore_ascii_case(k)))
        };
        m.retain(|k, _| keep(k));
        // A sub-attribute asked for keeps only that part of its parent.
        for w in &want {
            if let Some((parent, sub)) = w.split_once('.')
                && let Some(key) = key_of(&m, parent)
            {
                let wanted_subs: Vec<&str> = want
                    .iter()
                    .filter_map(|x| {
                        x.split_once('.')
                            .filter(|(p, _)| p.eq_ignore_ascii_case(parent))
                            .map(|(_, s)| s)
                    })
                    .collect();
                let keep_sub = |k: &str| wanted_subs.iter().any(|s| s.eq_ignore_ascii_case(k)) || sub.is_empty();
                match m.get_mut(&key) {
                    Some(Value::Object(pm)) => pm.retain(|k, _| keep_sub(k)),
                    Some(Value::Array(items)) => {
                        for i in items.iter_mut() {
                            if let Value::Object(im) = i {
                                im.retain(|k, _| keep_sub(k));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if let Some(x) = excluded {
        for e in list(x) {
            match e.split_once('.') {
                Some((parent, sub)) => {
                    if let Some(key) = key_of(&m, parent)
                        && let Some(Value::Object(pm)) = m.get_mut(&key)
                        && let Some(sk) = key_of(pm, sub)
                    {
                        pm.remove(&sk);
                    }
                }
                None => {
                    if !["id", "schemas", "meta"].iter().any(|x| x.eq_ignore_ascii_case(&e))
                        && let Some(key) = key_of(&m, &e)
                    {
                        m.remove(&key);
                    }
                }
            }
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn entra_ids_operations_apply() {
        let mut doc = json!({"userName": "a@x.example", "active": true,
            "emails": [{"value": "a@x.example", "type": "work", "primary": true}],
            "name": {"givenName": "Ada"}});
        apply(
            &mut doc,
            "Replace",
            Some("active"),
            Some(json!("False".to_lowercase() == "false")),
        )
        .unwrap();
        assert_eq!(doc["active"], true);
        apply(&mut doc, "replace", Some("active"), Some(json!(false))).unwrap();
        assert_eq!(doc["active"], false);
        apply(
            &mut doc,
            "replace",
            Some("emails[type eq \"work\"].value"),
            Some(json!("b@x.example")),
        )
        .unwrap();
        assert_eq!(doc["emails"][0]["value"], "b@x.example");
        apply(
            &mut doc,
            "add",
            Some("urn:ietf:params:scim:schemas:core:2.0:User:name.familyName"),
            Some(json!("King")),
        )
        .unwrap();
        assert_eq!(doc["name"]["familyName"], "King");
        apply(
            &mut doc,
            "replace",
            None,
            Some(json!({"displayName": "Ada K", "name.givenName": "Augusta"})),
        )
        .unwrap();
        assert_eq!(
            (doc["displayName"].as_str(), doc["name"]["givenName"].as_str()),
            (Some("Ada K"), Some("Augusta"))
        );
        apply(&mut doc, "remove", Some("name.familyName"), None).unwrap();
        assert!(doc["name"].get("familyName").is_none());
        let mut g = json!({"displayName": "Agents", "members": [{"value": "1"}]});
        apply(&mut g, "add", Some("members"), Some(json!([{"value": "2"}]))).unwrap();
        apply(&mut g, "remove", Some("members[value eq \"1\"]"), None).unwrap();
        assert_eq!(g["members"], json!([{"value": "2"}]));
        assert!(apply(&mut g, "remove", Some("members[value eq \"9\"]"), None).is_err());
    }

    #[test]
    fn filters_and_projections() {
        let f = parse_filter("userName eq \"A@X.example\" and active eq true").unwrap();
        assert!(matches(&json!({"userName": "a@x.example", "active": true}), &f));
        assert!(!matches(&json!({"userName": "a@x.example", "active": false}), &f));
        assert!(parse_filter("userName").is_err());
        let v = json!({"id": "1", "schemas": [], "meta": {}, "userName": "u", "name": {"givenName": "g", "familyName": "f"}});
        let p = project(v.clone(), Some("name.givenName"), None);
        assert_eq!(
            p,
            json!({"id": "1", "schemas": [], "meta": {}, "name": {"givenName": "g"}})
        );
        let p = project(v, None, Some("userName"));
        assert!(p.get("userName").is_none() && p.get("name").is_some());
    }
}
