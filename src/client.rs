//! The [`Client`], its [`ClientBuilder`], and the retry loop every operation goes through.

use std::{
    fmt,
    sync::Arc,
    time::{Duration, Instant},
};

use tracing::Instrument;

use crate::{
    AccountId,
    answer::{self, Accepted, Context, Envelope, Generated},
    auth::Credentials,
    clock::{Clock, SystemClock},
    error::{ConfigError, Error, Result, TimeoutError},
    generated,
    operations::Operation,
    retry::{Jitter, RetryPolicy},
    transport::Exchange,
};

/// Where Cloudflare's v4 API lives; used when no other base URL is given.
pub const DEFAULT_BASE_URL: &str = "https://api.cloudflare.com/client/v4";

/// The largest API response body read; a longer one is an error and is not read further.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The longest body excerpt an error keeps.
pub const MAX_EXCERPT_BYTES: usize = 512;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// A client for the Stream downloads API of one account.
///
/// Cheap to clone: clones share one connection pool. Build one with [`Client::builder`] or
/// [`Client::from_env`].
#[derive(Clone)]
pub struct Client {
    pub(crate) shared: Arc<Shared>,
    settings: CallSettings,
}

pub(crate) struct Shared {
    pub(crate) base_url: String,
    pub(crate) account: AccountId,
    pub(crate) credentials: Arc<Credentials>,
    /// Follows no redirects and carries credentials on API requests only.
    api_http: reqwest::Client,
    /// For files: follows redirects and never carries API credentials.
    pub(crate) file_http: reqwest::Client,
    connect_timeout: Duration,
    pub(crate) clock: Arc<dyn Clock>,
    jitter: Jitter,
}

const USER_AGENT: &str = concat!("cloudflare-stream/", env!("CARGO_PKG_VERSION"));

/// The two connection pools: API calls follow no redirects; files may.
fn http_clients(
    connect_timeout: Duration,
) -> Result<(reqwest::Client, reqwest::Client), ConfigError> {
    let build = |redirect| {
        reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(connect_timeout)
            .redirect(redirect)
            .build()
            .map_err(|e| ConfigError::new(format!("cannot set up HTTP: {e}")))
    };
    Ok((
        build(reqwest::redirect::Policy::none())?,
        build(reqwest::redirect::Policy::limited(5))?,
    ))
}

/// What may differ from one call to the next.
#[derive(Debug, Clone, Copy)]
struct CallSettings {
    timeout: Duration,
    retry: RetryPolicy,
    /// No attempt runs, and no retry waits, past this.
    deadline: Option<Instant>,
}

impl Client {
    /// Starts building a client.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// Builds a client from the environment: credentials as [`Credentials::from_env`]
    /// reads them, the account from `CLOUDFLARE_ACCOUNT_ID`, and the base URL from
    /// `CLOUDFLARE_BASE_URL` when set.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) when credentials or the account id are missing or malformed, or
    /// the base URL is unusable; [`Error::InvalidId`](crate::Error::InvalidId) when the account id is not an id.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(crate) fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let credentials = Credentials::from_lookup(&get)?;
        let account = get("CLOUDFLARE_ACCOUNT_ID")
            .ok_or_else(|| ConfigError::new("CLOUDFLARE_ACCOUNT_ID is not set"))?;
        let mut builder = Self::builder()
            .credentials(credentials)
            .account_id(AccountId::new(&account)?);
        if let Some(url) = get("CLOUDFLARE_BASE_URL") {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The account this client acts for.
    pub fn account_id(&self) -> &AccountId {
        &self.shared.account
    }

    /// The API's base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.shared.base_url
    }

    /// A client like this one whose calls use another time limit for each attempt (for a
    /// file, the longest wait for the next bytes).
    #[must_use]
    pub fn with_timeout(&self, timeout: Duration) -> Self {
        let mut client = self.clone();
        client.settings.timeout = timeout;
        client
    }

    /// A client like this one with another limit on establishing a connection.
    ///
    /// The connect timeout belongs to a connection pool, so the new client has pools of
    /// its own; keep it for the calls that need it rather than making one per call.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) when the HTTP client cannot be set up.
    pub fn with_connect_timeout(&self, timeout: Duration) -> Result<Self> {
        let (api_http, file_http) = http_clients(timeout)?;
        let shared = &*self.shared;
        Ok(Self {
            shared: Arc::new(Shared {
                base_url: shared.base_url.clone(),
                account: shared.account.clone(),
                credentials: shared.credentials.clone(),
                api_http,
                file_http,
                connect_timeout: timeout,
                clock: shared.clock.clone(),
                jitter: Jitter::default(),
            }),
            settings: self.settings,
        })
    }

    /// A client like this one whose calls use another retry policy.
    #[must_use]
    pub fn with_retry(&self, retry: RetryPolicy) -> Self {
        let mut client = self.clone();
        client.settings.retry = retry;
        client
    }

    /// A client like this one whose calls end by `deadline` (on its clock).
    pub(crate) fn with_deadline(&self, deadline: Instant) -> Self {
        let mut client = self.clone();
        client.settings.deadline = Some(deadline);
        client
    }

    pub(crate) fn retry_policy(&self) -> RetryPolicy {
        self.settings.retry
    }

    pub(crate) fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// A number uniform in `[0, 1)`, for the jitter of retry delays.
    pub(crate) fn jitter(&self) -> f64 {
        self.shared.jitter.next()
    }

    pub(crate) fn connect_timeout(&self) -> Duration {
        self.shared.connect_timeout
    }

    /// The clock this client waits and measures with.
    pub(crate) fn clock(&self) -> &dyn Clock {
        &*self.shared.clock
    }

    /// The generated client for one call, carrying this client's credentials and limits.
    pub(crate) fn api(&self) -> generated::Client {
        let shared = &*self.shared;
        generated::Client::new_with_client(
            &shared.base_url,
            shared.api_http.clone(),
            Exchange::new(
                shared.credentials.clone(),
                self.settings.timeout,
                MAX_BODY_BYTES,
            ),
        )
    }

    /// Sends one operation through `api` (from [`Client::api`]), retrying as the policy
    /// allows, and interprets the answer.
    ///
    /// `call` starts one attempt. It is a plain closure over the caller's `api`, not an
    /// async closure taking it, so that the returned future is `Send` for any lifetime.
    pub(crate) async fn send<T, F, Fut>(
        &self,
        operation: &'static Operation,
        api: &generated::Client,
        call: F,
    ) -> Result<Accepted<T>>
    where
        T: Envelope,
        F: Fn() -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        self.send_outcome(operation, api, call).await.result
    }

    /// As [`Client::send`], also saying whether an earlier attempt may have been acted on.
    pub(crate) async fn send_outcome<T, F, Fut>(
        &self,
        operation: &'static Operation,
        api: &generated::Client,
        call: F,
    ) -> Sent<T>
    where
        T: Envelope,
        F: Fn() -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let span = tracing::debug_span!(
            "stream_api",
            operation = operation.id,
            method = operation.method,
            path = operation.path,
        );
        self.attempts(api, call).instrument(span).await
    }

    async fn attempts<T, F, Fut>(&self, api: &generated::Client, call: F) -> Sent<T>
    where
        T: Envelope,
        F: Fn() -> Fut,
        Fut: Future<Output = Generated<T>>,
    {
        let shared = &*self.shared;
        let clock = &*shared.clock;
        let call_started = clock.now();
        let mut ambiguous_before = false;
        let mut last: Option<Error> = None;
        let mut retry = 0;
        let done = |result, ambiguous_before| Sent {
            result,
            ambiguous_before,
        };
        loop {
            let started = clock.now();
            let left = self.left(started);
            if left.is_zero() {
                // Nothing is sent at or past the deadline.
                let after = started.saturating_duration_since(call_started);
                return done(Err(deadline_error(after, last)), ambiguous_before);
            }
            let timeout = self.settings.timeout.min(left);
            api.inner.set_timeout(timeout);
            let outcome = call().await;
            let cx = Context {
                credentials: &shared.credentials,
                timeout,
                connect_timeout: shared.connect_timeout,
                body_limit: MAX_BODY_BYTES,
                now: clock.wall(),
            };
            let result = answer::interpret(outcome, api.inner.take_answer(), &cx);
            let elapsed = clock.now().saturating_duration_since(started);

            let error = match result {
                Ok(accepted) => {
                    tracing::debug!(
                        attempt = retry + 1,
                        status = accepted.status,
                        ?elapsed,
                        "answered"
                    );
                    return done(Ok(accepted), ambiguous_before);
                }
                Err(error) => error,
            };
            let delay = self
                .settings
                .retry
                .delay(retry, &error, shared.jitter.next());
            tracing::debug!(
                attempt = retry + 1,
                status = error.status(),
                ray = error.api_error().and_then(|e| e.ray_id()),
                ?elapsed,
                retry_in = ?delay,
                "failed: {error}"
            );
            // A limit cut short by the deadline, or a retry that would end past it, means
            // the deadline stopped the call rather than the policy.
            let cut_short = timeout < self.settings.timeout && matches!(error, Error::Timeout(_));
            let past_deadline = delay.is_some_and(|d| d >= self.left(clock.now()));
            if cut_short || past_deadline {
                let after = clock.now().saturating_duration_since(call_started);
                return done(Err(deadline_error(after, Some(error))), ambiguous_before);
            }
            let Some(delay) = delay else {
                return done(Err(error), ambiguous_before);
            };
            ambiguous_before |= error.may_have_been_acted_on();
            last = Some(error);
            clock.sleep(delay).await;
            retry += 1;
        }
    }

    /// The time left before the call's deadline, if it has one.
    fn left(&self, now: Instant) -> Duration {
        self.settings.deadline.map_or(Duration::MAX, |deadline| {
            deadline.saturating_duration_since(now)
        })
    }
}

/// The outcome of an operation after its retries.
pub(crate) struct Sent<T> {
    pub(crate) result: Result<Accepted<T>>,
    /// An attempt before the last failed in a way that leaves open whether the server
    /// acted on it (its answer was lost or cut short).
    pub(crate) ambiguous_before: bool,
}

/// The deadline came `after` the call started; `last` is the last attempt's failure.
fn deadline_error(after: Duration, last: Option<Error>) -> Error {
    Error::Timeout(TimeoutError {
        limit: after,
        deadline: true,
        source: last.map(|e| Box::new(e) as _),
    })
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.shared.base_url)
            .field("account_id", &self.shared.account)
            .field("credentials", &self.shared.credentials)
            .field("connect_timeout", &self.shared.connect_timeout)
            .field("timeout", &self.settings.timeout)
            .field("retry", &self.settings.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
///
/// Defaults: base URL [`DEFAULT_BASE_URL`], connect timeout 5 s, a 60 s limit on each
/// attempt (connecting, sending and reading the whole answer), [`RetryPolicy::default`],
/// and the [`SystemClock`]. Credentials and the account id have no default.
#[derive(Default)]
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    account: Option<AccountId>,
    base_url: Option<String>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    retry: Option<RetryPolicy>,
    clock: Option<Arc<dyn Clock>>,
}

impl ClientBuilder {
    /// Sets the credentials (required).
    #[must_use]
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Sets the account whose videos the client acts on (required).
    #[must_use]
    pub fn account_id(mut self, account: AccountId) -> Self {
        self.account = Some(account);
        self
    }

    /// Points the client at another API root, such as a simulator's (default
    /// [`DEFAULT_BASE_URL`]). A trailing `/` is ignored.
    #[must_use]
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Sets the limit on each attempt, from connecting to the last byte of the answer
    /// (default 60 s). For a file, which may take longer, it is the longest wait for the
    /// next bytes instead.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Sets the limit on establishing a connection (default 5 s).
    #[must_use]
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Sets the retry policy (default [`RetryPolicy::default`]).
    #[must_use]
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = Some(retry);
        self
    }

    /// Replaces the clock used for backoff, polling and deadlines (default
    /// [`SystemClock`]); tests use this to run without waiting.
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Builds the client.
    ///
    /// # Errors
    ///
    /// [`Error::Config`](crate::Error::Config) when credentials or the account id are missing, or the base URL
    /// is not an absolute `http` or `https` URL without user info, query or fragment.
    pub fn build(self) -> Result<Client> {
        let credentials = self
            .credentials
            .ok_or_else(|| ConfigError::new("no credentials were given"))?;
        let account = self
            .account
            .ok_or_else(|| ConfigError::new("no account id was given"))?;
        let base_url = checked_base_url(self.base_url.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
        let connect_timeout = self.connect_timeout.unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        let (api_http, file_http) = http_clients(connect_timeout)?;

        Ok(Client {
            shared: Arc::new(Shared {
                base_url,
                account,
                credentials: Arc::new(credentials),
                api_http,
                file_http,
                connect_timeout,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                jitter: Jitter::default(),
            }),
            settings: CallSettings {
                timeout: self.timeout.unwrap_or(DEFAULT_TIMEOUT),
                retry: self.retry.unwrap_or_default(),
                deadline: None,
            },
        })
    }
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("credentials", &self.credentials)
            .field("account_id", &self.account)
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

// The URL is never echoed in these errors: its user info or path could hold a secret.
fn checked_base_url(text: &str) -> Result<String, ConfigError> {
    let url = url::Url::parse(text)
        .map_err(|e| ConfigError::new(format!("the base URL is not a URL: {e}")))?;
    if !crate::download::is_web_url(&url) {
        return Err(ConfigError::new("the base URL is not an http or https URL"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::new("the base URL must not contain user info"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConfigError::new(
            "the base URL must not have a query or fragment",
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_trimmed() {
        assert_eq!(
            checked_base_url("http://127.0.0.1:8080/client/v4/").unwrap(),
            "http://127.0.0.1:8080/client/v4"
        );
        assert!(checked_base_url("ftp://127.0.0.1/").is_err());
        assert!(checked_base_url("not a url").is_err());
        assert!(checked_base_url("http://127.0.0.1/?x=1").is_err());
        let err = checked_base_url("http://user:SECRET@127.0.0.1/").unwrap_err();
        assert!(!err.to_string().contains("SECRET"));
    }
}
