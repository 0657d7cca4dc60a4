//! The whole intake pipeline on a SQLite desk in the system's temporary
//! folder, made on first use and reused (AFL++ starts the binary afresh
//! often, and `afl-cmin` once per input), every input a message.
fn main() {
    let repo = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let dir = std::env::temp_dir().join("sladesk-fuzz-intake");
    // A crash is what AFL++ is after: nothing is left to unwind into.
    let app = std::panic::AssertUnwindSafe(sladesk_fuzz::intake_app(repo, &dir));
    afl::fuzz!(|data: &[u8]| {
        // The whole wrapper, not the field: closures capture what they name.
        let app = &app;
        sladesk_fuzz::intake(&app.0, data);
    });
}
