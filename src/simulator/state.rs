//! The catalogue of videos and their downloads, the simulated encoding clock, and the
//! counters and fault queues shared by both listeners.

use std::{
    collections::{BTreeMap, HashMap, VecDeque},
    sync::{
        Mutex, MutexGuard,
        atomic::{AtomicU64, AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use super::{Fault, VideoState};

/// Where in its encoding a download of a video that fails encoding gives up.
const FAILS_AT: f64 = 0.5;

/// Locks a mutex, carrying on with the data if a panicking thread poisoned it: every value
/// behind these locks stays consistent between statements, so the data is still good.
pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The two kinds of download a video can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Kind {
    Default,
    Audio,
}

impl Kind {
    /// Both kinds, in the order the API lists them.
    pub(super) const ALL: [Kind; 2] = [Kind::Default, Kind::Audio];

    /// The name used in paths and as the key of keyed results.
    pub(super) fn key(self) -> &'static str {
        match self {
            Kind::Default => "default",
            Kind::Audio => "audio",
        }
    }

    /// The file name under `/{video}/downloads/` on the media host.
    pub(super) fn file_name(self) -> &'static str {
        match self {
            Kind::Default => "default.mp4",
            Kind::Audio => "audio.m4a",
        }
    }

    /// The extension added to a `?filename=` name.
    pub(super) fn extension(self) -> &'static str {
        match self {
            Kind::Default => "mp4",
            Kind::Audio => "m4a",
        }
    }

    /// The media type the file is served with.
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Kind::Default => "video/mp4",
            Kind::Audio => "audio/mp4",
        }
    }

    pub(super) fn from_key(key: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.key() == key)
    }

    pub(super) fn from_file_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.file_name() == name)
    }
}

/// The simulated clock that encoding progress is measured on.
#[derive(Debug)]
pub(super) struct SimClock {
    origin: Instant,
    manual: bool,
    advanced: Mutex<Duration>,
}

impl SimClock {
    pub(super) fn new(manual: bool) -> SimClock {
        SimClock {
            origin: Instant::now(),
            manual,
            advanced: Mutex::new(Duration::ZERO),
        }
    }

    /// Simulated time since the simulator started.
    pub(super) fn now(&self) -> Duration {
        let advanced = *lock(&self.advanced);
        if self.manual {
            advanced
        } else {
            self.origin.elapsed().saturating_add(advanced)
        }
    }

    /// Moves the clock forward; in real time this adds to the time that has passed anyway.
    pub(super) fn advance(&self, by: Duration) {
        let mut advanced = lock(&self.advanced);
        *advanced = advanced.saturating_add(by);
    }
}

/// Where a download's encoding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Status {
    InProgress,
    Ready,
    Error,
}

impl Status {
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Status::InProgress => "inprogress",
            Status::Ready => "ready",
            Status::Error => "error",
        }
    }
}

/// A download as the API reports it at one instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct DownloadView {
    pub(super) kind: Kind,
    pub(super) status: Status,
    pub(super) percent: f64,
}

/// A download that has been asked for.
#[derive(Debug, Clone, Copy)]
struct Record {
    created_at: Duration,
    /// Fixed when the download is created, so a later change of the video's state does not
    /// rewrite the history of downloads already under way.
    fails: bool,
}

#[derive(Debug)]
struct Video {
    state: VideoState,
    downloads: BTreeMap<Kind, Record>,
}

/// Why the catalogue refused an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    UnknownVideo,
    NotReady,
    NoDownload,
}

/// Every video the simulator knows, with its downloads.
#[derive(Debug, Default)]
pub(super) struct Catalogue {
    videos: Mutex<HashMap<String, Video>>,
}

impl Catalogue {
    /// Adds a video, replacing any video of that id together with its downloads.
    pub(super) fn add(&self, id: &str, state: VideoState) {
        let video = Video {
            state,
            downloads: BTreeMap::new(),
        };
        lock(&self.videos).insert(id.to_owned(), video);
    }

    /// Changes a video's state and keeps its downloads; adds the video if it is missing.
    pub(super) fn set(&self, id: &str, state: VideoState) {
        lock(&self.videos)
            .entry(id.to_owned())
            .and_modify(|v| v.state = state)
            .or_insert_with(|| Video {
                state,
                downloads: BTreeMap::new(),
            });
    }

    /// Every download of a video, in key order.
    pub(super) fn list(
        &self,
        id: &str,
        now: Duration,
        encoding: Duration,
    ) -> Result<Vec<DownloadView>, Refusal> {
        let videos = lock(&self.videos);
        let video = videos.get(id).ok_or(Refusal::UnknownVideo)?;
        Ok(video
            .downloads
            .iter()
            .map(|(kind, record)| view(*kind, record, now, encoding))
            .collect())
    }

    /// Creates a download, or reports the one that already exists.
    pub(super) fn create(
        &self,
        id: &str,
        kind: Kind,
        now: Duration,
        encoding: Duration,
    ) -> Result<DownloadView, Refusal> {
        let mut videos = lock(&self.videos);
        let video = videos.get_mut(id).ok_or(Refusal::UnknownVideo)?;
        if let Some(record) = video.downloads.get(&kind) {
            return Ok(view(kind, record, now, encoding));
        }
        let fails = match video.state {
            VideoState::Ready => false,
            VideoState::FailsEncoding => true,
            VideoState::NotReady => return Err(Refusal::NotReady),
        };
        let record = Record {
            created_at: now,
            fails,
        };
        video.downloads.insert(kind, record);
        Ok(view(kind, &record, now, encoding))
    }

    pub(super) fn delete(&self, id: &str, kind: Kind) -> Result<(), Refusal> {
        let mut videos = lock(&self.videos);
        let video = videos.get_mut(id).ok_or(Refusal::UnknownVideo)?;
        video
            .downloads
            .remove(&kind)
            .map(|_| ())
            .ok_or(Refusal::NoDownload)
    }

    /// Whether the file of that download can be fetched.
    pub(super) fn is_ready(&self, id: &str, kind: Kind, now: Duration, encoding: Duration) -> bool {
        matches!(
            self.list(id, now, encoding)
                .ok()
                .and_then(|all| all.into_iter().find(|d| d.kind == kind)),
            Some(DownloadView {
                status: Status::Ready,
                ..
            })
        )
    }
}

/// Progress rises linearly with time; a failing download stops at [`FAILS_AT`].
fn view(kind: Kind, record: &Record, now: Duration, encoding: Duration) -> DownloadView {
    let elapsed = now.saturating_sub(record.created_at);
    let fraction = if encoding.is_zero() {
        1.0
    } else {
        (elapsed.as_secs_f64() / encoding.as_secs_f64()).min(1.0)
    };
    let (status, fraction) = if record.fails && fraction >= FAILS_AT {
        (Status::Error, FAILS_AT)
    } else if fraction >= 1.0 {
        (Status::Ready, 1.0)
    } else {
        (Status::InProgress, fraction)
    };
    // One decimal place, rounded down, so 100 only ever appears with `ready`.
    let percent = (fraction * 1000.0).floor() / 10.0;
    DownloadView {
        kind,
        status,
        percent,
    }
}

/// Faults waiting for the next requests of one listener, first in first out.
#[derive(Debug, Default)]
pub(super) struct FaultQueue {
    queue: Mutex<VecDeque<Fault>>,
}

impl FaultQueue {
    pub(super) fn push(&self, fault: Fault, times: usize) {
        lock(&self.queue).extend(std::iter::repeat_n(fault, times));
    }

    pub(super) fn next(&self) -> Option<Fault> {
        lock(&self.queue).pop_front()
    }

    pub(super) fn clear(&self) {
        lock(&self.queue).clear();
    }
}

/// What the simulator was configured with, fixed once it starts.
#[derive(Debug, Clone)]
pub(super) struct Config {
    pub(super) account_id: String,
    pub(super) api_token: String,
    pub(super) email: String,
    pub(super) api_key: String,
    pub(super) user_service_key: Option<String>,
    pub(super) encoding_time: Duration,
    pub(super) file_size: u64,
    pub(super) flat_results: bool,
}

/// Everything both listeners share.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) config: Config,
    /// Root of the media listener, without a trailing slash; download URLs start with it.
    pub(super) media_url: String,
    pub(super) clock: SimClock,
    pub(super) catalogue: Catalogue,
    pub(super) api_faults: FaultQueue,
    pub(super) media_faults: FaultQueue,
    pub(super) api_hits: AtomicUsize,
    pub(super) media_hits: AtomicUsize,
    pub(super) media_hits_with_credentials: AtomicUsize,
    rays: AtomicU64,
}

impl Shared {
    pub(super) fn new(config: Config, media_url: String, manual_time: bool) -> Shared {
        Shared {
            config,
            media_url,
            clock: SimClock::new(manual_time),
            catalogue: Catalogue::default(),
            api_faults: FaultQueue::default(),
            media_faults: FaultQueue::default(),
            api_hits: AtomicUsize::new(0),
            media_hits: AtomicUsize::new(0),
            media_hits_with_credentials: AtomicUsize::new(0),
            rays: AtomicU64::new(0),
        }
    }

    /// A fresh ray id in the shape Cloudflare uses: 16 hex digits and a location.
    pub(super) fn next_ray(&self) -> String {
        let n = self.rays.fetch_add(1, Ordering::Relaxed);
        format!("{:016x}-SIM", mix(n ^ 0x5eed_cafe_f00d_d00d))
    }

    pub(super) fn now(&self) -> Duration {
        self.clock.now()
    }
}

/// SplitMix64's finaliser: a cheap, well-spread hash of one word.
pub(super) fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Duration = Duration::from_secs(1);

    #[test]
    fn progress_is_linear_then_ready() {
        let record = Record {
            created_at: SECOND,
            fails: false,
        };
        let at = |s: f64| {
            view(
                Kind::Default,
                &record,
                Duration::from_secs_f64(s),
                2 * SECOND,
            )
        };
        assert_eq!(at(1.0).percent, 0.0);
        assert_eq!(at(1.5).percent, 25.0);
        assert_eq!(at(2.999).status, Status::InProgress);
        assert_eq!(at(3.0).status, Status::Ready);
        assert_eq!(at(30.0).percent, 100.0);
    }

    #[test]
    fn failing_download_stops_halfway() {
        let record = Record {
            created_at: Duration::ZERO,
            fails: true,
        };
        let at = |s: f64| view(Kind::Audio, &record, Duration::from_secs_f64(s), 2 * SECOND);
        assert_eq!(at(0.5).status, Status::InProgress);
        assert_eq!(at(1.0).status, Status::Error);
        assert_eq!(at(9.0).percent, 50.0);
    }

    #[test]
    fn zero_encoding_time_is_ready_at_once() {
        let record = Record {
            created_at: Duration::ZERO,
            fails: false,
        };
        assert_eq!(
            view(Kind::Default, &record, Duration::ZERO, Duration::ZERO).status,
            Status::Ready
        );
    }
}
