pub fn create(_s: &crate::server::Settings) -> Result<std::sync::Arc<crate::app::App>, String> {
    Err("demo: not yet".into())
}
