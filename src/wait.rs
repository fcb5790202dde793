//! Waiting for a download to finish encoding: polling with capped exponential backoff until
//! it is `ready` or `error`, or the deadline passes. Cloudflare offers no webhook for
//! downloads, so polling is the only way.

use std::time::Duration;

use crate::{Client, Download, DownloadStatus, DownloadType, Result, VideoId, error::Error};

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
    /// Each poll is one [`Client::list_downloads`], with that call's own retries. States
    /// other than the three documented ones count as still in progress.
    ///
    /// # Errors
    ///
    /// [`Error::EncodingFailed`] when the download ends in `error`,
    /// [`Error::WaitTimedOut`] when it is not finished within the options' timeout,
    /// [`Error::MissingDownload`] when the video has no such download, and any error of a
    /// poll.
    pub async fn wait_for_download(
        &self,
        video: &VideoId,
        download_type: DownloadType,
        options: &WaitOptions,
        mut on_progress: impl FnMut(&Download),
    ) -> Result<Download> {
        let clock = self.clock();
        let started = clock.now();
        let mut interval = options.first_interval;
        loop {
            let download = self
                .list_downloads(video)
                .await?
                .take(download_type)
                .ok_or(Error::MissingDownload { download_type })?;
            on_progress(&download);
            match download.status() {
                DownloadStatus::Ready => return Ok(download),
                DownloadStatus::Error => {
                    return Err(Error::EncodingFailed {
                        download_type,
                        download: Box::new(download),
                    });
                }
                DownloadStatus::InProgress | DownloadStatus::Other(_) => {}
            }

            let waited = clock.now().saturating_duration_since(started);
            let Some(left) = options.timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
                return Err(Error::WaitTimedOut {
                    download_type,
                    status: download.status().clone(),
                    percent_complete: download.percent_complete(),
                    waited,
                });
            };
            clock.sleep(interval.min(left)).await;
            interval = interval.saturating_mul(2).min(options.max_interval);
        }
    }
}
