//! A stream's encoded outputs: H.264 access units, Opus packets and the CMAF fragments made of
//! them, each in its own hub, plus the init segment every fMP4 viewer starts with.
//!
//! Encoded once per stream, packaged once, fanned out by reference: a WebSocket viewer is a
//! cursor into [`AvOutputs::fmp4`]; WebRTC and LL-HLS will read the same hubs. Nothing is
//! encoded while these hubs have no consumers.

use crate::hub::Hub;
use bytes::Bytes;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Units an fMP4 hub holds: about three seconds of 30 fps video and 20 ms audio fragments, so
/// that a viewer that falls behind still finds the last keyframe (one a second by default).
const FMP4_CAPACITY: usize = 256;
/// Access units / packets the per-track hubs hold (the same span).
const TRACK_CAPACITY: usize = 160;
/// Viewers may ask for a keyframe at most this often (each costs a large frame).
pub const KEYFRAME_REQUEST_INTERVAL: Duration = Duration::from_millis(500);

/// The init segment of the current encode, with what a player needs to know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitSegment {
    /// `ftyp` + `moov`.
    pub bytes: Bytes,
    /// The MSE type naming every track, e.g. `video/mp4; codecs="avc1.42C01F,opus"`.
    pub mime: String,
    /// RFC 6381 codec strings, video first.
    pub codecs: Vec<String>,
    /// Picture size.
    pub width: u16,
    /// Picture size.
    pub height: u16,
    /// Counts init segments of this stream: fragments carry the generation they belong to, so
    /// a viewer sees when it must start over (the picture size changed).
    pub generation: u32,
}

/// The encoded side of one stream.
#[derive(Debug)]
pub struct AvOutputs {
    /// H.264 access units (Annex B), one per frame; keyframes are IDRs with SPS + PPS.
    pub video: Hub,
    /// Opus packets of 20 ms.
    pub audio: Hub,
    /// CMAF fragments (`prft` + `moof` + `mdat`) of both tracks in capture order; a unit is a
    /// keyframe when it starts with a video IDR, where a viewer can begin.
    pub fmp4: Hub,
    init: watch::Sender<Option<InitSegment>>,
    keyframe_wanted: AtomicBool,
    last_request: Mutex<Option<Instant>>,
    /// A request came inside the interval: granted when it is over.
    keyframe_deferred: AtomicBool,
    /// Whether the stream has a sound track.
    pub has_audio: bool,
}

impl AvOutputs {
    pub(crate) fn new(has_audio: bool) -> Self {
        AvOutputs {
            video: Hub::new(TRACK_CAPACITY),
            audio: Hub::new(TRACK_CAPACITY),
            fmp4: Hub::new(FMP4_CAPACITY),
            init: watch::channel(None).0,
            keyframe_wanted: AtomicBool::new(false),
            last_request: Mutex::new(None),
            keyframe_deferred: AtomicBool::new(false),
            has_audio,
        }
    }

    /// Whether anyone consumes encoded video now (else the encoder idles).
    pub fn video_wanted(&self) -> bool {
        self.fmp4.consumers() > 0 || self.video.consumers() > 0
    }

    /// Whether anyone consumes encoded audio now.
    pub fn audio_wanted(&self) -> bool {
        self.fmp4.consumers() > 0 || self.audio.consumers() > 0
    }

    /// The current init segment; changes when the encode restarts with other parameters.
    pub fn init(&self) -> watch::Receiver<Option<InitSegment>> {
        self.init.subscribe()
    }

    pub(crate) fn set_init(&self, init: Option<InitSegment>) {
        self.init.send_if_modified(|cur| {
            if *cur == init {
                return false;
            }
            *cur = init;
            true
        });
    }

    /// The current init segment, if the encode has started.
    pub fn current_init(&self) -> Option<InitSegment> {
        self.init.borrow().clone()
    }

    /// Asks the encoder for a keyframe (a new viewer, a receiver's PLI). Passed on at most once
    /// per [`KEYFRAME_REQUEST_INTERVAL`]; one that comes inside the interval is deferred to its
    /// end, not dropped (a viewer joining just after another gets its keyframe within the
    /// interval, not at the next periodic one). Returns whether it was passed on now.
    pub fn request_keyframe(&self, now: Instant) -> bool {
        let mut last = crate::stream::lock(&self.last_request);
        if last.is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL) {
            self.keyframe_deferred.store(true, Ordering::Release);
            return false;
        }
        *last = Some(now);
        self.keyframe_wanted.store(true, Ordering::Release);
        true
    }

    /// Takes a pending keyframe request (the encoder thread, once per frame; WHIP's task on
    /// its tick): one passed on, or a deferred one whose interval is over.
    pub(crate) fn take_keyframe_request(&self) -> bool {
        self.take_keyframe_request_at(Instant::now())
    }

    fn take_keyframe_request_at(&self, now: Instant) -> bool {
        if self.keyframe_wanted.swap(false, Ordering::AcqRel) {
            return true;
        }
        if !self.keyframe_deferred.load(Ordering::Acquire) {
            return false;
        }
        let mut last = crate::stream::lock(&self.last_request);
        if last.is_some_and(|t| now.saturating_duration_since(t) < KEYFRAME_REQUEST_INTERVAL) {
            return false;
        }
        *last = Some(now);
        self.keyframe_deferred.store(false, Ordering::Release);
        true
    }

    /// Forgets everything held (the source was released).
    pub(crate) fn clear(&self) {
        self.video.clear();
        self.audio.clear();
        self.fmp4.clear();
        self.set_init(None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyframe_requests_are_rate_limited() {
        let av = AvOutputs::new(false);
        let t0 = Instant::now();
        assert!(av.request_keyframe(t0));
        assert!(!av.request_keyframe(t0 + Duration::from_millis(100)));
        assert!(av.take_keyframe_request());
        assert!(!av.take_keyframe_request());
        assert!(av.request_keyframe(t0 + KEYFRAME_REQUEST_INTERVAL));
        assert!(av.take_keyframe_request());
    }

    #[test]
    fn a_request_inside_the_interval_is_granted_when_it_ends() {
        let av = AvOutputs::new(false);
        let t0 = Instant::now();
        assert!(av.request_keyframe(t0));
        assert!(av.take_keyframe_request_at(t0));
        // A second viewer 100 ms later: not now, but not forgotten.
        assert!(!av.request_keyframe(t0 + Duration::from_millis(100)));
        assert!(!av.take_keyframe_request_at(t0 + Duration::from_millis(200)));
        assert!(av.take_keyframe_request_at(t0 + KEYFRAME_REQUEST_INTERVAL));
        // Granted once: the next frames ask for nothing.
        assert!(!av.take_keyframe_request_at(t0 + KEYFRAME_REQUEST_INTERVAL * 2));
        // Many requests inside one interval make one deferred keyframe.
        let t1 = t0 + KEYFRAME_REQUEST_INTERVAL * 3;
        assert!(av.request_keyframe(t1));
        assert!(av.take_keyframe_request_at(t1));
        for ms in [10, 50, 300] {
            assert!(!av.request_keyframe(t1 + Duration::from_millis(ms)));
        }
        assert!(av.take_keyframe_request_at(t1 + KEYFRAME_REQUEST_INTERVAL));
        assert!(!av.take_keyframe_request_at(t1 + KEYFRAME_REQUEST_INTERVAL * 3));
    }
}
