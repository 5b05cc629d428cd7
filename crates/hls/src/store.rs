//! The part and segment store: the media of the last few segments, the playlist made of them,
//! and the lookup of a resource by name.
//!
//! Bounded: completed segments beyond the playlist window plus [`Config::keep_after_window`]
//! are dropped, oldest first (policy: drop oldest). A segment's body is its parts' `Bytes`,
//! so parts and segments share one copy of the media.

use crate::config::Config;
use crate::names::{Name, Resource};
use crate::playlist::{self, MediaPlaylist, MediaSegment, ServerControl};
use bytes::Bytes;
use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, SystemTime};

/// One part as stored.
#[derive(Debug, Clone)]
pub struct StoredPart {
    /// Its bytes: whole CMAF fragments (`prft` + `moof` + `mdat`) of both tracks.
    pub bytes: Bytes,
    /// From its first video frame to the next part's.
    pub duration: Duration,
    /// It starts with a keyframe.
    pub independent: bool,
}

/// One segment as stored; the newest may still be open.
#[derive(Debug, Clone)]
pub struct StoredSegment {
    /// Media Sequence Number.
    pub msn: u64,
    /// The init segment it needs.
    pub generation: u32,
    /// The encode changed before it.
    pub discontinuity: bool,
    /// Media time of its first video frame.
    pub start: Duration,
    /// Wall-clock capture time of that frame (`EXT-X-PROGRAM-DATE-TIME`).
    pub captured: SystemTime,
    /// Its parts so far.
    pub parts: Vec<StoredPart>,
    /// Its duration, once complete.
    pub duration: Option<Duration>,
}

impl StoredSegment {
    fn end(&self) -> Duration {
        self.start + self.parts.iter().map(|p| p.duration).sum::<Duration>()
    }
}

/// What a resource name finds.
#[derive(Debug, Clone)]
pub enum Lookup {
    /// An init segment.
    Init(Bytes),
    /// A part.
    Part(Bytes),
    /// A whole segment: its parts' bytes in order.
    Segment(Vec<Bytes>),
    /// Not made yet, but soon (the preload hint, the segment in progress): wait and ask again.
    Pending,
    /// Never was, or no longer is.
    Gone,
}

/// The store of one muxer run.
#[derive(Debug)]
pub struct Store {
    pub(crate) run: u32,
    pub(crate) next_msn: u64,
    pub(crate) segments: VecDeque<StoredSegment>,
    inits: BTreeMap<u32, Bytes>,
    /// Discontinuities before the oldest segment still held.
    dropped_discontinuities: u64,
    /// Part index numbers ahead of the newest part that count as "soon".
    pending_parts: u64,
}

impl Store {
    pub(crate) fn new(run: u32, first_msn: u64, cfg: &Config) -> Store {
        Store {
            run,
            next_msn: first_msn,
            segments: VecDeque::new(),
            inits: BTreeMap::new(),
            dropped_discontinuities: 0,
            pending_parts: cfg.advance_part_limit(),
        }
    }

    pub(crate) fn set_init(&mut self, generation: u32, bytes: Bytes) {
        self.inits.insert(generation, bytes);
    }

    pub(crate) fn has_init(&self, generation: u32) -> bool {
        self.inits.contains_key(&generation)
    }

    /// The segments held, oldest first (the newest may be open).
    pub fn segments_held(&self) -> &VecDeque<StoredSegment> {
        &self.segments
    }

    /// The open segment, if one is being made.
    pub fn open(&self) -> Option<&StoredSegment> {
        self.segments.back().filter(|s| s.duration.is_none())
    }

    pub(crate) fn open_mut(&mut self) -> Option<&mut StoredSegment> {
        self.segments.back_mut().filter(|s| s.duration.is_none())
    }

    /// Media Sequence Number of the newest complete segment.
    pub fn last_complete(&self) -> Option<u64> {
        self.segments
            .iter()
            .rev()
            .find(|s| s.duration.is_some())
            .map(|s| s.msn)
    }

    /// The msn the next segment opened will get.
    pub fn next_msn(&self) -> u64 {
        self.next_msn
    }

    pub(crate) fn begin_segment(&mut self, generation: u32, start: Duration, captured: SystemTime) {
        let discontinuity = self
            .segments
            .back()
            .is_some_and(|s| s.generation != generation);
        self.segments.push_back(StoredSegment {
            msn: self.next_msn,
            generation,
            discontinuity,
            start,
            captured,
            parts: Vec::new(),
            duration: None,
        });
        self.next_msn += 1;
    }

    /// Ends the open segment and drops what has left the window for good.
    pub(crate) fn end_segment(&mut self, cfg: &Config) {
        if let Some(s) = self.open_mut() {
            s.duration = Some(s.parts.iter().map(|p| p.duration).sum());
        }
        let listed = self.listed_from(cfg);
        while self.segments.len() > listed + cfg.keep_after_window {
            if let Some(s) = self.segments.pop_front() {
                self.dropped_discontinuities += u64::from(s.discontinuity);
            }
        }
        // Init segments no held segment needs (generations only grow).
        let oldest = self.segments.front().map(|s| s.generation);
        self.inits.retain(|g, _| oldest.is_none_or(|o| *g >= o));
    }

    /// How many segments (counted from the newest, the open one included) the playlist lists:
    /// complete segments back from the newest until they last the window (§6.2.2).
    fn listed_from(&self, cfg: &Config) -> usize {
        let mut total = Duration::ZERO;
        let mut n = 0;
        for s in self.segments.iter().rev() {
            n += 1;
            if let Some(d) = s.duration {
                total += d;
                if total >= cfg.window() {
                    break;
                }
            }
        }
        n
    }

    /// The playlist, once a segment is complete (a player needs one to start).
    pub fn playlist(&self, cfg: &Config) -> Option<MediaPlaylist> {
        self.last_complete()?;
        let listed = self.listed_from(cfg);
        let first = self.segments.len() - listed;
        let end = self.segments.back().map_or(Duration::ZERO, |s| s.end());
        let parts_after = end.saturating_sub(cfg.window());
        let discontinuity_sequence = self.dropped_discontinuities
            + self
                .segments
                .iter()
                .take(first)
                .filter(|s| s.discontinuity)
                .count() as u64;
        let mut segments = Vec::with_capacity(listed);
        let mut prev_generation = None;
        for s in self.segments.iter().skip(first) {
            if s.duration.is_none() && s.parts.is_empty() {
                continue;
            }
            let name = |resource| Name {
                run: self.run,
                resource,
            };
            let parts = if s.end() > parts_after {
                s.parts
                    .iter()
                    .enumerate()
                    .map(|(i, p)| playlist::Part {
                        duration: p.duration,
                        uri: name(Resource::Part {
                            msn: s.msn,
                            part: i as u32,
                        })
                        .uri(),
                        independent: p.independent,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            segments.push(MediaSegment {
                discontinuity: s.discontinuity,
                map: (prev_generation != Some(s.generation)).then(|| {
                    name(Resource::Init {
                        generation: s.generation,
                    })
                    .uri()
                }),
                program_date_time: Some(s.captured),
                parts,
                complete: s
                    .duration
                    .map(|d| (d, name(Resource::Segment { msn: s.msn }).uri())),
            });
            prev_generation = Some(s.generation);
        }
        let hint = self.next_part().map(|(msn, part)| {
            Name {
                run: self.run,
                resource: Resource::Part { msn, part },
            }
            .uri()
        });
        Some(MediaPlaylist {
            target_duration: cfg.target_duration,
            server_control: ServerControl {
                can_block_reload: true,
                part_hold_back: Some(cfg.part_hold_back()),
            },
            part_target: Some(cfg.part_target()),
            media_sequence: self.segments[first].msn,
            discontinuity_sequence,
            segments,
            preload_hint: hint,
        })
    }

    /// The part being made now: (msn, index).
    pub fn next_part(&self) -> Option<(u64, u32)> {
        match self.open() {
            Some(s) => Some((s.msn, s.parts.len() as u32)),
            None if self.segments.is_empty() => None,
            None => Some((self.next_msn, 0)),
        }
    }

    fn segment(&self, msn: u64) -> Option<&StoredSegment> {
        let first = self.segments.front()?.msn;
        self.segments
            .get(usize::try_from(msn.checked_sub(first)?).ok()?)
    }

    /// Whether part `part` of segment `msn` exists, reading an index past the end of a complete
    /// segment as the next segment's part 0 (§6.2.5.2). Parts older than the store count as
    /// existing: the playlist is past them.
    pub fn has_part(&self, mut msn: u64, mut part: u64) -> bool {
        loop {
            if self.segments.front().is_some_and(|f| msn < f.msn) {
                return true;
            }
            let Some(s) = self.segment(msn) else {
                return false;
            };
            if part < s.parts.len() as u64 {
                return true;
            }
            if s.duration.is_none() {
                return false;
            }
            msn += 1;
            part = 0;
        }
    }

    /// Finds a resource of this run.
    pub fn lookup(&self, name: Name) -> Lookup {
        if name.run != self.run {
            return Lookup::Gone;
        }
        match name.resource {
            Resource::Init { generation } => match self.inits.get(&generation) {
                Some(b) => Lookup::Init(b.clone()),
                None => Lookup::Gone,
            },
            Resource::Segment { msn } => match self.segment(msn) {
                Some(s) if s.duration.is_some() => {
                    Lookup::Segment(s.parts.iter().map(|p| p.bytes.clone()).collect())
                }
                Some(_) => Lookup::Pending,
                None if msn == self.next_msn => Lookup::Pending,
                None => Lookup::Gone,
            },
            Resource::Part { msn, part } => {
                if let Some(p) = self.segment(msn).and_then(|s| s.parts.get(part as usize)) {
                    return Lookup::Part(p.bytes.clone());
                }
                let (next_msn, next_part) = self.next_part().unwrap_or((self.next_msn, 0));
                let soon = match msn.checked_sub(next_msn) {
                    Some(0) => {
                        u64::from(part) >= u64::from(next_part)
                            && u64::from(part) - u64::from(next_part) <= self.pending_parts
                    }
                    Some(1) => u64::from(part) <= self.pending_parts,
                    _ => false,
                };
                if soon { Lookup::Pending } else { Lookup::Gone }
            }
        }
    }
}
