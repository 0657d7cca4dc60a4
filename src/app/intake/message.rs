//! Reading a message with mail-parser: its files, its sender's name, its
//! address lists, whether it was sent by a machine, its readable text, and
//! a Message-ID for one that has none. What intake decides is in the
//! module above; here only what the message says.

use super::*;

/// The attachments of a message: file name, content type and bytes.
pub(super) fn attachments_of<'m>(m: &'m Message) -> Vec<(String, String, &'m [u8])> {
    m.attachments()
        .map(|a| {
            let name = a
                .attachment_name()
                .map(|n| n.replace(['/', '\\', '\0'], "_"))
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| "attachment".into());
            let ctype = a
                .content_type()
                .map(|c| match c.subtype() {
                    Some(sub) => format!("{}/{}", c.ctype(), sub),
                    None => c.ctype().to_string(),
                })
                .unwrap_or_else(|| "application/octet-stream".into())
                .to_ascii_lowercase();
            (name, ctype, a.contents())
        })
        .collect()
}

/// The sender's display name, for a contact made from this mail: how mail
/// greets them ("Stan Ranger", not "stan").
pub(super) fn display_name(m: &Message) -> Option<String> {
    m.from()
        .and_then(|a| a.first())
        .and_then(|a| a.name())
        .map(|n| n.trim().chars().take(200).collect::<String>())
        .filter(|n| !n.is_empty() && !n.contains('@') && !n.contains('\0'))
}

pub(super) fn addr_list(m: &Message, which: &str) -> Vec<String> {
    let list = match which {
        "to" => m.to(),
        "cc" => m.cc(),
        _ => m.from(),
    };
    list.map(|a| {
        a.iter()
            .filter_map(|x| x.address())
            .map(|x| x.trim().to_lowercase())
            .collect()
    })
    .unwrap_or_default()
}

/// RFC 3834 and common practice: mail that must never open a ticket or get a reply.
pub(super) fn automatic(m: &Message, from: Option<&str>) -> Option<String> {
    if let Some(v) = m.header_raw("Auto-Submitted") {
        let v = v.trim().to_ascii_lowercase();
        if !v.is_empty() && !v.starts_with("no") {
            return Some(format!("Auto-Submitted: {v}"));
        }
    }
    if let Some(v) = m.header_raw("Precedence") {
        let v = v.trim().to_ascii_lowercase();
        if matches!(v.as_str(), "bulk" | "junk" | "list" | "auto_reply") {
            return Some(format!("Precedence: {v}"));
        }
    }
    if m.header_raw("List-Id").is_some() {
        return Some("mailing-list mail (List-Id)".into());
    }
    // Only bulk senders offer an unsubscribe link; a person's mail never does.
    if m.header_raw("List-Unsubscribe").is_some() {
        return Some("bulk mail (List-Unsubscribe)".into());
    }
    if m.header_raw("X-Autoreply").is_some() || m.header_raw("X-Autorespond").is_some() {
        return Some("auto-reply header".into());
    }
    if let Some(f) = from {
        let local = f.split('@').next().unwrap_or_default();
        if local.eq_ignore_ascii_case("mailer-daemon") || local.eq_ignore_ascii_case("postmaster") {
            return Some(format!("from {f}"));
        }
    }
    let ct = m.root_part().content_type();
    if let Some(ct) = ct
        && ct.ctype().eq_ignore_ascii_case("multipart")
        && ct.subtype().is_some_and(|s| s.eq_ignore_ascii_case("report"))
    {
        return Some("delivery or read report (multipart/report)".into());
    }
    None
}

/// The readable text of a message: its text part, or its HTML turned into
/// text by the parser; never empty.
pub(super) fn text_of(m: &Message) -> String {
    let body = m
        .body_text(0)
        .map(|b| b.to_string())
        .unwrap_or_default()
        .replace('\0', "");
    if body.trim().is_empty() {
        "(no text)".to_string()
    } else {
        body
    }
}

pub(super) fn synthetic_message_id(raw: &[u8]) -> String {
    let h: String = Sha256::digest(raw)
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{h}@no-message-id.sladesk.invalid")
}
