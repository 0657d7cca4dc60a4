//! The pure core of sladesk: business calendars, UK bank holidays, SLA
//! policies, the ticket lifecycle and its clocks.
//!
//! Nothing here does I/O or reads the system clock: callers pass text in and
//! `now` as a parameter, so every answer is deterministic and replayable.
//! It must not import actix, diesel, lettre, handlebars, cron or tokio.

pub mod alerts;
pub mod availability;
pub mod calendar;
pub mod credits;
pub mod dispute;
pub mod duration;
pub mod holidays;
pub mod itil;
pub mod local_time;
pub mod money;
pub mod moves;
pub mod names;
pub mod outage_status;
pub mod policy;
pub mod report;
pub mod search;
pub mod service;
pub mod status;
pub mod ticket;
pub mod vocabulary;

/// The clocks live with the ticket they measure; `domain::clock` is kept as
/// the name the rest of the code reads them by.
pub use ticket::clock;
