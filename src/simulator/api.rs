//! The routes of the API listener: the five downloads operations under `/client/v4`, with
//! Cloudflare's checks of credentials, account, content type and body.

use std::sync::Arc;

use axum::{
    Router,
    body::Bytes,
    extract::{
        Path, State,
        rejection::{BytesRejection, PathRejection},
    },
    http::{HeaderMap, StatusCode, header},
    response::{IntoResponse, Response},
    routing::{get, post},
};
use serde_json::{Map, Value, json};

use super::{
    envelope::{self, Refusal},
    state::{self, DownloadView, Kind, Shared, Status},
};

/// Where the API lives on the listener, as on `api.cloudflare.com`.
pub(super) const PREFIX: &str = "/client/v4";

type Answer = Result<Response, Refusal>;

pub(super) fn router(shared: Arc<Shared>) -> Router {
    let downloads = format!("{PREFIX}/accounts/{{account}}/stream/{{video}}/downloads");
    let typed = format!("{downloads}/{{kind}}");
    Router::new()
        .route(
            &downloads,
            get(list).post(create_default).delete(delete_default),
        )
        .route(&typed, post(create_typed).delete(delete_typed))
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared)
}

async fn list(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Answer {
    let (account, video) = path.map_err(|_| route_refusal())?.0;
    admit(&shared, &headers, &account, &video)?;

    let now = shared.now();
    let all = shared
        .catalogue
        .list(&video, now, shared.config.encoding_time)
        .map_err(refusal)?;
    Ok(envelope::success(keyed(&shared, &video, &all)))
}

async fn create_default(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let (account, video) = path.map_err(|_| route_refusal())?.0;
    let created = create(&shared, &headers, &account, &video, Kind::Default, body)?;
    let result = if shared.config.flat_results {
        object(&shared, &video, &created)
    } else {
        keyed(&shared, &video, &[created])
    };
    Ok(envelope::success(result))
}

async fn create_typed(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let (account, video, kind) = path.map_err(|_| route_refusal())?.0;
    let kind = Kind::from_key(&kind).ok_or_else(route_refusal)?;
    let created = create(&shared, &headers, &account, &video, kind, body)?;
    Ok(envelope::success(keyed(&shared, &video, &[created])))
}

async fn delete_default(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Answer {
    let (account, video) = path.map_err(|_| route_refusal())?.0;
    delete(&shared, &headers, &account, &video, Kind::Default)
}

async fn delete_typed(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Answer {
    let (account, video, kind) = path.map_err(|_| route_refusal())?.0;
    let kind = Kind::from_key(&kind).ok_or_else(route_refusal)?;
    delete(&shared, &headers, &account, &video, kind)
}

async fn no_route() -> Response {
    route_refusal().into_response()
}

async fn wrong_method() -> Response {
    envelope::failure(
        StatusCode::METHOD_NOT_ALLOWED,
        envelope::METHOD_NOT_ALLOWED,
        "Method not allowed",
    )
}

fn create(
    shared: &Shared,
    headers: &HeaderMap,
    account: &str,
    video: &str,
    kind: Kind,
    body: Result<Bytes, BytesRejection>,
) -> Result<DownloadView, Refusal> {
    admit(shared, headers, account, video)?;
    json_object_body(headers, body)?;

    let now = shared.now();
    shared
        .catalogue
        .create(video, kind, now, shared.config.encoding_time)
        .map_err(refusal)
}

fn delete(shared: &Shared, headers: &HeaderMap, account: &str, video: &str, kind: Kind) -> Answer {
    admit(shared, headers, account, video)?;
    shared.catalogue.delete(video, kind).map_err(refusal)?;
    Ok(envelope::success(json!("ok")))
}

/// The checks every operation makes before it looks at the video: ids that can be ids,
/// credentials, and an account those credentials open.
fn admit(shared: &Shared, headers: &HeaderMap, account: &str, video: &str) -> Result<(), Refusal> {
    if !is_id(account) || !is_id(video) {
        return Err(route_refusal());
    }
    authenticate(shared, headers)?;
    if account != shared.config.account_id {
        return Err(Refusal::new(
            StatusCode::FORBIDDEN,
            envelope::AUTHENTICATION,
            "Authentication error",
        ));
    }
    Ok(())
}

/// Real ids are 32 lowercase hex digits; the contract allows up to 32 letters and digits.
fn is_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// Exactly one credential scheme, and the right secret for it.
fn authenticate(shared: &Shared, headers: &HeaderMap) -> Result<(), Refusal> {
    let config = &shared.config;
    let authorization = headers.get(header::AUTHORIZATION);
    let email = headers.get("x-auth-email");
    let key = headers.get("x-auth-key");
    let service_key = headers.get("x-auth-user-service-key");

    let schemes = usize::from(authorization.is_some())
        + usize::from(email.is_some() || key.is_some())
        + usize::from(service_key.is_some());
    if schemes == 0 {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            envelope::MISSING_CREDENTIALS,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        ));
    }
    if schemes > 1 {
        return Err(invalid_headers(
            envelope::SEVERAL_SCHEMES,
            "More than one authentication scheme in one request",
        ));
    }

    if let Some(value) = authorization {
        let token = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                invalid_headers(
                    envelope::BAD_AUTHORIZATION,
                    "Invalid format for Authorization header",
                )
            })?;
        return if token == config.api_token {
            Ok(())
        } else {
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                envelope::AUTHENTICATION,
                "Authentication error",
            ))
        };
    }

    if let Some(value) = service_key {
        let matches = config
            .user_service_key
            .as_deref()
            .is_some_and(|k| value.as_bytes() == k.as_bytes());
        return if matches {
            Ok(())
        } else {
            Err(Refusal::new(
                StatusCode::FORBIDDEN,
                envelope::AUTHENTICATION,
                "Authentication error",
            ))
        };
    }

    let (Some(email), Some(key)) = (email, key) else {
        return Err(Refusal::new(
            StatusCode::BAD_REQUEST,
            envelope::MISSING_CREDENTIALS,
            "Missing X-Auth-Key, X-Auth-Email or Authorization headers",
        ));
    };
    if email.as_bytes() == config.email.as_bytes() && key.as_bytes() == config.api_key.as_bytes() {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            envelope::UNKNOWN_GLOBAL_KEY,
            "Unknown X-Auth-Key or X-Auth-Email",
        ))
    }
}

/// A create must say it sends JSON and send a JSON object.
fn json_object_body(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(), Refusal> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(invalid_headers(
            envelope::BAD_CONTENT_TYPE,
            "Invalid Content-Type header, valid values are application/json",
        ));
    }

    let malformed = || {
        Refusal::new(
            StatusCode::BAD_REQUEST,
            envelope::MALFORMED_JSON,
            "Malformed JSON in request body: expected a JSON object",
        )
    };
    let body = body.map_err(|_| malformed())?;
    match serde_json::from_slice::<Value>(&body) {
        Ok(Value::Object(_)) => Ok(()),
        _ => Err(malformed()),
    }
}

fn invalid_headers(code: i64, message: &str) -> Refusal {
    Refusal::new(
        StatusCode::BAD_REQUEST,
        envelope::INVALID_HEADERS,
        "Invalid request headers",
    )
    .with_chain(code, message)
}

fn route_refusal() -> Refusal {
    Refusal::new(
        StatusCode::NOT_FOUND,
        envelope::NO_ROUTE,
        "No route for the URI",
    )
}

fn refusal(why: state::Refusal) -> Refusal {
    match why {
        state::Refusal::UnknownVideo => Refusal::new(
            StatusCode::NOT_FOUND,
            envelope::VIDEO_NOT_FOUND,
            "Video not found",
        ),
        state::Refusal::NotReady => Refusal::new(
            StatusCode::BAD_REQUEST,
            envelope::VIDEO_NOT_READY,
            "Video is not ready to view; downloads can be created once it is",
        ),
        state::Refusal::NoDownload => Refusal::new(
            StatusCode::NOT_FOUND,
            envelope::DOWNLOAD_NOT_FOUND,
            "Download not found",
        ),
    }
}

/// The keyed result shape: `{"default": {...}, "audio": {...}}`, only the keys given.
fn keyed(shared: &Shared, video: &str, downloads: &[DownloadView]) -> Value {
    let map: Map<String, Value> = downloads
        .iter()
        .map(|d| (d.kind.key().to_owned(), object(shared, video, d)))
        .collect();
    Value::Object(map)
}

/// One download object; `url` only once the file can be fetched.
fn object(shared: &Shared, video: &str, download: &DownloadView) -> Value {
    let mut fields = Map::new();
    fields.insert("status".to_owned(), json!(download.status.as_str()));
    fields.insert("percentComplete".to_owned(), json!(download.percent));
    if download.status == Status::Ready {
        let url = format!(
            "{}/{}/downloads/{}",
            shared.media_url,
            video,
            download.kind.file_name()
        );
        fields.insert("url".to_owned(), json!(url));
    }
    Value::Object(fields)
}
