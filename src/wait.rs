//! Waiting for a download to finish encoding: polling with capped exponential backoff until
//! it is `ready` or `error`, or the deadline passes. Cloudflare offers no webhook for
//! downloads, so polling is the only way.

use std::time::Duration;

use crate::{
    Client, Download, DownloadStatus, DownloadType, Result, VideoId,
    error::{ContractError, Error},
};

/// How [`Client::wait_for_download`] polls.
///
/// Defaults: first poll again after 1 s, the interval doubling up to 10 s, giving up after
/// 30 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaitOptions {
    first_interval: Duration,
    max_interval: Duration,
    timeout: Duration,
}

impl Default for WaitOptions {
    fn default() -> Self {
        Self {
            first_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(10),
            timeout: Duration::from_secs(30 * 60),
        }
    }
}

impl WaitOptions {
    /// Sets the first interval between polls and the cap it doubles up to.
    #[must_use]
    pub fn with_interval(mut self, first: Duration, max: Duration) -> Self {
        self.first_interval = first;
        self.max_interval = max.max(first);
        self
    }

    /// Sets how long to wait in all before giving up.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Client {
    /// Polls the video's downloads until the one of `download_type` is `ready` or `error`,
    /// calling `on_progress` with every state seen (the first one included).
    ///
    /// Each poll is one [`Client::list_downloads`], with that call's own retries, but no
    /// attempt and no retry runs past the options' timeout: it is a deadline for the whole
    /// wait. States other than the three documented ones count as still in progress.
    ///
    /// # Errors
    ///
    /// [`Error::EncodingFailed`] when the download ends in `error`,
    /// [`Error::WaitTimedOut`] when it is not finished by the deadline,
    /// [`Error::MissingDownload`] when the video has no such download,
    /// [`Error::Contract`] when it is `ready` without a URL, and any error of a poll.
    pub async fn wait_for_download(
        &self,
        video: &VideoId,
        download_type: DownloadType,
        options: &WaitOptions,
        mut on_progress: impl FnMut(&Download),
    ) -> Result<Download> {
        let clock = self.clock();
        let started = clock.now();
        let deadline = started + options.timeout;
        let poller = self.with_deadline(deadline);
        let mut interval = options.first_interval;
        let mut last_seen: Option<Download> = None;
        let timed_out = |last_seen: Option<Download>| Error::WaitTimedOut {
            download_type,
            last_seen: last_seen.map(Box::new),
            waited: clock.now().saturating_duration_since(started),
        };

        loop {
            let downloads = match poller.list_downloads(video).await {
                Ok(downloads) => downloads,
                // The poll gave up because the deadline came, not because of the answer.
                Err(e) if e.is_retryable() && clock.now() >= deadline => {
                    return Err(timed_out(last_seen));
                }
                Err(e) => return Err(e),
            };
            let mut downloads = downloads;
            let download = downloads
                .take(download_type)
                .ok_or(Error::MissingDownload { download_type })?;
            on_progress(&download);
            match download.status() {
                DownloadStatus::Ready if download.url().is_none() => {
                    return Err(Error::Contract(Box::new(ContractError {
                        status: 200,
                        field: format!("result.{download_type}.url"),
                        value: "missing".into(),
                        expected: "a URL once the download is ready",
                        body_excerpt: String::new(),
                        source: None,
                    })));
                }
                DownloadStatus::Ready => return Ok(download),
                DownloadStatus::Error => {
                    return Err(Error::EncodingFailed {
                        download_type,
                        download: Box::new(download),
                    });
                }
                _ => {}
            }

            let left = deadline.saturating_duration_since(clock.now());
            if left.is_zero() {
                return Err(timed_out(Some(download)));
            }
            last_seen = Some(download);
            clock.sleep(interval.min(left)).await;
            interval = interval.saturating_mul(2).min(options.max_interval);
        }
    }
}
