//! HLS through the funnel (RFC 8216): the playlist is rewritten so every URI (segments, variant
//! playlists, `URI="..."` attributes of EXT-X-KEY/EXT-X-MAP/EXT-X-MEDIA) points at this server,
//! and segments after the one a player asks for are prefetched in parallel, one connection each,
//! `connections` at a time. Cache policy: at most `budget` bytes; the oldest entry is dropped.

use crate::server::FunnelState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::sync::OnceCell;

type Cell = Arc<OnceCell<Result<(Bytes, Option<HeaderValue>), String>>>;

/// HLS state: the playlist URL, the known segment order and the prefetch cache.
pub struct Hls {
    client: reqwest::Client,
    url: reqwest::Url,
    connections: usize,
    budget: u64,
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    /// Segment URLs in playlist order (of the last media playlist seen).
    order: Vec<String>,
    cache: VecDeque<(String, Cell)>,
}

/// Is this URL (or content type) an HLS playlist?
pub fn is_playlist(url: &reqwest::Url, content_type: Option<&HeaderValue>) -> bool {
    let ct = content_type
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    url.path().to_ascii_lowercase().ends_with(".m3u8") || ct.contains("mpegurl")
}

/// Local path for an absolute URL.
fn local(abs: &str) -> String {
    format!("/hls/{}", utf8_percent_encode(abs, NON_ALPHANUMERIC))
}

/// Rewrites a playlist fetched from `base`. Returns the text and the media URIs in order.
pub fn rewrite(text: &str, base: &reqwest::Url) -> (String, Vec<String>) {
    let mut out = String::with_capacity(text.len() * 2);
    let mut uris = Vec::new();
    let resolve = |u: &str| base.join(u.trim()).map(|u| u.to_string()).ok();
    for line in text.lines() {
        let t = line.trim();
        if t.is_empty() {
            out.push('\n');
            continue;
        }
        if let Some(tag) = t.strip_prefix('#') {
            // Rewrite URI="..." attributes inside tags.
            if let Some(i) = tag.find("URI=\"")
                && let Some(j) = tag[i + 5..].find('"')
                && let Some(abs) = resolve(&tag[i + 5..i + 5 + j])
            {
                out.push('#');
                out.push_str(&tag[..i + 5]);
                out.push_str(&local(&abs));
                out.push_str(&tag[i + 5 + j..]);
            } else {
                out.push_str(t);
            }
        } else if let Some(abs) = resolve(t) {
            out.push_str(&local(&abs));
            uris.push(abs);
        } else {
            out.push_str(t);
        }
        out.push('\n');
    }
    (out, uris)
}

impl Hls {
    pub fn new(
        client: reqwest::Client,
        url: reqwest::Url,
        connections: usize,
        budget: u64,
    ) -> Self {
        Hls {
            client,
            url,
            connections: connections.max(1),
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    async fn fetch_playlist(&self, url: &reqwest::Url) -> Response {
        let r = match self.client.get(url.clone()).send().await {
            Ok(r) if r.status().is_success() => r,
            Ok(r) => return bad_gateway(format!("playlist: origin answered {}", r.status())),
            Err(e) => return bad_gateway(format!("playlist: {e}")),
        };
        let base = r.url().clone();
        let text = match r.text().await {
            Ok(t) => t,
            Err(e) => return bad_gateway(format!("playlist body: {e}")),
        };
        let (body, uris) = rewrite(&text, &base);
        let media: Vec<String> = uris
            .into_iter()
            .filter(|u| reqwest::Url::parse(u).is_ok_and(|u| !is_playlist(&u, None)))
            .collect();
        if !media.is_empty() {
            self.lock().order = media;
        }
        (
            [(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")],
            body,
        )
            .into_response()
    }

    /// The rewritten top playlist.
    pub async fn playlist(&self) -> Response {
        let url = self.url.clone();
        self.fetch_playlist(&url).await
    }

    fn cell(&self, url: &str) -> Cell {
        let mut g = self.lock();
        if let Some((_, c)) = g.cache.iter().find(|(u, _)| u == url) {
            return c.clone();
        }
        let c: Cell = Arc::new(OnceCell::new());
        g.cache.push_back((url.to_owned(), c.clone()));
        // Drop the oldest entries beyond the byte budget (unfinished entries count as 0).
        let mut total: u64 = g
            .cache
            .iter()
            .filter_map(|(_, c)| {
                c.get()
                    .and_then(|r| r.as_ref().ok())
                    .map(|b| b.0.len() as u64)
            })
            .sum();
        while total > self.budget && g.cache.len() > 1 {
            if let Some((_, old)) = g.cache.pop_front() {
                total -= old
                    .get()
                    .and_then(|r| r.as_ref().ok())
                    .map_or(0, |b| b.0.len() as u64);
            }
        }
        c
    }

    async fn load(
        client: &reqwest::Client,
        url: &str,
    ) -> Result<(Bytes, Option<HeaderValue>), String> {
        let r = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !r.status().is_success() {
            return Err(format!("origin answered {}", r.status()));
        }
        let ct = r.headers().get(header::CONTENT_TYPE).cloned();
        let b = r.bytes().await.map_err(|e| e.to_string())?;
        Ok((b, ct))
    }

    fn prefetch_after(self: &Arc<Self>, url: &str) {
        let next: Vec<String> = {
            let g = self.lock();
            match g.order.iter().position(|u| u == url) {
                Some(i) => g
                    .order
                    .iter()
                    .skip(i + 1)
                    .take(self.connections)
                    .cloned()
                    .collect(),
                None => Vec::new(),
            }
        };
        for u in next {
            let cell = self.cell(&u);
            if cell.initialized() {
                continue;
            }
            let client = self.client.clone();
            tokio::spawn(async move {
                let _ = cell.get_or_init(|| Self::load(&client, &u)).await;
            });
        }
    }
}

fn bad_gateway(msg: String) -> Response {
    tracing::error!("{msg}");
    (StatusCode::BAD_GATEWAY, format!("{msg}\n")).into_response()
}

/// `GET /hls/<encoded absolute URL>`: a segment (from the prefetch cache) or a nested playlist.
pub async fn segment(State(s): State<Arc<FunnelState>>, Path(rest): Path<String>) -> Response {
    let Some(h) = &s.hls else {
        return StatusCode::NOT_FOUND.into_response();
    };
    // axum has already percent-decoded the path segment back into the absolute URL.
    let url = rest;
    let Ok(parsed) = reqwest::Url::parse(&url) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !matches!(parsed.scheme(), "http" | "https") {
        return StatusCode::NOT_FOUND.into_response();
    }
    if is_playlist(&parsed, None) {
        return h.fetch_playlist(&parsed).await;
    }
    h.prefetch_after(&url);
    let cell = h.cell(&url);
    let client = h.client.clone();
    let r = cell.get_or_init(|| Hls::load(&client, &url)).await.clone();
    tracing::info!(
        "GET hls segment {url} -> {}",
        if r.is_ok() { "200" } else { "502" }
    );
    match r {
        Ok((b, ct)) => {
            let ct = ct.unwrap_or(HeaderValue::from_static("video/mp2t"));
            ([(header::CONTENT_TYPE, ct)], Body::from(b)).into_response()
        }
        Err(e) => bad_gateway(format!("segment {url}: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_every_uri() {
        let base = reqwest::Url::parse("http://o.example/v/index.m3u8").unwrap();
        let pl = "#EXTM3U\n#EXT-X-MAP:URI=\"init.mp4\"\n#EXTINF:4,\nseg1.ts\n#EXTINF:4,\n/abs/seg2.ts\nhttp://cdn.example/seg3.ts\n";
        let (out, uris) = rewrite(pl, &base);
        assert_eq!(
            uris,
            vec![
                "http://o.example/v/seg1.ts",
                "http://o.example/abs/seg2.ts",
                "http://cdn.example/seg3.ts"
            ]
        );
        assert!(out.contains("#EXT-X-MAP:URI=\"/hls/http%3A%2F%2Fo%2Eexample%2Fv%2Finit%2Emp4\""));
        assert!(out.contains("\n/hls/http%3A%2F%2Fo%2Eexample%2Fv%2Fseg1%2Ets\n"));
        assert!(!out.contains("\nseg1.ts"));
        assert!(out.starts_with("#EXTM3U\n"));
    }
}
