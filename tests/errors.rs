//! How failures decode: `success: false` on a 200, HTML from the edge, empty bodies,
//! permission errors, rate limits, and what an error keeps and shows.

mod common;

use std::time::Duration;

use cloudflare_stream::{
    ApiError, ApiMessage, DownloadType, Error, MAX_BODY_BYTES, MAX_EXCERPT_BYTES, RetryPolicy,
};
use common::{Op, answer, catch_all, client, client_and_clock, token, video};
use httpmock::{Mock, MockServer};

const K06: &str = include_str!("fixtures/k06_success_false.json");
const K10_10000: &str = include_str!("fixtures/k10_code_10000.json");
const K10_9109: &str = include_str!("fixtures/k10_code_9109.json");
const K11: &str = include_str!("fixtures/k11_rate_limited.json");
const DETAILS: &str = include_str!("fixtures/messages_with_details.json");
const EDGE_HTML: &str = include_str!("fixtures/edge_5xx.html");

const RAY: &str = "8f1e2d3c4b5a6978-SJC";

fn api(err: Error) -> Box<ApiError> {
    match err {
        Error::Api(e) => e,
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

fn rate_limited(err: Error) -> Box<ApiError> {
    match err {
        Error::RateLimited(e) => e,
        other => panic!("expected Error::RateLimited, got {other:?}"),
    }
}

fn codes(e: &ApiError) -> Vec<i64> {
    e.codes().collect()
}

/// Mocks `op` to answer `status` with `body` and the given headers, then a catch-all.
async fn answer_with<'a>(
    server: &'a MockServer,
    op: Op,
    status: u16,
    headers: &[(&str, &str)],
    body: &str,
) -> Mock<'a> {
    let mock = server
        .mock_async(|when, then| {
            when.method(op.method()).path(op.path());
            let mut then = then.status(status);
            for (name, value) in headers {
                then = then.header(*name, *value);
            }
            then.body(body);
        })
        .await;
    catch_all(server).await;
    mock
}

fn edge_headers() -> [(&'static str, &'static str); 3] {
    [
        ("content-type", "text/html; charset=UTF-8"),
        ("server", "cloudflare"),
        ("cf-ray", RAY),
    ]
}

fn assert_one_line(err: &Error) {
    let shown = err.to_string();
    assert!(!shown.is_empty());
    assert!(!shown.contains('\n') && !shown.contains('\r'), "{shown:?}");
}

// K06

#[tokio::test]
async fn success_false_on_200_is_an_api_error() {
    for op in Op::ALL {
        let server = MockServer::start_async().await;
        let mock = answer(&server, op, 200, K06).await;

        let err = op.call(&client(&server), &video()).await.unwrap_err();

        assert_eq!(err.status(), Some(200), "{op:?}");
        assert!(!err.is_retryable(), "{op:?}");
        assert_one_line(&err);
        assert_eq!(
            err.to_string(),
            "the API answered HTTP 200: 10000 Authentication error",
            "{op:?}"
        );
        let e = api(err);
        assert_eq!(e.status(), 200);
        assert_eq!(codes(&e), [10000], "{op:?}");
        assert_eq!(e.errors()[0].message, "Authentication error");
        assert!(e.messages().is_empty());
        assert_eq!(e.body_excerpt(), None);
        mock.assert_calls_async(1).await;
    }
}

// K08

#[tokio::test]
async fn edge_html_is_a_retryable_api_error_with_its_evidence() {
    for status in [502, 520, 522, 524] {
        for op in [
            Op::List,
            Op::Create(DownloadType::Audio),
            Op::CreateDefault,
            Op::Delete(DownloadType::Default),
        ] {
            let server = MockServer::start_async().await;
            let mock = answer_with(&server, op, status, &edge_headers(), EDGE_HTML).await;

            let err = op.call(&client(&server), &video()).await.unwrap_err();

            assert!(err.is_retryable(), "{status} {op:?}");
            assert_eq!(err.status(), Some(status));
            assert_one_line(&err);
            let shown = err.to_string();
            assert!(shown.contains(&format!("HTTP {status}")), "{shown}");
            assert!(shown.contains(RAY), "{shown}");
            assert!(shown.contains("text/html"), "{shown}");
            assert!(!shown.contains('<'), "no HTML in {shown}");

            let e = api(err);
            assert_eq!(e.status(), status);
            assert_eq!(e.content_type(), Some("text/html; charset=UTF-8"));
            assert_eq!(e.ray_id(), Some(RAY));
            assert!(e.errors().is_empty());
            let excerpt = e.body_excerpt().expect("an excerpt of the HTML");
            assert!(excerpt.starts_with("<!DOCTYPE html>"), "{excerpt}");
            assert!(excerpt.len() <= MAX_EXCERPT_BYTES + '…'.len_utf8());
            assert!(EDGE_HTML.starts_with(excerpt.trim_end_matches('…')));
            mock.assert_calls_async(1).await;
        }
    }
}

#[tokio::test]
async fn edge_html_is_retried_within_the_budget() {
    let server = MockServer::start_async().await;
    let mock = answer_with(&server, Op::List, 522, &edge_headers(), EDGE_HTML).await;
    let policy = RetryPolicy::default()
        .with_max_retries(2)
        .with_backoff(Duration::from_millis(500), Duration::from_secs(8))
        .without_jitter();
    let (client, clock) = client_and_clock(&common::api_root(&server), token(), policy);

    let err = client.list_downloads(&video()).await.unwrap_err();

    assert_eq!(api(err).status(), 522);
    mock.assert_calls_async(3).await;
    assert_eq!(
        clock.sleeps(),
        [Duration::from_millis(500), Duration::from_secs(1)]
    );
}

#[tokio::test]
async fn a_5xx_envelope_keeps_its_codes_and_is_retryable() {
    let body = r#"{"success":false,"errors":[{"code":10002,"message":"An unknown error has occurred"}],"messages":[],"result":null}"#;
    let server = MockServer::start_async().await;
    answer_with(
        &server,
        Op::List,
        500,
        &[("content-type", "application/json"), ("cf-ray", RAY)],
        body,
    )
    .await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert!(err.is_retryable());
    let e = api(err);
    assert_eq!(e.status(), 500);
    assert_eq!(codes(&e), [10002]);
    assert_eq!(e.ray_id(), Some(RAY));
    assert_eq!(e.body_excerpt(), None);
}

// K09

#[tokio::test]
async fn empty_500_says_the_body_was_empty() {
    for op in [
        Op::List,
        Op::Create(DownloadType::Default),
        Op::DeleteDefault,
    ] {
        let server = MockServer::start_async().await;
        answer_with(&server, op, 500, &[("content-length", "0")], "").await;

        let err = op.call(&client(&server), &video()).await.unwrap_err();

        assert_one_line(&err);
        let shown = err.to_string();
        assert!(shown.contains("HTTP 500"), "{shown}");
        assert!(shown.contains("empty body"), "{shown}");
        let e = api(err);
        assert_eq!(e.status(), 500);
        assert_eq!(e.body_excerpt(), Some(""));
        assert!(e.errors().is_empty());
    }
}

#[tokio::test]
async fn empty_200_says_the_body_was_empty() {
    for op in [Op::List, Op::CreateDefault, Op::Delete(DownloadType::Audio)] {
        let server = MockServer::start_async().await;
        answer_with(
            &server,
            op,
            200,
            &[("content-type", "application/json")],
            "",
        )
        .await;

        let err = op.call(&client(&server), &video()).await.unwrap_err();

        assert_eq!(err.status(), Some(200));
        assert!(!err.is_retryable());
        assert_one_line(&err);
        let shown = err.to_string();
        assert!(shown.contains("200"), "{shown}");
        assert!(shown.contains("empty"), "{shown}");
        let Error::Contract(c) = err else {
            panic!("expected a contract error for {op:?}, got {err:?}")
        };
        assert_eq!(c.status(), 200);
        assert_eq!(c.field(), "body");
        assert_eq!(c.value(), "empty");
        assert_eq!(c.body_excerpt(), "");
    }
}

// K10

#[tokio::test]
async fn permission_errors_keep_their_codes_and_are_never_retried() {
    for (body, code, message) in [
        (K10_10000, 10000, "Authentication error"),
        (
            K10_9109,
            9109,
            "Cannot use the access token from location: 203.0.113.7",
        ),
        (K06, 10000, "Authentication error"),
    ] {
        for op in [Op::List, Op::Create(DownloadType::Audio), Op::DeleteDefault] {
            let server = MockServer::start_async().await;
            let mock = answer(&server, op, 403, body).await;
            let policy = RetryPolicy::default().with_max_retries(2);
            let (client, clock) = client_and_clock(&common::api_root(&server), token(), policy);

            let err = op.call(&client, &video()).await.unwrap_err();

            assert!(!err.is_retryable());
            assert_one_line(&err);
            assert_eq!(
                err.to_string(),
                format!("the API answered HTTP 403: {code} {message}")
            );
            let e = api(err);
            assert_eq!(e.status(), 403);
            assert_eq!(codes(&e), [code]);
            assert_eq!(e.errors()[0].message, message);
            assert!(e.messages().is_empty());
            assert_eq!(e.content_type(), Some("application/json"));
            mock.assert_calls_async(1).await;
            assert!(clock.sleeps().is_empty(), "no backoff for {code}");
        }
    }
}

#[tokio::test]
async fn other_4xx_are_not_retried_either() {
    let not_found = r#"{"success":false,"errors":[{"code":10003,"message":"Not Found"}]}"#;
    for (status, body) in [(400, DETAILS), (404, not_found), (405, not_found)] {
        let server = MockServer::start_async().await;
        let mock = answer(&server, Op::List, status, body).await;
        let policy = RetryPolicy::default().with_max_retries(2);
        let (client, clock) = client_and_clock(&common::api_root(&server), token(), policy);

        let err = client.list_downloads(&video()).await.unwrap_err();

        assert_eq!(api(err).status(), status);
        mock.assert_calls_async(1).await;
        assert!(clock.sleeps().is_empty());
    }
}

// K11

#[tokio::test]
async fn rate_limit_carries_code_971_and_retry_after() {
    let server = MockServer::start_async().await;
    answer_with(
        &server,
        Op::List,
        429,
        &[("content-type", "application/json"), ("retry-after", "30")],
        K11,
    )
    .await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert!(err.is_retryable());
    assert_eq!(err.status(), Some(429));
    assert_one_line(&err);
    assert_eq!(
        err.to_string(),
        "the API answered HTTP 429: 971 Please wait and consider throttling your request \
         speed, retry after 30s"
    );
    assert_eq!(err.api_error().map(|e| e.status()), Some(429));
    let e = rate_limited(err);
    assert_eq!(codes(&e), [971]);
    assert_eq!(
        e.errors()[0].message,
        "Please wait and consider throttling your request speed"
    );
    assert_eq!(e.retry_after(), Some(Duration::from_secs(30)));
}

#[tokio::test]
async fn rate_limit_without_retry_after_has_none() {
    let server = MockServer::start_async().await;
    answer(&server, Op::CreateDefault, 429, K11).await;

    let err = client(&server)
        .create_default_download(&video())
        .await
        .unwrap_err();

    let e = rate_limited(err);
    assert_eq!(codes(&e), [971]);
    assert_eq!(e.retry_after(), None);
}

#[tokio::test]
async fn retry_after_as_an_http_date_is_read_against_the_clock() {
    let server = MockServer::start_async().await;
    // The test clock reads 2024-01-01T00:00:00Z.
    answer_with(
        &server,
        Op::List,
        429,
        &[("retry-after", "Mon, 01 Jan 2024 00:00:45 GMT")],
        K11,
    )
    .await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert_eq!(
        rate_limited(err).retry_after(),
        Some(Duration::from_secs(45))
    );
}

#[tokio::test]
async fn absurd_retry_after_is_surfaced_not_slept_on() {
    let server = MockServer::start_async().await;
    let mock = answer_with(&server, Op::List, 429, &[("retry-after", "86400")], K11).await;
    let (client, clock) = client_and_clock(
        &common::api_root(&server),
        token(),
        RetryPolicy::default().with_max_retries(2),
    );

    let err = client.list_downloads(&video()).await.unwrap_err();

    let e = rate_limited(err);
    assert_eq!(e.retry_after(), Some(Duration::from_secs(86400)));
    assert_eq!(codes(&e), [971]);
    mock.assert_calls_async(1).await;
    assert!(clock.sleeps().is_empty());
}

#[tokio::test]
async fn sensible_retry_after_is_honoured_within_the_budget() {
    let server = MockServer::start_async().await;
    let limited = server
        .mock_async(|when, then| {
            when.method(Op::List.method()).path(Op::List.path());
            then.status(429)
                .header("retry-after", "7")
                .body(K11)
                .up_to_n_times(1);
        })
        .await;
    let ok = answer(&server, Op::List, 200, common::BOTH_DOWNLOADS).await;
    let (client, clock) = client_and_clock(
        &common::api_root(&server),
        token(),
        RetryPolicy::default().with_max_retries(2),
    );

    let downloads = client.list_downloads(&video()).await.unwrap();

    assert!(downloads.audio().is_some());
    limited.assert_calls_async(1).await;
    ok.assert_calls_async(1).await;
    assert_eq!(clock.sleeps(), [Duration::from_secs(7)]);
}

// What errors keep

#[tokio::test]
async fn documentation_url_and_source_pointer_are_kept() {
    let server = MockServer::start_async().await;
    answer(&server, Op::Create(DownloadType::Audio), 400, DETAILS).await;

    let err = client(&server)
        .create_download(&video(), DownloadType::Audio)
        .await
        .unwrap_err();

    let e = api(err);
    let fields = |m: &ApiMessage| {
        (
            m.code,
            m.message.clone(),
            m.documentation_url.clone(),
            m.source_pointer.clone(),
        )
    };
    assert_eq!(
        e.errors().iter().map(fields).collect::<Vec<_>>(),
        [(
            Some(10005),
            "download_type must be one of default, audio".to_owned(),
            Some(
                "https://developers.cloudflare.com/stream/viewing-videos/download-videos/"
                    .to_owned()
            ),
            Some("/download_type".to_owned()),
        )]
    );
    assert_eq!(
        e.messages().iter().map(fields).collect::<Vec<_>>(),
        [(Some(1001), "see the documentation".to_owned(), None, None)]
    );
}

#[tokio::test]
async fn several_errors_are_all_kept_in_order() {
    let body = r#"{"success":false,"errors":[{"code":1000,"message":"first"},{"code":1001,"message":"second","source":null,"documentation_url":null}],"messages":null,"result":null}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 400, body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert_eq!(
        err.to_string(),
        "the API answered HTTP 400: 1000 first; 1001 second"
    );
    let e = api(err);
    assert_eq!(codes(&e), [1000, 1001]);
    assert_eq!(e.errors()[1].source_pointer, None);
    assert_eq!(e.errors()[1].documentation_url, None);
}

#[tokio::test]
async fn long_error_bodies_give_a_bounded_excerpt() {
    let ascii = "E".repeat(10 * MAX_EXCERPT_BYTES);
    // Two-byte characters, placed so the cut falls inside one.
    let multibyte = format!("x{}", "é".repeat(5 * MAX_EXCERPT_BYTES));
    for body in [ascii, multibyte] {
        let server = MockServer::start_async().await;
        answer_with(
            &server,
            Op::List,
            503,
            &[("content-type", "text/plain")],
            &body,
        )
        .await;

        let err = client(&server).list_downloads(&video()).await.unwrap_err();

        assert_one_line(&err);
        assert!(err.to_string().len() < 200, "{err}");
        let e = api(err);
        let excerpt = e.body_excerpt().unwrap();
        assert!(
            excerpt.len() <= MAX_EXCERPT_BYTES + '…'.len_utf8(),
            "{}",
            excerpt.len()
        );
        assert!(excerpt.len() >= MAX_EXCERPT_BYTES - 1, "{}", excerpt.len());
        assert!(excerpt.ends_with('…'));
        assert!(!excerpt.contains('\u{fffd}'));
        assert!(body.starts_with(excerpt.trim_end_matches('…')));
    }
}

#[tokio::test]
async fn display_is_one_line_without_the_body() {
    let json_not_envelope = r#"{"error":"something\nwent\nwrong","detail":"line two"}"#;
    let multi_line_text = "upstream failed\nstack trace line 1\nstack trace line 2";
    for (status, content_type, body) in [
        (502, "text/html", EDGE_HTML),
        (500, "application/json", json_not_envelope),
        (503, "text/plain", multi_line_text),
    ] {
        let server = MockServer::start_async().await;
        answer_with(
            &server,
            Op::List,
            status,
            &[("content-type", content_type)],
            body,
        )
        .await;

        let err = client(&server).list_downloads(&video()).await.unwrap_err();

        assert_one_line(&err);
        let shown = err.to_string();
        assert!(!shown.contains("stack trace"), "{shown}");
        assert!(!shown.contains("something"), "{shown}");
        assert!(!shown.contains("Bad gateway"), "{shown}");
        assert!(
            shown.contains(&format!(
                "HTTP {status} with a body that is not an API envelope"
            )),
            "{shown}"
        );
    }
}

/// A message from the server is shown in `Display`; a line break in it must not split the
/// error over several lines (or forge a log line).
#[tokio::test]
async fn display_stays_on_one_line_when_a_message_holds_a_newline() {
    let body = r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error\nlevel=INFO msg=\"forged\""}]}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 403, body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert_one_line(&err);
    assert!(err.to_string().contains("10000"));
}

/// The offending value of a contract error is shown in `Display`; a line break in it must
/// not split the error over several lines.
#[tokio::test]
async fn contract_display_stays_on_one_line_when_the_value_holds_a_newline() {
    let body = r#"{"result":{"default":{"status":"ready","percentComplete":100,"url":"not a\nurl"}},"success":true}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    let Error::Contract(c) = &err else {
        panic!("expected a contract error, got {err:?}")
    };
    assert_eq!(c.value(), "not a\nurl");
    assert_one_line(&err);
}

// Oversized answers

#[tokio::test]
async fn oversized_success_is_a_contract_error_that_says_so() {
    let body = format!(
        r#"{{"result":{{}},"success":true,"padding":"{}"}}"#,
        "x".repeat(MAX_BODY_BYTES)
    );
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, &body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert_one_line(&err);
    let Error::Contract(c) = &err else {
        panic!("expected a contract error, got {err:?}")
    };
    assert_eq!(c.status(), 200);
    assert_eq!(c.field(), "body");
    assert_eq!(c.value(), format!("longer than {MAX_BODY_BYTES} bytes"));
    assert!(err.to_string().len() < 200);
}

/// An error page larger than the body limit is not read; the error must not claim the body
/// was empty.
#[tokio::test]
async fn oversized_error_body_is_not_called_empty() {
    let body = format!("<html>{}</html>", "x".repeat(MAX_BODY_BYTES));
    let server = MockServer::start_async().await;
    answer_with(&server, Op::List, 502, &edge_headers(), &body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();

    assert!(err.is_retryable());
    assert_one_line(&err);
    let shown = err.to_string();
    assert!(shown.contains("HTTP 502"), "{shown}");
    assert!(!shown.contains("empty"), "{shown}");
    let e = api(err);
    assert_eq!(e.ray_id(), Some(RAY));
    assert_ne!(e.body_excerpt(), Some(""));
}

// What waiting makes of odd answers

/// A status holding a line break and an echoed token: the error a wait ends in is one line
/// and shows no secret.
#[tokio::test]
async fn a_wait_that_times_out_shows_server_text_on_one_line_without_secrets() {
    let body = r#"{"success":true,"errors":[],"messages":[],"result":{"default":{"status":"inprogress\nFAKE LOG LINE TEST_TOKEN","percentComplete":42}}}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;
    let (client, _clock) =
        client_and_clock(&common::api_root(&server), token(), RetryPolicy::none());

    let options = cloudflare_stream::WaitOptions::default().with_timeout(Duration::from_secs(5));
    let err = client
        .wait_for_download(&video(), DownloadType::Default, &options, |_| {})
        .await
        .unwrap_err();

    let Error::WaitTimedOut { last_seen, .. } = &err else {
        panic!("expected WaitTimedOut, got {err:?}")
    };
    let status = last_seen.as_ref().unwrap().status().as_str().to_owned();
    assert_eq!(status, "inprogress\nFAKE LOG LINE [redacted]");
    let shown = err.to_string();
    assert!(
        !shown.contains('\n') && !shown.contains("TEST_TOKEN"),
        "{shown}"
    );
    assert!(
        shown.contains(r"inprogress\nFAKE LOG LINE [redacted] at 42%"),
        "{shown}"
    );
    assert!(!format!("{err:?}").contains("TEST_TOKEN"));
}

/// `ready` without a URL breaks the contract; it is not the caller's mistake.
#[tokio::test]
async fn a_ready_download_without_a_url_is_a_contract_error() {
    let body = r#"{"success":true,"errors":[],"messages":[],"result":{"default":{"status":"ready","percentComplete":100}}}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let err = client(&server)
        .wait_for_download(&video(), DownloadType::Default, &Default::default(), |_| {})
        .await
        .unwrap_err();
    let Error::Contract(c) = &err else {
        panic!("expected a contract error, got {err:?}")
    };
    assert_eq!((c.field(), c.value()), ("result.default.url", "missing"));
}

/// A URL that holds an API credential is refused rather than handed out.
#[tokio::test]
async fn a_download_url_holding_a_credential_is_a_contract_error() {
    let body = r#"{"success":true,"errors":[],"messages":[],"result":{"default":{"status":"ready","percentComplete":100,"url":"https://example.test/x.mp4?k=TEST_TOKEN"}}}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let err = client(&server).list_downloads(&video()).await.unwrap_err();
    let Error::Contract(c) = &err else {
        panic!("expected a contract error, got {err:?}")
    };
    assert_eq!(c.field(), "result.default.url");
    assert!(!format!("{err:?}").contains("TEST_TOKEN"), "{err:?}");
}

/// A percentage of -0 is shown as 0.
#[tokio::test]
async fn negative_zero_percent_reads_as_zero() {
    let body = r#"{"success":true,"errors":[],"messages":[],"result":{"default":{"status":"inprogress","percentComplete":-0.0}}}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 200, body).await;

    let downloads = client(&server).list_downloads(&video()).await.unwrap();
    let percent = downloads.default_download().unwrap().percent_complete();
    assert_eq!(format!("{percent}"), "0");
}

/// `204 No Content` is a deletion's success; for operations that return downloads it is
/// not (there is nothing to return).
#[tokio::test]
async fn no_content_is_a_deletions_success_only() {
    for (op, ok) in [
        (Op::Delete(DownloadType::Audio), true),
        (Op::DeleteDefault, true),
        (Op::List, false),
    ] {
        let server = MockServer::start_async().await;
        answer_with(&server, op, 204, &[], "").await;
        let result = op.call(&client(&server), &video()).await;
        assert_eq!(result.is_ok(), ok, "{op:?}: {result:?}");
    }
}

/// Informational messages may come without a code; the envelope still decodes.
#[tokio::test]
async fn messages_without_a_code_decode() {
    let body =
        r#"{"success":true,"errors":[],"messages":[{"message":"Download deleted"}],"result":"ok"}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::Delete(DownloadType::Audio), 200, body).await;
    client(&server)
        .delete_download(&video(), DownloadType::Audio)
        .await
        .unwrap();

    let body = r#"{"success":false,"errors":[{"message":"no code here"},{"code":10000,"message":"Authentication error"}]}"#;
    let server = MockServer::start_async().await;
    answer(&server, Op::List, 403, body).await;
    let err = client(&server).list_downloads(&video()).await.unwrap_err();
    let api = err.api_error().unwrap();
    assert_eq!(api.codes().collect::<Vec<_>>(), [10000]);
    assert_eq!(api.errors()[0].code, None);
    assert!(
        err.to_string()
            .contains("no code here; 10000 Authentication error"),
        "{err}"
    );
}
