//! sladesk: an ITIL service desk and SLA tracking engine.

pub mod cli;
pub mod domain;
pub mod policies;
pub mod store;
