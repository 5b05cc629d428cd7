//! The routes of files the browser cannot play as they are (`homestream-transcode` does the
//! work): `/api/play/<path>` (how this browser plays it), `/hls/<path>/<plan>/<resource>`
//! (the playlist, init and segments), `/poster/<path>` and `/subs/<path>?stream=N`.
//! Every path is resolved by the library exactly as `/media/` does, so nothing outside the
//! served folders is reachable through them.

use crate::AppState;
use crate::media::not_found;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use homestream_library::{MediaKind, Resolved, kind_of};
use homestream_transcode::{Caps, Error as TxError, HlsPlan};
use http::{StatusCode, header};
use std::path::PathBuf;
use std::sync::Arc;

/// What a page is told when ffmpeg is missing.
pub const NO_FFMPEG: &str = "Install ffmpeg (Debian/Ubuntu: apt install ffmpeg) and restart \
homestream to play AVI, MKV, MPEG-TS and other files here and to see posters.";

fn query<'a>(req: &'a Request, name: &str) -> Option<&'a str> {
    req.uri().query()?.split('&').find_map(|kv| {
        let (k, v) = kv.split_once('=')?;
        (k == name).then_some(v)
    })
}

/// The video file at a raw URL path, by the library's rules.
async fn video_file(st: &Arc<AppState>, raw: &str) -> Result<(PathBuf, String), Response> {
    let lib = Arc::clone(&st.library);
    let raw_owned = raw.to_string();
    let resolved = tokio::task::spawn_blocking(move || lib.resolve(&raw_owned)).await;
    let path = match resolved {
        Ok(Ok(Resolved::File(p))) => p,
        Ok(Err(e)) => return Err(not_found(&e)),
        _ => return Err((StatusCode::NOT_FOUND, "not found\n").into_response()),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if kind_of(&name) != MediaKind::Video {
        return Err((StatusCode::NOT_FOUND, "not found\n").into_response());
    }
    Ok((path, name))
}

/// What the file-play routes answer when there is no transcoder.
fn no_ffmpeg() -> Response {
    (
        StatusCode::NOT_IMPLEMENTED,
        format!("ffmpeg is not available here. {NO_FFMPEG}\n"),
    )
        .into_response()
}

/// A transcoder error as a response with a clear reason.
fn failed(e: &TxError) -> Response {
    let (status, retry) = match e {
        TxError::Missing(_) => (StatusCode::NOT_FOUND, false),
        TxError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, true),
        TxError::NoFfmpeg(_) => (StatusCode::NOT_IMPLEMENTED, false),
        TxError::Timeout { .. } => (StatusCode::GATEWAY_TIMEOUT, false),
        // ffmpeg could not read the file, or made something unreadable.
        TxError::Tool { .. } | TxError::Parse { .. } => (StatusCode::UNPROCESSABLE_ENTITY, false),
        TxError::Cache { .. } => (StatusCode::INTERNAL_SERVER_ERROR, false),
    };
    if status.is_server_error() && status != StatusCode::SERVICE_UNAVAILABLE {
        tracing::warn!(target: "homestream::transcode", "{e}");
    } else {
        tracing::info!(target: "homestream::transcode", "{e}");
    }
    let mut res = (status, format!("{e}\n")).into_response();
    if retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, http::HeaderValue::from_static("2"));
    }
    res
}

fn bytes(ct: &'static str, cache: &'static str, body: Vec<u8>) -> Response {
    (
        [(header::CONTENT_TYPE, ct), (header::CACHE_CONTROL, cache)],
        body,
    )
        .into_response()
}

/// GET `/api/play/<path>?caps=mp4,h264,aac&audio=N`: how this browser plays the file.
pub async fn play(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let raw = req.uri().path().strip_prefix("/api/play/").unwrap_or("");
    let (path, name) = match video_file(&st, raw).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    let Some(t) = st.transcode.as_ref() else {
        return axum::Json(serde_json::json!({
            "mode": "direct", "ffmpeg": false, "hint": st.transcode_hint,
        }))
        .into_response();
    };
    let caps = query(&req, "caps").map_or_else(Caps::baseline, Caps::parse);
    let audio = match query(&req, "audio").map(str::parse::<u32>) {
        None => None,
        Some(Ok(i)) => Some(i),
        Some(Err(_)) => {
            return (StatusCode::BAD_REQUEST, "audio must be a stream number\n").into_response();
        }
    };
    match t.play(&path, &name, &caps, audio).await {
        Ok(info) => {
            let mut v = serde_json::to_value(&info).unwrap_or_default();
            v["ffmpeg"] = true.into();
            axum::Json(v).into_response()
        }
        Err(e) => failed(&e),
    }
}

/// GET `/hls/<path>/<plan>/index.m3u8 | init.mp4 | <n>.m4s`.
pub async fn hls(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let Some(t) = st.transcode.clone() else {
        return no_ffmpeg();
    };
    let raw = req.uri().path().strip_prefix("/hls/").unwrap_or("");
    let mut parts = raw.rsplitn(3, '/');
    let (Some(resource), Some(key), Some(file)) = (parts.next(), parts.next(), parts.next()) else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let Some(plan) = HlsPlan::from_key(key) else {
        return (StatusCode::NOT_FOUND, "no such plan\n").into_response();
    };
    let (path, _) = match video_file(&st, file).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    // Segments of a file version never change; the playlist and init go with the version too,
    // but are asked for once per play.
    const KEEP: &str = "private, max-age=3600";
    match resource {
        "index.m3u8" => match t.playlist(&path, plan).await {
            Ok(p) => bytes("application/vnd.apple.mpegurl", "no-cache", p.into_bytes()),
            Err(e) => failed(&e),
        },
        "init.mp4" => match t.init(&path, plan).await {
            Ok(b) => bytes("video/mp4", KEEP, b),
            Err(e) => failed(&e),
        },
        seg => {
            let index = seg
                .strip_suffix(".m4s")
                .filter(|n| !n.is_empty() && n.len() <= 7 && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<usize>().ok());
            let Some(index) = index else {
                return (StatusCode::NOT_FOUND, "not found\n").into_response();
            };
            match t.segment(&path, plan, index).await {
                Ok(b) => bytes("video/mp4", KEEP, b),
                Err(e) => failed(&e),
            }
        }
    }
}

/// GET `/poster/<path>`: a JPEG from about 10 % into the video.
pub async fn poster(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let Some(t) = st.transcode.clone() else {
        return no_ffmpeg();
    };
    let raw = req.uri().path().strip_prefix("/poster/").unwrap_or("");
    let (path, _) = match video_file(&st, raw).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match t.poster(&path).await {
        Ok(b) => bytes("image/jpeg", "private, max-age=86400", b),
        Err(e) => failed(&e),
    }
}

/// GET `/subs/<path>?stream=N`: an embedded text subtitle stream as WebVTT.
pub async fn subs(State(st): State<Arc<AppState>>, req: Request) -> Response {
    let Some(t) = st.transcode.clone() else {
        return no_ffmpeg();
    };
    let Some(stream) = query(&req, "stream").and_then(|s| s.parse::<u32>().ok()) else {
        return (StatusCode::BAD_REQUEST, "stream=N is needed\n").into_response();
    };
    let raw = req.uri().path().strip_prefix("/subs/").unwrap_or("");
    let (path, _) = match video_file(&st, raw).await {
        Ok(f) => f,
        Err(r) => return r,
    };
    match t.subtitle(&path, stream).await {
        Ok(b) => bytes("text/vtt; charset=utf-8", "private, max-age=3600", b),
        Err(e) => failed(&e),
    }
}
