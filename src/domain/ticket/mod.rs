//! A ticket: its lifecycle as a pure state machine (`decide`: commands in,
//! events out, and the fold of events into state) and its response and
//! resolve clocks computed from those events (`clock`). One module, because
//! each needs the other: deciding a command asks the clocks (a severity
//! change, a reopen window), and the clocks replay the ticket. Outside it,
//! nothing depends on how the two are split; the words they share are in
//! `domain::vocabulary`.

pub mod clock;
mod decide;
pub mod explain;
pub mod history;

pub use decide::*;
