//! A received frame and what is known about it.

use bytes::Bytes;
use http::HeaderMap;
use std::time::{Duration, Instant, SystemTime};

/// One frame (one part of the multipart body) with its metadata.
#[derive(Clone, Debug)]
pub struct Frame {
    /// Sequence number, counted from 0 over the life of a client (it keeps counting across
    /// reconnects, so a gap means skipped frames, not a new stream).
    pub seq: u64,
    /// The frame's bytes exactly as received (for MJPEG, a JPEG file).
    pub data: Bytes,
    /// The part's headers.
    pub headers: HeaderMap,
    /// Capture time from the part's `X-Timestamp` header, when it has one.
    pub timestamp: Option<SystemTime>,
    /// Wall-clock time at which the last byte of the frame was received.
    pub received: SystemTime,
    /// Monotonic time at which the last byte of the frame was received.
    pub received_at: Instant,
}

impl Frame {
    /// Receive time minus capture time (`X-Timestamp`), when the server sends it and the
    /// clocks agree well enough for it to be positive.
    pub fn delay(&self) -> Option<Duration> {
        self.received.duration_since(self.timestamp?).ok()
    }

    /// The part's `Content-Type`, if any.
    pub fn content_type(&self) -> Option<&str> {
        self.headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
    }
}
