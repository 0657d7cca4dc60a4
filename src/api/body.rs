//! Reading request bodies whose size and pace a stranger chooses. Callers
//! authenticate first, then enter the `BodyGate` (a cap on large bodies
//! read at once by this process), then read through `bounded`, which ends
//! the body at a byte limit and at a deadline. So neither a huge body nor a
//! body sent a byte at a time can hold memory or a connection for long.

use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, BytesMut};
use futures_util::{Stream, StreamExt};

use super::problem::Problem;

/// Counts the large bodies being read now.
#[derive(Default)]
pub struct BodyGate {
    in_flight: AtomicUsize,
}

/// A place in the gate, given back when dropped.
pub struct Permit(web::Data<BodyGate>);

impl Drop for Permit {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl BodyGate {
    /// A place among `max`, or 503 with Retry-After when all are taken.
    pub fn enter(gate: &web::Data<BodyGate>, max: usize) -> Result<Permit, Problem> {
        let taken = gate.in_flight.fetch_add(1, Ordering::AcqRel);
        let permit = Permit(gate.clone());
        if taken >= max {
            drop(permit);
            return Err(Problem::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "busy",
                "Too many large requests at once",
                "the server is reading as many large bodies as it takes at once; try again shortly",
            )
            .retry_after(5));
        }
        Ok(permit)
    }
}

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    TooLarge(usize),
    TooSlow(Duration),
    Broken(String),
}

impl From<BodyError> for Problem {
    fn from(e: BodyError) -> Problem {
        match e {
            BodyError::TooLarge(limit) => Problem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload-too-large",
                "Request body too large",
                format!("the body is over the {limit}-byte limit"),
            ),
            BodyError::TooSlow(d) => Problem::new(
                StatusCode::REQUEST_TIMEOUT,
                "request-timeout",
                "The body arrived too slowly",
                format!("the whole body must arrive within {} s", d.as_secs()),
            ),
            BodyError::Broken(e) => Problem::bad_request(format!("body: {e}")),
        }
    }
}

/// A declared Content-Length over `limit` is refused before a byte is read.
pub fn check_declared_length(req: &actix_web::HttpRequest, limit: usize) -> Result<(), BodyError> {
    let declared = req
        .headers()
        .get(actix_web::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => Err(BodyError::TooLarge(limit)),
        _ => Ok(()),
    }
}

/// The payload, ended with an error once it passes `limit` bytes or once
/// `within` has passed since the first poll.
pub fn bounded(
    payload: web::Payload,
    limit: usize,
    within: Duration,
) -> impl Stream<Item = Result<Bytes, PayloadError>> + 'static {
    Bounded {
        inner: payload,
        limit,
        seen: 0,
        deadline: Box::pin(actix_web::rt::time::sleep(within)),
        done: false,
    }
}

struct Bounded {
    inner: web::Payload,
    limit: usize,
    seen: usize,
    deadline: Pin<Box<actix_web::rt::time::Sleep>>,
    done: bool,
}

/// The error a `Bounded` stream ends with, readable back into a `BodyError`.
fn overflow() -> PayloadError {
    PayloadError::Overflow
}

fn timed_out() -> PayloadError {
    PayloadError::Io(std::io::Error::new(std::io::ErrorKind::TimedOut, "body deadline"))
}

impl Stream for Bounded {
    type Item = Result<Bytes, PayloadError>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        if self.deadline.as_mut().poll(cx).is_ready() {
            self.done = true;
            return Poll::Ready(Some(Err(timed_out())));
        }
        match self.inner.poll_next_unpin(cx) {
            Poll::Ready(Some(Ok(chunk))) => {
                self.seen += chunk.len();
                if self.seen > self.limit {
                    self.done = true;
                    return Poll::Ready(Some(Err(overflow())));
                }
                Poll::Ready(Some(Ok(chunk)))
            }
            other => other,
        }
    }
}

use std::future::Future as _;

/// Reads a bounded payload whole.
pub async fn read_all(payload: web::Payload, limit: usize, within: Duration) -> Result<BytesMut, BodyError> {
    let mut body = BytesMut::new();
    let mut s = std::pin::pin!(bounded(payload, limit, within));
    while let Some(chunk) = s.next().await {
        body.extend_from_slice(&chunk.map_err(|e| classify(e, limit, within))?);
    }
    Ok(body)
}

/// What a bounded stream's error means.
pub fn classify(e: PayloadError, limit: usize, within: Duration) -> BodyError {
    match e {
        PayloadError::Overflow => BodyError::TooLarge(limit),
        PayloadError::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => BodyError::TooSlow(within),
        other => BodyError::Broken(other.to_string()),
    }
}
