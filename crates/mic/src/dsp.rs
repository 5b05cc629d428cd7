//! What happens to samples between the device and [`AudioChunk`]s: channel mix, resampling to
//! 48 kHz, cutting into 20 ms chunks, and the instant of each chunk's first sample. Pure
//! functions and small state machines; the cpal callback only calls them.

use crate::AudioChunk;
use std::time::{Duration, Instant};

/// Averages interleaved frames of `channels` samples into mono, appending to `out`. A trailing
/// partial frame is ignored (a device never sends one).
pub fn downmix(interleaved: &[f32], channels: usize, out: &mut Vec<f32>) {
    match channels {
        0 => {}
        1 => out.extend_from_slice(interleaved),
        n => {
            let scale = 1.0 / n as f32;
            out.extend(
                interleaved
                    .chunks_exact(n)
                    .map(|f| f.iter().sum::<f32>() * scale),
            );
        }
    }
}

/// A streaming linear-interpolation resampler from any rate to 48 kHz.
///
/// Why this suffices: [`crate::select::pick_config`] asks the device for 48 kHz first, which
/// PulseAudio's and PipeWire's ALSA devices and nearly every USB microphone offer, so this only
/// runs on hardware that has no 48 kHz mode. There, linear interpolation is transparent for
/// speech going to a 64 kbit/s Opus stream when upsampling (16 kHz headsets, 44.1 kHz codecs);
/// when downsampling (96 kHz interfaces) content above 24 kHz can alias, which speech has none
/// of. Music-grade conversion would take a windowed-sinc resampler such as `rubato`.
#[derive(Debug, Clone)]
pub struct Resampler {
    /// Input samples per output sample.
    step: f64,
    /// Position of the next output sample, in input samples after `prev`.
    t: f64,
    /// Last input sample seen.
    prev: Option<f32>,
}

impl Resampler {
    /// From `from_rate` Hz to 48 kHz.
    pub fn new(from_rate: u32) -> Self {
        Resampler {
            step: f64::from(from_rate.max(1)) / f64::from(crate::RATE),
            t: 0.0,
            prev: None,
        }
    }

    /// Whether this resampler changes anything (false at 48 kHz).
    pub fn is_passthrough(&self) -> bool {
        self.step == 1.0
    }

    /// Resamples `input`, appending to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.is_passthrough() {
            out.extend_from_slice(input);
            return;
        }
        for &x in input {
            let Some(prev) = self.prev else {
                self.prev = Some(x);
                out.push(x);
                self.t = self.step;
                continue;
            };
            while self.t <= 1.0 {
                out.push(prev + (x - prev) * self.t as f32);
                self.t += self.step;
            }
            self.t -= 1.0;
            self.prev = Some(x);
        }
    }
}

/// The instant the first sample of a device buffer was captured.
///
/// `capture_delay` is cpal's `callback - capture` for this buffer, when the backend gives one
/// (ALSA, CoreAudio and WASAPI do); otherwise, or if it is implausible (zero or over a second),
/// the buffer is taken to have ended when it arrived: `arrival - frames / rate`.
pub fn first_sample_instant(
    arrival: Instant,
    capture_delay: Option<Duration>,
    frames: usize,
    rate: u32,
) -> Instant {
    let buffered = Duration::from_secs_f64(frames as f64 / f64::from(rate.max(1)));
    let back = capture_delay
        .filter(|d| !d.is_zero() && *d < Duration::from_secs(1))
        .unwrap_or(buffered);
    arrival.checked_sub(back).unwrap_or(arrival)
}

/// Cuts a 48 kHz mono stream into chunks of a fixed length, each stamped with the instant of
/// its first sample.
#[derive(Debug)]
pub struct Chunker {
    len: usize,
    buf: Vec<f32>,
    start: Option<Instant>,
}

impl Chunker {
    /// Chunks of `len` samples (at least 1).
    pub fn new(len: usize) -> Self {
        Chunker {
            len: len.max(1),
            buf: Vec::with_capacity(len.max(1)),
            start: None,
        }
    }

    /// Adds `samples`, whose first was captured at `first`; calls `emit` for each completed
    /// chunk.
    pub fn push(&mut self, samples: &[f32], first: Instant, mut emit: impl FnMut(AudioChunk)) {
        let mut rest = samples;
        let mut offset = 0usize;
        while !rest.is_empty() {
            if self.buf.is_empty() {
                let at = Duration::from_secs_f64(offset as f64 / f64::from(crate::RATE));
                self.start = Some(first + at);
            }
            let take = (self.len - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            offset += take;
            if self.buf.len() == self.len {
                let samples = std::mem::replace(&mut self.buf, Vec::with_capacity(self.len));
                emit(AudioChunk {
                    samples,
                    captured: self.start.take().unwrap_or(first),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downmix_averages_channels() {
        let mut out = Vec::new();
        downmix(&[1.0, 0.0, 0.5, 0.5, -1.0, 1.0], 2, &mut out);
        assert_eq!(out, [0.5, 0.5, 0.0]);
        downmix(&[0.25], 1, &mut out);
        assert_eq!(out.len(), 4);
        downmix(&[0.3, 0.3, 0.3, 1.0], 3, &mut out);
        assert!((out[4] - 0.3).abs() < 1e-6 && out.len() == 5);
    }

    #[test]
    fn resampling_keeps_length_and_pitch() {
        for from in [16_000u32, 44_100, 96_000] {
            let secs = 1.0;
            let input: Vec<f32> = (0..(from as f64 * secs) as usize)
                .map(|i| (2.0 * std::f64::consts::PI * 440.0 * i as f64 / from as f64).sin() as f32)
                .collect();
            let mut r = Resampler::new(from);
            let mut out = Vec::new();
            // Uneven pieces, like device buffers.
            for piece in input.chunks(401) {
                r.push(piece, &mut out);
            }
            // Output can only be interpolated up to the last input sample: short by at most
            // one input sample's worth.
            let slack = (48_000 / from as usize) + 1;
            assert!(
                out.len().abs_diff(48_000) <= slack,
                "{from}: {} samples",
                out.len()
            );
            // Compare with an ideal 440 Hz sine at 48 kHz.
            let err = out
                .iter()
                .enumerate()
                .map(|(i, &v)| {
                    let ideal = (2.0 * std::f64::consts::PI * 440.0 * i as f64 / 48_000.0).sin();
                    (f64::from(v) - ideal).abs()
                })
                .fold(0.0, f64::max);
            assert!(err < 0.02, "{from}: worst error {err}");
        }
        let mut same = Resampler::new(48_000);
        assert!(same.is_passthrough());
        let mut out = Vec::new();
        same.push(&[0.1, 0.2], &mut out);
        assert_eq!(out, [0.1, 0.2]);
    }

    #[test]
    fn first_sample_uses_capture_delay_else_buffer_length() {
        let now = Instant::now() + Duration::from_secs(10);
        let ms = Duration::from_millis;
        assert_eq!(
            first_sample_instant(now, Some(ms(25)), 480, 48_000),
            now - ms(25)
        );
        assert_eq!(first_sample_instant(now, None, 480, 48_000), now - ms(10));
        assert_eq!(
            first_sample_instant(now, Some(Duration::ZERO), 960, 48_000),
            now - ms(20)
        );
        assert_eq!(
            first_sample_instant(now, Some(ms(5000)), 441, 44_100),
            now - ms(10)
        );
    }

    #[test]
    fn chunks_carry_the_instant_of_their_first_sample() {
        let t0 = Instant::now();
        let mut c = Chunker::new(960);
        let mut chunks = Vec::new();
        // 700 + 700 + 700 samples, each block stamped 700 samples after the previous.
        for k in 0..3u32 {
            let first = t0 + Duration::from_secs_f64(f64::from(k) * 700.0 / 48_000.0);
            c.push(&vec![k as f32; 700], first, |ch| chunks.push(ch));
        }
        assert_eq!(chunks.len(), 2);
        assert!(chunks.iter().all(|ch| ch.samples.len() == 960));
        assert_eq!(chunks[0].captured, t0);
        // The second chunk starts 960 samples (20 ms) in, inside the second block.
        let d = chunks[1].captured - t0;
        assert!(d.as_secs_f64().mul_add(1.0, -0.020).abs() < 1e-6, "{d:?}");
        assert_eq!(chunks[1].samples[0], 1.0);
        assert_eq!(chunks[1].samples[959], 2.0);
    }
}
