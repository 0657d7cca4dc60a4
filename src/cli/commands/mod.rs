//! The commands, grouped as an operator thinks of them; `cli::run` sends
//! each to its group.

pub(super) mod admin;
pub(super) mod mail;
pub(super) mod reports;
pub(super) mod scheduler;
pub(super) mod search;
pub(super) mod serve;
pub(super) mod services;
pub(super) mod sla;
