//! Cuts captured sound into 20 ms Opus frames with sample-accurate timestamps (sans-IO).
//!
//! A microphone delivers chunks of any length whose capture times jitter by a few
//! milliseconds. Stamping each frame from its chunk's capture time would leave gaps and
//! overlaps in the audio track, which players fill with clicks or drop; instead the first
//! chunk sets the time base and frames follow it sample by sample. Only when a chunk arrives
//! more than [`RESYNC`] away from where the sample count puts it (a device restart, lost
//! buffers, a clock drifting for minutes) does the framer start over from that chunk's time.

use crate::source::tone::samples_to_duration;
use std::time::Duration;

/// Samples per Opus frame at 48 kHz (20 ms).
pub const FRAME: usize = 960;
/// How far a chunk may be from its expected time before the time base is reset.
pub const RESYNC: Duration = Duration::from_millis(40);

/// The framer's state.
#[derive(Debug, Default)]
pub struct Framer {
    buf: Vec<f32>,
    /// Time of the first sample since the last resync, and samples emitted since then.
    base: Option<(Duration, u64)>,
    resyncs: u64,
}

/// One frame of [`FRAME`] samples and the capture time of its first sample.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioFrame {
    /// Media-clock time of the first sample.
    pub pts: Duration,
    /// The samples.
    pub samples: Vec<f32>,
}

impl Framer {
    /// A framer with no time base yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Times the base was reset after the first chunk.
    pub fn resyncs(&self) -> u64 {
        self.resyncs
    }

    /// Takes a chunk captured at `pts`; returns the frames it completes.
    pub fn push(&mut self, pts: Duration, samples: &[f32]) -> Vec<AudioFrame> {
        match self.base {
            Some((base, emitted)) => {
                let expected = base + samples_to_duration(emitted + self.buf.len() as u64);
                let off = pts.abs_diff(expected);
                if off > RESYNC {
                    self.resyncs += 1;
                    self.buf.clear();
                    self.base = Some((pts, 0));
                }
            }
            None => self.base = Some((pts, 0)),
        }
        self.buf.extend_from_slice(samples);
        let mut out = Vec::new();
        while self.buf.len() >= FRAME {
            let Some((base, emitted)) = self.base.as_mut() else {
                break;
            };
            let rest = self.buf.split_off(FRAME);
            out.push(AudioFrame {
                pts: *base + samples_to_duration(*emitted),
                samples: std::mem::replace(&mut self.buf, rest),
            });
            *emitted += FRAME as u64;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn jittery_chunks_become_contiguous_frames() {
        let mut f = Framer::new();
        let mut frames = Vec::new();
        // 10 ms chunks (480 samples) arriving up to 7 ms early or late.
        for (i, jitter) in [0i64, 5, -3, 7, -7, 2, 0, 4].iter().enumerate() {
            let t = (1000 + i as i64 * 10 + jitter) as u64;
            frames.extend(f.push(ms(t), &[i as f32; 480]));
        }
        assert_eq!(frames.len(), 4);
        for (i, fr) in frames.iter().enumerate() {
            assert_eq!(fr.pts, ms(1000 + 20 * i as u64), "frame {i}");
            assert_eq!(fr.samples.len(), FRAME);
            assert_eq!(fr.samples[0], (2 * i) as f32);
            assert_eq!(fr.samples[480], (2 * i + 1) as f32);
        }
        assert_eq!(f.resyncs(), 0);
    }

    #[test]
    fn a_jump_restarts_the_time_base() {
        let mut f = Framer::new();
        assert!(f.push(ms(0), &[0.0; 500]).is_empty());
        // The device stalled for half a second: the partial frame is dropped.
        let out = f.push(ms(500), &[1.0; 960]);
        assert_eq!(f.resyncs(), 1);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pts, ms(500));
        assert!(out[0].samples.iter().all(|s| *s == 1.0));
    }

    #[test]
    fn odd_chunk_sizes_keep_sample_accuracy() {
        let mut f = Framer::new();
        let mut n = 0usize;
        let mut frames = Vec::new();
        for len in [1usize, 959, 1000, 7, 2873, 1] {
            let pts = samples_to_duration(n as u64);
            frames.extend(f.push(pts, &vec![0.0; len]));
            n += len;
        }
        assert_eq!(frames.len(), n / FRAME);
        for (i, fr) in frames.iter().enumerate() {
            assert_eq!(fr.pts, samples_to_duration((i * FRAME) as u64));
        }
    }
}
