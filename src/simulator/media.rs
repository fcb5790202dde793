//! The media listener: the files of ready downloads, with `?filename=` and byte ranges.
//!
//! A file's bytes depend only on the video id, the kind of download and the configured
//! size: an `ftyp` box that makes the file look like MP4 or M4A, then pseudo-random bytes.
//! Each byte is computed from its position, so any range is served without building the
//! whole file.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

use axum::{
    Router,
    body::{Body, Bytes},
    extract::{Path, State, rejection::PathRejection},
    http::{HeaderMap, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
    routing::get,
};
use http_body::{Frame, SizeHint};

use super::state::{Kind, Shared, mix};

/// The longest `?filename=` the download host accepts.
const MAX_FILENAME: usize = 120;

/// How much of a file one frame of the body carries.
const CHUNK: u64 = 64 * 1024;

/// `ftyp` for an MP4 video: major brand `isom`, minor version 512, compatible `isom`,
/// `iso2`, `avc1`, `mp41`.
const FTYP_MP4: [u8; 32] = *b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41";

/// `ftyp` for an M4A audio file: major brand `M4A `, minor version 0, compatible `M4A `,
/// `isom`, `iso2`.
const FTYP_M4A: [u8; 28] = *b"\0\0\0\x1cftypM4A \0\0\0\0M4A isomiso2";

pub(super) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/{video}/downloads/{file}", get(serve))
        .fallback(not_found)
        .method_not_allowed_fallback(wrong_method)
        .with_state(shared)
}

/// The bytes of a whole file, as the media listener serves them.
pub(super) fn file_bytes(video: &str, kind: Kind, size: u64) -> Vec<u8> {
    // Only a hint: a size beyond memory fails while filling, not while reserving.
    let hint = usize::try_from(size.min(CHUNK * 64)).unwrap_or(0);
    let mut out = Vec::with_capacity(hint);
    fill(&mut out, seed(video, kind), kind, 0, size);
    out
}

async fn serve(
    State(shared): State<Arc<Shared>>,
    path: Result<Path<(String, String)>, PathRejection>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let Ok(Path((video, file))) = path else {
        return not_found().await;
    };
    let Some(kind) = Kind::from_file_name(&file) else {
        return not_found().await;
    };
    let now = shared.now();
    if !shared
        .catalogue
        .is_ready(&video, kind, now, shared.config.encoding_time)
    {
        return not_found().await;
    }

    let disposition = match filename(&uri) {
        Ok(None) => None,
        Ok(Some(name)) => Some(format!(
            "attachment; filename=\"{name}.{}\"",
            kind.extension()
        )),
        Err(()) => {
            return plain(
                StatusCode::BAD_REQUEST,
                "filename must be 1 to 120 characters of A-Z a-z 0-9 - _\n",
            );
        }
    };

    let size = shared.config.file_size;
    let seed = seed(&video, kind);
    let (status, start, end) = match range(&headers, size) {
        Ask::Whole => (StatusCode::OK, 0, size),
        Ask::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end),
        Ask::Unsatisfiable => {
            let mut response = plain(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
            insert(
                &mut response,
                header::CONTENT_RANGE,
                &format!("bytes */{size}"),
            );
            return response;
        }
    };

    let body = FileBody {
        seed,
        kind,
        pos: start,
        end,
    };
    let mut response = (status, Body::new(body)).into_response();
    insert(&mut response, header::CONTENT_TYPE, kind.content_type());
    insert(
        &mut response,
        header::CONTENT_LENGTH,
        &(end - start).to_string(),
    );
    insert(&mut response, header::ACCEPT_RANGES, "bytes");
    insert(
        &mut response,
        header::ETAG,
        &format!("\"{seed:016x}-{size:x}\""),
    );
    if status == StatusCode::PARTIAL_CONTENT {
        let last = end.saturating_sub(1);
        insert(
            &mut response,
            header::CONTENT_RANGE,
            &format!("bytes {start}-{last}/{size}"),
        );
    }
    if let Some(disposition) = disposition {
        insert(&mut response, header::CONTENT_DISPOSITION, &disposition);
    }
    response
}

async fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "not found\n")
}

async fn wrong_method() -> Response {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
    insert(&mut response, header::ALLOW, "GET, HEAD");
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    let mut response = (status, text).into_response();
    insert(
        &mut response,
        header::CONTENT_TYPE,
        "text/plain; charset=utf-8",
    );
    response
}

/// Sets a header whose value the simulator wrote itself; a value that somehow is not a
/// valid header is left out rather than failing the response.
fn insert(response: &mut Response, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// The `filename` query parameter, if any. Only the plain characters the download host
/// allows are accepted, so there is nothing to percent-decode: an escape is refused.
fn filename(uri: &Uri) -> Result<Option<&str>, ()> {
    let Some(query) = uri.query() else {
        return Ok(None);
    };
    let Some(name) = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("filename="))
    else {
        return Ok(None);
    };
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
    if (1..=MAX_FILENAME).contains(&name.len()) && name.bytes().all(allowed) {
        Ok(Some(name))
    } else {
        Err(())
    }
}

/// What a `Range` header asks for; `Part` is half-open, `start..end`.
#[derive(Debug, PartialEq, Eq)]
enum Ask {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// Reads a single byte range. Headers this server does not handle (other units, several
/// ranges, bad syntax) are ignored, which HTTP allows: the whole file is sent.
fn range(headers: &HeaderMap, size: u64) -> Ask {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Ask::Whole;
    };
    let value = value.trim();
    let Some(spec) = value
        .get(..6)
        .filter(|unit| unit.eq_ignore_ascii_case("bytes="))
        .and_then(|_| value.get(6..))
    else {
        return Ask::Whole;
    };
    if spec.contains(',') {
        return Ask::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Ask::Whole;
    };
    let (first, last) = (first.trim(), last.trim());

    if first.is_empty() {
        // A suffix: the last N bytes.
        return match last.parse::<u64>() {
            Ok(0) => Ask::Unsatisfiable,
            Ok(_) if size == 0 => Ask::Unsatisfiable,
            Ok(n) => Ask::Part(size.saturating_sub(n), size),
            Err(_) => Ask::Whole,
        };
    }
    let Ok(start) = first.parse::<u64>() else {
        return Ask::Whole;
    };
    let end = if last.is_empty() {
        size
    } else {
        match last.parse::<u64>() {
            Ok(last) if last >= start => last.saturating_add(1).min(size),
            _ => return Ask::Whole,
        }
    };
    if start >= size {
        Ask::Unsatisfiable
    } else {
        Ask::Part(start, end)
    }
}

/// FNV-1a over the video id and the kind: a stable seed per file.
fn seed(video: &str, kind: Kind) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in video.bytes().chain([0xff]).chain(kind.key().bytes()) {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

/// Appends the bytes at positions `start..end` of a file.
fn fill(out: &mut Vec<u8>, seed: u64, kind: Kind, start: u64, end: u64) {
    let header: &[u8] = match kind {
        Kind::Default => &FTYP_MP4,
        Kind::Audio => &FTYP_M4A,
    };
    let mut block = u64::MAX;
    let mut word = [0u8; 8];
    for pos in start..end {
        if let Some(byte) = usize::try_from(pos).ok().and_then(|p| header.get(p)) {
            out.push(*byte);
            continue;
        }
        if pos / 8 != block {
            block = pos / 8;
            word = mix(seed ^ block.wrapping_mul(0xd6e8_feb8_6659_fd93)).to_le_bytes();
        }
        out.push(word[(pos % 8) as usize]);
    }
}

/// The body of a file response, made a chunk at a time.
struct FileBody {
    seed: u64,
    kind: Kind,
    pos: u64,
    end: u64,
}

impl http_body::Body for FileBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.pos >= this.end {
            return Poll::Ready(None);
        }
        let stop = this.end.min(this.pos.saturating_add(CHUNK));
        let mut chunk = Vec::with_capacity(CHUNK as usize);
        fill(&mut chunk, this.seed, this.kind, this.pos, stop);
        this.pos = stop;
        Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
    }

    fn is_end_stream(&self) -> bool {
        self.pos >= self.end
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.end.saturating_sub(self.pos))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ranged(value: &str, size: u64) -> Ask {
        let mut headers = HeaderMap::new();
        headers.insert(header::RANGE, HeaderValue::from_str(value).unwrap());
        range(&headers, size)
    }

    #[test]
    fn ranges() {
        assert_eq!(ranged("bytes=10-", 100), Ask::Part(10, 100));
        assert_eq!(ranged("bytes=10-19", 100), Ask::Part(10, 20));
        assert_eq!(ranged("bytes=90-500", 100), Ask::Part(90, 100));
        assert_eq!(ranged("bytes=-30", 100), Ask::Part(70, 100));
        assert_eq!(ranged("bytes=-300", 100), Ask::Part(0, 100));
        assert_eq!(ranged("bytes=100-", 100), Ask::Unsatisfiable);
        assert_eq!(ranged("bytes=-0", 100), Ask::Unsatisfiable);
        assert_eq!(ranged("bytes=5-1", 100), Ask::Whole);
        assert_eq!(ranged("bytes=1-2,4-5", 100), Ask::Whole);
        assert_eq!(ranged("items=1-2", 100), Ask::Whole);
        assert_eq!(ranged("bytes=x-", 100), Ask::Whole);
        assert_eq!(ranged("b", 100), Ask::Whole);
    }

    #[test]
    fn pieces_match_the_whole() {
        let whole = file_bytes("abc", Kind::Default, 1000);
        assert_eq!(&whole[..32], &FTYP_MP4);
        let mut piece = Vec::new();
        fill(
            &mut piece,
            seed("abc", Kind::Default),
            Kind::Default,
            13,
            777,
        );
        assert_eq!(piece, whole[13..777]);
    }

    #[test]
    fn kinds_and_videos_differ() {
        let a = file_bytes("abc", Kind::Default, 200);
        let b = file_bytes("abc", Kind::Audio, 200);
        let c = file_bytes("abd", Kind::Default, 200);
        assert_eq!(&b[..28], &FTYP_M4A);
        assert_ne!(a[32..], b[32..]);
        assert_ne!(a[32..], c[32..]);
    }
}
