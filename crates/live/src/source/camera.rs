//! `camera:INDEX|NAME[@WxH@FPS]`: a V4L2 camera through `linuxvideo` (pure Rust, so building
//! needs no system -dev packages or libclang, unlike nokhwa's bindgen).
//!
//! Cameras that deliver MJPEG (or JPEG) are passed through without re-encoding; YUYV cameras are
//! encoded once per frame. Other platforms report that cameras are not supported yet.

use super::{CameraId, Frame, FrameSource, Picture};
use crate::error::LiveError;

/// A camera as `homestream devices` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CameraInfo {
    /// Friendly name (the driver's card name).
    pub name: String,
    /// Device node.
    pub path: String,
    /// Modes: `MJPG 1280x720 @ 30 fps` etc.
    pub modes: Vec<String>,
}

#[cfg(target_os = "linux")]
mod v4l2 {
    use super::*;
    use crate::clock;
    use bytes::Bytes;
    use linuxvideo::format::{FrameIntervals, FrameSizes, PixFormat, PixelFormat};
    use linuxvideo::stream::ReadStream;
    use linuxvideo::{BufType, CapabilityFlags, Device, Fract};

    fn capture_devices() -> Vec<(String, String, Device)> {
        let Ok(list) = linuxvideo::list() else {
            return Vec::new();
        };
        let mut out: Vec<(String, String, Device)> = list
            .filter_map(Result::ok)
            .filter_map(|d| {
                let caps = d.capabilities().ok()?;
                if !caps
                    .device_capabilities()
                    .contains(CapabilityFlags::VIDEO_CAPTURE)
                {
                    return None;
                }
                let path = d.path().ok()?.display().to_string();
                Some((caps.card().to_string(), path, d))
            })
            .collect();
        // /dev/video2 before /dev/video10.
        out.sort_by_key(|(_, p, _)| {
            let n: String = p.chars().filter(char::is_ascii_digit).collect();
            (n.len(), n)
        });
        out
    }

    fn fps_of(f: &Fract) -> f64 {
        if f.numerator() == 0 {
            0.0
        } else {
            f.denominator() as f64 / f.numerator() as f64
        }
    }

    fn modes(d: &Device) -> Vec<String> {
        let mut out = Vec::new();
        for fmt in d.formats(BufType::VIDEO_CAPTURE).filter_map(Result::ok) {
            let pf = fmt.pixel_format();
            let sizes: Vec<(u32, u32)> = match d.frame_sizes(pf) {
                Ok(FrameSizes::Discrete(v)) => v.iter().map(|s| (s.width(), s.height())).collect(),
                Ok(s) => vec![(s.max_width(), s.max_height())],
                Err(_) => Vec::new(),
            };
            for (w, h) in sizes {
                let rates = match d.frame_intervals(pf, w, h) {
                    Ok(FrameIntervals::Discrete(v)) => v
                        .iter()
                        .map(|i| format!("{:.0}", fps_of(i.fract())))
                        .collect::<Vec<_>>()
                        .join("/"),
                    Ok(i) => format!("{:.0}-{:.0}", fps_of(&i.max()), fps_of(&i.min())),
                    Err(_) => "?".into(),
                };
                out.push(format!(
                    "{pf} {w}x{h} @ {rates} fps ({})",
                    fmt.description()
                ));
            }
        }
        out
    }

    pub fn list_cameras() -> Vec<CameraInfo> {
        capture_devices()
            .into_iter()
            .map(|(name, path, d)| CameraInfo {
                modes: modes(&d),
                name,
                path,
            })
            .collect()
    }

    pub struct CameraSource {
        stream: ReadStream,
        format: PixelFormat,
        width: u32,
        height: u32,
        label: String,
    }

    fn err(label: &str, reason: impl std::fmt::Display) -> LiveError {
        LiveError::Camera {
            camera: label.to_string(),
            reason: reason.to_string(),
        }
    }

    impl CameraSource {
        pub fn open(
            id: &CameraId,
            size: Option<(u32, u32)>,
            fps: Option<u32>,
        ) -> Result<Self, LiveError> {
            let label = match id {
                CameraId::Index(i) => format!("{i}"),
                CameraId::Name(n) => n.clone(),
            };
            let mut devices = capture_devices();
            if devices.is_empty() {
                return Err(err(
                    &label,
                    "no cameras found (no video capture device under /dev)",
                ));
            }
            let names: Vec<String> = devices
                .iter()
                .map(|(n, p, _)| format!("{n} ({p})"))
                .collect();
            let pos = match id {
                CameraId::Index(i) => (*i < devices.len()).then_some(*i),
                CameraId::Name(n) => devices.iter().position(|(name, path, _)| {
                    path == n || name.to_lowercase().contains(&n.to_lowercase())
                }),
            }
            .ok_or_else(|| err(&label, format!("not found; cameras: {}", names.join(", "))))?;
            let (name, _, device) = devices.swap_remove(pos);
            let formats: Vec<PixelFormat> = device
                .formats(BufType::VIDEO_CAPTURE)
                .filter_map(|f| f.ok().map(|f| f.pixel_format()))
                .collect();
            let format = [PixelFormat::MJPG, PixelFormat::JPEG, PixelFormat::YUYV]
                .into_iter()
                .find(|f| formats.contains(f))
                .ok_or_else(|| err(&name, format!("no MJPEG or YUYV mode (has {formats:?})")))?;
            let (w, h) = size.unwrap_or((1280, 720));
            let capture = device
                .video_capture(PixFormat::new(w, h, format))
                .map_err(|e| err(&name, format!("set format: {e}")))?;
            if let Some(f) = fps {
                // Not every driver lets the rate be set; the camera's own rate is fine then.
                let _ = capture.set_frame_interval(Fract::new(1, f));
            }
            let (pf, gw, gh) = {
                let f = capture.format();
                (f.pixel_format(), f.width(), f.height())
            };
            let stream = capture
                .into_stream()
                .map_err(|e| err(&name, format!("start streaming: {e}")))?;
            tracing::info!(camera = %name, format = %pf, width = gw, height = gh, "camera opened");
            Ok(CameraSource {
                stream,
                format: pf,
                width: gw,
                height: gh,
                label: name,
            })
        }
    }

    /// YUYV (4:2:2) to packed RGB (BT.601 limited range), the raw form every output starts
    /// from: MJPEG viewers get it JPEG-encoded once, H.264 viewers encoded once.
    fn yuyv_to_rgb(src: &[u8], width: usize, height: usize) -> Vec<u8> {
        fn px(y: u8, u: u8, v: u8) -> [u8; 3] {
            let c = (y as i32 - 16) * 298;
            let d = u as i32 - 128;
            let e = v as i32 - 128;
            let clip = |x: i32| ((x + 128) >> 8).clamp(0, 255) as u8;
            [
                clip(c + 409 * e),
                clip(c - 100 * d - 208 * e),
                clip(c + 516 * d),
            ]
        }
        let mut out = Vec::with_capacity(width * height * 3);
        for q in src.chunks_exact(4).take(width * height / 2) {
            out.extend_from_slice(&px(q[0], q[1], q[3]));
            out.extend_from_slice(&px(q[2], q[1], q[3]));
        }
        out
    }

    impl FrameSource for CameraSource {
        fn next_frame(&mut self) -> Result<Frame, LiveError> {
            let (fmt, w, h) = (self.format, self.width as usize, self.height as usize);
            let data = self
                .stream
                .dequeue(|buf| Ok(buf.to_vec()))
                .map_err(|e| err(&self.label, format!("capture: {e}")))?;
            let captured = clock::now();
            if fmt == PixelFormat::YUYV {
                if data.len() < w * h * 2 {
                    return Err(err(&self.label, "short YUYV frame"));
                }
                return Ok(Frame {
                    picture: Picture::Rgb(yuyv_to_rgb(&data, w, h)),
                    width: w as u16,
                    height: h as u16,
                    captured,
                });
            }
            let jpeg = Bytes::from(data);
            let (width, height) = crate::source::jpeg_dimensions(&jpeg)
                .ok_or_else(|| err(&self.label, "camera sent a frame that is not a JPEG"))?;
            Ok(Frame {
                picture: Picture::Jpeg(jpeg),
                width,
                height,
                captured,
            })
        }
    }
}

#[cfg(target_os = "linux")]
pub use v4l2::CameraSource;

/// Cameras on this machine (empty when there are none).
#[cfg(target_os = "linux")]
pub fn list_cameras() -> Result<Vec<CameraInfo>, LiveError> {
    Ok(v4l2::list_cameras())
}

/// Cameras on this machine (capture is implemented for Linux only so far).
#[cfg(not(target_os = "linux"))]
pub fn list_cameras() -> Result<Vec<CameraInfo>, LiveError> {
    Ok(Vec::new())
}

/// Placeholder on platforms without a capture backend yet.
#[cfg(not(target_os = "linux"))]
pub struct CameraSource;

#[cfg(not(target_os = "linux"))]
impl CameraSource {
    /// Always fails: no capture backend on this platform yet.
    pub fn open(id: &CameraId, _: Option<(u32, u32)>, _: Option<u32>) -> Result<Self, LiveError> {
        Err(LiveError::Camera {
            camera: format!("{id:?}"),
            reason: "camera capture is not supported on this platform yet".into(),
        })
    }
}

#[cfg(not(target_os = "linux"))]
impl FrameSource for CameraSource {
    fn next_frame(&mut self) -> Result<Frame, LiveError> {
        Err(LiveError::Camera {
            camera: String::new(),
            reason: "unsupported".into(),
        })
    }
}
