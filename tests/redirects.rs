//! K14: redirects must not carry credentials away. An API call follows no redirect, so the
//! host it points to hears nothing; fetching a file does follow redirects, and never sends an
//! API credential to any file host.
//!
//! The API (or file) server listens on 127.0.0.1 and the redirect points at a second server
//! on 127.0.0.2: loopback, but another host as far as the client can tell.

mod common;
mod raw;

use std::sync::Arc;

use cloudflare_stream::{
    Client, Credentials, Error, RetryPolicy,
    simulator::{Fault, Simulator},
};
use common::{BOTH_DOWNLOADS, EMAIL, GLOBAL_KEY, InstantClock, Op, client_and_clock, token};
use raw::{RawServer, Reply, Step};
use url::Url;

const REDIRECTS: [u16; 5] = [301, 302, 303, 307, 308];

/// The headers that carry API credentials.
const CREDENTIAL_HEADERS: [&str; 4] = [
    "authorization",
    "x-auth-email",
    "x-auth-key",
    "x-auth-user-service-key",
];

fn both_schemes() -> [(&'static str, Credentials); 2] {
    [
        ("bearer token", token()),
        (
            "global key",
            Credentials::global_key(EMAIL, GLOBAL_KEY).expect("the test key is valid"),
        ),
    ]
}

/// A server on the "other host", 127.0.0.2.
async fn other_host(replies: Vec<Reply>) -> RawServer {
    match RawServer::start_on(raw::OTHER_HOST, replies.clone()).await {
        Ok(server) => server,
        // Where 127.0.0.2 cannot be bound, a second port on 127.0.0.1 stands in: another
        // origin, though not another host.
        Err(_) => RawServer::start(replies).await,
    }
}

fn redirect(status: u16, location: &str) -> Reply {
    raw::with_headers(
        status,
        &[("Location", location), ("Content-Type", "text/plain")],
        "",
    )
}

fn credentials_in(head: &str) -> Vec<&'static str> {
    CREDENTIAL_HEADERS
        .into_iter()
        .filter(|name| raw::header(head, name).is_some())
        .collect()
}

/// Calls `op` on the test video.
async fn call(client: &Client, op: Op) -> cloudflare_stream::Result<()> {
    op.call(client, &common::video()).await
}

// ---- API calls ----

#[tokio::test]
async fn an_api_redirect_is_an_error_and_the_other_host_hears_nothing() {
    for (scheme, credentials) in both_schemes() {
        for status in REDIRECTS {
            let collector = other_host(vec![raw::json(200, BOTH_DOWNLOADS)]).await;
            let location = format!("{}/collect", collector.url());
            let api = RawServer::start(vec![redirect(status, &location)]).await;
            // The default policy: a redirect must not be retried either.
            let (client, clock) =
                client_and_clock(&api.api_root(), credentials.clone(), RetryPolicy::default());

            for (n, op) in Op::ALL.into_iter().enumerate() {
                let error = call(&client, op).await.unwrap_err();
                assert!(!error.is_retryable());
                match error {
                    Error::Redirect {
                        status: got,
                        location: to,
                        ..
                    } => {
                        assert_eq!(got, status, "{scheme} {op:?}");
                        assert_eq!(to, location, "{scheme} {op:?}");
                    }
                    other => panic!("{scheme} {status} {op:?}: expected a redirect, got {other:?}"),
                }
                assert_eq!(api.requests(), n + 1, "{scheme} {status} {op:?}");
            }

            assert_eq!(collector.connections(), 0, "{scheme} {status}");
            assert!(clock.sleeps().is_empty());
            // The credentials were there to be carried away: the API server saw them.
            for head in api.heads() {
                assert!(!credentials_in(&head).is_empty(), "{head}");
            }
        }
    }
}

#[tokio::test]
async fn a_redirect_without_location_is_an_error_with_an_empty_location() {
    let sim = Simulator::builder()
        .manual_time()
        .start()
        .await
        .expect("the simulator starts");
    let clock = Arc::new(InstantClock::default());
    let client = common::sim_client(&sim, clock.clone());
    sim.inject_api(
        Fault::Status {
            status: 302,
            code: 1000,
            message: "Found".into(),
        },
        3,
    );

    let error = call(&client, Op::List).await.unwrap_err();
    match error {
        Error::Redirect {
            status, location, ..
        } => {
            assert_eq!(status, 302);
            assert_eq!(location, "");
        }
        other => panic!("expected a redirect, got {other:?}"),
    }
    assert_eq!(sim.api_requests(), 1);
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

// ---- File fetches ----

/// A file's bytes: 100 KiB that are not all alike.
fn file_bytes() -> Vec<u8> {
    (0..100 * 1024u32).map(|i| (i % 251) as u8).collect()
}

fn file_answer(bytes: &[u8]) -> Reply {
    vec![Step::Send(raw::response(
        200,
        &[("Content-Type", "video/mp4")],
        bytes,
    ))]
}

#[tokio::test]
async fn a_file_fetch_follows_a_redirect_and_sends_no_credentials() {
    let bytes = file_bytes();
    for (scheme, credentials) in both_schemes() {
        for status in [301, 302, 307, 308] {
            let target = other_host(vec![file_answer(&bytes)]).await;
            let origin =
                RawServer::start(vec![redirect(status, &format!("{}/collect", target.url()))])
                    .await;
            let (client, clock) = client_and_clock(
                &origin.api_root(),
                credentials.clone(),
                RetryPolicy::default(),
            );
            let url = Url::parse(&format!(
                "{}/{}/downloads/default.mp4",
                origin.url(),
                common::VIDEO
            ))
            .expect("a valid URL");
            let dir = tempfile::tempdir().expect("a temporary directory");
            let path = dir.path().join("default.mp4");

            let fetched = client
                .fetch_to_file(&url, &path, |_| {})
                .await
                .unwrap_or_else(|e| panic!("{scheme} {status}: {e:?}"));
            assert_eq!((fetched.bytes, fetched.resumes), (bytes.len() as u64, 0));
            assert_eq!(std::fs::read(&path).expect("the file was written"), bytes);
            assert!(clock.sleeps().is_empty());

            assert_eq!(origin.requests(), 1, "{scheme} {status}");
            assert_eq!(target.requests(), 1, "{scheme} {status}");
            let heads = target.heads();
            assert!(heads[0].starts_with("GET /collect HTTP/1.1"), "{heads:?}");
            for head in origin.heads().iter().chain(&heads) {
                assert_eq!(credentials_in(head), [] as [&str; 0], "{scheme}: {head}");
            }
        }
    }
}

/// A file host that redirects every request to itself, and a client of it.
async fn redirect_loop() -> (RawServer, Client, Arc<InstantClock>, Url) {
    let origin = RawServer::start(vec![redirect(302, "/again")]).await;
    let (client, clock) = client_and_clock(
        &origin.api_root(),
        token(),
        RetryPolicy::default().without_jitter(),
    );
    let url = Url::parse(&format!(
        "{}/{}/downloads/default.mp4",
        origin.url(),
        common::VIDEO
    ))
    .expect("a valid URL");
    (origin, client, clock, url)
}

#[tokio::test]
async fn a_file_redirect_loop_ends_in_an_error_after_boundedly_many_requests() {
    let (origin, client, _clock, url) = redirect_loop().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("default.mp4");

    client.fetch_to_file(&url, &path, |_| {}).await.unwrap_err();
    // At most five redirects after the first request, for each of at most three attempts.
    assert!(origin.requests() <= 3 * 6, "{}", origin.requests());
    assert!(!path.exists());
}

#[tokio::test]
async fn a_file_redirect_loop_is_not_retried() {
    let (origin, client, clock, url) = redirect_loop().await;
    let dir = tempfile::tempdir().expect("a temporary directory");

    let error = client
        .fetch_to_file(&url, dir.path().join("default.mp4"), |_| {})
        .await
        .unwrap_err();
    // Answers did arrive, and asking again cannot end the loop.
    assert!(!error.is_retryable(), "{error:?}");
    assert_eq!(origin.requests(), 6);
    assert!(clock.sleeps().is_empty());
}
