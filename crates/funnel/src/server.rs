//! The local HTTP server a player talks to: `/` is the remote resource with full RFC 9110 range
//! semantics (single and multiple ranges, 206/416, HEAD, conditional requests, Content-Length,
//! Accept-Ranges, the origin's Content-Type) by way of `http-serve`, whose `Entity` trait lets the
//! body come from the funnel engine instead of a file. `/player` is a page with a `<video>`.
//! An origin without range support is relayed as one plain 200 stream.

use crate::engine::{Engine, Reader};
use crate::hls;
use crate::origin::Origin;
use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use futures_util::Stream;
use std::ops::Range;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Instant, SystemTime};
use tokio::sync::mpsc;

/// Everything the routes need.
pub struct FunnelState {
    pub client: reqwest::Client,
    pub origin: Origin,
    /// `None` when the origin has no range support (plain relay).
    pub engine: Option<Engine>,
    /// The MP4 index fetched early: (offset, bytes).
    pub index: Option<(u64, Bytes)>,
    /// Set when the URL is an HLS playlist.
    pub hls: Option<Arc<hls::Hls>>,
}

/// The router: `/`, `/player`, and the HLS routes when the origin is a playlist.
pub fn router(state: Arc<FunnelState>) -> Router {
    Router::new()
        .route("/", get(media).head(media))
        .route("/player", get(player))
        .route("/hls.light.min.js", get(hls_js))
        .route("/hls/{*rest}", get(hls_get))
        .with_state(state)
}

/// The player page: a `<video>` on `/`; for an HLS funnel, played by hls.js where the browser
/// has Media Source Extensions (what most browsers lack is native HLS), natively elsewhere
/// (Safari on iPhones). `window.hsEngine` says which, for tests.
const PLAYER_HEAD: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>homestream funnel</title><link rel="icon" href="data:,">
<style>body{margin:0;background:#111;color:#ddd;font:14px sans-serif}video{width:100%;max-height:95vh;background:#000}p{padding:0 1em}</style>
</head><body>"#;

const PLAYER_FILE: &str = r#"<video id="v" src="/" controls autoplay playsinline preload="auto"></video>
<p>Played through homestream funnel. Seek freely: the funnel fetches from the new position at once.</p>
<script>window.hsEngine = 'native';</script>
</body></html>"#;

const PLAYER_HLS: &str = r#"<video id="v" controls autoplay playsinline preload="auto"></video>
<p>Played through homestream funnel: segments come over several connections, fetched ahead.</p>
<script src="/hls.light.min.js"></script>
<script>
const v = document.getElementById('v');
if (window.Hls && Hls.isSupported()) {
  const h = new Hls();
  h.loadSource('/');
  h.attachMedia(v);
  window.hsEngine = 'hls.js ' + Hls.version;
} else {
  v.src = '/';
  window.hsEngine = 'native';
}
</script>
</body></html>"#;

async fn player(State(s): State<Arc<FunnelState>>) -> Html<String> {
    let body = if s.hls.is_some() {
        PLAYER_HLS
    } else {
        PLAYER_FILE
    };
    Html(format!("{PLAYER_HEAD}\n{body}"))
}

/// `GET /hls.light.min.js`: the HLS player's script, from the binary.
async fn hls_js() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        Bytes::from_static(homestream_hls::HLS_JS),
    )
        .into_response()
}

/// `GET /hls/...`: see [`hls::Hls::get`] (403 for anything its playlists did not name).
async fn hls_get(
    State(s): State<Arc<FunnelState>>,
    Path(rest): Path<String>,
    headers: http::HeaderMap,
) -> Response {
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match &s.hls {
        Some(h) => h.get(&rest, range.as_deref()).await,
        None => (StatusCode::NOT_FOUND, "not an HLS funnel\n").into_response(),
    }
}

async fn media(State(s): State<Arc<FunnelState>>, req: Request) -> Response {
    let t0 = Instant::now();
    let method = req.method().clone();
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let resp = if let Some(h) = &s.hls {
        h.playlist().await
    } else {
        match (&s.engine, s.origin.size) {
            (Some(engine), Some(len)) => {
                let ent = FunnelEntity {
                    engine: engine.clone(),
                    len,
                    origin: s.origin.clone(),
                    index: s.index.clone(),
                };
                http_serve::serve(ent, &req).map(Body::new)
            }
            _ => plain(&s, &method).await,
        }
    };
    let len = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info!(
        "{method} / range={range} -> {} length={len} in {:?}",
        resp.status().as_u16(),
        t0.elapsed()
    );
    resp
}

/// Relays the origin as one 200 stream (no range support at the origin).
async fn plain(s: &FunnelState, method: &Method) -> Response {
    let mut h = HeaderMap::new();
    if let Some(ct) = &s.origin.content_type {
        h.insert(header::CONTENT_TYPE, ct.clone());
    }
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("none"));
    if method == Method::HEAD {
        if let Some(n) = s.origin.size {
            h.insert(header::CONTENT_LENGTH, n.into());
        }
        return (StatusCode::OK, h).into_response();
    }
    match s.client.get(s.origin.url.clone()).send().await {
        Ok(r) if r.status().is_success() => {
            if let Some(n) = r.content_length() {
                h.insert(header::CONTENT_LENGTH, n.into());
            }
            (StatusCode::OK, h, Body::from_stream(r.bytes_stream())).into_response()
        }
        Ok(r) => {
            tracing::error!("origin answered {} to the plain request", r.status());
            (
                StatusCode::BAD_GATEWAY,
                format!("origin answered {}\n", r.status()),
            )
                .into_response()
        }
        Err(e) => {
            tracing::error!("origin request failed: {e}");
            (
                StatusCode::BAD_GATEWAY,
                format!("origin request failed: {e}\n"),
            )
                .into_response()
        }
    }
}

/// The remote resource as an `http_serve::Entity` whose bytes come from the engine.
struct FunnelEntity {
    engine: Engine,
    len: u64,
    origin: Origin,
    index: Option<(u64, Bytes)>,
}

type BodyStream = Pin<Box<dyn Stream<Item = Result<Bytes, http_serve::BoxError>> + Send + Sync>>;

impl http_serve::Entity for FunnelEntity {
    type Error = http_serve::BoxError;
    type Data = Bytes;

    fn len(&self) -> u64 {
        self.len
    }

    fn get_range(&self, range: Range<u64>) -> BodyStream {
        let prefill = self.index.as_ref().and_then(|(off, b)| {
            let end = off + b.len() as u64;
            (range.start >= *off && range.start < end)
                .then(|| b.slice((range.start - off) as usize..))
        });
        let reader = self.engine.open(vec![range.clone()], true, prefill);
        // Bounded hand-off to hyper (policy: backpressure): 8 chunks, then the reader waits.
        let (tx, mut rx) = mpsc::channel(8);
        tokio::spawn(pump(reader, tx, range));
        Box::pin(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)))
    }

    fn add_headers(&self, h: &mut HeaderMap) {
        let ct = self
            .origin
            .content_type
            .clone()
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        h.insert(header::CONTENT_TYPE, ct);
    }

    fn etag(&self) -> Option<HeaderValue> {
        self.origin
            .etag
            .clone()
            .filter(|e| !e.as_bytes().starts_with(b"W/"))
    }

    fn last_modified(&self) -> Option<SystemTime> {
        let v = self.origin.last_modified.as_ref()?.to_str().ok()?;
        httpdate::parse_http_date(v).ok()
    }
}

/// Moves a reader's bytes into the response until the range is done, the player leaves (not an
/// error: logged at debug), or the engine fails (logged as an error, and the response is cut so
/// the player sees a short body rather than wrong bytes).
async fn pump(
    mut reader: Reader,
    tx: mpsc::Sender<Result<Bytes, http_serve::BoxError>>,
    range: Range<u64>,
) {
    loop {
        tokio::select! {
            _ = tx.closed() => {
                tracing::debug!("player closed bytes {}-{}", range.start, range.end);
                return;
            }
            r = reader.next() => match r {
                Ok(Some((_, b))) => {
                    if tx.send(Ok(b)).await.is_err() {
                        tracing::debug!("player closed bytes {}-{}", range.start, range.end);
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    tracing::error!("bytes {}-{} for the player failed: {e}", range.start, range.end);
                    let _ = tx.send(Err(Box::new(e))).await;
                    return;
                }
            }
        }
    }
}

/// Probes `url` and sets up what the routes need: the engine for a ranged origin (with the MP4
/// index prefetched), HLS rewriting for a playlist, or a plain relay (with a warning).
pub async fn prepare(
    client: reqwest::Client,
    url: &str,
    cfg: crate::engine::EngineConfig,
) -> crate::Result<Arc<FunnelState>> {
    let origin = Origin::probe(&client, url).await?;
    tracing::info!(
        url = %origin.url,
        size = ?origin.size,
        ranges = origin.ranges,
        etag = ?origin.etag,
        "origin probed"
    );
    if hls::is_playlist(&origin.url, origin.content_type.as_ref()) {
        let h = hls::Hls::new(
            client.clone(),
            origin.url.clone(),
            cfg.plan.connections,
            cfg.plan.budget(),
            cfg.stall_timeout,
        );
        return Ok(Arc::new(FunnelState {
            client,
            origin,
            engine: None,
            index: None,
            hls: Some(Arc::new(h)),
        }));
    }
    let (engine, index) = match (origin.ranges, origin.size) {
        (true, Some(_)) => {
            if origin.if_range().is_none() {
                tracing::warn!(
                    "the origin sends no strong ETag or Last-Modified: a change of the remote file mid-way cannot be detected"
                );
            }
            let index = if crate::mp4::looks_like_mp4(&origin) {
                crate::mp4::prefetch_index(&client, &origin, cfg.plan.piece_size, INDEX_CAP).await
            } else {
                None
            };
            (
                Some(Engine::start(client.clone(), origin.clone(), cfg)),
                index,
            )
        }
        _ => {
            tracing::warn!(
                "the origin does not support byte ranges: relaying it over one plain connection (no parallelism, no seeking)"
            );
            (None, None)
        }
    };
    Ok(Arc::new(FunnelState {
        client,
        origin,
        engine,
        index,
        hls: None,
    }))
}

/// The largest MP4 index kept in memory (part of the 32 MiB allowance beyond the pieces).
const INDEX_CAP: u64 = 8 << 20;
