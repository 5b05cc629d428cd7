//! `test[:WxH@FPS]`: an animated test pattern rendered in pure Rust and JPEG-encoded once per
//! frame.
//!
//! Every frame shows colour bars, a moving square, the capture clock (UTC), a frame counter and
//! a machine-readable timecode block: 6 rows x 16 cells, black = 0, white = 1, holding the frame
//! number (rows 0-1), the capture time in Unix milliseconds (rows 2-4) and a check word (row 5).
//! A program decodes it from the pixels with [`decode_timecode`] to measure end-to-end delay.
//! The frame at each whole second of the counter is white (a flash; the audio tone that will
//! coincide with it comes with the audio sources).

use super::font::{self, draw_text, fill_rect};
use super::{Frame, FrameSource, Pacer, Picture};
use crate::clock::{self, Stamp};
use crate::error::LiveError;
use bytes::Bytes;
use std::time::{Duration, Instant, UNIX_EPOCH};

/// JPEG quality of generated frames.
/// JPEG quality for frames the stream encodes from raw pixels.
pub const JPEG_QUALITY: u8 = 75;
const COLS: usize = 16;
const ROWS: usize = 6;
const CHECK: u16 = 0xA5A5;

/// What the timecode block of a frame says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timecode {
    /// Frame counter since the source opened (wraps at 2^32).
    pub frame: u32,
    /// Capture time, Unix milliseconds (48 bits).
    pub unix_ms: u64,
}

/// Where the timecode block sits: cell size and the top-left corner of the first cell.
fn block_geometry(width: usize, height: usize) -> (usize, usize, usize) {
    let cell = (width / 40).clamp(4, 16);
    let x0 = width.saturating_sub((COLS + 2) * cell) + cell;
    let y0 = height.saturating_sub((ROWS + 2) * cell) + cell;
    (cell, x0, y0)
}

fn words(tc: Timecode) -> [u16; ROWS] {
    let f = tc.frame;
    let m = tc.unix_ms;
    let mut w = [
        f as u16,
        (f >> 16) as u16,
        m as u16,
        (m >> 16) as u16,
        (m >> 32) as u16,
        0,
    ];
    w[5] = w[..5].iter().fold(CHECK, |a, b| a ^ b);
    w
}

fn draw_timecode(rgb: &mut [u8], width: usize, height: usize, tc: Timecode) {
    let (cell, x0, y0) = block_geometry(width, height);
    // White quiet zone one cell wide around a black field.
    fill_rect(
        rgb,
        width,
        height,
        x0 - cell,
        y0 - cell,
        (COLS + 2) * cell,
        (ROWS + 2) * cell,
        [255; 3],
    );
    fill_rect(rgb, width, height, x0, y0, COLS * cell, ROWS * cell, [0; 3]);
    for (row, word) in words(tc).iter().enumerate() {
        for col in 0..COLS {
            if word & (0x8000 >> col) != 0 {
                fill_rect(
                    rgb,
                    width,
                    height,
                    x0 + col * cell,
                    y0 + row * cell,
                    cell,
                    cell,
                    [255; 3],
                );
            }
        }
    }
}

/// Reads the timecode block from a decoded RGB frame of the test pattern; `None` when the check
/// word does not match (not a test-pattern frame, or damaged).
pub fn decode_timecode(rgb: &[u8], width: usize, height: usize) -> Option<Timecode> {
    if rgb.len() < width * height * 3 {
        return None;
    }
    let (cell, x0, y0) = block_geometry(width, height);
    let mut w = [0u16; ROWS];
    for (row, word) in w.iter_mut().enumerate() {
        for col in 0..COLS {
            let cx = x0 + col * cell + cell / 2;
            let cy = y0 + row * cell + cell / 2;
            if cx >= width || cy >= height {
                return None;
            }
            let p = (cy * width + cx) * 3;
            let luma = (rgb[p] as u32 * 77 + rgb[p + 1] as u32 * 150 + rgb[p + 2] as u32 * 29) >> 8;
            if luma > 128 {
                *word |= 0x8000 >> col;
            }
        }
    }
    if w[..5].iter().fold(CHECK, |a, b| a ^ b) != w[5] {
        return None;
    }
    Some(Timecode {
        frame: w[0] as u32 | (w[1] as u32) << 16,
        unix_ms: w[2] as u64 | (w[3] as u64) << 16 | (w[4] as u64) << 32,
    })
}

fn unix_ms(stamp: Stamp) -> u64 {
    stamp
        .wall
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn clock_text(stamp: Stamp) -> String {
    let ms = unix_ms(stamp);
    let s = ms / 1000;
    format!(
        "{:02}:{:02}:{:02}.{:03} UTC",
        (s / 3600) % 24,
        (s / 60) % 60,
        s % 60,
        ms % 1000
    )
}

/// Encodes a packed RGB buffer as a baseline JPEG.
pub fn encode_jpeg(rgb: &[u8], width: u16, height: u16, quality: u8) -> Result<Bytes, LiveError> {
    let mut out = Vec::with_capacity(rgb.len() / 10);
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(rgb, width, height, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| LiveError::Encode(format!("JPEG: {e}")))?;
    Ok(Bytes::from(out))
}

/// Renders and encodes test-pattern frames of one size.
pub struct TestPattern {
    width: usize,
    height: usize,
    background: Vec<u8>,
    canvas: Vec<u8>,
}

const BARS: [[u8; 3]; 7] = [
    [192, 192, 192],
    [192, 192, 0],
    [0, 192, 192],
    [0, 192, 0],
    [192, 0, 192],
    [192, 0, 0],
    [0, 0, 192],
];

impl TestPattern {
    /// Smallest frame the timecode block and text fit in.
    pub const MIN: (u16, u16) = (96, 64);

    /// A pattern of `width` x `height` pixels.
    pub fn new(width: u16, height: u16) -> Self {
        let (w, h) = (width as usize, height as usize);
        let mut background = vec![0u8; w * h * 3];
        let bars_h = h * 2 / 3;
        for (i, c) in BARS.iter().enumerate() {
            let x = i * w / BARS.len();
            let x1 = (i + 1) * w / BARS.len();
            fill_rect(&mut background, w, h, x, 0, x1 - x, bars_h, *c);
        }
        fill_rect(
            &mut background,
            w,
            h,
            0,
            bars_h,
            w,
            h - bars_h,
            [32, 32, 40],
        );
        TestPattern {
            width: w,
            height: h,
            canvas: background.clone(),
            background,
        }
    }

    fn scale(&self) -> usize {
        (self.height / 120).max(1)
    }

    /// Draws frame number `frame` of a `fps` stream, captured at `stamp`, into the canvas and
    /// returns the RGB pixels.
    pub fn render(&mut self, frame: u32, fps: u32, stamp: Stamp) -> &[u8] {
        let (w, h) = (self.width, self.height);
        let flash = fps > 0 && frame.is_multiple_of(fps);
        if flash {
            self.canvas.fill(255);
        } else {
            self.canvas.copy_from_slice(&self.background);
            // A square that crosses the picture once every two seconds.
            let side = (h / 6).max(4);
            let period = (fps.max(1) * 2) as usize;
            let pos = (frame as usize % period) * (w - side) / period;
            fill_rect(
                &mut self.canvas,
                w,
                h,
                pos,
                h / 3 - side / 2,
                side,
                side,
                [255; 3],
            );
        }
        let s = self.scale();
        let ink = if flash { [0; 3] } else { [255; 3] };
        let line = (font::HEIGHT + 3) * s;
        let y = h * 2 / 3 + s * 2;
        draw_text(&mut self.canvas, w, h, s * 2, y, s, ink, &clock_text(stamp));
        draw_text(
            &mut self.canvas,
            w,
            h,
            s * 2,
            y + line,
            s,
            ink,
            &format!("#{frame:06}"),
        );
        draw_text(
            &mut self.canvas,
            w,
            h,
            s * 2,
            s * 2,
            s,
            [0; 3],
            "HOMESTREAM",
        );
        let tc = Timecode {
            frame,
            unix_ms: unix_ms(stamp),
        };
        draw_timecode(&mut self.canvas, w, h, tc);
        &self.canvas
    }

    /// Renders one frame (raw RGB: the stream encodes it for the outputs that have viewers).
    pub fn frame(&mut self, frame: u32, fps: u32, stamp: Stamp) -> Frame {
        let (w, h) = (self.width as u16, self.height as u16);
        let rgb = self.render(frame, fps, stamp).to_vec();
        Frame {
            picture: Picture::Rgb(rgb),
            width: w,
            height: h,
            captured: stamp,
        }
    }
}

/// A "no signal" frame: dark grey with the message, the stream name and the clock.
pub fn no_signal(width: u16, height: u16, name: &str, why: &str) -> Frame {
    let (w, h) = (width as usize, height as usize);
    let mut rgb = vec![0u8; w * h * 3];
    fill_rect(&mut rgb, w, h, 0, 0, w, h, [40, 40, 40]);
    let s = (h / 90).max(1);
    let stamp = clock::now();
    let ink = [230, 230, 230];
    let line = (font::HEIGHT + 3) * s;
    draw_text(
        &mut rgb,
        w,
        h,
        s * 4,
        h / 3,
        s * 2,
        [255, 80, 80],
        "NO SIGNAL",
    );
    draw_text(&mut rgb, w, h, s * 4, h / 3 + 3 * line, s, ink, name);
    let why: String = why.chars().take(w / (font::ADVANCE * s) - 8).collect();
    draw_text(&mut rgb, w, h, s * 4, h / 3 + 4 * line, s, ink, &why);
    draw_text(
        &mut rgb,
        w,
        h,
        s * 4,
        h / 3 + 5 * line,
        s,
        ink,
        &clock_text(stamp),
    );
    Frame {
        picture: Picture::Rgb(rgb),
        width,
        height,
        captured: stamp,
    }
}

/// The running `test` source.
pub struct TestSource {
    pattern: TestPattern,
    fps: u32,
    frame: u32,
    pacer: Pacer,
}

impl TestSource {
    /// Opens a `width` x `height` pattern at `fps` frames per second whose frame 0 is captured
    /// at `start`: frame `n` at `start + n / fps`, so the flash of frame `k * fps` falls exactly
    /// on second `k` after `start`, where [`super::tone::ToneSource`] starts its beep.
    pub fn new(width: u16, height: u16, fps: u32, start: Instant) -> Self {
        TestSource {
            pattern: TestPattern::new(width, height),
            fps,
            frame: 0,
            pacer: Pacer::starting_at(start, Duration::from_secs(1) / fps.max(1)),
        }
    }
}

impl FrameSource for TestSource {
    fn next_frame(&mut self) -> Result<Frame, LiveError> {
        let (at, skipped) = self.pacer.wait();
        self.frame = self.frame.wrapping_add(skipped as u32);
        let frame = self.pattern.frame(self.frame, self.fps, clock::at(at));
        self.frame = self.frame.wrapping_add(1);
        Ok(frame)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timecode_round_trips_through_pixels() {
        let mut p = TestPattern::new(160, 120);
        let stamp = clock::now();
        let tc = Timecode {
            frame: 0x0001_2345,
            unix_ms: unix_ms(stamp),
        };
        let rgb = p.render(tc.frame, 30, stamp).to_vec();
        assert_eq!(decode_timecode(&rgb, 160, 120), Some(tc));
        // A flash frame still carries it.
        let rgb = p.render(60, 30, stamp).to_vec();
        assert_eq!(decode_timecode(&rgb, 160, 120).map(|t| t.frame), Some(60));
        // A blank picture is refused by the check word.
        assert_eq!(decode_timecode(&vec![0; 160 * 120 * 3], 160, 120), None);
    }

    #[test]
    fn flash_once_a_second() {
        let mut p = TestPattern::new(160, 120);
        let s = clock::now();
        let white = |rgb: &[u8]| rgb[..3] == [255, 255, 255];
        assert!(white(p.render(30, 30, s)));
        assert!(!white(p.render(31, 30, s)));
    }
}
