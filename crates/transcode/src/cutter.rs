//! Cuts ffmpeg's fragmented MP4 output into HLS segments (sans-IO: bytes in, init and
//! segments out).
//!
//! ffmpeg writes one `ftyp`+`moov` and then a `moof`+`mdat` per video keyframe
//! (`-movflags frag_keyframe+empty_moov+default_base_moof+delay_moov`). Each job's timestamps start at 0
//! wherever in the file it started, so every `tfdt` is moved by the job's start (in its
//! track's timescale): then a segment is the same bytes of timeline whichever job made it.
//! Fragments are grouped by the [`Grid`]: a fragment whose video starts at or after a
//! segment's start begins that segment, and a segment is given out as soon as a fragment's
//! video reaches the next segment's start (its sample durations say so), not when the next
//! fragment comes: ffmpeg writes a fragment only at the keyframe after it, so waiting for the
//! next one would hold every segment back by a whole segment of encoding. Done here rather than by ffmpeg's own HLS muxer so
//! that the cut points are the grid the playlist already promised, and so that a job stops
//! costing anything when its reader stops reading (the pipe fills and ffmpeg waits).

use crate::Error;
use crate::playlist::CUT_SLACK_SECS;
use crate::playlist::Grid;
use bytes::{Bytes, BytesMut};
use homestream_cmaf::read::{Cursor, boxes, read_tfhd, read_trun};
use std::collections::HashMap;

/// A top-level box larger than this is refused (no fragment of a film comes near it).
const MAX_BOX: u64 = 256 << 20;

/// What the cutter gives out.
#[derive(Debug, Clone, PartialEq)]
pub enum Cut {
    /// The init segment (`ftyp` + `moov`).
    Init(Bytes),
    /// Segment `index` of the grid, whole.
    Segment { index: usize, bytes: Bytes },
}

/// A track of the output, from the `moov`.
#[derive(Debug, Clone, Copy)]
struct Track {
    timescale: u32,
    video: bool,
    /// The `trex` default sample duration, for fragments that give none.
    default_duration: Option<u32>,
}

/// What a `moof` says of its video, in seconds on the file's timeline.
#[derive(Debug, Clone, Copy)]
struct VideoSpan {
    start: f64,
    /// The end, when the sample durations are known.
    end: Option<f64>,
}

/// The cutter of one ffmpeg job.
#[derive(Debug)]
pub struct Cutter {
    grid: Grid,
    /// The job's start on the file's timeline, in seconds.
    offset_secs: f64,
    pending: BytesMut,
    init: BytesMut,
    tracks: HashMap<u32, Track>,
    /// The segment being filled and its bytes.
    current: Option<(usize, BytesMut)>,
    /// Where the last fragment's video started, in seconds on the file's timeline.
    last_video_secs: Option<f64>,
    /// The current segment is whole once the `mdat` of the last `moof` is in.
    close_after_mdat: bool,
    /// The last segment given out.
    last_index: Option<usize>,
}

impl Cutter {
    pub fn new(grid: Grid, offset_secs: f64) -> Cutter {
        Cutter {
            grid,
            offset_secs,
            pending: BytesMut::new(),
            init: BytesMut::new(),
            tracks: HashMap::new(),
            current: None,
            last_video_secs: None,
            close_after_mdat: false,
            last_index: None,
        }
    }

    /// Where the newest fragment's video starts on the file's timeline.
    pub fn position_secs(&self) -> Option<f64> {
        self.last_video_secs
    }

    /// Feeds ffmpeg's output; returns what became whole.
    pub fn push(&mut self, data: &[u8]) -> Result<Vec<Cut>, Error> {
        self.pending.extend_from_slice(data);
        let mut out = Vec::new();
        while let Some(len) = self.whole_box()? {
            let b = self.pending.split_to(len);
            self.take(b, &mut out)?;
        }
        Ok(out)
    }

    /// ffmpeg is done: the last segment is whole.
    pub fn finish(&mut self) -> Vec<Cut> {
        self.close().into_iter().collect()
    }

    /// Gives out the segment being filled.
    fn close(&mut self) -> Option<Cut> {
        self.close_after_mdat = false;
        let (index, bytes) = self.current.take()?;
        self.last_index = Some(index);
        Some(Cut::Segment {
            index,
            bytes: bytes.freeze(),
        })
    }

    /// The length of the next top-level box once all of it has arrived.
    fn whole_box(&self) -> Result<Option<usize>, Error> {
        let p = &self.pending;
        if p.len() < 8 {
            return Ok(None);
        }
        let size32 = u32::from_be_bytes([p[0], p[1], p[2], p[3]]);
        let (size, header) = match size32 {
            1 if p.len() < 16 => return Ok(None),
            1 => (
                u64::from_be_bytes([p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15]]),
                16,
            ),
            0 => return Err(bad("a box that runs to the end of a stream")),
            n => (u64::from(n), 8),
        };
        if size < header || size > MAX_BOX {
            return Err(bad("a box of impossible size"));
        }
        Ok((p.len() as u64 >= size).then_some(size as usize))
    }

    fn take(&mut self, mut b: BytesMut, out: &mut Vec<Cut>) -> Result<(), Error> {
        match &b[4..8] {
            b"ftyp" => self.init.extend_from_slice(&b),
            b"moov" => {
                self.tracks = read_tracks(&b)?;
                if !self.tracks.values().any(|t| t.video) {
                    return Err(bad("no video track in the moov"));
                }
                self.init.extend_from_slice(&b);
                out.push(Cut::Init(std::mem::take(&mut self.init).freeze()));
            }
            b"moof" => {
                let video = self.shift_tfdts(&mut b)?;
                let index = match video {
                    Some(v) => {
                        self.last_video_secs = Some(v.start);
                        self.grid.segment_at(v.start)
                    }
                    // Audio alone belongs with the video before it, or after it once that
                    // segment is out.
                    None => match (&self.current, self.last_index) {
                        (Some((i, _)), _) => *i,
                        (None, Some(i)) => i + 1,
                        (None, None) => 0,
                    },
                };
                match &mut self.current {
                    Some((i, bytes)) if *i >= index => bytes.extend_from_slice(&b),
                    _ => {
                        out.extend(self.close());
                        self.current = Some((index, b));
                    }
                }
                let end = video.and_then(|v| v.end);
                self.close_after_mdat = match (end, self.grid.start(index + 1)) {
                    (Some(end), Some(next)) => end >= next - CUT_SLACK_SECS,
                    _ => false,
                };
            }
            b"mdat" => {
                match &mut self.current {
                    Some((_, bytes)) => bytes.extend_from_slice(&b),
                    None => return Err(bad("an mdat before any moof")),
                }
                if self.close_after_mdat {
                    out.extend(self.close());
                }
            }
            // mfra, free, sidx: nothing a segment needs.
            _ => {}
        }
        Ok(())
    }

    /// Moves each `tfdt` of a `moof` by the job's offset; returns where its video starts and
    /// ends.
    fn shift_tfdts(&self, moof: &mut BytesMut) -> Result<Option<VideoSpan>, Error> {
        let mut video = None;
        let mut edits = Vec::new();
        for traf in boxes(&moof[8..]) {
            let traf = traf.map_err(|e| bad_box(&e))?;
            if &traf.fourcc != b"traf" {
                continue;
            }
            let mut track = None;
            // The video's start (ticks, shifted), its default sample duration, its length.
            let (mut start, mut default, mut ticks) = (None, None, Some(0u64));
            for child in traf.children() {
                let child = child.map_err(|e| bad_box(&e))?;
                match &child.fourcc {
                    b"tfhd" => {
                        let tfhd = read_tfhd(child.body).map_err(|e| bad_box(&e))?;
                        let t = *self
                            .tracks
                            .get(&tfhd.track_id)
                            .ok_or_else(|| bad("a traf of no track"))?;
                        default = tfhd.default_sample_duration.or(t.default_duration);
                        track = Some(t);
                    }
                    b"trun" if track.is_some_and(|t| t.video) => {
                        let trun = read_trun(child.body).map_err(|e| bad_box(&e))?;
                        for sample in &trun.samples {
                            let d = sample.duration.or(default).map(u64::from);
                            ticks = ticks.zip(d).map(|(a, b)| a + b);
                        }
                    }
                    b"tfdt" => {
                        let t = track.ok_or_else(|| bad("a tfdt before its tfhd"))?;
                        let mut c = Cursor::new(child.body);
                        let (version, _) = c.full_box_header().map_err(|e| bad_box(&e))?;
                        let old = if version == 1 {
                            c.u64("tfdt time")
                        } else {
                            c.u32("tfdt time").map(u64::from)
                        }
                        .map_err(|e| bad_box(&e))?;
                        let shift = (self.offset_secs * f64::from(t.timescale)).round() as u64;
                        let new = old.checked_add(shift).ok_or_else(|| bad("tfdt overflow"))?;
                        if version == 0 && new > u64::from(u32::MAX) {
                            return Err(bad("a 32-bit tfdt past its range"));
                        }
                        if t.video {
                            start = Some(new);
                        }
                        // Offsets of the time field inside the moof: 8 (moof header) +
                        // traf's offset + 8 + child's offset + 8 (header) + 4 (version, flags).
                        let at = 8 + traf.offset + 8 + child.offset + 12;
                        edits.push((at, version, new));
                    }
                    _ => {}
                }
            }
            if let (Some(t), Some(start)) = (track, start) {
                let secs = |ticks: u64| ticks as f64 / f64::from(t.timescale);
                video = Some(VideoSpan {
                    start: secs(start),
                    end: ticks.filter(|n| *n > 0).map(|n| secs(start + n)),
                });
            }
        }
        for (at, version, new) in edits {
            if version == 1 {
                moof[at..at + 8].copy_from_slice(&new.to_be_bytes());
            } else {
                moof[at..at + 4].copy_from_slice(&(new as u32).to_be_bytes());
            }
        }
        Ok(video)
    }
}

/// track_ID -> (timescale, is video, default duration), from a `moov`.
fn read_tracks(moov: &[u8]) -> Result<HashMap<u32, Track>, Error> {
    let mut tracks = HashMap::new();
    let mut defaults = HashMap::new();
    for trak in boxes(&moov[8..]) {
        let trak = trak.map_err(|e| bad_box(&e))?;
        if &trak.fourcc == b"mvex" {
            for trex in trak.children() {
                let trex = trex.map_err(|e| bad_box(&e))?;
                if &trex.fourcc == b"trex" {
                    let mut c = Cursor::new(trex.body);
                    c.full_box_header().map_err(|e| bad_box(&e))?;
                    let id = c.u32("trex track_ID").map_err(|e| bad_box(&e))?;
                    c.u32("trex sample description").map_err(|e| bad_box(&e))?;
                    let d = c.u32("trex duration").map_err(|e| bad_box(&e))?;
                    defaults.insert(id, d);
                }
            }
            continue;
        }
        if &trak.fourcc != b"trak" {
            continue;
        }
        let (mut id, mut timescale, mut video) = (None, None, false);
        for child in trak.children() {
            let child = child.map_err(|e| bad_box(&e))?;
            match &child.fourcc {
                b"tkhd" => {
                    let mut c = Cursor::new(child.body);
                    let (version, _) = c.full_box_header().map_err(|e| bad_box(&e))?;
                    let skip = if version == 1 { 16 } else { 8 };
                    c.bytes(skip, "tkhd times").map_err(|e| bad_box(&e))?;
                    id = Some(c.u32("track_ID").map_err(|e| bad_box(&e))?);
                }
                b"mdia" => {
                    for m in child.children() {
                        let m = m.map_err(|e| bad_box(&e))?;
                        let mut c = Cursor::new(m.body);
                        match &m.fourcc {
                            b"mdhd" => {
                                let (version, _) = c.full_box_header().map_err(|e| bad_box(&e))?;
                                let skip = if version == 1 { 16 } else { 8 };
                                c.bytes(skip, "mdhd times").map_err(|e| bad_box(&e))?;
                                timescale = Some(c.u32("timescale").map_err(|e| bad_box(&e))?);
                            }
                            b"hdlr" => {
                                c.full_box_header().map_err(|e| bad_box(&e))?;
                                c.u32("pre_defined").map_err(|e| bad_box(&e))?;
                                video =
                                    c.bytes(4, "handler_type").map_err(|e| bad_box(&e))? == b"vide";
                            }
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        match (id, timescale) {
            (Some(id), Some(ts)) if ts > 0 => {
                tracks.insert(
                    id,
                    Track {
                        timescale: ts,
                        video,
                        default_duration: None,
                    },
                );
            }
            _ => return Err(bad("a trak without track_ID or timescale")),
        }
    }
    for (id, d) in defaults {
        if let Some(t) = tracks.get_mut(&id) {
            t.default_duration = Some(d).filter(|d| *d > 0);
        }
    }
    Ok(tracks)
}

fn bad(message: &str) -> Error {
    Error::Parse {
        what: "ffmpeg's fragmented MP4",
        message: message.to_string(),
    }
}

fn bad_box(e: &homestream_cmaf::CmafError) -> Error {
    bad(&e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mp4_box(fourcc: &[u8; 4], body: &[u8]) -> Vec<u8> {
        let mut b = ((body.len() + 8) as u32).to_be_bytes().to_vec();
        b.extend_from_slice(fourcc);
        b.extend_from_slice(body);
        b
    }

    fn full(fourcc: &[u8; 4], version: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![version, 0, 0, 0];
        v.extend_from_slice(body);
        mp4_box(fourcc, &v)
    }

    fn trak(id: u32, timescale: u32, handler: &[u8; 4]) -> Vec<u8> {
        let mut tkhd = vec![0; 8];
        tkhd.extend_from_slice(&id.to_be_bytes());
        tkhd.extend_from_slice(&[0; 8]);
        let mut mdhd = vec![0; 8];
        mdhd.extend_from_slice(&timescale.to_be_bytes());
        mdhd.extend_from_slice(&[0; 8]);
        let mut hdlr = vec![0; 4];
        hdlr.extend_from_slice(handler);
        let mdia = [full(b"mdhd", 0, &mdhd), full(b"hdlr", 0, &hdlr)].concat();
        mp4_box(
            b"trak",
            &[full(b"tkhd", 0, &tkhd), mp4_box(b"mdia", &mdia)].concat(),
        )
    }

    fn init() -> Vec<u8> {
        let moov = [trak(1, 16000, b"vide"), trak(2, 48000, b"soun")].concat();
        [mp4_box(b"ftyp", b"iso6\0\0\0\0"), mp4_box(b"moov", &moov)].concat()
    }

    /// A fragment whose video starts at `v` ticks (16 kHz) and audio at `a` (48 kHz), the video
    /// tfdt in a version-1 box and the audio's in a version-0 one, as ffmpeg writes them.
    fn fragment(v: u64, a: Option<u32>) -> Vec<u8> {
        let tfhd = |id: u32| full(b"tfhd", 0, &id.to_be_bytes());
        let mut trafs = mp4_box(
            b"traf",
            &[tfhd(1), full(b"tfdt", 1, &v.to_be_bytes())].concat(),
        );
        if let Some(a) = a {
            trafs.extend(mp4_box(
                b"traf",
                &[tfhd(2), full(b"tfdt", 0, &a.to_be_bytes())].concat(),
            ));
        }
        [
            mp4_box(b"moof", &[full(b"mfhd", 0, &[0, 0, 0, 1]), trafs].concat()),
            mp4_box(b"mdat", b"data"),
        ]
        .concat()
    }

    fn tfdts(seg: &[u8]) -> Vec<u64> {
        let mut out = Vec::new();
        for b in boxes(seg) {
            let b = b.unwrap();
            if &b.fourcc != b"moof" {
                continue;
            }
            for traf in b
                .children()
                .filter_map(Result::ok)
                .filter(|t| &t.fourcc == b"traf")
            {
                for c in traf.children().filter_map(Result::ok) {
                    if &c.fourcc == b"tfdt" {
                        out.push(homestream_cmaf::read::read_tfdt(c.body).unwrap());
                    }
                }
            }
        }
        out
    }

    #[test]
    fn fragments_are_grouped_by_the_grid_and_moved_to_the_jobs_start() {
        // A job that starts at segment 2 (8 s) of a 4 s grid, keyframes every 2 s.
        let mut c = Cutter::new(Grid::fixed(20.0), 8.0);
        let mut stream = init();
        for k in 0..4u64 {
            stream.extend(fragment(k * 32000, Some((k * 96000) as u32)));
        }
        // Fed in awkward pieces, as a pipe delivers them.
        let mut cuts = Vec::new();
        for piece in stream.chunks(7) {
            cuts.extend(c.push(piece).unwrap());
        }
        cuts.extend(c.finish());
        assert!(matches!(&cuts[0], Cut::Init(b) if b[..] == init()[..]));
        let segs: Vec<_> = cuts[1..]
            .iter()
            .map(|c| match c {
                Cut::Segment { index, bytes } => (*index, tfdts(bytes)),
                Cut::Init(_) => panic!("a second init"),
            })
            .collect();
        assert_eq!(
            segs,
            vec![
                (2, vec![128000, 384000, 160000, 480000]),
                (3, vec![192000, 576000, 224000, 672000]),
            ]
        );
        assert_eq!(c.position_secs(), Some(14.0));
    }

    /// A video-only fragment at `v` ticks (16 kHz) whose one sample lasts `dur` ticks, told
    /// in its `trun` (flag 0x100), as ffmpeg tells the last sample's duration.
    fn timed_fragment(v: u64, dur: u32) -> Vec<u8> {
        let tfhd = full(b"tfhd", 0, &1u32.to_be_bytes());
        let mut trun = vec![0, 0, 0x01, 0x00];
        trun.extend_from_slice(&1u32.to_be_bytes());
        trun.extend_from_slice(&dur.to_be_bytes());
        let traf = mp4_box(
            b"traf",
            &[
                tfhd,
                full(b"tfdt", 1, &v.to_be_bytes()),
                mp4_box(b"trun", &trun),
            ]
            .concat(),
        );
        [
            mp4_box(b"moof", &[full(b"mfhd", 0, &[0, 0, 0, 1]), traf].concat()),
            mp4_box(b"mdat", b"data"),
        ]
        .concat()
    }

    #[test]
    fn a_segment_is_out_once_its_video_reaches_the_next_start() {
        // 4 s grid, fragments of 2 s: segment 0 is whole after the second fragment, before
        // ffmpeg has written the third (which it does only at the keyframe after it).
        let mut c = Cutter::new(Grid::fixed(20.0), 0.0);
        assert!(matches!(c.push(&init()).unwrap()[..], [Cut::Init(_)]));
        assert!(c.push(&timed_fragment(0, 32000)).unwrap().is_empty());
        let cuts = c.push(&timed_fragment(32000, 32000)).unwrap();
        assert!(
            matches!(&cuts[..], [Cut::Segment { index: 0, bytes }] if tfdts(bytes) == [0, 32000]),
            "{cuts:?}"
        );
        // The next fragment starts segment 1; without durations a segment waits for the next.
        assert!(c.push(&fragment(64000, None)).unwrap().is_empty());
        assert!(c.push(&fragment(96000, None)).unwrap().is_empty());
        let cuts = c.push(&fragment(128000, None)).unwrap();
        assert!(
            matches!(&cuts[..], [Cut::Segment { index: 1, .. }]),
            "{cuts:?}"
        );
        // Audio alone after a segment went out belongs to the next one, not to segment 0.
        let mut c = Cutter::new(Grid::fixed(20.0), 0.0);
        c.push(&init()).unwrap();
        c.push(&timed_fragment(0, 64000)).unwrap();
        let mut audio = fragment(0, Some(0));
        // Drop the video traf: moof(8) + mfhd(16), then the video traf (8 + 16 + 20).
        let moof_len = u32::from_be_bytes([audio[0], audio[1], audio[2], audio[3]]) as usize;
        let vtraf = 8 + 16 + 20;
        audio.drain(24..24 + vtraf);
        audio[..4].copy_from_slice(&((moof_len - vtraf) as u32).to_be_bytes());
        assert!(c.push(&audio).unwrap().is_empty());
        let cuts = c.finish();
        assert!(
            matches!(&cuts[..], [Cut::Segment { index: 1, .. }]),
            "{cuts:?}"
        );
    }

    #[test]
    fn hostile_streams_are_errors() {
        let grid = || Grid::fixed(10.0);
        // An mdat before any moof, a box of size 3, a zero-size box.
        assert!(
            Cutter::new(grid(), 0.0)
                .push(&[init(), mp4_box(b"mdat", b"x")].concat())
                .is_err()
        );
        assert!(
            Cutter::new(grid(), 0.0)
                .push(&[0, 0, 0, 3, b'm', b'o', b'o', b'f'])
                .is_err()
        );
        assert!(
            Cutter::new(grid(), 0.0)
                .push(&[0, 0, 0, 0, b'm', b'o', b'o', b'f'])
                .is_err()
        );
        // A moof of a track the moov does not have.
        let mut c = Cutter::new(grid(), 0.0);
        c.push(&init()).unwrap();
        let mut stray = fragment(0, None);
        // tfhd's track_ID sits at moof(8) + mfhd(16) + traf(8) + tfhd header(12).
        stray[44..48].copy_from_slice(&9u32.to_be_bytes());
        assert!(c.push(&stray).is_err());
        // A 32-bit tfdt pushed past its range.
        let mut c = Cutter::new(grid(), 100_000.0);
        c.push(&init()).unwrap();
        assert!(c.push(&fragment(0, Some(0))).is_err());
        // Truncated boxes only wait for more.
        let mut c = Cutter::new(grid(), 0.0);
        assert!(c.push(&init()[..10]).unwrap().is_empty());
    }
}
