//! sladesk: an ITIL service desk and SLA tracking engine.

pub mod api;
pub mod app;
pub mod cli;
pub mod demo;
pub mod domain;
pub mod imap;
pub mod mail;
pub mod policies;
pub mod reports;
pub mod scheduler;
pub mod seed;
pub mod server;
pub mod shipped;
pub mod store;
pub mod web;
