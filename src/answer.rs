//! The one place that decides what an HTTP answer means: a usable envelope, or a typed
//! [`Error`] that keeps the evidence (status, codes, ray id, a bounded body excerpt).

use std::time::{Duration, SystemTime};

use bytes::Bytes;
use progenitor_client::ResponseValue;
use reqwest::header::{CONTENT_TYPE, HeaderMap, LOCATION, RETRY_AFTER};
use serde::de::DeserializeOwned;

use crate::{
    auth::Credentials,
    error::{
        ApiError, ApiMessage, ConfigError, ContractError, DecodeError, Error, TimeoutError,
        TransportError, TransportKind,
    },
    generated::types,
    transport::Raw,
};

/// What a generated operation returns.
pub(crate) type Generated<T> =
    Result<ResponseValue<T>, progenitor_client::Error<types::FailureEnvelope>>;

/// The parts of Cloudflare's envelope common to every answer.
pub(crate) trait Envelope: DeserializeOwned {
    fn success(&self) -> bool;
    fn errors(&self) -> &types::Messages;
    fn messages(&self) -> &types::Messages;
    /// What a `204 No Content` stands for, where the operation has nothing to return
    /// anyway (a deletion).
    fn empty_success() -> Option<Self> {
        None
    }
}

macro_rules! envelope {
    ($($name:ident $(, empty: $empty:expr)?);*) => {$(
        impl Envelope for types::$name {
            $(fn empty_success() -> Option<Self> {
                Some($empty)
            })?
            fn success(&self) -> bool {
                self.success
            }
            fn errors(&self) -> &types::Messages {
                static NONE: types::Messages = types::Messages(None);
                self.errors.as_ref().unwrap_or(&NONE)
            }
            fn messages(&self) -> &types::Messages {
                static NONE: types::Messages = types::Messages(None);
                self.messages.as_ref().unwrap_or(&NONE)
            }
        }
    )*};
}
envelope!(
    DownloadsEnvelope;
    DeletedEnvelope, empty: types::DeletedEnvelope {
        success: true,
        errors: None,
        messages: None,
        result: None,
    };
    FailureEnvelope
);

/// A successful answer: the envelope said `success: true`.
pub(crate) struct Accepted<T> {
    pub(crate) envelope: T,
    pub(crate) status: u16,
    /// Kept for the evidence of a contract error found later.
    pub(crate) body: Bytes,
}

/// What the interpretation needs besides the answer.
pub(crate) struct Context<'a> {
    pub(crate) credentials: &'a Credentials,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) body_limit: usize,
    pub(crate) now: SystemTime,
}

/// Interprets one attempt: the generated operation's result, and the raw answer the
/// transport kept (absent when no answer arrived).
pub(crate) fn interpret<T: Envelope>(
    outcome: Generated<T>,
    raw: Option<Raw>,
    cx: &Context<'_>,
) -> Result<Accepted<T>, Error> {
    match (outcome, raw) {
        // The start of an oversized body can itself be a valid envelope; it is still an
        // error, decided with the other unusable answers.
        (_, Some(raw)) if raw.oversize => from_raw(raw, cx),
        (Ok(value), raw) => {
            let status = value.status().as_u16();
            let (headers, body) = raw.map(|r| (r.headers, r.body)).unwrap_or_default();
            if !value.success() {
                return Err(api_error(status, &headers, &*value, None, cx));
            }
            Ok(Accepted {
                envelope: value.into_inner(),
                status,
                body,
            })
        }
        (Err(progenitor_client::Error::CommunicationError(e)), _) => {
            Err(transport(e, cx.timeout, cx.connect_timeout))
        }
        (Err(_), Some(raw)) => from_raw(raw, cx),
        // No answer and no transport failure: the request could not even be built, which
        // sending again would not change.
        (Err(other), None) => Err(Error::Config(ConfigError::new(format!(
            "cannot build the request: {other}"
        )))),
    }
}

/// Interprets an answer the generated code could not decode, or did not expect.
fn from_raw<T: Envelope>(raw: Raw, cx: &Context<'_>) -> Result<Accepted<T>, Error> {
    let status = raw.status.as_u16();
    if raw.status.is_redirection() {
        let location = location(&raw.headers, cx.credentials);
        return Err(Error::Redirect { status, location });
    }
    if raw.oversize {
        return Err(if raw.status.is_success() {
            Error::Contract(Box::new(ContractError {
                status,
                field: "body".into(),
                value: format!("longer than {} bytes", cx.body_limit),
                expected: "an envelope within the size limit",
                body_excerpt: scrubbed_excerpt(&raw.body, cx),
                source: None,
            }))
        } else {
            let mut e = bare_api_error(status, &raw.headers, cx);
            e.body_excerpt = Some(scrubbed_excerpt(&raw.body, cx));
            e.body_too_large = true;
            wrap(e)
        });
    }

    if raw.status.is_success() {
        // 204 says there is no content on purpose; a 200 without a body lost it (K09).
        if raw.status == reqwest::StatusCode::NO_CONTENT
            && let Some(envelope) = T::empty_success()
        {
            return Ok(Accepted {
                envelope,
                status,
                body: raw.body,
            });
        }
        return match serde_json::from_slice::<T>(&raw.body) {
            Ok(envelope) if envelope.success() => Ok(Accepted {
                envelope,
                status,
                body: raw.body,
            }),
            Ok(envelope) => Err(api_error(status, &raw.headers, &envelope, None, cx)),
            Err(source) => match serde_json::from_slice::<types::FailureEnvelope>(&raw.body) {
                // `success: false` with a null `result` does not fit the success type.
                Ok(failure) if !failure.success => {
                    Err(api_error(status, &raw.headers, &failure, None, cx))
                }
                _ => Err(Error::Contract(Box::new(ContractError {
                    status,
                    field: "body".into(),
                    value: if raw.body.is_empty() {
                        "empty".into()
                    } else {
                        "not the expected envelope".into()
                    },
                    expected: "Cloudflare's JSON envelope",
                    body_excerpt: scrubbed_excerpt(&raw.body, cx),
                    source: Some(Box::new(DecodeError::new(&source, cx.credentials))),
                }))),
            },
        };
    }

    match serde_json::from_slice::<types::FailureEnvelope>(&raw.body) {
        Ok(failure) => Err(api_error(status, &raw.headers, &failure, None, cx)),
        Err(_) => {
            let excerpt = scrubbed_excerpt(&raw.body, cx);
            let mut e = bare_api_error(status, &raw.headers, cx);
            e.body_excerpt = Some(excerpt);
            Err(wrap(e))
        }
    }
}

fn api_error(
    status: u16,
    headers: &HeaderMap,
    envelope: &impl Envelope,
    body_excerpt: Option<String>,
    cx: &Context<'_>,
) -> Error {
    let mut e = bare_api_error(status, headers, cx);
    e.errors = messages(envelope.errors(), cx);
    e.messages = messages(envelope.messages(), cx);
    e.body_excerpt = body_excerpt;
    wrap(e)
}

fn bare_api_error(status: u16, headers: &HeaderMap, cx: &Context<'_>) -> ApiError {
    ApiError {
        status,
        errors: Vec::new(),
        messages: Vec::new(),
        ray_id: header_text(headers, "cf-ray", cx),
        content_type: header_text(headers, CONTENT_TYPE.as_str(), cx),
        body_excerpt: None,
        body_too_large: false,
        retry_after: headers
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, cx.now)),
    }
}

fn wrap(e: ApiError) -> Error {
    if e.status == 429 {
        Error::RateLimited(Box::new(e))
    } else {
        Error::Api(Box::new(e))
    }
}

fn messages(list: &types::Messages, cx: &Context<'_>) -> Vec<ApiMessage> {
    let scrubbed = |text: &String| {
        let mut text = text.clone();
        cx.credentials.scrub(&mut text);
        text
    };
    list.0
        .iter()
        .flatten()
        .map(|m| ApiMessage {
            code: m.code.map(|c| c.0),
            message: scrubbed(&m.message),
            documentation_url: m.documentation_url.as_ref().map(scrubbed),
            source_pointer: m
                .source
                .as_ref()
                .and_then(|s| s.0.as_ref())
                .and_then(|s| s.pointer.as_ref())
                .map(scrubbed),
        })
        .collect()
}

fn header_text(headers: &HeaderMap, name: &str, cx: &Context<'_>) -> Option<String> {
    headers
        .get(name)
        .map(|v| excerpt(v.as_bytes(), 200, cx.credentials))
}

/// Reads `Retry-After` as seconds or as an HTTP date relative to `now`.
pub(crate) fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Maps a reqwest failure to a transport or timeout error; `limit` and `connect_limit`
/// are the limits in force, so a timeout names the one it reached.
pub(crate) fn transport(e: reqwest::Error, limit: Duration, connect_limit: Duration) -> Error {
    if e.is_timeout() {
        return Error::Timeout(TimeoutError {
            deadline: false,
            limit: if e.is_connect() { connect_limit } else { limit },
            source: Some(Box::new(e)),
        });
    }
    let kind = if e.is_connect() {
        TransportKind::Connect
    } else if e.is_body() || e.is_decode() {
        TransportKind::Body
    } else {
        TransportKind::Request
    };
    Error::Transport(TransportError {
        kind,
        source: Box::new(e),
    })
}

fn scrubbed_excerpt(body: &[u8], cx: &Context<'_>) -> String {
    excerpt(body, crate::MAX_EXCERPT_BYTES, cx.credentials)
}

/// At most `max` bytes of `bytes` as text: every secret replaced, cut at a character
/// boundary, with `…` when anything was left out.
pub(crate) fn excerpt(bytes: &[u8], max: usize, credentials: &Credentials) -> String {
    // Secrets are replaced in all the text before the cut: a replacement changes the
    // text's length, so replacing only near the cut could pull a secret into view. This
    // runs on failures only, over at most the body limit.
    let mut text = String::from_utf8_lossy(bytes).into_owned();
    credentials.scrub(&mut text);
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.truncate(end);
    text.push('…');
    text
}

/// A redirect's target, for an error: without its query (which may carry anything) and
/// with secrets replaced.
fn location(headers: &HeaderMap, credentials: &Credentials) -> String {
    let Some(value) = headers.get(LOCATION) else {
        return String::new();
    };
    match url::Url::parse(&String::from_utf8_lossy(value.as_bytes())) {
        Ok(mut url) => {
            let had_query = url.query().is_some() || url.fragment().is_some();
            url.set_query(None);
            url.set_fragment(None);
            let mut shown = url.to_string();
            if had_query {
                shown.push_str("?…");
            }
            excerpt(shown.as_bytes(), 200, credentials)
        }
        Err(_) => excerpt(value.as_bytes(), 200, credentials),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_and_cut_cleanly() {
        let c = Credentials::api_token("SECRET").unwrap();
        assert_eq!(excerpt(b"short", 10, &c), "short");
        // A character split by the cut is dropped; one that is whole is kept.
        assert_eq!(excerpt("ééé".as_bytes(), 3, &c), "é…");
        assert_eq!(excerpt("é\u{fffd}é".as_bytes(), 5, &c), "é\u{fffd}…");
        assert_eq!(excerpt(&[b'x'; 5000], 512, &c).len(), 512 + '…'.len_utf8());
        // Invalid bytes become three-byte replacement characters, still within the bound.
        assert!(excerpt(&[0x80; 100], 30, &c).len() <= 30 + '…'.len_utf8());
        // A secret across the cut is replaced whole, not shown in part.
        assert_eq!(excerpt(b"abcSECRETxyz", 5, &c), "abc[r…");
        assert_eq!(excerpt(b"SECRET", 100, &c), "[redacted]");
    }

    #[test]
    fn replacing_long_secrets_never_pulls_part_of_one_into_view() {
        let secret = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcd";
        let c = Credentials::api_token(secret).unwrap();
        // Every replacement shortens the text by 30 bytes, moving later copies forward.
        for gap in [0, 1, 100, 470, 490, 500, 512, 530] {
            let mut body = secret.repeat(20);
            body.push_str(&"x".repeat(gap));
            body.push_str(secret);
            let shown = excerpt(body.as_bytes(), 512, &c);
            let shown = shown.trim_end_matches('…');
            for n in 4..=secret.len() {
                assert!(!shown.contains(&secret[..n]), "gap {gap}: {shown}");
            }
        }
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
        assert_eq!(retry_after("7", now), Some(Duration::from_secs(7)));
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(retry_after(&later, now), Some(Duration::from_secs(30)));
        assert_eq!(retry_after("soon", now), None);
    }
}

#[cfg(test)]
mod props;
