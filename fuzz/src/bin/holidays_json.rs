fn main() {
    afl::fuzz!(|data: &[u8]| {
        sladesk_fuzz::holidays_json(data);
    });
}
