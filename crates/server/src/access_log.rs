//! One log line per request: peer, method, path, status, bytes actually sent, time.
//!
//! The line is written when the response body ends or is dropped, so a long stream (MJPEG, a
//! movie) is logged once, at its end, with the bytes that really went out. A client that goes
//! away mid-body is normal for media and is logged at info level as `aborted`, never as an error.

use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use bytes::Bytes;
use http_body::{Frame, SizeHint};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Instant;

/// axum middleware: wraps the response body to count bytes and log at its end.
pub async fn log_requests(req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.to_string())
        .unwrap_or_else(|| "-".into());
    let method = req.method().clone();
    let path = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let start = Instant::now();
    let res = next.run(req).await;
    let (mut parts, body) = res.into_parts();
    let line = Arc::new(LogLine {
        peer,
        method: method.to_string(),
        path,
        status: parts.status.as_u16(),
        start,
        bytes: AtomicU64::new(0),
        finished: AtomicBool::new(false),
    });
    parts.extensions.insert(BodySent(Arc::clone(&line)));
    // A streamed body (multipart ranges) has no exact size hint, but its Content-Length header.
    let length = http_body::Body::size_hint(&body).exact().or_else(|| {
        parts
            .headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
    });
    Response::from_parts(
        parts,
        Body::new(CountingBody {
            inner: body,
            line,
            length,
        }),
    )
}

/// For a writer that sends the body some other way than by polling it (`sendfile`): what it
/// sends is counted in the same log line. The line is written when this and the body are
/// both gone.
#[derive(Clone)]
pub struct BodySent(Arc<LogLine>);

impl BodySent {
    /// `n` more bytes of the body went out.
    pub fn add(&self, n: u64) {
        self.0.bytes.fetch_add(n, Ordering::Relaxed);
    }

    /// The whole body went out.
    pub fn finish(&self) {
        self.0.finished.store(true, Ordering::Relaxed);
    }
}

struct LogLine {
    peer: String,
    method: String,
    path: String,
    status: u16,
    start: Instant,
    bytes: AtomicU64,
    finished: AtomicBool,
}

struct CountingBody {
    inner: Body,
    line: Arc<LogLine>,
    /// The body's announced length: hyper stops polling once it has sent that many bytes, so
    /// reaching it (not the end-of-stream poll, which may never come) is what "finished" means.
    length: Option<u64>,
}

impl http_body::Body for CountingBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    let n = data.len() as u64;
                    let total = self.line.bytes.fetch_add(n, Ordering::Relaxed) + n;
                    if self.length == Some(total) {
                        self.line.finished.store(true, Ordering::Relaxed);
                    }
                }
            }
            Poll::Ready(None) => self.line.finished.store(true, Ordering::Relaxed),
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for CountingBody {
    fn drop(&mut self) {
        // An empty body (HEAD, 304) may never be polled: it counts as finished.
        if http_body::Body::is_end_stream(&self.inner) {
            self.line.finished.store(true, Ordering::Relaxed);
        }
    }
}

impl Drop for LogLine {
    fn drop(&mut self) {
        tracing::info!(
            target: "homestream::request",
            "{} {} {} {} {}B {:.1}ms{}",
            self.peer,
            self.method,
            self.path,
            self.status,
            self.bytes.load(Ordering::Relaxed),
            self.start.elapsed().as_secs_f64() * 1000.0,
            if self.finished.load(Ordering::Relaxed) { "" } else { " aborted" }
        );
    }
}
