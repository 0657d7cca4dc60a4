fn main() {
    afl::fuzz!(|data: &[u8]| {
        sladesk_fuzz::auth_results(data);
    });
}
