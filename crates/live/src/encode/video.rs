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
    /// How long the frame is shown: the time since the previous frame (what a player needs
    /// to place the next one without a gap), the nominal interval for the first.
    pub duration: Duration,
}

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
        let out = enc.encode(&pic, force_keyframe).map_err(codec)?;
        let nominal = Duration::from_secs_f64(1.0 / self.fps);
        let pts = frame.captured.pts;
        let duration = match self.last_pts {
            Some(p) if pts > p => (pts - p).min(Duration::from_secs(2)),
            _ => nominal,
        };
        self.last_pts = Some(pts);
        Ok(Encoded {
            annexb: out.annexb,
            keyframe: out.keyframe,
            duration,
        })
    }
}
