//! Time, injectable: every wait and every reading of the clock in this crate goes through
//! a [`Clock`], so tests can drive retries and polling without waiting.

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

/// The real clock: [`Instant::now`], [`SystemTime::now`] and tokio's timer.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Instant {
        Instant::now()
    }

    fn wall(&self) -> SystemTime {
        SystemTime::now()
    }

    fn sleep(&self, duration: Duration) -> Sleep {
        Box::pin(tokio::time::sleep(duration))
    }
}
