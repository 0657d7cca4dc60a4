//! The whole intake pipeline on a SQLite file made once (in the system's
//! temporary folder, one per process), every input a message.
fn main() {
    let repo = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let dir = std::env::temp_dir().join(format!("sladesk-fuzz-intake-{}", std::process::id()));
    let app = sladesk_fuzz::intake_app(repo, &dir);
    afl::fuzz!(|data: &[u8]| {
        sladesk_fuzz::intake(&app, data);
    });
}
