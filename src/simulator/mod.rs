//! A local server that implements Cloudflare Stream's downloads API, for offline use and
//! tests.
//!
//! The simulator is an implementation of the contract written independently of this
//! crate's client: it shares no types with it, so it catches the client's mistakes instead
//! of repeating them. It runs two HTTP listeners on 127.0.0.1:
//!
//! - the **API listener** ([`Simulator::base_url`]) answers the five downloads operations
//!   under `/client/v4/accounts/{account_id}/stream/{video}/downloads[/{default|audio}]`
//!   in Cloudflare's envelope, `{"success", "errors", "messages", "result"}`;
//! - the **media listener** ([`Simulator::media_url`]) stands for the separate host that
//!   serves the files, at `/{video}/downloads/default.mp4` and `/{video}/downloads/audio.m4a`.
//!
//! A download is created `inprogress` and its `percentComplete` rises linearly over the
//! encoding time ([`SimulatorBuilder::encoding_time`]); it then turns `ready` with a `url`
//! on the media listener. A video in [`VideoState::FailsEncoding`] ends in `error` halfway.
//! Time is real by default; [`SimulatorBuilder::manual_time`] makes it move only by
//! [`Simulator::advance`], so tests are deterministic.
//!
//! Faults are queued per listener with [`Simulator::inject_api`] and
//! [`Simulator::inject_media`] and hit the next requests in order; see [`Fault`].
//!
//! # Requests the API listener refuses
//!
//! Checked in this order; every refusal is an envelope with `success: false`, one error
//! and `result: null`. Codes marked *simulator* are this server's choice where Cloudflare
//! documents none.
//!
//! | situation | status | code | message |
//! |---|---|---|---|
//! | path that is no route, or an id that is not 1–32 letters and digits | 404 | 7003 | `No route for the URI` |
//! | method the route does not have (e.g. GET on `…/downloads/audio`) | 405 | 7001 | `Method not allowed` |
//! | no credentials, or only one of `X-Auth-Email`/`X-Auth-Key` | 400 | 9106 | `Missing X-Auth-Key, X-Auth-Email or Authorization headers` |
//! | more than one credential scheme | 400 | 6003 (`error_chain`: 6112) | `Invalid request headers` |
//! | `Authorization` that is not `Bearer <token>` | 400 | 6003 (`error_chain`: 6111) | `Invalid request headers` |
//! | wrong token or user service key | 403 | 10000 | `Authentication error` |
//! | wrong email or global key | 403 | 9103 | `Unknown X-Auth-Key or X-Auth-Email` |
//! | account id other than the simulator's | 403 | 10000 | `Authentication error` |
//! | POST without `Content-Type: application/json` | 400 | 6003 (`error_chain`: 6105) | `Invalid request headers` |
//! | POST whose body is not a JSON object | 400 | 6007 | `Malformed JSON in request body: …` |
//! | unknown video | 404 | 10003 (*simulator*) | `Video not found` |
//! | creating a download of a video not ready to view | 400 | 10010 (*simulator*) | `Video is not ready to view; …` |
//! | deleting a download that does not exist | 404 | 10004 (*simulator*) | `Download not found` |
//! | [`Fault::RateLimited`] | 429 | 971 | `Please wait and consider throttling your request speed` |
//!
//! Every answer of both listeners carries a `cf-ray` header and `Server: cloudflare`; the
//! API's answers are `application/json` except the HTML of [`Fault::HtmlError`].
//!
//! # Results
//!
//! - GET: keyed, `{"default": {…}, "audio": {…}}`, only the downloads that exist.
//! - POST `…/downloads/{type}`: keyed, with the one download asked for.
//! - POST `…/downloads`: keyed with `default`, or the flat download object with
//!   [`SimulatorBuilder::flat_results`].
//! - DELETE: the string `"ok"`.
//!
//! Creating a download that exists returns it as it stands; the state a download ends in
//! is fixed when it is created.
//!
//! # The media listener
//!
//! Serves a file only once its download is `ready` (404 otherwise), with `Content-Length`,
//! `Accept-Ranges: bytes`, `Content-Type` `video/mp4` or `audio/mp4`, single byte ranges
//! (206 with `Content-Range`, 416 when unsatisfiable) and HEAD. `?filename=NAME` (1–120
//! characters of `A-Z a-z 0-9 - _`, else 400) adds `Content-Disposition: attachment`.
//! The bytes are those of [`Simulator::file_bytes`]. It counts requests that carry API
//! credentials ([`Simulator::media_requests_with_credentials`]), which a client must never
//! send there.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use cloudflare_stream::simulator::Simulator;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let sim = Simulator::builder().manual_time().start().await?;
//! let url = format!(
//!     "{}/accounts/{}/stream/{}/downloads",
//!     sim.base_url(),
//!     sim.account_id(),
//!     sim.sample_video_id()
//! );
//! let http = reqwest::Client::builder().no_proxy().build()?;
//!
//! let created: serde_json::Value = http
//!     .post(&url)
//!     .bearer_auth(sim.api_token())
//!     .json(&serde_json::json!({}))
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(created["result"]["default"]["status"], "inprogress");
//!
//! sim.advance(Duration::from_secs(60));
//! let listed: serde_json::Value = http
//!     .get(&url)
//!     .bearer_auth(sim.api_token())
//!     .send()
//!     .await?
//!     .json()
//!     .await?;
//! assert_eq!(listed["result"]["default"]["status"], "ready");
//! sim.shutdown().await;
//! # Ok(())
//! # }
//! ```

mod api;
mod envelope;
mod faults;
mod media;
mod server;
mod state;

use std::{
    fmt,
    net::{Ipv4Addr, SocketAddr},
    sync::{Arc, atomic::Ordering},
    time::Duration,
};

use tokio::{net::TcpListener, sync::watch, task::JoinHandle};

use self::{
    server::Listener,
    state::{Config, Kind, Shared},
};

/// The account id a simulator uses unless told otherwise.
pub const DEFAULT_ACCOUNT_ID: &str = "0123456789abcdef0123456789abcdef";
/// The API token a simulator accepts unless told otherwise.
pub const DEFAULT_API_TOKEN: &str = "TEST_TOKEN";
/// The email of the global API key a simulator accepts unless told otherwise.
pub const DEFAULT_EMAIL: &str = "dev@example.test";
/// The global API key a simulator accepts unless told otherwise.
pub const DEFAULT_API_KEY: &str = "TEST_GLOBAL_KEY";
/// The video every simulator starts with, ready to view.
pub const SAMPLE_VIDEO_ID: &str = "fedcba9876543210fedcba9876543210";
/// How long a download takes to encode unless told otherwise.
pub const DEFAULT_ENCODING_TIME: Duration = Duration::from_millis(1500);
/// The size of every served file unless told otherwise: 256 KiB.
pub const DEFAULT_FILE_SIZE: u64 = 256 * 1024;

/// The state of a video in the simulator's catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum VideoState {
    /// Ready to view: downloads can be created and encode to `ready`.
    Ready,
    /// Still processing: creating a download is refused with a 400.
    NotReady,
    /// Ready to view, but every download created from now on ends in `error` halfway.
    FailsEncoding,
}

/// A misbehaviour injected into the next requests of one listener.
///
/// Faults take effect in the order they were injected, one per request, whatever the
/// request; the request still counts in [`Simulator::api_requests`] or
/// [`Simulator::media_requests`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Fault {
    /// A 429 envelope with code 971, and `Retry-After` with this value when given.
    RateLimited {
        /// The `Retry-After` header, verbatim (seconds or an HTTP date).
        retry_after: Option<String>,
    },
    /// An HTML error page from the edge, as on 502, 520, 522 or 524: `Content-Type:
    /// text/html`, `Server: cloudflare` and a `cf-ray` header. An invalid status gives 500.
    HtmlError {
        /// The HTTP status.
        status: u16,
    },
    /// Any envelope error, such as 503 or a 200 with `success: false`. An invalid status
    /// gives 500.
    Status {
        /// The HTTP status.
        status: u16,
        /// The code of the one error in `errors`.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The normal answer after this much real time (cut short by shutdown).
    Delay(Duration),
    /// The connection closes without any response. The request is not acted on.
    Reset,
    /// The normal answer's headers, with its full `Content-Length`, then the first half of
    /// its body, then the connection closes. The request is acted on.
    Truncated,
    /// The normal answer's headers and the first half of its body, then silence, with the
    /// connection open until the simulator shuts down. The request is acted on.
    Stall,
}

/// Configures a [`Simulator`]; made by [`Simulator::builder`].
#[derive(Clone)]
pub struct SimulatorBuilder {
    bind: SocketAddr,
    media_bind: SocketAddr,
    config: Config,
    manual_time: bool,
}

impl fmt::Debug for SimulatorBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimulatorBuilder")
            .field("bind", &self.bind)
            .field("media_bind", &self.media_bind)
            .field("account_id", &self.config.account_id)
            .field("encoding_time", &self.config.encoding_time)
            .field("file_size", &self.config.file_size)
            .field("flat_results", &self.config.flat_results)
            .field("manual_time", &self.manual_time)
            .finish_non_exhaustive()
    }
}

impl Default for SimulatorBuilder {
    fn default() -> Self {
        let local = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        SimulatorBuilder {
            bind: local,
            media_bind: local,
            config: Config {
                account_id: DEFAULT_ACCOUNT_ID.to_owned(),
                api_token: DEFAULT_API_TOKEN.to_owned(),
                email: DEFAULT_EMAIL.to_owned(),
                api_key: DEFAULT_API_KEY.to_owned(),
                user_service_key: None,
                encoding_time: DEFAULT_ENCODING_TIME,
                file_size: DEFAULT_FILE_SIZE,
                flat_results: false,
            },
            manual_time: false,
        }
    }
}

impl SimulatorBuilder {
    /// The address of the API listener; 127.0.0.1 on a free port by default.
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        self.bind = addr;
        self
    }

    /// The address of the media listener; 127.0.0.1 on a free port by default.
    pub fn media_bind(mut self, addr: SocketAddr) -> Self {
        self.media_bind = addr;
        self
    }

    /// The account the API answers for; [`DEFAULT_ACCOUNT_ID`] by default.
    pub fn account_id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.config.account_id);
        self
    }

    /// The API token accepted as `Authorization: Bearer`; [`DEFAULT_API_TOKEN`] by default.
    pub fn api_token(mut self, token: &str) -> Self {
        token.clone_into(&mut self.config.api_token);
        self
    }

    /// The email and global API key accepted as `X-Auth-Email` and `X-Auth-Key`;
    /// [`DEFAULT_EMAIL`] and [`DEFAULT_API_KEY`] by default.
    pub fn global_key(mut self, email: &str, key: &str) -> Self {
        email.clone_into(&mut self.config.email);
        key.clone_into(&mut self.config.api_key);
        self
    }

    /// A key accepted as `X-Auth-User-Service-Key`; by default that scheme is refused.
    pub fn user_service_key(mut self, key: &str) -> Self {
        self.config.user_service_key = Some(key.to_owned());
        self
    }

    /// How long a download takes from 0 % to 100 %; [`DEFAULT_ENCODING_TIME`] by default.
    /// Zero makes downloads ready as soon as they are created.
    pub fn encoding_time(mut self, d: Duration) -> Self {
        self.config.encoding_time = d;
        self
    }

    /// Stops the clock: encoding time passes only through [`Simulator::advance`].
    pub fn manual_time(mut self) -> Self {
        self.manual_time = true;
        self
    }

    /// The size in bytes of every served file; [`DEFAULT_FILE_SIZE`] by default.
    pub fn file_size(mut self, bytes: u64) -> Self {
        self.config.file_size = bytes;
        self
    }

    /// Answers the untyped `POST …/downloads` with the download object itself as `result`
    /// (the older, flat shape) instead of keyed by type.
    pub fn flat_results(mut self) -> Self {
        self.config.flat_results = true;
        self
    }

    /// Binds both listeners and starts serving, on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// The error of binding either listener, such as an address in use.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn start(self) -> std::io::Result<Simulator> {
        let api = TcpListener::bind(self.bind).await?;
        let media = TcpListener::bind(self.media_bind).await?;
        let api_addr = api.local_addr()?;
        let media_addr = media.local_addr()?;

        let media_url = format!("http://{media_addr}");
        let shared = Arc::new(Shared::new(self.config, media_url, self.manual_time));
        shared.catalogue.add(SAMPLE_VIDEO_ID, VideoState::Ready);

        let (stop, stopping) = watch::channel(false);
        let tasks = vec![
            tokio::spawn(server::run(
                api,
                Listener::Api,
                api::router(Arc::clone(&shared)),
                Arc::clone(&shared),
                stopping.clone(),
            )),
            tokio::spawn(server::run(
                media,
                Listener::Media,
                media::router(Arc::clone(&shared)),
                Arc::clone(&shared),
                stopping,
            )),
        ];
        Ok(Simulator {
            shared,
            api_addr,
            media_addr,
            stop,
            tasks,
        })
    }
}

/// A running simulator. Dropping it shuts it down in the background; [`Simulator::shutdown`]
/// waits until it has.
pub struct Simulator {
    shared: Arc<Shared>,
    api_addr: SocketAddr,
    media_addr: SocketAddr,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("api", &self.api_addr)
            .field("media", &self.media_addr)
            .field("account_id", &self.shared.config.account_id)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Starts a simulator with every default: real time, ephemeral ports.
    ///
    /// # Errors
    ///
    /// The error of binding either listener.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn start() -> std::io::Result<Simulator> {
        Simulator::builder().start().await
    }

    /// A builder to configure a simulator before starting it.
    pub fn builder() -> SimulatorBuilder {
        SimulatorBuilder::default()
    }

    /// The API root, such as `http://127.0.0.1:PORT/client/v4`, without a trailing slash.
    pub fn base_url(&self) -> String {
        format!("http://{}{}", self.api_addr, api::PREFIX)
    }

    /// The root of the media listener, such as `http://127.0.0.1:PORT`; download URLs
    /// start with it.
    pub fn media_url(&self) -> String {
        self.shared.media_url.clone()
    }

    /// The address the API listener is bound to.
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// The address the media listener is bound to.
    pub fn media_addr(&self) -> SocketAddr {
        self.media_addr
    }

    /// The account the API answers for.
    pub fn account_id(&self) -> &str {
        &self.shared.config.account_id
    }

    /// The API token accepted as `Authorization: Bearer`.
    pub fn api_token(&self) -> &str {
        &self.shared.config.api_token
    }

    /// The email accepted as `X-Auth-Email` with [`Simulator::api_key`].
    pub fn email(&self) -> &str {
        &self.shared.config.email
    }

    /// The global API key accepted as `X-Auth-Key` with [`Simulator::email`].
    pub fn api_key(&self) -> &str {
        &self.shared.config.api_key
    }

    /// The video every simulator starts with, ready to view: [`SAMPLE_VIDEO_ID`].
    pub fn sample_video_id(&self) -> &str {
        SAMPLE_VIDEO_ID
    }

    /// Adds a video to the catalogue, replacing any video of that id and its downloads.
    /// The id is taken as given, so ids the API would refuse can be stored but never reached.
    pub fn add_video(&self, id: &str, video: VideoState) {
        self.shared.catalogue.add(id, video);
    }

    /// Changes the state of a video and keeps its downloads (adding the video if missing).
    /// Downloads already created keep the outcome they were created with.
    pub fn set_video(&self, id: &str, video: VideoState) {
        self.shared.catalogue.set(id, video);
    }

    /// Moves the simulated encoding clock forward. With [`SimulatorBuilder::manual_time`]
    /// this is the only way it moves; in real time it adds to the time that passes anyway.
    pub fn advance(&self, by: Duration) {
        self.shared.clock.advance(by);
    }

    /// Makes the next `times` requests to the API listener meet `fault`, after any faults
    /// already queued.
    pub fn inject_api(&self, fault: Fault, times: usize) {
        self.shared.api_faults.push(fault, times);
    }

    /// Makes the next `times` requests to the media listener meet `fault`, after any faults
    /// already queued.
    pub fn inject_media(&self, fault: Fault, times: usize) {
        self.shared.media_faults.push(fault, times);
    }

    /// Drops every fault still queued on both listeners.
    pub fn clear_faults(&self) {
        self.shared.api_faults.clear();
        self.shared.media_faults.clear();
    }

    /// How many requests the API listener has received, faulted ones included.
    pub fn api_requests(&self) -> usize {
        self.shared.api_hits.load(Ordering::Relaxed)
    }

    /// How many requests the media listener has received, faulted ones included.
    pub fn media_requests(&self) -> usize {
        self.shared.media_hits.load(Ordering::Relaxed)
    }

    /// How many requests to the media listener carried `Authorization`, `X-Auth-Email`,
    /// `X-Auth-Key` or `X-Auth-User-Service-Key`. A client that keeps its credentials to
    /// the API leaves this at zero.
    pub fn media_requests_with_credentials(&self) -> usize {
        self.shared
            .media_hits_with_credentials
            .load(Ordering::Relaxed)
    }

    /// The exact bytes the media listener serves for a download of `download_type`
    /// (`"default"` or `"audio"`; `None` for anything else), whatever its state. The whole
    /// file is built in memory.
    pub fn file_bytes(&self, video_id: &str, download_type: &str) -> Option<Vec<u8>> {
        let kind = Kind::from_key(download_type)?;
        Some(media::file_bytes(
            video_id,
            kind,
            self.shared.config.file_size,
        ))
    }

    /// Stops accepting connections, lets open ones finish their current request (for at
    /// most two seconds; stalled answers are closed at once), and waits until both
    /// listeners are closed.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        for task in std::mem::take(&mut self.tasks) {
            // A listener task that panicked or was cancelled has stopped all the same.
            let _ = task.await;
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}
