//! What the desk holds, per process, of the systems around it: the
//! identity providers it trusts (`sso`). Kept apart from `App`'s own
//! fields so that each integration adds its state here.

use std::sync::{Arc, RwLock};

#[derive(Default)]
pub(crate) struct Integrations {
    /// `[sso]`: the OpenID providers.
    pub(crate) sso: RwLock<Arc<super::sso::SsoSettings>>,
}
