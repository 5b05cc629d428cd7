//! `/live/NAME/stream.mjpg`: multipart/x-mixed-replace (RFC 2046 §5.1; the `x-mixed-replace`
//! subtype as browsers implement it) with one JPEG per part.
//!
//! Each viewer is a hub cursor with [`LagPolicy::SkipToNewest`]. The next frame is taken from
//! the hub only once the previous part has been written to the socket: the part's last chunk
//! is a `Bytes` whose owner signals when hyper drops it (after writing it), so hyper's own
//! write queue never holds more than one part for a viewer, and with `TCP_NOTSENT_LOWAT`
//! (homestream_live::net) the kernel holds little more. A slow socket therefore skips frames and gets
//! the newest one when it is ready; nothing queues. The frame bytes are the hub's `Bytes`,
//! never copied per viewer.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use homestream_live::hub::{Cursor, LagPolicy};
use homestream_live::stream::{Stream, ViewerHandle};
use homestream_mjpeg::writer;
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::Notify;
use tokio::time::Instant;

/// Set when a part's last chunk has been written (dropped by hyper).
#[derive(Default)]
struct Written {
    done: AtomicBool,
    notify: Notify,
}

/// Owner of a part's closing CRLF: signals [`Written`] when dropped.
struct PartEnd(Arc<Written>);

impl AsRef<[u8]> for PartEnd {
    fn as_ref(&self) -> &[u8] {
        writer::PART_END
    }
}

impl Drop for PartEnd {
    fn drop(&mut self) {
        self.0.done.store(true, Ordering::Release);
        // Stores a permit if nobody waits yet, so the waiter cannot miss it.
        self.0.notify.notify_one();
    }
}

struct Viewer {
    cursor: Cursor,
    handle: ViewerHandle,
    interval: Option<Duration>,
    due: Option<Instant>,
    /// The rest of the current part (payload, then the part end), in reverse order.
    pending: Vec<Bytes>,
    /// The previous part, until hyper has written it.
    in_flight: Option<Arc<Written>>,
}

impl Viewer {
    async fn next_chunk(&mut self) -> Option<Bytes> {
        if let Some(b) = self.pending.pop() {
            return Some(b);
        }
        if let Some(w) = self.in_flight.take()
            && !w.done.load(Ordering::Acquire)
        {
            w.notify.notified().await;
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
        let written = Arc::new(Written::default());
        self.pending
            .push(Bytes::from_owner(PartEnd(written.clone())));
        self.in_flight = Some(written);
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
        in_flight: None,
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
