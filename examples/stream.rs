//! The downloads journey from the command line.
//!
//! With no arguments and no credentials in the environment, starts the built-in simulator
//! and runs the whole journey on its sample video: create the `default` and `audio`
//! downloads, wait for both to encode, save the files under `./downloads/`, print a summary.
//!
//! For real use (credentials and account from the environment, as `Client::from_env` reads
//! them; `CLOUDFLARE_BASE_URL` points it elsewhere):
//!
//! ```text
//! stream create VIDEO_ID [--type default|audio] [--wait] [--output PATH] [--json]
//! stream get VIDEO_ID [--json]
//! stream delete VIDEO_ID [--type default|audio] [--json]
//! stream journey VIDEO_ID [--dir DIR]
//! ```
//!
//! Exit status: 0 on success, 2 for invalid input or configuration, 1 for API or transport
//! errors; errors are one line on stderr.

use std::{
    io::IsTerminal,
    path::{Path, PathBuf},
    process::ExitCode,
    time::Duration,
};

use cloudflare_stream::{
    Client, Credentials, Download, DownloadType, Error, Progress, VideoId, WaitOptions,
    simulator::Simulator,
};
use indicatif::{ProgressBar, ProgressStyle};

const COMMANDS: [&str; 4] = ["create", "get", "delete", "journey"];
const USAGE: &str = "usage: stream [create VIDEO_ID [--type default|audio] [--wait] [--output PATH] | get VIDEO_ID | delete VIDEO_ID [--type default|audio] | journey VIDEO_ID [--dir DIR]] [--json]";

/// Every flag, for checking which ones a command was given.
const FLAGS: [&str; 5] = ["--type", "--wait", "--json", "--output", "--dir"];

/// What went wrong, and which exit status it earns.
enum Failure {
    Help,
    Usage(String),
    Library(Error),
    Io(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Self::Library(e)
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Help) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Err(Failure::Usage(message)) => {
            // One line, so a log keeps the message and the usage together.
            eprintln!("error: {message}; {USAGE}");
            ExitCode::from(2)
        }
        Err(Failure::Io(message)) => {
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
        Err(Failure::Library(error)) => {
            eprintln!("error: {}", one_line(&error));
            let input = matches!(
                error,
                Error::InvalidId(_) | Error::InvalidInput { .. } | Error::Config(_)
            );
            ExitCode::from(if input { 2 } else { 1 })
        }
    }
}

/// The error and its sources on one line.
fn one_line(error: &Error) -> String {
    let mut line = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        line.push_str(": ");
        line.push_str(&cause.to_string());
        source = cause.source();
    }
    line.replace('\n', " ")
}

/// The parsed command line.
struct Args {
    /// The flags given, to refuse those the command does not use.
    flags: Vec<&'static str>,
    command: Option<String>,
    video: Option<String>,
    download_type: DownloadType,
    wait: bool,
    output: Option<PathBuf>,
    dir: PathBuf,
    json: bool,
}

fn parse(args: Vec<String>) -> Result<Args, Failure> {
    let mut parsed = Args {
        flags: Vec::new(),
        command: None,
        video: None,
        download_type: DownloadType::Default,
        wait: false,
        output: None,
        dir: PathBuf::from("downloads"),
        json: false,
    };
    let mut args = args.into_iter();
    let value = |args: &mut std::vec::IntoIter<String>, flag: &str| {
        args.next()
            .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
    };
    while let Some(arg) = args.next() {
        if let Some(flag) = FLAGS.iter().find(|f| **f == arg) {
            parsed.flags.push(flag);
        }
        match arg.as_str() {
            "--type" => {
                let text = value(&mut args, "--type")?;
                parsed.download_type = text.parse().map_err(|e| Failure::Usage(format!("{e}")))?;
            }
            "--wait" => parsed.wait = true,
            "--json" => parsed.json = true,
            "--output" => parsed.output = Some(value(&mut args, "--output")?.into()),
            "--dir" => parsed.dir = value(&mut args, "--dir")?.into(),
            "-h" | "--help" => return Err(Failure::Help),
            flag if flag.starts_with("--") => {
                return Err(Failure::Usage(format!("unknown option {flag}")));
            }
            _ if parsed.command.is_none() => parsed.command = Some(arg),
            _ if parsed.video.is_none() => parsed.video = Some(arg),
            _ => return Err(Failure::Usage(format!("unexpected argument {arg:?}"))),
        }
    }
    Ok(parsed)
}

async fn run(args: Vec<String>) -> Result<(), Failure> {
    let args = parse(args)?;
    let Some(command) = args.command.as_deref() else {
        if let Some(flag) = args.flags.iter().find(|f| **f != "--dir") {
            return Err(Failure::Usage(format!("{flag} needs a command")));
        }
        return demo(&args).await;
    };
    // An unknown command is named as such, before the id and credentials are looked at.
    if !COMMANDS.contains(&command) {
        return Err(Failure::Usage(format!("unknown command {command:?}")));
    }
    let allowed: &[&str] = match command {
        "create" => &["--type", "--wait", "--output", "--json"],
        "get" => &["--json"],
        "delete" => &["--type", "--json"],
        _ => &["--dir"],
    };
    if let Some(flag) = args.flags.iter().find(|f| !allowed.contains(f)) {
        return Err(Failure::Usage(format!(
            "{flag} does not apply to {command}"
        )));
    }
    // A path that can never be written is refused before anything is created.
    if let Some(path) = &args.output {
        let parent = path.parent().filter(|p| !p.as_os_str().is_empty());
        if path.is_dir() || parent.is_some_and(|p| !p.is_dir()) {
            return Err(Failure::Usage(format!(
                "--output {} is a directory or in one that does not exist",
                path.display()
            )));
        }
    }
    let video: VideoId = args
        .video
        .as_deref()
        .ok_or_else(|| Failure::Usage(format!("{command} needs a VIDEO_ID")))?
        .parse()
        .map_err(Error::from)?;
    let client = Client::from_env()?;

    match command {
        "create" => {
            let download = client.create_download(&video, args.download_type).await?;
            let download = if args.wait || args.output.is_some() {
                wait(&client, &video, args.download_type, args.json).await?
            } else {
                download
            };
            if let Some(path) = &args.output {
                fetch(&client, &download, args.download_type, path, args.json).await?;
            }
            if args.json {
                print_json(&download)?;
            } else {
                print_download(args.download_type, &download);
            }
        }
        "get" => {
            let downloads = client.list_downloads(&video).await?;
            if args.json {
                print_json(&downloads)?;
            } else if downloads.is_empty() {
                println!("no downloads");
            } else {
                for kind in DownloadType::ALL {
                    if let Some(d) = downloads.get(kind) {
                        print_download(kind, d);
                    }
                }
            }
        }
        "delete" => {
            client.delete_download(&video, args.download_type).await?;
            if args.json {
                print_json(&serde_json::json!({ "deleted": args.download_type }))?;
            } else {
                println!("deleted the {} download", args.download_type);
            }
        }
        "journey" => journey(&client, &video, &args.dir).await?,
        other => return Err(Failure::Usage(format!("unknown command {other:?}"))),
    }
    Ok(())
}

/// No command: the journey on the built-in simulator, unless credentials are configured.
async fn demo(args: &Args) -> Result<(), Failure> {
    let configured = [
        "CLOUDFLARE_API_TOKEN",
        "CLOUDFLARE_API_KEY",
        "CLOUDFLARE_API_USER_SERVICE_KEY",
    ]
    .iter()
    .any(|name| std::env::var_os(name).is_some());
    if configured {
        return Err(Failure::Usage(
            "credentials are set, so no simulator is started; name a command".into(),
        ));
    }
    let simulator = Simulator::start()
        .await
        .map_err(|e| Failure::Io(format!("cannot start the simulator: {e}")))?;
    println!(
        "No credentials set: running against the built-in simulator at {}",
        simulator.base_url()
    );
    let client = Client::builder()
        .credentials(Credentials::api_token(simulator.api_token()).map_err(Error::from)?)
        .account_id(simulator.account_id().parse().map_err(Error::from)?)
        .base_url(simulator.base_url())
        .build()?;
    let video: VideoId = simulator.sample_video_id().parse().map_err(Error::from)?;
    let result = journey(&client, &video, &args.dir).await;
    simulator.shutdown().await;
    result
}

/// Create both downloads, wait for them, save them, summarise.
async fn journey(client: &Client, video: &VideoId, dir: &Path) -> Result<(), Failure> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(|e| Failure::Io(format!("cannot create {}: {e}", dir.display())))?;
    for kind in DownloadType::ALL {
        client.create_download(video, kind).await?;
    }
    let mut rows = Vec::new();
    for kind in DownloadType::ALL {
        let ready = wait(client, video, kind, false).await?;
        let path = dir.join(format!("{video}-{kind}.{}", kind.extension()));
        let bytes = fetch(client, &ready, kind, &path, false).await?;
        rows.push((kind, ready, bytes, path));
    }
    println!(
        "\n{:<8} {:<8} {:>10}  {:<60} url",
        "type", "status", "bytes", "path"
    );
    for (kind, download, bytes, path) in rows {
        let url = download.url().map(|u| u.as_str()).unwrap_or("-");
        println!(
            "{:<8} {:<8} {:>10}  {:<60} {url}",
            kind.as_str(),
            download.status().as_str(),
            bytes,
            path.display()
        );
    }
    Ok(())
}

/// Waits for encoding, with a bar on a terminal and plain lines elsewhere.
async fn wait(
    client: &Client,
    video: &VideoId,
    kind: DownloadType,
    quiet: bool,
) -> Result<Download, Failure> {
    let bar = Bar::new(quiet, format!("encoding {kind}"), Some(100));
    let options =
        WaitOptions::default().with_interval(Duration::from_millis(250), Duration::from_secs(5));
    let ready = client
        .wait_for_download(video, kind, &options, |d| {
            bar.update(d.percent_complete() as u64, Some(100), d.status().as_str());
        })
        .await;
    bar.finish();
    Ok(ready?)
}

/// Saves a ready download's file, with a bar on a terminal and plain lines elsewhere.
async fn fetch(
    client: &Client,
    download: &Download,
    kind: DownloadType,
    path: &Path,
    quiet: bool,
) -> Result<u64, Failure> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| download.file_url_named(s).is_ok());
    let url = match name {
        Some(name) => download.file_url_named(name)?,
        None => download.file_url()?.clone(),
    };
    let bar = Bar::new(quiet, format!("fetching {kind}"), None);
    let fetched = client
        .fetch_to_file(&url, path, |p: Progress| {
            bar.update(p.received, p.total, "bytes")
        })
        .await;
    bar.finish();
    Ok(fetched?.bytes)
}

/// A progress bar on a terminal; otherwise a line now and then.
struct Bar {
    bar: Option<ProgressBar>,
    label: String,
    plain: bool,
    last: std::cell::Cell<Option<u64>>,
}

impl Bar {
    fn new(quiet: bool, label: String, total: Option<u64>) -> Self {
        let terminal = !quiet && std::io::stdout().is_terminal();
        let bar = terminal.then(|| {
            let bar = ProgressBar::new(total.unwrap_or(0));
            if let Ok(style) = ProgressStyle::with_template("{msg:20} [{bar:30}] {pos}/{len}") {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(label.clone());
            bar
        });
        Self {
            bar,
            label,
            plain: !quiet && !terminal,
            last: std::cell::Cell::new(None),
        }
    }

    fn update(&self, position: u64, total: Option<u64>, unit: &str) {
        if let Some(bar) = &self.bar {
            if let Some(total) = total {
                bar.set_length(total);
            }
            bar.set_position(position);
        } else if self.plain {
            // One line per quarter (per MiB when the total is unknown), so logs stay short.
            let step = match total {
                Some(t) if t > 0 => position * 4 / t,
                _ => position >> 20,
            };
            if self.last.get() != Some(step) {
                self.last.set(Some(step));
                match total {
                    Some(total) => println!("{}: {position}/{total} {unit}", self.label),
                    None => println!("{}: {position} {unit}", self.label),
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish();
        }
    }
}

fn print_download(kind: DownloadType, d: &Download) {
    println!(
        "{kind}: {} {:.1}% {}",
        d.status(),
        d.percent_complete(),
        d.url().map(|u| u.as_str()).unwrap_or("(no url yet)")
    );
}

fn print_json(value: &impl serde::Serialize) -> Result<(), Failure> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| Failure::Io(format!("cannot print JSON: {e}")))?;
    println!("{text}");
    Ok(())
}
