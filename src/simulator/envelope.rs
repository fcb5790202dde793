//! Cloudflare's JSON envelope, and the refusals the API listener answers with.

use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde_json::{Value, json};

/// Missing credentials.
pub(super) const MISSING_CREDENTIALS: i64 = 9106;
/// Unknown email or global key.
pub(super) const UNKNOWN_GLOBAL_KEY: i64 = 9103;
/// A token, service key or account the credentials do not open.
pub(super) const AUTHENTICATION: i64 = 10000;
/// Malformed or conflicting request headers (credential schemes, content type).
pub(super) const INVALID_HEADERS: i64 = 6003;
/// The item of `error_chain` under [`INVALID_HEADERS`] for a bad `Authorization` header.
pub(super) const BAD_AUTHORIZATION: i64 = 6111;
/// The item of `error_chain` under [`INVALID_HEADERS`] for more than one scheme at once.
pub(super) const SEVERAL_SCHEMES: i64 = 6112;
/// The item of `error_chain` under [`INVALID_HEADERS`] for a content type that is not JSON.
pub(super) const BAD_CONTENT_TYPE: i64 = 6105;
/// A request body that is not a JSON object.
pub(super) const MALFORMED_JSON: i64 = 6007;
/// A method the route does not have.
pub(super) const METHOD_NOT_ALLOWED: i64 = 7001;
/// A path that is no route, including ids that cannot be ids.
pub(super) const NO_ROUTE: i64 = 7003;
/// A well-formed video id the account does not have.
pub(super) const VIDEO_NOT_FOUND: i64 = 10003;
/// A download that was never created, or was deleted.
pub(super) const DOWNLOAD_NOT_FOUND: i64 = 10004;
/// A video not yet ready to view.
pub(super) const VIDEO_NOT_READY: i64 = 10010;
/// The rate limit; below the 1000 the schema claims as the least code, as in real answers.
pub(super) const RATE_LIMITED: i64 = 971;

/// A successful envelope around `result`.
pub(super) fn success(result: Value) -> Response {
    let body = json!({
        "success": true,
        "errors": [],
        "messages": [],
        "result": result,
    });
    (StatusCode::OK, Json(body)).into_response()
}

/// A failed envelope with one error.
pub(super) fn failure(status: StatusCode, code: i64, message: &str) -> Response {
    Refusal::new(status, code, message).into_response()
}

/// An answer that refuses the request: the HTTP status and one error, optionally with the
/// `error_chain` Cloudflare adds to say which header was wrong.
#[derive(Debug, Clone)]
pub(super) struct Refusal {
    status: StatusCode,
    code: i64,
    message: String,
    chain: Option<(i64, String)>,
}

impl Refusal {
    pub(super) fn new(status: StatusCode, code: i64, message: &str) -> Refusal {
        Refusal {
            status,
            code,
            message: message.to_owned(),
            chain: None,
        }
    }

    pub(super) fn with_chain(mut self, code: i64, message: &str) -> Refusal {
        self.chain = Some((code, message.to_owned()));
        self
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let mut error = json!({ "code": self.code, "message": self.message });
        if let (Some((code, message)), Some(fields)) = (self.chain, error.as_object_mut()) {
            fields.insert(
                "error_chain".to_owned(),
                json!([{ "code": code, "message": message }]),
            );
        }
        let body = json!({
            "success": false,
            "errors": [error],
            "messages": [],
            "result": null,
        });
        (self.status, Json(body)).into_response()
    }
}
