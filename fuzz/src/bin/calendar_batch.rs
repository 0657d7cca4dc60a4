fn main() {
    let fixtures = sladesk_fuzz::Fixtures::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")));
    afl::fuzz!(|data: &[u8]| {
        sladesk_fuzz::calendar_batch(&fixtures, data);
    });
}
