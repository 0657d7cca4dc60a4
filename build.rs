//! Embeds at compile time what sladesk ships, so the installed binary runs
//! from any folder: the migrations (diesel's macro reads them), the SLA
//! policies, the email templates, the demo desk and the service catalogue. `shipped.rs` in OUT_DIR
//! lists each file with its text; directories named in settings override
//! the policies and templates at run time.

use std::fmt::Write as _;
use std::path::Path;

fn files(dir: &str, ext: &str) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{dir}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(ext))
        .collect();
    out.sort();
    out
}

fn main() {
    println!("cargo:rerun-if-changed=migrations");
    let root = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it");
    let mut code = String::new();
    for (name, dir, ext) in [
        ("POLICIES", "sla-policies", ".toml"),
        ("EMAIL_TEMPLATES", "templates/email", ".hbs"),
        ("DEMO", "fixtures/demo", ".toml"),
        ("CATALOGUE", "catalogue", ".toml"),
    ] {
        println!("cargo:rerun-if-changed={dir}");
        writeln!(code, "pub const {name}: &[(&str, &str)] = &[").unwrap();
        for f in files(dir, ext) {
            let path = Path::new(&root).join(dir).join(&f);
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(code, "    ({f:?}, include_str!({:?})),", path.display().to_string()).unwrap();
        }
        writeln!(code, "];").unwrap();
    }
    let out = Path::new(&std::env::var("OUT_DIR").expect("cargo sets it")).join("shipped.rs");
    std::fs::write(out, code).expect("OUT_DIR is writable");
}
