//! The simulator on its own, driven with plain reqwest and raw TCP against its real
//! listeners on 127.0.0.1.

use std::time::{Duration, Instant};

use cloudflare_stream::simulator::{Fault, Simulator, SimulatorBuilder, VideoState};
use reqwest::{
    Method, StatusCode,
    header::{self, HeaderMap},
};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

const VIDEO: &str = "fedcba9876543210fedcba9876543210";
const OTHER_VIDEO: &str = "00112233445566778899aabbccddeeff";
const ENCODING: Duration = Duration::from_secs(10);

/// A simulator with the clock stopped and a 10-second encoding time.
async fn manual() -> Simulator {
    builder().start().await.unwrap()
}

fn builder() -> SimulatorBuilder {
    Simulator::builder().manual_time().encoding_time(ENCODING)
}

fn http() -> reqwest::Client {
    http_with_timeout(Duration::from_secs(5))
}

fn http_with_timeout(timeout: Duration) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(timeout)
        .build()
        .unwrap()
}

fn downloads(sim: &Simulator, video: &str) -> String {
    format!(
        "{}/accounts/{}/stream/{video}/downloads",
        sim.base_url(),
        sim.account_id()
    )
}

fn typed(sim: &Simulator, video: &str, kind: &str) -> String {
    format!("{}/{kind}", downloads(sim, video))
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

impl Answer {
    fn result(&self) -> &Value {
        &self.body["result"]
    }

    /// Asserts a failed envelope with one error of this code.
    fn assert_refused(&self, status: u16, code: i64) {
        assert_eq!(self.status.as_u16(), status, "{}", self.body);
        assert_eq!(self.body["success"], false, "{}", self.body);
        assert_eq!(self.body["result"], Value::Null);
        assert_eq!(self.body["messages"], json!([]));
        assert_eq!(self.body["errors"][0]["code"], code, "{}", self.body);
        assert!(self.body["errors"][0]["message"].as_str().is_some());
        assert_json_with_ray(&self.headers);
    }
}

fn assert_json_with_ray(headers: &HeaderMap) {
    assert_eq!(headers[header::CONTENT_TYPE], "application/json");
    assert!(headers.contains_key("cf-ray"));
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text:?}"));
    Answer {
        status,
        headers,
        body,
    }
}

/// A request with the bearer token, and a JSON `{}` body for POSTs.
async fn call(sim: &Simulator, method: Method, url: &str) -> Answer {
    let mut request = http()
        .request(method.clone(), url)
        .bearer_auth(sim.api_token());
    if method == Method::POST {
        request = request.json(&json!({}));
    }
    send(request).await
}

async fn ok(sim: &Simulator, method: Method, url: &str) -> Value {
    let answer = call(sim, method, url).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["success"], true);
    assert_eq!(answer.body["errors"], json!([]));
    assert_eq!(answer.body["messages"], json!([]));
    assert_json_with_ray(&answer.headers);
    answer.result().clone()
}

fn file_url(sim: &Simulator, video: &str, file: &str) -> String {
    format!("{}/{video}/downloads/{file}", sim.media_url())
}

/// Creates the default download and lets it finish.
async fn ready_default(sim: &Simulator) {
    ok(sim, Method::POST, &downloads(sim, VIDEO)).await;
    sim.advance(ENCODING);
}

/// Sends raw bytes and reads what comes back until EOF, an error or `wait` of silence.
/// Returns the bytes and whether the server closed the connection.
async fn raw(addr: std::net::SocketAddr, request: &str, wait: Duration) -> (Vec<u8>, bool) {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 8192];
    loop {
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (got, true),
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => return (got, false),
        }
    }
}

fn raw_get(sim: &Simulator, video: &str) -> String {
    format!(
        "GET /client/v4/accounts/{}/stream/{video}/downloads HTTP/1.1\r\nHost: sim\r\n\
         Authorization: Bearer {}\r\n\r\n",
        sim.account_id(),
        sim.api_token()
    )
}

/// Splits a raw response into its head and body, and reads its `Content-Length`.
fn split(raw: &[u8]) -> (String, &[u8], usize) {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..end]).to_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length: "))
        .and_then(|v| v.trim().parse().ok())
        .expect("a content-length");
    (head, &raw[end + 4..], length)
}

// ---- The API: happy paths and shapes ----

#[tokio::test]
async fn defaults_are_the_documented_ones() {
    let sim = Simulator::start().await.unwrap();
    assert!(sim.base_url().starts_with("http://127.0.0.1:"));
    assert!(sim.base_url().ends_with("/client/v4"));
    assert!(sim.media_url().starts_with("http://127.0.0.1:"));
    assert_ne!(sim.base_url(), sim.media_url());
    assert_eq!(sim.account_id(), "0123456789abcdef0123456789abcdef");
    assert_eq!(sim.api_token(), "TEST_TOKEN");
    assert_eq!(sim.email(), "dev@example.test");
    assert_eq!(sim.api_key(), "TEST_GLOBAL_KEY");
    assert_eq!(sim.sample_video_id(), VIDEO);
    sim.shutdown().await;
}

#[tokio::test]
async fn list_is_empty_before_any_download() {
    let sim = manual().await;
    assert_eq!(
        ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await,
        json!({})
    );
}

#[tokio::test]
async fn untyped_create_starts_the_default_download_keyed() {
    let sim = manual().await;
    let result = ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    assert_eq!(
        result,
        json!({"default": {"status": "inprogress", "percentComplete": 0.0}})
    );
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert_eq!(listed, result);
}

#[tokio::test]
async fn typed_create_answers_with_that_download_only() {
    let sim = manual().await;
    ok(&sim, Method::POST, &typed(&sim, VIDEO, "default")).await;
    let result = ok(&sim, Method::POST, &typed(&sim, VIDEO, "audio")).await;
    assert_eq!(
        result,
        json!({"audio": {"status": "inprogress", "percentComplete": 0.0}})
    );
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    let keys: Vec<_> = listed.as_object().unwrap().keys().cloned().collect();
    assert_eq!(keys, ["audio", "default"]);
}

#[tokio::test]
async fn progress_rises_with_the_clock_then_turns_ready_with_a_url() {
    let sim = manual().await;
    ok(&sim, Method::POST, &typed(&sim, VIDEO, "audio")).await;

    sim.advance(Duration::from_millis(2500));
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert_eq!(
        listed,
        json!({"audio": {"status": "inprogress", "percentComplete": 25.0}})
    );

    sim.advance(Duration::from_millis(7499));
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert_eq!(listed["audio"]["status"], "inprogress");
    assert_eq!(listed["audio"]["percentComplete"], 99.9);
    assert!(listed["audio"].get("url").is_none());

    sim.advance(Duration::from_millis(1));
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    let url = format!("{}/{VIDEO}/downloads/audio.m4a", sim.media_url());
    assert_eq!(
        listed,
        json!({"audio": {"status": "ready", "percentComplete": 100.0, "url": url}})
    );
}

#[tokio::test]
async fn creating_again_reports_the_download_as_it_stands() {
    let sim = manual().await;
    ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    sim.advance(Duration::from_secs(5));
    let again = ok(&sim, Method::POST, &typed(&sim, VIDEO, "default")).await;
    assert_eq!(again["default"]["percentComplete"], 50.0);
}

#[tokio::test]
async fn real_time_moves_by_itself() {
    let sim = Simulator::builder()
        .encoding_time(Duration::from_millis(100))
        .start()
        .await
        .unwrap();
    ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert_eq!(listed["default"]["status"], "ready");
}

#[tokio::test]
async fn a_video_that_fails_encoding_ends_in_error_halfway() {
    let sim = manual().await;
    sim.add_video(OTHER_VIDEO, VideoState::FailsEncoding);
    ok(&sim, Method::POST, &downloads(&sim, OTHER_VIDEO)).await;

    sim.advance(Duration::from_secs(4));
    let listed = ok(&sim, Method::GET, &downloads(&sim, OTHER_VIDEO)).await;
    assert_eq!(listed["default"]["status"], "inprogress");

    sim.advance(Duration::from_secs(1));
    let listed = ok(&sim, Method::GET, &downloads(&sim, OTHER_VIDEO)).await;
    assert_eq!(
        listed,
        json!({"default": {"status": "error", "percentComplete": 50.0}})
    );

    // The outcome was fixed at creation.
    sim.set_video(OTHER_VIDEO, VideoState::Ready);
    sim.advance(ENCODING);
    let listed = ok(&sim, Method::GET, &downloads(&sim, OTHER_VIDEO)).await;
    assert_eq!(listed["default"]["status"], "error");
}

#[tokio::test]
async fn flat_results_change_only_the_untyped_create() {
    let sim = builder().flat_results().start().await.unwrap();
    let flat = ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    assert_eq!(
        flat,
        json!({"status": "inprogress", "percentComplete": 0.0})
    );
    let keyed = ok(&sim, Method::POST, &typed(&sim, VIDEO, "audio")).await;
    assert_eq!(keyed["audio"]["status"], "inprogress");
    let listed = ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert!(listed.get("default").is_some() && listed.get("audio").is_some());
}

#[tokio::test]
async fn zero_encoding_time_is_ready_at_once() {
    let sim = builder()
        .encoding_time(Duration::ZERO)
        .start()
        .await
        .unwrap();
    let result = ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    assert_eq!(result["default"]["status"], "ready");
    assert_eq!(result["default"]["percentComplete"], 100.0);
}

#[tokio::test]
async fn delete_removes_a_download_and_refuses_a_missing_one() {
    let sim = manual().await;
    ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    ok(&sim, Method::POST, &typed(&sim, VIDEO, "audio")).await;

    let deleted = ok(&sim, Method::DELETE, &typed(&sim, VIDEO, "audio")).await;
    assert_eq!(deleted, json!("ok"));
    call(&sim, Method::DELETE, &typed(&sim, VIDEO, "audio"))
        .await
        .assert_refused(404, 10004);

    assert_eq!(
        ok(&sim, Method::DELETE, &downloads(&sim, VIDEO)).await,
        "ok"
    );
    call(&sim, Method::DELETE, &typed(&sim, VIDEO, "default"))
        .await
        .assert_refused(404, 10004);
    assert_eq!(
        ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await,
        json!({})
    );
}

// ---- The API: refusals ----

#[tokio::test]
async fn unknown_video_is_404() {
    let sim = manual().await;
    for method in [Method::GET, Method::POST, Method::DELETE] {
        call(&sim, method, &downloads(&sim, OTHER_VIDEO))
            .await
            .assert_refused(404, 10003);
    }
}

#[tokio::test]
async fn a_video_not_ready_to_view_refuses_downloads_until_it_is() {
    let sim = manual().await;
    sim.add_video(OTHER_VIDEO, VideoState::NotReady);
    call(&sim, Method::POST, &typed(&sim, OTHER_VIDEO, "audio"))
        .await
        .assert_refused(400, 10010);
    assert_eq!(
        ok(&sim, Method::GET, &downloads(&sim, OTHER_VIDEO)).await,
        json!({})
    );

    sim.set_video(OTHER_VIDEO, VideoState::Ready);
    let result = ok(&sim, Method::POST, &typed(&sim, OTHER_VIDEO, "audio")).await;
    assert_eq!(result["audio"]["status"], "inprogress");
}

#[tokio::test]
async fn paths_that_are_no_route_are_404_7003() {
    let sim = manual().await;
    let base = sim.base_url();
    let account = sim.account_id().to_owned();
    let long = "a".repeat(33);
    let urls = [
        format!("{base}/accounts/{account}/stream/{VIDEO}"),
        format!("{base}/accounts/{account}/stream/{VIDEO}/downloads/"),
        format!("{base}/accounts/{account}/stream/{VIDEO}/downloads/video"),
        format!("{base}/accounts/{account}/stream/{long}/downloads"),
        format!("{base}/accounts/{account}/stream/fedcba98%2F..%2Fx/downloads"),
        format!("{base}/accounts/0123%3Fx%3D1/stream/{VIDEO}/downloads"),
        format!("{base}/accounts/{account}/nothing"),
        format!("{base}/"),
    ];
    for url in &urls {
        call(&sim, Method::POST, url)
            .await
            .assert_refused(404, 7003);
    }
}

#[tokio::test]
async fn a_method_the_route_lacks_is_405() {
    let sim = manual().await;
    call(&sim, Method::GET, &typed(&sim, VIDEO, "default"))
        .await
        .assert_refused(405, 7001);
    call(&sim, Method::PUT, &downloads(&sim, VIDEO))
        .await
        .assert_refused(405, 7001);
}

#[tokio::test]
async fn missing_credentials_are_refused() {
    let sim = manual().await;
    send(http().get(downloads(&sim, VIDEO)))
        .await
        .assert_refused(400, 9106);
    // Half of a global key is no credential.
    send(
        http()
            .get(downloads(&sim, VIDEO))
            .header("X-Auth-Email", sim.email()),
    )
    .await
    .assert_refused(400, 9106);
}

#[tokio::test]
async fn wrong_credentials_are_refused() {
    let sim = manual().await;
    let url = downloads(&sim, VIDEO);
    send(http().get(&url).bearer_auth("WRONG"))
        .await
        .assert_refused(403, 10000);
    send(
        http()
            .get(&url)
            .header("X-Auth-Email", sim.email())
            .header("X-Auth-Key", "WRONG"),
    )
    .await
    .assert_refused(403, 9103);
    send(http().get(&url).header("X-Auth-User-Service-Key", "ANY"))
        .await
        .assert_refused(403, 10000);

    let answer = send(http().get(&url).header("Authorization", "Basic abc")).await;
    answer.assert_refused(400, 6003);
    assert_eq!(answer.body["errors"][0]["error_chain"][0]["code"], 6111);
}

#[tokio::test]
async fn two_schemes_at_once_are_refused() {
    let sim = manual().await;
    let answer = send(
        http()
            .get(downloads(&sim, VIDEO))
            .bearer_auth(sim.api_token())
            .header("X-Auth-Email", sim.email())
            .header("X-Auth-Key", sim.api_key()),
    )
    .await;
    answer.assert_refused(400, 6003);
    assert_eq!(answer.body["errors"][0]["error_chain"][0]["code"], 6112);
}

#[tokio::test]
async fn every_scheme_works_on_its_own() {
    let sim = builder()
        .api_token("T2")
        .global_key("me@example.test", "K2")
        .user_service_key("S2")
        .start()
        .await
        .unwrap();
    let url = downloads(&sim, VIDEO);
    assert_eq!(sim.api_token(), "T2");
    assert_eq!(sim.email(), "me@example.test");
    assert_eq!(sim.api_key(), "K2");

    let requests = [
        http().get(&url).bearer_auth("T2"),
        http()
            .get(&url)
            .header("X-Auth-Email", "me@example.test")
            .header("X-Auth-Key", "K2"),
        http().get(&url).header("X-Auth-User-Service-Key", "S2"),
    ];
    for request in requests {
        assert_eq!(send(request).await.status, StatusCode::OK);
    }
}

#[tokio::test]
async fn another_account_is_refused() {
    let sim = builder()
        .account_id("ffffffffffffffffffffffffffffffff")
        .start()
        .await
        .unwrap();
    let url = format!(
        "{}/accounts/0123456789abcdef0123456789abcdef/stream/{VIDEO}/downloads",
        sim.base_url()
    );
    call(&sim, Method::GET, &url)
        .await
        .assert_refused(403, 10000);
    assert_eq!(sim.account_id(), "ffffffffffffffffffffffffffffffff");
    ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
}

#[tokio::test]
async fn a_create_must_send_a_json_object() {
    let sim = manual().await;
    let url = downloads(&sim, VIDEO);
    let post = || http().post(&url).bearer_auth(sim.api_token());

    let answer = send(post()).await;
    answer.assert_refused(400, 6003);
    assert_eq!(answer.body["errors"][0]["error_chain"][0]["code"], 6105);
    send(post().header("Content-Type", "text/plain").body("{}"))
        .await
        .assert_refused(400, 6003);

    for body in ["", "nope", "[]", "null", "{"] {
        send(post().header("Content-Type", "application/json").body(body))
            .await
            .assert_refused(400, 6007);
    }
    let accepted = send(
        post()
            .header("Content-Type", "application/json; charset=utf-8")
            .body(r#"{"extra": 1}"#),
    )
    .await;
    assert_eq!(accepted.status, StatusCode::OK);

    assert_eq!(sim.api_requests(), 8);
}

// ---- The media listener ----

#[tokio::test]
async fn a_file_is_served_only_once_ready() {
    let sim = manual().await;
    let url = file_url(&sim, VIDEO, "default.mp4");
    assert_eq!(http().get(&url).send().await.unwrap().status(), 404);

    ok(&sim, Method::POST, &downloads(&sim, VIDEO)).await;
    assert_eq!(http().get(&url).send().await.unwrap().status(), 404);

    sim.advance(ENCODING);
    assert_eq!(http().get(&url).send().await.unwrap().status(), 200);
    // Only the kind that was made.
    let audio = file_url(&sim, VIDEO, "audio.m4a");
    assert_eq!(http().get(&audio).send().await.unwrap().status(), 404);
    let other = file_url(&sim, VIDEO, "default.webm");
    assert_eq!(http().get(&other).send().await.unwrap().status(), 404);
}

#[tokio::test]
async fn files_are_deterministic_and_of_the_configured_size() {
    let sim = builder().file_size(100_000).start().await.unwrap();
    ready_default(&sim).await;
    ok(&sim, Method::POST, &typed(&sim, VIDEO, "audio")).await;
    sim.advance(ENCODING);

    let response = http()
        .get(file_url(&sim, VIDEO, "default.mp4"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "video/mp4");
    assert_eq!(headers[header::CONTENT_LENGTH], "100000");
    assert_eq!(headers[header::ACCEPT_RANGES], "bytes");
    assert!(headers.contains_key("cf-ray"));
    assert!(!headers.contains_key(header::CONTENT_DISPOSITION));
    let video = response.bytes().await.unwrap();
    assert_eq!(video.len(), 100_000);
    assert_eq!(&video[4..12], b"ftypisom");
    assert_eq!(Some(video.to_vec()), sim.file_bytes(VIDEO, "default"));

    let again = http()
        .get(file_url(&sim, VIDEO, "default.mp4"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, video);

    let response = http()
        .get(file_url(&sim, VIDEO, "audio.m4a"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()[header::CONTENT_TYPE], "audio/mp4");
    let audio = response.bytes().await.unwrap();
    assert_eq!(&audio[4..12], b"ftypM4A ");
    assert_ne!(audio[64..], video[64..]);
    assert_eq!(Some(audio.to_vec()), sim.file_bytes(VIDEO, "audio"));
    assert_eq!(sim.file_bytes(VIDEO, "video"), None);
}

#[tokio::test]
async fn filename_sets_the_content_disposition() {
    let sim = manual().await;
    ready_default(&sim).await;
    let url = file_url(&sim, VIDEO, "default.mp4");

    let response = http()
        .get(format!("{url}?filename=My-clip_01"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()[header::CONTENT_DISPOSITION],
        "attachment; filename=\"My-clip_01.mp4\""
    );

    let too_long = "a".repeat(121);
    for bad in ["", "a.b", "a%20b", "x/y", too_long.as_str()] {
        let response = http()
            .get(format!("{url}?filename={bad}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "filename {bad:?}");
    }
    let longest = "a".repeat(120);
    let response = http()
        .get(format!("{url}?filename={longest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn ranges_give_206_and_416() {
    let sim = builder().file_size(1000).start().await.unwrap();
    ready_default(&sim).await;
    let url = file_url(&sim, VIDEO, "default.mp4");
    let whole = sim.file_bytes(VIDEO, "default").unwrap();

    let cases = [
        ("bytes=100-", 100, 1000),
        ("bytes=10-19", 10, 20),
        ("bytes=990-5000", 990, 1000),
        ("bytes=-24", 976, 1000),
    ];
    for (range, start, end) in cases {
        let response = http()
            .get(&url)
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 206, "{range}");
        assert_eq!(
            response.headers()[header::CONTENT_RANGE],
            format!("bytes {start}-{}/1000", end - 1).as_str()
        );
        assert_eq!(
            response.headers()[header::CONTENT_LENGTH],
            (end - start).to_string().as_str()
        );
        assert_eq!(response.bytes().await.unwrap(), whole[start..end]);
    }

    for range in ["bytes=1000-", "bytes=5000-6000"] {
        let response = http()
            .get(&url)
            .header(header::RANGE, range)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 416, "{range}");
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */1000");
    }
}

#[tokio::test]
async fn head_gives_the_headers_without_the_body() {
    let sim = builder().file_size(5000).start().await.unwrap();
    ready_default(&sim).await;
    let response = http()
        .head(file_url(&sim, VIDEO, "default.mp4"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_LENGTH], "5000");
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn media_requests_with_credentials_are_counted() {
    let sim = manual().await;
    ready_default(&sim).await;
    let url = file_url(&sim, VIDEO, "default.mp4");

    http().get(&url).send().await.unwrap();
    assert_eq!(sim.media_requests(), 1);
    assert_eq!(sim.media_requests_with_credentials(), 0);

    http()
        .get(&url)
        .bearer_auth("TEST_TOKEN")
        .send()
        .await
        .unwrap();
    http()
        .get(&url)
        .header("X-Auth-Email", "dev@example.test")
        .send()
        .await
        .unwrap();
    http()
        .get(&url)
        .header("X-Auth-Key", "TEST_GLOBAL_KEY")
        .send()
        .await
        .unwrap();
    http()
        .get(&url)
        .header("X-Auth-User-Service-Key", "x")
        .send()
        .await
        .unwrap();
    assert_eq!(sim.media_requests(), 5);
    assert_eq!(sim.media_requests_with_credentials(), 4);
    // The API listener saw none of these.
    assert_eq!(sim.api_requests(), 1);
}

// ---- Faults ----

#[tokio::test]
async fn rate_limited_with_and_without_retry_after() {
    let sim = manual().await;
    let url = downloads(&sim, VIDEO);
    sim.inject_api(
        Fault::RateLimited {
            retry_after: Some("7".into()),
        },
        1,
    );
    sim.inject_api(Fault::RateLimited { retry_after: None }, 1);

    let first = call(&sim, Method::GET, &url).await;
    first.assert_refused(429, 971);
    assert_eq!(first.headers[header::RETRY_AFTER], "7");

    let second = call(&sim, Method::GET, &url).await;
    second.assert_refused(429, 971);
    assert!(!second.headers.contains_key(header::RETRY_AFTER));

    ok(&sim, Method::GET, &url).await;
    assert_eq!(sim.api_requests(), 3);
}

#[tokio::test]
async fn html_errors_come_from_the_edge() {
    let sim = manual().await;
    for status in [502u16, 520, 522, 524] {
        sim.inject_api(Fault::HtmlError { status }, 1);
        let response = http()
            .get(downloads(&sim, VIDEO))
            .bearer_auth(sim.api_token())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status);
        let headers = response.headers().clone();
        assert!(
            headers[header::CONTENT_TYPE]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert_eq!(headers[header::SERVER], "cloudflare");
        assert!(headers.contains_key("cf-ray"));
        let body = response.text().await.unwrap();
        assert!(body.contains(&format!("<h1>{status} ")), "{body}");
    }
}

#[tokio::test]
async fn any_envelope_error_even_with_200() {
    let sim = manual().await;
    sim.inject_api(
        Fault::Status {
            status: 200,
            code: 10000,
            message: "Authentication error".into(),
        },
        1,
    );
    sim.inject_api(
        Fault::Status {
            status: 503,
            code: 10002,
            message: "Service unavailable".into(),
        },
        2,
    );
    let url = downloads(&sim, VIDEO);
    call(&sim, Method::GET, &url)
        .await
        .assert_refused(200, 10000);
    call(&sim, Method::GET, &url)
        .await
        .assert_refused(503, 10002);
    call(&sim, Method::POST, &url)
        .await
        .assert_refused(503, 10002);
    // The faulted POST made nothing.
    assert_eq!(ok(&sim, Method::GET, &url).await, json!({}));
}

#[tokio::test]
async fn faults_apply_to_the_next_requests_in_order() {
    let sim = manual().await;
    let url = downloads(&sim, VIDEO);
    sim.inject_api(Fault::HtmlError { status: 502 }, 1);
    sim.inject_api(Fault::RateLimited { retry_after: None }, 1);
    let statuses = [
        http().get(&url).send().await.unwrap().status(),
        http().get(&url).send().await.unwrap().status(),
        http().get(&url).send().await.unwrap().status(),
    ];
    // The last one reached the normal checks: no credentials.
    assert_eq!(statuses.map(|s| s.as_u16()), [502, 429, 400]);

    sim.inject_api(Fault::HtmlError { status: 502 }, 5);
    sim.clear_faults();
    assert_eq!(call(&sim, Method::GET, &url).await.status, 200);
}

#[tokio::test]
async fn delay_answers_normally_later() {
    let sim = manual().await;
    sim.inject_api(Fault::Delay(Duration::from_millis(200)), 1);
    let started = Instant::now();
    ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    assert!(started.elapsed() >= Duration::from_millis(200));
}

#[tokio::test]
async fn reset_closes_the_connection_without_a_response() {
    let sim = manual().await;
    sim.inject_api(Fault::Reset, 1);
    let (got, closed) = raw(
        sim.api_addr(),
        &raw_get(&sim, VIDEO),
        Duration::from_secs(2),
    )
    .await;
    assert!(closed);
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert_eq!(sim.api_requests(), 1);

    // reqwest sees a transport error, and the next request is fine.
    sim.inject_api(Fault::Reset, 1);
    let error = http()
        .get(downloads(&sim, VIDEO))
        .bearer_auth(sim.api_token())
        .send()
        .await
        .unwrap_err();
    assert!(!error.is_status());
    ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
}

#[tokio::test]
async fn a_reset_post_makes_nothing() {
    let sim = manual().await;
    sim.inject_api(Fault::Reset, 1);
    let url = downloads(&sim, VIDEO);
    let sent = http()
        .post(&url)
        .bearer_auth(sim.api_token())
        .json(&json!({}))
        .send()
        .await;
    assert!(sent.is_err());
    assert_eq!(ok(&sim, Method::GET, &url).await, json!({}));
}

#[tokio::test]
async fn truncated_declares_more_than_it_sends() {
    let sim = manual().await;
    sim.inject_api(Fault::Truncated, 1);
    let (got, closed) = raw(
        sim.api_addr(),
        &raw_get(&sim, VIDEO),
        Duration::from_secs(2),
    )
    .await;
    assert!(closed);
    let (head, body, length) = split(&got);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(head.contains("cf-ray: "));
    assert!(body.len() < length, "{} of {length}", body.len());
    assert!(!body.is_empty());
}

#[tokio::test]
async fn a_truncated_file_can_be_resumed_with_a_range() {
    let sim = builder().file_size(50_000).start().await.unwrap();
    ready_default(&sim).await;
    let url = file_url(&sim, VIDEO, "default.mp4");
    let whole = sim.file_bytes(VIDEO, "default").unwrap();
    sim.inject_media(Fault::Truncated, 1);

    let mut response = http().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.content_length(), Some(50_000));
    let mut got = Vec::new();
    let failed = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => got.extend_from_slice(&chunk),
            Ok(None) => break false,
            Err(_) => break true,
        }
    };
    assert!(failed, "the body must end in an error");
    assert!(!got.is_empty() && got.len() < whole.len());
    assert_eq!(got, whole[..got.len()]);

    let rest = http()
        .get(&url)
        .header(header::RANGE, format!("bytes={}-", got.len()))
        .send()
        .await
        .unwrap();
    assert_eq!(rest.status(), 206);
    got.extend_from_slice(&rest.bytes().await.unwrap());
    assert_eq!(got, whole);
    assert_eq!(sim.media_requests(), 2);
}

#[tokio::test]
async fn stall_sends_headers_then_goes_silent() {
    let sim = manual().await;
    sim.inject_api(Fault::Stall, 1);
    let (got, closed) = raw(
        sim.api_addr(),
        &raw_get(&sim, VIDEO),
        Duration::from_millis(300),
    )
    .await;
    assert!(!closed, "the connection stays open");
    let (head, body, length) = split(&got);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!body.is_empty() && body.len() < length);

    // A client with a timeout gives up.
    sim.inject_media(Fault::Stall, 1);
    ready_default(&sim).await;
    let started = Instant::now();
    let client = http_with_timeout(Duration::from_millis(300));
    let outcome = async {
        client
            .get(file_url(&sim, VIDEO, "default.mp4"))
            .send()
            .await?
            .bytes()
            .await
    }
    .await;
    assert!(outcome.unwrap_err().is_timeout());
    assert!(started.elapsed() < Duration::from_secs(2));

    // Shutdown does not wait on the stalled connections.
    let started = Instant::now();
    sim.shutdown().await;
    assert!(started.elapsed() < Duration::from_secs(1));
}

#[tokio::test]
async fn shutdown_closes_both_listeners() {
    let sim = manual().await;
    let (api, media) = (sim.api_addr(), sim.media_addr());
    ok(&sim, Method::GET, &downloads(&sim, VIDEO)).await;
    sim.shutdown().await;
    assert!(TcpStream::connect(api).await.is_err());
    assert!(TcpStream::connect(media).await.is_err());
}

#[tokio::test]
async fn dropping_shuts_down_too() {
    let sim = manual().await;
    let api = sim.api_addr();
    drop(sim);
    let mut refused = false;
    for _ in 0..50 {
        if TcpStream::connect(api).await.is_err() {
            refused = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused);
}

#[tokio::test]
async fn binds_where_asked() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = probe.local_addr().unwrap();
    drop(probe);
    let sim = Simulator::builder().bind(addr).start().await.unwrap();
    assert_eq!(sim.api_addr(), addr);
    assert_eq!(sim.base_url(), format!("http://{addr}/client/v4"));
}
