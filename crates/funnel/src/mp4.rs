//! Fetching an MP4's index (`moov`) early. Players read it before the first frame; when it sits
//! at the end of the file (after `mdat`), a plain sequential funnel makes the player wait or fail
//! ("moov atom not found", seed 003). We walk the top-level boxes (ISO/IEC 14496-12 section 4.2:
//! 32-bit size + type, size 1 = 64-bit size follows, size 0 = to end of file) with tiny range
//! requests, then fetch `moov` whole and keep it as a prefill for the reader that asks for it.
//!
//! `homestream-library` walks the same top-level boxes in `duration/mp4.rs`, over a local file
//! (`Read + Seek`, on a blocking thread). This walk is over async HTTP range requests, so only
//! the sixteen-byte header parse could be shared, and sharing it would tie the funnel to the
//! library crate (they have no other link) or need a crate of its own for twenty lines. A box
//! crate (`mp4-atom`, `mp4`) does not help either: both parse whole boxes from bytes in memory,
//! and the point here is to not download `mdat` to reach `moov`.

use crate::origin::Origin;
use bytes::Bytes;
use http::header;

/// A top-level box header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BoxHeader {
    pub kind: [u8; 4],
    /// Total box size including the header; `None` = extends to the end of the file.
    pub size: Option<u64>,
}

/// Parses a box header from at least 8 (16 for 64-bit sizes) bytes. `None` if too short/invalid.
pub fn parse_box_header(b: &[u8]) -> Option<BoxHeader> {
    let size32 = u32::from_be_bytes(b.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = b.get(4..8)?.try_into().ok()?;
    if !kind.iter().all(|c| c.is_ascii_graphic() || *c == b' ') {
        return None;
    }
    let size = match size32 {
        0 => None,
        1 => {
            let s = u64::from_be_bytes(b.get(8..16)?.try_into().ok()?);
            if s < 16 {
                return None;
            }
            Some(s)
        }
        s if s < 8 => return None,
        s => Some(s as u64),
    };
    Some(BoxHeader { kind, size })
}

/// Does the origin look like an MP4/MOV (by Content-Type or URL extension)?
pub fn looks_like_mp4(o: &Origin) -> bool {
    let ct = o
        .content_type
        .as_ref()
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    let path = o.url.path().to_ascii_lowercase();
    ct.starts_with("video/mp4")
        || ct.starts_with("video/quicktime")
        || ct.starts_with("audio/mp4")
        || [".mp4", ".m4v", ".mov", ".m4a"]
            .iter()
            .any(|e| path.ends_with(e))
}

async fn get_range(client: &reqwest::Client, o: &Origin, start: u64, end: u64) -> Option<Bytes> {
    let mut req = client
        .get(o.url.clone())
        .header(header::RANGE, format!("bytes={}-{}", start, end - 1));
    if let Some(v) = o.if_range() {
        req = req.header(header::IF_RANGE, v.clone());
    }
    let resp = req.send().await.ok()?;
    o.check_piece(resp.status(), resp.headers(), start).ok()?;
    let b = resp.bytes().await.ok()?;
    (b.len() as u64 == end - start).then_some(b)
}

/// Finds `moov` and, if it lies beyond the first `head` bytes (i.e. after `mdat`), fetches it
/// (up to `cap` bytes). Returns (offset, bytes). Best effort: any trouble returns `None` and the
/// player simply fetches the index through the normal path.
pub async fn prefetch_index(
    client: &reqwest::Client,
    o: &Origin,
    head: u64,
    cap: u64,
) -> Option<(u64, Bytes)> {
    let size = o.size?;
    let mut off = 0u64;
    for _ in 0..64 {
        if off + 8 > size {
            return None;
        }
        let hdr = get_range(client, o, off, (off + 16).min(size)).await?;
        let bh = parse_box_header(&hdr)?;
        let len = bh.size.unwrap_or(size - off);
        if &bh.kind == b"moov" {
            if off < head || len > cap || off + len > size {
                return None; // at the front (the normal path reads it first) or too big to hold
            }
            let bytes = get_range(client, o, off, off + len).await?;
            tracing::info!(offset = off, bytes = len, "prefetched the MP4 index (moov)");
            return Some((off, bytes));
        }
        off = off.checked_add(len)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_headers() {
        assert_eq!(
            parse_box_header(b"\0\0\0\x20ftypisom"),
            Some(BoxHeader {
                kind: *b"ftyp",
                size: Some(32)
            })
        );
        let mut big = b"\0\0\0\x01mdat".to_vec();
        big.extend_from_slice(&(5u64 << 32).to_be_bytes());
        assert_eq!(
            parse_box_header(&big),
            Some(BoxHeader {
                kind: *b"mdat",
                size: Some(5 << 32)
            })
        );
        assert_eq!(
            parse_box_header(b"\0\0\0\0mdat").map(|b| b.size),
            Some(None)
        );
        assert_eq!(
            parse_box_header(b"\0\0\0\x04ftyp"),
            None,
            "size below header"
        );
        assert_eq!(
            parse_box_header(b"\0\0\0\x20\x01\x02\x03\x04"),
            None,
            "not a box type"
        );
        assert_eq!(parse_box_header(b"\0\0\0"), None);
        assert_eq!(
            parse_box_header(b"\0\0\0\x01mdat\0\0"),
            None,
            "truncated 64-bit size"
        );
    }
}
