//! sladesk: an ITIL service desk and SLA tracking engine.

pub mod api;
pub mod app;
pub mod cli;
pub mod config;
pub mod demo;
pub mod domain;
pub mod mail;
pub mod net;

pub mod reports;
pub mod scheduler;
pub mod seed;
pub mod server;
pub mod shipped;
pub mod store;
pub mod web;
