//! Pictures to JPEG (for MJPEG viewers and snapshots) and to H.264 (for everything else),
//! each at most once per frame and only while someone watches that form.

use crate::error::LiveError;
use crate::source::test_pattern::{JPEG_QUALITY, encode_jpeg};
use crate::source::{Frame, Picture};
use crate::spec::VideoEncoding;
use bytes::Bytes;
use homestream_codec::pixels::{jpeg_to_i420, rgb_to_i420};
use homestream_codec::{H264Config, H264Encoder, I420, VideoEncoder};
use std::time::Duration;

fn codec(e: homestream_codec::CodecError) -> LiveError {
    LiveError::Encode(e.to_string())
}

/// The frame as a JPEG: passed through when the source gave one, else encoded once.
pub fn jpeg_of(frame: &Frame) -> Result<Bytes, LiveError> {
    match &frame.picture {
        Picture::Jpeg(j) => Ok(j.clone()),
        Picture::Rgb(rgb) => encode_jpeg(rgb, frame.width, frame.height, JPEG_QUALITY),
    }
}

/// The frame as I420 for the H.264 encoder (a JPEG is decoded once here).
pub fn i420_of(frame: &Frame) -> Result<I420, LiveError> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    match &frame.picture {
        Picture::Rgb(rgb) => rgb_to_i420(rgb, w, h).map_err(codec),
        Picture::Jpeg(j) => jpeg_to_i420(j).map_err(codec),
    }
}

/// One encoded access unit.
#[derive(Debug, Clone)]
pub struct Encoded {
    /// Annex B bytes.
    pub annexb: Bytes,
    /// An IDR (with SPS + PPS).
    pub keyframe: bool,
    /// The duration the fragment declares: [`HOLD_FRAMES`] nominal intervals (see there).
    pub duration: Duration,
}

/// How many nominal frame intervals each video sample declares as its duration.
///
/// A live encoder cannot know when the next frame comes, and Media Source Extensions punish a
/// wrong guess: a decode time more than twice the previous frame's duration after it is a
/// discontinuity (MSE "coded frame processing", step 6), after which the browser drops every
/// frame up to the next keyframe, so one late capture froze the picture for up to a second.
/// Declaring a few intervals lets the source skip up to `2 * HOLD_FRAMES - 1` frames; the
/// player shows a frame until the next one anyway. Beyond that the encoder makes the frame
/// after the gap a keyframe, so the player resumes at once.
pub const HOLD_FRAMES: u32 = 4;

/// The stream's H.264 encoder, made when first needed and remade when the picture size
/// changes (a camera reopened in another mode, "no signal" frames of another size).
pub struct VideoEncode {
    settings: VideoEncoding,
    fps: f64,
    encoder: Option<((usize, usize), H264Encoder)>,
    last_pts: Option<Duration>,
}

impl std::fmt::Debug for VideoEncode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoEncode")
            .field("settings", &self.settings)
            .field("fps", &self.fps)
            .finish()
    }
}

impl VideoEncode {
    /// An encoder for a source of nominal rate `fps`.
    pub fn new(settings: VideoEncoding, fps: f64) -> Self {
        VideoEncode {
            settings,
            fps: fps.clamp(1.0, 240.0),
            encoder: None,
            last_pts: None,
        }
    }

    /// Drops the encoder (nobody watches H.264 now); the next frame starts with a keyframe.
    pub fn idle(&mut self) {
        self.encoder = None;
        self.last_pts = None;
    }

    /// Encodes `frame`, as a keyframe when `force_keyframe`.
    pub fn encode(&mut self, frame: &Frame, force_keyframe: bool) -> Result<Encoded, LiveError> {
        let pic = i420_of(frame)?;
        let size = (pic.width(), pic.height());
        if self.encoder.as_ref().map(|(s, _)| *s) != Some(size) {
            let cfg = H264Config {
                width: size.0 as u32,
                height: size.1 as u32,
                fps: self.fps.round() as u32,
                bitrate_bps: self.settings.bitrate_bps,
                keyframe_interval: (self.settings.keyframe_secs * self.fps).round().max(1.0) as u32,
            };
            self.encoder = Some((size, H264Encoder::new(cfg).map_err(codec)?));
        }
        let Some((_, enc)) = self.encoder.as_mut() else {
            return Err(LiveError::Encode("no encoder".into()));
        };
        let hold = Duration::from_secs_f64(1.0 / self.fps) * HOLD_FRAMES;
        let pts = frame.captured.pts;
        let gap = self
            .last_pts
            .is_some_and(|p| pts.saturating_sub(p) > 2 * hold);
        let out = enc.encode(&pic, force_keyframe || gap).map_err(codec)?;
        self.last_pts = Some(pts);
        Ok(Encoded {
            annexb: out.annexb,
            keyframe: out.keyframe,
            duration: hold,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Stamp;
    use std::time::SystemTime;

    fn frame(ms: u64) -> Frame {
        Frame {
            picture: Picture::Rgb(vec![90u8; 64 * 48 * 3]),
            width: 64,
            height: 48,
            captured: Stamp {
                pts: Duration::from_millis(ms),
                wall: SystemTime::UNIX_EPOCH + Duration::from_millis(ms),
            },
        }
    }

    #[test]
    fn declares_the_hold_and_resumes_with_a_keyframe_after_a_long_gap() {
        let mut enc = VideoEncode::new(VideoEncoding::default(), 25.0);
        let hold = Duration::from_millis(40) * HOLD_FRAMES;
        let mut keyframes = Vec::new();
        // 40 ms apart, then skips of 3 and of 7 frames (both tolerated by the declared hold),
        // then one of 9 frames (360 ms > 2 * 160 ms): that frame must be a keyframe.
        for ms in [0, 40, 80, 200, 480, 520, 880, 920] {
            let e = enc.encode(&frame(ms), false).unwrap();
            assert_eq!(e.duration, hold, "frame at {ms} ms");
            keyframes.push(e.keyframe);
        }
        assert_eq!(
            keyframes,
            [true, false, false, false, false, false, true, false]
        );
    }
}
