//! Cuts the stream's CMAF fragments into parts and segments (RFC 8216bis §3, §4.4.4.9).
//!
//! Video frames decide every cut, since a player starts only at a keyframe: a segment begins
//! at a keyframe once the open one lasts [`Config::segment_min`] (or, without one, when it
//! reaches the target duration); a part ends after [`Config::frames_per_part`] frames or
//! before a keyframe (which makes an `INDEPENDENT=YES` part). Sound fragments go into the part
//! that is open when they arrive, unless the frame that should have ended it is so late that
//! the part would outgrow the part target: then the part ends at the sound. A part's duration runs from its first video frame to the
//! next part's, so parts add up to their segment exactly.

use crate::config::Config;
use crate::store::{Store, StoredPart};
use bytes::{Bytes, BytesMut};
use std::time::{Duration, SystemTime};

/// Which track a fragment belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Track {
    /// H.264.
    Video,
    /// Opus.
    Audio,
}

/// One CMAF fragment of the stream, as the packager made it.
#[derive(Debug, Clone)]
pub struct Chunk {
    /// Its track.
    pub track: Track,
    /// A video fragment that starts with an IDR.
    pub keyframe: bool,
    /// Capture time of its first sample on the stream's media clock.
    pub pts: Duration,
    /// The same instant on the wall clock.
    pub captured: SystemTime,
    /// The init segment it belongs to.
    pub generation: u32,
    /// `prft` + `moof` + `mdat`.
    pub bytes: Bytes,
}

/// What a push changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Pushed {
    /// A part (and maybe a segment) was completed: wake the waiting requests.
    pub completed_part: bool,
    /// The open segment is getting long with no keyframe in sight: ask the encoder for one.
    pub want_keyframe: bool,
    /// The chunk was dropped (before the first keyframe, or of an encode without init).
    pub dropped: bool,
}

#[derive(Debug)]
struct OpenPart {
    start: Duration,
    independent: bool,
    buf: BytesMut,
    /// The last video frame appended after the first: its time and where its bytes begin,
    /// where a part made too long by a late frame is split.
    last_frame: Option<(Duration, usize)>,
}

/// The cutting state.
#[derive(Debug, Default)]
pub(crate) struct Segmenter {
    part: Option<OpenPart>,
    asked_keyframe: bool,
    /// The configured part target (set by the first push).
    target: Duration,
}

impl Segmenter {
    pub(crate) fn push(&mut self, cfg: &Config, store: &mut Store, c: Chunk) -> Pushed {
        self.target = cfg.part_target();
        let mut out = Pushed::default();
        let Some(seg) = store.open() else {
            if c.track != Track::Video || !c.keyframe || !store.has_init(c.generation) {
                out.dropped = true;
                return out;
            }
            store.begin_segment(c.generation, c.pts, c.captured);
            self.begin_part(c.pts, true, &c.bytes);
            return out;
        };
        let (seg_start, seg_generation) = (seg.start, seg.generation);
        if c.track == Track::Audio {
            let Some(p) = self
                .part
                .as_mut()
                .filter(|_| c.generation == seg_generation)
            else {
                out.dropped = true;
                return out;
            };
            // The frame that should end this part is late: end it here, at the sound, rather
            // than let it outgrow the part target.
            if c.pts > p.start && c.pts - p.start >= cfg.audio_cut() {
                self.end_part(store, c.pts, &mut out);
                self.begin_part(c.pts, false, &c.bytes);
            } else {
                p.buf.extend_from_slice(&c.bytes);
            }
            return out;
        }
        let Some(part_start) = self.part.as_ref().map(|p| p.start) else {
            out.dropped = true;
            return out;
        };
        if c.pts <= part_start {
            // Not later than the part's first frame (a clock step back): it cannot start a
            // part of positive duration, so it joins this one.
            if let Some(p) = self.part.as_mut() {
                p.buf.extend_from_slice(&c.bytes);
            }
            return out;
        }
        let half_frame = cfg.frame_interval / 2;
        let elapsed = c.pts - seg_start;
        let td = Duration::from_secs(cfg.target_duration);
        if c.generation != seg_generation {
            if !c.keyframe || !store.has_init(c.generation) {
                out.dropped = true;
                return out;
            }
            self.end_segment(cfg, store, c.pts, &mut out);
            store.begin_segment(c.generation, c.pts, c.captured);
            self.begin_part(c.pts, true, &c.bytes);
            return out;
        }
        if (c.keyframe && elapsed + half_frame >= cfg.segment_min) || elapsed >= td {
            self.end_segment(cfg, store, c.pts, &mut out);
            store.begin_segment(c.generation, c.pts, c.captured);
            self.begin_part(c.pts, c.keyframe, &c.bytes);
            return out;
        }
        if c.keyframe || c.pts - part_start + half_frame >= cfg.part_nominal() {
            self.end_part(store, c.pts, &mut out);
            self.begin_part(c.pts, c.keyframe, &c.bytes);
        } else if let Some(p) = self.part.as_mut() {
            p.last_frame = Some((c.pts, p.buf.len()));
            p.buf.extend_from_slice(&c.bytes);
        }
        // Ask for a keyframe a few parts before the target duration forces a cut without one.
        if !self.asked_keyframe && elapsed + cfg.part_target() * 3 >= td {
            self.asked_keyframe = true;
            out.want_keyframe = true;
        }
        out
    }

    fn begin_part(&mut self, start: Duration, independent: bool, first: &Bytes) {
        let mut buf = BytesMut::with_capacity(first.len() * 8);
        buf.extend_from_slice(first);
        self.part = Some(OpenPart {
            start,
            independent,
            buf,
            last_frame: None,
        });
    }

    fn end_part(&mut self, store: &mut Store, next_start: Duration, out: &mut Pushed) {
        let (Some(mut p), Some(seg)) = (self.part.take(), store.open_mut()) else {
            return;
        };
        // A late frame would stretch this part past the part target, which RFC 8216bis
        // §4.4.4.9 forbids: end it at its last frame instead, which starts a short part.
        let split = p
            .last_frame
            .filter(|&(at, _)| at > p.start && next_start.saturating_sub(p.start) > self.target);
        if let Some((at, offset)) = split {
            let tail = p.buf.split_off(offset);
            seg.parts.push(StoredPart {
                bytes: p.buf.freeze(),
                duration: at - p.start,
                independent: p.independent,
            });
            p = OpenPart {
                start: at,
                independent: false,
                buf: tail,
                last_frame: None,
            };
        }
        seg.parts.push(StoredPart {
            bytes: p.buf.freeze(),
            duration: next_start.saturating_sub(p.start),
            independent: p.independent,
        });
        out.completed_part = true;
    }

    fn end_segment(
        &mut self,
        cfg: &Config,
        store: &mut Store,
        next_start: Duration,
        out: &mut Pushed,
    ) {
        self.end_part(store, next_start, out);
        store.end_segment(cfg);
        self.asked_keyframe = false;
    }
}
