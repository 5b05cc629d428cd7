//! `/live/NAME/stream.mjpg`: multipart/x-mixed-replace (RFC 2046 §5.1; the `x-mixed-replace`
//! subtype as browsers implement it) with one JPEG per part.
//!
//! Each viewer is a hub cursor with [`LagPolicy::SkipToNewest`]: the body is polled only when
//! the connection can take more, and then gets the newest frame, so a slow socket skips frames
//! and nothing queues for it. The frame bytes are the hub's `Bytes`, never copied per viewer.

use crate::hub::{Cursor, LagPolicy};
use crate::stream::{Stream, ViewerHandle};
use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use homestream_mjpeg::writer;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::Instant;

struct Viewer {
    cursor: Cursor,
    handle: ViewerHandle,
    interval: Option<Duration>,
    due: Option<Instant>,
    /// The rest of the current part (payload, then the part end), in reverse order.
    pending: Vec<Bytes>,
}

impl Viewer {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(b) = self.pending.pop() {
            return Some(b);
        }
        if let Some(due) = self.due {
            tokio::time::sleep_until(due).await;
        }
        let unit = self.cursor.next().await.ok()?;
        let stats = &self.handle.stats;
        stats.sent.fetch_add(1, Ordering::Relaxed);
        stats
            .dropped
            .store(self.cursor.skipped(), Ordering::Relaxed);
        if let Some(i) = self.interval {
            let now = Instant::now();
            self.due = Some(self.due.map_or(now, |d| d.max(now - i)) + i);
        }
        let head = writer::part_head(unit.kind.mime(), unit.payload.len(), Some(unit.captured));
        self.pending.push(Bytes::from_static(writer::PART_END));
        self.pending.push(unit.payload.clone());
        Some(head)
    }
}

/// The MJPEG response for one viewer of `stream`, at most `fps` frames per second.
pub fn respond(stream: &Arc<Stream>, fps: Option<f64>) -> Response {
    let viewer = Viewer {
        cursor: stream.hub.subscribe(LagPolicy::SkipToNewest),
        handle: stream.add_viewer("mjpeg", fps),
        interval: fps.map(|f| Duration::from_secs_f64(1.0 / f)),
        due: None,
        pending: Vec::with_capacity(2),
    };
    let body = futures_util::stream::unfold(viewer, |mut v| async move {
        let chunk = v.next_chunk().await?;
        Some((Ok::<_, Infallible>(chunk), v))
    });
    let mut res = Body::from_stream(body).into_response();
    *res.status_mut() = StatusCode::OK;
    let h = res.headers_mut();
    if let Ok(ct) = HeaderValue::from_str(&writer::content_type()) {
        h.insert(header::CONTENT_TYPE, ct);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
    );
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    // Tell nginx-style proxies not to buffer a live stream.
    h.insert("x-accel-buffering", HeaderValue::from_static("no"));
    res
}
