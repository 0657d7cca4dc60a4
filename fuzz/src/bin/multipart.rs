fn main() {
    // A crash is what AFL++ is after: nothing is left to unwind into.
    let system = std::panic::AssertUnwindSafe(actix_web::rt::System::new());
    afl::fuzz!(|data: &[u8]| {
        // The whole wrapper, not the field: closures capture what they name.
        let system = &system;
        sladesk_fuzz::multipart(&system.0, data);
    });
}
