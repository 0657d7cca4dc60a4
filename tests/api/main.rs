//! The REST API, spoken to over HTTP on a random port, against SQLite and
//! against the machine's PostgreSQL (SLADESK_TEST_POSTGRES_URL, default
//! postgres://postgres@127.0.0.1:5432/postgres; each test in a fresh
//! database, dropped after).

mod dovecot;
mod helpers;

mod authz;
mod bad_input;
mod browser;
mod concurrency;
mod hardening;
mod imap;
mod intake;
mod recompute;
mod reports;
mod scheduler;
mod sender_auth;
mod smtp;
mod tickets;
mod web;
