//! Property tests of answer interpretation: whatever status, headers and body arrive, the
//! decoder never panics, and it either accepts an envelope whose checked values hold the
//! facade's invariants or gives a typed error that is one line, holds no credential and
//! keeps bounded excerpts.
//!
//! CI runs proptest's default number of cases (256 each, under a second in a debug
//! build). A long campaign (20,000 cases take about 40 s):
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --all-features props
//! ```

use std::sync::LazyLock;

use proptest::{prelude::*, sample::Index, strategy::ValueTree};
use reqwest::{
    StatusCode,
    header::{HeaderName, HeaderValue},
};
use serde_json::Value;

use super::*;
use crate::{Downloads, MAX_EXCERPT_BYTES};

/// The credential schemes, each with the secrets that must never be shown.
const SCHEMES: [(&str, &[&str]); 3] = [
    ("token", &["TEST_TOKEN"]),
    ("global", &["TEST_GLOBAL_KEY"]),
    ("service", &["v1.0-TEST_SERVICE_KEY"]),
];

/// Stands for the active secret in generated text; replaced before decoding.
const SECRET: &str = "@@SECRET@@";

/// `…`, which an excerpt cut short ends with.
const ELLIPSIS: usize = '…'.len_utf8();

const FIXTURES: [&str; 11] = [
    include_str!("../../tests/fixtures/k01_flat.json"),
    include_str!("../../tests/fixtures/k01_keyed.json"),
    include_str!("../../tests/fixtures/k02_queued.json"),
    include_str!("../../tests/fixtures/k03_no_url.json"),
    include_str!("../../tests/fixtures/k03_null_url_extra_key.json"),
    include_str!("../../tests/fixtures/k06_success_false.json"),
    include_str!("../../tests/fixtures/k10_code_10000.json"),
    include_str!("../../tests/fixtures/k10_code_9109.json"),
    include_str!("../../tests/fixtures/k11_rate_limited.json"),
    include_str!("../../tests/fixtures/list_both.json"),
    include_str!("../../tests/fixtures/messages_with_details.json"),
];

/// Keys of Cloudflare's envelope and of a download, so that generated objects often
/// look like the real thing.
const KEYS: [&str; 16] = [
    "success",
    "errors",
    "messages",
    "result",
    "code",
    "message",
    "documentation_url",
    "source",
    "pointer",
    "default",
    "audio",
    "status",
    "percentComplete",
    "url",
    "error_chain",
    "errorReasonCode",
];

fn credentials(scheme: usize) -> Credentials {
    match scheme {
        0 => Credentials::api_token("TEST_TOKEN"),
        1 => Credentials::global_key("dev@example.test", "TEST_GLOBAL_KEY"),
        _ => Credentials::user_service_key("v1.0-TEST_SERVICE_KEY"),
    }
    .expect("the test credentials are valid")
}

/// One answer as the transport would keep it, before the secret is filled in.
#[derive(Debug, Clone)]
struct Case {
    status: u16,
    headers: Vec<(&'static str, Vec<u8>)>,
    body: Vec<u8>,
    oversize: bool,
    scheme: usize,
}

impl Case {
    fn secret(&self) -> &'static str {
        SCHEMES[self.scheme].1[0]
    }

    /// Whether the body and every header value are UTF-8.
    fn is_text(&self) -> bool {
        std::str::from_utf8(&self.body).is_ok()
            && self
                .headers
                .iter()
                .all(|(_, v)| std::str::from_utf8(v).is_ok())
    }

    fn raw(&self) -> Raw {
        let secret = self.secret().as_bytes();
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let value = fill(value, secret);
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append(HeaderName::from_static(name), value);
            }
        }
        let mut body = fill(&self.body, secret);
        if self.oversize {
            // What the transport keeps of a body over the limit.
            body.truncate(MAX_EXCERPT_BYTES + 4);
        }
        Raw {
            status: StatusCode::from_u16(self.status).expect("100..=599 is a status"),
            headers,
            body: body.into(),
            oversize: self.oversize,
        }
    }
}

/// Replaces every [`SECRET`] in `bytes` with `secret`.
fn fill(bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while !rest.is_empty() {
        if rest.starts_with(SECRET.as_bytes()) {
            out.extend_from_slice(secret);
            rest = &rest[SECRET.len()..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

// Strategies.

/// Text that is sometimes the secret, or holds it, or holds a line break.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => any::<String>(),
        1 => Just(SECRET.to_owned()),
        1 => (any::<String>(), any::<String>()).prop_map(|(a, b)| format!("{a}{SECRET}{b}")),
        1 => "[ -~]{0,20}(\n|\r\n|\r|\u{85}|\u{2028})[ -~]{0,20}",
        1 => "[ -~]{0,40}",
    ]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(&KEYS[..]).prop_map(str::to_owned),
        1 => any::<String>(),
    ]
}

fn number(f: f64) -> Value {
    serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)
}

/// Any JSON value, nested a few levels deep.
fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(number),
        text().prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An f64 as JSON text; NaN and the infinities as the tokens some servers send, which
/// are not JSON.
fn f64_text(f: f64) -> String {
    if f.is_finite() {
        serde_json::to_string(&f).expect("a finite f64 serialises")
    } else if f.is_nan() {
        "NaN".into()
    } else if f > 0.0 {
        "Infinity".into()
    } else {
        "-Infinity".into()
    }
}

fn json_text(value: &(impl serde::Serialize + ?Sized)) -> String {
    serde_json::to_string(value).expect("serialises")
}

fn any_json_text() -> impl Strategy<Value = String> {
    json().prop_map(|v| json_text(&v))
}

fn percent() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<f64>().prop_map(f64_text),
        2 => (0.0f64..=100.0).prop_map(f64_text),
        1 => (-1e6f64..1e6).prop_map(f64_text),
        3 => prop::sample::select(&[
            "0", "100", "100.0", "100.0000000001", "-0", "-0.0", "-3", "150", "1e400",
            "-1e400", "1e-400", "NaN", "Infinity", "-Infinity", "1.7976931348623157e308",
            "-1.7976931348623157e308", "5e-324", "99.99999999999999", "18446744073709551616",
            "-9223372036854775809", "\"50\"", "null", "true", "[]", "{}",
        ][..])
        .prop_map(str::to_owned),
        1 => any_json_text(),
    ]
}

fn url() -> impl Strategy<Value = String> {
    let scheme = prop::sample::select(
        &[
            "https://",
            "http://",
            "HTTPS://",
            "ftp://",
            "file://",
            "javascript:",
            "data:",
            "//",
            "/",
            "",
            "https:",
            "http:///",
            "https://user:pw@",
            "ws://",
        ][..],
    );
    prop_oneof![
        3 => (scheme, text()).prop_map(|(s, t)| json_text(&format!("{s}{t}"))),
        1 => text().prop_map(|t| json_text(&t)),
        1 => Just(json_text(&format!("https://{SECRET}.example.test/x.mp4"))),
        1 => any_json_text(),
    ]
}

fn status() -> impl Strategy<Value = String> {
    let known = prop::sample::select(
        &[
            "ready",
            "inprogress",
            "error",
            "queued",
            "pendingupload",
            "",
            "READY",
            SECRET,
        ][..],
    );
    prop_oneof![
        2 => known.prop_map(json_text),
        2 => text().prop_map(|t| json_text(&t)),
        1 => any_json_text(),
    ]
}

fn code() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<i64>().prop_map(|c| c.to_string()),
        1 => any::<f64>().prop_map(f64_text),
        1 => any::<u64>().prop_map(|c| c.to_string()),
        1 => text().prop_map(|t| json_text(&t)),
        1 => prop::sample::select(&["971", "10000", "9109", "-1", "1e3", "1.5", "null"][..])
            .prop_map(str::to_owned),
        1 => any_json_text(),
    ]
}

/// One change to a valid envelope.
#[derive(Debug, Clone)]
enum Mutation {
    /// Drops the node at the index (among all nodes, in document order).
    Remove(Index),
    /// Replaces the node with any value.
    Replace(Index, Value),
    /// Wraps the node in an array or an object.
    Nest(Index, bool),
    /// Sets every field named `key` to the JSON text (which need not be valid JSON),
    /// or adds it to the object at the index when there is none.
    Set(&'static str, String, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        1 => any::<Index>().prop_map(Mutation::Remove),
        1 => (any::<Index>(), json()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        1 => (any::<Index>(), any::<bool>()).prop_map(|(i, b)| Mutation::Nest(i, b)),
        3 => (percent(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("percentComplete", t, i)),
        2 => (url(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("url", t, i)),
        2 => (status(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("status", t, i)),
        2 => (code(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("code", t, i)),
        1 => (text().prop_map(|t| json_text(&t)), any::<Index>())
            .prop_map(|(t, i)| Mutation::Set("message", t, i)),
        1 => (text().prop_map(|t| json_text(&t)), any::<Index>())
            .prop_map(|(t, i)| Mutation::Set("documentation_url", t, i)),
        1 => (any_json_text(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("success", t, i)),
        1 => (any_json_text(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("result", t, i)),
    ]
}

/// The JSON pointers of every node of `value`, in document order.
fn pointers(value: &Value, at: String, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                pointers(v, format!("{at}/{escaped}"), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                pointers(v, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
    out.push(at);
}

fn pick(value: &Value, index: &Index) -> String {
    let mut all = Vec::new();
    pointers(value, String::new(), &mut all);
    all.swap_remove(index.index(all.len()))
}

fn set_all(value: &mut Value, key: &str, placeholder: &Value) -> bool {
    let mut found = false;
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == key {
                    *v = placeholder.clone();
                    found = true;
                } else {
                    found |= set_all(v, key, placeholder);
                }
            }
        }
        Value::Array(items) => {
            for v in items {
                found |= set_all(v, key, placeholder);
            }
        }
        _ => {}
    }
    found
}

/// Applies the mutations to a fixture and renders it; raw texts go in after
/// serialising, so they may be anything, JSON or not.
fn mutate(fixture: &str, mutations: &[Mutation]) -> Vec<u8> {
    let mut value: Value = serde_json::from_str(fixture).expect("fixtures are JSON");
    let mut raws = Vec::new();
    for m in mutations {
        match m {
            Mutation::Remove(i) => {
                let at = pick(&value, i);
                if let Some((parent, last)) = at.rsplit_once('/') {
                    match value.pointer_mut(parent) {
                        Some(Value::Object(map)) => {
                            map.remove(&last.replace("~1", "/").replace("~0", "~"));
                        }
                        Some(Value::Array(items)) => {
                            if let Ok(n) = last.parse::<usize>()
                                && n < items.len()
                            {
                                items.remove(n);
                            }
                        }
                        _ => {}
                    }
                }
            }
            Mutation::Replace(i, v) => {
                let at = pick(&value, i);
                if let Some(node) = value.pointer_mut(&at) {
                    *node = v.clone();
                }
            }
            Mutation::Nest(i, in_array) => {
                let at = pick(&value, i);
                if let Some(node) = value.pointer_mut(&at) {
                    let inner = node.take();
                    *node = if *in_array {
                        Value::Array(vec![inner])
                    } else {
                        serde_json::json!({ "default": inner })
                    };
                }
            }
            Mutation::Set(key, text, i) => {
                let placeholder = Value::String(format!("\u{1}RAW{}\u{1}", raws.len()));
                raws.push(text.clone());
                if !set_all(&mut value, key, &placeholder) {
                    let at = pick(&value, i);
                    if let Some(Value::Object(map)) = value.pointer_mut(&at) {
                        map.insert((*key).to_owned(), placeholder);
                    }
                }
            }
        }
    }
    let mut text = json_text(&value);
    for (n, raw) in raws.iter().enumerate() {
        text = text.replace(&json_text(&format!("\u{1}RAW{n}\u{1}")), raw);
    }
    text.into_bytes()
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..1200),
        1 => (prop::collection::vec(any::<u8>(), 0..1200), any::<Index>()).prop_map(
            |(mut bytes, at)| {
                let at = at.index(bytes.len() + 1);
                bytes.splice(at..at, SECRET.bytes());
                bytes
            }
        ),
        3 => any_json_text().prop_map(String::into_bytes),
        8 => (
            prop::sample::select(&FIXTURES[..]),
            prop::collection::vec(mutation(), 0..5)
        )
            .prop_map(|(fixture, ms)| mutate(fixture, &ms)),
        1 => (
            prop::sample::select(&FIXTURES[..]),
            prop::collection::vec(mutation(), 0..3),
            "[ -~]{500,800}"
        )
            .prop_map(|(fixture, ms, filler)| {
                // A long body with the secret around where excerpts are cut.
                let mut body = mutate(fixture, &ms);
                body.extend_from_slice(filler.as_bytes());
                body.extend_from_slice(SECRET.as_bytes());
                body
            }),
    ]
}

fn header_value() -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
    prop_oneof![
        3 => prop::collection::vec(byte, 0..300),
        1 => prop::sample::select(&[
            "application/json", "text/html; charset=UTF-8", "0", "7", "86400",
            "18446744073709551615", "99999999999999999999", "-1",
            "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 2094 08:49:37 GMT",
            "http://127.0.0.2:9/collect",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

/// Headers without the secret: what a server that does not echo headers sends.
fn headers() -> impl Strategy<Value = Vec<(&'static str, Vec<u8>)>> {
    let name = prop::sample::select(
        &[
            "content-type",
            "cf-ray",
            "retry-after",
            "location",
            "server",
            "content-length",
            "x-ratelimit-remaining",
        ][..],
    );
    prop::collection::vec((name, header_value()), 0..6)
}

fn case() -> impl Strategy<Value = Case> {
    let status = prop_oneof![
        4 => 200u16..=299,
        1 => prop::sample::select(&[200u16, 201, 204, 301, 302, 400, 401, 403, 404, 429, 500, 502, 520, 522, 524][..]),
        2 => 100u16..=599,
    ];
    (
        status,
        headers(),
        body(),
        prop::bool::weighted(0.1),
        0..SCHEMES.len(),
    )
        .prop_map(|(status, headers, body, oversize, scheme)| Case {
            status,
            headers,
            body,
            oversize,
            scheme,
        })
}

// Checks.

/// What a failure may show: one line, no secret, bounded excerpts.
fn check_error(error: &Error, case: &Case) -> Result<(), TestCaseError> {
    let secret = case.secret();
    // Excerpts of bytes that are not UTF-8 may grow (see
    // `excerpts_of_any_bytes_are_bounded`); everything else is checked for all bytes.
    let bounded = case.is_text();
    let display = error.to_string();
    prop_assert!(!display.contains(['\n', '\r']), "not one line: {display:?}");
    let mut texts = vec![display];
    match error {
        Error::Api(e) | Error::RateLimited(e) => {
            prop_assert_eq!(e.status(), case.status);
            prop_assert_eq!(matches!(error, Error::RateLimited(_)), case.status == 429);
            if let Some(excerpt) = e.body_excerpt() {
                prop_assert!(
                    !bounded || excerpt.len() <= MAX_EXCERPT_BYTES + ELLIPSIS,
                    "excerpt of {} bytes",
                    excerpt.len()
                );
                texts.push(excerpt.to_owned());
            }
            for header in [e.ray_id(), e.content_type()].into_iter().flatten() {
                prop_assert!(!bounded || header.len() <= 200 + ELLIPSIS);
            }
            for m in e.errors().iter().chain(e.messages()) {
                texts.push(m.message.clone());
                texts.extend(m.documentation_url.clone());
                texts.extend(m.source_pointer.clone());
            }
        }
        Error::Contract(e) => {
            prop_assert!(
                (200..300).contains(&case.status),
                "contract error for {}",
                case.status
            );
            prop_assert_eq!(e.status(), case.status);
            prop_assert!(
                !bounded || e.body_excerpt().len() <= MAX_EXCERPT_BYTES + ELLIPSIS,
                "excerpt of {} bytes",
                e.body_excerpt().len()
            );
            prop_assert!(
                e.value().len() <= 200 + ELLIPSIS,
                "value of {} bytes",
                e.value().len()
            );
            texts.push(e.body_excerpt().to_owned());
            texts.push(e.value().to_owned());
            texts.push(e.field().to_owned());
        }
        Error::Redirect { status, location } => {
            prop_assert!((300..400).contains(status));
            prop_assert!(!bounded || location.len() <= 200 + ELLIPSIS);
        }
        other => prop_assert!(false, "an answer cannot give {other:?}"),
    }
    for text in texts {
        prop_assert!(!text.contains(secret), "the secret shows in {text:?}");
    }
    Ok(())
}

/// What a caller may rely on in accepted downloads.
fn check_downloads(downloads: &Downloads) -> Result<(), TestCaseError> {
    for download in [downloads.default_download(), downloads.audio()]
        .into_iter()
        .flatten()
    {
        let percent = download.percent_complete();
        prop_assert!(
            percent.is_finite() && (0.0..=100.0).contains(&percent),
            "{percent}"
        );
        if let Some(url) = download.url() {
            prop_assert!(matches!(url.scheme(), "http" | "https"), "{url}");
            prop_assert!(url.has_host(), "{url}");
            prop_assert!(!url.cannot_be_a_base(), "{url}");
        }
    }
    Ok(())
}

fn context(credentials: &Credentials) -> Context<'_> {
    Context {
        credentials,
        timeout: Duration::from_secs(1),
        connect_timeout: Duration::from_secs(1),
        body_limit: crate::MAX_BODY_BYTES,
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200),
    }
}

/// What the operations do with an accepted list or create answer (as in
/// `operations::downloads`, which is private to its module).
fn to_downloads(
    accepted: Result<Accepted<types::DownloadsEnvelope>, Error>,
    credentials: &Credentials,
) -> Result<Downloads, Error> {
    crate::operations::downloads(accepted?, credentials)
}

fn check_downloads_outcome(
    outcome: Result<Accepted<types::DownloadsEnvelope>, Error>,
    case: &Case,
    credentials: &Credentials,
) -> Result<(), TestCaseError> {
    if let Ok(accepted) = &outcome {
        prop_assert!((200..300).contains(&accepted.status));
        prop_assert!(accepted.envelope.success);
    }
    match to_downloads(outcome, credentials) {
        Ok(downloads) => check_downloads(&downloads),
        Err(error) => check_error(&error, case),
    }
}

fn check_deleted_outcome(
    outcome: Result<Accepted<types::DeletedEnvelope>, Error>,
    case: &Case,
) -> Result<(), TestCaseError> {
    match outcome {
        Ok(accepted) => {
            prop_assert!((200..300).contains(&accepted.status));
            prop_assert!(accepted.envelope.success);
            Ok(())
        }
        Err(error) => check_error(&error, case),
    }
}

static RUNTIME: LazyLock<tokio::runtime::Runtime> = LazyLock::new(|| {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime")
});

/// What the generated operation makes of an answer: every operation matches the
/// status the same way.
#[allow(clippy::result_large_err)] // the generated operations' own result type
fn generated<T: Envelope>(raw: &Raw) -> Generated<T> {
    let mut response = http::Response::new(raw.body.clone());
    *response.status_mut() = raw.status;
    *response.headers_mut() = raw.headers.clone();
    let response = reqwest::Response::from(response);
    RUNTIME.block_on(async {
        match response.status().as_u16() {
            200 => ResponseValue::from_response(response).await,
            400..=499 => Err(progenitor_client::Error::ErrorResponse(
                ResponseValue::from_response(response).await?,
            )),
            _ => Err(progenitor_client::Error::UnexpectedResponse(response)),
        }
    })
}

fn check_case(case: &Case) -> Result<(), TestCaseError> {
    let credentials = credentials(case.scheme);
    let cx = context(&credentials);
    let raw = case.raw();

    check_downloads_outcome(from_raw(raw.clone(), &cx), case, &credentials)?;
    check_deleted_outcome(from_raw(raw.clone(), &cx), case)?;
    check_downloads_outcome(
        interpret(generated(&raw), Some(raw.clone()), &cx),
        case,
        &credentials,
    )?;
    check_deleted_outcome(interpret(generated(&raw), Some(raw.clone()), &cx), case)
}

proptest! {
    #[test]
    fn any_answer_decodes_or_fails_cleanly(case in case()) {
        check_case(&case)?;
    }

    /// Answers in the shape of a success, so that the facade's checks are reached.
    #[test]
    fn mutated_success_envelopes_hold_the_invariants(
        fixture in prop::sample::select(&[
            FIXTURES[0], FIXTURES[1], FIXTURES[2], FIXTURES[3], FIXTURES[4], FIXTURES[9],
        ][..]),
        mutations in prop::collection::vec(
            prop_oneof![
                3 => (percent(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("percentComplete", t, i)),
                3 => (url(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("url", t, i)),
                2 => (status(), any::<Index>()).prop_map(|(t, i)| Mutation::Set("status", t, i)),
                1 => mutation(),
            ],
            1..4,
        ),
        status in prop_oneof![3 => Just(200u16), 1 => 201u16..=299],
        scheme in 0..SCHEMES.len(),
    ) {
        let case = Case {
            status,
            headers: vec![("content-type", b"application/json".to_vec())],
            body: mutate(fixture, &mutations),
            oversize: false,
            scheme,
        };
        check_case(&case)?;
    }

    /// Text written in the error: whatever the codes and messages, one line.
    #[test]
    fn failure_envelopes_fail_cleanly(
        fixture in prop::sample::select(&[
            FIXTURES[5], FIXTURES[6], FIXTURES[7], FIXTURES[8], FIXTURES[10],
        ][..]),
        mutations in prop::collection::vec(mutation(), 0..4),
        status in prop_oneof![200u16..=299, 400u16..=599],
        scheme in 0..SCHEMES.len(),
    ) {
        let case = Case {
            status,
            headers: vec![("content-type", b"application/json".to_vec())],
            body: mutate(fixture, &mutations),
            oversize: false,
            scheme,
        };
        check_case(&case)?;
    }
}

proptest! {
    #[test]
    fn excerpts_of_any_bytes_are_bounded(
        bytes in prop::collection::vec(any::<u8>(), 0..2000),
        max in 0usize..600,
        scheme in 0usize..3,
    ) {
        let text = excerpt(&bytes, max, &credentials(scheme));
        prop_assert!(text.len() <= max + ELLIPSIS, "{} bytes for {max}", text.len());
    }
}

#[test]
fn excerpt_of_a_binary_error_body_is_bounded() {
    let credentials = credentials(0);
    let raw = Raw {
        status: StatusCode::BAD_GATEWAY,
        headers: HeaderMap::new(),
        body: b"\x80a".repeat(400).into(),
        oversize: false,
    };
    let error = from_raw::<types::DownloadsEnvelope>(raw, &context(&credentials))
        .err()
        .expect("a 502 is an error");
    let excerpt = error
        .api_error()
        .and_then(ApiError::body_excerpt)
        .expect("an excerpt");
    assert!(
        excerpt.len() <= MAX_EXCERPT_BYTES + ELLIPSIS,
        "an excerpt of {} bytes",
        excerpt.len()
    );
}

#[test]
fn mutation_keeps_unmutated_fixtures_intact() {
    for fixture in FIXTURES {
        let a: Value = serde_json::from_str(fixture).unwrap();
        let b: Value = serde_json::from_slice(&mutate(fixture, &[])).unwrap();
        assert_eq!(a, b);
    }
    let index = any::<Index>()
        .new_tree(&mut proptest::test_runner::TestRunner::deterministic())
        .expect("an index")
        .current();
    let body = mutate(
        FIXTURES[1],
        &[Mutation::Set("percentComplete", "NaN".into(), index)],
    );
    let text = String::from_utf8(body).unwrap();
    assert!(text.contains("\"percentComplete\":NaN"), "{text}");
}
