//! MP4, MOV, M4A: the `mvhd` box of ISO BMFF files
//! (ISO/IEC 14496-12 §8.2.2), found by walking top-level box headers with seeks, so even a
//! file whose `moov` sits at the end costs a handful of small reads.

use super::secs;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

/// At most this many top-level boxes are walked; real files have fewer than ten.
const MAX_BOXES: usize = 64;

/// The duration stored in an MP4/MOV/M4A header, or `None` if there is none to read cheaply.
pub fn duration<R: Read + Seek>(r: &mut R) -> Option<Duration> {
    let file_len = r.seek(SeekFrom::End(0)).ok()?;
    let mut pos = 0u64;
    for _ in 0..MAX_BOXES {
        if pos + 8 > file_len {
            return None;
        }
        let (kind, header, size) = box_header(r, pos, file_len)?;
        if &kind == b"moov" {
            let body_len = (size - header).min(1 << 20);
            let mut body = vec![0; body_len as usize];
            r.seek(SeekFrom::Start(pos + header)).ok()?;
            r.read_exact(&mut body).ok()?;
            return mvhd_in(&body);
        }
        pos += size;
    }
    None
}

/// (type, header length, total size) of the box at `pos`.
fn box_header<R: Read + Seek>(r: &mut R, pos: u64, file_len: u64) -> Option<([u8; 4], u64, u64)> {
    let mut h = [0u8; 16];
    r.seek(SeekFrom::Start(pos)).ok()?;
    r.read_exact(&mut h[..8]).ok()?;
    let size32 = u32::from_be_bytes(h[0..4].try_into().ok()?);
    let kind: [u8; 4] = h[4..8].try_into().ok()?;
    let (header, size) = match size32 {
        0 => (8, file_len - pos),
        1 => {
            r.read_exact(&mut h[8..16]).ok()?;
            (16, u64::from_be_bytes(h[8..16].try_into().ok()?))
        }
        n => (8, u64::from(n)),
    };
    (size >= header).then_some((kind, header, size))
}

fn mvhd_in(moov: &[u8]) -> Option<Duration> {
    let mut i = 0usize;
    while i + 8 <= moov.len() {
        let size = u32::from_be_bytes(moov[i..i + 4].try_into().ok()?) as usize;
        if &moov[i + 4..i + 8] == b"mvhd" {
            let b = moov.get(i + 8..i + size.max(8))?;
            let (timescale, duration) = match b.first()? {
                0 => (be32(b, 12)?, u64::from(be32(b, 16)?)),
                1 => (be32(b, 20)?, be64(b, 24)?),
                _ => return None,
            };
            if timescale == 0 || duration == u64::MAX || duration == u64::from(u32::MAX) {
                return None;
            }
            return secs(duration as f64 / f64::from(timescale));
        }
        if size < 8 {
            return None;
        }
        i += size;
    }
    None
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut v = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        v.extend_from_slice(kind);
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn reads_mvhd_v0_after_mdat() {
        let mut mvhd = vec![0u8; 100];
        mvhd[12..16].copy_from_slice(&1000u32.to_be_bytes());
        mvhd[16..20].copy_from_slice(&12_500u32.to_be_bytes());
        let mut file = boxed(b"ftyp", b"isom\0\0\0\0");
        file.extend(boxed(b"mdat", &[7u8; 5000]));
        file.extend(boxed(b"moov", &boxed(b"mvhd", &mvhd)));
        let d = duration(&mut Cursor::new(file)).unwrap();
        assert_eq!(d, Duration::from_millis(12_500));
    }

    #[test]
    fn garbage_gives_none() {
        assert_eq!(
            duration(&mut Cursor::new(b"RIFF....AVI LIST".to_vec())),
            None
        );
        assert_eq!(duration(&mut Cursor::new(vec![0u8; 3])), None);
        // A box claiming to be shorter than its header must not loop forever.
        let mut bad = 4u32.to_be_bytes().to_vec();
        bad.extend_from_slice(b"free");
        assert_eq!(duration(&mut Cursor::new(bad)), None);
    }
}
