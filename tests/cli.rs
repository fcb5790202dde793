//! The `stream` example run as a real process: its output, files and exit statuses, against
//! its own built-in simulator or one started here on 127.0.0.1.
//!
//! A plain `cargo test` builds the examples; `cargo test --test cli` alone does not, so
//! build the example first then (`cargo build --all-features --example stream`). The binary
//! is found next to this test's own binary, and a missing or outdated one fails the tests.
//! Every run starts from an empty environment, so no credentials, proxy or base URL of the
//! machine running the tests can reach the process.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    process::{Output, Stdio},
    sync::OnceLock,
    time::Duration,
};

use cloudflare_stream::simulator::{DEFAULT_API_TOKEN, DEFAULT_FILE_SIZE, Fault, Simulator};
use serde_json::Value;

/// Longer than any run should take; a hung process is killed and fails its test.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// A token no default shares, so finding it in any output means it leaked.
const SECRET_TOKEN: &str = "cli-secret-TOKEN-5f0c9e27a1";

/// A valid video id the simulators do not know.
const UNKNOWN_VIDEO: &str = "00000000000000000000000000000bad";

/// The environment variables that carry a secret, whose values must never be printed.
const SECRET_VARIABLES: [&str; 3] = [
    "CLOUDFLARE_API_TOKEN",
    "CLOUDFLARE_API_KEY",
    "CLOUDFLARE_API_USER_SERVICE_KEY",
];

/// The example binary: `<target>/debug/examples/stream`, beside this test's
/// `<target>/debug/deps/cli-…`. `cargo test --test cli` alone does not build examples, so
/// a binary older than its sources fails here rather than testing old code.
fn stream_binary() -> &'static Path {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
        let test = std::env::current_exe().expect("the test binary knows its path");
        let profile = test
            .parent()
            .and_then(Path::parent)
            .expect("the test binary lives in <target>/<profile>/deps");
        let binary = profile
            .join("examples")
            .join(format!("stream{}", std::env::consts::EXE_SUFFIX));
        let built = std::fs::metadata(&binary)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| {
                panic!(
                    "the example binary is missing at {} ({e}); build it with \
                     `cargo build --all-features --example stream` (a plain `cargo test` \
                     builds it too)",
                    binary.display()
                )
            });
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut sources = vec![root.join("examples").join("stream.rs")];
        let mut dirs = vec![root.join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir)
                .expect("the sources are readable")
                .flatten()
            {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    sources.push(path);
                }
            }
        }
        for source in sources {
            let changed = std::fs::metadata(&source)
                .and_then(|m| m.modified())
                .expect("a source file has a modification time");
            assert!(
                changed <= built,
                "the example binary at {} is older than {}; rebuild it with \
                 `cargo build --all-features --example stream`",
                binary.display(),
                source.display()
            );
        }
        binary
    })
}

/// What one run of the example left behind.
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Asserts the exit status, showing the whole output when it differs.
    fn assert_code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "unexpected exit status\nstdout:\n{}\nstderr:\n{}",
            self.stdout,
            self.stderr
        );
        self
    }

    /// Asserts that stderr is exactly one line starting with `error:`, and returns it.
    fn error_line(&self) -> &str {
        let line = self
            .stderr
            .strip_suffix('\n')
            .unwrap_or_else(|| panic!("stderr does not end a line: {:?}", self.stderr));
        assert!(
            !line.contains('\n') && !line.contains('\r'),
            "stderr is more than one line: {:?}",
            self.stderr
        );
        assert!(
            line.starts_with("error: "),
            "stderr does not start with `error: `: {line:?}"
        );
        line
    }

    /// Stdout parsed as JSON.
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

/// Runs the example with `args` and exactly the variables in `env` (and none of the
/// caller's), in `dir`, killing it after [`RUN_LIMIT`]. Checks that no secret value given
/// in `env`, nor the simulators' default token, appears in its output.
async fn run(args: &[&str], env: &[(&str, &str)], dir: &Path) -> Run {
    let mut command = tokio::process::Command::new(stream_binary());
    command
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let child = command.spawn().expect("the example binary starts");
    let output: Output = tokio::time::timeout(RUN_LIMIT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("`stream {}` ran longer than {RUN_LIMIT:?}", args.join(" ")))
        .expect("the example's output is read");
    let run = Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    };

    let mut secrets = vec![DEFAULT_API_TOKEN];
    secrets.extend(
        env.iter()
            .filter(|(name, value)| SECRET_VARIABLES.contains(name) && !value.is_empty())
            .map(|&(_, value)| value),
    );
    for secret in secrets {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "`stream {}` printed a secret\nstdout:\n{}\nstderr:\n{}",
            args.join(" "),
            run.stdout,
            run.stderr
        );
    }
    run
}

/// A simulator started here, with its base URL kept to lend to environments.
struct Server {
    sim: Simulator,
    base_url: String,
}

impl Server {
    /// A real-time simulator whose downloads encode in 300 ms, accepting [`SECRET_TOKEN`].
    async fn start() -> Self {
        let sim = Simulator::builder()
            .api_token(SECRET_TOKEN)
            .encoding_time(Duration::from_millis(300))
            .file_size(64 * 1024)
            .start()
            .await
            .expect("the simulator starts on 127.0.0.1");
        let base_url = sim.base_url();
        Self { sim, base_url }
    }

    /// The variables that point the example here, with `token`.
    fn env<'a>(&'a self, token: &'a str) -> [(&'static str, &'a str); 3] {
        [
            ("CLOUDFLARE_API_TOKEN", token),
            ("CLOUDFLARE_ACCOUNT_ID", self.sim.account_id()),
            ("CLOUDFLARE_BASE_URL", &self.base_url),
        ]
    }
}

/// The keys of a JSON object.
fn keys(value: &Value) -> BTreeSet<&str> {
    value
        .as_object()
        .unwrap_or_else(|| panic!("not a JSON object: {value}"))
        .keys()
        .map(String::as_str)
        .collect()
}

fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_arguments_runs_the_journey_on_the_built_in_simulator() {
    let dir = temp_dir();
    let run = run(&[], &[], dir.path()).await;
    run.assert_code(0);
    assert_eq!(run.stderr, "", "a successful demo prints nothing on stderr");

    let first = run.stdout.lines().next().unwrap_or_default();
    assert!(
        first.contains("built-in simulator") && first.contains("http://127.0.0.1:"),
        "the first line does not say where it runs: {first:?}"
    );
    assert!(
        !run.stdout.contains('\r') && !run.stdout.contains('\u{1b}'),
        "stdout is not a terminal, yet it holds a progress bar:\n{:?}",
        run.stdout
    );
    assert!(
        run.stdout.contains("encoding default: ") && run.stdout.contains("fetching audio: "),
        "no plain progress lines:\n{}",
        run.stdout
    );

    let video = cloudflare_stream::simulator::SAMPLE_VIDEO_ID;
    for (kind, extension) in [("default", "mp4"), ("audio", "m4a")] {
        let name = format!("{video}-{kind}.{extension}");
        let bytes = std::fs::read(dir.path().join("downloads").join(&name))
            .unwrap_or_else(|e| panic!("downloads/{name} was not written: {e}"));
        assert_eq!(bytes.len() as u64, DEFAULT_FILE_SIZE, "size of {name}");
        assert_eq!(
            &bytes[4..8],
            b"ftyp",
            "{name} does not start with an ftyp box"
        );

        let summary: Vec<&str> = run
            .stdout
            .lines()
            .map(|line| line.split_whitespace().collect::<Vec<_>>())
            .find(|fields| fields.first() == Some(&kind))
            .unwrap_or_else(|| panic!("no summary line for {kind}:\n{}", run.stdout));
        assert_eq!(summary[1], "ready", "status of {kind}: {summary:?}");
        assert_eq!(summary[2], DEFAULT_FILE_SIZE.to_string(), "bytes of {kind}");
        assert!(summary[3].ends_with(&name), "path of {kind}: {summary:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_create_wait_fetch_list_and_delete() {
    let server = Server::start().await;
    let sim = &server.sim;
    let env = server.env(SECRET_TOKEN);
    let dir = temp_dir();
    let video = sim.sample_video_id();

    let created = run(
        &["create", video, "--type", "audio", "--json"],
        &env,
        dir.path(),
    )
    .await;
    created.assert_code(0);
    let download = created.json();
    assert!(
        matches!(download["status"].as_str(), Some("inprogress" | "ready")),
        "status: {download}"
    );
    assert!(download["percentComplete"].is_number(), "{download}");

    let path = dir.path().join("video.mp4");
    let path_text = path.to_str().expect("a UTF-8 temporary path");
    let fetched = run(
        &["create", video, "--wait", "--output", path_text, "--json"],
        &env,
        dir.path(),
    )
    .await;
    fetched.assert_code(0);
    let download = fetched.json();
    assert_eq!(download["status"], "ready", "{download}");
    assert_eq!(download["percentComplete"], 100.0, "{download}");
    assert!(download["url"].is_string(), "{download}");
    let bytes = std::fs::read(&path).expect("--output wrote the file");
    assert!(
        bytes == sim.file_bytes(video, "default").expect("a known type"),
        "the file at --output is not the simulator's ({} bytes)",
        bytes.len()
    );

    let listed = run(&["get", video, "--json"], &env, dir.path()).await;
    listed.assert_code(0);
    let downloads = listed.json();
    assert_eq!(keys(&downloads), BTreeSet::from(["audio", "default"]));
    assert_eq!(downloads["default"]["status"], "ready", "{downloads}");

    let deleted = run(
        &["delete", video, "--type", "audio", "--json"],
        &env,
        dir.path(),
    )
    .await;
    deleted.assert_code(0);
    assert_eq!(deleted.json(), serde_json::json!({ "deleted": "audio" }));

    let listed = run(&["get", video, "--json"], &env, dir.path()).await;
    listed.assert_code(0);
    assert_eq!(keys(&listed.json()), BTreeSet::from(["default"]));

    let text = run(&["get", video], &env, dir.path()).await;
    text.assert_code(0);
    assert!(
        text.stdout
            .starts_with("default: ready 100.0% http://127.0.0.1:")
    );
    assert!(!text.stdout.contains("audio"), "{}", text.stdout);
    server.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn journey_command_saves_both_files_in_the_directory_given() {
    let server = Server::start().await;
    let sim = &server.sim;
    let env = server.env(SECRET_TOKEN);
    let dir = temp_dir();
    let video = sim.sample_video_id();

    let run = run(&["journey", video, "--dir", "out"], &env, dir.path()).await;
    run.assert_code(0);
    for (kind, extension) in [("default", "mp4"), ("audio", "m4a")] {
        let path = dir
            .path()
            .join("out")
            .join(format!("{video}-{kind}.{extension}"));
        let bytes = std::fs::read(&path)
            .unwrap_or_else(|e| panic!("{} was not written: {e}", path.display()));
        assert!(
            bytes == sim.file_bytes(video, kind).expect("a known type"),
            "{} is not the simulator's file",
            path.display()
        );
    }
    server.sim.shutdown().await;
}

/// Arguments, environment, and the words the error line must hold.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a [&'a str]);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_input_and_configuration_exit_2_before_any_request() {
    let server = Server::start().await;
    let sim = &server.sim;
    let env = server.env(SECRET_TOKEN);
    let account = [("CLOUDFLARE_ACCOUNT_ID", sim.account_id())];
    let empty_token = [
        ("CLOUDFLARE_API_TOKEN", ""),
        ("CLOUDFLARE_ACCOUNT_ID", sim.account_id()),
        ("CLOUDFLARE_BASE_URL", server.base_url.as_str()),
    ];
    let no_account = [
        ("CLOUDFLARE_API_TOKEN", SECRET_TOKEN),
        ("CLOUDFLARE_BASE_URL", server.base_url.as_str()),
    ];
    let video = sim.sample_video_id();
    let dir = temp_dir();

    // (arguments, environment, what the error line must name)
    let nowhere = dir.path().join("missing").join("x.mp4");
    let nowhere = nowhere.to_str().expect("a UTF-8 temporary path");
    let cases: [Case; 13] = [
        (
            &["get", video, "--type", "audio"],
            &env,
            &["--type does not apply to get"],
        ),
        (
            &["journey", video, "--wait"],
            &env,
            &["--wait does not apply to journey"],
        ),
        (
            &["create", video, "--output", nowhere],
            &env,
            &["--output", "does not exist"],
        ),
        (&["get", "../x"], &env, &["invalid video id", "'.'"]),
        (&["delete", "../x"], &[], &["invalid video id"]),
        (
            &["create", video, "--type", "video"],
            &env,
            &["invalid download type", "\"video\""],
        ),
        (
            &["frobnicate", video],
            &env,
            &["unknown command", "frobnicate"],
        ),
        (&["frobnicate"], &[], &["unknown command", "frobnicate"]),
        (&["get"], &env, &["get needs a VIDEO_ID"]),
        (
            &["create", video, "--bogus"],
            &env,
            &["unknown option --bogus"],
        ),
        (&["get", video], &account, &["no credentials"]),
        (
            &["get", video],
            &empty_token,
            &["CLOUDFLARE_API_TOKEN", "empty"],
        ),
        (&["get", video], &no_account, &["CLOUDFLARE_ACCOUNT_ID"]),
    ];
    for (args, env, named) in cases {
        let run = run(args, env, dir.path()).await;
        run.assert_code(2);
        let line = run.error_line();
        for word in named {
            assert!(
                line.contains(word),
                "`stream {}`: {line:?} does not name {word:?}",
                args.join(" ")
            );
        }
        assert_eq!(
            run.stdout,
            "",
            "`stream {}` printed on stdout",
            args.join(" ")
        );
    }
    assert_eq!(sim.api_requests(), 0, "invalid input reached the API");
    server.sim.shutdown().await;
}

#[tokio::test]
async fn help_prints_the_usage_and_succeeds() {
    let dir = temp_dir();
    let help = run(&["--help"], &[], dir.path()).await;
    help.assert_code(0);
    assert!(
        help.stdout.starts_with("usage: stream"),
        "{:?}",
        help.stdout
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_exit_1_with_the_code_and_without_the_token() {
    let server = Server::start().await;
    let sim = &server.sim;
    let env = server.env(SECRET_TOKEN);
    let dir = temp_dir();

    let unknown = run(&["get", UNKNOWN_VIDEO, "--json"], &env, dir.path()).await;
    unknown.assert_code(1);
    let line = unknown.error_line();
    assert!(line.contains("10003"), "no Cloudflare code: {line:?}");
    assert!(line.contains("HTTP 404"), "no status: {line:?}");
    assert_eq!(unknown.stdout, "");

    let wrong_token = "wrong-TOKEN-value-81d4c2";
    let wrong = run(
        &["get", sim.sample_video_id()],
        &server.env(wrong_token),
        dir.path(),
    )
    .await;
    wrong.assert_code(1);
    let line = wrong.error_line();
    assert!(line.contains("10000"), "no Cloudflare code: {line:?}");
    assert!(line.contains("HTTP 403"), "no status: {line:?}");
    assert!(
        !line.contains(SECRET_TOKEN),
        "the right token leaked: {line:?}"
    );
    server.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn html_errors_until_the_retries_run_out_exit_1() {
    let server = Server::start().await;
    let sim = &server.sim;
    let env = server.env(SECRET_TOKEN);
    let dir = temp_dir();
    sim.inject_api(Fault::HtmlError { status: 502 }, 3);

    let run = run(&["get", sim.sample_video_id(), "--json"], &env, dir.path()).await;
    run.assert_code(1);
    let line = run.error_line();
    assert!(line.contains("HTTP 502"), "no status: {line:?}");
    assert_eq!(run.stdout, "");
    assert_eq!(sim.api_requests(), 3, "one try and two retries");
    server.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_arguments_with_credentials_set_starts_no_simulator() {
    let server = Server::start().await;
    let sim = &server.sim;
    let dir = temp_dir();
    let base_url = ("CLOUDFLARE_BASE_URL", server.base_url.as_str());
    let account = ("CLOUDFLARE_ACCOUNT_ID", sim.account_id());
    for variable in SECRET_VARIABLES {
        let env = [(variable, SECRET_TOKEN), account, base_url];
        let run = run(&[], &env, dir.path()).await;
        run.assert_code(2);
        let line = run.error_line();
        assert!(line.contains("credentials are set"), "{variable}: {line:?}");
        assert_eq!(run.stdout, "", "{variable}: it printed on stdout");
    }
    assert!(
        !dir.path().join("downloads").exists(),
        "it wrote downloads all the same"
    );
    assert_eq!(sim.api_requests(), 0);
    server.sim.shutdown().await;
}
