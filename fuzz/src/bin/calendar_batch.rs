fn main() {
    let fixtures = sladesk_fuzz::Fixtures::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")));
    let cache = sladesk::config::policies::CalendarCache::new(&fixtures.policies, &fixtures.holidays);
    // A crash is what AFL++ is after: nothing is left to unwind into.
    let mut cache = std::panic::AssertUnwindSafe(cache);
    afl::fuzz!(|data: &[u8]| {
        // The whole wrapper, not the field: closures capture what they name.
        let cache = &mut cache;
        sladesk_fuzz::calendar_batch(&mut cache.0, data);
    });
}
