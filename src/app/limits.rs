//! What one request may cost: every size, count and rate a caller can push
//! on, in one place, so the README's list of limits and the code cannot
//! drift. `[limits]` in `sladesk.toml` overrides any of them.

use serde::Deserialize;

/// The limits in force. Every field has a default fit for a public server.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Files one message, new ticket or reply may carry.
    pub max_attachments: usize,
    /// Characters a ticket description, reply or note may have.
    pub max_text_chars: usize,
    /// Events one page of a ticket's timeline holds (API and page).
    pub events_page: usize,
    /// Requests to reopen one customer may send in an hour.
    pub reopen_requests_per_hour: u32,
    /// Seconds a request body (mail, multipart form) may take to arrive
    /// whole; a slower body is answered 408.
    pub body_seconds: u64,
    /// Large bodies (mail, forms with files) read at once by one process;
    /// more are answered 503 with Retry-After.
    pub large_bodies_in_flight: usize,
    /// Parts one multipart form may have.
    pub max_form_parts: usize,
    /// Bytes of files an agent's reply may carry inside its mail; files
    /// beyond go as links to the ticket's page (0: always links).
    pub mail_attachment_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_attachments: 100,
            max_text_chars: 100_000,
            events_page: 100,
            reopen_requests_per_hour: 5,
            body_seconds: 120,
            large_bodies_in_flight: 8,
            max_form_parts: 120,
            mail_attachment_bytes: 10 * 1024 * 1024,
        }
    }
}

impl Limits {
    /// Limits that make no sense whatever the machine: refused at start.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("max_attachments", self.max_attachments as u64),
            ("max_text_chars", self.max_text_chars as u64),
            ("events_page", self.events_page as u64),
            ("body_seconds", self.body_seconds),
            ("large_bodies_in_flight", self.large_bodies_in_flight as u64),
            ("max_form_parts", self.max_form_parts as u64),
        ];
        for (name, v) in positive {
            if v == 0 {
                return Err(format!("limits.{name}: must be at least 1"));
            }
        }
        if self.events_page > 1000 {
            return Err("limits.events_page: at most 1000".into());
        }
        if self.max_text_chars > 1_000_000 {
            return Err("limits.max_text_chars: at most 1000000".into());
        }
        if self.max_form_parts < self.max_attachments + 8 {
            return Err("limits.max_form_parts: must leave room for the attachments and eight text fields".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_their_own_check_and_nonsense_is_named() {
        assert_eq!(Limits::default().check(), Ok(()));
        let zero = Limits {
            max_attachments: 0,
            ..Limits::default()
        };
        assert_eq!(zero.check().unwrap_err(), "limits.max_attachments: must be at least 1");
        let parts = Limits {
            max_form_parts: 10,
            ..Limits::default()
        };
        assert!(parts.check().unwrap_err().starts_with("limits.max_form_parts"));
    }

    #[test]
    fn a_file_names_only_what_it_changes() {
        let l: Limits = toml::from_str("max_attachments = 20\nmax_form_parts = 40").unwrap();
        assert_eq!(l.max_attachments, 20);
        assert_eq!(l.events_page, Limits::default().events_page);
        assert!(
            toml::from_str::<Limits>("max_attachment = 20").is_err(),
            "typos are refused"
        );
    }
}
