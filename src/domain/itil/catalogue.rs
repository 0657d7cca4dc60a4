//! The service catalogue: what customers may request, as data. Each item
//! is a TOML text (a file per item and version, like the SLA policies):
//! its name and description, its form's fields with their types and
//! rules, whether someone at the customer's organisation must approve it
//! and who, and the fulfilment target per tier. Parsing names the file,
//! line and field of anything wrong; `Item::answers` checks a filled-in
//! form against the item and says, field by field, what is wrong.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use toml::Spanned;

use crate::domain::duration::BusinessDuration;
use crate::domain::names::EmailAddress;

/// A field's type on a request form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum FieldKind {
    Text {
        max_length: usize,
    },
    Choice {
        choices: Vec<String>,
    },
    Number {
        min: i64,
        max: i64,
    },
    Date,
    /// A person, by mail address: a contact of the requester's organisation.
    User,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub key: String,
    pub label: String,
    pub required: bool,
    #[serde(flatten)]
    pub kind: FieldKind,
}

/// Who at the customer's organisation approves a request for the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Approval {
    /// Nobody: fulfilment may begin at once.
    None,
    /// The organisation's account contact.
    AccountContact,
    /// Any contact of the organisation other than the requester.
    AnotherContact,
}

/// One catalogue item, at one version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub slug: String,
    pub version: String,
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
    pub approval: Approval,
    /// Fulfilment target per tier (policy name); a tier not named has none.
    pub targets: BTreeMap<String, BusinessDuration>,
}

/// What is wrong with an item's text: the file, line and field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}{}: {field}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ItemError {
    pub file: String,
    pub line: Option<usize>,
    pub field: String,
    pub message: String,
}

/// A value given for a field, as the request records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Text(String),
    Number(i64),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    slug: Spanned<String>,
    version: Spanned<String>,
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    approval: Option<Spanned<String>>,
    #[serde(default)]
    fields: Vec<Spanned<RawField>>,
    #[serde(default)]
    fulfilment: BTreeMap<String, Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    key: String,
    label: Option<String>,
    #[serde(rename = "type")]
    kind: Spanned<String>,
    #[serde(default)]
    required: bool,
    max_length: Option<usize>,
    #[serde(default)]
    choices: Vec<String>,
    min: Option<i64>,
    max: Option<i64>,
}

/// The longest text field an item may ask for, and its default.
const MAX_TEXT: usize = 10_000;
const DEFAULT_TEXT: usize = 2_000;

impl Item {
    /// Parses and checks one item's text; `file` names it in errors.
    pub fn from_toml(file: &str, text: &str) -> Result<Item, ItemError> {
        let line = |at: usize| text[..at.min(text.len())].matches('\n').count() + 1;
        let err = |span: Option<std::ops::Range<usize>>, field: &str, message: String| ItemError {
            file: file.to_string(),
            line: span.map(|s| line(s.start)),
            field: field.to_string(),
            message,
        };
        let raw: RawItem = toml::from_str(text).map_err(|e| err(e.span(), "", e.message().trim().to_string()))?;
        let slug = raw.slug.get_ref().trim().to_string();
        if slug.is_empty()
            || !slug
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        {
            return Err(err(
                Some(raw.slug.span()),
                "slug",
                "expected a lower-case name of letters, digits and '-'".into(),
            ));
        }
        let version = raw.version.get_ref().trim().to_string();
        if version.is_empty() || version.len() > 40 {
            return Err(err(
                Some(raw.version.span()),
                "version",
                "expected 1 to 40 characters".into(),
            ));
        }
        let name = raw.name.get_ref().trim().to_string();
        if name.is_empty() || name.chars().count() > 120 {
            return Err(err(
                Some(raw.name.span()),
                "name",
                "expected 1 to 120 characters".into(),
            ));
        }
        let approval = match raw.approval.as_ref().map(|a| (a.get_ref().as_str(), a.span())) {
            None | Some(("none", _)) => Approval::None,
            Some(("account_contact", _)) => Approval::AccountContact,
            Some(("another_contact", _)) => Approval::AnotherContact,
            Some((other, span)) => {
                return Err(err(
                    Some(span),
                    "approval",
                    format!("unknown approval '{other}': expected none, account_contact or another_contact"),
                ));
            }
        };
        let mut fields: Vec<Field> = Vec::new();
        for (i, f) in raw.fields.iter().enumerate() {
            let span = Some(f.span());
            let at = format!("fields[{i}]");
            let f = f.get_ref();
            let key_ok = !f.key.is_empty()
                && f.key.len() <= 40
                && f.key
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            if !key_ok {
                return Err(err(
                    span,
                    &format!("{at}.key"),
                    "expected a key of a-z, 0-9 and '_'".into(),
                ));
            }
            if fields.iter().any(|g| g.key == f.key) {
                return Err(err(span, &format!("{at}.key"), format!("'{}' is a key already", f.key)));
            }
            let kind = match f.kind.get_ref().as_str() {
                "text" => {
                    let max_length = f.max_length.unwrap_or(DEFAULT_TEXT);
                    if max_length == 0 || max_length > MAX_TEXT {
                        return Err(err(
                            span,
                            &format!("{at}.max_length"),
                            format!("expected 1 to {MAX_TEXT}"),
                        ));
                    }
                    FieldKind::Text { max_length }
                }
                "choice" => {
                    let mut choices = f.choices.clone();
                    choices.sort();
                    choices.dedup();
                    if choices.len() < 2
                        || choices.len() != f.choices.len()
                        || choices.iter().any(|c| c.trim().is_empty())
                    {
                        return Err(err(
                            span,
                            &format!("{at}.choices"),
                            "expected two or more different choices".into(),
                        ));
                    }
                    FieldKind::Choice {
                        choices: f.choices.clone(),
                    }
                }
                "number" => {
                    let (min, max) = (f.min.unwrap_or(0), f.max.unwrap_or(i64::from(i32::MAX)));
                    if min > max {
                        return Err(err(span, &format!("{at}.min"), "min is above max".into()));
                    }
                    FieldKind::Number { min, max }
                }
                "date" => FieldKind::Date,
                "user" => FieldKind::User,
                other => {
                    return Err(err(
                        Some(f.kind.span()),
                        &format!("{at}.type"),
                        format!("unknown type '{other}': expected text, choice, number, date or user"),
                    ));
                }
            };
            fields.push(Field {
                key: f.key.clone(),
                label: f.label.clone().unwrap_or_else(|| f.key.replace('_', " ")),
                required: f.required,
                kind,
            });
        }
        let mut targets = BTreeMap::new();
        for (tier, d) in &raw.fulfilment {
            let parsed: BusinessDuration =
                d.get_ref()
                    .parse()
                    .map_err(|e: crate::domain::duration::DurationSyntax| {
                        err(Some(d.span()), &format!("fulfilment.{tier}"), e.to_string())
                    })?;
            targets.insert(tier.clone(), parsed);
        }
        Ok(Item {
            slug,
            version,
            name,
            description: raw.description.trim().to_string(),
            fields,
            approval,
            targets,
        })
    }

    /// A filled-in form checked against the item: each field's value, or
    /// every field that is wrong with why (unknown keys too).
    pub fn answers(&self, given: &BTreeMap<String, String>) -> Result<BTreeMap<String, Answer>, Vec<(String, String)>> {
        let mut out = BTreeMap::new();
        let mut wrong = Vec::new();
        for key in given.keys() {
            if !self.fields.iter().any(|f| &f.key == key) {
                wrong.push((key.clone(), "not a field of this form".to_string()));
            }
        }
        for f in &self.fields {
            let value = given.get(&f.key).map(|v| v.trim()).filter(|v| !v.is_empty());
            let Some(v) = value else {
                if f.required {
                    wrong.push((f.key.clone(), "is required".into()));
                }
                continue;
            };
            let checked = match &f.kind {
                FieldKind::Text { max_length } if v.chars().count() > *max_length => {
                    Err(format!("at most {max_length} characters"))
                }
                FieldKind::Text { .. } if v.contains('\0') => Err("holds a NUL character".into()),
                FieldKind::Text { .. } => Ok(Answer::Text(v.to_string())),
                FieldKind::Choice { choices } if choices.iter().any(|c| c == v) => Ok(Answer::Text(v.to_string())),
                FieldKind::Choice { choices } => Err(format!("expected one of {}", choices.join(", "))),
                FieldKind::Number { min, max } => match v.parse::<i64>() {
                    Ok(n) if (*min..=*max).contains(&n) => Ok(Answer::Number(n)),
                    _ => Err(format!("expected a whole number from {min} to {max}")),
                },
                FieldKind::Date => NaiveDate::parse_from_str(v, "%Y-%m-%d")
                    .map(|d| Answer::Text(d.to_string()))
                    .map_err(|_| "expected a date YYYY-MM-DD".to_string()),
                FieldKind::User => EmailAddress::parse(v)
                    .map(|_| Answer::Text(v.to_ascii_lowercase()))
                    .map_err(|e| e.to_string()),
            };
            match checked {
                Ok(a) => {
                    out.insert(f.key.clone(), a);
                }
                Err(why) => wrong.push((f.key.clone(), why)),
            }
        }
        if wrong.is_empty() { Ok(out) } else { Err(wrong) }
    }
}
/// Every item at every version read; customers are offered the newest.
/// (Reading the files is `config::catalogue`'s.)
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// slug → version → item; versions sort as text ("2026-12" < "2027-01").
    items: BTreeMap<String, BTreeMap<String, Item>>,
}

/// Why a set of items cannot be the catalogue: an item's own error, or
/// one item and version given twice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogueError {
    #[error(transparent)]
    Item(#[from] ItemError),
    #[error("{file}: {slug} version {version} is also in {other}")]
    Twice {
        file: String,
        slug: String,
        version: String,
        other: String,
    },
}

impl Catalogue {
    /// Items from (file name, text) pairs; the first bad one is the error.
    pub fn from_files(files: &[(String, String)]) -> Result<Catalogue, CatalogueError> {
        let mut items: BTreeMap<String, BTreeMap<String, Item>> = BTreeMap::new();
        let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
        for (file, text) in files {
            let item = Item::from_toml(file, text)?;
            let key = (item.slug.clone(), item.version.clone());
            if let Some(other) = seen.get(&key) {
                return Err(CatalogueError::Twice {
                    file: file.clone(),
                    slug: key.0,
                    version: key.1,
                    other: other.clone(),
                });
            }
            seen.insert(key, file.clone());
            items
                .entry(item.slug.clone())
                .or_default()
                .insert(item.version.clone(), item);
        }
        Ok(Catalogue { items })
    }

    /// The newest version of each item, by name.
    pub fn current(&self) -> Vec<&Item> {
        let mut out: Vec<&Item> = self.items.values().filter_map(|v| v.values().next_back()).collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// An item's newest version.
    pub fn item(&self, slug: &str) -> Option<&Item> {
        self.items.get(slug).and_then(|v| v.values().next_back())
    }

    /// An item at the version a request was raised under.
    pub fn version(&self, slug: &str, version: &str) -> Option<&Item> {
        self.items.get(slug).and_then(|v| v.get(version))
    }
}
