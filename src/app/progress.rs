//! How far long work has got: recomputing tickets, computing every
//! organisation's report, exporting an organisation, building the demo.
//! The core of the work reports steps here; what shows them (a bar on a
//! terminal, in the CLI) is set by whoever runs it. The server sets
//! nothing, so requests pay nothing for it.

/// One piece of long work, told as it goes.
pub trait Progress: Send + Sync {
    /// Work of `total` steps begins (0: not known in advance).
    fn begin(&self, what: &str, total: u64);
    /// `n` more steps are done.
    fn advance(&self, n: u64);
    /// The work is over (done, or stopped by an error).
    fn end(&self);
}

/// Shows nothing: the default.
pub struct Quiet;

impl Progress for Quiet {
    fn begin(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn end(&self) {}
}

/// Ends the work when dropped, so that an early return (`?`) never leaves
/// a bar drawn.
pub struct Steps<'a>(&'a dyn Progress);

impl<'a> Steps<'a> {
    /// Starts a run of `total` steps.
    pub fn begin(p: &'a dyn Progress, what: &str, total: u64) -> Steps<'a> {
        p.begin(what, total);
        Steps(p)
    }

    /// One step done.
    pub fn advance(&self) {
        self.0.advance(1);
    }
}

impl Drop for Steps<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}
