//! Every saved fuzz input (`fuzz/corpus/<target>/`), replayed through its
//! target: the corpora hold what AFL++ found interesting, and any input
//! that once crashed a target, so each stays a test. Takes seconds; the
//! fuzzing itself is `fuzz/README.md`.

use std::path::{Path, PathBuf};

#[path = "../fuzz/src/targets.rs"]
#[allow(dead_code)]
mod targets;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The inputs saved for one target; a target without any is a mistake.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = repo().join("fuzz/corpus").join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{} holds no inputs", dir.display());
    files
        .into_iter()
        .map(|p| {
            let data = std::fs::read(&p).unwrap();
            (p, data)
        })
        .collect()
}

/// Runs `f` on every input, naming the one that panicked.
fn replay(target: &str, f: impl Fn(&[u8])) -> usize {
    let inputs = corpus(target);
    for (path, data) in &inputs {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(data)));
        assert!(outcome.is_ok(), "{target}: {} makes the target fail", path.display());
    }
    inputs.len()
}

#[test]
fn policy_toml_corpus() {
    replay("policy_toml", targets::policy_toml);
}

#[test]
fn holidays_json_corpus() {
    replay("holidays_json", targets::holidays_json);
}

#[test]
fn calendar_batch_corpus() {
    let fixtures = targets::Fixtures::load(repo());
    let cache = std::cell::RefCell::new(sladesk::config::policies::CalendarCache::new(
        &fixtures.policies,
        &fixtures.holidays,
    ));
    replay("calendar_batch", |d| {
        targets::calendar_batch(&mut cache.borrow_mut(), d)
    });
}

#[test]
fn mail_rules_corpus() {
    replay("mail", targets::mail);
}

#[test]
fn auth_results_corpus() {
    replay("auth_results", targets::auth_results);
}

#[test]
fn multipart_corpus() {
    let system = actix_web::rt::System::new();
    replay("multipart", |d| targets::multipart(&system, d));
}

#[test]
fn intake_corpus() {
    let dir = std::env::temp_dir().join(format!("sladesk-fuzz-replay-{}", std::process::id()));
    let app = targets::intake_app(repo(), &dir);
    replay("intake", |d| targets::intake(&app, d));
    drop(app);
    let _ = std::fs::remove_dir_all(&dir);
}
