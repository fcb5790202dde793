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
    /// Each poll is one [`Client::list_downloads`], with that call's own retries, but no
    /// attempt and no retry runs past the options' timeout: it is a deadline for the whole
    /// wait. States other than the three documented ones count as still in progress.
    ///
    /// # Errors
    ///
    /// [`Error::EncodingFailed`] when the download ends in `error`,
    /// [`Error::WaitTimedOut`] when it is not finished by the deadline,
    /// [`Error::MissingDownload`] when the video has no such download, and any error of a
    /// poll (such as [`Error::Contract`] for a download `ready` without a URL).
    pub async fn wait_for_download(
        &self,
        video: &VideoId,
        download_type: DownloadType,
        options: &WaitOptions,
        mut on_progress: impl FnMut(&Download),
    ) -> Result<Download> {
        let clock = self.clock();
        let started = clock.now();
        // A timeout too large to add (such as `Duration::MAX`) means no deadline.
        let deadline = started.checked_add(options.timeout);
        let poller = match deadline {
            Some(deadline) => self.with_deadline(deadline),
            None => self.clone(),
        };
        let mut interval = options.first_interval;
        let mut last_seen: Option<Download> = None;
        let timed_out = |last_seen: Option<Download>| Error::WaitTimedOut {
            download_type,
            last_seen: last_seen.map(Box::new),
            waited: clock.now().saturating_duration_since(started),
        };

        loop {
            let mut downloads = match poller.list_downloads(video).await {
                Ok(downloads) => downloads,
                // The deadline, not the answer, ended the poll.
                Err(Error::Timeout(e)) if e.is_deadline() => return Err(timed_out(last_seen)),
                Err(e) => return Err(e),
            };
            let download = downloads
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
                _ => {}
            }

            last_seen = Some(download);
            // Never past the deadline; the poll after it sends nothing if the deadline has
            // come, and ends the wait.
            let left = deadline.map_or(Duration::MAX, |d| d.saturating_duration_since(clock.now()));
            clock.sleep(interval.min(left)).await;
            interval = interval.saturating_mul(2).min(options.max_interval);
        }
    }
}
