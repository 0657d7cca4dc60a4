//! The copies each process keeps of what authorises a request (the token
//! cache, the allow-lists), and how a change made by one process reaches
//! the others: the process that changed it drops its own copy and notifies
//! the store (`store::notify`); every `serve` process's listener hears it
//! and calls `heard`. Without a listener (SQLite, or the channel down) the
//! copies still expire (`TOKEN_CACHE_SECONDS`, `NETWORK_CACHE_SECONDS`).

use crate::app::App;
use crate::store::notify::Heard;

const TOKENS: &str = "tokens";
const NETWORKS: &str = "networks:";

impl App {
    /// A token, an account or a role changed: no process may go on
    /// trusting what it cached.
    pub(crate) fn tokens_changed(&self) {
        self.token_cache.write().expect("lock").clear();
        self.notify_others(TOKENS);
    }

    /// One account's name, address or role changed (an SSO sign-in).
    pub(crate) fn user_tokens_changed(&self, user_id: i64) {
        self.forget_user(user_id);
        self.notify_others(&format!("{TOKENS}:{user_id}"));
    }

    fn forget_user(&self, user_id: i64) {
        self.token_cache
            .write()
            .expect("lock")
            .retain(|_, (w, _)| w.user_id != user_id);
    }

    /// The allow-list `key` changed.
    pub(crate) fn networks_changed(&self, key: &str) {
        self.network_cache.write().expect("lock").remove(key);
        self.notify_others(&format!("{NETWORKS}{key}"));
    }

    /// What this process's listener heard from the others.
    pub fn heard(&self, heard: Heard) {
        match heard {
            Heard::Nothing => {}
            Heard::Connected => {
                // Whatever was notified while nobody listened is lost.
                self.token_cache.write().expect("lock").clear();
                self.network_cache.write().expect("lock").clear();
            }
            Heard::Changed(payloads) => {
                for p in payloads {
                    if p == TOKENS {
                        self.token_cache.write().expect("lock").clear();
                    } else if let Some(id) = p.strip_prefix("tokens:").and_then(|id| id.parse().ok()) {
                        self.forget_user(id);
                    } else if let Some(key) = p.strip_prefix(NETWORKS) {
                        self.network_cache.write().expect("lock").remove(key);
                    } else {
                        tracing::debug!(payload = %p, "notification for a newer release, ignored");
                    }
                }
            }
        }
    }

    /// Best effort after the change has committed: if the store cannot be
    /// reached now, the other processes' copies expire on their own.
    fn notify_others(&self, what: &str) {
        let sent = self
            .pool
            .get()
            .map_err(|e| e.to_string())
            .and_then(|mut c| c.notify_changed(what).map_err(|e| e.to_string()));
        if let Err(e) = sent {
            tracing::warn!(error = %e, what, "could not tell the other processes of a change");
        }
    }
}
