//! The monthly report as people read it: HTML (with its charts) and CSV,
//! rendered from the report's JSON document. The report itself (which
//! tickets count, the figures, the credits) is pure and lives in the
//! domain: `domain::report`.

pub mod evidence;
pub mod render;
