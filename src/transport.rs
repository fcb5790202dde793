//! The hooks the generated client calls around every request: credentials and time limit
//! before, a bounded read of the answer after. The answer is also kept here, whole, so the
//! one place that interprets answers ([`crate::answer`]) sees status, headers and body even
//! when the generated decoding fails.

use std::{
    fmt,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use bytes::{Bytes, BytesMut};
use progenitor_client::{ClientHooks, ClientInfo, OperationInfo};
use reqwest::{StatusCode, header::HeaderMap};

use crate::{auth::Credentials, generated};

/// What one attempt needs beyond the request itself.
pub(crate) struct Exchange {
    credentials: Arc<Credentials>,
    /// The time limit of the next attempt, in nanoseconds; it shrinks near a deadline.
    timeout: AtomicU64,
    body_limit: usize,
    answer: Mutex<Option<Raw>>,
}

impl Exchange {
    pub(crate) fn new(credentials: Arc<Credentials>, timeout: Duration, body_limit: usize) -> Self {
        Self {
            credentials,
            timeout: AtomicU64::new(nanos(timeout)),
            body_limit,
            answer: Mutex::new(None),
        }
    }

    /// Sets the time limit of the next attempt.
    pub(crate) fn set_timeout(&self, timeout: Duration) {
        self.timeout.store(nanos(timeout), Ordering::Relaxed);
    }

    fn timeout(&self) -> Duration {
        Duration::from_nanos(self.timeout.load(Ordering::Relaxed))
    }

    /// The answer of the attempt, once it has arrived.
    pub(crate) fn take_answer(&self) -> Option<Raw> {
        self.answer.lock().ok()?.take()
    }
}

// The generated client derives `Clone`; a clone starts with no answer of its own.
impl Clone for Exchange {
    fn clone(&self) -> Self {
        Self::new(self.credentials.clone(), self.timeout(), self.body_limit)
    }
}

impl fmt::Debug for Exchange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Exchange")
            .field("credentials", &self.credentials)
            .field("timeout", &self.timeout())
            .field("body_limit", &self.body_limit)
            .finish_non_exhaustive()
    }
}

fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// An answer as it came off the wire, its body read up to the limit.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The body was longer than the limit; `body` holds only its start.
    pub(crate) oversize: bool,
}

impl ClientHooks<Exchange> for generated::Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), progenitor_client::Error<E>> {
        let headers = request.headers_mut();
        // progenitor adds the spec's version as a header; Cloudflare's API has no use for it.
        headers.remove("api-version");
        self.inner().credentials.apply(headers);
        *request.timeout_mut() = Some(self.inner().timeout());
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let exchange = self.inner();
        let mut response = self.client().execute(request).await?;
        let status = response.status();
        let headers = std::mem::take(response.headers_mut());

        let (body, oversize) = read_bounded(&mut response, exchange.body_limit).await?;
        // The headers stay with the kept answer; the generated code only needs status and
        // body, so the rebuilt response goes without them rather than with a copy.
        let mut rebuilt = http::Response::new(body.clone());
        *rebuilt.status_mut() = status;
        if let Ok(mut slot) = exchange.answer.lock() {
            *slot = Some(Raw {
                status,
                headers,
                body,
                oversize,
            });
        }
        Ok(reqwest::Response::from(rebuilt))
    }
}

/// Reads a body of at most `limit` bytes. A longer one is abandoned, not read to the end;
/// only its start is kept, as evidence.
async fn read_bounded(
    response: &mut reqwest::Response,
    limit: usize,
) -> reqwest::Result<(Bytes, bool)> {
    let announced_oversize = response.content_length().is_some_and(|n| n > limit as u64);
    // Most answers arrive in one chunk; it is passed on without a copy.
    let Some(first) = response.chunk().await? else {
        return Ok((Bytes::new(), false));
    };
    if announced_oversize || first.len() > limit {
        return Ok((evidence(first), true));
    }
    let Some(second) = response.chunk().await? else {
        return Ok((first, false));
    };
    let mut body = BytesMut::with_capacity(first.len() + second.len());
    body.extend_from_slice(&first);
    let mut next = Some(second);
    while let Some(chunk) = next {
        if body.len() + chunk.len() > limit {
            return Ok((evidence(body.freeze()), true));
        }
        body.extend_from_slice(&chunk);
        next = response.chunk().await?;
    }
    Ok((body.freeze(), false))
}

/// The start of an oversized body, kept as the evidence for an error excerpt. It is kept
/// well past the excerpt's length because secrets are replaced before the excerpt is cut,
/// and each replacement can move later text forward.
fn evidence(mut body: Bytes) -> Bytes {
    body.truncate(crate::MAX_EXCERPT_BYTES + 4096);
    body
}
