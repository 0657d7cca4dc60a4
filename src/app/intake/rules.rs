//! The pure rules of intake: references in subjects and Message-IDs,
//! quoted history stripped from replies, severity declared in a subject.

use super::*;

/// A ticket reference in a subject tag `[SD-000123]`.
pub(super) fn subject_reference(subject: &str) -> Option<String> {
    let upper = subject.to_ascii_uppercase();
    let start = upper.find("[SD-")?;
    let rest = &upper[start + 1..];
    let end = rest.find(']')?;
    let r = &rest[..end];
    (r.len() >= 9 && r[3..].chars().all(|c| c.is_ascii_digit())).then(|| r.to_string())
}

/// A ticket reference in a Message-ID sladesk sent (`<SD-000123.…@…>`).
pub(super) fn reference_in_message_ids(ids: &[String]) -> Option<String> {
    ids.iter().find_map(|id| {
        let id = id.trim_matches(['<', '>']).to_ascii_uppercase();
        let r = id.split('.').next()?;
        (r.len() >= 9 && r.starts_with("SD-") && r[3..].chars().all(|c| c.is_ascii_digit())).then(|| r.to_string())
    })
}

/// The new text of a reply: quoted history and the signature cut where the
/// cut is unambiguous (a quote header, an Outlook original-message line,
/// lines starting `>`, the `-- ` signature separator). The full original
/// stays in the inbound record.
pub fn strip_reply(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim();
        let next = lines.get(i + 1).map(|l| l.trim()).unwrap_or_default();
        let attribution = |start: &str, end: &str| {
            t.starts_with(start) && (t.ends_with(end) || (next.ends_with(end) && next.len() < 80))
        };
        let starts_history = attribution("On ", "wrote:")
            || attribution("Le ", "a écrit :")
            || (t.starts_with("Am ") && (t.ends_with(':') || next.ends_with(':')) && t.contains("schrieb"))
            || t.starts_with("-----Original Message-----")
            || t == "--"
            || t.starts_with("________________________________")
            // Outlook's header block of the message replied to.
            || (t.starts_with("From:") && (next.starts_with("Sent:") || next.starts_with("Date:")));
        if starts_history {
            break;
        }
        if t.starts_with('>') {
            continue;
        }
        out.push(*line);
    }
    let s = out.join("\n").trim().to_string();
    if s.is_empty() { text.trim().to_string() } else { s }
}

/// A severity a customer declares in a subject: `[S1]` to `[S4]`.
pub fn declared_severity(subject: &str) -> Option<Severity> {
    let upper = subject.to_ascii_uppercase();
    (1..=4u8).find_map(|n| {
        upper
            .contains(&format!("[S{n}]"))
            .then(|| Severity::try_from(n).ok())
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_references_in_subjects_and_message_ids() {
        assert_eq!(subject_reference("Re: [SD-000123] VPN down"), Some("SD-000123".into()));
        assert_eq!(subject_reference("RE: [sd-000123]"), Some("SD-000123".into()));
        assert_eq!(subject_reference("[SD-12] short"), None);
        assert_eq!(subject_reference("no tag"), None);
        assert_eq!(
            reference_in_message_ids(&["<SD-000042.3.abc@desk.example>".into()]),
            Some("SD-000042".into())
        );
        assert_eq!(reference_in_message_ids(&["<CAF=abc@mail.gmail.com>".into()]), None);
    }

    #[test]
    fn strips_quoted_history_and_signatures() {
        let gmail = "Thanks, that fixed it.\n\nOn Mon, 30 Nov 2026 at 09:00, Desk <support@x> wrote:\n> old text\n";
        assert_eq!(strip_reply(gmail), "Thanks, that fixed it.");
        let outlook = "Still broken.\r\n\r\n-----Original Message-----\r\nFrom: Desk\r\n";
        assert_eq!(strip_reply(outlook), "Still broken.");
        assert_eq!(strip_reply("Hello\n-- \nCarol\nAcme"), "Hello");
        assert_eq!(
            strip_reply("> only a quote"),
            "> only a quote",
            "never strip everything"
        );
    }
}
