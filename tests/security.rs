//! Where a credential must never show: the log at TRACE level, the `Display` and `Debug` of
//! every error (with its sources), of the client, its builder and the credentials, and any
//! text or excerpt kept from a server that echoes the request's headers back. And ids that
//! would change a request's route cannot be made, so no such request can be sent.

mod common;

use std::{
    io,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use cloudflare_stream::{
    AccountId, Client, Credentials, DownloadType, Error, MAX_EXCERPT_BYTES, RetryPolicy, VideoId,
    simulator::{Fault, Simulator},
};
use common::{ACCOUNT, EMAIL, GLOBAL_KEY, Op, SERVICE_KEY, TOKEN, account, client_for, video};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
    sync::RwLock,
};
use tracing_subscriber::fmt::MakeWriter;

/// The log test holds this exclusively, every other test that sends requests shares it:
/// tracing caches per call site whether anyone listens, and a test that registers a call
/// site while the log's subscriber is being set up on another thread can make that cache
/// say no one does.
static LOGGING: RwLock<()> = RwLock::const_new(());

/// Every secret of every scheme; none may show anywhere.
const SECRETS: [&str; 3] = [TOKEN, GLOBAL_KEY, SERVICE_KEY];

/// The three schemes, named for messages.
fn schemes() -> [(&'static str, Credentials); 3] {
    [
        ("token", Credentials::api_token(TOKEN).unwrap()),
        (
            "global key",
            Credentials::global_key(EMAIL, GLOBAL_KEY).unwrap(),
        ),
        (
            "service key",
            Credentials::user_service_key(SERVICE_KEY).unwrap(),
        ),
    ]
}

fn assert_no_secret(text: &str, what: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "{what} shows {secret}: {text}");
    }
}

/// Every text an error offers: `Display`, `Debug` both ways, each source in its chain, and
/// each accessor that keeps server text.
fn error_texts(error: &Error) -> Vec<String> {
    let mut texts = vec![
        error.to_string(),
        format!("{error:?}"),
        format!("{error:#?}"),
    ];
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        texts.push(s.to_string());
        texts.push(format!("{s:?}"));
        source = s.source();
    }
    match error {
        Error::Api(e) | Error::RateLimited(e) => {
            for m in e.errors().iter().chain(e.messages()) {
                texts.push(m.message.clone());
                texts.extend(m.documentation_url.clone());
                texts.extend(m.source_pointer.clone());
            }
            texts.extend(e.body_excerpt().map(str::to_owned));
            texts.extend(e.ray_id().map(str::to_owned));
            texts.extend(e.content_type().map(str::to_owned));
        }
        Error::Contract(e) => {
            texts.push(e.value().to_owned());
            texts.push(e.field().to_owned());
            texts.push(e.body_excerpt().to_owned());
        }
        Error::Redirect { location, .. } => texts.push(location.clone()),
        _ => {}
    }
    texts
}

fn assert_error_clean(error: &Error, what: &str) {
    for text in error_texts(error) {
        assert_no_secret(&text, what);
    }
    let shown = error.to_string();
    assert!(
        !shown.contains(['\n', '\r']),
        "{what}: not one line: {shown:?}"
    );
}

// The log.

/// A buffer the subscriber writes the log into.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for Log {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Log {
    type Writer = Log;

    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

// A server that echoes.

/// What the echoing server answers; the echo is the request's whole head, credentials
/// included, and the credential values on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Echo {
    /// A failure envelope with this status, the echo in messages, documentation URLs and
    /// source pointers.
    Envelope(u16),
    /// A 200 envelope whose download is 150 % complete, the echo in a message and in `url`.
    PercentOutOfRange,
    /// A 200 envelope whose download's `url` is not absolute and holds the echo.
    UrlNotAbsolute,
    /// A 200 answer that is plain text holding the echo.
    NotEnvelope,
    /// An edge error page holding the echo.
    Html(u16),
    /// A body over the size limit that starts with the echo.
    Oversize(u16),
    /// An empty 500.
    Empty,
    /// A redirect to this server.
    Redirect,
    /// `Content-Length: 500`, 60 bytes, then the connection closes.
    Truncated,
    /// A redirect whose `Location` holds the credential.
    CredentialInLocation,
    /// An edge error page whose `cf-ray` and `Content-Type` hold the credential.
    CredentialInHeaders,
    /// A 200 whose `success` is the credential, so decoding fails on it.
    CredentialAsSuccess,
    /// A 502 whose body puts the credential across the point where excerpts are cut.
    CredentialAtTheCut,
}

struct EchoServer {
    root: String,
    requests: Arc<AtomicUsize>,
}

impl EchoServer {
    async fn start(echo: Echo) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local address");
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let origin = format!("http://{addr}");
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::Relaxed);
                tokio::spawn(serve(stream, echo, origin.clone()));
            }
        });
        Self {
            root: format!("http://{addr}/client/v4"),
            requests,
        }
    }
}

async fn serve(mut stream: TcpStream, echo: Echo, origin: String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let credentials: Vec<String> = head
        .lines()
        .filter_map(|line| line.split_once(':'))
        .filter(|(name, _)| {
            matches!(
                name.to_ascii_lowercase().as_str(),
                "authorization" | "x-auth-key" | "x-auth-user-service-key"
            )
        })
        .map(|(_, value)| value.trim().to_owned())
        .collect();
    let credential = credentials.join(" ");
    let answer = answer(echo, &head, &credential, &origin);
    if stream.write_all(&answer).await.is_err() {
        return;
    }
    if echo == Echo::Truncated {
        // Gives the client a moment to read what was sent before the connection closes.
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = stream.shutdown().await;
}

fn json(value: &serde_json::Value) -> String {
    value.to_string()
}

fn answer(echo: Echo, head: &str, credential: &str, origin: &str) -> Vec<u8> {
    let messages = serde_json::json!([{
        "code": 10000,
        "message": format!("you sent: {head}"),
        "documentation_url": format!("https://docs.example.test/?sent={credential}"),
        "source": { "pointer": format!("/{credential}") },
    }]);
    let envelope = |success: bool, result: serde_json::Value| {
        json(&serde_json::json!({
            "success": success,
            "errors": if success { serde_json::json!([]) } else { messages.clone() },
            "messages": messages,
            "result": result,
        }))
    };
    let html = format!("<html><body><h1>Bad gateway</h1><pre>{head}</pre></body></html>");
    let (status, content_type, body, extra): (u16, String, String, String) = match echo {
        Echo::Envelope(status) => (
            status,
            "application/json".into(),
            envelope(false, serde_json::Value::Null),
            String::new(),
        ),
        Echo::PercentOutOfRange => (
            200,
            "application/json".into(),
            envelope(
                true,
                serde_json::json!({"default": {
                    "status": "ready",
                    "percentComplete": 150,
                    "url": format!("https://h.example.test/{credential}"),
                }}),
            ),
            String::new(),
        ),
        Echo::UrlNotAbsolute => (
            200,
            "application/json".into(),
            envelope(
                true,
                serde_json::json!({"default": {
                    "status": "ready",
                    "percentComplete": 50,
                    "url": format!("not a url: {credential}"),
                }}),
            ),
            String::new(),
        ),
        Echo::NotEnvelope => (
            200,
            "text/plain".into(),
            format!("you sent: {head}"),
            String::new(),
        ),
        Echo::Html(status) => (status, "text/html".into(), html, String::new()),
        Echo::Oversize(status) => {
            let mut body = format!("you sent: {head} ");
            body.push_str(&"x".repeat(cloudflare_stream::MAX_BODY_BYTES));
            (status, "application/json".into(), body, String::new())
        }
        Echo::Empty => (500, "application/json".into(), String::new(), String::new()),
        Echo::Redirect => (
            302,
            "text/plain".into(),
            String::new(),
            format!("Location: {origin}/collect\r\n"),
        ),
        Echo::CredentialInLocation => (
            302,
            "text/plain".into(),
            String::new(),
            format!(
                "Location: {origin}/collect?sent={}\r\n",
                credential.replace(' ', "+")
            ),
        ),
        Echo::CredentialInHeaders => (
            502,
            format!("text/html; sent={credential}"),
            html,
            format!("CF-Ray: {credential}\r\n"),
        ),
        Echo::CredentialAsSuccess => (
            200,
            "application/json".into(),
            json(&serde_json::json!({
                "success": credential,
                "errors": [],
                "messages": [],
                "result": {},
            })),
            String::new(),
        ),
        Echo::CredentialAtTheCut => {
            let secret = credential.rsplit(' ').next().unwrap_or_default();
            let body = format!(
                "{}{secret}{}",
                "x".repeat(MAX_EXCERPT_BYTES - 6),
                "y".repeat(50)
            );
            (502, "text/html".into(), body, String::new())
        }
        Echo::Truncated => {
            let body = envelope(true, serde_json::json!({}));
            let head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\
                        Content-Length: 500\r\n\r\n";
            return [head.as_bytes(), &body.as_bytes()[..60]].concat();
        }
    };
    let head = format!(
        "HTTP/1.1 {status} Status\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n\
         Server: cloudflare\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    [head.into_bytes(), body.into_bytes()].concat()
}

/// The echoing answers that must give an error holding no secret.
const ECHOES: [Echo; 16] = [
    Echo::Envelope(400),
    Echo::Envelope(401),
    Echo::Envelope(403),
    Echo::Envelope(404),
    Echo::Envelope(429),
    Echo::Envelope(500),
    Echo::Envelope(200),
    Echo::PercentOutOfRange,
    Echo::UrlNotAbsolute,
    Echo::NotEnvelope,
    Echo::Html(502),
    Echo::Oversize(200),
    Echo::Oversize(503),
    Echo::Empty,
    Echo::Redirect,
    Echo::Truncated,
];

/// A client for a local server that waits for nothing and gives up after a short while.
fn quick_client(root: &str, credentials: Credentials, retry: RetryPolicy) -> Client {
    client_for(root, credentials, retry).with_timeout(Duration::from_millis(300))
}

/// Calls every operation and hands back the errors; an answer that does not fit an
/// operation fails it (a deletion takes any success, so it may not).
async fn failures(client: &Client, what: &str) -> Vec<Error> {
    let mut errors = Vec::new();
    for op in Op::ALL {
        if let Err(e) = op.call(client, &video()).await {
            errors.push(e);
        }
    }
    assert!(errors.len() >= 4, "{what}: {} errors", errors.len());
    errors
}

/// Successes and failures of every kind, with each scheme: the simulator for the API's
/// own answers and faults, the echoing server for the rest.
async fn every_outcome(log: &Log) -> usize {
    let mut checked = 0;
    for (scheme, credentials) in schemes() {
        let sim = Simulator::builder()
            .manual_time()
            .user_service_key(SERVICE_KEY)
            .start()
            .await
            .expect("the simulator starts");
        let client = client_for(
            &sim.base_url(),
            credentials.clone(),
            RetryPolicy::default().without_jitter(),
        );
        // Successes, then a delete of what is gone (404).
        let video = video();
        client.list_downloads(&video).await.expect(scheme);
        client
            .create_download(&video, DownloadType::Audio)
            .await
            .expect(scheme);
        client.create_default_download(&video).await.expect(scheme);
        client
            .delete_download(&video, DownloadType::Audio)
            .await
            .expect(scheme);
        client.delete_default_download(&video).await.expect(scheme);
        let mut errors = vec![client.delete_default_download(&video).await.unwrap_err()];

        // Faults of the simulator, retried within the policy where they may be.
        let faults = [
            (
                Fault::Status {
                    status: 401,
                    code: 10000,
                    message: "Authentication error".into(),
                },
                1,
            ),
            (
                Fault::Status {
                    status: 403,
                    code: 9109,
                    message: "Cannot use the access token from location: 203.0.113.7".into(),
                },
                1,
            ),
            (
                Fault::RateLimited {
                    retry_after: Some("86400".into()),
                },
                1,
            ),
            (
                Fault::RateLimited {
                    retry_after: Some("1".into()),
                },
                3,
            ),
            (Fault::HtmlError { status: 502 }, 3),
            (
                Fault::Status {
                    status: 503,
                    code: 10001,
                    message: "Service unavailable".into(),
                },
                3,
            ),
            (Fault::Reset, 3),
            (Fault::Truncated, 3),
        ];
        for (fault, times) in faults {
            sim.inject_api(fault.clone(), times);
            errors.push(
                client
                    .list_downloads(&video)
                    .await
                    .expect_err(&format!("{fault:?}")),
            );
        }
        // Answers after a retry succeed, and leave their lines in the log as well.
        sim.inject_api(Fault::HtmlError { status: 502 }, 1);
        client.list_downloads(&video).await.expect(scheme);

        // A stall: the time limit ends it.
        sim.inject_api(Fault::Stall, 1);
        let stalled = client
            .with_timeout(Duration::from_millis(200))
            .with_retry(RetryPolicy::none())
            .list_downloads(&video)
            .await
            .unwrap_err();
        assert!(matches!(stalled, Error::Timeout(_)), "{stalled:?}");
        errors.push(stalled);

        // Credentials the API does not know: 403 for each scheme.
        let strangers = Simulator::builder()
            .api_token("OTHER_TOKEN")
            .global_key(EMAIL, "OTHER_GLOBAL_KEY")
            .user_service_key("v1.0-OTHER_SERVICE_KEY")
            .start()
            .await
            .expect("the simulator starts");
        let refused = client_for(
            &strangers.base_url(),
            credentials.clone(),
            RetryPolicy::none(),
        )
        .list_downloads(&video)
        .await
        .unwrap_err();
        assert_eq!(refused.status(), Some(403), "{scheme}: {refused:?}");
        errors.push(refused);

        // Contract errors, redirects, stalls and the rest, each with the head echoed.
        for echo in ECHOES {
            let server = EchoServer::start(echo).await;
            let client = quick_client(&server.root, credentials.clone(), RetryPolicy::none());
            errors.extend(failures(&client, &format!("{scheme} {echo:?}")).await);
        }

        for error in &errors {
            assert_error_clean(error, &format!("{scheme}: {error:?}"));
        }
        checked += errors.len();
        sim.shutdown().await;
        strangers.shutdown().await;
    }
    assert!(!log.text().is_empty());
    checked
}

#[tokio::test]
async fn the_trace_log_of_every_outcome_holds_no_secret() {
    let _alone = LOGGING.write().await;
    let log = Log::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(log.clone())
        .finish();
    // The runtime has one thread, so this subscriber sees every event of the test.
    let _guard = tracing::subscriber::set_default(subscriber);

    let checked = every_outcome(&log).await;

    let text = log.text();
    assert!(checked > 100, "{checked} errors");
    assert!(
        text.contains("stream_api"),
        "the operations' span is logged"
    );
    assert!(text.contains("failed"), "failures are logged");
    assert!(text.contains("answered"), "successes are logged");
    assert_no_secret(&text, "the log");
}

#[tokio::test]
async fn echoed_credentials_never_reach_an_error() {
    let _shared = LOGGING.read().await;
    for (scheme, credentials) in schemes() {
        for echo in ECHOES {
            let server = EchoServer::start(echo).await;
            let client = quick_client(&server.root, credentials.clone(), RetryPolicy::none());
            for error in failures(&client, &format!("{scheme} {echo:?}")).await {
                assert_error_clean(&error, &format!("{scheme} {echo:?}"));
            }
            assert_eq!(server.requests.load(Ordering::Relaxed), Op::ALL.len());
        }
    }
}

/// Whatever the server sends back in its headers is server text like its body: here, the
/// `Location` of a redirect.
#[tokio::test]
async fn credentials_echoed_in_a_redirect_never_reach_an_error() {
    let _shared = LOGGING.read().await;
    for (scheme, credentials) in schemes() {
        let server = EchoServer::start(Echo::CredentialInLocation).await;
        let client = quick_client(&server.root, credentials.clone(), RetryPolicy::none());
        for error in failures(&client, scheme).await {
            assert!(matches!(error, Error::Redirect { .. }), "{error:?}");
            assert_error_clean(&error, &format!("{scheme}: {error:?}"));
        }
    }
}

/// As above, for the `cf-ray` and `Content-Type` headers an API error keeps.
#[tokio::test]
async fn credentials_echoed_in_ray_and_content_type_never_reach_an_error() {
    let _shared = LOGGING.read().await;
    for (scheme, credentials) in schemes() {
        let server = EchoServer::start(Echo::CredentialInHeaders).await;
        let client = quick_client(&server.root, credentials.clone(), RetryPolicy::none());
        for error in failures(&client, scheme).await {
            assert_eq!(error.status(), Some(502), "{error:?}");
            assert_error_clean(&error, &format!("{scheme}: {error:?}"));
        }
    }
}

/// A body that does not decode is kept as a scrubbed excerpt; the decoder's own message,
/// which quotes the offending value, is a source of the error as well.
#[tokio::test]
async fn credentials_echoed_where_decoding_fails_never_reach_an_error() {
    let _shared = LOGGING.read().await;
    for (scheme, credentials) in schemes() {
        let server = EchoServer::start(Echo::CredentialAsSuccess).await;
        let client = quick_client(&server.root, credentials, RetryPolicy::none());
        for error in failures(&client, scheme).await {
            assert!(matches!(error, Error::Contract(_)), "{error:?}");
            assert_error_clean(&error, &format!("{scheme}: {error:?}"));
        }
    }
}

/// A secret across the cut is not shown in part either: no more than three of its
/// characters end the excerpt.
#[tokio::test]
async fn a_credential_across_the_excerpt_cut_is_not_shown_in_part() {
    let _shared = LOGGING.read().await;
    for (scheme, credentials) in schemes() {
        let secret = scheme_secret(scheme);
        let server = EchoServer::start(Echo::CredentialAtTheCut).await;
        let client = quick_client(&server.root, credentials, RetryPolicy::none());
        let error = client.list_downloads(&video()).await.unwrap_err();
        let excerpt = error
            .api_error()
            .and_then(|e| e.body_excerpt())
            .expect("an excerpt")
            .trim_end_matches('…');
        for n in 4..=secret.len() {
            assert!(
                !excerpt.ends_with(&secret[..n]),
                "{scheme}: the excerpt ends with {:?}",
                &secret[..n]
            );
        }
    }
}

fn scheme_secret(scheme: &str) -> &'static str {
    match scheme {
        "token" => TOKEN,
        "global key" => GLOBAL_KEY,
        _ => SERVICE_KEY,
    }
}

#[test]
fn debug_of_client_builder_and_credentials_hides_every_secret() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let _entered = rt.enter();
    for (scheme, credentials) in schemes() {
        for text in [format!("{credentials:?}"), format!("{credentials:#?}")] {
            assert_no_secret(&text, scheme);
            assert!(text.contains("redacted"), "{text}");
        }
        let builder = Client::builder()
            .credentials(credentials.clone())
            .account_id(account())
            .base_url("http://127.0.0.1:9/client/v4");
        assert_no_secret(&format!("{builder:?}"), scheme);
        assert_no_secret(&format!("{builder:#?}"), scheme);
        let client = builder.build().expect("builds");
        for client in [
            client.clone(),
            client.with_timeout(Duration::from_secs(1)),
            client.with_retry(RetryPolicy::none()),
        ] {
            assert_no_secret(&format!("{client:?}"), scheme);
            assert_no_secret(&format!("{client:#?}"), scheme);
        }
    }
}

// Ids.

/// Ids that would change the route, or look like an id and are not one.
fn route_altering_ids() -> Vec<String> {
    let mut ids: Vec<String> = [
        "..",
        ".",
        "a/b",
        "a%2Fb",
        "a%2fb",
        "%2e%2e",
        "a\\b",
        "a?b",
        "a#b",
        "a;b",
        "a:b",
        "a@b",
        "a b",
        "a\tb",
        "a\nb",
        "a\rb",
        "a\0b",
        "",
        " ",
        "fedcba98/../../x",
        "0123?x=1",
        "fedcba9876543210fedcba9876543210/",
        "/fedcba9876543210fedcba9876543210",
        "fedcba9876543210fedcba9876543210 ",
        // Look-alikes: Cyrillic а, fullwidth ｆ, fullwidth solidus and full stop, division
        // slash, one-dot leader, Arabic-Indic digit one, a zero-width space, a combining
        // accent.
        "fedcba9876543210fedcba987654321\u{430}",
        "\u{ff46}edcba9876543210fedcba9876543210",
        "a\u{ff0f}b",
        "\u{ff0e}\u{ff0e}",
        "a\u{2215}b",
        "\u{2024}\u{2024}",
        "fedcba98765432\u{661}0",
        "\u{200b}fedcba9876543210fedcba987654321",
        "fedcba9876543210fedcba987654321e\u{301}",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    ids.push("a".repeat(33));
    ids.push(format!("{}0", ACCOUNT));
    ids
}

#[tokio::test]
async fn ids_that_would_change_the_route_cannot_be_made_so_nothing_is_sent() {
    let _shared = LOGGING.read().await;
    let server = EchoServer::start(Echo::Envelope(599)).await;
    let client = client_for(&server.root, schemes()[0].1.clone(), RetryPolicy::none());

    for id in route_altering_ids() {
        let video = VideoId::new(&id);
        let account = AccountId::new(&id);
        for (result, argument) in [
            (video.as_ref().map(drop).map_err(Clone::clone), "video id"),
            (
                account.as_ref().map(drop).map_err(Clone::clone),
                "account id",
            ),
        ] {
            let err = result.expect_err(&format!("{id:?} is no {argument}"));
            assert_eq!(err.argument(), argument);
            let shown = err.to_string();
            assert!(
                shown.starts_with(&format!("invalid {argument}: ")),
                "{shown}"
            );
            assert!(!shown.contains(['\n', '\r', '\0']), "{shown:?}");
        }
        // Every other way of making one refuses it too.
        assert!(id.parse::<VideoId>().is_err(), "{id:?}");
        assert!(VideoId::try_from(id.clone()).is_err(), "{id:?}");
        assert!(AccountId::try_from(id.as_str()).is_err(), "{id:?}");
        assert!(
            serde_json::from_value::<VideoId>(id.clone().into()).is_err(),
            "{id:?}"
        );
        assert!(
            serde_json::from_value::<AccountId>(id.clone().into()).is_err(),
            "{id:?}"
        );
        // An operation needs a `VideoId`, so there is nothing to call; were there one, it
        // would reach the server, which counts every connection.
        if let Ok(video) = video {
            for op in Op::ALL {
                let _ = op.call(&client, &video).await;
            }
        }
    }
    assert_eq!(server.requests.load(Ordering::Relaxed), 0);

    // The server does count: a valid id reaches it.
    let _ = Op::List.call(&client, &video()).await;
    assert_eq!(server.requests.load(Ordering::Relaxed), 1);
}
