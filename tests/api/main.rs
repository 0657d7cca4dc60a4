//! The REST API and the pages, spoken to over HTTP on a random port,
//! against SQLite and against the machine's PostgreSQL
//! (SLADESK_TEST_POSTGRES_URL, default postgres://postgres@127.0.0.1:5432/postgres;
//! each test in a fresh database, dropped after). Needs nothing else: the
//! suites that start a browser or mail and DNS servers are in `tests/e2e`.

mod helpers;

mod alerts;
mod authz;
mod bad_input;
mod bulk;
mod changes;
mod collisions;
mod concurrency;
mod disputes;
mod evidence;
mod hardening;
mod incidents;
mod intake;
mod links;
mod macros;
mod merge;
mod networks;
mod notices;
mod peers;
mod problems;
mod processes;
mod recompute;
mod reports;
mod requests;
mod scheduler;
mod scim;
mod search;
mod services;
mod sso;
mod status;
mod tickets;
mod time;
mod topology;
mod views;
mod watchers;
mod web;
mod webhooks;
