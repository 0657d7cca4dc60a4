//! The policies a desk runs on: each name's versions, oldest first, and
//! the version in effect at an instant (several files may carry versions of
//! one policy with different `effective_from` dates: a new ticket takes the
//! version in effect on the day it is received, in the policy's time zone,
//! and keeps it); and the calendars they name, compiled once per (policy
//! version, region). Pure: reading the files is `config::policies`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use super::{Policy, PolicyCalendars, PolicyError, span_dates};
use crate::domain::calendar::{Calendar, CalendarSpec, WeeklyHours};
use crate::domain::holidays::{Holidays, Region};

/// The name of the built-in always-open calendar.
pub const ALWAYS: &str = "24x7";

/// Why no policy answers for a tier at an instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("unknown policy '{name}': expected one of {known}")]
    Unknown { name: String, known: String },
    #[error("no version of policy '{name}' is in effect on {date}: the first takes effect on {first}")]
    NotYetEffective {
        name: String,
        date: chrono::NaiveDate,
        first: chrono::NaiveDate,
    },
}

/// Why a set of policy files was refused.
#[derive(Debug, thiserror::Error)]
pub enum SetError {
    #[error("{0}")]
    Invalid(#[from] PolicyError),
    #[error("{path}: effective_from: policy '{name}' already has a version effective from {date} in {other}")]
    Duplicate {
        path: String,
        name: String,
        date: chrono::NaiveDate,
        other: String,
    },
}

/// The policies loaded from one directory: each name's versions, oldest first.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: BTreeMap<String, Vec<(Policy, PathBuf)>>,
    /// Each version's file text, so storage can keep versions that later leave the directory.
    sources: BTreeMap<String, String>,
}

impl PolicySet {
    /// Validates policy files given as (path shown in errors, text).
    pub fn from_files(files: Vec<(PathBuf, String)>) -> Result<PolicySet, SetError> {
        let mut set = PolicySet::default();
        for (path, text) in files {
            let policy = Policy::from_toml(&path.display().to_string(), &text)?;
            let versions = set.policies.entry(policy.name.clone()).or_default();

            if let Some((_, other)) = versions.iter().find(|(p, _)| p.effective_from == policy.effective_from) {
                return Err(SetError::Duplicate {
                    path: path.display().to_string(),
                    name: policy.name.clone(),
                    date: policy.effective_from,
                    other: other.display().to_string(),
                });
            }
            set.sources.insert(policy.version.clone(), text);
            versions.push((policy, path));
            versions.sort_by_key(|(p, _)| p.effective_from);
        }
        Ok(set)
    }

    fn versions(&self, name: &str) -> Result<&[(Policy, PathBuf)], LookupError> {
        self.policies
            .get(name)
            .map(Vec::as_slice)
            .ok_or_else(|| LookupError::Unknown {
                name: name.to_string(),
                known: self.names().join(", "),
            })
    }

    /// The version of `name` in effect at `at`: the latest whose
    /// `effective_from` is on or before that day in the policy's time zone.
    pub fn effective(&self, name: &str, at: DateTime<Utc>) -> Result<&Policy, LookupError> {
        let versions = self.versions(name)?;
        versions
            .iter()
            .rev()
            .map(|(p, _)| p)
            .find(|p| at.with_timezone(&p.time_zone).date_naive() >= p.effective_from)
            .ok_or_else(|| {
                let first = &versions[0].0;
                LookupError::NotYetEffective {
                    name: name.to_string(),
                    date: at.with_timezone(&first.time_zone).date_naive(),
                    first: first.effective_from,
                }
            })
    }

    /// A ticket's recorded version, exactly.
    pub fn version(&self, name: &str, version: &str) -> Option<&Policy> {
        self.policies
            .get(name)?
            .iter()
            .map(|(p, _)| p)
            .find(|p| p.version == version)
    }

    /// The file text a loaded version was parsed from.
    pub fn source(&self, version: &str) -> Option<&str> {
        self.sources.get(version).map(String::as_str)
    }

    /// Every loaded version with the file it came from.
    pub fn iter(&self) -> impl Iterator<Item = (&Policy, &Path)> {
        self.policies.values().flatten().map(|(p, f)| (p, f.as_path()))
    }

    /// The names of every policy, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.policies.keys().map(String::as_str).collect()
    }
}

/// Compiled calendars, built on first use. Few distinct calendars exist at
/// once, so a linear search beats hashing an owned key per look-up.
pub struct CalendarCache<'a> {
    policies: &'a PolicySet,
    holidays: &'a Holidays,
    always: Option<Calendar>,
    business: Vec<((String, Region), Calendar)>,
    policy_calendars: Vec<((String, Region), PolicyCalendars)>,
}

/// The value cached for (policy version, region), made and kept on first use.
/// Looked up without allocating: this is on the batch's per-line path.
fn cached<'c, V>(
    list: &'c mut Vec<((String, Region), V)>,
    version: &str,
    region: Region,
    make: impl FnOnce() -> V,
) -> &'c V {
    let i = match list.iter().position(|((v, r), _)| v == version && *r == region) {
        Some(i) => i,
        None => {
            list.push(((version.to_string(), region), make()));
            list.len() - 1
        }
    };
    &list[i].1
}

/// A calendar name that no policy defines.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UnknownCalendar {
    #[error("unknown calendar '{name}': expected 24x7 or a policy name ({known})")]
    Unknown { name: String, known: String },
    #[error(transparent)]
    NotYetEffective(LookupError),
}

impl<'a> CalendarCache<'a> {
    /// Calendars built from these policies and holidays, once each.
    pub fn new(policies: &'a PolicySet, holidays: &'a Holidays) -> Self {
        Self {
            policies,
            holidays,
            always: None,
            business: Vec::new(),
            policy_calendars: Vec::new(),
        }
    }

    /// A calendar by name: `24x7`, or the base calendar for `region` of the
    /// policy version in effect at `at`.
    pub fn calendar(&mut self, name: &str, region: Region, at: DateTime<Utc>) -> Result<&Calendar, UnknownCalendar> {
        let (first, last) = span_dates();
        if name == ALWAYS {
            return Ok(self.always.get_or_insert_with(|| {
                let spec = CalendarSpec {
                    time_zone: chrono_tz::Europe::London,
                    hours: WeeklyHours::always(),
                    closed_dates: Default::default(),
                };
                Calendar::compile(&spec, first, last)
            }));
        }
        let policy = self.policies.effective(name, at).map_err(|e| match e {
            LookupError::Unknown { name, known } => UnknownCalendar::Unknown { name, known },
            other => UnknownCalendar::NotYetEffective(other),
        })?;
        let holidays = self.holidays;
        Ok(cached(&mut self.business, &policy.version, region, || {
            Calendar::compile(&policy.business_spec(holidays, region), first, last)
        }))
    }

    /// A policy's compiled calendars for `region`.
    pub fn policy_calendars(&mut self, policy: &Policy, region: Region) -> &PolicyCalendars {
        let holidays = self.holidays;
        cached(&mut self.policy_calendars, &policy.version, region, || {
            policy.calendars(holidays, region)
        })
    }
}
