//! The five downloads operations, one method each. Every one validates nothing itself (its
//! arguments are already-validated types), sends through [`Client::send`], and checks the
//! result against the contract.

use crate::{
    Client, Download, DownloadType, Downloads, VideoId,
    answer::Accepted,
    auth::Credentials,
    client::Sent,
    download::Violation,
    error::{ContractError, Error, Result},
    generated::types,
};

/// The body of both create operations: an empty JSON object.
const EMPTY: types::EmptyBody = types::EmptyBody {};

/// An operation of the spec, as the facade knows it: for tracing, and for the test that
/// binds this table to `spec/stream-downloads.json`.
#[derive(Debug)]
pub(crate) struct Operation {
    pub(crate) id: &'static str,
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
}

const DOWNLOADS: &str = "/accounts/{account_id}/stream/{identifier}/downloads";
const TYPED: &str = "/accounts/{account_id}/stream/{identifier}/downloads/{download_type}";

pub(crate) const LIST: Operation = Operation {
    id: "list_downloads",
    method: "GET",
    path: DOWNLOADS,
};
pub(crate) const CREATE: Operation = Operation {
    id: "create_download",
    method: "POST",
    path: DOWNLOADS,
};
pub(crate) const DELETE: Operation = Operation {
    id: "delete_download",
    method: "DELETE",
    path: DOWNLOADS,
};
pub(crate) const CREATE_TYPED: Operation = Operation {
    id: "create_typed_download",
    method: "POST",
    path: TYPED,
};
pub(crate) const DELETE_TYPED: Operation = Operation {
    id: "delete_typed_download",
    method: "DELETE",
    path: TYPED,
};

/// Every operation the facade implements.
#[cfg(test)]
pub(crate) const OPERATIONS: [&Operation; 5] =
    [&LIST, &CREATE, &DELETE, &CREATE_TYPED, &DELETE_TYPED];

impl Client {
    /// Lists the downloads of a video (`GET …/downloads`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for a refusal (such as an unknown video), [`Error::Contract`] for an
    /// answer out of contract, and the transport errors every call can give.
    pub async fn list_downloads(&self, video: &VideoId) -> Result<Downloads> {
        let (api, account) = (self.api(), &self.shared.account);
        let accepted = self
            .send(&LIST, &api, || api.list_downloads(account, video))
            .await?;
        downloads(accepted, &self.shared.credentials)
    }

    /// Creates the download of the given type and starts encoding it
    /// (`POST …/downloads/{type}`). Returns that download as the API first reports it,
    /// usually `inprogress`.
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for a refusal (such as a video not ready to view), [`Error::Contract`]
    /// when the answer lacks the download or breaks the contract, and the transport errors
    /// every call can give.
    pub async fn create_download(
        &self,
        video: &VideoId,
        download_type: DownloadType,
    ) -> Result<Download> {
        let (api, account) = (self.api(), &self.shared.account);
        let accepted = self
            .send(&CREATE_TYPED, &api, || {
                api.create_typed_download(account, video, &download_type, &EMPTY)
            })
            .await?;
        one(accepted, download_type, &self.shared.credentials)
    }

    /// Creates the `default` download through the older, untyped endpoint
    /// (`POST …/downloads`). Its answer comes in the keyed or the flat shape; either way the
    /// `default` download is returned.
    ///
    /// # Errors
    ///
    /// As [`Client::create_download`].
    pub async fn create_default_download(&self, video: &VideoId) -> Result<Download> {
        let (api, account) = (self.api(), &self.shared.account);
        let accepted = self
            .send(&CREATE, &api, || {
                api.create_download(account, video, &EMPTY)
            })
            .await?;
        one(accepted, DownloadType::Default, &self.shared.credentials)
    }

    /// Deletes the download of the given type (`DELETE …/downloads/{type}`).
    ///
    /// # Errors
    ///
    /// [`Error::Api`] for a refusal (a 404 when there is no such download), and the
    /// transport errors every call can give. A 404 that answers a *retry* is success: the
    /// attempt before it may have deleted the download and lost only its answer.
    pub async fn delete_download(
        &self,
        video: &VideoId,
        download_type: DownloadType,
    ) -> Result<()> {
        let (api, account) = (self.api(), &self.shared.account);
        let sent = self
            .send_outcome(&DELETE_TYPED, &api, || {
                api.delete_typed_download(account, video, &download_type)
            })
            .await;
        deleted(sent)
    }

    /// Deletes the `default` download through the older, untyped endpoint
    /// (`DELETE …/downloads`).
    ///
    /// # Errors
    ///
    /// As [`Client::delete_download`].
    pub async fn delete_default_download(&self, video: &VideoId) -> Result<()> {
        let (api, account) = (self.api(), &self.shared.account);
        let sent = self
            .send_outcome(&DELETE, &api, || api.delete_download(account, video))
            .await;
        deleted(sent)
    }
}

/// A deletion's outcome. A 404 envelope after an attempt whose answer was lost is success:
/// that attempt may have deleted the download, and either way it is gone. After any other
/// failure (a 503, a refused connection) the server did not act, and a 404 means what it
/// says.
fn deleted(sent: Sent<types::DeletedEnvelope>) -> Result<()> {
    match sent.result {
        Ok(_) => Ok(()),
        Err(e)
            if sent.ambiguous_before
                && e.status() == Some(404)
                && e.api_error().is_some_and(|a| !a.errors().is_empty()) =>
        {
            tracing::debug!("deleted: gone after a retry ({e})");
            Ok(())
        }
        Err(e) => Err(e),
    }
}

pub(crate) fn downloads(
    accepted: Accepted<types::DownloadsEnvelope>,
    credentials: &Credentials,
) -> Result<Downloads> {
    let Accepted {
        envelope,
        status,
        body,
    } = accepted;
    Downloads::from_wire(envelope.result, credentials)
        .map_err(|v| contract(status, v, &body, credentials))
}

fn contract(status: u16, v: Violation, body: &[u8], credentials: &Credentials) -> Error {
    Error::Contract(Box::new(ContractError::from_violation(
        status,
        v,
        body,
        credentials,
    )))
}

fn one(
    accepted: Accepted<types::DownloadsEnvelope>,
    download_type: DownloadType,
    credentials: &Credentials,
) -> Result<Download> {
    let (status, body) = (accepted.status, accepted.body.clone());
    downloads(accepted, credentials)?
        .take(download_type)
        .ok_or_else(|| {
            let missing = Violation {
                field: format!("result.{download_type}"),
                value: "missing".into(),
                expected: "the download that was created",
            };
            contract(status, missing, &body, credentials)
        })
}

/// Every public future can be spawned on a multi-threaded runtime: checked at compile time.
#[cfg(test)]
#[allow(dead_code, clippy::let_underscore_future)]
fn futures_are_send(client: &Client, video: &VideoId, url: &url::Url) {
    fn send<T: Send>(_: T) {}
    send(client.list_downloads(video));
    send(client.create_download(video, DownloadType::Audio));
    send(client.create_default_download(video));
    send(client.delete_download(video, DownloadType::Audio));
    send(client.delete_default_download(video));
    send(client.wait_for_download(
        video,
        DownloadType::Audio,
        &crate::WaitOptions::default(),
        |_| {},
    ));
    send(client.fetch_to_file(url, "x", |_| {}));
    let mut sink = Vec::new();
    send(client.fetch_to_writer(url, &mut sink, |_| {}));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The facade's operations are exactly the spec's: a spec edit that adds, removes or
    /// moves an operation fails here until the facade follows.
    #[test]
    fn operations_match_the_spec() {
        let spec: serde_json::Value =
            serde_json::from_str(include_str!("../spec/stream-downloads.json")).unwrap();
        let mut in_spec = Vec::new();
        for (path, item) in spec["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(id) = op.get("operationId").and_then(|v| v.as_str()) {
                    in_spec.push((id.to_owned(), method.to_uppercase(), path.clone()));
                }
            }
        }
        let mut in_facade: Vec<_> = OPERATIONS
            .iter()
            .map(|op| (op.id.to_owned(), op.method.to_owned(), op.path.to_owned()))
            .collect();
        in_spec.sort();
        in_facade.sort();
        assert_eq!(in_spec, in_facade);
    }
}
