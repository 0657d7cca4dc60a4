//! Loading SLA policies from `sla-policies/*.toml` and compiling the
//! calendars they name, once per (calendar, region), for the adapters.
//! File reading lives here; parsing and validation live in the domain.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::domain::calendar::{Calendar, CalendarSpec, WeeklyHours};
use crate::domain::holidays::{Holidays, Region};
use crate::domain::policy::{Policy, PolicyCalendars, PolicyError, span_dates};

/// The name of the built-in always-open calendar.
pub const ALWAYS: &str = "24x7";

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(#[from] PolicyError),
    #[error("{path}: the policy name '{name}' is also used by {other}")]
    Duplicate { path: String, name: String, other: String },
    #[error("{0}: no policy files (*.toml) found")]
    Empty(String),
}

/// The policies loaded from one directory, by name.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: BTreeMap<String, (Policy, PathBuf)>,
}

impl PolicySet {
    /// Loads and validates every `*.toml` in `dir`; the first bad file is an error.
    pub fn load_dir(dir: &Path) -> Result<PolicySet, LoadError> {
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        if files.is_empty() {
            return Err(LoadError::Empty(shown));
        }
        let mut set = PolicySet::default();
        for path in files {
            let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
                path: path.display().to_string(),
                source,
            })?;
            let policy = Policy::from_toml(&path.display().to_string(), &text)?;
            if let Some((_, other)) = set.policies.get(&policy.name) {
                return Err(LoadError::Duplicate {
                    path: path.display().to_string(),
                    name: policy.name.clone(),
                    other: other.display().to_string(),
                });
            }
            set.policies.insert(policy.name.clone(), (policy, path));
        }
        Ok(set)
    }

    pub fn get(&self, name: &str) -> Option<&Policy> {
        self.policies.get(name).map(|(p, _)| p)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Policy, &Path)> {
        self.policies.values().map(|(p, f)| (p, f.as_path()))
    }

    pub fn names(&self) -> Vec<&str> {
        self.policies.keys().map(String::as_str).collect()
    }
}

/// Compiled calendars, built on first use. Few distinct calendars exist at
/// once, so a linear search beats hashing an owned key per look-up.
pub struct CalendarCache<'a> {
    policies: &'a PolicySet,
    holidays: &'a Holidays,
    named: Vec<(String, Region, Calendar)>,
    policy_calendars: Vec<(String, Region, PolicyCalendars)>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown calendar '{name}': expected 24x7 or a policy name ({known})")]
pub struct UnknownCalendar {
    pub name: String,
    pub known: String,
}

impl<'a> CalendarCache<'a> {
    pub fn new(policies: &'a PolicySet, holidays: &'a Holidays) -> Self {
        Self {
            policies,
            holidays,
            named: Vec::new(),
            policy_calendars: Vec::new(),
        }
    }

    /// A calendar by name: `24x7`, or a policy's base calendar for `region`.
    pub fn calendar(&mut self, name: &str, region: Region) -> Result<&Calendar, UnknownCalendar> {
        let found = self.named.iter().position(|(n, r, _)| n == name && *r == region);
        let i = match found {
            Some(i) => i,
            None => {
                let spec = if name == ALWAYS {
                    CalendarSpec {
                        time_zone: chrono_tz::Europe::London,
                        hours: WeeklyHours::always(),
                        closed_dates: Default::default(),
                    }
                } else {
                    let policy = self.policies.get(name).ok_or_else(|| UnknownCalendar {
                        name: name.to_string(),
                        known: self.policies.names().join(", "),
                    })?;
                    policy.business_spec(self.holidays, region)
                };
                let (first, last) = span_dates();
                self.named
                    .push((name.to_string(), region, Calendar::compile(&spec, first, last)));
                self.named.len() - 1
            }
        };
        Ok(&self.named[i].2)
    }

    /// A policy with its compiled calendars for `region`.
    pub fn policy(&mut self, name: &str, region: Region) -> Option<(&'a Policy, &PolicyCalendars)> {
        let policy = self.policies.get(name)?;
        let i = match self
            .policy_calendars
            .iter()
            .position(|(n, r, _)| n == name && *r == region)
        {
            Some(i) => i,
            None => {
                self.policy_calendars
                    .push((name.to_string(), region, policy.calendars(self.holidays, region)));
                self.policy_calendars.len() - 1
            }
        };
        Some((policy, &self.policy_calendars[i].2))
    }
}
