//! Errors as `application/problem+json` (RFC 9457).
//!
//! Which error type to use where: use cases return `AppError`; handlers turn
//! it into a `Problem` with `?` and never build a status code themselves;
//! request-shape failures (JSON, path, query, content type, size) become
//! problems in the extractor configs in `api::configure`. A problem's
//! `detail` is written for the person who must act on it; a 500 says
//! nothing of the cause to the caller and logs it instead.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::app::AppError;
use crate::domain::ticket::CommandError;

/// An RFC 9457 problem: `type`, `title`, `status`, `detail`, and for an invalid field its name.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Seconds to wait before trying again, sent as `Retry-After`.
    #[serde(skip)]
    pub retry_after: Option<u32>,
}

impl Problem {
    /// A problem with its status, type slug (`/problems/<slug>`), title and
    /// detail.
    pub fn new(status: StatusCode, slug: &str, title: &'static str, detail: impl Into<String>) -> Problem {
        Problem {
            kind: format!("/problems/{slug}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            field: None,
            retry_after: None,
        }
    }

    /// Asks the client to come back after `seconds` (`Retry-After`).
    pub fn retry_after(mut self, seconds: u32) -> Problem {
        self.retry_after = Some(seconds);
        self
    }

    /// 400: the request is malformed.
    pub fn bad_request(detail: impl Into<String>) -> Problem {
        Problem::new(
            StatusCode::BAD_REQUEST,
            "bad-request",
            "The request is malformed",
            detail,
        )
    }

    /// 404: no such resource (or not one the caller may know of).
    pub fn not_found(detail: impl Into<String>) -> Problem {
        Problem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.title, self.detail)
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        r.content_type("application/problem+json");
        if self.status == 401 {
            r.insert_header(("WWW-Authenticate", "Bearer"));
        }
        if let Some(s) = self.retry_after {
            r.insert_header(("Retry-After", s.to_string()));
        }
        r.json(self)
    }
}

impl From<AppError> for Problem {
    fn from(e: AppError) -> Problem {
        match e {
            AppError::NotFound(what) => Problem::not_found(format!("{what} does not exist or is not visible to you")),
            AppError::Forbidden(why) => Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", why),
            AppError::Invalid { field, message } => Problem {
                field: Some(field.clone()),
                ..Problem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid-field",
                    "A field is invalid",
                    format!("{field}: {message}"),
                )
            },
            AppError::NotForCaller { field, message } => Problem {
                field: Some(field.clone()),
                ..Problem::bad_request(format!("{field}: {message}"))
            },
            AppError::Conflict(why) => Problem::new(StatusCode::CONFLICT, "conflict", "Conflict", why),
            AppError::RateLimited(why, after) => {
                Problem::new(StatusCode::TOO_MANY_REQUESTS, "rate-limited", "Too many requests", why).retry_after(after)
            }
            AppError::Unauthenticated(why) => Problem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                why,
            ),
            AppError::Command(c) => match c {
                CommandError::NotAllowed(..) => {
                    Problem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", c.to_string())
                }
                other => Problem::new(
                    StatusCode::CONFLICT,
                    "invalid-transition",
                    "The ticket's state does not allow this",
                    other.to_string(),
                ),
            },
            AppError::Internal(cause) => {
                tracing::error!(%cause, "internal error");
                Problem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    "the request failed on our side; the error has been logged",
                )
            }
            AppError::Store(s) => {
                tracing::error!(error = ?s, "storage failure");
                Problem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-unavailable",
                    "Storage unavailable",
                    "the database could not complete the request (it may be restarting). Try again shortly.",
                )
                .retry_after(2)
            }
        }
    }
}

impl From<actix_web::error::BlockingError> for Problem {
    fn from(_: actix_web::error::BlockingError) -> Problem {
        Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "overloaded",
            "Server overloaded",
            "the server could not schedule the request; try again shortly",
        )
        .retry_after(1)
    }
}
