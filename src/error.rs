//! The one error type of the crate, and the context each kind of failure keeps.

use std::{fmt, time::Duration};

use crate::{auth::Credentials, download::Violation, ids::InvalidId};

/// Shows text from a server on one line: control characters (such as a newline that
/// would forge a log line) are escaped.
pub(crate) struct OneLine<'a>(pub(crate) &'a str);

/// The tail of [`Error::WaitTimedOut`]'s message: the last state seen, if any.
struct LastSeen<'a>(Option<&'a crate::Download>);

impl fmt::Display for LastSeen<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(d) => write!(f, "; last seen {} at {}%", d.status(), d.percent_complete()),
            None => f.write_str("; no poll succeeded"),
        }
    }
}

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            if c.is_control() {
                write!(f, "{}", c.escape_default())?;
            } else {
                fmt::Write::write_char(f, c)?;
            }
        }
        Ok(())
    }
}

/// What every fallible call of this crate returns.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong, by kind. Each variant keeps the evidence a caller needs to
/// act on it or report it; none ever holds a credential.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An id given by the caller is malformed; no request was sent.
    #[error(transparent)]
    InvalidId(#[from] InvalidId),
    /// Another argument given by the caller is unusable; no request was sent.
    #[error("invalid {argument}: {reason}")]
    #[non_exhaustive]
    InvalidInput {
        /// Which argument, such as `"output path"`.
        argument: &'static str,
        /// Why it cannot be used.
        reason: String,
    },
    /// The client is not configured well enough to send a request.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The API answered with a failure (a 4XX or 5XX, or a 2XX with `success: false`).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The API answered 429 and the wait it asked for was longer than the retry budget,
    /// or the retries ran out.
    #[error(transparent)]
    RateLimited(Box<ApiError>),
    /// The API answered with a redirect; API calls follow none, so credentials never
    /// travel to another host.
    #[error(
        "the API answered HTTP {status} redirecting to {location:?}; API calls follow no redirects"
    )]
    #[non_exhaustive]
    Redirect {
        /// The 3XX status.
        status: u16,
        /// The `Location` header, shortened if long; empty when absent.
        location: String,
    },
    /// The request or its response failed on the way: refused or reset connection, a body
    /// cut short.
    #[error(transparent)]
    Transport(TransportError),
    /// The request took longer than its time limit.
    #[error(transparent)]
    Timeout(TimeoutError),
    /// A successful answer that breaks the API's contract: a value out of range, a body that
    /// is not the envelope, a body too large.
    #[error(transparent)]
    Contract(Box<ContractError>),
    /// A download's encoding ended in the `error` state.
    #[error("encoding of the {download_type} download ended in error")]
    #[non_exhaustive]
    EncodingFailed {
        /// Which download failed.
        download_type: crate::DownloadType,
        /// The last state seen.
        download: Box<crate::Download>,
    },
    /// Waiting for a download gave up before it finished: the deadline of its
    /// [`WaitOptions`](crate::WaitOptions) passed.
    #[error(
        "the {download_type} download was not finished after {waited:?}{}",
        LastSeen(last_seen.as_deref())
    )]
    #[non_exhaustive]
    WaitTimedOut {
        /// Which download was awaited.
        download_type: crate::DownloadType,
        /// The last state seen, if any poll succeeded.
        last_seen: Option<Box<crate::Download>>,
        /// How long the wait lasted.
        waited: Duration,
    },
    /// The video has no download of this type: it was never created, or was deleted.
    #[error("the video has no {download_type} download")]
    #[non_exhaustive]
    MissingDownload {
        /// The type asked for.
        download_type: crate::DownloadType,
    },
    /// Fetching a file failed: a bad answer from the file host, a local write, a size that
    /// does not add up.
    #[error(transparent)]
    Fetch(Box<FetchError>),
}

impl Error {
    /// The HTTP status of the answer behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api(e) | Self::RateLimited(e) => Some(e.status),
            Self::Redirect { status, .. } => Some(*status),
            Self::Contract(e) => Some(e.status),
            Self::Fetch(e) => e.status,
            _ => None,
        }
    }

    /// Whether the request may have reached the server and been acted on although its
    /// answer was lost: a connection that broke after sending, a timeout, or the edge's
    /// 524 (the origin timed out after the request reached it).
    pub(crate) fn may_have_been_acted_on(&self) -> bool {
        match self {
            Self::Transport(e) => e.kind != TransportKind::Connect,
            Self::Timeout(_) => true,
            Self::Api(e) => e.status == 524,
            _ => false,
        }
    }

    /// The API's answer, for [`Error::Api`] and [`Error::RateLimited`].
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api(e) | Self::RateLimited(e) => Some(e),
            _ => None,
        }
    }

    /// Whether sending the same request again may succeed: connection failures, timeouts,
    /// and the statuses 408, 409, 429 and 5XX (from the API or the file host).
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Transport(_) | Self::Timeout(_) => true,
            Self::Api(e) | Self::RateLimited(e) => retryable_status(e.status),
            Self::Fetch(e) => e.status.is_some_and(retryable_status),
            _ => false,
        }
    }
}

fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 409 | 429 | 500..=599)
}

/// One entry of the `errors` or `messages` list of Cloudflare's envelope.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ApiMessage {
    /// Cloudflare's numeric code, such as 10000 or 971; informational messages may have
    /// none.
    pub code: Option<i64>,
    /// The human-readable text.
    pub message: String,
    /// A link to documentation about the code, when given.
    pub documentation_url: Option<String>,
    /// A JSON pointer to the part of the request at fault, when given.
    pub source_pointer: Option<String>,
}

/// A failure answered by the API, with its evidence.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub(crate) status: u16,
    pub(crate) errors: Vec<ApiMessage>,
    pub(crate) messages: Vec<ApiMessage>,
    pub(crate) ray_id: Option<String>,
    pub(crate) content_type: Option<String>,
    pub(crate) body_excerpt: Option<String>,
    pub(crate) body_too_large: bool,
    pub(crate) retry_after: Option<Duration>,
}

impl ApiError {
    /// The HTTP status (200 when the body said `success: false`).
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The envelope's `errors`, empty when the body was not an envelope.
    pub fn errors(&self) -> &[ApiMessage] {
        &self.errors
    }

    /// The envelope's `messages`.
    pub fn messages(&self) -> &[ApiMessage] {
        &self.messages
    }

    /// The codes of all `errors`, in order.
    pub fn codes(&self) -> impl Iterator<Item = i64> + '_ {
        self.errors.iter().filter_map(|e| e.code)
    }

    /// The `cf-ray` header, which Cloudflare support asks for.
    pub fn ray_id(&self) -> Option<&str> {
        self.ray_id.as_deref()
    }

    /// The `Content-Type` of the answer.
    pub fn content_type(&self) -> Option<&str> {
        self.content_type.as_deref()
    }

    /// The start of a body that was not a usable envelope (such as an HTML error page from
    /// the edge), at most [`crate::MAX_EXCERPT_BYTES`] bytes and a closing `…` when cut, with
    /// secrets replaced. `Some("")` for an empty body.
    pub fn body_excerpt(&self) -> Option<&str> {
        self.body_excerpt.as_deref()
    }

    /// Whether the body was over [`crate::MAX_BODY_BYTES`] and so was not read in full.
    pub fn body_too_large(&self) -> bool {
        self.body_too_large
    }

    /// The wait the server asked for with `Retry-After`, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the API answered HTTP {}", self.status)?;
        if !self.errors.is_empty() {
            f.write_str(":")?;
            for (i, e) in self.errors.iter().enumerate() {
                let sep = if i == 0 { " " } else { "; " };
                f.write_str(sep)?;
                if let Some(code) = e.code {
                    write!(f, "{code} ")?;
                }
                write!(f, "{}", OneLine(&e.message))?;
            }
        } else if self.body_too_large {
            f.write_str(" with a body over the size limit")?;
        } else {
            match self.body_excerpt.as_deref() {
                Some("") => f.write_str(" with an empty body")?,
                Some(_) => write!(
                    f,
                    " with a body that is not an API envelope ({})",
                    self.content_type.as_deref().unwrap_or("no content type")
                )?,
                None => {}
            }
        }
        if let Some(wait) = self.retry_after {
            write!(f, ", retry after {}s", wait.as_secs())?;
        }
        if let Some(ray) = &self.ray_id {
            write!(f, " (cf-ray {ray})")?;
        }
        Ok(())
    }
}

impl std::error::Error for ApiError {}

/// The client could not be configured: a missing or malformed credential, account id or
/// base URL. Never holds a credential's value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(pub(crate) String);

impl ConfigError {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// What part of the exchange failed in transit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportKind {
    /// No connection could be made.
    Connect,
    /// The request could not be sent, or the connection failed before an answer.
    Request,
    /// The answer's body failed while being read: reset, or cut short.
    Body,
}

/// A failure in transit, with the underlying cause as its source.
#[derive(Debug, thiserror::Error)]
#[error("{}", match .kind {
    TransportKind::Connect => "could not connect",
    TransportKind::Request => "the request failed before an answer arrived",
    TransportKind::Body => "the answer's body could not be read in full",
})]
pub struct TransportError {
    pub(crate) kind: TransportKind,
    #[source]
    pub(crate) source: Box<dyn std::error::Error + Send + Sync>,
}

impl TransportError {
    /// Which part failed.
    pub fn kind(&self) -> TransportKind {
        self.kind
    }
}

/// A request that ran out of time: its attempt's limit, or the deadline of the wait it was
/// part of.
#[derive(Debug, thiserror::Error)]
#[error(
    "{} {limit:?}",
    if *deadline { "the deadline came after" } else { "no complete answer within" }
)]
pub struct TimeoutError {
    pub(crate) limit: Duration,
    pub(crate) deadline: bool,
    /// The failure of the last attempt, when the deadline stopped the retries.
    #[source]
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl TimeoutError {
    /// The limit that was reached.
    pub fn limit(&self) -> Duration {
        self.limit
    }

    /// Whether a deadline (such as the timeout of
    /// [`Client::wait_for_download`](crate::Client::wait_for_download)) was reached, rather
    /// than the limit of one attempt.
    pub fn is_deadline(&self) -> bool {
        self.deadline
    }
}

/// A 2XX answer that breaks the contract, naming the field and the value.
#[derive(Debug, thiserror::Error)]
#[error("HTTP {status} answer breaks the API contract: {field} is {}, expected {expected}", OneLine(.value))]
pub struct ContractError {
    pub(crate) status: u16,
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
    pub(crate) body_excerpt: String,
    #[source]
    pub(crate) source: Option<Box<DecodeError>>,
}

impl ContractError {
    pub(crate) fn from_violation(
        status: u16,
        v: Violation,
        body: &[u8],
        credentials: &Credentials,
    ) -> Self {
        Self {
            status,
            field: v.field,
            value: crate::answer::excerpt(v.value.as_bytes(), 200, credentials),
            expected: v.expected,
            body_excerpt: crate::answer::excerpt(body, crate::MAX_EXCERPT_BYTES, credentials),
            source: None,
        }
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The offending field, as a path such as `result.default.percentComplete`, or `body`.
    pub fn field(&self) -> &str {
        &self.field
    }

    /// The offending value as received (shortened if long).
    pub fn value(&self) -> &str {
        &self.value
    }

    /// The start of the body, at most [`crate::MAX_EXCERPT_BYTES`] bytes and a closing `…`
    /// when cut, with secrets replaced.
    pub fn body_excerpt(&self) -> &str {
        &self.body_excerpt
    }
}

/// Fetching a download's file failed.
#[derive(Debug, thiserror::Error)]
#[error("fetching {what} failed: {reason}")]
pub struct FetchError {
    pub(crate) what: String,
    pub(crate) reason: String,
    pub(crate) status: Option<u16>,
    #[source]
    pub(crate) source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl FetchError {
    /// What went wrong, in words.
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The HTTP status of the file host's answer, if the failure was one.
    pub fn status(&self) -> Option<u16> {
        self.status
    }
}

/// Why a body could not be decoded: the JSON parser's message, with secrets replaced (the
/// parser quotes the values it rejects, and a server may echo a credential).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DecodeError(String);

impl DecodeError {
    pub(crate) fn new(error: &serde_json::Error, credentials: &Credentials) -> Self {
        let mut text = error.to_string();
        credentials.scrub(&mut text);
        Self(text)
    }
}

/// An error code as sent: an integer, or (leniently) a whole float or a numeric string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub(crate) struct ErrorCode(pub(crate) i64);

impl<'de> serde::Deserialize<'de> for ErrorCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Sent<'a> {
            Int(i64),
            Float(f64),
            Text(std::borrow::Cow<'a, str>),
        }
        let code = match Sent::deserialize(deserializer)? {
            Sent::Int(n) => Some(n),
            Sent::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            Sent::Float(_) => None,
            Sent::Text(text) => text.trim().parse().ok(),
        };
        code.map(Self)
            .ok_or_else(|| D::Error::custom("an error code that is not a whole number"))
    }
}
