//! MP4, MOV, M4A: the `mvhd` box of ISO BMFF files
//! (ISO/IEC 14496-12 §8.2.2), found by walking top-level box headers with seeks, so even a
//! file whose `moov` sits at the end costs a handful of small reads.
//!
//! A fragmented file (§8.8: `moov` with `mvex`, then `moof`+`mdat` pairs) written live, as
//! ffmpeg's `-movflags +empty_moov` and cameras do, has 0 in `mvhd`. Then the duration is
//! the `mehd` box's (§8.8.2) when there is one, or else where the last fragment ends: its
//! `tfdt` (§8.8.12, the decode time of its first sample) plus the durations of its samples
//! (`trun` §8.8.8, with `tfhd` §8.8.7 and `trex` §8.8.3 defaults), in the track's `mdhd`
//! timescale. The last `moof` is found from the `mfra` index at the file's tail (§8.8.9-11,
//! which ffmpeg writes) and a few box headers after it, or else by walking at most
//! [`MAX_FRAGMENT_BOXES`] box headers. A file where none of that works gets no duration.

use super::secs;
use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::time::Duration;

/// At most this many top-level boxes are walked; real files have fewer than ten.
const MAX_BOXES: usize = 64;
/// Top-level boxes walked to find the last fragment of a file without `mfra` (two per
/// fragment: an hour of 2 s fragments).
const MAX_FRAGMENT_BOXES: usize = 4096;
/// Largest `moov`, `moof` or `mfra` read into memory.
const MAX_READ: u64 = 1 << 20;

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
            let movie = Movie::parse(&read_body(r, pos, header, size)?)?;
            if movie.duration > 0 {
                return movie.secs(movie.duration);
            }
            if movie.fragment_duration > 0 {
                return movie.secs(movie.fragment_duration);
            }
            if !movie.fragmented {
                return None;
            }
            return last_fragment_end(r, file_len, pos + size, &movie);
        }
        pos += size;
    }
    None
}

/// What `moov` says about time: the movie's duration and timescale, `mehd`, and per track
/// its timescale and default sample duration.
#[derive(Debug, Default)]
struct Movie {
    timescale: u32,
    duration: u64,
    fragmented: bool,
    fragment_duration: u64,
    /// track_ID -> `mdhd` timescale.
    track_timescales: HashMap<u32, u32>,
    /// track_ID -> `trex` default_sample_duration.
    default_durations: HashMap<u32, u32>,
}

impl Movie {
    fn parse(moov: &[u8]) -> Option<Movie> {
        let mut m = Movie::default();
        let mvhd = child(moov, b"mvhd")?;
        (m.timescale, m.duration) = time_fields(mvhd)?;
        if let Some(mvex) = child(moov, b"mvex") {
            m.fragmented = true;
            if let Some(mehd) = child(mvex, b"mehd") {
                m.fragment_duration = match mehd.first()? {
                    0 => u64::from(be32(mehd, 4)?),
                    1 => be64(mehd, 4)?,
                    _ => 0,
                };
            }
            for (kind, trex) in boxes(mvex) {
                if &kind == b"trex" {
                    m.default_durations.insert(be32(trex, 4)?, be32(trex, 12)?);
                }
            }
        }
        for (kind, trak) in boxes(moov) {
            if &kind != b"trak" {
                continue;
            }
            // A track without these only matters to fragments, which then get no duration.
            let track = || {
                let tkhd = child(trak, b"tkhd")?;
                let id = be32(tkhd, if tkhd.first()? == &1 { 20 } else { 12 })?;
                let mdhd = child(child(trak, b"mdia")?, b"mdhd")?;
                Some((id, time_fields(mdhd)?.0))
            };
            if let Some((id, scale)) = track() {
                m.track_timescales.insert(id, scale);
            }
        }
        Some(m)
    }

    /// `ticks` of the movie timescale as a Duration; none for the "unknown" all-ones values.
    fn secs(&self, ticks: u64) -> Option<Duration> {
        if self.timescale == 0 || ticks == u64::MAX || ticks == u64::from(u32::MAX) {
            return None;
        }
        secs(ticks as f64 / f64::from(self.timescale))
    }
}

/// (timescale, duration) of an `mvhd` or `mdhd` body, which share this layout.
fn time_fields(b: &[u8]) -> Option<(u32, u64)> {
    match b.first()? {
        0 => Some((be32(b, 12)?, u64::from(be32(b, 16)?))),
        1 => Some((be32(b, 20)?, be64(b, 24)?)),
        _ => None,
    }
}

/// Where the last `moof` of the file ends in presentation time (the latest of its tracks).
fn last_fragment_end<R: Read + Seek>(
    r: &mut R,
    file_len: u64,
    after_moov: u64,
    movie: &Movie,
) -> Option<Duration> {
    // The index at the tail names the fragments' offsets; the last one is at most a few
    // boxes from the end. Without it, walk the boxes from the `moov` on.
    let (start, limit) = match last_indexed_moof(r, file_len) {
        Some(at) if at >= after_moov && at < file_len => (at, MAX_BOXES),
        _ => (after_moov, MAX_FRAGMENT_BOXES),
    };
    let mut pos = start;
    // A `moof` counts once the box after it (its `mdat`) is whole: a file still being
    // written, or cut short, ends with a fragment whose samples are not all there.
    let mut pending = None;
    let mut last = None;
    let mut boxes_left = limit;
    while pos + 8 <= file_len {
        if boxes_left == 0 {
            return None; // more boxes than the limit: no answer rather than an early one
        }
        boxes_left -= 1;
        let (kind, header, size) = box_header(r, pos, file_len)?;
        if pos + size > file_len {
            break;
        }
        if &kind == b"moof" {
            pending = Some((pos, header, size));
        } else if pending.is_some() {
            last = pending.take();
        }
        pos += size;
    }
    let (at, header, size) = last?;
    let moof = read_body(r, at, header, size)?;
    let mut end: Option<f64> = None;
    for (kind, traf) in boxes(&moof) {
        if &kind != b"traf" {
            continue;
        }
        let (track, ticks) = traf_end(traf, movie)?;
        let scale = *movie.track_timescales.get(&track)?;
        if scale == 0 {
            return None;
        }
        let t = ticks as f64 / f64::from(scale);
        end = Some(end.map_or(t, |e: f64| e.max(t)));
    }
    secs(end?)
}

/// (track_ID, decode time just after its last sample) of a `traf`, in the track's timescale.
fn traf_end(traf: &[u8], movie: &Movie) -> Option<(u32, u64)> {
    let tfhd = child(traf, b"tfhd")?;
    let flags = be32(tfhd, 0)? & 0x00ff_ffff;
    let track = be32(tfhd, 4)?;
    let mut at = 8;
    if flags & 0x01 != 0 {
        at += 8; // base_data_offset
    }
    if flags & 0x02 != 0 {
        at += 4; // sample_description_index
    }
    let default = if flags & 0x08 != 0 {
        Some(be32(tfhd, at)?)
    } else {
        movie.default_durations.get(&track).copied()
    };
    // Without tfdt the fragment's start is only known by adding up every earlier one.
    let tfdt = child(traf, b"tfdt")?;
    let mut ticks = match tfdt.first()? {
        0 => u64::from(be32(tfdt, 4)?),
        1 => be64(tfdt, 4)?,
        _ => return None,
    };
    for (kind, trun) in boxes(traf) {
        if &kind != b"trun" {
            continue;
        }
        let flags = be32(trun, 0)? & 0x00ff_ffff;
        let count = u64::from(be32(trun, 4)?);
        let mut at = 8;
        if flags & 0x001 != 0 {
            at += 4; // data_offset
        }
        if flags & 0x004 != 0 {
            at += 4; // first_sample_flags
        }
        if flags & 0x100 == 0 {
            ticks += count * u64::from(default?);
            continue;
        }
        let per_sample = 4 * [0x100, 0x200, 0x400, 0x800]
            .iter()
            .filter(|&&f| flags & f != 0)
            .count();
        for i in 0..count as usize {
            ticks += u64::from(be32(trun, at + i * per_sample)?);
        }
    }
    Some((track, ticks))
}

/// The largest `moof` offset in the `mfra` index at the end of the file (§8.8.10-11).
fn last_indexed_moof<R: Read + Seek>(r: &mut R, file_len: u64) -> Option<u64> {
    let mut mfro = [0u8; 16];
    r.seek(SeekFrom::Start(file_len.checked_sub(16)?)).ok()?;
    r.read_exact(&mut mfro).ok()?;
    if &mfro[4..8] != b"mfro" {
        return None;
    }
    let mfra_len = u64::from(be32(&mfro, 12)?);
    let at = file_len.checked_sub(mfra_len)?;
    let (kind, header, size) = box_header(r, at, file_len)?;
    if &kind != b"mfra" || at + size != file_len {
        return None;
    }
    let mfra = read_body(r, at, header, size)?;
    let mut last = None;
    for (kind, tfra) in boxes(&mfra) {
        if &kind != b"tfra" {
            continue;
        }
        let v1 = tfra.first()? == &1;
        let sizes = be32(tfra, 8)?;
        let extra = [(sizes >> 4) & 3, (sizes >> 2) & 3, sizes & 3]
            .iter()
            .map(|s| *s as usize + 1)
            .sum::<usize>();
        let count = be32(tfra, 12)? as usize;
        let entry = if v1 { 16 } else { 8 } + extra;
        for i in 0..count {
            let e = 16 + i * entry;
            let offset = if v1 {
                be64(tfra, e + 8)?
            } else {
                u64::from(be32(tfra, e + 4)?)
            };
            last = last.max(Some(offset));
        }
    }
    last
}

/// The body of the box at `pos`, if it is small enough to read.
fn read_body<R: Read + Seek>(r: &mut R, pos: u64, header: u64, size: u64) -> Option<Vec<u8>> {
    let len = size - header;
    if len > MAX_READ {
        return None;
    }
    let mut body = vec![0; len as usize];
    r.seek(SeekFrom::Start(pos + header)).ok()?;
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// The child boxes of a box body: (type, body). Stops at the first malformed header.
fn boxes(body: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut i = 0usize;
    std::iter::from_fn(move || {
        let size = be32(body, i)? as usize;
        let kind: [u8; 4] = body.get(i + 4..i + 8)?.try_into().ok()?;
        let (header, size) = match size {
            0 => (8, body.len() - i),
            1 => (16, usize::try_from(be64(body, i + 8)?).ok()?),
            n => (8, n),
        };
        if size < header {
            return None;
        }
        let b = body.get(i + header..i.checked_add(size)?)?;
        i += size;
        Some((kind, b))
    })
}

/// The first child box of this type.
fn child<'a>(body: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(body).find(|(k, _)| k == kind).map(|(_, b)| b)
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
