//! Frame sources: what `--live NAME=SOURCE` names, and the blocking producers behind them.
//!
//! Each running source lives on its own thread (see [`crate::stream`]): capture and JPEG
//! encoding are blocking, CPU- or device-bound work that must not stall the async viewers.

pub mod camera;
pub mod font;
pub mod jpegs;
pub mod mic;
pub mod relay;
pub mod test_pattern;
pub mod tone;

use crate::clock::{self, Stamp};
use crate::error::LiveError;
use bytes::Bytes;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// A frame's pixels, in the form the source had them: the stream turns them into JPEG and/or
/// H.264 once, only for the outputs that have viewers.
#[derive(Debug, Clone)]
pub enum Picture {
    /// Packed 8-bit RGB, `width * height * 3` bytes (rendered or raw-camera frames).
    Rgb(Vec<u8>),
    /// A complete JPEG image (MJPEG cameras, folders, relays): passed through to MJPEG viewers,
    /// decoded once for H.264.
    Jpeg(Bytes),
}

/// One frame from a source.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Its pixels.
    pub picture: Picture,
    /// Width in pixels.
    pub width: u16,
    /// Height in pixels.
    pub height: u16,
    /// When it was captured.
    pub captured: Stamp,
}

/// A running source. `next_frame` blocks until the next frame is due or has arrived, for at
/// most a few seconds (so that an idle stream can be released).
pub trait FrameSource: Send {
    /// The next frame, or why the source failed (the stream then shows "no signal" and reopens
    /// the source later).
    fn next_frame(&mut self) -> Result<Frame, LiveError>;
}

/// A stretch of captured sound: mono, 48 kHz, f32 in [-1, 1].
#[derive(Debug, Clone)]
pub struct AudioChunk {
    /// The samples.
    pub samples: Vec<f32>,
    /// When the first sample was captured, on the media clock.
    pub captured: Stamp,
}

/// A running sound source. `next_chunk` blocks until the next chunk has been captured, for at
/// most a few seconds.
pub trait AudioSource: Send {
    /// The next chunk, or why the source failed (the stream then plays silence and reopens it).
    fn next_chunk(&mut self) -> Result<AudioChunk, LiveError>;
}

/// Which camera `camera:` names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraId {
    /// The N-th capture device (`camera:0`).
    Index(usize),
    /// A device whose name contains this text, or a device path (`camera:/dev/video2`).
    Name(String),
}

/// A parsed SOURCE.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceSpec {
    /// `test[:WxH@FPS]`.
    Test {
        /// Width.
        width: u16,
        /// Height.
        height: u16,
        /// Frames per second.
        fps: u32,
    },
    /// `jpegs:DIR[@FPS]`.
    Jpegs {
        /// Folder of JPEGs.
        dir: PathBuf,
        /// Frames per second.
        fps: f64,
    },
    /// `camera:INDEX|NAME[@WxH@FPS]`.
    Camera {
        /// Which device.
        id: CameraId,
        /// Wanted size, if given.
        size: Option<(u32, u32)>,
        /// Wanted rate, if given.
        fps: Option<u32>,
    },
    /// `mjpeg:URL`.
    Relay {
        /// URL of a multipart/x-mixed-replace stream.
        url: String,
    },
    /// `publish`: whoever publishes over WHIP (`POST /live/NAME/whip`), H.264 + Opus relayed
    /// as sent (`crate::stream`'s `ingest`).
    Publish,
}

fn bad(spec: &str, why: impl Into<String>) -> LiveError {
    LiveError::BadSource {
        spec: spec.to_string(),
        reason: why.into(),
    }
}

fn parse_size(spec: &str, s: &str) -> Result<(u32, u32), LiveError> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .ok_or_else(|| bad(spec, format!("size {s:?} is not WxH")))?;
    let w: u32 = w
        .parse()
        .map_err(|_| bad(spec, format!("bad width {w:?}")))?;
    let h: u32 = h
        .parse()
        .map_err(|_| bad(spec, format!("bad height {h:?}")))?;
    Ok((w, h))
}

fn parse_fps(spec: &str, s: &str) -> Result<f64, LiveError> {
    match s.parse::<f64>() {
        Ok(f) if f > 0.0 && f <= 240.0 => Ok(f),
        _ => Err(bad(spec, format!("fps {s:?} is not a number in (0, 240]"))),
    }
}

impl std::str::FromStr for SourceSpec {
    type Err = LiveError;

    fn from_str(spec: &str) -> Result<Self, LiveError> {
        let (kind, arg) = spec.split_once(':').unwrap_or((spec, ""));
        match kind {
            "test" => {
                let (mut width, mut height, mut fps) = (640u32, 360u32, 30f64);
                if !arg.is_empty() {
                    let (size, rate) = match arg.split_once('@') {
                        Some((s, r)) => (s, Some(r)),
                        None => (arg, None),
                    };
                    if !size.is_empty() {
                        (width, height) = parse_size(spec, size)?;
                    }
                    if let Some(r) = rate {
                        fps = parse_fps(spec, r)?;
                    }
                }
                let (mw, mh) = test_pattern::TestPattern::MIN;
                if width < mw as u32 || height < mh as u32 || width > 7680 || height > 4320 {
                    return Err(bad(
                        spec,
                        format!("size must be between {mw}x{mh} and 7680x4320"),
                    ));
                }
                if fps.fract() != 0.0 {
                    return Err(bad(spec, "test fps must be a whole number"));
                }
                Ok(SourceSpec::Test {
                    width: width as u16,
                    height: height as u16,
                    fps: fps as u32,
                })
            }
            "jpegs" => {
                // The rate is the part after the last '@' when it parses as a number, so that
                // folders with '@' in their names still work.
                let (dir, fps) = match arg.rsplit_once('@') {
                    Some((d, r)) if r.parse::<f64>().is_ok() => (d, parse_fps(spec, r)?),
                    _ => (arg, 1.0),
                };
                if dir.is_empty() {
                    return Err(bad(spec, "jpegs needs a folder: jpegs:DIR[@FPS]"));
                }
                Ok(SourceSpec::Jpegs {
                    dir: PathBuf::from(dir),
                    fps,
                })
            }
            "camera" => {
                let mut parts = arg.split('@');
                let dev = parts.next().unwrap_or_default();
                if dev.is_empty() {
                    return Err(bad(spec, "camera needs INDEX or NAME: camera:0"));
                }
                let id = match dev.parse::<usize>() {
                    Ok(i) => CameraId::Index(i),
                    Err(_) => CameraId::Name(dev.to_string()),
                };
                let size = parts.next().map(|s| parse_size(spec, s)).transpose()?;
                let fps = parts
                    .next()
                    .map(|s| parse_fps(spec, s).map(|f| f.round() as u32))
                    .transpose()?;
                if parts.next().is_some() {
                    return Err(bad(spec, "expected camera:INDEX|NAME[@WxH@FPS]"));
                }
                Ok(SourceSpec::Camera { id, size, fps })
            }
            "publish" if arg.is_empty() => Ok(SourceSpec::Publish),
            "mjpeg" => {
                if !(arg.starts_with("http://") || arg.starts_with("https://")) {
                    return Err(bad(spec, "mjpeg needs an http(s) URL: mjpeg:http://..."));
                }
                Ok(SourceSpec::Relay {
                    url: arg.to_string(),
                })
            }
            _ => Err(bad(
                spec,
                "unknown source; expected test[:WxH@FPS], jpegs:DIR[@FPS], \
                 camera:INDEX|NAME[@WxH@FPS], mjpeg:URL or publish",
            )),
        }
    }
}

impl SourceSpec {
    /// One line for the home page and logs.
    pub fn describe(&self) -> String {
        match self {
            SourceSpec::Test { width, height, fps } => {
                format!("test pattern {width}x{height} @ {fps} fps")
            }
            SourceSpec::Jpegs { dir, fps } => format!("JPEGs of {} @ {fps} fps", dir.display()),
            SourceSpec::Camera { id, size, fps } => {
                let mut s = match id {
                    CameraId::Index(i) => format!("camera {i}"),
                    CameraId::Name(n) => format!("camera {n:?}"),
                };
                if let Some((w, h)) = size {
                    s += &format!(" {w}x{h}");
                }
                if let Some(f) = fps {
                    s += &format!(" @ {f} fps");
                }
                s
            }
            SourceSpec::Relay { url } => format!("relay of {url}"),
            SourceSpec::Publish => "published over WHIP (a phone or browser camera)".into(),
        }
    }

    /// The size "no signal" frames get before the source has told its own.
    pub fn nominal_size(&self) -> (u16, u16) {
        match *self {
            SourceSpec::Test { width, height, .. } => (width, height),
            SourceSpec::Camera {
                size: Some((w, h)), ..
            } if w <= 7680 && h <= 4320 && w >= 96 && h >= 64 => (w as u16, h as u16),
            _ => (640, 360),
        }
    }

    /// The rate frames are expected at (the encoder's nominal rate).
    pub fn nominal_fps(&self) -> f64 {
        match *self {
            SourceSpec::Test { fps, .. } => fps as f64,
            SourceSpec::Jpegs { fps, .. } => fps,
            SourceSpec::Camera { fps, .. } => fps.unwrap_or(30) as f64,
            SourceSpec::Relay { .. } | SourceSpec::Publish => 30.0,
        }
    }

    /// Opens the source (blocking). `start` is the stream's time origin: a `test` pattern's
    /// frame 0 is captured then, in step with its tone.
    pub fn open(
        &self,
        rt: Option<&tokio::runtime::Handle>,
        start: Instant,
    ) -> Result<Box<dyn FrameSource>, LiveError> {
        Ok(match self {
            SourceSpec::Test { width, height, fps } => {
                Box::new(test_pattern::TestSource::new(*width, *height, *fps, start))
            }
            SourceSpec::Jpegs { dir, fps } => Box::new(jpegs::JpegsSource::open(dir, *fps)?),
            SourceSpec::Camera { id, size, fps } => {
                Box::new(camera::CameraSource::open(id, *size, *fps)?)
            }
            SourceSpec::Relay { url } => {
                let rt = rt.ok_or_else(|| LiveError::Relay {
                    url: url.clone(),
                    reason: "the relay needs a tokio runtime".into(),
                })?;
                Box::new(relay::RelaySource::open(url, rt.clone())?)
            }
            SourceSpec::Publish => {
                return Err(LiveError::BadSource {
                    spec: "publish".into(),
                    reason: "a publish stream has no source to open; its publisher sends".into(),
                });
            }
        })
    }
}

/// Paces a source at a fixed rate on the monotonic clock. A source that falls behind skips
/// the ticks it missed instead of bursting to catch up.
#[derive(Debug)]
pub struct Pacer {
    interval: Duration,
    next: Option<Instant>,
}

impl Pacer {
    /// A pacer with `interval` between ticks; the first tick is the first call.
    pub fn new(interval: Duration) -> Self {
        Pacer {
            interval,
            next: None,
        }
    }

    /// A pacer whose ticks are `start + n * interval`.
    pub fn starting_at(start: Instant, interval: Duration) -> Self {
        Pacer {
            interval,
            next: Some(start),
        }
    }

    /// Sleeps until the next tick; returns its instant and how many ticks were missed.
    pub fn wait(&mut self) -> (Instant, u64) {
        let now = Instant::now();
        let Some(due) = self.next else {
            self.next = Some(now + self.interval);
            return (now, 0);
        };
        let mut skipped = 0;
        let mut due = due;
        if now > due + self.interval {
            skipped = ((now - due).as_nanos() / self.interval.as_nanos().max(1)) as u64;
            due += self.interval * skipped as u32;
        }
        if due > now {
            std::thread::sleep(due - now);
        }
        self.next = Some(due + self.interval);
        (due, skipped)
    }
}

/// Reads width and height from a JPEG's start-of-frame segment (ITU T.81 B.2.2).
///
/// Hand-written: the dimensions are all we need from passed-through camera, relay and folder
/// frames, and a decoder would parse (or decode) far more for every frame.
pub fn jpeg_dimensions(jpeg: &[u8]) -> Option<(u16, u16)> {
    if jpeg.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        if jpeg[i] != 0xFF {
            return None;
        }
        let marker = jpeg[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let s = jpeg.get(i + 4..i + 9)?;
            let h = u16::from_be_bytes([s[1], s[2]]);
            let w = u16::from_be_bytes([s[3], s[4]]);
            return Some((w, h));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// Wraps a pass-through JPEG into a [`Frame`], stamped now.
pub fn frame_from_jpeg(jpeg: Bytes) -> Result<Frame, LiveError> {
    let (width, height) = jpeg_dimensions(&jpeg).ok_or(LiveError::NotJpeg)?;
    Ok(Frame {
        picture: Picture::Jpeg(jpeg),
        width,
        height,
        captured: clock::now(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sources() {
        assert_eq!(
            "test".parse::<SourceSpec>().unwrap(),
            SourceSpec::Test {
                width: 640,
                height: 360,
                fps: 30
            }
        );
        assert_eq!(
            "test:1280x720@25".parse::<SourceSpec>().unwrap(),
            SourceSpec::Test {
                width: 1280,
                height: 720,
                fps: 25
            }
        );
        assert_eq!(
            "jpegs:/tmp/a@b@2.5".parse::<SourceSpec>().unwrap(),
            SourceSpec::Jpegs {
                dir: "/tmp/a@b".into(),
                fps: 2.5
            }
        );
        assert_eq!(
            "camera:0@640x480@30".parse::<SourceSpec>().unwrap(),
            SourceSpec::Camera {
                id: CameraId::Index(0),
                size: Some((640, 480)),
                fps: Some(30)
            }
        );
        assert_eq!(
            "camera:HD Webcam".parse::<SourceSpec>().unwrap(),
            SourceSpec::Camera {
                id: CameraId::Name("HD Webcam".into()),
                size: None,
                fps: None
            }
        );
        for bad in [
            "test:10x10",
            "test:axb",
            "test:640x480@0",
            "test:640x480@2.5",
            "jpegs:",
            "camera:",
            "camera:0@640",
            "mjpeg:ftp://x",
            "nope:1",
            "jpegs:d@-1",
        ] {
            assert!(bad.parse::<SourceSpec>().is_err(), "{bad}");
        }
    }

    #[test]
    fn reads_jpeg_dimensions() {
        let rgb = vec![0u8; 100 * 70 * 3];
        let j = test_pattern::encode_jpeg(&rgb, 100, 70, 80).unwrap();
        assert_eq!(jpeg_dimensions(&j), Some((100, 70)));
        assert_eq!(jpeg_dimensions(b"\xFF\xD8\xFF"), None);
        assert_eq!(jpeg_dimensions(b"GIF89a"), None);
    }
}
