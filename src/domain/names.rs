//! Values parsed once at the edge and trusted after: a ticket reference
//! and an e-mail address. A value of these types exists only if it passed
//! `parse`, so no code after the edge checks it again, and there is one
//! rule for each, not one per caller.

use std::fmt;

/// A ticket's reference: `SD-` and at least six digits, upper case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TicketRef(String);

/// Text that is not a ticket reference (`SD-000123`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a ticket reference (SD-000123)")]
pub struct NotATicketRef(pub String);

impl TicketRef {
    /// Reads `SD-000123`, in any case and with spaces around.
    pub fn parse(s: &str) -> Result<TicketRef, NotATicketRef> {
        let r = s.trim().to_ascii_uppercase();
        let digits = r.strip_prefix("SD-").unwrap_or("");
        if digits.len() >= 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(TicketRef(r))
        } else {
            Err(NotATicketRef(s.to_string()))
        }
    }

    /// The reference in canonical form, `SD-000123`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TicketRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address as the desk accepts one anywhere (a user, a queue's
/// inbound address, an organisation's account contact): something before
/// the `@`, a dotted domain after it, at most 254 characters, and nothing
/// that could break a mail header (spaces, control characters, `,;<>"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

/// Text that is not one plain mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not an email address")]
pub struct NotAnEmailAddress(pub String);

impl EmailAddress {
    /// One plain mail address (`local@domain`), trimmed; display names, lists
    /// and spaces are refused.
    pub fn parse(s: &str) -> Result<EmailAddress, NotAnEmailAddress> {
        let e = s.trim();
        let bad = || NotAnEmailAddress(e.to_string());
        if e.len() > 254
            || e.chars()
                .any(|c| c.is_whitespace() || c.is_control() || ",;<>\"".contains(c))
        {
            return Err(bad());
        }
        let (local, domain) = e.rsplit_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').count() >= 2 && domain.split('.').all(|l| !l.is_empty());
        if local.is_empty() || local.contains('@') || !labels_ok {
            return Err(bad());
        }
        Ok(EmailAddress(e.to_string()))
    }

    /// The address as given, trimmed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The case-insensitive key an address is unique by (users are found by it).
pub fn email_key(email: &str) -> String {
    email.trim().to_lowercase()
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_read_in_any_case_and_nothing_else_passes() {
        assert_eq!(TicketRef::parse(" sd-000123 ").unwrap().as_str(), "SD-000123");
        assert_eq!(TicketRef::parse("SD-1234567").unwrap().as_str(), "SD-1234567");
        for bad in ["SD-12345", "SD-00012a", "XX-000123", "", "SD-", "SD-000123 x"] {
            assert!(TicketRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_rule_for_every_address() {
        for good in ["nadia.patel@northwind.example", "a+tag@x.co.uk", " Bob@Desk.Example "] {
            assert!(EmailAddress::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "nadia",
            "@x.example",
            "a@localhost",
            "a@x..example",
            "a b@x.example",
            "a@x.example,b@y.example",
            "a@x.example\r\nBcc: c@d.example",
            "<a@x.example>",
            "a@b@x.example",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(email_key(" Bob@Desk.Example "), "bob@desk.example");
        assert!(EmailAddress::parse(&format!("{}@x.example", "a".repeat(250))).is_err());
    }
}
