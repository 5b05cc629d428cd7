//! Matroska and WebM: `Duration` × `TimestampScale` from the Segment's `Info` element
//! (RFC 9559 §5.1.2; EBML variable-size integers per RFC 8794 §4). Muxers put `Info` before the
//! first `Cluster`, so a few element headers are read and the media itself is skipped by seeks.

use super::secs;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

const EBML: u32 = 0x1A45_DFA3;
const SEGMENT: u32 = 0x1853_8067;
const INFO: u32 = 0x1549_A966;
const CLUSTER: u32 = 0x1F43_B675;
const TIMESTAMP_SCALE: u32 = 0x2A_D7B1;
const DURATION: u32 = 0x4489;
/// Elements of the Segment looked at before giving up; real files have a handful before Info.
const MAX_ELEMENTS: usize = 64;
/// `Info` holds a title, app names and a few numbers; more than this is not a real one.
const MAX_INFO: u64 = 64 * 1024;

pub fn duration<R: Read + Seek>(r: &mut R) -> Option<Duration> {
    let file_len = r.seek(SeekFrom::End(0)).ok()?;
    r.seek(SeekFrom::Start(0)).ok()?;
    let (id, size, at) = element_header(r, 0)?;
    if id != EBML {
        return None;
    }
    let (id, size, mut pos) = element_header(r, at.checked_add(size?)?)?;
    if id != SEGMENT {
        return None;
    }
    // A live recording may leave the Segment's size unknown: it runs to the end of the file.
    let end = size
        .and_then(|s| pos.checked_add(s))
        .unwrap_or(file_len)
        .min(file_len);
    for _ in 0..MAX_ELEMENTS {
        if pos >= end {
            return None;
        }
        let (id, size, data) = element_header(r, pos)?;
        match id {
            INFO => {
                let mut body = vec![0u8; size?.min(MAX_INFO) as usize];
                r.seek(SeekFrom::Start(data)).ok()?;
                r.read_exact(&mut body).ok()?;
                return info_duration(&body);
            }
            CLUSTER => return None,
            _ => pos = data.checked_add(size?)?,
        }
    }
    None
}

/// Reads the element header at `pos`: (ID with its marker bits, data size or `None` when
/// unknown, position of the data).
fn element_header<R: Read + Seek>(r: &mut R, pos: u64) -> Option<(u32, Option<u64>, u64)> {
    let mut b = [0u8; 12];
    r.seek(SeekFrom::Start(pos)).ok()?;
    let n = read_up_to(r, &mut b)?;
    let (id, id_len) = vint(&b[..n], 4, true)?;
    let (size, size_len) = vint(&b[id_len..n], 8, false)?;
    let unknown = size == (1u64 << (7 * size_len)) - 1;
    let data = pos + (id_len + size_len) as u64;
    Some((id as u32, (!unknown).then_some(size), data))
}

/// An EBML variable-size integer at the start of `b`: (value, length in bytes). IDs keep
/// their length marker (that is how the spec writes them), sizes do not.
fn vint(b: &[u8], max_len: usize, keep_marker: bool) -> Option<(u64, usize)> {
    let first = *b.first()?;
    let len = first.leading_zeros() as usize + 1;
    if len > max_len || b.len() < len {
        return None;
    }
    let mut v = if keep_marker {
        u64::from(first)
    } else {
        u64::from(first) & (0xff >> len)
    };
    for &byte in &b[1..len] {
        v = (v << 8) | u64::from(byte);
    }
    Some((v, len))
}

fn read_up_to<R: Read>(r: &mut R, buf: &mut [u8]) -> Option<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
    Some(n)
}

/// `Duration` (a float, in units of `TimestampScale` nanoseconds, default 1 ms) inside Info.
fn info_duration(mut body: &[u8]) -> Option<Duration> {
    let (mut scale, mut duration) = (1_000_000u64, None);
    while !body.is_empty() {
        let (id, id_len) = vint(body, 4, true)?;
        let (size, size_len) = vint(&body[id_len..], 8, false)?;
        let start = id_len + size_len;
        let data = body.get(start..start.checked_add(usize::try_from(size).ok()?)?)?;
        match (id as u32, data.len()) {
            (TIMESTAMP_SCALE, 1..=8) => {
                scale = data.iter().fold(0u64, |n, &b| (n << 8) | u64::from(b));
            }
            (DURATION, 4) => duration = Some(f64::from(f32::from_be_bytes(data.try_into().ok()?))),
            (DURATION, 8) => duration = Some(f64::from_be_bytes(data.try_into().ok()?)),
            _ => {}
        }
        body = &body[start + data.len()..];
    }
    secs(duration? * scale as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// An element with a 1..4-byte ID and an 8-byte size (as muxers that patch sizes write).
    fn el(id: u32, body: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = id
            .to_be_bytes()
            .into_iter()
            .skip_while(|&b| b == 0)
            .collect();
        v.push(0x01);
        v.extend_from_slice(&(body.len() as u64).to_be_bytes()[1..]);
        v.extend_from_slice(body);
        v
    }

    fn mkv(info: &[u8], segment_size_known: bool) -> Vec<u8> {
        let mut seg = el(0x114D_9B74, &[0u8; 40]); // SeekHead
        seg.extend(el(0xEC, &[0u8; 100])); // Void
        seg.extend(el(INFO, info));
        seg.extend(el(CLUSTER, &[0u8; 5000]));
        let mut v = el(EBML, &el(0x4282, b"webm"));
        if segment_size_known {
            v.extend(el(SEGMENT, &seg));
        } else {
            v.extend_from_slice(&[
                0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
            ]);
            v.extend(seg);
        }
        v
    }

    #[test]
    fn reads_duration_times_scale() {
        // ffmpeg writes a 1 ms scale and an 8-byte float; some muxers a 4-byte one.
        let mut info = el(TIMESTAMP_SCALE, &[0x0f, 0x42, 0x40]);
        info.extend(el(DURATION, &12_345.0f64.to_be_bytes()));
        let d = duration(&mut Cursor::new(mkv(&info, true)));
        assert_eq!(d, Some(Duration::from_millis(12_345)));
        let info = el(DURATION, &2_000.0f32.to_be_bytes()); // default scale
        let d = duration(&mut Cursor::new(mkv(&info, false)));
        assert_eq!(d, Some(Duration::from_secs(2)));
        let mut info = el(TIMESTAMP_SCALE, &[0x3b, 0x9a, 0xca, 0x00]); // 1 s units
        info.extend(el(DURATION, &90.0f64.to_be_bytes()));
        let d = duration(&mut Cursor::new(mkv(&info, true)));
        assert_eq!(d, Some(Duration::from_secs(90)));
    }

    #[test]
    fn no_duration_or_damage_gives_none() {
        let info = el(0x7BA9, b"a title only");
        assert_eq!(duration(&mut Cursor::new(mkv(&info, true))), None);
        let info = el(DURATION, &f64::NAN.to_be_bytes());
        assert_eq!(duration(&mut Cursor::new(mkv(&info, true))), None);
        let info = el(DURATION, &(-5.0f64).to_be_bytes());
        assert_eq!(duration(&mut Cursor::new(mkv(&info, true))), None);
        assert_eq!(duration(&mut Cursor::new(vec![0u8; 64])), None);
        assert_eq!(duration(&mut Cursor::new(vec![0x1a, 0x45])), None);
        let mut cut = mkv(&el(DURATION, &1.0f64.to_be_bytes()), true);
        cut.truncate(70);
        assert_eq!(duration(&mut Cursor::new(cut)), None);
    }

    #[test]
    fn every_truncation_and_byte_flip_is_survived() {
        let mut info = el(TIMESTAMP_SCALE, &[0x0f, 0x42, 0x40]);
        info.extend(el(DURATION, &12_345.0f64.to_be_bytes()));
        let file = mkv(&info, true);
        let whole = Some(Duration::from_millis(12_345));
        assert_eq!(duration(&mut Cursor::new(file.clone())), whole);
        // Info ends where the Cluster begins; the Cluster itself is never read.
        let info_end = file.len() - el(CLUSTER, &[0u8; 5000]).len();
        for cut in 0..file.len() {
            let want = if cut >= info_end { whole } else { None };
            let got = duration(&mut Cursor::new(file[..cut].to_vec()));
            assert_eq!(got, want, "file cut at {cut} of {} bytes", file.len());
        }
        for i in 0..file.len() {
            let mut f = file.clone();
            f[i] ^= 0xff;
            let got = duration(&mut Cursor::new(f));
            if i >= info_end {
                // A flipped byte inside the Cluster's data changes nothing.
                assert_eq!(got, whole, "byte {i} flipped");
            } else {
                // Anything else: no panic, and no duration beyond the sanity bound.
                assert!(
                    got.is_none_or(|d| d <= Duration::from_secs(366 * 24 * 3600)),
                    "byte {i} flipped: {got:?}"
                );
            }
        }
    }
}
