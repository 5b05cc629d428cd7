//! Running statistics of a stream for `homestream watch`: frame rate and bit rate over the last
//! second, averages since the first frame, frame size and delay from `X-Timestamp`.

use crate::Frame;
use serde::Serialize;
use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The window over which the "current" rates are measured.
const WINDOW: Duration = Duration::from_secs(1);
/// Bound on the window's samples (policy: drop oldest), whatever the frame rate.
const MAX_SAMPLES: usize = 4096;

/// Accumulates frames.
#[derive(Debug)]
pub struct Stats {
    started: Instant,
    window: VecDeque<(Instant, usize)>,
    frames: u64,
    bytes: u64,
    first_at: Option<Instant>,
    last_at: Option<Instant>,
    last_size: usize,
    last_delay: Option<Duration>,
    last_seq: Option<u64>,
    skipped: u64,
}

/// A point-in-time view, printed as the stats line and as `--json` lines.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Snapshot {
    /// Seconds since watching started.
    pub elapsed_s: f64,
    /// Frames received.
    pub frames: u64,
    /// Bytes of frame data received.
    pub bytes: u64,
    /// Frames per second over the last second.
    pub fps: f64,
    /// Average frames per second between the first and the last frame.
    pub avg_fps: f64,
    /// Kilobits per second of frame data over the last second.
    pub kbps: f64,
    /// Size of the last frame in bytes.
    pub frame_bytes: usize,
    /// Receive time minus `X-Timestamp` of the last frame, in milliseconds, if known.
    pub delay_ms: Option<f64>,
    /// Frames missing from the sequence (skipped by a newest-frame reader).
    pub skipped: u64,
}

impl Stats {
    /// Starts counting at `now`.
    pub fn new(now: Instant) -> Self {
        Self {
            started: now,
            window: VecDeque::new(),
            frames: 0,
            bytes: 0,
            first_at: None,
            last_at: None,
            last_size: 0,
            last_delay: None,
            last_seq: None,
            skipped: 0,
        }
    }

    /// Frames counted so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Counts a frame.
    pub fn record(&mut self, f: &Frame) {
        let at = f.received_at;
        self.frames += 1;
        self.bytes += f.data.len() as u64;
        self.first_at.get_or_insert(at);
        self.last_at = Some(at);
        self.last_size = f.data.len();
        self.last_delay = f.delay();
        if let Some(prev) = self.last_seq {
            self.skipped += f.seq.saturating_sub(prev + 1);
        }
        self.last_seq = Some(f.seq);
        if self.window.len() == MAX_SAMPLES {
            self.window.pop_front();
        }
        self.window.push_back((at, f.data.len()));
    }

    /// The numbers as of `now`.
    pub fn snapshot(&mut self, now: Instant) -> Snapshot {
        while self
            .window
            .front()
            .is_some_and(|(t, _)| now.saturating_duration_since(*t) > WINDOW)
        {
            self.window.pop_front();
        }
        let span = now
            .saturating_duration_since(self.started)
            .min(WINDOW)
            .as_secs_f64()
            .max(1e-3);
        let win_bytes: usize = self.window.iter().map(|(_, n)| n).sum();
        let avg_fps = match (self.first_at, self.last_at) {
            (Some(a), Some(b)) if b > a && self.frames > 1 => {
                (self.frames - 1) as f64 / (b - a).as_secs_f64()
            }
            _ => 0.0,
        };
        Snapshot {
            elapsed_s: now.saturating_duration_since(self.started).as_secs_f64(),
            frames: self.frames,
            bytes: self.bytes,
            fps: self.window.len() as f64 / span,
            avg_fps,
            kbps: win_bytes as f64 * 8.0 / 1000.0 / span,
            frame_bytes: self.last_size,
            delay_ms: self.last_delay.map(|d| d.as_secs_f64() * 1000.0),
            skipped: self.skipped,
        }
    }
}

impl Snapshot {
    /// The one-line human form, e.g.
    /// `29.9 fps  5123 kbit/s  frame 21.4 KB  delay 3.1 ms  1234 frames  41.0 s`.
    pub fn line(&self) -> String {
        let delay = self
            .delay_ms
            .map(|d| format!("  delay {d:.1} ms"))
            .unwrap_or_default();
        format!(
            "{:5.1} fps  {:7.0} kbit/s  frame {:6.1} KB{delay}  {} frames  {:.1} s",
            self.fps,
            self.kbps,
            self.frame_bytes as f64 / 1000.0,
            self.frames,
            self.elapsed_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    fn frame(seq: u64, at: Instant, len: usize) -> Frame {
        Frame {
            seq,
            data: vec![0; len].into(),
            headers: Default::default(),
            timestamp: None,
            received: SystemTime::now(),
            received_at: at,
        }
    }

    #[test]
    fn rates_over_the_last_second() {
        let t0 = Instant::now();
        let mut s = Stats::new(t0);
        // 30 fps of 1000-byte frames for 3 s, with seq 50 missing.
        for i in 0..90u64 {
            if i != 50 {
                s.record(&frame(
                    i,
                    t0 + Duration::from_secs_f64(i as f64 / 30.0),
                    1000,
                ));
            }
        }
        let snap = s.snapshot(t0 + Duration::from_secs(3));
        assert!((snap.fps - 30.0).abs() <= 1.0, "{snap:?}");
        assert!((snap.kbps - 240.0).abs() <= 8.0, "{snap:?}");
        assert!(
            (snap.avg_fps - 89.0 / (89.0 / 30.0) * (88.0 / 89.0)).abs() < 0.5,
            "{snap:?}"
        );
        assert_eq!(snap.frames, 89);
        assert_eq!(snap.skipped, 1);
        assert_eq!(snap.frame_bytes, 1000);
        assert!(snap.line().contains("fps"));
    }
}
