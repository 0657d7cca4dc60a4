//! Progress bars on stderr for long CLI work, drawn only when stderr is a
//! terminal: a script or a pipe sees no escape codes, only the results.

use std::io::IsTerminal;
use std::sync::{Arc, Mutex};

use indicatif::{ProgressBar, ProgressStyle};

use crate::app::progress::{Progress, Quiet};

#[derive(Default)]
pub(super) struct Bar(Mutex<Option<ProgressBar>>);

impl Progress for Bar {
    fn begin(&self, what: &str, total: u64) {
        let bar = if total > 0 {
            ProgressBar::new(total).with_style(
                ProgressStyle::with_template("{msg:>22} [{bar:32}] {human_pos}/{human_len} ({eta} left)")
                    .expect("a valid template")
                    .progress_chars("=> "),
            )
        } else {
            ProgressBar::new_spinner().with_style(
                ProgressStyle::with_template("{spinner} {msg}: {human_pos} ({per_sec})").expect("a valid template"),
            )
        };
        bar.set_message(what.to_string());
        if let Some(old) = self.0.lock().expect("lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.0.lock().expect("lock").as_ref() {
            b.inc(n);
        }
    }

    fn end(&self) {
        if let Some(b) = self.0.lock().expect("lock").take() {
            b.finish_and_clear();
        }
    }
}

/// A bar when a person is watching stderr; otherwise nothing.
pub(super) fn for_terminal() -> Arc<dyn Progress> {
    if std::io::stderr().is_terminal() {
        Arc::new(Bar::default())
    } else {
        Arc::new(Quiet)
    }
}
