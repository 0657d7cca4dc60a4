//! Reading the service catalogue: `catalogue/*.toml` from a folder, or the
//! items shipped in the binary. Each file is one item at one version
//! (`domain::itil::catalogue`); a request records the version it was raised
//! under, so every version read stays known and an edited item is a new
//! file beside the old one.

use std::path::Path;

pub use crate::domain::itil::catalogue::{Catalogue, CatalogueError};

/// Why the catalogue could not be read: the folder or file, or what is
/// wrong in one (its file, line and field).
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Catalogue(#[from] CatalogueError),
}

/// The items in `dir`, or the shipped ones without one.
pub fn load(dir: Option<&Path>) -> Result<Catalogue, LoadError> {
    let Some(dir) = dir else {
        return Ok(crate::app::itil::shipped_catalogue());
    };
    let entries = std::fs::read_dir(dir).map_err(|source| LoadError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let mut paths: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut files = Vec::new();
    for p in paths {
        let text = std::fs::read_to_string(&p).map_err(|source| LoadError::Io {
            path: p.display().to_string(),
            source,
        })?;
        files.push((p.display().to_string(), text));
    }
    Ok(Catalogue::from_files(&files)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_items_are_read() {
        let files: Vec<(String, String)> = crate::shipped::CATALOGUE
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        let c = Catalogue::from_files(&files).expect("the shipped catalogue reads");
        assert!(c.current().len() >= 3);
        assert!(c.item("new-starter-account").is_some());
    }

    #[test]
    fn a_newer_version_is_offered_and_the_older_kept() {
        let one = |v: &str, name: &str| {
            format!("slug = \"vpn\"\nversion = \"{v}\"\nname = \"{name}\"\n[fulfilment]\ngold = \"4h\"\n")
        };
        let c = Catalogue::from_files(&[
            ("a.toml".into(), one("2026-12", "VPN")),
            ("b.toml".into(), one("2027-01", "VPN account")),
        ])
        .unwrap();
        assert_eq!(c.item("vpn").unwrap().name, "VPN account");
        assert_eq!(c.version("vpn", "2026-12").unwrap().name, "VPN");
        let twice = Catalogue::from_files(&[
            ("a.toml".into(), one("2026-12", "VPN")),
            ("b.toml".into(), one("2026-12", "VPN")),
        ])
        .unwrap_err();
        assert_eq!(twice.to_string(), "b.toml: vpn version 2026-12 is also in a.toml");
    }

    #[test]
    fn an_error_names_the_file_and_line() {
        let e = Catalogue::from_files(&[("c.toml".into(), "slug = \"x\"\nversion = 3\n".into())]).unwrap_err();
        assert!(e.to_string().starts_with("c.toml:2"), "{e}");
    }
}
