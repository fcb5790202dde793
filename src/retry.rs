//! When to send a request again, and after how long.

use std::{
    hash::{BuildHasher, RandomState},
    sync::atomic::{AtomicU64, Ordering},
    time::Duration,
};

use crate::error::Error;

/// How failed requests are retried.
///
/// The default retries twice on connection failures, timeouts, and the statuses 408, 409,
/// 429 and 5XX, never on other 4XX. Backoff starts at 0.5 s and doubles up to 8 s, each
/// delay shortened by up to a quarter at random so that many clients do not retry in step.
/// A `Retry-After` of up to 60 s from the API replaces the backoff; a longer one is not
/// waited for, and the caller gets the error carrying it ([`Error::RateLimited`] for a 429).
/// File transfers use the backoff only.
///
/// Every downloads operation is safe to repeat: creating a download that exists, or
/// deleting one that is gone, leaves the same state as doing it once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_retries: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_retry_after: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 2,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// A policy that never retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Sets how many times a request is sent again after the first try (default 2).
    #[must_use]
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// Sets the first backoff and its cap (defaults 0.5 s and 8 s).
    #[must_use]
    pub fn with_backoff(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_backoff = initial;
        self.max_backoff = max.max(initial);
        self
    }

    /// Sets the longest `Retry-After` that is waited for (default 60 s).
    #[must_use]
    pub fn with_max_retry_after(mut self, max: Duration) -> Self {
        self.max_retry_after = max;
        self
    }

    /// Turns the random shortening of delays off, for predictable timing.
    #[must_use]
    pub fn without_jitter(mut self) -> Self {
        self.jitter = false;
        self
    }

    /// How many retries follow the first try.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// The wait before retry number `retry` (0 for the first retry) after `error`, or
    /// `None` to give up. `random` is uniform in `[0, 1)`.
    pub(crate) fn delay(&self, retry: u32, error: &Error, random: f64) -> Option<Duration> {
        if retry >= self.max_retries || !error.is_retryable() {
            return None;
        }
        if let Some(wait) = error.api_error().and_then(|e| e.retry_after()) {
            return (wait <= self.max_retry_after).then_some(wait);
        }
        let doubled = self
            .initial_backoff
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_backoff);
        let factor = if self.jitter {
            1.0 - 0.25 * random
        } else {
            1.0
        };
        // `mul_f64` panics when the product does not fit; a delay that large is the cap.
        Some(Duration::try_from_secs_f64(doubled.as_secs_f64() * factor).unwrap_or(doubled))
    }
}

/// A cheap, lock-free source of jitter (splitmix64), seeded from the process's hash keys.
#[derive(Debug)]
pub(crate) struct Jitter(AtomicU64);

impl Default for Jitter {
    fn default() -> Self {
        Self(AtomicU64::new(RandomState::new().hash_one(0x5eed_u64)))
    }
}

impl Jitter {
    /// A number uniform in `[0, 1)`.
    pub(crate) fn next(&self) -> f64 {
        let mut z = self
            .0
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{ApiError, TimeoutError};

    fn api(status: u16, retry_after: Option<u64>) -> Error {
        let e = ApiError {
            status,
            errors: Vec::new(),
            messages: Vec::new(),
            ray_id: None,
            content_type: None,
            body_excerpt: None,
            body_too_large: false,
            retry_after: retry_after.map(Duration::from_secs),
        };
        if status == 429 {
            Error::RateLimited(Box::new(e))
        } else {
            Error::Api(Box::new(e))
        }
    }

    #[test]
    fn backoff_doubles_to_the_cap_and_jitter_only_shortens() {
        let policy = RetryPolicy::default().with_max_retries(6);
        let timeout = Error::Timeout(TimeoutError {
            deadline: false,
            limit: Duration::from_secs(1),
            source: None,
        });
        let plain: Vec<u64> = (0..6)
            .map(|n| {
                policy
                    .without_jitter()
                    .delay(n, &timeout, 0.9)
                    .unwrap()
                    .as_millis() as u64
            })
            .collect();
        assert_eq!(plain, [500, 1000, 2000, 4000, 8000, 8000]);
        assert_eq!(
            policy.delay(0, &timeout, 0.0),
            Some(Duration::from_millis(500))
        );
        assert_eq!(
            policy.delay(0, &timeout, 0.999_999).unwrap().as_millis(),
            375
        );
        assert_eq!(policy.delay(6, &timeout, 0.0), None);
    }

    #[test]
    fn huge_backoffs_saturate_instead_of_panicking() {
        let policy = RetryPolicy::default().with_backoff(Duration::MAX, Duration::MAX);
        let timeout = Error::Timeout(TimeoutError {
            deadline: false,
            limit: Duration::from_secs(1),
            source: None,
        });
        for random in [0.0, 0.5, 0.999] {
            assert!(policy.delay(1, &timeout, random).is_some());
            assert!(policy.without_jitter().delay(1, &timeout, random).is_some());
        }
    }

    #[test]
    fn only_transient_failures_are_retried() {
        let policy = RetryPolicy::default().without_jitter();
        for status in [408, 409, 429, 500, 502, 520, 522, 524] {
            assert!(
                policy.delay(0, &api(status, None), 0.0).is_some(),
                "{status}"
            );
        }
        for status in [400, 401, 403, 404, 405, 422] {
            assert_eq!(policy.delay(0, &api(status, None), 0.0), None, "{status}");
        }
        assert_eq!(RetryPolicy::none().delay(0, &api(503, None), 0.0), None);
    }

    #[test]
    fn retry_after_replaces_backoff_within_the_budget_only() {
        let policy = RetryPolicy::default();
        assert_eq!(
            policy.delay(0, &api(429, Some(7)), 0.0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            policy.delay(0, &api(429, Some(60)), 0.0),
            Some(Duration::from_secs(60))
        );
        assert_eq!(policy.delay(0, &api(429, Some(86_400)), 0.0), None);
    }

    #[test]
    fn jitter_is_uniform_in_the_unit_interval() {
        let jitter = Jitter::default();
        let draws: Vec<f64> = (0..1000).map(|_| jitter.next()).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((0.4..0.6).contains(&mean), "mean {mean}");
    }
}
