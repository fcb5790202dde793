//! Measures the client against raw reqwest, both talking to the in-process simulator on
//! 127.0.0.1: time per call one at a time, throughput with many calls in flight, and the
//! throughput and peak memory of fetching a large file.
//!
//! Run with `cargo bench --bench client`; `BENCH_CALLS` and `BENCH_FILE_MIB` change the
//! sizes. Results of a run are recorded in `BENCHMARKS.md`.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use cloudflare_stream::{
    Client, Credentials, DownloadType, RetryPolicy, VideoId, WaitOptions, simulator::Simulator,
};
use tokio::{sync::Semaphore, task::JoinSet};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Peak resident memory of this process so far, from `/proc/self/status` (Linux).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Process CPU time (user + system) in seconds, from `/proc/self/stat` (Linux).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line; 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

struct Timing {
    label: &'static str,
    calls: u64,
    wall: Duration,
    cpu: f64,
}

impl Timing {
    fn print(&self) {
        println!(
            "  {:<34} {:>7} calls  {:>8.1} µs/call wall  {:>8.1} µs/call CPU (client + server)  {:>8.0} calls/s",
            self.label,
            self.calls,
            self.wall.as_secs_f64() * 1e6 / self.calls as f64,
            self.cpu * 1e6 / self.calls as f64,
            self.calls as f64 / self.wall.as_secs_f64(),
        );
    }
}

async fn measure<F, Fut>(label: &'static str, calls: u64, in_flight: usize, call: F) -> Timing
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let call = Arc::new(call);
    let permits = Arc::new(Semaphore::new(in_flight));
    let cpu = cpu_seconds();
    let started = Instant::now();
    let mut tasks = JoinSet::new();
    for _ in 0..calls {
        let permit = permits
            .clone()
            .acquire_owned()
            .await
            .expect("semaphore open");
        let call = call.clone();
        tasks.spawn(async move {
            call().await;
            drop(permit);
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.expect("a call panicked");
    }
    Timing {
        label,
        calls,
        wall: started.elapsed(),
        cpu: cpu_seconds() - cpu,
    }
}

/// The run with the median wall time.
fn median(mut runs: Vec<Timing>) -> Timing {
    runs.sort_by_key(|run| run.wall);
    let middle = runs.len() / 2;
    runs.swap_remove(middle)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let calls = env_number("BENCH_CALLS", 5_000);
    let file_mib = env_number("BENCH_FILE_MIB", 256);
    let sim = Simulator::builder()
        .encoding_time(Duration::from_millis(100))
        .file_size(file_mib << 20)
        .start()
        .await
        .expect("the simulator starts");
    let video: VideoId = sim.sample_video_id().parse().expect("a valid id");
    let client = Client::builder()
        .credentials(Credentials::api_token(sim.api_token()).expect("a valid token"))
        .account_id(sim.account_id().parse().expect("a valid account"))
        .base_url(sim.base_url())
        .retry(RetryPolicy::none())
        .build()
        .expect("a client");
    client
        .create_download(&video, DownloadType::Default)
        .await
        .expect("create");
    let ready = client
        .wait_for_download(
            &video,
            DownloadType::Default,
            &WaitOptions::default(),
            |_| {},
        )
        .await
        .expect("ready");

    let url = format!(
        "{}/accounts/{}/stream/{}/downloads",
        sim.base_url(),
        sim.account_id(),
        video
    );
    // The same settings the client uses: a per-request time limit costs a timer per call.
    let raw = reqwest::Client::builder()
        .user_agent("bench")
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("a reqwest client");
    let bearer = format!("Bearer {}", sim.api_token());

    let rounds = env_number("BENCH_ROUNDS", 5);
    println!(
        "list_downloads against the simulator; {} cores; median of {rounds} alternating rounds",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    for in_flight in [1usize, 64] {
        let mut raw_runs = Vec::new();
        let mut ours = Vec::new();
        for _ in 0..rounds {
            let (raw, url, bearer) = (raw.clone(), url.clone(), bearer.clone());
            raw_runs.push(
                measure("raw reqwest, same limits", calls, in_flight, move || {
                    let (raw, url, bearer) = (raw.clone(), url.clone(), bearer.clone());
                    async move {
                        let body = raw
                            .get(url)
                            .header("authorization", bearer)
                            .header("accept", "application/json")
                            .send()
                            .await
                            .expect("sent")
                            .bytes()
                            .await
                            .expect("read");
                        let value: serde_json::Value = serde_json::from_slice(&body).expect("json");
                        assert_eq!(value["success"], true);
                    }
                })
                .await,
            );
            let (client, video) = (client.clone(), video.clone());
            ours.push(
                measure(
                    "cloudflare-stream list_downloads",
                    calls,
                    in_flight,
                    move || {
                        let (client, video) = (client.clone(), video.clone());
                        async move {
                            let downloads = client.list_downloads(&video).await.expect("listed");
                            assert!(downloads.default_download().is_some());
                        }
                    },
                )
                .await,
            );
        }
        println!("{in_flight} in flight:");
        median(raw_runs).print();
        median(ours).print();
    }

    let dir = std::env::temp_dir().join(format!("cloudflare-stream-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("file.mp4");
    let rss_before = peak_rss_kib();
    let started = Instant::now();
    let fetched = client
        .fetch_to_file(ready.file_url().expect("a url"), &path, |_| {})
        .await
        .expect("fetched");
    let elapsed = started.elapsed();
    let rss_after = peak_rss_kib();
    println!(
        "fetch_to_file {} MiB: {:.0} MiB/s; peak RSS {} KiB before, {} KiB after",
        fetched.bytes >> 20,
        (fetched.bytes as f64 / (1 << 20) as f64) / elapsed.as_secs_f64(),
        rss_before.unwrap_or(0),
        rss_after.unwrap_or(0),
    );
    let _ = std::fs::remove_dir_all(&dir);
    sim.shutdown().await;
}
