//! H.264 video: the [`VideoEncoder`] trait and its OpenH264 implementation.
//!
//! Output is an Annex B byte stream (ITU-T H.264 Annex B: each NAL unit after a `00 00 00 01`
//! start code), one access unit per call, in the **constrained baseline** profile
//! (`profile_idc` 66 with `constraint_set1_flag`, ITU-T H.264 §A.2.1): no B-frames, so every
//! frame is shown as soon as it is decoded, and every browser's hardware or software decoder
//! and WebRTC's mandatory profile (RFC 7742 §6.2) accept it.
//!
//! Every IDR access unit starts with its SPS and PPS (§7.3.2.1, §7.3.2.2), so a viewer that
//! joins at any keyframe can decode from there without having seen the stream's start, and an
//! fMP4 or RTP packager can read the parameter sets from the keyframe it starts with.
//!
//! OpenH264 is Cisco's BSD-2 encoder, built from the source bundled in `openh264-sys2` (its
//! `source` feature). That build compiles the x86 assembly kernels with `nasm` if it finds one
//! (the `NASM` environment variable, else `nasm` on `PATH`), and silently falls back to plain C
//! if there is none or it fails; `OPENH264_NO_ASM` forces the C build. The assembly is 3-4x
//! faster (see the crate README for numbers), and is a build-time need only. The build script
//! does not notice nasm being installed later: rebuild `openh264-sys2` then.
//!
//! Two OpenH264 defaults are wrong for live streaming and are overridden here: frame skipping
//! (on by default: under rate pressure it returns *empty* access units) and the intra period
//! (0 by default: no IDR after the first, so a viewer joining late would wait forever).

use crate::{CodecError, I420};
use bytes::Bytes;
use openh264::OpenH264API;
use openh264::Timestamp;
use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, IntraFramePeriod, Profile,
    RateControlMode, SpsPpsStrategy, UsageType, VuiConfig,
};
use openh264::formats::YUVSource;

/// Something that turns pictures into H.264 access units, one call per frame.
///
/// `Send` so that a live stream can move it onto the blocking thread that encodes for it.
pub trait VideoEncoder: Send {
    /// Encodes one picture. With `force_keyframe`, this access unit is an IDR (with SPS and PPS
    /// in front), e.g. because a new viewer or a packager asked for one.
    fn encode(&mut self, frame: &I420, force_keyframe: bool) -> Result<EncodedVideo, CodecError>;
}

/// One encoded access unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedVideo {
    /// Annex B byte stream: NAL units each preceded by a start code. Never empty.
    pub annexb: Bytes,
    /// The access unit holds an IDR picture (NAL unit type 5): a decoder can start here.
    pub keyframe: bool,
}

impl EncodedVideo {
    /// The NAL units of [`annexb`](Self::annexb), without their start codes.
    pub fn nal_units(&self) -> impl Iterator<Item = &[u8]> {
        split_annexb(&self.annexb)
    }
}

/// NAL unit types (ITU-T H.264 Table 7-1) that packagers look for.
pub mod nal_type {
    /// Coded slice of a non-IDR picture.
    pub const SLICE: u8 = 1;
    /// Coded slice of an IDR picture.
    pub const IDR: u8 = 5;
    /// Sequence parameter set.
    pub const SPS: u8 = 7;
    /// Picture parameter set.
    pub const PPS: u8 = 8;
}

/// `nal_unit_type` of a NAL unit (its first byte's low 5 bits; §7.3.1).
pub fn nal_unit_type(nal: &[u8]) -> Option<u8> {
    nal.first().map(|b| b & 0x1f)
}

/// Splits an Annex B byte stream at its 3- and 4-byte start codes (§B.2).
pub fn split_annexb(stream: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = stream;
    std::iter::from_fn(move || {
        loop {
            let start = find_start_code(rest)?;
            let after = &rest[start.1..];
            let end = find_start_code(after).map_or(after.len(), |(s, _)| s);
            // A trailing zero before the next start code belongs to that code (4-byte form).
            let nal = &after[..end];
            rest = &after[end..];
            let nal = match nal.iter().rposition(|&b| b != 0) {
                Some(last) => &nal[..=last],
                None => continue,
            };
            return Some(nal);
        }
    })
}

/// `(index of the start code, index just after it)` of the first `00 00 01` in `data`.
fn find_start_code(data: &[u8]) -> Option<(usize, usize)> {
    data.windows(3)
        .position(|w| w == [0, 0, 1])
        .map(|i| (i, i + 3))
}

/// Settings of an [`H264Encoder`]. Build with [`H264Config::new`] or [`Default`], adjust the
/// fields, and [`H264Encoder::new`] checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Config {
    /// Width in pixels: even, 16..=3840 (OpenH264's limit; 2160 if portrait).
    pub width: u32,
    /// Height in pixels: even, 16..=2160 (3840 if portrait).
    pub height: u32,
    /// Frames per second the source delivers, 1..=120. Rate control spreads the bitrate over
    /// this many frames per second.
    pub fps: u32,
    /// Target bitrate in bits per second, 50 kbit/s..=50 Mbit/s. Rate control holds the average
    /// near it; single frames (keyframes) may be much larger.
    pub bitrate_bps: u32,
    /// An IDR at least every this many frames, 1..=3600 (1 = every frame is a keyframe). A
    /// viewer joining waits at most this long for a picture.
    pub keyframe_interval: u32,
}

impl H264Config {
    /// `width` x `height` at `fps`, with a LAN-friendly bitrate (0.09 bit per pixel per frame:
    /// about 2.5 Mbit/s at 720p30, 5.6 Mbit/s at 1080p30) and one keyframe per second.
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        let bits = u64::from(width) * u64::from(height) * u64::from(fps) * 9 / 100;
        H264Config {
            width,
            height,
            fps,
            bitrate_bps: bits.clamp(100_000, 20_000_000) as u32,
            keyframe_interval: fps.max(1),
        }
    }

    /// Refuses settings OpenH264 would reject, misbehave with, or that make no sense for a live
    /// stream, saying which field and what is allowed.
    pub fn validate(&self) -> Result<(), CodecError> {
        let bad = |reason: String| {
            Err(CodecError::BadConfig {
                codec: "H.264",
                reason,
            })
        };
        let (w, h) = (self.width, self.height);
        if w & 1 == 1 || h & 1 == 1 {
            return bad(format!(
                "{w}x{h}: width and height must be even (4:2:0 chroma)"
            ));
        }
        if w < 16 || h < 16 || w.max(h) > 3840 || w.min(h) > 2160 {
            return bad(format!(
                "{w}x{h}: size must be at least 16x16 and at most 3840x2160 (or 2160x3840)"
            ));
        }
        if !(1..=120).contains(&self.fps) {
            return bad(format!("fps {}: must be 1..=120", self.fps));
        }
        if !(50_000..=50_000_000).contains(&self.bitrate_bps) {
            return bad(format!(
                "bitrate {} bit/s: must be 50 kbit/s..=50 Mbit/s",
                self.bitrate_bps
            ));
        }
        if !(1..=3600).contains(&self.keyframe_interval) {
            return bad(format!(
                "keyframe interval {}: must be 1..=3600 frames",
                self.keyframe_interval
            ));
        }
        Ok(())
    }
}

impl Default for H264Config {
    /// 1280x720 at 30 fps, 2.5 Mbit/s, a keyframe every second.
    fn default() -> Self {
        H264Config {
            bitrate_bps: 2_500_000,
            ..H264Config::new(1280, 720, 30)
        }
    }
}

/// The OpenH264 implementation of [`VideoEncoder`].
pub struct H264Encoder {
    config: H264Config,
    encoder: Encoder,
    /// Frames encoded so far; the next frame's index.
    frames: u64,
    /// Reused for each access unit before it is frozen into [`Bytes`].
    buf: Vec<u8>,
}

impl std::fmt::Debug for H264Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Encoder")
            .field("config", &self.config)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

impl H264Encoder {
    /// Checks `config` and builds an encoder for it.
    pub fn new(config: H264Config) -> Result<Self, CodecError> {
        config.validate()?;
        let openh264_config = EncoderConfig::new()
            .profile(Profile::Baseline)
            .usage_type(UsageType::CameraVideoRealTime)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(config.bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(config.fps as f32))
            // Never return an empty access unit (OpenH264's default would, under pressure).
            .skip_frames(false)
            .intra_frame_period(IntraFramePeriod::from_num_frames(config.keyframe_interval))
            // Same SPS/PPS ids for the whole stream: packagers keep one avcC / sprop.
            .sps_pps_strategy(SpsPpsStrategy::ConstantId)
            // Tell decoders what `pixels` produces: BT.601, limited range (Annex E VUI).
            .vui(VuiConfig::bt601())
            .complexity(Complexity::Low)
            // One thread: the live crate already gives each stream its own thread, and this
            // machine class has two cores shared with the server.
            .num_threads(1);
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), openh264_config)
            .map_err(|e| CodecError::H264 {
                frame: 0,
                reason: format!("cannot create the encoder: {e}"),
            })?;
        Ok(H264Encoder {
            config,
            encoder,
            frames: 0,
            buf: Vec::new(),
        })
    }

    /// The settings this encoder was built with.
    pub fn config(&self) -> &H264Config {
        &self.config
    }
}

/// Lends an [`I420`] to OpenH264 (a private type so OpenH264's trait is not in our API).
struct Source<'a>(&'a I420);

impl YUVSource for Source<'_> {
    fn dimensions(&self) -> (usize, usize) {
        (self.0.width(), self.0.height())
    }

    fn strides(&self) -> (usize, usize, usize) {
        let w = self.0.width();
        (w, w / 2, w / 2)
    }

    fn y(&self) -> &[u8] {
        self.0.y()
    }

    fn u(&self) -> &[u8] {
        self.0.u()
    }

    fn v(&self) -> &[u8] {
        self.0.v()
    }
}

impl VideoEncoder for H264Encoder {
    fn encode(&mut self, frame: &I420, force_keyframe: bool) -> Result<EncodedVideo, CodecError> {
        let (w, h) = (frame.width() as u32, frame.height() as u32);
        if (w, h) != (self.config.width, self.config.height) {
            return Err(CodecError::FrameSize {
                width: self.config.width,
                height: self.config.height,
                got_width: w,
                got_height: h,
            });
        }
        let index = self.frames;
        if force_keyframe && index > 0 {
            // The first frame is an IDR anyway (and the encoder initialises on it).
            self.encoder.force_intra_frame();
        }
        // Timestamps only inform OpenH264's rate control; nominal ones keep it steady whatever
        // the caller's clock does.
        let ms = index * 1000 / u64::from(self.config.fps);
        let stream = self
            .encoder
            .encode_at(&Source(frame), Timestamp::from_millis(ms))
            .map_err(|e| CodecError::H264 {
                frame: index,
                reason: e.to_string(),
            })?;
        self.buf.clear();
        stream.write_vec(&mut self.buf);
        self.frames += 1;
        if self.buf.is_empty() {
            return Err(CodecError::H264 {
                frame: index,
                reason: "the encoder returned an empty access unit (frame skipped)".into(),
            });
        }
        let annexb = Bytes::copy_from_slice(&self.buf);
        let keyframe = split_annexb(&annexb).any(|n| nal_unit_type(n) == Some(nal_type::IDR));
        Ok(EncodedVideo { annexb, keyframe })
    }
}

/// Decodes H.264 (Annex B access units) to packed RGB with OpenH264: the one decode a stream fed
/// with already-encoded video (a WHIP publisher) needs for its MJPEG viewers and snapshots.
/// Feed every access unit from a keyframe on; a unit that fails to decode is reported and the
/// next keyframe starts over.
pub struct H264Decoder {
    decoder: openh264::decoder::Decoder,
    units: u64,
}

impl std::fmt::Debug for H264Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("H264Decoder")
            .field("units", &self.units)
            .finish_non_exhaustive()
    }
}

/// One decoded picture.
#[derive(Debug, Clone)]
pub struct DecodedRgb {
    /// Packed RGB, `width * height * 3` bytes.
    pub rgb: Vec<u8>,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
}

impl H264Decoder {
    /// A decoder (OpenH264 built from source, one thread).
    pub fn new() -> Result<Self, CodecError> {
        let decoder = openh264::decoder::Decoder::new().map_err(|e| CodecError::H264 {
            frame: 0,
            reason: format!("cannot create the decoder: {e}"),
        })?;
        Ok(H264Decoder { decoder, units: 0 })
    }

    /// Decodes one access unit: `Ok(None)` while it has no picture to show (parameter sets
    /// alone, or a decoder that buffers).
    pub fn decode(&mut self, au: &[u8]) -> Result<Option<DecodedRgb>, CodecError> {
        self.units += 1;
        let frame = self.units;
        let yuv = self.decoder.decode(au).map_err(|e| CodecError::H264 {
            frame,
            reason: format!("cannot decode: {e}"),
        })?;
        let Some(yuv) = yuv else {
            return Ok(None);
        };
        let (w, h) = yuv.dimensions();
        let (Ok(width), Ok(height)) = (u16::try_from(w), u16::try_from(h)) else {
            return Err(CodecError::H264 {
                frame,
                reason: format!("a {w}x{h} picture is larger than 65535 pixels a side"),
            });
        };
        let mut rgb = vec![0u8; w * h * 3];
        yuv.write_rgb8(&mut rgb);
        Ok(Some(DecodedRgb { rgb, width, height }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annexb_splits_on_three_and_four_byte_start_codes() {
        let stream = [
            0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 0, 4,
        ];
        let nals: Vec<&[u8]> = split_annexb(&stream).collect();
        assert_eq!(nals, [&[0x67, 1, 2][..], &[0x68, 3], &[0x65, 0, 4]]);
        assert_eq!(nal_unit_type(nals[2]), Some(nal_type::IDR));
        assert_eq!(split_annexb(&[1, 2, 3]).count(), 0);
    }

    #[test]
    fn defaults_suit_a_lan_and_bad_configs_say_why() {
        let d = H264Config::default();
        assert_eq!((d.width, d.height, d.fps), (1280, 720, 30));
        assert_eq!((d.bitrate_bps, d.keyframe_interval), (2_500_000, 30));
        d.validate().unwrap();
        let c = H264Config::new(1920, 1080, 30);
        assert_eq!(c.keyframe_interval, 30);
        assert!((5_000_000..6_000_000).contains(&c.bitrate_bps));
        for (bad, needle) in [
            (H264Config { width: 641, ..d }, "even"),
            (H264Config { width: 4096, ..d }, "3840x2160"),
            (H264Config { fps: 0, ..d }, "fps"),
            (
                H264Config {
                    bitrate_bps: 1_000,
                    ..d
                },
                "bitrate",
            ),
            (
                H264Config {
                    keyframe_interval: 0,
                    ..d
                },
                "keyframe",
            ),
        ] {
            let err = H264Encoder::new(bad).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }

    #[test]
    fn a_frame_of_the_wrong_size_is_refused() {
        let mut enc = H264Encoder::new(H264Config::new(64, 48, 30)).unwrap();
        let err = enc
            .encode(&I420::black(32, 32).unwrap(), false)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame is 32x32, the encoder was configured for 64x48"
        );
    }

    #[test]
    fn decodes_what_the_encoder_made_and_survives_garbage() {
        let mut enc = H264Encoder::new(H264Config::new(160, 96, 30)).unwrap();
        let mut dec = H264Decoder::new().unwrap();
        let mut pictures = 0;
        for i in 0..3 {
            let au = enc.encode(&I420::black(160, 96).unwrap(), i == 0).unwrap();
            if let Some(p) = dec.decode(&au.annexb).unwrap() {
                assert_eq!((p.width, p.height), (160, 96));
                assert_eq!(p.rgb.len(), 160 * 96 * 3);
                assert!(p.rgb.iter().all(|&v| v < 24), "black decodes as black");
                pictures += 1;
            }
        }
        assert!(pictures >= 2, "{pictures} pictures of 3 units");
        // Garbage is an error or nothing, never a panic; the next keyframe decodes again.
        let _ = dec.decode(&[0, 0, 0, 1, 0x65, 0xff, 0x00, 0x13, 0x37]);
        let _ = dec.decode(&[1, 2, 3]);
        let au = enc.encode(&I420::black(160, 96).unwrap(), true).unwrap();
        let again = dec.decode(&au.annexb).unwrap();
        assert!(again.is_some_and(|p| p.width == 160));
    }
}
