//! Reading the SLA policy files: `sla-policies/*.toml` from a folder, or the
//! ones shipped in the binary. What a set of policies is and how a version
//! is chosen is the domain's (`domain::policy::set`).

use std::path::{Path, PathBuf};

pub use crate::domain::policy::set::{ALWAYS, CalendarCache, LookupError, PolicySet, SetError, UnknownCalendar};

/// Why the policy files could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Set(#[from] SetError),
    #[error("{0}: no policy files (*.toml) found")]
    Empty(String),
}

/// The policies in `dir`, or the shipped ones (compiled in) without one.
pub fn load(dir: Option<&Path>) -> Result<PolicySet, LoadError> {
    match dir {
        Some(d) => load_dir(d),
        None => shipped(),
    }
}

/// The policies sladesk ships, compiled into the binary.
pub fn shipped() -> Result<PolicySet, LoadError> {
    let files = crate::shipped::POLICIES
        .iter()
        .map(|(name, text)| {
            (
                PathBuf::from(format!("(built in) sla-policies/{name}")),
                text.to_string(),
            )
        })
        .collect();
    Ok(PolicySet::from_files(files)?)
}

/// Loads and validates every `*.toml` in `dir`; the first bad file is an error.
pub fn load_dir(dir: &Path) -> Result<PolicySet, LoadError> {
    let shown = dir.display().to_string();
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: shown.clone(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    if paths.is_empty() {
        return Err(LoadError::Empty(shown));
    }
    let mut files = Vec::new();
    for path in paths {
        let text = std::fs::read_to_string(&path).map_err(|source| LoadError::Io {
            path: path.display().to_string(),
            source,
        })?;
        files.push((path, text));
    }
    Ok(PolicySet::from_files(files)?)
}
