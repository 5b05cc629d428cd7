//! Timestamped media units: what a source produces and every output consumes.
//!
//! A unit is one JPEG frame, one H.264 access unit, one Opus packet or one CMAF fragment. The
//! payload is a reference-counted [`Bytes`], so a unit is encoded once and shared by every
//! viewer without a copy (encode once, fan out by reference).

use bytes::Bytes;
use std::time::{Duration, SystemTime};

/// What a unit's payload is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaKind {
    /// A complete baseline JPEG image (one MJPEG part).
    Jpeg {
        /// Width in pixels.
        width: u16,
        /// Height in pixels.
        height: u16,
    },
    /// One H.264 access unit (Annex B); keyframes are IDRs led by SPS and PPS.
    H264,
    /// One Opus packet (20 ms).
    Opus {
        /// Always 48000 for Opus; carried so that consumers need not assume it.
        sample_rate: u32,
        /// 1 or 2.
        channels: u8,
    },
    /// One CMAF fragment (`prft` + `moof` + `mdat`) belonging to init segment `generation`
    /// (see `crate::av::InitSegment`).
    Fragment {
        /// Which init segment it needs.
        generation: u32,
    },
}

impl MediaKind {
    /// The MIME type of the payload.
    pub fn mime(&self) -> &'static str {
        match self {
            MediaKind::Jpeg { .. } => "image/jpeg",
            MediaKind::H264 => "video/h264",
            MediaKind::Opus { .. } => "audio/opus",
            MediaKind::Fragment { .. } => "video/mp4",
        }
    }

    /// `(width, height)` for video units.
    pub fn dimensions(&self) -> Option<(u16, u16)> {
        match *self {
            MediaKind::Jpeg { width, height } => Some((width, height)),
            _ => None,
        }
    }
}

/// One unit of media with the time it was captured.
#[derive(Debug, Clone)]
pub struct MediaUnit {
    /// Position in its hub, 1 for the first unit ever published; gaps mean skipped units.
    pub seq: u64,
    /// What the payload is.
    pub kind: MediaKind,
    /// A decoder can start here (every JPEG is one).
    pub keyframe: bool,
    /// Wall-clock capture time (sent to clients as `X-Timestamp`).
    pub captured: SystemTime,
    /// Monotonic capture time on the process's [`crate::clock`], for pacing and A/V sync.
    pub pts: Duration,
    /// The encoded bytes, shared by reference.
    pub payload: Bytes,
}
