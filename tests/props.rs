//! A property at the HTTP level: a bare TCP server on 127.0.0.1 answers every request with
//! a generated status line, headers and body (framed right, cut short, over-long, chunked or
//! not framed at all), and the client never panics: each operation returns `Ok` with values
//! that hold the facade's invariants, or a typed error of a kind an answer can give, on one
//! line and without the credential.
//!
//! CI runs 64 cases (about 2 s in a debug build). A long campaign (`PROPTEST_CASES`
//! replaces the 64; each case takes some 35 ms, so 100,000 take about an hour):
//!
//! ```text
//! PROPTEST_CASES=100000 cargo test --all-features props
//! ```

mod common;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use cloudflare_stream::{
    Client, Credentials, Download, DownloadType, Downloads, Error, MAX_BODY_BYTES, RetryPolicy,
};
use common::{EMAIL, GLOBAL_KEY, Op, SERVICE_KEY, TOKEN, client_for, video};
use proptest::{prelude::*, test_runner::TestCaseError};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    runtime::Runtime,
};

/// The time limit of each call; the server always closes the connection, so no case
/// should come near it.
const CALL_LIMIT: Duration = Duration::from_secs(3);

/// Stands for the credential's secret in generated text.
const SECRET: &str = "@@SECRET@@";

const FIXTURES: [&str; 8] = [
    include_str!("fixtures/k01_flat.json"),
    include_str!("fixtures/k01_keyed.json"),
    include_str!("fixtures/k02_queued.json"),
    include_str!("fixtures/k03_null_url_extra_key.json"),
    include_str!("fixtures/k06_success_false.json"),
    include_str!("fixtures/k11_rate_limited.json"),
    include_str!("fixtures/list_both.json"),
    include_str!("fixtures/messages_with_details.json"),
];

/// How many cases to run: `PROPTEST_CASES` when set, else 64.
fn config() -> ProptestConfig {
    let mut config = ProptestConfig::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = 64;
    }
    config
}

/// The three credential schemes and the secret each must keep.
fn scheme(n: usize) -> (Credentials, &'static str) {
    match n {
        0 => (Credentials::api_token(TOKEN).unwrap(), TOKEN),
        1 => (
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
            GLOBAL_KEY,
        ),
        _ => (
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
            SERVICE_KEY,
        ),
    }
}

/// A server on 127.0.0.1 that answers every request with the bytes last set, then closes
/// the connection.
struct Scripted {
    root: String,
    answer: Arc<Mutex<Arc<Vec<u8>>>>,
    requests: Arc<AtomicUsize>,
}

impl Scripted {
    async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let answer = Arc::new(Mutex::new(Arc::new(Vec::new())));
        let requests = Arc::new(AtomicUsize::new(0));
        let (shared, counter) = (answer.clone(), requests.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let answer = shared.lock().unwrap().clone();
                let counter = counter.clone();
                tokio::spawn(serve(stream, answer, counter));
            }
        });
        Self {
            root: format!("http://{addr}/client/v4"),
            answer,
            requests,
        }
    }

    fn set(&self, bytes: Vec<u8>) {
        *self.answer.lock().unwrap() = Arc::new(bytes);
    }
}

/// Reads one request (head and `Content-Length` body), writes `answer`, closes.
async fn serve(mut stream: TcpStream, answer: Arc<Vec<u8>>, requests: Arc<AtomicUsize>) {
    let read = async {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let n = stream.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        Some(())
    };
    if tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
        .is_none()
    {
        return;
    }
    requests.fetch_add(1, Ordering::Relaxed);
    // The client may stop reading (a body over the limit); that is no failure here.
    let _ = stream.write_all(&answer).await;
    let _ = stream.shutdown().await;
}

/// How the body is delimited on the wire.
#[derive(Debug, Clone)]
enum Framing {
    /// `Content-Length` equal to the body's length.
    Exact,
    /// No length: the body ends when the connection closes.
    Close,
    /// A `Content-Length` smaller than the body, by this much.
    Short(usize),
    /// A `Content-Length` larger than the body, by this much: the body is cut short.
    Long(usize),
    /// Chunked, well formed.
    Chunked,
    /// Chunked, with a chunk size that lies.
    BadChunked,
    /// Two different `Content-Length` headers.
    Conflicting,
    /// A body over [`MAX_BODY_BYTES`], framed right.
    Huge,
}

/// One generated answer, before the secret is filled in.
#[derive(Debug, Clone)]
struct Answer {
    status_line: String,
    /// The status, when the status line is well formed.
    status: Option<u16>,
    headers: Vec<(String, Vec<u8>)>,
    body: Vec<u8>,
    framing: Framing,
}

impl Answer {
    fn bytes(&self, secret: &str) -> Vec<u8> {
        let mut body = fill(&self.body, secret.as_bytes());
        if matches!(self.framing, Framing::Huge) {
            body.resize(MAX_BODY_BYTES + 1 + body.len(), b' ');
        }
        let mut out = self.status_line.clone().into_bytes();
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value);
            out.extend_from_slice(b"\r\n");
        }
        let length = |out: &mut Vec<u8>, n: usize| {
            out.extend_from_slice(format!("Content-Length: {n}\r\n").as_bytes());
        };
        let mut framed = Vec::new();
        match &self.framing {
            Framing::Exact | Framing::Huge => length(&mut out, body.len()),
            Framing::Close => {}
            Framing::Short(by) => length(&mut out, body.len().saturating_sub(*by)),
            Framing::Long(by) => length(&mut out, body.len() + by),
            Framing::Conflicting => {
                length(&mut out, body.len());
                length(&mut out, body.len() + 1);
            }
            Framing::Chunked | Framing::BadChunked => {
                out.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
                for part in body.chunks(97) {
                    let size = if matches!(self.framing, Framing::BadChunked) {
                        part.len() + 3
                    } else {
                        part.len()
                    };
                    framed.extend_from_slice(format!("{size:x}\r\n").as_bytes());
                    framed.extend_from_slice(part);
                    framed.extend_from_slice(b"\r\n");
                }
                framed.extend_from_slice(b"0\r\n\r\n");
            }
        }
        out.extend_from_slice(b"\r\n");
        if framed.is_empty() && !matches!(self.framing, Framing::Chunked | Framing::BadChunked) {
            out.extend_from_slice(&body);
        } else {
            out.extend_from_slice(&framed);
        }
        out
    }
}

/// Replaces every [`SECRET`] in `bytes` with `secret`.
fn fill(bytes: &[u8], secret: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut rest = bytes;
    while let Some(&first) = rest.first() {
        if rest.starts_with(SECRET.as_bytes()) {
            out.extend_from_slice(secret);
            rest = &rest[SECRET.len()..];
        } else {
            out.push(first);
            rest = &rest[1..];
        }
    }
    out
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => any::<String>(),
        1 => Just(SECRET.to_owned()),
        1 => "[ -~]{0,20}(\n|\r\n)[ -~]{0,20}",
    ]
}

fn json_text(value: &(impl serde::Serialize + ?Sized)) -> String {
    serde_json::to_string(value).expect("serialises")
}

/// A fixture with some of its values replaced by generated text (valid JSON or not).
fn mutated_fixture() -> impl Strategy<Value = Vec<u8>> {
    let percent = prop_oneof![
        any::<f64>().prop_map(|f| if f.is_finite() {
            json_text(&f)
        } else {
            "NaN".to_owned()
        }),
        prop::sample::select(
            &[
                "-3", "150", "100", "0", "1e400", "Infinity", "\"50\"", "null", "-0.0",
            ][..]
        )
        .prop_map(str::to_owned),
    ];
    let url = prop_oneof![
        text().prop_map(|t| json_text(&t)),
        text().prop_map(|t| json_text(&format!("https://{t}"))),
        Just(json_text(&format!("https://h.example.test/{SECRET}"))),
        Just("null".to_owned()),
    ];
    let status = prop_oneof![
        prop::sample::select(&["ready", "inprogress", "error", "queued", SECRET][..])
            .prop_map(json_text),
        text().prop_map(|t| json_text(&t)),
        Just("7".to_owned()),
    ];
    let code = prop_oneof![
        any::<i64>().prop_map(|c| c.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() {
            json_text(&f)
        } else {
            "1e999".to_owned()
        }),
        text().prop_map(|t| json_text(&t)),
    ];
    let message = text().prop_map(|t| json_text(&t));
    (
        prop::sample::select(&FIXTURES[..]),
        prop::option::of(percent),
        prop::option::of(url),
        prop::option::of(status),
        prop::option::of(code),
        prop::option::of(message),
    )
        .prop_map(|(fixture, percent, url, status, code, message)| {
            let mut value: serde_json::Value = serde_json::from_str(fixture).unwrap();
            let mut raws = Vec::new();
            for (key, raw) in [
                ("percentComplete", percent),
                ("url", url),
                ("status", status),
                ("code", code),
                ("message", message),
            ] {
                if let Some(raw) = raw {
                    let placeholder = format!("\u{1}{}\u{1}", raws.len());
                    set_all(&mut value, key, &placeholder);
                    raws.push((json_text(&placeholder), raw));
                }
            }
            let mut text = json_text(&value);
            for (placeholder, raw) in raws {
                text = text.replace(&placeholder, &raw);
            }
            text.into_bytes()
        })
}

fn set_all(value: &mut serde_json::Value, key: &str, to: &str) {
    match value {
        serde_json::Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if k == key {
                    *v = serde_json::Value::String(to.to_owned());
                } else {
                    set_all(v, key, to);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(|v| set_all(v, key, to)),
        _ => {}
    }
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        2 => prop::collection::vec(any::<u8>(), 0..1500),
        1 => "[ -~]{0,1500}".prop_map(String::into_bytes),
        1 => Just(Vec::new()),
        1 => Just(include_bytes!("fixtures/edge_5xx.html").to_vec()),
        6 => mutated_fixture(),
    ]
}

fn status_line() -> impl Strategy<Value = (String, Option<u16>)> {
    let code = prop_oneof![
        4 => 200u16..300,
        2 => prop::sample::select(&[200u16, 204, 302, 304, 401, 403, 429, 500, 502, 522][..]),
        2 => 100u16..600,
    ];
    prop_oneof![
        8 => (code.clone(), "[ -~]{0,20}").prop_map(|(c, r)| (format!("HTTP/1.1 {c} {r}\r\n"), Some(c))),
        1 => code.prop_map(|c| (format!("HTTP/1.0 {c} X\r\n"), Some(c))),
        1 => "[ -~]{0,30}".prop_map(|l| (format!("{l}\r\n"), None)),
    ]
}

fn headers() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let name = prop_oneof![
        3 => prop::sample::select(
            &["Content-Type", "CF-Ray", "Retry-After", "Location", "Server", "Connection"][..]
        )
        .prop_map(str::to_owned),
        1 => "[A-Za-z][A-Za-z0-9-]{0,15}",
    ];
    let byte = prop_oneof![8 => 0x20u8..=0x7e, 1 => Just(b'\t'), 1 => 0x80u8..=0xff];
    let value = prop_oneof![
        2 => prop::collection::vec(byte, 0..120),
        1 => prop::sample::select(&[
            "application/json", "text/html; charset=UTF-8", "7", "86400", "-1",
            "99999999999999999999", "Wed, 21 Oct 2015 07:28:00 GMT", "keep-alive", "close",
            "http://127.0.0.1:9/collect", "8c0a1b2c3d4e5f60-AMS",
        ][..])
        .prop_map(|s| s.as_bytes().to_vec()),
    ];
    prop::collection::vec((name, value), 0..6)
}

fn framing() -> impl Strategy<Value = Framing> {
    prop_oneof![
        8 => Just(Framing::Exact),
        1 => Just(Framing::Close),
        1 => (1usize..50).prop_map(Framing::Short),
        1 => (1usize..500).prop_map(Framing::Long),
        1 => Just(Framing::Chunked),
        1 => Just(Framing::BadChunked),
        1 => Just(Framing::Conflicting),
        1 => Just(Framing::Huge),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    (status_line(), headers(), body(), framing()).prop_map(
        |((status_line, status), headers, body, framing)| Answer {
            status_line,
            status,
            headers,
            body,
            framing,
        },
    )
}

fn check_download(download: &Download) -> Result<(), TestCaseError> {
    let percent = download.percent_complete();
    prop_assert!(
        percent.is_finite() && (0.0..=100.0).contains(&percent),
        "{percent}"
    );
    if let Some(url) = download.url() {
        prop_assert!(
            matches!(url.scheme(), "http" | "https") && url.has_host(),
            "{url}"
        );
    }
    Ok(())
}

fn check_downloads(downloads: &Downloads) -> Result<(), TestCaseError> {
    for download in DownloadType::ALL
        .into_iter()
        .filter_map(|t| downloads.get(t))
    {
        check_download(download)?;
    }
    Ok(())
}

/// Calls the operation and checks the values of a success.
async fn call(op: Op, client: &Client) -> Result<Result<(), Error>, TestCaseError> {
    let video = video();
    Ok(match op {
        Op::List => match client.list_downloads(&video).await {
            Ok(d) => check_downloads(&d).map(Ok)?,
            Err(e) => Err(e),
        },
        Op::Create(t) => match client.create_download(&video, t).await {
            Ok(d) => check_download(&d).map(Ok)?,
            Err(e) => Err(e),
        },
        Op::CreateDefault => match client.create_default_download(&video).await {
            Ok(d) => check_download(&d).map(Ok)?,
            Err(e) => Err(e),
        },
        Op::Delete(t) => client.delete_download(&video, t).await,
        Op::DeleteDefault => client.delete_default_download(&video).await,
    })
}

/// What an error may show, and which kinds an answer with this status may give.
fn check_error(error: &Error, answer: &Answer, secret: &str) -> Result<(), TestCaseError> {
    let display = error.to_string();
    prop_assert!(!display.contains(['\n', '\r']), "not one line: {display:?}");
    prop_assert!(!display.contains(secret), "the secret shows: {display}");
    // A 1XX head is skipped by the HTTP client, so what follows decides the outcome.
    let status = answer.status.filter(|s| *s >= 200);
    match error {
        Error::Api(e) | Error::RateLimited(e) => {
            if let Some(status) = status {
                prop_assert_eq!(e.status(), status);
            }
            prop_assert_eq!(matches!(error, Error::RateLimited(_)), e.status() == 429);
            for text in e
                .errors()
                .iter()
                .chain(e.messages())
                .flat_map(|m| [Some(&m.message), m.documentation_url.as_ref()])
                .flatten()
                .chain(e.body_excerpt().map(str::to_owned).as_ref())
            {
                prop_assert!(!text.contains(secret), "the secret shows in {text:?}");
            }
        }
        Error::Contract(e) => {
            prop_assert!((200..300).contains(&e.status()), "{}", e.status());
            if let Some(status) = status {
                prop_assert_eq!(e.status(), status);
            }
            prop_assert!(!e.body_excerpt().contains(secret));
            prop_assert!(!e.value().contains(secret));
        }
        Error::Redirect { status: s, .. } => {
            prop_assert!((300..400).contains(s), "{s}");
        }
        Error::Transport(_) => {}
        Error::Timeout(_) => prop_assert!(false, "the server always closes, yet: {error}"),
        other => prop_assert!(false, "an answer cannot give {other:?}"),
    }
    Ok(())
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

/// In a module of this name so that `cargo test props` picks the test.
mod props {
    use super::*;

    #[test]
    fn any_answer_on_the_wire_gives_ok_or_a_typed_error() {
        let rt = runtime();
        let server = rt.block_on(Scripted::start());
        let mut runner = proptest::test_runner::TestRunner::new(config());
        let strategy = (answer(), prop::sample::select(&Op::ALL[..]), 0usize..3);
        let result = runner.run(&strategy, |(answer, op, n)| {
            let (credentials, secret) = scheme(n);
            server.set(answer.bytes(secret));
            // A client per case, so that no pooled connection carries over.
            let client =
                client_for(&server.root, credentials, RetryPolicy::none()).with_timeout(CALL_LIMIT);
            let before = server.requests.load(Ordering::Relaxed);
            let outcome = rt.block_on(call(op, &client))?;
            prop_assert_eq!(server.requests.load(Ordering::Relaxed), before + 1);
            match outcome {
                Ok(()) => {
                    prop_assert!(
                        answer.status.is_some_and(|s| (200..300).contains(&s)),
                        "Ok from {:?}",
                        answer.status_line
                    );
                    Ok(())
                }
                Err(error) => check_error(&error, &answer, secret),
            }
        });
        if let Err(e) = result {
            panic!("{e}");
        }
    }
}
