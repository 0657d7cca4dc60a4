//! What sladesk ships, compiled in (see `build.rs`): the SLA policies, the
//! email templates and the demo desk, each as (file name, text). They are
//! the defaults wherever settings name no directory, and `sladesk init`
//! writes editable copies of them.

include!(concat!(env!("OUT_DIR"), "/shipped.rs"));

/// A shipped file's text by name, from one of the lists above.
pub fn find<'a>(list: &'a [(&str, &str)], name: &str) -> Option<&'a str> {
    list.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}
