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

/// Parses [`format_timestamp`]'s form (any number of decimals, exact to the nanosecond);
/// `None` if it is not a non-negative decimal number.
pub fn parse_timestamp(s: &str) -> Option<SystemTime> {
    let s = s.trim();
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let digits = |t: &str| t.bytes().all(|b| b.is_ascii_digit());
    if secs.is_empty() || !digits(secs) || !digits(frac) {
        return None;
    }
    let secs: u64 = secs.parse().ok()?;
    // Nanoseconds from the first nine decimals, padded with zeros.
    let nanos = frac
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |n, d| n * 10 + u32::from(d - b'0'));
    UNIX_EPOCH.checked_add(std::time::Duration::new(secs, nanos))
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
        assert_eq!(parse_timestamp("-1"), None);
        assert_eq!(parse_timestamp("1e3"), None);
        assert_eq!(
            parse_timestamp(" 12 "),
            Some(UNIX_EPOCH + Duration::from_secs(12))
        );
        assert_eq!(
            parse_timestamp("1.5"),
            Some(UNIX_EPOCH + Duration::from_millis(1500))
        );
        assert_eq!(
            parse_timestamp("1.0000000019"),
            Some(UNIX_EPOCH + Duration::new(1, 1))
        );
    }
}
