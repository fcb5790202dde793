//! The fault matrix: each fault of the network or the server, met both as one of the
//! simulator's scripted faults and from a hand-written server on 127.0.0.1. Each test pins
//! the kind of error, how many requests the server saw, and the sleeps the retry loop asked
//! of the clock. Every call runs in its own task, so a panic in the client fails the test
//! as a panic, not as a wrong answer.
//!
//! Sleeps go to an [`InstantClock`] and take no time; only the stall tests let real time
//! pass, a few attempts of [`LIMIT`] each.

mod common;
mod raw;

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cloudflare_stream::{
    ApiError, Client, ContractError, Error, MAX_BODY_BYTES, MAX_EXCERPT_BYTES, RetryPolicy,
    TimeoutError, TransportKind,
    clock::Clock,
    simulator::{Fault, Simulator},
};
use common::{BOTH_DOWNLOADS, InstantClock, Op, account, client_and_clock, sim_client, token};
use raw::{RawServer, Reply, Step};

/// The time limit of each attempt in the stall tests.
const LIMIT: Duration = Duration::from_millis(300);
/// The most a stall test may take in all, retries included.
const WALL_BOUND: Duration = Duration::from_secs(3);
/// The backoff of the default policy without jitter, for its two retries.
const BACKOFF: [u64; 2] = [500, 1000];

const UNAVAILABLE: &str = r#"{"success":false,"errors":[{"code":10002,"message":"Service unavailable"}],"messages":[],"result":null}"#;
const RATE_LIMITED: &str = include_str!("fixtures/k11_rate_limited.json");
const FORBIDDEN: &str = include_str!("fixtures/k10_code_10000.json");
const EDGE_HTML: &str = include_str!("fixtures/edge_5xx.html");
const RAY: &str = "8f1e2d3c4b5a6978-SJC";
const JSON: (&str, &str) = ("Content-Type", "application/json");

// ---- Helpers ----

/// The default policy less its jitter, so that sleeps are exact.
fn policy() -> RetryPolicy {
    RetryPolicy::default().without_jitter()
}

fn ms(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_millis).collect()
}

fn secs(list: &[u64]) -> Vec<Duration> {
    list.iter().copied().map(Duration::from_secs).collect()
}

/// Calls `op` on the test video in a task of its own (which also proves its future is
/// `Send`); a panic inside fails here.
async fn call(client: &Client, op: Op) -> cloudflare_stream::Result<()> {
    let client = client.clone();
    tokio::spawn(async move { op.call(&client, &common::video()).await })
        .await
        .expect("the call ends without a panic")
}

/// A token client of `server` with [`policy`], a 10 s limit, and a clock that never waits.
fn raw_client(server: &RawServer) -> (Client, Arc<InstantClock>) {
    client_and_clock(&server.api_root(), token(), policy())
}

/// As [`raw_client`], with attempts limited to [`LIMIT`].
fn short_client(root: &str) -> (Client, Arc<InstantClock>) {
    let clock = Arc::new(InstantClock::default());
    let client = Client::builder()
        .credentials(token())
        .account_id(account())
        .base_url(root)
        .retry(policy())
        .timeout(LIMIT)
        .connect_timeout(Duration::from_secs(2))
        .clock(clock.clone())
        .build()
        .expect("a client for a local server builds");
    (client, clock)
}

/// A simulator with stopped time, a client of it (default policy less jitter), its clock.
async fn simulator() -> (Simulator, Client, Arc<InstantClock>) {
    let sim = Simulator::builder()
        .manual_time()
        .start()
        .await
        .expect("the simulator starts");
    let clock = Arc::new(InstantClock::default());
    let client = sim_client(&sim, clock.clone());
    (sim, client, clock)
}

fn unavailable() -> Fault {
    Fault::Status {
        status: 503,
        code: 10002,
        message: "Service unavailable".into(),
    }
}

fn transport_kind(error: Error) -> TransportKind {
    match error {
        Error::Transport(e) => e.kind(),
        other => panic!("expected Error::Transport, got {other:?}"),
    }
}

fn timeout(error: Error) -> TimeoutError {
    match error {
        Error::Timeout(e) => e,
        other => panic!("expected Error::Timeout, got {other:?}"),
    }
}

fn api(error: Error) -> Box<ApiError> {
    match error {
        Error::Api(e) => e,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

fn rate_limited(error: Error) -> Box<ApiError> {
    match error {
        Error::RateLimited(e) => e,
        other => panic!("expected Error::RateLimited, got {other:?}"),
    }
}

fn contract(error: Error) -> Box<ContractError> {
    match error {
        Error::Contract(e) => e,
        other => panic!("expected Error::Contract, got {other:?}"),
    }
}

fn codes(e: &ApiError) -> Vec<i64> {
    e.codes().collect()
}

/// A success answer every operation accepts.
fn ok() -> Reply {
    raw::json(200, BOTH_DOWNLOADS)
}

fn status(code: u16) -> Reply {
    raw::json(code, UNAVAILABLE)
}

/// Headers announcing `length` bytes of JSON, then the first `sent` bytes of a success body.
fn announced(length: usize, sent: usize) -> Vec<u8> {
    let length = length.to_string();
    let mut bytes = raw::head(200, &[JSON, ("Content-Length", &length)]);
    bytes.extend_from_slice(&BOTH_DOWNLOADS.as_bytes()[..sent]);
    bytes
}

// ---- Connections reset ----

#[tokio::test]
async fn raw_reset_before_headers_is_a_request_failure_retried_to_the_budget() {
    let server = RawServer::start(vec![vec![Step::Reset]]).await;
    let (client, clock) = raw_client(&server);

    let error = call(&client, Op::List).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(transport_kind(error), TransportKind::Request);
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn raw_reset_before_headers_then_an_answer_succeeds() {
    let server = RawServer::start(vec![vec![Step::Reset], ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), ms(&[500]));
}

#[tokio::test]
async fn sim_reset_is_a_request_failure_retried_to_the_budget() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Reset, 3);

    let error = call(&client, Op::List).await.unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Request);
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_reset_then_an_answer_succeeds() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Reset, 1);

    call(&client, Op::List).await.unwrap();
    assert_eq!(sim.api_requests(), 2);
    assert_eq!(clock.sleeps(), ms(&[500]));
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_reset_on_a_kept_alive_connection_counts_like_any_other() {
    let (sim, client, clock) = simulator().await;
    // The first answer leaves a pooled connection that the next attempt reuses.
    call(&client, Op::List).await.unwrap();
    sim.inject_api(Fault::Reset, 3);

    let error = call(&client, Op::List).await.unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Request);
    assert_eq!(sim.api_requests(), 1 + 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_reset_mid_body_is_a_body_failure() {
    // The pauses let the client take the headers and the first bytes before the reset.
    let reply = vec![
        Step::Send(announced(500, 0)),
        Step::Pause(Duration::from_millis(50)),
        Step::Send(BOTH_DOWNLOADS.as_bytes()[..60].to_vec()),
        Step::Pause(Duration::from_millis(100)),
        Step::Reset,
    ];
    let server = RawServer::start(vec![reply]).await;
    let (client, clock) = raw_client(&server);

    let error = call(&client, Op::List).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(transport_kind(error), TransportKind::Body);
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

// ---- Bodies cut short (K16) ----

#[tokio::test]
async fn raw_k16_content_length_500_then_60_bytes_then_close_is_a_body_failure() {
    let server = RawServer::start(vec![vec![Step::Send(announced(500, 60))]]).await;
    let (client, clock) = raw_client(&server);

    let error = call(&client, Op::List).await.unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Body);
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn raw_k16_is_never_ok_for_any_operation() {
    let server = RawServer::start(vec![vec![Step::Send(announced(500, 60))]]).await;
    let (client, clock) = raw_client(&server);
    let client = client.with_retry(RetryPolicy::none());

    for (n, op) in Op::ALL.into_iter().enumerate() {
        let result = call(&client, op).await;
        match result {
            Err(Error::Transport(e)) => assert_eq!(e.kind(), TransportKind::Body, "{op:?}"),
            other => panic!("{op:?}: expected a body failure, got {other:?}"),
        }
        assert_eq!(server.requests(), n + 1, "{op:?}");
    }
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn raw_k16_then_an_answer_succeeds() {
    let server = RawServer::start(vec![vec![Step::Send(announced(500, 60))], ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), ms(&[500]));
}

#[tokio::test]
async fn sim_truncated_is_a_body_failure() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Truncated, 3);

    let error = call(&client, Op::List).await.unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Body);
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_truncated_is_never_ok_for_any_operation() {
    let (sim, client, clock) = simulator().await;
    let client = client.with_retry(RetryPolicy::none());

    for (n, op) in Op::ALL.into_iter().enumerate() {
        sim.inject_api(Fault::Truncated, 1);
        let result = call(&client, op).await;
        match result {
            Err(Error::Transport(e)) => assert_eq!(e.kind(), TransportKind::Body, "{op:?}"),
            other => panic!("{op:?}: expected a body failure, got {other:?}"),
        }
        assert_eq!(sim.api_requests(), n + 1, "{op:?}");
    }
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

// ---- Stalls (K15): the one place real time passes ----

/// Runs `op` and checks it ended in a timeout of [`LIMIT`] within [`WALL_BOUND`], after at
/// least `attempts` whole limits.
async fn assert_times_out(client: &Client, attempts: u32) {
    let started = Instant::now();
    let error = call(client, Op::List).await.unwrap_err();
    let took = started.elapsed();

    assert!(error.is_retryable());
    assert_eq!(timeout(error).limit(), LIMIT);
    assert!(took >= LIMIT * attempts, "took {took:?}");
    assert!(took < WALL_BOUND, "took {took:?}");
}

#[tokio::test]
async fn raw_stall_before_headers_times_out() {
    let server = RawServer::start(vec![vec![Step::Stall]]).await;
    let (client, clock) = short_client(&server.api_root());

    assert_times_out(&client, 3).await;
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn raw_stall_after_headers_times_out() {
    let server = RawServer::start(vec![vec![Step::Send(announced(100, 0)), Step::Stall]]).await;
    let (client, clock) = short_client(&server.api_root());

    assert_times_out(&client, 3).await;
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn raw_stall_mid_body_times_out() {
    let server = RawServer::start(vec![vec![Step::Send(announced(200, 60)), Step::Stall]]).await;
    let (client, clock) = short_client(&server.api_root());

    assert_times_out(&client, 3).await;
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn raw_stall_then_an_answer_succeeds() {
    let server = RawServer::start(vec![
        vec![Step::Send(announced(200, 60)), Step::Stall],
        ok(),
    ])
    .await;
    let (client, clock) = short_client(&server.api_root());

    let started = Instant::now();
    call(&client, Op::List).await.unwrap();
    assert!(started.elapsed() < WALL_BOUND);
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), ms(&[500]));
}

#[tokio::test]
async fn sim_stall_mid_body_times_out() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Stall, 3);

    assert_times_out(&client.with_timeout(LIMIT), 3).await;
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn sim_delay_before_headers_times_out() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Delay(Duration::from_secs(10)), 3);

    assert_times_out(&client.with_timeout(LIMIT), 3).await;
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

// ---- HTML from the edge (K08) ----

#[tokio::test]
async fn raw_edge_html_5xx_is_a_retryable_api_error_with_its_evidence() {
    for code in [502, 520, 522, 524] {
        let reply = raw::with_headers(
            code,
            &[
                ("Content-Type", "text/html; charset=UTF-8"),
                ("Server", "cloudflare"),
                ("Cf-Ray", RAY),
            ],
            EDGE_HTML,
        );
        let server = RawServer::start(vec![reply]).await;
        let (client, clock) = raw_client(&server);

        let error = call(&client, Op::List).await.unwrap_err();
        assert!(error.is_retryable(), "{code}");
        let e = api(error);
        assert_eq!(e.status(), code);
        assert_eq!(e.ray_id(), Some(RAY));
        assert_eq!(e.content_type(), Some("text/html; charset=UTF-8"));
        assert!(codes(&e).is_empty());
        let excerpt = e.body_excerpt().expect("the page is kept");
        assert!(excerpt.starts_with("<!DOCTYPE html>"), "{excerpt}");
        assert!(excerpt.len() <= MAX_EXCERPT_BYTES + '…'.len_utf8());
        assert_eq!(server.requests(), 3, "{code}");
        assert_eq!(clock.sleeps(), ms(&BACKOFF), "{code}");
    }
}

#[tokio::test]
async fn raw_edge_html_then_an_answer_succeeds() {
    let page = raw::with_headers(
        502,
        &[("Content-Type", "text/html"), ("Cf-Ray", RAY)],
        EDGE_HTML,
    );
    let server = RawServer::start(vec![page, ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), ms(&[500]));
}

#[tokio::test]
async fn sim_edge_html_5xx_is_a_retryable_api_error_with_its_evidence() {
    let (sim, client, clock) = simulator().await;
    for (n, code) in [502, 520, 522, 524].into_iter().enumerate() {
        sim.inject_api(Fault::HtmlError { status: code }, 3);

        let error = call(&client, Op::List).await.unwrap_err();
        assert!(error.is_retryable(), "{code}");
        let e = api(error);
        assert_eq!(e.status(), code);
        assert!(e.ray_id().is_some_and(|ray| !ray.is_empty()), "{code}");
        assert!(e.content_type().is_some_and(|t| t.starts_with("text/html")));
        let excerpt = e.body_excerpt().expect("the page is kept");
        assert!(excerpt.contains(&format!("<h1>{code} ")), "{excerpt}");
        assert_eq!(sim.api_requests(), 3 * (n + 1), "{code}");
    }
    assert_eq!(clock.sleeps(), ms(&[500, 1000].repeat(4)));
    sim.shutdown().await;
}

// ---- Rate limits (K11) ----

fn too_many(retry_after: Option<&str>) -> Reply {
    match retry_after {
        Some(value) => raw::with_headers(429, &[JSON, ("Retry-After", value)], RATE_LIMITED),
        None => raw::json(429, RATE_LIMITED),
    }
}

fn sim_too_many(retry_after: Option<&str>) -> Fault {
    Fault::RateLimited {
        retry_after: retry_after.map(str::to_owned),
    }
}

/// An HTTP date `seconds` after the wall time of a fresh [`InstantClock`].
fn date_in(seconds: u64) -> String {
    httpdate::fmt_http_date(InstantClock::default().wall() + Duration::from_secs(seconds))
}

#[tokio::test]
async fn raw_retry_after_seconds_is_slept_exactly_even_with_jitter() {
    let server = RawServer::start(vec![too_many(Some("3"))]).await;
    // The default policy, jitter included: jitter shortens backoff, never a Retry-After.
    let (client, clock) = client_and_clock(&server.api_root(), token(), RetryPolicy::default());

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(e.status(), 429);
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), secs(&[3, 3]));
}

#[tokio::test]
async fn sim_retry_after_seconds_is_slept_exactly_even_with_jitter() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(sim_too_many(Some("3")), 3);
    let client = client.with_retry(RetryPolicy::default());

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), secs(&[3, 3]));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_retry_after_seconds_then_an_answer_succeeds() {
    let server = RawServer::start(vec![too_many(Some("3")), ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), secs(&[3]));
}

#[tokio::test]
async fn raw_retry_after_date_is_read_against_the_clock() {
    let date = date_in(7);
    let server = RawServer::start(vec![too_many(Some(&date)), ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 2);
    assert_eq!(clock.sleeps(), secs(&[7]));
}

#[tokio::test]
async fn raw_retry_after_date_that_has_passed_is_no_wait() {
    // The same date every time: once the clock has slept to it, the wait left is zero.
    let date = date_in(7);
    let server = RawServer::start(vec![too_many(Some(&date))]).await;
    let (client, clock) = raw_client(&server);

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(e.retry_after(), Some(Duration::ZERO));
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), secs(&[7, 0]));
}

#[tokio::test]
async fn sim_retry_after_date_is_read_against_the_clock() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(sim_too_many(Some(&date_in(7))), 1);

    call(&client, Op::List).await.unwrap();
    assert_eq!(sim.api_requests(), 2);
    assert_eq!(clock.sleeps(), secs(&[7]));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_absurd_retry_after_is_surfaced_at_once() {
    for (value, wait) in [("86400".to_owned(), 86_400), (date_in(172_800), 172_800)] {
        let server = RawServer::start(vec![too_many(Some(&value))]).await;
        let (client, clock) = raw_client(&server);

        let e = rate_limited(call(&client, Op::List).await.unwrap_err());
        assert_eq!(e.status(), 429);
        assert_eq!(codes(&e), [971]);
        assert_eq!(e.retry_after(), Some(Duration::from_secs(wait)), "{value}");
        assert_eq!(server.requests(), 1, "{value}");
        assert!(clock.sleeps().is_empty(), "{value}");
    }
}

#[tokio::test]
async fn sim_absurd_retry_after_is_surfaced_at_once() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(sim_too_many(Some("86400")), 3);

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86_400)));
    assert_eq!(sim.api_requests(), 1);
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_429_without_retry_after_backs_off() {
    let server = RawServer::start(vec![too_many(None)]).await;
    let (client, clock) = raw_client(&server);

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), None);
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn sim_429_without_retry_after_backs_off() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(sim_too_many(None), 3);

    let e = rate_limited(call(&client, Op::List).await.unwrap_err());
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), None);
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_retry_after_is_honoured_up_to_the_budget_only() {
    for (value, max, sleeps, requests) in [
        ("60", None, vec![60, 60], 3),
        ("61", None, vec![], 1),
        ("61", Some(120), vec![61, 61], 3),
        ("0", None, vec![0, 0], 3),
    ] {
        let server = RawServer::start(vec![too_many(Some(value))]).await;
        let mut retry = policy();
        if let Some(max) = max {
            retry = retry.with_max_retry_after(Duration::from_secs(max));
        }
        let (client, clock) = client_and_clock(&server.api_root(), token(), retry);

        let e = rate_limited(call(&client, Op::List).await.unwrap_err());
        assert_eq!(
            e.retry_after(),
            Some(Duration::from_secs(value.parse().unwrap()))
        );
        assert_eq!(server.requests(), requests, "{value} {max:?}");
        assert_eq!(clock.sleeps(), secs(&sleeps), "{value} {max:?}");
    }
}

#[tokio::test]
async fn raw_retry_after_on_a_5xx_is_honoured_too() {
    let reply = raw::with_headers(503, &[JSON, ("Retry-After", "2")], UNAVAILABLE);
    let server = RawServer::start(vec![reply]).await;
    let (client, clock) = raw_client(&server);

    let e = api(call(&client, Op::List).await.unwrap_err());
    assert_eq!(e.status(), 503);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(2)));
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), secs(&[2, 2]));
}

#[tokio::test]
async fn raw_unreadable_retry_after_falls_back_to_the_backoff() {
    for value in ["soon", "-5", "1.5", ""] {
        let server = RawServer::start(vec![too_many(Some(value))]).await;
        let (client, clock) = raw_client(&server);

        let e = rate_limited(call(&client, Op::List).await.unwrap_err());
        assert_eq!(e.retry_after(), None, "{value:?}");
        assert_eq!(server.requests(), 3, "{value:?}");
        assert_eq!(clock.sleeps(), ms(&BACKOFF), "{value:?}");
    }
}

#[tokio::test]
async fn raw_jitter_only_shortens_the_backoff_by_up_to_a_quarter() {
    let server = RawServer::start(vec![status(503)]).await;
    let (client, clock) = client_and_clock(
        &server.api_root(),
        token(),
        RetryPolicy::default().with_max_retries(5),
    );

    call(&client, Op::List).await.unwrap_err();
    assert_eq!(server.requests(), 6);
    let sleeps = clock.sleeps();
    assert_eq!(sleeps.len(), 5);
    for (slept, full) in sleeps.iter().zip(backoff(5)) {
        assert!(
            *slept <= full && *slept >= full * 3 / 4,
            "{slept:?} of {full:?}"
        );
    }
}

// ---- The retry budget (K17) ----

/// The backoff of the default policy without jitter for `retries` retries.
fn backoff(retries: u32) -> Vec<Duration> {
    ms(&[500, 1000, 2000, 4000, 8000, 8000, 8000][..retries as usize])
}

#[tokio::test]
async fn raw_k17_503_twice_then_200_succeeds_after_the_backoff() {
    let server = RawServer::start(vec![status(503), status(503), ok()]).await;
    let (client, clock) = raw_client(&server);

    call(&client, Op::List).await.unwrap();
    assert_eq!(server.requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
}

#[tokio::test]
async fn sim_k17_503_twice_then_200_succeeds_after_the_backoff() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(unavailable(), 2);

    call(&client, Op::List).await.unwrap();
    assert_eq!(sim.api_requests(), 3);
    assert_eq!(clock.sleeps(), ms(&BACKOFF));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_k17_503_forever_fails_after_one_plus_max_retries() {
    for retries in [0, 2, 5] {
        let server = RawServer::start(vec![status(503)]).await;
        let (client, clock) = client_and_clock(
            &server.api_root(),
            token(),
            policy().with_max_retries(retries),
        );

        let e = api(call(&client, Op::List).await.unwrap_err());
        assert_eq!(e.status(), 503);
        assert_eq!(codes(&e), [10002]);
        assert_eq!(server.requests(), 1 + retries as usize, "{retries}");
        assert_eq!(clock.sleeps(), backoff(retries), "{retries}");
    }
}

#[tokio::test]
async fn sim_k17_503_forever_fails_after_one_plus_max_retries() {
    for retries in [0, 2, 5] {
        let (sim, client, clock) = simulator().await;
        // More than the budget: whatever is left over proves no request went unseen.
        sim.inject_api(unavailable(), 10);
        let client = client.with_retry(policy().with_max_retries(retries));

        let e = api(call(&client, Op::List).await.unwrap_err());
        assert_eq!(e.status(), 503);
        assert_eq!(codes(&e), [10002]);
        assert_eq!(sim.api_requests(), 1 + retries as usize, "{retries}");
        assert_eq!(clock.sleeps(), backoff(retries), "{retries}");
        sim.shutdown().await;
    }
}

#[tokio::test]
async fn raw_every_operation_is_retried_alike() {
    let server = RawServer::start(vec![status(503)]).await;
    let (client, clock) = raw_client(&server);

    for (n, op) in Op::ALL.into_iter().enumerate() {
        let e = api(call(&client, op).await.unwrap_err());
        assert_eq!(e.status(), 503, "{op:?}");
        assert_eq!(server.requests(), 3 * (n + 1), "{op:?}");

        let line = format!("{} {} HTTP/1.1", op.method(), op.path());
        let heads = server.heads();
        assert!(
            heads[3 * n..].iter().all(|h| h.starts_with(&line)),
            "{op:?}: {heads:?}"
        );
    }
    assert_eq!(clock.sleeps(), ms(&BACKOFF.repeat(Op::ALL.len())));
}

#[tokio::test]
async fn sim_every_operation_is_retried_alike() {
    let (sim, client, clock) = simulator().await;

    for (n, op) in Op::ALL.into_iter().enumerate() {
        sim.inject_api(unavailable(), 3);
        let e = api(call(&client, op).await.unwrap_err());
        assert_eq!(e.status(), 503, "{op:?}");
        assert_eq!(sim.api_requests(), 3 * (n + 1), "{op:?}");
    }
    assert_eq!(clock.sleeps(), ms(&BACKOFF.repeat(Op::ALL.len())));
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_other_retryable_statuses_use_the_budget() {
    for code in [408, 409, 500, 502, 503] {
        let server = RawServer::start(vec![status(code)]).await;
        let (client, clock) = raw_client(&server);

        let error = call(&client, Op::List).await.unwrap_err();
        assert_eq!(api(error).status(), code);
        assert_eq!(server.requests(), 3, "{code}");
        assert_eq!(clock.sleeps(), ms(&BACKOFF), "{code}");
    }
}

// ---- Failures that are not retried ----

#[tokio::test]
async fn raw_4xx_is_not_retried() {
    for code in [400, 401, 403, 404, 405, 422] {
        let server = RawServer::start(vec![raw::json(code, FORBIDDEN)]).await;
        let (client, clock) = raw_client(&server);

        let error = call(&client, Op::List).await.unwrap_err();
        assert!(!error.is_retryable(), "{code}");
        let e = api(error);
        assert_eq!(e.status(), code);
        assert_eq!(codes(&e), [10000]);
        assert_eq!(server.requests(), 1, "{code}");
        assert!(clock.sleeps().is_empty(), "{code}");
    }
}

#[tokio::test]
async fn sim_4xx_is_not_retried() {
    let (sim, client, clock) = simulator().await;
    for (n, code) in [400, 403, 404].into_iter().enumerate() {
        sim.inject_api(
            Fault::Status {
                status: code,
                code: 10000,
                message: "Authentication error".into(),
            },
            1,
        );
        let e = api(call(&client, Op::List).await.unwrap_err());
        assert_eq!(e.status(), code);
        assert_eq!(codes(&e), [10000]);
        assert_eq!(sim.api_requests(), n + 1, "{code}");
    }
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_policy_none_sends_once() {
    for reply in [status(503), vec![Step::Reset], too_many(Some("1"))] {
        let server = RawServer::start(vec![reply]).await;
        let (client, clock) = client_and_clock(&server.api_root(), token(), RetryPolicy::none());

        call(&client, Op::List).await.unwrap_err();
        assert_eq!(server.requests(), 1);
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn sim_policy_none_sends_once() {
    let (sim, client, clock) = simulator().await;
    let client = client.with_retry(RetryPolicy::none());
    for (n, fault) in [unavailable(), Fault::Reset, sim_too_many(Some("1"))]
        .into_iter()
        .enumerate()
    {
        sim.inject_api(fault.clone(), 3);
        call(&client, Op::List).await.unwrap_err();
        assert_eq!(sim.api_requests(), n + 1, "{fault:?}");
        sim.clear_faults();
    }
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

// ---- Per-call overrides ----

#[tokio::test]
async fn raw_with_retry_applies_to_that_client_only() {
    let server = RawServer::start(vec![status(503)]).await;
    let (client, clock) = raw_client(&server);

    call(&client.with_retry(RetryPolicy::none()), Op::List)
        .await
        .unwrap_err();
    assert_eq!(server.requests(), 1);
    assert!(clock.sleeps().is_empty());

    call(&client.with_retry(policy().with_max_retries(5)), Op::List)
        .await
        .unwrap_err();
    assert_eq!(server.requests(), 1 + 6);
    assert_eq!(clock.sleeps(), backoff(5));

    // The client it was made from keeps its own policy.
    call(&client, Op::List).await.unwrap_err();
    assert_eq!(server.requests(), 1 + 6 + 3);
    assert_eq!(clock.sleeps()[5..], ms(&BACKOFF));
}

#[tokio::test]
async fn sim_with_retry_applies_to_that_client_only() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(unavailable(), 100);

    call(&client.with_retry(RetryPolicy::none()), Op::List)
        .await
        .unwrap_err();
    assert_eq!(sim.api_requests(), 1);
    call(&client.with_retry(policy().with_max_retries(5)), Op::List)
        .await
        .unwrap_err();
    assert_eq!(sim.api_requests(), 1 + 6);
    call(&client, Op::List).await.unwrap_err();
    assert_eq!(sim.api_requests(), 1 + 6 + 3);

    let mut expected = backoff(5);
    expected.extend(ms(&BACKOFF));
    assert_eq!(clock.sleeps(), expected);
    sim.clear_faults();
    sim.shutdown().await;
}

#[tokio::test]
async fn raw_with_timeout_applies_to_that_client_only() {
    let server = RawServer::start(vec![vec![Step::Send(announced(200, 60)), Step::Stall]]).await;
    // Built with a 10 s limit; the override alone keeps this test short.
    let (client, clock) = raw_client(&server);

    let quick = client.with_timeout(LIMIT).with_retry(RetryPolicy::none());
    assert_times_out(&quick, 1).await;
    assert_eq!(server.requests(), 1);
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn sim_with_timeout_applies_to_that_client_only() {
    let (sim, client, clock) = simulator().await;
    sim.inject_api(Fault::Stall, 1);

    let quick = client.with_timeout(LIMIT).with_retry(RetryPolicy::none());
    assert_times_out(&quick, 1).await;
    assert_eq!(sim.api_requests(), 1);

    // The client it was made from still has its own limit: this answer comes at once.
    call(&client, Op::List).await.unwrap();
    assert_eq!(sim.api_requests(), 2);
    assert!(clock.sleeps().is_empty());
    sim.shutdown().await;
}

// ---- No server at all ----

/// A loopback address where nothing listens: a port that was bound, then released.
async fn refused_root() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a loopback port can be bound");
    let addr = listener
        .local_addr()
        .expect("a bound listener has an address");
    drop(listener);
    format!("http://{addr}/client/v4")
}

#[tokio::test]
async fn connection_refused_is_a_connect_failure_retried_to_the_budget() {
    let root = refused_root().await;
    let (client, clock) = client_and_clock(&root, token(), policy());

    let error = call(&client, Op::List).await.unwrap_err();
    assert!(error.is_retryable());
    assert_eq!(transport_kind(error), TransportKind::Connect);
    // One sleep before each attempt after the first.
    assert_eq!(clock.sleeps(), ms(&BACKOFF));

    let error = call(&client.with_retry(policy().with_max_retries(5)), Op::List)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Connect);
    assert_eq!(clock.sleeps()[2..], backoff(5));

    let error = call(&client.with_retry(RetryPolicy::none()), Op::List)
        .await
        .unwrap_err();
    assert_eq!(transport_kind(error), TransportKind::Connect);
    assert_eq!(clock.sleeps().len(), 2 + 5);
}

// ---- The body limit ----

/// Writes well below the flood: what fits in the socket buffers besides the limit itself.
const STOPPED_EARLY: u64 = 16 << 20;
const FLOOD: u64 = 64 << 20;

/// Headers of a flood of `FLOOD` bytes, announced or chunked.
fn flood(code: u16, chunked: bool) -> Reply {
    let length = FLOOD.to_string();
    let framing = if chunked {
        ("Transfer-Encoding", "chunked")
    } else {
        ("Content-Length", length.as_str())
    };
    vec![
        Step::Send(raw::head(code, &[JSON, framing])),
        Step::Flood {
            bytes: FLOOD,
            chunked,
        },
    ]
}

async fn assert_stopped_early(server: &RawServer) {
    server.settled().await;
    let written = server.written();
    assert_eq!(written.len(), server.connections());
    assert!(
        written.iter().all(|&n| n < STOPPED_EARLY),
        "bytes written per connection: {written:?}"
    );
}

#[tokio::test]
async fn an_oversized_2xx_is_a_contract_error_and_is_not_read_to_the_end() {
    for chunked in [false, true] {
        let server = RawServer::start(vec![flood(200, chunked)]).await;
        let (client, clock) = raw_client(&server);

        let error = call(&client, Op::List).await.unwrap_err();
        assert!(!error.is_retryable());
        let c = contract(error);
        assert_eq!(c.status(), 200);
        assert_eq!(c.field(), "body");
        assert_eq!(c.value(), format!("longer than {MAX_BODY_BYTES} bytes"));
        assert!(c.body_excerpt().starts_with("xxxx"), "{}", c.body_excerpt());
        assert_eq!(server.requests(), 1);
        assert!(clock.sleeps().is_empty());
        assert_stopped_early(&server).await;
    }
}

#[tokio::test]
async fn an_oversized_5xx_is_an_api_error_marked_too_large_and_is_not_read_to_the_end() {
    for chunked in [false, true] {
        let server = RawServer::start(vec![flood(503, chunked)]).await;
        let (client, clock) = raw_client(&server);

        let error = call(&client, Op::List).await.unwrap_err();
        let e = api(error);
        assert_eq!(e.status(), 503);
        assert!(e.body_too_large());
        assert!(e.body_excerpt().is_some_and(|b| b.starts_with("xxxx")));
        assert_eq!(server.requests(), 3);
        assert_eq!(clock.sleeps(), ms(&BACKOFF));
        assert_stopped_early(&server).await;
    }
}

/// A success body of exactly `length` bytes: the padding is an extra key, so any cut of it
/// is not JSON.
fn padded_inside(length: usize) -> Vec<u8> {
    let envelope = BOTH_DOWNLOADS
        .trim_end()
        .strip_suffix('}')
        .expect("an object");
    let mut body = format!(r#"{envelope},"padding":""#).into_bytes();
    body.resize(length - 2, b'x');
    body.extend_from_slice(b"\"}");
    body
}

/// A success body of exactly `length` bytes: a whole envelope, then whitespace.
fn padded_after(length: usize) -> Vec<u8> {
    let mut body = BOTH_DOWNLOADS.trim_end().as_bytes().to_vec();
    body.resize(length, b' ');
    body
}

/// `body` as a 200 answer, with `Content-Length` or in chunked encoding (64 KiB pieces).
fn answer_of(body: &[u8], chunked: bool) -> Reply {
    if !chunked {
        return vec![Step::Send(raw::response(200, &[JSON], body))];
    }
    let mut bytes = raw::head(200, &[JSON, ("Transfer-Encoding", "chunked")]);
    for piece in body.chunks(64 * 1024) {
        bytes.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
        bytes.extend_from_slice(piece);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    vec![Step::Send(bytes)]
}

#[tokio::test]
async fn a_body_of_exactly_the_limit_is_read() {
    for chunked in [false, true] {
        for body in [padded_inside(MAX_BODY_BYTES), padded_after(MAX_BODY_BYTES)] {
            assert_eq!(body.len(), MAX_BODY_BYTES);
            let server = RawServer::start(vec![answer_of(&body, chunked)]).await;
            let (client, _clock) = raw_client(&server);

            call(&client, Op::List).await.unwrap();
            assert_eq!(server.requests(), 1, "chunked: {chunked}");
        }
    }
}

#[tokio::test]
async fn a_body_one_byte_over_the_limit_is_a_contract_error() {
    for chunked in [false, true] {
        let body = padded_inside(MAX_BODY_BYTES + 1);
        let server = RawServer::start(vec![answer_of(&body, chunked)]).await;
        let (client, clock) = raw_client(&server);

        let c = contract(call(&client, Op::List).await.unwrap_err());
        assert_eq!(c.field(), "body", "chunked: {chunked}");
        assert_eq!(c.value(), format!("longer than {MAX_BODY_BYTES} bytes"));
        assert_eq!(server.requests(), 1);
        assert!(clock.sleeps().is_empty());
    }
}

#[tokio::test]
async fn an_oversized_body_whose_start_is_a_whole_envelope_is_still_an_error() {
    for chunked in [false, true] {
        let body = padded_after(MAX_BODY_BYTES + 1);
        let server = RawServer::start(vec![answer_of(&body, chunked)]).await;
        let (client, _clock) = raw_client(&server);

        let result = call(&client, Op::List).await;
        match result {
            Err(Error::Contract(c)) => assert_eq!(c.field(), "body", "chunked: {chunked}"),
            other => panic!("chunked: {chunked}: expected a contract error, got {other:?}"),
        }
    }
}

/// A listener whose accept queue is full and never drained: the kernel drops further
/// connection attempts, so connecting hangs until the connect timeout, the one set per
/// client with `with_connect_timeout`.
#[tokio::test]
async fn a_connect_that_hangs_ends_at_the_connect_timeout() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1).unwrap();
    let addr = listener.local_addr().unwrap();
    let mut queued = Vec::new();
    for _ in 0..8 {
        let attempt = tokio::net::TcpStream::connect(addr);
        if let Ok(Ok(stream)) = tokio::time::timeout(Duration::from_millis(100), attempt).await {
            queued.push(stream);
        }
    }

    let (client, clock) = client_and_clock(&format!("http://{addr}/client/v4"), token(), policy());
    let client = client
        .with_connect_timeout(Duration::from_millis(200))
        .unwrap();
    assert!(
        format!("{client:?}").contains("connect_timeout: 200ms"),
        "{client:?}"
    );
    let started = Instant::now();
    let err = call(&client, Op::List).await.unwrap_err();

    match &err {
        Error::Timeout(e) => assert_eq!(e.limit(), Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(err.is_retryable());
    // Three attempts of 200 ms each, and the two backoff sleeps that never waited.
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(clock.sleeps(), ms(&[500, 1000]));
    drop((listener, queued));
}

/// Resuming against a host that answers without a length: a cut chunked answer resumes
/// with a 206 that states the size, and a chunked answer that lost only its end is complete
/// when the resume is answered 416 for the byte after the last.
#[tokio::test]
async fn resuming_a_chunked_answer_learns_or_confirms_the_size() {
    let file: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let chunked_head = raw::head(200, &[("transfer-encoding", "chunked")]);
    let chunk = |bytes: &[u8]| {
        let mut out = format!("{:x}\r\n", bytes.len()).into_bytes();
        out.extend_from_slice(bytes);
        out.extend_from_slice(b"\r\n");
        out
    };

    // Cut after 400 bytes; the resume says the whole size.
    let cut = vec![
        Step::Send([chunked_head.clone(), chunk(&file[..400])].concat()),
        Step::Reset,
    ];
    let rest = vec![Step::Send(raw::response(
        206,
        &[("content-range", "bytes 400-999/1000")],
        &file[400..],
    ))];
    let server = RawServer::start(vec![cut, rest]).await;
    let (client, _clock) = common::client_and_clock(
        &server.api_root(),
        token(),
        RetryPolicy::default().without_jitter(),
    );
    let url: url::Url = format!("{}/file.mp4", server.url()).parse().unwrap();
    let mut out = Vec::new();
    let fetched = client
        .fetch_to_writer(&url, &mut out, |_| {})
        .await
        .unwrap();
    assert_eq!((fetched.bytes, fetched.resumes), (1000, 1));
    assert_eq!(out, file);
    assert!(raw::header(&server.heads()[1], "range").is_some_and(|r| r == "bytes=400-"));

    // Every byte arrived but not the final chunk; the host says there is nothing after them.
    let whole_but_unterminated = vec![
        Step::Send([chunked_head, chunk(&file)].concat()),
        Step::Reset,
    ];
    let nothing_after = vec![Step::Send(raw::response(
        416,
        &[("content-range", "bytes */1000")],
        b"",
    ))];
    let server = RawServer::start(vec![whole_but_unterminated, nothing_after]).await;
    let (client, _clock) = common::client_and_clock(
        &server.api_root(),
        token(),
        RetryPolicy::default().without_jitter(),
    );
    let url: url::Url = format!("{}/file.mp4", server.url()).parse().unwrap();
    let mut out = Vec::new();
    let fetched = client
        .fetch_to_writer(&url, &mut out, |_| {})
        .await
        .unwrap();
    assert_eq!((fetched.bytes, fetched.resumes), (1000, 1));
    assert_eq!(out, file);
}
