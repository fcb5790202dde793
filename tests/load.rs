//! Many operations at once through one client against one simulator: every result is
//! checked against what the test itself did, the number of requests in flight stays within
//! a window, open sockets do not grow from one run to the next, and injected faults come
//! back as typed errors of the expected kinds, one per fault.
//!
//! Each run is a fixed number of operations; nothing here asserts on time. The tests share
//! the process's sockets (counted from `/proc/self/fd`), so they run one at a time.

mod common;

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use cloudflare_stream::{
    Client, Credentials, Download, DownloadStatus, DownloadType, Error, RetryPolicy, VideoId,
    simulator::{Fault, Simulator, VideoState},
};
use common::client_for;
use tokio::{
    sync::{Mutex, Semaphore},
    task::{JoinError, JoinSet},
};

/// Operations in one run.
const OPERATIONS: usize = 10_000;
/// The most operations in flight at once.
const WINDOW: usize = 256;
/// Videos whose two downloads exist, ready, for the whole run.
const STEADY: usize = 8;
/// Videos whose downloads the run creates and deletes.
const CHURN: usize = 8;
/// Sockets that may come and go besides the pooled connections (listeners, a connection
/// being replaced).
const SLACK: usize = 8;

/// Keeps the tests of this file apart: they count the process's sockets.
static SERIAL: Mutex<()> = Mutex::const_new(());

/// Open sockets of this process: the client's and the simulator's ends both count.
fn sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable")
        .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

/// The simulator, the one client, and what the test knows of each video's downloads.
struct World {
    sim: Simulator,
    client: Client,
    steady: Vec<VideoId>,
    churn: Vec<Churn>,
}

/// A video whose downloads come and go; each slot says whether that download exists, and
/// is held for the whole of an operation on it, so the expected answer is known.
struct Churn {
    video: VideoId,
    /// Default, then audio.
    slots: [Mutex<bool>; 2],
}

fn slot(download_type: DownloadType) -> usize {
    DownloadType::ALL
        .iter()
        .position(|t| *t == download_type)
        .expect("one of the known types")
}

impl World {
    /// A simulator with manual time and the videos of the test; the steady videos' downloads
    /// are created and encoded before the run.
    async fn start(retry: RetryPolicy) -> Self {
        let sim = Simulator::builder()
            .manual_time()
            .start()
            .await
            .expect("the simulator starts");
        let client = client_for(
            &sim.base_url(),
            Credentials::api_token(sim.api_token()).expect("a valid token"),
            retry,
        );
        let id = |n: usize| format!("{n:032x}");
        let steady: Vec<VideoId> = (0..STEADY)
            .map(|n| VideoId::new(&id(0x5000 + n)).unwrap())
            .collect();
        let churn: Vec<Churn> = (0..CHURN)
            .map(|n| Churn {
                video: VideoId::new(&id(0xc000 + n)).unwrap(),
                slots: [Mutex::new(false), Mutex::new(false)],
            })
            .collect();
        for video in steady.iter().chain(churn.iter().map(|c| &c.video)) {
            sim.add_video(video.as_str(), VideoState::Ready);
        }
        for video in &steady {
            for t in DownloadType::ALL {
                client.create_download(video, t).await.expect("set-up");
            }
        }
        sim.advance(Duration::from_secs(3600));
        Self {
            sim,
            client,
            steady,
            churn,
        }
    }

    /// Shuts the simulator down, drops the client, and gives both ends' sockets a
    /// bounded moment to close; returns the sockets then open.
    async fn finish(world: Arc<World>, baseline: usize) -> usize {
        let World { sim, client, .. } = Arc::into_inner(world).expect("no task holds the world");
        drop(client);
        sim.shutdown().await;
        let mut open = sockets();
        for _ in 0..100 {
            if open <= baseline {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
            open = sockets();
        }
        open
    }

    fn file_url(&self, video: &VideoId, t: DownloadType) -> String {
        format!(
            "{}/{}/downloads/{}.{}",
            self.sim.media_url(),
            video,
            t,
            t.extension()
        )
    }

    /// A steady download: ready, complete, with its file's URL.
    fn assert_ready(&self, download: Option<&Download>, video: &VideoId, t: DownloadType) {
        let download = download.unwrap_or_else(|| panic!("{video} has its {t} download"));
        assert_eq!(download.status(), &DownloadStatus::Ready, "{video} {t}");
        assert_eq!(download.percent_complete(), 100.0, "{video} {t}");
        assert_eq!(
            download.url().map(|u| u.as_str()),
            Some(self.file_url(video, t).as_str()),
            "{video} {t}"
        );
    }
}

/// A download the run has just created: time stands still, so it has not started.
fn assert_fresh(download: &Download, video: &VideoId, t: DownloadType) {
    assert_eq!(
        download.status(),
        &DownloadStatus::InProgress,
        "{video} {t}"
    );
    assert_eq!(download.percent_complete(), 0.0, "{video} {t}");
    assert_eq!(download.url(), None, "{video} {t}");
}

/// Operation `i` of a run; the kinds repeat every ten.
async fn operation(world: &World, client: &Client, i: usize) -> Result<(), Error> {
    let steady = &world.steady[(i / 10 + i) % STEADY];
    let churn = &world.churn[(i / 10 + 3 * i) % CHURN];
    let t = if (i / 10).is_multiple_of(2) {
        DownloadType::Default
    } else {
        DownloadType::Audio
    };
    match i % 10 {
        0..=3 => {
            let downloads = client.list_downloads(steady).await?;
            for t in DownloadType::ALL {
                world.assert_ready(downloads.get(t), steady, t);
            }
        }
        4 | 5 => {
            let download = client.create_download(steady, t).await?;
            world.assert_ready(Some(&download), steady, t);
        }
        6 => {
            let download = client.create_default_download(steady).await?;
            world.assert_ready(Some(&download), steady, DownloadType::Default);
        }
        7 | 8 => {
            // Typed on 7, the untyped default endpoints on 8.
            let typed = i % 10 == 7;
            let t = if typed { t } else { DownloadType::Default };
            let mut exists = churn.slots[slot(t)].lock().await;
            let video = &churn.video;
            if *exists {
                if typed {
                    client.delete_download(video, t).await?;
                } else {
                    client.delete_default_download(video).await?;
                }
                *exists = false;
            } else {
                let download = if typed {
                    client.create_download(video, t).await?
                } else {
                    client.create_default_download(video).await?
                };
                assert_fresh(&download, video, t);
                *exists = true;
            }
        }
        _ => {
            // Both slots, always in this order, so that no two operations wait on each other.
            let default = churn.slots[0].lock().await;
            let audio = churn.slots[1].lock().await;
            let downloads = client.list_downloads(&churn.video).await?;
            for (t, exists) in [
                (DownloadType::Default, *default),
                (DownloadType::Audio, *audio),
            ] {
                match downloads.get(t) {
                    Some(download) => {
                        assert!(exists, "{} lists a {t} download it should not", churn.video);
                        assert_fresh(download, &churn.video, t);
                    }
                    None => assert!(!exists, "{} lacks its {t} download", churn.video),
                }
            }
        }
    }
    Ok(())
}

/// What a run gave.
#[derive(Debug, Default)]
struct Tally {
    ok: usize,
    errors: Vec<Error>,
    most_in_flight: usize,
    requests: usize,
    elapsed: Duration,
}

/// Runs [`OPERATIONS`] operations with at most [`WINDOW`] in flight, each task with its
/// own clone of the one client, spread over the runtime's worker threads.
async fn run(world: &Arc<World>) -> Tally {
    let started = Instant::now();
    let requests_before = world.sim.api_requests();
    let window = Arc::new(Semaphore::new(WINDOW));
    let in_flight = Arc::new(AtomicUsize::new(0));
    let most = Arc::new(AtomicUsize::new(0));
    let mut tally = Tally::default();
    {
        {
            let mut tasks = JoinSet::new();
            for i in 0..OPERATIONS {
                let permit = window.clone().acquire_owned().await.expect("never closed");
                let (world, client) = (world.clone(), world.client.clone());
                let (in_flight, most) = (in_flight.clone(), most.clone());
                tasks.spawn(async move {
                    let now = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(now, Ordering::SeqCst);
                    let result = operation(&world, &client, i).await;
                    in_flight.fetch_sub(1, Ordering::SeqCst);
                    drop(permit);
                    result
                });
                // Reap as we go, so that a wrong answer stops the run early.
                while let Some(joined) = tasks.try_join_next() {
                    tally.count(joined);
                }
            }
            while let Some(joined) = tasks.join_next().await {
                tally.count(joined);
            }
        }
    }
    tally.most_in_flight = most.load(Ordering::SeqCst);
    tally.requests = world.sim.api_requests() - requests_before;
    tally.elapsed = started.elapsed();
    tally
}

impl Tally {
    fn count(&mut self, joined: Result<Result<(), Error>, JoinError>) {
        match joined {
            Ok(Ok(())) => self.ok += 1,
            Ok(Err(error)) => self.errors.push(error),
            // A wrong answer fails the test with its own message.
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_operations_are_all_right_and_sockets_do_not_grow() {
    let _serial = SERIAL.lock().await;
    let baseline = sockets();
    let world = Arc::new(World::start(RetryPolicy::none()).await);

    let first = run(&world).await;
    let after_first = sockets();
    let second = run(&world).await;
    let after_second = sockets();
    let after_shutdown = World::finish(world, baseline).await;
    eprintln!(
        "sockets: {baseline} before, {after_first} after run 1, {after_second} after run 2, \
         {after_shutdown} after shutdown; run 1 {:?} ({} at most in flight), run 2 {:?} \
         ({} at most in flight)",
        first.elapsed, first.most_in_flight, second.elapsed, second.most_in_flight
    );

    for tally in [&first, &second] {
        assert!(tally.errors.is_empty(), "errors: {:?}", tally.errors);
        assert_eq!(tally.ok, OPERATIONS);
        assert_eq!(tally.requests, OPERATIONS, "one request per operation");
        assert!(tally.most_in_flight <= WINDOW, "{}", tally.most_in_flight);
    }
    // Both ends of every pooled connection are in this process. The pool can hold a few
    // more connections than requests were ever in flight: when a request finds no idle
    // connection it starts one, and if another connection frees up first the request takes
    // that and the new one joins the pool (seen: 230 to 290 connections for 256 in flight).
    // What must not happen is growth from one identical run to the next.
    let ceiling = baseline + 2 * (WINDOW + WINDOW / 2) + SLACK;
    assert!(
        after_first <= ceiling,
        "{after_first} sockets after run 1, ceiling {ceiling}"
    );
    assert!(
        after_second <= ceiling,
        "{after_second} sockets after run 2, ceiling {ceiling}"
    );
    assert!(
        after_second <= after_first + SLACK,
        "sockets grew from {after_first} to {after_second} in an identical run"
    );
    assert!(
        after_shutdown <= baseline + SLACK,
        "{after_shutdown} sockets still open after shutdown, {baseline} before"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_fault_in_ten_gives_typed_errors_one_per_fault() {
    const EACH: usize = 250;
    let _serial = SERIAL.lock().await;
    let baseline = sockets();
    let world = Arc::new(World::start(RetryPolicy::none()).await);
    // Interleaved, so that every kind meets every kind of operation.
    for _ in 0..EACH {
        for fault in [
            Fault::RateLimited { retry_after: None },
            Fault::HtmlError { status: 502 },
            Fault::Status {
                status: 500,
                code: 10001,
                message: "Internal server error".into(),
            },
            Fault::Reset,
        ] {
            world.sim.inject_api(fault, 1);
        }
    }

    let tally = run(&world).await;
    eprintln!(
        "faults run: {:?}, {} ok, {} errors, {} requests, {} at most in flight",
        tally.elapsed,
        tally.ok,
        tally.errors.len(),
        tally.requests,
        tally.most_in_flight
    );

    let (mut limited, mut html, mut status, mut transport) = (0, 0, 0, 0);
    for error in &tally.errors {
        match error {
            Error::RateLimited(e) if e.status() == 429 => {
                assert_eq!(e.codes().collect::<Vec<_>>(), [971]);
                limited += 1;
            }
            Error::Api(e) if e.status() == 502 => {
                assert!(e.content_type().is_some_and(|t| t.starts_with("text/html")));
                assert!(e.errors().is_empty());
                assert!(e.ray_id().is_some());
                html += 1;
            }
            Error::Api(e) if e.status() == 500 => {
                assert_eq!(e.codes().collect::<Vec<_>>(), [10001]);
                status += 1;
            }
            Error::Transport(_) => transport += 1,
            other => panic!("an error no fault explains: {other:?}"),
        }
    }
    // Every faulted request reached the server and was counted there, so the client made
    // no request of its own besides the operations': retries are off, and a request that
    // the HTTP client would send again (one whose pooled connection closed before it was
    // written) never reached the server in the first place. Each fault is thus one error.
    assert_eq!(tally.requests, OPERATIONS, "one request per operation");
    assert_eq!(tally.ok + tally.errors.len(), OPERATIONS);
    assert_eq!(
        (limited, html, status, transport),
        (EACH, EACH, EACH, EACH),
        "one error per fault, by kind"
    );
    assert!(tally.most_in_flight <= WINDOW, "{}", tally.most_in_flight);

    // The faults are used up: the next operations all succeed.
    for i in 0..20 {
        operation(&world, &world.client, i)
            .await
            .expect("no fault is left");
    }
    let after_shutdown = World::finish(world, baseline).await;
    eprintln!("faults run: sockets {baseline} before, {after_shutdown} after shutdown");
    assert!(
        after_shutdown <= baseline + SLACK,
        "{after_shutdown} sockets still open after shutdown, {baseline} before"
    );
}
