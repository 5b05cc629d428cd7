//! A small preview of the running live stream: one more consumer of the stream's JPEG hub
//! (the same frames MJPEG viewers get, encoded once), decoded a few times a second.
//!
//! Policy: the cursor is `SkipToNewest` and the preview decodes at most [`FPS`] frames a
//! second, only the newest; the window shows whichever frame is latest.

use eframe::egui::{self, ColorImage};
use homestream_live::LagPolicy;
use homestream_live::stream::Stream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Frames decoded per second, at most.
pub const FPS: u32 = 5;
/// The preview's width, at most (it is shown small; a smaller texture is cheaper to upload).
pub const WIDTH: usize = 320;

/// The newest decoded frame and a counter that changes with each.
pub type Latest = Arc<Mutex<Option<(u64, ColorImage)>>>;

/// A running preview; dropping it stops it and lets the source go.
pub struct Preview {
    task: tokio::task::JoinHandle<()>,
    /// The newest frame.
    pub latest: Latest,
}

impl Drop for Preview {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Preview {
    /// Starts consuming `stream` (opening its source). Must run inside the tokio runtime.
    pub fn start(stream: Arc<Stream>, repaint: Option<egui::Context>) -> Preview {
        let latest: Latest = Arc::default();
        let out = latest.clone();
        let task = tokio::spawn(async move {
            let _demand = stream.demand();
            let mut cursor = stream.hub.subscribe(LagPolicy::SkipToNewest);
            let every = Duration::from_secs(1) / FPS;
            let mut shown = 0u64;
            let mut last: Option<Instant> = None;
            while let Ok(unit) = cursor.next().await {
                if last.is_some_and(|t| t.elapsed() < every) {
                    continue;
                }
                last = Some(Instant::now());
                let Ok(rgb) = homestream_codec::pixels::decode_jpeg(&unit.payload) else {
                    continue;
                };
                shown += 1;
                let image = shrink(&rgb.data, rgb.width, rgb.height, WIDTH);
                *out.lock().unwrap_or_else(|p| p.into_inner()) = Some((shown, image));
                if let Some(ctx) = &repaint {
                    ctx.request_repaint();
                }
            }
        });
        Preview { task, latest }
    }
}

/// Nearest-neighbour downscale of packed RGB to at most `max_w` wide (a preview needs no
/// filtering, and this is the whole of it: no image crate for six lines).
pub fn shrink(rgb: &[u8], w: usize, h: usize, max_w: usize) -> ColorImage {
    let step = w.div_ceil(max_w).max(1);
    let (ow, oh) = (w / step, h / step);
    let mut out = Vec::with_capacity(ow * oh * 3);
    for y in 0..oh {
        for x in 0..ow {
            let i = (y * step * w + x * step) * 3;
            out.extend_from_slice(&rgb[i..i + 3]);
        }
    }
    ColorImage::from_rgb([ow, oh], &out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shrinks_by_whole_steps_keeping_the_top_left_pixel_of_each() {
        let (w, h) = (1280, 720);
        let mut rgb = vec![0u8; w * h * 3];
        // A red pixel at (4, 8): step 4 keeps it at (1, 2).
        let i = (8 * w + 4) * 3;
        rgb[i] = 255;
        let img = shrink(&rgb, w, h, WIDTH);
        assert_eq!(img.size, [320, 180]);
        assert_eq!(img.pixels[2 * 320 + 1], egui::Color32::from_rgb(255, 0, 0));
        assert_eq!(img.pixels[2 * 320 + 2], egui::Color32::BLACK);
        assert_eq!(shrink(&[1, 2, 3], 1, 1, WIDTH).size, [1, 1]);
    }
}
