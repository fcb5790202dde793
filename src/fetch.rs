//! Fetching a download's file: streamed in constant memory, resumed with a `Range` request
//! when the connection breaks, and (for files) written to a temporary file that is renamed
//! into place only once complete and of the announced size.

use std::{
    io,
    path::{Path, PathBuf},
};

use reqwest::{
    StatusCode,
    header::{CONTENT_RANGE, ETAG, HeaderMap, HeaderValue, IF_RANGE, LAST_MODIFIED, RANGE},
};
use tokio::{
    fs::File,
    io::{AsyncSeekExt, AsyncWrite, AsyncWriteExt, BufWriter},
};
use url::Url;

use crate::{
    Client, Error, Result, answer,
    error::{FetchError, TimeoutError},
};

/// How far a transfer has got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Progress {
    /// Bytes received so far, across resumed attempts.
    pub received: u64,
    /// The file's size, once the host has said it.
    pub total: Option<u64>,
}

/// The outcome of a completed transfer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Fetched {
    /// The file's size in bytes.
    pub bytes: u64,
    /// How many times a request was sent again after a failure, whether or not bytes had
    /// arrived before it.
    pub resumes: u32,
}

impl Client {
    /// Streams the file at `url` to `path`.
    ///
    /// The bytes go to a temporary file beside `path`, renamed to `path` only when the
    /// transfer is complete and matches the announced size; on any failure the temporary
    /// file is removed and `path` is left as it was. A broken transfer is resumed with a
    /// `Range` request; consecutive failures that bring no new bytes are retried as the
    /// client's retry policy allows. No API credential is sent, and redirects are followed.
    ///
    /// # Errors
    ///
    /// [`Error::Fetch`] for a refusal from the file host, a size that does not add up, or
    /// a local file that cannot be written; [`Error::Transport`] or [`Error::Timeout`] when
    /// resuming did not help.
    pub async fn fetch_to_file(
        &self,
        url: &Url,
        path: impl AsRef<Path>,
        on_progress: impl FnMut(Progress),
    ) -> Result<Fetched> {
        let path = path.as_ref();
        let local = |e: io::Error| {
            fetch_error(
                url,
                format!("cannot write {}", path.display()),
                None,
                Some(e),
            )
        };
        check_target(url, path)?;
        let (temp, file) = TempFile::create(path).map_err(local)?;
        let mut sink = FileSink(BufWriter::with_capacity(64 * 1024, file));
        let fetched = self.transfer(url, &mut sink, on_progress).await?;

        sink.0.flush().await.map_err(local)?;
        let file = sink.0.into_inner();
        file.sync_all().await.map_err(local)?;
        drop(file);
        temp.persist(path).await.map_err(local)?;
        Ok(fetched)
    }

    /// Streams the file at `url` into `writer`, resuming a broken transfer with a `Range`
    /// request. The writer is flushed, not shut down.
    ///
    /// # Errors
    ///
    /// As [`Client::fetch_to_file`]; also when a resumed request is answered with the
    /// whole file again, since bytes already written cannot be taken back.
    pub async fn fetch_to_writer<W: AsyncWrite + Unpin>(
        &self,
        url: &Url,
        writer: &mut W,
        on_progress: impl FnMut(Progress),
    ) -> Result<Fetched> {
        check_url(url)?;
        let mut sink = WriterSink(writer);
        let fetched = self.transfer(url, &mut sink, on_progress).await?;
        sink.0
            .flush()
            .await
            .map_err(|e| fetch_error(url, "cannot write the output", None, Some(e)))?;
        Ok(fetched)
    }

    async fn transfer(
        &self,
        url: &Url,
        sink: &mut impl Sink,
        mut on_progress: impl FnMut(Progress),
    ) -> Result<Fetched> {
        let mut state = Transfer::default();
        let mut resumes = 0u32;
        let mut fruitless = 0u32;
        loop {
            let before = state.received;
            let error = match self.attempt(url, sink, &mut state, &mut on_progress).await {
                Ok(()) => break,
                Err(error) => error,
            };
            fruitless = if state.received > before {
                0
            } else {
                fruitless + 1
            };
            let delay =
                self.retry_policy()
                    .delay(fruitless.saturating_sub(1), &error, self.jitter());
            let Some(delay) = delay else {
                return Err(error);
            };
            tracing::debug!(%error, received = state.received, "resuming the transfer");
            self.clock().sleep(delay).await;
            resumes += 1;
        }

        match state.total {
            Some(total) if total != state.received => Err(fetch_error(
                url,
                format!(
                    "received {} bytes, but the host announced {total}",
                    state.received
                ),
                None,
                None,
            )),
            _ => Ok(Fetched {
                bytes: state.received,
                resumes,
            }),
        }
    }

    /// One request: from the start, or from `state.received` on.
    async fn attempt(
        &self,
        url: &Url,
        sink: &mut impl Sink,
        state: &mut Transfer,
        on_progress: &mut impl FnMut(Progress),
    ) -> Result<()> {
        let mut request = self.shared.file_http.get(url.clone());
        if state.received > 0 {
            request = request.header(RANGE, format!("bytes={}-", state.received));
            if let Some(validator) = &state.validator {
                request = request.header(IF_RANGE, validator.clone());
            }
        }
        // A file may take longer than any whole-request limit, so the limit bounds each
        // wait for bytes instead: for the answer's head, then for every chunk.
        let timeout = self.timeout();
        let stalled = || {
            Error::Timeout(TimeoutError {
                deadline: false,
                limit: timeout,
                source: None,
            })
        };
        let sent = tokio::time::timeout(timeout, request.send()).await;
        let mut response = sent.map_err(|_| stalled())?.map_err(|e| {
            if e.is_redirect() {
                // A redirect loop or chain too long: asking again cannot help.
                fetch_error(url, "too many redirects", None, None)
            } else {
                answer::transport(e.without_url(), timeout, self.connect_timeout())
            }
        })?;

        match response.status() {
            StatusCode::OK => {
                if state.received > 0 {
                    // The host ignored the range, or the file changed: start over.
                    let rewound = sink
                        .rewind()
                        .await
                        .map_err(|e| fetch_error(url, "cannot rewind the output", None, Some(e)))?;
                    if !rewound {
                        return Err(fetch_error(
                            url,
                            "the host sent the whole file again and the output cannot be rewound",
                            Some(200),
                            None,
                        ));
                    }
                    state.received = 0;
                }
                state.total = response.content_length();
                state.validator = validator(response.headers());
            }
            StatusCode::PARTIAL_CONTENT if state.received > 0 => {
                let (start, total) = content_range(response.headers()).unwrap_or((u64::MAX, None));
                let same_size = match (state.total, total) {
                    (Some(known), Some(said)) => known == said,
                    _ => true,
                };
                if start != state.received || !same_size {
                    return Err(fetch_error(
                        url,
                        "the host resumed at another place or size than asked",
                        Some(206),
                        None,
                    ));
                }
                // A first answer without a length (chunked) learns it here.
                state.total = state.total.or(total);
            }
            // Asked for the bytes after the last one: the earlier answer was complete and
            // only its end was lost.
            StatusCode::RANGE_NOT_SATISFIABLE
                if state.received > 0
                    && unsatisfied_length(response.headers()) == Some(state.received)
                    && state.total.is_none_or(|total| total == state.received) =>
            {
                state.total = Some(state.received);
                return Ok(());
            }
            status => {
                return Err(fetch_error(
                    url,
                    format!("the file host answered HTTP {}", status.as_u16()),
                    Some(status.as_u16()),
                    None,
                ));
            }
        }

        on_progress(state.progress());
        while let Some(chunk) = tokio::time::timeout(timeout, response.chunk())
            .await
            .map_err(|_| stalled())?
            .map_err(|e| answer::transport(e.without_url(), timeout, self.connect_timeout()))?
        {
            state.received += chunk.len() as u64;
            if state.total.is_some_and(|total| state.received > total) {
                return Err(fetch_error(
                    url,
                    "the host sent more than it announced",
                    None,
                    None,
                ));
            }
            sink.put(&chunk)
                .await
                .map_err(|e| fetch_error(url, "cannot write the output", None, Some(e)))?;
            on_progress(state.progress());
        }
        Ok(())
    }
}

#[derive(Default)]
struct Transfer {
    received: u64,
    total: Option<u64>,
    /// The `ETag` or `Last-Modified` of the first answer, sent as `If-Range` on a resume
    /// so that a changed file is sent whole rather than spliced.
    validator: Option<HeaderValue>,
}

impl Transfer {
    fn progress(&self) -> Progress {
        Progress {
            received: self.received,
            total: self.total,
        }
    }
}

fn validator(headers: &HeaderMap) -> Option<HeaderValue> {
    headers
        .get(ETAG)
        .filter(|v| !v.as_bytes().starts_with(b"W/"))
        .or_else(|| headers.get(LAST_MODIFIED))
        .cloned()
}

/// Reads the length in `Content-Range: bytes */LENGTH`, the answer to a range past the end.
fn unsatisfied_length(headers: &HeaderMap) -> Option<u64> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    value.strip_prefix("bytes */")?.trim().parse().ok()
}

/// Reads `Content-Range: bytes START-END/TOTAL` (TOTAL may be `*`).
fn content_range(headers: &HeaderMap) -> Option<(u64, Option<u64>)> {
    let value = headers.get(CONTENT_RANGE)?.to_str().ok()?;
    let (range, total) = value.strip_prefix("bytes ")?.split_once('/')?;
    let (start, _end) = range.split_once('-')?;
    let total = match total {
        "*" => None,
        n => Some(n.parse().ok()?),
    };
    Some((start.parse().ok()?, total))
}

/// Files are fetched over HTTP only; anything else is the caller's mistake, not a
/// transient failure worth retrying.
fn check_url(url: &Url) -> Result<()> {
    if crate::download::is_web_url(url) {
        Ok(())
    } else {
        Err(Error::InvalidInput {
            argument: "file URL",
            reason: format!("the scheme {:?} is not http or https", url.scheme()),
        })
    }
}

/// Refuses a target that can never be written before any byte is fetched.
fn check_target(url: &Url, path: &Path) -> Result<()> {
    check_url(url)?;
    let invalid = |reason: &str| Error::InvalidInput {
        argument: "output path",
        reason: reason.into(),
    };
    if path.file_name().is_none()
        || path
            .as_os_str()
            .to_string_lossy()
            .ends_with(std::path::MAIN_SEPARATOR)
        || path.is_dir()
    {
        return Err(invalid("it names no file (it is empty or a directory)"));
    }
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) if !parent.is_dir() => Err(invalid("its directory does not exist")),
        _ => Ok(()),
    }
}

fn fetch_error(
    url: &Url,
    reason: impl Into<String>,
    status: Option<u16>,
    source: Option<io::Error>,
) -> Error {
    Error::Fetch(Box::new(FetchError {
        // Only the host and the file name: the query, and in signed URLs the path, carry a
        // token.
        what: format!(
            "{}/…/{}",
            url.origin().ascii_serialization(),
            url.path_segments()
                .and_then(|mut segments| segments.next_back())
                .unwrap_or("")
        ),
        reason: reason.into(),
        status,
        source: source.map(|e| Box::new(e) as _),
    }))
}

/// Where the bytes go.
trait Sink {
    async fn put(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Empties the output to start over; `false` when that is impossible.
    async fn rewind(&mut self) -> io::Result<bool>;
}

struct FileSink(BufWriter<File>);

impl Sink for FileSink {
    async fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes).await
    }

    async fn rewind(&mut self) -> io::Result<bool> {
        self.0.flush().await?;
        let file = self.0.get_mut();
        file.set_len(0).await?;
        file.rewind().await?;
        Ok(true)
    }
}

struct WriterSink<'a, W>(&'a mut W);

impl<W: AsyncWrite + Unpin> Sink for WriterSink<'_, W> {
    async fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.write_all(bytes).await
    }

    async fn rewind(&mut self) -> io::Result<bool> {
        Ok(false)
    }
}

/// A temporary file beside the target, removed unless persisted (also when the transfer
/// future is dropped midway).
struct TempFile {
    path: PathBuf,
    persisted: bool,
}

impl TempFile {
    /// Creates the file and its guard at once. The creation is a quick synchronous call on
    /// purpose: on tokio's blocking pool it could finish after a dropped transfer's guard
    /// had already cleaned up, leaving the file behind.
    fn create(target: &Path) -> io::Result<(Self, File)> {
        let name = target
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path names no file"))?;
        // Unique per process and call, so concurrent fetches to one target never share it.
        let unique = u64::from(std::process::id())
            ^ std::hash::BuildHasher::hash_one(&std::hash::RandomState::new(), target);
        let mut temp_name = std::ffi::OsString::from(".");
        temp_name.push(name);
        temp_name.push(format!(".{unique:x}.part"));
        let path = target.with_file_name(temp_name);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        let guard = Self {
            path,
            persisted: false,
        };
        Ok((guard, File::from_std(file)))
    }

    async fn persist(mut self, target: &Path) -> io::Result<()> {
        tokio::fs::rename(&self.path, target).await?;
        self.persisted = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}
