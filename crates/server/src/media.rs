//! `/media/<path>`: a library file's bytes, and `/vtt/<path>`: a sidecar subtitle as WebVTT.
//!
//! Range, conditional and HEAD handling is http-serve's (RFC 9110 §13-14); this module only
//! decides which file a request may reach and what it is called.

use crate::AppState;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use homestream_library::{
    Error as LibError, MediaFile, MemoryEntity, OpenFile, byteranges, content_type,
    normalize_request, selected_ranges,
};
use http::{HeaderValue, Method, StatusCode, header};
use std::ops::Range;
use std::sync::Arc;

/// Largest SubRip file converted in memory; subtitles are a few hundred KiB at most.
const MAX_SRT: u64 = 16 * 1024 * 1024;

/// GET/HEAD `/media/<path>`.
pub async fn media(State(st): State<Arc<AppState>>, mut req: Request) -> Response {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/media/")
        .unwrap_or("")
        .to_string();
    // A file whose names and inode are in memory opens here; one that needs the disk opens
    // on the blocking pool, so a slow disk never holds up the connections on this thread.
    let opened = match st.library.open_cached(&raw) {
        Some(done) => Ok(done),
        None => {
            let st = Arc::clone(&st);
            let raw = raw.clone();
            tokio::task::spawn_blocking(move || st.library.open_file(&raw)).await
        }
    };
    match opened {
        Ok(Ok(OpenFile { file, meta, name })) => {
            normalize_request(req.headers_mut(), meta.len());
            let entity = MediaFile::new(file, &meta, content_type(&name));
            let mut res = http_serve::serve(entity.clone(), &req).map(Body::new);
            if is_multipart(&res) {
                let ranges = selected_ranges(req.headers(), meta.len());
                let m =
                    (ranges.len() > 1).then(|| byteranges(&entity, &ranges, content_type(&name)));
                if let Some(m) = m
                    && let Ok(v) = HeaderValue::from_str(&m.content_type)
                {
                    let h = res.headers_mut();
                    h.insert(header::CONTENT_TYPE, v);
                    h.insert(header::CONTENT_LENGTH, m.len.into());
                    if req.method() == Method::GET {
                        *res.body_mut() = Body::from_stream(m.body);
                    }
                }
            }
            if req.method() == Method::GET
                && let Some(range) = body_range(&res, meta.len())
            {
                res.extensions_mut().insert(FileRegion {
                    file: entity,
                    range,
                });
            }
            res
        }
        Ok(Err(e)) => not_found(&e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Marks a response whose body is one contiguous region of a file, for a writer that can
/// have the kernel copy it (`sendfile`). The body stays a normal body for every other writer.
#[derive(Clone)]
pub struct FileRegion {
    pub file: MediaFile,
    pub range: Range<u64>,
}

/// http-serve's multipart answer, whose fixed boundary is replaced (see
/// [`homestream_library::byteranges`]).
fn is_multipart(res: &Response) -> bool {
    res.status() == StatusCode::PARTIAL_CONTENT
        && res
            .headers()
            .get(header::CONTENT_TYPE)
            .is_some_and(|v| v.as_bytes().starts_with(b"multipart/byteranges"))
}

/// The file region a `GET` response's body is: all of it for 200, the one range of a
/// single-part 206 (a multipart body has part headers between the ranges).
fn body_range(res: &Response, len: u64) -> Option<Range<u64>> {
    match res.status() {
        StatusCode::OK => Some(0..len),
        StatusCode::PARTIAL_CONTENT => {
            let value = res.headers().get(header::CONTENT_RANGE)?.to_str().ok()?;
            let (first, last) = value
                .strip_prefix("bytes ")?
                .split_once('/')?
                .0
                .split_once('-')?;
            let (first, last): (u64, u64) = (first.parse().ok()?, last.parse().ok()?);
            (first <= last && last < len).then(|| first..last + 1)
        }
        _ => None,
    }
}

/// GET `/vtt/<path>`: `.vtt` as is, `.srt` converted (browsers' `<track>` reads only WebVTT).
pub async fn vtt(State(st): State<Arc<AppState>>, mut req: Request) -> Response {
    let raw = req
        .uri()
        .path()
        .strip_prefix("/vtt/")
        .unwrap_or("")
        .to_string();
    let opened = {
        let st = Arc::clone(&st);
        tokio::task::spawn_blocking(move || load_subtitle(&st, &raw)).await
    };
    match opened {
        Ok(Ok(Subtitle::File(file, meta))) => {
            normalize_request(req.headers_mut(), meta.len());
            let entity = MediaFile::new(file, &meta, "text/vtt; charset=utf-8");
            http_serve::serve(entity, &req).map(Body::new)
        }
        Ok(Ok(Subtitle::Converted(entity))) => {
            normalize_request(req.headers_mut(), http_serve::Entity::len(&entity));
            http_serve::serve(entity, &req).map(Body::new)
        }
        Ok(Err(e)) => not_found(&e),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Every refusal is a plain 404, so probing learns nothing; the log says why.
pub fn not_found(e: &LibError) -> Response {
    match e {
        LibError::Refused { .. } => tracing::warn!("{e}"),
        _ => match std::error::Error::source(e) {
            Some(cause) => tracing::debug!("{e}: {cause}"),
            None => tracing::debug!("{e}"),
        },
    }
    (StatusCode::NOT_FOUND, "not found\n").into_response()
}

enum Subtitle {
    File(std::fs::File, std::fs::Metadata),
    Converted(MemoryEntity),
}

fn load_subtitle(st: &AppState, raw: &str) -> Result<Subtitle, LibError> {
    let OpenFile { file, meta, name } = st.library.open_file(raw)?;
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".vtt") {
        return Ok(Subtitle::File(file, meta));
    }
    if !lower.ends_with(".srt") || meta.len() > MAX_SRT {
        return Err(LibError::NotFound(raw.to_string()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_SRT), &mut bytes).map_err(
        |source| LibError::Io {
            path: name.clone().into(),
            source,
        },
    )?;
    // SubRip files in the wild are often Latin-1/Windows-1252: keep what decodes.
    let text = String::from_utf8_lossy(&bytes);
    let mtime = meta.modified().ok();
    let seed = mtime
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| format!("srt-{:x}-{:x}", d.as_nanos(), meta.len()));
    Ok(Subtitle::Converted(MemoryEntity::new(
        homestream_library::srt_to_vtt(&text).into(),
        "text/vtt; charset=utf-8",
        seed.as_deref(),
        mtime,
    )))
}
