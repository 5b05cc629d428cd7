//! `multipart/byteranges` bodies (RFC 9110 §14.6) with a boundary nobody can put in a file.
//!
//! http-serve decides whether a request gets several ranges (preconditions, If-Range,
//! satisfiability) but writes the parts with the fixed boundary `B`. RFC 2046 §5.1.1 requires
//! that the delimiter not occur inside a part, and a movie can hold `\r\n--B\r\n`: a client that
//! scans for the boundary (as browsers and PDF readers do) would cut the part there. So such a
//! body is made again here from the same ranges, with 32 random hex digits as its boundary.

use crate::MediaFile;
use bytes::Bytes;
use futures_util::{Stream, StreamExt, stream};
use http_serve::Entity;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;
use std::pin::Pin;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A `multipart/byteranges` body and the headers that describe it.
pub struct Multipart {
    /// `multipart/byteranges; boundary=...`
    pub content_type: String,
    /// The exact body length, for `Content-Length`.
    pub len: u64,
    /// The parts, then the closing delimiter.
    pub body: Pin<Box<dyn Stream<Item = Result<Bytes, BoxError>> + Send + Sync>>,
}

/// The body of `ranges` (at least two) of `file`, each part labelled `part_type`.
pub fn byteranges(file: &MediaFile, ranges: &[Range<u64>], part_type: &str) -> Multipart {
    let boundary = boundary();
    let total = file.len();
    let heads: Vec<Bytes> = ranges
        .iter()
        .map(|r| {
            Bytes::from(format!(
                "\r\n--{boundary}\r\nContent-Range: bytes {}-{}/{total}\r\nContent-Type: {part_type}\r\n\r\n",
                r.start,
                r.end - 1
            ))
        })
        .collect();
    let trailer = Bytes::from(format!("\r\n--{boundary}--\r\n"));
    let len = heads.iter().map(|h| h.len() as u64).sum::<u64>()
        + ranges.iter().map(|r| r.end - r.start).sum::<u64>()
        + trailer.len() as u64;
    let file = file.clone();
    let parts = heads
        .into_iter()
        .zip(ranges.to_vec())
        .map(move |(head, range)| stream::once(async { Ok(head) }).chain(file.get_range(range)));
    let body = stream::iter(parts)
        .flatten()
        .chain(stream::once(async { Ok(trailer) }));
    Multipart {
        content_type: format!("multipart/byteranges; boundary={boundary}"),
        len,
        body: Box::pin(body),
    }
}

/// 128 unpredictable bits: SipHash under the process's random keys, over a counter.
fn boundary() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let keys = RandomState::new();
    format!("{:016x}{:016x}", keys.hash_one(n), keys.hash_one(!n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn parts_carry_the_exact_bytes_and_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f.mp4");
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        let f = std::fs::File::open(&path).unwrap();
        let meta = f.metadata().unwrap();
        let file = MediaFile::new(f, &meta, "video/mp4");
        let m = byteranges(&file, &[0..10, 990..1000], "video/mp4");
        let body: Vec<u8> = m.body.map(|c| c.unwrap().to_vec()).concat().await;
        assert_eq!(body.len() as u64, m.len);
        let b = m
            .content_type
            .strip_prefix("multipart/byteranges; boundary=")
            .unwrap();
        assert_eq!(b.len(), 32);
        let want = [
            format!(
                "\r\n--{b}\r\nContent-Range: bytes 0-9/1000\r\nContent-Type: video/mp4\r\n\r\n"
            )
            .into_bytes(),
            data[0..10].to_vec(),
            format!(
                "\r\n--{b}\r\nContent-Range: bytes 990-999/1000\r\nContent-Type: video/mp4\r\n\r\n"
            )
            .into_bytes(),
            data[990..].to_vec(),
            format!("\r\n--{b}--\r\n").into_bytes(),
        ]
        .concat();
        assert_eq!(body, want);
        assert_ne!(boundary(), boundary());
    }
}
