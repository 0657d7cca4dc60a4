//! Whether a message's `From:` can be believed, before it decides whose
//! contact (and whose organisation's tickets) the message speaks for.
//!
//! `header` (the default) believes the receiving MTA: the topmost
//! `Authentication-Results` header carrying the MTA's own `authserv_id`
//! (RFC 8601; an MTA removes any such header a sender wrote, and one below
//! the topmost could be the sender's own). `verify` checks DKIM and DMARC
//! in this process instead (`crate::mail::verify`). `off` believes `From:`.
//!
//! When DMARC fails for a domain that publishes an enforcing policy, the
//! message is quarantined: it creates no contact and threads onto no
//! ticket. A message with no verdict at all behaves as it always did.
//!
//! Pure: headers in, verdict out.

use serde::Deserialize;

/// How a sender is authenticated (`sender_authentication` in sladesk.toml).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Off,
    #[default]
    Header,
    Verify,
}

/// What intake is told of a message's sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing to go on: behave as without authentication.
    Unknown,
    /// DMARC passed, or failed for a domain whose policy asks for nothing.
    Believed,
    /// DMARC failed for a domain that asks for its failures to be refused
    /// or quarantined: `From:` may be forged.
    Forged { domain: String, policy: String },
}

/// Who checks a sender when intake verifies mail itself (`mail::verify`,
/// SPF, DKIM and DMARC over DNS). The app holds one behind this trait so
/// that it depends on no mail library; tests may give their own.
pub trait SenderCheck: Send + Sync {
    /// What the raw message says of its sender.
    fn verdict(&self, raw: &[u8]) -> Verdict;
}

impl Verdict {
    /// Why a message is held, when its sender may be forged.
    pub fn quarantine_reason(&self) -> Option<String> {
        match self {
            Verdict::Forged { domain, policy } => Some(format!(
                "DMARC failed for {domain} (policy {policy}): the From address may be forged"
            )),
            _ => None,
        }
    }
}

/// The verdict of the topmost `Authentication-Results` header written by
/// `authserv_id`. `headers` are the raw values of every
/// `Authentication-Results` header, topmost first.
pub fn from_headers<'a>(headers: impl IntoIterator<Item = &'a str>, authserv_id: &str) -> Verdict {
    let ours = headers.into_iter().find(|h| {
        split_top(h, ';')
            .first()
            .and_then(|id| id.split_whitespace().next())
            .is_some_and(|id| id.eq_ignore_ascii_case(authserv_id))
    });
    let Some(header) = ours else {
        return Verdict::Unknown;
    };
    let parts = split_top(header, ';');
    for resinfo in parts.iter().skip(1) {
        let words = words(resinfo);
        let Some((method, result)) = words.first().and_then(|w| w.split_once('=')) else {
            continue;
        };
        if !method.eq_ignore_ascii_case("dmarc") {
            continue;
        }
        let result = result.to_ascii_lowercase();
        if result == "pass" {
            return Verdict::Believed;
        }
        if result != "fail" {
            // none, temperror, permerror: no verdict to act on.
            return Verdict::Unknown;
        }
        let value = |keys: &[&str]| {
            words.iter().find_map(|w| {
                let (k, v) = w.split_once('=')?;
                keys.iter()
                    .any(|key| k.eq_ignore_ascii_case(key))
                    .then(|| v.trim_matches('"').to_ascii_lowercase())
            })
        };
        let domain = value(&["header.from"]).unwrap_or_else(|| "the sender's domain".into());
        // OpenDMARC writes the policy in a comment, "(p=reject dis=none)";
        // others as policy.dmarc= or action=. Unsaid, it is taken to enforce.
        let policy = value(&["p", "policy.dmarc", "policy.published-domain-policy", "action"])
            .unwrap_or_else(|| "unstated".into());
        return if policy == "none" {
            Verdict::Believed
        } else {
            Verdict::Forged { domain, policy }
        };
    }
    Verdict::Unknown
}

/// Splits at `sep` outside comments (parentheses, which nest) and quotes.
fn split_top(s: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut depth, mut quoted, mut escaped) = (0usize, false, false);
    for ch in s.chars() {
        if escaped {
            cur.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' => {
                escaped = true;
                cur.push(ch);
            }
            '"' if depth == 0 => {
                quoted = !quoted;
                cur.push(ch);
            }
            '(' if !quoted => {
                depth += 1;
                cur.push(ch);
            }
            ')' if !quoted && depth > 0 => {
                depth -= 1;
                cur.push(ch);
            }
            c if c == sep && depth == 0 && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|p| p.trim().to_string()).collect()
}

/// The `key=value` words of a result, comments opened up (the policy often
/// sits in one), whitespace and folding ignored.
fn words(resinfo: &str) -> Vec<String> {
    resinfo
        .replace(['(', ')'], " ")
        .split_whitespace()
        .map(|w| w.trim_end_matches([',', ';']).to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "mx.desk.example";

    #[test]
    fn a_dmarc_failure_with_an_enforcing_policy_is_forged() {
        let h = "mx.desk.example; spf=fail smtp.mailfrom=acme.example;\r\n\tdkim=none;\r\n\tdmarc=fail (p=reject dis=none) header.from=acme.example";
        assert_eq!(
            from_headers([h], ID),
            Verdict::Forged {
                domain: "acme.example".into(),
                policy: "reject".into()
            }
        );
        let microsoft = "mx.desk.example; dmarc=fail action=quarantine header.from=acme.example;";
        assert!(matches!(from_headers([microsoft], ID), Verdict::Forged { policy, .. } if policy == "quarantine"));
    }

    #[test]
    fn a_pass_or_a_policy_of_none_is_believed_and_no_dmarc_is_no_verdict() {
        assert_eq!(
            from_headers(
                ["mx.desk.example 1; dkim=pass header.d=acme.example; dmarc=pass header.from=acme.example"],
                ID
            ),
            Verdict::Believed
        );
        assert_eq!(
            from_headers(["mx.desk.example; dmarc=fail (p=none) header.from=acme.example"], ID),
            Verdict::Believed
        );
        assert_eq!(
            from_headers(["mx.desk.example; spf=pass smtp.mailfrom=acme.example"], ID),
            Verdict::Unknown
        );
        assert_eq!(from_headers(["mx.desk.example; none"], ID), Verdict::Unknown);
        assert_eq!(from_headers(Vec::<&str>::new(), ID), Verdict::Unknown);
    }

    #[test]
    fn only_the_topmost_header_of_our_own_mta_counts() {
        // A sender can write any header; one naming another server is not ours.
        let theirs = "mx.attacker.example; dmarc=pass header.from=acme.example";
        let ours = "mx.desk.example; dmarc=fail (p=quarantine) header.from=acme.example";
        assert!(matches!(from_headers([theirs, ours], ID), Verdict::Forged { .. }));
        // A forged "pass" under ours, below the MTA's own topmost one, is ignored.
        let forged_below = "mx.desk.example; dmarc=pass header.from=acme.example";
        assert!(matches!(from_headers([ours, forged_below], ID), Verdict::Forged { .. }));
        // An id that merely starts like ours is not ours.
        let lookalike = "mx.desk.example.evil; dmarc=pass header.from=acme.example";
        assert_eq!(from_headers([lookalike], ID), Verdict::Unknown);
    }

    #[test]
    fn comments_and_quotes_do_not_split_results() {
        let h = "mx.desk.example; dmarc=fail (p=reject; sp=reject) header.from=\"acme.example\"";
        assert_eq!(
            from_headers([h], ID),
            Verdict::Forged {
                domain: "acme.example".into(),
                policy: "reject".into()
            }
        );
        assert_eq!(split_top("a (b; c) ; d", ';'), vec!["a (b; c)", "d"]);
    }
}
