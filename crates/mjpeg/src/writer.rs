//! Writes the parts of a `multipart/x-mixed-replace` stream (RFC 2046 §5.1.1).
//!
//! Each part carries `Content-Length` so that clients can hand a frame over as soon as its
//! bytes are in, and `X-Timestamp` (capture time, Unix seconds with microseconds, as ustreamer
//! and mjpg-streamer write it) so that clients can measure end-to-end delay.

use bytes::{BufMut, Bytes, BytesMut};
use std::time::{SystemTime, UNIX_EPOCH};

/// The boundary homestream puts between parts.
pub const BOUNDARY: &str = "homestream-frame";

/// The `Content-Type` of a stream written with [`BOUNDARY`].
pub fn content_type() -> String {
    format!("multipart/x-mixed-replace; boundary={BOUNDARY}")
}

/// The delimiter and headers that go before a part's body. The body follows, then [`PART_END`].
pub fn part_head(content_type: &str, len: usize, captured: Option<SystemTime>) -> Bytes {
    let mut b = BytesMut::with_capacity(128);
    b.put_slice(b"--");
    b.put_slice(BOUNDARY.as_bytes());
    b.put_slice(b"\r\nContent-Type: ");
    b.put_slice(content_type.as_bytes());
    b.put_slice(format!("\r\nContent-Length: {len}\r\n").as_bytes());
    if let Some(t) = captured {
        b.put_slice(format!("X-Timestamp: {}\r\n", format_timestamp(t)).as_bytes());
    }
    b.put_slice(b"\r\n");
    b.freeze()
}

/// What follows every part's body: the CRLF that belongs to the next delimiter.
pub const PART_END: &[u8] = b"\r\n";

/// Unix seconds with six decimals, e.g. `1732176000.123456`.
pub fn format_timestamp(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    format!("{}.{:06}", d.as_secs(), d.subsec_micros())
}

/// Parses [`format_timestamp`]'s form (any number of decimals); `None` if it is not a number.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let secs: f64 = s.trim().parse().ok()?;
    if !secs.is_finite() || secs < 0.0 {
        return None;
    }
    Some(UNIX_EPOCH + std::time::Duration::from_secs_f64(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn head_has_length_and_timestamp() {
        let t = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        let h = part_head("image/jpeg", 42, Some(t));
        assert_eq!(
            &h[..],
            b"--homestream-frame\r\nContent-Type: image/jpeg\r\nContent-Length: 42\r\nX-Timestamp: 1700000000.123456\r\n\r\n"
        );
        assert_eq!(parse_timestamp("1700000000.123456"), Some(t));
        assert_eq!(parse_timestamp("nope"), None);
    }
}
