//! Time, injectable: every wait between attempts or polls, and every reading of the clock
//! for deadlines, goes through a [`Clock`], so tests can drive retries and polling without
//! waiting. The time limits of single requests (connect, attempt, a file's next bytes) are
//! transport limits and run on tokio's timer.

use std::{
    fmt,
    future::Future,
    pin::Pin,
    time::{Duration, Instant, SystemTime},
};

/// A boxed future returned by [`Clock::sleep`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The source of time for retries, polling and deadlines.
pub trait Clock: Send + Sync + fmt::Debug {
    /// A monotonic reading, for measuring how long something took.
    fn now(&self) -> Instant;

    /// The wall-clock time, for reading HTTP dates such as `Retry-After`.
    fn wall(&self) -> SystemTime;

    /// A future that completes after `duration`.
    fn sleep(&self, duration: Duration) -> Sleep;
}

/// The real clock: tokio's timer and its reading of [`Instant`], and [`SystemTime::now`].
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        // tokio's reading, so that a runtime with paused time moves it with its sleeps.
        tokio::time::Instant::now().into_std()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}
