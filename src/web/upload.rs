//! Forms with files (raising a ticket, replying): read only once the
//! session and CSRF token are checked, and bounded whole.
//!
//! The session (the `Viewer` extractor) and the CSRF token are checked
//! before a byte of the body is read, so a stranger's upload costs nothing;
//! the token therefore travels in the query string (`?csrf=`, which the
//! forms' actions carry) or an `X-CSRF-Token` header. The whole body, part
//! headers included, is capped at the attachment limit plus room for the
//! text, and must arrive within `limits.body_seconds`; the parts are
//! counted too. Files are capped again by the use case.

use actix_multipart::{Multipart, MultipartError};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::{State, Viewer, WebError};
use crate::api::body::{self, BodyError, BodyGate};
use crate::app::tickets::Upload;

/// Room a form has beside its files: the longest description or reply
/// (`max_text_chars`, up to four bytes a character) and its small fields.
fn text_room(max_text_chars: usize) -> usize {
    4 * max_text_chars + 64 * 1024
}

#[derive(Deserialize)]
struct CsrfQuery {
    csrf: String,
}

/// Why a form's parts could not be taken.
#[derive(Debug)]
pub enum FormError {
    /// The body itself: too large, too slow, or cut off.
    Body(BodyError),
    /// The form: malformed, too many parts, text that is not UTF-8.
    Malformed(String),
}

pub(super) async fn read_multipart(
    v: &Viewer,
    app: &State,
    gate: &web::Data<BodyGate>,
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<(Value, Vec<Upload>), WebError> {
    let sent = req
        .headers()
        .get("x-csrf-token")
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| {
            web::Query::<CsrfQuery>::from_query(req.query_string())
                .ok()
                .map(|q| q.into_inner().csrf)
        })
        .unwrap_or_default();
    v.check_csrf(&sent)?;
    let limits = app.limits();
    let limit = app.attachment_limit() + text_room(limits.max_text_chars);
    let within = std::time::Duration::from_secs(limits.body_seconds);
    let refused = |e: BodyError| match e {
        BodyError::TooLarge(_) => WebError::Page {
            status: StatusCode::PAYLOAD_TOO_LARGE,
            title: "Too large".into(),
            detail: format!("a form may weigh {} MB at most, files included", limit / (1024 * 1024)),
        },
        BodyError::TooSlow(_) => WebError::Page {
            status: StatusCode::REQUEST_TIMEOUT,
            title: "The form arrived too slowly".into(),
            detail: format!("a form must arrive whole within {} s; send it again", within.as_secs()),
        },
        BodyError::Broken(e) => WebError::bad_request(format!("form: {e}")),
    };
    body::check_declared_length(req, limit).map_err(refused)?;
    let _permit = BodyGate::enter(gate, limits.large_bodies_in_flight).map_err(|p| WebError::Page {
        status: StatusCode::SERVICE_UNAVAILABLE,
        title: "Busy".into(),
        detail: p.detail,
    })?;
    let mp = Multipart::new(req.headers(), body::bounded(payload, limit, within));
    collect_form(mp, limits.max_form_parts, limit, within)
        .await
        .map_err(|e| match e {
            FormError::Body(b) => refused(b),
            FormError::Malformed(m) => WebError::bad_request(m),
        })
}

/// A multipart form's text fields (as a JSON object) and files, at most
/// `max_parts` parts. `limit` and `within` name what a body error meant.
/// Public for the fuzz target, which feeds it raw bodies.
pub async fn collect_form(
    mut mp: Multipart,
    max_parts: usize,
    limit: usize,
    within: std::time::Duration,
) -> Result<(Value, Vec<Upload>), FormError> {
    let form_error = |e: MultipartError| match e {
        MultipartError::Payload(p) => FormError::Body(body::classify(p, limit, within)),
        other => FormError::Malformed(format!("form: {other}")),
    };
    let mut fields = serde_json::Map::new();
    let mut files = Vec::new();
    let mut parts = 0usize;
    while let Some(item) = mp.next().await {
        let mut field = item.map_err(form_error)?;
        parts += 1;
        if parts > max_parts {
            return Err(FormError::Malformed(format!(
                "a form may have {max_parts} parts at most"
            )));
        }
        let name = field.name().unwrap_or_default().to_string();
        let filename = field
            .content_disposition()
            .and_then(|d| d.get_filename())
            .map(str::to_string);
        let ctype = field
            .content_type()
            .map(|m| m.essence_str().to_ascii_lowercase())
            .unwrap_or_else(|| "application/octet-stream".into());
        let mut data = Vec::new();
        while let Some(chunk) = field.next().await {
            data.extend_from_slice(&chunk.map_err(form_error)?);
        }
        match filename {
            Some(f) if !f.is_empty() && !data.is_empty() => files.push(Upload {
                filename: f,
                content_type: ctype,
                data,
            }),
            // An empty file input still sends a part with no name and no bytes.
            Some(_) => {}
            None => {
                let text =
                    String::from_utf8(data).map_err(|_| FormError::Malformed(format!("{name}: not UTF-8 text")))?;
                fields.insert(name, Value::String(text));
            }
        }
    }
    Ok((Value::Object(fields), files))
}

/// A field of a form `read_multipart` read, or "" when absent.
pub fn field<'a>(form: &'a serde_json::Value, name: &str) -> &'a str {
    form.get(name).and_then(|v| v.as_str()).unwrap_or("")
}
