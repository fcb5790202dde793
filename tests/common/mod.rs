//! What the integration tests share: the made-up ids and secrets, clients pointed at a local
//! server, the five operations as values, and a clock that never waits.
//!
//! Each test binary uses a different part of this module.
#![allow(dead_code)]

use std::{
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime},
};

use cloudflare_stream::{
    AccountId, Client, Credentials, DownloadType, RetryPolicy, VideoId,
    clock::{Clock, Sleep},
    simulator::Simulator,
};
use httpmock::{Method, Mock, MockServer};

pub const ACCOUNT: &str = "0123456789abcdef0123456789abcdef";
pub const VIDEO: &str = "fedcba9876543210fedcba9876543210";
pub const TOKEN: &str = "TEST_TOKEN";
pub const EMAIL: &str = "dev@example.test";
pub const GLOBAL_KEY: &str = "TEST_GLOBAL_KEY";
pub const SERVICE_KEY: &str = "v1.0-TEST_SERVICE_KEY";

/// The path every downloads operation starts with, under the `/client/v4` root.
pub const DOWNLOADS: &str = "/client/v4/accounts/0123456789abcdef0123456789abcdef/stream/fedcba9876543210fedcba9876543210/downloads";

/// A success body in the keyed shape with both downloads; every operation accepts it.
pub const BOTH_DOWNLOADS: &str = include_str!("../fixtures/list_both.json");

pub fn video() -> VideoId {
    VideoId::new(VIDEO).expect("the test video id is valid")
}

pub fn account() -> AccountId {
    AccountId::new(ACCOUNT).expect("the test account id is valid")
}

pub fn token() -> Credentials {
    Credentials::api_token(TOKEN).expect("the test token is valid")
}

/// The API root on a local mock server.
pub fn api_root(server: &MockServer) -> String {
    server.url("/client/v4")
}

/// A token client for `server` that never retries.
pub fn client(server: &MockServer) -> Client {
    client_for(&api_root(server), token(), RetryPolicy::none())
}

/// A client with the given root, credentials and retry policy, and a clock that never
/// waits, so no test sleeps for real.
pub fn client_for(root: &str, credentials: Credentials, retry: RetryPolicy) -> Client {
    client_and_clock(root, credentials, retry).0
}

/// As [`client_for`], also handing back the clock to read the sleeps it was asked for.
pub fn client_and_clock(
    root: &str,
    credentials: Credentials,
    retry: RetryPolicy,
) -> (Client, Arc<InstantClock>) {
    let clock = Arc::new(InstantClock::default());
    let client = Client::builder()
        .credentials(credentials)
        .account_id(account())
        .base_url(root)
        .retry(retry)
        .timeout(Duration::from_secs(10))
        .clock(clock.clone())
        .build()
        .expect("a client for a local server builds");
    (client, clock)
}

/// A token client for the simulator, with the default retry policy less its jitter.
pub fn sim_client(simulator: &Simulator, clock: Arc<dyn Clock>) -> Client {
    Client::builder()
        .credentials(Credentials::api_token(simulator.api_token()).expect("a valid token"))
        .account_id(simulator.account_id().parse().expect("a valid account id"))
        .base_url(simulator.base_url())
        .retry(RetryPolicy::default().without_jitter())
        .timeout(Duration::from_secs(5))
        .clock(clock)
        .build()
        .expect("a client for the simulator builds")
}

/// The five operations; the typed ones for either download type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    List,
    Create(DownloadType),
    CreateDefault,
    Delete(DownloadType),
    DeleteDefault,
}

impl Op {
    /// Every operation, each typed one once per type.
    pub const ALL: [Op; 7] = [
        Op::List,
        Op::Create(DownloadType::Default),
        Op::Create(DownloadType::Audio),
        Op::CreateDefault,
        Op::Delete(DownloadType::Default),
        Op::Delete(DownloadType::Audio),
        Op::DeleteDefault,
    ];

    pub fn method(self) -> Method {
        match self {
            Op::List => Method::GET,
            Op::Create(_) | Op::CreateDefault => Method::POST,
            Op::Delete(_) | Op::DeleteDefault => Method::DELETE,
        }
    }

    /// The exact path the operation must request.
    pub fn path(self) -> String {
        match self {
            Op::List | Op::CreateDefault | Op::DeleteDefault => DOWNLOADS.to_owned(),
            Op::Create(t) | Op::Delete(t) => format!("{DOWNLOADS}/{t}"),
        }
    }

    /// Calls the operation, keeping only whether it succeeded.
    pub async fn call(self, client: &Client, video: &VideoId) -> cloudflare_stream::Result<()> {
        match self {
            Op::List => client.list_downloads(video).await.map(drop),
            Op::Create(t) => client.create_download(video, t).await.map(drop),
            Op::CreateDefault => client.create_default_download(video).await.map(drop),
            Op::Delete(t) => client.delete_download(video, t).await,
            Op::DeleteDefault => client.delete_default_download(video).await,
        }
    }
}

/// A clock whose sleeps return at once and are recorded, and whose time moves only by
/// those sleeps.
pub struct InstantClock {
    start: Instant,
    wall: SystemTime,
    slept: Mutex<Vec<Duration>>,
    /// Called with every sleep, such as to move a simulator's encoding clock along.
    on_sleep: Option<Box<dyn Fn(Duration) + Send + Sync>>,
}

impl std::fmt::Debug for InstantClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InstantClock")
            .field("slept", &self.sleeps())
            .finish()
    }
}

impl Default for InstantClock {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            // 2024-01-01T00:00:00Z
            wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_704_067_200),
            slept: Mutex::new(Vec::new()),
            on_sleep: None,
        }
    }
}

impl InstantClock {
    /// A clock whose sleeps also move the simulator's (manual) encoding clock, so waiting
    /// for a download takes no real time.
    pub fn driving(simulator: Arc<Simulator>) -> Arc<Self> {
        Arc::new(Self {
            on_sleep: Some(Box::new(move |d| simulator.advance(d))),
            ..Self::default()
        })
    }

    /// Every sleep asked for, in order.
    pub fn sleeps(&self) -> Vec<Duration> {
        self.slept.lock().expect("not poisoned").clone()
    }

    fn elapsed(&self) -> Duration {
        self.sleeps().iter().sum()
    }
}

impl Clock for InstantClock {
    fn now(&self) -> Instant {
        self.start + self.elapsed()
    }

    fn wall(&self) -> SystemTime {
        self.wall + self.elapsed()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        self.slept.lock().expect("not poisoned").push(duration);
        if let Some(hook) = &self.on_sleep {
            hook(duration);
        }
        Box::pin(std::future::ready(()))
    }
}

/// Mocks `op` to answer `status` with `body` as JSON, then adds a catch-all that answers
/// anything else with 599, so a wrong route fails loudly.
pub async fn answer<'a>(server: &'a MockServer, op: Op, status: u16, body: &str) -> Mock<'a> {
    let mock = server
        .mock_async(|when, then| {
            when.method(op.method()).path(op.path());
            then.status(status)
                .header("content-type", "application/json")
                .body(body);
        })
        .await;
    catch_all(server).await;
    mock
}

/// A mock that matches any request and answers 599. Added last, it only sees requests no
/// other mock took; its hit count says how many of those there were.
pub async fn catch_all(server: &MockServer) -> Mock<'_> {
    server
        .mock_async(|when, then| {
            when.any_request();
            then.status(599).body("unexpected request");
        })
        .await
}
