fn main() {
    let system = actix_web::rt::System::new();
    afl::fuzz!(|data: &[u8]| {
        sladesk_fuzz::multipart(&system, data);
    });
}
