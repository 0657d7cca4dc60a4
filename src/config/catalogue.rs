//! Reading the service catalogue: `catalogue/*.toml` from a folder, or the
//! items shipped in the binary. Each file is one item at one version
//! (`domain::itil::catalogue::Item`); a request records the version it was
//! raised under, so every version read stays known and an edited item is a
//! new file beside the old one.

use std::collections::BTreeMap;
use std::path::Path;

use crate::domain::itil::catalogue::{Item, ItemError};

/// Every item at every version read; customers are offered the newest.
#[derive(Debug, Clone, Default)]
pub struct Catalogue {
    /// slug → version → item; versions sort as text ("2026-12" < "2027-01").
    items: BTreeMap<String, BTreeMap<String, Item>>,
}

/// Why the catalogue could not be read: the file, and the line and field.
#[derive(Debug, thiserror::Error)]
pub enum CatalogueError {
    #[error("{path}: cannot read: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
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

    /// The items in `dir`, or the shipped ones without one.
    pub fn load(dir: Option<&Path>) -> Result<Catalogue, CatalogueError> {
        let Some(dir) = dir else {
            return Ok(Catalogue::shipped());
        };
        let entries = std::fs::read_dir(dir).map_err(|source| CatalogueError::Io {
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
            let text = std::fs::read_to_string(&p).map_err(|source| CatalogueError::Io {
                path: p.display().to_string(),
                source,
            })?;
            files.push((p.display().to_string(), text));
        }
        Catalogue::from_files(&files)
    }

    /// The items sladesk ships (checked by a test, so this cannot fail at run time).
    pub fn shipped() -> Catalogue {
        let files: Vec<(String, String)> = crate::shipped::CATALOGUE
            .iter()
            .map(|(n, t)| (format!("(built in) catalogue/{n}"), t.to_string()))
            .collect();
        Catalogue::from_files(&files).unwrap_or_default()
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
