//! The download types callers see, and the contract checks that turn the wire types into
//! them.

use std::{fmt, str::FromStr};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use url::Url;

use crate::{Error, Result, auth::Credentials, generated::types};

/// Which rendition of a video a download is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum DownloadType {
    /// The MP4 rendition with video and audio (`default` on the wire).
    #[default]
    Default,
    /// The audio-only M4A rendition (`audio` on the wire).
    Audio,
}

impl DownloadType {
    /// Both types, in the order the API documents them.
    pub const ALL: [DownloadType; 2] = [DownloadType::Default, DownloadType::Audio];

    /// The name used on the wire and in URLs: `default` or `audio`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Default => "default",
            Self::Audio => "audio",
        }
    }

    /// The file extension of this type's file: `mp4` or `m4a`.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Default => "mp4",
            Self::Audio => "m4a",
        }
    }
}

impl fmt::Display for DownloadType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is neither `default` nor `audio`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid download type {0:?}: expected \"default\" or \"audio\"")]
pub struct InvalidDownloadType(String);

impl FromStr for DownloadType {
    type Err = InvalidDownloadType;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "default" => Ok(Self::Default),
            "audio" => Ok(Self::Audio),
            other => Err(InvalidDownloadType(other.chars().take(40).collect())),
        }
    }
}

impl Serialize for DownloadType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DownloadType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = String::deserialize(deserializer)?;
        value.parse().map_err(serde::de::Error::custom)
    }
}

/// Where the encoding of a download stands.
///
/// Cloudflare documents three states; any other string it sends is kept in
/// [`DownloadStatus::Other`] rather than failing the whole response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DownloadStatus {
    /// Encoding finished; the file can be fetched (`ready`).
    Ready,
    /// Encoding is under way (`inprogress`).
    InProgress,
    /// Encoding failed (`error`).
    Error,
    /// A state this crate does not know, exactly as the API sent it.
    Other(String),
}

impl DownloadStatus {
    /// The status as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Ready => "ready",
            Self::InProgress => "inprogress",
            Self::Error => "error",
            Self::Other(other) => other,
        }
    }

    /// Whether encoding has ended, well or badly.
    pub fn is_finished(&self) -> bool {
        matches!(self, Self::Ready | Self::Error)
    }
}

impl fmt::Display for DownloadStatus {
    /// The wire string; control characters in an unknown one are escaped, so it always
    /// shows on one line.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&crate::error::OneLine(self.as_str()), f)
    }
}

impl From<&str> for DownloadStatus {
    fn from(value: &str) -> Self {
        match value {
            "ready" => Self::Ready,
            "inprogress" => Self::InProgress,
            "error" => Self::Error,
            other => Self::Other(other.to_owned()),
        }
    }
}

impl Serialize for DownloadStatus {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for DownloadStatus {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // Borrowing avoids an allocation for the three known states.
        let value = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Ok(Self::from(&*value))
    }
}

/// One download of a video: its status, progress and, once there is one, its URL.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Download {
    status: DownloadStatus,
    #[serde(rename = "percentComplete")]
    percent_complete: f64,
    url: Option<Url>,
}

impl Download {
    /// Where encoding stands.
    pub fn status(&self) -> &DownloadStatus {
        &self.status
    }

    /// Encoding progress in percent: always finite and within 0 to 100.
    pub fn percent_complete(&self) -> f64 {
        self.percent_complete
    }

    /// Where the file can be fetched; `None` until the API gives one.
    pub fn url(&self) -> Option<&Url> {
        self.url.as_ref()
    }

    pub(crate) fn from_wire(wire: types::Download, field: &str) -> Result<Self, Violation> {
        let percent = wire.percent_complete;
        if !(0.0..=100.0).contains(&percent) {
            return Err(Violation {
                field: format!("{field}.percentComplete"),
                value: percent.to_string(),
                expected: "a number from 0 to 100",
            });
        }
        let url = match wire.url {
            None => None,
            Some(text) => match Url::parse(&text) {
                Ok(url) if is_web_url(&url) => Some(url),
                _ => {
                    return Err(Violation {
                        field: format!("{field}.url"),
                        value: text,
                        expected: "an absolute http or https URL",
                    });
                }
            },
        };
        if wire.status == DownloadStatus::Ready && url.is_none() {
            return Err(Violation {
                field: format!("{field}.url"),
                value: "missing".into(),
                expected: "a URL once the download is ready",
            });
        }
        Ok(Self {
            status: wire.status,
            // Adding zero turns -0 into 0, so that it never shows as "-0".
            percent_complete: percent + 0.0,
            url,
        })
    }

    /// Keeps credentials a server echoed back out of the values handed to the caller: an
    /// unknown status has them replaced; a URL holding one breaks the contract.
    pub(crate) fn scrub(
        &mut self,
        credentials: &Credentials,
        field: &str,
    ) -> Result<(), Violation> {
        if let DownloadStatus::Other(text) = &mut self.status {
            credentials.scrub(text);
        }
        if let Some(url) = &self.url {
            let mut text = url.as_str().to_owned();
            credentials.scrub(&mut text);
            if text != url.as_str() {
                return Err(Violation {
                    field: format!("{field}.url"),
                    value: text,
                    expected: "a URL that holds no API credential",
                });
            }
        }
        Ok(())
    }
}

impl Download {
    /// The URL of the file.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the download has no URL yet (it is not `ready`).
    pub fn file_url(&self) -> Result<&Url> {
        self.url().ok_or_else(|| Error::InvalidInput {
            argument: "download",
            reason: format!("it has no URL yet (status {})", self.status()),
        })
    }

    /// The URL of the file with `?filename=` set, so that the host names the file `name`
    /// (plus the extension) when it is saved by a browser.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidInput`] when the download has no URL yet, or `name` is not 1 to 120
    /// characters of `A-Z a-z 0-9 - _`.
    pub fn file_url_named(&self, name: &str) -> Result<Url> {
        let valid = (1..=120).contains(&name.len())
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !valid {
            return Err(Error::InvalidInput {
                argument: "file name",
                reason: "use 1 to 120 characters of A-Z a-z 0-9 - _".into(),
            });
        }
        let mut url = self.file_url()?.clone();
        let others: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "filename")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.query_pairs_mut()
            .clear()
            .extend_pairs(others)
            .append_pair("filename", name);
        Ok(url)
    }
}

/// A video's downloads, one slot per type; a slot is empty when that download does not
/// exist.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Downloads {
    #[serde(skip_serializing_if = "Option::is_none")]
    default: Option<Download>,
    #[serde(skip_serializing_if = "Option::is_none")]
    audio: Option<Download>,
}

impl Downloads {
    /// The MP4 download, if it exists.
    pub fn default_download(&self) -> Option<&Download> {
        self.default.as_ref()
    }

    /// The audio download, if it exists.
    pub fn audio(&self) -> Option<&Download> {
        self.audio.as_ref()
    }

    /// The download of the given type, if it exists.
    pub fn get(&self, download_type: DownloadType) -> Option<&Download> {
        match download_type {
            DownloadType::Default => self.default.as_ref(),
            DownloadType::Audio => self.audio.as_ref(),
        }
    }

    /// Takes out the download of the given type.
    pub fn take(&mut self, download_type: DownloadType) -> Option<Download> {
        match download_type {
            DownloadType::Default => self.default.take(),
            DownloadType::Audio => self.audio.take(),
        }
    }

    /// Whether no download exists.
    pub fn is_empty(&self) -> bool {
        self.default.is_none() && self.audio.is_none()
    }

    /// Checks a result of either shape: the flat shape is the `default` download.
    pub(crate) fn from_wire(
        wire: types::DownloadsResult,
        credentials: &Credentials,
    ) -> Result<Self, Violation> {
        let (default, audio) = match wire {
            types::DownloadsResult::Download(flat) => (Some(flat), None),
            types::DownloadsResult::Downloads(keyed) => (keyed.default, keyed.audio),
        };
        let checked = |wire: Option<types::Download>, field: &str| {
            wire.map(|d| {
                let mut download = Download::from_wire(d, field)?;
                download.scrub(credentials, field)?;
                Ok(download)
            })
            .transpose()
        };
        Ok(Self {
            default: checked(default, "result.default")?,
            audio: checked(audio, "result.audio")?,
        })
    }
}

/// Whether a URL can be fetched over HTTP: absolute, `http` or `https`, with a host. The
/// one rule for download URLs, file fetches and the API's base URL.
pub(crate) fn is_web_url(url: &Url) -> bool {
    matches!(url.scheme(), "http" | "https") && url.has_host()
}

/// A value in a successful response that the API contract does not allow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) field: String,
    pub(crate) value: String,
    pub(crate) expected: &'static str,
}
