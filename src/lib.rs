#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, unreachable_pub, clippy::missing_errors_doc)]

mod answer;
mod auth;
mod client;
pub mod clock;
mod download;
mod error;
mod fetch;
mod generated;
mod ids;
mod operations;
mod retry;
#[cfg(feature = "simulator")]
pub mod simulator;
mod transport;
mod wait;

pub use auth::Credentials;
pub use client::{Client, ClientBuilder, DEFAULT_BASE_URL, MAX_BODY_BYTES, MAX_EXCERPT_BYTES};
pub use download::{Download, DownloadStatus, DownloadType, Downloads, InvalidDownloadType};
pub use error::{
    ApiError, ApiMessage, ConfigError, ContractError, DecodeError, Error, FetchError, Result,
    TimeoutError, TransportError, TransportKind,
};
pub use fetch::{Fetched, Progress};
pub use ids::{AccountId, IdProblem, InvalidId, MAX_ID_LEN, VideoId};
pub use retry::RetryPolicy;
/// The URL type of download URLs and file fetches, re-exported so that callers need not
/// depend on `url` themselves.
pub use url::Url;
pub use wait::WaitOptions;
