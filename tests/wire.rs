//! The exact request each operation puts on the wire, under each credential scheme.
//!
//! A bare TCP server on 127.0.0.1 captures the request head byte for byte, so the test sees
//! every header the client sends, in the form it sends it, and can assert the whole set.

mod common;

use std::{collections::BTreeMap, time::Duration};

use cloudflare_stream::{Credentials, DownloadType, RetryPolicy};
use common::{BOTH_DOWNLOADS, EMAIL, GLOBAL_KEY, Op, SERVICE_KEY, TOKEN, client_for, video};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::mpsc,
};

/// One request as it arrived.
#[derive(Debug)]
struct Captured {
    method: String,
    target: String,
    version: String,
    /// Header names lowercased, values as sent, in order of arrival.
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Captured {
    /// The names of all headers, each once, sorted.
    fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.headers.iter().map(|(n, _)| n.as_str()).collect();
        names.sort_unstable();
        names
    }

    /// The value of a header that must appear exactly once.
    fn one(&self, name: &str) -> &str {
        let values: Vec<&str> = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect();
        assert_eq!(values.len(), 1, "{name} must be sent once: {self:#?}");
        values[0]
    }
}

/// A server on 127.0.0.1 that answers every request with `200` and `body`, closing the
/// connection after each, and hands over what it received.
struct RawServer {
    root: String,
    host: String,
    requests: mpsc::UnboundedReceiver<Captured>,
}

impl RawServer {
    async fn start(body: &'static str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    if let Some(captured) = serve(stream, body).await {
                        let _ = tx.send(captured);
                    }
                });
            }
        });
        Self {
            root: format!("http://{addr}/client/v4"),
            host: addr.to_string(),
            requests: rx,
        }
    }

    async fn next(&mut self) -> Captured {
        tokio::time::timeout(Duration::from_secs(5), self.requests.recv())
            .await
            .expect("a request arrives")
            .expect("the server is running")
    }
}

async fn serve(mut stream: TcpStream, body: &str) -> Option<Captured> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8(buf[..head_end].to_vec()).expect("the head is UTF-8");
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let (method, target, version) = (
        request_line.next()?.to_owned(),
        request_line.next()?.to_owned(),
        request_line.next()?.to_owned(),
    );
    let headers: Vec<(String, String)> = lines
        .map(|line| {
            let (name, value) = line.split_once(':').expect("a header line has a colon");
            (name.to_ascii_lowercase(), value.trim().to_owned())
        })
        .collect();

    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map_or(0, |(_, v)| v.parse().expect("a numeric content-length"));
    let mut body_in = buf[head_end + 4..].to_vec();
    while body_in.len() < length {
        let mut chunk = [0u8; 4096];
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body_in.extend_from_slice(&chunk[..n]);
    }

    let answer = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(answer.as_bytes()).await.ok()?;
    stream.shutdown().await.ok()?;
    Some(Captured {
        method,
        target,
        version,
        headers,
        body: body_in,
    })
}

/// The credential headers a scheme must send, lowercased, with their values.
fn scheme_headers(scheme: &str) -> (Credentials, BTreeMap<&'static str, String>) {
    match scheme {
        "token" => (
            Credentials::api_token(TOKEN).unwrap(),
            BTreeMap::from([("authorization", format!("Bearer {TOKEN}"))]),
        ),
        "global key" => (
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
            BTreeMap::from([
                ("x-auth-email", EMAIL.to_owned()),
                ("x-auth-key", GLOBAL_KEY.to_owned()),
            ]),
        ),
        "service key" => (
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
            BTreeMap::from([("x-auth-user-service-key", SERVICE_KEY.to_owned())]),
        ),
        other => unreachable!("no scheme {other}"),
    }
}

const SCHEMES: [&str; 3] = ["token", "global key", "service key"];

/// Sends `op` under `scheme` and checks every byte of the request that matters.
async fn assert_exact_request(op: Op, scheme: &str) {
    let mut server = RawServer::start(BOTH_DOWNLOADS).await;
    let (credentials, auth) = scheme_headers(scheme);
    let client = client_for(&server.root, credentials, RetryPolicy::none());

    op.call(&client, &video())
        .await
        .unwrap_or_else(|e| panic!("{op:?} with {scheme}: {e}"));
    let request = server.next().await;
    let context = format!("{op:?} with {scheme}: {request:#?}");

    assert_eq!(request.method, op.method().to_string(), "{context}");
    assert_eq!(request.target, op.path(), "{context}");
    assert_eq!(request.version, "HTTP/1.1", "{context}");

    let is_post = op.method().to_string() == "POST";
    let mut expected: Vec<&str> = vec!["accept", "host", "user-agent"];
    expected.extend(auth.keys());
    if is_post {
        expected.extend(["content-length", "content-type"]);
    }
    expected.sort_unstable();
    assert_eq!(request.names(), expected, "{context}");

    assert_eq!(request.one("host"), server.host, "{context}");
    assert_eq!(
        request.one("user-agent"),
        format!("cloudflare-stream/{}", env!("CARGO_PKG_VERSION")),
        "{context}"
    );
    assert_eq!(request.one("accept"), "application/json", "{context}");
    for (name, value) in &auth {
        assert_eq!(request.one(name), value, "{context}");
    }
    if is_post {
        assert_eq!(request.one("content-type"), "application/json", "{context}");
        assert_eq!(request.one("content-length"), "2", "{context}");
        assert_eq!(request.body, b"{}", "{context}");
    } else {
        assert!(request.body.is_empty(), "{context}");
    }
}

#[tokio::test]
async fn list_sends_a_bare_get_under_each_scheme() {
    for scheme in SCHEMES {
        assert_exact_request(Op::List, scheme).await;
    }
}

#[tokio::test]
async fn typed_create_posts_an_empty_object_under_each_scheme() {
    for scheme in SCHEMES {
        for t in DownloadType::ALL {
            assert_exact_request(Op::Create(t), scheme).await;
        }
    }
}

#[tokio::test]
async fn default_create_posts_an_empty_object_under_each_scheme() {
    for scheme in SCHEMES {
        assert_exact_request(Op::CreateDefault, scheme).await;
    }
}

#[tokio::test]
async fn typed_delete_sends_a_bare_delete_under_each_scheme() {
    for scheme in SCHEMES {
        for t in DownloadType::ALL {
            assert_exact_request(Op::Delete(t), scheme).await;
        }
    }
}

#[tokio::test]
async fn default_delete_sends_a_bare_delete_under_each_scheme() {
    for scheme in SCHEMES {
        assert_exact_request(Op::DeleteDefault, scheme).await;
    }
}

/// The audio create of K12, spelled out as the case gives it.
#[tokio::test]
async fn audio_create_matches_the_documented_request() {
    let mut server = RawServer::start(BOTH_DOWNLOADS).await;
    let client = client_for(&server.root, common::token(), RetryPolicy::none());

    let audio = client
        .create_download(&video(), DownloadType::Audio)
        .await
        .expect("the audio download is created");
    assert_eq!(audio.percent_complete(), 42.5);

    let request = server.next().await;
    assert_eq!(
        format!("{} {}", request.method, request.target),
        "POST /client/v4/accounts/0123456789abcdef0123456789abcdef/stream/\
         fedcba9876543210fedcba9876543210/downloads/audio"
    );
    assert_eq!(request.one("content-type"), "application/json");
    assert_eq!(request.one("authorization"), "Bearer TEST_TOKEN");
    assert_eq!(request.body, b"{}");
    for absent in [
        "api-version",
        "x-auth-email",
        "x-auth-key",
        "x-auth-user-service-key",
        "cookie",
        "transfer-encoding",
    ] {
        assert!(
            request.headers.iter().all(|(n, _)| n != absent),
            "{absent} must not be sent: {request:#?}"
        );
    }
}

/// A clone of a client, and one with another retry policy or time limit, send the same
/// request as the original.
#[tokio::test]
async fn derived_clients_send_the_same_headers() {
    let mut server = RawServer::start(BOTH_DOWNLOADS).await;
    let client = client_for(&server.root, common::token(), RetryPolicy::none());

    client.list_downloads(&video()).await.unwrap();
    let original = server.next().await;
    client
        .with_timeout(Duration::from_secs(3))
        .with_retry(RetryPolicy::none().with_max_retries(1))
        .list_downloads(&video())
        .await
        .unwrap();
    let derived = server.next().await;

    assert_eq!(original.names(), derived.names());
    assert_eq!(original.one("authorization"), "Bearer TEST_TOKEN");
    assert_eq!(derived.one("authorization"), "Bearer TEST_TOKEN");
    assert_eq!(original.target, derived.target);
}
