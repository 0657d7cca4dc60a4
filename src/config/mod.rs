//! What a process is told: its settings (`settings`: flags, environment and
//! `sladesk.toml`) and the SLA policy files (`policies`). Both are read and
//! checked at the edge, before the application is built; a bad value names
//! its file, line and field.

pub mod catalogue;
pub mod policies;
mod settings;

pub use settings::*;

/// Reads a TOML file's text into `T`; an error names the file and the line
/// (`sladesk.toml:12: unknown field ...`).
pub fn read_toml<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> anyhow::Result<T> {
    toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| format!(":{}", text[..s.start].matches('\n').count() + 1))
            .unwrap_or_default();
        anyhow::anyhow!("{file}{line}: {}", e.message().trim())
    })
}
