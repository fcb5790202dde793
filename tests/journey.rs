//! The whole journey against the simulator: create, wait, fetch, delete. Time is driven by
//! a test clock whose sleeps move the simulator's encoding clock, so nothing waits.

mod common;

use std::{sync::Arc, time::Duration};

use cloudflare_stream::{
    DownloadStatus, DownloadType, Error, VideoId, WaitOptions,
    simulator::{Fault, Simulator, VideoState},
};
use common::{InstantClock, sim_client};

const FILE_SIZE: u64 = 300_000;

async fn simulator() -> Arc<Simulator> {
    Arc::new(
        Simulator::builder()
            .manual_time()
            .encoding_time(Duration::from_secs(8))
            .file_size(FILE_SIZE)
            .start()
            .await
            .unwrap(),
    )
}

fn no_leftovers(dir: &std::path::Path, expected: &[&str]) {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names, expected,
        "only complete files may be in the directory"
    );
}

#[tokio::test]
async fn create_wait_fetch_delete_both_types() {
    let sim = simulator().await;
    let clock = InstantClock::driving(sim.clone());
    let client = sim_client(&sim, clock.clone());
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    let dir = tempfile::tempdir().unwrap();

    for kind in DownloadType::ALL {
        let created = client.create_download(&video, kind).await.unwrap();
        assert_eq!(created.status(), &DownloadStatus::InProgress);
        assert!(created.url().is_none());
    }

    for kind in DownloadType::ALL {
        let mut seen = Vec::new();
        let ready = client
            .wait_for_download(&video, kind, &WaitOptions::default(), |d| {
                seen.push((d.status().clone(), d.percent_complete()))
            })
            .await
            .unwrap();
        assert_eq!(ready.status(), &DownloadStatus::Ready);
        assert_eq!(ready.percent_complete(), 100.0);
        // Both encode at once, so by the time the audio one is polled it is done.
        let polls = if kind == DownloadType::Default { 2 } else { 1 };
        assert!(seen.len() >= polls, "progress was reported: {seen:?}");
        assert!(
            seen.windows(2).all(|w| w[0].1 <= w[1].1),
            "progress never goes back: {seen:?}"
        );
        assert_eq!(seen.last().unwrap().0, DownloadStatus::Ready);

        let url = ready.file_url_named(&format!("clip-{kind}")).unwrap();
        let path = dir.path().join(format!("clip-{kind}.{}", kind.extension()));
        let mut reports = Vec::new();
        let fetched = client
            .fetch_to_file(&url, &path, |p| reports.push(p))
            .await
            .unwrap();
        assert_eq!(fetched.bytes, FILE_SIZE);
        assert_eq!(fetched.resumes, 0);
        assert_eq!(reports.last().unwrap().received, FILE_SIZE);
        assert_eq!(reports.last().unwrap().total, Some(FILE_SIZE));
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, FILE_SIZE);
        assert_eq!(&bytes[4..8], b"ftyp", "an MP4-family file");
    }
    no_leftovers(dir.path(), &["clip-audio.m4a", "clip-default.mp4"]);
    assert_eq!(sim.media_requests_with_credentials(), 0);

    // The same bytes arrive through a writer.
    let ready = client.list_downloads(&video).await.unwrap();
    let mut buffer = Vec::new();
    let url = ready.audio().unwrap().file_url().unwrap().clone();
    client
        .fetch_to_writer(&url, &mut buffer, |_| {})
        .await
        .unwrap();
    assert_eq!(
        buffer,
        std::fs::read(dir.path().join("clip-audio.m4a")).unwrap()
    );

    for kind in DownloadType::ALL {
        client.delete_download(&video, kind).await.unwrap();
    }
    assert!(client.list_downloads(&video).await.unwrap().is_empty());
    let err = client
        .wait_for_download(&video, DownloadType::Audio, &WaitOptions::default(), |_| {})
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::MissingDownload {
                download_type: DownloadType::Audio,
                ..
            }
        ),
        "{err}"
    );
}

#[tokio::test]
async fn polling_backs_off_exponentially_up_to_the_cap() {
    let sim = simulator().await;
    let clock = InstantClock::driving(sim.clone());
    let client = sim_client(&sim, clock.clone());
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();

    let options =
        WaitOptions::default().with_interval(Duration::from_millis(500), Duration::from_secs(2));
    client
        .wait_for_download(&video, DownloadType::Default, &options, |_| {})
        .await
        .unwrap();
    // 0.5 + 1 + 2 + 2 + 2 + 2 = 9.5 s of simulated time covers the 8 s of encoding.
    let ms: Vec<u128> = clock.sleeps().iter().map(Duration::as_millis).collect();
    assert_eq!(ms, [500, 1000, 2000, 2000, 2000, 2000]);
}

#[tokio::test]
async fn waiting_gives_up_at_the_deadline() {
    let sim = simulator().await;
    // This clock does not move the simulator: encoding never progresses.
    let clock = Arc::new(InstantClock::default());
    let client = sim_client(&sim, clock.clone());
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();

    let options = WaitOptions::default()
        .with_interval(Duration::from_secs(1), Duration::from_secs(4))
        .with_timeout(Duration::from_secs(10));
    let err = client
        .wait_for_download(&video, DownloadType::Default, &options, |_| {})
        .await
        .unwrap_err();
    match err {
        Error::WaitTimedOut {
            waited, last_seen, ..
        } => {
            assert_eq!(waited, Duration::from_secs(10));
            assert_eq!(last_seen.unwrap().status(), &DownloadStatus::InProgress);
        }
        other => panic!("expected WaitTimedOut, got {other:?}"),
    }
    // 1 + 2 + 4 + the 3 s left.
    let secs: Vec<u64> = clock.sleeps().iter().map(Duration::as_secs).collect();
    assert_eq!(secs, [1, 2, 4, 3]);
}

#[tokio::test]
async fn encoding_that_fails_is_a_typed_error() {
    let sim = simulator().await;
    sim.add_video("badbadbadbad", VideoState::FailsEncoding);
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let video: VideoId = "badbadbadbad".parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();
    let err = client
        .wait_for_download(
            &video,
            DownloadType::Default,
            &WaitOptions::default(),
            |_| {},
        )
        .await
        .unwrap_err();
    match err {
        Error::EncodingFailed {
            download_type,
            download,
            ..
        } => {
            assert_eq!(download_type, DownloadType::Default);
            assert_eq!(download.status(), &DownloadStatus::Error);
        }
        other => panic!("expected EncodingFailed, got {other:?}"),
    }
}

async fn ready_url(sim: &Arc<Simulator>, client: &cloudflare_stream::Client) -> url::Url {
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();
    let ready = client
        .wait_for_download(
            &video,
            DownloadType::Default,
            &WaitOptions::default(),
            |_| {},
        )
        .await
        .unwrap();
    ready.file_url().unwrap().clone()
}

#[tokio::test]
async fn a_broken_transfer_resumes_with_a_range_request() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let url = ready_url(&sim, &client).await;
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.mp4");
    client.fetch_to_file(&url, &whole, |_| {}).await.unwrap();

    sim.inject_media(Fault::Truncated, 2);
    let before = sim.media_requests();
    let path = dir.path().join("resumed.mp4");
    let fetched = client.fetch_to_file(&url, &path, |_| {}).await.unwrap();
    assert_eq!(fetched.bytes, FILE_SIZE);
    assert_eq!(fetched.resumes, 2);
    assert_eq!(sim.media_requests() - before, 3);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    no_leftovers(dir.path(), &["resumed.mp4", "whole.mp4"]);
}

#[tokio::test]
async fn a_failed_transfer_leaves_no_file() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let url = ready_url(&sim, &client).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("never.mp4");

    sim.inject_media(Fault::Reset, 3);
    let before = sim.media_requests();
    let err = client.fetch_to_file(&url, &path, |_| {}).await.unwrap_err();
    assert!(matches!(err, Error::Transport(_)), "{err:?}");
    // The first try and the two retries of the default policy.
    assert_eq!(sim.media_requests() - before, 3);
    no_leftovers(dir.path(), &[]);

    // A refusal from the file host is not retried and leaves nothing either.
    let mut missing = url.clone();
    missing.set_path("/fedcba9876543210fedcba9876543210/downloads/nothing.mp4");
    let err = client
        .fetch_to_file(&missing, &path, |_| {})
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
    no_leftovers(dir.path(), &[]);
}

#[tokio::test]
async fn a_stalled_transfer_times_out_per_wait_and_resumes() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let url = ready_url(&sim, &client).await;
    let dir = tempfile::tempdir().unwrap();
    let quick = client.with_timeout(Duration::from_millis(200));

    // One stall: the wait for more bytes gives up after 200 ms, and the transfer resumes.
    sim.inject_media(Fault::Stall, 1);
    let started = std::time::Instant::now();
    let path = dir.path().join("resumed.mp4");
    let fetched = quick.fetch_to_file(&url, &path, |_| {}).await.unwrap();
    assert_eq!((fetched.bytes, fetched.resumes), (FILE_SIZE, 1));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // A host silent on every attempt: a timeout error after the retries, and no file.
    // (A stall after some bytes is progress, so it does not use up the retries.)
    sim.inject_media(Fault::Delay(Duration::from_secs(5)), 3);
    let before = sim.media_requests();
    let err = quick
        .fetch_to_file(&url, dir.path().join("never.mp4"), |_| {})
        .await
        .unwrap_err();
    match &err {
        Error::Timeout(e) => assert_eq!(e.limit(), Duration::from_millis(200)),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert_eq!(sim.media_requests() - before, 3);
    no_leftovers(dir.path(), &["resumed.mp4"]);
}

#[tokio::test]
async fn a_delete_whose_answer_was_lost_succeeds_on_the_retry() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    for kind in DownloadType::ALL {
        client.create_download(&video, kind).await.unwrap();
    }

    // The server deletes, then the answer is cut short; the retry finds nothing to delete.
    sim.inject_api(Fault::Truncated, 1);
    let before = sim.api_requests();
    client
        .delete_download(&video, DownloadType::Audio)
        .await
        .unwrap();
    assert_eq!(sim.api_requests() - before, 2);
    sim.inject_api(Fault::Truncated, 1);
    client.delete_default_download(&video).await.unwrap();
    assert!(client.list_downloads(&video).await.unwrap().is_empty());

    // Without a retry before it, a 404 means what it says.
    let err = client
        .delete_download(&video, DownloadType::Audio)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
}

#[tokio::test]
async fn the_wait_timeout_is_a_deadline_for_slow_polls_too() {
    let sim = simulator().await;
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    // The real clock: the polls' own time limits are real time.
    let client = sim_client(&sim, Arc::new(cloudflare_stream::clock::SystemClock));
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();

    sim.inject_api(Fault::Delay(Duration::from_secs(5)), 3);
    let options = WaitOptions::default().with_timeout(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let err = client
        .wait_for_download(&video, DownloadType::Default, &options, |_| {})
        .await
        .unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    match err {
        Error::WaitTimedOut { last_seen, .. } => assert!(last_seen.is_none()),
        other => panic!("expected WaitTimedOut, got {other:?}"),
    }
}

#[tokio::test]
async fn fetching_refuses_targets_and_urls_it_cannot_use_before_any_request() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let url = ready_url(&sim, &client).await;
    let dir = tempfile::tempdir().unwrap();
    let before = sim.media_requests();

    let cases = [
        (url.clone(), dir.path().to_path_buf(), "output path"),
        (url.clone(), dir.path().join("missing/x.mp4"), "output path"),
        (url.clone(), std::path::PathBuf::new(), "output path"),
        (
            "file:///etc/hostname".parse().unwrap(),
            dir.path().join("x"),
            "file URL",
        ),
        (
            "ftp://127.0.0.1/x".parse().unwrap(),
            dir.path().join("x"),
            "file URL",
        ),
    ];
    for (url, path, argument) in cases {
        match client.fetch_to_file(&url, &path, |_| {}).await {
            Err(Error::InvalidInput { argument: a, .. }) => assert_eq!(a, argument),
            other => panic!(
                "{url} to {}: expected InvalidInput, got {other:?}",
                path.display()
            ),
        }
    }
    assert_eq!(sim.media_requests(), before);
    no_leftovers(dir.path(), &[]);
}

#[tokio::test]
async fn a_signed_query_stays_out_of_errors() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let dir = tempfile::tempdir().unwrap();
    // A port nothing listens on: a transport error whose cause would name the URL.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url: url::Url =
        format!("http://127.0.0.1:{port}/SIGNEDPATH/downloads/default.mp4?token=SIGNEDQUERY")
            .parse()
            .unwrap();
    let err = client
        .fetch_to_file(&url, dir.path().join("x.mp4"), |_| {})
        .await
        .unwrap_err();
    let mut chain = format!("{err} {err:?}");
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    assert!(
        !chain.contains("SIGNEDQUERY") && !chain.contains("SIGNEDPATH"),
        "{chain}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fetch_dropped_midway_leaves_no_temporary_file() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let url = ready_url(&sim, &client).await;
    let dir = tempfile::tempdir().unwrap();

    for i in 0..60u32 {
        let (client, url) = (client.clone(), url.clone());
        let path = dir.path().join(format!("f{i}.mp4"));
        let task = tokio::spawn(async move { client.fetch_to_file(&url, path, |_| {}).await });
        for _ in 0..i {
            tokio::task::yield_now().await;
        }
        task.abort();
        let _ = task.await;
    }
    let leftovers: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".part"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_delete_answered_404_after_a_refusal_is_still_an_error() {
    let sim = simulator().await;
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let video: VideoId = sim.sample_video_id().parse().unwrap();

    // A 503 proves the server did not act, so the 404 of the retry stands.
    sim.inject_api(
        Fault::Status {
            status: 503,
            code: 10001,
            message: "unavailable".into(),
        },
        1,
    );
    let err = client
        .delete_download(&video, DownloadType::Audio)
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(404), "{err}");
}

#[tokio::test]
async fn a_deadline_that_stops_retries_ends_the_wait_as_timed_out() {
    let sim = simulator().await;
    let clock = InstantClock::driving(sim.clone());
    let client = sim_client(&sim, clock.clone());
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();

    // Each poll is answered 503; the retry budget would allow more than the deadline does.
    let unavailable = Fault::Status {
        status: 503,
        code: 10001,
        message: "unavailable".into(),
    };
    sim.inject_api(unavailable, 100);
    let before = sim.api_requests();
    let options = WaitOptions::default().with_timeout(Duration::from_secs(1));
    let err = client
        .with_retry(
            cloudflare_stream::RetryPolicy::default()
                .without_jitter()
                .with_max_retries(10),
        )
        .wait_for_download(&video, DownloadType::Default, &options, |_| {})
        .await
        .unwrap_err();
    match &err {
        Error::WaitTimedOut { last_seen, .. } => assert!(last_seen.is_none()),
        other => panic!("expected WaitTimedOut, got {other:?}"),
    }
    // One poll: the first try, the retry after 0.5 s, and no retry that would end at 1.5 s.
    assert_eq!(sim.api_requests() - before, 2);
    sim.clear_faults();
}

#[tokio::test]
async fn nothing_is_sent_at_the_deadline_and_huge_timeouts_mean_none() {
    let sim = simulator().await;
    let clock = Arc::new(InstantClock::default());
    let client = sim_client(&sim, clock.clone());
    let video: VideoId = sim.sample_video_id().parse().unwrap();
    client
        .create_download(&video, DownloadType::Default)
        .await
        .unwrap();

    // Encoding never moves with this clock: polls at 0, 1, 2 s, then the deadline at 3 s.
    let before = sim.api_requests();
    let options = WaitOptions::default()
        .with_interval(Duration::from_secs(1), Duration::from_secs(1))
        .with_timeout(Duration::from_secs(3));
    let mut polls = 0;
    let err = client
        .wait_for_download(&video, DownloadType::Default, &options, |_| polls += 1)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimedOut { .. }), "{err:?}");
    assert_eq!((polls, sim.api_requests() - before), (3, 3));

    // A backoff too large to add to the clock ends the wait at its deadline, unslept.
    sim.inject_api(
        Fault::Status {
            status: 503,
            code: 10001,
            message: "unavailable".into(),
        },
        1,
    );
    let huge_backoff = cloudflare_stream::RetryPolicy::default()
        .without_jitter()
        .with_backoff(Duration::MAX, Duration::MAX);
    let err = client
        .with_retry(huge_backoff)
        .wait_for_download(&video, DownloadType::Default, &options, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimedOut { .. }), "{err:?}");
    assert!(clock.sleeps().iter().all(|d| *d <= Duration::from_secs(1)));

    // A timeout too large for the clock is no deadline at all, not a panic.
    let client = sim_client(&sim, InstantClock::driving(sim.clone()));
    let forever = WaitOptions::default().with_timeout(Duration::MAX);
    let ready = client
        .wait_for_download(&video, DownloadType::Default, &forever, |_| {})
        .await
        .unwrap();
    assert_eq!(ready.status(), &DownloadStatus::Ready);
}
