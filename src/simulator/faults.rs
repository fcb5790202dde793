//! What an injected [`Fault`](super::Fault) does to one request, down to what reaches the wire.
//!
//! Answer-level faults (rate limit, HTML from the edge, any envelope error) replace the
//! answer. Connection-level faults are real: `Reset` makes the connection drop before a
//! response is written, and `Truncated`/`Stall` send the true headers, including the full
//! `Content-Length`, then cut the body short or stop sending it.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    task::{Context, Poll, ready},
    time::Duration,
};

use axum::{
    body::{Body, Bytes},
    http::{HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use http_body::Frame;

use super::envelope;

/// How long a truncated body waits, after its last bytes, before the connection closes.
const FLUSH_PAUSE: Duration = Duration::from_millis(20);

/// A future that completes when the simulator shuts down.
pub(super) type ShutdownSignal = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The error a service or body returns to make hyper drop the connection.
#[derive(Debug)]
pub(super) struct Dropped(&'static str);

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for Dropped {}

/// The connection is to be closed without a response.
pub(super) fn reset() -> Dropped {
    Dropped("simulated connection reset")
}

/// A 429 as the API's rate limiter gives it.
pub(super) fn rate_limited(retry_after: Option<&str>) -> Response {
    let mut response = envelope::failure(
        StatusCode::TOO_MANY_REQUESTS,
        envelope::RATE_LIMITED,
        "Please wait and consider throttling your request speed",
    );
    let headers = response.headers_mut();
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("1200"));
    headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
    if let Some(value) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        headers.insert(header::RETRY_AFTER, value);
    }
    response
}

/// Any envelope error, with the status the caller chose.
pub(super) fn status(status: u16, code: i64, message: &str) -> Response {
    envelope::failure(status_or_500(status), code, message)
}

/// A status the caller gave, or 500 when it is not a valid HTTP status.
fn status_or_500(status: u16) -> StatusCode {
    StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

/// An error page in the style of Cloudflare's edge.
pub(super) fn html(status: u16) -> Response {
    let status = status_or_500(status);
    let reason = match status.as_u16() {
        520 => "Web server is returning an unknown error",
        521 => "Web server is down",
        522 => "Connection timed out",
        523 => "Origin is unreachable",
        524 => "A timeout occurred",
        525 => "SSL handshake failed",
        526 => "Invalid SSL certificate",
        _ => status.canonical_reason().unwrap_or("Error"),
    };
    let code = status.as_u16();
    let page = format!(
        "<!DOCTYPE html>\n<html>\n<head><title>{code} {reason}</title></head>\n<body>\n\
         <center><h1>{code} {reason}</h1></center>\n<hr><center>cloudflare</center>\n\
         </body>\n</html>\n"
    );
    let mut response = (status, page).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=UTF-8"),
    );
    response
}

/// How a body that is cut short ends.
pub(super) enum Cut {
    /// Closes the connection at once.
    Close,
    /// Sends nothing more until the signal fires, then closes.
    Hang(ShutdownSignal),
}

/// Keeps the response's headers (with the full `Content-Length`) and sends only the first
/// half of its body, then ends as `cut` says.
pub(super) async fn cut_short(response: Response, cut: Cut) -> Response {
    let (mut parts, body) = response.into_parts();

    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (declared, body) = match declared {
        Some(length) => (length, body),
        None => {
            // A body of unknown length has no length to betray, so measure it and declare it.
            let bytes = axum::body::to_bytes(body, usize::MAX)
                .await
                .unwrap_or_default();
            (bytes.len() as u64, Body::from(bytes))
        }
    };
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(declared));

    let body = CutBody {
        inner: body,
        left: declared / 2,
        cut,
        pause: None,
    };
    Response::from_parts(parts, Body::new(body))
}

/// A body that passes on `left` bytes of `inner`, then fails or hangs.
struct CutBody {
    inner: Body,
    left: u64,
    cut: Cut,
    pause: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl http_body::Body for CutBody {
    type Data = Bytes;
    type Error = Dropped;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Dropped>>> {
        let this = self.get_mut();
        if this.left > 0 {
            match ready!(Pin::new(&mut this.inner).poll_frame(cx)) {
                Some(Ok(frame)) => {
                    let frame = match frame.into_data() {
                        Ok(mut data) => {
                            if data.len() as u64 > this.left {
                                data.truncate(usize::try_from(this.left).unwrap_or(usize::MAX));
                            }
                            this.left -= data.len() as u64;
                            Frame::data(data)
                        }
                        Err(other) => other,
                    };
                    return Poll::Ready(Some(Ok(frame)));
                }
                Some(Err(_)) => return Poll::Ready(Some(Err(Dropped("body failed")))),
                // The body was shorter than declared: it is cut here anyway.
                None => this.left = 0,
            }
        }
        match &mut this.cut {
            Cut::Close => {
                // hyper discards what it has buffered when a body fails, so give it a moment
                // to flush the part that was sent before closing.
                let pause = this
                    .pause
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep(FLUSH_PAUSE)));
                ready!(pause.as_mut().poll(cx));
                Poll::Ready(Some(Err(Dropped("simulated truncated body"))))
            }
            Cut::Hang(signal) => {
                ready!(signal.as_mut().poll(cx));
                Poll::Ready(Some(Err(Dropped("simulator shut down during a stall"))))
            }
        }
    }
}
